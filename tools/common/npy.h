#ifndef DS2_FORWARD_NPY_H
#define DS2_FORWARD_NPY_H
#include <stddef.h>
/* Minimal NumPy .npy I/O for little-endian float32, C order. Both return 0 on success. */

/* Writes shape[0..ndim) (1 <= ndim <= 4). */
int npy_write_f32(const char *path, const float *data, int ndim, const int *shape);
/* Reads a 2-D '<f4' C-order array; *data is malloc'ed. On failure writes a message to err. */
int npy_read_f32_2d(const char *path, float **data, int *rows, int *cols, char *err,
                    size_t err_size);

#endif
