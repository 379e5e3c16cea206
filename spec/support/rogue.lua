-- spec/support/rogue.lua: start spec/support/rogue.py (a raw HTTP/1.1
-- server that breaks the protocol on purpose, chosen by the request path)
-- on a free loopback port.
--
--   local rogue = require "support.rogue"
--   local srv = rogue.start()     -- srv.url ("http://127.0.0.1:PORT"), srv.port
--   srv:count()                   -- { requests, connections, body_bytes }
--   srv:stop()
local socket = require "socket"
local cjson = require "cjson"
local H = require "support.helper"

local R = {}

local Server = {}
Server.__index = Server

-- what the server has seen so far
function Server:count()
  local c = assert(socket.tcp())
  c:settimeout(5)
  assert(c:connect("127.0.0.1", self.port))
  assert(c:send("GET /_count HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
  local data = c:receive("*a")
  c:close()
  return cjson.decode(data:match("\r\n\r\n(.*)$"))
end

function Server:stop()
  if self.pid then H.run("kill " .. self.pid .. " 2>/dev/null") end
  self.pid = nil
  os.remove(self.port_file)
end

function R.start()
  local port_file = os.tmpname()
  os.remove(port_file)
  local p = assert(io.popen(("python3 spec/support/rogue.py --port-file %s >/dev/null 2>&1 & echo $!")
                            :format(port_file)))
  local pid = p:read("*l")
  p:close()
  local deadline = socket.gettime() + 10
  while socket.gettime() < deadline do
    local s = H.read_file(port_file)
    if s and s:match("^%d+$") then
      local port = tonumber(s)
      return setmetatable({ pid = pid, port = port, port_file = port_file,
                            url = "http://127.0.0.1:" .. port }, Server)
    end
    socket.sleep(0.02)
  end
  H.run("kill " .. pid .. " 2>/dev/null")
  error("spec/support/rogue.py did not start")
end

return R
