/* Text shared by the table and Markdown reports. */
#ifndef DS2_BENCH_REPORT_COMMON_H
#define DS2_BENCH_REPORT_COMMON_H

#include "bench.h"

#include <stddef.h>

/* "AMD EPYC 7B12, 2 cores, ISA avx2 fma f16c; GPU NVIDIA H100 (gpu-fp32); libds2 0.1.0" */
void report_machine_line(char *buf, size_t size, const bench_report *rep);
/* "latency: 300 trials, batch 1; throughput: 100 trials, batch 8; warm-up 3 CPU / 10 GPU" */
void report_settings_line(char *buf, size_t size, const bench_report *rep);
/* Ratio lines under the table ("int8 / fp32 (CPU): ..."); returns the number written. */
int report_ratio_lines(char lines[2][512], const bench_report *rep);
/* "beam+LM" with --lm, else "beam" */
const char *report_beam_name(const bench_report *rep);
/* What "dec ms" and the latency columns time, and the beam search's settings. */
void report_decoder_line(char *buf, size_t size, const bench_report *rep);

#endif
