-- openai.endpoints: the API's actions as data, one row each.
--
--   name      the client method and module function (client:embeddings{})
--   method    HTTP method
--   path      path template; {id} is the call's first argument, escaped as
--             one segment
--   args      "params" (one table), "id" (id, opts) or "none" (opts)
--   id_field  the name of the id in messages ('file_id', ...)
--   azure     "deployment": under /deployments/<name> on Azure; absent:
--             the same path (with api-version) on Azure
--   body      "json", "multipart" or "none"
--   check     check(fn, p, spec): checks p, fills spec (json, parts, query,
--             response_type, to_path); raises naming fn and the field
--   response  "json" (an object), "text", "binary" or "file" (to_path)
--   list      a paginated list: the result gains res:each()
--   after     after(result, spec): the result as the user gets it, or
--             nil, err (embeddings decode their base64 here)
--
-- The six original actions (chat, image, response, models, request...) keep
-- their hand-written functions in openai.client (`custom`), and are rows
-- here for the name list and their Azure mapping.

local wire = require "openai.wire"
local json = require "openai.json"
local check = require "openai.check"
local errors = require "openai.errors"
local options = require "openai.options"

local type, pairs, ipairs, tostring = type, pairs, ipairs, tostring
local format, match, lower, find, sub = string.format, string.match, string.lower, string.find,
                                        string.sub
local sort = table.sort
local upload_file = wire.upload_file

local _ENV = nil -- luacheck: ignore 211

local M = {}

local CALL_OPTS = options.CALL

local function set_of(list)
  local s = {}
  for _, v in ipairs(list) do s[v] = true end
  return s
end

-- {=================================================================
-- shared checks
-- ==================================================================

-- a non-empty string, or a non-empty array of non-empty strings (input of
-- embeddings and moderations; token arrays pass as arrays of numbers)
local function check_input(fn, v)
  if type(v) == "string" then
    if v == "" then check.fail(fn, "input", "must be a non-empty string or array", v) end
    return check.text(fn, v, "input")
  end
  if type(v) ~= "table" or v[1] == nil then
    check.fail(fn, "input", "must be a non-empty string or array", v)
  end
  for i = 1, #v do
    local x = v[i]
    if type(x) == "string" then
      if x == "" or not json.valid_utf8(x) then
        check.fail(fn, "input[" .. i .. "]", "must be a non-empty UTF-8 string", x)
      end
    elseif type(x) ~= "table" and not (type(x) == "number" and check.finite(x)) then
      check.fail(fn, "input[" .. i .. "]", "must be a string, a token number or an array", x)
    end
  end
  return v
end

-- the one-of check with the list in the message
local function enum(fn, v, field, set, list)
  if v == nil then return nil end
  if not set[v] then check.fail(fn, field, "must be one of " .. list, v) end
  return v
end

local function list_text(list)
  local s = "'" .. list[1] .. "'"
  for i = 2, #list do s = s .. ", '" .. list[i] .. "'" end
  return s
end

-- an enum row: set and message text
local function choices(list)
  return { set = set_of(list), text = list_text(list) }
end

local function one_of(fn, v, field, c)
  return enum(fn, v, field, c.set, c.text)
end

-- }==================================================================


-- {=================================================================
-- multipart bodies
-- ==================================================================

-- the content type a file part carries, from its name
local MIME = {
  png = "image/png", jpg = "image/jpeg", jpeg = "image/jpeg", webp = "image/webp",
  gif = "image/gif", mp3 = "audio/mpeg", mpga = "audio/mpeg", mpeg = "audio/mpeg",
  m4a = "audio/mp4", mp4 = "audio/mp4", wav = "audio/wav", webm = "audio/webm",
  ogg = "audio/ogg", flac = "audio/flac", jsonl = "application/jsonl",
  json = "application/json", txt = "text/plain", pdf = "application/pdf",
}

local function mime_of(name)
  local ext = match(name, "%.([%w]+)$")
  return ext and MIME[lower(ext)] or "application/octet-stream"
end
M.mime_of = mime_of

local function basename(path)
  return match(path, "([^/\\]+)$") or path
end

-- image bytes given in place of a path: PNG, JPEG, WEBP and GIF files
-- start with their signature, which no file name does
local function image_kind(s)
  if find(s, "^\137PNG\r\n\26\n") then return "png" end
  if find(s, "^\255\216\255") then return "jpg" end
  if find(s, "^RIFF....WEBP") then return "webp" end
  if find(s, "^GIF8") then return "gif" end
  return nil
end

-- the part of a file given as a path (streamed from disk by libcurl, never
-- read here: only opened, so a missing file is refused before anything is
-- sent) or as { data = bytes, name = "a.mp3" }
-- a field's name for a message: "image" or, in a list, "image[2]" (built
-- only to raise)
local function where(field, index)
  if index == nil then return field end
  return field .. "[" .. index .. "]"
end

-- the OS's words in io.open's message, without the path it starts with
local function os_reason(why, path)
  why = tostring(why)
  if sub(why, 1, #path + 2) == path .. ": " then return sub(why, #path + 3) end
  return why
end

local function file_part(fn, part_name, v, field, index, bytes_ok)
  if type(v) == "string" then
    local kind = bytes_ok and image_kind(v)
    if kind then
      return { name = part_name, data = v, filename = "image." .. kind, type = MIME[kind] }
    end
    if not check.is_name(v) then check.name(fn, v, where(field, index)) end
    -- opened without blocking (a FIFO would wait for a writer); a file that
    -- is not a regular one fails the call with kind io when it is sent
    local size, _, what = upload_file(v)
    if size == nil and what == "open" then
      local _, why = wire.can_read(v)
      check.fail(fn, where(field, index), "cannot be opened: " .. os_reason(why, v), v)
    end
    local name = basename(v)
    return { name = part_name, path = v, filename = name, type = mime_of(name) }
  end
  if type(v) ~= "table" or type(v.data) ~= "string" then
    check.fail(fn, where(field, index), "must be a path or a table { data = bytes, name = 'file name' }", v)
  end
  local name = v.name
  if name == nil then
    local kind = bytes_ok and image_kind(v.data)
    name = kind and "image." .. kind or "file"
  end
  if not check.is_name(name) then check.name(fn, name, where(field, index) .. ".name") end
  local ctype = v.type
  if ctype == nil then
    ctype = mime_of(name)
  else                                      -- written into the part's headers: a header value
    if type(ctype) ~= "string" or ctype == "" then
      check.fail(fn, where(field, index) .. ".type", "must be a non-empty string (a content type)", ctype)
    end
    local ok, why = wire.check_header("Content-Type", ctype)
    if not ok then check.fail(fn, where(field, index) .. ".type", why, ctype) end
  end
  return { name = part_name, data = v.data, filename = name, type = ctype }
end

-- a form value as the API reads it: integers without a fraction
local function form_value(v)
  if type(v) == "number" then
    if v % 1 == 0 and v > -1e15 and v < 1e15 then return format("%d", v) end
    return format("%.14g", v)
  end
  return tostring(v)
end

local function scalar(v)
  local tv = type(v)
  return tv == "string" or tv == "boolean" or (tv == "number" and check.finite(v))
end

local function sorted_keys(fn, t, field, skip)
  local keys = {}
  for k in pairs(t) do
    if not (skip and (skip[k] or CALL_OPTS[k])) then
      if type(k) ~= "string" then check.fail(fn, field, "must have string keys", k) end
      keys[#keys + 1] = k
    end
  end
  sort(keys)
  return keys
end

-- v as form parts named as the official SDKs do: scalars as they are,
-- arrays as repeated name[] parts, objects as name[key] parts
local function add_form(fn, parts, name, v)
  if scalar(v) then
    parts[#parts + 1] = { name = name, data = form_value(v) }
  elseif type(v) == "table" and v[1] ~= nil then
    for i = 1, #v do add_form(fn, parts, name .. "[]", v[i]) end
  elseif type(v) == "table" then
    for _, k in ipairs(sorted_keys(fn, v, name)) do add_form(fn, parts, name .. "[" .. k .. "]", v[k]) end
  else
    check.fail(fn, name, "must be a string, number, boolean or table", v)
  end
end

-- the other fields of p as form parts, sorted by name; placed: fields
-- already placed
local function form_fields(fn, p, placed, parts)
  for _, k in ipairs(sorted_keys(fn, p, "params", placed)) do add_form(fn, parts, k, p[k]) end
  return parts
end

-- }==================================================================


-- {=================================================================
-- embeddings, moderation
-- ==================================================================

local ENCODINGS = choices({ "float", "base64" })

local function embeddings_check(fn, p, spec)
  local b = spec.json
  check_input(fn, p.input)
  b.model = p.model == nil and "text-embedding-3-small" or check.name(fn, p.model, "model")
  if p.dimensions ~= nil then check.integer_in(fn, p.dimensions, "dimensions", 1) end
  one_of(fn, p.encoding_format, "encoding_format", ENCODINGS)
  -- as the official SDKs: base64 is a quarter of the bytes; decoded below
  if p.encoding_format == nil then
    b.encoding_format = "base64"
    spec.decode_base64 = true
  end
end

-- the base64 embeddings we asked for, as arrays of numbers
local function embeddings_after(res, spec, meta)
  if not spec.decode_base64 or type(res.data) ~= "table" then return res end
  local f32 = wire.f32_base64
  for i, item in ipairs(res.data) do
    if type(item) == "table" and type(item.embedding) == "string" then
      local v, why = f32(item.embedding)
      if v == nil then
        return nil, errors.new({
          kind = "decode", status = meta.status, request_id = meta.request_id,
          attempts = meta.attempts,
          message = "data[" .. i .. "].embedding is not base64 of 4-byte floats: " .. tostring(why),
        })
      end
      item.embedding = v
    end
  end
  return res
end

local function moderation_check(fn, p, spec)
  check_input(fn, p.input)
  -- the model defaults to omni-moderation-latest, the API's own: sent
  -- only when given
  if p.model ~= nil then spec.json.model = check.name(fn, p.model, "model") end
end

-- }==================================================================


-- {=================================================================
-- audio
-- ==================================================================

local AUDIO_FORMATS = choices({ "json", "text", "srt", "verbose_json", "vtt" })
local TEXT_FORMATS = set_of({ "text", "srt", "vtt" })
local SPEECH_FORMATS = choices({ "mp3", "opus", "aac", "flac", "wav", "pcm" })

local AUDIO_PLACED = { file = true, model = true }

local function audio_check(fn, p, spec)
  if p.stream ~= nil and p.stream ~= false then
    check.fail(fn, "stream", "is not taken here (the answer comes whole)", p.stream)
  end
  local parts = { file_part(fn, "file", p.file, "file") }
  local model = p.model == nil and "whisper-1" or check.name(fn, p.model, "model")
  parts[2] = { name = "model", data = model }
  one_of(fn, p.response_format, "response_format", AUDIO_FORMATS)
  if p.language ~= nil then check.name(fn, p.language, "language") end
  if p.prompt ~= nil then check.text(fn, p.prompt, "prompt") end
  if p.temperature ~= nil then check.number_in(fn, p.temperature, "temperature", 0, 1) end
  spec.parts = form_fields(fn, p, AUDIO_PLACED, parts)
  if TEXT_FORMATS[p.response_format] then spec.response_type = "text" end
end

local function speech_check(fn, p, spec)
  local b = spec.json
  check.text(fn, p.input, "input")
  if p.input == "" then check.fail(fn, "input", "must be a non-empty string", p.input) end
  check.name(fn, p.voice, "voice")
  b.model = p.model == nil and "gpt-4o-mini-tts" or check.name(fn, p.model, "model")
  one_of(fn, p.response_format, "response_format", SPEECH_FORMATS)
  if p.speed ~= nil then check.number_in(fn, p.speed, "speed", 0.25, 4) end
  if p.path ~= nil then
    spec.to_path = check.name(fn, p.path, "path")
    b.path = nil
  end
end

-- }==================================================================


-- {=================================================================
-- images
-- ==================================================================

local IMAGE_PLACED = { image = true, mask = true }

-- image: one (a path, bytes, or { data, name }) or a list of them (image[])
local function image_parts(fn, v, parts)
  if type(v) == "table" and v.data == nil and v[1] ~= nil then
    for i = 1, #v do
      parts[#parts + 1] = file_part(fn, "image[]", v[i], "image", i, true)
    end
  elseif type(v) == "table" and v.data == nil then
    check.fail(fn, "image", "must be a path, image bytes, { data, name } or a list of them", v)
  else
    if v == nil then check.fail(fn, "image", "is required", v) end
    parts[#parts + 1] = file_part(fn, "image", v, "image", nil, true)
  end
  return parts
end

local function image_edit_check(fn, p, spec)
  local parts = image_parts(fn, p.image, {})
  if p.mask ~= nil then parts[#parts + 1] = file_part(fn, "mask", p.mask, "mask", nil, true) end
  check.text(fn, p.prompt, "prompt")
  if p.prompt == "" then check.fail(fn, "prompt", "must be a non-empty string", p.prompt) end
  if p.n ~= nil then check.integer_in(fn, p.n, "n", 1, 10) end
  if p.model ~= nil then check.name(fn, p.model, "model") end
  spec.parts = form_fields(fn, p, IMAGE_PLACED, parts)
end

local function image_variation_check(fn, p, spec)
  if type(p.image) == "table" and p.image.data == nil then
    check.fail(fn, "image", "must be a path, image bytes or { data, name }", p.image)
  end
  local parts = image_parts(fn, p.image, {})
  if p.n ~= nil then check.integer_in(fn, p.n, "n", 1, 10) end
  if p.model ~= nil then check.name(fn, p.model, "model") end
  spec.parts = form_fields(fn, p, IMAGE_PLACED, parts)
end

-- }==================================================================


-- {=================================================================
-- files, batches
-- ==================================================================

local PURPOSES = choices({ "assistants", "batch", "fine-tune", "vision", "user_data", "evals" })
local ORDERS = choices({ "asc", "desc" })

local FILE_PLACED = { file = true }

local function upload_file_check(fn, p, spec)
  local part = file_part(fn, "file", p.file, "file")
  check.name(fn, p.purpose, "purpose")
  one_of(fn, p.purpose, "purpose", PURPOSES)
  spec.parts = form_fields(fn, p, FILE_PLACED, { part })
end

-- the query of a list: limit, after, order (and the row's own fields)
local function list_query(fn, p, spec, hi)
  local q
  if p.limit ~= nil then
    q = { limit = check.integer_in(fn, p.limit, "limit", 1, hi) }
  end
  if p.after ~= nil then
    q = q or {}
    q.after = check.name(fn, p.after, "after")
  end
  if p.order ~= nil then
    q = q or {}
    q.order = one_of(fn, p.order, "order", ORDERS)
  end
  spec.query = q
  return q
end

local function files_check(fn, p, spec)
  local q = list_query(fn, p, spec, 10000)
  if p.purpose ~= nil then
    q = q or {}
    q.purpose = check.name(fn, p.purpose, "purpose")
    spec.query = q
  end
end

local function batches_check(fn, p, spec)
  list_query(fn, p, spec, 100)
end

-- the file's bytes, or { path, bytes } written to opts.path
local function file_content_check(fn, p, spec)
  if p.path ~= nil then
    spec.to_path = check.name(fn, p.path, "path")
    spec.response_type = "file"
  end
end

local BATCH_ENDPOINTS = choices({ "/v1/responses", "/v1/chat/completions", "/v1/embeddings",
                                  "/v1/completions", "/v1/moderations", "/v1/images/generations",
                                  "/v1/images/edits", "/v1/videos" })
local WINDOWS = choices({ "24h" })

-- what a batch runs: endpoint, completion_window, metadata (also checked
-- by run_batch before it uploads anything); the window, defaulted
local function check_batch_target(fn, p)
  check.name(fn, p.endpoint, "endpoint")
  one_of(fn, p.endpoint, "endpoint", BATCH_ENDPOINTS)
  if p.metadata ~= nil then
    check.table(fn, p.metadata, "metadata")
    for k, v in pairs(p.metadata) do
      if type(k) ~= "string" then check.fail(fn, "metadata", "must have string keys", k) end
      if type(v) ~= "string" then check.fail(fn, "metadata." .. k, "must be a string", v) end
    end
  end
  return p.completion_window == nil and "24h"
         or one_of(fn, p.completion_window, "completion_window", WINDOWS)
end
M.check_batch_target = check_batch_target

local function create_batch_check(fn, p, spec)
  check.name(fn, p.input_file_id, "input_file_id")
  spec.json.completion_window = check_batch_target(fn, p)
end

-- }==================================================================


-- {=================================================================
-- the rows
-- ==================================================================

M.ROWS = {
  -- the six original actions (openai.client has their functions)
  { name = "chat", custom = true, azure = "deployment", path = "/chat/completions" },
  { name = "chat_stream", custom = true, azure = "deployment", path = "/chat/completions" },
  { name = "image", custom = true, azure = "deployment", path = "/images/generations" },
  { name = "response", custom = true, path = "/responses" },
  { name = "response_stream", custom = true, path = "/responses" },
  { name = "model", custom = true, path = "/models/{id}" },
  { name = "models", method = "GET", path = "/models", args = "none", body = "none",
    response = "json", list = true },
  { name = "request", custom = true },
  { name = "pages", custom = true },
  { name = "run_batch", custom = true },

  { name = "embeddings", method = "POST", path = "/embeddings", args = "params", body = "json",
    azure = "deployment", check = embeddings_check, after = embeddings_after, response = "json" },
  { name = "moderation", method = "POST", path = "/moderations", args = "params", body = "json",
    check = moderation_check, response = "json" },
  { name = "transcription", method = "POST", path = "/audio/transcriptions", args = "params",
    body = "multipart", azure = "deployment", check = audio_check, response = "json" },
  { name = "translation", method = "POST", path = "/audio/translations", args = "params",
    body = "multipart", azure = "deployment", check = audio_check, response = "json" },
  { name = "speech", method = "POST", path = "/audio/speech", args = "params", body = "json",
    azure = "deployment", check = speech_check, response = "binary" },
  { name = "image_edit", method = "POST", path = "/images/edits", args = "params",
    body = "multipart", azure = "deployment", check = image_edit_check, response = "json" },
  { name = "image_variation", method = "POST", path = "/images/variations", args = "params",
    body = "multipart", check = image_variation_check, response = "json" },

  { name = "upload_file", method = "POST", path = "/files", args = "params", body = "multipart",
    check = upload_file_check, response = "json" },
  { name = "file", method = "GET", path = "/files/{id}", args = "id", id_field = "file_id",
    body = "none", response = "json" },
  { name = "files", method = "GET", path = "/files", args = "none", body = "none",
    check = files_check, response = "json", list = true },
  { name = "file_content", method = "GET", path = "/files/{id}/content", args = "id",
    id_field = "file_id", body = "none", check = file_content_check, response = "binary" },
  { name = "delete_file", method = "DELETE", path = "/files/{id}", args = "id",
    id_field = "file_id", body = "none", response = "json" },

  { name = "create_batch", method = "POST", path = "/batches", args = "params", body = "json",
    check = create_batch_check, response = "json" },
  { name = "batch", method = "GET", path = "/batches/{id}", args = "id", id_field = "batch_id",
    body = "none", response = "json" },
  { name = "batches", method = "GET", path = "/batches", args = "none", body = "none",
    check = batches_check, response = "json", list = true },
  { name = "cancel_batch", method = "POST", path = "/batches/{id}/cancel", args = "id",
    id_field = "batch_id", body = "none", response = "json" },

  { name = "get_response", method = "GET", path = "/responses/{id}", args = "id",
    id_field = "response_id", body = "none", response = "json" },
  { name = "delete_response", method = "DELETE", path = "/responses/{id}", args = "id",
    id_field = "response_id", body = "none", response = "json" },
  { name = "cancel_response", method = "POST", path = "/responses/{id}/cancel", args = "id",
    id_field = "response_id", body = "none", response = "json" },
}

M.BY_NAME = {}
M.NAMES = {}
for i, row in ipairs(M.ROWS) do
  M.BY_NAME[row.name] = row
  M.NAMES[i] = row.name
  if row.path then
    local head, tail = match(row.path, "^(.-){id}(.*)$")
    row.path_head, row.path_tail = head or row.path, tail
  end
end

-- the paths Azure puts under /deployments/<name>
M.AZURE_DEPLOYMENT = {}
for _, row in ipairs(M.ROWS) do
  if row.azure == "deployment" then M.AZURE_DEPLOYMENT[row.path] = true end
end

-- }==================================================================

return M
