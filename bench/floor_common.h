/*
** bench/floor_common.h: what the two raw-libcurl floors share: reading the
** captured request (body and header lines, written by bench/capture.lua),
** a growable response buffer, the clocks and VmHWM.
*/
#ifndef BENCH_FLOOR_COMMON_H
#define BENCH_FLOOR_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <curl/curl.h>

typedef struct membuf { char *data; size_t len, cap; } membuf;

static inline void die(const char *what) {
  fprintf(stderr, "floor: %s\n", what);
  exit(1);
}

static inline size_t on_write(char *ptr, size_t size, size_t nmemb, void *ud) {
  membuf *b = (membuf *)ud;
  size_t n = size * nmemb;
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 1024;
    char *p;
    while (cap < b->len + n + 1) cap *= 2;
    p = (char *)realloc(b->data, cap);
    if (p == NULL) return 0;
    b->data = p;
    b->cap = cap;
  }
  memcpy(b->data + b->len, ptr, n);
  b->len += n;
  b->data[b->len] = '\0';
  return n;
}

static inline char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  char *p;
  long n;
  if (f == NULL) die(path);
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  fseek(f, 0, SEEK_SET);
  p = (char *)malloc((size_t)n + 1);
  if (p == NULL || fread(p, 1, (size_t)n, f) != (size_t)n) die(path);
  p[n] = '\0';
  fclose(f);
  *len = (size_t)n;
  return p;
}

/* the header lines of the file, one a line, plus "Expect:" as the library
** adds (no 100-continue round trip) */
static inline struct curl_slist *read_headers(const char *path) {
  size_t len;
  char *text = read_file(path, &len), *line, *save = NULL;
  struct curl_slist *h = NULL;
  for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
    if (*line) h = curl_slist_append(h, line);
  h = curl_slist_append(h, "Expect:");
  free(text);
  return h;
}

/* the options the library sets on each attempt that change what goes on
** the wire or how the connection is kept, set once here */
static inline void setup_easy(CURL *h, const char *url, const char *body, size_t body_len,
                       struct curl_slist *headers, membuf *out) {
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, (void *)out);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
}

static inline double cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static inline double wall_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* VmHWM of this process in KiB, or -1 */
static inline long vm_hwm_kib(void) {
  char line[256];
  long v = -1;
  FILE *f = fopen("/proc/self/status", "r");
  if (f == NULL) return -1;
  while (fgets(line, sizeof line, f) != NULL)
    if (strncmp(line, "VmHWM:", 6) == 0) { v = strtol(line + 6, NULL, 10); break; }
  fclose(f);
  return v;
}

static inline int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static inline double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#endif
