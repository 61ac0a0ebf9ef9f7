/* Text shared by the table and Markdown reports. */
#include "report_common.h"

#include <stdio.h>

void report_machine_line(char *buf, size_t size, const bench_report *rep)
{
    const bench_sysinfo *s = rep->sys;
    char gpu[300] = "";
    if (rep->gpu_used)
        snprintf(gpu, sizeof gpu, "; GPU %s", s->gpu_name[0] ? s->gpu_name : "(name unknown)");
    snprintf(buf, size, "%s, %d cores, ISA %s%s; libds2 %s", s->cpu_model, s->cores, s->isa, gpu,
             DS2_VERSION_STRING);
}

void report_settings_line(char *buf, size_t size, const bench_report *rep)
{
    const bench_options *o = rep->options;
    snprintf(buf, size,
             "latency: %d trials, batch 1; throughput: %d trials, batch %d; warm-up %d CPU / "
             "%d GPU runs",
             o->latency_trials, o->throughput_trials, o->batch, o->cpu_warmup, o->gpu_warmup);
}

const char *report_beam_name(const bench_report *rep)
{
    return rep->options->lm_path ? "beam+LM" : "beam";
}

void report_decoder_line(char *buf, size_t size, const bench_report *rep)
{
    const bench_options *o = rep->options;
    int n = snprintf(buf, size,
                     "dec ms: the decoder alone (ds2_decode on the condition's probabilities, one "
                     "thread), mean per utterance; latency: ds2_run (forward + greedy)");
    if (n > 0 && (size_t)n < size && o->beam) {
        const ds2_run_params *b = &o->beam_params;
        n += snprintf(buf + n, size - (size_t)n, "; beam width %d, cutoff_top_n %d", b->beam_width,
                      b->cutoff_top_n);
        if (n > 0 && (size_t)n < size && (b->token_min_logp < 0 || b->beam_prune_logp < 0))
            n += snprintf(buf + n, size - (size_t)n, ", token_min_logp %g, beam_prune_logp %g",
                          b->token_min_logp, b->beam_prune_logp);
        if (n > 0 && (size_t)n < size && o->lm_path)
            snprintf(buf + n, size - (size_t)n, ", LM %s, alpha %g, beta %g, unk_score_offset %g",
                     o->lm_path, b->alpha, b->beta, b->unk_score_offset);
    }
}

static void ratio_line(char *buf, size_t size, const char *label, const bench_ratio *q,
                       const char *beam)
{
    int n =
        snprintf(buf, size, "%s: WER %+.2f pts, CER %+.2f pts", label, q->wer_delta, q->cer_delta);
    if (n > 0 && (size_t)n < size && q->beam_valid)
        n += snprintf(buf + n, size - (size_t)n, " (%s: WER %+.2f, CER %+.2f)", beam,
                      q->beam_wer_delta, q->beam_cer_delta);
    if (n > 0 && (size_t)n < size)
        n += snprintf(buf + n, size - (size_t)n, ", latency speed-up %.2fx (p99 %.2fx)",
                      q->latency_speedup, q->p99_speedup);
    if (n > 0 && (size_t)n < size && q->throughput_ratio > 0)
        n += snprintf(buf + n, size - (size_t)n, ", throughput %.2fx", q->throughput_ratio);
    if (n > 0 && (size_t)n < size && q->memory_ratio > 0)
        snprintf(buf + n, size - (size_t)n, ", peak memory %.2fx", q->memory_ratio);
}

int report_ratio_lines(char lines[2][512], const bench_report *rep)
{
    int k = 0;
    const bench_result *r = rep->results;
    if (bench_ran(rep, BENCH_CPU_FP32) && bench_ran(rep, BENCH_CPU_INT8)) {
        bench_ratio q = bench_compare(&r[BENCH_CPU_FP32], &r[BENCH_CPU_INT8]);
        ratio_line(lines[k++], 512, "int8 / fp32 (CPU)", &q, report_beam_name(rep));
    }
    if (bench_ran(rep, BENCH_CPU_FP32) && bench_ran(rep, BENCH_GPU_FP32)) {
        bench_ratio q = bench_compare(&r[BENCH_CPU_FP32], &r[BENCH_GPU_FP32]);
        ratio_line(lines[k++], 512, "GPU / CPU (fp32)", &q, report_beam_name(rep));
    }
    return k;
}
