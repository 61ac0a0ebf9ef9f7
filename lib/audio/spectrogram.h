/* deepspeech.pytorch's AudioParser.compute_spectrogram (librosa >= 0.10):
 * |STFT| with a periodic window of n_fft samples, centred frames (n_fft/2 zeros padded on
 * both sides), log1p, and optionally per-utterance normalisation (mean 0, unbiased std 1
 * over all bins x frames). */
#ifndef DS2_SPECTROGRAM_H
#define DS2_SPECTROGRAM_H

#include <stddef.h>

#include "base/error.h"

typedef enum ds2_window {
    DS2_WINDOW_HAMMING,
    DS2_WINDOW_HANN,
    DS2_WINDOW_BLACKMAN,
    DS2_WINDOW_BARTLETT
} ds2_window;

/* n_fft must be even (as upstream's sample_rate * window_size); hop >= 1. */
/* Longest window: the DFT is a dense basis matrix of 2·(n/2 + 1)·n doubles, 268 MB at 4096 (34 GB
 * at the old limit of 65536, which a hostile model file asked for: issue 16's fuzzing). DS2
 * windows are 320 samples (20 ms at 16 kHz) to 960 (48 kHz); 4096 is 85 ms at 48 kHz. */
#define DS2_SPECT_MAX_N_FFT 4096

typedef struct ds2_spect_config {
    int sample_rate;
    int n_fft;
    int hop;
    ds2_window window;
    int normalize;
} ds2_spect_config;

typedef struct ds2_spectrogram ds2_spectrogram; /* immutable after create: window + DFT basis;
                                                   shareable by threads */

ds2_status ds2_spectrogram_create(const ds2_spect_config *cfg, ds2_spectrogram **out, ds2_err *err);
void ds2_spectrogram_free(ds2_spectrogram *s);
int ds2_spectrogram_bins(const ds2_spectrogram *s); /* n_fft/2 + 1 */
/* 1 + n_samples/hop, or -1 when that does not fit in an int. */
int ds2_spectrogram_frames(const ds2_spectrogram *s, size_t n_samples);
/* out: [bins][ld] row-major (frame index fastest), ld >= frames; thread-safe (allocates its own
 * scratch). Non-finite samples are rejected (DS2_ERR_INVALID_ARGUMENT). With normalize, a
 * spectrogram whose values are all equal (std 0: digital silence, or too short to vary) is
 * DS2_ERR_AUDIO_FORMAT, where upstream would divide by zero and yield NaN/inf. */
ds2_status ds2_spectrogram_compute(const ds2_spectrogram *s, const float *samples, size_t n_samples,
                                   float *out, int ld, ds2_err *err);
/* As ds2_spectrogram_compute, but a spectrogram that cannot be normalised (std 0) is not an
 * error: *flat is set to 1, DS2_OK returned and out left unnormalised (callers skip the span;
 * chunked runs use it so one silent chunk does not fail the whole run). *flat is 0 otherwise. */
ds2_status ds2_spectrogram_compute_or_flat(const ds2_spectrogram *s, const float *samples,
                                           size_t n_samples, float *out, int ld, int *flat,
                                           ds2_err *err);
int ds2_window_from_name(const char *name, ds2_window *w); /* 0 ok, -1 unknown */

/* The periodic window as scipy.signal.get_window(name, n, fftbins=True), into w[0..n). */
void ds2_window_fill(ds2_window window, int n, double *w);

#endif
