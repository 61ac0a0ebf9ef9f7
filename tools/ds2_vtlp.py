"""Vocal-tract length perturbation (Jaitly & Hinton, 2013) of a spectrogram's frequency axis,
for tools/train-default-model: a cheap stand-in for speakers the synthesisers do not have.
A formant at bin f moves to alpha * f; above a boundary the map bends so that the Nyquist bin
stays where it is. Plain numpy (no torch), so that test/check_vtlp.py runs with Debian's python3.
"""
import numpy as np


def source_bins(n_freq, alpha, boundary=0.6):
    """For each output bin j of an n_freq-bin spectrogram, the (fractional) input bin that
    lands on it: the inverse of the warp w(f) = alpha * f for f <= f0, and the straight line
    from (f0, alpha * f0) to (N, N) above, where N = n_freq - 1 and f0 = boundary * N *
    min(alpha, 1) / alpha (so alpha * f0 <= boundary * N < N and the map is monotone)."""
    if alpha <= 0:
        raise ValueError("alpha %g: must be positive" % alpha)
    n = float(n_freq - 1)
    f0 = boundary * n * min(alpha, 1.0) / alpha
    g = np.arange(n_freq, dtype=np.float64)
    low = g / alpha
    high = n - (n - g) * (n - f0) / (n - alpha * f0)
    return np.clip(np.where(g <= alpha * f0, low, high), 0.0, n)


def interpolation(n_freq, alpha, boundary=0.6):
    """(lower bin index, upper bin index, weight of the upper) per output bin: output[:, j] =
    input[:, lo[j]] * (1 - w[j]) + input[:, hi[j]] * w[j]."""
    src = source_bins(n_freq, alpha, boundary)
    lo = np.floor(src).astype(np.int64)
    hi = np.minimum(lo + 1, n_freq - 1)
    return lo, hi, (src - lo).astype(np.float32)


def warp(x, alpha, boundary=0.6):
    """x: [T, n_freq] numpy array: the warped copy."""
    lo, hi, w = interpolation(x.shape[1], alpha, boundary)
    return x[:, lo] * (1 - w) + x[:, hi] * w
