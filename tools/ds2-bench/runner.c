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

static int measure_accuracy(const bench_options *o, const bench_condition *cond, ds2_session *s,
                            const eval_audio *ea, const ds2_manifest *eval, bench_result *r)
{
    r->utterances = calloc((size_t)ea->n, sizeof *r->utterances);
    if (!r->utterances) {
        set_reason(r, BENCH_FAILED, "out of memory");
        return -1;
    }
    r->n_utterances = ea->n;
    progress_state pr;
    progress_begin(&pr, o->progress, cond->name, "accuracy", ea->n);
    for (int i = 0; i < ea->n; i++) {
        ds2_utterance u;
        ds2_result res;
        double dt;
        ds2_status st = run_once(s, ea, &i, 1, &u, &res, &dt, 1);
        if (st != DS2_OK) {
            progress_end(&pr);
            char phase[64];
            snprintf(phase, sizeof phase, "ds2_run on eval sample %d", i);
            run_failed(r, s, st, phase);
            return -1;
        }
        bench_utterance_result *ur = &r->utterances[i];
        ur->hypothesis = upcase_dup(res.text);
        ds2_result_free(&res);
        char *ref = upcase_dup(eval->entries[i].transcript);
        if (!ur->hypothesis || !ref) {
            free(ref);
            progress_end(&pr);
            set_reason(r, BENCH_FAILED, "out of memory");
            return -1;
        }
        ur->word_errors = ds2_word_errors(ur->hypothesis, ref, &ur->ref_words);
        ur->char_errors = ds2_char_errors(ur->hypothesis, ref, &ur->ref_chars);
        free(ref);
        if (ur->word_errors < 0 || ur->char_errors < 0) {
            progress_end(&pr);
            set_reason(r, BENCH_FAILED, "out of memory computing WER/CER");
            return -1;
        }
        ur->audio_seconds = audio_seconds(ea, i);
        r->word_errors += ur->word_errors;
        r->ref_words += ur->ref_words;
        r->char_errors += ur->char_errors;
        r->ref_chars += ur->ref_chars;
        r->eval_audio_seconds += ur->audio_seconds;
        progress_update(&pr, i + 1);
    }
    progress_end(&pr);
    r->wer = r->ref_words ? 100.0 * (double)r->word_errors / (double)r->ref_words : 0.0;
    r->cer = r->ref_chars ? 100.0 * (double)r->char_errors / (double)r->ref_chars : 0.0;
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
