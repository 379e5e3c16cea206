-- spec/windows/runner.lua: a small test runner in the Lua that 5.1-5.4 and
-- LuaJIT share, for where busted is not installed (Lua on Windows, under
-- wine). A suite file calls it(name, fn) through the table this module
-- returns; run(files) loads each file, runs its tests in order, prints
-- "ok N name" or "not ok N name: error" per test and the closing line
-- "N passed, N failed", and returns the number failed.
local R = {}

local tests = {}

-- register a test: fn raises (error, assert) to fail
function R.it(name, fn)
  tests[#tests + 1] = { name = name, fn = fn }
end

-- a value equal to expected, else an error naming what
function R.eq(got, expected, what)
  if got ~= expected then
    error(string.format("%s: expected %s, got %s", what or "value", tostring(expected), tostring(got)), 2)
  end
end

-- run every test registered by the files, in order
function R.run(files)
  for _, f in ipairs(files) do
    local chunk = assert(loadfile(f))
    chunk(R)
  end
  local passed, failed = 0, 0
  for i, t in ipairs(tests) do
    local ok, err = xpcall(t.fn, debug.traceback)
    if ok then
      passed = passed + 1
      io.write("ok ", i, " ", t.name, "\n")
    else
      failed = failed + 1
      io.write("not ok ", i, " ", t.name, ": ", tostring(err), "\n")
    end
    io.flush()
  end
  io.write(passed, " passed, ", failed, " failed\n")
  return failed
end

return R
