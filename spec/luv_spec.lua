-- openai.luv: tasks driven by a luv loop alone. Each case spawns
-- its calls, starts the driver, and runs uv.run(): the loop must carry the
-- calls to their end and then return by itself (no handle of the driver
-- keeps it alive once nothing is in flight); driver:stop() closes every
-- handle it made. Needs the `luv` module of the running Lua (Debian:
-- lua-luv, for 5.1 to 5.4; LuaJIT uses the 5.1 one).
local H = require "support.helper"
local openai = require "openai"
local ok_uv, uv = pcall(require, "luv")

local CHAT = "/v1/chat/completions"
local KEY = "sk-" .. string.rep("Lv9kQ2wE", 6)          -- a legacy 51-character key

local function msgs(text)
  return { { role = "user", content = text or "hi" } }
end

local function completion(content)
  return { id = "chatcmpl-luv", object = "chat.completion", created = 1700000000, model = "gpt-4.1",
           choices = { { index = 0, message = { role = "assistant", content = content },
                         finish_reason = "stop" } },
           usage = { prompt_tokens = 1, completion_tokens = 1, total_tokens = 2 } }
end

local function chunk(content, finish)
  return { data = { id = "chatcmpl-luv", object = "chat.completion.chunk", created = 1700000000,
                    model = "gpt-4.1", choices = { { index = 0, delta = { content = content },
                                                     finish_reason = finish } } } }
end

-- the handles alive in the loop (uv.walk), as a count
local function handles()
  local n = 0
  uv.walk(function() n = n + 1 end)
  return n
end

-- run the loop until it returns by itself, with a 10 s backstop (an
-- unreferenced timer: it does not keep the loop alive); true when the loop
-- ended on its own
local function run_loop()
  local backstop = uv.new_timer()
  local gave_up = false
  backstop:start(10000, 0, function() gave_up = true; uv.stop() end)
  backstop:unref()
  uv.run()
  backstop:close()
  uv.run("nowait")                                       -- let the close finish
  return not gave_up
end

local describe_luv = ok_uv and describe or pending

describe_luv("openai.luv: tasks driven by a luv loop", function()
  local luv_driver, client, base_handles

  before_each(function()
    H.reset()
    base_handles = handles()
    client = openai.new { api_key = KEY, base_url = H.base, max_retries = 0 }
  end)

  after_each(function()
    if luv_driver then luv_driver:stop() end
    luv_driver = nil
    uv.run("nowait")
    assert.equal(base_handles, handles(), "the driver left handles behind after stop()")
  end)

  local function start()
    luv_driver = require("openai.luv").start(uv)
    return luv_driver
  end

  it("carries a plain call to its answer, and the loop ends by itself", function()
    H.script(CHAT, { { delay_ms = 300, json = completion("pong") } })
    local got
    openai.spawn(function() return client:chat { messages = msgs() } end)
      :on_done(function(ok, res, err) got = { ok = ok, res = res, err = err } end)
    local ticks = 0
    local ticker = uv.new_timer()
    ticker:start(20, 20, function() ticks = ticks + 1 end)
    ticker:unref()                                       -- the call alone keeps the loop alive
    assert.is_true(start() == start(), "start() is idempotent")
    assert.is_true(run_loop(), "the loop did not end by itself")
    ticker:close()
    assert.is_table(got, "on_done was not called")
    assert.is_true(got.ok)
    assert.is_nil(got.err)
    assert.equal("pong", got.res.choices[1].message.content)
    assert.is_true(ticks >= 5, "another timer of the loop ticked " .. ticks .. " times in 300 ms")
  end)

  it("hands an on_done error to on_error after the task's other callbacks ran; the loop goes on", function()
    local order, errs = {}, {}
    luv_driver = require("openai.luv").start(uv, { on_error = function(e) errs[#errs + 1] = e end })
    local task = openai.spawn(function() return client:models() end)
    task:on_done(function() order[#order + 1] = 1; error("boom", 0) end)
    task:on_done(function() order[#order + 1] = 2 end)
    local later
    task:on_done(function()
      openai.spawn(function() return client:models() end):on_done(function(ok) later = ok end)
    end)
    assert.is_true(run_loop(), "the loop did not end by itself")
    assert.same({ 1, 2 }, order)
    assert.same({ "boom" }, errs)
    assert.is_true(later, "a task spawned after the error did not finish")
    assert.matches("'on_error'", H.raises(require("openai.luv").start, uv, { on_error = 42 }) or "", 1, true)
  end)

  it("reads a stream to its end", function()
    local ev, words = {}, {}
    for i = 1, 50 do
      words[i] = "w" .. i .. " "
      ev[i] = chunk(words[i])
    end
    ev[#ev + 1] = chunk("", "stop")
    ev[#ev + 1] = { data = "[DONE]" }
    H.script(CHAT, { { sse = ev, sse_delay_ms = 5 } })
    local task = openai.spawn(function()
      local s = assert(client:chat_stream { messages = msgs() })
      local n = 0
      while s:next() ~= nil do n = n + 1 end
      return s:text(), n
    end)
    start()
    assert.is_true(run_loop(), "the loop did not end by itself")
    assert.is_true(task:done())
    local text, n = task:result()
    assert.equal(table.concat(words), text)
    assert.equal(51, n)
  end)

  it("waits a retry's delay on its timer, then retries", function()
    H.script(CHAT, { { status = 503, headers = { ["retry-after-ms"] = "300" } },
                     { json = completion("second") } })
    local task = openai.spawn(function()
      return client:chat { messages = msgs(), max_retries = 1 }
    end)
    start()
    local t0 = H.now()
    assert.is_true(run_loop(), "the loop did not end by itself")
    local res, err, meta = task:result()
    assert.is_nil(err)
    assert.equal("second", res.choices[1].message.content)
    assert.equal(2, meta.attempts)
    assert.is_true(H.now() - t0 >= 250, "the retry-after was not waited")
    assert.equal(2, #H.requests())
  end)

  it("ends a silent stream by its idle timeout", function()
    H.script(CHAT, { { sse = { chunk("one") }, sse_end = "hang", hang_ms = 5000 } })
    local task = openai.spawn(function()
      local s = assert(client:chat_stream { messages = msgs(), idle_timeout = 300 })
      while s:next() ~= nil do end
      return s:text()
    end)
    -- the loop's turns while it waits: a few (sockets, the timer), not a spin
    local turns = 0
    local counter = uv.new_check()
    counter:start(function() turns = turns + 1 end)
    counter:unref()
    start()
    assert.is_true(run_loop(), "the loop did not end by itself")
    counter:close()
    local text, err = task:result()
    assert.is_nil(text)
    assert.equal("timeout", err.kind)
    assert.is_true(turns < 100, "the loop turned " .. turns .. " times for one silent stream")
  end)

  it("lets go of a socket closed outside its callbacks (a task cancelled from a timer)", function()
    H.script(CHAT, { { sse = { chunk("one") }, sse_end = "hang", hang_ms = 5000 } })
    local got_event = false
    local task = openai.spawn(function()
      local s = assert(client:chat_stream { messages = msgs() })
      got_event = s:next() ~= nil
      while s:next() ~= nil do end
      return s:text()
    end)
    local canceller = uv.new_timer()
    canceller:start(300, 0, function() task:cancel() end)
    start()
    local t0 = H.now()
    -- a poll handle left on the cut socket would keep the loop alive for ever
    assert.is_true(run_loop(), "the loop did not end by itself after the cancel")
    canceller:close()
    assert.is_true(got_event)
    assert.is_true(H.now() - t0 < 4000, "the loop waited for the server instead of ending")
    local text, err = task:result()
    assert.is_nil(text)
    assert.equal("cancelled", err.kind)
  end)

  it("runs 20 calls at once through openai.parallel inside a task", function()
    H.script(CHAT, (function()
      local list = {}
      for i = 1, 20 do list[i] = { delay_ms = 200, json = completion("n" .. i) } end
      return list
    end)())
    local task = openai.spawn(function()
      local fns = {}
      for i = 1, 20 do
        fns[i] = function() return client:chat { messages = msgs("n" .. i) } end
      end
      return openai.parallel(fns, { concurrency = 20 })
    end)
    start()
    local t0 = H.now()
    assert.is_true(run_loop(), "the loop did not end by itself")
    local results = task:result()
    local answers = {}
    for i = 1, 20 do
      local res = results[i][1]
      assert.is_table(res, "call " .. i .. ": " .. tostring(results[i][2]))
      answers[res.choices[1].message.content] = true
    end
    for i = 1, 20 do assert.is_true(answers["n" .. i], "no answer n" .. i) end
    -- 20 x 200 ms one after the other would be 4 s
    assert.is_true(H.now() - t0 < 3500, "the calls did not run at once")
  end)

  it("does not keep the loop alive when nothing is pending, and stops cleanly", function()
    local d = start()
    assert.is_true(run_loop(), "an idle driver kept the loop alive")
    -- a task spawned while the driver waits starts without any host step
    H.script(CHAT, { { json = completion("now") } })
    local first = openai.spawn(function() return client:chat { messages = msgs() } end)
    assert.is_true(run_loop(), "the loop did not end by itself")
    assert.is_true(first:done(), "the task spawned under the driver did not run")
    assert.equal("now", (first:result()).choices[1].message.content)
    d:stop()
    d:stop()                                             -- idempotent
    assert.is_nil(require("openai.luv").driver())
    -- a task spawned without a driver waits; a new driver carries it
    H.script(CHAT, { { json = completion("later") } })
    local task = openai.spawn(function() return client:chat { messages = msgs() } end)
    assert.is_true(run_loop())
    assert.is_false(task:done())
    start()
    assert.is_true(run_loop(), "the loop did not end by itself")
    assert.equal("later", (task:result()).choices[1].message.content)
  end)
end)
