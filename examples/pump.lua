-- examples/pump.lua: calls beside a host's own loop (a game's frames, an
-- editor's event loop) without ever blocking it.
--
--   local pump = dofile("examples/pump.lua")   -- or require, on the path
--   local task = pump.spawn(function() return client:chat{ ... } end)
--   -- once per frame / loop turn:
--   pump.step(0)                               -- never blocks
--   if task:done() then local res, err = task:result() end
--
-- This is the stand-in for openai.spawn / openai.step (issue 9, build item
-- 3). When the module has them, they are returned as they are and nothing
-- below runs; the host programs only use spawn(fn) -> task, task:done(),
-- task:result() and step(max_wait_ms) -> tasks pending, the API the issue
-- specifies. SWAP: once openai.step lands, delete this file and write
-- openai.spawn / openai.step where the callers say pump.spawn / pump.step.

local openai = require "openai"

local M = {}

if openai.spawn and openai.step then
  M.spawn, M.step = openai.spawn, openai.step
  M.hand_made = false
  return M
end

M.hand_made = true

local transport = require "openai.transport"

local setmetatable, pairs, select, error, tostring = setmetatable, pairs, select, error, tostring
local unpack = unpack or table.unpack -- luacheck: ignore 143 (5.1 and LuaJIT: global unpack)
local create, resume, status = coroutine.create, coroutine.resume, coroutine.status
local huge = math.huge

-- {=================================================================
-- HAND-MADE SCHEDULER: the only code in examples/ and spec/hosts/ that
-- touches the module's internals (openai.transport's scheduler slot, as
-- openai.parallel uses it). A call made inside a task sees `sched` as the
-- current scheduler, so it submits its transfer and yields (WAIT, t)
-- instead of driving the engine itself; step() drives the engine without
-- blocking and resumes the tasks whose transfers are ready.
-- ==================================================================

local state, WAIT = transport.state, transport.WAIT

local sched = {
  cos = setmetatable({}, { __mode = "k" }),    -- coroutine -> its task
  owner = setmetatable({}, { __mode = "k" }),  -- transfer -> coroutine that submitted it
  inflight = 0, concurrency = huge,            -- no slots: every call starts at once
}
local waiting = {}     -- transfer -> task waiting on it
local pending = 0      -- tasks not done

local Task = {}
Task.__index = Task

function Task:done()
  return self._done
end

-- what the function returned, or nil, err when it raised
function Task:result()
  if not self._done then error("pump: task:result() called before task:done()", 2) end
  return unpack(self._results, 1, self._results.n)
end

local function finish(task, results)
  task._done, task._results = true, results
  sched.cos[task._co] = nil
  pending = pending - 1
end

-- what a resumed task did: ended, raised, or is waiting on a transfer
local function settle(task, ok, ...)
  local co = task._co
  if not ok then
    for t, owner in pairs(sched.owner) do      -- give back what it left open
      if owner == co then transport.finish(t) end
    end
    finish(task, { n = 2, nil, (...) })
  elseif status(co) == "dead" then
    finish(task, { n = select("#", ...), ... })
  elseif (...) == WAIT then
    waiting[select(2, ...)] = task
  else
    finish(task, { n = 2, nil, "pump: the task yielded " .. tostring((...)) .. " outside the library" })
  end
end

-- resume with our scheduler current, as openai.parallel's loop does
local function run(task, ...)
  local prev = state.sched
  state.sched = sched
  local function back(...)
    state.sched = prev
    return ...
  end
  settle(task, back(resume(task._co, ...)))
end

-- }==================================================================

-- start fn(...) as a task: it runs until its first call is in flight
function M.spawn(fn, ...)
  local task = setmetatable({ _co = create(fn), _done = false }, Task)
  sched.cos[task._co] = task
  pending = pending + 1
  run(task, ...)
  return task
end

-- drive the transfers once (wait at most max_wait_ms, 0: never block) and
-- resume every task whose transfer is ready; the number of tasks pending
function M.step(max_wait_ms)
  transport.engine():step(max_wait_ms or 0)
  -- every waiting transfer is asked (not only the engine's ready list): a
  -- blocking call made outside a task between two steps takes that list
  local ready, n = {}, 0
  for t in pairs(waiting) do
    if t:ready() then n = n + 1; ready[n] = t end
  end
  for i = 1, n do
    local t = ready[i]
    local task = waiting[t]
    waiting[t] = nil
    run(task)
  end
  return pending
end

return M
