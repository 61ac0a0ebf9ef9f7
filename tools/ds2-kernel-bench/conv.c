/*
 * --conv: the direct first-layer kernel (1 -> 32 channels, 41 x 11 taps, stride 2 x 2, 161
 * bins x 501 frames in) and the shifted-taps kernel (32 -> 32 channels, 21 x 11 taps, stride
 * 2 x 1: 672 patch elements x 11 taps, 41 bins) on one thread, with the scalar references'
 * speed for scale (their bits are what the tests compare). Median of repeats, wall time.
 */
#include "conv.h"

#include <stdio.h>
#include <stdlib.h>

#include "timing.h"
#include "conv/direct1.h"
#include "conv/taps.h"

typedef struct d1_ctx {
    ds2_conv_direct1_ukernel_fn fn;
    ds2_conv_direct1_geom g;
    const float *x, *w, *bias;
    float *out;
    int frames, stride_time;
} d1_ctx;

static void run_direct1(void *v)
{
    d1_ctx *c = v;
    for (int t = 0; t < c->frames; t++)
        c->fn(&c->g, c->x + (size_t)t * c->stride_time * c->g.ld_x, c->w, c->bias,
              c->out + (size_t)t * c->g.f_out);
}

typedef struct taps_ctx {
    ds2_conv_taps_ukernel_fn fn;
    ds2_conv_taps_geom g;
    const float *x, *w, *bias;
    float *out;
} taps_ctx;

static void run_taps(void *v)
{
    taps_ctx *c = v;
    c->fn(&c->g, c->x, c->w, c->bias, c->out);
}

static float *filled(size_t n, float lo, float hi, unsigned *s)
{
    float *p = malloc(sizeof(float) * n);
    for (size_t i = 0; p && i < n; i++)
        p[i] = lo + (hi - lo) * (float)((*s = *s * 1103515245u + 12345u) >> 9) / 8388608.0f;
    return p;
}

void conv_report(double budget)
{
    unsigned s = 7;
    printf("%-28s %-7s %10s %8s\n", "conv kernel (one thread)", "version", "ms", "GFLOP/s");
    /* conv1: 81 bins x 251 frames out, padded input 201 x 511 */
    {
        const int F = 81, T = 251, C = 32, kf = 41, kt = 11, ld = 201, rows = 511;
        float *x = filled((size_t)rows * ld, -2, 2, &s),
              *w = filled((size_t)kf * kt * C, -1, 1, &s);
        float *b = filled(C, -1, 1, &s), *out = malloc(sizeof(float) * (size_t)C * F * T);
        d1_ctx c = {NULL, {kf, kt, 2, F, C, ld, (size_t)F * T, 0, 20}, x, w, b, out, T, 2};
        const double flop = 2.0 * F * T * C * kf * kt;
        ds2_conv_direct1_ukernel_fn fns[2] = {ds2_conv_direct1_ukernel_12x32__ref,
                                              ds2_conv_direct1_get(C)};
        const char *names[2] = {"ref", "best"};
        for (int i = 0; i < 2; i++) {
            if (!fns[i]) {
                printf("%-28s %-7s %10s %8s\n", "direct1 1->32 41x11 /2x2", names[i], "-", "-");
                continue;
            }
            c.fn = fns[i];
            c.frames = i == 0 ? 8 : T; /* the reference on a few frames, scaled */
            const double t = timing_median(run_direct1, &c, 3, budget) * T / c.frames;
            printf("%-28s %-7s %10.2f %8.1f\n", "direct1 1->32 41x11 /2x2", names[i], t * 1e3,
                   flop / t * 1e-9);
        }
        free(x), free(w), free(b), free(out);
    }
    /* conv2: 41 bins x 251 frames out, as tiles of 28 frames (+ 10 halo) */
    {
        const int F = 41, tile = 28, taps = 11, k = 672, C = 32, n = tile * F;
        float *x = filled((size_t)(tile + taps - 1) * F * k, 0, 20, &s);
        float *w = filled((size_t)taps * k * C, -0.05f, 0.05f, &s), *b = filled(C, -1, 1, &s);
        float *out = malloc(sizeof(float) * (size_t)C * n);
        taps_ctx c = {NULL, {taps, k, n, C, F, (size_t)k, (size_t)n, 0, 20}, x, w, b, out};
        const double flop = 2.0 * n * C * k * taps;
        ds2_conv_taps_ukernel_fn fns[2] = {ds2_conv_taps_ukernel_12x32__ref, ds2_conv_taps_get(C)};
        const char *names[2] = {"ref", "best"};
        for (int i = 0; i < 2; i++) {
            if (!fns[i]) {
                printf("%-28s %-7s %10s %8s\n", "taps 32->32 21x11 /2x1", names[i], "-", "-");
                continue;
            }
            c.fn = fns[i];
            c.g.n = i == 0 ? 2 * F : n;
            const double t = timing_median(run_taps, &c, 3, budget) * n / c.g.n;
            printf("%-28s %-7s %10.2f %8.1f\n", "taps 32->32 21x11 /2x1", names[i],
                   t * 1e3 * 251 / tile, flop / t * 1e-9);
        }
        free(x), free(w), free(b), free(out);
    }
    printf("(ms: per 5 s of audio; best = the version this CPU dispatches, '-' = none: the "
           "backend keeps im2col + sgemm)\n");
}
