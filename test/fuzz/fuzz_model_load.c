/* libFuzzer target: the model loader (GGUF parse + every key, tensor dtype and shape check),
 * load only. Accepted models must describe themselves consistently. */
#include <string.h>

#include "ds2.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    ds2_model *m = NULL;
    ds2_status st = ds2_model_load(fuzz_input_path(data, size), NULL, &m, err, sizeof err);
    if (st != DS2_OK) {
        if (m || !err[0]) /* a failure must leave no model and say why */
            abort();
        return 0;
    }
    ds2_model_info info;
    ds2_model_get_info(m, &info);
    if (info.n_labels < 1 || info.blank_index < 0 || info.blank_index >= info.n_labels)
        abort();
    for (int i = 0; i < info.n_labels; i++)
        if (!ds2_model_label(m, i))
            abort();
    ds2_model_free(m);
    return 0;
}
