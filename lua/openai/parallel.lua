-- openai.parallel: run functions as coroutines on the one engine.
--
--   local results = openai.parallel({ f1, f2, ... }, { concurrency = 16 })
--   -- results[i] = { what fi returned... }, or { nil, err } if fi raised
--
-- Each call of the module inside fi submits its transfer and yields; this
-- scheduler drives the engine (curl multi) and resumes the coroutines whose
-- transfers are ready. `concurrency` bounds the transfers in flight; calls
-- beyond it wait for a slot. Retry waits run on the engine's timer.

local transport = require "openai.transport"
local errors = require "openai.errors"

local type, select, pcall, error, tostring, pairs = type, select, pcall, error, tostring, pairs
local setmetatable = setmetatable
local create, resume, status = coroutine.create, coroutine.resume, coroutine.status
local floor = math.floor

local _ENV = nil -- luacheck: ignore 211

local WAIT, SLOT = transport.WAIT, transport.SLOT

local function pack(...)
  return { n = select("#", ...), ... }
end

-- what a function that raised leaves in its slot: an error object for our
-- own errors, else the raised value itself
local function failure(v)
  return { nil, v, n = 2 }
end

return function(fns, opts)
  if type(fns) ~= "table" then
    error("openai.parallel: 'fns' must be an array of functions (got " .. type(fns) .. ")", 0)
  end
  local n = #fns
  for i = 1, n do
    if type(fns[i]) ~= "function" then
      error("openai.parallel: 'fns[" .. i .. "]' must be a function (got " .. type(fns[i]) .. ")", 0)
    end
  end
  opts = opts or {}
  if type(opts) ~= "table" then
    error("openai.parallel: 'opts' must be a table (got " .. type(opts) .. ")", 0)
  end
  local concurrency = opts.concurrency or 16
  if type(concurrency) ~= "number" or concurrency ~= concurrency or concurrency < 1
     or concurrency > 100000 or floor(concurrency) ~= concurrency then
    error("openai.parallel: 'concurrency' must be an integer from 1 to 100000 (got "
          .. tostring(concurrency) .. ")", 0)
  end
  local state = transport.state
  if transport.current_sched() then
    error("openai.parallel: cannot be nested inside another openai.parallel", 0)
  end

  local sched = {
    cos = setmetatable({}, { __mode = "k" }),  -- coroutine -> index of its function
    owner = setmetatable({}, { __mode = "k" }), -- transfer -> coroutine that submitted it
    inflight = 0, concurrency = concurrency,
  }
  local results = {}
  local waiting = {}        -- transfer -> coroutine waiting on it
  local slotq, sq_head, sq_tail = {}, 1, 0   -- coroutines waiting for a slot
  local live = 0
  local nextfn = 1
  local engine = transport.engine()

  local function finish_co(co, slot)
    results[sched.cos[co]] = slot
    sched.cos[co] = nil
    live = live - 1
  end

  -- what a resumed coroutine did: finished, raised, or yielded a token
  local function settle(co, ok, ...)
    local a = ...
    if not ok then
      -- close what it left open, so its slots and connections come back
      for t, owner in pairs(sched.owner) do
        if owner == co then transport.finish(t) end
      end
      finish_co(co, failure(a))
    elseif status(co) == "dead" then
      finish_co(co, pack(...))
    elseif a == WAIT then
      waiting[select(2, ...)] = co
    elseif a == SLOT then
      sq_tail = sq_tail + 1
      slotq[sq_tail] = co
    else
      finish_co(co, failure(errors.new({ kind = "connection",
        message = "a function of openai.parallel yielded outside the library" })))
    end
  end

  local function step(co)
    settle(co, resume(co))
  end

  local prev = state.sched
  state.sched = sched
  local ok, err = pcall(function()
    while true do
      -- hand free slots to waiting calls, then start new functions
      while sq_head <= sq_tail and sched.inflight < concurrency do
        local co = slotq[sq_head]
        slotq[sq_head] = nil
        sq_head = sq_head + 1
        step(co)
      end
      while nextfn <= n and sched.inflight < concurrency and sq_head > sq_tail do
        local co = create(fns[nextfn])
        sched.cos[co] = nextfn
        nextfn = nextfn + 1
        live = live + 1
        step(co)
      end
      if live == 0 and nextfn > n then break end
      -- unless a slot came free while starting (then loop at once), drive
      -- the engine and resume the coroutines whose transfers are ready
      if not (sq_head <= sq_tail and sched.inflight < concurrency) then
        local ready = engine:step(-1)
        if ready then
          for i = 1, #ready do
            local t = ready[i]
            local co = waiting[t]
            if co and t:ready() then
              waiting[t] = nil
              step(co)
            end
          end
        end
      end
    end
  end)
  state.sched = prev
  if not ok then error(err, 0) end
  for i = 1, n do
    if results[i] == nil then results[i] = failure("openai.parallel: function did not finish") end
  end
  return results
end
