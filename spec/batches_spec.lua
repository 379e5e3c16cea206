-- spec/batches_spec.lua: client:create_batch, batch, batches, cancel_batch.
local H = require "support.helper"

local LINE = '{"custom_id":"a","method":"POST","url":"/v1/chat/completions",' ..
             '"body":{"model":"gpt-4.1","messages":[{"role":"user","content":"Hi"}]}}\n'

describe("batches", function()
  local c, input

  before_each(function()
    H.reset()
    c = H.client()
    input = assert(c:upload_file { file = { data = LINE, name = "in.jsonl" }, purpose = "batch" })
  end)

  it("create_batch sends POST /v1/batches with completion_window 24h by default", function()
    local b, err, meta = c:create_batch { input_file_id = input.id, endpoint = "/v1/chat/completions",
                                          metadata = { job = "nightly" } }
    assert.is_nil(err)
    local rec = H.last()
    assert.equal("POST", rec.method)
    assert.equal("/v1/batches", rec.path)
    assert.equal("application/json", rec.headers["content-type"])
    assert.same({ input_file_id = input.id, endpoint = "/v1/chat/completions", completion_window = "24h",
                  metadata = { job = "nightly" } }, rec.json)
    assert.equal(200, meta.status)
    assert.equal("batch", b.object)
    assert.equal("validating", b.status)
    assert.equal("nightly", b.metadata.job)
  end)

  it("batch(id) polls GET /v1/batches/{id} until it completes with an output file", function()
    local b = assert(c:create_batch { input_file_id = input.id, endpoint = "/v1/chat/completions" })
    local seen = {}
    repeat
      b = assert(c:batch(b.id))
      seen[#seen + 1] = b.status
      assert.equal("GET", H.last().method)
      assert.equal("/v1/batches/" .. b.id, H.last().path)
    until b.status == "completed"
    assert.same({ "in_progress", "completed" }, seen)
    assert.same({ total = 1, completed = 1, failed = 0 }, b.request_counts)
    local out = assert(c:file_content(b.output_file_id))
    assert.truthy(out:find('"custom_id":"a"', 1, true), out)
  end)

  it("cancel_batch(id) sends POST /v1/batches/{id}/cancel with no body", function()
    local b = assert(c:create_batch { input_file_id = input.id, endpoint = "/v1/embeddings" })
    local res, err = c:cancel_batch(b.id)
    assert.is_nil(err)
    local rec = H.last()
    assert.equal("POST", rec.method)
    assert.equal("/v1/batches/" .. b.id .. "/cancel", rec.path)
    assert.equal("", H.body_bytes(rec))
    assert.equal("cancelling", res.status)
    assert.equal("cancelled", assert(c:batch(b.id)).status)
  end)

  it("batches{} lists with limit and after", function()
    for _ = 1, 3 do assert(c:create_batch { input_file_id = input.id, endpoint = "/v1/responses" }) end
    local list, err = c:batches { limit = 2 }
    assert.is_nil(err)
    assert.equal("GET", H.last().method)
    assert.equal("/v1/batches", H.last().path)
    assert.equal("limit=2", H.last().query)
    assert.equal(2, #list.data)
    assert.is_true(list.has_more)
  end)

  it("an unknown batch is a 404 api error", function()
    local res, err = c:batch("batch_nope")
    assert.is_nil(res)
    assert.equal(404, err.status)
    assert.equal("NotFoundError", err.name)
  end)

  it("refuses bad arguments naming the field, with nothing sent", function()
    H.reset()
    local fn = "openai.create_batch"
    assert.equal(fn .. ": 'input_file_id' must be a non-empty string (got nil)",
                 H.raises(c.create_batch, c, { endpoint = "/v1/embeddings" }))
    assert.equal(fn .. ": 'endpoint' must be one of '/v1/responses', '/v1/chat/completions', '/v1/embeddings', " ..
                 "'/v1/completions', '/v1/moderations', '/v1/images/generations', '/v1/images/edits', " ..
                 "'/v1/videos' (got '/v1/chat')",
                 H.raises(c.create_batch, c, { input_file_id = "f", endpoint = "/v1/chat" }))
    assert.equal(fn .. ": 'completion_window' must be one of '24h' (got '1h')",
                 H.raises(c.create_batch, c, { input_file_id = "f", endpoint = "/v1/embeddings",
                                               completion_window = "1h" }))
    assert.equal(fn .. ": 'metadata.n' must be a string (got 1)",
                 H.raises(c.create_batch, c, { input_file_id = "f", endpoint = "/v1/embeddings", metadata = { n = 1 } }))
    assert.equal("openai.batch: 'batch_id' must be a non-empty string (got 3)", H.raises(c.batch, c, 3))
    assert.equal("openai.cancel_batch: 'batch_id' must not contain NUL, CR or LF (got 'a?b')",
                 H.raises(c.cancel_batch, c, "a\nb"))
    assert.equal("openai.batches: 'limit' must be an integer from 1 to 100 (got 101)",
                 H.raises(c.batches, c, { limit = 101 }))
    assert.equal(0, #H.requests())
  end)
end)

describe("stored responses", function()
  local c

  before_each(function()
    H.reset()
    c = H.client()
  end)

  it("get_response(id) sends GET /v1/responses/{id}", function()
    local r, err, meta = c:get_response("resp_123")
    assert.is_nil(err)
    assert.equal("GET", H.last().method)
    assert.equal("/v1/responses/resp_123", H.last().path)
    assert.equal("", H.body_bytes(H.last()))
    assert.equal("resp_123", r.id)
    assert.equal("completed", r.status)
    assert.equal(200, meta.status)
  end)

  it("delete_response(id) sends DELETE, cancel_response(id) POST .../cancel", function()
    assert.same({ id = "resp_1", object = "response", deleted = true }, (c:delete_response("resp_1")))
    assert.equal("DELETE", H.last().method)
    assert.equal("/v1/responses/resp_1", H.last().path)
    local r = assert(c:cancel_response("resp_1"))
    assert.equal("POST", H.last().method)
    assert.equal("/v1/responses/resp_1/cancel", H.last().path)
    assert.equal("cancelled", r.status)
  end)

  it("an unknown response is a 404; ids are escaped as one segment", function()
    local r, err = c:get_response("x/y")
    assert.is_nil(r)
    assert.equal(404, err.status)
    assert.equal("/v1/responses/x%2Fy", H.last().path)
  end)

  it("on Azure the stored responses keep their path, with the api-version", function()
    local az = H.client { base_url = H.url .. "/openai", azure = { api_version = "2025-04-01-preview", deployment = "d" } }
    assert(az:get_response("resp_9"))
    assert.equal("/openai/responses/resp_9", H.last().path)
    assert.equal("api-version=2025-04-01-preview", H.last().query)
  end)

  it("refuses a bad id naming the field", function()
    assert.equal("openai.get_response: 'response_id' must be a non-empty string (got nil)",
                 H.raises(c.get_response, c))
    assert.equal(0, #H.requests())
  end)
end)
