/*
** fuzz_b64.c: libFuzzer target for the strict base64 decoder (src/b64.c).
**
** Input: byte 0 picks a piece size (a multiple of 4 characters); the rest is
** the text. It is decoded whole and in pieces (final only on the last), and
** both must agree with a slow reference written independently here:
** accepted exactly when the reference accepts, the same bytes, and
** b64_decoded_len equal to the bytes when accepted. Any difference calls
** abort(). Accepted text is encoded back and must give the input again
** (one spelling per byte string). The input, taken as bytes, is encoded by
** b64_encode and must decode back to itself and match the encoder here.
**
**   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc \
**     fuzz/fuzz_b64.c src/b64.c -o build/fuzz_b64
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char ALPHA[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int value(uint8_t c) {
  const char *p = c ? strchr(ALPHA, c) : NULL;
  return p ? (int)(p - ALPHA) : -1;
}

/* reference: 1 and the bytes when s is canonical padded base64, else 0 */
static int reference(const uint8_t *s, size_t n, uint8_t *out, size_t *olen) {
  size_t pad = 0, i, o = 0;
  uint32_t acc = 0;
  int bits = 0;
  if (n % 4 != 0) return 0;
  while (pad < 2 && pad < n && s[n - 1 - pad] == '=') pad++;
  for (i = 0; i < n - pad; i++) {
    int v = value(s[i]);
    if (v < 0) return 0;
    acc = (acc << 6) | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (uint8_t)(acc >> bits);
      acc &= (1u << bits) - 1;
    }
  }
  if (acc != 0) return 0;           /* unused bits must be zero */
  if (n > 0 && (n - pad) % 4 == 1) return 0;
  *olen = o;
  return 1;
}

static void encode(const uint8_t *p, size_t n, char *out) {
  size_t i, o = 0;
  for (i = 0; i + 3 <= n; i += 3) {
    uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
    out[o++] = ALPHA[v >> 18]; out[o++] = ALPHA[(v >> 12) & 63];
    out[o++] = ALPHA[(v >> 6) & 63]; out[o++] = ALPHA[v & 63];
  }
  if (n - i == 1) {
    uint32_t v = (uint32_t)p[i] << 16;
    out[o++] = ALPHA[v >> 18]; out[o++] = ALPHA[(v >> 12) & 63]; out[o++] = '='; out[o++] = '=';
  } else if (n - i == 2) {
    uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
    out[o++] = ALPHA[v >> 18]; out[o++] = ALPHA[(v >> 12) & 63];
    out[o++] = ALPHA[(v >> 6) & 63]; out[o++] = '=';
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *text;
  size_t n, piece, off, got, total = 0, rlen = 0;
  uint8_t *whole, *pieces, *ref;
  int ok_whole, ok_pieces = 1, ok_ref;
  if (size < 1) return 0;
  piece = ((size_t)data[0] % 8 + 1) * 4;
  text = (const char *)data + 1;
  n = size - 1;
  whole = malloc(n + 4); pieces = malloc(n + 4); ref = malloc(n + 4);
  if (!whole || !pieces || !ref) abort();
  ok_whole = b64_decode(text, n, 1, whole, &got) == NULL;
  if (ok_whole && got != b64_decoded_len(text, n)) abort();
  for (off = 0; off < n || off == 0; off += piece) {
    size_t len = n - off < piece ? n - off : piece;
    if (b64_decode(text + off, len, off + len == n, pieces + total, &got) != NULL) {
      ok_pieces = 0;
      break;
    }
    total += got;
    if (n == 0) break;
  }
  ok_ref = reference((const uint8_t *)text, n, ref, &rlen);
  /* pieces of a multiple of 4 make no difference to a text that is itself one */
  if (n % 4 == 0 && ok_pieces != ok_whole) abort();
  if (ok_whole != ok_ref) abort();
  if (ok_whole) {
    char *back = malloc(n + 1);
    if (back == NULL) abort();
    if (rlen != b64_decoded_len(text, n) || memcmp(whole, ref, rlen) != 0) abort();
    if (total != rlen || memcmp(pieces, ref, rlen) != 0) abort();
    encode(ref, rlen, back);
    if (memcmp(back, text, n) != 0) abort();
    if (rlen >= 4) (void)b64_f32le(ref);
    free(back);
  }
  free(whole); free(pieces); free(ref);
  {   /* the encoder: the input as bytes, there and back */
    size_t elen = b64_encoded_len(size), dlen;
    char *enc = malloc(elen + 1), *mine = malloc(elen + 1);
    uint8_t *back = malloc(size + 1);
    if (!enc || !mine || !back) abort();
    if (b64_encode(data, size, enc) != elen) abort();
    encode(data, size, mine);
    if (memcmp(enc, mine, elen) != 0) abort();
    if (b64_decode(enc, elen, 1, back, &dlen) != NULL || dlen != size) abort();
    if (memcmp(back, data, size) != 0) abort();
    free(enc); free(mine); free(back);
  }
  return 0;
}
