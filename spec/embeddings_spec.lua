-- spec/embeddings_spec.lua: client:embeddings (Create Embeddings) and
-- client:moderation (Create Moderation).
local H = require "support.helper"
local openai = require "openai"
local cjson = require "cjson"

-- the stand-in's embedding j of dims values: exact in 4-byte floats
local function vector(j, dims)
  local v = {}
  for i = 1, dims do v[i] = (((j + 1) * i) % 7 - 3) / 4 end
  return v
end

describe("embeddings", function()
  local c

  before_each(function()
    H.reset()
    c = H.client()
  end)

  it("sends POST /v1/embeddings with the default model and asks for base64 by default", function()
    local res, err, meta = c:embeddings { input = "The food was delicious" }
    local rec = H.last()
    assert.equal("POST", rec.method)
    assert.equal("/v1/embeddings", rec.path)
    assert.equal("application/json", rec.headers["content-type"])
    assert.equal("application/json", rec.headers["accept"])
    assert.equal("Bearer " .. H.key, rec.headers["authorization"])
    assert.same({ input = "The food was delicious", model = "text-embedding-3-small",
                  encoding_format = "base64" }, rec.json)
    assert.is_nil(err)
    assert.equal(200, meta.status)
    assert.equal("list", res.object)
    assert.same(vector(0, 8), res.data[1].embedding)
    assert.equal(0, res.data[1].index)
  end)

  it("decodes every base64 embedding of an array input into numbers", function()
    local res, err = c:embeddings { input = { "a", "b", "c" }, dimensions = 5 }
    assert.is_nil(err)
    assert.equal(5, H.last().json.dimensions)
    assert.equal(3, #res.data)
    for j = 1, 3 do assert.same(vector(j - 1, 5), res.data[j].embedding) end
    -- the decoded result is still plain data: cjson encodes it
    assert.truthy(cjson.encode(res):find('"embedding":[-0.5,-0.25', 1, true))
  end)

  it("a base64 embedding that is not whole floats is a decode error", function()
    H.script("/v1/embeddings", { { json = { object = "list", model = "m",
      data = { { object = "embedding", index = 0, embedding = "AAAA" } } } } })
    local res, err, meta = c:embeddings { input = "x" }
    assert.is_nil(res)
    assert.equal("decode", err.kind)
    assert.truthy(err.message:find("^data%[1%]%.embedding is not base64 of 4%-byte floats: "), err.message)
    assert.equal(200, meta.status)
  end)

  it("encoding_format = 'float' is sent as asked and the numbers come back as sent", function()
    local res, err = c:embeddings { input = { "a", "b" }, encoding_format = "float", dimensions = 3,
                                    model = "text-embedding-3-large", user = "u1" }
    assert.is_nil(err)
    assert.same({ input = { "a", "b" }, model = "text-embedding-3-large", encoding_format = "float",
                  dimensions = 3, user = "u1" }, H.last().json)
    assert.same(vector(0, 3), res.data[1].embedding)
    assert.same(vector(1, 3), res.data[2].embedding)
  end)

  it("encoding_format = 'base64' asked explicitly returns the strings as the API sent them", function()
    local res, err = c:embeddings { input = "a", encoding_format = "base64", dimensions = 2 }
    assert.is_nil(err)
    assert.equal("base64", H.last().json.encoding_format)
    -- -0.5 and -0.25 as little-endian 4-byte floats
    assert.equal("AAAAvwAAgL4=", res.data[1].embedding)
  end)

  it("token arrays pass as they are", function()
    local _, err = c:embeddings { input = { { 1, 2, 3 } }, encoding_format = "float" }
    assert.is_nil(err)
    assert.same({ { 1, 2, 3 } }, H.last().json.input)
  end)

  it("call options are not sent in the body", function()
    local _, err = c:embeddings { input = "a", encoding_format = "float", timeout = 5000,
                                  max_retries = 0, headers = { ["X-Trace"] = "t1" } }
    assert.is_nil(err)
    local rec = H.last()
    assert.same({ input = "a", model = "text-embedding-3-small", encoding_format = "float" }, rec.json)
    assert.equal("t1", rec.headers["x-trace"])
  end)

  it("refuses bad arguments naming the field, with nothing sent", function()
    local cases = {
      { { input = 3 }, "openai.embeddings: 'input' must be a non-empty string or array (got 3)" },
      { { input = "" }, "openai.embeddings: 'input' must be a non-empty string or array (got '')" },
      { { input = {} }, "openai.embeddings: 'input' must be a non-empty string or array (got a table)" },
      { { input = { "a", "" } }, "openai.embeddings: 'input[2]' must be a non-empty UTF-8 string (got '')" },
      { { input = { "a", true } },
        "openai.embeddings: 'input[2]' must be a string, a token number or an array (got true)" },
      { { input = "a", model = 5 }, "openai.embeddings: 'model' must be a non-empty string (got 5)" },
      { { input = "a", dimensions = 0 }, "openai.embeddings: 'dimensions' must be an integer >= 1 (got 0)" },
      { { input = "a", encoding_format = "hex" },
        "openai.embeddings: 'encoding_format' must be one of 'float', 'base64' (got 'hex')" },
      { { input = "a", timeout = -1 },
        "openai.embeddings: 'timeout' must be a whole number of milliseconds > 0 (got -1)" },
    }
    for _, case in ipairs(cases) do
      assert.equal(case[2], H.raises(c.embeddings, c, case[1]))
    end
    assert.equal("openai.embeddings: 'params' must be a table (got 'x')", H.raises(c.embeddings, c, "x"))
    assert.equal(0, #H.requests())
  end)

  it("the module function uses the default client", function()
    openai.configure { api_key = H.key, base_url = H.base }
    local res, err = openai.embeddings { input = "a", encoding_format = "float", dimensions = 2 }
    assert.is_nil(err)
    assert.same(vector(0, 2), res.data[1].embedding)
  end)

  it("on Azure, embeddings go to the deployment", function()
    local az = H.client { base_url = H.url .. "/openai", azure = { api_version = "2024-10-21", deployment = "emb" } }
    local _, err = az:embeddings { input = "a", encoding_format = "float" }
    assert.is_nil(err)
    local rec = H.last()
    assert.equal("/openai/deployments/emb/embeddings", rec.path)
    assert.equal("api-version=2024-10-21", rec.query)
    assert.equal(H.key, rec.headers["api-key"])
  end)
end)

describe("moderation", function()
  local c

  before_each(function()
    H.reset()
    c = H.client()
  end)

  it("sends POST /v1/moderations without a model by default (the API's own is omni-moderation-latest)", function()
    local res, err, meta = c:moderation { input = "I want to kill them." }
    assert.is_nil(err)
    local rec = H.last()
    assert.equal("POST", rec.method)
    assert.equal("/v1/moderations", rec.path)
    assert.same({ input = "I want to kill them." }, rec.json)
    assert.equal(200, meta.status)
    assert.is_true(res.results[1].flagged)
    assert.is_true(res.results[1].categories.violence)
    assert.equal("omni-moderation-latest", res.model)
  end)

  it("takes an array input and another model", function()
    local res, err = c:moderation { input = { "hello", "kill" }, model = "text-moderation-latest" }
    assert.is_nil(err)
    assert.same({ input = { "hello", "kill" }, model = "text-moderation-latest" }, H.last().json)
    assert.is_false(res.results[1].flagged)
    assert.is_true(res.results[2].flagged)
  end)

  it("refuses bad arguments naming the field, with nothing sent", function()
    assert.equal("openai.moderation: 'input' must be a non-empty string or array (got nil)",
                 H.raises(c.moderation, c, {}))
    assert.equal("openai.moderation: 'model' must be a non-empty string (got false)",
                 H.raises(c.moderation, c, { input = "a", model = false }))
    assert.equal(0, #H.requests())
  end)
end)
