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
-- terminal event raises an error object (kind "stream") from the iterator;
-- a silent server raises kind "timeout".

local json = require "openai.json"
local errors = require "openai.errors"
local transport = require "openai.transport"
local sched = require "openai.scheduler"

local type, ipairs, pairs, setmetatable, error, tostring = type, ipairs, pairs, setmetatable, error, tostring
local concat, sort = table.concat, table.sort
local null = json.null
local decode = json.decode

local _ENV = nil -- luacheck: ignore 211

local M = {}

local Stream = {}
Stream.__index = Stream
M.Stream = Stream

-- {=================================================================
-- assembling a chat.completion from its chunks
-- ==================================================================

-- text that grows by small pieces (a delta per event), in O(length) memory:
-- pieces gather in the rope's array part; every 64 they are joined into one
-- string pushed on a stack kept short by merging (each entry at most half the
-- one below it). Appending is a store and a count on the hot path.
local LEAF = 64

local function rope()
  return { n = 0, stack = {} }
end

local function flush(r)
  local st = r.stack
  local k = #st + 1
  st[k] = concat(r, "", 1, r.n)
  r.n = 0
  while k > 1 and #st[k] * 2 >= #st[k - 1] do
    st[k - 1] = st[k - 1] .. st[k]
    st[k] = nil
    k = k - 1
  end
end

local function append(r, s)
  local n = r.n + 1
  r[n] = s
  r.n = n
  if n == LEAF then flush(r) end
end

-- the whole text, or nil when nothing was appended
local function rope_text(r)
  if r.n == 0 and #r.stack == 0 then return nil end
  return concat(r.stack) .. concat(r, "", 1, r.n)
end

local function chat_choice(acc, index)
  local c = acc.by_index[index]
  if c == nil then
    c = { index = index, role = nil, content = rope(), refusal = rope(), tools = {}, finish_reason = nil,
          logprobs = nil }
    acc.by_index[index] = c
    acc.indices[#acc.indices + 1] = index
  end
  return c
end

local function add_tool_calls(c, calls)
  for _, tc in ipairs(calls) do
    local i = tc.index or 0
    local slot = c.tools[i]
    if slot == nil then
      slot = { id = nil, type = "function", name = rope(), arguments = rope() }
      c.tools[i] = slot
    end
    if type(tc.id) == "string" then slot.id = tc.id end
    if type(tc.type) == "string" then slot.type = tc.type end
    local f = tc["function"]
    if type(f) == "table" then
      if type(f.name) == "string" then append(slot.name, f.name) end
      if type(f.arguments) == "string" then append(slot.arguments, f.arguments) end
    end
  end
end

-- fold one chunk into the accumulator (hot: one call per event)
local function chat_add(acc, chunk)
  local x
  if acc.id == nil then
    acc.id, acc.created, acc.model = chunk.id, chunk.created, chunk.model
    x = chunk.service_tier
    if x ~= nil and x ~= null then acc.service_tier = x end
  end
  if acc.system_fingerprint == nil then
    x = chunk.system_fingerprint
    if x ~= nil and x ~= null then acc.system_fingerprint = x end
  end
  x = chunk.usage
  if x ~= nil and x ~= null then acc.usage = x end
  local choices = chunk.choices
  if type(choices) ~= "table" then return end
  local by_index = acc.by_index
  for k = 1, #choices do
    local ch = choices[k]
    if type(ch) == "table" then
      local index = ch.index or 0
      local c = by_index[index] or chat_choice(acc, index)
      local d = ch.delta
      if type(d) == "table" then
        x = d.content
        if type(x) == "string" then
          if x ~= "" then append(c.content, x) end
        end
        x = d.role
        if x ~= nil and x ~= null then c.role = x end
        x = d.refusal
        if x ~= nil and x ~= null and type(x) == "string" then append(c.refusal, x) end
        x = d.tool_calls
        if x ~= nil and x ~= null and type(x) == "table" then add_tool_calls(c, x) end
      end
      x = ch.finish_reason
      if x ~= nil and x ~= null then c.finish_reason = x end
      x = ch.logprobs
      if x ~= nil and x ~= null and type(x) == "table" then
        c.logprobs = c.logprobs or { content = {} }
        for _, lp in ipairs(x.content or {}) do c.logprobs.content[#c.logprobs.content + 1] = lp end
      end
    end
  end
end

local function chat_result(acc)
  local choices = {}
  local idx = {}
  for i, v in ipairs(acc.indices) do idx[i] = v end
  sort(idx)
  for _, index in ipairs(idx) do
    local c = acc.by_index[index]
    local msg = { role = c.role or "assistant" }
    msg.content = rope_text(c.content) or null
    msg.refusal = rope_text(c.refusal) or null
    local keys = {}
    for k in pairs(c.tools) do keys[#keys + 1] = k end
    if #keys > 0 then
      sort(keys)
      local calls = {}
      for _, k in ipairs(keys) do
        local s = c.tools[k]
        calls[#calls + 1] = { id = s.id, type = s.type,
                              ["function"] = { name = rope_text(s.name) or "",
                                                 arguments = rope_text(s.arguments) or "" } }
      end
      msg.tool_calls = calls
    end
    choices[#choices + 1] = { index = index, message = msg, finish_reason = c.finish_reason or null,
                              logprobs = c.logprobs or null }
  end
  return {
    id = acc.id, object = "chat.completion", created = acc.created, model = acc.model,
    system_fingerprint = acc.system_fingerprint, service_tier = acc.service_tier,
    choices = json.array(choices), usage = acc.usage,
  }
end

-- }==================================================================


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
    _acc = { by_index = {}, indices = {} }, _text = rope(), _final = nil,
  }, Stream)
  sched.bind(s, t)   -- returned by its task, it stays open (without a slot)
  return s
end

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

local function stream_error(self, f)
  f.request_id = f.request_id or self.meta.request_id
  f.attempts = f.attempts or self.meta.attempts
  f.status = f.status or self.meta.status
  local e = errors.new(f, self._client.api_key)
  self._err = e
  self:close()
  error(e, 0)
end

-- an event whose JSON says it is an error: raise it
local function event_error(self, v)
  local eo = type(v.error) == "table" and v.error or v
  stream_error(self, { kind = "stream", type = eo.type ~= "error" and eo.type or nil,
                       code = eo.code ~= null and eo.code or nil,
                       param = eo.param ~= null and eo.param or nil,
                       message = type(eo.message) == "string" and eo.message
                                 or "the server sent an error event" })
end

-- the transfer finished with nothing more queued: end, or raise what broke it
local function stream_end(self, r)
  self:close()
  if r.kind then
    local k = r.kind
    stream_error(self, { kind = (k == "timeout" or k == "too_large" or k == "decode") and k or "stream",
                         message = r.message, attempts = r.attempts })
  end
  stream_error(self, { kind = "stream", message = self.kind == "chat"
                       and "the stream ended before [DONE]"
                       or "the stream ended before response.completed" })
end

-- the next decoded event, or nil at the end; raises an error object
-- (hot: one call per event)
function Stream:next()
  if self._done then return nil end
  if self._err then error(self._err, 0) end
  if self._closed then
    stream_error(self, { kind = "stream", message = "the stream was closed before its end" })
  end
  local t = self._t
  local chat = self.kind == "chat"
  while true do
    local data, name = t:next_event()
    if data ~= nil then
      self.events = self.events + 1
      if chat and data == "[DONE]" then
        self._done = true
        self:close()
        return nil
      end
      local v, derr = decode(data)
      if type(v) ~= "table" then
        stream_error(self, { kind = "decode",
                             message = "an event of the stream is not a JSON object: " .. tostring(derr) })
      end
      local e = v.error
      if (e ~= nil and e ~= null) or name == "error" or v.type == "error" then event_error(self, v) end
      if chat then
        if self.accumulate then chat_add(self._acc, v) end
      else
        local ty = v.type
        if ty == "response.output_text.delta" and type(v.delta) == "string" and self.accumulate then
          append(self._text, v.delta)
        elseif TERMINAL[ty] then
          self._final = v.response
          self._done = true
          self:close()
        end
      end
      return v
    end
    -- nothing queued: finished, or wait for more
    local st = t:state()
    if st == "done" or st == "closed" then stream_end(self, t:result()) end
    local ok, emsg = transport.await(t)
    if not ok then stream_error(self, { kind = "connection", message = emsg }) end
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
  return self._final
end

-- the text so far: content of choice 0, or the Responses API's output_text
function Stream:text()
  if self.kind == "chat" then
    local c = self._acc.by_index[0]
    return c and rope_text(c.content) or ""
  end
  return rope_text(self._text) or ""
end

-- }==================================================================

return M
