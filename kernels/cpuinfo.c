/* cpuid through the compiler's builtins, once per process. An ISA counts only when the OS saves
 * its registers too, which __builtin_cpu_supports already checks (XGETBV). */
#include "cpuinfo.h"

#include <cpuid.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static ds2_cpuinfo info;

static const char *const names[DS2_ISA_COUNT] = {"ref", "avx2", "avx512", "avx512vnni", "amx"};

/* AMX: CPUID.(7,0):EDX bits 24 (AMX-TILE) and 25 (AMX-INT8); the OS must enable the tile
 * config and data state in XCR0 (bits 17, 18), and Linux (5.16+) hands the 8 KiB tile data state
 * to a process only after arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA). That request is
 * made once, here; it changes nothing but what this process may execute, and a refusal (an older
 * kernel, a sandbox) simply leaves the tier off. */
#if defined(__linux__) && defined(__x86_64__)
#include <sys/syscall.h>
#include <unistd.h>
#define DS2_ARCH_REQ_XCOMP_PERM 0x1023
#define DS2_XFEATURE_XTILEDATA 18
static int amx_usable(void)
{
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(d >> 24 & 1) || !(d >> 25 & 1))
        return 0;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c >> 27 & 1)) /* OSXSAVE: xgetbv is allowed */
        return 0;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & (3u << 17)) != (3u << 17))
        return 0;
    return syscall(SYS_arch_prctl, DS2_ARCH_REQ_XCOMP_PERM, DS2_XFEATURE_XTILEDATA) == 0;
}
#else
static int amx_usable(void)
{
    return 0;
}
#endif

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
            if (info.avx512vnni) {
                best = DS2_ISA_AVX512VNNI;
                info.amx = amx_usable();
                if (info.amx)
                    best = DS2_ISA_AMX;
            }
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
