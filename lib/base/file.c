#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "base/file.h"

static const char *kind(mode_t m)
{
    return S_ISDIR(m)    ? "a directory"
           : S_ISFIFO(m) ? "a FIFO"
           : S_ISSOCK(m) ? "a socket"
           : S_ISCHR(m)  ? "a character device"
           : S_ISBLK(m)  ? "a block device"
                         : "an unknown file type";
}

int ds2_open_regular(const char *path, const char *what, struct stat *sb, ds2_err *err)
{
    /* O_NOCTTY: a terminal named as input must not become our controlling terminal. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        ds2_fail(err, DS2_ERR_IO, "cannot open %s '%s': %s", what, path, strerror(errno));
        return -1;
    }
    if (fstat(fd, sb) != 0) {
        ds2_fail(err, DS2_ERR_IO, "cannot stat %s '%s': %s", what, path, strerror(errno));
        close(fd);
        return -1;
    }
    if (!S_ISREG(sb->st_mode)) {
        ds2_fail(err, DS2_ERR_IO, "%s '%s' is not a regular file (%s)", what, path,
                 kind(sb->st_mode));
        close(fd);
        return -1;
    }
    /* Regular files never block anyway; clear the flag so readers see ordinary semantics. */
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
        ds2_fail(err, DS2_ERR_IO, "%s '%s': fcntl: %s", what, path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}
