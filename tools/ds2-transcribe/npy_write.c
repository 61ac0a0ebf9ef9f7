#include "npy_write.h"

#include <stdio.h>
#include <string.h>

int npy_write_f32_2d(const char *path, const float *data, int rows, int cols)
{
    char header[256];
    int n = snprintf(header, sizeof header,
                     "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }", rows, cols);
    /* magic(6) + version(2) + len(2) + header + padding + '\n' must be a multiple of 64. */
    int total = 10 + n + 1;
    int pad = (64 - total % 64) % 64;
    memset(header + n, ' ', (size_t)pad);
    header[n + pad] = '\n';
    unsigned short hlen = (unsigned short)(n + pad + 1);
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    unsigned char hl[2] = {(unsigned char)(hlen & 0xff), (unsigned char)(hlen >> 8)};
    int ok = fwrite("\x93NUMPY\x01\x00", 1, 8, f) == 8 && fwrite(hl, 1, 2, f) == 2 &&
             fwrite(header, 1, hlen, f) == hlen &&
             fwrite(data, sizeof(float), (size_t)rows * cols, f) == (size_t)rows * cols;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}
