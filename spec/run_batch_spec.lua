-- spec/run_batch_spec.lua: client:run_batch, a whole Batch API job against
-- the stand-in (whose batches move one step per look).
local H = require "support.helper"
local cjson = require "cjson"
local openai = require "openai"

local function chat_body(model, text)
  return { model = model, messages = { { role = "user", content = text } } }
end

describe("run_batch", function()
  local c

  before_each(function()
    H.reset()
    c = H.client()
  end)

  it("uploads the JSONL, creates the batch, polls with progress, and returns results by custom_id", function()
    local seen = {}
    local results, err, batch = c:run_batch {
      endpoint = "/v1/chat/completions",
      requests = {
        { custom_id = "a", body = chat_body("gpt-4.1", "one") },
        { custom_id = "b", body = chat_body("no-such-model", "two") },
        { custom_id = "c", body = chat_body("gpt-4.1", "three") },
      },
      poll_interval = 10,
      metadata = { job = "spec" },
      on_progress = function(b) seen[#seen + 1] = b.status end,
    }
    assert.is_nil(err)
    assert.same({ "validating", "in_progress", "completed" }, seen)
    assert.equal("completed", batch.status)
    assert.same({ total = 3, completed = 2, failed = 1 }, batch.request_counts)
    assert.equal("You said: one", results.a.result.choices[1].message.content)
    assert.equal("You said: three", results.c.result.choices[1].message.content)
    assert.is_nil(results.a.err)
    assert.is_nil(results.b.result)
    assert.is_true(openai.is_error(results.b.err))
    assert.equal("model_not_found", results.b.err.code)
    assert.equal("The model 'no-such-model' does not exist", results.b.err.message)

    local reqs = H.requests()
    -- the upload: one JSONL line per request, in order
    local up = reqs[1]
    assert.equal("POST /v1/files", up.method .. " " .. up.path)
    assert.equal("batch.jsonl", up.parts[1].filename)
    assert.equal("batch", H.b64decode(up.parts[2].data_b64))
    local lines = {}
    for line in H.b64decode(up.parts[1].data_b64):gmatch("([^\n]*)\n") do lines[#lines + 1] = cjson.decode(line) end
    assert.equal(3, #lines)
    assert.same({ custom_id = "b", method = "POST", url = "/v1/chat/completions",
                  body = chat_body("no-such-model", "two") }, lines[2])
    -- the batch, the polls, the two downloads
    assert.same({ input_file_id = "file-1", endpoint = "/v1/chat/completions", completion_window = "24h",
                  metadata = { job = "spec" } }, reqs[2].json)
    assert.equal("GET /v1/batches/" .. batch.id, reqs[3].method .. " " .. reqs[3].path)
    assert.equal("GET /v1/batches/" .. batch.id, reqs[4].method .. " " .. reqs[4].path)
    assert.equal("/v1/files/" .. batch.output_file_id .. "/content", reqs[5].path)
    assert.equal("/v1/files/" .. batch.error_file_id .. "/content", reqs[6].path)
    assert.equal(6, #reqs)
  end)

  it("cancels the batch when its deadline passes", function()
    local waiting = {}
    for i = 1, 50 do
      waiting[i] = { json = { id = "batch_2", object = "batch", status = "in_progress",
                              request_counts = { total = 1, completed = 0, failed = 0 } } }
    end
    H.script("/v1/batches/batch_2", waiting, "GET")
    local results, err, batch = c:run_batch {
      endpoint = "/v1/embeddings", poll_interval = 20, deadline = 100,
      requests = { { custom_id = "x", body = { model = "text-embedding-3-small", input = "hi" } } },
    }
    assert.is_nil(results)
    assert.equal("batch_2", batch.id)
    assert.equal(batch, err.batch)
    assert.equal("timeout", err.kind)
    assert.equal("the batch batch_2 did not finish within 100 ms; it was cancelled", err.message)
    assert.equal("POST /v1/batches/batch_2/cancel", H.last().method .. " " .. H.last().path)
  end)

  it("an error while waiting (an interrupt) cancels the batch and goes on up", function()
    local ok, e = pcall(c.run_batch, c, {
      endpoint = "/v1/chat/completions", poll_interval = 10,
      requests = { { custom_id = "a", body = chat_body("gpt-4.1", "x") } },
      on_progress = function(b) if b.status == "in_progress" then error("interrupted!", 0) end end,
    })
    assert.is_false(ok)
    assert.equal("interrupted!", e)
    assert.equal("POST /v1/batches/batch_2/cancel", H.last().method .. " " .. H.last().path)
  end)

  it("refuses bad arguments naming the field, with nothing sent", function()
    local fn = "openai.run_batch"
    local ok_req = { { custom_id = "a", body = {} } }
    assert.equal(fn .. ": 'requests' must be a non-empty array (got nil)",
                 H.raises(c.run_batch, c, { endpoint = "/v1/embeddings" }))
    assert.equal(fn .. ": 'requests[2].custom_id' must be unique (got 'a')",
                 H.raises(c.run_batch, c, { endpoint = "/v1/embeddings", requests = { ok_req[1], ok_req[1] } }))
    assert.equal(fn .. ": 'requests[1].body' must be a table (got 'x')",
                 H.raises(c.run_batch, c, { endpoint = "/v1/embeddings", requests = { { custom_id = "a", body = "x" } } }))
    assert.equal(fn .. ": 'endpoint' must be a non-empty string (got nil)", H.raises(c.run_batch, c, { requests = ok_req }))
    assert.equal(fn .. ": 'poll_interval' must be a whole number of milliseconds > 0 (got 0)",
                 H.raises(c.run_batch, c, { endpoint = "/v1/embeddings", requests = ok_req, poll_interval = 0 }))
    assert.equal(fn .. ": 'on_progress' must be a function (got true)",
                 H.raises(c.run_batch, c, { endpoint = "/v1/embeddings", requests = ok_req, on_progress = true }))
    assert.equal(0, #H.requests())
  end)
end)

-- a batch the stand-in answers with, once: done with these files
local function done_batch(status, output_file_id, error_file_id, extra)
  local b = { id = "batch_2", object = "batch", status = status, input_file_id = "file-1",
              output_file_id = output_file_id, error_file_id = error_file_id,
              request_counts = { total = 3, completed = 1, failed = 0 } }
  for k, v in pairs(extra or {}) do b[k] = v end
  H.script("/v1/batches/batch_2", { { json = b } }, "GET")
end

-- an output file line: custom_id answered with status and body
local function out_line(id, status, body)
  return cjson.encode({ id = "batch_req_" .. id, custom_id = id,
                        response = { status_code = status, request_id = "req_" .. id, body = body } })
end

local ANSWER = { object = "chat.completion", choices = { { message = { content = "done" } } } }

local function three()
  return { { custom_id = "a", body = chat_body("gpt-4.1", "one") },
           { custom_id = "b", body = chat_body("gpt-4.1", "two") },
           { custom_id = "c", body = chat_body("gpt-4.1", "three") } }
end

describe("run_batch keeps what came back", function()
  local c

  before_each(function()
    H.reset()
    c = H.client { max_retries = 0 }
  end)

  for _, status in ipairs({ "expired", "cancelled", "failed" }) do
    it("a batch that ended " .. status .. " returns its results on the error, with the batch", function()
      done_batch(status, "file-out", "file-err",
                 status == "failed" and { errors = { data = { { message = "quota reached" } } } } or nil)
      H.script("/v1/files/file-out/content", { { body = out_line("a", 200, ANSWER) .. "\n" } }, "GET")
      H.script("/v1/files/file-err/content", { { body = out_line("b", 429, { error = {
        message = "slow down", code = "rate_limit_exceeded" } }) .. "\n" } }, "GET")
      local results, err, batch = c:run_batch { endpoint = "/v1/chat/completions", requests = three(),
                                                poll_interval = 10 }
      assert.is_nil(results)
      assert.equal("api", err.kind)
      assert.equal("batch_" .. status, err.code)
      assert.truthy(err.message:find("batch_2 ended " .. status, 1, true), err.message)
      if status == "failed" then assert.truthy(err.message:find("quota reached", 1, true)) end
      assert.equal("batch_2", batch.id)
      assert.equal(batch, err.batch)
      assert.equal("done", err.results.a.result.choices[1].message.content)
      assert.equal("rate_limit_exceeded", err.results.b.err.code)
      assert.equal("missing_result", err.results.c.err.code)
    end)
  end

  it("a failed poll carries the batch, which is left running", function()
    H.script("/v1/batches/batch_2", { { status = 500 } }, "GET")
    local results, err, batch = c:run_batch { endpoint = "/v1/chat/completions", requests = three(),
                                              poll_interval = 10 }
    assert.is_nil(results)
    assert.equal("api", err.kind)
    assert.equal(500, err.status)
    assert.equal("batch_2", err.batch.id)
    assert.equal("validating", err.batch.status)
    assert.equal("file-1", err.batch.input_file_id)
    assert.equal(err.batch, batch)
    for _, r in ipairs(H.requests()) do assert.falsy(r.path:find("cancel", 1, true), r.path) end
  end)

  it("a failed create carries the uploaded file's id", function()
    H.script("/v1/batches", { { status = 400 } }, "POST")
    local results, err, batch = c:run_batch { endpoint = "/v1/chat/completions", requests = three() }
    assert.is_nil(results)
    assert.equal(400, err.status)
    assert.equal("file-1", err.batch.input_file_id)
    assert.equal(err.batch, batch)
  end)

  it("a failed download carries the batch and the results read before it", function()
    done_batch("completed", "file-out", "file-err")
    H.script("/v1/files/file-out/content", { { body = out_line("a", 200, ANSWER) .. "\n" } }, "GET")
    H.script("/v1/files/file-err/content", { { status = 404 } }, "GET")
    local results, err = c:run_batch { endpoint = "/v1/chat/completions", requests = three(),
                                       poll_interval = 10 }
    assert.is_nil(results)
    assert.equal(404, err.status)
    assert.equal("file-err", err.batch.error_file_id)
    assert.equal("done", err.results.a.result.choices[1].message.content)
  end)

  it("reads an output file larger than max_response_bytes, line by line from disk", function()
    local small = H.client { max_response_bytes = 2000 }
    local reqs = {}
    for i = 1, 40 do reqs[i] = { custom_id = "r" .. i, body = chat_body("gpt-4.1", "number " .. i) } end
    local path = os.tmpname()
    local results, err, batch = small:run_batch { endpoint = "/v1/chat/completions", requests = reqs,
                                                  poll_interval = 10, output_path = path }
    assert.is_nil(err)
    assert.equal("completed", batch.status)
    for i = 1, 40 do
      assert.equal("You said: number " .. i, results["r" .. i].result.choices[1].message.content)
    end
    local kept = H.read_file(path)
    os.remove(path)
    assert.truthy(#kept > 2000)
    local n = 0
    for _ in kept:gmatch("[^\n]+") do n = n + 1 end
    assert.equal(40, n)
  end)

  it("ends the wait at the deadline, not at the next poll", function()
    local waiting = {}
    for i = 1, 5 do waiting[i] = { json = { id = "batch_2", object = "batch", status = "in_progress" } } end
    H.script("/v1/batches/batch_2", waiting, "GET")
    local t0 = H.now()
    local results, err, batch = c:run_batch { endpoint = "/v1/chat/completions", requests = three(),
                                              poll_interval = 5000, deadline = 300 }
    local elapsed = H.now() - t0
    assert.is_nil(results)
    assert.equal("timeout", err.kind)
    assert.equal("batch_2", batch.id)
    assert.truthy(elapsed < 4000, "returned after " .. elapsed .. " ms")
    assert.equal("POST /v1/batches/batch_2/cancel", H.last().method .. " " .. H.last().path)
  end)

  it("reports ids never requested, lines it cannot read, and requested ids without a result", function()
    done_batch("completed", "file-out")
    H.script("/v1/files/file-out/content", { { body = table.concat({
      out_line("a", 200, ANSWER), out_line("zzz", 200, ANSWER), "not json at all",
      cjson.encode({ custom_id = "c" }), "" }, "\n") } }, "GET")
    local results, err, batch = c:run_batch { endpoint = "/v1/chat/completions", requests = three(),
                                              poll_interval = 10 }
    assert.is_nil(err)
    assert.equal("done", results.a.result.choices[1].message.content)
    assert.equal("missing_result", results.b.err.code)
    assert.equal("api", results.b.err.kind)
    assert.equal("malformed_result", results.c.err.code)
    assert.equal("decode", results.c.err.kind)
    assert.is_nil(results.zzz)
    assert.same({ { file_id = "file-out", line = 2, custom_id = "zzz", reason = "a custom_id never requested" },
                  { file_id = "file-out", line = 3, reason = "not a result line (no custom_id)" } },
                batch.unmatched)
  end)
end)
