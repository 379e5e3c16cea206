-- Create Chat Completion: the documented example conversation.
local openai = require "openai"

local res, err, meta = openai.chat{
  messages = {
    { role = "system", content = "You are a helpful assistant." },
    { role = "user", content = "Who won the world series in 2020?" },
    { role = "assistant", content = "The Los Angeles Dodgers won the World Series in 2020." },
    { role = "user", content = "Where was it played?" },
  },
  -- model = "gpt-3.5-turbo", temperature = 1, top_p = 1, n = 1, timeout = 10000 (the defaults)
}
if not res then error(tostring(err)) end
print(res.choices[1].message.content)
print(("(model %s, %d tokens, request %s)"):format(res.model, res.usage.total_tokens, meta.request_id))
