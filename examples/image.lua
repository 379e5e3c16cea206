-- Create Image: n = 1 and size = "1024x1024" by default.
local openai = require "openai"

local res, err = openai.image{ prompt = "A watercolour fox reading a map", size = "512x512" }
if not res then error(tostring(err)) end
for i, img in ipairs(res.data) do print(i, img.url or ("<" .. #img.b64_json .. " bytes of base64>")) end
