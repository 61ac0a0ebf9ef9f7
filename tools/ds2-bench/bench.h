/* ds2-bench: shared types for options, conditions and per-condition results. */
#ifndef DS2_BENCH_H
#define DS2_BENCH_H

#include "ds2.h"
#include "manifest.h"
#include "metrics.h"

#include <stdio.h>

typedef enum bench_condition_id {
    BENCH_CPU_FP32 = 0,
    BENCH_CPU_INT8,
    BENCH_GPU_FP32,
    BENCH_N_CONDITIONS
} bench_condition_id;

typedef struct bench_condition {
    const char *name; /* "cpu-fp32", "cpu-int8", "gpu-fp32" */
    ds2_precision precision;
    ds2_device device;
} bench_condition;

extern const bench_condition bench_conditions[BENCH_N_CONDITIONS];

typedef struct bench_options {
    const char *model_path;
    const char *manifest_path;
    const char *json_path;
    const char *markdown_path;
    const char *svg_path;
    int enabled[BENCH_N_CONDITIONS];
    int n_threads;
    int latency_trials;
    int throughput_trials;
    int batch;
    int cpu_warmup;
    int gpu_warmup;
    int gpu_index;
    int max_utterances; /* 0: the whole eval set */
    int fp32_convs;     /* cpu-int8 with fp32 convs (ds2_session_params.fp32_convs) */
    /* beam search next to greedy (--lm, --beam): decoded with ds2_decode on each utterance's
     * probabilities; beam.lm is loaded once by the parent and inherited by each child */
    int beam;
    const char *lm_path;
    ds2_run_params beam_params;
    int quiet;
    int progress; /* stderr is a TTY and not quiet */
} bench_options;

typedef struct bench_stats {
    double mean, min, p25, p50, p75, p90, p99, max;
} bench_stats;

typedef enum bench_outcome { BENCH_RAN = 0, BENCH_SKIPPED, BENCH_FAILED } bench_outcome;

typedef struct bench_utterance_result {
    long word_errors, ref_words, char_errors, ref_chars;
    double audio_seconds;
    char *hypothesis; /* upper-cased greedy transcript */
    /* the decoders alone on this utterance's probabilities (ds2_decode), ms */
    double greedy_decode_ms, beam_decode_ms;
    /* with options.beam */
    long beam_word_errors, beam_char_errors;
    char *beam_hypothesis; /* upper-cased */
} bench_utterance_result;

typedef struct bench_result {
    bench_condition_id condition;
    bench_outcome outcome;
    char reason[512]; /* why skipped or failed */
    int n_threads;

    /* accuracy over the whole eval set */
    int n_utterances;
    double eval_audio_seconds;
    long word_errors, ref_words, char_errors, ref_chars;
    double wer, cer; /* percent, greedy */
    bench_utterance_result *utterances;
    /* the decoders' own time per utterance (ds2_decode on the condition's probabilities) */
    bench_stats greedy_decode, beam_decode;        /* ms per utterance */
    double greedy_decode_per5s, beam_decode_per5s; /* median ms per 5 s of audio */
    /* beam search (options.beam) */
    int beam_ran;
    long beam_word_errors, beam_char_errors;
    double beam_wer, beam_cer;

    /* latency, batch 1 */
    int n_latency;
    double *latency_ms;      /* per trial */
    double *latency_audio_s; /* audio duration of each trial's utterance */
    bench_stats latency;
    double rtf; /* total compute time / total audio time over the latency trials */

    /* throughput */
    int batch;
    int n_throughput;
    double *throughput_ms; /* per trial (one batch) */
    double samples_per_s;
    double audio_s_per_s;

    long peak_rss_kb; /* ru_maxrss of the child process that measured this condition */
} bench_result;

typedef struct bench_sysinfo {
    char cpu_model[256];
    int cores;
    char isa[128];      /* e.g. "avx2 fma", or "none" */
    char gpu_name[256]; /* "" when unknown */
    char hostname[128];
} bench_sysinfo;

/* Everything a report needs. */
typedef struct bench_report {
    const bench_options *options;
    const bench_sysinfo *sys;
    const bench_result *results; /* [BENCH_N_CONDITIONS], only enabled ones meaningful */
    const ds2_manifest *eval;
    long long model_bytes;
    int n_eval;
    int gpu_used;
    const char *timestamp; /* ISO 8601 UTC */
} bench_report;

int bench_parse_options(int argc, char **argv, bench_options *opts);

void bench_result_free(bench_result *r);

/* How `other` compares with `base` (both must have run; else valid is 0). */
typedef struct bench_ratio {
    int valid;
    double wer_delta, cer_delta; /* other - base, percentage points */
    int beam_valid;
    double beam_wer_delta, beam_cer_delta; /* the same under the beam search */
    double latency_speedup;                /* base mean latency / other mean latency */
    double p99_speedup;                    /* base p99 / other p99 */
    double throughput_ratio; /* other samples/s / base samples/s (0 if not measured) */
    double memory_ratio;     /* other peak RSS / base peak RSS */
} bench_ratio;

bench_ratio bench_compare(const bench_result *base, const bench_result *other);
int bench_ran(const bench_report *rep, bench_condition_id c);
const char *bench_outcome_name(bench_outcome outcome);

void report_table(FILE *out, const bench_report *rep);
int report_json(const char *path, const bench_report *rep, char *error, size_t error_size);
int report_markdown(const char *path, const bench_report *rep, char *error, size_t error_size);
int report_svg(const char *path, const bench_report *rep, char *error, size_t error_size);

#endif
