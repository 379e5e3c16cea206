-- Answers are what they claim to be: a typed action's
-- 200 must carry a JSON object; hostile stream chunks give error objects or
-- tolerated values, never a Lua runtime error; a server's error message is
-- kept; a failed Responses stream does not look like a success; a leading
-- UTF-8 byte-order mark is skipped. Every answer below comes from the
-- stand-in, byte for byte, over the real transport.

local H = require "support.helper"
local openai = require "openai"
local cjson = require "cjson"

local CHAT = "/v1/chat/completions"
local RESP = "/v1/responses"
local BOM = "\239\187\191"

-- a project key of real length (164 characters)
local KEY = "sk-proj-" .. ("Zq7R2mXc9LpT4vBn8KwYe3HsJ6dGf1AuT3BlbkFJ"):rep(4):sub(1, 156)
assert(#KEY == 164)

local function msgs() return { { role = "user", content = "hi" } } end

local live = H.live

-- run f; its first result, or nil and the error it raised, which must be an
-- error object (anything else is a Lua runtime error: the spec fails)
local function guarded(f, ...)
  local ok, v = pcall(f, ...)
  if ok then return v, nil end
  assert(openai.is_error(v), "a Lua runtime error instead of an error object: " .. tostring(v))
  return nil, v
end

describe("answers", function()
  local client

  before_each(function()
    H.reset()
    client = H.client { api_key = KEY }
  end)

  after_each(function()
    assert.equal(0, live())
  end)

  -- the text of a chat stream of the stand-in's events, read to its result
  -- (which must not be an error)
  local function streamed_text(events)
    H.script(CHAT, { { sse = events } })
    local s = assert(client:chat_stream { messages = msgs() })
    local r, err = guarded(s.result, s)
    assert.is_nil(err)
    return r.choices[1].message.content
  end

  -- {=============================================================
  -- 5. a typed action's 200 must be a JSON object

  describe("typed actions need a JSON object", function()
    local ACTIONS = {
      { "chat", CHAT, function(c) return c:chat { messages = msgs() } end },
      { "image", "/v1/images/generations", function(c) return c:image { prompt = "a fox" } end },
      { "response", RESP, function(c) return c:response { input = "hi" } end },
      { "model", "/v1/models/gpt-4.1", function(c) return c:model("gpt-4.1") end },
      { "models", "/v1/models", function(c) return c:models() end },
    }
    -- body -> what the message must say came instead
    local BODIES = {
      { "false", "false" }, { "true", "true" }, { "null", "null" },
      { '"a string"', "a string" }, { "42", "a number" }, { "-0.5e3", "a number" },
      { "[1,2]", "an array" }, { "[]", "an array" }, { " \n [ ] ", "an array" },
      { '[{"id":"x"}]', "an array" }, { BOM .. "false", "false" },
    }

    for _, a in ipairs(ACTIONS) do
      local name, path, call = a[1], a[2], a[3]
      for _, b in ipairs(BODIES) do
        it(name .. ": a 200 with body " .. b[1]:gsub(BOM, "<BOM>"):gsub("\n", "\\n") ..
           " is a decode error that says " .. b[2], function()
          H.script(path, { { status = 200, body = b[1] } })
          local res, err, meta = call(client)
          assert.is_nil(res)
          assert.is_true(openai.is_error(err))
          assert.equal("decode", err.kind)
          assert.equal(200, err.status)
          assert.equal("req_1", err.request_id)
          assert.equal(1, err.attempts)
          assert.equal(200, meta.status)
          assert.matches("not a JSON object", err.message, 1, true)
          assert.matches(b[2], err.message, 1, true)
          -- the README's idiom shows the reason, not "nil"
          local shown = tostring(err)
          assert.matches("decode", shown, 1, true)
          assert.matches("not a JSON object", shown, 1, true)
          assert.equal(1, #H.requests())
        end)
      end

      it(name .. ": a 200 with a JSON object (even an empty one) is a success", function()
        H.script(path, { { status = 200, body = '{"object":"x","id":"1"}' }, { status = 200, body = " {} " } })
        local res, err = call(client)
        assert.is_nil(err)
        assert.same({ object = "x", id = "1" }, res)
        res, err = call(client)
        assert.is_nil(err)
        assert.same({}, res)
      end)
    end

    it("raw request with response_type json returns any JSON value", function()
      local cases = {
        { "false", false }, { "true", true }, { "null", openai.null }, { '"s"', "s" },
        { "42", 42 }, { "[1,2]", { 1, 2 } }, { BOM .. "[3]", { 3 } },
      }
      for _, c in ipairs(cases) do
        H.script("/v1/anything", { { status = 200, body = c[1] } })
        local res, err, meta = client:request { url = "/v1/anything" }
        assert.is_nil(err, c[1])
        assert.equal(200, meta.status)
        assert.same(c[2], res, c[1])
      end
    end)
  end)

  -- {=============================================================
  -- 6. hostile stream chunks: an error object or a tolerated value

  describe("hostile stream chunks", function()
    -- a chunk's JSON text around a choices text
    local function ck(choices, extra)
      return '{"id":"chatcmpl-h","object":"chat.completion.chunk","created":1,"model":"m"'
             .. (extra or "") .. ',"choices":' .. choices .. '}'
    end
    local function ch(index, delta, more)
      return '[{"index":' .. index .. ',"delta":' .. delta .. (more or "") .. '}]'
    end
    local A = ck(ch("0", '{"role":"assistant","content":"a"}'))
    local B = ck(ch("0", '{"content":"b"}', ',"finish_reason":"stop"'))
    local TC1 = ck(ch("0", '{"tool_calls":[{"index":0,"id":"call_1","type":"function",' ..
                             '"function":{"name":"f","arguments":"{\\"a\\""}}]}'))
    local function tc(index, args)
      return ck(ch("0", '{"tool_calls":[{"index":' .. index .. ',"function":{"arguments":"' .. args .. '"}}]}'))
    end

    local function content(r) return r.choices[1].message.content end
    local function args(r) return r.choices[1].message.tool_calls[1]["function"].arguments end

    -- name, the events' data (then [DONE]), and what result() must give:
    -- a check of the result, or the kind and a piece of the error message
    local CASES = {
      { "choices[].index null, beside index 0, is read as its position",
        { A, ck(ch("null", '{"content":"b"}')) }, check = function(r)
          assert.equal(1, #r.choices); assert.equal(0, r.choices[1].index); assert.equal("ab", content(r))
        end },
      { "choices[].index missing is read as its position",
        { A, ck('[{"delta":{"content":"b"}}]') }, check = function(r) assert.equal("ab", content(r)) end },
      { "tool_calls[].index null, beside index 0, is read as its position",
        { TC1, tc("null", ":1}") }, check = function(r)
          assert.equal(1, #r.choices[1].message.tool_calls); assert.equal('{"a":1}', args(r))
        end },
      { "tool_calls without index in one chunk are separate calls",
        { ck(ch("0", '{"tool_calls":[{"id":"c1","function":{"name":"f","arguments":"{}"}},' ..
                      '{"id":"c2","function":{"name":"g","arguments":"[]"}}]}')) },
        check = function(r)
          local calls = r.choices[1].message.tool_calls
          assert.equal(2, #calls)
          assert.equal("c1", calls[1].id); assert.equal("f", calls[1]["function"].name)
          assert.equal("c2", calls[2].id); assert.equal("g", calls[2]["function"].name)
        end },
      { "choices[].index as a string", { A, ck(ch('"1"', '{"content":"b"}')) }, kind = "decode" },
      { "choices[].index as a float", { A, ck(ch("0.5", '{"content":"b"}')) }, kind = "decode" },
      { "choices[].index negative", { A, ck(ch("-1", '{"content":"b"}')) }, kind = "decode" },
      { "choices[].index huge", { A, ck(ch("1e300", '{"content":"b"}')) }, kind = "decode" },
      { "choices[].index infinite", { A, ck(ch("1e400", '{"content":"b"}')) }, kind = "decode" },
      { "choices[].index NaN", { A, ck(ch("NaN", '{"content":"b"}')) }, kind = "decode" },
      { "choices[].index true", { A, ck(ch("true", '{"content":"b"}')) }, kind = "decode" },
      { "choices[].index an object", { A, ck(ch("{}", '{"content":"b"}')) }, kind = "decode" },
      { "choices[].index an array", { A, ck(ch("[0]", '{"content":"b"}')) }, kind = "decode" },
      { "tool_calls[].index as a string", { TC1, tc('"0"', "1}") }, kind = "decode" },
      { "tool_calls[].index negative", { TC1, tc("-3", "1}") }, kind = "decode" },
      { "tool_calls[].index NaN", { TC1, tc("NaN", "1}") }, kind = "decode" },
      { "tool_calls[].index a float", { TC1, tc("2.5", "1}") }, kind = "decode" },
      { "content as a number is not text", { A, ck(ch("0", '{"content":42}')), B },
        check = function(r) assert.equal("ab", content(r)) end },
      { "content as an object or array is not text",
        { A, ck(ch("0", '{"content":{"x":1}}')), ck(ch("0", '{"content":[1]}')), B },
        check = function(r) assert.equal("ab", content(r)) end },
      { "delta that is not an object",
        { A, ck(ch("0", '"x"')), ck(ch("0", "5")), ck(ch("0", "null")), ck(ch("0", "[]")), B },
        check = function(r) assert.equal("ab", content(r)) end },
      { "choices that is not an array of objects",
        { A, ck('"x"'), ck("5"), ck("null"), ck("{}"), ck('{"0":{"index":0,"delta":{"content":"z"}}}'),
          ck("[5]"), ck("[null]"), ck('["x"]'), ck("[[]]"), B },
        check = function(r) assert.equal(1, #r.choices); assert.equal("ab", content(r)) end },
      { "tool_calls that is not an array of objects",
        { A, ck(ch("0", '{"tool_calls":"x"}')), ck(ch("0", '{"tool_calls":5}')),
          ck(ch("0", '{"tool_calls":{}}')), ck(ch("0", '{"tool_calls":[5]}')),
          ck(ch("0", '{"tool_calls":[null]}')), ck(ch("0", '{"tool_calls":["x"]}')), B },
        check = function(r)
          assert.equal("ab", content(r))
          assert.is_nil(r.choices[1].message.tool_calls)
        end },
      { "tool call function, name and arguments of the wrong types",
        { TC1, ck(ch("0", '{"tool_calls":[{"index":0,"function":"x"}]}')),
          ck(ch("0", '{"tool_calls":[{"index":0,"id":5,"type":[],"function":{"name":5,"arguments":{}}}]}')),
          tc("0", ":1}") },
        check = function(r)
          local c = r.choices[1].message.tool_calls[1]
          assert.equal("call_1", c.id); assert.equal("function", c.type)
          assert.equal("f", c["function"].name); assert.equal('{"a":1}', c["function"].arguments)
        end },
      { "logprobs of the wrong shapes, beside good ones",
        { ck(ch("0", '{"content":"a"}', ',"logprobs":{"content":[{"token":"a","logprob":-0.1}]}')),
          ck(ch("0", '{}', ',"logprobs":5')), ck(ch("0", '{}', ',"logprobs":"x"')),
          ck(ch("0", '{}', ',"logprobs":[]')),
          ck(ch("0", '{}', ',"logprobs":{"content":5}')), ck(ch("0", '{}', ',"logprobs":{"content":null}')),
          ck(ch("0", '{}', ',"logprobs":{"content":"x","refusal":{"a":1}}')),
          ck(ch("0", '{"refusal":"no"}', ',"logprobs":{"content":null,"refusal":[{"token":"no","logprob":-1}]}')),
          ck(ch("0", '{"content":"b"}', ',"logprobs":{"content":[{"token":"b","logprob":-0.2}]}')) },
        check = function(r)
          local lp = r.choices[1].logprobs
          assert.equal(2, #lp.content)
          assert.equal("a", lp.content[1].token); assert.equal("b", lp.content[2].token)
          assert.equal(1, #lp.refusal); assert.equal("no", lp.refusal[1].token)
          assert.equal("ab", content(r)); assert.equal("no", r.choices[1].message.refusal)
        end },
      { "role and finish_reason of the wrong types",
        { ck(ch("0", '{"role":5,"content":"a"}', ',"finish_reason":{}')), ck(ch("0", '{"content":"b"}', ',"finish_reason":7')) },
        check = function(r)
          assert.equal("assistant", r.choices[1].message.role)
          assert.equal(openai.null, r.choices[1].finish_reason)
        end },
      { "top-level fields of the wrong types are passed through",
        { ck(ch("0", '{"content":"a"}'), ',"usage":5,"system_fingerprint":[],"service_tier":7'), B },
        check = function(r) assert.equal("ab", content(r)); assert.equal(5, r.usage) end },
      { "an event that is a JSON array", { A, "[1,2]", B }, kind = "decode", says = "not a JSON object" },
      { "an event that is an empty JSON array", { A, "[]", B }, kind = "decode", says = "not a JSON object" },
      { "an event that is a JSON number", { A, "5", B }, kind = "decode", says = "not a JSON object" },
      { "an event that is JSON null", { A, "null", B }, kind = "decode", says = "not a JSON object" },
    }

    for _, c in ipairs(CASES) do
      it(c[1], function()
        local items = {}
        for i, d in ipairs(c[2]) do items[i] = { data = d } end
        items[#items + 1] = { data = "[DONE]" }
        H.script(CHAT, { { sse = items } })
        local s = assert(client:chat_stream { messages = msgs() })
        local r, err = guarded(s.result, s)
        if c.check then
          assert.is_nil(err, err and tostring(err))
          c.check(r)
        else
          assert.is_nil(r)
          assert.equal(c.kind, err.kind)
          assert.equal(200, err.status)
          assert.equal("req_1", err.request_id)
          assert.matches(c.says or "index", err.message, 1, true)
        end
        s:close()
      end)
    end

    it("a bad index raises from the iterator at its chunk, and again from result()", function()
      H.script(CHAT, { { sse = { { data = A }, { data = ck(ch("null", '{"content":"b"}')) },
                                 { data = ck(ch('"x"', '{"content":"c"}')) }, { data = "[DONE]" } } } })
      local s = assert(client:chat_stream { messages = msgs() })
      local n = 0
      local _, err = guarded(function() for _ in s:each() do n = n + 1 end end)
      assert.equal(2, n)
      assert.equal("decode", err.kind)
      local _, err2 = guarded(s.result, s)
      assert.equal(err.message, err2.message)
    end)

    it("a stream opened with accumulate = false hands hostile chunks over as they are", function()
      H.script(CHAT, { { sse = { { data = ck(ch('"x"', '{"content":5}')) }, { data = "[DONE]" } } } })
      local s = assert(client:chat_stream { messages = msgs(), accumulate = false })
      local got = {}
      local _, err = guarded(function() for c in s:each() do got[#got + 1] = c end end)
      assert.is_nil(err)
      assert.equal(1, #got)
      assert.equal("x", got[1].choices[1].index)
    end)

    -- every field of a chunk, replaced by each hostile JSON value: result()
    -- gives a value or an error object of kind decode, never a runtime error
    it("any field of a chunk with any hostile value: a result or a decode error", function()
      local HOSTILE = { "null", "true", "false", "0", "-1", "0.5", "1e300", "-1e400", "NaN", '"x"', '""',
                        "[]", "{}", "[null]", '{"a":1}', "[[1]]", '"\\u0000"' }
      local PATHS = {
        { "id" }, { "created" }, { "usage" }, { "system_fingerprint" }, { "service_tier" },
        { "error" }, { "choices" }, { "choices", 1 }, { "choices", 1, "index" }, { "choices", 1, "delta" },
        { "choices", 1, "delta", "content" }, { "choices", 1, "delta", "role" },
        { "choices", 1, "delta", "refusal" }, { "choices", 1, "delta", "tool_calls" },
        { "choices", 1, "delta", "tool_calls", 1 }, { "choices", 1, "delta", "tool_calls", 1, "index" },
        { "choices", 1, "delta", "tool_calls", 1, "id" }, { "choices", 1, "delta", "tool_calls", 1, "type" },
        { "choices", 1, "delta", "tool_calls", 1, "function" },
        { "choices", 1, "delta", "tool_calls", 1, "function", "name" },
        { "choices", 1, "delta", "tool_calls", 1, "function", "arguments" },
        { "choices", 1, "finish_reason" }, { "choices", 1, "logprobs" },
        { "choices", 1, "logprobs", "content" }, { "choices", 1, "logprobs", "content", 1 },
        { "choices", 1, "logprobs", "refusal" },
      }
      local MARK = "\"@@hostile@@\""
      local function chunk_with(path, raw)
        local c = { id = "c", created = 1, model = "m", choices = { { index = 0, delta = {
          role = "assistant", content = "a", tool_calls = { { index = 0, id = "call_1", type = "function",
          ["function"] = { name = "f", arguments = "{}" } } } },
          finish_reason = "stop", logprobs = { content = { { token = "a" } } } } } }
        local t = c
        for i = 1, #path - 1 do t = t[path[i]] end
        t[path[#path]] = "@@hostile@@"
        local text = cjson.encode(c)
        local i, j = text:find(MARK, 1, true)
        return text:sub(1, i - 1) .. raw .. text:sub(j + 1)
      end
      local streams, errs = 0, 0
      for _, path in ipairs(PATHS) do
        for _, raw in ipairs(HOSTILE) do
          local where = table.concat(path, ".") .. " = " .. raw
          H.script(CHAT, { { sse = { { data = chunk_with(path, raw) }, { data = "[DONE]" } } } })
          local s = assert(client:chat_stream { messages = msgs() })
          local ok, r = pcall(s.result, s)
          streams = streams + 1
          if ok then
            assert.equal("chat.completion", r.object, where)
          else
            assert.is_true(openai.is_error(r), where .. ": " .. tostring(r))
            assert.is_truthy(r.kind == "decode" or (path[1] == "error" and r.kind == "stream"), where)
            errs = errs + 1
          end
          s:close()
        end
      end
      assert.equal(#PATHS * #HOSTILE, streams)
      assert.is_true(errs > 0)

      -- Responses events: a delta, then response.completed, one field hostile
      local RPATHS = { { 1, "type" }, { 1, "delta" }, { 1, "error" }, { 2, "type" }, { 2, "response" },
                       { 2, "response", "error" }, { 2, "response", "status" }, { 2, "error" },
                       { 2, "sequence_number" } }
      for _, rp in ipairs(RPATHS) do
        for _, raw in ipairs(HOSTILE) do
          local evs = { { type = "response.output_text.delta", delta = "hi" },
                        { type = "response.completed", response = { id = "resp_h", status = "completed" } } }
          local t = evs[rp[1]]
          for i = 2, #rp - 1 do t = t[rp[i]] end
          t[rp[#rp]] = "@@hostile@@"
          local items = {}
          for i, e in ipairs(evs) do
            local text = cjson.encode(e)
            local a, b = text:find(MARK, 1, true)
            if a then text = text:sub(1, a - 1) .. raw .. text:sub(b + 1) end
            items[i] = { data = text }
          end
          H.script(RESP, { { sse = items } })
          local where = rp[1] .. ":" .. table.concat(rp, ".", 2) .. " = " .. raw
          local s = assert(client:response_stream { input = "x" })
          local ok, r = pcall(s.result, s)
          if ok then
            assert.is_table(r, where)
            if rp[2] ~= "response" or rp[3] then assert.equal("resp_h", r.id, where) end
          else
            assert.is_true(openai.is_error(r), where .. ": " .. tostring(r))
            assert.is_truthy(r.kind == "decode" or r.kind == "stream", where)
          end
          s:close()
        end
      end
    end)

    -- Responses API events
    local function ev(t) return { data = t } end
    local CREATED = '{"type":"response.created","sequence_number":0,"response":{"id":"resp_h","status":"in_progress"}}'
    local RCASES = {
      { "response.completed whose response is null",
        { CREATED, '{"type":"response.completed","sequence_number":1,"response":null}' }, kind = "decode" },
      { "response.completed whose response is a string",
        { CREATED, '{"type":"response.completed","sequence_number":1,"response":"done"}' }, kind = "decode" },
      { "response.completed whose response is an array",
        { CREATED, '{"type":"response.completed","sequence_number":1,"response":[1]}' }, kind = "decode" },
      { "response.completed without response",
        { CREATED, '{"type":"response.completed","sequence_number":1}' }, kind = "decode" },
      { "deltas and types of the wrong types are tolerated",
        { CREATED, '{"type":"response.output_text.delta","delta":5}',
          '{"type":"response.output_text.delta","delta":"ok"}', '{"type":5}', '{"type":null}', '{"type":{}}',
          '{"type":"response.output_text.delta","delta":null}',
          '{"type":"response.completed","sequence_number":9,"response":{"id":"resp_h","status":"completed"}}' },
        check = function(r, s) assert.equal("completed", r.status); assert.equal("ok", s:text()) end },
      { "an error event with fields of the wrong types",
        { CREATED, '{"type":"error","sequence_number":1,"code":{},"message":{},"param":[]}' },
        kind = "stream", says = "error event",
        err_check = function(e) assert.is_nil(e.code); assert.is_nil(e.param) end },
    }
    for _, c in ipairs(RCASES) do
      it("responses: " .. c[1], function()
        local items = {}
        for i, d in ipairs(c[2]) do items[i] = ev(d) end
        H.script(RESP, { { sse = items } })
        local s = assert(client:response_stream { input = "x" })
        local r, err = guarded(s.result, s)
        if c.check then
          assert.is_nil(err, err and tostring(err))
          c.check(r, s)
        else
          assert.is_nil(r)
          assert.equal(c.kind, err.kind)
          assert.matches(c.says or "response", err.message, 1, true)
          if c.err_check then c.err_check(err) end
        end
        s:close()
      end)
    end
  end)

  -- {=============================================================
  -- 7. the server's message is kept

  describe("a stream answered with an error keeps the server's message", function()
    local BODY = '{"error":{"message":"context length exceeded","type":"invalid_request_error",' ..
                 '"param":"messages","code":"context_length_exceeded"}}'

    for _, which in ipairs({ "chat_stream", "response_stream" }) do
      local path = which == "chat_stream" and CHAT or RESP
      local function open(c)
        if which == "chat_stream" then return c:chat_stream { messages = msgs() } end
        return c:response_stream { input = "x" }
      end

      it(which .. ": a 200 JSON error body instead of events fails the call with its message", function()
        H.script(path, { { status = 200, body = BODY } })
        local s, err, meta = open(client)
        assert.is_nil(s)
        assert.is_true(openai.is_error(err))
        assert.equal("stream", err.kind)
        assert.equal("context length exceeded", err.message)
        assert.equal("invalid_request_error", err.type)
        assert.equal("context_length_exceeded", err.code)
        assert.equal("messages", err.param)
        assert.equal(200, err.status)
        assert.equal("req_1", err.request_id)
        assert.equal(1, err.attempts)
        assert.equal(200, meta.status)
        assert.matches("context length exceeded", tostring(err), 1, true)
        assert.equal(1, #H.requests())
      end)

      it(which .. ": a string error member, a charset and a BOM are read too", function()
        H.script(path, { { status = 200, body = BOM .. '{"error":"Upstream provider failed"}',
                           headers = { ["Content-Type"] = "application/json; charset=utf-8" } } })
        local s, err = open(client)
        assert.is_nil(s)
        assert.equal("stream", err.kind)
        assert.equal("Upstream provider failed", err.message)
      end)

      it(which .. ": a 200 JSON body that is no error says it is not a stream", function()
        H.script(path, { { status = 200, body = '{"id":"chatcmpl-1","object":"chat.completion","choices":[]}' },
                         { status = 200, body = "<html>oops</html>",
                           headers = { ["Content-Type"] = "application/problem+json" } } })
        for _, what in ipairs({ "chatcmpl-1", "<html>oops</html>" }) do
          local s, err = open(client)
          assert.is_nil(s)
          assert.equal("stream", err.kind)
          assert.equal(200, err.status)
          assert.matches("not an event stream", err.message, 1, true)
          assert.matches(what, err.message, 1, true)
        end
      end)
    end

    it("an event whose error member is a string raises that message", function()
      H.script(CHAT, { { sse = { { data = '{"id":"c","choices":[{"index":0,"delta":{"content":"a"}}]}' },
                                 { data = '{"error":"Upstream provider failed"}' } } } })
      local s = assert(client:chat_stream { messages = msgs() })
      local n = 0
      local _, err = guarded(function() for _ in s:each() do n = n + 1 end end)
      assert.equal(1, n)
      assert.equal("stream", err.kind)
      assert.equal("Upstream provider failed", err.message)
    end)

    it("an error event whose error member is a string raises that message", function()
      H.script(CHAT, { { sse = { { event = "error", data = '{"error":"Upstream provider failed","code":502}' } } } })
      local s = assert(client:chat_stream { messages = msgs() })
      local _, err = guarded(s.result, s)
      assert.equal("stream", err.kind)
      assert.equal("Upstream provider failed", err.message)
    end)

    it("an event with error null or false is no error", function()
      assert.equal("ab", streamed_text {
        { data = '{"id":"c","error":null,"choices":[{"index":0,"delta":{"content":"a"}}]}' },
        { data = '{"id":"c","error":false,"choices":[{"index":0,"delta":{"content":"b"}}]}' },
        { data = "[DONE]" } })
    end)
  end)

  -- {=============================================================
  -- 8. response.failed and response.incomplete

  describe("a Responses stream that does not complete", function()
    local function resp(status, extra)
      local r = { id = "resp_f", object = "response", status = status, error = cjson.null,
                  incomplete_details = cjson.null, output = {} }
      for k, v in pairs(extra or {}) do r[k] = v end
      return r
    end
    local function events(last)
      return {
        { event = "response.created", data = { type = "response.created", sequence_number = 0,
                                               response = resp("in_progress") } },
        { event = "response.output_text.delta", data = { type = "response.output_text.delta",
                                                         sequence_number = 1, delta = "par" } },
        { event = last.type, data = last },
      }
    end
    local FAILED = { type = "response.failed", sequence_number = 2, response = resp("failed", {
      error = { code = "server_error", message = "The model failed to generate a response." } }) }

    it("each() hands over every event, response.failed last, then ends", function()
      H.script(RESP, { { sse = events(FAILED) } })
      local s = assert(client:response_stream { input = "x" })
      local got = {}
      local _, err = guarded(function() for e in s:each() do got[#got + 1] = e.type end end)
      assert.is_nil(err)
      assert.same({ "response.created", "response.output_text.delta", "response.failed" }, got)
      assert.equal("par", s:text())
    end)

    it("result() raises kind 'stream' with the response's error code and message", function()
      H.script(RESP, { { sse = events(FAILED) } })
      local s = assert(client:response_stream { input = "x" })
      for _ in s:each() do end
      local r, err = guarded(s.result, s)
      assert.is_nil(r)
      assert.equal("stream", err.kind)
      assert.equal("server_error", err.code)
      assert.equal("The model failed to generate a response.", err.message)
      assert.equal(200, err.status)
      assert.equal("req_1", err.request_id)
      assert.matches("server_error", tostring(err), 1, true)
      -- and again, the same
      local _, err2 = guarded(s.result, s)
      assert.equal(err.message, err2.message)
    end)

    it("result() without a loop raises too", function()
      H.script(RESP, { { sse = events(FAILED) } })
      local s = assert(client:response_stream { input = "x" })
      local r, err = guarded(s.result, s)
      assert.is_nil(r)
      assert.equal("server_error", err.code)
    end)

    it("a failed response without an error object still raises, saying so", function()
      local f = { type = "response.failed", sequence_number = 2, response = resp("failed") }
      H.script(RESP, { { sse = events(f) } })
      local s = assert(client:response_stream { input = "x" })
      local r, err = guarded(s.result, s)
      assert.is_nil(r)
      assert.equal("stream", err.kind)
      assert.matches("response.failed", err.message, 1, true)
    end)

    it("with accumulate = false result() raises for response.failed too", function()
      H.script(RESP, { { sse = events(FAILED) } })
      local s = assert(client:response_stream { input = "x", accumulate = false })
      local r, err = guarded(s.result, s)
      assert.is_nil(r)
      assert.equal("server_error", err.code)
    end)

    it("response.incomplete: result() returns the response with its incomplete_details", function()
      local inc = { type = "response.incomplete", sequence_number = 2, response = resp("incomplete", {
        incomplete_details = { reason = "max_output_tokens" } }) }
      H.script(RESP, { { sse = events(inc) } })
      local s = assert(client:response_stream { input = "x" })
      local r, err = guarded(s.result, s)
      assert.is_nil(err)
      assert.equal("incomplete", r.status)
      assert.equal("max_output_tokens", r.incomplete_details.reason)
      assert.equal("resp_f", r.id)
    end)
  end)

  -- {=============================================================
  -- 9. a leading UTF-8 byte-order mark

  describe("a leading byte-order mark", function()
    it("is skipped on a typed action's body", function()
      H.script("/v1/models", { { status = 200, body = BOM .. '{"object":"list","data":[]}' } })
      local res, err = client:models()
      assert.is_nil(err)
      assert.equal("list", res.object)
      assert.same({}, res.data)
    end)

    it("is skipped on a chat body with whitespace after it", function()
      H.script(CHAT, { { status = 200, body = BOM .. ' \n{"id":"chatcmpl-b","choices":[]}' } })
      local res, err = client:chat { messages = msgs() }
      assert.is_nil(err)
      assert.equal("chatcmpl-b", res.id)
    end)

    it("is skipped on a stream event's data", function()
      assert.equal("ab", streamed_text {
        { data = BOM .. '{"id":"c","choices":[{"index":0,"delta":{"content":"a"}}]}' },
        { data = '{"id":"c","choices":[{"index":0,"delta":{"content":"b"}}]}' },
        { data = "[DONE]" } })
    end)

    it("is skipped once only, and only at the start", function()
      for _, body in ipairs({ BOM .. BOM .. "{}", " " .. BOM .. "{}", '{"a":1}' .. BOM }) do
        H.script("/v1/models", { { status = 200, body = body } })
        local res, err = client:models()
        assert.is_nil(res)
        assert.equal("decode", err.kind)
      end
    end)
  end)
end)
