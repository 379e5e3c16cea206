/*
** bench/floor_multi.c: the raw-libcurl floor of the parallel figure. One
** curl multi handle, CONC easy handles in flight, each reused for the next
** request as soon as its response is in, until N requests are done; the
** same request as the library's (bench/capture.lua).
**
**   floor_multi URL BODY_FILE HEADERS_FILE N CONC REPS
**
** A warm-up batch of CONC requests opens the connections, then REPS timed
** batches of N. Prints key=value lines: each batch's wall time in ms, their
** median, and the CPU time (user+sys) of one batch, averaged.
*/
#include "floor_common.h"

typedef struct slot { CURL *h; membuf out; } slot;

/* run n requests with conc in flight; wall seconds */
static double batch(CURLM *m, slot *slots, int conc, long n) {
  long started = 0, done = 0;
  int i, still;
  double w0 = wall_s();
  for (i = 0; i < conc && started < n; i++, started++) {
    slots[i].out.len = 0;
    if (curl_multi_add_handle(m, slots[i].h) != CURLM_OK) die("curl_multi_add_handle");
  }
  while (done < n) {
    CURLMsg *msg;
    int left;
    if (curl_multi_perform(m, &still) != CURLM_OK) die("curl_multi_perform");
    while ((msg = curl_multi_info_read(m, &left)) != NULL) {
      slot *s = NULL;
      long code = 0;
      if (msg->msg != CURLMSG_DONE) continue;
      if (msg->data.result != CURLE_OK) die(curl_easy_strerror(msg->data.result));
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
      curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);
      if (code != 200 || s->out.len == 0) die("bad response");
      curl_multi_remove_handle(m, msg->easy_handle);
      done++;
      if (started < n) {
        started++;
        s->out.len = 0;
        if (curl_multi_add_handle(m, s->h) != CURLM_OK) die("curl_multi_add_handle");
      }
    }
    if (done < n && curl_multi_poll(m, NULL, 0, 1000, NULL) != CURLM_OK) die("curl_multi_poll");
  }
  return wall_s() - w0;
}

int main(int argc, char **argv) {
  size_t body_len;
  char *body;
  struct curl_slist *headers;
  CURLM *m;
  slot *slots;
  long n, reps, r;
  int conc, i;
  double *wall, c0, cpu;
  if (argc != 7) die("usage: floor_multi URL BODY_FILE HEADERS_FILE N CONC REPS");
  body = read_file(argv[2], &body_len);
  headers = read_headers(argv[3]);
  n = atol(argv[4]);
  conc = atoi(argv[5]);
  reps = atol(argv[6]);
  if (n < 1 || conc < 1 || reps < 1) die("counts must be >= 1");
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) die("curl_global_init");
  m = curl_multi_init();
  if (m == NULL) die("curl_multi_init");
  curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long)conc);
  slots = (slot *)calloc((size_t)conc, sizeof *slots);
  wall = (double *)calloc((size_t)reps, sizeof *wall);
  if (slots == NULL || wall == NULL) die("no memory");
  for (i = 0; i < conc; i++) {
    slots[i].h = curl_easy_init();
    if (slots[i].h == NULL) die("curl_easy_init");
    setup_easy(slots[i].h, argv[1], body, body_len, headers, &slots[i].out);
    curl_easy_setopt(slots[i].h, CURLOPT_PRIVATE, (void *)&slots[i]);
  }
  batch(m, slots, conc, conc);             /* warm-up: open the connections */
  c0 = cpu_s();
  for (r = 0; r < reps; r++) wall[r] = batch(m, slots, conc, n) * 1e3;
  cpu = (cpu_s() - c0) * 1e3 / (double)reps;
  printf("floor_par_wall_ms_reps=");
  for (r = 0; r < reps; r++) printf("%s%.1f", r ? "," : "", wall[r]);
  printf("\nfloor_par_wall_ms=%.2f\n", median(wall, (int)reps));
  printf("floor_par_cpu_ms=%.2f\n", cpu);
  for (i = 0; i < conc; i++) {
    curl_multi_remove_handle(m, slots[i].h);
    curl_easy_cleanup(slots[i].h);
    free(slots[i].out.data);
  }
  curl_multi_cleanup(m);
  curl_slist_free_all(headers);
  curl_global_cleanup();
  free(slots);
  free(wall);
  free(body);
  return 0;
}
