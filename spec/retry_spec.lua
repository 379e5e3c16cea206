-- Retries of the typed actions (docs/DESIGN.md "Retries"): default
-- max_retries 2, the statuses retried, x-should-retry, the server's
-- retry-after wishes and their cap, and every attempt counted.
--
-- Where a test is not about the delay, the scripted errors carry a short
-- retry-after-ms so the suite does not sit through the backoff.

local H = require "support.helper"
local openai = require "openai"

local QUICK = { ["retry-after-ms"] = "10" }

-- a scripted error status that asks for a short wait
local function quick(status, extra)
  local r = { status = status, headers = {} }
  for k, v in pairs(QUICK) do r.headers[k] = v end
  for k, v in pairs(extra or {}) do r[k] = v end
  return r
end

local function timed(f, ...)
  local t0 = H.now()
  local a, b, c = f(...)
  return a, b, c, H.now() - t0
end

describe("retries of the typed actions", function()
  local client

  before_each(function()
    H.reset()
    client = H.client()
  end)

  it("makes at most 3 attempts by default and returns the last error", function()
    H.script("/v1/models", { quick(500), quick(502), quick(503), { status = 200 } })
    local res, err, meta = client:models()
    assert.is_nil(res)
    assert.is_true(openai.is_error(err))
    assert.equal("api", err.kind)
    assert.equal(503, err.status)
    assert.equal(3, err.attempts)
    assert.equal(3, meta.attempts)
    assert.equal(503, meta.status)
    local reqs = H.requests()
    assert.equal(3, #reqs)
    assert.equal(reqs[3].id, err.request_id)
    for _, r in ipairs(reqs) do assert.equal("/v1/models", r.path) end
  end)

  it("returns the success of the third attempt with meta.attempts 3", function()
    H.script("/v1/models", { quick(500), quick(503), { status = 200 } })
    local res, err, meta = client:models()
    assert.is_nil(err)
    assert.equal("list", res.object)
    assert.equal(3, meta.attempts)
    assert.equal(200, meta.status)
    assert.equal(3, #H.requests())
  end)

  it("retries a chat completion and sends the same body each time", function()
    H.script("/v1/chat/completions", { quick(500), { status = 200 } })
    local res, err, meta = client:chat { messages = { { role = "user", content = "hi" } } }
    assert.is_nil(err)
    assert.equal("chat.completion", res.object)
    assert.equal(2, meta.attempts)
    local reqs = H.requests()
    assert.equal(2, #reqs)
    assert.equal(reqs[1].body, reqs[2].body)
    assert.equal("hi", reqs[2].json.messages[1].content)
  end)

  for _, status in ipairs({ 408, 409, 429 }) do
    it("retries a " .. status, function()
      H.script("/v1/models", { quick(status), { status = 200 } })
      local res, err, meta = client:models()
      assert.is_nil(err)
      assert.equal("list", res.object)
      assert.equal(2, meta.attempts)
      assert.equal(2, #H.requests())
    end)
  end

  it("does not retry 400, 401, 403, 404 or 422", function()
    for _, status in ipairs({ 400, 401, 403, 404, 422 }) do
      H.reset()
      H.script("/v1/models", { quick(status), { status = 200 } })
      local res, err, meta = client:models()
      assert.is_nil(res, "status " .. status)
      assert.equal(status, err.status)
      assert.equal(1, err.attempts, "status " .. status)
      assert.equal(1, meta.attempts)
      assert.equal(1, #H.requests(), "status " .. status)
    end
  end)

  it("does not retry a 500 that says x-should-retry: false", function()
    H.script("/v1/models", { quick(500, { headers = { ["retry-after-ms"] = "10",
                                                      ["x-should-retry"] = "false" } }),
                             { status = 200 } })
    local res, err = client:models()
    assert.is_nil(res)
    assert.equal(500, err.status)
    assert.equal(1, err.attempts)
    assert.equal(1, #H.requests())
  end)

  it("retries a 400 that says x-should-retry: true", function()
    H.script("/v1/models", { quick(400, { headers = { ["retry-after-ms"] = "10",
                                                      ["x-should-retry"] = "true" } }),
                             { status = 200 } })
    local res, err, meta = client:models()
    assert.is_nil(err)
    assert.equal("list", res.object)
    assert.equal(2, meta.attempts)
    assert.equal(2, #H.requests())
  end)

  it("does not retry a 429 whose error code is insufficient_quota", function()
    H.script("/v1/models", { quick(429, { json = { error = {
      message = "You exceeded your current quota, please check your plan and billing details.",
      type = "insufficient_quota", param = openai.null, code = "insufficient_quota" } } }),
      { status = 200 } })
    local res, err = client:models()
    assert.is_nil(res)
    assert.equal(429, err.status)
    assert.equal("insufficient_quota", err.code)
    assert.equal(1, err.attempts)
    assert.equal(1, #H.requests())
  end)

  it("still retries a 429 whose message merely mentions \"insufficient_quota\"", function()
    H.script("/v1/models", { quick(429, { json = { error = {
      message = 'Rate limited; this is not "insufficient_quota"',
      type = "requests", code = "rate_limit_exceeded" } } }),
      { status = 200 } })
    local res, err, meta = client:models()
    assert.is_nil(err)
    assert.is_table(res)
    assert.equal(2, meta.attempts)
  end)

  it("waits a retry-after-ms of 700 ms before retrying", function()
    H.script("/v1/models", { { status = 500, headers = { ["retry-after-ms"] = "700" } },
                             { status = 200 } })
    local res, err, meta, elapsed = timed(client.models, client, { max_retries = 1 })
    assert.is_nil(err)
    assert.is_table(res)
    assert.equal(2, meta.attempts)
    -- more than any first backoff (<= 500 ms): the header was honoured
    assert.is_true(elapsed >= 690, "elapsed " .. elapsed)
  end)

  it("waits a retry-after-ms of 200 ms", function()
    H.script("/v1/models", { { status = 503, headers = { ["retry-after-ms"] = "200" } },
                             { status = 200 } })
    local res, err, meta, elapsed = timed(client.models, client, { max_retries = 1 })
    assert.is_nil(err)
    assert.is_table(res)
    assert.equal(2, meta.attempts)
    assert.is_true(elapsed >= 190, "elapsed " .. elapsed)
  end)

  it("waits a retry-after in fractional seconds", function()
    H.script("/v1/models", { { status = 500, headers = { ["retry-after"] = "0.7" } },
                             { status = 200 } })
    local res, err, meta, elapsed = timed(client.models, client, { max_retries = 1 })
    assert.is_nil(err)
    assert.is_table(res)
    assert.equal(2, meta.attempts)
    assert.is_true(elapsed >= 690, "elapsed " .. elapsed)
  end)

  it("prefers retry-after-ms over retry-after", function()
    H.script("/v1/models", { { status = 500, headers = { ["retry-after-ms"] = "650",
                                                         ["retry-after"] = "120" } },
                             { status = 200 } })
    local res, err, meta, elapsed = timed(client.models, client, { max_retries = 1 })
    assert.is_nil(err)
    assert.is_table(res)
    assert.equal(2, meta.attempts)
    assert.is_true(elapsed >= 640, "elapsed " .. elapsed)
  end)

  it("waits a retry-after given as an HTTP date", function()
    -- os.time() is whole seconds: the date is 1 to 2 s ahead
    local date = os.date("!%a, %d %b %Y %H:%M:%S GMT", os.time() + 2)
    H.script("/v1/models", { { status = 500, headers = { ["retry-after"] = date } },
                             { status = 200 } })
    local res, err, meta, elapsed = timed(client.models, client, { max_retries = 1 })
    assert.is_nil(err)
    assert.is_table(res)
    assert.equal(2, meta.attempts)
    assert.equal(2, #H.requests())
    assert.is_true(elapsed >= 800, "elapsed " .. elapsed .. " for " .. date)
  end)

  it("falls back to the backoff for a retry-after it cannot parse", function()
    H.script("/v1/models", { { status = 500, headers = { ["retry-after"] = "soon-ish" } },
                             { status = 200 } })
    local res, err, meta, elapsed = timed(client.models, client, { max_retries = 1 })
    assert.is_nil(err)
    assert.is_table(res)
    assert.equal(2, meta.attempts)
    -- the first backoff: 0.5 s * (1 - 0.25 * random) >= 375 ms
    assert.is_true(elapsed >= 370, "elapsed " .. elapsed)
  end)

  it("falls back to the backoff for a retry-after of 0 or a negative one", function()
    H.script("/v1/models", { { status = 500, headers = { ["retry-after-ms"] = "-5" } },
                             { status = 500, headers = { ["retry-after"] = "0" } },
                             { status = 200 } })
    local res, err, meta, elapsed = timed(client.models, client)
    assert.is_nil(err)
    assert.is_table(res)
    assert.equal(3, meta.attempts)
    -- two backoffs: >= 375 ms + 750 ms
    assert.is_true(elapsed >= 1100, "elapsed " .. elapsed)
  end)

  it("does not wait a retry-after above the 60 s cap: returns it in err.retry_after", function()
    H.script("/v1/models", { { status = 429, headers = { ["retry-after"] = "120" } },
                             { status = 200 } })
    local res, err, meta = client:models()
    assert.is_nil(res)
    assert.equal("api", err.kind)
    assert.equal(429, err.status)
    assert.equal(1, err.attempts)
    assert.equal(1, meta.attempts)
    assert.equal(120, err.retry_after)
    assert.equal(1, #H.requests())
    assert.truthy(tostring(err):find("120", 1, true), tostring(err))
  end)

  it("honours a client's max_retry_after", function()
    local c = H.client { max_retry_after = 1000 }
    H.script("/v1/models", { { status = 503, headers = { ["retry-after"] = "5" } },
                             { status = 200 } })
    local res, err = c:models()
    assert.is_nil(res)
    assert.equal(503, err.status)
    assert.equal(1, err.attempts)
    assert.equal(5, err.retry_after)
    assert.equal(1, #H.requests())
  end)

  it("honours a per-call max_retry_after", function()
    H.script("/v1/models", { { status = 503, headers = { ["retry-after-ms"] = "1500" } },
                             { status = 200 } })
    local res, err = client:models { max_retry_after = 1000 }
    assert.is_nil(res)
    assert.equal(1, err.attempts)
    assert.equal(1.5, err.retry_after)
    assert.equal(1, #H.requests())
  end)

  it("makes one attempt with max_retries = 0 on the call", function()
    H.script("/v1/models", { quick(500), { status = 200 } })
    local res, err, meta = client:models { max_retries = 0 }
    assert.is_nil(res)
    assert.equal(500, err.status)
    assert.equal(1, err.attempts)
    assert.equal(1, meta.attempts)
    assert.equal(1, #H.requests())
  end)

  it("takes max_retries from the client, and a call's value over it", function()
    local c = H.client { max_retries = 1 }
    H.script("/v1/models", { quick(500), quick(500), { status = 200 } })
    local res, err = c:models()
    assert.is_nil(res)
    assert.equal(2, err.attempts)
    assert.equal(2, #H.requests())
    H.reset()
    H.script("/v1/models", { quick(500), quick(500), quick(500), { status = 200 } })
    local res2, err2, meta2 = c:models { max_retries = 3 }
    assert.is_nil(err2)
    assert.is_table(res2)
    assert.equal(4, meta2.attempts)
    local c0 = H.client { max_retries = 0 }
    H.reset()
    H.script("/v1/chat/completions", { quick(500), { status = 200 } })
    local res3, err3 = c0:chat { messages = { { role = "user", content = "x" } } }
    assert.is_nil(res3)
    assert.equal(1, err3.attempts)
  end)

  it("retries a dropped connection (reset mid-headers)", function()
    H.script("/v1/models", { { fault = "reset_mid_headers" }, { status = 200 } })
    local res, err, meta = client:models()
    assert.is_nil(err)
    assert.is_table(res)
    assert.equal(2, meta.attempts)
    assert.equal(2, #H.requests())
  end)

  it("retries a refused connection with the backoff and reports kind connection", function()
    local c = H.client { base_url = H.closed_port_url() }
    local res, err, meta, elapsed = timed(c.models, c)
    assert.is_nil(res)
    assert.is_true(openai.is_error(err))
    assert.equal("connection", err.kind)
    assert.equal(3, err.attempts)
    assert.equal(3, meta.attempts)
    assert.is_nil(err.status)
    -- two backoffs: >= 375 + 750 ms
    assert.is_true(elapsed >= 1100, "elapsed " .. elapsed)
    assert.falsy(tostring(err):find(H.key, 1, true))
  end)

  it("refuses a bad max_retries, sending nothing", function()
    for _, v in ipairs({ -1, 1.5, "2", 101 }) do
      local msg = H.raises(client.models, client, { max_retries = v })
      assert.truthy(msg:find("openai.models: 'max_retries'", 1, true), msg)
    end
    local msg = H.raises(H.client, { max_retries = -1 })
    assert.truthy(msg:find("openai.new: 'max_retries'", 1, true), msg)
    assert.equal(0, #H.requests())
  end)
end)
