/*
 * 32x32c4 AMX-INT8 kernel: the tile version of the VNNI tier for products with at least 16 rows
 * (the input projections of a whole utterance or batch, the int8 convs). The C4 packed weight
 * block is already what TDPBUSD wants as its B operand: 16 rows (k quads) of 64 bytes (16 columns
 * x 4 k), so a 64-deep slice of a block is one tile load with a 64-byte stride. Activation rows
 * load as A tiles straight from the [m][kp] rows. Each pass holds 32 rows x 32 columns in four
 * int32 C tiles (2 A + 2 B tiles per 64 k: the 8 tile registers exactly), then goes through the
 * same zero-point / dequantize / bias / accumulate epilogue as the VNNI kernels, so results are
 * bit-identical to them and to the reference.
 *
 * kp is a multiple of 8, not of 64. The last partial slice is done with the A rows copied into a
 * zero-padded 64-byte-wide buffer; its B tile then reads past the slice into the next block (or
 * the allocation's pad, ds2_qgemm_weights_pack), and those bytes meet zero activations: exact.
 *
 * mr is a multiple of 16, or below 16 (then one group of mr rows); the tile configuration is loaded
 * at entry and released at exit, so no tile state outlives a call (the thread may next run
 * anything).
 */
#include <immintrin.h>
#include <string.h>

#include "qgemm/epilogue-avx512.h"

typedef struct tile_config {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} tile_config;

/* Tile registers: C 0..3 (rows 0-15 / 16-31 x blocks 0 / 1 of the pass), A 4..5, B 6..7. */
#define DS2_PASS(A0, A1, LDA, B0, B1)                                                              \
    do {                                                                                           \
        _tile_loadd(4, (A0), (LDA));                                                               \
        _tile_loadd(6, (B0), 64);                                                                  \
        _tile_dpbusd(0, 4, 6);                                                                     \
        if (two_b) {                                                                               \
            _tile_loadd(7, (B1), 64);                                                              \
            _tile_dpbusd(1, 4, 7);                                                                 \
        }                                                                                          \
        if (two_a) {                                                                               \
            _tile_loadd(5, (A1), (LDA));                                                           \
            _tile_dpbusd(2, 5, 6);                                                                 \
            if (two_b)                                                                             \
                _tile_dpbusd(3, 5, 7);                                                             \
        }                                                                                          \
    } while (0)

void ds2_qgemm_gemm_ukernel_32x32c4__amx(int mr, int kp, const void *act, size_t lda,
                                         const int8_t *w, float *y, size_t ldy, int32_t *acc,
                                         const ds2_qgemm_params *p)
{
    tile_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    /* A call of fewer than 16 rows (a batch's recurrent step) is one group of mr-row A and C
     * tiles; B tiles are always 16 k quads deep. */
    const int group = mr < 16 ? mr : 16;
    for (int t = 0; t < 8; t++) {
        cfg.colsb[t] = 64;
        cfg.rows[t] = (uint8_t)(t < 6 ? group : 16);
    }
    _tile_loadconfig(&cfg);
    const uint8_t *a = act;
    const int nb = p->n_blocks > 1 ? p->n_blocks : 1, acc_ld = nb * DS2_QGEMM_NR;
    const size_t ws = p->w_block_stride;
    const int kfull = kp / 64 * 64, tail = kp - kfull;
    _Alignas(64) uint8_t pad[32][64];
    _Alignas(64) int32_t c[32][32];
    for (int i = 0; i < mr; i += 32) {
        const int two_a = mr - i >= 32, rows = two_a ? 32 : group;
        const uint8_t *a0 = a + (size_t)i * lda, *a1 = a0 + 16 * lda;
        if (tail) {
            /* one masked load per row: the tail bytes, zeros past them (no fault past the row) */
            const __mmask64 keep = (__mmask64)((1ull << tail) - 1);
            for (int r = 0; r < rows; r++)
                _mm512_store_si512(pad[r],
                                   _mm512_maskz_loadu_epi8(keep, a0 + (size_t)r * lda + kfull));
        }
        for (int b = 0; b < nb; b += 2) {
            const int two_b = nb - b >= 2;
            const int8_t *b0 = w + (size_t)b * ws, *b1 = b0 + ws;
            _tile_zero(0);
            _tile_zero(1);
            _tile_zero(2);
            _tile_zero(3);
            for (int k = 0; k < kfull; k += 64)
                DS2_PASS(a0 + k, a1 + k, lda, b0 + (size_t)k * DS2_QGEMM_NR,
                         b1 + (size_t)k * DS2_QGEMM_NR);
            if (tail)
                DS2_PASS(pad[0], pad[16], 64, b0 + (size_t)kfull * DS2_QGEMM_NR,
                         b1 + (size_t)kfull * DS2_QGEMM_NR);
            _tile_stored(0, &c[0][0], sizeof c[0]);
            _tile_stored(1, &c[0][16], sizeof c[0]);
            _tile_stored(2, &c[16][0], sizeof c[0]);
            _tile_stored(3, &c[16][16], sizeof c[0]);
            for (int r = 0; r < rows; r++) {
                float *yr = y + (size_t)(i + r) * ldy;
                ds2_qgemm_store_block_avx512(_mm512_load_si512(&c[r][0]), i + r, b, yr, acc, acc_ld,
                                             p);
                if (two_b)
                    ds2_qgemm_store_block_avx512(_mm512_load_si512(&c[r][16]), i + r, b + 1, yr,
                                                 acc, acc_ld, p);
            }
        }
    }
    _tile_release();
}
