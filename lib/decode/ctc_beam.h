/* CTC prefix beam search over softmax outputs, with an optional word n-gram LM (ctcdecode's
 * algorithm; in place of its dictionary trie, which forbids words outside the LM's vocabulary,
 * pyctcdecode's soft form of it: unk_score_offset). tools/ctc_beam_reference.py is the same search
 * in plain Python; test/test_beam.c holds the two to the same beams and scores. */
#ifndef DS2_CTC_BEAM_H
#define DS2_CTC_BEAM_H

#include "base/error.h"
#include "decode/lm.h"

typedef struct ds2_beam_params {
    int beam_width;          /* >= 1 */
    double cutoff_prob;      /* (0, 1]: per frame, keep the likeliest labels until their cumulative
                                probability reaches this */
    int cutoff_top_n;        /* >= 1: and at most this many labels per frame */
    const struct ds2_lm *lm; /* NULL: no LM */
    double alpha, beta;      /* score = ln P_ctc + alpha ln P_lm + beta words (with an LM) */
    /* With an LM, pyctcdecode's unk_score_offset (<= 0; 0: off): added to log10 P_lm of a word
     * the LM lacks (so scaled by alpha ln 10), and to the score (ln, unscaled) of a prefix whose
     * unfinished word starts no vocabulary word, times its length / 6 past 6 characters. */
    double unk_score_offset;
    /* pyctcdecode's pruning (ln, <= 0; 0: off): per frame, only labels with ln p >= token_min_logp
     * (and the likeliest) extend; beams scoring below the best + beam_prune_logp are dropped. */
    double token_min_logp, beam_prune_logp;
} ds2_beam_params;

/* One hypothesis: its labels, and for each the frames of its first and last emission. */
typedef struct ds2_beam_path {
    int len;
    int *labels, *first, *last; /* [len], one allocation */
    double score;               /* total, as above */
    double ctc;                 /* ln P_ctc alone */
} ds2_beam_path;

typedef struct ds2_beam_out {
    int n; /* final beams, best first (<= beam_width) */
    ds2_beam_path *paths;
} ds2_beam_out;

/* probs [T][L]. The word separator is the label spelled " " (none: the whole text is one word).
 * With an LM, a word is scored when a separator follows it and at the end (then </s> too);
 * words the LM lacks score as <unk>. Bad parameters: DS2_ERR_INVALID_ARGUMENT. */
ds2_status ds2_ctc_beam_decode(const float *probs, int n_frames, int n_labels, int blank,
                               const char *const *labels, const ds2_beam_params *params,
                               ds2_beam_out *out, ds2_err *err);
void ds2_beam_out_free(ds2_beam_out *out);

/* "" when the parameters are usable, else a message naming the bad one. */
const char *ds2_beam_params_check(const ds2_beam_params *p);

#endif
