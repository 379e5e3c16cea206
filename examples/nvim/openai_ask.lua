-- examples/nvim/openai_ask.lua: :OpenAIAsk {question} streams the answer
-- into a scratch buffer while the editor stays responsive.
--
--   :luafile examples/nvim/openai_ask.lua
--   :OpenAIAsk What is a coroutine?
--
-- The key comes from OPENAI_API_KEY (and OPENAI_BASE_URL, if set). The call
-- runs as a task; the answer is written into the buffer as it arrives.
-- `dofile` of this file returns { ask = ask } for scripts: ask(question)
-- returns the task and the buffer number.
--
-- What drives the task: openai.luv, which watches the engine's sockets
-- with luv poll handles and its timeout with a luv timer on the editor's
-- own loop; nothing runs while no call is in flight.

local uv = vim.loop

-- running from the checkout: the module's Lua files and its LuaJIT core
-- (build it with `make build/luajit/openai/core.so`)
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local root = here .. "/../.."
package.path = root .. "/lua/?.lua;" .. package.path
package.cpath = root .. "/build/luajit/?.so;" .. package.cpath

local openai = require "openai"

-- the driver: tasks run from the editor's loop (start is idempotent)
require("openai.luv").start(uv)

-- a scratch buffer in a new split, named after the question
local function scratch(question)
  vim.cmd("botright new")
  local buf = vim.api.nvim_get_current_buf()
  for name, value in pairs({ buftype = "nofile", bufhidden = "wipe", swapfile = false, filetype = "markdown" }) do
    vim.api.nvim_buf_set_option(buf, name, value)
  end
  pcall(vim.api.nvim_buf_set_name, buf, "openai: " .. question)
  return buf
end

-- the buffer's text; b:openai_done is set with the last one (for scripts)
local function show(buf, text, last)
  if vim.api.nvim_buf_is_valid(buf) then
    vim.api.nvim_buf_set_lines(buf, 0, -1, false, vim.split(text, "\n", { plain = true }))
    if last then vim.api.nvim_buf_set_var(buf, "openai_done", true) end
  end
end

local function ask(question)
  local buf = scratch(question)
  show(buf, "...")
  -- the task runs from luv callbacks (openai.luv), a fast event context where
  -- the editor's API is off limits: buffer updates go through vim.schedule,
  -- at most one queued at a time
  local queued = false
  local function update(text)
    if queued then return end
    queued = true
    vim.schedule(function()
      queued = false
      show(buf, text())
    end)
  end
  local task = openai.spawn(function()
    local s, err = openai.chat_stream { messages = { { role = "user", content = question } } }
    if not s then
      vim.schedule(function() show(buf, "error: " .. tostring(err), true) end)
      return nil, err
    end
    while s:next() ~= nil do
      update(function() return s:text() end)
    end
    local text = s:text()
    vim.schedule(function() show(buf, text, true) end)
    return text
  end)
  return task, buf
end

vim.api.nvim_create_user_command("OpenAIAsk", function(o) ask(o.args) end,
                                 { nargs = "+", desc = "stream an OpenAI answer into a scratch buffer" })

return { ask = ask }
