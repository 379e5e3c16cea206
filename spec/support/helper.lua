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

-- the messages of a one-turn chat: the user says text (default "hello")
function H.msgs(text)
  return { { role = "user", content = text or "hello" } }
end

-- how many transfers the engine holds open (openai.stats().live)
function H.live()
  return require("openai").stats().live
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

-- how many requests in the log went to path
function H.requests_to(path)
  local n = 0
  for _, r in ipairs(H.requests()) do
    if r.path == path then n = n + 1 end
  end
  return n
end

-- the last request received
function H.last()
  local r = H.requests()
  return r[#r]
end

function H.stats()
  return control("GET", "/_control/stats")
end

-- base64 in plain arithmetic (the specs run on Luas without bit operators)
local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local floor = math.floor

function H.b64encode(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local q = {}
    for k = 3, 0, -1 do
      local idx = floor(n / 64 ^ k) % 64
      q[#q + 1] = B64:sub(idx + 1, idx + 1)
    end
    if not b then q[3], q[4] = "=", "=" elseif not c then q[4] = "=" end
    out[#out + 1] = table.concat(q)
  end
  return table.concat(out)
end

function H.b64decode(s)
  s = s:gsub("[^%w%+/]", "")  -- drops the padding and any line breaks
  local out = {}
  for i = 1, #s, 4 do
    local group = s:sub(i, i + 3)
    local n = 0
    for j = 1, 4 do
      local c = group:sub(j, j)
      n = n * 64 + (c ~= "" and B64:find(c, 1, true) - 1 or 0)
    end
    -- 4 characters carry 3 bytes; a final group of 2 or 3 carries 1 or 2
    local bytes = string.char(floor(n / 65536) % 256, floor(n / 256) % 256, n % 256)
    out[#out + 1] = bytes:sub(1, #group - 1)
  end
  return table.concat(out)
end

-- the raw bytes of a recorded request's body
function H.body_bytes(rec)
  return H.b64decode(rec.body_b64 or "")
end

-- a loopback port free when asked (nothing listens there)
function H.free_port()
  local socket = require "socket"
  local s = assert(socket.bind("127.0.0.1", 0))
  local _, port = s:getsockname()
  s:close()
  return tonumber(port)
end

-- a port on loopback where nothing listens
function H.closed_port_url()
  return "http://127.0.0.1:" .. H.free_port() .. "/v1"
end

-- a loopback URL whose connections never complete: a listening socket
-- (never accepting) with a backlog of one, already filled, so the kernel
-- drops every further SYN and a connect waits for its timeout (no address
-- on loopback ignores SYNs by itself). Returns the URL and a function that
-- closes the sockets
function H.unanswered_url()
  local socket = require "socket"
  local srv = assert(socket.bind("127.0.0.1", 0, 0))
  local _, port = srv:getsockname()
  local fillers = {}
  for i = 1, 8 do
    local c = assert(socket.tcp())
    c:settimeout(0.05)
    fillers[i] = c
    if not c:connect("127.0.0.1", port) then break end   -- the queue is full
  end
  return "http://127.0.0.1:" .. port .. "/v1", function()
    for _, c in ipairs(fillers) do c:close() end
    srv:close()
  end
end

-- a loopback URL where connections complete but nothing is ever read
-- (a listening socket that never accepts): a request larger than the
-- kernel's buffers can never be sent whole. Returns the URL and a function
-- that closes the socket
function H.unread_url()
  local socket = require "socket"
  local srv = assert(socket.bind("127.0.0.1", 0, 16))
  local _, port = srv:getsockname()
  return "http://127.0.0.1:" .. port .. "/v1", function() srv:close() end
end

-- run a shell command, true when it exited 0 (os.execute differs in 5.1)
function H.run(cmd)
  local a, _, c = os.execute(cmd)
  if type(a) == "number" then return a == 0 end
  return a == true and c == 0
end

-- a file's bytes, or nil when it cannot be opened
function H.read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

-- write s to the file at path (replacing it)
function H.write_file(path, s)
  local f = assert(io.open(path, "wb"))
  assert(f:write(s))
  f:close()
end

-- the path of a new temporary file holding bytes
function H.tmpfile(bytes)
  local path = os.tmpname()
  H.write_file(path, bytes)
  return path
end

-- milliseconds on a monotonic clock
function H.now()
  return require("openai.wire").now()
end

-- the interpreter running this suite (as started: "lua5.1", "luajit", ...),
-- for specs that start a fresh process of the same Lua
H.lua = (function()
  local i = 0
  while arg[i - 1] do i = i - 1 end
  return arg[i]
end)()

-- table.pack and table.unpack, which 5.1 and LuaJIT lack or spell unpack
function H.pack(...)
  return { n = select("#", ...), ... }
end
H.unpack = table.unpack or unpack  -- luacheck: ignore 143 (unpack is 5.1 only)

-- a chunk compiled from source text, or nil, err (5.1 spells it loadstring)
H.load = loadstring or load  -- luacheck: ignore 143 (loadstring is 5.1 only)

-- whether this Lua has to-be-closed variables (5.4), which a generic for
-- also uses to close its iterator state when the loop is left early
H.has_close = H.load("local x <close> = nil") ~= nil

-- whether a generic for's iterator may yield (not on PUC Lua 5.1, whose for
-- calls its iterator across a C boundary): inside openai.parallel, reading a
-- stream with `for ... in s:each()` needs it
H.for_yields = coroutine.resume(coroutine.create(function()
  for _ in function() coroutine.yield() end do end  -- luacheck: ignore 512
end))

-- call f with each chunk of the stream s inside openai.parallel: a generic
-- for, except on Lua 5.1, whose for cannot yield from its iterator (there,
-- the loop 5.1 users write: while over s:next())
function H.each_chunk(s, f)
  if H.for_yields then
    for c in s:each() do f(c) end
    return
  end
  local c = s:next()
  while c do
    f(c)
    c = s:next()
  end
end

-- the `it` of specs that leave a generic for early and rely on the for
-- closing the stream (the 4th value of s:each(), 5.4's to-be-closed
-- variables): elsewhere they are reported pending. Takes busted's it and
-- pending, which are not globals.
function H.it_closes(it, pending)
  if H.has_close then return it end
  return function(name)
    pending(name .. " (needs Lua 5.4's to-be-closed variables)")
  end
end

-- call f and return the error message it raised (fails if it did not raise)
function H.raises(f, ...)
  local ok, err = pcall(f, ...)
  assert(not ok, "expected an error, but the call returned")
  return err
end

return H
