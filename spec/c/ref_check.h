/*
** ref_check.h: byte-at-a-time models of check.c's fast scans, for the C
** unit tests (spec/c/test_check.c) and the fuzz target (fuzz/fuzz_check.c),
** which compare the 64-byte (SSE2) and 8-byte paths with them. Plain C, no Lua.
*/
#ifndef OPENAI_REF_CHECK_H
#define OPENAI_REF_CHECK_H

#include <stddef.h>

/* a byte-at-a-time model of check_json_scan: check_utf8 as one walk of the
** text, the empties as a second walk that skips strings (*arrays: how many
** empty arrays, *objects: whether an empty object) */
static int ref_utf8(const unsigned char *p, size_t len) {
  size_t i = 0;
  while (i < len) {
    unsigned c = p[i], lo = 0x80, hi = 0xBF;
    size_t n, k;
    if (c < 0x80) { i++; continue; }
    if (c >= 0xC2 && c <= 0xDF) n = 1;
    else if (c >= 0xE0 && c <= 0xEF) { n = 2; if (c == 0xE0) lo = 0xA0; if (c == 0xED) hi = 0x9F; }
    else if (c >= 0xF0 && c <= 0xF4) { n = 3; if (c == 0xF0) lo = 0x90; if (c == 0xF4) hi = 0x8F; }
    else return 0;
    if (len - i <= n || p[i + 1] < lo || p[i + 1] > hi) return 0;
    for (k = 2; k <= n; k++) if (p[i + k] < 0x80 || p[i + k] > 0xBF) return 0;
    i += n + 1;
  }
  return 1;
}

/* the index after the string whose opening quote is at i (a backslash
** skips the byte after it) */
static size_t ref_skip_string(const unsigned char *s, size_t len, size_t i) {
  for (i++; i < len && s[i] != '"'; i++)
    if (s[i] == '\\') i++;
  return i + 1;
}

/* whether the byte at i (an opener) is followed, after white space, by close */
static int ref_empty_at(const unsigned char *s, size_t len, size_t i, unsigned char close) {
  size_t j = i + 1;
  while (j < len && (s[j] == ' ' || s[j] == '\n' || s[j] == '\r' || s[j] == '\t')) j++;
  return j < len && s[j] == close;
}

static void ref_empties(const unsigned char *s, size_t len, int *arrays, int *objects) {
  size_t i = 0;
  *arrays = *objects = 0;
  while (i < len) {
    unsigned char c = s[i];
    if (c == '"') {
      i = ref_skip_string(s, len, i);
    } else if (c == '[' || c == '{') {
      if (ref_empty_at(s, len, i, c == '[' ? ']' : '}')) { if (c == '[') (*arrays)++; else *objects = 1; }
      i++;
    } else {
      i++;
    }
  }
}

/* a byte-at-a-time model of check_json_plain: valid UTF-8, and outside
** strings no empty object and no number that 14 significant digits may
** not keep (an exponent, or 14 digits or more) */
static int ref_plain(const unsigned char *s, size_t len) {
  size_t i = 0;
  if (!ref_utf8(s, len)) return 0;
  while (i < len) {
    unsigned char c = s[i];
    if (c == '"') {
      i = ref_skip_string(s, len, i);
    } else if (c == '{') {
      if (ref_empty_at(s, len, i, '}')) return 0;
      i++;
    } else if ((c >= '0' && c <= '9') || c == '-') {
      int digits = 0;
      for (; i < len; i++) {
        c = s[i];
        if (c >= '0' && c <= '9') digits++;
        else if (c == 'e' || c == 'E') return 0;
        else if (c != '.' && c != '-' && c != '+') break;
      }
      if (digits >= 14) return 0;
    } else {
      i++;
    }
  }
  return 1;
}

#endif
