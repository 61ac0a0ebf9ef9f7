#!/usr/bin/python3
"""data/default-model.pth (deepspeech.pytorch package) is the bundled GGUF's model: converting it
with tools/ds2-convert (no torch needed) gives data/default-model.gguf's tensors to float32
rounding and the same hyperparameters. Catches a .pth and .gguf committed out of step."""
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import ds2gguf  # noqa: E402


def main():
    pth = os.path.join(ROOT, "data", "default-model.pth")
    gguf = os.path.join(ROOT, "data", "default-model.gguf")
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "m.gguf")
        subprocess.run([sys.executable, os.path.join(ROOT, "tools", "ds2-convert"), pth, out],
                       check=True, stdout=subprocess.DEVNULL)
        kv_a, t_a = ds2gguf.read_gguf(gguf)
        kv_b, t_b = ds2gguf.read_gguf(out)
    bad = []
    for k in kv_a:
        if k != "general.name" and kv_a[k] != kv_b.get(k):
            bad.append("kv %s: %r vs %r" % (k, kv_a[k], kv_b.get(k)))
    if sorted(t_a) != sorted(t_b):
        bad.append("tensor names differ: %s" % sorted(set(t_a) ^ set(t_b)))
    worst = 0.0
    for k in t_a:
        if k in t_b:
            a, b = t_a[k].astype(np.float64), t_b[k].astype(np.float64)
            if a.shape != b.shape:
                bad.append("%s: shape %s vs %s" % (k, a.shape, b.shape))
                continue
            # Folding the rebuilt BatchNorms again multiplies by sqrt(v+eps)/sqrt(v+eps) in
            # float32 and adds W·(m - m + W⁺b): a few ulps of each tensor's largest value.
            rel = float(np.max(np.abs(a - b))) / max(float(np.max(np.abs(a))), 1e-30)
            worst = max(worst, rel)
            if rel > 1e-5:
                bad.append("%s: max |diff| %.3g of its range" % (k, rel))
    if bad:
        sys.exit("check_default_pth: FAIL\n  " + "\n  ".join(bad))
    print("check_default_pth: default-model.pth converts to default-model.gguf "
          "(%d tensors, worst relative diff %.2g)" % (len(t_a), worst))


if __name__ == "__main__":
    main()
