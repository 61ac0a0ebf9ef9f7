/* ds2-forward: libds2's forward pass alone (conv stack, RNNs, FC, softmax; no front end, no CTC
 * decoding), timed from a spectrogram file, for tools/bench-peers.
 *
 *   ds2-forward -m MODEL --spect-out S.npy [--seconds S] AUDIO_OR_MANIFEST
 *       computes the model's spectrogram of the audio ([freq][frames] float32) with libds2's
 *       front end (deepspeech.pytorch's AudioParser, see test/golden) and writes it;
 *   ds2-forward -m MODEL --spect S.npy [--precision fp32|int8] [--threads N] [--batch B]
 *               [--trials T] [--warmup W] [--probs P.npy] [--fp32-convs]
 *       runs B copies of that spectrogram as one batch through the backend's forward W + T times
 *       and prints one JSON object: load and prepare seconds, every trial's seconds, the median;
 *       --probs writes the softmax output [B][frames][labels].
 *
 * Uses lib/'s internal backend interface (the public ds2_run takes audio, not features): the
 * forward timed here is the one ds2_run calls after its spectrogram. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "ds2.h"
#include "core/backends.h"
#include "core/model.h"
#include "core/model_backend.h"
#include "cpuinfo.h"
#include "manifest.h"
#include "npy.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: ds2-forward -m MODEL --spect-out S.npy [--seconds S] AUDIO_OR_MANIFEST\n"
               "       ds2-forward -m MODEL --spect S.npy [--precision fp32|int8] [--threads N]\n"
               "                   [--batch B] [--trials T] [--warmup W] [--probs P.npy]\n"
               "                   [--fp32-convs]\n");
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void log_stderr(ds2_log_level level, const char *msg, void *user)
{
    (void)user;
    if (level <= DS2_LOG_WARN)
        fprintf(stderr, "ds2: %s\n", msg);
}

/* Appends path's samples (at most want - *have of them when want > 0) to *buf. */
static int append_file(const char *path, int rate, size_t want, float **buf, size_t *have)
{
    char err[512];
    ds2_audio a;
    if (ds2_audio_load(path, rate, &a, err, sizeof err) != DS2_OK) {
        fprintf(stderr, "ds2-forward: %s\n", err);
        return -1;
    }
    size_t take = want && a.n_samples > want - *have ? want - *have : a.n_samples;
    float *p = realloc(*buf, (*have + take + 1) * sizeof *p);
    if (p) {
        memcpy(p + *have, a.samples, take * sizeof *p);
        *buf = p;
        *have += take;
    } else {
        fprintf(stderr, "ds2-forward: out of memory for %zu samples\n", *have + take);
    }
    ds2_audio_free(&a);
    return p ? 0 : -1;
}

/* The audio to measure: one file, or a manifest's first utterance; with seconds > 0 the file
 * (or the manifest's utterances in order) repeated and cut to that length. */
static int load_audio(const char *path, int rate, double seconds, float **out, size_t *n)
{
    char err[512], err2[512] = "no entries";
    ds2_audio a;
    ds2_manifest man = {0};
    if (ds2_audio_load(path, rate, &a, err, sizeof err) == DS2_OK) {
        ds2_audio_free(&a);
    } else if (ds2_manifest_load(path, &man, err2, sizeof err2) != DS2_OK || man.count < 1) {
        fprintf(stderr, "ds2-forward: %s is neither audio (%s) nor a manifest (%s)\n", path, err,
                err2);
        ds2_manifest_free(&man);
        return -1;
    }
    int n_files = man.count && seconds > 0 ? man.count : 1;
    size_t want = seconds > 0 ? (size_t)(seconds * rate) : 0, have = 0, cycle_start = 0;
    float *buf = NULL;
    int rc = 0;
    for (int i = 0; rc == 0; i = (i + 1) % n_files) {
        rc = append_file(man.count ? man.entries[i].audio_path : path, rate, want, &buf, &have);
        if (rc || !want || have >= want)
            break;
        if (i == n_files - 1) {
            if (have == cycle_start)
                rc = -1; /* no samples at all: would never reach want */
            cycle_start = have;
        }
    }
    ds2_manifest_free(&man);
    if (rc || have == 0) {
        free(buf);
        return -1;
    }
    *out = buf;
    *n = have;
    return 0;
}

static int write_spect(const ds2_model *m, const char *audio, double seconds, const char *out)
{
    float *samples;
    size_t n;
    if (load_audio(audio, m->file.spect_config.sample_rate, seconds, &samples, &n) != 0)
        return 1;
    int bins = ds2_spectrogram_bins(m->file.spectrogram),
        frames = ds2_spectrogram_frames(m->file.spectrogram, n);
    float *s = frames > 0 ? malloc((size_t)bins * (size_t)frames * sizeof *s) : NULL;
    ds2_err err = {""};
    int rc = 1;
    if (!s)
        fprintf(stderr, "ds2-forward: out of memory\n");
    else if (ds2_spectrogram_compute(m->file.spectrogram, samples, n, s, frames, &err) != DS2_OK)
        fprintf(stderr, "ds2-forward: %s: %s\n", audio, err.msg);
    else if (npy_write_f32(out, s, 2, (int[]){bins, frames}) != 0)
        fprintf(stderr, "ds2-forward: cannot write %s: %s\n", out, strerror(errno));
    else
        rc = printf("%s: %d x %d (bins x frames)\n", out, bins, frames) < 0;
    free(s);
    free(samples);
    return rc;
}

static int int_arg(const char *name, const char *s, int lo, int hi, int *v)
{
    char *end;
    long x = strtol(s, &end, 10);
    if (*end || x < lo || x > hi) {
        fprintf(stderr, "ds2-forward: --%s must be %d..%d\n", name, lo, hi);
        return -1;
    }
    *v = (int)x;
    return 0;
}

int main(int argc, char **argv)
{
    const char *model_path = NULL, *spect_path = NULL, *spect_out = NULL, *probs_path = NULL;
    int precision = DS2_PRECISION_FP32, threads = 1, batch = 1, trials = 5, warmup = 1;
    int fp32_convs = 0;
    double seconds = 0;
    static const struct option opts[] = {{"model", required_argument, 0, 'm'},
                                         {"spect", required_argument, 0, 's'},
                                         {"spect-out", required_argument, 0, 'o'},
                                         {"seconds", required_argument, 0, 'S'},
                                         {"precision", required_argument, 0, 'p'},
                                         {"fp32-convs", no_argument, 0, 'F'},
                                         {"threads", required_argument, 0, 't'},
                                         {"batch", required_argument, 0, 'b'},
                                         {"trials", required_argument, 0, 'n'},
                                         {"warmup", required_argument, 0, 'w'},
                                         {"probs", required_argument, 0, 'P'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "m:s:o:S:p:t:b:n:w:P:h", opts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'm':
            model_path = optarg;
            break;
        case 's':
            spect_path = optarg;
            break;
        case 'o':
            spect_out = optarg;
            break;
        case 'S':
            seconds = strtod(optarg, &end);
            if (*end || !(seconds > 0 && seconds < 1e5)) {
                fprintf(stderr, "ds2-forward: --seconds must be a positive number\n");
                return 2;
            }
            break;
        case 'F':
            fp32_convs = 1;
            break;
        case 'p':
            if (strcmp(optarg, "fp32") && strcmp(optarg, "int8")) {
                fprintf(stderr, "ds2-forward: --precision must be fp32 or int8\n");
                return 2;
            }
            precision = strcmp(optarg, "int8") ? DS2_PRECISION_FP32 : DS2_PRECISION_INT8;
            break;
        case 't':
            if (int_arg("threads", optarg, 1, 256, &threads))
                return 2;
            break;
        case 'b':
            if (int_arg("batch", optarg, 1, 4096, &batch))
                return 2;
            break;
        case 'n':
            if (int_arg("trials", optarg, 1, 100000, &trials))
                return 2;
            break;
        case 'w':
            if (int_arg("warmup", optarg, 0, 100000, &warmup))
                return 2;
            break;
        case 'P':
            probs_path = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!model_path || !spect_path == !spect_out || (spect_out && optind + 1 != argc) ||
        (spect_path && optind != argc)) {
        usage(stderr);
        return 2;
    }
    double t0 = now();
    ds2_model_params mp = ds2_model_default_params();
    mp.log = log_stderr;
    char msg[512];
    ds2_model *m = NULL;
    if (ds2_model_load(model_path, &mp, &m, msg, sizeof msg) != DS2_OK) {
        fprintf(stderr, "ds2-forward: %s\n", msg);
        return 1;
    }
    if (spect_out) {
        int rc = write_spect(m, argv[optind], seconds, spect_out);
        ds2_model_free(m);
        return rc;
    }
    double t_load = now() - t0;
    const ds2_net *net = &m->file.net;
    float *spect = NULL, *features = NULL, *probs = NULL;
    int bins, frames, rc = 1;
    if (npy_read_f32_2d(spect_path, &spect, &bins, &frames, msg, sizeof msg) != 0) {
        fprintf(stderr, "ds2-forward: %s\n", msg);
        ds2_model_free(m);
        return 1;
    }
    const ds2_backend *be = ds2_backend_find(DS2_DEVICE_CPU, (ds2_precision)precision);
    const void *model_data = NULL;
    void *sess = NULL;
    ds2_err err = {""};
    double *times = calloc((size_t)trials, sizeof *times);
    int t_out = ds2_net_output_length(net, frames);
    size_t per_in = (size_t)bins * (size_t)frames,
           per_out = (size_t)t_out * (size_t)m->file.n_labels;
    int *lengths = malloc(2 * (size_t)batch * sizeof *lengths);
    if (bins != net->n_freq) {
        fprintf(stderr, "ds2-forward: %s has %d frequency bins, the model wants %d\n", spect_path,
                bins, net->n_freq);
        goto done;
    }
    features = malloc(per_in * (size_t)batch * sizeof *features);
    probs = malloc(per_out * (size_t)batch * sizeof *probs);
    if (!times || !lengths || !features || !probs) {
        fprintf(stderr, "ds2-forward: out of memory for batch %d\n", batch);
        goto done;
    }
    for (int b = 0; b < batch; b++) {
        memcpy(features + per_in * (size_t)b, spect, per_in * sizeof *features);
        lengths[b] = frames;
    }
    t0 = now();
    if (ds2_model_prepare_backend(m, be, 0, &model_data, &err) != DS2_OK ||
        be->impl->session_create(net, model_data, threads, 0, &sess, &err) != DS2_OK) {
        fprintf(stderr, "ds2-forward: %s: %s\n", be->name, err.msg);
        goto done;
    }
    double t_prepare = now() - t0;
    ds2_forward_batch fb = {.batch = batch,
                            .n_freq = bins,
                            .t_max = frames,
                            .lengths = lengths,
                            .features = features,
                            .t_out_max = t_out,
                            .out_lengths = lengths + batch,
                            .probs = probs,
                            .state = NULL,
                            .fp32_convs = fp32_convs};
    for (int i = 0; i < warmup + trials; i++) {
        t0 = now();
        if (be->impl->forward(sess, &fb, &err) != DS2_OK) {
            fprintf(stderr, "ds2-forward: %s forward: %s\n", be->name, err.msg);
            goto done;
        }
        if (i >= warmup)
            times[i - warmup] = now() - t0;
    }
    if (probs_path &&
        npy_write_f32(probs_path, probs, 3, (int[]){batch, t_out, m->file.n_labels}) != 0) {
        fprintf(stderr, "ds2-forward: cannot write %s: %s\n", probs_path, strerror(errno));
        goto done;
    }
    printf("{\"runner\": \"libds2\", \"version\": \"%s\", \"backend\": \"%s\", \"isa\": \"%s\", "
           "\"threads\": %d, \"batch\": %d, \"frames_in\": %d, \"frames_out\": %d, "
           "\"load_s\": %.6f, \"prepare_s\": %.6f, \"times_s\": [",
           DS2_VERSION_STRING, be->name, ds2_isa_name(ds2_cpuinfo_get()->best), threads, batch,
           frames, t_out, t_load, t_prepare);
    for (int i = 0; i < trials; i++)
        printf("%s%.6f", i ? ", " : "", times[i]);
    qsort(times, (size_t)trials, sizeof *times, cmp_double);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("], \"median_s\": %.6f, \"peak_rss_mb\": %.1f}\n",
           0.5 * (times[(trials - 1) / 2] + times[trials / 2]), (double)ru.ru_maxrss / 1024.0);
    rc = 0;
done:
    if (sess)
        be->impl->session_free(sess);
    free(times);
    free(lengths);
    free(features);
    free(probs);
    free(spect);
    ds2_model_free(m);
    return rc;
}
