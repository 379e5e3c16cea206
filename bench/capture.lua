-- bench/capture.lua BASE_URL OUTDIR: make one client:chat{} call and write
-- the exact request the library hands to its C core: OUTDIR/req_body.json
-- (the JSON body) and OUTDIR/req_headers.txt (its header lines), for the C
-- floors to send the same bytes. The engine's submit and run are wrapped
-- for this one call only (nothing in the library is changed).
local dir = arg[0]:match("^(.*)/[^/]*$") or "."
local B = dofile(dir .. "/common.lua")
local transport = require "openai.transport"

local base_url, outdir = arg[1], arg[2]
local client = B.client(base_url)
local engine = transport.engine()
local methods = getmetatable(engine).__index
local submit, run = methods.submit, methods.run   -- run: submit, wait and outcome in one call
-- a copy of what was handed over: a plain call's request table is lent
-- (filled in place and emptied after the call)
local captured
local function keep(req)
  local headers = {}
  for i, line in ipairs(req.headers) do headers[i] = line end
  captured = { url = req.url, body = req.body, headers = headers }
end
methods.submit = function(self, req, ...)
  keep(req)
  return submit(self, req, ...)
end
methods.run = function(self, req, ...)
  keep(req)
  return run(self, req, ...)
end
local res = B.check(client:chat{ messages = B.MESSAGES })
methods.submit, methods.run = submit, run
assert(captured and captured.body, "capture.lua: no request seen")
assert(res.choices[1].message.content, "capture.lua: unexpected response")

local f = assert(io.open(outdir .. "/req_body.json", "wb"))
f:write(captured.body)
f:close()
f = assert(io.open(outdir .. "/req_headers.txt", "wb"))
for _, line in ipairs(captured.headers) do f:write(line, "\n") end
f:close()
B.put("request_url", captured.url)
B.put("request_body_bytes", #captured.body)
B.put("request_headers", table.concat(captured.headers, " | "))
