-- client:run_tools inside a real nginx (spec/support/nginx.lua): the tool
-- calls of a round run on ngx.thread light threads over cosockets, so two
-- tools that each wait 300 ms on the stand-in overlap; tools that fail are
-- told to the model; the streaming and Responses forms work there too.
local H = require "support.helper"
local nginx = require "support.nginx"
local socket = require "socket"
local cjson = require "cjson"

local KEY = "sk-proj-" .. string.rep("Zq7Lm", 20) .. "T3BlbkFJ" .. string.rep("x9", 10) -- 136 characters
local CHAT, RESP, ECHO = "/v1/chat/completions", "/v1/responses", "/v1/echo"

local PRELUDE = [[
  local openai = require "openai"
  local cjson = require "cjson"
  local client = openai.new{ api_key = "$KEY", base_url = "$BASE", max_retries = 0 }
  local function slow(args)
    local res, err = client:request{ url = "/echo", method = "POST", data = { who = args.who } }
    if not res then return nil, err end
    return "done " .. res.json.who
  end
  local tools = { slow_a = { fn = slow }, slow_b = { fn = slow },
                  boom = { fn = function() error("the sensor is down", 0) end } }
  local function show(out, err)
    ngx.say(cjson.encode({ text = out and (out.text or out.message.content), rounds = out and out.rounds,
      streamed = out and out.streamed, kind = err and err.kind, tool = err and err.tool }))
  end
]]

local LOCATIONS = [[
  location = /tools { content_by_lua_block { $PRELUDE
    show(client:run_tools{ messages = { { role = "user", content = "go" } }, tools = tools,
                           on_tool_error = ngx.var.arg_raise and "raise" or nil }) } }
  location = /tools_stream { content_by_lua_block { $PRELUDE
    local parts = {}
    local out, err = client:run_tools_stream{ messages = { { role = "user", content = "go" } }, tools = tools,
      max_rounds = tonumber(ngx.var.arg_max_rounds), on_text = function(d) parts[#parts + 1] = d end }
    if out then out.streamed = table.concat(parts) end
    show(out, err) } }
  location = /tools_task { content_by_lua_block { $PRELUDE
    local task = openai.spawn(function()
      return client:run_tools{ messages = { { role = "user", content = "go" } }, tools = tools }
    end)
    while openai.step(10) > 0 do end
    show(task:result()) } }
  location = /tools_cancel { content_by_lua_block { $PRELUDE
    local returned = "no"
    local task = openai.spawn(function()
      return client:run_tools{ messages = { { role = "user", content = "go" } }, tools = {
        slow_a = { fn = function(args) local out = slow(args); returned = "yes"; return out end } } }
    end)
    ngx.sleep(0.5)
    local cancelled = task:cancel()
    local _, err = task:result()
    ngx.sleep(1.5)
    ngx.say(cjson.encode({ cancelled = cancelled, kind = err and err.kind, returned = returned })) } }
  location = /response_tools_stream { content_by_lua_block { $PRELUDE
    local parts = {}
    local out, err = client:run_response_tools_stream{ input = "go", tools = tools,
      on_text = function(d) parts[#parts + 1] = d end }
    if out then out.streamed = table.concat(parts) end
    show(out, err) } }
]]

local function get_json(srv, path)
  local c = assert(socket.tcp())
  c:settimeout(20)
  assert(c:connect("127.0.0.1", srv.port))
  assert(c:send("GET " .. path .. " HTTP/1.0\r\nHost: localhost\r\n\r\n"))
  local data = c:receive("*a")
  c:close()
  local body = data:match("\r\n\r\n(.*)$")
  local ok, v = pcall(cjson.decode, body)
  assert(ok, path .. " answered " .. tostring(data) .. "\n" .. srv:error_log())
  return v
end

local function script_slow(path)
  H.script(path, { { tool_calls = { { name = "slow_a", arguments = { who = "a" } },
                                    { name = "slow_b", arguments = { who = "b" } } } } })
  H.script(ECHO, { { delay_ms = 300 }, { delay_ms = 300 } })
end

local function assert_overlapped()
  local t = {}
  for _, r in ipairs(H.requests()) do
    if r.path == ECHO then t[#t + 1] = r.received_ms end
  end
  assert.equal(2, #t)
  assert.is_true(math.abs(t[1] - t[2]) < 300, "the tools' calls did not overlap")
end

describe("run_tools inside nginx", function()
  local srv

  setup(function()
    local locations = LOCATIONS:gsub("%$PRELUDE", (PRELUDE:gsub("%%", "%%%%")))
    locations = locations:gsub("%$(%u+)", { KEY = KEY, BASE = H.base })
    srv = nginx.start{ locations = locations }
  end)

  teardown(function()
    if srv then srv:stop() end
  end)

  before_each(function()
    H.reset()
  end)

  it("runs a round's tools on light threads: two 300 ms tools overlap", function()
    script_slow(CHAT)
    local v = get_json(srv, "/tools")
    assert.equal("You said: done a; done b", v.text, srv:error_log())
    assert.equal(2, v.rounds)
    assert_overlapped()
  end)

  it("runs inside a task spawned there (openai.spawn, openai.step)", function()
    script_slow(CHAT)
    local v = get_json(srv, "/tools_task")
    assert.equal("You said: done a; done b", v.text, srv:error_log())
    assert_overlapped()
  end)

  it("tells the model of a tool that raises and of an unknown tool; 'raise' stops", function()
    local calls = { tool_calls = { { name = "boom", arguments = "{}" }, { name = "nope", arguments = "{}" } } }
    H.script(CHAT, { calls })
    local v = get_json(srv, "/tools")
    assert.equal("You said: error: the sensor is down; error: unknown tool 'nope'", v.text, srv:error_log())
    H.reset()
    H.script(CHAT, { { tool_calls = { { name = "slow_a", arguments = { who = "a" } },
                                      { name = "boom", arguments = "{}" } } } })
    v = get_json(srv, "/tools?raise=1")
    assert.equal("tool", v.kind)
    assert.equal("boom", v.tool)
    assert.equal(1, H.requests_to(CHAT))
  end)

  it("cancelling the runner's task kills its tools' light threads, their calls cut", function()
    H.script(CHAT, { { tool_calls = { { name = "slow_a", arguments = { who = "a" } } } } })
    H.script(ECHO, { { delay_ms = 1000 } })
    local v = get_json(srv, "/tools_cancel")
    assert.equal(1, H.requests_to(ECHO))
    assert.is_true(v.cancelled)
    assert.equal("cancelled", v.kind)
    assert.equal("no", v.returned, "the tool went on after its runner was cancelled")
    assert.equal(1, H.requests_to(CHAT))
  end)

  it("streams the chat form's text from streamed tool-call deltas; past max_rounds: tool_rounds", function()
    script_slow(CHAT)
    local v = get_json(srv, "/tools_stream")
    assert.equal("You said: done a; done b", v.text, srv:error_log())
    assert.equal(v.text, v.streamed)
    assert_overlapped()
    H.reset()
    local call = { tool_calls = { { name = "slow_a", arguments = { who = "a" } } } }
    H.script(CHAT, { call, call })
    v = get_json(srv, "/tools_stream?max_rounds=2")
    assert.equal("tool_rounds", v.kind, srv:error_log())
    assert.equal(2, H.requests_to(CHAT))
  end)

  it("streams the Responses form's text, the tools overlapping", function()
    script_slow(RESP)
    local v = get_json(srv, "/response_tools_stream")
    assert.equal("You said: done a; done b", v.text, srv:error_log())
    assert.equal(v.text, v.streamed)
    assert_overlapped()
  end)
end)
