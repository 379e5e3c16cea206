-- openai.keys: key providers. `api_key` may be a function (a vault, a
-- rotating token), and Azure's `token_provider` (Microsoft Entra ID) is
-- one: it is called for every attempt of a call, the first when the
-- request is built, each retry when the engine decides to retry (before
-- its wait; see docs/DESIGN.md, Key providers). What it returns is checked
-- like a key given to openai.new and redacted like one everywhere; the
-- last KEEP keys of each client are remembered for that.
--
-- A provider that raises, or returns anything but a non-empty string that
-- can stand in a header, fails the call with err.kind "auth"; nothing is
-- sent with it.

local wire = require "openai.wire"
local secret = require "openai.secret"

local type, pcall, tostring = type, pcall, tostring
local format, sub, find, lower, gsub = string.format, string.sub, string.find, string.lower,
                                       string.gsub

local _ENV = nil -- luacheck: ignore 211

local M = {}

-- keys of one provider remembered for redaction (older ones are forgotten)
M.KEEP = 16

-- the client's provider: fn, the header line's head ("Authorization: Bearer "
-- or "api-key: ") and the field named in messages
function M.set(client, fn, head, field)
  client.key_provider, client._key_head, client._key_field = fn, head, field
  client._key_name = lower(sub(head, 1, find(head, ":", 1, true) - 1))
end

-- the provider's message, one line, redacted, at most 300 bytes
local function said(v)
  local s = secret.redact(tostring(v))
  s = gsub(s, "%c", " ")
  if #s > 300 then s = sub(s, 1, 300) .. "..." end
  return s
end

-- a fresh key header line from the client's provider, or nil and a message
function M.line(client)
  local field = client._key_field
  local ok, key = pcall(client.key_provider)
  if not ok then return nil, format("the %s function raised an error: %s", field, said(key)) end
  if type(key) ~= "string" then
    return nil, format("the %s function returned a %s, not a key string", field, type(key))
  end
  if key == "" then return nil, format("the %s function returned an empty string", field) end
  secret.remember(client, key, M.KEEP)
  local line = client._key_head .. key
  local good, why = wire.check_header(client._key_name, sub(line, #client._key_name + 3))
  if not good or not wire.valid_utf8(key) then
    return nil, format("the %s function returned a key that %s", field, why or "is not valid UTF-8")
  end
  return line
end

-- lines with the key line in front (a new table), and true; lines as they
-- are when a caller's header of the same name is there already (theirs
-- wins, as for any header of ours); nil and a message when the provider
-- failed
function M.with_key(client, lines)
  local name = client._key_name
  for i = 1, #lines do
    local l = lines[i]
    if lower(sub(l, 1, #name + 1)) == name .. ":" then return lines, false end
  end
  local line, err = M.line(client)
  if line == nil then return nil, err end
  local out = { line }
  for i = 1, #lines do out[i + 1] = lines[i] end
  return out, true
end

return M
