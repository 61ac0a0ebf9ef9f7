/* Packing and the cache blocking around the panel microkernel (panels.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "f32gemm/panels.h"

#define NR DS2_F32GEMM_PANEL_NR
#define MR DS2_F32GEMM_PANEL_MR
/* Panels walked together by one row tile: 4 × 32 columns × k = 1024 floats is 512 KiB, which
 * stays in a 1 MiB L2 while every tile of rows passes over it; each tile of X (12 × k, 48 KiB)
 * is read from memory once per group and reused from L1/L2 for the 4 panels. */
#define GROUP_PANELS 4

ds2_f32gemm_panels *ds2_f32gemm_panels_pack(int n, int k, const float *w, size_t ldw)
{
    if (n < 1 || k < 1 || !w || ldw < (size_t)k)
        return NULL;
    const int n_panels = (n + NR - 1) / NR;
    const size_t floats = (size_t)n_panels * k * NR;
    if (floats > SIZE_MAX / sizeof(float) - 64)
        return NULL;
    ds2_f32gemm_panels *p = calloc(1, sizeof *p);
    size_t bytes = (floats * sizeof(float) + 63) & ~(size_t)63;
    float *data = aligned_alloc(64, bytes);
    if (!p || !data) {
        free(p);
        free(data);
        return NULL;
    }
    for (int b = 0; b < n_panels; b++) {
        float *panel = data + (size_t)b * k * NR;
        const int c0 = b * NR, nc = n - c0 < NR ? n - c0 : NR;
        for (int t = 0; t < k; t++) {
            float *row = panel + (size_t)t * NR;
            for (int j = 0; j < nc; j++)
                row[j] = w[(size_t)(c0 + j) * ldw + t];
            for (int j = nc; j < NR; j++)
                row[j] = 0.0f;
        }
    }
    p->n = n;
    p->k = k;
    p->n_panels = n_panels;
    p->data = data;
    return p;
}

void ds2_f32gemm_panels_free(ds2_f32gemm_panels *p)
{
    if (p)
        free(p->data);
    free(p);
}

size_t ds2_f32gemm_panels_bytes(const ds2_f32gemm_panels *p)
{
    return p ? sizeof *p + (size_t)p->n_panels * p->k * NR * sizeof(float) : 0;
}

int ds2_f32gemm_panels_compute(ds2_f32gemm_panel_ukernel_fn ukernel, const ds2_f32gemm_panels *p,
                               const float *x, size_t ldx, int m_begin, int m_end, int n_begin,
                               int n_end, float *y, size_t ldy, int accumulate)
{
    if (!ukernel || !p || !x || !y || ldx < (size_t)p->k || m_begin < 0 || m_end < m_begin ||
        n_begin < 0 || n_end < n_begin || n_end > p->n ||
        (m_end - m_begin > 1 && ldy < (size_t)n_end))
        return -1;
    if (n_begin == n_end)
        return 0;
    const int k = p->k;
    const int first = n_begin / NR, last = (n_end - 1) / NR; /* the panels touched */
    for (int g0 = first; g0 <= last; g0 += GROUP_PANELS) {
        const int g1 = last + 1 - g0 < GROUP_PANELS ? last + 1 : g0 + GROUP_PANELS;
        for (int i = m_begin; i < m_end; i += MR) {
            const int mr = m_end - i < MR ? m_end - i : MR;
            /* Few rows: wider tiles (panels.h), so each row keeps 8 FMA chains in flight. */
            const int wide = mr <= 3 ? 4 : mr <= 6 ? 2 : 1;
            const float *xi = x + (size_t)i * ldx;
            for (int b = g0; b < g1; b += wide) {
                const int np = g1 - b < wide ? g1 - b : wide;
                const int c0 = b == first ? n_begin - b * NR : 0;
                const int c1 = b + np - 1 == last ? n_end - b * NR : np * NR;
                /* y at the first panel's column 0, inside row i (a column >= 0 of it). */
                ukernel(mr, np, c0, c1, k, xi, ldx, p->data + (size_t)b * k * NR,
                        y + (size_t)i * ldy + (size_t)b * NR, ldy, accumulate);
            }
        }
    }
    return 0;
}
