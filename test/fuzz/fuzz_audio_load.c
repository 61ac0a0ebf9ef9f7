/* libFuzzer target: the audio loader (libsndfile, any container/codec it knows, channel
 * averaging, resampling to 16 kHz). */
#include <math.h>

#include "ds2.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    ds2_audio a;
    ds2_status st = ds2_audio_load(fuzz_input_path(data, size), 16000, &a, err, sizeof err);
    if (st != DS2_OK) {
        if (a.samples || a.n_samples || !err[0])
            abort();
        return 0;
    }
    if (!a.samples || a.n_samples == 0 || a.sample_rate != 16000)
        abort();
    volatile float sum = 0; /* touch every sample (ASan sees any short buffer) */
    for (size_t i = 0; i < a.n_samples; i++)
        sum += a.samples[i];
    (void)sum;
    ds2_audio_free(&a);
    return 0;
}
