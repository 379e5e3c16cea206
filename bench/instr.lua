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
  call = B.json_floor(base_url, headers_file)
end
for _ = 1, n do call() end
