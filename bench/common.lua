-- bench/common.lua: what the bench scripts share (loaded with dofile, so
-- that bench/ need not be on LUA_PATH).
local openai = require "openai"
local wire = require "openai.wire"

local M = {}

M.now_ms = wire.now          -- monotonic wall clock, ms (the library's C core)

-- the conversation every call sends: the seed's example
M.MESSAGES = {
  { role = "system", content = "You are a helpful assistant." },
  { role = "user", content = "Who won the world series in 2020?" },
  { role = "assistant", content = "The Los Angeles Dodgers won the World Series in 2020." },
  { role = "user", content = "Where was it played?" },
}

function M.client(base_url)
  return openai.new{ api_key = "sk-bench", base_url = base_url, max_retries = 0 }
end

-- VmHWM (peak resident set) of this process, KiB
function M.vm_hwm_kib()
  local f = assert(io.open("/proc/self/status", "r"))
  local s = f:read("a")
  f:close()
  return tonumber(s:match("VmHWM:%s*(%d+)"))
end

function M.median(t)
  local s = {}
  for i = 1, #t do s[i] = t[i] end
  table.sort(s)
  local n = #s
  if n % 2 == 1 then return s[(n + 1) // 2] end
  return (s[n // 2] + s[n // 2 + 1]) / 2
end

function M.list(t, fmt)
  local out = {}
  for i = 1, #t do out[i] = string.format(fmt or "%.2f", t[i]) end
  return table.concat(out, ",")
end

-- print one result line
function M.put(key, value)
  io.write(key, "=", tostring(value), "\n")
  io.stdout:flush()
end

function M.check(res, err)
  if not res then error("bench: call failed: " .. tostring(err), 0) end
  return res
end

return M
