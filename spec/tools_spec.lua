-- client:run_tools and its Responses and streaming forms: the tool-calling
-- loop against the stand-in, which scripts the model's tool calls and
-- answers "You said: <results>" once the tools' results come back; its
-- request log shows what was sent back each round.

local H = require "support.helper"
local openai = require "openai"

local CHAT, RESP, ECHO = "/v1/chat/completions", "/v1/responses", "/v1/echo"

local function weather_tools(log)
  return {
    get_weather = {
      description = "The weather in a city",
      parameters = { type = "object", properties = { city = { type = "string" } } },
      fn = function(args, call)
        if log then log[#log + 1] = { args = args, call = call } end
        return "sunny in " .. tostring(args.city)
      end,
    },
  }
end

local function bodies(path)
  local out = {}
  for _, r in ipairs(H.requests()) do
    if r.path == path then out[#out + 1] = r.json end
  end
  return out
end

-- drive the scheduler until task is done (bounded)
local function finish(task)
  local until_ms = H.now() + 10000
  while not task:done() and H.now() < until_ms do openai.step(10) end
  assert.is_true(task:done())
  return task:result()
end

-- two tools that each make a call the stand-in answers after 300 ms
local function slow_tools(client)
  local function slow(args)
    local res, err = client:request{ url = "/v1/echo", method = "POST", data = { who = args.who } }
    if not res then return nil, err end
    return "done " .. res.json.who
  end
  return { slow_a = { fn = slow }, slow_b = { fn = slow } }
end

local function script_slow()
  H.script(CHAT, { { tool_calls = { { name = "slow_a", arguments = { who = "a" } },
                                    { name = "slow_b", arguments = { who = "b" } } } } })
  H.script(ECHO, { { delay_ms = 300 }, { delay_ms = 300 } })
end

-- both echo calls arrived before either was answered
local function assert_overlapped()
  local t = {}
  for _, r in ipairs(H.requests()) do
    if r.path == ECHO then t[#t + 1] = r.received_ms end
  end
  assert.equal(2, #t)
  assert.is_true(math.abs(t[1] - t[2]) < 300, "the tools' calls did not overlap")
end

describe("client:run_tools", function()
  local client

  before_each(function()
    H.reset()
    client = H.client({ max_retries = 0 })
  end)

  it("runs a round of tools and returns the answer, the conversation, rounds and usage", function()
    H.script(CHAT, { { tool_calls = { { id = "call_w", name = "get_weather", arguments = { city = "Paris" } } } } })
    local log = {}
    local out, err = client:run_tools{ model = "gpt-4.1", messages = H.msgs("weather?"),
                                       tools = weather_tools(log) }
    assert.is_nil(err)
    assert.equal("You said: sunny in Paris", out.message.content)
    assert.equal(2, out.rounds)
    assert.equal(4, #out.messages)
    assert.equal("user", out.messages[1].role)
    assert.equal("call_w", out.messages[2].tool_calls[1].id)
    assert.same({ role = "tool", tool_call_id = "call_w", content = "sunny in Paris" }, out.messages[3])
    assert.equal(out.message, out.messages[4])
    -- fn saw the decoded arguments and the call
    assert.equal(1, #log)
    assert.equal("Paris", log[1].args.city)
    assert.equal("call_w", log[1].call.id)
    -- usage summed: the scripted round's 15 plus the answer's
    local b = bodies(CHAT)
    assert.equal(2, #b)
    assert.is_true(out.usage.total_tokens > 15)
    assert.equal(out.usage.prompt_tokens + out.usage.completion_tokens, out.usage.total_tokens)
    -- the tool declared; the second request carries the call and its result
    assert.same({ { type = "function", ["function"] = { name = "get_weather",
      description = "The weather in a city",
      parameters = { type = "object", properties = { city = { type = "string" } } } } } }, b[1].tools)
    assert.equal(3, #b[2].messages)
    assert.equal("get_weather", b[2].messages[2].tool_calls[1]["function"].name)
    assert.same({ role = "tool", tool_call_id = "call_w", content = "sunny in Paris" }, b[2].messages[3])
  end)

  it("declares tools in name order, encodes a result that is not a string, passes other fields", function()
    H.script(CHAT, { { tool_calls = { { id = "c1", name = "b_tool", arguments = "{}" } } } })
    local out = assert(client:run_tools{
      messages = H.msgs(), tool_choice = "required", parallel_tool_calls = false, temperature = 0.5,
      tools = { c_tool = { fn = function() return "c" end },
                b_tool = { fn = function() return { temp = 20, ok = true } end },
                a_tool = { fn = function() return "a" end } } })
    local b = bodies(CHAT)
    local names = {}
    for i, t in ipairs(b[1].tools) do names[i] = t["function"].name end
    assert.same({ "a_tool", "b_tool", "c_tool" }, names)
    for i = 1, 2 do
      assert.equal("required", b[i].tool_choice)
      assert.equal(false, b[i].parallel_tool_calls)
      assert.equal(0.5, b[i].temperature)
    end
    local result = require("cjson").decode(b[2].messages[3].content)
    assert.same({ temp = 20, ok = true }, result)
    assert.equal(2, out.rounds)
  end)

  it("runs the calls of one round together: two 300 ms tools overlap", function()
    script_slow()
    local out, err = client:run_tools{ messages = H.msgs(), tools = slow_tools(client) }
    assert.is_nil(err)
    assert.equal("You said: done a; done b", out.message.content)
    assert_overlapped()
  end)

  it("runs inside a task, advanced by openai.step, the tools overlapping there too", function()
    script_slow()
    local task = openai.spawn(function()
      return client:run_tools{ messages = H.msgs(), tools = slow_tools(client) }
    end)
    assert.is_false(task:done())
    local out, err = finish(task)
    assert.is_nil(err)
    assert.equal("You said: done a; done b", out.message.content)
    assert_overlapped()
  end)

  it("tells the model of a tool that raises or fails, an unknown tool, arguments that are not JSON", function()
    H.script(CHAT, { { tool_calls = {
      { id = "c1", name = "boom", arguments = "{}" },
      { id = "c2", name = "nope", arguments = "{}" },
      { id = "c3", name = "get_weather", arguments = "{not json" },
      { id = "c4", name = "get_weather", arguments = { city = "Oslo" } },
      { id = "c5", name = "fails", arguments = "{}" },
      { id = "c6", name = "odd", arguments = "{}" } } } })
    local tools = weather_tools()
    tools.boom = { fn = function() error("the sensor is down", 0) end }
    tools.fails = { fn = function() return nil, "no data today" end }
    tools.odd = { fn = function() return { f = print } end }
    local out, err = client:run_tools{ messages = H.msgs(), tools = tools }
    assert.is_nil(err)
    local sent = bodies(CHAT)[2].messages
    assert.equal("error: the sensor is down", sent[3].content)
    assert.equal("c1", sent[3].tool_call_id)
    assert.equal("error: unknown tool 'nope'", sent[4].content)
    assert.equal("error: the arguments of tool 'get_weather' are not valid JSON", sent[5].content)
    assert.equal("sunny in Oslo", sent[6].content)
    assert.equal("error: no data today", sent[7].content)
    assert.matches("^error: openai%.run_tools: 'the result of tool odd%.f' cannot be sent as JSON", sent[8].content)
    assert.equal(2, out.rounds)
  end)

  it("never tells the model the API key: a tool's error is redacted", function()
    local key = "sk-proj-" .. string.rep("Qw3rT", 14) .. "T3BlbkFJ" .. string.rep("z7", 8)  -- 102 characters
    local keyed = H.client({ api_key = key, max_retries = 0 })
    H.script(CHAT, { { tool_calls = { { name = "leaky", arguments = "{}" } } } })
    local out = assert(keyed:run_tools{ messages = H.msgs(), tools = {
      leaky = { fn = function() error("the key " .. key .. " was refused", 0) end } } })
    local sent = bodies(CHAT)[2].messages[3].content
    assert.is_nil(sent:find(key, 1, true))
    assert.matches("^error: the key .* was refused$", sent)
    assert.is_nil(out.message.content:find(key, 1, true))
  end)

  it("on_tool_error = 'raise' stops at a failing tool: nil, err (kind tool) naming it", function()
    H.script(CHAT, { { tool_calls = { { name = "boom", arguments = "{}" } } } })
    local out, err = client:run_tools{ messages = H.msgs(), on_tool_error = "raise",
      tools = { boom = { fn = function() error("the sensor is down", 0) end } } }
    assert.is_nil(out)
    assert.equal("tool", err.kind)
    assert.equal("boom", err.tool)
    assert.matches("tool 'boom' failed: the sensor is down", err.message, 1, true)
    assert.equal(1, H.requests_to(CHAT))
    H.reset()
    H.script(CHAT, { { tool_calls = { { name = "nope", arguments = "{}" } } } })
    out, err = client:run_tools{ messages = H.msgs(), on_tool_error = "raise", tools = weather_tools() }
    assert.is_nil(out)
    assert.equal("tool", err.kind)
    assert.equal("nope", err.tool)
  end)

  it("past max_rounds: nil, err (kind tool_rounds), no further request", function()
    local call = { tool_calls = { { name = "get_weather", arguments = { city = "Rome" } } } }
    H.script(CHAT, { call, call, call })
    local out, err = client:run_tools{ messages = H.msgs(), max_rounds = 2, tools = weather_tools() }
    assert.is_nil(out)
    assert.equal("tool_rounds", err.kind)
    assert.matches("after 2 rounds", tostring(err), 1, true)
    assert.equal(2, H.requests_to(CHAT))
  end)

  it("a failed call ends the loop with nil, err, meta", function()
    H.script(CHAT, { { tool_calls = { { name = "get_weather", arguments = "{}" } } }, { status = 400 } })
    local out, err, meta = client:run_tools{ messages = H.msgs(), tools = weather_tools() }
    assert.is_nil(out)
    assert.equal("api", err.kind)
    assert.equal(400, meta.status)
  end)

  it("cancelling its task cancels the tools' calls", function()
    H.script(CHAT, { { tool_calls = { { name = "slow_a", arguments = { who = "a" } } } } })
    H.script(ECHO, { { delay_ms = 3000 } })
    local task = openai.spawn(function()
      return client:run_tools{ messages = H.msgs(), tools = slow_tools(client) }
    end)
    local until_ms = H.now() + 5000
    while H.requests_to(ECHO) == 0 and H.now() < until_ms do openai.step(10) end
    assert.equal(1, H.requests_to(ECHO))
    openai.step(10)
    assert.is_true(H.live() >= 1)
    assert.is_true(task:cancel())
    local out, err = task:result()
    assert.is_nil(out)
    assert.equal("cancelled", err.kind)
    openai.step(0)
    assert.equal(0, H.live())
    assert.equal(1, H.requests_to(CHAT))
  end)

  it("refuses bad input naming the function and the field, sending nothing", function()
    local fn = function() end
    local cases = {
      { { messages = H.msgs(), tools = "x" }, "'tools' must be a non%-empty table" },
      { { messages = H.msgs(), tools = {} }, "'tools' must be a non%-empty table" },
      { { messages = H.msgs(), tools = { t = {} } }, "'tools.t.fn' must be a function" },
      { { messages = H.msgs(), tools = { t = "x" } }, "'tools.t' must be a table" },
      { { messages = H.msgs(), tools = { ["bad name"] = { fn = fn } } }, "'tools' must be keyed by names" },
      { { messages = H.msgs(), tools = { [string.rep("a", 65)] = { fn = fn } } }, "'tools' must be keyed by names" },
      { { messages = H.msgs(), tools = { fn } }, "'tools' must be keyed by names" },
      { { messages = H.msgs(), tools = { t = { fn = fn } }, max_rounds = 0 }, "'max_rounds' must be" },
      { { messages = H.msgs(), tools = { t = { fn = fn } }, max_rounds = 1.5 }, "'max_rounds' must be" },
      { { messages = H.msgs(), tools = { t = { fn = fn } }, on_tool_error = "x" }, "'on_tool_error'" },
      { { messages = H.msgs(), tools = { t = { fn = fn, parameters = 1 } } }, "'tools.t.parameters'" },
      { { tools = { t = { fn = fn } } }, "'messages'" },
    }
    for _, c in ipairs(cases) do
      local ok, e = pcall(client.run_tools, client, c[1])
      assert.is_false(ok)
      assert.matches("^openai%.run_tools: " .. c[2], e)
    end
    local ok, e = pcall(client.run_tools, client, "x")
    assert.is_false(ok)
    assert.matches("^openai%.run_tools: 'params'", e)
    ok, e = pcall(client.run_tools_stream, client, { messages = H.msgs(), tools = { t = { fn = fn } }, on_text = 1 })
    assert.is_false(ok)
    assert.matches("^openai%.run_tools_stream: 'on_text' must be a function", e)
    ok, e = pcall(client.run_response_tools, client, { input = "hi", tools = { t = { fn = 1 } } })
    assert.is_false(ok)
    assert.matches("^openai%.run_response_tools: 'tools.t.fn'", e)
    assert.equal(0, #H.requests())
  end)
end)

describe("client:run_tools_stream", function()
  local client

  before_each(function()
    H.reset()
    client = H.client({ max_retries = 0 })
  end)

  it("streams the answer's text, with the tools run between rounds from streamed call deltas", function()
    H.script(CHAT, { { tool_calls = { { id = "c9", name = "get_weather", arguments = { city = "Lima" } } } } })
    local seen = {}
    local tools = weather_tools()
    local inner = tools.get_weather.fn
    tools.get_weather.fn = function(args, call)
      seen[#seen + 1] = "tool"
      return inner(args, call)
    end
    local out, err = client:run_tools_stream{ messages = H.msgs(), tools = tools,
      on_text = function(delta) seen[#seen + 1] = delta end }
    assert.is_nil(err)
    assert.equal("You said: sunny in Lima", out.message.content)
    assert.equal("tool", seen[1])
    assert.is_true(#seen > 2)
    assert.equal("You said: sunny in Lima", table.concat(seen, "", 2))
    local b = bodies(CHAT)
    assert.equal(true, b[1].stream)
    assert.same({ role = "tool", tool_call_id = "c9", content = "sunny in Lima" }, b[2].messages[3])
    assert.is_true(out.usage.total_tokens > 15)
  end)
end)

describe("client:run_tools_stream's on_text", function()
  it("raises what on_text raised, the stream closed", function()
    H.reset()
    local client = H.client({ max_retries = 0 })
    local ok, e = pcall(client.run_tools_stream, client, { messages = H.msgs(), tools = weather_tools(),
      on_text = function() error("the screen is gone", 0) end })
    assert.is_false(ok)
    assert.equal("the screen is gone", e)
    assert.equal(0, H.live())
  end)
end)

describe("client:run_response_tools", function()
  local client

  before_each(function()
    H.reset()
    client = H.client({ max_retries = 0 })
  end)

  it("sends function_call_output items back with the whole input list", function()
    H.script(RESP, { { tool_calls = { { id = "call_r", name = "get_weather", arguments = { city = "Kyiv" } } } } })
    local out, err = client:run_response_tools{ input = "weather?", tools = weather_tools(),
                                                tool_choice = "auto" }
    assert.is_nil(err)
    assert.equal("You said: sunny in Kyiv", out.text)
    assert.equal(2, out.rounds)
    assert.equal(30 - 15 < out.usage.total_tokens, true)
    local b = bodies(RESP)
    assert.same({ { type = "function", name = "get_weather", description = "The weather in a city",
      parameters = { type = "object", properties = { city = { type = "string" } } } } }, b[1].tools)
    assert.equal("auto", b[2].tool_choice)
    local input = b[2].input
    assert.equal(3, #input)
    assert.same({ role = "user", content = "weather?" }, input[1])
    assert.equal("function_call", input[2].type)
    assert.equal("call_r", input[2].call_id)
    assert.same({ type = "function_call_output", call_id = "call_r", output = "sunny in Kyiv" }, input[3])
    assert.equal(4, #out.input)
  end)

  it("streams the answer's text (run_response_tools_stream), the tools overlapping", function()
    H.script(RESP, { { tool_calls = { { name = "slow_a", arguments = { who = "a" } },
                                      { name = "slow_b", arguments = { who = "b" } } } } })
    H.script(ECHO, { { delay_ms = 300 }, { delay_ms = 300 } })
    local text = {}
    local out, err = client:run_response_tools_stream{ input = "go", tools = slow_tools(client),
      on_text = function(d) text[#text + 1] = d end }
    assert.is_nil(err)
    assert.equal("You said: done a; done b", out.text)
    assert.equal(out.text, table.concat(text))
    assert_overlapped()
    assert.equal(true, bodies(RESP)[2].stream)
  end)
end)

-- the Neovim way: a luv loop (openai.luv) alone carries the runner's task,
-- its model calls and its tools' calls, while another timer of the loop ticks
local ok_uv, uv = pcall(require, "luv")

;(ok_uv and describe or pending)("run_tools on a luv loop (openai.luv)", function()
  before_each(function()
    H.reset()
  end)

  it("a task's run_tools_stream goes to its end, the tools overlapping, the loop never held", function()
    local client = H.client({ max_retries = 0 })
    script_slow()
    local text, got = {}, nil
    openai.spawn(function()
      return client:run_tools_stream{ messages = H.msgs(), tools = slow_tools(client),
                                      on_text = function(d) text[#text + 1] = d end }
    end):on_done(function(ok, out, err) got = { ok = ok, out = out, err = err } end)
    uv.update_time()           -- the loop's clock is stale when it has not run for a while
    local ticks = 0
    local ticker = uv.new_timer()
    ticker:start(20, 20, function() ticks = ticks + 1 end)
    ticker:unref()
    local backstop, gave_up = uv.new_timer(), false
    backstop:start(10000, 0, function() gave_up = true; uv.stop() end)
    backstop:unref()
    local driver = require("openai.luv").start(uv)
    local t0 = H.now()
    uv.run()
    local why = ("the loop ended before the task (after %.0f ms%s; %s tasks pending; %s requests)")
      :format(H.now() - t0, gave_up and ", at the backstop" or "", openai.step(0), #H.requests())
    driver:stop()
    ticker:close()
    backstop:close()
    uv.run("nowait")
    assert.is_table(got, why)
    assert.is_true(got.ok)
    assert.is_nil(got.err)
    assert.equal("You said: done a; done b", got.out.message.content)
    assert.equal(got.out.message.content, table.concat(text))
    assert_overlapped()
    assert.is_true(ticks >= 5, "another timer of the loop ticked " .. ticks .. " times in 300+ ms")
  end)
end)
