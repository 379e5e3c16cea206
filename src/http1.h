/*
** http1.h: an incremental parser of one HTTP/1.1 response (RFC 9112
** framing), in plain C with no Lua and no curl, fed whatever byte chunks a
** socket hands over (nginx cosockets), in any split.
**
** Rules:
** - status line "HTTP/1.x SSS[ reason]"; interim 1xx responses (100, 102,
**   103) are skipped whole, headers included; 101 is refused (we never ask
**   for an upgrade).
** - lines end in LF or CRLF; a CR anywhere else, any other control byte but
**   HTAB, an empty or non-token header name, whitespace before the colon or
**   an obs-fold continuation line is an error.
** - body: none for a HEAD request and for 204 and 304; else chunked when
**   Transfer-Encoding is "chunked" (any other coding is refused), else
**   Content-Length (repeated identical values allowed, conflicting ones
**   refused), else everything up to the end of the connection
**   (http1_finish). Both Transfer-Encoding and Content-Length: chunked wins
**   and the connection is not kept alive. Chunk extensions and trailers are
**   checked and dropped.
** - caps: max_line on every line (status, header, chunk size, trailer),
**   max_head on the header block (interim responses included) and on the
**   trailer block. The error is the same whatever the split.
** - bytes after the end of the message are ignored, and the connection is
**   then not kept alive.
*/
#ifndef OPENAI_HTTP1_H
#define OPENAI_HTTP1_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* results of http1_feed / http1_finish; http1_message gives the text */
enum {
  HTTP1_OK = 0,
  HTTP1_BAD_STATUS,     /* not an HTTP/1.x status line with a 3-digit status */
  HTTP1_BAD_HEADER,     /* a malformed header or trailer line */
  HTTP1_BAD_LENGTH,     /* invalid or conflicting Content-Length */
  HTTP1_BAD_ENCODING,   /* a Transfer-Encoding other than "chunked" */
  HTTP1_BAD_CHUNK,      /* a malformed chunk size line or chunk end */
  HTTP1_LINE_TOO_LONG,  /* one line is longer than max_line */
  HTTP1_HEAD_TOO_LARGE, /* the header (or trailer) block is larger than max_head */
  HTTP1_TRUNCATED,      /* the connection closed in the middle of the response */
  HTTP1_NO_RESPONSE,    /* the connection closed before any byte */
  HTTP1_NOMEM,
  HTTP1_ABORTED,        /* a callback returned nonzero */
  HTTP1_NCODES
};

/* every callback may be NULL; a nonzero return stops parsing (HTTP1_ABORTED).
** Pointers are valid only during the call. */
typedef struct http1_callbacks {
  /* the final status line (not the 1xx ones): minor version (0 or 1),
  ** status code, reason phrase */
  int (*on_status)(void *ud, int minor, int status, const char *reason, size_t reason_len);
  /* one header, the value trimmed of surrounding spaces and tabs */
  int (*on_header)(void *ud, const char *name, size_t name_len, const char *value,
                   size_t value_len);
  int (*on_headers_done)(void *ud);
  /* decoded body bytes (never empty) */
  int (*on_body)(void *ud, const char *bytes, size_t len);
  int (*on_done)(void *ud);
  void *ud;
} http1_callbacks;

/* how the body is delimited (known once the headers are done) */
enum { HTTP1_NO_BODY = 0, HTTP1_LENGTH, HTTP1_CHUNKED, HTTP1_CLOSE };

typedef struct http1_parser {
  obuf line;            /* the current, unfinished line */
  size_t max_head, max_line;
  size_t head_bytes;    /* bytes of the header (or trailer) block so far */
  uint64_t remaining;   /* body or chunk bytes still to come */
  uint64_t length;      /* the Content-Length, when has_length */
  int state;            /* internal */
  int error;            /* the first error, sticky */
  int head_request;     /* the request was HEAD: no body whatever the headers say */
  int minor, status;    /* of the final response, status 0 until then */
  int framing;          /* HTTP1_NO_BODY .. HTTP1_CLOSE */
  int interim;          /* reading the headers of a 1xx response */
  int has_length, chunked, other_coding, conn_close, ambiguous, extra, chunk_cr;
  int started;          /* some byte was seen */
} http1_parser;

/* head_request: 1 when the request method was HEAD; max_head and max_line
** 0 mean the defaults (256 KiB and 100 KiB, as the libcurl path) */
void http1_init(http1_parser *p, int head_request, size_t max_head, size_t max_line);
/* feed a chunk; callbacks as the response is parsed. After an error every
** feed returns that error again. */
int http1_feed(http1_parser *p, const char *buf, size_t len, const http1_callbacks *cb);
/* the connection reached its end: HTTP1_OK when the message was complete
** (a close-delimited body ends here, on_done is called), else
** HTTP1_TRUNCATED or HTTP1_NO_RESPONSE */
int http1_finish(http1_parser *p, const http1_callbacks *cb);
/* 1 when the whole message was read */
int http1_done(const http1_parser *p);
/* 1 when the connection may carry another request: the whole message read,
** HTTP/1.1, no "Connection: close", the body delimited by its length or by
** chunks (not by the end of the connection, not ambiguously), nothing
** after it */
int http1_keepalive(const http1_parser *p);
/* a fixed English sentence for a result code */
const char *http1_message(int code);
/* a short fixed name for a result code ("bad_status", "truncated", ...) */
const char *http1_code_name(int code);
void http1_free(http1_parser *p);

#endif
