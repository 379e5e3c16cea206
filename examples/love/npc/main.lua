-- examples/love/npc/main.lua: a villager who first looks at the game (a tool
-- the model may call: openai.run_tools, the tool reading the game's own
-- clock), then speaks from a structured answer (openai.parse_stream), before
-- the answer is done: s:partial() is the object so far (its name, its mood,
-- the line being written), read once per frame.
--
--   love examples/love/npc "a tired blacksmith"          (from the checkout)
--   love examples/love/npc --quit-when-done "a baker"    (print the result, quit)
--
-- The key comes from OPENAI_API_KEY (and OPENAI_BASE_URL, if set). Keys:
-- Return asks for another villager, Escape quits. The call runs as a task
-- (openai.spawn); one openai.step(0) per frame drives it and never blocks.

local root = love.filesystem.getSource() .. "/../../.."
package.path = root .. "/lua/?.lua;" .. package.path
package.cpath = root .. "/build/luajit/?.so;" .. package.cpath

local openai = require "openai"

local villager = openai.schema{ name = "villager", schema = {
  type = "object",
  properties = {
    name = { type = "string" },
    mood = { type = "string", enum = { "calm", "cheerful", "grumpy" } },
    lines = { type = "array", items = { type = "string" } },
  },
  required = { "name", "mood", "lines" },
} }

local MOOD_COLOURS = { calm = { 0.4, 0.7, 1 }, cheerful = { 1, 0.8, 0.3 }, grumpy = { 0.9, 0.4, 0.3 } }

local who = "a tired village blacksmith"
local quit_when_done = false
local task, stream, npc, failure
local partials = 0

-- the game's clock, which the model can read through the tool below
local started = love.timer.getTime()
local function game_hour()
  return math.floor(8 + (love.timer.getTime() - started) / 60) % 24
end

local TOOLS = {
  time_of_day = {
    description = "The hour of the day in the village (0-23).",
    parameters = { type = "object", properties = {} },
    fn = function() return ("it is %d o'clock"):format(game_hour()) end,
  },
}

local function ask()
  stream, npc, failure, partials = nil, nil, nil, 0
  task = openai.spawn(function()
    -- first the villager looks around (the tool runs as a task, on this loop)
    local seen, terr = openai.run_tools{
      model = "gpt-4.1", tools = TOOLS, max_rounds = 3,
      messages = { { role = "system", content = "You are a villager in a game. Look at the time of day first." },
                   { role = "user", content = who } },
    }
    if not seen then error(terr, 0) end
    local messages = seen.messages
    messages[#messages + 1] = { role = "user",
                                content = "Now write yourself: a name, a mood, three short lines." }
    local s, err = openai.parse_stream{ model = "gpt-4.1", schema = villager, messages = messages }
    if not s then error(err, 0) end
    stream = s
    while s:next() do end                 -- each piece lands in s:partial()
    local obj, rerr = s:result()          -- checked against the schema
    if not obj then error(rerr, 0) end
    return obj
  end)
end

function love.load(args)
  for _, a in ipairs(args) do
    if a == "--quit-when-done" then quit_when_done = true else who = a end
  end
  love.graphics.setFont(love.graphics.newFont(16))
  ask()
end

local function finish()
  local obj, err = task:result()
  task = nil
  if obj then npc = obj else failure = tostring(err) end
  if quit_when_done then
    if obj then
      print(("partials=%d name=%s mood=%s lines=%d"):format(partials, obj.name, obj.mood, #obj.lines))
      print("first_line=" .. tostring(obj.lines[1]))
    else
      print("error: " .. failure)
    end
    love.event.quit(obj and 0 or 1)
  end
end

function love.update()
  openai.step(0)
  if stream and task then
    local p = stream:partial()
    if p and p ~= npc then
      npc = p
      partials = partials + 1
    end
  end
  if task and task:done() then finish() end
end

function love.draw()
  local w, h = love.graphics.getDimensions()
  local p = npc or {}
  love.graphics.setColor(MOOD_COLOURS[p.mood] or { 0.6, 0.6, 0.6 })
  love.graphics.circle("fill", 120, h / 2, 60)
  love.graphics.setColor(1, 1, 1)
  love.graphics.printf(p.name or "...", 20, h / 2 + 70, 200, "center")
  local lines = p.lines or {}
  local said = failure and ("error: " .. failure) or lines[#lines] or "..."
  love.graphics.rectangle("line", 220, h / 2 - 80, w - 250, 160, 12)
  love.graphics.printf(said, 240, h / 2 - 60, w - 290)
  love.graphics.setColor(0.5, 0.5, 0.5)
  love.graphics.print(("line %d, %s"):format(#lines, task and "speaking..." or "done (Return: another, Escape: quit)"),
                      20, h - 30)
end

function love.keypressed(key)
  if key == "escape" then love.event.quit() end
  if key == "return" and not task then ask() end
end
