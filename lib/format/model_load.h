#ifndef DS2_MODEL_LOAD_H
#define DS2_MODEL_LOAD_H

#include "core/model.h"

/* Maps and validates `path` into *m (zero-initialised by the caller). On failure the caller
 * still calls ds2_model_release_contents. */
ds2_status ds2_model_read(const char *path, ds2_model *m, ds2_err *err);
void ds2_model_release_contents(ds2_model *m);

#endif
