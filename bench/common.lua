-- bench/common.lua: what the bench scripts share (loaded with dofile, so
-- that bench/ need not be on LUA_PATH).
local openai = require "openai"
local wire = require "openai.wire"

local M = {}

M.now_ms = wire.now          -- monotonic wall clock, ms (the library's C core)

-- the conversation every call sends: the connector's example conversation
M.MESSAGES = {
  { role = "system", content = "You are a helpful assistant." },
  { role = "user", content = "Who won the world series in 2020?" },
  { role = "assistant", content = "The Los Angeles Dodgers won the World Series in 2020." },
  { role = "user", content = "Where was it played?" },
}

function M.client(base_url)
  return openai.new{ api_key = "sk-bench", base_url = base_url, max_retries = 0 }
end

-- the libcurl + cjson floor: one reused libcurl easy handle called from Lua
-- (bench/floor_lua.c, found on LUA_CPATH) sending the header lines of
-- headers_file (the library's, bench/capture.lua), with the body the library
-- sends (its defaults filled in) cjson-encoded and the answer cjson-decoded
-- per call; returns that call
function M.json_floor(base_url, headers_file)
  local cjson = require "cjson"
  local floor = require "floor_lua"
  local lines = {}
  for l in io.lines(headers_file) do if l ~= "" then lines[#lines + 1] = l end end
  local h = floor.easy(lines)
  local url = base_url .. "/chat/completions"
  local encode, decode, messages = cjson.encode, cjson.decode, M.MESSAGES
  return function()
    local body = encode({ messages = messages, model = "gpt-3.5-turbo", temperature = 1, top_p = 1, n = 1 })
    local status, response = h:post(url, body)
    if status ~= 200 then error("bench: floor call failed: " .. tostring(status), 0) end
    return decode(response)
  end
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
