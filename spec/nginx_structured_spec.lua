-- spec/nginx_structured_spec.lua: structured outputs and pictures inside a
-- real nginx (spec/support/nginx.lua), over the cosocket transport, against
-- the stand-in: parse, parse_response, parse_stream's partial objects, the
-- errors, and data_url / base64 (openai.wire, no libcurl).
local H = require "support.helper"
local nginx = require "support.nginx"
local socket = require "socket"
local cjson = require "cjson"

local KEY = "sk-proj-" .. string.rep("Zq9xW", 30) .. "end"    -- 161 characters

local PRELUDE = [[
  local openai = require "openai"
  local cjson = require "cjson"
  local client = openai.new{ api_key = "$KEY", base_url = "$BASE", max_retries = 0 }
  local npc = openai.schema{ name = "npc", schema = { type = "object",
    properties = { name = { type = "string" }, level = { type = "integer" },
                   lines = { type = "array", items = { type = "string" } } },
    required = { "name", "level", "lines" } } }
  local function show(obj, err, meta)
    ngx.say(cjson.encode({ obj = obj, err = err and { kind = err.kind, message = err.message } or nil,
      status = meta and meta.status, transport = package.loaded["openai.core"] and "curl" or "cosocket" }))
  end
]]

local LOCATIONS = [[
  location = /parse { content_by_lua_block { $PRELUDE
    show(client:parse{ messages = { { role = "user", content = "who are you?" } }, schema = npc }) } }
  location = /parse_response { content_by_lua_block { $PRELUDE
    show(client:parse_response{ model = "o4-mini", input = "who?", schema = npc }) } }
  location = /parse_stream { content_by_lua_block { $PRELUDE
    local s = assert(client:parse_stream{ messages = { { role = "user", content = "hi" } }, schema = npc })
    local partials, last_name = 0, nil
    while s:next() do
      local p = s:partial()
      if p then
        partials = partials + 1
        last_name = p.name or last_name
      end
    end
    local obj, err = s:result()
    ngx.say(cjson.encode({ partials = partials, last_name = last_name, obj = obj,
                           err = err and err.message or nil })) } }
  location = /pictures { content_by_lua_block { $PRELUDE
    local png = "\137PNG\r\n\26\n" .. string.rep("\0", 16)
    local url = openai.data_url(png)
    ngx.say(cjson.encode({ url = url, back = openai.b64_decode(url:match(",(.*)$")) == png,
                           core = package.loaded["openai.core"] and true or false })) } }
]]

local function get_json(srv, path)
  local c = assert(socket.tcp())
  c:settimeout(20)
  assert(c:connect("127.0.0.1", srv.port))
  assert(c:send("GET " .. path .. " HTTP/1.0\r\nHost: localhost\r\n\r\n"))
  local data = c:receive("*a")
  c:close()
  assert.equal("200", data:match("^HTTP/1%.%d (%d+)"), srv:error_log())
  local ok, v = pcall(cjson.decode, data:match("\r\n\r\n(.*)$"))
  assert(ok, path .. " answered " .. tostring(data) .. "\n" .. srv:error_log())
  return v
end

describe("structured outputs inside nginx", function()
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

  it("parse answers with the checked object over cosockets", function()
    local v = get_json(srv, "/parse")
    assert.is_nil(v.err)
    assert.equal("You said: who are you?", v.obj.name)
    assert.equal(7, v.obj.level)
    assert.equal("cosocket", v.transport)
    local rec = H.last()
    assert.equal("/v1/chat/completions", rec.path)
    assert.is_true(rec.json.response_format.json_schema.strict)
  end)

  it("parse returns decode with the path, refusal with the model's words", function()
    H.script("/v1/chat/completions", { { answer = { content = { name = 5, level = 1, lines = { "a" } } } } })
    local v = get_json(srv, "/parse")
    assert.is_nil(v.obj)
    assert.same({ kind = "decode", message = "npc.name: expected string, got integer" }, v.err)
    H.script("/v1/chat/completions", { { answer = { refusal = "Not today." } } })
    v = get_json(srv, "/parse")
    assert.same({ kind = "refusal", message = "Not today." }, v.err)
  end)

  it("parse_response walks past the reasoning item", function()
    local v = get_json(srv, "/parse_response")
    assert.is_nil(v.err)
    assert.equal("You said: who?", v.obj.name)
  end)

  it("parse_stream gives partial objects while the answer streams", function()
    local v = get_json(srv, "/parse_stream")
    assert.is_nil(v.err)
    assert.is_true(v.partials > 10)
    assert.equal("You said: hi", v.last_name)
    assert.equal("You said: hi", v.obj.name)
    assert.equal(2, #v.obj.lines)
  end)

  it("makes data URLs and decodes base64 without libcurl", function()
    local v = get_json(srv, "/pictures")
    assert.matches("^data:image/png;base64,iVBORw0KGgo", v.url)
    assert.is_true(v.back)
    assert.is_false(v.core)
  end)
end)
