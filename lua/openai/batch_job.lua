-- openai.batch_job: client:run_batch{...}, a whole Batch API job: the
-- requests written as JSONL, uploaded, the batch created and polled (with
-- progress), its output and error files downloaded, and the results keyed
-- by custom_id. The OpenAI Batch service does the work; this is its client.

local core = require "openai.wire"
local json = require "openai.json"
local check = require "openai.check"
local errors = require "openai.errors"
local sched = require "openai.scheduler"
local endpoints = require "openai.endpoints"

local type, pcall, error, tostring = type, pcall, error, tostring
local format, gmatch = string.format, string.gmatch
local concat = table.concat

local _ENV = nil -- luacheck: ignore 211

local M = {}

local DONE = { completed = true, failed = true, expired = true, cancelled = true }

-- the requests as JSONL; custom ids checked unique
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
  return concat(lines, "\n") .. "\n"
end

-- wait ms between polls, driving the engine (other calls and tasks go on)
local function pause(ms)
  local until_ms = core.now() + ms
  while true do
    local left = until_ms - core.now()
    if left <= 0 then return end
    sched.step(left < 1000 and left or 1000)
  end
end

-- the lines of an output or error file into results[custom_id]
local function collect(text, results, batch)
  for line in gmatch(text, "[^\n]+") do
    local v = json.decode(line)
    if type(v) == "table" and type(v.custom_id) == "string" then
      local resp, e = v.response, v.error
      if type(resp) == "table" and type(resp.status_code) == "number" and resp.status_code < 300 then
        results[v.custom_id] = { result = resp.body }
      else
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
        results[v.custom_id] = { err = errors.new(f) }
      end
    end
  end
end

local function download(client, id, results, batch)
  if type(id) ~= "string" then return true end
  local text, err, meta = client:file_content(id)
  if text == nil then return nil, err, meta end
  collect(text, results, batch)
  return true
end

-- poll until the batch is done: batch, or nil, err (a failed poll, or the
-- deadline, after which the batch is cancelled)
local function poll(client, batch, p, started)
  while not DONE[batch.status] do
    if p.deadline and core.now() - started >= p.deadline then
      client:cancel_batch(batch.id)
      return nil, errors.new({
        kind = "timeout",
        message = format("the batch %s did not finish within %d ms; it was cancelled",
                         tostring(batch.id), p.deadline),
      })
    end
    pause(p.poll_interval)
    local b, err, meta = client:batch(batch.id)
    if b == nil then return nil, err, meta end
    batch = b
    if p.on_progress then p.on_progress(batch) end
  end
  return batch
end

function M.run(client, p)
  local fn = "openai.run_batch"
  check.table(fn, p, "params")
  endpoints.check_batch_target(fn, p)
  local body = jsonl(fn, p.endpoint, p.requests)
  local opts = {
    poll_interval = p.poll_interval == nil and 10000 or check.ms(fn, p.poll_interval, "poll_interval"),
    deadline = p.deadline ~= nil and check.ms(fn, p.deadline, "deadline") or nil,
    on_progress = p.on_progress,
  }
  if p.on_progress ~= nil and type(p.on_progress) ~= "function" then
    check.fail(fn, "on_progress", "must be a function", p.on_progress)
  end
  if sched.running_task() then
    error(fn .. ": call it outside a task (its pauses between polls drive the engine)", 0)
  end
  local started = core.now()
  local file, err, meta = client:upload_file({ file = { data = body, name = "batch.jsonl" },
                                               purpose = "batch" })
  if file == nil then return nil, err, meta end
  local batch
  batch, err, meta = client:create_batch({ input_file_id = file.id, endpoint = p.endpoint,
                                           completion_window = p.completion_window,
                                           metadata = p.metadata })
  if batch == nil then return nil, err, meta end
  if opts.on_progress then opts.on_progress(batch) end
  -- an error while waiting (an interrupt, on_progress raising) cancels the
  -- batch before it goes on up
  local ok, b, perr, pmeta = pcall(poll, client, batch, opts, started)
  if not ok then
    client:cancel_batch(batch.id)
    error(b, 0)
  end
  if b == nil then return nil, perr, pmeta end
  batch = b
  local results = {}
  local dok, derr, dmeta = download(client, batch.output_file_id, results, batch)
  if not dok then return nil, derr, dmeta end
  dok, derr, dmeta = download(client, batch.error_file_id, results, batch)
  if not dok then return nil, derr, dmeta end
  if batch.status ~= "completed" then
    return nil, errors.new({ kind = "api", message = format("the batch %s ended %s", tostring(batch.id),
                                                             tostring(batch.status)) }), batch
  end
  return results, nil, batch
end

return M
