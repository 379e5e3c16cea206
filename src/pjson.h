/*
** pjson.h: a reader of JSON text that is still arriving (a structured
** answer streamed token by token). Fed the text piece by piece, it keeps
** the longest prefix that, followed by a few closing characters, is JSON
** itself: the value so far. Plain C, no Lua.
**
** What the value so far holds: every complete member and element; a string
** being written, up to its last complete character (never half an escape
** or half a UTF-8 sequence); an open object or array, with what it holds so
** far. Left out until complete: a member whose key or value is still
** arriving when that value is a number, true, false or null (a number may
** grow: "1" may be "12"), a key being written, a trailing comma. So the
** value so far only grows: each one is contained in the next (unless a key comes
** twice in one object: as in the decoder, the last one read wins).
**
** The text, once whole and ended (pjson_end), is its own closing: cut is
** its length and no closer is added (what the JSON decoder gives for the
** text is the value). Text that is not JSON stops the reader (err): the
** cut stays where the last good prefix ended. Nesting deeper than
** PJSON_MAX_DEPTH stops it too.
*/
#ifndef OPENAI_PJSON_H
#define OPENAI_PJSON_H

#include <stddef.h>

#define PJSON_MAX_DEPTH 64

typedef struct {
  size_t pos;        /* bytes read so far */
  size_t cut;        /* text[0..cut) + the closers is the value so far; 0: none yet */
  int cut_depth;     /* containers open at cut */
  int cut_quote;     /* a string is open at cut: '"' closes it first */
  int depth;         /* containers open at pos */
  int state;         /* what comes next (pjson.c) */
  int err;           /* not JSON, or too deep: the reader stopped */
  int in_key;        /* the string being read is an object key */
  int esc;           /* in a string: 0, 1 after '\', 2..5 reading \u's hex digits */
  int utf8_need;     /* continuation bytes still due in a string */
  int want_low;      /* a \u high surrogate read: its low half must follow */
  int after_high;    /* the \u just read was the high half: 1 '\' due, 2 'u' due */
  unsigned unit;     /* the \u code unit being read */
  unsigned char stack[PJSON_MAX_DEPTH];   /* '{' or '[' of each open container */
} pjson;

void pjson_init(pjson *p);

/* read the next n bytes of the text */
void pjson_feed(pjson *p, const char *s, size_t n);

/* the text ends here: a number or literal at the top level is complete */
void pjson_end(pjson *p);

/* the closing characters of the value so far into out (room for
** PJSON_MAX_DEPTH + 1); their count */
size_t pjson_closers(const pjson *p, char *out);

/* 1 when a whole top-level value has been read (and ended, for a number
** or literal) */
int pjson_complete(const pjson *p);

#endif
