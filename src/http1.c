/*
** http1.c: incremental HTTP/1.1 response parser (see http1.h).
**
** Line states (status line, headers, chunk size, trailers) look for the LF
** with memchr; a line wholly inside the chunk is handled in place, only an
** unfinished tail is copied into p->line. Body states hand the caller
** pointers into the chunk itself.
**
** Size caps, the same whatever the split: a line of L bytes (LF excluded)
** fails as soon as L > min(room, max_line), where room is what is left of
** max_head; the error is "head too large" when room <= max_line, else "line
** too long". A complete line fails also when its LF passes max_head. A
** partial line is checked with the same test, so it fails exactly when the
** whole line would, with the same code.
*/
#include <string.h>

#include "http1.h"

#define DEFAULT_MAX_HEAD ((size_t)256 * 1024)
#define DEFAULT_MAX_LINE ((size_t)100 * 1024)
#define MAX_CHUNK_DIGITS 15  /* < 2^60 bytes: no overflow anywhere */
#define MAX_LENGTH_DIGITS 18

enum { S_STATUS, S_HEADER, S_LENGTH, S_CLOSE, S_CHUNK_SIZE, S_CHUNK_DATA, S_CHUNK_END,
       S_TRAILER, S_DONE };

static const char *const messages[HTTP1_NCODES] = {
  "ok",
  "the response status line is not HTTP/1.x with a 3-digit status",
  "a response header line is malformed",
  "the response Content-Length is invalid or conflicting",
  "the response Transfer-Encoding is not chunked",
  "a chunk of the response body is malformed",
  "a response line is longer than the limit",
  "the response headers are larger than the limit",
  "the connection closed before the response was complete",
  "the connection closed before any response",
  "not enough memory",
  "the parser was stopped"
};

static const char *const names[HTTP1_NCODES] = {
  "ok", "bad_status", "bad_header", "bad_length", "bad_encoding", "bad_chunk",
  "line_too_long", "head_too_large", "truncated", "no_response", "nomem", "aborted"
};

const char *http1_message(int code) {
  return code >= 0 && code < HTTP1_NCODES ? messages[code] : "unknown error";
}

const char *http1_code_name(int code) {
  return code >= 0 && code < HTTP1_NCODES ? names[code] : "unknown";
}

/* {=================================================================
** character classes
** ================================================================== */

static char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static int is_ows(char c) {
  return c == ' ' || c == '\t';
}

/* a control byte other than HTAB (CR, LF, NUL, DEL included) */
static int is_ctl(char c) {
  unsigned char u = (unsigned char)c;
  return (u < 0x20 && u != '\t') || u == 0x7F;
}

static int no_ctl(const char *s, size_t n) {
  size_t i;
  for (i = 0; i < n; i++)
    if (is_ctl(s[i])) return 0;
  return 1;
}

/* RFC 9110 tchar */
static int is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return 1;
  return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int is_digit(char c) {
  return c >= '0' && c <= '9';
}

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = lower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* [s, s+n) equals the lowercase word w, case-insensitively */
static int equals_ci(const char *s, size_t n, const char *w) {
  size_t i;
  if (strlen(w) != n) return 0;
  for (i = 0; i < n; i++)
    if (lower(s[i]) != w[i]) return 0;
  return 1;
}

/* }================================================================== */


/* {=================================================================
** header values that decide the framing
** ================================================================== */

/* call f on each element of a comma-separated list, trimmed; empty
** elements are skipped (RFC 9110 list rule) */
static int each_element(http1_parser *p, const char *v, size_t n,
                        int (*f)(http1_parser *, const char *, size_t)) {
  size_t i = 0, start, end;
  while (i <= n) {
    start = i;
    while (i < n && v[i] != ',') i++;
    end = i;
    while (start < end && is_ows(v[start])) start++;
    while (end > start && is_ows(v[end - 1])) end--;
    if (end > start) {
      int rc = f(p, v + start, end - start);
      if (rc != HTTP1_OK) return rc;
    }
    i++;
  }
  return HTTP1_OK;
}

static int length_element(http1_parser *p, const char *s, size_t n) {
  uint64_t v = 0;
  size_t i;
  if (n > MAX_LENGTH_DIGITS) return HTTP1_BAD_LENGTH;
  for (i = 0; i < n; i++) {
    if (!is_digit(s[i])) return HTTP1_BAD_LENGTH;
    v = v * 10 + (uint64_t)(s[i] - '0');
  }
  if (p->has_length && p->length != v) return HTTP1_BAD_LENGTH;
  p->has_length = 1;
  p->length = v;
  return HTTP1_OK;
}

static int coding_element(http1_parser *p, const char *s, size_t n) {
  if (equals_ci(s, n, "chunked")) p->chunked++;
  else p->other_coding = 1;
  return HTTP1_OK;
}

static int connection_element(http1_parser *p, const char *s, size_t n) {
  if (equals_ci(s, n, "close")) p->conn_close = 1;
  return HTTP1_OK;
}

/* a list value with no element at all ("", " , ") */
static int no_element(const char *v, size_t n) {
  size_t i;
  for (i = 0; i < n; i++)
    if (!is_ows(v[i]) && v[i] != ',') return 0;
  return 1;
}

static int framing_header(http1_parser *p, const char *name, size_t nn, const char *v,
                          size_t vn) {
  if (equals_ci(name, nn, "content-length")) {
    if (no_element(v, vn)) return HTTP1_BAD_LENGTH;
    return each_element(p, v, vn, length_element);
  }
  if (equals_ci(name, nn, "transfer-encoding")) {
    if (no_element(v, vn)) p->other_coding = 1;
    return each_element(p, v, vn, coding_element);
  }
  if (equals_ci(name, nn, "connection")) return each_element(p, v, vn, connection_element);
  return HTTP1_OK;
}

/* }================================================================== */


/* {=================================================================
** lines
** ================================================================== */

#define CALL(cb, f, ...) ((cb) != NULL && (cb)->f != NULL && (cb)->f((cb)->ud, __VA_ARGS__) != 0)
#define CALL0(cb, f) ((cb) != NULL && (cb)->f != NULL && (cb)->f((cb)->ud) != 0)

static int finish_message(http1_parser *p, const http1_callbacks *cb) {
  p->state = S_DONE;
  return CALL0(cb, on_done) ? HTTP1_ABORTED : HTTP1_OK;
}

static int status_line(http1_parser *p, const char *s, size_t n, const http1_callbacks *cb) {
  int status;
  if (n < 12 || memcmp(s, "HTTP/1.", 7) != 0 || !is_digit(s[7]) || s[8] != ' ' ||
      s[9] < '1' || s[9] > '9' || !is_digit(s[10]) || !is_digit(s[11]) ||
      (n > 12 && s[12] != ' ') || !no_ctl(s, n))
    return HTTP1_BAD_STATUS;
  status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
  if (status == 101) return HTTP1_BAD_STATUS;
  p->state = S_HEADER;
  if (status < 200) {
    p->interim = 1;
    return HTTP1_OK;
  }
  p->minor = s[7] - '0';
  p->status = status;
  if (CALL(cb, on_status, p->minor, status, n > 12 ? s + 13 : "", n > 12 ? n - 13 : 0))
    return HTTP1_ABORTED;
  return HTTP1_OK;
}

/* split and check "name: value"; *value trimmed */
static int split_header(const char *s, size_t n, size_t *name_len, const char **value,
                        size_t *value_len) {
  size_t i = 0, vs, ve;
  while (i < n && is_tchar(s[i])) i++;
  if (i == 0 || i == n || s[i] != ':') return HTTP1_BAD_HEADER;
  *name_len = i;
  vs = i + 1;
  ve = n;
  while (vs < ve && is_ows(s[vs])) vs++;
  while (ve > vs && is_ows(s[ve - 1])) ve--;
  if (!no_ctl(s + vs, ve - vs)) return HTTP1_BAD_HEADER;
  *value = s + vs;
  *value_len = ve - vs;
  return HTTP1_OK;
}

static int headers_done(http1_parser *p, const http1_callbacks *cb) {
  if (p->interim) {  /* the end of a 1xx: the real response follows */
    p->interim = 0;
    p->state = S_STATUS;
    return HTTP1_OK;
  }
  if (p->other_coding || p->chunked > 1) return HTTP1_BAD_ENCODING;
  if (CALL0(cb, on_headers_done)) return HTTP1_ABORTED;
  if (p->head_request || p->status == 204 || p->status == 304) {
    p->framing = HTTP1_NO_BODY;
    return finish_message(p, cb);
  }
  if (p->chunked) {
    p->framing = HTTP1_CHUNKED;
    p->ambiguous = p->has_length;
    p->state = S_CHUNK_SIZE;
  } else if (p->has_length) {
    p->framing = HTTP1_LENGTH;
    p->remaining = p->length;
    p->state = S_LENGTH;
    if (p->remaining == 0) return finish_message(p, cb);
  } else {
    p->framing = HTTP1_CLOSE;
    p->state = S_CLOSE;
  }
  return HTTP1_OK;
}

static int header_line(http1_parser *p, const char *s, size_t n, const http1_callbacks *cb) {
  size_t nn, vn;
  const char *v;
  int rc;
  if (n == 0) return headers_done(p, cb);
  if ((rc = split_header(s, n, &nn, &v, &vn)) != HTTP1_OK) return rc;
  if (p->interim) return HTTP1_OK;  /* checked, dropped */
  if ((rc = framing_header(p, s, nn, v, vn)) != HTTP1_OK) return rc;
  if (CALL(cb, on_header, s, nn, v, vn)) return HTTP1_ABORTED;
  return HTTP1_OK;
}

static int chunk_size_line(http1_parser *p, const char *s, size_t n, const http1_callbacks *cb) {
  size_t i = 0;
  uint64_t size = 0;
  int d;
  (void)cb;
  while (i < n && (d = hex_value(s[i])) >= 0) {
    if (i == MAX_CHUNK_DIGITS) return HTTP1_BAD_CHUNK;
    size = size * 16 + (uint64_t)d;
    i++;
  }
  if (i == 0) return HTTP1_BAD_CHUNK;
  /* what follows the size: nothing, or an extension (checked, ignored) */
  if (i < n) {
    size_t j = i;
    while (j < n && is_ows(s[j])) j++;
    if (j == n || s[j] != ';' || !no_ctl(s + j, n - j)) return HTTP1_BAD_CHUNK;
  }
  if (size == 0) {
    p->head_bytes = 0;  /* the trailer block has the same budget as the head */
    p->state = S_TRAILER;
    return HTTP1_OK;
  }
  p->remaining = size;
  p->state = S_CHUNK_DATA;
  return HTTP1_OK;
}

static int trailer_line(http1_parser *p, const char *s, size_t n, const http1_callbacks *cb) {
  size_t nn, vn;
  const char *v;
  if (n == 0) return finish_message(p, cb);
  return split_header(s, n, &nn, &v, &vn);
}

/* one complete line, its LF excluded (a CR before it is stripped here) */
static int line(http1_parser *p, const char *s, size_t n, const http1_callbacks *cb) {
  if (n > 0 && s[n - 1] == '\r') n--;
  switch (p->state) {
  case S_STATUS: return status_line(p, s, n, cb);
  case S_HEADER: return header_line(p, s, n, cb);
  case S_CHUNK_SIZE: return chunk_size_line(p, s, n, cb);
  default: return trailer_line(p, s, n, cb);
  }
}

/* the cap test on a line of len bytes so far (see the top comment);
** complete: its LF was seen too */
static int line_cap(const http1_parser *p, size_t len, int complete) {
  int counted = p->state != S_CHUNK_SIZE;
  size_t room = counted ? p->max_head - p->head_bytes : (size_t)-1;
  size_t lim = room < p->max_line ? room : p->max_line;
  if (len > lim) return room <= p->max_line ? HTTP1_HEAD_TOO_LARGE : HTTP1_LINE_TOO_LONG;
  if (complete && counted && len + 1 > room) return HTTP1_HEAD_TOO_LARGE;
  return HTTP1_OK;
}

/* take bytes of a line from buf[*pos..len); handle the line when its LF is there */
static int line_step(http1_parser *p, const char *buf, size_t len, size_t *pos,
                     const http1_callbacks *cb) {
  const char *s = buf + *pos;
  size_t avail = len - *pos, n, total;
  const char *lf = (const char *)memchr(s, '\n', avail);
  int rc;
  if (lf == NULL) {
    if ((rc = line_cap(p, p->line.len + avail, 0)) != HTTP1_OK) return rc;
    if (obuf_append_max(&p->line, s, avail, p->max_line) != 0) return HTTP1_NOMEM;
    *pos = len;
    return HTTP1_OK;
  }
  n = (size_t)(lf - s);
  total = p->line.len + n;
  if ((rc = line_cap(p, total, 1)) != HTTP1_OK) return rc;
  if (p->state != S_CHUNK_SIZE) p->head_bytes += total + 1;
  *pos += n + 1;
  if (p->line.len == 0) return line(p, s, n, cb);
  if (obuf_append_max(&p->line, s, n, p->max_line) != 0) return HTTP1_NOMEM;
  rc = line(p, p->line.data, p->line.len, cb);
  obuf_clear(&p->line);
  return rc;
}

/* body bytes of a length-delimited piece (the whole body or one chunk) */
static int counted_step(http1_parser *p, const char *buf, size_t len, size_t *pos,
                        const http1_callbacks *cb) {
  size_t n = len - *pos;
  if ((uint64_t)n > p->remaining) n = (size_t)p->remaining;
  p->remaining -= n;
  if (CALL(cb, on_body, buf + *pos, n)) return HTTP1_ABORTED;
  *pos += n;
  if (p->remaining > 0) return HTTP1_OK;
  if (p->state == S_CHUNK_DATA) {
    p->state = S_CHUNK_END;
    p->chunk_cr = 0;
    return HTTP1_OK;
  }
  return finish_message(p, cb);
}

/* the CRLF (or LF) after the data of a chunk */
static int chunk_end_step(http1_parser *p, char c) {
  if (c == '\n') {
    p->state = S_CHUNK_SIZE;
    return HTTP1_OK;
  }
  if (c == '\r' && !p->chunk_cr) {
    p->chunk_cr = 1;
    return HTTP1_OK;
  }
  return HTTP1_BAD_CHUNK;
}

/* }================================================================== */


void http1_init(http1_parser *p, int head_request, size_t max_head, size_t max_line) {
  memset(p, 0, sizeof *p);
  obuf_init(&p->line);
  p->head_request = head_request != 0;
  p->max_head = max_head ? max_head : DEFAULT_MAX_HEAD;
  p->max_line = max_line ? max_line : DEFAULT_MAX_LINE;
  if (p->max_line > ((size_t)-1) / 2) p->max_line = ((size_t)-1) / 2;
  p->state = S_STATUS;
}

int http1_feed(http1_parser *p, const char *buf, size_t len, const http1_callbacks *cb) {
  size_t pos = 0;
  int rc = HTTP1_OK;
  if (p->error != HTTP1_OK) return p->error;
  if (len > 0) p->started = 1;
  while (pos < len && rc == HTTP1_OK) {
    switch (p->state) {
    case S_LENGTH:
    case S_CHUNK_DATA:
      rc = counted_step(p, buf, len, &pos, cb);
      break;
    case S_CLOSE:
      if (CALL(cb, on_body, buf + pos, len - pos)) rc = HTTP1_ABORTED;
      pos = len;
      break;
    case S_CHUNK_END:
      rc = chunk_end_step(p, buf[pos++]);
      break;
    case S_DONE:
      p->extra = 1;  /* nothing may follow on a connection kept alive */
      pos = len;
      break;
    default:
      rc = line_step(p, buf, len, &pos, cb);
      break;
    }
  }
  p->error = rc;
  return rc;
}

int http1_finish(http1_parser *p, const http1_callbacks *cb) {
  if (p->error != HTTP1_OK) return p->error;
  if (p->state == S_DONE) return HTTP1_OK;
  if (p->state == S_CLOSE) p->error = finish_message(p, cb);
  else p->error = p->started ? HTTP1_TRUNCATED : HTTP1_NO_RESPONSE;
  return p->error;
}

int http1_done(const http1_parser *p) {
  return p->state == S_DONE && p->error == HTTP1_OK;
}

int http1_keepalive(const http1_parser *p) {
  return http1_done(p) && p->minor >= 1 && !p->conn_close && p->framing != HTTP1_CLOSE &&
         !p->ambiguous && !p->extra;
}

void http1_free(http1_parser *p) {
  obuf_free(&p->line);
}
