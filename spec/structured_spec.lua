-- spec/structured_spec.lua: openai.schema, client:parse, parse_response,
-- parse_stream (structured outputs) against the stand-in.
local H = require "support.helper"
local openai = require "openai"
local cjson = require "cjson"

local NPC = {
  name = "npc",
  schema = {
    type = "object",
    properties = {
      name = { type = "string" },
      level = { type = "integer" },
      mood = { type = "string", enum = { "calm", "angry" } },
      lines = { type = "array", items = { type = "string" } },
      home = { type = "object", properties = { town = { type = "string" } }, required = { "town" } },
    },
    required = { "name", "level", "lines" },
  },
}

local GOOD = { name = "Ara", level = 3, mood = "calm", lines = { "Hello, traveller.", "Caf\195\169 \240\159\152\128" },
               home = { town = "Brill" } }

local function answer(a)
  return { { answer = a } }
end

describe("openai.schema", function()
  it("makes a strict json_schema format: additionalProperties false, all required, optional ones nullable", function()
    local s = openai.schema(NPC)
    local rf = s.response_format
    assert.equal("json_schema", rf.type)
    assert.equal("npc", rf.json_schema.name)
    assert.is_true(rf.json_schema.strict)
    local root = rf.json_schema.schema
    assert.is_false(root.additionalProperties)
    assert.same({ "home", "level", "lines", "mood", "name" }, root.required)
    assert.same({ "string", "null" }, root.properties.mood.type)
    assert.same({ "calm", "angry", cjson.null }, root.properties.mood.enum)
    assert.same({ "object", "null" }, root.properties.home.type)
    assert.is_false(root.properties.home.additionalProperties)
    assert.equal("string", root.properties.name.type)       -- required: unchanged
    assert.same({ type = "json_schema", name = "npc", schema = root, strict = true }, s.format)
    -- the caller's tables are not changed
    assert.is_nil(NPC.schema.additionalProperties)
    assert.same({ "name", "level", "lines" }, NPC.schema.required)
  end)

  it("makes an optional property without a type a union with null", function()
    local s = openai.schema{ name = "x", schema = { type = "object", properties = {
      a = { anyOf = { { type = "string" }, { type = "integer" } } }, b = { ["$ref"] = "#/$defs/b" } },
      ["$defs"] = { b = { type = "object", properties = { c = { type = "string" } } } } } }
    local p = s.schema.properties
    assert.equal(3, #p.a.anyOf)
    assert.same({ type = "null" }, p.a.anyOf[3])
    assert.same({ { ["$ref"] = "#/$defs/b" }, { type = "null" } }, p.b.anyOf)
    assert.is_false(s.schema["$defs"].b.additionalProperties)
  end)

  it("refuses a bad schema naming the function and the path", function()
    local function msg(def)
      local ok, e = pcall(openai.schema, def)
      assert.is_false(ok)
      return e
    end
    assert.matches("^openai%.schema: 'name' must be", msg({ schema = NPC.schema }))
    assert.matches("^openai%.schema: 'schema%.type' must be 'object'", msg({ name = "x", schema = { type = "array" } }))
    assert.matches("^openai%.schema: 'schema%.properties%.a%.type' must be a JSON schema type",
                   msg({ name = "x", schema = { type = "object", properties = { a = { type = "text" } } } }))
    assert.matches("^openai%.schema: 'schema%.required%[1%]' must name one of the properties",
                   msg({ name = "x", schema = { type = "object", properties = {}, required = { "z" } } }))
    assert.matches("^openai%.schema: 'schema%.properties%.a%.additionalProperties' must be false",
                   msg({ name = "x", schema = { type = "object", properties = {
                     a = { type = "object", additionalProperties = true } } } }))
    assert.matches("^openai%.schema: 'schema%.properties%.a%.items' must be a schema table",
                   msg({ name = "x", schema = { type = "object", properties = { a = { type = "array", items = 1 } } } }))
  end)

  it("checks values: types, integers, enum, required, extra fields, arrays, nested paths", function()
    local s = openai.schema(NPC)
    assert.is_nil(s:check(cjson.decode(cjson.encode(GOOD))))
    local function bad(patch)
      local v = cjson.decode(cjson.encode(GOOD))
      patch(v)
      return s:check(v)
    end
    assert.equal("npc.name: expected string, got integer", bad(function(v) v.name = 5 end))
    assert.equal("npc.level: expected integer, got number", bad(function(v) v.level = 2.5 end))
    assert.equal('npc.mood: "sad" is not one of the schema\'s enum', bad(function(v) v.mood = "sad" end))
    assert.is_nil(bad(function(v) v.mood = cjson.null end))
    assert.equal("npc.lines[2]: expected string, got boolean", bad(function(v) v.lines[2] = true end))
    assert.equal("npc.home.town: missing", bad(function(v) v.home.town = nil end))
    assert.equal("npc.level: missing", bad(function(v) v.level = nil end))
    assert.equal("npc.extra: not allowed (the schema has no such property)", bad(function(v) v.extra = 1 end))
    assert.equal("npc.lines: expected array, got object", bad(function(v) v.lines = { a = 1 } end))
  end)
end)

describe("client:parse", function()
  local c, npc
  before_each(function()
    H.reset()
    c = H.client()
    npc = openai.schema(NPC)
  end)

  it("sends the strict format as response_format and returns the checked object", function()
    H.script("/v1/chat/completions", answer({ content = GOOD }))
    local obj, err, meta = c:parse{ model = "gpt-4.1", messages = H.msgs("who?"), schema = npc }
    assert.is_nil(err)
    assert.equal("Ara", obj.name)
    assert.equal(3, obj.level)
    assert.equal("Caf\195\169 \240\159\152\128", obj.lines[2])
    assert.equal("chat.completion", meta.result.object)
    local body = H.last().json
    assert.same(cjson.decode(cjson.encode(npc.response_format)), body.response_format)
    assert.is_nil(body.schema)
    assert.equal("gpt-4.1", body.model)
  end)

  it("answers with the stand-in's own instance of the schema when nothing is scripted", function()
    local obj, err = c:parse{ messages = H.msgs("hi"), schema = npc }
    assert.is_nil(err)
    assert.equal("You said: hi", obj.name)
    assert.equal("calm", obj.mood)
    assert.equal(2, #obj.lines)
  end)

  it("returns kind decode with the path of the first wrong value", function()
    local wrong = cjson.decode(cjson.encode(GOOD))
    wrong.name = 42
    H.script("/v1/chat/completions", answer({ content = wrong }))
    local obj, err, meta = c:parse{ messages = H.msgs(), schema = npc }
    assert.is_nil(obj)
    assert.equal("decode", err.kind)
    assert.equal("npc.name: expected string, got integer", err.message)
    assert.equal(200, meta.status)
    assert.matches('"name": 42', err.text)
  end)

  it("returns kind decode when the answer is not JSON", function()
    H.script("/v1/chat/completions", answer({ content = "{\"name\": " }))
    local obj, err = c:parse{ messages = H.msgs(), schema = npc }
    assert.is_nil(obj)
    assert.equal("decode", err.kind)
    assert.matches("not JSON", err.message)
  end)

  it("returns kind refusal with the model's words", function()
    H.script("/v1/chat/completions", answer({ refusal = "I can't help with that." }))
    local obj, err = c:parse{ messages = H.msgs(), schema = npc }
    assert.is_nil(obj)
    assert.equal("refusal", err.kind)
    assert.equal("I can't help with that.", err.message)
    assert.equal("RefusalError", err.name)
  end)

  it("returns kind length for an answer cut at the token limit", function()
    H.script("/v1/chat/completions", answer({ content = '{"name": "Ar', finish_reason = "length" }))
    local obj, err = c:parse{ messages = H.msgs(), schema = npc }
    assert.is_nil(obj)
    assert.equal("length", err.kind)
    assert.matches("token limit", err.message)
    assert.equal('{"name": "Ar', err.text)
  end)

  it("never shows the key when the model's answer echoes it (a 164-character key)", function()
    local key = "sk-proj-" .. string.rep("Kq7Zp", 31) .. "x"
    assert.equal(164, #key)
    local kc = H.client({ api_key = key })
    H.script("/v1/chat/completions", { { echo_key = "@KEY@", answer = { content = '{"name": "@KEY@", "level": "x"' } } })
    local obj, err, meta = kc:parse{ messages = H.msgs(), schema = npc }
    assert.is_nil(obj)
    assert.equal("decode", err.kind)
    assert.is_nil(meta.result)
    assert.is_nil(tostring(err):find(key, 1, true))
    assert.is_nil(err.text:find(key, 1, true))
    assert.is_nil(err.text:find(key:sub(1, 20), 1, true))
    assert.equal('{"name": "[redacted]", "level": "x"', err.text)     -- the server did echo it
    local wrong = cjson.decode(cjson.encode(GOOD))
    wrong.name = 1
    wrong.home.town = { "@KEY@" }
    H.script("/v1/chat/completions", { { echo_key = "@KEY@", answer = { content = wrong } } })
    obj, err = kc:parse{ messages = H.msgs(), schema = npc }
    assert.is_nil(obj)
    assert.equal("npc.home.town: expected string, got array", err.message)
    assert.is_nil(err.text:find(key:sub(1, 20), 1, true))
  end)

  it("passes the call's own failures through", function()
    H.script("/v1/chat/completions", { { status = 400 } })
    local obj, err, meta = c:parse{ messages = H.msgs(), schema = npc }
    assert.is_nil(obj)
    assert.equal("api", err.kind)
    assert.equal(400, meta.status)
  end)

  it("refuses bad arguments naming openai.parse, nothing sent", function()
    assert.has_error(function() c:parse{ messages = H.msgs() } end)
    local ok, e = pcall(c.parse, c, { messages = H.msgs(), schema = 5 })
    assert.is_false(ok)
    assert.matches("^openai%.parse: 'schema' must be made by openai%.schema", e)
    ok, e = pcall(c.parse, c, { messages = {}, schema = npc })
    assert.is_false(ok)
    assert.matches("^openai%.parse: 'messages'", e)
    ok, e = pcall(c.parse, c, { messages = H.msgs(), schema = npc, response_format = { type = "text" } })
    assert.is_false(ok)
    assert.matches("^openai%.parse: 'response_format' is set from 'schema'", e)
    assert.equal(0, #H.requests())
  end)

  it("takes a plain { name, schema } table as openai.schema would", function()
    local obj, err = c:parse{ messages = H.msgs("x"), schema = NPC }
    assert.is_nil(err)
    assert.equal("You said: x", obj.name)
  end)

  it("works as a module function on the default client", function()
    openai.configure({ api_key = H.key, base_url = H.base })
    local obj, err = openai.parse{ messages = H.msgs("m"), schema = npc }
    assert.is_nil(err)
    assert.equal("You said: m", obj.name)
  end)
end)

describe("client:parse_response", function()
  local c, npc
  before_each(function()
    H.reset()
    c = H.client()
    npc = openai.schema(NPC)
  end)

  it("sends text.format and finds the output text after a reasoning item", function()
    H.script("/v1/responses", answer({ content = GOOD, reasoning = true }))
    local obj, err, meta = c:parse_response{ model = "o4-mini", input = "who?", schema = npc }
    assert.is_nil(err)
    assert.equal("Ara", obj.name)
    assert.equal("reasoning", meta.result.output[1].type)
    assert.same(cjson.decode(cjson.encode(npc.format)), H.last().json.text.format)
  end)

  it("returns kind refusal, length and decode as parse does", function()
    H.script("/v1/responses", answer({ refusal = "No." }))
    local _, err = c:parse_response{ input = "x", schema = npc }
    assert.equal("refusal", err.kind)
    assert.equal("No.", err.message)
    H.script("/v1/responses", answer({ content = '{"na', finish_reason = "length" }))
    _, err = c:parse_response{ input = "x", schema = npc }
    assert.equal("length", err.kind)
    local no_level = cjson.decode(cjson.encode(GOOD))
    no_level.level = nil
    H.script("/v1/responses", answer({ content = no_level }))
    _, err = c:parse_response{ input = "x", schema = npc }
    assert.equal("decode", err.kind)
    assert.equal("npc.level: missing", err.message)
  end)
end)

describe("openai.output_text", function()
  it("joins the output text of every message item, past a reasoning item", function()
    local c = H.client()
    local res = assert(c:response{ model = "o4-mini", input = "hi" })
    assert.equal("reasoning", res.output[1].type)
    assert.equal("You said: hi", openai.output_text(res))
    res = assert(c:response{ model = "gpt-4.1", input = "hi" })
    assert.equal("message", res.output[1].type)
    assert.equal("You said: hi", openai.output_text(res))
    assert.equal("", openai.output_text({ output = {} }))
    assert.has_error(function() openai.output_text(nil) end, "openai.output_text: 'res' must be a response table (got nil)")
  end)
end)

describe("client:parse_stream", function()
  local c, npc
  before_each(function()
    H.reset()
    c = H.client()
    npc = openai.schema(NPC)
  end)

  -- every partial is contained in the final object: complete fields equal,
  -- strings growing as prefixes, arrays growing
  local function contained(part, whole, path)
    if type(part) == "string" then
      assert(whole:sub(1, #part) == part, path .. ": '" .. part .. "' is not a prefix of '" .. whole .. "'")
    elseif type(part) == "table" then
      assert(type(whole) == "table", path .. ": not a table in the result")
      for k, v in pairs(part) do contained(v, whole[k], path .. "." .. tostring(k)) end
    else
      assert(part == whole, path .. ": " .. tostring(part) .. " ~= " .. tostring(whole))
    end
  end

  for _, size in ipairs({ 1, 2, 3, 7 }) do
    it("gives the object so far as pieces of " .. size .. " characters arrive, then the checked result", function()
      H.script("/v1/chat/completions", answer({ content = GOOD, pieces = size }))
      local s = assert(c:parse_stream{ messages = H.msgs(), schema = npc })
      local seen, names = {}, {}
      assert.is_nil(s:partial())
      while true do
        local ev = s:next()
        if ev == nil then break end
        local p = s:partial()
        if p ~= nil then
          seen[#seen + 1] = cjson.encode(p)
          if p.name then names[#names + 1] = p.name end
          contained(p, GOOD, "npc")
        end
      end
      local obj, err = s:result()
      assert.is_nil(err)
      assert.same(GOOD, obj)
      assert.same(GOOD, s:partial())
      for i = 2, #names do assert.equal(names[i - 1], names[i]:sub(1, #names[i - 1])) end
      assert.equal("Ara", names[#names])
      if size == 1 then   -- the name appears while it is being written
        assert.same({ "", "A", "Ar", "Ara" }, { names[1], names[2], names[3], names[4] })
      end
      assert.is_true(#seen > 5)
    end)
  end

  it("streams the stand-in's own instance in 3-character pieces and the result matches parse", function()
    local s = assert(c:parse_stream{ messages = H.msgs("hey"), schema = npc })
    local lines_grew = 0
    while s:next() do
      local p = s:partial()
      if p and p.lines then lines_grew = math.max(lines_grew, #p.lines) end
    end
    local obj, err = s:result()
    assert.is_nil(err)
    assert.equal("You said: hey", obj.name)
    assert.equal(2, lines_grew)
  end)

  it("returns the same errors as parse from result()", function()
    H.script("/v1/chat/completions", answer({ refusal = "I won't." }))
    local s = assert(c:parse_stream{ messages = H.msgs(), schema = npc })
    local obj, err = s:result()
    assert.is_nil(obj)
    assert.equal("refusal", err.kind)
    assert.equal("I won't.", err.message)
    H.script("/v1/chat/completions", answer({ content = '{"name": "Ar', finish_reason = "length" }))
    s = assert(c:parse_stream{ messages = H.msgs(), schema = npc })
    obj, err = s:result()
    assert.is_nil(obj)
    assert.equal("length", err.kind)
    assert.same({ name = "Ar" }, s:partial())
    local wrong = cjson.decode(cjson.encode(GOOD))
    wrong.name = 1
    H.script("/v1/chat/completions", answer({ content = wrong }))
    s = assert(c:parse_stream{ messages = H.msgs(), schema = npc })
    obj, err = s:result()
    assert.is_nil(obj)
    assert.equal("decode", err.kind)
    assert.equal("npc.name: expected string, got integer", err.message)
  end)

  it("refuses accumulate = false, nothing sent", function()
    local ok, e = pcall(c.parse_stream, c, { messages = H.msgs(), schema = npc, accumulate = false })
    assert.is_false(ok)
    assert.matches("^openai%.parse_stream: 'accumulate' must be true or absent here", e)
    assert.equal(0, #H.requests())
  end)

  it("returns a broken stream as nil, err from result()", function()
    H.script("/v1/chat/completions", { { answer = { content = GOOD, pieces = 4 }, fault = "truncate" } })
    local s = assert(c:parse_stream{ messages = H.msgs(), schema = npc })
    local obj, err = s:result()
    assert.is_nil(obj)
    assert.equal("stream", err.kind)
  end)

  it("reads a Responses stream (input given) past its reasoning item", function()
    H.script("/v1/responses", answer({ content = GOOD, pieces = 5, reasoning = true }))
    local s = assert(c:parse_stream{ input = "who?", model = "o4-mini", schema = npc })
    local partials = 0
    while s:next() do
      if s:partial() then partials = partials + 1 end
    end
    local obj, err = s:result()
    assert.is_nil(err)
    assert.same(GOOD, obj)
    assert.is_true(partials > 5)
    assert.same(cjson.decode(cjson.encode(npc.format)), H.last().json.text.format)
  end)

  it("returns length for a Responses stream that ends incomplete, with the partial object so far", function()
    H.script("/v1/responses", answer({ content = '{"name": "Ara", "lines": ["Hel', finish_reason = "length",
                                       pieces = 2 }))
    local s = assert(c:parse_stream{ input = "who?", schema = npc })
    local obj, err, meta = s:result()
    assert.is_nil(obj)
    assert.equal("length", err.kind)
    assert.matches("max_output_tokens", err.message)
    assert.equal(200, meta.status)
    assert.same({ name = "Ara", lines = { "Hel" } }, s:partial())
  end)

  it("runs as a task beside another call", function()
    local got
    local t = openai.spawn(function()
      local s = assert(c:parse_stream{ messages = H.msgs(), schema = npc })
      got = assert(s:result())
    end)
    local other = openai.spawn(function() return c:chat{ messages = H.msgs("x") } end)
    while openai.step(50) > 0 do end
    assert.is_true(t:done())
    assert.equal("You said: hello", got.name)
    assert.is_table((other:result()))
  end)
end)
