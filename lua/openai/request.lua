-- openai.request: from a call's description (a spec) to the request
-- description engine:submit takes. Every field it produces is one the
-- engine knows: method, url, headers, body, parts, stream, timeouts,
-- deadline, retry, limits, to_path, proxy, no_proxy, the TLS files, and
-- key_refresh (a client with a key provider: the engine hands a retry back
-- for a fresh key line; nginx's transport calls the function it holds).

local wire = require "openai.wire"
local json = require "openai.json"
local check = require "openai.check"
local key_providers = require "openai.keys"

local type, pairs, ipairs, next, tostring, require = type, pairs, ipairs, next, tostring, require
local sub, lower, find = string.sub, string.lower, string.find
local concat, sort = table.concat, table.sort

local _ENV = nil -- luacheck: ignore 211

local M = {}

-- {=================================================================
-- building the request
-- ==================================================================

local function query_string(q)
  local keys = {}
  for k in pairs(q) do keys[#keys + 1] = k end
  sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  local out = {}
  for _, k in ipairs(keys) do
    local v = q[k]
    local ek = wire.escape_segment(tostring(k))
    if type(v) == "table" then
      for _, x in ipairs(v) do out[#out + 1] = ek .. "=" .. wire.escape_segment(tostring(x)) end
    else
      out[#out + 1] = ek .. "=" .. wire.escape_segment(tostring(v))
    end
  end
  return concat(out, "&")
end

local ACCEPT = { json = "Accept: application/json", sse = "Accept: text/event-stream" }

-- the header lines of a call: the client's fixed ones, Accept, Content-Type,
-- then the caller's (which replace any of ours with the same name)
local function header_lines(client, accept, ctype, extra)
  local fixed = client._header_lines
  if extra == nil then
    -- cached by accept, then by content type (no key string built per call)
    local by_type = client._header_cache[accept]
    if by_type == nil then
      by_type = {}
      client._header_cache[accept] = by_type
    end
    local cached = by_type[ctype or false]
    if cached then return cached end
    local lines = {}
    for i = 1, #fixed do lines[i] = fixed[i] end
    lines[#lines + 1] = ACCEPT[accept]
    if ctype then lines[#lines + 1] = "Content-Type: " .. ctype end
    by_type[ctype or false] = lines
    return lines
  end
  local over = {}
  for name in pairs(extra) do over[lower(name)] = true end
  local lines = {}
  local function add(line)
    local name = lower(sub(line, 1, find(line, ":", 1, true) - 1))
    if not over[name] then lines[#lines + 1] = line end
  end
  for i = 1, #fixed do add(fixed[i]) end
  add(ACCEPT[accept])
  if ctype then add("Content-Type: " .. ctype) end
  local names = {}
  for name in pairs(extra) do names[#names + 1] = name end
  sort(names)
  for _, name in ipairs(names) do lines[#lines + 1] = name .. ": " .. tostring(extra[name]) end
  return lines
end

-- {=================================================================
-- the client's profiles: what a plain call shares with the others
-- ==================================================================

-- whether spec sets nothing of its own beyond method, url and body: its
-- limits are the client's and its retry policy the client's own typed one
local function plain(client, spec)
  if client.transport == "nginx" then return false end     -- profiles are the curl engine's
  if client.key_provider ~= nil then return false end      -- a fresh key line per call
  if spec.headers ~= nil or spec.parts ~= nil or spec.to_path ~= nil or spec.stream then
    return false
  end
  local retry = spec.retry
  if retry == nil or retry ~= client._typed_retry then return false end
  local v = spec.timeout
  if v ~= nil and v ~= client.timeout then return false end
  v = spec.idle_timeout
  if v ~= nil and v ~= client.idle_timeout then return false end
  v = spec.deadline
  if v ~= nil and v ~= client.deadline then return false end
  v = spec.max_response_bytes
  if v ~= nil and v ~= client.max_response_bytes then return false end
  v = spec.max_event_bytes
  return v == nil or v == client.max_event_bytes
end

-- the profile (openai.core.profile) of the client's plain calls that send the
-- header lines `lines` (a table of the client's header cache): made on
-- first use, kept on the client, made again if the retry policy changed
local function profile_of(client, lines, retry)
  local profiles = client._profiles
  if profiles == nil then
    profiles = {}
    client._profiles = profiles
  end
  local entry = profiles[lines]
  if entry and entry.retry == retry then return entry.profile end
  local profile = require("openai.core").profile({
    headers = lines, retry = retry,
    timeout = client.timeout, connect_timeout = client.connect_timeout,
    idle_timeout = client.idle_timeout, deadline = client.deadline,
    max_response_bytes = client.max_response_bytes, max_event_bytes = client.max_event_bytes,
    proxy = client.proxy, no_proxy = client.no_proxy,
    ca_file = client.ca_file, ca_path = client.ca_path, client_cert = client.client_cert,
    client_key = client.client_key, client_key_password = client.client_key_password,
  })
  profiles[lines] = { profile = profile, retry = retry }
  return profile
end

-- }==================================================================

-- the body of a call as text, and its content type: spec.json encoded (or
-- json, a body given beside a kept spec), else spec.body as it is
local function body_text(spec, json_body)
  if json_body == nil then json_body = spec.json end
  if json_body ~= nil then
    return json.encode(json_body, spec.fn, spec.json_root), spec.content_type or "application/json"
  end
  return spec.body, spec.content_type
end
M.body_text = body_text

-- the profile and url of a plain call (nothing of its own but method, url
-- and body), or nil when spec's calls are not plain. ctype: its body's
-- content type (nil without a body). A kept spec (client.lua: one per
-- client and action, used again) keeps them
function M.plain_target(client, spec, ctype)
  local profile = spec.profile
  if profile ~= nil and spec.profile_ctype == ctype then return profile, spec.url end
  if spec.query ~= nil or client.azure_api_version or not plain(client, spec) then return nil end
  local url = client.base_url .. spec.path
  profile = profile_of(client, header_lines(client, "json", ctype, nil), spec.retry)
  if spec.kept then spec.profile, spec.profile_ctype, spec.url = profile, ctype, url end
  return profile, url
end

-- a multipart body's Content-Type carries its boundary: a caller's own
-- would replace it (curl) or come second (nginx)
local function check_part_headers(spec)
  for name in pairs(spec.headers) do
    if lower(name) == "content-type" then
      check.fail(spec.fn, "headers", "cannot set Content-Type on a multipart call (the library "
                 .. "writes it, with the parts' boundary)", name)
    end
  end
end

-- spec: fn, method, path, query, json | body | parts, content_type,
-- headers (name -> value, already checked), stream, timeout, idle_timeout,
-- deadline, retry, max_response_bytes, max_event_bytes, to_path (a 2xx body
-- goes to that file). body, ctype: the body's text and content type
-- (body_text), made here when both are nil. A plain call (nothing of its
-- own but method, url and body) is a request of the client's profile: the
-- engine reads three fields. nil and a message when the client's key
-- provider failed (nothing is sent).
function M.build(client, spec, body, ctype)
  if spec.parts and spec.headers then check_part_headers(spec) end
  local path = spec.path
  local url = client._last_url              -- the URL of the last path, kept
  if path ~= client._last_path then
    url = client.base_url .. path
    client._last_path, client._last_url = path, url
  end
  local q = spec.query
  if client.azure_api_version then
    q = q or {}
    if q["api-version"] == nil then
      local q2 = { ["api-version"] = client.azure_api_version }
      for k, v in pairs(q) do q2[k] = v end
      q = q2
    end
  end
  if q and next(q) ~= nil then
    url = url .. (find(spec.path, "?", 1, true) and "&" or "?") .. query_string(q)
  end
  if body == nil and ctype == nil then body, ctype = body_text(spec) end
  if q == nil and plain(client, spec) then
    local lines = header_lines(client, "json", body and ctype or nil, nil)
    -- headers: the lines the profile sends, for readers (a debug log)
    return { profile = profile_of(client, lines, spec.retry), method = spec.method or "GET",
             url = url, body = body, headers = lines }
  end
  local lines = header_lines(client, spec.stream and "sse" or "json", body and ctype or nil, spec.headers)
  local key_refresh
  if client.key_provider ~= nil then
    local added
    lines, added = key_providers.with_key(client, lines)
    if lines == nil then return nil, added end
    if added then
      key_refresh = true
      if client.transport == "nginx" then key_refresh = function() return key_providers.line(client) end end
    end
  end
  return {
    method = spec.method or "GET",
    url = url,
    headers = lines,
    key_refresh = key_refresh,
    body = body,
    parts = spec.parts,
    stream = spec.stream,
    timeout = spec.timeout or client.timeout,
    connect_timeout = client.connect_timeout,
    idle_timeout = spec.idle_timeout or client.idle_timeout,
    deadline = spec.deadline or client.deadline,
    retry = spec.retry,
    max_response_bytes = spec.max_response_bytes or client.max_response_bytes,
    max_event_bytes = spec.max_event_bytes or client.max_event_bytes,
    to_path = spec.to_path,
    proxy = client.proxy,
    no_proxy = client.no_proxy,
    ca_file = client.ca_file, ca_path = client.ca_path, client_cert = client.client_cert,
    client_key = client.client_key, client_key_password = client.client_key_password,
  }
end

-- }==================================================================


return M
