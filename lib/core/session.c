/* Sessions: backend choice, per-thread working memory, and the utterance pipeline
 * (spectrogram -> backend forward -> greedy or beam CTC), including chunked long-audio runs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/model_backend.h"
#include "decode/ctc_beam.h"
#include "decode/ctc_greedy.h"
#include "decode/words.h"

#define MAX_BATCH 4096
#define MAX_THREADS 256

struct ds2_session {
    const ds2_model *model;
    ds2_session_params params;
    const ds2_backend *backend;
    void *backend_session;
    char error[512];
    /* grown on demand, reused across calls */
    float *features;
    size_t features_cap;
    float *probs;
    size_t probs_cap;
    const ds2_lm *lm_checked; /* the last LM found to match the model's labels */
};

ds2_session_params ds2_session_default_params(void)
{
    ds2_session_params p;
    memset(&p, 0, sizeof p);
    p.precision = DS2_PRECISION_FP32;
    p.device = DS2_DEVICE_CPU;
    p.n_threads = 1;
    return p;
}

ds2_run_params ds2_run_default_params(void)
{
    ds2_run_params p;
    memset(&p, 0, sizeof p);
    p.decoder = DS2_DECODER_GREEDY;
    p.beam_width = 10;
    p.cutoff_top_n = 40;
    p.cutoff_prob = 1.0;
    return p;
}

static ds2_status session_fail(ds2_session *s, const ds2_err *err, ds2_status st)
{
    snprintf(s->error, sizeof s->error, "%s", err->msg);
    ds2_log(s->params.log, s->params.log_user_data, DS2_LOG_ERROR, "%s", err->msg);
    return st;
}

/* A failure before the session exists: the message goes to the caller's buffer and the log. */
static ds2_status create_fail(const ds2_session_params *p, char *error, size_t error_size,
                              ds2_status st, const ds2_err *err)
{
    if (error && error_size)
        snprintf(error, error_size, "%s", err->msg);
    ds2_log(p->log, p->log_user_data, DS2_LOG_ERROR, "%s", err->msg);
    return st;
}

ds2_status ds2_session_create(const ds2_model *model, const ds2_session_params *params,
                              ds2_session **out, char *error, size_t error_size)
{
    ds2_session_params p = params ? *params : ds2_session_default_params();
    ds2_err err = {""};
    if (error && error_size)
        error[0] = '\0';
    if (out)
        *out = NULL;
    if (!out || !model)
        return create_fail(&p, error, error_size,
                           ds2_fail(&err, DS2_ERR_INVALID_ARGUMENT,
                                    "ds2_session_create: model and session must not be NULL"),
                           &err);
    if (p.n_threads < 1 || p.n_threads > MAX_THREADS || p.gpu_index < 0 ||
        (p.fp32_convs != 0 && p.fp32_convs != 1) ||
        (p.precision != DS2_PRECISION_FP32 && p.precision != DS2_PRECISION_INT8) ||
        (p.device != DS2_DEVICE_CPU && p.device != DS2_DEVICE_GPU))
        return create_fail(
            &p, error, error_size,
            ds2_fail(&err, DS2_ERR_INVALID_ARGUMENT,
                     "ds2_session_create: bad parameters (threads %d, gpu %d, precision %d, "
                     "device %d)",
                     p.n_threads, p.gpu_index, (int)p.precision, (int)p.device),
            &err);
    const ds2_backend *backend = ds2_backend_find(p.device, p.precision);
    if (!backend)
        return create_fail(&p, error, error_size,
                           ds2_fail(&err, DS2_ERR_UNSUPPORTED, "no backend for %s on the %s",
                                    p.precision == DS2_PRECISION_INT8 ? "int8" : "fp32",
                                    p.device == DS2_DEVICE_GPU ? "GPU" : "CPU"),
                           &err);
    ds2_session *s = calloc(1, sizeof *s);
    if (!s)
        return create_fail(&p, error, error_size,
                           ds2_fail(&err, DS2_ERR_OUT_OF_MEMORY, "out of memory for a session"),
                           &err);
    s->model = model;
    s->params = p;
    s->backend = backend;
    const void *model_data = NULL;
    ds2_status st = ds2_model_prepare_backend(model, backend, p.gpu_index, &model_data, &err);
    if (st == DS2_OK)
        st = backend->impl->session_create(&model->file.net, model_data, p.n_threads, p.gpu_index,
                                           &s->backend_session, &err);
    if (st != DS2_OK) {
        ds2_err named;
        ds2_fail(&named, st, "%s: %s", backend->name, err.msg);
        free(s);
        return create_fail(&p, error, error_size, st, &named);
    }
    *out = s;
    return DS2_OK;
}

void ds2_session_free(ds2_session *s)
{
    if (!s)
        return;
    if (s->backend_session)
        s->backend->impl->session_free(s->backend_session);
    free(s->features);
    free(s->probs);
    free(s);
}

const char *ds2_session_error(const ds2_session *s)
{
    return s ? s->error : "no session";
}

static int grow(float **buf, size_t *cap, size_t n)
{
    if (n <= *cap)
        return 0;
    float *p = realloc(*buf, n * sizeof **buf);
    if (!p)
        return -1;
    *buf = p;
    *cap = n;
    return 0;
}

/* Seconds per output frame: the spectrogram hop times the convs' time strides. */
static double frame_seconds(const ds2_model *m)
{
    double stride = m->file.spect_config.hop;
    for (int i = 0; i < m->file.net.n_conv; i++)
        stride *= m->file.net.conv[i].stride_time;
    return stride / m->file.spect_config.sample_rate;
}

static char *path_text(const char *const *labels, const int *label, int len)
{
    size_t bytes = 1;
    for (int i = 0; i < len; i++)
        bytes += strlen(labels[label[i]]);
    char *text = malloc(bytes), *p = text;
    if (!text)
        return NULL;
    for (int i = 0; i < len; i++) {
        size_t add = strlen(labels[label[i]]);
        memcpy(p, labels[label[i]], add);
        p += add;
    }
    *p = '\0';
    return text;
}

/* Decodes one utterance's probabilities [frames][labels] with the chosen decoder. */
static ds2_status decode(ds2_session *s, const float *probs, int frames, const ds2_run_params *rp,
                         ds2_result *r, ds2_err *err)
{
    const ds2_model *m = s->model;
    const char *const *labels = (const char *const *)m->file.labels;
    int *label = NULL, *first = NULL, *last = NULL, len = 0;
    int *owned = NULL;
    ds2_beam_out beams = {0, NULL};
    ds2_status st = DS2_OK;
    if (rp->decoder == DS2_DECODER_BEAM) {
        ds2_beam_params bp = {rp->beam_width, rp->cutoff_prob, rp->cutoff_top_n,
                              rp->lm,         rp->alpha,       rp->beta};
        st = ds2_ctc_beam_decode(probs, frames, m->file.n_labels, m->file.blank_index, labels, &bp,
                                 &beams, err);
        if (st != DS2_OK)
            return st;
        if (beams.n > 0) {
            label = beams.paths[0].labels;
            first = beams.paths[0].first;
            last = beams.paths[0].last;
            len = beams.paths[0].len;
            r->score = beams.paths[0].score;
        } else {
            r->score = -INFINITY; /* every path has probability 0 */
        }
    } else {
        if (ds2_ctc_greedy_path(probs, frames, m->file.n_labels, m->file.blank_index, labels,
                                &owned, &len, &r->score))
            return ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "out of memory decoding");
        label = owned;
        first = owned + len;
        last = first + len;
    }
    /* greedy's text keeps ds2_ctc_greedy_decode's exact rule (label strings, not indices) */
    r->text =
        rp->decoder == DS2_DECODER_BEAM
            ? path_text(labels, label, len)
            : ds2_ctc_greedy_decode(probs, frames, m->file.n_labels, m->file.blank_index, labels);
    if (!r->text)
        st = ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "out of memory decoding");
    else if (rp->want_timestamps && ds2_words_from_path(labels, label, first, last, len,
                                                        frame_seconds(m), &r->words, &r->n_words))
        st = ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "out of memory for word timestamps");
    free(owned);
    ds2_beam_out_free(&beams);
    return st;
}

/* Decodes and copies out one utterance's probabilities [frames][labels]. */
static ds2_status finish_result(ds2_session *s, const float *probs, int frames,
                                const ds2_run_params *rp, ds2_result *r, ds2_err *err)
{
    const ds2_model *m = s->model;
    r->n_frames = frames;
    r->n_labels = m->file.n_labels;
    ds2_status st = decode(s, probs, frames, rp, r, err);
    if (st != DS2_OK)
        return st;
    if (rp->want_probs) {
        size_t n = (size_t)frames * (size_t)m->file.n_labels;
        r->probs = malloc(n ? n * sizeof(float) : 1);
        if (!r->probs)
            return ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "out of memory copying probabilities");
        memcpy(r->probs, probs, n * sizeof(float));
    }
    return DS2_OK;
}

/* Spectrograms of `batch` sample spans into s->features [batch][F][t_max], then one forward
 * call. Outputs land in s->probs [batch][t_out_max][L]. With flat (batch 1 only), a span whose
 * spectrogram cannot be normalised sets *flat and returns DS2_OK without running the network;
 * without it, that is an error. */
static ds2_status forward_spans(ds2_session *s, const float *const *samples, const size_t *n,
                                int batch, float *state, int *lengths, int *out_lengths,
                                int *t_out_max, int *flat, ds2_err *err)
{
    const ds2_model *m = s->model;
    const ds2_net *net = &m->file.net;
    int t_max = 0;
    for (int b = 0; b < batch; b++) {
        lengths[b] = ds2_spectrogram_frames(m->file.spectrogram, n[b]);
        if (lengths[b] > t_max)
            t_max = lengths[b];
    }
    size_t per = (size_t)net->n_freq * (size_t)t_max;
    if (grow(&s->features, &s->features_cap, per * (size_t)batch))
        return ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "out of memory for %d x %d features", batch,
                        t_max);
    memset(s->features, 0, per * (size_t)batch * sizeof(float));
    for (int b = 0; b < batch; b++) {
        ds2_status st = ds2_spectrogram_compute_or_flat(
            m->file.spectrogram, samples[b], n[b], s->features + per * (size_t)b, t_max, flat, err);
        if (st != DS2_OK)
            return st;
        if (flat && *flat)
            return DS2_OK;
    }
    *t_out_max = ds2_net_output_length(net, t_max);
    size_t nprobs = (size_t)batch * (size_t)*t_out_max * (size_t)m->file.n_labels;
    if (grow(&s->probs, &s->probs_cap, nprobs))
        return ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "out of memory for probabilities");
    ds2_forward_batch fb = {
        .batch = batch,
        .n_freq = net->n_freq,
        .t_max = t_max,
        .lengths = lengths,
        .features = s->features,
        .t_out_max = *t_out_max,
        .out_lengths = out_lengths,
        .probs = s->probs,
        .state = state,
        .fp32_convs = s->params.fp32_convs,
    };
    return s->backend->impl->forward(s->backend_session, &fb, err);
}

static ds2_status run_batch(ds2_session *s, const ds2_utterance *u, int batch,
                            const ds2_run_params *rp, ds2_result *results, ds2_err *err)
{
    const float **samples = malloc((size_t)batch * sizeof *samples);
    size_t *n = malloc((size_t)batch * sizeof *n);
    int *lengths = malloc((size_t)batch * 2 * sizeof *lengths);
    ds2_status st = DS2_OK;
    if (!samples || !n || !lengths) {
        st = ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    for (int b = 0; b < batch; b++) {
        samples[b] = u[b].samples;
        n[b] = u[b].n_samples;
    }
    int t_out_max;
    st = forward_spans(s, samples, n, batch, NULL, lengths, lengths + batch, &t_out_max, NULL, err);
    for (int b = 0; st == DS2_OK && b < batch; b++)
        st = finish_result(s, s->probs + (size_t)b * t_out_max * s->model->file.n_labels,
                           lengths[batch + b], rp, &results[b], err);
done:
    free(samples);
    free(n);
    free(lengths);
    return st;
}

/* Chunk i of an utterance as upstream's get_chunks slices it: [start, start + len). Returns 0
 * past the last chunk, including an empty trailing one (chunk 0 always exists). */
static int chunk_span(const ds2_utterance *u, size_t i, size_t n_chunks, double chunk_seconds,
                      int rate, size_t chunk_len, size_t *start, size_t *len)
{
    if (i >= n_chunks)
        return 0;
    *start = (size_t)((double)i * chunk_seconds * rate);
    if (*start >= u->n_samples) {
        if (i > 0)
            return 0;
        *start = 0;
    }
    *len = u->n_samples - *start;
    if (*len > chunk_len)
        *len = chunk_len;
    return 1;
}

/* Output frames of a chunk of len samples (0 when the convolutions leave none). */
static size_t chunk_frames(const ds2_model *m, size_t len)
{
    int t = ds2_net_output_length(&m->file.net, ds2_spectrogram_frames(m->file.spectrogram, len));
    return t > 0 ? (size_t)t : 0;
}

/* Chunked text as one transcript: runs of spaces (a chunk can end and the next begin on a
 * space, with a silent span between) collapse to one, and none leads or trails. */
static void tidy_spaces(char *text)
{
    size_t w = 0;
    for (size_t r = 0; text[r]; r++)
        if (text[r] != ' ' || (w > 0 && text[w - 1] != ' '))
            text[w++] = text[r];
    while (w > 0 && text[w - 1] == ' ')
        w--;
    text[w] = '\0';
}

/* deepspeech.pytorch's run_transcribe: chunks of chunk_seconds (its get_chunks arithmetic),
 * each normalised on its own, RNN state carried across, outputs concatenated before decoding.
 * Empty trailing chunks (which upstream's arithmetic can produce) are skipped. A chunk that
 * cannot be normalised (digital silence, or too short to vary), where upstream would divide by
 * a zero std and emit NaN, is not run: its output frames are certain blanks (probability 1),
 * so it adds no text and the state passes through it unchanged. See ds2_run_params. */
static ds2_status run_chunked(ds2_session *s, const ds2_utterance *u, double chunk_seconds,
                              const ds2_run_params *rp, ds2_result *r, ds2_err *err)
{
    const ds2_model *m = s->model;
    const int rate = m->file.spect_config.sample_rate;
    const size_t n_labels = (size_t)m->file.n_labels;
    const size_t total_seconds = (u->n_samples + (size_t)rate - 1) / (size_t)rate;
    const size_t n_chunks = total_seconds ? (size_t)ceil((double)total_seconds / chunk_seconds) : 1;
    const size_t chunk_len = (size_t)(chunk_seconds * rate);
    if (chunk_len == 0)
        return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT, "chunk_seconds %g is below one sample",
                        chunk_seconds);
    size_t total_frames = 0, start, len;
    for (size_t i = 0; chunk_span(u, i, n_chunks, chunk_seconds, rate, chunk_len, &start, &len);
         i++)
        total_frames += chunk_frames(m, len);
    float *all = malloc((total_frames ? total_frames : 1) * n_labels * sizeof(float));
    float *state = calloc((size_t)ds2_net_state_floats(&m->file.net), sizeof(float));
    ds2_status st = DS2_OK;
    if (!all || !state) {
        st = ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "out of memory for %zu output frames",
                      total_frames);
        goto done;
    }
    size_t done_frames = 0;
    for (size_t i = 0;
         st == DS2_OK && chunk_span(u, i, n_chunks, chunk_seconds, rate, chunk_len, &start, &len);
         i++) {
        const size_t frames = chunk_frames(m, len);
        if (frames == 0)
            continue;
        const float *p = u->samples + start;
        int lengths[2], t_out_max, flat = 0;
        st = forward_spans(s, &p, &len, 1, state, lengths, lengths + 1, &t_out_max, &flat, err);
        if (st != DS2_OK)
            break;
        if (!flat && (size_t)lengths[1] != frames) { /* the buffer was sized from frames */
            st = ds2_fail(err, DS2_ERR_BACKEND, "chunk %zu: %d output frames, expected %zu", i,
                          lengths[1], frames);
            break;
        }
        float *dst = all + done_frames * n_labels;
        if (flat) {
            memset(dst, 0, frames * n_labels * sizeof(float));
            for (size_t t = 0; t < frames; t++)
                dst[t * n_labels + (size_t)m->file.blank_index] = 1.0f;
        } else {
            memcpy(dst, s->probs, frames * n_labels * sizeof(float));
        }
        done_frames += frames;
    }
    if (st == DS2_OK)
        st = finish_result(s, all, (int)done_frames, rp, r, err);
    if (st == DS2_OK)
        tidy_spaces(r->text);
done:
    free(all);
    free(state);
    return st;
}

/* The LM's words must be spellable with the model's labels (separator and blank excluded), else
 * every word the beam builds would be <unk>: usually a case or alphabet mismatch. Longest label
 * first at each position, as labels may be multi-byte strings. */
static ds2_status check_lm_labels(const ds2_model *m, const ds2_lm *lm, ds2_err *err)
{
    for (int w = 0; w < lm->n_words; w++) {
        const char *word = lm->words[w];
        if (w == lm->bos_id || w == lm->eos_id || w == lm->unk_id)
            continue;
        for (size_t i = 0, n = strlen(word); i < n;) {
            size_t best = 0;
            for (int l = 0; l < m->file.n_labels; l++) {
                const char *lab = m->file.labels[l];
                size_t len = strlen(lab);
                if (l != m->file.blank_index && strcmp(lab, " ") && len > best &&
                    !strncmp(word + i, lab, len))
                    best = len;
            }
            if (!best)
                return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT,
                                "the LM's word '%.64s' has '%c' (byte %zu), which is none of "
                                "the model's labels (an LM in another case or alphabet?)",
                                word, word[i], i);
            i += best;
        }
    }
    return DS2_OK;
}

static ds2_status check_decoder(ds2_session *s, const ds2_run_params *rp, ds2_err *err)
{
    if (rp->decoder == DS2_DECODER_GREEDY)
        return DS2_OK;
    if (rp->decoder != DS2_DECODER_BEAM)
        return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT, "ds2_run: unknown decoder %d",
                        (int)rp->decoder);
    ds2_beam_params bp = {rp->beam_width, rp->cutoff_prob, rp->cutoff_top_n,
                          rp->lm,         rp->alpha,       rp->beta};
    const char *why = ds2_beam_params_check(&bp);
    if (*why)
        return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT,
                        "ds2_run: %s (beam_width %d, cutoff_top_n %d, cutoff_prob %g, alpha %g, "
                        "beta %g)",
                        why, rp->beam_width, rp->cutoff_top_n, rp->cutoff_prob, rp->alpha,
                        rp->beta);
    if (rp->lm && rp->lm != s->lm_checked) {
        ds2_status st = check_lm_labels(s->model, rp->lm, err);
        if (st != DS2_OK)
            return st;
        s->lm_checked = rp->lm;
    }
    return DS2_OK;
}

ds2_status ds2_run(ds2_session *s, const ds2_utterance *u, int batch, const ds2_run_params *params,
                   ds2_result *results)
{
    if (!s)
        return DS2_ERR_INVALID_ARGUMENT;
    ds2_err err = {""};
    s->error[0] = '\0';
    ds2_run_params rp = params ? *params : ds2_run_default_params();
    if (!u || !results || batch < 1 || batch > MAX_BATCH)
        return session_fail(
            s, &err,
            ds2_fail(&err, DS2_ERR_INVALID_ARGUMENT,
                     "ds2_run: need utterances, results and 1 <= batch <= %d (got %d)", MAX_BATCH,
                     batch));
    if (!isfinite(rp.chunk_seconds) || rp.chunk_seconds < 0 || rp.chunk_seconds > 1e6)
        return session_fail(s, &err,
                            ds2_fail(&err, DS2_ERR_INVALID_ARGUMENT,
                                     "ds2_run: chunk_seconds %g is not a sane duration",
                                     rp.chunk_seconds));
    ds2_status checked = check_decoder(s, &rp, &err);
    if (checked != DS2_OK)
        return session_fail(s, &err, checked);
    for (int b = 0; b < batch; b++)
        if (!u[b].samples && u[b].n_samples)
            return session_fail(s, &err,
                                ds2_fail(&err, DS2_ERR_INVALID_ARGUMENT,
                                         "ds2_run: utterance %d has NULL samples", b));
    memset(results, 0, (size_t)batch * sizeof *results);
    ds2_status st = DS2_OK;
    if (rp.chunk_seconds > 0) {
        for (int b = 0; b < batch && st == DS2_OK; b++)
            st = run_chunked(s, &u[b], rp.chunk_seconds, &rp, &results[b], &err);
    } else {
        st = run_batch(s, u, batch, &rp, results, &err);
    }
    if (st != DS2_OK) {
        for (int b = 0; b < batch; b++)
            ds2_result_free(&results[b]);
        return session_fail(s, &err, st);
    }
    return DS2_OK;
}

ds2_status ds2_decode(ds2_session *s, const float *probs, int n_frames, int n_labels,
                      const ds2_run_params *params, ds2_result *result)
{
    if (!s)
        return DS2_ERR_INVALID_ARGUMENT;
    ds2_err err = {""};
    s->error[0] = '\0';
    if (!result)
        return session_fail(s, &err,
                            ds2_fail(&err, DS2_ERR_INVALID_ARGUMENT, "ds2_decode: result is NULL"));
    memset(result, 0, sizeof *result);
    const ds2_model *m = s->model;
    if (n_frames < 0 || n_frames > (1 << 24) || (!probs && n_frames > 0) ||
        n_labels != m->file.n_labels)
        return session_fail(s, &err,
                            ds2_fail(&err, DS2_ERR_INVALID_ARGUMENT,
                                     "ds2_decode: need probabilities [n_frames][%d] (got %d "
                                     "frames of %d labels%s)",
                                     m->file.n_labels, n_frames, n_labels,
                                     probs ? "" : ", NULL probs"));
    ds2_run_params rp = params ? *params : ds2_run_default_params();
    ds2_status st = check_decoder(s, &rp, &err);
    if (st != DS2_OK)
        return session_fail(s, &err, st);
    size_t n = (size_t)n_frames * (size_t)n_labels;
    for (size_t i = 0; i < n; i++)
        if (!(probs[i] >= 0) || isinf(probs[i]))
            return session_fail(s, &err,
                                ds2_fail(&err, DS2_ERR_INVALID_ARGUMENT,
                                         "ds2_decode: probability at frame %zu, label %zu is %g "
                                         "(must be finite and >= 0)",
                                         i / (size_t)n_labels, i % (size_t)n_labels,
                                         (double)probs[i]));
    rp.want_probs = 0;
    result->n_frames = n_frames;
    result->n_labels = n_labels;
    st = decode(s, probs, n_frames, &rp, result, &err);
    if (st != DS2_OK) {
        ds2_result_free(result);
        return session_fail(s, &err, st);
    }
    return DS2_OK;
}

void ds2_result_free(ds2_result *r)
{
    if (!r)
        return;
    free(r->text);
    free(r->probs);
    free(r->words);
    memset(r, 0, sizeof *r);
}
