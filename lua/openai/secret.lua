-- openai.secret: the one place that knows what must never be shown: the
-- API keys given to openai.new, and the names of headers whose values are
-- secret. redact(s) is applied to every string the library shows or hands
-- back from a failed call (error fields, meta of a failed call, argument
-- errors, debug lines); anything shortened is redacted first, then cut, so
-- a cut never leaves part of a key behind.

local type, pairs, setmetatable, tonumber = type, pairs, setmetatable, tonumber
local find, sub, gsub, gmatch, char, lower = string.find, string.sub, string.gsub,
                                              string.gmatch, string.char, string.lower
local concat, sort = table.concat, table.sort
local floor = math.floor

local _ENV = nil -- luacheck: ignore 211

local M = {}

-- headers whose values are never shown (debug lines, argument errors)
local HEADERS = {
  authorization = true, ["api-key"] = true, ["x-api-key"] = true, cookie = true,
  ["set-cookie"] = true, ["proxy-authorization"] = true,
}

function M.header(name)
  return HEADERS[lower(name)] == true
end

-- {=================================================================
-- the keys
-- ==================================================================

-- client -> its key, weak: the keys of live clients are all known, and a
-- dropped client's key goes with it; list: the distinct keys, rebuilt from
-- owners when it has grown well past the live ones (bounded, amortized)
local owners = setmetatable({}, { __mode = "k" })
-- client -> the latest keys its key provider returned: { [1..keep] = key, at = last slot }
local rings = setmetatable({}, { __mode = "k" })
local list, listed, live = {}, {}, 0
-- a key holding a character JSON writes as \" \\ \t \b \f: any backslash
-- may then start an escaped key
local any_escape = false

local function rebuild()
  list, listed = {}, {}
  local function keep(key)
    if not listed[key] then
      listed[key] = true
      list[#list + 1] = key
    end
  end
  for _, key in pairs(owners) do keep(key) end
  for _, ring in pairs(rings) do
    for i = 1, #ring do keep(ring[i]) end
  end
  live = #list
end

-- list key (known to be redacted from now on)
local function list_key(key)
  if listed[key] then return end
  if #list >= 2 * live + 64 then rebuild() end
  if not listed[key] then
    listed[key] = true
    list[#list + 1] = key
  end
  if find(key, "[\"\\%c]") then any_escape = true end
end

function M.add(owner, key)
  owners[owner] = key
  list_key(key)
end

-- a key a provider of owner returned: the last `keep` of them stay known
-- (an older one is forgotten once the list is next rebuilt)
function M.remember(owner, key, keep)
  local ring = rings[owner]
  if ring == nil then
    ring = { at = 0 }
    rings[owner] = ring
  end
  if ring[ring.at] ~= key then
    ring.at = ring.at % keep + 1
    ring[ring.at] = key
  end
  list_key(key)
end

-- }==================================================================


-- {=================================================================
-- finding them
-- ==================================================================

-- spans {i, j} sorted and merged (overlapping or touching ones joined)
local function merged(spans)
  sort(spans, function(x, y) return x[1] < y[1] end)
  local out = { spans[1] }
  for k = 2, #spans do
    local last, sp = out[#out], spans[k]
    if sp[1] <= last[2] + 1 then
      if sp[2] > last[2] then last[2] = sp[2] end
    else
      out[#out + 1] = sp
    end
  end
  return out
end

-- where any key occurs in s (overlapping occurrences too), or nil
local function key_spans(s)
  local spans
  for k = 1, #list do
    local key = list[k]
    local i, j = find(s, key, 1, true)
    while i do
      spans = spans or {}
      spans[#spans + 1] = { i, j }
      i, j = find(s, key, i + 1, true)
    end
  end
  return spans and merged(spans)
end

local function replace(s, spans)
  local out, pos = {}, 1
  for k = 1, #spans do
    local sp = spans[k]
    out[#out + 1] = sub(s, pos, sp[1] - 1)
    out[#out + 1] = "[redacted]"
    pos = sp[2] + 1
  end
  out[#out + 1] = sub(s, pos)
  return concat(out)
end

-- }==================================================================


-- {=================================================================
-- keys written with JSON escapes (\u006f for 'o', \/ for '/')
-- ==================================================================

-- a backslash, the character after it, and up to 4 hex digits after that
local ESCAPE = "\\(.)(%x?%x?%x?%x?)"
local SIMPLE = { ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n",
                 r = "\r", t = "\t" }

-- UTF-8 of a code point below 0x10000 (a surrogate half keeps its 3 bytes)
local function utf8_of(cp)
  if cp < 0x80 then return char(cp) end
  if cp < 0x800 then return char(0xC0 + floor(cp / 64), 0x80 + cp % 64) end
  return char(0xE0 + floor(cp / 4096), 0x80 + floor(cp / 64) % 64, 0x80 + cp % 64)
end

-- one match of ESCAPE: its decoded text, and the trailing hex digits that
-- are plain text after it; no escape: the text itself
local function unescape(c, hex)
  if c == "u" and #hex == 4 then return utf8_of(tonumber(hex, 16)), "" end
  return SIMPLE[c] or "\\" .. c, hex
end

local function decoded(s)
  return (gsub(s, ESCAPE, function(c, hex)
    local d, rest = unescape(c, hex)
    return d .. rest
  end))
end

-- spans of s whose decoding is the (merged) spans dspans of decoded(s): an
-- end that falls inside an escape's output takes in the whole escape
local function source_spans(s, dspans)
  local pts = {}
  for k = 1, #dspans do
    pts[#pts + 1] = dspans[k][1]
    pts[#pts + 1] = dspans[k][2]
  end
  local src, k, shift = {}, 1, 0   -- shift: source index - decoded index
  for a, c, hex in gmatch(s, "()" .. ESCAPE) do
    local d, rest = unescape(c, hex)
    local len = 2 + #hex - #rest     -- the escape's bytes in s
    local da = a - shift             -- its first decoded byte
    while k <= #pts do
      local p = pts[k]
      if p < da then
        src[k] = p + shift
      elseif p < da + #d then
        src[k] = k % 2 == 1 and a or a + len - 1
      else
        break
      end
      k = k + 1
    end
    shift = shift + len - #d
  end
  for j = k, #pts do src[j] = pts[j] + shift end
  local spans = {}
  for j = 1, #src, 2 do spans[#spans + 1] = { src[j], src[j + 1] } end
  return spans
end

-- }==================================================================

-- s with every key (plain or JSON-escaped) replaced by "[redacted]"; cheap
-- when s cannot hold one: a plain find per key, and the escape scan only
-- when s has an escape a key could be written with
function M.redact(s)
  if type(s) ~= "string" or list[1] == nil then return s end
  local spans = key_spans(s)
  if spans then s = replace(s, spans) end
  -- a plain find first: a pattern scan costs ~100 instructions a byte
  if find(s, "\\", 1, true) and (any_escape or find(s, "\\[u/]")) then
    spans = key_spans(decoded(s))
    if spans then s = replace(s, source_spans(s, spans)) end
  end
  return s
end

-- the first n bytes of s once redacted (redact first, then cut: a cut never
-- leaves part of a key behind); cut: whether anything was dropped
function M.cut(s, n)
  s = M.redact(s)
  if #s <= n then return s, false end
  return sub(s, 1, n), true
end

return M
