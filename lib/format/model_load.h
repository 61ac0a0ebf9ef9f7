/* The model loader: a libds2 GGUF file (docs/model-format.md) mapped, read and validated into a
 * ds2_model_file. lib/core's ds2_model holds one; nothing here knows about sessions or backends. */
#ifndef DS2_MODEL_LOAD_H
#define DS2_MODEL_LOAD_H

#include <stdint.h>

#include "audio/spectrogram.h"
#include "format/gguf_reader.h"
#include "format/net.h"

typedef struct ds2_model_file {
    void *map; /* the file, mapped read-only; weights point into it */
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
    ds2_spectrogram *spectrogram; /* the front end this file's configuration asks for */
} ds2_model_file;

/* Maps and validates `path` into *f (zero-initialised by the caller). On failure the caller
 * still calls ds2_model_file_release. f must not move afterwards (f->net.owner points at it). */
ds2_status ds2_model_file_read(const char *path, ds2_model_file *f, ds2_err *err);
void ds2_model_file_release(ds2_model_file *f);

#endif
