/*
** check.c: checks on what the caller puts into a request line or header
** (see check.h). The path check is deliberately strict: the API key must
** stay on the configured host and nothing may be smuggled into the request
** line or the headers.
*/
#include "check.h"

#include <stdint.h>
#include <string.h>

#define R_NOT_PATH    "must be a path starting with '/'"
#define R_ABSOLUTE    "must not be an absolute or scheme-relative URL"
#define R_RAW_CTRL    "must not contain control characters, spaces or backslashes"
#define R_NON_ASCII   "must contain only ASCII characters (percent-encode the rest)"
#define R_FRAGMENT    "must not contain a fragment ('#')"
#define R_AT          "must not contain '@' before the query"
#define R_BAD_ESCAPE  "has an invalid percent-escape"
#define R_ENC_CTRL    "must not contain encoded control characters"
#define R_DOT_SEGMENT "must not contain '.' or '..' segments"
#define R_EMPTY       "must not be empty"
#define R_CRLFNUL     "must not contain CR, LF or NUL"
#define R_NOT_TOKEN   "must contain only token characters (letters, digits and !#$%&'*+-.^_`|~)"
#define R_DOT_NAME    "must not be '.' or '..'"

/* the value of a hex digit, or -1 */
static int hexval(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* the byte encoded by "%XY" at s[i] (s[i] == '%'), or -1 when not a valid escape */
static int escaped_byte(const unsigned char *s, size_t len, size_t i) {
  int hi, lo;
  if (len < 3 || i > len - 3) return -1;      /* need s[i+1] and s[i+2] */
  hi = hexval(s[i + 1]);
  lo = hexval(s[i + 2]);
  if (hi < 0 || lo < 0) return -1;
  return hi * 16 + lo;
}

/* the decoded byte at s[*i], advancing *i past it (a valid escape or a plain byte) */
static int next_decoded(const unsigned char *s, size_t len, size_t *i) {
  int c = s[*i];
  if (c == '%') {
    c = escaped_byte(s, len, *i);
    *i += 3;
  } else {
    *i += 1;
  }
  return c;
}

/* 1 when the path part s[0..len) (starting with '/', escapes known to be
** valid) has a "." or ".." segment once decoded, counting encoded '/' and
** '\' as separators too (some servers and proxies decode them) */
static int has_dot_segment(const unsigned char *s, size_t len) {
  size_t i = 1;                                  /* past the leading '/' */
  for (;;) {
    size_t dots = 0, other = 0;
    while (i < len) {
      int d = next_decoded(s, len, &i);
      if (d == '/' || d == '\\') break;         /* the next segment starts */
      if (d == '.') dots++; else other++;
    }
    if (other == 0 && (dots == 1 || dots == 2)) return 1;
    if (i >= len) return 0;
  }
}

/* 1 when s[0..len), which does not start with '/', looks like "scheme:" */
static int looks_like_scheme(const unsigned char *s, size_t len) {
  size_t i;
  for (i = 0; i < len; i++) {
    if (s[i] == ':') return 1;
    if (s[i] == '/' || s[i] == '?' || s[i] == '#') return 0;
  }
  return 0;
}

/* a raw request's url: NULL when it is a safe relative path, else a reason */
const char *check_path(const char *str, size_t len) {
  const unsigned char *s = (const unsigned char *)str;
  size_t i, path_len = len;
  int in_query = 0;

  if (s == NULL || len == 0) return R_NOT_PATH;
  if (s[0] != '/') return looks_like_scheme(s, len) ? R_ABSOLUTE : R_NOT_PATH;
  if (len >= 2 && s[1] == '/') return R_ABSOLUTE;

  for (i = 0; i < len; i++) {
    unsigned char c = s[i];
    if (c < 0x21 || c == 0x7f || c == '\\') return R_RAW_CTRL;
    if (c >= 0x80) return R_NON_ASCII;
    if (c == '#') return R_FRAGMENT;
    if (c == '?' && !in_query) { in_query = 1; path_len = i; }
    if (c == '@' && !in_query) return R_AT;
    if (c == '%') {
      int b = escaped_byte(s, len, i);
      if (b < 0) return R_BAD_ESCAPE;
      if (b < 0x20 || b == 0x7f) return R_ENC_CTRL;
      i += 2;
    }
  }
  /* "/%2F..." decodes to a scheme-relative reference */
  if (path_len >= 4 && s[1] == '%') {
    int b = escaped_byte(s, len, 1);
    if (b == '/' || b == '\\') return R_ABSOLUTE;
  }
  if (has_dot_segment(s, path_len)) return R_DOT_SEGMENT;
  return NULL;
}

/* 1 for an RFC 9110 tchar */
static int is_tchar(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return 1;
  switch (c) {
  case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
  case '-': case '.': case '^': case '_': case '`': case '|': case '~':
    return 1;
  default:
    return 0;
  }
}

/* 1 when s[0..len) holds a CR, LF or NUL */
static int has_crlfnul(const char *s, size_t len) {
  size_t i;
  for (i = 0; i < len; i++)
    if (s[i] == '\r' || s[i] == '\n' || s[i] == '\0') return 1;
  return 0;
}

/* an HTTP header name: one or more tchar */
const char *check_header_name(const char *s, size_t len) {
  size_t i;
  if (s == NULL || len == 0) return R_EMPTY;
  if (has_crlfnul(s, len)) return R_CRLFNUL;
  for (i = 0; i < len; i++)
    if (!is_tchar((unsigned char)s[i])) return R_NOT_TOKEN;
  return NULL;
}

/* an HTTP header value: anything but CR, LF and NUL */
const char *check_header_value(const char *s, size_t len) {
  if (s == NULL) return len == 0 ? NULL : R_EMPTY;
  return has_crlfnul(s, len) ? R_CRLFNUL : NULL;
}

/* one path segment (a model id): non-empty, no CR/LF/NUL, not "." or ".." */
const char *check_segment(const char *s, size_t len) {
  if (s == NULL || len == 0) return R_EMPTY;
  if (has_crlfnul(s, len)) return R_CRLFNUL;
  if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.')) return R_DOT_NAME;
  return NULL;
}

/* 1 for an RFC 3986 unreserved byte */
static int is_unreserved(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '-' || c == '.' || c == '_' || c == '~';
}

/* percent-encode s as one path segment into out (3 * len + 1 bytes) */
size_t check_escape_segment(const char *s, size_t len, char *out) {
  static const char hex[] = "0123456789ABCDEF";
  size_t i, n = 0;
  for (i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (is_unreserved(c)) {
      out[n++] = (char)c;
    } else {
      out[n++] = '%';
      out[n++] = hex[c >> 4];
      out[n++] = hex[c & 15];
    }
  }
  out[n] = '\0';
  return n;
}

/* the length of the well-formed UTF-8 sequence that starts at p (*p >= 0x80),
** 0 when it is not one (cut, overlong, a surrogate, above U+10FFFF) */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end) {
  unsigned c = *p;
  size_t n, i;
  unsigned lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) n = 1;
  else if (c >= 0xE0 && c <= 0xEF) {
    n = 2;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 3;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else return 0;
  if ((size_t)(end - p) <= n) return 0;
  if (p[1] < lo || p[1] > hi) return 0;
  for (i = 2; i <= n; i++) if (p[i] < 0x80 || p[i] > 0xBF) return 0;
  return n + 1;
}

int check_utf8(const char *s, size_t len) {
  const unsigned char *p = (const unsigned char *)s, *end = p + len;
  while (p < end) {
    size_t n;
    if (*p < 0x80) { p++; continue; }
    n = utf8_seq(p, end);
    if (n == 0) return 0;
    p += n;
  }
  return 1;
}

int check_json_plain(const char *s, size_t len) {
  size_t i = 0;
  if (!check_utf8(s, len)) return 0;
  while (i < len) {
    char c = s[i];
    if (c == '"') {                       /* skip a string */
      for (i++; i < len && s[i] != '"'; i++)
        if (s[i] == '\\') i++;
      i++;
    } else if (c == '{') {
      size_t j = i + 1;
      while (j < len && (s[j] == ' ' || s[j] == '\n' || s[j] == '\r' || s[j] == '\t')) j++;
      if (j < len && s[j] == '}') return 0;
      i++;
    } else if ((c >= '0' && c <= '9') || c == '-') {
      int digits = 0;
      for (; i < len; i++) {
        c = s[i];
        if (c >= '0' && c <= '9') digits++;
        else if (c == 'e' || c == 'E') return 0;
        else if (c != '.' && c != '-' && c != '+') break;
      }
      if (digits >= 14) return 0;
    } else {
      i++;
    }
  }
  return 1;
}

void check_json_empties(const char *s, size_t len, int *arrays, int *objects) {
  size_t i = 0;
  *arrays = *objects = 0;
  while (i < len) {
    char c = s[i];
    if (c == '"') {
      for (i++; i < len && s[i] != '"'; i++)
        if (s[i] == '\\') i++;
      i++;
    } else if (c == '[' || c == '{') {
      size_t j = i + 1;
      while (j < len && (s[j] == ' ' || s[j] == '\n' || s[j] == '\r' || s[j] == '\t')) j++;
      if (j < len && s[j] == (c == '[' ? ']' : '}')) {
        if (c == '[') *arrays = 1; else *objects = 1;
      }
      i++;
    } else {
      i++;
    }
  }
}

/* take in the byte at q: a UTF-8 sequence, or an opening bracket (an empty
** array or object when its closer follows); other bytes pass. Returns where
** the scan goes on, NULL at invalid UTF-8 */
static const unsigned char *scan_byte(const unsigned char *q, const unsigned char *end,
                                      int *arrays, int *objects) {
  unsigned c = *q;
  if (c >= 0x80) {
    size_t n = utf8_seq(q, end);
    return n == 0 ? NULL : q + n;
  }
  if (c == '[' || c == '{') {
    const unsigned char *r = q + 1;
    while (r < end && (*r == ' ' || *r == '\n' || *r == '\r' || *r == '\t')) r++;
    if (r < end && *r == (c == '[' ? ']' : '}')) {
      if (c == '[') *arrays = 1; else *objects = 1;
    }
  }
  return q + 1;
}

#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ONES  0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL
/* the bytes of word w that scan_byte must see: non-ASCII ones, and '[' and
** '{' (one test: with 0x20 set, '[' is '{'). Exact up to the first, which
** is all the caller uses */
static uint64_t word_stops(uint64_t w) {
  uint64_t x = (w | (ONES * 0x20)) ^ (ONES * '{');
  return (w & HIGHS) | ((x - ONES) & ~x & HIGHS);
}
#endif

int check_json_scan(const char *s, size_t len, int *arrays, int *objects) {
  const unsigned char *p = (const unsigned char *)s, *end = p + len;
  *arrays = *objects = 0;
  while (p < end) {
#ifdef ONES
    if (end - p >= 8) {         /* 8 bytes at a time up to the next stop byte */
      uint64_t w, m;
      memcpy(&w, p, 8);
      m = word_stops(w);
      if (m == 0) {
        p += 8;
        continue;
      }
      p += __builtin_ctzll(m) >> 3;
    }
#endif
    p = scan_byte(p, end, arrays, objects);
    if (p == NULL) return 0;
  }
  return 1;
}
