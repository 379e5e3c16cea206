-- spec/checks_alloc_spec.lua: a check that passes allocates nothing (the
-- names of fields such as input[2] are built only to raise).
local endpoints = require "openai.endpoints"

-- KB allocated by n runs of f, the collector stopped. LuaJIT's compiler
-- is off meanwhile: its traces are objects of the collector too, and they
-- are not what a check allocates
local jit = rawget(_G, "jit")
local function allocated(n, f)
  f()                                  -- first run: the spec's own fields
  if jit then jit.off() end
  collectgarbage("collect")
  collectgarbage("stop")
  local before = collectgarbage("count")
  for _ = 1, n do f() end
  local after = collectgarbage("count")
  collectgarbage("restart")
  if jit then jit.on() end
  return after - before
end

describe("checks", function()
  local cases = {
    embeddings = { input = { "a", "b", "c", "d" }, model = "text-embedding-3-large", dimensions = 64 },
    moderation = { input = { "one", "two" } },
    speech = { input = "Hello", voice = "alloy", response_format = "wav", speed = 1.25 },
    create_batch = { input_file_id = "file-1", endpoint = "/v1/chat/completions", metadata = { a = "b" } },
    batches = {},
  }
  for name, p in pairs(cases) do
    it(name .. ": a passing check allocates nothing", function()
      local check = endpoints.BY_NAME[name].check
      local spec = { json = {} }
      local kb = allocated(2000, function() check("openai." .. name, p, spec) end)
      assert.is_true(kb < 1, name .. " allocated " .. kb .. " KB in 2000 runs")
    end)
  end

  it("a failing check names the field it builds", function()
    local check = endpoints.BY_NAME.embeddings.check
    local ok, err = pcall(check, "openai.embeddings", { input = { "a", "b", 3 < 2 } }, { json = {} })
    assert.is_false(ok)
    assert.equal("openai.embeddings: 'input[3]' must be a string, a token number or an array (got false)", err)
  end)
end)
