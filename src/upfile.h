/*
** upfile.h: whether a local file can be uploaded (a part given by path),
** in plain C with no Lua. Both transports ask before they send.
*/
#ifndef OPENAI_UPFILE_H
#define OPENAI_UPFILE_H

#include <stddef.h>

/*
** 0 and *size when path names a regular file whose size is known in
** advance; otherwise why in msg (cap bytes, naming the path once) and -1
** when it cannot be opened or read, -2 when it is not a regular file (a
** directory, a FIFO, a socket, a device) or its stated size is 0 while it
** has bytes (a pseudo-file such as those under /proc). The file is opened without
** blocking (a FIFO with no writer would wait for ever) and closed again.
*/
int upfile_check(const char *path, long long *size, char *msg, size_t cap);

#endif
