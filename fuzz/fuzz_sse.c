/*
** fuzz_sse.c: libFuzzer target for the SSE parser (src/sse.c).
**
** Input: byte 0 picks the event cap, byte 1 when emit aborts, bytes 2 and 3
** two split points; the rest is the stream. The stream is parsed whole,
** byte by byte, split at the two points, and again after sse_reset; every
** way must give the same events (compared by hash), the same result and the
** same sse_pending, and all must match a slow byte-at-a-time reference
** model written independently here. Any difference calls abort().
**
**   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc \
**     fuzz/fuzz_sse.c src/sse.c src/buf.c -o build/fuzz_sse
*/
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct run {
  uint64_t hash;
  unsigned long n;
  unsigned long abort_at;  /* 0: never */
  size_t cap;              /* effective cap */
} run;

static uint64_t mix(uint64_t h, const void *p, size_t n) {
  const unsigned char *s = (const unsigned char *)p;
  size_t i;
  for (i = 0; i < n; i++) { h ^= s[i]; h *= 1099511628211ULL; }
  return h;
}

static uint64_t mix_field(uint64_t h, const char *s, size_t n) {
  uint64_t len = n;
  h = mix(h, &len, sizeof len);
  return mix(h, s, n);
}

static uint64_t hash_event(uint64_t h, const char *ev, size_t evn, const char *d, size_t dn,
                           const char *id, size_t idn, long retry) {
  h = mix_field(h, ev, evn);
  h = mix_field(h, d, dn);
  h = mix_field(h, id, idn);
  return mix(h, &retry, sizeof retry);
}

static int on_event(void *ud, const sse_event *e) {
  run *r = (run *)ud;
  if (e->data_len == 0) abort();                       /* empty data dispatched */
  if (e->data_len > r->cap || e->event_len > r->cap || e->id_len > r->cap) abort();
  if (e->event == NULL || e->data == NULL || e->id == NULL) abort();
  if (e->retry < -1) abort();
  r->hash = hash_event(r->hash, e->event, e->event_len, e->data, e->data_len, e->id, e->id_len,
                       e->retry);
  r->n++;
  return r->abort_at != 0 && r->n == r->abort_at;
}

/* ---- the reference model: one byte at a time, whole input at once ---- */

typedef struct ref {
  char *line, *data, *event, *id;
  size_t line_n, data_n, event_n, id_n;
  int has_data;
  long retry;
  run *r;
} ref;

static int ref_dispatch(ref *m) {
  int stop = 0;
  if (m->data_n > 0) {
    if (m->data_n > m->r->cap) abort();
    m->r->hash = hash_event(m->r->hash, m->event, m->event_n, m->data, m->data_n, m->id, m->id_n,
                            m->retry);
    m->r->n++;
    stop = m->r->abort_at != 0 && m->r->n == m->r->abort_at;
  }
  m->data_n = 0;
  m->event_n = 0;
  m->has_data = 0;
  return stop;
}

static int ref_line(ref *m) {
  size_t i, colon = m->line_n, vstart;
  const char *v;
  size_t vn;
  if (m->line_n + m->data_n > m->r->cap) return SSE_TOO_LARGE;
  if (m->line_n == 0) return ref_dispatch(m) ? SSE_ABORTED : SSE_OK;
  if (m->line[0] == ':') return SSE_OK;
  for (i = 0; i < m->line_n; i++)
    if (m->line[i] == ':') { colon = i; break; }
  vstart = colon < m->line_n ? colon + 1 : m->line_n;
  if (vstart < m->line_n && m->line[vstart] == ' ') vstart++;
  v = m->line + vstart;
  vn = m->line_n - vstart;
  if (colon == 4 && memcmp(m->line, "data", 4) == 0) {
    if (m->has_data) m->data[m->data_n++] = '\n';
    memcpy(m->data + m->data_n, v, vn);
    m->data_n += vn;
    m->has_data = 1;
  } else if (colon == 5 && memcmp(m->line, "event", 5) == 0) {
    memcpy(m->event, v, vn);
    m->event_n = vn;
  } else if (colon == 2 && memcmp(m->line, "id", 2) == 0) {
    int nul = 0;
    for (i = 0; i < vn; i++) nul |= v[i] == '\0';
    if (!nul) { memcpy(m->id, v, vn); m->id_n = vn; }
  } else if (colon == 5 && memcmp(m->line, "retry", 5) == 0) {
    unsigned long long x = 0;
    int ok = vn > 0;
    for (i = 0; i < vn && ok; i++) {
      if (v[i] < '0' || v[i] > '9') ok = 0;
      else if (x <= ULLONG_MAX / 16) x = x * 10 + (unsigned long long)(v[i] - '0');
      else x = ULLONG_MAX;  /* already far above LONG_MAX */
    }
    if (x > (unsigned long long)LONG_MAX) x = (unsigned long long)LONG_MAX;  /* saturate */
    if (ok) m->retry = (long)x;
  }
  return SSE_OK;
}

/* returns the result; *pending the model's sse_pending */
static int ref_run(const char *s, size_t n, run *r, int *pending) {
  ref m;
  size_t i = 0;
  int rc = SSE_OK;
  memset(&m, 0, sizeof m);
  m.retry = -1;
  m.r = r;
  m.line = (char *)malloc(n + 1);
  m.data = (char *)malloc(2 * n + 2);
  m.event = (char *)malloc(n + 1);
  m.id = (char *)malloc(n + 1);
  if (!m.line || !m.data || !m.event || !m.id) abort();
  *pending = 0;
  if (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) i = 3;
  else if (n > 0 && memcmp(s, "\xEF\xBB\xBF", n < 3 ? n : 3) == 0) *pending = 1;
  for (; i < n && rc == SSE_OK; i++) {
    if (s[i] == '\r' || s[i] == '\n') {
      rc = ref_line(&m);
      m.line_n = 0;
      if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n') i++;
    } else {
      m.line[m.line_n++] = s[i];
    }
  }
  if (rc == SSE_OK && m.line_n + m.data_n > r->cap) rc = SSE_TOO_LARGE;
  if (m.line_n > 0 || m.has_data || m.event_n > 0) *pending = 1;
  free(m.line); free(m.data); free(m.event); free(m.id);
  return rc;
}

/* ---- the parser under test ---- */

static int feed_cuts(sse_parser *p, const char *s, size_t n, const size_t *cuts, int ncuts,
                     run *r) {
  size_t at = 0;
  int i, rc = SSE_OK;
  for (i = 0; i <= ncuts && rc == SSE_OK; i++) {
    size_t to = i < ncuts ? cuts[i] : n;
    rc = sse_feed(p, s + at, to - at, on_event, r);
    at = to;
  }
  return rc;
}

static void check_mem(const sse_parser *p) {
  size_t lim = p->max_event + 1;
  if (p->line.cap > lim || p->data.cap > lim || p->event.cap > lim || p->id.cap > lim) abort();
  if (p->line.len + p->data.len > p->max_event) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  sse_parser p;
  run base, r;
  size_t cap, n, cuts[2], i;
  const char *s;
  int rc0, rc, pend0, pend;
  if (size < 4) return 0;
  cap = data[0] < 16 ? 0 : (size_t)(data[0] - 15) * 3;  /* 0: default 16 MiB */
  memset(&base, 0, sizeof base);
  base.abort_at = data[1] % 8;
  s = (const char *)data + 4;
  n = size - 4;
  cuts[0] = (size_t)data[2] * (n + 1) / 256;
  cuts[1] = (size_t)data[3] * (n + 1) / 256;
  if (cuts[0] > cuts[1]) { size_t t = cuts[0]; cuts[0] = cuts[1]; cuts[1] = t; }

  /* whole */
  sse_init(&p, cap);
  base.cap = p.max_event;
  r = base;
  rc0 = sse_feed(&p, s, n, on_event, &r);
  pend0 = sse_pending(&p);
  check_mem(&p);
  base.hash = r.hash;
  base.n = r.n;

  /* after reset, with the memory kept: same again */
  sse_reset(&p);
  r = base; r.hash = 0; r.n = 0;
  rc = sse_feed(&p, s, n, on_event, &r);
  if (rc != rc0 || r.hash != base.hash || r.n != base.n) abort();
  if (rc0 == SSE_OK && sse_pending(&p) != pend0) abort();
  sse_free(&p);

  /* split at the two points (in three pieces, some maybe empty) */
  sse_init(&p, cap);
  r = base; r.hash = 0; r.n = 0;
  rc = feed_cuts(&p, s, n, cuts, 2, &r);
  if (rc != rc0 || r.hash != base.hash || r.n != base.n) abort();
  if (rc0 == SSE_OK && sse_pending(&p) != pend0) abort();
  check_mem(&p);
  sse_free(&p);

  /* byte by byte */
  sse_init(&p, cap);
  r = base; r.hash = 0; r.n = 0;
  rc = SSE_OK;
  for (i = 0; i < n && rc == SSE_OK; i++) {
    rc = sse_feed(&p, s + i, 1, on_event, &r);
    check_mem(&p);
  }
  if (rc != rc0 || r.hash != base.hash || r.n != base.n) abort();
  if (rc0 == SSE_OK && sse_pending(&p) != pend0) abort();
  sse_free(&p);
  sse_free(&p);

  /* the reference model */
  r = base; r.hash = 0; r.n = 0;
  rc = ref_run(s, n, &r, &pend);
  if (rc != rc0 || r.n != base.n || r.hash != base.hash) abort();
  if (rc0 == SSE_OK && pend != pend0) abort();
  return 0;
}
