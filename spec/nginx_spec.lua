-- spec/nginx_spec.lua: the module inside a real nginx (Debian's nginx with
-- the lua module, LuaJIT), started by spec/support/nginx.lua. The cosocket
-- transport comes later; this proves the harness: the module and its core
-- load in a worker, with lua-resty-core, and answer.
local nginx = require "support.nginx"
local http = require "socket.http"
local ltn12 = require "ltn12"

local function get(url)
  local out = {}
  local _, code, headers = http.request({ url = url, sink = ltn12.sink.table(out) })
  return code, table.concat(out), headers
end

describe("nginx with the lua module", function()
  local srv

  setup(function()
    srv = nginx.start{ locations = [[
    location = /version {
      content_by_lua_block {
        local openai = require "openai"
        local core = require "openai.wire"
        ngx.say(openai.VERSION, " ", core.version)
        ngx.say(jit and jit.version or "no jit", " ", tostring(package.loaded["resty.core"] ~= nil))
        ngx.say(ngx.get_phase())
      }
    }
    location = /parse {
      content_by_lua_block {
        local core = require "openai.wire"
        local p = core.http1("GET")
        local raw = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
        local body = {}
        for i = 1, #raw, 7 do
          local r = assert(p:feed(raw:sub(i, i + 6)))
          body[#body + 1] = r.body
          if r.done then ngx.say(r.keepalive and "keepalive" or "close") end
        end
        ngx.say(table.concat(body))
        local s = core.sse()
        for _, ev in ipairs(assert(s:feed("event: e\ndata: {\"a\":1}\n\n"))) do
          ngx.say(ev.event, " ", ev.data)
        end
        ngx.say(core.retry_decide({ max_retries = 2, backoff = true, sdk_statuses = true },
                                  { attempts = 1, status = 429, headers = { ["retry-after"] = "2" } }))
      }
    }
    location = /fail {
      content_by_lua_block { error("on purpose") }
    }
    ]] }
  end)

  teardown(function()
    if srv then srv:stop() end
  end)

  it("loads openai and its LuaJIT core in the worker, with resty.core", function()
    local code, body = get(srv.url .. "/version")
    assert.equal(200, code, srv:error_log())
    local openai = require "openai"
    local lines = {}
    for l in body:gmatch("[^\n]+") do lines[#lines + 1] = l end
    assert.equal(openai.VERSION .. " " .. require("openai.wire").version, lines[1])
    assert.matches("^LuaJIT 2%.1", lines[2])
    assert.matches(" true$", lines[2])
    assert.equal("content", lines[3])
  end)

  it("runs the parsers and the retry policy there", function()
    local code, body = get(srv.url .. "/parse")
    assert.equal(200, code, srv:error_log())
    assert.equal("keepalive\nhello\ne {\"a\":1}\nyes20002000\n", body)
  end)

  it("shows a failing handler in its error log", function()
    local code = get(srv.url .. "/fail")
    assert.equal(500, code)
    assert.matches("on purpose", srv:error_log())
  end)
end)
