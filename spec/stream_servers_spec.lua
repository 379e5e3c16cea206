-- Chat streams as compatible servers send them (the stand-in's shapes in
-- spec/support/standin.py: DeepSeek's reasoning_content, OpenRouter's and
-- Ollama's reasoning, Azure's filter results and usage chunk, a stream that
-- closes without [DONE]) and every field a server may add: result() keeps
-- them all, assembled as the official SDKs assemble deltas.

local H = require "support.helper"
local openai = require "openai"
local cjson = require "cjson"

local CHAT = "/v1/chat/completions"
local ASKED = "what is two plus two"
local ANSWER = "You said: " .. ASKED
local THOUGHT = "Thinking about: " .. ASKED

local function msgs(text)
  return { { role = "user", content = text or ASKED } }
end

-- every chunk of a stream (a while loop: every Lua), and the error its
-- iterator raised, if any
local function drain(s)
  local got = {}
  local ok, err = pcall(function()
    while true do
      local c = s:next()
      if not c then break end
      got[#got + 1] = c
    end
  end)
  return got, (not ok) and err or nil
end

-- one scripted chunk's JSON: its choices and its other fields
local function chunk(choices, more)
  local c = { id = "chatcmpl-x", object = "chat.completion.chunk", created = 1700000000, model = "m",
              choices = choices }
  for k, v in pairs(more or {}) do c[k] = v end
  return cjson.encode(c)
end

local function choice(delta, more)
  local ch = { index = 0, delta = delta, finish_reason = cjson.null }
  for k, v in pairs(more or {}) do ch[k] = v end
  return ch
end

describe("chat streams of compatible servers", function()
  local client

  before_each(function()
    H.reset()
    client = H.client()
  end)

  describe("reasoning text", function()
    it("keeps DeepSeek's delta.reasoning_content beside the content", function()
      H.script(CHAT, { { shape = "deepseek" } })
      local s = assert(client:chat_stream { messages = msgs(), model = "deepseek-reasoner" })
      local r = s:result()
      local m = r.choices[1].message
      assert.equal(THOUGHT, m.reasoning_content)
      assert.equal(ANSWER, m.content)
      assert.equal(ANSWER, s:text())
      assert.equal("assistant", m.role)
      assert.equal("stop", r.choices[1].finish_reason)
      assert.equal("fp_deepseek_prod0425", r.system_fingerprint)
      assert.equal("chat.completion", r.object)
      assert.equal("deepseek-reasoner", r.model)
      assert.is_true(r.usage.completion_tokens_details.reasoning_tokens > 0)
      assert.equal(0, r.usage.prompt_cache_hit_tokens)
    end)

    it("keeps OpenRouter's reasoning, its reasoning_details merged by index, and its own fields", function()
      H.script(CHAT, { { shape = "openrouter" } })
      local s = assert(client:chat_stream { messages = msgs(), model = "deepseek/deepseek-r1" })
      local r = s:result()
      local m = r.choices[1].message
      assert.equal(THOUGHT, m.reasoning)
      assert.equal(ANSWER, m.content)
      assert.same({ { type = "reasoning.text", text = THOUGHT, format = "unknown", index = 0 } },
                  m.reasoning_details)
      assert.equal("STOP", r.choices[1].native_finish_reason)
      assert.equal("stop", r.choices[1].finish_reason)
      assert.equal("StandIn", r.provider)
      assert.equal(0.00042, r.usage.cost)
      assert.is_true(r.usage.total_tokens > 0)
      assert.is_nil(r.system_fingerprint)        -- sent only as null: left out, as before
    end)

    it("keeps Ollama's reasoning (its role in every delta)", function()
      H.script(CHAT, { { shape = "ollama" } })
      local s = assert(client:chat_stream { messages = msgs(), model = "qwen3" })
      local chunks, err = drain(s)
      assert.is_nil(err)
      assert.is_true(#chunks > 6)
      local r = s:result()
      assert.equal(THOUGHT, r.choices[1].message.reasoning)
      assert.equal(ANSWER, r.choices[1].message.content)
      assert.equal("assistant", r.choices[1].message.role)
      assert.equal("fp_ollama", r.system_fingerprint)
    end)
  end)

  describe("any field, whatever its name", function()
    it("assembles audio, annotations and unknown fields at every level", function()
      H.script(CHAT, { { sse = {
        { data = chunk({ choice({ role = "assistant", content = "",
                                  audio = { id = "audio_1", data = "AAA", transcript = "Hel" } },
                                { custom_choice = "a" }) }, { custom_chunk = { x = 1 } }) },
        { data = chunk({ choice({ audio = { data = "BBB", transcript = "lo" }, content = "Hi" },
                                { custom_choice = "b" }) }) },
        { data = chunk({ choice({ annotations = { { type = "url_citation", url_citation = { url = "https://a" } } },
                                  content = " there", extra_text = "one " }) }) },
        { data = chunk({ choice({ annotations = { { type = "url_citation", url_citation = { url = "https://b" } } },
                                  extra_text = "two", flag = true, count = 3 }) }) },
        { data = chunk({ choice({ audio = { expires_at = 1700003600 } }, { finish_reason = "stop" }) },
                       { custom_chunk = { y = 2 } }) },
        { data = "[DONE]" } } } })
      local s = assert(client:chat_stream { messages = msgs() })
      local chunks, err = drain(s)
      assert.is_nil(err)
      local r = s:result()
      local c = r.choices[1]
      local m = c.message
      assert.equal("Hi there", m.content)
      assert.same({ id = "audio_1", data = "AAABBB", transcript = "Hello", expires_at = 1700003600 }, m.audio)
      assert.same({ { type = "url_citation", url_citation = { url = "https://a" } },
                    { type = "url_citation", url_citation = { url = "https://b" } } }, m.annotations)
      assert.equal("one two", m.extra_text)
      assert.is_true(m.flag)
      assert.equal(3, m.count)
      assert.equal("b", c.custom_choice)               -- beside the delta: the latest
      assert.equal("stop", c.finish_reason)
      assert.same({ x = 1, y = 2 }, r.custom_chunk)    -- objects merge key by key
      -- the chunks handed over are as the server sent them
      assert.same({ data = "BBB", transcript = "lo" }, chunks[2].choices[1].delta.audio)
      assert.equal("one ", chunks[3].choices[1].delta.extra_text)
    end)

    it("assembles a field first sent as null, and keeps one only ever null as null", function()
      H.script(CHAT, { { sse = {
        { data = chunk({ choice({ role = "assistant", content = "a", thinking = cjson.null, never = cjson.null }) }) },
        { data = chunk({ choice({ content = "b", thinking = "x" }) }) },
        { data = chunk({ choice({ content = "c", thinking = "y", never = cjson.null }) }) },
        { data = chunk({ choice({ content = "d", thinking = cjson.null }) }) },
        { data = chunk({ choice({}, { finish_reason = "stop" }) }) },
        { data = "[DONE]" } } } })
      local s = assert(client:chat_stream { messages = msgs() })
      local m = s:result().choices[1].message
      assert.equal("abcd", m.content)
      assert.equal("xy", m.thinking)
      assert.equal(openai.null, m.never)
    end)

    it("merges an array's objects by index across chunks, in any order", function()
      H.script(CHAT, { { sse = {
        { data = chunk({ choice({ role = "assistant", parts = { { index = 0, text = "a" }, { index = 1, text = "x" } } }) }) },
        { data = chunk({ choice({ parts = { { index = 1, text = "y", done = true }, { index = 0, text = "b" } } }) }) },
        { data = chunk({ choice({ parts = { { index = 2, text = "z" }, "loose" } }, { finish_reason = "stop" }) }) },
        { data = "[DONE]" } } } })
      local s = assert(client:chat_stream { messages = msgs() })
      assert.same({ { index = 0, text = "ab" }, { index = 1, text = "xy", done = true }, { index = 2, text = "z" },
                    "loose" }, s:result().choices[1].message.parts)
    end)

    it("takes any value after any other in a field it does not know, at every level", function()
      local VALUES = { "null", "true", "false", "0", "-1", "0.5", "1e300", '"x"', '""', "[]", "{}", "[null]",
                       '{"a":1}', '{"a":"b"}', "[[1]]", '[{"index":0,"t":"a"}]', '[{"index":"x"}]', '"\\u0000"' }
      local function at(level, raw)
        local d, c, k = '{"content":"a"}', "", ""
        if level == "delta" then d = '{"content":"a","odd":' .. raw .. '}' end
        if level == "choice" then c = ',"odd":' .. raw end
        if level == "chunk" then k = ',"odd":' .. raw end
        return '{"id":"c","object":"chat.completion.chunk","created":1,"model":"m"' .. k ..
               ',"choices":[{"index":0,"delta":' .. d .. c .. ',"finish_reason":null}]}'
      end
      for _, level in ipairs({ "delta", "choice", "chunk" }) do
        local items = { { data = at(level, "null") } }
        for _, x in ipairs(VALUES) do
          for _, y in ipairs(VALUES) do
            items[#items + 1] = { data = at(level, x) }
            items[#items + 1] = { data = at(level, y) }
          end
        end
        items[#items + 1] = { data = "[DONE]" }
        H.script(CHAT, { { sse = items } })
        local s = assert(client:chat_stream { messages = msgs() })
        local ok, r = pcall(s.result, s)
        assert.is_true(ok, level .. ": " .. tostring(r))
        assert.equal(#items - 1, #r.choices[1].message.content, level)
        assert.is_not_nil((level == "delta" and r.choices[1].message or level == "choice" and r.choices[1] or r).odd)
      end
    end)

    it("merges unknown fields of tool calls and of their function", function()
      H.script(CHAT, { { sse = {
        { data = chunk({ choice({ role = "assistant", tool_calls = { { index = 0, id = "call_1", type = "function",
          ["function"] = { name = "f", arguments = "{", thought_signature = "sig" }, extra_content = { a = "x" } } } }) }) },
        { data = chunk({ choice({ tool_calls = { { index = 0, ["function"] = { arguments = "}" },
          extra_content = { a = "y" } } } }) }) },
        { data = chunk({ choice({}, { finish_reason = "tool_calls" }) }) },
        { data = "[DONE]" } } } })
      local s = assert(client:chat_stream { messages = msgs() })
      local call = s:result().choices[1].message.tool_calls[1]
      assert.equal("call_1", call.id)
      assert.equal("{}", call["function"].arguments)
      assert.equal("sig", call["function"].thought_signature)
      assert.same({ a = "xy" }, call.extra_content)
    end)
  end)

  it("core's chat_delta and chat_finish take any value: nothing, or a fold", function()
    local wire = require "openai.wire"
    local text = wire.text_new()
    local c = { role = "assistant", content = text, more = { r = wire.text_new(), n = 1 }, extra = {} }
    local odd = { nil, false, 0, "x", {}, { choices = "x" }, { choices = { 5 } }, { choices = { { index = -1 } } },
                  { choices = { { index = 0, delta = { [1] = "x" } } } }, { choices = { { index = 0.5, delta = {} } } },
                  { choices = { { index = 0, delta = { content = 5 } } } },
                  { choices = { { index = 0, delta = { r = 5 } } } }, { choices = { { index = 0, delta = { n = "x" } } } },
                  { choices = { { index = 0, delta = { role = "user" } } } } }
    for i = 1, #odd + 1 do
      for _, second in ipairs({ {}, { [0] = c }, "x", 7 }) do
        assert.is_nil(wire.chat_delta(odd[i], second))
        assert.is_nil(wire.chat_finish(odd[i], type(second) == "table" and {} or second))
      end
    end
    assert.is_nil(wire.text_string(text))
    local plain = { choices = { { index = 0, delta = { content = "a", r = "b", role = "assistant", n = cjson.null } } } }
    assert.is_true(wire.chat_delta(plain, { [0] = c }))
    assert.equal("a", wire.text_string(text))
    assert.equal("b", wire.text_string(c.more.r))
    assert.equal(plain.choices[1], c.last)
    local open = {}
    wire.chat_finish({ choices = { { index = 1 }, { index = 0, finish_reason = "stop" }, { index = "x" },
                                   { finish_reason = cjson.null } } }, open)
    assert.same({ [0] = false, [1] = true, [3] = true }, open)     -- no index: its position
    wire.chat_finish({ choices = { { index = 1, finish_reason = "length" } } }, open)
    assert.same({ [0] = false, [1] = false, [3] = true }, open)
  end)

  describe("a stream that ends without [DONE]", function()
    it("is complete when it closed cleanly after every choice's finish_reason", function()
      H.script(CHAT, { { shape = "no_done" } })
      local s = assert(client:chat_stream { messages = msgs() })
      local r = s:result()
      assert.equal(ANSWER, r.choices[1].message.content)
      assert.equal("stop", r.choices[1].finish_reason)
      assert.is_nil(s:next())                         -- ended: nil again, no error
    end)

    it("is complete with two choices, each finished, and with accumulate = false", function()
      H.script(CHAT, { { shape = "no_done" } })
      local s = assert(client:chat_stream { messages = msgs(), n = 2 })
      local r = s:result()
      assert.equal(2, #r.choices)
      assert.equal(ANSWER .. " [1]", r.choices[2].message.content)
      H.script(CHAT, { { shape = "no_done" } })
      s = assert(client:chat_stream { messages = msgs(), n = 2, accumulate = false })
      local chunks, err = drain(s)
      assert.is_nil(err)
      assert.equal("stop", chunks[#chunks].choices[1].finish_reason)
    end)

    it("is an error of kind stream when it closed cleanly before a finish_reason", function()
      for _, acc in ipairs({ true, false }) do
        H.script(CHAT, { { shape = "no_done", cut_after = 3 } })
        local s = assert(client:chat_stream { messages = msgs(), accumulate = acc })
        local chunks, err = drain(s)
        assert.equal(3, #chunks)
        assert.is_true(openai.is_error(err))
        assert.equal("stream", err.kind)
        assert.equal("the stream ended before [DONE] (and before every choice had its finish_reason)",
                     err.message)
        assert.equal(200, err.status)
        if acc then
          local ok, err2 = pcall(s.result, s)
          assert.is_false(ok)
          assert.equal(err.message, err2.message)
        end
      end
    end)

    it("is an error when one of two choices has no finish_reason", function()
      H.script(CHAT, { { sse = {
        { data = chunk({ choice({ role = "assistant", content = "a" }) }) },
        { data = chunk({ { index = 1, delta = { role = "assistant", content = "b" }, finish_reason = cjson.null } }) },
        { data = chunk({ choice({}, { finish_reason = "stop" }) }) } } } })
      local s = assert(client:chat_stream { messages = msgs() })
      local _, err = drain(s)
      assert.equal("stream", err.kind)
      assert.matches("ended before [DONE]", err.message, 1, true)
    end)

    it("is an error when the transfer is cut, even after every finish_reason", function()
      H.script(CHAT, { { shape = "no_done", sse_end = "close" } })
      local s = assert(client:chat_stream { messages = msgs() })
      local chunks, err = drain(s)
      assert.is_true(#chunks > 3)
      assert.is_true(openai.is_error(err))
      assert.equal("stream", err.kind)
      assert.is_nil(err.message:find("[DONE]", 1, true))   -- the transfer's own error
    end)
  end)

  describe("Azure's stream", function()
    it("keeps prompt_filter_results, content_filter_results and the usage chunk in result()", function()
      local az = H.client { base_url = H.url .. "/openai", azure = { api_version = "2024-10-21", deployment = "gpt4o" } }
      local s = assert(az:chat_stream { messages = msgs(), stream_options = { include_usage = true } })
      local chunks, err = drain(s)
      assert.is_nil(err)
      assert.same({}, chunks[1].choices)               -- the first chunk: no choice
      local r = s:result()
      assert.equal("chat.completion", r.object)
      assert.equal(ANSWER, r.choices[1].message.content)
      assert.equal(ANSWER, s:text())
      assert.equal("stop", r.choices[1].finish_reason)
      assert.equal("safe", r.choices[1].content_filter_results.hate.severity)
      assert.is_false(r.choices[1].content_filter_results.violence.filtered)
      assert.equal(0, r.prompt_filter_results[1].prompt_index)
      assert.equal("safe", r.prompt_filter_results[1].content_filter_results.sexual.severity)
      assert.is_true(r.usage.total_tokens > 0)
      -- the later chunks' id and model win over the first chunk's empty ones
      assert.equal(H.last().json.model, r.model)
      assert.is_true(#r.model > 0)
      assert.matches("^chatcmpl%-", r.id)
      assert.equal("/openai/deployments/gpt4o/chat/completions", H.last().path)
    end)
  end)
end)
