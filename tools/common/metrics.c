/*
 * WER/CER edit distances with deepspeech.pytorch's conventions (validation.py): words are
 * whitespace-separated tokens (Python's str.split()), characters are bytes with ' ' removed.
 * Bytes suffice for the ASCII label alphabets libds2 models use.
 */
#include "metrics.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct token {
    const char *start;
    size_t len;
} token;

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Fills tokens (may be NULL to count only) and returns the number of words. */
static size_t split_words(const char *s, token *tokens)
{
    size_t n = 0;
    while (*s) {
        while (*s && is_space(*s))
            s++;
        if (!*s)
            break;
        const char *start = s;
        while (*s && !is_space(*s))
            s++;
        if (tokens) {
            tokens[n].start = start;
            tokens[n].len = (size_t)(s - start);
        }
        n++;
    }
    return n;
}

static int token_equal(const token *a, const token *b)
{
    return a->len == b->len && memcmp(a->start, b->start, a->len) == 0;
}

/* Levenshtein distance over n x m units with two DP rows; equal(i, j) compares a[i], b[j]. */
typedef int (*unit_equal_fn)(const void *a, size_t i, const void *b, size_t j);

static long levenshtein(const void *a, size_t n, const void *b, size_t m, unit_equal_fn equal)
{
    if (m + 1 > SIZE_MAX / (2 * sizeof(long)))
        return -1;
    long *prev = malloc((m + 1) * sizeof(long));
    long *cur = malloc((m + 1) * sizeof(long));
    if (!prev || !cur) {
        free(prev);
        free(cur);
        return -1;
    }
    for (size_t j = 0; j <= m; j++)
        prev[j] = (long)j;
    for (size_t i = 1; i <= n; i++) {
        cur[0] = (long)i;
        for (size_t j = 1; j <= m; j++) {
            long sub = prev[j - 1] + (equal(a, i - 1, b, j - 1) ? 0 : 1);
            long del = prev[j] + 1;
            long ins = cur[j - 1] + 1;
            long best = sub < del ? sub : del;
            cur[j] = best < ins ? best : ins;
        }
        long *t = prev;
        prev = cur;
        cur = t;
    }
    long d = prev[m];
    free(prev);
    free(cur);
    return d;
}

static int word_equal(const void *a, size_t i, const void *b, size_t j)
{
    return token_equal((const token *)a + i, (const token *)b + j);
}

static int byte_equal(const void *a, size_t i, const void *b, size_t j)
{
    return ((const char *)a)[i] == ((const char *)b)[j];
}

long ds2_word_errors(const char *hypothesis, const char *reference, long *ref_words)
{
    if (ref_words)
        *ref_words = 0;
    if (!hypothesis)
        hypothesis = "";
    if (!reference)
        reference = "";
    size_t n = split_words(hypothesis, NULL);
    size_t m = split_words(reference, NULL);
    if (ref_words)
        *ref_words = (long)m;
    token *hyp = malloc((n ? n : 1) * sizeof(token));
    token *ref = malloc((m ? m : 1) * sizeof(token));
    long d = -1;
    if (hyp && ref) {
        split_words(hypothesis, hyp);
        split_words(reference, ref);
        d = levenshtein(hyp, n, ref, m, word_equal);
    }
    free(hyp);
    free(ref);
    return d;
}

/* Copies s without ' ' into a new buffer; *len receives its length. */
static char *strip_spaces(const char *s, size_t *len)
{
    size_t n = strlen(s);
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ')
            out[k++] = s[i];
    out[k] = '\0';
    *len = k;
    return out;
}

long ds2_char_errors(const char *hypothesis, const char *reference, long *ref_chars)
{
    if (ref_chars)
        *ref_chars = 0;
    if (!hypothesis)
        hypothesis = "";
    if (!reference)
        reference = "";
    size_t n = 0, m = 0;
    char *hyp = strip_spaces(hypothesis, &n);
    char *ref = strip_spaces(reference, &m);
    long d = -1;
    if (hyp && ref) {
        if (ref_chars)
            *ref_chars = (long)m;
        d = levenshtein(hyp, n, ref, m, byte_equal);
    }
    free(hyp);
    free(ref);
    return d;
}
