-- bench/profile.lua BASE_URL: where a sequential client:chat{} call spends
-- its CPU, piece by piece, and what json.decode costs per stream event.
-- Not part of the table: `PROFILE=1 make bench` runs it after the table
-- (against the same nginx). It reaches into the library's internals
-- (openai.transport, openai.json, the core's engine), read-only; a piece
-- whose internals changed shows as n/a.
local dir = arg[0]:match("^(.*)/[^/]*$") or "."
local B = dofile(dir .. "/common.lua")
local json = require "openai.json"
local transport = require "openai.transport"
local cjson = require "cjson"

local client = B.client(arg[1])
local N = tonumber(arg[2]) or 20000

local function us(f, n)
  n = n or N
  for _ = 1, math.min(n, 1000) do f() end
  local c0 = os.clock()
  for _ = 1, n do f() end
  return (os.clock() - c0) * 1e6 / n
end

local rows = {}
local function add(name, f, n)
  local ok, v = pcall(us, f, n)
  rows[#rows + 1] = { name, ok and v or nil, not ok and tostring(v) or nil }
  return ok and v or nil
end

local msgs = B.MESSAGES
local body = { messages = msgs, model = "gpt-3.5-turbo", temperature = 1, top_p = 1, n = 1 }
local spec = { fn = "openai.chat", method = "POST", path = "/chat/completions", json = body,
               timeout = 10000, retry = { max_retries = 0, backoff = true, sdk_statuses = true,
                                          max_retry_after = 60000 } }
local f = assert(io.open(dir .. "/chat_completion.json", "rb"))
local resp = f:read("a"):gsub("\n$", "")
f:close()

local full = add("client:chat{} (whole call)", function() assert(client:chat{ messages = msgs }) end)
local perform = add("transport.perform(spec) (no argument checks)", function()
  assert(transport.perform(client, spec)) end)
local build = add("  transport.build: spec -> request (JSON encode)", function()
  return transport.build(client, spec) end)
add("    of which json.encode(body)", function() return json.encode(body, "openai.chat") end)
add("    cjson.encode(body) alone, for scale", function() return cjson.encode(body) end)
local req = transport.build(client, spec)
local e = transport.engine()
local core = add("  C core: submit + await (scheduler) + result + close", function()
  local t = e:submit(req)
  transport.await(t)
  local r = t:result()
  t:close()
  return r
end)
local decode = add("  json.decode(response body)", function() return json.decode(resp) end)
add("    cjson.decode(response body) alone, for scale", function() return cjson.decode(resp) end)
local utf8c = add("  json.valid_utf8(response body)", function() return json.valid_utf8(resp) end)

local ev = '{"id":"chatcmpl-B9MBs8CjcvOU2jLn4n","object":"chat.completion.chunk","created":1741569952,' ..
           '"model":"gpt-4o","choices":[{"index":0,"delta":{"content":" the"},"finish_reason":null}]}'
add("stream event: json.decode(chunk)", function() return json.decode(ev) end, 10 * N)
add("stream event: cjson.decode(chunk) alone", function() return cjson.decode(ev) end, 10 * N)
add('stream event: string.find(chunk, "%[%s*%]")', function() return string.find(ev, "%[%s*%]") end, 10 * N)

print(string.format("profile (CPU us per operation, %d runs each; pieces overlap, see the indent)", N))
for _, r in ipairs(rows) do
  print(string.format("  %-52s %s", r[1], r[2] and string.format("%8.2f us", r[2]) or ("n/a: " .. r[3])))
end
if full and perform and build and core and decode and utf8c then
  print(string.format("  %-52s %8.2f us", "argument checks and defaults (whole - perform)", full - perform))
  print(string.format("  %-52s %8.2f us", "rest of perform (glue, meta, GC)",
                      perform - build - core - decode - utf8c))
end
