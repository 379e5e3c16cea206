/*
** fuzz_check.c: libFuzzer target for the url, header and segment checks.
** The whole input is tried as a path, a header name and value, and a segment.
*/
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "../spec/c/ref_check.h"

/* the value of a hex digit, or -1 */
static int hexval(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* the invariants of an accepted path */
static void check_accepted_path(const uint8_t *s, size_t len) {
  uint8_t *dec = malloc(len + 2);
  size_t i, n = 0, path_end = len;
  if (dec == NULL) abort();
  assert(len >= 1 && s[0] == '/');
  assert(!(len >= 2 && s[1] == '/'));
  for (i = 0; i < len; i++) {
    assert(s[i] >= 0x21 && s[i] < 0x7f);
    assert(s[i] != '\\' && s[i] != '#');
    if (s[i] == '?' && path_end == len) path_end = i;
    if (s[i] == '@') assert(path_end != len);
  }
  /* decode the path part once; encoded '\' counts as '/' */
  for (i = 0; i < path_end; i++) {
    uint8_t c = s[i];
    if (c == '%') {
      int hi, lo;
      assert(i + 2 < len);
      hi = hexval(s[i + 1]);
      lo = hexval(s[i + 2]);
      assert(hi >= 0 && lo >= 0);
      c = (uint8_t)(hi * 16 + lo);
      i += 2;
    }
    assert(c >= 0x20 && c != 0x7f);
    dec[n++] = c == '\\' ? '/' : c;
  }
  dec[n] = '/';  /* a sentinel so that a final "/.." reads as "/../" */
  dec[n + 1] = 0;
  assert(!(n >= 2 && dec[1] == '/'));
  for (i = 0; i + 2 <= n; i++) {
    if (dec[i] != '/') continue;
    assert(!(dec[i + 1] == '.' && dec[i + 2] == '/'));
    assert(!(i + 3 <= n && dec[i + 1] == '.' && dec[i + 2] == '.' && dec[i + 3] == '/'));
  }
  /* the query's escapes are valid and not control bytes either */
  for (i = path_end; i < len; i++) {
    if (s[i] == '%') {
      int hi, lo;
      assert(i + 2 < len);
      hi = hexval(s[i + 1]);
      lo = hexval(s[i + 2]);
      assert(hi >= 0 && lo >= 0 && hi * 16 + lo >= 0x20 && hi * 16 + lo != 0x7f);
      i += 2;
    }
  }
  free(dec);
}

/* 1 for an RFC 3986 unreserved byte */
static int unreserved(uint8_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '-' || c == '.' || c == '_' || c == '~';
}

/* escape the input as a segment and check the output and its round trip */
static void check_escape(const uint8_t *s, size_t len) {
  char *out = malloc(3 * len + 1);
  size_t n, i, j = 0;
  int plain = 1;
  if (out == NULL) abort();
  n = check_escape_segment((const char *)s, len, out);
  assert(n >= len && n <= 3 * len && out[n] == '\0' && strlen(out) == n);
  for (i = 0; i < n; j++) {
    uint8_t c = (uint8_t)out[i];
    assert(j < len);
    if (c == '%') {
      const char *hex = "0123456789ABCDEF";
      assert(i + 2 < n && strchr(hex, out[i + 1]) && strchr(hex, out[i + 2]));
      c = (uint8_t)(hexval((uint8_t)out[i + 1]) * 16 + hexval((uint8_t)out[i + 2]));
      assert(!unreserved(c));
      i += 3;
    } else {
      assert(unreserved(c));
      i++;
    }
    assert(c == s[j]);
  }
  assert(j == len);

  /* a segment with no control byte or slash makes an acceptable path */
  for (i = 0; i < len; i++)
    if (s[i] < 0x20 || s[i] == 0x7f || s[i] == '/' || s[i] == '\\') plain = 0;
  if (plain && check_segment((const char *)s, len) == NULL && n < 4096) {
    char path[4096 + 16];
    memcpy(path, "/v1/models/", 11);
    memcpy(path + 11, out, n);
    assert(check_path(path, 11 + n) == NULL);
  }
  free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* a private copy with no NUL after it, so that reading past len is caught */
  uint8_t *s = malloc(size ? size : 1);
  const char *r;
  size_t i;
  int crlfnul = 0, tchars = 1;
  if (s == NULL) abort();
  if (size) memcpy(s, data, size);

  r = check_path((const char *)s, size);
  if (r == NULL) check_accepted_path(s, size);
  else assert(*r >= 'a' && *r <= 'z');

  for (i = 0; i < size; i++) {
    if (s[i] == '\r' || s[i] == '\n' || s[i] == 0) crlfnul = 1;
    if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
          (s[i] >= '0' && s[i] <= '9') || (s[i] && strchr("!#$%&'*+-.^_`|~", s[i]))))
      tchars = 0;
  }
  assert((check_header_name((const char *)s, size) == NULL) == (size > 0 && tchars));
  assert((check_header_value((const char *)s, size) == NULL) == !crlfnul);
  r = check_segment((const char *)s, size);
  assert((r == NULL) == (size > 0 && !crlfnul && !(size == 1 && s[0] == '.') &&
                         !(size == 2 && s[0] == '.' && s[1] == '.')));
  check_escape(s, size);
  /* the JSON scans never read past the text; json_plain (64 bytes a step
  ** under SSE2, 8 elsewhere) gives the byte-at-a-time model's verdict, and
  ** plain text is valid UTF-8 */
  assert(check_json_plain((const char *)s, size) == ref_plain(s, size));
  if (check_json_plain((const char *)s, size)) assert(check_utf8((const char *)s, size));
  {
    int arrays, objects;
    check_json_empties((const char *)s, size, &arrays, &objects);
    assert((arrays == 0 || arrays == 1) && (objects == 0 || objects == 1));
    /* plain text has no empty object outside strings */
    if (check_json_plain((const char *)s, size)) assert(!objects);
  }
  {
    /* the fused scan (64 bytes a step under SSE2, 8 elsewhere) agrees with the
    ** byte-at-a-time model, to the number of empty arrays */
    int utf8, arrays, objects, ra, ro;
    check_json_scan((const char *)s, size, &utf8, &arrays, &objects);
    ref_empties(s, size, &ra, &ro);
    assert(utf8 == ref_utf8(s, size) && utf8 == check_utf8((const char *)s, size));
    assert(arrays == ra && objects == ro);
  }
  free(s);
  return 0;
}
