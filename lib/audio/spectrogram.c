/* Log-magnitude STFT as deepspeech.pytorch computes it (see spectrogram.h).
 *
 * n_fft = 320 is not a power of two, so the DFT is a double-precision GEMM of windowed frames
 * against a cos/sin basis: basis [2F][n_fft] x frames^T [n_fft][B] -> [2F][B] gives every bin
 * of a block of B frames with the frame index fastest, the layout of the output. librosa
 * transforms in double (numpy's FFT) and rounds to complex64 afterwards; the GEMM in double
 * keeps us within rounding of that. 2F x n_fft multiply-adds per frame (~10 M per second of
 * 16 kHz audio) is small next to the network. */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include <cblas.h>

#include "audio/spectrogram.h"
#include "base/blas_threads.h"

#define BLOCK_FRAMES 128

struct ds2_spectrogram {
    ds2_spect_config cfg;
    int bins;
    double *window; /* [n_fft] */
    double *basis;  /* [2 * bins][n_fft]: cos rows, then -sin rows */
};

ds2_status ds2_spectrogram_create(const ds2_spect_config *cfg, ds2_spectrogram **out, ds2_err *err)
{
    if (!out)
        return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT, "spectrogram: NULL output pointer");
    *out = NULL;
    if (!cfg)
        return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT, "spectrogram: NULL config");
    if (cfg->n_fft < 2 || cfg->n_fft > DS2_SPECT_MAX_N_FFT || cfg->n_fft % 2 != 0)
        return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT,
                        "spectrogram: n_fft %d must be even and in [2, %d]", cfg->n_fft,
                        DS2_SPECT_MAX_N_FFT);
    if (cfg->hop < 1)
        return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT, "spectrogram: hop %d must be >= 1",
                        cfg->hop);
    if (cfg->sample_rate < 1)
        return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT,
                        "spectrogram: sample rate %d must be positive", cfg->sample_rate);
    if (cfg->window < DS2_WINDOW_HAMMING || cfg->window > DS2_WINDOW_BARTLETT)
        return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT, "spectrogram: unknown window %d",
                        (int)cfg->window);

    int n = cfg->n_fft;
    int bins = n / 2 + 1;
    ds2_spectrogram *s = calloc(1, sizeof *s);
    if (!s)
        return ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "spectrogram: cannot allocate");
    s->cfg = *cfg;
    s->bins = bins;
    s->window = malloc((size_t)n * sizeof(double));
    s->basis = malloc((size_t)2 * bins * n * sizeof(double));
    if (!s->window || !s->basis) {
        ds2_spectrogram_free(s);
        return ds2_fail(err, DS2_ERR_OUT_OF_MEMORY,
                        "spectrogram: cannot allocate basis for n_fft %d", n);
    }
    ds2_window_fill(cfg->window, n, s->window);
    /* Reducing k*j mod n before scaling keeps every angle in [0, 2pi): exact-ish basis. */
    const double two_pi = 6.283185307179586476925286766559;
    for (int k = 0; k < bins; k++) {
        double *re = s->basis + (size_t)k * n;
        double *im = s->basis + (size_t)(bins + k) * n;
        for (int j = 0; j < n; j++) {
            double a = two_pi * (double)(((int64_t)k * j) % n) / n;
            re[j] = cos(a);
            im[j] = -sin(a);
        }
    }
    *out = s;
    return DS2_OK;
}

void ds2_spectrogram_free(ds2_spectrogram *s)
{
    if (!s)
        return;
    free(s->window);
    free(s->basis);
    free(s);
}

int ds2_spectrogram_bins(const ds2_spectrogram *s)
{
    return s ? s->bins : -1;
}

int ds2_spectrogram_frames(const ds2_spectrogram *s, size_t n_samples)
{
    if (!s)
        return -1;
    size_t frames = n_samples / (size_t)s->cfg.hop;
    return frames < (size_t)INT_MAX ? (int)frames + 1 : -1;
}

/* Windowed frames t0..t0+nb of the zero-padded signal into buf [nb][n_fft]. */
static void gather_frames(const ds2_spectrogram *s, const float *x, size_t n_samples, int t0,
                          int nb, double *buf)
{
    int n = s->cfg.n_fft;
    for (int b = 0; b < nb; b++) {
        int64_t start = (int64_t)(t0 + b) * s->cfg.hop - n / 2;
        double *row = buf + (size_t)b * n;
        for (int j = 0; j < n; j++) {
            int64_t i = start + j;
            row[j] = i >= 0 && (uint64_t)i < n_samples ? x[i] * s->window[j] : 0.0;
        }
    }
}

static ds2_status normalize(float *out, int bins, int frames, int ld, int *flat, ds2_err *err)
{
    size_t count = (size_t)bins * (size_t)frames;
    double sum = 0.0;
    for (int k = 0; k < bins; k++)
        for (int t = 0; t < frames; t++)
            sum += out[(size_t)k * ld + t];
    double mean = sum / (double)count;
    double ss = 0.0;
    for (int k = 0; k < bins; k++) {
        for (int t = 0; t < frames; t++) {
            double d = out[(size_t)k * ld + t] - mean;
            ss += d * d;
        }
    }
    double std = sqrt(ss / (double)(count - 1)); /* torch.std: unbiased */
    if (!(std > 0.0)) {
        if (flat) {
            *flat = 1;
            return DS2_OK;
        }
        return ds2_fail(err, DS2_ERR_AUDIO_FORMAT,
                        "spectrogram: audio too short or silent to normalise (%d frames, all "
                        "values equal)",
                        frames);
    }
    float fmean = (float)mean, fstd = (float)std;
    for (int k = 0; k < bins; k++) {
        float *row = out + (size_t)k * ld;
        for (int t = 0; t < frames; t++)
            row[t] = (row[t] - fmean) / fstd;
    }
    return DS2_OK;
}

ds2_status ds2_spectrogram_compute_or_flat(const ds2_spectrogram *s, const float *samples,
                                           size_t n_samples, float *out, int ld, int *flat,
                                           ds2_err *err)
{
    if (flat)
        *flat = 0;
    if (!s || !out || (!samples && n_samples > 0))
        return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT, "spectrogram: NULL %s",
                        !s     ? "spectrogram"
                        : !out ? "output"
                               : "samples");
    int frames = ds2_spectrogram_frames(s, n_samples);
    if (frames < 0)
        return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT, "spectrogram: %zu samples is too long",
                        n_samples);
    if (ld < frames)
        return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT,
                        "spectrogram: leading dimension %d < %d frames", ld, frames);
    for (size_t i = 0; i < n_samples; i++)
        if (!isfinite(samples[i]))
            return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT, "spectrogram: sample %zu is not finite",
                            i);

    int n = s->cfg.n_fft, bins = s->bins;
    double *buf = malloc((size_t)BLOCK_FRAMES * n * sizeof(double));
    double *dft = malloc((size_t)2 * bins * BLOCK_FRAMES * sizeof(double));
    if (!buf || !dft) {
        free(buf);
        free(dft);
        return ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "spectrogram: cannot allocate scratch");
    }
    ds2_blas_single_threaded(); /* no OpenBLAS thread under a libds2 call (blas_threads.h) */
    for (int t0 = 0; t0 < frames; t0 += BLOCK_FRAMES) {
        int nb = frames - t0 < BLOCK_FRAMES ? frames - t0 : BLOCK_FRAMES;
        gather_frames(s, samples, n_samples, t0, nb, buf);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, 2 * bins, nb, n, 1.0, s->basis, n, buf,
                    n, 0.0, dft, BLOCK_FRAMES);
        for (int k = 0; k < bins; k++) {
            const double *re = dft + (size_t)k * BLOCK_FRAMES;
            const double *im = dft + (size_t)(bins + k) * BLOCK_FRAMES;
            float *row = out + (size_t)k * ld + t0;
            for (int b = 0; b < nb; b++)
                row[b] = (float)log1p(hypot(re[b], im[b]));
        }
    }
    free(buf);
    free(dft);
    return s->cfg.normalize ? normalize(out, bins, frames, ld, flat, err) : DS2_OK;
}

ds2_status ds2_spectrogram_compute(const ds2_spectrogram *s, const float *samples, size_t n_samples,
                                   float *out, int ld, ds2_err *err)
{
    return ds2_spectrogram_compute_or_flat(s, samples, n_samples, out, ld, NULL, err);
}
