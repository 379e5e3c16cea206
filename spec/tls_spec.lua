-- spec/tls_spec.lua: trust and identity over libcurl: ca_file, ca_path,
-- client_cert / client_key (mutual TLS) against stand-ins speaking HTTPS
-- on loopback with certificates made now (spec/support/tls.lua); peer and
-- host verification stay on; bad paths are argument errors at openai.new.
local H = require "support.helper"
local tls = require "support.tls"
local openai = require "openai"

local KEY = "sk-" .. string.rep("Ab3dE", 9) .. "xyz"    -- 51 characters

describe("TLS options over libcurl", function()
  local pki, srv, mtls, other

  setup(function()
    pki = tls.make_pki()
    srv = tls.start(pki, "server")
    mtls = tls.start(pki, "server", { client_ca = true })
    other = tls.start(pki, "other_host")
  end)

  teardown(function()
    if srv then srv:stop() end
    if mtls then mtls:stop() end
    if other then other:stop() end
    if pki then tls.remove(pki) end
  end)

  local function client(url, opts)
    local o = { api_key = KEY, base_url = url, max_retries = 0, timeout = 5000 }
    for k, v in pairs(opts or {}) do o[k] = v end
    return openai.new(o)
  end

  local function models(c)
    return c:models()
  end

  it("refuses a server signed by a CA it does not trust, saying it is the certificate", function()
    local res, err = models(client(srv.url))
    assert.is_nil(res)
    assert.equals("connection", err.kind)
    assert.matches("certificate", err.message)
  end)

  it("trusts the CA of ca_file", function()
    local res, err = models(client(srv.url, { ca_file = pki.ca }))
    assert.is_nil(err)
    assert.equals("list", res.object)
    res, err = models(client(srv.localhost_url, { ca_file = pki.ca }))
    assert.is_nil(err)
    assert.equals("list", res.object)
  end)

  it("trusts the CAs of ca_path (a directory of hashed certificates)", function()
    local res, err = models(client(srv.url, { ca_path = pki.ca_path }))
    assert.is_nil(err)
    assert.equals("list", res.object)
  end)

  it("keeps verifying the host name: a trusted certificate for another host fails", function()
    local res, err = models(client(other.url, { ca_file = pki.ca }))
    assert.is_nil(res)
    assert.equals("connection", err.kind)
    assert.matches("127%.0%.0%.1", err.message)
  end)

  it("a trusted CA of one client does not leak into another client's calls", function()
    local good = client(srv.url, { ca_file = pki.ca })
    assert.is_nil(select(2, models(good)))
    local res, err = models(client(srv.url))
    assert.is_nil(res)
    assert.equals("connection", err.kind)
  end)

  it("a server requiring a client certificate fails without one", function()
    local res, err = models(client(mtls.url, { ca_file = pki.ca }))
    assert.is_nil(res)
    assert.truthy(err.kind == "connection", tostring(err))
  end)

  it("passes with client_cert and client_key, in a plain call and a stream", function()
    local c = client(mtls.url, { ca_file = pki.ca, client_cert = pki.client_cert,
                                 client_key = pki.client_key })
    local res, err = models(c)
    assert.is_nil(err)
    assert.equals("list", res.object)
    local s = assert(c:chat_stream{ messages = H.msgs("one two") })
    local out, serr = s:result()
    assert.is_nil(serr)
    assert.equals("chat.completion", out.object)
    assert.truthy(#out.choices[1].message.content > 0)
    res, err = c:request{ url = "/models", headers = { ["X-Extra"] = "1" } }
    assert.is_nil(err)
    assert.equals("list", res.object)
  end)

  it("takes a client key in the certificate's file, and an encrypted key with its password", function()
    local res, err = models(client(mtls.url, { ca_file = pki.ca, client_cert = pki.client_both }))
    assert.is_nil(err)
    assert.equals("list", res.object)
    res, err = models(client(mtls.localhost_url, { ca_file = pki.ca, client_cert = pki.client_cert,
                                                   client_key = pki.client_enc_key,
                                                   client_key_password = pki.password }))
    assert.is_nil(err)
    assert.equals("list", res.object)
  end)

  it("a client certificate of a CA the server does not trust fails", function()
    local res, err = models(client(mtls.url, { ca_file = pki.ca, client_cert = pki.rogue_client_cert,
                                               client_key = pki.rogue_client_key }))
    assert.is_nil(res)
    assert.equals("connection", err.kind)
  end)

  it("an encrypted key with a wrong password fails the call, never showing the password", function()
    -- (a certificate path no earlier client used: libcurl shares a kept connection between
    -- clients with the same CA and certificate paths)
    local res, err = models(client(mtls.url, { ca_file = pki.ca, client_cert = pki.client_cert_copy,
                                               client_key = pki.client_enc_key,
                                               client_key_password = "not-the-password" }))
    assert.is_nil(res)
    assert.equals("connection", err.kind)
    assert.is_nil(tostring(err):find("not-the-password", 1, true))
  end)

  describe("bad paths are argument errors naming the field", function()
    local function refused(opts, field, what)
      local msg = H.raises(openai.new, (function()
        local o = { api_key = KEY, base_url = srv.url }
        for k, v in pairs(opts) do o[k] = v end
        return o
      end)())
      assert.matches("^openai%.new: '" .. field .. "' " .. what, msg)
      return msg
    end

    it("a file that does not exist", function()
      refused({ ca_file = pki.dir .. "/nope.pem" }, "ca_file", "must be a readable file")
      refused({ client_cert = pki.dir .. "/nope.pem" }, "client_cert", "must be a readable file")
      refused({ client_cert = pki.client_cert, client_key = pki.dir .. "/nope.key" }, "client_key",
              "must be a readable file")
    end)

    it("a directory where a file belongs, a file where a directory belongs", function()
      refused({ ca_file = pki.ca_path }, "ca_file", "must be a readable file")
      refused({ ca_path = pki.ca }, "ca_path", "must be a directory")
      refused({ ca_path = pki.dir .. "/none" }, "ca_path", "must be a directory")
    end)

    it("an empty file, a value that is not a path, a key without its certificate", function()
      local empty = pki.dir .. "/empty.pem"
      H.write_file(empty, "")
      refused({ ca_file = empty }, "ca_file", "must not be an empty file")
      refused({ ca_file = 42 }, "ca_file", "must be")
      refused({ ca_file = "" }, "ca_file", "must be")
      refused({ client_key = pki.client_key }, "client_key", "needs 'client_cert'")
      refused({ client_cert = pki.client_cert, client_key_password = 7 }, "client_key_password", "must be")
      local msg = refused({ client_key_password = "hunter2-secret" }, "client_key_password", "needs")
      assert.is_nil(msg:find("hunter2", 1, true))
    end)

    it("nothing is sent", function()
      H.reset()
      pcall(openai.new, { api_key = KEY, base_url = H.base, ca_file = "/nonexistent/ca.pem" })
      assert.equals(0, #H.requests())
    end)
  end)
end)
