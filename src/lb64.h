/*
** lb64.h: base64 for Lua (src/b64.c): wire.b64_encode, wire.b64_decode.
*/
#ifndef OPENAI_LB64_H
#define OPENAI_LB64_H

#include "lua.h"

/* add b64_encode and b64_decode to the table on top of the stack */
void lb64_open(lua_State *L);

#endif
