/* ds2_audio_load on files written at run time with libsndfile into a temporary directory. */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sndfile.h>

#include "audio/audio.h"
#include "check_main.h"
#include "ds2.h"

static char tmpdir[64];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/ds2_test_audio_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void remove_tmpdir(void)
{
    DIR *d = opendir(tmpdir);
    if (!d)
        return;
    struct dirent *e;
    char path[512];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", tmpdir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(tmpdir);
}

static const char *tmp_path(const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    return path;
}

static SNDFILE *open_for_write(const char *path, int format, int rate, int channels)
{
    SF_INFO info = {.samplerate = rate, .channels = channels, .format = format};
    SNDFILE *f = sf_open(path, SFM_WRITE, &info);
    ck_assert_msg(f != NULL, "cannot write %s: %s", path, sf_strerror(NULL));
    return f;
}

static void write_shorts(const char *path, int format, int rate, int channels, const short *pcm,
                         size_t frames)
{
    SNDFILE *f = open_for_write(path, format, rate, channels);
    ck_assert_int_eq(sf_writef_short(f, pcm, (sf_count_t)frames), (sf_count_t)frames);
    sf_close(f);
}

static void write_floats(const char *path, int format, int rate, int channels, const float *pcm,
                         size_t frames)
{
    SNDFILE *f = open_for_write(path, format, rate, channels);
    ck_assert_int_eq(sf_writef_float(f, pcm, (sf_count_t)frames), (sf_count_t)frames);
    sf_close(f);
}

static void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, n, f), n);
    fclose(f);
}

static short random_short(void)
{
    return (short)((rand() & 0xffff) - 32768);
}

/* Loads a file expected to fail with `want`, and checks the message and the cleared result. */
static void expect_failure(const char *path, int rate, ds2_status want)
{
    char msg[256] = "untouched";
    ds2_audio a = {(float *)1, 123, 7};
    ds2_status st = ds2_audio_load(path, rate, &a, msg, sizeof msg);
    ck_assert_msg(st == want, "%s: got %s (%s), want %s", path ? path : "NULL",
                  ds2_status_string(st), msg, ds2_status_string(want));
    ck_assert_msg(strlen(msg) > 0 && strcmp(msg, "untouched") != 0, "no message");
    ck_assert_ptr_null(a.samples);
    ck_assert_uint_eq(a.n_samples, 0);
}

START_TEST(mono_pcm16_exact)
{
    enum { N = 16001 };
    short *pcm = malloc(N * sizeof(short));
    for (int i = 0; i < N; i++)
        pcm[i] = random_short();
    pcm[0] = -32768;
    pcm[1] = 32767;
    write_shorts(tmp_path("mono.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, pcm, N);

    ds2_audio a;
    char msg[256];
    ck_assert_int_eq(ds2_audio_load(tmp_path("mono.wav"), 16000, &a, msg, sizeof msg), DS2_OK);
    ck_assert_str_eq(msg, "");
    ck_assert_int_eq(a.sample_rate, 16000);
    ck_assert_uint_eq(a.n_samples, N);
    for (int i = 0; i < N; i++)
        ck_assert_float_eq(a.samples[i], pcm[i] / 32768.0f);
    ds2_audio_free(&a);
    ck_assert_ptr_null(a.samples);
    free(pcm);
}
END_TEST

START_TEST(mono_float_exact)
{
    enum { N = 5000 };
    float *pcm = malloc(N * sizeof(float));
    for (int i = 0; i < N; i++)
        pcm[i] = (float)rand() / RAND_MAX * 2.0f - 1.0f;
    write_floats(tmp_path("f.wav"), SF_FORMAT_WAV | SF_FORMAT_FLOAT, 16000, 1, pcm, N);
    ds2_audio a;
    ck_assert_int_eq(ds2_audio_load(tmp_path("f.wav"), 16000, &a, NULL, 0), DS2_OK);
    ck_assert_uint_eq(a.n_samples, N);
    for (int i = 0; i < N; i++)
        ck_assert_float_eq(a.samples[i], pcm[i]);
    ds2_audio_free(&a);
    free(pcm);
}
END_TEST

/* Channels are averaged; with PCM inputs every term is exact in double, so the mean is too. */
static void check_average(const char *name, int format, int channels)
{
    enum { N = 9000 };
    short *pcm = malloc((size_t)N * channels * sizeof(short));
    for (int i = 0; i < N * channels; i++)
        pcm[i] = random_short();
    write_shorts(tmp_path(name), format, 16000, channels, pcm, N);
    ds2_audio a;
    ck_assert_int_eq(ds2_audio_load(tmp_path(name), 16000, &a, NULL, 0), DS2_OK);
    ck_assert_uint_eq(a.n_samples, N);
    for (int i = 0; i < N; i++) {
        double sum = 0.0;
        for (int c = 0; c < channels; c++)
            sum += pcm[i * channels + c] / 32768.0;
        ck_assert_float_eq(a.samples[i], (float)(sum / channels));
    }
    ds2_audio_free(&a);
    free(pcm);
}

START_TEST(stereo_wav_average)
{
    check_average("stereo.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 2);
}
END_TEST

START_TEST(stereo_flac_average)
{
    check_average("stereo.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 2);
}
END_TEST

START_TEST(six_channel_average)
{
    check_average("six.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 6);
}
END_TEST

/* Correlation of x with the ideal sine a*sin(2 pi f i / rate) over [lo, hi): returns the
 * least-squares amplitude in *amp and the normalised correlation. */
static double sine_fit(const float *x, size_t lo, size_t hi, double f, int rate, double *amp)
{
    double xy = 0, yy = 0, xx = 0;
    for (size_t i = lo; i < hi; i++) {
        double y = sin(2.0 * M_PI * f * (double)i / rate);
        xy += x[i] * y;
        yy += y * y;
        xx += (double)x[i] * x[i];
    }
    *amp = xy / yy;
    return xy / sqrt(xx * yy);
}

START_TEST(upsample_8k_sine)
{
    enum { N = 8000 };
    const double f = 440.0, amp_in = 0.5;
    float *pcm = malloc(N * sizeof(float));
    for (int i = 0; i < N; i++)
        pcm[i] = (float)(amp_in * sin(2.0 * M_PI * f * i / 8000.0));
    write_floats(tmp_path("s8k.wav"), SF_FORMAT_WAV | SF_FORMAT_FLOAT, 8000, 1, pcm, N);
    ds2_audio a;
    ck_assert_int_eq(ds2_audio_load(tmp_path("s8k.wav"), 16000, &a, NULL, 0), DS2_OK);
    ck_assert_int_eq(a.sample_rate, 16000);
    ck_assert_msg(labs((long)a.n_samples - 2 * N) <= 2, "got %zu samples for %d", a.n_samples, N);
    double amp;
    double r = sine_fit(a.samples, 1000, a.n_samples - 1000, f, 16000, &amp);
    ck_assert_msg(r > 0.99999, "correlation %.7f", r);
    ck_assert_msg(fabs(amp - amp_in) < 1e-3, "amplitude %.6f", amp);
    ds2_audio_free(&a);
    free(pcm);
}
END_TEST

/* 48 kHz -> 16 kHz keeps a 1 kHz tone and removes a 12 kHz one (above the new Nyquist) rather
 * than aliasing it to 4 kHz. */
START_TEST(downsample_is_band_limited)
{
    enum { N = 48000 };
    float *pcm = malloc(N * sizeof(float));
    for (int i = 0; i < N; i++)
        pcm[i] = (float)(0.4 * sin(2.0 * M_PI * 1000.0 * i / 48000.0) +
                         0.4 * sin(2.0 * M_PI * 12000.0 * i / 48000.0));
    write_floats(tmp_path("s48k.flac"), SF_FORMAT_FLAC | SF_FORMAT_PCM_24, 48000, 1, pcm, N);
    ds2_audio a;
    ck_assert_int_eq(ds2_audio_load(tmp_path("s48k.flac"), 16000, &a, NULL, 0), DS2_OK);
    ck_assert_msg(labs((long)a.n_samples - N / 3) <= 2, "got %zu samples", a.n_samples);
    double amp, alias_amp;
    double r = sine_fit(a.samples, 1000, a.n_samples - 1000, 1000.0, 16000, &amp);
    ck_assert_msg(r > 0.9999, "correlation with 1 kHz %.7f", r);
    ck_assert_msg(fabs(amp - 0.4) < 1e-3, "1 kHz amplitude %.6f", amp);
    sine_fit(a.samples, 1000, a.n_samples - 1000, 4000.0, 16000, &alias_amp);
    ck_assert_msg(fabs(alias_amp) < 1e-3, "4 kHz alias amplitude %.6f", alias_amp);
    ds2_audio_free(&a);
    free(pcm);
}
END_TEST

START_TEST(resample_same_rate_copies)
{
    const float in[3] = {0.25f, -0.5f, 1.0f};
    float *out = NULL;
    size_t n = 0;
    ds2_err err;
    ck_assert_int_eq(ds2_resample(in, 3, 16000, 16000, &out, &n, &err), DS2_OK);
    ck_assert_uint_eq(n, 3);
    ck_assert_mem_eq(out, in, sizeof in);
    free(out);
    ck_assert_int_eq(ds2_resample(in, 3, 16000, 10, &out, &n, &err), DS2_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(out);
    ck_assert_int_eq(ds2_resample(NULL, 3, 16000, 8000, &out, &n, &err), DS2_ERR_INVALID_ARGUMENT);
}
END_TEST

START_TEST(empty_file)
{
    write_shorts(tmp_path("empty.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, NULL, 0);
    expect_failure(tmp_path("empty.wav"), 16000, DS2_ERR_AUDIO_FORMAT);
}
END_TEST

START_TEST(text_named_wav)
{
    const char text[] = "this is not audio, just words in a file named like one\n";
    write_bytes(tmp_path("text.wav"), text, sizeof text - 1);
    expect_failure(tmp_path("text.wav"), 16000, DS2_ERR_AUDIO_FORMAT);
    write_bytes(tmp_path("zero.wav"), "", 0);
    expect_failure(tmp_path("zero.wav"), 16000, DS2_ERR_AUDIO_FORMAT);
}
END_TEST

START_TEST(missing_path)
{
    expect_failure(tmp_path("does-not-exist.wav"), 16000, DS2_ERR_IO);
    expect_failure(tmpdir, 16000, DS2_ERR_IO); /* a directory */
}
END_TEST

static size_t file_bytes(const char *path, unsigned char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

START_TEST(truncated_header)
{
    short pcm[1000] = {0};
    pcm[10] = 1000;
    write_shorts(tmp_path("full.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, pcm, 1000);
    unsigned char buf[4096];
    size_t n = file_bytes(tmp_path("full.wav"), buf, sizeof buf);
    ck_assert_uint_gt(n, 44);
    for (size_t keep = 4; keep < 44; keep += 6) {
        write_bytes(tmp_path("cut.wav"), buf, keep);
        expect_failure(tmp_path("cut.wav"), 16000, DS2_ERR_AUDIO_FORMAT);
    }
}
END_TEST

/* A data chunk cut short (the header promises more) loads what is there. */
START_TEST(truncated_data)
{
    short pcm[1000];
    for (int i = 0; i < 1000; i++)
        pcm[i] = (short)(i * 7);
    write_shorts(tmp_path("full.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, pcm, 1000);
    unsigned char buf[4096];
    size_t n = file_bytes(tmp_path("full.wav"), buf, sizeof buf);
    write_bytes(tmp_path("half.wav"), buf, n - 1000);
    ds2_audio a;
    char msg[256];
    ck_assert_int_eq(ds2_audio_load(tmp_path("half.wav"), 16000, &a, msg, sizeof msg), DS2_OK);
    ck_assert_uint_eq(a.n_samples, 500);
    for (size_t i = 0; i < a.n_samples; i++)
        ck_assert_float_eq(a.samples[i], pcm[i] / 32768.0f);
    ds2_audio_free(&a);
}
END_TEST

START_TEST(bad_arguments)
{
    short pcm[16] = {0};
    write_shorts(tmp_path("ok.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, pcm, 16);
    ds2_audio a;
    char msg[256];
    ck_assert_int_eq(ds2_audio_load(NULL, 16000, &a, msg, sizeof msg), DS2_ERR_INVALID_ARGUMENT);
    ck_assert_uint_gt(strlen(msg), 0);
    ck_assert_int_eq(ds2_audio_load(tmp_path("ok.wav"), 16000, NULL, msg, sizeof msg),
                     DS2_ERR_INVALID_ARGUMENT);
    ck_assert_uint_gt(strlen(msg), 0);
    expect_failure(tmp_path("ok.wav"), 0, DS2_ERR_INVALID_ARGUMENT);
    expect_failure(tmp_path("ok.wav"), -16000, DS2_ERR_INVALID_ARGUMENT);
    expect_failure(tmp_path("ok.wav"), 100000000, DS2_ERR_INVALID_ARGUMENT);
    /* NULL error buffer, and a tiny one that must still be NUL-terminated */
    ck_assert_int_eq(ds2_audio_load(NULL, 16000, &a, NULL, 100), DS2_ERR_INVALID_ARGUMENT);
    char tiny[8];
    memset(tiny, 'x', sizeof tiny);
    ck_assert_int_eq(ds2_audio_load(tmp_path("nope.wav"), 16000, &a, tiny, sizeof tiny),
                     DS2_ERR_IO);
    ck_assert_uint_eq(strlen(tiny), sizeof tiny - 1);
    ds2_audio_free(NULL);
    ds2_audio_free(&a);
}
END_TEST

START_TEST(too_many_channels)
{
    enum { CH = 65 };
    short pcm[CH * 4] = {0};
    SF_INFO info = {.samplerate = 16000, .channels = CH, .format = SF_FORMAT_AU | SF_FORMAT_PCM_16};
    SNDFILE *f = sf_open(tmp_path("wide.au"), SFM_WRITE, &info);
    ck_assert_msg(f != NULL, "libsndfile cannot write %d channels: %s", CH, sf_strerror(NULL));
    ck_assert_int_eq(sf_writef_short(f, pcm, 4), 4);
    sf_close(f);
    expect_failure(tmp_path("wide.au"), 16000, DS2_ERR_AUDIO_FORMAT);
}
END_TEST

START_TEST(status_strings)
{
    for (int s = DS2_OK; s <= DS2_ERR_UNSUPPORTED; s++) {
        const char *str = ds2_status_string((ds2_status)s);
        ck_assert_ptr_nonnull(str);
        ck_assert_str_ne(str, "unknown status");
        for (int t = DS2_OK; t < s; t++)
            ck_assert_str_ne(str, ds2_status_string((ds2_status)t));
    }
    ck_assert_str_eq(ds2_status_string((ds2_status)999), "unknown status");
}
END_TEST

/* A FIFO with no writer would block libsndfile's open forever; alarm() turns a hang into a
 * failure. */
START_TEST(fifo_refused_promptly)
{
    const char *fifo = tmp_path("speech.wav");
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    alarm(10);
    char msg[256];
    ds2_audio a;
    ck_assert_int_eq(ds2_audio_load(fifo, 16000, &a, msg, sizeof msg), DS2_ERR_IO);
    ck_assert_msg(strstr(msg, fifo) && strstr(msg, "not a regular file") && strstr(msg, "FIFO"),
                  "%s", msg);
    ck_assert_int_eq(ds2_audio_load("/dev/zero", 16000, &a, msg, sizeof msg), DS2_ERR_IO);
    ck_assert_msg(strstr(msg, "character device"), "%s", msg);
    alarm(0);
    unlink(fifo);
}
END_TEST

/* The reader behind ds2_audio_load (and ds2_run_file) downmixes and resamples piece by piece:
 * its samples are exactly those of the whole-signal path (every frame read, channels averaged,
 * ds2_resample over the whole mono signal), whatever the piece sizes a caller reads in. */
START_TEST(reader_equals_whole_signal)
{
    const char *files[] = {"test/golden/speech-8k-stereo.wav", "test/golden/speech.wav"};
    const int rates[] = {16000, 22050, 8000};
    for (int fi = 0; fi < 2; fi++)
        for (int ri = 0; ri < 3; ri++) {
            SF_INFO info = {0};
            SNDFILE *f = sf_open(files[fi], SFM_READ, &info);
            ck_assert_ptr_nonnull(f);
            size_t n = (size_t)info.frames, ch = (size_t)info.channels;
            float *frames = malloc(n * ch * sizeof *frames), *mono = malloc(n * sizeof *mono);
            ck_assert_int_eq(sf_readf_float(f, frames, info.frames), info.frames);
            sf_close(f);
            for (size_t i = 0; i < n; i++) {
                double sum = 0;
                for (size_t c = 0; c < ch; c++)
                    sum += frames[i * ch + c];
                mono[i] = (float)(sum / (double)ch);
            }
            float *want = NULL;
            size_t n_want = 0;
            ds2_err err = {{0}};
            ck_assert_int_eq(
                ds2_resample(mono, n, info.samplerate, rates[ri], &want, &n_want, &err), DS2_OK);
            ds2_audio a;
            char msg[256];
            ck_assert_int_eq(ds2_audio_load(files[fi], rates[ri], &a, msg, sizeof msg), DS2_OK);
            ck_assert_uint_eq(a.n_samples, n_want);
            ck_assert_mem_eq(a.samples, want, n_want * sizeof *want);
            const size_t pieces[] = {1, 7, 4097, 100000};
            float *got = malloc((n_want + 1) * sizeof *got);
            for (int pi = 0; pi < 4; pi++) {
                ds2_audio_reader *r = NULL;
                ck_assert_int_eq(ds2_audio_reader_open(files[fi], rates[ri], &r, &err), DS2_OK);
                size_t total = 0, k;
                do {
                    size_t ask = pieces[pi];
                    if (total + ask > n_want + 1)
                        ask = n_want + 1 - total;
                    ck_assert_int_eq(ds2_audio_reader_read(r, got + total, ask, &k, &err), DS2_OK);
                    total += k;
                    if (k < ask)
                        break;
                } while (total <= n_want);
                ck_assert_int_eq(ds2_audio_reader_read(r, got, 10, &k, &err), DS2_OK);
                ck_assert_uint_eq(k, 0); /* ended, and stays so */
                ds2_audio_reader_close(r);
                ck_assert_uint_eq(total, n_want);
                ck_assert_mem_eq(got, want, n_want * sizeof *want);
            }
            free(got);
            ds2_audio_free(&a);
            free(want);
            free(mono);
            free(frames);
        }
}
END_TEST

static Suite *audio_suite(void)
{
    Suite *s = suite_create("audio");
    TCase *tc = tcase_create("load");
    tcase_add_checked_fixture(tc, make_tmpdir, remove_tmpdir);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, mono_pcm16_exact);
    tcase_add_test(tc, mono_float_exact);
    tcase_add_test(tc, stereo_wav_average);
    tcase_add_test(tc, stereo_flac_average);
    tcase_add_test(tc, six_channel_average);
    tcase_add_test(tc, upsample_8k_sine);
    tcase_add_test(tc, downsample_is_band_limited);
    tcase_add_test(tc, resample_same_rate_copies);
    tcase_add_test(tc, reader_equals_whole_signal);
    tcase_add_test(tc, empty_file);
    tcase_add_test(tc, text_named_wav);
    tcase_add_test(tc, missing_path);
    tcase_add_test(tc, fifo_refused_promptly);
    tcase_add_test(tc, truncated_header);
    tcase_add_test(tc, truncated_data);
    tcase_add_test(tc, bad_arguments);
    tcase_add_test(tc, too_many_channels);
    tcase_add_test(tc, status_strings);
    suite_add_tcase(s, tc);
    return s;
}

DS2_CHECK_MAIN(audio_suite)
