/*
** bench/floor.c: the floor of the sequential figure. Raw libcurl: one easy
** handle reused (keep-alive), posting the library's exact request (body and
** header lines captured by bench/capture.lua) and collecting each response
** into memory.
**
**   floor URL BODY_FILE HEADERS_FILE WARM BLOCKS BLOCK_N
**
** WARM calls, then VmHWM; then BLOCKS timed blocks of BLOCK_N calls each.
** Prints key=value lines: the median block's CPU (user+sys, getrusage) and
** wall time per call in microseconds, every block's, and VmHWM in KiB.
*/
#include "floor_common.h"

static void call(CURL *h, membuf *out, size_t want) {
  CURLcode rc;
  long code = 0;
  out->len = 0;
  rc = curl_easy_perform(h);
  if (rc != CURLE_OK) die(curl_easy_strerror(rc));
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
  if (code != 200) die("status is not 200");
  if (want && out->len != want) die("short response");
}

int main(int argc, char **argv) {
  size_t body_len, want = 0;
  char *body;
  struct curl_slist *headers;
  CURL *h;
  membuf out = { NULL, 0, 0 };
  long warm, blocks, block_n, i, b;
  double *cpu, *wall;
  long rss_warm;
  if (argc != 7) die("usage: floor URL BODY_FILE HEADERS_FILE WARM BLOCKS BLOCK_N");
  body = read_file(argv[2], &body_len);
  headers = read_headers(argv[3]);
  warm = atol(argv[4]);
  blocks = atol(argv[5]);
  block_n = atol(argv[6]);
  if (warm < 1 || blocks < 1 || block_n < 1) die("counts must be >= 1");
  cpu = (double *)calloc((size_t)blocks, sizeof *cpu);
  wall = (double *)calloc((size_t)blocks, sizeof *wall);
  if (cpu == NULL || wall == NULL) die("no memory");
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) die("curl_global_init");
  h = curl_easy_init();
  if (h == NULL) die("curl_easy_init");
  setup_easy(h, argv[1], body, body_len, headers, &out);

  for (i = 0; i < warm; i++) {
    call(h, &out, want);
    want = out.len;
  }
  rss_warm = vm_hwm_kib();
  for (b = 0; b < blocks; b++) {
    double c0 = cpu_s(), w0 = wall_s();
    for (i = 0; i < block_n; i++) call(h, &out, want);
    cpu[b] = (cpu_s() - c0) * 1e6 / (double)block_n;
    wall[b] = (wall_s() - w0) * 1e6 / (double)block_n;
  }
  printf("floor_seq_cpu_us_blocks=");
  for (b = 0; b < blocks; b++) printf("%s%.2f", b ? "," : "", cpu[b]);
  printf("\nfloor_seq_wall_us_blocks=");
  for (b = 0; b < blocks; b++) printf("%s%.2f", b ? "," : "", wall[b]);
  printf("\nfloor_seq_cpu_us=%.3f\n", median(cpu, (int)blocks));
  printf("floor_seq_wall_us=%.3f\n", median(wall, (int)blocks));
  printf("floor_rss_warm_kib=%ld\n", rss_warm);
  printf("floor_rss_end_kib=%ld\n", vm_hwm_kib());
  printf("floor_calls=%ld\n", warm + blocks * block_n);
  printf("floor_response_bytes=%zu\n", want);
  curl_easy_cleanup(h);
  curl_slist_free_all(headers);
  curl_global_cleanup();
  free(out.data);
  free(body);
  free(cpu);
  free(wall);
  return 0;
}
