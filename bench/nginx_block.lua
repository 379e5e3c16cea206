-- bench/nginx_block.lua: does a call inside nginx block its worker? Debian's
-- nginx with the lua module (spec/support/nginx.lua, worker_processes 1)
-- serves /slow, which makes one API call through the cosocket transport to
-- the stand-in (scripted to answer after 1 s), and /fast, which answers at
-- once. 10 clients hit /slow at the same time; 0.2 s later one hits /fast.
-- Blocking calls would take 10 s in all and keep /fast waiting; cosockets
-- take ~1 s and /fast answers in about a millisecond. Three rounds, the
-- medians; then one round of the same location with transport = "curl"
-- (libcurl inside nginx blocks the worker), the baseline. Needs
-- OPENAI_STANDIN_URL (bench/nginx.sh starts the stand-in) and
-- build/luajit/openai/core.so. Prints key=value.
local H = require "support.helper"
local nginx = require "support.nginx"
local socket = require "socket"

local ROUNDS, CALLS = 3, 10

local srv = nginx.start{ locations = ([[
  location = /slow { content_by_lua_block {
    local openai = require "openai"
    local client = openai.new{ api_key = "sk-bench-0123456789abcdef0123456789abcdef0123456789ab",
                               base_url = "BASE", max_retries = 0 }
    local res, err = client:request{ url = "/echo" }
    ngx.say(res and "ok" or tostring(err)) } }
  location = /slow_curl { content_by_lua_block {
    local openai = require "openai"
    local client = openai.new{ api_key = "sk-bench-0123456789abcdef0123456789abcdef0123456789ab",
                               base_url = "BASE", max_retries = 0, transport = "curl" }
    local res, err = client:request{ url = "/echo" }
    ngx.say(res and "ok" or tostring(err)) } }
  location = /fast { content_by_lua_block { ngx.say("fast") } }
]]):gsub("BASE", H.base) }

local function open(path)
  local c = assert(socket.tcp())
  c:settimeout(30)
  assert(c:connect("127.0.0.1", srv.port))
  assert(c:send("GET " .. path .. " HTTP/1.0\r\nHost: localhost\r\n\r\n"))
  return c
end

local function body(c)
  local data = assert(c:receive("*a"))
  c:close()
  return data:match("\r\n\r\n(.*)$")
end

-- one round: seconds for the 10 slow calls, ms for /fast meanwhile
local function round(slow_path)
  local slow = {}
  for i = 1, CALLS do slow[i] = { delay_ms = 1000, json = { ok = true } } end
  H.reset()
  H.script("/v1/echo", slow)
  local t0 = socket.gettime()
  local cs = {}
  for i = 1, CALLS do cs[i] = open(slow_path) end
  socket.sleep(0.2)
  local f0 = socket.gettime()
  assert(body(open("/fast")) == "fast\n", "/fast did not answer")
  local fast_ms = (socket.gettime() - f0) * 1000
  for i = 1, CALLS do
    local b = body(cs[i])
    assert(b == "ok\n", "/slow answered " .. tostring(b) .. "\n" .. srv:error_log())
  end
  return socket.gettime() - t0, fast_ms
end

local function median(t)
  table.sort(t)
  return t[(#t + 1) / 2]
end

local totals, fasts = {}, {}
for r = 1, ROUNDS do totals[r], fasts[r] = round("/slow") end
local curl_total, curl_fast = round("/slow_curl")
srv:stop()
print(("nginx_calls_s=%.3f"):format(median(totals)))
print(("nginx_fast_ms=%.2f"):format(median(fasts)))
print(("nginx_calls_s_runs=%s"):format(table.concat(totals, " ")))
print(("nginx_curl_calls_s=%.3f"):format(curl_total))
print(("nginx_curl_fast_ms=%.2f"):format(curl_fast))
