/*
** platform.c: POSIX and Windows versions of platform.h, one #ifdef per
** call. Nothing else in the sources names a system-specific call.
*/
#ifdef _WIN32
#define _CRT_RAND_S                    /* rand_s in stdlib.h: before any include */
#endif
#include "platform.h"

#ifdef _WIN32
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#else
#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#if defined(__linux__) && defined(__GLIBC__) && \
    (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 25))
#include <sys/random.h>
#define HAVE_GETRANDOM 1
#endif
#endif

#ifdef _WIN32

double platform_mono_ms(void) {
  static LARGE_INTEGER freq;           /* fixed at boot; a benign race */
  LARGE_INTEGER now;
  if (freq.QuadPart == 0) QueryPerformanceFrequency(&freq);
  QueryPerformanceCounter(&now);
  return (double)now.QuadPart * 1000.0 / (double)freq.QuadPart;
}

double platform_wall_s(void) {
  FILETIME ft;                         /* 100 ns ticks since 1601 */
  ULARGE_INTEGER t;
  GetSystemTimeAsFileTime(&ft);
  t.LowPart = ft.dwLowDateTime;
  t.HighPart = ft.dwHighDateTime;
  return (double)(t.QuadPart - 116444736000000000ULL) / 1e7;
}

unsigned long platform_process_id(void) {
  return (unsigned long)GetCurrentProcessId();
}

int platform_poll(platform_pollfd *fds, int n, long wait_ms) {
  int got;
  if (n == 0) {
    if (wait_ms != 0) Sleep(wait_ms < 0 ? INFINITE : (DWORD)wait_ms);
    return 0;
  }
  got = WSAPoll(fds, (ULONG)n, (INT)wait_ms);
  return got == SOCKET_ERROR ? -1 : got;
}

typedef struct once_box { void (*fn)(void); } once_box;

static BOOL CALLBACK once_trampoline(PINIT_ONCE once, PVOID box, PVOID *ctx) {
  (void)once; (void)ctx;
  ((once_box *)box)->fn();
  return TRUE;
}

void platform_run_once(platform_once *once, void (*fn)(void)) {
  once_box box;
  box.fn = fn;
  InitOnceExecuteOnce(once, once_trampoline, &box, NULL);
}

void platform_lock(platform_mutex *m) { AcquireSRWLockExclusive(m); }
void platform_unlock(platform_mutex *m) { ReleaseSRWLockExclusive(m); }

void platform_trim_heap(void) {}

/* a UTF-8 text as a new wide string, NULL when it is not valid UTF-8 */
static wchar_t *widen(const char *s) {
  int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0);
  wchar_t *w;
  if (n <= 0) return NULL;
  w = (wchar_t *)malloc((size_t)n * sizeof *w);
  if (w != NULL) MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, w, n);
  return w;
}

FILE *platform_fopen(const char *path, const char *mode) {
  wchar_t *wpath = widen(path), *wmode = widen(mode);
  FILE *f = NULL;
  if (wpath != NULL && wmode != NULL) f = _wfopen(wpath, wmode);
  else errno = wpath == NULL ? EILSEQ : ENOMEM;
  free(wpath);
  free(wmode);
  return f;
}

int platform_replace_file(const char *from, const char *to) {
  wchar_t *wfrom = widen(from), *wto = widen(to);
  int rc = -1;
  if (wfrom == NULL || wto == NULL) errno = ENOMEM;
  else if (MoveFileExW(wfrom, wto, MOVEFILE_REPLACE_EXISTING)) rc = 0;
  else errno = GetLastError() == ERROR_FILE_NOT_FOUND || GetLastError() == ERROR_PATH_NOT_FOUND
               ? ENOENT : EACCES;
  free(wfrom);
  free(wto);
  return rc;
}

int platform_remove(const char *path) {
  wchar_t *wpath = widen(path);
  int rc;
  if (wpath == NULL) { errno = ENOMEM; return -1; }
  rc = _wremove(wpath);
  free(wpath);
  return rc == 0 ? 0 : -1;
}

long long platform_file_size(FILE *f) {
  if (_fseeki64(f, 0, SEEK_END) != 0) return -1;
  return (long long)_ftelli64(f);
}

int platform_fseek(FILE *f, long long offset) {
  return _fseeki64(f, (__int64)offset, SEEK_SET) == 0 ? 0 : -1;
}

int platform_random(unsigned char *buf, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned int r;
    size_t k;
    if (rand_s(&r) != 0) return EIO;
    for (k = 0; k < sizeof r && i < n; k++, i++) buf[i] = (unsigned char)(r >> (8 * k));
  }
  return 0;
}

#else

double platform_mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

double platform_wall_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

unsigned long platform_process_id(void) {
  return (unsigned long)getpid();
}

int platform_poll(platform_pollfd *fds, int n, long wait_ms) {
  int got = poll(fds, (nfds_t)n, (int)wait_ms);
  if (got < 0) return errno == EINTR ? 0 : -1;
  return got;
}

void platform_run_once(platform_once *once, void (*fn)(void)) {
  pthread_once(once, fn);
}

void platform_lock(platform_mutex *m) { pthread_mutex_lock(m); }
void platform_unlock(platform_mutex *m) { pthread_mutex_unlock(m); }

void platform_trim_heap(void) {
#ifdef __GLIBC__
  malloc_trim(0);
#endif
}

FILE *platform_fopen(const char *path, const char *mode) {
  return fopen(path, mode);
}

int platform_replace_file(const char *from, const char *to) {
  return rename(from, to) == 0 ? 0 : -1;
}

int platform_remove(const char *path) {
  return remove(path) == 0 ? 0 : -1;
}

long long platform_file_size(FILE *f) {
  if (fseeko(f, 0, SEEK_END) != 0) return -1;
  return (long long)ftello(f);
}

int platform_fseek(FILE *f, long long offset) {
  return fseeko(f, (off_t)offset, SEEK_SET) == 0 ? 0 : -1;
}

int platform_random(unsigned char *buf, size_t n) {
  size_t got = 0;
  int fd;
#ifdef HAVE_GETRANDOM
  while (got < n) {
    ssize_t r = getrandom(buf + got, n - got, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) break;                       /* ENOSYS (an old kernel): /dev/urandom */
    got += (size_t)r;
  }
  if (got == n) return 0;
#endif
  fd = open("/dev/urandom", O_RDONLY);
  if (fd < 0) return errno;
  while (got < n) {
    ssize_t r = read(fd, buf + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      int err = r < 0 ? errno : EIO;
      close(fd);
      return err;
    }
    got += (size_t)r;
  }
  close(fd);
  return 0;
}

#endif
