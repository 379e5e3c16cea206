/*
** test_check.c: the url, header and segment checks (src/check.c).
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tap.h"

#include "ref_check.h"

#define R_NOT_PATH    "must be a path starting with '/'"
#define R_ABSOLUTE    "must not be an absolute or scheme-relative URL"
#define R_RAW_CTRL    "must not contain control characters, spaces or backslashes"
#define R_NON_ASCII   "must contain only ASCII characters (percent-encode the rest)"
#define R_FRAGMENT    "must not contain a fragment ('#')"
#define R_AT          "must not contain '@' before the query"
#define R_BAD_ESCAPE  "has an invalid percent-escape"
#define R_ENC_CTRL    "must not contain encoded control characters"
#define R_DOT_SEGMENT "must not contain '.' or '..' segments"

/* a printable rendering of s[0..len) for test names */
static const char *show(const char *s, size_t len) {
  static char buf[256];
  size_t i, n = 0;
  for (i = 0; i < len && n + 5 < sizeof buf; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c < 0x7f && c != '\\') buf[n++] = (char)c;
    else n += (size_t)snprintf(buf + n, sizeof buf - n, "\\x%02x", c);
  }
  buf[n] = '\0';
  return buf;
}

/* the paths that pass */
static void test_paths_allowed(void) {
  static const char *const ok[] = {
    "/v1/models",
    "/models",
    "/",
    "/v1/files/file-abc123/content",
    "/v1/models/ft%3Agpt-4o%3Aorg",
    "/v1/models/ft:gpt-4o:org",
    "/v1/chat/completions?foo=bar&x=%20y",
    "/v1/a-b_c~d.e",
    "/v1/threads/thread_1/messages",
    "/v1/images/generations",
    "/v1/files?purpose=fine-tune&limit=10",
    "/v1/x?email=a@b.c",
    "/v1/x?a=..&b=./",
    "/v1/x?next=/../../etc",
    "/v1/x?q=%2e%2e",
    "/v1/...",
    "/v1/.well-known",
    "/v1/a..b",
    "/v1/..a",
    "/v1/a.",
    "/v1/x/",
    "/v1//models",
    "/v1/models/org%2Fmodel",
    "/v1/%C3%A9t%C3%A9",
    "/v1/%7e",
    "/v1/a%25zz",
    "/v1/x?",
    "/?q",
    "/v1/x;v=1",
    "/v1/x,y",
    "/v1/x'y",
  };
  size_t i;
  for (i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    const char *r = check_path(ok[i], strlen(ok[i]));
    TAP_OK(r == NULL, "path '%s' allowed (got '%s')", ok[i], r ? r : "ok");
  }
}

/* the paths that are refused, with the reason */
static void test_paths_refused(void) {
  static const struct { const char *s; size_t len; const char *reason; } bad[] = {
#define B(lit, reason) { lit, sizeof(lit) - 1, reason }
    B("", R_NOT_PATH),
    B("v1/models", R_NOT_PATH),
    B("models", R_NOT_PATH),
    B(".", R_NOT_PATH),
    B("?x=1", R_NOT_PATH),
    B(" /v1/models", R_NOT_PATH),
    B("https://x", R_ABSOLUTE),
    B("HTTP://x", R_ABSOLUTE),
    B("http://api.openai.com/v1/models", R_ABSOLUTE),
    B("javascript:x", R_ABSOLUTE),
    B("file:///etc/passwd", R_ABSOLUTE),
    B("mailto:a@b", R_ABSOLUTE),
    B("x:", R_ABSOLUTE),
    B(":x", R_ABSOLUTE),
    B("//host/x", R_ABSOLUTE),
    B("//", R_ABSOLUTE),
    B("///x", R_ABSOLUTE),
    B("/%2Fhost/x", R_ABSOLUTE),
    B("/%2fhost/x", R_ABSOLUTE),
    B("/%5Chost/x", R_ABSOLUTE),
    B("/\\host", R_RAW_CTRL),
    B("/\\\\host/x", R_RAW_CTRL),
    B("/v1\\..\\x", R_RAW_CTRL),
    B("/v1/models\r\nHost: evil", R_RAW_CTRL),
    B("/v1/models\n", R_RAW_CTRL),
    B("/v1/models\r", R_RAW_CTRL),
    B("/v1/\tx", R_RAW_CTRL),
    B("/v1/mo dels", R_RAW_CTRL),
    B("/v1/models ", R_RAW_CTRL),
    B("/v1/\x7f", R_RAW_CTRL),
    B("/v1/\x01", R_RAW_CTRL),
    B("/v1/\x1f", R_RAW_CTRL),
    B("/v1/models\0/evil", R_RAW_CTRL),
    B("/v1/x?q=a b", R_RAW_CTRL),
    B("/v1/x?q=\r\n", R_RAW_CTRL),
    B("/v1/\xc3\xa9", R_NON_ASCII),
    B("/v1/\x80", R_NON_ASCII),
    B("/v1/\xff", R_NON_ASCII),
    B("/v1/x?q=\xc3\xa9", R_NON_ASCII),
    B("/v1/models#frag", R_FRAGMENT),
    B("/#", R_FRAGMENT),
    B("/v1/x?q=1#frag", R_FRAGMENT),
    B("/@host", R_AT),
    B("/v1/user@host/x", R_AT),
    B("/v1/%zz", R_BAD_ESCAPE),
    B("/v1/%4", R_BAD_ESCAPE),
    B("/v1/%", R_BAD_ESCAPE),
    B("/v1/%%41", R_BAD_ESCAPE),
    B("/v1/%g0", R_BAD_ESCAPE),
    B("/v1/%0g", R_BAD_ESCAPE),
    B("/v1/x?q=%", R_BAD_ESCAPE),
    B("/v1/x?q=%2", R_BAD_ESCAPE),
    B("/v1/%0d%0aHost:%20evil", R_ENC_CTRL),
    B("/v1/%0D%0A", R_ENC_CTRL),
    B("/v1/%00", R_ENC_CTRL),
    B("/v1/%09", R_ENC_CTRL),
    B("/v1/%1f", R_ENC_CTRL),
    B("/v1/%1F", R_ENC_CTRL),
    B("/v1/%7f", R_ENC_CTRL),
    B("/v1/%7F", R_ENC_CTRL),
    B("/v1/x?q=%0a", R_ENC_CTRL),
    B("/v1/x?q=%00", R_ENC_CTRL),
    B("/..", R_DOT_SEGMENT),
    B("/.", R_DOT_SEGMENT),
    B("/./", R_DOT_SEGMENT),
    B("/../", R_DOT_SEGMENT),
    B("/a/../b", R_DOT_SEGMENT),
    B("/a/./b", R_DOT_SEGMENT),
    B("/v1/..", R_DOT_SEGMENT),
    B("/v1/.", R_DOT_SEGMENT),
    B("/v1/../../etc/passwd", R_DOT_SEGMENT),
    B("/v1/..?x=1", R_DOT_SEGMENT),
    B("/v1/.?x=1", R_DOT_SEGMENT),
    B("/%2e%2e", R_DOT_SEGMENT),
    B("/%2e%2e/x", R_DOT_SEGMENT),
    B("/%2E%2E/x", R_DOT_SEGMENT),
    B("/%2E./x", R_DOT_SEGMENT),
    B("/.%2e/x", R_DOT_SEGMENT),
    B("/%2e/x", R_DOT_SEGMENT),
    B("/v1/%2e", R_DOT_SEGMENT),
    B("/v1%2F..%2Fx", R_DOT_SEGMENT),
    B("/v1%2f..", R_DOT_SEGMENT),
    B("/v1/..%2Fx", R_DOT_SEGMENT),
    B("/v1/..%2fx", R_DOT_SEGMENT),
    B("/v1/..%5Cx", R_DOT_SEGMENT),
    B("/v1/x%5C..%5Cy", R_DOT_SEGMENT),
    B("/v1/x%2F.", R_DOT_SEGMENT),
    B("/v1/x%2F%2E%2E", R_DOT_SEGMENT),
#undef B
  };
  size_t i;
  for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    const char *r = check_path(bad[i].s, bad[i].len);
    TAP_OK(r != NULL && strcmp(r, bad[i].reason) == 0, "path '%s' refused: %s (got '%s')",
           show(bad[i].s, bad[i].len), bad[i].reason, r ? r : "accepted");
  }
  TAP_OK(check_path(NULL, 0) != NULL, "NULL path refused");
  /* the length, not a NUL, ends the input */
  TAP_OK(check_path("/v1/models\r\n", 10) == NULL, "only len bytes are looked at");
  TAP_OK(check_path("/v1/%41", 5) != NULL, "an escape cut by len is invalid");
  /* every single control byte, raw and encoded */
  {
    int c, bad_raw = 0, bad_enc = 0;
    char p[8], e[16];
    for (c = 0; c < 256; c++) {
      const char *r;
      p[0] = '/'; p[1] = 'x'; p[2] = (char)c;
      r = check_path(p, 3);
      if ((c < 0x21 || c == 0x7f || c == '\\' || c >= 0x80 || c == '#' || c == '@' || c == '%')
          != (r != NULL))
        bad_raw++;
      snprintf(e, sizeof e, "/x%%%02X", c);
      r = check_path(e, 5);
      if ((c < 0x20 || c == 0x7f) != (r != NULL)) bad_enc++;
    }
    TAP_EQ_LONG(bad_raw, 0, "each raw byte accepted or refused as it should");
    TAP_EQ_LONG(bad_enc, 0, "each encoded byte accepted or refused as it should");
  }
}

/* header names and values */
static void test_headers(void) {
  static const struct { const char *s; size_t len; int ok; } names[] = {
#define H(lit, ok) { lit, sizeof(lit) - 1, ok }
    H("X-Custom", 1),
    H("OpenAI-Beta", 1),
    H("x", 1),
    H("Idempotency-Key", 1),
    H("!#$%&'*+-.^_`|~09azAZ", 1),
    H("", 0),
    H("X Custom", 0),
    H("X-Custom:", 0),
    H("Host: evil", 0),
    H("X-A\r\nX-B", 0),
    H("X-A\r", 0),
    H("X-A\n", 0),
    H("X-A\0B", 0),
    H("X-\xc3\xa9", 0),
    H("X-\x80", 0),
    H("X-A\t", 0),
    H("X(A)", 0),
    H("X\"A\"", 0),
    H("X/A", 0),
    H("X@A", 0),
    H("X,A", 0),
    H("X;A", 0),
    H("X=A", 0),
    H("X{A}", 0),
    H("X[A]", 0),
    H("X<A>", 0),
    H("X?A", 0),
    H("X\\A", 0),
    H("X\x7f", 0),
  };
  static const struct { const char *s; size_t len; int ok; } values[] = {
    H("", 1),
    H("text/plain", 1),
    H("a\tb", 1),
    H("\t", 1),
    H(" spaced ", 1),
    H("caf\xc3\xa9 \xe2\x82\xac", 1),
    H("x: y; z=\"w\"", 1),
    H("a\x7f", 1),
    H("a\x01", 1),
    H("a\rb", 0),
    H("a\nb", 0),
    H("a\r\nX-Evil: 1", 0),
    H("a\0b", 0),
    H("\r", 0),
    H("\n", 0),
#undef H
  };
  size_t i;
  for (i = 0; i < sizeof names / sizeof names[0]; i++) {
    const char *r = check_header_name(names[i].s, names[i].len);
    TAP_OK((r == NULL) == names[i].ok, "header name '%s' %s (got '%s')",
           show(names[i].s, names[i].len), names[i].ok ? "allowed" : "refused", r ? r : "ok");
  }
  for (i = 0; i < sizeof values / sizeof values[0]; i++) {
    const char *r = check_header_value(values[i].s, values[i].len);
    TAP_OK((r == NULL) == values[i].ok, "header value '%s' %s (got '%s')",
           show(values[i].s, values[i].len), values[i].ok ? "allowed" : "refused", r ? r : "ok");
  }
  TAP_OK(check_header_name("", 0) && strcmp(check_header_name("", 0), "must not be empty") == 0,
         "empty name reason");
  TAP_OK(check_header_name("a\nb", 3) &&
         strcmp(check_header_name("a\nb", 3), "must not contain CR, LF or NUL") == 0,
         "name CR/LF reason");
  TAP_OK(check_header_value("a\nb", 3) &&
         strcmp(check_header_value("a\nb", 3), "must not contain CR, LF or NUL") == 0,
         "value CR/LF reason");
  TAP_OK(check_header_name(NULL, 0) != NULL, "NULL name refused");
  TAP_OK(check_header_value(NULL, 0) == NULL, "NULL empty value allowed");
}

/* model ids as one path segment */
static void test_segments(void) {
  static const struct { const char *s; size_t len; const char *want; } esc[] = {
#define E(lit, want) { lit, sizeof(lit) - 1, want }
    E("gpt-4o", "gpt-4o"),
    E("a/b", "a%2Fb"),
    E("ft:x", "ft%3Ax"),
    E("a b", "a%20b"),
    E("\xc3\xa9", "%C3%A9"),
    E("ft:gpt-4o-mini:org:custom:abc123", "ft%3Agpt-4o-mini%3Aorg%3Acustom%3Aabc123"),
    E("AZaz09-._~", "AZaz09-._~"),
    E("..", ".."),
    E("%", "%25"),
    E("%2e", "%252e"),
    E("?#[]@!$&'()*+,;=", "%3F%23%5B%5D%40%21%24%26%27%28%29%2A%2B%2C%3B%3D"),
    E("a\\b", "a%5Cb"),
    E("\r\n\t", "%0D%0A%09"),
    E("\x7f\xff", "%7F%FF"),
    E("a\0b", "a%00b"),
    E("", ""),
#undef E
  };
  static const struct { const char *s; size_t len; int ok; } segs[] = {
#define S(lit, ok) { lit, sizeof(lit) - 1, ok }
    S("gpt-4o", 1),
    S("ft:gpt-4o:org", 1),
    S("a/b", 1),
    S("a b", 1),
    S("\xc3\xa9", 1),
    S("...", 1),
    S(".a", 1),
    S("", 0),
    S(".", 0),
    S("..", 0),
    S("a\r", 0),
    S("a\nb", 0),
    S("a\0b", 0),
#undef S
  };
  size_t i;
  char out[256];
  for (i = 0; i < sizeof esc / sizeof esc[0]; i++) {
    size_t n;
    memset(out, 'Z', sizeof out);
    n = check_escape_segment(esc[i].s, esc[i].len, out);
    TAP_EQ_STR(out, n, esc[i].want, "escape segment");
    TAP_OK(out[n] == '\0', "escape output NUL-terminated");
  }
  for (i = 0; i < sizeof segs / sizeof segs[0]; i++) {
    const char *r = check_segment(segs[i].s, segs[i].len);
    TAP_OK((r == NULL) == segs[i].ok, "segment '%s' %s (got '%s')", show(segs[i].s, segs[i].len),
           segs[i].ok ? "allowed" : "refused", r ? r : "ok");
  }
  TAP_OK(check_segment(NULL, 0) != NULL, "NULL segment refused");
  {
    /* an escaped model id makes a path that check_path accepts */
    static const char *const ids[] = { "gpt-4o", "ft:gpt-4o:org", "a/b", "...", "a b#c?d",
                                       "\xc3\xa9", "%2e%2e", "@evil" };
    for (i = 0; i < sizeof ids / sizeof ids[0]; i++) {
      char path[256];
      size_t n;
      memcpy(path, "/v1/models/", 11);
      n = 11 + check_escape_segment(ids[i], strlen(ids[i]), path + 11);
      TAP_OK(check_path(path, n) == NULL, "escaped id '%s' makes an acceptable path '%s'",
             ids[i], path);
    }
  }
  {
    /* but an id whose escaped '/' hides a dot segment is caught by check_path */
    char path[64];
    size_t n;
    memcpy(path, "/v1/models/", 11);
    n = 11 + check_escape_segment("a/../b", 6, path + 11);
    TAP_OK(check_path(path, n) != NULL, "escaped id 'a/../b' ('%s') refused by check_path", path);
  }
}

/* check_json_scan on a copy of t[0..len) in a block of its own size (so that
** ASan and valgrind catch a read past the text) agrees with the model: the
** UTF-8 verdict, the number of empty arrays, the empty-object flag */
static int scan_agrees(const unsigned char *t, size_t len) {
  unsigned char *copy = malloc(len ? len : 1);
  int u, a, o, ra, ro, same;
  if (copy == NULL) return 0;
  memcpy(copy, t, len);
  check_json_scan((const char *)copy, len, &u, &a, &o);
  ref_empties(copy, len, &ra, &ro);
  same = u == ref_utf8(copy, len) && a == ra && o == ro;
  free(copy);
  return same;
}

/* check_json_plain on an exact-size copy of t agrees with its model */
static int plain_agrees(const unsigned char *t, size_t len) {
  unsigned char *copy = malloc(len ? len : 1);
  int same;
  if (copy == NULL) return 0;
  memcpy(copy, t, len);
  same = check_json_plain((const char *)copy, len) == ref_plain(copy, len);
  free(copy);
  return same;
}

/* a string ending, then each of outsides[] outside strings, at every
** offset around the 16-, 32- and 64-byte marks, then a second string
** ending at every step-th offset after (its last bytes: end); how many
** texts `agrees` refused, and *checked how many there were */
static int around_steps(const char *const *outsides, int n, const char *end, int step,
                        int (*agrees)(const unsigned char *, size_t), int *checked) {
  static const char as[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  static const char bs[] = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
  int pad, pad2, m, bad = 0;
  *checked = 0;
  for (m = 0; m < n; m++) {
    for (pad = 0; pad < 80; pad++) {
      for (pad2 = 0; pad2 < 72; pad2 += step) {
        char text[256];
        snprintf(text, sizeof text, "{\"k\":\"%.*s\"%s,\"z\":\"%.*s%s\"}", pad, as, outsides[m], pad2, bs,
                 end);
        if (!agrees((const unsigned char *)text, strlen(text))) bad++;
        (*checked)++;
      }
    }
  }
  return bad;
}

/* every suffix of the texts fixed[0..n), and slices of them (every
** alignment of the block steps, many lengths of the last one): how many
** `agrees` refused */
static int slices_disagree(const char *const *fixed, int n, int (*agrees)(const unsigned char *, size_t)) {
  int f, bad = 0;
  for (f = 0; f < n; f++) {
    const unsigned char *t = (const unsigned char *)fixed[f];
    size_t len = strlen(fixed[f]), off, cut;
    for (off = 0; off <= len; off++)
      for (cut = len; cut >= off; cut -= cut - off > 5 ? 5 : 1) {
        if (!agrees(t + off, cut - off)) bad++;
        if (cut == off) break;
      }
  }
  return bad;
}

/* check_json_scan's 64-byte steps (the last one read back from the text's
** end, or from a padded copy under 64 bytes) against the byte-at-a-time
** model */
static void test_json_scan_blocks(void) {
  int bad = 0;
  {
    /* random texts where one byte in 2, 8 or 32 matters (rare backslashes
    ** and high bytes let the block steps run) */
    static const unsigned char alphabet[] = { '"', '\\', '[', ']', '{', '}', ' ', '\n', ',',
                                              0xC3, 0xA9, 0xE3, 0x81, 0x82, 0xFF, 0xED, 0xA0 };
    uint64_t seed = 4242;
    int i;
    for (i = 0; i < 60000 && bad == 0; i++) {
      unsigned char buf[200];
      size_t len, k;
      unsigned long density = 2UL << (2 * (i % 3));
      seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
      len = (size_t)(seed >> 33) % sizeof buf;
      for (k = 0; k < len; k++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        buf[k] = (seed >> 40) % density == 0 ? alphabet[(seed >> 45) % sizeof alphabet] : (unsigned char)'x';
      }
      if (!scan_agrees(buf, len)) bad++;
    }
    TAP_OK(bad == 0, "json_scan: agrees with the model on random texts, one byte in 2, 8 or 32 that matters");
  }
  {
    /* a string ending, then something outside strings, at every offset
    ** around the 16-, 32- and 64-byte marks, and a second string ending at
    ** every offset after: empties split by a block's edge, escapes whose
    ** byte is in the next block, backslashes outside strings */
    static const char *const outsides[] = {
      ",\"a\":[]", ",\"a\":[ \n\t]", ",\"o\":{}", ",\"o\":{\r }", ",\"a\":[[],[ ],{}]",
      ",\"a\":[1]", ",\"u\":\"\xc3\xa9[]\"", ",\"j\":\"\xe3\x81\x82\"", ",\"q\":\"\\\"[]\"",
      ",\"b\":\"\\\\\"[]", ",\"w\":\\\"[]\"", ",\"x\":\"\xff\"[]", ",\"s\":\"\\\xc3\xa9\"{}",
      "\\\\[]"
    };
    int checked;
    bad += around_steps(outsides, (int)(sizeof outsides / sizeof outsides[0]),
                        "\\\\", 3, scan_agrees, &checked);
    TAP_OK(bad == 0 && checked > 0, "json_scan: strings ending around the block steps, then empties or escapes");
  }
  {
    /* every suffix of a few texts, and slices of them: every alignment of
    ** the steps, every length of the last one */
    static const char *const fixed[] = {
      "{\"id\":\"chatcmpl-B9MBs8CjcvOU2jLn4n\",\"object\":\"chat.completion.chunk\",\"created\":1741569952,"
      "\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" the\"},\"finish_reason\":null}],"
      "\"annotations\":[ ],\"tools\":{ \n }}",
      "{\"content\":\"printf(\\\"%s\\\\n\\\", \\\"[]\\\");\\n\\tC:\\\\path\\\\ [ ] { }\\\\\",\"a\":[\n],\"b\":[[ ]]}",
      "{\"content\":\"\xe3\x83\xaf\xe3\x83\xbc\xe3\x83\xab\xe3\x83\x89\xe3\x82\xb7\xe3\x83\xaa\xe3\x83\xbc\xe3\x82\xba"
      "\xe3\x81\xaf[]\",\"x\":[],\"e\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\",\"y\":{}}",
      "[[],[],[ ],[\t],{},[1],\"[]\",\"\\\"[]\",[\"\\\\\"],[]]",
    };
    bad += slices_disagree(fixed, (int)(sizeof fixed / sizeof fixed[0]), scan_agrees);
    TAP_OK(bad == 0, "json_scan: agrees with the model on every suffix and many slices of the fixed texts");
  }
  {
    /* the counts themselves, around the 64-byte marks */
    int pad, wrong = 0;
    for (pad = 0; pad < 140; pad++) {
      char text[512];
      int u, a, o;
      snprintf(text, sizeof text, "[\"%.*s\",[],[ ],\"[]\",[\n],[[]],{}]", pad,
               "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
               "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
      check_json_scan(text, strlen(text), &u, &a, &o);
      if (u != 1 || a != 4 || o != 1) wrong++;
    }
    TAP_OK(wrong == 0, "json_scan: four empty arrays and an empty object at every offset");
  }
}

int main(void) {
  test_paths_allowed();
  test_paths_refused();
  test_headers();
  test_segments();
  test_json_scan_blocks();
    /* check_utf8 */
  TAP_OK(check_utf8("", 0), "utf8: empty");
  TAP_OK(check_utf8("h\xc3\xa9llo", 6), "utf8: two-byte");
  TAP_OK(check_utf8("\xf0\x9f\x98\x80", 4), "utf8: four-byte");
  TAP_OK(!check_utf8("\xff", 1), "utf8: 0xff refused");
  TAP_OK(!check_utf8("\xc3", 1), "utf8: cut sequence refused");
  TAP_OK(!check_utf8("\xc0\xaf", 2), "utf8: overlong refused");
  TAP_OK(!check_utf8("\xed\xa0\x80", 3), "utf8: surrogate refused");
  TAP_OK(!check_utf8("\xf4\x90\x80\x80", 4), "utf8: above U+10FFFF refused");
  /* check_json_plain */
#define PLAIN(txt) check_json_plain(txt, strlen(txt))
  TAP_OK(PLAIN("{\"model\":\"gpt\",\"n\":1,\"t\":0.7,\"m\":[{\"a\":\"b\"}]}"), "json: a chat body is plain");
  TAP_OK(PLAIN("{\"s\":\"{}\",\"e\":\"1e5\",\"d\":\"12345678901234567\"}"), "json: strings are skipped");
  TAP_OK(PLAIN("{\"q\":\"a\\\"{}\"}"), "json: an escaped quote does not end the string");
  TAP_OK(!PLAIN("{\"tools\":{}}"), "json: an empty object is not plain");
  TAP_OK(!PLAIN("{}"), "json: a top-level empty object is not plain");
  TAP_OK(!PLAIN("{\"a\":{ }}"), "json: an empty object with a space is not plain");
  TAP_OK(!PLAIN("{\"seed\":9.007199254741e+15}"), "json: an exponent is not plain");
  TAP_OK(!PLAIN("{\"x\":0.33333333333333}"), "json: 14 digits may be rounded");
  TAP_OK(PLAIN("{\"x\":1234567890123}"), "json: 13 digits are exact");
  TAP_OK(!PLAIN("{\"s\":\"\xff\"}"), "json: invalid UTF-8 is not plain");
#undef PLAIN
  {
    int a, o;
    check_json_empties("{\"a\":[],\"b\":1}", strlen("{\"a\":[],\"b\":1}"), &a, &o);
    TAP_OK(a == 1 && o == 0, "empties: an empty array");
    check_json_empties("{\"a\":[ ],\"b\":{\n}}", strlen("{\"a\":[ ],\"b\":{\n}}"), &a, &o);
    TAP_OK(a == 1 && o == 1, "empties: both, with white space");
    check_json_empties("{\"a\":\"[]{}\",\"b\":[1]}", strlen("{\"a\":\"[]{}\",\"b\":[1]}"), &a, &o);
    TAP_OK(a == 0 && o == 0, "empties: inside strings they do not count");
    check_json_empties("{\"a\":\"\\\"[]\"}", strlen("{\"a\":\"\\\"[]\"}"), &a, &o);
    TAP_OK(a == 0 && o == 0, "empties: an escaped quote keeps the string open");
  }
  {
    /* the fused scan against the byte-at-a-time model:
    ** texts made of the bytes that matter, every length and offset of a
    ** run, and random ones */
    static const unsigned char alphabet[] = { '"', '\\', '[', ']', '{', '}', ' ', 'a', ',',
                                              0xC3, 0xA9, 0xE2, 0x82, 0xAC, 0xED, 0xA0, 0xF0,
                                              0x9F, 0x98, 0x80, 0xFF, 0xC0 };
    static const char *const fixed[] = {
      "{\"id\":\"chatcmpl-abcdefghijklmnop\",\"choices\":[{\"message\":{\"annotations\":[]}}]}",
      "{\"a\":\"caf\xc3\xa9 \\\"[]\\\" long enough to pass eight\",\"b\":{ }}",
      "{\"a\":\"\\\xc3\xa9\",\"b\":[ \n]}",
      "\"unterminated string with [] and {} inside and \xe2\x82\xac",
      "[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,[],17]",
      "\xed\xa0\x80 a surrogate, then []",
      "{\"k\":\"abcdefghijklmnop\\\"[]{}\\\"qrstuvwxyz abcdefgh\",\"z\":1}",
    };
    uint64_t seed = 12345;
    int i, bad = 0;
    for (i = 0; i < (int)(sizeof fixed / sizeof fixed[0]); i++) {
      const unsigned char *t = (const unsigned char *)fixed[i];
      size_t len = strlen(fixed[i]), off;
      for (off = 0; off <= len; off++) {     /* every suffix: every alignment */
        int u, a, o, ra, ro;
        check_json_scan((const char *)t + off, len - off, &u, &a, &o);
        ref_empties(t + off, len - off, &ra, &ro);
        if (u != ref_utf8(t + off, len - off) || a != ra || o != ro) bad++;
      }
    }
    TAP_OK(bad == 0, "json_scan: agrees with the model on every suffix of the fixed texts");
    {
      /* a string's escape, an empty array and a multi-byte character at
      ** every offset from the string's start (a run scan must stop at each) */
      static const char *const middles[] = { "\\\"[]{}\\\"", "\\\\", "\xc3\xa9[]", "\\\xc3\xa9", "\xc3" };
      int pad, m;
      for (m = 0; m < (int)(sizeof middles / sizeof middles[0]); m++) {
        for (pad = 0; pad < 24; pad++) {
          char text[128];
          int u, a, o, ra, ro;
          size_t len;
          snprintf(text, sizeof text, "{\"k\":\"%.*s%s%.*s\",\"z\":[1]}", pad,
                   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", middles[m], pad, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
          len = strlen(text);
          check_json_scan(text, len, &u, &a, &o);
          ref_empties((const unsigned char *)text, len, &ra, &ro);
          if (u != ref_utf8((const unsigned char *)text, len) || a != ra || o != ro) bad++;
        }
      }
    }
    TAP_OK(bad == 0, "json_scan: an escape or a multi-byte character at every offset of a string");
    {
      const char *t3 = "[[],{\"a\":[ \n],\"b\":\"[]\",\"c\":[[\t]]}]";
      int u, a, o;
      check_json_scan(t3, strlen(t3), &u, &a, &o);
      TAP_OK(u == 1 && a == 3 && o == 0, "json_scan: counts the empty arrays outside strings");
    }
    for (i = 0; i < 200000 && bad == 0; i++) {
      unsigned char buf[48];
      size_t len, k;
      int u, a, o, ra, ro;
      seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
      len = (size_t)(seed >> 33) % sizeof buf;
      for (k = 0; k < len; k++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        buf[k] = (seed >> 40) % 2 == 0 ? alphabet[(seed >> 45) % sizeof alphabet] : (unsigned char)'x';
      }
      check_json_scan((const char *)buf, len, &u, &a, &o);
      ref_empties(buf, len, &ra, &ro);
      if (u != ref_utf8(buf, len) || u != check_utf8((const char *)buf, len) || a != ra || o != ro) bad++;
    }
    TAP_OK(bad == 0, "json_scan: agrees with the model on 200000 random texts");
  }
  {
    /* json_plain's block and 8-byte steps against the byte-at-a-time model:
    ** random texts where one byte in 2, 8 or 32 is one that matters (rare
    ** backslashes and high bytes let the block steps run) */
    static const unsigned char alphabet[] = { '"', '\\', '{', '}', ' ', ',', ':', '1', '9', '0', '-',
                                              '.', 'e', 0xC3, 0xA9, 0xE2, 0x82, 0xAC, 0xFF, 0xED, 0xA0 };
    uint64_t seed = 777;
    int i, bad = 0;
    for (i = 0; i < 200000 && bad == 0; i++) {
      unsigned char buf[200];
      size_t len, k;
      unsigned long density = 2UL << (2 * (i % 3));
      seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
      len = (size_t)(seed >> 33) % sizeof buf;
      for (k = 0; k < len; k++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        buf[k] = (seed >> 40) % density == 0 ? alphabet[(seed >> 45) % sizeof alphabet] : (unsigned char)'x';
      }
      if (check_json_plain((const char *)buf, len) != ref_plain(buf, len)) bad++;
    }
    TAP_OK(bad == 0, "json_plain: agrees with the byte-at-a-time model on 200000 random texts");
    {
      /* an escaped quote, {} and a long number at every offset of a string */
      static const char *const middles[] = { "\\\"{}\\\"", "\\\"1e5\\\"", "\\\\", "\xc3\xa9{}",
                                             "\\\xc3\xa9", "123456789012345" };
      int pad, m;
      for (m = 0; m < (int)(sizeof middles / sizeof middles[0]); m++) {
        for (pad = 0; pad < 24; pad++) {
          char text[128];
          snprintf(text, sizeof text, "{\"k\":\"%.*s%s%.*s\",\"z\":[1]}", pad,
                   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", middles[m], pad, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
          if (check_json_plain(text, strlen(text)) != ref_plain((const unsigned char *)text, strlen(text)))
            bad++;
        }
      }
      TAP_OK(bad == 0, "json_plain: an escape, {} or a number at every offset of a string");
    }
    {
      /* the block steps: a string ending, then a number, an empty object
      ** or a nested one outside strings, at every offset around the 16-,
      ** 32- and 64-byte marks, with a second string ending at every offset
      ** after */
      static const char *const outsides[] = {
        ",\"n\":12345678901234", ",\"n\":1234567890123", ",\"o\":{}", ",\"o\":{ \n}",
        ",\"o\":{\"a\":[{\"b\":1}]}", ",\"e\":1e5", ",\"x\":-0.5", ",\"x\":-", ",\"u\":\"\xc3\xa9\"",
        ",\"q\":\"\\\"{}\"", ",\"b\":\"\xff\"", ",\"t\":[true,false,null]",
        ",\"w\":\\\"{}\"",   /* a backslash outside strings escapes nothing */
        ",\"v\":\"\\\\\"{}"     /* an escaped backslash, then the string ends */
      };
      int checked;
      bad += around_steps(outsides, (int)(sizeof outsides / sizeof outsides[0]),
                          "", 1, plain_agrees, &checked);
      TAP_OK(bad == 0 && checked > 0, "json_plain: strings ending around the block steps, then a number or {}");
    }
    {
      /* every suffix of a few texts: every alignment of the block steps */
      static const char *const fixed[] = {
        "{\"messages\":[{\"role\":\"system\",\"content\":\"You are a helpful assistant.\"},"
        "{\"role\":\"user\",\"content\":\"Who won the world series in 2020?\"}],\"model\":\"gpt-4o-mini\","
        "\"temperature\":0.7,\"n\":1,\"tools\":{},\"seed\":-12345678901234}",
        "[{\"a\":\"caf\xc3\xa9 \\\"{}\\\" long enough to pass sixteen bytes\",\"b\":{ \t}}]",
        "{\"k\":\"abcdefghijklmnop\\\"{}\\\"qrstuvwxyz abcdefgh\",\"z\":1.5e3}",
        "[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,{},17,-18,12345678901234]",
      };
      bad += slices_disagree(fixed, (int)(sizeof fixed / sizeof fixed[0]), plain_agrees);
      TAP_OK(bad == 0, "json_plain: agrees with the model on every suffix and many slices of the fixed texts");
    }
  }
  return tap_done("check");
}
