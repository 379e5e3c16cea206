/*
** bench/floor_lua.c: the JSON-aware floor of the sequential figure, a Lua
** module built only for the bench (bench/run.sh): one reused libcurl easy
** handle called from Lua, with the options bench/floor.c sets. bench/seq.lua
** adds cjson.encode(body) and cjson.decode(response) per call, in the same
** process as the library's loop.
**
**   local floor = require "floor_lua"
**   local h = floor.easy{ "Authorization: Bearer ...", ... }   -- header lines
**   local status, response = h:post(url, body)
*/
#include <stdlib.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"

#include "floor_common.h"

#define EASY_MT "floor_lua.easy"

#if LUA_VERSION_NUM < 502
#define lua_objlen_compat(L, i) lua_objlen(L, i)
#else
#define lua_objlen_compat(L, i) lua_rawlen(L, i)
#endif

typedef struct leasy {
  CURL *h;
  struct curl_slist *headers;
  membuf out;
  char *url;                /* the URL set on h, so a repeated one is not set again */
} leasy;

static leasy *check_easy(lua_State *L) {
  leasy *e = (leasy *)luaL_checkudata(L, 1, EASY_MT);
  if (e->h == NULL) luaL_error(L, "floor_lua: closed");
  return e;
}

static int l_gc(lua_State *L) {
  leasy *e = (leasy *)luaL_checkudata(L, 1, EASY_MT);
  if (e->h != NULL) curl_easy_cleanup(e->h);
  curl_slist_free_all(e->headers);
  free(e->out.data);
  free(e->url);
  memset(e, 0, sizeof *e);
  return 0;
}

/* floor.easy(header_lines) -> handle */
static int l_easy(lua_State *L) {
  leasy *e;
  size_t i, n;
  luaL_checktype(L, 1, LUA_TTABLE);
  e = (leasy *)lua_newuserdata(L, sizeof *e);
  memset(e, 0, sizeof *e);
  luaL_getmetatable(L, EASY_MT);
  lua_setmetatable(L, -2);
  n = (size_t)lua_objlen_compat(L, 1);
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, 1, (int)i);
    e->headers = curl_slist_append(e->headers, luaL_checkstring(L, -1));
    lua_pop(L, 1);
  }
  e->headers = curl_slist_append(e->headers, "Expect:");
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return luaL_error(L, "curl_global_init");
  e->h = curl_easy_init();
  if (e->h == NULL) return luaL_error(L, "curl_easy_init");
  setup_easy(e->h, "http://127.0.0.1/", "", 0, e->headers, &e->out);
  return 1;
}

/* h:post(url, body) -> status, response */
static int l_post(lua_State *L) {
  leasy *e = check_easy(L);
  const char *url = luaL_checkstring(L, 2);
  size_t len;
  const char *body = luaL_checklstring(L, 3, &len);
  long code = 0;
  CURLcode rc;
  if (e->url == NULL || strcmp(e->url, url) != 0) {
    free(e->url);
    e->url = strdup(url);
    curl_easy_setopt(e->h, CURLOPT_URL, url);
  }
  curl_easy_setopt(e->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
  curl_easy_setopt(e->h, CURLOPT_POSTFIELDS, body);
  e->out.len = 0;
  rc = curl_easy_perform(e->h);
  if (rc != CURLE_OK) return luaL_error(L, "floor_lua: %s", curl_easy_strerror(rc));
  curl_easy_getinfo(e->h, CURLINFO_RESPONSE_CODE, &code);
  lua_pushinteger(L, (lua_Integer)code);
  lua_pushlstring(L, e->out.data ? e->out.data : "", e->out.len);
  return 2;
}

int luaopen_floor_lua(lua_State *L);

int luaopen_floor_lua(lua_State *L) {
  luaL_newmetatable(L, EASY_MT);
  lua_pushcfunction(L, l_gc);
  lua_setfield(L, -2, "__gc");
  lua_newtable(L);
  lua_pushcfunction(L, l_post);
  lua_setfield(L, -2, "post");
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  lua_newtable(L);
  lua_pushcfunction(L, l_easy);
  lua_setfield(L, -2, "easy");
  return 1;
}
