-- spec/models_spec.lua: client:models (List Models) and client:model (Get Model by ID).
local H = require "support.helper"
local openai = require "openai"

describe("models", function()
  local c

  before_each(function()
    H.reset()
    c = H.client()
  end)

  it("models() sends GET /v1/models with no body and returns the list", function()
    local res, err, meta = c:models()
    assert.is_nil(err)
    local rec = H.last()
    assert.equal(1, #H.requests())
    assert.equal("GET", rec.method)
    assert.equal("/v1/models", rec.path)
    assert.equal("", rec.query)
    assert.equal("", H.body_bytes(rec))
    assert.is_nil(rec.headers["content-type"])
    assert.equal("list", res.object)
    local ids = {}
    for _, m in ipairs(res.data) do
      assert.equal("model", m.object)
      ids[m.id] = true
    end
    assert.is_true(ids["gpt-4.1"])
    assert.is_true(ids["gpt-3.5-turbo"])
    assert.is_true(ids["ft:gpt-4o-mini:acme:demo:abc123"])
    assert.equal(200, meta.status)
    assert.equal(rec.id, meta.request_id)
    assert.equal(1, meta.attempts)
  end)

  it("model('gpt-4.1') sends GET /v1/models/gpt-4.1", function()
    local res, err, meta = c:model("gpt-4.1")
    assert.is_nil(err)
    local rec = H.last()
    assert.equal("GET", rec.method)
    assert.equal("/v1/models/gpt-4.1", rec.path)
    assert.equal("", H.body_bytes(rec))
    assert.same({ id = "gpt-4.1", object = "model", created = 1744316542, owned_by = "system" }, res)
    assert.equal(200, meta.status)
  end)

  it("escapes a fine-tuned id as one path segment", function()
    local id = "ft:gpt-4o-mini:acme:demo:abc123"
    local res, err = c:model(id)
    assert.is_nil(err)
    assert.equal("/v1/models/ft%3Agpt-4o-mini%3Aacme%3Ademo%3Aabc123", H.last().path)
    assert.equal(id, res.id)
    assert.equal("acme", res.owned_by)
  end)

  it("escapes '/' in an id; an unknown model is a 404 api error", function()
    local res, err, meta = c:model("a/b")
    assert.is_nil(res)
    assert.equal("/v1/models/a%2Fb", H.last().path)
    assert.equal(1, #H.requests())
    assert.is_true(openai.is_error(err))
    assert.equal("api", err.kind)
    assert.equal(404, err.status)
    assert.equal("model_not_found", err.code)
    assert.equal("invalid_request_error", err.type)
    assert.equal("model", err.param)
    assert.equal("NotFoundError", err.name)
    assert.equal("The model 'a/b' does not exist", err.message)
    assert.equal(H.last().id, err.request_id)
    assert.equal(1, err.attempts)
    assert.equal(404, meta.status)
    assert.equal(H.last().id, meta.request_id)
    local s = tostring(err)
    assert.truthy(s:find("404", 1, true), s)
    assert.falsy(s:find(H.key, 1, true), s)
  end)

  it("escapes other reserved bytes in an id", function()
    local cases = {
      { "a b", "/v1/models/a%20b" },
      { "a?b#c", "/v1/models/a%3Fb%23c" },
      { "a%b", "/v1/models/a%25b" },
      { "é", "/v1/models/%C3%A9" },
    }
    for _, case in ipairs(cases) do
      H.reset()
      local res, err = c:model(case[1])
      assert.is_nil(res)
      assert.equal(404, err.status)
      assert.equal(case[2], H.last().path)
      assert.equal(1, #H.requests())
    end
  end)

  it("never lets an id of dots ('.', '..') reach another path", function()
    -- either refused naming 'model' (nothing sent), or sent escaped as one segment
    for _, case in ipairs({ { "..", "/v1/models/%2E%2E" }, { ".", "/v1/models/%2E" } }) do
      H.reset()
      local ok, res, err = pcall(c.model, c, case[1])
      if ok then
        assert.is_nil(res)
        assert.equal(404, err.status)
        assert.equal(1, #H.requests())
        assert.equal(case[2], H.last().path)
      else
        assert.truthy(tostring(res):find("^openai%.model: 'model' "), res)
        assert.same({}, H.requests())
      end
    end
  end)

  describe("a bad id raises naming 'model', sending nothing", function()
    local cases = {
      { "empty", "", "openai.model: 'model' must be a non-empty string (got '')" },
      { "a number", 5, "openai.model: 'model' must be a non-empty string (got 5)" },
      { "with CR LF", "a\r\nb", "openai.model: 'model' must not contain NUL, CR or LF (got 'a??b')" },
      { "with NUL", "a\0b", "openai.model: 'model' must not contain NUL, CR or LF (got 'a?b')" },
      { "invalid UTF-8", "caf\233", "openai.model: 'model' must be valid UTF-8 (got 'caf?')" },
    }
    for _, case in ipairs(cases) do
      it(case[1], function()
        assert.equal(case[3], H.raises(c.model, c, case[2]))
        assert.same({}, H.requests())
      end)
    end

    it("nil", function()
      local e = H.raises(c.model, c)
      assert.truthy(e:find("^openai%.model: 'model' must be a non%-empty string %(got "), e)
      local e2 = H.raises(c.model, c, nil, { timeout = 1000 })
      assert.truthy(e2:find("^openai%.model: 'model' must be a non%-empty string"), e2)
      assert.same({}, H.requests())
    end)

    it("in the table form", function()
      local e = H.raises(c.model, c, { model = "" })
      assert.equal("openai.model: 'model' must be a non-empty string (got '')", e)
      local e2 = H.raises(c.model, c, { timeout = 1000 })
      assert.truthy(e2:find("^openai%.model: 'model' must be a non%-empty string"), e2)
      assert.same({}, H.requests())
    end)
  end)

  it("takes the table form client:model{model = ...}", function()
    local res, err = c:model({ model = "gpt-4.1" })
    assert.is_nil(err)
    assert.equal("gpt-4.1", res.id)
    assert.equal("/v1/models/gpt-4.1", H.last().path)
    local res2 = c:model({ model = "ft:gpt-4o-mini:acme:demo:abc123", timeout = 5000 })
    assert.equal("ft:gpt-4o-mini:acme:demo:abc123", res2.id)
    assert.equal("/v1/models/ft%3Agpt-4o-mini%3Aacme%3Ademo%3Aabc123", H.last().path)
  end)

  it("accepts a per-call timeout and headers", function()
    local res, err = c:model("gpt-4.1", { timeout = 5000, headers = { ["X-M"] = "1" } })
    assert.is_nil(err)
    assert.equal("gpt-4.1", res.id)
    assert.equal("1", H.last().headers["x-m"])
    local list, err2 = c:models({ timeout = 5000 })
    assert.is_nil(err2)
    assert.equal("list", list.object)
    assert.equal("", H.body_bytes(H.last()))
  end)

  it("applies the per-call timeout", function()
    H.script("/v1/models/gpt-4.1", { { delay_ms = 1500 } })
    local t0 = H.now()
    local res, err, meta = c:model("gpt-4.1", { timeout = 200, max_retries = 0 })
    local took = H.now() - t0
    assert.is_nil(res)
    assert.equal("timeout", err.kind)
    assert.equal(1, err.attempts)
    assert.is_table(meta)
    assert.is_true(took >= 150, tostring(took))
    assert.is_true(took < 1200, tostring(took))
  end)

  it("refuses bad per-call options", function()
    assert.equal("openai.model: 'timeout' must be a whole number of milliseconds > 0 (got 0)",
                 H.raises(c.model, c, "gpt-4.1", { timeout = 0 }))
    assert.equal("openai.models: 'timeout' must be a whole number of milliseconds > 0 (got 'fast')",
                 H.raises(c.models, c, { timeout = "fast" }))
    assert.equal("openai.model: 'opts' must be a table (got 5000)", H.raises(c.model, c, "gpt-4.1", 5000))
    assert.equal("openai.models: 'opts' must be a table (got 5000)", H.raises(c.models, c, 5000))
    assert.same({}, H.requests())
  end)

  it("refuses a dot call", function()
    assert.equal("openai.models: call it as client:models{...} or as openai.models{...}", H.raises(c.models))
    assert.equal("openai.model: call it as client:model{...} or as openai.model{...}", H.raises(c.model, "gpt-4.1"))
    assert.same({}, H.requests())
  end)

  it("openai.models and openai.model use the configured default client", function()
    openai.configure({ api_key = "sk-models", base_url = H.base })
    local list, err = openai.models()
    assert.is_nil(err)
    assert.equal("list", list.object)
    local one, err2 = openai.model("dall-e-3")
    assert.is_nil(err2)
    assert.equal("dall-e-3", one.id)
    local reqs = H.requests()
    assert.equal(2, #reqs)
    assert.equal("/v1/models", reqs[1].path)
    assert.equal("/v1/models/dall-e-3", reqs[2].path)
    for _, rec in ipairs(reqs) do assert.equal("Bearer sk-models", rec.headers["authorization"]) end
  end)
end)
