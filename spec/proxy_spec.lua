-- spec/proxy_spec.lua: proxy and no_proxy on openai.new.
local H = require "support.helper"

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

  it("refuses a proxy that is not a proxy URL, never showing it (it may hold a password)", function()
    local openai = require "openai"
    local cases = { 3, "", "host:8080", "ftp://h", "http://user:pw@h x", "http://user:pw@h\n" }
    for _, v in ipairs(cases) do
      local msg = H.raises(openai.new, { api_key = H.key, proxy = v })
      assert.equal(1, msg:find("openai.new: 'proxy' must ", 1, true), msg)
      assert.falsy(msg:find("pw", 1, true), msg)
    end
    assert.equal("openai.new: 'no_proxy' must be a non-empty string (got 1)",
                 H.raises(openai.new, { api_key = H.key, no_proxy = 1 }))
  end)
end)
