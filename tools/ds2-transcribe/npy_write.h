#ifndef NPY_WRITE_H
#define NPY_WRITE_H
/* Writes a C-order float32 [rows][cols] array as a NumPy .npy (format 1.0). 0 on success. */
int npy_write_f32_2d(const char *path, const float *data, int rows, int cols);
#endif
