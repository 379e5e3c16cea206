-- The scheduler: openai.spawn, openai.step, the task API, streams
-- that close on every Lua, and the batch hangs it once had, as scenarios
-- that finish. Written in the subset Lua 5.1 to 5.4 and LuaJIT share.
-- A scenario that could hang runs in a child interpreter under `timeout`,
-- so a regression fails the spec instead of stalling the suite.

local H = require "support.helper"
local openai = require "openai"

local CHAT = "/v1/chat/completions"

local msgs, live = H.msgs, H.live

local function chunk(content)
  return { data = { id = "c", object = "chat.completion.chunk",
                    choices = { { index = 0, delta = { content = content } } } } }
end

-- a stream that sends a, b, c, then stays silent for hang_ms
local function hanging_script(hang_ms)
  return { sse = { chunk("a"), chunk("b"), chunk("c") }, sse_end = "hang", hang_ms = hang_ms or 5000 }
end

-- a whole stream: "x1".."xN", [DONE]
local function full_script(n, gap_ms)
  local ev = {}
  for i = 1, n do ev[i] = chunk("x" .. i) end
  ev[n + 1] = { data = "[DONE]" }
  return { sse = ev, sse_delay_ms = gap_ms }
end

local function repeated(x, n)
  local out = {}
  for i = 1, n do out[i] = x end
  return out
end

-- step until no task is pending, never blocking; the number of steps and
-- the longest one in ms
local function step_all(limit_ms)
  local steps, longest, t_end = 0, 0, H.now() + (limit_ms or 10000)
  while true do
    local t0 = H.now()
    local n = openai.step(0)
    local d = H.now() - t0
    if d > longest then longest = d end
    steps = steps + 1
    if n == 0 then return steps, longest end
    assert(H.now() < t_end, "tasks still pending after " .. (limit_ms or 10000) .. " ms")
    require("socket").sleep(0.002)
  end
end

-- the interpreter running this spec, for child scenarios
local LUA = jit and "luajit" or ("lua" .. _VERSION:sub(5))  -- luacheck: ignore 113

-- run `body` (Lua source, with H, openai and client in scope; it prints
-- what the spec checks) in a child interpreter killed after `secs`;
-- returns its output, ending with "exit=<status>" (124: it hung). Under
-- make check the child keeps ASan but not the leak check at its exit:
-- what it prints is compared, and LeakSanitizer's tracer sometimes crashes
-- there with a message of its own (these scenarios are about hangs; the
-- suite's own process keeps the leak check)
local function scenario(body, secs)
  local src = "package.path = " .. string.format("%q", package.path) .. "\n"
    .. "package.cpath = " .. string.format("%q", package.cpath) .. "\n"
    .. "local H = require 'support.helper'\nlocal openai = require 'openai'\n"
    .. "local client = H.client()\n" .. body
  local path = H.tmpfile(src)
  local p = assert(io.popen("ASAN_OPTIONS=\"${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0\" timeout "
                            .. (secs or 20) .. " " .. LUA .. " " .. path .. " 2>&1; echo exit=$?"))
  local out = p:read("*a")
  p:close()
  os.remove(path)
  return out
end

describe("openai.spawn and openai.step", function()
  local client

  before_each(function()
    H.reset()
    client = H.client()
  end)

  it("returns a task at once; the call runs in openai.step(0), which never blocks", function()
    H.script(CHAT, { { delay_ms = 1200 } })
    local t0 = H.now()
    local task = openai.spawn(function(text) return client:chat { messages = msgs(text) } end, "spawned")
    assert.is_true(H.now() - t0 < 700)
    assert.is_false(task:done())
    assert.equal(0, #H.requests())          -- nothing runs before the first step
    local steps, longest = step_all()
    assert.is_true(task:done())
    -- a blocking step would have taken the whole 1200 ms call
    assert.is_true(longest < 700, "one step took " .. longest .. " ms")
    assert.is_true(steps > 3, "only " .. steps .. " steps during a 1200 ms call")
    local res, err, meta = task:result()
    assert.is_nil(err)
    assert.equal("You said: spawned", res.choices[1].message.content)
    assert.equal(200, meta.status)
    assert.equal(0, live())
  end)

  it("counts the pending tasks and calls on_done(true, ...) with the returns", function()
    H.script("/v1/models", { { delay_ms = 500 } })
    local seen = {}
    local t1 = openai.spawn(function() return client:models() end)
    local t2 = openai.spawn(function() return 1, nil, 3 end)
    assert.equal(t1, t1:on_done(function(ok, res) seen[#seen + 1] = { ok, res.object } end))
    t2:on_done(function(ok, a, b, c) seen[#seen + 1] = { ok, a, b, c } end)
    -- the first step starts both; t2 makes no call and ends there
    assert.equal(1, openai.step(0))
    assert.is_true(t2:done())
    assert.is_false(t1:done())
    step_all()
    assert.equal(0, openai.step(0))
    assert.same({ { true, 1, nil, 3 }, { true, "list" } }, seen)
    -- on_done on a finished task runs at once
    local late
    t1:on_done(function(ok) late = ok end)
    assert.is_true(late)
  end)

  it("gives nil, err for a task that raised, and on_done(false, err)", function()
    local got
    local task = openai.spawn(function()
      client:models()
      error({ code = 7 })
    end):on_done(function(ok, err) got = { ok, err } end)
    step_all()
    local a, b = task:result()
    assert.is_nil(a)
    assert.same({ code = 7 }, b)
    assert.same({ false, { code = 7 } }, got)
  end)

  it("runs every on_done callback when one raises; the step that ran them raises the error after", function()
    local order = {}
    local task = openai.spawn(function() return client:models() end)
    task:on_done(function() order[#order + 1] = "first" end)
    task:on_done(function() order[#order + 1] = "second"; error("callback two failed", 0) end)
    task:on_done(function() order[#order + 1] = "third" end)
    local raised
    for _ = 1, 200 do
      local ok, err = pcall(openai.step, 10)
      if not ok then raised = err; break end
      if task:done() then break end
    end
    assert.equal("callback two failed", raised)
    assert.same({ "first", "second", "third" }, order)
    assert.is_true(task:done())
    assert.equal("list", (task:result()).object)
    assert.equal(0, openai.step(0))                -- nothing left behind; the next step is clean
    -- two that raise: the first error, naming the other
    local t2 = openai.spawn(function() return 1 end)
    t2:on_done(function() error("one", 0) end)
    t2:on_done(function() error("two", 0) end)
    local ok, err = pcall(step_all)
    assert.is_false(ok)
    assert.matches("^one %(and 1 more on_done error%(s%): two%)$", err)
  end)

  it("raises from result() while the task runs, and on bad arguments", function()
    H.script(CHAT, { { delay_ms = 200 } })
    local task = openai.spawn(function() return client:chat { messages = msgs() } end)
    assert.matches("not done", H.raises(task.result, task), 1, true)
    step_all()
    assert.matches("'fn'", H.raises(openai.spawn, "not a function"), 1, true)
    assert.matches("'max_wait_ms'", H.raises(openai.step, -1), 1, true)
    assert.matches("'max_wait_ms'", H.raises(openai.step, "0"), 1, true)
    assert.matches("'cb'", H.raises(task.on_done, task, 42), 1, true)
  end)

  it("cancel() cuts the task's stream now; the stream keeps what it received", function()
    H.script(CHAT, { hanging_script(5000) })
    local s
    local got
    local task = openai.spawn(function()
      s = assert(client:chat_stream { messages = msgs(), idle_timeout = 10000 })
      while true do
        local c = s:next()
        if not c then break end
      end
    end):on_done(function(ok, err) got = { ok, not ok and err.kind } end)
    local t_end = H.now() + 4000
    while s == nil or s:text() ~= "abc" do
      openai.step(10)
      assert(H.now() < t_end, "the three events did not arrive")
    end
    assert.equal(1, live())
    assert.is_true(task:cancel())
    assert.is_true(task:done())
    assert.equal(0, live())
    local a, err = task:result()
    assert.is_nil(a)
    assert.equal("cancelled", err.kind)
    assert.same({ false, "cancelled" }, got)
    assert.equal("abc", s:text())
    assert.is_false(task:cancel())
    assert.equal(0, openai.step(0))
  end)

  it("closes a stream its task left open when the task ends", function()
    H.script(CHAT, { hanging_script(5000) })
    local task = openai.spawn(function()
      local s = assert(client:chat_stream { messages = msgs(), idle_timeout = 10000 })
      return s:next().choices[1].delta.content   -- the stream is not returned
    end)
    step_all(4000)
    assert.equal("a", (task:result()))
    assert.equal(0, live())
  end)

  it("keeps a returned stream open and readable after its task ended", function()
    H.script(CHAT, { full_script(5) })
    local task = openai.spawn(function()
      return assert(client:chat_stream { messages = msgs() })
    end)
    step_all()
    local s = task:result()
    assert.equal("x1x2x3x4x5", s:result().choices[1].message.content)
    assert.equal(0, live())
  end)

  it("runs openai.parallel inside a task without blocking the host's steps", function()
    H.script(CHAT, { { delay_ms = 1000 }, { delay_ms = 1000 } })
    local task = openai.spawn(function()
      local r = openai.parallel {
        function() return client:chat { messages = msgs("p1") } end,
        function() return client:chat { messages = msgs("p2") } end,
      }
      return r[1][1].choices[1].message.content .. "|" .. r[2][1].choices[1].message.content
    end)
    local _, longest = step_all()
    assert.is_true(longest < 600, "one step took " .. longest .. " ms")
    assert.equal("You said: p1|You said: p2", (task:result()))
  end)

  it("lets a call inside a task run across a C boundary (a table.sort comparator, string.gsub)", function()
    local task = openai.spawn(function()
      local ids = { "b", "a" }
      table.sort(ids, function(x, y)
        return client:model("gpt-4.1").id ~= "" and x < y
      end)
      local s = string.gsub("xy", ".", function(c) return c .. client:models().object end)
      return ids[1] .. ids[2] .. " " .. s
    end)
    step_all()
    assert.equal("ab xlistylist", (task:result()))
  end)

  it("ends a task that yields outside the library with an error naming the cause", function()
    local task = openai.spawn(function() coroutine.yield("mine") end)
    step_all()
    local a, err = task:result()
    assert.is_nil(a)
    assert.matches("yielded outside the library", tostring(err), 1, true)
  end)

  it("reads a stream with the while-loop idiom that yields on every Lua", function()
    H.script(CHAT, { full_script(4, 20) })
    local task = openai.spawn(function()
      local s = assert(client:chat_stream { messages = msgs() })
      local parts = {}
      while true do
        local c = s:next()
        if not c then break end
        parts[#parts + 1] = c.choices[1].delta.content
      end
      return table.concat(parts)
    end)
    step_all()
    assert.equal("x1x2x3x4", (task:result()))
    assert.equal(0, live())
  end)
end)

describe("openai.parallel on the scheduler (hangs it once had)", function()
  before_each(function()
    H.reset()
  end)

  it("(a) finishes when functions return open streams and outnumber `concurrency`", function()
    H.script(CHAT, repeated(full_script(3), 4))
    local out = scenario([[
      local fns = {}
      for i = 1, 4 do fns[i] = function() return assert(client:chat_stream { messages = { { role = "user", content = "s" } } }) end end
      local r = openai.parallel(fns, { concurrency = 2 })
      for i = 1, 4 do print(r[i][1]:result().choices[1].message.content) end
      print("live=" .. openai.stats().live)
    ]])
    assert.equal(string.rep("x1x2x3\n", 4) .. "live=0\nexit=0\n", out)
  end)

  it("(b) finishes when a batch function reads its stream through its own generator", function()
    -- the stream is slow; the other function's call is ready while the
    -- generator drives the engine itself: that readiness must not be lost
    H.script(CHAT, { full_script(4, 100) })
    H.script("/v1/models", { { delay_ms = 150 } })
    local out = scenario([[
      local function consume()
        local s = assert(client:chat_stream { messages = { { role = "user", content = "g" } } })
        local gen = coroutine.wrap(function()
          while true do
            local c = s:next()
            if not c then return end
            coroutine.yield(c.choices[1].delta.content)
          end
        end)
        local parts = {}
        for p in gen do parts[#parts + 1] = p end
        -- and a plain call from a coroutine of the user's own
        local r = coroutine.wrap(function() return client:model("gpt-4.1") end)()
        return table.concat(parts) .. " " .. r.id
      end
      local r = openai.parallel({ consume, function() return client:models().object end }, { concurrency = 2 })
      print(r[1][1], r[2][1])
      print("live=" .. openai.stats().live)
    ]])
    assert.equal("x1x2x3x4 gpt-4.1\tlist\nlive=0\nexit=0\n", out)
  end)

  it("(c) finishes when openai.parallel is reached through a user coroutine in a batch", function()
    local out = scenario([[
      local r = openai.parallel({
        function()
          return coroutine.wrap(function()
            local inner = openai.parallel({ function() return client:models() end,
                                            function() return client:model("gpt-4.1") end })
            return inner[1][1].object .. " " .. inner[2][1].id
          end)()
        end,
        function() return client:models().object end,
      }, { concurrency = 1 })
      print(r[1][1], r[2][1])
    ]])
    assert.equal("list gpt-4.1\tlist\nexit=0\n", out)
  end)

  it("(d) gives a finalizer that calls the client a clear error, and the batch finishes", function()
    local out = scenario([[
      local errs = {}
      local function finalizer() local ok, e = pcall(client.models, client); errs[#errs + 1] = tostring(e) end
      local function garbage()
        if newproxy then getmetatable(newproxy(true)).__gc = finalizer  -- luacheck: ignore 113
        else setmetatable({}, { __gc = finalizer }) end
      end
      local r = openai.parallel({
        function()
          garbage()
          collectgarbage()
          collectgarbage()
          return client:models().object
        end,
        function() return client:models().object end,
      })
      print(r[1][1], r[2][1], #errs, errs[1])
    ]])
    if _VERSION == "Lua 5.1" and not jit then  -- luacheck: ignore 113
      -- PUC 5.1 shows no sign of a finalizer: its call drives the engine itself
      assert.matches("^list\tlist\t1\ttable: [^\n]*\nexit=0\n$", out)
      assert.equal(3, #H.requests())
    else
      assert.matches("^list\tlist\t1\t[^\n]*finalizer %(__gc%)[^\n]*\nexit=0\n$", out)
      assert.equal(2, #H.requests())    -- the finalizer's call sent nothing
    end
  end)

  it("(e) finishes when a function leaves its stream loop early, concurrency 1, no <close>", function()
    H.script(CHAT, { hanging_script(8000), hanging_script(8000) })
    local out = scenario([[
      local t0 = require("openai.wire").now()
      local r = openai.parallel({
        function()
          local s = assert(client:chat_stream { messages = { { role = "user", content = "a" } }, idle_timeout = 15000 })
          for c in s:each() do return c.choices[1].delta.content end
        end,
        function()
          local s = assert(client:chat_stream { messages = { { role = "user", content = "b" } }, idle_timeout = 15000 })
          while true do
            local c = s:next()
            if c then return c.choices[1].delta.content .. "!" end
          end
        end,
        function() return client:models().object end,
      }, { concurrency = 1 })
      print(r[1][1], r[2][1], r[3][1], openai.stats().live, require("openai.wire").now() - t0 < 6000)
    ]])
    assert.equal("a\ta!\tlist\t0\ttrue\nexit=0\n", out)
  end)
end)
