-- spec/chat_spec.lua: client:chat and openai.chat (Create Chat Completion).
local H = require "support.helper"
local openai = require "openai"

local MSGS = { { role = "user", content = "hi" } }

-- the documented example messages
local SEED_MESSAGES = {
  { role = "system", content = "You are a helpful assistant." },
  { role = "user", content = "Who won the world series in 2020?" },
  { role = "assistant", content = "The Los Angeles Dodgers won the World Series in 2020." },
  { role = "user", content = "Where was it played?" },
}

local function copy(t)
  if type(t) ~= "table" then return t end
  local o = {}
  for k, v in pairs(t) do o[k] = copy(v) end
  return o
end

describe("chat", function()
  local c

  before_each(function()
    H.reset()
    c = H.client()
  end)

  it("sends the defaults: POST /v1/chat/completions, gpt-3.5-turbo; temperature, top_p and n (1, the API's own) left out", function()
    local res, err = c:chat({ messages = MSGS })
    assert.is_nil(err)
    assert.is_table(res)
    local reqs = H.requests()
    assert.equal(1, #reqs)
    local rec = reqs[1]
    assert.equal("POST", rec.method)
    assert.equal("/v1/chat/completions", rec.path)
    assert.equal("", rec.query)
    assert.same({
      model = "gpt-3.5-turbo",
      messages = { { role = "user", content = "hi" } },
    }, rec.json)
    assert.is_nil(rec.json.stream)
    -- not even as null: absent from the bytes sent
    local bytes = H.body_bytes(rec)
    for _, name in ipairs({ "temperature", "top_p", '"n"' }) do
      assert.is_nil(bytes:find(name, 1, true), name)
    end
  end)

  it("sends the values given instead of the defaults", function()
    local res, err = c:chat({ messages = MSGS, model = "gpt-4.1", temperature = 0.2, top_p = 0.5, n = 3 })
    assert.is_nil(err)
    assert.equal(3, #res.choices)
    assert.same({
      model = "gpt-4.1", temperature = 0.2, top_p = 0.5, n = 3,
      messages = { { role = "user", content = "hi" } },
    }, H.last().json)
  end)

  it("accepts the range limits: temperature 0 and 2, top_p 0 and 1", function()
    assert.is_table((c:chat({ messages = MSGS, temperature = 0, top_p = 0 })))
    local rec = H.last()
    assert.equal(0, rec.json.temperature)
    assert.equal(0, rec.json.top_p)
    assert.is_table((c:chat({ messages = MSGS, temperature = 2, top_p = 1 })))
    rec = H.last()
    assert.equal(2, rec.json.temperature)
    assert.equal(1, rec.json.top_p)
    -- an integral float n goes as an integer
    assert.is_table((c:chat({ messages = MSGS, n = 2.0 })))
    assert.truthy(H.body_bytes(H.last()):find('"n":2[,}]'))
  end)

  it("sends the documented example messages in order, untouched", function()
    local res, err = c:chat({ messages = SEED_MESSAGES })
    assert.is_nil(err)
    assert.same(SEED_MESSAGES, H.last().json.messages)
    assert.equal("You said: Where was it played?", res.choices[1].message.content)
    -- the caller's table is not changed
    assert.same({ role = "user", content = "Where was it played?" }, SEED_MESSAGES[4])
    assert.is_nil(SEED_MESSAGES.model)
  end)

  it("passes unknown fields through untouched", function()
    local params = {
      messages = MSGS,
      tools = {
        { type = "function", ["function"] = {
          name = "get_weather", description = "Weather of a city",
          parameters = { type = "object", properties = { city = { type = "string" } },
                         required = { "city" }, additionalProperties = false },
        } },
      },
      tool_choice = "auto",
      response_format = { type = "json_schema", json_schema = {
        name = "answer", strict = true,
        schema = { type = "object", properties = { a = { type = "integer" } } },
      } },
      max_tokens = 50, seed = 42, user = "user-1234",
      logit_bias = { ["50256"] = -100 },
      metadata = { deep = { deeper = { list = { 1, 2, 3 }, flag = false } } },
      parallel_tool_calls = false,
      frequency_penalty = 0.5,
      stop = { "END", "\n\n" },
    }
    local sent = copy(params)
    local res, err = c:chat(params)
    assert.is_nil(err)
    local expected = copy(params)
    expected.model = "gpt-3.5-turbo"
    assert.same(expected, H.last().json)
    assert.same(sent, params) -- the caller's table is not changed
    -- the stand-in answers a tools request with a tool call
    assert.equal("tool_calls", res.choices[1].finish_reason)
    assert.equal("get_weather", res.choices[1].message.tool_calls[1]["function"].name)
  end)

  it("returns the decoded body and meta (status, request_id, attempts, headers)", function()
    local res, err, meta = c:chat({ messages = MSGS })
    assert.is_nil(err)
    assert.equal("chat.completion", res.object)
    assert.equal("assistant", res.choices[1].message.role)
    assert.equal("You said: hi", res.choices[1].message.content)
    assert.equal("stop", res.choices[1].finish_reason)
    assert.equal("gpt-3.5-turbo", res.model)
    assert.is_number(res.usage.total_tokens)
    assert.equal(200, meta.status)
    assert.equal(H.last().id, meta.request_id)
    assert.equal("req_1", meta.request_id)
    assert.equal(1, meta.attempts)
    assert.is_table(meta.headers)
    assert.equal("req_1", meta.headers["x-request-id"])
    assert.equal("application/json", meta.headers["content-type"])
  end)

  it("n = 2 gives 2 choices", function()
    local res, err = c:chat({ messages = MSGS, n = 2 })
    assert.is_nil(err)
    assert.equal(2, #res.choices)
    assert.equal(0, res.choices[1].index)
    assert.equal(1, res.choices[2].index)
    assert.equal("You said: hi", res.choices[1].message.content)
    assert.equal("You said: hi [1]", res.choices[2].message.content)
    assert.equal(2, H.last().json.n)
  end)

  it("allows nil content on an assistant message with tool_calls", function()
    local messages = {
      { role = "user", content = "Weather in Paris?" },
      { role = "assistant", tool_calls = { { id = "call_1", type = "function",
        ["function"] = { name = "get_weather", arguments = '{"city":"Paris"}' } } } },
      { role = "tool", tool_call_id = "call_1", content = "18C, sunny" },
    }
    local res, err = c:chat({ messages = messages })
    assert.is_nil(err)
    assert.equal("You said: 18C, sunny", res.choices[1].message.content)
    local got = H.last().json.messages
    assert.equal(3, #got)
    assert.is_nil(got[2].content)
    assert.equal("call_1", got[2].tool_calls[1].id)
    assert.equal('{"city":"Paris"}', got[2].tool_calls[1]["function"].arguments)
    -- openai.null as content goes as JSON null
    assert.is_table((c:chat({ messages = { messages[1],
      { role = "assistant", content = openai.null, tool_calls = messages[2].tool_calls }, messages[3] } })))
    assert.truthy(H.body_bytes(H.last()):find('"content":null', 1, true))
  end)

  it("sends content with a NUL byte as is", function()
    local res, err = c:chat({ messages = { { role = "user", content = "a\0b" } } })
    assert.is_nil(err)
    assert.equal("a\0b", H.last().json.messages[1].content)
    assert.truthy(H.body_bytes(H.last()):find("a\\u0000b", 1, true))
    assert.equal("You said: a\0b", res.choices[1].message.content)
  end)

  it("sends non-ASCII content as UTF-8", function()
    local text = "héllo wörld ✓ 😀"
    assert.is_table((c:chat({ messages = { { role = "user", content = text } } })))
    assert.equal(text, H.last().json.messages[1].content)
  end)

  it("sends content parts arrays as given", function()
    local messages = { { role = "user", content = {
      { type = "text", text = "What is in this image?" },
      { type = "image_url", image_url = { url = "https://example.com/cat.png", detail = "low" } },
    } } }
    local res, err = c:chat({ messages = messages })
    assert.is_nil(err)
    assert.same(messages, H.last().json.messages)
    assert.equal("You said: What is in this image?", res.choices[1].message.content)
  end)

  it("does not send call options (timeout, max_retries, headers) in the body", function()
    local res, err = c:chat({ messages = MSGS, timeout = 5000, max_retries = 0,
                              headers = { ["X-Call"] = "1" } })
    assert.is_nil(err)
    assert.is_table(res)
    local rec = H.last()
    assert.is_nil(rec.json.timeout)
    assert.is_nil(rec.json.max_retries)
    assert.is_nil(rec.json.headers)
    assert.equal("1", rec.headers["x-call"])
    assert.falsy(H.body_bytes(rec):find("timeout", 1, true))
  end)

  it("a table used twice is not a cycle", function()
    local part = { type = "text", text = "same" }
    local res, err = c:chat({ messages = { { role = "user", content = { part, part } } } })
    assert.is_nil(err)
    assert.is_table(res)
    assert.same({ part, part }, H.last().json.messages[1].content)
  end)

  describe("argument errors: exact message, nothing sent", function()
    local bad_utf8 = "caf\233"
    local cases = {
      { "messages empty", { messages = {} },
        "openai.chat: 'messages' must be a non-empty array (got a table)" },
      { "messages an object", { messages = { role = "user", content = "hi" } },
        "openai.chat: 'messages' must be a non-empty array (got a table)" },
      { "messages a string", { messages = "hi" },
        "openai.chat: 'messages' must be a non-empty array (got 'hi')" },
      { "messages with a non-index key", { messages = { { role = "user", content = "hi" }, extra = 1 } },
        "openai.chat: 'messages' must be an array (a table with keys 1..n) (got 'extra')" },
      { "messages with a hole", { messages = { { role = "user", content = "a" }, nil, { role = "user", content = "b" } } },
        nil, "^openai%.chat: 'messages[%[']" },
      { "an element not a table", { messages = { "hi" } },
        "openai.chat: 'messages[1]' must be a table (got 'hi')" },
      { "the second element not a table", { messages = { { role = "user", content = "hi" }, 5 } },
        "openai.chat: 'messages[2]' must be a table (got 5)" },
      { "role empty", { messages = { { role = "", content = "hi" } } },
        "openai.chat: 'messages[1].role' must be a non-empty string (got '')" },
      { "role a number", { messages = { { role = 1, content = "hi" } } },
        "openai.chat: 'messages[1].role' must be a non-empty string (got 1)" },
      { "content missing (user)", { messages = { { role = "user", content = "ok" }, { role = "user" } } },
        nil, "^openai%.chat: 'messages%[2%]%.content' is required" },
      { "content missing (assistant without tool_calls)", { messages = { { role = "assistant" } } },
        nil, "^openai%.chat: 'messages%[1%]%.content' is required" },
      { "content a number", { messages = { { role = "user", content = 5 } } },
        "openai.chat: 'messages[1].content' must be a string (got 5)" },
      { "content an empty table", { messages = { { role = "user", content = {} } } },
        "openai.chat: 'messages[1].content' must not be empty (got a table)" },
      { "content with invalid UTF-8", { messages = { { role = "user", content = bad_utf8 } } },
        "openai.chat: 'messages[1].content' must be valid UTF-8 (got 'caf?')" },
      { "content with an encoded UTF-16 surrogate", { messages = { { role = "user", content = "a\237\160\128b" } } },
        "openai.chat: 'messages[1].content' must be valid UTF-8 (got 'a???b')" },
      { "temperature 3", { messages = MSGS, temperature = 3 },
        "openai.chat: 'temperature' must be a number in [0, 2] (got 3)" },
      { "temperature -0.1", { messages = MSGS, temperature = -0.1 },
        "openai.chat: 'temperature' must be a number in [0, 2] (got -0.1)" },
      { "temperature 2.1", { messages = MSGS, temperature = 2.1 },
        "openai.chat: 'temperature' must be a number in [0, 2] (got 2.1)" },
      { "temperature NaN", { messages = MSGS, temperature = 0 / 0 },
        "openai.chat: 'temperature' must be a number in [0, 2] (got nan)" },
      { "temperature inf", { messages = MSGS, temperature = math.huge },
        "openai.chat: 'temperature' must be a number in [0, 2] (got inf)" },
      { "temperature a string", { messages = MSGS, temperature = "1" },
        "openai.chat: 'temperature' must be a number in [0, 2] (got '1')" },
      { "top_p 1.5", { messages = MSGS, top_p = 1.5 },
        "openai.chat: 'top_p' must be a number in [0, 1] (got 1.5)" },
      { "top_p -0.1", { messages = MSGS, top_p = -0.1 },
        "openai.chat: 'top_p' must be a number in [0, 1] (got -0.1)" },
      { "top_p a string", { messages = MSGS, top_p = "0.5" },
        "openai.chat: 'top_p' must be a number in [0, 1] (got '0.5')" },
      { "n 0", { messages = MSGS, n = 0 },
        "openai.chat: 'n' must be an integer from 1 to 128 (got 0)" },
      { "n 1.5", { messages = MSGS, n = 1.5 },
        "openai.chat: 'n' must be an integer from 1 to 128 (got 1.5)" },
      { "n a string", { messages = MSGS, n = "2" },
        "openai.chat: 'n' must be an integer from 1 to 128 (got '2')" },
      { "model empty", { messages = MSGS, model = "" },
        "openai.chat: 'model' must be a non-empty string (got '')" },
      { "model with CR", { messages = MSGS, model = "gpt-4\r" },
        "openai.chat: 'model' must not contain NUL, CR or LF (got 'gpt-4?')" },
      { "model a number", { messages = MSGS, model = 4 },
        "openai.chat: 'model' must be a non-empty string (got 4)" },
      { "stream = true", { messages = MSGS, stream = true },
        "openai.chat: 'stream' is not taken here: use chat_stream for a stream (got true)" },
      { "max_tokens 0", { messages = MSGS, max_tokens = 0 },
        "openai.chat: 'max_tokens' must be an integer >= 1 (got 0)" },
      { "tools not a table", { messages = MSGS, tools = "get_weather" },
        "openai.chat: 'tools' must be a table (got 'get_weather')" },
      { "timeout 0", { messages = MSGS, timeout = 0 },
        "openai.chat: 'timeout' must be a whole number of milliseconds > 0 (got 0)" },
      { "max_retries -1", { messages = MSGS, max_retries = -1 },
        "openai.chat: 'max_retries' must be an integer from 0 to 100 (got -1)" },
    }
    for _, case in ipairs(cases) do
      it(case[1], function()
        local e = H.raises(c.chat, c, case[2])
        if case[3] then assert.equal(case[3], e) else assert.truthy(e:find(case[4]), e) end
        assert.same({}, H.requests())
      end)
    end

    it("params not a table", function()
      assert.equal("openai.chat: 'params' must be a table (got 'hi')", H.raises(c.chat, c, "hi"))
      assert.equal("openai.chat: 'params' must be a table (got 5)", H.raises(c.chat, c, 5))
      local e = H.raises(c.chat, c)
      assert.truthy(e:find("^openai%.chat: 'params' must be a table %(got "), e)
      assert.same({}, H.requests())
    end)

    it("calling with a dot (client.chat{...})", function()
      local e = H.raises(c.chat, { messages = MSGS })
      assert.equal("openai.chat: call it as client:chat{...} or as openai.chat{...}", e)
      assert.same({}, H.requests())
    end)

    it("shows a missing value as (got nil)", function()
      assert.equal("openai.chat: 'messages' must be a non-empty array (got nil)",
                   H.raises(c.chat, c, {}))
      assert.equal("openai.chat: 'messages[1].role' must be a non-empty string (got nil)",
                   H.raises(c.chat, c, { messages = { { content = "hi" } } }))
      assert.equal("openai.chat: 'messages[1].content' is required (got nil)",
                   H.raises(c.chat, c, { messages = { { role = "user" } } }))
      assert.same({}, H.requests())
    end)

    it("a table with a cycle names the field", function()
      local meta = { a = 1 }
      meta.self = meta
      assert.equal("openai.chat: 'metadata.self' contains a cycle",
                   H.raises(c.chat, c, { messages = MSGS, metadata = meta }))
      local msgs = { { role = "user", content = "hi" } }
      msgs[1].extra = msgs
      assert.equal("openai.chat: 'messages[1].extra' contains a cycle",
                   H.raises(c.chat, c, { messages = msgs }))
      assert.same({}, H.requests())
    end)

    it("invalid UTF-8 inside content parts names the part", function()
      local e = H.raises(c.chat, c, { messages = { { role = "user", content = {
        { type = "text", text = "fine" }, { type = "text", text = "bad \255" } } } } })
      assert.truthy(e:find("^openai%.chat: 'messages%[1%]%.content%[2%]%.text' "), e)
      assert.truthy(e:find("UTF%-8"), e)
      assert.same({}, H.requests())
    end)
  end)

  describe("openai.chat", function()
    it("sends through the configured default client, with the same defaults", function()
      openai.configure({ api_key = "sk-mod", base_url = H.base })
      local res, err, meta = openai.chat({ messages = SEED_MESSAGES })
      assert.is_nil(err)
      assert.equal("You said: Where was it played?", res.choices[1].message.content)
      assert.equal(200, meta.status)
      assert.equal(1, meta.attempts)
      local rec = H.last()
      assert.equal("/v1/chat/completions", rec.path)
      assert.equal("Bearer sk-mod", rec.headers["authorization"])
      assert.same({ model = "gpt-3.5-turbo", messages = SEED_MESSAGES }, rec.json)
    end)

    it("raises the same argument errors, sending nothing", function()
      openai.configure({ api_key = "sk-mod", base_url = H.base })
      assert.equal("openai.chat: 'temperature' must be a number in [0, 2] (got 3)",
                   H.raises(openai.chat, { messages = MSGS, temperature = 3 }))
      assert.equal("openai.chat: 'params' must be a table (got 'hi')", H.raises(openai.chat, "hi"))
      assert.same({}, H.requests())
    end)
  end)
end)
