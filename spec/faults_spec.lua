-- The fault matrix: every fault the network or the server can
-- throw, scripted on the stand-in, each row run three ways:
--
--   plain     client:chat{...}
--   stream    client:chat_stream{...}, read with `for ... in s:each()` in pcall
--   parallel  client:chat{...} inside openai.parallel, beside a healthy call
--             that must succeed in the same batch
--
-- A row states the exact outcome: a success after N attempts, or an error
-- object with its kind, status and attempts (and type, code, param, message,
-- retry_after where they matter). After every run no transfer may be left
-- alive in the engine (openai.stats().live == 0, checked without forcing a
-- garbage collection: a finished call must free its transfer by itself).
--
-- Timing bounds: a timeout must fire on time: not before it (-10 ms for the
-- clock and curl's rounding), and at most 10 % late plus SLACK. SLACK
-- (150 ms) is what a loaded machine may add between the timer firing and the
-- call returning (thread wake-ups of the stand-in and of the engine, a busy
-- CI host, `make check` under ASan). Measured overshoot, 5 runs of each timed
-- case: 0 to 6 ms on an idle machine, at most 9 ms with both CPUs
-- oversubscribed twice over. A timer that does not fire on its own (caught
-- only by the engine's 1 s poll cap) overshoots by far more.

local H = require "support.helper"
local openai = require "openai"
local cjson = require "cjson"
local socket = require "socket"

local SLACK = 150
local CHAT = "/v1/chat/completions"
local ANSWER = "You said: hi"

-- {=================================================================
-- helpers
-- ==================================================================

-- a scripted status that asks for a short wait, so retries are quick
local function quick(status, extra)
  local r = { status = status, headers = { ["retry-after-ms"] = "10" } }
  for k, v in pairs(extra or {}) do
    if k == "headers" then
      for hk, hv in pairs(v) do r.headers[hk] = hv end
    else
      r[k] = v
    end
  end
  return r
end

-- one chat.completion.chunk carrying `content`
local function chunk(content)
  return { id = "chatcmpl-f", object = "chat.completion.chunk", created = 1, model = "m",
           choices = { { index = 0, delta = { content = content }, finish_reason = cjson.null } } }
end

-- a chat.completion whose content is not valid UTF-8 (a lone \xff)
local BAD_UTF8_JSON = '{"id":"chatcmpl-u","object":"chat.completion","created":1,"model":"m",'
  .. '"choices":[{"index":0,"message":{"role":"assistant","content":"bad \255 byte"},'
  .. '"finish_reason":"stop"}]}'
local BAD_UTF8_EVENT = 'data: {"id":"chatcmpl-u","object":"chat.completion.chunk","created":1,'
  .. '"model":"m","choices":[{"index":0,"delta":{"content":"bad \255 byte"},'
  .. '"finish_reason":null}]}\n\ndata: [DONE]\n\n'

-- a body of exactly 50,000 bytes that is valid JSON
local BIG_JSON = '{"object":"list","data":[],"pad":"' .. string.rep("x", 50000 - 36) .. '"}'
assert(#BIG_JSON == 50000)

local count = H.requests_to

local function params(opts)
  local p = { messages = { { role = "user", content = "hi" } } }
  for k, v in pairs(opts or {}) do p[k] = v end
  return p
end

-- the three ways of making the call: each returns res, err, meta, events
local WAYS = {}

function WAYS.plain(client, opts)
  local res, err, meta = client:chat(params(opts))
  return res, err, meta, nil
end

function WAYS.stream(client, opts)
  local s, err, meta = client:chat_stream(params(opts))
  if not s then return nil, err, meta, 0 end
  local n = 0
  local ok, e = pcall(function()
    for _ in s:each() do n = n + 1 end
  end)
  if not ok then return nil, e, s.meta, n end
  return s:result(), nil, s.meta, n
end

function WAYS.parallel(client, opts)
  local healthy = H.client()
  local out = openai.parallel({
    function() return client:chat(params(opts)) end,
    function() return healthy:models { max_retries = 0 } end,
  })
  local h = out[2]
  assert(h[2] == nil, "the healthy call of the batch failed: " .. tostring(h[2]))
  assert.equal("list", h[1].object)
  return out[1][1], out[1][2], out[1][3], nil
end

-- the fields of row (defaults) with the overrides of one way
local function settings(row, way)
  local s = { client = row.client, script = row.script, opts = row.opts, expect = row.expect,
              again = row.again }
  for k, v in pairs(row[way] or {}) do s[k] = v end
  return s
end

local function check(where, e, res, err, meta, events, elapsed)
  if e.ok then
    assert(err == nil, where .. ": expected a success, got " .. tostring(err))
    assert.equal("chat.completion", res.object, where)
    assert.equal(ANSWER, res.choices[1].message.content, where)
    assert.equal(e.attempts, meta.attempts, where .. ": meta.attempts")
  else
    assert(res == nil, where .. ": expected an error, got a result")
    assert(openai.is_error(err), where .. ": not an error object: " .. tostring(err))
    assert.equal(e.kind, err.kind, where .. ": kind (" .. tostring(err) .. ")")
    if e.status == false then
      assert(err.status == nil, where .. ": status should be nil, is " .. tostring(err.status))
    elseif e.status ~= nil then
      assert.equal(e.status, err.status, where .. ": status")
    end
    if type(e.attempts) == "table" then
      local okv = false
      for _, a in ipairs(e.attempts) do okv = okv or a == err.attempts end
      assert(okv, where .. ": err.attempts " .. tostring(err.attempts) .. " not one of the expected")
    else
      assert.equal(e.attempts, err.attempts, where .. ": err.attempts (" .. tostring(err) .. ")")
    end
    if meta then assert.equal(err.attempts, meta.attempts, where .. ": meta.attempts") end
    for _, f in ipairs({ "type", "code", "param", "message", "retry_after" }) do
      if e[f] ~= nil then assert.equal(e[f], err[f], where .. ": err." .. f) end
    end
    if e.message_has then
      assert(type(err.message) == "string" and err.message:find(e.message_has, 1, true),
             where .. ": message " .. tostring(err.message) .. " lacks " .. e.message_has)
    end
    assert(not tostring(err):find(H.key, 1, true), where .. ": the key in " .. tostring(err))
  end
  if e.events and events then assert.equal(e.events, events, where .. ": events read") end
  if e.elapsed then
    local lo, hi = e.elapsed[1], e.elapsed[2]
    assert(elapsed >= lo and elapsed <= hi,
           ("%s: elapsed %.1f ms, expected %.0f..%.0f"):format(where, elapsed, lo, hi))
  end
end

-- the keep-alive row: call 1 gets its answer and the server closes the
-- connection; call 2, made at once on the same client with no retries left,
-- must succeed. Whether call 2 finds the connection already closed or races
-- the server's close depends on timing, so ROUNDS rounds
local ROUNDS = 12
local function run_again(s, where, way)
  local client = H.client(s.client)
  for round = 1, ROUNDS do
    local at = ("%s, round %d"):format(where, round)
    H.reset()
    H.script(CHAT, s.script)
    local res, err, meta = WAYS[way](client, s.opts)
    check(at .. " (call 1)", s.expect, res, err, meta)
    res, err = WAYS[way](client, { max_retries = 0 })
    assert(err == nil, at .. " (call 2): " .. tostring(err))
    assert.equal(ANSWER, res.choices[1].message.content, at)
    assert.equal(2, count(CHAT), at .. ": requests that reached the server")
    if way ~= "parallel" then
      assert.equal(2, H.stats().connections, at .. ": the closed connection was not replaced")
    end
    assert.equal(0, openai.stats().live, at .. ": transfers left alive")
  end
end

-- run one row one way
local function run(row, way)
  local s = settings(row, way)
  if s.again then return run_again(s, row.name .. " [" .. way .. "]", way) end
  H.reset()
  local script, expect = s.script, s.expect
  if type(script) == "function" then
    -- a script that depends on the time of the run (an HTTP date) returns
    -- the responses and the bounds of the elapsed time
    local elapsed
    script, elapsed = script()
    local e = { elapsed = elapsed }
    for k, v in pairs(expect) do if k ~= "elapsed" then e[k] = v end end
    expect = e
  end
  if script then H.script(CHAT, script) end
  local copts = type(s.client) == "function" and s.client() or s.client
  local client = H.client(copts)
  local where = row.name .. " [" .. way .. "]"
  local t0 = H.now()
  local res, err, meta, events = WAYS[way](client, s.opts)
  local elapsed = H.now() - t0
  check(where, expect, res, err, meta, events, elapsed)
  assert.equal(0, openai.stats().live, where .. ": transfers left alive")
  if expect.requests == "attempts" then
    local attempts = err and err.attempts or meta and meta.attempts
    assert.equal(attempts, count(CHAT), where .. ": requests that reached the server")
  elseif expect.requests then
    assert.equal(expect.requests, count(CHAT), where .. ": requests that reached the server")
  end
end

-- }==================================================================


-- {=================================================================
-- the matrix
-- ==================================================================

local ROWS = {
  -- {-------------------------------------------------- the connection
  { name = "connection refused (one retry)",
    client = function() return { base_url = H.closed_port_url() } end,
    opts = { max_retries = 1 },
    -- one backoff wait: 0.5 s * (1 - 0.25 * random()) = 375..500 ms
    expect = { kind = "connection", status = false, attempts = 2, requests = 0,
               elapsed = { 365, 500 + SLACK } } },
  { name = "DNS failure",
    client = { base_url = "http://nonexistent.invalid/v1" },
    opts = { max_retries = 0 },
    expect = { kind = "connection", status = false, attempts = 1, message_has = "nonexistent.invalid" } },
  -- on a reused keep-alive connection curl sends once more on a fresh one
  -- (stale-connection recovery, counted in attempts, whatever max_retries
  -- says); on a new connection it does not: 1 or 2 attempts, each of them a
  -- request the server saw
  { name = "reset before the response",
    script = { { fault = "reset" }, { fault = "reset" } },
    opts = { max_retries = 0 },
    expect = { kind = "connection", status = false, attempts = { 1, 2 }, requests = "attempts" } },
  { name = "reset mid-headers",
    script = { { fault = "reset_mid_headers" } },
    opts = { max_retries = 0 },
    expect = { kind = "connection", status = false, attempts = 1, requests = 1 } },
  { name = "reset mid-body",
    script = { { status = 200, fault = "reset_mid_body" } },
    opts = { max_retries = 0 },
    expect = { kind = "connection", status = 200, attempts = 1, requests = 1 },
    -- half of the stream's events, then the reset
    stream = { expect = { kind = "stream", status = 200, attempts = 1, requests = 1, events = 3 } } },
  { name = "reset mid-stream after 2 events",
    script = { { sse = { { data = chunk("one ") }, { data = chunk("two") } }, sse_end = "reset" } },
    -- a plain call reads the same body and sees the reset
    opts = { max_retries = 0 },
    expect = { kind = "connection", status = 200, attempts = 1, requests = 1 },
    -- the stream keeps its default retries: an event reached the caller,
    -- so it is never retried
    stream = { opts = {}, expect = { kind = "stream", status = 200, attempts = 1, requests = 1,
                                     events = 2 } } },
  { name = "server closes the keep-alive connection after call 1",
    script = { { status = 200, fault = "close_after" } },
    expect = { ok = true, attempts = 1 },
    again = true },
  -- }--------------------------------------------------

  -- {-------------------------------------------------- retried statuses
  { name = "500, 502, 503 then success",
    script = { quick(500), quick(502), quick(503), { status = 200 } },
    opts = { max_retries = 3 },
    expect = { ok = true, attempts = 4, requests = 4 } },
  { name = "429 with retry-after-ms 100",
    script = { { status = 429, headers = { ["retry-after-ms"] = "100" } }, { status = 200 } },
    -- below the smallest backoff (375 ms): the header was obeyed
    expect = { ok = true, attempts = 2, requests = 2, elapsed = { 90, 100 + SLACK } } },
  { name = "429 with retry-after 1 (seconds)",
    script = { { status = 429, headers = { ["retry-after"] = "1" } }, { status = 200 } },
    -- above the largest first backoff (500 ms): the header was obeyed
    expect = { ok = true, attempts = 2, requests = 2, elapsed = { 990, 1000 + SLACK } } },
  { name = "429 with retry-after as an HTTP date",
    script = function()
      -- a whole second at least 0.25 s ahead: the wait is 250..1250 ms
      local now = socket.gettime()
      local at = math.ceil(now + 0.25)
      local date = os.date("!%a, %d %b %Y %H:%M:%S GMT", at)
      local wait = (at - now) * 1000
      return { { status = 429, headers = { ["retry-after"] = date } }, { status = 200 } },
             { wait - 20, wait + SLACK }
    end,
    expect = { ok = true, attempts = 2, requests = 2 } },
  { name = "429 with a retry-after it cannot parse (backoff)",
    script = { { status = 429, headers = { ["retry-after"] = "soon, maybe" } }, { status = 200 } },
    expect = { ok = true, attempts = 2, requests = 2, elapsed = { 365, 500 + SLACK } } },
  { name = "429 with a retry-after above the cap",
    script = { { status = 429, headers = { ["retry-after"] = "120" } }, { status = 200 } },
    expect = { kind = "api", status = 429, attempts = 1, retry_after = 120, requests = 1,
               elapsed = { 0, 300 } } },
  { name = "x-should-retry: true on a 400",
    script = { quick(400, { headers = { ["x-should-retry"] = "true" } }), { status = 200 } },
    expect = { ok = true, attempts = 2, requests = 2 } },
  { name = "x-should-retry: false on a 500",
    script = { quick(500, { headers = { ["x-should-retry"] = "false" } }), { status = 200 } },
    expect = { kind = "api", status = 500, attempts = 1, requests = 1 } },
  -- }--------------------------------------------------
}

-- {---------------------------------------------------- client errors
for _, status in ipairs({ 400, 401, 403, 404, 409, 422 }) do
  -- 409 is retried (default max_retries 2: three attempts), the others are not
  local n = status == 409 and 3 or 1
  local with, without = {}, {}
  for i = 1, n do
    with[i] = quick(status, { json = { error = {
      message = "scripted " .. status, type = "type_" .. status, code = "code_" .. status,
      param = "param_" .. status } } })
    without[i] = quick(status, { body = "" })
  end
  -- a success queued after them proves that no further attempt was made
  with[n + 1] = { status = 200 }
  without[n + 1] = { status = 200 }
  ROWS[#ROWS + 1] = {
    name = status .. " with a JSON error body",
    script = with,
    expect = { kind = "api", status = status, attempts = n, requests = n,
               message = "scripted " .. status, type = "type_" .. status,
               code = "code_" .. status, param = "param_" .. status } }
  ROWS[#ROWS + 1] = {
    name = status .. " without a body",
    script = without,
    expect = { kind = "api", status = status, attempts = n, requests = n,
               message = "HTTP " .. status } }
end
-- }----------------------------------------------------

-- {---------------------------------------------------- bad 200 bodies
local MORE = {
  { name = "200 with a body that is not JSON",
    script = { { status = 200, body = "this is not json" } },
    expect = { kind = "decode", status = 200, attempts = 1, requests = 1 },
    stream = { script = { { sse = { { data = "this is not json" } } } },
               expect = { kind = "decode", status = 200, attempts = 1, requests = 1, events = 0 } } },
  { name = "200 with an empty body",
    script = { { status = 200, body = "" } },
    expect = { kind = "decode", status = 200, attempts = 1, requests = 1 },
    -- an empty event stream ends before [DONE]
    stream = { script = { { sse = {} } },
               expect = { kind = "stream", status = 200, attempts = 1, requests = 1, events = 0 } } },
  { name = "200 with a truncated body",
    script = { { status = 200, fault = "truncate" } },
    opts = { max_retries = 0 },
    expect = { kind = "connection", status = 200, attempts = 1, requests = 1 },
    stream = { expect = { kind = "stream", status = 200, attempts = 1, requests = 1, events = 3 } } },
  { name = "200 with a body that is not valid UTF-8",
    script = { { status = 200, body_b64 = H.b64encode(BAD_UTF8_JSON) } },
    expect = { kind = "decode", status = 200, attempts = 1, requests = 1 },
    stream = { script = { { status = 200, body_b64 = H.b64encode(BAD_UTF8_EVENT),
                            headers = { ["content-type"] = "text/event-stream" } } },
               expect = { kind = "decode", status = 200, attempts = 1, requests = 1, events = 0 } } },
}
for _, r in ipairs(MORE) do ROWS[#ROWS + 1] = r end
-- }----------------------------------------------------

-- {---------------------------------------------------- silence and slowness
MORE = {
  { name = "a server that accepts and never answers",
    script = { { fault = "hang", hang_ms = 3000 } },
    opts = { timeout = 300, max_retries = 0 },
    expect = { kind = "timeout", status = false, attempts = 1, requests = 1,
               elapsed = { 290, 330 + SLACK } } },
  { name = "headers, then a stall",
    script = { { status = 200, fault = "hang_after_headers", hang_ms = 3000 } },
    opts = { timeout = 300, max_retries = 0 },
    expect = { kind = "timeout", status = 200, attempts = 1, requests = 1,
               elapsed = { 290, 330 + SLACK } },
    -- a stream's `timeout` only bounds the wait for headers: its idle limit fires
    stream = { opts = { timeout = 5000, idle_timeout = 300, max_retries = 0 } } },
  { name = "a trickle of a byte every 100 ms",
    script = { { status = 200, trickle_ms = 100 } },
    opts = { timeout = 500, max_retries = 0 },
    expect = { kind = "timeout", status = 200, attempts = 1, requests = 1,
               elapsed = { 490, 550 + SLACK } },
    -- a stream that talks is not bounded by `timeout`; gaps of 400 ms are
    -- longer than its idle limit of 300 ms
    stream = { script = { { status = 200, trickle_ms = 400 } },
               opts = { timeout = 5000, idle_timeout = 300, max_retries = 0 },
               expect = { kind = "timeout", status = 200, attempts = 1, requests = 1, events = 0,
                          elapsed = { 290, 330 + SLACK } } } },
  { name = "a stall after 2 events",
    script = { { sse = { { data = chunk("one ") }, { data = chunk("two") } }, sse_end = "hang",
                 hang_ms = 3000 } },
    opts = { timeout = 300, max_retries = 0 },
    expect = { kind = "timeout", status = 200, attempts = 1, requests = 1,
               elapsed = { 290, 330 + SLACK } },
    -- default retries: after an event reached the caller it is not retried
    stream = { opts = { timeout = 5000, idle_timeout = 300 },
               expect = { kind = "timeout", status = 200, attempts = 1, requests = 1, events = 2,
                          elapsed = { 290, 330 + SLACK } } } },
  { name = "a response larger than max_response_bytes",
    client = { max_response_bytes = 10000, max_event_bytes = 10000 },
    script = { { status = 200, body = BIG_JSON } },
    expect = { kind = "too_large", status = 200, attempts = 1, requests = 1, message_has = "10000" },
    -- a stream's cap is per event: one event of 50,000 bytes
    stream = { script = { { sse = { { data = BIG_JSON } } } } } },
}
for _, r in ipairs(MORE) do ROWS[#ROWS + 1] = r end
-- }----------------------------------------------------

-- }==================================================================


describe("the fault matrix", function()
  for _, row in ipairs(ROWS) do
    for _, way in ipairs({ "plain", "stream", "parallel" }) do
      it(row.name .. " [" .. way .. "]", function()
        run(row, way)
      end)
    end
  end

  it("connection refused with the default retries makes 3 attempts", function()
    H.reset()
    local client = H.client { base_url = H.closed_port_url() }
    local res, err, meta = client:chat(params())
    assert.is_nil(res)
    assert.equal("connection", err.kind)
    assert.equal(3, err.attempts)
    assert.equal(3, meta.attempts)
    assert.equal(0, openai.stats().live)
  end)
end)


-- {=================================================================
-- user code that raises
-- ==================================================================

describe("user code that raises", function()
  local client
  local it_closes = H.it_closes(it, pending)

  before_each(function()
    H.reset()
    client = H.client()
  end)

  -- the stand-in's open connections, once they settle at n (or 2 s passed)
  local function open_settles_at(n)
    local open
    for _ = 1, 40 do
      open = H.stats().open
      if open == n then break end
      socket.sleep(0.05)
    end
    return open
  end

  local function hanging_stream()
    H.script(CHAT, { { sse = { { data = chunk("a") }, { data = chunk("b") }, { data = chunk("c") } },
                       sse_end = "hang", hang_ms = 5000 } })
    return assert(client:chat_stream(params { idle_timeout = 10000 }))
  end

  it_closes("inside a stream loop: the stream is closed, nothing leaks, the client goes on", function()
    local s = hanging_stream()
    local seen = 0
    local ok, err = pcall(function()
      for _ in s:each() do
        seen = seen + 1
        if seen == 2 then error({ code = "user bug" }) end
      end
    end)
    assert.is_false(ok)
    assert.same({ code = "user bug" }, err)        -- the user's own value, untouched
    assert.equal(2, seen)
    assert.equal(0, openai.stats().live)
    assert.equal(0, open_settles_at(0))
    local r, e, meta = client:chat(params())
    assert.is_nil(e)
    assert.equal(ANSWER, r.choices[1].message.content)
    assert.equal(1, meta.attempts)
    local s2 = assert(client:chat_stream(params()))
    assert.equal(ANSWER, s2:result().choices[1].message.content)
    assert.equal(0, openai.stats().live)
  end)

  it("inside a parallel function holding a stream: slot {nil, err}, nothing leaks", function()
    H.script(CHAT, { { sse = { { data = chunk("a") }, { data = chunk("b") } }, sse_end = "hang",
                       hang_ms = 5000 } })
    local out = openai.parallel({
      function()
        local s = assert(client:chat_stream(params { idle_timeout = 10000 }))
        H.each_chunk(s, function() error("user bug in a batch") end)
      end,
      function() return client:models() end,
      function()
        local r = client:models()
        error("late bug after a call: " .. r.object)
      end,
    })
    assert.is_nil(out[1][1])
    assert.truthy(tostring(out[1][2]):find("user bug in a batch", 1, true))
    assert.equal("list", out[2][1].object)
    assert.is_nil(out[3][1])
    assert.truthy(tostring(out[3][2]):find("late bug after a call: list", 1, true))
    assert.equal(0, openai.stats().live)
    -- the stream's connection is closed; the models calls' stay in the pool
    local st = H.stats()
    assert.equal(3, st.requests)
    assert.equal(st.connections - 1, open_settles_at(st.connections - 1))
    -- the same client, plainly and in a new batch
    local r, e = client:chat(params())
    assert.is_nil(e)
    assert.equal(ANSWER, r.choices[1].message.content)
    out = openai.parallel({ function() return client:chat(params()) end })
    assert.is_nil(out[1][2])
    assert.equal(ANSWER, out[1][1].choices[1].message.content)
    assert.equal(0, openai.stats().live)
  end)

  it("inside a parallel function that never closes its stream: closed when it raises", function()
    H.script(CHAT, { { sse = { { data = chunk("a") } }, sse_end = "hang", hang_ms = 5000 } })
    local out = openai.parallel({
      function()
        local s = assert(client:chat_stream(params { idle_timeout = 10000 }))
        local first = s:next()
        error("dropped a stream after " .. first.choices[1].delta.content)
      end,
    })
    assert.truthy(tostring(out[1][2]):find("dropped a stream after a", 1, true))
    assert.equal(0, openai.stats().live)           -- no collectgarbage needed
    local r, e = client:models()
    assert.is_nil(e)
    assert.equal("list", r.object)
  end)
end)

-- }==================================================================
