-- Create Response (the Responses API); model defaults to gpt-4.1.
-- openai.output_text joins the output text of every message item: on a
-- reasoning model the first output item is a reasoning item, not the message.
local openai = require "openai"

local res, err = openai.response{ input = "Write one sentence about Lua." }
if not res then error(tostring(err)) end
print(openai.output_text(res))
