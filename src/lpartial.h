/*
** lpartial.h: openai.partial, a JSON text read as it arrives (src/pjson.c)
** with its value so far decoded by the C decoder (src/ljson.c).
*/
#ifndef OPENAI_LPARTIAL_H
#define OPENAI_LPARTIAL_H

#include "lua.h"

#define LPARTIAL_MT "openai.partial"

/* add partial_new to the table on top of the stack, and register the
** metatable LPARTIAL_MT */
void lpartial_open(lua_State *L);

#endif
