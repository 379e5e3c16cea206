/*
** lb64.c: base64 for Lua (see lb64.h).
**
**   wire.b64_encode(bytes) -> text
**   wire.b64_decode(text)  -> bytes | nil, reason (strict, b64.h says what)
**
** The output is made in a userdata (the GC owns it, so a memory error
** while pushing the string leaks nothing), then pushed as a string.
*/
#include <limits.h>

#include "lua.h"
#include "lauxlib.h"

#include "b64.h"
#include "lb64.h"
#include "lcompat.h"

static int l_b64_encode(lua_State *L) {
  size_t len, n;
  const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &len);
  char *out;
  n = b64_encoded_len(len);
  if (len > 0 && n == 0) return luaL_error(L, "openai.b64_encode: the bytes are too long");
  out = (char *)lua_newuserdata(L, n + 1);
  lua_pushlstring(L, out, b64_encode(s, len, out));
  return 1;
}

static int l_b64_decode(lua_State *L) {
  size_t len, got;
  const char *s = luaL_checklstring(L, 1, &len);
  unsigned char *out;
  const char *why;
  if (len % 4 != 0) {
    lua_pushnil(L);
    lua_pushliteral(L, "the base64 text is not a multiple of 4 characters long");
    return 2;
  }
  out = (unsigned char *)lua_newuserdata(L, b64_decoded_len(s, len) + 1);
  why = b64_decode(s, len, 1, out, &got);
  if (why != NULL) {
    lua_pushnil(L);
    lua_pushfstring(L, "%s (at character %d)", why,
                    (int)(got / 3 * 4 + 1 > INT_MAX ? INT_MAX : got / 3 * 4 + 1));
    return 2;
  }
  lua_pushlstring(L, (const char *)out, got);
  return 1;
}

void lb64_open(lua_State *L) {
  static const luaL_Reg funcs[] = {
    { "b64_encode", l_b64_encode }, { "b64_decode", l_b64_decode }, { NULL, NULL }
  };
  lcompat_setfuncs(L, funcs);
}
