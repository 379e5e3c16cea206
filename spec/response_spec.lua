-- spec/response_spec.lua: client:response (Create Response).
local H = require "support.helper"
local openai = require "openai"

describe("response", function()
  local c

  before_each(function()
    H.reset()
    c = H.client()
  end)

  local function refused(p, expected)
    local e = H.raises(c.response, c, p)
    if expected:sub(1, 1) == "^" then
      assert.truthy(e:find(expected), e)
    else
      assert.equal(expected, e)
    end
    assert.same({}, H.requests())
  end

  it("sends POST /v1/responses with the default model gpt-4.1 and the input string", function()
    local res, err, meta = c:response({ input = "Hello" })
    assert.is_nil(err)
    assert.is_table(res)
    local reqs = H.requests()
    assert.equal(1, #reqs)
    local rec = reqs[1]
    assert.equal("POST", rec.method)
    assert.equal("/v1/responses", rec.path)
    assert.equal("application/json", rec.headers["content-type"])
    assert.same({ model = "gpt-4.1", input = "Hello" }, rec.json)
    assert.equal(200, meta.status)
    assert.equal(rec.id, meta.request_id)
    assert.equal(1, meta.attempts)
  end)

  it("returns the response with its output text", function()
    local res, err = c:response({ input = "Hello there" })
    assert.is_nil(err)
    assert.equal("response", res.object)
    assert.equal("completed", res.status)
    assert.equal("gpt-4.1", res.model)
    assert.equal(1, #res.output)
    local item = res.output[1]
    assert.equal("message", item.type)
    assert.equal("assistant", item.role)
    assert.equal("output_text", item.content[1].type)
    assert.equal("You said: Hello there", item.content[1].text)
    assert.is_number(res.usage.total_tokens)
  end)

  it("sends the model given", function()
    assert.is_table((c:response({ input = "Hi", model = "gpt-4o-mini" })))
    assert.same({ model = "gpt-4o-mini", input = "Hi" }, H.last().json)
  end)

  it("sends an array of input items as given", function()
    local input = {
      { role = "system", content = "Be brief." },
      { role = "user", content = { { type = "input_text", text = "What is 2+2?" },
                                   { type = "input_image", image_url = "https://example.com/a.png" } } },
    }
    local res, err = c:response({ input = input })
    assert.is_nil(err)
    assert.same({ model = "gpt-4.1", input = input }, H.last().json)
    assert.equal("You said: What is 2+2?", res.output[1].content[1].text)
  end)

  it("passes instructions, tools and other fields through", function()
    local p = {
      input = "Weather in Paris?",
      instructions = "Answer in French.",
      tools = { { type = "function", name = "get_weather",
                  parameters = { type = "object", properties = { city = { type = "string" } },
                                 required = { "city" } } },
                { type = "web_search_preview" } },
      temperature = 0.3, max_output_tokens = 100, store = false,
      previous_response_id = "resp_123", metadata = { run = "42" },
      text = { format = { type = "text" } },
    }
    local res, err = c:response(p)
    assert.is_nil(err)
    local expected = {}
    for k, v in pairs(p) do expected[k] = v end
    expected.model = "gpt-4.1"
    assert.same(expected, H.last().json)
    assert.equal("Answer in French.", res.instructions)
    assert.equal(false, res.store)
  end)

  it("does not send call options in the body", function()
    assert.is_table((c:response({ input = "Hi", timeout = 5000, max_retries = 1, headers = { ["X-R"] = "1" } })))
    local rec = H.last()
    assert.same({ model = "gpt-4.1", input = "Hi" }, rec.json)
    assert.equal("1", rec.headers["x-r"])
  end)

  describe("argument errors", function()
    it("input missing", function()
      refused({}, "^openai%.response: 'input' must be a non%-empty string or array %(got ")
      refused({ model = "gpt-4.1" }, "^openai%.response: 'input' must be a non%-empty string or array")
    end)

    it("input empty", function()
      refused({ input = "" }, "openai.response: 'input' must be a non-empty string or array (got '')")
      refused({ input = {} }, "openai.response: 'input' must be a non-empty array (got a table)")
    end)

    it("input a number or a boolean", function()
      refused({ input = 5 }, "openai.response: 'input' must be a non-empty string or array (got 5)")
      refused({ input = true }, "openai.response: 'input' must be a non-empty string or array (got true)")
    end)

    it("input with invalid UTF-8", function()
      refused({ input = "caf\233" }, "openai.response: 'input' must be valid UTF-8 (got 'caf?')")
      refused({ input = { { role = "user", content = "caf\233" } } },
              "^openai%.response: 'input%[1%]%.content' .*UTF%-8")
    end)

    it("model empty or with CR/LF", function()
      refused({ input = "Hi", model = "" }, "openai.response: 'model' must be a non-empty string (got '')")
      refused({ input = "Hi", model = "gpt\n4" }, "openai.response: 'model' must not contain NUL, CR or LF (got 'gpt?4')")
    end)

    it("stream = true", function()
      refused({ input = "Hi", stream = true },
              "openai.response: 'stream' is not taken here: use response_stream for a stream (got true)")
    end)

    it("params not a table, and a dot call", function()
      assert.equal("openai.response: 'params' must be a table (got 'Hello')", H.raises(c.response, c, "Hello"))
      assert.equal("openai.response: call it as client:response{...} or as openai.response{...}",
                   H.raises(c.response, { input = "Hello" }))
      assert.same({}, H.requests())
    end)

    it("a bad per-call timeout", function()
      refused({ input = "Hi", timeout = -1 },
              "openai.response: 'timeout' must be a whole number of milliseconds > 0 (got -1)")
    end)
  end)

  it("openai.response uses the configured default client", function()
    openai.configure({ api_key = "sk-resp", base_url = H.base })
    local res, err = openai.response({ input = "Hello" })
    assert.is_nil(err)
    assert.equal("You said: Hello", res.output[1].content[1].text)
    local rec = H.last()
    assert.equal("/v1/responses", rec.path)
    assert.equal("Bearer sk-resp", rec.headers["authorization"])
    assert.same({ model = "gpt-4.1", input = "Hello" }, rec.json)
  end)
end)
