-- openai.nginx: the transport of a client inside nginx (its lua module,
-- the one OpenResty is built on): calls go over nginx's cosockets
-- (ngx.socket.tcp), so a call waiting for the API yields to nginx and the
-- worker serves other requests meanwhile. libcurl is never loaded here.
--
-- A transfer is a Lua table with the methods openai.transport and
-- openai.stream use on an engine transfer (result, ready, state,
-- next_event, close) and two of its own: await (run the request until it
-- is ready: done, or a stream event queued) and finish. The bytes are
-- framed by the C parsers the curl path shares (openai.wire: http1, sse,
-- retry_decide); the error kinds and messages follow the engine's.
--
-- Phases: cosockets exist in rewrite, access, content, ngx.timer callbacks
-- and the ssl_certificate / ssl_session_fetch / ssl_client_hello handlers.
-- A call anywhere else raises an error naming the phase.
--
-- nginx directives that matter: lua_ssl_trusted_certificate (the CA file
-- https servers are verified against: without it no certificate verifies;
-- cosockets have no trust store of their own, so a client's ca_file is
-- refused at openai.new), a client certificate per connection with
-- tcpsock:setclientcert (lua-resty-core),
-- lua_ssl_verify_depth, resolver (for host names), lua_socket_keepalive_timeout
-- and lua_socket_pool_size (the pool of kept connections).

local wire = require "openai.wire"
local sched = require "openai.scheduler"

local type, tonumber, tostring, setmetatable, error, pcall, select, pairs =
      type, tonumber, tostring, setmetatable, error, pcall, select, pairs
local co_running, co_status = coroutine.running, coroutine.status
local format, match, lower, sub, find, gsub, byte = string.format, string.match, string.lower,
                                                     string.sub, string.find, string.gsub, string.byte
local concat = table.concat
local floor = math.floor
local open = io.open
local unpack = table.unpack or unpack -- luacheck: ignore 143
local ngx = ngx -- luacheck: ignore 113 (set by nginx's lua module)
local now = wire.now
local complete, cancelled = sched.complete, sched.cancelled

local _ENV = nil -- luacheck: ignore 211

local M = {}

local BIG_MS = 2147483647        -- "no limit" for a cosocket timeout
local CANCEL_SLICE = 100         -- ms a task's transfer waits at once (to see a cancel)
local READ_CHUNK = 65536
local FILE_CHUNK = 65536

-- {=================================================================
-- phases
-- ==================================================================

-- the phases whose handlers may use ngx.socket.tcp, ngx.sleep and
-- ngx.thread (lua-nginx-module's documentation of each)
local COSOCKET_PHASES = {
  rewrite = true, access = true, content = true, timer = true,
  ssl_cert = true, ssl_session_fetch = true, ssl_client_hello = true,
}

-- the current phase when it allows cosockets, else false and the phase
function M.cosockets()
  if type(ngx) ~= "table" or type(ngx.get_phase) ~= "function" then return false, nil end
  local phase = ngx.get_phase()
  return COSOCKET_PHASES[phase] == true, phase
end

function M.check_phase(fn)
  local ok, phase = M.cosockets()
  if ok then return end
  error(format("%s: nginx's %s phase cannot make network calls (cosockets exist only in "
               .. "rewrite, access and content handlers and in ngx.timer callbacks); make the "
               .. "call in one of those, e.g. in a callback of ngx.timer.at(0, fn) started here",
               fn, tostring(phase)), 0)
end

-- }==================================================================


-- {=================================================================
-- the request bytes
-- ==================================================================

-- scheme, host, port, the Host header value, the request target
local function parse_url(url)
  local scheme, rest = match(url, "^(%a+)://(.*)$")
  scheme = lower(scheme or "")
  local authority, target = match(rest or "", "^([^/?#]*)(.*)$")
  target = gsub(target, "#.*$", "")
  if sub(target, 1, 1) ~= "/" then target = "/" .. target end
  authority = gsub(authority, "^.*@", "")          -- no user info on the wire
  local host, port = match(authority, "^%[(.+)%]:?(%d*)$")
  if host == nil then host, port = match(authority, "^([^:]*):?(%d*)$") end
  return scheme, host, tonumber(port) or (scheme == "https" and 443 or 80), authority, target
end

-- a name or filename in a Content-Disposition line, as curl writes it
local function disposition_value(s)
  return (gsub(s, '[\r\n"]', { ["\r"] = "%0D", ["\n"] = "%0A", ['"'] = "%22" }))
end

local function basename(path)
  return match(path, "([^/]*)$")
end

-- a boundary no one can guess (a body part that holds it would end the
-- part early): 16 bytes of the kernel's, never math.random (unseeded in a
-- worker, it repeats after each restart); nil, message when none came
local function new_boundary()
  local bytes, err = wire.random_bytes(16)
  if bytes == nil then return nil, err end
  return "------------------------" .. gsub(bytes, ".", function(c) return format("%02x", byte(c)) end)
end

-- the multipart body of parts: pieces (strings, or { path = , size = } for
-- a file streamed when sent), its length and its Content-Type; nil, kind,
-- message when a file cannot be read
local function multipart(parts)
  local boundary, berr = new_boundary()
  if boundary == nil then return nil, "io", berr end
  local pieces, n = {}, 0
  for i = 1, #parts do
    local p = parts[i]
    local filename = p.filename or (p.path and basename(p.path)) or nil
    local head = { "--", boundary, '\r\nContent-Disposition: form-data; name="',
                   disposition_value(p.name), '"' }
    if filename then head[#head + 1] = '; filename="' .. disposition_value(filename) .. '"' end
    local ctype = p.type or (filename and "application/octet-stream") or nil
    if ctype then head[#head + 1] = "\r\nContent-Type: " .. ctype end
    head[#head + 1] = "\r\n\r\n"
    pieces[#pieces + 1] = concat(head)
    if p.path then
      local size, err = wire.upload_file(p.path)   -- a regular file, never a FIFO (it would block)
      if size == nil then return nil, "io", err end
      pieces[#pieces + 1] = { path = p.path, size = size }
    else
      pieces[#pieces + 1] = p.data or ""
    end
    pieces[#pieces + 1] = "\r\n"
  end
  pieces[#pieces + 1] = "--" .. boundary .. "--\r\n"
  for i = 1, #pieces do
    local x = pieces[i]
    n = n + (type(x) == "table" and x.size or #x)
  end
  return pieces, n, "multipart/form-data; boundary=" .. boundary
end

-- {=================================================================
-- client certificates (mutual TLS)
-- ==================================================================

-- "cert path\0key path" -> { cert = cdata, key = cdata }, parsed once per worker
local identities = {}

local function read_all(path)
  local f, err = open(path, "rb")
  if not f then return nil, err end
  local s = f:read("*a")
  f:close()
  return s
end

-- whether this nginx can set a client certificate per cosocket
local function can_set_client_cert()
  local ok, sock = pcall(ngx.socket.tcp)
  if not ok then return true end     -- no cosocket in this phase (init): checked per connection
  local has = type(sock.setclientcert) == "function"
  pcall(sock.close, sock)
  return has
end

-- the parsed certificate chain and key of cert_path and key_path: true, or
-- false and { field =, message = } saying what is wrong
function M.client_identity(cert_path, key_path)
  local id = cert_path .. "\0" .. key_path
  if identities[id] then return true, identities[id] end
  local okssl, ssl = pcall(require, "ngx.ssl")
  if not okssl or type(ssl.parse_pem_cert) ~= "function" or not can_set_client_cert() then
    return false, { message = "is not supported by this nginx's lua module (tcpsock:setclientcert "
      .. "and ngx.ssl need lua-resty-core): set 'lua_ssl_certificate' and "
      .. "'lua_ssl_certificate_key' in nginx.conf, or use transport = \"curl\"" }
  end
  local cert = ssl.parse_pem_cert(read_all(cert_path) or "")
  if not cert then
    return false, { field = "client_cert", message = "must be a PEM certificate (chain)" }
  end
  local key = ssl.parse_pem_priv_key(read_all(key_path) or "")
  if not key then
    return false, { field = key_path == cert_path and "client_cert" or "client_key",
                    message = "must hold an unencrypted PEM private key" }
  end
  identities[id] = { cert = cert, key = key }
  return true, identities[id]
end

-- }==================================================================

-- the head of the request: request line, Host, the description's header
-- lines, the body's length and type
local function request_head(t, body_len, ctype)
  local req = t.req
  local lines = { format("%s %s HTTP/1.1", req.method, t.target) }
  local has_host = false
  local hs = req.headers or {}
  for i = 1, #hs do
    if lower(sub(hs[i], 1, 5)) == "host:" then has_host = true end
  end
  if not has_host then lines[#lines + 1] = "Host: " .. t.authority end
  for i = 1, #hs do lines[#lines + 1] = hs[i] end
  if ctype then lines[#lines + 1] = "Content-Type: " .. ctype end
  if body_len then lines[#lines + 1] = "Content-Length: " .. body_len end
  lines[#lines + 1] = "\r\n"
  return concat(lines, "\r\n")
end

-- }==================================================================


-- {=================================================================
-- the transfer
-- ==================================================================

local T = {}
T.__index = T

-- a new transfer of request description req (openai.transport.build's);
-- nothing is sent until it is awaited
function M.submit(req, fn)
  M.check_phase(fn)
  local scheme, host, port, authority, target = parse_url(req.url)
  if (scheme ~= "http" and scheme ~= "https") or host == nil or host == "" then
    error(fn .. ": cannot call " .. tostring(req.url) .. ": not an http:// or https:// URL", 0)
  end
  if req.stream and req.to_path then error(fn .. ": a stream cannot have a to_path", 0) end
  local t = setmetatable({
    req = req, fn = fn, scheme = scheme, host = host, port = port, authority = authority,
    target = target, st = "waiting", attempts = 0, status = 0, started_at = now(),
    queue = {}, q_head = 1, q_tail = 0, received = 0, written = nil,
    task = M.running_task(),
  }, T)
  return t
end

-- the end of the time this attempt may take for what it is doing now
-- (ms on wire.now's clock), the option that sets it and that option's value
local function due(t)
  local req = t.req
  local d, option, ms = nil, nil, nil
  if not req.stream or not t.head then
    local timeout = req.timeout or 0
    if timeout > 0 then d, option, ms = t.attempt_at + timeout, "timeout", timeout end
  elseif (req.idle_timeout or 0) > 0 then
    d, option, ms = t.last_byte_at + req.idle_timeout, "idle_timeout", req.idle_timeout
  end
  local deadline = req.deadline or 0
  if deadline > 0 and (d == nil or t.started_at + deadline < d) then
    d, option, ms = t.started_at + deadline, "deadline", deadline
  end
  return d, option, ms
end

-- the attempt timed out while doing phase ("connect", "send", "response",
-- "headers", "idle"; wire.timeout_message's): note the limit that ran out
-- (option and ms; by default the one due(t) names). The retry decision
-- (settle) and the words of the message are the C policy's, as on curl
local function note_timeout(t, phase, option, ms)
  if option == nil then
    local _
    _, option, ms = due(t)
  end
  t.timeout_phase, t.timeout_option, t.timeout_ms = phase, option or "timeout", ms or 0
end

-- ms left before due (at least 1), or BIG_MS
local function left_ms(t)
  local d = due(t)
  if d == nil then return BIG_MS end
  local left = floor(d - now())
  return left < 1 and 1 or left
end

-- the OS's words in io's message, without the path it starts with
local function os_reason(err, path)
  err = tostring(err)
  if sub(err, 1, #path + 2) == path .. ": " then return sub(err, #path + 3) end
  return err
end

local function close_output(t)
  if t.out then
    local ok, err = t.out:close()
    t.out = nil
    if not ok and not t.kind then
      t.kind, t.message = "io", format("cannot write '%s': %s", t.req.to_path, os_reason(err, t.req.to_path))
    end
  end
end

-- {=================================================================
-- connection slots: the sockets this worker's transfers hold open
-- (connected, not yet closed or back in the pool), in all and per pool.
-- With max_connections_per_host (M.configure) a connect waits for a slot
-- of its pool; a connect that fails because nginx's worker has no free
-- connection (worker_connections) waits for one of ours to be released
-- and tries again. Waiters look every SLOT_POLL s (an ngx.semaphore woken
-- by each release stalled the worker's other sockets once nginx ran out of
-- connections).
-- ==================================================================

local SLOT_POLL = 0.01
local held, held_by, max_per_host = 0, {}, nil
local releases = 0          -- releases so far (a waiter's "something came free")

-- the worker-wide limits of every client inside nginx (as the curl engine's)
function M.configure(opts)
  if opts.max_host_connections ~= nil then max_per_host = opts.max_host_connections end
end

local function take_slot(t)
  held = held + 1
  held_by[t.pool] = (held_by[t.pool] or 0) + 1
  t.held = true
end

local function release_slot(t)
  if not t.held then return end
  t.held = false
  held = held - 1
  held_by[t.pool] = held_by[t.pool] - 1
  releases = releases + 1
end

-- wait until full() is false; true, or nil, kind, message when the
-- attempt's time ran out or its task was cancelled meanwhile
local function wait_until_free(t, full)
  while full() do
    if t.task and t.task.cancelled then return nil, "cancelled", "the task was cancelled" end
    local d = due(t)
    local left = d and d - now() or BIG_MS
    if left <= 0 then                      -- (waiting for a connection: what
      note_timeout(t, "connect")             -- ran out is the connect's time)
      return nil, "timeout"
    end
    ngx.sleep(SLOT_POLL)
  end
  return true
end

-- what a connect failure says about the server or the network, never
-- about this worker's own resources
local REMOTE_FAILURES = { "refused", "unreachable", "no route", "reset", "resolve", "not found",
                          "no resolver", "parse", "permission", "not supported", "timed out" }

-- whether a connect may have failed because the worker had no free
-- connection (worker_connections) or descriptor: nginx then reports
-- whatever errno was left over ("operation now in progress", "no such file
-- or directory", ...), so anything that is not a remote failure counts
local function worker_full(err)
  err = lower(tostring(err))
  for i = 1, #REMOTE_FAILURES do
    if find(err, REMOTE_FAILURES[i], 1, true) then return false end
  end
  return true
end

-- }==================================================================

-- (pcall: a stream's finalizer closes it too, where nginx may refuse)
local function drop_socket(t)
  local sock = t.sock
  t.sock = nil
  if sock then pcall(sock.close, sock) end
  release_slot(t)
end

-- pool -> nginx's cached time (ngx.now()) when a connection last went back
-- to it: bytes that arrive on a kept connection (a response that overran
-- its length) are seen by nginx, which then closes it, only when its event
-- loop runs; a connection taken again before that may carry them
local kept_at = {}

-- give a socket whose response was read whole back to nginx's pool
local function keep_socket(t)
  local sock = t.sock
  t.sock = nil
  if sock and not sock:setkeepalive() then sock:close() end
  kept_at[t.pool] = ngx.now()
  release_slot(t)
end

-- whether the task of t was cancelled (from a thread that could not kill
-- its thread): then t ends now, kind "cancelled", and sends nothing more
local function cut_by_cancel(t)
  local task = t.task
  if task == nil or not task.cancelled or t.st == "done" or t.st == "closed" then return false end
  close_output(t)
  drop_socket(t)
  t.kind, t.message, t.st = "cancelled", "the task was cancelled", "done"
  return true
end

-- wait ms before the next attempt; a task's transfer in slices, so that a
-- cancel stops it
local function pause(t, ms)
  if t.task == nil then return ngx.sleep(ms / 1000) end
  local until_ms = now() + ms
  while not t.task.cancelled do
    local left = until_ms - now()
    if left <= 0 then return end
    ngx.sleep((left < CANCEL_SLICE and left or CANCEL_SLICE) / 1000)
  end
end

-- the attempt ended (kind nil: a complete response): retry it after a
-- wait, or make it final
local function settle(t, kind, message)
  close_output(t)
  if kind == nil and t.kind then kind, message = t.kind, t.message end
  if kind == nil and t.keepalive and not t.send_error then keep_socket(t) else drop_socket(t) end
  if kind == "connection" and t.received > 0 then kind = "stream" end
  if kind ~= nil and not t.head then t.status = 0 end
  local declined = false
  if (kind == nil or kind == "timeout" or kind == "connection") and t.received == 0 and
     (kind ~= nil or t.status >= 300) then
    local h = t.headers or {}
    local verdict, delay, retry_after = wire.retry_decide(t.req.retry or {}, {
      attempts = t.attempts, status = kind == nil and t.status or 0,
      transport_error = kind ~= nil, headers = kind == nil and h or nil,
      timed_out = kind == "timeout", request_sent = kind == "timeout" and t.sent,
      insufficient_quota = kind == nil and t.status == 429 and
                           find(t.body or "", '"insufficient_quota"', 1, true) ~= nil,
    })
    t.retry_after = retry_after
    local deadline = t.req.deadline or 0
    if verdict == "yes" and not (deadline > 0 and now() + delay >= t.started_at + deadline) then
      if delay > 0 then pause(t, delay) end
      t.st = "waiting"
      return
    end
    declined = verdict == "sent"
  end
  if kind == "timeout" and t.timeout_option then
    message = wire.timeout_message(t.timeout_phase, t.timeout_option, t.timeout_ms, declined)
  end
  t.kind, t.message = kind, message
  t.st = "done"
end

-- the last TLS session of each server and client identity (the cosocket
-- pool name: scheme:host:port[:client certificate]), per worker: a new
-- connection to a server seen before resumes it (an abbreviated handshake,
-- no certificate chain to verify) instead of a full handshake. One entry
-- per server (and client certificate) the worker talks to.
local tls_sessions = {}

-- the client certificate of t's client on sock, when it has one
local function set_client_cert(req, sock)
  local got, id = M.client_identity(req.client_cert, req.client_key or req.client_cert)
  if not got then return false, id.message end
  if type(sock.setclientcert) ~= "function" then return false, "this nginx has no tcpsock:setclientcert" end
  return sock:setclientcert(id.cert, id.key)
end

-- the TLS handshake of a new connection, the peer verified against
-- lua_ssl_trusted_certificate and t's host name, resuming the session kept
-- for pool when there is one; true, or nil, kind, message.
-- (pcall: lua-resty-core 0.1.25 asserts when a handshake that finished at
-- once then fails its checks, e.g. a host mismatch: that is a failure too)
local function tls_handshake(t, sock, pool)
  local req = t.req
  if req.client_cert then
    local ok, err = set_client_cert(req, sock)
    if not ok then
      return nil, "connection", format("cannot use the client certificate: %s", tostring(err))
    end
  end
  local done, ok, err = pcall(sock.sslhandshake, sock, tls_sessions[pool], t.host, true)
  if not done then
    ok, err = nil, "the certificate did not pass verification (nginx's error log says why)"
  end
  if ok then
    tls_sessions[pool] = ok
    return true
  end
  if err == "timeout" then
    note_timeout(t, "connect")
    return nil, "timeout"
  end
  return nil, "connection", format("TLS with %s failed: %s (the certificate must be valid for "
    .. "the host and signed by a CA of lua_ssl_trusted_certificate)", t.authority, tostring(err))
end

-- a connected socket of t's pool (a slot taken), or nil, kind, message
local function open_socket(t)
  local req, pool = t.req, t.pool
  -- "localhost" is loopback by definition (RFC 6761): no resolver needed
  local addr = lower(t.host) == "localhost" and "127.0.0.1" or t.host
  if find(addr, ":", 1, true) then addr = "[" .. addr .. "]" end   -- an IPv6 literal, as nginx spells it
  while true do
    if kept_at[pool] == ngx.now() then
      -- a connection went back to the pool since nginx last ran its loop:
      -- let it run once, so that one with bytes waiting is closed, not reused
      ngx.sleep(0.001)
    end
    local ok, kind, msg = wait_until_free(t, function()
      return max_per_host ~= nil and (held_by[pool] or 0) >= max_per_host
    end)
    if not ok then return nil, kind, msg end
    local sock = ngx.socket.tcp()
    local left = left_ms(t)
    local by_connect_timeout = req.connect_timeout ~= nil and req.connect_timeout < left
    sock:settimeouts(by_connect_timeout and req.connect_timeout or left, left, left)
    take_slot(t)                                   -- before connect, which yields
    local err
    ok, err = sock:connect(addr, t.port, { pool = pool })
    if ok then return sock end
    sock:close()
    release_slot(t)
    if err == "timeout" then
      if by_connect_timeout then note_timeout(t, "connect", "connect_timeout", req.connect_timeout)
      else note_timeout(t, "connect") end
      return nil, "timeout"
    end
    if not worker_full(err) then
      return nil, "connection", format("cannot connect to %s: %s", t.authority, tostring(err))
    end
    if held == 0 then                              -- none of ours to wait for
      return nil, "connection", format("cannot connect to %s: nginx's worker has no free connection "
        .. "(worker_connections): %s", t.authority, tostring(err))
    end
    local seen = releases
    ok, kind, msg = wait_until_free(t, function() return releases == seen end)
    if not ok then return nil, kind, msg end
  end
end

local function connect(t)
  t.pool = t.scheme .. ":" .. t.host .. ":" .. t.port
  if t.req.client_cert then t.pool = t.pool .. ":" .. t.req.client_cert end  -- one identity per connection
  local sock, kind, msg = open_socket(t)
  if sock == nil then return nil, kind, msg end
  t.reused = (sock:getreusedtimes() or 0) > 0
  if t.scheme == "https" and not t.reused then
    local ok
    ok, kind, msg = tls_handshake(t, sock, t.pool)
    if not ok then
      sock:close()
      release_slot(t)
      return nil, kind, msg
    end
  end
  t.sock = sock
  return true
end

-- a send that failed: nil, kind, message [, true: the socket failed]
local function send_failed(t, err)
  if err == "timeout" then
    note_timeout(t, "send")
    return nil, "timeout"
  end
  return nil, "connection", "sending failed: " .. tostring(err), true
end

-- send the request; nil, kind, message [, true when the socket failed] on
-- failure
local function send_request(t)
  local req, sock = t.req, t.sock
  local pieces, len, ctype
  if req.parts then
    local kind, msg
    pieces, len, ctype = multipart(req.parts)
    if pieces == nil then
      kind, msg = len, ctype
      return nil, kind, msg
    end
  elseif req.body then
    pieces, len = { req.body }, #req.body
  elseif req.method == "POST" or req.method == "PUT" or req.method == "PATCH" then
    pieces, len = {}, 0
  end
  local head = request_head(t, len, ctype)
  local out = { head }
  for i = 1, pieces and #pieces or 0 do
    local x = pieces[i]
    if type(x) == "table" then                     -- a file: send what is gathered, then it
      sock:settimeouts(1, left_ms(t), left_ms(t))
      local ok, err = sock:send(out)
      if not ok then return send_failed(t, err) end
      out = {}
      local f, ferr = open(x.path, "rb")
      if f == nil then return nil, "io", format("cannot open the file '%s': %s", x.path, os_reason(ferr, x.path)) end
      local sent = 0
      while sent < x.size do
        local chunk = f:read(x.size - sent < FILE_CHUNK and x.size - sent or FILE_CHUNK)
        -- never more than the Content-Length sent: a file that grew fails
        -- before its last piece goes out (extra bytes on a kept connection
        -- would be read as the next request)
        if chunk == nil or (sent + #chunk == x.size and f:read(0) ~= nil) then
          f:close()
          return nil, "io", format("the file '%s' changed size while it was sent (%d bytes were "
                                   .. "declared)", x.path, x.size)
        end
        sent = sent + #chunk
        sock:settimeouts(1, left_ms(t), left_ms(t))
        ok, err = sock:send(chunk)
        if not ok then
          f:close()
          return send_failed(t, err)
        end
      end
      f:close()
    else
      out[#out + 1] = x
    end
  end
  sock:settimeouts(1, left_ms(t), left_ms(t))
  local ok, err = sock:send(out)
  if not ok then
    return send_failed(t, err)
  end
  return true
end

local function json_type(ct)
  ct = lower(match(ct or "", "^[^;%s]*"))
  return ct == "application/json" or (#ct > 5 and sub(ct, -5) == "+json")
end

-- the response headers arrived
local function on_head(t, r)
  local req = t.req
  t.status, t.head = r.status, r.head
  t.headers = wire.parse_headers(r.head)
  t.request_id = t.headers["x-request-id"]
  local ok2xx = t.status >= 200 and t.status < 300
  if req.stream and ok2xx and not json_type(t.headers["content-type"]) then
    t.sse = wire.sse(req.max_event_bytes)
  elseif req.stream and ok2xx then
    t.json_body = true
  end
  if req.to_path and ok2xx then
    local f, err = open(req.to_path, "wb")
    if f == nil then
      t.kind, t.message = "io", format("cannot create '%s': %s", req.to_path, os_reason(err, req.to_path))
      return false
    end
    t.out, t.written = f, 0
  end
  return true
end

-- queue the events of a piece of a stream's body; false on a failure
local function on_events(t, bytes)
  local events, msg, code = t.sse:feed(bytes)
  if events == nil then
    t.kind, t.message = code == "too_large" and "too_large" or "connection", msg
    return false
  end
  for i = 1, #events do
    local ev = events[i]
    if not wire.valid_utf8(ev.data) or not wire.valid_utf8(ev.event) then
      t.kind, t.message = "decode", "an event of the stream is not valid UTF-8"
      return false
    end
    t.q_tail = t.q_tail + 1
    t.queue[t.q_tail] = { ev.data, ev.event }
    t.received = t.received + 1
  end
  return true
end

-- a piece of the body: to the file, the event parser or the buffer
local function on_body(t, bytes)
  if t.out then
    local ok, err = t.out:write(bytes)
    if not ok then
      t.kind, t.message = "io", format("cannot write '%s': %s", t.req.to_path, os_reason(err, t.req.to_path))
      return false
    end
    t.written = t.written + #bytes
    return true
  end
  if t.sse then return on_events(t, bytes) end
  local max = t.req.max_response_bytes or 64 * 1024 * 1024
  t.size = t.size + #bytes
  if t.size > max then
    t.body_parts = {}
    t.kind, t.message = "too_large", format("the response body is larger than max_response_bytes (%d)", max)
    return false
  end
  t.body_parts[#t.body_parts + 1] = bytes
  return true
end

-- what a parser result brought; false when the attempt failed (t.kind says)
local function progress(t, r)
  if r.head and not on_head(t, r) then return false end
  if r.body and not on_body(t, r.body) then return false end
  if r.done then
    t.keepalive = r.keepalive
    t.body = concat(t.body_parts)
    t.body_parts = {}
    settle(t, nil)
  end
  return true
end

-- one read from the socket, fed to the parser; settles the attempt when
-- it ends
local function read_once(t)
  local sock = t.sock
  local left = left_ms(t)
  sock:settimeouts(left, left, left)
  local data, err = sock:receiveany(READ_CHUNK)
  local r, msg, code
  if data == nil then
    if err == "timeout" then
      note_timeout(t, not t.req.stream and "response" or (t.head and "idle" or "headers"))
      return settle(t, "timeout")
    end
    if t.reused and not t.resent and not t.got_bytes then
      t.resent = true                               -- a kept connection the server had closed:
      drop_socket(t)                                -- send once more on a new one, as curl does
      t.st = "resend"
      return
    end
    if t.send_error and not t.got_bytes then return settle(t, "connection", t.send_error) end
    if err ~= "closed" then return settle(t, "connection", "reading the response failed: " .. tostring(err)) end
    r, msg, code = t.parser:finish()
  else
    t.got_bytes = true
    t.last_byte_at = now()
    r, msg, code = t.parser:feed(data)
  end
  if r == nil then
    local kind = (code == "head_too_large" or code == "line_too_long") and "too_large" or "connection"
    return settle(t, kind, msg)
  end
  if not progress(t, r) then return settle(t, t.kind, t.message) end
  if data == nil and t.st == "running" then        -- closed, yet not done: cannot be
    settle(t, "connection", "the connection closed before the response was complete")
  end
end

-- start an attempt: connect, send; on failure it settles
-- a retry of a client with a key provider: a fresh key line first
-- (openai.keys); false when the provider failed (t is then done)
local function renew_key(t)
  local line, err = t.req.key_refresh()
  if line == nil then
    t.kind, t.message, t.st = "auth", err, "done"
    return false
  end
  t.req.headers[1] = line          -- openai.keys put the key line first
  return true
end

local function start_attempt(t)
  local resend = t.st == "resend"
  if not resend and t.attempts > 0 and t.req.key_refresh and not renew_key(t) then return end
  if not resend then t.attempts = t.attempts + 1 end
  t.attempt_at = t.attempt_at and resend and t.attempt_at or now()
  t.last_byte_at = t.attempt_at
  t.status, t.head, t.headers, t.request_id, t.kind, t.message = 0, nil, nil, nil, nil, nil
  t.json_body, t.sse, t.keepalive, t.body, t.body_parts, t.size = false, nil, false, nil, {}, 0
  t.st, t.reused, t.got_bytes, t.sent, t.timeout_option = "running", false, false, false, nil
  t.send_error = nil
  if t.parser then t.parser:close() end
  t.parser = wire.http1(t.req.method)
  local ok, kind, msg, sock_failed = connect(t)
  if ok then ok, kind, msg, sock_failed = send_request(t) end
  t.sent = ok == true
  if sock_failed and kind == "connection" and t.sock then
    t.send_error = msg      -- a server may answer before it reads the body, then close:
    return                  -- read what it said before calling this a send failure
  end
  if not ok then
    if kind ~= "io" and t.reused and not t.resent then   -- a kept connection gone stale
      t.resent = true
      drop_socket(t)
      t.st = "resend"
      return
    end
    return settle(t, kind, msg)
  end
end

function T:ready()
  return self.st == "done" or self.st == "closed" or self.q_head <= self.q_tail
end

-- run the transfer until it is ready; true (the outcome is in result())
function T:await()
  while not self:ready() do
    if cut_by_cancel(self) then break end
    if self.st == "waiting" or self.st == "resend" then
      start_attempt(self)
    else
      read_once(self)
    end
  end
  return true
end

function T:state()
  local st = self.st
  if st == "resend" then return "running" end
  return st
end

-- the next queued event: data, event name; nil when none is queued
function T:next_event()
  local h = self.q_head
  if h > self.q_tail then return nil end
  local ev = self.queue[h]
  self.queue[h] = nil
  self.q_head = h + 1
  return ev[1], ev[2]
end

function T:result()
  local st = self.st
  local r = {
    state = st, status = self.status, attempts = self.attempts, received = self.received,
    queued = self.q_head <= self.q_tail, head = self.head, request_id = self.request_id,
    retry_after = self.retry_after, written = self.written,
  }
  if self.kind == "timeout" then r.timeout_option, r.timeout_ms = self.timeout_option, self.timeout_ms end
  if st == "done" then
    r.body = self.body or ""
    r.kind, r.message = self.kind, self.message
    if self.req.stream then
      r.partial_event = self.sse ~= nil and self.sse:pending() or false
      r.json_body = self.json_body
    end
  elseif st == "closed" and not self.was_done then
    r.kind = "closed"
  end
  return r
end

function T:close()
  if self.st == "closed" then return end
  self.was_done = self.st == "done"
  close_output(self)
  drop_socket(self)
  if self.parser then self.parser:close() end
  if self.sse then self.sse:close() end
  self.st = "closed"
end
T.release = T.close

-- close; graceful (a stream read to its end): first read the end of its
-- body for DONE_GRACE ms (a server sends it right behind [DONE]), so that
-- its connection can be kept; a body that goes on is cut then
local DONE_GRACE = 5

function T:finish(graceful)
  if graceful and self.st == "running" and self.sock then
    self.req = setmetatable({ stream = true, idle_timeout = DONE_GRACE, deadline = 0 },
                            { __index = self.req })
    self.last_byte_at = now()
    local until_ms = now() + DONE_GRACE
    while self.st == "running" and now() < until_ms do read_once(self) end
  end
  self:close()
end

-- }==================================================================


-- {=================================================================
-- tasks on ngx.thread light threads (openai.spawn, openai.parallel)
-- ==================================================================

local function pack(...)
  return { n = select("#", ...), ... }
end

-- a task here is an openai.Task (done, result, on_done are the
-- scheduler's) that runs on an ngx.thread: only starting and cancelling it
-- differ
local Task = setmetatable({}, { __index = sched.Task })
Task.__index = Task
M.Task = Task

-- Each request (or timer) has its own tasks: openai.step counts only the
-- calling request's, so a request never waits for another's, and tasks of a
-- request that ended (ngx.exit, a client gone: nginx kills its threads)
-- count nowhere. A task whose thread was killed ends as cancelled.
local tasks_of_ctx = setmetatable({}, { __mode = "k" })    -- ngx.ctx -> { [task] = true }
local task_of_thread = setmetatable({}, { __mode = "k" })  -- thread coroutine -> its task

local function forget(task)
  local mine = task.mine
  if mine then mine[task] = nil end
end

local function task_done(task, ok, res)
  complete(task, ok, res, forget)
end

local function run_task(task, fn, ...)
  task_of_thread[co_running()] = task
  local res = pack(pcall(fn, ...))
  if res[1] then
    task_done(task, true, pack(unpack(res, 2, res.n)))
  else
    task_done(task, false, { nil, res[2], n = 2 })
  end
end

-- a task whose light thread is dead without having ended it was killed
-- (ngx.thread.kill, ngx.exit in another thread): it ends as cancelled
local function reap(task)
  if not task.finished and task.thread and co_status(task.thread) == "dead" then
    task_done(task, false, cancelled())
  end
end

-- fn(...) on a light thread of its own; it starts at once and runs while
-- the caller waits for anything
function M.spawn(fn, ...)
  local task = setmetatable({ finished = false, ok = nil, res = nil, callbacks = nil }, Task)
  local ctx = ngx.ctx
  local mine = tasks_of_ctx[ctx]
  if mine == nil then
    mine = {}
    tasks_of_ctx[ctx] = mine
  end
  task.mine = mine
  mine[task] = true
  task.thread = ngx.thread.spawn(run_task, task, fn, ...)
  return task
end

-- the running light thread's task (nil outside any), for its transfers
function M.running_task()
  return task_of_thread[co_running()]
end

function Task:done()
  reap(self)
  return self.finished
end

function Task:result()
  reap(self)
  return sched.Task.result(self)
end

-- only a thread's spawner may kill it: from any other thread of the
-- request the task is marked and ends as cancelled at once; its thread
-- sends nothing more (a retry wait looks at the mark every CANCEL_SLICE
-- ms; a read in progress ends as reads do: nginx lets no other thread cut
-- it, and a read in slices would log each slice's timeout)
function Task:cancel()
  reap(self)
  if self.finished then return false end
  self.cancelled = true
  pcall(ngx.thread.kill, self.thread)
  task_done(self, false, cancelled())
  return true
end

-- the calling request's tasks still running
local function live_tasks(mine)
  local n = 0
  if mine == nil then return 0 end
  for task in pairs(mine) do
    reap(task)
    if not task.finished then n = n + 1 end
  end
  return n
end

-- openai.step inside nginx: the tasks run by themselves; wait (yielding to
-- nginx) at most max_wait_ms while some of this request's are running, and
-- say how many are
function M.step(max_wait_ms)
  local mine = tasks_of_ctx[ngx.ctx]
  if live_tasks(mine) == 0 then return 0 end
  ngx.sleep((max_wait_ms or 0) / 1000)
  return live_tasks(mine)
end

-- openai.parallel inside nginx: `concurrency` light threads take the
-- functions in order; results[i] = { returns... } or { nil, err }
function M.parallel(fns, concurrency)
  local n = #fns
  local results, next_i = {}, 1
  local function worker()
    while next_i <= n do
      local i = next_i
      next_i = i + 1
      local res = pack(pcall(fns[i]))
      if res[1] then results[i] = pack(unpack(res, 2, res.n))
      else results[i] = { nil, res[2], n = 2 } end
    end
  end
  local threads = {}
  for k = 1, concurrency < n and concurrency or n do threads[k] = ngx.thread.spawn(worker) end
  for k = 1, #threads do ngx.thread.wait(threads[k]) end
  return results
end

-- }==================================================================

return M
