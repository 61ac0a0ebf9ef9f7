/* ds2_run_file and default chunking: a file run gives ds2_audio_load + ds2_run's result bit for
 * bit (whole, chunked with gaps between chunks, resampled and downmixed, damaged files), long
 * utterances are chunked by default above DS2_DEFAULT_CHUNK_SECONDS (in memory and from a file,
 * alone and inside a batch), errors come back through the session, and a chunked file run's peak
 * memory does not grow with the file's length. */
#include <check.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sndfile.h>

#include "check_main.h"
#include "ds2.h"
#include "gguf_builder.h"
#include "test_random.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

static char tmpdir[64];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/ds2-test-run-file-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static const char *tmp_path(const char *name)
{
    static char path[2][256];
    static int k;
    k ^= 1;
    snprintf(path[k], sizeof path[k], "%s/%s", tmpdir, name);
    return path[k];
}

static void remove_tmpdir(void)
{
    const char *names[] = {"a.wav", "b.wav", "long.wav", "short.wav", "cut.wav", "fifo.wav", NULL};
    for (int i = 0; names[i]; i++)
        unlink(tmp_path(names[i]));
    rmdir(tmpdir);
}

static ds2_model *load_tiny(const char *type, int bidir)
{
    tiny_model_spec spec = {type, 12, 2, bidir, bidir ? 0 : 3, 3, 0, 11, NULL, NULL};
    size_t size;
    unsigned char *bytes = tiny_model_build(&spec, &size);
    char *path = test_write_temp(bytes, size, ".gguf");
    char err[512];
    ds2_model *m = NULL;
    ck_assert_msg(ds2_model_load(path, NULL, &m, err, sizeof err) == DS2_OK, "%s", err);
    unlink(path);
    free(path);
    free(bytes);
    return m;
}

static ds2_model *load_path(const char *path)
{
    char err[512];
    ds2_model *m = NULL;
    ck_assert_msg(ds2_model_load(path, NULL, &m, err, sizeof err) == DS2_OK, "%s", err);
    return m;
}

/* `seconds` of test_tone at 16 kHz written one second at a time (never held whole), as 16-bit
 * PCM (format) or float WAV. */
static void write_tone(const char *path, double seconds, int format, unsigned seed)
{
    SF_INFO info = {0};
    info.samplerate = 16000;
    info.channels = 1;
    info.format = SF_FORMAT_WAV | format;
    SNDFILE *f = sf_open(path, SFM_WRITE, &info);
    ck_assert_msg(f != NULL, "%s: %s", path, sf_strerror(NULL));
    size_t total = (size_t)(seconds * 16000);
    for (size_t done = 0, k = 0; done < total; k++) {
        size_t n = total - done < 16000 ? total - done : 16000;
        float *x = test_tone(n, seed + (unsigned)k);
        ck_assert_int_eq(sf_writef_float(f, x, (sf_count_t)n), (sf_count_t)n);
        free(x);
        done += n;
    }
    ck_assert_int_eq(sf_close(f), 0);
}

static void assert_same(const ds2_result *a, const ds2_result *b, const char *what)
{
    ck_assert_msg(a->n_frames == b->n_frames, "%s: %d vs %d frames", what, a->n_frames,
                  b->n_frames);
    ck_assert_msg(!strcmp(a->text, b->text), "%s: '%s' vs '%s'", what, a->text, b->text);
    ck_assert_msg(a->score == b->score, "%s: score %.17g vs %.17g", what, a->score, b->score);
    ck_assert_msg(
        !memcmp(a->probs, b->probs, (size_t)a->n_frames * (size_t)a->n_labels * sizeof(float)),
        "%s: probabilities differ", what);
}

/* ds2_run_file against ds2_audio_load + ds2_run on the same file and parameters. */
static void check_file_vs_memory(ds2_session *s, const ds2_model *m, const char *path,
                                 const ds2_run_params *rp, const char *what)
{
    ds2_model_info info;
    ds2_model_get_info(m, &info);
    char err[512];
    ds2_audio a;
    ck_assert_msg(ds2_audio_load(path, info.sample_rate, &a, err, sizeof err) == DS2_OK, "%s", err);
    ds2_utterance u = {a.samples, a.n_samples};
    ds2_result mem, file;
    ck_assert_msg(ds2_run(s, &u, 1, rp, &mem) == DS2_OK, "%s", ds2_session_error(s));
    ck_assert_msg(ds2_run_file(s, path, rp, &file) == DS2_OK, "%s", ds2_session_error(s));
    char label[256];
    snprintf(label, sizeof label, "%s, %s, chunk %g", what, path, rp->chunk_seconds);
    assert_same(&mem, &file, label);
    /* Without want_probs a chunked greedy run keeps each frame's best label instead of the
     * probabilities: the same text, score and words. */
    ds2_run_params lean = *rp;
    lean.want_probs = 0;
    ds2_result r;
    ck_assert_msg(ds2_run_file(s, path, &lean, &r) == DS2_OK, "%s", ds2_session_error(s));
    ck_assert_ptr_null(r.probs);
    ck_assert_int_eq(r.n_frames, mem.n_frames);
    ck_assert_int_eq(r.n_labels, mem.n_labels);
    ck_assert_msg(!strcmp(r.text, mem.text), "%s, no probs: '%s' vs '%s'", label, r.text, mem.text);
    ck_assert_msg(r.score == mem.score, "%s, no probs: score %.17g vs %.17g", label, r.score,
                  mem.score);
    ck_assert_int_eq(r.n_words, mem.n_words);
    for (int w = 0; w < r.n_words; w++) {
        ck_assert_str_eq(r.words[w].text, mem.words[w].text);
        ck_assert(r.words[w].start_s == mem.words[w].start_s);
        ck_assert(r.words[w].end_s == mem.words[w].end_s);
    }
    ds2_result_free(&r);
    ds2_result_free(&mem);
    ds2_result_free(&file);
    ds2_audio_free(&a);
}

/* Golden models and audio, fp32 and int8: whole runs (default and chunk_seconds < 0) and chunks
 * of several lengths, among them 1/3 s (5333.3 samples: upstream's slicing leaves one-sample gaps
 * that the file reader must skip) and chunks longer than the file. The 8 kHz stereo file is
 * downmixed and resampled piece by piece. */
START_TEST(file_equals_memory)
{
    const char *models[] = {"test/golden/bilstm.gguf", "test/golden/unilstm.gguf"};
    const char *files[] = {"test/golden/speech.wav", "test/golden/speech-8k-stereo.wav",
                           "test/golden/short.wav"};
    const double chunks[] = {0, -1, 0.5, 1.0 / 3.0, 1.0, 10};
    for (int mi = 0; mi < 2; mi++) {
        ds2_model *m = load_path(models[mi]);
        for (int prec = 0; prec < 2; prec++) {
            ds2_session_params sp = ds2_session_default_params();
            sp.precision = prec ? DS2_PRECISION_INT8 : DS2_PRECISION_FP32;
            ds2_session *s = NULL;
            ck_assert_int_eq(ds2_session_create(m, &sp, &s, NULL, 0), DS2_OK);
            for (int fi = 0; fi < 3; fi++)
                for (int ci = 0; ci < 6; ci++) {
                    ds2_run_params rp = ds2_run_default_params();
                    rp.want_probs = 1;
                    rp.want_timestamps = 1;
                    rp.chunk_seconds = chunks[ci];
                    check_file_vs_memory(s, m, files[fi], &rp, models[mi]);
                }
            ds2_run_params rp = ds2_run_default_params();
            rp.want_probs = 1;
            rp.decoder = DS2_DECODER_BEAM;
            rp.chunk_seconds = 0.5;
            check_file_vs_memory(s, m, files[0], &rp, "beam");
            ds2_session_free(s);
        }
        ds2_model_free(m);
    }
}
END_TEST

/* A file whose header promises more frames than it holds: both paths keep what can be read. */
START_TEST(damaged_file_equals_memory)
{
    write_tone(tmp_path("cut.wav"), 3.0, SF_FORMAT_PCM_16, 3);
    struct stat sb;
    ck_assert_int_eq(stat(tmp_path("cut.wav"), &sb), 0);
    ck_assert_int_eq(truncate(tmp_path("cut.wav"), sb.st_size / 2 + 1), 0);
    ds2_model *m = load_path("test/golden/unilstm.gguf");
    ds2_session *s = NULL;
    ck_assert_int_eq(ds2_session_create(m, NULL, &s, NULL, 0), DS2_OK);
    ds2_audio a;
    char err[256];
    ck_assert_int_eq(ds2_audio_load(tmp_path("cut.wav"), 16000, &a, err, sizeof err), DS2_OK);
    ck_assert_uint_lt(a.n_samples, 3 * 16000 / 2 + 16);
    ds2_audio_free(&a);
    const double chunks[] = {0, 0.25, 0.7, 2.0};
    for (int ci = 0; ci < 4; ci++) {
        ds2_run_params rp = ds2_run_default_params();
        rp.want_probs = 1;
        rp.chunk_seconds = chunks[ci];
        check_file_vs_memory(s, m, tmp_path("cut.wav"), &rp, "truncated");
    }
    ds2_session_free(s);
    ds2_model_free(m);
}
END_TEST

/* Default chunking: an utterance longer than DS2_DEFAULT_CHUNK_SECONDS runs in chunks of that
 * length (the same as asking for them), one of exactly that length runs whole, chunk_seconds < 0
 * forces a whole run; in a batch the long one is chunked and the others keep their batch-1
 * results. The output frame counts tell chunked from whole: 60 s + 1 s chunks give 3001 + 51
 * frames, the whole 61 s 3051. */
START_TEST(long_audio_chunked_by_default)
{
    ds2_model *m = load_tiny("lstm", 1);
    ds2_session *s = NULL;
    ck_assert_int_eq(ds2_session_create(m, NULL, &s, NULL, 0), DS2_OK);
    const size_t rate = 16000, n = 61 * rate, n60 = (size_t)DS2_DEFAULT_CHUNK_SECONDS * rate;
    float *x = test_tone(n, 21);
    ds2_utterance u = {x, n};
    ds2_run_params rp = ds2_run_default_params();
    rp.want_probs = 1;
    ds2_result def, asked, whole;
    ck_assert_msg(ds2_run(s, &u, 1, &rp, &def) == DS2_OK, "%s", ds2_session_error(s));
    rp.chunk_seconds = DS2_DEFAULT_CHUNK_SECONDS;
    ck_assert_int_eq(ds2_run(s, &u, 1, &rp, &asked), DS2_OK);
    rp.chunk_seconds = -1;
    ck_assert_int_eq(ds2_run(s, &u, 1, &rp, &whole), DS2_OK);
    ck_assert_int_eq(def.n_frames, 3001 + 51);
    ck_assert_int_eq(whole.n_frames, 3051);
    assert_same(&def, &asked, "default vs 60 s chunks");
    ds2_result_free(&asked);
    ds2_result_free(&whole);

    /* exactly 60 s: whole */
    ds2_utterance u60 = {x, n60};
    rp.chunk_seconds = 0;
    ck_assert_int_eq(ds2_run(s, &u60, 1, &rp, &asked), DS2_OK);
    rp.chunk_seconds = -1;
    ck_assert_int_eq(ds2_run(s, &u60, 1, &rp, &whole), DS2_OK);
    ck_assert_int_eq(whole.n_frames, 3001);
    assert_same(&asked, &whole, "60 s default vs whole");
    ds2_result_free(&asked);
    ds2_result_free(&whole);

    /* in a batch: short, long, short */
    ds2_utterance batch[3] = {{x + 5 * rate, 2 * rate}, {x, n}, {x + 9 * rate, rate + 77}};
    ds2_result out[3], alone;
    rp.chunk_seconds = 0;
    ck_assert_msg(ds2_run(s, batch, 3, &rp, out) == DS2_OK, "%s", ds2_session_error(s));
    assert_same(&out[1], &def, "long one in a batch");
    for (int b = 0; b < 3; b += 2) {
        ck_assert_int_eq(ds2_run(s, &batch[b], 1, &rp, &alone), DS2_OK);
        assert_same(&out[b], &alone, "short one in a batch");
        ds2_result_free(&alone);
    }
    for (int b = 0; b < 3; b++)
        ds2_result_free(&out[b]);

    /* from a file: the default reads 60 s + 1 sample to decide, then chunk by chunk */
    SF_INFO info = {0};
    info.samplerate = 16000;
    info.channels = 1;
    info.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
    SNDFILE *f = sf_open(tmp_path("long.wav"), SFM_WRITE, &info);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(sf_writef_float(f, x, (sf_count_t)n), (sf_count_t)n);
    sf_close(f);
    ds2_result file;
    ck_assert_msg(ds2_run_file(s, tmp_path("long.wav"), &rp, &file) == DS2_OK, "%s",
                  ds2_session_error(s));
    assert_same(&file, &def, "61 s file, default");
    ds2_result_free(&file);
    rp.chunk_seconds = -1;
    check_file_vs_memory(s, m, tmp_path("long.wav"), &rp, "61 s file, whole");
    rp.chunk_seconds = 7;
    check_file_vs_memory(s, m, tmp_path("long.wav"), &rp, "61 s file, 7 s chunks");
    ds2_result_free(&def);
    free(x);
    ds2_session_free(s);
    ds2_model_free(m);
}
END_TEST

static void on_alarm(int sig)
{
    (void)sig;
    _exit(3); /* a blocking open would hang here: fail the test */
}

/* Errors come back through ds2_session_error with the audio reader's messages; a FIFO is
 * refused at once. */
START_TEST(file_errors)
{
    ds2_model *m = load_tiny("gru", 0);
    ds2_session *s = NULL;
    ck_assert_int_eq(ds2_session_create(m, NULL, &s, NULL, 0), DS2_OK);
    ds2_result r;
    ck_assert_int_eq(ds2_run_file(NULL, "x.wav", NULL, &r), DS2_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ds2_run_file(s, NULL, NULL, &r), DS2_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(ds2_session_error(s), "path"));
    ck_assert_int_eq(ds2_run_file(s, "x.wav", NULL, NULL), DS2_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ds2_run_file(s, tmp_path("none.wav"), NULL, &r), DS2_ERR_IO);
    ck_assert_ptr_nonnull(strstr(ds2_session_error(s), "none.wav"));
    ck_assert_ptr_null(r.text);
    ck_assert_int_eq(ds2_run_file(s, "test/golden/bigru.gguf", NULL, &r), DS2_ERR_AUDIO_FORMAT);
    ck_assert_ptr_nonnull(strstr(ds2_session_error(s), "bigru.gguf"));
    ds2_run_params rp = ds2_run_default_params();
    rp.chunk_seconds = NAN;
    ck_assert_int_eq(ds2_run_file(s, "test/golden/speech.wav", &rp, &r), DS2_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(ds2_session_error(s), "chunk_seconds"));
    rp.chunk_seconds = 1e-5; /* below one sample */
    ck_assert_int_eq(ds2_run_file(s, "test/golden/speech.wav", &rp, &r), DS2_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(ds2_session_error(s), "below one sample"));
    ck_assert_int_eq(mkfifo(tmp_path("fifo.wav"), 0600), 0);
    signal(SIGALRM, on_alarm);
    alarm(10);
    ck_assert_int_eq(ds2_run_file(s, tmp_path("fifo.wav"), NULL, &r), DS2_ERR_IO);
    alarm(0);
    ck_assert_ptr_nonnull(strstr(ds2_session_error(s), "FIFO"));
    /* the session still works */
    ck_assert_int_eq(ds2_run_file(s, "test/golden/speech.wav", NULL, &r), DS2_OK);
    ck_assert_str_eq(ds2_session_error(s), "");
    ds2_result_free(&r);
    ds2_session_free(s);
    ds2_model_free(m);
}
END_TEST

/* Peak resident memory since the last reset, in KiB: VmHWM, reset by writing 5 to
 * /proc/self/clear_refs (Linux >= 4.0). -1 when either is unavailable. */
static long reset_peak(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (!f)
        return -1;
    int ok = fputs("5", f) >= 0;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static long peak_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    long kib = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

/* A chunked file run's peak memory does not grow with the file's length: the peak of a default
 * run over a 10 min file is within 4 MiB of the peak over a 2 min one (the difference is the
 * output: 8 min of best labels, 96 KB, and the text; here about 0.3 MiB). The measurement is shown
 * to see what it should: loading the 10 min file whole (38 MB of samples) raises the peak by more
 * than 30 MiB. Peaks are the kernel's (VmHWM), not times. Under ASan (quarantined frees) only the
 * runs are checked. */
START_TEST(memory_does_not_grow_with_length)
{
    write_tone(tmp_path("short.wav"), 120, SF_FORMAT_PCM_16, 100);
    write_tone(tmp_path("long.wav"), 600, SF_FORMAT_PCM_16, 200);
    ds2_model *m = load_tiny("lstm", 1);
    ds2_session *s = NULL;
    ck_assert_int_eq(ds2_session_create(m, NULL, &s, NULL, 0), DS2_OK);
    ds2_result r;
    long peak[2];
    const char *paths[2] = {tmp_path("short.wav"), tmp_path("long.wav")};
    for (int i = 0; i < 2; i++) {
        int can = reset_peak() == 0;
        ck_assert_msg(ds2_run_file(s, paths[i], NULL, &r) == DS2_OK, "%s", ds2_session_error(s));
        peak[i] = can ? peak_kib() : -1;
        ck_assert_int_eq(r.n_frames, i ? 10 * 3001 : 2 * 3001);
        ds2_result_free(&r);
    }
    if (UNDER_ASAN || peak[0] < 0 || peak[1] < 0) {
        printf("skipped: %s: peak RSS not measured (%s)\n", __func__,
               UNDER_ASAN ? "ASan" : "no VmHWM reset");
    } else {
        printf("%s: peak RSS 2 min %ld KiB, 10 min %ld KiB\n", __func__, peak[0], peak[1]);
        ck_assert_msg(peak[1] - peak[0] < 4 * 1024, "10 min peaks %ld KiB above 2 min",
                      peak[1] - peak[0]);
        ck_assert_int_eq(reset_peak(), 0);
        long before = peak_kib();
        ds2_audio a;
        ck_assert_int_eq(ds2_audio_load(paths[1], 16000, &a, NULL, 0), DS2_OK);
        for (size_t i = 0; i < a.n_samples; i += 1024) /* resident, not just reserved */
            ck_assert(isfinite(a.samples[i]));
        long loaded = peak_kib() - before;
        ds2_audio_free(&a);
        ck_assert_msg(loaded > 30 * 1024, "loading 10 min raised the peak by only %ld KiB", loaded);
    }
    ds2_session_free(s);
    ds2_model_free(m);
}
END_TEST

static Suite *run_file_suite(void)
{
    Suite *s = suite_create("run_file");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, make_tmpdir, remove_tmpdir);
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, file_equals_memory);
    tcase_add_test(tc, damaged_file_equals_memory);
    tcase_add_test(tc, long_audio_chunked_by_default);
    tcase_add_test(tc, file_errors);
    tcase_add_test(tc, memory_does_not_grow_with_length);
    suite_add_tcase(s, tc);
    return s;
}

DS2_CHECK_MAIN(run_file_suite)
