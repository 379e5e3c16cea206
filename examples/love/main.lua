-- examples/love/main.lua: a chat answer streamed into a LÖVE window while
-- the game keeps drawing frames (the counter and the spinner never stop).
--
--   love examples/love "Tell me about Lua"         (from the checkout)
--   love examples/love --quit-when-done "Say hi"   (print the answer, quit)
--
-- The key comes from OPENAI_API_KEY (and OPENAI_BASE_URL, if set). Keys:
-- Return asks again, Escape quits.
--
-- The call runs as a task (openai.spawn); one openai.step(0) per frame, in
-- love.update, drives it and never blocks.

-- running from the checkout: the module's Lua files and its LuaJIT core
-- (build it with `make build/luajit/openai/core.so`)
local root = love.filesystem.getSource() .. "/../.."
package.path = root .. "/lua/?.lua;" .. package.path
package.cpath = root .. "/build/luajit/?.so;" .. package.cpath

local openai = require "openai"

local question = "Write a short poem about Lua."
local quit_when_done = false
local task, stream, failure
local frames, spin = 0, 0

-- the task: open the stream and read it to its end; the window draws
-- stream:text() as it grows
local function ask()
  stream, failure = nil, nil
  task = openai.spawn(function()
    local s, err = openai.chat_stream { messages = { { role = "user", content = question } } }
    if not s then error(err, 0) end
    stream = s
    while s:next() ~= nil do end         -- each event lands in s:text()
    return s:text()
  end)
end

function love.load(args)
  for _, a in ipairs(args) do
    if a == "--quit-when-done" then quit_when_done = true else question = a end
  end
  love.graphics.setFont(love.graphics.newFont(16))
  ask()
end

function love.update(dt)
  frames, spin = frames + 1, spin + dt * 6
  openai.step(0)                         -- drives the task; never blocks
  if task and task:done() then
    local text, err = task:result()
    task = nil
    failure = not text and tostring(err) or nil
    if quit_when_done then
      print(text or ("error: " .. failure))
      love.event.quit(text and 0 or 1)
    end
  end
end

function love.draw()
  local w, h = love.graphics.getDimensions()
  local font = love.graphics.getFont()
  local _, qlines = font:getWrap("> " .. question, w - 40)
  love.graphics.setColor(0.6, 0.8, 1)
  love.graphics.printf("> " .. question, 20, 20, w - 40)
  love.graphics.setColor(1, 1, 1)
  local body = failure and ("error: " .. failure) or (stream and stream:text()) or "..."
  love.graphics.printf(body, 20, 20 + (#qlines + 1) * font:getHeight(), w - 40)
  -- proof of life: frames keep coming while the answer streams in
  love.graphics.setColor(0.5, 0.5, 0.5)
  local status = task and "streaming" or "done (Return: ask again, Escape: quit)"
  love.graphics.print(string.format("frame %d, %d fps, %s", frames, love.timer.getFPS(), status), 20, h - 30)
  love.graphics.arc("fill", w - 30, h - 22, 10, spin, spin + 4)
end

function love.keypressed(key)
  if key == "escape" then love.event.quit() end
  if key == "return" and not task then ask() end
end
