/*
** tap.h: the smallest test harness for the pure-C parts. Each check prints a
** TAP line; tap_done() prints "N passed, N failed" and returns the exit code.
*/
#ifndef OPENAI_TAP_H
#define OPENAI_TAP_H

#include <stdio.h>
#include <string.h>

static int tap_pass, tap_fail;

#define TAP_OK(cond, ...) do { \
    if (cond) { tap_pass++; printf("ok %d - ", tap_pass + tap_fail); } \
    else { tap_fail++; printf("not ok %d - %s:%d: ", tap_pass + tap_fail, __FILE__, __LINE__); } \
    printf(__VA_ARGS__); printf("\n"); \
  } while (0)

#define TAP_EQ_LONG(got, want, what) do { long g_ = (long)(got), w_ = (long)(want); \
    TAP_OK(g_ == w_, "%s (got %ld, want %ld)", what, g_, w_); } while (0)

#define TAP_EQ_STR(got, glen, want, what) do { \
    size_t wl_ = strlen(want); \
    TAP_OK((glen) == wl_ && memcmp((got), (want), wl_) == 0, "%s (got '%.*s', want '%s')", \
           what, (int)(glen), (got), want); } while (0)

static int tap_done(const char *suite) {
  printf("%s: %d passed, %d failed\n", suite, tap_pass, tap_fail);
  return tap_fail == 0 ? 0 : 1;
}

#endif
