-- spec/json_decode_spec.lua: what openai.json's decode gives back, whichever
-- decoder reads the text. The C decoder (src/ljson.c) takes the texts the
-- API sends and must give exactly what lua-cjson gives; what it declines
-- (ljson.h lists it) goes to cjson, which gives the same value or its own
-- error. The expected value of every text is cjson's, with each empty array
-- told from an empty object by a scan of the text here (cjson 2.1.0 makes
-- both plain tables; the client keeps [] as arrays, {} as objects). Then
-- the same through the real transport: streams whose events mix both
-- paths, and typed answers holding [] and {}.

local H = require "support.helper"
local openai = require "openai"
local json = require "openai.json"
local wire = require "openai.wire"
local cjson_module = require "cjson"

local cjson = cjson_module.new()            -- cjson's defaults, whatever other specs set
local c_decode = wire.json_decoder(json.array_mt)
-- a newer lua-cjson marks arrays itself; then decode_object uses it, not C
local NATIVE = cjson_module.decode_array_with_array_mt ~= nil

local format, rep, concat = string.format, string.rep, table.concat
local BOM = "\239\187\191"

-- {=================================================================
-- the expected value: cjson's, with empty arrays marked

local EMPTY_ARRAY = "\0spec: an empty array\0"
local EMPTY_ARRAY_JSON = '"\\u0000spec: an empty array\\u0000"'

-- s with every empty array outside strings replaced by EMPTY_ARRAY_JSON
local function mark_empty_arrays(s)
  local out, from, i = {}, 1, 1
  while true do
    local j = s:find('["%[]', i)
    if not j then break end
    if s:byte(j) == 34 then                      -- a string: to its closing quote
      local k = j + 1
      while true do
        local q = s:find('["\\]', k)
        if not q then return s end             -- unterminated: cjson says so
        if s:byte(q) == 92 then k = q + 2 else k = q + 1; break end
      end
      i = k
    else
      local _, e = s:find("^[ \t\r\n]*%]", j + 1)
      if e then
        out[#out + 1] = s:sub(from, j - 1)
        out[#out + 1] = EMPTY_ARRAY_JSON
        from = e + 1
      end
      i = (e or j) + 1
    end
  end
  out[#out + 1] = s:sub(from)
  return concat(out)
end

-- what decoding s must give: true, value; or false, cjson's message
local function expected(s)
  local ok, v = pcall(cjson.decode, s)
  if not ok then return false, v end
  return true, cjson.decode(mark_empty_arrays(s))
end

local function show(v)
  if type(v) == "string" then
    local q = format("%q", #v > 60 and v:sub(1, 60) .. "..." or v)
    return q
  end
  if type(v) == "table" then
    return next(v) == nil and (json.is_array(v) and "[] (an array)" or "{} (an object)") or "a table"
  end
  return tostring(v)
end

-- nil when got is want (as expected() gives it: types, -0, strings, keys,
-- [] against {}); else where and how they differ
local function differ(want, got, path)
  path = path or "$"
  if want == EMPTY_ARRAY then
    if type(got) == "table" and next(got) == nil and json.is_array(got) then return nil end
    return path .. ": want [] (an array), got " .. show(got)
  end
  if type(want) ~= type(got) then
    return path .. ": want " .. show(want) .. ", got " .. show(got) .. " (a " .. type(got) .. ")"
  end
  if type(want) == "number" then
    if want ~= want then
      if got ~= got then return nil end
    elseif want == got and tostring(want) == tostring(got) and (want ~= 0 or 1 / want == 1 / got) then
      return nil
    end
    return path .. format(": want %.17g (%s), got %.17g (%s)", want, tostring(want), got, tostring(got))
  end
  if type(want) ~= "table" then
    if want == got then return nil end
    return path .. ": want " .. show(want) .. ", got " .. show(got)
  end
  if next(want) == nil then
    if next(got) == nil and not json.is_array(got) then return nil end
    return path .. ": want {} (an object), got " .. show(got)
  end
  for k, v in pairs(want) do
    local d = differ(v, got[k], path .. "." .. tostring(k))
    if d then return d end
  end
  for k in pairs(got) do
    if want[k] == nil then return path .. ": an extra key " .. show(k) end
  end
  return nil
end

local function has(text, needle)
  assert(text:find(needle, 1, true), "expected " .. needle .. " in " .. text)
end

-- a decoded answer sent back through openai.json's encode has the shape of
-- the text it came from: every [] an array, every {} an object
local function reencodes_as(v, text, what)
  -- the expected value of the encoded text, its empty arrays as marked tables
  local function as_decoded(x)
    if x == EMPTY_ARRAY then return json.array() end
    if type(x) == "table" then
      for k, y in pairs(x) do x[k] = as_decoded(y) end
    end
    return x
  end
  local _, want = expected(text)
  local ok, back = expected(json.encode(v))
  assert(ok, what .. ": its encoding is not JSON")
  local d = differ(want, as_decoded(back))
  assert(d == nil, what .. ": re-encoded: " .. tostring(d))
end

-- {=================================================================
-- the corpus

-- a pseudo-random sequence in [0, 1) (Park-Miller: exact in doubles, so
-- the same on every Lua)
local function sequence(seed)
  local x = seed
  return function()
    x = (x * 16807) % 2147483647
    return x / 2147483647
  end
end

-- an embedding answer as the API sends it (indented), n floats
local function embedding_body(n)
  local rnd, floats = sequence(42), {}
  for i = 1, n do
    local v = (rnd() - 0.5) * 0.12
    if i % 97 == 0 then v = v / 10000 end      -- some written with an exponent
    floats[i] = format(i % 3 == 0 and "%.17g" or "%.10g", v)
  end
  return '{\n  "object": "list",\n  "data": [\n    {\n      "object": "embedding",\n      "index": 0,\n'
    .. '      "embedding": [\n        ' .. concat(floats, ",\n        ") .. '\n      ]\n    }\n  ],\n'
    .. '  "model": "text-embedding-3-small",\n  "usage": {\n    "prompt_tokens": 8,\n    "total_tokens": 8\n  }\n}\n'
end

local function models_body()
  local ids = { "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "gpt-4o", "gpt-4o-mini", "o3", "o3-mini",
                "o4-mini", "gpt-4-turbo", "gpt-3.5-turbo", "text-embedding-3-small",
                "text-embedding-3-large", "text-embedding-ada-002", "whisper-1", "tts-1", "tts-1-hd",
                "dall-e-3", "dall-e-2", "omni-moderation-latest", "gpt-image-1",
                "ft:gpt-4o-mini-2024-07-18:acme::9XyZ12ab" }
  local items = {}
  for i, id in ipairs(ids) do
    items[i] = format('    {\n      "id": "%s",\n      "object": "model",\n      "created": %d,\n'
                      .. '      "owned_by": "%s"\n    }', id, 1686935002 + i * 86400,
                      id:find("^ft:") and "acme-org" or "system")
  end
  return '{\n  "object": "list",\n  "data": [\n' .. concat(items, ",\n") .. '\n  ]\n}\n'
end

local CHAT_COMPLETION = [[{
  "id": "chatcmpl-BSaOr6Qz2yLb0E0k8nVcW3hXyTqPf",
  "object": "chat.completion",
  "created": 1746005537,
  "model": "gpt-4.1-2025-04-14",
  "choices": [
    {
      "index": 0,
      "message": {
        "role": "assistant",
        "content": "Here is a haiku:\n\n\"Silent pond at dawn \u2014\nA frog leaps in \ud83d\udc38\" \u2014 caf\u00e9 \\ done.",
        "refusal": null,
        "annotations": []
      },
      "logprobs": null,
      "finish_reason": "stop"
    }
  ],
  "usage": {
    "prompt_tokens": 19,
    "completion_tokens": 27,
    "total_tokens": 46,
    "prompt_tokens_details": {
      "cached_tokens": 0,
      "audio_tokens": 0
    },
    "completion_tokens_details": {
      "reasoning_tokens": 0,
      "audio_tokens": 0,
      "accepted_prediction_tokens": 0,
      "rejected_prediction_tokens": 0
    }
  },
  "service_tier": "default",
  "system_fingerprint": "fp_b38e740b47"
}
]]

local TOOL_CALL_COMPLETION = '{"id":"chatcmpl-T","object":"chat.completion","created":1746005538,'
  .. '"model":"gpt-4.1-mini-2025-04-14","choices":[{"index":0,"message":{"role":"assistant",'
  .. '"content":null,"tool_calls":[{"id":"call_Xo3mK9","type":"function","function":'
  .. '{"name":"get_weather","arguments":"{\\"location\\":\\"Paris, France\\",\\"unit\\":\\"celsius\\"}"}},'
  .. '{"id":"call_Yp4nL0","type":"function","function":{"name":"get_time","arguments":"{}"}}],'
  .. '"refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"tool_calls"}],'
  .. '"usage":{"prompt_tokens":82,"completion_tokens":41,"total_tokens":123},"service_tier":"default",'
  .. '"system_fingerprint":"fp_6f2eabb9a5"}'

local CHUNK_FIRST = '{"id":"chatcmpl-BSaOr6Qz2yLb0E0k8nVcW3hXyTqPf","object":"chat.completion.chunk",'
  .. '"created":1746005537,"model":"gpt-4.1-2025-04-14","service_tier":"default",'
  .. '"system_fingerprint":"fp_b38e740b47","choices":[{"index":0,"delta":{"role":"assistant",'
  .. '"content":"","refusal":null},"logprobs":null,"finish_reason":null}],"obfuscation":"q3"}'
local CHUNK = '{"id":"chatcmpl-BSaOr6Qz2yLb0E0k8nVcW3hXyTqPf","object":"chat.completion.chunk",'
  .. '"created":1746005537,"model":"gpt-4.1-2025-04-14","service_tier":"default",'
  .. '"system_fingerprint":"fp_b38e740b47","choices":[{"index":0,"delta":{"content":" ripples"},'
  .. '"logprobs":null,"finish_reason":null}],"obfuscation":"Xk2vQ"}'
local CHUNK_USAGE = '{"id":"chatcmpl-BSaOr6Qz2yLb0E0k8nVcW3hXyTqPf","object":"chat.completion.chunk",'
  .. '"created":1746005537,"model":"gpt-4.1-2025-04-14","service_tier":"default",'
  .. '"system_fingerprint":"fp_b38e740b47","choices":[],"usage":{"prompt_tokens":19,'
  .. '"completion_tokens":27,"total_tokens":46,"prompt_tokens_details":{"cached_tokens":0,'
  .. '"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,'
  .. '"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}'

local RESPONSE_OBJECT = '{"id":"resp_68124c1b0f2c8191a2","object":"response","created_at":1746030619,'
  .. '"status":"%s","background":false,"error":null,"incomplete_details":null,"instructions":null,'
  .. '"max_output_tokens":null,"model":"gpt-4.1-2025-04-14","output":%s,"parallel_tool_calls":true,'
  .. '"previous_response_id":null,"reasoning":{"effort":null,"summary":null},"service_tier":"default",'
  .. '"store":true,"temperature":1.0,"text":{"format":{"type":"text"}},"tool_choice":"auto","tools":[],'
  .. '"top_p":1.0,"truncation":"disabled","usage":%s,"user":null,"metadata":{}}'
local OUTPUT = '[{"id":"msg_68124c1c6f1c8191","type":"message","status":"completed","content":'
  .. '[{"type":"output_text","annotations":[],"logprobs":[],"text":"Hello world"}],"role":"assistant"}]'
local RESP_USAGE = '{"input_tokens":11,"input_tokens_details":{"cached_tokens":0},"output_tokens":3,'
  .. '"output_tokens_details":{"reasoning_tokens":0},"total_tokens":14}'

local RESPONSE_CREATED = '{"type":"response.created","sequence_number":0,"response":'
  .. format(RESPONSE_OBJECT, "in_progress", "[]", "null") .. '}'
local RESPONSE_DELTA = '{"type":"response.output_text.delta","sequence_number":4,'
  .. '"item_id":"msg_68124c1c6f1c8191","output_index":0,"content_index":0,"delta":" world","logprobs":[]}'
local RESPONSE_COMPLETED = '{"type":"response.completed","sequence_number":7,"response":'
  .. format(RESPONSE_OBJECT, "completed", OUTPUT, RESP_USAGE) .. '}'

local API_ERROR = '{\n  "error": {\n    "message": "Incorrect API key provided: sk-proj-****abcd.",\n'
  .. '    "type": "invalid_request_error",\n    "param": null,\n    "code": "invalid_api_key"\n  }\n}\n'

-- what the API sends: the C decoder takes every one
local API_TEXTS = {
  { "a chat completion (indented, escapes, a surrogate pair, [] and null)", CHAT_COMPLETION },
  { "a chat completion with tool calls", TOOL_CALL_COMPLETION },
  { "a chat chunk, the first", CHUNK_FIRST },
  { "a chat chunk", CHUNK },
  { "a chat chunk with the usage and no choices", CHUNK_USAGE },
  { "a response.created event ([] and {} beside each other)", RESPONSE_CREATED },
  { "a response.output_text.delta event", RESPONSE_DELTA },
  { "a response.completed event", RESPONSE_COMPLETED },
  { "an embedding answer with 1536 floats", embedding_body(1536) },
  { "a models list", models_body() },
  { "an API error body", API_ERROR },
}

-- an object of n keys "k1".."kn" with values 1..n
local function object_of(n)
  local parts = {}
  for i = 1, n do parts[i] = format('"k%d":%d', i, i) end
  return "{" .. concat(parts, ",") .. "}"
end

-- an array of the numbers 1..n
local function array_of(n)
  local parts = {}
  for i = 1, n do parts[i] = tostring(i) end
  return "[" .. concat(parts, ",") .. "]"
end

-- inner nested in n arrays (or objects under key "a")
local function nested(n, inner, objects)
  if objects then return rep('{"a":', n) .. inner .. rep("}", n) end
  return rep("[", n) .. inner .. rep("]", n)
end

-- n levels of objects, each holding 15 pairs before the next level (the
-- most values that wait on the Lua stack at each level)
local function wide_nested(n)
  local pairs15 = {}
  for i = 1, 15 do pairs15[i] = format('"p%d":%d', i, i) end
  local head = "{" .. concat(pairs15, ",") .. ',"next":'
  return rep(head, n - 1) .. object_of(15) .. rep("}", n - 1)
end

-- a string of escaped length span (from the opening quote's next byte to
-- the closing quote), its escape first or last
local function escaped(span, last)
  local plain = rep("x", span - 2)
  return '"' .. (last and plain .. "\\n" or "\\n" .. plain) .. '"'
end

local ALL_ESCAPES = '"q\\" b\\\\ s\\/ bs\\b ff\\f nl\\n cr\\r tab\\t"'

-- edge cases the C decoder takes
local C_TEXTS = {
  { "an object of 15 keys", object_of(15) },
  { "an object of 16 keys", object_of(16) },
  { "an object of 17 keys", object_of(17) },
  { "an object of 40 keys", object_of(40) },
  { "an array of 15 elements", array_of(15) },
  { "an array of 16 elements", array_of(16) },
  { "an array of 17 elements", array_of(17) },
  { "an array of 1000 elements", array_of(1000) },
  { "arrays nested 64 deep", nested(64, "1") },
  { "objects nested 64 deep", nested(64, "true", true) },
  { "64 levels, the innermost []", nested(63, "[]") },
  { "64 levels, the innermost {}", nested(63, "{}", true) },
  { "64 levels of objects with 15 pairs each", wide_nested(64) },
  { "64 levels of arrays with 15 values each", rep("[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,", 63)
                                                .. "[]" .. rep("]", 63) },
  { "duplicate keys: the last wins", '{"a":1,"b":2,"a":3}' },
  { "duplicate keys: {} after []", '{"a":[],"a":{}}' },
  { "duplicate keys: [] after {}", '{"a":{},"a":[]}' },
  { "duplicate keys beyond the first 16", (object_of(20):gsub('"k18"', '"k2"')) },
  { "duplicate keys, one of them escaped", '{"\195\169":1,"\\u00e9":2}' },
  { "-0", "-0" },
  { "-0.0", "-0.0" },
  { "0", "0" },
  { "-0 inside an array and an object", '[-0,{"z":-0}]' },
  { "a 15-digit integer", "999999999999999" },
  { "a negative 15-digit integer", "-123456789012345" },
  { "a 16-digit integer", "9007199254740993" },
  { "a 16-digit integer, 10^15", "1000000000000000" },
  { "a 20-digit integer", "12345678901234567890" },
  { "1e400", "1e400" },
  { "-1e400", "-1e400" },
  { "1e-400", "1e-400" },
  { "1.5e-3", "1.5e-3" },
  { "1E+2 and 1e-2", "[1E+2,1e-2,2.5E3]" },
  { "0.1", "0.1" },
  { "the largest double", "1.7976931348623157e308" },
  { "the smallest subnormal", "4.9e-324" },
  { "a 17-digit float", "0.30000000000000004" },
  { "a string with every escape", ALL_ESCAPES },
  { "\\u00e9", '"caf\\u00e9"' },
  { "\\u escapes of 1, 2 and 3 UTF-8 bytes, upper and lower hex",
    '"\\u0041\\u007f\\u0080\\u07FF\\u0800\\u20ac\\uFFFF"' },
  { "surrogate pairs", '"\\ud83d\\ude00 \\uD83D\\uDC38 \\ud800\\udc00 \\udbff\\udfff"' },
  { "\\u0000", '"a\\u0000b"' },
  { "escaped strings of 255, 256 and 257 bytes",
    "[" .. escaped(255) .. "," .. escaped(256) .. "," .. escaped(257) .. "]" },
  { "escaped strings of 256 and 257 bytes, the escape last", "[" .. escaped(256, true) .. "," .. escaped(257, true) .. "]" },
  { "an escaped string of 10000 bytes", escaped(10000) },
  { "a string of 600 bytes of \\u escapes", '"' .. rep("\\u00e9", 100) .. '"' },
  { "a plain string of 100000 bytes", '"' .. rep("abcdefgh", 12500) .. '"' },
  { "UTF-8 as it is", '"caf\195\169 \226\156\147 \240\159\152\128"' },
  { "bytes that are not UTF-8 (kept as cjson keeps them)", '"\255\254"' },
  { "empty strings as a key and a value", '{"":"","a":["",""]}' },
  { "[] and {} side by side", '[[],{}]' },
  { "[] and {} side by side in an object", '{"a":[],"b":{},"c":[ ],"d":{ }}' },
  { "[] and {} nested", '[[[]],{"x":{}},{"y":[[],{}]},[{}]]' },
  { "[] and {} and strings that look like them", '{"s":"[]","t":"{}","u":"\\"[]","v":[],"w":{}}' },
  { "whitespace everywhere", ' \t\r\n{ "a" \n:\t[ 1 ,\r\n2 ] , "b" : { } ,"c":[\n]\t} \r\n' },
  { "a top-level number", "42" },
  { "a top-level number in whitespace", "  -1.5\n" },
  { "a top-level string", '"s"' },
  { "a top-level empty string", '""' },
  { "true", "true" },
  { "false", "false" },
  { "null", "null" },
  { "nulls in an array", "[null,null,1]" },
  { "a top-level []", "[]" },
  { "a top-level {}", " { } " },
}

-- what the C decoder declines: cjson decides (a value or its error)
local DECLINED = {
  { "arrays nested 65 deep", nested(65, "1") },
  { "objects nested 65 deep", nested(65, "1", true) },
  { "65 levels, the innermost [] and {}", nested(63, '[[],{}]') },
  { "arrays nested 1001 deep (cjson's limit)", nested(1001, "1") },
  { "a tab in a string", '"a\tb"' },
  { "a newline in a string", '{"a":"x\ny","e":[],"o":{}}' },
  { "a byte 0x01 and 0x1f in a string", '["\1","\31"]' },
  { "an unknown escape \\x", '"\\x41"' },
  { "an unknown escape \\v", '"\\v"' },
  { "an unknown escape \\'", '"\\\'"' },
  { "an escape \\U", '"\\U00e9"' },
  { "a \\u escape with a bad hex digit", '"\\u12g4"' },
  { "a \\u escape cut short", '"\\u00"' },
  { "a lone high surrogate", '"\\ud800"' },
  { "a lone high surrogate before text", '"\\ud800x"' },
  { "a lone low surrogate", '"\\udc00"' },
  { "surrogates in the wrong order", '"\\udc00\\ud800"' },
  { "a high surrogate before a non-surrogate escape", '"\\ud800\\u0041"' },
  { "two high surrogates", '"\\ud800\\ud800"' },
  { "a hex number", "0x10" },
  { "a negative hex number", "-0x10" },
  { "a hex number with upper case", "0X1F" },
  { "a hex float", "0x1p4" },
  { "a hex number in an object with [] and {}", '{"n":0x10,"a":[],"o":{}}' },
  { "inf", "inf" },
  { "-inf", "-inf" },
  { "Infinity", "Infinity" },
  { "nan", "nan" },
  { "NaN in an array", "[NaN]" },
  { "a leading zero", "01" },
  { "a negative leading zero", "-01" },
  { "a leading +", "+1" },
  { "a point without digits after it", "1." },
  { "a point without digits before an exponent", "1.e5" },
  { "a point without digits before it", ".5" },
  { "a lone minus", "-" },
  { "an exponent without digits", "1e" },
  { "an exponent sign without digits", "[1e+]" },
  { "two points", "0.5.5" },
  { "a form feed before the value", "\f1" },
  { "a vertical tab in an array", "[1,\v2]" },
  { "a no-break space before the value", "\194\160[1]" },
  { "a form feed after the value", "1\f" },
  { "bytes after the value", "[1] x" },
  { "two values", "{}{}" },
  { "a second closing brace", '{"a":1}}' },
  { "a NUL after the value, then bytes", "[1]\0x" },
  { "a NUL in a string", '"a\0b"' },
  { "a NUL alone", "\0" },
  { "an empty text", "" },
  { "only whitespace", " \n" },
  { "a trailing comma in an array", "[1,]" },
  { "a trailing comma in an object", '{"a":1,}' },
  { "a key without quotes", "{a:1}" },
  { "a missing comma", "[1 2]" },
  { "a missing colon", '{"a" 1}' },
  { "an unterminated string", '"abc' },
  { "an unterminated array", "[1," },
  { "tru", "tru" },
  { "nulll", "nulll" },
  { "True", "True" },
  { "[] and {} before invalid JSON", '{"a":[],"b":{},"c":tru}' },
  { "[] and {} in an array before invalid JSON", "[[],{},tru]" },
  { "[] before invalid JSON", "[[],tru]" },
}

-- a byte-order mark: declined by the C decoder, skipped by openai.json
local BOM_TEXTS = {
  { "a BOM before an object", BOM .. '{"a":[],"b":{}}' },
  { "a BOM before an array", BOM .. " [1]" },
  { "a BOM before invalid JSON", BOM .. "[1,]" },
}

-- {=================================================================
-- the checks

-- the C decoder took s: 1 value, or declined it: none
local function took(s)
  return select("#", c_decode(s)) == 1
end

-- json.decode(s) gives what cjson gives for plain (s itself, or s without
-- its byte-order mark): the same value, or nil and cjson's message
local function decodes_as_cjson(name, s, plain)
  local ok, want = expected(plain or s)
  local v, err = json.decode(s)
  if ok then
    assert.is_nil(err, name)
    local d = differ(want, v)
    assert(d == nil, name .. ": json.decode: " .. tostring(d))
  else
    assert(v == nil, name .. ": json.decode gave a value where cjson fails: " .. show(v))
    assert.equal(want, err, name)
  end
  return ok, want
end

-- decode_object(s): the value, when it is an object the C decoder takes
-- (after a byte-order mark); else nothing
local function decode_object_checks(name, s, in_c, ok, want)
  if NATIVE then return end
  local is_object = ok and type(want) == "table" and want[1] == nil
  local n, got = select("#", json.decode_object(s)), json.decode_object(s)
  if in_c and is_object then
    local d = differ(want, got)
    assert(d == nil, name .. ": decode_object: " .. tostring(d))
  else
    assert(n == 0, name .. ": decode_object gave " .. show(got))
  end
end

-- s is taken by the C decoder and decodes, by every path, to cjson's value
local function taken_as_cjson(name, s)
  assert(took(s), name .. ": the C decoder declined it")
  local ok, want = expected(s)
  assert(ok, name .. ": cjson refused it: " .. tostring(want))
  local d = differ(want, (c_decode(s)))
  assert(d == nil, name .. ": the C decoder: " .. tostring(d))
  decodes_as_cjson(name, s)
  decode_object_checks(name, s, true, ok, want)
end

describe("openai.json decode", function()
  describe("the texts the API sends: the C decoder, as cjson", function()
    for _, c in ipairs(API_TEXTS) do
      local name, s = c[1], c[2]
      it(name, function() taken_as_cjson(name, s) end)
    end

    it("the embedding's floats are the numbers written, all 1536", function()
      local s = embedding_body(1536)
      local v = json.decode(s)
      local floats = v.data[1].embedding
      assert.equal(1536, #floats)
      local i = 0
      for text in s:gmatch("\n        (%-?[%d.e%-]+)") do
        i = i + 1
        assert.equal(tonumber(text), floats[i], text)
      end
      assert.equal(1536, i)
    end)
  end)

  describe("edge cases the C decoder takes, as cjson", function()
    for _, c in ipairs(C_TEXTS) do
      local name, s = c[1], c[2]
      it(name, function() taken_as_cjson(name, s) end)
    end

    it("keeps -0 negative, and numbers past 15 digits as strtod reads them", function()
      assert.equal(-math.huge, 1 / json.decode("-0"))
      assert.equal(-math.huge, 1 / json.decode("[-0]")[1])
      assert.equal(9007199254740992, json.decode("9007199254740993"))
      assert.equal(999999999999999, json.decode("999999999999999"))
      assert.equal(math.huge, json.decode("1e400"))
      assert.equal(0.0015, json.decode("1.5e-3"))
    end)

    it("gives the strings their bytes: escapes, surrogate pairs, \\u0000, long ones", function()
      assert.equal('q" b\\ s/ bs\b ff\f nl\n cr\r tab\t', json.decode(ALL_ESCAPES))
      assert.equal("caf\195\169", json.decode('"caf\\u00e9"'))
      assert.equal("\240\159\152\128 \240\159\144\184 \240\144\128\128 \244\143\191\191",
                   json.decode('"\\ud83d\\ude00 \\uD83D\\uDC38 \\ud800\\udc00 \\udbff\\udfff"'))
      assert.equal("a\0b", json.decode('"a\\u0000b"'))
      local long = json.decode(escaped(10000))
      assert.equal(9999, #long)
      assert.equal("\n" .. rep("x", 9998), long)
    end)

    it("keeps the last of duplicate keys, and [] as an array, {} as an object", function()
      local v = json.decode('{"a":{},"a":[],"b":[],"b":{},"c":[[],{}]}')
      assert.is_true(json.is_array(v.a))
      assert.is_false(json.is_array(v.b))
      assert.is_true(json.is_array(v.c[1]))
      assert.is_false(json.is_array(v.c[2]))
      reencodes_as({ a = v.a, b = v.b, c = v.c }, '{"a":[],"b":{},"c":[[],{}]}', "the value")
    end)
  end)

  describe("what the C decoder declines goes to cjson: its value or its error", function()
    for _, c in ipairs(DECLINED) do
      local name, s = c[1], c[2]
      it(name, function()
        assert(not took(s), name .. ": the C decoder took it")
        local ok, want = decodes_as_cjson(name, s)
        decode_object_checks(name, s, false, ok, want)
      end)
    end

    for _, c in ipairs(BOM_TEXTS) do
      local name, s = c[1], c[2]
      it(name .. ": skipped, then as cjson decodes the rest", function()
        assert(not took(s), name .. ": the C decoder took it")
        local plain = s:sub(4)
        local ok, want = decodes_as_cjson(name, s, plain)
        decode_object_checks(name, s, took(plain), ok, want)
      end)
    end

    it("a value cjson takes beyond the C decoder's depth keeps its [] and {}", function()
      local v = json.decode(nested(70, '{"a":[],"o":{},"n":0x10}'))
      for _ = 1, 70 do v = v[1] end
      assert.is_true(json.is_array(v.a))
      assert.is_false(json.is_array(v.o))
      assert.equal(16, v.n)
    end)
  end)
end)

-- {=================================================================
-- through the transport, against the stand-in

local CHAT = "/v1/chat/completions"
local RESP = "/v1/responses"

-- a chat chunk's data around a delta text and extra members
local function chat_chunk(delta, extra)
  return '{"id":"chatcmpl-J","object":"chat.completion.chunk","created":1746005537,'
    .. '"model":"gpt-4.1-2025-04-14","system_fingerprint":"fp_b38e740b47"' .. (extra or "")
    .. ',"choices":[{"index":0,"delta":' .. delta .. ',"logprobs":null,"finish_reason":null}]}'
end

describe("decoding through the transport", function()
  local client

  before_each(function()
    H.reset()
    client = H.client { api_key = "sk-" .. ("T3BlbkFJ4xQ9mZ2vK7wR"):rep(3):sub(1, 48) }
  end)

  after_each(function()
    assert.equal(0, H.live())
  end)

  it("a chat stream whose events take either decoder hands each chunk over as cjson decodes it", function()
    local events = {
      { chat_chunk('{"role":"assistant","content":""}'), c = true },
      { chat_chunk('{"content":"Line one\\nshe said \\"hi\\" caf\\u00e9 \\ud83d\\ude00"}'), c = true },
      { chat_chunk('{"content":" [hex]"}', ',"x_seq":0x1F'), c = false },
      { chat_chunk('{"content":" deep"}', ',"x_deep":' .. nested(70, '[1,[],{}]') .. ',"x_empty":[],"x_obj":{}'),
        c = false },
      { chat_chunk('{"content":" tab\there"}'), c = false },
      { chat_chunk('{}', ',"x_meta":{},"x_list":[]'), c = true },
    }
    local items = {}
    for i, e in ipairs(events) do
      assert(took(e[1]) == e.c, "event " .. i .. ": which decoder takes it")
      items[i] = { data = e[1] }
    end
    items[#items + 1] = { data = "[DONE]" }
    H.script(CHAT, { { sse = items } })
    local s = assert(client:chat_stream { messages = H.msgs() })
    local got = {}
    for chunk in s:each() do got[#got + 1] = chunk end
    assert.equal(#events, #got)
    for i, e in ipairs(events) do
      local _, want = expected(e[1])
      local d = differ(want, got[i])
      assert(d == nil, "event " .. i .. ": " .. tostring(d))
    end
    assert.equal(31, got[3].x_seq)
    local r = s:result()
    assert.equal('Line one\nshe said "hi" caf\195\169 \240\159\152\128 [hex] deep tab\there',
                 r.choices[1].message.content)
    assert.equal(r.choices[1].message.content, s:text())
  end)

  it("a chat event with a lone surrogate raises kind decode with cjson's message", function()
    local bad = chat_chunk('{"content":"broken \\ud800 half"}')
    assert.is_false(took(bad))
    local ok, cjson_err = pcall(cjson.decode, bad)
    assert.is_false(ok)
    H.script(CHAT, { { sse = { { data = chat_chunk('{"content":"a"}') }, { data = bad },
                               { data = chat_chunk('{"content":"b"}') }, { data = "[DONE]" } } } })
    local s = assert(client:chat_stream { messages = H.msgs() })
    local got = {}
    local raised, err = pcall(function()
      for chunk in s:each() do got[#got + 1] = chunk end
    end)
    assert.is_false(raised)
    assert.equal(1, #got)
    assert.is_true(openai.is_error(err))
    assert.equal("decode", err.kind)
    assert.equal("an event of the stream is not valid JSON: " .. cjson_err, err.message)
    local again, err2 = pcall(s.result, s)
    assert.is_false(again)
    assert.equal(err.message, err2.message)
  end)

  it("an answer and an event that are not JSON, holding [] and {}, say cjson's message about them", function()
    local body = '{"id":"chatcmpl-X","choices":[],"metadata":{},"n":tru}'
    local event = chat_chunk('{"content":"x"}', ',"x_list":[],"x_obj":{},"n":tru')
    local _, body_err = pcall(cjson.decode, body)
    local _, event_err = pcall(cjson.decode, event)
    H.script(CHAT, { { body = body }, { sse = { { data = event }, { data = "[DONE]" } } } })
    local res, err = client:chat { messages = H.msgs() }
    assert.is_nil(res)
    assert.equal("decode", err.kind)
    assert.equal("the response body is not valid JSON: " .. body_err, err.message)
    local s = assert(client:chat_stream { messages = H.msgs() })
    local ok, serr = pcall(s.next, s)
    assert.is_false(ok)
    assert.equal("decode", serr.kind)
    assert.equal("an event of the stream is not valid JSON: " .. event_err, serr.message)
  end)

  -- a chat completion holding [] and {} in several places, indented as the
  -- API sends it; %s: the content text
  local BOTH = [[{
  "id": "chatcmpl-E", "object": "chat.completion", "created": 1746005537, "model": "gpt-4.1",
  "choices": [ { "index": 0,
    "message": { "role": "assistant", "content": "%s", "refusal": null, "annotations": [], "tool_calls": [ ] },
    "logprobs": { "content": [], "refusal": [] }, "finish_reason": "stop" } ],
  "usage": { "prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2,
    "prompt_tokens_details": {}, "completion_tokens_details": { } },
  "metadata": {},
  "x_mixed": [ [], {}, [ [], {} ], { "a": [], "b": {} } ]
}]]

  for _, case in ipairs({ { "the C decoder", "ok", true }, { "cjson (a raw tab in a string)", "o\tk", false } }) do
    it("a typed answer holding [] and {} keeps them apart, and sends them back so, decoded by " .. case[1], function()
      local body = BOTH:format(case[2])
      assert.equal(case[3], took(body))
      H.script(CHAT, { { body = body } })
      local res, err = client:chat { messages = H.msgs() }
      assert.is_nil(err)
      local _, want = expected(body)
      local d = differ(want, res)
      assert(d == nil, d)
      local m = res.choices[1].message
      assert.is_true(json.is_array(m.annotations))
      assert.is_true(json.is_array(res.x_mixed[3][1]))
      assert.is_false(json.is_array(res.usage.prompt_tokens_details))
      assert.is_false(json.is_array(res.metadata))
      reencodes_as(res, body, "the answer")
      local sent = json.encode(res)
      has(sent, '"annotations":[]')
      has(sent, '"prompt_tokens_details":{}')
      has(sent, '"metadata":{}')
      has(sent, '"b":{}')
    end)
  end

  it("a model answer with an empty array and an empty object (client:model)", function()
    local body = '{"id":"gpt-4.1","object":"model","created":1744316542,"owned_by":"system",'
                 .. '"x_tags":[],"x_meta":{},"x_both":[{},[]]}'
    assert.is_true(took(body))
    H.script("/v1/models/gpt-4.1", { { body = body } })
    local res, err = client:model("gpt-4.1")
    assert.is_nil(err)
    local _, want = expected(body)
    local d = differ(want, res)
    assert(d == nil, d)
    reencodes_as(res, body, "the model")
  end)

  it("a Responses stream's events keep their [] and {}, and result() sends them back so", function()
    local declined_delta = RESPONSE_DELTA:gsub('" world"', '"\tagain"')
    local events = {
      { "response.created", RESPONSE_CREATED, true },
      { "response.output_text.delta", (RESPONSE_DELTA:gsub('" world"', '"Hello world"')), true },
      { "response.output_text.delta", declined_delta, false },
      { "response.completed", RESPONSE_COMPLETED, true },
    }
    local items = {}
    for i, e in ipairs(events) do
      assert.equal(e[3], took(e[2]))
      items[i] = { event = e[1], data = e[2] }
    end
    H.script(RESP, { { sse = items } })
    local s = assert(client:response_stream { input = "hi" })
    local got = {}
    for ev in s:each() do got[#got + 1] = ev end
    assert.equal(#events, #got)
    for i, e in ipairs(events) do
      local _, want = expected(e[2])
      local d = differ(want, got[i])
      assert(d == nil, e[1] .. ": " .. tostring(d))
    end
    local created = got[1].response
    assert.is_true(json.is_array(created.output))
    assert.is_true(json.is_array(created.tools))
    assert.is_false(json.is_array(created.metadata))
    assert.is_true(json.is_array(got[2].logprobs))
    assert.equal("Hello world\tagain", s:text())
    local r = s:result()
    assert.is_true(json.is_array(r.output[1].content[1].annotations))
    assert.is_false(json.is_array(r.metadata))
    reencodes_as(r, format(RESPONSE_OBJECT, "completed", OUTPUT, RESP_USAGE), "the response")
  end)
end)
