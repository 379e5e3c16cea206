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
    local results, err, meta = c:run_batch {
      endpoint = "/v1/embeddings", poll_interval = 20, deadline = 100,
      requests = { { custom_id = "x", body = { model = "text-embedding-3-small", input = "hi" } } },
    }
    assert.is_nil(results)
    assert.is_nil(meta)
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
