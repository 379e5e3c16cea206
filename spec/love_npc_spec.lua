-- spec/love_npc_spec.lua: examples/love/npc, the villager who reads the
-- game's clock through a tool (run_tools) and whose lines come from
-- parse_stream, run in LÖVE on a virtual display (xvfb-run) against the
-- stand-in, which streams its answer slowly: the villager's partial object
-- changes over many frames, and the checked result arrives whole.
local H = require "support.helper"

local CORE = "build/luajit/openai/core.so"

local function sh_quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

describe("examples/love/npc", function()
  before_each(function()
    H.reset()
  end)

  it("speaks from the partial answer over many frames, then shows the checked villager", function()
    assert(io.open(CORE, "rb"), CORE .. " is missing: `make test` builds it (LÖVE runs LuaJIT)"):close()
    local villager = { name = "Ara", mood = "cheerful", lines = { "Fresh bread!", "Mind the oven.", "Bye now." } }
    H.script("/v1/chat/completions", {
      { tool_calls = { { id = "call_t", name = "time_of_day", arguments = "{}" } } },   -- looks at the clock
      {},                                                                           -- what it saw
      { answer = { content = villager, pieces = 4 }, sse_delay_ms = 10 },            -- then speaks
    })
    local cmd = table.concat({
      "env -u LD_PRELOAD -u ASAN_OPTIONS -u LSAN_OPTIONS -u UBSAN_OPTIONS -u LUA_PATH -u LUA_CPATH",
      "OPENAI_API_KEY=sk-local-npc OPENAI_BASE_URL=" .. sh_quote(H.base),
      "timeout -k 5 60 xvfb-run -a love examples/love/npc --quit-when-done 'a baker' </dev/null 2>&1; echo exit=$?",
    }, " ")
    local f = assert(io.popen(cmd, "r"))
    local out = f:read("*a")
    f:close()
    assert.matches("exit=0", out, 1, true)
    assert.matches("name=Ara mood=cheerful lines=3", out, 1, true)
    assert.matches("first_line=Fresh bread!", out, 1, true)
    local partials = tonumber(out:match("partials=(%d+)"))
    assert.is_true(partials ~= nil and partials > 10, out)   -- about 20 pieces arrive
    assert.is_true(H.last().json.response_format.json_schema.strict)
    -- the tool ran in the game and its answer went back to the model
    local reqs = H.requests()
    assert.equal(3, #reqs)
    assert.equal("time_of_day", reqs[1].json.tools[1]["function"].name)
    local told = reqs[2].json.messages[#reqs[2].json.messages]
    assert.equal("tool", told.role)
    assert.equal("call_t", told.tool_call_id)
    assert.matches("^it is %d+ o'clock$", told.content)
  end)
end)
