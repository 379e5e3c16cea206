-- spec/hosts/nvim.lua: a `nvim --headless` script that makes calls while a
-- 50 ms vim.loop timer ticks, and reports the timer's longest gap during each
-- call (spec/hosts/proof.lua has the scenarios and the output). Exits by
-- itself when they are done, or after OPENAI_HOST_LIMIT_S seconds (default 30).
--
--   OPENAI_STANDIN_URL=http://127.0.0.1:PORT nvim --headless -u NONE -i NONE -n \
--     -c 'luafile spec/hosts/nvim.lua'
--
-- The module comes from the checkout (OPENAI_ROOT, default: two levels above
-- this file): lua/ and the LuaJIT build of the core (OPENAI_CPATH, default
-- build/luajit/?.so).

local uv = vim.loop

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local root = os.getenv("OPENAI_ROOT") or (here .. "/../..")
package.path = root .. "/lua/?.lua;" .. root .. "/spec/hosts/?.lua;" .. package.path
package.cpath = (os.getenv("OPENAI_CPATH") or root .. "/build/luajit/?.so") .. ";" .. package.cpath

local TICK_MS = 50
local LIMIT_S = tonumber(os.getenv("OPENAI_HOST_LIMIT_S") or "") or 30

local proof = require "proof"
proof.put("nvim_version", tostring(vim.version().major) .. "." .. vim.version().minor .. "."
          .. vim.version().patch)
proof.put("nvim_lua", jit and jit.version or _VERSION)

local timers = {}

local driver

local function exit(code)
  if driver then driver:stop() end
  for _, t in ipairs(timers) do
    if not t:is_closing() then t:stop(); t:close() end
  end
  io.stdout:flush()
  vim.schedule(function() vim.cmd((code == 0 and "qa!" or "cq! " .. code)) end)
end

local function every(ms, fn)
  local t = uv.new_timer()
  t:start(ms, ms, fn)
  timers[#timers + 1] = t
  return t
end

local ok, runner = pcall(proof.runner, "nvim", function() return uv.hrtime() / 1e6 end, "openai.luv")
if not ok then
  proof.put("nvim_error", runner)
  exit(1)
  return
end

-- the ticking timer: what the user sees (UI redraws, other plugins' timers)
every(TICK_MS, function()
  local fine, finished = pcall(runner.tick)
  if not fine then
    proof.put("nvim_error", (tostring(finished):gsub("[\r\n]", " ")))
    exit(1)
  elseif finished then
    proof.put("nvim_done", 1)
    exit(0)
  end
end)

-- the driver: openai.luv watches the engine's sockets with poll handles and
-- its timeout with a timer, on the editor's own loop
driver = require("openai.luv").start(uv)

-- bounded: give up after LIMIT_S whatever happens
local limit = uv.new_timer()
timers[#timers + 1] = limit
limit:start(LIMIT_S * 1000, 0, function()
  proof.put("nvim_error", "gave up after " .. LIMIT_S .. " s")
  exit(1)
end)
