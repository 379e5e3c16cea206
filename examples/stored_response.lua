-- Get, cancel and delete a stored Response by id.
local openai = require "openai"

local res, err = openai.response{ input = "Write one sentence about Lua.", store = true }
if not res then error(tostring(err)) end
local again = assert(openai.get_response(res.id))
print(again.id, again.status)
local del = assert(openai.delete_response(res.id))
print("deleted", del.deleted)
