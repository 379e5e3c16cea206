/*
** fuzz_retry.c: libFuzzer target for the retry policy. The input is split
** at 0x00 bytes into retry-after-ms, retry-after and x-should-retry values;
** its first bytes also pick the status, the attempt count and the config.
*/
#include <assert.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "retry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* copy the next NUL-separated field of data into a fresh string */
static char *next_field(const uint8_t *data, size_t size, size_t *pos) {
  size_t start = *pos, end = start;
  char *s;
  while (end < size && data[end] != 0) end++;
  s = malloc(end - start + 1);
  if (s == NULL) abort();
  memcpy(s, data + start, end - start);
  s[end - start] = '\0';
  *pos = end < size ? end + 1 : end;
  return s;
}

/* check the invariants of one decision */
static void check_decision(const retry_config *c, const retry_input *in, const retry_decision *d,
                           long wish) {
  long cap = c->max_retry_after_ms > 0 ? c->max_retry_after_ms : 60000;
  int sent_timeout = in->transport_error && in->timed_out && in->request_sent && !c->retry_timeouts;
  assert(d->verdict == RETRY_NO || d->verdict == RETRY_YES || d->verdict == RETRY_TOO_LONG ||
         d->verdict == RETRY_SENT);
  /* a timeout after the request was sent whole: never retried unless asked,
  ** and "sent" exactly when it alone stood in the way */
  if (sent_timeout) assert(d->verdict != RETRY_YES && d->verdict != RETRY_TOO_LONG);
  if (d->verdict == RETRY_SENT)
    assert(sent_timeout && in->attempts <= c->max_retries && !in->insufficient_quota);
  assert(d->retry_after_ms == wish);
  assert(d->retry_after_ms == -1 || d->retry_after_ms > 0);
  if (in->attempts > c->max_retries) assert(d->verdict == RETRY_NO);
  if (!retry_is_error(in->status, in->transport_error) || in->insufficient_quota)
    assert(d->verdict == RETRY_NO);
  if (d->verdict == RETRY_TOO_LONG) assert(wish > cap);
  if (d->verdict == RETRY_YES) {
    assert(d->delay_ms >= 0);
    assert(wish <= cap);
    if (wish > 0) assert(d->delay_ms == wish && d->delay_ms <= cap);
    else if (c->backoff) assert(d->delay_ms >= 375 && d->delay_ms <= 8000);
    else assert(d->delay_ms == (c->delay_ms > 0 ? c->delay_ms : 0));
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const long statuses[16] = { 0, 200, 204, 301, 400, 401, 404, 408,
                                     409, 422, 429, 499, 500, 503, 599, 100 };
  uint8_t sel = size > 0 ? data[0] : 0, att = size > 1 ? data[1] : 0;
  size_t pos = size > 2 ? 2 : size;
  char *ms = next_field(data, size, &pos);
  char *ra = next_field(data, size, &pos);
  char *sr = next_field(data, size, &pos);
  const double now = 784111777.0 - (double)(att & 0x3f) * 1000.0;
  long wish = retry_after_ms(ms, ra, now);
  double epoch;
  int mode;

  assert(wish == -1 || wish > 0);
  assert(retry_after_ms(ms, ra, now) == wish);           /* deterministic */
  if (retry_parse_http_date(ra, &epoch) == 0) {
    assert(epoch >= -62167219200.0 && epoch <= 253402300800.0);  /* years 0000..9999 */
    (void)retry_after_ms(NULL, ra, epoch);
  }
  (void)retry_parse_http_date(ms, &epoch);
  (void)retry_parse_http_date(sr, NULL);
  assert(retry_after_ms(NULL, NULL, now) == -1);

  for (mode = 0; mode < 128; mode++) {
    retry_config c;
    retry_input in;
    retry_decision d;
    memset(&c, 0, sizeof c);
    memset(&in, 0, sizeof in);
    c.sdk_statuses = mode & 1;
    c.all_errors = (mode >> 1) & 1;
    c.backoff = (mode >> 2) & 1;
    c.delay_ms = (mode & 8) ? 1234 : -1;
    c.max_retries = (sel >> 4) & 3;
    c.max_retry_after_ms = (sel & 0x40) ? 5000 : ((sel & 0x80) ? -1 : 0);
    in.attempts = 1 + (att >> 6);
    in.status = statuses[sel & 15];
    in.transport_error = in.status == 0 && (att & 1);
    in.insufficient_quota = in.status == 429 && (att & 2);
    in.timed_out = (mode >> 4) & 1;
    in.request_sent = (mode >> 5) & 1;
    c.retry_timeouts = (mode >> 6) & 1;
    in.retry_after_ms = ms;
    in.retry_after = ra;
    in.should_retry = sr;
    in.now = now;
    in.random01 = (double)(att & 0x3f) / 64.0;
    retry_decide(&c, &in, &d);
    check_decision(&c, &in, &d, wish);
  }
  {
    /* the words of a timeout: terminated and within the buffer, whatever
    ** the phase, value and size */
    char buf[320];
    size_t n = (size_t)(sel % sizeof buf) + 1;
    buf[n - 1] = 'x';
    retry_timeout_text(buf, n, (int)(att % 7) - 1, ms, wish, att & 1);
    assert(strlen(buf) < n);
  }
  {
    int n = (int)(sel | ((unsigned)att << 8)) - 100;
    long b = retry_backoff_ms(n, (double)(att) / 256.0);
    assert(b >= 375 && b <= 8000);
    assert(retry_backoff_ms(INT_MAX, 0.0) == 8000);
  }
  free(ms);
  free(ra);
  free(sr);
  return 0;
}
