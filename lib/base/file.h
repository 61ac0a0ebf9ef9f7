/* Opening input files without ever blocking on them. */
#ifndef DS2_FILE_H
#define DS2_FILE_H

#include <sys/stat.h>

#include "base/error.h"

/* Opens path read-only and returns the descriptor (blocking mode, close-on-exec), with its
 * fstat in *sb. Anything but a regular file (FIFO, socket, device, directory) is refused
 * without reading from it: a plain open() of a FIFO with no writer blocks forever, so the open
 * is O_NONBLOCK and the check is fstat on the open descriptor (no window between a stat and the
 * open). On failure returns -1 with DS2_ERR_IO in err, the message "<what> '<path>': ...". */
int ds2_open_regular(const char *path, const char *what, struct stat *sb, ds2_err *err);

#endif
