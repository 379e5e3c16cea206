/*
** buf.c: growable byte buffer (see buf.h).
*/
#include <stdlib.h>
#include <string.h>

#include "buf.h"

void obuf_init(obuf *b) {
  b->data = NULL;
  b->len = b->cap = 0;
}

/* room for extra more bytes and a NUL, the capacity never past max_cap */
static int grow(obuf *b, size_t extra, size_t max_cap) {
  size_t need, cap;
  char *p;
  if (extra > (size_t)-1 - b->len - 1) return -1;  /* overflow */
  need = b->len + extra + 1;
  if (need <= b->cap) return 0;
  if (need > max_cap) return -1;
  cap = b->cap ? b->cap : 256;
  if (cap > max_cap) cap = max_cap;
  while (cap < need) cap = cap > max_cap / 2 ? max_cap : cap * 2;
  p = (char *)realloc(b->data, cap);
  if (p == NULL) return -1;
  b->data = p;
  b->cap = cap;
  return 0;
}

int obuf_reserve(obuf *b, size_t extra) {
  return grow(b, extra, (size_t)-1);
}

int obuf_reserve_max(obuf *b, size_t extra, size_t max_len) {
  return grow(b, extra, max_len < (size_t)-1 ? max_len + 1 : (size_t)-1);
}

static void put(obuf *b, const void *p, size_t n) {
  if (n > 0) memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
}

int obuf_append(obuf *b, const void *p, size_t n) {
  if (obuf_reserve(b, n) != 0) return -1;
  put(b, p, n);
  return 0;
}

int obuf_append_max(obuf *b, const void *p, size_t n, size_t max_len) {
  if (obuf_reserve_max(b, n, max_len) != 0) return -1;
  put(b, p, n);
  return 0;
}

void obuf_clear(obuf *b) {
  b->len = 0;
  if (b->data != NULL) b->data[0] = '\0';
}

void obuf_free(obuf *b) {
  free(b->data);
  obuf_init(b);
}
