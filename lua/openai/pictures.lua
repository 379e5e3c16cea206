-- openai.pictures: pictures and sound in and out of messages.
--
--   openai.data_url(bytes [, mime])           -- "data:image/png;base64,..."
--   openai.data_url{ path = "cat.jpg" } [, mime]
--   openai.b64_decode(s)                      -- bytes | nil, reason
--   openai.b64_encode(bytes)                  -- text
--   openai.save_b64(s, path)                  -- true | nil, err (kind "io" or "decode")
--
-- Base64 runs in C (src/b64.c). The picture's type is read from its first
-- bytes (PNG, JPEG, GIF, WebP) when no mime is given.

local wire = require "openai.wire"
local check = require "openai.check"
local errors = require "openai.errors"

local type, tostring, error = type, tostring, error
local sub = string.sub

local _ENV = nil -- luacheck: ignore 211

local M = {}

-- the picture type of bytes, from their signature; nil when none fits
function M.sniff(bytes)
  if sub(bytes, 1, 8) == "\137PNG\r\n\26\n" then return "image/png" end
  if sub(bytes, 1, 3) == "\255\216\255" then return "image/jpeg" end
  local gif = sub(bytes, 1, 6)
  if gif == "GIF87a" or gif == "GIF89a" then return "image/gif" end
  if sub(bytes, 1, 4) == "RIFF" and sub(bytes, 9, 12) == "WEBP" then return "image/webp" end
  return nil
end

-- whole files through openai.wire: a UTF-8 path on every system (io.open
-- takes the ANSI code page on Windows)
local function read_file(fn, path)
  local bytes, why = wire.read_file(path)
  if bytes == nil then error(fn .. ": cannot read 'path' " .. tostring(why), 0) end
  return bytes
end

function M.data_url(src, mime)
  local fn = "openai.data_url"
  local bytes, what = src, "bytes"
  if type(src) == "table" then
    if type(src.path) ~= "string" or src.path == "" then check.fail(fn, "path", "must be a file path", src.path) end
    bytes, what = read_file(fn, src.path), "path"
  elseif type(src) ~= "string" then
    check.fail(fn, "bytes", "must be a string of bytes or a table { path = ... }", src)
  end
  if mime == nil then
    mime = M.sniff(bytes)
    if mime == nil then
      check.fail(fn, what, "is not a PNG, JPEG, GIF or WebP picture (give its mime type as the second argument)",
                 what == "path" and src.path or #bytes .. " bytes")
    end
  elseif type(mime) ~= "string" or not mime:match("^[%w.+-]+/[%w.+-]+$") then
    check.fail(fn, "mime", "must be a type such as 'image/png'", mime)
  end
  return "data:" .. mime .. ";base64," .. wire.b64_encode(bytes)
end

function M.b64_encode(bytes)
  if type(bytes) ~= "string" then check.fail("openai.b64_encode", "bytes", "must be a string", bytes) end
  return wire.b64_encode(bytes)
end

function M.b64_decode(s)
  if type(s) ~= "string" then check.fail("openai.b64_decode", "s", "must be a base64 string", s) end
  return wire.b64_decode(s)
end

-- decode s (a b64_json image, a base64 audio answer) into a file
function M.save_b64(s, path)
  local fn = "openai.save_b64"
  if type(s) ~= "string" then check.fail(fn, "s", "must be a base64 string", s) end
  if type(path) ~= "string" or path == "" then check.fail(fn, "path", "must be a file path", path) end
  local bytes, why = wire.b64_decode(s)
  if bytes == nil then return nil, errors.new({ kind = "decode", message = "not base64: " .. why }) end
  local ok, werr = wire.write_file(path, bytes)
  if not ok then return nil, errors.new({ kind = "io", message = werr }) end
  return true
end

return M
