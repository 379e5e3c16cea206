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
/* as obuf_reserve and obuf_append for a buffer that may hold at most max_len
** bytes: it grows by doubling, but never past max_len + 1 allocated, so a
** body near its cap costs the cap, not twice it; -1 out of memory or when
** len + extra would pass max_len (buffer unchanged) */
int obuf_reserve_max(obuf *b, size_t extra, size_t max_len);
int obuf_append_max(obuf *b, const void *p, size_t n, size_t max_len);
/* forget the contents, keep the memory (data[0] = NUL when allocated) */
void obuf_clear(obuf *b);
/* release the memory; the buffer is empty and usable again */
void obuf_free(obuf *b);

#endif
