-- Streams: client:chat_stream and client:response_stream as Lua
-- iterators, checked against the stand-in's canned and scripted streams
-- (spec/support/standin.py) and the engine's counters (openai.stats()).

local H = require "support.helper"
local openai = require "openai"
local cjson = require "cjson"
local socket = require "socket"

local CHAT = "/v1/chat/completions"
local RESP = "/v1/responses"

local function msgs(text)
  return { { role = "user", content = text or "hello there" } }
end

-- one chat.completion.chunk as a scripted event's data
local function chunk(content, finish, index, extra)
  local delta = {}
  if content ~= nil then delta.content = content end
  for k, v in pairs(extra or {}) do delta[k] = v end
  return {
    id = "chatcmpl-s", object = "chat.completion.chunk", created = 1700000000, model = "gpt-s",
    choices = { { index = index or 0, delta = delta,
                  finish_reason = finish or cjson.null } },
  }
end

-- a stream's chunks, and the error its iterator raised (nil if none)
local function drain(s)
  local got = {}
  local ok, err = pcall(function()
    for c in s:each() do got[#got + 1] = c end
  end)
  return got, (not ok) and err or nil
end

-- the content deltas of choice 0, joined
local function joined(chunks)
  local out = {}
  for _, c in ipairs(chunks) do
    local ch = c.choices and c.choices[1]
    if ch and ch.index == 0 and type(ch.delta) == "table" and type(ch.delta.content) == "string" then
      out[#out + 1] = ch.delta.content
    end
  end
  return table.concat(out)
end

-- wait until the stand-in has at most n connections of this test open
local function open_conns_drop_to(n, ms)
  local deadline = H.now() + (ms or 3000)
  local o
  repeat
    o = H.stats().open
    if o <= n then return o end
    socket.sleep(0.02)
  until H.now() > deadline
  return o
end

local live = H.live

describe("streams", function()
  local client

  before_each(function()
    H.reset()
    client = H.client()
  end)

  -- {=============================================================
  -- chat_stream: the request, the chunks, the assembled result

  describe("client:chat_stream", function()
    it("sends stream: true, Accept: text/event-stream and the defaults (temperature, top_p, n left out)", function()
      local s, err, meta = client:chat_stream { messages = msgs("hi") }
      assert.is_nil(err)
      assert.is_truthy(s)
      assert.equal(200, meta.status)
      s:result()
      local reqs = H.requests()
      assert.equal(1, #reqs)
      local r = reqs[1]
      assert.equal("POST", r.method)
      assert.equal(CHAT, r.path)
      assert.equal("text/event-stream", r.headers["accept"])
      assert.matches("^application/json", r.headers["content-type"])
      assert.equal("Bearer " .. H.key, r.headers["authorization"])
      assert.is_true(r.json.stream)
      assert.equal("gpt-3.5-turbo", r.json.model)
      assert.is_nil(r.json.temperature)
      assert.is_nil(r.json.top_p)
      assert.is_nil(r.json.n)
      assert.same(msgs("hi"), r.json.messages)
    end)

    it("hands back meta of the response: status, request id, content type", function()
      local s, err, meta = client:chat_stream { messages = msgs() }
      assert.is_nil(err)
      assert.equal(200, meta.status)
      assert.equal("req_1", meta.request_id)
      assert.matches("^text/event%-stream", meta.headers["content-type"])
      assert.equal(1, meta.attempts)
      s:close()
    end)

    it("does not send the call options (timeouts, caps) in the body", function()
      local s = assert(client:chat_stream { messages = msgs(), timeout = 5000, idle_timeout = 4000,
                                            max_event_bytes = 100000, max_retries = 1 })
      s:result()
      local b = H.last().json
      assert.is_nil(b.timeout)
      assert.is_nil(b.idle_timeout)
      assert.is_nil(b.max_event_bytes)
      assert.is_nil(b.max_retries)
    end)

    it("refuses stream = false with an error naming 'stream', sending nothing", function()
      local msg = H.raises(client.chat_stream, client, { messages = msgs(), stream = false })
      assert.matches("openai.chat_stream", msg, 1, true)
      assert.matches("'stream'", msg, 1, true)
      assert.equal(0, #H.requests())
    end)

    it("yields decoded chunks whose content deltas join to the answer", function()
      local s = assert(client:chat_stream { messages = msgs("tell me a story") })
      local chunks = {}
      for c in s:each() do
        assert.equal("table", type(c))
        chunks[#chunks + 1] = c
      end
      assert.is_true(#chunks >= 3)
      for _, c in ipairs(chunks) do
        assert.equal("chat.completion.chunk", c.object)
        assert.equal("chatcmpl-1", c.id)
      end
      assert.equal("You said: tell me a story", joined(chunks))
      assert.equal("assistant", chunks[1].choices[1].delta.role)
      assert.equal("stop", chunks[#chunks].choices[1].finish_reason)
    end)

    it("assembles a chat.completion in result() after the loop, and text() is its content", function()
      local s = assert(client:chat_stream { messages = msgs("abc def") })
      for _ in s:each() do end
      local r = s:result()
      assert.equal("chat.completion", r.object)
      assert.equal("chatcmpl-1", r.id)
      assert.equal("gpt-3.5-turbo", r.model)
      assert.equal(1, #r.choices)
      assert.equal(0, r.choices[1].index)
      assert.equal("assistant", r.choices[1].message.role)
      assert.equal("You said: abc def", r.choices[1].message.content)
      assert.equal("stop", r.choices[1].finish_reason)
      assert.equal("You said: abc def", s:text())
    end)

    it("reads the whole stream when result() is called without iterating first", function()
      local s = assert(client:chat_stream { messages = msgs("no loop") })
      local r = s:result()
      assert.equal("chat.completion", r.object)
      assert.equal("You said: no loop", r.choices[1].message.content)
      assert.equal("stop", r.choices[1].finish_reason)
      assert.equal("You said: no loop", s:text())
      -- asked again: the same answer, nothing more read
      assert.equal("You said: no loop", s:result().choices[1].message.content)
      assert.equal(0, live())
      assert.equal(1, #H.requests())
    end)

    it("text() grows with the chunks already read", function()
      local s = assert(client:chat_stream { messages = msgs("one two three") })
      assert.equal("", s:text())
      local seen = {}
      for c in s:each() do
        seen[#seen + 1] = c
        assert.equal(joined(seen), s:text())
      end
      assert.equal("You said: one two three", s:text())
    end)

    it("assembles thousands of deltas exactly, and text() is right midway", function()
      local events, want = {}, {}
      for i = 1, 5000 do
        local piece = (i % 7 == 0) and "" or (i .. ",")   -- some empty deltas too
        want[#want + 1] = piece
        events[#events + 1] = { data = chunk(piece) }
      end
      events[#events + 1] = { data = chunk(nil, "stop") }
      events[#events + 1] = { data = "[DONE]" }
      H.script(CHAT, { { sse = events } })
      local s = assert(client:chat_stream { messages = msgs() })
      for _ = 1, 2500 do assert.is_table(s:next()) end
      assert.equal(table.concat(want, "", 1, 2500), s:text())
      local r = s:result()
      assert.equal(table.concat(want), r.choices[1].message.content)
      assert.equal("stop", r.choices[1].finish_reason)
      assert.equal(5002, s.events)          -- the chunks and [DONE]
    end)

    it("assembles each choice of n = 2 on its own", function()
      local s = assert(client:chat_stream { messages = msgs("twice"), n = 2 })
      local r = s:result()
      assert.equal(2, #r.choices)
      assert.equal(0, r.choices[1].index)
      assert.equal(1, r.choices[2].index)
      assert.equal("You said: twice", r.choices[1].message.content)
      assert.equal("You said: twice [1]", r.choices[2].message.content)
      assert.equal("stop", r.choices[1].finish_reason)
      assert.equal("stop", r.choices[2].finish_reason)
      assert.equal(2, H.last().json.n)
      -- text() is choice 0 only
      assert.equal("You said: twice", s:text())
    end)

    it("merges tool-call deltas: id, name, arguments joined, finish_reason tool_calls", function()
      local s = assert(client:chat_stream {
        messages = msgs("weather?"),
        tools = { { type = "function",
                    ["function"] = { name = "get_weather", parameters = { type = "object" } } } },
      })
      local r = s:result()
      local c = r.choices[1]
      assert.equal("tool_calls", c.finish_reason)
      assert.equal(openai.null, c.message.content)
      assert.equal(1, #c.message.tool_calls)
      local tc = c.message.tool_calls[1]
      assert.equal("call_1", tc.id)
      assert.equal("function", tc.type)
      assert.equal("get_weather", tc["function"].name)
      assert.equal('{"a": 1}', tc["function"].arguments)
      assert.same({ a = 1 }, cjson.decode(tc["function"].arguments))
    end)

    it("merges interleaved deltas of two tool calls by their index", function()
      local function tc(i, f)
        return { id = "chatcmpl-t", object = "chat.completion.chunk",
                 choices = { { index = 0, delta = { tool_calls = { f and { index = i, ["function"] = f } or i } },
                               finish_reason = cjson.null } } }
      end
      local first = { id = "chatcmpl-t", object = "chat.completion.chunk", choices = { { index = 0,
        delta = { role = "assistant", tool_calls = {
          { index = 0, id = "call_a", type = "function", ["function"] = { name = "get_", arguments = "" } },
          { index = 1, id = "call_b", type = "function", ["function"] = { name = "lookup", arguments = "{\"q\"" } },
        } }, finish_reason = cjson.null } } }
      H.script(CHAT, { { sse = {
        { data = first },
        { data = tc(0, { name = "weather", arguments = "{\"city\":" }) },
        { data = tc(1, { arguments = ":\"x\"}" }) },
        { data = tc(0, { arguments = "\"Oslo\"}" }) },
        { data = { id = "chatcmpl-t", object = "chat.completion.chunk",
                   choices = { { index = 0, delta = {}, finish_reason = "tool_calls" } } } },
        { data = "[DONE]" },
      } } })
      local s = assert(client:chat_stream { messages = msgs() })
      local r = s:result()
      local calls = r.choices[1].message.tool_calls
      assert.equal(2, #calls)
      assert.equal("call_a", calls[1].id)
      assert.equal("get_weather", calls[1]["function"].name)
      assert.equal("{\"city\":\"Oslo\"}", calls[1]["function"].arguments)
      assert.equal("call_b", calls[2].id)
      assert.equal("lookup", calls[2]["function"].name)
      assert.equal("{\"q\":\"x\"}", calls[2]["function"].arguments)
      assert.equal("tool_calls", r.choices[1].finish_reason)
    end)

    it("passes stream_options through and puts the usage chunk into result()", function()
      local s = assert(client:chat_stream { messages = msgs("count these words"),
                                            stream_options = { include_usage = true } })
      local chunks, err = drain(s)
      assert.is_nil(err)
      assert.is_true(H.last().json.stream_options.include_usage)
      -- the last chunk carries the usage and no choices
      local last = chunks[#chunks]
      assert.equal("table", type(last.usage))
      local r = s:result()
      assert.equal("table", type(r.usage))
      assert.is_true(r.usage.prompt_tokens > 0)
      assert.is_true(r.usage.completion_tokens > 0)
      assert.equal(r.usage.prompt_tokens + r.usage.completion_tokens, r.usage.total_tokens)
      assert.equal("You said: count these words", r.choices[1].message.content)
    end)

    it("leaves usage out of result() when the server sends none", function()
      local s = assert(client:chat_stream { messages = msgs() })
      local r = s:result()
      assert.is_true(r.usage == nil or r.usage == openai.null)
    end)

    it("works as the module function openai.chat_stream with the default client", function()
      openai.configure { api_key = H.key, base_url = H.base }
      local s, err = openai.chat_stream { messages = msgs("module") }
      assert.is_nil(err)
      assert.equal("You said: module", s:result().choices[1].message.content)
      assert.equal("text/event-stream", H.last().headers["accept"])
    end)

    it("has no transfer left alive after a stream read to its end", function()
      local s = assert(client:chat_stream { messages = msgs() })
      for _ in s:each() do end
      assert.equal(0, live())
      assert(client:chat { messages = msgs() })
      assert.equal(0, live())
    end)

    it("keeps the connection for the next call when the body ends right after [DONE]", function()
      -- the server ends its body right behind [DONE] (here: after one
      -- trailing comment); the connection must go back to the pool, not be
      -- cut, so the next call reuses it (a body that goes on is not waited
      -- for: spec/rogue_spec.lua)
      H.script(CHAT, { { sse = {
        { data = chunk("a") }, { data = chunk(nil, "stop") }, { data = "[DONE]" }, { comment = "bye" },
      } } })
      local s = assert(client:chat_stream { messages = msgs() })
      assert.equal("a", s:result().choices[1].message.content)
      assert.equal(0, live())
      local r = client:chat { messages = msgs("next") }
      assert.equal("You said: next", r.choices[1].message.content)
      local reqs = H.requests()
      assert.equal(2, #reqs)
      assert.equal(reqs[1].connection, reqs[2].connection, "the call after the stream opened a new connection")
    end)
  end)

  -- {=============================================================
  -- response_stream

  describe("client:response_stream", function()
    it("sends stream: true to /v1/responses and yields typed events", function()
      local s, err, meta = client:response_stream { input = "hello stream" }
      assert.is_nil(err)
      assert.equal(200, meta.status)
      local events, e2 = drain(s)
      assert.is_nil(e2)
      local r = H.last()
      assert.equal(RESP, r.path)
      assert.equal("text/event-stream", r.headers["accept"])
      assert.is_true(r.json.stream)
      assert.equal("gpt-4.1", r.json.model)
      assert.equal("hello stream", r.json.input)
      assert.equal("response.created", events[1].type)
      assert.equal("response.completed", events[#events].type)
      local deltas, seq = {}, -1
      for _, ev in ipairs(events) do
        assert.equal("string", type(ev.type))
        assert.is_true(ev.sequence_number > seq)
        seq = ev.sequence_number
        if ev.type == "response.output_text.delta" then deltas[#deltas + 1] = ev.delta end
      end
      assert.is_true(#deltas >= 2)
      assert.equal("You said: hello stream", table.concat(deltas))
    end)

    it("result() is the response object of response.completed; text() the output text", function()
      local s = assert(client:response_stream { input = "final answer" })
      local events = drain(s)
      local r = s:result()
      assert.same(events[#events].response, r)
      assert.equal("response", r.object)
      assert.equal("completed", r.status)
      assert.equal("resp_1", r.id)
      assert.equal("You said: final answer", r.output[1].content[1].text)
      assert.is_true(r.usage.total_tokens > 0)
      assert.equal("You said: final answer", s:text())
      assert.equal(0, live())
    end)

    it("result() without iterating reads to response.completed", function()
      local s = assert(client:response_stream { input = "skip the loop" })
      local r = s:result()
      assert.equal("completed", r.status)
      assert.equal("You said: skip the loop", r.output[1].content[1].text)
      assert.equal(0, live())
    end)

    it("raises kind 'stream' when the stream ends without response.completed", function()
      H.script(RESP, { { stream_canned = true, cut_after = 6 } })
      local s = assert(client:response_stream { input = "cut me short" })
      local events, err = drain(s)
      assert.equal(6, #events)
      assert.is_true(openai.is_error(err))
      assert.equal("stream", err.kind)
      assert.equal(0, live())
    end)

    it("raises kind 'stream' with the event's message on an error event", function()
      H.script(RESP, { { sse = {
        { event = "response.created", data = { type = "response.created", sequence_number = 0,
                                                response = { id = "resp_x", status = "in_progress" } } },
        { event = "error", data = { type = "error", sequence_number = 1, code = "server_error",
                                    message = "The model crashed", param = cjson.null } },
      } } })
      local s = assert(client:response_stream { input = "x" })
      local events, err = drain(s)
      assert.equal(1, #events)
      assert.is_true(openai.is_error(err))
      assert.equal("stream", err.kind)
      assert.equal("The model crashed", err.message)
      assert.equal("server_error", err.code)
      assert.matches("The model crashed", tostring(err), 1, true)
    end)
  end)

  -- {=============================================================
  -- scripted streams: framing

  describe("framing", function()
    it("skips comments and joins multi-line data; id, retry and unknown fields do no harm", function()
      local multi = '{"id":"chatcmpl-m","object":"chat.completion.chunk",\n'
                 .. '"choices":[{"index":0,\n"delta":{"content":"multi"},"finish_reason":null}]}'
      H.script(CHAT, { { sse = {
        { comment = "keep-alive" },
        { data = chunk("one ") },
        { comment = "another comment" },
        { data = multi, id = "7", retry = 1500 },
        { raw = "foo: bar\ndata: " .. cjson.encode(chunk(" line")) .. "\n\n" },
        { data = chunk(nil, "stop") },
        { data = "[DONE]" },
      } } })
      local s = assert(client:chat_stream { messages = msgs() })
      local chunks, err = drain(s)
      assert.is_nil(err)
      assert.equal(4, #chunks)
      assert.equal("chatcmpl-m", chunks[2].id)
      assert.equal("one multi line", joined(chunks))
      assert.equal("one multi line", s:result().choices[1].message.content)
    end)

    it("skips events with empty data", function()
      H.script(CHAT, { { sse = {
        { data = chunk("a") },
        { data = "" },
        { event = "ping" },
        { raw = "data:\n\n" },
        { data = chunk("b") },
        { data = "[DONE]" },
      } } })
      local s = assert(client:chat_stream { messages = msgs() })
      local chunks, err = drain(s)
      assert.is_nil(err)
      assert.equal(2, #chunks)
      assert.equal("ab", s:text())
    end)

    it("reads a stream with CRLF line endings", function()
      local raw = "data: " .. cjson.encode(chunk("Hello")) .. "\r\n\r\n"
               .. ": comment\r\n\r\n"
               .. "data: " .. cjson.encode(chunk(", world")) .. "\r\n\r\n"
               .. "data: " .. cjson.encode(chunk(nil, "stop")) .. "\r\n\r\n"
               .. "data: [DONE]\r\n\r\n"
      H.script(CHAT, { { sse = { { raw = raw } } } })
      local s = assert(client:chat_stream { messages = msgs() })
      local chunks, err = drain(s)
      assert.is_nil(err)
      assert.equal(3, #chunks)
      local r = s:result()
      assert.equal("Hello, world", r.choices[1].message.content)
      assert.equal("stop", r.choices[1].finish_reason)
    end)

    it("reads a stream with lone CR line endings", function()
      local raw = "data: " .. cjson.encode(chunk("cr ")) .. "\r\r"
               .. "data: " .. cjson.encode(chunk("only")) .. "\r\r"
               .. "data: [DONE]\r\r"
      H.script(CHAT, { { sse = { { raw = raw } } } })
      local s = assert(client:chat_stream { messages = msgs() })
      local chunks, err = drain(s)
      assert.is_nil(err)
      assert.equal(2, #chunks)
      assert.equal("cr only", s:text())
    end)

    it("treats a CRLF split across two reads as one line end", function()
      -- one event whose JSON spans two data lines; the CR ends one write
      -- and the LF begins the next
      H.script(CHAT, { { sse_delay_ms = 60, sse = {
        { raw = 'data: {"id":"chatcmpl-x","object":"chat.completion.chunk",\r' },
        { raw = '\ndata: "choices":[{"index":0,"delta":{"content":"split"},"finish_reason":null}]}\r' },
        { raw = "\n\r\n" },
        { raw = "data: [DONE]\r\n\r\n" },
      } } })
      local s = assert(client:chat_stream { messages = msgs() })
      local chunks, err = drain(s)
      assert.is_nil(err)
      assert.equal(1, #chunks)
      assert.equal("chatcmpl-x", chunks[1].id)
      assert.equal("split", s:text())
    end)

    it("raises kind 'too_large' for an event over max_event_bytes", function()
      local big = chunk(string.rep("x", 5000))
      H.script(CHAT, { { sse_delay_ms = 50,
                         sse = { { data = chunk("small") }, { data = big }, { data = "[DONE]" } } } })
      local s = assert(client:chat_stream { messages = msgs(), max_event_bytes = 1000 })
      local chunks, err = drain(s)
      assert.equal(1, #chunks)
      assert.equal("small", joined(chunks))
      assert.is_true(openai.is_error(err))
      assert.equal("too_large", err.kind)
      assert.matches("max_event_bytes", err.message, 1, true)
      assert.equal(0, live())
    end)

    it("hands over an event that came in the same read as an oversized one, then raises", function()
      -- both events in one write: the small one is queued, then the cap is hit
      local raw = "data: " .. cjson.encode(chunk("small")) .. "\n\n"
               .. "data: " .. cjson.encode(chunk(string.rep("x", 5000))) .. "\n\n"
      H.script(CHAT, { { sse = { { raw = raw }, { data = "[DONE]" } } } })
      local s, oerr = client:chat_stream { messages = msgs(), max_event_bytes = 1000 }
      assert.is_nil(oerr)
      local chunks, err = drain(s)
      assert.equal(1, #chunks)
      assert.equal("small", joined(chunks))
      assert.equal("too_large", err and err.kind)
      assert.equal(0, live())
    end)

    it("takes the same 5000-byte event under the default cap", function()
      local big = chunk(string.rep("x", 5000))
      H.script(CHAT, { { sse = { { data = chunk("small") }, { data = big }, { data = "[DONE]" } } } })
      local s = assert(client:chat_stream { messages = msgs() })
      local chunks, err = drain(s)
      assert.is_nil(err)
      assert.equal(2, #chunks)
      assert.equal(5005, #s:text())
    end)
  end)

  -- {=============================================================
  -- errors in the stream

  describe("errors", function()
    it("raises kind 'stream' with the message of an `event: error`", function()
      H.script(CHAT, { { sse = {
        { data = chunk("Hel") },
        { event = "error", data = { error = { message = "The server is overloaded", type = "server_error",
                                              code = "overloaded" } } },
        { data = chunk("lo") },
        { data = "[DONE]" },
      } } })
      local s = assert(client:chat_stream { messages = msgs() })
      local chunks, err = drain(s)
      assert.equal(1, #chunks)
      assert.is_true(openai.is_error(err))
      assert.equal("stream", err.kind)
      assert.equal("The server is overloaded", err.message)
      assert.equal("overloaded", err.code)
      assert.equal("req_1", err.request_id)
      assert.matches("The server is overloaded", tostring(err), 1, true)
      assert.equal(0, live())
    end)

    it("raises kind 'stream' for an error event whose data is the error itself", function()
      H.script(CHAT, { { sse = { { event = "error", data = { message = "plain boom" } } } } })
      local s, oerr = client:chat_stream { messages = msgs() }
      assert.is_nil(oerr)
      local chunks, err = drain(s)
      assert.equal(0, #chunks)
      assert.is_true(openai.is_error(err))
      assert.equal("stream", err.kind)
      assert.equal("plain boom", err.message)
    end)

    it("raises kind 'stream' for a JSON `error` member without an event name", function()
      H.script(CHAT, { { sse = {
        { data = chunk("a") },
        { data = chunk("b") },
        { data = { error = { message = "Rate limit hit mid-stream", type = "rate_limit_error" } } },
        { data = "[DONE]" },
      } } })
      local s = assert(client:chat_stream { messages = msgs() })
      local chunks, err = drain(s)
      assert.equal(2, #chunks)
      assert.is_true(openai.is_error(err))
      assert.equal("stream", err.kind)
      assert.equal("Rate limit hit mid-stream", err.message)
      assert.equal(0, live())
    end)

    it("keeps raising the same error once the stream has failed", function()
      H.script(CHAT, { { sse = { { event = "error", data = { error = { message = "once" } } } } } })
      local s = assert(client:chat_stream { messages = msgs() })
      local _, e1 = drain(s)
      local ok, e2 = pcall(s.result, s)
      assert.is_false(ok)
      assert.is_true(openai.is_error(e2))
      assert.equal("stream", e2.kind)
      assert.equal(e1.message, e2.message)
    end)

    it("raises kind 'stream' when the connection is reset before [DONE]", function()
      H.script(CHAT, { { sse = { { data = chunk("a") }, { data = chunk("b") }, { data = chunk("c") } },
                         sse_end = "reset" } })
      local s = assert(client:chat_stream { messages = msgs() })
      local chunks, err = drain(s)
      assert.equal(3, #chunks)
      assert.equal("abc", s:text())
      assert.is_true(openai.is_error(err))
      assert.equal("stream", err.kind)
      assert.equal(0, live())
    end)

    it("raises kind 'stream' when the body ends cleanly without [DONE]", function()
      H.script(CHAT, { { stream_canned = true, cut_after = 3, sse_end = "end" } })
      local s = assert(client:chat_stream { messages = msgs("a b c d") })
      local chunks, err = drain(s)
      assert.equal(3, #chunks)
      assert.is_true(openai.is_error(err))
      assert.equal("stream", err.kind)
      assert.matches("DONE", err.message, 1, true)
    end)

    it("each_safe(), next_safe() and result_safe() hand the stream's error back instead of raising it", function()
      H.script(CHAT, { { stream_canned = true, cut_after = 3, sse_end = "end" } })
      local s = assert(client:chat_stream { messages = msgs("a b c d") })
      local chunks, errs = 0, {}
      for got, err in s:each_safe() do
        if got then chunks = chunks + 1 else errs[#errs + 1] = err end
      end
      assert.equal(3, chunks)
      assert.equal(1, #errs)
      assert.is_true(openai.is_error(errs[1]))
      assert.equal("stream", errs[1].kind)
      assert.matches("DONE", errs[1].message, 1, true)

      H.script(CHAT, { { stream_canned = true, cut_after = 2, sse_end = "end" } })
      s = assert(client:chat_stream { messages = msgs() })
      local res, err = s:result_safe()
      assert.is_nil(res)
      assert.equal("stream", err.kind)

      H.script(CHAT, { { stream_canned = true, cut_after = 1, sse_end = "end" } })
      s = assert(client:chat_stream { messages = msgs() })
      local first = s:next_safe()
      assert.is_table(first)
      local v, e = s:next_safe()
      assert.is_false(v)
      assert.equal("stream", e.kind)

      s = assert(client:chat_stream { messages = msgs("x y") })   -- a whole stream: as each()
      local n = 0
      for got, e2 in s:each_safe() do
        assert.is_table(got)
        assert.is_nil(e2)
        n = n + 1
      end
      assert.is_true(n > 0)
      assert.equal("You said: x y", s:result_safe().choices[1].message.content)
      assert.equal(0, live())
    end)

    it("result() raises the stream's error too", function()
      H.script(CHAT, { { stream_canned = true, cut_after = 2, sse_end = "end" } })
      local s = assert(client:chat_stream { messages = msgs() })
      local ok, err = pcall(s.result, s)
      assert.is_false(ok)
      assert.is_true(openai.is_error(err))
      assert.equal("stream", err.kind)
    end)

    it("returns nil, err (kind 'api', status 429) for a 429 before the first event", function()
      H.script(CHAT, { { status = 429 } })
      local s, err, meta = client:chat_stream { messages = msgs(), max_retries = 0 }
      assert.is_nil(s)
      assert.is_true(openai.is_error(err))
      assert.equal("api", err.kind)
      assert.equal(429, err.status)
      assert.equal("rate_limit_exceeded", err.code)
      assert.equal(429, meta.status)
      assert.equal(1, #H.requests())
      assert.equal(0, live())
    end)

    it("returns nil, err (kind 'api', status 400) with the API's message, not retried", function()
      H.script(CHAT, { { status = 400, json = { error = { message = "Invalid 'messages[0].role'",
        type = "invalid_request_error", param = "messages", code = cjson.null } } } })
      local s, err = client:chat_stream { messages = msgs() }
      assert.is_nil(s)
      assert.equal("api", err.kind)
      assert.equal(400, err.status)
      assert.equal("Invalid 'messages[0].role'", err.message)
      assert.equal("messages", err.param)
      assert.equal(1, err.attempts)
      assert.equal(1, #H.requests())
    end)

    it("returns nil, err (kind 'connection') when nothing listens", function()
      local c = H.client { base_url = H.closed_port_url() }
      local s, err = c:chat_stream { messages = msgs(), max_retries = 0 }
      assert.is_nil(s)
      assert.is_true(openai.is_error(err))
      assert.equal("connection", err.kind)
    end)
  end)

  -- {=============================================================
  -- retries

  describe("retries", function()
    it("retries a 500 before the first event, then streams (meta.attempts 2)", function()
      H.script(CHAT, { { status = 500, headers = { ["retry-after-ms"] = "20" } } })
      local s, err, meta = client:chat_stream { messages = msgs("again") }
      assert.is_nil(err)
      assert.equal(2, meta.attempts)
      assert.equal(200, meta.status)
      assert.equal("You said: again", s:result().choices[1].message.content)
      local reqs = H.requests()
      assert.equal(2, #reqs)
      assert.is_true(reqs[2].json.stream)
    end)

    it("retries a stream whose headers time out when retry_timeouts asks, then streams", function()
      -- its request was sent: without retry_timeouts it is not sent again
      -- (spec/timeout_retry_spec.lua)
      H.script(CHAT, { { fault = "hang", hang_ms = 3000 } })
      local s, err, meta = client:chat_stream { messages = msgs("late"), timeout = 300, max_retries = 1,
                                                retry_timeouts = true }
      assert.is_nil(err)
      assert.equal(2, meta.attempts)
      assert.equal("You said: late", s:result().choices[1].message.content)
    end)

    it("never retries once an event reached the caller", function()
      H.script(CHAT, { { stream_canned = true, cut_after = 2, sse_end = "reset" } })
      local s = assert(client:chat_stream { messages = msgs("x y z"), max_retries = 3 })
      local chunks, err = drain(s)
      assert.equal(2, #chunks)
      assert.is_true(openai.is_error(err))
      assert.equal("stream", err.kind)
      assert.equal(1, #H.requests())
    end)
  end)

  -- {=============================================================
  -- timeouts

  describe("timeouts", function()
    it("raises kind 'timeout' when the stream goes silent longer than idle_timeout", function()
      H.script(CHAT, { { sse = { { data = chunk("a") }, { data = chunk("b") } },
                         sse_end = "hang", hang_ms = 5000 } })
      local t0 = H.now()
      local s = assert(client:chat_stream { messages = msgs(), idle_timeout = 300 })
      local chunks, err = drain(s)
      local elapsed = H.now() - t0
      assert.equal(2, #chunks)
      assert.is_true(openai.is_error(err))
      assert.equal("timeout", err.kind)
      assert.is_true(elapsed >= 290, "gave up after only " .. elapsed .. " ms")
      assert.is_true(elapsed < 4000, "waited " .. elapsed .. " ms: the server hung up first")
      assert.equal(1, #H.requests())
      assert.equal(0, live())
    end)

    it("takes idle_timeout from the client too", function()
      local c = H.client { idle_timeout = 300 }
      H.script(CHAT, { { sse = { { data = chunk("a") } }, sse_end = "hang", hang_ms = 5000 } })
      local t0 = H.now()
      local s = assert(c:chat_stream { messages = msgs() })
      local _, err = drain(s)
      local elapsed = H.now() - t0
      assert.equal("timeout", err and err.kind)
      assert.is_true(elapsed >= 290 and elapsed < 4000, "elapsed " .. elapsed .. " ms")
    end)

    it("returns nil, err (kind 'timeout') when no headers come within timeout", function()
      H.script(CHAT, { { fault = "hang", hang_ms = 5000 } })
      local t0 = H.now()
      local s, err = client:chat_stream { messages = msgs(), timeout = 300, max_retries = 0 }
      local elapsed = H.now() - t0
      assert.is_nil(s)
      assert.is_true(openai.is_error(err))
      assert.equal("timeout", err.kind)
      assert.is_true(elapsed >= 290, "gave up after only " .. elapsed .. " ms")
      assert.is_true(elapsed < 4000, "waited " .. elapsed .. " ms")
      assert.equal(0, live())
    end)

    it("does not bound a talking stream by timeout: only the wait for headers", function()
      local events = {}
      for i = 1, 8 do events[i] = { data = chunk(tostring(i)) } end
      events[#events + 1] = { data = "[DONE]" }
      H.script(CHAT, { { sse = events, sse_delay_ms = 80 } })
      local t0 = H.now()
      local s = assert(client:chat_stream { messages = msgs(), timeout = 300, idle_timeout = 2000 })
      local chunks, err = drain(s)
      assert.is_nil(err)
      assert.equal(8, #chunks)
      assert.equal("12345678", s:text())
      assert.is_true(H.now() - t0 >= 500)
    end)
  end)

  -- {=============================================================
  -- leaving a stream early

  describe("closing", function()
    local it_closes = H.it_closes(it, pending)

    -- a stream that sends three chunks and then stays silent for 5 s
    local function hanging_stream()
      H.script(CHAT, { { sse = { { data = chunk("a") }, { data = chunk("b") }, { data = chunk("c") } },
                         sse_end = "hang", hang_ms = 5000 } })
      return assert(client:chat_stream { messages = msgs(), idle_timeout = 10000 })
    end

    it_closes("closes the transfer at once on `break`", function()
      local s = hanging_stream()
      local n, open_inside = 0, nil
      local t0 = H.now()
      for _ in s:each() do  -- luacheck: ignore 512
        n = n + 1
        open_inside = H.stats().open
        break
      end
      assert.equal(1, n)
      assert.equal(1, open_inside)
      assert.equal(0, live())                 -- no collectgarbage needed
      assert.equal(0, open_conns_drop_to(0))  -- the server sees the connection go
      assert.is_true(H.now() - t0 < 4000)
      -- and the next call works
      local r, err = client:chat { messages = msgs("after") }
      assert.is_nil(err)
      assert.equal("You said: after", r.choices[1].message.content)
      assert.equal(0, live())
    end)

    it_closes("closes the transfer when user code raises inside the loop", function()
      local s = hanging_stream()
      local ok, err = pcall(function()
        for _ in s:each() do error("user bug in the loop") end
      end)
      assert.is_false(ok)
      assert.matches("user bug in the loop", tostring(err), 1, true)
      assert.equal(0, live())
      assert.equal(0, open_conns_drop_to(0))
    end)

    it_closes("closes the transfer on `return` from inside the loop", function()
      local s = hanging_stream()
      local function first(st)
        for c in st:each() do return c end  -- luacheck: ignore 512
      end
      local c = first(s)
      assert.equal("a", c.choices[1].delta.content)
      assert.equal(0, live())
      assert.equal(0, open_conns_drop_to(0))
    end)

    it_closes("closes the transfer on `goto` out of the loop", function()
      -- compiled here: goto does not parse on 5.1
      local count_to_two = assert(H.load([[
        local s, n = ..., 0
        for _ in s:each() do
          n = n + 1
          if n == 2 then goto out end
        end
        ::out::
        return n
      ]]))
      local s = hanging_stream()
      local n = count_to_two(s)
      assert.equal(2, n)
      assert.equal(0, live())
      assert.equal(0, open_conns_drop_to(0))
    end)

    it("close() twice is fine and frees the transfer", function()
      local s = hanging_stream()
      assert.equal(1, live())
      s:close()
      assert.equal(0, live())
      assert.has_no.errors(function() s:close() end)
      assert.equal(0, live())
      assert.equal(0, open_conns_drop_to(0))
      local r = client:chat { messages = msgs("next") }
      assert.equal("You said: next", r.choices[1].message.content)
    end)

    it("frees a stream dropped without close when it is collected", function()
      do
        local s = hanging_stream()
        assert.is_truthy(s)
        assert.equal(1, live())
      end
      collectgarbage()
      collectgarbage()
      assert.equal(0, live())
      assert.equal(0, open_conns_drop_to(0))
    end)

    it_closes("a to-be-closed stream variable closes at the end of its block", function()
      -- compiled here: `<close>` parses on 5.4 only
      local first_in_block = assert(H.load([[
        local open = ...
        local content
        do
          local s <close> = open()
          content = s:next().choices[1].delta.content
        end
        return content
      ]]))
      assert.equal("a", first_in_block(hanging_stream))
      assert.equal(0, live())
    end)
  end)
end)
