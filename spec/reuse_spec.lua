-- spec/reuse_spec.lua: the engine keeps its easy handles, and a plain call
-- of a client whose options it already set on a handle skips setting them
-- again. What one call sets never reaches the next: a proxy, a method, a
-- timeout, headers, another client's key. Each case alternates the calls, so
-- that the handle the first left in the pool is the one the next takes.
local H = require "support.helper"

local CHAT = "/v1/chat/completions"
local MSGS = { { role = "user", content = "hi" } }
local ANSWER = { id = "chatcmpl-1", object = "chat.completion", created = 1, model = "m",
                 choices = { { index = 0, finish_reason = "stop",
                               message = { role = "assistant", content = "late" } } } }

local function chat(c, p)
  p = p or {}
  p.messages = MSGS
  return c:chat(p)
end

describe("a reused easy handle", function()
  before_each(function()
    H.reset()
  end)

  it("does not keep one client's proxy for another's calls", function()
    local via = H.client { base_url = "http://api.example.invalid/v1", proxy = H.url }
    local direct = H.client {}
    for _ = 1, 3 do
      assert(chat(via))
      assert.equal("http://api.example.invalid/v1/chat/completions", H.last().target)
      assert(chat(direct))
      assert.equal(CHAT, H.last().target)
    end
  end)

  it("sends each client's own key, never the one the handle carried before", function()
    local key_a = "sk-" .. string.rep("a", 48)
    local key_b = "sk-proj-" .. string.rep("b", 156)
    local a, b = H.client { api_key = key_a }, H.client { api_key = key_b }
    for _ = 1, 3 do
      assert(chat(a))
      assert.equal("Bearer " .. key_a, H.last().headers["authorization"])
      assert(chat(b))
      assert.equal("Bearer " .. key_b, H.last().headers["authorization"])
    end
  end)

  it("does not keep a custom method, a HEAD or a GET for the next POST", function()
    local c = H.client {}
    for _, method in ipairs({ "PATCH", "HEAD", "DELETE", "GET" }) do
      H.script(CHAT, { { json = {} } }, method)
      c:request{ method = method, url = CHAT }
      assert.equal(method, H.last().method)
      local res, err = chat(c)
      assert.is_nil(err)
      assert.equal("You said: hi", res.choices[1].message.content)
      local rec = H.last()
      assert.equal("POST", rec.method)
      assert.same(MSGS, rec.json.messages)
    end
    -- a call with options of its own after one with another method
    H.script(CHAT, { { json = {} } }, "PATCH")
    c:request{ method = "PATCH", url = CHAT }
    assert(c:request{ url = "/v1/models", timeout = 5000 })
    assert.equal("GET", H.last().method)
    -- and a plain GET after a plain POST
    assert(c:models())
    assert.equal("GET", H.last().method)
    assert.equal("", H.last().body)
  end)

  it("does not keep a call's own timeout for the next call", function()
    local c = H.client { max_retries = 0 }
    assert(chat(c, { timeout = 150 }))
    H.script(CHAT, { { delay_ms = 600, json = ANSWER } })
    local res, err = chat(c)               -- the client's 10 s, not 150 ms
    assert.is_nil(err)
    assert.equal("late", res.choices[1].message.content)
    -- and the other way round: a plain call first, then one with a timeout
    H.script(CHAT, { { delay_ms = 600, json = ANSWER } })
    local none, terr = chat(c, { timeout = 150 })
    assert.is_nil(none)
    assert.equal("timeout", terr.kind)
  end)

  it("does not keep a call's own headers for the next call", function()
    local c = H.client {}
    for _ = 1, 2 do
      assert(chat(c, { headers = { ["X-Once"] = "1" } }))
      assert.equal("1", H.last().headers["x-once"])
      assert(chat(c))
      assert.is_nil(H.last().headers["x-once"])
      assert.equal("Bearer " .. H.key, H.last().headers["authorization"])
    end
  end)

  it("is taken again by the next plain call: the handle count stays at one", function()
    local openai = require "openai"
    local c = H.client {}
    assert(chat(c))
    local idle = openai.stats().idle_handles
    for _ = 1, 20 do assert(chat(c)) end
    assert.equal(idle, openai.stats().idle_handles)
    assert.equal(1, H.stats().connections)
  end)
  it("sends each action of a client to its own path and method, each model id to its own", function()
    local c = H.client {}
    for _ = 1, 2 do
      assert(chat(c))
      assert.equal("POST " .. CHAT, H.last().method .. " " .. H.last().target)
      assert(c:model("gpt-4.1"))
      assert.equal("GET /v1/models/gpt-4.1", H.last().method .. " " .. H.last().target)
      assert(c:model("dall-e-3"))
      assert.equal("GET /v1/models/dall-e-3", H.last().method .. " " .. H.last().target)
      assert(c:image { prompt = "a lighthouse" })
      assert.equal("POST /v1/images/generations", H.last().method .. " " .. H.last().target)
      assert.equal("a lighthouse", H.last().json.prompt)
    end
  end)

  it("sends the body of each call, not the one of the call before", function()
    local c = H.client {}
    for i = 1, 3 do
      assert(c:chat { messages = { { role = "user", content = "question " .. i } } })
      assert.equal("question " .. i, H.last().json.messages[1].content)
      assert.is_nil(H.last().json.max_tokens)
      assert(c:chat { messages = MSGS, max_tokens = i })
      assert.equal(i, H.last().json.max_tokens)
    end
  end)
end)
