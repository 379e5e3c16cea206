-- Create Response (the Responses API); model defaults to gpt-4.1.
local openai = require "openai"

local res, err = openai.response{ input = "Write one sentence about Lua." }
if not res then error(tostring(err)) end
for _, item in ipairs(res.output) do
  if item.type == "message" then
    for _, part in ipairs(item.content) do
      if part.type == "output_text" then print(part.text) end
    end
  end
end
