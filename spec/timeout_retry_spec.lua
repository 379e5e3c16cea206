-- Which timeouts are retried (docs/DESIGN.md "Retries", "Timeouts"): an
-- attempt that timed out after its request was sent whole is not sent
-- again unless the caller asks (retry_timeouts = true): the server may
-- still be generating, and each attempt is billed. A connect timeout, a
-- timeout while the request was still being sent and a dead connection
-- are retried as before. The error names the limit that ran out, its value
-- and the option that sets it (err.timeout_option, err.timeout_ms).
-- Through libcurl here; spec/nginx_transport_spec.lua runs the same rules
-- over nginx's cosockets.

local H = require "support.helper"

local CHAT = "/v1/chat/completions"

-- n answers that each take longer than the specs' timeouts: a generation
-- the server finishes after the client stopped waiting
local function slow(n, ms)
  local r = {}
  for i = 1, n do r[i] = { delay_ms = ms or 1500 } end
  return r
end

local function chat(client, extra)
  local p = { messages = H.msgs("write a long story") }
  for k, v in pairs(extra or {}) do p[k] = v end
  return client:chat(p)
end

local function has(s, part)
  assert.truthy(s:find(part, 1, true), s)
end

describe("timeouts and retries", function()
  before_each(H.reset)

  it("sends a generation longer than the timeout once and names the option", function()
    H.script(CHAT, slow(3))
    local res, err, meta = chat(H.client { timeout = 300 })     -- max_retries 2, the default
    assert.is_nil(res)
    assert.equal("timeout", err.kind)
    assert.equal(1, err.attempts)
    assert.equal(1, meta.attempts)
    assert.equal(1, H.requests_to(CHAT))
    assert.equal("timeout", err.timeout_option)
    assert.equal(300, err.timeout_ms)
    has(err.message, "no complete response within 300 ms (timeout = 300)")
    has(err.message, "the request was sent, so it was not sent again (retry_timeouts = true retries it)")
    has(tostring(err), "retry_timeouts")
  end)

  it("sends it again when the client asks with retry_timeouts = true", function()
    H.script(CHAT, slow(3))
    local res, err = chat(H.client { timeout = 300, retry_timeouts = true })
    assert.is_nil(res)
    assert.equal("timeout", err.kind)
    assert.equal(3, err.attempts)
    assert.equal(3, H.requests_to(CHAT))
    assert.equal("timeout", err.timeout_option)
    has(err.message, "no complete response within 300 ms (timeout = 300)")
    assert.falsy(err.message:find("not sent again", 1, true), err.message)
  end)

  it("takes retry_timeouts per call, on typed calls and raw requests", function()
    local client = H.client { timeout = 150 }
    H.script(CHAT, slow(2))
    local _, err = chat(client, { retry_timeouts = true, max_retries = 1 })
    assert.equal(2, err.attempts)
    assert.equal(2, H.requests_to(CHAT))
    H.reset()
    H.script(CHAT, slow(2))
    _, err = chat(H.client { timeout = 150, retry_timeouts = true }, { retry_timeouts = false })
    assert.equal(1, err.attempts)
    assert.equal(1, H.requests_to(CHAT))
    H.reset()
    -- a raw request: max_retries 2 with no delay; sent once, then three times
    local raw = { url = CHAT, method = "POST", data = { model = "m", messages = H.msgs() },
                  max_retries = 2, timeout = 150 }
    H.script(CHAT, slow(3))
    _, err = client:request(raw)
    assert.equal(1, err.attempts)
    assert.equal("timeout", err.timeout_option)
    H.reset()
    H.script(CHAT, slow(3))
    raw.retry_timeouts = true
    _, err = client:request(raw)
    assert.equal(3, err.attempts)
    assert.equal(3, H.requests_to(CHAT))
  end)

  it("refuses a retry_timeouts that is not a boolean, sending nothing", function()
    local msg = H.raises(H.client, { retry_timeouts = "yes" })
    has(msg, "openai.new: 'retry_timeouts'")
    msg = H.raises(chat, H.client(), { retry_timeouts = 1 })
    has(msg, "openai.chat: 'retry_timeouts'")
    assert.equal(0, #H.requests())
  end)

  it("names the deadline when the deadline ran out", function()
    H.script(CHAT, slow(3))
    local _, err = chat(H.client { timeout = 5000, deadline = 400 })
    assert.equal("timeout", err.kind)
    assert.equal("deadline", err.timeout_option)
    assert.equal(400, err.timeout_ms)
    assert.equal(1, err.attempts)
    has(err.message, "the deadline of 400 ms passed while waiting for the response (deadline = 400)")
  end)

  it("sends a stream once when its headers or its first event do not come in time", function()
    local client = H.client()
    H.script(CHAT, { { fault = "hang", hang_ms = 1500 }, { fault = "hang", hang_ms = 1500 } })
    local s, err = client:chat_stream { messages = H.msgs(), timeout = 300 }
    assert.is_nil(s)
    assert.equal("timeout", err.kind)
    assert.equal(1, err.attempts)
    assert.equal(1, H.requests_to(CHAT))
    assert.equal("timeout", err.timeout_option)
    has(err.message, "no response headers within 300 ms (timeout = 300); the request was sent")
    H.reset()
    H.script(CHAT, { { status = 200, fault = "hang_after_headers", hang_ms = 1500 },
                     { status = 200, fault = "hang_after_headers", hang_ms = 1500 } })
    s, err = client:chat_stream { messages = H.msgs(), idle_timeout = 300 }
    assert.is_nil(s)
    assert.equal(1, err.attempts)
    assert.equal(1, H.requests_to(CHAT))
    assert.equal("idle_timeout", err.timeout_option)
    assert.equal(300, err.timeout_ms)
    has(err.message, "the stream was silent for 300 ms (idle_timeout = 300); the request was sent")
  end)

  it("names idle_timeout when a stream falls silent after its events", function()
    H.script(CHAT, { { sse = { { data = '{"choices":[{"index":0,"delta":{"content":"a"}}]}' } },
                       sse_end = "hang", hang_ms = 1500 } })
    local s = assert(H.client():chat_stream { messages = H.msgs(), idle_timeout = 300 })
    local ok, err = pcall(function() while s:next() do end end)
    assert.is_false(ok)
    assert.equal("timeout", err.kind)
    assert.equal("idle_timeout", err.timeout_option)
    assert.equal(300, err.timeout_ms)
    assert.equal("the stream was silent for 300 ms (idle_timeout = 300)", err.message)
  end)

  it("retries a connect timeout and names connect_timeout or timeout", function()
    local url, close = H.unanswered_url()
    local _, err = H.client { base_url = url, connect_timeout = 150, max_retries = 1 }:models()
    assert.equal("timeout", err.kind)
    assert.equal(2, err.attempts)
    assert.equal("connect_timeout", err.timeout_option)
    assert.equal(150, err.timeout_ms)
    assert.equal("could not connect within 150 ms (connect_timeout = 150)", err.message)
    -- (a raw request: no backoff between its attempts)
    _, err = H.client { base_url = url, timeout = 200 }:request { max_retries = 1 }
    close()
    assert.equal(2, err.attempts)
    assert.equal("timeout", err.timeout_option)
    assert.equal("could not connect within 200 ms (timeout = 200)", err.message)
  end)

  it("retries a timeout while the request was still being sent", function()
    local url, close = H.unread_url()
    local client = H.client { base_url = url }
    -- 16 MB: more than the kernel buffers of a connection nobody reads
    local _, err = client:request { url = "/v1/echo", method = "POST", data = ("x"):rep(16 * 2 ^ 20),
                                    timeout = 300, max_retries = 1 }
    close()
    assert.equal("timeout", err.kind)
    assert.equal(2, err.attempts)
    assert.equal("timeout", err.timeout_option)
    assert.equal("could not send the request within 300 ms (timeout = 300)", err.message)
  end)

  it("retries a connection that dies after the request was sent", function()
    local client = H.client()
    -- raw requests (no backoff); retry_spec.lua has the typed ones
    local raw = { url = CHAT, method = "POST", data = { model = "m", messages = H.msgs() },
                  max_retries = 1, timeout = 5000 }
    for _, fault in ipairs({ "reset", "close", "reset_mid_headers" }) do
      H.reset()
      H.script(CHAT, { { fault = fault }, { status = 200 } })
      local res, err, meta = client:request(raw)
      assert.is_nil(err, fault)
      assert.equal("chat.completion", res.object, fault)
      assert.equal(2, meta.attempts, fault)
      assert.equal(2, H.requests_to(CHAT), fault)
    end
  end)
end)
