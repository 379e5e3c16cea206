-- bench/stream.lua BASE_URL FILE REPS: events per second of a long chat
-- stream. The library: client:chat_stream{} against nginx serving FILE,
-- `for chunk in stream:each() do n = n + 1 end`, then stream:result().
-- The floor, in the same process: FILE's bytes already in memory, split
-- into events with string.find and cjson.decode'd, in a plain Lua loop.
-- Runs alternate (library, floor) REPS times; the medians are reported.
local dir = arg[0]:match("^(.*)/[^/]*$") or "."
local B = dofile(dir .. "/common.lua")
local cjson = require "cjson"

local base_url, path, reps = arg[1], arg[2], tonumber(arg[3])
local client = B.client(base_url)
local messages = { { role = "user", content = "Write a long story." } }
local now, clock = B.now_ms, os.clock

local f = assert(io.open(path, "rb"))
local bytes = f:read("a")
f:close()

-- flat: accumulate = false (no result()), to show what assembling costs
-- every timed run starts from a collected heap, so that none pays for the
-- garbage of the run before it (library and floor runs alternate)
local function lib_run(flat)
  collectgarbage("collect")
  local w0, c0 = now(), clock()
  local stream, err = client:chat_stream{ messages = messages, accumulate = not flat }
  if not stream then error("bench: chat_stream failed: " .. tostring(err), 0) end
  local n = 0
  for _ in stream:each() do n = n + 1 end
  local done = not flat and stream:result()
  local ms, cpu = now() - w0, (clock() - c0) * 1e3
  assert(flat or done.choices[1].finish_reason == "stop", "bench: stream did not finish")
  return n, ms, cpu
end

local function floor_run()
  collectgarbage("collect")
  local w0, c0 = now(), clock()
  local decode, find, sub = cjson.decode, string.find, string.sub
  local n, pos = 0, 1
  while true do
    local e = find(bytes, "\n\n", pos, true)
    if not e then break end
    local data = sub(bytes, pos + 6, e - 1)    -- strip "data: "
    pos = e + 2
    if data ~= "[DONE]" then
      local v = decode(data)
      if v then n = n + 1 end
    end
  end
  return n, now() - w0, (clock() - c0) * 1e3
end

lib_run()     -- warm-up: connection, code paths
floor_run()
local lib_eps, floor_eps, lib_cpu_eps, floor_cpu_eps, flat_eps = {}, {}, {}, {}, {}
local nl, nf
for r = 1, reps do
  local n, ms, cpu = lib_run()
  nl = n
  lib_eps[r], lib_cpu_eps[r] = n / ms * 1e3, n / cpu * 1e3
  n, ms = lib_run(true)
  flat_eps[r] = n / ms * 1e3
  n, ms, cpu = floor_run()
  nf = n
  floor_eps[r], floor_cpu_eps[r] = n / ms * 1e3, n / cpu * 1e3
end
if nl ~= nf then error(("bench: the library saw %d events, the floor %d"):format(nl, nf), 0) end
B.put("stream_events", nl)
B.put("stream_bytes", #bytes)
B.put("lib_stream_eps_reps", B.list(lib_eps, "%.0f"))
B.put("floor_stream_eps_reps", B.list(floor_eps, "%.0f"))
-- the ratios pair each library run with the floor run next to it (the
-- machine's speed drifts between runs more than within a pair)
local ratios, flat_ratios = {}, {}
for r = 1, reps do
  ratios[r], flat_ratios[r] = lib_eps[r] / floor_eps[r], flat_eps[r] / floor_eps[r]
end
B.put("stream_ratio_reps", B.list(ratios, "%.3f"))
B.put("stream_ratio", string.format("%.3f", B.median(ratios)))
B.put("stream_flat_ratio_reps", B.list(flat_ratios, "%.3f"))
B.put("stream_flat_ratio", string.format("%.3f", B.median(flat_ratios)))
B.put("lib_stream_eps", string.format("%.0f", B.median(lib_eps)))
B.put("floor_stream_eps", string.format("%.0f", B.median(floor_eps)))
B.put("lib_stream_cpu_eps", string.format("%.0f", B.median(lib_cpu_eps)))
B.put("lib_stream_flat_eps", string.format("%.0f", B.median(flat_eps)))
B.put("floor_stream_cpu_eps", string.format("%.0f", B.median(floor_cpu_eps)))
