#include "npy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int npy_write_f32(const char *path, const float *data, int ndim, const int *shape)
{
    if (ndim < 1 || ndim > 4)
        return -1;
    char dims[128] = "";
    size_t count = 1;
    for (int i = 0; i < ndim; i++) {
        size_t len = strlen(dims);
        snprintf(dims + len, sizeof dims - len, "%d,%s", shape[i], i + 1 < ndim ? " " : "");
        count *= (size_t)shape[i];
    }
    if (ndim > 1)
        dims[strlen(dims) - 1] = '\0'; /* (a, b) but (a,) */
    char header[256];
    int n = snprintf(header, sizeof header,
                     "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }", dims);
    /* magic(6) + version(2) + len(2) + header + padding + '\n' is a multiple of 64 */
    int pad = (64 - (10 + n + 1) % 64) % 64;
    memset(header + n, ' ', (size_t)pad);
    header[n + pad] = '\n';
    unsigned hlen = (unsigned)(n + pad + 1);
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    unsigned char hl[2] = {(unsigned char)(hlen & 0xff), (unsigned char)(hlen >> 8)};
    int ok = fwrite("\x93NUMPY\x01\x00", 1, 8, f) == 8 && fwrite(hl, 1, 2, f) == 2 &&
             fwrite(header, 1, hlen, f) == hlen && fwrite(data, sizeof(float), count, f) == count;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

int npy_read_f32_2d(const char *path, float **data, int *rows, int *cols, char *err,
                    size_t err_size)
{
    *data = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, err_size, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    unsigned char pre[10];
    char header[4096];
    int ok = fread(pre, 1, 10, f) == 10 && !memcmp(pre, "\x93NUMPY", 6) && pre[6] == 1;
    unsigned hlen = ok ? (unsigned)pre[8] | (unsigned)pre[9] << 8 : 0;
    ok = ok && hlen < sizeof header && fread(header, 1, hlen, f) == hlen;
    if (ok) {
        header[hlen] = '\0';
        const char *shape = strstr(header, "'shape': (");
        ok = strstr(header, "'descr': '<f4'") && strstr(header, "'fortran_order': False") &&
             shape && sscanf(shape, "'shape': (%d, %d)", rows, cols) == 2 && *rows > 0 && *cols > 0;
    }
    if (!ok) {
        snprintf(err, err_size, "%s: not a 2-D little-endian float32 C-order .npy", path);
        fclose(f);
        return -1;
    }
    size_t count = (size_t)*rows * (size_t)*cols;
    *data = malloc(count * sizeof(float));
    if (!*data || fread(*data, sizeof(float), count, f) != count) {
        snprintf(err, err_size, "%s: %s", path, *data ? "truncated" : "out of memory");
        free(*data);
        *data = NULL;
        fclose(f);
        return -1;
    }
    fclose(f);
    return 0;
}
