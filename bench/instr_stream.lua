-- bench/instr_stream.lua MODE URL FILE: one chat stream, for callgrind's
-- instruction counts (bench/instr_stream.sh runs it on a short and a long
-- stream and subtracts, so that start-up cancels out). MODE "lib": the
-- library over the network (client:chat_stream{}, each(), result()), as
-- bench/stream.lua; "flat": the same with accumulate = false; "floor":
-- FILE's bytes in memory, split with string.find and cjson.decode'd. All
-- three load the library (bench/common.lua).
local dir = arg[0]:match("^(.*)/[^/]*$") or "."
local B = dofile(dir .. "/common.lua")
local cjson = require "cjson"

local mode, url, path = arg[1], arg[2], arg[3]

local function floor()
  local f = assert(io.open(path, "rb"))
  local bytes = f:read("a")
  f:close()
  local decode, find, sub = cjson.decode, string.find, string.sub
  local n, pos = 0, 1
  while true do
    local e = find(bytes, "\n\n", pos, true)
    if not e then break end
    local data = sub(bytes, pos + 6, e - 1)
    pos = e + 2
    if data ~= "[DONE]" and decode(data) then n = n + 1 end
  end
  return n
end

local function lib(flat)
  local client = B.client(url)
  local stream = assert(client:chat_stream{ messages = B.MESSAGES, accumulate = not flat })
  local n = 0
  for _ in stream:each() do n = n + 1 end
  if not flat then assert(stream:result().choices[1].finish_reason == "stop") end
  return n
end

local n = mode == "floor" and floor() or lib(mode == "flat")
io.write(n, "\n")
