-- client:run_tools: the model asks for tools, they run (as tasks, together),
-- their results go back, and the loop ends with the model's answer.
local openai = require "openai"
local client = openai.default_client()

local out, err = client:run_tools{
  model = "gpt-4.1",
  messages = { { role = "user", content = "What is the weather in Paris and in Oslo?" } },
  tools = {
    get_weather = {
      description = "The current weather in a city",
      parameters = { type = "object", properties = { city = { type = "string" } }, required = { "city" } },
      fn = function(args) return { city = args.city, sky = "sunny", celsius = 21 } end,
    },
  },
}
if not out then error(tostring(err)) end
print(out.message.content)
print(("(%d rounds, %d messages, %d tokens)"):format(out.rounds, #out.messages, out.usage.total_tokens))
