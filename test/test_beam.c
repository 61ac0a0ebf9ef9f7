/* The beam decoder against tools/ctc_beam_reference.py's golden beams (test/golden/beam.txt):
 * the same beams in the same order, scores within 1e-4 and the same label frames, across beam
 * widths and pruning settings (ctcdecode's and pyctcdecode's), with and without
 * test/golden/tiny.arpa and its partial-word scoring (unk_score_offset); plus the decoder's own
 * edge cases, word timestamps, and greedy paths. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "decode/ctc_beam.h"
#include "decode/ctc_greedy.h"
#include "decode/words.h"
#include "format/arpa.h"

#define GOLDEN "test/golden/beam.txt"
#define TINY_LM "test/golden/tiny.arpa"

static struct ds2_lm *load_tiny_lm(void)
{
    struct ds2_lm *lm;
    ds2_err err;
    ck_assert_msg(ds2_arpa_read(TINY_LM, &lm, &err) == DS2_OK, "%s", err.msg);
    return lm;
}

START_TEST(matches_reference)
{
    FILE *f = fopen(GOLDEN, "r");
    ck_assert_ptr_nonnull(f);
    char line[256];
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f)); /* comment */
    int L;
    ck_assert_int_eq(fscanf(f, " labels %d", &L), 1);
    char names[16][8];
    const char *labels[16];
    for (int l = 0; l < L; l++) {
        ck_assert_int_eq(fscanf(f, " %7s", names[l]), 1);
        labels[l] = strcmp(names[l], "space") ? names[l] : " ";
    }
    struct ds2_lm *lm = load_tiny_lm();
    int cases = 0, beams_checked = 0, with_lm = 0, with_unk = 0, with_prune = 0;
    int id, T, LL, blank, width, topn, use_lm, n_beams;
    double cutoff, alpha, beta, unk, token_min, beam_prune;
    while (fscanf(f, " case %d %d %d %d %d %lf %d %d %lf %lf %lf %lf %lf %d", &id, &T, &LL, &blank,
                  &width, &cutoff, &topn, &use_lm, &alpha, &beta, &unk, &token_min, &beam_prune,
                  &n_beams) == 14) {
        ck_assert_int_eq(LL, L);
        float *probs = malloc((size_t)T * L * sizeof *probs);
        ck_assert_int_eq(fscanf(f, " probs"), 0);
        for (int i = 0; i < T * L; i++)
            ck_assert_int_eq(fscanf(f, " %f", &probs[i]), 1);
        ds2_beam_params p = {width, cutoff, topn,      use_lm ? lm : NULL, alpha,
                             beta,  unk,    token_min, beam_prune};
        ds2_beam_out out;
        ds2_err err;
        ck_assert_msg(ds2_ctc_beam_decode(probs, T, L, blank, labels, &p, &out, &err) == DS2_OK,
                      "%s", err.msg);
        ck_assert_msg(out.n == n_beams, "case %d: %d beams, reference %d", id, out.n, n_beams);
        for (int b = 0; b < n_beams; b++) {
            double score, ctc;
            int len;
            ck_assert_int_eq(fscanf(f, " beam %lf %lf %d", &score, &ctc, &len), 3);
            const ds2_beam_path *path = &out.paths[b];
            ck_assert_msg(path->len == len, "case %d beam %d: length %d, reference %d", id, b,
                          path->len, len);
            ck_assert_msg(fabs(path->score - score) < 1e-4 && fabs(path->ctc - ctc) < 1e-4,
                          "case %d beam %d: score %.6f ctc %.6f, reference %.6f %.6f", id, b,
                          path->score, path->ctc, score, ctc);
            for (int k = 0; k < len; k++) {
                int lab, first, last;
                ck_assert_int_eq(fscanf(f, " %d %d %d", &lab, &first, &last), 3);
                ck_assert_msg(path->labels[k] == lab && path->first[k] == first &&
                                  path->last[k] == last,
                              "case %d beam %d label %d: (%d %d %d), reference (%d %d %d)", id, b,
                              k, path->labels[k], path->first[k], path->last[k], lab, first, last);
            }
            beams_checked++;
        }
        ds2_beam_out_free(&out);
        free(probs);
        cases++;
        with_lm += use_lm;
        with_unk += use_lm && unk < 0;
        with_prune += token_min < 0 || beam_prune < 0;
    }
    fclose(f);
    ds2_lm_destroy(lm);
    ck_assert_int_ge(cases, 60);
    ck_assert_int_ge(with_lm, 30);
    ck_assert_int_ge(with_unk, 14);
    ck_assert_int_ge(with_prune, 10);
    printf("beam: %d golden cases (%d with LM, %d of them with unk_score_offset, %d with "
           "pyctcdecode's pruning), %d beams match\n",
           cases, with_lm, with_unk, with_prune, beams_checked);
}
END_TEST

static const char *const LABELS[] = {"_", "A", "B", "C", "'", " "};
enum { L = 6, BLANK = 0, A = 1, B = 2, C = 3, SP = 5 };

static float *peaked(const int *ids, int T)
{
    float *p = malloc((size_t)(T ? T : 1) * L * sizeof *p);
    for (int t = 0; t < T; t++) {
        for (int l = 0; l < L; l++)
            p[t * L + l] = 0.02f;
        p[t * L + ids[t]] = 0.9f;
    }
    return p;
}

START_TEST(clear_input_decodes_like_greedy)
{
    int ids[] = {BLANK, A, A, BLANK, B, SP, SP, C, BLANK, C, C, BLANK};
    int T = 12;
    float *p = peaked(ids, T);
    ds2_beam_params bp = {8, 1.0, 40, NULL, 0, 0, 0, 0, 0};
    ds2_beam_out out;
    ds2_err err;
    ck_assert_int_eq(ds2_ctc_beam_decode(p, T, L, BLANK, LABELS, &bp, &out, &err), DS2_OK);
    int want[] = {A, B, SP, C, C};
    ck_assert_int_eq(out.paths[0].len, 5);
    for (int k = 0; k < 5; k++)
        ck_assert_int_eq(out.paths[0].labels[k], want[k]);
    /* frames: A 1-2, B 4, space 5-6, C 7, C 9-10. The beam shares one node between "C at 7" and
     * "C at 9" on prefix "AB C", so the first C's end is bounded by its successor (frame 8),
     * not found exactly: a label's end can be late by the blanks after it. */
    int first[] = {1, 4, 5, 7, 9}, last[] = {2, 4, 6, 8, 10};
    for (int k = 0; k < 5; k++) {
        ck_assert_int_eq(out.paths[0].first[k], first[k]);
        ck_assert_int_eq(out.paths[0].last[k], last[k]);
    }
    ds2_word *w;
    int nw;
    ck_assert_int_eq(ds2_words_from_path(LABELS, out.paths[0].labels, out.paths[0].first,
                                         out.paths[0].last, 5, 0.02, &w, &nw),
                     0);
    ck_assert_int_eq(nw, 2);
    ck_assert_str_eq(w[0].text, "AB");
    ck_assert_str_eq(w[1].text, "CC");
    ck_assert(fabs(w[0].start_s - 0.02) < 1e-9 && fabs(w[0].end_s - 0.08) < 1e-9);
    ck_assert(fabs(w[1].start_s - 0.14) < 1e-9 && fabs(w[1].end_s - 0.20) < 1e-9);
    free(w);
    int greedy_last[] = {2, 4, 6, 7, 10};

    int *path, n;
    double score;
    ck_assert_int_eq(ds2_ctc_greedy_path(p, T, L, BLANK, LABELS, &path, &n, &score), 0);
    ck_assert_int_eq(n, 5);
    for (int k = 0; k < 5; k++) {
        ck_assert_int_eq(path[k], want[k]);
        ck_assert_int_eq(path[n + k], first[k]);
        ck_assert_int_eq(path[2 * n + k], greedy_last[k]);
    }
    ck_assert(fabs(score - T * log(0.9f)) < 1e-4);
    free(path);
    ds2_beam_out_free(&out);
    free(p);
}
END_TEST

START_TEST(edge_cases)
{
    ds2_beam_out out;
    ds2_err err;
    ds2_beam_params bp = {4, 1.0, 40, NULL, 0, 0, 0, 0, 0};
    /* no frames: one empty beam of probability 1 */
    ck_assert_int_eq(ds2_ctc_beam_decode(NULL, 0, L, BLANK, LABELS, &bp, &out, &err), DS2_OK);
    ck_assert_int_eq(out.n, 1);
    ck_assert_int_eq(out.paths[0].len, 0);
    ck_assert(out.paths[0].score == 0);
    ds2_beam_out_free(&out);
    /* a frame where every kept label has probability 0: no beam survives, no crash */
    float zero[L] = {0};
    ck_assert_int_eq(ds2_ctc_beam_decode(zero, 1, L, BLANK, LABELS, &bp, &out, &err), DS2_OK);
    ck_assert_int_eq(out.n, 0);
    ds2_beam_out_free(&out);
    /* bad parameters name themselves */
    ds2_beam_params bad[] = {
        {0, 1.0, 40, NULL, 0, 0, 0, 0, 0},        {-3, 1.0, 40, NULL, 0, 0, 0, 0, 0},
        {4, 0.0, 40, NULL, 0, 0, 0, 0, 0},        {4, 1.5, 40, NULL, 0, 0, 0, 0, 0},
        {4, NAN, 40, NULL, 0, 0, 0, 0, 0},        {4, 1.0, 0, NULL, 0, 0, 0, 0, 0},
        {4, 1.0, 40, NULL, NAN, 0, 0, 0, 0},      {4, 1.0, 40, NULL, 0, INFINITY, 0, 0, 0},
        {4, 1.0, 40, NULL, 0, 0, NAN, 0, 0},      {4, 1.0, 40, NULL, 0, 0, -INFINITY, 0, 0},
        {4, 1.0, 40, NULL, 0, 0, 0.5, 0, 0},      {4, 1.0, 40, NULL, 0, 0, 0, NAN, 0},
        {4, 1.0, 40, NULL, 0, 0, 0, 1.0, 0},      {4, 1.0, 40, NULL, 0, 0, 0, 0, NAN},
        {4, 1.0, 40, NULL, 0, 0, 0, 0, INFINITY}, {4, 1.0, 40, NULL, 0, 0, 0, 0, 0.1}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ck_assert_int_eq(ds2_ctc_beam_decode(zero, 1, L, BLANK, LABELS, &bad[i], &out, &err),
                         DS2_ERR_INVALID_ARGUMENT);
        ck_assert_ptr_nonnull(strstr(err.msg, "beam search:"));
        ck_assert_int_eq(out.n, 0);
    }
    ck_assert_int_eq(ds2_ctc_beam_decode(zero, 1, L, L, LABELS, &bp, &out, &err),
                     DS2_ERR_INVALID_ARGUMENT);
}
END_TEST

/* The LM changes the choice: two acoustically equal spellings, the LM prefers the listed word. */
START_TEST(lm_breaks_acoustic_ties)
{
    struct ds2_lm *lm = load_tiny_lm();
    /* frame 0: A or C equally; then B: "AB" (a word) versus "CB" (unknown) */
    float p[3 * L];
    for (int i = 0; i < 3 * L; i++)
        p[i] = 0.001f;
    p[0 * L + A] = p[0 * L + C] = 0.45f;
    p[1 * L + B] = 0.95f;
    p[2 * L + BLANK] = 0.95f;
    ds2_beam_params bp = {8, 1.0, 40, lm, 1.0, 0.0, 0, 0, 0};
    ds2_beam_out out;
    ds2_err err;
    ck_assert_int_eq(ds2_ctc_beam_decode(p, 3, L, BLANK, LABELS, &bp, &out, &err), DS2_OK);
    ck_assert_int_eq(out.paths[0].len, 2);
    ck_assert_int_eq(out.paths[0].labels[0], A);
    /* the score is ln P_ctc + ln P_lm(AB | <s>) + ln P_lm(</s> | <s> AB): -0.6, then backing
     * off twice, bo(<s> AB) -0.1 + bo(AB) -0.35 + p(</s>) -0.9 */
    double lm_ln = (-0.6 + -0.1 + -0.35 + -0.9) * M_LN10;
    ck_assert_msg(fabs(out.paths[0].score - (out.paths[0].ctc + lm_ln)) < 1e-4, "%f vs %f",
                  out.paths[0].score, out.paths[0].ctc + lm_ln);
    ds2_beam_out_free(&out);
    ds2_lm_destroy(lm);
}
END_TEST

/* pyctcdecode's partial-word score. Frame 0: "'" (which starts no word of tiny.arpa) slightly
 * likelier than A; then B. Width 1 keeps "'" without the offset; with it the beam pays the offset
 * for "'" at once and keeps A, and the final score of an out-of-vocabulary word carries the
 * offset in log10 units (x alpha ln 10). */
START_TEST(partial_words_as_pyctcdecode)
{
    struct ds2_lm *lm = load_tiny_lm();
    float p[3 * L];
    for (int i = 0; i < 3 * L; i++)
        p[i] = 0.001f;
    p[0 * L + 4] = 0.5f; /* ' */
    p[0 * L + A] = 0.45f;
    p[1 * L + B] = 0.95f;
    p[2 * L + BLANK] = 0.95f;
    ds2_beam_out out;
    ds2_err err;
    ds2_beam_params plain = {1, 1.0, 40, lm, 1.0, 0.0, 0, 0, 0};
    ck_assert_int_eq(ds2_ctc_beam_decode(p, 3, L, BLANK, LABELS, &plain, &out, &err), DS2_OK);
    ck_assert_int_eq(out.paths[0].len, 2);
    ck_assert_int_eq(out.paths[0].labels[0], 4);
    /* "'B" is <unk> after <s>: no bigram, bo(<s>) -0.5 + p(<unk>) -1.2; then </s> after
     * <s> <unk>: no trigram or bigram, bo(<unk>) 0 + p(</s>) -0.9 */
    double unk_ln = (-0.5 + -1.2 + -0.9) * M_LN10;
    ck_assert(fabs(out.paths[0].score - (out.paths[0].ctc + unk_ln)) < 1e-4);
    ds2_beam_out_free(&out);
    /* width 8: both survive; the offset moves "'B" down by alpha ln10 offset at the end */
    ds2_beam_params wide = {8, 1.0, 40, lm, 1.0, 0.0, -2.0, 0, 0};
    ck_assert_int_eq(ds2_ctc_beam_decode(p, 3, L, BLANK, LABELS, &wide, &out, &err), DS2_OK);
    int found = 0;
    for (int b = 0; b < out.n; b++)
        if (out.paths[b].len == 2 && out.paths[b].labels[0] == 4 && out.paths[b].labels[1] == B) {
            found = 1;
            ck_assert(fabs(out.paths[b].score -
                           (out.paths[b].ctc + (-0.5 - 1.2 - 2.0 - 0.9) * M_LN10)) < 1e-4);
        }
    ck_assert(found);
    ck_assert_int_eq(out.paths[0].labels[0], A);
    ds2_beam_out_free(&out);
    ds2_beam_params soft = {1, 1.0, 40, lm, 1.0, 0.0, -1.0, 0, 0};
    ck_assert_int_eq(ds2_ctc_beam_decode(p, 3, L, BLANK, LABELS, &soft, &out, &err), DS2_OK);
    ck_assert_int_eq(out.paths[0].len, 2);
    ck_assert_int_eq(out.paths[0].labels[0], A);
    ck_assert_int_eq(out.paths[0].labels[1], B);
    ds2_beam_out_free(&out);
    /* without an LM the offset does nothing */
    ds2_beam_params no_lm = {1, 1.0, 40, NULL, 1.0, 0.0, -1.0, 0, 0};
    ck_assert_int_eq(ds2_ctc_beam_decode(p, 3, L, BLANK, LABELS, &no_lm, &out, &err), DS2_OK);
    ck_assert_int_eq(out.paths[0].labels[0], 4);
    ds2_beam_out_free(&out);
    ds2_lm_destroy(lm);
}
END_TEST

/* token_min_logp keeps the likeliest label even when it is below the threshold; beam_prune_logp
 * drops final beams far below the best. */
START_TEST(pyctcdecode_pruning)
{
    float p[2 * L];
    for (int i = 0; i < 2 * L; i++)
        p[i] = 1.0f / L; /* ln p = -1.79 for every label */
    ds2_beam_out out;
    ds2_err err;
    ds2_beam_params bp = {64, 1.0, 40, NULL, 0, 0, 0, -1.0, 0};
    ck_assert_int_eq(ds2_ctc_beam_decode(p, 2, L, BLANK, LABELS, &bp, &out, &err), DS2_OK);
    /* only label 0 (blank, the first of the equally likely) extends: one empty beam */
    ck_assert_int_eq(out.n, 1);
    ck_assert_int_eq(out.paths[0].len, 0);
    ds2_beam_out_free(&out);
    bp.token_min_logp = 0;
    ck_assert_int_eq(ds2_ctc_beam_decode(p, 2, L, BLANK, LABELS, &bp, &out, &err), DS2_OK);
    int all = out.n;
    ck_assert_int_gt(all, 20);
    ds2_beam_out_free(&out);
    /* after two uniform frames a one-label prefix has 3/36 (XX, X_, _X), the empty one and each
     * two-label one 1/36: a prune of -0.5 keeps the one-label prefixes only */
    bp.beam_prune_logp = -0.5;
    ck_assert_int_eq(ds2_ctc_beam_decode(p, 2, L, BLANK, LABELS, &bp, &out, &err), DS2_OK);
    ck_assert_int_eq(out.n, L - 1);
    for (int b = 0; b < out.n; b++)
        ck_assert_int_eq(out.paths[b].len, 1);
    ck_assert_int_lt(out.n, all);
    ds2_beam_out_free(&out);
}
END_TEST

static Suite *beam_suite(void)
{
    Suite *s = suite_create("beam");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, matches_reference);
    tcase_add_test(tc, clear_input_decodes_like_greedy);
    tcase_add_test(tc, edge_cases);
    tcase_add_test(tc, lm_breaks_acoustic_ties);
    tcase_add_test(tc, partial_words_as_pyctcdecode);
    tcase_add_test(tc, pyctcdecode_pruning);
    suite_add_tcase(s, tc);
    return s;
}

DS2_CHECK_MAIN(beam_suite)
