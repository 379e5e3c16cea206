/*
** buf.h: a growable byte buffer in plain C (no Lua), used by the SSE
** parser, the transfer's response body and the header block.
*/
#ifndef OPENAI_BUF_H
#define OPENAI_BUF_H

#include <stddef.h>

typedef struct obuf {
  char *data;   /* NULL until the first append; always NUL-terminated after */
  size_t len;   /* bytes in use, not counting the terminating NUL */
  size_t cap;   /* bytes allocated */
} obuf;

void obuf_init(obuf *b);
/* make room for `extra` more bytes (plus a NUL); 0 on success, -1 out of memory */
int obuf_reserve(obuf *b, size_t extra);
/* append n bytes; 0 on success, -1 out of memory (buffer unchanged) */
int obuf_append(obuf *b, const void *p, size_t n);
/* forget the contents, keep the memory (data[0] = NUL when allocated) */
void obuf_clear(obuf *b);
/* release the memory; the buffer is empty and usable again */
void obuf_free(obuf *b);

#endif
