-- spec/image_spec.lua: client:image (Create Image).
local H = require "support.helper"
local openai = require "openai"

describe("image", function()
  local c

  before_each(function()
    H.reset()
    c = H.client()
  end)

  -- the call must raise an error starting with prefix, and send nothing
  local function refused(p, prefix)
    local e = H.raises(c.image, c, p)
    assert.equal(prefix, e:sub(1, #prefix), e)
    assert.same({}, H.requests())
    return e
  end

  it("sends the defaults: POST /v1/images/generations; n 1, size 1024x1024 and dall-e-2, the API's own, left out", function()
    local res, err, meta = c:image({ prompt = "a cat in a hat" })
    assert.is_nil(err)
    assert.equal(200, meta.status)
    local reqs = H.requests()
    assert.equal(1, #reqs)
    local rec = reqs[1]
    assert.equal("POST", rec.method)
    assert.equal("/v1/images/generations", rec.path)
    assert.equal("application/json", rec.headers["content-type"])
    assert.same({ prompt = "a cat in a hat" }, rec.json)
    assert.is_nil(rec.json.model)
    assert.equal(1, #res.data)
  end)

  it("returns the data: one url item per image", function()
    local res, err, meta = c:image({ prompt = "three dogs", n = 3, size = "256x256" })
    assert.is_nil(err)
    assert.is_number(res.created)
    assert.equal(3, #res.data)
    for _, item in ipairs(res.data) do
      assert.truthy(item.url:match("^https://"), item.url)
      assert.equal("three dogs", item.revised_prompt)
    end
    assert.equal(H.last().id, meta.request_id)
    assert.same({ prompt = "three dogs", n = 3, size = "256x256" }, H.last().json)
  end)

  it("accepts each of the documented sizes", function()
    for _, size in ipairs({ "256x256", "512x512", "1024x1024" }) do
      H.reset()
      local res, err = c:image({ prompt = "x", size = size })
      assert.is_nil(err)
      assert.is_table(res)
      assert.equal(size, H.last().json.size)
    end
  end)

  it("accepts n from 1 to 10", function()
    local res, err = c:image({ prompt = "x", n = 10 })
    assert.is_nil(err)
    assert.equal(10, #res.data)
    assert.equal(10, H.last().json.n)
  end)

  it("passes response_format b64_json and other fields through", function()
    local res, err = c:image({ prompt = "a dot", response_format = "b64_json", user = "u-1",
                               style = "natural" })
    assert.is_nil(err)
    assert.same({ prompt = "a dot", response_format = "b64_json",
                  user = "u-1", style = "natural" }, H.last().json)
    local png = H.b64decode(res.data[1].b64_json)
    assert.equal("\137PNG\r\n\26\n", png:sub(1, 8))
    assert.is_nil(res.data[1].url)
  end)

  it("does not send call options in the body", function()
    assert.is_table((c:image({ prompt = "x", timeout = 5000, max_retries = 0 })))
    local rec = H.last()
    assert.is_nil(rec.json.timeout)
    assert.is_nil(rec.json.max_retries)
  end)

  describe("prompt", function()
    it("is required", function()
      refused({}, "openai.image: 'prompt' must be")
      refused({ n = 1 }, "openai.image: 'prompt' must be")
    end)

    it("must be a non-empty string", function()
      assert.equal("openai.image: 'prompt' must be a non-empty string (got '')", refused({ prompt = "" }, "openai.image: 'prompt'"))
      assert.equal("openai.image: 'prompt' must be a string (got 5)", refused({ prompt = 5 }, "openai.image: 'prompt'"))
      refused({ prompt = { "a cat" } }, "openai.image: 'prompt' must be")
    end)

    it("must be valid UTF-8", function()
      refused({ prompt = "caf\233" }, "openai.image: 'prompt' must be valid UTF-8")
    end)

    it("may have 1000 characters, not 1001", function()
      local res, err = c:image({ prompt = ("x"):rep(1000) })
      assert.is_nil(err)
      assert.is_table(res)
      assert.equal(1000, #H.last().json.prompt)
      H.reset()
      refused({ prompt = ("x"):rep(1001) }, "openai.image: 'prompt' must be at most 1000 characters")
    end)

    it("is counted in characters, not bytes", function()
      local e1000 = ("é"):rep(1000)          -- 2000 bytes
      local res, err = c:image({ prompt = e1000 })
      assert.is_nil(err)
      assert.is_table(res)
      assert.equal(e1000, H.last().json.prompt)
      assert.equal(e1000, res.data[1].revised_prompt)
      local emoji = ("😀"):rep(1000)         -- 4000 bytes
      assert.is_table((c:image({ prompt = emoji })))
      assert.equal(emoji, H.last().json.prompt)
      H.reset()
      refused({ prompt = ("é"):rep(1001) }, "openai.image: 'prompt' must be at most 1000 characters")
    end)
  end)

  describe("n", function()
    local cases = {
      { 0, "openai.image: 'n' must be an integer from 1 to 10 (got 0)" },
      { 11, "openai.image: 'n' must be an integer from 1 to 10 (got 11)" },
      { 1.5, "openai.image: 'n' must be an integer from 1 to 10 (got 1.5)" },
      { -1, "openai.image: 'n' must be an integer from 1 to 10 (got -1)" },
      { "2", "openai.image: 'n' must be an integer from 1 to 10 (got '2')" },
      { 0 / 0, "openai.image: 'n' must be an integer from 1 to 10 (got nan)" },
    }
    for _, case in ipairs(cases) do
      it("refuses " .. tostring(case[1]), function()
        assert.equal(case[2], refused({ prompt = "x", n = case[1] }, "openai.image: 'n'"))
      end)
    end
  end)

  describe("size", function()
    for _, size in ipairs({ "1792x1024", "2048x2048", "1024", "", "auto" }) do
      it("refuses '" .. size .. "' (seed sizes only, without a model)", function()
        refused({ prompt = "x", size = size }, "openai.image: 'size' must be")
      end)
    end

    it("names the allowed sizes", function()
      assert.equal("openai.image: 'size' must be one of '256x256', '512x512', '1024x1024' (got '1792x1024')",
                   refused({ prompt = "x", size = "1792x1024" }, "openai.image: 'size'"))
    end)

    it("refuses a size that is not a string", function()
      refused({ prompt = "x", size = 1024 }, "openai.image: 'size' must be")
    end)
  end)

  describe("dall-e-2 (named)", function()
    it("has the documented rules", function()
      assert.is_table((c:image({ model = "dall-e-2", prompt = "x", size = "512x512", n = 10 })))
      assert.same({ model = "dall-e-2", prompt = "x", size = "512x512", n = 10 }, H.last().json)
      H.reset()
      refused({ model = "dall-e-2", prompt = "x", size = "1792x1024" }, "openai.image: 'size' must be")
      refused({ model = "dall-e-2", prompt = ("x"):rep(1001) }, "openai.image: 'prompt' must be at most 1000 characters")
    end)
  end)

  describe("dall-e-3", function()
    it("takes 1792x1024 and 1024x1792, and sends the model", function()
      for _, size in ipairs({ "1792x1024", "1024x1792", "1024x1024" }) do
        H.reset()
        local res, err = c:image({ model = "dall-e-3", prompt = "a wide landscape", size = size,
                                   quality = "hd", style = "vivid" })
        assert.is_nil(err)
        assert.is_table(res)
        assert.same({ model = "dall-e-3", prompt = "a wide landscape", size = size,
                      quality = "hd", style = "vivid" }, H.last().json)
      end
    end)

    it("leaves out the default size and n (1024x1024 and 1, the API's own for dall-e-3)", function()
      assert.is_table((c:image({ model = "dall-e-3", prompt = "x" })))
      assert.same({ model = "dall-e-3", prompt = "x" }, H.last().json)
    end)

    it("refuses n = 2", function()
      refused({ model = "dall-e-3", prompt = "x", n = 2 }, "openai.image: 'n' must be")
    end)

    it("refuses the small sizes", function()
      refused({ model = "dall-e-3", prompt = "x", size = "256x256" }, "openai.image: 'size' must be one of")
      refused({ model = "dall-e-3", prompt = "x", size = "512x512" }, "openai.image: 'size' must be one of")
    end)

    it("takes a 4000-character prompt, not 4001", function()
      local res, err = c:image({ model = "dall-e-3", prompt = ("é"):rep(4000) })
      assert.is_nil(err)
      assert.is_table(res)
      assert.equal(("é"):rep(4000), H.last().json.prompt)
      H.reset()
      refused({ model = "dall-e-3", prompt = ("x"):rep(4001) }, "openai.image: 'prompt' must be at most 4000 characters")
    end)
  end)

  describe("gpt-image-1", function()
    it("takes auto, 1536x1024, 1024x1536 and n up to 10", function()
      for _, size in ipairs({ "auto", "1536x1024", "1024x1536", "1024x1024" }) do
        H.reset()
        local res, err = c:image({ model = "gpt-image-1", prompt = "x", size = size, n = 10 })
        assert.is_nil(err)
        assert.equal(10, #res.data)
        assert.same({ model = "gpt-image-1", prompt = "x", size = size, n = 10 }, H.last().json)
      end
    end)

    it("sends the default size 1024x1024 (the API's own for gpt-image-1 is auto); n stays out", function()
      assert.is_table((c:image({ model = "gpt-image-1", prompt = "x" })))
      assert.same({ model = "gpt-image-1", prompt = "x", size = "1024x1024" }, H.last().json)
      -- a model the library has no rules for: the same
      assert.is_table((c:image({ model = "gpt-image-1-mini", prompt = "x" })))
      assert.same({ model = "gpt-image-1-mini", prompt = "x", size = "1024x1024" }, H.last().json)
    end)

    it("refuses the dall-e sizes and n = 11", function()
      refused({ model = "gpt-image-1", prompt = "x", size = "512x512" }, "openai.image: 'size' must be one of")
      refused({ model = "gpt-image-1", prompt = "x", size = "1792x1024" }, "openai.image: 'size' must be one of")
      refused({ model = "gpt-image-1", prompt = "x", n = 11 }, "openai.image: 'n' must be")
    end)

    it("takes a 32000-character prompt, not 32001", function()
      assert.is_table((c:image({ model = "gpt-image-1", prompt = ("x"):rep(32000) })))
      assert.equal(32000, #H.last().json.prompt)
      H.reset()
      refused({ model = "gpt-image-1", prompt = ("x"):rep(32001) }, "openai.image: 'prompt' must be at most 32000 characters")
    end)
  end)

  it("refuses a bad model name", function()
    refused({ model = "", prompt = "x" }, "openai.image: 'model' must be a non-empty string")
    refused({ model = "dall-e-3\n", prompt = "x" }, "openai.image: 'model' must not contain NUL, CR or LF")
  end)

  it("refuses params that are not a table, and a dot call", function()
    assert.equal("openai.image: 'params' must be a table (got 'a cat')", H.raises(c.image, c, "a cat"))
    assert.equal("openai.image: call it as client:image{...} or as openai.image{...}",
                 H.raises(c.image, { prompt = "a cat" }))
    assert.same({}, H.requests())
  end)

  it("openai.image uses the configured default client", function()
    openai.configure({ api_key = "sk-img", base_url = H.base })
    local res, err = openai.image({ prompt = "a cat", n = 2 })
    assert.is_nil(err)
    assert.equal(2, #res.data)
    local rec = H.last()
    assert.equal("/v1/images/generations", rec.path)
    assert.equal("Bearer sk-img", rec.headers["authorization"])
    assert.same({ prompt = "a cat", n = 2 }, rec.json)
  end)
end)
