-- openai.check: argument checks. Each raises a Lua error that names the
-- function and the field, e.g.
--   openai.chat: 'temperature' must be a number in [0, 2] (got 3)
-- and is called before anything is sent.

local type, tostring, error, format = type, tostring, error, string.format
local floor, huge = math.floor, math.huge
local wire = require "openai.wire"
local secret = require "openai.secret"
local check_name, valid_utf8 = wire.check_name, wire.valid_utf8

local _ENV = nil -- luacheck: ignore 211

local M = {}

-- how a bad value is shown after "got": short, no control bytes, no key
-- (redacted before it is cut)
local function show(v)
  local tv = type(v)
  if v == nil then return "nil" end
  if tv == "string" then
    local s, cut = secret.cut(v, 40)
    if cut then s = s .. "..." end
    s = s:gsub("[%c\128-\255]", "?")
    return "'" .. s .. "'"
  elseif tv == "number" then
    if v ~= v then return "nan" end
    return tostring(v)
  elseif tv == "boolean" then
    return tostring(v)
  end
  return "a " .. tv
end
M.show = show

-- raise "fn: 'field' what (got v)"; hidden: never show the value
function M.fail(fn, field, what, v, hidden)
  local got = hidden and (type(v) == "string" and "a hidden string" or show(v)) or show(v)
  error(secret.redact(format("%s: '%s' %s (got %s)", fn, field, what, got)), 0)
end
local fail = M.fail

function M.table(fn, v, field)
  if type(v) ~= "table" then fail(fn, field, "must be a table", v) end
  return v
end

function M.opt_table(fn, v, field)
  if v ~= nil and type(v) ~= "table" then fail(fn, field, "must be a table", v) end
  return v
end

local function finite(v)
  return type(v) == "number" and v == v and v ~= huge and v ~= -huge
end
M.finite = finite

function M.number_in(fn, v, field, lo, hi)
  if not finite(v) or v < lo or v > hi then
    fail(fn, field, format("must be a number in [%s, %s]", tostring(lo), tostring(hi)), v)
  end
  return v
end

function M.integer_in(fn, v, field, lo, hi)
  if not finite(v) or floor(v) ~= v or v < lo or (hi and v > hi) then
    if hi then fail(fn, field, format("must be an integer from %d to %d", lo, hi), v) end
    fail(fn, field, format("must be an integer >= %d", lo), v)
  end
  return floor(v)
end

-- a duration in milliseconds: a positive integer (0 allowed when zero_ok)
function M.ms(fn, v, field, zero_ok)
  if not finite(v) or floor(v) ~= v or v < (zero_ok and 0 or 1) or v > 2147483647 then
    fail(fn, field, zero_ok and "must be a whole number of milliseconds >= 0"
                           or "must be a whole number of milliseconds > 0", v)
  end
  return floor(v)
end

function M.boolean(fn, v, field)
  if type(v) ~= "boolean" then fail(fn, field, "must be a boolean", v) end
  return v
end

-- a non-empty string with no NUL, CR or LF (names, ids, enum-like values):
-- one C call says which rule fails, if any
function M.name(fn, v, field, hidden)
  if type(v) ~= "string" or v == "" then fail(fn, field, "must be a non-empty string", v, hidden) end
  local ok, why = check_name(v)
  if not ok then fail(fn, field, why, v, hidden) end
  return v
end

-- whether M.name / M.text would pass v (no field name built: callers
-- that compute one build it only to raise)
function M.is_name(v)
  return type(v) == "string" and v ~= "" and check_name(v) == true
end

-- any string that is valid UTF-8 (content)
function M.text(fn, v, field)
  if type(v) ~= "string" then fail(fn, field, "must be a string", v) end
  if not valid_utf8(v) then fail(fn, field, "must be valid UTF-8", v) end
  return v
end

function M.one_of(fn, v, field, set, list)
  if not set[v] then fail(fn, field, "must be one of " .. list, v) end
  return v
end

-- a Lua sequence with at least one element
function M.nonempty_array(fn, v, field)
  if type(v) ~= "table" or v[1] == nil then
    fail(fn, field, "must be a non-empty array", v)
  end
  return v
end

return M
