/*
** pjson.c: the value so far of a JSON text still arriving (see pjson.h).
**
** One byte at a time, a state says what may come next. The cut moves
** forward only where the text read so far, closed, is JSON: after a
** complete value (its container's closers follow), after an opening
** bracket, and inside a string value after each complete character (a
** '"' goes first). A key, a ':' and a ',' never move it, so a member being
** written is left out until its value starts (a string or a container) or
** ends (a number or literal).
*/
#include <string.h>

#include "pjson.h"

enum {
  S_VALUE,       /* a value: the top level, after ':', after ',' in an array */
  S_ARR_FIRST,   /* a value or ']' */
  S_OBJ_FIRST,   /* a key or '}' */
  S_OBJ_KEY,     /* a key (after ',') */
  S_COLON,       /* ':' after a key */
  S_AFTER,       /* ',' or the closer, after a value inside a container */
  S_STRING,
  S_NUMBER,
  S_LITERAL,     /* true, false or null, still being read */
  S_END          /* the top-level value is complete: only whitespace */
};

void pjson_init(pjson *p) {
  memset(p, 0, sizeof *p);
  p->state = S_VALUE;
}

static int is_space(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int is_number_byte(unsigned char c) {
  return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

static int hex_value(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static void set_cut(pjson *p, size_t at, int quote) {
  p->cut = at;
  p->cut_depth = p->depth;
  p->cut_quote = quote;
}

/* a value ended just before byte `at` */
static void value_done(pjson *p, size_t at) {
  set_cut(p, at, 0);
  p->state = p->depth == 0 ? S_END : S_AFTER;
}

/* a character of a string value is complete up to `at` */
static void string_char(pjson *p, size_t at) {
  if (!p->in_key) set_cut(p, at, 1);
}

static void open_container(pjson *p, unsigned char c) {
  if (p->depth == PJSON_MAX_DEPTH) {
    p->err = 1;
    return;
  }
  p->stack[p->depth++] = c;
  set_cut(p, p->pos + 1, 0);
  p->state = c == '{' ? S_OBJ_FIRST : S_ARR_FIRST;
}

static void close_container(pjson *p, unsigned char c) {
  unsigned char open = c == '}' ? '{' : '[';
  if (p->depth == 0 || p->stack[p->depth - 1] != open) {
    p->err = 1;
    return;
  }
  p->depth--;
  value_done(p, p->pos + 1);
}

/* the first byte of a value */
static void start_value(pjson *p, unsigned char c) {
  if (c == '{' || c == '[') open_container(p, c);
  else if (c == '"') {
    p->state = S_STRING;
    p->in_key = 0;
    string_char(p, p->pos + 1);
  } else if (c == '-' || (c >= '0' && c <= '9')) p->state = S_NUMBER;
  else if (c == 't' || c == 'f' || c == 'n') p->state = S_LITERAL;
  else p->err = 1;
}

/* a \u code unit is read: a whole character, a high half waiting for its
** low one, or (a lone half) not JSON the decoder takes */
static void unit_done(pjson *p) {
  unsigned u = p->unit;
  p->esc = 0;
  if (p->want_low) {
    p->want_low = 0;
    if (u < 0xDC00 || u > 0xDFFF) p->err = 1;
    else string_char(p, p->pos + 1);
  } else if (u >= 0xD800 && u <= 0xDBFF) {
    p->want_low = 1;
    p->after_high = 1;
  } else if (u >= 0xDC00 && u <= 0xDFFF) {
    p->err = 1;
  } else {
    string_char(p, p->pos + 1);
  }
}

static void escape_byte(pjson *p, unsigned char c) {
  if (p->esc == 1) {
    if (c == 'u') {
      p->esc = 2;
      p->unit = 0;
    } else if (p->want_low || !strchr("\"\\/bfnrt", c) || c == 0) {
      p->err = 1;
    } else {
      p->esc = 0;
      string_char(p, p->pos + 1);
    }
    return;
  }
  if (hex_value(c) < 0) {
    p->err = 1;
    return;
  }
  p->unit = p->unit * 16 + (unsigned)hex_value(c);
  if (++p->esc == 6) unit_done(p);
}

static void string_byte(pjson *p, unsigned char c) {
  if (p->esc) {
    escape_byte(p, c);
    return;
  }
  if (p->after_high) {                 /* "\uD83D" must go on with "\u" */
    if ((p->after_high == 1 && c != '\\') || (p->after_high == 2 && c != 'u')) {
      p->err = 1;
      return;
    }
    if (p->after_high++ == 2) {
      p->after_high = 0;
      p->esc = 2;
      p->unit = 0;
    }
    return;
  }
  if (c < 0x20) p->err = 1;
  else if (c == '\\') p->esc = 1;
  else if (c == '"') {
    p->utf8_need = 0;                  /* bytes that are not UTF-8 are the decoder's business */
    if (p->in_key) p->state = S_COLON;
    else value_done(p, p->pos + 1);
  } else if (c < 0x80) {
    p->utf8_need = 0;
    string_char(p, p->pos + 1);
  } else if (c < 0xC0) {               /* a continuation byte */
    if (p->utf8_need > 0 && --p->utf8_need == 0) string_char(p, p->pos + 1);
  } else {
    p->utf8_need = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : 1;
  }
}

/* a byte between tokens */
static void structural_byte(pjson *p, unsigned char c) {
  if (is_space(c)) return;
  switch (p->state) {
  case S_VALUE: start_value(p, c); break;
  case S_ARR_FIRST:
    if (c == ']') close_container(p, c); else start_value(p, c);
    break;
  case S_OBJ_FIRST:
  case S_OBJ_KEY:
    if (c == '}' && p->state == S_OBJ_FIRST) close_container(p, c);
    else if (c == '"') {
      p->state = S_STRING;
      p->in_key = 1;
    } else p->err = 1;
    break;
  case S_COLON:
    if (c == ':') p->state = S_VALUE; else p->err = 1;
    break;
  case S_AFTER:
    if (c == ',') p->state = p->stack[p->depth - 1] == '{' ? S_OBJ_KEY : S_VALUE;
    else if (c == '}' || c == ']') close_container(p, c);
    else p->err = 1;
    break;
  default: p->err = 1;                 /* S_END: only whitespace may follow */
  }
}

static void step(pjson *p, unsigned char c) {
  if (p->state == S_STRING) {
    string_byte(p, c);
    return;
  }
  if (p->state == S_NUMBER || p->state == S_LITERAL) {
    if (p->state == S_NUMBER ? is_number_byte(c) : (c >= 'a' && c <= 'z')) return;
    value_done(p, p->pos);             /* the byte after a number or literal */
  }
  structural_byte(p, c);
}

void pjson_feed(pjson *p, const char *s, size_t n) {
  size_t i;
  for (i = 0; i < n && !p->err; i++) {
    step(p, (unsigned char)s[i]);
    if (!p->err) p->pos++;
  }
}

void pjson_end(pjson *p) {
  if (!p->err && p->depth == 0 && (p->state == S_NUMBER || p->state == S_LITERAL)) value_done(p, p->pos);
}

size_t pjson_closers(const pjson *p, char *out) {
  size_t n = 0;
  int i;
  if (p->cut_quote) out[n++] = '"';
  for (i = p->cut_depth - 1; i >= 0; i--) out[n++] = p->stack[i] == '{' ? '}' : ']';
  return n;
}

int pjson_complete(const pjson *p) {
  return p->state == S_END && !p->err;
}
