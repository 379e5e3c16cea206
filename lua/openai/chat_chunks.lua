-- openai.chat_chunks: a chat.completion assembled from its stream's chunks
-- (the full path; openai.stream folds the plain chunks with wire.chat_delta
-- and keeps the last of them as acc.last).
--
local json = require "openai.json"
local wire = require "openai.wire"

local type, ipairs, pairs, setmetatable, getmetatable, tostring =
      type, ipairs, pairs, setmetatable, getmetatable, tostring
local sort = table.sort
local null = json.null
local text_new, append, text_string = wire.text_new, wire.text_append, wire.text_string

local _ENV = nil -- luacheck: ignore 211

local M = {}

-- As the official SDKs assemble a stream, and nothing the server sent is
-- lost, whatever its name:
--   * a choice's delta assembles into its message: every string appends
--     (an identifier, `id`, `type`, `index` or `format`, is replaced
--     instead), objects merge key by key, arrays merge their objects by `index` and
--     append the rest, numbers and booleans take the latest value; the
--     fields the API names (content, refusal, role, tool_calls) keep their
--     own checks, and a field of the wrong type there is left out;
--   * the fields of a choice beside its delta (Azure's
--     content_filter_results, ...) and of a chunk beside its choices (id,
--     model, usage, Azure's prompt_filter_results, ...) are states: the
--     latest non-null value is kept, objects merging key by key;
--   * a field that only ever came as null is null in the result (save
--     usage, system_fingerprint and service_tier, then left out as before).
-- Text that grows by small pieces (a delta per event) is an openai.text
-- (src/ltext.c), whose bytes are copied into one C buffer as they come, so
-- no piece stays alive as a Lua string and nothing is joined in Lua;
-- text_string gives nil when nothing was appended.

local TEXT_MT = getmetatable(text_new())
local ARRAY_MT = json.array_mt

-- the fields of a choice and of its delta that have their own rules
local CHOICE_OWN = { index = true, delta = true, finish_reason = true, logprobs = true }
local DELTA_OWN = { content = true, role = true, refusal = true, tool_calls = true }
local TOOL_OWN = { index = true, id = true, type = true, ["function"] = true }
local FUNCTION_OWN = { name = true, arguments = true }
-- names that identify rather than carry text: a delta's string there
-- replaces, never appends (OpenRouter repeats reasoning_details[].format)
local REPLACED = { id = true, type = true, index = true, format = true }

local function is_list(v)
  return getmetatable(v) == ARRAY_MT or v[1] ~= nil
end

-- a decoded value as the result holds it: texts made strings, tables
-- copied (so that nothing the result holds is shared with a chunk the
-- caller was handed, or with the accumulator)
local function plain(v)
  if type(v) == "table" then
    local out = {}
    for k, x in pairs(v) do out[k] = plain(x) end
    return getmetatable(v) == ARRAY_MT and setmetatable(out, ARRAY_MT) or out
  end
  if getmetatable(v) == TEXT_MT then return text_string(v) or "" end
  return v
end

-- a state field: the latest non-null value, objects merged key by key
local function merge_state(into, k, v)
  if v == null then
    if into[k] == nil then into[k] = null end
    return
  end
  local have = into[k]
  if type(v) == "table" and type(have) == "table" and not is_list(v) and not is_list(have) then
    for kk, x in pairs(v) do merge_state(have, kk, x) end
  else
    into[k] = plain(v)
  end
end

local merge_delta

-- a list merge_list made -> its entries by index (weak: it goes with the
-- list), so that a long list merges in linear time
local by_index_of = setmetatable({}, { __mode = "k" })

-- a delta's array into the list `have` (ours): objects with a numeric
-- index merge into the entry of that index, the rest append
local function merge_list(have, v)
  local map = by_index_of[have]
  if map == nil then
    map = {}
    by_index_of[have] = map
  end
  for i = 1, #v do
    local e = v[i]
    if type(e) == "table" and not is_list(e) then
      local index = e.index
      if index ~= index then index = nil end          -- NaN: no key
      local at = type(index) == "number" and map[index] or nil
      if at == nil then
        at = {}
        have[#have + 1] = at
        if type(index) == "number" then map[index] = at end
      end
      for k, x in pairs(e) do merge_delta(at, k, x) end
    else
      have[#have + 1] = plain(e)
    end
  end
end

-- a delta field: strings append (into an openai.text), objects merge key
-- by key, arrays by index, other values replace
function merge_delta(into, k, v)
  if v == null then
    if into[k] == nil then into[k] = null end
    return
  end
  local have, tv = into[k], type(v)
  if tv == "string" then
    if REPLACED[k] then
      into[k] = v
    elseif getmetatable(have) == TEXT_MT then
      append(have, v)
    else
      local t = text_new()
      append(t, v)
      into[k] = t
    end
  elseif tv == "table" then
    local list = is_list(v)
    if type(have) ~= "table" or is_list(have) ~= list then
      have = list and setmetatable({}, ARRAY_MT) or {}
      into[k] = have
    end
    if list then
      merge_list(have, v)
    else
      for kk, x in pairs(v) do merge_delta(have, kk, x) end
    end
  else
    into[k] = v
  end
end

-- the fields of t that `own` does not name, merged by `merge` into `into`
local function merge_others(into, t, own, merge)
  for k, x in pairs(t) do
    if not own[k] then merge(into, k, x) end
  end
end

local function chat_choice(acc, index)
  local c = acc.by_index[index]
  if c == nil then
    c = { index = index, role = nil, content = text_new(), refusal = text_new(), tools = {}, finish_reason = nil,
          logprobs = nil, more = {}, extra = {}, last = nil }
    acc.by_index[index] = c
    acc.indices[#acc.indices + 1] = index
  end
  return c
end

-- the index of a choice or a tool call: a non-negative integer (below 2^31,
-- so it is a plain table key and sorts), or, when missing or null, its
-- position in its array (0-based, as the API counts); nil when it is
-- anything else
local MAX_INDEX = 2147483647
local function index_of(x, pos)
  if x == nil or x == null then return pos end
  if type(x) == "number" and x >= 0 and x <= MAX_INDEX and x % 1 == 0 then return x end
  return nil
end

local function bad_index(where, x)
  local got = type(x) == "number" and ("the number " .. tostring(x)) or json.what(x)
  return where .. ".index is not a non-negative integer (it is " .. got .. ")"
end

-- one tool call delta into its slot
local function add_tool_call(slot, tc)
  if type(tc.id) == "string" then slot.id = tc.id end
  if type(tc.type) == "string" then slot.type = tc.type end
  local f = tc["function"]
  if type(f) == "table" then
    if type(f.name) == "string" then append(slot.name, f.name) end
    if type(f.arguments) == "string" then append(slot.arguments, f.arguments) end
    if not is_list(f) then merge_others(slot.fmore, f, FUNCTION_OWN, merge_delta) end
  end
  if not is_list(tc) then merge_others(slot.more, tc, TOOL_OWN, merge_delta) end
end

-- fold a delta's tool_calls into choice c; a message when an index is bad
local function add_tool_calls(c, calls, k)
  for j = 1, #calls do
    local tc = calls[j]
    if type(tc) == "table" then
      local i = index_of(tc.index, j - 1)
      if i == nil then
        return bad_index("choices[" .. k .. "].delta.tool_calls[" .. j .. "]", tc.index)
      end
      local slot = c.tools[i]
      if slot == nil then
        slot = { id = nil, type = "function", name = text_new(), arguments = text_new(), more = {}, fmore = {} }
        c.tools[i] = slot
      end
      add_tool_call(slot, tc)
    end
  end
  return nil
end

-- append the entries of a chunk's logprobs list (content or refusal)
local function add_logprobs(lp, field, list)
  if type(list) ~= "table" then return end
  local out = lp[field]
  if out == nil then
    out = json.array()
    lp[field] = out
  end
  local n = #out
  for i = 1, #list do out[n + i] = list[i] end
end

-- fold a choice's delta into c; a message when an index is bad
local function add_delta(c, d, k)
  local x = d.content
  if type(x) == "string" and x ~= "" then append(c.content, x) end
  x = d.role
  if type(x) == "string" then c.role = x end
  x = d.refusal
  if type(x) == "string" then append(c.refusal, x) end
  x = d.tool_calls
  if type(x) == "table" then
    local why = add_tool_calls(c, x, k)
    if why then return why end
  end
  if not is_list(d) then merge_others(c.more, d, DELTA_OWN, merge_delta) end
  return nil
end

local CHUNK_OWN = { choices = true }

-- the states of the last chunk wire.chat_delta folded (the stream kept it
-- as acc.last) and of the last choice it folded of c (c.last): read when
-- a chunk takes the full path, and by result()
local function flush_chunk(acc)
  local last = acc.last
  if last ~= nil then
    acc.last = nil
    merge_others(acc.head, last, CHUNK_OWN, merge_state)
  end
end

local function flush_choice(c)
  local last = c.last
  if last ~= nil then
    c.last = nil
    merge_others(c.extra, last, CHOICE_OWN, merge_state)
  end
end

-- fold one choice of a chunk (its k-th) into the accumulator; a message
-- when an index is bad
local function add_choice(acc, ch, k)
  local index = index_of(ch.index, k - 1)
  if index == nil then return bad_index("choices[" .. k .. "]", ch.index) end
  local c = acc.by_index[index] or chat_choice(acc, index)
  flush_choice(c)
  local d = ch.delta
  if type(d) == "table" then
    local why = add_delta(c, d, k)
    if why then return why end
  end
  local x = ch.finish_reason
  if type(x) == "string" then c.finish_reason = x end
  x = ch.logprobs
  if type(x) == "table" then
    local lp = c.logprobs
    if lp == nil then
      lp = {}
      c.logprobs = lp
    end
    add_logprobs(lp, "content", x.content)
    add_logprobs(lp, "refusal", x.refusal)
  end
  if not is_list(ch) then merge_others(c.extra, ch, CHOICE_OWN, merge_state) end
  return nil
end

-- fold one chunk into the accumulator (next() has wire.chat_delta fold the
-- plain ones itself: their deltas at once, their other fields, states, at
-- the next chunk that comes here, or at result()). Fields of the wrong type are left out of the result
-- (the chunk itself reaches the caller as it is); an index that cannot be
-- one returns a message
local function chat_add(acc, chunk)
  flush_chunk(acc)
  merge_others(acc.head, chunk, CHUNK_OWN, merge_state)
  local choices = chunk.choices
  if type(choices) ~= "table" then return nil end
  for k = 1, #choices do
    local ch = choices[k]
    if type(ch) == "table" then
      local why = add_choice(acc, ch, k)
      if why then return why end
    end
  end
  return nil
end

-- the fields of `from` (plain) that `into` has not
local function add_plain(into, from)
  for k, x in pairs(from) do
    if into[k] == nil then into[k] = plain(x) end
  end
  return into
end

local function tool_calls_of(tools)
  local keys = {}
  for k in pairs(tools) do keys[#keys + 1] = k end
  if #keys == 0 then return nil end
  sort(keys)
  local calls = {}
  for _, k in ipairs(keys) do
    local s = tools[k]
    local f = add_plain({ name = text_string(s.name) or "", arguments = text_string(s.arguments) or "" }, s.fmore)
    calls[#calls + 1] = add_plain({ id = s.id, type = s.type, ["function"] = f }, s.more)
  end
  return calls
end

local function choice_result(c)
  local msg = { role = c.role or "assistant" }
  msg.content = text_string(c.content) or null
  msg.refusal = text_string(c.refusal) or null
  msg.tool_calls = tool_calls_of(c.tools)
  add_plain(msg, c.more)
  local lp = c.logprobs
  if lp then lp = { content = lp.content or null, refusal = lp.refusal or null } end
  return add_plain({ index = c.index, message = msg, finish_reason = c.finish_reason or null,
                     logprobs = lp or null }, c.extra)
end

-- chunk fields left out of the result when they only came as null (as
-- before: a plain call's answer has them or not)
local NULL_LEFT_OUT = { system_fingerprint = true, service_tier = true, usage = true }

local function chat_result(acc)
  flush_chunk(acc)
  for _, c in pairs(acc.by_index) do flush_choice(c) end
  local choices = {}
  local idx = {}
  for i, v in ipairs(acc.indices) do idx[i] = v end
  sort(idx)
  for _, index in ipairs(idx) do choices[#choices + 1] = choice_result(acc.by_index[index]) end
  local r = { object = "chat.completion", choices = json.array(choices) }
  for k, x in pairs(acc.head) do
    if r[k] == nil and not (x == null and NULL_LEFT_OUT[k]) then r[k] = plain(x) end
  end
  return r
end

-- a new accumulator: the chunk's states (head), the choices by index and
-- in the order they came, the last chunk wire.chat_delta folded
function M.new()
  return { head = {}, by_index = {}, indices = {}, last = nil }
end

M.add = chat_add
M.result = chat_result

-- whether every choice announced (one at least) has its finish_reason
function M.finished(acc)
  local any = false
  for _, c in pairs(acc.by_index) do
    if c.finish_reason == nil then return false end
    any = true
  end
  return any
end

return M
