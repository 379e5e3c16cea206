-- spec/windows/smoke.lua: the module on Windows (under wine), against the
-- local stand-in on loopback, through the real transport (libcurl with
-- Schannel, the engine's WSAPoll). Run by spec/windows/run.sh with
-- spec/windows/runner.lua; the Lua all versions share.
--
-- What wine cannot prove, and so is not asserted here:
-- - certificate checks: Schannel under wine accepts certificates that
--   Windows refuses, so TLS verification is tested by the Linux suite only;
-- - how long a refused connection takes: under wine it fails at once, on
--   Windows only after about 2 s (the SYN is retried), so the refused-connect
--   test below allows far more than that before it would call it a timeout.
local R = ...
local it, eq = R.it, R.eq

local openai = require "openai"
local wire = require "openai.wire"

local URL = assert(os.getenv("OPENAI_STANDIN_URL"), "OPENAI_STANDIN_URL is not set")
local TMP = assert(os.getenv("OPENAI_WIN_TMP"), "OPENAI_WIN_TMP is not set")
local KEY = "sk-proj-" .. string.rep("Wq7xK2mNp4", 15)   -- a real-length key (158)

local function client(opts)
  local o = { api_key = KEY, base_url = URL .. "/v1" }
  for k, v in pairs(opts or {}) do o[k] = v end
  return openai.new(o)
end

local c = client()
local control = client { base_url = URL }

-- the next requests to path get these responses (spec/support/standin.py)
local function script(path, responses)
  local _, err = control:request { url = "/_control/script", method = "POST",
                                   data = { path = path, responses = responses } }
  assert(not err, tostring(err))
end

local function msgs(text)
  return { { role = "user", content = text or "hello" } }
end

it("chat: a completion and its request id", function()
  local res, err, meta = c:chat { messages = msgs("Who are you?") }
  assert(res, tostring(err))
  eq(type(res.choices[1].message.content), "string", "content")
  assert(tostring(meta.request_id):match("^req_%d+$"), "request id " .. tostring(meta.request_id))
end)

it("image: an image url", function()
  local res, err = c:image { prompt = "a watercolour fox" }
  assert(res, tostring(err))
  assert(res.data[1].url or res.data[1].b64_json, "no image in the answer")
end)

it("response: the output text", function()
  local res, err = c:response { input = "One sentence about Lua." }
  assert(res, tostring(err))
  eq(type(res.output[1].content[1].text), "string", "text")
end)

it("model and models", function()
  local m, err = c:model("gpt-4.1")
  assert(m, tostring(err))
  eq(m.id, "gpt-4.1", "model id")
  local list, err2 = c:models()
  assert(list, tostring(err2))
  assert(#list.data >= 2, "models listed: " .. #list.data)
end)

it("request: a raw GET and a raw POST", function()
  local res, err = c:request { url = "/v1/models" }
  assert(res, tostring(err))
  eq(res.object, "list", "object")
  local echo, err2 = c:request { url = "/v1/echo", method = "POST", data = { a = 1 } }
  assert(echo, tostring(err2))
  eq(echo.method, "POST", "echoed method")
end)

it("chat_stream: chunks, then the assembled completion", function()
  local s, err = c:chat_stream { messages = msgs("Count to five") }
  assert(s, tostring(err))
  local n = 0
  while true do
    local chunk = s:next()
    if not chunk then break end
    n = n + 1
  end
  assert(n >= 2, "chunks: " .. n)
  local done = s:result()
  eq(type(done.choices[1].message.content), "string", "assembled content")
end)

it("openai.parallel: 12 calls at once, in input order", function()
  local fns = {}
  for i = 1, 12 do
    fns[i] = function() return c:chat { messages = msgs("n" .. i) } end
  end
  local results = openai.parallel(fns, { concurrency = 6 })
  eq(#results, 12, "results")
  for i = 1, 12 do
    assert(results[i][1], "call " .. i .. ": " .. tostring(results[i][2]))
  end
end)

it("openai.parallel: 200 calls, 100 sockets at once in one WSAPoll", function()
  -- each answer comes 300 ms late, so the calls overlap only if the engine
  -- waits on all their sockets together (one after another: a minute)
  local _, rerr = control:request { url = "/_control/reset", method = "POST", data = {} }
  assert(not rerr, tostring(rerr))
  local slow = {}
  for i = 1, 200 do slow[i] = { delay_ms = 300 } end
  script("/v1/models", slow)
  local fns = {}
  for i = 1, 200 do
    fns[i] = function() return c:models() end
  end
  local t0 = wire.now()
  local results = openai.parallel(fns, { concurrency = 100 })
  local took = wire.now() - t0
  for i = 1, 200 do
    assert(results[i][1], "call " .. i .. ": " .. tostring(results[i][2]))
  end
  local stats = assert(control:request { url = "/_control/stats" })
  assert(stats.connections >= 100, "connections the stand-in saw: " .. tostring(stats.connections))
  assert(took < 20000, "200 calls of 300 ms took " .. took .. " ms")
end)

it("a task driven by openai.step(0), as a game loop does", function()
  -- the answer comes 300 ms late: a step(0) that waited for it would last
  -- that long, one that does not returns at once, turn after turn
  script("/v1/chat/completions", { { delay_ms = 300 } })
  local got
  local task = openai.spawn(function(q) return c:chat { messages = msgs(q) } end, "hi")
  task:on_done(function(ok, res) got = ok and res end)
  local turns, longest, t0 = 0, 0, wire.now()
  while not task:done() and wire.now() - t0 < 10000 do
    local s0 = wire.now()
    openai.step(0)
    if wire.now() - s0 > longest then longest = wire.now() - s0 end
    turns = turns + 1
  end
  assert(task:done(), "the task did not finish in 10 s")
  assert(got and got.choices, "on_done did not get the completion")
  assert(turns > 1 and longest < 250, "step(0) waited: " .. turns .. " turns, the longest " .. longest .. " ms")
end)

it("an fd-driven host loop: engine:fds() sockets and socket_action", function()
  local sched = require "openai.scheduler"
  local e = require("openai.transport").engine()
  -- the answer comes 300 ms late, so the call must wait on its socket: a
  -- socket value that did not come back intact would never be reported
  script("/v1/chat/completions", { { delay_ms = 300 } })
  local task = openai.spawn(function() return c:chat { messages = msgs() } end)
  sched.dispatch(nil)                       -- the task starts: its transfer is submitted
  local seen, t0 = 0, wire.now()
  while not task:done() and wire.now() - t0 < 10000 do
    local list = e:fds()
    for _, s in ipairs(list) do
      assert(math.floor(s.fd) == s.fd and s.fd > 0, "a socket value: " .. tostring(s.fd))
      seen = seen + 1
      sched.dispatch(e:socket_action(s.fd, s.read, s.write))
    end
    if e:timeout() == 0 then sched.dispatch(e:socket_action(nil)) end
  end
  assert(task:done(), "the host loop did not finish the call in 10 s")
  assert(seen > 0, "engine:fds() listed no socket")
  local res, err = task:result()
  assert(res, tostring(err))
end)

it("timeout: a server slower than timeout ends the call with kind timeout", function()
  script("/v1/chat/completions", { { delay_ms = 1500 } })
  local t0 = wire.now()
  local res, err = c:chat { messages = msgs(), timeout = 300, max_retries = 0 }
  local took = wire.now() - t0
  assert(not res, "the slow call succeeded")
  eq(err.kind, "timeout", "kind")
  assert(took < 1400, "the timeout waited " .. took .. " ms")
end)

it("retry: a 503 then an answer, two attempts", function()
  script("/v1/chat/completions", { { status = 503, headers = { ["retry-after-ms"] = "20" } } })
  local res, err, meta = c:chat { messages = msgs() }
  assert(res, tostring(err))
  eq(meta.attempts, 2, "attempts")
end)

it("a key provider is called again for a retry (the engine hands the retry back)", function()
  local keys, n = { KEY, KEY .. "-rotated" }, 0
  local pc = client { api_key = function() n = n + 1; return keys[n] end }
  script("/v1/chat/completions", { { status = 503, headers = { ["retry-after-ms"] = "20" } } })
  local res, err, meta = pc:chat { messages = msgs() }
  assert(res, tostring(err))
  eq(meta.attempts, 2, "attempts")
  eq(n, 2, "provider calls")
end)

it("openai.new: an unknown option names the closest; ca_path is refused here", function()
  local ok, msg = pcall(openai.new, { api_key = KEY, timout = 5000 })
  eq(ok, false, "unknown option accepted")
  eq(msg, "openai.new: unknown option 'timout' (did you mean 'timeout'?)", "message")
  ok, msg = pcall(openai.new, { api_key = KEY, ca_path = TMP })
  eq(ok, false, "ca_path accepted")
  assert(msg:find("'ca_path' is not supported by the Windows build", 1, true), msg)
  ok, msg = pcall(openai.new, { api_key = KEY, ca_file = TMP .. "\\none.pem" })
  assert(not ok and msg:find("'ca_file' must be a readable file", 1, true), tostring(msg))
end)

it("a refused connection: kind connection, the key nowhere in the error", function()
  -- a port the system gave and took back (spec/windows/run.sh); wine
  -- refuses at once, Windows after ~2 s: the timeout leaves room for both
  local port = assert(os.getenv("OPENAI_WIN_DEAD_PORT"), "OPENAI_WIN_DEAD_PORT is not set")
  local dead = client { base_url = "http://127.0.0.1:" .. port .. "/v1", timeout = 8000, max_retries = 0 }
  local res, err = dead:chat { messages = msgs() }
  assert(not res, "a call to a closed port succeeded")
  eq(err.kind, "connection", "kind")
  assert(not tostring(err):find(KEY, 1, true), "the key is in the error")
end)

it("a download to a UTF-8 path, then an upload from it", function()
  local path = TMP .. "/r\195\169ponse-\230\150\135.mp3"   -- "réponse-文.mp3"
  local saved, err = c:speech { input = "Hello", voice = "alloy", path = path }
  assert(saved, tostring(err))
  assert(saved.bytes > 0, "bytes written: " .. tostring(saved.bytes))
  local f, err2 = c:upload_file { file = path, purpose = "batch" }
  assert(f, tostring(err2))
  eq(f.bytes, saved.bytes, "bytes uploaded")
end)

it("a picture saved to a UTF-8 path and read back as a data: URL", function()
  local png = "\137PNG\r\n\26\n" .. string.rep("\0", 24)
  local path = TMP .. "/im\195\161gen-\231\148\187.png"    -- "imágen-画.png"
  assert(openai.save_b64(openai.b64_encode(png), path))
  eq(openai.data_url{ path = path }, "data:image/png;base64," .. openai.b64_encode(png), "data URL")
end)
