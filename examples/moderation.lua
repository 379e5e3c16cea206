-- Create Moderation: model = "omni-moderation-latest".
local openai = require "openai"

local res, err = openai.moderation{ input = { "Have a nice day!", "I want to kill them." } }
if not res then error(tostring(err)) end
for i, r in ipairs(res.results) do
  local hits = {}
  for name, hit in pairs(r.categories) do if hit then hits[#hits + 1] = name end end
  table.sort(hits)
  print(i, r.flagged and ("flagged: " .. table.concat(hits, ", ")) or "fine")
end
