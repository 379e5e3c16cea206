/*
** test_retry.c: the retry policy (src/retry.c), rule by rule.
*/
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "retry.h"
#include "tap.h"

/* Sun, 06 Nov 1994 08:49:37 GMT */
#define DATE_EPOCH 784111777.0

/* a config in one of four modes: 0 seed (>= 500), 1 SDK statuses,
** 2 seed with all errors, 3 SDK statuses and all errors */
static retry_config mode_config(int mode) {
  retry_config c;
  memset(&c, 0, sizeof c);
  c.max_retries = 2;
  c.backoff = 0;
  c.delay_ms = 250;
  c.sdk_statuses = (mode & 1) != 0;
  c.all_errors = (mode & 2) != 0;
  c.max_retry_after_ms = 0;   /* the default 60000 */
  return c;
}

/* an input for the first attempt with this status */
static retry_input status_input(long status, int transport) {
  retry_input in;
  memset(&in, 0, sizeof in);
  in.attempts = 1;
  in.status = status;
  in.transport_error = transport;
  in.now = DATE_EPOCH - 30;
  in.random01 = 0;
  return in;
}

/* run retry_decide and return the verdict */
static int verdict_of(const retry_config *c, const retry_input *in) {
  retry_decision d;
  retry_decide(c, in, &d);
  return d.verdict;
}

/* each status class in each mode; want[m] is 'Y' or 'N' for mode m */
static void test_status_classes(void) {
  static const struct { long status; int transport; const char *want; } rows[] = {
    { 0,   1, "YYYY" },   /* transport error */
    { 0,   0, "NNNN" },   /* no status, no transport error: nothing to retry */
    { 100, 0, "NNNN" },
    { 200, 0, "NNNN" },
    { 204, 0, "NNNN" },
    { 299, 0, "NNNN" },
    { 300, 0, "NNYY" },
    { 301, 0, "NNYY" },
    { 304, 0, "NNYY" },
    { 399, 0, "NNYY" },
    { 400, 0, "NNYY" },
    { 401, 0, "NNYY" },
    { 403, 0, "NNYY" },
    { 404, 0, "NNYY" },
    { 407, 0, "NNYY" },
    { 408, 0, "NYYY" },
    { 409, 0, "NYYY" },
    { 410, 0, "NNYY" },
    { 422, 0, "NNYY" },
    { 429, 0, "NYYY" },
    { 499, 0, "NNYY" },
    { 500, 0, "YYYY" },
    { 502, 0, "YYYY" },
    { 503, 0, "YYYY" },
    { 504, 0, "YYYY" },
    { 599, 0, "YYYY" },
    { 999, 0, "YYYY" },
  };
  size_t i;
  int m;
  for (i = 0; i < sizeof rows / sizeof rows[0]; i++)
    for (m = 0; m < 4; m++) {
      retry_config c = mode_config(m);
      retry_input in = status_input(rows[i].status, rows[i].transport);
      int want = rows[i].want[m] == 'Y' ? RETRY_YES : RETRY_NO;
      retry_decision d;
      retry_decide(&c, &in, &d);
      TAP_OK(d.verdict == want, "status %ld%s mode %d -> %s (got %d)", rows[i].status,
             rows[i].transport ? " + transport error" : "", m, want ? "retry" : "no retry",
             d.verdict);
      if (want == RETRY_YES) TAP_EQ_LONG(d.delay_ms, 250, "fixed delay used");
      TAP_EQ_LONG(d.retry_after_ms, -1, "no server wish");
    }
  TAP_EQ_LONG(retry_is_error(200, 0), 0, "200 is not an error");
  TAP_EQ_LONG(retry_is_error(299, 0), 0, "299 is not an error");
  TAP_EQ_LONG(retry_is_error(300, 0), 1, "300 is an error");
  TAP_EQ_LONG(retry_is_error(404, 0), 1, "404 is an error");
  TAP_EQ_LONG(retry_is_error(500, 0), 1, "500 is an error");
  TAP_EQ_LONG(retry_is_error(0, 1), 1, "a transport error is an error");
  TAP_EQ_LONG(retry_is_error(0, 0), 0, "status 0 alone is not an error");
}

/* attempts vs max_retries */
static void test_attempts(void) {
  static const struct { int max_retries, attempts, want; } rows[] = {
    { 0, 1, RETRY_NO },
    { 1, 1, RETRY_YES },
    { 1, 2, RETRY_NO },
    { 2, 1, RETRY_YES },
    { 2, 2, RETRY_YES },
    { 2, 3, RETRY_NO },
    { 2, 4, RETRY_NO },
    { 5, 5, RETRY_YES },
    { 5, 6, RETRY_NO },
    { -1, 1, RETRY_NO },
    { INT_MAX, INT_MAX - 1, RETRY_YES },
    { INT_MAX, INT_MAX, RETRY_YES },
  };
  size_t i;
  for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    retry_config c = mode_config(1);
    retry_input in = status_input(500, 0);
    retry_decision d;
    c.max_retries = rows[i].max_retries;
    in.attempts = rows[i].attempts;
    retry_decide(&c, &in, &d);
    TAP_OK(d.verdict == rows[i].want, "max_retries %d, attempts %d -> %d (got %d)",
           rows[i].max_retries, rows[i].attempts, rows[i].want, d.verdict);
  }
  {
    /* a server wish is still reported when no retries are left */
    retry_config c = mode_config(1);
    retry_input in = status_input(429, 0);
    retry_decision d;
    in.attempts = 3;
    in.retry_after = "5";
    retry_decide(&c, &in, &d);
    TAP_EQ_LONG(d.verdict, RETRY_NO, "out of attempts with retry-after");
    TAP_EQ_LONG(d.retry_after_ms, 5000, "retry_after_ms still reported");
    /* a wish above the cap with no attempts left: NO, not TOO_LONG */
    in.retry_after = "3600";
    retry_decide(&c, &in, &d);
    TAP_EQ_LONG(d.verdict, RETRY_NO, "out of attempts, wish above the cap: no");
    TAP_EQ_LONG(d.retry_after_ms, 3600000, "wish above the cap reported");
    /* a wish above the cap on a non-retryable outcome: NO */
    in.attempts = 1;
    in.status = 400;
    retry_decide(&c, &in, &d);
    TAP_EQ_LONG(d.verdict, RETRY_NO, "400 with a long retry-after: no");
    TAP_EQ_LONG(d.retry_after_ms, 3600000, "and the wish is reported");
  }
}

/* x-should-retry overrides the status rule, both ways */
static void test_should_retry(void) {
  static const struct { long status; const char *hdr; int mode; int want; } rows[] = {
    { 400, "true", 0, RETRY_YES },
    { 400, "TRUE", 0, RETRY_YES },
    { 400, "  True ", 0, RETRY_YES },
    { 400, "\ttrue\t", 0, RETRY_YES },
    { 404, "tRuE", 1, RETRY_YES },
    { 301, "true", 0, RETRY_YES },
    { 500, "false", 0, RETRY_NO },
    { 503, " FALSE  ", 1, RETRY_NO },
    { 429, "False", 1, RETRY_NO },
    { 400, "false", 2, RETRY_NO },
    { 500, "yes", 0, RETRY_YES },     /* other values are ignored */
    { 400, "yes", 0, RETRY_NO },
    { 400, "1", 0, RETRY_NO },
    { 500, "0", 0, RETRY_YES },
    { 400, "", 0, RETRY_NO },
    { 500, "", 0, RETRY_YES },
    { 400, "true false", 0, RETRY_NO },
    { 400, "truex", 0, RETRY_NO },
    { 500, "fals", 0, RETRY_YES },
    { 200, "true", 0, RETRY_NO },     /* a success is never retried */
    { 204, "true", 3, RETRY_NO },
  };
  size_t i;
  for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    retry_config c = mode_config(rows[i].mode);
    retry_input in = status_input(rows[i].status, 0);
    in.should_retry = rows[i].hdr;
    TAP_OK(verdict_of(&c, &in) == rows[i].want, "status %ld, x-should-retry '%s', mode %d -> %d",
           rows[i].status, rows[i].hdr, rows[i].mode, rows[i].want);
  }
  {
    retry_config c = mode_config(0);
    retry_input in = status_input(0, 1);
    in.should_retry = "false";   /* no response, so no header to obey */
    TAP_EQ_LONG(verdict_of(&c, &in), RETRY_YES, "transport error ignores x-should-retry");
  }
}

/* insufficient_quota is never retried */
static void test_insufficient_quota(void) {
  int m;
  for (m = 0; m < 4; m++) {
    retry_config c = mode_config(m);
    retry_input in = status_input(429, 0);
    retry_decision d;
    in.insufficient_quota = 1;
    TAP_EQ_LONG(verdict_of(&c, &in), RETRY_NO, "insufficient_quota, no header");
    in.should_retry = "true";
    TAP_EQ_LONG(verdict_of(&c, &in), RETRY_NO, "insufficient_quota with x-should-retry: true");
    in.retry_after = "1";
    retry_decide(&c, &in, &d);
    TAP_EQ_LONG(d.verdict, RETRY_NO, "insufficient_quota with retry-after");
    TAP_EQ_LONG(d.retry_after_ms, 1000, "its retry-after reported");
  }
}

/* retry_after_ms on its own */
static void test_retry_after(void) {
  static const struct { const char *ms, *ra; double now; long want; const char *what; } rows[] = {
    { NULL, NULL, 0, -1, "no headers" },
    { "1500", NULL, 0, 1500, "retry-after-ms integer" },
    { "1500", "9", 0, 1500, "retry-after-ms wins over retry-after" },
    { " 250 ", NULL, 0, 250, "retry-after-ms with spaces" },
    { "\t250\r\n", NULL, 0, 250, "retry-after-ms with tab and CRLF" },
    { "+250", NULL, 0, 250, "retry-after-ms with a plus" },
    { "2.5", NULL, 0, 3, "retry-after-ms fractional rounds up" },
    { "0.001", NULL, 0, 1, "retry-after-ms tiny positive stays positive" },
    { "100.0", NULL, 0, 100, "retry-after-ms 100.0" },
    { "1e3", NULL, 0, 1000, "retry-after-ms with exponent" },
    { "0", NULL, 0, -1, "retry-after-ms zero" },
    { "0.0", NULL, 0, -1, "retry-after-ms 0.0" },
    { "-5", NULL, 0, -1, "retry-after-ms negative" },
    { "-5", "7", 0, -1, "a negative retry-after-ms decides (as the SDKs)" },
    { "0", "7", 0, -1, "a zero retry-after-ms decides" },
    { "abc", "7", 0, 7000, "garbage retry-after-ms falls back to retry-after" },
    { "", "7", 0, 7000, "empty retry-after-ms falls back" },
    { "5ms", NULL, 0, -1, "retry-after-ms with a unit" },
    { "nan", NULL, 0, -1, "retry-after-ms nan" },
    { "inf", NULL, 0, -1, "retry-after-ms inf" },
    { "1e400", NULL, 0, LONG_MAX, "retry-after-ms 1e400 clamps" },
    { "99999999999999999999999999999", NULL, 0, LONG_MAX, "retry-after-ms huge integer clamps" },
    { NULL, "5", 0, 5000, "retry-after seconds" },
    { NULL, "  5  ", 0, 5000, "retry-after seconds with spaces" },
    { NULL, "1.5", 0, 1500, "retry-after fractional seconds" },
    { NULL, "0.25", 0, 250, "retry-after 0.25 s" },
    { NULL, "1.1", 0, 1100, "retry-after 1.1 s is exactly 1100 ms" },
    { NULL, "0.0001", 0, 1, "retry-after 0.1 ms rounds up to 1" },
    { NULL, "60", 0, 60000, "retry-after 60 s" },
    { NULL, "60.001", 0, 60001, "retry-after 60.001 s" },
    { NULL, "3600", 0, 3600000, "retry-after an hour" },
    { NULL, "1e300", 0, LONG_MAX, "retry-after 1e300 s clamps" },
    { NULL, "1e-300", 0, 1, "retry-after 1e-300 s is a tiny positive" },
    { NULL, "0", 0, -1, "retry-after zero" },
    { NULL, "-1", 0, -1, "retry-after negative" },
    { NULL, "-0", 0, -1, "retry-after -0" },
    { NULL, "5s", 0, -1, "retry-after trailing garbage" },
    { NULL, "5 s", 0, -1, "retry-after inner garbage" },
    { NULL, "", 0, -1, "retry-after empty" },
    { NULL, "   ", 0, -1, "retry-after blank" },
    { NULL, ".", 0, -1, "retry-after a lone dot" },
    { NULL, "1e", 0, -1, "retry-after a dangling exponent" },
    { NULL, "0x10", 0, -1, "retry-after hex" },
    { NULL, "NaN", 0, -1, "retry-after NaN" },
    { NULL, "Infinity", 0, -1, "retry-after Infinity" },
    { NULL, "soon", 0, -1, "retry-after a word" },
    { NULL, "Sun, 06 Nov 1994 08:49:37 GMT", DATE_EPOCH - 30, 30000, "IMF-fixdate" },
    { NULL, " Sun, 06 Nov 1994 08:49:37 GMT ", DATE_EPOCH - 30, 30000, "IMF-fixdate, spaces" },
    { NULL, "Sunday, 06-Nov-94 08:49:37 GMT", DATE_EPOCH - 30, 30000, "RFC 850 date" },
    { NULL, "Sun Nov  6 08:49:37 1994", DATE_EPOCH - 30, 30000, "asctime date" },
    { NULL, "Sun, 06 Nov 1994 08:49:37 GMT", DATE_EPOCH - 0.5, 500, "date, fractional now" },
    { NULL, "Sun, 06 Nov 1994 08:49:37 GMT", DATE_EPOCH, -1, "date equal to now" },
    { NULL, "Sun, 06 Nov 1994 08:49:37 GMT", DATE_EPOCH + 10, -1, "date in the past" },
    { NULL, "Sun, 06 Nov 1994 08:49:37 GMT", DATE_EPOCH - 7200, 7200000, "date 2 h ahead" },
    { NULL, "Sun, 06 Nov 1994 08:49:37", DATE_EPOCH - 30, -1, "date without GMT" },
    { NULL, "Sun, 06 Nov 1994 08:49:37 GMT x", DATE_EPOCH - 30, -1, "date with trailing garbage" },
  };
  size_t i;
  for (i = 0; i < sizeof rows / sizeof rows[0]; i++)
    TAP_EQ_LONG(retry_after_ms(rows[i].ms, rows[i].ra, rows[i].now), rows[i].want, rows[i].what);
}

/* retry_parse_http_date on its own */
static void test_http_dates(void) {
  static const struct { const char *s; int ok; double epoch; } rows[] = {
    { "Sun, 06 Nov 1994 08:49:37 GMT", 1, DATE_EPOCH },
    { "Sunday, 06-Nov-94 08:49:37 GMT", 1, DATE_EPOCH },
    { "Sun Nov  6 08:49:37 1994", 1, DATE_EPOCH },
    { "Sun Nov 06 08:49:37 1994", 1, DATE_EPOCH },
    { "sun, 06 nov 1994 08:49:37 gmt", 1, DATE_EPOCH },
    { "Sun, 6 Nov 1994 08:49:37 GMT", 1, DATE_EPOCH },
    { "Thu, 01 Jan 1970 00:00:00 GMT", 1, 0 },
    { "Wed, 31 Dec 1969 23:59:59 GMT", 1, -1 },
    { "Sat, 01 Jan 2000 00:00:00 GMT", 1, 946684800 },
    { "Tue, 29 Feb 2000 12:00:00 GMT", 1, 951825600 },
    { "Thu, 29 Feb 2024 00:00:00 GMT", 1, 1709164800 },
    { "Tue, 19 Jan 2038 03:14:08 GMT", 1, 2147483648.0 },
    { "Fri, 31 Dec 9999 23:59:59 GMT", 1, 253402300799.0 },
    { "Saturday, 01-Jan-00 00:00:00 GMT", 1, 946684800 },
    { "Thursday, 01-Jan-70 00:00:00 GMT", 1, 0 },
    { "Wednesday, 31-Dec-69 00:00:00 GMT", 1, 3155673600.0 },  /* 2069 */
    { "Sat Jan  1 00:00:00 2000", 1, 946684800 },
    { "Sun, 06 Nov 1994 23:59:60 GMT", 1, 784166400 },       /* leap second */
    { "", 0, 0 },
    { "Sun, 06 Nov 1994", 0, 0 },
    { "Sun, 06 Nov 1994 08:49:37 UTC", 0, 0 },
    { "Sun, 06 Foo 1994 08:49:37 GMT", 0, 0 },
    { "Xyz, 06 Nov 1994 08:49:37 GMT", 0, 0 },
    { "Sun, 32 Nov 1994 08:49:37 GMT", 0, 0 },
    { "Sun, 31 Nov 1994 08:49:37 GMT", 0, 0 },
    { "Tue, 29 Feb 1900 00:00:00 GMT", 0, 0 },
    { "Sun, 00 Nov 1994 08:49:37 GMT", 0, 0 },
    { "Sun, 06 Nov 1994 24:00:00 GMT", 0, 0 },
    { "Sun, 06 Nov 1994 08:60:00 GMT", 0, 0 },
    { "Sun, 06 Nov 1994 08:49:61 GMT", 0, 0 },
    { "Sun, 06 Nov 94 08:49:37 GMT", 0, 0 },
    { "Sun, 06 Nov 1994 8:49:37 GMT", 0, 0 },
    { "Sun, 06 Nov 1994 08:49:37 GMTX", 0, 0 },
    { "Sun 06 Nov 1994 08:49:37 GMT", 0, 0 },
    { "Sunday, 06-Nov-1994 08:49:37 GMT", 0, 0 },
    { "Sun, 06-Nov-94 08:49:37 GMT", 0, 0 },
    { "Sun Nov 6 08:49:37 1994", 0, 0 },
    { "Sun Nov  6 08:49:37 94", 0, 0 },
    { "1994-11-06T08:49:37Z", 0, 0 },
  };
  size_t i;
  for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    double e = -12345;
    int rc = retry_parse_http_date(rows[i].s, &e);
    if (rows[i].ok)
      TAP_OK(rc == 0 && e == rows[i].epoch, "date '%s' -> %.0f (got rc %d, %.0f)", rows[i].s,
             rows[i].epoch, rc, e);
    else
      TAP_OK(rc == -1, "'%s' is not a date (got rc %d)", rows[i].s, rc);
  }
  TAP_EQ_LONG(retry_parse_http_date(NULL, NULL), -1, "NULL is not a date");
  TAP_EQ_LONG(retry_parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT", NULL), 0,
              "a NULL epoch pointer is allowed");
}

/* the server's wish inside retry_decide: waited, too long, or fallback */
static void test_decide_wish(void) {
  static const struct {
    const char *ms, *ra; long cap; int backoff;
    int verdict; long delay, reported; const char *what;
  } rows[] = {
    { NULL, "5", 0, 0, RETRY_YES, 5000, 5000, "retry-after 5 s waited as is" },
    { NULL, "5", 0, 1, RETRY_YES, 5000, 5000, "the wish beats the backoff" },
    { "20", NULL, 0, 1, RETRY_YES, 20, 20, "retry-after-ms 20 waited" },
    { NULL, "60", 0, 1, RETRY_YES, 60000, 60000, "exactly 60 s is waited" },
    { "60000", NULL, 0, 1, RETRY_YES, 60000, 60000, "exactly 60000 ms is waited" },
    { "60001", NULL, 0, 1, RETRY_TOO_LONG, 0, 60001, "60001 ms is too long" },
    { NULL, "61", 0, 1, RETRY_TOO_LONG, 0, 61000, "61 s is too long" },
    { NULL, "1e300", 0, 1, RETRY_TOO_LONG, 0, LONG_MAX, "1e300 s is too long" },
    { NULL, "Sun, 06 Nov 1994 08:49:37 GMT", 0, 1, RETRY_YES, 30000, 30000, "IMF date 30 s ahead" },
    { NULL, "Sunday, 06-Nov-94 08:49:37 GMT", 0, 1, RETRY_YES, 30000, 30000, "RFC 850 30 s ahead" },
    { NULL, "Sun Nov  6 08:49:37 1994", 0, 1, RETRY_YES, 30000, 30000, "asctime 30 s ahead" },
    { NULL, "Sun, 06 Nov 1994 08:49:37 GMT", 10000, 1, RETRY_TOO_LONG, 0, 30000, "date above a 10 s cap" },
    { NULL, "10", 10000, 1, RETRY_YES, 10000, 10000, "10 s under a 10 s cap" },
    { NULL, "120", 120000, 1, RETRY_YES, 120000, 120000, "120 s under a raised cap" },
    { NULL, "120", -5, 1, RETRY_TOO_LONG, 0, 120000, "a negative cap means 60 s" },
    { NULL, "0", 0, 1, RETRY_YES, 500, -1, "zero falls back to backoff" },
    { NULL, "-3", 0, 1, RETRY_YES, 500, -1, "negative falls back to backoff" },
    { NULL, "soon", 0, 1, RETRY_YES, 500, -1, "garbage falls back to backoff" },
    { NULL, "5s", 0, 0, RETRY_YES, 250, -1, "garbage falls back to the fixed delay" },
    { NULL, "", 0, 0, RETRY_YES, 250, -1, "empty falls back to the fixed delay" },
    { "0", NULL, 0, 0, RETRY_YES, 250, -1, "retry-after-ms 0 falls back" },
  };
  size_t i;
  for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    retry_config c = mode_config(1);
    retry_input in = status_input(429, 0);
    retry_decision d;
    c.max_retry_after_ms = rows[i].cap;
    c.backoff = rows[i].backoff;
    in.retry_after_ms = rows[i].ms;
    in.retry_after = rows[i].ra;
    retry_decide(&c, &in, &d);
    TAP_OK(d.verdict == rows[i].verdict && (d.verdict != RETRY_YES || d.delay_ms == rows[i].delay) &&
           d.retry_after_ms == rows[i].reported,
           "%s (got verdict %d, delay %ld, retry_after_ms %ld)", rows[i].what, d.verdict,
           d.delay_ms, d.retry_after_ms);
  }
}

/* the delay: backoff by attempt, or the fixed delay */
static void test_delays(void) {
  static const long at0[] = { 500, 1000, 2000, 4000, 8000, 8000, 8000 };
  static const long at999[] = { 375, 750, 1500, 3001, 6002, 6002, 6002 };
  int n;
  char what[64];
  for (n = 0; n <= 6; n++) {
    snprintf(what, sizeof what, "backoff n=%d random 0", n);
    TAP_EQ_LONG(retry_backoff_ms(n, 0.0), at0[n], what);
    snprintf(what, sizeof what, "backoff n=%d random 0.999", n);
    TAP_EQ_LONG(retry_backoff_ms(n, 0.999), at999[n], what);
  }
  TAP_EQ_LONG(retry_backoff_ms(INT_MAX, 0.0), 8000, "backoff huge n");
  TAP_EQ_LONG(retry_backoff_ms(INT_MAX, 0.999), 6002, "backoff huge n, random 0.999");
  TAP_EQ_LONG(retry_backoff_ms(63, 0.0), 8000, "backoff n=63");
  TAP_EQ_LONG(retry_backoff_ms(64, 0.5), 7000, "backoff n=64, random 0.5");
  TAP_EQ_LONG(retry_backoff_ms(-1, 0.0), 500, "backoff negative n is n=0");
  TAP_EQ_LONG(retry_backoff_ms(0, 0.5), 437, "backoff n=0 random 0.5");
  TAP_EQ_LONG(retry_backoff_ms(2, 1.0), 1500, "backoff random 1 (out of range) is clamped");
  TAP_EQ_LONG(retry_backoff_ms(2, 5.0), 1500, "backoff random 5 clamped to 1");
  TAP_EQ_LONG(retry_backoff_ms(2, -1.0), 2000, "backoff random -1 clamped to 0");
  TAP_EQ_LONG(retry_backoff_ms(2, NAN), 2000, "backoff random NaN taken as 0");

  {
    /* in retry_decide: attempt k uses n = k - 1 */
    retry_config c = mode_config(1);
    retry_input in = status_input(500, 0);
    retry_decision d;
    c.backoff = 1;
    c.max_retries = 10;
    for (n = 1; n <= 7; n++) {
      in.attempts = n;
      in.random01 = 0;
      retry_decide(&c, &in, &d);
      snprintf(what, sizeof what, "decide backoff after attempt %d", n);
      TAP_EQ_LONG(d.delay_ms, at0[n - 1], what);
      in.random01 = 0.999;
      retry_decide(&c, &in, &d);
      TAP_EQ_LONG(d.delay_ms, at999[n - 1], what);
    }
    c.backoff = 0;
    c.delay_ms = 0;
    retry_decide(&c, &in, &d);
    TAP_OK(d.verdict == RETRY_YES && d.delay_ms == 0, "fixed delay 0 (the raw request's default)");
    c.delay_ms = -7;
    retry_decide(&c, &in, &d);
    TAP_OK(d.verdict == RETRY_YES && d.delay_ms == 0, "a negative fixed delay is 0");
    c.delay_ms = 1234;
    retry_decide(&c, &in, &d);
    TAP_OK(d.verdict == RETRY_YES && d.delay_ms == 1234, "fixed delay 1234");
  }
}

/* a timeout after the request was sent whole is retried only when the
** config says retry_timeouts; a connect timeout, a timeout while sending
** and any other transport error are retried as before */
static void test_timeouts(void) {
  static const struct {
    int timed_out, sent, retry_timeouts, attempts, want;
    const char *what;
  } rows[] = {
    { 1, 1, 0, 1, RETRY_SENT, "a timeout after the request was sent" },
    { 1, 1, 0, 2, RETRY_SENT, "... on the second attempt too" },
    { 1, 1, 0, 3, RETRY_NO,   "... with no retries left: no, not sent" },
    { 1, 1, 1, 1, RETRY_YES,  "... with retry_timeouts" },
    { 1, 1, 1, 3, RETRY_NO,   "... with retry_timeouts, no retries left" },
    { 1, 0, 0, 1, RETRY_YES,  "a timeout before the request was sent whole (connect, send)" },
    { 1, 0, 1, 1, RETRY_YES,  "... with retry_timeouts" },
    { 0, 1, 0, 1, RETRY_YES,  "a dead connection after the request was sent" },
    { 0, 0, 0, 1, RETRY_YES,  "a refused connection" },
  };
  size_t i;
  for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    retry_config c = mode_config(1);
    retry_input in = status_input(0, 1);
    retry_decision d;
    c.retry_timeouts = rows[i].retry_timeouts;
    in.timed_out = rows[i].timed_out;
    in.request_sent = rows[i].sent;
    in.attempts = rows[i].attempts;
    retry_decide(&c, &in, &d);
    TAP_OK(d.verdict == rows[i].want, "%s -> %d (got %d)", rows[i].what, rows[i].want, d.verdict);
  }
  {
    /* the flags mean nothing without a transport error: a status decides */
    retry_config c = mode_config(1);
    retry_input in = status_input(500, 0);
    in.timed_out = in.request_sent = 1;
    TAP_EQ_LONG(verdict_of(&c, &in), RETRY_YES, "a 500 with stray timeout flags is retried");
    in.status = 400;
    TAP_EQ_LONG(verdict_of(&c, &in), RETRY_NO, "a 400 with stray timeout flags is not");
  }
}

/* the words of each timeout, and a buffer too small for them */
static void test_timeout_text(void) {
  static const struct { int phase; const char *option; long ms; int declined; const char *want; } rows[] = {
    { RETRY_PHASE_RESPONSE, "timeout", 10000, 1,
      "no complete response within 10000 ms (timeout = 10000); the request was sent, "
      "so it was not sent again (retry_timeouts = true retries it)" },
    { RETRY_PHASE_RESPONSE, "timeout", 300, 0, "no complete response within 300 ms (timeout = 300)" },
    { RETRY_PHASE_CONNECT, "connect_timeout", 150, 0,
      "could not connect within 150 ms (connect_timeout = 150)" },
    { RETRY_PHASE_CONNECT, "timeout", 200, 0, "could not connect within 200 ms (timeout = 200)" },
    { RETRY_PHASE_SEND, "timeout", 300, 0, "could not send the request within 300 ms (timeout = 300)" },
    { RETRY_PHASE_HEADERS, "timeout", 300, 0, "no response headers within 300 ms (timeout = 300)" },
    { RETRY_PHASE_IDLE, "idle_timeout", 60000, 0,
      "the stream was silent for 60000 ms (idle_timeout = 60000)" },
    { RETRY_PHASE_RESPONSE, "deadline", 700, 0,
      "the deadline of 700 ms passed while waiting for the response (deadline = 700)" },
    { RETRY_PHASE_IDLE, "deadline", 700, 0,
      "the deadline of 700 ms passed while reading the stream (deadline = 700)" },
    { 99, NULL, 5, 0, "no complete response within 5 ms (timeout = 5)" },
  };
  char buf[320], small[16];
  size_t i;
  for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    retry_timeout_text(buf, sizeof buf, rows[i].phase, rows[i].option, rows[i].ms, rows[i].declined);
    TAP_OK(strcmp(buf, rows[i].want) == 0, "timeout text %d: '%s'", (int)i, buf);
  }
  memset(small, 'x', sizeof small);
  retry_timeout_text(small, sizeof small, RETRY_PHASE_RESPONSE, "timeout", 10000, 1);
  TAP_OK(strlen(small) == sizeof small - 1, "a small buffer is cut and terminated ('%s')", small);
}

int main(void) {
  test_status_classes();
  test_timeouts();
  test_timeout_text();
  test_attempts();
  test_should_retry();
  test_insufficient_quota();
  test_retry_after();
  test_http_dates();
  test_decide_wish();
  test_delays();
  return tap_done("retry");
}
