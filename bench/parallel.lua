-- bench/parallel.lua BASE_URL N CONC REPS: N client:chat{} calls through
-- openai.parallel with `concurrency = CONC`, against bench/slow_server.py
-- (each answer after 50 ms). A warm-up batch of CONC calls opens the
-- connections first, as bench/floor_multi.c does; then REPS timed batches.
local dir = arg[0]:match("^(.*)/[^/]*$") or "."
local B = dofile(dir .. "/common.lua")
local openai = require "openai"

local base_url = arg[1]
local n, conc, reps = tonumber(arg[2]), tonumber(arg[3]), tonumber(arg[4])
local client = B.client(base_url)
local messages = B.MESSAGES

local function fn()
  local res, err = client:chat{ messages = messages }
  if not res then return nil, err end
  return res.choices[1].message.content
end

local function batch(count)
  local fns = {}
  for i = 1, count do fns[i] = fn end
  local w0 = B.now_ms()
  local results = openai.parallel(fns, { concurrency = conc })
  local ms = B.now_ms() - w0
  for i = 1, count do
    if not results[i][1] then error("bench: call " .. i .. " failed: " .. tostring(results[i][2]), 0) end
  end
  return ms
end

batch(conc)
local wall = {}
local c0 = os.clock()
for r = 1, reps do wall[r] = batch(n) end
B.put("lib_par_wall_ms_reps", B.list(wall, "%.1f"))
B.put("lib_par_wall_ms", string.format("%.2f", B.median(wall)))
B.put("lib_par_cpu_ms", string.format("%.2f", (os.clock() - c0) * 1e3 / reps))
