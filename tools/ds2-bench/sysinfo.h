/* Machine description for report headers: CPU model, cores, ISA, GPU name. */
#ifndef DS2_BENCH_SYSINFO_H
#define DS2_BENCH_SYSINFO_H

#include "bench.h"

void sysinfo_collect(bench_sysinfo *info);

#endif
