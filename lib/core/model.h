/* The loaded model: what the file holds (lib/format), the log callback, and per-backend prepared
 * data (filled lazily under `lock`). */
#ifndef DS2_MODEL_H
#define DS2_MODEL_H

#include <pthread.h>

#include "core/log.h"
#include "ds2.h"
#include "format/model_load.h"

#define DS2_MAX_GPUS 16

typedef struct ds2_prepared {
    const struct ds2_backend *backend; /* set with the first prepare (release needs it) */
    int done;
    ds2_status status;
    void *data;
    ds2_err error;
} ds2_prepared;

struct ds2_model {
    ds2_model_file file; /* what the file holds, read and validated */

    ds2_log_fn log;
    void *log_user_data;

    /* Lazily prepared backend data, one slot per backend table row and device ordinal:
     * [ds2_backend_count()][DS2_MAX_GPUS]. The model stays logically immutable; this cache is
     * filled once per slot under the lock. */
    pthread_mutex_t lock;
    ds2_prepared *prepared;
};

#endif
