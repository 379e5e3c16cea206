-- Create Embeddings: model = "text-embedding-3-small"; the vectors come as
-- base64 on the wire and as arrays of numbers here.
local openai = require "openai"

local res, err = openai.embeddings{ input = { "The food was delicious", "The waiter was rude" } }
if not res then error(tostring(err)) end
for _, item in ipairs(res.data) do
  local v = item.embedding
  print(("input %d: %d dimensions, first %.4f %.4f %.4f"):format(item.index, #v, v[1], v[2], v[3]))
end
print(("(%d tokens)"):format(res.usage.total_tokens))
