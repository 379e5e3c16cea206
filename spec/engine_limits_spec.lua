-- The engine's rules and bounds: a stream
-- that received an event is never retried, read or not; a 200 is never an
-- `api` error; the idle handle pool, a body near max_response_bytes and a
-- huge response header all stay bounded. Checked against the stand-in
-- (spec/support/standin.py) over the real transport.

local H = require "support.helper"
local openai = require "openai"
local cjson = require "cjson"

local CHAT = "/v1/chat/completions"
local RESP = "/v1/responses"
local MODELS = "/v1/models"

local function msgs(text)
  return { { role = "user", content = text or "hello there" } }
end

-- one chat.completion.chunk whose delta carries `content`
local function chunk(content)
  return { id = "chatcmpl-l", object = "chat.completion.chunk", created = 1700000000, model = "gpt-l",
           choices = { { index = 0, delta = { content = content }, finish_reason = cjson.null } } }
end

-- what a retry of the stream would get: a complete stream of other events
local RETRY_STREAM = { sse = { { data = chunk("B1") }, { data = chunk("B2") }, { data = "[DONE]" } } }

-- a stream's content deltas joined, and the error its iterator raised
local function drain(s)
  local got = {}
  local ok, err = pcall(function()
    for c in s:each() do got[#got + 1] = c.choices[1].delta.content end
  end)
  return table.concat(got, " "), (not ok) and err or nil
end

local requests_to = H.requests_to

describe("engine limits", function()
  local client

  before_each(function()
    H.reset()
    client = H.client()
  end)

  -- {=============================================================
  -- a stream that received an event is never retried

  describe("a stream with events received but not yet read", function()
    -- stream 1 sends A1, then 150 ms later A2 and cuts the body; the
    -- caller does not read it until a slow call (600 ms) has driven the
    -- engine through the cut
    local function cut_stream_under(slow_call)
      H.script(CHAT, { { sse = { { data = chunk("A1") }, { data = chunk("A2") } }, sse_delay_ms = 150,
                         sse_end = "close" }, RETRY_STREAM })
      local s1, err, meta = client:chat_stream { messages = msgs(), max_retries = 2 }
      assert.is_nil(err)
      assert.equal(1, meta.attempts)
      slow_call()
      local text, serr = drain(s1)
      assert.equal("A1 A2", text)
      assert.is_true(openai.is_error(serr))
      assert.equal("stream", serr.kind)
      assert.equal(1, serr.attempts)
      assert.equal(1, requests_to(CHAT))
    end

    it("is not retried while another stream opens", function()
      cut_stream_under(function()
        H.script(RESP, { { delay_ms = 600 } })
        local s2, err = client:response_stream { input = "second" }
        assert.is_nil(err)
        assert.equal("You said: second", s2:result().output[1].content[1].text)
      end)
    end)

    it("is not retried while a plain call drives the engine", function()
      cut_stream_under(function()
        H.script(MODELS, { { delay_ms = 600 } })
        local list, err = client:models()
        assert.is_nil(err)
        assert.is_true(#list.data > 0)
      end)
    end)
  end)

  describe("a stream cut in the same read as its first events", function()
    it("is handed over: its events, then a 'stream' error (never 'api', never a retry)", function()
      H.script(CHAT, { { sse = { { data = chunk("A1") }, { data = chunk("A2") } }, sse_one_write = true,
                         sse_end = "close" }, RETRY_STREAM })
      local s, err, meta = client:chat_stream { messages = msgs(), max_retries = 2 }
      assert.is_nil(err)
      assert.equal(200, meta.status)
      assert.equal(1, meta.attempts)
      local text, serr = drain(s)
      assert.equal("A1 A2", text)
      assert.equal("stream", serr.kind)
      assert.equal(1, requests_to(CHAT))
    end)

    it("is a 'connection' error after the retries when no event came", function()
      H.script(CHAT, { { sse = {}, sse_one_write = true, sse_end = "close" },
                       { sse = {}, sse_one_write = true, sse_end = "close" } })
      local s, err, meta = client:chat_stream { messages = msgs(), max_retries = 1 }
      assert.is_nil(s)
      assert.is_true(openai.is_error(err))
      assert.equal("connection", err.kind)
      assert.equal(2, err.attempts)
      assert.equal(2, meta.attempts)
      assert.equal(2, requests_to(CHAT))
    end)
  end)

  -- {=============================================================
  -- bounded resources

  describe("the idle easy-handle pool", function()
    it("keeps at most 64 handles after a burst of 100 concurrent calls", function()
      local fns = {}
      for i = 1, 100 do fns[i] = function() return client:models() end end
      local results = openai.parallel(fns, { concurrency = 100 })
      for i = 1, 100 do assert.is_table(results[i][1], "call " .. i) end
      local idle = openai.stats().idle_handles
      assert.is_true(idle > 0, "no handle kept for the next call")
      assert.is_true(idle <= 64, idle .. " idle handles kept")
      assert.is_table((client:models()))
    end)
  end)

  describe("a body near max_response_bytes", function()
    local CAP = 4 * 1024 * 1024

    -- KiB the Lua heap grew by during f (the collector stopped)
    local function lua_growth(f)
      collectgarbage("collect")
      collectgarbage("collect")
      collectgarbage("stop")
      local before = collectgarbage("count")
      local a, b = f()
      local grew = collectgarbage("count") - before
      collectgarbage("restart")
      return grew, a, b
    end

    it("is not copied into Lua when it is too large", function()
      local grew, res, err = lua_growth(function()
        return client:request { url = "/v1/bytes?n=" .. (CAP + 1), response_type = "binary",
                                max_response_bytes = CAP }
      end)
      assert.is_nil(res)
      assert.equal("too_large", err.kind)
      assert.is_nil(err.body)
      assert.is_true(grew < 512, "the Lua heap grew by " .. grew .. " KiB")
      -- the measure sees a body that is handed over
      grew, res = lua_growth(function()
        return client:request { url = "/v1/bytes?n=" .. CAP, response_type = "binary",
                                max_response_bytes = CAP }
      end)
      assert.equal(CAP, #res)
      assert.is_true(grew >= CAP / 1024, "the Lua heap grew by only " .. grew .. " KiB")
    end)
  end)

  describe("a huge response header", function()
    -- a header whose line ("name: value\r\n") is `len` bytes
    local function header_of(len)
      return { ["x-big"] = string.rep("h", len - #"x-big: \r\n") }
    end

    it("over curl's line limit (100 KiB) is kind too_large, not retried", function()
      H.script(MODELS, { { headers = header_of(100 * 1024 + 1) }, { headers = header_of(100 * 1024 + 1) } })
      local res, err, meta = client:models()
      assert.is_nil(res)
      assert.is_true(openai.is_error(err))
      assert.equal("too_large", err.kind)
      assert.matches("header", err.message, 1, true)
      assert.equal(1, meta.attempts)
      assert.equal(1, requests_to(MODELS))
    end)

    it("just under curl's line limit is accepted", function()
      H.script(MODELS, { { headers = header_of(100 * 1024 - 1) } })
      local res, err, meta = client:models()
      assert.is_nil(err)
      assert.is_true(#res.data > 0)
      assert.equal(100 * 1024 - #"x-big: \r\n" - 1, #meta.headers["x-big"])
    end)

    it("a header block over 256 KiB in lines of 25 KB is kind too_large", function()
      local hs = {}
      for i = 1, 12 do hs[#hs + 1] = { "x-part-" .. i, string.rep("p", 25000) } end
      H.script(MODELS, { { headers = hs } })
      local res, err = client:models()
      assert.is_nil(res)
      assert.equal("too_large", err.kind)
      assert.matches("headers are larger than 262144 bytes", err.message, 1, true)
      assert.equal(1, requests_to(MODELS))
    end)

    it("opening a stream is kind too_large too", function()
      H.script(CHAT, { { stream_canned = true, headers = header_of(200 * 1024) } })
      local s, err = client:chat_stream { messages = msgs() }
      assert.is_nil(s)
      assert.equal("too_large", err.kind)
    end)
  end)
end)
