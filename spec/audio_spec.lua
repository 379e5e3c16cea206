-- spec/audio_spec.lua: client:transcription, client:translation (multipart
-- uploads), client:speech (audio bytes, or streamed to a file), and the
-- multipart image actions client:image_edit and client:image_variation.
local H = require "support.helper"
local cjson = require "cjson"

-- the i11-core pieces: file parts streamed from disk, bodies written to disk

local function absent(v)
  if v == nil or v == cjson.null then return false end
  return v
end

-- the parts of a recorded multipart request as { name, filename, type, bytes }
local function parts(rec)
  local out = {}
  for i, p in ipairs(rec.parts) do
    out[i] = { p.name, absent(p.filename), absent(p.content_type), H.b64decode(p.data_b64) }
  end
  return out
end

-- the stand-in's speech for text in format fmt
local function speech_bytes(text, fmt)
  local n = 1000 + 37 * #text
  local t = {}
  for i = 0, n - 1 do t[#t + 1] = string.char(i % 256) end
  return fmt:upper() .. ":" .. table.concat(t)
end

local MP3 = "ID3\3\0\0\0\0\0\0\255\251\144\0" .. string.rep("\0\1\2\255", 64)
local PNG = "\137PNG\r\n\26\n\0\0\0\rIHDR" .. string.rep("\0", 17)

describe("transcription and translation", function()
  local c

  before_each(function()
    H.reset()
    c = H.client()
  end)

  it("transcription sends the file and whisper-1 as multipart to /v1/audio/transcriptions", function()
    local res, err, meta = c:transcription { file = { data = MP3, name = "talk.mp3" } }
    assert.is_nil(err)
    local rec = H.last()
    assert.equal("POST", rec.method)
    assert.equal("/v1/audio/transcriptions", rec.path)
    assert.equal("multipart/form-data; boundary=", rec.headers["content-type"]:sub(1, 30))
    assert.equal("application/json", rec.headers["accept"])
    assert.same({ { "file", "talk.mp3", "audio/mpeg", MP3 }, { "model", false, false, "whisper-1" } }, parts(rec))
    assert.same({ text = "Heard " .. #MP3 .. " bytes of talk.mp3." }, res)
    assert.equal(200, meta.status)
  end)

  it("sends the optional fields as form parts, sorted by name, numbers without a fraction", function()
    local _, err = c:transcription { file = { data = "abc", name = "a.wav" }, model = "gpt-4o-transcribe",
                                     language = "de", prompt = "Grüße", temperature = 0.5,
                                     timestamp_granularities = { "word", "segment" },
                                     response_format = "verbose_json", timeout = 5000 }
    assert.is_nil(err)
    assert.same({
      { "file", "a.wav", "audio/wav", "abc" },
      { "model", false, false, "gpt-4o-transcribe" },
      { "language", false, false, "de" },
      { "prompt", false, false, "Grüße" },
      { "response_format", false, false, "verbose_json" },
      { "temperature", false, false, "0.5" },
      { "timestamp_granularities[]", false, false, "word" },
      { "timestamp_granularities[]", false, false, "segment" },
    }, parts(H.last()))
  end)

  it("objects are sent as name[key] parts, as the official SDKs send them", function()
    local _, err = c:transcription { file = { data = "abc", name = "a.mp3" }, model = "gpt-4o-transcribe",
                                     chunking_strategy = { type = "server_vad", threshold = 0.5 },
                                     include = { "logprobs" } }
    assert.is_nil(err)
    assert.same({
      { "file", "a.mp3", "audio/mpeg", "abc" },
      { "model", false, false, "gpt-4o-transcribe" },
      { "chunking_strategy[threshold]", false, false, "0.5" },
      { "chunking_strategy[type]", false, false, "server_vad" },
      { "include[]", false, false, "logprobs" },
    }, parts(H.last()))
  end)

  it("text, srt and vtt formats come back as strings; verbose_json as an object", function()
    local text = "Heard 3 bytes of a.mp3."
    local f = { data = "abc", name = "a.mp3" }
    assert.equal(text .. "\n", (c:transcription { file = f, response_format = "text" }))
    assert.equal("1\n00:00:00,000 --> 00:00:01,000\n" .. text .. "\n\n",
                 (c:transcription { file = f, response_format = "srt" }))
    assert.equal("WEBVTT\n\n00:00:00.000 --> 00:00:01.000\n" .. text .. "\n\n",
                 (c:transcription { file = f, response_format = "vtt" }))
    local v = c:transcription { file = f, response_format = "verbose_json", language = "english" }
    assert.equal("transcribe", v.task)
    assert.equal(text, v.segments[1].text)
  end)

  it("translation goes to /v1/audio/translations", function()
    local res, err = c:translation { file = { data = "xyz", name = "fr.m4a" }, prompt = "p",
                                     response_format = "verbose_json" }
    assert.is_nil(err)
    local rec = H.last()
    assert.equal("/v1/audio/translations", rec.path)
    assert.same({ { "file", "fr.m4a", "audio/mp4", "xyz" }, { "model", false, false, "whisper-1" },
                  { "prompt", false, false, "p" }, { "response_format", false, false, "verbose_json" } },
                parts(rec))
    assert.equal("translate", res.task)
  end)

  it("on Azure, audio goes to the deployment, with the api-version", function()
    local az = H.client { base_url = H.url .. "/openai", azure = { api_version = "2024-10-21", deployment = "whisper" } }
    local res, err = az:transcription { file = { data = "abc", name = "a.mp3" } }
    assert.is_nil(err)
    assert.equal("/openai/deployments/whisper/audio/transcriptions", H.last().path)
    assert.equal("api-version=2024-10-21", H.last().query)
    assert.equal("Heard 3 bytes of a.mp3.", res.text)
  end)

  it("a path is streamed from disk as the file part, named by its base name", function()
    local path = H.tmpfile(MP3)
    local res, err = c:transcription { file = path }
    os.remove(path)
    assert.is_nil(err)
    local name = path:match("([^/]+)$")
    assert.same({ "file", name, "application/octet-stream", MP3 }, parts(H.last())[1])
    assert.equal("Heard " .. #MP3 .. " bytes of " .. name .. ".", res.text)
  end)

  it("refuses bad arguments naming the field, with nothing sent", function()
    local fn = "openai.transcription"
    local missing = os.tmpname()
    os.remove(missing)
    local cases = {
      { {}, fn .. ": 'file' must be a path or a table { data = bytes, name = 'file name' } (got nil)" },
      { { file = { name = "a.mp3" } },
        fn .. ": 'file' must be a path or a table { data = bytes, name = 'file name' } (got a table)" },
      { { file = { data = "x", name = "" } }, fn .. ": 'file.name' must be a non-empty string (got '')" },
      { { file = "" }, fn .. ": 'file' must be a non-empty string (got '')" },
      { { file = { data = "x" }, model = 1 }, fn .. ": 'model' must be a non-empty string (got 1)" },
      { { file = { data = "x" }, response_format = "xml" },
        fn .. ": 'response_format' must be one of 'json', 'text', 'srt', 'verbose_json', 'vtt' (got 'xml')" },
      { { file = { data = "x" }, temperature = 2 }, fn .. ": 'temperature' must be a number in [0, 1] (got 2)" },
      { { file = { data = "x" }, language = "" }, fn .. ": 'language' must be a non-empty string (got '')" },
      { { file = { data = "x" }, extra = print }, fn .. ": 'extra' must be a string, number, boolean or table (got a function)" },
      { { file = { data = "x" }, stream = true }, fn .. ": 'stream' is not taken here (the answer comes whole) (got true)" },
      { { file = { data = "x" }, chunking_strategy = { type = print } },
        fn .. ": 'chunking_strategy[type]' must be a string, number, boolean or table (got a function)" },
    }
    for _, case in ipairs(cases) do
      assert.equal(case[2], H.raises(c.transcription, c, case[1]))
    end
    local msg = H.raises(c.transcription, c, { file = missing })
    assert.equal(1, msg:find(fn .. ": 'file' cannot be opened: ", 1, true), msg)
    assert.equal(0, #H.requests())
  end)
end)

describe("speech", function()
  local c

  before_each(function()
    H.reset()
    c = H.client()
  end)

  it("sends JSON to /v1/audio/speech with gpt-4o-mini-tts and returns the audio bytes", function()
    local audio, err, meta = c:speech { input = "Hello there", voice = "alloy" }
    assert.is_nil(err)
    local rec = H.last()
    assert.equal("POST", rec.method)
    assert.equal("/v1/audio/speech", rec.path)
    assert.same({ input = "Hello there", voice = "alloy", model = "gpt-4o-mini-tts" }, rec.json)
    assert.equal(speech_bytes("Hello there", "mp3"), audio)
    assert.equal("audio/mpeg", meta.headers["content-type"])
  end)

  it("passes response_format, speed and instructions", function()
    local audio, err = c:speech { input = "Hi", voice = "nova", model = "tts-1", response_format = "wav",
                                  speed = 1.5, instructions = "calm" }
    assert.is_nil(err)
    assert.same({ input = "Hi", voice = "nova", model = "tts-1", response_format = "wav", speed = 1.5,
                  instructions = "calm" }, H.last().json)
    assert.equal(speech_bytes("Hi", "wav"), audio)
  end)

  it("path = streams the audio to that file and returns its path and size", function()
    local path = os.tmpname()
    local text = string.rep("long text ", 300)
    local res, err = c:speech { input = text, voice = "alloy", path = path }
    assert.is_nil(err)
    assert.is_nil(H.last().json.path)
    local want = speech_bytes(text, "mp3")
    assert.same({ path = path, bytes = #want }, res)
    assert.equal(want, H.read_file(path))
    os.remove(path)
  end)

  it("refuses bad arguments naming the field, with nothing sent", function()
    local fn = "openai.speech"
    assert.equal(fn .. ": 'input' must be a string (got nil)", H.raises(c.speech, c, { voice = "alloy" }))
    assert.equal(fn .. ": 'input' must be a non-empty string (got '')", H.raises(c.speech, c, { input = "", voice = "a" }))
    assert.equal(fn .. ": 'voice' must be a non-empty string (got nil)", H.raises(c.speech, c, { input = "a" }))
    assert.equal(fn .. ": 'response_format' must be one of 'mp3', 'opus', 'aac', 'flac', 'wav', 'pcm' (got 'ogg')",
                 H.raises(c.speech, c, { input = "a", voice = "v", response_format = "ogg" }))
    assert.equal(fn .. ": 'speed' must be a number in [0.25, 4] (got 5)",
                 H.raises(c.speech, c, { input = "a", voice = "v", speed = 5 }))
    assert.equal(fn .. ": 'path' must be a non-empty string (got 1)",
                 H.raises(c.speech, c, { input = "a", voice = "v", path = 1 }))
    assert.equal(0, #H.requests())
  end)
end)

describe("image_edit and image_variation", function()
  local c

  before_each(function()
    H.reset()
    c = H.client()
  end)

  it("image_edit sends the image bytes, prompt and fields as multipart to /v1/images/edits", function()
    local res, err = c:image_edit { image = PNG, prompt = "add a hat", n = 2, size = "512x512" }
    assert.is_nil(err)
    local rec = H.last()
    assert.equal("POST", rec.method)
    assert.equal("/v1/images/edits", rec.path)
    assert.same({ { "image", "image.png", "image/png", PNG }, { "n", false, false, "2" },
                  { "prompt", false, false, "add a hat" }, { "size", false, false, "512x512" } }, parts(rec))
    assert.equal(2, #res.data)
    assert.equal("string", type(res.data[1].b64_json))
  end)

  it("image_edit takes a list of images (image[]) and a mask", function()
    local _, err = c:image_edit { image = { PNG, { data = "JPEGDATA", name = "b.jpg" } },
                                  mask = { data = PNG, name = "mask.png" }, prompt = "p", model = "gpt-image-1" }
    assert.is_nil(err)
    assert.same({ { "image[]", "image.png", "image/png", PNG }, { "image[]", "b.jpg", "image/jpeg", "JPEGDATA" },
                  { "mask", "mask.png", "image/png", PNG }, { "model", false, false, "gpt-image-1" },
                  { "prompt", false, false, "p" } }, parts(H.last()))
  end)

  it("image_variation sends the image to /v1/images/variations", function()
    local res, err = c:image_variation { image = { data = PNG, name = "cat.png" }, response_format = "url" }
    assert.is_nil(err)
    local rec = H.last()
    assert.equal("/v1/images/variations", rec.path)
    assert.same({ { "image", "cat.png", "image/png", PNG }, { "response_format", false, false, "url" } }, parts(rec))
    assert.truthy(res.data[1].url:find("^https://"))
  end)

  it("refuses bad arguments naming the field, with nothing sent", function()
    assert.equal("openai.image_edit: 'image' is required (got nil)", H.raises(c.image_edit, c, { prompt = "p" }))
    assert.equal("openai.image_edit: 'prompt' must be a string (got nil)", H.raises(c.image_edit, c, { image = PNG }))
    assert.equal("openai.image_edit: 'n' must be an integer from 1 to 10 (got 11)",
                 H.raises(c.image_edit, c, { image = PNG, prompt = "p", n = 11 }))
    assert.equal("openai.image_edit: 'image[2]' must be a path or a table { data = bytes, name = 'file name' } (got 3)",
                 H.raises(c.image_edit, c, { image = { PNG, 3 }, prompt = "p" }))
    assert.equal("openai.image_variation: 'image' must be a path, image bytes or { data, name } (got a table)",
                 H.raises(c.image_variation, c, { image = { PNG } }))
    assert.equal(0, #H.requests())
  end)
end)
