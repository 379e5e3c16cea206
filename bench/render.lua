-- bench/render.lua TEMPLATE OUT KEY=VALUE... : copy TEMPLATE to OUT with
-- each @KEY@ replaced by VALUE (KEY=<FILE takes the value from FILE, its
-- trailing newline dropped). A placeholder left unreplaced is an error.
local src, dst = arg[1], arg[2]
local f = assert(io.open(src, "rb"))
local text = f:read("a")
f:close()
for i = 3, #arg do
  local k, v = arg[i]:match("^([%w_]+)=(.*)$")
  assert(k, "bad argument: " .. arg[i])
  if v:sub(1, 1) == "<" then
    local g = assert(io.open(v:sub(2), "rb"))
    v = g:read("a"):gsub("\n$", "")
    g:close()
  end
  text = text:gsub("@" .. k .. "@", function() return v end)
end
local left = text:match("@[%u_]+@")
if left then error("render.lua: " .. src .. ": " .. left .. " has no value", 0) end
f = assert(io.open(dst, "wb"))
f:write(text)
f:close()
