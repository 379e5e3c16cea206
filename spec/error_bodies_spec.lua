-- The error bodies of OpenAI-compatible servers keep their words
-- (docs/DESIGN.md "Errors"): FastAPI's detail (a string, or a list of
-- validation errors), Gemini's list of error objects, Ollama's error
-- string, a bare message, and the text or HTML page of a proxy. The words
-- are err.message, redacted of any key and then cut to 200 bytes.
-- spec/nginx_transport_spec.lua runs the same shapes over cosockets.

local H = require "support.helper"
local SHAPES = require "support.error_shapes"

local KEY = "sk-proj-" .. ("Zq9_x"):rep(31) .. "abcd"     -- 163 characters

describe("error bodies of compatible servers", function()
  local client

  before_each(function()
    H.reset()
    client = H.client { api_key = KEY, max_retries = 0 }
  end)

  it("give err.message the server's words, whatever their shape", function()
    for _, row in ipairs(SHAPES) do
      local what = row.shape .. " " .. row.status
      H.script("/v1/models", { { status = row.status, error_shape = row.shape, message = row.message } })
      local res, err = client:models()
      assert.is_nil(res, what)
      assert.equal("api", err.kind, what)
      assert.equal(row.status, err.status, what)
      assert.equal(row.want, err.message, what)
      if row.code then assert.equal(row.code, err.code, what) end
      assert.truthy(tostring(err):find(row.want, 1, true), tostring(err))
    end
  end)

  it("keep the words of a stream's request too", function()
    H.script("/v1/chat/completions", { { status = 400, error_shape = "fastapi", message = "bad prompt" } })
    local s, err = client:chat_stream { messages = H.msgs() }
    assert.is_nil(s)
    assert.equal("bad prompt", err.message)
  end)

  it("redact a key the server echoes, then cut the words to 200 bytes", function()
    local words = ("w"):rep(185) .. " key @KEY@ was refused"
    for _, shape in ipairs({ "text", "html", "fastapi", "ollama" }) do
      H.script("/v1/models", { { status = 401, error_shape = shape, message = words, echo_key = "@KEY@" } })
      local _, err = client:models()
      assert.falsy(err.message:find(KEY:sub(1, 12), 1, true), shape .. ": " .. err.message)
      assert.falsy(tostring(err):find(KEY:sub(1, 12), 1, true), shape)
      assert.equal(("w"):rep(185), err.message:sub(1, 185), shape)
      assert.truthy(err.message:find("[red", 186, true), shape .. ": " .. err.message)
      if shape == "text" or shape == "html" then
        assert.equal(200, #err.message, shape)
      end
    end
  end)

  it("fall back to the status when the body has no words", function()
    H.script("/v1/models", { { status = 503, body = "" }, { status = 502, body = "<html><body></body></html>" },
                             { status = 500, body = '{"detail":[]}' } })
    local _, err = client:models()
    assert.equal("HTTP 503", err.message)
    _, err = client:models()
    assert.equal("HTTP 502", err.message)
    _, err = client:models()
    assert.equal('{"detail":[]}', err.message)
  end)
end)
