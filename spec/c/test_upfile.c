/*
** test_upfile.c: upfile_check on a regular file, an empty one, a missing
** one, a directory, a FIFO with no writer (must not block) and a /proc
** pseudo-file.
*/
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifdef _WIN32

#include "tap.h"
#include "upfile.h"

/* Windows: a regular file and a directory (no FIFOs, no /proc) */
int main(void) {
  char msg[512];
  long long size = -1;
  FILE *f = fopen("upfile-test.txt", "wb");
  fputs("hello", f);
  fclose(f);
  TAP_EQ_LONG(upfile_check("upfile-test.txt", &size, msg, sizeof msg), 0, "a regular file");
  TAP_EQ_LONG(size, 5, "its size");
  remove("upfile-test.txt");
  TAP_EQ_LONG(upfile_check("upfile-missing.txt", &size, msg, sizeof msg), -1, "a missing file");
  TAP_OK(upfile_check(".", &size, msg, sizeof msg) != 0, "a directory is refused: %s", msg);
  return tap_done("upfile");
}

#else

#include <unistd.h>

#include "tap.h"
#include "upfile.h"

static int mentions_once(const char *msg, const char *path) {
  const char *at = strstr(msg, path);
  return at != NULL && strstr(at + strlen(path), path) == NULL;
}

int main(void) {
  char dir[] = "/tmp/upfile-XXXXXX", path[256], msg[512];
  long long size = -1;
  FILE *f;
  if (mkdtemp(dir) == NULL) return 1;

  snprintf(path, sizeof path, "%s/a.txt", dir);
  f = fopen(path, "wb");
  fputs("hello", f);
  fclose(f);
  TAP_EQ_LONG(upfile_check(path, &size, msg, sizeof msg), 0, "a regular file");
  TAP_EQ_LONG(size, 5, "its size");

  snprintf(path, sizeof path, "%s/empty", dir);
  fclose(fopen(path, "wb"));
  TAP_EQ_LONG(upfile_check(path, &size, msg, sizeof msg), 0, "an empty regular file");
  TAP_EQ_LONG(size, 0, "its size");

  snprintf(path, sizeof path, "%s/missing", dir);
  TAP_EQ_LONG(upfile_check(path, &size, msg, sizeof msg), -1, "a missing file");
  TAP_OK(strstr(msg, "No such file") != NULL && mentions_once(msg, path), "%s", msg);

  TAP_EQ_LONG(upfile_check(dir, &size, msg, sizeof msg), -2, "a directory");
  TAP_OK(strstr(msg, "a directory") != NULL && mentions_once(msg, dir), "%s", msg);

  snprintf(path, sizeof path, "%s/fifo", dir);
  TAP_OK(mkfifo(path, 0600) == 0, "mkfifo");
  TAP_EQ_LONG(upfile_check(path, &size, msg, sizeof msg), -2, "a FIFO with no writer, without blocking");
  TAP_OK(strstr(msg, "FIFO") != NULL && mentions_once(msg, path), "%s", msg);
  unlink(path);

  TAP_EQ_LONG(upfile_check("/proc/self/status", &size, msg, sizeof msg), -2, "a /proc pseudo-file");
  TAP_OK(strstr(msg, "not known in advance") != NULL, "%s", msg);

  snprintf(path, sizeof path, "%s/a.txt", dir);
  unlink(path);
  snprintf(path, sizeof path, "%s/empty", dir);
  unlink(path);
  rmdir(dir);
  return tap_done("upfile");
}

#endif
