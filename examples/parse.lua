-- Structured outputs: an answer that fits a JSON schema, checked, as a table.
-- parse for chat, parse_response for the Responses API, parse_stream for the
-- object so far while it is being written.
local openai = require "openai"

local npc = openai.schema{
  name = "npc",
  schema = {
    type = "object",
    properties = {
      name = { type = "string" },
      mood = { type = "string", enum = { "calm", "curious", "grumpy" } },
      lines = { type = "array", items = { type = "string" } },
      gold = { type = "integer" },            -- not required: the model may write null
    },
    required = { "name", "mood", "lines" },
  },
}

local messages = {
  { role = "system", content = "You write characters for a fantasy village." },
  { role = "user", content = "A blacksmith greets the player." },
}

local obj, err = openai.parse{ model = "gpt-4.1", messages = messages, schema = npc }
if not obj then error(tostring(err)) end           -- err.kind: decode, refusal, length, api...
print(obj.name, obj.mood, obj.lines[1])

-- the same answer streamed: s:partial() is the object so far
local s = assert(openai.parse_stream{ model = "gpt-4.1", messages = messages, schema = npc })
local shown = 0
while s:next() do
  local p = s:partial()
  local line = p and p.lines and p.lines[1]
  if line and #line > shown then
    io.write(line:sub(shown + 1))
    shown = #line
  end
end
print()
local final, ferr = s:result()
if not final then error(tostring(ferr)) end
print(#final.lines .. " lines")
