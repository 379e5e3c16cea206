/*
** test_buf.c: unit tests of the growable buffer (src/buf.c), above all the
** bound of a capped buffer: a body near max_response_bytes never allocates
** more than the cap (plus its NUL), where plain doubling would take twice it.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "tap.h"

/* append `total` bytes in pieces of `piece` to a buffer capped at max_len;
** the largest capacity seen goes to *peak. Returns the bytes appended. */
static size_t fill_capped(obuf *b, size_t total, size_t piece, size_t max_len, size_t *peak) {
  static char chunk[65536];
  size_t done = 0;
  memset(chunk, 'x', sizeof chunk);
  *peak = 0;
  while (done < total) {
    size_t n = total - done < piece ? total - done : piece;
    if (obuf_append_max(b, chunk, n, max_len) != 0) break;
    done += n;
    if (b->cap > *peak) *peak = b->cap;
  }
  return done;
}

static void test_capped_growth(size_t max_len, size_t piece) {
  obuf b;
  size_t peak, got;
  char what[96];
  obuf_init(&b);
  got = fill_capped(&b, max_len, piece, max_len, &peak);
  snprintf(what, sizeof what, "cap %zu, pieces of %zu: all of it fits", max_len, piece);
  TAP_EQ_LONG(got, max_len, what);
  snprintf(what, sizeof what, "cap %zu: never more than cap + 1 allocated (peak %zu)", max_len, peak);
  TAP_OK(peak <= max_len + 1, "%s", what);
  snprintf(what, sizeof what, "cap %zu: one byte more is refused, the buffer unchanged", max_len);
  TAP_OK(obuf_append_max(&b, "y", 1, max_len) == -1 && b.len == max_len &&
         (b.data == NULL || b.data[b.len] == '\0'),
         "%s", what);
  obuf_free(&b);
}

int main(void) {
  obuf b;
  size_t peak;

  /* just over a power of two: doubling would allocate 2x the cap */
  test_capped_growth((size_t)3 << 20, 16384);
  test_capped_growth(((size_t)1 << 22) + 1, 16384);
  test_capped_growth((size_t)1 << 22, 65536);
  test_capped_growth(1000, 7);
  test_capped_growth(10, 3);          /* below the first allocation (256) */
  test_capped_growth(0, 1);

  /* below the cap it still doubles (amortized appends) */
  obuf_init(&b);
  fill_capped(&b, 5000, 100, (size_t)1 << 30, &peak);
  TAP_EQ_LONG(b.cap, 8192, "far below its cap a buffer doubles: 5000 bytes in 8192");
  obuf_free(&b);

  /* the cap is reached in one step from the last power of two below it */
  obuf_init(&b);
  fill_capped(&b, ((size_t)1 << 20) + 10, 4096, ((size_t)1 << 20) + 100, &peak);
  TAP_EQ_LONG(b.cap, ((size_t)1 << 20) + 101, "past 1 MiB with a cap of 1 MiB + 100: cap + 1");
  obuf_free(&b);

  /* the uncapped buffer is unchanged: powers of two from 256 */
  obuf_init(&b);
  TAP_OK(obuf_reserve(&b, 1) == 0 && b.cap == 256, "the first allocation is 256 bytes");
  TAP_OK(obuf_append(&b, "abc", 3) == 0 && b.len == 3 && strcmp(b.data, "abc") == 0, "append");
  TAP_OK(obuf_reserve(&b, 300) == 0 && b.cap == 512, "then it doubles");
  TAP_OK(obuf_reserve(&b, (size_t)-1) == -1 && b.len == 3, "an overflowing size is refused");
  obuf_free(&b);

  return tap_done("buf");
}
