-- openai.schema: a JSON schema made strict for structured outputs, and the
-- check of a decoded answer against it.
--
--   local npc = openai.schema{ name = "npc", schema = { type = "object", ... } }
--   npc.response_format   -- chat:      { type = "json_schema", json_schema = {...} }
--   npc.format            -- Responses: { type = "json_schema", name = ..., schema = ... }
--   npc:check(value)      -- nil, or "npc.name: expected string, got number"
--
-- Strict mode (the official SDKs convert the same way): every object gets
-- additionalProperties = false and lists all its properties in required; a
-- property the caller did not require becomes a union with null (so the
-- model writes null where it has nothing). The caller's tables are copied,
-- never changed. A schema strict mode cannot take raises naming the path.

local json = require "openai.json"
local check = require "openai.check"

local type, pairs, ipairs, tostring, setmetatable, error =
      type, pairs, ipairs, tostring, setmetatable, error
local sort, concat = table.sort, table.concat
local format, match, sub = string.format, string.match, string.sub
local null = json.null

local _ENV = nil -- luacheck: ignore 211

local M = {}

local Schema = {}
Schema.__index = Schema
M.Schema = Schema

local FN = "openai.schema"

local TYPES = { string = true, number = true, integer = true, boolean = true, null = true,
                object = true, array = true }

local function fail(path, what, v)
  check.fail(FN, path, what, v)
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  return keys
end

local function is_list(t)
  if type(t) ~= "table" then return false end
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n == #t
end

-- {=================================================================
-- making a schema strict
-- ==================================================================

local strict

local function check_type(s, path)
  local t = s.type
  if t == nil then return end
  if type(t) == "string" then
    if not TYPES[t] then fail(path .. ".type", "must be a JSON schema type", t) end
  elseif is_list(t) and #t > 0 then
    for i, x in ipairs(t) do
      if not TYPES[x] then fail(path .. ".type[" .. i .. "]", "must be a JSON schema type", x) end
    end
  else
    fail(path .. ".type", "must be a type name or an array of them", t)
  end
end

-- a property the caller did not require: the same schema or null
local function nullable(s)
  local t = s.type
  if s.const ~= nil then return { anyOf = json.array({ s, { type = "null" } }) } end
  if s.enum ~= nil then
    local e = json.array({})
    for i, x in ipairs(s.enum) do e[i] = x end
    e[#e + 1] = null
    s.enum = e
  end
  if type(t) == "string" then
    if t ~= "null" then s.type = json.array({ t, "null" }) end
    return s
  elseif type(t) == "table" then
    for _, x in ipairs(t) do if x == "null" then return s end end
    local u = json.array({})
    for i, x in ipairs(t) do u[i] = x end
    u[#u + 1] = "null"
    s.type = u
    return s
  elseif s.anyOf ~= nil then
    s.anyOf[#s.anyOf + 1] = { type = "null" }
    return s
  end
  return { anyOf = json.array({ s, { type = "null" } }) }
end

local function strict_object(s, out, path)
  if s.additionalProperties ~= nil and s.additionalProperties ~= false then
    fail(path .. ".additionalProperties", "must be false or absent (strict mode)", s.additionalProperties)
  end
  out.additionalProperties = false
  local props = s.properties
  if props == nil then props = {} end
  if type(props) ~= "table" then fail(path .. ".properties", "must be a table", props) end
  local wanted = {}
  if s.required ~= nil then
    if not is_list(s.required) then fail(path .. ".required", "must be an array of names", s.required) end
    for i, name in ipairs(s.required) do
      if type(name) ~= "string" or props[name] == nil then
        fail(path .. ".required[" .. i .. "]", "must name one of the properties", name)
      end
      wanted[name] = true
    end
  end
  local p2, req = {}, json.array({})
  for _, name in ipairs(sorted_keys(props)) do
    if type(name) ~= "string" then fail(path .. ".properties", "must have string keys", name) end
    local sub_path = path .. ".properties." .. name
    local ps = strict(props[name], sub_path)
    if not wanted[name] then ps = nullable(ps) end
    p2[name] = ps
    req[#req + 1] = name
  end
  out.properties = p2
  out.required = req
end

-- a strict copy of schema s (at path, for messages)
strict = function(s, path)
  if type(s) ~= "table" then fail(path, "must be a schema table", s) end
  check_type(s, path)
  local out = {}
  for k, v in pairs(s) do out[k] = v end
  local t = s.type
  if t == "object" or (t == nil and s.properties ~= nil) then strict_object(s, out, path) end
  if s.items ~= nil then out.items = strict(s.items, path .. ".items") end
  for _, key in ipairs({ "anyOf", "allOf", "oneOf" }) do
    local list = s[key]
    if list ~= nil then
      if not is_list(list) or #list == 0 then fail(path .. "." .. key, "must be a non-empty array", list) end
      local l2 = json.array({})
      for i, x in ipairs(list) do l2[i] = strict(x, path .. "." .. key .. "[" .. i .. "]") end
      out[key] = l2
    end
  end
  if s.enum ~= nil and (not is_list(s.enum) or #s.enum == 0) then
    fail(path .. ".enum", "must be a non-empty array", s.enum)
  end
  for _, key in ipairs({ "$defs", "definitions" }) do
    local defs = s[key]
    if defs ~= nil then
      if type(defs) ~= "table" then fail(path .. "." .. key, "must be a table", defs) end
      local d2 = {}
      for _, name in ipairs(sorted_keys(defs)) do d2[name] = strict(defs[name], path .. "." .. key .. "." .. name) end
      out[key] = d2
    end
  end
  local ref = s["$ref"]
  if ref ~= nil and (type(ref) ~= "string" or not match(ref, "^#/")) then
    fail(path .. ".$ref", "must be a local reference ('#/$defs/name')", ref)
  end
  return out
end

-- openai.schema{ name =, schema =, description = } -> a strict schema
function M.new(def)
  check.table(FN, def, "params")
  local name = def.name
  if type(name) ~= "string" or not match(name, "^[%w_%-]+$") or #name > 64 then
    fail("name", "must be 1 to 64 letters, digits, '_' or '-'", name)
  end
  if def.description ~= nil then check.text(FN, def.description, "description") end
  local s = def.schema
  if type(s) ~= "table" then fail("schema", "must be a schema table", s) end
  if s.type ~= "object" then fail("schema.type", "must be 'object' (strict mode's root)", s.type) end
  local root = strict(s, "schema")
  local self = setmetatable({ name = name, description = def.description, schema = root }, Schema)
  self.response_format = { type = "json_schema",
                           json_schema = { name = name, description = def.description, schema = root,
                                           strict = true } }
  self.format = { type = "json_schema", name = name, description = def.description, schema = root,
                  strict = true }
  return self
end

function M.is_schema(v)
  return type(v) == "table" and v.check == Schema.check and v.schema ~= nil
end

-- }==================================================================


-- {=================================================================
-- checking a value
-- ==================================================================

local function json_type(v)
  if v == null then return "null" end
  local tv = type(v)
  if tv == "table" then return json.is_object(v) and "object" or "array" end
  if tv == "number" then return v % 1 == 0 and "integer" or "number" end
  return tv
end

local function type_ok(want, got)
  return want == got or (want == "number" and got == "integer")
end

local function show(v)
  local t = json_type(v)
  if t == "string" then
    local s = #v > 30 and sub(v, 1, 30) .. "..." or v
    return format("%q", s)
  elseif t == "integer" or t == "number" then
    return format("%.14g", v)
  elseif t == "boolean" then
    return tostring(v)
  end
  return t
end

local function same(a, b)
  if a == b then return true end
  if type(a) ~= "table" or type(b) ~= "table" then return false end
  for k, v in pairs(a) do if not same(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end

local value_ok

local function resolve(s, root, path)
  local ref = s["$ref"]
  local seen = 0
  while ref ~= nil do
    local name = match(ref, "^#/%$defs/(.+)$") or match(ref, "^#/definitions/(.+)$")
    local defs = root["$defs"] or root.definitions
    local target = name and defs and defs[name]
    if target == nil then return nil, path .. ": unknown reference " .. ref end
    s, ref, seen = target, target["$ref"], seen + 1
    if seen > 32 then return nil, path .. ": references loop at " .. ref end
  end
  return s
end

-- the members of an object, the schema's and the value's, in sorted order:
-- the first wrong one is the same on every Lua
local function object_ok(v, s, root, path)
  local props = s.properties or {}
  local names = {}
  for k in pairs(v) do names[k] = true end
  for _, k in ipairs(s.required or {}) do names[k] = true end
  for _, k in ipairs(sorted_keys(names)) do
    local ps = props[k]
    if v[k] == nil then
      return path .. "." .. tostring(k) .. ": missing"
    elseif ps ~= nil then
      local why = value_ok(v[k], ps, root, path .. "." .. k)
      if why then return why end
    elseif s.additionalProperties == false then
      return path .. "." .. tostring(k) .. ": not allowed (the schema has no such property)"
    elseif type(s.additionalProperties) == "table" then
      local why = value_ok(v[k], s.additionalProperties, root, path .. "." .. tostring(k))
      if why then return why end
    end
  end
  return nil
end

local function array_ok(v, s, root, path)
  local n = #v
  if s.minItems and n < s.minItems then return format("%s: expected at least %d items, got %d", path, s.minItems, n) end
  if s.maxItems and n > s.maxItems then return format("%s: expected at most %d items, got %d", path, s.maxItems, n) end
  if s.items == nil then return nil end
  for i = 1, #v do
    local why = value_ok(v[i], s.items, root, path .. "[" .. i .. "]")
    if why then return why end
  end
  return nil
end

local function types_text(t)
  if type(t) == "string" then return t end
  return concat(t, " or ")
end

-- nil when v fits s, else "path: what is wrong"
value_ok = function(v, s, root, path)
  local why
  s, why = resolve(s, root, path)
  if s == nil then return why end
  local got = json_type(v)
  local t = s.type
  if t ~= nil then
    local ok = false
    if type(t) == "string" then ok = type_ok(t, got)
    else for _, x in ipairs(t) do if type_ok(x, got) then ok = true end end end
    if not ok then return format("%s: expected %s, got %s", path, types_text(t), got) end
  end
  if s.const ~= nil and not same(s.const, v) then
    return format("%s: expected %s, got %s", path, show(s.const), show(v))
  end
  if s.enum ~= nil then
    local ok = false
    for _, x in ipairs(s.enum) do if same(x, v) then ok = true end end
    if not ok then return format("%s: %s is not one of the schema's enum", path, show(v)) end
  end
  if s.anyOf ~= nil then
    local whys, real = {}, {}
    for _, alt in ipairs(s.anyOf) do
      local w = value_ok(v, alt, root, path)
      if w == nil then whys = nil; break end
      whys[#whys + 1] = w
      if not (type(alt) == "table" and alt.type == "null") then real[#real + 1] = w end
    end
    if whys then   -- a union with null: what is wrong with the other branch
      if #real == 1 then return real[1] end
      return format("%s: matches none of anyOf (first: %s)", path, whys[1])
    end
  end
  if got == "object" and (t ~= nil or s.properties ~= nil) then return object_ok(v, s, root, path) end
  if got == "array" then return array_ok(v, s, root, path) end
  return nil
end

-- nil when value fits the schema, else the path of the first wrong value
-- and what is wrong ("npc.name: expected string, got number")
function Schema:check(value)
  return value_ok(value, self.schema, self.schema, self.name)
end

-- a schema made from a table by new(), or the table itself already one
function M.of(fn, v)
  if M.is_schema(v) then return v end
  if type(v) == "table" and v.schema ~= nil and v.name ~= nil then return M.new(v) end
  error(fn .. ": 'schema' must be made by openai.schema{ name = ..., schema = ... } (got "
        .. check.show(v) .. ")", 0)
end

return M
