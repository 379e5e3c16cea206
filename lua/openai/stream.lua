-- openai.stream: a chat or Responses API stream as a Lua iterator.
--
--   for chunk in stream:each() do ... end   -- 5.2+, LuaJIT
--   while true do                            -- every Lua, 5.1 included
--     local chunk = stream:next()
--     if not chunk then break end
--   end
--   local completion = stream:result()       -- what a plain call returns
--
-- A stream is closed (its transfer cut or finished, its slot given back)
-- when it is exhausted, when it raises, when close() is called, when its
-- task (openai.spawn / openai.parallel) ends, unless the task returned it
-- (then it stays open for the caller, holding no slot), and on 5.4 when a
-- loop over each() is left early (the to-be-closed 4th value). Elsewhere a
-- loop left early keeps the stream open until one of the others: call
-- close() before making another call in the same task. On PUC 5.1 a
-- generic-for iterator cannot yield, so inside a task `for ... in each()`
-- drives the engine itself for each event (other tasks wait meanwhile); the
-- while loop over next() yields and lets them run.
--
-- Events are framed in C (src/sse.c) and decoded here one at a time. An
-- `error` event, a JSON `error` member, or a stream that ends before its
-- terminal event ([DONE], response.completed; or, for a chat stream whose
-- transfer ended cleanly, every choice's finish_reason) raises an error
-- object (kind "stream") from the iterator;
-- a silent server raises kind "timeout". Server data never raises a Lua
-- runtime error: an event that is not a JSON object, or a choice or tool
-- call index that cannot be one, raises kind "decode"; other fields of the
-- wrong type are left out of result(). A Responses stream that ends with
-- response.failed hands that event over like any other, then result()
-- raises kind "stream" with the response's error code and message.

local json = require "openai.json"
local errors = require "openai.errors"
local transport = require "openai.transport"
local sched = require "openai.scheduler"

local type, pairs, setmetatable, error, tostring, pcall = type, pairs, setmetatable, error, tostring, pcall
local null = json.null
local decode, decode_object, is_object = json.decode, json.decode_object, json.is_object
local error_fields = transport.error_fields
local wire = require "openai.wire"
local chunks = require "openai.chat_chunks"
local chat_delta, chat_finish = wire.chat_delta, wire.chat_finish
local chat_add, chat_result = chunks.add, chunks.result
local text_new, append, text_string = wire.text_new, wire.text_append, wire.text_string

local _ENV = nil -- luacheck: ignore 211

local M = {}

local Stream = {}
Stream.__index = Stream
M.Stream = Stream

-- whether every choice a chat stream announced (one at least) has its
-- finish_reason: a stream that closes cleanly there, without [DONE], is
-- complete
local function all_finished(self)
  if self.accumulate then return chunks.finished(self._acc) end
  local any = false
  for _, open in pairs(self._open) do
    if open then return false end
    any = true
  end
  return any
end

-- {=================================================================
-- the stream object
-- ==================================================================

local TERMINAL = { ["response.completed"] = true, ["response.failed"] = true,
                   ["response.incomplete"] = true }

-- kind: "chat" or "response"; accumulate false: keep nothing for result()
-- and text() (a stream of any length in constant memory)
function M.new(client, t, meta, kind, accumulate)
  local s = setmetatable({
    meta = meta, kind = kind, events = 0, accumulate = accumulate ~= false,
    _client = client, _t = t, _done = false, _closed = false, _err = nil,
    _acc = chunks.new(), _open = {}, _text = text_new(), _final = nil,
  }, Stream)
  -- what next() tests per event, decided once
  s._chat = kind == "chat"
  s._chat_acc = kind == "chat" and s.accumulate
  s._next_event = t.next_event
  sched.bind(s, t)   -- returned by its task, it stays open (without a slot)
  return s
end

-- _done and _err are set only with _closed: next() tests _closed alone
function Stream:close()
  if not self._closed then
    self._closed = true
    transport.finish(self._t, self._done)
  end
end
Stream.__close = Stream.close
-- a finalizer must not drive the engine (it may run inside the binding):
-- cut the transfer
function Stream:__gc()
  if not self._closed then
    self._closed = true
    transport.finish(self._t)
  end
end

-- an error object of this stream (its request id, attempts and status)
local function new_error(self, f)
  f.request_id = f.request_id or self.meta.request_id
  f.attempts = f.attempts or self.meta.attempts
  f.status = f.status or self.meta.status
  transport.redact_meta(self.meta)
  return errors.new(f)
end

local function stream_error(self, f)
  local e = new_error(self, f)
  self._err = e
  self:close()
  error(e, 0)
end

-- an event whose JSON says it is an error: raise it with the server's
-- fields (an `error` object or string, or the event itself)
local function event_error(self, v)
  local f = error_fields(v, { kind = "stream" }, true)
  if f.type == "error" then f.type = nil end   -- the Responses event's own type
  if f.message == nil or f.message == "" then f.message = "the server sent an error event" end
  stream_error(self, f)
end

-- the error result() raises for a response.failed: the response's error
local function failed_error(self, resp)
  local f = error_fields(resp, { kind = "stream" })
  if f.message == nil or f.message == "" then
    f.message = "the response failed (response.failed without an error message)"
  end
  return new_error(self, f)
end

-- a terminal Responses event: keep its response; response.failed makes
-- result() raise (the event itself still reaches the caller)
local function finish_response(self, ty, resp)
  if not is_object(resp) then
    stream_error(self, { kind = "decode", message = "event " .. self.events .. ": " .. ty
                         .. " carries no response object (it is " .. json.what(resp) .. ")" })
  end
  self._final = resp
  if ty == "response.failed" then self._failed = failed_error(self, resp) end
  self._done = true
  self:close()
end

-- the transfer finished with nothing more queued: end (nil), or raise what
-- broke it. A chat stream that closed cleanly without [DONE] is complete
-- when every choice it announced has its finish_reason
local function stream_end(self, r)
  if not r.kind and self._chat and all_finished(self) then
    self._done = true
    self:close()
    return nil
  end
  self:close()
  if r.kind then
    local k = r.kind
    stream_error(self, { kind = (k == "timeout" or k == "too_large" or k == "decode") and k or "stream",
                         message = r.message, attempts = r.attempts,
                         timeout_option = r.timeout_option, timeout_ms = r.timeout_ms })
  end
  stream_error(self, { kind = "stream", message = self.kind == "chat"
                       and "the stream ended before [DONE] (and before every choice had its finish_reason)"
                       or "the stream ended before response.completed" })
end

-- next() on a closed stream: nil at its end, else raise why it ended
local function next_closed(self)
  if self._done then return nil end
  if self._err then error(self._err, 0) end
  stream_error(self, { kind = "stream", message = "the stream was closed before its end" })
end

-- an event's data that wire.json_object_decoder did not take: the full
-- decode, whose value must be an object; else raise kind "decode"
local function event_object(self, data)
  local v, derr = decode(data)
  if is_object(v) then return v end
  stream_error(self, { kind = "decode", message = v == nil
    and "an event of the stream is not valid JSON: " .. tostring(derr)
    or "an event of the stream is not a JSON object: it is " .. json.what(v) })
end

-- an event that may be an error: raise it (an `error` member, an `error`
-- event name, or type "error")
local function other_event(self, v, name)
  local e = v.error
  if (e ~= nil and e ~= null and e ~= false) or name == "error" or v.type == "error" then
    event_error(self, v)
  end
end

-- next() for a Responses stream: decode, raise an error event, keep a text
-- delta, finish at a terminal event
local function response_event(self, data, name)
  local v = decode_object(data) or event_object(self, data)
  other_event(self, v, name)
  local ty = v.type
  if ty == "response.output_text.delta" and type(v.delta) == "string" and self.accumulate then
    append(self._text, v.delta)
  elseif TERMINAL[ty] then
    finish_response(self, ty, v.response)
  end
  return v
end

-- the next decoded event, or nil at the end; raises an error object
-- (hot: one call per event, where each Lua call and each type() costs
-- hundreds of instructions on PUC Lua. The data, already found valid UTF-8
-- by the core, is decoded in one C call; a plain content delta
-- (wire.chat_delta) of a choice already seen is appended here, inline)
function Stream:next()
  if self._closed then return next_closed(self) end
  local t = self._t
  while true do
    local data, name = self._next_event(t)
    if data ~= nil then
      self.events = self.events + 1
      if not self._chat then return response_event(self, data, name) end
      if data == "[DONE]" then
        self._done = true
        self:close()
        return nil
      end
      local v = decode_object(data) or event_object(self, data)
      if name ~= "" or v.error ~= nil or v.type ~= nil then other_event(self, v, name) end
      if self._chat_acc then
        -- a plain delta of a choice already seen is folded by chat_delta
        -- itself (true)
        local acc = self._acc
        if chat_delta(v, acc.by_index) then
          acc.last = v
        else
          local why = chat_add(acc, v)
          if why then
            stream_error(self, { kind = "decode", message = "event " .. self.events .. ": " .. why })
          end
        end
      else
        chat_finish(v, self._open)
      end
      return v
    end
    -- nothing queued: finished, or wait for more
    local st = t:state()
    if st == "done" or st == "closed" then return stream_end(self, t:result()) end
    local ok, emsg = transport.await(t, self._client)
    if not ok then stream_error(self, { kind = transport.failed_kind(t), message = emsg }) end
  end
end

-- for chunk in stream:each() do ... end ; the fourth value closes the
-- stream when the loop is left early (Lua 5.4; see the top for the others)
function Stream:each()
  return Stream.next, self, nil, self
end

-- the assembled result: a chat.completion, or the final response object;
-- reads the rest of the stream first
function Stream:result()
  while not self._done do
    if self:next() == nil then break end
  end
  if not self.accumulate and self.kind == "chat" then
    error("openai.stream: result() is not kept for a stream opened with accumulate = false", 2)
  end
  if self.kind == "chat" then return chat_result(self._acc) end
  if self._failed then error(self._failed, 0) end
  return self._final
end

-- {=================================================================
-- the non-raising forms (as cjson.safe is to cjson): a failure of the
-- stream (an error object: kind stream, timeout, decode, ...) comes back
-- as a value; any other error (a mistake in the program) still raises
-- ==================================================================

-- the next chunk; nil at the end; false, err when the stream failed
function Stream:next_safe()
  local ok, v = pcall(Stream.next, self)
  if ok then return v end
  if errors.is_error(v) then return false, v end
  error(v, 0)
end

-- for chunk, err in stream:each_safe() do ... end: every chunk, then one
-- (false, err) when the stream failed (the form of a list's res:each())
function Stream:each_safe()
  local failed = false
  local function step()
    if failed then return nil end
    local v, err = self:next_safe()
    if v == false then failed = true end
    return v, err
  end
  return step, self, nil, self
end

-- result() as a value: the result, or nil, err when the stream failed
function Stream:result_safe()
  local ok, v = pcall(Stream.result, self)
  if ok then return v end
  if errors.is_error(v) then return nil, v end
  error(v, 0)
end

-- }==================================================================

-- the text so far: content of choice 0, or the Responses API's output_text
function Stream:text()
  if self.kind == "chat" then
    local c = self._acc.by_index[0]
    return c and text_string(c.content) or ""
  end
  return text_string(self._text) or ""
end

-- }==================================================================

return M
