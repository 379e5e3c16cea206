-- openai.parallel: functions run as coroutines on the one engine,
-- results in input order, errors kept in their slot, concurrency bounded,
-- retries waiting on the engine's timer; checked against the stand-in.

local H = require "support.helper"
local openai = require "openai"

local CHAT = "/v1/chat/completions"

local msgs, live = H.msgs, H.live

-- run f, raising if it takes longer than ms: a scheduler that deadlocks
-- or spins fails the spec instead of hanging the suite
local function guarded(ms, f)
  local deadline = H.now() + ms
  debug.sethook(function()
    if H.now() > deadline then
      debug.sethook()
      error("guarded: still running after " .. ms .. " ms (deadlock?)", 2)
    end
  end, "", 10000)
  local ok, a, b = pcall(f)
  debug.sethook()
  if not ok then error(a, 0) end
  return a, b
end

-- n functions, each a chat saying "<prefix> i"
local function chats(n, client, prefix)
  local fns = {}
  for i = 1, n do
    fns[i] = function() return client:chat { messages = msgs((prefix or "call") .. " " .. i) } end
  end
  return fns
end

describe("openai.parallel", function()
  local client

  before_each(function()
    H.reset()
    client = H.client()
  end)

  after_each(function()
    debug.sethook()
  end)

  -- {=============================================================
  -- results

  it("runs mixed calls and returns every returned value in input order", function()
    local results = guarded(5000, function()
      return openai.parallel {
        function() return client:chat { messages = msgs("mixed") } end,
        function() return client:image { prompt = "a red fox" } end,
        function() return client:models() end,
        function() return client:request { url = "/v1/echo", method = "POST", data = { k = "v" } } end,
        function()
          local s, err, meta = client:chat_stream { messages = msgs("streamed") }
          if not s then return nil, err, meta end
          local pieces = {}
          H.each_chunk(s, function(c)
            local d = c.choices[1] and c.choices[1].delta
            if d and d.content then pieces[#pieces + 1] = d.content end
          end)
          return table.concat(pieces), s:result(), meta
        end,
      }
    end)
    assert.equal(5, #results)
    -- chat: res, nil, meta
    assert.equal("chat.completion", results[1][1].object)
    assert.equal("You said: mixed", results[1][1].choices[1].message.content)
    assert.is_nil(results[1][2])
    assert.equal(200, results[1][3].status)
    -- image
    assert.equal("https://images.invalid/", results[2][1].data[1].url:sub(1, 23))
    assert.is_nil(results[2][2])
    assert.equal(200, results[2][3].status)
    -- models
    assert.equal("list", results[3][1].object)
    assert.equal(200, results[3][3].status)
    -- raw request
    assert.equal("POST", results[4][1].method)
    assert.same({ k = "v" }, results[4][1].json)
    assert.equal(200, results[4][3].status)
    -- the stream, consumed inside its function
    assert.equal("You said: streamed", results[5][1])
    assert.equal("You said: streamed", results[5][2].choices[1].message.content)
    assert.equal(200, results[5][3].status)
    assert.equal(5, #H.requests())
    assert.equal(0, live())
  end)

  it("keeps input order when later functions finish first", function()
    H.script(CHAT, { { delay_ms = 300 } })
    local done = {}
    local results = guarded(5000, function()
      return openai.parallel {
        function()
          local r = client:chat { messages = msgs("slow") }
          done[#done + 1] = 1
          return r
        end,
        function()
          local r = client:models()
          done[#done + 1] = 2
          return r
        end,
      }
    end)
    assert.same({ 2, 1 }, done)
    assert.equal("chat.completion", results[1][1].object)
    assert.equal("list", results[2][1].object)
  end)

  it("counts every returned value in .n; a function returning nothing has n == 0", function()
    local results = openai.parallel {
      function() end,
      function() return nil, "second" end,
      function() return 1, nil, 3 end,
    }
    assert.equal(3, #results)
    assert.is_true(results[1].n == 0 or results[1][1] == nil)
    assert.is_nil(results[1][1])
    assert.equal(2, results[2].n)
    assert.is_nil(results[2][1])
    assert.equal("second", results[2][2])
    assert.equal(3, results[3].n)
    assert.equal(1, results[3][1])
    assert.equal(3, results[3][3])
  end)

  it("returns an empty table for an empty list", function()
    local results = openai.parallel {}
    assert.same({}, results)
  end)

  it("runs functions that make a follow-up call with the first answer", function()
    local function convo(i)
      return function()
        local first = client:chat { messages = msgs("first " .. i) }
        local m = msgs("first " .. i)
        m[2] = first.choices[1].message
        m[3] = { role = "user", content = "second " .. i }
        local second, err = client:chat { messages = m }
        return first.choices[1].message.content, second and second.choices[1].message.content, err
      end
    end
    local results = guarded(5000, function()
      return openai.parallel({ convo(1), convo(2), convo(3) }, { concurrency = 3 })
    end)
    for i = 1, 3 do
      assert.equal("You said: first " .. i, results[i][1])
      assert.equal("You said: second " .. i, results[i][2])
      assert.is_nil(results[i][3])
    end
    -- each follow-up carried its own first answer
    local reqs = H.requests()
    assert.equal(6, #reqs)
    local followups = 0
    for _, r in ipairs(reqs) do
      local m = r.json.messages
      if #m == 3 then
        followups = followups + 1
        local i = m[3].content:match("second (%d)")
        assert.equal("assistant", m[2].role)
        assert.equal("You said: first " .. i, m[2].content)
      end
    end
    assert.equal(3, followups)
  end)

  it("returns an API error as the values of the call, not as a raised error", function()
    H.script(CHAT, { { status = 400 } })
    local results = guarded(5000, function()
      return openai.parallel {
        function() return client:chat { messages = msgs() } end,
      }
    end)
    assert.is_nil(results[1][1])
    assert.is_true(openai.is_error(results[1][2]))
    assert.equal("api", results[1][2].kind)
    assert.equal(400, results[1][2].status)
    assert.equal(400, results[1][3].status)
  end)

  -- {=============================================================
  -- concurrency

  it("runs 8 calls of 200 ms at once with concurrency 8", function()
    local script = {}
    for i = 1, 8 do script[i] = { delay_ms = 200 } end
    H.script(CHAT, script)
    local t0 = H.now()
    local results = guarded(10000, function()
      return openai.parallel(chats(8, client), { concurrency = 8 })
    end)
    local elapsed = H.now() - t0
    for i = 1, 8 do
      assert.is_nil(results[i][2])
      assert.equal("You said: call " .. i, results[i][1].choices[1].message.content)
    end
    assert.is_true(elapsed >= 190, "took only " .. elapsed .. " ms")
    assert.is_true(elapsed < 1200, "took " .. elapsed .. " ms: the calls did not overlap")
  end)

  it("keeps at most `concurrency` calls in flight", function()
    local script = {}
    for i = 1, 4 do script[i] = { delay_ms = 200 } end
    H.script(CHAT, script)
    local t0 = H.now()
    local results = guarded(10000, function()
      return openai.parallel(chats(4, client), { concurrency = 2 })
    end)
    local elapsed = H.now() - t0
    for i = 1, 4 do assert.equal("You said: call " .. i, results[i][1].choices[1].message.content) end
    assert.is_true(elapsed >= 390, "4 calls of 200 ms, 2 at a time, took only " .. elapsed .. " ms")
    -- two at a time: the stand-in never needed more than 2 connections
    assert.is_true(H.stats().connections <= 2)
  end)

  it("runs one at a time with concurrency 1", function()
    local script = {}
    for i = 1, 3 do script[i] = { delay_ms = 100 } end
    H.script(CHAT, script)
    local t0 = H.now()
    local results = guarded(10000, function()
      return openai.parallel(chats(3, client), { concurrency = 1 })
    end)
    local elapsed = H.now() - t0
    for i = 1, 3 do assert.is_nil(results[i][2]) end
    assert.is_true(elapsed >= 290, "took only " .. elapsed .. " ms")
    assert.equal(1, H.stats().connections)
  end)

  it("runs 200 functions with concurrency 16, all succeeding", function()
    local results = guarded(20000, function()
      return openai.parallel(chats(200, client, "n"), { concurrency = 16 })
    end)
    assert.equal(200, #results)
    for i = 1, 200 do
      assert.is_nil(results[i][2])
      assert.equal("You said: n " .. i, results[i][1].choices[1].message.content)
    end
    assert.equal(200, #H.requests())
    assert.is_true(H.stats().connections <= 16)
    assert.equal(0, live())
  end)

  it("runs streams side by side", function()
    local events = {}
    for i = 1, 6 do
      events[i] = { data = { id = "c", object = "chat.completion.chunk",
                             choices = { { index = 0, delta = { content = tostring(i) } } } } }
    end
    events[7] = { data = "[DONE]" }
    local script = {}
    for i = 1, 4 do script[i] = { sse = events, sse_delay_ms = 60 } end
    H.script(CHAT, script)
    local function consume()
      local s, err = client:chat_stream { messages = msgs() }
      if not s then return nil, err end
      H.each_chunk(s, function() end)
      return s:text()
    end
    local t0 = H.now()
    local results = guarded(10000, function()
      return openai.parallel({ consume, consume, consume, consume }, { concurrency = 4 })
    end)
    local elapsed = H.now() - t0
    for i = 1, 4 do assert.equal("123456", results[i][1]) end
    -- each stream takes >= 300 ms; one after the other would be >= 1200 ms
    assert.is_true(elapsed >= 290, "took only " .. elapsed .. " ms")
    assert.is_true(elapsed < 1200, "took " .. elapsed .. " ms: the streams did not overlap")
    assert.equal(0, live())
  end)

  -- {=============================================================
  -- errors in functions

  it("reports a Lua error of one function in its slot as {nil, err}; the others succeed", function()
    local results = guarded(5000, function()
      return openai.parallel {
        function() return client:chat { messages = msgs("a") } end,
        function()
          client:models()
          error("boom in function two")
        end,
        function() return client:chat { messages = msgs("c") } end,
        function() error({ code = 42 }) end,
      }
    end)
    assert.equal(4, #results)
    assert.equal("You said: a", results[1][1].choices[1].message.content)
    assert.is_nil(results[2][1])
    assert.matches("boom in function two", tostring(results[2][2]), 1, true)
    assert.equal("You said: c", results[3][1].choices[1].message.content)
    assert.is_nil(results[4][1])
    assert.same({ code = 42 }, results[4][2])
    assert.equal(0, live())
  end)

  it("closes the stream of a function that raises while holding it", function()
    H.script(CHAT, { { sse = {
      { data = { id = "c", object = "chat.completion.chunk", choices = { { index = 0, delta = { content = "a" } } } } },
    }, sse_end = "hang", hang_ms = 5000 } })
    local results = guarded(5000, function()
      return openai.parallel({
        function()
          local s = assert(client:chat_stream { messages = msgs(), idle_timeout = 10000 })
          s:next()
          error("failed while streaming")
        end,
        function() return client:chat { messages = msgs("other") } end,
      }, { concurrency = 1 })
    end)
    assert.is_nil(results[1][1])
    assert.matches("failed while streaming", tostring(results[1][2]), 1, true)
    -- its slot came back: the other call ran
    assert.equal("You said: other", results[2][1].choices[1].message.content)
    assert.equal(0, live())
  end)

  it("closes the stream of a function that raises inside its loop", function()
    H.script(CHAT, { { sse = {
      { data = { id = "c", object = "chat.completion.chunk", choices = { { index = 0, delta = { content = "a" } } } } },
    }, sse_end = "hang", hang_ms = 5000 } })
    local results = guarded(5000, function()
      return openai.parallel({
        function()
          local s = assert(client:chat_stream { messages = msgs(), idle_timeout = 10000 })
          H.each_chunk(s, function() error("failed in the loop") end)
        end,
        function() return client:models() end,
      }, { concurrency = 1 })
    end)
    assert.matches("failed in the loop", tostring(results[1][2]), 1, true)
    assert.equal("list", results[2][1].object)
    assert.equal(0, live())
  end)

  it("gives the slot back when a function breaks out of its stream (the task ends: its transfers close)", function()
    H.script(CHAT, { { sse = {
      { data = { id = "c", object = "chat.completion.chunk", choices = { { index = 0, delta = { content = "a" } } } } },
    }, sse_end = "hang", hang_ms = 5000 } })
    local t0 = H.now()
    local results = guarded(5000, function()
      return openai.parallel({
        function()
          local s = assert(client:chat_stream { messages = msgs(), idle_timeout = 10000 })
          for c in s:each() do return c.choices[1].delta.content end  -- luacheck: ignore 512
        end,
        function() return client:chat { messages = msgs("after") } end,
      }, { concurrency = 1 })
    end)
    assert.equal("a", results[1][1])
    assert.equal("You said: after", results[2][1].choices[1].message.content)
    assert.is_true(H.now() - t0 < 4000)
    assert.equal(0, live())
  end)

  -- {=============================================================
  -- retries

  it("waits for a retry on the engine's timer without stalling the other calls", function()
    H.script(CHAT, { { status = 500, headers = { ["retry-after-ms"] = "300" } } })
    local done = {}
    local t0 = H.now()
    local results = guarded(5000, function()
      return openai.parallel {
        function()
          local r, err, meta = client:chat { messages = msgs("retried") }
          done[#done + 1] = "chat"
          return r, err, meta
        end,
        function()
          local r, err, meta = client:models()
          done[#done + 1] = "models"
          return r, err, meta
        end,
      }
    end)
    local elapsed = H.now() - t0
    assert.is_nil(results[1][2])
    assert.equal("You said: retried", results[1][1].choices[1].message.content)
    assert.equal(2, results[1][3].attempts)
    assert.equal("list", results[2][1].object)
    assert.equal(1, results[2][3].attempts)
    assert.same({ "models", "chat" }, done)
    assert.is_true(elapsed >= 290, "the retry waited only " .. elapsed .. " ms")
    assert.is_true(elapsed < 2000, "took " .. elapsed .. " ms")
    -- the quick call was served before the retry
    local reqs = H.requests()
    assert.equal(3, #reqs)
    assert.equal(CHAT, reqs[3].path)
    local models_at
    for i, r in ipairs(reqs) do if r.path == "/v1/models" then models_at = i end end
    assert.is_truthy(models_at)
    assert.is_true(models_at < 3)
  end)

  it("lets quick calls run to completion while one call waits for its retry", function()
    H.script(CHAT, { { status = 503, headers = { ["retry-after-ms"] = "400" } } })
    local results = guarded(5000, function()
      local fns = { function() return client:chat { messages = msgs("slow") } end }
      for i = 2, 6 do fns[i] = function() return client:model("gpt-4.1") end end
      return openai.parallel(fns, { concurrency = 2 })
    end)
    assert.equal("You said: slow", results[1][1].choices[1].message.content)
    for i = 2, 6 do assert.equal("gpt-4.1", results[i][1].id) end
    -- all five model calls went out before the chat's retry
    local reqs = H.requests()
    assert.equal(7, #reqs)
    assert.equal(CHAT, reqs[7].path)
  end)

  -- {=============================================================
  -- after a batch, connections

  it("works sequentially after a batch, reusing the batch's connections", function()
    guarded(5000, function()
      return openai.parallel(chats(4, client), { concurrency = 4 })
    end)
    local conns = H.stats().connections
    assert.is_true(conns >= 1 and conns <= 4)
    for i = 1, 3 do
      local r, err = client:chat { messages = msgs("seq " .. i) }
      assert.is_nil(err)
      assert.equal("You said: seq " .. i, r.choices[1].message.content)
    end
    local reqs = H.requests()
    assert.equal(7, #reqs)
    for i = 5, 7 do assert.is_true(reqs[i].connection <= conns, "request " .. i .. " opened a new connection") end
    assert.equal(conns, H.stats().connections)
    assert.equal(0, live())
  end)

  it("reuses connections across batches", function()
    -- slow answers, so each batch keeps 4 connections busy at once
    local script = {}
    for i = 1, 8 do script[i] = { delay_ms = 100 } end
    H.script(CHAT, script)
    guarded(5000, function() return openai.parallel(chats(4, client), { concurrency = 4 }) end)
    local conns = H.stats().connections
    assert.equal(4, conns)
    local results = guarded(5000, function()
      return openai.parallel(chats(4, client, "again"), { concurrency = 4 })
    end)
    for i = 1, 4 do assert.equal("You said: again " .. i, results[i][1].choices[1].message.content) end
    assert.equal(conns, H.stats().connections)
  end)

  -- {=============================================================
  -- misuse

  it("runs a nested openai.parallel inside a batch function (one scheduler)", function()
    local results = guarded(5000, function()
      return openai.parallel {
        function()
          return openai.parallel { function() return 1 end, function() return client:models() end }
        end,
        function() return client:models() end,
      }
    end)
    assert.equal(1, results[1][1][1][1])
    assert.equal("list", results[1][1][2][1].object)
    assert.equal("list", results[2][1].object)
    -- the engine still works afterwards
    local r = client:models()
    assert.equal("list", r.object)
  end)

  it("raises errors naming the field for bad arguments, sending nothing", function()
    local function ok_fn() return client:models() end
    assert.matches("'fns'", H.raises(openai.parallel, "not a table"), 1, true)
    assert.matches("'fns'", H.raises(openai.parallel, nil), 1, true)
    assert.matches("'fns[2]'", H.raises(openai.parallel, { ok_fn, 42 }), 1, true)
    assert.matches("'fns[3]'", H.raises(openai.parallel, { ok_fn, ok_fn, "x" }), 1, true)
    assert.matches("'concurrency'", H.raises(openai.parallel, { ok_fn }, { concurrency = 0 }), 1, true)
    assert.matches("'concurrency'", H.raises(openai.parallel, { ok_fn }, { concurrency = -3 }), 1, true)
    assert.matches("'concurrency'", H.raises(openai.parallel, { ok_fn }, { concurrency = 1.5 }), 1, true)
    assert.matches("'concurrency'", H.raises(openai.parallel, { ok_fn }, { concurrency = "4" }), 1, true)
    assert.matches("'opts'", H.raises(openai.parallel, { ok_fn }, "fast"), 1, true)
    assert.equal(0, #H.requests())
  end)

  it("leaves calls outside a batch blocking as before", function()
    openai.parallel { function() return client:models() end }
    local r, err, meta = client:chat { messages = msgs("plain") }
    assert.is_nil(err)
    assert.equal("You said: plain", r.choices[1].message.content)
    assert.equal(1, meta.attempts)
    local s = assert(client:chat_stream { messages = msgs("plain stream") })
    assert.equal("You said: plain stream", s:result().choices[1].message.content)
  end)
end)
