/*
 * Direct convolution of ONE input channel: DS2's first conv layer (1 -> 32 channels, 41 x 11
 * taps, stride 2 x 2 over the normalised spectrogram). As im2col + sgemm it writes and rereads a
 * K = 451 column per output position (37 MB for 5 s) and hands sgemm a GEMM only 32 wide; done
 * directly, each tap is one broadcast input value times a vector of all output channels, with
 * tiles of output bins x channels held in registers and the weights (451 x 32 floats) in L2.
 *
 * One call computes one output frame: every output bin and channel, bias and Hardtanh included.
 * Summation order is fixed: per output value a chain of fused multiply-adds over kt, then kf,
 * starting from zero, then + bias, then the clamp; so every version is bit-identical to the
 * reference, and the result does not depend on how frames are split over threads.
 */
#ifndef DS2_KERNELS_CONV_DIRECT1_H
#define DS2_KERNELS_CONV_DIRECT1_H

#include <stddef.h>

typedef struct ds2_conv_direct1_geom {
    int k_freq, k_time, stride_freq;
    int f_out, c_out;
    int ld_x;    /* floats between consecutive input frames */
    size_t ld_c; /* floats between output channels in out */
    float lo, hi;
} ds2_conv_direct1_geom;

/* out[co * ld_c + f] = clamp(Σ_{kt, kf} w[(kt * k_freq + kf) * c_out + co] ·
 *                                   x[kt * ld_x + f * stride_freq + kf]  + bias[co], lo, hi)
 * for f < f_out, co < c_out. x: the output frame's first input frame, zero padded so that every
 * tap it reads exists. w: [k_time][k_freq][c_out]. */
typedef void (*ds2_conv_direct1_ukernel_fn)(const ds2_conv_direct1_geom *g, const float *x,
                                            const float *w, const float *bias, float *out);

void ds2_conv_direct1_ukernel_12x32__ref(const ds2_conv_direct1_geom *g, const float *x,
                                         const float *w, const float *bias, float *out);
void ds2_conv_direct1_ukernel_6x16__avx2(const ds2_conv_direct1_geom *g, const float *x,
                                         const float *w, const float *bias, float *out);
void ds2_conv_direct1_ukernel_12x32__avx512(const ds2_conv_direct1_geom *g, const float *x,
                                            const float *w, const float *bias, float *out);

/* The fastest version for this CPU and channel count (AVX-512, else AVX2), or NULL where none
 * beats im2col + sgemm (no AVX2, or c_out not a multiple of 16): the caller then keeps its GEMM
 * path. Chosen from the one CPU probe. */
ds2_conv_direct1_ukernel_fn ds2_conv_direct1_get(int c_out);

#endif
