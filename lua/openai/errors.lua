-- openai.errors: the error object of a failed call.
--
-- A failed call returns nil, err, meta. err.kind is one of "api", "timeout",
-- "connection", "decode", "stream", "too_large", "io" (a local file of an
-- upload or download) (the README's "Errors" table), "refusal" and "length"
-- (structured outputs: openai.parse), "auth" (a key provider failed), or
-- "cancelled" for a task stopped by task:cancel();
-- for "api" it carries the HTTP status and the API's type, code, param and
-- message. tostring(err) reads as one line and never contains the API key.

local setmetatable, getmetatable, tostring, pairs = setmetatable, getmetatable, tostring, pairs
local format, gsub = string.format, string.gsub
local concat = table.concat
local redact = require("openai.secret").redact

local _ENV = nil -- luacheck: ignore 211

local M = {}

local Error = {}
Error.__index = Error
M.Error = Error

-- the official SDKs' class names, by status
local NAMES = {
  [400] = "BadRequestError", [401] = "AuthenticationError", [403] = "PermissionDeniedError",
  [404] = "NotFoundError", [409] = "ConflictError", [422] = "UnprocessableEntityError",
  [429] = "RateLimitError",
}
local KIND_NAMES = {
  timeout = "APITimeoutError", connection = "APIConnectionError", decode = "APIResponseDecodeError",
  stream = "APIStreamError", too_large = "APIResponseTooLargeError",
  cancelled = "APIUserAbortError",   -- openai-node's name for a request the caller aborted
  io = "LocalFileError",             -- a file of ours (an upload by path, a download to a path) failed
  refusal = "RefusalError",          -- structured outputs: the model refused (its words in message)
  length = "LengthFinishReasonError", -- structured outputs: the answer was cut at the token limit
  auth = "KeyProviderError",         -- the api_key function (or Azure's token_provider) failed
}

function M.name_for(kind, status)
  if kind == "api" then
    if NAMES[status] then return NAMES[status] end
    if status and status >= 500 then return "InternalServerError" end
    return "APIStatusError"
  end
  return KIND_NAMES[kind] or "APIError"
end

-- a new error object; f has kind and any of status, type, code, param,
-- message, request_id, attempts, retry_after, body; every key is redacted
-- from every string field
function M.new(f)
  local e = setmetatable({}, Error)
  for k, v in pairs(f) do e[k] = redact(v) end
  e.name = e.name or M.name_for(e.kind, e.status)
  e.attempts = e.attempts or 0
  return e
end

function Error:__tostring()
  local head
  if self.kind == "api" then
    head = format("openai: %s (HTTP %s)", self.name, tostring(self.status))
  else
    head = format("openai: %s error", self.kind)
  end
  local detail = {}
  if self.type and self.type ~= "" then detail[#detail + 1] = tostring(self.type) end
  if self.code and self.code ~= "" then detail[#detail + 1] = "code " .. tostring(self.code) end
  if self.param and self.param ~= "" then detail[#detail + 1] = "param " .. tostring(self.param) end
  local s = head
  if #detail > 0 then s = s .. " [" .. concat(detail, ", ") .. "]" end
  if self.message and self.message ~= "" then s = s .. ": " .. tostring(self.message) end
  local tail = {}
  if self.request_id then tail[#tail + 1] = "request_id " .. tostring(self.request_id) end
  if self.attempts and self.attempts > 1 then tail[#tail + 1] = self.attempts .. " attempts" end
  if self.retry_after then tail[#tail + 1] = format("retry after %g s", self.retry_after) end
  if #tail > 0 then s = s .. " (" .. concat(tail, ", ") .. ")" end
  return (gsub(s, "[%c]", " "))
end

function M.is_error(v)
  return getmetatable(v) == Error
end

return M
