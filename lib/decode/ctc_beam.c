/* Prefix beam search. Prefixes are nodes of a trie (parent, label), made only for the beam's
 * survivors (each node lists its children, so finding a known prefix costs no hashing); each
 * carries the LM state of its prefix (the words' context and accumulated alpha/beta score, and
 * where its unfinished word lies in the LM's trie of word prefixes). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "decode/ctc_beam.h"

typedef struct node {
    int parent, label;
    int first_child, next_sibling; /* the nodes made below this one, as a list */
    int first, last;    /* frames of the label's first and last emission on this prefix */
    int alive;          /* last frame this node was in the beam */
    double alive_total; /* its ln P_ctc then */
    int next_gen, next_slot;
    double lm_words; /* alpha * ln P_lm + beta * words of the completed words */
    double lm_score; /* lm_words + the unfinished word's penalty: what the beam ranks by */
    int32_t pfx;     /* the unfinished word's node in the LM's prefix trie, -1: starts no word */
    int wchars;      /* its length in characters */
    int wlen;        /* and in labels */
    int32_t ctx[DS2_LM_MAX_ORDER - 1];
    int n_ctx;
    int space_known;    /* space_score holds the LM score of this prefix + separator */
    double space_score; /* (scored once, however often the beam tries the separator) */
} node;

/* A prefix in the beam or a candidate for it. A candidate prefix never in the beam before has no
 * node yet (node -1): nodes are made only for the beam's survivors, so a frame costs B x labels
 * cheap entries, not as many trie nodes. */
typedef struct entry {
    int node;          /* -1: parent + label, to be created if it survives */
    int parent, label; /* when node is -1 */
    double pb, pnb;    /* ln P of the prefix ending in blank / in its last label */
    double lm_score;
    double total; /* lse(pb, pnb), once the frame's masses are all in */
} entry;

typedef struct search {
    const float *probs;
    int T, L, blank, space;
    const char *const *labels;
    const ds2_beam_params *p;
    int partial;         /* score unfinished words (an LM and unk_score_offset < 0) */
    int *label_bytes;    /* [L] strlen of each label */
    int *label_chars;    /* [L] its UTF-8 characters (pyctcdecode counts characters) */
    int32_t *pkid;       /* [L]: the prefix trie's children of the beam entry being extended */
    int byte_label[256]; /* the one-byte label spelled by each byte (-1 none) */
    int *one_byte;       /* [L]: the label is byte_label's for its byte (else: trie searches) */
    int *pos;            /* [L]: this frame, each label's place among the kept ones, -1 pruned */
    int *todo;           /* [L]: scratch, the labels an entry's extensions try */
    unsigned char *spec; /* [L]: blank, the separator, and the entry's own label and children */
    node *nodes;
    int n_nodes, cap_nodes;
    int *kid; /* [L]: the children of the beam entry being extended, by label, -1 none */
    entry *next;
    int n_next, cap_next;
} search;

static double lse(double a, double b)
{
    if (a == -INFINITY)
        return b;
    if (b == -INFINITY)
        return a;
    /* past 40 nats the smaller term is below half an ulp of the larger whenever that is >= 1 in
     * magnitude (log1p(e^-40) = 4e-18): skip the transcendentals */
    double d = a - b;
    if (d > 40 && a <= -1)
        return a;
    if (d < -40 && b <= -1)
        return b;
    return a > b ? a + log1p(exp(b - a)) : b + log1p(exp(a - b));
}

const char *ds2_beam_params_check(const ds2_beam_params *p)
{
    if (p->beam_width < 1 || p->beam_width > 100000)
        return "beam_width must be 1..100000";
    if (!(p->cutoff_prob > 0 && p->cutoff_prob <= 1))
        return "cutoff_prob must be in (0, 1]";
    if (p->cutoff_top_n < 1)
        return "cutoff_top_n must be >= 1";
    if (!isfinite(p->alpha) || !isfinite(p->beta))
        return "alpha and beta must be finite numbers";
    if (!isfinite(p->unk_score_offset) || p->unk_score_offset > 0)
        return "unk_score_offset must be a finite number <= 0";
    if (!(p->token_min_logp <= 0) || !(p->beam_prune_logp <= 0))
        return "token_min_logp and beam_prune_logp must be <= 0 (0: off)";
    return "";
}

/* pyctcdecode's LanguageModel.score_partial_token: an unfinished word that starts no vocabulary
 * word costs unk_score_offset, more past AVG_TOKEN_LEN (6) characters. */
static double partial_penalty(const search *s, int32_t pfx, int wchars)
{
    if (pfx >= 0 || wchars == 0)
        return 0;
    double off = s->p->unk_score_offset;
    return wchars > 6 ? off * wchars / 6.0 : off;
}

/* lm_score of parent + label, for a label that is not the separator, whose unfinished word is
 * the trie node pfx */
static double child_score(const search *s, const node *parent, int label, int32_t pfx)
{
    if (!s->partial)
        return parent->lm_score;
    return parent->lm_words + partial_penalty(s, pfx, parent->wchars + s->label_chars[label]);
}

/* The LM state of parent + label: a separator completes the word since the previous one. */
static void node_lm(search *s, node *n, const node *parent)
{
    n->lm_words = parent->lm_words;
    n->lm_score = parent->lm_score;
    n->pfx = parent->pfx;
    n->wchars = parent->wchars;
    n->wlen = parent->wlen;
    n->n_ctx = parent->n_ctx;
    memcpy(n->ctx, parent->ctx, sizeof n->ctx);
    const struct ds2_lm *lm = s->p->lm;
    if (!lm)
        return;
    if (n->label != s->space) {
        /* the word goes on: its place in the trie of word prefixes */
        n->pfx = parent->pfx >= 0 ? ds2_lm_prefix_step(lm, parent->pfx, s->labels[n->label],
                                                       (size_t)s->label_bytes[n->label])
                                  : -1;
        n->wchars += s->label_chars[n->label];
        n->wlen++;
        n->lm_score = child_score(s, parent, n->label, n->pfx);
        return;
    }
    n->pfx = 0; /* a new word begins */
    n->wchars = n->wlen = 0;
    n->lm_score = n->lm_words;
    if (parent->wlen == 0)
        return; /* two separators in a row: no word between them */
    /* the trie node of the word's spelling knows the word (no spelling to hash) */
    int32_t id = parent->pfx >= 0 ? lm->pfx_word[parent->pfx] : -1;
    if (id < 0)
        id = lm->unk_id;
    double lp = ds2_lm_log10p(lm, n->ctx, n->n_ctx, id);
    if (id == lm->unk_id)
        lp += s->p->unk_score_offset; /* pyctcdecode's LanguageModel.score: log10 units */
    n->lm_words += s->p->alpha * M_LN10 * lp + s->p->beta;
    n->lm_score = n->lm_words;
    int keep = lm->order - 1;
    if (n->n_ctx < keep)
        n->ctx[n->n_ctx++] = id;
    else if (keep > 0) {
        memmove(n->ctx, n->ctx + 1, (size_t)(keep - 1) * sizeof *n->ctx);
        n->ctx[keep - 1] = id;
    }
}

static int new_node(search *s, int parent, int label, int t)
{
    if (s->n_nodes == s->cap_nodes) {
        int cap = s->cap_nodes ? s->cap_nodes * 2 : 1024;
        node *p = realloc(s->nodes, (size_t)cap * sizeof *p);
        if (!p)
            return -1;
        s->nodes = p;
        s->cap_nodes = cap;
    }
    int i = s->n_nodes++;
    node *n = &s->nodes[i];
    memset(n, 0, sizeof *n);
    n->parent = parent;
    n->label = label;
    n->first = n->last = t;
    n->alive = -2;
    n->alive_total = -INFINITY;
    n->first_child = -1;
    n->next_sibling = -1;
    if (parent >= 0) {
        n->next_sibling = s->nodes[parent].first_child;
        s->nodes[parent].first_child = i;
    }
    n->next_gen = -1;
    if (parent >= 0) {
        node_lm(s, n, &s->nodes[parent]);
    } else if (s->p->lm && s->p->lm->order > 1) {
        /* the first word follows <s>, as KenLM scores a sentence (and ctcdecode, pyctcdecode) */
        n->ctx[0] = s->p->lm->bos_id;
        n->n_ctx = 1;
    }
    return i;
}

static entry *next_slot(search *s)
{
    if (s->n_next == s->cap_next) {
        int cap = s->cap_next ? s->cap_next * 2 : 256;
        entry *p = realloc(s->next, (size_t)cap * sizeof *p);
        if (!p)
            return NULL;
        s->next = p;
        s->cap_next = cap;
    }
    return &s->next[s->n_next++];
}

/* Adds probability v (ln) to node i's blank or non-blank mass in the next beam. */
static int add(search *s, int i, int blank, double v, int t)
{
    if (v == -INFINITY)
        return 0;
    node *n = &s->nodes[i];
    if (n->next_gen != t) {
        entry *e = next_slot(s);
        if (!e)
            return -1;
        *e = (entry){i, n->parent, n->label, -INFINITY, -INFINITY, n->lm_score, 0};
        n->next_gen = t;
        n->next_slot = (int)(e - s->next);
    }
    entry *e = &s->next[n->next_slot];
    if (blank)
        e->pb = lse(e->pb, v);
    else
        e->pnb = lse(e->pnb, v);
    return 0;
}

/* Node `parent` emits `label` afresh at frame t with ln probability v. When parent + label is in
 * the beam, the mass joins it, and its frames restart if this emission is the likelier story
 * (v beats all the probability it had, which bounds every path that emitted the label earlier),
 * so a label kept in the beam on a faint early emission still starts where it sounds. Otherwise
 * it is a new candidate, scored with the LM if the label completes a word (else child_lm, the
 * caller's child_score); one scoring below
 * `floor` cannot make the beam (at least beam_width entries will score above it) and is not
 * listed, though a known prefix still has its frames restarted as if it were. */
static int extend(search *s, int parent, int label, double v, int t, double floor, double child_lm)
{
    if (v == -INFINITY)
        return 0;
    int i = s->kid[label];
    if (i >= 0 && s->nodes[i].alive == t - 1) {
        node *n = &s->nodes[i];
        if (v > n->alive_total)
            n->first = n->last = t;
        return add(s, i, 0, v, t);
    }
    node *pn = &s->nodes[parent];
    double lm_score = child_lm;
    if (i >= 0) {
        lm_score = s->nodes[i].lm_score; /* known prefix: its LM state is made */
    } else if (s->p->lm && label == s->space) {
        if (!pn->space_known) {
            node tmp;
            tmp.parent = parent;
            tmp.label = label;
            node_lm(s, &tmp, pn);
            pn->space_score = tmp.lm_score;
            pn->space_known = 1;
        }
        lm_score = pn->space_score;
    }
    if (i >= 0)
        s->nodes[i].first = s->nodes[i].last = t; /* a fresh emission */
    if (v + lm_score < floor)
        return 0;
    entry *e = next_slot(s);
    if (!e)
        return -1;
    /* a known prefix back in the running (i >= 0) keeps its node: prefixes stay unique */
    *e = (entry){i, parent, label, -INFINITY, v, lm_score, 0};
    if (i >= 0) {
        s->nodes[i].next_gen = t;
        s->nodes[i].next_slot = (int)(e - s->next);
    }
    return 0;
}

typedef struct ranked {
    double score;
    int index;
} ranked;

/* Best first; equal scores keep their insertion order (as Python's stable sort). */
static int by_score(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

/* a ranks before b (the order by_score sorts in) */
static int better(const ranked *a, const ranked *b)
{
    return a->score > b->score || (a->score == b->score && a->index < b->index);
}

/* Restores the heap r[0..k) (worst at the root) below c. */
static void sift_down(ranked *r, int k, int c)
{
    for (;;) {
        int w = c, l = 2 * c + 1, rr = l + 1;
        if (l < k && better(&r[w], &r[l]))
            w = l;
        if (rr < k && better(&r[w], &r[rr]))
            w = rr;
        if (w == c)
            return;
        ranked tmp = r[c];
        r[c] = r[w];
        r[w] = tmp;
        c = w;
    }
}

/* Keeps the k best of r[0..n) in r[0..k), best first: a heap of the k best so far with the worst
 * on top, O(n log k), then a heap sort of those (the order is total: score, then index, so any
 * sort gives the stable sort's order). Returns min(n, k). */
static int top_k(ranked *r, int n, int k)
{
    if (n <= 4 * k) {
        /* few candidates (the usual case once the beam is full): an insertion sort into the k
         * best so far, nearly free on input that arrives in almost the beam's order */
        int m = 0;
        for (int i = 0; i < n; i++) {
            if (m == k && !better(&r[i], &r[k - 1]))
                continue;
            ranked x = r[i];
            int j = m < k ? m++ : k - 1;
            for (; j > 0 && better(&x, &r[j - 1]); j--)
                r[j] = r[j - 1];
            r[j] = x;
        }
        return m;
    }
    /* n > k */
    for (int i = k / 2 - 1; i >= 0; i--)
        sift_down(r, k, i);
    for (int i = k; i < n; i++) {
        if (!better(&r[i], &r[0]))
            continue;
        r[0] = r[i];
        sift_down(r, k, 0);
    }
    /* pop the worst to the back: best first */
    for (int m = k - 1; m > 0; m--) {
        ranked tmp = r[0];
        r[0] = r[m];
        r[m] = tmp;
        sift_down(r, m, 0);
    }
    return k;
}

typedef struct label_prob {
    float p;
    int label;
} label_prob;

static int by_prob(const void *a, const void *b)
{
    const label_prob *x = a, *y = b;
    if (x->p != y->p)
        return x->p > y->p ? -1 : 1;
    return (x->label > y->label) - (x->label < y->label);
}

/* pyctcdecode's beam_prune_logp (< 0): keeps the entries of r scoring at least the best + it, in
 * their order. Returns how many. */
static int prune_beams(ranked *r, int n, double beam_prune_logp)
{
    if (!(beam_prune_logp < 0) || beam_prune_logp == -INFINITY || n == 0)
        return n;
    double best = -INFINITY;
    for (int i = 0; i < n; i++)
        if (r[i].score > best)
            best = r[i].score;
    double keep = best + beam_prune_logp;
    int m = 0;
    for (int i = 0; i < n; i++)
        if (r[i].score >= keep)
            r[m++] = r[i];
    return m;
}

/* ctcdecode's get_pruned_log_probs: labels by probability, kept while the cumulative
 * probability is below cutoff_prob (the one reaching it included), at most cutoff_top_n; and
 * pyctcdecode's token_min_logp: only those with ln p >= it, but at least the likeliest. */
static int prune(const float *row, int L, const ds2_beam_params *p, label_prob *out)
{
    for (int l = 0; l < L; l++)
        out[l] = (label_prob){row[l], l};
    int min_logp = p->token_min_logp < 0 && p->token_min_logp > -INFINITY;
    if (p->cutoff_prob >= 1.0 && p->cutoff_top_n >= L && !min_logp)
        return L;
    qsort(out, (size_t)L, sizeof *out, by_prob);
    if (min_logp) {
        int keep = 1;
        while (keep < L && log((double)out[keep].p) >= p->token_min_logp)
            keep++;
        L = keep;
    }
    int n = L;
    if (p->cutoff_prob < 1.0) {
        double cum = 0;
        n = 0;
        while (n < L) {
            cum += out[n++].p;
            if (cum >= p->cutoff_prob)
                break;
        }
    }
    return n < p->cutoff_top_n ? n : p->cutoff_top_n;
}

/* The LM's last word and </s> for a finished prefix. */
static double end_score(const search *s, int i)
{
    const struct ds2_lm *lm = s->p->lm;
    if (!lm)
        return 0;
    search *ms = (search *)s; /* node_lm only reads the nodes and writes the scratch node */
    node tmp, last = s->nodes[i];
    if (i > 0 && last.label != s->space) {
        /* as if a separator followed */
        tmp.parent = i;
        tmp.label = s->space;
        node_lm(ms, &tmp, &s->nodes[i]);
        last = tmp;
    }
    return last.lm_score +
           s->p->alpha * M_LN10 * ds2_lm_log10p(lm, last.ctx, last.n_ctx, lm->eos_id);
}

static ds2_status emit(search *s, entry *beam, int n_beam, ds2_beam_out *out, ds2_err *err)
{
    ranked *r = malloc((size_t)(n_beam ? n_beam : 1) * sizeof *r);
    out->paths = calloc((size_t)(n_beam ? n_beam : 1), sizeof *out->paths);
    if (!r || !out->paths) {
        free(r);
        return ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "out of memory for beams");
    }
    for (int b = 0; b < n_beam; b++)
        r[b] = (ranked){lse(beam[b].pb, beam[b].pnb) + end_score(s, beam[b].node), b};
    n_beam = prune_beams(r, n_beam, s->p->beam_prune_logp);
    if (n_beam > 1)
        qsort(r, (size_t)n_beam, sizeof *r, by_score);
    for (int b = 0; b < n_beam; b++) {
        ds2_beam_path *path = &out->paths[b];
        const entry *e = &beam[r[b].index];
        int len = 0;
        for (int i = e->node; i > 0; i = s->nodes[i].parent)
            len++;
        path->labels = malloc((size_t)(len ? len : 1) * 3 * sizeof(int));
        if (!path->labels) {
            free(r);
            return ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "out of memory for beams");
        }
        out->n = b + 1;
        path->first = path->labels + len;
        path->last = path->first + len;
        path->len = len;
        path->score = r[b].score;
        path->ctc = lse(e->pnb, e->pb);
        int k = len;
        for (int i = e->node; i > 0; i = s->nodes[i].parent) {
            k--;
            path->labels[k] = s->nodes[i].label;
            path->first[k] = s->nodes[i].first;
            path->last[k] = s->nodes[i].last;
        }
        /* A node is shared by every story of its prefix: after a child left it, a parent kept in
         * the beam may restart its first frame or extend its last one. On this path each label
         * starts before its successor and ends before the successor starts. */
        for (k = len - 2; k >= 0; k--)
            if (path->first[k] >= path->first[k + 1])
                path->first[k] = path->first[k + 1] > 0 ? path->first[k + 1] - 1 : 0;
        for (k = 0; k < len; k++) {
            if (path->last[k] < path->first[k])
                path->last[k] = path->first[k];
            if (k + 1 < len && path->last[k] >= path->first[k + 1])
                path->last[k] = path->first[k + 1] - 1 > path->first[k] ? path->first[k + 1] - 1
                                                                        : path->first[k];
        }
    }
    free(r);
    return DS2_OK;
}

ds2_status ds2_ctc_beam_decode(const float *probs, int T, int L, int blank,
                               const char *const *labels, const ds2_beam_params *p,
                               ds2_beam_out *out, ds2_err *err)
{
    memset(out, 0, sizeof *out);
    if (T < 0 || L < 1 || blank < 0 || blank >= L || !labels || (!probs && T > 0) || !p)
        return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT, "beam search: bad arguments");
    const char *why = ds2_beam_params_check(p);
    if (*why)
        return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT, "beam search: %s", why);
    search s = {.probs = probs,
                .T = T,
                .L = L,
                .blank = blank,
                .space = -1,
                .labels = labels,
                .p = p,
                .partial = p->lm && p->unk_score_offset < 0};
    for (int l = 0; l < L; l++) {
        if (!labels[l])
            return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT, "beam search: label %d is NULL", l);
        if (s.space < 0 && l != blank && !strcmp(labels[l], " "))
            s.space = l;
    }
    s.label_bytes = malloc((size_t)L * 7 * sizeof *s.label_bytes);
    if (!s.label_bytes)
        return ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "out of memory for the beam search");
    s.label_chars = s.label_bytes + L;
    s.pkid = s.label_bytes + 2 * L;
    s.one_byte = s.label_bytes + 3 * L;
    s.pos = s.label_bytes + 4 * L;
    s.todo = s.label_bytes + 5 * L;
    s.spec = (unsigned char *)(s.label_bytes + 6 * L);
    for (int b = 0; b < 256; b++)
        s.byte_label[b] = -1;
    for (int l = 0; l < L; l++) {
        s.label_bytes[l] = (int)strlen(labels[l]);
        s.label_chars[l] = 0;
        for (const char *c = labels[l]; *c; c++)
            s.label_chars[l] += ((unsigned char)*c & 0xC0) != 0x80; /* not a continuation byte */
        if (s.label_bytes[l] == 1 && l != blank && s.byte_label[(unsigned char)labels[l][0]] < 0)
            s.byte_label[(unsigned char)labels[l][0]] = l;
    }
    for (int l = 0; l < L; l++)
        s.one_byte[l] = s.label_bytes[l] == 1 && s.byte_label[(unsigned char)labels[l][0]] == l;
    int B = p->beam_width;
    entry *beam = malloc((size_t)B * sizeof *beam);
    label_prob *lp = malloc((size_t)L * sizeof *lp);
    double *lnp = malloc((size_t)L * 2 * sizeof *lnp);
    double *lnp_j = lnp ? lnp + L : NULL; /* lnp in lp's order */
    ranked *rank = NULL;
    int cap_rank = 0, n_beam = 1;
    ds2_status st = DS2_OK;
    s.kid = malloc((size_t)L * sizeof *s.kid);
    if (!beam || !lp || !lnp || !s.kid || new_node(&s, -1, -1, -1) < 0) {
        st = ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "out of memory for the beam search");
        goto done;
    }
    for (int l = 0; l < L; l++)
        s.kid[l] = -1;
    for (int l = 0; l < L; l++) /* the labels always tried; the loop adds each entry's own */
        s.spec[l] = l == blank || (p->lm && l == s.space);
    beam[0] = (entry){0, -1, -1, 0.0, -INFINITY, 0.0, 0.0};
    s.nodes[0].alive = -1;
    for (int t = 0; t < T && st == DS2_OK; t++) {
        const float *row = probs + (size_t)t * L;
        int n = prune(row, L, p, lp);
        double blank_lp = -INFINITY;
        for (int l = 0; l < L; l++)
            lnp[l] = NAN;          /* not among the pruned */
        double max_lp = -INFINITY; /* the likeliest label but blank */
        for (int l = 0; l < L; l++)
            s.pos[l] = -1;
        for (int j = 0; j < n; j++) {
            s.pos[lp[j].label] = j;
            lnp[lp[j].label] = log((double)lp[j].p);
            lnp_j[j] = lnp[lp[j].label];
            if (lp[j].label == blank)
                blank_lp = lnp[blank];
            else if (lnp[lp[j].label] > max_lp)
                max_lp = lnp[lp[j].label];
        }
        s.n_next = 0;
        int oom = 0;
        /* Each beam entry's own next score (blank and repeat) is a lower bound: extensions only
         * add to it. With a full beam, a new candidate below the lowest of these bounds cannot
         * make the next beam; the margin covers rounding in the log-sum-exp. */
        /* With beam_prune_logp, the best of these bounds + beam_prune_logp is a floor too: the
         * best next score is at least that bound. */
        double floor = -INFINITY;
        int beam_prune = p->beam_prune_logp < 0 && p->beam_prune_logp > -INFINITY;
        if (n_beam == B || beam_prune) {
            double lowest = INFINITY, highest = -INFINITY;
            for (int b = 0; b < n_beam; b++) {
                const entry *e = &beam[b];
                /* max for log-sum-exp: a bound, without the transcendentals */
                double own_next = e->total + blank_lp;
                int own = e->node > 0 ? s.nodes[e->node].label : -1;
                if (own >= 0 && lnp[own] == lnp[own] && e->pnb + lnp[own] > own_next)
                    own_next = e->pnb + lnp[own];
                own_next += s.nodes[e->node].lm_score;
                if (own_next < lowest)
                    lowest = own_next;
                if (own_next > highest)
                    highest = own_next;
            }
            if (n_beam == B)
                floor = lowest;
            if (beam_prune && highest + p->beam_prune_logp > floor)
                floor = highest + p->beam_prune_logp;
            if (isfinite(floor))
                floor -= 1e-9 * (1.0 + fabs(floor));
        }
        for (int b = 0; b < n_beam && !oom; b++) {
            entry e = beam[b];
            double total = e.total;
            int own = e.node > 0 ? s.nodes[e.node].label : -1;
            const node *en = &s.nodes[e.node];
            for (int k = en->first_child; k >= 0; k = s.nodes[k].next_sibling) {
                s.kid[s.nodes[k].label] = k;
                s.spec[s.nodes[k].label] = 1;
            }
            if (own >= 0)
                s.spec[own] = 1;
            /* No new prefix of this entry that completes no word can make the beam (a word goes
             * on at no better LM score than its parent's): only blank, its own label, the
             * separator and the prefixes made before need a look. Common once the beam is full:
             * most entries are far below its top. */
            int quick = total + max_lp + en->lm_score < floor;
            /* the trie children of the entry's unfinished word, by label: one pass over them
             * instead of a search per label */
            if (s.partial && !quick) {
                for (int l = 0; l < L; l++)
                    s.pkid[l] = -1;
                if (en->pfx >= 0)
                    for (int l = 0; l < L; l++)
                        if (!s.one_byte[l] && l != blank)
                            s.pkid[l] = ds2_lm_prefix_step(p->lm, en->pfx, labels[l],
                                                           (size_t)s.label_bytes[l]);
                if (en->pfx > 0) {
                    for (int32_t k = p->lm->pfx_child[en->pfx]; k >= 0; k = p->lm->pfx_sibling[k]) {
                        int l = s.byte_label[p->lm->pfx_byte[k]];
                        if (l >= 0)
                            s.pkid[l] = k;
                    }
                } else if (en->pfx == 0) {
                    for (int l = 0; l < L; l++)
                        if (s.one_byte[l])
                            s.pkid[l] = p->lm->pfx_root[(unsigned char)labels[l][0]];
                }
            }
            int scored = p->lm ? s.space : -1;
            /* quick: the labels that need a look, in the order of lp (that of the full loop, so
             * the next beam's entries are listed as the reference lists them) */
            int count = n;
            if (quick) {
                count = 0;
                int special[3] = {blank, own, scored};
                for (int q = 0; q < 3; q++) {
                    int c = special[q];
                    if (c >= 0 && s.pos[c] >= 0 && (q < 2 || c != own))
                        s.todo[count++] = c;
                }
                for (int k = en->first_child; k >= 0; k = s.nodes[k].next_sibling) {
                    int c = s.nodes[k].label;
                    if (s.pos[c] >= 0 && c != own && c != scored)
                        s.todo[count++] = c;
                }
                for (int q = 1; q < count; q++) {
                    int c = s.todo[q], r = q;
                    for (; r > 0 && s.pos[s.todo[r - 1]] > s.pos[c]; r--)
                        s.todo[r] = s.todo[r - 1];
                    s.todo[r] = c;
                }
            }
            /* the full loop's cheap test below, first: a label that is not special (spec) and
             * whose ln p is below this bound falls below the floor (margin: the test decides) */
            double below = floor - total - en->lm_score;
            below -= 1e-6 * (1.0 + fabs(below));
            for (int j = 0; j < count && !oom; j++) {
                int c = quick ? s.todo[j] : lp[j].label;
                if (!quick && lnp_j[j] < below && !s.spec[c])
                    continue;
                double v = lnp[c];
                if (c == blank) {
                    oom |= add(&s, e.node, 1, total + v, t);
                    continue;
                }
                if (c == own)
                    oom |= add(&s, e.node, 0, e.pnb + v, t);
                double val = c == own ? e.pb + v : total + v;
                if (val == -INFINITY)
                    continue;
                /* a new prefix that completes no word scores at most its parent's LM score: most
                 * fall below the floor by that bound already */
                if (c != scored && s.kid[c] < 0 && val + en->lm_score < floor)
                    continue;
                /* extend()'s test for a label that completes no word, hoisted */
                double child = 0;
                if (c == scored)
                    ; /* extend() scores the word */
                else if (s.kid[c] >= 0)
                    child = s.nodes[s.kid[c]].lm_score; /* the same, made already */
                else if (!s.partial)
                    child = en->lm_score;
                else /* the word's next trie node: precomputed unless quick */
                    child = child_score(&s, en, c,
                                        en->pfx < 0 ? -1
                                        : quick     ? ds2_lm_prefix_step(p->lm, en->pfx, labels[c],
                                                                         (size_t)s.label_bytes[c])
                                                    : s.pkid[c]);
                if (c != scored && val + child < floor) {
                    int i = s.kid[c];
                    if (i < 0)
                        continue;
                    if (s.nodes[i].alive != t - 1) {
                        s.nodes[i].first = s.nodes[i].last = t; /* as extend() does */
                        continue;
                    }
                }
                oom |= extend(&s, e.node, c, val, t, floor, child);
            }
            for (int k = en->first_child; k >= 0; k = s.nodes[k].next_sibling) {
                s.kid[s.nodes[k].label] = -1;
                s.spec[s.nodes[k].label] = s.nodes[k].label == scored;
            }
            if (own >= 0)
                s.spec[own] = own == scored;
            /* the label still sounding extends its last frame: its repeat is likelier than a blank
             * and than a fresh emission of the same label after a blank */
            if (own >= 0 && lnp[own] == lnp[own] && e.pnb > e.pb &&
                e.pnb + lnp[own] > total + blank_lp)
                s.nodes[e.node].last = t;
        }
        if (oom) {
            st = ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "out of memory in the beam search");
            break;
        }
        if (s.n_next > cap_rank) {
            free(rank);
            cap_rank = s.n_next;
            rank = malloc((size_t)cap_rank * sizeof *rank);
            if (!rank) {
                st = ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "out of memory in the beam search");
                break;
            }
        }
        for (int i = 0; i < s.n_next; i++) {
            entry *e = &s.next[i];
            e->total = lse(e->pb, e->pnb);
            rank[i] = (ranked){e->total + e->lm_score, i};
        }
        n_beam = top_k(rank, prune_beams(rank, s.n_next, p->beam_prune_logp), B);
        for (int b = 0; b < n_beam && st == DS2_OK; b++) {
            beam[b] = s.next[rank[b].index];
            if (beam[b].node < 0 &&
                (beam[b].node = new_node(&s, beam[b].parent, beam[b].label, t)) < 0)
                st = ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "out of memory in the beam search");
            else
                s.nodes[beam[b].node].alive = t;
            if (st == DS2_OK)
                s.nodes[beam[b].node].alive_total = beam[b].total;
        }
    }
    if (st == DS2_OK)
        st = emit(&s, beam, n_beam, out, err);
    if (st != DS2_OK)
        ds2_beam_out_free(out);
done:
    free(beam);
    free(lp);
    free(lnp);
    free(rank);
    free(s.nodes);
    free(s.kid);
    free(s.next);
    free(s.label_bytes);
    return st;
}

void ds2_beam_out_free(ds2_beam_out *out)
{
    if (!out)
        return;
    for (int i = 0; i < out->n; i++)
        free(out->paths[i].labels);
    free(out->paths);
    memset(out, 0, sizeof *out);
}
