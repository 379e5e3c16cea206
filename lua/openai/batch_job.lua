-- openai.batch_job: client:run_batch{...}, a whole Batch API job: the
-- requests written as JSONL, uploaded, the batch created and polled (with
-- progress), its output and error files downloaded, and the results keyed
-- by custom_id. The OpenAI Batch service does the work; this is its client.
--
-- Nothing that came back is lost: output and error files are streamed to
-- disk (a temporary file, or the caller's output_path / error_path) and
-- read line by line, so their size is not bounded by max_response_bytes;
-- a batch that ended failed, expired or cancelled returns what came back
-- on its error (err.results); every error carries the batch (err.batch:
-- id, status, file ids), so a batch still running is never lost from view;
-- every requested custom_id has an entry (a missing or malformed line is an
-- error entry), and lines that match no request are listed in
-- batch.unmatched.

local wire = require "openai.wire"
local json = require "openai.json"
local check = require "openai.check"
local errors = require "openai.errors"
local sched = require "openai.scheduler"
local endpoints = require "openai.endpoints"

local type, pcall, error, tostring = type, pcall, error, tostring
local format, sub, floor = string.format, string.sub, math.floor
local concat = table.concat
local open, tmpname, remove = io.open, os.tmpname, os.remove

local _ENV = nil -- luacheck: ignore 211

local M = {}

local DONE = { completed = true, failed = true, expired = true, cancelled = true }

-- the requests as JSONL; custom ids checked unique (requested: id -> true)
local function jsonl(fn, endpoint, requests)
  check.nonempty_array(fn, requests, "requests")
  local seen, lines = {}, {}
  for i = 1, #requests do
    local r = requests[i]
    if type(r) ~= "table" then check.fail(fn, "requests[" .. i .. "]", "must be a table", r) end
    local id = r.custom_id
    if type(id) ~= "string" or id == "" then
      check.fail(fn, "requests[" .. i .. "].custom_id", "must be a non-empty string", id)
    end
    if seen[id] then check.fail(fn, "requests[" .. i .. "].custom_id", "must be unique", id) end
    seen[id] = true
    if type(r.body) ~= "table" then
      check.fail(fn, "requests[" .. i .. "].body", "must be a table", r.body)
    end
    lines[i] = json.encode({ custom_id = id, method = "POST", url = endpoint, body = r.body },
                           fn, "requests[" .. i .. "]")
  end
  return concat(lines, "\n") .. "\n", seen
end

-- wait ms between polls, driving the engine (other calls and tasks go on)
local function pause(ms)
  local until_ms = wire.now() + ms
  while true do
    local left = until_ms - wire.now()
    if left <= 0 then return end
    sched.step(left < 1000 and left or 1000)
  end
end

-- {=================================================================
-- the result lines
-- ==================================================================

-- the error entry of a line that says its request failed
local function line_error(v, batch)
  local resp, e = v.response, v.error
  local f = { kind = "api", request_id = type(resp) == "table" and resp.request_id or nil }
  if type(resp) == "table" then
    f.status = resp.status_code
    local body = resp.body
    if type(body) == "table" and type(body.error) == "table" then e = body.error end
  end
  if type(e) == "table" then
    f.code, f.message, f.type = e.code, e.message, e.type
  end
  if type(f.message) ~= "string" then
    f.message = format("batch %s: request %s failed", tostring(batch.id), v.custom_id)
  end
  return errors.new(f)
end

-- one line of an output or error file (n: its number in file_id) into
-- run.results, or run.batch.unmatched when it matches no request
local function collect_line(run, line, file_id, n)
  if sub(line, -1) == "\r" then line = sub(line, 1, -2) end
  if line == "" then return end
  local batch = run.batch
  local v = json.decode(line)
  local id = type(v) == "table" and v.custom_id or nil
  if type(id) ~= "string" or not run.requested[id] then
    local um = batch.unmatched
    um[#um + 1] = { file_id = file_id, line = n, custom_id = type(id) == "string" and id or nil,
                    reason = type(id) == "string" and "a custom_id never requested"
                             or "not a result line (no custom_id)" }
    return
  end
  local resp = v.response
  if type(resp) == "table" and type(resp.status_code) == "number" and resp.status_code < 300 then
    run.results[id] = { result = resp.body }
  elseif type(resp) == "table" or type(v.error) == "table" then
    run.results[id] = { err = line_error(v, batch) }
  else
    run.results[id] = { err = errors.new({ kind = "decode", code = "malformed_result",
      message = format("batch %s: the result line %d of %s for %s has neither a response nor an error",
                       tostring(batch.id), n, file_id, id) }) }
  end
end

-- every requested id without a line gets an error entry
local function mark_missing(run)
  local results, batch = run.results, run.batch
  for i = 1, #run.order do
    local id = run.order[i]
    if results[id] == nil then
      results[id] = { err = errors.new({ kind = "api", code = "missing_result",
        message = format("batch %s returned no result for %s", tostring(batch.id), id) }) }
    end
  end
end

-- download file id (to path, or a temporary file removed after) and read
-- it line by line into run; true, or nil, err
local function download(client, run, id, path)
  if type(id) ~= "string" then return true end
  local target = path or tmpname()
  local res, err = client:file_content(id, { path = target })
  if res == nil then
    if path == nil then remove(target) end
    return nil, err
  end
  local f, why = open(target, "rb")
  if f == nil then
    return nil, errors.new({ kind = "io", message = format("cannot read '%s': %s", target, tostring(why)) })
  end
  local n = 0
  for line in f:lines() do
    n = n + 1
    collect_line(run, line, id, n)
  end
  f:close()
  if path == nil then remove(target) end
  return true
end

-- }==================================================================


-- {=================================================================
-- waiting
-- ==================================================================

-- ms left before the deadline (nil: none)
local function left_ms(p, started)
  if p.deadline == nil then return nil end
  return p.deadline - (wire.now() - started)
end

-- the deadline passed: cancel the batch; the timeout error
local function give_up(client, batch, p)
  local cancelled = client:cancel_batch(batch.id)
  return nil, errors.new({
    kind = "timeout",
    message = format("the batch %s did not finish within %d ms; it was cancelled",
                     tostring(batch.id), p.deadline),
  }), cancelled or batch
end

-- poll until the batch is done: batch, or nil, err, the last batch known
-- (a failed poll: the batch goes on running; the deadline: it is cancelled).
-- The wait ends at the deadline, not at the next poll after it
local function poll(client, batch, p, started)
  while not DONE[batch.status] do
    local left = left_ms(p, started)
    if left and left <= 0 then return give_up(client, batch, p) end
    pause(left and left < p.poll_interval and left or p.poll_interval)
    left = left_ms(p, started)
    if left and left <= 0 then return give_up(client, batch, p) end
    local b, err = client:batch(batch.id, left and { deadline = floor(left) > 0 and floor(left) or 1 } or nil)
    if b == nil then
      left = left_ms(p, started)
      if left and left <= 0 then return give_up(client, batch, p) end
      return nil, err, batch
    end
    batch = b
    if p.on_progress then p.on_progress(batch) end
  end
  return batch
end

-- }==================================================================


-- the error err (or a new one of kind and message) carrying batch and
-- what came back
local function failed(err, batch, results)
  err.batch, err.results = batch, results
  return nil, err, batch
end

-- why a batch that ended without completing did so
local function ended_error(batch)
  local why = ""
  local e = type(batch.errors) == "table" and type(batch.errors.data) == "table" and batch.errors.data[1]
  if type(e) == "table" and type(e.message) == "string" then why = ": " .. e.message end
  return errors.new({ kind = "api", code = "batch_" .. tostring(batch.status),
                      message = format("the batch %s ended %s%s", tostring(batch.id),
                                       tostring(batch.status), why) })
end

local function options(fn, p)
  local opts = {
    poll_interval = p.poll_interval == nil and 10000 or check.ms(fn, p.poll_interval, "poll_interval"),
    deadline = p.deadline ~= nil and check.ms(fn, p.deadline, "deadline") or nil,
    on_progress = p.on_progress,
    output_path = p.output_path ~= nil and check.name(fn, p.output_path, "output_path") or nil,
    error_path = p.error_path ~= nil and check.name(fn, p.error_path, "error_path") or nil,
  }
  if p.on_progress ~= nil and type(p.on_progress) ~= "function" then
    check.fail(fn, "on_progress", "must be a function", p.on_progress)
  end
  if opts.output_path and opts.output_path == opts.error_path then
    check.fail(fn, "error_path", "must differ from 'output_path'", opts.error_path)
  end
  return opts
end

-- upload and create: the batch, or nil, err, with what exists on err.batch
local function start(client, p, body)
  local file, err = client:upload_file({ file = { data = body, name = "batch.jsonl" }, purpose = "batch" })
  if file == nil then return failed(err, nil, nil) end
  local batch
  batch, err = client:create_batch({ input_file_id = file.id, endpoint = p.endpoint,
                                     completion_window = p.completion_window, metadata = p.metadata })
  if batch == nil then return failed(err, { input_file_id = file.id }, nil) end
  return batch
end

function M.run(client, p)
  local fn = "openai.run_batch"
  check.table(fn, p, "params")
  endpoints.check_batch_target(fn, p)
  local body, requested = jsonl(fn, p.endpoint, p.requests)
  local opts = options(fn, p)
  if sched.running_task() then
    error(fn .. ": call it outside a task (its pauses between polls drive the engine)", 0)
  end
  local started = wire.now()
  local batch, err = start(client, p, body)
  if batch == nil then return nil, err, err.batch end
  if opts.on_progress then opts.on_progress(batch) end
  -- an error while waiting (an interrupt, on_progress raising) cancels the
  -- batch before it goes on up
  local ok, b, perr, last = pcall(poll, client, batch, opts, started)
  if not ok then
    client:cancel_batch(batch.id)
    error(b, 0)
  end
  if b == nil then return failed(perr, last, nil) end
  batch = b
  batch.unmatched = {}
  local order = {}
  for i = 1, #p.requests do order[i] = p.requests[i].custom_id end
  local run = { batch = batch, results = {}, requested = requested, order = order }
  local dok, derr = download(client, run, batch.output_file_id, opts.output_path)
  if dok then dok, derr = download(client, run, batch.error_file_id, opts.error_path) end
  if not dok then return failed(derr, batch, run.results) end
  mark_missing(run)
  if batch.status ~= "completed" then return failed(ended_error(batch), batch, run.results) end
  return run.results, nil, batch
end

return M
