-- bench/capture.lua BASE_URL OUTDIR: make one client:chat{} call and write
-- the exact request the library hands to its C core: OUTDIR/req_body.json
-- (the JSON body) and OUTDIR/req_headers.txt (its header lines), for the C
-- floors to send the same bytes. The call runs inside a task, where it is
-- handed over as a request table (engine:submit; outside tasks a plain call
-- is one engine:run with the client's prebuilt profile, whose header lines
-- stay in C); submit is wrapped for this one call only (nothing in the
-- library is changed).
local dir = arg[0]:match("^(.*)/[^/]*$") or "."
local B = dofile(dir .. "/common.lua")
local openai = require "openai"
local transport = require "openai.transport"

local base_url, outdir = arg[1], arg[2]
local client = B.client(base_url)
local engine = transport.engine()
local methods = getmetatable(engine).__index
local submit = methods.submit
local captured
methods.submit = function(self, req, ...)
  local headers = {}
  for i, line in ipairs(req.headers) do headers[i] = line end
  captured = { url = req.url, body = req.body, headers = headers }
  return submit(self, req, ...)
end
local out = openai.parallel({ function() return client:chat{ messages = B.MESSAGES } end })[1]
methods.submit = submit
local res = B.check(out[1], out[2])
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
