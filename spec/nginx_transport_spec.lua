-- spec/nginx_transport_spec.lua: the cosocket transport (lua/openai/nginx.lua)
-- inside a real nginx (spec/support/nginx.lua: Debian's nginx with the lua
-- module, worker_processes 1), its locations using the library against the
-- stand-in: every seed action, streams relayed event by event, retries,
-- timeouts, errors, keepalive, a worker that is not blocked, the phase
-- error, TLS through a second server block with a self-signed certificate.
local H = require "support.helper"
local nginx = require "support.nginx"
local socket = require "socket"
local cjson = require "cjson"

local KEY = "sk-" .. string.rep("Ab3dE", 9) .. "xyz"    -- 51 characters, legacy form

-- what every location starts with: the library and a client of the stand-in
local PRELUDE = [[
  local openai = require "openai"
  local cjson = require "cjson"
  local client = openai.new{ api_key = "$KEY", base_url = "$BASE", max_retries = 0 }
  local function show(res, err, meta)
    ngx.say(cjson.encode({ res = res, err = err and { kind = err.kind, message = err.message,
      status = err.status, attempts = err.attempts, code = err.code,
      timeout_option = err.timeout_option, timeout_ms = err.timeout_ms } or nil,
      status = meta and meta.status, request_id = meta and meta.request_id }))
  end
]]

local LOCATIONS = [[
  location = /chat { content_by_lua_block { $PRELUDE
    show(client:chat{ messages = { { role = "user", content = "Hello there" } } }) } }
  location = /image { content_by_lua_block { $PRELUDE
    show(client:image{ prompt = "a red cat" }) } }
  location = /response { content_by_lua_block { $PRELUDE
    show(client:response{ input = "Hello there" }) } }
  location = /model { content_by_lua_block { $PRELUDE
    show(client:model("gpt-4.1")) } }
  location = /models { content_by_lua_block { $PRELUDE
    show(client:models()) } }
  location = /request { content_by_lua_block { $PRELUDE
    show(client:request{ url = "/echo", method = "POST", data = { a = 1 } }) } }
  location = /multipart { content_by_lua_block { $PRELUDE
    show(client:request{ url = "/echo", method = "POST", form = { purpose = "test" },
                         files = { file = "some\r\nbytes\0here" }, file_names = { file = "a.bin" } }) } }
  location = /chat_stream { content_by_lua_block { $PRELUDE
    local s = assert(client:chat_stream{ messages = { { role = "user", content = "one two three four" } } })
    local n = 0
    while true do
      local chunk = s:next()
      if not chunk then break end
      n = n + 1
    end
    ngx.say(n, " ", s:text()) } }
  location = /response_stream { content_by_lua_block { $PRELUDE
    local s = assert(client:response_stream{ input = "one two three" })
    local n = 0
    while s:next() do n = n + 1 end
    ngx.say(n, " ", s:result().status, " ", s:text()) } }
  location = /relay { content_by_lua_block { $PRELUDE
    local s = assert(client:chat_stream{ messages = { { role = "user", content = "a b c d e" } } })
    while true do
      local chunk = s:next()
      if not chunk then break end
      local d = chunk.choices[1] and chunk.choices[1].delta.content
      if d then
        ngx.print("data: ", cjson.encode({ d = d }), "\n\n")
        ngx.flush(true)
      end
    end
    ngx.print("data: [DONE]\n\n") } }
  location = /retry { content_by_lua_block { $PRELUDE
    local c = openai.new{ api_key = "$KEY", base_url = "$BASE", max_retries = 2 }
    show(c:chat{ messages = { { role = "user", content = "hi" } } }) } }
  location = /timeout { content_by_lua_block { $PRELUDE
    show(client:chat{ messages = { { role = "user", content = "hi" } }, timeout = 300 }) } }
  location = /timeouts { content_by_lua_block { $PRELUDE
    local case = ngx.var.arg_case
    local c = openai.new{ api_key = "$KEY", base_url = "$BASE", timeout = 300 }   -- max_retries 2
    local raw = { url = "/chat/completions", method = "POST", data = { model = "m" }, max_retries = 2 }
    if case == "long" then show(c:chat{ messages = { { role = "user", content = "a long story" } } })
    elseif case == "long_retry" then raw.retry_timeouts = true; show(c:request(raw))
    elseif case == "stream" then show(c:chat_stream{ messages = { { role = "user", content = "hi" } } })
    elseif case == "reset" then raw.timeout = 5000; show(c:request(raw))
    elseif case == "connect" then
      local u = openai.new{ api_key = "$KEY", base_url = "$UNANSWERED", connect_timeout = 150, max_retries = 1 }
      show(u:models())
    elseif case == "send" then     -- 16 MB to a server that reads nothing: never sent whole
      local u = openai.new{ api_key = "$KEY", base_url = "$UNREAD", timeout = 300 }
      show(u:request{ url = "/echo", method = "POST", data = string.rep("x", 16 * 2 ^ 20), max_retries = 1 })
    end } }
  location = /refused { content_by_lua_block { $PRELUDE
    local c = openai.new{ api_key = "$KEY", base_url = "$CLOSED", max_retries = 0 }
    show(c:models()) } }
  location = /slow { content_by_lua_block { $PRELUDE
    show(client:request{ url = "/echo" }) } }
  location = /fast { content_by_lua_block { ngx.say("fast") } }
  location = /maps { content_by_lua_block { $PRELUDE
    local res, err = client:models()
    local f = assert(io.open("/proc/self/maps"))
    local maps = f:read("*a")
    f:close()
    ngx.say(res and "ok" or err.message, " ", maps:find("libcurl", 1, true) and "curl" or "nocurl",
            " ", package.loaded["openai.core"] and "core" or "nocore") } }
  location = /parallel { content_by_lua_block { $PRELUDE
    local t0 = ngx.now()
    local fns = {}
    for i = 1, 4 do
      fns[i] = function()
        local res, err = client:request{ url = "/echo" }
        return i, res and "ok" or err.message
      end
    end
    local r = openai.parallel(fns, { concurrency = 4 })
    ngx.update_time()
    ngx.say(#r, " ", r[1][1], r[1][2], " ", r[4][1], r[4][2], " ",
            ngx.now() - t0 < 1.8 and "overlapped" or "serial") } }
  location = /spawn { content_by_lua_block { $PRELUDE
    local task = openai.spawn(function() return client:model("gpt-4.1") end)
    while openai.step(10) > 0 do end
    local m, err = task:result()
    ngx.say(m and m.id or err.message) } }
  location = /curl { content_by_lua_block { $PRELUDE
    local c = openai.new{ api_key = "$KEY", base_url = "$BASE", transport = "curl" }
    local m = c:model("gpt-4.1")
    local f = assert(io.open("/proc/self/maps"))
    local maps = f:read("*a")
    f:close()
    ngx.say(m.id, " ", package.loaded["openai.core"] and "core" or "nocore", " ",
            maps:find("libcurl", 1, true) and "curl" or "nocurl") } }
  location = /stream_result { content_by_lua_block { $PRELUDE
    local flat = ngx.var.arg_flat == "1"
    local s = assert(client:chat_stream{ messages = { { role = "user", content = "two plus two" } },
                                         accumulate = not flat })
    local ok, err = pcall(function() while s:next() do end end)
    if not ok then
      return ngx.say(cjson.encode({ events = s.events, err = { kind = err.kind, message = err.message } }))
    end
    local r = not flat and s:result() or nil
    ngx.say(cjson.encode({ events = s.events, text = s:text(), res = r })) } }
  location = /stream_idle { content_by_lua_block { $PRELUDE
    local s = assert(client:chat_stream{ messages = { { role = "user", content = "hi" } }, idle_timeout = 300 })
    local ok, err = pcall(function() while s:next() do end end)
    ngx.say(s.events, " ", err.kind, " ", err.message) } }
  location = /too_large { content_by_lua_block { $PRELUDE
    show(client:request{ url = "/models", max_response_bytes = 10 }) } }
  location = /files { content_by_lua_block {
    local nx = require "openai.nginx"
    local dir = "$DIR"
    local t = nx.submit({ method = "GET", url = "$BASE/models", headers = { "Authorization: Bearer $KEY" },
                          to_path = dir .. "/models.json", timeout = 5000 }, "spec")
    t:await()
    local r = t:result()
    if r.kind or r.status ~= 200 then return ngx.say(r.status, " ", r.kind, " ", r.message) end
    local f = assert(io.open(dir .. "/models.json"))
    local saved = f:read("*a")
    f:close()
    ngx.say(r.status, " ", r.written, " ", #saved, " ", r.body == "" and "empty" or "body")
    f = assert(io.open(dir .. "/upload.bin", "wb"))
    f:write(string.rep("0123456789", 20000))
    f:close()
    t = nx.submit({ method = "POST", url = "$BASE/echo", headers = { "Authorization: Bearer $KEY" }, timeout = 5000,
                    parts = { { name = "purpose", data = "x" }, { name = "file", path = dir .. "/upload.bin" } } }, "spec")
    t:await()
    ngx.say(t:result().status)
    t = nx.submit({ method = "POST", url = "$BASE/echo", headers = { "Authorization: Bearer $KEY" }, timeout = 5000,
                    parts = { { name = "file", path = dir .. "/missing.bin" } } }, "spec")
    t:await()
    r = t:result()
    ngx.say(r.kind, " ", r.message) } }
  location = /phase {
    content_by_lua_block { ngx.say("body") }
    log_by_lua_block { $PRELUDE
      local ok, err = pcall(client.models, client)
      ngx.log(ngx.WARN, "PHASE-ERROR: ", tostring(err)) } }
  location = /tls_ok { content_by_lua_block { $PRELUDE
    local c = openai.new{ api_key = "$KEY", base_url = "https://localhost:$TLSPORT/v1", max_retries = 0 }
    show(c:model("gpt-4.1")) } }
  location = /tls_bad { content_by_lua_block { $PRELUDE
    local c = openai.new{ api_key = "$KEY", base_url = "https://127.0.0.1:$TLSPORT/v1", max_retries = 0 }
    show(c:model("gpt-4.1")) } }
]]

-- GET path on srv: status, body (read to its end over one connection)
local function get(srv, path, timeout)
  local c = assert(socket.tcp())
  c:settimeout(timeout or 20)
  assert(c:connect("127.0.0.1", srv.port))
  assert(c:send("GET " .. path .. " HTTP/1.0\r\nHost: localhost\r\n\r\n"))
  local data = c:receive("*a")
  c:close()
  local status = tonumber(data:match("^HTTP/1%.%d (%d+)"))
  return status, data:match("\r\n\r\n(.*)$")
end

local function get_json(srv, path)
  local status, body = get(srv, path)
  assert.equal(200, status, srv:error_log())
  local ok, v = pcall(cjson.decode, body)
  assert(ok, path .. " answered " .. tostring(body) .. "\n" .. srv:error_log())
  return v
end

describe("the nginx cosocket transport", function()
  local srv, dir, tls_port, close_unanswered, close_unread

  setup(function()
    dir = os.tmpname()
    os.remove(dir)
    assert(H.run("mkdir -p " .. dir))   -- nginx's workers run as us (spec/support/nginx.lua)
    -- a self-signed certificate for "localhost", the CA nginx trusts
    assert(H.run(("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost "
      .. "-addext subjectAltName=DNS:localhost -keyout %s/key.pem -out %s/cert.pem >/dev/null 2>&1")
      :format(dir, dir)))
    tls_port = H.free_port()
    local standin = H.url:match("^http://([^/]+)")
    local unanswered, unread
    unanswered, close_unanswered = H.unanswered_url()
    unread, close_unread = H.unread_url()
    local subst = { KEY = KEY, BASE = H.base, CLOSED = H.closed_port_url(), TLSPORT = tostring(tls_port),
                    DIR = dir, UNANSWERED = unanswered, UNREAD = unread }
    local locations = LOCATIONS:gsub("%$PRELUDE", (PRELUDE:gsub("%%", "%%%%")))
    locations = locations:gsub("%$(%u+)", subst)
    srv = nginx.start{
      http = ("  lua_ssl_trusted_certificate %s/cert.pem;\n  lua_ssl_verify_depth 2;\n"
        .. "  server {\n    listen 127.0.0.1:%d ssl;\n    ssl_certificate %s/cert.pem;\n"
        .. "    ssl_certificate_key %s/key.pem;\n    location / { proxy_pass http://%s; }\n  }\n")
        :format(dir, tls_port, dir, dir, standin),
      locations = locations,
    }
  end)

  teardown(function()
    if srv then srv:stop() end
    if dir then H.run("rm -rf " .. dir) end
    if close_unanswered then close_unanswered() end
    if close_unread then close_unread() end
  end)

  before_each(function() H.reset() end)

  it("makes every seed action over cosockets", function()
    local r = get_json(srv, "/chat")
    assert.equal("chat.completion", r.res.object, cjson.encode(r))
    assert.equal(200, r.status)
    local rec = H.last()
    assert.equal("/v1/chat/completions", rec.path)
    assert.equal("Bearer " .. KEY, rec.headers.authorization)
    assert.matches("nginx/%d+%.%d+%.%d+", rec.headers["user-agent"])
    assert.equal("image", (get_json(srv, "/image").res.data and "image"))
    assert.equal("response", get_json(srv, "/response").res.object)
    assert.equal("gpt-4.1", get_json(srv, "/model").res.id)
    assert.equal("list", get_json(srv, "/models").res.object)
    r = get_json(srv, "/request")
    assert.equal("POST", r.res.method)
    assert.same({ a = 1 }, r.res.json, cjson.encode(r.res))
  end)

  it("sends a multipart body built in Lua", function()
    local r = get_json(srv, "/multipart")
    assert.is_nil(r.err)
    local rec = H.last()
    assert.matches("^multipart/form%-data; boundary=", rec.headers["content-type"])
    local body = H.body_bytes(rec)
    assert.truthy(body:find('name="purpose"\r\n\r\ntest\r\n', 1, true), body)
    assert.truthy(body:find('name="file"; filename="a.bin"\r\nContent-Type: application/octet-stream\r\n\r\n'
                            .. "some\r\nbytes\0here\r\n", 1, true), body)
  end)

  it("reads chat and Responses streams", function()
    local status, body = get(srv, "/chat_stream")
    assert.equal(200, status, srv:error_log())
    local n, text = body:match("^(%d+) (.*)\n$")
    assert.truthy(tonumber(n) >= 4, body)
    assert.truthy(#text > 0)
    status, body = get(srv, "/response_stream")
    assert.equal(200, status, srv:error_log())
    assert.matches("^%d+ completed .+\n$", body)
  end)

  it("relays a stream to the HTTP client event by event", function()
    H.script("/v1/chat/completions", { { sse_delay_ms = 600, sse = {
      '{"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"one"}}]}',
      '{"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"two"}}]}',
      "[DONE]" } } })
    local c = assert(socket.tcp())
    c:settimeout(10)
    assert(c:connect("127.0.0.1", srv.port))
    -- HTTP/1.1: nginx buffers whole responses to HTTP/1.0 clients (lua_http10_buffering)
    assert(c:send("GET /relay HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"))
    local t0 = socket.gettime()
    local got, first_at = "", nil
    while not got:find("[DONE]", 1, true) do
      local data, err, partial = c:receive(1)
      data = data or partial
      if not data or data == "" then error("read: " .. tostring(err) .. " after " .. got) end
      got = got .. data
      if not first_at and got:find('data: {"d":"one"}', 1, true) then first_at = socket.gettime() end
    end
    local done_at = socket.gettime()
    c:close()
    assert.truthy(first_at, got)
    assert.truthy(got:find('data: {"d":"two"}', 1, true), got)
    -- the first event reached us before the server sent the second
    assert.truthy(done_at - first_at > 0.3, ("first at %.2f, done at %.2f"):format(first_at - t0, done_at - t0))
  end)

  it("retries a 500 after a wait, then succeeds", function()
    H.script("/v1/chat/completions", { { status = 500, json = { error = { message = "boom" } } } })
    local r = get_json(srv, "/retry")
    assert.equal("chat.completion", r.res and r.res.object, cjson.encode(r))
    assert.equal(2, #H.requests())
  end)

  it("ends a call slower than its timeout with kind timeout", function()
    H.script("/v1/chat/completions", { { delay_ms = 2000, json = { ok = true } } })
    local t0 = socket.gettime()
    local r = get_json(srv, "/timeout")
    assert.equal("timeout", r.err and r.err.kind, cjson.encode(r))
    assert.truthy(socket.gettime() - t0 < 1.8)
  end)

  it("sends a generation longer than the timeout once, unless retry_timeouts asks", function()
    local CHAT = "/v1/chat/completions"
    local slow = { { delay_ms = 1500 }, { delay_ms = 1500 }, { delay_ms = 1500 } }
    H.script(CHAT, slow)
    local r = get_json(srv, "/timeouts?case=long")
    assert.equal("timeout", r.err and r.err.kind, cjson.encode(r))
    assert.equal(1, r.err.attempts)
    assert.equal(1, H.requests_to(CHAT))
    assert.equal("timeout", r.err.timeout_option)
    assert.equal(300, r.err.timeout_ms)
    assert.equal("no complete response within 300 ms (timeout = 300); the request was sent, so it was "
                 .. "not sent again (retry_timeouts = true retries it)", r.err.message)
    H.reset()
    H.script(CHAT, slow)
    r = get_json(srv, "/timeouts?case=long_retry")
    assert.equal(3, r.err.attempts, cjson.encode(r))
    assert.equal(3, H.requests_to(CHAT))
    assert.equal("no complete response within 300 ms (timeout = 300)", r.err.message)
    H.reset()
    H.script(CHAT, { { fault = "hang", hang_ms = 1500 }, { fault = "hang", hang_ms = 1500 } })
    r = get_json(srv, "/timeouts?case=stream")
    assert.equal(1, r.err.attempts, cjson.encode(r))
    assert.equal(1, H.requests_to(CHAT))
    assert.matches("^no response headers within 300 ms %(timeout = 300%); the request was sent", r.err.message)
  end)

  it("retries a connect timeout, a timeout while sending and a reset after the request was sent", function()
    local r = get_json(srv, "/timeouts?case=connect")
    assert.equal("timeout", r.err and r.err.kind, cjson.encode(r))
    assert.equal(2, r.err.attempts)
    assert.equal("connect_timeout", r.err.timeout_option)
    assert.equal(150, r.err.timeout_ms)
    assert.equal("could not connect within 150 ms (connect_timeout = 150)", r.err.message)
    r = get_json(srv, "/timeouts?case=send")
    assert.equal(2, r.err and r.err.attempts, cjson.encode(r))
    assert.equal("could not send the request within 300 ms (timeout = 300)", r.err.message)
    H.script("/v1/chat/completions", { { fault = "reset" }, { status = 200 } })
    r = get_json(srv, "/timeouts?case=reset")
    assert.is_nil(r.err, cjson.encode(r))
    assert.equal(2, H.requests_to("/v1/chat/completions"))
  end)

  it("gives err.message the words of every compatible server's error body", function()
    for _, row in ipairs(require "support.error_shapes") do
      H.script("/v1/models", { { status = row.status, error_shape = row.shape, message = row.message } })
      local r = get_json(srv, "/models")
      assert.equal(row.status, r.err and r.err.status, cjson.encode(r))
      assert.equal(row.want, r.err.message)
      if row.code then assert.equal(row.code, r.err.code) end
    end
  end)

  it("returns API errors with their body, refused connections and bad JSON", function()
    H.script("/v1/chat/completions", { { status = 400, json = { error = {
      message = "bad model", type = "invalid_request_error" } } } })
    local r = get_json(srv, "/chat")
    assert.same({ kind = "api", message = "bad model", status = 400, attempts = 1 }, r.err)
    r = get_json(srv, "/refused")
    assert.equal("connection", r.err.kind)
    assert.matches("cannot connect", r.err.message)
    H.script("/v1/models", { { body = "{not json", ctype = "application/json" } })
    r = get_json(srv, "/models")
    assert.equal("decode", r.err.kind)
  end)

  it("assembles reasoning and Azure's fields, ends a clean stream without [DONE], refuses a cut one", function()
    H.script("/v1/chat/completions", { { shape = "deepseek" } })
    local r = get_json(srv, "/stream_result")
    assert.is_nil(r.err, cjson.encode(r))
    assert.equal("Thinking about: two plus two", r.res.choices[1].message.reasoning_content)
    assert.equal("You said: two plus two", r.res.choices[1].message.content)
    H.script("/v1/chat/completions", { { shape = "azure" } })
    r = get_json(srv, "/stream_result")
    assert.equal("You said: two plus two", r.text, cjson.encode(r))
    assert.equal(0, r.res.prompt_filter_results[1].prompt_index)
    assert.equal("safe", r.res.choices[1].content_filter_results.hate.severity)
    for _, q in ipairs({ "", "?flat=1" }) do
      H.script("/v1/chat/completions", { { shape = "no_done" } })
      r = get_json(srv, "/stream_result" .. q)
      assert.is_nil(r.err, cjson.encode(r))
      assert.equal(q == "" and "You said: two plus two" or "", r.text)
      H.script("/v1/chat/completions", { { shape = "no_done", cut_after = 3 } })
      r = get_json(srv, "/stream_result" .. q)
      assert.equal(3, r.events)
      assert.same({ kind = "stream",
                    message = "the stream ended before [DONE] (and before every choice had its finish_reason)" }, r.err)
      H.script("/v1/chat/completions", { { shape = "no_done", sse_end = "close" } })
      r = get_json(srv, "/stream_result" .. q)
      assert.equal("stream", r.err and r.err.kind, cjson.encode(r))
    end
  end)

  it("ends a silent stream with kind timeout, a large body with kind too_large", function()
    H.script("/v1/chat/completions", { { sse_delay_ms = 1000, sse = {
      '{"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"one"}}]}',
      "[DONE]" } } })
    local status, body = get(srv, "/stream_idle")
    assert.equal(200, status, srv:error_log())
    assert.equal("1 timeout the stream was silent for 300 ms (idle_timeout = 300)\n", body)
    local r = get_json(srv, "/too_large")
    assert.equal("too_large", r.err.kind)
    assert.matches("max_response_bytes %(10%)", r.err.message)
  end)

  it("writes a body to a file, streams a part from a file, says kind io for a missing one", function()
    local status, body = get(srv, "/files")
    assert.equal(200, status, srv:error_log())
    local lines = {}
    for l in body:gmatch("[^\n]+") do lines[#lines + 1] = l end
    local st, written, saved, kept = lines[1]:match("^(%d+) (%d+) (%d+) (%a+)$")
    assert.equal("200", st, body)
    assert.equal(written, saved)
    assert.truthy(tonumber(saved) > 100)
    assert.equal("empty", kept)
    assert.equal("200", lines[2])
    local rec = H.requests()[2]
    local bytes = H.body_bytes(rec)
    assert.truthy(bytes:find('name="file"; filename="upload.bin"\r\nContent-Type: application/octet-stream\r\n\r\n'
                             .. string.rep("0123456789", 20000) .. "\r\n--", 1, true))
    assert.matches("^io cannot open the file '.*/missing%.bin'", lines[3])
  end)

  it("keeps connections in nginx's pool", function()
    for _ = 1, 4 do get_json(srv, "/models") end
    local st = H.stats()
    assert.equal(4, st.requests)
    assert.equal(1, st.connections)
  end)

  it("does not block the worker: 10 calls of 1 s overlap, a fast location answers meanwhile", function()
    local slow = {}
    for i = 1, 10 do slow[i] = { delay_ms = 1000, json = { ok = true } } end
    H.script("/v1/echo", slow)
    local co = {}
    local t0 = socket.gettime()
    for i = 1, 10 do
      local c = assert(socket.tcp())
      c:settimeout(20)
      assert(c:connect("127.0.0.1", srv.port))
      assert(c:send("GET /slow HTTP/1.0\r\nHost: localhost\r\n\r\n"))
      co[i] = c
    end
    socket.sleep(0.2)
    local f0 = socket.gettime()
    local status, body = get(srv, "/fast")
    local fast = socket.gettime() - f0
    assert.equal(200, status)
    assert.equal("fast\n", body)
    for i = 1, 10 do
      local data = co[i]:receive("*a")
      co[i]:close()
      assert.matches('"res":{"ok":true}', data)
    end
    local total = socket.gettime() - t0
    print(("\n  nginx: 10 x 1 s calls on one worker: %.2f s total; /fast meanwhile: %.1f ms"):format(total, fast * 1000))
    assert.truthy(total < 5, total)
    assert.truthy(fast < 0.5, fast)
  end)

  it("runs openai.parallel and openai.spawn on light threads", function()
    local four = {}
    for i = 1, 4 do four[i] = { delay_ms = 500, json = { ok = true } } end
    H.script("/v1/echo", four)
    local status, body = get(srv, "/parallel")
    assert.equal(200, status, srv:error_log())
    assert.equal("4 1ok 4ok overlapped\n", body)
    status, body = get(srv, "/spawn")
    assert.equal(200, status, srv:error_log())
    assert.equal("gpt-4.1\n", body)
  end)

  it("never loads libcurl for cosocket calls; transport = \"curl\" still works", function()
    local status, body = get(srv, "/maps")
    assert.equal(200, status, srv:error_log())
    assert.equal("ok nocurl nocore\n", body)
    status, body = get(srv, "/curl")
    assert.equal(200, status, srv:error_log())
    assert.equal("gpt-4.1 core curl\n", body)      -- so the check above can tell
  end)

  it("refuses a call in a phase without cosockets, naming it", function()
    local status = get(srv, "/phase")
    assert.equal(200, status)
    local log
    for _ = 1, 50 do
      log = srv:error_log()
      if log:find("PHASE-ERROR", 1, true) then break end
      socket.sleep(0.05)
    end
    assert.matches("PHASE%-ERROR: openai.models: nginx's log phase cannot make network calls", log)
    assert.matches("ngx.timer.at", log)
  end)

  it("verifies TLS against lua_ssl_trusted_certificate and refuses a name that does not match", function()
    local r = get_json(srv, "/tls_ok")
    assert.equal("gpt-4.1", r.res and r.res.id, cjson.encode(r) .. srv:error_log())
    r = get_json(srv, "/tls_bad")
    assert.equal("connection", r.err and r.err.kind, cjson.encode(r))
    assert.matches("TLS with 127%.0%.0%.1:%d+ failed", r.err.message)
  end)
end)

describe("the transport option outside nginx", function()
  it("is checked: \"nginx\" needs nginx, anything else is refused", function()
    local openai = require "openai"
    local err = H.raises(openai.new, { api_key = KEY, transport = "nginx" })
    assert.matches("^openai.new: 'transport' \"nginx\" needs nginx's lua module", err)
    err = H.raises(openai.new, { api_key = KEY, transport = "socket" })
    assert.equal("openai.new: 'transport' must be \"curl\" or \"nginx\" (got 'socket')", err)
    assert.equal("curl", openai.new{ api_key = KEY }.transport)
  end)

  -- what a fresh interpreter of the suite's Lua prints running script
  -- (stderr too); under make check its leak check is off (LeakSanitizer's
  -- tracer has crashed at such a child's exit, and what is loaded when is
  -- the point here)
  local function fresh_lua(script)
    local p = assert(io.popen("ASAN_OPTIONS=detect_leaks=0 " .. H.lua .. " -e '" .. script .. "' 2>&1"))
    local out = p:read("*a")
    p:close()
    return out
  end

  it("loads libcurl (openai.core) only when the engine is first used", function()
    local loaded = 'io.write(tostring(package.loaded["openai.core"] ~= nil), " ")'
    -- new{} with transport curl builds its User-Agent from curl_version: loaded then
    assert.equal("true true ", fresh_lua('local o = require "openai"; local c = o.new{ api_key = "x", '
      .. 'transport = "curl" }; ' .. loaded .. '; local _ = o.curl_version; ' .. loaded))
    assert.equal("false true ", fresh_lua('local o = require "openai"; ' .. loaded
      .. '; local _ = o.curl_version; ' .. loaded))
  end)

  it("compiles openai.stream and openai.batch_job only when a stream or a batch first needs them", function()
    local out = fresh_lua('local o = require "openai"; local function has(m) '
      .. 'io.write(tostring(package.loaded[m] ~= nil), " ") end; has("openai.stream"); '
      .. 'has("openai.batch_job"); local c = o.new{ api_key = "' .. KEY .. '", base_url = "'
      .. H.url .. '/v1" }; assert(c:chat{ messages = { { role = "user", content = "hi" } } }); '
      .. 'has("openai.stream"); local s = assert(c:chat_stream{ messages = { { role = "user", '
      .. 'content = "hi" } } }); s:close(); has("openai.stream"); has("openai.batch_job")')
    assert.equal("false false false true false ", out)
  end)
end)
