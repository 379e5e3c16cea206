-- Get Model by ID; an unknown id comes back as an error object, not a crash.
local openai = require "openai"

local m, err = openai.model("gpt-4.1")
if not m then error(tostring(err)) end
print(m.id, m.owned_by)

local none, err2 = openai.model("no-such-model")
print(none, err2 and err2.kind, err2 and err2.status, err2 and err2.code)
