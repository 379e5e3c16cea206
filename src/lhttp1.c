/*
** lhttp1.c: the Lua binding of the parts a transport without curl needs
** (nginx cosockets): the HTTP/1.1 response parser (http1.c), the
** SSE parser (sse.c) and the retry policy (retry.c), added to the
** `openai.wire` table by lhttp1_open.
**
** The parsers' callbacks touch C buffers only; Lua values are made after
** a feed returns. Each parser lives in a userdata with one idempotent close
** behind __gc, __close and :close().
*/
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"

#include "buf.h"
#include "http1.h"
#include "lcompat.h"
#include "lhttp1.h"
#include "platform.h"
#include "retry.h"
#include "sse.h"

#define HTTP1_MT "openai.http1"
#define SSE_MT   "openai.sse"

/* {=================================================================
** small helpers
** ================================================================== */

/* nil, message, code: how a parser reports an error */
static int push_error(lua_State *L, const char *message, const char *code) {
  lua_pushnil(L);
  lua_pushstring(L, message);
  lua_pushstring(L, code);
  return 3;
}

/* a whole number field of table idx in [0, max]; dflt when absent */
static double num_field(lua_State *L, int idx, const char *fn, const char *k, double dflt,
                        double max) {
  double v = dflt;
  lua_getfield(L, idx, k);
  if (!lua_isnil(L, -1)) {
    if (lua_type(L, -1) != LUA_TNUMBER)
      luaL_error(L, "openai.wire.%s: field '%s' must be a number", fn, k);
    v = (double)lua_tonumber(L, -1);
    if (!(v >= 0 && v <= max))
      luaL_error(L, "openai.wire.%s: field '%s' is out of range", fn, k);
  }
  lua_pop(L, 1);
  return v;
}

static int bool_field(lua_State *L, int idx, const char *k) {
  int b;
  lua_getfield(L, idx, k);
  b = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return b;
}

/* }================================================================== */


/* {=================================================================
** core.http1(method [, { max_head =, max_line = }]) -> parser
** ================================================================== */

typedef struct lhttp1 {
  http1_parser p;
  obuf head;       /* "HTTP/1.1 200 OK\r\nName: value\r\n..." as the curl path keeps it */
  obuf body;       /* body bytes of the current feed */
  int head_ready;  /* the headers are complete and not yet handed over */
  int nomem;
  int closed;
} lhttp1;

static int h_status(void *ud, int minor, int status, const char *r, size_t rn) {
  lhttp1 *h = (lhttp1 *)ud;
  char line[32];
  int k = snprintf(line, sizeof line, "HTTP/1.%d %d ", minor, status);
  if (obuf_append(&h->head, line, (size_t)k) != 0 || obuf_append(&h->head, r, rn) != 0 ||
      obuf_append(&h->head, "\r\n", 2) != 0)
    return h->nomem = 1;
  return 0;
}

static int h_header(void *ud, const char *n, size_t nn, const char *v, size_t vn) {
  lhttp1 *h = (lhttp1 *)ud;
  if (obuf_append(&h->head, n, nn) != 0 || obuf_append(&h->head, ": ", 2) != 0 ||
      obuf_append(&h->head, v, vn) != 0 || obuf_append(&h->head, "\r\n", 2) != 0)
    return h->nomem = 1;
  return 0;
}

static int h_headers_done(void *ud) {
  ((lhttp1 *)ud)->head_ready = 1;
  return 0;
}

static int h_body(void *ud, const char *b, size_t n) {
  lhttp1 *h = (lhttp1 *)ud;
  if (obuf_append(&h->body, b, n) != 0) return h->nomem = 1;
  return 0;
}

static const http1_callbacks h_callbacks = { h_status, h_header, h_headers_done, h_body, NULL,
                                             NULL };

static lhttp1 *check_http1(lua_State *L) {
  lhttp1 *h = (lhttp1 *)luaL_checkudata(L, 1, HTTP1_MT);
  if (h->closed) luaL_error(L, "openai.wire: the http1 parser is closed");
  return h;
}

static int l_http1_new(lua_State *L) {
  const char *method = luaL_checkstring(L, 1);
  size_t max_head = 0, max_line = 0;
  lhttp1 *h;
  if (!lua_isnoneornil(L, 2)) {
    luaL_checktype(L, 2, LUA_TTABLE);
    max_head = (size_t)num_field(L, 2, "http1", "max_head", 0, 1073741824.0);
    max_line = (size_t)num_field(L, 2, "http1", "max_line", 0, 1073741824.0);
  }
  h = (lhttp1 *)lua_newuserdata(L, sizeof *h);
  memset(h, 0, sizeof *h);
  http1_init(&h->p, strcmp(method, "HEAD") == 0, max_head, max_line);
  obuf_init(&h->head);
  obuf_init(&h->body);
  luaL_getmetatable(L, HTTP1_MT);
  lua_setmetatable(L, -2);
  return 1;
}

/* the table of what a feed (or finish) gave: status and head once, body,
** done and keepalive */
static int push_progress(lua_State *L, lhttp1 *h, int rc) {
  if (h->nomem) return push_error(L, "not enough memory", "nomem");
  if (rc != HTTP1_OK) return push_error(L, http1_message(rc), http1_code_name(rc));
  lua_createtable(L, 0, 5);
  if (h->head_ready) {
    h->head_ready = 0;
    lua_pushinteger(L, h->p.status);
    lua_setfield(L, -2, "status");
    lua_pushlstring(L, h->head.data, h->head.len);
    lua_setfield(L, -2, "head");
    obuf_free(&h->head);
  }
  if (h->body.len > 0) {
    lua_pushlstring(L, h->body.data, h->body.len);
    lua_setfield(L, -2, "body");
    obuf_clear(&h->body);
  }
  if (http1_done(&h->p)) {
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "done");
    lua_pushboolean(L, http1_keepalive(&h->p));
    lua_setfield(L, -2, "keepalive");
  }
  return 1;
}

/* p:feed(bytes) -> { status, head, body, done, keepalive } | nil, message, code */
static int l_http1_feed(lua_State *L) {
  lhttp1 *h = check_http1(L);
  size_t len;
  const char *s = luaL_checklstring(L, 2, &len);
  http1_callbacks cb = h_callbacks;
  cb.ud = h;
  return push_progress(L, h, http1_feed(&h->p, s, len, &cb));
}

/* p:finish() at the end of the connection -> as feed */
static int l_http1_finish(lua_State *L) {
  lhttp1 *h = check_http1(L);
  http1_callbacks cb = h_callbacks;
  cb.ud = h;
  return push_progress(L, h, http1_finish(&h->p, &cb));
}

static int l_http1_done(lua_State *L) {
  lua_pushboolean(L, http1_done(&check_http1(L)->p));
  return 1;
}

static int l_http1_keepalive(lua_State *L) {
  lua_pushboolean(L, http1_keepalive(&check_http1(L)->p));
  return 1;
}

static int l_http1_close(lua_State *L) {
  lhttp1 *h = (lhttp1 *)luaL_checkudata(L, 1, HTTP1_MT);
  if (h->closed) return 0;
  h->closed = 1;
  http1_free(&h->p);
  obuf_free(&h->head);
  obuf_free(&h->body);
  return 0;
}

static int l_http1_tostring(lua_State *L) {
  lhttp1 *h = (lhttp1 *)luaL_checkudata(L, 1, HTTP1_MT);
  const char *what = h->closed ? "closed" : h->p.error ? http1_code_name(h->p.error)
                     : http1_done(&h->p) ? "done" : "reading";
  lua_pushfstring(L, "openai.http1 (%d, %s)", h->p.status, what);
  return 1;
}

/* }================================================================== */


/* {=================================================================
** core.sse([max_event_bytes]) -> parser
** ================================================================== */

typedef struct lsse {
  sse_parser p;
  obuf events;   /* the events of one feed, as records (see s_event) */
  int error;     /* the first error, sticky */
  int closed;
} lsse;

/* one record: the lengths and retry, then the bytes of name, data and id */
typedef struct sse_record {
  size_t event_len, data_len, id_len;
  long retry;
} sse_record;

static int s_event(void *ud, const sse_event *e) {
  lsse *s = (lsse *)ud;
  sse_record r;
  r.event_len = e->event_len;
  r.data_len = e->data_len;
  r.id_len = e->id_len;
  r.retry = e->retry;
  if (obuf_append(&s->events, &r, sizeof r) != 0 ||
      obuf_append(&s->events, e->event, e->event_len) != 0 ||
      obuf_append(&s->events, e->data, e->data_len) != 0 ||
      obuf_append(&s->events, e->id, e->id_len) != 0)
    return 1;
  return 0;
}

static lsse *check_sse(lua_State *L) {
  lsse *s = (lsse *)luaL_checkudata(L, 1, SSE_MT);
  if (s->closed) luaL_error(L, "openai.wire: the sse parser is closed");
  return s;
}

static int l_sse_new(lua_State *L) {
  size_t max_event = (size_t)luaL_optnumber(L, 1, 16.0 * 1024 * 1024);
  lsse *s;
  if (max_event == 0) return luaL_argerror(L, 1, "max_event_bytes must be positive");
  s = (lsse *)lua_newuserdata(L, sizeof *s);
  memset(s, 0, sizeof *s);
  sse_init(&s->p, max_event);
  obuf_init(&s->events);
  luaL_getmetatable(L, SSE_MT);
  lua_setmetatable(L, -2);
  return 1;
}

/* push the records collected as an array of { event, data [, id] [, retry] } */
static void push_events(lua_State *L, lsse *s) {
  size_t off = 0;
  int n = 0;
  lua_newtable(L);
  while (off < s->events.len) {
    sse_record r;
    const char *b;
    memcpy(&r, s->events.data + off, sizeof r);
    b = s->events.data + off + sizeof r;
    lua_createtable(L, 0, 4);
    lua_pushlstring(L, b, r.event_len);
    lua_setfield(L, -2, "event");
    lua_pushlstring(L, b + r.event_len, r.data_len);
    lua_setfield(L, -2, "data");
    if (r.id_len > 0) {
      lua_pushlstring(L, b + r.event_len + r.data_len, r.id_len);
      lua_setfield(L, -2, "id");
    }
    if (r.retry >= 0) {
      lua_pushinteger(L, (lua_Integer)r.retry);
      lua_setfield(L, -2, "retry");
    }
    lua_rawseti(L, -2, ++n);
    off += sizeof r + r.event_len + r.data_len + r.id_len;
  }
  obuf_clear(&s->events);
}

/* s:feed(bytes) -> array of events | nil, message, code */
static int l_sse_feed(lua_State *L) {
  lsse *s = check_sse(L);
  size_t len;
  const char *b = luaL_checklstring(L, 2, &len);
  int rc = s->error;
  if (rc == SSE_OK) rc = s->error = sse_feed(&s->p, b, len, s_event, s);
  if (rc == SSE_TOO_LARGE) {
    obuf_clear(&s->events);
    lua_pushnil(L);
    lua_pushfstring(L, "an event of the stream is larger than max_event_bytes (%d)",
                    (int)s->p.max_event);
    lua_pushliteral(L, "too_large");
    return 3;
  }
  if (rc != SSE_OK) {
    obuf_clear(&s->events);
    return push_error(L, "not enough memory", "nomem");
  }
  push_events(L, s);
  return 1;
}

/* s:pending() -> true when an unfinished event would be dropped at the end */
static int l_sse_pending(lua_State *L) {
  lua_pushboolean(L, sse_pending(&check_sse(L)->p));
  return 1;
}

static int l_sse_close(lua_State *L) {
  lsse *s = (lsse *)luaL_checkudata(L, 1, SSE_MT);
  if (s->closed) return 0;
  s->closed = 1;
  sse_free(&s->p);
  obuf_free(&s->events);
  return 0;
}

static int l_sse_tostring(lua_State *L) {
  lsse *s = (lsse *)luaL_checkudata(L, 1, SSE_MT);
  lua_pushfstring(L, "openai.sse (%d events%s)", (int)s->p.events,
                  s->closed ? ", closed" : "");
  return 1;
}

/* }================================================================== */


/* {=================================================================
** core.retry_decide(config, input) -> verdict, delay_ms, retry_after_ms
** ================================================================== */

static uint64_t rng_state;

/* the jitter when the caller gives none: xorshift seeded from the clock */
static double next_random(void) {
  uint64_t x = rng_state;
  if (x == 0) {
    x = (uint64_t)(platform_wall_s() * 1e9) ^ 0x9E3779B97F4A7C15ULL;
  }
  x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
  rng_state = x;
  return (double)((x * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

static double wall_now(void) {
  return platform_wall_s();
}

/* header k of the table at idx (lowercase names), NULL when absent */
static const char *header_field(lua_State *L, int idx, const char *k) {
  const char *v = NULL;
  if (idx == 0) return NULL;
  lua_getfield(L, idx, k);
  if (lua_type(L, -1) == LUA_TSTRING) v = lua_tostring(L, -1);
  lua_pop(L, 1);   /* the headers table anchors the string */
  return v;
}

static const char *const verdicts[] = { "no", "yes", "too_long", "sent" };

/* config: { max_retries, backoff, delay, sdk_statuses, all_errors, max_retry_after,
**           retry_timeouts } (the `retry` table of a request, as engine:submit reads it)
** input: { attempts, status, transport_error, timed_out, request_sent,
**          headers = { lowercase name = value },
**          insufficient_quota, now (s, default the clock), random (in [0, 1),
**          default a generator of ours) } */
static int l_retry_decide(lua_State *L) {
  retry_config cfg;
  retry_input in;
  retry_decision d;
  int hdr = 0;
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  memset(&cfg, 0, sizeof cfg);
  memset(&in, 0, sizeof in);
  cfg.max_retries = (int)num_field(L, 1, "retry_decide", "max_retries", 0, 2147483647.0);
  cfg.backoff = bool_field(L, 1, "backoff");
  cfg.delay_ms = (long)num_field(L, 1, "retry_decide", "delay", 0, 2147483647.0);
  cfg.sdk_statuses = bool_field(L, 1, "sdk_statuses");
  cfg.all_errors = bool_field(L, 1, "all_errors");
  cfg.max_retry_after_ms = (long)num_field(L, 1, "retry_decide", "max_retry_after", 60000,
                                           2147483647.0);
  cfg.retry_timeouts = bool_field(L, 1, "retry_timeouts");
  in.attempts = (int)num_field(L, 2, "retry_decide", "attempts", 1, 2147483647.0);
  if (in.attempts < 1) return luaL_error(L, "openai.wire.retry_decide: field 'attempts' is out of range");
  in.status = (long)num_field(L, 2, "retry_decide", "status", 0, 999);
  in.transport_error = bool_field(L, 2, "transport_error");
  in.timed_out = bool_field(L, 2, "timed_out");
  in.request_sent = bool_field(L, 2, "request_sent");
  in.insufficient_quota = bool_field(L, 2, "insufficient_quota");
  in.now = num_field(L, 2, "retry_decide", "now", -1, 1e12);
  if (in.now < 0) in.now = wall_now();
  in.random01 = num_field(L, 2, "retry_decide", "random", -1, 1);
  if (in.random01 < 0 || in.random01 >= 1) in.random01 = next_random();
  lua_getfield(L, 2, "headers");
  if (lua_istable(L, -1)) hdr = lua_gettop(L);
  else if (!lua_isnil(L, -1))
    return luaL_error(L, "openai.wire.retry_decide: field 'headers' must be a table");
  in.retry_after_ms = header_field(L, hdr, "retry-after-ms");
  in.retry_after = header_field(L, hdr, "retry-after");
  in.should_retry = header_field(L, hdr, "x-should-retry");
  retry_decide(&cfg, &in, &d);
  lua_pushstring(L, verdicts[d.verdict]);
  lua_pushinteger(L, (lua_Integer)d.delay_ms);
  if (d.retry_after_ms >= 0) lua_pushinteger(L, (lua_Integer)d.retry_after_ms);
  else lua_pushnil(L);
  return 3;
}

/* core.timeout_message(phase, option, ms [, declined]) -> the message of a
** timeout (retry_timeout_text): phase is "connect", "send", "response",
** "headers" or "idle"; declined: retry_decide said "sent" */
static int l_timeout_message(lua_State *L) {
  static const char *const phases[] = { "connect", "send", "response", "headers", "idle", NULL };
  char buf[320];
  int phase = luaL_checkoption(L, 1, NULL, phases);
  const char *option = luaL_checkstring(L, 2);
  lua_Integer ms = luaL_checkinteger(L, 3);
  retry_timeout_text(buf, sizeof buf, phase, option, (long)ms, lua_toboolean(L, 4));
  lua_pushstring(L, buf);
  return 1;
}

/* }================================================================== */


static const luaL_Reg http1_methods[] = {
  { "feed", l_http1_feed },
  { "finish", l_http1_finish },
  { "done", l_http1_done },
  { "keepalive", l_http1_keepalive },
  { "close", l_http1_close },
  { NULL, NULL }
};

static const luaL_Reg sse_methods[] = {
  { "feed", l_sse_feed },
  { "pending", l_sse_pending },
  { "close", l_sse_close },
  { NULL, NULL }
};

void lhttp1_open(lua_State *L) {
  static const luaL_Reg funcs[] = {
    { "http1", l_http1_new },
    { "sse", l_sse_new },
    { "retry_decide", l_retry_decide },
    { "timeout_message", l_timeout_message },
    { NULL, NULL }
  };
  lcompat_new_class(L, HTTP1_MT, http1_methods, l_http1_close, l_http1_tostring);
  lcompat_new_class(L, SSE_MT, sse_methods, l_sse_close, l_sse_tostring);
  lcompat_setfuncs(L, funcs);
}
