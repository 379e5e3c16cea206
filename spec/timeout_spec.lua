-- Timeouts (docs/DESIGN.md "Timeouts"): `timeout` bounds one whole attempt
-- (connect, send, wait, read the body), `deadline` bounds all attempts, and
-- a client stays usable after a timeout.

local H = require "support.helper"
local openai = require "openai"

local function timed(f, ...)
  local t0 = H.now()
  local a, b, c = f(...)
  return a, b, c, H.now() - t0
end

describe("timeouts", function()
  local client

  before_each(function()
    H.reset()
    client = H.client()
  end)

  it("ends a call whose server never answers (hang) with kind timeout", function()
    H.script("/v1/models", { { fault = "hang", hang_ms = 10000 } })
    local res, err, meta, elapsed = timed(client.models, client, { timeout = 300, max_retries = 0 })
    assert.is_nil(res)
    assert.is_true(openai.is_error(err))
    assert.equal("timeout", err.kind)
    assert.equal(1, err.attempts)
    assert.equal(1, meta.attempts)
    assert.is_nil(err.status)
    assert.is_true(elapsed >= 290, "elapsed " .. elapsed)
    assert.is_true(elapsed < 5000, "elapsed " .. elapsed)
    assert.equal(1, #H.requests())
  end)

  it("ends a raw request that hangs with kind timeout", function()
    H.script("/v1/echo", { { fault = "hang", hang_ms = 10000 } })
    local res, err, _, elapsed = timed(client.request, client, { url = "/v1/echo", timeout = 250 })
    assert.is_nil(res)
    assert.equal("timeout", err.kind)
    assert.is_true(elapsed >= 240, "elapsed " .. elapsed)
    assert.is_true(elapsed < 5000, "elapsed " .. elapsed)
  end)

  it("times out when the headers came but the body never does", function()
    H.script("/v1/models", { { fault = "hang_after_headers", hang_ms = 10000 } })
    local res, err, _, elapsed = timed(client.models, client, { timeout = 300, max_retries = 0 })
    assert.is_nil(res)
    assert.equal("timeout", err.kind)
    assert.equal(1, err.attempts)
    assert.is_true(elapsed >= 290, "elapsed " .. elapsed)
    assert.is_true(elapsed < 5000, "elapsed " .. elapsed)
  end)

  it("times out a body that trickles in slower than the timeout", function()
    -- 60 bytes at 25 ms each: 1.5 s, the timeout is 300 ms
    local body = '{"object":"list","data":[],"padding":"' .. string.rep("x", 20) .. '"}'
    H.script("/v1/models", { { status = 200, body = body, trickle_ms = 25 } })
    local res, err, _, elapsed = timed(client.models, client, { timeout = 300, max_retries = 0 })
    assert.is_nil(res)
    assert.equal("timeout", err.kind)
    assert.is_true(elapsed >= 290, "elapsed " .. elapsed)
    assert.is_true(elapsed < 5000, "elapsed " .. elapsed)
  end)

  it("counts the whole attempt, not the gap between bytes", function()
    -- every gap (20 ms) is far below the timeout; the total (~1.2 s) is not
    local body = '{"object":"list","data":[],"p":"' .. string.rep("y", 30) .. '"}'
    H.script("/v1/models", { { status = 200, body = body, trickle_ms = 20 } })
    local res, err = client:models { timeout = 400, max_retries = 0 }
    assert.is_nil(res)
    assert.equal("timeout", err.kind)
  end)

  it("retries a timed-out attempt (typed) when retry_timeouts asks, and counts it", function()
    -- the request was sent whole, so by default the timeout is final
    H.script("/v1/models", { { fault = "hang", hang_ms = 5000 }, { status = 200 } })
    local _, err0 = client:models { timeout = 200, max_retries = 1 }
    assert.equal("timeout", err0.kind)
    assert.equal(1, err0.attempts)
    assert.equal(1, #H.requests())
    H.reset()
    H.script("/v1/models", { { fault = "hang", hang_ms = 5000 }, { status = 200 } })
    local res, err, meta = client:models { timeout = 200, max_retries = 1, retry_timeouts = true }
    assert.is_nil(err)
    assert.equal("list", res.object)
    assert.equal(2, meta.attempts)
    assert.equal(2, #H.requests())
  end)

  it("uses a default timeout that lets a slow-ish answer through", function()
    H.script("/v1/models", { { status = 200, delay_ms = 200 } })
    local res, err, meta = client:models { max_retries = 0 }
    assert.is_nil(err)
    assert.equal("list", res.object)
    assert.equal(1, meta.attempts)
    H.script("/v1/echo", { { status = 200, delay_ms = 200 } })
    local r2, err2 = client:request { url = "/v1/echo" }
    assert.is_nil(err2)
    assert.equal("/v1/echo", r2.path)
  end)

  it("lets a call's timeout override the client's, both ways", function()
    local short = H.client { timeout = 100 }
    H.script("/v1/models", { { status = 200, delay_ms = 300 } })
    local res, err = short:models { timeout = 3000, max_retries = 0 }
    assert.is_nil(err)
    assert.equal("list", res.object)

    H.script("/v1/models", { { status = 200, delay_ms = 300 } })
    res, err = short:models { max_retries = 0 }
    assert.is_nil(res)
    assert.equal("timeout", err.kind)

    local long = H.client { timeout = 5000 }
    H.script("/v1/models", { { status = 200, delay_ms = 600 } })
    local res3, err3, _, elapsed = timed(long.models, long, { timeout = 150, max_retries = 0 })
    assert.is_nil(res3)
    assert.equal("timeout", err3.kind)
    assert.is_true(elapsed >= 140, "elapsed " .. elapsed)
  end)

  it("gives up at the deadline instead of making another attempt", function()
    local wait = { ["retry-after-ms"] = "400" }
    H.script("/v1/models", { { status = 500, headers = wait }, { status = 500, headers = wait },
                             { status = 500, headers = wait }, { status = 200 } })
    local res, err, meta, elapsed = timed(client.models, client, { deadline = 600, max_retries = 5 })
    assert.is_nil(res)
    assert.equal("api", err.kind)
    assert.equal(500, err.status)
    -- attempt 1 at 0, attempt 2 at ~400 ms, attempt 3 would start past 600 ms
    assert.equal(2, err.attempts)
    assert.equal(2, meta.attempts)
    assert.equal(2, #H.requests())
    assert.is_true(elapsed >= 390, "elapsed " .. elapsed)
  end)

  it("bounds a slow attempt by what is left of the deadline", function()
    H.script("/v1/models", { { status = 500, headers = { ["retry-after-ms"] = "200" } },
                             { status = 200, delay_ms = 3000 } })
    local res, err, _, elapsed = timed(client.models, client,
                                       { deadline = 700, timeout = 5000, max_retries = 2 })
    assert.is_nil(res)
    assert.equal("timeout", err.kind)
    assert.equal(2, err.attempts)
    assert.is_true(elapsed >= 650, "elapsed " .. elapsed)
    assert.is_true(elapsed < 2900, "the deadline did not cut the attempt: elapsed " .. elapsed)
  end)

  it("takes the deadline from the client", function()
    local c = H.client { deadline = 500 }
    local wait = { ["retry-after-ms"] = "300" }
    H.script("/v1/models", { { status = 500, headers = wait }, { status = 500, headers = wait },
                             { status = 200 } })
    local res, err = c:models()
    assert.is_nil(res)
    assert.equal(2, err.attempts)
    assert.equal(2, #H.requests())
  end)

  it("serves the next call on the same client after a timeout", function()
    H.script("/v1/models", { { fault = "hang", hang_ms = 5000 } })
    local res, err = client:models { timeout = 200, max_retries = 0 }
    assert.is_nil(res)
    assert.equal("timeout", err.kind)
    local res2, err2, meta2 = client:models { max_retries = 0 }
    assert.is_nil(err2)
    assert.equal("list", res2.object)
    assert.equal(1, meta2.attempts)
    local res3, err3 = client:request { url = "/v1/text", response_type = "text" }
    assert.is_nil(err3)
    assert.equal("hello, text\n", res3)
    assert.equal(3, #H.requests())
  end)

  it("refuses a bad timeout or deadline, sending nothing", function()
    for _, v in ipairs({ 0, -1, 1.5, "100", 1 / 0 }) do
      local msg = H.raises(client.models, client, { timeout = v })
      assert.truthy(msg:find("openai.models: 'timeout'", 1, true), msg)
      msg = H.raises(client.models, client, { deadline = v })
      assert.truthy(msg:find("openai.models: 'deadline'", 1, true), msg)
    end
    local msg = H.raises(H.client, { timeout = 0 })
    assert.truthy(msg:find("openai.new: 'timeout'", 1, true), msg)
    assert.equal(0, #H.requests())
  end)
end)
