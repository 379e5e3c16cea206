/*
** lcompat.h: what the Lua bindings (openai_core.c, openai_wire.c,
** lhttp1.c) share: the few Lua 5.1 shims they need, and how a userdata
** class is registered. Only units that include lua.h may include it: the
** Lua-free parts (engine, parsers, unit tests) stay without Lua.
*/
#ifndef OPENAI_LCOMPAT_H
#define OPENAI_LCOMPAT_H

#include "lua.h"
#include "lauxlib.h"

#if LUA_VERSION_NUM < 502
#define lua_rawlen(L, i) lua_objlen(L, i)
#endif

/* the functions of l (upvalue-free) into the table on top of the stack */
static inline void lcompat_setfuncs(lua_State *L, const luaL_Reg *l) {
#if LUA_VERSION_NUM < 502
  for (; l->name != NULL; l++) {
    lua_pushcfunction(L, l->func);
    lua_setfield(L, -2, l->name);
  }
#else
  luaL_setfuncs(L, l, 0);
#endif
}

/* the metatable `name` of a userdata class: methods as __index, one
** idempotent close behind __gc and __close, __name (5.1 and 5.2 do not
** set it themselves), and __tostring when one is given (else NULL) */
static inline void lcompat_new_class(lua_State *L, const char *name, const luaL_Reg *methods,
                                     lua_CFunction close, lua_CFunction tostring) {
  luaL_newmetatable(L, name);
  lua_newtable(L);
  lcompat_setfuncs(L, methods);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, close);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, close);
  lua_setfield(L, -2, "__close");
  lua_pushstring(L, name);
  lua_setfield(L, -2, "__name");
  if (tostring != NULL) {
    lua_pushcfunction(L, tostring);
    lua_setfield(L, -2, "__tostring");
  }
  lua_pop(L, 1);
}

/* a count for a Lua test: false when 0, else the number */
static inline void lcompat_push_count(lua_State *L, int n) {
  if (n == 0) lua_pushboolean(L, 0); else lua_pushinteger(L, (lua_Integer)n);
}

#endif
