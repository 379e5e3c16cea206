-- spec/interrupt_spec.lua: Ctrl-C during a call. The standalone
-- interpreter's SIGINT handler sets a hook that raises "interrupted!" at the
-- next Lua instruction; a call waiting in C (retries, Retry-After waits)
-- must let it fire. Each case runs a child interpreter, sends it SIGINT
-- while its call waits between retries, and checks that it stopped soon
-- with the interrupt, not after all its retries.
local H = require "support.helper"
local socket = require "socket"

local LUA = jit and "luajit" or ("lua" .. _VERSION:sub(5))  -- luacheck: ignore 113
local CHAT = "/v1/chat/completions"

-- start `body` (Lua source; client in scope, max_retries = 5) in a child
-- interpreter (a simple command run in the background: $! is its own pid);
-- returns its pid and the file its output goes to. Under make check it
-- keeps ASan but not the leak check at its exit (what it prints is read)
local function start_child(body)
  local src = "package.path = " .. string.format("%q", package.path) .. "\n"
    .. "package.cpath = " .. string.format("%q", package.cpath) .. "\n"
    .. "local openai = require 'openai'\n"
    .. "local client = openai.new{ api_key = 'sk-test-SECRET-0123456789', base_url = "
    .. string.format("%q", H.base) .. ", max_retries = 5 }\n"
    .. "io.stdout:write('calling\\n'); io.stdout:flush()\n" .. body
  local path, out = H.tmpfile(src), os.tmpname()
  local p = assert(io.popen(("ASAN_OPTIONS=\"${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0\" "
    .. "%s %s >%s 2>&1 & echo $!"):format(LUA, path, out)))
  local pid = p:read("*l")
  p:close()
  return pid, out, path
end

local function alive(pid)
  return H.run("kill -0 " .. pid .. " 2>/dev/null")
end

-- run body, interrupt it 600 ms after its call started; its output and
-- the ms from SIGINT to its end
local function interrupt(body)
  local lua_pid, out, path = start_child(body)
  local deadline = socket.gettime() + 10
  while not (H.read_file(out) or ""):find("calling", 1, true) and socket.gettime() < deadline do
    socket.sleep(0.02)
  end
  socket.sleep(0.6)                              -- the first attempt failed; a retry wait runs
  local t0 = H.now()
  assert(H.run("kill -INT " .. lua_pid))
  while alive(lua_pid) and H.now() - t0 < 12000 do socket.sleep(0.01) end
  local ms = H.now() - t0
  if alive(lua_pid) then H.run("kill -KILL " .. lua_pid) end
  local text = H.read_file(out) or ""
  os.remove(out)
  os.remove(path)
  return text, ms
end

describe("Ctrl-C during a call", function()
  before_each(function()
    H.reset()
    local answers = {}
    for i = 1, 6 do answers[i] = { status = 500, headers = { ["retry-after"] = "2" } } end
    H.script(CHAT, answers)
  end)

  local cases = {
    { "a plain call", "client:chat{ messages = { { role = 'user', content = 'hi' } } }" },
    { "a call with options (debug)",
      "client:chat{ messages = { { role = 'user', content = 'hi' } }, debug = true }" },
    { "openai.parallel",
      "openai.parallel({ function() return client:chat{ messages = { { role = 'user', content = 'a' } } } end,"
      .. " function() return client:chat{ messages = { { role = 'user', content = 'b' } } } end })" },
  }
  for _, case in ipairs(cases) do
    it("stops " .. case[1] .. " waiting to retry, and the interrupt propagates", function()
      local text, ms = interrupt("local r = " .. case[2] .. "\nprint('returned')\n")
      assert.matches("interrupted!", text, 1, true)
      assert.is_nil(text:find("returned", 1, true), text)
      assert.is_true(ms < 3000, case[1] .. " went on for " .. ms .. " ms after SIGINT")
    end)
  end
end)
