-- The engine driven from a host's own loop: the host
-- watches the sockets engine:fds() lists, sleeps at most engine:timeout(),
-- and reports what happened with engine:socket_action(). Here the host is
-- a small loop on luasocket's select(2); real transfers go to the stand-in.

local H = require "support.helper"
local core = require "openai.core"
local cjson = require "cjson"
local socket = require "socket"

local KEY = "sk-" .. string.rep("Xq7bT2mR", 6)          -- a legacy 51-character key
local CHAT = "/v1/chat/completions"

-- a request description for engine:submit; extra fields are added
local function request(path, extra)
  local r = {
    method = "POST", url = H.url .. path,
    headers = { "Authorization: Bearer " .. KEY, "Content-Type: application/json" },
    body = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hi"}]}',
  }
  for k, v in pairs(extra or {}) do r[k] = v end
  return r
end

-- what luasocket's select takes for a bare file descriptor
local function watcher(fd)
  return { getfd = function() return fd end, dirty = function() return false end }
end

-- The host loop. Each turn: rebuild the watch lists only when fds(gen)
-- says the set changed, wait in select() at most timeout() (-1: only for
-- the sockets; capped at 1 s here), then report each socket that is ready,
-- or the timer. Stops when done() is true; fails after limit_ms.
-- Returns what it saw: turns, the timeouts it was given, and the
-- transfers socket_action reported ready (transfer -> times).
local function drive(e, done, limit_ms)
  local seen = { turns = 0, timeouts = {}, ready = {}, max_fds = 0, sockets = {} }
  local gen, reads, writes = nil, {}, {}
  local fd_of = {}
  local give_up = H.now() + (limit_ms or 10000)
  local function note(list)
    for _, t in ipairs(list or {}) do seen.ready[t] = (seen.ready[t] or 0) + 1 end
  end
  while not done() do
    assert(H.now() < give_up, "the host loop did not finish in time")
    seen.turns = seen.turns + 1
    local list, g = e:fds(gen)
    if list then
      gen, reads, writes, fd_of = g, {}, {}, {}
      for _, s in ipairs(list) do
        seen.sockets[s.id] = s.fd
        local w = watcher(s.fd)
        fd_of[w] = s.fd
        if s.read then reads[#reads + 1] = w end
        if s.write then writes[#writes + 1] = w end
      end
      if #list > seen.max_fds then seen.max_fds = #list end
    end
    local ms = e:timeout()
    seen.timeouts[#seen.timeouts + 1] = ms
    local r, w = socket.select(reads, writes, ms < 0 and 1 or ms / 1000)
    local events = {}
    for _, x in ipairs(r) do events[fd_of[x]] = { true, false } end
    for _, x in ipairs(w) do
      local ev = events[fd_of[x]] or { false, false }
      ev[2] = true
      events[fd_of[x]] = ev
    end
    local any = false
    for fd, ev in pairs(events) do
      any = true
      note(e:socket_action(fd, ev[1], ev[2]))
    end
    if not any then note(e:socket_action(nil)) end
  end
  return seen
end

-- how many of the timeouts seen were 0 (the host told to come back at once)
local function zeros(seen)
  local n = 0
  for _, ms in ipairs(seen.timeouts) do if ms == 0 then n = n + 1 end end
  return n
end

describe("the engine in a host's loop (fds, timeout, socket_action)", function()
  local e

  before_each(function()
    H.reset()
    e = core.engine()
  end)

  after_each(function()
    e:close()
  end)

  it("asks for nothing when idle: no sockets, timeout -1", function()
    local list, gen = e:fds()
    assert.same({}, list)
    assert.equal("number", type(gen))
    assert.equal(-1, e:timeout())
    assert.is_nil(e:socket_action(nil))
    assert.is_nil(e:socket_action(-1))
  end)

  it("completes a plain call, and is idle again afterwards", function()
    local t = e:submit(request(CHAT))
    assert.equal(0, e:timeout())                -- a new attempt is due now
    local seen = drive(e, function() return t:ready() end)
    local res = t:result()
    assert.equal("done", res.state)
    assert.equal(200, res.status)
    assert.equal("chat.completion", cjson.decode(res.body).object)
    assert.equal(1, seen.ready[t])
    assert.is_true(seen.max_fds >= 1)
    t:close()
    assert.same({}, (e:fds()))
    assert.equal(-1, e:timeout())
  end)

  it("tells the host whether the socket set changed (fds(since))", function()
    local _, gen = e:fds()
    local none, same = e:fds(gen)
    assert.is_nil(none)
    assert.equal(gen, same)
    local t = e:submit(request(CHAT))
    e:socket_action(nil)                         -- the attempt starts: curl opens a socket
    local list, gen2 = e:fds(gen)
    assert.is_table(list)
    assert.are_not.equal(gen, gen2)
    assert.equal(1, #list)
    assert.equal("number", type(list[1].fd))
    assert.equal("number", type(list[1].id))
    assert.equal("boolean", type(list[1].read))
    assert.equal("boolean", type(list[1].write))
    assert.is_true(list[1].read or list[1].write)
    drive(e, function() return t:ready() end)
    t:close()
    local after = e:fds(gen2)
    assert.same({}, after)
  end)

  it("gives a new socket a new id, even when its fd number is reused", function()
    H.script(CHAT, { { status = 200, fault = "close_after" } })
    local t1 = e:submit(request(CHAT))
    local first = drive(e, function() return t1:ready() end)
    t1:close()
    local t2 = e:submit(request(CHAT))
    local second = drive(e, function() return t2:ready() end)
    t2:close()
    assert.equal(2, #H.requests())
    local id1, fd1 = next(first.sockets)
    local id2, fd2 = next(second.sockets)
    assert.is_number(id1)
    assert.is_number(id2)
    assert.are_not.equal(id1, id2)
    assert.is_number(fd1)
    assert.is_number(fd2)
  end)

  it("does not spin while a slow server thinks: timeout() stays above 0", function()
    H.script(CHAT, { { status = 200, delay_ms = 600 } })
    local t0 = H.now()
    local t = e:submit(request(CHAT))
    local seen = drive(e, function() return t:ready() end)
    assert.equal(200, t:result().status)
    assert.is_true(H.now() - t0 >= 550)
    -- a spinning loop would turn thousands of times in 600 ms
    assert.is_true(seen.turns < 50, seen.turns .. " turns")
    assert.is_true(zeros(seen) <= 3, zeros(seen) .. " zero timeouts")
    t:close()
  end)

  it("delivers a stream's events as they come", function()
    local sent = { '{"n":1}', '{"n":2}', '{"n":3}' }
    H.script(CHAT, { { sse = { { data = sent[1] }, { data = sent[2] }, { data = sent[3] },
                               { data = "[DONE]" } }, sse_delay_ms = 50 } })
    local t = e:submit(request(CHAT, { stream = true, idle_timeout = 5000 }))
    local got = {}
    local function take()
      while true do
        local data = t:next_event()
        if data == nil then break end
        got[#got + 1] = data
      end
    end
    local seen = drive(e, function()
      take()
      return t:state() == "done"
    end)
    take()
    assert.same({ sent[1], sent[2], sent[3], "[DONE]" }, got)
    assert.is_nil(t:result().kind)
    assert.is_true(seen.ready[t] >= 2, "the stream was reported ready only once")
    t:close()
  end)

  it("makes a retry's next attempt through timeout(), without sockets to watch", function()
    H.script("/v1/models", { { status = 500, headers = { ["retry-after-ms"] = "400" } },
                             { status = 200 } }, "GET")
    local t0 = H.now()
    local r = request("/v1/models", { method = "GET",
      retry = { max_retries = 1, backoff = true, sdk_statuses = true } })
    r.body = nil
    local t = e:submit(r)
    local waited
    local seen = drive(e, function()
      if t:state() == "waiting" and t:result().attempts == 1 and waited == nil then
        waited = e:timeout()                  -- between the attempts
      end
      return t:ready()
    end)
    local res = t:result()
    assert.equal(200, res.status)
    assert.equal(2, res.attempts)
    assert.equal(2, #H.requests())
    assert.is_number(waited)
    assert.is_true(waited > 100 and waited <= 400, "timeout between attempts: " .. tostring(waited))
    assert.is_true(H.now() - t0 >= 380)
    assert.is_true(seen.turns < 50, seen.turns .. " turns")
    t:close()
  end)

  it("ends a silent stream through timeout() (idle_timeout)", function()
    H.script(CHAT, { { sse = { { data = '{"n":1}' } }, sse_end = "hang", hang_ms = 5000 } })
    local t = e:submit(request(CHAT, { stream = true, idle_timeout = 300 }))
    local events, idle_wait = 0, nil
    local seen = drive(e, function()
      while t:next_event() do
        events = events + 1
        idle_wait = e:timeout()               -- now only the idle timer is due
      end
      return t:state() == "done"
    end)
    local res = t:result()
    assert.equal(1, events)
    assert.equal("timeout", res.kind)
    assert.matches("silent for 300 ms", res.message, 1, true)
    assert.is_number(idle_wait)
    assert.is_true(idle_wait > 0 and idle_wait <= 300, "idle wait " .. tostring(idle_wait))
    assert.is_true(seen.turns < 50, seen.turns .. " turns")
    t:close()
  end)

  it("ends a stream whose headers never come through timeout()", function()
    H.script(CHAT, { { fault = "hang", hang_ms = 5000 } })
    local t = e:submit(request(CHAT, { stream = true, timeout = 300 }))
    local seen = drive(e, function() return t:ready() end)
    local res = t:result()
    assert.equal("timeout", res.kind)
    assert.matches("no response headers within 300 ms", res.message, 1, true)
    assert.is_true(seen.turns < 50, seen.turns .. " turns")
    t:close()
  end)

  it("cuts a released stream that never ends when its grace runs out", function()
    H.script(CHAT, { { sse = { { data = '{"n":1}' } }, sse_end = "hang", hang_ms = 5000 } })
    local t = e:submit(request(CHAT, { stream = true, idle_timeout = 10000 }))
    drive(e, function() return t:next_event() ~= nil end)
    t:release(200)
    local wait = e:timeout()
    assert.is_true(wait > 0 and wait <= 200, "grace wait " .. wait)
    local seen = drive(e, function() return e:stats().draining == 0 end)
    assert.equal("closed", t:state())
    assert.equal(0, e:stats().running)
    assert.is_true(seen.turns < 50, seen.turns .. " turns")
  end)

  it("sleeps while a stream waits for its reader, and wakes once it reads", function()
    local pad = string.rep("x", 4000)
    local sse = {}
    for i = 1, 150 do sse[i] = { data = '{"n":' .. i .. ',"pad":"' .. pad .. '"}' } end
    sse[#sse + 1] = { data = "[DONE]" }
    H.script(CHAT, { { sse = sse } })
    local t = e:submit(request(CHAT, { stream = true }))
    -- nobody reads: once 256 KB are queued curl pauses the transfer, and
    -- the engine asks for nothing (no socket, no timer) instead of spinning
    drive(e, function() return t:ready() and #e:fds() == 0 and e:timeout() == -1 end)
    assert.equal("running", t:state())
    local n = 0
    while t:next_event() do n = n + 1 end
    assert.is_true(n > 0 and n < 151, n .. " events before the pause")
    assert.equal(0, e:timeout())              -- reading resumed it: call now
    drive(e, function()
      while t:next_event() do n = n + 1 end
      return t:state() == "done"
    end)
    while t:next_event() do n = n + 1 end     -- what the last turn queued
    assert.equal(151, n)
    assert.is_nil(t:result().kind)
    t:close()
  end)

  it("runs several transfers at once and reports each one ready once", function()
    local ts = {}
    for i = 1, 4 do
      H.script("/v1/echo" .. i, { { status = 200, delay_ms = 200, json = { i = i } } })
      ts[i] = e:submit(request("/v1/echo" .. i))
    end
    local seen = drive(e, function()
      for i = 1, 4 do if not ts[i]:ready() then return false end end
      return true
    end)
    for i = 1, 4 do
      assert.equal(1, seen.ready[ts[i]])
      assert.same({ i = i }, cjson.decode(ts[i]:result().body))
      ts[i]:close()
    end
    assert.is_true(seen.max_fds >= 2)
  end)

  it("rejects an fd that is not an integer", function()
    local err = H.raises(e.socket_action, e, 1.5, true, false)
    assert.matches("socket_action", err, 1, true)
    assert.matches("'fd'", err, 1, true)
  end)
end)

describe("engine:wait beside other transfers", function()
  it("keeps the readiness of the transfers it is not waiting for", function()
    H.reset()
    local e = core.engine()
    H.script("/v1/slow", { { status = 200, delay_ms = 600 } })
    local fast = e:submit(request("/v1/fast"))
    local slow = e:submit(request("/v1/slow"))
    local cpu0 = os.clock()
    assert.is_true(e:wait(slow))
    -- waiting 600 ms with a ready transfer beside it must sleep, not spin
    local cpu = os.clock() - cpu0
    assert.is_true(cpu < 0.3, "engine:wait used " .. cpu .. " s of CPU")
    assert.is_true(fast:ready())
    assert.equal(0, e:timeout())              -- the host is told to come and take it
    local ready = e:step(0)
    local found = false
    for _, t in ipairs(ready or {}) do if t == fast then found = true end end
    assert.is_true(found, "the fast transfer's readiness was lost")
    fast:close()
    slow:close()
    e:close()
  end)
end)
