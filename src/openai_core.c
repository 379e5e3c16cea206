/*
** openai_core.c: the Lua binding of the engine, `require "openai.core"`:
** engines, transfers and curl_version, the only module linked with libcurl.
** The pure functions (checks, parsers, clock) are `openai.wire`
** (openai_wire.c), which a host without curl (nginx) loads alone.
**
** Engines and transfers live in userdata with one idempotent close function
** behind __gc, __close and :close(). Lua is only called here, after the
** engine's curl calls have returned (docs/DESIGN.md, "Rules of the C core" 1).
*/
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"

#include "check.h"
#include "engine.h"
#include "lcompat.h"

#define OPENAI_CORE_VERSION "0.1.0"

#define ENGINE_MT   "openai.engine"
#define TRANSFER_MT "openai.transfer"
#define PROFILE_MT  "openai.profile"

/* {=================================================================
** the registry
** ================================================================== */

/* the registry key of the weak table lightuserdata(transfer) -> userdata */
static char weak_key = 'w';

/* }================================================================== */


/* {=================================================================
** userdata access
** ================================================================== */

typedef struct lengine { engine e; } lengine;
typedef struct ltransfer { transfer t; } ltransfer;
/* a profile: the shared part (p), and the transfer it was read into */
typedef struct lprofile { profile *p; transfer tmpl; } lprofile;

static engine *check_engine(lua_State *L, int idx) {
  lengine *le = (lengine *)luaL_checkudata(L, idx, ENGINE_MT);
  if (le->e.closed) luaL_error(L, "openai.core: the engine is closed");
  return &le->e;
}

static transfer *check_transfer(lua_State *L, int idx) {
  return &((ltransfer *)luaL_checkudata(L, idx, TRANSFER_MT))->t;
}

/* push the weak registry table */
static void push_weak(lua_State *L) {
  lua_pushlightuserdata(L, (void *)&weak_key);
  lua_rawget(L, LUA_REGISTRYINDEX);
}

/* push the userdata of transfer t, or nil when it was collected */
static void push_transfer(lua_State *L, transfer *t) {
  push_weak(L);
  lua_pushlightuserdata(L, (void *)t);
  lua_rawget(L, -2);
  lua_remove(L, -2);
}

/* forget t in the weak table of transfers */
static void unregister(lua_State *L, transfer *t) {
  push_weak(L);
  lua_pushlightuserdata(L, (void *)t);
  lua_pushnil(L);
  lua_rawset(L, -3);
  lua_pop(L, 1);
}

/* }================================================================== */


/* {=================================================================
** reading the request description
** ================================================================== */

/* a copy of a Lua string in C memory (NUL-terminated); raises on no memory
** (the caller's transfer userdata frees what was copied so far) */
static char *dup_lstring(lua_State *L, const char *s, size_t len) {
  char *p = (char *)malloc(len + 1);
  if (p == NULL) luaL_error(L, "openai.core: not enough memory");
  memcpy(p, s, len);
  p[len] = '\0';
  return p;
}

/* string field k of the table at idx; NULL when absent */
static const char *opt_field_str(lua_State *L, int idx, const char *k, size_t *len) {
  const char *s = NULL;
  lua_getfield(L, idx, k);
  if (!lua_isnil(L, -1)) {
    if (lua_type(L, -1) != LUA_TSTRING)
      luaL_error(L, "openai.core: request field '%s' must be a string", k);
    s = lua_tolstring(L, -1, len);
  }
  lua_pop(L, 1);   /* the table still anchors the string */
  return s;
}

static long opt_field_int(lua_State *L, int idx, const char *k, long dflt) {
  long v = dflt;
  lua_getfield(L, idx, k);
  if (!lua_isnil(L, -1)) {
    lua_Number n;
    if (lua_type(L, -1) != LUA_TNUMBER)
      luaL_error(L, "openai.core: request field '%s' must be a number", k);
    n = lua_tonumber(L, -1);
    if (!(n >= 0 && n <= 2147483647.0))
      luaL_error(L, "openai.core: request field '%s' is out of range", k);
    v = (long)n;
  }
  lua_pop(L, 1);
  return v;
}

static int opt_field_bool(lua_State *L, int idx, const char *k) {
  int b;
  lua_getfield(L, idx, k);
  b = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return b;
}

/* the field names each table of a request description may have: anything
** else is a mistake (a misspelled option would silently be its default).
** A switch on the first letter, then exact comparisons: no allocation. */
#define IS(lit) (len == sizeof(lit) - 1 && memcmp(k, lit, len) == 0)

static int request_field(const char *k, size_t len) {
  switch (k[0]) {
    case 'b': return IS("body");
    case 'c': return IS("connect_timeout") || IS("ca_file") || IS("ca_path") || IS("client_cert") ||
                     IS("client_key") || IS("client_key_password");
    case 'd': return IS("deadline");
    case 'h': return IS("headers");
    case 'i': return IS("idle_timeout");
    case 'k': return IS("key_refresh");
    case 'm': return IS("method") || IS("max_response_bytes") || IS("max_event_bytes");
    case 'n': return IS("no_proxy");
    case 'p': return IS("parts") || IS("proxy");
    case 'r': return IS("retry");
    case 's': return IS("stream");
    case 't': return IS("timeout") || IS("to_path");
    case 'u': return IS("url");
    default: return 0;
  }
}

/* a request with a profile names only what changes between calls
** (headers: the lines the profile was made from, for readers such as a
** debug log; the profile's own are sent) */
static int profiled_field(const char *k, size_t len) {
  switch (k[0]) {
    case 'b': return IS("body");
    case 'h': return IS("headers");
    case 'm': return IS("method");
    case 'p': return IS("profile");
    case 'u': return IS("url");
    default: return 0;
  }
}

/* the fields of a profile: a request's, but for method, url, body, parts
** and to_path */
static int profile_field(const char *k, size_t len) {
  return request_field(k, len) && !IS("method") && !IS("url") && !IS("body") && !IS("parts") &&
         !IS("to_path") && !IS("key_refresh");
}

static int retry_field(const char *k, size_t len) {
  switch (k[0]) {
    case 'a': return IS("all_errors");
    case 'b': return IS("backoff");
    case 'd': return IS("delay");
    case 'm': return IS("max_retries") || IS("max_retry_after");
    case 'r': return IS("retry_timeouts");
    case 's': return IS("sdk_statuses");
    default: return 0;
  }
}

static int part_field(const char *k, size_t len) {
  switch (k[0]) {
    case 'd': return IS("data");
    case 'f': return IS("filename");
    case 'n': return IS("name");
    case 'p': return IS("path");
    case 't': return IS("type");
    default: return 0;
  }
}

#undef IS

/* raise on a key of the table at idx that known() does not accept; what
** names the table in the message ("request", "retry", or "parts" with
** part > 0: "parts[2]"); nothing is allocated unless it raises */
static void refuse_unknown(lua_State *L, int idx, int (*known)(const char *, size_t),
                           const char *what, int part) {
  lua_pushnil(L);
  while (lua_next(L, idx) != 0) {
    size_t len;
    const char *k;
    if (lua_type(L, -2) != LUA_TSTRING) {   /* never lua_tolstring a key that lua_next walks */
      if (part > 0) lua_pushfstring(L, "%s[%d]", what, part); else lua_pushstring(L, what);
      luaL_error(L, "openai.core: %s has a %s key; its fields are named by strings",
                 lua_tostring(L, -1), luaL_typename(L, -3));
    }
    k = lua_tolstring(L, -2, &len);
    if (len == 0 || !known(k, len)) {
      if (part > 0) luaL_error(L, "openai.core: unknown %s[%d] field '%s'", what, part, k);
      luaL_error(L, "openai.core: unknown %s field '%s'", what, k);
    }
    lua_pop(L, 1);
  }
}

static void read_headers(lua_State *L, int req, transfer *t) {
  size_t i, n;
  struct curl_slist *nl;
  lua_getfield(L, req, "headers");
  if (lua_istable(L, -1)) {
    n = lua_rawlen(L, -1);
    for (i = 1; i <= n; i++) {
      lua_rawgeti(L, -1, (int)i);
      if (lua_type(L, -1) != LUA_TSTRING)
        luaL_error(L, "openai.core: headers[%d] must be a string", (int)i);
      nl = curl_slist_append(t->headers, lua_tostring(L, -1));
      if (nl == NULL) luaL_error(L, "openai.core: not enough memory");
      t->headers = nl;
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
  /* no "Expect: 100-continue" round trip for larger bodies */
  nl = curl_slist_append(t->headers, "Expect:");
  if (nl == NULL) luaL_error(L, "openai.core: not enough memory");
  t->headers = nl;
}

static void read_parts(lua_State *L, int req, transfer *t) {
  int i, n;
  lua_getfield(L, req, "parts");
  if (lua_istable(L, -1)) {
    int tab = lua_gettop(L);
    n = (int)lua_rawlen(L, tab);
    if (n > 0) {
      t->parts = (mpart *)calloc((size_t)n, sizeof *t->parts);
      if (t->parts == NULL) luaL_error(L, "openai.core: not enough memory");
    }
    for (i = 0; i < n; i++) {
      const char *s, *path;
      size_t len, plen;
      mpart *p = &t->parts[i];
      t->nparts = i + 1;      /* so that close frees what is filled */
      lua_rawgeti(L, tab, i + 1);
      if (!lua_istable(L, -1)) luaL_error(L, "openai.core: parts[%d] must be a table", i + 1);
      refuse_unknown(L, tab + 1, part_field, "parts", i + 1);
      s = opt_field_str(L, -1, "name", &len);
      if (s == NULL) luaL_error(L, "openai.core: parts[%d] needs a name", i + 1);
      p->name = dup_lstring(L, s, len);
      path = opt_field_str(L, -1, "path", &plen);
      s = opt_field_str(L, -1, "data", &len);
      if (path != NULL && s != NULL)
        luaL_error(L, "openai.core: parts[%d] ('%s') has both data and path", i + 1, p->name);
      if (path != NULL) {
        if (plen == 0 || memchr(path, '\0', plen) != NULL)
          luaL_error(L, "openai.core: parts[%d] ('%s') has a bad path", i + 1, p->name);
        p->path = dup_lstring(L, path, plen);
      } else {
        if (s == NULL) { s = ""; len = 0; }
        p->data = dup_lstring(L, s, len);
        p->data_len = len;
      }
      if ((s = opt_field_str(L, -1, "filename", &len)) != NULL) p->filename = dup_lstring(L, s, len);
      if ((s = opt_field_str(L, -1, "type", &len)) != NULL) p->type = dup_lstring(L, s, len);
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
}

static void read_retry(lua_State *L, int req, transfer *t) {
  lua_getfield(L, req, "retry");
  if (lua_istable(L, -1)) {
    int r = lua_gettop(L);
    refuse_unknown(L, r, retry_field, "retry", 0);
    t->retry.max_retries = (int)opt_field_int(L, r, "max_retries", 0);
    t->retry.backoff = opt_field_bool(L, r, "backoff");
    t->retry.delay_ms = opt_field_int(L, r, "delay", 0);
    t->retry.sdk_statuses = opt_field_bool(L, r, "sdk_statuses");
    t->retry.all_errors = opt_field_bool(L, r, "all_errors");
    t->retry.max_retry_after_ms = opt_field_int(L, r, "max_retry_after", 60000);
    t->retry.retry_timeouts = opt_field_bool(L, r, "retry_timeouts");
  }
  lua_pop(L, 1);
}

/* }================================================================== */


/* the TLS files of request (or profile) table idx into f: paths, and the
** client key's password; checked by openai.new, here only as strings
** without NUL bytes */
static void read_tls(lua_State *L, int idx, tls_files *f) {
  static const char *const names[] = { "ca_file", "ca_path", "client_cert", "client_key",
                                       "client_key_password" };
  char **slots[5];
  int i;
  slots[0] = &f->ca_file; slots[1] = &f->ca_path; slots[2] = &f->client_cert;
  slots[3] = &f->client_key; slots[4] = &f->key_password;
  for (i = 0; i < 5; i++) {
    size_t len;
    const char *s = opt_field_str(L, idx, names[i], &len);
    if (s == NULL) continue;
    if (len == 0 || memchr(s, '\0', len) != NULL)
      luaL_error(L, "openai.core: request field '%s' must be a non-empty string without NUL bytes",
                 names[i]);
    *slots[i] = dup_lstring(L, s, len);
  }
}

/* {=================================================================
** profiles: what does not change between a client's calls, read once
** ================================================================== */

static int l_profile_gc(lua_State *L) {
  lprofile *lp = (lprofile *)luaL_checkudata(L, 1, PROFILE_MT);
  transfer_destroy(&lp->tmpl);
  profile_release(lp->p);     /* transfers using it keep it until they close */
  lp->p = NULL;
  return 0;
}

/* core.profile(desc) -> profile: desc has a request's fields but method,
** url, body, parts and to_path (headers, timeouts, limits, retry, stream,
** proxy, no_proxy, ca_file), checked as engine:submit checks them */
static int l_profile_new(lua_State *L) {
  lprofile *lp;
  profile *p;
  transfer *t;
  const char *s;
  size_t len;
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  lp = (lprofile *)lua_newuserdata(L, sizeof *lp);
  lp->p = NULL;
  t = &lp->tmpl;
  transfer_init(t);
  luaL_getmetatable(L, PROFILE_MT);
  lua_setmetatable(L, -2);    /* from here on __gc frees whatever is filled in */
  refuse_unknown(L, 1, profile_field, "profile", 0);
  read_headers(L, 1, t);
  read_retry(L, 1, t);
  t->timeout_ms = opt_field_int(L, 1, "timeout", 0);
  t->connect_timeout_ms = opt_field_int(L, 1, "connect_timeout", 0);
  t->idle_timeout_ms = opt_field_int(L, 1, "idle_timeout", 60000);
  t->deadline_ms = opt_field_int(L, 1, "deadline", 0);
  t->max_response = (size_t)opt_field_int(L, 1, "max_response_bytes", 64L * 1024 * 1024);
  t->max_event = (size_t)opt_field_int(L, 1, "max_event_bytes", 16L * 1024 * 1024);
  t->stream = opt_field_bool(L, 1, "stream");
  if ((s = opt_field_str(L, 1, "proxy", &len)) != NULL) t->proxy = dup_lstring(L, s, len);
  if ((s = opt_field_str(L, 1, "no_proxy", &len)) != NULL) t->no_proxy = dup_lstring(L, s, len);
  read_tls(L, 1, &t->tls);
  p = profile_new();
  if (p == NULL) return luaL_error(L, "openai.core: not enough memory");
  /* the shared part takes the template's pointers */
  p->headers = t->headers; t->headers = NULL;
  p->proxy = t->proxy; t->proxy = NULL;
  p->no_proxy = t->no_proxy; t->no_proxy = NULL;
  p->tls = t->tls; memset(&t->tls, 0, sizeof t->tls);
  p->timeout_ms = t->timeout_ms;
  p->connect_timeout_ms = t->connect_timeout_ms;
  p->idle_timeout_ms = t->idle_timeout_ms;
  p->deadline_ms = t->deadline_ms;
  p->max_response = t->max_response;
  p->max_event = t->max_event;
  p->stream = t->stream;
  p->retry = t->retry;
  lp->p = p;
  return 1;
}

/* }================================================================== */


/* {=================================================================
** engine methods
** ================================================================== */

static int l_engine_new(lua_State *L) {
  lengine *le;
  if (engine_global_init() != 0) return luaL_error(L, "openai.core: curl_global_init failed");
  le = (lengine *)lua_newuserdata(L, sizeof *le);
  memset(le, 0, sizeof *le);
  le->e.closed = 1;           /* until init succeeds, close has nothing to do */
  luaL_getmetatable(L, ENGINE_MT);
  lua_setmetatable(L, -2);
  if (engine_init(&le->e) != 0) return luaL_error(L, "openai.core: curl_multi_init failed");
  return 1;
}

static int l_engine_close(lua_State *L) {
  lengine *le = (lengine *)luaL_checkudata(L, 1, ENGINE_MT);
  engine_close(&le->e);
  return 0;
}

static int l_engine_configure(lua_State *L) {
  engine *e = check_engine(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  engine_configure(e, opt_field_int(L, 2, "max_host_connections", 0),
                   opt_field_int(L, 2, "max_total_connections", 0));
  return 0;
}

/* submit t, whose userdata is on the top of the stack, and register it */
/* remember the userdata at idx as transfer t's (weakly) */
static void register_transfer(lua_State *L, transfer *t, int idx) {
  if (idx < 0) idx = lua_gettop(L) + idx + 1;
  push_weak(L);
  lua_pushlightuserdata(L, (void *)t);
  lua_pushvalue(L, idx);
  lua_rawset(L, -3);
  lua_pop(L, 1);
}

static int submit_transfer(lua_State *L, engine *e, transfer *t) {
  if (transfer_submit(e, t) != 0) return luaL_error(L, "openai.core: cannot submit");
  register_transfer(L, t, -1);
  return 1;
}

/* the transfer of a new request, pushed: the closed transfer at idx used
** again (its buffers' memory too) when there is one, else a new one */
static transfer *fresh_transfer(lua_State *L, int idx) {
  ltransfer *lt = lua_isnoneornil(L, idx) ? NULL : (ltransfer *)luaL_checkudata(L, idx, TRANSFER_MT);
  if (lt != NULL && lt->t.state == T_CLOSED) {
    transfer_reuse(&lt->t);
    lua_pushvalue(L, idx);
    return &lt->t;
  }
  lt = (ltransfer *)lua_newuserdata(L, sizeof *lt);
  transfer_init(&lt->t);
  luaL_getmetatable(L, TRANSFER_MT);
  lua_setmetatable(L, -2);  /* from here on __gc frees whatever is filled in */
  return &lt->t;
}

/* engine:submit(req [, closed_transfer]) -> transfer; a closed transfer
** given is used again (its buffers' memory too) instead of a new one.
** req.profile (core.profile): the fixed fields are the profile's, and req
** holds only method, url, body (and headers, unread) */
static int l_engine_submit(lua_State *L) {
  engine *e = check_engine(L, 1);
  lprofile *prof;
  transfer *t;
  const char *s;
  size_t len;
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 3);
  t = fresh_transfer(L, 3);
  lua_replace(L, 3);
  lua_getfield(L, 2, "profile");
  prof = lua_isnil(L, -1) ? NULL : (lprofile *)luaL_checkudata(L, -1, PROFILE_MT);
  lua_pop(L, 1);              /* the request table anchors it */
  refuse_unknown(L, 2, prof ? profiled_field : request_field, "request", 0);
  s = opt_field_str(L, 2, "method", &len);
  t->method = s ? dup_lstring(L, s, len) : dup_lstring(L, "GET", 3);
  s = opt_field_str(L, 2, "url", &len);
  if (s == NULL) return luaL_error(L, "openai.core: request needs a url");
  t->url = dup_lstring(L, s, len);
  s = opt_field_str(L, 2, "body", &len);
  if (s != NULL) {
    t->body = dup_lstring(L, s, len);
    t->body_len = len;
    t->has_body = 1;
  }
  if (prof != NULL) {         /* one C call's worth of reading: the rest is made */
    if (prof->p == NULL) return luaL_error(L, "openai.core: the profile is closed");
    transfer_use_profile(t, prof->p);
    return submit_transfer(L, e, t);
  }
  read_headers(L, 2, t);
  read_parts(L, 2, t);
  read_retry(L, 2, t);
  t->timeout_ms = opt_field_int(L, 2, "timeout", 0);
  t->connect_timeout_ms = opt_field_int(L, 2, "connect_timeout", 0);
  t->idle_timeout_ms = opt_field_int(L, 2, "idle_timeout", 60000);
  t->deadline_ms = opt_field_int(L, 2, "deadline", 0);
  t->max_response = (size_t)opt_field_int(L, 2, "max_response_bytes", 64L * 1024 * 1024);
  t->max_event = (size_t)opt_field_int(L, 2, "max_event_bytes", 16L * 1024 * 1024);
  t->stream = opt_field_bool(L, 2, "stream");
  if ((s = opt_field_str(L, 2, "to_path", &len)) != NULL) {
    if (t->stream) return luaL_error(L, "openai.core: a stream cannot have a to_path");
    if (len == 0 || memchr(s, '\0', len) != NULL)
      return luaL_error(L, "openai.core: request field 'to_path' is not a file path");
    t->to_path = dup_lstring(L, s, len);
  }
  if ((s = opt_field_str(L, 2, "proxy", &len)) != NULL) t->proxy = dup_lstring(L, s, len);
  if ((s = opt_field_str(L, 2, "no_proxy", &len)) != NULL) t->no_proxy = dup_lstring(L, s, len);
  read_tls(L, 2, &t->tls);
  t->key_refresh = opt_field_bool(L, 2, "key_refresh");
  return submit_transfer(L, e, t);
}

/* {=================================================================
** interrupts: a call waiting in C (engine:run, engine:wait) must let a
** debug hook fire, above all the one the standalone interpreter sets on
** SIGINT (Ctrl-C), which raises "interrupted!" at the next Lua instruction.
** When a hook is set, the wait runs in slices of HOOK_SLICE_MS and after
** each one a no-op Lua function is called under pcall: the hook runs
** there, and an error it raises comes back here, where the call lets go of
** its transfer and raises it again. Without a hook nothing changes.
** ================================================================== */

#define HOOK_SLICE_MS 100

static char noop_key = 'n';

/* the longest wait of one slice of a blocking call: -1 (no limit) unless
** a hook is set */
static long slice_ms(lua_State *L) {
  return lua_gethook(L) != NULL ? HOOK_SLICE_MS : -1;
}

/* 1 with the error on the stack when a hook raised one, else 0 */
static int hook_raised(lua_State *L) {
  if (lua_gethook(L) == NULL) return 0;
  lua_pushlightuserdata(L, (void *)&noop_key);
  lua_rawget(L, LUA_REGISTRYINDEX);
  return lua_pcall(L, 0, 0, 0) != 0;
}

/* }================================================================== */

/* push t's outcome as values (see t:outcome); returns their number */
static int push_outcome(lua_State *L, transfer *t, int scan);

/* engine:run(profile, method, url, body [, closed_transfer [, scan]]) ->
** t, status, body, kind, attempts, request_id, head [, utf8, arrays,
** objects]: a plain call of a profile (core.profile) submitted, waited for
** and its outcome handed over in one call, made outside any task; body nil
** for none. When it ended as a success (a 2xx, no failure) t is closed
** (its values are all out) and kind is nil; otherwise t is left as it is
** for t:result(), and what follows t is nil and, when the engine itself
** failed (t not done), a message. No Lua runs until it returns, so t joins
** the registry of transfers (for engine:step's ready lists) only when it
** is handed back open. */
static int l_engine_run(lua_State *L) {
  engine *e = check_engine(L, 1);
  lprofile *prof = (lprofile *)luaL_checkudata(L, 2, PROFILE_MT);
  size_t mlen, ulen, blen = 0;
  const char *method = luaL_checklstring(L, 3, &mlen);
  const char *url = luaL_checklstring(L, 4, &ulen);
  const char *body = lua_isnoneornil(L, 5) ? NULL : luaL_checklstring(L, 5, &blen);
  int scan = lua_toboolean(L, 7), n;
  transfer *t;
  if (prof->p == NULL) return luaL_error(L, "openai.core: the profile is closed");
  lua_settop(L, 6);
  t = fresh_transfer(L, 6);       /* at 7 */
  t->method = dup_lstring(L, method, mlen);
  t->url = dup_lstring(L, url, ulen);
  if (body != NULL) {
    t->body = dup_lstring(L, body, blen);
    t->body_len = blen;
    t->has_body = 1;
  }
  transfer_use_profile(t, prof->p);
  if (transfer_submit(e, t) != 0) return luaL_error(L, "openai.core: cannot submit");
  while (!transfer_ready(t)) {
    if (engine_step_for(e, slice_ms(L), t) < 0) {
      register_transfer(L, t, 7);
      lua_pushnil(L);
      lua_pushliteral(L, "openai.core: the curl multi handle failed");
      return 3;
    }
    if (!transfer_ready(t) && hook_raised(L)) {   /* interrupted: nothing goes on */
      transfer_close(t);
      return lua_error(L);
    }
  }
  if (t->state != T_DONE || t->kind != K_NONE || t->status >= 300) {
    register_transfer(L, t, 7);
    lua_pushnil(L);
    return 2;
  }
  n = push_outcome(L, t, scan);
  transfer_close(t);
  return 1 + n;
}

static int count_ready(const engine *e) {
  const transfer *t;
  int n = 0;
  for (t = e->ready; t != NULL; t = t->next_ready) n++;
  return n;
}

/* engine:wait(t): drive the engine until t is ready (done, or a stream
** event queued). Other transfers that become ready stay in the ready list
** for the next engine:step or engine:socket_action. Returns true, or nil
** and a message on an engine failure. */
static int l_engine_wait(lua_State *L) {
  engine *e = check_engine(L, 1);
  transfer *t = check_transfer(L, 2);
  if (t->eng != e) return luaL_error(L, "openai.core: the transfer is not this engine's");
  while (!transfer_ready(t)) {
    if (engine_step_for(e, slice_ms(L), t) < 0) {
      lua_pushnil(L);
      lua_pushliteral(L, "openai.core: the curl multi handle failed");
      return 2;
    }
    if (!transfer_ready(t) && hook_raised(L)) {   /* interrupted: nothing goes on */
      transfer_close(t);
      return lua_error(L);
    }
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* take the ready list: an array of its transfers, or nothing when empty.
** The caller (openai.scheduler) must hand every transfer of the list to
** whoever waits on it, since the list is taken. The table is made before
** the list is taken, and the walk allocates nothing (rawseti stays inside
** the slots made): no collection, so no finalizer that might drive the
** engine, runs while the taken list is walked. A finalizer run by the
** allocation itself may have made the list longer: then make a larger one. */
static int push_ready(lua_State *L, engine *e) {
  transfer *t;
  int n, i = 0;
  for (;;) {
    n = count_ready(e);
    if (n == 0) return 0;
    lua_createtable(L, n, 0);
    if (count_ready(e) <= n) break;
    lua_pop(L, 1);
  }
  t = engine_take_ready(e);
  for (; t != NULL; t = t->next_ready) {
    push_transfer(L, t);
    if (lua_isnil(L, -1)) { lua_pop(L, 1); continue; }
    lua_rawseti(L, -2, ++i);
  }
  return 1;
}

/* engine:step([max_wait_ms]) -> array of transfers that became ready, or nil */
static int l_engine_step(lua_State *L) {
  engine *e = check_engine(L, 1);
  long wait = (long)luaL_optnumber(L, 2, -1);
  int n = engine_step(e, wait);
  if (n < 0) return luaL_error(L, "openai.core: the curl multi handle failed");
  return push_ready(L, e);
}

/* engine:socket_action(fd, readable, writable) -> array of transfers that
** became ready, or nil. fd nil or -1: the host's timer fired. Never waits. */
static int l_engine_socket_action(lua_State *L) {
  engine *e = check_engine(L, 1);
  lua_Number fd = luaL_optnumber(L, 2, -1);
  int n;
  if (fd != fd || fd >= PLATFORM_SOCKET_MAX || (fd >= 0 && fd != (lua_Number)(curl_socket_t)fd))
    return luaL_error(L, "openai.core: socket_action: 'fd' must be an integer file descriptor");
  n = engine_socket_action(e, fd < 0 ? CURL_SOCKET_BAD : (curl_socket_t)fd,
                           lua_toboolean(L, 3), lua_toboolean(L, 4));
  if (n < 0) return luaL_error(L, "openai.core: the curl multi handle failed");
  return push_ready(L, e);
}

/* engine:fds([since]) -> { { fd =, read =, write =, id = }, ... }, generation;
** or nil, generation when the set is the one of generation `since` */
static int l_engine_fds(lua_State *L) {
  engine *e = check_engine(L, 1);
  int i;
  if (!lua_isnoneornil(L, 2) && luaL_checknumber(L, 2) == (lua_Number)e->sock_gen) {
    lua_pushnil(L);
    lua_pushnumber(L, (lua_Number)e->sock_gen);
    return 2;
  }
  lua_createtable(L, e->nsocks, 0);
  for (i = 0; i < e->nsocks; i++) {
    const esock *k = &e->socks[i];
    lua_createtable(L, 0, 4);
    lua_pushinteger(L, (lua_Integer)k->fd);
    lua_setfield(L, -2, "fd");
    lua_pushboolean(L, (k->what & CURL_POLL_IN) != 0);
    lua_setfield(L, -2, "read");
    lua_pushboolean(L, (k->what & CURL_POLL_OUT) != 0);
    lua_setfield(L, -2, "write");
    lua_pushnumber(L, (lua_Number)k->id);
    lua_setfield(L, -2, "id");
    lua_rawseti(L, -2, i + 1);
  }
  lua_pushnumber(L, (lua_Number)e->sock_gen);
  return 2;
}

/* engine:timeout() -> ms until the engine must be called without socket
** activity (0: now), or -1 when nothing is pending */
static int l_engine_timeout(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)engine_timeout(check_engine(L, 1)));
  return 1;
}

/* engine:stats() -> { live, running, idle_handles } */
static int l_engine_stats(lua_State *L) {
  engine *e = check_engine(L, 1);
  transfer *t;
  int live = 0, draining = 0;
  for (t = e->live; t != NULL; t = t->next) {
    if (t->released) draining++; else live++;
  }
  lua_createtable(L, 0, 4);
  lua_pushinteger(L, live);
  lua_setfield(L, -2, "live");
  lua_pushinteger(L, draining);
  lua_setfield(L, -2, "draining");
  lua_pushinteger(L, e->running);
  lua_setfield(L, -2, "running");
  lua_pushinteger(L, e->nidle);
  lua_setfield(L, -2, "idle_handles");
  return 1;
}

/* }================================================================== */


/* {=================================================================
** transfer methods
** ================================================================== */

static int l_transfer_close(lua_State *L) {
  transfer *t = check_transfer(L, 1);
  if (t->state == T_CLOSED) return 0;
  transfer_close(t);
  unregister(L, t);
  return 0;
}

/* __gc: close, and free the memory kept for reuse */
static int l_transfer_gc(lua_State *L) {
  transfer *t = check_transfer(L, 1);
  if (t->state != T_CLOSED) unregister(L, t);
  transfer_destroy(t);
  return 0;
}

/* t:release([grace_ms]): the caller is done; read the rest in the
** background (so the connection is kept), then close */
static int l_transfer_release(lua_State *L) {
  transfer *t = check_transfer(L, 1);
  long grace = (long)luaL_optnumber(L, 2, 1000);
  if (t->state == T_CLOSED) return 0;
  transfer_release(t, grace);
  if (t->state == T_CLOSED) unregister(L, t);
  return 0;
}

/* check_transfer(L, 1) for a method whose upvalue 1 is the transfer
** metatable: no lookup of the metatable by name (once per stream event) */
static transfer *quick_transfer(lua_State *L) {
  void *p = lua_touserdata(L, 1);
  if (p != NULL && lua_getmetatable(L, 1)) {
    int same = lua_rawequal(L, -1, lua_upvalueindex(1));
    lua_pop(L, 1);
    if (same) return &((ltransfer *)p)->t;
  }
  return check_transfer(L, 1);                /* raises the usual error */
}

/* t:next_event() -> data, name | nil when none is queued (both valid
** UTF-8: the engine fails the stream otherwise) */
static int l_transfer_next_event(lua_State *L) {
  transfer *t = quick_transfer(L);
  const char *name, *data;
  size_t nl, dl;
  if (t->state == T_CLOSED || !transfer_pop_event(t, &name, &nl, &data, &dl)) return 0;
  lua_pushlstring(L, data, dl);
  lua_pushlstring(L, name, nl);
  transfer_resume(t);
  return 2;
}

static const char *state_name(int s) {
  static const char *const names[] = { "new", "waiting", "running", "done", "closed" };
  return names[s];
}

static void set_int(lua_State *L, const char *k, long v) {
  lua_pushinteger(L, (lua_Integer)v);
  lua_setfield(L, -2, k);
}

/* t:result() -> { state, status, head (the raw header block), request_id,
**                 body, kind, message, attempts, retry_after (ms), curl_code,
**                 timeout_option and timeout_ms (a timeout: the option whose
**                 limit ran out, and its value),
**                 delivered, received, queued, partial_event and json_body
**                 (streams), written (to_path: bytes of the 2xx body written
**                 to the file; its body is then "") } */
static int l_transfer_result(lua_State *L) {
  transfer *t = check_transfer(L, 1);
  const char *kind = transfer_kind_name(t->kind);
  lua_createtable(L, 0, 10);
  lua_pushstring(L, state_name(t->state));
  lua_setfield(L, -2, "state");
  set_int(L, "status", t->status);
  set_int(L, "attempts", t->attempts);
  set_int(L, "delivered", (long)t->delivered);
  set_int(L, "received", (long)t->received);
  lua_pushboolean(L, t->queue.len > t->queue_off);
  lua_setfield(L, -2, "queued");
  if (t->state >= T_DONE || t->headers_done) {   /* parsed on demand: parse_headers */
    char rid[256];
    lua_pushlstring(L, t->head.data ? t->head.data : "", t->head.len);
    lua_setfield(L, -2, "head");
    if (transfer_header(t, "x-request-id", rid, sizeof rid) != NULL) {
      lua_pushstring(L, rid);
      lua_setfield(L, -2, "request_id");
    }
  }
  if (t->state == T_DONE) {
    lua_pushlstring(L, t->body_buf.data ? t->body_buf.data : "", t->body_buf.len);
    lua_setfield(L, -2, "body");
    if (kind != NULL) {
      lua_pushstring(L, kind);
      lua_setfield(L, -2, "kind");
      lua_pushstring(L, t->message);
      lua_setfield(L, -2, "message");
      set_int(L, "curl_code", t->curl_code);
      if (t->kind == K_TIMEOUT && t->fired_option != NULL) {
        lua_pushstring(L, t->fired_option);
        lua_setfield(L, -2, "timeout_option");
        set_int(L, "timeout_ms", t->fired_ms);
      }
    }
    if (t->stream) {
      lua_pushboolean(L, sse_pending(&t->sse));
      lua_setfield(L, -2, "partial_event");
      lua_pushboolean(L, t->json_body);
      lua_setfield(L, -2, "json_body");
    }
  } else if (t->state == T_CLOSED) {
    lua_pushstring(L, "closed");
    lua_setfield(L, -2, "kind");
  }
  if (t->retry_after_ms >= 0) set_int(L, "retry_after", t->retry_after_ms);
  if (t->to_path != NULL || t->written > 0) {
#if LUA_VERSION_NUM >= 503
    lua_pushinteger(L, (lua_Integer)t->written);
#else
    lua_pushnumber(L, (lua_Number)t->written);   /* exact up to 2^53 bytes */
#endif
    lua_setfield(L, -2, "written");
  }
  return 1;
}


/* t:outcome([scan]) -> status, body, kind, attempts, request_id, head
**                      [, utf8, arrays, objects]
** the outcome of a done transfer as plain values, for the plain call's
** path (t:result() builds a table of every field): kind is nil when the
** transfer did not fail. scan: the body is scanned once, in C, for UTF-8
** validity and for empty arrays and objects outside strings
** (core.json_scan; arrays: their number, or false). Nothing when the
** transfer is not done. */
static int l_transfer_outcome(lua_State *L) {
  transfer *t = check_transfer(L, 1);
  if (t->state != T_DONE) return 0;
  return push_outcome(L, t, lua_toboolean(L, 2));
}

static int push_outcome(lua_State *L, transfer *t, int scan) {
  const char *body = t->body_buf.data ? t->body_buf.data : "";
  char rid[256];
  lua_pushinteger(L, (lua_Integer)t->status);
  lua_pushlstring(L, body, t->body_buf.len);
  if (t->kind != K_NONE) lua_pushstring(L, transfer_kind_name(t->kind)); else lua_pushnil(L);
  lua_pushinteger(L, (lua_Integer)t->attempts);
  if (transfer_header(t, "x-request-id", rid, sizeof rid) != NULL) lua_pushstring(L, rid);
  else lua_pushnil(L);
  lua_pushlstring(L, t->head.data ? t->head.data : "", t->head.len);
  if (scan) {
    int utf8, arrays, objects;
    check_json_scan(body, t->body_buf.len, &utf8, &arrays, &objects);
    lua_pushboolean(L, utf8);
    lcompat_push_count(L, arrays);
    lua_pushboolean(L, objects);
    return 9;
  }
  return 6;
}

/* t:state() -> "new" | "waiting" | "running" | "done" | "closed" */
static int l_transfer_state(lua_State *L) {
  lua_pushstring(L, state_name(check_transfer(L, 1)->state));
  return 1;
}

/* t:wants_key() -> boolean: a retry waits for t:set_key (see transfer_set_key) */
static int l_transfer_wants_key(lua_State *L) {
  lua_pushboolean(L, check_transfer(L, 1)->wants_key);
  return 1;
}

/* t:set_key(header_line): the key header line replaced; the retry goes on */
static int l_transfer_set_key(lua_State *L) {
  transfer *t = check_transfer(L, 1);
  const char *line = luaL_checkstring(L, 2);
  if (transfer_set_key(t, line) != 0)
    return luaL_error(L, "openai.core: set_key: the transfer does not wait for a key (or no memory)");
  return 0;
}

/* t:ready() -> boolean */
static int l_transfer_ready(lua_State *L) {
  lua_pushboolean(L, transfer_ready(check_transfer(L, 1)));
  return 1;
}

/* }================================================================== */


/* {=================================================================
** module functions (the pure ones are openai.wire's: openai_wire.c)
** ================================================================== */

static int l_curl_version(lua_State *L) {
  lua_pushstring(L, curl_version_info(CURLVERSION_NOW)->version);
  return 1;
}

/* }================================================================== */

static const luaL_Reg engine_methods[] = {
  { "submit", l_engine_submit },
  { "run", l_engine_run },
  { "step", l_engine_step },
  { "wait", l_engine_wait },
  { "socket_action", l_engine_socket_action },
  { "fds", l_engine_fds },
  { "timeout", l_engine_timeout },
  { "configure", l_engine_configure },
  { "stats", l_engine_stats },
  { "close", l_engine_close },
  { NULL, NULL }
};

static const luaL_Reg transfer_methods[] = {
  { "result", l_transfer_result },
  { "outcome", l_transfer_outcome },
  { "ready", l_transfer_ready },
  { "state", l_transfer_state },
  { "close", l_transfer_close },
  { "release", l_transfer_release },
  { "wants_key", l_transfer_wants_key },
  { "set_key", l_transfer_set_key },
  { NULL, NULL }
};

static const luaL_Reg core_funcs[] = {
  { "engine", l_engine_new },
  { "profile", l_profile_new },
  { "curl_version", l_curl_version },
  { NULL, NULL }
};

static const luaL_Reg no_methods[] = { { NULL, NULL } };

int luaopen_openai_core(lua_State *L);

int luaopen_openai_core(lua_State *L) {
  lcompat_new_class(L, ENGINE_MT, engine_methods, l_engine_close, NULL);
  lcompat_new_class(L, TRANSFER_MT, transfer_methods, l_transfer_close, NULL);
  lcompat_new_class(L, PROFILE_MT, no_methods, l_profile_gc, NULL);   /* a handle for engine:submit */
  luaL_getmetatable(L, TRANSFER_MT);   /* next_event holds its metatable */
  lua_getfield(L, -1, "__index");
  lua_pushvalue(L, -2);
  lua_pushcclosure(L, l_transfer_next_event, 1);
  lua_setfield(L, -2, "next_event");
  lua_pop(L, 2);
  luaL_getmetatable(L, TRANSFER_MT);   /* __gc also frees the kept buffers */
  lua_pushcfunction(L, l_transfer_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  lua_pushlightuserdata(L, (void *)&weak_key);
  lua_rawget(L, LUA_REGISTRYINDEX);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    lua_pushlightuserdata(L, (void *)&weak_key);
    lua_newtable(L);
    lua_newtable(L);
    lua_pushliteral(L, "v");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_rawset(L, LUA_REGISTRYINDEX);
  } else {
    lua_pop(L, 1);
  }
  lua_pushlightuserdata(L, (void *)&noop_key);  /* the function a hook may fire in */
  if (luaL_loadstring(L, "return") != 0) return lua_error(L);
  lua_rawset(L, LUA_REGISTRYINDEX);
  lua_newtable(L);
  lcompat_setfuncs(L, core_funcs);
  lua_pushliteral(L, OPENAI_CORE_VERSION);
  lua_setfield(L, -2, "version");
  return 1;
}
