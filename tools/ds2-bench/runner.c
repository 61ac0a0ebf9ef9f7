/* Measures one condition through the public API only. Audio is decoded and resampled once,
 * before any timing; only ds2_run calls are timed. */
#include "runner.h"
#include "progress.h"
#include "stats.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

typedef struct eval_audio {
    ds2_audio *audio; /* [n] */
    int n;
    int sample_rate;
} eval_audio;

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void set_reason(bench_result *r, bench_outcome outcome, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_reason(bench_result *r, bench_outcome outcome, const char *fmt, ...)
{
    r->outcome = outcome;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->reason, sizeof r->reason, fmt, ap);
    va_end(ap);
}

/* A condition this build or machine cannot serve is skipped, not failed. */
static int is_unavailable(ds2_status st)
{
    return st == DS2_ERR_NOT_BUILT || st == DS2_ERR_NO_DEVICE || st == DS2_ERR_UNSUPPORTED;
}

static void upcase(char *s)
{
    for (; *s; s++)
        *s = (char)toupper((unsigned char)*s);
}

static char *upcase_dup(const char *s)
{
    char *d = strdup(s ? s : "");
    if (d)
        upcase(d);
    return d;
}

static void free_audio(eval_audio *ea)
{
    for (int i = 0; i < ea->n; i++)
        ds2_audio_free(&ea->audio[i]);
    free(ea->audio);
    ea->audio = NULL;
    ea->n = 0;
}

static int load_audio(const bench_options *o, const bench_condition *cond, const ds2_manifest *eval,
                      int n, int sample_rate, eval_audio *ea, bench_result *r)
{
    ea->audio = calloc((size_t)n, sizeof *ea->audio);
    ea->n = 0;
    ea->sample_rate = sample_rate;
    if (!ea->audio) {
        set_reason(r, BENCH_FAILED, "out of memory for %d utterances", n);
        return -1;
    }
    progress_state pr;
    progress_begin(&pr, o->progress, cond->name, "loading audio", n);
    for (int i = 0; i < n; i++) {
        char err[512];
        ds2_status st = ds2_audio_load(eval->entries[i].audio_path, sample_rate, &ea->audio[i], err,
                                       sizeof err);
        if (st != DS2_OK) {
            progress_end(&pr);
            set_reason(r, BENCH_FAILED, "eval sample %d (%s): %s", i, eval->entries[i].audio_path,
                       err);
            return -1;
        }
        ea->n++;
        if (ea->audio[i].n_samples == 0) {
            progress_end(&pr);
            set_reason(r, BENCH_FAILED, "eval sample %d (%s): no audio samples", i,
                       eval->entries[i].audio_path);
            return -1;
        }
        progress_update(&pr, i + 1);
    }
    progress_end(&pr);
    return 0;
}

static double audio_seconds(const eval_audio *ea, int i)
{
    return (double)ea->audio[i].n_samples / (double)ea->sample_rate;
}

/* Runs utterances idx[0..batch) once; returns the status and, on success, the elapsed time.
 * results (may be NULL) receive the outputs, else they are freed here. */
static ds2_status run_once(ds2_session *s, const eval_audio *ea, const int *idx, int batch,
                           ds2_utterance *utts, ds2_result *res, double *elapsed, int keep)
{
    const ds2_run_params rp = ds2_run_default_params();
    for (int k = 0; k < batch; k++) {
        utts[k].samples = ea->audio[idx[k]].samples;
        utts[k].n_samples = ea->audio[idx[k]].n_samples;
    }
    memset(res, 0, (size_t)batch * sizeof *res);
    double t0 = now_seconds();
    ds2_status st = ds2_run(s, utts, batch, &rp, res);
    double t1 = now_seconds();
    *elapsed = t1 - t0;
    if (st == DS2_OK && !keep)
        for (int k = 0; k < batch; k++)
            ds2_result_free(&res[k]);
    return st;
}

/* Classifies a failed run: unavailable -> skipped, else failed; names the phase. */
static void run_failed(bench_result *r, ds2_session *s, ds2_status st, const char *phase)
{
    const char *msg = ds2_session_error(s);
    if (!msg || !msg[0])
        msg = ds2_status_string(st);
    set_reason(r, is_unavailable(st) ? BENCH_SKIPPED : BENCH_FAILED, "%s%s%s",
               is_unavailable(st) ? "" : phase, is_unavailable(st) ? "" : ": ", msg);
}

/* Word and character errors of an upper-cased hypothesis against the reference. */
static int score(const char *hyp, const char *transcript, long *word_errors, long *ref_words,
                 long *char_errors, long *ref_chars)
{
    char *ref = upcase_dup(transcript);
    if (!ref)
        return -1;
    *word_errors = ds2_word_errors(hyp, ref, ref_words);
    *char_errors = ds2_char_errors(hyp, ref, ref_chars);
    free(ref);
    return *word_errors < 0 || *char_errors < 0 ? -1 : 0;
}

/* Times ds2_decode on probabilities already computed; *text (upper-cased) when text is not NULL. */
static ds2_status timed_decode(ds2_session *s, const ds2_result *fw, const ds2_run_params *rp,
                               double *ms, char **text)
{
    ds2_result res;
    double t0 = now_seconds();
    ds2_status st = ds2_decode(s, fw->probs, fw->n_frames, fw->n_labels, rp, &res);
    *ms = (now_seconds() - t0) * 1e3;
    if (st != DS2_OK)
        return st;
    if (text && !(*text = upcase_dup(res.text)))
        st = DS2_ERR_OUT_OF_MEMORY;
    ds2_result_free(&res);
    return st;
}

/* Summary of per-utterance decode times, and their median scaled to 5 s of audio. */
static int decode_stats(bench_result *r, int beam, bench_stats *out, double *per5)
{
    int n = r->n_utterances;
    double *x = malloc((size_t)(n ? n : 1) * sizeof *x);
    double *y = malloc((size_t)(n ? n : 1) * sizeof *y);
    int rc = x && y ? 0 : -1;
    for (int i = 0; rc == 0 && i < n; i++) {
        const bench_utterance_result *u = &r->utterances[i];
        x[i] = beam ? u->beam_decode_ms : u->greedy_decode_ms;
        y[i] = u->audio_seconds > 0 ? x[i] * 5.0 / u->audio_seconds : 0;
    }
    bench_stats sy;
    if (rc == 0 && (stats_summarize(x, n, out) != 0 || stats_summarize(y, n, &sy) != 0))
        rc = -1;
    if (rc == 0)
        *per5 = sy.p50;
    free(x);
    free(y);
    return rc;
}

/* Every utterance at batch 1: the greedy transcript of ds2_run, then the decoders alone
 * (ds2_decode, timed) on its probabilities: greedy, and the beam search with options.beam. */
static int measure_accuracy(const bench_options *o, const bench_condition *cond, ds2_session *s,
                            const eval_audio *ea, const ds2_manifest *eval, bench_result *r)
{
    r->utterances = calloc((size_t)ea->n, sizeof *r->utterances);
    if (!r->utterances) {
        set_reason(r, BENCH_FAILED, "out of memory");
        return -1;
    }
    r->n_utterances = ea->n;
    r->beam_ran = o->beam;
    ds2_run_params fw_params = ds2_run_default_params();
    fw_params.want_probs = 1;
    const ds2_run_params greedy = ds2_run_default_params();
    progress_state pr;
    progress_begin(&pr, o->progress, cond->name, "accuracy", ea->n);
    for (int i = 0; i < ea->n; i++) {
        ds2_utterance u = {ea->audio[i].samples, ea->audio[i].n_samples};
        ds2_result res;
        ds2_status st = ds2_run(s, &u, 1, &fw_params, &res);
        char phase[64];
        snprintf(phase, sizeof phase, "ds2_run on eval sample %d", i);
        if (st != DS2_OK) {
            progress_end(&pr);
            run_failed(r, s, st, phase);
            return -1;
        }
        bench_utterance_result *ur = &r->utterances[i];
        ur->hypothesis = upcase_dup(res.text);
        st = timed_decode(s, &res, &greedy, &ur->greedy_decode_ms, NULL);
        if (st == DS2_OK && o->beam) {
            snprintf(phase, sizeof phase, "ds2_decode (beam) on eval sample %d", i);
            st = timed_decode(s, &res, &o->beam_params, &ur->beam_decode_ms, &ur->beam_hypothesis);
        }
        ds2_result_free(&res);
        if (st != DS2_OK) {
            progress_end(&pr);
            run_failed(r, s, st, phase);
            return -1;
        }
        long ignored_words, ignored_chars;
        if (!ur->hypothesis ||
            score(ur->hypothesis, eval->entries[i].transcript, &ur->word_errors, &ur->ref_words,
                  &ur->char_errors, &ur->ref_chars) != 0 ||
            (o->beam &&
             score(ur->beam_hypothesis, eval->entries[i].transcript, &ur->beam_word_errors,
                   &ignored_words, &ur->beam_char_errors, &ignored_chars) != 0)) {
            progress_end(&pr);
            set_reason(r, BENCH_FAILED, "out of memory computing WER/CER");
            return -1;
        }
        ur->audio_seconds = audio_seconds(ea, i);
        r->word_errors += ur->word_errors;
        r->ref_words += ur->ref_words;
        r->char_errors += ur->char_errors;
        r->ref_chars += ur->ref_chars;
        r->beam_word_errors += ur->beam_word_errors;
        r->beam_char_errors += ur->beam_char_errors;
        r->eval_audio_seconds += ur->audio_seconds;
        progress_update(&pr, i + 1);
    }
    progress_end(&pr);
    r->wer = r->ref_words ? 100.0 * (double)r->word_errors / (double)r->ref_words : 0.0;
    r->cer = r->ref_chars ? 100.0 * (double)r->char_errors / (double)r->ref_chars : 0.0;
    r->beam_wer = r->ref_words ? 100.0 * (double)r->beam_word_errors / (double)r->ref_words : 0.0;
    r->beam_cer = r->ref_chars ? 100.0 * (double)r->beam_char_errors / (double)r->ref_chars : 0.0;
    if (decode_stats(r, 0, &r->greedy_decode, &r->greedy_decode_per5s) != 0 ||
        (o->beam && decode_stats(r, 1, &r->beam_decode, &r->beam_decode_per5s) != 0)) {
        set_reason(r, BENCH_FAILED, "out of memory");
        return -1;
    }
    return 0;
}

static int warm_up(const bench_options *o, const bench_condition *cond, ds2_session *s,
                   const eval_audio *ea, bench_result *r)
{
    int n = cond->device == DS2_DEVICE_GPU ? o->gpu_warmup : o->cpu_warmup;
    progress_state pr;
    progress_begin(&pr, o->progress, cond->name, "warm-up", n);
    for (int i = 0; i < n; i++) {
        int idx = i % ea->n;
        ds2_utterance u;
        ds2_result res;
        double dt;
        ds2_status st = run_once(s, ea, &idx, 1, &u, &res, &dt, 0);
        if (st != DS2_OK) {
            progress_end(&pr);
            run_failed(r, s, st, "ds2_run (warm-up)");
            return -1;
        }
        progress_update(&pr, i + 1);
    }
    progress_end(&pr);
    return 0;
}

static int measure_latency(const bench_options *o, const bench_condition *cond, ds2_session *s,
                           const eval_audio *ea, bench_result *r)
{
    int n = o->latency_trials;
    r->latency_ms = calloc((size_t)n, sizeof *r->latency_ms);
    r->latency_audio_s = calloc((size_t)n, sizeof *r->latency_audio_s);
    if (!r->latency_ms || !r->latency_audio_s) {
        set_reason(r, BENCH_FAILED, "out of memory");
        return -1;
    }
    progress_state pr;
    progress_begin(&pr, o->progress, cond->name, "latency", n);
    double compute = 0, audio = 0;
    for (int t = 0; t < n; t++) {
        int idx = t % ea->n;
        ds2_utterance u;
        ds2_result res;
        double dt;
        ds2_status st = run_once(s, ea, &idx, 1, &u, &res, &dt, 0);
        if (st != DS2_OK) {
            progress_end(&pr);
            run_failed(r, s, st, "ds2_run (latency)");
            return -1;
        }
        r->latency_ms[t] = dt * 1e3;
        r->latency_audio_s[t] = audio_seconds(ea, idx);
        r->n_latency = t + 1;
        compute += dt;
        audio += r->latency_audio_s[t];
        progress_update(&pr, t + 1);
    }
    progress_end(&pr);
    r->rtf = audio > 0 ? compute / audio : 0.0;
    if (stats_summarize(r->latency_ms, r->n_latency, &r->latency) != 0) {
        set_reason(r, BENCH_FAILED, "out of memory");
        return -1;
    }
    return 0;
}

static int measure_throughput(const bench_options *o, const bench_condition *cond, ds2_session *s,
                              const eval_audio *ea, bench_result *r)
{
    int n = o->throughput_trials, b = o->batch;
    r->batch = b;
    if (n == 0)
        return 0;
    r->throughput_ms = calloc((size_t)n, sizeof *r->throughput_ms);
    int *idx = calloc((size_t)b, sizeof *idx);
    ds2_utterance *utts = calloc((size_t)b, sizeof *utts);
    ds2_result *res = calloc((size_t)b, sizeof *res);
    int rc = 0;
    if (!r->throughput_ms || !idx || !utts || !res) {
        set_reason(r, BENCH_FAILED, "out of memory");
        rc = -1;
    }
    progress_state pr;
    progress_begin(&pr, rc == 0 && o->progress, cond->name, "throughput", n);
    double compute = 0, audio = 0;
    long next = 0;
    for (int t = 0; t < n && rc == 0; t++) {
        double trial_audio = 0;
        for (int k = 0; k < b; k++) {
            idx[k] = (int)(next++ % ea->n);
            trial_audio += audio_seconds(ea, idx[k]);
        }
        double dt;
        ds2_status st = run_once(s, ea, idx, b, utts, res, &dt, 0);
        if (st != DS2_OK) {
            run_failed(r, s, st, "ds2_run (throughput)");
            rc = -1;
            break;
        }
        r->throughput_ms[t] = dt * 1e3;
        r->n_throughput = t + 1;
        compute += dt;
        audio += trial_audio;
        progress_update(&pr, t + 1);
    }
    progress_end(&pr);
    if (rc == 0 && compute > 0) {
        r->samples_per_s = (double)n * b / compute;
        r->audio_s_per_s = audio / compute;
    }
    free(idx);
    free(utts);
    free(res);
    return rc;
}

void runner_measure(const bench_options *o, bench_condition_id c, const ds2_manifest *eval,
                    bench_result *r)
{
    const bench_condition *cond = &bench_conditions[c];
    memset(r, 0, sizeof *r);
    r->condition = c;
    r->n_threads = o->n_threads;
    r->outcome = BENCH_RAN;

    ds2_model *model = NULL;
    char err[512];
    ds2_status st = ds2_model_load(o->model_path, NULL, &model, err, sizeof err);
    if (st != DS2_OK) {
        set_reason(r, BENCH_FAILED, "%s", err);
        return;
    }
    ds2_model_info info;
    ds2_model_get_info(model, &info);

    int n = eval->count;
    if (o->max_utterances > 0 && o->max_utterances < n)
        n = o->max_utterances;
    eval_audio ea = {NULL, 0, info.sample_rate};
    ds2_session *session = NULL;
    if (load_audio(o, cond, eval, n, info.sample_rate, &ea, r) != 0)
        goto done;

    ds2_session_params sp = ds2_session_default_params();
    sp.precision = cond->precision;
    sp.device = cond->device;
    sp.n_threads = o->n_threads;
    sp.gpu_index = o->gpu_index;
    sp.fp32_convs = o->fp32_convs;
    st = ds2_session_create(model, &sp, &session, err, sizeof err);
    if (st != DS2_OK) {
        set_reason(r, is_unavailable(st) ? BENCH_SKIPPED : BENCH_FAILED, "%s%s",
                   is_unavailable(st) ? "" : "ds2_session_create: ", err);
        goto done;
    }
    if (warm_up(o, cond, session, &ea, r) == 0 &&
        measure_accuracy(o, cond, session, &ea, eval, r) == 0 &&
        measure_latency(o, cond, session, &ea, r) == 0)
        measure_throughput(o, cond, session, &ea, r);

done:
    ds2_session_free(session);
    free_audio(&ea);
    ds2_model_free(model);
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        r->peak_rss_kb = ru.ru_maxrss;
}
