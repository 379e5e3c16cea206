-- openai.parallel: run functions as tasks on the one scheduler and wait
-- for all of them.
--
--   local results = openai.parallel({ f1, f2, ... }, { concurrency = 16 })
--   -- results[i] = { what fi returned... }, or { nil, err } if fi raised
--
-- It is openai.spawn for each function, in one group whose `concurrency`
-- bounds the transfers in flight (calls beyond it wait for a slot), then
-- openai.step until the group is done; inside a task it yields instead,
-- so batches nest. Retry waits run on the engine's timer.

local sched = require "openai.scheduler"

local type, error, tostring = type, error, tostring
local floor = math.floor

local _ENV = nil -- luacheck: ignore 211

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

  local nx = sched.ngx_tasks()   -- inside nginx: on ngx.thread light threads
  if nx then return nx.parallel(fns, concurrency) end

  local group = sched.group(concurrency)
  local tasks = {}
  for i = 1, n do tasks[i] = sched.spawn_in(group, fns[i]) end
  sched.wait_group(group)
  local results = {}
  for i = 1, n do results[i] = tasks[i].res end
  return results
end
