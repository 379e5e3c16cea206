-- openai.client: the client object and its hand-written actions.
--
-- Every action checks its arguments first (raising an error that names
-- the function and the field, with nothing sent), fills in the documented
-- defaults, passes fields it does not know through to the body untouched,
-- and returns result, nil, meta or nil, err, meta.

local wire = require "openai.wire"   -- pure checks; openai.core (libcurl) loads on first use
local json = require "openai.json"
local check = require "openai.check"
local secret = require "openai.secret"
local transport = require "openai.transport"
local options = require "openai.options"
local endpoints = require "openai.endpoints"
local errors = require "openai.errors"
local option_names = require "openai.names"
local tls = require "openai.tls"
local key_providers = require "openai.keys"
-- openai.stream and openai.batch_job are loaded with the first stream and
-- the first run_batch: a script that never streams does not compile them
-- at require time

local type, pairs, ipairs, next, tostring, setmetatable, getmetatable, error =
      type, pairs, ipairs, next, tostring, setmetatable, getmetatable, error
local format, upper, lower, match, sub, find = string.format, string.upper, string.lower,
                                               string.match, string.sub, string.find
local sort, concat = table.sort, table.concat
local getenv = os.getenv
local require = require
local ngx = ngx -- luacheck: ignore 113 (nginx's lua module sets it)
local lua_version = jit and jit.version or _VERSION -- e.g. "LuaJIT 2.1.0-beta3" or "Lua 5.4"
local null = json.null

local _ENV = nil -- luacheck: ignore 211

local M = {}

M.VERSION = "0.1.0"

local Client = {}
Client.__index = Client
-- a list result -> its client and call (weak: not a field, so cjson and
-- pairs see only the API's fields)
local list_state = setmetatable({}, { __mode = "k" })
M.Client = Client

local DEFAULT_BASE_URL = "https://api.openai.com/v1"

-- options of one call, never sent in a body
local CALL_OPTS = options.CALL

local function set_of(list)
  local s = {}
  for _, v in ipairs(list) do s[v] = true end
  return s
end

local function opt_ms(fn, v, field, dflt, zero_ok)
  if v == nil then return dflt end
  return check.ms(fn, v, field, zero_ok)
end

-- headers that frame the request: the library writes them from the body
-- and the URL, and a caller's copy would contradict its own (a second
-- Content-Length, a chunked body beside a length, another host)
local FRAMING = { ["content-length"] = "Content-Length", ["transfer-encoding"] = "Transfer-Encoding",
                  host = "Host" }

-- header table name -> value, checked; nil when absent. client_wide: the
-- client's own headers (openai.new), which every call sends: Content-Type
-- is refused there too (a multipart body's type carries its boundary)
local function check_headers(fn, h, field, client_wide)
  if h == nil then return nil end
  check.table(fn, h, field)
  local out = {}
  for name, value in pairs(h) do
    if type(name) ~= "string" then check.fail(fn, field, "must map header names to values", name) end
    local framing = FRAMING[lower(name)]
    if framing then
      check.fail(fn, field, "cannot set " .. framing .. " (the library frames the request)", name)
    end
    if client_wide and lower(name) == "content-type" then
      check.fail(fn, field, "cannot set Content-Type for every call (each call sets its body's type; "
                 .. "give it per call)", name)
    end
    local tv = type(value)
    local hidden = secret.header(name)
    if tv ~= "string" and not (tv == "number" and check.finite(value)) then
      check.fail(fn, field .. "." .. name, "must be a string", value, hidden)
    end
    value = tostring(value)
    local ok, why, which = wire.check_header(name, value)
    if not ok then
      if which == "name" then check.fail(fn, field, "has a header name that " .. why, name) end
      check.fail(fn, field .. "." .. name, why, value, hidden)
    end
    out[name] = value
  end
  return out
end

-- a proxy URL: scheme://host[:port] (http, https, socks4, socks4a, socks5, socks5h)
local function check_proxy(fn, v, field)
  if v == nil then return nil end
  check.name(fn, v, field, true)          -- never shown: it may hold a password
  local scheme = match(lower(v), "^(%w+)://[^/%s]+")
  if not (scheme == "http" or scheme == "https" or scheme == "socks4" or scheme == "socks4a"
          or scheme == "socks5" or scheme == "socks5h") or find(v, "[%s\\]") then
    check.fail(fn, field, "must be a proxy URL such as 'http://host:port'", v, true)
  end
  return v
end

-- {=================================================================
-- the client
-- ==================================================================

-- form: how the arguments look ("{...}", or "(id)" for the actions by id)
local function check_self(fn, self, form)
  if getmetatable(self) ~= Client then
    form = form or "{...}"
    error(format("%s: call it as client:%s%s or as openai.%s%s", fn, sub(fn, 8), form, sub(fn, 8), form), 0)
  end
end

-- {=================================================================
-- the transport: libcurl's engine, or nginx's cosockets (openai.nginx)
-- ==================================================================

-- inside nginx (its lua module sets the global ngx) calls go over cosockets
-- unless transport = "curl" says otherwise; the phase is checked per call
local function in_nginx()
  return type(ngx) == "table" and type(ngx.get_phase) == "function"
end

local function choose_transport(fn, t)
  if t == nil then return in_nginx() and "nginx" or "curl" end
  if t ~= "curl" and t ~= "nginx" then
    check.fail(fn, "transport", 'must be "curl" or "nginx"', t)
  end
  if t == "nginx" and not in_nginx() then
    check.fail(fn, "transport", '"nginx" needs nginx\'s lua module (ngx.socket.tcp): '
               .. 'this Lua is not running inside nginx', t)
  end
  return t
end

local function nginx_agent()
  local v = ngx.config and ngx.config.nginx_version
  if type(v) ~= "number" then return "nginx" end
  return format("nginx/%d.%d.%d", v / 1000000 - v / 1000000 % 1, v / 1000 % 1000 - v / 1000 % 1,
                v % 1000)
end

-- }==================================================================

-- the options openai.new knows: its own, and every client option of
-- openai.options' rows; azure's own table
local NEW_OPTS = set_of({ "api_key", "organization", "project", "base_url", "proxy", "no_proxy",
                          "logger", "transport", "azure", "max_connections_per_host", "headers",
                          "ca_file", "ca_path", "client_cert", "client_key", "client_key_password" })
for _, row in ipairs(options.ROWS) do
  if row.client then NEW_OPTS[row.name] = true end
end
local AZURE_OPTS = set_of({ "api_version", "deployment", "token_provider" })
local AZURE_ALIASES = { version = "api_version", deployment_name = "deployment",
                        azure_ad_token_provider = "token_provider", ad_token_provider = "token_provider" }

-- the client's key: a string (checked, redacted from now on), false (none)
-- or a provider (keys.lua), from api_key, $OPENAI_API_KEY or Azure's
-- token_provider; the fixed header line it makes, when any
local function client_key(fn, self, opts, azure)
  local key = opts.api_key
  local provider = azure and azure.token_provider
  if provider ~= nil then
    if type(provider) ~= "function" then check.fail(fn, "azure.token_provider", "must be a function", provider) end
    if key ~= nil and key ~= false then
      check.fail(fn, "api_key", "cannot be combined with azure.token_provider (Entra ID tokens "
                 .. "replace the api-key)", key, true)
    end
    key_providers.set(self, provider, "Authorization: Bearer ", "azure.token_provider")
    return nil
  end
  if key == nil then key = getenv("OPENAI_API_KEY") end
  if key == nil or key == "" then
    error("openai.new: 'api_key' is required: pass it, or set OPENAI_API_KEY " ..
          "(api_key = false sends no key, for local servers)", 0)
  end
  if type(key) == "function" then
    key_providers.set(self, key, azure and "api-key: " or "Authorization: Bearer ", "api_key")
    return nil
  end
  if key == false then return nil end
  check.name(fn, key, "api_key", true)
  secret.add(self, key)
  self.api_key = key
  return azure and ("api-key: " .. key) or ("Authorization: Bearer " .. key)
end

-- the proxy options: proxy = "" turns every proxy off (the environment's
-- too: libcurl reads an empty CURLOPT_PROXY so)
local function client_proxy(fn, self, opts)
  if opts.proxy == "" then self.proxy = "" else self.proxy = check_proxy(fn, opts.proxy, "proxy") end
  if opts.no_proxy ~= nil then self.no_proxy = check.name(fn, opts.no_proxy, "no_proxy") end
  if self.proxy and self.proxy ~= "" and self.transport == "nginx" then
    check.fail(fn, "proxy", 'is not supported by the nginx transport (cosockets connect directly); '
               .. 'use transport = "curl" for a proxy', opts.proxy, true)
  end
end

local function client_azure(fn, self, azure)
  if not azure then return end
  option_names.refuse_unknown(fn, azure, AZURE_OPTS, AZURE_ALIASES, "azure.")
  self.azure_api_version = check.name(fn, azure.api_version, "azure.api_version")
  if azure.deployment ~= nil then
    check.name(fn, azure.deployment, "azure.deployment")
    local ok, why = wire.check_segment(azure.deployment)
    if not ok then check.fail(fn, "azure.deployment", why, azure.deployment) end
    self.azure_deployment = wire.escape_segment(azure.deployment)
  end
end

local function client_base_url(fn, self, opts)
  local base = opts.base_url
  if base == nil or base == "" then base = getenv("OPENAI_BASE_URL") end
  if base == nil or base == "" then base = DEFAULT_BASE_URL end
  check.name(fn, base, "base_url")
  if not match(lower(base), "^https?://[^/%s]+") or find(base, "[%s\\]") then
    check.fail(fn, "base_url", "must be an http:// or https:// URL", base)
  end
  while sub(base, -1) == "/" do base = sub(base, 1, -2) end
  self.base_url = base
  self.base_suffix = match(base, "^[%a]+://[^/]+(/.*)$")   -- e.g. "/v1"
end

-- an env value, or nil when empty
local function env_or(v, name)
  if v == nil then v = getenv(name) end
  if v == "" then return nil end
  return v
end

-- the client's header lines: the key's, organization, project, User-Agent;
-- the client's own headers replace ours of the same name
local function client_lines(fn, self, key_line, org, project, extra_h)
  local lines = {}
  if key_line then lines[#lines + 1] = key_line end
  if org then lines[#lines + 1] = "OpenAI-Organization: " .. org end
  if project then lines[#lines + 1] = "OpenAI-Project: " .. project end
  lines[#lines + 1] = format("User-Agent: openai-lua/%s (%s; %s)", M.VERSION, lua_version,
                             self.transport == "nginx" and nginx_agent() or
                             "libcurl/" .. require("openai.core").curl_version())
  local extra = check_headers(fn, extra_h, "headers", true)
  if not extra then return lines end
  local over = {}
  for name in pairs(extra) do over[lower(name)] = true end
  local kept = {}
  for _, l in ipairs(lines) do
    if not over[lower(sub(l, 1, find(l, ":", 1, true) - 1))] then kept[#kept + 1] = l end
  end
  local hnames = {}
  for name in pairs(extra) do hnames[#hnames + 1] = name end
  sort(hnames)
  for _, name in ipairs(hnames) do kept[#kept + 1] = name .. ": " .. extra[name] end
  return kept
end

function M.new(opts)
  local fn = "openai.new"
  opts = check.opt_table(fn, opts, "opts") or {}
  option_names.refuse_unknown(fn, opts, NEW_OPTS, option_names.ALIASES)
  local self = setmetatable({}, Client)
  local azure = check.opt_table(fn, opts.azure, "azure")
  local key_line = client_key(fn, self, opts, azure)
  local org = env_or(opts.organization, "OPENAI_ORG_ID")
  if org ~= nil then check.name(fn, org, "organization") end
  local project = env_or(opts.project, "OPENAI_PROJECT_ID")
  if project ~= nil then check.name(fn, project, "project") end
  client_base_url(fn, self, opts)
  options.client(fn, self, opts)
  if opts.logger ~= nil and type(opts.logger) ~= "function" then
    check.fail(fn, "logger", "must be a function", opts.logger)
  end
  self.logger = opts.logger
  self.transport = choose_transport(fn, opts.transport)
  client_proxy(fn, self, opts)
  tls.client(fn, self, opts, self.transport)
  client_azure(fn, self, azure)
  if opts.max_connections_per_host ~= nil then
    local n = check.integer_in(fn, opts.max_connections_per_host, "max_connections_per_host", 1, 100000)
    if self.transport == "curl" then
      transport.engine():configure({ max_host_connections = n })
    else
      require("openai.nginx").configure({ max_host_connections = n })
    end
  end
  self._header_lines = client_lines(fn, self, key_line, org, project, opts.headers)
  self._header_cache = {}
  self._kept_specs = {}
  return self
end

function Client:__tostring()
  return format("openai client (%s)", self.base_url)
end

-- }==================================================================


-- {=================================================================
-- shared pieces of the actions
-- ==================================================================

-- the per-call options of p, checked (the client's where p has none). A
-- call that gives none (most) gets the client itself: it holds every option
-- under the same name (typed_spec reads only those), and no table is made
local function call_opts(fn, self, p)
  for k in next, p do                   -- p's few keys, not every option's name
    if CALL_OPTS[k] then
      local o = options.call(fn, self, p, {})
      o.headers = check_headers(fn, p.headers, "headers")
      return o
    end
  end
  return self
end

-- the body: p without the call options; b, when given, already holds the
-- fields the action set (those of p are not copied over them). Also
-- whether p had a field of its own that went into b
local function body_of(p, b)
  if b == nil then
    b = {}
    for k, v in pairs(p) do
      if not CALL_OPTS[k] then b[k] = v end
    end
    return b
  end
  local more = false
  for k, v in next, p do
    if b[k] == nil and not CALL_OPTS[k] then
      b[k] = v
      more = true
    end
  end
  return b, more
end

-- the path of a typed action (Azure deployments have their own)
local AZURE_DEPLOYMENT = endpoints.AZURE_DEPLOYMENT
local function api_path(self, path)
  if self.azure_deployment and AZURE_DEPLOYMENT[path] then
    return "/deployments/" .. self.azure_deployment .. path
  end
  return path
end

-- the retry policy of a typed action: the client's own is made once and
-- kept (the engine only reads it); a call's own options get a new one
local function typed_retry(self, max_retries, max_retry_after, retry_timeouts)
  local r = self._typed_retry
  if r == nil or r.max_retries ~= max_retries or r.max_retry_after ~= max_retry_after
     or r.retry_timeouts ~= retry_timeouts then
    r = { max_retries = max_retries, backoff = true, sdk_statuses = true,
          max_retry_after = max_retry_after, retry_timeouts = retry_timeouts }
    if max_retries == self.max_retries and max_retry_after == self.max_retry_after
       and retry_timeouts == self.retry_timeouts then
      self._typed_retry = r
    end
  end
  return r
end

-- the client's own retry policy of its typed actions
local function client_retry(self)
  return typed_retry(self, self.max_retries, self.max_retry_after, self.retry_timeouts)
end

-- the spec of a typed action's call; its answer must be a JSON object.
-- o: the call's options (call_opts: the client itself when the call has none).
-- A call without options leaves its limits and debug flag out: the
-- transport reads an absent one as the client's own (fewer fields to fill
-- and to compare)
local function typed_spec(fn, self, o, method, path, body, is_stream)
  if o == self then
    return { fn = fn, method = method, path = api_path(self, path), json = body, stream = is_stream,
             want_object = true, retry = client_retry(self) }
  end
  return {
    fn = fn, method = method, path = api_path(self, path), json = body, stream = is_stream,
    want_object = true,
    timeout = o.timeout, idle_timeout = o.idle_timeout, deadline = o.deadline,
    headers = o.headers, debug = o.debug,
    max_response_bytes = o.max_response_bytes, max_event_bytes = o.max_event_bytes,
    retry = typed_retry(self, o.max_retries, o.max_retry_after, o.retry_timeouts),
  }
end

-- the spec of a typed call made without options (no stream): one per
-- client and action, kept and used again while its path and retry policy
-- stay (nothing else in it changes between calls; the body goes beside it),
-- so that the transport can keep what it derives from it: its profile and url
local function kept_spec(fn, self, method, path)
  local spec = self._kept_specs[fn]
  if spec ~= nil and spec.path == path and spec.method == method and self.azure_deployment == nil then
    if spec.retry == client_retry(self) then return spec end   -- still the client's policy
  end
  spec = { fn = fn, method = method, path = api_path(self, path), want_object = true, kept = true,
           retry = client_retry(self) }
  self._kept_specs[fn] = spec
  return spec
end

-- a typed call (no stream) run to its end: result, nil, meta | nil, err, meta
local function typed_call(fn, self, o, method, path, body)
  if o == self then return transport.perform(self, kept_spec(fn, self, method, path), body) end
  return transport.perform(self, typed_spec(fn, self, o, method, path, body, false))
end

local function open_stream(self, spec, kind, p)
  local accumulate = true
  if p.accumulate ~= nil then accumulate = p.accumulate end
  local t, err, meta = transport.open(self, spec)
  if not t then return nil, err, meta end
  return require("openai.stream").new(self, t, meta, kind, accumulate), nil, meta
end

-- }==================================================================


-- {=================================================================
-- Create Chat Completion
-- ==================================================================

-- fail naming messages[i] (the field's name is built only to raise)
local function fail_message(fn, i, sub_field, what, v)
  check.fail(fn, "messages[" .. i .. "]" .. sub_field, what, v)
end

-- the roles the API knows pass without a look at their bytes
local KNOWN_ROLE = set_of({ "system", "developer", "user", "assistant", "tool", "function" })
local valid_utf8 = wire.valid_utf8

-- keys other than 1..n: the key named in the error
local function check_message_keys(fn, messages, n)
  for k in pairs(messages) do
    if type(k) ~= "number" or k < 1 or k > n or k % 1 ~= 0 then
      check.fail(fn, "messages", "must be an array (a table with keys 1..n)", k)
    end
  end
end

-- the success path builds no string and runs no pattern: one C call says
-- all pass (messages_ok); when it says no, check_messages looks again and
-- raises naming the field (messages[3].content), or passes what the C
-- call is too strict to pass
local messages_ok = wire.messages_ok

local function check_messages(fn, messages)
  check.nonempty_array(fn, messages, "messages")
  local n = #messages
  local keys = 0
  for _ in pairs(messages) do keys = keys + 1 end
  if keys ~= n then check_message_keys(fn, messages, n) end
  for i = 1, n do
    local m = messages[i]
    if type(m) ~= "table" then fail_message(fn, i, "", "must be a table", m) end
    local role = m.role
    if not KNOWN_ROLE[role] then
      if type(role) ~= "string" or role == "" then
        fail_message(fn, i, ".role", "must be a non-empty string", role)
      end
      if not check.is_name(role) then check.name(fn, role, "messages[" .. i .. "].role") end
    end
    local c = m.content
    local tc = type(c)
    if tc == "string" then
      if not valid_utf8(c) then check.text(fn, c, "messages[" .. i .. "].content") end
    elseif c == nil or c == null then
      if not (role == "assistant" and (m.tool_calls ~= nil or m.function_call ~= nil
              or m.refusal ~= nil or m.audio ~= nil)) then
        fail_message(fn, i, ".content", "is required", c)
      end
    elseif tc == "table" then
      if next(c) == nil then fail_message(fn, i, ".content", "must not be empty", c) end
    else
      check.text(fn, c, "messages[" .. i .. "].content")
    end
  end
end

-- the fields of p that chat_body always puts in the body itself
local CHAT_OWN = set_of({ "messages", "model", "temperature", "top_p", "n" })

-- one look at p's few keys: whether it holds call options, and whether it
-- holds fields other than `own` (those the action always sets itself)
local function param_keys(p, own)
  local opts, other = false, false
  for k in next, p do
    if CALL_OPTS[k] then opts = true elseif not own[k] then other = true end
  end
  return opts, other
end

-- the checked body of a chat call, and its options (the client itself when
-- it has none)
local function chat_body(fn, self, p, is_stream)
  if getmetatable(self) ~= Client then check_self(fn, self) end
  if type(p) ~= "table" then check.table(fn, p, "params") end
  local has_opts, other = param_keys(p, CHAT_OWN)
  local o = has_opts and call_opts(fn, self, p) or self
  if not messages_ok(p.messages) then check_messages(fn, p.messages) end
  local model, temperature, top_p, n = p.model, p.temperature, p.top_p, p.n
  -- the body made whole in one constructor (no growth), then p's other
  -- fields (when it has any). temperature, top_p and n default to 1, the
  -- API's own defaults: sent only when given (reasoning models refuse any
  -- top_p, and a temperature other than 1)
  local b, more = {
    messages = p.messages,
    model = model == nil and "gpt-3.5-turbo" or check.name(fn, model, "model"),
    temperature = temperature ~= nil and check.number_in(fn, temperature, "temperature", 0, 2) or nil,
    top_p = top_p ~= nil and check.number_in(fn, top_p, "top_p", 0, 1) or nil,
    n = n ~= nil and check.integer_in(fn, n, "n", 1, 128) or nil,
    stream = is_stream or nil,
  }, false
  if other then b, more = body_of(p, b) end
  if p.stream ~= nil and p.stream ~= is_stream then
    check.fail(fn, "stream", is_stream and "must be true or absent here"
                             or "is not taken here: use chat_stream for a stream", p.stream)
  end
  if more then                         -- fields beyond the ones above: theirs
    if p.max_tokens ~= nil then check.integer_in(fn, p.max_tokens, "max_tokens", 1) end
    if p.max_completion_tokens ~= nil then
      check.integer_in(fn, p.max_completion_tokens, "max_completion_tokens", 1)
    end
    if p.tools ~= nil then check.table(fn, p.tools, "tools") end
  end
  return o, b
end

function Client:chat(p)
  local o, b = chat_body("openai.chat", self, p, false)
  return typed_call("openai.chat", self, o, "POST", "/chat/completions", b)
end

function Client:chat_stream(p)
  local fn = "openai.chat_stream"
  local o, b = chat_body(fn, self, p, true)
  return open_stream(self, typed_spec(fn, self, o, "POST", "/chat/completions", b, true), "chat", p)
end

-- }==================================================================


-- {=================================================================
-- Create Image
-- ==================================================================

-- each model's documented limits; the default ones are dall-e-2's, and apply when
-- no model is given
local IMAGE_RULES = {
  ["dall-e-2"] = { prompt = 1000, n = 10, sizes = { "256x256", "512x512", "1024x1024" } },
  ["dall-e-3"] = { prompt = 4000, n = 1, sizes = { "1024x1024", "1792x1024", "1024x1792" } },
  ["gpt-image-1"] = { prompt = 32000, n = 10, sizes = { "auto", "1024x1024", "1536x1024", "1024x1536" } },
}
-- the models whose API default size is 1024x1024 (the library's default)
local DALL_E = set_of({ "dall-e-2", "dall-e-3" })
for _, r in pairs(IMAGE_RULES) do
  r.size_set = set_of(r.sizes)
  r.size_list = "'" .. concat(r.sizes, "', '") .. "'"
end

local function chars(s)
  local n = 0
  for _ in s:gmatch("[^\128-\191]") do n = n + 1 end
  return n
end

function Client:image(p)
  local fn = "openai.image"
  check_self(fn, self)
  check.table(fn, p, "params")
  local o = call_opts(fn, self, p)
  local b = body_of(p)
  if p.model ~= nil then check.name(fn, p.model, "model") end
  local rules = IMAGE_RULES[p.model or "dall-e-2"]
  check.text(fn, p.prompt, "prompt")
  if p.prompt == "" then check.fail(fn, "prompt", "must be a non-empty string", p.prompt) end
  if rules and chars(p.prompt) > rules.prompt then
    check.fail(fn, "prompt", format("must be at most %d characters", rules.prompt),
               chars(p.prompt) .. " characters")
  end
  -- n defaults to 1, the API's own: sent only when given. size defaults
  -- to 1024x1024: the API's own for dall-e-2 and dall-e-3 (and dall-e-2 is
  -- the API's model when none is given), not sent there; other models
  -- (gpt-image-*) default to "auto" in the API, so 1024x1024 is sent
  if p.n ~= nil then b.n = check.integer_in(fn, p.n, "n", 1, rules and rules.n or 10) end
  local size = p.size == nil and "1024x1024" or check.name(fn, p.size, "size")
  if rules and not rules.size_set[size] then
    check.fail(fn, "size", "must be one of " .. rules.size_list, size)
  end
  if p.size ~= nil or not DALL_E[p.model or "dall-e-2"] then b.size = size end
  return typed_call(fn, self, o, "POST", "/images/generations", b)
end

-- }==================================================================


-- {=================================================================
-- Create Response
-- ==================================================================

-- the checked body of a responses call, and its options
local function response_body(fn, self, p, is_stream)
  check_self(fn, self)
  check.table(fn, p, "params")
  local o = call_opts(fn, self, p)
  local input = p.input
  if type(input) == "string" then
    if input == "" then check.fail(fn, "input", "must be a non-empty string or array", input) end
    check.text(fn, input, "input")
  elseif type(input) == "table" then
    check.nonempty_array(fn, input, "input")
  else
    check.fail(fn, "input", "must be a non-empty string or array", input)
  end
  local b = body_of(p)
  b.model = p.model == nil and "gpt-4.1" or check.name(fn, p.model, "model")
  if p.stream ~= nil and p.stream ~= is_stream then
    check.fail(fn, "stream", is_stream and "must be true or absent here"
                             or "is not taken here: use response_stream for a stream", p.stream)
  end
  if is_stream then b.stream = true end
  return o, b
end

function Client:response(p)
  local o, b = response_body("openai.response", self, p, false)
  return typed_call("openai.response", self, o, "POST", "/responses", b)
end

function Client:response_stream(p)
  local fn = "openai.response_stream"
  local o, b = response_body(fn, self, p, true)
  return open_stream(self, typed_spec(fn, self, o, "POST", "/responses", b, true), "response", p)
end

-- the same four calls under another public name (openai.parse and its
-- kin send through them: a mistake in the arguments names that function)
M.call_as = {
  chat = function(fn, self, p)
    local o, b = chat_body(fn, self, p, false)
    return typed_call(fn, self, o, "POST", "/chat/completions", b)
  end,
  chat_stream = function(fn, self, p)
    local o, b = chat_body(fn, self, p, true)
    return open_stream(self, typed_spec(fn, self, o, "POST", "/chat/completions", b, true), "chat", p)
  end,
  response = function(fn, self, p)
    local o, b = response_body(fn, self, p, false)
    return typed_call(fn, self, o, "POST", "/responses", b)
  end,
  response_stream = function(fn, self, p)
    local o, b = response_body(fn, self, p, true)
    return open_stream(self, typed_spec(fn, self, o, "POST", "/responses", b, true), "response", p)
  end,
}

-- structured outputs (lua/openai/parse.lua), loaded on first use
for _, name in ipairs({ "parse", "parse_response", "parse_stream" }) do
  Client[name] = function(self, p)
    return require("openai.parse")[name](self, p)
  end
end

-- }==================================================================


-- {=================================================================
-- Get Model by ID, List Models
-- ==================================================================

function Client:model(id, p)
  local fn = "openai.model"
  check_self(fn, self)
  if type(id) == "table" and p == nil then
    p = id
    id = p.model or p.id
  end
  p = check.opt_table(fn, p, "opts") or {}
  check.name(fn, id, "model")
  local ok, why = wire.check_segment(id)
  if not ok then check.fail(fn, "model", why, id) end
  local o = call_opts(fn, self, p)
  return typed_call(fn, self, o, "GET", "/models/" .. wire.escape_segment(id))
end

-- }==================================================================


-- {=================================================================
-- Raw Request
-- ==================================================================

local METHODS = set_of({ "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS" })
local RESPONSE_TYPES = set_of({ "json", "text", "binary" })

local function scalar(v)
  local tv = type(v)
  return tv == "string" or tv == "boolean" or (tv == "number" and check.finite(v))
end

local function check_query(fn, q)
  if q == nil then return nil end
  check.table(fn, q, "query")
  for k, v in pairs(q) do
    if type(k) ~= "string" and type(k) ~= "number" then check.fail(fn, "query", "must have string keys", k) end
    local f = "query." .. tostring(k)
    if type(v) == "table" then
      for i, x in ipairs(v) do
        if not scalar(x) then check.fail(fn, f .. "[" .. i .. "]", "must be a string, finite number or boolean", x) end
      end
    elseif not scalar(v) then
      check.fail(fn, f, "must be a string, finite number, boolean or array of them", v)
    end
  end
  return q
end

local function form_parts(fn, form, files, names)
  local parts = {}
  if form ~= nil then
    check.table(fn, form, "form")
    local keys = {}
    for k, v in pairs(form) do
      if type(k) ~= "string" then check.fail(fn, "form", "must have string keys", k) end
      if not scalar(v) then check.fail(fn, "form." .. k, "must be a string, finite number or boolean", v) end
      keys[#keys + 1] = k
    end
    sort(keys)
    for _, k in ipairs(keys) do parts[#parts + 1] = { name = k, data = tostring(form[k]) } end
  end
  if names ~= nil then
    check.table(fn, names, "file_names")
    for k, v in pairs(names) do
      if type(k) ~= "string" or files == nil or files[k] == nil then
        check.fail(fn, "file_names", "has a key with no matching entry in 'files'", k)
      end
      check.name(fn, v, "file_names." .. k)
    end
  end
  if files ~= nil then
    check.table(fn, files, "files")
    local keys = {}
    for k, v in pairs(files) do
      if type(k) ~= "string" then check.fail(fn, "files", "must have string keys", k) end
      if type(v) ~= "string" then check.fail(fn, "files." .. k, "must be a string of bytes", v) end
      keys[#keys + 1] = k
    end
    sort(keys)
    for _, k in ipairs(keys) do
      parts[#parts + 1] = { name = k, data = files[k], filename = names and names[k] or k,
                            type = "application/octet-stream" }
    end
  end
  return parts
end

-- the path relative to the base URL: the longest leading run of segments of
-- url that the base URL's path already ends with (such as /v1) is not
-- doubled: base .../v1 + /v1/models -> .../v1/models
local function join_path(self, url)
  local base = self.base_suffix
  if not base or base == "" then return url end
  local path_end = find(url, "[?#]") or #url + 1
  local best = 0
  local i = 1
  while true do
    local j = find(url, "/", i + 1, true)
    local cut = (j and j < path_end) and j - 1 or path_end - 1
    local prefix = sub(url, 1, cut)
    if #prefix <= #base and sub(base, -#prefix) == prefix then best = cut end
    if not j or j >= path_end then break end
    i = j
  end
  if best == 0 then return url end
  return sub(url, best + 1)
end

local function raw_spec(fn, self, p)
  local url = p.url == nil and "/v1/models" or p.url
  if type(url) ~= "string" then check.fail(fn, "url", "must be a path string", url) end
  local ok, why = wire.check_path(url)
  if not ok then check.fail(fn, "url", why, url) end
  local method = p.method == nil and "GET" or p.method
  if type(method) ~= "string" or not METHODS[upper(method)] then
    check.fail(fn, "method", "must be one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS", method)
  end
  method = upper(method)
  local response_type = p.response_type == nil and "json" or p.response_type
  check.one_of(fn, response_type, "response_type", RESPONSE_TYPES, "'json', 'text', 'binary'")
  local timeout = opt_ms(fn, p.timeout, "timeout", self.timeout)
  local debug = p.debug ~= nil and check.boolean(fn, p.debug, "debug")
  local delay = opt_ms(fn, p.retry_delay, "retry_delay", 0, true)
  local all = p.retry_on_all_errors ~= nil and check.boolean(fn, p.retry_on_all_errors, "retry_on_all_errors")
  local max_retries = p.max_retries == nil and 0 or check.integer_in(fn, p.max_retries, "max_retries", 0, 100)
  local retry_timeouts = self.retry_timeouts
  if p.retry_timeouts ~= nil then retry_timeouts = check.boolean(fn, p.retry_timeouts, "retry_timeouts") end
  local backoff = p.exponential_backoff ~= nil
                  and check.boolean(fn, p.exponential_backoff, "exponential_backoff")
  local headers = check_headers(fn, p.headers, "headers")
  local query = check_query(fn, p.query)
  local spec = {
    fn = fn, method = method, path = join_path(self, url), query = query, headers = headers,
    response_type = response_type, timeout = timeout, debug = debug or nil,
    deadline = opt_ms(fn, p.deadline, "deadline", nil),
    max_response_bytes = p.max_response_bytes ~= nil
      and check.integer_in(fn, p.max_response_bytes, "max_response_bytes", 1, 2147483647) or nil,
    retry = { max_retries = max_retries, backoff = backoff, delay = delay, sdk_statuses = backoff,
              all_errors = all, max_retry_after = self.max_retry_after,
              retry_timeouts = retry_timeouts },
  }
  local data = p.data
  if p.form ~= nil or p.files ~= nil or p.file_names ~= nil then
    if data ~= nil then check.fail(fn, "data", "cannot be combined with 'form' or 'files'", data) end
    spec.parts = form_parts(fn, p.form, p.files, p.file_names)
  elseif type(data) == "table" then
    spec.json, spec.json_root = data, "data"
  elseif type(data) == "string" then
    spec.body, spec.content_type = data, "application/json"
  elseif data ~= nil then
    check.fail(fn, "data", "must be a table (sent as JSON) or a string", data)
  end
  return spec
end

function Client:request(p)
  local fn = "openai.request"
  check_self(fn, self)
  p = check.opt_table(fn, p, "params") or {}
  return transport.perform(self, raw_spec(fn, self, p))
end

-- }==================================================================

-- {=================================================================
-- the actions of openai.endpoints' rows, and pagination
-- ==================================================================

-- a list result keeps its fields and gains :each(); the metatable is
-- seen by neither cjson (it encodes the fields) nor res.data
local List = {}
local LIST_MT = { __index = List }

-- the path of a row, with id escaped as one segment
local function row_path(fn, row, id)
  if row.args ~= "id" then return row.path end
  check.name(fn, id, row.id_field)
  local ok, why = wire.check_segment(id)
  if not ok then check.fail(fn, row.id_field, why, id) end
  return row.path_head .. wire.escape_segment(id) .. row.path_tail
end

-- the arguments of a row's call: p (params or opts) and the id
local function row_args(fn, row, a, b)
  if row.args == "id" then
    return check.opt_table(fn, b, "opts") or {}, a
  elseif row.args == "none" then
    return check.opt_table(fn, a, "opts") or {}
  end
  return check.table(fn, a, "params")
end

local function row_spec(self, row, fn, a, b)
  check_self(fn, self, row.args == "id" and "(id)" or nil)
  local p, id = row_args(fn, row, a, b)
  local o = call_opts(fn, self, p)
  local spec = typed_spec(fn, self, o, row.method, row_path(fn, row, id))
  if row.body == "json" then spec.json = body_of(p) end
  if row.response ~= "json" then spec.response_type = row.response end
  if row.check then row.check(fn, p, spec) end
  -- only a JSON answer must be an object (a check may change the type)
  if spec.response_type ~= nil and spec.response_type ~= "json" then spec.want_object = nil end
  spec.row = row
  return spec
end

local function run_row(self, row, spec)
  local res, err, meta = transport.perform(self, spec)
  if res == nil then return nil, err, meta end
  if row.after then
    local v, aerr = row.after(res, spec, meta)
    if v == nil then return nil, aerr, transport.redact_meta(meta) end
    res = v
  end
  if row.list then
    list_state[setmetatable(res, LIST_MT)] = { client = self, spec = spec }
  end
  return res, nil, meta
end

for _, row in ipairs(endpoints.ROWS) do
  if not row.custom then
    local fn = "openai." .. row.name
    Client[row.name] = function(self, a, b)
      return run_row(self, row, row_spec(self, row, fn, a, b))
    end
  end
end

-- the cursor of the page after res: its last_id, else its last item's id
local function cursor_of(res)
  local data = res.data
  local last = res.last_id
  if last == nil and type(data) == "table" and type(data[#data]) == "table" then
    last = data[#data].id
  end
  if type(last) ~= "string" then return nil end
  return last
end

-- the next page of a list: the same call with after = cursor
local function next_page(state, cursor)
  local spec = state.spec
  local q = {}
  for k, v in pairs(spec.query or {}) do q[k] = v end
  q.after = cursor
  local spec2 = {}
  for k, v in pairs(spec) do spec2[k] = v end
  spec2.query = q
  if spec.row then return run_row(state.client, spec.row, spec2) end
  local page, err, meta = transport.perform(state.client, spec2)
  if type(page) == "table" then list_state[setmetatable(page, LIST_MT)] = { client = state.client, spec = spec2 } end
  return page, err, meta
end

-- why a page that says has_more cannot lead on: no items, no cursor, or a
-- cursor already followed (a server that would repeat itself for ever);
-- nil when it can
local function stuck(page, cursor, followed)
  local data = page.data
  if type(data) ~= "table" or data[1] == nil then return "it has no items" end
  if cursor == nil then return "it gives no cursor (last_id, or an id on its last item)" end
  if followed[cursor] then return "its cursor '" .. cursor .. "' was followed already" end
  return nil
end

local function stuck_error(why)
  return errors.new({ kind = "decode", message = "the list does not advance: a page says "
                      .. "has_more = true, but " .. why .. "; the walk ends here" })
end

-- for item[, err] in res:each() do ... end: every item of this page and the
-- next ones, fetched only when the loop gets there. A page that fails, or
-- that says has_more but does not advance, ends the walk with one last
-- (false, err).
function List.each(res)
  local page, i, failed = res, 0, false
  local first = list_state[res]
  local followed = {}                     -- cursors asked for, the first page's too
  if first and first.spec.query and first.spec.query.after then followed[first.spec.query.after] = true end
  return function()
    if failed then return nil end
    while true do
      local data = page.data
      i = i + 1
      if type(data) == "table" and data[i] ~= nil then return data[i] end
      if page.has_more ~= true then return nil end
      local cursor = cursor_of(page)
      local why = stuck(page, cursor, followed)
      if why then
        failed = true
        return false, stuck_error(why)
      end
      followed[cursor] = true
      local nxt, err = next_page(list_state[page], cursor)
      if nxt == nil then
        failed = true
        return false, err
      end
      if nxt.has_more == true and followed[cursor_of(nxt) or ""] then   -- a page seen before
        failed = true
        return false, stuck_error("its cursor '" .. cursor_of(nxt) .. "' was followed already")
      end
      page, i = nxt, 0
    end
  end
end

-- client:run_batch{ endpoint, requests, poll_interval?, on_progress?,
-- deadline?, completion_window?, metadata?, output_path?, error_path? }:
-- results keyed by custom_id
function Client:run_batch(p)
  check_self("openai.run_batch", self)
  return require("openai.batch_job").run(self, p)
end

-- client:run_tools{...} and its Responses and streaming forms: the
-- tool-calling loop of openai.tools
for _, name in ipairs({ "run_tools", "run_tools_stream", "run_response_tools",
                        "run_response_tools_stream" }) do
  Client[name] = function(self, p)
    check_self("openai." .. name, self)
    return require("openai.tools")[name](self, p)
  end
end

-- client:pages{ url = "/v1/...", query = ..., ... }: a raw request{} on any
-- list endpoint, its answer a list with :each()
function Client:pages(p)
  local fn = "openai.pages"
  check_self(fn, self)
  check.table(fn, p, "params")
  if p.url == nil then check.fail(fn, "url", "must be a path string", p.url) end
  local spec = raw_spec(fn, self, p)
  local res, err, meta = transport.perform(self, spec)
  if res == nil then return nil, err, meta end
  if type(res) ~= "table" then return res, nil, meta end
  list_state[setmetatable(res, LIST_MT)] = { client = self, spec = spec }
  return res, nil, meta
end

-- }==================================================================


return M
