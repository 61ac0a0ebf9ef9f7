/* Manifest loading (JSON V3, CSV, TSV) and the JSON reader underneath, on files written to a
 * temporary directory at run time. */
#include "manifest.h"
#include "json_min.h"

#include "check_main.h"

#include <check.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmp[256];

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void setup(void)
{
    snprintf(tmp, sizeof tmp, "%s/ds2-manifest-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(tmp));
}

static void teardown(void)
{
    nftw(tmp, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Path under the temporary directory; returns a static buffer (one of 4, rotating). */
static const char *in_tmp(const char *name)
{
    static char bufs[4][512];
    static int k;
    char *b = bufs[k++ % 4];
    snprintf(b, 512, "%s/%s", tmp, name);
    return b;
}

static void write_file(const char *name, const char *fmt, ...)
{
    const char *path = in_tmp(name);
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot create %s", path);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fclose(f);
}

static void make_dir(const char *name)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "%s", in_tmp(name));
    ck_assert_int_eq(mkdir(cmd, 0700), 0);
}

/* Loads name (under tmp) expecting success. */
static ds2_manifest load_ok(const char *name)
{
    ds2_manifest m;
    char err[512];
    ds2_status st = ds2_manifest_load(in_tmp(name), &m, err, sizeof err);
    ck_assert_msg(st == DS2_OK, "load %s failed: %s", name, err);
    return m;
}

/* Loads name expecting failure with status and an error containing every given fragment. */
static void load_fails(const char *name, ds2_status want, int n_fragments, ...)
{
    ds2_manifest m = {(ds2_manifest_entry *)1, 99};
    char err[512];
    ds2_status st = ds2_manifest_load(in_tmp(name), &m, err, sizeof err);
    ck_assert_msg(st == want, "load %s: status %d, want %d (%s)", name, st, want, err);
    ck_assert_ptr_null(m.entries);
    ck_assert_int_eq(m.count, 0);
    ck_assert_msg(strstr(err, name) != NULL, "error '%s' does not name the file %s", err, name);
    va_list ap;
    va_start(ap, n_fragments);
    for (int i = 0; i < n_fragments; i++) {
        const char *frag = va_arg(ap, const char *);
        ck_assert_msg(strstr(err, frag) != NULL, "error '%s' lacks '%s'", err, frag);
    }
    va_end(ap);
}

static void write_sample_files(void)
{
    make_dir("data");
    make_dir("data/wav");
    make_dir("data/txt");
    write_file("data/wav/a.wav", "RIFF");
    write_file("data/wav/b.wav", "RIFF");
    write_file("data/txt/a.txt", "HELLO WORLD\n");
    write_file("data/txt/b.txt", "SECOND ONE\r\n\n");
}

START_TEST(json_relative_root)
{
    write_sample_files();
    write_file("m.json", "{\"root_path\": \"data\", \"samples\": ["
                         "{\"wav_path\": \"wav/a.wav\", \"transcript_path\": \"txt/a.txt\"},"
                         "{\"wav_path\": \"wav/\\u0062.wav\", \"transcript_path\": "
                         "\"txt\\/b.txt\", \"duration\": 1.5e0, \"extra\": [null, true, {}]}]}");
    ds2_manifest m = load_ok("m.json");
    ck_assert_int_eq(m.count, 2);
    ck_assert_str_eq(m.entries[0].audio_path, in_tmp("data/wav/a.wav"));
    ck_assert_str_eq(m.entries[0].transcript, "HELLO WORLD");
    ck_assert_str_eq(m.entries[1].audio_path, in_tmp("data/wav/b.wav"));
    ck_assert_str_eq(m.entries[1].transcript, "SECOND ONE");
    ds2_manifest_free(&m);
    ck_assert_ptr_null(m.entries);
}
END_TEST

START_TEST(json_absolute_paths)
{
    write_sample_files();
    /* Absolute root_path; the second sample's absolute wav_path ignores root_path. */
    write_file("abs.json",
               "{\"samples\": [{\"wav_path\": \"wav/a.wav\", \"transcript_path\": \"txt/a.txt\"},"
               "{\"wav_path\": \"%s\", \"transcript_path\": \"txt/b.txt\"}],"
               " \"root_path\": \"%s\"}",
               in_tmp("data/wav/b.wav"), in_tmp("data"));
    ds2_manifest m = load_ok("abs.json");
    ck_assert_int_eq(m.count, 2);
    ck_assert_str_eq(m.entries[0].audio_path, in_tmp("data/wav/a.wav"));
    ck_assert_str_eq(m.entries[1].audio_path, in_tmp("data/wav/b.wav"));
    ck_assert_str_eq(m.entries[1].transcript, "SECOND ONE");
    ds2_manifest_free(&m);
}
END_TEST

START_TEST(json_without_root_path)
{
    write_sample_files();
    write_file(
        "data/noroot.json",
        "{\"samples\": [{\"wav_path\": \"wav/a.wav\", \"transcript_path\": \"txt/a.txt\"}]}");
    ds2_manifest m = load_ok("data/noroot.json");
    ck_assert_int_eq(m.count, 1);
    ck_assert_str_eq(m.entries[0].audio_path, in_tmp("data/wav/a.wav"));
    ds2_manifest_free(&m);
}
END_TEST

START_TEST(json_root_relative_to_cwd)
{
    /* deepspeech.pytorch resolves root_path against the current directory; such a manifest
     * still loads when the manifest-relative reading names no directory. */
    write_sample_files();
    write_file("data/cwd.json", "{\"root_path\": \"data\", \"samples\": [{\"wav_path\": "
                                "\"wav/a.wav\", \"transcript_path\": \"txt/a.txt\"}]}");
    char old_cwd[1024];
    ck_assert_ptr_nonnull(getcwd(old_cwd, sizeof old_cwd));
    ck_assert_int_eq(chdir(tmp), 0);
    ds2_manifest m;
    char err[512];
    ds2_status st = ds2_manifest_load("data/cwd.json", &m, err, sizeof err);
    ck_assert_int_eq(chdir(old_cwd), 0);
    ck_assert_msg(st == DS2_OK, "%s", err);
    ck_assert_int_eq(m.count, 1);
    ck_assert_str_eq(m.entries[0].audio_path, "data/wav/a.wav");
    ck_assert_str_eq(m.entries[0].transcript, "HELLO WORLD");
    ds2_manifest_free(&m);
}
END_TEST

START_TEST(csv_relative_and_absolute)
{
    write_sample_files();
    write_file("data/list.csv", "wav/a.wav,txt/a.txt\r\n\n%s,%s\n", in_tmp("data/wav/b.wav"),
               in_tmp("data/txt/b.txt"));
    ds2_manifest m = load_ok("data/list.csv");
    ck_assert_int_eq(m.count, 2);
    ck_assert_str_eq(m.entries[0].audio_path, in_tmp("data/wav/a.wav"));
    ck_assert_str_eq(m.entries[0].transcript, "HELLO WORLD");
    ck_assert_str_eq(m.entries[1].audio_path, in_tmp("data/wav/b.wav"));
    ck_assert_str_eq(m.entries[1].transcript, "SECOND ONE");
    ds2_manifest_free(&m);
}
END_TEST

START_TEST(tsv_inline_transcripts)
{
    write_sample_files();
    write_file("list.tsv", "data/wav/a.wav\tHELLO, WORLD\n%s\tIT'S\tTABBED\r\n",
               in_tmp("data/wav/b.wav"));
    ds2_manifest m = load_ok("list.tsv");
    ck_assert_int_eq(m.count, 2);
    ck_assert_str_eq(m.entries[0].audio_path, in_tmp("data/wav/a.wav"));
    ck_assert_str_eq(m.entries[0].transcript, "HELLO, WORLD");
    ck_assert_str_eq(m.entries[1].audio_path, in_tmp("data/wav/b.wav"));
    ck_assert_str_eq(m.entries[1].transcript, "IT'S\tTABBED");
    ds2_manifest_free(&m);
}
END_TEST

START_TEST(broken_json)
{
    write_sample_files();
    write_file("broken.json", "{\"samples\": [\n  {\"wav_path\": \"data/wav/a.wav\",\n"
                              "   \"transcript_path\" \"data/txt/a.txt\"}]}");
    load_fails("broken.json", DS2_ERR_INVALID_ARGUMENT, 2, "JSON", "line 3");
    write_file("trunc.json", "{\"samples\": [{\"wav_path\": \"dat");
    load_fails("trunc.json", DS2_ERR_INVALID_ARGUMENT, 2, "line 1", "unterminated string");
    write_file("array.json", "[1, 2]");
    load_fails("array.json", DS2_ERR_INVALID_ARGUMENT, 1, "array");
}
END_TEST

START_TEST(missing_keys)
{
    write_sample_files();
    write_file("nosamples.json", "{\"root_path\": \"data\"}");
    load_fails("nosamples.json", DS2_ERR_INVALID_ARGUMENT, 1, "\"samples\"");
    write_file("nowav.json", "{\"root_path\": \"data\", \"samples\": [\n"
                             "{\"wav_path\": \"wav/a.wav\", \"transcript_path\": \"txt/a.txt\"},\n"
                             "{\"transcript_path\": \"txt/b.txt\"}]}");
    load_fails("nowav.json", DS2_ERR_INVALID_ARGUMENT, 3, "samples[1]", "wav_path", ":3:");
    write_file("badtype.json", "{\"samples\": [{\"wav_path\": 7, \"transcript_path\": \"x\"}]}");
    load_fails("badtype.json", DS2_ERR_INVALID_ARGUMENT, 3, "samples[0]", "wav_path", "number");
    write_file("badroot.json", "{\"root_path\": [], \"samples\": []}");
    load_fails("badroot.json", DS2_ERR_INVALID_ARGUMENT, 1, "root_path");
}
END_TEST

START_TEST(missing_files)
{
    write_sample_files();
    write_file("notxt.json",
               "{\"root_path\": \"data\", \"samples\": ["
               "{\"wav_path\": \"wav/a.wav\", \"transcript_path\": \"txt/zz.txt\"}]}");
    load_fails("notxt.json", DS2_ERR_IO, 3, "samples[0]", "txt/zz.txt", "No such file");
    write_file("nowav.csv", "data/wav/a.wav,data/txt/a.txt\ndata/wav/gone.wav,data/txt/b.txt\n");
    load_fails("nowav.csv", DS2_ERR_IO, 2, "line 2", "gone.wav");
    write_file("notxt.tsv", "data/wav/a.wav\tOK\ndata/wav/missing.wav\tX\n");
    load_fails("notxt.tsv", DS2_ERR_IO, 2, "line 2", "missing.wav");
    load_fails("does-not-exist.json", DS2_ERR_IO, 1, "No such file");
}
END_TEST

/* FIFOs with no writer, named as manifest, transcript (JSON and CSV) or audio (TSV): a plain
 * open() would block forever; each is refused at once, naming the path. alarm() turns a hang
 * into a failure. */
START_TEST(fifos_refused_promptly)
{
    write_sample_files();
    ck_assert_int_eq(mkfifo(in_tmp("fifo.json"), 0600), 0);
    ck_assert_int_eq(mkfifo(in_tmp("data/txt/fifo.txt"), 0600), 0);
    ck_assert_int_eq(mkfifo(in_tmp("data/wav/fifo.wav"), 0600), 0);
    alarm(10);
    load_fails("fifo.json", DS2_ERR_IO, 1, "a FIFO, not a regular file");
    write_file("t.json", "{\"root_path\": \"data\", \"samples\": ["
                         "{\"wav_path\": \"wav/a.wav\", \"transcript_path\": \"txt/fifo.txt\"}]}");
    load_fails("t.json", DS2_ERR_IO, 3, "samples[0]", "txt/fifo.txt", "a FIFO, not a regular file");
    write_file("t.csv", "data/wav/a.wav,data/txt/fifo.txt\n");
    load_fails("t.csv", DS2_ERR_IO, 3, "line 1", "fifo.txt", "a FIFO");
    write_file("a.tsv", "data/wav/a.wav\tOK\ndata/wav/fifo.wav\tX\n");
    load_fails("a.tsv", DS2_ERR_IO, 3, "line 2", "fifo.wav", "a FIFO");
    write_file("d.csv", "data/wav/a.wav,/dev/zero\n");
    load_fails("d.csv", DS2_ERR_IO, 2, "/dev/zero", "character device");
    alarm(0);
}
END_TEST

/* Sizes are checked before reading: /dev/zero (endless) and sparse files far over the limits
 * (64 MiB manifest, 1 MiB transcript) are refused without being read. An 8 GiB manifest read
 * whole would take seconds and gigabytes; alarm() catches that. */
START_TEST(oversized_inputs_refused_unread)
{
    write_sample_files();
    alarm(10);
    ds2_manifest m;
    char err[512];
    ck_assert_int_eq(ds2_manifest_load("/dev/zero", &m, err, sizeof err), DS2_ERR_IO);
    ck_assert_msg(strstr(err, "/dev/zero") && strstr(err, "character device"), "%s", err);
    FILE *f = fopen(in_tmp("huge.tsv"), "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(ftruncate(fileno(f), (off_t)8 << 30), 0);
    fclose(f);
    load_fails("huge.tsv", DS2_ERR_INVALID_ARGUMENT, 2, "8589934592 bytes", "67108864-byte limit");
    f = fopen(in_tmp("over.tsv"), "wb"); /* one byte over: the limit is exact */
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(ftruncate(fileno(f), ((off_t)64 << 20) + 1), 0);
    fclose(f);
    load_fails("over.tsv", DS2_ERR_INVALID_ARGUMENT, 1, "67108864-byte limit");
    f = fopen(in_tmp("data/txt/big.txt"), "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(ftruncate(fileno(f), ((off_t)1 << 20) + 1), 0);
    fclose(f);
    write_file("big.csv", "data/wav/a.wav,data/txt/big.txt\n");
    load_fails("big.csv", DS2_ERR_INVALID_ARGUMENT, 3, "line 1", "big.txt", "1048576-byte limit");
    /* At the limit a transcript is still read (NULs here: refused for those, not for size). */
    ck_assert_int_eq(truncate(in_tmp("data/txt/big.txt"), (off_t)1 << 20), 0);
    load_fails("big.csv", DS2_ERR_INVALID_ARGUMENT, 2, "big.txt", "NUL byte");
    alarm(0);
}
END_TEST

START_TEST(empty_manifest)
{
    write_file("empty.csv", "");
    load_fails("empty.csv", DS2_ERR_INVALID_ARGUMENT, 1, "no samples");
    write_file("blank.tsv", "\n  \n\r\n");
    load_fails("blank.tsv", DS2_ERR_INVALID_ARGUMENT, 1, "no samples");
    write_file("empty.json", "{\"root_path\": \".\", \"samples\": []}");
    load_fails("empty.json", DS2_ERR_INVALID_ARGUMENT, 1, "no samples");
}
END_TEST

START_TEST(csv_wrong_columns)
{
    write_sample_files();
    write_file("three.csv", "data/wav/a.wav,data/txt/a.txt\ndata/wav/b.wav,data/txt/b.txt,x\n");
    load_fails("three.csv", DS2_ERR_INVALID_ARGUMENT, 3, "three.csv:2:", "2 comma-separated",
               "found 3");
    write_file("one.csv", "data/wav/a.wav,data/txt/a.txt\n\ndata/wav/b.wav\n");
    load_fails("one.csv", DS2_ERR_INVALID_ARGUMENT, 2, "one.csv:3:", "found 1");
    write_file("notab.tsv", "data/wav/a.wav\tA\ndata/wav/b.wav B\n");
    load_fails("notab.tsv", DS2_ERR_INVALID_ARGUMENT, 2, "notab.tsv:2:", "no tab");
    write_file("plain.txt", "just some words\n");
    load_fails("plain.txt", DS2_ERR_INVALID_ARGUMENT, 2, "plain.txt:1:", "unrecognized");
}
END_TEST

START_TEST(null_arguments)
{
    ds2_manifest m;
    char err[128];
    ck_assert_int_eq(ds2_manifest_load(NULL, &m, err, sizeof err), DS2_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ds2_manifest_load("x", NULL, err, sizeof err), DS2_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ds2_manifest_load("", &m, NULL, 0), DS2_ERR_INVALID_ARGUMENT);
    ds2_manifest_free(NULL);
}
END_TEST

/* ------------------------------------------------------------------ JSON reader */

START_TEST(json_values)
{
    const char *text = " {\"s\": \"a\\\"b\\\\c\\n\\u00e9\\ud83d\\ude00\", \"n\": -12.5e1,"
                       " \"z\": 0, \"a\": [true, false, null, [], {}], \"o\": {\"k\": \"v\"}} ";
    char err[128];
    ds2_json_value *v = ds2_json_parse(text, strlen(text), err, sizeof err);
    ck_assert_msg(v != NULL, "%s", err);
    ck_assert_int_eq(v->type, DS2_JSON_OBJECT);
    ck_assert_str_eq(ds2_json_get(v, "s")->string, "a\"b\\c\n\xC3\xA9\xF0\x9F\x98\x80");
    ck_assert(ds2_json_get(v, "n")->number == -125.0);
    ck_assert(ds2_json_get(v, "z")->number == 0.0);
    const ds2_json_value *a = ds2_json_get(v, "a");
    ck_assert_int_eq(a->type, DS2_JSON_ARRAY);
    ck_assert_int_eq((int)a->count, 5);
    ck_assert_int_eq(a->items[0].boolean, 1);
    ck_assert_int_eq(a->items[2].type, DS2_JSON_NULL);
    ck_assert_str_eq(ds2_json_get(ds2_json_get(v, "o"), "k")->string, "v");
    ck_assert_ptr_null(ds2_json_get(v, "missing"));
    ck_assert_ptr_null(ds2_json_get(a, "s"));
    ds2_json_free(v);
}
END_TEST

START_TEST(json_rejects_bad_input)
{
    const char *bad[] = {
        "",
        "{",
        "{\"a\"}",
        "{\"a\":}",
        "[1,]",
        "[1 2]",
        "01",
        "1.",
        "-",
        "1e",
        "\"\\x\"",
        "\"\\u12\"",
        "\"\\ud800\"",
        "\"\\udc00\"",
        "\"\\u0000\"",
        "\"a\nb\"",
        "tru",
        "nul",
        "{} x",
        "{\"a\":1,}",
        "[\"\\ud800\\u0041\"]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[128] = "";
        ds2_json_value *v = ds2_json_parse(bad[i], strlen(bad[i]), err, sizeof err);
        ck_assert_msg(v == NULL, "accepted bad JSON #%zu '%s'", i, bad[i]);
        ck_assert_msg(strstr(err, "line 1") != NULL || strstr(err, "line 2") != NULL,
                      "error for #%zu lacks a line: '%s'", i, err);
    }
}
END_TEST

START_TEST(json_depth_limit)
{
    char deep[2 * (DS2_JSON_MAX_DEPTH + 2) + 1];
    int n = DS2_JSON_MAX_DEPTH + 2;
    for (int i = 0; i < n; i++) {
        deep[i] = '[';
        deep[n + i] = ']';
    }
    char err[128];
    ck_assert_ptr_null(ds2_json_parse(deep, 2 * (size_t)n, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "nesting"));
    /* At the limit it parses. */
    int m = DS2_JSON_MAX_DEPTH + 1;
    ds2_json_value *v = ds2_json_parse(deep + (n - m), 2 * (size_t)m, err, sizeof err);
    ck_assert_msg(v != NULL, "%s", err);
    ds2_json_free(v);
}
END_TEST

START_TEST(json_every_truncation)
{
    /* Every prefix of a valid document is parsed from an exact-size heap copy, so an
     * out-of-bounds read would trip AddressSanitizer. Only the full text is valid. */
    const char *text = "{\"root_path\": \"r\\u00e9\", \"samples\": [{\"wav_path\": \"a\\\"b\", "
                       "\"n\": -1.25e-3}, [true, false, null]]}";
    size_t len = strlen(text);
    for (size_t k = 0; k <= len; k++) {
        char *copy = malloc(k ? k : 1);
        memcpy(copy, text, k);
        ds2_json_value *v = ds2_json_parse(copy, k, NULL, 0);
        ck_assert_msg((v != NULL) == (k == len), "prefix of %zu bytes: parsed=%d", k, v != NULL);
        ds2_json_free(v);
        free(copy);
    }
}
END_TEST

static Suite *manifest_suite(void)
{
    Suite *s = suite_create("manifest");
    TCase *tc = tcase_create("manifest");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, json_relative_root);
    tcase_add_test(tc, json_absolute_paths);
    tcase_add_test(tc, json_without_root_path);
    tcase_add_test(tc, json_root_relative_to_cwd);
    tcase_add_test(tc, csv_relative_and_absolute);
    tcase_add_test(tc, tsv_inline_transcripts);
    tcase_add_test(tc, broken_json);
    tcase_add_test(tc, missing_keys);
    tcase_add_test(tc, missing_files);
    tcase_add_test(tc, empty_manifest);
    tcase_add_test(tc, fifos_refused_promptly);
    tcase_add_test(tc, oversized_inputs_refused_unread);
    tcase_add_test(tc, csv_wrong_columns);
    tcase_add_test(tc, null_arguments);
    suite_add_tcase(s, tc);
    TCase *tj = tcase_create("json");
    tcase_add_test(tj, json_values);
    tcase_add_test(tj, json_rejects_bad_input);
    tcase_add_test(tj, json_depth_limit);
    tcase_add_test(tj, json_every_truncation);
    suite_add_tcase(s, tj);
    return s;
}

DS2_CHECK_MAIN(manifest_suite)
