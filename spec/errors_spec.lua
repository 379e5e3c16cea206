-- The error object of a failed call (docs/DESIGN.md, "Rules of the Lua layer"
-- 2): nil, err, meta with err.kind and the API's
-- fields, a readable tostring, and never the API key.

local H = require "support.helper"
local openai = require "openai"

local OPENAI_400 = { error = {
  message = "Invalid value for 'temperature': expected a number <= 2.",
  type = "invalid_request_error", param = "temperature", code = "invalid_value",
} }

describe("the error object", function()
  local client

  before_each(function()
    H.reset()
    client = H.client()
  end)

  it("carries kind, status, type, code, param, message, request_id, attempts", function()
    H.script("/v1/chat/completions", { { status = 400, json = OPENAI_400 } })
    local res, err, meta = client:chat { messages = { { role = "user", content = "hi" } } }
    assert.is_nil(res)
    assert.equal("api", err.kind)
    assert.equal(400, err.status)
    assert.equal("invalid_request_error", err.type)
    assert.equal("invalid_value", err.code)
    assert.equal("temperature", err.param)
    assert.equal(OPENAI_400.error.message, err.message)
    assert.equal(H.last().id, err.request_id)
    assert.truthy(err.request_id:match("^req_%d+$"))
    assert.equal(1, err.attempts)
    assert.equal("BadRequestError", err.name)
    assert.equal(400, meta.status)
    assert.equal(err.request_id, meta.request_id)
    assert.equal(1, meta.attempts)
  end)

  it("takes request_id from the x-request-id header", function()
    H.script("/v1/models", { { status = 404, json = OPENAI_400,
                               headers = { ["x-request-id"] = "req_abc123XYZ" } } })
    local _, err, meta = client:models()
    assert.equal("req_abc123XYZ", err.request_id)
    assert.equal("req_abc123XYZ", meta.request_id)
    assert.equal("req_abc123XYZ", meta.headers["x-request-id"])
  end)

  it("leaves out the fields the error body does not have", function()
    H.script("/v1/models", { { status = 400, json = { error = {
      message = "Bad.", type = "invalid_request_error", param = openai.null, code = openai.null,
    } } } })
    local _, err = client:models()
    assert.equal("Bad.", err.message)
    assert.is_nil(err.param)
    assert.is_nil(err.code)
    assert.falsy(tostring(err):find("userdata", 1, true), tostring(err))
  end)

  it("is named by status as the official SDKs name their classes", function()
    local names = {
      [400] = "BadRequestError", [401] = "AuthenticationError", [403] = "PermissionDeniedError",
      [404] = "NotFoundError", [409] = "ConflictError", [422] = "UnprocessableEntityError",
      [429] = "RateLimitError", [500] = "InternalServerError", [503] = "InternalServerError",
    }
    for status, name in pairs(names) do
      H.script("/v1/models", { { status = status } })
      local res, err = client:models { max_retries = 0 }
      assert.is_nil(res)
      assert.equal("api", err.kind)
      assert.equal(status, err.status)
      assert.equal(name, err.name, "status " .. status)
      assert.truthy(tostring(err):find(name, 1, true), tostring(err))
    end
  end)

  it("names the status when an error status has no JSON body", function()
    -- the page's words are the message; the status is err.status and in tostring
    H.script("/v1/models", { { status = 502, body = "<html>Bad Gateway</html>" } })
    local res, err, meta = client:models { max_retries = 0 }
    assert.is_nil(res)
    assert.equal("api", err.kind)
    assert.equal(502, err.status)
    assert.equal("Bad Gateway", err.message)
    assert.truthy(tostring(err):find("HTTP 502", 1, true), tostring(err))
    assert.equal(502, meta.status)

    H.script("/v1/models", { { status = 418, body = "" } })
    res, err = client:models { max_retries = 0 }
    assert.is_nil(res)
    assert.equal("api", err.kind)
    assert.equal(418, err.status)
    assert.truthy(err.message:find("418", 1, true), err.message)
    assert.truthy(tostring(err):find("418", 1, true), tostring(err))
  end)

  it("takes a plain string error member as the message", function()
    H.script("/v1/models", { { status = 400, json = { error = "model is required" } } })
    local _, err = client:models { max_retries = 0 }
    assert.equal("api", err.kind)
    assert.equal("model is required", err.message)
  end)

  it("is kind decode for a 200 whose body is not JSON", function()
    H.script("/v1/models", { { status = 200, body = "<html>hello</html>" } })
    local res, err, meta = client:models()
    assert.is_nil(res)
    assert.is_true(openai.is_error(err))
    assert.equal("decode", err.kind)
    assert.equal(200, err.status)
    assert.equal(1, err.attempts)
    assert.is_string(err.message)
    assert.equal(200, meta.status)
    assert.equal(H.last().id, err.request_id)
    assert.equal(1, #H.requests())
  end)

  it("is kind decode for a 200 with an empty body", function()
    H.script("/v1/models", { { status = 200, body = "" } })
    local res, err = client:models()
    assert.is_nil(res)
    assert.equal("decode", err.kind)
    assert.equal(200, err.status)
  end)

  it("is kind decode for JSON that is not valid UTF-8", function()
    H.script("/v1/models", { { status = 200, body_b64 = H.b64encode('{"object":"list","x":"\255\254"}') } })
    local res, err = client:models()
    assert.is_nil(res)
    assert.equal("decode", err.kind)
    H.script("/v1/models", { { status = 200, body_b64 = H.b64encode('{"id":"\192\175"}') } })
    res, err = client:models()
    assert.is_nil(res)
    assert.equal("decode", err.kind)
  end)

  it("is kind decode for trailing garbage after the JSON value", function()
    H.script("/v1/models", { { status = 200, body = '{"object":"list"} trailing' } })
    local res, err = client:models()
    assert.is_nil(res)
    assert.equal("decode", err.kind)
  end)

  it("is kind connection for a body cut short (truncate)", function()
    H.script("/v1/models", { { status = 200, json = { object = "list", data = {
      { id = "a-model-with-a-long-enough-name", object = "model" } } }, fault = "truncate" } })
    local res, err, meta = client:models { max_retries = 0 }
    assert.is_nil(res)
    assert.equal("connection", err.kind)
    assert.equal(1, err.attempts)
    assert.equal(1, meta.attempts)
    assert.is_string(err.message)
  end)

  it("is kind connection for a connection reset", function()
    -- two resets: libcurl itself may re-send once on a fresh connection
    -- when a kept-alive one is reset before any byte came back
    for _, script in ipairs({ { { fault = "reset" }, { fault = "reset" } },
                              { { fault = "reset_mid_headers" } },
                              { { status = 200, json = { object = "list", data = {} },
                                  fault = "reset_mid_body" } } }) do
      H.reset()
      H.script("/v1/models", script)
      local res, err = client:models { max_retries = 0 }
      assert.is_nil(res, script[1].fault)
      assert.equal("connection", err.kind, script[1].fault)
      assert.equal("APIConnectionError", err.name)
      if script[1].fault ~= "reset_mid_body" then assert.is_nil(err.status, script[1].fault) end
    end
  end)

  it("is kind connection for a refused connection", function()
    local c = H.client { base_url = H.closed_port_url() }
    local res, err, meta = c:models { max_retries = 0 }
    assert.is_nil(res)
    assert.equal("connection", err.kind)
    assert.is_nil(err.status)
    assert.equal(1, err.attempts)
    assert.equal(1, meta.attempts)
  end)

  it("reads as one line with status, type, code, message and request id", function()
    H.script("/v1/models", { { status = 400, json = OPENAI_400,
                               headers = { ["x-request-id"] = "req_line42" } } })
    local _, err = client:models()
    local s = tostring(err)
    assert.is_string(s)
    assert.falsy(s:find("[\r\n]"), s)
    for _, part in ipairs({ "400", "invalid_request_error", "invalid_value",
                            OPENAI_400.error.message, "req_line42" }) do
      assert.truthy(s:find(part, 1, true), "missing " .. part .. " in " .. s)
    end
  end)

  it("reads as one line even when the message has line breaks", function()
    H.script("/v1/models", { { status = 400, json = { error = {
      message = "first line\nsecond line\r\nthird", type = "invalid_request_error" } } } })
    local _, err = client:models()
    local s = tostring(err)
    assert.falsy(s:find("[\r\n]"), s)
    assert.truthy(s:find("second line", 1, true), s)
  end)

  it("reads well for the other kinds", function()
    H.script("/v1/models", { { status = 200, body = "nope" } })
    local _, err = client:models()
    local s = tostring(err)
    assert.truthy(s:find("decode", 1, true), s)
    assert.falsy(s:find("[\r\n]"), s)
    H.script("/v1/models", { { fault = "hang", hang_ms = 3000 } })
    _, err = client:models { timeout = 150, max_retries = 0 }
    s = tostring(err)
    assert.truthy(s:find("timeout", 1, true), s)
    assert.falsy(s:find("[\r\n]"), s)
  end)

  it("is recognised by openai.is_error, and nothing else is", function()
    H.script("/v1/models", { { status = 401 } })
    local _, err = client:models()
    assert.is_true(openai.is_error(err))
    assert.is_false(openai.is_error({ kind = "api", status = 401 }))
    assert.is_false(openai.is_error("openai: error"))
    assert.is_false(openai.is_error(nil))
    local res = client:models()
    assert.is_false(openai.is_error(res))
  end)

  it("comes with meta carrying status, request_id and headers on failure", function()
    H.script("/v1/models", { { status = 429, json = OPENAI_400,
                               headers = { ["retry-after"] = "999", ["x-custom"] = "v" } } })
    local res, err, meta = client:models()
    assert.is_nil(res)
    assert.is_table(meta)
    assert.equal(429, meta.status)
    assert.equal(H.last().id, meta.request_id)
    assert.equal(1, meta.attempts)
    assert.equal("v", meta.headers["x-custom"])
    assert.equal(err.request_id, meta.request_id)
  end)

  it("redacts the API key from a message that contains it", function()
    local msg = "Incorrect API key provided: " .. H.key .. ". You can find your key at ..."
    H.script("/v1/models", { { status = 401, json = { error = {
      message = msg, type = "invalid_request_error", code = "invalid_api_key",
      param = H.key,
    } } } })
    local res, err = client:models()
    assert.is_nil(res)
    assert.equal(401, err.status)
    assert.falsy(err.message:find(H.key, 1, true), err.message)
    assert.truthy(err.message:find("[redacted]", 1, true), err.message)
    assert.truthy(err.message:find("Incorrect API key provided: ", 1, true), err.message)
    assert.falsy(tostring(err):find(H.key, 1, true), tostring(err))
    assert.truthy(tostring(err):find("[redacted]", 1, true), tostring(err))
    for k, v in pairs(err) do
      if type(v) == "string" then assert.falsy(v:find(H.key, 1, true), "err." .. k) end
    end
  end)

  it("is kind too_large for a body over max_response_bytes", function()
    local c = H.client { max_response_bytes = 1000 }
    local res, err, meta = c:request { url = "/v1/bytes?n=5000", response_type = "binary" }
    assert.is_nil(res)
    assert.is_true(openai.is_error(err))
    assert.equal("too_large", err.kind)
    assert.equal(1, err.attempts)
    assert.equal(1, meta.attempts)
    -- at the cap it still passes
    local ok, err2 = c:request { url = "/v1/bytes?n=1000", response_type = "binary" }
    assert.is_nil(err2)
    assert.equal(1000, #ok)
  end)

  it("is kind too_large with a per-call max_response_bytes", function()
    local res, err = client:request { url = "/v1/bytes?n=5000", response_type = "binary",
                                      max_response_bytes = 4999 }
    assert.is_nil(res)
    assert.equal("too_large", err.kind)
  end)
end)
