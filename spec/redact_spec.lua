-- No part of the API key, ever: keys of real length (a 51-character legacy
-- key, a 164-character project key, and a base64 key holding '/') echoed by
-- the server (plain, JSON-escaped, in headers, in stream events, at offsets
-- where a message is cut) or passed by mistake in arguments never show in
-- tostring(err), in an err field, in the meta of a failed call, or in a
-- debug line: no 8 consecutive characters of the key.

local H = require "support.helper"
local openai = require "openai"

local KEYS = {
  legacy = "sk-ox9yimTcfipZGnzPbDFDyFKm51zfFoWbSrHAE56yUhQqg0ey",
  project = "sk-proj-WnhREl-Asie_ys64KT2rumOT-zNtTKjCSFbLRCIe2GWM1wYovdzuMobWRv3Dr0501kiKm"
         .. "eknUt_tiycrRXpMSPUa-AhewwR34pkzC-8tWpn5q4l8YU6Cgzg5onBacU3lzDPXzaLLkPZCLk1VPMTLnz_VWNAL",
  slash = "YXTU2z+kIui/I1oJLJIJ0FUFF6FDzV/noXkv2frcZm9v/w==",
}
assert(#KEYS.legacy == 51 and #KEYS.project == 164)

-- the first 8-character piece of key found in s, or nil
local function key_part(s, key)
  for i = 1, #key - 7 do
    local piece = key:sub(i, i + 7)
    if s:find(piece, 1, true) then return piece end
  end
  return nil
end

local function assert_clean(strings, key, what)
  for _, s in ipairs(strings) do
    local piece = key_part(s, key)
    assert.is_nil(piece, ("%s: %q (from the key) in %s"):format(what, tostring(piece), s))
  end
end

-- every string a user sees of a failed call: tostring(err), each string
-- field of err, meta.request_id, each meta.headers name and value
local function visible(err, meta)
  local out = { tostring(err) }
  for k, v in pairs(err) do
    if type(v) == "string" then out[#out + 1] = k .. "=" .. v end
  end
  if meta then
    out[#out + 1] = tostring(meta.request_id)
    for k, v in pairs(meta.headers or {}) do out[#out + 1] = k .. ": " .. v end
  end
  return out
end

-- every character of s as a JSON \u escape, hex digits in the case given
local function uescape(s, upper)
  local f = upper and "\\u%04X" or "\\u%04x"
  return (s:gsub(".", function(c) return f:format(c:byte()) end))
end

-- s as JSON writes it with '/' escaped: "\/"
local function slash_escape(s)
  return (s:gsub("/", "\\/"))
end

-- a client with this key that collects its debug lines
local function logging_client(key, opts)
  local lines = {}
  local o = { api_key = key, base_url = H.base, logger = function(l) lines[#lines + 1] = l end }
  for k, v in pairs(opts or {}) do o[k] = v end
  return openai.new(o), lines
end

describe("redaction of real-length keys", function()
  before_each(function()
    H.reset()
  end)

  for _, name in ipairs({ "legacy", "project" }) do
    local key = KEYS[name]

    describe("(" .. name .. " key, " .. #key .. " characters)", function()
      it("a non-JSON error body echoing the key, wherever a 200-byte cut falls", function()
        local c, lines = logging_client(key)
        for _, at in ipairs({ 0, 40, 100, 150, 185, 192, 199, 200 }) do
          H.script("/v1/models", { { status = 401, echo_key = "@KEY@",
                                     body = ("x"):rep(at) .. "@KEY@ rejected" } })
          local res, err, meta = c:models { debug = true }
          assert.is_nil(res)
          assert.equal("api", err.kind)
          assert.equal(401, err.status)
          -- the server did echo it, and the message still shows what came before
          assert.equal(("x"):rep(at) .. "[redacted] rejected", err.body)
          assert.equal(("x"):rep(at), err.message:sub(1, at))
          assert_clean(visible(err, meta), key, "offset " .. at)
        end
        assert.is_true(#lines >= 16)
        assert_clean(lines, key, "debug line")
      end)

      it("a JSON error body echoing the key plain, \\u-escaped (either hex case) or in part escaped", function()
        local c, lines = logging_client(key)
        local half = math.floor(#key / 2)
        local forms = {
          key, uescape(key), uescape(key, true),
          key:sub(1, half) .. uescape(key:sub(half + 1)),
          uescape(key:sub(1, 3)) .. key:sub(4, -2) .. uescape(key:sub(-1), true),
          (key:gsub("o", "\\u006f"):gsub("A", "\\u0041")),
        }
        for i, form in ipairs(forms) do
          local body = '{"error":{"message":"Incorrect API key provided: ' .. form
                       .. '","type":"invalid_request_error","param":"' .. form
                       .. '","code":"invalid_api_key"},"echo":"\\\\' .. form .. '"}'
          H.script("/v1/models", { { status = 401, body = body } })
          local _, err, meta = c:models { debug = true }
          assert.equal("api", err.kind)
          assert.equal("invalid_api_key", err.code)
          assert.equal("Incorrect API key provided: [redacted]", err.message)
          assert.equal("[redacted]", err.param)
          assert.truthy(err.body:find('"echo":"\\\\[redacted]"', 1, true), err.body)
          assert_clean(visible(err, meta), key, "form " .. i)
        end
        assert_clean(lines, key, "debug line")
      end)

      it("the key echoed in x-request-id and other headers of a failed call", function()
        local c, lines = logging_client(key)
        H.script("/v1/models", { { status = 401, echo_key = "@KEY@", headers = {
          ["x-request-id"] = "req_@KEY@", ["x-echo"] = "you sent @KEY@" } } })
        local _, err, meta = c:models { debug = true }
        assert.equal(401, err.status)
        assert.equal("req_[redacted]", err.request_id)
        assert.equal("req_[redacted]", meta.request_id)
        assert.equal("req_[redacted]", meta.headers["x-request-id"])
        assert.equal("you sent [redacted]", meta.headers["x-echo"])
        assert_clean(visible(err, meta), key, "api error")
        -- a 200 whose body is not JSON fails too: its meta is redacted as well
        H.script("/v1/models", { { status = 200, echo_key = "@KEY@", body = "<html>@KEY@",
                                   headers = { ["x-request-id"] = "@KEY@" } } })
        local res
        res, err, meta = c:models { debug = true }
        assert.is_nil(res)
        assert.equal("decode", err.kind)
        assert.equal("[redacted]", meta.request_id)
        assert_clean(visible(err, meta), key, "decode error")
        assert_clean(lines, key, "debug line")
      end)

      it("a successful call's meta is the server's own", function()
        local c = logging_client(key)
        H.script("/v1/models", { { status = 200, json = { object = "list", data = {} },
                                   headers = { ["x-request-id"] = "req_plain" } } })
        local res, err, meta = c:models()
        assert.is_nil(err)
        assert.equal("list", res.object)
        assert.equal("req_plain", meta.request_id)
      end)

      it("argument errors carrying the key", function()
        local c = logging_client(key)
        local cases = {
          { "model id with a newline", function() return c:model(key .. "\n") end,
            "openai.model: 'model' must not contain NUL, CR or LF (got '[redacted]?')" },
          { "model id after 20 characters", function() return c:model(("m"):rep(20) .. key .. "\n") end },
          { "model id after 32 characters", function() return c:model(("m"):rep(32) .. key .. "\r") end },
          { "organization", function()
            return openai.new { api_key = key, base_url = H.base, organization = key .. "\n" } end,
            "openai.new: 'organization' must not contain NUL, CR or LF (got '[redacted]?')" },
          { "organization of another client", function()
            return openai.new { api_key = "sk-other", base_url = H.base, organization = "org " .. key .. "\n" } end },
          { "header value", function() return c:models { headers = { ["X-Token"] = key .. "\r\n" } } end },
          { "client header value", function()
            return openai.new { api_key = key, base_url = H.base, headers = { ["X-Token"] = "t\n" .. key } } end },
          { "raw url with the key", function() return c:request { url = "/v1/models?key=" .. key .. " x" } end },
          { "raw url with the key and a newline", function() return c:request { url = "/v1/x/" .. key .. "\n" } end },
          { "body field named by the key", function()
            return c:chat { messages = { { role = "user", content = "hi" } }, metadata = { [key] = 0 / 0 } } end,
            "openai.chat: 'metadata.[redacted]' must be a finite number (got nan)" },
          { "chat model", function()
            return c:chat { model = "gpt " .. key .. "\0", messages = { { role = "user", content = "hi" } } } end },
        }
        for _, case in ipairs(cases) do
          local msg = H.raises(case[2])
          assert.truthy(msg:find("[redact", 1, true), case[1] .. ": " .. msg)
          if case[3] then assert.equal(case[3], msg) end
          assert_clean({ msg }, key, case[1])
        end
        assert.equal(0, #H.requests())
      end)

      it("a stream error event echoing the key", function()
        local c, lines = logging_client(key)
        local ok_chunk = { id = "c1", object = "chat.completion.chunk", created = 1, model = "m",
                           choices = { { index = 0, delta = { content = "hi" } } } }
        H.script("/v1/chat/completions", { { echo_key = "@KEY@", headers = { ["x-request-id"] = "req_@KEY@" },
          sse = { { data = ok_chunk }, { event = "error", data = { error = {
            message = "key @KEY@ was revoked", type = "invalid_request_error", param = "@KEY@",
            code = "revoked" } } } } } })
        local s, err0, meta = c:chat_stream { messages = { { role = "user", content = "hi" } }, debug = true }
        assert.is_nil(err0)
        assert.truthy(s:next())
        local ok, err = pcall(s.next, s)
        assert.is_false(ok)
        assert.is_true(openai.is_error(err))
        assert.equal("stream", err.kind)
        assert.equal("key [redacted] was revoked", err.message)
        assert.equal("req_[redacted]", err.request_id)
        assert_clean(visible(err, meta), key, "stream error")
        -- escaped in the event's JSON: decoded, then redacted
        H.script("/v1/chat/completions", { { sse = { { raw = 'data: {"error":{"message":"key '
          .. uescape(key) .. '"}}\n\n' } } } })
        s = c:chat_stream { messages = { { role = "user", content = "hi" } }, debug = true }
        ok, err = pcall(s.next, s)
        assert.is_false(ok)
        assert.equal("key [redacted]", err.message)
        assert_clean(visible(err), key, "escaped stream error")
        assert_clean(lines, key, "debug line")
      end)

      it("debug lines of a url and a transport failure holding the key", function()
        local c, lines = logging_client(key, { base_url = H.closed_port_url() })
        local _, err, meta = c:request { url = "/v1/models?api_key=" .. key, debug = true }
        assert.equal("connection", err.kind)
        assert_clean(visible(err, meta), key, "connection error")
        assert.is_true(#lines >= 2)
        assert.truthy(lines[1]:find("?api_key=[redacted]", 1, true), lines[1])
        assert_clean(lines, key, "debug line")
      end)
    end)
  end

  it("a key with '/' echoed as \\/ and as \\u002f in a JSON body", function()
    local key = KEYS.slash
    local c, lines = logging_client(key)
    for _, form in ipairs({ slash_escape(key), (key:gsub("/", "\\u002F")), uescape(key) }) do
      H.script("/v1/models", { { status = 403, body = '{"error":{"message":"no: ' .. form
                                 .. '"},"key":"' .. form .. '"}' } })
      local _, err, meta = c:models { debug = true }
      assert.equal(403, err.status)
      assert.equal("no: [redacted]", err.message)
      assert.equal('{"error":{"message":"no: [redacted]"},"key":"[redacted]"}', err.body)
      assert_clean(visible(err, meta), key, "slash key")
    end
    assert_clean(lines, key, "debug line")
  end)

  it("keys of every live client are redacted, whichever client fails", function()
    local a = logging_client(KEYS.legacy)
    local b = logging_client(KEYS.project)
    H.script("/v1/models", { { status = 400, body = "a=" .. KEYS.legacy .. " b=" .. KEYS.project } })
    local _, err, meta = b:models()
    assert.equal("a=[redacted] b=[redacted]", err.message)
    assert_clean(visible(err, meta), KEYS.legacy, "other client's key")
    assert_clean(visible(err, meta), KEYS.project, "own key")
    assert.truthy(a)
  end)

  it("leaves a message without a key byte for byte", function()
    local c = logging_client(KEYS.project)
    local body = ("y"):rep(250) .. " \\u0041 \\/ sk-proj-"
    H.script("/v1/models", { { status = 400, body = body } })
    local _, err = c:models()
    assert.equal(("y"):rep(200), err.message)
    assert.equal(body, err.body)
  end)
end)
