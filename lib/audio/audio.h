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

/* A file read piece by piece at target_rate: decoded, averaged over its channels and resampled
 * (one libsamplerate stream, whose output equals ds2_resample's on the whole signal) as it is
 * read, so memory does not depend on the file's length. ds2_audio_load reads the whole file
 * through one. The path is checked as ds2_audio_load does (regular file, channels, rate,
 * length); the messages are ds2_audio_load's. */
typedef struct ds2_audio_reader ds2_audio_reader;
ds2_status ds2_audio_reader_open(const char *path, int target_rate, ds2_audio_reader **out,
                                 ds2_err *err);
/* Samples the header promises at target_rate (a damaged file may hold fewer). */
size_t ds2_audio_reader_expected(const ds2_audio_reader *r);
/* Reads up to n samples into dst; *got < n only at the end of the audio (then 0 on later
 * calls). A file with no readable frame, or too short to resample, fails on the first read. */
ds2_status ds2_audio_reader_read(ds2_audio_reader *r, float *dst, size_t n, size_t *got,
                                 ds2_err *err);
void ds2_audio_reader_close(ds2_audio_reader *r);

#endif
