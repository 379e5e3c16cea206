-- spec/pagination_spec.lua: list results keep their shape and gain
-- res:each(), which fetches the next page only when the loop needs it.
local H = require "support.helper"
local cjson = require "cjson"
local openai = require "openai"

describe("pagination", function()
  local c

  before_each(function()
    H.reset()
    c = H.client()
    for i = 1, 5 do
      assert(c:upload_file { file = { data = "x", name = i .. ".txt" }, purpose = "user_data" })
    end
  end)

  local function gets()
    local n = 0
    for _, r in ipairs(H.requests()) do
      if r.method == "GET" then n = n + 1 end
    end
    return n
  end

  it("each() walks every item, fetching a page (after = last id) only when the loop gets there", function()
    local list = assert(c:files { limit = 2 })
    assert.equal(1, gets())
    local ids = {}
    for f in list:each() do
      ids[#ids + 1] = f.id
      -- pages: 2 + 2 + 1 items; the next page is asked for after the last item of this one
      assert.equal(math.floor((#ids - 1) / 2) + 1, gets())
    end
    assert.same({ "file-5", "file-4", "file-3", "file-2", "file-1" }, ids)
    assert.equal(3, gets())
    local reqs = H.requests()
    assert.equal("after=file-4&limit=2", reqs[#reqs - 1].query)
    assert.equal("after=file-2&limit=2", reqs[#reqs].query)
  end)

  it("a loop that breaks early fetches nothing more", function()
    local list = assert(c:files { limit = 2 })
    for f in list:each() do
      if f.id == "file-4" then break end
    end
    assert.equal(1, gets())
  end)

  it("the list keeps its shape: data, has_more, last_id, cjson encodes only the API's fields", function()
    local list = assert(c:files { limit = 2 })
    assert.equal(2, #list.data)
    assert.is_true(list.has_more)
    assert.equal("file-4", list.last_id)
    local keys = {}
    for k in pairs(list) do keys[#keys + 1] = k end
    table.sort(keys)
    assert.same({ "data", "first_id", "has_more", "last_id", "object" }, keys)
    local back = cjson.decode(cjson.encode(list))
    assert.equal("file-5", back.data[1].id)
    assert.is_true(back.has_more)
  end)

  it("a page that fails ends the walk with one (false, err); the call's options hold for every page", function()
    local list = assert(c:files { limit = 3, max_retries = 0 })
    assert.equal("limit=3", H.last().query)
    H.script("/v1/files", { { status = 500 } }, "GET")
    local items, failures = {}, {}
    for f, err in list:each() do
      if f then items[#items + 1] = f.id else failures[#failures + 1] = err end
    end
    assert.same({ "file-5", "file-4", "file-3" }, items)
    assert.equal(1, #failures)
    assert.is_true(openai.is_error(failures[1]))
    assert.equal(500, failures[1].status)
  end)

  -- walk list, at most 50 steps (a walk that never ends fails here, not hangs)
  local function walk(list)
    local items, failures, steps = {}, {}, 0
    for f, err in list:each() do
      steps = steps + 1
      if steps > 50 then break end
      if f then items[#items + 1] = f.id else failures[#failures + 1] = err end
    end
    return items, failures, steps
  end

  it("a page that says has_more but does not advance ends the walk with one (false, err)", function()
    local page = { object = "list", data = { { id = "file-9", object = "file" } }, has_more = true,
                   first_id = "file-9", last_id = "file-9" }
    local repeats = {}
    for i = 1, 60 do repeats[i] = { json = page } end
    H.script("/v1/files", repeats, "GET")
    local list = assert(c:files { limit = 1 })
    local items, failures, steps = walk(list)
    assert.equal(2, steps)
    assert.same({ "file-9" }, items)            -- the repeated page is not handed over again
    assert.equal(1, #failures)
    assert.equal("decode", failures[1].kind)
    assert.matches("does not advance", failures[1].message)
    assert.equal(2, gets())                     -- the first page and the one that repeated it

    H.reset()
    local empty = { object = "list", data = {}, has_more = true, last_id = "file-8" }
    repeats = {}
    for i = 1, 60 do repeats[i] = { json = empty } end
    H.script("/v1/files", repeats, "GET")
    items, failures, steps = walk(assert(c:files { limit = 1 }))
    assert.equal(1, steps)
    assert.same({}, items)
    assert.equal("decode", failures[1].kind)
    assert.matches("no items", failures[1].message)
    assert.equal(1, gets())

    H.reset()
    local a = { object = "list", data = { { id = "a" } }, has_more = true, last_id = "a" }
    local b = { object = "list", data = { { id = "b" } }, has_more = true, last_id = "b" }
    repeats = {}
    for i = 1, 60 do repeats[i] = { json = i % 2 == 1 and a or b } end
    H.script("/v1/files", repeats, "GET")
    items, failures = walk(assert(c:pages { url = "/v1/files" }))
    assert.same({ "a", "b" }, items)             -- a cycle a, b, a: stops when a's page comes back
    assert.equal(1, #failures)
    assert.matches("'a' was followed already", failures[1].message)
  end)

  it("models() keeps its shape and walks its one page", function()
    local list = assert(c:models())
    local n = 0
    for m in list:each() do
      n = n + 1
      assert.equal("model", m.object)
    end
    assert.equal(#list.data, n)
    assert.equal(4, n)
  end)

  it("pages{ url = ... } walks any raw list endpoint the same way", function()
    local list, err = c:pages { url = "/v1/files", query = { limit = 2, order = "asc" } }
    assert.is_nil(err)
    local ids = {}
    for f in list:each() do ids[#ids + 1] = f.id end
    assert.same({ "file-1", "file-2", "file-3", "file-4", "file-5" }, ids)
    assert.equal("after=file-4&limit=2&order=asc", H.last().query)
    assert.equal("openai.pages: 'url' must be a path string (got nil)", H.raises(c.pages, c, {}))
  end)

  it("module functions walk too", function()
    openai.configure { api_key = H.key, base_url = H.base }
    local n = 0
    for _ in openai.files({ limit = 4 }):each() do n = n + 1 end
    assert.equal(5, n)
  end)
end)
