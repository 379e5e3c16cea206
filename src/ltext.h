/*
** ltext.h: a growing text in C memory (`openai.text`), what a stream
** assembles for result() and text(): appending copies the bytes, so the
** pieces do not stay alive as Lua strings, and nothing is joined in Lua.
*/
#ifndef OPENAI_LTEXT_H
#define OPENAI_LTEXT_H

#include <stddef.h>

#include "lua.h"

#define LTEXT_MT "openai.text"

typedef struct {
  char *data;        /* malloc'd, NULL when nothing was appended or closed */
  size_t len, cap;
  int used;          /* something (maybe "") was appended */
} ltext;

/* append s[0..n) to t (raises a memory error when it cannot grow) */
void ltext_append(lua_State *L, ltext *t, const char *s, size_t n);

/* add text_new, text_append and text_string to the table on top of the
** stack, and register the metatable LTEXT_MT */
void ltext_open(lua_State *L);

#endif
