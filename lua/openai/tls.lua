-- openai.tls: the TLS options of openai.new (ca_file, ca_path, client_cert,
-- client_key, client_key_password), checked once: each path must name a
-- file (ca_path: a directory) this process can read, else an argument
-- error names the field and nothing is sent. Peer and host verification
-- stay on whatever is given: these only add trust and an identity.
--
-- The curl transport takes all of them per client (CURLOPT_CAINFO, CAPATH,
-- SSLCERT, SSLKEY, KEYPASSWD). nginx's cosockets verify against the
-- lua_ssl_trusted_certificate directive only (no per-socket trust store),
-- so ca_file and ca_path are refused there with that directive's name; a
-- client certificate is set per connection with tcpsock:setclientcert
-- (lua-resty-core's ngx.ssl parses the PEM files once per worker).

local check = require "openai.check"
local secret = require "openai.secret"

local wire = require "openai.wire"

local type, require, ipairs = type, require, ipairs
local sub = string.sub
local open = io.open
local package_config = package.config

local _ENV = nil -- luacheck: ignore 211

local M = {}

M.FIELDS = { "ca_file", "ca_path", "client_cert", "client_key", "client_key_password" }

-- fail naming fn and field; the path is shown (it is not a secret)
local function bad_path(fn, field, what, path)
  check.fail(fn, field, what, path)
end

-- path must be a file this process can open (wire.can_read: a UTF-8 path
-- on Windows too) with at least one readable byte (a directory opens on
-- POSIX, but reads nothing)
local function readable_file(fn, field, path)
  check.name(fn, path, field)
  local ok, err = wire.can_read(path)
  if not ok then
    err = err or "cannot open it"
    if sub(err, 1, #path + 2) == path .. ": " then err = sub(err, #path + 3) end   -- the path is shown after
    bad_path(fn, field, "must be a readable file (" .. err .. ")", path)
  end
  local f = open(path, "rb")
  if not f then return path end        -- (Windows: io.open takes ANSI paths only; can_read said yes)
  local byte, rerr = f:read(1)
  f:close()
  if byte == nil then
    bad_path(fn, field, rerr and ("must be a readable file (" .. rerr .. ")") or "must not be an empty file", path)
  end
  return path
end

-- the Windows build's libcurl verifies with Schannel, which takes a CA
-- bundle file but no CA directory and no PEM client certificate
local WINDOWS = sub(package_config, 1, 1) == "\\"
local function refuse_on_windows(fn, field, v)
  check.fail(fn, field, "is not supported by the Windows build (libcurl with Schannel takes a CA "
             .. "bundle file, 'ca_file', but no CA directory and no PEM client certificate)", v, true)
end

-- path must be a directory this process may search ("dir/." opens only then)
local function searchable_dir(fn, field, path)
  check.name(fn, path, field)
  local f = open(path .. "/.", "rb")
  if not f then bad_path(fn, field, "must be a directory of hashed certificates (c_rehash)", path) end
  f:close()
  return path
end

-- the TLS options of opts, checked, into self (fields of the same names);
-- transport: "curl" or "nginx"
function M.client(fn, self, opts, transport)
  if WINDOWS then
    for _, field in ipairs({ "ca_path", "client_cert", "client_key", "client_key_password" }) do
      if opts[field] ~= nil then refuse_on_windows(fn, field, opts[field]) end
    end
  end
  if opts.ca_file ~= nil then self.ca_file = readable_file(fn, "ca_file", opts.ca_file) end
  if opts.ca_path ~= nil then self.ca_path = searchable_dir(fn, "ca_path", opts.ca_path) end
  if opts.client_cert ~= nil then self.client_cert = readable_file(fn, "client_cert", opts.client_cert) end
  if opts.client_key ~= nil then
    if opts.client_cert == nil then
      check.fail(fn, "client_key", "needs 'client_cert' (the certificate it goes with)", opts.client_key)
    end
    self.client_key = readable_file(fn, "client_key", opts.client_key)
  end
  local pw = opts.client_key_password
  if pw ~= nil then
    if opts.client_cert == nil then
      check.fail(fn, "client_key_password", "needs 'client_cert' and 'client_key'", pw, true)
    end
    if type(pw) ~= "string" then check.fail(fn, "client_key_password", "must be a string", pw, true) end
    check.name(fn, pw, "client_key_password", true)
    self.client_key_password = pw
    self._password_owner = {}          -- redacted like a key while the client lives
    secret.add(self._password_owner, pw)
  end
  if transport == "nginx" then M.nginx(fn, self) end
end

-- what nginx's cosockets can take: a client certificate (parsed now, so a
-- bad PEM file is an error here); the rest is refused naming the directive
function M.nginx(fn, self)
  if self.ca_file ~= nil or self.ca_path ~= nil then
    local field = self.ca_file ~= nil and "ca_file" or "ca_path"
    check.fail(fn, field, "is not supported by the nginx transport (cosockets verify against one "
               .. "trust store per nginx): set 'lua_ssl_trusted_certificate <CA PEM file>;' in "
               .. "nginx.conf, or use transport = \"curl\"", self[field])
  end
  if self.client_key_password ~= nil then
    check.fail(fn, "client_key_password", "is not supported by the nginx transport (ngx.ssl reads "
               .. "unencrypted keys only): decrypt the key (openssl pkey -in KEY -out PLAIN), or use "
               .. "transport = \"curl\"", self.client_key_password, true)
  end
  if self.client_cert ~= nil then
    local nginx = require "openai.nginx"
    local ok, why = nginx.client_identity(self.client_cert, self.client_key or self.client_cert)
    if not ok then
      local field = why.field or "client_cert"
      check.fail(fn, field, why.message, self[field])
    end
  end
end

-- the TLS fields of a request description for the curl engine (nil ones
-- are left out)
function M.request_fields(client, req)
  req.ca_file, req.ca_path = client.ca_file, client.ca_path
  req.client_cert, req.client_key = client.client_cert, client.client_key
  req.client_key_password = client.client_key_password
  return req
end

return M
