#!/usr/bin/env python3
"""Plain-Python CTC prefix beam search with a word n-gram LM: the reference for
lib/decode/ctc_beam.c, written for clarity, step for step the same search (same pruning, same
merge order, same tie rule), so the C decoder can be held to its beams and scores.

  tools/ctc_beam_reference.py --out test/golden/beam.txt [--lm test/golden/tiny.arpa]

writes golden cases (random softmax matrices, several beam widths and pruning settings, with and
without the LM) that test/test_beam.c replays. Needs numpy only (for the random matrices and
float32 rounding).

Algorithm (ctcdecode's, with pyctcdecode's soft lexicon and pruning in place of ctcdecode's
dictionary trie):
  - per frame, labels sorted by probability (ties: lower index first) are kept while ln p >=
    token_min_logp (when < 0; the likeliest always), then while the cumulative probability is
    below cutoff_prob (the one reaching it included), at most cutoff_top_n;
  - each prefix keeps ln P(ending in blank) and ln P(ending in its last label); extensions by
    blank, by a repeat of the last label (collapses), by a new label;
  - a prefix's LM score (alpha * ln P_lm + beta per word) is fixed when it is created: a word is
    scored when a separator (" ") follows it, <unk> for unknown spellings (whose log10 P_lm gets
    unk_score_offset added); at the end the last word and </s> are scored;
  - pyctcdecode's partial-word score: a prefix whose unfinished word (the labels since the last
    separator) is no prefix of a vocabulary word (<s>, </s>, <unk> aside) ranks with
    unk_score_offset (ln, not scaled by alpha) added, times its length / 6 past 6 characters;
    the word's own score replaces it when the word ends;
  - the beam keeps the beam_width best by ln P_ctc + LM score (stable: ties keep first-seen
    order), of those scoring at least the best + beam_prune_logp (when < 0); final beams are
    ranked by the same plus the end scores, and pruned the same way.
Word timestamps: a label's first frame is when its prefix was created, or re-emitted when not
in the previous beam or by an emission likelier than all the prefix had there; its last frame is
the last one at which the prefix was in the beam and a repeat of the label was likelier than a
blank and than a fresh emission after a blank; on the final path a label starts before its
successor starts and ends before it starts (a node is shared by all stories of its prefix).
"""
import argparse
import math

import numpy as np

NEG = -math.inf
LN10 = math.log(10.0)


def f32(x):
    return float(np.float32(x))


def lse(a, b):
    if a == NEG:
        return b
    if b == NEG:
        return a
    return a + math.log1p(math.exp(b - a)) if a > b else b + math.log1p(math.exp(a - b))


class Arpa:
    """Reads an ARPA file; weights rounded to float32 as the C reader stores them."""

    def __init__(self, path):
        self.grams = {}  # tuple of words -> (log10 p, log10 backoff)
        self.order = 0
        section = None
        data = False
        for raw in open(path, encoding="utf-8"):
            line = raw.strip()
            if not data:
                data = line == "\\data\\"
                continue
            if not line or line.startswith("ngram "):
                continue
            if line == "\\end\\":
                break
            if line.startswith("\\"):
                section = int(line[1:].split("-")[0])
                self.order = max(self.order, section)
                continue
            f = line.split()
            words = tuple(f[1 : 1 + section])
            bo = f32(float(f[1 + section])) if len(f) > 1 + section else 0.0
            self.grams[words] = (f32(float(f[0])), bo)
        if ("<unk>",) not in self.grams:
            self.grams[("<unk>",)] = (-100.0, 0.0)
        # every prefix of every word, for the partial-word check (pyctcdecode's char trie)
        self.prefixes = set()
        for g in self.grams:
            if len(g) == 1 and g[0] not in ("<s>", "</s>", "<unk>"):
                self.prefixes.update(g[0][:k] for k in range(len(g[0]) + 1))

    def word(self, w):
        return w if (w,) in self.grams else "<unk>"

    def log10p(self, ctx, w):
        ctx = ctx[len(ctx) - min(len(ctx), self.order - 1) :]
        backoff = 0.0
        for n in range(len(ctx), -1, -1):
            h = tuple(ctx[len(ctx) - n :])
            if h + (w,) in self.grams:
                return backoff + self.grams[h + (w,)][0]
            if n > 0 and h in self.grams:
                backoff += self.grams[h][1]
        return backoff


class Node:
    def __init__(self, parent, label, t):
        self.parent, self.label = parent, label
        self.first = self.last = t
        self.alive = -2
        self.alive_total = NEG
        self.lm_words = 0.0  # the completed words' score
        self.lm_score = 0.0  # that + the unfinished word's penalty: what the beam ranks by
        self.part = ""  # the unfinished word
        self.ctx = ()


def beam_search(probs, labels, blank, beam_width, cutoff_prob, cutoff_top_n, lm, alpha, beta,
                unk_offset=0.0, token_min_logp=0.0, beam_prune_logp=0.0):
    T, L = probs.shape
    space = next((i for i, s in enumerate(labels) if i != blank and s == " "), -1)
    nodes = [Node(-1, -1, -1)]
    nodes[0].alive = -1
    if lm is not None and lm.order > 1:
        nodes[0].ctx = ("<s>",)  # the first word follows <s>, as KenLM scores a sentence
    children = {}

    def word_before(i):
        chars = []
        while i > 0 and nodes[i].label != space:
            chars.append(labels[nodes[i].label])
            i = nodes[i].parent
        return "".join(reversed(chars))

    def lm_extend(score, ctx, word):
        wid = lm.word(word)
        lp = lm.log10p(ctx, wid)
        if wid == "<unk>":
            lp += unk_offset
        score = score + (alpha * LN10 * lp + beta)
        return score, (ctx + (wid,))[-(lm.order - 1) :] if lm.order > 1 else ()

    def child(parent, c, t, v):
        key = (parent, c)
        if key in children:
            n = nodes[children[key]]
            if n.alive != t - 1 or v > n.alive_total:
                n.first = n.last = t
            return children[key]
        n = Node(parent, c, t)
        p = nodes[parent]
        n.lm_words, n.lm_score, n.ctx, n.part = p.lm_words, p.lm_score, p.ctx, p.part
        if lm is not None and c == space:
            n.part = ""
            n.lm_score = n.lm_words
            w = word_before(parent)
            if w:
                n.lm_words, n.ctx = lm_extend(p.lm_words, p.ctx, w)
                n.lm_score = n.lm_words
        elif lm is not None and unk_offset < 0:
            n.part = p.part + labels[c]
            penalty = 0.0
            if n.part not in lm.prefixes:  # pyctcdecode's LanguageModel.score_partial_token
                penalty = unk_offset
                if len(n.part) > 6:
                    penalty = penalty * len(n.part) / 6
            n.lm_score = n.lm_words + penalty
        nodes.append(n)
        children[key] = len(nodes) - 1
        return len(nodes) - 1

    beam = [(0, 0.0, NEG)]
    for t in range(T):
        row = probs[t]
        order = sorted(range(L), key=lambda l: (-float(row[l]), l))
        min_logp = NEG < token_min_logp < 0
        if min_logp:
            keep = 1
            while keep < L and float(row[order[keep]]) > 0 and math.log(float(row[order[keep]])) >= token_min_logp:
                keep += 1
            order = order[:keep]
        n = len(order)
        if cutoff_prob < 1.0:
            cum, n = 0.0, 0
            while n < len(order):
                cum += float(row[order[n]])
                n += 1
                if cum >= cutoff_prob:
                    break
        pruning = cutoff_prob < 1.0 or cutoff_top_n < L or min_logp
        pruned = order[: min(n, cutoff_top_n)] if pruning else list(range(L))
        lnp = {c: math.log(float(row[c])) if float(row[c]) > 0 else NEG for c in pruned}
        blank_lp = lnp.get(blank, NEG)
        nxt = {}

        def add(i, is_blank, v):
            if v == NEG:
                return
            e = nxt.setdefault(i, [NEG, NEG])
            e[0 if is_blank else 1] = lse(e[0 if is_blank else 1], v)

        for node, pb, pnb in beam:
            total = lse(pb, pnb)
            own = nodes[node].label if node > 0 else -1
            for c in pruned:
                v = lnp[c]
                if c == blank:
                    add(node, True, total + v)
                elif c == own:
                    add(node, False, pnb + v)
                    if pb != NEG and v != NEG:
                        add(child(node, c, t, pb + v), False, pb + v)
                elif total + v != NEG:
                    add(child(node, c, t, total + v), False, total + v)
            if own >= 0 and own in lnp and pnb > pb and pnb + lnp[own] > total + blank_lp:
                nodes[node].last = t
        scored = [(lse(e[0], e[1]) + nodes[i].lm_score, i, e) for i, e in nxt.items()]
        scored = prune_beams(scored, beam_prune_logp)
        ranked = sorted(scored, key=lambda x: -x[0])
        beam = [(i, e[0], e[1]) for _, i, e in ranked[:beam_width]]
        for i, pb, pnb in beam:
            nodes[i].alive = t
            nodes[i].alive_total = lse(pb, pnb)

    def end_score(i):
        if lm is None:
            return 0.0
        score, ctx = nodes[i].lm_words, nodes[i].ctx
        if i > 0 and nodes[i].label != space:
            w = word_before(i)
            if w:
                score, ctx = lm_extend(score, ctx, w)
        return score + alpha * LN10 * lm.log10p(ctx, "</s>")

    finals = [(lse(pb, pnb) + end_score(i), lse(pnb, pb), i) for i, pb, pnb in beam]
    finals = sorted(prune_beams(finals, beam_prune_logp), key=lambda x: -x[0])
    out = []
    for score, ctc, i in finals:
        path = []
        while i > 0:
            path.append(i)
            i = nodes[i].parent
        path.reverse()
        lab = [nodes[i].label for i in path]
        first = [nodes[i].first for i in path]
        last = [nodes[i].last for i in path]
        for k in range(len(path) - 2, -1, -1):
            if first[k] >= first[k + 1]:
                first[k] = max(first[k + 1] - 1, 0)
        for k in range(len(path)):
            last[k] = max(last[k], first[k])
            if k + 1 < len(path) and last[k] >= first[k + 1]:
                last[k] = max(first[k + 1] - 1, first[k])
        out.append((score, ctc, lab, first, last))
    return out


def prune_beams(scored, beam_prune_logp):
    """pyctcdecode's beam_prune_logp: those scoring at least the best + it (when < 0), in order."""
    if not (NEG < beam_prune_logp < 0) or not scored:
        return scored
    keep = max(x[0] for x in scored) + beam_prune_logp
    return [x for x in scored if x[0] >= keep]


LABELS = ["_", "A", "B", "C", "'", " "]


def random_probs(rng, T, L, peak):
    z = rng.normal(size=(T, L)) * peak
    z[:, 0] += 1.0  # blank-heavy, like a real CTC model
    z[:, 5] += 0.3
    p = np.exp(z - z.max(axis=1, keepdims=True))
    return (p / p.sum(axis=1, keepdims=True)).astype(np.float32)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--lm", default="test/golden/tiny.arpa")
    ap.add_argument("--seed", type=int, default=14)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    lm = Arpa(args.lm)
    settings = [  # beam_width, cutoff_prob, cutoff_top_n, with LM, alpha, beta
        (1, 1.0, 40, False, 0, 0), (4, 1.0, 40, False, 0, 0), (16, 1.0, 40, False, 0, 0),
        (8, 0.9, 40, False, 0, 0), (8, 1.0, 3, False, 0, 0), (64, 0.95, 4, False, 0, 0),
        (4, 1.0, 40, True, 0.8, 1.5), (16, 1.0, 40, True, 1.2, 0.5), (8, 0.9, 3, True, 0.5, 2.0),
        (32, 1.0, 40, True, 2.0, -0.5), (1, 1.0, 40, True, 0.8, 1.0),
    ]
    long_settings = settings[1:2] + settings[6:8] + settings[9:10]
    # pyctcdecode's soft lexicon and pruning: unk_score_offset, token_min_logp, beam_prune_logp
    # (appended, so the cases above keep their matrices)
    scored = [  # beam_width, cutoff_prob, cutoff_top_n, with LM, alpha, beta, unk, token, beam
        (4, 1.0, 40, True, 0.8, 1.5, -10.0, 0, 0), (16, 1.0, 40, True, 1.2, 0.5, -2.0, 0, 0),
        (8, 0.9, 3, True, 0.5, 2.0, -1.0, -2.0, 0), (32, 1.0, 40, True, 2.0, -0.5, -3.0, 0, -4.0),
        (8, 1.0, 40, False, 0, 0, 0, -1.5, -3.0), (64, 1.0, 40, True, 0.5, 1.0, -1.5, -3.0, -6.0),
        (1, 1.0, 40, True, 0.8, 1.0, -2.0, 0, 0), (16, 1.0, 40, True, 1.0, 1.0, 0, -2.5, -5.0),
    ]
    with open(args.out, "w") as f:
        f.write("# golden beams from tools/ctc_beam_reference.py --seed %d (lm %s)\n" % (args.seed, args.lm))
        f.write("labels %d %s\n" % (len(LABELS), " ".join("space" if s == " " else s for s in LABELS)))
        off = (0, 0, 0)
        cases = [(st + off, shape) for st in settings for shape in ((6, 2.0), (15, 1.5), (30, 2.5))]
        # long utterances with a small beam: the beam is full on most frames, where the C decoder
        # leaves out candidates that cannot make it (these cases hold it to the full search)
        cases += [(st + off, shape) for st in long_settings for shape in ((90, 2.0), (150, 3.0))]
        cases += [(st, shape) for st in scored for shape in ((15, 1.5), (30, 2.5))]
        cases += [(st, (90, 2.5)) for st in scored[:4] + scored[5:6]]
        for case, ((beam_width, cp, topn, use_lm, alpha, beta, unk, tml, bpl), (T, peak)) in enumerate(cases):
            probs = random_probs(rng, T, len(LABELS), peak)
            beams = beam_search(probs, LABELS, 0, beam_width, cp, topn, lm if use_lm else None, alpha, beta,
                                unk, tml, bpl)
            f.write("case %d %d %d %d %d %.17g %d %d %.17g %.17g %.17g %.17g %.17g %d\n" % (
                case, T, len(LABELS), 0, beam_width, cp, topn, int(use_lm), alpha, beta, unk, tml, bpl,
                len(beams)))
            f.write("probs " + " ".join("%.9g" % v for v in probs.ravel()) + "\n")
            for score, ctc, lab, first, last in beams:
                f.write("beam %.17g %.17g %d %s\n" % (score, ctc, len(lab), " ".join(
                    "%d %d %d" % x for x in zip(lab, first, last))))

if __name__ == "__main__":
    main()
