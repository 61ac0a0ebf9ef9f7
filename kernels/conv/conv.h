/* Conv epilogue kernels: the GEMM tile's bias, Hardtanh(lo, hi) and placement in one pass. */
#ifndef DS2_KERNELS_CONV_H
#define DS2_KERNELS_CONV_H

/* out[r * ldo + j] = min(max(in[r * ldi + j] + bias, lo), hi) for r < rows, j < cols. */
typedef void (*ds2_conv_bias_hardtanh_ukernel_fn)(int rows, int cols, const float *in, int ldi,
                                                  float bias, float lo, float hi, float *out,
                                                  int ldo);

void ds2_conv_bias_hardtanh_ukernel__ref(int rows, int cols, const float *in, int ldi, float bias,
                                         float lo, float hi, float *out, int ldo);
void ds2_conv_bias_hardtanh_ukernel__avx2(int rows, int cols, const float *in, int ldi, float bias,
                                          float lo, float hi, float *out, int ldo);

/* The best version for this CPU, chosen once (pthread_once). */
ds2_conv_bias_hardtanh_ukernel_fn ds2_conv_bias_hardtanh_get(void);

#endif
