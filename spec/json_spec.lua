-- spec/json_spec.lua: what goes on the wire as JSON: empty arrays, null,
-- values JSON cannot carry, and field paths in the errors.
local H = require "support.helper"
local openai = require "openai"

local MSGS = { { role = "user", content = "hi" } }

describe("json", function()
  local c

  before_each(function()
    H.reset()
    c = H.client()
  end)

  local function raw()
    return H.body_bytes(H.last())
  end

  local function has(text, needle)
    assert.truthy(text:find(needle, 1, true), "expected " .. needle .. " in " .. text)
  end

  -- POST data to /v1/echo and return the raw body that arrived
  local function echo(data)
    local res, err = c:request({ method = "POST", url = "/v1/echo", data = data })
    assert.is_nil(err)
    assert.is_table(res)
    return raw()
  end

  describe("empty arrays", function()
    it("tools = {} is sent as []", function()
      assert.is_table((c:chat({ messages = MSGS, tools = {} })))
      has(raw(), '"tools":[]')
      assert.is_table(H.last().json.tools)
      assert.equal(0, #H.last().json.tools)
    end)

    it("stop = {} is sent as []", function()
      assert.is_table((c:chat({ messages = MSGS, stop = {} })))
      has(raw(), '"stop":[]')
    end)

    it("openai.array{} is sent as [] anywhere", function()
      assert.is_table((c:chat({ messages = MSGS, metadata = { tags = openai.array{} },
                                 extra = { deep = { list = openai.array() } }, top = openai.array({}) })))
      local body = raw()
      has(body, '"tags":[]')
      has(body, '"list":[]')
      has(body, '"top":[]')
      assert.equal("[]", echo(openai.array{}))
    end)

    it("openai.array keeps a non-empty array an array", function()
      local t = openai.array({ 1, "two", true })
      assert.equal('[1,"two",true]', echo(t))
    end)

    it("an unknown empty table is sent as {}", function()
      assert.is_table((c:chat({ messages = MSGS, metadata = {}, extra = { nested = {} } })))
      local body = raw()
      has(body, '"metadata":{}')
      has(body, '"nested":{}')
    end)

    it("an empty table as the whole body of a raw request is sent as {}", function()
      assert.equal("{}", echo({}))
    end)

    it("an empty array read from a Responses API answer is sent back as []", function()
      local res, err = c:response({ input = "Hello" })
      assert.is_nil(err)
      local part = res.output[1].content[1]
      assert.is_table(part.annotations)
      assert.is_nil(next(part.annotations))
      local body = echo(res)
      has(body, '"annotations":[]')
      has(body, '"tools":[]')
      has(body, '"metadata":{}')
      -- and when the part alone is sent
      has(echo(part), '"annotations":[]')
    end)

    it("empty arrays read from any JSON answer are sent back as [], objects as {}", function()
      H.script("/v1/thing", { { body = '{"weird":[],"nested":{"x":[ ]},"obj":{},"arr":[1,[],{}],'
                                       .. '"s":"[]","t":"a\\"[]","u":"\\u005b]"}' } })
      local thing, err = c:request({ url = "/v1/thing" })
      assert.is_nil(err)
      -- strings that look like [] stay strings
      assert.equal("[]", thing.s)
      assert.equal('a"[]', thing.t)
      assert.equal("[]", thing.u)
      local body = echo(thing)
      has(body, '"weird":[]')
      has(body, '"x":[]')
      has(body, '"obj":{}')
      has(body, '"arr":[1,[],{}]')
      has(body, '"s":"[]"')
      has(body, '"u":"[]"')
      local back = H.last().json
      assert.equal("[]", back.s)
      assert.equal('a"[]', back.t)
    end)

    it("empty arrays in a typed action's answer are sent back as [], however many", function()
      H.script("/v1/chat/completions", { { body = '{"id":"c1","object":"chat.completion","created":1,'
        .. '"model":"m","choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant",'
        .. '"content":"[]","annotations":[],"tool_calls":[ ]}}],"x_list":[[],[1,[]]],"x_deep":'
        .. '{"a":{"b":{"c":[]}}}}' } })
      local res = assert(c:chat { messages = MSGS })
      assert.equal("[]", res.choices[1].message.content)
      local body = echo({ message = res.choices[1].message, x_list = res.x_list, x_deep = res.x_deep })
      has(body, '"annotations":[]')
      has(body, '"tool_calls":[]')
      has(body, '"x_list":[[],[1,[]]]')
      has(body, '"c":[]')
      has(body, '"content":"[]"')
    end)

    it("empty arrays and objects in stream events are sent back as [] and {}, whatever strings hold", function()
      local ev = '{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,'
                 .. '"delta":{"content":%s}%s}]}'
      H.script("/v1/chat/completions", { { sse = {
        { data = ev:format('"a"', ',"arr":[ ],"obj":{}') },   -- both
        { data = ev:format('"x = [] {}"', "") },              -- only inside a string
        { data = ev:format('"[]"', ',"obj":{ }') },           -- "[]" in a string, a real {}
        { data = ev:format('"{}"', ',"arr":[]') },            -- "{}" in a string, a real []
        { data = "[DONE]" } } } })
      local s = assert(c:chat_stream({ messages = MSGS }))
      local got = {}
      for chunk in s:each() do got[#got + 1] = chunk.choices[1] end
      assert.equal(4, #got)
      local body = echo(got[1])
      has(body, '"arr":[]')
      has(body, '"obj":{}')
      body = echo(got[2])
      has(body, '"content":"x = [] {}"')
      assert.falsy(body:find(":[]", 1, true) or body:find(":{}", 1, true), body)
      body = echo(got[3])
      has(body, '"content":"[]"')
      has(body, '"obj":{}')
      body = echo(got[4])
      has(body, '"content":"{}"')
      has(body, '"arr":[]')
      assert.equal("ax = [] {}[]{}", s:result().choices[1].message.content)
    end)

    it("a top-level [] answer is sent back as []", function()
      H.script("/v1/thing", { { body = "[]" }, { body = " [ ] " } })
      local a = c:request({ url = "/v1/thing" })
      assert.equal("[]", echo(a))
      local b = c:request({ url = "/v1/thing" })
      assert.equal("[]", echo(b))
    end)

    it("an empty array from an answer, placed in a new chat call, stays []", function()
      H.script("/v1/thing", { { body = '{"stops":[],"labels":[]}' } })
      local thing = c:request({ url = "/v1/thing" })
      assert.is_table((c:chat({ messages = MSGS, metadata = { labels = thing.labels }, custom = thing.stops })))
      local body = raw()
      has(body, '"labels":[]')
      has(body, '"custom":[]')
    end)
  end)

  describe("null", function()
    it("openai.null is sent as null", function()
      assert.is_table((c:chat({ messages = MSGS, user = openai.null, metadata = { x = openai.null } })))
      local body = raw()
      has(body, '"user":null')
      has(body, '"x":null')
      assert.equal('{"a":null}', echo({ a = openai.null }))
    end)

    it("a null read from an answer is sent back as null", function()
      H.script("/v1/thing", { { body = '{"a":null,"b":[null,1]}' } })
      local thing = c:request({ url = "/v1/thing" })
      assert.equal(openai.null, thing.a)
      local body = echo(thing)
      has(body, '"a":null')
      has(body, '"b":[null,1]')
    end)
  end)

  describe("values JSON cannot carry raise naming the field, sending nothing", function()
    local function refused(p, pattern)
      local e = H.raises(c.chat, c, p)
      assert.truthy(e:find(pattern), e)
      assert.same({}, H.requests())
      return e
    end

    it("NaN", function()
      refused({ messages = MSGS, seed = 0 / 0 }, "^openai%.chat: 'seed' must be a finite number %(got %-?nan%)$")
      refused({ messages = MSGS, metadata = { score = -(0 / 0) } },
              "^openai%.chat: 'metadata%.score' must be a finite number %(got %-?nan%)$")
    end)

    it("inf and -inf", function()
      assert.equal("openai.chat: 'presence_penalty' must be a finite number (got inf)",
                   refused({ messages = MSGS, presence_penalty = math.huge }, "presence_penalty"))
      assert.equal("openai.chat: 'logit_bias.50256' must be a finite number (got -inf)",
                   refused({ messages = MSGS, logit_bias = { ["50256"] = -math.huge } }, "logit_bias"))
    end)

    it("a function", function()
      assert.equal("openai.chat: 'callback' cannot be sent as JSON (a function)",
                   refused({ messages = MSGS, callback = print }, "callback"))
      assert.equal("openai.chat: 'metadata.cb' cannot be sent as JSON (a function)",
                   refused({ messages = MSGS, metadata = { cb = function() end } }, "metadata"))
    end)

    it("a coroutine or userdata", function()
      refused({ messages = MSGS, extra = coroutine.create(function() end) }, "^openai%.chat: 'extra' cannot be sent as JSON")
      refused({ messages = MSGS, extra = { io.stdout } }, "^openai%.chat: 'extra%[1%]' cannot be sent as JSON")
    end)

    it("a key that is not a string or number", function()
      refused({ messages = MSGS, metadata = { [true] = 1 } }, "^openai%.chat: 'metadata' has a key that is a boolean")
    end)

    it("names nested fields inside messages", function()
      local function msgs(bad)
        return { { role = "user", content = "ok" },
                 { role = "user", content = { { type = "text", text = "fine" }, bad } } }
      end
      refused({ messages = msgs({ type = "text", text = "bad \255" }) },
              "^openai%.chat: 'messages%[2%]%.content%[2%]%.text' .*UTF%-8")
      refused({ messages = msgs({ type = "text", text = "x", weight = 0 / 0 }) },
              "^openai%.chat: 'messages%[2%]%.content%[2%]%.weight' must be a finite number")
      refused({ messages = msgs({ type = "text", text = "x", cb = print }) },
              "^openai%.chat: 'messages%[2%]%.content%[2%]%.cb' cannot be sent as JSON %(a function%)$")
      refused({ messages = { { role = "user", content = "x", name = "n\255" } } },
              "^openai%.chat: 'messages%[1%]%.name' .*UTF%-8")
    end)

    it("names fields under 'data' in a raw request", function()
      local e = H.raises(c.request, c, { method = "POST", url = "/v1/echo", data = { a = { b = 0 / 0 } } })
      assert.truthy(e:find("^openai%.request: 'data%.a%.b' must be a finite number"), e)
      local e2 = H.raises(c.request, c, { method = "POST", url = "/v1/echo", data = { list = { 1, print } } })
      assert.truthy(e2:find("^openai%.request: 'data%.list%[2%]' cannot be sent as JSON %(a function%)"), e2)
      assert.same({}, H.requests())
    end)

    it("names fields in the other actions", function()
      local e = H.raises(c.response, c, { input = "x", metadata = { n = math.huge } })
      assert.equal("openai.response: 'metadata.n' must be a finite number (got inf)", e)
      local e2 = H.raises(c.image, c, { prompt = "x", extra = print })
      assert.equal("openai.image: 'extra' cannot be sent as JSON (a function)", e2)
      assert.same({}, H.requests())
    end)
  end)

  it("sends strings with quotes, backslashes, control bytes and non-ASCII intact", function()
    local s = 'quote " backslash \\ tab \t nl \n cr \r bell \7 slash / é ✓ 😀'
    assert.is_table((c:chat({ messages = { { role = "user", content = s } }, metadata = { k = s } })))
    local rec = H.last()
    assert.equal(s, rec.json.messages[1].content)
    assert.equal(s, rec.json.metadata.k)
  end)

  it("sends integers as integers and floats with full precision", function()
    assert.is_table((c:chat({ messages = MSGS, seed = 9007199254740991, metadata = { f = 0.1, g = 1e-7 } })))
    local body = raw()
    has(body, '"seed":9007199254740991')
    local rec = H.last()
    assert.equal(0.1, rec.json.metadata.f)
    assert.equal(1e-7, rec.json.metadata.g)
  end)
end)
