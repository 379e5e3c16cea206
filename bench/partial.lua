-- bench/partial.lua: the cost of structured outputs' local work, beside
-- cjson for scale. Prints key=value.
--   partial_us: one piece of a streamed answer read and the object so far
--     decoded (parse_stream's partial() after each piece: wire.partial_new,
--     feed, value), a 1.5 KB villager object in 3-byte pieces, averaged
--   partial_cjson_us: cjson decoding the whole 1.5 KB text once
--   data_url_ms / b64_decode_ms: a 1 MiB picture to a data: URL, and its
--     base64 back to bytes (core base64 in C)
local dir = arg[0]:match("^(.*)/[^/]*$") or "."
local B = dofile(dir .. "/common.lua")
local wire = require "openai.wire"
local json = require "openai.json"
local openai = require "openai"
local cjson = require "cjson"

local N = tonumber(arg[1]) or 200
local villager = { name = "Ara", mood = "calm", lines = {} }
for i = 1, 30 do villager.lines[i] = ("Line %d of the villager, with some words in it."):format(i) end
local text = cjson.encode(villager)
local pieces = {}
for i = 1, #text, 3 do pieces[#pieces + 1] = text:sub(i, i + 2) end

local function per_call_us(f, n)
  f()
  local c0 = os.clock()
  for _ = 1, n do f() end
  return (os.clock() - c0) * 1e6 / n
end

local mt = json.array_mt
local answer_us = per_call_us(function()
  local r = wire.partial_new()
  for i = 1, #pieces do
    r:feed(pieces[i])
    r:value(mt)
  end
  r:close()
end, N)
B.put("partial_us", string.format("%.2f", answer_us / #pieces))
B.put("partial_cjson_us", string.format("%.2f", per_call_us(function() return cjson.decode(text) end, N * 10)))

local png = "\137PNG\r\n\26\n" .. string.rep("\1\2\3\4\5\6\7\8", 131072 - 1)
local url = openai.data_url(png)
B.put("data_url_ms", string.format("%.3f", per_call_us(function() return openai.data_url(png) end, 50) / 1000))
local b64 = url:match(",(.*)$")
B.put("b64_decode_ms", string.format("%.3f", per_call_us(function() return openai.b64_decode(b64) end, 50) / 1000))
