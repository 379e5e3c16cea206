-- openai.transport: the scheduler glue of one call: its request (built by
-- openai.request) submitted to the engine, awaited, and its outcome turned
-- into `result, err, meta` (by openai.outcome).
--
-- The engine and the tasks live in openai.scheduler: a call made inside a
-- task yields while its transfer is in flight; any other call drives the
-- engine until its transfer is ready.

local wire = require "openai.wire"   -- pure functions: no libcurl
local secret = require "openai.secret"
local sched = require "openai.scheduler"
local request = require "openai.request"
local outcome = require "openai.outcome"
local json = require "openai.json"
local key_providers = require "openai.keys"
local errors = require "openai.errors"

local type, ipairs, tostring, require, setmetatable = type, ipairs, tostring, require, setmetatable
local format, sub, gsub, find, byte = string.format, string.sub, string.gsub, string.find, string.byte
local concat = table.concat
local stderr = io.stderr

local _ENV = nil -- luacheck: ignore 211

local M = {}

local engine, acquire, adopt, release = sched.engine, sched.acquire, sched.adopt, sched.release
local refuse_finalizer, running_task = sched.refuse_finalizer, sched.running_task

M.engine = engine
M.build = request.build
local body_text, plain_target = request.body_text, request.plain_target
local gc_running = wire.gc_running       -- not true: maybe inside a finalizer
M.error_fields, M.redact_meta = outcome.error_fields, outcome.redact_meta

local meta_of, redact_meta, outcome_error, decode_body = outcome.meta_of, outcome.redact_meta,
                                                         outcome.outcome_error, outcome.decode_body
local json_body_error, stream_opened, open_error = outcome.json_body_error, outcome.stream_opened,
                                                   outcome.open_error
local new_meta = outcome.meta
local decode_object = json.decode_object

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
-- transfers (result, ready, state, next_event, close), and an
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

-- transfers whose call failed for want of a key (the provider failed on a
-- retry): the kind of their error, "auth"
local failed_kind = setmetatable({}, { __mode = "k" })

-- a retry of t that waits for a fresh key line (a client with a key
-- provider, openai.keys): give it one; false and a message when the
-- provider failed (t's call then fails with kind "auth")
local function renew_key(client, t)
  local line, err = key_providers.line(client)
  if line == nil then
    failed_kind[t] = "auth"
    return false, err
  end
  t:set_key(line)
  return true
end

-- wait until t is ready (done, or a stream event queued); true, or nil and
-- a message when the engine itself failed. client: t's, whose key provider
-- renews the key of each retry
function M.await(t, client)
  if type(t) == "table" then return t:await() end
  while true do
    local ok, emsg = sched.await(t)
    if not ok or not t:wants_key() then return ok, emsg end
    ok, emsg = renew_key(client, t)
    if not ok then return nil, emsg end
  end
end

-- engine:wait(t) outside any task, with the key renewals of M.await
local function wait_alone(client, t)
  while true do
    local ok, emsg = engine():wait(t)
    if not ok or not t:wants_key() then return ok, emsg end
    ok, emsg = renew_key(client, t)
    if not ok then return nil, emsg end
  end
end

-- the kind of a failure that is not the engine's outcome
function M.failed_kind(t)
  return failed_kind[t] or "connection"
end

-- }==================================================================

-- ms a stream read to its end waits for the end of its body (which a
-- server sends right behind [DONE]) so that its connection can be kept; a
-- body that goes on is cut then: the stream is over
local DONE_GRACE = 5

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
    sched.drain(t, DONE_GRACE)            -- the stream is over: its body's end, if it comes at once
  end
end

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
  local ms = wire.now() - started
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
-- one call, one stream
-- ==================================================================

-- the result of a 2xx outcome: its body decoded as spec says
local function success(spec, status, body, attempts, request_id, head, utf8, arrays, objects)
  local meta = new_meta(status, request_id, attempts, head)
  if utf8 and spec.want_object and spec.response_type == nil then
    local v = decode_object(body)             -- the common answer: one C call
    if v ~= nil then return v, nil, meta end
  end
  local v, err = decode_body(meta, body, utf8, arrays, objects, spec.response_type, spec.method,
                             spec.want_object)
  if v == nil then return nil, err, redact_meta(meta) end
  return v, nil, meta
end

-- any outcome of a done (or failed) transfer t: the whole result
local function settle(client, spec, t, ok, emsg, debug, started, utf8, arrays, objects)
  local r = t:result()
  M.finish(t)
  if #pool < POOL_MAX and type(t) == "userdata" then pool[#pool + 1] = t end
  if not ok then r.kind, r.message = M.failed_kind(t), emsg end
  if debug then M.log_response(client, r, started) end
  local meta = meta_of(r)
  if r.kind or r.status >= 300 then return nil, outcome_error(r, redact_meta(meta)), meta end
  if spec.to_path then return { path = spec.to_path, bytes = r.written }, nil, meta end
  local v, err = decode_body(meta, r.body, utf8, arrays, objects, spec.response_type, spec.method,
                             spec.want_object)
  if v == nil then return nil, err, redact_meta(meta) end
  return v, nil, meta
end

-- a plain call (the client's profile) outside any task: one C call submits,
-- drives the engine until t is done (what else became ready stays in the
-- engine's ready list for the next step) and hands a success over as values
local function run_plain(client, spec, profile, url, body, scan)
  local old = pool[#pool]
  pool[#pool] = nil
  local t, status, rbody, _, attempts, request_id, head, utf8, arrays, objects =
    engine():run(profile, spec.method or "GET", url, body, old, scan)
  if status == nil then return settle(client, spec, t, rbody == nil, rbody) end
  if #pool < POOL_MAX then pool[#pool + 1] = t end   -- closed already
  return success(spec, status, rbody, attempts, request_id, head, utf8, arrays, objects)
end

-- a call over nginx's cosockets (a transfer of openai.nginx): its outcome
-- through t:result(), the body scanned once (UTF-8, empty arrays and
-- objects) when it is JSON
local function perform_nginx(client, spec, req, scan, debug, started)
  local t = submit_for(client, req, true, spec.fn)
  local ok, emsg = M.await(t, client)
  local utf8, arrays, objects
  if scan and ok then utf8, arrays, objects = wire.json_scan(t:result().body or "") end
  return settle(client, spec, t, ok, emsg, debug, started, utf8, arrays, objects)
end

local download, perform_built

-- the failure of a call whose key provider failed before its first attempt
local function key_failure(message)
  local meta = new_meta(0, nil, 0, nil)
  return nil, errors.new({ kind = "auth", message = message, attempts = 0 }), meta
end

-- run one call to its end: result, nil, meta | nil, err, meta. json_body:
-- the body beside a kept spec (client.lua), else spec.json is sent
function M.perform(client, spec, json_body)
  local debug = spec.debug or client.debug
  local rtype = spec.response_type
  local scan = rtype == nil or rtype == "json"
  local alone = not debug and running_task() == nil and client.transport ~= "nginx"
  if alone and gc_running() ~= true then refuse_finalizer(spec.fn) end
  local body, ctype = body_text(spec, json_body)
  if alone then
    local profile, url = plain_target(client, spec, body and ctype or nil)
    if profile ~= nil then return run_plain(client, spec, profile, url, body, scan) end
  end
  local req, kerr = M.build(client, spec, body, ctype)
  if req == nil then return key_failure(kerr) end
  local started
  if debug then
    started = wire.now()
    M.log_request(client, req)
  end
  if req.to_path then return download(client, spec, req, scan, debug, started) end
  return perform_built(client, spec, req, scan, debug, started)
end

-- {=================================================================
-- downloads to a path: the body goes to a temporary file beside it (the
-- same directory, so the rename is one step), renamed over the path once
-- the call succeeded; a failed call leaves the old file as it was and
-- removes the temporary one. A path that names something other than a
-- regular file (a device, a directory) is written in place
-- ==================================================================

local function temp_beside(path)
  local bytes = wire.random_bytes(6)
  local tag = bytes and gsub(bytes, ".", function(c) return format("%02x", byte(c)) end)
              or format("%d", wire.now() * 1000 % 2147483647)
  return path .. ".openai-" .. tag .. ".part"
end

-- s with each plain occurrence of from replaced by to
local function replace_plain(s, from, to)
  if type(s) ~= "string" then return s end
  local out, pos = {}, 1
  while true do
    local i, j = find(s, from, pos, true)
    if not i then break end
    out[#out + 1] = sub(s, pos, i - 1) .. to
    pos = j + 1
  end
  out[#out + 1] = sub(s, pos)
  return concat(out)
end

-- rename tmp over path (replacing it, with UTF-8 paths on Windows too):
-- nil, or why not
local function commit(tmp, path)
  local ok, err = wire.replace_file(tmp, path)
  if ok then return nil end
  return err
end

function download(client, spec, req, scan, debug, started)
  local path = req.to_path
  local _, _, what = wire.upload_file(path)
  if what == "kind" then
    -- not a regular file (a device such as /dev/null, a directory): written
    -- in place, never replaced by a rename (as root, a rename would put a
    -- plain file where the device was)
    return perform_built(client, spec, req, scan, debug, started)
  end
  local tmp = temp_beside(path)
  req.to_path = tmp
  local res, err, meta = perform_built(client, spec, req, scan, debug, started)
  if res ~= nil then
    local why = commit(tmp, path)
    if why == nil then return res, nil, meta end
    err = errors.new({ kind = "io", message = format("cannot replace '%s': %s", path,
                                                     replace_plain(tostring(why), tmp, path)),
                       status = meta and meta.status, request_id = meta and meta.request_id,
                       attempts = meta and meta.attempts })
  end
  wire.remove_file(tmp)
  if err and err.message then err.message = replace_plain(err.message, tmp, path) end
  return nil, err, meta
end

-- }==================================================================

-- run a built request to its end
function perform_built(client, spec, req, scan, debug, started)
  if client.transport == "nginx" then return perform_nginx(client, spec, req, scan, debug, started) end
  local t = M.submit(req, true, spec.fn)
  local ok, emsg
  if running_task() == nil then ok, emsg = wait_alone(client, t) else ok, emsg = M.await(t, client) end
  -- the outcome as values, the body scanned once in C (UTF-8, empty arrays
  -- and objects) when it is JSON
  local status, rbody, kind, attempts, request_id, head, utf8, arrays, objects = t:outcome(scan)
  if ok and status and kind == nil and status < 300 and not debug and not spec.to_path then
    M.finish(t)
    if #pool < POOL_MAX then pool[#pool + 1] = t end
    return success(spec, status, rbody, attempts, request_id, head, utf8, arrays, objects)
  end
  return settle(client, spec, t, ok, emsg, debug, started, utf8, arrays, objects)
end

-- open a stream: the transfer once its first event is queued, or nil, err
-- when it failed before that (after its retries)
function M.open(client, spec)
  local req, kerr = M.build(client, spec)
  if req == nil then return key_failure(kerr) end
  local debug = spec.debug or client.debug
  local started
  if debug then
    started = wire.now()
    M.log_request(client, req)
  end
  local t = submit_for(client, req, false, spec.fn)
  local ok, emsg = M.await(t, client)
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
  if not ok then r.kind, r.message = M.failed_kind(t), emsg end
  if debug then M.log_response(client, r, started) end
  local meta = redact_meta(meta_of(r))
  return nil, open_error(r, meta), meta
end

-- }==================================================================

return M
