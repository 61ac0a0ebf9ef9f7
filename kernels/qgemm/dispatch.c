/* The qgemm kernel table: reference entries, overridden once (pthread_once) by the best tier
 * kernels/cpuinfo.c finds. The tier fixes the packed layout and activation format, so weights are
 * packed for the set that will run them (ds2_qgemm_weights_pack uses the best one). */
#include <pthread.h>

#include "cpuinfo.h"
#include "qgemm/ukernels.h"

static const ds2_qgemm_kernels ref_kernels = {
    .isa = "ref",
    .tier = DS2_ISA_REF,
    .layout = DS2_QGEMM_LAYOUT_C2,
    .format = DS2_QGEMM_ACTS_S16,
    .max_blocks = 1,
    .gemm = ds2_qgemm_gemm_ukernel_4x16c2__ref,
    .gemv = ds2_qgemm_gemm_ukernel_4x16c2__ref,
    .quantize = ds2_qgemm_quantize_s16_ukernel__ref,
};

/* The scalar definition of the VNNI tier's layout and format (tests; never chosen as best). */
static const ds2_qgemm_kernels ref_c4_kernels = {
    .isa = "ref-c4",
    .tier = DS2_ISA_REF,
    .layout = DS2_QGEMM_LAYOUT_C4,
    .format = DS2_QGEMM_ACTS_U8,
    .max_blocks = DS2_QGEMM_MAX_BLOCKS,
    .gemm = ds2_qgemm_gemm_ukernel_4x16c4__ref,
    .gemv = ds2_qgemm_gemm_ukernel_4x16c4__ref,
    .quantize = ds2_qgemm_quantize_u8_ukernel__ref,
};

static const ds2_qgemm_kernels avx2_kernels = {
    .isa = "avx2",
    .tier = DS2_ISA_AVX2,
    .layout = DS2_QGEMM_LAYOUT_C2,
    .format = DS2_QGEMM_ACTS_S16,
    .max_blocks = 1,
    .gemm = ds2_qgemm_gemm_ukernel_4x16c2__avx2,
    .gemv = ds2_qgemm_gemv_ukernel_1x16c2__avx2,
    .quantize = ds2_qgemm_quantize_s16_ukernel__avx2,
};

static const ds2_qgemm_kernels avx512vnni_kernels = {
    .isa = "avx512vnni",
    .tier = DS2_ISA_AVX512VNNI,
    .layout = DS2_QGEMM_LAYOUT_C4,
    .format = DS2_QGEMM_ACTS_U8,
    .max_blocks = 4,
    .gemm = ds2_qgemm_gemm_ukernel_4x64c4__avx512vnni,
    .gemv = ds2_qgemm_gemv_ukernel_1x64c4__avx512vnni,
    .quantize = ds2_qgemm_quantize_u8_ukernel__avx2,
};

/* The VNNI set with AMX tiles for products of 16 rows and more (same layout, format, results). */
static const ds2_qgemm_kernels amx_kernels = {
    .isa = "amx",
    .tier = DS2_ISA_AMX,
    .layout = DS2_QGEMM_LAYOUT_C4,
    .format = DS2_QGEMM_ACTS_U8,
    .max_blocks = 4,
    .gemm = ds2_qgemm_gemm_ukernel_4x64c4__avx512vnni,
    .gemv = ds2_qgemm_gemv_ukernel_1x64c4__avx512vnni,
    .gemm_tiles = ds2_qgemm_gemm_ukernel_32x32c4__amx,
    .quantize = ds2_qgemm_quantize_u8_ukernel__avx2,
};

/* Highest tier first. */
static const ds2_qgemm_kernels *const tiers[] = {&amx_kernels, &avx512vnni_kernels, &avx2_kernels,
                                                 &ref_kernels};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static const ds2_qgemm_kernels *best = &ref_kernels;

static void detect(void)
{
    for (size_t i = 0; i < sizeof tiers / sizeof tiers[0]; i++)
        if (ds2_cpu_has(tiers[i]->tier)) {
            best = tiers[i];
            return;
        }
}

const ds2_qgemm_kernels *ds2_qgemm_kernels_ref(void)
{
    return &ref_kernels;
}

const ds2_qgemm_kernels *ds2_qgemm_kernels_ref_c4(void)
{
    return &ref_c4_kernels;
}

const ds2_qgemm_kernels *ds2_qgemm_kernels_for(ds2_isa tier)
{
    for (size_t i = 0; i < sizeof tiers / sizeof tiers[0]; i++)
        if (tiers[i]->tier == tier)
            return ds2_cpu_has(tier) ? tiers[i] : NULL;
    return NULL;
}

const ds2_qgemm_kernels *ds2_qgemm_kernels_best(void)
{
    pthread_once(&once, detect);
    return best;
}

int ds2_qgemm_kernel_sets(const ds2_qgemm_kernels **sets, int max)
{
    const ds2_qgemm_kernels *all[] = {&ref_kernels, &ref_c4_kernels, &avx2_kernels,
                                      &avx512vnni_kernels, &amx_kernels};
    int n = 0;
    for (size_t i = 0; i < sizeof all / sizeof all[0] && n < max; i++)
        if (ds2_cpu_has(all[i]->tier))
            sets[n++] = all[i];
    return n;
}

const char *ds2_qgemm_isa(void)
{
    return ds2_qgemm_kernels_best()->isa;
}

ds2_qgemm_acts_format ds2_qgemm_acts_preferred_format(void)
{
    return ds2_qgemm_kernels_best()->format;
}
