/*
** fuzz_json.c: libFuzzer target for the JSON decoder (src/ljson.c),
** differential against Debian's lua-cjson 2.1.0 loaded in an embedded
** Lua 5.4 (once per process).
**
** The input is the JSON text. ljson_decode runs in a C function, as
** openai.wire calls it, with the empty arrays' metatable at index 1 and
** part of the stack already used; no push may pass the stack Lua gave it
** or it asked for (see the stack guard below). Then:
**  - declined: the stack must be as it was; and the text must not be one
**    ljson.h promises to decode (cjson decodes it, it is strict JSON, no
**    control byte in a string, nesting at most LJSON_MAX_DEPTH);
**  - decoded: exactly one value pushed; the text nests at most
**    LJSON_MAX_DEPTH; cjson.decode must take the same text and give the
**    same value: same types, numbers to the bit and of the float subtype,
**    strings byte for byte, the same keys with the same values. Empty
**    tables: ours carries the metatable exactly where the text has [],
**    checked against cjson's decode of the text with a marker string put
**    into every empty array (cjson 2.1.0 makes [] and {} alike, and the
**    last of duplicate keys may drop one, so counting them is not enough).
** Any difference prints the input and aborts. Built and run by make fuzz
** (its rule has the flags, the dictionary fuzz/json.dict and the seeds in
** fuzz/corpus/json).
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

#include "ljson.h"

#include "../spec/c/ref_check.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* the state's fixed slots, below every input's values */
#define ARRAY_MT 1     /* the metatable ljson gives empty arrays */
#define CJSON_DECODE 2 /* cjson.decode */
#define BASE 2

/* what the marked text puts into each empty array: a string no text is
** likely to hold, so a [] decoded by cjson is a table with it alone */
#define MARKER_JSON "\"\\u0001ljson-fuzz []\\u0002\""
#define MARKER "\001ljson-fuzz []\002"

static lua_State *state;
static const uint8_t *input;     /* the text being checked, for fail() */
static size_t input_len;
static unsigned long inputs;

/* n bytes at p as the inside of a C string */
static void put_escaped(const void *p, size_t n) {
  const uint8_t *b = (const uint8_t *)p;
  size_t i;
  for (i = 0; i < n; i++) {
    if (b[i] == '"' || b[i] == '\\') fprintf(stderr, "\\%c", b[i]);
    else if (b[i] >= 0x20 && b[i] < 0x7f) fputc(b[i], stderr);
    else fprintf(stderr, "\\%03o", b[i]);
  }
}

/* print why (and detail: a value, a message) and the input, then abort
** for libFuzzer */
static void fail(const char *why, const char *detail) {
  fprintf(stderr, "\nfuzz_json: %s", why);
  if (detail != NULL) {
    fputs(": \"", stderr);
    put_escaped(detail, strlen(detail));
    fputc('"', stderr);
  }
  fprintf(stderr, "\ninput (%zu bytes): \"", input_len);
  put_escaped(input, input_len);
  fputs("\"\n", stderr);
  abort();
}

/* {=================================================================
** the stack ljson may use: a C function is given LUA_MINSTACK free slots,
** and lua_checkstack(L, n) n above the top. A push beyond them overflows
** the stack unseen: Debian's Lua has no api checks and is not built with
** ASan. So the Lua functions that push are wrapped at link time
** (-Wl,--wrap=NAME for each, see the Makefile's FUZZ_JSON_WRAP) and check
** every push while ljson_decode runs.
** ================================================================== */

static int guarding;     /* whether ljson_decode is running */
static int stack_limit;  /* the highest index it may push to */

static void guard_start(lua_State *L) {
  stack_limit = lua_gettop(L) + LUA_MINSTACK;
  guarding = 1;
}

static void check_push(lua_State *L) {
  if (guarding && lua_gettop(L) > stack_limit) {
    guarding = 0;
    fail("ljson pushed past the stack it had checked for", NULL);
  }
}

#define WRAP_PUSH(name, params, args)    \
  void __real_##name params;             \
  void __wrap_##name params;             \
  void __wrap_##name params {            \
    __real_##name args;                  \
    check_push(L);                       \
  }

int __real_lua_checkstack(lua_State *L, int n);
int __wrap_lua_checkstack(lua_State *L, int n);
int __wrap_lua_checkstack(lua_State *L, int n) {
  int ok = __real_lua_checkstack(L, n);
  if (ok && guarding && lua_gettop(L) + n > stack_limit) stack_limit = lua_gettop(L) + n;
  return ok;
}

WRAP_PUSH(lua_settop, (lua_State *L, int idx), (L, idx))
WRAP_PUSH(lua_pushnil, (lua_State *L), (L))
WRAP_PUSH(lua_pushnumber, (lua_State *L, lua_Number n), (L, n))
WRAP_PUSH(lua_pushinteger, (lua_State *L, lua_Integer n), (L, n))
WRAP_PUSH(lua_pushboolean, (lua_State *L, int b), (L, b))
WRAP_PUSH(lua_pushlightuserdata, (lua_State *L, void *p), (L, p))
WRAP_PUSH(lua_pushvalue, (lua_State *L, int idx), (L, idx))
WRAP_PUSH(lua_createtable, (lua_State *L, int narr, int nrec), (L, narr, nrec))

const char *__real_lua_pushlstring(lua_State *L, const char *s, size_t len);
const char *__wrap_lua_pushlstring(lua_State *L, const char *s, size_t len);
const char *__wrap_lua_pushlstring(lua_State *L, const char *s, size_t len) {
  const char *r = __real_lua_pushlstring(L, s, len);
  check_push(L);
  return r;
}

void *__real_lua_newuserdatauv(lua_State *L, size_t size, int nuvalue);
void *__wrap_lua_newuserdatauv(lua_State *L, size_t size, int nuvalue);
void *__wrap_lua_newuserdatauv(lua_State *L, size_t size, int nuvalue) {
  void *r = __real_lua_newuserdatauv(L, size, nuvalue);
  check_push(L);
  return r;
}

int __real_lua_rawgeti(lua_State *L, int idx, lua_Integer n);
int __wrap_lua_rawgeti(lua_State *L, int idx, lua_Integer n);
int __wrap_lua_rawgeti(lua_State *L, int idx, lua_Integer n) {
  int r = __real_lua_rawgeti(L, idx, n);
  check_push(L);
  return r;
}

/* }================================================================== */

/* {=================================================================
** the text, read outside strings with ref_check.h's model
** ================================================================== */

/* whether s[i..j) is JSON's number grammar */
static int json_number(const uint8_t *s, size_t i, size_t j) {
  if (i < j && s[i] == '-') i++;
  if (i < j && s[i] == '0') {
    i++;
  } else {
    if (i == j || s[i] < '1' || s[i] > '9') return 0;
    while (i < j && s[i] >= '0' && s[i] <= '9') i++;
  }
  if (i < j && s[i] == '.') {
    if (++i == j || s[i] < '0' || s[i] > '9') return 0;
    while (i < j && s[i] >= '0' && s[i] <= '9') i++;
  }
  if (i < j && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    if (i < j && (s[i] == '+' || s[i] == '-')) i++;
    if (i == j || s[i] < '0' || s[i] > '9') return 0;
    while (i < j && s[i] >= '0' && s[i] <= '9') i++;
  }
  return i == j;
}

static int token_byte(uint8_t c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '+' ||
         c == '-' || c == '.';
}

/* whether the string whose quote is at i has no control byte and only
** JSON's escapes (cjson checks the \u ones) */
static int strict_string(const uint8_t *s, size_t len, size_t i) {
  for (i++; i < len && s[i] != '"'; i++) {
    if (s[i] < 0x20) return 0;
    if (s[i] == '\\') {
      if (++i == len || !strchr("\"\\/bfnrtu", s[i]) || s[i] == 0) return 0;
    }
  }
  return 1;
}

/* the deepest nesting of s (outside strings); *strict: whether s is in
** the subset ljson.h promises to decode, given that cjson decodes it:
** no NUL, numbers and literals by JSON's grammar (cjson also takes 01,
** 1., +1, hex, inf, nan), strings as strict_string says (keep in step
** with ljson.h's list of what it declines) */
static int scan_text(const uint8_t *s, size_t len, int *strict) {
  size_t i = 0;
  int depth = 0, deepest = 0;
  *strict = memchr(s, 0, len) == NULL;
  while (i < len) {
    uint8_t c = s[i];
    if (c == '"') {
      if (!strict_string(s, len, i)) *strict = 0;
      i = ref_skip_string(s, len, i);
    } else if (token_byte(c)) {
      size_t j = i;
      while (j < len && token_byte(s[j])) j++;
      if (!json_number(s, i, j) && !(j - i == 4 && memcmp(s + i, "true", 4) == 0) &&
          !(j - i == 5 && memcmp(s + i, "false", 5) == 0) &&
          !(j - i == 4 && memcmp(s + i, "null", 4) == 0))
        *strict = 0;
      i = j;
    } else {
      if (c == '[' || c == '{') {
        if (++depth > deepest) deepest = depth;
      } else if (c == ']' || c == '}') {
        depth--;
      } else if (c != ',' && c != ':' && c != ' ' && c != '\t' && c != '\n' && c != '\r') {
        *strict = 0;
      }
      i++;
    }
  }
  return deepest;
}

/* push s with MARKER_JSON put into each empty array (outside strings) */
static void push_marked(lua_State *L, const uint8_t *s, size_t len, int arrays) {
  size_t i = 0, n = 0, room = len + (size_t)arrays * (sizeof MARKER_JSON - 1);
  char *out = (char *)malloc(room ? room : 1);
  if (out == NULL) abort();
  while (i < len) {
    if (s[i] == '"') {
      size_t end = ref_skip_string(s, len, i);
      if (end > len) end = len;
      memcpy(out + n, s + i, end - i);
      n += end - i;
      i = end;
      continue;
    }
    out[n++] = (char)s[i];
    if (s[i] == '[' && ref_empty_at(s, len, i, ']')) {
      memcpy(out + n, MARKER_JSON, sizeof MARKER_JSON - 1);
      n += sizeof MARKER_JSON - 1;
    }
    i++;
  }
  if (n != room) fail("the marked text's length", NULL);
  lua_pushlstring(L, out, n);
  free(out);
}

/* }================================================================== */

/* {=================================================================
** ours against cjson's
** ================================================================== */

/* how many keys the table at t has */
static long count_keys(lua_State *L, int t) {
  long n = 0;
  lua_pushnil(L);
  while (lua_next(L, t)) {
    lua_pop(L, 1);
    n++;
  }
  return n;
}

/* our empty table at a against cjson's at b: marked, cjson's decode of the
** marked text, where an empty array is {MARKER}; else any empty table */
static void same_empty(lua_State *L, int a, int b, int marked) {
  int has_mt = lua_getmetatable(L, a);
  if (has_mt) {
    if (!lua_rawequal(L, -1, ARRAY_MT)) fail("an empty table with another metatable", NULL);
    lua_pop(L, 1);
  }
  if (marked && has_mt) {
    size_t len;
    const char *m;
    lua_rawgeti(L, b, 1);
    m = lua_tolstring(L, -1, &len);
    if (count_keys(L, b) != 1 || lua_type(L, -1) != LUA_TSTRING || len != sizeof MARKER - 1 ||
        memcmp(m, MARKER, len) != 0)
      fail("an empty table with the array metatable where the text has no []", NULL);
    lua_pop(L, 1);
  } else if (count_keys(L, b) != 0) {
    fail(marked ? "an empty table without the array metatable where the text has []"
                : "an empty table where cjson has a non-empty one",
         NULL);
  }
}

static void same(lua_State *L, int a, int b, int marked);

/* our table at a against cjson's at b */
static void same_table(lua_State *L, int a, int b, int marked) {
  long n = 0;
  if (!lua_checkstack(L, 8)) fail("the checker's stack", NULL);
  lua_pushnil(L);
  if (lua_next(L, a) == 0) {
    same_empty(L, a, b, marked);
    return;
  }
  lua_pop(L, 2);
  if (lua_getmetatable(L, a)) fail("a non-empty table with a metatable", NULL);
  lua_pushnil(L);
  while (lua_next(L, a)) {
    int key_type = lua_type(L, -2);
    if (key_type != LUA_TSTRING && !(key_type == LUA_TNUMBER && lua_isinteger(L, -2)))
      fail("a key neither a string nor an integer", luaL_typename(L, -2));
    lua_pushvalue(L, -2);
    lua_rawget(L, b);
    if (lua_isnil(L, -1)) fail("a key cjson does not have", lua_tostring(L, -3));
    same(L, lua_gettop(L) - 1, lua_gettop(L), marked);
    lua_pop(L, 2);
    n++;
  }
  if (count_keys(L, b) != n) fail("cjson has more keys", NULL);
}

/* our value at a (absolute) against cjson's at b */
static void same(lua_State *L, int a, int b, int marked) {
  int type = lua_type(L, a);
  if (type != lua_type(L, b)) {
    char both[80];
    snprintf(both, sizeof both, "%s against cjson's %s", luaL_typename(L, a), luaL_typename(L, b));
    fail("a different type", both);
  }
  switch (type) {
  case LUA_TTABLE:
    same_table(L, a, b, marked);
    break;
  case LUA_TNUMBER: {
    lua_Number x = lua_tonumber(L, a), y = lua_tonumber(L, b);
    if (lua_isinteger(L, a) || lua_isinteger(L, b)) fail("an integer subtype", NULL);
    if (memcmp(&x, &y, sizeof x) != 0) {
      char both[80];
      snprintf(both, sizeof both, "%.17g against cjson's %.17g", (double)x, (double)y);
      fail("a different number", both);
    }
    break;
  }
  case LUA_TSTRING: {
    size_t la, lb;
    const char *sa = lua_tolstring(L, a, &la), *sb = lua_tolstring(L, b, &lb);
    if (la != lb || memcmp(sa, sb, la) != 0) {
      fputs("\nours:    \"", stderr);
      put_escaped(sa, la);
      fputs("\"\ncjson's: \"", stderr);
      put_escaped(sb, lb);
      fputc('"', stderr);
      fail("a different string", NULL);
    }
    break;
  }
  case LUA_TBOOLEAN:
    if (lua_toboolean(L, a) != lua_toboolean(L, b)) fail("a different boolean", NULL);
    break;
  case LUA_TLIGHTUSERDATA:
    if (lua_touserdata(L, a) != NULL || lua_touserdata(L, b) != NULL) fail("a null not NULL", NULL);
    break;
  default:
    fail("a value of no JSON type", luaL_typename(L, a));
  }
}

/* }================================================================== */

/* the decoder as openai.wire runs it: (array_mt, text) -> value or nothing;
** the stack must grow by what it returns, and no push may pass the stack
** it was given or asked for */
static int run_ljson(lua_State *L) {
  size_t len;
  const char *s = lua_tolstring(L, 2, &len);
  int top, pushed;
  guard_start(L);
  /* a caller may have used its LUA_MINSTACK slots, some or all (as many
  ** as the text's length says, so that a failure repeats) */
  lua_settop(L, lua_gettop(L) + (int)(len % (LUA_MINSTACK + 1)));
  top = lua_gettop(L);
  pushed = ljson_decode(L, s, len, ARRAY_MT);
  guarding = 0;
  if (pushed != 0 && pushed != 1) fail("ljson_decode returned neither 0 nor 1", NULL);
  if (lua_gettop(L) != top + pushed)
    fail(pushed ? "the stack after a decode is not one value higher" : "the stack after a decline",
         NULL);
  return pushed;
}

/* cjson.decode(the string at i) pushed; 0 (with its message) on an error */
static int cjson_decode(lua_State *L, int i) {
  lua_pushvalue(L, CJSON_DECODE);
  lua_pushvalue(L, i);
  return lua_pcall(L, 1, 1, 0) == LUA_OK;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  lua_State *L = luaL_newstate();
  (void)argc;
  (void)argv;
  if (L == NULL) abort();
  luaL_openlibs(L);
  lua_newtable(L);                                   /* ARRAY_MT */
  lua_getglobal(L, "require");
  lua_pushstring(L, "cjson");
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
    fprintf(stderr, "fuzz_json: require \"cjson\": %s\n", lua_tostring(L, -1));
    abort();
  }
  lua_getfield(L, -1, "_VERSION");
  if (lua_type(L, -1) != LUA_TSTRING || strcmp(lua_tostring(L, -1), "2.1.0") != 0) {
    fprintf(stderr, "fuzz_json: the reference is lua-cjson 2.1.0, found %s\n",
            luaL_tolstring(L, -1, NULL));
    abort();
  }
  lua_getfield(L, -2, "decode");                     /* CJSON_DECODE */
  lua_replace(L, CJSON_DECODE);
  lua_settop(L, BASE);
  state = L;
  return 0;
}

/* ljson declined the text (at index text): it must not be one it promises
** to decode */
static void check_declined(lua_State *L, int text, const uint8_t *s, size_t len) {
  int strict, deepest = scan_text(s, len, &strict);
  if (strict && deepest <= LJSON_MAX_DEPTH && cjson_decode(L, text))
    fail("declined a text it promises to decode", NULL);
}

/* ljson decoded the text (at index text) into the value at ours: cjson
** decodes it into the same, and its empty arrays where ours has them */
static void check_decoded(lua_State *L, int text, int ours, const uint8_t *s, size_t len) {
  int strict, arrays, objects;
  if (scan_text(s, len, &strict) > LJSON_MAX_DEPTH) fail("decoded a text nested too deep", NULL);
  if (!cjson_decode(L, text)) fail("cjson refuses what ljson decoded", lua_tostring(L, -1));
  ref_empties(s, len, &arrays, &objects);
  if (arrays == 0) {
    same(L, ours, lua_gettop(L), 1);
    return;
  }
  same(L, ours, lua_gettop(L), 0);
  push_marked(L, s, len, arrays);
  if (!cjson_decode(L, lua_gettop(L))) fail("cjson refuses the marked text", lua_tostring(L, -1));
  same(L, ours, lua_gettop(L), 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lua_State *L = state;
  int text = BASE + 1;
  input = data;
  input_len = size;
  lua_settop(L, BASE);
  lua_pushlstring(L, (const char *)data, size);
  lua_pushcfunction(L, run_ljson);
  lua_pushvalue(L, ARRAY_MT);
  lua_pushvalue(L, text);
  if (lua_pcall(L, 2, LUA_MULTRET, 0) != LUA_OK) fail("ljson_decode raised", lua_tostring(L, -1));
  if (lua_gettop(L) == text) check_declined(L, text, data, size);
  else check_decoded(L, text, text + 1, data, size);
  lua_settop(L, BASE);
  /* a full collection now and then keeps the state small and steady */
  if (++inputs % 8192 == 0) lua_gc(L, LUA_GCCOLLECT, 0);
  return 0;
}
