/*
 * The one CPU-feature probe. Every kernel family's dispatch table reads it; nothing else in the
 * library asks cpuid. Filled once (pthread_once) and immutable afterwards: the only global state
 * of libds2.
 */
#ifndef DS2_KERNELS_CPUINFO_H
#define DS2_KERNELS_CPUINFO_H

/* ISA tiers, lowest first. A kernel family offers a subset; it picks the highest one that both
 * it implements and the CPU runs. */
typedef enum ds2_isa {
    DS2_ISA_REF = 0,    /* plain C, any x86-64 (and the reference every tier is tested against) */
    DS2_ISA_AVX2,       /* AVX2 + FMA + F16C (Haswell, Zen 1 and later) */
    DS2_ISA_AVX512,     /* AVX-512 F/BW/VL/DQ (Skylake-SP, Zen 4 and later) */
    DS2_ISA_AVX512VNNI, /* AVX-512 + VNNI vpdpbusd (Cascade Lake, Ice Lake, Zen 4 and later) */
    DS2_ISA_AMX,        /* + AMX-TILE/AMX-INT8 tile products (Sapphire Rapids and later Xeons), with
                         * the Linux permission to use the tile data state granted */
    DS2_ISA_COUNT
} ds2_isa;

typedef struct ds2_cpuinfo {
    int avx2, fma, f16c;
    int avx512f, avx512bw, avx512vl, avx512dq, avx512vnni, avx512bf16;
    int avxvnni;  /* the VEX form (Alder Lake, Sapphire Rapids, Zen 5) */
    int amx;      /* AMX-TILE + AMX-INT8, enabled by the OS (XCR0) and permitted to this process */
    ds2_isa best; /* highest tier of ds2_isa this CPU runs */
    /* DS2_ISA env override for tests and benches ("ref", "avx2", "avx512", "avx512vnni", "amx"):
     * caps `best`, never raises it. Read once with the probe. */
} ds2_cpuinfo;

const ds2_cpuinfo *ds2_cpuinfo_get(void);
/* Whether the CPU runs tier `isa` (and the tier is not capped by DS2_ISA). */
int ds2_cpu_has(ds2_isa isa);
/* Leaves the calling thread's upper vector register state clean (vzeroupper) on a CPU with AVX.
 * After the AVX-512 kernels it stays dirty on this Sapphire Rapids class Xeon even though every
 * kernel ends in vzeroupper, and then every legacy-SSE instruction the thread runs (the CTC
 * decoder's scalar double arithmetic, the caller's own code) is several times slower: the beam
 * search after an int8 forward took 5x its time. Every qgemm product and the CPU forward call it
 * before returning. */
void ds2_cpu_clean_upper_state(void);
void ds2_zeroupper__avx2(void);
/* "ref", "avx2", "avx512", "avx512vnni", "amx". */
const char *ds2_isa_name(ds2_isa isa);

#endif
