/* The n-gram model's tables: building them from a reader's entries, and backoff queries. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "decode/lm.h"

static uint64_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

static uint64_t hash_ids(const int32_t *ids, int k)
{
    uint64_t h = 0x9e3779b97f4a7c15ULL;
    for (int i = 0; i < k; i++)
        h = mix(h ^ (uint32_t)ids[i]) + (uint64_t)i;
    return h;
}

static uint64_t hash_str(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return mix(h);
}

/* Smallest power of two >= 2n (load factor <= 1/2 keeps probes short). */
static size_t table_cap(uint64_t n)
{
    size_t cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    return cap;
}

ds2_status ds2_lm_create(int order, const uint64_t *counts, struct ds2_lm **out, ds2_err *err)
{
    *out = NULL;
    if (order < 1 || order > DS2_LM_MAX_ORDER)
        return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT, "LM order %d outside 1..%d", order,
                        DS2_LM_MAX_ORDER);
    struct ds2_lm *lm = calloc(1, sizeof *lm);
    if (!lm)
        return ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "out of memory for the LM");
    lm->order = order;
    lm->unk_id = lm->bos_id = lm->eos_id = -1;
    /* one spare unigram slot for an <unk> the file may lack */
    uint64_t n1 = counts[1] + 1;
    for (int k = 1; k <= order; k++)
        lm->counts[k] = counts[k];
    size_t vcap = table_cap(n1);
    lm->vocab_mask = vcap - 1;
    lm->vocab_slots = calloc(vcap, sizeof *lm->vocab_slots);
    lm->words = calloc(n1, sizeof *lm->words);
    lm->table[1].cap = n1;
    lm->table[1].logp = calloc(n1, sizeof(float));
    lm->table[1].backoff = calloc(n1, sizeof(float));
    int ok = lm->vocab_slots && lm->words && lm->table[1].logp && lm->table[1].backoff;
    for (int k = 2; ok && k <= order; k++) {
        ds2_ngram_table *t = &lm->table[k];
        t->cap = table_cap(counts[k]);
        t->mask = t->cap - 1;
        t->keys = malloc(t->cap * (size_t)k * sizeof *t->keys);
        t->logp = malloc(t->cap * sizeof(float));
        t->backoff = malloc(t->cap * sizeof(float));
        ok = t->keys && t->logp && t->backoff;
        if (ok)
            for (size_t s = 0; s < t->cap; s++)
                t->keys[s * (size_t)k] = -1;
    }
    if (!ok) {
        ds2_lm_destroy(lm);
        return ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "out of memory for an LM of %llu words",
                        (unsigned long long)counts[1]);
    }
    *out = lm;
    return DS2_OK;
}

static void free_prefixes(struct ds2_lm *lm)
{
    free(lm->pfx_child);
    free(lm->pfx_sibling);
    free(lm->pfx_word);
    free(lm->pfx_byte);
    lm->pfx_child = lm->pfx_sibling = lm->pfx_word = NULL;
    lm->pfx_byte = NULL;
    lm->n_pfx = 0;
}

void ds2_lm_destroy(struct ds2_lm *lm)
{
    if (!lm)
        return;
    free_prefixes(lm);
    if (lm->image) {
        /* everything but the words array lies in the file image */
        free(lm->words);
        if (lm->image_heap)
            free(lm->image);
        else
            munmap(lm->image, lm->image_size);
        free(lm);
        return;
    }
    for (int i = 0; lm->words && i < lm->n_words; i++)
        free(lm->words[i]);
    free(lm->words);
    free(lm->vocab_slots);
    for (int k = 1; k <= DS2_LM_MAX_ORDER; k++) {
        free(lm->table[k].keys);
        free(lm->table[k].logp);
        free(lm->table[k].backoff);
    }
    free(lm);
}

size_t ds2_lm_vocab_hash(const char *word, size_t len)
{
    return (size_t)hash_str(word, len);
}

size_t ds2_lm_ngram_hash(const int32_t *ids, int k)
{
    return (size_t)hash_ids(ids, k);
}

static size_t vocab_slot(const struct ds2_lm *lm, const char *w, size_t len, int *found)
{
    size_t s = hash_str(w, len) & lm->vocab_mask;
    for (;; s = (s + 1) & lm->vocab_mask) {
        int32_t v = lm->vocab_slots[s];
        if (v == 0) {
            *found = 0;
            return s;
        }
        const char *o = lm->words[v - 1];
        if (strlen(o) == len && memcmp(o, w, len) == 0) {
            *found = 1;
            return s;
        }
    }
}

int ds2_lm_word_id(const struct ds2_lm *lm, const char *word, size_t len)
{
    int found;
    size_t s = vocab_slot(lm, word, len, &found);
    return found ? lm->vocab_slots[s] - 1 : lm->unk_id;
}

/* limit: how many words may exist after this one (the declared count, or one more for <unk>) */
static ds2_status add_word(struct ds2_lm *lm, const char *word, size_t len, float logp,
                           float backoff, uint64_t limit, int *id, ds2_err *err)
{
    if ((uint64_t)lm->n_words >= limit)
        return ds2_fail(err, DS2_ERR_MODEL_FORMAT, "more unigrams than declared");
    int found;
    size_t s = vocab_slot(lm, word, len, &found);
    if (found)
        return ds2_fail(err, DS2_ERR_MODEL_FORMAT, "unigram '%.*s' appears twice",
                        (int)(len > 64 ? 64 : len), word);
    char *copy = malloc(len + 1);
    if (!copy)
        return ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "out of memory for the LM vocabulary");
    memcpy(copy, word, len);
    copy[len] = '\0';
    int i = lm->n_words++;
    lm->words[i] = copy;
    lm->vocab_slots[s] = i + 1;
    lm->table[1].logp[i] = logp;
    lm->table[1].backoff[i] = backoff;
    lm->table[1].n++;
    if (!strcmp(copy, "<unk>"))
        lm->unk_id = i;
    else if (!strcmp(copy, "<s>"))
        lm->bos_id = i;
    else if (!strcmp(copy, "</s>"))
        lm->eos_id = i;
    *id = i;
    return DS2_OK;
}

ds2_status ds2_lm_add_word(struct ds2_lm *lm, const char *word, size_t len, float logp,
                           float backoff, int *id, ds2_err *err)
{
    return add_word(lm, word, len, logp, backoff, lm->counts[1], id, err);
}

/* Slot holding ids, or the empty slot where they would go (*found says which). */
static size_t ngram_slot(const ds2_ngram_table *t, int k, const int32_t *ids, int *found)
{
    size_t s = hash_ids(ids, k) & t->mask;
    for (;; s = (s + 1) & t->mask) {
        const int32_t *key = t->keys + s * (size_t)k;
        if (key[0] < 0) {
            *found = 0;
            return s;
        }
        if (memcmp(key, ids, (size_t)k * sizeof *ids) == 0) {
            *found = 1;
            return s;
        }
    }
}

ds2_status ds2_lm_add_ngram(struct ds2_lm *lm, int k, const int32_t *ids, float logp, float backoff,
                            ds2_err *err)
{
    ds2_ngram_table *t = &lm->table[k];
    if (t->n >= lm->counts[k])
        return ds2_fail(err, DS2_ERR_MODEL_FORMAT, "more %d-grams than declared", k);
    int found;
    size_t s = ngram_slot(t, k, ids, &found);
    if (found)
        return ds2_fail(err, DS2_ERR_MODEL_FORMAT, "a %d-gram appears twice", k);
    memcpy(t->keys + s * (size_t)k, ids, (size_t)k * sizeof *ids);
    t->logp[s] = logp;
    t->backoff[s] = backoff;
    t->n++;
    return DS2_OK;
}

ds2_status ds2_lm_finish(struct ds2_lm *lm, ds2_err *err)
{
    if (lm->bos_id < 0 || lm->eos_id < 0)
        return ds2_fail(err, DS2_ERR_MODEL_FORMAT, "the LM lacks the unigram %s",
                        lm->bos_id < 0 ? "<s>" : "</s>");
    if (lm->unk_id < 0) {
        /* KenLM's convention for a model without <unk>: log10 p = -100 */
        int id;
        /* the spare slot reserved by ds2_lm_create */
        ds2_status st = add_word(lm, "<unk>", 5, -100.0f, 0.0f, lm->counts[1] + 1, &id, err);
        if (st != DS2_OK)
            return st;
    }
    return ds2_lm_build_prefixes(lm, err);
}

static int32_t child_on(const struct ds2_lm *lm, int32_t node, unsigned char b)
{
    if (node == 0)
        return lm->pfx_root[b];
    for (int32_t c = lm->pfx_child[node]; c >= 0; c = lm->pfx_sibling[c])
        if (lm->pfx_byte[c] == b)
            return c;
    return -1;
}

ds2_status ds2_lm_build_prefixes(struct ds2_lm *lm, ds2_err *err)
{
    free_prefixes(lm);
    /* at most one node per byte of the vocabulary, plus the root */
    size_t cap = 1;
    for (int w = 0; w < lm->n_words; w++)
        cap += strlen(lm->words[w]);
    if (cap > INT32_MAX)
        return ds2_fail(err, DS2_ERR_UNSUPPORTED, "LM vocabulary of %zu bytes is too large",
                        cap - 1);
    lm->pfx_child = malloc(cap * sizeof *lm->pfx_child);
    lm->pfx_sibling = malloc(cap * sizeof *lm->pfx_sibling);
    lm->pfx_word = malloc(cap * sizeof *lm->pfx_word);
    lm->pfx_byte = malloc(cap);
    if (!lm->pfx_child || !lm->pfx_sibling || !lm->pfx_word || !lm->pfx_byte) {
        free_prefixes(lm);
        return ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "out of memory for the LM's word prefixes");
    }
    for (int b = 0; b < 256; b++)
        lm->pfx_root[b] = -1;
    lm->pfx_child[0] = lm->pfx_sibling[0] = lm->pfx_word[0] = -1;
    lm->pfx_byte[0] = 0;
    size_t n = 1;
    for (int w = 0; w < lm->n_words; w++) {
        if (w == lm->unk_id || w == lm->bos_id || w == lm->eos_id || !lm->words[w][0])
            continue;
        int32_t node = 0;
        for (const unsigned char *p = (const unsigned char *)lm->words[w]; *p; p++) {
            int32_t c = child_on(lm, node, *p);
            if (c < 0) {
                c = (int32_t)n++;
                lm->pfx_child[c] = lm->pfx_word[c] = -1;
                lm->pfx_byte[c] = *p;
                if (node == 0) {
                    lm->pfx_sibling[c] = -1;
                    lm->pfx_root[*p] = c;
                } else {
                    lm->pfx_sibling[c] = lm->pfx_child[node];
                    lm->pfx_child[node] = c;
                }
            }
            node = c;
        }
        lm->pfx_word[node] = w;
    }
    lm->n_pfx = n;
    return DS2_OK;
}

int32_t ds2_lm_prefix_step(const struct ds2_lm *lm, int32_t node, const char *bytes, size_t len)
{
    for (size_t i = 0; i < len && node >= 0; i++)
        node = child_on(lm, node, (unsigned char)bytes[i]);
    return node;
}

long ds2_lm_ngram_find(const struct ds2_lm *lm, int k, const int32_t *ids)
{
    int found;
    size_t s = ngram_slot(&lm->table[k], k, ids, &found);
    return found ? (long)s : -1;
}

static const float *lookup(const struct ds2_lm *lm, int k, const int32_t *ids, int want_backoff)
{
    if (k == 1)
        return want_backoff ? &lm->table[1].backoff[ids[0]] : &lm->table[1].logp[ids[0]];
    const ds2_ngram_table *t = &lm->table[k];
    int found;
    size_t s = ngram_slot(t, k, ids, &found);
    if (!found)
        return NULL;
    return want_backoff ? &t->backoff[s] : &t->logp[s];
}

double ds2_lm_log10p(const struct ds2_lm *lm, const int32_t *ctx, int n_ctx, int32_t w)
{
    int32_t ids[DS2_LM_MAX_ORDER];
    int len = n_ctx < lm->order - 1 ? n_ctx : lm->order - 1;
    double backoff = 0;
    /* longest history first: P(w|h) = p(h w) if listed, else bo(h) + P(w|h minus its oldest) */
    for (; len >= 0; len--) {
        memcpy(ids, ctx + n_ctx - len, (size_t)len * sizeof *ids);
        ids[len] = w;
        const float *p = lookup(lm, len + 1, ids, 0);
        if (p)
            return backoff + *p;
        if (len > 0) {
            const float *bo = lookup(lm, len, ids, 1);
            if (bo)
                backoff += *bo;
        }
    }
    return backoff; /* not reached: every id has a unigram */
}
