-- openai.options: every option of a call, one row each: its check, its
-- default (the client's, one place), and where it goes.
--
--   kind     how it is checked: ms (> 0), ms0 (>= 0), int (lo..hi), boolean
--   default  the client's value when openai.new is not given one
--   client   openai.new takes it (and a call falls back to the client's)
--   call     a call takes it (never sent in a body)

local check = require "openai.check"

local ipairs = ipairs

local _ENV = nil -- luacheck: ignore 211

local M = {}

local INT_MAX = 2147483647

M.ROWS = {
  { name = "timeout", kind = "ms", default = 10000, client = true, call = true },
  { name = "connect_timeout", kind = "ms", client = true },
  { name = "idle_timeout", kind = "ms0", default = 60000, client = true, call = true },
  { name = "deadline", kind = "ms", client = true, call = true },
  { name = "max_retries", kind = "int", lo = 0, hi = 100, default = 2, client = true, call = true },
  { name = "max_retry_after", kind = "ms", default = 60000, client = true, call = true },
  -- a timeout after the request was sent whole is not retried unless asked:
  -- the server may still be generating, and each attempt is billed
  { name = "retry_timeouts", kind = "boolean", default = false, client = true, call = true },
  { name = "headers", kind = "headers", call = true },
  { name = "debug", kind = "boolean", client = true, call = true },
  { name = "max_response_bytes", kind = "int", lo = 1, hi = INT_MAX, default = 64 * 1024 * 1024,
    client = true, call = true },
  { name = "max_event_bytes", kind = "int", lo = 1, hi = INT_MAX, default = 16 * 1024 * 1024,
    client = true, call = true },
  { name = "accumulate", kind = "boolean", call = true },
}

-- the set of call options (never part of a body)
M.CALL = {}
for _, row in ipairs(M.ROWS) do
  if row.call then M.CALL[row.name] = true end
end

-- v checked as row says (v is not nil); raises naming fn and the field
local function checked(fn, row, v)
  local kind = row.kind
  if kind == "ms" then return check.ms(fn, v, row.name, false) end
  if kind == "ms0" then return check.ms(fn, v, row.name, true) end
  if kind == "int" then return check.integer_in(fn, v, row.name, row.lo, row.hi) end
  return check.boolean(fn, v, row.name)
end
M.checked = checked

-- the client's options from openai.new's opts into self (defaults filled in)
function M.client(fn, self, opts)
  for _, row in ipairs(M.ROWS) do
    if row.client then
      local v = opts[row.name]
      if v == nil then self[row.name] = row.default else self[row.name] = checked(fn, row, v) end
    end
  end
end

-- the call options of p into o (a call that does not give one takes the
-- client's); headers are left to the caller (they need their own check)
function M.call(fn, self, p, o)
  local rows = M.ROWS
  for i = 1, #rows do
    local row = rows[i]
    if row.call and row.kind ~= "headers" then
      local v = p[row.name]
      if v == nil then o[row.name] = self[row.name] else o[row.name] = checked(fn, row, v) end
    end
  end
  return o
end

return M
