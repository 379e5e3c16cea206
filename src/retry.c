/*
** retry.c: the retry policy (see retry.h and docs/DESIGN.md "Retries").
** Pure C, no locale-dependent or thread-unsafe libc calls: numbers and
** HTTP dates are parsed by hand, and calendar dates are converted to days
** since the epoch with our own arithmetic.
*/
#include "retry.h"

#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define DEFAULT_MAX_RETRY_AFTER_MS 60000L

/* the header's OWS and the line ends a caller may have left in */
static int is_ws(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* an ASCII decimal digit */
static int is_digit(char c) {
  return c >= '0' && c <= '9';
}

/* ASCII lowercase, independent of the locale */
static char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* skip leading whitespace; set *end to just past the last non-space byte */
static const char *trim(const char *s, const char **end) {
  const char *e;
  while (is_ws(*s)) s++;
  e = s;
  while (*e) e++;
  while (e > s && is_ws(e[-1])) e--;
  *end = e;
  return s;
}

/* case-insensitive comparison of [s, e) with the NUL-terminated word w */
static int equals_ci(const char *s, const char *e, const char *w) {
  for (; s < e && *w; s++, w++)
    if (lower(*s) != *w) return 0;
  return s == e && *w == '\0';
}

#define NOT_A_NUMBER (-2)

/*
** Parse a decimal number (optional sign, digits, optional fraction, optional
** exponent; surrounding whitespace allowed, nothing else) and return its
** value times 10^scale, rounded up to an integer and clamped to LONG_MAX.
** Returns -1 for a number that is not > 0 and NOT_A_NUMBER for text that is
** not a number ("5s", "", "inf", "nan"). Integer arithmetic only: no float
** rounding surprises, no overflow.
*/
static long parse_scaled(const char *text, int scale) {
  const char *end, *p = trim(text, &end);
  uint64_t mant = 0;       /* up to 19 significant digits */
  long exp10 = scale;      /* value = mant * 10^exp10 (+ dropped digits) */
  int ndigits = 0, sig = 0, neg = 0, dropped = 0;
  long exp = 0;
  int eneg = 0;

  if (p < end && (*p == '+' || *p == '-')) { neg = (*p == '-'); p++; }
  for (; p < end && is_digit(*p); p++) {
    ndigits++;
    if (sig < 19) {
      mant = mant * 10 + (uint64_t)(*p - '0');
      if (mant) sig++;
    } else {
      if (*p != '0') dropped = 1;
      if (exp10 < 100000) exp10++;
    }
  }
  if (p < end && *p == '.') {
    p++;
    for (; p < end && is_digit(*p); p++) {
      ndigits++;
      if (sig < 19) {
        mant = mant * 10 + (uint64_t)(*p - '0');
        if (mant) sig++;
        if (exp10 > -100000) exp10--;
      } else if (*p != '0') {
        dropped = 1;
      }
    }
  }
  if (ndigits == 0) return NOT_A_NUMBER;
  if (p < end && (*p == 'e' || *p == 'E')) {
    int edigits = 0;
    p++;
    if (p < end && (*p == '+' || *p == '-')) { eneg = (*p == '-'); p++; }
    for (; p < end && is_digit(*p); p++) {
      edigits++;
      if (exp < 100000) exp = exp * 10 + (*p - '0');
    }
    if (edigits == 0) return NOT_A_NUMBER;
  }
  if (p != end) return NOT_A_NUMBER;   /* trailing garbage such as "5s" */
  if (neg || (mant == 0 && !dropped)) return -1;
  exp10 += eneg ? -exp : exp;

  if (exp10 >= 0) {
    uint64_t v = mant;
    long i;
    for (i = 0; i < exp10; i++) {
      if (v > (uint64_t)LONG_MAX / 10) return LONG_MAX;
      v *= 10;
    }
    return v > (uint64_t)LONG_MAX ? LONG_MAX : (long)v;
  } else {
    /* divide by 10^-exp10, rounding up; a positive value never becomes 0 */
    uint64_t v = mant;
    int rem = dropped;
    long i;
    for (i = 0; i < -exp10 && v > 0; i++) {
      if (v % 10) rem = 1;
      v /= 10;
    }
    if (rem || v == 0) v++;
    return v > (uint64_t)LONG_MAX ? LONG_MAX : (long)v;
  }
}

/* days from 1970-01-01 to the proleptic Gregorian date y-m-d */
static long days_from_civil(long y, int m, int d) {
  long era, yoe, doy, doe;
  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = y - era * 400;                                     /* [0, 399] */
  doy = (153L * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;   /* [0, 365] */
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;             /* [0, 146096] */
  return era * 146097 + doe - 719468;
}

/* the number of days in month m (1..12) of year y */
static int days_in_month(long y, int m) {
  static const int dm[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
  if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
  return dm[m - 1];
}

/* read exactly n digits at *p into *v; advance *p; 0 on success */
static int read_digits(const char **p, const char *end, int n, long *v) {
  long r = 0;
  int i;
  for (i = 0; i < n; i++) {
    if (*p >= end || !is_digit(**p)) return -1;
    r = r * 10 + (**p - '0');
    (*p)++;
  }
  *v = r;
  return 0;
}

/* read 1 or 2 digits (a day of the month) */
static int read_day(const char **p, const char *end, long *v) {
  if (read_digits(p, end, 1, v)) return -1;
  if (*p < end && is_digit(**p)) *v = *v * 10 + (*(*p)++ - '0');
  return 0;
}

/* expect the literal lit (case-insensitive) at *p; advance; 0 on success */
static int expect(const char **p, const char *end, const char *lit) {
  const char *q = *p;
  for (; *lit; lit++, q++)
    if (q >= end || lower(*q) != lower(*lit)) return -1;
  *p = q;
  return 0;
}

/* a month's three-letter name at *p; sets *m to 1..12 */
static int read_month(const char **p, const char *end, int *m) {
  static const char *const names[12] = { "jan", "feb", "mar", "apr", "may", "jun",
                                         "jul", "aug", "sep", "oct", "nov", "dec" };
  int i;
  for (i = 0; i < 12; i++)
    if (expect(p, end, names[i]) == 0) { *m = i + 1; return 0; }
  return -1;
}

/* a day's name at *p: the short form, or the long one when long_form */
static int read_weekday(const char **p, const char *end, int long_form) {
  static const char *const shorts[7] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" };
  static const char *const longs[7] = { "monday", "tuesday", "wednesday", "thursday",
                                        "friday", "saturday", "sunday" };
  int i;
  for (i = 0; i < 7; i++)
    if (expect(p, end, long_form ? longs[i] : shorts[i]) == 0) return 0;
  return -1;
}

/* "HH:MM:SS" into seconds of the day (a leap second 60 is accepted) */
static int read_time(const char **p, const char *end, long *secs) {
  long h, mi, s;
  if (read_digits(p, end, 2, &h) || expect(p, end, ":") ||
      read_digits(p, end, 2, &mi) || expect(p, end, ":") ||
      read_digits(p, end, 2, &s))
    return -1;
  if (h > 23 || mi > 59 || s > 60) return -1;
  *secs = h * 3600 + mi * 60 + s;
  return 0;
}

/* check the date and turn it into seconds since the epoch */
static int to_epoch(long y, int m, long d, long secs, double *epoch) {
  if (d < 1 || d > days_in_month(y, m)) return -1;
  *epoch = (double)days_from_civil(y, m, (int)d) * 86400.0 + (double)secs;
  return 0;
}

/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
static int parse_imf(const char *p, const char *end, double *epoch) {
  long d, y, secs;
  int m;
  if (read_weekday(&p, end, 0) || expect(&p, end, ", ") || read_day(&p, end, &d) ||
      expect(&p, end, " ") || read_month(&p, end, &m) || expect(&p, end, " ") ||
      read_digits(&p, end, 4, &y) || expect(&p, end, " ") || read_time(&p, end, &secs) ||
      expect(&p, end, " GMT") || p != end)
    return -1;
  return to_epoch(y, m, d, secs, epoch);
}

/* RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"; years 70-99 are 19xx, 00-69 20xx */
static int parse_rfc850(const char *p, const char *end, double *epoch) {
  long d, y, secs;
  int m;
  if (read_weekday(&p, end, 1) || expect(&p, end, ", ") || read_day(&p, end, &d) ||
      expect(&p, end, "-") || read_month(&p, end, &m) || expect(&p, end, "-") ||
      read_digits(&p, end, 2, &y) || expect(&p, end, " ") || read_time(&p, end, &secs) ||
      expect(&p, end, " GMT") || p != end)
    return -1;
  y += y < 70 ? 2000 : 1900;
  return to_epoch(y, m, d, secs, epoch);
}

/* asctime: "Sun Nov  6 08:49:37 1994" (the day padded with a space) */
static int parse_asctime(const char *p, const char *end, double *epoch) {
  long d, y, secs;
  int m;
  if (read_weekday(&p, end, 0) || expect(&p, end, " ") || read_month(&p, end, &m) ||
      expect(&p, end, " "))
    return -1;
  if (p < end && *p == ' ') {
    p++;
    if (read_digits(&p, end, 1, &d)) return -1;
  } else if (read_digits(&p, end, 2, &d)) {
    return -1;
  }
  if (expect(&p, end, " ") || read_time(&p, end, &secs) || expect(&p, end, " ") ||
      read_digits(&p, end, 4, &y) || p != end)
    return -1;
  return to_epoch(y, m, d, secs, epoch);
}

/* parse an HTTP date in any of the three formats into seconds since the epoch */
int retry_parse_http_date(const char *s, double *epoch) {
  const char *end, *p;
  double e;
  if (s == NULL) return -1;
  p = trim(s, &end);
  if (parse_imf(p, end, &e) && parse_rfc850(p, end, &e) && parse_asctime(p, end, &e))
    return -1;
  if (epoch) *epoch = e;
  return 0;
}

/* the server's wish in ms, or -1 (see retry.h) */
long retry_after_ms(const char *retry_after_ms_hdr, const char *retry_after, double now) {
  double epoch, ms;
  long v;
  /* a number in retry-after-ms decides, whatever its sign (as the SDKs do);
     anything else there falls through to retry-after */
  if (retry_after_ms_hdr && (v = parse_scaled(retry_after_ms_hdr, 0)) != NOT_A_NUMBER)
    return v;
  if (retry_after == NULL) return -1;
  if ((v = parse_scaled(retry_after, 3)) != NOT_A_NUMBER) return v;
  if (retry_parse_http_date(retry_after, &epoch) != 0) return -1;
  ms = (epoch - now) * 1000.0;
  if (!(ms > 0)) return -1;                 /* past, now, or a NaN `now` */
  if (ms >= (double)LONG_MAX) return LONG_MAX;
  ms = ceil(ms);
  return ms >= (double)LONG_MAX ? LONG_MAX : (long)ms;
}

/* min(0.5 * 2^n, 8) s times (1 - 0.25 * random01), in ms, rounded down */
long retry_backoff_ms(int n, double random01) {
  long base = 8000;
  double ms;
  if (n < 4) base = 500L << (n < 0 ? 0 : n);
  if (!(random01 >= 0)) random01 = 0;       /* also catches NaN */
  if (random01 > 1) random01 = 1;
  ms = (double)base * (1.0 - 0.25 * random01);
  /* a hair of slack so that, e.g., 8000 * 0.75025 is 6002, not 6001.999... */
  return (long)floor(ms + 1e-6);
}

/* 1 when the outcome is an error at all */
int retry_is_error(long status, int transport_error) {
  return transport_error || status >= 300;
}

/* the x-should-retry header: 1 for "true", 0 for "false", -1 otherwise */
static int should_retry_header(const char *v) {
  const char *end, *p;
  if (v == NULL) return -1;
  p = trim(v, &end);
  if (equals_ci(p, end, "true")) return 1;
  if (equals_ci(p, end, "false")) return 0;
  return -1;
}

/* whether this outcome may be retried at all, ignoring attempts and delay */
static int is_retryable(const retry_config *cfg, const retry_input *in) {
  int hdr;
  if (in->insufficient_quota) return 0;
  if (in->transport_error) return 1;
  if (in->status < 300) return 0;
  hdr = should_retry_header(in->should_retry);
  if (hdr >= 0) return hdr;
  if (in->status >= 500) return 1;
  if (cfg->sdk_statuses && (in->status == 408 || in->status == 409 || in->status == 429))
    return 1;
  if (cfg->all_errors && in->status < 500) return 1;
  return 0;
}

/* decide whether to retry and after how long (see retry.h) */
void retry_decide(const retry_config *cfg, const retry_input *in, retry_decision *out) {
  long cap = cfg->max_retry_after_ms > 0 ? cfg->max_retry_after_ms : DEFAULT_MAX_RETRY_AFTER_MS;
  int max_retries = cfg->max_retries > 0 ? cfg->max_retries : 0;
  long wish = retry_after_ms(in->retry_after_ms, in->retry_after, in->now);

  out->verdict = RETRY_NO;
  out->delay_ms = 0;
  out->retry_after_ms = wish;
  if (in->attempts > max_retries || !is_retryable(cfg, in)) return;
  if (in->transport_error && in->timed_out && in->request_sent && !cfg->retry_timeouts) {
    out->verdict = RETRY_SENT;
    return;
  }
  if (wish > cap) {
    out->verdict = RETRY_TOO_LONG;
    return;
  }
  out->verdict = RETRY_YES;
  if (wish > 0)
    out->delay_ms = wish;
  else if (cfg->backoff)
    out->delay_ms = retry_backoff_ms(in->attempts > 1 ? in->attempts - 1 : 0, in->random01);
  else
    out->delay_ms = cfg->delay_ms > 0 ? cfg->delay_ms : 0;
}

/* the words of a timeout (see retry.h) */
void retry_timeout_text(char *buf, size_t n, int phase, const char *option, long ms,
                        int declined) {
  static const char *const doing[] = { "connecting", "sending the request",
                                       "waiting for the response",
                                       "waiting for the response headers",
                                       "reading the stream" };
  int used;
  if (n == 0) return;
  if (phase < RETRY_PHASE_CONNECT || phase > RETRY_PHASE_IDLE) phase = RETRY_PHASE_RESPONSE;
  if (option == NULL) option = "timeout";
  if (strcmp(option, "deadline") == 0)   /* it bounds all attempts together */
    used = snprintf(buf, n, "the deadline of %ld ms passed while %s (deadline = %ld)", ms,
                    doing[phase], ms);
  else if (phase == RETRY_PHASE_CONNECT)
    used = snprintf(buf, n, "could not connect within %ld ms (%s = %ld)", ms, option, ms);
  else if (phase == RETRY_PHASE_SEND)
    used = snprintf(buf, n, "could not send the request within %ld ms (%s = %ld)", ms, option, ms);
  else if (phase == RETRY_PHASE_HEADERS)
    used = snprintf(buf, n, "no response headers within %ld ms (%s = %ld)", ms, option, ms);
  else if (phase == RETRY_PHASE_IDLE)
    used = snprintf(buf, n, "the stream was silent for %ld ms (%s = %ld)", ms, option, ms);
  else
    used = snprintf(buf, n, "no complete response within %ld ms (%s = %ld)", ms, option, ms);
  if (declined && used >= 0 && (size_t)used < n)
    snprintf(buf + used, n - (size_t)used, "; the request was sent, so it was not sent again "
             "(retry_timeouts = true retries it)");
}
