/* A word n-gram language model in memory: vocabulary and per-order hash tables of ARPA entries
 * (log10 probability, log10 backoff). Built once by a reader (lib/format/arpa.c), then immutable,
 * so any number of sessions and threads may query it. */
#ifndef DS2_LM_H
#define DS2_LM_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#define DS2_LM_MAX_ORDER 6

/* One order's entries. Unigrams (k = 1) are indexed by word id directly; higher orders live in an
 * open-addressing table keyed by the k word ids. */
typedef struct ds2_ngram_table {
    size_t n, cap, mask; /* cap a power of two > n (k >= 2) */
    int32_t *keys;       /* [cap][k]; keys[slot * k] < 0 marks an empty slot */
    float *logp;         /* log10 */
    float *backoff;      /* log10; 0 when the file gives none */
} ds2_ngram_table;

struct ds2_lm {
    int order;
    uint64_t counts[DS2_LM_MAX_ORDER + 1]; /* declared in the file's \data\ section */
    int n_words;
    char **words;         /* [n_words], into one allocation each */
    int32_t *vocab_slots; /* word id + 1, 0 empty */
    size_t vocab_mask;
    int unk_id, bos_id, eos_id; /* unk_id added with log10 p = -100 when absent */
    /* Every prefix of every vocabulary word (<s>, </s> and <unk> left out) as a byte trie, for
     * the decoder's partial-word check: node 0 is the empty prefix, node n's children are listed
     * from pfx_child[n] through pfx_sibling, each reached on the byte pfx_byte[child]; the root's
     * children are also indexed by byte (pfx_root, -1 none). Built once at load
     * (ds2_lm_build_prefixes) by both readers, the LM's own memory even for a mapped binary LM. */
    int32_t *pfx_child, *pfx_sibling;
    int32_t *pfx_word; /* the word id spelled by node n, -1 when it only begins words */
    unsigned char *pfx_byte;
    int32_t pfx_root[256];
    size_t n_pfx;
    ds2_ngram_table table[DS2_LM_MAX_ORDER + 1];
    /* A binary LM (format/lmbin.h): the words, vocab_slots and tables point into this file
     * image (mapped read-only, or a heap copy when `image_heap`); only `words` (the pointer
     * array) is the LM's own. NULL for an LM built entry by entry. */
    void *image;
    size_t image_size;
    int image_heap;
};

/* Builder, used by the readers: counts[1..order] sizes the tables. */
ds2_status ds2_lm_create(int order, const uint64_t *counts, struct ds2_lm **out, ds2_err *err);
/* Adds a unigram (returns its id in *id); a repeated word is an error. */
ds2_status ds2_lm_add_word(struct ds2_lm *lm, const char *word, size_t len, float logp,
                           float backoff, int *id, ds2_err *err);
/* Adds a k-gram (k >= 2) of known word ids, oldest first; a repeated one is an error. */
ds2_status ds2_lm_add_ngram(struct ds2_lm *lm, int k, const int32_t *ids, float logp, float backoff,
                            ds2_err *err);
/* After the last entry: requires <s> and </s>, adds <unk> if the file lacks it. */
ds2_status ds2_lm_finish(struct ds2_lm *lm, ds2_err *err);
void ds2_lm_destroy(struct ds2_lm *lm);
/* Builds the prefix trie above from the vocabulary (called by ds2_lm_finish and the binary
 * reader). */
ds2_status ds2_lm_build_prefixes(struct ds2_lm *lm, ds2_err *err);
/* The trie node of prefix(node) + bytes[0..len), or -1 when that starts no vocabulary word
 * (node -1 stays -1). lm->pfx_word[node] is the word the node spells (-1: none). */
int32_t ds2_lm_prefix_step(const struct ds2_lm *lm, int32_t node, const char *bytes, size_t len);

/* Slot of the k-gram ids (k >= 2) in its table, or -1 when absent. */
long ds2_lm_ngram_find(const struct ds2_lm *lm, int k, const int32_t *ids);
/* The table hashes, for writers of the binary form. */
size_t ds2_lm_vocab_hash(const char *word, size_t len);
size_t ds2_lm_ngram_hash(const int32_t *ids, int k);
/* Word id of a spelling, or unk_id. */
int ds2_lm_word_id(const struct ds2_lm *lm, const char *word, size_t len);
/* log10 P(w | ctx) with ARPA backoff; ctx holds n_ctx word ids, oldest first (only the last
 * order - 1 count). */
double ds2_lm_log10p(const struct ds2_lm *lm, const int32_t *ctx, int n_ctx, int32_t w);

#endif
