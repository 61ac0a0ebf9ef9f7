#!/usr/bin/python3
"""Compares probabilities written by ds2-transcribe --probs (a .npy file, [T, labels] or
[1, T, labels], float32/float64) with a golden case from test/golden/golden.json.

  tools/golden_check.py OUT.npy MODEL MODE UTTERANCE     e.g.  out.npy bilstm single speech

Exit status 0 when max |diff| <= the case's abs_tol and, where the case requires it, the greedy
transcript is identical. numpy + standard library only.
"""
import argparse
import json
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOLDEN = os.path.join(ROOT, "test", "golden")


def greedy(probs, labels, blank):
    best = np.argmax(probs, axis=1)
    return "".join(labels[k] for i, k in enumerate(best)
                   if k != blank and not (i > 0 and k == best[i - 1]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("probs", help=".npy written by ds2-transcribe --probs")
    ap.add_argument("model", help="golden model name, e.g. bilstm or unilstm-int8")
    ap.add_argument("mode", choices=["single", "batch", "chunked"])
    ap.add_argument("utterance", help="speech or short")
    ap.add_argument("--tol", type=float, help="override the case's abs_tol")
    args = ap.parse_args()
    with open(os.path.join(GOLDEN, "golden.json")) as f:
        g = json.load(f)
    cases = [c for c in g["cases"] if (c["model"], c["mode"], c["utterance"]) ==
             (args.model, args.mode, args.utterance)]
    if not cases:
        sys.exit(f"golden_check: no case {args.model} {args.mode} {args.utterance}")
    case = cases[0]
    ref = np.fromfile(os.path.join(GOLDEN, case["probs"]), dtype="<f4").reshape(
        case["frames"], case["n_labels"])
    got = np.load(args.probs, allow_pickle=False)
    while got.ndim > 2 and got.shape[0] == 1:
        got = got[0]
    if got.shape != ref.shape:
        sys.exit(f"golden_check: shape {list(got.shape)} != golden {list(ref.shape)}")
    tol = args.tol if args.tol is not None else case["abs_tol"]
    diff = float(np.max(np.abs(got.astype(np.float64) - ref)))
    text = greedy(got, g["labels"], g["blank_index"])
    ok = np.all(np.isfinite(got)) and diff <= tol
    if case["transcript_must_match"] and text != case["transcript"]:
        ok = False
    print(f"{'ok' if ok else 'FAIL'}: max |diff| {diff:.3g} (tol {tol}), transcript "
          f"{text!r} vs golden {case['transcript']!r}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
