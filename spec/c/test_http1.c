/*
** test_http1.c: unit tests of the incremental HTTP/1.1 response parser
** (src/http1.c). Every case is parsed whole, byte by byte, and split in two
** at every position; all must give the same events, body, result and
** keep-alive verdict as the expectation.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "http1.h"
#include "tap.h"

/* what a run produced */
typedef struct out {
  obuf trace;   /* S<minor> <status> <reason>| H<name>=<value>| E| D| */
  obuf body;
  int rc, done, keepalive, framing;
  int stop_at_header; /* on_header returns nonzero at this header (1-based), 0: never */
  int headers;
} out;

static void add(obuf *b, const char *s, size_t n) {
  if (obuf_append(b, s, n) != 0) exit(2);
}

static int on_status(void *ud, int minor, int status, const char *r, size_t rn) {
  out *o = (out *)ud;
  char tmp[64];
  int k = snprintf(tmp, sizeof tmp, "S%d %d ", minor, status);
  add(&o->trace, tmp, (size_t)k);
  add(&o->trace, r, rn);
  add(&o->trace, "|", 1);
  return 0;
}

static int on_header(void *ud, const char *n, size_t nn, const char *v, size_t vn) {
  out *o = (out *)ud;
  add(&o->trace, "H", 1);
  add(&o->trace, n, nn);
  add(&o->trace, "=", 1);
  add(&o->trace, v, vn);
  add(&o->trace, "|", 1);
  return o->stop_at_header != 0 && ++o->headers == o->stop_at_header;
}

static int on_headers_done(void *ud) {
  add(&((out *)ud)->trace, "E|", 2);
  return 0;
}

static int on_body(void *ud, const char *b, size_t n) {
  out *o = (out *)ud;
  if (n == 0) add(&o->trace, "<empty body call>", 17);
  add(&o->body, b, n);
  return 0;
}

static int on_done(void *ud) {
  add(&((out *)ud)->trace, "D|", 2);
  return 0;
}

typedef struct tcase {
  const char *name;
  const char *in;
  int head_request;
  size_t max_head, max_line;
  int eof;              /* call http1_finish after the bytes */
  int rc;
  const char *trace;
  const char *body;
  int keepalive;
} tcase;

static void out_init(out *o) {
  memset(o, 0, sizeof *o);
  obuf_init(&o->trace);
  obuf_init(&o->body);
}

static void out_free(out *o) {
  obuf_free(&o->trace);
  obuf_free(&o->body);
}

/* feed tc->in cut at cuts[0..ncuts) (increasing, 0 and len allowed) */
static void run_cuts(const tcase *tc, const size_t *cuts, int ncuts, out *o) {
  http1_parser p;
  http1_callbacks cb = { on_status, on_header, on_headers_done, on_body, on_done, NULL };
  size_t len = strlen(tc->in), at = 0;
  int i, rc = HTTP1_OK;
  cb.ud = o;
  http1_init(&p, tc->head_request, tc->max_head, tc->max_line);
  for (i = 0; i <= ncuts && rc == HTTP1_OK; i++) {
    size_t to = i < ncuts ? cuts[i] : len;
    rc = http1_feed(&p, tc->in + at, to - at, &cb);
    at = to;
  }
  if (rc == HTTP1_OK && tc->eof) rc = http1_finish(&p, &cb);
  o->rc = rc;
  o->done = http1_done(&p);
  o->keepalive = http1_keepalive(&p);
  o->framing = p.framing;
  http1_free(&p);
}

static int same(const out *a, const out *b) {
  return a->rc == b->rc && a->done == b->done && a->keepalive == b->keepalive &&
         a->trace.len == b->trace.len && a->body.len == b->body.len &&
         (a->trace.len == 0 || memcmp(a->trace.data, b->trace.data, a->trace.len) == 0) &&
         (a->body.len == 0 || memcmp(a->body.data, b->body.data, a->body.len) == 0);
}

static void check_case(const tcase *tc) {
  out whole, o;
  size_t len = strlen(tc->in), i, *cuts;
  int splits_ok = 1, bytes_ok;
  out_init(&whole);
  run_cuts(tc, NULL, 0, &whole);
  TAP_OK(whole.rc == tc->rc, "%s: result %s (want %s)", tc->name, http1_code_name(whole.rc),
         http1_code_name(tc->rc));
  TAP_EQ_STR(whole.trace.data ? whole.trace.data : "", whole.trace.len, tc->trace, "  events");
  TAP_EQ_STR(whole.body.data ? whole.body.data : "", whole.body.len, tc->body, "  body");
  TAP_EQ_LONG(whole.keepalive, tc->keepalive, "  keepalive");
  /* byte by byte */
  cuts = (size_t *)malloc((len + 1) * sizeof *cuts);
  if (cuts == NULL) exit(2);
  for (i = 0; i < len; i++) cuts[i] = i + 1;
  out_init(&o);
  run_cuts(tc, cuts, (int)len, &o);
  bytes_ok = same(&whole, &o);
  out_free(&o);
  TAP_OK(bytes_ok, "  byte by byte: same");
  /* in two, at every position */
  for (i = 0; i <= len; i++) {
    out_init(&o);
    run_cuts(tc, &i, 1, &o);
    if (!same(&whole, &o)) {
      splits_ok = 0;
      printf("# split at %lu differs: %s\n", (unsigned long)i, http1_code_name(o.rc));
    }
    out_free(&o);
  }
  TAP_OK(splits_ok, "  split at every position: same");
  free(cuts);
  out_free(&whole);
}

#define OKH "HTTP/1.1 200 OK\r\n"
#define OKT "S1 200 OK|"

static const tcase cases[] = {
  /* framing by length */
  { "content-length", OKH "Content-Length: 5\r\nX-A: b\r\n\r\nhello", 0, 0, 0, 0, HTTP1_OK,
    OKT "HContent-Length=5|HX-A=b|E|D|", "hello", 1 },
  { "length 0", OKH "Content-Length: 0\r\n\r\n", 0, 0, 0, 0, HTTP1_OK,
    OKT "HContent-Length=0|E|D|", "", 1 },
  { "length: body incomplete", OKH "Content-Length: 10\r\n\r\nhello", 0, 0, 0, 1,
    HTTP1_TRUNCATED, OKT "HContent-Length=10|E|", "hello", 0 },
  { "length: repeated identical", OKH "Content-Length: 3\r\ncontent-length: 3, 3\r\n\r\nabc",
    0, 0, 0, 0, HTTP1_OK, OKT "HContent-Length=3|Hcontent-length=3, 3|E|D|", "abc", 1 },
  { "length: conflicting", OKH "Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 0, 0, 0,
    0, HTTP1_BAD_LENGTH, OKT "HContent-Length=3|", "", 0 },
  { "length: conflicting list", OKH "Content-Length: 3, 4\r\n\r\nabcd", 0, 0, 0, 0,
    HTTP1_BAD_LENGTH, OKT, "", 0 },
  { "length: not a number", OKH "Content-Length: 3x\r\n\r\nabc", 0, 0, 0, 0, HTTP1_BAD_LENGTH,
    OKT, "", 0 },
  { "length: signed", OKH "Content-Length: +3\r\n\r\nabc", 0, 0, 0, 0, HTTP1_BAD_LENGTH, OKT,
    "", 0 },
  { "length: empty", OKH "Content-Length: \r\n\r\n", 0, 0, 0, 0, HTTP1_BAD_LENGTH, OKT, "", 0 },
  { "length: too many digits", OKH "Content-Length: 1234567890123456789\r\n\r\n", 0, 0, 0, 0,
    HTTP1_BAD_LENGTH, OKT, "", 0 },
  { "extra bytes after the body", OKH "Content-Length: 2\r\n\r\nabHTTP/1.1 200 OK\r\n", 0, 0,
    0, 0, HTTP1_OK, OKT "HContent-Length=2|E|D|", "ab", 0 },
  /* chunked */
  { "chunked", OKH "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    0, 0, 0, 0, HTTP1_OK, OKT "HTransfer-Encoding=chunked|E|D|", "hello world", 1 },
  { "chunked: hex, extensions, trailers, LF only",
    OKH "transfer-encoding: Chunked\n\nA;name=\"v\" ; x\nabcdefghij\n1f \t; e\r\n"
        "0123456789012345678901234567890\r\n0;last\r\nX-Trailer: t\r\nY: \r\n\r\n",
    0, 0, 0, 0, HTTP1_OK, OKT "Htransfer-encoding=Chunked|E|D|",
    "abcdefghij0123456789012345678901234567890", 1 },
  { "chunked: bad size", OKH "Transfer-Encoding: chunked\r\n\r\nxyz\r\n", 0, 0, 0, 0,
    HTTP1_BAD_CHUNK, OKT "HTransfer-Encoding=chunked|E|", "", 0 },
  { "chunked: 0x prefix", OKH "Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n", 0,
    0, 0, 0, HTTP1_BAD_CHUNK, OKT "HTransfer-Encoding=chunked|E|", "", 0 },
  { "chunked: size overflow", OKH "Transfer-Encoding: chunked\r\n\r\n1000000000000000\r\n", 0, 0,
    0, 0, HTTP1_BAD_CHUNK, OKT "HTransfer-Encoding=chunked|E|", "", 0 },
  { "chunked: size with junk", OKH "Transfer-Encoding: chunked\r\n\r\n5 x\r\nhello\r\n", 0, 0, 0,
    0, HTTP1_BAD_CHUNK, OKT "HTransfer-Encoding=chunked|E|", "", 0 },
  { "chunked: data not followed by CRLF", OKH "Transfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n",
    0, 0, 0, 0, HTTP1_BAD_CHUNK, OKT "HTransfer-Encoding=chunked|E|", "ab", 0 },
  { "chunked: CR CR after data", OKH "Transfer-Encoding: chunked\r\n\r\n2\r\nab\r\r\n", 0, 0, 0,
    0, HTTP1_BAD_CHUNK, OKT "HTransfer-Encoding=chunked|E|", "ab", 0 },
  { "chunked: truncated", OKH "Transfer-Encoding: chunked\r\n\r\n5\r\nhel", 0, 0, 0, 1,
    HTTP1_TRUNCATED, OKT "HTransfer-Encoding=chunked|E|", "hel", 0 },
  { "chunked: truncated in the trailers", OKH "Transfer-Encoding: chunked\r\n\r\n0\r\nX: y\r\n",
    0, 0, 0, 1, HTTP1_TRUNCATED, OKT "HTransfer-Encoding=chunked|E|", "", 0 },
  { "chunked: bad trailer", OKH "Transfer-Encoding: chunked\r\n\r\n0\r\nno colon\r\n\r\n", 0, 0,
    0, 0, HTTP1_BAD_HEADER, OKT "HTransfer-Encoding=chunked|E|", "", 0 },
  { "chunked and length: chunked wins, not kept",
    OKH "Content-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 0, 0,
    0, 0, HTTP1_OK, OKT "HContent-Length=100|HTransfer-Encoding=chunked|E|D|", "abc", 0 },
  { "other coding refused", OKH "Transfer-Encoding: gzip, chunked\r\n\r\n", 0, 0, 0, 0,
    HTTP1_BAD_ENCODING, OKT "HTransfer-Encoding=gzip, chunked|", "", 0 },
  { "chunked twice refused", OKH "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
    0, 0, 0, 0, HTTP1_BAD_ENCODING, OKT "HTransfer-Encoding=chunked|HTransfer-Encoding=chunked|",
    "", 0 },
  { "empty coding refused", OKH "Transfer-Encoding: \r\n\r\n", 0, 0, 0, 0, HTTP1_BAD_ENCODING,
    OKT "HTransfer-Encoding=|", "", 0 },
  /* close-delimited */
  { "until the end", OKH "X: y\r\n\r\nsome body", 0, 0, 0, 1, HTTP1_OK, OKT "HX=y|E|D|",
    "some body", 0 },
  { "until the end: not finished yet", OKH "\r\nsome", 0, 0, 0, 0, HTTP1_OK, OKT "E|", "some",
    0 },
  /* no body */
  { "HEAD", OKH "Content-Length: 50\r\n\r\n", 1, 0, 0, 0, HTTP1_OK, OKT "HContent-Length=50|E|D|",
    "", 1 },
  { "HEAD, chunked", OKH "Transfer-Encoding: chunked\r\n\r\n", 1, 0, 0, 0, HTTP1_OK,
    OKT "HTransfer-Encoding=chunked|E|D|", "", 1 },
  { "204", "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", 0, 0, 0, 0, HTTP1_OK,
    "S1 204 No Content|HContent-Length=5|E|D|", "", 1 },
  { "304 then bytes", "HTTP/1.1 304 Not Modified\r\n\r\nxx", 0, 0, 0, 0, HTTP1_OK,
    "S1 304 Not Modified|E|D|", "", 0 },
  /* interim responses */
  { "100 Continue skipped", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\n"
    "Link: </a>\r\nContent-Length: 9\r\n\r\n" OKH "Content-Length: 1\r\n\r\nx", 0, 0, 0, 0,
    HTTP1_OK, OKT "HContent-Length=1|E|D|", "x", 1 },
  { "101 refused", "HTTP/1.1 101 Switching Protocols\r\n\r\n", 0, 0, 0, 0, HTTP1_BAD_STATUS, "",
    "", 0 },
  /* status line */
  { "HTTP/1.0: never kept", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", 0, 0, 0, 0,
    HTTP1_OK, "S0 200 OK|HContent-Length=1|E|D|", "x", 0 },
  { "no reason phrase", "HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n", 0, 0, 0, 0, HTTP1_OK,
    "S1 404 |HContent-Length=0|E|D|", "", 1 },
  { "empty reason phrase", "HTTP/1.1 500 \r\nContent-Length: 0\r\n\r\n", 0, 0, 0, 0, HTTP1_OK,
    "S1 500 |HContent-Length=0|E|D|", "", 1 },
  { "reason with spaces and UTF-8", "HTTP/1.1 429 Too Many \xC3\xA9 Requests\r\n"
    "Content-Length: 0\r\n\r\n", 0, 0, 0, 0, HTTP1_OK,
    "S1 429 Too Many \xC3\xA9 Requests|HContent-Length=0|E|D|", "", 1 },
  { "HTTP/2 status line", "HTTP/2 200 OK\r\n\r\n", 0, 0, 0, 0, HTTP1_BAD_STATUS, "", "", 0 },
  { "two-digit status", "HTTP/1.1 20 OK\r\n\r\n", 0, 0, 0, 0, HTTP1_BAD_STATUS, "", "", 0 },
  { "four-digit status", "HTTP/1.1 2000 OK\r\n\r\n", 0, 0, 0, 0, HTTP1_BAD_STATUS, "", "", 0 },
  { "status 099", "HTTP/1.1 099 X\r\n\r\n", 0, 0, 0, 0, HTTP1_BAD_STATUS, "", "", 0 },
  { "lowercase http", "http/1.1 200 OK\r\n\r\n", 0, 0, 0, 0, HTTP1_BAD_STATUS, "", "", 0 },
  { "not HTTP at all", "SSH-2.0-OpenSSH\r\n", 0, 0, 0, 0, HTTP1_BAD_STATUS, "", "", 0 },
  { "bare CR in the status line", "HTTP/1.1 200 O\rK\r\n\r\n", 0, 0, 0, 0, HTTP1_BAD_STATUS,
    "", "", 0 },
  { "leading blank line", "\r\n" OKH "\r\n", 0, 0, 0, 0, HTTP1_BAD_STATUS, "", "", 0 },
  /* header lines */
  { "value trimmed, empty value", OKH "A:  x y \t\r\nB:\r\nC:\t\r\nContent-Length: 0\r\n\r\n",
    0, 0, 0, 0, HTTP1_OK, OKT "HA=x y|HB=|HC=|HContent-Length=0|E|D|", "", 1 },
  { "bare CR in a value", OKH "A: x\ry\r\n\r\n", 0, 0, 0, 0, HTTP1_BAD_HEADER, OKT, "", 0 },
  { "space before the colon", OKH "A : x\r\n\r\n", 0, 0, 0, 0, HTTP1_BAD_HEADER, OKT, "", 0 },
  { "no colon", OKH "A x\r\n\r\n", 0, 0, 0, 0, HTTP1_BAD_HEADER, OKT, "", 0 },
  { "empty name", OKH ": x\r\n\r\n", 0, 0, 0, 0, HTTP1_BAD_HEADER, OKT, "", 0 },
  { "obs-fold", OKH "A: x\r\n  y\r\n\r\n", 0, 0, 0, 0, HTTP1_BAD_HEADER, OKT "HA=x|", "", 0 },
  { "Connection: close", OKH "Connection: keep-alive, Close\r\nContent-Length: 1\r\n\r\nx", 0,
    0, 0, 0, HTTP1_OK, OKT "HConnection=keep-alive, Close|HContent-Length=1|E|D|", "x", 0 },
  { "Connection: closed is not close", OKH "Connection: closed\r\nContent-Length: 1\r\n\r\nx",
    0, 0, 0, 0, HTTP1_OK, OKT "HConnection=closed|HContent-Length=1|E|D|", "x", 1 },
  /* caps: 17 bytes of status line + LF-ended lines */
  { "line at the cap", OKH "A: 123456789012\r\n\r\n", 0, 0, 16, 0, HTTP1_OK,
    OKT "HA=123456789012|E|", "", 0 },
  { "line over the cap", OKH "A: 1234567890123\r\n\r\n", 0, 0, 16, 0, HTTP1_LINE_TOO_LONG, OKT,
    "", 0 },
  { "status line over the line cap", OKH "\r\n", 0, 0, 15, 0, HTTP1_LINE_TOO_LONG, "", "", 0 },
  { "head at the cap", OKH "A: 1\r\n\r\n", 0, 25, 0, 0, HTTP1_OK, OKT "HA=1|E|", "", 0 },
  { "head over the cap", OKH "A: 12\r\n\r\n", 0, 25, 0, 0, HTTP1_HEAD_TOO_LARGE, OKT "HA=12|",
    "", 0 },
  { "head cap counts the 1xx", "HTTP/1.1 100 Continue\r\n\r\n" OKH "\r\n", 0, 40, 0, 0,
    HTTP1_HEAD_TOO_LARGE, "", "", 0 },
  { "head cap reached by a long line", OKH "A: 1234567890\r\n", 0, 25, 100, 0,
    HTTP1_HEAD_TOO_LARGE, OKT, "", 0 },
  { "line cap before head cap", OKH "A: 1234567890123456\r\n", 0, 40, 16, 0,
    HTTP1_LINE_TOO_LONG, OKT, "", 0 },
  { "chunk size line cap", OKH "Transfer-Encoding: chunked\r\n\r\n1;aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n", 0, 0, 40, 0, HTTP1_LINE_TOO_LONG,
    OKT "HTransfer-Encoding=chunked|E|", "", 0 },
  { "trailer block cap", OKH "Transfer-Encoding: chunked\r\n\r\n0\r\nX: 1234567890123456789"
    "012345678901234567890123456789\r\n\r\n", 0, 50, 0, 0, HTTP1_HEAD_TOO_LARGE,
    OKT "HTransfer-Encoding=chunked|E|", "", 0 },
  /* end of connection */
  { "nothing at all", "", 0, 0, 0, 1, HTTP1_NO_RESPONSE, "", "", 0 },
  { "closed in the status line", "HTTP/1.1 2", 0, 0, 0, 1, HTTP1_TRUNCATED, "", "", 0 },
  { "closed in the headers", OKH "A: b\r\n", 0, 0, 0, 1, HTTP1_TRUNCATED, OKT "HA=b|", "", 0 },
  { "finish after a complete message", OKH "Content-Length: 0\r\n\r\n", 0, 0, 0, 1, HTTP1_OK,
    OKT "HContent-Length=0|E|D|", "", 1 },
};

/* rules that are not about one input: stickiness, aborting, finish twice */
static void t_api(void) {
  http1_parser p;
  out o;
  http1_callbacks cb = { on_status, on_header, on_headers_done, on_body, on_done, NULL };
  static const char ok[] = OKH "A: 1\r\nB: 2\r\nContent-Length: 0\r\n\r\n";
  out_init(&o);
  cb.ud = &o;
  o.stop_at_header = 1;
  http1_init(&p, 0, 0, 0);
  TAP_EQ_LONG(http1_feed(&p, ok, sizeof ok - 1, &cb), HTTP1_ABORTED, "a callback stops the parse");
  TAP_EQ_STR(o.trace.data, o.trace.len, OKT "HA=1|", "  nothing after the stop");
  TAP_EQ_LONG(http1_feed(&p, "x", 1, &cb), HTTP1_ABORTED, "  the error is sticky");
  TAP_EQ_LONG(http1_finish(&p, &cb), HTTP1_ABORTED, "  finish too");
  TAP_EQ_LONG(http1_done(&p), 0, "  not done");
  http1_free(&p);
  http1_free(&p);
  TAP_OK(p.line.data == NULL, "  free twice is harmless");
  out_free(&o);

  out_init(&o);
  cb.ud = &o;
  http1_init(&p, 0, 0, 0);
  TAP_EQ_LONG(http1_feed(&p, OKH "\r\nab", 21, &cb), HTTP1_OK, "close-delimited: feed");
  TAP_EQ_LONG(http1_done(&p), 0, "  not done before the end");
  TAP_EQ_LONG(http1_finish(&p, &cb), HTTP1_OK, "  finish");
  TAP_EQ_LONG(http1_finish(&p, &cb), HTTP1_OK, "  finish again");
  TAP_EQ_STR(o.trace.data, o.trace.len, OKT "E|D|", "  done reported once");
  TAP_EQ_LONG(p.framing, HTTP1_CLOSE, "  framing");
  http1_free(&p);
  out_free(&o);

  out_init(&o);
  cb.ud = &o;
  http1_init(&p, 0, 0, 0);
  TAP_EQ_LONG(http1_feed(&p, OKH "A: x\0y\r\n\r\n", 27, &cb), HTTP1_BAD_HEADER, "NUL in a value");
  TAP_EQ_STR(o.trace.data, o.trace.len, OKT, "  no header reported");
  http1_free(&p);
  out_free(&o);

  TAP_OK(strcmp(http1_message(HTTP1_TRUNCATED),
                "the connection closed before the response was complete") == 0, "message");
  TAP_OK(strcmp(http1_code_name(HTTP1_HEAD_TOO_LARGE), "head_too_large") == 0, "code name");
  TAP_OK(strcmp(http1_message(-1), "unknown error") == 0, "unknown code");
}

/* a large body in many chunks, split at a few positions (every position
** would be slow): the parser's memory stays the size of one line */
static void t_large(void) {
  obuf in;
  size_t i, cut;
  int ok = 1;
  obuf_init(&in);
  add(&in, OKH "Transfer-Encoding: chunked\r\n\r\n", 47);
  for (i = 0; i < 2000; i++) add(&in, "10\r\n0123456789abcdef\r\n", 22);
  add(&in, "0\r\n\r\n", 5);
  for (cut = 0; cut <= in.len; cut += 997) {
    http1_parser p;
    out o;
    http1_callbacks cb = { NULL, NULL, NULL, on_body, on_done, NULL };
    out_init(&o);
    cb.ud = &o;
    http1_init(&p, 0, 0, 64);
    if (http1_feed(&p, in.data, cut, &cb) != HTTP1_OK ||
        http1_feed(&p, in.data + cut, in.len - cut, &cb) != HTTP1_OK || !http1_keepalive(&p) ||
        o.body.len != 32000 || p.line.cap > 65)
      ok = 0;
    http1_free(&p);
    out_free(&o);
  }
  TAP_OK(ok, "2000 chunks, split every 997 bytes: 32000 body bytes, line buffer <= cap");
  obuf_free(&in);
}

int main(void) {
  size_t i;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) check_case(&cases[i]);
  t_api();
  t_large();
  return tap_done("test_http1");
}
