-- openai.luv: the engine and its tasks driven by a luv loop (Neovim's
-- vim.uv / vim.loop, Luvit, the plain `luv` module), so calls never block
-- the host:
--
--   local openai = require "openai"
--   local driver = require("openai.luv").start()   -- uv: vim.uv, vim.loop or require "luv"
--   openai.spawn(function() return client:chat{ ... } end):on_done(function(ok, res, err)
--     vim.schedule(function() ... end)              -- Neovim: see below
--   end)
--   -- plain luv: uv.run() returns once nothing is pending
--   driver:stop()                                   -- closes its handles (optional)
--
-- One uv poll handle per engine socket (engine:fds), one one-shot uv timer
-- on engine:timeout(); on either, engine:socket_action and the ready list
-- to the scheduler (tasks resumed, on_done callbacks run), then a re-sync.
-- An unreferenced prepare handle re-syncs before every poll of the loop as
-- well: whatever closed a socket meanwhile (a task cancelled from a keymap,
-- a call that drove the engine itself), no watched descriptor is stale
-- when libuv polls. Nothing here keeps the loop alive once no call is in
-- flight or due: no sockets, no timer.
--
-- Neovim: the callbacks (on_done, the code of tasks) run in luv's fast
-- event context, where most of the editor's API (buffers, windows, vim.fn)
-- is off limits: wrap such code in vim.schedule(function() ... end).

local sched = require "openai.scheduler"

local pairs, pcall, error, setmetatable, require, tostring, type =
      pairs, pcall, error, setmetatable, require, tostring, type
local G = _G
local stderr = io.stderr

local _ENV = nil -- luacheck: ignore 211

local M = {}

local current   -- the running driver of this Lua state (one engine, one driver)

-- Neovim's loop, else the luv module
local function default_uv()
  local vim = G.vim
  if vim ~= nil and (vim.uv or vim.loop) then return vim.uv or vim.loop end
  return require "luv"
end

-- the uv poll events for a socket's interest ("" for none)
local function events_of(s)
  return (s.read and "r" or "") .. (s.write and "w" or "")
end

local function close(h)
  if not h:is_closing() then h:close() end
end

local Driver = {}
Driver.__index = Driver

-- hand one event to the engine (fd nil: its timer), the ready transfers to
-- the scheduler, then re-sync; an error of either (a task's callback that
-- raised, a failed engine) is raised once the handles are right again
function Driver:act(fd, readable, writable)
  if self.stopped then return end
  local e = self.engine
  local ok, ready = pcall(e.socket_action, e, fd, readable, writable)
  self.kicked = false
  self.dispatching = true
  local fine, err = pcall(sched.dispatch, ok and ready or nil)
  self.dispatching = false
  self:sync()
  if not fine then
    self:kick()                 -- the tasks queued behind the one that raised
    self.on_error(err)
  end
  if not ok then error("openai.luv: " .. tostring(ready), 0) end
end

-- run the scheduler's queued tasks soon (a 0 ms timer), from the loop
function Driver:kick()
  if self.stopped or self.dispatching then return end
  self.kicked = true
  self.timer:start(0, 0, self.on_timer)
end

-- the timer on engine:timeout(): stopped at -1, so an idle engine does not
-- keep the loop alive
function Driver:arm()
  if self.kicked then return end
  local ms = self.engine:timeout()
  if ms < 0 then
    self.timer:stop()
    return
  end
  self.uv.update_time()         -- the loop's clock is stale after callbacks ran
  self.timer:start(ms, 0, self.on_timer)
end

-- a poll handle watching socket s (id, fd) for its interest
function Driver:watch(s)
  local uv = self.uv
  local new = uv.new_socket_poll or uv.new_poll
  local h, err = new(s.fd)
  if h == nil then error("openai.luv: cannot watch socket " .. s.fd .. ": " .. tostring(err), 0) end
  local fd = s.fd
  local w = { handle = h, fd = fd, events = "", cb = nil }
  w.cb = function(perr, events)
    -- an error on the descriptor: let curl find out what it is
    if perr then return self:act(fd, true, true) end
    events = events or ""
    return self:act(fd, events:find("r", 1, true) ~= nil, events:find("w", 1, true) ~= nil)
  end
  return w
end

-- a watch's interest: started with the new events, stopped for none
local function interest(w, events)
  if w.events == events then return end
  w.events = events
  if events == "" then w.handle:stop() else w.handle:start(events, w.cb) end
end

-- make the poll handles match the engine's sockets: handles of sockets
-- that are gone (by id: a closed fd number comes back as another socket,
-- and libuv aborts when asked to watch a closed descriptor) are closed
-- first, then kept ones restarted when their interest changed, then new
-- ones made; then the timer
function Driver:sync()
  if self.stopped then return end
  local list, gen = self.engine:fds(self.gen)
  if list ~= nil then
    self.gen = gen
    local live = {}
    for i = 1, #list do live[list[i].id] = list[i] end
    local polls = self.polls
    for id, w in pairs(polls) do
      if live[id] == nil then
        polls[id] = nil
        close(w.handle)
      end
    end
    for id, s in pairs(live) do
      local w = polls[id]
      if w ~= nil then interest(w, events_of(s)) end
    end
    for id, s in pairs(live) do
      if polls[id] == nil then
        local w = self:watch(s)
        polls[id] = w
        interest(w, events_of(s))
      end
    end
  end
  self:arm()
end

-- close every handle; the tasks still pending stay in the scheduler (a
-- new driver, or openai.step, goes on with them). Idempotent.
function Driver:stop()
  if self.stopped then return end
  self.stopped = true
  if current == self then
    current = nil
    sched.on_runnable(nil)
  end
  for id, w in pairs(self.polls) do
    self.polls[id] = nil
    close(w.handle)
  end
  close(self.timer)
  close(self.prepare)
end

-- where an error raised by a task's on_done callback goes when the caller
-- named no handler: Neovim's own reporting (a scheduled error shows as an
-- error message, the editor goes on), else stderr; either way the loop
-- goes on (an error raised inside a luv callback would end the process)
local function default_on_error(err)
  local vim = G.vim
  if vim ~= nil and vim.schedule then
    vim.schedule(function() error(err, 0) end)
  else
    stderr:write("openai.luv: an on_done callback raised: ", tostring(err), "\n")
  end
end

-- start driving the engine from uv's loop (default: vim.uv / vim.loop in
-- Neovim, else require "luv"); the running driver when there is one.
-- opts.on_error(err): called with an error an on_done callback raised
-- (after the task's other callbacks ran); the loop goes on
function M.start(uv, opts)
  local on_error = opts and opts.on_error or default_on_error
  if type(on_error) ~= "function" then
    error("openai.luv.start: 'on_error' must be a function (got " .. type(on_error) .. ")", 2)
  end
  if current ~= nil then return current end
  uv = uv or default_uv()
  local d = setmetatable({ on_error = on_error,
    uv = uv, engine = sched.engine(), polls = {}, gen = nil,
    timer = uv.new_timer(), prepare = uv.new_prepare(),
    stopped = false, kicked = false, dispatching = false,
  }, Driver)
  d.on_timer = function() return d:act(nil, false, false) end
  d.prepare:start(function() d:sync() end)
  d.prepare:unref()             -- it re-syncs each turn, it keeps nothing alive
  current = d
  sched.on_runnable(function() d:kick() end)
  d:kick()                      -- tasks spawned before the driver started
  return d
end

-- the running driver, or nil
function M.driver()
  return current
end

return M
