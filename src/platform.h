/*
** platform.h: the few system calls that differ between POSIX systems and
** Windows, behind one small interface (the engine and openai.wire use these,
** never the system's own): the clocks, waiting on sockets, once-only init,
** a process-wide lock, giving freed heap back, opening a file by a UTF-8
** path. Sockets stay curl's curl_socket_t (an int on POSIX, a SOCKET on
** Windows: never narrowed to an int, never an index).
*/
#ifndef OPENAI_PLATFORM_H
#define OPENAI_PLATFORM_H

#include <stdio.h>

#ifdef _WIN32
#  ifndef _WIN32_WINNT
#    define _WIN32_WINNT 0x0600        /* WSAPoll, InitOnce, SRW locks: Vista */
#  endif
#  ifndef WIN32_LEAN_AND_MEAN
#    define WIN32_LEAN_AND_MEAN
#  endif
#  ifndef NOMINMAX
#    define NOMINMAX
#  endif
#  include <winsock2.h>
#  include <windows.h>
typedef WSAPOLLFD platform_pollfd;
typedef INIT_ONCE platform_once;
#  define PLATFORM_ONCE_INIT INIT_ONCE_STATIC_INIT
typedef SRWLOCK platform_mutex;
#  define PLATFORM_MUTEX_INIT SRWLOCK_INIT
/* the largest socket value a Lua number carries exactly (a SOCKET is a
** pointer-sized handle) */
#  define PLATFORM_SOCKET_MAX 9007199254740992.0
#else
#  include <poll.h>
#  include <pthread.h>
typedef struct pollfd platform_pollfd;
typedef pthread_once_t platform_once;
#  define PLATFORM_ONCE_INIT PTHREAD_ONCE_INIT
typedef pthread_mutex_t platform_mutex;
#  define PLATFORM_MUTEX_INIT PTHREAD_MUTEX_INITIALIZER
#  define PLATFORM_SOCKET_MAX 2147483647.0
#endif

/* milliseconds on a monotonic clock (CLOCK_MONOTONIC; Windows:
** QueryPerformanceCounter); every module of the process reads the same one */
double platform_mono_ms(void);
/* seconds since 1970 on the wall clock */
double platform_wall_s(void);

/* this process's id (getpid, GetCurrentProcessId) */
unsigned long platform_process_id(void);

/* poll(2) / WSAPoll on n sockets for at most wait_ms (-1: no limit). n may
** be 0 (WSAPoll refuses that: the wait is a sleep then). Returns how many
** have revents, 0 when interrupted by a signal, -1 on failure */
int platform_poll(platform_pollfd *fds, int n, long wait_ms);

/* run fn once per process, whatever thread calls first */
void platform_run_once(platform_once *once, void (*fn)(void));
void platform_lock(platform_mutex *m);
void platform_unlock(platform_mutex *m);

/* give freed heap memory back to the system where the allocator keeps it
** (glibc: malloc_trim); nothing elsewhere */
void platform_trim_heap(void);

/* fopen, with path in UTF-8 on every system (Windows: _wfopen) */
FILE *platform_fopen(const char *path, const char *mode);

/* rename from over to, replacing to (rename; Windows: MoveFileExW with
** MOVEFILE_REPLACE_EXISTING), and remove a file; paths in UTF-8 on every
** system. 0, or -1 with errno */
int platform_replace_file(const char *from, const char *to);
int platform_remove(const char *path);

/* 64-bit file positions on every system (fseeko/ftello; Windows:
** _fseeki64/_ftelli64, as off_t is 32 bits there): the size of f (its
** position left at the end), or -1 with errno; a seek to offset from the
** start, 0 or -1 */
long long platform_file_size(FILE *f);
int platform_fseek(FILE *f, long long offset);

/* fill buf with n bytes from the system's random source (getrandom or
** /dev/urandom; Windows: rand_s, that is RtlGenRandom). 0, or an errno */
int platform_random(unsigned char *buf, size_t n);

#endif
