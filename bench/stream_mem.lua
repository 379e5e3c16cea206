-- bench/stream_mem.lua BASE_URL KEY [flat]: consume one chat stream as
-- bench/stream.lua does (each() + result()) in a fresh process, or with
-- "flat" as a stream opened with accumulate = false (each() only), then print
-- KEY=<VmHWM in KiB>, KEY_events=<events>, KEY_lua_heap_kib=<Lua heap
-- after the loop> and KEY_content_bytes=<assembled content>.
local dir = arg[0]:match("^(.*)/[^/]*$") or "."
local B = dofile(dir .. "/common.lua")

local base_url, key, flat = arg[1], arg[2], arg[3] == "flat"
local client = B.client(base_url)
local stream, err = client:chat_stream{ messages = { { role = "user", content = "Write a long story." } },
                                        accumulate = not flat }
if not stream then error("bench: chat_stream failed: " .. tostring(err), 0) end
local n = 0
for _ in stream:each() do n = n + 1 end
local heap_kib = collectgarbage("count")   -- the Lua heap at the end of the loop
if flat then
  B.put(key, B.vm_hwm_kib())
  B.put(key .. "_events", n)
  B.put(key .. "_lua_heap_kib", string.format("%.0f", heap_kib))
  return
end
local done = stream:result()
assert(done.choices[1].finish_reason == "stop", "bench: stream did not finish")
B.put(key, B.vm_hwm_kib())
B.put(key .. "_events", n)
B.put(key .. "_lua_heap_kib", string.format("%.0f", heap_kib))
B.put(key .. "_content_bytes", #done.choices[1].message.content)
