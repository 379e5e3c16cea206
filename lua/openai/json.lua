-- openai.json: lua-cjson with the checks and array rules the client needs.
--
-- encode(value, fn, what) walks the value once before cjson sees it: it
-- refuses what JSON cannot carry (functions, cycles, NaN, invalid UTF-8)
-- with an error naming the field, and sends empty tables that must be
-- arrays as [] (tables marked with the array metatable, and fields the API
-- only knows as arrays). decode(text) keeps empty arrays as arrays, so a
-- decoded object sent back keeps its shape. Works with Debian's lua-cjson
-- 2.1.0 (no empty_array support) and with newer ones. With 2.1.0, texts go
-- first through the C decoder (src/ljson.c), which gives cjson's values for
-- the texts it takes and leaves the rest to cjson.

local cjson = require "cjson"
local cjson_safe = require "cjson.safe"   -- decode returns nil, err: no pcall on the hot path
local wire = require "openai.wire"
local redact = require("openai.secret").redact

local type, pairs, next, tostring = type, pairs, next, tostring
local getmetatable, setmetatable, pcall, error = getmetatable, setmetatable, pcall, error
local find, sub, byte, format, gsub = string.find, string.sub, string.byte, string.format, string.gsub
local concat = table.concat
local huge = math.huge
local mathtype = math.type  -- luacheck: ignore 143 (5.3+)
local tonumber, floor = tonumber, math.floor

local _ENV = nil -- luacheck: ignore 211

local M = {}

local encoder = cjson.new()
local quick = cjson_safe.new()          -- the fast path of encode: nil, err instead of raising
quick.encode_sparse_array(true)
quick.encode_max_depth(1000)
local decoder = cjson_safe.new()
encoder.encode_sparse_array(true)       -- a very sparse array goes as an object, not an error
encoder.encode_max_depth(1000)
decoder.decode_max_depth(1000)

-- the array marker: newer cjson's own (then cjson encodes empty ones as []),
-- else ours, handled with a placeholder
local native = encoder.empty_array_mt ~= nil and encoder.decode_array_with_array_mt ~= nil
local ARRAY_MT = native and encoder.array_mt or { __name = "openai.array" }
if native then decoder.decode_array_with_array_mt(true) end
local decode = decoder.decode

M.array_mt = ARRAY_MT
M.null = cjson.null

local PLACEHOLDER = "\0openai-empty-array\0"
local PLACEHOLDER_JSON = '"\\u0000openai-empty-array\\u0000"'

-- cjson 2.1.0 writes numbers with 14 significant digits; a number that
-- needs more (a 64-bit seed, an id) goes through a placeholder holding its
-- exact text, put back after encoding
local NUMBER_PREFIX = "\0openai-number:"
local NUMBER_PATTERN = '"\\u0000openai%-number:([^"\\]*)\\u0000"'

-- the exact JSON text of n when 14 digits would change it, else nil
local function exact_number(n)
  if mathtype and mathtype(n) == "integer" then
    if n < 1e14 and n > -1e14 then return nil end
    return format("%d", n)
  end
  if floor(n) == n and n < 1e14 and n > -1e14 then return nil end
  if tonumber(format("%.14g", n)) == n then return nil end
  return format("%.17g", n)
end

-- fields that the API only ever takes as arrays: an empty table there is []
local ARRAY_FIELDS = {}
for name in ("messages tools stop input content tool_calls functions include modalities " ..
             "annotations required enum anyOf oneOf allOf prefixItems file_ids " ..
             "vector_store_ids attachments data choices output images logprobs"):gmatch("%S+") do
  ARRAY_FIELDS[name] = true
end

function M.array(t)
  return setmetatable(t or {}, ARRAY_MT)
end

function M.is_array(t)
  return getmetatable(t) == ARRAY_MT
end

local function path_string(stack, n)
  local parts = {}
  for i = 1, n do
    local k = stack[i]
    if type(k) == "number" then parts[#parts + 1] = "[" .. k .. "]"
    elseif i == 1 then parts[#parts + 1] = k
    else parts[#parts + 1] = "." .. tostring(k) end
  end
  return redact(concat(parts))      -- an API key used as a field name is not shown
end

-- whether s is well-formed UTF-8 (checked in C, the same on every Lua)
local valid_utf8 = wire.valid_utf8
M.valid_utf8 = valid_utf8

-- walk v; return the value to encode (v itself, or a copy where empty
-- arrays had to be substituted) or raise naming the field
local function walk(v, stack, depth, seen, fn, key)
  local tv = type(v)
  if tv == "string" then
    if not valid_utf8(v) then
      error(format("%s: '%s' is not valid UTF-8", fn, path_string(stack, depth)), 0)
    end
    return v
  elseif tv == "number" then
    if v ~= v or v == huge or v == -huge then
      error(format("%s: '%s' must be a finite number (got %s)", fn, path_string(stack, depth),
                   v ~= v and "nan" or tostring(v)), 0)
    end
    local exact = exact_number(v)
    if exact then
      seen.numbers = true
      return NUMBER_PREFIX .. exact .. "\0"
    end
    return v
  elseif tv == "boolean" or v == cjson.null then
    return v
  elseif tv ~= "table" then
    error(format("%s: '%s' cannot be sent as JSON (a %s)", fn, path_string(stack, depth), tv), 0)
  end
  if seen[v] then
    error(format("%s: '%s' contains a cycle", fn, path_string(stack, depth)), 0)
  end
  if depth >= 900 then
    error(format("%s: '%s' is nested too deeply", fn, path_string(stack, depth)), 0)
  end
  if next(v) == nil then
    local mt = getmetatable(v)
    if mt == ARRAY_MT or (mt == nil and ARRAY_FIELDS[key]) then
      if native then
        return mt == ARRAY_MT and v or setmetatable({}, ARRAY_MT)
      end
      return PLACEHOLDER
    end
    return v
  end
  seen[v] = true
  local copy
  for k, x in pairs(v) do
    local tk = type(k)
    if tk ~= "string" and tk ~= "number" then
      error(format("%s: '%s' has a key that is a %s", fn, path_string(stack, depth), tk), 0)
    end
    stack[depth + 1] = k
    local y = walk(x, stack, depth + 1, seen, fn, k)
    if y ~= x then
      if not copy then
        copy = {}
        for k2, x2 in pairs(v) do copy[k2] = x2 end
        if native and getmetatable(v) == ARRAY_MT then setmetatable(copy, ARRAY_MT) end
      end
      copy[k] = y
    end
  end
  stack[depth + 1] = nil
  seen[v] = nil
  return copy or v
end

-- encode v as JSON; fn names the public function, root the top field
-- (for messages such as "openai.chat: 'messages[2].content' ...")
function M.encode(v, fn, root)
  -- the fast path: cjson's text, when a scan in C finds nothing that the walk
  -- below would change or refuse (invalid UTF-8, {} that may be an array,
  -- numbers cjson may have rounded); else, or when cjson refuses the value,
  -- the walk names the field or rewrites what must be
  local quick_s = quick.encode(v)
  if quick_s and wire.json_plain(quick_s) then return quick_s end
  local stack = { root }
  local seen = {}
  local w = walk(v, stack, root and 1 or 0, seen, fn or "openai", nil)
  local ok, s = pcall(encoder.encode, w)
  if not ok then
    error(format("%s: %s cannot be sent as JSON: %s", fn or "openai",
                 root and ("'" .. root .. "'") or "the body", tostring(s)), 0)
  end
  if not native and find(s, PLACEHOLDER_JSON, 1, true) then
    s = gsub(s, '"\\u0000openai%-empty%-array\\u0000"', "[]")
  end
  if seen.numbers then s = gsub(s, NUMBER_PATTERN, "%1") end
  return s
end

-- replace the placeholder strings by empty arrays, in place
local function restore(t)
  for k, x in pairs(t) do
    if x == PLACEHOLDER then t[k] = setmetatable({}, ARRAY_MT)
    elseif type(x) == "table" then restore(x) end
  end
end

-- the text with every empty array (outside strings) replaced by the placeholder;
-- nil when there is none
local function mark_empty_arrays(s)
  local out, pos, i = {}, 1, 1
  while true do
    local j = find(s, '[%["]', i)
    if not j then break end
    if byte(s, j) == 34 then            -- a string: skip to its closing quote
      local k = j + 1
      while true do
        local q = find(s, '["\\]', k)
        if not q then return nil end    -- malformed: cjson will say so
        if byte(s, q) == 92 then k = q + 2 else k = q + 1; break end
      end
      i = k
    else
      local _, e = find(s, "^%s*%]", j + 1)
      if e then
        out[#out + 1] = sub(s, pos, j - 1)
        out[#out + 1] = PLACEHOLDER_JSON
        pos = e + 1
        i = e + 1
      else
        i = j + 1
      end
    end
  end
  if pos == 1 then return nil end
  out[#out + 1] = sub(s, pos)
  return concat(out)
end

-- mark every empty table in t (and t itself) as an array, in place (a walk
-- in C)
local mark_arrays = wire.json_mark_arrays

-- decode JSON text: value, or nil and cjson's message
local json_empties = wire.json_empties

-- a UTF-8 byte-order mark that starts a text is skipped, as Python's and
-- Node's decoders do (a 3-byte test; the copy only for texts that have one)
local BOM = "\239\187\191"

-- the C decoder (src/ljson.c): the common texts, exactly as cjson 2.1.0
-- decodes them, with their empty arrays marked as it goes; nil when it
-- leaves a text to cjson (nil is no JSON value: null is cjson.null). Not
-- with a newer cjson, which marks every array itself
local fast_decode = not native and wire.json_decoder(ARRAY_MT) or nil

-- cjson's decode of s, where a scan of s already said whether it has empty
-- arrays (how many, or true) and empty objects outside strings
-- (wire.json_scan, t:outcome(true)): nothing scanned again
local function cjson_scanned(s, arrays, objects)
  if byte(s, 1) == 239 and sub(s, 1, 3) == BOM then s = sub(s, 4) end
  if native or not arrays then return decode(s) end
  -- there are empty arrays; with no empty object in the text, every empty
  -- table decoded is one of them
  if not objects then
    local v, err = decode(s)
    if type(v) == "table" then mark_arrays(v, ARRAY_MT, arrays ~= true and arrays or nil) end
    return v, err
  end
  -- both: tell them apart in the text (outside strings)
  local marked = mark_empty_arrays(s)
  local v, err = decode(marked or s)
  if v == nil then
    -- cjson's message about the text itself: the marked copy's positions
    -- (and what it found there) are not the text's (an error: not hot)
    if marked then
      local _, own = decode(s)
      err = own or err
    end
    return nil, err
  end
  if marked then
    if v == PLACEHOLDER then return setmetatable({}, ARRAY_MT) end
    if type(v) == "table" then restore(v) end
  end
  return v
end

-- decode_scanned(s, arrays, objects): the C decoder's value, else cjson's
-- (arrays and objects as cjson_scanned takes them)
local function decode_scanned(s, arrays, objects)
  if fast_decode then
    local v = fast_decode(s)
    if v ~= nil then return v end
  end
  return cjson_scanned(s, arrays, objects)
end
M.decode_scanned = decode_scanned

-- decode_object(s): a typed action's answer or a stream event in one C
-- call: s decoded (a byte-order mark skipped), its empty arrays marked,
-- when it is a JSON object; else nothing (decode_scanned and is_object say
-- why, and decode whatever the C decoder left to cjson)
M.decode_object = wire.json_object_decoder(decode, ARRAY_MT, native)

function M.decode(s)
  if native then return cjson_scanned(s) end
  local v = fast_decode(s)
  if v ~= nil then return v end
  return cjson_scanned(s, json_empties(s))   -- scanned only when cjson decodes
end

-- true when v, a decoded value, is a JSON object: a table that is not an
-- array (decoded arrays are either marked or have an element at [1]; an
-- object's keys are strings)
function M.is_object(v)
  return type(v) == "table" and getmetatable(v) ~= ARRAY_MT and v[1] == nil
end

-- what a decoded value is, for a message ("false", "an array", ...)
function M.what(v)
  local tv = type(v)
  if v == nil then return "missing" end
  if v == cjson.null then return "null" end
  if tv == "boolean" then return tostring(v) end
  if tv == "number" then return "a number" end
  if tv == "string" then return "a string" end
  if tv == "table" then return M.is_object(v) and "an object" or "an array" end
  return "a " .. tv
end

return M
