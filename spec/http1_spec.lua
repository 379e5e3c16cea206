-- spec/http1_spec.lua: the parsers a transport without curl feeds
-- (wire.http1, wire.sse) and the retry policy it decides with
-- (wire.retry_decide), on real responses of the stand-in read over a raw TCP
-- socket and handed over in random pieces, checked against what the libcurl
-- path gives for the same call.
local H = require "support.helper"
local wire = require "openai.wire"
local socket = require "socket"
local cjson = require "cjson"

local host, port = H.url:match("^http://([^:/]+):(%d+)")
port = tonumber(port)

local KEY = "sk-" .. string.rep("A1b2C3d4", 6)

-- a connection to the stand-in
local function connect()
  local s = assert(socket.tcp())
  s:settimeout(10)
  assert(s:connect(host, port))
  return s
end

local function request_bytes(method, path, body, extra)
  local lines = { method .. " " .. path .. " HTTP/1.1", "Host: " .. host .. ":" .. port,
                  "Authorization: Bearer " .. KEY }
  if body then
    lines[#lines + 1] = "Content-Type: application/json"
    lines[#lines + 1] = "Content-Length: " .. #body
  end
  for _, h in ipairs(extra or {}) do lines[#lines + 1] = h end
  return table.concat(lines, "\r\n") .. "\r\n\r\n" .. (body or "")
end

-- what is readable now, at most n bytes (as a cosocket's receiveany); nil at
-- the end of the connection
local function read_some(s, n)
  local r = socket.select({ s }, nil, 10)
  assert(r and r[1], "nothing to read within 10 s")
  s:settimeout(0)
  local data, err, partial = s:receive(n)
  s:settimeout(10)
  data = data or partial
  if data == "" and err == "closed" then return nil end
  return data
end

-- send one request on s and parse the response with wire.http1, reading
-- random piece sizes; stops when the parser says done or at the end
local function exchange(s, method, path, body, extra)
  assert(s:send(request_bytes(method, path, body, extra)))
  local p = wire.http1(method)
  local out = { body = {}, feeds = 0 }
  while true do
    local data = read_some(s, math.random(1, 40))
    local r, err, code
    if data then r, err, code = p:feed(data) else r, err, code = p:finish() end
    if not r then out.err, out.code = err, code; break end
    out.feeds = out.feeds + 1
    if r.head then out.status, out.head = r.status, r.head end
    if r.body then out.body[#out.body + 1] = r.body end
    if r.done then out.done, out.keepalive = true, r.keepalive; break end
    if not data then break end
  end
  out.body = table.concat(out.body)
  p:close()
  return out
end

local function sse_events(bytes)
  local s = wire.sse()
  local all = {}
  local i = 1
  while i <= #bytes do   -- random pieces too
    local n = math.random(1, 30)
    for _, ev in ipairs(assert(s:feed(bytes:sub(i, i + n - 1)))) do all[#all + 1] = ev end
    i = i + n
  end
  assert.is_false(s:pending())
  s:close()
  return all
end

describe("wire.http1 on the stand-in's responses", function()
  before_each(function()
    H.reset()
    math.randomseed(20240601)
  end)

  it("reads a Content-Length response as the libcurl path does, and keeps the connection", function()
    local plain = assert(H.client():request{ url = "/v1/models" })
    H.reset()
    local s = connect()
    local first = exchange(s, "GET", "/v1/models")
    local second = exchange(s, "GET", "/v1/models")
    s:close()
    for _, r in ipairs({ first, second }) do
      assert.is_nil(r.err)
      assert.equal(200, r.status)
      assert.is_true(r.done)
      assert.is_true(r.keepalive)
      assert.is_true(r.feeds > 10)   -- it did come in pieces
      local h = wire.parse_headers(r.head)
      assert.equal("application/json", h["content-type"]:match("^[^;]+"))
      assert.equal(tostring(#r.body), h["content-length"])
      assert.same(plain, cjson.decode(r.body))
    end
    assert.matches("^HTTP/1%.1 200 ", first.head)
    -- both requests went over one connection
    assert.equal(1, H.stats().connections)
  end)

  it("reads a chunked stream whose events match the libcurl path's", function()
    local body = cjson.encode({ model = "gpt-4.1", stream = true,
                                messages = { { role = "user", content = "one two three four" } } })
    local stream = assert(H.client():chat_stream{ model = "gpt-4.1",
      messages = { { role = "user", content = "one two three four" } } })
    local plain = {}
    for chunk in stream:each() do plain[#plain + 1] = chunk end
    stream:close()

    local s = connect()
    local r = exchange(s, "POST", "/v1/chat/completions", body)
    s:close()
    assert.is_nil(r.err)
    assert.equal(200, r.status)
    assert.equal("chunked", wire.parse_headers(r.head)["transfer-encoding"])
    assert.is_true(r.keepalive)
    local events = sse_events(r.body)
    assert.equal("[DONE]", events[#events].data)
    assert.equal(#plain, #events - 1)
    local text_plain, text_raw = {}, {}
    for i = 1, #plain do
      text_plain[i] = plain[i].choices[1] and plain[i].choices[1].delta.content or ""
      local c = cjson.decode(events[i].data)
      text_raw[i] = c.choices[1] and c.choices[1].delta.content or ""
      assert.equal("", events[i].event)
    end
    assert.same(text_plain, text_raw)
    assert.is_true(#table.concat(text_raw) > 0)
  end)

  it("reads a stream delimited by the end of the connection (HTTP/1.0) only at finish", function()
    H.script("/v1/chat/completions", { { sse = { { data = "a" }, { event = "x", data = "b" } } } })
    local s = connect()
    local req = request_bytes("POST", "/v1/chat/completions", "{}"):gsub("HTTP/1%.1", "HTTP/1.0", 1)
    assert(s:send(req))
    local p = wire.http1("POST")
    local got, fed_done = {}, false
    while true do
      local data = read_some(s, math.random(1, 10))
      if not data then break end
      local r = assert(p:feed(data))
      fed_done = fed_done or r.done == true
      if r.body then got[#got + 1] = r.body end
    end
    s:close()
    assert.is_false(fed_done)
    local r = assert(p:finish())
    assert.is_true(r.done)
    assert.is_false(r.keepalive)
    local events = sse_events(table.concat(got))
    assert.equal(2, #events)
    assert.equal("a", events[1].data)
    assert.equal("x", events[2].event)
    assert.equal("b", events[2].data)
  end)

  it("reads no body after HEAD though Content-Length says some", function()
    local s = connect()
    local r = exchange(s, "HEAD", "/v1/text")
    local again = exchange(s, "GET", "/v1/text")
    s:close()
    assert.is_true(r.done)
    assert.equal("", r.body)
    assert.is_true(tonumber(wire.parse_headers(r.head)["content-length"]) > 0)
    assert.is_true(r.keepalive)
    assert.equal(wire.parse_headers(r.head)["content-length"], tostring(#again.body))
  end)

  it("says truncated when the connection ends inside the body", function()
    H.script("/v1/models", { { body = string.rep("x", 1000), fault = "truncate" } })
    local s = connect()
    local r = exchange(s, "GET", "/v1/models")
    s:close()
    assert.equal("truncated", r.code)
    assert.equal("the connection closed before the response was complete", r.err)
    assert.equal(500, #r.body)
  end)

  it("says no_response when the connection ends before any byte", function()
    H.script("/v1/models", { { fault = "close" } })
    local s = connect()
    local r = exchange(s, "GET", "/v1/models")
    s:close()
    assert.equal("no_response", r.code)
    assert.is_nil(r.status)
  end)

  it("says connection: close means no keepalive", function()
    local s = connect()
    local r = exchange(s, "GET", "/v1/models", nil, { "Connection: close" })
    s:close()
    assert.is_true(r.done)
    assert.equal("close", wire.parse_headers(r.head)["connection"])
    assert.is_false(r.keepalive)
  end)
end)

describe("wire.http1 errors and caps", function()
  it("refuses conflicting lengths, bad chunks, long lines, with a message and a code", function()
    local function first_error(method, bytes, opts)
      local p = wire.http1(method, opts)
      local r, err, code = p:feed(bytes)
      p:close()
      assert.is_nil(r)
      return err, code
    end
    local _, code = first_error("GET", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n")
    assert.equal("bad_length", code)
    _, code = first_error("GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
    assert.equal("bad_chunk", code)
    _, code = first_error("GET", "HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n")
    assert.equal("bad_header", code)
    _, code = first_error("GET", "HTTP/1.1 200 OK\r\nX: " .. string.rep("y", 200) .. "\r\n\r\n",
                          { max_line = 100 })
    assert.equal("line_too_long", code)
    local err
    err, code = first_error("GET", "HTTP/1.1 200 OK\r\n" .. string.rep("X: y\r\n", 100) .. "\r\n",
                            { max_head = 300 })
    assert.equal("head_too_large", code)
    assert.equal("the response headers are larger than the limit", err)
    _, code = first_error("GET", "HTTP/2 200\r\n\r\n")
    assert.equal("bad_status", code)
  end)

  it("skips a 100 Continue, keeps one header block, and is closed for good", function()
    local p = wire.http1("POST")
    local r = assert(p:feed("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nA: 1\r\n"))
    assert.is_nil(r.head)
    r = assert(p:feed("Content-Length: 2\r\n\r\nok"))
    assert.equal(201, r.status)
    assert.equal("HTTP/1.1 201 Created\r\nA: 1\r\nContent-Length: 2\r\n", r.head)
    assert.equal("ok", r.body)
    assert.is_true(r.done and r.keepalive)
    assert.matches("openai.http1 %(201, done%)", tostring(p))
    p:close()
    p:close()
    assert.matches("closed", tostring(p))
    assert.has_error(function() p:feed("x") end, "openai.wire: the http1 parser is closed")
  end)
end)

describe("wire.sse", function()
  it("gives events in any split, keeps the id, and caps an event", function()
    local text = "event: a\ndata: 1\nid: 7\nretry: 10\n\n: c\ndata: 2\ndata: 3\n\n"
    local events = sse_events(text)
    assert.equal(2, #events)
    assert.same({ event = "a", data = "1", id = "7", retry = 10 }, events[1])
    assert.same({ event = "", data = "2\n3", id = "7", retry = 10 }, events[2])
    local s = wire.sse(64)
    assert.same({}, assert(s:feed("data: x")))
    assert.is_true(s:pending())
    local r, err, code = s:feed(string.rep("y", 100))
    assert.is_nil(r)
    assert.equal("too_large", code)
    assert.equal("an event of the stream is larger than max_event_bytes (64)", err)
    assert.is_nil((s:feed("\n\n")))   -- the error stays
    s:close()
  end)
end)

describe("wire.retry_decide", function()
  local SDK = { max_retries = 2, backoff = true, sdk_statuses = true }

  it("decides as the engine does", function()
    assert.same({ "yes", 500 }, { wire.retry_decide(SDK, { attempts = 1, status = 500, random = 0 }) })
    assert.same({ "yes", 1000 }, { wire.retry_decide(SDK, { attempts = 2, status = 503, random = 0 }) })
    assert.same({ "no", 0 }, { wire.retry_decide(SDK, { attempts = 3, status = 503 }) })
    assert.same({ "no", 0 }, { wire.retry_decide(SDK, { attempts = 1, status = 400 }) })
    assert.same({ "no", 0 }, { wire.retry_decide(SDK, { attempts = 1, status = 429,
                                                        insufficient_quota = true }) })
    assert.same({ "no", 0 }, { wire.retry_decide(SDK, { attempts = 1, status = 500,
                                                        headers = { ["x-should-retry"] = "false" } }) })
    assert.same({ "yes", 2000, 2000 }, { wire.retry_decide(SDK, { attempts = 1, status = 429,
                                                                  headers = { ["retry-after"] = "2" } }) })
    assert.same({ "yes", 250, 250 }, { wire.retry_decide(SDK, { attempts = 1, status = 429,
                                                                headers = { ["retry-after-ms"] = "250" } }) })
    local v, _, after = wire.retry_decide(SDK, { attempts = 1, status = 429, now = 784111777,
                                                 headers = { ["retry-after"] = "Sun, 06 Nov 1994 08:51:17 GMT" } })
    assert.equal("too_long", v)
    assert.equal(100000, after)   -- 100 s after now
    local d
    v, d = wire.retry_decide({ max_retries = 1, delay = 30 }, { attempts = 1, transport_error = true })
    assert.same({ "yes", 30 }, { v, d })
    v, d = wire.retry_decide(SDK, { attempts = 1, status = 500 })   -- our own jitter
    assert.equal("yes", v)
    assert.is_true(d >= 375 and d <= 500)
    assert.has_error(function() wire.retry_decide(SDK, { attempts = "1" }) end,
                     "openai.wire.retry_decide: field 'attempts' must be a number")
  end)

  it("reports the same Retry-After as the libcurl path", function()
    H.reset()
    H.script("/v1/models", { { status = 429, headers = { ["retry-after"] = "120" } } })
    local res, err = H.client():request{ url = "/v1/models", max_retries = 2 }
    assert.is_nil(res)
    local v, _, after = wire.retry_decide({ max_retries = 2 }, { attempts = 1, status = 429,
                                          headers = { ["retry-after"] = "120" } })
    assert.equal("no", v)   -- a raw request retries 5xx only
    assert.equal(err.retry_after * 1000, after)
    H.script("/v1/models", { { status = 503, headers = { ["retry-after"] = "120" } } })
    local meta
    res, err, meta = H.client():request{ url = "/v1/models", max_retries = 2 }
    assert.is_nil(res)
    assert.equal(1, meta.attempts)   -- too long a wait: given up at once
    v, _, after = wire.retry_decide({ max_retries = 2 }, { attempts = 1, status = 503,
                                    headers = { ["retry-after"] = "120" } })
    assert.equal("too_long", v)
    assert.equal(err.retry_after * 1000, after)
  end)
end)
