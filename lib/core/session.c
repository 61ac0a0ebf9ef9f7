/* Sessions: backend choice, per-thread working memory, and the utterance pipeline
 * (spectrogram -> backend forward -> greedy or beam CTC), including chunked long-audio runs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio/audio.h"
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
    p.unk_score_offset = DS2_DEFAULT_UNK_SCORE_OFFSET;
    return p;
}

static ds2_beam_params beam_params(const ds2_run_params *rp)
{
    ds2_beam_params bp = {.beam_width = rp->beam_width,
                          .cutoff_prob = rp->cutoff_prob,
                          .cutoff_top_n = rp->cutoff_top_n,
                          .lm = rp->lm,
                          .alpha = rp->alpha,
                          .beta = rp->beta,
                          .unk_score_offset = rp->unk_score_offset,
                          .token_min_logp = rp->token_min_logp,
                          .beam_prune_logp = rp->beam_prune_logp};
    return bp;
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
        ds2_beam_params bp = beam_params(rp);
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

/* Greedy results from each frame's best label (a chunked run that keeps no probabilities): the
 * text, score and words ds2_ctc_greedy_* give from the probabilities themselves. */
static ds2_status finish_best(ds2_session *s, const int *best, int frames, double score,
                              const ds2_run_params *rp, ds2_result *r, ds2_err *err)
{
    const ds2_model *m = s->model;
    const char *const *labels = (const char *const *)m->file.labels;
    r->n_frames = frames;
    r->n_labels = m->file.n_labels;
    r->score = score;
    r->text =
        ds2_ctc_greedy_decode_best(best, frames, m->file.n_labels, m->file.blank_index, labels);
    if (!r->text)
        return ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "out of memory decoding");
    if (!rp->want_timestamps)
        return DS2_OK;
    int *path = NULL, len = 0;
    if (ds2_ctc_greedy_path_best(best, frames, m->file.n_labels, m->file.blank_index, labels, &path,
                                 &len))
        return ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "out of memory decoding");
    int fail = ds2_words_from_path(labels, path, path + len, path + 2 * len, len, frame_seconds(m),
                                   &r->words, &r->n_words);
    free(path);
    return fail ? ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "out of memory for word timestamps")
                : DS2_OK;
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
    if (batch < 1)
        return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT, "empty batch");
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

/* Where a chunked run's samples come from: an utterance in memory, or a file read piece by piece
 * (ds2_run_file), of which only the span the current chunk needs is held. */
typedef struct sample_source {
    const float *mem; /* in memory: samples [0, n) */
    ds2_audio_reader *reader;
    float *buf; /* reader: samples [pos, pos + len) of the stream */
    size_t cap, pos, len;
    int eof;  /* reader: the stream has ended (n = pos + len) */
    size_t n; /* in memory: the length */
} sample_source;

/* Samples known to exist: the length in memory or once the stream has ended, else a lower
 * bound. */
static size_t source_known(const sample_source *src)
{
    return src->mem ? src->n : src->pos + src->len;
}

static int source_exact(const sample_source *src)
{
    return src->mem || src->eof;
}

/* Reads until samples [pos, upto) are held or the stream ends. */
static ds2_status source_fill(sample_source *src, size_t upto, ds2_err *err)
{
    while (!source_exact(src) && src->pos + src->len < upto) {
        if (src->len == src->cap) {
            /* grown as samples arrive, to no more than the span asked for */
            size_t want = upto - src->pos, grown = src->cap ? src->cap * 2 : (size_t)1 << 16;
            if (want < grown)
                grown = want;
            if (grow(&src->buf, &src->cap, grown))
                return ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "out of memory for %zu samples", grown);
        }
        size_t ask = src->cap - src->len, got = 0;
        if (upto - src->pos - src->len < ask)
            ask = upto - src->pos - src->len;
        ds2_status st = ds2_audio_reader_read(src->reader, src->buf + src->len, ask, &got, err);
        if (st != DS2_OK)
            return st;
        src->len += got;
        if (got < ask)
            src->eof = 1;
    }
    return DS2_OK;
}

/* Forgets samples before `from` (the chunks are read in order), reading past any gap. */
static ds2_status source_drop(sample_source *src, size_t from, ds2_err *err)
{
    if (src->mem || from <= src->pos)
        return DS2_OK;
    if (from < src->pos + src->len) {
        size_t drop = from - src->pos;
        memmove(src->buf, src->buf + drop, (src->len - drop) * sizeof *src->buf);
        src->len -= drop;
        src->pos = from;
        return DS2_OK;
    }
    src->pos += src->len;
    src->len = 0;
    while (!src->eof && src->pos < from) {
        ds2_status st = source_fill(src, from, err);
        if (st != DS2_OK)
            return st;
        size_t drop = src->pos + src->len < from ? src->len : from - src->pos;
        memmove(src->buf, src->buf + drop, (src->len - drop) * sizeof *src->buf);
        src->len -= drop;
        src->pos += drop;
    }
    return DS2_OK;
}

static const float *source_at(const sample_source *src, size_t start)
{
    return src->mem ? src->mem + start : src->buf + (start - src->pos);
}

/* Upstream's get_chunks count: ceil(ceil(n / rate) / chunk_seconds), at least 1. */
static size_t chunk_count(size_t n, int rate, double chunk_seconds)
{
    const size_t total_seconds = (n + (size_t)rate - 1) / (size_t)rate;
    return total_seconds ? (size_t)ceil((double)total_seconds / chunk_seconds) : 1;
}

/* Chunk i of an n-sample utterance as upstream's get_chunks slices it: [start, start + len).
 * Returns 0 past the last chunk, including an empty trailing one (chunk 0 always exists). */
static int chunk_span(size_t n, size_t i, double chunk_seconds, int rate, size_t chunk_len,
                      size_t *start, size_t *len)
{
    if (i >= chunk_count(n, rate, chunk_seconds))
        return 0;
    *start = (size_t)((double)i * chunk_seconds * rate);
    if (*start >= n) {
        if (i > 0)
            return 0;
        *start = 0;
    }
    *len = n - *start;
    if (*len > chunk_len)
        *len = chunk_len;
    return 1;
}

/* Chunk i of the source, reading what it needs. With a stream whose end is not yet seen the
 * samples held are a lower bound of the length: the span is read through (so its length is
 * right) and, should upstream's count say the chunk may not exist for that bound, more is read
 * until the count or the end decides (an edge of floating-point rounding; the count only grows
 * with the length). The answer is the one the whole utterance in memory would give. */
static int source_chunk(sample_source *src, size_t i, double chunk_seconds, int rate,
                        size_t chunk_len, size_t *start, size_t *len, ds2_status *st, ds2_err *err)
{
    size_t at = (size_t)((double)i * chunk_seconds * rate); /* the start, if the chunk exists */
    *st = source_drop(src, at, err);
    if (*st == DS2_OK)
        *st = source_fill(src, at + chunk_len, err);
    while (*st == DS2_OK && !source_exact(src) &&
           i >= chunk_count(source_known(src), rate, chunk_seconds))
        *st = source_fill(src, source_known(src) + (size_t)rate, err);
    if (*st != DS2_OK)
        return 0;
    return chunk_span(source_known(src), i, chunk_seconds, rate, chunk_len, start, len);
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
 * so it adds no text and the state passes through it unchanged. See ds2_run_params. Only the
 * output (labels or probabilities) grows with the length; from a stream, one chunk of samples
 * is held. */
static ds2_status run_chunked(ds2_session *s, sample_source *src, size_t n_estimate,
                              double chunk_seconds, const ds2_run_params *rp, ds2_result *r,
                              ds2_err *err)
{
    const ds2_model *m = s->model;
    const int rate = m->file.spect_config.sample_rate;
    const size_t n_labels = (size_t)m->file.n_labels;
    const size_t chunk_len = (size_t)(chunk_seconds * rate);
    if (chunk_len == 0)
        return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT, "chunk_seconds %g is below one sample",
                        chunk_seconds);
    /* The output, sized for the length expected (exact in memory), grown if need be: the
     * probabilities, or for greedy without want_probs only each frame's best label (4 bytes a
     * frame instead of 4 per label) and the score summed as ds2_ctc_greedy_path sums it. */
    const int keep_probs = rp->want_probs || rp->decoder != DS2_DECODER_GREEDY;
    const size_t per_frame = keep_probs ? n_labels : 1;
    size_t cap_frames = 0, start, len;
    for (size_t i = 0; chunk_span(n_estimate, i, chunk_seconds, rate, chunk_len, &start, &len); i++)
        cap_frames += chunk_frames(m, len);
    size_t cap = (cap_frames ? cap_frames : 1) * per_frame;
    float *all = keep_probs ? malloc(cap * sizeof(float)) : NULL;
    int *best = keep_probs ? NULL : malloc(cap * sizeof(int));
    float *state = calloc((size_t)ds2_net_state_floats(&m->file.net), sizeof(float));
    double score = 0;
    ds2_status st = DS2_OK;
    if ((!all && !best) || !state) {
        st =
            ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "out of memory for %zu output frames", cap_frames);
        goto done;
    }
    size_t done_frames = 0;
    for (size_t i = 0; source_chunk(src, i, chunk_seconds, rate, chunk_len, &start, &len, &st, err);
         i++) {
        const size_t frames = chunk_frames(m, len);
        if (frames == 0)
            continue;
        if ((done_frames + frames) * per_frame > cap) {
            size_t grown = (done_frames + frames) * per_frame * 2;
            void *p = keep_probs ? realloc(all, grown * sizeof *all)
                                 : realloc(best, grown * sizeof *best);
            if (!p) {
                st = ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "out of memory for %zu output frames",
                              done_frames + frames);
                break;
            }
            if (keep_probs)
                all = p;
            else
                best = p;
            cap = grown;
        }
        const float *p = source_at(src, start);
        int lengths[2], t_out_max, flat = 0;
        st = forward_spans(s, &p, &len, 1, state, lengths, lengths + 1, &t_out_max, &flat, err);
        if (st != DS2_OK)
            break;
        if (!flat && (size_t)lengths[1] != frames) { /* the buffer was sized from frames */
            st = ds2_fail(err, DS2_ERR_BACKEND, "chunk %zu: %d output frames, expected %zu", i,
                          lengths[1], frames);
            break;
        }
        if (!keep_probs) {
            for (size_t t = 0; t < frames; t++) {
                int b = m->file.blank_index;
                float pb = 1.0f; /* a skipped chunk's certain blank */
                if (!flat) {
                    const float *row = s->probs + t * n_labels;
                    b = ds2_ctc_argmax(row, (int)n_labels);
                    pb = row[b];
                }
                best[done_frames + t] = b;
                score += log((double)pb);
            }
        } else if (flat) {
            float *dst = all + done_frames * n_labels;
            memset(dst, 0, frames * n_labels * sizeof(float));
            for (size_t t = 0; t < frames; t++)
                dst[t * n_labels + (size_t)m->file.blank_index] = 1.0f;
        } else {
            memcpy(all + done_frames * n_labels, s->probs, frames * n_labels * sizeof(float));
        }
        done_frames += frames;
    }
    if (st == DS2_OK)
        st = keep_probs ? finish_result(s, all, (int)done_frames, rp, r, err)
                        : finish_best(s, best, (int)done_frames, score, rp, r, err);
    if (st == DS2_OK)
        tidy_spaces(r->text);
done:
    free(all);
    free(best);
    free(state);
    return st;
}

/* The chunk length a run uses for an utterance of n samples: chunk_seconds when > 0; 0 (whole)
 * when < 0; by default DS2_DEFAULT_CHUNK_SECONDS when longer than that, else whole. */
static double chunking_for(const ds2_session *s, double chunk_seconds, size_t n)
{
    if (chunk_seconds != 0)
        return chunk_seconds > 0 ? chunk_seconds : 0;
    const int rate = s->model->file.spect_config.sample_rate;
    return n > (size_t)(DS2_DEFAULT_CHUNK_SECONDS * rate) ? DS2_DEFAULT_CHUNK_SECONDS : 0;
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
    ds2_beam_params bp = beam_params(rp);
    const char *why = ds2_beam_params_check(&bp);
    if (*why)
        return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT,
                        "ds2_run: %s (beam_width %d, cutoff_top_n %d, cutoff_prob %g, alpha %g, "
                        "beta %g, unk_score_offset %g, token_min_logp %g, beam_prune_logp %g)",
                        why, rp->beam_width, rp->cutoff_top_n, rp->cutoff_prob, rp->alpha, rp->beta,
                        rp->unk_score_offset, rp->token_min_logp, rp->beam_prune_logp);
    if (rp->lm && rp->lm != s->lm_checked) {
        ds2_status st = check_lm_labels(s->model, rp->lm, err);
        if (st != DS2_OK)
            return st;
        s->lm_checked = rp->lm;
    }
    return DS2_OK;
}

/* Checks shared by ds2_run and ds2_run_file; fills *rp (defaults when params is NULL). */
static ds2_status check_run(ds2_session *s, const ds2_run_params *params, ds2_run_params *rp,
                            ds2_err *err)
{
    *rp = params ? *params : ds2_run_default_params();
    if (!isfinite(rp->chunk_seconds) || rp->chunk_seconds > 1e6)
        return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT,
                        "chunk_seconds %g is not a sane duration (at most 1e6 s)",
                        rp->chunk_seconds);
    return check_decoder(s, rp, err);
}

ds2_status ds2_run(ds2_session *s, const ds2_utterance *u, int batch, const ds2_run_params *params,
                   ds2_result *results)
{
    if (!s)
        return DS2_ERR_INVALID_ARGUMENT;
    ds2_err err = {""};
    s->error[0] = '\0';
    ds2_run_params rp;
    if (!u || !results || batch < 1 || batch > MAX_BATCH)
        return session_fail(
            s, &err,
            ds2_fail(&err, DS2_ERR_INVALID_ARGUMENT,
                     "ds2_run: need utterances, results and 1 <= batch <= %d (got %d)", MAX_BATCH,
                     batch));
    ds2_status checked = check_run(s, params, &rp, &err);
    if (checked != DS2_OK)
        return session_fail(s, &err, checked);
    for (int b = 0; b < batch; b++)
        if (!u[b].samples && u[b].n_samples)
            return session_fail(s, &err,
                                ds2_fail(&err, DS2_ERR_INVALID_ARGUMENT,
                                         "ds2_run: utterance %d has NULL samples", b));
    memset(results, 0, (size_t)batch * sizeof *results);
    /* chunked utterances one by one; the others in one batch, results put back in order */
    ds2_status st = DS2_OK;
    int n_whole = 0;
    for (int b = 0; b < batch && st == DS2_OK; b++) {
        double cs = chunking_for(s, rp.chunk_seconds, u[b].n_samples);
        if (cs > 0) {
            sample_source src = {.mem = u[b].samples, .n = u[b].n_samples};
            st = run_chunked(s, &src, u[b].n_samples, cs, &rp, &results[b], &err);
        } else {
            n_whole++;
        }
    }
    if (st == DS2_OK && n_whole == batch) {
        st = run_batch(s, u, batch, &rp, results, &err);
    } else if (st == DS2_OK && n_whole > 0) {
        ds2_utterance *whole = malloc((size_t)n_whole * sizeof *whole);
        ds2_result *out = calloc((size_t)n_whole, sizeof *out);
        if (!whole || !out)
            st = ds2_fail(&err, DS2_ERR_OUT_OF_MEMORY, "out of memory");
        for (int b = 0, k = 0; st == DS2_OK && b < batch; b++)
            if (chunking_for(s, rp.chunk_seconds, u[b].n_samples) == 0)
                whole[k++] = u[b];
        if (st == DS2_OK)
            st = run_batch(s, whole, n_whole, &rp, out, &err);
        for (int b = 0, k = 0; st == DS2_OK && b < batch; b++)
            if (chunking_for(s, rp.chunk_seconds, u[b].n_samples) == 0)
                results[b] = out[k++];
        for (int k = 0; st != DS2_OK && out && k < n_whole; k++)
            ds2_result_free(&out[k]);
        free(whole);
        free(out);
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

/* The file through a reader: chunked runs hold one chunk's samples at a time; a whole run (short
 * file, or chunk_seconds < 0) holds them all, as ds2_audio_load would. To choose by default, up
 * to DS2_DEFAULT_CHUNK_SECONDS plus one sample is read first. */
static ds2_status run_file(ds2_session *s, const char *path, const ds2_run_params *rp,
                           ds2_result *r, ds2_err *err)
{
    const int rate = s->model->file.spect_config.sample_rate;
    sample_source src = {0};
    ds2_status st = ds2_audio_reader_open(path, rate, &src.reader, err);
    if (st != DS2_OK)
        return st;
    double cs = rp->chunk_seconds > 0 ? rp->chunk_seconds : 0;
    if (rp->chunk_seconds == 0) {
        st = source_fill(&src, (size_t)(DS2_DEFAULT_CHUNK_SECONDS * rate) + 1, err);
        if (st == DS2_OK)
            cs = chunking_for(s, 0, source_known(&src));
    }
    if (st == DS2_OK && cs > 0) {
        /* the output buffer starts at no more than 10 min's frames: a header may lie */
        size_t expected = ds2_audio_reader_expected(src.reader);
        if (expected > (size_t)600 * (size_t)rate)
            expected = (size_t)600 * (size_t)rate;
        st = run_chunked(s, &src, expected, cs, rp, r, err);
    } else if (st == DS2_OK) {
        st = source_fill(&src, SIZE_MAX, err);
        ds2_utterance u = {src.buf, src.len};
        if (st == DS2_OK)
            st = run_batch(s, &u, 1, rp, r, err);
    }
    ds2_audio_reader_close(src.reader);
    free(src.buf);
    return st;
}

ds2_status ds2_run_file(ds2_session *s, const char *path, const ds2_run_params *params,
                        ds2_result *result)
{
    if (!s)
        return DS2_ERR_INVALID_ARGUMENT;
    ds2_err err = {""};
    s->error[0] = '\0';
    if (!path || !result)
        return session_fail(s, &err,
                            ds2_fail(&err, DS2_ERR_INVALID_ARGUMENT, "ds2_run_file: %s is NULL",
                                     !path ? "path" : "result"));
    memset(result, 0, sizeof *result);
    ds2_run_params rp;
    ds2_status st = check_run(s, params, &rp, &err);
    if (st == DS2_OK)
        st = run_file(s, path, &rp, result, &err);
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
