-- bench/file_mem.lua BASE_URL SIZE_MB: in a fresh process, upload a SIZE_MB
-- file from its path (client:upload_file, streamed from disk by libcurl)
-- and download SIZE_MB to a path (client:file_content(id, { path })), then
-- print file_base_kib (VmHWM before), file_up_kib, file_down_kib (VmHWM
-- after each). Needs the C core's file paths (parts[i].path, to_path):
-- without them it prints file_skipped=1.
local dir = arg[0]:match("^(.*)/[^/]*$") or "."
local B = dofile(dir .. "/common.lua")
local core = require "openai.wire"

local base_url, size_mb = arg[1], tonumber(arg[2] or "100")
if not core.f32_base64 then
  B.put("file_skipped", 1)
  return
end
local client = B.client(base_url)

local src, dst = os.tmpname(), os.tmpname()
local f = assert(io.open(src, "wb"))
local block = string.rep("0123456789abcdef", 65536)          -- 1 MiB
for _ = 1, size_mb do f:write(block) end
f:close()
block = nil -- luacheck: ignore 311
collectgarbage("collect")

B.put("file_base_kib", B.vm_hwm_kib())
local up, err = client:upload_file{ file = src, purpose = "batch", timeout = 120000 }
os.remove(src)
B.check(up, err)
B.put("file_up_kib", B.vm_hwm_kib())
local down, derr = client:file_content("file-bench", { path = dst, timeout = 120000 })
B.check(down, derr)
B.put("file_down_kib", B.vm_hwm_kib())
B.put("file_down_bytes", down.bytes)
os.remove(dst)
