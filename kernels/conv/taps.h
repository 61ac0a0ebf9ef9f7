/*
 * A conv layer with stride 1 in time as one pass over position-major patches: each output
 * position (frame, bin) of a tile of frames, plus a k_time - 1 frame halo, has its (c_in,
 * k_freq) patch as one contiguous row, and time tap kt of position p is the row of position
 * p + kt * f_out (conv_stack.c's shift trick). Before this kernel that was one sgemm per tap,
 * each repacking the whole column buffer for a product only c_out (32) wide, then a separate
 * bias/Hardtanh pass. Here a tile of 12 positions x 32 channels is accumulated over every tap and
 * patch element in registers (one broadcast patch value times a vector of all channels' weights)
 * and leaves finished: bias and Hardtanh applied, stored in the layer's [channel][position]
 * layout.
 *
 * Summation order, per output: a chain of fused multiply-adds over taps, and within each tap
 * over patch elements, from zero; then + bias; then the clamp. Every version is bit-identical to
 * the reference, and each output is computed the same way however positions are split.
 */
#ifndef DS2_KERNELS_CONV_TAPS_H
#define DS2_KERNELS_CONV_TAPS_H

#include <stddef.h>

typedef struct ds2_conv_taps_geom {
    int taps;      /* time taps (k_time) */
    int k;         /* patch elements per tap (c_in * k_freq) */
    int n;         /* output positions */
    int c_out;     /* output channels */
    int tap_shift; /* positions between consecutive taps (f_out) */
    size_t ld_x;   /* floats between patch rows: at least k */
    size_t ld_out; /* floats between output channels */
    float lo, hi;
} ds2_conv_taps_geom;

/* out[co * ld_out + p] = clamp(Σ_tap Σ_r w[(tap * k + r) * c_out + co] ·
 *                                      x[(p + tap * tap_shift) * ld_x + r]  + bias[co], lo, hi)
 * for p < n, co < c_out. x has n + (taps - 1) * tap_shift rows; w: [taps][k][c_out]. */
typedef void (*ds2_conv_taps_ukernel_fn)(const ds2_conv_taps_geom *g, const float *x,
                                         const float *w, const float *bias, float *out);

void ds2_conv_taps_ukernel_12x32__ref(const ds2_conv_taps_geom *g, const float *x, const float *w,
                                      const float *bias, float *out);
void ds2_conv_taps_ukernel_6x16__avx2(const ds2_conv_taps_geom *g, const float *x, const float *w,
                                      const float *bias, float *out);
void ds2_conv_taps_ukernel_12x32__avx512(const ds2_conv_taps_geom *g, const float *x,
                                         const float *w, const float *bias, float *out);

/* The fastest version for this CPU and channel count (AVX-512, else AVX2), or NULL where none
 * beats the per-tap sgemm path (no AVX2, or c_out not a multiple of 16). */
ds2_conv_taps_ukernel_fn ds2_conv_taps_get(int c_out);

#endif
