/*
** lhttp1.h: the Lua binding of the HTTP/1.1 and SSE parsers and of the
** retry policy, for transports without curl (see lhttp1.c).
*/
#ifndef OPENAI_LHTTP1_H
#define OPENAI_LHTTP1_H

#include "lua.h"

/* add http1, sse and retry_decide to the table on top of the stack */
void lhttp1_open(lua_State *L);

#endif
