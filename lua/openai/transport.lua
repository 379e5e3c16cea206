-- openai.transport: from a call's description to a transfer on the engine,
-- and from the transfer's outcome to `result, err, meta`.
--
-- The engine and the tasks live in openai.scheduler: a call made inside a
-- task yields while its transfer is in flight; any other call drives the
-- engine until its transfer is ready.

local core = require "openai.wire"   -- pure functions: no libcurl
local json = require "openai.json"
local errors = require "openai.errors"
local secret = require "openai.secret"
local sched = require "openai.scheduler"

local type, pairs, ipairs, next, tostring, setmetatable = type, pairs, ipairs, next, tostring, setmetatable
local rawget, rawset, require = rawget, rawset, require
local format, sub, lower, gsub, find = string.format, string.sub, string.lower, string.gsub, string.find
local concat, sort = table.concat, table.sort
local stderr = io.stderr

local _ENV = nil -- luacheck: ignore 211

local M = {}

local engine, acquire, adopt, release = sched.engine, sched.acquire, sched.adopt, sched.release
local refuse_finalizer = sched.refuse_finalizer

M.engine = engine

-- closed transfers of plain calls, used again by the next calls (their
-- userdata and buffers), at most POOL_MAX
local pool, POOL_MAX = {}, 16

-- submit a request description; inside a task, wait for a free slot of
-- its group first; the transfer belongs to the task (closed when it ends).
-- reuse: take a closed transfer from the pool
function M.submit(req, reuse, fn)
  refuse_finalizer(fn or "openai")
  local task, group = acquire()
  local old
  if reuse then
    old = pool[#pool]
    pool[#pool] = nil
  end
  local t = engine():submit(req, old)
  adopt(t, task, group)
  return t
end

-- {=================================================================
-- the transport switch: a client whose transport is "nginx" sends its calls
-- over nginx's cosockets (openai.nginx, loaded on first use). Its transfers
-- are Lua tables with the methods used here and in openai.stream on engine
-- transfers (result, body_utf8, ready, state, next_event, close), and an
-- await and a finish of their own; engine transfers are userdata.
-- ==================================================================

local nginx_transport

local function submit_for(client, req, reuse, fn)
  if client.transport == "nginx" then
    nginx_transport = nginx_transport or require "openai.nginx"
    return nginx_transport.submit(req, fn or "openai")
  end
  return M.submit(req, reuse, fn)
end

-- wait until t is ready (done, or a stream event queued); true, or nil and
-- a message when the engine itself failed
function M.await(t)
  if type(t) == "table" then return t:await() end
  return sched.await(t)
end

-- }==================================================================

-- close t and give its slot back; graceful: t may first read the rest of
-- its body in the background, so that its connection is kept
function M.finish(t, graceful)
  if type(t) == "table" then return t:finish(graceful) end
  release(t)
  if not graceful then
    t:close()
  elseif sched.running_task() then
    t:release(1000)                       -- the scheduler's steps finish it
  else
    t:release(1000)
    sched.drain(t, 200)                   -- a body ends right after its last event
  end
end

-- {=================================================================
-- building the request
-- ==================================================================

local function query_string(q)
  local keys = {}
  for k in pairs(q) do keys[#keys + 1] = k end
  sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  local out = {}
  for _, k in ipairs(keys) do
    local v = q[k]
    local ek = core.escape_segment(tostring(k))
    if type(v) == "table" then
      for _, x in ipairs(v) do out[#out + 1] = ek .. "=" .. core.escape_segment(tostring(x)) end
    else
      out[#out + 1] = ek .. "=" .. core.escape_segment(tostring(v))
    end
  end
  return concat(out, "&")
end

local ACCEPT = { json = "Accept: application/json", sse = "Accept: text/event-stream" }

-- the header lines of a call: the client's fixed ones, Accept, Content-Type,
-- then the caller's (which replace any of ours with the same name)
local function header_lines(client, accept, ctype, extra)
  local fixed = client._header_lines
  if extra == nil then
    local key = accept .. (ctype or "")
    local cached = client._header_cache[key]
    if cached then return cached end
    local lines = {}
    for i = 1, #fixed do lines[i] = fixed[i] end
    lines[#lines + 1] = ACCEPT[accept]
    if ctype then lines[#lines + 1] = "Content-Type: " .. ctype end
    client._header_cache[key] = lines
    return lines
  end
  local over = {}
  for name in pairs(extra) do over[lower(name)] = true end
  local lines = {}
  local function add(line)
    local name = lower(sub(line, 1, find(line, ":", 1, true) - 1))
    if not over[name] then lines[#lines + 1] = line end
  end
  for i = 1, #fixed do add(fixed[i]) end
  add(ACCEPT[accept])
  if ctype then add("Content-Type: " .. ctype) end
  local names = {}
  for name in pairs(extra) do names[#names + 1] = name end
  sort(names)
  for _, name in ipairs(names) do lines[#lines + 1] = name .. ": " .. tostring(extra[name]) end
  return lines
end

-- spec: fn, method, path, query, json | body | parts, content_type,
-- headers (name -> value, already checked), stream, timeout, idle_timeout,
-- deadline, retry, max_response_bytes, max_event_bytes
function M.build(client, spec)
  local url = client.base_url .. spec.path
  local q = spec.query
  if client.azure_api_version then
    q = q or {}
    if q["api-version"] == nil then
      local q2 = { ["api-version"] = client.azure_api_version }
      for k, v in pairs(q) do q2[k] = v end
      q = q2
    end
  end
  if q and next(q) ~= nil then
    url = url .. (find(spec.path, "?", 1, true) and "&" or "?") .. query_string(q)
  end
  local body, ctype = spec.body, spec.content_type
  if spec.json ~= nil then
    body = json.encode(spec.json, spec.fn, spec.json_root)
    ctype = ctype or "application/json"
  end
  return {
    method = spec.method or "GET",
    url = url,
    headers = header_lines(client, spec.stream and "sse" or "json", body and ctype or nil, spec.headers),
    body = body,
    parts = spec.parts,
    stream = spec.stream,
    timeout = spec.timeout or client.timeout,
    connect_timeout = client.connect_timeout,
    idle_timeout = spec.idle_timeout or client.idle_timeout,
    deadline = spec.deadline or client.deadline,
    retry = spec.retry,
    max_response_bytes = spec.max_response_bytes or client.max_response_bytes,
    max_event_bytes = spec.max_event_bytes or client.max_event_bytes,
  }
end

-- }==================================================================


-- {=================================================================
-- debug log
-- ==================================================================

local function log(client, line)
  line = secret.redact(line)
  if client.logger then client.logger(line) else stderr:write(line, "\n") end
end

function M.log_request(client, req)
  log(client, format("openai: --> %s %s", req.method, req.url))
  for _, h in ipairs(req.headers) do
    local c = find(h, ":", 1, true)
    local name = sub(h, 1, c - 1)
    if secret.header(name) then h = name .. ": [redacted]" end
    log(client, "openai:     " .. h)
  end
  if req.body then
    log(client, format("openai:     (body: %d bytes)", #req.body))
  elseif req.parts then
    log(client, format("openai:     (multipart body: %d parts)", #req.parts))
  end
end

function M.log_response(client, r, started)
  local ms = core.now() - started
  if r.kind then
    log(client, format("openai: <-- %s error after %d attempt(s), %.1f ms: %s", r.kind,
                       r.attempts, ms, gsub(r.message or "", "%c", " ")))
  else
    log(client, format("openai: <-- %d after %d attempt(s), %.1f ms, request_id %s, body %d bytes",
                       r.status, r.attempts, ms, tostring(r.request_id), #(r.body or "")))
  end
end

-- }==================================================================


-- {=================================================================
-- outcomes
-- ==================================================================

-- meta = { status, headers, request_id, attempts }; headers is parsed from
-- the raw block on first use (most callers never look)
local HEAD = {}   -- private key of the raw header block
local META = {
  __index = function(m, k)
    if k ~= "headers" then return nil end
    local h = core.parse_headers(rawget(m, HEAD) or "")
    rawset(m, "headers", h)
    return h
  end,
}

local function meta_of(r)
  return setmetatable({ status = r.status, request_id = r.request_id, attempts = r.attempts,
                        [HEAD] = r.head }, META)
end

-- meta of a failed call: no key in its request id or headers
local function redact_meta(meta)
  meta.request_id = secret.redact(meta.request_id)
  local head = rawget(meta, HEAD)
  if head then meta[HEAD] = secret.redact(head) end
  local h = rawget(meta, "headers")
  if h then
    for k, v in pairs(h) do h[k] = secret.redact(v) end
  end
  return meta
end
M.redact_meta = redact_meta

-- the start of a body that is not JSON, for a message (redacted, then cut)
local function snippet(body)
  local s = secret.cut(body or "", 200)
  return (gsub(s, "[%c\128-\255]", "?"))
end

-- the API's error fields (type, code, param, message: strings or numbers
-- only) of a decoded body or event v into f: from its `error` object, or
-- `error` itself when it is a string (the message); from v itself when it
-- has no error object and self_ok is set (an event that is the error)
local ERROR_FIELDS = { "type", "code", "param", "message" }
local function error_fields(v, f, self_ok)
  local eo = v.error
  if type(eo) == "string" then
    f.message = eo
    return f
  end
  if type(eo) ~= "table" then
    if not self_ok then return f end
    eo = v
  end
  for _, k in ipairs(ERROR_FIELDS) do
    local x = eo[k]
    if type(x) == "string" or type(x) == "number" then f[k] = x end
  end
  return f
end
M.error_fields = error_fields

-- the error object of a transfer outcome that is not a success
local function outcome_error(r, meta)
  if r.kind then
    local kind = r.kind
    if kind == "memory" or kind == "closed" then kind = "connection" end
    return errors.new({
      kind = kind, message = r.message, status = (r.status or 0) > 0 and r.status or nil,
      request_id = meta.request_id, attempts = r.attempts,
      retry_after = r.retry_after and r.retry_after / 1000 or nil,
    })
  end
  local f = {
    kind = "api", status = r.status, request_id = meta.request_id, attempts = r.attempts,
    retry_after = r.retry_after and r.retry_after / 1000 or nil,
  }
  local v = json.decode(r.body or "")
  if type(v) == "table" then error_fields(v, f) end
  if f.message == nil then
    local s = snippet(r.body)
    f.message = s ~= "" and format("HTTP %d: %s", r.status, s) or format("HTTP %d", r.status)
  end
  f.body = r.body
  return errors.new(f)
end

-- decode a successful body as response_type says; want_object (the typed
-- actions): the body must be a JSON object, whatever else it is
local function decode_body(r, meta, response_type, method, want_object)
  local body = r.body
  if response_type == "text" or response_type == "binary" then return body end
  if body == "" and not want_object and (r.status == 204 or method == "HEAD") then return {} end
  local v, derr = json.decode(body)
  if v == nil then
    return nil, errors.new({
      kind = "decode", status = r.status, request_id = meta.request_id, attempts = r.attempts,
      message = body == "" and "the response body is empty, not JSON"
                or "the response body is not valid JSON: " .. gsub(tostring(derr), "%c", " "),
      body = body,
    })
  end
  if not r.utf8 then
    return nil, errors.new({
      kind = "decode", status = r.status, request_id = meta.request_id, attempts = r.attempts,
      message = "the response body is not valid UTF-8", body = body,
    })
  end
  if want_object and not json.is_object(v) then
    return nil, errors.new({
      kind = "decode", status = r.status, request_id = meta.request_id, attempts = r.attempts,
      message = "the response body is not a JSON object: it is " .. json.what(v), body = body,
    })
  end
  return v
end

-- run one call to its end: result, nil, meta | nil, err, meta
function M.perform(client, spec)
  local req = M.build(client, spec)
  local debug = spec.debug or client.debug
  local started
  if debug then
    started = core.now()
    M.log_request(client, req)
  end
  local t = submit_for(client, req, true, spec.fn)
  local ok, emsg = M.await(t)
  local r = t:result()
  if spec.response_type == nil or spec.response_type == "json" then r.utf8 = t:body_utf8() end
  M.finish(t)
  if #pool < POOL_MAX and type(t) == "userdata" then pool[#pool + 1] = t end
  if not ok then r.kind, r.message = "connection", emsg end
  if debug then M.log_response(client, r, started) end
  local meta = meta_of(r)
  if r.kind or r.status >= 300 then return nil, outcome_error(r, redact_meta(meta)), meta end
  local v, err = decode_body(r, meta, spec.response_type, spec.method, spec.want_object)
  if v == nil then return nil, err, redact_meta(meta) end
  return v, nil, meta
end

-- a stream answered with a 2xx JSON body (the engine keeps it whole instead
-- of reading events): the server's error, or a body that is no stream
local function json_body_error(r, meta)
  local f = { kind = "stream", status = r.status, request_id = meta.request_id,
              attempts = r.attempts, body = r.body }
  local v = json.decode(r.body)
  if type(v) == "table" then error_fields(v, f) end
  if f.message == nil then
    local s = snippet(r.body)
    f.message = "the server answered with a JSON content type, not an event stream"
                .. (s ~= "" and ": " .. s or " (an empty one)")
  end
  return errors.new(f)
end

-- a ready stream transfer is handed over when it received an event (those
-- events come first, then whatever ended it: the engine never retries it),
-- or when it ended as a 2xx without a failure (the stream says what it
-- lacks); anything else failed before its first event
local function stream_opened(r)
  if r.received > 0 then return true end
  return r.state == "done" and not r.kind and r.status >= 200 and r.status < 300
end

-- the error of a stream that failed before its first event: an HTTP error
-- for a status >= 300, else the failure the engine saw; a 2xx is never an
-- `api` error
local function open_error(r, meta)
  if not r.kind and r.status < 300 then
    r.kind, r.message = "connection", format("the server sent no event stream (HTTP %d)", r.status)
  end
  return outcome_error(r, meta)
end

-- open a stream: the transfer once its first event is queued, or nil, err
-- when it failed before that (after its retries)
function M.open(client, spec)
  local req = M.build(client, spec)
  local debug = spec.debug or client.debug
  local started
  if debug then
    started = core.now()
    M.log_request(client, req)
  end
  local t = submit_for(client, req, false, spec.fn)
  local ok, emsg = M.await(t)
  local r = t:result()
  if ok and r.state == "done" and r.json_body and not r.kind and r.status < 300 then
    M.finish(t)
    if debug then M.log_response(client, r, started) end
    local meta = redact_meta(meta_of(r))
    return nil, json_body_error(r, meta), meta
  end
  if ok and stream_opened(r) then
    if debug then M.log_response(client, r, started) end
    return t, nil, meta_of(r)
  end
  M.finish(t)
  if not ok then r.kind, r.message = "connection", emsg end
  if debug then M.log_response(client, r, started) end
  local meta = redact_meta(meta_of(r))
  return nil, open_error(r, meta), meta
end

-- }==================================================================

return M
