/* ds2-lm-convert: an LM (ARPA, or binary) to libds2's binary form, which loads by mapping. */
#include <stdio.h>
#include <string.h>

#include "ds2.h"

int main(int argc, char **argv)
{
    if (argc != 3 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        fprintf(argc == 2 ? stdout : stderr,
                "usage: ds2-lm-convert IN.arpa OUT.ds2lm\n"
                "Writes the LM in libds2's binary form (ds2_lm_save_binary): ds2_lm_load, "
                "ds2-transcribe\n--lm and ds2-bench --lm map it and validate it instead of "
                "parsing text.\n");
        return argc == 2 ? 0 : 2;
    }
    char err[1024];
    ds2_lm *lm = NULL;
    if (ds2_lm_load(argv[1], &lm, err, sizeof err) != DS2_OK) {
        fprintf(stderr, "ds2-lm-convert: %s\n", err);
        return 1;
    }
    ds2_status st = ds2_lm_save_binary(lm, argv[2], err, sizeof err);
    ds2_lm_free(lm);
    if (st != DS2_OK) {
        fprintf(stderr, "ds2-lm-convert: %s\n", err);
        return 1;
    }
    /* read back: the file must load */
    if (ds2_lm_load(argv[2], &lm, err, sizeof err) != DS2_OK) {
        fprintf(stderr, "ds2-lm-convert: the written file does not load: %s\n", err);
        return 1;
    }
    ds2_lm_free(lm);
    return 0;
}
