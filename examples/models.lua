-- List Models.
local openai = require "openai"

local list, err = openai.models()
if not list then error(tostring(err)) end
for i, m in ipairs(list.data) do
  if i > 10 then print(("... and %d more"):format(#list.data - 10)) break end
  print(m.id)
end
