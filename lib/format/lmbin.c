/* The binary LM (format in lmbin.h): written from the tables, mapped and validated on reading. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "format/lmbin.h"

#define VERSION 1
#define MAX_FILE_BYTES ((uint64_t)1 << 36) /* 64 GiB */

typedef struct header {
    char magic[8];
    uint32_t version, order, n_words;
    int32_t unk_id, bos_id, eos_id;
    uint32_t reserved[2];
    uint64_t file_size, blob_bytes, vocab_cap;
    uint64_t n[DS2_LM_MAX_ORDER + 1], cap[DS2_LM_MAX_ORDER + 1];
    uint64_t declared[DS2_LM_MAX_ORDER + 1];
} header;

static uint64_t align8(uint64_t x)
{
    return (x + 7) & ~(uint64_t)7;
}

/* Section offsets from the header's sizes, with overflow checks (sizes below 2^36 each). */
typedef struct layout {
    uint64_t offsets, blob, vocab, uni_logp, uni_backoff;
    uint64_t keys[DS2_LM_MAX_ORDER + 1], logp[DS2_LM_MAX_ORDER + 1], backoff[DS2_LM_MAX_ORDER + 1];
    uint64_t end;
} layout;

static int big(uint64_t x)
{
    return x > MAX_FILE_BYTES;
}

static int plan(const header *h, layout *l)
{
    if (big(h->n_words) || big(h->blob_bytes) || big(h->vocab_cap))
        return -1;
    uint64_t at = align8(sizeof(header));
    l->offsets = at;
    at = align8(at + ((uint64_t)h->n_words + 1) * 8);
    l->blob = at;
    at = align8(at + h->blob_bytes);
    l->vocab = at;
    at = align8(at + h->vocab_cap * 4);
    l->uni_logp = at;
    at = align8(at + (uint64_t)h->n_words * 4);
    l->uni_backoff = at;
    at = align8(at + (uint64_t)h->n_words * 4);
    for (uint32_t k = 2; k <= h->order; k++) {
        if (big(h->cap[k]) || big(at))
            return -1;
        l->keys[k] = at;
        at = align8(at + h->cap[k] * 4 * k);
        l->logp[k] = at;
        at = align8(at + h->cap[k] * 4);
        l->backoff[k] = at;
        at = align8(at + h->cap[k] * 4);
    }
    if (big(at))
        return -1;
    l->end = at;
    return 0;
}

static int pow2(uint64_t x)
{
    return x >= 16 && (x & (x - 1)) == 0;
}

#define BAD(...) ds2_fail(err, DS2_ERR_MODEL_FORMAT, __VA_ARGS__)

/* Checks the image and points lm's tables into it. */
static ds2_status validate(unsigned char *img, size_t size, const char *name, struct ds2_lm *lm,
                           ds2_err *err)
{
    header h;
    if (size < sizeof h)
        return BAD("LM '%s': %zu bytes, too small for a binary LM header", name, size);
    memcpy(&h, img, sizeof h);
    if (memcmp(h.magic, DS2_LMBIN_MAGIC, 8) != 0)
        return BAD("LM '%s': not a binary LM (magic)", name);
    if (h.version != VERSION)
        return BAD("LM '%s': binary LM version %u, this libds2 reads %d", name, h.version, VERSION);
    if (h.order < 1 || h.order > DS2_LM_MAX_ORDER || h.reserved[0] || h.reserved[1])
        return BAD("LM '%s': order %u outside 1..%d, or reserved fields set", name, h.order,
                   DS2_LM_MAX_ORDER);
    if (h.file_size != size)
        return BAD("LM '%s': header says %llu bytes, the file has %zu (truncated?)", name,
                   (unsigned long long)h.file_size, size);
    if (h.n_words < 3 || !pow2(h.vocab_cap) || h.vocab_cap <= h.n_words)
        return BAD("LM '%s': %u words in a vocabulary table of %llu slots", name, h.n_words,
                   (unsigned long long)h.vocab_cap);
    for (uint32_t k = 0; k <= DS2_LM_MAX_ORDER; k++)
        if ((k < 2 || k > h.order) && (h.n[k] || h.cap[k]))
            return BAD("LM '%s': table sizes for order %u outside 2..%u", name, k, h.order);
    for (uint32_t k = 2; k <= h.order; k++)
        if (!pow2(h.cap[k]) || h.n[k] >= h.cap[k])
            return BAD("LM '%s': %llu %u-grams in a table of %llu slots", name,
                       (unsigned long long)h.n[k], k, (unsigned long long)h.cap[k]);
    layout l;
    if (plan(&h, &l) != 0 || l.end != size)
        return BAD("LM '%s': the sections do not fill the file's %zu bytes", name, size);

    /* words */
    const uint64_t *off = (const uint64_t *)(img + l.offsets);
    const char *blob = (const char *)(img + l.blob);
    if (off[0] != 0 || off[h.n_words] != h.blob_bytes)
        return BAD("LM '%s': word offsets do not span the word blob", name);
    lm->words = calloc(h.n_words, sizeof *lm->words);
    if (!lm->words)
        return ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "out of memory for the LM vocabulary");
    for (uint32_t i = 0; i < h.n_words; i++) {
        if (off[i + 1] <= off[i] || off[i + 1] > h.blob_bytes)
            return BAD("LM '%s': word %u: bad offsets", name, i);
        const char *w = blob + off[i];
        size_t len = (size_t)(off[i + 1] - off[i] - 1);
        if (w[len] != '\0' || memchr(w, '\0', len) || len == 0)
            return BAD("LM '%s': word %u is not a NUL-terminated non-empty string", name, i);
        lm->words[i] = (char *)w;
    }
    lm->n_words = (int)h.n_words;
    lm->order = (int)h.order;

    /* vocabulary slots: every value a word id + 1, each word where its probe ends, no slot twice
     * (n_words filled slots, each word found at one: a bijection) */
    int32_t *slots = (int32_t *)(img + l.vocab);
    uint64_t filled = 0;
    for (uint64_t s = 0; s < h.vocab_cap; s++) {
        if (slots[s] < 0 || (uint64_t)slots[s] > h.n_words)
            return BAD("LM '%s': vocabulary slot %llu holds %d", name, (unsigned long long)s,
                       slots[s]);
        filled += slots[s] != 0;
    }
    if (filled != h.n_words)
        return BAD("LM '%s': %llu vocabulary slots filled for %u words", name,
                   (unsigned long long)filled, h.n_words);
    lm->vocab_slots = slots;
    lm->vocab_mask = (size_t)h.vocab_cap - 1;
    lm->unk_id = -1; /* ds2_lm_word_id's answer for a miss: never a valid id here */
    for (uint32_t i = 0; i < h.n_words; i++)
        if (ds2_lm_word_id(lm, lm->words[i], strlen(lm->words[i])) != (int)i)
            return BAD("LM '%s': word %u ('%.64s') is not at its hash slot (or appears twice)",
                       name, i, lm->words[i]);
    if (h.unk_id < 0 || h.bos_id < 0 || h.eos_id < 0 || (uint32_t)h.unk_id >= h.n_words ||
        (uint32_t)h.bos_id >= h.n_words || (uint32_t)h.eos_id >= h.n_words ||
        strcmp(lm->words[h.unk_id], "<unk>") || strcmp(lm->words[h.bos_id], "<s>") ||
        strcmp(lm->words[h.eos_id], "</s>"))
        return BAD("LM '%s': <unk>, <s> or </s> missing or misplaced", name);
    lm->unk_id = h.unk_id;
    lm->bos_id = h.bos_id;
    lm->eos_id = h.eos_id;

    /* weights and n-gram tables */
    ds2_ngram_table *t1 = &lm->table[1];
    t1->n = t1->cap = h.n_words;
    t1->logp = (float *)(img + l.uni_logp);
    t1->backoff = (float *)(img + l.uni_backoff);
    for (uint32_t i = 0; i < h.n_words; i++)
        if (!isfinite(t1->logp[i]) || !isfinite(t1->backoff[i]))
            return BAD("LM '%s': unigram %u has a weight that is not a finite number", name, i);
    for (int k = 1; k <= DS2_LM_MAX_ORDER; k++)
        lm->counts[k] = h.declared[k];
    for (uint32_t k = 2; k <= h.order; k++) {
        ds2_ngram_table *t = &lm->table[k];
        t->cap = (size_t)h.cap[k];
        t->mask = t->cap - 1;
        t->n = (size_t)h.n[k];
        t->keys = (int32_t *)(img + l.keys[k]);
        t->logp = (float *)(img + l.logp[k]);
        t->backoff = (float *)(img + l.backoff[k]);
        size_t used = 0;
        for (size_t s = 0; s < t->cap; s++) {
            const int32_t *key = t->keys + s * k;
            if (key[0] < 0) {
                for (uint32_t j = 0; j < k; j++)
                    if (key[j] != -1)
                        return BAD("LM '%s': %u-gram slot %zu: a partly empty key", name, k, s);
                continue;
            }
            for (uint32_t j = 0; j < k; j++)
                if (key[j] < 0 || (uint32_t)key[j] >= h.n_words)
                    return BAD("LM '%s': %u-gram slot %zu: word id %d out of range", name, k, s,
                               key[j]);
            if (!isfinite(t->logp[s]) || !isfinite(t->backoff[s]))
                return BAD("LM '%s': %u-gram slot %zu: a weight that is not a finite number", name,
                           k, s);
            used++;
        }
        if (used != t->n)
            return BAD("LM '%s': %zu %u-grams where the header says %zu", name, used, k, t->n);
        /* each key where its probe ends (a duplicate would be found at the first copy) */
        for (size_t s = 0; s < t->cap; s++)
            if (t->keys[s * k] >= 0 && ds2_lm_ngram_find(lm, (int)k, t->keys + s * k) != (long)s)
                return BAD("LM '%s': %u-gram slot %zu is not at its hash slot (or appears twice)",
                           name, k, s);
    }
    return DS2_OK;
}

static ds2_status finish(unsigned char *img, size_t size, int heap, const char *name,
                         struct ds2_lm **out, ds2_err *err)
{
    struct ds2_lm *lm = calloc(1, sizeof *lm);
    if (!lm) {
        if (heap)
            free(img);
        else
            munmap(img, size);
        return ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "out of memory for the LM");
    }
    lm->image = img;
    lm->image_size = size;
    lm->image_heap = heap;
    ds2_status st = validate(img, size, name, lm, err);
    if (st == DS2_OK)
        st = ds2_lm_build_prefixes(lm, err);
    if (st != DS2_OK) {
        ds2_lm_destroy(lm);
        return st;
    }
    *out = lm;
    return DS2_OK;
}

ds2_status ds2_lmbin_map(int fd, size_t size, const char *name, struct ds2_lm **out, ds2_err *err)
{
    *out = NULL;
    if (size < sizeof(header))
        return BAD("LM '%s': %zu bytes, too small for a binary LM header", name, size);
    void *img = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (img == MAP_FAILED)
        return ds2_fail(err, DS2_ERR_IO, "cannot map LM '%s': %s", name, strerror(errno));
    return finish(img, size, 0, name, out, err);
}

ds2_status ds2_lmbin_parse(const void *data, size_t len, const char *name, struct ds2_lm **out,
                           ds2_err *err)
{
    *out = NULL;
    unsigned char *img = malloc(len ? len : 1); /* malloc: aligned for every section */
    if (!img)
        return ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "out of memory for the LM");
    memcpy(img, data, len);
    return finish(img, len, 1, name, out, err);
}

static int put(FILE *f, const void *p, size_t n)
{
    return n == 0 || fwrite(p, 1, n, f) == n ? 0 : -1;
}

static int pad(FILE *f)
{
    static const char zero[8];
    long at = ftell(f);
    return at < 0 ? -1 : put(f, zero, (size_t)(align8((uint64_t)at) - (uint64_t)at));
}

ds2_status ds2_lmbin_write(const struct ds2_lm *lm, const char *path, ds2_err *err)
{
    if (lm->n_words < 3 || lm->unk_id < 0 || lm->bos_id < 0 || lm->eos_id < 0)
        return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT, "LM without <s>, </s> or <unk>");
    header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, DS2_LMBIN_MAGIC, 8);
    h.version = VERSION;
    h.order = (uint32_t)lm->order;
    h.n_words = (uint32_t)lm->n_words;
    h.unk_id = lm->unk_id;
    h.bos_id = lm->bos_id;
    h.eos_id = lm->eos_id;
    uint64_t *off = malloc(((size_t)lm->n_words + 1) * sizeof *off);
    if (!off)
        return ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "out of memory writing the LM");
    off[0] = 0;
    for (int i = 0; i < lm->n_words; i++)
        off[i + 1] = off[i] + strlen(lm->words[i]) + 1;
    h.blob_bytes = off[lm->n_words];
    h.vocab_cap = lm->vocab_mask + 1;
    for (int k = 2; k <= lm->order; k++) {
        h.n[k] = lm->table[k].n;
        h.cap[k] = lm->table[k].cap;
    }
    for (int k = 1; k <= DS2_LM_MAX_ORDER; k++)
        h.declared[k] = lm->counts[k];
    layout l;
    if (plan(&h, &l) != 0) {
        free(off);
        return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT, "LM too large for the binary form");
    }
    h.file_size = l.end;
    /* into a new file renamed over path at the end: path may be the file lm is mapped from */
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    int fd = -1;
    if (tmp) {
        memcpy(tmp, path, plen);
        memcpy(tmp + plen, ".tmp-XXXXXX", 12);
        fd = mkstemp(tmp);
    }
    if (fd >= 0 && fchmod(fd, 0644) != 0) { /* mkstemp's 0600 is for the temporary only */
        close(fd);
        unlink(tmp);
        fd = -1;
    }
    FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!f) {
        int e = tmp ? errno : ENOMEM;
        if (fd >= 0) {
            close(fd);
            unlink(tmp);
        }
        free(tmp);
        free(off);
        return ds2_fail(err, DS2_ERR_IO, "cannot create '%s': %s", path, strerror(e));
    }
    int bad = put(f, &h, sizeof h) || pad(f) ||
              put(f, off, ((size_t)lm->n_words + 1) * sizeof *off) || pad(f);
    for (int i = 0; !bad && i < lm->n_words; i++)
        bad = put(f, lm->words[i], strlen(lm->words[i]) + 1);
    bad = bad || pad(f) || put(f, lm->vocab_slots, (size_t)h.vocab_cap * 4) || pad(f) ||
          put(f, lm->table[1].logp, (size_t)lm->n_words * 4) || pad(f) ||
          put(f, lm->table[1].backoff, (size_t)lm->n_words * 4) || pad(f);
    for (int k = 2; !bad && k <= lm->order; k++) {
        const ds2_ngram_table *t = &lm->table[k];
        /* an empty slot's key is -1 throughout (the builder sets only its first id) */
        int32_t *key = malloc((size_t)k * sizeof *key);
        bad = !key;
        for (size_t s = 0; !bad && s < t->cap; s++) {
            const int32_t *src = t->keys + s * (size_t)k;
            for (int j = 0; j < k; j++)
                key[j] = src[0] < 0 ? -1 : src[j];
            bad = put(f, key, (size_t)k * 4);
        }
        free(key);
        /* an empty slot's weights are 0 (the builder leaves them unset) */
        for (int w = 0; w < 2 && !bad; w++) {
            bad = pad(f);
            const float *src = w ? t->backoff : t->logp;
            for (size_t s = 0; !bad && s < t->cap; s++) {
                float v = t->keys[s * (size_t)k] < 0 ? 0.0f : src[s];
                bad = put(f, &v, 4);
            }
        }
        bad = bad || pad(f);
    }
    free(off);
    if (fclose(f) != 0 || bad || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        free(tmp);
        return ds2_fail(err, DS2_ERR_IO, "cannot write '%s': %s", path, strerror(e));
    }
    free(tmp);
    return DS2_OK;
}
