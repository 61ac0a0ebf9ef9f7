/* Public model API: load/free/info, and the lazily filled per-backend cache. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/model_backend.h"
#include "format/model_load.h"

ds2_model_params ds2_model_default_params(void)
{
    ds2_model_params p;
    memset(&p, 0, sizeof p);
    return p;
}

static void copy_error(char *error, size_t error_size, const char *msg)
{
    if (error && error_size) {
        strncpy(error, msg, error_size - 1);
        error[error_size - 1] = '\0';
    }
}

ds2_status ds2_model_load(const char *path, const ds2_model_params *params, ds2_model **model,
                          char *error, size_t error_size)
{
    ds2_err err = {""};
    copy_error(error, error_size, "");
    if (!model || !path) {
        copy_error(error, error_size, "ds2_model_load: path and model must not be NULL");
        return DS2_ERR_INVALID_ARGUMENT;
    }
    *model = NULL;
    ds2_model *m = calloc(1, sizeof *m);
    if (!m) {
        copy_error(error, error_size, "out of memory");
        return DS2_ERR_OUT_OF_MEMORY;
    }
    if (params) {
        m->log = params->log;
        m->log_user_data = params->log_user_data;
    }
    pthread_mutex_init(&m->lock, NULL);
    m->prepared = calloc((size_t)ds2_backend_count() * DS2_MAX_GPUS, sizeof *m->prepared);
    ds2_status st = m->prepared ? ds2_model_file_read(path, &m->file, &err)
                                : ds2_fail(&err, DS2_ERR_OUT_OF_MEMORY, "out of memory");
    if (st != DS2_OK) {
        copy_error(error, error_size, err.msg);
        ds2_log(m->log, m->log_user_data, DS2_LOG_ERROR, "%s", err.msg);
        ds2_model_file_release(&m->file);
        pthread_mutex_destroy(&m->lock);
        free(m->prepared);
        free(m);
        return st;
    }
    ds2_log(m->log, m->log_user_data, DS2_LOG_INFO,
            "loaded %s: %s x%d %s%s, hidden %d, %d labels, %llu parameters, %s weights", path,
            m->file.rnn_type_name, m->file.net.layers,
            m->file.net.directions == 2 ? "bidirectional" : "uni",
            m->file.net.directions == 2 ? "" : "+lookahead", m->file.net.hidden, m->file.n_labels,
            (unsigned long long)m->file.n_parameters, m->file.weights_int8 ? "int8" : "f32");
    *model = m;
    return DS2_OK;
}

void ds2_model_free(ds2_model *m)
{
    if (!m)
        return;
    for (int i = 0; m->prepared && i < ds2_backend_count() * DS2_MAX_GPUS; i++) {
        ds2_prepared *p = &m->prepared[i];
        if (p->done && p->status == DS2_OK && p->data)
            p->backend->impl->release(p->data);
    }
    free(m->prepared);
    ds2_model_file_release(&m->file);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

ds2_status ds2_model_prepare_backend(const ds2_model *cm, const ds2_backend *b, int device_index,
                                     const void **data, ds2_err *err)
{
    ds2_model *m = (ds2_model *)cm; /* only the lock-guarded cache is written */
    if (b->device == DS2_DEVICE_CPU)
        device_index = 0;
    else if (device_index < 0 || device_index >= DS2_MAX_GPUS)
        return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT, "GPU index %d out of range [0, %d)",
                        device_index, DS2_MAX_GPUS);
    ds2_prepared *slot = &m->prepared[ds2_backend_index(b) * DS2_MAX_GPUS + device_index];
    pthread_mutex_lock(&m->lock);
    if (!slot->done) {
        ds2_err perr = {""};
        slot->backend = b;
        slot->status =
            b->impl->prepare(&m->file.net, b->precision, device_index, &slot->data, &perr);
        slot->error = perr;
        /* A missing device or build is permanent; other failures (e.g. OOM) may be retried. */
        slot->done = slot->status == DS2_OK || slot->status == DS2_ERR_NOT_BUILT ||
                     slot->status == DS2_ERR_NO_DEVICE || slot->status == DS2_ERR_UNSUPPORTED;
    }
    ds2_status st = slot->status;
    if (st == DS2_OK)
        *data = slot->data;
    else
        ds2_fail(err, st, "%s", slot->error.msg);
    if (!slot->done)
        memset(slot, 0, sizeof *slot);
    pthread_mutex_unlock(&m->lock);
    return st;
}

void ds2_model_get_info(const ds2_model *m, ds2_model_info *info)
{
    if (!m || !info)
        return;
    memset(info, 0, sizeof *info);
    info->sample_rate = m->file.spect_config.sample_rate;
    info->n_labels = m->file.n_labels;
    info->blank_index = m->file.blank_index;
    info->rnn_type = m->file.rnn_type_name;
    info->hidden_size = m->file.net.hidden;
    info->hidden_layers = m->file.net.layers;
    info->bidirectional = m->file.net.directions == 2;
    info->lookahead_context = m->file.net.lookahead_context;
    info->conv_channels = m->file.net.conv[m->file.net.n_conv - 1].c_out;
    info->weights_int8 = m->file.weights_int8;
    info->n_parameters = m->file.n_parameters;
    info->file_bytes = m->file.map_size;
}

const char *ds2_model_label(const ds2_model *m, int i)
{
    if (!m || i < 0 || i >= m->file.n_labels)
        return NULL;
    return m->file.labels[i];
}
