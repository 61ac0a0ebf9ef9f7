/* The loaded model: the file mapping, the network description pointing into it, the audio
 * front-end configuration, and per-backend prepared data (filled lazily under `lock`). */
#ifndef DS2_MODEL_H
#define DS2_MODEL_H

#include <pthread.h>

#include "core/log.h"
#include "ds2.h"
#include "format/gguf_reader.h"
#include "format/net.h"
#include "audio/spectrogram.h"

#define DS2_MAX_GPUS 16

typedef struct ds2_prepared {
    const struct ds2_backend *backend; /* set with the first prepare (release needs it) */
    int done;
    ds2_status status;
    void *data;
    ds2_err error;
} ds2_prepared;

struct ds2_model {
    void *map;
    size_t map_size;
    gguf_file gguf;

    ds2_net net;
    ds2_rnn_layer *layers;

    int n_labels;
    char **labels; /* NUL-terminated copies */
    int blank_index;
    const char *rnn_type_name;
    int weights_int8;
    uint64_t n_parameters;

    ds2_spect_config spect_config;
    ds2_spectrogram *spectrogram;

    ds2_log_fn log;
    void *log_user_data;

    /* Lazily prepared backend data, one slot per backend table row and device ordinal:
     * [ds2_backend_count()][DS2_MAX_GPUS]. The model stays logically immutable; this cache is
     * filled once per slot under the lock. */
    pthread_mutex_t lock;
    ds2_prepared *prepared;
};

#endif
