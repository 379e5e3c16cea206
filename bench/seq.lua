-- bench/seq.lua BASE_URL WARM BLOCKS BLOCK_N: sequential client:chat{}
-- calls on one keep-alive connection (the library's own), as bench/floor.c.
-- WARM calls, then VmHWM; then BLOCKS timed blocks of BLOCK_N calls; then
-- VmHWM again (the same process, WARM + BLOCKS * BLOCK_N calls in all).
-- CPU is os.clock() (user+sys of the process), wall the core's monotonic clock.
local dir = arg[0]:match("^(.*)/[^/]*$") or "."
local B = dofile(dir .. "/common.lua")

local base_url = arg[1]
local warm, blocks, block_n = tonumber(arg[2]), tonumber(arg[3]), tonumber(arg[4])
local client = B.client(base_url)
local messages = B.MESSAGES
local clock, now = os.clock, B.now_ms

local function call()
  local res, err = client:chat{ messages = messages }
  if not res then error("bench: call failed: " .. tostring(err), 0) end
  return res
end

local first = call()
assert(first.choices[1].message.content == "It was played at Globe Life Field in Arlington, Texas.")
for _ = 2, warm do call() end
local rss_warm = B.vm_hwm_kib()

local cpu, wall = {}, {}
for b = 1, blocks do
  local c0, w0 = clock(), now()
  for _ = 1, block_n do call() end
  cpu[b] = (clock() - c0) * 1e6 / block_n
  wall[b] = (now() - w0) * 1e3 / block_n
end
local rss_end = B.vm_hwm_kib()

B.put("lib_seq_cpu_us_blocks", B.list(cpu))
B.put("lib_seq_wall_us_blocks", B.list(wall))
B.put("lib_seq_cpu_us", string.format("%.3f", B.median(cpu)))
B.put("lib_seq_wall_us", string.format("%.3f", B.median(wall)))
B.put("lib_rss_warm_kib", rss_warm)
B.put("lib_rss_end_kib", rss_end)
B.put("lib_calls", warm + blocks * block_n)
B.put("lib_lua_kib_end", string.format("%.0f", collectgarbage("count")))
