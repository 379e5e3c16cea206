-- bench/https.lua MODE BASE_URL CA_FILE [N CONC]: the library over TLS +
-- HTTP/2 (bench/https.sh's nginx), in a fresh process whose client trusts
-- CA_FILE (the system bundle plus the bench's certificate, so that reading
-- the trust store costs what it costs with the real one). Connections are
-- opened inside the timing: nothing is warmed up.
--   par  N CONC: N chat calls through openai.parallel, CONC in flight
--   seq  N:      N chat calls one after the other
--   one:         one chat call (the cold first call; bench/cpu_of.py
--                measures the whole process)
--   none:        the client is made, no call (the baseline of `one`)
-- par and seq print key=value: wall and CPU (os.clock) of the calls, ms.
local dir = arg[0]:match("^(.*)/[^/]*$") or "."
local B = dofile(dir .. "/common.lua")
local openai = require "openai"

local mode, base_url, ca_file = arg[1], arg[2], arg[3]
local n, conc = tonumber(arg[4]), tonumber(arg[5])
local client = openai.new{ api_key = "sk-bench", base_url = base_url, ca_file = ca_file, max_retries = 0 }
local messages = B.MESSAGES

local function call()
  local res, err = client:chat{ messages = messages }
  B.check(res, err)
  return true
end

if mode == "none" then return end
if mode == "one" then call() return end

local c0, w0 = os.clock(), B.now_ms()
if mode == "par" then
  local fns = {}
  for i = 1, n do fns[i] = call end
  local results = openai.parallel(fns, { concurrency = conc })
  for i = 1, n do
    if not results[i][1] then error("bench: call " .. i .. " failed: " .. tostring(results[i][2]), 0) end
  end
elseif mode == "seq" then
  for _ = 1, n do call() end
else
  error("bench/https.lua: unknown mode " .. tostring(mode), 0)
end
B.put("wall_ms", string.format("%.1f", B.now_ms() - w0))
B.put("cpu_ms", string.format("%.1f", (os.clock() - c0) * 1e3))
