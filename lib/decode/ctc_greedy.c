#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "decode/ctc_greedy.h"

/* torch.max semantics: first maximum wins ties; a NaN beats everything and the first NaN
 * stays. */
static int argmax(const float *p, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++) {
        if (p[best] != p[best]) /* NaN already chosen */
            break;
        if (p[i] > p[best] || p[i] != p[i])
            best = i;
    }
    return best;
}

int ds2_ctc_argmax(const float *p, int n_labels)
{
    return argmax(p, n_labels);
}

/* Frame t's label: from the probabilities, or given (each frame's ds2_ctc_argmax). */
static int frame_label(const float *probs, const int *best, int t, int n_labels)
{
    return best ? best[t] : argmax(probs + (size_t)t * n_labels, n_labels);
}

static int args_bad(const float *probs, const int *best, int n_frames, int n_labels, int blank,
                    const char *const *labels)
{
    if (n_frames < 0 || n_labels < 1 || blank < 0 || blank >= n_labels || !labels ||
        (!probs && !best && n_frames > 0))
        return 1;
    for (int i = 0; i < n_labels; i++)
        if (!labels[i])
            return 1;
    for (int t = 0; best && t < n_frames; t++)
        if (best[t] < 0 || best[t] >= n_labels)
            return 1;
    return 0;
}

/* Upstream compares label strings, not indices: two labels spelled alike count as the same
 * character for both the blank and the repetition test. */
static int emits(const char *const *labels, int blank, int cur, int prev)
{
    if (strcmp(labels[cur], labels[blank]) == 0)
        return 0;
    return prev < 0 || strcmp(labels[cur], labels[prev]) != 0;
}

static char *decode(const float *probs, const int *best, int n_frames, int n_labels, int blank,
                    const char *const *labels)
{
    if (args_bad(probs, best, n_frames, n_labels, blank, labels))
        return NULL;
    size_t cap = 64, len = 0;
    char *text = malloc(cap);
    if (!text)
        return NULL;
    int prev = -1;
    for (int t = 0; t < n_frames; t++) {
        int cur = frame_label(probs, best, t, n_labels);
        if (emits(labels, blank, cur, prev)) {
            size_t add = strlen(labels[cur]);
            if (len + add + 1 > cap) {
                size_t grown = cap * 2 > len + add + 1 ? cap * 2 : len + add + 1;
                char *p = realloc(text, grown);
                if (!p) {
                    free(text);
                    return NULL;
                }
                text = p;
                cap = grown;
            }
            memcpy(text + len, labels[cur], add);
            len += add;
        }
        prev = cur;
    }
    text[len] = '\0';
    return text;
}

char *ds2_ctc_greedy_decode(const float *probs, int n_frames, int n_labels, int blank,
                            const char *const *labels)
{
    return probs || n_frames <= 0 ? decode(probs, NULL, n_frames, n_labels, blank, labels) : NULL;
}

char *ds2_ctc_greedy_decode_best(const int *best, int n_frames, int n_labels, int blank,
                                 const char *const *labels)
{
    return best || n_frames <= 0 ? decode(NULL, best, n_frames, n_labels, blank, labels) : NULL;
}

static int path(const float *probs, const int *best, int n_frames, int n_labels, int blank,
                const char *const *labels, int **out, int *n, double *score)
{
    *out = NULL;
    *n = 0;
    *score = 0;
    if (args_bad(probs, best, n_frames, n_labels, blank, labels))
        return -1;
    /* at most one token per frame: three arrays of n_frames */
    int *p = malloc((size_t)(n_frames ? n_frames : 1) * 3 * sizeof *p);
    if (!p)
        return -1;
    int *lab = p, *first = p + n_frames, *last = first + n_frames, count = 0, prev = -1;
    for (int t = 0; t < n_frames; t++) {
        int cur = frame_label(probs, best, t, n_labels);
        if (probs)
            *score += log((double)probs[(size_t)t * n_labels + cur]);
        if (emits(labels, blank, cur, prev)) {
            lab[count] = cur;
            first[count] = last[count] = t;
            count++;
        } else if (count && strcmp(labels[cur], labels[blank]) != 0) {
            last[count - 1] = t; /* the same label string still sounding */
        }
        prev = cur;
    }
    /* compact to [labels][first][last] of `count` */
    memmove(p + count, first, (size_t)count * sizeof *p);
    memmove(p + 2 * count, last, (size_t)count * sizeof *p);
    *out = p;
    *n = count;
    return 0;
}

int ds2_ctc_greedy_path(const float *probs, int n_frames, int n_labels, int blank,
                        const char *const *labels, int **out, int *n, double *score)
{
    if (!probs && n_frames > 0) {
        *out = NULL;
        *n = 0;
        *score = 0;
        return -1;
    }
    return path(probs, NULL, n_frames, n_labels, blank, labels, out, n, score);
}

int ds2_ctc_greedy_path_best(const int *best, int n_frames, int n_labels, int blank,
                             const char *const *labels, int **out, int *n)
{
    double unused;
    if (!best && n_frames > 0) {
        *out = NULL;
        *n = 0;
        return -1;
    }
    return path(NULL, best, n_frames, n_labels, blank, labels, out, n, &unused);
}
