-- spec/key_provider_spec.lua: api_key as a function (a vault, a rotating
-- token) and Azure's token_provider (Microsoft Entra ID), over libcurl:
-- called for every attempt (the engine hands a retry back for a fresh key
-- line), each key checked and redacted like a key given to openai.new, and
-- a provider that fails fails the call with kind "auth".
local H = require "support.helper"
local openai = require "openai"

local KEY = "sk-" .. string.rep("Ab3dE", 9) .. "xyz"                        -- 51 characters
local LONG_KEY = "sk-proj-" .. string.rep("Zq7Wm2Xk9P", 15) .. "abcdef"     -- 164 characters
assert(#KEY == 51 and #LONG_KEY == 164)

-- a provider returning keys[1], keys[2], ... (the last one again after
-- that); calls() says how often it was called
local function provider(keys)
  local n = 0
  local function f()
    n = n + 1
    return keys[n] or keys[#keys]
  end
  return f, function() return n end
end

local function client(api_key, opts)
  local o = { api_key = api_key, base_url = H.base, max_retries = 2 }
  for k, v in pairs(opts or {}) do o[k] = v end
  return openai.new(o)
end

local function fail_once(path, status)
  H.script(path, { { status = status or 500, json = { error = { message = "try again" } } } })
end

local function auths()
  local out = {}
  for _, r in ipairs(H.requests()) do out[#out + 1] = r.headers.authorization end
  return out
end

describe("key providers (api_key as a function)", function()
  before_each(function() H.reset() end)

  it("calls it for each call's attempt, sending what it returns", function()
    local f, calls = provider({ KEY, LONG_KEY })
    local c = client(f)
    assert.is_nil(select(2, c:models()))
    assert.is_nil(select(2, c:chat{ messages = H.msgs() }))
    assert.equal(2, calls())
    assert.same({ "Bearer " .. KEY, "Bearer " .. LONG_KEY }, auths())
  end)

  it("calls it again before each retry: a retry carries a fresh key", function()
    local f, calls = provider({ KEY, LONG_KEY })
    fail_once("/v1/chat/completions")
    local res, err, meta = client(f):chat{ messages = H.msgs() }
    assert.is_nil(err)
    assert.equal("chat.completion", res.object)
    assert.equal(2, meta.attempts)
    assert.equal(2, calls())
    assert.same({ "Bearer " .. KEY, "Bearer " .. LONG_KEY }, auths())
  end)

  it("renews the key of a retry inside a task (openai.parallel) and of a stream", function()
    local f, calls = provider({ KEY, LONG_KEY, KEY, LONG_KEY })
    local c = client(f)
    fail_once("/v1/models", 503)
    local results = openai.parallel({ function() return c:models() end })
    assert.equal("list", results[1][1].object)
    assert.equal(2, calls())
    fail_once("/v1/chat/completions", 502)
    local s, err = c:chat_stream{ messages = H.msgs("a b") }
    assert.is_nil(err)
    assert.is_nil(select(2, s:result()))
    assert.equal(4, calls())
    assert.same({ "Bearer " .. KEY, "Bearer " .. LONG_KEY, "Bearer " .. KEY, "Bearer " .. LONG_KEY }, auths())
  end)

  it("renews it for a raw request's retries and a request with its own headers", function()
    local f, calls = provider({ KEY, LONG_KEY })
    fail_once("/v1/models")
    local res, err = client(f):request{ url = "/models", max_retries = 1, headers = { ["X-A"] = "1" } }
    assert.is_nil(err)
    assert.equal("list", res.object)
    assert.equal(2, calls())
    assert.same({ "Bearer " .. KEY, "Bearer " .. LONG_KEY }, auths())
  end)

  it("a provider that raises fails the call with kind auth, its words kept, every key redacted", function()
    local n = 0
    local c = client(function()
      n = n + 1
      if n == 1 then return LONG_KEY end
      error("vault sealed; last key was " .. LONG_KEY)
    end)
    fail_once("/v1/chat/completions")
    local res, err, meta = c:chat{ messages = H.msgs() }
    assert.is_nil(res)
    assert.equal("auth", err.kind)
    assert.equal("KeyProviderError", err.name)
    assert.matches("the api_key function raised an error: .*vault sealed", err.message)
    assert.matches("%[redacted%]", err.message)
    assert.is_nil(tostring(err):find(LONG_KEY:sub(10, 40), 1, true))
    assert.equal(1, #H.requests())
    assert.is_table(meta)
  end)

  it("a stream whose provider fails on its retry fails to open with kind auth", function()
    local n = 0
    local c = client(function()
      n = n + 1
      if n == 1 then return KEY end
      return false
    end)
    fail_once("/v1/chat/completions", 503)
    local s, err = c:chat_stream{ messages = H.msgs("a b") }
    assert.is_nil(s)
    assert.equal("auth", err.kind)
    assert.matches("returned a boolean", err.message, 1, true)
    assert.equal(1, #H.requests())
    assert.equal(0, H.live())
  end)

  it("a first call whose provider fails sends nothing", function()
    local c = client(function() error({ code = 7 }) end)
    local res, err = c:models()
    assert.is_nil(res)
    assert.equal("auth", err.kind)
    assert.equal(0, err.attempts)
    assert.equal(0, #H.requests())
  end)

  it("refuses what is not a key: not a string, empty, a header break", function()
    for _, bad in ipairs({ { 42, "returned a number" }, { nil, "returned a nil" },
                           { "", "returned an empty string" },
                           { KEY .. "\r\nX-Evil: 1", "returned a key that" } }) do
      local c = client(function() return bad[1] end)
      local res, err = c:chat{ messages = H.msgs() }
      assert.is_nil(res)
      assert.equal("auth", err.kind)
      assert.matches(bad[2], err.message, 1, true)
      assert.is_nil(tostring(err):find(KEY, 1, true))
    end
    assert.equal(0, #H.requests())
  end)

  it("redacts what it returned from errors, meta and debug lines", function()
    local lines = {}
    local c = client(function() return LONG_KEY end,
                     { debug = true, logger = function(l) lines[#lines + 1] = l end, max_retries = 0 })
    H.script("/v1/models", { { status = 401, echo_key = "KEYHERE",
                               json = { error = { message = "bad key KEYHERE" } },
                               headers = { ["x-echo"] = "KEYHERE" } } })
    local res, err, meta = c:models()
    assert.is_nil(res)
    assert.equal(401, err.status)
    assert.matches("bad key %[redacted%]", err.message)
    assert.equal("[redacted]", meta.headers["x-echo"])
    for _, l in ipairs(lines) do assert.is_nil(l:find(LONG_KEY, 1, true), l) end
    assert.is_nil(tostring(err):find(LONG_KEY, 1, true))
  end)

  it("remembers a bounded number of past keys for redaction", function()
    local n = 0
    local c = client(function()
      n = n + 1
      return ("sk-rotating-%04d-"):format(n) .. string.rep("x", 40)
    end, { max_retries = 0 })
    for _ = 1, 200 do assert.is_nil(select(2, c:models())) end
    local secret = require "openai.secret"
    local latest = ("sk-rotating-%04d-"):format(200) .. string.rep("x", 40)
    assert.equal("[redacted]", secret.redact(latest))
    assert.equal("sk-rotating-0001-" .. string.rep("x", 40),
                 secret.redact("sk-rotating-0001-" .. string.rep("x", 40)))
  end)
end)

describe("Azure with Microsoft Entra ID (azure.token_provider)", function()
  before_each(function() H.reset() end)

  local function azure(extra, api_key)
    return openai.new{ api_key = api_key, base_url = H.url .. "/openai", max_retries = 1,
                       azure = { api_version = "2024-10-21", deployment = "dep",
                                 token_provider = extra } }
  end

  it("sends Authorization: Bearer <token>, no api-key, renewed on a retry", function()
    local f, calls = provider({ LONG_KEY, KEY })
    H.script("/openai/deployments/dep/chat/completions",
             { { status = 500, json = { error = { message = "later" } } } })
    local res, err = azure(f):chat{ messages = H.msgs() }
    assert.is_nil(err)
    assert.equal("chat.completion", res.object)
    assert.equal(2, calls())
    local reqs = H.requests()
    assert.equal("Bearer " .. LONG_KEY, reqs[1].headers.authorization)
    assert.equal("Bearer " .. KEY, reqs[2].headers.authorization)
    assert.is_nil(reqs[2].headers["api-key"])
    assert.same({ "2024-10-21" }, reqs[2].params["api-version"])
  end)

  it("needs no api_key, refuses one beside it and a provider that is not a function", function()
    assert.matches("'api_key' cannot be combined with azure.token_provider",
                   H.raises(azure, function() return KEY end, KEY))
    assert.matches("'azure.token_provider' must be a function", H.raises(azure, "tok"))
  end)

  it("api_key as a function with Azure sends it as api-key", function()
    local c = openai.new{ api_key = function() return KEY end, base_url = H.url .. "/openai",
                          azure = { api_version = "2024-10-21", deployment = "dep" } }
    assert.is_nil(select(2, c:chat{ messages = H.msgs() }))
    assert.equal(KEY, H.last().headers["api-key"])
    assert.is_nil(H.last().headers.authorization)
  end)
end)
