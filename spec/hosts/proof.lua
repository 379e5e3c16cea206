-- spec/hosts/proof.lua: what the host proofs (spec/hosts/love/main.lua,
-- spec/hosts/nvim.lua) share: the scenarios they run against the stand-in,
-- and a runner that starts them one after the other from the host's ticks
-- (LÖVE frames, a Neovim timer) and measures the longest gap between ticks
-- while each call is in flight. Written for LuaJIT / 5.1.
--
-- Environment: OPENAI_STANDIN_URL (the stand-in, required), OPENAI_HOST_MODE
-- ("pump": calls run as tasks (openai.spawn), driven by the host's driver:
-- openai.step(0) per LÖVE frame, openai.luv in Neovim; "block": the call is
-- made right in the tick, the way a host would without a scheduler),
-- OPENAI_HOST_SCENARIOS (space-separated, from SCENARIOS below), OPENAI_HOST_RUNS
-- (runs of each, default 1).
--
-- Output: key=value lines on stdout (the form bench/run.sh collects), keys
-- <host>_<mode>_<scenario>_<what>: ok (true when the answer is the expected
-- one), error, ms (how long the call took), ticks (host ticks while it was in
-- flight), gap_ms (the longest gap between two of those ticks); over several
-- runs: medians, the fewest ticks, and gap_ms_runs (each run's gap).

local openai = require "openai"

local P = {}

local STANDIN = os.getenv("OPENAI_STANDIN_URL")
local KEY = "sk-" .. string.rep("hostproofA1b2C3d4", 3)   -- a legacy key's shape: sk- + 48

-- the stand-in's control API, through the library's own raw request
local function script(ctx, responses)
  local res, err = ctx.control:request { method = "POST", url = "/_control/script",
                                         data = { path = ctx.chat_path, responses = responses } }
  if not res then error("proof: cannot script the stand-in: " .. tostring(err), 0) end
end

-- the scripted answer of the plain call
local ANSWER = "pong from the stand-in"
local function completion()
  return { id = "chatcmpl-host", object = "chat.completion", created = 1700000000, model = "gpt-4.1",
           choices = { { index = 0, message = { role = "assistant", content = ANSWER, refusal = openai.null },
                         logprobs = openai.null, finish_reason = "stop" } },
           usage = { prompt_tokens = 4, completion_tokens = 4, total_tokens = 8 } }
end

-- a chat.completion.chunk of the scripted stream
local function chunk(delta, finish)
  return { data = { id = "chatcmpl-host", object = "chat.completion.chunk", created = 1700000000,
                    model = "gpt-4.1", choices = { { index = 0, delta = delta, logprobs = openai.null,
                                                     finish_reason = finish or openai.null } } } }
end

-- the 200 events of the stream: a role, 197 words, the finish, [DONE]
local STREAM_WORDS = 197
local function stream_events()
  local ev, words = { chunk({ role = "assistant", content = "" }) }, {}
  for i = 1, STREAM_WORDS do
    words[i] = "w" .. i .. " "
    ev[#ev + 1] = chunk({ content = words[i] })
  end
  ev[#ev + 1] = chunk({}, "stop")
  ev[#ev + 1] = { data = "[DONE]" }
  return ev, table.concat(words)
end

-- name -> { prepare(ctx) = script the stand-in, run(ctx) = the call: ok, detail }
-- ctx: { client, control, chat_path }; each host has its own path on the
-- stand-in (/<host>/v1/...), so that two hosts may run at once
P.SCENARIOS = {
  -- a plain chat the stand-in answers after 2 s
  call = {
    prepare = function(ctx)
      script(ctx, { { delay_ms = 2000, json = completion() } })
    end,
    run = function(ctx)
      local res, err = ctx.client:chat { messages = { { role = "user", content = "ping" } } }
      if not res then return false, tostring(err) end
      local content = res.choices[1].message.content
      return content == ANSWER, content
    end,
  },
  -- a streamed chat of 200 events, 10 ms apart (about 2 s)
  stream = {
    prepare = function(ctx)
      local ev
      ev, ctx.expected = stream_events()
      script(ctx, { { sse = ev, sse_delay_ms = 10 } })
    end,
    run = function(ctx)
      local s, err = ctx.client:chat_stream { messages = { { role = "user", content = "count" } } }
      if not s then return false, tostring(err) end
      local chunks = 0
      while s:next() ~= nil do chunks = chunks + 1 end   -- `while`: portable to 5.1 (no yield in for-in)
      local text = s:text()
      return text == ctx.expected and chunks == STREAM_WORDS + 2, chunks .. " chunks, " .. #text .. " bytes"
    end,
  },
}

local function put(key, value)
  io.stdout:write(key, "=", tostring(value), "\n")
  io.stdout:flush()
end
P.put = put

-- the median of a list of numbers
local function median(list)
  local s = {}
  for k = 1, #list do s[k] = list[k] end
  table.sort(s)
  local n = #s
  if n % 2 == 1 then return s[(n + 1) / 2] end
  return (s[n / 2] + s[n / 2 + 1]) / 2
end

-- the lines of one scenario over its runs: ok only when every run was right;
-- the median duration and gap (a single worst gap is noisy on a shared
-- machine), the fewest ticks, and each run's gap
local function report(prefix, name, runs)
  local p = prefix .. name .. "_"
  local ok, ms, gaps, ticks = true, {}, {}, nil
  for k, run in ipairs(runs) do
    if run.ok ~= true then
      ok = false
      put(p .. "error", (tostring(run.detail):gsub("[\r\n]", " ")))
    end
    ms[k], gaps[k] = run.ms, run.gap
    if ticks == nil or run.ticks < ticks then ticks = run.ticks end
  end
  local list = {}
  for k, g in ipairs(gaps) do list[k] = string.format("%.1f", g) end
  put(p .. "ok", ok)
  put(p .. "ms", string.format("%.0f", median(ms)))
  put(p .. "ticks", ticks)
  put(p .. "gap_ms", string.format("%.1f", median(gaps)))
  put(p .. "gap_ms_runs", table.concat(list, ","))
end

-- the scenarios named in OPENAI_HOST_SCENARIOS, each OPENAI_HOST_RUNS times
-- (default 1), in turn
local function plan()
  local names, order = {}, {}
  for name in (os.getenv("OPENAI_HOST_SCENARIOS") or "call stream"):gmatch("%S+") do
    if not P.SCENARIOS[name] then error("proof: no scenario " .. name, 0) end
    names[#names + 1] = name
  end
  local runs = tonumber(os.getenv("OPENAI_HOST_RUNS") or "") or 1
  for name_i = 1, #names do
    for _ = 1, runs do order[#order + 1] = names[name_i] end
  end
  return names, order
end

-- runner(host, now, driver): now is the host's clock in ms; driver names
-- what drives the tasks (for the output); r.tick() once per host tick (true
-- once every scenario is done and its lines are printed); r.pump() is
-- openai.step(0), for a host that steps the tasks itself (never blocks)
function P.runner(host, now, driver)
  local mode = os.getenv("OPENAI_HOST_MODE") or "pump"
  if mode ~= "pump" and mode ~= "block" then error("proof: OPENAI_HOST_MODE must be pump or block", 0) end
  if not STANDIN then error("proof: OPENAI_STANDIN_URL is not set", 0) end
  local names, order = plan()
  local prefix = host .. "_" .. mode .. "_"
  local ctx = {
    control = openai.new { api_key = KEY, base_url = STANDIN },
    client = openai.new { api_key = KEY, base_url = STANDIN .. "/" .. host .. "/v1", max_retries = 0 },
    chat_path = "/" .. host .. "/v1/chat/completions",
  }
  put(prefix .. "driver", mode == "block" and "none" or driver or "openai.step")

  local r, i = {}, 0
  local cur            -- the run in flight: { name, task | outcome, started, last, gap, ticks }
  local done = {}      -- name -> its finished runs: { ok, detail, ms, ticks, gap }

  local function start()
    i = i + 1
    local name = order[i]
    local sc = P.SCENARIOS[name]
    sc.prepare(ctx)
    local t = now()
    cur = { name = name, started = t, last = t, gap = 0, ticks = 0 }
    if mode == "pump" then
      cur.task = openai.spawn(sc.run, ctx)
    else
      cur.outcome = { pcall(sc.run, ctx) }          -- blocks this tick for the whole call
    end
  end

  -- the outcome of the run in flight, once it is there
  local function outcome()
    if cur.outcome then
      local o = cur.outcome
      if not o[1] then return true, false, o[2] end
      return true, o[2], o[3]
    end
    if not cur.task:done() then return false end
    return true, cur.task:result()
  end

  local function finished()
    for _, name in ipairs(names) do report(prefix, name, done[name]) end
    return true
  end

  function r.tick()
    if cur == nil then
      if i == #order then return finished() end
      start()
      return false
    end
    local t = now()
    if t - cur.last > cur.gap then cur.gap = t - cur.last end
    cur.last = t
    cur.ticks = cur.ticks + 1
    local over, ok, detail = outcome()
    if over then
      local list = done[cur.name] or {}
      done[cur.name] = list
      list[#list + 1] = { ok = ok, detail = detail, ms = t - cur.started, ticks = cur.ticks, gap = cur.gap }
      cur = nil
      if i == #order then return finished() end
    end
    return false
  end

  function r.pump()
    if mode == "pump" then openai.step(0) end
  end

  return r
end

return P
