-- What goes on the wire, and what a download leaves on disk, against a
-- hostile or changing world, through libcurl and through nginx's cosockets
-- (a real nginx, spec/support/nginx.lua): a file that grows while it is
-- uploaded (spec/support/upload_sink.py counts the bytes), framing headers
-- from the caller, CR/LF in a file part's content type, the multipart
-- boundary, a server echoing the key on a success, a download that fails
-- after its 200.
local H = require "support.helper"
local nginx = require "support.nginx"
local socket = require "socket"
local cjson = require "cjson"
local openai = require "openai"

-- a key of the longest kind (164 characters)
local KEY = "sk-proj-" .. string.rep("Zq7Yx", 31) .. "a"
assert(#KEY == 164)

-- {=================================================================
-- helpers
-- ==================================================================

local function client(opts)
  local o = { api_key = KEY, base_url = H.base, max_retries = 0 }
  for k, v in pairs(opts or {}) do o[k] = v end
  return openai.new(o)
end

local function sh_quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

-- a directory the nginx worker (maybe nobody) can write in
local function temp_dir()
  local dir = os.tmpname()
  os.remove(dir)
  assert(H.run("mkdir -p " .. dir .. " && chmod 777 " .. dir))
  return dir
end

-- start spec/support/upload_sink.py (growing grow_path by grow_bytes at the
-- first request); its port, and the report lines read so far
local function start_sink(dir, grow_path, grow_bytes)
  local port_file, report = dir .. "/sink.port", dir .. "/sink.report"
  os.remove(port_file)
  os.remove(report)
  local cmd = ("python3 spec/support/upload_sink.py %s %s %s %s >/dev/null 2>&1 &")
    :format(sh_quote(port_file), sh_quote(report), grow_path and sh_quote(grow_path) or "",
            grow_bytes and tostring(grow_bytes) or "")
  assert(H.run(cmd))
  local deadline = socket.gettime() + 10
  while not H.read_file(port_file) and socket.gettime() < deadline do socket.sleep(0.02) end
  local port = tonumber((assert(H.read_file(port_file), "upload_sink.py did not start")))
  return port, function()
    local deadline2 = socket.gettime() + 5
    while not H.read_file(report) and socket.gettime() < deadline2 do socket.sleep(0.02) end
    return H.read_file(report) or ""
  end
end

-- a file of n bytes at path, writable by anyone (the sink appends to it)
local function make_file(path, n)
  assert(H.run(("head -c %d /dev/zero > %s && chmod 666 %s"):format(n, sh_quote(path), sh_quote(path))))
end

-- GET path on the nginx server: its body decoded as JSON
local function get_json(srv, path)
  local c = assert(socket.tcp())
  c:settimeout(60)
  assert(c:connect("127.0.0.1", srv.port))
  assert(c:send("GET " .. path .. " HTTP/1.0\r\nHost: localhost\r\n\r\n"))
  local data = c:receive("*a")
  c:close()
  local body = data:match("\r\n\r\n(.*)$")
  local ok, v = pcall(cjson.decode, body or "")
  assert(ok, path .. " answered " .. tostring(data) .. "\n" .. srv:error_log())
  return v
end

local function escape_arg(s)
  return (s:gsub("[^%w%-%._/]", function(c) return ("%%%02X"):format(c:byte()) end))
end

-- }==================================================================


-- {=================================================================
-- nginx locations
-- ==================================================================

local PRELUDE = [[
  local openai = require "openai"
  local cjson = require "cjson"
  local KEY = "$KEY"
  local function client(base)
    return openai.new{ api_key = KEY, base_url = base or "$BASE", max_retries = 0 }
  end
  local function out(res, err, meta)
    ngx.say(cjson.encode({ ok = res ~= nil, kind = err and err.kind, message = err and err.message,
      status = meta and meta.status, request_id = meta and meta.request_id,
      header_id = meta and meta.headers["x-request-id"], bytes = res and res.bytes,
      path = res and res.path }))
  end
  local function raised(f, ...)
    local ok, msg = pcall(f, ...)
    return ok and "returned" or tostring(msg)
  end
]]

local LOCATIONS = [[
  location = /grow { content_by_lua_block { $PRELUDE
    local c = client("http://127.0.0.1:" .. ngx.var.arg_port .. "/v1")
    out(c:upload_file{ file = ngx.unescape_uri(ngx.var.arg_path), purpose = "batch" }) } }
  location = /refused { content_by_lua_block { $PRELUDE
    local c = client()
    local msgs = {
      raised(c.request, c, { url = "/v1/echo", method = "POST", data = "{}",
                             headers = { ["Content-Length"] = "0" } }),
      raised(c.request, c, { url = "/v1/echo", method = "POST", data = "{}",
                             headers = { ["Transfer-Encoding"] = "chunked" } }),
      raised(c.chat, c, { messages = { { role = "user", content = "hi" } }, headers = { Host = "evil" } }),
      raised(c.upload_file, c, { file = { data = "x", name = "a.txt" }, purpose = "batch",
                                 headers = { ["Content-Type"] = "text/plain" } }),
      raised(openai.new, { api_key = KEY, base_url = "$BASE", headers = { ["content-length"] = "5" } }),
      raised(c.upload_file, c, { file = { data = "x", name = "a.txt", type = "text/plain\r\nX-Injected: 1" },
                                 purpose = "batch" }),
      raised(c.upload_file, c, { file = { data = "x", name = "a.txt", type = {} }, purpose = "batch" }),
      raised(c.upload_file, c, { file = { data = "x", name = "a.txt", type = 42 }, purpose = "batch" }),
    }
    ngx.say(cjson.encode(msgs)) } }
  location = /part_type { content_by_lua_block { $PRELUDE
    out(client():upload_file{ file = { data = "a,b\n", name = "t.csv", type = "text/csv; charset=utf-8" },
                              purpose = "batch" }) } }
  location = /multipart { content_by_lua_block { $PRELUDE
    out(client():request{ url = "/v1/echo", method = "POST", form = { a = "1" } }) } }
  location = /echo_key { content_by_lua_block { $PRELUDE
    out(client():chat{ messages = { { role = "user", content = "hi" } } }) } }
  location = /download { content_by_lua_block { $PRELUDE
    out(client():file_content("file-abc", { path = ngx.unescape_uri(ngx.var.arg_path) })) } }
]]

local function start_nginx(dir)
  local subst = { KEY = KEY, BASE = H.base, DIR = dir }
  local locations = LOCATIONS:gsub("%$PRELUDE", (PRELUDE:gsub("%%", "%%%%")))
  locations = locations:gsub("%$(%u+)", subst)
  return nginx.start{ locations = locations }
end

-- }==================================================================


describe("wire safety", function()
  local srv, dir

  setup(function()
    dir = temp_dir()
    srv = start_nginx(dir)
  end)

  teardown(function()
    if srv then srv:stop() end
    if dir then H.run("rm -rf " .. sh_quote(dir)) end
  end)

  before_each(function() H.reset() end)

  -- {---------------------------------------------------- uploads keep to their length
  describe("an upload whose file grows while it is sent", function()
    -- 8 MB: more than the loopback buffers hold before the sink reads on
    local SIZE, GROW = 8000000, 1000000

    local function check_report(report)
      local declared, received, extra, complete =
        report:match("declared=(%d+) received=(%d+) extra=(%d+) complete=(%d)")
      assert.truthy(declared, "no report: " .. report)
      assert.equal("0", extra, "bytes beyond Content-Length reached the server: " .. report)
      assert.equal("0", complete, report)
      assert.truthy(tonumber(received) < tonumber(declared), report)
    end

    it("fails (io) through libcurl, never sending past its Content-Length", function()
      local path = dir .. "/grow-curl.bin"
      make_file(path, SIZE)
      local port, report = start_sink(dir, path, GROW)
      local c = client { base_url = "http://127.0.0.1:" .. port .. "/v1" }
      local res, err = c:upload_file { file = path, purpose = "batch" }
      assert.is_nil(res)
      assert.equal("io", err.kind, tostring(err))
      assert.truthy(err.message:find("changed size", 1, true), err.message)
      assert.truthy(err.message:find(path, 1, true), err.message)
      check_report(report())
      os.remove(path)
    end)

    it("fails (io) through nginx, never sending past its Content-Length", function()
      local path = dir .. "/grow-nginx.bin"
      make_file(path, SIZE)
      local port, report = start_sink(dir, path, GROW)
      local r = get_json(srv, "/grow?port=" .. port .. "&path=" .. escape_arg(path))
      assert.is_false(r.ok)
      assert.equal("io", r.kind, cjson.encode(r))
      assert.truthy(r.message:find("changed size", 1, true), r.message)
      check_report(report())
      os.remove(path)
    end)

    it("a file that shrinks while it is sent fails (io) on both", function()
      local path = dir .. "/shrink.bin"
      make_file(path, SIZE)
      local port, report = start_sink(dir, path, -GROW)
      local c = client { base_url = "http://127.0.0.1:" .. port .. "/v1" }
      local res, err = c:upload_file { file = path, purpose = "batch" }
      assert.is_nil(res)
      assert.equal("io", err.kind, tostring(err))
      assert.truthy(err.message:find("changed size", 1, true), err.message)
      check_report(report())
      make_file(path, SIZE)
      port, report = start_sink(dir, path, -GROW)
      local r = get_json(srv, "/grow?port=" .. port .. "&path=" .. escape_arg(path))
      assert.equal("io", r.kind, cjson.encode(r))
      assert.truthy(r.message:find("changed size", 1, true), r.message)
      check_report(report())
      os.remove(path)
    end)

    it("an unchanged file still uploads whole on both", function()
      local path = dir .. "/steady.bin"
      make_file(path, 300000)
      local port, report = start_sink(dir)
      local c = client { base_url = "http://127.0.0.1:" .. port .. "/v1" }
      local res, err = c:upload_file { file = path, purpose = "batch" }
      assert.is_nil(err)
      assert.equal("file-sink", res.id)
      local r = get_json(srv, "/grow?port=" .. port .. "&path=" .. escape_arg(path))
      assert.is_true(r.ok, cjson.encode(r))
      local lines = {}
      local deadline = socket.gettime() + 5
      while #lines < 2 and socket.gettime() < deadline do
        lines = {}
        for l in report():gmatch("[^\n]+") do lines[#lines + 1] = l end
        if #lines < 2 then socket.sleep(0.05) end
      end
      assert.equal(2, #lines)
      for _, l in ipairs(lines) do assert.truthy(l:find("extra=0 complete=1", 1, true), l) end
      os.remove(path)
    end)
  end)
  -- }----------------------------------------------------

  -- {---------------------------------------------------- framing headers
  describe("framing headers from the caller", function()
    local c
    before_each(function() c = client() end)

    it("Content-Length, Transfer-Encoding and Host are argument errors, per call", function()
      for _, name in ipairs({ "Content-Length", "content-length", "Transfer-Encoding", "Host", "HOST" }) do
        local msg = H.raises(c.request, c, { url = "/v1/echo", method = "POST", data = "{}",
                                             headers = { [name] = "0" } })
        assert.truthy(msg:find("openai.request: 'headers' cannot set ", 1, true), msg)
        msg = H.raises(c.chat, c, { messages = H.msgs(), headers = { [name] = "0" } })
        assert.truthy(msg:find("openai.chat: 'headers' cannot set ", 1, true), msg)
        msg = H.raises(c.chat_stream, c, { messages = H.msgs(), headers = { [name] = "0" } })
        assert.truthy(msg:find("openai.chat_stream: 'headers' cannot set ", 1, true), msg)
      end
      assert.equal(0, #H.requests())
    end)

    it("they are argument errors in openai.new, with Content-Type", function()
      for _, name in ipairs({ "Content-Length", "Transfer-Encoding", "Host", "Content-Type" }) do
        local msg = H.raises(openai.new, { api_key = KEY, base_url = H.base, headers = { [name] = "x" } })
        assert.truthy(msg:find("openai.new: 'headers' cannot set " .. name, 1, true), msg)
        assert.falsy(msg:find(KEY, 1, true))
      end
    end)

    it("Content-Type is an argument error on a multipart call, and still sent on others", function()
      local msg = H.raises(c.upload_file, c, { file = { data = "x", name = "a.txt" }, purpose = "batch",
                                               headers = { ["Content-Type"] = "text/plain" } })
      assert.truthy(msg:find("openai.upload_file: 'headers' cannot set Content-Type", 1, true), msg)
      msg = H.raises(c.request, c, { url = "/v1/echo", method = "POST", form = { a = "1" },
                                     headers = { ["content-type"] = "text/plain" } })
      assert.truthy(msg:find("openai.request: 'headers' cannot set Content-Type", 1, true), msg)
      assert.equal(0, #H.requests())
      local res, err = c:request { url = "/v1/echo", method = "POST", data = "hi",
                                   headers = { ["Content-Type"] = "text/plain" }, response_type = "json" }
      assert.is_nil(err)
      assert.equal("text/plain", res.headers["content-type"])
    end)

    it("a file part's type with CR/LF, or not a string, is an argument error", function()
      for _, bad in ipairs({ "text/plain\r\nX-Injected: 1", "a\nb", "a\0b", "", {}, 42, true }) do
        local msg = H.raises(c.upload_file, c, { file = { data = "x", name = "a.txt", type = bad },
                                                 purpose = "batch" })
        assert.truthy(msg:find("openai.upload_file: 'file.type'", 1, true), msg)
        assert.falsy(msg:find("[\r\n]"), msg)
        msg = H.raises(c.transcription, c, { file = { data = "x", name = "a.mp3", type = bad } })
        assert.truthy(msg:find("openai.transcription: 'file.type'", 1, true), msg)
      end
      assert.equal(0, #H.requests())
    end)

    it("a file part's valid type is its part's Content-Type", function()
      local res, err = c:upload_file { file = { data = "a,b\n", name = "t.csv", type = "text/csv; charset=utf-8" },
                                       purpose = "batch" }
      assert.is_nil(err)
      assert.truthy(res.id)
      local body = H.body_bytes(H.last())
      assert.truthy(body:find('filename="t.csv"\r\nContent-Type: text/csv; charset=utf-8\r\n\r\na,b\n',
                              1, true), body)
    end)

    it("nginx refuses the same, sending nothing", function()
      local msgs = get_json(srv, "/refused")
      local want = {
        "openai.request: 'headers' cannot set Content-Length",
        "openai.request: 'headers' cannot set Transfer-Encoding",
        "openai.chat: 'headers' cannot set Host",
        "openai.upload_file: 'headers' cannot set Content-Type",
        "openai.new: 'headers' cannot set Content-Length",
        "openai.upload_file: 'file.type'",
        "openai.upload_file: 'file.type'",
        "openai.upload_file: 'file.type'",
      }
      for i, w in ipairs(want) do
        assert.truthy(msgs[i]:find(w, 1, true), i .. ": " .. tostring(msgs[i]))
      end
      assert.equal(0, #H.requests())
      local r = get_json(srv, "/part_type")
      assert.is_true(r.ok, cjson.encode(r))
      local body = H.body_bytes(H.last())
      assert.truthy(body:find('filename="t.csv"\r\nContent-Type: text/csv; charset=utf-8\r\n\r\na,b\n',
                              1, true), body)
    end)
  end)
  -- }----------------------------------------------------

  -- {---------------------------------------------------- the multipart boundary
  describe("the multipart boundary", function()
    it("openai.wire.random_bytes gives the kernel's bytes", function()
      local wire = require "openai.wire"
      local a, b = wire.random_bytes(16), wire.random_bytes(16)
      assert.equal(16, #a)
      assert.not_equal(a, b)
      assert.equal(256, #wire.random_bytes(256))
      assert.has_error(function() wire.random_bytes(0) end)
      assert.has_error(function() wire.random_bytes(257) end)
    end)

    local function boundary_of(server)
      local r = get_json(server, "/multipart")
      assert.is_true(r.ok, cjson.encode(r))
      local b = H.last().headers["content-type"]:match("boundary=(.+)$")
      assert.truthy(b)
      return b
    end

    it("nginx: differs between calls and after a restart, in 32 random hex digits", function()
      local first = boundary_of(srv)
      local second = boundary_of(srv)
      assert.not_equal(first, second)
      assert.matches("^%-+%x+$", first)
      assert.truthy(#first:match("%x+$") >= 32, first)
      -- a fresh worker's first boundary: math.random, never seeded, repeated its digits
      local other = start_nginx(dir)
      local ok, b = pcall(boundary_of, other)
      other:stop()
      assert(ok, b)
      local again = start_nginx(dir)
      local ok2, b2 = pcall(boundary_of, again)
      again:stop()
      assert(ok2, b2)
      assert.not_equal(b:sub(-16), b2:sub(-16))
    end)
  end)
  -- }----------------------------------------------------

  -- {---------------------------------------------------- success meta
  describe("a success whose headers echo the key", function()
    local ECHO = { { status = 200, echo_key = "@KEY@", headers = { ["x-request-id"] = "@KEY@",
                                                                   ["x-other"] = "k=@KEY@" } } }

    local function no_key(meta)
      assert.falsy(tostring(meta.request_id):find("Zq7Yx", 1, true), tostring(meta.request_id))
      assert.truthy(tostring(meta.request_id):find("[redacted]", 1, true))
      for k, v in pairs(meta.headers) do
        assert.falsy(v:find("Zq7Yx", 1, true), k .. ": " .. v)
      end
      assert.equal("k=[redacted]", meta.headers["x-other"])
    end

    it("hands back a redacted meta through libcurl (plain, raw, stream)", function()
      local c = client()
      H.script("/v1/chat/completions", ECHO)
      local res, err, meta = c:chat { messages = H.msgs() }
      assert.is_nil(err)
      assert.truthy(res.choices)
      no_key(meta)
      H.script("/v1/echo", ECHO)
      res, err, meta = c:request { url = "/v1/echo" }
      assert.is_nil(err)
      assert.equal("/v1/echo", res.path)
      no_key(meta)
      H.script("/v1/chat/completions", { { status = 200, stream_canned = true, echo_key = "@KEY@",
                                           headers = { ["x-request-id"] = "@KEY@", ["x-other"] = "k=@KEY@" } } })
      local s
      s, err, meta = c:chat_stream { messages = H.msgs() }
      assert.is_nil(err)
      no_key(meta)
      s:close()
    end)

    it("hands back a redacted meta through nginx", function()
      H.script("/v1/chat/completions", ECHO)
      local r = get_json(srv, "/echo_key")
      assert.is_true(r.ok, cjson.encode(r))
      assert.equal("[redacted]", r.request_id)
      assert.equal("[redacted]", r.header_id)
    end)
  end)
  -- }----------------------------------------------------

  -- {---------------------------------------------------- downloads
  describe("a download that fails after its 200", function()
    local OLD = "the old file, kept\n"
    local TRUNCATED = { { status = 200, body = string.rep("new bytes ", 5000), fault = "truncate" } }

    -- the names in dir beginning with base
    local function names(base)
      local p = assert(io.popen("ls -a " .. sh_quote(dir)))
      local out = {}
      for l in p:lines() do
        if l:sub(1, #base) == base then out[#out + 1] = l end
      end
      p:close()
      table.sort(out)
      return out
    end

    it("leaves the old file as it was, and no temporary file (libcurl)", function()
      local c = client()
      local path = dir .. "/kept-curl.jsonl"
      H.write_file(path, OLD)
      H.script("/v1/files/file-abc/content", TRUNCATED)
      local res, err = c:file_content("file-abc", { path = path })
      assert.is_nil(res)
      assert.equal("connection", err.kind, tostring(err))
      assert.equal(OLD, H.read_file(path))
      assert.same({ "kept-curl.jsonl" }, names("kept-curl"))
      H.script("/v1/audio/speech", TRUNCATED)
      res, err = c:speech { input = "hi", voice = "alloy", path = path }
      assert.is_nil(res)
      assert.truthy(err)
      assert.equal(OLD, H.read_file(path))
      assert.same({ "kept-curl.jsonl" }, names("kept-curl"))
    end)

    it("replaces the file whole on success (libcurl)", function()
      local c = client()
      local path = dir .. "/replaced.bin"
      H.write_file(path, OLD)
      local res, err = c:speech { input = "hi", voice = "alloy", path = path }
      assert.is_nil(err)
      assert.equal(path, res.path)
      local got = H.read_file(path)
      assert.equal(res.bytes, #got)
      assert.not_equal(OLD, got)
      assert.same({ "replaced.bin" }, names("replaced"))
    end)

    it("names the caller's path when the directory is missing", function()
      local c = client()
      local path = dir .. "/no-such-dir/out.bin"
      local res, err = c:speech { input = "hi", voice = "alloy", path = path }
      assert.is_nil(res)
      assert.equal("io", err.kind)
      assert.truthy(err.message:find(path, 1, true), err.message)
      assert.falsy(err.message:find(".part", 1, true), err.message)
    end)

    it("leaves the old file as it was, and no temporary file (nginx)", function()
      local path = dir .. "/kept-nginx.jsonl"
      H.write_file(path, OLD)
      assert(H.run("chmod 666 " .. sh_quote(path)))
      H.script("/v1/files/file-abc/content", TRUNCATED)
      local r = get_json(srv, "/download?path=" .. escape_arg(path))
      assert.is_false(r.ok, cjson.encode(r))
      assert.equal(OLD, H.read_file(path))
      assert.same({ "kept-nginx.jsonl" }, names("kept-nginx"))
      H.script("/v1/files/file-abc/content", { { status = 200, body = "fresh\n" } })
      r = get_json(srv, "/download?path=" .. escape_arg(path))
      assert.is_true(r.ok, cjson.encode(r))
      assert.equal(path, r.path)
      assert.equal("fresh\n", H.read_file(path))
      assert.same({ "kept-nginx.jsonl" }, names("kept-nginx"))
    end)
  end)
  -- }----------------------------------------------------
end)
