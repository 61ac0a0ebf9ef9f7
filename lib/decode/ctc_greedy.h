/* Greedy CTC decoding as deepspeech.pytorch's GreedyDecoder.decode (remove_repetitions=True). */
#ifndef DS2_CTC_GREEDY_H
#define DS2_CTC_GREEDY_H

/* Per frame the first maximal label (NaN counts as maximal, as torch.max); a frame whose
 * label string equals the previous frame's is skipped, as is the blank's; the rest are
 * concatenated (labels are UTF-8 strings of any length). Returns a malloc'd NUL-terminated
 * transcript ("" for T = 0), or NULL on allocation failure or bad arguments (NULL probs with
 * T > 0, n_labels < 1, blank outside [0, n_labels), NULL labels or label). probs [T][L]. */
char *ds2_ctc_greedy_decode(const float *probs, int n_frames, int n_labels, int blank,
                            const char *const *labels);

/* The same decision as a token path: for each emitted label its index and the frames of its first
 * and last emission (the run of frames whose label string repeats it); *score is the sum over
 * frames of ln max p. *labels holds 3 * n ints (labels, first, last), malloc'd; -1 on bad
 * arguments or no memory. */
int ds2_ctc_greedy_path(const float *probs, int n_frames, int n_labels, int blank,
                        const char *const *labels, int **path, int *n, double *score);

/* The first maximal label of one frame's n_labels probabilities (NaN counts as maximal), the
 * choice both functions above make. */
int ds2_ctc_argmax(const float *p, int n_labels);

/* The same two decodings from each frame's label as ds2_ctc_argmax chose it (best[T], each in
 * [0, n_labels)), so a caller that decodes long output piece by piece need not keep the
 * probabilities; the path's score (sum of ln max p) is then the caller's to add up. */
char *ds2_ctc_greedy_decode_best(const int *best, int n_frames, int n_labels, int blank,
                                 const char *const *labels);
int ds2_ctc_greedy_path_best(const int *best, int n_frames, int n_labels, int blank,
                             const char *const *labels, int **path, int *n);

#endif
