-- spec/unknown_options_spec.lua: openai.new refuses an option it does not
-- know, naming the closest known one (a misspelling, or another client's
-- name for one of ours), before anything is sent.
local H = require "support.helper"
local openai = require "openai"

local function refused(opts)
  local o = { api_key = H.key, base_url = H.base }
  for k, v in pairs(opts) do o[k] = v end
  return H.raises(openai.new, o)
end

describe("openai.new's unknown options", function()
  it("names a misspelt option and the one meant", function()
    assert.equal("openai.new: unknown option 'timout' (did you mean 'timeout'?)", refused{ timout = 5000 })
    assert.equal("openai.new: unknown option 'max_retry' (did you mean 'max_retries'?)",
                 refused{ max_retry = 1 })
    assert.equal("openai.new: unknown option 'idle_timeot' (did you mean 'idle_timeout'?)",
                 refused{ idle_timeot = 1 })
    assert.equal("openai.new: unknown option 'cafile' (did you mean 'ca_file'?)", refused{ cafile = "x" })
  end)

  it("maps other clients' names to ours", function()
    assert.equal("openai.new: unknown option 'api_base' (did you mean 'base_url'?)",
                 refused{ api_base = "http://x" })
    assert.equal("openai.new: unknown option 'base_uri' (did you mean 'base_url'?)",
                 refused{ base_uri = "http://x" })
    assert.equal("openai.new: unknown option 'org' (did you mean 'organization'?)", refused{ org = "o" })
    assert.equal("openai.new: unknown option 'organization_id' (did you mean 'organization'?)",
                 refused{ organization_id = "o" })
    assert.equal("openai.new: unknown option 'default_headers' (did you mean 'headers'?)",
                 refused{ default_headers = {} })
  end)

  it("says nothing more when no known option is near", function()
    assert.equal("openai.new: unknown option 'zzzzzzzz'", refused{ zzzzzzzz = true })
    assert.equal("openai.new: unknown option '1'", refused{ "positional" })
  end)

  it("checks azure's table too", function()
    local msg = refused{ azure = { api_version = "2024-10-21", deploymnet = "d" } }
    assert.equal("openai.new: unknown option 'azure.deploymnet' (did you mean 'azure.deployment'?)", msg)
  end)

  it("shows a strange name without its control bytes, and sends nothing", function()
    H.reset()
    local msg = refused{ ["bad\nname"] = 1 }
    assert.equal("openai.new: unknown option 'bad?name'", msg)
    assert.equal(0, #H.requests())
  end)

  it("takes every documented option", function()
    local c = openai.new{
      api_key = H.key, organization = "org-1", project = "proj-1", base_url = H.base, timeout = 5000,
      connect_timeout = 1000, idle_timeout = 1000, deadline = 9000, max_retries = 1,
      max_retry_after = 1000, debug = false, max_response_bytes = 1000000, max_event_bytes = 100000,
      headers = { ["X-A"] = "1" }, proxy = "", no_proxy = "localhost", logger = function() end,
      transport = "curl",
    }
    local res, err = c:models()
    assert.is_nil(err)
    assert.equal("list", res.object)
  end)
end)
