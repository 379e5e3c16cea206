/*
** test_b64.c: strict base64 and little-endian floats (src/b64.c).
*/
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "b64.h"
#include "tap.h"

static unsigned char out[4096];
static size_t out_len;

/* decode s whole (final); the reason, or NULL */
static const char *dec(const char *s) {
  return b64_decode(s, strlen(s), 1, out, &out_len);
}

static void test_vectors(void) {
  /* RFC 4648, section 10 */
  static const char *const plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
  static const char *const coded[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
  int i;
  for (i = 0; i < 7; i++) {
    TAP_OK(dec(coded[i]) == NULL, "RFC 4648 vector '%s' decodes", coded[i]);
    TAP_EQ_STR((const char *)out, out_len, plain[i], "RFC 4648 vector bytes");
    TAP_EQ_LONG(b64_decoded_len(coded[i], strlen(coded[i])), strlen(plain[i]), "decoded_len of the vector");
  }
  TAP_OK(dec("+/+/") == NULL && out_len == 3 && out[0] == 0xfb && out[1] == 0xff && out[2] == 0xbf,
         "'+' is 62 and '/' is 63");
  TAP_OK(dec("AAAA") == NULL && out_len == 3 && out[0] == 0 && out[1] == 0 && out[2] == 0, "zeros");
}

static void test_refusals(void) {
  TAP_OK(dec("Zg=") != NULL, "a length not a multiple of 4 is refused");
  TAP_OK(dec("Zg") != NULL, "no padding is refused (the API pads)");
  TAP_EQ_LONG(b64_decoded_len("Zg=", 3), 0, "decoded_len of a bad length is 0");
  TAP_OK(dec("Zm9v!A==") != NULL, "a character outside the alphabet is refused");
  TAP_OK(dec("Zm9-") != NULL, "the URL-safe alphabet '-' is refused");
  TAP_OK(dec("Zm9_") != NULL, "the URL-safe alphabet '_' is refused");
  TAP_OK(dec("Zm9 ") != NULL, "a space is refused");
  TAP_OK(dec("Zm9v\nZm9v") != NULL, "a line break is refused");
  TAP_OK(b64_decode("Zm\0v", 4, 1, out, &out_len) != NULL, "a NUL byte is refused");
  TAP_OK(dec("Zg==Zm9v") != NULL, "padding before the last group is refused");
  TAP_OK(dec("Z===") != NULL, "three padding characters are refused");
  TAP_OK(dec("====") != NULL, "only padding is refused");
  TAP_OK(dec("Zm=v") != NULL, "'=' followed by data is refused");
  TAP_OK(dec("Zh==") != NULL, "non-zero unused bits after one byte are refused");
  TAP_OK(dec("Zm9=") != NULL, "non-zero unused bits after two bytes are refused");
  TAP_OK(b64_decode("Zg==", 4, 0, out, &out_len) != NULL, "padding in a piece that is not the last is refused");
  TAP_OK(b64_decode("Zm9v", 4, 0, out, &out_len) == NULL && out_len == 3, "a piece without padding decodes");
  TAP_OK(dec("Zm9vYm\x80y") != NULL, "a byte above 127 is refused");
}

static void test_floats(void) {
  /* struct.pack('<3f', 0.1, -0.25, 1e-7), as the API sends an embedding */
  TAP_OK(dec("zczMPQAAgL6Vv9Yz") == NULL && out_len == 12, "three floats decode to 12 bytes");
  TAP_OK(b64_f32le(out) == 0.1f, "0.1 (got %.9g)", (double)b64_f32le(out));
  TAP_OK(b64_f32le(out + 4) == -0.25f, "-0.25 (got %.9g)", (double)b64_f32le(out + 4));
  TAP_OK(b64_f32le(out + 8) == 1e-7f, "1e-7 (got %.9g)", (double)b64_f32le(out + 8));
  {
    static const unsigned char one[4] = { 0x00, 0x00, 0x80, 0x3f };
    static const unsigned char inf[4] = { 0x00, 0x00, 0x80, 0xff };
    static const unsigned char nan[4] = { 0x00, 0x00, 0xc0, 0x7f };
    static const unsigned char den[4] = { 0x01, 0x00, 0x00, 0x00 };
    static const unsigned char nz[4] = { 0x00, 0x00, 0x00, 0x80 };
    TAP_OK(b64_f32le(one) == 1.0f, "1.0 little-endian");
    TAP_OK(isinf(b64_f32le(inf)) && b64_f32le(inf) < 0, "-inf");
    TAP_OK(isnan(b64_f32le(nan)), "NaN");
    TAP_OK(b64_f32le(den) > 0 && b64_f32le(den) < 1e-44f, "the smallest denormal");
    TAP_OK(b64_f32le(nz) == 0 && signbit(b64_f32le(nz)), "-0");
  }
}

/* the same text decoded whole and in pieces of 4k characters gives the same bytes */
static void test_pieces(void) {
  static char text[8192 + 8];
  static unsigned char whole[6144 + 6], pieces[6144 + 6];
  size_t i, n, off, got, total = 0;
  const char *A = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  int ok = 1;
  for (i = 0; i < 8192; i++) text[i] = A[(i * 7 + 3) % 64];
  memcpy(text + 8192, "QUJD", 4);
  n = 8196;
  TAP_OK(b64_decode(text, n, 1, whole, &got) == NULL && got == 6147, "8196 characters decode whole");
  for (off = 0; off < n; off += 4096) {
    size_t piece = n - off < 4096 ? n - off : 4096;
    if (b64_decode(text + off, piece, off + piece == n, pieces + total, &got) != NULL) ok = 0;
    total += got;
  }
  TAP_OK(ok && total == 6147 && memcmp(whole, pieces, total) == 0, "decoded in pieces, the same bytes");
}

static void test_encode(void) {
  static const char *const plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
  static const char *const coded[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
  static const unsigned char high[] = { 0xfb, 0xff, 0xbf, 0x00, 0x89 };
  char enc[64];
  size_t n;
  int i;
  for (i = 0; i < 7; i++) {
    n = b64_encode((const unsigned char *)plain[i], strlen(plain[i]), enc);
    TAP_EQ_STR(enc, n, coded[i], "RFC 4648 vector encodes");
    TAP_EQ_LONG(b64_encoded_len(strlen(plain[i])), n, "encoded_len is what encode writes");
  }
  n = b64_encode(high, sizeof high, enc);
  TAP_EQ_STR(enc, n, "+/+/AIk=", "bytes above 127 and zeros encode");
  TAP_OK(dec("+/+/AIk=") == NULL && out_len == 5 && memcmp(out, high, 5) == 0,
         "and decode back to the same bytes");
  TAP_EQ_LONG(b64_encoded_len((size_t)-1), 0, "a length whose encoding cannot be counted gives 0");
}

int main(void) {
  test_encode();
  test_vectors();
  test_refusals();
  test_floats();
  test_pieces();
  return tap_done("test_b64");
}
