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

/* Upstream compares label strings, not indices: two labels spelled alike count as the same
 * character for both the blank and the repetition test. */
static int emits(const char *const *labels, int blank, int cur, int prev)
{
    if (strcmp(labels[cur], labels[blank]) == 0)
        return 0;
    return prev < 0 || strcmp(labels[cur], labels[prev]) != 0;
}

char *ds2_ctc_greedy_decode(const float *probs, int n_frames, int n_labels, int blank,
                            const char *const *labels)
{
    if (n_frames < 0 || n_labels < 1 || blank < 0 || blank >= n_labels || !labels ||
        (!probs && n_frames > 0))
        return NULL;
    for (int i = 0; i < n_labels; i++)
        if (!labels[i])
            return NULL;
    size_t cap = 64, len = 0;
    char *text = malloc(cap);
    if (!text)
        return NULL;
    int prev = -1;
    for (int t = 0; t < n_frames; t++) {
        int cur = argmax(probs + (size_t)t * n_labels, n_labels);
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

int ds2_ctc_greedy_path(const float *probs, int n_frames, int n_labels, int blank,
                        const char *const *labels, int **path, int *n, double *score)
{
    *path = NULL;
    *n = 0;
    *score = 0;
    if (n_frames < 0 || n_labels < 1 || blank < 0 || blank >= n_labels || !labels ||
        (!probs && n_frames > 0))
        return -1;
    for (int i = 0; i < n_labels; i++)
        if (!labels[i])
            return -1;
    /* at most one token per frame: three arrays of n_frames */
    int *p = malloc((size_t)(n_frames ? n_frames : 1) * 3 * sizeof *p);
    if (!p)
        return -1;
    int *lab = p, *first = p + n_frames, *last = first + n_frames, count = 0, prev = -1;
    for (int t = 0; t < n_frames; t++) {
        const float *row = probs + (size_t)t * n_labels;
        int cur = argmax(row, n_labels);
        *score += log((double)row[cur]);
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
    *path = p;
    *n = count;
    return 0;
}
