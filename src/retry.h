/*
** retry.h: the retry policy, in plain C with no Lua: given what one attempt
** got (transport error or HTTP status and a few headers) and how many
** attempts were made, decide whether to try again and after how long.
** The rules are those of docs/DESIGN.md ("Retries").
*/
#ifndef OPENAI_RETRY_H
#define OPENAI_RETRY_H

#include <stddef.h>

/* verdicts of retry_decide */
enum {
  RETRY_NO = 0,       /* do not retry: the attempt's outcome is final */
  RETRY_YES = 1,      /* retry after delay_ms */
  RETRY_TOO_LONG = 2, /* the server asked for a wait above the cap: give up,
                         report retry_after_ms */
  RETRY_SENT = 3      /* do not retry: a timeout after the request was fully
                         sent (the server may be generating, and each attempt
                         is billed); retry_timeouts asks otherwise */
};

typedef struct retry_config {
  int max_retries;          /* retries after the first attempt (0 = none) */
  int backoff;              /* 1: exponential backoff with jitter (SDK);
                               0: a fixed delay of delay_ms */
  long delay_ms;            /* the fixed delay when backoff == 0 */
  int sdk_statuses;         /* 1: retry 408, 409, 429 and >= 500;
                               0: retry >= 500 only (the raw request's default) */
  int all_errors;           /* 1: also retry every 3xx and 4xx */
  long max_retry_after_ms;  /* cap on a server's Retry-After (default 60000) */
  int retry_timeouts;       /* 1: retry a timeout even after the request was sent */
} retry_config;

typedef struct retry_input {
  int attempts;             /* attempts made so far, >= 1 */
  long status;              /* HTTP status, 0 when no response (transport error) */
  int transport_error;      /* connection failure or timeout: retryable */
  int timed_out;            /* the transport error is a timeout */
  int request_sent;         /* ... that fired after the request was fully sent */
  const char *retry_after_ms; /* header values, NULL when absent */
  const char *retry_after;
  const char *should_retry;   /* x-should-retry */
  int insufficient_quota;   /* a 429 whose error code is insufficient_quota */
  double now;               /* current time, seconds since the epoch (HTTP dates) */
  double random01;          /* a random number in [0, 1) for the jitter */
} retry_input;

typedef struct retry_decision {
  int verdict;              /* RETRY_NO, RETRY_YES or RETRY_TOO_LONG */
  long delay_ms;            /* wait before the next attempt (RETRY_YES) */
  long retry_after_ms;      /* the server's wish in ms, -1 when none or invalid */
} retry_decision;

/* what an attempt was doing when a timeout fired */
enum {
  RETRY_PHASE_CONNECT = 0,  /* connecting (TCP, TLS) */
  RETRY_PHASE_SEND,         /* sending the request */
  RETRY_PHASE_RESPONSE,     /* the request was sent: waiting for, or reading, the response */
  RETRY_PHASE_HEADERS,      /* a stream's request was sent: waiting for its headers */
  RETRY_PHASE_IDLE          /* a stream's response: a silence between bytes */
};

/* the message of a timeout into buf (size n, always terminated): what the
** attempt was doing (RETRY_PHASE_*), the option whose limit ran out and its
** value in ms; declined: the verdict was RETRY_SENT, and the message says
** so and how to ask otherwise. One wording for both transports. */
void retry_timeout_text(char *buf, size_t n, int phase, const char *option, long ms,
                        int declined);

/* 1 when an attempt with this outcome is an error at all (status >= 300 or
** a transport error) */
int retry_is_error(long status, int transport_error);

void retry_decide(const retry_config *cfg, const retry_input *in, retry_decision *out);

/* the server's wish in ms from retry-after-ms, else retry-after as seconds
** (may be fractional), else retry-after as an HTTP date (IMF-fixdate, RFC 850
** or asctime); -1 when absent, unparsable, zero or negative */
long retry_after_ms(const char *retry_after_ms, const char *retry_after, double now);

/* parse an HTTP date into seconds since the epoch; 0 on success, -1 if not a date */
int retry_parse_http_date(const char *s, double *epoch);

/* the backoff delay before retry number n (n = 0 for the first retry):
** min(0.5 * 2^n, 8.0) seconds times (1 - 0.25 * random01), in ms */
long retry_backoff_ms(int n, double random01);

#endif
