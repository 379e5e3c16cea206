/*
** fuzz_http1.c: libFuzzer target for the HTTP/1.1 response parser
** (src/http1.c).
**
** Input: byte 0 picks the caps, byte 1 the request method (HEAD or not),
** whether the connection ends after the bytes (http1_finish) and when a
** callback stops the parse, bytes 2 and 3 two split points; the rest is
** the response. It is parsed whole, split at the two points and byte by
** byte: every way must give the same events and body (compared by hash),
** the same result, done and keep-alive verdicts. Invariants: the line
** buffer never passes the line cap, body calls are never empty, keep-alive
** implies done. Any difference calls abort().
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct run {
  uint64_t events, body;  /* hashes */
  unsigned long calls, stop_at;
} run;

static uint64_t mix(uint64_t h, const void *p, size_t n) {
  const unsigned char *s = (const unsigned char *)p;
  size_t i;
  for (i = 0; i < n; i++) { h ^= s[i]; h *= 1099511628211ULL; }
  return h;
}

static int tick(run *r, int tag) {
  r->events = mix(r->events, &tag, sizeof tag);
  return r->stop_at != 0 && ++r->calls == r->stop_at;
}

static int on_status(void *ud, int minor, int status, const char *s, size_t n) {
  run *r = (run *)ud;
  if (minor < 0 || minor > 9 || status < 200 || status > 999) abort();
  r->events = mix(r->events, &minor, sizeof minor);
  r->events = mix(r->events, &status, sizeof status);
  r->events = mix(r->events, s, n);
  return tick(r, 1);
}

static int on_header(void *ud, const char *n, size_t nn, const char *v, size_t vn) {
  run *r = (run *)ud;
  if (nn == 0 || memchr(v, '\r', vn) != NULL || memchr(v, '\n', vn) != NULL) abort();
  r->events = mix(r->events, n, nn);
  r->events = mix(r->events, &nn, sizeof nn);
  r->events = mix(r->events, v, vn);
  return tick(r, 2);
}

static int on_headers_done(void *ud) {
  return tick((run *)ud, 3);
}

static int on_body(void *ud, const char *b, size_t n) {
  run *r = (run *)ud;
  if (n == 0) abort();
  r->body = mix(r->body, b, n);
  return 0;
}

static int on_done(void *ud) {
  return tick((run *)ud, 4);
}

typedef struct result {
  run r;
  int rc, done, keepalive;
} result;

static void parse(const char *s, size_t n, const size_t *cuts, int ncuts, int head, int eof,
                  size_t max_head, size_t max_line, unsigned long stop_at, result *out) {
  http1_parser p;
  http1_callbacks cb = { on_status, on_header, on_headers_done, on_body, on_done, NULL };
  size_t at = 0;
  int i, rc = HTTP1_OK;
  memset(out, 0, sizeof *out);
  out->r.stop_at = stop_at;
  cb.ud = &out->r;
  http1_init(&p, head, max_head, max_line);
  for (i = 0; i <= ncuts && rc == HTTP1_OK; i++) {
    size_t to = i < ncuts ? cuts[i] : n;
    rc = http1_feed(&p, s + at, to - at, &cb);
    at = to;
    if (p.line.len > p.max_line || (p.line.data != NULL && p.line.cap > p.max_line + 1)) abort();
  }
  if (rc == HTTP1_OK && eof) rc = http1_finish(&p, &cb);
  out->rc = rc;
  out->done = http1_done(&p);
  out->keepalive = http1_keepalive(&p);
  if (out->keepalive && !out->done) abort();
  if (out->done && rc != HTTP1_OK) abort();
  if (http1_message(rc) == NULL || http1_code_name(rc) == NULL) abort();
  http1_free(&p);
}

static int same(const result *a, const result *b) {
  return a->rc == b->rc && a->done == b->done && a->keepalive == b->keepalive &&
         a->r.events == b->r.events && a->r.body == b->r.body;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  result whole, other;
  size_t n, cuts[2], *each, i;
  size_t max_head, max_line;
  const char *s;
  int head, eof;
  unsigned long stop_at;
  if (size < 4) return 0;
  max_head = data[0] < 128 ? 0 : (size_t)(data[0] & 0x0F) * 16 + 1;
  max_line = data[0] < 128 ? 0 : (size_t)(data[0] >> 4 & 0x07) * 8 + 1;
  head = data[1] & 1;
  eof = (data[1] >> 1) & 1;
  stop_at = (unsigned long)(data[1] >> 2) % 16;
  s = (const char *)data + 4;
  n = size - 4;
  cuts[0] = (size_t)data[2] * (n + 1) / 256;
  cuts[1] = (size_t)data[3] * (n + 1) / 256;
  if (cuts[0] > cuts[1]) { size_t t = cuts[0]; cuts[0] = cuts[1]; cuts[1] = t; }

  parse(s, n, NULL, 0, head, eof, max_head, max_line, stop_at, &whole);
  parse(s, n, cuts, 2, head, eof, max_head, max_line, stop_at, &other);
  if (!same(&whole, &other)) abort();
  each = (size_t *)malloc((n + 1) * sizeof *each);
  if (each == NULL) return 0;
  for (i = 0; i < n; i++) each[i] = i + 1;
  parse(s, n, each, (int)n, head, eof, max_head, max_line, stop_at, &other);
  free(each);
  if (!same(&whole, &other)) abort();
  return 0;
}
