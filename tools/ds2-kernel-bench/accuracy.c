/* --accuracy: how much per-row activation quantization buys over per-tensor (PyTorch
 * quantize_dynamic) on rows of different magnitude, as frames of different loudness give. */
#include "accuracy.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "qgemm/qgemm.h"

static double uniform(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return (double)(*s >> 8) / 16777216.0;
}

/* Per-tensor quantization into the same centred-int16 layout (every row gets one scale). */
static void quantize_per_tensor(const float *x, int m, int k, int kp, int16_t *q, float *scale)
{
    float lo = 0.0f, hi = 0.0f;
    for (size_t i = 0; i < (size_t)m * k; i++)
        lo = fminf(lo, x[i]), hi = fmaxf(hi, x[i]);
    float s = hi / 255.0f - lo / 255.0f;
    s = s > 0.0f ? s : 1.0f;
    const float inv = 1.0f / s, zero = fminf(fmaxf(rintf(-lo * inv), 0.0f), 255.0f);
    for (int i = 0; i < m; i++) {
        scale[i] = s;
        for (int j = 0; j < kp; j++)
            q[(size_t)i * kp + j] =
                j < k
                    ? (int16_t)rintf(fminf(fmaxf(x[(size_t)i * k + j] * inv, -zero), 255.0f - zero))
                    : 0;
    }
}

/* Largest relative RMS error of any row: quiet frames matter as much as loud ones. */
static double worst_row(const float *y, const double *ref, int m, int n)
{
    double worst = 0.0;
    for (int i = 0; i < m; i++) {
        double e = 0.0, r = 0.0;
        for (int j = 0; j < n; j++) {
            const double d = y[(size_t)i * n + j] - ref[(size_t)i * n + j];
            e += d * d, r += ref[(size_t)i * n + j] * ref[(size_t)i * n + j];
        }
        worst = fmax(worst, sqrt(e / r));
    }
    return worst;
}

static double rel_rms(const float *y, const double *ref, size_t n)
{
    double e = 0.0, r = 0.0;
    for (size_t i = 0; i < n; i++)
        e += (y[i] - ref[i]) * (y[i] - ref[i]), r += ref[i] * ref[i];
    return sqrt(e / r);
}

void accuracy_report(void)
{
    const int m = 64, k = 1024, n = 1024, kp = (k + 7) / 8 * 8;
    unsigned s = 7;
    float *w = malloc(sizeof(float) * n * k), *x = malloc(sizeof(float) * m * k);
    float *y = malloc(sizeof(float) * m * n), *y2 = malloc(sizeof(float) * m * n);
    double *ref = malloc(sizeof(double) * m * n);
    int16_t *q = malloc(sizeof(int16_t) * m * kp);
    float *qs = malloc(sizeof(float) * m);
    int32_t *qz = calloc((size_t)m, sizeof(int32_t));
    void *ws = malloc(ds2_qgemm_acts_workspace_size(m, k));
    for (size_t i = 0; i < (size_t)n * k; i++)
        w[i] = (float)((uniform(&s) - 0.5) * 0.2 * (1.0 + 3.0 * (i / k % 4 == 0)));
    ds2_qgemm_weights *pw = ds2_qgemm_weights_pack(n, k, w, NULL, NULL, NULL);
    printf("accuracy: relative RMS error vs fp64, M=%d K=%d N=%d, row magnitudes spread 100x\n", m,
           k, n);
    printf("%-36s %10s %10s %10s %10s\n", "X rows", "per-row", "worst row", "per-tensor",
           "worst row");
    for (int signed_x = 0; signed_x < 2; signed_x++) {
        for (int i = 0; i < m; i++) {
            const double amp = 0.05 * pow(100.0, uniform(&s)); /* 0.05 .. 5 */
            for (int j = 0; j < k; j++)
                x[(size_t)i * k + j] =
                    (float)(amp * (signed_x ? 2.0 * uniform(&s) - 1.0 : uniform(&s)));
        }
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                double acc = 0.0;
                for (int t = 0; t < k; t++)
                    acc += (double)x[(size_t)i * k + t] * w[(size_t)j * k + t];
                ref[(size_t)i * n + j] = acc;
            }
        ds2_qgemm_acts qa;
        ds2_qgemm_acts_quantize(&qa, ws, x, m, k, k);
        ds2_qgemm_compute(pw, &qa, y, n, 0, n, 0);
        quantize_per_tensor(x, m, k, kp, q, qs);
        /* Centred S16 (zero points 0 after centring) through the format-agnostic reference. */
        const ds2_qgemm_acts qt = {m, k, kp, DS2_QGEMM_ACTS_S16, q, qz, qs};
        ds2_qgemm_compute_ref(pw, &qt, y2, n, 0, n, 0);
        printf("%-36s %10.2e %10.2e %10.2e %10.2e\n",
               signed_x ? "symmetric [-a, a] (LSTM h)" : "non-negative [0, a] (conv/hardtanh)",
               rel_rms(y, ref, (size_t)m * n), worst_row(y, ref, m, n),
               rel_rms(y2, ref, (size_t)m * n), worst_row(y2, ref, m, n));
    }
    ds2_qgemm_weights_free(pw);
    free(w), free(x), free(y), free(y2), free(ref), free(q), free(qs), free(qz), free(ws);
}
