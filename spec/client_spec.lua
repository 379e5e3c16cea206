-- spec/client_spec.lua: openai.new options, environment defaults, the
-- default client of the module functions, headers, keep-alive, Azure mode.
local H = require "support.helper"
local openai = require "openai"

local MSGS = { { role = "user", content = "hi" } }

-- a shell word holding s exactly
local function sh_quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

-- run Lua code in a fresh process of the Lua running the suite, with the
-- given environment (the OPENAI_* variables are cleared first); returns its
-- output (stdout and stderr)
local function run_lua(env, code)
  local words = { "env", "-u", "OPENAI_API_KEY", "-u", "OPENAI_BASE_URL",
                  "-u", "OPENAI_ORG_ID", "-u", "OPENAI_PROJECT_ID",
                  "LUA_PATH=" .. sh_quote(os.getenv("LUA_PATH") or package.path),
                  "LUA_CPATH=" .. sh_quote(os.getenv("LUA_CPATH") or package.cpath) }
  local names = {}
  for k in pairs(env) do names[#names + 1] = k end
  table.sort(names)
  for _, k in ipairs(names) do words[#words + 1] = k .. "=" .. sh_quote(env[k]) end
  words[#words + 1] = sh_quote(H.lua) .. " -e " .. sh_quote(code) .. " 2>&1"
  local f = assert(io.popen(table.concat(words, " ")))
  local out = f:read("*a")  -- "*a": 5.1 and LuaJIT need the star
  f:close()
  return out
end

-- the value of a header in a record's header list, and how often it came
local function header(rec, name)
  local value, count = nil, 0
  for _, h in ipairs(rec.header_list) do
    if h[1]:lower() == name:lower() then value, count = h[2], count + 1 end
  end
  return value, count
end

describe("openai.new", function()
  before_each(function()
    H.reset()
  end)

  describe("headers of every request", function()
    it("sends Authorization: Bearer <key>", function()
      local c = H.client({ api_key = "sk-abc123" })
      local res, err = c:request({ url = "/v1/echo" })
      assert.is_nil(err)
      assert.is_table(res)
      local rec = H.last()
      assert.equal("Bearer sk-abc123", rec.headers["authorization"])
      local _, n = header(rec, "authorization")
      assert.equal(1, n)
    end)

    it("sends OpenAI-Organization and OpenAI-Project only when set", function()
      local c = H.client()
      assert.is_table((c:models()))
      local rec = H.last()
      assert.is_nil(rec.headers["openai-organization"])
      assert.is_nil(rec.headers["openai-project"])

      local c2 = H.client({ organization = "org-123", project = "proj_456" })
      assert.is_table((c2:models()))
      rec = H.last()
      assert.equal("org-123", rec.headers["openai-organization"])
      assert.equal("proj_456", rec.headers["openai-project"])
      local _, n = header(rec, "openai-organization")
      assert.equal(1, n)
    end)

    it("treats an empty organization or project as not set", function()
      local c = H.client({ organization = "", project = "" })
      assert.is_table((c:models()))
      local rec = H.last()
      assert.is_nil(rec.headers["openai-organization"])
      assert.is_nil(rec.headers["openai-project"])
    end)

    it("sends Accept: application/json on plain calls with and without a body", function()
      local c = H.client()
      assert.is_table((c:models()))
      assert.equal("application/json", H.last().headers["accept"])
      assert.is_table((c:chat({ messages = MSGS })))
      assert.equal("application/json", H.last().headers["accept"])
    end)

    it("sends Content-Type: application/json on bodies only", function()
      local c = H.client()
      assert.is_table((c:chat({ messages = MSGS })))
      local rec = H.last()
      assert.equal("POST", rec.method)
      assert.equal("application/json", rec.headers["content-type"])
      assert.is_true(#H.body_bytes(rec) > 0)

      assert.is_table((c:models()))
      rec = H.last()
      assert.equal("GET", rec.method)
      assert.is_nil(rec.headers["content-type"])
      assert.equal("", H.body_bytes(rec))

      assert.is_table((c:model("gpt-4.1")))
      assert.is_nil(H.last().headers["content-type"])
    end)

    it("sends a User-Agent naming openai-lua, its version, the Lua (or LuaJIT) version and libcurl", function()
      local c = H.client()
      assert.is_table((c:models()))
      local ua = H.last().headers["user-agent"]
      assert.is_string(ua)
      assert.is_string(openai.VERSION)
      assert.truthy(openai.VERSION:match("^%d+%.%d+%.%d+"))
      assert.is_string(openai.curl_version)
      assert.truthy(openai.curl_version:match("^%d+%.%d+"))
      assert.truthy(ua:find("openai-lua/" .. openai.VERSION, 1, true), ua)
      assert.truthy(ua:find(jit and jit.version or _VERSION, 1, true), ua)  -- "LuaJIT 2.1..." or "Lua 5.x"
      assert.truthy(ua:find("libcurl/" .. openai.curl_version, 1, true), ua)
      assert.equal(1, select(2, header(H.last(), "user-agent")))
    end)
  end)

  describe("base_url", function()
    it("tolerates a trailing slash", function()
      for _, base in ipairs({ H.base .. "/", H.base .. "//" }) do
        H.reset()
        local c = H.client({ base_url = base })
        local res, err = c:models()
        assert.is_nil(err)
        assert.equal("list", res.object)
        assert.equal("/v1/models", H.last().path)
        assert.is_table((c:chat({ messages = MSGS })))
        assert.equal("/v1/chat/completions", H.last().path)
      end
    end)

    it("defaults to https://api.openai.com/v1", function()
      local c = openai.new({ api_key = "sk-x" })
      assert.equal("openai client (https://api.openai.com/v1)", tostring(c))
    end)

    it("refuses a value that is not an http(s) URL, naming 'base_url'", function()
      local cases = {
        { "ftp://example.com/v1", "openai.new: 'base_url' must be an http:// or https:// URL (got 'ftp://example.com/v1')" },
        { "localhost:8080", "openai.new: 'base_url' must be an http:// or https:// URL (got 'localhost:8080')" },
        { "http://", "openai.new: 'base_url' must be an http:// or https:// URL (got 'http://')" },
        { "http://exa mple.com/v1", "openai.new: 'base_url' must be an http:// or https:// URL (got 'http://exa mple.com/v1')" },
        { 5, "openai.new: 'base_url' must be a non-empty string (got 5)" },
        { "http://x/\r\nX-Evil: 1", "openai.new: 'base_url' must not contain NUL, CR or LF (got 'http://x/??X-Evil: 1')" },
      }
      for _, case in ipairs(cases) do
        assert.equal(case[2], H.raises(H.client, { base_url = case[1] }))
      end
      assert.same({}, H.requests())
    end)
  end)

  describe("api_key", function()
    it("is required: missing or empty raises an error naming 'api_key'", function()
      local e1 = H.raises(openai.new, {})
      assert.truthy(e1:find("^openai%.new: 'api_key' is required"), e1)
      local e2 = H.raises(openai.new, { api_key = "", base_url = H.base })
      assert.truthy(e2:find("^openai%.new: 'api_key' is required"), e2)
      local e3 = H.raises(openai.new)
      assert.truthy(e3:find("'api_key'", 1, true), e3)
      assert.same({}, H.requests())
    end)

    it("refuses a key with CR or LF, naming 'api_key' and not showing the key", function()
      local e = H.raises(openai.new, { api_key = "sk-abc\r\nX-Evil: 1", base_url = H.base })
      assert.equal("openai.new: 'api_key' must not contain NUL, CR or LF (got a hidden string)", e)
      local e2 = H.raises(openai.new, { api_key = 42, base_url = H.base })
      assert.equal("openai.new: 'api_key' must be a non-empty string (got 42)", e2)
    end)

    it("api_key = false sends no Authorization header", function()
      local c = openai.new({ api_key = false, base_url = H.base })
      local res, err = c:request({ url = "/v1/echo" })
      assert.is_nil(err)
      assert.is_nil(res.headers["authorization"])
      local rec = H.last()
      assert.is_nil(rec.headers["authorization"])
      assert.is_nil(rec.headers["api-key"])
      -- the canned API answers 401 without a key: the call reports it
      local res2, err2, meta2 = c:models()
      assert.is_nil(res2)
      assert.equal("api", err2.kind)
      assert.equal(401, err2.status)
      assert.equal(401, meta2.status)
      assert.is_nil(H.last().headers["authorization"])
    end)
  end)

  describe("option checks", function()
    local cases = {
      { { timeout = 0 }, "openai.new: 'timeout' must be a whole number of milliseconds > 0 (got 0)" },
      { { timeout = -5 }, "openai.new: 'timeout' must be a whole number of milliseconds > 0 (got -5)" },
      { { timeout = 1.5 }, "openai.new: 'timeout' must be a whole number of milliseconds > 0 (got 1.5)" },
      { { timeout = "10000" }, "openai.new: 'timeout' must be a whole number of milliseconds > 0 (got '10000')" },
      { { timeout = 0 / 0 }, "openai.new: 'timeout' must be a whole number of milliseconds > 0 (got nan)" },
      { { max_retries = -1 }, "openai.new: 'max_retries' must be an integer from 0 to 100 (got -1)" },
      { { max_retries = 1.5 }, "openai.new: 'max_retries' must be an integer from 0 to 100 (got 1.5)" },
      { { max_retries = "2" }, "openai.new: 'max_retries' must be an integer from 0 to 100 (got '2')" },
      { { headers = "X-A: 1" }, "openai.new: 'headers' must be a table (got 'X-A: 1')" },
      { { headers = { ["X-A"] = "a\r\nb" } }, "openai.new: 'headers.X-A' must not contain CR, LF or NUL (got 'a??b')" },
      { { headers = { ["X-A"] = "a\nX-Evil: 1" } }, "openai.new: 'headers.X-A' must not contain CR, LF or NUL (got 'a?X-Evil: 1')" },
      { { headers = { ["X-A"] = {} } }, "openai.new: 'headers.X-A' must be a string (got a table)" },
    }
    for _, case in ipairs(cases) do
      local k, v = next(case[1])
      it("refuses " .. k .. " = " .. (type(v) == "string" and ("%q"):format(v) or tostring(v)), function()
        assert.equal(case[2], H.raises(H.client, case[1]))
        assert.same({}, H.requests())
      end)
    end

    it("refuses a bad header name, naming 'headers'", function()
      for _, name in ipairs({ "X A", "X:A", "X\r\nA", "" }) do
        local e = H.raises(H.client, { headers = { [name] = "v" } })
        assert.truthy(e:find("^openai%.new: 'headers' has a header name that "), e)
      end
      local e = H.raises(H.client, { headers = { "positional" } })
      assert.truthy(e:find("^openai%.new: 'headers' "), e)
      assert.same({}, H.requests())
    end)

    it("refuses opts that is not a table", function()
      assert.equal("openai.new: 'opts' must be a table (got 'not a table')", H.raises(openai.new, "not a table"))
    end)

    it("accepts max_retries 0 and a positive timeout", function()
      local c = H.client({ timeout = 2500, max_retries = 0 })
      local res, err, meta = c:models()
      assert.is_nil(err)
      assert.equal("list", res.object)
      assert.equal(1, meta.attempts)
    end)

    it("uses max_retries: a 500 is tried max_retries + 1 times", function()
      H.script("/v1/models", { { status = 500, headers = { ["retry-after-ms"] = "1" } },
                               { status = 500, headers = { ["retry-after-ms"] = "1" } },
                               { status = 500, headers = { ["retry-after-ms"] = "1" } } })
      local c = H.client({ max_retries = 1 })
      local res, err, meta = c:models()
      assert.is_nil(res)
      assert.equal(500, err.status)
      assert.equal(2, err.attempts)
      assert.equal(2, meta.attempts)
      assert.equal(2, #H.requests())
    end)
  end)

  describe("client headers", function()
    it("are sent on every call", function()
      local c = H.client({ headers = { ["X-Team"] = "blue", ["X-Trace"] = 7 } })
      assert.is_table((c:chat({ messages = MSGS })))
      assert.is_table((c:models()))
      assert.is_table((c:model("gpt-4.1")))
      assert.is_table((c:image({ prompt = "a cat" })))
      assert.is_table((c:response({ input = "hi" })))
      assert.is_table((c:request({ url = "/v1/echo" })))
      local reqs = H.requests()
      assert.equal(6, #reqs)
      for _, rec in ipairs(reqs) do
        assert.equal("blue", rec.headers["x-team"])
        assert.equal("7", rec.headers["x-trace"])
        assert.equal(1, select(2, header(rec, "x-team")))
        assert.equal("Bearer " .. H.key, rec.headers["authorization"])
      end
    end)

    it("replace the library's own header of the same name", function()
      local c = H.client({ headers = { ["user-agent"] = "myapp/2.0" } })
      assert.is_table((c:models()))
      local rec = H.last()
      local ua, n = header(rec, "User-Agent")
      assert.equal("myapp/2.0", ua)
      assert.equal(1, n)
    end)

    it("are overridden by a per-call header of the same name (any case)", function()
      local c = H.client({ headers = { ["X-Team"] = "blue", ["X-Keep"] = "k" } })
      assert.is_table((c:chat({ messages = MSGS, headers = { ["x-team"] = "red" } })))
      local rec = H.last()
      local v, n = header(rec, "X-Team")
      assert.equal("red", v)
      assert.equal(1, n)
      assert.equal("k", rec.headers["x-keep"])
      assert.is_nil(rec.json.headers)

      assert.is_table((c:models({ headers = { ["X-TEAM"] = "green" } })))
      v, n = header(H.last(), "x-team")
      assert.equal("green", v)
      assert.equal(1, n)

      -- the next call without per-call headers is back to the client's
      assert.is_table((c:models()))
      assert.equal("blue", H.last().headers["x-team"])
    end)

    it("a per-call header can replace Authorization", function()
      local c = H.client()
      assert.is_table((c:request({ url = "/v1/echo", headers = { Authorization = "Bearer sk-other" } })))
      local v, n = header(H.last(), "authorization")
      assert.equal("Bearer sk-other", v)
      assert.equal(1, n)
    end)

    it("a per-call header with CR/LF raises naming it, and nothing is sent", function()
      local c = H.client()
      local e = H.raises(c.chat, c, { messages = MSGS, headers = { ["X-A"] = "1\r\nX-Evil: 2" } })
      assert.equal("openai.chat: 'headers.X-A' must not contain CR, LF or NUL (got '1??X-Evil: 2')", e)
      local e2 = H.raises(c.models, c, { headers = { ["Bad Name"] = "1" } })
      assert.truthy(e2:find("^openai%.models: 'headers' has a header name that "), e2)
      assert.same({}, H.requests())
    end)
  end)

  describe("environment defaults (subprocess)", function()
    it("reads OPENAI_API_KEY, OPENAI_BASE_URL, OPENAI_ORG_ID, OPENAI_PROJECT_ID", function()
      local out = run_lua({
        OPENAI_API_KEY = "sk-env", OPENAI_BASE_URL = H.base .. "/",
        OPENAI_ORG_ID = "org-env", OPENAI_PROJECT_ID = "proj-env",
      }, [[
        local openai = require "openai"
        local c = openai.new()
        local res, err, meta = c:models()
        print("status", meta and meta.status, res and res.object)
      ]])
      assert.truthy(out:find("status\t200\tlist", 1, true), out)
      local reqs = H.requests()
      assert.equal(1, #reqs)
      local rec = reqs[1]
      assert.equal("/v1/models", rec.path)
      assert.equal("Bearer sk-env", rec.headers["authorization"])
      assert.equal("org-env", rec.headers["openai-organization"])
      assert.equal("proj-env", rec.headers["openai-project"])
    end)

    it("options given to openai.new win over the environment", function()
      local out = run_lua({
        OPENAI_API_KEY = "sk-env", OPENAI_BASE_URL = "http://127.0.0.1:1/v1",
        OPENAI_ORG_ID = "org-env", OPENAI_PROJECT_ID = "proj-env",
      }, ([[
        local openai = require "openai"
        local c = openai.new{ api_key = "sk-opt", base_url = %q, organization = "org-opt",
                              project = "proj-opt" }
        local res, err, meta = c:models()
        print("status", meta and meta.status)
      ]]):format(H.base))
      assert.truthy(out:find("status\t200", 1, true), out)
      local rec = H.last()
      assert.equal("Bearer sk-opt", rec.headers["authorization"])
      assert.equal("org-opt", rec.headers["openai-organization"])
      assert.equal("proj-opt", rec.headers["openai-project"])
    end)

    it("without OPENAI_API_KEY, openai.new() and openai.chat{} raise naming 'api_key'", function()
      local out = run_lua({ OPENAI_BASE_URL = H.base }, [[
        local openai = require "openai"
        print("new", select(2, pcall(openai.new)))
        print("chat", select(2, pcall(openai.chat, { messages = { { role = "user", content = "hi" } } })))
      ]])
      assert.truthy(out:find("new\topenai.new: 'api_key' is required", 1, true), out)
      assert.truthy(out:find("chat\topenai.new: 'api_key' is required", 1, true), out)
      assert.same({}, H.requests())
    end)

    it("module functions use a default client built from the environment", function()
      local out = run_lua({
        OPENAI_API_KEY = "sk-env", OPENAI_BASE_URL = H.base, OPENAI_ORG_ID = "org-env",
      }, [[
        local openai = require "openai"
        local res, err, meta = openai.chat{ messages = { { role = "user", content = "hi" } } }
        print("chat", res and res.choices[1].message.content, meta and meta.status)
        local m = openai.models()
        print("models", m and m.object)
        local one = openai.model("gpt-4.1")
        print("model", one and one.id)
        print("same", openai.default_client() == openai.default_client())
      ]])
      assert.truthy(out:find("chat\tYou said: hi\t200", 1, true), out)
      assert.truthy(out:find("models\tlist", 1, true), out)
      assert.truthy(out:find("model\tgpt-4.1", 1, true), out)
      assert.truthy(out:find("same\ttrue", 1, true), out)
      local reqs = H.requests()
      assert.equal(3, #reqs)
      assert.equal("/v1/chat/completions", reqs[1].path)
      assert.equal("/v1/models", reqs[2].path)
      assert.equal("/v1/models/gpt-4.1", reqs[3].path)
      for _, rec in ipairs(reqs) do
        assert.equal("Bearer sk-env", rec.headers["authorization"])
        assert.equal("org-env", rec.headers["openai-organization"])
        assert.is_nil(rec.headers["openai-project"])
      end
    end)

    it("openai.configure{...} replaces the default client", function()
      local out = run_lua({
        OPENAI_API_KEY = "sk-env", OPENAI_BASE_URL = H.base, OPENAI_ORG_ID = "org-env",
      }, ([[
        local openai = require "openai"
        local a = openai.models()
        local c = openai.configure{ api_key = "sk-conf", base_url = %q, project = "proj-conf" }
        print("is_default", c == openai.default_client())
        local b = openai.models()
        print("ok", a and a.object, b and b.object)
      ]]):format(H.base .. "/"))
      assert.truthy(out:find("is_default\ttrue", 1, true), out)
      assert.truthy(out:find("ok\tlist\tlist", 1, true), out)
      local reqs = H.requests()
      assert.equal(2, #reqs)
      assert.equal("Bearer sk-env", reqs[1].headers["authorization"])
      assert.equal("org-env", reqs[1].headers["openai-organization"])
      assert.equal("Bearer sk-conf", reqs[2].headers["authorization"])
      -- configure builds a client from its options (the environment still fills the rest)
      assert.equal("proj-conf", reqs[2].headers["openai-project"])
    end)
  end)

  it("openai.configure{...} sets the client the module functions use (in process)", function()
    local c = openai.configure({ api_key = "sk-conf-in", base_url = H.base, headers = { ["X-Which"] = "conf" } })
    assert.equal(c, openai.default_client())
    local res, err, meta = openai.chat({ messages = MSGS })
    assert.is_nil(err)
    assert.equal("You said: hi", res.choices[1].message.content)
    assert.equal(200, meta.status)
    local rec = H.last()
    assert.equal("Bearer sk-conf-in", rec.headers["authorization"])
    assert.equal("conf", rec.headers["x-which"])
    openai.configure({ api_key = "sk-conf-2", base_url = H.base })
    assert.is_table((openai.models()))
    assert.equal("Bearer sk-conf-2", H.last().headers["authorization"])
    assert.is_nil(H.last().headers["x-which"])
  end)

  it("reuses one connection for sequential calls (keep-alive)", function()
    local c = H.client()
    assert.is_table((c:models()))
    assert.is_table((c:chat({ messages = MSGS })))
    assert.is_table((c:model("gpt-4.1")))
    assert.is_table((c:response({ input = "hi" })))
    assert.is_table((c:models()))
    local reqs = H.requests()
    assert.equal(5, #reqs)
    for _, rec in ipairs(reqs) do
      assert.equal(reqs[1].connection, rec.connection)
    end
    assert.equal(1, H.stats().connections)
  end)

  describe("Azure mode", function()
    local function azure_client(extra)
      local o = { base_url = H.url .. "/openai", azure = { api_version = "2024-10-21", deployment = "dep" } }
      for k, v in pairs(extra or {}) do o[k] = v end
      return H.client(o)
    end

    it("sends api-key, no Authorization, and chat goes to /deployments/<dep>/chat/completions", function()
      local c = azure_client()
      local res, err, meta = c:chat({ messages = MSGS })
      assert.is_nil(err)
      assert.equal(200, meta.status)
      assert.equal("You said: hi", res.choices[1].message.content)
      local rec = H.last()
      assert.equal("POST", rec.method)
      assert.equal("/openai/deployments/dep/chat/completions", rec.path)
      assert.equal(H.key, rec.headers["api-key"])
      assert.is_nil(rec.headers["authorization"])
      assert.same({ "2024-10-21" }, rec.params["api-version"])
      assert.equal("api-version=2024-10-21", rec.query)
    end)

    it("sends api-version on every request", function()
      local c = azure_client()
      assert.is_table((c:chat({ messages = MSGS })))
      assert.is_table((c:image({ prompt = "a cat" })))
      c:models()
      c:model("gpt-4.1")
      c:request({ url = "/echo", query = { a = "1" } })
      local reqs = H.requests()
      assert.equal(5, #reqs)
      for _, rec in ipairs(reqs) do
        assert.same({ "2024-10-21" }, rec.params["api-version"])
        assert.equal(H.key, rec.headers["api-key"])
        assert.is_nil(rec.headers["authorization"])
      end
      assert.equal("/openai/deployments/dep/images/generations", reqs[2].path)
      assert.equal("/openai/models", reqs[3].path)
      assert.equal("/openai/models/gpt-4.1", reqs[4].path)
      assert.equal("/openai/echo", reqs[5].path)
      assert.same({ "1" }, reqs[5].params["a"])
    end)

    it("escapes the deployment name as one path segment", function()
      local c = H.client({ base_url = H.url .. "/openai", azure = { api_version = "2024-10-21", deployment = "my dep/1" } })
      c:chat({ messages = MSGS })
      assert.equal("/openai/deployments/my%20dep%2F1/chat/completions", H.last().path)
    end)

    it("never lets a deployment of dots ('.', '..') reach another path", function()
      -- either refused naming 'azure.deployment', or sent escaped as one segment
      for _, case in ipairs({ { "..", "/openai/deployments/%2E%2E/chat/completions" },
                              { ".", "/openai/deployments/%2E/chat/completions" } }) do
        H.reset()
        local ok, cl = pcall(H.client, { base_url = H.url .. "/openai",
                                         azure = { api_version = "2024-10-21", deployment = case[1] } })
        if ok then
          cl:chat({ messages = MSGS })
          assert.equal(1, #H.requests())
          assert.equal(case[2], H.last().path)
        else
          assert.truthy(tostring(cl):find("^openai%.new: 'azure%.deployment' "), cl)
          assert.same({}, H.requests())
        end
      end
    end)

    it("requires azure.api_version", function()
      local e = H.raises(H.client, { azure = { deployment = "dep" } })
      assert.truthy(e:find("^openai%.new: 'azure%.api_version' must be a non%-empty string"), e)
      local e2 = H.raises(H.client, { azure = "yes" })
      assert.equal("openai.new: 'azure' must be a table (got 'yes')", e2)
    end)
  end)
end)
