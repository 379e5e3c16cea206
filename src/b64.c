/*
** b64.c: strict base64 decoding and encoding, little-endian floats (see b64.h).
*/
#include <stdint.h>
#include <string.h>

#include "b64.h"

/* value of each character; 64 marks '=', 0xff any other character */
static const unsigned char DEC[256] = {
#define X 0xff
  X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
  X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
  X, X, X, X, X, X, X, X, X, X, X, 62, X, X, X, 63,
  52, 53, 54, 55, 56, 57, 58, 59, 60, 61, X, X, X, 64, X, X,
  X, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
  15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, X, X, X, X, X,
  X, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
  41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, X, X, X, X, X,
  X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
  X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
  X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
  X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
  X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
  X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
  X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
  X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X
#undef X
};

size_t b64_decoded_len(const char *in, size_t len) {
  size_t n;
  if (len % 4 != 0) return 0;
  n = len / 4 * 3;
  if (len > 0 && in[len - 1] == '=') n--;
  if (len > 1 && in[len - 2] == '=') n--;
  return n;
}

static const char *BAD_CHAR = "a character outside the base64 alphabet";
static const char *BAD_PAD = "'=' before the end of the base64 text";

/* the last group of 4, which may hold padding */
static const char *decode_last(const unsigned char *s, int final, unsigned char *out,
                               size_t *n) {
  unsigned a = DEC[s[0]], b = DEC[s[1]], c = DEC[s[2]], d = DEC[s[3]];
  if ((a | b | c | d) == 0xff) return BAD_CHAR;
  if (a == 64 || b == 64) return BAD_PAD;
  if (c == 64 && d != 64) return BAD_PAD;
  if ((c == 64 || d == 64) && !final) return BAD_PAD;
  out[0] = (unsigned char)(a << 2 | b >> 4);
  if (c == 64) {
    if ((b & 0x0f) != 0) return "unused bits at the end of the base64 text are not zero";
    *n = 1;
    return NULL;
  }
  out[1] = (unsigned char)((b & 0x0f) << 4 | c >> 2);
  if (d == 64) {
    if ((c & 0x03) != 0) return "unused bits at the end of the base64 text are not zero";
    *n = 2;
    return NULL;
  }
  out[2] = (unsigned char)((c & 0x03) << 6 | d);
  *n = 3;
  return NULL;
}

const char *b64_decode(const char *in, size_t len, int final, unsigned char *out,
                       size_t *out_len) {
  const unsigned char *s = (const unsigned char *)in;
  size_t i, o = 0, last;
  const char *why;
  *out_len = 0;
  if (len % 4 != 0) return "the base64 text is not a multiple of 4 characters long";
  if (len == 0) return NULL;
  /* every group but the last has no padding: one table lookup per
  ** character, the bad ones caught together by OR-ing (0xff and 64 both
  ** have a bit above the 6 that data uses) */
  for (i = 0; i + 4 < len; i += 4) {
    unsigned a = DEC[s[i]], b = DEC[s[i + 1]], c = DEC[s[i + 2]], d = DEC[s[i + 3]];
    if ((a | b | c | d) & 0xc0) {
      if ((a | b | c | d) == 0xff) { *out_len = o; return BAD_CHAR; }
      *out_len = o;
      return BAD_PAD;
    }
    out[o] = (unsigned char)(a << 2 | b >> 4);
    out[o + 1] = (unsigned char)(b << 4 | c >> 2);
    out[o + 2] = (unsigned char)(c << 6 | d);
    o += 3;
  }
  why = decode_last(s + i, final, out + o, &last);
  if (why == NULL) o += last;
  *out_len = o;
  return why;
}

static const char ENC[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t b64_encoded_len(size_t len) {
  size_t groups = len / 3 + (len % 3 != 0);
  if (groups > ((size_t)-1) / 4) return 0;
  return groups * 4;
}

size_t b64_encode(const unsigned char *in, size_t len, char *out) {
  size_t i, o = 0;
  for (i = 0; i + 3 <= len; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
    out[o] = ENC[v >> 18];
    out[o + 1] = ENC[(v >> 12) & 63];
    out[o + 2] = ENC[(v >> 6) & 63];
    out[o + 3] = ENC[v & 63];
    o += 4;
  }
  if (len - i == 1) {
    uint32_t v = (uint32_t)in[i] << 16;
    out[o] = ENC[v >> 18];
    out[o + 1] = ENC[(v >> 12) & 63];
    out[o + 2] = '=';
    out[o + 3] = '=';
    o += 4;
  } else if (len - i == 2) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
    out[o] = ENC[v >> 18];
    out[o + 1] = ENC[(v >> 12) & 63];
    out[o + 2] = ENC[(v >> 6) & 63];
    out[o + 3] = '=';
    o += 4;
  }
  return o;
}

float b64_f32le(const unsigned char *p) {
  uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
  float f;
  memcpy(&f, &u, sizeof f);   /* the float and the 32-bit integer share a byte order */
  return f;
}
