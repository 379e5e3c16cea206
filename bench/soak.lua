-- bench/soak.lua BASE_URL CLOSED_URL N: a soak run of N calls mixing
-- successes, retries and errors, with the process's resident set
-- (VmRSS) and open file descriptors sampled every N/10 calls. Against nginx:
--   /soak/v1/chat/completions   200, a chat.completion   (6 in 10 calls)
--   /soak/v1/e500               500: retried once, then the error
--   /soak/v1/e404               404: an api error, not retried
--   /soak/v1/notjson            200 with a body that is not JSON: decode error
--   /soak/v1/e429               429 with retry-after-ms: 1, retried twice
-- plus, every 1,000 calls, one refused connection (CLOSED_URL) and one
-- openai.parallel batch of 10 mixed calls. Prints key=value lines.
local dir = arg[0]:match("^(.*)/[^/]*$") or "."
local B = dofile(dir .. "/common.lua")
local openai = require "openai"

local base_url, closed_url, n = arg[1], arg[2], tonumber(arg[3]) or 100000
local client = openai.new{ api_key = "sk-bench", base_url = base_url }
local refused = openai.new{ api_key = "sk-bench", base_url = closed_url, max_retries = 0 }
local msgs = { { role = "user", content = "Hello" } }

local function rss_kib()
  local f = assert(io.open("/proc/self/status", "r"))
  local s = f:read("a")
  f:close()
  return tonumber(s:match("VmRSS:%s*(%d+)"))
end

local function open_fds()
  local ok, lfs = pcall(require, "lfs")
  local count = 0
  if ok then
    for name in lfs.dir("/proc/self/fd") do
      if name ~= "." and name ~= ".." then count = count + 1 end
    end
    return count - 1             -- the directory handle lfs.dir holds open
  end
  local p = assert(io.popen("ls /proc/$PPID/fd | wc -l"))
  count = tonumber(p:read("a"))
  p:close()
  return count
end

local kinds = {}
local function tally(res, err)
  local k = res and "ok" or (err.kind .. (err.status and ("_" .. err.status) or ""))
  kinds[k] = (kinds[k] or 0) + 1
end

-- one call of the mix, by its number
local function call(i)
  local r = i % 10
  if r <= 5 then return client:chat{ messages = msgs } end
  if r == 6 then return client:request{ url = "/v1/e500", max_retries = 1 } end
  if r == 7 then return client:request{ url = "/v1/e404" } end
  if r == 8 then return client:request{ url = "/v1/notjson" } end
  return client:request{ url = "/v1/e429", max_retries = 2, exponential_backoff = true }
end

local samples_rss, samples_fd = {}, {}
local every = math.max(1, n // 10)
local t0 = B.now_ms()
local i = 0
while i < n do
  if i % 1000 == 999 then
    tally(refused:models())
    local fns = {}
    for j = 1, 10 do fns[j] = function() return call(i + j) end end
    for _, slot in ipairs(openai.parallel(fns, { concurrency = 4 })) do tally(slot[1], slot[2]) end
    i = i + 11
  else
    tally(call(i))
    i = i + 1
  end
  if i % every < 11 and #samples_rss < i // every then
    collectgarbage()
    samples_rss[#samples_rss + 1] = rss_kib()
    samples_fd[#samples_fd + 1] = open_fds()
  end
end
local secs = (B.now_ms() - t0) / 1000

B.put("soak_calls", i)
B.put("soak_seconds", string.format("%.1f", secs))
B.put("soak_rss_kib", table.concat(samples_rss, ","))
B.put("soak_fds", table.concat(samples_fd, ","))
local names = {}
for k in pairs(kinds) do names[#names + 1] = k end
table.sort(names)
local parts = {}
for _, k in ipairs(names) do parts[#parts + 1] = k .. ":" .. kinds[k] end
B.put("soak_outcomes", table.concat(parts, " "))
B.put("soak_live", openai.stats().live)
