/*
** fuzz_partial.c: libFuzzer target for the reader of JSON still arriving
** (src/pjson.c), against the JSON decoder (src/ljson.c) in an embedded Lua
** 5.4.
**
** Input: byte 0 picks a piece size (1 to 16 bytes); the rest is the text.
** It is fed to the reader in pieces; after each piece the value so far
** (the kept prefix and its closers) must be text the decoder takes, when
** the decoder takes the whole text (then every prefix of it closes into
** JSON). Once the whole text is fed and ended: when the decoder takes it,
** the reader must say it is complete, its kept prefix must be the text
** without trailing whitespace and no closer added, and the decoder's value
** of that prefix must equal its value of the text (same types, numbers to
** the bit, strings byte for byte, the same keys and values, empty arrays
** marked alike). Texts the decoder declines only have to run clean (no
** crash, no sanitizer report). Any difference prints the input and aborts.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

#include "ljson.h"
#include "pjson.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ARRAY_MT 1     /* the metatable ljson gives empty arrays */

static lua_State *state;
static const uint8_t *input;
static size_t input_len;

static void fail(const char *why) {
  size_t i;
  fprintf(stderr, "fuzz_partial: %s\ninput (%zu bytes): \"", why, input_len);
  for (i = 0; i < input_len; i++) {
    if (input[i] >= 0x20 && input[i] < 0x7f && input[i] != '"' && input[i] != '\\') fputc(input[i], stderr);
    else fprintf(stderr, "\\x%02x", input[i]);
  }
  fprintf(stderr, "\"\n");
  abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc; (void)argv;
  state = luaL_newstate();
  if (state == NULL) abort();
  lua_newtable(state);                          /* ARRAY_MT */
  return 0;
}

/* whether the values at stack indices a and b are the same JSON value */
static int same(lua_State *L, int a, int b, int depth) {
  int ta = lua_type(L, a), ok = 1;
  size_t la, lb;
  if (ta != lua_type(L, b) || depth > LJSON_MAX_DEPTH + 1) return 0;
  if (ta == LUA_TNUMBER) {
    lua_Number x = lua_tonumber(L, a), y = lua_tonumber(L, b);
    return memcmp(&x, &y, sizeof x) == 0 && lua_isinteger(L, a) == lua_isinteger(L, b);
  }
  if (ta == LUA_TSTRING) {
    const char *x = lua_tolstring(L, a, &la), *y = lua_tolstring(L, b, &lb);
    return la == lb && memcmp(x, y, la) == 0;
  }
  if (ta != LUA_TTABLE) return lua_rawequal(L, a, b);
  if (!lua_checkstack(L, 8)) abort();
  {
    int ma = lua_getmetatable(L, a), mb = lua_getmetatable(L, b);
    if (ma != mb) {
      lua_pop(L, ma + mb);
      return 0;
    }
    if (ma) {
      ok = lua_rawequal(L, -1, -2);
      lua_pop(L, 2);
      if (!ok) return 0;
    }
  }
  la = 0; lb = 0;
  lua_pushnil(L);
  while (ok && lua_next(L, a)) {                /* key at -2, a's value at -1 */
    la++;
    lua_pushvalue(L, -2);
    lua_rawget(L, b);
    ok = same(L, lua_gettop(L) - 1, lua_gettop(L), depth + 1);
    lua_pop(L, 2);
  }
  if (!ok) {
    lua_pop(L, 1);
    return 0;
  }
  lua_pushnil(L);
  while (lua_next(L, b)) {
    lb++;
    lua_pop(L, 1);
  }
  return la == lb;
}

/* decode s[0..n) (a NUL-ended copy) onto the stack: 1, or 0 declined */
static int decode(const char *s, size_t n) {
  char *copy = malloc(n + 1);
  int ok;
  if (copy == NULL) abort();
  memcpy(copy, s, n);
  copy[n] = 0;
  ok = ljson_decode(state, copy, n, ARRAY_MT);
  free(copy);
  return ok;
}

/* the reader's value so far as text, into out (room for pos + closers) */
static size_t closed(const pjson *p, const char *text, char *out) {
  char cl[PJSON_MAX_DEPTH + 1];
  size_t k = pjson_closers(p, cl);
  memcpy(out, text, p->cut);
  memcpy(out + p->cut, cl, k);
  return p->cut + k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *text;
  char *out;
  size_t n, piece, off, trimmed;
  int whole_ok;
  pjson p;
  if (size < 1) return 0;
  input = data; input_len = size;
  piece = (size_t)data[0] % 16 + 1;
  text = (const char *)data + 1;
  n = size - 1;
  out = malloc(n + PJSON_MAX_DEPTH + 2);
  if (out == NULL) abort();
  lua_settop(state, ARRAY_MT);
  whole_ok = decode(text, n);                   /* the text's value at 2 */
  pjson_init(&p);
  for (off = 0; off < n; off += piece) {
    size_t len = n - off < piece ? n - off : piece, m;
    pjson_feed(&p, text + off, len);
    if (p.cut > p.pos || p.cut_depth > p.depth + 1) fail("the cut is past what was read");
    m = closed(&p, text, out);
    if (whole_ok && p.cut > 0) {
      if (!decode(out, m)) fail("a prefix of a text the decoder takes did not close into JSON");
      lua_settop(state, 2);
    }
  }
  pjson_end(&p);
  if (whole_ok) {
    trimmed = n;
    while (trimmed > 0 && strchr(" \t\r\n", text[trimmed - 1]) != NULL) trimmed--;
    if (!pjson_complete(&p)) fail("the decoder takes the text, the reader says it is not complete");
    if (p.cut != trimmed || pjson_closers(&p, out) != 0) fail("a whole text is not its own closing");
    if (!decode(text, p.cut)) fail("the decoder declines the kept text");
    if (!same(state, 2, 3, 0)) fail("the value of the whole text differs from the decoder's");
  }
  lua_settop(state, ARRAY_MT);
  free(out);
  return 0;
}
