/*
** lpartial.c: openai.partial (see lpartial.h).
**
**   local r = wire.partial_new()
**   r:feed(s)            -- the next piece of the text
**   r:value(array_mt)    -- the value so far: v; or nil, text when the C
**                        -- decoder leaves that text to cjson; or nothing
**                        -- when there is no value yet
**   r:finish()           -- the text ends here (a top-level number is whole)
**   r:complete()         -- a whole top-level value has been read
**   r:text()             -- the text read so far
**   r:failed()           -- the text is not JSON (the value stopped growing)
**
** The text is kept in one C buffer; the value so far is the text up to the
** reader's cut plus its closers, copied into a second buffer (NUL-ended, as
** ljson_decode needs) and decoded there. One close function frees both,
** behind __gc, __close and :close().
*/
#include <string.h>

#include "lua.h"
#include "lauxlib.h"

#include "buf.h"
#include "lcompat.h"
#include "ljson.h"
#include "lpartial.h"
#include "pjson.h"

typedef struct {
  pjson reader;
  obuf text;       /* everything fed */
  obuf closed;     /* the value so far as JSON text */
} lpartial;

static lpartial *check_partial(lua_State *L) {
  return (lpartial *)luaL_checkudata(L, 1, LPARTIAL_MT);
}

static int l_partial_new(lua_State *L) {
  lpartial *r = (lpartial *)lua_newuserdata(L, sizeof *r);
  pjson_init(&r->reader);
  obuf_init(&r->text);
  obuf_init(&r->closed);
  luaL_getmetatable(L, LPARTIAL_MT);
  lua_setmetatable(L, -2);
  return 1;
}

static int l_partial_feed(lua_State *L) {
  lpartial *r = check_partial(L);
  size_t n;
  const char *s = luaL_checklstring(L, 2, &n);
  if (obuf_append(&r->text, s, n) != 0) return luaL_error(L, "openai.partial: not enough memory");
  pjson_feed(&r->reader, s, n);
  return 0;
}

static int l_partial_value(lua_State *L) {
  lpartial *r = check_partial(L);
  char closers[PJSON_MAX_DEPTH + 1];
  size_t cut = r->reader.cut, k;
  if (cut == 0) return 0;
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  k = pjson_closers(&r->reader, closers);
  obuf_clear(&r->closed);
  if (obuf_reserve(&r->closed, cut + k) != 0) return luaL_error(L, "openai.partial: not enough memory");
  obuf_append(&r->closed, r->text.data, cut);
  obuf_append(&r->closed, closers, k);
  if (ljson_decode(L, r->closed.data, r->closed.len, 2)) return 1;
  lua_pushnil(L);
  lua_pushlstring(L, r->closed.data, r->closed.len);
  return 2;
}

static int l_partial_finish(lua_State *L) {
  pjson_end(&check_partial(L)->reader);
  return 0;
}

static int l_partial_complete(lua_State *L) {
  lua_pushboolean(L, pjson_complete(&check_partial(L)->reader));
  return 1;
}

static int l_partial_failed(lua_State *L) {
  lua_pushboolean(L, check_partial(L)->reader.err);
  return 1;
}

static int l_partial_text(lua_State *L) {
  lpartial *r = check_partial(L);
  lua_pushlstring(L, r->text.len ? r->text.data : "", r->text.len);
  return 1;
}

static int l_partial_close(lua_State *L) {
  lpartial *r = check_partial(L);
  obuf_free(&r->text);
  obuf_free(&r->closed);
  pjson_init(&r->reader);
  return 0;
}

void lpartial_open(lua_State *L) {
  static const luaL_Reg methods[] = {
    { "feed", l_partial_feed }, { "value", l_partial_value }, { "finish", l_partial_finish },
    { "complete", l_partial_complete }, { "failed", l_partial_failed }, { "text", l_partial_text },
    { "close", l_partial_close }, { NULL, NULL }
  };
  lcompat_new_class(L, LPARTIAL_MT, methods, l_partial_close, NULL);
  lua_pushcfunction(L, l_partial_new);
  lua_setfield(L, -2, "partial_new");
}
