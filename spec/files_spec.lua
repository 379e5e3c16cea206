-- spec/files_spec.lua: client:upload_file, file, files, file_content,
-- delete_file against the stand-in's file store.
local H = require "support.helper"
local cjson = require "cjson"

-- the i11-core pieces: file parts streamed from disk, bodies written to disk

local JSONL = '{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{}}\n'

describe("files", function()
  local c

  before_each(function()
    H.reset()
    c = H.client()
  end)

  it("upload_file sends the file and purpose as multipart to POST /v1/files", function()
    local f, err, meta = c:upload_file { file = { data = JSONL, name = "batch.jsonl" }, purpose = "batch" }
    assert.is_nil(err)
    local rec = H.last()
    assert.equal("POST", rec.method)
    assert.equal("/v1/files", rec.path)
    assert.equal("multipart/form-data; boundary=", rec.headers["content-type"]:sub(1, 30))
    assert.equal(2, #rec.parts)
    assert.equal("file", rec.parts[1].name)
    assert.equal("batch.jsonl", rec.parts[1].filename)
    assert.equal("application/jsonl", rec.parts[1].content_type)
    assert.equal(JSONL, H.b64decode(rec.parts[1].data_b64))
    assert.equal("purpose", rec.parts[2].name)
    assert.equal(cjson.null, rec.parts[2].filename)
    assert.equal("batch", H.b64decode(rec.parts[2].data_b64))
    assert.equal(200, meta.status)
    assert.equal("file-1", f.id)
    assert.equal("file", f.object)
    assert.equal(#JSONL, f.bytes)
    assert.equal("batch.jsonl", f.filename)
    assert.equal("batch", f.purpose)
  end)

  it("upload_file sends expires_after as expires_after[anchor] and expires_after[seconds]", function()
    local _, err = c:upload_file { file = { data = "x", name = "x.txt" }, purpose = "user_data",
                                   expires_after = { anchor = "created_at", seconds = 3600 } }
    assert.is_nil(err)
    local got = {}
    for i, p in ipairs(H.last().parts) do got[i] = p.name .. "=" .. H.b64decode(p.data_b64) end
    assert.same({ "file=x", "expires_after[anchor]=created_at", "expires_after[seconds]=3600", "purpose=user_data" }, got)
  end)

  it("a path is streamed from disk; file_content with path writes the bytes to disk", function()
    local bytes = string.rep("0123456789abcdef", 4096) .. "\0\255end"
    local src = H.tmpfile(bytes)
    local f, err = c:upload_file { file = src, purpose = "user_data" }
    os.remove(src)
    assert.is_nil(err)
    assert.equal(#bytes, f.bytes)
    assert.equal(src:match("([^/]+)$"), f.filename)
    local dst = os.tmpname()
    local res, err2 = c:file_content(f.id, { path = dst })
    assert.is_nil(err2)
    assert.same({ path = dst, bytes = #bytes }, res)
    assert.equal(bytes, H.read_file(dst))
    os.remove(dst)
  end)

  -- the number of times needle occurs in s
  local function occurrences(s, needle)
    local n, at = 0, 1
    while true do
      local i = s:find(needle, at, true)
      if not i then return n end
      n, at = n + 1, i + #needle
    end
  end

  it("uploads only regular files: a FIFO, a directory, a /proc file are an io error naming the path once", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(H.run("mkdir -p " .. dir .. " && mkfifo " .. dir .. "/fifo"))
    -- a writer that gives up after 3 s, so that code which waits for one fails instead of hanging
    H.run("(timeout 3 sh -c ': > " .. dir .. "/fifo' &) >/dev/null 2>&1")
    local cases = {
      { dir .. "/fifo", "FIFO" },
      { dir, "a directory" },
      { "/proc/self/status", "not known in advance" },
    }
    for _, case in ipairs(cases) do
      local path, why = case[1], case[2]
      local t0 = H.now()
      local res, err, meta = c:upload_file { file = path, purpose = "batch" }
      assert.is_nil(res, path)
      assert.equal("io", err.kind, path)
      assert.matches(why, err.message, 1, true)
      assert.equal(1, occurrences(err.message, path), err.message)
      assert.equal(0, meta.status)
      assert.is_true(H.now() - t0 < 2000, path .. " blocked the call")
    end
    -- a missing file is an argument error, raised before anything is sent
    local msg = H.raises(c.upload_file, c, { file = dir .. "/missing.bin", purpose = "batch" })
    assert.matches("cannot be opened: No such file or directory", msg, 1, true)
    assert.equal(1, occurrences(msg, dir .. "/missing.bin"), msg)
    assert.equal(0, H.requests_to("/v1/files"))
    H.run("rm -rf " .. dir)
  end)

  it("a download that cannot be written is an io error naming the path once, with the status read", function()
    local f = assert(c:upload_file { file = { data = "abc", name = "a.txt" }, purpose = "batch" })
    local dir = os.tmpname()
    os.remove(dir)
    assert(H.run("mkdir -p " .. dir .. "/target"))
    local want = { ["/nonexistent-dir/sub/x.bin"] = "cannot create '/nonexistent-dir/sub/x.bin': No such file or directory",
                   [dir .. "/target"] = "cannot create '" .. dir .. "/target': Is a directory" }
    for path, message in pairs(want) do
      local res, err, meta = c:file_content(f.id, { path = path })
      assert.is_nil(res)
      assert.equal("io", err.kind)
      assert.equal(message, err.message)
      assert.equal(200, meta.status)
      assert.equal(200, err.status)
    end
    -- a device node is written in place, never replaced by a plain file (a
    -- node of this spec's own, made when the suite runs as root)
    if H.run("mknod " .. dir .. "/null c 1 3 2>/dev/null") then
      local res = assert(c:file_content(f.id, { path = dir .. "/null" }))
      assert.equal(3, res.bytes)
      assert.is_true(H.run("test -c " .. dir .. "/null"), "the device node was replaced")
    end
    H.run("rm -rf " .. dir)
  end)

  it("file(id) gets GET /v1/files/{id}; file_content(id) the bytes; delete_file(id) deletes", function()
    local up = assert(c:upload_file { file = { data = "a\0b\255", name = "x.bin" }, purpose = "user_data" })
    local f, err = c:file(up.id)
    assert.is_nil(err)
    assert.equal("GET", H.last().method)
    assert.equal("/v1/files/" .. up.id, H.last().path)
    assert.same(up, f)
    local bytes, err2, meta = c:file_content(up.id)
    assert.is_nil(err2)
    assert.equal("/v1/files/" .. up.id .. "/content", H.last().path)
    assert.equal("a\0b\255", bytes)
    assert.equal(200, meta.status)
    local del, err3 = c:delete_file(up.id)
    assert.is_nil(err3)
    assert.equal("DELETE", H.last().method)
    assert.equal("/v1/files/" .. up.id, H.last().path)
    assert.same({ id = up.id, object = "file", deleted = true }, del)
    local gone, err4 = c:file(up.id)
    assert.is_nil(gone)
    assert.equal("api", err4.kind)
    assert.equal(404, err4.status)
    assert.equal("No such file: '" .. up.id .. "'", err4.message)
  end)

  it("escapes an id as one path segment", function()
    local _, err = c:file("a/b c")
    assert.equal(404, err.status)
    assert.equal("/v1/files/a%2Fb%20c", H.last().path)
  end)

  it("files{} lists with purpose, limit, order and after in the query", function()
    for i = 1, 3 do
      assert(c:upload_file { file = { data = "x" .. i, name = i .. ".txt" }, purpose = i == 2 and "batch" or "user_data" })
    end
    local list, err = c:files()
    assert.is_nil(err)
    assert.equal("GET", H.last().method)
    assert.equal("", H.last().query)
    assert.equal("list", list.object)
    assert.equal(3, #list.data)
    assert.equal("file-3", list.data[1].id)
    assert.is_false(list.has_more)
    list = assert(c:files { purpose = "user_data", limit = 1, order = "asc" })
    assert.equal("limit=1&order=asc&purpose=user_data", H.last().query)
    assert.equal("file-1", list.data[1].id)
    assert.is_true(list.has_more)
    assert.equal("file-1", list.last_id)
    list = assert(c:files { after = "file-3", limit = 5 })
    assert.equal("after=file-3&limit=5", H.last().query)
    assert.equal(2, #list.data)
  end)

  it("refuses bad arguments naming the field, with nothing sent", function()
    local missing = os.tmpname()
    os.remove(missing)
    assert.equal("openai.upload_file: 'purpose' must be a non-empty string (got nil)",
                 H.raises(c.upload_file, c, { file = { data = "x", name = "a" } }))
    assert.equal("openai.upload_file: 'purpose' must be one of 'assistants', 'batch', 'fine-tune', " ..
                 "'vision', 'user_data', 'evals' (got 'misc')",
                 H.raises(c.upload_file, c, { file = { data = "x", name = "a" }, purpose = "misc" }))
    local msg = H.raises(c.upload_file, c, { file = missing, purpose = "batch" })
    assert.equal(1, msg:find("openai.upload_file: 'file' cannot be opened: ", 1, true), msg)
    assert.equal("openai.file: 'file_id' must be a non-empty string (got nil)", H.raises(c.file, c))
    assert.equal("openai.delete_file: 'file_id' must be a non-empty string (got '')", H.raises(c.delete_file, c, ""))
    assert.equal("openai.file_content: 'opts' must be a table (got 'x')", H.raises(c.file_content, c, "f", "x"))
    assert.equal("openai.file_content: 'path' must be a non-empty string (got 3)",
                 H.raises(c.file_content, c, "f", { path = 3 }))
    assert.equal("openai.files: 'limit' must be an integer from 1 to 10000 (got 0)", H.raises(c.files, c, { limit = 0 }))
    assert.equal("openai.files: 'order' must be one of 'asc', 'desc' (got 'up')", H.raises(c.files, c, { order = "up" }))
    assert.equal("openai.file: call it as client:file(id) or as openai.file(id)", H.raises(c.file, "file-1"))
    assert.equal(0, #H.requests())
  end)
end)
