/* Ratios between conditions, shared by every report. */
#include "bench.h"

#include <string.h>

const char *bench_outcome_name(bench_outcome outcome)
{
    switch (outcome) {
    case BENCH_RAN:
        return "ran";
    case BENCH_SKIPPED:
        return "skipped";
    case BENCH_FAILED:
        return "failed";
    }
    return "unknown";
}

int bench_ran(const bench_report *rep, bench_condition_id c)
{
    return rep->options->enabled[c] && rep->results[c].outcome == BENCH_RAN;
}

bench_ratio bench_compare(const bench_result *base, const bench_result *other)
{
    bench_ratio q;
    memset(&q, 0, sizeof q);
    if (base->outcome != BENCH_RAN || other->outcome != BENCH_RAN)
        return q;
    q.valid = 1;
    q.wer_delta = other->wer - base->wer;
    q.cer_delta = other->cer - base->cer;
    if (base->beam_ran && other->beam_ran) {
        q.beam_valid = 1;
        q.beam_wer_delta = other->beam_wer - base->beam_wer;
        q.beam_cer_delta = other->beam_cer - base->beam_cer;
    }
    if (other->latency.mean > 0)
        q.latency_speedup = base->latency.mean / other->latency.mean;
    if (other->latency.p99 > 0)
        q.p99_speedup = base->latency.p99 / other->latency.p99;
    if (base->samples_per_s > 0)
        q.throughput_ratio = other->samples_per_s / base->samples_per_s;
    if (base->peak_rss_kb > 0)
        q.memory_ratio = (double)other->peak_rss_kb / (double)base->peak_rss_kb;
    return q;
}
