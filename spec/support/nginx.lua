-- spec/support/nginx.lua: a real nginx for the specs. Debian's nginx with
-- its lua module (libnginx-mod-http-lua, LuaJIT, with lua-resty-core),
-- worker_processes 1, everything in a temporary directory, on a free
-- loopback port, with this checkout's lua/ and the LuaJIT build of the core
-- (build/luajit/openai/wire.so and core.so, `make` builds them) on the module paths.
-- The workers run as the user running the specs (nginx started by root
-- would run them as nobody, who cannot read a checkout in a 0700 home).
--
--   local nginx = require "support.nginx"
--   local srv = nginx.start{ locations = [[ location /t { content_by_lua_block { ... } } ]] }
--   ... srv.url ... srv:error_log() ...
--   srv:stop()
local socket = require "socket"
local H = require "support.helper"
local run, read_file, write_file, free_port = H.run, H.read_file, H.write_file, H.free_port

local N = {}

N.binary = "/usr/sbin/nginx"
N.modules = { "/usr/lib/nginx/modules/ndk_http_module.so",
              "/usr/lib/nginx/modules/ngx_http_lua_module.so" }

local function sh_quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

local function read_command(cmd)
  local p = assert(io.popen(cmd))
  local line = p:read("*l")
  p:close()
  assert(line and line ~= "", cmd .. " printed nothing")
  return line
end

local function checkout()
  return read_command("pwd")
end

local function temp_dir()
  return read_command("mktemp -d /tmp/openai-nginx.XXXXXX")
end

-- the "user" directive that keeps the workers as ourselves: nginx started
-- by root switches them to nobody unless told; started by anyone else it
-- cannot switch (and warns about the directive), so it gets none
local function user_directive()
  if read_command("id -u") ~= "0" then return "" end
  return ("user %s %s;"):format(read_command("id -un"), read_command("id -gn"))
end

-- the nginx.conf text. opts.http: more http-level directives;
-- opts.locations: the server's locations (and other server directives);
-- opts.worker_connections (default 256)
function N.config(dir, port, root, opts)
  local mods = {}
  for i, m in ipairs(N.modules) do mods[i] = "load_module " .. m .. ";" end
  local temp = {}
  for _, k in ipairs({ "client_body", "proxy", "fastcgi", "uwsgi", "scgi" }) do
    temp[#temp + 1] = ("  %s_temp_path %s/%s;"):format(k, dir, k)
  end
  return table.concat({
    table.concat(mods, "\n"),
    user_directive(),
    "worker_processes 1;",
    "pid " .. dir .. "/nginx.pid;",
    "error_log " .. dir .. "/error.log " .. (opts.log_level or "warn") .. ";",
    "events { worker_connections " .. (opts.worker_connections or 256) .. "; }",
    "http {",
    "  access_log off;",
    table.concat(temp, "\n"),
    -- the checkout first, then Debian's /usr/share/lua/5.1 (resty.core lives there)
    ('  lua_package_path "%s/lua/?.lua;%s/lua/?/init.lua;/usr/share/lua/5.1/?.lua;/usr/share/lua/5.1/?/init.lua;;";')
      :format(root, root),
    ('  lua_package_cpath "%s/build/luajit/?.so;;";'):format(root),
    opts.http or "",
    "  server {",
    "    listen 127.0.0.1:" .. port .. ";",
    opts.locations or "",
    "  }",
    "}",
    "",
  }, "\n")
end

local Server = {}
Server.__index = Server

-- the error log so far (where a failed Lua handler says why)
function Server:error_log()
  return read_file(self.dir .. "/error.log") or ""
end

local function pid_of(dir)
  local s = read_file(dir .. "/nginx.pid")
  return s and tonumber(s:match("%d+"))
end

local function alive(pid)
  return run("kill -0 " .. pid .. " 2>/dev/null")
end

-- stop nginx (the master it started, by its pid) and remove the directory
function Server:stop()
  if self.stopped then return end
  self.stopped = true
  local pid = pid_of(self.dir)
  if pid then
    run("kill -TERM " .. pid .. " 2>/dev/null")
    local deadline = socket.gettime() + 10
    while alive(pid) and socket.gettime() < deadline do socket.sleep(0.02) end
    if alive(pid) then run("kill -KILL " .. pid .. " 2>/dev/null") end
  end
  run("rm -rf " .. sh_quote(self.dir))
end

local function accepting(port)
  local c = socket.tcp()
  c:settimeout(0.2)
  local ok = c:connect("127.0.0.1", port)
  c:close()
  return ok ~= nil
end

-- start nginx (as a daemon with a pid file; `make` must have built the
-- LuaJIT core). Returns a server { url, port, dir }, or raises with the
-- error log.
function N.start(opts)
  opts = opts or {}
  local root = checkout()
  assert(read_file(root .. "/build/luajit/openai/wire.so"),
         "build/luajit/openai/wire.so is missing: run `make`")
  local last
  for _ = 1, 3 do   -- a free port may be taken between the check and the bind
    local dir, port = temp_dir(), free_port()
    write_file(dir .. "/nginx.conf", N.config(dir, port, root, opts))
    -- not the sanitizer preload of `make check`: nginx is not built for it
    local cmd = ("env -u LD_PRELOAD %s -p %s -c %s/nginx.conf -e %s/error.log >%s/start.out 2>&1")
      :format(N.binary, sh_quote(dir), sh_quote(dir), sh_quote(dir), sh_quote(dir))
    local srv = setmetatable({ dir = dir, port = port, url = "http://127.0.0.1:" .. port }, Server)
    if run(cmd) then
      local deadline = socket.gettime() + 10
      while socket.gettime() < deadline do
        if accepting(port) then return srv end
        socket.sleep(0.02)
      end
    end
    last = (read_file(dir .. "/start.out") or "") .. srv:error_log()
    srv:stop()
  end
  error("nginx did not start:\n" .. last)
end

return N
