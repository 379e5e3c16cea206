-- spec/nginx_options_spec.lua: openai.new's network and key options inside a
-- real nginx (spec/support/nginx.lua) on the cosocket transport: trust from
-- lua_ssl_trusted_certificate (a client's ca_file is refused naming it),
-- client certificates per client (tcpsock:setclientcert), host names still
-- verified, proxy = "" accepted, and key providers called for every attempt.
-- HTTPS stand-ins on loopback with certificates made now (spec/support/tls.lua).
local H = require "support.helper"
local nginx = require "support.nginx"
local tls = require "support.tls"
local socket = require "socket"
local cjson = require "cjson"

local KEY = "sk-" .. string.rep("Ab3dE", 9) .. "xyz"                        -- 51 characters
local LONG_KEY = "sk-proj-" .. string.rep("Zq7Wm2Xk9P", 15) .. "abcdef"     -- 164 characters

local PRELUDE = [[
  local openai = require "openai"
  local cjson = require "cjson"
  local function show(res, err, meta)
    ngx.say(cjson.encode({ res = res, err = err and { kind = err.kind, message = err.message,
      status = err.status, attempts = err.attempts, text = tostring(err) } or nil,
      status = meta and meta.status }))
  end
  local function refused(opts)
    local ok, msg = pcall(openai.new, opts)
    ngx.say(cjson.encode({ ok = ok, message = not ok and msg or nil }))
  end
]]

local LOCATIONS = [[
  location = /trusted { content_by_lua_block { $PRELUDE
    show(openai.new{ api_key = "$KEY", base_url = "$SRV", max_retries = 0 }:models()) } }
  location = /untrusted { content_by_lua_block { $PRELUDE
    show(openai.new{ api_key = "$KEY", base_url = "$ROGUE", max_retries = 0 }:models()) } }
  location = /other_host { content_by_lua_block { $PRELUDE
    show(openai.new{ api_key = "$KEY", base_url = "$OTHER", max_retries = 0 }:models()) } }
  location = /mtls_none { content_by_lua_block { $PRELUDE
    show(openai.new{ api_key = "$KEY", base_url = "$MTLS", max_retries = 0 }:models()) } }
  location = /mtls { content_by_lua_block { $PRELUDE
    local c = openai.new{ api_key = "$KEY", base_url = "$MTLS", max_retries = 0,
                          client_cert = "$DIR/client.pem", client_key = "$DIR/client.key" }
    local res, err = c:models()
    if err then return show(res, err) end
    local s = assert(c:chat_stream{ messages = { { role = "user", content = "one two" } } })
    show(s:result()) } }
  location = /mtls_both { content_by_lua_block { $PRELUDE
    show(openai.new{ api_key = "$KEY", base_url = "$MTLS", max_retries = 0,
                     client_cert = "$DIR/client_both.pem" }:models()) } }
  location = /mtls_rogue { content_by_lua_block { $PRELUDE
    show(openai.new{ api_key = "$KEY", base_url = "$MTLS", max_retries = 0,
                     client_cert = "$DIR/rogue_client.pem", client_key = "$DIR/rogue_client.key" }:models()) } }
  location = /ca_file { content_by_lua_block { $PRELUDE
    refused{ api_key = "$KEY", base_url = "$SRV", ca_file = "$DIR/ca.pem" } } }
  location = /ca_path { content_by_lua_block { $PRELUDE
    refused{ api_key = "$KEY", base_url = "$SRV", ca_path = "$DIR/capath" } } }
  location = /key_password { content_by_lua_block { $PRELUDE
    refused{ api_key = "$KEY", base_url = "$SRV", client_cert = "$DIR/client.pem",
             client_key = "$DIR/client_enc.key", client_key_password = "open-sesame" } } }
  location = /not_pem { content_by_lua_block { $PRELUDE
    refused{ api_key = "$KEY", base_url = "$SRV", client_cert = "$DIR/client.ext" } } }
  location = /missing { content_by_lua_block { $PRELUDE
    refused{ api_key = "$KEY", base_url = "$SRV", client_cert = "$DIR/none.pem" } } }
  location = /no_proxy { content_by_lua_block { $PRELUDE
    show(openai.new{ api_key = "$KEY", base_url = "$BASE", max_retries = 0, proxy = "" }:models()) } }
  location = /provider { content_by_lua_block { $PRELUDE
    local keys, n = { "$KEY", "$LONG_KEY" }, 0
    local c = openai.new{ base_url = "$BASE", max_retries = 2,
                          api_key = function() n = n + 1; return keys[n] end }
    local res, err = c:chat{ messages = { { role = "user", content = "hi" } } }
    show(res, err)
    ngx.say(n) } }
  location = /provider_fails { content_by_lua_block { $PRELUDE
    local n = 0
    local c = openai.new{ base_url = "$BASE", max_retries = 2, api_key = function()
      n = n + 1
      if n == 1 then return "$LONG_KEY" end
      error("vault sealed for $LONG_KEY")
    end }
    show(c:chat{ messages = { { role = "user", content = "hi" } } }) } }
  location = /entra { content_by_lua_block { $PRELUDE
    local c = openai.new{ base_url = "$URL/openai", max_retries = 0, azure = {
      api_version = "2024-10-21", deployment = "gpt", token_provider = function() return "$LONG_KEY" end } }
    show(c:chat{ messages = { { role = "user", content = "hi" } } }) } }
]]

-- GET path on srv: the decoded JSON line it answers
local function get_json(srv, path)
  local c = assert(socket.tcp())
  c:settimeout(20)
  assert(c:connect("127.0.0.1", srv.port))
  assert(c:send("GET " .. path .. " HTTP/1.0\r\nHost: localhost\r\n\r\n"))
  local data = c:receive("*a")
  c:close()
  local body = data:match("\r\n\r\n(.-)\n") or ""
  local ok, v = pcall(cjson.decode, body)
  assert(ok, path .. " answered " .. tostring(data) .. "\n" .. srv:error_log())
  return v, data:match("\r\n\r\n.-\n(.*)$")
end

describe("openai.new's network and key options inside nginx", function()
  local pki, srv, rogue, other, mtls, ngx_srv

  setup(function()
    pki = tls.make_pki()
    srv = tls.start(pki, "server")
    rogue = tls.start(pki, "rogue_server")
    other = tls.start(pki, "other_host")
    mtls = tls.start(pki, "server", { client_ca = true })
    -- (localhost: nginx matches a certificate's DNS names, not its IP addresses)
    local subst = { KEY = KEY, LONG_KEY = LONG_KEY, BASE = H.base, URL = H.url, DIR = pki.dir,
                    SRV = srv.localhost_url, ROGUE = rogue.localhost_url, OTHER = other.localhost_url,
                    MTLS = mtls.localhost_url }
    local locations = LOCATIONS:gsub("%$PRELUDE", (PRELUDE:gsub("%%", "%%%%")))
    locations = locations:gsub("%$([%u_]+)", subst)
    ngx_srv = nginx.start{
      http = ("  lua_ssl_trusted_certificate %s;\n  lua_ssl_verify_depth 2;\n"):format(pki.ca),
      locations = locations,
    }
  end)

  teardown(function()
    if ngx_srv then ngx_srv:stop() end
    for _, s in ipairs({ srv, rogue, other, mtls }) do s:stop() end
    if pki then tls.remove(pki) end
  end)

  before_each(function() H.reset() end)

  it("trusts the CA of lua_ssl_trusted_certificate and refuses another CA's server", function()
    local r = get_json(ngx_srv, "/trusted")
    assert.equal("list", r.res and r.res.object, cjson.encode(r))
    r = get_json(ngx_srv, "/untrusted")
    assert.equal("connection", r.err and r.err.kind, cjson.encode(r))
    assert.matches("failed: [^(]*certificate", r.err.message)    -- OpenSSL's words, before our hint
  end)

  it("keeps verifying the host name", function()
    local r = get_json(ngx_srv, "/other_host")
    assert.equal("connection", r.err and r.err.kind, cjson.encode(r))
    -- (nginx's words, or ours when lua-resty-core asserted on a handshake that ended at once)
    local why = r.err.message:match("^TLS with localhost:%d+ failed: (.-) %(")
    assert.truthy(why == "certificate host mismatch" or why == "the certificate did not pass verification",
                  r.err.message)
  end)

  it("refuses ca_file, ca_path and an encrypted key at openai.new, naming what to use", function()
    local r = get_json(ngx_srv, "/ca_file")
    assert.is_false(r.ok)
    assert.matches("^openai%.new: 'ca_file' is not supported by the nginx transport", r.message)
    assert.matches("lua_ssl_trusted_certificate", r.message)
    r = get_json(ngx_srv, "/ca_path")
    assert.matches("'ca_path' .*lua_ssl_trusted_certificate", r.message)
    r = get_json(ngx_srv, "/key_password")
    assert.matches("'client_key_password' is not supported by the nginx transport", r.message)
    assert.is_nil(r.message:find("open-sesame", 1, true))
  end)

  it("refuses a client certificate that is missing or not PEM at openai.new", function()
    local r = get_json(ngx_srv, "/missing")
    assert.matches("^openai%.new: 'client_cert' must be a readable file", r.message)
    r = get_json(ngx_srv, "/not_pem")
    assert.matches("^openai%.new: 'client_cert' must be a PEM certificate", r.message)
  end)

  it("a server requiring a client certificate fails without one, passes with client_cert", function()
    local r = get_json(ngx_srv, "/mtls_none")
    assert.equal("connection", r.err and r.err.kind, cjson.encode(r))
    r = get_json(ngx_srv, "/mtls")
    assert.is_nil(r.err, cjson.encode(r))
    assert.equal("chat.completion", r.res.object)
    r = get_json(ngx_srv, "/mtls_both")
    assert.equal("list", r.res and r.res.object, cjson.encode(r))
    r = get_json(ngx_srv, "/mtls_rogue")
    assert.equal("connection", r.err and r.err.kind, cjson.encode(r))
  end)

  it("takes proxy = \"\" (no proxy: cosockets never use one)", function()
    local r = get_json(ngx_srv, "/no_proxy")
    assert.equal("list", r.res and r.res.object, cjson.encode(r))
  end)

  it("calls a key provider for every attempt, a retry included", function()
    H.script("/v1/chat/completions", { { status = 500, json = { error = { message = "boom" } } } })
    local r, rest = get_json(ngx_srv, "/provider")
    assert.is_nil(r.err, cjson.encode(r))
    assert.equal("2", rest:match("%d+"))
    local recs = H.requests()
    assert.equal(2, #recs)
    assert.equal("Bearer " .. KEY, recs[1].headers.authorization)
    assert.equal("Bearer " .. LONG_KEY, recs[2].headers.authorization)
  end)

  it("a provider that fails on a retry fails the call with kind auth, its key redacted", function()
    H.script("/v1/chat/completions", { { status = 500, json = { error = { message = "boom" } } } })
    local r = get_json(ngx_srv, "/provider_fails")
    assert.equal("auth", r.err and r.err.kind, cjson.encode(r))
    assert.matches("vault sealed", r.err.message)
    assert.is_nil(cjson.encode(r):find(LONG_KEY, 1, true))
    assert.matches("%[redacted%]", r.err.message)
  end)

  it("sends Azure's Entra ID token as Authorization: Bearer, no api-key", function()
    local r = get_json(ngx_srv, "/entra")
    assert.is_nil(r.err, cjson.encode(r))
    local rec = H.last()
    assert.equal("Bearer " .. LONG_KEY, rec.headers.authorization)
    assert.is_nil(rec.headers["api-key"])
    assert.equal("/openai/deployments/gpt/chat/completions", rec.path)
    assert.equal("2024-10-21", rec.params["api-version"][1])
  end)
end)
