-- spec/pictures_spec.lua: openai.data_url, openai.b64_encode / b64_decode,
-- openai.save_b64 against the stand-in.
local H = require "support.helper"
local openai = require "openai"

local PNG = "\137PNG\r\n\26\n\0\0\0\13IHDR" .. string.rep("\0", 13)
local JPEG = "\255\216\255\224\0\16JFIF\0" .. string.rep("\1", 20)
local GIF = "GIF89a\1\0\1\0" .. string.rep("\0", 10)
local WEBP = "RIFF\26\0\0\0WEBPVP8 " .. string.rep("\0", 10)

local function all_bytes()
  local t = {}
  for i = 0, 255 do t[#t + 1] = string.char(i) end
  return table.concat(t)
end

describe("openai.data_url", function()
  it("sniffs PNG, JPEG, GIF and WebP from the bytes", function()
    assert.equal("data:image/png;base64," .. H.b64encode(PNG), openai.data_url(PNG))
    assert.equal("data:image/jpeg;base64," .. H.b64encode(JPEG), openai.data_url(JPEG))
    assert.equal("data:image/gif;base64," .. H.b64encode(GIF), openai.data_url(GIF))
    assert.equal("data:image/webp;base64," .. H.b64encode(WEBP), openai.data_url(WEBP))
  end)

  it("takes the mime type when given, and a file by path", function()
    assert.equal("data:image/heic;base64," .. H.b64encode("abc"), openai.data_url("abc", "image/heic"))
    local path = H.tmpfile(JPEG)
    assert.equal("data:image/jpeg;base64," .. H.b64encode(JPEG), openai.data_url({ path = path }))
    os.remove(path)
  end)

  it("refuses bytes that are no picture without a mime type, naming the function", function()
    assert.has_error(function() openai.data_url("hello world") end,
      "openai.data_url: 'bytes' is not a PNG, JPEG, GIF or WebP picture (give its mime type as the second argument)"
      .. " (got '11 bytes')")
    local path = H.tmpfile("just text")
    local ok, e = pcall(openai.data_url, { path = path })
    assert.is_false(ok)
    assert.matches("^openai%.data_url: 'path' is not a PNG, JPEG, GIF or WebP picture", e)
    os.remove(path)
    ok, e = pcall(openai.data_url, { path = "/nonexistent/x.png" })
    assert.is_false(ok)
    assert.matches("^openai%.data_url: cannot read 'path'", e)
    ok, e = pcall(openai.data_url, PNG, "png")
    assert.is_false(ok)
    assert.matches("^openai%.data_url: 'mime' must be a type such as 'image/png'", e)
    ok, e = pcall(openai.data_url, 42)
    assert.is_false(ok)
    assert.matches("^openai%.data_url: 'bytes' must be a string of bytes", e)
  end)

  it("goes into a chat message as an image part, byte for byte", function()
    local c = H.client()
    local url = openai.data_url(PNG)
    local res, err = c:chat{ messages = { { role = "user", content = {
      { type = "text", text = "what is this?" },
      { type = "image_url", image_url = { url = url } } } } } }
    assert.is_nil(err)
    assert.is_table(res)
    local part = H.last().json.messages[1].content[2]
    assert.equal(url, part.image_url.url)
    assert.equal(PNG, H.b64decode(url:match(",(.*)$")))
  end)
end)

describe("openai.b64_encode / b64_decode", function()
  it("round-trips every byte value at every length mod 3", function()
    local bytes = all_bytes()
    for n = 0, 5 do
      local s = bytes:sub(1, 250 + n)
      local enc = openai.b64_encode(s)
      assert.equal(H.b64encode(s), enc)
      assert.equal(s, openai.b64_decode(enc))
    end
  end)

  it("returns nil and a reason for text that is not strict base64", function()
    local v, why = openai.b64_decode("abc")
    assert.is_nil(v)
    assert.matches("multiple of 4", why)
    v, why = openai.b64_decode("ab!d")
    assert.is_nil(v)
    assert.matches("outside the base64 alphabet", why)
    assert.has_error(function() openai.b64_decode(nil) end, "openai.b64_decode: 's' must be a base64 string (got nil)")
  end)
end)

describe("openai.save_b64", function()
  it("writes a b64_json image to a file: a PNG the stand-in drew", function()
    local c = H.client()
    local res = assert(c:image{ prompt = "a fox", response_format = "b64_json" })
    local path = os.tmpname()
    assert.is_true(openai.save_b64(res.data[1].b64_json, path))
    local bytes = H.read_file(path)
    assert.equal("\137PNG\r\n\26\n", bytes:sub(1, 8))
    assert.equal(res.data[1].b64_json, openai.b64_encode(bytes))
    assert.matches("^data:image/png;base64,", openai.data_url({ path = path }))
    os.remove(path)
  end)

  it("fails as decode for bad base64 and io for a path it cannot write, writing nothing", function()
    local ok, err = openai.save_b64("not base64!", os.tmpname())
    assert.is_nil(ok)
    assert.equal("decode", err.kind)
    ok, err = openai.save_b64(H.b64encode("x"), "/nonexistent/dir/out.wav")
    assert.is_nil(ok)
    assert.equal("io", err.kind)
  end)
end)
