-- bench/upload_mem.lua URL FILE MB KEY: write a file of MB MiB, upload it as
-- a multipart part by path (libcurl reads it from disk as it sends) to URL
-- (nettool.py sink, which answers {"received": N}), in a fresh process;
-- print KEY=<VmHWM growth during the upload, KiB> and KEY_received=<bytes the
-- server read>. The file is removed afterwards.
local dir = arg[0]:match("^(.*)/[^/]*$") or "."
local B = dofile(dir .. "/common.lua")
local core = require "openai.core"

local url, path, mb, key = arg[1], arg[2], tonumber(arg[3]), arg[4]
local f = assert(io.open(path, "wb"))
local block = string.rep("0123456789abcdef", 65536)     -- 1 MiB
for _ = 1, mb do f:write(block) end
f:close()
block = nil   -- luacheck: ignore 311

local e = core.engine()
local function upload(part)
  local t = e:submit({ method = "POST", url = url, parts = { part } })
  while not t:ready() do e:step(100) end
  local r = t:result()
  t:close()
  assert(r.status == 200, "bench: upload failed: " .. tostring(r.message or r.status))
  return r
end
upload({ name = "file", data = "warm", filename = "warm.bin" })   -- curl's state allocated
collectgarbage()
collectgarbage()
local before = B.vm_hwm_kib()
local r = upload({ name = "file", path = path, filename = "big.bin", type = "application/octet-stream" })
B.put(key, B.vm_hwm_kib() - before)
B.put(key .. "_received", r.body:match('"received": (%d+)'))
e:close()
os.remove(path)
