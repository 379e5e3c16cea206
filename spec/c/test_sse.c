/*
** test_sse.c: unit tests of the incremental SSE parser (src/sse.c).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "sse.h"
#include "tap.h"

#define MAXEV 64

/* a copy of one event */
typedef struct rec {
  char *event, *data, *id;
  size_t event_len, data_len, id_len;
  long retry;
} rec;

/* what a run produced: the first MAXEV events, and a trace of all of them */
typedef struct coll {
  rec ev[MAXEV];
  int n;          /* events seen */
  int abort_at;   /* emit returns nonzero at this event (1-based), 0: never */
  obuf trace;     /* every event, length-prefixed, for exact comparisons */
} coll;

static char *dup_bytes(const char *s, size_t n) {
  char *d = (char *)malloc(n + 1);
  if (d == NULL) { perror("malloc"); exit(2); }
  memcpy(d, s, n);
  d[n] = '\0';
  return d;
}

static void trace_field(obuf *t, char tag, const char *s, size_t n) {
  char hdr[40];
  int k = snprintf(hdr, sizeof hdr, "%c%lu:", tag, (unsigned long)n);
  if (obuf_append(t, hdr, (size_t)k) != 0 || obuf_append(t, s, n) != 0) exit(2);
}

static int collect(void *ud, const sse_event *e) {
  coll *c = (coll *)ud;
  char r[40];
  int k;
  if (c->n < MAXEV) {
    rec *x = &c->ev[c->n];
    x->event = dup_bytes(e->event, e->event_len);
    x->event_len = e->event_len;
    x->data = dup_bytes(e->data, e->data_len);
    x->data_len = e->data_len;
    x->id = dup_bytes(e->id, e->id_len);
    x->id_len = e->id_len;
    x->retry = e->retry;
  }
  c->n++;
  trace_field(&c->trace, 'E', e->event, e->event_len);
  trace_field(&c->trace, 'D', e->data, e->data_len);
  trace_field(&c->trace, 'I', e->id, e->id_len);
  k = snprintf(r, sizeof r, "R%ld;", e->retry);
  if (obuf_append(&c->trace, r, (size_t)k) != 0) exit(2);
  return c->abort_at > 0 && c->n == c->abort_at;
}

static void coll_init(coll *c) {
  memset(c, 0, sizeof *c);
  obuf_init(&c->trace);
}

static void coll_free(coll *c) {
  int i;
  for (i = 0; i < c->n && i < MAXEV; i++) {
    free(c->ev[i].event);
    free(c->ev[i].data);
    free(c->ev[i].id);
  }
  obuf_free(&c->trace);
  c->n = 0;
}

/* feed in[0..len) cut at cuts[0..ncuts) (increasing); stop at the first
** error and return it; *pending gets sse_pending at the end */
static int run_cuts(const char *in, size_t len, const size_t *cuts, int ncuts,
                    size_t cap, coll *c, int *pending) {
  sse_parser p;
  size_t at = 0;
  int i, rc = SSE_OK;
  sse_init(&p, cap);
  for (i = 0; i <= ncuts && rc == SSE_OK; i++) {
    size_t to = i < ncuts ? cuts[i] : len;
    rc = sse_feed(&p, in + at, to - at, collect, c);
    at = to;
  }
  if (pending) *pending = sse_pending(&p);
  sse_free(&p);
  return rc;
}

static int run_whole(const char *in, size_t len, size_t cap, coll *c) {
  return run_cuts(in, len, NULL, 0, cap, c, NULL);
}

static int run_str(const char *in, coll *c) {
  return run_whole(in, strlen(in), 0, c);
}

static int run_bytes(const char *in, size_t len, size_t cap, coll *c, int *pending) {
  sse_parser p;
  size_t i;
  int rc = SSE_OK;
  sse_init(&p, cap);
  for (i = 0; i < len && rc == SSE_OK; i++) rc = sse_feed(&p, in + i, 1, collect, c);
  if (pending) *pending = sse_pending(&p);
  sse_free(&p);
  return rc;
}

/* check event i of c: name, data, id, retry */
#define EV(c, i, en, dat, idv, rt) do { \
    if ((c).n > (i)) { \
      TAP_EQ_STR((c).ev[i].event, (c).ev[i].event_len, en, "  event name"); \
      TAP_EQ_STR((c).ev[i].data, (c).ev[i].data_len, dat, "  data"); \
      TAP_EQ_STR((c).ev[i].id, (c).ev[i].id_len, idv, "  id"); \
      TAP_EQ_LONG((c).ev[i].retry, rt, "  retry"); \
    } else TAP_OK(0, "event %d missing", (int)(i)); \
  } while (0)

/* one string as input, expect rc and n events */
#define RUN(in, wantn, what) \
  coll_free(&c); coll_init(&c); \
  TAP_EQ_LONG(run_str(in, &c), SSE_OK, what ": rc"); \
  TAP_EQ_LONG(c.n, wantn, what ": events")

static void t_basic(void) {
  coll c;
  coll_init(&c);
  RUN("data: hello\n\n", 1, "LF");
  EV(c, 0, "", "hello", "", -1);
  RUN("data: a\r\n\r\ndata: b\r\n\r\n", 2, "CRLF");
  EV(c, 0, "", "a", "", -1);
  EV(c, 1, "", "b", "", -1);
  RUN("data: a\rdata: b\r\revent: x\rdata: c\r\r", 2, "lone CR");
  EV(c, 0, "", "a\nb", "", -1);
  EV(c, 1, "x", "c", "", -1);
  RUN("data: a\r\ndata: b\ndata: c\r\r\ndata: d\n\r\nevent: e\rdata: f\r\n\n", 3, "mixed endings");
  EV(c, 0, "", "a\nb\nc", "", -1);
  EV(c, 1, "", "d", "", -1);
  EV(c, 2, "e", "f", "", -1);
  RUN("data: a\n\n\n\n\r\r\r\n\r\ndata: b\n\n", 2, "extra blank lines");
  EV(c, 1, "", "b", "", -1);
  RUN("data: no end", 0, "no final blank line");
  RUN("data: x\n", 0, "no blank line after data");
  coll_free(&c);
}

static void t_crlf_split(void) {
  coll c;
  sse_parser p;
  coll_init(&c);
  sse_init(&p, 0);
  /* if "\r" | "\n" were two line ends, the empty line would dispatch "a" */
  TAP_EQ_LONG(sse_feed(&p, "data: a\r", 8, collect, &c), SSE_OK, "CRLF split: feed 1");
  TAP_EQ_LONG(sse_feed(&p, "", 0, collect, &c), SSE_OK, "CRLF split: empty feed between");
  TAP_EQ_LONG(sse_feed(&p, "\ndata: b\r", 9, collect, &c), SSE_OK, "CRLF split: feed 2");
  TAP_EQ_LONG(c.n, 0, "CRLF split: no event yet");
  TAP_EQ_LONG(sse_feed(&p, "\n\r", 2, collect, &c), SSE_OK, "CRLF split: feed 3");
  TAP_EQ_LONG(c.n, 1, "CRLF split: blank CR dispatches");
  EV(c, 0, "", "a\nb", "", -1);
  TAP_EQ_LONG(sse_feed(&p, "\ndata: c\r\n\r\n", 12, collect, &c), SSE_OK, "CRLF split: feed 4");
  TAP_EQ_LONG(c.n, 2, "CRLF split: LF after blank CR is not another blank line");
  EV(c, 1, "", "c", "", -1);
  /* a CR at the end of a feed, then a non-LF: two separate line ends */
  TAP_EQ_LONG(sse_feed(&p, "data: d\r", 8, collect, &c), SSE_OK, "CR then other: feed 1");
  TAP_EQ_LONG(sse_feed(&p, "\r", 1, collect, &c), SSE_OK, "CR then other: feed 2");
  TAP_EQ_LONG(c.n, 3, "CR then CR in next feed: dispatch");
  EV(c, 2, "", "d", "", -1);
  sse_free(&p);
  coll_free(&c);
}

static void t_fields(void) {
  coll c;
  coll_init(&c);
  RUN(": ping\n\n:\n\n", 0, "comments only");
  RUN(":\ndata: x\n: comment: with colon\ndata: y\n\n", 1, "comments between data");
  EV(c, 0, "", "x\ny", "", -1);
  RUN("data: {\ndata: \"a\": 1\ndata: }\n\n", 1, "multi-line data");
  EV(c, 0, "", "{\n\"a\": 1\n}", "", -1);
  RUN("data\n\n", 0, "data without colon alone is empty");
  RUN("data\ndata\n\n", 1, "two data without colon");
  EV(c, 0, "", "\n", "", -1);
  RUN("data\ndata: x\n\n", 1, "data without colon then data");
  EV(c, 0, "", "\nx", "", -1);
  RUN("data:x\n\n", 1, "data:x");
  EV(c, 0, "", "x", "", -1);
  RUN("data:  x\n\n", 1, "data:  x");
  EV(c, 0, "", " x", "", -1);
  RUN("data: x \n\n", 1, "trailing space kept");
  EV(c, 0, "", "x ", "", -1);
  RUN("data: a:b: c\n\n", 1, "colons in value");
  EV(c, 0, "", "a:b: c", "", -1);
  RUN("data:\tx\n\n", 1, "tab not stripped");
  EV(c, 0, "", "\tx", "", -1);
  RUN("data: \n\n", 0, "data: <empty> not dispatched");
  RUN("foo: bar\nDATA: x\ndata : y\nEvent: z\nretries: 5\ndata: ok\n\n", 1, "unknown fields");
  EV(c, 0, "", "ok", "", -1);
  RUN("event: a\nevent: b\ndata: x\n\n", 1, "last event name wins");
  EV(c, 0, "b", "x", "", -1);
  RUN("event\ndata: x\n\n", 1, "event without colon: empty name");
  EV(c, 0, "", "x", "", -1);
  RUN("event: a\ndata: x\n\ndata: y\n\n", 2, "event name resets after dispatch");
  EV(c, 0, "a", "x", "", -1);
  EV(c, 1, "", "y", "", -1);
  coll_free(&c);
}

static void t_retry_id(void) {
  coll c;
  static const char nul_id[] = "id: 1\ndata: a\n\nid: 2\0x\ndata: b\n\n";
  coll_init(&c);
  RUN("retry: 1500\ndata: x\n\ndata: y\n\n", 2, "retry kept and persists");
  EV(c, 0, "", "x", "", 1500);
  EV(c, 1, "", "y", "", 1500);
  RUN("retry: 10\nretry: 15a\nretry: -1\nretry: 1.5\nretry: \nretry\nretry:  20\n"
      "retry: +3\nretry: 0x1\ndata: x\n\n", 1, "retry with non-digits ignored");
  EV(c, 0, "", "x", "", 10);
  RUN("retry:0\ndata: x\n\n", 1, "retry 0");
  EV(c, 0, "", "x", "", 0);
  RUN("retry: 007\ndata: x\n\n", 1, "retry leading zeros");
  EV(c, 0, "", "x", "", 7);
  RUN("retry: 99999999999999999999999999\ndata: x\n\n", 1, "retry overflow saturates");
  TAP_OK(c.n == 1 && c.ev[0].retry > 0, "  retry positive after overflow");
  RUN("retry: 5\n\n\ndata: x\n\n", 1, "retry outlives an undispatched event");
  EV(c, 0, "", "x", "", 5);
  RUN("id: 1\ndata: a\n\ndata: b\n\nid: 2\nevent: e\ndata: c\n\n", 3, "id persists");
  EV(c, 0, "", "a", "1", -1);
  EV(c, 1, "", "b", "1", -1);
  EV(c, 2, "e", "c", "2", -1);
  coll_free(&c); coll_init(&c);
  TAP_EQ_LONG(run_whole(nul_id, sizeof nul_id - 1, 0, &c), SSE_OK, "id with NUL: rc");
  TAP_EQ_LONG(c.n, 2, "id with NUL: events");
  EV(c, 0, "", "a", "1", -1);
  EV(c, 1, "", "b", "1", -1);
  RUN("id: 7\ndata: a\n\nid\ndata: b\n\nid: 8\n\nid:\ndata: c\n\n", 3, "empty id resets");
  EV(c, 0, "", "a", "7", -1);
  EV(c, 1, "", "b", "", -1);
  EV(c, 2, "", "c", "", -1);
  RUN("id: 9\n\ndata: a\n\n", 1, "id set by an undispatched event persists");
  EV(c, 0, "", "a", "9", -1);
  RUN("id:  x \ndata: a\n\n", 1, "id keeps spaces beyond the first");
  EV(c, 0, "", "a", " x ", -1);
  coll_free(&c);
}

static void t_empty_data(void) {
  coll c;
  coll_init(&c);
  RUN("event: foo\n\ndata: x\n\n", 1, "event without data skipped");
  EV(c, 0, "", "x", "", -1);
  RUN("event: foo\ndata:\n\ndata: y\n\n", 1, "empty data skipped, name reset");
  EV(c, 0, "", "y", "", -1);
  RUN("event: foo\nid: 3\nretry: 4\n\n", 0, "no data: nothing");
  coll_free(&c);
}

static void t_bom(void) {
  coll c;
  sse_parser p;
  int pend = 0;
  static const char s1[] = "\xEF\xBB\xBF" "data: x\n\n";
  static const char s2[] = "data: a\n\n\xEF\xBB\xBF" "data: b\n\n";
  static const char s3[] = "data: \xEF\xBB\xBF" "b\n\n";
  static const char s4[] = "\xEF\xBB\xBF\xEF\xBB\xBF" "data: x\n\n";
  static const char s5[] = "\xEF" "data: x\n\n";
  static const char s6[] = "\xEF\xBB" ":\n" "data: x\n\n";
  size_t cuts[2];
  coll_init(&c);
  RUN(s1, 1, "BOM at start skipped");
  EV(c, 0, "", "x", "", -1);
  coll_free(&c); coll_init(&c);
  cuts[0] = 1;
  TAP_EQ_LONG(run_cuts(s1, sizeof s1 - 1, cuts, 1, 0, &c, NULL), SSE_OK, "BOM split 1+2: rc");
  TAP_EQ_LONG(c.n, 1, "BOM split 1+2: events");
  EV(c, 0, "", "x", "", -1);
  coll_free(&c); coll_init(&c);
  cuts[0] = 2;
  TAP_EQ_LONG(run_cuts(s1, sizeof s1 - 1, cuts, 1, 0, &c, NULL), SSE_OK, "BOM split 2+1: rc");
  EV(c, 0, "", "x", "", -1);
  coll_free(&c); coll_init(&c);
  TAP_EQ_LONG(run_bytes(s1, sizeof s1 - 1, 0, &c, NULL), SSE_OK, "BOM byte by byte: rc");
  TAP_EQ_LONG(c.n, 1, "BOM byte by byte: events");
  EV(c, 0, "", "x", "", -1);
  RUN(s2, 1, "BOM not at start: part of the field name");
  EV(c, 0, "", "a", "", -1);
  RUN(s3, 1, "BOM inside data kept");
  EV(c, 0, "", "\xEF\xBB\xBF" "b", "", -1);
  RUN(s4, 0, "second BOM at start is not skipped");
  RUN(s5, 0, "a lone EF at start is kept (field \\xEFdata)");
  coll_free(&c); coll_init(&c);
  cuts[0] = 1;
  TAP_EQ_LONG(run_cuts(s5, sizeof s5 - 1, cuts, 1, 0, &c, NULL), SSE_OK, "EF | data split: rc");
  TAP_EQ_LONG(c.n, 0, "EF | data split: kept, no event");
  RUN(s6, 1, "EF BB at start then ':' is not a comment, line kept");
  EV(c, 0, "", "x", "", -1);
  /* pending while a BOM prefix is undecided */
  coll_free(&c); coll_init(&c);
  sse_init(&p, 0);
  TAP_EQ_LONG(sse_feed(&p, "\xEF\xBB", 2, collect, &c), SSE_OK, "partial BOM: rc");
  TAP_OK(sse_pending(&p), "partial BOM is pending");
  TAP_EQ_LONG(sse_feed(&p, "\xBF", 1, collect, &c), SSE_OK, "BOM completed: rc");
  TAP_OK(!sse_pending(&p), "full BOM is not pending");
  TAP_EQ_LONG(sse_feed(&p, "\xEF\xBB\xBF" "data: y\n\n", 12, collect, &c), SSE_OK, "BOM after BOM: rc");
  TAP_EQ_LONG(c.n, 0, "BOM after BOM is line bytes");
  sse_reset(&p);
  TAP_EQ_LONG(sse_feed(&p, "\xEF\xBB\xBF" "data: z\n\n", 12, collect, &c), SSE_OK, "BOM after reset: rc");
  TAP_EQ_LONG(c.n, 1, "BOM skipped again after reset");
  EV(c, 0, "", "z", "", -1);
  sse_free(&p);
  (void)pend;
  coll_free(&c);
}

static void t_cap(void) {
  coll c;
  sse_parser p;
  char big[4096];
  size_t i, n;
  int rc;
  coll_init(&c);
  /* a line of exactly the cap passes, one byte more fails */
  memset(big, 'x', sizeof big);
  memcpy(big, "data: ", 6);
  memcpy(big + 64, "\n\n", 2);
  TAP_EQ_LONG(run_whole(big, 66, 64, &c), SSE_OK, "cap: line == cap is fine");
  TAP_EQ_LONG(c.n, 1, "cap: line == cap dispatched");
  TAP_EQ_LONG(c.n ? (long)c.ev[0].data_len : -1, 58, "cap: data length");
  coll_free(&c); coll_init(&c);
  TAP_EQ_LONG(run_bytes(big, 66, 64, &c, NULL), SSE_OK, "cap: line == cap, bytewise");
  coll_free(&c); coll_init(&c);
  memcpy(big + 64, "x\n\n", 3);
  TAP_EQ_LONG(run_whole(big, 67, 64, &c), SSE_TOO_LARGE, "cap: line == cap + 1 whole");
  TAP_EQ_LONG(c.n, 0, "cap: nothing dispatched");
  coll_free(&c); coll_init(&c);
  TAP_EQ_LONG(run_bytes(big, 67, 64, &c, NULL), SSE_TOO_LARGE, "cap: line == cap + 1 bytewise");
  coll_free(&c); coll_init(&c);
  /* a huge single line, without an end, fed in pieces: bounded memory */
  memset(big, 'x', sizeof big);
  sse_init(&p, 1000);
  rc = SSE_OK;
  for (i = 0; i < 100 && rc == SSE_OK; i++) rc = sse_feed(&p, big, 100, collect, &c);
  TAP_EQ_LONG(rc, SSE_TOO_LARGE, "cap: huge unfinished line");
  TAP_OK(p.line.cap <= 1001 && p.data.cap <= 1001, "cap: memory bounded (line cap %lu)",
         (unsigned long)p.line.cap);
  sse_free(&p);
  sse_init(&p, 1000);
  TAP_EQ_LONG(sse_feed(&p, big, sizeof big, collect, &c), SSE_TOO_LARGE, "cap: huge line in one feed");
  TAP_OK(p.line.cap <= 1001, "cap: huge line in one feed not buffered");
  sse_free(&p);
  /* a huge comment counts as well */
  sse_init(&p, 100);
  big[0] = ':';
  TAP_EQ_LONG(sse_feed(&p, big, 200, collect, &c), SSE_TOO_LARGE, "cap: huge comment line");
  sse_free(&p);
  /* many data lines: the data of one event passes the cap */
  {
    obuf in;
    int k;
    obuf_init(&in);
    for (k = 0; k < 20; k++) obuf_append(&in, "data: 0123456789\n", 17);
    obuf_append(&in, "\n", 1);
    coll_free(&c); coll_init(&c);
    TAP_EQ_LONG(run_whole(in.data, in.len, 100, &c), SSE_TOO_LARGE, "cap: many data lines whole");
    coll_free(&c); coll_init(&c);
    TAP_EQ_LONG(run_bytes(in.data, in.len, 100, &c, NULL), SSE_TOO_LARGE, "cap: many data lines bytewise");
    /* the same lines under a larger cap pass: data is 20*10 + 19 bytes */
    coll_free(&c); coll_init(&c);
    TAP_EQ_LONG(run_whole(in.data, in.len, 235, &c), SSE_OK, "cap: many data lines under a fitting cap");
    TAP_EQ_LONG(c.n ? (long)c.ev[0].data_len : -1, 219, "cap: joined length");
    /* the cap is per event: many small events are fine */
    obuf_clear(&in);
    for (k = 0; k < 200; k++) obuf_append(&in, "data: 0123456789\n\n", 18);
    coll_free(&c); coll_init(&c);
    TAP_EQ_LONG(run_whole(in.data, in.len, 20, &c), SSE_OK, "cap: per event, not per stream");
    TAP_EQ_LONG(c.n, 200, "cap: 200 small events");
    obuf_free(&in);
  }
  /* 0 means 16 MiB */
  sse_init(&p, 0);
  TAP_EQ_LONG((long)p.max_event, 16L * 1024 * 1024, "cap: default 16 MiB");
  sse_free(&p);
  n = 0;
  (void)n;
  coll_free(&c);
}

static void t_abort(void) {
  coll c;
  sse_parser p;
  static const char in[] = "data: 1\n\ndata: 2\n\ndata: 3\n\n";
  coll_init(&c);
  c.abort_at = 1;
  TAP_EQ_LONG(run_whole(in, sizeof in - 1, 0, &c), SSE_ABORTED, "abort: rc");
  TAP_EQ_LONG(c.n, 1, "abort: stops at once");
  EV(c, 0, "", "1", "", -1);
  coll_free(&c); coll_init(&c);
  c.abort_at = 2;
  TAP_EQ_LONG(run_bytes(in, sizeof in - 1, 0, &c, NULL), SSE_ABORTED, "abort at 2 bytewise: rc");
  TAP_EQ_LONG(c.n, 2, "abort at 2 bytewise: events");
  /* usable again after sse_reset */
  coll_free(&c); coll_init(&c);
  c.abort_at = 1;
  sse_init(&p, 0);
  TAP_EQ_LONG(sse_feed(&p, in, sizeof in - 1, collect, &c), SSE_ABORTED, "abort then reset: rc");
  sse_reset(&p);
  c.abort_at = 0;
  TAP_EQ_LONG(sse_feed(&p, in, sizeof in - 1, collect, &c), SSE_OK, "after reset: rc");
  TAP_EQ_LONG(c.n, 4, "after reset: all three events");
  sse_free(&p);
  coll_free(&c);
}

static void t_pending_reset(void) {
  coll c;
  sse_parser p;
  size_t cap_before;
  coll_init(&c);
  sse_init(&p, 0);
  TAP_OK(!sse_pending(&p), "pending: fresh parser");
  sse_feed(&p, "data: x", 7, collect, &c);
  TAP_OK(sse_pending(&p), "pending: unfinished line");
  sse_feed(&p, "\n", 1, collect, &c);
  TAP_OK(sse_pending(&p), "pending: data not dispatched");
  sse_feed(&p, "\n", 1, collect, &c);
  TAP_OK(!sse_pending(&p), "pending: after dispatch");
  TAP_EQ_LONG(c.n, 1, "pending: one event");
  sse_feed(&p, "event: e\n", 9, collect, &c);
  TAP_OK(sse_pending(&p), "pending: event name seen");
  sse_feed(&p, "\n", 1, collect, &c);
  TAP_OK(!sse_pending(&p), "pending: event without data dropped");
  sse_feed(&p, "id: 5\nretry: 9\n: hi\n", 20, collect, &c);
  TAP_OK(!sse_pending(&p), "pending: id/retry/comment take effect at once");
  sse_feed(&p, "data: y\r", 8, collect, &c);
  TAP_OK(sse_pending(&p), "pending: data before a final CR");
  sse_feed(&p, "\r", 1, collect, &c);
  TAP_OK(!sse_pending(&p), "pending: a trailing CR alone is not pending");
  TAP_EQ_LONG(c.n, 2, "pending: second event");
  EV(c, 1, "", "y", "5", 9);
  /* reset: forget everything, keep the memory */
  sse_feed(&p, "data: partial line", 18, collect, &c);
  cap_before = p.line.cap;
  sse_reset(&p);
  TAP_OK(!sse_pending(&p), "reset: nothing pending");
  TAP_OK(p.line.cap == cap_before && p.line.data != NULL, "reset: memory kept");
  sse_reset(&p);
  sse_feed(&p, "data: z\n\n", 9, collect, &c);
  TAP_EQ_LONG(c.n, 3, "reset: parses again");
  EV(c, 2, "", "z", "", -1);
  sse_free(&p);
  sse_free(&p);
  TAP_OK(p.line.data == NULL && p.id.data == NULL, "free: memory released, twice is fine");
  sse_feed(&p, "data: w\n\n", 9, collect, &c);
  TAP_EQ_LONG(c.n, 4, "free: usable again");
  sse_free(&p);
  coll_free(&c);
}

static const char chat_stream[] =
  "data: {\"id\":\"chatcmpl-AB1\",\"object\":\"chat.completion.chunk\",\"created\":1717000000,"
  "\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},"
  "\"finish_reason\":null}]}\n\n"
  "data: {\"id\":\"chatcmpl-AB1\",\"object\":\"chat.completion.chunk\",\"created\":1717000000,"
  "\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"},\"finish_reason\":null}]}\n\n"
  ": keep-alive\n\n"
  "data: {\"id\":\"chatcmpl-AB1\",\"object\":\"chat.completion.chunk\",\"created\":1717000000,"
  "\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\\n\"},\"finish_reason\":null}]}\n\n"
  "data: {\"id\":\"chatcmpl-AB1\",\"object\":\"chat.completion.chunk\",\"created\":1717000000,"
  "\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
  "data: [DONE]\n\n";

static const char resp_stream[] =
  "event: response.created\n"
  "data: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"resp_1\",\"status\":\"in_progress\"}}\n\n"
  "event: response.output_text.delta\n"
  "data: {\"type\":\"response.output_text.delta\",\"sequence_number\":1,\"item_id\":\"msg_1\",\"output_index\":0,"
  "\"content_index\":0,\"delta\":\"Hi\"}\n\n"
  "event: response.output_text.delta\n"
  "data: {\"type\":\"response.output_text.delta\",\"sequence_number\":2,\"item_id\":\"msg_1\",\"output_index\":0,"
  "\"content_index\":0,\"delta\":\" there\"}\n\n"
  "event: response.completed\n"
  "data: {\"type\":\"response.completed\",\"sequence_number\":3,\"response\":{\"id\":\"resp_1\",\"status\":\"completed\"}}\n\n";

static void t_openai(void) {
  coll c;
  coll_init(&c);
  RUN(chat_stream, 5, "chat stream");
  TAP_OK(c.n == 5 && strstr(c.ev[1].data, "\"content\":\"Hel\"") != NULL &&
         c.ev[1].data[0] == '{' && c.ev[1].data[c.ev[1].data_len - 1] == '}', "chat: delta json intact");
  TAP_OK(c.n == 5 && strstr(c.ev[2].data, "lo\\n") != NULL, "chat: escaped newline stays escaped");
  EV(c, 4, "", "[DONE]", "", -1);
  TAP_OK(c.n == 5 && c.ev[0].event_len == 0, "chat: no event names");
  RUN(resp_stream, 4, "responses stream");
  TAP_OK(c.n == 4 && strcmp(c.ev[0].event, "response.created") == 0, "responses: created");
  EV(c, 1, "response.output_text.delta",
     "{\"type\":\"response.output_text.delta\",\"sequence_number\":1,\"item_id\":\"msg_1\",\"output_index\":0,"
     "\"content_index\":0,\"delta\":\"Hi\"}", "", -1);
  TAP_OK(c.n == 4 && strstr(c.ev[2].data, "\" there\"") != NULL, "responses: second delta");
  TAP_OK(c.n == 4 && strcmp(c.ev[3].event, "response.completed") == 0, "responses: completed");
  coll_free(&c);
}

/* the key property: any chunking gives the same events */
typedef struct stream_case {
  const char *name;
  const char *in;
  size_t len;
  size_t cap;
  int abort_at;
} stream_case;

static int same(const coll *a, int rca, const coll *b, int rcb) {
  return rca == rcb && a->n == b->n && a->trace.len == b->trace.len &&
         (a->trace.len == 0 || memcmp(a->trace.data, b->trace.data, a->trace.len) == 0);
}

static void t_chunking(const stream_case *sc) {
  coll whole, other;
  int rcw, rc, pw, po, bad;
  size_t i, j, cuts[2], first_bad = 0, tried;
  coll_init(&whole);
  whole.abort_at = sc->abort_at;
  rcw = run_cuts(sc->in, sc->len, NULL, 0, sc->cap, &whole, &pw);
  TAP_OK(1, "%s: whole gives rc %d, %d events", sc->name, rcw, whole.n);

  coll_init(&other);
  other.abort_at = sc->abort_at;
  rc = run_bytes(sc->in, sc->len, sc->cap, &other, &po);
  TAP_OK(same(&whole, rcw, &other, rc) && (rcw != SSE_OK || pw == po),
         "%s: byte by byte same as whole", sc->name);
  coll_free(&other);

  bad = 0;
  for (i = 0; i <= sc->len; i++) {
    coll_init(&other);
    other.abort_at = sc->abort_at;
    cuts[0] = i;
    rc = run_cuts(sc->in, sc->len, cuts, 1, sc->cap, &other, &po);
    if (!same(&whole, rcw, &other, rc) || (rcw == SSE_OK && pw != po)) {
      if (!bad) first_bad = i;
      bad++;
    }
    coll_free(&other);
  }
  TAP_OK(bad == 0, "%s: split in two at all %lu positions (%d differ, first at %lu)", sc->name,
         (unsigned long)sc->len + 1, bad, (unsigned long)first_bad);

  bad = 0;
  tried = 0;
  for (i = 0; i <= sc->len; i += 3) {
    for (j = i; j <= sc->len; j += 1 + (i + j) % 7) {
      coll_init(&other);
      other.abort_at = sc->abort_at;
      cuts[0] = i;
      cuts[1] = j;
      rc = run_cuts(sc->in, sc->len, cuts, 2, sc->cap, &other, &po);
      if (!same(&whole, rcw, &other, rc) || (rcw == SSE_OK && pw != po)) bad++;
      coll_free(&other);
      tried++;
    }
  }
  TAP_OK(bad == 0, "%s: split in three at %lu position pairs (%d differ)", sc->name,
         (unsigned long)tried, bad);
  coll_free(&whole);
}

int main(void) {
  static const char mixed[] =
    "\xEF\xBB\xBF: hello\r\nretry: 3000\r\nid: a1\r\nevent: start\r\ndata: one\r\n\r\n"
    "data: two\rdata:three\r\rdata\r\n\n"
    "event: ignored\n\nid: b2\ndata: {\"x\":[1,2]}\ndata:  four\r\n\r\n"
    "foo: bar\r: c\rdata: five\n\ndata: tail-not-dispatched";
  static const char crlf[] =
    "data: a\r\n\r\ndata: b\r\ndata: c\r\n\r\nevent: e\r\ndata: d\r\n\r\n\r\n\r\n";
  static const char cr_only[] = "data: a\r\rdata: b\rdata: c\r\revent: e\rdata: d\r\r\r";
  static const char nul_bytes[] = "id: x\0y\ndata: a\0b\n\nevent: \0\ndata: c\n\n";
  static const char half_bom[] = "\xEF\xBB" "data: x\n\ndata: y\n\n";
  static const char too_large[] =
    "data: 0123456789\n\ndata: 0123456789\ndata: 0123456789\ndata: 0123456789\n\ndata: ok\n\n";
  stream_case cases[10];
  int k = 0, i;
#define CASE(nm, s, cp, ab) do { cases[k].name = nm; cases[k].in = s; cases[k].len = sizeof s - 1; \
    cases[k].cap = cp; cases[k].abort_at = ab; k++; } while (0)
  t_basic();
  t_crlf_split();
  t_fields();
  t_retry_id();
  t_empty_data();
  t_bom();
  t_cap();
  t_abort();
  t_pending_reset();
  t_openai();
  CASE("chat stream", chat_stream, 0, 0);
  CASE("responses stream", resp_stream, 0, 0);
  CASE("mixed endings + BOM", mixed, 0, 0);
  CASE("CRLF", crlf, 0, 0);
  CASE("CR only", cr_only, 0, 0);
  CASE("NUL bytes", nul_bytes, 0, 0);
  CASE("half BOM", half_bom, 0, 0);
  CASE("too large", too_large, 30, 0);
  CASE("abort at 3", mixed, 0, 3);
  CASE("responses, small cap", resp_stream, 120, 0);
  for (i = 0; i < k; i++) t_chunking(&cases[i]);
  return tap_done("sse");
}
