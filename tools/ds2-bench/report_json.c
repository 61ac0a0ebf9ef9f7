/* Every figure, every per-trial latency and every transcript as JSON. */
#include "report_common.h"

#include <errno.h>
#include <math.h>
#include <string.h>

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        switch (*p) {
        case '"':
            fputs("\\\"", f);
            break;
        case '\\':
            fputs("\\\\", f);
            break;
        case '\n':
            fputs("\\n", f);
            break;
        case '\r':
            fputs("\\r", f);
            break;
        case '\t':
            fputs("\\t", f);
            break;
        default:
            if (*p < 0x20)
                fprintf(f, "\\u%04x", *p);
            else
                fputc(*p, f);
        }
    }
    fputc('"', f);
}

/* JSON has no NaN or infinity. */
static void json_number(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.9g", v);
    else
        fputs("null", f);
}

static void json_array(FILE *f, const double *x, int n)
{
    fputc('[', f);
    for (int i = 0; i < n; i++) {
        if (i)
            fputs(i % 10 ? ", " : ",\n        ", f);
        json_number(f, x[i]);
    }
    fputc(']', f);
}

static void json_stats(FILE *f, const bench_stats *s)
{
    fputs("{\"mean\": ", f);
    json_number(f, s->mean);
    fputs(", \"min\": ", f);
    json_number(f, s->min);
    fputs(", \"p25\": ", f);
    json_number(f, s->p25);
    fputs(", \"p50\": ", f);
    json_number(f, s->p50);
    fputs(", \"p75\": ", f);
    json_number(f, s->p75);
    fputs(", \"p90\": ", f);
    json_number(f, s->p90);
    fputs(", \"p99\": ", f);
    json_number(f, s->p99);
    fputs(", \"max\": ", f);
    json_number(f, s->max);
    fputc('}', f);
}

static void json_condition(FILE *f, const bench_report *rep, bench_condition_id c)
{
    const bench_result *r = &rep->results[c];
    fprintf(f, "    {\n      \"name\": \"%s\",\n      \"status\": \"%s\",\n",
            bench_conditions[c].name, bench_outcome_name(r->outcome));
    fputs("      \"reason\": ", f);
    json_string(f, r->outcome == BENCH_RAN ? "" : r->reason);
    fprintf(f, ",\n      \"threads\": %d,\n      \"peak_rss_bytes\": %lld", r->n_threads,
            (long long)r->peak_rss_kb * 1024);
    if (r->outcome != BENCH_RAN) {
        fputs("\n    }", f);
        return;
    }
    fputs(",\n      \"wer\": ", f);
    json_number(f, r->wer);
    fputs(",\n      \"cer\": ", f);
    json_number(f, r->cer);
    fprintf(f,
            ",\n      \"word_errors\": %ld, \"ref_words\": %ld, \"char_errors\": %ld, "
            "\"ref_chars\": %ld,\n      \"eval_utterances\": %d, \"eval_audio_seconds\": ",
            r->word_errors, r->ref_words, r->char_errors, r->ref_chars, r->n_utterances);
    json_number(f, r->eval_audio_seconds);
    fputs(",\n      \"decoders\": {\n        \"greedy\": {\"wer\": ", f);
    json_number(f, r->wer);
    fputs(", \"cer\": ", f);
    json_number(f, r->cer);
    fputs(", \"decode_ms\": ", f);
    json_stats(f, &r->greedy_decode);
    fputs(", \"decode_ms_per_5s_median\": ", f);
    json_number(f, r->greedy_decode_per5s);
    fputs("}", f);
    if (r->beam_ran) {
        const ds2_run_params *b = &rep->options->beam_params;
        fprintf(f,
                ",\n        \"beam\": {\"beam_width\": %d, \"cutoff_top_n\": %d, "
                "\"cutoff_prob\": ",
                b->beam_width, b->cutoff_top_n);
        json_number(f, b->cutoff_prob);
        fputs(", \"lm\": ", f);
        if (rep->options->lm_path)
            json_string(f, rep->options->lm_path);
        else
            fputs("null", f);
        fputs(", \"alpha\": ", f);
        json_number(f, rep->options->lm_path ? b->alpha : 0);
        fputs(", \"beta\": ", f);
        json_number(f, rep->options->lm_path ? b->beta : 0);
        fputs(", \"unk_score_offset\": ", f);
        json_number(f, rep->options->lm_path ? b->unk_score_offset : 0);
        fputs(", \"token_min_logp\": ", f);
        json_number(f, b->token_min_logp);
        fputs(", \"beam_prune_logp\": ", f);
        json_number(f, b->beam_prune_logp);
        fputs(",\n                 \"wer\": ", f);
        json_number(f, r->beam_wer);
        fputs(", \"cer\": ", f);
        json_number(f, r->beam_cer);
        fprintf(f, ", \"word_errors\": %ld, \"char_errors\": %ld, \"decode_ms\": ",
                r->beam_word_errors, r->beam_char_errors);
        json_stats(f, &r->beam_decode);
        fputs(", \"decode_ms_per_5s_median\": ", f);
        json_number(f, r->beam_decode_per5s);
        fputs("}", f);
    }
    fputs("\n      }", f);
    fprintf(f, ",\n      \"latency\": {\n        \"trials\": %d, \"batch\": 1,\n        \"ms\": ",
            r->n_latency);
    json_stats(f, &r->latency);
    fputs(",\n        \"rtf\": ", f);
    json_number(f, r->rtf);
    fputs(",\n        \"trial_ms\": ", f);
    json_array(f, r->latency_ms, r->n_latency);
    fputs(",\n        \"trial_audio_seconds\": ", f);
    json_array(f, r->latency_audio_s, r->n_latency);
    fprintf(f,
            "\n      },\n      \"throughput\": {\n        \"trials\": %d, \"batch\": %d,\n"
            "        \"samples_per_second\": ",
            r->n_throughput, r->batch);
    json_number(f, r->samples_per_s);
    fputs(", \"audio_seconds_per_second\": ", f);
    json_number(f, r->audio_s_per_s);
    fputs(",\n        \"trial_ms\": ", f);
    json_array(f, r->throughput_ms, r->n_throughput);
    fputs("\n      },\n      \"utterances\": [", f);
    for (int i = 0; i < r->n_utterances; i++) {
        const bench_utterance_result *u = &r->utterances[i];
        fputs(i ? ",\n        {\"audio\": " : "\n        {\"audio\": ", f);
        json_string(f, i < rep->eval->count ? rep->eval->entries[i].audio_path : "");
        fputs(", \"seconds\": ", f);
        json_number(f, u->audio_seconds);
        fputs(", \"reference\": ", f);
        json_string(f, i < rep->eval->count ? rep->eval->entries[i].transcript : "");
        fputs(", \"hypothesis\": ", f);
        json_string(f, u->hypothesis);
        fprintf(f,
                ", \"word_errors\": %ld, \"ref_words\": %ld, \"char_errors\": %ld, "
                "\"ref_chars\": %ld, \"greedy_decode_ms\": ",
                u->word_errors, u->ref_words, u->char_errors, u->ref_chars);
        json_number(f, u->greedy_decode_ms);
        if (r->beam_ran) {
            fputs(", \"beam_hypothesis\": ", f);
            json_string(f, u->beam_hypothesis);
            fprintf(f,
                    ", \"beam_word_errors\": %ld, \"beam_char_errors\": %ld, "
                    "\"beam_decode_ms\": ",
                    u->beam_word_errors, u->beam_char_errors);
            json_number(f, u->beam_decode_ms);
        }
        fputc('}', f);
    }
    fputs("\n      ]\n    }", f);
}

static void json_ratio(FILE *f, const char *name, const bench_ratio *q, int last)
{
    fprintf(f, "    \"%s\": ", name);
    if (!q->valid) {
        fputs(last ? "null\n" : "null,\n", f);
        return;
    }
    fputs("{\"wer_delta\": ", f);
    json_number(f, q->wer_delta);
    fputs(", \"cer_delta\": ", f);
    json_number(f, q->cer_delta);
    fputs(", \"latency_speedup\": ", f);
    json_number(f, q->latency_speedup);
    fputs(", \"p99_speedup\": ", f);
    json_number(f, q->p99_speedup);
    fputs(", \"throughput_ratio\": ", f);
    json_number(f, q->throughput_ratio);
    fputs(", \"peak_memory_ratio\": ", f);
    json_number(f, q->memory_ratio);
    fputs(last ? "}\n" : "},\n", f);
}

int report_json(const char *path, const bench_report *rep, char *error, size_t error_size)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(error, error_size, "%s: %s", path, strerror(errno));
        return -1;
    }
    const bench_options *o = rep->options;
    const bench_sysinfo *s = rep->sys;
    fprintf(f, "{\n  \"tool\": \"ds2-bench\",\n  \"library_version\": \"%s\",\n  \"timestamp\": ",
            DS2_VERSION_STRING);
    json_string(f, rep->timestamp);
    fputs(",\n  \"machine\": {\"cpu\": ", f);
    json_string(f, s->cpu_model);
    fprintf(f, ", \"cores\": %d, \"isa\": ", s->cores);
    json_string(f, s->isa);
    fputs(", \"gpu\": ", f);
    if (rep->gpu_used)
        json_string(f, s->gpu_name);
    else
        fputs("null", f);
    fputs(", \"hostname\": ", f);
    json_string(f, s->hostname);
    fputs("},\n  \"model\": {\"path\": ", f);
    json_string(f, o->model_path);
    fprintf(f, ", \"bytes\": %lld},\n  \"eval\": {\"manifest\": ", rep->model_bytes);
    json_string(f, o->manifest_path);
    fprintf(f,
            ", \"utterances\": %d},\n  \"settings\": {\"threads\": %d, \"latency_trials\": %d, "
            "\"throughput_trials\": %d, \"batch\": %d, \"cpu_warmup\": %d, \"gpu_warmup\": %d, "
            "\"gpu_index\": %d},\n  \"conditions\": [\n",
            rep->n_eval, o->n_threads, o->latency_trials, o->throughput_trials, o->batch,
            o->cpu_warmup, o->gpu_warmup, o->gpu_index);
    int first = 1;
    for (int c = 0; c < BENCH_N_CONDITIONS; c++) {
        if (!o->enabled[c])
            continue;
        if (!first)
            fputs(",\n", f);
        first = 0;
        json_condition(f, rep, (bench_condition_id)c);
    }
    fputs("\n  ],\n  \"ratios\": {\n", f);
    const bench_result *r = rep->results;
    bench_ratio q8 = {0}, qg = {0};
    if (bench_ran(rep, BENCH_CPU_FP32) && bench_ran(rep, BENCH_CPU_INT8))
        q8 = bench_compare(&r[BENCH_CPU_FP32], &r[BENCH_CPU_INT8]);
    if (bench_ran(rep, BENCH_CPU_FP32) && bench_ran(rep, BENCH_GPU_FP32))
        qg = bench_compare(&r[BENCH_CPU_FP32], &r[BENCH_GPU_FP32]);
    json_ratio(f, "cpu_int8_over_cpu_fp32", &q8, 0);
    json_ratio(f, "gpu_fp32_over_cpu_fp32", &qg, 1);
    fputs("  }\n}\n", f);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        snprintf(error, error_size, "%s: write failed: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}
