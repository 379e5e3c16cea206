/*
** engine.h: one engine per Lua state: a curl multi handle, its connection
** cache, a pool of easy handles and the transfers in flight. No Lua here:
** the binding (openai_core.c) owns the memory of engines and transfers in
** userdata and calls these functions.
**
** A transfer is one logical request with its retry state: it makes one or
** more attempts; between attempts it waits for its "next attempt at" time
** on the engine's timer (never by sleeping), so other transfers go on.
*/
#ifndef OPENAI_ENGINE_H
#define OPENAI_ENGINE_H

#include <stdint.h>
#include <stdio.h>

#include "platform.h"               /* before curl.h: winsock2.h before windows.h */
#ifndef _WIN32
#include <sys/socket.h>
#endif
#include <curl/curl.h>

#include "buf.h"
#include "retry.h"
#include "sse.h"

/* states of a transfer */
enum {
  T_NEW = 0,      /* built, not yet submitted */
  T_WAITING,      /* waiting for its next attempt time (first one: now) */
  T_RUNNING,      /* its easy handle is in the multi handle */
  T_DONE,         /* final outcome known (success or error) */
  T_CLOSED        /* resources released; nothing more to read */
};

/* kinds of failure below HTTP (the Lua layer maps HTTP statuses itself) */
enum {
  K_NONE = 0,     /* a complete HTTP response was received */
  K_TIMEOUT,      /* an attempt, the headers, an idle gap or the deadline ran out */
  K_CONNECTION,   /* DNS, refused, reset, TLS, truncated body */
  K_TOO_LARGE,    /* the body passed max_response_bytes */
  K_STREAM,       /* the stream broke after it received an event */
  K_NOMEM,        /* out of memory */
  K_DECODE,       /* a stream event that is not valid UTF-8 */
  K_CLOSED,       /* closed by the caller before it finished */
  K_IO            /* a local file: a part's file cannot be opened or read,
                     or to_path cannot be created or written */
};

/* a part of a multipart/form-data body; strings owned by the transfer */
typedef struct mpart {
  char *name;
  char *data;         /* NULL when the part is a file on disk (path) */
  size_t data_len;
  char *path;         /* a file streamed from disk by curl, never held whole */
  char *filename;     /* NULL: a plain field (a path part: its base name) */
  char *type;         /* NULL: curl's default */
} mpart;

/* the TLS files of a client (CURLOPT_CAINFO, CAPATH, SSLCERT, SSLKEY,
** KEYPASSWD); NULL: curl's default (the system's trust store, no client
** certificate). Peer and host verification stay on whatever these are */
typedef struct tls_files {
  char *ca_file, *ca_path, *client_cert, *client_key, *key_password;
} tls_files;

typedef struct engine engine;
typedef struct transfer transfer;

/* what does not change between the plain calls of a client, prepared once
** (core.profile) and shared by its transfers: header lines, limits, proxy,
** retry policy. Reference-counted (the binding's userdata holds one, each
** transfer using it one). id, never reused, keys the easy handles it
** configured: a pooled handle with the same key skips curl_easy_reset and
** the fixed options */
typedef struct profile {
  int refs;
  unsigned long id;
  struct curl_slist *headers;   /* "Expect:" included */
  char *proxy, *no_proxy;
  tls_files tls;
  long timeout_ms, connect_timeout_ms, idle_timeout_ms, deadline_ms;
  size_t max_response, max_event;
  int stream;
  retry_config retry;
} profile;

/* a pooled easy handle and the key of the options set on it (0: unknown) */
typedef struct idle_easy {
  CURL *h;
  unsigned long key;
} idle_easy;

struct transfer {
  engine *eng;              /* NULL once detached from a closed engine */
  transfer *prev, *next;    /* the engine's list of live transfers */
  transfer *next_ready;     /* the engine's ready list */
  int in_ready;
  int state;                /* T_* */

  /* the request, owned copies */
  char *method;
  char *url;
  struct curl_slist *headers;
  char *body;
  size_t body_len;
  int has_body;
  mpart *parts;
  int nparts;
  long timeout_ms;          /* plain: whole attempt; stream: until headers */
  long connect_timeout_ms;
  long idle_timeout_ms;     /* streams: longest silence between bytes */
  long deadline_ms;         /* across all attempts, 0 = none */
  size_t max_response;      /* cap on a body in memory */
  size_t max_event;         /* cap on one SSE event */
  int stream;               /* parse the 2xx body as SSE */
  char *to_path;            /* a 2xx body goes to this file, not to memory */
  char *proxy;              /* CURLOPT_PROXY; NULL: the environment's */
  char *no_proxy;           /* CURLOPT_NOPROXY; NULL: the environment's */
  tls_files tls;
  int key_refresh;          /* a retry waits for the caller to renew the key
                               header (transfer_wants_key) before it starts */
  int wants_key;            /* ... and this one waits for it now */
  retry_config retry;
  profile *prof;            /* when set, headers, proxy, no_proxy and tls are
                               its own (not freed with the transfer) */

  /* the attempt in progress */
  CURL *easy;
  unsigned long easy_key;   /* the key of the options set on easy (0: none) */
  curl_mime *mime;
  double started_at;        /* first attempt, ms (monotonic) */
  double attempt_at;        /* this attempt */
  double next_at;           /* T_WAITING: when to start the next attempt */
  double last_byte_at;
  long limit_ms;            /* this attempt's CURLOPT_TIMEOUT_MS (0: none) */
  int limit_deadline;       /* ... which is what is left of the deadline */
  int attempts;
  int sends;                /* times curl sent this attempt's request (curl
                               re-sends on its own when a reused connection
                               dies before any response byte) */
  long status;              /* of the latest response's status line */
  int headers_done;         /* the final response's headers are complete */
  int json_body;            /* a stream answered 2xx with a JSON content type:
                               its body is kept whole in body_buf, not framed */
  int own_kind;             /* a failure the engine decided (timeout, too_large) */
  int paused;               /* the stream's write callback asked curl to pause */
  int released;             /* the caller is done: read the rest, then close */
  double release_by;        /* ... but give up (cut the connection) by then */
  obuf head;                /* header lines of the latest response */
  obuf body_buf;            /* body (plain calls, or error bodies of streams) */
  FILE *out;                /* to_path, open while a 2xx attempt writes it */
  unsigned long long written;   /* bytes of the latest 2xx body written to to_path */
  sse_parser sse;
  obuf queue;               /* SSE events waiting for Lua, packed */
  size_t queue_off;         /* read position in queue */
  unsigned long delivered;  /* events handed to the caller */
  unsigned long received;   /* events parsed by the engine, read or not: once
                               one is, the stream is never retried (its events
                               and a later failure go to the caller as they are) */

  /* the outcome */
  int kind;                 /* K_* */
  int curl_code;
  long retry_after_ms;      /* the server's latest wish, -1 none */
  const char *fired_option; /* a timeout: the option whose limit ran out
                               (static text: "timeout", "connect_timeout",
                               "idle_timeout", "deadline"), else NULL */
  long fired_ms;            /* ... that option's value */
  int fired_phase;          /* ... what the attempt was doing (RETRY_PHASE_*) */
  int fired_sent;           /* ... its request had been sent whole */
  char errbuf[CURL_ERROR_SIZE];
  char message[CURL_ERROR_SIZE + 96];        /* our own wording of the failure, when any */
};

/* a socket curl asked the engine to watch (CURLMOPT_SOCKETFUNCTION) */
typedef struct esock {
  curl_socket_t fd;
  int what;                 /* CURL_POLL_IN, CURL_POLL_OUT or CURL_POLL_INOUT */
  unsigned long id;         /* new each time curl starts reporting a socket, so
                               a reused fd number reads as another socket */
} esock;

#ifndef _WIN32
/* a connection curl kept after an HTTP/1.x response, by its socket and the
** two addresses that tell it from a later socket with the same number
** (POSIX only: see drop_overrun) */
typedef struct kept_conn {
  curl_socket_t fd;
  struct sockaddr_storage local, peer;
  socklen_t local_len, peer_len;
} kept_conn;

#define MAX_KEPT 64               /* as CURLMOPT_MAXCONNECTS */
#endif

struct engine {
  CURLM *multi;
#ifndef _WIN32
  kept_conn kept[MAX_KEPT];       /* connections kept idle (see drop_overrun) */
  int nkept;
#endif
  esock *socks;             /* what curl wants watched now */
  int nsocks, cap_socks;
  unsigned long sock_gen;   /* changes whenever socks changes */
  unsigned long sock_ids;   /* the last esock.id given */
  int sock_failed;          /* the socket callback ran out of memory */
  platform_pollfd *pfds;    /* engine_step's scratch copy of socks for poll(2) */
  int cap_pfds;
  double curl_due;          /* when curl's timer wants socket_action (ms,
                               monotonic), ENGINE_NO_DUE when it has none */
  transfer *live;           /* every transfer attached to this engine */
  transfer *ready;          /* transfers that became ready (done, or events) */
  transfer **ready_tail;
  idle_easy *idle;          /* pool of easy handles with warm state */
  int nidle, cap_idle;
  int max_idle;             /* handles beyond it are freed, not pooled */
  int freed_handles;        /* freed since the last trim (see trim_heap) */
  int running;              /* transfers whose easy is in the multi */
  CURLSH *share;            /* TLS sessions, shared by every handle of the engine
                               (NULL when curl could not make it: none shared) */
  int has_cainfo;           /* libcurl has a default CA bundle file (see set_tls_options) */
  int closed;
  uint64_t rng;             /* jitter (64 bits: a long is 32 on Windows) */
};

/* curl_global_init, once per process */
int engine_global_init(void);

/* 0 on success, -1 on failure (curl_multi_init) */
int engine_init(engine *e);
/* detach and close every transfer, free the easy pool and the multi;
** idempotent */
void engine_close(engine *e);
/* CURLMOPT_MAX_HOST_CONNECTIONS and CURLMOPT_MAXCONNECTS (which also caps
** the idle handle pool); 0 leaves as is */
void engine_configure(engine *e, long max_host, long max_total);

/* a new profile with one reference (the caller's), its id set; NULL when
** out of memory. profile_release drops a reference, freeing at zero */
profile *profile_new(void);
void profile_release(profile *p);
/* t (new, no request fields read yet) takes p's fixed fields */
void transfer_use_profile(transfer *t, profile *p);

/* zero a transfer and give its fields their defaults */
void transfer_init(transfer *t);
/* attach to the engine and schedule its first attempt now; 0 or -1 */
int transfer_submit(engine *e, transfer *t);
/* 1 when the caller may look at it: done, or a stream with events queued */
int transfer_ready(const transfer *t);
/* pop one queued SSE event (its name and data are valid UTF-8); 1 and
** fills the pointers (valid until the next call on this transfer), 0 when
** the queue is empty */
int transfer_pop_event(transfer *t, const char **name, size_t *name_len,
                       const char **data, size_t *data_len);
/* after the caller copied the popped events: let a paused stream go on
** (curl may deliver more data from inside this call) */
void transfer_resume(transfer *t);
/* the caller has what it wanted (a stream's last event): let a running
** transfer read the rest of its body in the background so its connection
** goes back to the pool, then close itself; at most grace_ms, else cut.
** A transfer that is not running is closed at once. */
void transfer_release(transfer *t, long grace_ms);
/* stop it, release curl resources and the request; idempotent. Small
** buffers keep their memory for transfer_reuse; transfer_destroy frees all */
void transfer_close(transfer *t);
/* a closed transfer made new (as transfer_init), keeping its buffers' memory */
void transfer_reuse(transfer *t);
/* close, then free every buffer */
void transfer_destroy(transfer *t);
/* free the strings of f and zero it */
void tls_files_free(tls_files *f);
/* a transfer with key_refresh whose attempt failed and will be retried is
** put on the ready list with wants_key set, waiting (its next attempt time
** kept) until transfer_set_key replaces its header line `name: ...` (name
** as in line, case-insensitive) and lets it go on; 0, or -1 when out of
** memory or t does not wait for a key */
int transfer_set_key(transfer *t, const char *line);
/* a fixed text for a kind */
const char *transfer_kind_name(int kind);
/* the value of a response header of the final response, or NULL; name is
** lowercase; the result is copied into out (size outsz) */
const char *transfer_header(const transfer *t, const char *name, char *out, size_t outsz);

/* drive the engine once: start due attempts, run curl, wait at most
** max_wait_ms with poll(2) on curl's sockets (never past the nearest timer;
** -1 = until something happens or a timer is due), run curl again, settle
** finished attempts. Does not wait when a transfer is already ready.
** Returns the length of the ready list, or -1 on a multi-handle failure. */
int engine_step(engine *e, long max_wait_ms);
/* engine_step, but waits unless t is ready (other transfers' readiness
** stays in the ready list for whoever takes it) */
int engine_step_for(engine *e, long max_wait_ms, const transfer *t);
/* the host's loop saw fd readable and/or writable (fd CURL_SOCKET_BAD: its
** timer fired): hand that to curl, settle finished attempts, fire the engine's
** timers, start due attempts. Never waits. Returns the length of the ready
** list, or -1 on a multi-handle failure. */
int engine_socket_action(engine *e, curl_socket_t fd, int readable, int writable);
/* milliseconds until the engine must be called even without socket
** activity (curl's timer, retry waits, stream header/idle timers, release
** grace), 0 when overdue or when the ready list holds transfers nobody took
** yet, -1 when nothing is pending. Changes after any
** call on the engine or a transfer: read it again each time. */
long engine_timeout(engine *e);
/* take the ready list (the caller walks it through next_ready) */
transfer *engine_take_ready(engine *e);

/* engine_timeout's "no timer" inside the engine */
#define ENGINE_NO_DUE 1e300

/* milliseconds on a monotonic clock */
double engine_now_ms(void);

#endif
