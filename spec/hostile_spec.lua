-- Hostile or careless input: every argument of every action given
-- the wrong type, nil where it is required, NaN, math.huge, a huge number, a
-- negative number, a table with a cycle, a string with NUL, CR/LF (where it
-- must be refused) or invalid UTF-8. Each case must raise a Lua error whose
-- message starts with "openai.<fn>: '<field>'", with nothing sent to the
-- stand-in and no transfer left in the engine. Then: raw urls that try to
-- leave the configured host, and the API key, which no error message of
-- this file may contain.

local H = require "support.helper"
local openai = require "openai"

local NAN, INF = 0 / 0, math.huge
local HUGE = 1e300

-- {=================================================================
-- building the cases
-- ==================================================================

-- how a value reads in a test name
local function show(v)
  if v == nil then return "nil" end
  if type(v) == "number" then
    if v ~= v then return "NaN" end
    if v == INF then return "math.huge" end
    if v == -INF then return "-math.huge" end
    return tostring(v)
  end
  if type(v) == "string" then
    local s = #v > 24 and v:sub(1, 24) .. "..." or v
    return '"' .. s:gsub("[%c\128-\255\"\\]", function(c) return ("\\%d"):format(c:byte()) end) .. '"'
  end
  if type(v) == "table" then return "a table" end
  return "a " .. type(v)
end

-- set the field at path ("messages[1].role", "data.x") of t to v
local function set(t, path, v)
  local keys = {}
  for k in path:gsub("%[(%d+)%]", ".%1"):gmatch("[^.]+") do keys[#keys + 1] = tonumber(k) or k end
  for i = 1, #keys - 1 do
    if type(t[keys[i]]) ~= "table" then t[keys[i]] = {} end
    t = t[keys[i]]
  end
  t[keys[#keys]] = v
end

-- valid arguments of each function, which a case spoils in one place
local BASE = {
  new = function() return { api_key = H.key, base_url = H.base } end,
  chat = function() return { messages = { { role = "user", content = "hi" } } } end,
  image = function() return { prompt = "a cat" } end,
  response = function() return { input = "hi" } end,
  models = function() return {} end,
  request = function() return { url = "/v1/echo" } end,
}
BASE.chat_stream, BASE.response_stream = BASE.chat, BASE.response

local CASES = {}

-- fn's params with path set to v must be refused, naming field (default: path)
local function case(fn, path, v, field, label)
  local p = BASE[fn]()
  set(p, path, v)
  CASES[#CASES + 1] = { fn = fn, field = field or path, label = label or (path .. " = " .. show(v)),
                        args = H.pack(p) }
end

-- fn called with these very arguments must be refused, naming field
local function raw(fn, field, label, ...)
  CASES[#CASES + 1] = { fn = fn, field = field, label = label, args = H.pack(...) }
end

local function each(list, f)
  for _, v in ipairs(list) do f(v) end
end

-- a table holding itself
local function cyclic(t)
  t = t or { type = "text", text = "x" }
  t.self = t
  return t
end

-- }==================================================================


-- {=================================================================
-- the cases
-- ==================================================================

-- the call options, taken by every typed action (and by openai.new)
local DURATIONS = { "10", true, NAN, INF, -INF, HUGE, -1, 0, 1.5 }
local CALL_OPTIONS = {
  { "timeout", DURATIONS },
  { "idle_timeout", { "10", NAN, INF, HUGE, -1, 2.5 } },
  { "deadline", { "10", NAN, INF, HUGE, -5, 0 } },
  { "max_retries", { "2", NAN, INF, 1e9, -1, 1.5 } },
  { "max_retry_after", { "1", NAN, INF, HUGE, -1, 0 } },
  { "max_response_bytes", { "big", NAN, INF, HUGE, -1, 0 } },
  { "max_event_bytes", { {}, NAN, INF, HUGE, -1, 0 } },
  { "debug", { "yes", 1 } },
  { "retry_timeouts", { "yes", 1, NAN, {} } },
}

-- header tables: the value to give, and the field the error must name
local HEADER_CASES = {
  { "x", "headers" },
  { 42, "headers" },
  { { "X-A: 1" }, "headers" },
  { { ["X-A\r\nX-Injected"] = "1" }, "headers" },
  { { ["X-A\n"] = "1" }, "headers" },
  { { ["X-A\0"] = "1" }, "headers" },
  { { [""] = "1" }, "headers" },
  { { ["X-A"] = "v\r\nX-Injected: 1" }, "headers.X-A" },
  { { ["X-A"] = "v\n" }, "headers.X-A" },
  { { ["X-A"] = "v\0w" }, "headers.X-A" },
  { { ["X-A"] = {} }, "headers.X-A" },
  { { ["X-A"] = true }, "headers.X-A" },
  { { ["X-A"] = NAN }, "headers.X-A" },
  { { ["X-A"] = INF }, "headers.X-A" },
}

local function header_label(h)
  if type(h) ~= "table" then return "headers = " .. show(h) end
  local k, v = next(h)
  if type(k) ~= "string" then return "headers = an array" end
  return "headers = { [" .. show(k) .. "] = " .. show(v) .. " }"
end

for _, fn in ipairs({ "chat", "chat_stream", "image", "response", "response_stream", "models" }) do
  for _, o in ipairs(CALL_OPTIONS) do
    each(o[2], function(v) case(fn, o[1], v) end)
  end
  each(HEADER_CASES, function(h) case(fn, "headers", h[1], h[2], header_label(h[1])) end)
  -- params that are not a table
  if fn ~= "models" then
    raw(fn, "params", "params = nil", nil)
    raw(fn, "params", "params = a string", "hi")
    raw(fn, "params", "params = 42", 42)
  else
    raw(fn, "opts", "opts = a string", "hi")
    raw(fn, "opts", "opts = true", true)
  end
end

-- {---------------------------------------------------- chat, chat_stream
for _, fn in ipairs({ "chat", "chat_stream" }) do
  case(fn, "messages", nil)
  case(fn, "messages", "hi")
  case(fn, "messages", {}, nil, "messages = {}")
  case(fn, "messages", { { role = "user", content = "hi" }, extra = 1 }, nil, "messages with a string key")
  case(fn, "messages[1]", "hi")
  case(fn, "messages[2]", 42)
  each({ nil, 42, "", "us\r\ner", "user\n", "us\0er", "us\255er", {} }, function(v)
    case(fn, "messages[1].role", v)
  end)
  case(fn, "messages[2].role", "user\r\n", nil)
  each({ nil, 42, true, "bad \255\254 bytes", "\192\128" }, function(v)
    case(fn, "messages[1].content", v)
  end)
  case(fn, "messages[1].content", {}, nil, "messages[1].content = {}")
  -- inside content parts: walked when the body is encoded
  case(fn, "messages[1].content", { cyclic() }, "messages[1].content[1].self",
       "messages[1].content = parts with a cycle")
  case(fn, "messages[1].content[1].text", "bad \255")
  case(fn, "messages[1].content[1].n", NAN)
  case(fn, "messages[1].content[1].n", INF)
  case(fn, "messages[1].content[1].text", print)
  each({ 42, "", "gpt\r\n", "gpt-4\n", "gpt\0x", "gpt\255", {} }, function(v) case(fn, "model", v) end)
  each({ "1", NAN, INF, -INF, HUGE, -0.5, 2.5 }, function(v) case(fn, "temperature", v) end)
  each({ "1", NAN, INF, HUGE, -0.1, 1.5 }, function(v) case(fn, "top_p", v) end)
  each({ "1", NAN, INF, HUGE, 0, -1, 1.5, 129 }, function(v) case(fn, "n", v) end)
  each({ "10", NAN, INF, 0, -1, 1.5 }, function(v) case(fn, "max_tokens", v) end)
  each({ NAN, INF, -1 }, function(v) case(fn, "max_completion_tokens", v) end)
  case(fn, "tools", "none")
  case(fn, "stream", fn == "chat" and true or false)
  case(fn, "stream", "yes")
  -- fields passed through to the body
  case(fn, "user", "bad \255")
  case(fn, "seed", NAN)
  case(fn, "seed", INF)
  case(fn, "metadata", cyclic({ a = "b" }), "metadata.self", "metadata = a table with a cycle")
  case(fn, "stop", print)
end
-- }----------------------------------------------------

-- {---------------------------------------------------- image
each({ nil, 42, "", "bad \255", {}, string.rep("a", 1001) }, function(v) case("image", "prompt", v) end)
each({ "1", NAN, INF, HUGE, 0, -1, 1.5, 11 }, function(v) case("image", "n", v) end)
each({ 42, "", "100x100", "1024x1024\r\n", "1024x1024\n", "1024x1024\0", "\255" }, function(v)
  case("image", "size", v)
end)
each({ 42, "", "dall-e-2\r\n", "dall\0e", "\255" }, function(v) case("image", "model", v) end)
case("image", "user", "bad \255")
case("image", "quality", NAN)
case("image", "metadata", cyclic({}), "metadata.self", "metadata = a table with a cycle")
-- }----------------------------------------------------

-- {---------------------------------------------------- response, response_stream
for _, fn in ipairs({ "response", "response_stream" }) do
  each({ nil, 42, true, "", "bad \255" }, function(v) case(fn, "input", v) end)
  case(fn, "input", {}, nil, "input = {}")
  case(fn, "input", { cyclic({ role = "user", content = "x" }) }, "input[1].self",
       "input = items with a cycle")
  case(fn, "input[1].content", "bad \255")
  case(fn, "input[1].content[1].text", "\255")
  case(fn, "input[1].n", NAN)
  each({ 42, "", "gpt\r\n", "gpt\0", "\255" }, function(v) case(fn, "model", v) end)
  case(fn, "stream", fn == "response" and true or false)
  case(fn, "instructions", "bad \255")
  case(fn, "temperature", NAN)
  case(fn, "temperature", INF)
end
-- }----------------------------------------------------

-- {---------------------------------------------------- model
each({ nil, 42, true, "", "gpt\r\n", "gpt\n", "gpt\r", "a\0b", ".", "..", "gpt\255" }, function(v)
  raw("model", "model", "id = " .. show(v), v)
end)
raw("model", "model", "{ model = CR/LF }", { model = "gpt\r\nX: 1" })
raw("model", "model", "{} (no id)", {})
raw("model", "opts", "opts = a string", "gpt-4.1", "fast")
raw("model", "opts", "opts = 42", "gpt-4.1", 42)
for _, o in ipairs(CALL_OPTIONS) do
  each(o[2], function(v) raw("model", o[1], "opts." .. o[1] .. " = " .. show(v), "gpt-4.1", { [o[1]] = v }) end)
end
each(HEADER_CASES, function(h)
  raw("model", h[2], "opts." .. header_label(h[1]), "gpt-4.1", { headers = h[1] })
end)
-- }----------------------------------------------------

-- {---------------------------------------------------- request
raw("request", "params", "params = a string", "/v1/models")
raw("request", "params", "params = 42", 42)
each({ 42, true, {}, "", "v1/models", "/v1/models\r\nX: 1", "/v1/models\n", "/v1/\0x", "/v1/\255" },
     function(v) case("request", "url", v) end)
each({ "FOO", 42, "", "GET\r\n", "GET ", "G\0ET", {} }, function(v) case("request", "method", v) end)
each({ "xml", 42, "json\n" }, function(v) case("request", "response_type", v) end)
each(DURATIONS, function(v) case("request", "timeout", v) end)
each({ "1", NAN, INF, HUGE, -1, 1.5 }, function(v) case("request", "retry_delay", v) end)
each({ "yes", 1 }, function(v) case("request", "retry_on_all_errors", v) end)
each({ "yes", 1 }, function(v) case("request", "retry_timeouts", v) end)
each({ "1", NAN, INF, 1e9, -1, 1.5 }, function(v) case("request", "max_retries", v) end)
each({ "true", 1 }, function(v) case("request", "exponential_backoff", v) end)
each({ "1", NAN, INF, HUGE, -1, 0 }, function(v) case("request", "deadline", v) end)
each({ "1", NAN, INF, HUGE, -1, 0 }, function(v) case("request", "max_response_bytes", v) end)
case("request", "debug", "yes")
each(HEADER_CASES, function(h) case("request", "headers", h[1], h[2], header_label(h[1])) end)
case("request", "query", "a=1")
case("request", "query", { [true] = 1 }, "query", "query with a boolean key")
case("request", "query.a", print)
case("request", "query.a[1]", {})
case("request", "query.a", NAN)
case("request", "query.a", INF)
case("request", "query", { a = { 1, NAN } }, "query.a[2]", "query.a = { 1, NaN }")
case("request", "data", 42)
case("request", "data", true)
case("request", "data", print)
case("request", "data", cyclic({ a = 1 }), "data.self", "data = a table with a cycle")
case("request", "data", { list = { 1, { inner = cyclic({}) } } }, "data.list[2].inner.self",
     "data = a cycle deep inside")
case("request", "data.x", NAN)
case("request", "data.x", INF)
case("request", "data.x", -INF)
case("request", "data.s", "bad \255")
case("request", "data", { nested = { deep = { "ok", "bad \254" } } }, "data.nested.deep[2]",
     'data.nested.deep = { "ok", "bad \\254" }')
case("request", "data.f", print)
case("request", "data", { [true] = 1 }, "data", "data with a boolean key")
CASES[#CASES + 1] = { fn = "request", field = "data", label = "data together with form",
                      args = H.pack({ url = "/v1/echo", data = { a = 1 }, form = { b = "2" } }) }
case("request", "form", "a=1")
case("request", "form", { "x" }, "form", "form = an array")
case("request", "form.a", {})
case("request", "form.a", NAN)
case("request", "form.a", INF)
case("request", "files", "bytes")
case("request", "files", { "x" }, "files", "files = an array")
case("request", "files.a", 42)
case("request", "file_names", "x")
case("request", "file_names", { a = "a.txt" }, "file_names", "file_names without files")
for _, v in ipairs({ 42, "", "a\r\n.txt", "a.txt\n", "a\0.txt", "a\255.txt" }) do
  CASES[#CASES + 1] = { fn = "request", field = "file_names.a", label = "file_names.a = " .. show(v),
                        args = H.pack({ url = "/v1/echo", files = { a = "bytes" },
                                            file_names = { a = v } }) }
end
-- }----------------------------------------------------

-- {---------------------------------------------------- new
raw("new", "opts", "opts = a string", "sk-x")
raw("new", "opts", "opts = 42", 42)
raw("new", "api_key", "opts = nil (no key in the environment)", nil)
each({ nil, 42, true, "", {}, "sk-x\r\nX: 1", "sk-x\n", "sk\0x", "sk-\255" }, function(v)
  case("new", "api_key", v)
end)
each({ 42, true, "org\r\nX: 1", "org\n", "o\0rg", "org\255" }, function(v) case("new", "organization", v) end)
each({ 42, "proj\r\n", "p\0", "p\255" }, function(v) case("new", "project", v) end)
each({ 42, {}, "ftp://host/v1", "not a url", "//host/v1", "http://", "http://h\r\n/v1", "http://h/v1\n",
       "http://h/v1\0", "http://evil example/v1", "http://h\\v1", "http://h/\255" }, function(v)
  case("new", "base_url", v)
end)
for _, o in ipairs(CALL_OPTIONS) do
  if o[1] ~= "idle_timeout" then each(o[2], function(v) case("new", o[1], v) end) end
end
each({ "10", NAN, INF, HUGE, -1, 2.5 }, function(v) case("new", "idle_timeout", v) end)
each({ "10", NAN, INF, HUGE, -1, 0 }, function(v) case("new", "connect_timeout", v) end)
each({ "1", NAN, INF, HUGE, 0, -1, 1.5 }, function(v) case("new", "max_connections_per_host", v) end)
case("new", "logger", "stderr")
case("new", "azure", "yes")
case("new", "azure", {}, "azure.api_version", "azure = {}")
each({ 42, "", "2024\r\n", "v\0" }, function(v) case("new", "azure.api_version", v) end)
each({ 42, "", ".", "..", "dep\r\n", "d\0", "d\255" }, function(v)
  local p = BASE.new()
  p.azure = { api_version = "2024-06-01", deployment = v }
  CASES[#CASES + 1] = { fn = "new", field = "azure.deployment", label = "azure.deployment = " .. show(v),
                        args = H.pack(p) }
end)
each(HEADER_CASES, function(h) case("new", "headers", h[1], h[2], header_label(h[1])) end)
-- }----------------------------------------------------

-- {---------------------------------------------------- parallel
local function noop() end
raw("parallel", "fns", "fns = nil", nil)
raw("parallel", "fns", "fns = 42", 42)
raw("parallel", "fns", "fns = a string", "f")
raw("parallel", "fns[1]", "fns[1] = 42", { 42 })
raw("parallel", "fns[2]", "fns[2] = a string", { noop, "f" })
do
  local fns = {}
  fns[1] = fns
  raw("parallel", "fns[1]", "fns holding itself (a cycle)", fns)
end
raw("parallel", "opts", "opts = a string", { noop }, "fast")
raw("parallel", "opts", "opts = 42", { noop }, 42)
each({ "4", true, NAN, INF, -INF, 0, -1, 1.5 }, function(v)
  raw("parallel", "concurrency", "concurrency = " .. show(v), { noop }, { concurrency = v })
end)
-- }----------------------------------------------------

-- }==================================================================


-- call fn with the case's arguments: ok, message (a stream opened by a
-- case that wrongly went through is closed, so later cases start clean)
local function attempt(client, fn, args)
  local r
  if fn == "new" then
    r = H.pack(pcall(openai.new, H.unpack(args, 1, args.n)))
  elseif fn == "parallel" then
    r = H.pack(pcall(openai.parallel, H.unpack(args, 1, args.n)))
  else
    r = H.pack(pcall(client[fn], client, H.unpack(args, 1, args.n)))
  end
  if r[1] and type(r[2]) == "table" and type(r[2].close) == "function" then r[2]:close() end
  return r[1], r[2]
end

-- nothing reached the stand-in and nothing is left in the engine
local function nothing_sent(what)
  local n = H.stats().requests
  if n ~= 0 then H.reset() end
  assert(n == 0, what .. ": " .. n .. " request(s) reached the stand-in")
  assert.equal(0, openai.stats().live, what .. ": a transfer is alive")
end

local function refused(fn, field, ok, msg, what)
  assert(not ok, what .. ": did not raise")
  assert(type(msg) == "string", what .. ": raised a " .. type(msg) .. ", not a message")
  local prefix = ("openai.%s: '%s'"):format(fn, field)
  assert(msg:sub(1, #prefix) == prefix, ("%s: the message does not start with %s: %s"):format(what, prefix, msg))
  assert(not msg:find("[\r\n%z]"), what .. ": the message has a control character: " .. msg)
  assert(not msg:find(H.key, 1, true), what .. ": the API key is in the message: " .. msg)
end

describe("hostile input", function()
  local client
  setup(function()
    H.reset()
    client = H.client()
  end)

  for _, c in ipairs(CASES) do
    local what = ("openai.%s: %s"):format(c.fn, c.label)
    it(what .. " -> '" .. c.field .. "'", function()
      local ok, msg = attempt(client, c.fn, c.args)
      nothing_sent(what)
      refused(c.fn, c.field, ok, msg, what)
    end)
  end

  it("openai.parallel's errors start with 'openai.parallel:' when called from Lua code", function()
    -- as every other function's: no "file:line:" position in front
    -- (not a tail call: the caller's frame stays, as in an application)
    local ok, msg = pcall(function() local r = openai.parallel("not a table"); return r end)
    refused("parallel", "fns", ok, msg, "openai.parallel from a Lua function")
    ok, msg = pcall(function() local r = openai.parallel({ noop }, { concurrency = 0 }); return r end)
    refused("parallel", "concurrency", ok, msg, "openai.parallel from a Lua function")
  end)

  it("refuses a method called on something that is not a client, sending nothing", function()
    for _, fn in ipairs({ "chat", "chat_stream", "image", "response", "response_stream", "model",
                          "models", "request" }) do
      for _, self in ipairs({ { api_key = H.key }, "client", 42 }) do
        local ok, msg = pcall(client[fn], self, BASE[fn] and BASE[fn]() or "gpt-4.1")
        assert.is_false(ok, fn)
        assert.equal(("openai.%s: call it as client:%s"):format(fn, fn),
                     msg:sub(1, #("openai.%s: call it as client:%s"):format(fn, fn)), msg)
      end
    end
    nothing_sent("non-client self")
  end)

  it("still takes the valid base arguments of every case (the cases spoil one field each)", function()
    -- were the base arguments invalid, every case above would pass for a wrong reason
    H.reset()
    assert(openai.new(BASE.new()))
    for _, fn in ipairs({ "chat", "image", "response", "models", "request" }) do
      local res, err = client[fn](client, BASE[fn]())
      assert(res ~= nil, fn .. ": " .. tostring(err))
    end
    local res, err = client:model("gpt-4.1")
    assert(res ~= nil, tostring(err))
    for _, fn in ipairs({ "chat_stream", "response_stream" }) do
      local s = assert(client[fn](client, BASE[fn]()))
      assert(s:result())
    end
    local out = openai.parallel({ function() return "ran" end }, { concurrency = 2 })
    assert.equal("ran", out[1][1])
    assert.equal(8, #H.requests())
  end)
end)


-- {=================================================================
-- raw urls that try to leave the configured host
-- ==================================================================

describe("raw url", function()
  local client
  setup(function()
    H.reset()
    client = H.client()
  end)

  local ESCAPES = {
    -- absolute and scheme-relative
    "https://evil.example/v1/models", "http://127.0.0.1:1/v1/models", "HtTpS://evil.example/",
    "http:/evil.example/v1", "http:evil.example", "javascript:alert(1)", "evil.example:443/v1",
    "//evil.example/v1/models", "///evil.example/v1", "/%2f%2fevil.example/x", "/%2F/evil.example",
    -- userinfo
    "/@evil.example/v1", "/v1@evil.example", "/v1/models@evil.example:443/x",
    -- backslashes, raw and encoded
    "/\\evil.example/x", "\\\\evil.example\\x", "/v1\\..\\..\\x", "/%5c%5cevil.example/x",
    "/%5C/evil.example", "/v1/%2e%2e%5cx",
    -- encoded CR/LF and other control bytes
    "/v1/models%0d%0aHost:%20evil.example", "/v1/models%0D%0AX-Injected:%201", "/v1/models%0a",
    "/v1/models%0d", "/v1/%00", "/v1/models?x=%0d%0aHost:evil", "/v1/%7f",
    -- raw CR/LF, NUL, spaces
    "/v1/models\r\nHost: evil.example", "/v1/models HTTP/1.1\r\nHost: evil", "/v1/\0evil",
    -- dot segments, plain and encoded
    "/v1/../../evil", "/..", "/v1/models/..", "/v1/./models", "/v1/%2e%2e/%2e%2e/x",
    "/v1/%2E%2E/x", "/v1/.%2e/x", "/v1/%2e./x", "/v1/%2e", "/v1/..%2f..%2fx", "/v1/..%2F",
    "/v1/%2e%2e%2f%2e%2e%2fevil",
    -- fragments, bad escapes, non-ASCII look-alikes
    "/v1/x#@evil.example", "/v1/%zz", "/v1/%", "/v1/\239\188\143\239\188\143evil.example",  -- U+FF0F twice
  }

  for _, url in ipairs(ESCAPES) do
    it("refuses " .. show(url), function()
      local ok, msg = pcall(client.request, client, { url = url })
      nothing_sent(show(url))
      refused("request", "url", ok, msg, show(url))
    end)
  end

  it("still sends ordinary paths to the configured host", function()
    H.reset()
    for _, url in ipairs({ "/v1/echo", "/echo", "/v1/echo?next=https://evil.example/../x",
                           "/v1/echo?a=%2e%2e&b=@c", "/v1/echo/a.b/..c/c..", "/v1/echo%2Fx" }) do
      local _, err = client:request { url = url }
      assert(err == nil or err.kind == "api", url .. ": " .. tostring(err))
    end
    local reqs = H.requests()
    assert.equal(6, #reqs)
    for _, r in ipairs(reqs) do
      assert.equal(H.url:match("^http://([^/]+)"), r.headers.host)
    end
  end)
end)

-- }==================================================================


-- {=================================================================
-- the API key in error messages
-- ==================================================================

describe("the API key", function()
  local messages = {}

  -- every message of a raised error or of a returned error object
  local function collect(ok, a, b)
    if not ok then
      messages[#messages + 1] = tostring(a)
    elseif b ~= nil then
      messages[#messages + 1] = tostring(b)
      for k, v in pairs(type(b) == "table" and b or {}) do
        if type(v) == "string" then messages[#messages + 1] = k .. "=" .. v end
      end
    end
  end

  local function assert_no_key(what, key)
    assert(#messages > 0, what .. ": no message was collected")
    for _, m in ipairs(messages) do
      assert(not m:find(key, 1, true), what .. ": the API key is in: " .. m)
    end
  end

  before_each(function()
    H.reset()
    messages = {}
  end)

  local KEYED = {
    { "new: api_key with CR/LF", function()
      return pcall(openai.new, { api_key = H.key .. "\r\n", base_url = H.base })
    end },
    { "new: api_key with a trailing newline (read from a file)", function()
      return pcall(openai.new, { api_key = H.key .. "\n", base_url = H.base })
    end },
    { "new: api_key with NUL", function()
      return pcall(openai.new, { api_key = H.key .. "\0", base_url = H.base })
    end },
    { "new: api_key with invalid UTF-8", function()
      return pcall(openai.new, { api_key = H.key .. "\255", base_url = H.base })
    end },
    { "new: an Authorization header with CR/LF", function()
      return pcall(openai.new, { api_key = H.key, base_url = H.base,
                                 headers = { Authorization = "Bearer " .. H.key .. "\r\n" } })
    end },
    { "chat: an Authorization header with CR/LF", function()
      local c = H.client()
      return pcall(c.chat, c, { messages = { { role = "user", content = "hi" } },
                                headers = { Authorization = "Bearer " .. H.key .. "\n" } })
    end },
    { "request: an api-key header with NUL", function()
      local c = H.client()
      return pcall(c.request, c, { url = "/v1/echo", headers = { ["api-key"] = H.key .. "\0" } })
    end },
    { "request: a url carrying the key, with CR/LF", function()
      local c = H.client()
      return pcall(c.request, c, { url = "/v1/echo?key=" .. H.key .. "\r\n" })
    end },
    { "model: an id carrying the key, with CR/LF", function()
      local c = H.client()
      return pcall(c.model, c, H.key .. "\r\n")
    end },
    { "returned: a server error message that quotes the key", function()
      H.script("/v1/models", { { status = 401, json = { error = {
        message = "Incorrect API key provided: " .. H.key .. ".", type = "invalid_request_error",
        code = "invalid_api_key" } } } })
      local c = H.client()
      return true, c:models()
    end },
    -- host names are case-insensitive: this client's key is H.key in lower case
    { "returned: a connection error naming a host that holds the key", function()
      local c = H.client { base_url = "http://" .. H.key:lower() .. ".invalid/v1", max_retries = 0,
                           api_key = H.key:lower() }
      return true, c:models()
    end, H.key:lower() },
  }

  for _, k in ipairs(KEYED) do
    it("never appears in the error: " .. k[1], function()
      local ok, a, b = k[2]()
      collect(ok, a, b)
      assert_no_key(k[1], k[3] or H.key)
      assert.equal(0, openai.stats().live)
    end)
  end
end)

-- }==================================================================
