-- openai.outcome: from a transfer's outcome (t:result()) to a result or
-- an error object, and the meta of a call (status, headers, request id).

local wire = require "openai.wire"
local json = require "openai.json"
local errors = require "openai.errors"
local secret = require "openai.secret"

local type, pairs, ipairs, tostring, setmetatable = type, pairs, ipairs, tostring, setmetatable
local rawget, rawset = rawget, rawset
local format, gsub, find, match = string.format, string.gsub, string.find, string.match
local concat = table.concat
local floor, tointeger = math.floor, math.tointeger

local _ENV = nil -- luacheck: ignore 211

local M = {}

-- {=================================================================
-- outcomes
-- ==================================================================

-- meta = { status, headers, request_id, attempts }; request_id and
-- headers are made on first use (most callers never look), redacted: a
-- server may echo the key in any header, on a success too. The raw values
-- stay under private keys
local redact = secret.redact
local HEAD, RID = {}, {}   -- private keys of the raw header block and request id
local META = {
  __index = function(m, k)
    if k == "request_id" then
      local id = redact(rawget(m, RID))
      rawset(m, "request_id", id)
      return id
    end
    if k ~= "headers" then return nil end
    local h = wire.parse_headers(redact(rawget(m, HEAD) or ""))
    rawset(m, "headers", h)
    return h
  end,
}

-- the meta of a call from its outcome's values (t:outcome())
local function new_meta(status, request_id, attempts, head)
  return setmetatable({ status = status, [RID] = request_id, attempts = attempts,
                        [HEAD] = head }, META)
end
M.meta = new_meta

local function meta_of(r)
  return new_meta(r.status, r.request_id, r.attempts, r.head)
end

-- no key in meta's request id or headers (reading them redacts them
-- already; this also covers fields set since)
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

-- text cut to n bytes (after redaction), on a UTF-8 character boundary;
-- control bytes become spaces, and any byte of a text that is not UTF-8 "?"
local function readable(text, n)
  local s, cut = secret.cut(text or "", n)
  if cut then s = gsub(s, "[\192-\255][\128-\191]*$", "") end
  s = gsub(s, "%c", " ")
  if not wire.valid_utf8(s) then s = gsub(s, "[\128-\255]", "?") end
  return s
end

-- the start of a body that is not JSON, for a message (redacted, then cut)
local function snippet(body)
  return readable(body, 200)
end

local ENTITIES = { amp = "&", lt = "<", gt = ">", quot = '"', apos = "'", nbsp = " ", ["#39"] = "'" }

-- the words of an error body that is not JSON: plain text as it is, an
-- HTML page (a proxy's) without its head, scripts, styles and tags; white
-- space folded; redacted, then cut
local function body_words(body)
  local s = body or ""
  if find(s, "^%s*<") then
    local title = match(s, "<[Tt][Ii][Tt][Ll][Ee][^>]*>(.-)<")
    s = gsub(s, "<[Hh][Ee][Aa][Dd][%s>].-</[Hh][Ee][Aa][Dd]%s*>", " ")
    s = gsub(s, "<[Ss][Cc][Rr][Ii][Pp][Tt].-</[Ss][Cc][Rr][Ii][Pp][Tt]%s*>", " ")
    s = gsub(s, "<[Ss][Tt][Yy][Ll][Ee].-</[Ss][Tt][Yy][Ll][Ee]%s*>", " ")
    s = gsub(gsub(s, "<[^>]*>", " "), "&(#?%w+);", ENTITIES)
    if not find(s, "%S") then s = title or "" end
  end
  s = gsub(gsub(s, "%s+", " "), "^ ", "")
  return snippet(gsub(s, " $", ""))
end

-- a number of a decoded body as text (cjson decodes 0 as 0.0 on Lua 5.3+)
local function number_text(x)
  if x == floor(x) and x > -1e15 and x < 1e15 then return format("%d", x) end
  return tostring(x)
end

-- the words of a FastAPI `detail` (vLLM and other Python servers): a
-- string, or a list of validation errors { loc = { "body", "messages", 0 },
-- msg = "..." }, each as "body.messages.0: msg", joined with "; "
local function detail_text(d)
  if type(d) == "string" then return d end
  if type(d) ~= "table" then return nil end
  local out = {}
  for i = 1, #d do
    local x = d[i]
    if type(x) == "string" then
      out[#out + 1] = x
    elseif type(x) == "table" and type(x.msg) == "string" then
      local loc, l = {}, x.loc
      if type(l) == "table" then
        for j = 1, #l do
          local p = l[j]
          if type(p) == "string" then loc[#loc + 1] = p
          elseif type(p) == "number" then loc[#loc + 1] = number_text(p) end
        end
      end
      out[#out + 1] = #loc > 0 and concat(loc, ".") .. ": " .. x.msg or x.msg
    end
  end
  if #out == 0 then return nil end
  return concat(out, "; ")
end

-- the API's error fields (type, code, param, message: strings or numbers
-- only) of a decoded body or event v into f. The shapes servers send:
--   { error = { message, type, code, param } }   OpenAI, Azure, vLLM, most
--   { error = "text" }                          Ollama, llama.cpp; events
--   [ { error = { ... } } ]                     Gemini's compatible endpoint
--   { detail = "text" | { { loc, msg }, ... } } FastAPI servers
--   { message = "text", ... }                   other servers (its type,
--                                               code and param with it)
-- and v itself when self_ok is set (an event that is the error). One
-- function for both transports' bodies and for stream events.
local ERROR_FIELDS = { "type", "code", "param", "message" }
local function error_fields(v, f, self_ok)
  if type(v[1]) == "table" then v = v[1] end
  local eo = v.error
  if type(eo) == "string" then
    f.message = eo
    return f
  end
  if type(eo) ~= "table" then
    local words = detail_text(v.detail)
    if words then
      f.message = words
      return f
    end
    if not self_ok and type(v.message) ~= "string" then return f end
    eo = v
  end
  for _, k in ipairs(ERROR_FIELDS) do
    local x = eo[k]
    if type(x) == "number" then f[k] = tointeger and tointeger(x) or x   -- 400, not 400.0
    elseif type(x) == "string" then f[k] = x end
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
      timeout_option = r.timeout_option, timeout_ms = r.timeout_ms,
    })
  end
  local f = {
    kind = "api", status = r.status, request_id = meta.request_id, attempts = r.attempts,
    retry_after = r.retry_after and r.retry_after / 1000 or nil,
  }
  local v = json.decode(r.body or "")
  if type(v) == "table" then error_fields(v, f) end
  if f.message == nil or f.message == "" then
    local words = body_words(r.body)
    f.message = words ~= "" and words or format("HTTP %d", r.status)
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
