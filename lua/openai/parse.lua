-- openai.parse: structured outputs. A call that asks for JSON fitting a
-- schema (openai.schema), decodes the answer and checks it.
--
--   local obj, err, meta = client:parse{ messages = ..., schema = npc }
--   local obj, err, meta = client:parse_response{ input = ..., schema = npc }
--   local s = client:parse_stream{ messages = ..., schema = npc }
--   s:partial()  -- the object so far, as the tokens arrive
--   s:result()   -- obj, nil, meta | nil, err, meta (as parse)
--
-- Failures beyond the call's own: kind "decode" (the answer is not JSON,
-- or does not fit the schema: the message names the path of the first
-- wrong value), "refusal" (the model refused: its words in err.message),
-- "length" (the answer was cut at the token limit before it was whole).
-- meta.result holds the whole answer (the chat.completion or the response)
-- when the call succeeds.

local json = require "openai.json"
local errors = require "openai.errors"
local schema_mod = require "openai.schema"
local check = require "openai.check"
local call_as = require("openai.client").call_as
local wire = require "openai.wire"
local redact_meta = require("openai.transport").redact_meta

local type, pairs, ipairs, setmetatable, pcall, error, tostring =
      type, pairs, ipairs, setmetatable, pcall, error, tostring
local concat = table.concat

local _ENV = nil -- luacheck: ignore 211

local M = {}

-- p without schema, with the format field set; fails naming fn
local function request_of(fn, p, field)
  check.table(fn, p, "params")
  local s = schema_mod.of(fn, p.schema)
  if p[field] ~= nil then
    check.fail(fn, field, "is set from 'schema' here; give one or the other", p[field])
  end
  local q = {}
  for k, v in pairs(p) do if k ~= "schema" then q[k] = v end end
  return q, s
end

-- a failure of the answer (the call itself went well): its meta loses
-- the whole answer, and no string in it or in the error shows the key
local function fail(kind, message, meta, extra)
  local f = { kind = kind, message = message }
  if meta then
    meta.result = nil
    redact_meta(meta)
    f.request_id, f.attempts, f.status = meta.request_id, meta.attempts, meta.status
  end
  if extra then for k, v in pairs(extra) do f[k] = v end end
  return nil, errors.new(f), meta
end

-- the checked object of an answer's JSON text
local function checked(s, text, meta)
  local v, derr = json.decode(text)
  if v == nil then
    return fail("decode", "the answer is not JSON: " .. tostring(derr), meta, { text = text })
  end
  local why = s:check(v)
  if why then return fail("decode", why, meta, { text = text }) end
  return v, nil, meta
end

-- {=================================================================
-- chat
-- ==================================================================

local function nonempty(x)
  return type(x) == "string" and x ~= "" and x
end

-- the object of a chat.completion, or the error
local function from_completion(s, res, meta)
  local choice = type(res.choices) == "table" and res.choices[1]
  local msg = type(choice) == "table" and choice.message
  if type(msg) ~= "table" then
    return fail("decode", "the answer has no choices[1].message", meta)
  end
  local refusal = nonempty(msg.refusal)
  if refusal then return fail("refusal", refusal, meta, { refusal = refusal }) end
  if choice.finish_reason == "length" then
    return fail("length", "the answer was cut at the token limit (finish_reason \"length\") "
                .. "before its JSON was whole", meta, { text = nonempty(msg.content) or nil })
  end
  if choice.finish_reason == "content_filter" then
    return fail("refusal", "the answer was stopped by the content filter (finish_reason \"content_filter\")",
                meta)
  end
  local content = nonempty(msg.content)
  if not content then return fail("decode", "the answer has no content", meta) end
  return checked(s, content, meta)
end

function M.parse(client, p)
  local fn = "openai.parse"
  local q, s = request_of(fn, p, "response_format")
  q.response_format = s.response_format
  local res, err, meta = call_as.chat(fn, client, q)
  if res == nil then return nil, err, meta end
  meta.result = res
  return from_completion(s, res, meta)
end

-- }==================================================================


-- {=================================================================
-- Responses
-- ==================================================================

-- the output text and refusal of a response, walking every output item
-- (a reasoning item comes first on reasoning models)
local function output_parts(res)
  local texts, refusals = {}, {}
  local output = type(res) == "table" and res.output
  if type(output) ~= "table" then return texts, refusals end
  for _, item in ipairs(output) do
    if type(item) == "table" and item.type == "message" and type(item.content) == "table" then
      for _, part in ipairs(item.content) do
        if type(part) == "table" then
          if part.type == "output_text" and type(part.text) == "string" then texts[#texts + 1] = part.text
          elseif part.type == "refusal" and type(part.refusal) == "string" then
            refusals[#refusals + 1] = part.refusal
          end
        end
      end
    end
  end
  return texts, refusals
end

-- openai.output_text(res): the output text of a Responses result, joined
function M.output_text(res)
  if type(res) ~= "table" then check.fail("openai.output_text", "res", "must be a response table", res) end
  local texts = output_parts(res)
  return concat(texts)
end

local function from_response(s, res, meta)
  local texts, refusals = output_parts(res)
  if #refusals > 0 then
    local words = concat(refusals)
    return fail("refusal", words, meta, { refusal = words })
  end
  local inc = res.incomplete_details
  if res.status == "incomplete" then
    local reason = type(inc) == "table" and inc.reason or "unknown"
    local kind = reason == "content_filter" and "refusal" or "length"
    return fail(kind, "the response is incomplete (" .. tostring(reason) .. ") before its JSON was whole",
                meta, { text = texts[1] and concat(texts) or nil })
  end
  if #texts == 0 then return fail("decode", "the response has no output text", meta) end
  return checked(s, concat(texts), meta)
end

function M.parse_response(client, p)
  local fn = "openai.parse_response"
  local q, s = request_of(fn, p, "text")
  q.text = { format = s.format }
  local res, err, meta = call_as.response(fn, client, q)
  if res == nil then return nil, err, meta end
  meta.result = res
  return from_response(s, res, meta)
end

-- }==================================================================


-- {=================================================================
-- streaming into a table
-- ==================================================================

local ParseStream = {}
ParseStream.__index = ParseStream
M.ParseStream = ParseStream

local ARRAY_MT = json.array_mt

-- the text of one event: a chat delta's content (choice 0), or a
-- Responses output_text delta
local function delta_of(self, ev)
  if self._chat then
    local ch = type(ev.choices) == "table" and ev.choices[1]
    if type(ch) == "table" and (ch.index == nil or ch.index == 0) and type(ch.delta) == "table" then
      local c = ch.delta.content
      if type(c) == "string" then return c end
    end
    return nil
  end
  if ev.type == "response.output_text.delta" and type(ev.delta) == "string" then return ev.delta end
  return nil
end

-- the next event (after its text is read into the partial object), or nil
function ParseStream:next()
  local ev = self.stream:next()
  if ev == nil then return nil end
  local d = delta_of(self, ev)
  if d and d ~= "" then
    self._reader:feed(d)
    self._fresh = false
  end
  return ev
end

function ParseStream:each()
  return ParseStream.next, self, nil, self
end

-- the object so far: complete fields, the string being written, arrays
-- growing; nil before the first field arrives
function ParseStream:partial()
  if not self._fresh then
    self._fresh = true
    local v, text = self._reader:value(ARRAY_MT)
    if v == nil and text ~= nil then v = json.decode(text) end
    if v ~= nil then self._partial = v end
  end
  return self._partial
end

-- the text so far
function ParseStream:text()
  return self._reader:text()
end

function ParseStream:close()
  self.stream:close()
end
ParseStream.__close = ParseStream.close

local function drain(self)
  while self:next() ~= nil do end
end

-- obj, nil, meta | nil, err, meta: the stream read to its end, its answer
-- checked as parse does
function ParseStream:result()
  local ok, e = pcall(drain, self)
  local meta = self.stream.meta
  if not ok then
    if errors.is_error(e) then return nil, e, meta end
    error(e, 0)
  end
  local res = self.stream:result()
  meta.result = res
  if self._chat then return from_completion(self.schema, res, meta) end
  return from_response(self.schema, res, meta)
end

function M.parse_stream(client, p)
  local fn = "openai.parse_stream"
  check.table(fn, p, "params")
  if p.accumulate ~= nil and p.accumulate ~= true then
    check.fail(fn, "accumulate", "must be true or absent here (result() checks the whole answer)", p.accumulate)
  end
  local responses = p.input ~= nil and p.messages == nil
  local q, s = request_of(fn, p, responses and "text" or "response_format")
  local st, err, meta
  if responses then
    q.text = { format = s.format }
    st, err, meta = call_as.response_stream(fn, client, q)
  else
    q.response_format = s.response_format
    st, err, meta = call_as.chat_stream(fn, client, q)
  end
  if st == nil then return nil, err, meta end
  return setmetatable({ stream = st, schema = s, meta = meta, _chat = not responses,
                        _reader = wire.partial_new(), _fresh = true, _partial = nil }, ParseStream), nil, meta
end

-- }==================================================================

return M
