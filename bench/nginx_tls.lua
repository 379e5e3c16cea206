-- bench/nginx_tls.lua TLS_URL CLOSE_URL CA_FILE ACCESS_LOG: TLS handshakes of
-- the cosocket transport. Debian's nginx with the lua module
-- (spec/support/nginx.lua) serves /calls, which makes 100 calls one after
-- the other through the cosocket transport, trusting CA_FILE
-- (lua_ssl_trusted_certificate). The TLS server of bench/https.sh logs one
-- line per request ("$connection $ssl_session_reused ...") to ACCESS_LOG;
-- per 100 calls this counts the connections and how many of their TLS
-- sessions were resumed ("r"): against TLS_URL (keep-alive: the pool keeps
-- one connection) and against CLOSE_URL (the server closes every connection
-- after one answer, so every call needs a handshake). Prints key=value.
-- (support.nginx loads the spec helper, which wants a stand-in URL: bench/https.sh
-- gives it one that is never used)
local nginx = require "support.nginx"
local socket = require "socket"

local tls_url, close_url, ca_file, access_log = arg[1], arg[2], arg[3], arg[4]
local CALLS = 100

local srv = nginx.start{
  http = "  lua_ssl_trusted_certificate " .. ca_file .. ";\n  lua_ssl_verify_depth 3;",
  locations = [[
  location = /calls { content_by_lua_block {
    local openai = require "openai"
    local client = openai.new{ api_key = "sk-bench-0123456789abcdef0123456789abcdef0123456789ab",
                               base_url = ngx.unescape_uri(ngx.var.arg_base), max_retries = 0 }
    local msgs = { { role = "user", content = "hi" } }
    for _ = 1, tonumber(ngx.var.arg_n) do
      local res, err = client:chat{ messages = msgs }
      if not res then ngx.say(tostring(err)) return end
    end
    ngx.say("ok") } }
]] }

local function get(path)
  local c = assert(socket.tcp())
  c:settimeout(60)
  assert(c:connect("127.0.0.1", srv.port))
  assert(c:send("GET " .. path .. " HTTP/1.0\r\nHost: localhost\r\n\r\n"))
  local data = assert(c:receive("*a"))
  c:close()
  return data:match("\r\n\r\n(.*)$")
end

local function escape(s)
  return (s:gsub("[^%w%-%._~]", function(ch) return string.format("%%%02X", ch:byte()) end))
end

-- connections and resumed sessions of the requests logged while fn ran
local function count(base)
  local f = assert(io.open(access_log, "w")); f:close()
  local body = get("/calls?n=" .. CALLS .. "&base=" .. escape(base))
  if body ~= "ok\n" then error("bench: /calls failed: " .. tostring(body) .. srv:error_log(), 0) end
  local conns, resumed, lines = {}, 0, 0
  for line in io.lines(access_log) do
    local id, reused = line:match("^(%d+) (%S+)")
    if id then
      lines = lines + 1
      if not conns[id] then
        conns[id] = true
        if reused == "r" then resumed = resumed + 1 end
      end
    end
  end
  local n = 0
  for _ in pairs(conns) do n = n + 1 end
  if lines ~= CALLS then error("bench: the server logged " .. lines .. " requests, not " .. CALLS, 0) end
  return n, resumed
end

local ok, err = pcall(function()
  count(tls_url)    -- warm: the worker's first connection and session
  local n, r = count(tls_url)
  print("ngx_tls_keep_conns=" .. n)
  print("ngx_tls_keep_resumed=" .. r)
  n, r = count(close_url)
  print("ngx_tls_close_conns=" .. n)
  print("ngx_tls_close_resumed=" .. r)
  print("ngx_tls_close_full=" .. (n - r))
end)
srv:stop()
if not ok then error(err, 0) end
