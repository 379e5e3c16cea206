-- openai.names: the option names a table may hold, and the refusal of any
-- other, naming the closest known one: a misspelt option (`timout`) or
-- another client's name for one of ours (`api_base`) is an argument error,
-- never silently ignored.

local type, pairs, tostring, error = type, pairs, tostring, error
local format, byte, sub, gsub, lower = string.format, string.byte, string.sub, string.gsub,
                                        string.lower
local min, floor = math.min, math.floor
local sort = table.sort

local _ENV = nil -- luacheck: ignore 211

local M = {}

-- the names other OpenAI clients (the official SDKs, other Lua clients,
-- LangChain, LiteLLM) give options that openai.new has under another name
M.ALIASES = {
  api_base = "base_url", base_uri = "base_url", baseURL = "base_url", base = "base_url",
  endpoint = "base_url", url = "base_url", host = "base_url", api_url = "base_url",
  azure_endpoint = "base_url", uri_base = "base_url",
  apiKey = "api_key", key = "api_key", token = "api_key", access_token = "api_key",
  openai_api_key = "api_key",
  org = "organization", organization_id = "organization", org_id = "organization",
  openai_organization = "organization", organizationId = "organization",
  project_id = "project",
  request_timeout = "timeout", timeout_ms = "timeout", read_timeout = "timeout",
  maxRetries = "max_retries", retries = "max_retries", retry = "max_retries",
  default_headers = "headers", defaultHeaders = "headers", extra_headers = "headers",
  http_proxy = "proxy", https_proxy = "proxy", proxies = "proxy",
  cafile = "ca_file", ca_cert = "ca_file", ca_certs = "ca_file", cacert = "ca_file",
  ca_bundle = "ca_file", verify = "ca_file", ssl_ca_file = "ca_file",
  capath = "ca_path", ca_dir = "ca_path",
  cert = "client_cert", cert_file = "client_cert", ssl_cert = "client_cert",
  key_file = "client_key", ssl_key = "client_key", cert_key = "client_key",
  api_version = "azure", deployment = "azure", azure_deployment = "azure",
  api_type = "azure", azure_ad_token_provider = "azure",
}

-- the Levenshtein distance of a and b (short names: a plain table of rows)
local function distance(a, b)
  local prev = {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    local cur = { [0] = i }
    local ca = byte(a, i)
    for j = 1, #b do
      local cost = ca == byte(b, j) and 0 or 1
      cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev = cur
  end
  return prev[#b]
end
M.distance = distance

-- the known name closest to name (an alias first), or nil when none is
-- near: at most a third of the name's length away (2 for short names)
function M.closest(name, known, aliases)
  local alias = aliases and aliases[name]
  if alias and known[alias] then return alias end
  local list = {}
  for k in pairs(known) do list[#list + 1] = k end
  sort(list)
  local best, best_d = nil, nil
  local limit = #name >= 9 and floor(#name / 3) or 2
  local lname = lower(name)
  for i = 1, #list do
    local d = distance(lname, list[i])
    if d <= limit and (best_d == nil or d < best_d) then best, best_d = list[i], d end
  end
  return best
end

-- raise naming fn and the first unknown key of t (in sorted order), with
-- the closest known name; prefix: the table's own field ("azure.")
function M.refuse_unknown(fn, t, known, aliases, prefix)
  local unknown
  for k in pairs(t) do
    if not known[k] then
      local name = type(k) == "string" and k or tostring(k)
      if unknown == nil or name < unknown then unknown = name end
    end
  end
  if unknown == nil then return end
  local near = M.closest(unknown, known, aliases)
  local hint = near and format(" (did you mean '%s%s'?)", prefix or "", near) or ""
  local shown = gsub(sub(unknown, 1, 40), "[%c\128-\255]", "?")
  error(format("%s: unknown option '%s%s'%s", fn, prefix or "", shown, hint), 0)
end

return M
