-- bench/instr.lua MODE N BASE_URL HEADERS_FILE: N sequential chat calls, for
-- callgrind's instruction counts (bench/run.sh runs it at two N and
-- subtracts, so that start-up cancels out). MODE "lib": client:chat{} as in
-- bench/seq.lua; "floor": the libcurl + cjson floor (bench/floor_lua.c, the
-- library's own header lines, cjson.encode and cjson.decode per call). Both
-- load the library (bench/common.lua), so both collect the same heap.
local dir = arg[0]:match("^(.*)/[^/]*$") or "."
local B = dofile(dir .. "/common.lua")

local mode, n, base_url, headers_file = arg[1], tonumber(arg[2]), arg[3], arg[4]
local messages = B.MESSAGES
local call
if mode == "lib" then
  local client = B.client(base_url)
  call = function() return B.check(client:chat{ messages = messages }) end
else
  local cjson = require "cjson"
  local floor = require "floor_lua"
  local lines = {}
  for l in io.lines(headers_file) do if l ~= "" then lines[#lines + 1] = l end end
  local h = floor.easy(lines)
  local url = base_url .. "/chat/completions"
  local encode, decode = cjson.encode, cjson.decode
  call = function()
    local body = encode({ messages = messages, model = "gpt-3.5-turbo", temperature = 1, top_p = 1, n = 1 })
    local status, response = h:post(url, body)
    if status ~= 200 then error("bench: floor call failed: " .. tostring(status), 0) end
    return decode(response)
  end
end
for _ = 1, n do call() end
