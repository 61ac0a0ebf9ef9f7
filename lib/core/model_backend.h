#ifndef DS2_MODEL_BACKEND_H
#define DS2_MODEL_BACKEND_H

#include "core/backends.h"
#include "core/model.h"

/* Returns the model's prepared data for backend b on device_index (ignored on the CPU),
 * preparing it on first use; thread-safe. */
ds2_status ds2_model_prepare_backend(const ds2_model *m, const ds2_backend *b, int device_index,
                                     const void **data, ds2_err *err);

#endif
