/* cpuid through the compiler's builtins, once per process. An ISA counts only when the OS saves
 * its registers too, which __builtin_cpu_supports already checks (XGETBV). */
#include "cpuinfo.h"

#include <cpuid.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static ds2_cpuinfo info;

static const char *const names[DS2_ISA_COUNT] = {"ref", "avx2", "avx512", "avx512vnni"};

static void probe(void)
{
    __builtin_cpu_init();
    info.avx2 = __builtin_cpu_supports("avx2");
    info.fma = __builtin_cpu_supports("fma");
    info.f16c = 1; /* every AVX2 CPU has it; GCC 12 has no builtin name for it */
    info.avx512f = __builtin_cpu_supports("avx512f");
    info.avx512bw = __builtin_cpu_supports("avx512bw");
    info.avx512vl = __builtin_cpu_supports("avx512vl");
    info.avx512dq = __builtin_cpu_supports("avx512dq");
    info.avx512vnni = __builtin_cpu_supports("avx512vnni");
    /* CPUID.(7,1):EAX bit 4 AVX-VNNI, bit 5 AVX512_BF16 — read directly: not every compiler's
     * __builtin_cpu_supports knows these names (clang 14 does not). Their register state is the
     * AVX / AVX-512 state already checked above. */
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (__get_cpuid_count(7, 1, &a, &b, &c, &d)) {
        info.avxvnni = info.avx2 && (a >> 4 & 1);
        info.avx512bf16 = info.avx512f && (a >> 5 & 1);
    }
    ds2_isa best = DS2_ISA_REF;
    if (info.avx2 && info.fma) {
        best = DS2_ISA_AVX2;
        if (info.avx512f && info.avx512bw && info.avx512vl && info.avx512dq) {
            best = DS2_ISA_AVX512;
            if (info.avx512vnni)
                best = DS2_ISA_AVX512VNNI;
        }
    }
    /* The probe is the only reader of the environment in the library: a cap for A/B tests. */
    const char *cap = getenv("DS2_ISA");
    for (int i = 0; cap && i < DS2_ISA_COUNT; i++)
        if (strcmp(cap, names[i]) == 0 && (ds2_isa)i < best)
            best = (ds2_isa)i;
    info.best = best;
}

const ds2_cpuinfo *ds2_cpuinfo_get(void)
{
    pthread_once(&once, probe);
    return &info;
}

int ds2_cpu_has(ds2_isa isa)
{
    return isa >= 0 && isa < DS2_ISA_COUNT && isa <= ds2_cpuinfo_get()->best;
}

const char *ds2_isa_name(ds2_isa isa)
{
    return isa >= 0 && isa < DS2_ISA_COUNT ? names[isa] : "unknown";
}

void ds2_cpu_clean_upper_state(void)
{
    if (ds2_cpu_has(DS2_ISA_AVX2))
        ds2_zeroupper__avx2();
}
