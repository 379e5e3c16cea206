-- bench/seq.lua BASE_URL WARM BLOCKS BLOCK_N [HEADERS_FILE]: sequential
-- client:chat{} calls on one keep-alive connection (the library's own), as
-- bench/floor.c.
-- WARM calls, then VmHWM; then BLOCKS timed blocks of BLOCK_N calls; then
-- VmHWM again (the same process, WARM + BLOCKS * BLOCK_N calls in all).
-- With HEADERS_FILE (the library's header lines, bench/capture.lua) and the
-- bench's floor_lua module on LUA_CPATH: each library block is followed by a
-- block of the JSON-aware floor, in this process: the same request posted on
-- one reused libcurl easy handle called from Lua (bench/floor_lua.c), with
-- cjson.encode(body) and cjson.decode(response) per call.
-- CPU is os.clock() (user+sys of the process), wall the core's monotonic clock.
local dir = arg[0]:match("^(.*)/[^/]*$") or "."
local B = dofile(dir .. "/common.lua")

local base_url = arg[1]
local warm, blocks, block_n = tonumber(arg[2]), tonumber(arg[3]), tonumber(arg[4])
local headers_file = arg[5]
local client = B.client(base_url)
local messages = B.MESSAGES
local clock, now = os.clock, B.now_ms

local function call()
  local res, err = client:chat{ messages = messages }
  if not res then error("bench: call failed: " .. tostring(err), 0) end
  return res
end

-- the JSON-aware floor (bench/common.lua)
local floor_call
if headers_file then
  floor_call = B.json_floor(base_url, headers_file)
  local v = floor_call()
  assert(v.choices[1].message.content == "It was played at Globe Life Field in Arlington, Texas.")
  for _ = 2, warm do floor_call() end
end

local first = call()
assert(first.choices[1].message.content == "It was played at Globe Life Field in Arlington, Texas.")
for _ = 2, warm do call() end
local rss_warm = B.vm_hwm_kib()

-- each timed block starts from a collected heap (library and floor blocks
-- alternate: neither pays for the other's garbage)
local function block(f)
  collectgarbage("collect")
  local c0, w0 = clock(), now()
  for _ = 1, block_n do f() end
  return (clock() - c0) * 1e6 / block_n, (now() - w0) * 1e3 / block_n
end

local cpu, wall, fcpu, fwall = {}, {}, {}, {}
for b = 1, blocks do
  cpu[b], wall[b] = block(call)
  if floor_call then fcpu[b], fwall[b] = block(floor_call) end
end
local rss_end = B.vm_hwm_kib()

B.put("lib_seq_cpu_us_blocks", B.list(cpu))
B.put("lib_seq_wall_us_blocks", B.list(wall))
B.put("lib_seq_cpu_us", string.format("%.3f", B.median(cpu)))
B.put("lib_seq_wall_us", string.format("%.3f", B.median(wall)))
if floor_call then
  B.put("jfloor_seq_cpu_us_blocks", B.list(fcpu))
  B.put("jfloor_seq_wall_us_blocks", B.list(fwall))
  B.put("jfloor_seq_cpu_us", string.format("%.3f", B.median(fcpu)))
  -- each library block against the floor block right after it
  local ratios = {}
  for b = 1, blocks do ratios[b] = cpu[b] / fcpu[b] end
  B.put("seq_cpu_ratio_blocks", B.list(ratios, "%.3f"))
  B.put("seq_cpu_ratio", string.format("%.3f", B.median(ratios)))
  B.put("jfloor_seq_wall_us", string.format("%.3f", B.median(fwall)))
end
B.put("lib_rss_warm_kib", rss_warm)
B.put("lib_rss_end_kib", rss_end)
B.put("lib_calls", warm + blocks * block_n)
B.put("lib_lua_kib_end", string.format("%.0f", collectgarbage("count")))
