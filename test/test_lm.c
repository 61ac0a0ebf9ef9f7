/* The ARPA reader and the LM API: valid files of orders 2-4 (counts, queries with backoff), and
 * broken or hostile ones (missing sections, bad counts, truncated lines, NaN weights, huge
 * counts, every truncation, random corruption): always a clear error, never a crash. Then the
 * LM in ds2_run: beam parameters and a vocabulary that does not match the model's labels. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_main.h"
#include "ds2.h"
#include "format/arpa.h"
#include "format/lmbin.h"
#include "gguf_builder.h"
#include "test_files.h"
#include "test_random.h"

static const char ORDER2[] = "\\data\\\nngram 1=4\nngram 2=2\n\n"
                             "\\1-grams:\n-99\t<s>\t-0.5\n-0.6\t</s>\n-0.4\tA\t-0.2\n-0.9\tB\n\n"
                             "\\2-grams:\n-0.1\t<s> A\n-0.3\tA B\n\n\\end\\\n";

static const char ORDER4[] =
    "\\data\\\nngram 1=5\nngram 2=3\nngram 3=2\nngram 4=1\n\n"
    "\\1-grams:\n-99 <s> -0.5\n-0.7 </s>\n-1.5 <unk>\n-0.5 A -0.25\n-0.8 B -0.1\n\n"
    "\\2-grams:\n-0.2 <s> A -0.3\n-0.4 A B -0.2\n-0.3 B </s>\n\n"
    "\\3-grams:\n-0.15 <s> A B -0.05\n-0.25 A B </s>\n\n"
    "\\4-grams:\n-0.01 <s> A B </s>\n\n\\end\\\n";

static ds2_status parse(const char *text, size_t len, struct ds2_lm **lm, ds2_err *err)
{
    return ds2_arpa_parse(text, len, "test.arpa", lm, err);
}

static double q(const struct ds2_lm *lm, const char *a, const char *b, const char *c, const char *w)
{
    int32_t ctx[3];
    int n = 0;
    const char *words[] = {a, b, c};
    for (int i = 0; i < 3; i++)
        if (words[i])
            ctx[n++] = ds2_lm_word_id(lm, words[i], strlen(words[i]));
    return ds2_lm_log10p(lm, ctx, n, ds2_lm_word_id(lm, w, strlen(w)));
}

START_TEST(valid_orders)
{
    struct ds2_lm *lm;
    ds2_err err;
    ck_assert_msg(parse(ORDER2, strlen(ORDER2), &lm, &err) == DS2_OK, "%s", err.msg);
    ck_assert_int_eq(lm->order, 2);
    ck_assert_int_eq(lm->n_words, 5); /* <unk> added */
    ck_assert(fabs(q(lm, NULL, NULL, "<s>", "A") - -0.1) < 1e-6);
    ck_assert(fabs(q(lm, NULL, NULL, "A", "</s>") - (-0.2 + -0.6)) < 1e-6);
    ck_assert(fabs(q(lm, NULL, NULL, "B", "A") - -0.4) < 1e-6); /* B has no backoff: 0 */
    ck_assert(fabs(q(lm, NULL, NULL, "A", "ZZZ") - (-0.2 + -100)) < 1e-4);
    ds2_lm_destroy(lm);

    ck_assert_msg(ds2_arpa_read("test/golden/tiny.arpa", &lm, &err) == DS2_OK, "%s", err.msg);
    ck_assert_int_eq(lm->order, 3);
    ck_assert(fabs(q(lm, NULL, "<s>", "A", "B") - -0.1) < 1e-6);
    /* <s> AB BA: no trigram, bo(<s> AB) + p(AB BA) */
    ck_assert(fabs(q(lm, NULL, "<s>", "AB", "BA") - (-0.1 + -0.8)) < 1e-6);
    /* C A B: no trigram, no bigram "C A" (bo 0), then bo(A) + ... no: bigram A B exists */
    ck_assert(fabs(q(lm, NULL, "C", "A", "B") - -0.3) < 1e-6);
    ds2_lm_destroy(lm);

    ck_assert_msg(parse(ORDER4, strlen(ORDER4), &lm, &err) == DS2_OK, "%s", err.msg);
    ck_assert_int_eq(lm->order, 4);
    ck_assert_int_eq(lm->n_words, 5);
    ck_assert(fabs(q(lm, "<s>", "A", "B", "</s>") - -0.01) < 1e-6);
    /* B A B </s>: no 4-gram; bo(A B) -0.2... no: 3-gram A B </s> exists, after bo(B A B)=0 */
    ck_assert(fabs(q(lm, "B", "A", "B", "</s>") - -0.25) < 1e-6);
    /* <s> A B A: bo(<s> A B) -0.05 + bo(A B) -0.2 + bo(B) -0.1 + p(A) -0.5 */
    ck_assert(fabs(q(lm, "<s>", "A", "B", "A") - (-0.05 - 0.2 - 0.1 - 0.5)) < 1e-6);
    ds2_lm_destroy(lm);
}
END_TEST

/* Each case: a replacement of one piece of ORDER2, and a phrase the error must contain. */
static const struct {
    const char *from, *to, *want;
} BROKEN[] = {
    {"\\data\\", "\\dada\\", "no \\data\\"},
    {"ngram 2=2\n", "", "needs 2 or more"},
    {"ngram 2=2", "ngram 3=2", "in turn"},
    {"ngram 2=2", "ngram 2=x", "ngram K=COUNT"},
    {"ngram 2=2", "ngram 2=-2", "ngram K=COUNT"},
    {"ngram 2=2", "ngram 2=3", "ends after 2 of 3"},
    {"ngram 2=2", "ngram 2=1", "expected \\end\\"},
    {"ngram 1=4", "ngram 1=99999999999", "declared counts need"},
    {"ngram 1=4", "ngram 1=0", "no unigrams"},
    {"ngram 1=4", "ngram 1=99999999999999999999999", "ngram K=COUNT"},
    {"\\2-grams:", "\\3-grams:", "expected the \\2-grams: section"},
    {"\\2-grams:\n-0.1\t<s> A\n-0.3\tA B\n\n", "", "expected the \\2-grams: section"},
    {"\\end\\\n", "", "before \\end\\"},
    {"-0.3\tA B", "-0.3\tA", "needs 3 or 4 fields"},
    {"-0.3\tA B", "-0.3\tA B 0 1", "needs 3 or 4 fields"},
    {"-0.3\tA B", "nan\tA B", "finite number <= 0"},
    {"-0.3\tA B", "0.5\tA B", "finite number <= 0"},
    {"-0.3\tA B", "-0.3x\tA B", "finite number <= 0"},
    {"-0.4\tA\t-0.2", "-0.4\tA\tnan", "backoff weight"},
    {"-0.4\tA\t-0.2", "-0.4\tA\tinf", "backoff weight"},
    {"-0.3\tA B", "-0.3\tA C", "'C' is not among the unigrams"},
    {"-0.3\tA B", "-0.1\t<s> A", "appears twice"},
    {"-0.9\tB", "-0.9\tA", "'A' appears twice"},
    {"-0.6\t</s>", "-0.6\t<unk>", "lacks the unigram </s>"},
    {"-99\t<s>", "-99\t<x>", "'<s>' is not among the unigrams"},
    {"-99\t<s>\t-0.5\n-0.6\t</s>\n-0.4\tA\t-0.2\n-0.9\tB\n\n\\2-grams:\n-0.1\t<s> A",
     "-99\t<x>\t-0.5\n-0.6\t</s>\n-0.4\tA\t-0.2\n-0.9\tB\n\n\\2-grams:\n-0.1\tB A",
     "lacks the unigram <s>"},
    {"\\1-grams:\n-99", "\\1-grams:\n\n-99", "ends after 0 of 4"},
};

static char *replace(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);
    ck_assert_ptr_nonnull(at);
    size_t a = (size_t)(at - text), f = strlen(from), t = strlen(to), n = strlen(text);
    char *out = malloc(n - f + t + 1);
    memcpy(out, text, a);
    memcpy(out + a, to, t);
    memcpy(out + a + t, at + f, n - a - f + 1);
    return out;
}

START_TEST(broken_files_are_named)
{
    for (size_t i = 0; i < sizeof BROKEN / sizeof *BROKEN; i++) {
        char *text = replace(ORDER2, BROKEN[i].from, BROKEN[i].to);
        struct ds2_lm *lm = (struct ds2_lm *)1;
        ds2_err err = {""};
        ck_assert_int_eq(parse(text, strlen(text), &lm, &err), DS2_ERR_MODEL_FORMAT);
        ck_assert_ptr_null(lm);
        ck_assert_msg(strstr(err.msg, BROKEN[i].want) && strstr(err.msg, "test.arpa"),
                      "case %zu: '%s' lacks '%s'", i, err.msg, BROKEN[i].want);
        free(text);
    }
}
END_TEST

/* A NUL byte inside a word (a libFuzzer finding: the word was kept cut short at the NUL, so it no
 * longer spelled itself) is refused with its line. */
START_TEST(nul_in_word_is_refused)
{
    size_t n = strlen(ORDER2);
    char *text = malloc(n);
    memcpy(text, ORDER2, n);
    char *a = strstr(text, "\tA\t");
    ck_assert_ptr_nonnull(a);
    a[1] = '\0';
    struct ds2_lm *lm = (struct ds2_lm *)1;
    ds2_err err = {""};
    ck_assert_int_eq(parse(text, n, &lm, &err), DS2_ERR_MODEL_FORMAT);
    ck_assert_ptr_null(lm);
    ck_assert_msg(strstr(err.msg, "line 8") && strstr(err.msg, "NUL"), "%s", err.msg);
    free(text);
}
END_TEST

START_TEST(every_truncation_is_refused)
{
    size_t n = strlen(ORDER4);
    for (size_t cut = 0; cut < n - 1; cut++) {
        struct ds2_lm *lm;
        ds2_err err;
        ds2_status st = parse(ORDER4, cut, &lm, &err);
        /* cutting only the final newline leaves a complete file */
        if (cut == n - 1)
            continue;
        ck_assert_msg(st == DS2_ERR_MODEL_FORMAT, "cut at %zu accepted", cut);
    }
}
END_TEST

START_TEST(random_corruption_never_crashes)
{
    unsigned rng = 14;
    size_t n = strlen(ORDER4);
    char *buf = malloc(n);
    static const char alphabet[] = " \t\n\\-=0123456789.<>/saAB";
    for (int trial = 0; trial < 3000; trial++) {
        memcpy(buf, ORDER4, n);
        int flips = 1 + (int)(test_rng_next(&rng) % 4);
        for (int k = 0; k < flips; k++)
            buf[test_rng_next(&rng) % n] = alphabet[test_rng_next(&rng) % (sizeof alphabet - 1)];
        struct ds2_lm *lm;
        ds2_err err;
        if (parse(buf, n, &lm, &err) == DS2_OK) {
            /* whatever parsed must answer queries */
            int32_t ctx[3] = {lm->bos_id, lm->unk_id, lm->eos_id};
            ck_assert(isfinite(ds2_lm_log10p(lm, ctx, 3, lm->unk_id)));
            ds2_lm_destroy(lm);
        }
    }
    free(buf);
}
END_TEST

START_TEST(public_load)
{
    ds2_lm *lm = (ds2_lm *)1;
    char err[256];
    ck_assert_int_eq(ds2_lm_load("test/golden/nope.arpa", &lm, err, sizeof err), DS2_ERR_IO);
    ck_assert_ptr_null(lm);
    ck_assert_ptr_nonnull(strstr(err, "nope.arpa"));
    ck_assert_int_eq(ds2_lm_load("test/golden/bigru.gguf", &lm, err, sizeof err),
                     DS2_ERR_MODEL_FORMAT);
    ck_assert_ptr_nonnull(strstr(err, "not an ARPA"));
    ck_assert_int_eq(ds2_lm_load("test/golden", &lm, err, sizeof err), DS2_ERR_IO);
    ck_assert_int_eq(ds2_lm_load(NULL, &lm, err, sizeof err), DS2_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ds2_lm_load("test/golden/tiny.arpa", &lm, err, sizeof err), DS2_OK);
    ck_assert_str_eq(err, "");
    ds2_lm_info info;
    ds2_lm_get_info(lm, &info);
    ck_assert_int_eq(info.order, 3);
    ck_assert_int_eq((int)info.counts[1], 9);
    ck_assert_int_eq((int)info.counts[2], 8);
    ck_assert_int_eq((int)info.counts[3], 4);
    ds2_lm_free(lm);
    ds2_lm_free(NULL);
}
END_TEST

/* ---------------------------------------------------------------- the binary form */

/* tiny.arpa's binary form (via ds2_lm_save_binary and a file), malloc'd */
static unsigned char *tiny_binary(size_t *size)
{
    ds2_lm *lm;
    char err[256];
    ck_assert_int_eq(ds2_lm_load("test/golden/tiny.arpa", &lm, err, sizeof err), DS2_OK);
    char *path = test_write_temp((const unsigned char *)"", 0, ".ds2lm");
    ck_assert_msg(ds2_lm_save_binary(lm, path, err, sizeof err) == DS2_OK, "%s", err);
    ds2_lm_free(lm);
    unsigned char *img = (unsigned char *)test_read_file(path, size);
    ck_assert_ptr_nonnull(img);
    unlink(path);
    free(path);
    return img;
}

static uint64_t get64(const unsigned char *img, size_t at)
{
    uint64_t v;
    memcpy(&v, img + at, 8);
    return v;
}

static void put32(unsigned char *img, size_t at, uint32_t v)
{
    memcpy(img + at, &v, 4);
}

/* header field offsets and the sections, as format/lmbin.h lays them out */
enum {
    H_VERSION = 8,
    H_ORDER = 12,
    H_NWORDS = 16,
    H_UNK = 20,
    H_RESERVED = 32,
    H_SIZE = 40,
    H_BLOB = 48,
    H_VCAP = 56,
    H_N = 64,
    H_CAP = 120,
    H_END = 232
};
#define A8(x) (((x) + 7) & ~(size_t)7)
typedef struct sections {
    size_t offsets, blob, vocab, uni_logp, keys2, logp2;
    uint32_t n_words;
    uint64_t vcap, cap2;
} sections;

static sections find_sections(const unsigned char *img)
{
    sections x;
    memcpy(&x.n_words, img + H_NWORDS, 4);
    x.vcap = get64(img, H_VCAP);
    x.cap2 = get64(img, H_CAP + 2 * 8);
    x.offsets = H_END;
    x.blob = A8(x.offsets + (x.n_words + 1) * 8);
    x.vocab = A8(x.blob + get64(img, H_BLOB));
    x.uni_logp = A8(x.vocab + x.vcap * 4);
    x.keys2 = A8(A8(x.uni_logp + x.n_words * 4) + x.n_words * 4);
    x.logp2 = A8(x.keys2 + x.cap2 * 8);
    return x;
}

static ds2_status bin_parse(const unsigned char *img, size_t n, struct ds2_lm **lm, ds2_err *err)
{
    return ds2_lmbin_parse(img, n, "test.ds2lm", lm, err);
}

/* tiny.arpa's words A B C AB BA CAB: the prefix trie holds each of their prefixes and nothing
 * else (not <s>, </s>, <unk>). */
static void check_prefixes(const ds2_lm *lm)
{
    static const char *const yes[] = {"A", "B", "C", "AB", "BA", "CA", "CAB"};
    static const char *const no[] = {"AA", "ABA", "CB", "'", "<", "<s>", "<unk>", "CABA", "D"};
    ck_assert_int_eq(ds2_lm_prefix_step(lm, 0, "", 0), 0);
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
        ck_assert_msg(ds2_lm_prefix_step(lm, 0, yes[i], strlen(yes[i])) > 0, "%s", yes[i]);
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        ck_assert_msg(ds2_lm_prefix_step(lm, 0, no[i], strlen(no[i])) == -1, "%s", no[i]);
    /* stepwise equals at once; -1 stays -1 */
    int32_t c = ds2_lm_prefix_step(lm, 0, "C", 1);
    ck_assert_int_eq(ds2_lm_prefix_step(lm, c, "AB", 2), ds2_lm_prefix_step(lm, 0, "CAB", 3));
    ck_assert_int_eq(ds2_lm_prefix_step(lm, -1, "A", 1), -1);
    /* root + 7 distinct prefixes (A, B, C, AB, BA, CA, CAB) */
    ck_assert_int_eq(lm->n_pfx, 8);
}

/* The binary form answers every query as the ARPA file does, through ds2_lm_load on a file. */
START_TEST(binary_round_trip)
{
    ds2_lm *text, *bin;
    char err[256];
    ck_assert_int_eq(ds2_lm_load("test/golden/tiny.arpa", &text, err, sizeof err), DS2_OK);
    size_t size;
    unsigned char *img = tiny_binary(&size);
    char *path = test_write_temp(img, size, ".ds2lm");
    ck_assert_msg(ds2_lm_load(path, &bin, err, sizeof err) == DS2_OK, "%s", err);
    ck_assert_ptr_nonnull(bin->image); /* mapped, not parsed */
    ds2_lm_info a, b;
    ds2_lm_get_info(text, &a);
    ds2_lm_get_info(bin, &b);
    ck_assert_mem_eq(&a, &b, sizeof a);
    ck_assert_int_eq(bin->n_words, text->n_words);
    ck_assert_int_eq(bin->unk_id, text->unk_id);
    int V = text->n_words, queries = 0;
    for (int w = 0; w < V; w++) {
        ck_assert_str_eq(bin->words[w], text->words[w]);
        ck_assert_int_eq(ds2_lm_word_id(bin, text->words[w], strlen(text->words[w])), w);
        for (int x = 0; x < V; x++)
            for (int y = 0; y < V; y++) {
                int32_t ctx[2] = {x, y};
                for (int n = 0; n <= 2; n++, queries++)
                    ck_assert(ds2_lm_log10p(bin, ctx + 2 - n, n, w) ==
                              ds2_lm_log10p(text, ctx + 2 - n, n, w));
            }
    }
    ck_assert_int_eq(ds2_lm_word_id(bin, "NOPE", 4), bin->unk_id);
    ck_assert_int_gt(queries, 2000);
    check_prefixes(text);
    check_prefixes(bin); /* built at load from the mapped vocabulary too */
    ck_assert_int_eq(bin->n_pfx, text->n_pfx);
    /* written again from the binary: the same bytes */
    ck_assert_int_eq(ds2_lm_save_binary(bin, path, err, sizeof err), DS2_OK);
    size_t size2;
    char *again = test_read_file(path, &size2);
    ck_assert_int_eq(size2, size);
    ck_assert_mem_eq(again, img, size);
    free(again);
    ck_assert_int_eq(ds2_lm_save_binary(NULL, path, err, sizeof err), DS2_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ds2_lm_save_binary(bin, "/nonexistent-dir/x.ds2lm", err, sizeof err),
                     DS2_ERR_IO);
    unlink(path);
    free(path);
    free(img);
    ds2_lm_free(text);
    ds2_lm_free(bin);
}
END_TEST

typedef struct field_case {
    const char *what;
    size_t at;
    uint32_t value;
    const char *expect;
} field_case;

/* Each field a lookup relies on, broken alone: a clear error naming the file, never a crash. */
START_TEST(binary_broken_fields)
{
    size_t size;
    unsigned char *good = tiny_binary(&size);
    unsigned char *img = malloc(size);
    sections x = find_sections(good);
    uint32_t nan_bits = 0x7fc00000u;
    field_case cases[] = {
        {"magic", 0, 0x21212121u, "not a binary LM"},
        {"version", H_VERSION, 2, "version 2"},
        {"order 0", H_ORDER, 0, "order"},
        {"order 7", H_ORDER, 7, "order"},
        {"reserved", H_RESERVED + 4, 1, "reserved"},
        {"file size", H_SIZE, (uint32_t)size + 8, "truncated"},
        {"n_words", H_NWORDS, 1u << 30, "vocabulary table"},
        {"vocab cap", H_VCAP, 24, "vocabulary table"},
        {"2-gram count", H_N + 2 * 8, 1000, "2-grams in a table"},
        {"2-gram cap", H_CAP + 2 * 8, 48, "2-grams in a table"},
        {"4-gram table in an order-3 LM", H_CAP + 4 * 8, 16, "order 4"},
        {"word offset", x.offsets + 8, 0xffffu, "bad offsets"},
        {"word NUL", x.blob + 4, 0x41414141u, "NUL-terminated"},
        {"vocab slot value", x.vocab, 1000, "vocabulary slot"},
        {"<unk> id", H_UNK, 1000, "<unk>"},
        {"unigram NaN", x.uni_logp + 4, nan_bits, "finite"},
        {"2-gram word id", x.keys2, 0, ""}, /* set below to an occupied slot */
        {"2-gram NaN", x.logp2, nan_bits, ""},
    };
    /* the first occupied 2-gram slot */
    size_t occupied = 0;
    while (occupied < x.cap2 && (int32_t)get64(good, x.keys2 + occupied * 8) < 0)
        occupied++;
    ck_assert_uint_lt(occupied, x.cap2);
    int n_cases = (int)(sizeof cases / sizeof cases[0]);
    cases[n_cases - 2] =
        (field_case){"2-gram word id", x.keys2 + occupied * 8 + 4, 999, "out of range"};
    cases[n_cases - 1] = (field_case){"2-gram NaN", x.logp2 + occupied * 4, nan_bits, "finite"};
    for (int c = 0; c < n_cases; c++) {
        memcpy(img, good, size);
        put32(img, cases[c].at, cases[c].value);
        struct ds2_lm *lm = NULL;
        ds2_err err;
        ds2_status st = bin_parse(img, size, &lm, &err);
        ck_assert_msg(st == DS2_ERR_MODEL_FORMAT, "%s: accepted (%d)", cases[c].what, st);
        ck_assert_msg(strstr(err.msg, cases[c].expect) && strstr(err.msg, "test.ds2lm"), "%s: '%s'",
                      cases[c].what, err.msg);
        ck_assert_ptr_null(lm);
    }
    /* an occupied 2-gram moved to another (empty) slot: not where its probe ends */
    memcpy(img, good, size);
    size_t empty = 0;
    while ((int32_t)get64(good, x.keys2 + empty * 8) >= 0 || empty == occupied + 1)
        empty++;
    memcpy(img + x.keys2 + empty * 8, good + x.keys2 + occupied * 8, 8);
    memset(img + x.keys2 + occupied * 8, 0xff, 8);
    struct ds2_lm *lm = NULL;
    ds2_err err;
    ds2_status st = bin_parse(img, size, &lm, &err);
    /* (a move that keeps it on its probe chain is still a valid table) */
    if (st != DS2_OK)
        ck_assert_msg(strstr(err.msg, "hash slot"), "%s", err.msg);
    ds2_lm_destroy(lm);
    /* a duplicated 2-gram: one more than the header's count, or a copy off its slot */
    memcpy(img, good, size);
    memcpy(img + x.keys2 + empty * 8, good + x.keys2 + occupied * 8, 8);
    ck_assert_int_eq(bin_parse(img, size, &lm, &err), DS2_ERR_MODEL_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "2-grams where the header says"));
    /* a partly empty key */
    memcpy(img, good, size);
    put32(img, x.keys2 + empty * 8 + 4, 3);
    ck_assert_int_eq(bin_parse(img, size, &lm, &err), DS2_ERR_MODEL_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "partly empty"));
    /* a word moved off its vocabulary slot */
    memcpy(img, good, size);
    size_t v = 0;
    while (*(const int32_t *)(good + x.vocab + v * 4) == 0)
        v++;
    size_t w = (v + 1) % x.vcap;
    while (*(const int32_t *)(good + x.vocab + w * 4) != 0)
        w = (w + 1) % x.vcap;
    memcpy(img + x.vocab + w * 4, good + x.vocab + v * 4, 4);
    put32(img, x.vocab + v * 4, 0);
    st = bin_parse(img, size, &lm, &err);
    if (st != DS2_OK)
        ck_assert_msg(strstr(err.msg, "hash slot"), "%s", err.msg);
    ds2_lm_destroy(lm);
    free(img);
    free(good);
}
END_TEST

START_TEST(binary_every_truncation_and_corruption)
{
    size_t size;
    unsigned char *good = tiny_binary(&size);
    for (size_t cut = 0; cut < size; cut++) {
        struct ds2_lm *lm = NULL;
        ds2_err err;
        ck_assert_msg(bin_parse(good, cut, &lm, &err) == DS2_ERR_MODEL_FORMAT,
                      "cut at %zu accepted", cut);
        ck_assert_ptr_null(lm);
    }
    unsigned char *img = malloc(size);
    unsigned rng = 14;
    int ok = 0;
    for (int trial = 0; trial < 3000; trial++) {
        memcpy(img, good, size);
        int flips = 1 + (int)(test_rng_next(&rng) % 3);
        for (int k = 0; k < flips; k++)
            img[test_rng_next(&rng) % size] = (unsigned char)test_rng_next(&rng);
        struct ds2_lm *lm;
        ds2_err err;
        ds2_status st = bin_parse(img, size, &lm, &err);
        ck_assert_msg(st == DS2_OK || st == DS2_ERR_MODEL_FORMAT, "trial %d: status %d", trial, st);
        if (st == DS2_OK) {
            /* whatever validated must answer queries */
            ok++;
            for (int w = 0; w < lm->n_words; w++) {
                int32_t ctx[2] = {lm->bos_id, w};
                ck_assert(isfinite(ds2_lm_log10p(lm, ctx, 2, lm->eos_id)));
            }
            ds2_lm_destroy(lm);
        }
    }
    ck_assert_int_lt(ok, 3000); /* the corruption is seen */
    free(img);
    free(good);
}
END_TEST

/* A FIFO with no writer named as the LM: a plain fopen would block forever; alarm() turns a hang
 * into a failure. A character device is refused the same way. */
START_TEST(fifo_refused_promptly)
{
    char dir[] = "/tmp/ds2-test-lm-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char fifo[64];
    snprintf(fifo, sizeof fifo, "%s/lm.arpa", dir);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    alarm(10);
    ds2_lm *lm = (ds2_lm *)1;
    char err[256];
    ck_assert_int_eq(ds2_lm_load(fifo, &lm, err, sizeof err), DS2_ERR_IO);
    ck_assert_ptr_null(lm);
    ck_assert_msg(strstr(err, fifo) && strstr(err, "not a regular file") && strstr(err, "FIFO"),
                  "%s", err);
    ck_assert_int_eq(ds2_lm_load("/dev/zero", &lm, err, sizeof err), DS2_ERR_IO);
    ck_assert_msg(strstr(err, "character device"), "%s", err);
    alarm(0);
    unlink(fifo);
    rmdir(dir);
}
END_TEST

static char *write_temp(const char *text)
{
    char *path = test_write_temp((const unsigned char *)text, strlen(text), ".arpa");
    return path;
}

/* On the golden model (labels ' A-Z space): beam with and without the LM, its parameter checks,
 * and an LM spelled in lower case. */
START_TEST(run_with_lm)
{
    char err[512];
    ds2_model *m;
    ck_assert_msg(ds2_model_load("test/golden/bigru.gguf", NULL, &m, err, sizeof err) == DS2_OK,
                  "%s", err);
    ds2_session *s;
    ck_assert_int_eq(ds2_session_create(m, NULL, &s, err, sizeof err), DS2_OK);
    ds2_audio audio;
    ck_assert_int_eq(ds2_audio_load("test/golden/speech.wav", 16000, &audio, err, sizeof err),
                     DS2_OK);
    ds2_utterance u = {audio.samples, audio.n_samples};
    ds2_lm *lm;
    ck_assert_int_eq(ds2_lm_load("test/golden/tiny.arpa", &lm, err, sizeof err), DS2_OK);

    ds2_run_params rp = ds2_run_default_params();
    ck_assert_int_eq(rp.decoder, DS2_DECODER_GREEDY);
    ck_assert(rp.unk_score_offset == DS2_DEFAULT_UNK_SCORE_OFFSET);
    ck_assert(rp.token_min_logp == 0 && rp.beam_prune_logp == 0);
    rp.want_timestamps = 1;
    ds2_result greedy, beam, with_lm;
    ck_assert_int_eq(ds2_run(s, &u, 1, &rp, &greedy), DS2_OK);
    rp.decoder = DS2_DECODER_BEAM;
    rp.beam_width = 16;
    ck_assert_int_eq(ds2_run(s, &u, 1, &rp, &beam), DS2_OK);
    rp.lm = lm;
    rp.alpha = 0.5;
    rp.beta = 1.0;
    ck_assert_msg(ds2_run(s, &u, 1, &rp, &with_lm) == DS2_OK, "%s", ds2_session_error(s));
    ds2_result *all[] = {&greedy, &beam, &with_lm};
    for (int i = 0; i < 3; i++) {
        ds2_result *r = all[i];
        ck_assert_ptr_nonnull(r->text);
        ck_assert(r->score <= 0);
        double prev = -1;
        size_t chars = 0;
        for (int w = 0; w < r->n_words; w++) {
            ck_assert(r->words[w].start_s >= prev && r->words[w].end_s >= r->words[w].start_s);
            ck_assert(r->words[w].end_s <= r->n_frames * 0.02 + 1e-9);
            ck_assert_ptr_nonnull(strstr(r->text, r->words[w].text));
            prev = r->words[w].end_s;
            chars += strlen(r->words[w].text);
        }
        ck_assert(chars <= strlen(r->text));
    }
    /* the beam's best beats or equals the greedy path's probability */
    ck_assert(beam.score >= greedy.score - 1e-6);
    printf("greedy: %s\nbeam: %s\nbeam+lm: %s\n", greedy.text, beam.text, with_lm.text);
    for (int i = 0; i < 3; i++)
        ds2_result_free(all[i]);

    /* bad parameters */
    ds2_result r;
    ds2_run_params bad = rp;
    bad.beam_width = -1;
    ck_assert_int_eq(ds2_run(s, &u, 1, &bad, &r), DS2_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(ds2_session_error(s), "beam_width"));
    bad = rp;
    bad.alpha = NAN;
    ck_assert_int_eq(ds2_run(s, &u, 1, &bad, &r), DS2_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(ds2_session_error(s), "alpha"));
    bad = rp;
    bad.cutoff_prob = 0;
    ck_assert_int_eq(ds2_run(s, &u, 1, &bad, &r), DS2_ERR_INVALID_ARGUMENT);
    bad = rp;
    bad.decoder = (ds2_decoder)9;
    ck_assert_int_eq(ds2_run(s, &u, 1, &bad, &r), DS2_ERR_INVALID_ARGUMENT);
    double bad_unk[] = {NAN, INFINITY, -INFINITY, 1.0};
    for (size_t i = 0; i < sizeof bad_unk / sizeof *bad_unk; i++) {
        bad = rp;
        bad.unk_score_offset = bad_unk[i];
        ck_assert_int_eq(ds2_run(s, &u, 1, &bad, &r), DS2_ERR_INVALID_ARGUMENT);
        ck_assert_ptr_nonnull(strstr(ds2_session_error(s), "unk_score_offset"));
    }
    double bad_prune[] = {NAN, INFINITY, 0.5};
    for (size_t i = 0; i < sizeof bad_prune / sizeof *bad_prune; i++) {
        bad = rp;
        bad.token_min_logp = bad_prune[i];
        ck_assert_int_eq(ds2_run(s, &u, 1, &bad, &r), DS2_ERR_INVALID_ARGUMENT);
        ck_assert_ptr_nonnull(strstr(ds2_session_error(s), "token_min_logp"));
        bad = rp;
        bad.beam_prune_logp = bad_prune[i];
        ck_assert_int_eq(ds2_run(s, &u, 1, &bad, &r), DS2_ERR_INVALID_ARGUMENT);
        ck_assert_ptr_nonnull(strstr(ds2_session_error(s), "beam_prune_logp"));
    }

    /* an LM in lower case does not match the labels */
    char *lower = write_temp("\\data\\\nngram 1=3\nngram 2=1\n\n\\1-grams:\n-99 <s>\n-1 </s>\n"
                             "-1 hello\n\n\\2-grams:\n-0.5 <s> hello\n\n\\end\\\n");
    ds2_lm *lm2;
    ck_assert_int_eq(ds2_lm_load(lower, &lm2, err, sizeof err), DS2_OK);
    bad = rp;
    bad.lm = lm2;
    ck_assert_int_eq(ds2_run(s, &u, 1, &bad, &r), DS2_ERR_INVALID_ARGUMENT);
    ck_assert_msg(strstr(ds2_session_error(s), "'hello'") != NULL, "%s", ds2_session_error(s));
    ds2_lm_free(lm2);
    unlink(lower);
    free(lower);

    ds2_lm_free(lm);
    ds2_audio_free(&audio);
    ds2_session_free(s);
    ds2_model_free(m);
}
END_TEST

static Suite *lm_suite(void)
{
    Suite *s = suite_create("lm");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, valid_orders);
    tcase_add_test(tc, broken_files_are_named);
    tcase_add_test(tc, nul_in_word_is_refused);
    tcase_add_test(tc, every_truncation_is_refused);
    tcase_add_test(tc, random_corruption_never_crashes);
    tcase_add_test(tc, public_load);
    tcase_add_test(tc, fifo_refused_promptly);
    tcase_add_test(tc, run_with_lm);
    tcase_add_test(tc, binary_round_trip);
    tcase_add_test(tc, binary_broken_fields);
    tcase_add_test(tc, binary_every_truncation_and_corruption);
    suite_add_tcase(s, tc);
    return s;
}

DS2_CHECK_MAIN(lm_suite)
