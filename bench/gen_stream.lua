-- bench/gen_stream.lua PATH EVENTS|SIZE: write an SSE chat stream to PATH.
--   EVENTS  a plain number: that many chat.completion.chunk events
--   SIZE    "<n>MB": as many events as fill n * 1,000,000 bytes
-- The events look like the API's (~180 bytes each with their framing):
-- a first one with the role, content deltas of one short word, a last one
-- with finish_reason "stop", then "data: [DONE]".
local path, what = arg[1], arg[2]
assert(path and what, "usage: gen_stream.lua PATH EVENTS|<n>MB")

local HEAD = 'data: {"id":"chatcmpl-B9MBs8CjcvOU2jLn4n","object":"chat.completion.chunk",' ..
             '"created":1741569952,"model":"gpt-4o","choices":[{"index":0,'
local TAIL_ = ',"finish_reason":null}]}\n\n'
local WORDS = { " the", " stream", " of", " tokens", " goes", " on", " and", " on,", " word",
                " after", " word", " until", " it", " ends", "." }

local function event(i)
  return HEAD .. '"delta":{"content":"' .. WORDS[(i - 1) % #WORDS + 1] .. '"}' .. TAIL_
end
local FIRST = HEAD .. '"delta":{"role":"assistant","content":"","refusal":null}' .. TAIL_
local LAST = HEAD .. '"delta":{},"finish_reason":"stop"}]}\n\n'
local DONE = "data: [DONE]\n\n"

local n
local mb = what:match("^(%d+)MB$")
if mb then
  local budget = tonumber(mb) * 1000000 - #FIRST - #LAST - #DONE
  local total, i = 0, 0
  while total + #event(i + 1) <= budget do
    i = i + 1
    total = total + #event(i)
  end
  n = i + 2
else
  n = assert(math.tointeger(tonumber(what)), "EVENTS must be an integer")
  assert(n >= 2, "at least 2 events")
end

local f = assert(io.open(path, "wb"))
f:write(FIRST)
local buf, nb = {}, 0
for i = 1, n - 2 do
  nb = nb + 1
  buf[nb] = event(i)
  if nb == 4096 then f:write(table.concat(buf, "", 1, nb)); nb = 0 end
end
if nb > 0 then f:write(table.concat(buf, "", 1, nb)) end
f:write(LAST, DONE)
f:close()
print(n)
