/*
** sse.h: an incremental parser of server-sent events (WHATWG framing), in
** plain C with no Lua, fed whatever byte chunks the network hands over.
**
** Rules (docs/DESIGN.md, "Server-sent events"): lines end in CR, LF or CRLF, and a
** CRLF split across two feeds is one line end; a blank line dispatches the
** event; a line starting with ':' is a comment; "field: value" with one
** leading space of the value stripped, a line without ':' is a field with
** an empty value; "data" lines join with "\n"; "event", "id" and "retry"
** (ASCII digits only) are kept; unknown fields are ignored; an event whose
** data is empty is not dispatched; a UTF-8 BOM at the very start is skipped;
** an "id" value containing NUL is ignored. The event name resets after each
** dispatch; the last id persists (WHATWG "last event ID").
*/
#ifndef OPENAI_SSE_H
#define OPENAI_SSE_H

#include <stddef.h>

#include "buf.h"

/* results of sse_feed / sse_finish */
enum {
  SSE_OK = 0,        /* all bytes consumed */
  SSE_TOO_LARGE = 1, /* one event (line + data so far) passed max_event_bytes */
  SSE_NOMEM = 2,     /* out of memory */
  SSE_ABORTED = 3    /* the emit callback returned nonzero */
};

/* one dispatched event; pointers valid only during the emit callback */
typedef struct sse_event {
  const char *event;  /* event name, "" when none was given */
  size_t event_len;
  const char *data;   /* data lines joined with '\n' (never empty) */
  size_t data_len;
  const char *id;     /* last event id, "" when none */
  size_t id_len;
  long retry;         /* last "retry" value in ms, -1 when none */
} sse_event;

/* return 0 to go on, nonzero to stop parsing (sse_feed returns SSE_ABORTED) */
typedef int (*sse_emit)(void *ud, const sse_event *ev);

typedef struct sse_parser {
  obuf line;        /* the current, unfinished line */
  obuf data;        /* data buffer of the event being built */
  obuf event;       /* event name buffer */
  obuf id;          /* last event id */
  long retry;       /* last retry value, -1 if none */
  size_t max_event; /* cap on line + data bytes of one event */
  int has_data;     /* a data field was seen for the current event */
  int last_cr;      /* the previous byte was a CR (so a following LF is skipped) */
  int started;      /* some byte was seen (for the BOM rule) */
  int bom;          /* bytes of a possible BOM matched so far (0..3) */
  unsigned long events; /* events dispatched so far */
} sse_parser;

/* max_event_bytes 0 means the default, 16 MiB */
void sse_init(sse_parser *p, size_t max_event_bytes);
/* feed a chunk; emit is called for each complete event */
int sse_feed(sse_parser *p, const char *buf, size_t len, sse_emit emit, void *ud);
/* nonzero when a partial event (an unfinished line or undispatched fields)
** is pending: at end of stream that event is discarded, as WHATWG says */
int sse_pending(const sse_parser *p);
/* forget everything (as after sse_init), keep the allocated memory */
void sse_reset(sse_parser *p);
void sse_free(sse_parser *p);

#endif
