/* Internal audio helpers behind ds2_audio_load. */
#ifndef DS2_AUDIO_H
#define DS2_AUDIO_H

#include <stddef.h>

#include "base/error.h"

/* Accepted sample-rate range, for files and for target rates (Hz). */
#define DS2_AUDIO_MIN_RATE 1000
#define DS2_AUDIO_MAX_RATE 768000

/* Band-limited resampling of mono audio from in_rate to out_rate (libsamplerate, sinc best
 * quality). On success *out is a malloc'd buffer of *n_out samples (free with free());
 * when the rates are equal it is a copy. On failure *out is NULL and *n_out is 0. */
ds2_status ds2_resample(const float *in, size_t n_in, int in_rate, int out_rate, float **out,
                        size_t *n_out, ds2_err *err);

#endif
