/*
** ljson.c: JSON text straight onto the Lua stack (see ljson.h for what it
** decodes and what it leaves to cjson).
**
** The text is read with its terminating NUL as the sentinel: no byte
** test matches NUL except the string loop's "below 0x20", so every loop
** stops at the end (or at an embedded NUL, which is then declined) without
** a bounds test, and nothing past s[len] is read.
**
** A table is made once its size is known: the values of an object or an
** array wait on the Lua stack (up to PENDING of them), then the table is
** created at that size and filled; a longer one grows from there as
** cjson's do. Keys are set in the text's order, so the last of duplicate
** keys wins, as with cjson.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"

#include "ljson.h"

/* values waiting on the stack before their table is made at that size;
** with the depth bound it keeps the stack under 5.1's 8000 C slots */
#define PENDING 16

/* a string with escapes up to this length is unescaped on the C stack */
#define SHORT_ESCAPED 256

typedef struct {
  lua_State *L;
  const char *p;     /* the next byte to read */
  const char *end;   /* the text's NUL */
  int mt;            /* the stack index of the empty arrays' metatable, or 0 */
  int depth;
} decoder;

static int value(decoder *d);

static const char *skip_space(const char *p) {
  while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t') p++;
  return p;
}

static int is_digit(char c) {
  return c >= '0' && c <= '9';
}

/* {=================================================================
** strings
** ================================================================== */

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* the 4 hex digits at p as a number, or -1 (stops at the first non-digit,
** so never reads past a NUL) */
static long hex4(const char *p) {
  long v = 0;
  int i;
  for (i = 0; i < 4; i++) {
    int h = hex_value(p[i]);
    if (h < 0) return -1;
    v = v * 16 + h;
  }
  return v;
}

/* the code point of the \u escape at p (p at the 'u'), its length in *n
** (5 or 11 with a surrogate pair); -1 for what cjson refuses: bad hex, a
** lone or misordered surrogate */
static long unicode_escape(const char *p, int *n) {
  long cp = hex4(p + 1), low;
  *n = 5;
  if (cp < 0 || (cp >= 0xDC00 && cp <= 0xDFFF)) return -1;
  if (cp < 0xD800 || cp > 0xDBFF) return cp;
  if (p[5] != '\\' || p[6] != 'u') return -1;
  low = hex4(p + 7);
  if (low < 0xDC00 || low > 0xDFFF) return -1;
  *n = 11;
  return 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
}

/* cp as UTF-8 at out; the number of bytes */
static int put_utf8(char *out, long cp) {
  if (cp < 0x80) {
    out[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (char)(0xE0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (char)(0xF0 | (cp >> 18));
  out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  out[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

/* the one-character escapes, by the byte after the backslash; 0: none */
static char simple_escape(char c) {
  switch (c) {
  case '"': return '"';
  case '\\': return '\\';
  case '/': return '/';
  case 'b': return '\b';
  case 'f': return '\f';
  case 'n': return '\n';
  case 'r': return '\r';
  case 't': return '\t';
  default: return 0;
  }
}

/* the string from p (after its opening quote) to its closing quote,
** unescaped into out (room for at least its escaped length); its length
** in *len and the byte after the quote, or NULL to decline */
static const char *unescape(const char *p, char *out, size_t *len) {
  size_t n = 0;
  for (;;) {
    unsigned char c = (unsigned char)*p;
    if (c == '"') break;
    if (c < 0x20) return NULL;
    if (c != '\\') {
      out[n++] = (char)c;
      p++;
    } else if (p[1] == 'u') {
      int used;
      long cp = unicode_escape(p + 1, &used);
      if (cp < 0) return NULL;
      n += (size_t)put_utf8(out + n, cp);
      p += 1 + used;
    } else {
      char e = simple_escape(p[1]);
      if (e == 0) return NULL;
      out[n++] = e;
      p += 2;
    }
  }
  *len = n;
  return p + 1;
}

/* a string with escapes, from start (after the quote) whose first escape
** is at esc: its end is found first (any escaped quote skipped); then it
** is unescaped into a buffer at least that long (UTF-8 of a \u escape is
** never longer than the escape) */
static int escaped_string(decoder *d, const char *start, const char *esc) {
  lua_State *L = d->L;
  char small[SHORT_ESCAPED];
  char *out = small;
  const char *p = esc, *after;
  size_t span, len;
  while (*p != '"') {
    if (*p == '\\') p++;              /* the escaped byte is skipped */
    if (*p == '\0') return 0;         /* the end (or a NUL: declined either way) */
    p++;
  }
  span = (size_t)(p - start);
  small[0] = '\0';                      /* (quiets gcc: unescape writes the rest) */
  if (span > sizeof small) out = (char *)lua_newuserdata(L, span);
  after = unescape(start, out, &len);
  if (after == NULL) {
    if (out != small) lua_pop(L, 1);
    return 0;
  }
  lua_pushlstring(L, out, len);
  if (out != small) lua_remove(L, -2);
  d->p = after;
  return 1;
}

#define ONES  UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

/* a mask whose lowest set bit marks the first byte of the 8 at p that is
** a quote, a backslash or below 0x20 (bits above it may be false hits;
** bytes >= 0x80 never hit), 0 when none is; little-endian byte order */
static uint64_t stops8(const char *p) {
  uint64_t x, q, b;
  memcpy(&x, p, 8);
  q = x ^ (ONES * '"');
  b = x ^ (ONES * '\\');
  return (((q - ONES) & ~q) | ((b - ONES) & ~b) | ((x - ONES * 0x20) & ~x)) & HIGHS;
}

/* the string whose opening quote d->p is at; whole 8-byte words are
** looked at while they end inside the text, then byte by byte */
static int string_value(decoder *d) {
  const char *start = d->p + 1, *p = start;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && defined(__GNUC__)
  while (d->end - p >= 8) {
    uint64_t m = stops8(p);
    if (m != 0) {
      p += __builtin_ctzll(m) >> 3;
      break;
    }
    p += 8;
  }
#endif
  for (;;) {
    unsigned char c = (unsigned char)*p;
    if (c == '"') break;
    if (c == '\\') return escaped_string(d, start, p);
    if (c < 0x20) return 0;           /* a control byte, a NUL, the end */
    p++;
  }
  lua_pushlstring(d->L, start, (size_t)(p - start));
  d->p = p + 1;
  return 1;
}

/* }================================================================== */

/* a number in JSON's grammar, pushed as cjson does (strtod's double; an
** integer of up to 15 digits is exact in a double, so it is made without
** strtod). strtod must end where the grammar did: in a locale whose
** decimal point is not '.', it does not, and cjson decides */
static int number_value(decoder *d) {
  const char *start = d->p, *p = start;
  uint64_t u = 0;
  int neg = 0, digits = 0, integral = 1;
  if (*p == '-') {
    neg = 1;
    p++;
  }
  if (*p == '0') {
    p++;
    digits = 1;
  } else if (*p >= '1' && *p <= '9') {
    for (; is_digit(*p); p++, digits++) u = u * 10 + (uint64_t)(*p - '0');
  } else {
    return 0;
  }
  if (*p == '.') {
    integral = 0;
    if (!is_digit(*++p)) return 0;
    while (is_digit(*p)) p++;
  }
  if (*p == 'e' || *p == 'E') {
    integral = 0;
    p++;
    if (*p == '+' || *p == '-') p++;
    if (!is_digit(*p)) return 0;
    while (is_digit(*p)) p++;
  }
  if (integral && digits <= 15) {
    double v = (double)u;
    lua_pushnumber(d->L, neg ? -v : v);     /* -0 is -0.0, as strtod's */
  } else {
    char *e;
    double v = strtod(start, &e);
    if (e != p) return 0;
    lua_pushnumber(d->L, v);
  }
  d->p = p;
  return 1;
}

/* true, false, null (cjson's null: the NULL light userdata) */
static int literal_value(decoder *d) {
  const char *p = d->p;
  if (p[0] == 't' && p[1] == 'r' && p[2] == 'u' && p[3] == 'e') {
    lua_pushboolean(d->L, 1);
    d->p = p + 4;
  } else if (p[0] == 'f' && p[1] == 'a' && p[2] == 'l' && p[3] == 's' && p[4] == 'e') {
    lua_pushboolean(d->L, 0);
    d->p = p + 5;
  } else if (p[0] == 'n' && p[1] == 'u' && p[2] == 'l' && p[3] == 'l') {
    lua_pushlightuserdata(d->L, NULL);
    d->p = p + 4;
  } else {
    return 0;
  }
  return 1;
}

/* {=================================================================
** objects and arrays: slot is the table's stack index (a nil until it is
** made), its values wait above it
** ================================================================== */

/* enter a table: its slot pushed; 0 when too deep or the stack is full */
static int open_table(decoder *d) {
  if (++d->depth > LJSON_MAX_DEPTH || !lua_checkstack(d->L, 2 * PENDING + 8)) return 0;
  lua_pushnil(d->L);
  return 1;
}

/* the object for the n key/value pairs waiting above slot, set in order */
static void make_object(lua_State *L, int slot, int n) {
  int i;
  lua_createtable(L, 0, n);
  lua_replace(L, slot);
  for (i = 0; i < n; i++) {
    lua_pushvalue(L, slot + 1 + 2 * i);
    lua_pushvalue(L, slot + 2 + 2 * i);
    lua_rawset(L, slot);
  }
  lua_settop(L, slot);
}

/* the array for the n values waiting above slot */
static void make_array(lua_State *L, int slot, int n) {
  lua_createtable(L, n, 0);
  lua_replace(L, slot);
  for (; n > 0; n--) lua_rawseti(L, slot, n);
}

/* {} or [] */
static void empty_table(decoder *d, int array) {
  lua_State *L = d->L;
  lua_createtable(L, 0, 0);
  if (array && d->mt != 0) {
    lua_pushvalue(L, d->mt);
    lua_setmetatable(L, -2);
  }
  lua_replace(L, -2);
}

/* the object whose '{' d->p is at */
static int object_value(decoder *d) {
  lua_State *L = d->L;
  const char *p = skip_space(d->p + 1);
  int slot, n = 0, made = 0;
  if (!open_table(d)) return 0;
  slot = lua_gettop(L);
  if (*p == '}') {
    empty_table(d, 0);
  } else {
    for (;;) {
      if (*p != '"') return 0;
      d->p = p;
      if (!string_value(d)) return 0;
      p = skip_space(d->p);
      if (*p != ':') return 0;
      d->p = skip_space(p + 1);
      if (!value(d)) return 0;
      if (made) {
        lua_rawset(L, slot);
      } else if (++n == PENDING) {
        make_object(L, slot, n);
        made = 1;
      }
      p = skip_space(d->p);
      if (*p == '}') break;
      if (*p != ',') return 0;
      p = skip_space(p + 1);
    }
    if (!made) make_object(L, slot, n);
  }
  d->p = p + 1;
  d->depth--;
  return 1;
}

/* the array whose '[' d->p is at */
static int array_value(decoder *d) {
  lua_State *L = d->L;
  const char *p = skip_space(d->p + 1);
  int slot, n = 0, made = 0;
  if (!open_table(d)) return 0;
  slot = lua_gettop(L);
  if (*p == ']') {
    empty_table(d, 1);
  } else {
    for (;;) {
      d->p = p;
      if (!value(d)) return 0;
      n++;
      if (made) {
        if (n == INT32_MAX) return 0;
        lua_rawseti(L, slot, n);
      } else if (n == PENDING) {
        make_array(L, slot, n);
        made = 1;
      }
      p = skip_space(d->p);
      if (*p == ']') break;
      if (*p != ',') return 0;
      p = skip_space(p + 1);
    }
    if (!made) make_array(L, slot, n);
  }
  d->p = p + 1;
  d->depth--;
  return 1;
}

/* }================================================================== */

static int value(decoder *d) {
  switch (*d->p) {
  case '{': return object_value(d);
  case '[': return array_value(d);
  case '"': return string_value(d);
  case 't': case 'f': case 'n': return literal_value(d);
  case '-': case '0': case '1': case '2': case '3': case '4':
  case '5': case '6': case '7': case '8': case '9': return number_value(d);
  default: return 0;
  }
}

int ljson_decode(lua_State *L, const char *s, size_t len, int mt) {
  int top = lua_gettop(L);
  decoder d;
  d.L = L;
  d.p = skip_space(s);
  d.end = s + len;
  d.mt = mt;
  d.depth = 0;
  if (lua_checkstack(L, 4) && value(&d) && skip_space(d.p) == s + len) return 1;
  lua_settop(L, top);
  return 0;
}
