/* Session and run API: parameter validation, batch-invariance (an utterance's output is the
 * same alone or in any batch), chunked runs, and bad audio — on tiny random models of every
 * RNN variant. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "decode/ctc_greedy.h"
#include "ds2.h"
#include "gguf_builder.h"
#include "test_random.h"

static ds2_model *load_spec(const tiny_model_spec *s)
{
    size_t size;
    unsigned char *bytes = tiny_model_build(s, &size);
    char *path = test_write_temp(bytes, size, ".gguf");
    char err[512];
    ds2_model *m = NULL;
    ck_assert_msg(ds2_model_load(path, NULL, &m, err, sizeof err) == DS2_OK, "%s", err);
    unlink(path);
    free(path);
    free(bytes);
    return m;
}

static ds2_model *load_tiny(const char *type, int bidir, int int8)
{
    tiny_model_spec s = {type, 12, 2, bidir, bidir ? 0 : 3, 3, int8, 11, NULL, NULL};
    return load_spec(&s);
}

static double max_abs_diff(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs((double)a[i] - b[i]));
    return m;
}

START_TEST(bad_parameters)
{
    ds2_model *m = load_tiny("gru", 1, 0);
    ds2_session *s = (ds2_session *)1;
    char err[256];
    ds2_session_params p = ds2_session_default_params();
    p.n_threads = 0;
    ck_assert_int_eq(ds2_session_create(m, &p, &s, err, sizeof err), DS2_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(s);
    ck_assert_msg(strstr(err, "threads 0") != NULL, "%s", err);
    p = ds2_session_default_params();
    p.precision = (ds2_precision)7;
    ck_assert_int_eq(ds2_session_create(m, &p, &s, NULL, 0), DS2_ERR_INVALID_ARGUMENT);
    p = ds2_session_default_params();
    p.fp32_convs = 2;
    ck_assert_int_eq(ds2_session_create(m, &p, &s, NULL, 0), DS2_ERR_INVALID_ARGUMENT);
    p = ds2_session_default_params();
    p.device = DS2_DEVICE_GPU;
    p.precision = DS2_PRECISION_INT8;
    ck_assert_int_eq(ds2_session_create(m, &p, &s, err, sizeof err), DS2_ERR_UNSUPPORTED);
    ck_assert_str_eq(err, "no backend for int8 on the GPU");
    ck_assert_int_eq(ds2_session_create(NULL, NULL, &s, err, sizeof err), DS2_ERR_INVALID_ARGUMENT);
    ck_assert(strlen(err) > 0);

    ck_assert_int_eq(ds2_session_create(m, NULL, &s, err, sizeof err), DS2_OK);
    ck_assert_str_eq(err, "");
    ds2_result r;
    float x[1600] = {0};
    ds2_utterance u = {x, 1600};
    ck_assert_int_eq(ds2_run(s, NULL, 1, NULL, &r), DS2_ERR_INVALID_ARGUMENT);
    ck_assert(strlen(ds2_session_error(s)) > 0);
    ck_assert_int_eq(ds2_run(s, &u, 0, NULL, &r), DS2_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ds2_run(s, &u, 1, NULL, NULL), DS2_ERR_INVALID_ARGUMENT);
    ds2_run_params rp = ds2_run_default_params();
    rp.chunk_seconds = 1e7; /* (< 0 is valid: never chunk) */
    ck_assert_int_eq(ds2_run(s, &u, 1, &rp, &r), DS2_ERR_INVALID_ARGUMENT);
    rp.chunk_seconds = -INFINITY;
    ck_assert_int_eq(ds2_run(s, &u, 1, &rp, &r), DS2_ERR_INVALID_ARGUMENT);
    rp.chunk_seconds = NAN;
    ck_assert_int_eq(ds2_run(s, &u, 1, &rp, &r), DS2_ERR_INVALID_ARGUMENT);
    ds2_utterance bad = {NULL, 100};
    ck_assert_int_eq(ds2_run(s, &bad, 1, NULL, &r), DS2_ERR_INVALID_ARGUMENT);
    /* Silence and empty audio cannot be normalised: an error, not NaNs or a crash. */
    ck_assert_int_ne(ds2_run(s, &u, 1, NULL, &r), DS2_OK);
    ck_assert(strlen(ds2_session_error(s)) > 0);
    ds2_utterance empty = {x, 0};
    ck_assert_int_ne(ds2_run(s, &empty, 1, NULL, &r), DS2_OK);
    ds2_session_free(s);
    ds2_model_free(m);
}
END_TEST

START_TEST(gpu_request_is_clear)
{
    ds2_model *m = load_tiny("lstm", 1, 0);
    ds2_session_params p = ds2_session_default_params();
    p.device = DS2_DEVICE_GPU;
    ds2_session *s = NULL;
    char err[512];
    ds2_status st = ds2_session_create(m, &p, &s, err, sizeof err);
    ck_assert(st == DS2_OK || st == DS2_ERR_NOT_BUILT || st == DS2_ERR_NO_DEVICE);
    /* The reason reaches the caller, not only the log: "gpu-fp32: built without CUDA ...". */
    if (st != DS2_OK)
        ck_assert_msg(strncmp(err, "gpu-fp32: ", 10) == 0 && strlen(err) > 10, "%s", err);
    ds2_session_free(s);
    ds2_model_free(m);
}
END_TEST

/* Runs utterances of different lengths alone and in a (shuffled-length) batch. */
static void check_batch_invariance(const char *type, int bidir, int int8, int threads, double tol)
{
    ds2_model *m = load_tiny(type, bidir, int8);
    ds2_session_params p = ds2_session_default_params();
    p.precision = int8 ? DS2_PRECISION_INT8 : DS2_PRECISION_FP32;
    p.n_threads = threads;
    ds2_session *s = NULL;
    ck_assert_int_eq(ds2_session_create(m, &p, &s, NULL, 0), DS2_OK);
    const size_t lens[4] = {4000, 9100, 161, 7000};
    ds2_utterance u[4];
    float *audio[4];
    for (int i = 0; i < 4; i++) {
        audio[i] = test_tone(lens[i], 100 + i);
        u[i] = (ds2_utterance){audio[i], lens[i]};
    }
    ds2_run_params rp = ds2_run_default_params();
    rp.want_probs = 1;
    ds2_result alone[4], batch[4];
    for (int i = 0; i < 4; i++)
        ck_assert_msg(ds2_run(s, &u[i], 1, &rp, &alone[i]) == DS2_OK, "%s", ds2_session_error(s));
    ck_assert_msg(ds2_run(s, u, 4, &rp, batch) == DS2_OK, "%s", ds2_session_error(s));
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(alone[i].n_frames, batch[i].n_frames);
        ck_assert_int_eq(alone[i].n_labels, 29);
        int frames = ((int)(lens[i] / 160) + 1 - 1) / 2 + 1;
        ck_assert_int_eq(alone[i].n_frames, frames);
        size_t n = (size_t)frames * 29;
        double d = max_abs_diff(alone[i].probs, batch[i].probs, n);
        ck_assert_msg(d <= tol, "%s bidir=%d int8=%d utt %d: batch vs alone differ by %g", type,
                      bidir, int8, i, d);
        for (int t = 0; t < frames; t++) {
            double sum = 0;
            for (int k = 0; k < 29; k++)
                sum += alone[i].probs[(size_t)t * 29 + k];
            ck_assert_msg(fabs(sum - 1) < 1e-4, "softmax row sums to %g", sum);
        }
        ck_assert_str_eq(alone[i].text, batch[i].text);
        ds2_result_free(&alone[i]);
        ds2_result_free(&batch[i]);
        free(audio[i]);
    }
    ds2_session_free(s);
    ds2_model_free(m);
}

START_TEST(batch_equals_alone_fp32)
{
    const char *types[] = {"lstm", "gru", "rnn"};
    for (int t = 0; t < 3; t++)
        for (int bidir = 0; bidir < 2; bidir++)
            check_batch_invariance(types[t], bidir, 0, 1 + (t % 2), 1e-5);
}
END_TEST

START_TEST(batch_int8_invariant)
{
    /* Activations are quantized per row (per utterance and frame), so batching changes
     * nothing: int8 is batch-invariant too, unlike PyTorch's per-tensor quantize_dynamic. */
    check_batch_invariance("lstm", 1, 1, 2, 1e-6);
    check_batch_invariance("rnn", 0, 1, 2, 1e-6);
    check_batch_invariance("gru", 0, 0, 1, 1e-5);
}
END_TEST

/* Each recurrent step splits its hidden units over the session's threads (lib/cpu_rnn_split.c)
 * and the big products run in fixed blocks (lib/cpu_blas.c); every output's arithmetic is the
 * same for any split, so probabilities must be bit-identical for 1, 2 and 3 threads, fp32 and
 * int8 — for H = 48 (whole 16-column blocks) and H = 40 (a partial last block in every gate),
 * every cell type, both directions, batched. */
static void check_threads_identical(const char *type, int hidden, int bidir, int int8)
{
    tiny_model_spec spec = {type, hidden, 2, bidir, bidir ? 0 : 3, 3, int8, 21, NULL, NULL};
    ds2_model *m = load_spec(&spec);
    const size_t lens[3] = {9000, 3100, 6400};
    ds2_utterance u[3];
    float *audio[3];
    for (int i = 0; i < 3; i++) {
        audio[i] = test_tone(lens[i], 300 + i);
        u[i] = (ds2_utterance){audio[i], lens[i]};
    }
    ds2_run_params rp = ds2_run_default_params();
    rp.want_probs = 1;
    ds2_result ref[3];
    for (int threads = 1; threads <= 3; threads++) {
        ds2_session_params p = ds2_session_default_params();
        p.precision = int8 ? DS2_PRECISION_INT8 : DS2_PRECISION_FP32;
        p.n_threads = threads;
        ds2_session *s = NULL;
        ck_assert_int_eq(ds2_session_create(m, &p, &s, NULL, 0), DS2_OK);
        ds2_result r[3];
        ck_assert_msg(ds2_run(s, u, 3, &rp, threads == 1 ? ref : r) == DS2_OK, "%s",
                      ds2_session_error(s));
        for (int i = 0; threads > 1 && i < 3; i++) {
            ck_assert_int_eq(r[i].n_frames, ref[i].n_frames);
            ck_assert_msg(
                memcmp(r[i].probs, ref[i].probs,
                       sizeof(float) * (size_t)r[i].n_frames * r[i].n_labels) == 0,
                "%s H=%d bidir=%d int8=%d: %d threads differ from 1 (utt %d, max %g)", type, hidden,
                bidir, int8, threads, i,
                max_abs_diff(r[i].probs, ref[i].probs, (size_t)r[i].n_frames * r[i].n_labels));
            ds2_result_free(&r[i]);
        }
        ds2_session_free(s);
    }
    for (int i = 0; i < 3; i++) {
        ds2_result_free(&ref[i]);
        free(audio[i]);
    }
    ds2_model_free(m);
}

START_TEST(threads_bit_identical)
{
    const char *types[] = {"lstm", "gru", "rnn"};
    for (int int8 = 0; int8 < 2; int8++)
        for (int t = 0; t < 3; t++)
            for (int bidir = 0; bidir < 2; bidir++) {
                check_threads_identical(types[t], 48, bidir, int8);
                check_threads_identical(types[t], 40, bidir, int8);
            }
}
END_TEST

/* fp32_convs switches the int8 session's convs (after the first) back to fp32: the results
 * move by the conv quantization only, and the fp32 session ignores the switch. */
START_TEST(fp32_convs_switch)
{
    ds2_model *m = load_tiny("lstm", 1, 0);
    const size_t n = 12000;
    float *audio = test_tone(n, 7);
    ds2_utterance u = {audio, n};
    ds2_run_params rp = ds2_run_default_params();
    rp.want_probs = 1;
    ds2_result r[4];
    for (int i = 0; i < 4; i++) {
        ds2_session_params p = ds2_session_default_params();
        p.precision = i < 2 ? DS2_PRECISION_INT8 : DS2_PRECISION_FP32;
        p.fp32_convs = i % 2;
        ds2_session *s = NULL;
        ck_assert_int_eq(ds2_session_create(m, &p, &s, NULL, 0), DS2_OK);
        ck_assert_msg(ds2_run(s, &u, 1, &rp, &r[i]) == DS2_OK, "%s", ds2_session_error(s));
        ds2_session_free(s);
    }
    const size_t np = (size_t)r[0].n_frames * r[0].n_labels;
    ck_assert(memcmp(r[0].probs, r[1].probs, sizeof(float) * np) != 0);
    ck_assert(memcmp(r[2].probs, r[3].probs, sizeof(float) * np) == 0);
    /* both int8 variants stay near fp32 */
    ck_assert(max_abs_diff(r[0].probs, r[2].probs, np) < 0.05);
    ck_assert(max_abs_diff(r[1].probs, r[2].probs, np) < 0.05);
    for (int i = 0; i < 4; i++)
        ds2_result_free(&r[i]);
    free(audio);
    ds2_model_free(m);
}
END_TEST

START_TEST(chunked_runs)
{
    ds2_model *m = load_tiny("lstm", 0, 0);
    ds2_session *s = NULL;
    ck_assert_int_eq(ds2_session_create(m, NULL, &s, NULL, 0), DS2_OK);
    const size_t n = 40000; /* 2.5 s */
    float *x = test_tone(n, 5);
    ds2_utterance u = {x, n};
    ds2_run_params rp = ds2_run_default_params();
    rp.want_probs = 1;
    ds2_result whole, one_chunk, chunks;
    ck_assert_int_eq(ds2_run(s, &u, 1, &rp, &whole), DS2_OK);
    rp.chunk_seconds = 10; /* one chunk: identical to the plain run */
    ck_assert_int_eq(ds2_run(s, &u, 1, &rp, &one_chunk), DS2_OK);
    ck_assert_int_eq(whole.n_frames, one_chunk.n_frames);
    ck_assert(max_abs_diff(whole.probs, one_chunk.probs, (size_t)whole.n_frames * 29) <= 1e-6);
    rp.chunk_seconds = 1; /* upstream: ceil(2.5)=3 s -> chunks [0,1) [1,2) [2,2.5) */
    ck_assert_int_eq(ds2_run(s, &u, 1, &rp, &chunks), DS2_OK);
    int expect = 0;
    const size_t lens[3] = {16000, 16000, 8000};
    for (int i = 0; i < 3; i++)
        expect += ((int)(lens[i] / 160)) / 2 + 1;
    ck_assert_int_eq(chunks.n_frames, expect);
    ds2_result_free(&whole);
    ds2_result_free(&one_chunk);
    ds2_result_free(&chunks);
    free(x);
    ds2_session_free(s);
    ds2_model_free(m);
}
END_TEST

/* Frames [t0, t1) of r are certain blanks (a skipped silent chunk). */
static void assert_blank_frames(const ds2_result *r, int t0, int t1, int blank)
{
    for (int t = t0; t < t1; t++)
        for (int k = 0; k < r->n_labels; k++)
            ck_assert_msg(r->probs[(size_t)t * r->n_labels + k] == (k == blank ? 1.0f : 0.0f),
                          "frame %d label %d: %g", t, k, r->probs[(size_t)t * r->n_labels + k]);
}

/* Upstream would divide a silent chunk's spectrogram by a zero std; libds2 used to fail the
 * whole run ("too short or silent to normalise"). Now such a chunk gives blank frames and the
 * run goes on with the state unchanged — so silence + tone + silence chunked gives, over the
 * tone's chunks, exactly what those chunks give alone. */
START_TEST(chunked_silence_is_skipped)
{
    ds2_model *m = load_tiny("lstm", 0, 0);
    ds2_session *s = NULL;
    ck_assert_int_eq(ds2_session_create(m, NULL, &s, NULL, 0), DS2_OK);
    ds2_model_info info;
    ds2_model_get_info(m, &info);
    const size_t sec = 16000, n = 4 * sec; /* [0, 1) s silent, tone [1.5, 2.5) s, [3, 4) silent */
    float *x = calloc(n, sizeof *x), *tone = test_tone(sec, 9);
    memcpy(x + sec + sec / 2, tone, sec * sizeof *x);
    ds2_utterance u = {x, n};
    ds2_run_params rp = ds2_run_default_params();
    rp.want_probs = 1;
    rp.chunk_seconds = 1;
    ds2_result r, mid, whole;
    ck_assert_msg(ds2_run(s, &u, 1, &rp, &r) == DS2_OK, "%s", ds2_session_error(s));
    const int per = (int)(sec / 160) / 2 + 1; /* output frames of a 1 s chunk */
    ck_assert_int_eq(r.n_frames, 4 * per);
    assert_blank_frames(&r, 0, per, info.blank_index);
    assert_blank_frames(&r, 3 * per, 4 * per, info.blank_index);
    ds2_utterance u_mid = {x + sec, 2 * sec};
    ck_assert_int_eq(ds2_run(s, &u_mid, 1, &rp, &mid), DS2_OK);
    ck_assert_int_eq(mid.n_frames, 2 * per);
    ck_assert_mem_eq(r.probs + (size_t)per * 29, mid.probs, (size_t)2 * per * 29 * sizeof(float));
    ck_assert_str_eq(r.text, mid.text);
    rp.chunk_seconds = 0; /* whole: not silent overall, normalises fine */
    ck_assert_int_eq(ds2_run(s, &u, 1, &rp, &whole), DS2_OK);
    ds2_result_free(&r);
    ds2_result_free(&mid);
    ds2_result_free(&whole);

    /* Silent throughout: "" when chunked; unchunked it stays an error (nothing to normalise). */
    memset(x, 0, n * sizeof *x);
    rp.chunk_seconds = 1;
    ck_assert_msg(ds2_run(s, &u, 1, &rp, &r) == DS2_OK, "%s", ds2_session_error(s));
    ck_assert_str_eq(r.text, "");
    assert_blank_frames(&r, 0, r.n_frames, info.blank_index);
    ds2_result_free(&r);
    rp.chunk_seconds = 0;
    ck_assert_int_eq(ds2_run(s, &u, 1, &rp, &r), DS2_ERR_AUDIO_FORMAT);
    ck_assert(strstr(ds2_session_error(s), "silent") != NULL);

    /* Too-short tails: 100 zero samples (flat) and a single non-zero sample after 1 s of tone. */
    memcpy(x, tone, sec * sizeof *x);
    rp.chunk_seconds = 1;
    u.n_samples = sec + 100;
    ck_assert_msg(ds2_run(s, &u, 1, &rp, &r) == DS2_OK, "%s", ds2_session_error(s));
    ck_assert_int_eq(r.n_frames, per + (100 / 160) / 2 + 1);
    assert_blank_frames(&r, per, r.n_frames, info.blank_index);
    ds2_result_free(&r);
    x[sec] = 0.5f;
    u.n_samples = sec + 1;
    ck_assert_msg(ds2_run(s, &u, 1, &rp, &r) == DS2_OK, "%s", ds2_session_error(s));
    ds2_result_free(&r);
    free(x);
    free(tone);
    ds2_session_free(s);
    ds2_model_free(m);
}
END_TEST

static int spaces_tidy(const char *t)
{
    size_t n = strlen(t);
    return !(n > 0 && (t[0] == ' ' || t[n - 1] == ' ')) && !strstr(t, "  ");
}

/* Chunked transcripts are one text: no leading, trailing or doubled spaces, and otherwise the
 * greedy decoding of the returned probabilities. The golden models (random weights, real
 * labels) do emit such spaces at these chunk sizes — the test checks it saw some. */
START_TEST(chunked_text_spaces_tidy)
{
    const char *models[] = {"test/golden/bigru.gguf", "test/golden/unirnn.gguf"};
    const double chunks[] = {0.3, 0.5, 0.7, 1.0, 1.3};
    int untidy_raw = 0;
    for (int mi = 0; mi < 2; mi++) {
        char err[512];
        ds2_model *m = NULL;
        ck_assert_msg(ds2_model_load(models[mi], NULL, &m, err, sizeof err) == DS2_OK, "%s", err);
        ds2_model_info info;
        ds2_model_get_info(m, &info);
        const char *labels[64];
        ck_assert_int_le(info.n_labels, 64);
        for (int i = 0; i < info.n_labels; i++)
            labels[i] = ds2_model_label(m, i);
        ds2_audio a;
        ck_assert_int_eq(
            ds2_audio_load("test/golden/speech.wav", info.sample_rate, &a, err, sizeof err),
            DS2_OK);
        ds2_session *s = NULL;
        ck_assert_int_eq(ds2_session_create(m, NULL, &s, NULL, 0), DS2_OK);
        ds2_utterance u = {a.samples, a.n_samples};
        for (int ci = 0; ci < 5; ci++) {
            ds2_run_params rp = ds2_run_default_params();
            rp.want_probs = 1;
            rp.chunk_seconds = chunks[ci];
            ds2_result r;
            ck_assert_int_eq(ds2_run(s, &u, 1, &rp, &r), DS2_OK);
            ck_assert_msg(spaces_tidy(r.text), "%s chunk %g: '%s'", models[mi], chunks[ci], r.text);
            char *raw =
                ds2_ctc_greedy_decode(r.probs, r.n_frames, r.n_labels, info.blank_index, labels);
            ck_assert_ptr_nonnull(raw);
            untidy_raw += !spaces_tidy(raw);
            /* the text is raw with its spaces tidied, nothing else */
            size_t w = 0;
            for (size_t i = 0; raw[i]; i++)
                if (raw[i] != ' ' || (w > 0 && raw[w - 1] != ' '))
                    raw[w++] = raw[i];
            while (w > 0 && raw[w - 1] == ' ')
                w--;
            raw[w] = '\0';
            ck_assert_str_eq(r.text, raw);
            free(raw);
            ds2_result_free(&r);
        }
        ds2_session_free(s);
        ds2_audio_free(&a);
        ds2_model_free(m);
    }
    ck_assert_msg(untidy_raw > 0, "no raw decoding had stray spaces: the test shows nothing");
}
END_TEST

/* ds2_decode on a run's probabilities gives that run's text, score and words, for both decoders
 * (with the LM), and refuses probabilities of another width, NaN, negative or infinite ones. */
START_TEST(decode_saved_probabilities)
{
    char err[512];
    ds2_model *m = NULL;
    ck_assert_msg(ds2_model_load("test/golden/bigru.gguf", NULL, &m, err, sizeof err) == DS2_OK,
                  "%s", err);
    ds2_model_info info;
    ds2_model_get_info(m, &info);
    ds2_lm *lm = NULL;
    ck_assert_int_eq(ds2_lm_load("test/golden/tiny.arpa", &lm, err, sizeof err), DS2_OK);
    ds2_audio a;
    ck_assert_int_eq(
        ds2_audio_load("test/golden/speech.wav", info.sample_rate, &a, err, sizeof err), DS2_OK);
    ds2_session *s = NULL;
    ck_assert_int_eq(ds2_session_create(m, NULL, &s, NULL, 0), DS2_OK);
    ds2_utterance u = {a.samples, a.n_samples};
    for (int dec = 0; dec < 2; dec++) {
        ds2_run_params rp = ds2_run_default_params();
        rp.want_probs = 1;
        rp.want_timestamps = 1;
        if (dec) {
            rp.decoder = DS2_DECODER_BEAM;
            rp.beam_width = 16;
            rp.lm = lm;
            rp.alpha = 0.5;
            rp.beta = 1;
        }
        ds2_result r, d;
        ck_assert_int_eq(ds2_run(s, &u, 1, &rp, &r), DS2_OK);
        ck_assert_int_gt(r.n_frames, 0);
        ck_assert_int_eq(ds2_decode(s, r.probs, r.n_frames, r.n_labels, &rp, &d), DS2_OK);
        ck_assert_str_eq(d.text, r.text);
        ck_assert(d.score == r.score);
        ck_assert_ptr_null(d.probs); /* want_probs is ignored */
        ck_assert_int_eq(d.n_frames, r.n_frames);
        ck_assert_int_eq(d.n_words, r.n_words);
        for (int w = 0; w < d.n_words; w++) {
            ck_assert_str_eq(d.words[w].text, r.words[w].text);
            ck_assert(d.words[w].start_s == r.words[w].start_s);
            ck_assert(d.words[w].end_s == r.words[w].end_s);
        }
        ds2_result_free(&d);
        /* bad input: a clear error, the result zeroed */
        size_t n = (size_t)r.n_frames * r.n_labels;
        ck_assert_int_eq(ds2_decode(s, r.probs, r.n_frames, r.n_labels - 1, &rp, &d),
                         DS2_ERR_INVALID_ARGUMENT);
        ck_assert_ptr_nonnull(strstr(ds2_session_error(s), "probabilities"));
        ck_assert_ptr_null(d.text);
        ck_assert_int_eq(ds2_decode(s, NULL, 3, r.n_labels, &rp, &d), DS2_ERR_INVALID_ARGUMENT);
        ck_assert_int_eq(ds2_decode(s, r.probs, -1, r.n_labels, &rp, &d), DS2_ERR_INVALID_ARGUMENT);
        ck_assert_int_eq(ds2_decode(s, r.probs, r.n_frames, r.n_labels, &rp, NULL),
                         DS2_ERR_INVALID_ARGUMENT);
        ck_assert_int_eq(ds2_decode(NULL, r.probs, r.n_frames, r.n_labels, &rp, &d),
                         DS2_ERR_INVALID_ARGUMENT);
        const float bad[] = {NAN, -0.5f, INFINITY};
        for (int k = 0; k < 3; k++) {
            float keep = r.probs[n / 2];
            r.probs[n / 2] = bad[k];
            ck_assert_int_eq(ds2_decode(s, r.probs, r.n_frames, r.n_labels, &rp, &d),
                             DS2_ERR_INVALID_ARGUMENT);
            ck_assert_ptr_nonnull(strstr(ds2_session_error(s), "must be finite and >= 0"));
            r.probs[n / 2] = keep;
        }
        /* no frames: an empty transcript */
        ck_assert_int_eq(ds2_decode(s, NULL, 0, r.n_labels, &rp, &d), DS2_OK);
        ck_assert_str_eq(d.text, "");
        ds2_result_free(&d);
        if (dec) { /* bad beam parameters as ds2_run names them */
            rp.beam_width = 0;
            ck_assert_int_eq(ds2_decode(s, r.probs, r.n_frames, r.n_labels, &rp, &d),
                             DS2_ERR_INVALID_ARGUMENT);
            ck_assert_ptr_nonnull(strstr(ds2_session_error(s), "beam_width"));
        }
        ds2_result_free(&r);
    }
    ds2_session_free(s);
    ds2_audio_free(&a);
    ds2_lm_free(lm);
    ds2_model_free(m);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("session");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, bad_parameters);
    tcase_add_test(tc, gpu_request_is_clear);
    tcase_add_test(tc, batch_equals_alone_fp32);
    tcase_add_test(tc, batch_int8_invariant);
    tcase_add_test(tc, threads_bit_identical);
    tcase_add_test(tc, fp32_convs_switch);
    tcase_add_test(tc, chunked_runs);
    tcase_add_test(tc, chunked_silence_is_skipped);
    tcase_add_test(tc, chunked_text_spaces_tidy);
    tcase_add_test(tc, decode_saved_probabilities);
    suite_add_tcase(s, tc);
    return s;
}

DS2_CHECK_MAIN(make_suite)
