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
for i, r in ipairs(results) do
  print(questions[i], "->", r[1] or tostring(r[2]))
end
