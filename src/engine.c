/*
** engine.c: the curl multi engine, its transfers and their retries.
** No Lua here (see engine.h). curl callbacks touch only C memory.
*/
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "check.h"
#include "engine.h"
#include "platform.h"
#include "upfile.h"

#define MAX_HEAD_BYTES   (256 * 1024)       /* cap on one response's header block; below
                                               curl's own (300 KiB), so ours speaks first */
#define QUEUE_PAUSE      (256 * 1024)       /* queued SSE bytes before curl pauses */
#define MAX_POLL_MS      1000               /* never sleep longer than this at once */
#define KEEP_BUF         (64 * 1024)        /* larger buffers are freed at close */
#define STREAM_RECV_BUF  (128 * 1024)       /* curl's receive buffer for a stream (its
                                               default is 16 KiB): a stream that falls
                                               behind catches up in 8x fewer recv and poll
                                               calls and engine steps; curl frees it when
                                               the transfer ends */
#define MAX_IDLE         64                 /* pooled easy handles, as CURLMOPT_MAXCONNECTS */

/* {=================================================================
** clock, global init, small helpers
** ================================================================== */

double engine_now_ms(void) {
  return platform_mono_ms();
}

static double wall_now_s(void) {
  return platform_wall_s();
}

static platform_once global_once = PLATFORM_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void global_init_once(void) {
  global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int engine_global_init(void) {
  platform_run_once(&global_once, global_init_once);
  return global_rc == CURLE_OK ? 0 : -1;
}

/* xorshift64*, for the retry jitter; quality is not critical */
static double engine_random(engine *e) {
  uint64_t x = e->rng;
  x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
  e->rng = x;
  return (double)((x * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

/* case-insensitive search of the header block for "name:"; the trimmed
** value of its first occurrence is copied into out */
const char *transfer_header(const transfer *t, const char *name, char *out, size_t outsz) {
  size_t nlen = strlen(name);
  const char *p = t->head.data, *end;
  if (p == NULL || outsz == 0) return NULL;
  end = p + t->head.len;
  while (p < end) {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    const char *le = eol ? eol : end;
    if ((size_t)(le - p) > nlen && p[nlen] == ':' && strncasecmp(p, name, nlen) == 0) {
      const char *v = p + nlen + 1, *ve = le;
      size_t n;
      while (v < ve && (*v == ' ' || *v == '\t')) v++;
      while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t')) ve--;
      n = (size_t)(ve - v);
      if (n >= outsz) n = outsz - 1;
      memcpy(out, v, n);
      out[n] = '\0';
      return out;
    }
    p = le + 1;
  }
  return NULL;
}

const char *transfer_kind_name(int kind) {
  switch (kind) {
    case K_NONE: return NULL;
    case K_TIMEOUT: return "timeout";
    case K_CONNECTION: return "connection";
    case K_TOO_LARGE: return "too_large";
    case K_STREAM: return "stream";
    case K_NOMEM: return "memory";
    case K_DECODE: return "decode";
    case K_IO: return "io";
    default: return "closed";
  }
}

/* }================================================================== */


/* {=================================================================
** the ready list and the live list
** ================================================================== */

static void mark_ready(transfer *t) {
  engine *e = t->eng;
  if (t->in_ready || e == NULL || t->released) return;
  t->in_ready = 1;
  t->next_ready = NULL;
  *e->ready_tail = t;
  e->ready_tail = &t->next_ready;
}

static void unlink_ready(engine *e, transfer *t) {
  transfer **pp;
  if (!t->in_ready) return;
  for (pp = &e->ready; *pp != NULL; pp = &(*pp)->next_ready) {
    if (*pp == t) {
      *pp = t->next_ready;
      if (e->ready_tail == &t->next_ready) e->ready_tail = pp;
      break;
    }
  }
  t->in_ready = 0;
  t->next_ready = NULL;
}

transfer *engine_take_ready(engine *e) {
  transfer *r = e->ready, *t;
  for (t = r; t != NULL; t = t->next_ready) t->in_ready = 0;
  e->ready = NULL;
  e->ready_tail = &e->ready;
  return r;
}

static void unlink_live(engine *e, transfer *t) {
  if (t->prev) t->prev->next = t->next; else if (e->live == t) e->live = t->next;
  if (t->next) t->next->prev = t->prev;
  t->prev = t->next = NULL;
}

/* }================================================================== */


/* {=================================================================
** easy handle pool
** ================================================================== */

/* a handle from the pool (*key: the options it has) or a new one (key 0) */
static CURL *easy_get(engine *e, unsigned long *key) {
  if (e->nidle > 0) {
    e->nidle--;
    *key = e->idle[e->nidle].key;
    return e->idle[e->nidle].h;
  }
  *key = 0;
  return curl_easy_init();
}

/* pool a handle for the next attempt; past max_idle (after a burst of
** concurrent calls) free it, so the pool does not keep the burst's size */
static void easy_put(engine *e, CURL *h, unsigned long key) {
  if (e->nidle >= e->max_idle) {
    curl_easy_cleanup(h);
    e->freed_handles++;
    return;
  }
  if (e->nidle == e->cap_idle) {
    int cap = e->cap_idle ? e->cap_idle * 2 : 16;
    idle_easy *p = (idle_easy *)realloc(e->idle, (size_t)cap * sizeof *p);
    if (p == NULL) { curl_easy_cleanup(h); return; }
    e->idle = p;
    e->cap_idle = cap;
  }
  e->idle[e->nidle].h = h;
  e->idle[e->nidle].key = key;
  e->nidle++;
}

/* once a burst is over (nothing running) and it freed more handles than
** the pool holds, give the freed memory back to the system: glibc keeps
** freed small blocks in its heap, so the process would stay at the burst's
** size. At most once per burst. */
static void trim_heap(engine *e) {
  if (e->running > 0 || e->freed_handles < MAX_IDLE) return;
  e->freed_handles = 0;
  platform_trim_heap();
}

/* a local file failed: the attempt ends with kind io and the OS's words */
static void io_failure(transfer *t, const char *what, const char *path, int err) {
  t->own_kind = K_IO;
  snprintf(t->message, sizeof t->message, "%s '%.*s': %s", what, 200, path, strerror(err));
}

/* close the attempt's to_path file; a failed close (its last buffered write:
** a full disk shows here) fails an attempt that had not failed yet */
static void close_output(transfer *t) {
  if (t->out == NULL) return;
  if (fclose(t->out) != 0 && t->own_kind == K_NONE)
    io_failure(t, "cannot write", t->to_path, errno);
  t->out = NULL;
}

/* take the attempt's easy handle out of the multi and back to the pool */
static void detach_attempt(transfer *t) {
  engine *e = t->eng;
  close_output(t);
  if (t->easy != NULL) {
    if (t->state == T_RUNNING && e != NULL) {
      curl_multi_remove_handle(e->multi, t->easy);
      e->running--;
    }
    if (e != NULL) easy_put(e, t->easy, t->easy_key); else curl_easy_cleanup(t->easy);
    t->easy = NULL;
    t->easy_key = 0;
  }
  if (t->mime != NULL) { curl_mime_free(t->mime); t->mime = NULL; }
}

/* }================================================================== */


/* {=================================================================
** curl callbacks: C memory only
** ================================================================== */

/* a queued event: its header (the name's and the data's lengths), its
** name, then its data */
#define EVENT_HEAD 8

/* an event's name and data must be UTF-8 (the stream fails otherwise);
** queue it */
static int on_event(void *ud, const sse_event *ev) {
  transfer *t = (transfer *)ud;
  uint32_t nl = (uint32_t)ev->event_len, dl = (uint32_t)ev->data_len;
  char *p;
  if (!check_utf8(ev->data, ev->data_len) || !check_utf8(ev->event, ev->event_len)) {
    t->own_kind = K_DECODE;
    snprintf(t->message, sizeof t->message, "an event of the stream is not valid UTF-8");
    return 1;
  }
  if (obuf_reserve(&t->queue, EVENT_HEAD + ev->event_len + ev->data_len) != 0) return 1;
  p = t->queue.data + t->queue.len;
  memcpy(p, &nl, 4);
  memcpy(p + 4, &dl, 4);
  memcpy(p + EVENT_HEAD, ev->event, nl);
  memcpy(p + EVENT_HEAD + nl, ev->data, dl);
  t->queue.len += EVENT_HEAD + nl + dl;
  t->received++;
  mark_ready(t);
  return 0;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud) {
  transfer *t = (transfer *)ud;
  size_t len = size * nmemb;
  t->last_byte_at = engine_now_ms();
  if (t->released) return len;       /* the caller is done: discard the rest */
  if (t->out != NULL) {               /* a 2xx body to to_path (see on_header);
                                         max_response_bytes does not apply: it
                                         bounds memory, and this goes to disk */
    if (fwrite(ptr, 1, len, t->out) != len) {
      io_failure(t, "cannot write", t->to_path, errno);
      return 0;
    }
    t->written += len;
    return len;
  }
  if (t->stream && !t->json_body && t->status >= 200 && t->status < 300) {
    int rc;
    if (t->queue.len - t->queue_off > QUEUE_PAUSE) {  /* the caller is behind */
      t->paused = 1;
      return CURL_WRITEFUNC_PAUSE;
    }
    rc = sse_feed(&t->sse, ptr, len, on_event, t);
    if (rc == SSE_OK) return len;
    if (rc == SSE_ABORTED && t->own_kind != K_NONE) return 0;   /* on_event said why */
    if (rc == SSE_TOO_LARGE) {
      t->own_kind = K_TOO_LARGE;
      snprintf(t->message, sizeof t->message,
               "an event of the stream is larger than max_event_bytes (%zu)", t->max_event);
    } else {
      t->own_kind = K_NOMEM;
    }
    return 0;
  }
  if (len > t->max_response || t->body_buf.len > t->max_response - len) {
    t->own_kind = K_TOO_LARGE;
    snprintf(t->message, sizeof t->message,
             "the response body is larger than max_response_bytes (%zu)", t->max_response);
    obuf_free(&t->body_buf);          /* nobody reads a body that is too large */
    return 0;
  }
  if (obuf_append_max(&t->body_buf, ptr, len, t->max_response) != 0) {
    t->own_kind = K_NOMEM;
    return 0;
  }
  return len;
}

/* the response's Content-Type is JSON (application/json, or a +json type),
** parameters aside: an answer to a stream request that is not a stream */
static int json_type(const transfer *t) {
  char ct[128];
  size_t n;
  if (transfer_header(t, "content-type", ct, sizeof ct) == NULL) return 0;
  for (n = 0; ct[n] != '\0' && ct[n] != ';' && ct[n] != ' ' && ct[n] != '\t'; n++) {
    if (ct[n] >= 'A' && ct[n] <= 'Z') ct[n] = (char)(ct[n] + 32);
  }
  return (n == 16 && memcmp(ct, "application/json", 16) == 0) ||
         (n > 5 && memcmp(ct + n - 5, "+json", 5) == 0);
}

static size_t on_header(char *buf, size_t size, size_t nmemb, void *ud) {
  transfer *t = (transfer *)ud;
  size_t len = size * nmemb;
  t->last_byte_at = engine_now_ms();
  if (len >= 5 && memcmp(buf, "HTTP/", 5) == 0) {   /* a new response begins */
    const char *p = memchr(buf, ' ', len);
    long st = 0;
    obuf_clear(&t->head);
    t->headers_done = 0;
    t->json_body = 0;
    if (p != NULL) {
      p++;
      while (p < buf + len && *p >= '0' && *p <= '9' && st < 1000) st = st * 10 + (*p++ - '0');
    }
    t->status = st;
  } else if ((len == 2 && buf[0] == '\r') || (len == 1 && buf[0] == '\n')) {
    if (t->status >= 200) t->headers_done = 1;
    t->json_body = t->stream && t->status >= 200 && t->status < 300 && json_type(t);
    if (t->to_path != NULL && t->status >= 200 && t->status < 300 && t->out == NULL) {
      /* each 2xx attempt writes the file anew (a retry truncates it); made
      ** here, not at the first body byte, so an empty body makes a file */
      t->written = 0;
      t->out = platform_fopen(t->to_path, "wb");
      if (t->out == NULL) { io_failure(t, "cannot create", t->to_path, errno); return 0; }
    }
    return len;
  }
  if (t->head.len + len > MAX_HEAD_BYTES) {
    t->own_kind = K_TOO_LARGE;
    snprintf(t->message, sizeof t->message, "the response headers are larger than %d bytes",
             MAX_HEAD_BYTES);
    return 0;
  }
  if (obuf_append(&t->head, buf, len) != 0) { t->own_kind = K_NOMEM; return 0; }
  return len;
}

#if LIBCURL_VERSION_NUM >= 0x075000
/* curl is about to send the request. A second send within one attempt is
** curl's own recovery of a reused keep-alive connection that died before
** any response byte (the server closed it as we sent): it is allowed once,
** whatever max_retries says (a connection the server dropped between calls
** must not fail the next call), and counted in attempts, since the request
** did go out twice. */
static int on_prereq(void *ud, char *conn_primary_ip, char *conn_local_ip,
                     int conn_primary_port, int conn_local_port) {
  transfer *t = (transfer *)ud;
  (void)conn_primary_ip; (void)conn_local_ip; (void)conn_primary_port; (void)conn_local_port;
  if (++t->sends == 1) return CURL_PREREQFUNC_OK;
  if (t->sends > 2) {
    snprintf(t->message, sizeof t->message,
             "the connection was lost again before any response (not sent a third time)");
    t->own_kind = K_CONNECTION;
    return CURL_PREREQFUNC_ABORT;
  }
  t->attempts++;
  return CURL_PREREQFUNC_OK;
}
#endif

/* }================================================================== */


/* {=================================================================
** what curl wants watched: its sockets and its timer (C memory only)
** ================================================================== */

static int find_sock(const engine *e, curl_socket_t s) {
  int i;
  for (i = 0; i < e->nsocks; i++)
    if (e->socks[i].fd == s) return i;
  return -1;
}

/* CURLMOPT_SOCKETFUNCTION: record the interest in s (or forget s) */
static int on_socket(CURL *easy, curl_socket_t s, int what, void *ud, void *sockp) {
  engine *e = (engine *)ud;
  int i = find_sock(e, s);
  (void)easy; (void)sockp;
  if (what == CURL_POLL_REMOVE) {
    if (i >= 0) {
      e->socks[i] = e->socks[--e->nsocks];
      e->sock_gen++;
    }
    return 0;
  }
  if (i < 0) {
    if (e->nsocks == e->cap_socks) {
      int cap = e->cap_socks ? e->cap_socks * 2 : 8;
      esock *p = (esock *)realloc(e->socks, (size_t)cap * sizeof *p);
      if (p == NULL) { e->sock_failed = 1; return -1; }   /* curl fails the transfers */
      e->socks = p;
      e->cap_socks = cap;
    }
    i = e->nsocks++;
    e->socks[i].fd = s;
    e->socks[i].id = ++e->sock_ids;
  } else if (e->socks[i].what == what) {
    return 0;
  }
  e->socks[i].what = what;
  e->sock_gen++;
  return 0;
}

/* CURLMOPT_TIMERFUNCTION: record when curl wants socket_action(TIMEOUT) */
static int on_timer(CURLM *multi, long timeout_ms, void *ud) {
  engine *e = (engine *)ud;
  (void)multi;
  e->curl_due = timeout_ms < 0 ? ENGINE_NO_DUE : engine_now_ms() + (double)timeout_ms;
  return 0;
}

/* }================================================================== */


/* {=================================================================
** attempts
** ================================================================== */

/* a part's file, read as curl sends it, never past the size it had when
** the attempt was set up: that size is in the Content-Length, and bytes
** beyond it on a kept connection would be read as the next request. A file
** that grew or shrank meanwhile fails the attempt (io) before its last
** piece goes out. Owned by the part (curl_mime_free calls file_part_free). */
typedef struct file_part {
  FILE *f;
  transfer *t;
  const char *path;            /* the mpart's */
  curl_off_t size, sent;
} file_part;

static size_t file_part_read(char *buf, size_t size, size_t nitems, void *arg) {
  file_part *fp = (file_part *)arg;
  size_t want = size * nitems, got;
  if ((curl_off_t)want > fp->size - fp->sent) want = (size_t)(fp->size - fp->sent);
  if (want == 0) return 0;
  got = fread(buf, 1, want, fp->f);
  if (got < want && ferror(fp->f)) {
    io_failure(fp->t, "cannot read the file", fp->path, errno);
    return CURL_READFUNC_ABORT;
  }
  if (got < want || (fp->sent + (curl_off_t)got == fp->size && fgetc(fp->f) != EOF)) {
    fp->t->own_kind = K_IO;
    snprintf(fp->t->message, sizeof fp->t->message,
             "the file '%.*s' changed size while it was sent (%lld bytes were declared)", 200,
             fp->path, (long long)fp->size);
    return CURL_READFUNC_ABORT;
  }
  fp->sent += (curl_off_t)got;
  return got;
}

static int file_part_seek(void *arg, curl_off_t offset, int origin) {
  file_part *fp = (file_part *)arg;
  if (origin != SEEK_SET || offset < 0 || offset > fp->size) return CURL_SEEKFUNC_CANTSEEK;
  if (platform_fseek(fp->f, (long long)offset) != 0) return CURL_SEEKFUNC_FAIL;
  fp->sent = offset;
  return CURL_SEEKFUNC_OK;
}

static void file_part_free(void *arg) {
  file_part *fp = (file_part *)arg;
  fclose(fp->f);
  free(fp);
}

/* the part mp streams the file of p; opened here so that a missing file
** fails the attempt with the OS's reason, before any byte is sent */
static int add_file_part(transfer *t, curl_mimepart *mp, const mpart *p) {
  file_part *fp;
  long long size;
  FILE *f;
  /* only a regular file of known size: a FIFO would block here, a
  ** directory or a /proc file would go out empty */
  if (upfile_check(p->path, &size, t->message, sizeof t->message) < 0) {
    t->own_kind = K_IO;
    return -1;
  }
  f = platform_fopen(p->path, "rb");
  if (f == NULL) { io_failure(t, "cannot open the file", p->path, errno); return -1; }
  if ((size = platform_file_size(f)) < 0 || platform_fseek(f, 0) != 0) {
    io_failure(t, "cannot read the file", p->path, errno);
    fclose(f);
    return -1;
  }
  fp = (file_part *)malloc(sizeof *fp);
  if (fp == NULL) { fclose(f); return -1; }
  fp->f = f;
  fp->t = t;
  fp->path = p->path;
  fp->size = (curl_off_t)size;
  fp->sent = 0;
  if (curl_mime_data_cb(mp, fp->size, file_part_read, file_part_seek, file_part_free, fp) != CURLE_OK) {
    file_part_free(fp);
    return -1;
  }
  if (p->filename == NULL) {                       /* as curl_mime_filedata names it */
    const char *slash = strrchr(p->path, '/');
    curl_mime_filename(mp, slash ? slash + 1 : p->path);
  }
  return 0;
}

static int setup_body(transfer *t, CURL *h) {
  int i;
  if (t->nparts > 0) {
    t->mime = curl_mime_init(h);
    if (t->mime == NULL) return -1;
    for (i = 0; i < t->nparts; i++) {
      const mpart *p = &t->parts[i];
      curl_mimepart *mp = curl_mime_addpart(t->mime);
      if (mp == NULL) return -1;
      curl_mime_name(mp, p->name);
      if (p->path != NULL) {
        if (add_file_part(t, mp, p) != 0) return -1;
      } else {
        curl_mime_data(mp, p->data, p->data_len);
      }
      if (p->filename) curl_mime_filename(mp, p->filename);
      if (p->type) curl_mime_type(mp, p->type);
    }
    curl_easy_setopt(h, CURLOPT_MIMEPOST, t->mime);
  } else if (t->has_body) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)t->body_len);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, t->body ? t->body : "");
  }
  if (strcmp(t->method, "GET") == 0 && !t->has_body && t->nparts == 0)
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  else if (strcmp(t->method, "HEAD") == 0)
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  else if (strcmp(t->method, "POST") == 0) {
    if (!t->has_body && t->nparts == 0) {
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
    }
  } else
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, t->method);
  return 0;
}

/* the key of the options a plain attempt of t sets, or 0: a transfer of a
** profile, not a stream, no parts, a POST with a body or a GET without one.
** Those options are the fixed ones of set_fixed_options (the profile's) and
** the ones set_call_options sets on every attempt; anything else (another
** method, parts, a stream's timers) has key 0 and always starts afresh */
static unsigned long options_key(const transfer *t) {
  if (t->prof == NULL || t->stream || t->nparts > 0) return 0;
  if (strcmp(t->method, "POST") == 0 && t->has_body) return t->prof->id * 2 + 1;
  if (strcmp(t->method, "GET") == 0 && !t->has_body) return t->prof->id * 2;
  return 0;
}

/* TLS and connection sharing (see docs/DESIGN.md, "Connections"):
** - over https, a new transfer waits for a connection being set up to the
**   same host to say whether it multiplexes (HTTP/2) instead of opening one
**   of its own; plain http (HTTP/1.1) never waits, so calls in flight to a
**   local server keep one connection each as before;
** - the CA store comes from one bundle file (the client's ca_file, else
**   libcurl's default) and no CA directory, which is what lets libcurl keep
**   the parsed store in the multi handle (CURLOPT_CA_CACHE_TIMEOUT, 24 h by
**   default) instead of reading the whole bundle for every connection; a
**   client's ca_path is looked up besides it (no cache then);
** - a client certificate and key (mutual TLS) are the client's own;
** - TLS sessions are kept in the engine's share, so a new connection to a
**   host seen before resumes instead of doing a full handshake */
static void set_tls_options(transfer *t, CURL *h) {
  engine *e = t->eng;
  const tls_files *f = &t->tls;
  if (t->url != NULL && strncasecmp(t->url, "https:", 6) == 0)
    curl_easy_setopt(h, CURLOPT_PIPEWAIT, 1L);
  if (f->ca_file != NULL) curl_easy_setopt(h, CURLOPT_CAINFO, f->ca_file);
  if (f->ca_path != NULL) curl_easy_setopt(h, CURLOPT_CAPATH, f->ca_path);
  else if (f->ca_file != NULL || (e != NULL && e->has_cainfo))
    curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
  if (f->client_cert != NULL) curl_easy_setopt(h, CURLOPT_SSLCERT, f->client_cert);
  if (f->client_key != NULL) curl_easy_setopt(h, CURLOPT_SSLKEY, f->client_key);
  if (f->key_password != NULL) curl_easy_setopt(h, CURLOPT_KEYPASSWD, f->key_password);
  if (e != NULL && e->share != NULL) curl_easy_setopt(h, CURLOPT_SHARE, e->share);
}

/* what every attempt of t sets the same way (after curl_easy_reset) */
static void set_fixed_options(transfer *t, CURL *h) {
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, t->headers);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
#if LIBCURL_VERSION_NUM >= 0x075000
  curl_easy_setopt(h, CURLOPT_PREREQFUNCTION, on_prereq);
#endif
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
  curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
  if (t->proxy != NULL) curl_easy_setopt(h, CURLOPT_PROXY, t->proxy);
  if (t->no_proxy != NULL) curl_easy_setopt(h, CURLOPT_NOPROXY, t->no_proxy);
  set_tls_options(t, h);
  if (t->connect_timeout_ms > 0)
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, t->connect_timeout_ms);
}

/* what may differ from one attempt to the next: set on every attempt (a
** value left from an earlier one is overwritten, never inherited) */
static void set_call_options(transfer *t, CURL *h, long timeout, long left) {
  curl_easy_setopt(h, CURLOPT_URL, t->url);
  curl_easy_setopt(h, CURLOPT_PRIVATE, (void *)t);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, (void *)t);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, (void *)t);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, t->errbuf);
#if LIBCURL_VERSION_NUM >= 0x075000
  curl_easy_setopt(h, CURLOPT_PREREQDATA, (void *)t);
#endif
  /* a plain attempt is bounded whole, body included; a stream only by the
  ** deadline (its header wait and idle gaps are our own timers); 0: none */
  if (!t->stream) curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout > 0 ? timeout : 0L);
  else curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, t->deadline_ms > 0 ? left : 0L);
  /* a stream's handle is always reset before its attempt (options_key 0), so
  ** this never reaches a plain call */
  if (t->stream) curl_easy_setopt(h, CURLOPT_BUFFERSIZE, (long)STREAM_RECV_BUF);
}

/* {=================================================================
** connections whose response overran its length. An HTTP/1.x connection
** curl keeps idle must be silent: bytes that arrive on it are no answer
** to anything (a server that sent more than its Content-Length), and the
** next request on it would read them as its response. curl's check before
** reuse takes a readable connection with data for alive, so the engine
** notes each kept connection and, before it starts an attempt, looks at
** them: one with bytes waiting is shut down and emptied, so that curl sees
** it closed and opens another. A socket is known by its two addresses, so
** a descriptor number that now names another socket is never touched.
** ================================================================== */

#ifndef _WIN32

static int same_socket(curl_socket_t fd, const kept_conn *k) {
  struct sockaddr_storage a;
  socklen_t len = sizeof a;
  if (getsockname(fd, (struct sockaddr *)&a, &len) != 0 || len != k->local_len ||
      memcmp(&a, &k->local, len) != 0) return 0;
  len = sizeof a;
  return getpeername(fd, (struct sockaddr *)&a, &len) == 0 && len == k->peer_len &&
         memcmp(&a, &k->peer, len) == 0;
}

/* a transfer ended well on h: note the HTTP/1.x connection curl keeps */
static void note_kept(engine *e, CURL *h) {
  curl_socket_t fd = CURL_SOCKET_BAD;
  long version = 0;
  kept_conn *k;
  int i;
  if (curl_easy_getinfo(h, CURLINFO_HTTP_VERSION, &version) != CURLE_OK ||
      (version != CURL_HTTP_VERSION_1_1 && version != CURL_HTTP_VERSION_1_0)) return;
  if (curl_easy_getinfo(h, CURLINFO_ACTIVESOCKET, &fd) != CURLE_OK || fd == CURL_SOCKET_BAD) return;
  for (i = 0; i < e->nkept && e->kept[i].fd != fd; i++) {}
  if (i == MAX_KEPT) i = 0;                   /* full: the first note goes */
  k = &e->kept[i];
  k->local_len = sizeof k->local;
  k->peer_len = sizeof k->peer;
  if (getsockname(fd, (struct sockaddr *)&k->local, &k->local_len) != 0 ||
      getpeername(fd, (struct sockaddr *)&k->peer, &k->peer_len) != 0) return;
  k->fd = fd;
  if (i == e->nkept) e->nkept++;
}

static int watched(const engine *e, curl_socket_t fd) {
  int i;
  for (i = 0; i < e->nsocks; i++)
    if (e->socks[i].fd == fd) return 1;
  return 0;
}

/* before an attempt: shut down every kept connection with bytes waiting */
static void drop_overrun(engine *e) {
  struct pollfd p[MAX_KEPT];
  char scrap[4096];
  int i, n = e->nkept, out = 0;
  if (n <= 0 || n > MAX_KEPT) return;
  for (i = 0; i < n; i++) {
    p[i].fd = watched(e, e->kept[i].fd) ? -1 : e->kept[i].fd;   /* in use: not idle */
    p[i].events = POLLIN;
    p[i].revents = 0;
  }
  if (poll(p, (nfds_t)n, 0) <= 0) return;
  for (i = 0; i < n; i++) {
    const kept_conn *k = &e->kept[i];
    int drop = p[i].revents != 0;
    if (p[i].revents & POLLIN && same_socket(k->fd, k) &&
        recv(k->fd, scrap, 1, MSG_PEEK | MSG_DONTWAIT) > 0) {
      shutdown(k->fd, SHUT_RDWR);
      while (recv(k->fd, scrap, sizeof scrap, MSG_DONTWAIT) > 0) {}
    }
    if (!drop) e->kept[out++] = *k;
  }
  e->nkept = out;
}

#else

/* Windows: not done (no MSG_DONTWAIT, and curl's check there differs) */
static void note_kept(engine *e, CURL *h) { (void)e; (void)h; }
static void drop_overrun(engine *e) { (void)e; }

#endif

/* }================================================================== */

/* start one attempt: 0, or -1 when curl could not take it (t is then DONE) */
static int start_attempt(engine *e, transfer *t) {
  unsigned long have, want = options_key(t);
  CURL *h = easy_get(e, &have);
  double now = engine_now_ms();
  long timeout = t->timeout_ms, left = 0;
  if (h == NULL) goto fail;
  t->easy = h;
  t->easy_key = 0;                /* until the options are all set */
  if (want == 0 || have != want) {
    curl_easy_reset(h);
    set_fixed_options(t, h);
  }
  t->attempts++;
  t->sends = 0;
  t->attempt_at = t->last_byte_at = now;
  t->status = 0;
  t->headers_done = 0;
  t->json_body = 0;
  t->own_kind = K_NONE;
  t->paused = 0;
  t->errbuf[0] = '\0';
  t->message[0] = '\0';
  obuf_clear(&t->head);
  obuf_clear(&t->body_buf);
  obuf_clear(&t->queue);       /* empty: an attempt that received an event is never retried */
  t->queue_off = 0;
  sse_reset(&t->sse);
  t->limit_deadline = 0;
  if (t->deadline_ms > 0) {       /* what is left of the deadline bounds the attempt */
    left = (long)(t->started_at + (double)t->deadline_ms - now);
    if (left < 1) left = 1;
    if (timeout <= 0 || left < timeout) { timeout = left; t->limit_deadline = 1; }
  }
  t->limit_ms = t->stream ? (t->deadline_ms > 0 ? left : 0) : (timeout > 0 ? timeout : 0);
  if (t->stream) t->limit_deadline = t->deadline_ms > 0;
  t->fired_option = NULL;
  set_call_options(t, h, timeout, left);
  if (setup_body(t, h) != 0) goto fail;
  t->easy_key = want;
  drop_overrun(e);
  if (curl_multi_add_handle(e->multi, h) != CURLM_OK) goto fail;
  e->running++;
  t->state = T_RUNNING;
  return 0;
fail:
  if (t->mime != NULL) { curl_mime_free(t->mime); t->mime = NULL; }
  if (h != NULL) { easy_put(e, h, 0); t->easy = NULL; t->easy_key = 0; }
  t->kind = t->own_kind == K_IO ? K_IO : K_NOMEM;
  if (t->kind != K_IO) snprintf(t->message, sizeof t->message, "could not start the request");
  t->state = T_DONE;
  mark_ready(t);
  return -1;
}

/* the kind of an attempt that curl failed. curl refuses a response header
** line longer than CURL_MAX_HTTP_HEADER with CURLE_OUT_OF_MEMORY (7.x) or
** CURLE_TOO_LARGE (8.6 on): between a status line and the end of its
** headers, that is what these codes mean */
static int curl_failure_kind(transfer *t, CURLcode rc) {
  int too_large = t->status > 0 && !t->headers_done && rc == CURLE_OUT_OF_MEMORY;
#if LIBCURL_VERSION_NUM >= 0x080600
  if (rc == CURLE_TOO_LARGE) too_large = 1;
#endif
  if (too_large) {
    snprintf(t->message, sizeof t->message,
             "a response header line is longer than curl accepts (%d bytes)", CURL_MAX_HTTP_HEADER);
    return K_TOO_LARGE;
  }
  if (rc == CURLE_OPERATION_TIMEDOUT) return K_TIMEOUT;
  if (rc == CURLE_OUT_OF_MEMORY) return K_NOMEM;
  if (rc == CURLE_READ_ERROR) return K_IO;       /* a part's file, read as it is sent */
  return K_CONNECTION;
}

/* whether the attempt's connection was made (TCP, and TLS for https):
** curl calls the prereq callback once it is, before sending */
static int connected(transfer *t) {
#if LIBCURL_VERSION_NUM >= 0x075000
  return t->sends > 0;
#else
  curl_off_t pre = 0;
  curl_easy_getinfo(t->easy, CURLINFO_PRETRANSFER_TIME_T, &pre);
  return pre > 0;
#endif
}

/* whether the attempt's request went out whole: the server began to
** answer, or the connection was made and every byte of the body was
** written to it (a request without a body goes out with its headers) */
static int request_sent(transfer *t) {
  curl_off_t up = 0, want = 0;
  if (t->status > 0 || t->head.len > 0) return 1;
  if (t->easy == NULL || !connected(t)) return 0;
  if (t->nparts > 0) curl_easy_getinfo(t->easy, CURLINFO_CONTENT_LENGTH_UPLOAD_T, &want);
  else if (t->has_body) want = (curl_off_t)t->body_len;
  curl_easy_getinfo(t->easy, CURLINFO_SIZE_UPLOAD_T, &up);
  return up >= want;
}

/* which limit ended a timed-out attempt and what it was doing, read before
** its handle goes back to the pool. A timer of our own (abort_attempt) has
** set the option already; curl's own timeout is the connect timeout while
** connecting (when it is the shorter), else the attempt's limit */
static void classify_timeout(transfer *t) {
  int conn = t->easy != NULL && connected(t);
  t->fired_sent = request_sent(t);
  if (t->fired_option != NULL) {          /* a stream's header wait or idle gap */
    if (t->fired_phase == RETRY_PHASE_HEADERS && !t->fired_sent)
      t->fired_phase = conn ? RETRY_PHASE_SEND : RETRY_PHASE_CONNECT;
    return;
  }
  t->fired_option = t->limit_deadline ? "deadline" : "timeout";
  t->fired_ms = t->limit_deadline ? t->deadline_ms : t->limit_ms;
  if (!conn) {
    t->fired_phase = RETRY_PHASE_CONNECT;
    if (t->connect_timeout_ms > 0 && (t->limit_ms <= 0 || t->connect_timeout_ms <= t->limit_ms)) {
      t->fired_option = "connect_timeout";
      t->fired_ms = t->connect_timeout_ms;
    } else if (t->limit_ms <= 0) {
      t->fired_option = "connect_timeout";
      t->fired_ms = 300000L;              /* curl's default connect timeout */
    }
  } else if (!t->fired_sent) {
    t->fired_phase = RETRY_PHASE_SEND;
  } else if (t->stream) {
    t->fired_phase = t->headers_done ? RETRY_PHASE_IDLE : RETRY_PHASE_HEADERS;
  } else {
    t->fired_phase = RETRY_PHASE_RESPONSE;
  }
}

/* what the retry policy says of a failed attempt of t (kind K_NONE with an
** error status, K_TIMEOUT or K_CONNECTION); keeps the server's wish */
static void ask_policy(engine *e, transfer *t, int kind, retry_decision *d) {
  retry_input in;
  char ra_ms[64], ra[128], sr[16];
  memset(&in, 0, sizeof in);
  in.attempts = t->attempts;
  in.status = kind == K_NONE ? t->status : 0;
  in.transport_error = kind != K_NONE;
  in.timed_out = kind == K_TIMEOUT;
  in.request_sent = kind == K_TIMEOUT && t->fired_sent;
  if (kind == K_NONE) {
    in.retry_after_ms = transfer_header(t, "retry-after-ms", ra_ms, sizeof ra_ms);
    in.retry_after = transfer_header(t, "retry-after", ra, sizeof ra);
    in.should_retry = transfer_header(t, "x-should-retry", sr, sizeof sr);
    in.insufficient_quota = t->status == 429 && t->body_buf.data != NULL &&
                            strstr(t->body_buf.data, "\"insufficient_quota\"") != NULL;
  }
  in.now = wall_now_s();
  in.random01 = engine_random(e);
  retry_decide(&t->retry, &in, d);
  t->retry_after_ms = d->retry_after_ms;
}

/* the outcome of one attempt is known: retry it, or make it final */
static void settle(engine *e, transfer *t, CURLcode rc) {
  int kind, declined = 0;
  double now = engine_now_ms();
  if (t->easy != NULL && t->status == 0) {
    long code = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
    t->status = code;
  }
  if (t->own_kind == K_TIMEOUT || (t->own_kind == K_NONE && rc == CURLE_OPERATION_TIMEDOUT))
    classify_timeout(t);
  detach_attempt(t);
  if (t->released) {         /* nobody waits for it: done */
    transfer_close(t);
    return;
  }
  t->curl_code = (int)rc;
  if (t->own_kind != K_NONE) kind = t->own_kind;
  else if (rc == CURLE_OK) kind = K_NONE;
  else kind = curl_failure_kind(t, rc);
  if (kind != K_NONE && t->message[0] == '\0') {
    const char *m = t->errbuf[0] ? t->errbuf : curl_easy_strerror(rc);
    snprintf(t->message, sizeof t->message, "%s", m);
  }
  /* a stream that received an event is never retried, read or not: a retry
  ** would append a second attempt's events to the first's */
  if (kind == K_CONNECTION && t->received > 0) kind = K_STREAM;
  if (kind != K_NONE) t->status = t->headers_done ? t->status : 0;

  if ((kind == K_NONE || kind == K_TIMEOUT || kind == K_CONNECTION) && t->received == 0 &&
      retry_is_error(kind == K_NONE ? t->status : 0, kind != K_NONE)) {
    retry_decision d;
    ask_policy(e, t, kind, &d);
    if (d.verdict == RETRY_YES &&
        !(t->deadline_ms > 0 && now + (double)d.delay_ms >= t->started_at + (double)t->deadline_ms)) {
      t->state = T_WAITING;
      t->next_at = now + (double)d.delay_ms;
      if (t->key_refresh) {       /* the caller renews the key first */
        t->wants_key = 1;
        mark_ready(t);
      }
      return;
    }
    declined = d.verdict == RETRY_SENT;
  }
  if (kind == K_TIMEOUT && t->fired_option != NULL)
    retry_timeout_text(t->message, sizeof t->message, t->fired_phase, t->fired_option,
                       t->fired_ms, declined);
  else if (kind != K_TIMEOUT)
    t->fired_option = NULL;
  t->kind = kind;
  t->state = T_DONE;
  mark_ready(t);
}

/* abort a running stream's attempt for a timer of our own: the option
** whose limit ran out, its value, and what the attempt was waiting for */
static void abort_attempt(engine *e, transfer *t, const char *option, long ms, int phase) {
  t->own_kind = K_TIMEOUT;
  t->fired_option = option;
  t->fired_ms = ms;
  t->fired_phase = phase;
  settle(e, t, CURLE_OK);
}

/* }================================================================== */


/* {=================================================================
** the engine
** ================================================================== */

/* whether libcurl was built with a default CA bundle file (Debian's:
** /etc/ssl/certs/ca-certificates.crt, beside the CA directory /etc/ssl/certs) */
static int default_cainfo(void) {
  int has = 0;
#if LIBCURL_VERSION_NUM >= 0x075400
  char *path = NULL;
  CURL *h = curl_easy_init();
  if (h == NULL) return 0;
  if (curl_easy_getinfo(h, CURLINFO_CAINFO, &path) == CURLE_OK && path != NULL && *path != '\0')
    has = 1;
  curl_easy_cleanup(h);
#endif
  return has;
}

int engine_init(engine *e) {
  memset(e, 0, sizeof *e);
  e->ready_tail = &e->ready;
  e->curl_due = ENGINE_NO_DUE;
  e->multi = curl_multi_init();
  if (e->multi == NULL) { e->closed = 1; return -1; }
  curl_multi_setopt(e->multi, CURLMOPT_MAXCONNECTS, (long)MAX_IDLE);
  e->max_idle = MAX_IDLE;
  curl_multi_setopt(e->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
  curl_multi_setopt(e->multi, CURLMOPT_SOCKETDATA, (void *)e);
  curl_multi_setopt(e->multi, CURLMOPT_TIMERFUNCTION, on_timer);
  curl_multi_setopt(e->multi, CURLMOPT_TIMERDATA, (void *)e);
  e->share = curl_share_init();
  if (e->share != NULL &&
      curl_share_setopt(e->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK) {
    curl_share_cleanup(e->share);
    e->share = NULL;
  }
  e->has_cainfo = default_cainfo();
  e->rng = ((uint64_t)platform_wall_s() << 20) ^ platform_process_id() ^ (uint64_t)(uintptr_t)e;
  if (e->rng == 0) e->rng = 88172645463325252ULL;
  return 0;
}

void engine_configure(engine *e, long max_host, long max_total) {
  if (e->closed) return;
  if (max_host > 0) curl_multi_setopt(e->multi, CURLMOPT_MAX_HOST_CONNECTIONS, max_host);
  if (max_total > 0) {
    curl_multi_setopt(e->multi, CURLMOPT_MAXCONNECTS, max_total);
    e->max_idle = max_total < INT_MAX ? (int)max_total : INT_MAX;
    while (e->nidle > e->max_idle) curl_easy_cleanup(e->idle[--e->nidle].h);
  }
}

void engine_close(engine *e) {
  int i;
  if (e->closed) return;
  while (e->live != NULL) {   /* transfers outlive nothing: detach them */
    transfer *t = e->live;
    transfer_close(t);        /* unlinks t from e->live */
  }
  for (i = 0; i < e->nidle; i++) curl_easy_cleanup(e->idle[i].h);
  free(e->idle);
  e->idle = NULL;
  e->nidle = e->cap_idle = 0;
  curl_multi_cleanup(e->multi);   /* may still call on_socket: socks stays until here */
  e->multi = NULL;
  if (e->share != NULL) curl_share_cleanup(e->share);   /* no handle uses it any more */
  e->share = NULL;
  free(e->socks);
  e->socks = NULL;
  e->nsocks = e->cap_socks = 0;
  e->sock_gen++;
  free(e->pfds);
  e->pfds = NULL;
  e->cap_pfds = 0;
  e->curl_due = ENGINE_NO_DUE;
  e->closed = 1;
}

/* the last profile id given: ids key easy handles, so two profiles never
** share one, whatever thread (each with its own Lua state) makes them */
static unsigned long profile_ids;
static platform_mutex profile_ids_lock = PLATFORM_MUTEX_INIT;

profile *profile_new(void) {
  profile *p = (profile *)calloc(1, sizeof *p);
  if (p == NULL) return NULL;
  p->refs = 1;
  platform_lock(&profile_ids_lock);
  p->id = ++profile_ids;
  platform_unlock(&profile_ids_lock);
  return p;
}

void profile_release(profile *p) {
  if (p == NULL || --p->refs > 0) return;
  curl_slist_free_all(p->headers);
  free(p->proxy);
  free(p->no_proxy);
  tls_files_free(&p->tls);
  free(p);
}

void transfer_use_profile(transfer *t, profile *p) {
  p->refs++;
  t->prof = p;
  t->headers = p->headers;
  t->proxy = p->proxy;
  t->no_proxy = p->no_proxy;
  t->tls = p->tls;
  t->timeout_ms = p->timeout_ms;
  t->connect_timeout_ms = p->connect_timeout_ms;
  t->idle_timeout_ms = p->idle_timeout_ms;
  t->deadline_ms = p->deadline_ms;
  t->max_response = p->max_response;
  t->max_event = p->max_event;
  t->stream = p->stream;
  t->retry = p->retry;
}

void transfer_init(transfer *t) {
  memset(t, 0, sizeof *t);
  obuf_init(&t->head);
  obuf_init(&t->body_buf);
  obuf_init(&t->queue);
  sse_init(&t->sse, 0);
  t->retry_after_ms = -1;
  t->max_response = (size_t)64 * 1024 * 1024;
  t->idle_timeout_ms = 60000;
  t->retry.max_retry_after_ms = 60000;
}

int transfer_submit(engine *e, transfer *t) {
  if (e->closed || t->state != T_NEW) return -1;
  if (t->max_event > 0) t->sse.max_event = t->max_event;
  t->eng = e;
  t->next = e->live;
  if (e->live) e->live->prev = t;
  e->live = t;
  t->started_at = engine_now_ms();
  t->next_at = t->started_at;
  t->state = T_WAITING;
  return 0;
}

int transfer_ready(const transfer *t) {
  return t->state >= T_DONE || t->queue.len > t->queue_off || t->wants_key;
}

void tls_files_free(tls_files *f) {
  free(f->ca_file);
  free(f->ca_path);
  free(f->client_cert);
  free(f->client_key);
  if (f->key_password != NULL) {       /* a secret: not left in freed memory */
    volatile char *p = f->key_password;
    while (*p) *p++ = 0;
    free(f->key_password);
  }
  memset(f, 0, sizeof *f);
}

int transfer_set_key(transfer *t, const char *line) {
  const char *colon = strchr(line, ':');
  size_t n = colon ? (size_t)(colon - line) + 1 : 0;
  struct curl_slist *l, *fresh = NULL, *next;
  int found = 0;
  if (!t->wants_key || t->prof != NULL || n == 0) return -1;
  for (l = t->headers; l != NULL; l = l->next) {   /* a new list: the line replaced */
    const char *v = l->data;
    if (strncasecmp(v, line, n) == 0) { v = line; found = 1; }
    if ((next = curl_slist_append(fresh, v)) == NULL) { curl_slist_free_all(fresh); return -1; }
    fresh = next;
  }
  if (!found) {                                    /* (never so today: added, not lost) */
    if ((next = curl_slist_append(fresh, line)) == NULL) { curl_slist_free_all(fresh); return -1; }
    fresh = next;
  }
  curl_slist_free_all(t->headers);
  t->headers = fresh;
  t->wants_key = 0;
  if (t->eng != NULL) unlink_ready(t->eng, t);
  return 0;
}

int transfer_pop_event(transfer *t, const char **name, size_t *name_len,
                       const char **data, size_t *data_len) {
  uint32_t nl, dl;
  const char *p;
  if (t->queue.len <= t->queue_off) return 0;
  p = t->queue.data + t->queue_off;
  memcpy(&nl, p, 4);
  memcpy(&dl, p + 4, 4);
  *name = p + EVENT_HEAD;
  *name_len = nl;
  *data = p + EVENT_HEAD + nl;
  *data_len = dl;
  t->queue_off += EVENT_HEAD + (size_t)nl + dl;
  t->delivered++;
  if (t->queue_off == t->queue.len) {     /* drained: reuse from the start; the
                                             popped bytes stay readable until the
                                             next write, see transfer_resume */
    t->queue.len = 0;
    t->queue_off = 0;
  }
  return 1;
}

void transfer_resume(transfer *t) {
  if (t->paused && t->queue.len == 0 && t->easy != NULL && t->state == T_RUNNING) {
    t->paused = 0;
    t->last_byte_at = engine_now_ms();
    curl_easy_pause(t->easy, CURLPAUSE_CONT);   /* may call on_body at once */
  }
}

void transfer_release(transfer *t, long grace_ms) {
  if (t->state != T_RUNNING || t->eng == NULL) { transfer_close(t); return; }
  t->released = 1;
  t->release_by = engine_now_ms() + (double)grace_ms;
  obuf_free(&t->queue);
  t->queue_off = 0;
  if (t->eng != NULL) unlink_ready(t->eng, t);
  if (t->paused && t->easy != NULL) {
    t->paused = 0;
    curl_easy_pause(t->easy, CURLPAUSE_CONT);
  }
}

/* a closed transfer keeps a small buffer's memory for its next use */
static void trim(obuf *b) {
  if (b->cap > KEEP_BUF) obuf_free(b); else obuf_clear(b);
}

void transfer_close(transfer *t) {
  int i;
  engine *e = t->eng;
  if (t->state == T_CLOSED) return;
  detach_attempt(t);
  if (e != NULL) {
    unlink_ready(e, t);
    unlink_live(e, t);
    t->eng = NULL;
  }
  if (t->prof != NULL) {          /* these are the profile's */
    t->headers = NULL;
    t->proxy = t->no_proxy = NULL;
    memset(&t->tls, 0, sizeof t->tls);
    profile_release(t->prof);
    t->prof = NULL;
  }
  free(t->method); t->method = NULL;
  free(t->url); t->url = NULL;
  curl_slist_free_all(t->headers); t->headers = NULL;
  free(t->body); t->body = NULL;
  free(t->to_path); t->to_path = NULL;
  free(t->proxy); t->proxy = NULL;
  free(t->no_proxy); t->no_proxy = NULL;
  tls_files_free(&t->tls);
  t->key_refresh = t->wants_key = 0;
  for (i = 0; i < t->nparts; i++) {
    free(t->parts[i].name);
    free(t->parts[i].data);
    free(t->parts[i].path);
    free(t->parts[i].filename);
    free(t->parts[i].type);
  }
  free(t->parts); t->parts = NULL;
  t->nparts = 0;
  trim(&t->head);
  trim(&t->body_buf);
  trim(&t->queue);
  trim(&t->sse.line);
  trim(&t->sse.data);
  trim(&t->sse.event);
  trim(&t->sse.id);
  if (t->state != T_DONE) t->kind = K_CLOSED;
  t->state = T_CLOSED;
}

void transfer_destroy(transfer *t) {
  transfer_close(t);
  obuf_free(&t->head);
  obuf_free(&t->body_buf);
  obuf_free(&t->queue);
  sse_free(&t->sse);
}

void transfer_reuse(transfer *t) {
  obuf head, body, queue;
  sse_parser sse;
  transfer_close(t);              /* already closed: nothing to do but be sure */
  head = t->head; body = t->body_buf; queue = t->queue; sse = t->sse;
  transfer_init(t);               /* fresh fields; its empty buffers hold no memory */
  t->head = head;
  t->body_buf = body;
  t->queue = queue;
  t->sse = sse;
  sse_reset(&t->sse);
}

/* when the engine must look at t for a timer of its own (next attempt,
** stream header wait, idle gap, release grace), or ENGINE_NO_DUE */
static double own_due(const transfer *t) {
  if (t->state == T_WAITING) return t->wants_key ? ENGINE_NO_DUE : t->next_at;
  if (t->state != T_RUNNING || !t->stream) return ENGINE_NO_DUE;
  if (t->released) return t->release_by;
  if (!t->headers_done)
    return t->timeout_ms > 0 ? t->attempt_at + (double)t->timeout_ms : ENGINE_NO_DUE;
  if (t->idle_timeout_ms <= 0 || t->paused) return ENGINE_NO_DUE;
  return t->last_byte_at + (double)t->idle_timeout_ms;
}

/* the nearest of curl's timer and every transfer's own */
static double next_due(const engine *e) {
  double due = e->curl_due;
  const transfer *t;
  for (t = e->live; t != NULL; t = t->next) {
    double d = own_due(t);
    if (d < due) due = d;
  }
  return due;
}

/* ms until the nearest timer (0 when overdue), -1 when there is none */
static long timers_wait(const engine *e) {
  double due = next_due(e), left;
  if (due >= ENGINE_NO_DUE) return -1;
  left = ceil(due - engine_now_ms());
  if (left <= 0) return 0;
  return left > (double)LONG_MAX ? LONG_MAX : (long)left;
}

long engine_timeout(engine *e) {
  if (e->closed) return -1;
  if (e->ready != NULL) return 0;   /* readiness nobody took yet (events queued
                                       by a resume, say): call again now */
  return timers_wait(e);
}

/* start the attempts whose time has come */
static void start_due(engine *e, double now) {
  transfer *t, *nx;
  for (t = e->live; t != NULL; t = nx) {
    nx = t->next;
    if (t->state == T_WAITING && !t->wants_key && t->next_at <= now) start_attempt(e, t);
  }
}

/* fire our own timers on running streams: header wait, idle gap, release */
static void check_timers(engine *e, double now) {
  transfer *t, *nx;
  for (t = e->live; t != NULL; t = nx) {
    nx = t->next;
    if (t->state != T_RUNNING || !t->stream || now < own_due(t)) continue;
    if (t->released)
      transfer_close(t);
    else if (!t->headers_done)
      abort_attempt(e, t, "timeout", t->timeout_ms, RETRY_PHASE_HEADERS);
    else
      abort_attempt(e, t, "idle_timeout", t->idle_timeout_ms, RETRY_PHASE_IDLE);
  }
}

static void drain_messages(engine *e) {
  CURLMsg *m;
  int left;
  while ((m = curl_multi_info_read(e->multi, &left)) != NULL) {
    transfer *t = NULL;
    if (m->msg != CURLMSG_DONE) continue;
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&t);
    if (m->data.result == CURLE_OK) note_kept(e, m->easy_handle);
    if (t != NULL && t->easy == m->easy_handle && t->state == T_RUNNING)
      settle(e, t, m->data.result);
  }
}

/* hand one event to curl: activity on socket fd, or CURL_SOCKET_TIMEOUT */
static int act(engine *e, curl_socket_t fd, int mask) {
  int still;
  CURLMcode rc = curl_multi_socket_action(e->multi, fd, mask, &still);
  if (fd == CURL_SOCKET_TIMEOUT) {
    /* curl calls on_timer only when its expiry changes; after a call a
    ** hair before that expiry it would not, and a due time left in the
    ** past would make every wait 0 ms (a spin): ask curl again */
    long ms = -1;
    curl_multi_timeout(e->multi, &ms);
    e->curl_due = ms < 0 ? ENGINE_NO_DUE : engine_now_ms() + (double)ms;
  }
  return rc == CURLM_OK && !e->sock_failed ? 0 : -1;
}

/* run curl's timer when it is due */
static int kick(engine *e) {
  if (e->curl_due > engine_now_ms()) return 0;
  return act(e, CURL_SOCKET_TIMEOUT, 0);
}

/* the work that never waits: start due attempts, hand curl the socket
** event (fd CURL_SOCKET_BAD: none) and its due timer, settle finished
** attempts, fire our own timers, then start what that made due (retries
** without delay) and let curl begin them */
static int pump(engine *e, curl_socket_t fd, int mask) {
  start_due(e, engine_now_ms());
  if (fd != CURL_SOCKET_BAD && act(e, fd, mask) != 0) return -1;
  if (kick(e) != 0) return -1;
  drain_messages(e);
  check_timers(e, engine_now_ms());
  start_due(e, engine_now_ms());
  if (kick(e) != 0) return -1;
  drain_messages(e);
  trim_heap(e);
  return 0;
}

/* wait at most wait_ms for activity on curl's sockets, and hand curl what
** happened; a poll copy of socks, since curl changes socks as it goes */
static int wait_sockets(engine *e, long wait_ms) {
  int i, n = e->nsocks, got;
  if (n > e->cap_pfds) {
    platform_pollfd *p = (platform_pollfd *)realloc(e->pfds, (size_t)n * sizeof *p);
    if (p == NULL) return -1;
    e->pfds = p;
    e->cap_pfds = n;
  }
  for (i = 0; i < n; i++) {
    int what = e->socks[i].what;
    e->pfds[i].fd = e->socks[i].fd;
    e->pfds[i].events = (short)(((what & CURL_POLL_IN) ? POLLIN : 0) |
                                ((what & CURL_POLL_OUT) ? POLLOUT : 0));
    e->pfds[i].revents = 0;
  }
  got = platform_poll(e->pfds, n, wait_ms);
  if (got < 0) return -1;
  for (i = 0; i < n && got > 0; i++) {
    short r = e->pfds[i].revents;
    int mask = 0;
    if (r == 0) continue;
    got--;
    if (r & (POLLIN | POLLHUP)) mask |= CURL_CSELECT_IN;
    if (r & POLLOUT) mask |= CURL_CSELECT_OUT;
    if (r & (POLLERR | POLLNVAL)) mask |= CURL_CSELECT_ERR;
    if (act(e, e->pfds[i].fd, mask) != 0) return -1;
  }
  return 0;
}

static int count_ready(const engine *e) {
  const transfer *t;
  int n = 0;
  for (t = e->ready; t != NULL; t = t->next_ready) n++;
  return n;
}

/* something is in flight or waiting for its attempt */
static int busy(const engine *e) {
  const transfer *t;
  if (e->running > 0) return 1;
  for (t = e->live; t != NULL; t = t->next)
    if (t->state == T_WAITING && !t->wants_key) return 1;
  return 0;
}

int engine_step_for(engine *e, long max_wait_ms, const transfer *target) {
  if (e->closed) return -1;
  if (pump(e, CURL_SOCKET_BAD, 0) != 0) return -1;
  if ((target ? !transfer_ready(target) : e->ready == NULL) && busy(e)) {
    long wait = timers_wait(e);     /* not engine_timeout: waiting for target,
                                       the others' readiness must not make it 0 */
    if (wait < 0 || wait > MAX_POLL_MS) wait = MAX_POLL_MS;
    if (max_wait_ms >= 0 && max_wait_ms < wait) wait = max_wait_ms;
    if (wait_sockets(e, wait) != 0) return -1;
    if (pump(e, CURL_SOCKET_BAD, 0) != 0) return -1;
  }
  return count_ready(e);
}

int engine_step(engine *e, long max_wait_ms) {
  return engine_step_for(e, max_wait_ms, NULL);
}

int engine_socket_action(engine *e, curl_socket_t fd, int readable, int writable) {
  int mask = (readable ? CURL_CSELECT_IN : 0) | (writable ? CURL_CSELECT_OUT : 0);
  if (e->closed) return -1;
  if (pump(e, fd, mask) != 0) return -1;
  return count_ready(e);
}

/* }================================================================== */
