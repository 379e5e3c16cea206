/*
** upfile.c: whether a local file can be uploaded (see upfile.h).
*/
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#ifndef _WIN32
#include <fcntl.h>
#include <unistd.h>
#endif

#include "platform.h"
#include "upfile.h"

#ifdef _WIN32

/* Windows has no FIFOs or pseudo-files on plain paths: open it (a UTF-8
** path) and ask its kind */
int upfile_check(const char *path, long long *size, char *msg, size_t cap) {
  struct _stat64 st;
  FILE *f = platform_fopen(path, "rb");
  if (f == NULL) {
    snprintf(msg, cap, "cannot open the file '%.200s': %s", path, strerror(errno));
    return -1;
  }
  if (_fstat64(_fileno(f), &st) != 0) {
    snprintf(msg, cap, "cannot read the file '%.200s': %s", path, strerror(errno));
    fclose(f);
    return -1;
  }
  fclose(f);
  if ((st.st_mode & _S_IFMT) != _S_IFREG) {
    snprintf(msg, cap, "cannot upload '%.200s': it is %s, and only a regular file can be uploaded",
             path, (st.st_mode & _S_IFMT) == _S_IFDIR ? "a directory" : "not a regular file");
    return -2;
  }
  *size = (long long)st.st_size;
  return 0;
}

#else

static const char *kind_of(mode_t m) {
  if (S_ISDIR(m)) return "a directory";
  if (S_ISFIFO(m)) return "a FIFO (named pipe)";
  if (S_ISSOCK(m)) return "a socket";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  return "not a regular file";
}

int upfile_check(const char *path, long long *size, char *msg, size_t cap) {
  struct stat st;
  char byte;
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    snprintf(msg, cap, "cannot open the file '%.200s': %s", path, strerror(errno));
    return -1;
  }
  if (fstat(fd, &st) != 0) {
    snprintf(msg, cap, "cannot read the file '%.200s': %s", path, strerror(errno));
    close(fd);
    return -1;
  }
  if (!S_ISREG(st.st_mode)) {
    snprintf(msg, cap, "cannot upload '%.200s': it is %s, and only a regular file can be uploaded",
             path, kind_of(st.st_mode));
    close(fd);
    return -2;
  }
  if (st.st_size == 0 && read(fd, &byte, 1) > 0) {
    snprintf(msg, cap, "cannot upload '%.200s': its size is not known in advance (a pseudo-file, "
             "like those under /proc); copy it to a regular file first", path);
    close(fd);
    return -2;
  }
  close(fd);
  *size = (long long)st.st_size;
  return 0;
}

#endif
