/*
** openai_wire.c: `require "openai.wire"`, every pure function of the
** library: URL and header checks, JSON helpers, UTF-8, header parsing, the
** clock, base64 floats, and (lhttp1.c) the HTTP/1.1 and SSE parsers and the
** retry policy. Not linked with libcurl: the nginx transport (cosockets)
** loads only this, and `openai.core` (the curl engine) is loaded on first
** use of the engine.
*/
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"

#include "b64.h"
#include "check.h"
#include "lcompat.h"
#include "lhttp1.h"
#include "ljson.h"
#include "lb64.h"
#include "lpartial.h"
#include "platform.h"
#include "ltext.h"
#include "upfile.h"

#define OPENAI_WIRE_VERSION "0.1.0"

/* push a header block (lines "Name: value\r\n", a status line skipped) as
** { lowercase name = value }, repeated names joined with ", " */
static void push_header_table(lua_State *L, const char *p, size_t len) {
  const char *end = p + len;
  lua_createtable(L, 0, 12);
  while (p < end) {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    const char *le = eol ? eol : end, *colon;
    colon = memchr(p, ':', (size_t)(le - p));
    if (colon != NULL && colon > p && !(le - p >= 5 && memcmp(p, "HTTP/", 5) == 0)) {
      char name[128];
      size_t nl = (size_t)(colon - p), i;
      const char *v = colon + 1, *ve = le;
      if (nl < sizeof name) {
        for (i = 0; i < nl; i++) {
          char c = p[i];
          name[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
        }
        while (v < ve && (*v == ' ' || *v == '\t')) v++;
        while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t')) ve--;
        lua_pushlstring(L, name, nl);
        lua_pushvalue(L, -1);
        lua_rawget(L, -3);
        if (lua_isnil(L, -1)) {
          lua_pop(L, 1);
          lua_pushlstring(L, v, (size_t)(ve - v));
        } else {                      /* repeated: join with ", " */
          lua_pushliteral(L, ", ");
          lua_pushlstring(L, v, (size_t)(ve - v));
          lua_concat(L, 3);
        }
        lua_rawset(L, -3);
      }
    }
    p = le + 1;
  }
}

/* wire.parse_headers(block) -> { lowercase name = value } */
static int l_parse_headers(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  push_header_table(L, s, len);
  return 1;
}

/* true, or nil and the reason of a failed check */
static int push_verdict(lua_State *L, const char *why) {
  if (why == NULL) { lua_pushboolean(L, 1); return 1; }
  lua_pushnil(L);
  lua_pushstring(L, why);
  return 2;
}

/* wire.check_path(s) -> true | nil, reason */
static int l_check_path(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  return push_verdict(L, check_path(s, len));
}

/* wire.check_header(name, value) -> true | nil, reason, "name"|"value" */
static int l_check_header(lua_State *L) {
  size_t nl, vl;
  const char *n = luaL_checklstring(L, 1, &nl);
  const char *v = luaL_checklstring(L, 2, &vl);
  const char *why = check_header_name(n, nl);
  const char *which = "name";
  if (why == NULL) { why = check_header_value(v, vl); which = "value"; }
  if (push_verdict(L, why) == 1) return 1;
  lua_pushstring(L, which);
  return 3;
}

/* wire.json_plain(s) -> true when cjson's text can be sent as it is */
static int l_json_plain(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  lua_pushboolean(L, check_json_plain(s, len));
  return 1;
}

/* wire.valid_utf8(s) -> true when s is well-formed UTF-8: the one check on
** every Lua (5.1 and LuaJIT have no utf8 library; 5.3's accepts surrogates) */
static int l_valid_utf8(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  lua_pushboolean(L, check_utf8(s, len));
  return 1;
}

/* wire.json_empties(s) -> has an empty array, has an empty object */
static int l_json_empties(lua_State *L) {
  size_t len;
  int arrays, objects;
  const char *s = luaL_checklstring(L, 1, &len);
  check_json_empties(s, len, &arrays, &objects);
  lua_pushboolean(L, arrays);
  lua_pushboolean(L, objects);
  return 2;
}

/* core.json_scan(s) -> valid UTF-8, the number of empty arrays (false for
** none), has an empty object (outside strings): one pass, check_json_scan */
static int l_json_scan(lua_State *L) {
  size_t len;
  int utf8, arrays, objects;
  const char *s = luaL_checklstring(L, 1, &len);
  check_json_scan(s, len, &utf8, &arrays, &objects);
  lua_pushboolean(L, utf8);
  lcompat_push_count(L, arrays);
  lua_pushboolean(L, objects);
  return 3;
}

/* set the metatable at mt on the table at idx when it is empty, else walk
** its values, until *left tables were marked; decoded JSON: no cycles,
** depth bounded by the decoder (the bound here only keeps the C stack safe
** whatever is passed) */
static void mark_arrays(lua_State *L, int idx, int mt, int depth, lua_Integer *left) {
  if (depth > 2000) luaL_error(L, "openai.wire: json_mark_arrays: nested too deeply");
  luaL_checkstack(L, 4, "openai.wire: json_mark_arrays");
  lua_pushnil(L);
  if (lua_next(L, idx) == 0) {
    lua_pushvalue(L, mt);
    lua_setmetatable(L, idx);
    (*left)--;
    return;
  }
  do {
    if (lua_type(L, -1) == LUA_TTABLE) mark_arrays(L, lua_gettop(L), mt, depth + 1, left);
    lua_pop(L, 1);
    if (*left <= 0) { lua_pop(L, 1); return; }    /* all found: the key too */
  } while (lua_next(L, idx) != 0);
}

/* core.json_mark_arrays(v, mt [, n]) -> v: every empty table in v (v too)
** gets the metatable mt (a decoded text whose empty tables are all
** arrays); n: how many there are (json_scan's count), the walk stops there */
static int l_json_mark_arrays(lua_State *L) {
  lua_Integer left;
  luaL_checktype(L, 2, LUA_TTABLE);
  left = lua_isnoneornil(L, 3) ? (lua_Integer)2147483647 : (lua_Integer)luaL_checknumber(L, 3);
  lua_settop(L, 2);
  if (lua_type(L, 1) == LUA_TTABLE && left > 0) mark_arrays(L, 1, 2, 0, &left);
  lua_settop(L, 1);
  return 1;
}

/* the decoder core.json_object_decoder makes: decoder(s) -> v, or nothing.
** v is s decoded, when it is a JSON object (a UTF-8 byte-order mark at the
** start skipped): by ljson_decode, its empty arrays given the array
** metatable (upvalue 2), or, when upvalue 3 says cjson marks arrays itself
** (a newer cjson), by that cjson decode function (upvalue 1, a cjson.safe
** one). Nothing when s is not an object, not valid JSON, or outside what
** ljson decodes: the caller's full path decides, and says why. */
static int l_object_decoder(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  lua_settop(L, 1);
  lua_pushvalue(L, lua_upvalueindex(2));        /* the array metatable at 2 */
  if (len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
    s += 3;
    len -= 3;
  }
  if (!lua_toboolean(L, lua_upvalueindex(3))) {
    if (!ljson_decode(L, s, len, 2)) return 0;
  } else {
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushlstring(L, s, len);
    lua_call(L, 1, 1);
  }
  if (lua_type(L, 3) != LUA_TTABLE) return 0;   /* v at 3 */
  if (lua_getmetatable(L, 3)) {                  /* an array, marked */
    if (lua_rawequal(L, -1, 2)) return 0;
    lua_pop(L, 1);
  }
  lua_rawgeti(L, 3, 1);                          /* an array with an element */
  if (!lua_isnil(L, -1)) return 0;
  lua_settop(L, 3);
  return 1;
}

/* core.json_object_decoder(decode, array_mt, cjson_marks) -> decoder (see
** l_object_decoder): a typed action's answer or a stream event, decoded in
** one C call */
static int l_json_object_decoder(lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 3);
  lua_pushboolean(L, lua_toboolean(L, 3));
  lua_replace(L, 3);
  lua_pushcclosure(L, l_object_decoder, 3);
  return 1;
}

/* the decoder core.json_decoder makes: decoder(s) -> v, or nothing when
** ljson declines s (then cjson decides); empty arrays get the metatable
** (upvalue 1) */
static int l_decoder(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  lua_settop(L, 1);
  lua_pushvalue(L, lua_upvalueindex(1));
  return ljson_decode(L, s, len, 2);
}

/* core.json_decoder(array_mt) -> decoder (see l_decoder) */
static int l_json_decoder(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  lua_pushcclosure(L, l_decoder, 1);
  return 1;
}

/* core.check_name(s) -> true | nil, reason: no NUL, CR or LF, and valid
** UTF-8 (check.name's byte rules, the first that fails named) */
static int l_check_name(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  if (check_header_value(s, len) != NULL) return push_verdict(L, "must not contain NUL, CR or LF");
  return push_verdict(L, check_utf8(s, len) ? NULL : "must be valid UTF-8");
}

/* the role of a message passes check.name: a non-empty string, no NUL, CR
** or LF, valid UTF-8 */
static int good_role(lua_State *L, int idx) {
  static const char *const known[] = { "user", "assistant", "system", "developer", "tool",
                                       "function" };
  size_t len, i;
  const char *s;
  if (lua_type(L, idx) != LUA_TSTRING) return 0;
  s = lua_tolstring(L, idx, &len);
  for (i = 0; i < sizeof known / sizeof known[0]; i++) {   /* the roles the API knows */
    if (strlen(known[i]) == len && memcmp(known[i], s, len) == 0) return 1;
  }
  return len > 0 && check_header_value(s, len) == NULL && check_utf8(s, len);
}

/* the content of a message passes: a valid UTF-8 string, or a non-empty
** table (nil, null and the rest: the Lua checks decide) */
static int good_content(lua_State *L, int idx) {
  size_t len;
  const char *s;
  if (lua_type(L, idx) == LUA_TSTRING) {
    s = lua_tolstring(L, idx, &len);
    return check_utf8(s, len);
  }
  if (lua_type(L, idx) != LUA_TTABLE) return 0;
  lua_pushnil(L);
  if (lua_next(L, idx) == 0) return 0;
  lua_pop(L, 2);
  return 1;
}

/* core.messages_ok(messages) -> true when openai.chat's checks of its
** messages all pass, decided in one call and without a string or table
** made: an array (keys 1..n, n >= 1, no metatable) of tables without
** metatables, each with a role check.name takes and a content that is a
** UTF-8 string or a non-empty table. false: the Lua checks look again (they
** raise naming the field, or pass what this is too strict to pass) */
static int l_messages_ok(lua_State *L) {
  size_t n, keys = 0, i;
  int ok = 1;
  if (lua_type(L, 1) != LUA_TTABLE || lua_getmetatable(L, 1)) { lua_pushboolean(L, 0); return 1; }
  lua_settop(L, 1);
  n = (size_t)lua_rawlen(L, 1);
  if (n == 0) ok = 0;
  lua_pushnil(L);
  while (ok && lua_next(L, 1) != 0) {
    lua_pop(L, 1);
    keys++;
  }
  if (keys != n) ok = 0;
  for (i = 1; ok && i <= n; i++) {
    lua_settop(L, 1);
    lua_rawgeti(L, 1, (int)i);
    if (lua_type(L, 2) != LUA_TTABLE || lua_getmetatable(L, 2)) { ok = 0; break; }
    lua_pushvalue(L, lua_upvalueindex(1));    /* "role", made once */
    lua_rawget(L, 2);
    lua_pushvalue(L, lua_upvalueindex(2));    /* "content" */
    lua_rawget(L, 2);
    ok = good_role(L, 3) && good_content(L, 4);
  }
  lua_settop(L, 1);
  lua_pushboolean(L, ok);
  return 1;
}

/* wire.check_segment(s) -> true | nil, reason */
static int l_check_segment(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  return push_verdict(L, check_segment(s, len));
}

/* wire.escape_segment(s) -> s percent-encoded as one path segment */
static int l_escape_segment(lua_State *L) {
  size_t len, n;
  const char *s = luaL_checklstring(L, 1, &len);
  char *out;
  if (len > ((size_t)-1 - 1) / 3) return luaL_error(L, "openai.wire: segment too long");
  out = (char *)lua_newuserdata(L, 3 * len + 1);   /* scratch the GC owns */
  n = check_escape_segment(s, len, out);
  lua_pushlstring(L, out, n);
  return 1;
}

/* wire.f32_base64(s) -> { numbers } | nil, reason: the little-endian 4-byte
** floats of a base64 text (an embedding with encoding_format "base64").
** Decoded a piece at a time into a buffer on the C stack: no scratch
** allocation, only the table; a piece of 4096 characters is 3072 bytes, 768
** whole floats, so no float straddles two pieces. */
#define F32_PIECE 4096

static int l_f32_base64(lua_State *L) {
  size_t len, bytes, off, got;
  const char *s = luaL_checklstring(L, 1, &len);
  unsigned char buf[F32_PIECE / 4 * 3];
  int n, i = 0;
  if (len % 4 != 0) {
    lua_pushnil(L);
    lua_pushliteral(L, "the base64 text is not a multiple of 4 characters long");
    return 2;
  }
  bytes = b64_decoded_len(s, len);
  if (bytes > (size_t)INT_MAX) return luaL_error(L, "openai.wire: f32_base64: text too long");
  if (bytes % 4 != 0) {
    lua_pushnil(L);
    lua_pushfstring(L, "the base64 text decodes to %d bytes, not whole 4-byte floats", (int)bytes);
    return 2;
  }
  n = (int)(bytes / 4);
  lua_createtable(L, n, 0);
  for (off = 0; off < len; off += F32_PIECE) {
    size_t piece = len - off < F32_PIECE ? len - off : F32_PIECE, j;
    const char *why = b64_decode(s + off, piece, off + piece == len, buf, &got);
    if (why != NULL) {
      lua_pushnil(L);
      lua_pushfstring(L, "%s (at character %d)", why, (int)(off + got / 3 * 4 + 1));
      return 2;
    }
    for (j = 0; j + 4 <= got; j += 4) {
      lua_pushnumber(L, (lua_Number)b64_f32le(buf + j));
      lua_rawseti(L, -2, ++i);
    }
  }
  return 1;
}

/* wire.now() -> milliseconds on the monotonic clock (the engine's clock:
** engine_now_ms reads the same one) */
static int l_now(lua_State *L) {
  lua_pushnumber(L, (lua_Number)platform_mono_ms());
  return 1;
}

/* wire.can_read(path) -> true, or nil and "path: reason": the file opens
** for reading, its path in UTF-8 on every system (as the engine opens it;
** io.open takes the ANSI code page on Windows) */
static int l_can_read(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  FILE *f = platform_fopen(path, "rb");
  if (f == NULL) {
    int err = errno;
    lua_pushnil(L);
    lua_pushfstring(L, "%s: %s", path, strerror(err));
    return 2;
  }
  fclose(f);
  lua_pushboolean(L, 1);
  return 1;
}

/* wire.read_file(path) -> its bytes, or nil and "path: reason";
** wire.write_file(path, bytes) -> true, or nil and "path: reason": whole
** files by a UTF-8 path on every system (io.open takes the ANSI code page on
** Windows). The bytes are read into a userdata box first, so a raised
** out-of-memory error cannot leak them */
static int l_read_file(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  FILE *f = platform_fopen(path, "rb");
  long long size;
  char *box;
  if (f == NULL) goto fail;
  size = platform_file_size(f);
  if (size < 0 || platform_fseek(f, 0) != 0 || (unsigned long long)size > (size_t)-1 / 2) {
    int err = errno;
    fclose(f);
    errno = err;
    goto fail;
  }
  box = (char *)lua_newuserdata(L, (size_t)size + 1);   /* may raise: f first */
  if (fread(box, 1, (size_t)size, f) != (size_t)size || ferror(f)) {
    fclose(f);
    errno = EIO;
    goto fail;
  }
  fclose(f);
  lua_pushlstring(L, box, (size_t)size);
  return 1;
fail:
  lua_pushnil(L);
  lua_pushfstring(L, "%s: %s", path, strerror(errno));
  return 2;
}

static int l_write_file(lua_State *L) {
  size_t len;
  const char *path = luaL_checkstring(L, 1), *bytes = luaL_checklstring(L, 2, &len);
  FILE *f = platform_fopen(path, "wb");
  int ok;
  if (f == NULL) goto fail;
  ok = fwrite(bytes, 1, len, f) == len;
  if (fclose(f) != 0) ok = 0;
  if (ok) { lua_pushboolean(L, 1); return 1; }
fail:
  lua_pushnil(L);
  lua_pushfstring(L, "%s: %s", path, strerror(errno ? errno : EIO));
  return 2;
}

/* wire.replace_file(from, to) -> true, or nil and "reason": rename from
** over to, replacing it (one step on POSIX; MoveFileExW on Windows, whose
** os.rename neither replaces nor takes UTF-8 paths). wire.remove_file(path)
** -> true, or nil and "reason" */
static int file_result(lua_State *L, int rc) {
  if (rc == 0) { lua_pushboolean(L, 1); return 1; }
  lua_pushnil(L);
  lua_pushstring(L, strerror(errno));
  return 2;
}

static int l_replace_file(lua_State *L) {
  const char *from = luaL_checkstring(L, 1), *to = luaL_checkstring(L, 2);
  return file_result(L, platform_replace_file(from, to));
}

static int l_remove_file(lua_State *L) {
  return file_result(L, platform_remove(luaL_checkstring(L, 1)));
}

/* wire.upload_file(path) -> size | nil, message, "open" | "kind": whether
** the file at path can be uploaded (upfile_check: a regular file of known
** size); "open": it cannot be opened or read, "kind": not a regular file */
static int l_upload_file(lua_State *L) {
  char msg[512];
  long long size;
  int rc = upfile_check(luaL_checkstring(L, 1), &size, msg, sizeof msg);
  if (rc < 0) {
    lua_pushnil(L);
    lua_pushstring(L, msg);
    lua_pushstring(L, rc == -1 ? "open" : "kind");
    return 3;
  }
  lua_pushnumber(L, (lua_Number)size);
  return 1;
}

/* wire.gc_running() -> true | false | nil: whether the collector runs
** (collectgarbage("isrunning") without its option lookup); nil where the
** collector refuses the question: inside a finalizer (5.4). Lua 5.1 cannot
** tell: true */
static int l_gc_running(lua_State *L) {
#ifdef LUA_GCISRUNNING
  int r = lua_gc(L, LUA_GCISRUNNING, 0);
  if (r < 0) lua_pushnil(L); else lua_pushboolean(L, r);
#else
  lua_pushboolean(L, 1);
#endif
  return 1;
}

/* {=================================================================
** core.chat_delta(chunk, by_index): the common chat chunk, folded in one
** C call; core.chat_finish(chunk, open): which choices a chunk finishes
** ================================================================== */

/* the names it reads (kept as upvalues, so they stay interned) */
static const char *const chat_keys[] = {
  "usage", "choices", "finish_reason", "logprobs", "delta", "index", "content", "role", "refusal",
  "tool_calls", "more", "last", NULL
};
enum { U_USAGE = 1, U_CHOICES, U_FINISH, U_LOGPROBS, U_DELTA, U_INDEX, U_CONTENT, U_ROLE, U_REFUSAL,
       U_TOOL_CALLS, U_MORE, U_LAST, U_TEXT_MT };

/* the stack slots of one call */
enum { S_CHUNK = 1, S_BY_INDEX, S_CHOICE, S_C, S_DELTA, S_MORE, S_TOP = S_MORE };

/* the appends a plain delta asks for, made once the whole delta is known
** to be plain (strings of the chunk, alive while it is) */
#define MAX_APPENDS 4
typedef struct {
  int n;
  ltext *to[MAX_APPENDS];
  const char *s[MAX_APPENDS];
  size_t len[MAX_APPENDS];
} appends;

/* push t[upvalue key] (raw: decoded JSON has no metamethods) and return
** its type */
static int raw_field(lua_State *L, int t, int key) {
  lua_pushvalue(L, lua_upvalueindex(key));
#if LUA_VERSION_NUM >= 503
  return lua_rawget(L, t);              /* it returns the type */
#else
  lua_rawget(L, t);
  return lua_type(L, -1);
#endif
}

/* t[upvalue key] into stack slot `slot`; its type */
static int slot_field(lua_State *L, int t, int key, int slot) {
  int type = raw_field(L, t, key);
  lua_replace(L, slot);
  return type;
}

/* JSON null (cjson's is a light userdata) or missing */
static int absent(int type) {
  return type == LUA_TNIL || type == LUA_TLIGHTUSERDATA;
}

/* the string at -1 to be appended to the openai.text at -2 (popped);
** 0 when that is no openai.text or too many appends are asked for */
static int add_append(lua_State *L, appends *a) {
  ltext *t = (ltext *)lua_touserdata(L, -2);
  int same = 0;
  if (t != NULL && a->n < MAX_APPENDS && lua_getmetatable(L, -2)) {
    same = lua_rawequal(L, -1, lua_upvalueindex(U_TEXT_MT));
    lua_pop(L, 1);
  }
  lua_remove(L, -2);
  if (!same) return 0;
  a->to[a->n] = t;
  a->s[a->n] = lua_tolstring(L, -1, &a->len[a->n]);
  a->n++;
  return 1;
}

/* a delta field the API does not name (key -2, value -1): a string
** appended to the openai.text c.more[key] holds (the full path made it
** one), a null once c.more has the field */
static int delta_other(lua_State *L, int type, appends *a) {
  int have;
  lua_pushvalue(L, -2);
  lua_rawget(L, S_MORE);
  if (type == LUA_TSTRING) {
    lua_insert(L, -2);
    return add_append(L, a);
  }
  have = type == LUA_TLIGHTUSERDATA && !lua_isnil(L, -1);
  lua_pop(L, 1);
  return have;
}

/* one field of the delta (key -2, a string; value -1): what it appends,
** into a; 0 when it is not plain (a role that changes, a refusal, tool
** calls, a field that is neither a string nor null) */
static int delta_field(lua_State *L, const char *key, appends *a) {
  int type = lua_type(L, -1), ok;
  if (key == lua_tostring(L, lua_upvalueindex(U_CONTENT))) {
    if (type == LUA_TLIGHTUSERDATA) return 1;
    if (type != LUA_TSTRING) return 0;
    raw_field(L, S_C, U_CONTENT);
    lua_insert(L, -2);
    return add_append(L, a);
  }
  if (key == lua_tostring(L, lua_upvalueindex(U_ROLE))) {   /* the role the choice has */
    raw_field(L, S_C, U_ROLE);
    ok = type == LUA_TSTRING && lua_rawequal(L, -1, -2);
    lua_pop(L, 1);
    return ok;
  }
  if (key == lua_tostring(L, lua_upvalueindex(U_REFUSAL)) ||
      key == lua_tostring(L, lua_upvalueindex(U_TOOL_CALLS)))
    return type == LUA_TLIGHTUSERDATA;
  return delta_other(L, type, a);
}

/* the delta at S_DELTA of choice S_C: its appends made; 0 when it is not
** plain. The keys of a decoded object are strings, each interned (short):
** a name is the same pointer */
static int fold_delta(lua_State *L) {
  appends a;
  int i;
  if (lua_rawlen(L, S_DELTA) != 0 || slot_field(L, S_C, U_MORE, S_MORE) != LUA_TTABLE) return 0;
  a.n = 0;
  lua_pushnil(L);
  while (lua_next(L, S_DELTA)) {
    if (lua_type(L, -2) != LUA_TSTRING || !delta_field(L, lua_tostring(L, -2), &a)) {
      lua_settop(L, S_TOP);
      return 0;
    }
    lua_pop(L, 1);
  }
  for (i = 0; i < a.n; i++)
    if (a.len[i] > 0) ltext_append(L, a.to[i], a.s[i], a.len[i]);
  return 1;
}

/* a choice index: a non-negative integer below 2^31 at -1 (popped), or -1 */
static lua_Integer pop_index(lua_State *L) {
  lua_Number index;
  int ok = lua_type(L, -1) == LUA_TNUMBER;
  index = ok ? lua_tonumber(L, -1) : -1;
  lua_pop(L, 1);
  if (!(ok && index >= 0 && index <= 2147483647.0 && index == (lua_Number)(long)index)) return -1;
  return (lua_Integer)index;
}

/* core.chat_delta(chunk, by_index) -> true when chunk (a decoded JSON
** value) is a plain delta, folded into by_index (a chat stream's choices
** by index) here as the stream's full path would fold it: a table whose
** choices hold one choice, already in by_index, with a delta object and
** no usage, finish_reason or logprobs (missing or null), whose delta holds
** strings (appended to the openai.text the choice keeps for each: content,
** and a field the API does not name once the full path has made it one)
** or nulls, and the role the choice has already, if any. The choice is
** kept as its record's `last` (its other fields, states, are read from it
** later; the caller keeps the chunk). Nothing when it is not plain (the
** caller's full path). A stream's hot path: type tests in Lua cost a
** function call each. */
static int l_chat_delta(lua_State *L) {
  lua_Integer index;
  lua_settop(L, S_TOP);
  if (lua_type(L, S_CHUNK) != LUA_TTABLE || lua_type(L, S_BY_INDEX) != LUA_TTABLE) return 0;
  if (!absent(raw_field(L, S_CHUNK, U_USAGE))) return 0;
  if (slot_field(L, S_CHUNK, U_CHOICES, S_CHOICE) != LUA_TTABLE || lua_rawlen(L, S_CHOICE) != 1) return 0;
  lua_rawgeti(L, S_CHOICE, 1);
  lua_replace(L, S_CHOICE);
  if (lua_type(L, S_CHOICE) != LUA_TTABLE) return 0;
  if (!absent(raw_field(L, S_CHOICE, U_FINISH)) || !absent(raw_field(L, S_CHOICE, U_LOGPROBS))) return 0;
  if (slot_field(L, S_CHOICE, U_DELTA, S_DELTA) != LUA_TTABLE) return 0;
  raw_field(L, S_CHOICE, U_INDEX);
  index = pop_index(L);
  if (index < 0) return 0;
  lua_rawgeti(L, S_BY_INDEX, index);
  lua_replace(L, S_C);
  if (lua_type(L, S_C) != LUA_TTABLE || !fold_delta(L)) return 0;
  lua_pushvalue(L, lua_upvalueindex(U_LAST));
  lua_pushvalue(L, S_CHOICE);
  lua_rawset(L, S_C);
  lua_pushboolean(L, 1);
  return 1;
}

/* core.chat_finish(chunk, open): for a stream that keeps nothing, which
** choices chunk announces (open[index] = true, unless it is there) and
** finishes (open[index] = false: a finish_reason string). A choice
** index missing or null is its position (0-based); one that cannot be an
** index is skipped */
static int l_chat_finish(lua_State *L) {
  lua_Integer i, n, index;
  int type;
  lua_settop(L, 2);
  if (lua_type(L, 1) != LUA_TTABLE || lua_type(L, 2) != LUA_TTABLE) return 0;
  if (raw_field(L, 1, U_CHOICES) != LUA_TTABLE) return 0;   /* at 3 */
  n = (lua_Integer)lua_rawlen(L, 3);
  for (i = 1; i <= n; i++, lua_settop(L, 3)) {
    lua_rawgeti(L, 3, i);                                    /* at 4 */
    if (lua_type(L, 4) != LUA_TTABLE) continue;
    type = raw_field(L, 4, U_INDEX);
    if (absent(type)) {
      index = i - 1;
    } else {
      lua_Number x = type == LUA_TNUMBER ? lua_tonumber(L, -1) : -1;
      if (!(x >= 0 && x <= 2147483647.0 && x == (lua_Number)(long)x)) continue;
      index = (lua_Integer)x;
    }
    if (raw_field(L, 4, U_FINISH) == LUA_TSTRING) {
      lua_pushboolean(L, 0);
      lua_rawseti(L, 2, index);
    } else {
      lua_rawgeti(L, 2, index);
      if (lua_isnil(L, -1)) {
        lua_pushboolean(L, 1);
        lua_rawseti(L, 2, index);
      }
    }
  }
  return 0;
}

static void open_chat_delta(lua_State *L) {
  int n = 0, i;
  while (chat_keys[n] != NULL) lua_pushstring(L, chat_keys[n++]);
  luaL_getmetatable(L, LTEXT_MT);               /* U_TEXT_MT: ltext_open ran */
  for (i = 0; i <= n; i++) lua_pushvalue(L, -(n + 1));
  lua_pushcclosure(L, l_chat_finish, n + 1);
  lua_setfield(L, -(n + 3), "chat_finish");
  lua_pushcclosure(L, l_chat_delta, n + 1);
  lua_setfield(L, -2, "chat_delta");
}

/* }================================================================== */

/* {=================================================================
** unpredictable bytes
** ================================================================== */


/* wire.random_bytes(n) -> a string of n (1 to 256) unpredictable bytes, or
** nil, message when the kernel gives none (multipart boundaries) */
static int l_random_bytes(lua_State *L) {
  unsigned char buf[256];
  lua_Integer n = luaL_checkinteger(L, 1);
  int err;
  luaL_argcheck(L, n >= 1 && n <= (lua_Integer)sizeof buf, 1, "must be from 1 to 256");
  err = platform_random(buf, (size_t)n);
  if (err != 0) {
    lua_pushnil(L);
    lua_pushfstring(L, "no random bytes from the system: %s", strerror(err));
    return 2;
  }
  lua_pushlstring(L, (const char *)buf, (size_t)n);
  return 1;
}

/* }================================================================== */

static const luaL_Reg wire_funcs[] = {
  { "random_bytes", l_random_bytes },
  { "check_path", l_check_path },
  { "check_header", l_check_header },
  { "check_segment", l_check_segment },
  { "parse_headers", l_parse_headers },
  { "json_plain", l_json_plain },
  { "json_empties", l_json_empties },
  { "json_scan", l_json_scan },
  { "json_mark_arrays", l_json_mark_arrays },
  { "json_object_decoder", l_json_object_decoder },
  { "json_decoder", l_json_decoder },
  { "check_name", l_check_name },
  { "valid_utf8", l_valid_utf8 },
  { "escape_segment", l_escape_segment },
  { "f32_base64", l_f32_base64 },
  { "now", l_now },
  { "can_read", l_can_read },
  { "replace_file", l_replace_file },
  { "read_file", l_read_file },
  { "write_file", l_write_file },
  { "remove_file", l_remove_file },
  { "gc_running", l_gc_running },
  { "upload_file", l_upload_file },
  { NULL, NULL }
};

int luaopen_openai_wire(lua_State *L);

int luaopen_openai_wire(lua_State *L) {
  lua_newtable(L);
  lcompat_setfuncs(L, wire_funcs);
  lua_pushliteral(L, "role");
  lua_pushliteral(L, "content");
  lua_pushcclosure(L, l_messages_ok, 2);
  lua_setfield(L, -2, "messages_ok");
  ltext_open(L);
  lb64_open(L);
  lpartial_open(L);
  open_chat_delta(L);
  lhttp1_open(L);
  lua_pushliteral(L, OPENAI_WIRE_VERSION);
  lua_setfield(L, -2, "version");
  return 1;
}
