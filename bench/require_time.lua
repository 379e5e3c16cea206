-- bench/require_time.lua MODE ...: the start-up cost of `require "openai"`.
--   hyperfine JSON        read hyperfine's --export-json of the three
--                         commands run.sh gives it (bare, libcurl, openai)
--   loop RUNS CMD1 CMD2 CMD3   no hyperfine: run each command RUNS times
--                         (after 5 warm-up runs) and take the median wall time
-- Prints req_bare_ms, req_libcurl_ms, req_openai_ms (medians) and req_method.
local dir = arg[0]:match("^(.*)/[^/]*$") or "."
local B = dofile(dir .. "/common.lua")
local KEYS = { "req_bare_ms", "req_libcurl_ms", "req_openai_ms" }

if arg[1] == "hyperfine" then
  local cjson = require "cjson"
  local f = assert(io.open(arg[2], "rb"))
  local doc = cjson.decode(f:read("a"))
  f:close()
  local runs
  for i, r in ipairs(doc.results) do
    B.put(KEYS[i], string.format("%.2f", r.median * 1e3))
    B.put(KEYS[i] .. "_sd", string.format("%.2f", r.stddev * 1e3))
    runs = #r.times
  end
  B.put("req_method", "hyperfine -N, " .. runs .. " runs after 5 warm-ups, median")
else
  local runs = tonumber(arg[2])
  for i = 1, 3 do
    local cmd = arg[2 + i] .. " >/dev/null 2>&1"
    for _ = 1, 5 do os.execute(cmd) end
    local t = {}
    for r = 1, runs do
      local w0 = B.now_ms()
      os.execute(cmd)
      t[r] = B.now_ms() - w0
    end
    B.put(KEYS[i], string.format("%.2f", B.median(t)))
  end
  B.put("req_method", "os.execute loop (no hyperfine; includes a shell), " .. runs .. " runs, median")
end
