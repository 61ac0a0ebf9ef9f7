/* libFuzzer target: the model loader, then every accepted model runs a short utterance (0.2 s
 * of a tone, alone and chunked) on the CPU in fp32 and int8: whatever the loader lets through
 * must be safe to execute, and give one probability row per output frame. */
#include <math.h>
#include <string.h>

#include "ds2.h"
#include "fuzz_input.h"

static void run(const ds2_model *m, ds2_precision precision, const float *x, size_t n)
{
    ds2_session_params p = ds2_session_default_params();
    p.precision = precision;
    ds2_session *s = NULL;
    if (ds2_session_create(m, &p, &s, NULL, 0) != DS2_OK)
        return; /* e.g. an int8 backend this CPU lacks: refused cleanly is fine */
    ds2_utterance u = {x, n};
    ds2_run_params rp = ds2_run_default_params();
    rp.want_probs = 1;
    for (int chunked = 0; chunked < 2; chunked++) {
        rp.chunk_seconds = chunked ? 0.05 : 0;
        ds2_result r;
        if (ds2_run(s, &u, 1, &rp, &r) != DS2_OK) {
            if (!ds2_session_error(s)[0])
                abort();
            continue;
        }
        if (!r.text || r.n_frames < 0 || (r.n_frames > 0 && !r.probs))
            abort();
        volatile float sum = 0; /* touch every probability (ASan sees a short buffer) */
        for (size_t i = 0; i < (size_t)r.n_frames * (size_t)r.n_labels; i++)
            sum += r.probs[i];
        (void)sum;
        ds2_result_free(&r);
    }
    ds2_session_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ds2_model *m = NULL;
    if (ds2_model_load(fuzz_input_path(data, size), NULL, &m, NULL, 0) != DS2_OK)
        return 0;
    ds2_model_info info;
    ds2_model_get_info(m, &info);
    static float x[96000];
    size_t n = (size_t)info.sample_rate / 5;
    if (n > sizeof x / sizeof x[0])
        n = sizeof x / sizeof x[0];
    for (size_t i = 0; i < n; i++)
        x[i] = 0.3f * sinf(0.07f * (float)i) + 0.01f * (float)((i * 7919) % 13) / 13.0f;
    run(m, DS2_PRECISION_FP32, x, n);
    run(m, DS2_PRECISION_INT8, x, n);
    ds2_model_free(m);
    return 0;
}
