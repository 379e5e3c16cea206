-- spec/hosts/love/main.lua: a headless LÖVE program that makes calls from
-- its frames and reports whether the frames kept coming (spec/hosts/proof.lua
-- has the scenarios and the output). Quits by itself when they are done, or
-- after OPENAI_HOST_LIMIT_S seconds (default 30) whatever happens.
--
--   OPENAI_STANDIN_URL=http://127.0.0.1:PORT love spec/hosts/love
--
-- The module comes from the checkout: lua/ and the LuaJIT build of the core
-- (build/luajit/openai/core.so, or OPENAI_CPATH); OPENAI_ROOT is the checkout
-- (default: three levels above this directory).

local root = os.getenv("OPENAI_ROOT") or (love.filesystem.getSource() .. "/../../..")
package.path = root .. "/lua/?.lua;" .. root .. "/spec/hosts/?.lua;" .. package.path
package.cpath = (os.getenv("OPENAI_CPATH") or root .. "/build/luajit/?.so") .. ";" .. package.cpath

local proof = require "proof"

local LIMIT_S = tonumber(os.getenv("OPENAI_HOST_LIMIT_S") or "") or 30

local runner
local started

local function quit(code)
  io.stdout:flush()
  love.event.quit(code)
end

function love.load()
  started = love.timer.getTime()
  proof.put("love_version", string.format("%d.%d", love.getVersion()))
  proof.put("love_lua", jit and jit.version or _VERSION)
  runner = proof.runner("love", function() return love.timer.getTime() * 1000 end)
end

-- one frame: measure, then openai.step(0) (runner.pump), which never blocks
function love.update()
  local ok, finished = pcall(runner.tick)
  if not ok then
    proof.put("love_error", (tostring(finished):gsub("[\r\n]", " ")))
    return quit(1)
  end
  if finished then
    proof.put("love_done", 1)
    return quit(0)
  end
  runner.pump()
  if love.timer.getTime() - started > LIMIT_S then
    proof.put("love_error", "gave up after " .. LIMIT_S .. " s")
    return quit(1)
  end
end
