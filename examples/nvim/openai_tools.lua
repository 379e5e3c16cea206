-- examples/nvim/openai_tools.lua: :OpenAITools {question} asks about the
-- current buffer. The model reads the buffer through a tool (buffer_lines),
-- the tool runs as a task on the editor's loop, and the answer streams into
-- a scratch buffer while the editor stays responsive.
--
--   :luafile examples/nvim/openai_tools.lua
--   :OpenAITools What does this file do?
--
-- The key comes from OPENAI_API_KEY (and OPENAI_BASE_URL, if set).
-- `dofile` of this file returns { ask = ask } for scripts: ask(question)
-- returns the task and the scratch buffer's number; b:openai_done is set
-- on that buffer with the last text.
--
-- The tools' functions run from luv callbacks (openai.luv), a fast event
-- context where the editor's API is off limits, so the buffer is read when
-- the command runs and the tool answers from that copy.

local uv = vim.loop

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local root = here .. "/../.."
package.path = root .. "/lua/?.lua;" .. package.path
package.cpath = root .. "/build/luajit/?.so;" .. package.cpath

local openai = require "openai"
require("openai.luv").start(uv)

local function scratch(question)
  vim.cmd("botright new")
  local buf = vim.api.nvim_get_current_buf()
  for name, value in pairs({ buftype = "nofile", bufhidden = "wipe", swapfile = false, filetype = "markdown" }) do
    vim.api.nvim_buf_set_option(buf, name, value)
  end
  pcall(vim.api.nvim_buf_set_name, buf, "openai tools: " .. question)
  return buf
end

local function show(buf, text, last)
  if vim.api.nvim_buf_is_valid(buf) then
    vim.api.nvim_buf_set_lines(buf, 0, -1, false, vim.split(text, "\n", { plain = true }))
    if last then vim.api.nvim_buf_set_var(buf, "openai_done", true) end
  end
end

-- the tools, answering from a copy of the buffer's lines
local function buffer_tools(name, lines)
  return {
    buffer_lines = {
      description = "Lines of the user's current buffer (1-based, inclusive; at most 200 at once)",
      parameters = { type = "object", properties = {
        first = { type = "integer" }, last = { type = "integer" } } },
      fn = function(args)
        local first = math.max(1, tonumber(args.first) or 1)
        local last = math.min(#lines, tonumber(args.last) or #lines, first + 199)
        return table.concat(lines, "\n", first, last)
      end,
    },
    buffer_info = {
      description = "The current buffer's name and line count",
      parameters = { type = "object", properties = {} },
      fn = function() return { name = name, lines = #lines } end,
    },
  }
end

local function ask(question)
  local src = vim.api.nvim_get_current_buf()
  local tools = buffer_tools(vim.api.nvim_buf_get_name(src), vim.api.nvim_buf_get_lines(src, 0, -1, false))
  local buf = scratch(question)
  show(buf, "...")
  local text, queued = "", false
  local task = openai.spawn(function()
    local out, err = openai.default_client():run_tools_stream{
      messages = {
        { role = "system", content = "Answer questions about the user's current buffer; read it with the tools." },
        { role = "user", content = question },
      },
      tools = tools,
      on_text = function(delta)
        text = text .. delta
        if not queued then
          queued = true
          vim.schedule(function() queued = false; show(buf, text) end)
        end
      end,
    }
    local final = out and out.message.content or ("error: " .. tostring(err))
    vim.schedule(function() show(buf, final, true) end)
    return out, err
  end)
  return task, buf
end

vim.api.nvim_create_user_command("OpenAITools", function(o) ask(o.args) end,
                                 { nargs = "+", desc = "ask about the current buffer; the model reads it with a tool" })

return { ask = ask }
