/* The public LM object: an ARPA file read into lib/decode's tables. */
#include <stdio.h>
#include <string.h>

#include "decode/lm.h"
#include "format/arpa.h"

ds2_status ds2_lm_load(const char *path, ds2_lm **lm, char *error, size_t error_size)
{
    ds2_err err = {""};
    ds2_status st;
    if (lm)
        *lm = NULL;
    if (!path || !lm)
        st = ds2_fail(&err, DS2_ERR_INVALID_ARGUMENT, "ds2_lm_load: path and lm must not be NULL");
    else
        st = ds2_arpa_read(path, lm, &err);
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
