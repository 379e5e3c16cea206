-- rockspec/test.lua: the rock's own test, what `luarocks test` runs (from
-- the checkout, after `luarocks make`). It needs nothing but the rock and
-- its dependencies (Lua, libcurl, lua-cjson): it loads the installed module
-- `openai`, checks a bad argument is refused before anything is sent, and
-- makes a call through libcurl to a closed loopback port. When python3 is
-- there it also starts the bundled stand-in (spec/support/standin.py) and
-- makes a call and a stream against it. Prints "N passed, N failed" and
-- exits non-zero on a failure.
local passed, failed = 0, 0

local function check(name, ok, detail)
  if ok then
    passed = passed + 1
    print("ok   " .. name)
  else
    failed = failed + 1
    print("FAIL " .. name .. (detail and (": " .. tostring(detail)) or ""))
  end
end

-- os.execute returns true (5.2+) or 0 (5.1, LuaJIT without 5.2 compat)
local function sh(cmd)
  local r = os.execute(cmd)
  return r == true or r == 0
end

local function read_line(cmd)
  local p = io.popen(cmd)
  if not p then return nil end
  local line = p:read("*l")
  p:close()
  return line
end

local VER = _VERSION:match("%d+%.%d+")

-- the installed module: as the paths find it, else in the trees LuaRocks
-- knows for this Lua (`luarocks make` as a user installs into ~/.luarocks,
-- which is not on the default paths)
local function load_openai()
  local ok, mod = pcall(require, "openai")
  if ok then return mod end
  local lr_path = read_line("luarocks --lua-version=" .. VER .. " path --lr-path 2>/dev/null")
  local lr_cpath = read_line("luarocks --lua-version=" .. VER .. " path --lr-cpath 2>/dev/null")
  if lr_path and lr_cpath then
    package.path = lr_path .. ";" .. package.path
    package.cpath = lr_cpath .. ";" .. package.cpath
    ok, mod = pcall(require, "openai")
    if ok then return mod end
  end
  print("FAIL require 'openai': " .. tostring(mod))
  print("(run `luarocks make` on the rockspec first)")
  os.exit(1)
end

local openai = load_openai()
print(("openai %s on %s"):format(tostring(openai.VERSION), jit and jit.version or _VERSION))

-- this rock's module, not another rock's `openai`: ours has the C core
local curl_ok, curl_version = pcall(function() return openai.curl_version end)
check("openai.core loads (libcurl " .. tostring(curl_version) .. ")",
      curl_ok and type(curl_version) == "string", curl_version)
check("openai.wire loads", pcall(require, "openai.wire"))

-- a bad argument: a Lua error naming the function and the field
local bad_ok, bad_err = pcall(openai.new, { api_key = "sk-rock", base_url = "ftp://example.com/v1" })
check("openai.new refuses an ftp:// base_url",
      not bad_ok and tostring(bad_err):find("openai.new: 'base_url' must be an http:// or https:// URL", 1, true),
      bad_err)

-- a real transfer that cannot connect: nil, err, meta, and no part of the key
local KEY = "sk-rocktest-" .. ("k"):rep(60)
local c = openai.new{ api_key = KEY, base_url = "http://127.0.0.1:1/v1", max_retries = 0, timeout = 5000 }
local res, err, meta = c:models()
check("a call to a closed port returns nil, err (kind connection)",
      res == nil and type(err) == "table" and err.kind == "connection" and type(meta) == "table", err)
check("the error text shows no part of the key", not tostring(err):find("rocktest", 1, true), err)

-- the stand-in, when python3 is here
local function start_standin()
  if not sh("command -v python3 >/dev/null 2>&1") then return nil, "python3 is not installed" end
  local script = "spec/support/standin.py"
  local f = io.open(script)
  if not f then return nil, script .. " is not here (run from the checkout)" end
  f:close()
  local dir = read_line("mktemp -d")
  if not dir or dir == "" then return nil, "mktemp failed" end
  sh(("python3 %s --host 127.0.0.1 --port 0 --port-file %s/port > %s/log 2>&1 & echo $! > %s/pid")
     :format(script, dir, dir, dir))
  for _ = 1, 100 do
    local p = io.open(dir .. "/port")
    local port = p and p:read("*l")
    if p then p:close() end
    if port and port ~= "" then return { dir = dir, port = port } end
    sh("sleep 0.1")
  end
  return nil, "the stand-in did not start"
end

local standin, why = start_standin()
if not standin then
  print("(skipped the calls against the bundled stand-in: " .. why .. ")")
else
  local s = openai.new{ api_key = KEY, base_url = "http://127.0.0.1:" .. standin.port .. "/v1" }
  local r, e = s:chat{ messages = { { role = "user", content = "Hi rock" } } }
  check("chat against the stand-in", r and r.choices[1].message.content == "You said: Hi rock", e)
  local st, se = s:chat_stream{ messages = { { role = "user", content = "Stream rock" } } }
  local text = st and st:result() and st:text()
  check("chat_stream against the stand-in", text == "You said: Stream rock", se or text)
  sh(("kill $(cat %s/pid) 2>/dev/null; rm -rf %s"):format(standin.dir, standin.dir))
end

print(("%d passed, %d failed"):format(passed, failed))
os.exit(failed == 0 and 0 or 1)
