/* WER/CER edit distances against hand-computed cases (deepspeech.pytorch conventions). */
#include "metrics.h"

#include "check_main.h"

#include <check.h>
#include <stdlib.h>

static void check_words(const char *hyp, const char *ref, long want_errors, long want_ref)
{
    long n = -7;
    long d = ds2_word_errors(hyp, ref, &n);
    ck_assert_msg(d == want_errors, "word errors('%s', '%s') = %ld, want %ld", hyp, ref, d,
                  want_errors);
    ck_assert_msg(n == want_ref, "ref words('%s') = %ld, want %ld", ref, n, want_ref);
}

static void check_chars(const char *hyp, const char *ref, long want_errors, long want_ref)
{
    long n = -7;
    long d = ds2_char_errors(hyp, ref, &n);
    ck_assert_msg(d == want_errors, "char errors('%s', '%s') = %ld, want %ld", hyp, ref, d,
                  want_errors);
    ck_assert_msg(n == want_ref, "ref chars('%s') = %ld, want %ld", ref, n, want_ref);
}

START_TEST(identical)
{
    check_words("THE CAT SAT", "THE CAT SAT", 0, 3);
    check_chars("THE CAT SAT", "THE CAT SAT", 0, 9);
}
END_TEST

START_TEST(empty_hypothesis)
{
    /* Every reference unit is a deletion. */
    check_words("", "THE CAT SAT", 3, 3);
    check_chars("", "THE CAT SAT", 9, 9);
    check_words(NULL, "A B", 2, 2);
}
END_TEST

START_TEST(empty_reference)
{
    /* Every hypothesis unit is an insertion; the reference length is 0. */
    check_words("THE CAT", "", 2, 0);
    check_chars("THE CAT", "", 6, 0);
    check_words("", "", 0, 0);
    check_chars("", "", 0, 0);
    check_chars("   ", " ", 0, 0);
}
END_TEST

START_TEST(substitution)
{
    check_words("THE BAT SAT", "THE CAT SAT", 1, 3);
    check_chars("THE BAT SAT", "THE CAT SAT", 1, 9);
}
END_TEST

START_TEST(insertion_and_deletion)
{
    check_words("THE BIG CAT SAT", "THE CAT SAT", 1, 3); /* one inserted word */
    check_words("THE SAT", "THE CAT SAT", 1, 3);         /* one deleted word */
    check_chars("THECATS SAT", "THE CAT SAT", 1, 9);     /* spaces ignored; one 'S' inserted */
    check_chars("TH CT ST", "THE CAT SAT", 3, 9);        /* three deletions */
    /* Word order swap: two substitutions, not one transposition. */
    check_words("CAT THE", "THE CAT", 2, 2);
}
END_TEST

START_TEST(multiple_spaces)
{
    /* Python's str.split(): runs of whitespace and leading/trailing blanks make no words. */
    check_words("  THE   CAT\tSAT  ", "THE CAT SAT", 0, 3);
    check_words("THE CAT SAT", "\n THE  CAT SAT \n", 0, 3);
    /* CER removes only ' ', like validation.py's replace(' ', ''). */
    check_chars("THE   CAT", "THECAT", 0, 6);
}
END_TEST

START_TEST(deepspeech_pytorch_example)
{
    /* As WordErrorRate.wer_calc: words mapped to symbols, then Levenshtein.
     * hyp: "THE QUICK BROWN FOX JUMPED OVER A LAZY DOG" vs
     * ref: "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG":
     * JUMPED/JUMPS and A/THE are substitutions -> 2 of 9 words.
     * CER: JUMPED vs JUMPS = 2 (S->E sub + D ins), A vs THE = 3 (1 sub + 2 ins) -> 5 of 35. */
    const char *hyp = "THE QUICK BROWN FOX JUMPED OVER A LAZY DOG";
    const char *ref = "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG";
    check_words(hyp, ref, 2, 9);
    check_chars(hyp, ref, 5, 35);
    /* Corpus rates are sums over utterances divided by total reference units. */
    long w1, w2, c1, c2;
    long e1 = ds2_word_errors(hyp, ref, &w1);
    long e2 = ds2_word_errors("HELLO WORLD", "HELLO WORLD", &w2);
    ck_assert_int_eq(e1 + e2, 2);
    ck_assert_int_eq(w1 + w2, 11);
    long f1 = ds2_char_errors(hyp, ref, &c1);
    long f2 = ds2_char_errors("HELO WORLD", "HELLO WORLD", &c2);
    ck_assert_int_eq(f1 + f2, 6);
    ck_assert_int_eq(c1 + c2, 45);
}
END_TEST

START_TEST(classic_kitten)
{
    /* Levenshtein's textbook case: kitten -> sitting = 3. */
    check_chars("KITTEN", "SITTING", 3, 7);
    check_chars("SITTING", "KITTEN", 3, 6);
    /* Distance is symmetric for words as well. */
    check_words("A B C D", "B C E", 2, 3);
    check_words("B C E", "A B C D", 2, 4);
}
END_TEST

START_TEST(long_inputs)
{
    /* 2000 words against a version with every 10th word changed: 200 substitutions. */
    enum { N = 2000 };
    char *ref = malloc(N * 2 + 1), *hyp = malloc(N * 2 + 1);
    for (int i = 0; i < N; i++) {
        ref[2 * i] = 'A';
        hyp[2 * i] = i % 10 == 0 ? 'B' : 'A';
        ref[2 * i + 1] = hyp[2 * i + 1] = ' ';
    }
    ref[2 * N] = hyp[2 * N] = '\0';
    /* Asserted directly: the strings are too long for Check's failure messages. */
    long n_words, n_chars;
    ck_assert_int_eq(ds2_word_errors(hyp, ref, &n_words), N / 10);
    ck_assert_int_eq(n_words, N);
    ck_assert_int_eq(ds2_char_errors(hyp, ref, &n_chars), N / 10);
    ck_assert_int_eq(n_chars, N);
    free(ref);
    free(hyp);
}
END_TEST

START_TEST(null_ref_units_allowed)
{
    ck_assert_int_eq(ds2_word_errors("A", "B", NULL), 1);
    ck_assert_int_eq(ds2_char_errors("AB", "B", NULL), 1);
}
END_TEST

static Suite *metrics_suite(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("edit_distance");
    tcase_add_test(tc, identical);
    tcase_add_test(tc, empty_hypothesis);
    tcase_add_test(tc, empty_reference);
    tcase_add_test(tc, substitution);
    tcase_add_test(tc, insertion_and_deletion);
    tcase_add_test(tc, multiple_spaces);
    tcase_add_test(tc, deepspeech_pytorch_example);
    tcase_add_test(tc, classic_kitten);
    tcase_add_test(tc, long_inputs);
    tcase_add_test(tc, null_ref_units_allowed);
    suite_add_tcase(s, tc);
    return s;
}

DS2_CHECK_MAIN(metrics_suite)
