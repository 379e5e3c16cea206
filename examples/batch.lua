-- Run a Batch API job: the requests are uploaded as JSONL, the batch is
-- created and polled, and the results come back keyed by custom_id.
local openai = require "openai"

local questions = { a = "Say hi", b = "Say bye" }
local requests = {}
for id, q in pairs(questions) do
  requests[#requests + 1] = { custom_id = id, body = { model = "gpt-4.1-mini",
                                                       messages = { { role = "user", content = q } } } }
end
table.sort(requests, function(x, y) return x.custom_id < y.custom_id end)

local local_standin = (os.getenv("OPENAI_API_KEY") or "") == "sk-local-demo"
local results, err = openai.default_client():run_batch{
  endpoint = "/v1/chat/completions",
  requests = requests,
  poll_interval = local_standin and 100 or 30000,
  deadline = 24 * 3600 * 1000,
  on_progress = function(b)
    local n = b.request_counts or {}
    print(("batch %s: %s (%d/%d done)"):format(b.id, b.status, n.completed or 0, n.total or 0))
  end,
}
if not results then error(tostring(err)) end
for _, r in ipairs(requests) do
  local got = results[r.custom_id]
  print(r.custom_id, got.result and got.result.choices[1].message.content or tostring(got.err))
end
