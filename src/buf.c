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

int obuf_reserve(obuf *b, size_t extra) {
  size_t need, cap;
  char *p;
  if (extra > (size_t)-1 - b->len - 1) return -1;  /* overflow */
  need = b->len + extra + 1;
  if (need <= b->cap) return 0;
  cap = b->cap ? b->cap : 256;
  while (cap < need) cap = (cap > (size_t)-1 / 2) ? need : cap * 2;
  p = (char *)realloc(b->data, cap);
  if (p == NULL) return -1;
  b->data = p;
  b->cap = cap;
  return 0;
}

int obuf_append(obuf *b, const void *p, size_t n) {
  if (obuf_reserve(b, n) != 0) return -1;
  if (n > 0) memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
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
