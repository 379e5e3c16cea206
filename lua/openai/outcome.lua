-- openai.outcome: from a transfer's outcome (t:result()) to a result or
-- an error object, and the meta of a call (status, headers, request id).

local core = require "openai.wire"
local json = require "openai.json"
local errors = require "openai.errors"
local secret = require "openai.secret"

local type, pairs, ipairs, tostring, setmetatable = type, pairs, ipairs, tostring, setmetatable
local rawget, rawset = rawget, rawset
local format, gsub = string.format, string.gsub

local _ENV = nil -- luacheck: ignore 211

local M = {}

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

-- the meta of a call from its outcome's values (t:outcome())
local function new_meta(status, request_id, attempts, head)
  return setmetatable({ status = status, request_id = request_id, attempts = attempts,
                        [HEAD] = head }, META)
end
M.meta = new_meta

local function meta_of(r)
  return new_meta(r.status, r.request_id, r.attempts, r.head)
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
-- actions): the body must be a JSON object, whatever else it is. utf8,
-- arrays, objects: the body's scan (t:outcome(true))
local function decode_body(m, body, utf8, arrays, objects, response_type, method, want_object)
  if response_type == "text" or response_type == "binary" then return body end
  local status = m.status
  if body == "" and not want_object and (status == 204 or method == "HEAD") then return {} end
  local v, derr = json.decode_scanned(body, arrays, objects)
  if v == nil then
    return nil, errors.new({
      kind = "decode", status = status, request_id = m.request_id, attempts = m.attempts,
      message = body == "" and "the response body is empty, not JSON"
                or "the response body is not valid JSON: " .. gsub(tostring(derr), "%c", " "),
      body = body,
    })
  end
  if not utf8 then
    return nil, errors.new({
      kind = "decode", status = status, request_id = m.request_id, attempts = m.attempts,
      message = "the response body is not valid UTF-8", body = body,
    })
  end
  if want_object and not json.is_object(v) then
    return nil, errors.new({
      kind = "decode", status = status, request_id = m.request_id, attempts = m.attempts,
      message = "the response body is not a JSON object: it is " .. json.what(v), body = body,
    })
  end
  return v
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

-- }==================================================================

M.meta_of, M.outcome_error, M.decode_body = meta_of, outcome_error, decode_body
M.json_body_error, M.stream_opened, M.open_error = json_body_error, stream_opened, open_error

return M
