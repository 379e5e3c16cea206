-- spec/nginx_tasks_spec.lua: tasks and connections of the cosocket
-- transport inside a real nginx (spec/support/nginx.lua) under hostile
-- conditions: requests that leave tasks behind, cancels from other light
-- threads, servers that answer early or overrun their length, IPv6
-- literals, more tasks than nginx has connections.
local H = require "support.helper"
local nginx = require "support.nginx"
local rogue = require "support.rogue"
local socket = require "socket"
local cjson = require "cjson"

local KEY = "sk-proj-" .. string.rep("Zx9Qw", 31) .. "k"   -- 164 characters

local PRELUDE = [[
  local openai = require "openai"
  local cjson = require "cjson"
  local client = openai.new{ api_key = "$KEY", base_url = "$BASE", max_retries = 0 }
]]

local LOCATIONS = [[
  location = /leave_task { content_by_lua_block { $PRELUDE
    openai.spawn(function() return client:request{ url = "/echo", timeout = 5000 } end)
    ngx.exit(200) } }
  location = /slow_task { content_by_lua_block { $PRELUDE
    local task = openai.spawn(function() return client:request{ url = "/echo", timeout = 5000 } end)
    while openai.step(10) > 0 do end
    ngx.say(task:done()) } }
  location = /own_tasks { content_by_lua_block { $PRELUDE
    local t0 = ngx.now()
    local task = openai.spawn(function() return client:model("gpt-4.1") end)
    local loops = 0
    while openai.step(10) > 0 and loops < 300 do loops = loops + 1 end
    ngx.update_time()
    local m = task:result()
    ngx.say(cjson.encode({ pending = openai.step(0), loops = loops, id = m and m.id,
                           ms = math.floor((ngx.now() - t0) * 1000) })) } }
  location = /killed_task { content_by_lua_block { $PRELUDE
    local task = openai.spawn(function() return client:request{ url = "/echo", timeout = 5000 } end)
    ngx.thread.kill(task.thread)
    local before = openai.step(0)
    local res, err = task:result()
    ngx.say(cjson.encode({ pending = before, done = task:done(), kind = err and err.kind })) } }
  location = /cancel_other { content_by_lua_block { $PRELUDE
    local c = openai.new{ api_key = "$KEY", base_url = "$BASE", max_retries = 5 }
    local task = openai.spawn(function() return c:chat{ messages = { { role = "user", content = "hi" } } } end)
    ngx.sleep(0.1)
    local other = ngx.thread.spawn(function() return task:cancel() end)
    local _, ok = ngx.thread.wait(other)
    ngx.sleep(1.5)
    local _, err = task:result()
    ngx.say(cjson.encode({ ok = ok, done = task:done(), kind = err and err.kind,
                           pending = openai.step(0) })) } }
  location = /early413 { content_by_lua_block { $PRELUDE
    local path = "$DIR/big.bin"
    local c = openai.new{ api_key = "$KEY", base_url = "$ROGUE", max_retries = 2 }
    local res, err, meta = c:upload_file{ file = path, purpose = "batch" }
    ngx.say(cjson.encode({ kind = err and err.kind, status = err and err.status,
                           attempts = err and err.attempts, message = err and err.message,
                           meta_status = meta and meta.status })) } }
  location = /upload_kinds { content_by_lua_block { $PRELUDE
    local out = {}
    for _, path in ipairs({ "$DIR/fifo", "$DIR", "/proc/self/status" }) do
      local t0 = ngx.now()
      local res, err, meta = client:upload_file{ file = path, purpose = "batch" }
      ngx.update_time()
      out[#out + 1] = { path = path, kind = err and err.kind, message = err and err.message,
                        status = meta and meta.status, ms = (ngx.now() - t0) * 1000 }
    end
    ngx.say(cjson.encode(out)) } }
  location = /overrun { content_by_lua_block { $PRELUDE
    local c = openai.new{ api_key = "$KEY", base_url = "$ROGUE", max_retries = 0 }
    local out = {}
    for _, path in ipairs({ "/overrun", "/overrun_late", "/overrun_soon" }) do
      local first, err = c:request{ url = path }
      if path == "/overrun_late" then ngx.sleep(0.6) end
      if path == "/overrun_soon" then            -- the extra bytes arrive while this request
        local t0 = os.clock()                    -- holds the worker: nginx has not seen them
        while os.clock() - t0 < 0.05 do end
      end
      local res, err2 = c:request{ url = "/next" }
      out[#out + 1] = { first = first and first.n, err = err and err.message,
                        smuggled = res and res.smuggled, path = res and res.path,
                        err2 = err2 and err2.message }
    end
    ngx.say(cjson.encode(out)) } }
  location = /ipv6 { content_by_lua_block { $PRELUDE
    local c = openai.new{ api_key = "$KEY", base_url = "http://[::1]:$RPORT/v1", max_retries = 0 }
    local res, err = c:request{ url = "/six" }
    ngx.say(cjson.encode({ path = res and res.path, err = err and err.message })) } }
  location = /download_io { content_by_lua_block { $PRELUDE
    local f = assert(client:upload_file{ file = { data = string.rep("abc", 100000), name = "a.txt" },
                                         purpose = "batch" })
    local out = {}
    for _, path in ipairs({ "/nonexistent-dir/sub/x.bin", "$DIR/target" }) do
      local res, err, meta = client:file_content(f.id, { path = path })
      out[#out + 1] = { kind = err and err.kind, message = err and err.message,
                        status = meta and meta.status, err_status = err and err.status }
    end
    ngx.say(cjson.encode(out)) } }
  location = /done_open { content_by_lua_block { $PRELUDE
    local c = openai.new{ api_key = "$KEY", base_url = "$ROGUE", max_retries = 0 }
    local s = assert(c:chat_stream{ messages = { { role = "user", content = "hi" } } })
    ngx.update_time()
    local t0 = ngx.now()
    local n = 0
    while s:next() do n = n + 1 end
    s:close()
    ngx.update_time()
    ngx.say(cjson.encode({ n = n, text = s:text(), ms = (ngx.now() - t0) * 1000 })) } }
  location = /cancel_read { content_by_lua_block { $PRELUDE
    local task = openai.spawn(function() return client:request{ url = "/echo", timeout = 10000 } end)
    ngx.sleep(0.2)                                 -- its read waits for a slow answer
    local other = ngx.thread.spawn(function() return task:cancel() end)
    local _, ok = ngx.thread.wait(other)
    ngx.update_time()
    local t0 = ngx.now()
    ngx.thread.wait(task.thread)                   -- the task's thread ends (its read ends first)
    ngx.update_time()
    local _, err = task:result()
    ngx.say(cjson.encode({ ok = ok, kind = err and err.kind, ms = (ngx.now() - t0) * 1000 })) } }
]]

local function get(srv, path, timeout)
  local c = assert(socket.tcp())
  c:settimeout(timeout or 20)
  assert(c:connect("127.0.0.1", srv.port))
  assert(c:send("GET " .. path .. " HTTP/1.0\r\nHost: localhost\r\n\r\n"))
  local data, err = c:receive("*a")
  c:close()
  assert(data, path .. ": " .. tostring(err) .. "\n" .. srv:error_log())
  local status = tonumber(data:match("^HTTP/1%.%d (%d+)"))
  return status, data:match("\r\n\r\n(.*)$")
end

local function get_json(srv, path)
  local status, body = get(srv, path)
  assert.equal(200, status, srv:error_log())
  local ok, v = pcall(cjson.decode, body)
  assert(ok, path .. " answered " .. tostring(body) .. "\n" .. srv:error_log())
  return v
end

-- start a GET of path without waiting for its answer; returns the socket
local function start_get(srv, path)
  local c = assert(socket.tcp())
  c:settimeout(20)
  assert(c:connect("127.0.0.1", srv.port))
  assert(c:send("GET " .. path .. " HTTP/1.0\r\nHost: localhost\r\n\r\n"))
  return c
end

describe("tasks of the nginx transport", function()
  local srv, rsrv, dir

  setup(function()
    rsrv = rogue.start()
    dir = os.tmpname()
    os.remove(dir)
    assert(H.run("mkdir -p " .. dir .. " && chmod 777 " .. dir))   -- the worker may run as nobody
    H.write_file(dir .. "/big.bin", string.rep("0123456789abcdef", 1024 * 1024))   -- 16 MiB
    assert(H.run("mkfifo -m 666 " .. dir .. "/fifo"))
    assert(H.run("mkdir -m 777 " .. dir .. "/target"))
    assert(H.run("chmod 644 " .. dir .. "/big.bin"))
    local subst = { KEY = KEY, BASE = H.base, ROGUE = rsrv.url .. "/v1", DIR = dir,
                    RPORT = tostring(rsrv.port) }
    local locations = LOCATIONS:gsub("%$PRELUDE", (PRELUDE:gsub("%%", "%%%%")))
    locations = locations:gsub("%$(%u+)", subst)
    srv = nginx.start{ locations = locations }
  end)

  teardown(function()
    if srv then srv:stop() end
    if rsrv then rsrv:stop() end
    if dir then H.run("rm -rf " .. dir) end
  end)

  before_each(function() H.reset() end)

  it("counts in openai.step only the calling request's tasks, never one its request left behind", function()
    H.script("/v1/echo", { { delay_ms = 1500 }, { delay_ms = 1500 } }, "GET")
    local status = get(srv, "/leave_task")      -- its task is killed with its request
    assert.equal(200, status)
    local busy = start_get(srv, "/slow_task")   -- another request's task runs for 1.5 s
    socket.sleep(0.1)
    local r = get_json(srv, "/own_tasks")
    assert.equal("gpt-4.1", r.id)
    assert.equal(0, r.pending)
    assert.is_true(r.ms < 1000, "the loop waited for another request's task: " .. r.ms .. " ms")
    local answer = busy:receive("*a")
    busy:close()
    assert.matches("true", answer)
    r = get_json(srv, "/own_tasks")             -- later requests: nothing left over
    assert.equal(0, r.pending)
    assert.equal("gpt-4.1", r.id)
  end)

  it("does not count a task whose light thread was killed; the task ends cancelled", function()
    H.script("/v1/echo", { { delay_ms = 1000 } }, "GET")
    local r = get_json(srv, "/killed_task")
    assert.equal(0, r.pending)
    assert.is_true(r.done)
    assert.equal("cancelled", r.kind)
  end)

  it("cancels a task from another light thread: no attempt after the cancel", function()
    local answers = {}
    for i = 1, 6 do answers[i] = { status = 500, headers = { ["retry-after-ms"] = "300" } } end
    H.script("/v1/chat/completions", answers)
    local r = get_json(srv, "/cancel_other")
    assert.is_true(r.ok)
    assert.is_true(r.done)
    assert.equal("cancelled", r.kind)
    assert.equal(0, r.pending)
    assert.equal(1, H.requests_to("/v1/chat/completions"))
    H.script("/v1/echo", { { delay_ms = 3000 } }, "GET")
    r = get_json(srv, "/cancel_read")
    assert.is_true(r.ok)
    assert.equal("cancelled", r.kind)
    assert.equal(1, H.requests_to("/v1/echo"))    -- its read ended with the answer; nothing more sent
    assert.is_nil(srv:error_log():find("timed out", 1, true), srv:error_log())
  end)

  it("reads a response that came before the body was sent (an early 413): one attempt, kind api", function()
    local before = rsrv:count().requests
    local r = get_json(srv, "/early413")
    assert.equal("api", r.kind, r.message)
    assert.equal(413, r.status)
    assert.equal(413, r.meta_status)
    assert.equal(1, r.attempts)
    assert.equal("the request is too large", r.message)
    assert.equal(before + 1, rsrv:count().requests)
  end)

  it("uploads only regular files: a FIFO, a directory, a /proc file are an io error naming the path once", function()
    -- a writer that gives up after 3 s, so that code which waits for one fails instead of hanging
    H.run("(timeout 3 sh -c ': > " .. dir .. "/fifo' &) >/dev/null 2>&1")
    local r = get_json(srv, "/upload_kinds")
    local why = { "FIFO", "a directory", "not known in advance" }
    for i, case in ipairs(r) do
      assert.equal("io", case.kind, cjson.encode(case))
      assert.matches(why[i], case.message, 1, true)
      local _, n = case.message:gsub(case.path:gsub("%p", "%%%0"), "")
      assert.equal(1, n, case.message)
      assert.equal(0, case.status)
      assert.is_true(case.ms < 2000, case.path .. " blocked the worker")
    end
    assert.equal(0, H.requests_to("/v1/files"))
  end)

  it("never reuses a connection whose response overran its Content-Length", function()
    local r = get_json(srv, "/overrun")
    for _, case in ipairs(r) do
      assert.is_number(case.first, cjson.encode(case))
      assert.is_nil(case.smuggled, cjson.encode(case))
      assert.equal("/v1/next", case.path, cjson.encode(case))
    end
  end)

  it("calls an IPv6 literal base_url (http://[::1]:port)", function()
    if not H.run("python3 -c 'import socket; socket.create_connection((\"::1\", " .. rsrv.port .. "))' 2>/dev/null") then
      return pending("no IPv6 loopback on this machine")
    end
    local r = get_json(srv, "/ipv6")
    assert.is_nil(r.err, r.err)
    assert.equal("/v1/six", r.path)
  end)

  it("a download that cannot be written is an io error naming the path once, with the status read", function()
    local r = get_json(srv, "/download_io")
    local want = { "cannot create '/nonexistent-dir/sub/x.bin': No such file or directory",
                   "cannot create '" .. dir .. "/target': Is a directory" }
    for i, case in ipairs(r) do
      assert.equal("io", case.kind)
      assert.equal(want[i], case.message)
      assert.equal(200, case.status, cjson.encode(case))
      assert.equal(200, case.err_status, cjson.encode(case))
    end
  end)

  it("ends a stream at [DONE] at once, though the server keeps its body open", function()
    local t0 = H.now()
    local r = get_json(srv, "/done_open")
    assert.equal(1, r.n)
    assert.equal("hi", r.text)
    -- (it read on, 200 ms per silence and up to 1 s, for the rest of the body, which never came)
    assert.is_true(r.ms < 150, "the stream ended " .. r.ms .. " ms after its [DONE]")
    assert.is_true(H.now() - t0 < 1000, "the request took " .. (H.now() - t0) .. " ms")
  end)
end)

describe("the nginx transport with few worker_connections", function()
  local srv

  setup(function()
    local locations = ([[
      location = /many { content_by_lua_block {
        local openai = require "openai"
        local cjson = require "cjson"
        local per_host = tonumber(ngx.var.arg_per_host)
        local client = openai.new{ api_key = "$KEY", base_url = "$BASE", max_retries = 0,
                                   max_connections_per_host = per_host }
        local fns = {}
        for i = 1, 24 do
          fns[i] = function()
            local res, err = client:request{ url = "/echo", timeout = 20000 }
            return res and "ok" or err.message
          end
        end
        local r = openai.parallel(fns, { concurrency = 24 })
        local out = {}
        for i = 1, #r do out[i] = r[i][1] end
        ngx.say(cjson.encode(out)) } }
    ]]):gsub("%$(%u+)", { KEY = KEY, BASE = H.base })
    srv = nginx.start{ worker_connections = 16, locations = locations }
  end)

  teardown(function()
    if srv then srv:stop() end
  end)

  before_each(function() H.reset() end)

  it("queues calls beyond the worker's free connections instead of failing them", function()
    local answers = {}
    for i = 1, 24 do answers[i] = { delay_ms = 200 } end
    H.script("/v1/echo", answers, "GET")
    local r = get_json(srv, "/many")
    assert.equal(24, #r)
    for i = 1, #r do assert.equal("ok", r[i], cjson.encode(r)) end
    assert.equal(24, H.requests_to("/v1/echo"))
  end)

  it("holds max_connections_per_host: at most that many connections at once", function()
    local answers = {}
    for i = 1, 24 do answers[i] = { delay_ms = 100 } end
    H.script("/v1/echo", answers, "GET")
    local r = get_json(srv, "/many?per_host=3")
    for i = 1, #r do assert.equal("ok", r[i], cjson.encode(r)) end
    assert.is_true(H.stats().connections <= 3, cjson.encode(H.stats()))
  end)
end)
