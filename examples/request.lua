-- Raw Request: any endpoint, with every input of the connector's Raw Request (url, method, data, form,
-- files, file_names, query, headers, response_type, timeout, debug, retries).
local openai = require "openai"

-- GET with a query string; retries with exponential backoff
local list, err = openai.request{
  url = "/v1/models", query = { limit = 2 },
  max_retries = 2, exponential_backoff = true,
}
if not list then error(tostring(err)) end
print("models:", #list.data)

-- POST a JSON body to an endpoint the typed API does not wrap
local res, err2 = openai.request{
  method = "POST", url = "/v1/chat/completions",
  data = { model = "gpt-4.1-mini", messages = { { role = "user", content = "Say hi" } } },
  headers = { ["X-Demo"] = "raw-request" },
  debug = true,               -- logs method, URL, headers (key redacted) to stderr
}
if not res then error(tostring(err2)) end
print("reply:", res.choices[1].message.content)
