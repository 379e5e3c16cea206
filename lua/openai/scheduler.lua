-- openai.scheduler: the one engine of this Lua state, and the tasks that
-- run on it. Long-lived and public:
--
--   local task = openai.spawn(fn, ...)    -- returns at once; fn runs in openai.step
--   task:on_done(function(ok, ...) end)   -- ok, fn's returns | false, err
--   openai.step(0)                         -- once per frame: never blocks
--
-- A task is a coroutine. A call of the library inside it submits its
-- transfer and yields; openai.step drives the engine (curl multi) once and
-- resumes the tasks whose transfers are ready. A call that cannot yield to
-- this scheduler (outside any task, in the user's own coroutine, across a C
-- boundary) drives the engine itself until its transfer is ready; every
-- engine step, whoever makes it, hands the ready list to `feed`, which
-- queues the tasks waiting for those transfers, so no readiness is lost
-- and nothing spins. A host loop that drives the engine its own way hands
-- the ready list to M.dispatch (feed, then resume).
--
-- Slots: a task spawned in a group (openai.parallel's) holds one slot of
-- the group's `concurrency` per transfer it has in flight; a call beyond
-- the limit yields until a slot comes free. A slot comes back when its
-- transfer is closed, when it is done, or when its task ends.

local wire = require "openai.wire"
local errors = require "openai.errors"

local type, select, error, tostring, pcall, setmetatable, pairs =
      type, select, error, tostring, pcall, setmetatable, pairs
local create, resume, yield, running, costatus =
      coroutine.create, coroutine.resume, coroutine.yield, coroutine.running, coroutine.status
local isyieldable = coroutine.isyieldable
local getinfo = debug.getinfo
local xpcall = xpcall
local require = require
local ngx = ngx -- luacheck: ignore 113 (set by nginx's lua module)
local unpack = table.unpack or unpack -- luacheck: ignore 143
local concat = table.concat
local VERSION = _VERSION

local _ENV = nil -- luacheck: ignore 211

local M = {}

-- {=================================================================
-- the engine, and where a call stands
-- ==================================================================

local engine_ud   -- the engine of this Lua state (created on first use)

-- openai.core (libcurl) is loaded here, on the first use of the engine: a
-- host that never uses it (nginx's cosockets) never maps libcurl
function M.engine()
  local e = engine_ud
  if e == nil then
    e = require("openai.core").engine()
    engine_ud = e
  end
  return e
end

-- can the running coroutine yield here? 5.3, 5.4 and LuaJIT say so. 5.2
-- yields across pcall, xpcall, metamethods and iterators, not across other
-- C functions (string.gsub, table.sort, require...); PUC 5.1 across no C
-- frame, nor from a generic-for iterator (a caller named "(for generator)").
-- Both are read from the running coroutine's stack.
local can_yield = isyieldable
if can_yield == nil then
  local is51 = VERSION == "Lua 5.1"
  can_yield = function()
    local level = 3
    while true do
      local info = getinfo(level, "Snf")
      if info == nil then return true end
      if is51 then
        if info.what == "C" or info.name == "(for generator)" then return false end
      elseif info.what == "C" and info.func ~= pcall and info.func ~= xpcall then
        return false
      end
      level = level + 1
    end
  end
end

local tasks_of = setmetatable({}, { __mode = "k" })  -- coroutine -> its live task

-- the task whose coroutine is running, or nil
local function running_task()
  return tasks_of[running()]
end
M.running_task = running_task

-- the running task when the call can yield to the scheduler, else nil
local function yieldable_task()
  local task = tasks_of[running()]
  if task ~= nil and can_yield() then return task end
  return nil
end

-- whether we run inside a finalizer (__gc): the collector reports itself
-- not running there (5.4: nil; 5.2, 5.3, LuaJIT: false); 5.3 and 5.4 name
-- the finalizer's frame "__gc"; where no frame is named (5.2, LuaJIT), a
-- task that cannot yield while the collector is off is taken for one
local gc_running = wire.gc_running   -- collectgarbage("isrunning"), one C call
local function in_finalizer()
  local r = gc_running()
  if r == true then return false end
  if r == nil then return true end
  local level = 2
  while true do
    local info = getinfo(level, "n")
    if info == nil then break end
    if info.name == "__gc" and info.namewhat == "metamethod" then return true end
    level = level + 1
  end
  if VERSION == "Lua 5.3" or VERSION == "Lua 5.4" then return false end
  return tasks_of[running()] ~= nil and not can_yield()
end

-- raise the error a finalizer gets when it calls the library
function M.refuse_finalizer(fn)
  if in_finalizer() then
    error(fn .. ": the client cannot be called from a finalizer (__gc): it would have to "
          .. "drive the engine from inside the garbage collector; call it from ordinary code", 0)
  end
end

-- }==================================================================


-- {=================================================================
-- runnable tasks, and driving the engine
-- ==================================================================

local WAIT, SLOT, GROUP = {}, {}, {}   -- what a task yields: the reason it waits

local runq, rq_head, rq_tail = {}, 1, 0   -- tasks to resume, in order
local waiting = setmetatable({}, { __mode = "k" })  -- transfer -> task waiting for it
local slot_of = setmetatable({}, { __mode = "k" })  -- transfer -> group whose slot it holds
local owner_of = setmetatable({}, { __mode = "k" }) -- transfer -> task that opened it
local handle_of = setmetatable({}, { __mode = "k" }) -- stream object -> its transfer
local pending = 0                         -- tasks started or queued, not done
local on_runnable                         -- a host loop's hook: a task was queued

-- queue a task to be resumed; a host loop that drives the engine its own
-- way (openai.luv) hears of it, so that a task spawned, or woken outside
-- that loop's dispatch (a slot given back by a close), is not left waiting
-- for socket activity that may never come
local function push(task)
  rq_tail = rq_tail + 1
  runq[rq_tail] = task
  if on_runnable ~= nil then on_runnable() end
end

-- fn() is called each time a task is queued to run (nil: nobody listens);
-- the host then calls M.dispatch soon, from its own loop
function M.on_runnable(fn)
  on_runnable = fn
end

local function release_slot(t)
  local g = slot_of[t]
  if g == nil then return end
  slot_of[t] = nil
  g.inflight = g.inflight - 1
  while g.sq_head <= g.sq_tail do       -- wake the first task still waiting
    local h = g.sq_head
    local task = g.slotq[h]
    g.slotq[h] = nil
    g.sq_head = h + 1
    if not task.finished then           -- (a cancelled one waits no more)
      push(task)
      return
    end
  end
end

-- hand each ready transfer to its waiting task (queued to be resumed); a
-- finished transfer gives its slot back at once
local function feed(ready)
  if ready == nil then return end
  for i = 1, #ready do
    local t = ready[i]
    if slot_of[t] and t:state() ~= "running" and t:state() ~= "waiting" then release_slot(t) end
    local task = waiting[t]
    if task ~= nil and t:ready() then
      waiting[t] = nil
      push(task)
    end
  end
end

-- drive the engine once (wait at most wait_ms; -1: until something
-- happens or a timer is due) and feed what became ready
local function drive(wait_ms)
  local ok, ready = pcall(M.engine().step, M.engine(), wait_ms)
  if not ok then return nil, ready end
  feed(ready)
  return true
end

-- }==================================================================


-- {=================================================================
-- tasks
-- ==================================================================

local Task = {}
Task.__index = Task
M.Task = Task

local function pack(...)
  return { n = select("#", ...), ... }
end

-- close what the task still holds open, except the transfers of values it
-- returned (they stay the caller's, without a slot)
local function let_go(task, kept)
  for t in pairs(task.transfers) do
    task.transfers[t] = nil
    owner_of[t] = nil
    waiting[t] = nil
    if kept == nil or not kept[t] then t:close() end
    release_slot(t)
  end
end

-- the transfers behind the values a task returned
local function returned_transfers(res)
  local kept
  for i = 1, res.n do
    local v = res[i]
    local t = type(v) == "table" and handle_of[v] or nil
    if t ~= nil then
      kept = kept or {}
      kept[t] = true
    end
  end
  return kept
end

-- on_done(true, returns...) or on_done(false, err)
local function call_back(cb, ok, res)
  if ok then return cb(true, unpack(res, 1, res.n)) end
  return cb(false, res[2])
end

-- run every callback of cbs; an error of one does not keep the others
-- from running: the first is raised once all ran (with the count of any
-- others, which are joined into its text when it is a string)
local function call_backs(cbs, ok, res)
  local first, more = nil, {}
  for i = 1, #cbs do
    local fine, err = pcall(call_back, cbs[i], ok, res)
    if not fine then
      if first == nil then first = err else more[#more + 1] = tostring(err) end
    end
  end
  if first == nil then return end
  if #more > 0 and type(first) == "string" then
    first = first .. " (and " .. #more .. " more on_done error(s): " .. concat(more, "; ") .. ")"
  end
  error(first, 0)
end

-- how any task ends (openai.nginx's too): its outcome is recorded, then
-- release(task, ok, res) lets go of what its kind of task holds, then its
-- callbacks run, every one of them (an error is raised after the last);
-- a task ends once
local function complete(task, ok, res, release)
  if task.finished then return end
  task.finished, task.ok, task.res = true, ok, res
  release(task, ok, res)
  local cbs = task.callbacks
  task.callbacks = nil
  if cbs ~= nil then call_backs(cbs, ok, res) end
end
M.complete = complete

-- the outcome of a cancelled task
local function cancelled()
  return { nil, errors.new({ kind = "cancelled", message = "the task was cancelled" }), n = 2 }
end
M.cancelled = cancelled

-- a coroutine task lets go of its transfers, its slot, its group's count
local function release_task(task, ok, res)
  tasks_of[task.co] = nil
  pending = pending - 1
  let_go(task, ok and returned_transfers(res) or nil)
  local g = task.group
  if g ~= nil then
    g.pending = g.pending - 1
    if g.pending == 0 and g.waiter ~= nil then
      local w = g.waiter
      g.waiter = nil
      push(w)
    end
  end
end

local function finish(task, ok, res)
  complete(task, ok, res, release_task)
end

-- what a resumed task did: returned, raised, or yielded a reason to wait
local function settle(task, ok, ...)
  if task.finished then return end                -- cancelled while it ran
  if not ok then
    finish(task, false, { nil, (...), n = 2 })
  elseif costatus(task.co) == "dead" then
    finish(task, true, pack(...))
  else
    local why = ...
    if why ~= WAIT and why ~= SLOT and why ~= GROUP then
      finish(task, false, { nil, errors.new({ kind = "connection",
        message = "a task (openai.spawn / openai.parallel function) yielded outside the library;"
                  .. " wrap your own yields in a coroutine of your own" }), n = 2 })
    end
  end
end

-- resume the tasks that can go on, in order, until none is left
local function run()
  while rq_head <= rq_tail do
    local task = runq[rq_head]
    runq[rq_head] = nil
    rq_head = rq_head + 1
    if not task.finished and costatus(task.co) == "suspended" then
      local args = task.args
      if args ~= nil then
        task.args = nil
        settle(task, resume(task.co, unpack(args, 1, args.n)))
      else
        settle(task, resume(task.co))
      end
    end
  end
  rq_head, rq_tail = 1, 0
end

-- start fn(...) as a task of group g (nil: no slot limit); it runs from
-- the next step on
function M.spawn_in(g, fn, ...)
  local task = setmetatable({
    co = create(fn), args = pack(...), group = g, transfers = {},
    finished = false, ok = nil, res = nil, callbacks = nil,
  }, Task)
  tasks_of[task.co] = task
  pending = pending + 1
  if g ~= nil then g.pending = g.pending + 1 end
  push(task)
  return task
end

-- inside nginx, in a phase with cosockets, tasks are ngx.thread light
-- threads (openai.nginx): nginx's event loop runs them, not openai.step
local ngx_tasks_mod
local function ngx_tasks()
  if type(ngx) ~= "table" then return nil end
  ngx_tasks_mod = ngx_tasks_mod or require "openai.nginx"
  if ngx_tasks_mod.cosockets() then return ngx_tasks_mod end
  return nil
end
M.ngx_tasks = ngx_tasks

function M.spawn(fn, ...)
  if type(fn) ~= "function" then
    error("openai.spawn: 'fn' must be a function (got " .. type(fn) .. ")", 2)
  end
  local nx = ngx_tasks()
  if nx then return nx.spawn(fn, ...) end
  return M.spawn_in(nil, fn, ...)
end

function Task:done()
  return self.finished
end

-- its returns, or nil and the error it raised; raises when not done yet
function Task:result()
  if not self.finished then error("openai.task:result: the task is not done yet", 2) end
  local res = self.res
  return unpack(res, 1, res.n)
end

-- cb(ok, ...) once the task is done (at once when it is done already);
-- returns the task
function Task:on_done(cb)
  if type(cb) ~= "function" then
    error("openai.task:on_done: 'cb' must be a function (got " .. type(cb) .. ")", 2)
  end
  if self.finished then
    call_back(cb, self.ok, self.res)
  else
    local cbs = self.callbacks or {}
    cbs[#cbs + 1] = cb
    self.callbacks = cbs
  end
  return self
end

-- stop the task now: its transfers are cut (a stream keeps what it had
-- received), its result is nil, err (kind "cancelled"); false when it was
-- done already
function Task:cancel()
  if self.finished then return false end
  finish(self, false, cancelled())
  return true
end

-- }==================================================================


-- {=================================================================
-- what calls use: slots, ownership, waiting
-- ==================================================================

-- before a transfer is submitted: wait for a slot of the running task's
-- group when it can yield; returns the task and the group of its slot
function M.acquire()
  local task = running_task()
  if task == nil then return nil, nil end
  local g = task.group
  if g == nil or not can_yield() then return task, nil end
  while g.inflight >= g.concurrency do
    g.sq_tail = g.sq_tail + 1
    g.slotq[g.sq_tail] = task
    yield(SLOT)
  end
  g.inflight = g.inflight + 1
  return task, g
end

-- after it was submitted: t belongs to the task (closed when it ends)
function M.adopt(t, task, g)
  if task == nil then return end
  if task.finished then        -- cancelled while it waited for its slot
    if g ~= nil then g.inflight = g.inflight - 1 end
    t:close()
    return
  end
  task.transfers[t] = true
  owner_of[t] = task
  if g ~= nil then slot_of[t] = g end
end

-- t is closed or handed over: forget its task and give its slot back
function M.release(t)
  local task = owner_of[t]
  if task ~= nil then
    owner_of[t] = nil
    task.transfers[t] = nil
  end
  waiting[t] = nil
  release_slot(t)
end

-- obj (a stream) stands for transfer t: returned by a task, it stays open
function M.bind(obj, t)
  handle_of[obj] = t
end

-- wait until t is ready (done, or a stream event queued): yield to the
-- scheduler inside a task, else drive the engine here. true, or nil and a
-- message when the engine itself failed
function M.await(t)
  if t:ready() then return true end
  local task = yieldable_task()
  if task ~= nil then
    repeat
      waiting[t] = task
      yield(WAIT)
    until t:ready() or task.finished
    return true
  end
  repeat
    local ok, msg = drive(-1)
    if not ok then return nil, msg end
  until t:ready()
  return true
end

-- drive the engine until t is closed, at most max_ms (a released stream
-- reads the rest of its body so its connection is kept; 0: what has
-- arrived already, without waiting); then cut it
function M.drain(t, max_ms)
  local until_ms = wire.now() + max_ms
  while t:state() ~= "closed" do
    local left = until_ms - wire.now()
    if not drive(left > 0 and left + 1 or 0) or left <= 0 then break end
  end
  t:close()
end

-- }==================================================================


-- {=================================================================
-- stepping
-- ==================================================================

-- The seam of any loop that drives the engine (openai.step below, or an
-- fd-driven host that calls curl_multi_socket_action): hand over the list
-- of transfers the engine returned as ready; the tasks waiting for them
-- are resumed, callbacks run. Returns the number of pending tasks.
function M.dispatch(ready)
  feed(ready)
  run()
  return pending
end

-- resume what can go on (new tasks, slots come free), drive the engine
-- once, resume what became ready; the number of pending tasks
local function step(wait_ms)
  run()
  local e = M.engine()
  local ok, ready = pcall(e.step, e, wait_ms)
  if not ok then error("openai.step: " .. tostring(ready), 0) end
  return M.dispatch(ready)
end

function M.step(max_wait_ms)
  if max_wait_ms == nil then max_wait_ms = 0 end
  if type(max_wait_ms) ~= "number" or max_wait_ms ~= max_wait_ms or max_wait_ms < 0 then
    error("openai.step: 'max_wait_ms' must be a number >= 0 (got " .. tostring(max_wait_ms) .. ")", 2)
  end
  local nx = ngx_tasks()
  if nx then return nx.step(max_wait_ms) end
  return step(max_wait_ms)
end

function M.pending()
  return pending
end

-- a group of tasks sharing `concurrency` slots
function M.group(concurrency)
  return { concurrency = concurrency, inflight = 0, pending = 0, waiter = nil,
           slotq = {}, sq_head = 1, sq_tail = 0 }
end

-- wait until every task of g is done: yield when the running task can,
-- else step the scheduler here
function M.wait_group(g)
  local task = yieldable_task()
  if task ~= nil then
    while g.pending > 0 do
      g.waiter = task
      yield(GROUP)
    end
    return
  end
  while g.pending > 0 do step(-1) end
end

-- }==================================================================

return M
