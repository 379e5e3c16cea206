-- The README documents every action of the endpoint table: each row's name
-- appears in a section heading (with its example below it) and in the table
-- of every action, so a new row without its README section fails here.
local H = require "support.helper"
local endpoints = require "openai.endpoints"

describe("README", function()
  local readme = assert(H.read_file("README.md"))
  local headings, glance = {}, readme:match("### Every action at a glance\n(.-)\n###")

  for line in readme:gmatch("[^\n]+") do
    if line:sub(1, 4) == "### " then headings[#headings + 1] = line end
  end

  local function in_heading(name)
    for _, h in ipairs(headings) do
      if h:find("`" .. name .. "`", 1, true) then return true end
    end
    return false
  end

  it("has a table of every action", function()
    assert.is_string(glance)
  end)

  for _, name in ipairs(endpoints.NAMES) do
    it("documents " .. name .. " in a section and in the table", function()
      assert.is_true(in_heading(name), "no README section heading names `" .. name .. "`")
      assert.is_truthy(glance:find("`" .. name .. "`", 1, true), "the table of actions lacks `" .. name .. "`")
    end)
  end
end)
