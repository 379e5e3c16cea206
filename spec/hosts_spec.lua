-- spec/hosts_spec.lua: calls made inside real hosts' loops do not
-- stop those loops. A headless LÖVE 11 program (spec/hosts/love) and a
-- `nvim --headless` script (spec/hosts/nvim.lua) run against the stand-in,
-- each on LuaJIT with the checkout's LuaJIT core (build/luajit, built by
-- `make test`); spec/hosts/proof.lua says what they run and print. Both
-- hosts run at once (each has its own paths on the stand-in). Margins are
-- wide: a host whose loop froze for the call shows 1 tick and a 2 s gap.
local H = require "support.helper"

local CORE = "build/luajit/openai/core.so"
local LIMIT_S = 40      -- each host quits by itself long before; `timeout` is the backstop
local MODE = "pump"     -- calls as tasks ("block": made right in the tick, which freezes the host)

-- a shell word holding s exactly
local function sh_quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

-- start a host program in the background on the given scenarios; returns a
-- function that waits for it and returns its key=value lines as a table
-- (raw output in ._out). No display, no LUA_PATH meant for this Lua, and none
-- of `make check`'s sanitizer preload: the hosts are not built with it.
local function start(cmd, scenarios)
  local line = table.concat({
    "env -u LD_PRELOAD -u ASAN_OPTIONS -u LSAN_OPTIONS -u UBSAN_OPTIONS -u DISPLAY -u WAYLAND_DISPLAY",
    "-u LUA_PATH -u LUA_CPATH",
    "OPENAI_ROOT=\"$PWD\"", "OPENAI_STANDIN_URL=" .. sh_quote(H.url),
    "OPENAI_HOST_MODE=" .. MODE, "OPENAI_HOST_SCENARIOS=" .. sh_quote(scenarios),
    "OPENAI_HOST_LIMIT_S=" .. (LIMIT_S - 10),
    "timeout -k 5", LIMIT_S, cmd, "</dev/null 2>&1; echo exit=$?",
  }, " ")
  local f = assert(io.popen(line, "r"))
  local result
  return function()
    if result == nil then
      local out = f:read("*a")
      f:close()
      result = { _out = out }
      for k, v in ("\n" .. out):gmatch("\n([%w_]+)=([^\n]*)") do result[k] = v end
    end
    return result
  end
end

-- what a user checks of one scenario: the right answer, a call that really
-- lasted (the stand-in's 2 s), and ticks that kept coming meanwhile
local function check(r, key, min_ticks)
  local why = "\n" .. r._out
  assert.are.equal("0", r.exit, "the host did not end by itself" .. why)
  assert.are.equal("true", r[key .. "_ok"], "wrong answer" .. why)
  assert.is_true(tonumber(r[key .. "_ms"]) >= 1500, "the call did not last the stand-in's 2 s" .. why)
  assert.is_true(tonumber(r[key .. "_ticks"]) >= min_ticks, "the host's loop stalled during the call" .. why)
  assert.is_true(tonumber(r[key .. "_gap_ms"]) < 1000, "the host's loop froze during the call" .. why)
end

describe("inside a host's loop", function()
  local love, nvim

  setup(function()
    assert(io.open(CORE, "rb"), CORE .. " is missing: `make test` builds it (the hosts run LuaJIT)"):close()
    love = start("love spec/hosts/love", "call stream")
    nvim = start("nvim --headless -u NONE -i NONE -n -c " .. sh_quote("luafile spec/hosts/nvim.lua"), "call")
  end)

  teardown(function()
    if love then love() end     -- reap them even when a test failed early
    if nvim then nvim() end
  end)

  it("LÖVE (headless): frames keep coming during a 2 s call, which returns its answer", function()
    check(love(), "love_" .. MODE .. "_call", 20)
  end)

  it("LÖVE (headless): frames keep coming during a 200-event stream, which arrives whole", function()
    check(love(), "love_" .. MODE .. "_stream", 20)
  end)

  it("Neovim (headless): a 50 ms vim.loop timer keeps ticking during a 2 s call", function()
    check(nvim(), "nvim_" .. MODE .. "_call", 10)
  end)
end)
