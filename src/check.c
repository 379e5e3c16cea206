/*
** check.c: checks on what the caller puts into a request line or header
** (see check.h). The path check is deliberately strict: the API key must
** stay on the configured host and nothing may be smuggled into the request
** line or the headers.
*/
#include <stdint.h>
#include <string.h>

#if defined(__SSE2__) && defined(__GNUC__)
#include <emmintrin.h>
#define SCAN_SSE2 1             /* x86-64 always has it: 64 bytes per step */
#endif

#include "check.h"

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

/* {=================================================================
** UTF-8 and JSON scans: 64 bytes a step under SSE2, else 8 at a time over
** plain ASCII
** ================================================================== */

#define ONES  0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

static uint64_t load8(const unsigned char *p) {
  uint64_t x;
  memcpy(&x, p, 8);
  return x;
}

/* the bytes of x equal to b, flagged by their high bit: exact for the
** lowest flagged byte (a borrow only reaches the bytes above a zero one),
** which is all the scans below use */
static uint64_t bytes_eq(uint64_t x, unsigned char b) {
  uint64_t v = x ^ (ONES * b);
  return (v - ONES) & ~v & HIGHS;
}

/* the index of the lowest flagged byte of a non-zero mask (little-endian
** loads: the first byte in memory) */
static size_t first_flag(uint64_t m) {
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return (size_t)__builtin_ctzll(m) >> 3;
#else
  unsigned char b[8];
  size_t i;
  memcpy(b, &m, 8);
  for (i = 0; i < 8 && !(b[i] & 0x80); i++) {}
  return i;
#endif
}

/* the length of the well-formed UTF-8 sequence at p (lead byte >= 0x80),
** or 0: no overlongs, no surrogates, <= U+10FFFF */
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
    while (end - p >= 8 && (load8(p) & HIGHS) == 0) p += 8;
    if (p == end) break;
    if (*p < 0x80) { p++; continue; }
    n = utf8_seq(p, end);
    if (n == 0) return 0;
    p += n;
  }
  return 1;
}

/* the '[' or '{' at p, outside strings: 1 when its closer (the opener
** plus 2 in ASCII) follows, after white space only */
static inline int empty_after(const unsigned char *p, const unsigned char *end) {
  const unsigned char *q = p + 1;
  while (q < end && *q <= ' ' && (*q == ' ' || *q == '\n' || *q == '\r' || *q == '\t')) q++;
  return q < end && *q == *p + 2;
}

/* the '[' or '{' at p, outside strings: counted when it opens an empty one */
static inline void count_empty(const unsigned char *p, const unsigned char *end, int *arrays,
                               int *objects) {
  if (empty_after(p, end)) {
    if (*p == '[') (*arrays)++; else *objects = 1;
  }
}

#ifdef SCAN_SSE2
/* the high bits of the 16-byte lanes x[0..3] as 64 bits, lane k in bits
** 16k to 16k + 15 (the loops over lanes are unrolled by hand or by pragma:
** GCC -O2 keeps them rolled, with the lanes in memory) */
static inline __attribute__((always_inline)) uint64_t mask64(const __m128i *x) {
  return (uint64_t)(unsigned)_mm_movemask_epi8(x[0])
       | (uint64_t)(unsigned)_mm_movemask_epi8(x[1]) << 16
       | (uint64_t)(unsigned)_mm_movemask_epi8(x[2]) << 32
       | (uint64_t)(unsigned)_mm_movemask_epi8(x[3]) << 48;
}

/* the bytes of the 64 at p (readable) that the JSON scans look at, one bit
** each: quotes, backslashes, each '{' (and '[' when brackets is set), each
** digit or '-' when numbers is set; high: whether any byte is >= 0x80.
** Backslashes and high bytes are rare in API JSON, so one test of the whole
** block answers for them most of the time */
struct block_bits {
  uint64_t quotes, slashes, opens, numbers;
  int high;
};

/* the lanes of x equal to b once or_bits are set in them, as 64 bits */
static inline __attribute__((always_inline))
uint64_t lanes_eq(const __m128i *x, char or_bits, char b) {
  __m128i eq[4];
  size_t k;
#pragma GCC unroll 4
  for (k = 0; k < 4; k++)
    eq[k] = _mm_cmpeq_epi8(_mm_or_si128(x[k], _mm_set1_epi8(or_bits)), _mm_set1_epi8(b));
  return mask64(eq);
}

/* whether some lane of x has a high bit */
static inline __attribute__((always_inline)) int lanes_high(const __m128i *x) {
  return _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(x[0], x[1]), _mm_or_si128(x[2], x[3]))) != 0;
}

static inline __attribute__((always_inline))
void block_bits(const unsigned char *p, int brackets, int numbers, struct block_bits *b) {
  __m128i x[4], eq[4];
  size_t k;
#pragma GCC unroll 4
  for (k = 0; k < 4; k++) x[k] = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * k));
  b->high = lanes_high(x);
#pragma GCC unroll 4
  for (k = 0; k < 4; k++) eq[k] = _mm_cmpeq_epi8(x[k], _mm_set1_epi8('\\'));
  b->slashes = lanes_high(eq) ? mask64(eq) : 0;
  b->quotes = lanes_eq(x, 0, '"');
  /* '[' is '{' less 0x20 (and no other byte is either once 0x20 is set) */
  b->opens = lanes_eq(x, brackets ? 0x20 : 0, '{');
  b->numbers = 0;
  if (numbers) {
#pragma GCC unroll 4
    for (k = 0; k < 4; k++) {
      /* '0'..'9' (bytes >= 0x80 are negative here, so not digits), '-' */
      __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(x[k], _mm_set1_epi8('0' - 1)),
                                    _mm_cmplt_epi8(x[k], _mm_set1_epi8('9' + 1)));
      eq[k] = _mm_or_si128(digit, _mm_cmpeq_epi8(x[k], _mm_set1_epi8('-')));
    }
    b->numbers = mask64(eq);
  }
}

/* the strings of a block: an escape is a backslash and the byte after it
** (pairs taken from the left), the other quotes flip *in_string (their
** parity, as a prefix XOR). The block step stops before a backslash outside
** strings (it escapes nothing, but the pairs taken from the left do not know
** that) or a backslash whose byte is in the next block: the one-byte steps
** or the next block take those. Returns how many bytes the step takes, with
** *outside the bytes among them that are outside strings and *in_string the
** state after them */
static inline __attribute__((always_inline))
size_t block_strings(const struct block_bits *b, int *in_string, uint64_t *outside) {
  uint64_t escaped = 0, escapers = 0, quotes, keep, inside, m;
  size_t n = 64, k;
  for (m = b->slashes; m != 0; m &= ~((uint64_t)3 << k)) {
    k = (size_t)__builtin_ctzll(m);
    if (k + 1 >= n) { n = k; break; }   /* its byte is in the next block */
    escapers |= (uint64_t)1 << k;
    escaped |= (uint64_t)2 << k;
  }
  keep = n >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << n) - 1;
  quotes = b->quotes & ~escaped & keep;
  inside = quotes ^ (quotes << 1);  /* bit i: inside a string after byte i */
  inside ^= inside << 2;
  inside ^= inside << 4;
  inside ^= inside << 8;
  inside ^= inside << 16;
  inside ^= inside << 32;
  if (*in_string) inside = ~inside;
  /* up to the first backslash outside strings all is right */
  m = escapers & ~inside & keep;
  if (m != 0) {
    n = (size_t)__builtin_ctzll(m);
    keep = ((uint64_t)1 << n) - 1;
  }
  *outside = ~inside & keep;
  if (n > 0) *in_string = (int)((inside >> (n - 1)) & 1);
  return n;
}

/* check_json_scan's structure over the 64 bytes at p in one step, from
** p + skip on (the bytes before were taken by an earlier step; the text ends
** at end, which may come sooner): each '[' or '{' outside strings is looked
** at. Returns how many bytes from p on it took (block_strings); *high points
** at the first byte >= 0x80 once one is seen */
static inline __attribute__((always_inline))
size_t scan_block(const unsigned char *p, size_t skip, const unsigned char *end, int *in_string,
                  int *arrays, int *objects, const unsigned char **high) {
  struct block_bits b;
  uint64_t outside, opens, from = ~(uint64_t)0 << skip;
  size_t n;
  block_bits(p, 1, 0, &b);
  if (b.high && *high == NULL) {      /* once per text: no high byte was before p */
    const unsigned char *q = p;
    while (*q < 0x80) q++;
    *high = q;
  }
  b.quotes &= from;
  b.slashes &= from;
  n = block_strings(&b, in_string, &outside);
  for (opens = b.opens & outside & from; opens != 0; opens &= opens - 1)
    count_empty(p + __builtin_ctzll(opens), end, arrays, objects);
  return n;
}

/* the structure of [p, end) in 64-byte steps; the bytes up to limit (>= end,
** >= p + 64) can be read: a step that would pass it reads the last 64 bytes
** before it instead, skipping those already taken. Returns the first byte
** >= 0x80, or NULL */
static const unsigned char *scan_structure(const unsigned char *p, const unsigned char *end,
                                           const unsigned char *limit, int *arrays, int *objects) {
  const unsigned char *high = NULL;
  int in_string = 0;
  while (p < end) {
    size_t n;
    if (limit - p >= 64) {
      n = scan_block(p, 0, end, &in_string, arrays, objects, &high);
    } else {
      size_t skip = (size_t)(p - (limit - 64));
      n = scan_block(limit - 64, skip, end, &in_string, arrays, objects, &high) - skip;
    }
    p += n > 0 ? n : 1;     /* 0: a backslash outside strings, a plain byte */
  }
  return high;
}

/* the structure first, UTF-8 at the end from the first byte >= 0x80 on (no
** byte of a multi-byte character is a quote, a backslash, '[' or '{', so
** neither depends on the other). A text shorter than a step is scanned in
** a copy padded with NUL bytes, which match nothing */
void check_json_scan(const char *s, size_t len, int *utf8, int *arrays, int *objects) {
  const unsigned char *p = (const unsigned char *)s, *high;
  *arrays = *objects = 0;
  if (len >= 64) {
    high = scan_structure(p, p + len, p + len, arrays, objects);
  } else {
    unsigned char copy[64];
    memset(copy, 0, sizeof copy);
    memcpy(copy, p, len);
    high = scan_structure(copy, copy + len, copy + sizeof copy, arrays, objects);
    if (high != NULL) high = p + (high - copy);
  }
  *utf8 = high == NULL || check_utf8((const char *)high, len - (size_t)(high - p));
}
#else
/* the bytes a string scan stops at: '"', '\\', >= 0x80 */
static uint64_t stops_in_string(uint64_t x) {
  return (x & HIGHS) | bytes_eq(x, '"') | bytes_eq(x, '\\');
}

/* the bytes a scan between strings stops at: '"', '[', '{', >= 0x80 */
static uint64_t stops_between(uint64_t x) {
  return (x & HIGHS) | bytes_eq(x, '"') | bytes_eq(x, '[') | bytes_eq(x, '{');
}

void check_json_scan(const char *s, size_t len, int *utf8, int *arrays, int *objects) {
  const unsigned char *p = (const unsigned char *)s, *end = p + len;
  int in_string = 0;
  *utf8 = 1;
  *arrays = *objects = 0;
  while (p < end) {
    unsigned c;
    /* 8 bytes at a time to the next byte that matters */
    while (end - p >= 8) {
      uint64_t x = load8(p), m = in_string ? stops_in_string(x) : stops_between(x);
      if (m != 0) { p += first_flag(m); break; }
      p += 8;
    }
    if (p == end) break;
    c = *p;
    if (c >= 0x80) {                   /* the same verdict as check_utf8 */
      size_t n = utf8_seq(p, end);
      if (n == 0) { *utf8 = 0; n = 1; }
      p += n;
    } else if (c == '"') {
      in_string = !in_string;
      p++;
    } else if (in_string) {
      /* an escape skips the byte after it, unless that byte starts a UTF-8
      ** sequence (a quote it is not; its bytes are checked as such) */
      p += (c == '\\' && end - p >= 2 && p[1] < 0x80) ? 2 : 1;
    } else if (c == '[' || c == '{') {
      count_empty(p, end, arrays, objects);
      p++;
    } else {
      p++;
    }
  }
}
#endif

/* }================================================================== */

/* the number at p (a digit or '-'): whether 14 significant digits keep it
** (no exponent, fewer than 14 digits); *pp moves past it */
static inline int plain_number(const unsigned char **pp, const unsigned char *end) {
  const unsigned char *p = *pp;
  int digits = 0;
  for (; p < end; p++) {
    unsigned c = *p;
    if (c >= '0' && c <= '9') digits++;
    else if (c == 'e' || c == 'E') return 0;
    else if (c != '.' && c != '-' && c != '+') break;
  }
  *pp = p;
  return digits < 14;
}

#ifdef SCAN_SSE2
/* the structure of check_json_plain over the 64 bytes at p (end - p >= 64)
** in one step: each '{' and each number outside strings is looked at.
** Returns how many bytes it took (block_strings; more when a number runs on
** past the block), 0 with *bad set when the text is not plain; *high set
** when a byte >= 0x80 was seen */
static inline __attribute__((always_inline))
size_t plain_block(const unsigned char *p, const unsigned char *end, int *in_string, int *bad,
                   int *high) {
  struct block_bits b;
  uint64_t outside, braces, numbers;
  size_t n;
  block_bits(p, 0, 1, &b);
  *high |= b.high;
  n = block_strings(&b, in_string, &outside);
  for (braces = b.opens & outside; braces != 0; braces &= braces - 1)
    if (empty_after(p + __builtin_ctzll(braces), end)) { *bad = 1; return 0; }
  numbers = b.numbers & outside;
  while (numbers != 0) {          /* each read to its end, the bits it covered dropped */
    const unsigned char *q = p + __builtin_ctzll(numbers);
    size_t took;
    if (!plain_number(&q, end)) { *bad = 1; return 0; }
    took = (size_t)(q - p);
    if (took >= n) { *in_string = 0; return took; }   /* it ran on past the block */
    numbers &= ~(uint64_t)0 << took;
  }
  return n;
}
#endif

/* the bytes the one-byte steps in a string stop at: '"', '\\' */
static uint64_t stops_in_plain(uint64_t x) {
  return bytes_eq(x, '"') | bytes_eq(x, '\\');
}

/* the structure is checked here, UTF-8 at the end when a byte >= 0x80 was
** seen (neither rule depends on the other: no byte of a multi-byte
** character is a quote, a backslash, '{', a digit or '-') */
int check_json_plain(const char *s, size_t len) {
  const unsigned char *p = (const unsigned char *)s, *end = p + len;
  int in_string = 0, high = 0;
  while (p < end) {
    unsigned c;
#ifdef SCAN_SSE2
    int bad = 0;
    size_t n;
    while (end - p >= 64 && (n = plain_block(p, end, &in_string, &bad, &high)) != 0) p += n;
    if (bad) return 0;
    if (p >= end) break;
#endif
    if (in_string) {                  /* 8 bytes at a time to the string's next stop */
      while (end - p >= 8) {
        uint64_t x = load8(p), m = stops_in_plain(x);
        high |= (x & HIGHS) != 0;
        if (m != 0) { p += first_flag(m); break; }
        p += 8;
      }
      if (p == end) break;
    }
    c = *p;
    if (c >= 0x80) {
      high = 1;
      p++;
    } else if (c == '"') {
      in_string = !in_string;
      p++;
    } else if (in_string) {
      if (c == '\\' && end - p >= 2) { high |= p[1] >= 0x80; p += 2; } else p++;
    } else if (c == '{') {
      if (empty_after(p, end)) return 0;
      p++;
    } else if ((c >= '0' && c <= '9') || c == '-') {
      if (!plain_number(&p, end)) return 0;
    } else {
      p++;
    }
  }
  return !high || check_utf8(s, len);
}

void check_json_empties(const char *s, size_t len, int *arrays, int *objects) {
  int utf8;
  check_json_scan(s, len, &utf8, arrays, objects);
  *arrays = *arrays > 0;
}
