-- A picture in a chat message: openai.data_url makes the data: URL (the type
-- read from the bytes), and openai.save_b64 writes a b64_json image to a file.
local openai = require "openai"

local img, err = openai.image{ model = "gpt-image-1", prompt = "A small red fox, flat colours",
                               size = "1024x1024" }
if not img then error(tostring(err)) end
local path = os.tmpname() .. ".png"
local b64 = img.data[1].b64_json
if b64 then
  assert(openai.save_b64(b64, path))
  print("saved " .. path)
end

local url = b64 and openai.data_url{ path = path } or img.data[1].url
local res, cerr = openai.chat{ model = "gpt-4.1", messages = { { role = "user", content = {
  { type = "text", text = "What animal is this?" },
  { type = "image_url", image_url = { url = url } },
} } } }
if not res then error(tostring(cerr)) end
print(res.choices[1].message.content)
os.remove(path)
