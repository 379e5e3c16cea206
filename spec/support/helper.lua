-- spec/support/helper.lua: what the specs share: clients pointed at the
-- local stand-in (spec/support/standin.py, started by spec/run.sh), and the
-- stand-in's control API: reset, scripted responses, the request log.
local http = require "socket.http"
local ltn12 = require "ltn12"
local cjson = require "cjson"

local H = {}

H.url = assert(os.getenv("OPENAI_STANDIN_URL"), "OPENAI_STANDIN_URL is not set: run the specs with `make test`")
H.base = H.url .. "/v1"
H.key = "sk-test-SECRET-0123456789"

-- a client of the stand-in; opts override
function H.client(opts)
  local openai = require "openai"
  local o = { api_key = H.key, base_url = H.base }
  for k, v in pairs(opts or {}) do o[k] = v end
  return openai.new(o)
end

local function control(method, path, body)
  local out = {}
  local src = body and ltn12.source.string(body) or nil
  local _, code = http.request({
    url = H.url .. path, method = method, sink = ltn12.sink.table(out), source = src,
    headers = body and { ["content-type"] = "application/json", ["content-length"] = #body } or nil,
  })
  assert(code == 200, "stand-in control " .. path .. " answered " .. tostring(code))
  return cjson.decode(table.concat(out))
end

-- forget the request log and every script
function H.reset()
  control("POST", "/_control/reset", "{}")
end

-- the next requests to path get these responses, in order (see standin.py)
function H.script(path, responses, method)
  local body = { path = path, responses = responses, method = method }
  control("POST", "/_control/script", cjson.encode(body))
end

-- every request the stand-in received since the last reset
function H.requests()
  return control("GET", "/_control/requests").requests
end

-- the last request received
function H.last()
  local r = H.requests()
  return r[#r]
end

function H.stats()
  return control("GET", "/_control/stats")
end

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
function H.b64decode(s)
  s = s:gsub("[^%w%+/=]", "")
  return (s:gsub(".", function(c)
    if c == "=" then return "" end
    local n = B64:find(c, 1, true) - 1
    local bits = ""
    for i = 5, 0, -1 do bits = bits .. ((n >> i) & 1) end
    return bits
  end):gsub("%d%d%d?%d?%d?%d?%d?%d?", function(b)
    if #b ~= 8 then return "" end
    return string.char(tonumber(b, 2))
  end))
end

-- the raw bytes of a recorded request's body
function H.body_bytes(rec)
  return H.b64decode(rec.body_b64 or "")
end

-- a port on loopback where nothing listens
function H.closed_port_url()
  local socket = require "socket"
  local s = assert(socket.bind("127.0.0.1", 0))
  local _, port = s:getsockname()
  s:close()
  return "http://127.0.0.1:" .. port .. "/v1"
end

-- milliseconds on a monotonic clock
function H.now()
  return require("openai.core").now()
end

-- call f and return the error message it raised (fails if it did not raise)
function H.raises(f, ...)
  local ok, err = pcall(f, ...)
  assert(not ok, "expected an error, but the call returned")
  return err
end

return H
