/*
** ltext.c: openai.text, a growing text in C memory (see ltext.h).
**
**   local t = wire.text_new()
**   wire.text_append(t, s)       -- s a string
**   wire.text_string(t)          -- the whole text, or nil when nothing
**                                -- was appended (not even "")
**
** The buffer doubles as it grows; one close function frees it, behind
** __gc, __close and :close().
*/
#include <stdlib.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"

#include "lcompat.h"
#include "ltext.h"

void ltext_append(lua_State *L, ltext *t, const char *s, size_t n) {
  t->used = 1;
  if (n == 0) return;
  if (n > t->cap - t->len) {
    size_t cap = t->cap ? t->cap : 256;
    char *p;
    while (cap - t->len < n) {
      if (cap > ((size_t)-1) / 2) luaL_error(L, "openai.text: the text is too large");
      cap *= 2;
    }
    p = (char *)realloc(t->data, cap);
    if (p == NULL) luaL_error(L, "openai.text: not enough memory for %d more bytes", (int)(cap - t->cap));
    t->data = p;
    t->cap = cap;
  }
  memcpy(t->data + t->len, s, n);
  t->len += n;
}

static ltext *check_text(lua_State *L) {
  return (ltext *)luaL_checkudata(L, 1, LTEXT_MT);
}

static int l_text_new(lua_State *L) {
  ltext *t = (ltext *)lua_newuserdata(L, sizeof *t);
  memset(t, 0, sizeof *t);
  luaL_getmetatable(L, LTEXT_MT);
  lua_setmetatable(L, -2);
  return 1;
}

static int l_text_append(lua_State *L) {
  ltext *t = check_text(L);
  size_t n;
  const char *s = luaL_checklstring(L, 2, &n);
  ltext_append(L, t, s, n);
  return 0;
}

static int l_text_string(lua_State *L) {
  ltext *t = check_text(L);
  if (!t->used) return 0;
  lua_pushlstring(L, t->len ? t->data : "", t->len);
  return 1;
}

static int l_text_close(lua_State *L) {
  ltext *t = check_text(L);
  free(t->data);
  memset(t, 0, sizeof *t);
  return 0;
}

void ltext_open(lua_State *L) {
  static const luaL_Reg methods[] = { { "close", l_text_close }, { NULL, NULL } };
  static const luaL_Reg funcs[] = {
    { "text_new", l_text_new }, { "text_append", l_text_append }, { "text_string", l_text_string },
    { NULL, NULL }
  };
  lcompat_new_class(L, LTEXT_MT, methods, l_text_close, NULL);
  lcompat_setfuncs(L, funcs);
}
