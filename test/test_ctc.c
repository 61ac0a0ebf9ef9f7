#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "decode/ctc_greedy.h"

/* Labels as deepspeech.pytorch's English set: blank '_' first, then letters and space. */
static const char *const LABELS[] = {"_", "'", "A", "B", "C", " "};
enum { L = 6, BLANK = 0, APOS = 1, A = 2, B = 3, C = 4, SP = 5 };

/* One-hot-ish probabilities: frame t peaks at ids[t]. */
static float *probs_for(const int *ids, int t_count, int n_labels)
{
    float *p = malloc((size_t)(t_count ? t_count : 1) * n_labels * sizeof(float));
    for (int t = 0; t < t_count; t++) {
        for (int l = 0; l < n_labels; l++)
            p[t * n_labels + l] = 0.1f / n_labels;
        p[t * n_labels + ids[t]] = 0.9f;
    }
    return p;
}

static void expect(const int *ids, int t_count, const char *want)
{
    float *p = probs_for(ids, t_count, L);
    char *got = ds2_ctc_greedy_decode(p, t_count, L, BLANK, LABELS);
    ck_assert_ptr_nonnull(got);
    ck_assert_str_eq(got, want);
    free(got);
    free(p);
}

START_TEST(repeats_collapse)
{
    int ids[] = {A, A, A, B, B, C};
    expect(ids, 6, "ABC");
}
END_TEST

START_TEST(blank_separates_repeats)
{
    int ids[] = {A, A, BLANK, A, BLANK, BLANK, B, BLANK, B, B};
    expect(ids, 10, "AABB");
}
END_TEST

START_TEST(space_and_apostrophe)
{
    int ids[] = {BLANK, A, SP, SP, B, APOS, C, BLANK};
    expect(ids, 8, "A B'C");
}
END_TEST

START_TEST(all_blank)
{
    int ids[] = {BLANK, BLANK, BLANK};
    expect(ids, 3, "");
}
END_TEST

START_TEST(no_frames)
{
    expect(NULL, 0, "");
    char *got = ds2_ctc_greedy_decode(NULL, 0, L, BLANK, LABELS);
    ck_assert_ptr_nonnull(got);
    ck_assert_str_eq(got, "");
    free(got);
}
END_TEST

START_TEST(ties_pick_first_max)
{
    /* frame 0: A and B tie -> A; frame 1: B and C tie -> B; frame 2: all equal -> blank */
    float p[3 * L] = {0};
    p[0 * L + A] = p[0 * L + B] = 0.5f;
    p[1 * L + B] = p[1 * L + C] = 0.5f;
    for (int l = 0; l < L; l++)
        p[2 * L + l] = 1.0f / L;
    char *got = ds2_ctc_greedy_decode(p, 3, L, BLANK, LABELS);
    ck_assert_str_eq(got, "AB");
    free(got);
}
END_TEST

START_TEST(nan_is_maximal)
{
    float p[2 * L] = {0};
    p[0 * L + A] = 0.9f;
    p[0 * L + C] = NAN; /* torch.max returns the NaN's index */
    p[1 * L + B] = 0.9f;
    char *got = ds2_ctc_greedy_decode(p, 2, L, BLANK, LABELS);
    ck_assert_str_eq(got, "CB");
    free(got);
}
END_TEST

START_TEST(blank_not_first)
{
    static const char *const labels[] = {"A", "B", "-"};
    int ids[] = {0, 2, 0, 1, 1, 2};
    float *p = probs_for(ids, 6, 3);
    char *got = ds2_ctc_greedy_decode(p, 6, 3, 2, labels);
    ck_assert_str_eq(got, "AAB");
    free(got);
    free(p);
}
END_TEST

START_TEST(multibyte_labels)
{
    /* UTF-8: "é" (2 bytes), "ж" (2 bytes), "日本" (6 bytes), "🙂" (4 bytes) */
    static const char *const labels[] = {
        "_", "\xc3\xa9", "\xd0\xb6", "\xe6\x97\xa5\xe6\x9c\xac", "\xf0\x9f\x99\x82", " "};
    int ids[] = {1, 1, 0, 1, 2, 5, 3, 3, 4, 0};
    float *p = probs_for(ids, 10, 6);
    char *got = ds2_ctc_greedy_decode(p, 10, 6, 0, labels);
    ck_assert_str_eq(got, "\xc3\xa9\xc3\xa9\xd0\xb6 \xe6\x97\xa5\xe6\x9c\xac\xf0\x9f\x99\x82");
    free(got);
    free(p);
}
END_TEST

START_TEST(equal_label_strings_compare_as_text)
{
    /* Upstream compares strings: a second label spelled as the blank is dropped, and two
     * labels spelled alike in consecutive frames collapse. */
    static const char *const labels[] = {"_", "X", "X", "_"};
    int ids[] = {1, 2, 3, 1};
    float *p = probs_for(ids, 4, 4);
    char *got = ds2_ctc_greedy_decode(p, 4, 4, 0, labels);
    ck_assert_str_eq(got, "XX");
    free(got);
    free(p);
}
END_TEST

START_TEST(long_transcript_grows_buffer)
{
    enum { T = 5000 };
    int *ids = malloc(T * sizeof(int));
    for (int t = 0; t < T; t++)
        ids[t] = t % 2 ? BLANK : A + (t / 2) % 3;
    float *p = probs_for(ids, T, L);
    char *got = ds2_ctc_greedy_decode(p, T, L, BLANK, LABELS);
    ck_assert_uint_eq(strlen(got), T / 2);
    for (int i = 0; i < T / 2; i++)
        ck_assert_int_eq(got[i], "ABC"[i % 3]);
    free(got);
    free(p);
    free(ids);
}
END_TEST

/* From each frame's ds2_ctc_argmax the _best functions decide as the probability ones do: random
 * frames with ties (values from a set of 4), NaNs and label strings spelled alike. */
START_TEST(best_labels_decide_the_same)
{
    static const char *const labels[] = {"_", "A", "B", "A", " ", "_"};
    const int n_labels = 6, frames = 4000;
    float *p = malloc((size_t)frames * n_labels * sizeof *p);
    int *best = malloc((size_t)frames * sizeof *best);
    unsigned seed = 7;
    for (int i = 0; i < frames * n_labels; i++) {
        seed = seed * 1664525u + 1013904223u;
        p[i] = (seed >> 28) == 15 ? NAN : (float)((seed >> 24) % 4) * 0.25f;
    }
    for (int t = 0; t < frames; t++)
        best[t] = ds2_ctc_argmax(p + (size_t)t * n_labels, n_labels);
    for (int blank = 0; blank < 2; blank++) {
        char *a = ds2_ctc_greedy_decode(p, frames, n_labels, blank, labels);
        char *b = ds2_ctc_greedy_decode_best(best, frames, n_labels, blank, labels);
        ck_assert_ptr_nonnull(a);
        ck_assert_ptr_nonnull(b);
        ck_assert_str_eq(a, b);
        int *pa, *pb, na, nb;
        double score;
        ck_assert_int_eq(ds2_ctc_greedy_path(p, frames, n_labels, blank, labels, &pa, &na, &score),
                         0);
        ck_assert_int_eq(ds2_ctc_greedy_path_best(best, frames, n_labels, blank, labels, &pb, &nb),
                         0);
        ck_assert_int_eq(na, nb);
        ck_assert_mem_eq(pa, pb, (size_t)na * 3 * sizeof *pa);
        free(a);
        free(b);
        free(pa);
        free(pb);
    }
    best[17] = n_labels; /* out of range */
    ck_assert_ptr_null(ds2_ctc_greedy_decode_best(best, frames, n_labels, 0, labels));
    int *path, n;
    ck_assert_int_eq(ds2_ctc_greedy_path_best(best, frames, n_labels, 0, labels, &path, &n), -1);
    ck_assert_ptr_null(path);
    ck_assert_ptr_null(ds2_ctc_greedy_decode_best(NULL, 3, n_labels, 0, labels));
    free(p);
    free(best);
}
END_TEST

START_TEST(bad_arguments)
{
    float p[L] = {0};
    static const char *const with_null[] = {"_", NULL};
    ck_assert_ptr_null(ds2_ctc_greedy_decode(NULL, 1, L, BLANK, LABELS));
    ck_assert_ptr_null(ds2_ctc_greedy_decode(p, -1, L, BLANK, LABELS));
    ck_assert_ptr_null(ds2_ctc_greedy_decode(p, 1, 0, 0, LABELS));
    ck_assert_ptr_null(ds2_ctc_greedy_decode(p, 1, L, L, LABELS));
    ck_assert_ptr_null(ds2_ctc_greedy_decode(p, 1, L, -1, LABELS));
    ck_assert_ptr_null(ds2_ctc_greedy_decode(p, 1, L, BLANK, NULL));
    ck_assert_ptr_null(ds2_ctc_greedy_decode(p, 1, 2, 0, with_null));
}
END_TEST

static Suite *ctc_suite(void)
{
    Suite *s = suite_create("ctc_greedy");
    TCase *tc = tcase_create("decode");
    tcase_add_test(tc, repeats_collapse);
    tcase_add_test(tc, blank_separates_repeats);
    tcase_add_test(tc, space_and_apostrophe);
    tcase_add_test(tc, all_blank);
    tcase_add_test(tc, no_frames);
    tcase_add_test(tc, ties_pick_first_max);
    tcase_add_test(tc, nan_is_maximal);
    tcase_add_test(tc, blank_not_first);
    tcase_add_test(tc, multibyte_labels);
    tcase_add_test(tc, equal_label_strings_compare_as_text);
    tcase_add_test(tc, long_transcript_grows_buffer);
    tcase_add_test(tc, best_labels_decide_the_same);
    tcase_add_test(tc, bad_arguments);
    suite_add_tcase(s, tc);
    return s;
}

DS2_CHECK_MAIN(ctc_suite)
