-- spec/support/tls.lua: certificates made now with openssl (never kept),
-- and stand-ins speaking HTTPS with them on loopback
-- (spec/support/standin.py --tls-cert ...).
--
--   local tls = require "support.tls"
--   local pki = tls.make_pki()          -- pki.dir, pki.ca, pki.ca_path, pki.client_cert, ...
--   local srv = tls.start(pki, "server")                 -- https://127.0.0.1:port
--   local mtls = tls.start(pki, "server", { client_ca = true })
--   srv.url, srv.port ... srv:stop() ... tls.remove(pki)
local socket = require "socket"
local H = require "support.helper"

local T = {}

local function sh(cmd)
  assert(H.run(cmd .. " >/dev/null 2>&1"), "failed: " .. cmd)
end

local function mktemp()
  local p = assert(io.popen("mktemp -d /tmp/openai-tls.XXXXXX"))
  local dir = p:read("*l")
  p:close()
  assert(H.run("chmod 755 " .. dir))      -- nginx's workers may run as nobody
  return dir
end

local EC = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"

-- a CA named name: name.pem, name.key
local function make_ca(dir, name)
  sh(("openssl req -x509 %s -keyout %s/%s.key -out %s/%s.pem -days 2 -subj '/CN=openai-lua %s' "
      .. "-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign")
     :format(EC, dir, name, dir, name, name))
end

-- a certificate name.pem / name.key signed by CA ca, with extensions ext
local function make_cert(dir, name, ca, cn, ext)
  H.write_file(dir .. "/" .. name .. ".ext", ext .. "\n")
  sh(("openssl req %s -keyout %s/%s.key -out %s/%s.csr -subj '/CN=%s'")
     :format(EC, dir, name, dir, name, cn))
  sh(("openssl x509 -req -in %s/%s.csr -CA %s/%s.pem -CAkey %s/%s.key -CAcreateserial "
      .. "-out %s/%s.pem -days 2 -extfile %s/%s.ext")
     :format(dir, name, dir, ca, dir, ca, dir, name, dir, name))
end

-- every file the TLS specs use, in a new temporary directory
function T.make_pki()
  local dir = mktemp()
  make_ca(dir, "ca")
  make_ca(dir, "rogue")
  local server_ext = "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth"
  make_cert(dir, "server", "ca", "localhost", server_ext)
  make_cert(dir, "rogue_server", "rogue", "localhost", server_ext)
  make_cert(dir, "other_host", "ca", "other.example",
            "subjectAltName=DNS:other.example\nextendedKeyUsage=serverAuth")
  make_cert(dir, "client", "ca", "openai-lua client", "extendedKeyUsage=clientAuth")
  make_cert(dir, "rogue_client", "rogue", "openai-lua rogue client", "extendedKeyUsage=clientAuth")
  sh(("openssl pkey -in %s/client.key -aes256 -passout pass:open-sesame -out %s/client_enc.key")
     :format(dir, dir))
  sh(("mkdir %s/capath && cp %s/ca.pem %s/capath/ && openssl rehash %s/capath"):format(dir, dir, dir, dir))
  -- the same certificate under another path (libcurl matches kept connections by its path)
  H.write_file(dir .. "/client_copy.pem", H.read_file(dir .. "/client.pem"))
  H.write_file(dir .. "/client_both.pem", H.read_file(dir .. "/client.pem") .. H.read_file(dir .. "/client.key"))
  sh(("chmod -R a+rX %s"):format(dir))
  return {
    dir = dir, ca = dir .. "/ca.pem", ca_path = dir .. "/capath", rogue_ca = dir .. "/rogue.pem",
    client_cert = dir .. "/client.pem", client_key = dir .. "/client.key",
    client_enc_key = dir .. "/client_enc.key", client_both = dir .. "/client_both.pem",
    client_cert_copy = dir .. "/client_copy.pem",
    rogue_client_cert = dir .. "/rogue_client.pem", rogue_client_key = dir .. "/rogue_client.key",
    password = "open-sesame",
  }
end

function T.remove(pki)
  H.run("rm -rf '" .. pki.dir .. "'")
end

local Server = {}
Server.__index = Server

function Server:stop()
  if self.pid then H.run("kill " .. self.pid .. " 2>/dev/null") end
  self.pid = nil
end

-- a stand-in speaking HTTPS with certificate name (of make_pki); opts.client_ca:
-- it requires a client certificate signed by the test CA
function T.start(pki, name, opts)
  opts = opts or {}
  local dir = pki.dir
  local port_file = ("%s/%s.%d.port"):format(dir, name, math.random(1, 1e9))
  local cmd = ("python3 spec/support/standin.py --host 127.0.0.1 --port 0 --port-file %s "
               .. "--tls-cert %s/%s.pem --tls-key %s/%s.key %s >/dev/null 2>&1 & echo $!")
    :format(port_file, dir, name, dir, name, opts.client_ca and ("--tls-client-ca " .. pki.ca) or "")
  local p = assert(io.popen(cmd))
  local pid = p:read("*l")
  p:close()
  local deadline = socket.gettime() + 10
  local port
  repeat
    port = H.read_file(port_file)
    if not port then socket.sleep(0.05) end
  until port or socket.gettime() > deadline
  assert(port, "the TLS stand-in did not start")
  port = tonumber(port)
  return setmetatable({ pid = pid, port = port, url = "https://127.0.0.1:" .. port .. "/v1",
                        localhost_url = "https://localhost:" .. port .. "/v1" }, Server)
end

return T
