/* Band-limited resampling with libsamplerate.
 *
 * SRC_SINC_BEST_QUALITY: its 96 % pass band (about 7.7 kHz at 16 kHz) is the closest of
 * libsamplerate's converters to sox's default `rate -h` (95 %), which prepared the audio
 * deepspeech.pytorch models are trained on; MEDIUM (90 %) would attenuate the top ~16
 * spectrogram bins the model has learnt to see. Cost, measured on the shared 2-core dev
 * machine: 30 s of 44.1 kHz -> 16 kHz in 2.5 s (MEDIUM: 0.55 s); 16 kHz input, the usual
 * case (LibriSpeech, AN4), is never resampled. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <samplerate.h>

#include "audio/audio.h"

ds2_status ds2_resample(const float *in, size_t n_in, int in_rate, int out_rate, float **out,
                        size_t *n_out, ds2_err *err)
{
    if (!out || !n_out)
        return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT, "resample: NULL output pointer");
    *out = NULL;
    *n_out = 0;
    if (!in && n_in > 0)
        return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT, "resample: NULL input");
    if (in_rate < DS2_AUDIO_MIN_RATE || in_rate > DS2_AUDIO_MAX_RATE ||
        out_rate < DS2_AUDIO_MIN_RATE || out_rate > DS2_AUDIO_MAX_RATE)
        return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT,
                        "resample: rates %d -> %d Hz outside [%d, %d]", in_rate, out_rate,
                        DS2_AUDIO_MIN_RATE, DS2_AUDIO_MAX_RATE);

    double ratio = (double)out_rate / (double)in_rate;
    /* libsamplerate counts frames in `long`; the margin covers its rounding at the end. */
    double want = ceil((double)n_in * ratio) + 16.0;
    if ((double)n_in > (double)LONG_MAX || want > (double)LONG_MAX ||
        want > (double)(SIZE_MAX / sizeof(float)))
        return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT, "resample: %zu samples is too long", n_in);
    size_t cap = (size_t)want;
    float *buf = malloc(cap * sizeof(float));
    if (!buf)
        return ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "resample: cannot allocate %zu samples", cap);

    if (in_rate == out_rate || n_in == 0) {
        if (n_in > 0)
            memcpy(buf, in, n_in * sizeof(float));
        *out = buf;
        *n_out = in_rate == out_rate ? n_in : 0;
        return DS2_OK;
    }
    if (!src_is_valid_ratio(ratio)) {
        free(buf);
        return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT,
                        "resample: ratio %d -> %d Hz is beyond libsamplerate's range", in_rate,
                        out_rate);
    }
    SRC_DATA d = {
        .data_in = in,
        .data_out = buf,
        .input_frames = (long)n_in,
        .output_frames = (long)cap,
        .end_of_input = 1,
        .src_ratio = ratio,
    };
    int rc = src_simple(&d, SRC_SINC_BEST_QUALITY, 1);
    if (rc != 0) {
        free(buf);
        return ds2_fail(err, DS2_ERR_AUDIO_FORMAT, "resample %d -> %d Hz: libsamplerate: %s",
                        in_rate, out_rate, src_strerror(rc));
    }
    *out = buf;
    *n_out = (size_t)d.output_frames_gen;
    return DS2_OK;
}
