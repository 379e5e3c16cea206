-- spec/https_spec.lua: the library over TLS and HTTP/2 on loopback. A real
-- nginx (spec/support/nginx.lua) with a certificate made here with openssl
-- proxies to the stand-in from two TLS servers: one `ssl http2`, one that
-- closes every connection after one answer (so every call needs a
-- handshake). Each logs one line per request: the connection's serial
-- number, whether its TLS session was resumed, the protocol. The specs
-- check what a user would see (answers, streams, a parallel batch) and
-- what the server saw: calls in flight share one HTTP/2 connection, and a
-- new connection resumes the TLS session of the one before, through libcurl
-- and through nginx's cosockets.
local H = require "support.helper"
local nginx = require "support.nginx"
local openai = require "openai"
local socket = require "socket"
local cjson = require "cjson"

local CHAT = "/v1/chat/completions"
local msgs = H.msgs

-- the requests logged since the log was emptied: { conn, resumed, protocol }.
-- nginx logs a request once its answer is sent, so a client may read the
-- answer before its line is written: wait (up to 5 s) for `want` lines
local function logged(path, want)
  local out
  local deadline = socket.gettime() + 5
  repeat
    out = {}
    for line in io.lines(path) do
      local conn, reused, proto = line:match("^(%d+) (%S+) (%S+)")
      if conn then out[#out + 1] = { conn = conn, resumed = reused == "r", protocol = proto } end
    end
    if #out >= want then break end
    socket.sleep(0.02)
  until socket.gettime() > deadline
  return out
end

-- how many distinct connections, and how many of them resumed a session
local function connections(lines)
  local seen, n, resumed = {}, 0, 0
  for _, l in ipairs(lines) do
    if not seen[l.conn] then
      seen[l.conn] = true
      n = n + 1
      if l.resumed then resumed = resumed + 1 end
    end
  end
  return n, resumed
end

describe("HTTPS and HTTP/2", function()
  local srv, dir, port, close_port, log_h2, log_close

  local function clear_logs()
    H.write_file(log_h2, "")
    H.write_file(log_close, "")
  end

  setup(function()
    dir = os.tmpname()
    os.remove(dir)
    assert(H.run("mkdir -p " .. dir))   -- nginx's workers run as us (spec/support/nginx.lua)
    assert(H.run(("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
      .. "-subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 "
      .. "-keyout %s/key.pem -out %s/cert.pem >/dev/null 2>&1"):format(dir, dir)))
    port, close_port = H.free_port(), H.free_port()
    log_h2, log_close = dir .. "/h2.log", dir .. "/close.log"
    local standin = H.url:match("^http://([^/]+)")
    local proxy = ("location / { proxy_pass http://%s; proxy_http_version 1.1; proxy_buffering off; "
      .. "proxy_set_header Connection \"\"; }"):format(standin)
    srv = nginx.start{
      http = table.concat({
        "  log_format conn '$connection $ssl_session_reused $server_protocol';",
        "  lua_ssl_trusted_certificate " .. dir .. "/cert.pem;",
        "  ssl_certificate " .. dir .. "/cert.pem;",
        "  ssl_certificate_key " .. dir .. "/key.pem;",
        "  ssl_session_cache shared:tls:1m;",
        ("  server { listen 127.0.0.1:%d ssl http2; access_log %s conn; %s }"):format(port, log_h2, proxy),
        ("  server { listen 127.0.0.1:%d ssl; keepalive_timeout 0; access_log %s conn; %s }")
          :format(close_port, log_close, proxy),
      }, "\n"),
      -- the cosocket transport: n chats to BASE, one after the other
      locations = [[
  location = /calls { content_by_lua_block {
    local openai = require "openai"
    local client = openai.new{ api_key = "sk-test", max_retries = 0,
                               base_url = ngx.unescape_uri(ngx.var.arg_base) }
    local said = {}
    for i = 1, tonumber(ngx.var.arg_n) do
      local res, err = client:chat{ messages = { { role = "user", content = "tls " .. i } } }
      if not res then ngx.say("error: ", tostring(err)) return end
      said[i] = res.choices[1].message.content
    end
    ngx.say(table.concat(said, "|")) } }
]],
    }
  end)

  teardown(function()
    if srv then srv:stop() end
    if dir then H.run("rm -rf " .. dir) end
  end)

  before_each(function()
    H.reset()
    clear_logs()
  end)

  local function client(host)
    return H.client{ base_url = ("https://%s:%d/v1"):format(host or "localhost", port),
                     ca_file = dir .. "/cert.pem" }
  end

  it("makes a chat call over HTTP/2, verifying the certificate against ca_file", function()
    local res, err, meta = client():chat{ messages = msgs("over tls") }
    assert.is_nil(err)
    assert.equal(200, meta.status)
    assert.is_string(res.choices[1].message.content)
    local lines = logged(log_h2, 1)
    assert.equal(1, #lines)
    assert.equal("HTTP/2.0", lines[1].protocol)
    assert.equal(1, H.requests_to(CHAT))
  end)

  it("sends a generation longer than the timeout once over HTTP/2, on a new or a shared connection", function()
    local c = H.client{ base_url = ("https://localhost:%d/v1"):format(port), ca_file = dir .. "/cert.pem",
                        timeout = 300 }                       -- max_retries 2, the default
    H.script(CHAT, { { delay_ms = 1500 }, { delay_ms = 1500 }, { delay_ms = 1500 } })
    local _, err = c:chat{ messages = msgs("slow") }
    assert.equal("timeout", err.kind)
    assert.equal(1, err.attempts)
    assert.equal("timeout", err.timeout_option)
    assert.equal(1, H.requests_to(CHAT))
    H.reset()
    assert(c:models())                                         -- a connection to share
    H.script(CHAT, { { delay_ms = 1500 }, { delay_ms = 1500 }, { delay_ms = 1500 } })
    _, err = c:chat{ messages = msgs("slow again") }
    assert.equal(1, err.attempts)
    assert.matches("^no complete response within 300 ms %(timeout = 300%); the request was sent", err.message)
    assert.equal(1, H.requests_to(CHAT))
    -- nginx logs an abandoned request when the stand-in answers it, 1.5 s
    -- on: wait for both (and the models call) so that no later spec's log
    -- counts them
    assert.equal(3, #logged(log_h2, 3))
  end)

  it("refuses a server whose certificate is not signed by a trusted CA", function()
    local other = os.tmpname()
    assert(H.run(("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
      .. "-subj /CN=localhost -keyout %s.key -out %s >/dev/null 2>&1"):format(other, other)))
    local c = H.client{ base_url = ("https://localhost:%d/v1"):format(port), ca_file = other,
                        max_retries = 0 }
    local res, err = c:chat{ messages = msgs("untrusted") }
    os.remove(other)
    os.remove(other .. ".key")
    assert.is_nil(res)
    assert.equal("connection", err.kind)
    assert.equal(0, H.requests_to(CHAT))
  end)

  it("streams a chat over HTTP/2 and assembles the result", function()
    local s, err = client():chat_stream{ messages = msgs("stream over tls") }
    assert.is_nil(err)
    local n = 0
    while true do
      local chunk = s:next()
      if not chunk then break end
      n = n + 1
    end
    assert.is_true(n > 1)
    local done = s:result()
    assert.is_string(done.choices[1].message.content)
    assert.equal("HTTP/2.0", logged(log_h2, 1)[1].protocol)
  end)

  it("runs a parallel batch whose calls in flight share one connection", function()
    local N = 12
    local responses = {}
    for i = 1, N do
      responses[i] = { delay_ms = 300, json = { id = "c" .. i, object = "chat.completion",
        choices = { { index = 0, finish_reason = "stop",
                      message = { role = "assistant", content = "answer " .. i } } } } }
    end
    H.script(CHAT, responses)
    -- 127.0.0.1: a host no earlier spec connected to, so nothing is pooled yet
    local c = client("127.0.0.1")
    local fns = {}
    for i = 1, N do fns[i] = function() return c:chat{ messages = msgs("p" .. i) } end end
    local results = openai.parallel(fns, { concurrency = N })
    local seen = {}
    for i = 1, N do
      assert.is_table(results[i][1], tostring(results[i][2]))
      seen[results[i][1].choices[1].message.content] = true
    end
    for i = 1, N do assert.is_true(seen["answer " .. i]) end
    -- the stand-in held every answer 300 ms: all N were in flight at once
    local lines = logged(log_h2, N)
    assert.equal(N, #lines)
    local conns = connections(lines)
    assert.equal(1, conns, "calls in flight opened " .. conns .. " connections")
  end)

  it("finishes calls on a connection whose stream is left unread meanwhile", function()
    local events, words = {}, {}
    for i = 1, 3000 do
      words[i] = ("w%04d"):format(i) .. string.rep(".", 90)
      events[i] = { data = { id = "s", object = "chat.completion.chunk", created = 1700000000, model = "m",
        choices = { { index = 0, delta = { content = words[i] }, finish_reason = cjson.null } } } }
    end
    events[#events + 1] = { data = "[DONE]" }
    H.script(CHAT, { { sse = events } })
    local c = client()
    local s = assert(c:chat_stream{ messages = msgs("long") })
    assert.equal(words[1], s:next().choices[1].delta.content)
    -- ~0.9 MB of events wait unread while six calls go over the connection
    local fns = {}
    for i = 1, 6 do fns[i] = function() return c:chat{ messages = msgs("beside " .. i) } end end
    local results = openai.parallel(fns, { concurrency = 6 })
    for i = 1, 6 do assert.is_table(results[i][1], tostring(results[i][2])) end
    local n = 1
    while true do
      local chunk = s:next()
      if not chunk then break end
      n = n + 1
      assert.equal(words[n], chunk.choices[1].delta.content)
    end
    assert.equal(3000, n)
    assert.equal(1, (connections(logged(log_h2, 7))))
  end)

  it("resumes the TLS session on libcurl's new connections, whichever handle opens them", function()
    local c = H.client{ base_url = ("https://localhost:%d/v1"):format(close_port),
                        ca_file = dir .. "/cert.pem" }
    assert.is_table((c:chat{ messages = msgs("first") }))
    -- then three at once (the stand-in holds each 200 ms): three handles,
    -- two of them new, each opening its own connection
    local held = {}
    for i = 1, 3 do held[i] = { delay_ms = 200, json = { id = "r" .. i, object = "chat.completion",
      choices = { { index = 0, finish_reason = "stop", message = { role = "assistant", content = "r" } } } } }
    end
    H.script(CHAT, held)
    local fn = function() return c:chat{ messages = msgs("again") } end
    local results = openai.parallel({ fn, fn, fn }, { concurrency = 3 })
    for i = 1, 3 do assert.is_table(results[i][1], tostring(results[i][2])) end
    local conns, resumed = connections(logged(log_close, 4))
    assert.equal(4, conns)
    assert.equal(3, resumed)
  end)

  it("resumes the TLS session when the nginx transport opens a new connection", function()
    local base = ("https://localhost:%d/v1"):format(close_port)
    local c = assert(socket.tcp())
    c:settimeout(30)
    assert(c:connect("127.0.0.1", srv.port))
    local esc = base:gsub("[^%w]", function(ch) return ("%%%02X"):format(ch:byte()) end)
    assert(c:send("GET /calls?n=4&base=" .. esc .. " HTTP/1.0\r\nHost: localhost\r\n\r\n"))
    local data = assert(c:receive("*a"))
    c:close()
    local body = data:match("\r\n\r\n(.*)$")
    assert.is_nil(body:match("^error"), body .. srv:error_log())
    local said = 0
    for _ in body:gmatch("[^|\n]+") do said = said + 1 end
    assert.equal(4, said)
    local conns, resumed = connections(logged(log_close, 4))
    assert.equal(4, conns)
    assert.is_true(resumed >= 3, "resumed " .. resumed .. " of 4")
    assert.equal(4, H.requests_to(CHAT))
  end)
end)
