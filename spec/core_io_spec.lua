-- The C core's file and proxy paths: multipart parts streamed
-- from a file, 2xx bodies written to a file (to_path), proxy and no_proxy,
-- kind "io" for local file errors, unknown request fields refused, and
-- wire.f32_base64 for base64 embeddings. Driven through openai.core
-- directly against the stand-in (spec/support/standin.py).

local H = require "support.helper"
local core = require "openai.core"
local wire = require "openai.wire"

local TMP = os.tmpname()          -- a unique name; the spec's files start with it
os.remove(TMP)

-- the bytes the stand-in's GET /v1/bytes?n=N sends: 0..255 over and over
local function pattern(n)
  local block = {}
  for i = 0, 255 do block[#block + 1] = string.char(i) end
  block = table.concat(block)
  return string.rep(block, math.floor(n / 256)) .. block:sub(1, n % 256)
end

-- base64 in portable Lua (no bitwise operators)
local A = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local function b64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local v = a * 65536 + (b or 0) * 256 + (c or 0)
    local c1, c2 = math.floor(v / 262144), math.floor(v / 4096) % 64
    local c3, c4 = math.floor(v / 64) % 64, v % 64
    out[#out + 1] = A:sub(c1 + 1, c1 + 1) .. A:sub(c2 + 1, c2 + 1) ..
      (b and A:sub(c3 + 1, c3 + 1) or "=") .. (c and A:sub(c4 + 1, c4 + 1) or "=")
  end
  return table.concat(out)
end

-- a float that 4 bytes hold exactly, as little-endian IEEE 754 bytes
-- (normal numbers and zero only: what the test vectors use)
local function f32le(x)
  if x == 0 then return "\0\0\0\0" end
  local sign = 0
  if x < 0 then sign, x = 128, -x end
  local e = 0
  while x >= 2 do x, e = x / 2, e + 1 end
  while x < 1 do x, e = x * 2, e - 1 end
  local m = (x - 1) * 8388608                  -- 23 bits of mantissa
  local be = e + 127
  local b0, b1 = m % 256, math.floor(m / 256) % 256
  local b2 = math.floor(m / 65536) + (be % 2) * 128
  local b3 = sign + math.floor(be / 2)
  return string.char(b0, b1, b2, b3)
end

-- submit req to a fresh engine and drive it until the transfer is done
local function run(req)
  local e = core.engine()
  local t = e:submit(req)
  local give_up = H.now() + 30000
  while not t:ready() do
    e:step(100)
    assert(H.now() < give_up, "the transfer did not finish")
  end
  local r = t:result()
  t:close()
  e:close()
  return r
end

-- the error submit raised for req, and whether the stand-in saw a request
local function refused(req)
  local e = core.engine()
  local ok, err = pcall(e.submit, e, req)
  e:close()
  assert(not ok, "submit accepted the request")
  return err
end

describe("core io", function()
  before_each(function() H.reset() end)
  after_each(function()
    for _, s in ipairs({ "up", "down", "e" }) do os.remove(TMP .. s) end
  end)

  describe("a multipart part from a file path", function()
    it("streams the file whole, a few MB, with its filename and type", function()
      -- 768 bytes (a multiple of 3): the base64 of the file is the block's, repeated
      local block = pattern(256):rep(3)
      local reps = 4096                         -- 3 MiB
      H.write_file(TMP .. "up", block:rep(reps))
      H.script("/v1/upload", { { status = 200, json = { ok = true } } })
      local r = run({ method = "POST", url = H.base .. "/upload",
                      parts = { { name = "purpose", data = "batch" },
                                { name = "file", path = TMP .. "up", filename = "in.jsonl",
                                  type = "application/jsonl" } } })
      assert.equal(200, r.status)
      assert.is_nil(r.kind)
      local rec = H.last()
      assert.equal("POST", rec.method)
      assert.equal(2, #rec.parts)
      assert.equal("purpose", rec.parts[1].name)
      assert.equal("batch", rec.parts[1].data)
      local p = rec.parts[2]
      assert.equal("file", p.name)
      assert.equal("in.jsonl", p.filename)
      assert.equal("application/jsonl", p.content_type)
      assert.equal(#block * reps / 3 * 4, #p.data_b64)
      assert.is_true(p.data_b64 == b64(block):rep(reps), "the file's bytes arrived changed")
    end)

    it("names the file by its base name when no filename is given", function()
      H.write_file(TMP .. "up", "tiny")
      H.script("/v1/upload", { { status = 200, json = { ok = true } } })
      local r = run({ method = "POST", url = H.base .. "/upload",
                      parts = { { name = "file", path = TMP .. "up" } } })
      assert.equal(200, r.status)
      local p = H.last().parts[1]
      assert.equal("tiny", p.data)
      assert.equal((TMP .. "up"):match("[^/]+$"), p.filename)
    end)

    it("fails with kind io naming the file when it cannot be opened, nothing sent", function()
      local r = run({ method = "POST", url = H.base .. "/upload",
                      retry = { max_retries = 2, backoff = true, sdk_statuses = true },
                      parts = { { name = "file", path = TMP .. "missing/none.bin" } } })
      assert.equal("io", r.kind)
      assert.truthy(r.message:find(TMP .. "missing/none.bin", 1, true), r.message)
      assert.truthy(r.message:find("No such file", 1, true), r.message)
      assert.equal(0, #H.requests())
    end)

    it("refuses a part with both data and path, naming it", function()
      local err = refused({ method = "POST", url = H.base .. "/upload",
                            parts = { { name = "file", data = "x", path = "/etc/hostname" } } })
      assert.truthy(err:find("parts[1] ('file') has both data and path", 1, true), err)
    end)
  end)

  describe("to_path", function()
    it("writes a 2xx body to the file, not to memory, and counts it", function()
      local n = 1024 * 1024 + 17
      local r = run({ url = H.base .. "/bytes?n=" .. n, to_path = TMP .. "down" })
      assert.equal(200, r.status)
      assert.is_nil(r.kind)
      assert.equal("", r.body)
      assert.equal(n, r.written)
      assert.is_true(H.read_file(TMP .. "down") == pattern(n), "the file holds other bytes")
    end)

    it("writes an empty file for an empty 2xx body", function()
      H.write_file(TMP .. "down", "old contents")
      local r = run({ url = H.base .. "/bytes?n=0", to_path = TMP .. "down" })
      assert.equal(200, r.status)
      assert.equal(0, r.written)
      assert.equal("", H.read_file(TMP .. "down"))
    end)

    it("starts the file again on a retry (a reset mid-body, then success)", function()
      local n = 300000
      H.script("/v1/bytes", { { fault = "reset_mid_body" }, {} })
      local r = run({ url = H.base .. "/bytes?n=" .. n, to_path = TMP .. "down",
                      retry = { max_retries = 1, delay = 10 } })
      assert.equal(200, r.status)
      assert.is_nil(r.kind)
      assert.equal(2, r.attempts)
      assert.equal(n, r.written)
      local got = H.read_file(TMP .. "down")
      assert.equal(n, #got)
      assert.is_true(got == pattern(n), "the file holds other bytes")
    end)

    it("keeps a non-2xx body in memory and makes no file", function()
      local r = run({ url = H.base .. "/nothing-here", to_path = TMP .. "down" })
      assert.equal(404, r.status)
      assert.truthy(r.body:find("unknown_url", 1, true), r.body)
      assert.is_nil(H.read_file(TMP .. "down"))
      assert.equal(0, r.written)
    end)

    it("fails with kind io when the directory is missing", function()
      local r = run({ url = H.base .. "/bytes?n=1000", to_path = TMP .. "missing/out.bin",
                      retry = { max_retries = 2, delay = 10 } })
      assert.equal("io", r.kind)
      assert.truthy(r.message:find("No such file or directory", 1, true), r.message)
      assert.truthy(r.message:find(TMP .. "missing/out.bin", 1, true), r.message)
      assert.equal(1, r.attempts)
    end)

    it("fails with kind io when the disk is full (/dev/full)", function()
      local f = io.open("/dev/full", "wb")
      if not f then return end                  -- not on this system
      f:close()
      local r = run({ url = H.base .. "/bytes?n=200000", to_path = "/dev/full" })
      assert.equal("io", r.kind)
      assert.truthy(r.message:find("No space left on device", 1, true), r.message)
    end)

    it("is refused on a stream", function()
      local err = refused({ url = H.base .. "/bytes", stream = true, to_path = TMP .. "down" })
      assert.truthy(err:find("a stream cannot have a to_path", 1, true), err)
    end)
  end)

  describe("proxy", function()
    it("sends through the proxy given, in absolute form", function()
      local r = run({ url = "http://api.example.invalid/v1/echo", proxy = H.url })
      assert.equal(200, r.status)
      local rec = H.last()
      assert.equal("http://api.example.invalid/v1/echo", rec.target)
      assert.equal("/v1/echo", rec.path)
      assert.equal("api.example.invalid", rec.headers.host)
    end)

    it("fails as a connection error when the proxy is down", function()
      local down = H.closed_port_url():gsub("/v1$", "")
      local r = run({ url = H.base .. "/echo", proxy = down })
      assert.equal("connection", r.kind)
      assert.equal(0, #H.requests())
    end)

    it("goes direct to the hosts in no_proxy", function()
      local down = H.closed_port_url():gsub("/v1$", "")
      local r = run({ url = H.base .. "/echo", proxy = down, no_proxy = "127.0.0.1,localhost" })
      assert.equal(200, r.status)
      assert.equal("/v1/echo", H.last().target)
    end)
  end)

  describe("unknown request fields", function()
    it("are refused, naming the field, nothing sent", function()
      local cases = {
        { { url = H.base .. "/echo", timout = 5 }, "unknown request field 'timout'" },
        { { url = H.base .. "/echo", retry = { max_retry = 1 } }, "unknown retry field 'max_retry'" },
        { { url = H.base .. "/echo", method = "POST", parts = { { name = "a", dta = "x" } } },
          "unknown parts[1] field 'dta'" },
        { { url = H.base .. "/echo", [1] = "x" }, "request has a number key" },
        { { url = H.base .. "/echo", toPath = "/tmp/x" }, "unknown request field 'toPath'" },
      }
      for _, c in ipairs(cases) do
        local err = refused(c[1])
        assert.truthy(err:find(c[2], 1, true), err)
      end
      assert.equal(0, #H.requests())
    end)

    it("accept every field the transport sends", function()
      local r = run({ method = "POST", url = H.base .. "/echo", headers = { "X-A: 1" }, body = "{}",
                      stream = false, timeout = 5000, connect_timeout = 5000, idle_timeout = 5000,
                      deadline = 10000, max_response_bytes = 1000000, max_event_bytes = 1000,
                      retry = { max_retries = 1, backoff = true, delay = 0, sdk_statuses = true,
                                all_errors = false, max_retry_after = 1000 } })
      assert.equal(200, r.status)
    end)
  end)

  describe("f32_base64", function()
    it("decodes the floats the API sends", function()
      -- struct.pack('<3f', 0.1, -0.25, 1e-7), base64
      local v = assert(wire.f32_base64("zczMPQAAgL6Vv9Yz"))
      assert.equal(3, #v)
      assert.is_true(math.abs(v[1] - 0.1) < 1e-8)
      assert.equal(-0.25, v[2])
      assert.is_true(math.abs(v[3] - 1e-7) < 1e-14)
    end)

    it("gives back 3072 numbers packed in Lua, exactly", function()
      local nums, bytes = {}, {}
      for i = 1, 3072 do
        nums[i] = (i - 1536) / 64 + (i % 7) / 1024
        bytes[i] = f32le(nums[i])
      end
      local v = assert(wire.f32_base64(b64(table.concat(bytes))))
      assert.equal(3072, #v)
      for i = 1, 3072 do
        if v[i] ~= nums[i] then error(("float %d: %s, want %s"):format(i, v[i], nums[i])) end
      end
    end)

    it("is empty for an empty text", function()
      assert.same({}, wire.f32_base64(""))
    end)

    it("returns nil and the reason for a malformed text", function()
      local cases = {
        { "zczMPQAAgL6Vv9Y", "not a multiple of 4 characters" },
        { "zczMPQAAgL6Vv!Yz", "outside the base64 alphabet" },
        { "zczMPQAAgL6Vv9Y=", "decodes to 11 bytes" },
        { "zczM PQAAgL6Vv9Y", "outside the base64 alphabet" },
        { "zczMPQ==gL6Vv9Yz", "'='" },
        { "zczMPQAAgL6Vv-Yz", "outside the base64 alphabet" },
      }
      for _, c in ipairs(cases) do
        local v, why = wire.f32_base64(c[1])
        assert.is_nil(v, c[1])
        assert.truthy(why:find(c[2], 1, true), why)
      end
    end)

    it("finds an error past the first 4096 characters", function()
      local good = ("AAAA"):rep(1500)
      assert.equal(4500 / 4, #assert(wire.f32_base64(good)))
      local v, why = wire.f32_base64(good:sub(1, 5000) .. "!AAA" .. good:sub(5005))
      assert.is_nil(v)
      assert.truthy(why:find("at character 5001", 1, true), why)
    end)
  end)
end)
