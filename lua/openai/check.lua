-- openai.check: argument checks. Each raises a Lua error that names the
-- function and the field, e.g.
--   openai.chat: 'temperature' must be a number in [0, 2] (got 3)
-- and is called before anything is sent.

local type, tostring, error, format, pairs = type, tostring, error, string.format, pairs
local find, sub, floor, huge = string.find, string.sub, math.floor, math.huge
local json = require "openai.json"

local _ENV = nil -- luacheck: ignore 211

local M = {}

-- how a bad value is shown after "got": short, no control bytes
local function show(v)
  local tv = type(v)
  if v == nil then return "nil" end
  if tv == "string" then
    local s = #v > 40 and sub(v, 1, 40) .. "..." or v
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

-- API keys seen by openai.new: never shown in a message, wherever they
-- turn up (a url, a header, a model id); a bounded set
local secrets, nsecrets = {}, 0

function M.add_secret(key)
  if secrets[key] then return end
  if nsecrets >= 64 then secrets, nsecrets = {}, 0 end
  secrets[key] = true
  nsecrets = nsecrets + 1
end

local function redact(s)
  for key in pairs(secrets) do
    local i, j = find(s, key, 1, true)
    while i do
      s = sub(s, 1, i - 1) .. "[redacted]" .. sub(s, j + 1)
      i, j = find(s, key, i + 10, true)
    end
  end
  return s
end

-- raise "fn: 'field' what (got v)"; secret: never show the value
function M.fail(fn, field, what, v, secret)
  local got = secret and (type(v) == "string" and "a hidden string" or show(v)) or show(v)
  error(redact(format("%s: '%s' %s (got %s)", fn, field, what, got)), 0)
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

-- a non-empty string with no NUL, CR or LF (names, ids, enum-like values)
function M.name(fn, v, field, secret)
  if type(v) ~= "string" or v == "" then fail(fn, field, "must be a non-empty string", v, secret) end
  if find(v, "[%z\r\n]") then fail(fn, field, "must not contain NUL, CR or LF", v, secret) end
  if not json.valid_utf8(v) then fail(fn, field, "must be valid UTF-8", v, secret) end
  return v
end

-- any string that is valid UTF-8 (content)
function M.text(fn, v, field)
  if type(v) ~= "string" then fail(fn, field, "must be a string", v) end
  if not json.valid_utf8(v) then fail(fn, field, "must be valid UTF-8", v) end
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
