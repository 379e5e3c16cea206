-- spec/proxy_spec.lua: proxy and no_proxy on openai.new.
local H = require "support.helper"

local function sh_quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

-- what a fresh interpreter of the suite's Lua prints running code, with
-- every proxy variable of libcurl's environment set to a dead proxy
local function run_with_dead_proxy(code)
  local dead = H.closed_port_url():match("^(http://[^/]+)")
  local words = { "env", "-u", "no_proxy", "-u", "NO_PROXY",
                  "http_proxy=" .. dead, "HTTPS_PROXY=" .. dead, "https_proxy=" .. dead,
                  "ALL_PROXY=" .. dead, "all_proxy=" .. dead,
                  "LUA_PATH=" .. sh_quote(os.getenv("LUA_PATH") or package.path),
                  "LUA_CPATH=" .. sh_quote(os.getenv("LUA_CPATH") or package.cpath),
                  sh_quote(H.lua), "-e", sh_quote(code), "2>&1" }
  local f = assert(io.popen(table.concat(words, " ")))
  local out = f:read("*a")
  f:close()
  return out
end

describe("proxy", function()
  before_each(function()
    H.reset()
  end)

  it("proxy = sends every call through that HTTP proxy (absolute-form request target)", function()
    local c = H.client { base_url = "http://api.example.invalid/v1", proxy = H.url }
    local res, err = c:models()
    assert.is_nil(err)
    assert.equal(4, #res.data)
    local rec = H.last()
    assert.equal("http://api.example.invalid/v1/models", rec.target)
    assert.equal("/v1/models", rec.path)
  end)

  it("no_proxy = hosts that are reached directly", function()
    local dead = H.closed_port_url():match("^(http://[^/]+)")
    local c = H.client { proxy = dead, no_proxy = "127.0.0.1,localhost" }
    local res, err = c:models()
    assert.is_nil(err)
    assert.equal(4, #res.data)
    assert.equal("/v1/models", H.last().target)
  end)

  it("proxy = \"\" turns every proxy off, the environment's http_proxy/https_proxy too", function()
    local code = ([[
      local openai = require "openai"
      local function try(opts)
        local c = openai.new(opts)
        local res, err = c:models()
        io.write(res and "ok" or err.kind, " ")
      end
      try{ api_key = "%s", base_url = "%s", max_retries = 0 }
      try{ api_key = "%s", base_url = "%s", max_retries = 0, proxy = "" }
    ]]):format(H.key, H.base, H.key, H.base)
    -- the first client goes through the environment's dead proxy, the second does not
    assert.equal("connection ok ", run_with_dead_proxy(code))
  end)

  it("refuses a proxy that is not a proxy URL, never showing it (it may hold a password)", function()
    local openai = require "openai"
    local cases = { 3, "host:8080", "ftp://h", "http://user:pw@h x", "http://user:pw@h\n" }
    for _, v in ipairs(cases) do
      local msg = H.raises(openai.new, { api_key = H.key, proxy = v })
      assert.equal(1, msg:find("openai.new: 'proxy' must ", 1, true), msg)
      assert.falsy(msg:find("pw", 1, true), msg)
    end
    assert.equal("openai.new: 'no_proxy' must be a non-empty string (got 1)",
                 H.raises(openai.new, { api_key = H.key, no_proxy = 1 }))
  end)
end)
