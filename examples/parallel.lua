-- Many requests at once on one thread: functions run as coroutines on the
-- engine; results come back in input order.
local openai = require "openai"

local questions = { "What is Lua?", "What is libcurl?", "What is a coroutine?", "What is SSE?" }
local fns = {}
for i, q in ipairs(questions) do
  fns[i] = function()
    local res, err = openai.chat{ messages = { { role = "user", content = q } } }
    if not res then return nil, err end
    return res.choices[1].message.content
  end
end
local results = openai.parallel(fns, { concurrency = 4 })
local failures = 0
for i, r in ipairs(results) do
  print(questions[i], "->", r[1] or tostring(r[2]))
  if not r[1] then failures = failures + 1 end
end
if failures > 0 then error(("%d of %d calls failed"):format(failures, #results)) end
