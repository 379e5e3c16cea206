-- client:request, the "Raw Request" action: every input and its default,
-- checked on the wire (the stand-in's request log) and in what comes back.

local H = require "support.helper"
local openai = require "openai"

-- 0x00..0xff repeated up to n bytes (what /v1/bytes?n=N answers)
local function byte_run(n)
  local t = {}
  for i = 0, n - 1 do t[#t + 1] = string.char(i % 256) end
  return table.concat(t)
end

-- the lines a client with a capturing logger writes
local function logging_client()
  local lines = {}
  local c = H.client { logger = function(line) lines[#lines + 1] = line end }
  return c, lines
end

local function any_line(lines, pred)
  for _, l in ipairs(lines) do
    if pred(l) then return true end
  end
  return false
end

describe("client:request (Raw Request)", function()
  local client

  before_each(function()
    H.reset()
    client = H.client()
  end)

  -- {=============================================================
  -- url, method

  it("defaults url to /v1/models and method to GET", function()
    local res, err, meta = client:request()
    assert.is_nil(err)
    assert.equal("list", res.object)
    assert.equal(200, meta.status)
    local reqs = H.requests()
    assert.equal(1, #reqs)
    assert.equal("GET", reqs[1].method)
    assert.equal("/v1/models", reqs[1].path)
    assert.equal("", reqs[1].query)
  end)

  it("accepts an empty params table with the same defaults", function()
    local res, err = client:request {}
    assert.is_nil(err)
    assert.equal("list", res.object)
    assert.equal("GET", H.last().method)
    assert.equal("/v1/models", H.last().path)
  end)

  it("joins /v1/... to a base URL ending in /v1 without doubling it", function()
    local res, err = client:request { url = "/v1/images/generations", method = "POST",
                                      data = { prompt = "a cat" } }
    assert.is_nil(err)
    assert.is_table(res.data)
    assert.equal("/v1/images/generations", H.last().path)
    assert.equal("POST", H.last().method)
  end)

  it("joins a path without /v1 (/models) to the base URL", function()
    local res, err = client:request { url = "/models" }
    assert.is_nil(err)
    assert.equal("list", res.object)
    assert.equal("/v1/models", H.last().path)
  end)

  it("sends the default Authorization and Accept headers", function()
    assert.is_nil(select(2, client:request { url = "/v1/echo" }))
    local h = H.last().headers
    assert.equal("Bearer " .. H.key, h["authorization"])
    assert.equal("application/json", h["accept"])
    assert.truthy(h["user-agent"]:find("openai-lua", 1, true))
  end)

  it("accepts a lowercase method and sends it uppercased", function()
    local res, err = client:request { url = "/v1/echo", method = "post", data = { a = 1 } }
    assert.is_nil(err)
    assert.equal("POST", res.method)
    assert.equal("POST", H.last().method)
    assert.is_nil(select(2, client:request { url = "/v1/echo", method = "delete" }))
    assert.equal("DELETE", H.last().method)
    assert.is_nil(select(2, client:request { url = "/v1/echo", method = "Put", data = "x" }))
    assert.equal("PUT", H.last().method)
  end)

  it("refuses an unknown method or a non-string one, sending nothing", function()
    local msg = H.raises(client.request, client, { url = "/v1/echo", method = "FETCH" })
    assert.truthy(msg:find("openai.request: 'method'", 1, true), msg)
    assert.truthy(msg:find("FETCH", 1, true), msg)
    msg = H.raises(client.request, client, { url = "/v1/echo", method = 42 })
    assert.truthy(msg:find("'method'", 1, true), msg)
    msg = H.raises(client.request, client, { url = "/v1/echo", method = "GET /x HTTP/1.1\r\n" })
    assert.truthy(msg:find("'method'", 1, true), msg)
    assert.equal(0, #H.requests())
  end)

  -- }=============================================================
  -- data, form, files

  it("sends a data table as a JSON body with Content-Type application/json", function()
    local data = { model = "gpt-4.1", n = 2, nested = { list = { 1, 2, 3 }, flag = true } }
    local res, err = client:request { url = "/v1/echo", method = "POST", data = data }
    assert.is_nil(err)
    local rec = H.last()
    assert.equal("application/json", rec.headers["content-type"])
    assert.same(data, rec.json)
    assert.same(data, res.json)
  end)

  it("sends a data string as is, byte for byte", function()
    local data = '{ "raw" :true,\n  "x":[1, 2] }  '
    local _, err = client:request { url = "/v1/echo", method = "POST", data = data }
    assert.is_nil(err)
    local rec = H.last()
    assert.equal(data, H.body_bytes(rec))
    assert.equal(tostring(#data), rec.headers["content-length"])
  end)

  it("sends form fields and files as one multipart/form-data body", function()
    local blob = "A\0B\r\nC\r\n--not-a-boundary\r\n\0\255end"
    local other = "\r\n\0"
    local _, err = client:request {
      url = "/v1/echo", method = "POST",
      form = { purpose = "fine-tune", model = "whisper-1" },
      files = { file = blob, image = other },
      file_names = { file = "train data.jsonl", image = "pic.png" },
    }
    assert.is_nil(err)
    local rec = H.last()
    assert.equal("POST", rec.method)
    assert.truthy(rec.headers["content-type"]:match("^multipart/form%-data;"), rec.headers["content-type"])
    local parts = {}
    for _, p in ipairs(rec.parts) do parts[p.name] = p end
    assert.equal(4, #rec.parts)
    assert.equal("fine-tune", parts.purpose.data)
    assert.equal("whisper-1", parts.model.data)
    assert.equal("fine-tune", H.b64decode(parts.purpose.data_b64))
    assert.equal(openai.null, parts.purpose.filename)
    assert.equal("train data.jsonl", parts.file.filename)
    assert.equal(blob, H.b64decode(parts.file.data_b64))
    assert.equal("pic.png", parts.image.filename)
    assert.equal(other, H.b64decode(parts.image.data_b64))
  end)

  it("names a file after its key when file_names does not name it", function()
    local _, err = client:request {
      url = "/v1/echo", method = "POST",
      files = { upload = "x\0y", second = "zz" },
      file_names = { second = "two.bin" },
    }
    assert.is_nil(err)
    local parts = {}
    for _, p in ipairs(H.last().parts) do parts[p.name] = p end
    assert.equal("upload", parts.upload.filename)
    assert.equal("x\0y", H.b64decode(parts.upload.data_b64))
    assert.equal("two.bin", parts.second.filename)
  end)

  it("refuses a file_names key with no matching file, sending nothing", function()
    local msg = H.raises(client.request, client, {
      url = "/v1/echo", method = "POST",
      files = { file = "data" }, file_names = { fiel = "a.txt" },
    })
    assert.truthy(msg:find("openai.request: 'file_names'", 1, true), msg)
    assert.truthy(msg:find("fiel", 1, true), msg)
    msg = H.raises(client.request, client, {
      url = "/v1/echo", method = "POST", form = { a = "1" }, file_names = { f = "a.txt" },
    })
    assert.truthy(msg:find("'file_names'", 1, true), msg)
    assert.equal(0, #H.requests())
  end)

  it("refuses data together with form or files, sending nothing", function()
    local msg = H.raises(client.request, client, {
      url = "/v1/echo", method = "POST", data = { a = 1 }, form = { b = "2" },
    })
    assert.truthy(msg:find("openai.request: 'data'", 1, true), msg)
    msg = H.raises(client.request, client, {
      url = "/v1/echo", method = "POST", data = "x", files = { f = "y" },
    })
    assert.truthy(msg:find("'data'", 1, true), msg)
    assert.equal(0, #H.requests())
  end)

  -- }=============================================================
  -- query, headers

  it("sends a query table percent-encoded, repeating the key of an array value", function()
    local value = "x y&z=é/?#+%"
    local _, err = client:request { url = "/v1/echo", query = {
      q = value, ["my key"] = "v", ids = { "a b", 2, "c" }, n = 5,
    } }
    assert.is_nil(err)
    local rec = H.last()
    assert.equal("/v1/echo", rec.path)
    assert.same({ value }, rec.params.q)
    assert.same({ "v" }, rec.params["my key"])
    assert.same({ "a b", "2", "c" }, rec.params.ids)
    assert.same({ "5" }, rec.params.n)
    -- raw: nothing unescaped that could split the query
    local q = rec.query
    assert.falsy(q:find(" ", 1, true), q)
    assert.falsy(q:find("#", 1, true), q)
    assert.falsy(q:find("[\128-\255]"), q)
    local pairs_n = select(2, q:gsub("&", "")) + 1
    assert.equal(6, pairs_n, q)
    assert.truthy(q:find("q=x%20y%26z%3D%C3%A9", 1, true) or q:find("q=x+y%26z%3D%C3%A9", 1, true), q)
  end)

  it("appends the query to a url that already has one", function()
    local _, err = client:request { url = "/v1/echo?a=1", query = { b = "2" } }
    assert.is_nil(err)
    local rec = H.last()
    assert.same({ "1" }, rec.params.a)
    assert.same({ "2" }, rec.params.b)
  end)

  it("sends the headers table", function()
    local _, err = client:request { url = "/v1/echo", headers = {
      ["X-Custom"] = "one two", ["OpenAI-Beta"] = "assistants=v2", ["X-Num"] = 7,
    } }
    assert.is_nil(err)
    local h = H.last().headers
    assert.equal("one two", h["x-custom"])
    assert.equal("assistants=v2", h["openai-beta"])
    assert.equal("7", h["x-num"])
    assert.equal("Bearer " .. H.key, h["authorization"])
  end)

  it("lets a headers entry replace a default header instead of doubling it", function()
    local _, err = client:request { url = "/v1/echo", headers = { Accept = "text/plain" } }
    assert.is_nil(err)
    local rec = H.last()
    assert.equal("text/plain", rec.headers["accept"])
    local n = 0
    for _, hl in ipairs(rec.header_list) do
      if hl[1]:lower() == "accept" then n = n + 1 end
    end
    assert.equal(1, n)
  end)

  it("refuses a header value with CR or LF, naming the header, sending nothing", function()
    local msg = H.raises(client.request, client, {
      url = "/v1/echo", headers = { ["X-Evil"] = "a\r\nX-Injected: 1" },
    })
    assert.truthy(msg:find("openai.request: 'headers", 1, true), msg)
    assert.truthy(msg:find("X-Evil", 1, true), msg)
    msg = H.raises(client.request, client, { url = "/v1/echo", headers = { ["X-Lf"] = "a\nb" } })
    assert.truthy(msg:find("X-Lf", 1, true), msg)
    msg = H.raises(client.request, client, { url = "/v1/echo", headers = { ["X-Cr"] = "a\rb" } })
    assert.truthy(msg:find("X-Cr", 1, true), msg)
    assert.equal(0, #H.requests())
  end)

  -- }=============================================================
  -- response_type

  it("decodes a JSON response into a table by default (response_type json)", function()
    local res, err, meta = client:request { url = "/v1/models/gpt-4.1" }
    assert.is_nil(err)
    assert.same({ id = "gpt-4.1", object = "model", created = 1744316542, owned_by = "system" }, res)
    assert.equal(200, meta.status)
    assert.equal(1, meta.attempts)
    assert.equal(H.last().id, meta.request_id)
    res, err = client:request { url = "/v1/models/gpt-4.1", response_type = "json" }
    assert.is_nil(err)
    assert.equal("gpt-4.1", res.id)
  end)

  it("returns the body as a string with response_type text", function()
    local res, err, meta = client:request { url = "/v1/text", response_type = "text" }
    assert.is_nil(err)
    assert.equal("hello, text\n", res)
    assert.equal(200, meta.status)
  end)

  it("returns the exact bytes with response_type binary", function()
    local res, err = client:request { url = "/v1/bytes?n=300", response_type = "binary" }
    assert.is_nil(err)
    assert.equal("string", type(res))
    assert.equal(300, #res)
    assert.equal(byte_run(300), res)
    assert.equal("/v1/bytes", H.last().path)
    assert.equal("n=300", H.last().query)
  end)

  it("refuses an unknown response_type, sending nothing", function()
    local msg = H.raises(client.request, client, { url = "/v1/text", response_type = "xml" })
    assert.truthy(msg:find("openai.request: 'response_type'", 1, true), msg)
    assert.equal(0, #H.requests())
  end)

  -- }=============================================================
  -- timeout, debug

  it("ends with a timeout error when the server is slower than timeout", function()
    H.script("/v1/echo", { { delay_ms = 800 } })
    local t0 = H.now()
    local res, err, meta = client:request { url = "/v1/echo", timeout = 150 }
    local elapsed = H.now() - t0
    assert.is_nil(res)
    assert.equal("timeout", err.kind)
    assert.equal(1, err.attempts)
    assert.equal(1, meta.attempts)
    assert.is_true(elapsed >= 140, "elapsed " .. elapsed)
  end)

  it("logs the request and the response with the key redacted when debug is true", function()
    local c, lines = logging_client()
    local _, err = c:request { url = "/v1/echo", method = "POST", data = { a = 1 }, debug = true }
    assert.is_nil(err)
    assert.is_true(#lines >= 2)
    local url = H.url .. "/v1/echo"
    assert.is_true(any_line(lines, function(l)
      return l:find("POST", 1, true) and l:find(url, 1, true)
    end), table.concat(lines, "\n"))
    assert.is_true(any_line(lines, function(l)
      return l:lower():find("authorization: [redacted]", 1, true)
    end), table.concat(lines, "\n"))
    -- the response's status, on a line of its own (not the request's URL)
    assert.is_true(any_line(lines, function(l)
      return not l:find(H.url, 1, true) and l:find("%f[%d]200%f[%D]")
    end), table.concat(lines, "\n"))
    for _, l in ipairs(lines) do
      assert.falsy(l:find(H.key, 1, true), l)
      assert.falsy(l:find("SECRET", 1, true), l)
    end
  end)

  it("logs nothing when debug is false or absent", function()
    local c, lines = logging_client()
    assert.is_nil(select(2, c:request { url = "/v1/echo", debug = false }))
    assert.is_nil(select(2, c:request { url = "/v1/echo" }))
    H.script("/v1/echo", { { status = 500 } })
    assert.is_not_nil(select(2, c:request { url = "/v1/echo", debug = false }))
    assert.equal(0, #lines)
    assert.equal(3, #H.requests())
  end)

  -- }=============================================================
  -- retries

  it("does not retry by default (max_retries 0): a 500 is one attempt", function()
    H.script("/v1/models", { { status = 500 }, { status = 200 } })
    local res, err, meta = client:request()
    assert.is_nil(res)
    assert.equal("api", err.kind)
    assert.equal(500, err.status)
    assert.equal(1, err.attempts)
    assert.equal(1, meta.attempts)
    assert.equal(1, #H.requests())
  end)

  it("retries a 500 up to max_retries and returns the success", function()
    H.script("/v1/models", { { status = 500 }, { status = 500 }, { status = 200 } })
    local res, err, meta = client:request { max_retries = 2 }
    assert.is_nil(err)
    assert.equal("list", res.object)
    assert.equal(3, meta.attempts)
    assert.equal(3, #H.requests())
  end)

  it("gives up after max_retries with the last error", function()
    H.script("/v1/models", { { status = 500 }, { status = 502 }, { status = 503 }, { status = 200 } })
    local res, err = client:request { max_retries = 2 }
    assert.is_nil(res)
    assert.equal(503, err.status)
    assert.equal(3, err.attempts)
    assert.equal(3, #H.requests())
  end)

  it("does not retry a 429 or a 404 when retry_on_all_errors is false", function()
    H.script("/v1/models", { { status = 429 }, { status = 200 } })
    local res, err = client:request { max_retries = 3 }
    assert.is_nil(res)
    assert.equal(429, err.status)
    assert.equal(1, err.attempts)
    H.reset()
    H.script("/v1/models", { { status = 404 }, { status = 200 } })
    res, err = client:request { max_retries = 3, retry_on_all_errors = false }
    assert.is_nil(res)
    assert.equal(404, err.status)
    assert.equal(1, err.attempts)
    assert.equal(1, #H.requests())
  end)

  it("retries a 404 when retry_on_all_errors is true", function()
    H.script("/v1/models", { { status = 404 }, { status = 200 } })
    local res, err, meta = client:request { max_retries = 2, retry_on_all_errors = true }
    assert.is_nil(err)
    assert.equal("list", res.object)
    assert.equal(2, meta.attempts)
    assert.equal(2, #H.requests())
  end)

  it("waits retry_delay ms between attempts", function()
    H.script("/v1/models", { { status = 500 }, { status = 200 } })
    local t0 = H.now()
    local res, err, meta = client:request { max_retries = 1, retry_delay = 200 }
    local elapsed = H.now() - t0
    assert.is_nil(err)
    assert.is_table(res)
    assert.equal(2, meta.attempts)
    assert.is_true(elapsed >= 190, "elapsed " .. elapsed)
  end)

  it("uses the exponential backoff when exponential_backoff is true", function()
    H.script("/v1/models", { { status = 500 }, { status = 200 } })
    local t0 = H.now()
    local res, err, meta = client:request { max_retries = 1, exponential_backoff = true }
    local elapsed = H.now() - t0
    assert.is_nil(err)
    assert.is_table(res)
    assert.equal(2, meta.attempts)
    -- the first backoff is 0.5 s * (1 - 0.25 * random) >= 375 ms
    assert.is_true(elapsed >= 370, "elapsed " .. elapsed)
  end)

  it("ignores retry_delay when exponential_backoff is true", function()
    H.script("/v1/models", { { status = 500 }, { status = 200 } })
    local t0 = H.now()
    local res, err, meta = client:request { max_retries = 1, exponential_backoff = true,
                                            retry_delay = 6000 }
    local elapsed = H.now() - t0
    assert.is_nil(err)
    assert.is_table(res)
    assert.equal(2, meta.attempts)
    assert.is_true(elapsed >= 370, "elapsed " .. elapsed)
    assert.is_true(elapsed < 5000, "waited the retry_delay: elapsed " .. elapsed)
  end)

  it("honours retry-after-ms with exponential_backoff", function()
    H.script("/v1/models", { { status = 500, headers = { ["retry-after-ms"] = "700" } },
                             { status = 200 } })
    local t0 = H.now()
    local res, err, meta = client:request { max_retries = 1, exponential_backoff = true }
    local elapsed = H.now() - t0
    assert.is_nil(err)
    assert.is_table(res)
    assert.equal(2, meta.attempts)
    -- above any first backoff (<= 500 ms): the server's wish was waited for
    assert.is_true(elapsed >= 690, "elapsed " .. elapsed)
  end)

  it("retries a connection error (reset) and counts both attempts", function()
    -- reset after the status line: curl has bytes, so only our retry re-sends
    H.script("/v1/models", { { fault = "reset_mid_headers" }, { status = 200 } })
    local res, err, meta = client:request { max_retries = 1 }
    assert.is_nil(err)
    assert.equal("list", res.object)
    assert.equal(2, meta.attempts)
    assert.equal(2, #H.requests())
  end)

  it("does not retry a connection error (reset) with max_retries 0", function()
    H.script("/v1/models", { { fault = "reset_mid_headers" }, { status = 200 } })
    local res, err, meta = client:request()
    assert.is_nil(res)
    assert.equal("connection", err.kind)
    assert.equal(1, err.attempts)
    assert.equal(1, meta.attempts)
    assert.equal(1, #H.requests())
  end)

  it("counts every request that reached the server (reset before any byte)", function()
    -- warm up, so the next request goes out on a kept-alive connection
    assert.is_nil(select(2, client:request { url = "/v1/echo" }))
    H.reset()
    H.script("/v1/models", { { fault = "reset" }, { status = 200 } })
    local _, err, meta = client:request()
    local attempts = err and err.attempts or meta.attempts
    -- max_retries is 0, but the connection was a reused keep-alive one that
    -- died before any response byte: curl sends once more on a fresh one
    -- (stale-connection recovery); every request on the wire is an attempt
    assert.equal(#H.requests(), attempts)
    assert.equal(2, #H.requests())
    assert.is_nil(err)
  end)

  it("answers a HEAD request with an empty result and its status, not a decode error", function()
    local res, err, meta = client:request { url = "/v1/models", method = "head" }
    assert.is_nil(err)
    assert.same({}, res)
    assert.equal(200, meta.status)
    assert.equal("HEAD", H.last().method)
  end)

  it("returns nil, err with kind api and the status for an error status", function()
    H.script("/v1/echo", { { status = 418, json = { error = { message = "I am a teapot",
                                                              type = "teapot_error" } } } })
    local res, err, meta = client:request { url = "/v1/echo", method = "POST", data = { a = 1 } }
    assert.is_nil(res)
    assert.is_true(openai.is_error(err))
    assert.equal("api", err.kind)
    assert.equal(418, err.status)
    assert.equal("teapot_error", err.type)
    assert.equal("I am a teapot", err.message)
    assert.equal(418, meta.status)
    res, err = client:request { url = "/v1/nowhere" }
    assert.is_nil(res)
    assert.equal("api", err.kind)
    assert.equal(404, err.status)
    assert.equal("unknown_url", err.code)
  end)

  it("refuses bad retry and timeout inputs, sending nothing", function()
    for _, p in ipairs({
      { max_retries = -1, field = "max_retries" }, { max_retries = 1.5, field = "max_retries" },
      { retry_delay = -5, field = "retry_delay" }, { timeout = 0, field = "timeout" },
      { timeout = "10", field = "timeout" }, { debug = "yes", field = "debug" },
      { exponential_backoff = 1, field = "exponential_backoff" },
      { retry_on_all_errors = "true", field = "retry_on_all_errors" },
    }) do
      local field = p.field
      p.field = nil
      local msg = H.raises(client.request, client, p)
      assert.truthy(msg:find("openai.request: '" .. field .. "'", 1, true), msg)
    end
    assert.equal(0, #H.requests())
  end)
end)
