-- spec/rogue_spec.lua: the libcurl transport against a raw server that
-- breaks the protocol on purpose (spec/support/rogue.py): one that answers
-- before reading the body, one whose response overruns its length, one
-- that keeps a stream's body open after [DONE]. The nginx transport meets
-- the same server in spec/nginx_tasks_spec.lua.
local H = require "support.helper"
local rogue = require "support.rogue"
local openai = require "openai"
local socket = require "socket"

local KEY = "sk-proj-" .. string.rep("Zx9Qw", 31) .. "k"   -- 164 characters

describe("the libcurl transport against a rogue server", function()
  local rsrv, big

  setup(function()
    rsrv = rogue.start()
    big = H.tmpfile(string.rep("0123456789abcdef", 1024 * 1024))   -- 16 MiB
  end)

  teardown(function()
    if rsrv then rsrv:stop() end
    if big then os.remove(big) end
  end)

  local function client(opts)
    opts = opts or {}
    opts.api_key, opts.base_url = KEY, rsrv.url .. "/v1"
    return openai.new(opts)
  end

  it("reads a response that came before the body was sent (an early 413): one attempt, kind api", function()
    local before = rsrv:count().requests
    local res, err, meta = client{ max_retries = 2 }:upload_file{ file = big, purpose = "batch" }
    assert.is_nil(res)
    assert.equal("api", err.kind, err.message)
    assert.equal(413, err.status)
    assert.equal(413, meta.status)
    assert.equal(1, err.attempts)
    assert.equal("the request is too large", err.message)
    assert.equal(before + 1, rsrv:count().requests)
  end)

  it("never reuses a connection whose response overran its Content-Length", function()
    local c = client{ max_retries = 0 }
    for _, path in ipairs({ "/overrun", "/overrun_late" }) do
      local first = assert(c:request{ url = path })
      assert.is_number(first.n)
      if path == "/overrun_late" then socket.sleep(0.6) end   -- the extra bytes are in by now
      local res, err = c:request{ url = "/next" }
      assert.is_nil(err)
      assert.is_nil(res.smuggled, path .. ": the next call read the extra bytes as its answer")
      assert.equal("/v1/next", res.path)
    end
  end)

  it("calls an IPv6 literal base_url (http://[::1]:port)", function()
    if not H.run("python3 -c 'import socket; socket.create_connection((\"::1\", " .. rsrv.port .. "))' 2>/dev/null") then
      return pending("no IPv6 loopback on this machine")
    end
    local c = openai.new{ api_key = KEY, base_url = "http://[::1]:" .. rsrv.port .. "/v1", max_retries = 0 }
    local res, err = c:request{ url = "/six" }
    assert.is_nil(err)
    assert.equal("/v1/six", res.path)
  end)

  it("ends a stream at [DONE] at once, though the server keeps its body open", function()
    local c = client{ max_retries = 0 }
    local s = assert(c:chat_stream{ messages = { { role = "user", content = "hi" } } })
    local t0 = H.now()
    local n = 0
    for _ in s:each() do n = n + 1 end           -- [DONE] came right behind the first chunk
    s:close()
    local ms = H.now() - t0
    assert.equal(1, n)
    assert.equal("hi", s:text())
    -- (it waited 200 ms for the rest of the body, which never came)
    assert.is_true(ms < 150, "the stream ended " .. ms .. " ms after its [DONE]")
  end)
end)
