-- Security: the API key goes only to the configured host, nothing can be
-- smuggled into the request line or headers, redirects are not followed,
-- and the key never shows in an error or a debug line.

local H = require "support.helper"
local openai = require "openai"

-- every string a user could see of a failed call: tostring(err) and each
-- string field of err
local function visible(err)
  local out = { tostring(err) }
  for k, v in pairs(err) do
    if type(v) == "string" then out[#out + 1] = k .. "=" .. v end
  end
  return out
end

local function assert_no_key(strings, what)
  for _, s in ipairs(strings) do
    assert.falsy(s:find(H.key, 1, true), what .. ": the key in " .. s)
  end
end

describe("security", function()
  local client

  before_each(function()
    H.reset()
    client = H.client()
  end)

  it("refuses a raw url that is not a safe path, naming 'url', sending nothing", function()
    local bad = {
      "https://evil.example/x", "http://127.0.0.1:1/x", "HTTPS://evil.example/x",
      "//evil.example/x", "/\\evil", "\\\\evil.example/x", "/@evil.example",
      "v1/models", "evil.example:443/x", "", "/v1/../x", "/v1/%2e%2e/x", "/v1/%2E/x",
      "/v1/models/..", "/%2F%2Fevil.example/x", "/v1/models%0d%0aX-Injected: 1",
      "/v1/models%0D%0AX-Injected:%201", "/v1/models\r\nX: y", "/v1/models\n",
      "/v1/mod els", "/v1/models\t", "/v1/x#frag", "/v1/%00", "/v1/models\0",
      "/v1/%zz", "/v1/é",
    }
    for _, url in ipairs(bad) do
      local msg = H.raises(client.request, client, { url = url })
      assert.truthy(msg:find("openai.request: 'url'", 1, true), ("%q -> %s"):format(url, msg))
      assert.falsy(msg:find("[\r\n]"), ("%q -> %s"):format(url, msg))
    end
    assert.equal(0, #H.requests())
    assert.equal(0, H.stats().connections)
  end)

  it("refuses a non-string url, sending nothing", function()
    for _, url in ipairs({ 42, true, {} }) do
      local msg = H.raises(client.request, client, { url = url })
      assert.truthy(msg:find("openai.request: 'url'", 1, true), msg)
    end
    assert.equal(0, #H.requests())
  end)

  it("still takes ordinary paths with a query and escapes", function()
    for _, url in ipairs({ "/v1/echo", "/v1/echo?a=1&b=%20x", "/v1/models/ft%3Agpt-4o-mini%3Aacme%3Ademo%3Aabc123",
                           "/v1/echo?next=/v1/../x" }) do
      local _, err = client:request { url = url }
      assert.is_nil(err, url)
    end
    local reqs = H.requests()
    assert.equal(4, #reqs)
    assert.equal("/v1/echo", reqs[2].path)
    assert.same({ " x" }, reqs[2].params.b)
  end)

  it("refuses CR or LF in a header name or value, sending nothing", function()
    for _, h in ipairs({
      { ["X-A\r\nX-Injected"] = "1" }, { ["X-A\n"] = "1" }, { ["X A"] = "1" }, { ["X-A:"] = "1" },
      { ["X-B"] = "v\r\nX-Injected: 1" }, { ["X-B"] = "v\n" }, { ["X-B"] = "v\r" },
      { ["X-B"] = "v\0w" },
    }) do
      local name = next(h)
      local msg = H.raises(client.request, client, { url = "/v1/echo", headers = h })
      assert.truthy(msg:find("openai.request: 'headers", 1, true), msg)
      assert.falsy(msg:find("[\r\n]"), msg)
      msg = H.raises(client.models, client, { headers = h })
      assert.truthy(msg:find("openai.models: 'headers", 1, true), ("%q: %s"):format(name, msg))
    end
    local msg = H.raises(H.client, { headers = { ["X-C"] = "a\r\nb" } })
    assert.truthy(msg:find("openai.new: 'headers", 1, true), msg)
    assert.equal(0, #H.requests())
  end)

  it("refuses CR or LF in the key, organization and project", function()
    local msg = H.raises(openai.new, { api_key = "sk-x\r\nX-Injected: 1", base_url = H.base })
    assert.truthy(msg:find("openai.new: 'api_key'", 1, true), msg)
    msg = H.raises(openai.new, { api_key = H.key, organization = "org\nX: 1", base_url = H.base })
    assert.truthy(msg:find("'organization'", 1, true), msg)
    msg = H.raises(openai.new, { api_key = H.key, project = "p\r", base_url = H.base })
    assert.truthy(msg:find("'project'", 1, true), msg)
    assert.falsy(msg:find(H.key, 1, true), msg)
    assert.equal(0, #H.requests())
  end)

  it("does not follow a redirect (raw request)", function()
    H.script("/v1/models", { { status = 302, body = "",
                               headers = { location = "/v1/echo" } } })
    local res, err, meta = client:request()
    assert.is_nil(res)
    assert.equal("api", err.kind)
    assert.equal(302, err.status)
    assert.equal(302, meta.status)
    assert.equal("/v1/echo", meta.headers["location"])
    local reqs = H.requests()
    assert.equal(1, #reqs)
    assert.equal("/v1/models", reqs[1].path)
  end)

  it("does not follow a redirect to another host (typed action), even with retries", function()
    local elsewhere = H.url:gsub("127%.0%.0%.1", "localhost") .. "/v1/echo"
    H.script("/v1/models", { { status = 307, body = "", headers = { location = elsewhere } } })
    local res, err = client:models()
    assert.is_nil(res)
    assert.equal("api", err.kind)
    assert.equal(307, err.status)
    assert.equal(1, err.attempts)
    local moved = { status = 301, body = "", headers = { location = elsewhere } }
    H.script("/v1/models", { moved, moved })
    res, err = client:request { max_retries = 1, retry_on_all_errors = true, retry_delay = 10 }
    assert.is_nil(res)
    assert.equal(301, err.status)
    -- retried on the configured URL only: never the Location
    for _, r in ipairs(H.requests()) do
      assert.equal("/v1/models", r.path)
    end
    assert.equal(3, #H.requests())
  end)

  it("never shows the key for an api error, even when the server echoes it", function()
    local lines = {}
    local c = H.client { logger = function(l) lines[#lines + 1] = l end }
    H.script("/v1/models", { { status = 401, json = { error = {
      message = "Incorrect API key provided: " .. H.key, type = "invalid_request_error",
      code = "invalid_api_key", param = H.key } },
      headers = { ["x-request-id"] = "req_" .. H.key } } })
    local _, err = c:models { debug = true }
    assert.equal("api", err.kind)
    assert.is_true(#lines >= 2)
    assert_no_key(visible(err), "api error")
    assert_no_key(lines, "debug line")
  end)

  it("never shows the key for a decode error whose body holds it", function()
    local lines = {}
    local c = H.client { logger = function(l) lines[#lines + 1] = l end }
    H.script("/v1/models", { { status = 200, body = "oops " .. H.key } })
    local _, err = c:models { debug = true }
    assert.equal("decode", err.kind)
    assert_no_key(visible(err), "decode error")
    assert_no_key(lines, "debug line")
    H.script("/v1/models", { { status = 200, body = H.key } })
    _, err = c:models { debug = true }
    assert.equal("decode", err.kind)
    assert_no_key(visible(err), "decode error")
    assert_no_key(lines, "debug line")
  end)

  it("never shows the key for a timeout", function()
    local lines = {}
    local c = H.client { logger = function(l) lines[#lines + 1] = l end }
    H.script("/v1/models", { { fault = "hang", hang_ms = 3000 } })
    local _, err = c:models { debug = true, timeout = 150, max_retries = 0 }
    assert.equal("timeout", err.kind)
    assert.is_true(#lines >= 2)
    assert_no_key(visible(err), "timeout")
    assert_no_key(lines, "debug line")
  end)

  it("never shows the key for a connection error", function()
    local lines = {}
    local c = H.client { base_url = H.closed_port_url(),
                         logger = function(l) lines[#lines + 1] = l end }
    local _, err = c:request { debug = true }
    assert.equal("connection", err.kind)
    assert.is_true(#lines >= 2)
    assert_no_key(visible(err), "connection error")
    assert_no_key(lines, "debug line")
  end)

  it("redacts api-key, cookie and authorization headers in debug lines", function()
    local lines = {}
    local c = H.client { logger = function(l) lines[#lines + 1] = l end }
    local _, err = c:request { url = "/v1/echo", debug = true, headers = {
      ["api-key"] = "azure-secret-1", Cookie = "session=cookie-secret-2",
      ["Proxy-Authorization"] = "Basic proxy-secret-3",
    } }
    assert.is_nil(err)
    local all = table.concat(lines, "\n")
    for _, s in ipairs({ "azure-secret-1", "cookie-secret-2", "proxy-secret-3", H.key }) do
      assert.falsy(all:find(s, 1, true), s .. " in\n" .. all)
    end
    assert.truthy(all:lower():find("api-key: [redacted]", 1, true), all)
    assert.truthy(all:lower():find("cookie: [redacted]", 1, true), all)
    -- the headers did go to the server
    assert.equal("azure-secret-1", H.last().headers["api-key"])
  end)

  it("does not put the key in tostring(client)", function()
    assert.falsy(tostring(client):find(H.key, 1, true))
  end)

  it("escapes a model id as one path segment", function()
    local _, err = client:model("../x")
    assert.equal("api", err.kind)
    assert.equal(404, err.status)
    assert.equal("/v1/models/..%2Fx", H.last().path)
    assert.equal(1, #H.requests())
  end)
end)
