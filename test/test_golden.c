/* End to end against PyTorch: every case in test/golden/golden.json (made by tools/make-golden
 * from deepspeech.pytorch's module structure) through the public API — audio file, spectrogram,
 * forward, softmax, greedy decoding — single, batched and chunked. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "ds2.h"
#include "json_min.h"
#include "test_files.h"

#define GOLDEN_DIR "test/golden/"

static ds2_json_value *golden;

static void load_golden(void)
{
    size_t n;
    char *text = test_read_file(GOLDEN_DIR "golden.json", &n);
    ck_assert_msg(text != NULL, "cannot read " GOLDEN_DIR "golden.json (run from the repo root)");
    char err[256];
    golden = ds2_json_parse(text, n, err, sizeof err);
    ck_assert_msg(golden != NULL, "golden.json: %s", err);
    free(text);
}

static const char *str(const ds2_json_value *o, const char *key)
{
    const ds2_json_value *v = ds2_json_get(o, key);
    ck_assert_msg(v && v->type == DS2_JSON_STRING, "golden.json: missing string '%s'", key);
    return v->string;
}

static double num(const ds2_json_value *o, const char *key)
{
    const ds2_json_value *v = ds2_json_get(o, key);
    ck_assert_msg(v && v->type == DS2_JSON_NUMBER, "golden.json: missing number '%s'", key);
    return v->number;
}

static ds2_audio load_wav(const char *name)
{
    char path[512], err[256];
    snprintf(path, sizeof path, GOLDEN_DIR "%s", name);
    ds2_audio a;
    ck_assert_msg(ds2_audio_load(path, 16000, &a, err, sizeof err) == DS2_OK, "%s", err);
    return a;
}

static ds2_audio load_utterance(const char *utt)
{
    const ds2_json_value *u = ds2_json_get(ds2_json_get(golden, "utterances"), utt);
    ck_assert_msg(u != NULL, "unknown utterance %s", utt);
    ds2_audio a = load_wav(str(u, "wav"));
    ck_assert_int_eq(a.n_samples, (size_t)num(u, "samples"));
    return a;
}

/* Upstream's transcript as libds2 gives it for a chunked run (ds2.h, ds2_run_params): runs of
 * spaces collapsed, none leading or trailing. Into out (cap bytes). */
static void tidy_spaces(const char *in, char *out, size_t cap)
{
    size_t w = 0;
    for (size_t r = 0; in[r] && w + 1 < cap; r++)
        if (in[r] != ' ' || (w > 0 && out[w - 1] != ' '))
            out[w++] = in[r];
    while (w > 0 && out[w - 1] == ' ')
        w--;
    out[w] = '\0';
}

/* Runs one golden case with the given precision and thread count; returns max |diff|. */
static double run_case(const ds2_json_value *c, ds2_precision precision, int threads,
                       int *transcript_equal)
{
    const char *mode = str(c, "mode"), *utt = str(c, "utterance");
    char path[512], err[512];
    snprintf(path, sizeof path, GOLDEN_DIR "%s", str(c, "gguf"));
    ds2_model *m = NULL;
    ck_assert_msg(ds2_model_load(path, NULL, &m, err, sizeof err) == DS2_OK, "%s", err);
    ds2_session_params sp = ds2_session_default_params();
    sp.precision = precision;
    sp.n_threads = threads;
    ds2_session *s = NULL;
    ck_assert_int_eq(ds2_session_create(m, &sp, &s, NULL, 0), DS2_OK);
    ds2_run_params rp = ds2_run_default_params();
    rp.want_probs = 1;
    ds2_audio audio[2];
    int n_audio = 1, index = 0;
    if (!strcmp(mode, "batch")) {
        const ds2_json_value *b = ds2_json_get(c, "batch");
        ck_assert(b && b->type == DS2_JSON_ARRAY && b->count == 2);
        for (int i = 0; i < 2; i++)
            audio[i] = load_utterance(b->items[i].string);
        n_audio = 2;
        index = (int)num(c, "batch_index");
    } else {
        audio[0] = load_utterance(utt);
        if (!strcmp(mode, "chunked"))
            rp.chunk_seconds = num(c, "chunk_seconds");
    }
    ds2_utterance u[2];
    for (int i = 0; i < n_audio; i++)
        u[i] = (ds2_utterance){audio[i].samples, audio[i].n_samples};
    ds2_result r[2];
    ck_assert_msg(ds2_run(s, u, n_audio, &rp, r) == DS2_OK, "%s", ds2_session_error(s));
    const int frames = (int)num(c, "frames"), labels = (int)num(c, "n_labels");
    ck_assert_int_eq(r[index].n_frames, frames);
    ck_assert_int_eq(r[index].n_labels, labels);
    size_t n = (size_t)frames * (size_t)labels, bytes;
    snprintf(path, sizeof path, GOLDEN_DIR "%s", str(c, "probs"));
    float *want = (float *)test_read_file(path, &bytes);
    ck_assert_msg(want && bytes == n * sizeof(float), "bad golden probs %s", path);
    double worst = 0;
    for (size_t i = 0; i < n; i++)
        worst = fmax(worst, fabs((double)r[index].probs[i] - want[i]));
    char want_text[4096];
    if (!strcmp(mode, "chunked"))
        tidy_spaces(str(c, "transcript"), want_text, sizeof want_text);
    else
        snprintf(want_text, sizeof want_text, "%s", str(c, "transcript"));
    *transcript_equal = !strcmp(r[index].text, want_text);
    free(want);
    for (int i = 0; i < n_audio; i++) {
        ds2_result_free(&r[i]);
        ds2_audio_free(&audio[i]);
    }
    ds2_session_free(s);
    ds2_model_free(m);
    return worst;
}

static int model_is_int8(const ds2_json_value *c)
{
    const ds2_json_value *model = ds2_json_get(ds2_json_get(golden, "models"), str(c, "model"));
    return !strcmp(str(model, "weights"), "int8");
}

START_TEST(fp32_matches_pytorch)
{
    load_golden();
    const ds2_json_value *cases = ds2_json_get(golden, "cases");
    int ran = 0;
    for (size_t i = 0; i < cases->count; i++) {
        const ds2_json_value *c = &cases->items[i];
        if (model_is_int8(c))
            continue;
        int same;
        double d = run_case(c, DS2_PRECISION_FP32, 1 + (int)(i % 2), &same);
        ck_assert_msg(d <= num(c, "abs_tol"), "%s %s %s: max |diff| %g > %g", str(c, "model"),
                      str(c, "mode"), str(c, "utterance"), d, num(c, "abs_tol"));
        ck_assert_msg(same, "%s %s %s: transcript differs", str(c, "model"), str(c, "mode"),
                      str(c, "utterance"));
        ran++;
    }
    ck_assert_int_ge(ran, 20);
    ds2_json_free(golden);
}
END_TEST

START_TEST(int8_close_to_pytorch_fp32)
{
    load_golden();
    const ds2_json_value *cases = ds2_json_get(golden, "cases");
    int ran = 0;
    for (size_t i = 0; i < cases->count; i++) {
        const ds2_json_value *c = &cases->items[i];
        int same;
        /* Pre-quantized files, and f32 files quantized at load: both within the int8 bound. */
        double d = run_case(c, DS2_PRECISION_INT8, 2, &same);
        double tol = model_is_int8(c) ? num(c, "abs_tol") : 0.25;
        ck_assert_msg(d <= tol, "int8 %s %s %s: max |diff| %g > %g", str(c, "model"),
                      str(c, "mode"), str(c, "utterance"), d, tol);
        ran++;
    }
    ck_assert_int_ge(ran, 25);
    ds2_json_free(golden);
}
END_TEST

START_TEST(resampled_stereo_input)
{
    load_golden();
    /* 8 kHz stereo made by sox from speech.wav: downmixed and resampled back to 16 kHz it must
     * give the same number of frames and a transcript of the same model. */
    ds2_audio a = load_wav("speech-8k-stereo.wav");
    ck_assert_int_eq(a.sample_rate, 16000);
    ck_assert_msg(labs((long)a.n_samples - 28000) <= 2, "%zu samples", a.n_samples);
    char err[512];
    ds2_model *m = NULL;
    ck_assert_msg(ds2_model_load(GOLDEN_DIR "bigru.gguf", NULL, &m, err, sizeof err) == DS2_OK,
                  "%s", err);
    ds2_session *s = NULL;
    ck_assert_int_eq(ds2_session_create(m, NULL, &s, NULL, 0), DS2_OK);
    ds2_utterance u = {a.samples, a.n_samples};
    ds2_result r;
    ck_assert_int_eq(ds2_run(s, &u, 1, NULL, &r), DS2_OK);
    ck_assert_int_eq(r.n_frames, 88);
    ck_assert_ptr_nonnull(r.text);
    ds2_result_free(&r);
    ds2_session_free(s);
    ds2_model_free(m);
    ds2_audio_free(&a);
    ds2_json_free(golden);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("golden");
    TCase *tc = tcase_create("pytorch");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, fp32_matches_pytorch);
    tcase_add_test(tc, int8_close_to_pytorch_fp32);
    tcase_add_test(tc, resampled_stereo_input);
    suite_add_tcase(s, tc);
    return s;
}

DS2_CHECK_MAIN(make_suite)
