#!/usr/bin/env python3
"""Plain-Python CTC prefix beam search with a word n-gram LM: the reference for
lib/decode/ctc_beam.c, written for clarity, step for step the same search (same pruning, same
merge order, same tie rule), so the C decoder can be held to its beams and scores.

  tools/ctc_beam_reference.py --out test/golden/beam.txt [--lm test/golden/tiny.arpa]

writes golden cases (random softmax matrices, several beam widths and pruning settings, with and
without the LM) that test/test_beam.c replays. Needs numpy only (for the random matrices and
float32 rounding).

Algorithm (ctcdecode's, without its dictionary trie):
  - per frame, labels sorted by probability (ties: lower index first) are kept while the
    cumulative probability is below cutoff_prob (the one reaching it included), at most
    cutoff_top_n;
  - each prefix keeps ln P(ending in blank) and ln P(ending in its last label); extensions by
    blank, by a repeat of the last label (collapses), by a new label;
  - a prefix's LM score (alpha * ln P_lm + beta per word) is fixed when it is created: a word is
    scored when a separator (" ") follows it, <unk> for unknown spellings; at the end the last
    word and </s> are scored;
  - the beam keeps the beam_width best by ln P_ctc + LM score (stable: ties keep first-seen
    order); final beams are ranked by the same plus the end scores.
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
        self.lm_score = 0.0
        self.ctx = ()


def beam_search(probs, labels, blank, beam_width, cutoff_prob, cutoff_top_n, lm, alpha, beta):
    T, L = probs.shape
    space = next((i for i, s in enumerate(labels) if i != blank and s == " "), -1)
    nodes = [Node(-1, -1, -1)]
    nodes[0].alive = -1
    children = {}

    def word_before(i):
        chars = []
        while i > 0 and nodes[i].label != space:
            chars.append(labels[nodes[i].label])
            i = nodes[i].parent
        return "".join(reversed(chars))

    def lm_extend(score, ctx, word):
        wid = lm.word(word)
        score = score + (alpha * LN10 * lm.log10p(ctx, wid) + beta)
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
        n.lm_score, n.ctx = p.lm_score, p.ctx
        if lm is not None and c == space:
            w = word_before(parent)
            if w:
                n.lm_score, n.ctx = lm_extend(p.lm_score, p.ctx, w)
        nodes.append(n)
        children[key] = len(nodes) - 1
        return len(nodes) - 1

    beam = [(0, 0.0, NEG)]
    for t in range(T):
        row = probs[t]
        order = sorted(range(L), key=lambda l: (-float(row[l]), l))
        n = L
        if cutoff_prob < 1.0:
            cum, n = 0.0, 0
            while n < L:
                cum += float(row[order[n]])
                n += 1
                if cum >= cutoff_prob:
                    break
        pruned = order[: min(n, cutoff_top_n)] if (cutoff_prob < 1.0 or cutoff_top_n < L) else list(range(L))
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
        ranked = sorted(nxt.items(), key=lambda kv: -(lse(kv[1][0], kv[1][1]) + nodes[kv[0]].lm_score))
        beam = [(i, e[0], e[1]) for i, e in ranked[:beam_width]]
        for i, pb, pnb in beam:
            nodes[i].alive = t
            nodes[i].alive_total = lse(pb, pnb)

    def end_score(i):
        if lm is None:
            return 0.0
        score, ctx = nodes[i].lm_score, nodes[i].ctx
        if i > 0 and nodes[i].label != space:
            w = word_before(i)
            if w:
                score, ctx = lm_extend(score, ctx, w)
        return score + alpha * LN10 * lm.log10p(ctx, "</s>")

    finals = sorted(((lse(pb, pnb) + end_score(i), lse(pnb, pb), i) for i, pb, pnb in beam),
                    key=lambda x: -x[0])
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
    with open(args.out, "w") as f:
        f.write("# golden beams from tools/ctc_beam_reference.py --seed %d (lm %s)\n" % (args.seed, args.lm))
        f.write("labels %d %s\n" % (len(LABELS), " ".join("space" if s == " " else s for s in LABELS)))
        cases = [(st, shape) for st in settings for shape in ((6, 2.0), (15, 1.5), (30, 2.5))]
        # long utterances with a small beam: the beam is full on most frames, where the C decoder
        # leaves out candidates that cannot make it (these cases hold it to the full search)
        cases += [(st, shape) for st in long_settings for shape in ((90, 2.0), (150, 3.0))]
        for case, ((beam_width, cp, topn, use_lm, alpha, beta), (T, peak)) in enumerate(cases):
            probs = random_probs(rng, T, len(LABELS), peak)
            beams = beam_search(probs, LABELS, 0, beam_width, cp, topn, lm if use_lm else None, alpha, beta)
            f.write("case %d %d %d %d %d %.17g %d %d %.17g %.17g %d\n" % (
                case, T, len(LABELS), 0, beam_width, cp, topn, int(use_lm), alpha, beta, len(beams)))
            f.write("probs " + " ".join("%.9g" % v for v in probs.ravel()) + "\n")
            for score, ctc, lab, first, last in beams:
                f.write("beam %.17g %.17g %d %s\n" % (score, ctc, len(lab), " ".join(
                    "%d %d %d" % x for x in zip(lab, first, last))))

if __name__ == "__main__":
    main()
