/* The public LM object: an ARPA file read into lib/decode's tables. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/file.h"
#include "decode/lm.h"
#include "format/arpa.h"
#include "format/lmbin.h"

/* A binary LM by its magic, else ARPA text. Opened once without blocking (a FIFO is refused). */
static ds2_status load(const char *path, ds2_lm **lm, ds2_err *err)
{
    struct stat sb;
    int fd = ds2_open_regular(path, "LM", &sb, err);
    if (fd < 0)
        return DS2_ERR_IO;
    char magic[8];
    ssize_t got = pread(fd, magic, sizeof magic, 0);
    ds2_status st;
    if (got == (ssize_t)sizeof magic && memcmp(magic, DS2_LMBIN_MAGIC, 8) == 0)
        st = (uint64_t)sb.st_size > SIZE_MAX
                 ? ds2_fail(err, DS2_ERR_MODEL_FORMAT, "LM '%s' is too large", path)
                 : ds2_lmbin_map(fd, (size_t)sb.st_size, path, lm, err);
    else
        st = ds2_arpa_read(path, lm, err);
    close(fd);
    return st;
}

ds2_status ds2_lm_load(const char *path, ds2_lm **lm, char *error, size_t error_size)
{
    ds2_err err = {""};
    ds2_status st;
    if (lm)
        *lm = NULL;
    if (!path || !lm)
        st = ds2_fail(&err, DS2_ERR_INVALID_ARGUMENT, "ds2_lm_load: path and lm must not be NULL");
    else
        st = load(path, lm, &err);
    if (error && error_size)
        snprintf(error, error_size, "%s", st == DS2_OK ? "" : err.msg);
    return st;
}

ds2_status ds2_lm_save_binary(const ds2_lm *lm, const char *path, char *error, size_t error_size)
{
    ds2_err err = {""};
    ds2_status st = !lm || !path ? ds2_fail(&err, DS2_ERR_INVALID_ARGUMENT,
                                            "ds2_lm_save_binary: lm and path must not be NULL")
                                 : ds2_lmbin_write(lm, path, &err);
    if (error && error_size)
        snprintf(error, error_size, "%s", st == DS2_OK ? "" : err.msg);
    return st;
}

void ds2_lm_free(ds2_lm *lm)
{
    ds2_lm_destroy(lm);
}

void ds2_lm_get_info(const ds2_lm *lm, ds2_lm_info *info)
{
    memset(info, 0, sizeof *info);
    if (!lm)
        return;
    info->order = lm->order;
    for (int k = 1; k <= lm->order; k++)
        info->counts[k] = k == 1 ? (uint64_t)lm->n_words : lm->table[k].n;
}
