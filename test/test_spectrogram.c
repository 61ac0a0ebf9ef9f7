/* Spectrogram against a naive double-precision DFT written from librosa's definition, window
 * formulas against scipy's, normalisation, and (when present) golden data from
 * deepspeech.pytorch. */
#include <check.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "ds2.h"
#include "json_min.h"
#include "audio/spectrogram.h"
#include "test_files.h"

#define N_FFT 320
#define HOP 160
#define BINS (N_FFT / 2 + 1)

static ds2_spectrogram *make(ds2_window window, int normalize)
{
    ds2_spect_config cfg = {16000, N_FFT, HOP, window, normalize};
    ds2_spectrogram *s = NULL;
    ds2_err err;
    ck_assert_int_eq(ds2_spectrogram_create(&cfg, &s, &err), DS2_OK);
    return s;
}

static float *random_signal(size_t n, unsigned seed)
{
    srand(seed);
    float *x = malloc((n ? n : 1) * sizeof(float));
    for (size_t i = 0; i < n; i++)
        x[i] = (float)rand() / RAND_MAX * 2.0f - 1.0f;
    return x;
}

/* scipy.signal.get_window(name, n, fftbins=True): scipy's symmetric window of M = n + 1
 * points, last point dropped; cosine windows via general_cosine over linspace(-pi, pi, M). */
static void scipy_window(ds2_window window, int n, double *w)
{
    int m = n + 1;
    for (int k = 0; k < n; k++) {
        double fac = -M_PI + 2.0 * M_PI * k / (m - 1);
        switch (window) {
        case DS2_WINDOW_HAMMING:
            w[k] = 0.54 + 0.46 * cos(fac);
            break;
        case DS2_WINDOW_HANN:
            w[k] = 0.5 + 0.5 * cos(fac);
            break;
        case DS2_WINDOW_BLACKMAN:
            w[k] = 0.42 + 0.50 * cos(fac) + 0.08 * cos(2.0 * fac);
            break;
        case DS2_WINDOW_BARTLETT:
            w[k] = k <= (m - 1) / 2.0 ? 2.0 * k / (m - 1) : 2.0 - 2.0 * k / (m - 1);
            break;
        }
    }
}

/* librosa.stft(center=True, pad_mode="constant") magnitude, log1p; [BINS][frames] in double,
 * plus per-value error bound from the magnitude of the summed terms. */
static double *reference(const float *x, size_t n, ds2_window window, int frames, double *bound)
{
    double w[N_FFT];
    scipy_window(window, N_FFT, w);
    ck_assert_int_gt(frames, 0);
    double *ref = malloc((size_t)BINS * (size_t)frames * sizeof(double));
    for (int t = 0; t < frames; t++) {
        double frame[N_FFT], abs_sum = 0.0;
        for (int j = 0; j < N_FFT; j++) {
            long i = (long)t * HOP - N_FFT / 2 + j;
            frame[j] = i >= 0 && (size_t)i < n ? x[i] * w[j] : 0.0;
            abs_sum += fabs(frame[j]);
        }
        /* GEMM in double: n_fft * eps * sum|terms| on |X|, and d log1p <= 1 */
        double b = N_FFT * DBL_EPSILON * abs_sum;
        *bound = b > *bound ? b : *bound;
        for (int k = 0; k < BINS; k++) {
            double re = 0.0, im = 0.0;
            for (int j = 0; j < N_FFT; j++) {
                double a = 2.0 * M_PI * k * j / N_FFT;
                re += frame[j] * cos(a);
                im -= frame[j] * sin(a);
            }
            ref[(size_t)k * frames + t] = log1p(sqrt(re * re + im * im));
        }
    }
    return ref;
}

static void check_against_reference(size_t n, ds2_window window, unsigned seed)
{
    ds2_spectrogram *s = make(window, 0);
    int frames = ds2_spectrogram_frames(s, n);
    float *x = random_signal(n, seed);
    int ld = frames + 3;
    float *out = malloc((size_t)BINS * ld * sizeof(float));
    for (size_t i = 0; i < (size_t)BINS * ld; i++)
        out[i] = -12345.0f;
    ds2_err err;
    ck_assert_int_eq(ds2_spectrogram_compute(s, x, n, out, ld, &err), DS2_OK);
    double bound = 0.0;
    double *ref = reference(x, n, window, frames, &bound);
    for (int k = 0; k < BINS; k++) {
        for (int t = 0; t < frames; t++) {
            double r = ref[(size_t)k * frames + t];
            /* + float rounding of the stored value (a few ulp of |r|) */
            double tol = bound + 4.0 * FLT_EPSILON * fmax(1.0, fabs(r));
            double got = out[(size_t)k * ld + t];
            ck_assert_msg(fabs(got - r) <= tol, "n=%zu bin %d frame %d: %.9g vs %.9g (tol %.3g)", n,
                          k, t, got, r, tol);
        }
        for (int t = frames; t < ld; t++)
            ck_assert_float_eq(out[(size_t)k * ld + t], -12345.0f); /* padding untouched */
    }
    free(ref);
    free(out);
    free(x);
    ds2_spectrogram_free(s);
}

START_TEST(matches_naive_dft)
{
    static const size_t lengths[] = {0, 1, 159, 160, 161, 479, 4000, 16000, 41123};
    for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++)
        check_against_reference(lengths[i], DS2_WINDOW_HAMMING, 100 + (unsigned)i);
}
END_TEST

START_TEST(every_window_matches_naive_dft)
{
    check_against_reference(3000, DS2_WINDOW_HANN, 1);
    check_against_reference(3000, DS2_WINDOW_BLACKMAN, 2);
    check_against_reference(3000, DS2_WINDOW_BARTLETT, 3);
}
END_TEST

START_TEST(frame_count)
{
    ds2_spectrogram *s = make(DS2_WINDOW_HAMMING, 0);
    ck_assert_int_eq(ds2_spectrogram_bins(s), 161);
    ck_assert_int_eq(ds2_spectrogram_frames(s, 0), 1);
    ck_assert_int_eq(ds2_spectrogram_frames(s, 1), 1);
    ck_assert_int_eq(ds2_spectrogram_frames(s, 159), 1);
    ck_assert_int_eq(ds2_spectrogram_frames(s, 160), 2);
    ck_assert_int_eq(ds2_spectrogram_frames(s, 161), 2);
    ck_assert_int_eq(ds2_spectrogram_frames(s, 16000), 101);
    ck_assert_int_eq(ds2_spectrogram_frames(s, (size_t)HOP * INT_MAX), -1);
    ck_assert_int_eq(ds2_spectrogram_frames(NULL, 10), -1);
    ds2_spectrogram_free(s);
}
END_TEST

START_TEST(window_formulas)
{
    /* scipy.signal.get_window(name, 4) */
    static const double want[4][4] = {
        {0.08, 0.54, 1.0, 0.54}, /* hamming */
        {0.0, 0.5, 1.0, 0.5},    /* hann */
        {0.0, 0.34, 1.0, 0.34},  /* blackman */
        {0.0, 0.5, 1.0, 0.5},    /* bartlett */
    };
    for (int w = 0; w < 4; w++) {
        double got[4];
        ds2_window_fill((ds2_window)w, 4, got);
        for (int i = 0; i < 4; i++)
            ck_assert_double_eq_tol(got[i], want[w][i], 1e-15);
    }
    static const int sizes[] = {2, 5, 320, 400, 512};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        int n = sizes[i];
        double *got = malloc(n * sizeof(double)), *ref = malloc(n * sizeof(double));
        for (int w = 0; w < 4; w++) {
            ds2_window_fill((ds2_window)w, n, got);
            scipy_window((ds2_window)w, n, ref);
            for (int k = 0; k < n; k++)
                ck_assert_double_eq_tol(got[k], ref[k], 1e-14);
        }
        free(got);
        free(ref);
    }
}
END_TEST

START_TEST(window_names)
{
    static const char *const names[] = {"hamming", "hann", "blackman", "bartlett"};
    for (int i = 0; i < 4; i++) {
        ds2_window w = (ds2_window)-1;
        ck_assert_int_eq(ds2_window_from_name(names[i], &w), 0);
        ck_assert_int_eq(w, i);
    }
    ds2_window w;
    ck_assert_int_eq(ds2_window_from_name("hanning", &w), -1);
    ck_assert_int_eq(ds2_window_from_name("Hamming", &w), -1);
    ck_assert_int_eq(ds2_window_from_name(NULL, &w), -1);
    ck_assert_int_eq(ds2_window_from_name("hann", NULL), -1);
}
END_TEST

static void stats(const float *v, int bins, int frames, int ld, double *mean, double *std)
{
    double sum = 0.0, ss = 0.0;
    size_t count = (size_t)bins * frames;
    for (int k = 0; k < bins; k++)
        for (int t = 0; t < frames; t++)
            sum += v[(size_t)k * ld + t];
    *mean = sum / count;
    for (int k = 0; k < bins; k++)
        for (int t = 0; t < frames; t++)
            ss += (v[(size_t)k * ld + t] - *mean) * (v[(size_t)k * ld + t] - *mean);
    *std = sqrt(ss / (count - 1));
}

START_TEST(normalisation)
{
    const size_t n = 8000;
    float *x = random_signal(n, 7);
    for (size_t i = 0; i < n; i++)
        x[i] *= (float)(0.1 + i / (double)n); /* not stationary: bins differ */
    ds2_spectrogram *raw = make(DS2_WINDOW_HAMMING, 0), *norm = make(DS2_WINDOW_HAMMING, 1);
    int frames = ds2_spectrogram_frames(raw, n);
    float *a = malloc((size_t)BINS * frames * sizeof(float));
    float *b = malloc((size_t)BINS * frames * sizeof(float));
    ds2_err err;
    ck_assert_int_eq(ds2_spectrogram_compute(raw, x, n, a, frames, &err), DS2_OK);
    ck_assert_int_eq(ds2_spectrogram_compute(norm, x, n, b, frames, &err), DS2_OK);
    double mean, std, nmean, nstd;
    stats(a, BINS, frames, frames, &mean, &std);
    stats(b, BINS, frames, frames, &nmean, &nstd);
    ck_assert_double_eq_tol(nmean, 0.0, 1e-5);
    ck_assert_double_eq_tol(nstd, 1.0, 1e-5);
    for (size_t i = 0; i < (size_t)BINS * frames; i++)
        ck_assert_double_eq_tol(b[i], (a[i] - mean) / std, 1e-5);
    free(a);
    free(b);
    free(x);
    ds2_spectrogram_free(raw);
    ds2_spectrogram_free(norm);
}
END_TEST

START_TEST(normalising_constant_input_fails)
{
    ds2_spectrogram *s = make(DS2_WINDOW_HAMMING, 1);
    float zeros[800] = {0};
    float out[BINS * 6];
    ds2_err err = {{0}};
    ck_assert_int_eq(ds2_spectrogram_compute(s, zeros, 800, out, 6, &err), DS2_ERR_AUDIO_FORMAT);
    ck_assert_uint_gt(strlen(err.msg), 0);
    err.msg[0] = '\0';
    ck_assert_int_eq(ds2_spectrogram_compute(s, NULL, 0, out, 1, &err), DS2_ERR_AUDIO_FORMAT);
    ck_assert_uint_gt(strlen(err.msg), 0);
    /* one non-zero sample is enough variation */
    zeros[400] = 0.5f;
    ck_assert_int_eq(ds2_spectrogram_compute(s, zeros, 800, out, 6, &err), DS2_OK);
    ds2_spectrogram_free(s);
}
END_TEST

START_TEST(bad_arguments)
{
    ds2_spectrogram *s = NULL;
    ds2_err err;
    ds2_spect_config bad[] = {
        {16000, 321, 160, DS2_WINDOW_HAMMING, 0}, /* odd n_fft */
        {16000, 0, 160, DS2_WINDOW_HAMMING, 0},
        {16000, 320, 0, DS2_WINDOW_HAMMING, 0},
        {0, 320, 160, DS2_WINDOW_HAMMING, 0},
        {16000, 320, 160, (ds2_window)9, 0},
        {16000, 1 << 20, 160, DS2_WINDOW_HAMMING, 0},
        {48000, 4098, 160, DS2_WINDOW_HAMMING, 0}, /* its DFT basis would take 269 MB */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err.msg[0] = '\0';
        ck_assert_int_eq(ds2_spectrogram_create(&bad[i], &s, &err), DS2_ERR_INVALID_ARGUMENT);
        ck_assert_ptr_null(s);
        ck_assert_uint_gt(strlen(err.msg), 0);
    }
    ck_assert_int_eq(ds2_spectrogram_create(NULL, &s, &err), DS2_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ds2_spectrogram_create(&bad[0], NULL, NULL), DS2_ERR_INVALID_ARGUMENT);

    s = make(DS2_WINDOW_HAMMING, 0);
    float x[400] = {0}, out[BINS * 3];
    ck_assert_int_eq(ds2_spectrogram_compute(s, x, 400, out, 2, &err), DS2_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ds2_spectrogram_compute(s, NULL, 400, out, 3, &err), DS2_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ds2_spectrogram_compute(s, x, 400, NULL, 3, &err), DS2_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ds2_spectrogram_compute(NULL, x, 400, out, 3, NULL), DS2_ERR_INVALID_ARGUMENT);
    x[123] = NAN;
    ck_assert_int_eq(ds2_spectrogram_compute(s, x, 400, out, 3, &err), DS2_ERR_INVALID_ARGUMENT);
    x[123] = INFINITY;
    ck_assert_int_eq(ds2_spectrogram_compute(s, x, 400, out, 3, &err), DS2_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(err.msg, "123"));
    ds2_spectrogram_free(s);
    ds2_spectrogram_free(NULL);
}
END_TEST

struct job {
    const ds2_spectrogram *s;
    const float *x;
    size_t n;
    float *out;
    ds2_status st;
};

static void *run_job(void *arg)
{
    struct job *j = arg;
    int frames = ds2_spectrogram_frames(j->s, j->n);
    j->st = ds2_spectrogram_compute(j->s, j->x, j->n, j->out, frames, NULL);
    return NULL;
}

START_TEST(shared_between_threads)
{
    enum { THREADS = 4 };
    const size_t n = 24000;
    ds2_spectrogram *s = make(DS2_WINDOW_HAMMING, 1);
    int frames = ds2_spectrogram_frames(s, n);
    float *x[THREADS];
    struct job jobs[THREADS];
    pthread_t tid[THREADS];
    for (int i = 0; i < THREADS; i++) {
        x[i] = random_signal(n, 50 + i);
        jobs[i] = (struct job){s, x[i], n, malloc((size_t)BINS * frames * sizeof(float)), DS2_OK};
        ck_assert_int_eq(pthread_create(&tid[i], NULL, run_job, &jobs[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(tid[i], NULL);
    float *alone = malloc((size_t)BINS * frames * sizeof(float));
    for (int i = 0; i < THREADS; i++) {
        ck_assert_int_eq(jobs[i].st, DS2_OK);
        ck_assert_int_eq(ds2_spectrogram_compute(s, x[i], n, alone, frames, NULL), DS2_OK);
        ck_assert_mem_eq(alone, jobs[i].out, (size_t)BINS * frames * sizeof(float));
        free(jobs[i].out);
        free(x[i]);
    }
    free(alone);
    ds2_spectrogram_free(s);
}
END_TEST

/* ---------------------------------------------------------------- golden data */

#define GOLDEN_DIR "test/golden/"

/* Every utterance in golden.json: the wav through ds2_audio_load and the spectrogram must match
 * the numpy/librosa-semantics spectrogram tools/make-golden stored, within 1e-4. */
static void check_golden_utterance(const ds2_json_value *u)
{
    const ds2_json_value *wav = ds2_json_get(u, "wav"), *spect = ds2_json_get(u, "spect"),
                         *shape = ds2_json_get(u, "spect_shape");
    ck_assert(wav && spect && shape && shape->type == DS2_JSON_ARRAY && shape->count == 2);
    char path[512], msg[512];
    snprintf(path, sizeof path, GOLDEN_DIR "%s", wav->string);
    ds2_audio audio;
    ck_assert_msg(ds2_audio_load(path, 16000, &audio, msg, sizeof msg) == DS2_OK, "%s", msg);
    ds2_spect_config cfg = {16000, 320, 160, DS2_WINDOW_HAMMING, 1};
    ds2_spectrogram *s = NULL;
    ds2_err err;
    ck_assert_int_eq(ds2_spectrogram_create(&cfg, &s, &err), DS2_OK);
    int bins = ds2_spectrogram_bins(s), frames = ds2_spectrogram_frames(s, audio.n_samples);
    ck_assert_int_eq(bins, (int)shape->items[0].number);
    ck_assert_int_eq(frames, (int)shape->items[1].number);
    size_t count = (size_t)bins * frames;
    snprintf(path, sizeof path, GOLDEN_DIR "%s", spect->string);
    size_t bytes = 0;
    char *raw = test_read_file(path, &bytes);
    ck_assert_msg(raw && bytes == count * 4, "%s: %zu bytes, want %zu", path, bytes, count * 4);
    float *want = malloc(count * sizeof(float)), *got = malloc(count * sizeof(float));
    for (size_t i = 0; i < count; i++) { /* little-endian float32 */
        const unsigned char *b = (const unsigned char *)raw + 4 * i;
        uint32_t v =
            (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
        memcpy(&want[i], &v, 4);
    }
    ck_assert_msg(ds2_spectrogram_compute(s, audio.samples, audio.n_samples, got, frames, &err) ==
                      DS2_OK,
                  "%s", err.msg);
    double worst = 0.0;
    size_t where = 0;
    for (size_t i = 0; i < count; i++) {
        double d = fabs((double)got[i] - want[i]);
        if (!(d <= worst)) {
            worst = d;
            where = i;
        }
    }
    ck_assert_msg(worst <= 1e-4, "%s: max |diff| %.3g at bin %zu frame %zu (%.7g vs %.7g)",
                  wav->string, worst, where / frames, where % frames, got[where], want[where]);
    free(raw);
    free(want);
    free(got);
    ds2_audio_free(&audio);
    ds2_spectrogram_free(s);
}

START_TEST(golden_utterances)
{
    size_t n = 0;
    char *text = test_read_file(GOLDEN_DIR "golden.json", &n);
    ck_assert_msg(text != NULL, GOLDEN_DIR "golden.json missing (run from the repo root)");
    char msg[256];
    ds2_json_value *g = ds2_json_parse(text, n, msg, sizeof msg);
    ck_assert_msg(g != NULL, "golden.json: %s", msg);
    const ds2_json_value *utts = ds2_json_get(g, "utterances");
    ck_assert(utts && utts->type == DS2_JSON_OBJECT && utts->count >= 2);
    for (size_t i = 0; i < utts->count; i++)
        check_golden_utterance(&utts->items[i]);
    ds2_json_free(g);
    free(text);
}
END_TEST

static Suite *spectrogram_suite(void)
{
    Suite *s = suite_create("spectrogram");
    TCase *tc = tcase_create("stft");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, matches_naive_dft);
    tcase_add_test(tc, every_window_matches_naive_dft);
    tcase_add_test(tc, frame_count);
    tcase_add_test(tc, window_formulas);
    tcase_add_test(tc, window_names);
    tcase_add_test(tc, normalisation);
    tcase_add_test(tc, normalising_constant_input_fails);
    tcase_add_test(tc, bad_arguments);
    tcase_add_test(tc, shared_between_threads);
    tcase_add_test(tc, golden_utterances);
    suite_add_tcase(s, tc);
    return s;
}

DS2_CHECK_MAIN(spectrogram_suite)
