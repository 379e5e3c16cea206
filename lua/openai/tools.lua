-- openai.tools: the tool-calling loop above one call.
--
--   local out, err, meta = client:run_tools{ model = ..., messages = { ... },
--     tools = { get_weather = { description = ..., parameters = { ... },
--                               fn = function(args, call) return "sunny" end } },
--     max_rounds = 8, on_tool_error = "report" | "raise" }
--
-- Each round is one model call. When the answer asks for tools, every call
-- of that round runs as a task of its own on the library's scheduler (on
-- ngx.thread light threads inside nginx), so tools that call the API or do
-- I/O through the library overlap; their results go back as tool messages
-- (Responses API: function_call_output items) and the next round starts.
-- An answer without tool calls ends the loop.
--
-- The Responses API form sends the whole input list each round (the
-- caller's input, every output item, every function_call_output) rather
-- than previous_response_id: it works with store = false and on servers
-- that keep no state, and out.input is the whole conversation.

local json = require "openai.json"
local check = require "openai.check"
local errors = require "openai.errors"
local sched = require "openai.scheduler"
local redact = require("openai.secret").redact

local type, pairs, ipairs, tostring, next, error, pcall =
      type, pairs, ipairs, tostring, next, error, pcall
local find, format = string.find, string.format
local sort, table_concat = table.sort, table.concat
local require = require
local ngx = ngx -- luacheck: ignore 113 (set by nginx's lua module)

local _ENV = nil -- luacheck: ignore 211

local M = {}

-- {=================================================================
-- the arguments
-- ==================================================================

-- the fields of run_tools' table that are the runner's, not the request's
local OWN = { tools = true, max_rounds = true, on_tool_error = true, on_text = true,
              messages = true, input = true }

local function check_name(fn, name)
  if type(name) ~= "string" or #name < 1 or #name > 64 or find(name, "[^%w_%-]") then
    check.fail(fn, "tools", "must be keyed by names of 1 to 64 letters, digits, '_' or '-'", name)
  end
end

-- the tools table: checked, with its names in a stable (sorted) order
local function check_tools(fn, tools)
  if type(tools) ~= "table" or next(tools) == nil then
    check.fail(fn, "tools", "must be a non-empty table of tools keyed by name", tools)
  end
  local names = {}
  for name, t in pairs(tools) do
    check_name(fn, name)
    local f = "tools." .. name
    check.table(fn, t, f)
    if type(t.fn) ~= "function" then check.fail(fn, f .. ".fn", "must be a function", t.fn) end
    if t.description ~= nil and type(t.description) ~= "string" then
      check.fail(fn, f .. ".description", "must be a string", t.description)
    end
    check.opt_table(fn, t.parameters, f .. ".parameters")
    if t.strict ~= nil then check.boolean(fn, t.strict, f .. ".strict") end
    names[#names + 1] = name
  end
  sort(names)
  return names
end

-- the tool declarations of the request, in the order of names
local function declarations(tools, names, responses)
  local out = {}
  for i, name in ipairs(names) do
    local t = tools[name]
    local d = { name = name, description = t.description, parameters = t.parameters,
                strict = t.strict }
    out[i] = responses and { type = "function", name = name, description = d.description,
                             parameters = d.parameters, strict = d.strict }
                       or { type = "function", ["function"] = d }
  end
  return json.array(out)
end

-- the checked arguments: the runner's settings, and the request's fields
local function settings(fn, p, responses, streaming)
  check.table(fn, p, "params")
  local names = check_tools(fn, p.tools)
  local s = {
    fn = fn, tools = p.tools, max_rounds = 8, raise = false, on_text = nil,
    decls = declarations(p.tools, names, responses),
  }
  if p.max_rounds ~= nil then s.max_rounds = check.integer_in(fn, p.max_rounds, "max_rounds", 1, 1000000) end
  local ote = p.on_tool_error
  if ote ~= nil and ote ~= "report" and ote ~= "raise" then
    check.fail(fn, "on_tool_error", "must be 'report' or 'raise'", ote)
  end
  s.raise = ote == "raise"
  if streaming then
    if p.on_text ~= nil and type(p.on_text) ~= "function" then
      check.fail(fn, "on_text", "must be a function", p.on_text)
    end
    s.on_text = p.on_text
  elseif p.on_text ~= nil then
    check.fail(fn, "on_text", "is taken by the streaming form only", p.on_text)
  end
  if p.stream ~= nil then check.fail(fn, "stream", "is not taken here: use the _stream form", p.stream) end
  local base = {}
  for k, v in pairs(p) do
    if not OWN[k] then base[k] = v end
  end
  return s, base
end

-- }==================================================================


-- {=================================================================
-- running one round's tool calls as tasks
-- ==================================================================

-- the text a tool's returns become: a string as it is, else its JSON; a
-- tool that returns nil, err failed with err
local function result_text(name, r, rerr)
  if r == nil and rerr ~= nil then error(rerr, 0) end
  if type(r) == "string" then return r end
  return json.encode(r, "openai.run_tools", "the result of tool " .. name)
end

-- the task's function for one call (decoded already); it raises when the
-- tool does
local function call_fn(tool, name, args, raw)
  return function()
    return true, result_text(name, tool.fn(args, raw))
  end
end

-- decode the call's arguments and find its tool: a function to run, or
-- the message that the model is told instead
local function prepare(tools, c)
  local tool = tools[c.name]
  if type(c.name) ~= "string" or tool == nil then
    return nil, format("unknown tool '%s'", tostring(c.name))
  end
  local text = c.arguments
  if text == nil or text == "" or text == json.null then text = "{}" end
  local args = type(text) == "string" and json.decode(text) or nil
  if args == nil then
    return nil, format("the arguments of tool '%s' are not valid JSON", c.name)
  end
  return call_fn(tool, c.name, args, c.raw)
end

-- inside nginx: the calls on light threads, spawned by a light thread of
-- their own (only its spawner may kill a light thread, and the runner's
-- may be killed first): it waits on a semaphore that each call, and the
-- cancelling of the runner's task, posts to; cancelled, it kills them
local function run_ngx(fns, n, nx)
  local sema = require("ngx.semaphore").new()
  local outcomes, left, stop = {}, 0, false
  local function round()
    local threads = {}
    for i = 1, n do
      if fns[i] then
        left = left + 1
        threads[i] = ngx.thread.spawn(function()
          local ok, done, text = pcall(fns[i])
          outcomes[i] = { ok and done == true, ok and text or done }
          left = left - 1
          sema:post(1)
        end)
      end
    end
    while left > 0 and not stop do sema:wait(86400) end
    if stop then
      for _, th in pairs(threads) do ngx.thread.kill(th) end
    end
  end
  local parent = nx.running_task()
  if parent ~= nil then
    parent:on_done(function() stop = true; sema:post(1) end)
  end
  ngx.thread.wait(ngx.thread.spawn(round))
  return outcomes
end

-- run fns (index -> function) as tasks and wait for all of them;
-- outcomes[i] = { ok, value }. A task that ran the caller is cancelled
-- with its tools' tasks
local function run_tasks(fns, n)
  local nx = sched.ngx_tasks()
  if nx then return run_ngx(fns, n, nx) end
  local group, tasks = sched.group(1000000), {}
  for i = 1, n do
    if fns[i] then tasks[i] = sched.spawn_in(group, fns[i]) end
  end
  local parent = sched.running_task()
  if parent ~= nil then
    parent:on_done(function()
      for _, t in pairs(tasks) do t:cancel() end
    end)
  end
  sched.wait_group(group)
  local outcomes = {}
  for i, t in pairs(tasks) do
    outcomes[i] = { t.ok == true and t.res[1] == true, t.res[2] }
  end
  return outcomes
end

local function tool_error(name, call_id, why)
  return errors.new({ kind = "tool", name = "ToolError", tool = name, call_id = call_id,
                      message = format("tool '%s' failed: %s", tostring(name), tostring(why)) })
end

-- the results of the round's calls, in their order: texts[i], or nil, err
-- (on_tool_error = "raise": a call that cannot run, an unknown tool or
-- arguments that are not JSON, stops the round before any tool runs; else
-- the first tool, in the calls' order, that failed)
local function run_calls(s, calls)
  local fns, texts = {}, {}
  for i, c in ipairs(calls) do
    local f, why = prepare(s.tools, c)
    if f == nil then
      if s.raise then return nil, tool_error(c.name, c.id, why) end
      texts[i] = redact("error: " .. why)
    end
    fns[i] = f
  end
  local outcomes = run_tasks(fns, #calls)
  for i, c in ipairs(calls) do
    local o = outcomes[i]
    if o ~= nil then
      if o[1] then
        texts[i] = o[2]
      elseif s.raise then
        return nil, tool_error(c.name, c.id, o[2])
      else
        texts[i] = redact("error: " .. tostring(o[2]))
      end
    end
  end
  return texts
end

-- }==================================================================


-- {=================================================================
-- the loop
-- ==================================================================

-- add the numbers of usage u into acc (nested details too)
local function add_usage(acc, u)
  if type(u) ~= "table" then return acc end
  acc = acc or {}
  for k, v in pairs(u) do
    if type(v) == "number" then
      acc[k] = (type(acc[k]) == "number" and acc[k] or 0) + v
    elseif type(v) == "table" and v ~= json.null then
      acc[k] = add_usage(type(acc[k]) == "table" and acc[k] or nil, v)
    end
  end
  return acc
end

local function copy_array(a)
  local out = {}
  for i = 1, #a do out[i] = a[i] end
  return out
end

local function rounds_error(s, convo)
  local e = errors.new({ kind = "tool_rounds", name = "ToolRoundsError", rounds = s.max_rounds,
    message = format("the model still asked for tools after %d rounds (max_rounds)", s.max_rounds) })
  e.conversation = convo
  return e
end

-- the loop over an API `api` (the chat or Responses form below): ask,
-- run the calls, append their results, until an answer has no calls
local function loop(client, s, base, api, convo)
  local usage, meta
  for round = 1, s.max_rounds do
    local res, err
    res, err, meta = api.ask(client, s, base, convo)
    if res == nil then return nil, err, meta end
    usage = add_usage(usage, res.usage)
    local calls, answer = api.take(res, convo)
    if #calls == 0 then
      local out = api.finish(res, answer, convo)
      out.rounds, out.usage = round, usage
      return out, nil, meta
    end
    if round == s.max_rounds then return nil, rounds_error(s, convo), meta end
    local texts, terr = run_calls(s, calls)
    if texts == nil then return nil, terr, meta end
    for i, c in ipairs(calls) do convo[#convo + 1] = api.result(c, texts[i]) end
  end
end

-- }==================================================================


-- {=================================================================
-- streaming: the text of each round as it comes
-- ==================================================================

-- read stream st to its end, handing each text delta to on_text; the
-- assembled result, or nil, err. An error of on_text is the caller's: it
-- goes on up, the stream closed first
local function read_stream(st, on_text, delta_of)
  while true do
    local ok, ev = pcall(st.next, st)
    if not ok then st:close(); return nil, ev end
    if ev == nil then break end
    local d = delta_of(ev)
    if d ~= nil and on_text ~= nil then
      local fine, err = pcall(on_text, d)
      if not fine then st:close(); error(err, 0) end
    end
  end
  local ok, res = pcall(st.result, st)
  if not ok then return nil, res end
  return res
end

local function chat_delta(ev)
  local ch = ev.choices
  local c = type(ch) == "table" and ch[1] or nil
  if type(c) ~= "table" or c.index ~= 0 or type(c.delta) ~= "table" then return nil end
  local d = c.delta.content
  if type(d) == "string" and d ~= "" then return d end
  return nil
end

local function response_delta(ev)
  if ev.type == "response.output_text.delta" and type(ev.delta) == "string" then return ev.delta end
  return nil
end

-- }==================================================================


-- {=================================================================
-- Chat Completions and Responses
-- ==================================================================

local function request_of(base, field, convo, decls)
  local b = {}
  for k, v in pairs(base) do b[k] = v end
  b[field], b.tools = convo, decls
  return b
end

local CHAT = {}

function CHAT.ask(client, s, base, convo)
  local b = request_of(base, "messages", convo, s.decls)
  if not s.streaming then return client:chat(b) end
  if b.stream_options == nil then b.stream_options = { include_usage = true } end
  local st, err, meta = client:chat_stream(b)
  if st == nil then return nil, err, meta end
  local res, serr = read_stream(st, s.on_text, chat_delta)
  return res, serr, meta
end

-- the calls of the answer (its message appended to the conversation)
function CHAT.take(res, convo)
  local ch = type(res.choices) == "table" and res.choices[1] or nil
  local msg = type(ch) == "table" and ch.message or nil
  if type(msg) ~= "table" then return {}, nil end
  convo[#convo + 1] = msg
  local calls = {}
  if type(msg.tool_calls) == "table" then
    for i, tc in ipairs(msg.tool_calls) do
      local f = type(tc) == "table" and tc["function"] or nil
      calls[i] = { id = tc.id, name = type(f) == "table" and f.name or nil,
                   arguments = type(f) == "table" and f.arguments or nil, raw = tc }
    end
  end
  return calls, msg
end

function CHAT.result(c, text)
  return { role = "tool", tool_call_id = c.id, content = text }
end

function CHAT.finish(res, msg, convo)
  return { message = msg, messages = convo, response = res }
end

local RESPONSES = {}

function RESPONSES.ask(client, s, base, convo)
  local b = request_of(base, "input", convo, s.decls)
  if not s.streaming then return client:response(b) end
  local st, err, meta = client:response_stream(b)
  if st == nil then return nil, err, meta end
  local res, serr = read_stream(st, s.on_text, response_delta)
  return res, serr, meta
end

-- every output item goes back as input; the function_call ones are run
function RESPONSES.take(res, convo)
  local calls = {}
  if type(res.output) ~= "table" then return calls end
  for _, item in ipairs(res.output) do
    convo[#convo + 1] = item
    if type(item) == "table" and item.type == "function_call" then
      calls[#calls + 1] = { id = item.call_id, name = item.name, arguments = item.arguments, raw = item }
    end
  end
  return calls
end

function RESPONSES.result(c, text)
  return { type = "function_call_output", call_id = c.id, output = text }
end

-- the answer's text: every output_text part of its message items
local function output_text(res)
  local parts = {}
  for _, item in ipairs(res.output or {}) do
    if type(item) == "table" and item.type == "message" and type(item.content) == "table" then
      for _, c in ipairs(item.content) do
        if type(c) == "table" and c.type == "output_text" and type(c.text) == "string" then
          parts[#parts + 1] = c.text
        end
      end
    end
  end
  return table_concat(parts)
end

function RESPONSES.finish(res, _, convo)
  return { response = res, text = output_text(res), input = convo }
end

-- }==================================================================

local function run(client, p, fn, api, streaming)
  local s, base = settings(fn, p, api == RESPONSES, streaming)
  s.streaming = streaming
  local convo
  if api == CHAT then
    check.nonempty_array(fn, p.messages, "messages")
    convo = copy_array(p.messages)
  elseif type(p.input) == "string" then
    convo = { { role = "user", content = p.input } }
  else
    check.nonempty_array(fn, p.input, "input")
    convo = copy_array(p.input)
  end
  return loop(client, s, base, api, convo)
end

function M.run_tools(client, p)
  return run(client, p, "openai.run_tools", CHAT, false)
end

function M.run_tools_stream(client, p)
  return run(client, p, "openai.run_tools_stream", CHAT, true)
end

function M.run_response_tools(client, p)
  return run(client, p, "openai.run_response_tools", RESPONSES, false)
end

function M.run_response_tools_stream(client, p)
  return run(client, p, "openai.run_response_tools_stream", RESPONSES, true)
end

return M
