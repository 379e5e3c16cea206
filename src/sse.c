/*
** sse.c: incremental server-sent-events parser (see sse.h).
**
** Each chunk is scanned with memchr for the next CR and the next LF (the
** two positions are cached, so a chunk is scanned at most once for each);
** a line lying wholly inside the chunk is handled in place, and only the
** unfinished tail of a chunk is copied into p->line.
**
** Size cap: before a line (or a piece of an unfinished line) is taken,
** line bytes so far + data bytes of the current event must stay <= the cap.
** The same test is made whatever the chunking, so a stream fails at the same
** line whether it comes in one piece or byte by byte. Hence line.len +
** data.len <= max_event at all times, and every buffer is grown to at most
** max_event + 1 bytes.
*/
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "sse.h"

#define SSE_DEFAULT_MAX ((size_t)16 * 1024 * 1024)

static const char bom_bytes[3] = { '\xEF', '\xBB', '\xBF' };

/* grow b so that `extra` more bytes (plus a NUL) fit, never allocating more
** than limit + 1 bytes; the caller guarantees b->len + extra <= limit */
static int grow(obuf *b, size_t extra, size_t limit) {
  size_t need = b->len + extra + 1, cap;
  char *np;
  if (need <= b->cap) return 0;
  cap = b->cap ? b->cap : 256;
  while (cap < need) cap = (cap > ((size_t)-1) / 2) ? need : cap * 2;
  if (cap > limit + 1) cap = limit + 1;
  if (cap < need) cap = need;  /* defensive: the caller broke its promise */
  np = (char *)realloc(b->data, cap);
  if (np == NULL) return -1;
  b->data = np;
  b->cap = cap;
  return 0;
}

static int put(obuf *b, const char *s, size_t n, size_t limit) {
  if (b->len + n + 1 > b->cap && grow(b, n, limit) != 0) return -1;
  if (n > 0) memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\0';
  return 0;
}

/* replace the contents of b with s[0..n) */
static int set(obuf *b, const char *s, size_t n, size_t limit) {
  obuf_clear(b);
  if (n == 0) return 0;
  return put(b, s, n, limit);
}

static void end_event(sse_parser *p) {
  obuf_clear(&p->data);
  obuf_clear(&p->event);
  p->has_data = 0;
}

static int dispatch(sse_parser *p, sse_emit emit, void *ud) {
  sse_event ev;
  int stop;
  if (p->data.len == 0) {  /* empty data: nothing to dispatch */
    end_event(p);
    return SSE_OK;
  }
  ev.event = p->event.len ? p->event.data : "";
  ev.event_len = p->event.len;
  ev.data = p->data.data;
  ev.data_len = p->data.len;
  ev.id = p->id.len ? p->id.data : "";
  ev.id_len = p->id.len;
  ev.retry = p->retry;
  p->events++;
  stop = emit(ud, &ev);
  end_event(p);
  return stop ? SSE_ABORTED : SSE_OK;
}

/* one complete line s[0..n), without its line end */
static int line(sse_parser *p, const char *s, size_t n, sse_emit emit, void *ud) {
  const char *colon, *v;
  size_t nlen, vlen;
  if (n == 0) return dispatch(p, emit, ud);
  if (s[0] == ':') return SSE_OK;  /* comment */
  colon = (const char *)memchr(s, ':', n);
  if (colon != NULL) {
    nlen = (size_t)(colon - s);
    v = colon + 1;
    vlen = n - nlen - 1;
    if (vlen > 0 && *v == ' ') { v++; vlen--; }
  } else {
    nlen = n;
    v = s + n;
    vlen = 0;
  }
  switch (nlen) {
  case 4:
    if (memcmp(s, "data", 4) == 0) {
      if (p->has_data && put(&p->data, "\n", 1, p->max_event) != 0) return SSE_NOMEM;
      if (put(&p->data, v, vlen, p->max_event) != 0) return SSE_NOMEM;
      p->has_data = 1;
    }
    break;
  case 5:
    if (memcmp(s, "event", 5) == 0) {
      if (set(&p->event, v, vlen, p->max_event) != 0) return SSE_NOMEM;
    } else if (memcmp(s, "retry", 5) == 0 && vlen > 0) {
      long r = 0;
      size_t i;
      for (i = 0; i < vlen; i++) {
        unsigned d = (unsigned)((unsigned char)v[i] - '0');
        if (d > 9) return SSE_OK;  /* not all ASCII digits: ignored */
        r = (r > (LONG_MAX - (long)d) / 10) ? LONG_MAX : r * 10 + (long)d;  /* saturate */
      }
      p->retry = r;
    }
    break;
  case 2:
    if (s[0] == 'i' && s[1] == 'd' && (vlen == 0 || memchr(v, '\0', vlen) == NULL)) {
      if (set(&p->id, v, vlen, p->max_event) != 0) return SSE_NOMEM;
    }
    break;
  default:
    break;  /* unknown field */
  }
  return SSE_OK;
}

static size_t find(const char *buf, size_t from, size_t len, int c) {
  const char *q = (const char *)memchr(buf + from, c, len - from);
  return q ? (size_t)(q - buf) : len;
}

/* the framing, after the BOM rule */
static int feed(sse_parser *p, const char *buf, size_t len, sse_emit emit, void *ud) {
  size_t pos = 0, ncr, nlf, end, n;
  int rc;
  if (len == 0) return SSE_OK;
  if (p->last_cr) {  /* the CR of a CRLF ended the previous chunk */
    p->last_cr = 0;
    if (buf[0] == '\n') pos = 1;
  }
  ncr = find(buf, pos, len, '\r');
  nlf = find(buf, pos, len, '\n');
  while (pos < len) {
    if (ncr < pos) ncr = find(buf, pos, len, '\r');
    if (nlf < pos) nlf = find(buf, pos, len, '\n');
    end = ncr < nlf ? ncr : nlf;
    if (end == len) break;  /* no line end left in this chunk */
    n = end - pos;
    if (n > p->max_event - p->data.len - p->line.len) return SSE_TOO_LARGE;
    if (p->line.len > 0) {
      if (put(&p->line, buf + pos, n, p->max_event) != 0) return SSE_NOMEM;
      rc = line(p, p->line.data, p->line.len, emit, ud);
      obuf_clear(&p->line);
    } else {
      rc = line(p, buf + pos, n, emit, ud);
    }
    if (rc != SSE_OK) return rc;
    pos = end + 1;
    if (buf[end] == '\r') {
      if (pos == len) p->last_cr = 1;
      else if (buf[pos] == '\n') pos++;
    }
  }
  if (pos < len) {  /* keep the unfinished tail */
    n = len - pos;
    if (n > p->max_event - p->data.len - p->line.len) return SSE_TOO_LARGE;
    if (put(&p->line, buf + pos, n, p->max_event) != 0) return SSE_NOMEM;
  }
  return SSE_OK;
}

void sse_init(sse_parser *p, size_t max_event_bytes) {
  obuf_init(&p->line);
  obuf_init(&p->data);
  obuf_init(&p->event);
  obuf_init(&p->id);
  if (max_event_bytes == 0) max_event_bytes = SSE_DEFAULT_MAX;
  if (max_event_bytes > ((size_t)-1) / 2) max_event_bytes = ((size_t)-1) / 2;
  p->max_event = max_event_bytes;
  p->retry = -1;
  p->has_data = 0;
  p->last_cr = 0;
  p->started = 0;
  p->bom = 0;
  p->events = 0;
}

int sse_feed(sse_parser *p, const char *buf, size_t len, sse_emit emit, void *ud) {
  if (!p->started) {
    /* a UTF-8 BOM is skipped only at the very start, maybe split over feeds */
    while (len > 0 && p->bom < 3 && *buf == bom_bytes[p->bom]) {
      p->bom++;
      buf++;
      len--;
    }
    if (p->bom == 3) {
      p->started = 1;
    } else if (len > 0) {
      /* not a BOM: the bytes matched so far are ordinary line bytes */
      int rc;
      p->started = 1;
      rc = feed(p, bom_bytes, (size_t)p->bom, emit, ud);
      if (rc != SSE_OK) return rc;
    } else {
      return SSE_OK;
    }
  }
  return feed(p, buf, len, emit, ud);
}

int sse_pending(const sse_parser *p) {
  return p->line.len > 0 || p->has_data || p->event.len > 0 ||
         (!p->started && p->bom > 0);
}

void sse_reset(sse_parser *p) {
  obuf_clear(&p->line);
  obuf_clear(&p->data);
  obuf_clear(&p->event);
  obuf_clear(&p->id);
  p->retry = -1;
  p->has_data = 0;
  p->last_cr = 0;
  p->started = 0;
  p->bom = 0;
  p->events = 0;
}

void sse_free(sse_parser *p) {
  obuf_free(&p->line);
  obuf_free(&p->data);
  obuf_free(&p->event);
  obuf_free(&p->id);
  sse_reset(p);
}
