/* libFuzzer target: the LM reader (ds2_lm_load: ARPA header counts, sections, every line's fields
 * and numbers, vocabulary and n-gram tables). An accepted LM must describe itself consistently:
 * every word spells back to its own id (and through the prefix trie), and every query with backoff
 * over its vocabulary gives a finite log10 probability (not necessarily <= 0: ARPA backoff weights
 * may be positive). */
#include <math.h>
#include <string.h>

#include "decode/lm.h"
#include "ds2.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    ds2_lm *lm = NULL;
    ds2_status st = ds2_lm_load(fuzz_input_path(data, size), &lm, err, sizeof err);
    if (st != DS2_OK) {
        if (lm || !err[0]) /* a failure must leave no LM and say why */
            abort();
        return 0;
    }
    ds2_lm_info info;
    ds2_lm_get_info(lm, &info);
    if (info.order < 2 || info.order > DS2_LM_MAX_ORDER || lm->n_words < 3 ||
        info.counts[1] != (uint64_t)lm->n_words)
        abort();
    for (int w = 0; w < lm->n_words; w++)
        if (ds2_lm_word_id(lm, lm->words[w], strlen(lm->words[w])) != w)
            abort();
    if (ds2_lm_word_id(lm, "\x01no such word", 13) != lm->unk_id)
        abort();
    /* the prefix trie built at load: every real word's spelling leads to a node that knows it */
    for (int w = 0; w < lm->n_words; w++) {
        if (w == lm->unk_id || w == lm->bos_id || w == lm->eos_id || !lm->words[w][0])
            continue;
        int32_t node = ds2_lm_prefix_step(lm, 0, lm->words[w], strlen(lm->words[w]));
        if (node <= 0 || (size_t)node >= lm->n_pfx || lm->pfx_word[node] != w)
            abort();
    }
    /* queries along a walk through the vocabulary (bounded: fuzzed LMs can be large) */
    int32_t ctx[DS2_LM_MAX_ORDER] = {0};
    int n_ctx = 0, steps = lm->n_words < 64 ? lm->n_words * 4 : 256;
    for (int i = 0; i < steps; i++) {
        int32_t w = (int32_t)((i * 7 + i / 3) % lm->n_words);
        double p = ds2_lm_log10p(lm, ctx, n_ctx, w);
        if (!isfinite(p))
            abort();
        if (n_ctx < DS2_LM_MAX_ORDER - 1)
            ctx[n_ctx++] = w;
        else {
            memmove(ctx, ctx + 1, (size_t)(n_ctx - 1) * sizeof *ctx);
            ctx[n_ctx - 1] = w;
        }
    }
    ds2_lm_free(lm);
    return 0;
}
