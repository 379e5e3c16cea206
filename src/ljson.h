/*
** ljson.h: a JSON decoder straight onto the Lua stack, for the texts the
** client reads most (a typed answer, a stream event). It decodes a strict
** subset of JSON exactly as Debian's lua-cjson 2.1.0 does (numbers as
** lua_Number, null as the NULL light userdata, the last of duplicate keys
** kept), and declines everything else, so that cjson decides it: then the
** caller decodes with cjson, which gives the same value or its own error.
**
** Declined: nesting deeper than LJSON_MAX_DEPTH, a byte below 0x20 in a
** string, any escape but the JSON ones, a \u escape that is a lone or
** misordered surrogate, a number outside JSON's grammar (cjson also takes
** hex, inf, nan), whitespace other than space, tab, CR and LF, anything
** after the value, a stack that cannot grow. Unlike cjson's, tables are
** made at their final size (no rehash while filling), empty arrays get the
** array metatable given (cjson 2.1.0 cannot tell [] from {}), and strings
** without escapes go to Lua straight from the text.
*/
#ifndef OPENAI_LJSON_H
#define OPENAI_LJSON_H

#include <stddef.h>

#include "lua.h"

#define LJSON_MAX_DEPTH 64

/* decode s[0..len) (s[len] must be readable and NUL, as a Lua string's
** is) and push the value: 1; or push nothing: 0 (declined, see above).
** mt: the absolute stack index of the metatable for empty arrays, 0 for
** none. May raise a Lua memory error, holding no C memory. */
int ljson_decode(lua_State *L, const char *s, size_t len, int mt);

#endif
