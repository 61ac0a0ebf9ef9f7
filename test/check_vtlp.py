#!/usr/bin/python3
"""tools/ds2_vtlp.py: the warp is the identity at alpha 1, moves a spectral peak from bin f to
about alpha * f below the boundary, keeps bin 0 and the Nyquist bin in place, is monotone,
and never reads outside the spectrum. Plain numpy, a fraction of a second."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checklist import Checklist  # noqa: E402

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "tools"))
import ds2_vtlp  # noqa: E402

N_FREQ = 161


def main():
    check = Checklist()

    rng = np.random.default_rng(7)
    x = rng.standard_normal((50, N_FREQ)).astype(np.float32)
    check(np.array_equal(ds2_vtlp.warp(x, 1.0), x), "alpha 1 is the identity")
    for alpha in (0.85, 0.9, 1.1, 1.15):
        src = ds2_vtlp.source_bins(N_FREQ, alpha)
        check(src[0] == 0 and src[-1] == N_FREQ - 1,
              "alpha %.2f: bin 0 and the Nyquist bin stay" % alpha)
        check(bool(np.all(np.diff(src) > 0)), "alpha %.2f: the map is strictly monotone" % alpha)
        lo, hi, w = ds2_vtlp.interpolation(N_FREQ, alpha)
        check(lo.min() >= 0 and hi.max() <= N_FREQ - 1 and w.min() >= 0 and w.max() <= 1,
              "alpha %.2f: reads only bins 0..%d" % (alpha, N_FREQ - 1))
        for peak in (20, 40, 60):  # all below 0.6 * 160 / 1.15
            spec = np.zeros((1, N_FREQ), dtype=np.float32)
            spec[0, peak] = 1.0
            out = ds2_vtlp.warp(spec, alpha)[0]
            centre = float(np.sum(out * np.arange(N_FREQ)) / np.sum(out))
            check(abs(centre - alpha * peak) < 0.5,
                  "alpha %.2f: a peak at bin %d moves to %.2f (expected %.2f)" %
                  (alpha, peak, centre, alpha * peak))
    try:
        ds2_vtlp.source_bins(N_FREQ, 0.0)
        check(False, "alpha 0 is refused")
    except ValueError:
        check(True, "alpha 0 is refused")
    check.finish("check_vtlp")


if __name__ == "__main__":
    main()
