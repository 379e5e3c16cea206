/*
** test_pjson.c: the value so far of a JSON text still arriving (src/pjson.c).
*/
#include <stdlib.h>

#include "pjson.h"
#include "tap.h"

/* the value so far of s read whole: the kept prefix and its closers */
static char closed[4096];
static size_t closed_len;

static const pjson *read_all(pjson *p, const char *s, int end) {
  char cl[PJSON_MAX_DEPTH + 1];
  size_t k;
  pjson_init(p);
  pjson_feed(p, s, strlen(s));
  if (end) pjson_end(p);
  memcpy(closed, s, p->cut);
  k = pjson_closers(p, cl);
  memcpy(closed + p->cut, cl, k);
  closed_len = p->cut + k;
  return p;
}

#define SO_FAR(text, want) do { pjson p_; read_all(&p_, text, 0); \
    TAP_EQ_STR(closed, closed_len, want, "so far of '" text "'"); } while (0)

static void test_objects(void) {
  SO_FAR("", "");
  SO_FAR("  ", "");
  SO_FAR("{", "{}");
  SO_FAR("{\"na", "{}");
  SO_FAR("{\"name\"", "{}");
  SO_FAR("{\"name\": ", "{}");
  SO_FAR("{\"name\": \"", "{\"name\": \"\"}");
  SO_FAR("{\"name\": \"Ar", "{\"name\": \"Ar\"}");
  SO_FAR("{\"name\": \"Ara\",", "{\"name\": \"Ara\"}");
  SO_FAR("{\"name\": \"Ara\", \"level\": 1", "{\"name\": \"Ara\"}");
  SO_FAR("{\"name\": \"Ara\", \"level\": 12,", "{\"name\": \"Ara\", \"level\": 12}");
  SO_FAR("{\"ok\": tr", "{}");
  SO_FAR("{\"ok\": true}", "{\"ok\": true}");
  SO_FAR("{\"a\": {\"b\": [1, 2, ", "{\"a\": {\"b\": [1, 2]}}");
  SO_FAR("{\"a\": {\"b\": [1, 2, {", "{\"a\": {\"b\": [1, 2, {}]}}");
  SO_FAR("{\"lines\": [\"Hel", "{\"lines\": [\"Hel\"]}");
  SO_FAR("[", "[]");
  SO_FAR("[1", "[]");
  SO_FAR("\"abc", "\"abc\"");
}

static void test_strings(void) {
  SO_FAR("{\"s\": \"a\\", "{\"s\": \"a\"}");
  SO_FAR("{\"s\": \"a\\n", "{\"s\": \"a\\n\"}");
  SO_FAR("{\"s\": \"a\\u00", "{\"s\": \"a\"}");
  SO_FAR("{\"s\": \"a\\u00e9", "{\"s\": \"a\\u00e9\"}");
  SO_FAR("{\"s\": \"\\ud83d", "{\"s\": \"\"}");
  SO_FAR("{\"s\": \"\\ud83d\\ude00", "{\"s\": \"\\ud83d\\ude00\"}");
  SO_FAR("{\"s\": \"\xc3", "{\"s\": \"\"}");
  SO_FAR("{\"s\": \"\xc3\xa9", "{\"s\": \"\xc3\xa9\"}");
  SO_FAR("{\"s\": \"\xe2\x82", "{\"s\": \"\"}");
  SO_FAR("{\"k\\u0041\": \"v", "{\"k\\u0041\": \"v\"}");
}

static void test_complete_and_errors(void) {
  pjson p;
  const char *whole = "{\"a\": [1, {\"b\": null}], \"c\": \"d\"} ";
  read_all(&p, whole, 0);
  TAP_OK(pjson_complete(&p) && p.cut == strlen(whole) - 1 && closed_len == p.cut,
         "a whole object is its own closing");
  read_all(&p, "12", 0);
  TAP_OK(!pjson_complete(&p) && p.cut == 0, "a top-level number may still grow");
  read_all(&p, "12", 1);
  TAP_OK(pjson_complete(&p) && p.cut == 2, "ended, it is whole");
  read_all(&p, "{\"a\": 1} x", 0);
  TAP_OK(p.err && p.cut == 8, "bytes after the value stop the reader; the value stays");
  read_all(&p, "{\"a\" 1}", 0);
  TAP_OK(p.err && p.cut == 1, "a missing colon stops the reader");
  read_all(&p, "[1}", 0);
  TAP_OK(p.err, "a mismatched closer stops the reader");
  read_all(&p, "{\"s\": \"\\ud83dx\"}", 0);
  TAP_OK(p.err, "a lone high surrogate stops the reader");
  read_all(&p, "{\"s\": \"\\q\"}", 0);
  TAP_OK(p.err, "an unknown escape stops the reader");
  read_all(&p, "{\"s\": \"a\tb\"}", 0);
  TAP_OK(p.err, "a control byte in a string stops the reader");
}

static void test_depth_and_pieces(void) {
  char deep[2 * PJSON_MAX_DEPTH + 4];
  const char *text = "{\"name\": \"Ara\", \"lines\": [\"Hello\", \"Bye\"], \"hp\": 10}";
  pjson whole, bytes;
  size_t i;
  memset(deep, '[', PJSON_MAX_DEPTH);
  deep[PJSON_MAX_DEPTH] = 0;
  read_all(&whole, deep, 0);
  TAP_OK(!whole.err && whole.cut_depth == PJSON_MAX_DEPTH, "the deepest nesting is read");
  deep[PJSON_MAX_DEPTH] = '[';
  deep[PJSON_MAX_DEPTH + 1] = 0;
  read_all(&whole, deep, 0);
  TAP_OK(whole.err && whole.cut == PJSON_MAX_DEPTH, "one deeper stops the reader");
  read_all(&whole, text, 0);
  pjson_init(&bytes);
  for (i = 0; text[i]; i++) pjson_feed(&bytes, text + i, 1);
  TAP_OK(bytes.cut == whole.cut && pjson_complete(&bytes), "a byte at a time reads the same");
}

int main(void) {
  test_objects();
  test_strings();
  test_complete_and_errors();
  test_depth_and_pieces();
  return tap_done("test_pjson");
}
