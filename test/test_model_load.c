/* Model file validation: a good tiny model loads; truncated, corrupted, mis-shaped, incomplete
 * and foreign files are refused with a message naming the problem — never a crash (this suite
 * also runs under ASan+UBSan). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_main.h"
#include "ds2.h"
#include "gguf_builder.h"

static const tiny_model_spec base = {"lstm", 8, 2, 1, 0, 2, 0, 7, NULL, NULL};

static ds2_status load_bytes(const unsigned char *bytes, size_t size, char *err, size_t errsz)
{
    char *path = test_write_temp(bytes, size, ".gguf");
    ck_assert_ptr_nonnull(path);
    ds2_model *m = NULL;
    ds2_status st = ds2_model_load(path, NULL, &m, err, errsz);
    if (st == DS2_OK)
        ck_assert_ptr_nonnull(m);
    else
        ck_assert_ptr_null(m);
    ds2_model_free(m);
    unlink(path);
    free(path);
    return st;
}

static ds2_status load_spec(const tiny_model_spec *spec, char *err, size_t errsz)
{
    size_t size;
    unsigned char *bytes = tiny_model_build(spec, &size);
    ds2_status st = load_bytes(bytes, size, err, errsz);
    free(bytes);
    return st;
}

START_TEST(good_models_load)
{
    const char *types[] = {"lstm", "gru", "rnn"};
    for (int t = 0; t < 3; t++)
        for (int bidir = 0; bidir < 2; bidir++)
            for (int int8 = 0; int8 < 2; int8++) {
                tiny_model_spec s = base;
                s.rnn_type = types[t];
                s.bidirectional = bidir;
                s.context = bidir ? 0 : 3;
                s.int8 = int8;
                size_t size;
                unsigned char *bytes = tiny_model_build(&s, &size);
                char *path = test_write_temp(bytes, size, ".gguf");
                char err[512];
                ds2_model *m = NULL;
                ck_assert_msg(ds2_model_load(path, NULL, &m, err, sizeof err) == DS2_OK, "%s", err);
                ds2_model_info info;
                ds2_model_get_info(m, &info);
                ck_assert_int_eq(info.sample_rate, 16000);
                ck_assert_int_eq(info.n_labels, 29);
                ck_assert_str_eq(info.rnn_type, types[t]);
                ck_assert_int_eq(info.hidden_size, 8);
                ck_assert_int_eq(info.hidden_layers, 2);
                ck_assert_int_eq(info.bidirectional, bidir);
                ck_assert_int_eq(info.lookahead_context, bidir ? 0 : 3);
                ck_assert_int_eq(info.weights_int8, int8);
                ck_assert_uint_eq(info.file_bytes, size);
                ck_assert_str_eq(ds2_model_label(m, 28), " ");
                ck_assert_ptr_null(ds2_model_label(m, 29));
                ck_assert_ptr_null(ds2_model_label(m, -1));
                ds2_model_free(m);
                unlink(path);
                free(path);
                free(bytes);
            }
}
END_TEST

START_TEST(every_truncation_is_refused)
{
    size_t size;
    unsigned char *bytes = tiny_model_build(&base, &size);
    char err[512];
    /* Every prefix through the header, then a stride through the tensor data. */
    for (size_t n = 0; n < size; n += n < 4096 ? 1 : 997) {
        err[0] = '\0';
        ds2_status st = load_bytes(bytes, n, err, sizeof err);
        ck_assert_msg(st == DS2_ERR_MODEL_FORMAT, "prefix %zu: status %d", n, st);
        ck_assert_msg(strlen(err) > 0, "prefix %zu: empty message", n);
    }
    free(bytes);
}
END_TEST

START_TEST(random_corruption_never_crashes)
{
    size_t size;
    unsigned char *bytes = tiny_model_build(&base, &size);
    unsigned char *copy = malloc(size);
    unsigned seed = 12345;
    char err[512];
    for (int trial = 0; trial < 400; trial++) {
        memcpy(copy, bytes, size);
        for (int k = 0; k < 1 + trial % 4; k++) {
            seed = seed * 1103515245u + 12345u;
            size_t pos = (seed >> 4) % (size < 3000 ? size : 3000); /* header region */
            seed = seed * 1103515245u + 12345u;
            copy[pos] = (unsigned char)(seed >> 16);
        }
        ds2_status st = load_bytes(copy, size, err, sizeof err);
        ck_assert(st == DS2_OK || st == DS2_ERR_MODEL_FORMAT || st == DS2_ERR_OUT_OF_MEMORY);
        if (st != DS2_OK)
            ck_assert(strlen(err) > 0);
    }
    free(copy);
    free(bytes);
}
END_TEST

START_TEST(wrong_shape_names_the_tensor)
{
    tiny_model_spec s = base;
    s.bad_shape = "rnn.1.bwd.w_hh";
    char err[512];
    ck_assert_int_eq(load_spec(&s, err, sizeof err), DS2_ERR_MODEL_FORMAT);
    ck_assert_msg(strstr(err, "rnn.1.bwd.w_hh") && strstr(err, "wrong shape"), "%s", err);
    s.bad_shape = "conv.1.weight";
    ck_assert_int_eq(load_spec(&s, err, sizeof err), DS2_ERR_MODEL_FORMAT);
    ck_assert_msg(strstr(err, "conv.1.weight"), "%s", err);
}
END_TEST

START_TEST(missing_parts_are_named)
{
    const char *parts[] = {"fc.bias",
                           "rnn.0.fwd.b_hh",
                           "deepspeech2.rnn.hidden_size",
                           "deepspeech2.format_version",
                           "deepspeech2.conv.count",
                           "deepspeech2.blank_index"};
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) {
        tiny_model_spec s = base;
        s.skip = parts[i];
        char err[512];
        ck_assert_int_eq(load_spec(&s, err, sizeof err), DS2_ERR_MODEL_FORMAT);
        ck_assert_msg(strstr(err, parts[i]), "missing %s: message '%s'", parts[i], err);
    }
    tiny_model_spec s = base;
    s.bidirectional = 0;
    s.context = 4;
    s.skip = "lookahead.weight";
    char err[512];
    ck_assert_int_eq(load_spec(&s, err, sizeof err), DS2_ERR_MODEL_FORMAT);
    ck_assert_msg(strstr(err, "lookahead.weight"), "%s", err);
}
END_TEST

/* libFuzzer found it (issue 16): a 1.28 s window at 16 kHz (20 480 samples) made the loader
 * allocate a 3.4 GB DFT basis. Windows over 4096 samples are refused before any allocation. */
START_TEST(huge_window_refused)
{
    char err[512];
    ds2_model *m = NULL;
    ck_assert_int_eq(ds2_model_load("test/fuzz/corpus/model_load/regress-window-20480-samples.gguf",
                                    NULL, &m, err, sizeof err),
                     DS2_ERR_MODEL_FORMAT);
    ck_assert_ptr_null(m);
    ck_assert_msg(strstr(err, "4096 samples"), "%s", err);
}
END_TEST

START_TEST(foreign_and_missing_files)
{
    char err[512];
    ds2_model *m = (ds2_model *)1;
    ck_assert_int_eq(ds2_model_load("/nonexistent/model.gguf", NULL, &m, err, sizeof err),
                     DS2_ERR_IO);
    ck_assert_ptr_null(m);
    ck_assert(strstr(err, "/nonexistent/model.gguf") != NULL);
    const char text[] = "this is a text file, not a model, but long enough to parse";
    ck_assert_int_eq(load_bytes((const unsigned char *)text, sizeof text, err, sizeof err),
                     DS2_ERR_MODEL_FORMAT);
    ck_assert(strstr(err, "magic") != NULL);
    size_t size;
    unsigned char *bytes = tiny_model_build(&base, &size);
    bytes[4] = 2; /* GGUF v2 */
    ck_assert_int_eq(load_bytes(bytes, size, err, sizeof err), DS2_ERR_MODEL_FORMAT);
    ck_assert(strstr(err, "version") != NULL);
    free(bytes);
    ck_assert_int_eq(ds2_model_load("/tmp", NULL, &m, err, sizeof err), DS2_ERR_IO);
    ck_assert_int_eq(ds2_model_load(NULL, NULL, &m, err, sizeof err), DS2_ERR_INVALID_ARGUMENT);
    ds2_model_free(NULL);
}
END_TEST

/* A FIFO with no writer blocks a plain open() forever: the loader must refuse it (and a
 * device) at once. alarm() turns a hang into a failure instead of a stuck suite. */
START_TEST(fifo_and_device_refused_promptly)
{
    char dir[] = "/tmp/ds2_test_fifo_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char fifo[64];
    snprintf(fifo, sizeof fifo, "%s/model.gguf", dir);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    alarm(10);
    char err[512];
    ds2_model *m = (ds2_model *)1;
    ds2_status st = ds2_model_load(fifo, NULL, &m, err, sizeof err);
    unlink(fifo);
    rmdir(dir);
    ck_assert_int_eq(st, DS2_ERR_IO);
    ck_assert_ptr_null(m);
    ck_assert_msg(strstr(err, fifo) && strstr(err, "not a regular file") && strstr(err, "FIFO"),
                  "%s", err);
    ck_assert_int_eq(ds2_model_load("/dev/zero", NULL, &m, err, sizeof err), DS2_ERR_IO);
    ck_assert_msg(strstr(err, "/dev/zero") && strstr(err, "character device"), "%s", err);
    alarm(0);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("model_load");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, good_models_load);
    tcase_add_test(tc, every_truncation_is_refused);
    tcase_add_test(tc, random_corruption_never_crashes);
    tcase_add_test(tc, wrong_shape_names_the_tensor);
    tcase_add_test(tc, missing_parts_are_named);
    tcase_add_test(tc, huge_window_refused);
    tcase_add_test(tc, foreign_and_missing_files);
    tcase_add_test(tc, fifo_and_device_refused_promptly);
    suite_add_tcase(s, tc);
    return s;
}

DS2_CHECK_MAIN(make_suite)
