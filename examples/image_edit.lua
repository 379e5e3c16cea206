-- Create Image Edit: the image as a path, bytes or { data, name }; multipart.
local openai = require "openai"

-- a 1x1 PNG, so the example needs no file
local png = "\137PNG\r\n\26\n\0\0\0\rIHDR\0\0\0\1\0\0\0\1\8\6\0\0\0\31\21\196\137\0\0\0\rIDATx\218c\0\1\0\0"
            .. "\5\0\1\13\10\45\180\0\0\0\0IEND\174\66\96\130"
local res, err = openai.image_edit{ image = png, prompt = "Add a small red hat", model = "gpt-image-1" }
if not res then error(tostring(err)) end
for i, img in ipairs(res.data) do print(i, img.url or ("<" .. #img.b64_json .. " bytes of base64>")) end
