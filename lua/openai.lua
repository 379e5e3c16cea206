-- openai: an OpenAI client for Lua, with a C core on libcurl.
--
--   local openai = require "openai"
--   local client = openai.new{ api_key = "sk-..." }
--   local res, err, meta = client:chat{ messages = { { role = "user", content = "Hi" } } }
--
-- The module functions (openai.chat{...}, openai.image{...}, ...) use a
-- default client built from the environment on first use.

local client = require "openai.client"
local json = require "openai.json"
local errors = require "openai.errors"
local parallel = require "openai.parallel"
local scheduler = require "openai.scheduler"
local transport = require "openai.transport"
local endpoints = require "openai.endpoints"

local ipairs, require, setmetatable = ipairs, require, setmetatable

local _ENV = nil -- luacheck: ignore 211

local M = {
  _VERSION = client.VERSION,
  VERSION = client.VERSION,
  null = json.null,            -- JSON null (cjson.null)
  array = json.array,          -- mark a table as a JSON array: openai.array{} is sent as []
  is_error = errors.is_error,
  parallel = parallel,
  spawn = scheduler.spawn,     -- openai.spawn(fn, ...) -> task, run by openai.step
  step = scheduler.step,       -- openai.step(max_wait_ms) -> tasks still pending
  Task = scheduler.Task,
  Client = client.Client,
}

-- the default client of the module functions, built on first use
local default_client

function M.new(opts)
  return client.new(opts)
end

-- replace the default client (or build it from opts)
function M.configure(opts)
  default_client = client.new(opts)
  return default_client
end

function M.default_client()
  if default_client == nil then default_client = client.new() end
  return default_client
end

for _, name in ipairs(endpoints.NAMES) do
  local method = client.Client[name]
  M[name] = function(...)
    return method(M.default_client(), ...)
  end
end

-- structured outputs and pictures (lua/openai/schema.lua, parse.lua, pictures.lua)
M.schema = function(def) return require("openai.schema").new(def) end
M.output_text = function(res) return require("openai.parse").output_text(res) end
for _, name in ipairs({ "data_url", "b64_encode", "b64_decode", "save_b64" }) do
  M[name] = function(...) return require("openai.pictures")[name](...) end
end
-- the tool runners (lua/openai/tools.lua) and structured outputs, on the
-- default client too
for _, name in ipairs({ "parse", "parse_response", "parse_stream", "run_tools", "run_tools_stream",
                        "run_response_tools", "run_response_tools_stream" }) do
  M[name] = function(p) return client.Client[name](M.default_client(), p) end
end

-- the engine's counters (transfers alive, running, pooled handles)
function M.stats()
  return transport.engine():stats()
end

-- openai.curl_version: read on first use, so that loading the module does
-- not load libcurl (nginx's cosocket transport never needs it)
return setmetatable(M, {
  __index = function(_, k)
    if k ~= "curl_version" then return nil end
    local v = require("openai.core").curl_version()
    M.curl_version = v
    return v
  end,
})
