-- bench/embedding.lua: CPU per decode of one 3072-dimension embedding sent
-- as base64 (wire.f32_base64), beside cjson decoding the same numbers sent
-- as a JSON array (encoding_format "float"), for scale. Prints key=value.
local dir = arg[0]:match("^(.*)/[^/]*$") or "."
local B = dofile(dir .. "/common.lua")
local wire = require "openai.wire"
local cjson = require "cjson"

local N = tonumber(arg[1]) or 2000
local nums = {}
for i = 1, 3072 do nums[i] = ((i * 7919) % 2001 - 1000) / 65536 end
local b64 = assert(string.pack, "bench: needs Lua 5.3+")("<" .. string.rep("f", 3072), table.unpack(nums))
local A = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
b64 = (b64:gsub("..?.?", function(s)
  local a, b, c = s:byte(1, 3)
  local v = a << 16 | (b or 0) << 8 | (c or 0)
  local function ch(x) return A:sub(x + 1, x + 1) end
  return ch(v >> 18) .. ch(v >> 12 & 63) .. (b and ch(v >> 6 & 63) or "=") .. (c and ch(v & 63) or "=")
end))
local text = cjson.encode(nums)
assert(#wire.f32_base64(b64) == 3072)

local function us(f)
  for _ = 1, 100 do f() end
  local c0 = os.clock()
  for _ = 1, N do f() end
  return (os.clock() - c0) * 1e6 / N
end
B.put("emb_b64_us", string.format("%.2f", us(function() return wire.f32_base64(b64) end)))
B.put("emb_json_us", string.format("%.2f", us(function() return cjson.decode(text) end)))
