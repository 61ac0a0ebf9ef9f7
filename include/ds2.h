/*
 * libds2 — DeepSpeech2 inference in C (fp32 and dynamic int8 on the CPU, fp32 on CUDA).
 *
 * Objects and ownership
 *   ds2_model    immutable after ds2_model_load(); may be shared by any number of threads and
 *                sessions. Backend data (packed int8 weights, GPU copies) is prepared lazily,
 *                once, under the model's own lock.
 *   ds2_lm       a word n-gram language model (ARPA file), immutable after ds2_lm_load(); shared
 *                like the model by any number of sessions and threads. Must outlive the runs
 *                that use it.
 *   ds2_session  working memory + precision/device/thread count. One thread at a time per
 *                session; use one session per thread. Must be freed before its model.
 *
 * Errors: every fallible call returns ds2_status, and its message is found one way:
 *   - a call that creates an object (ds2_model_load, ds2_audio_load, ds2_session_create) has no
 *     object to keep it in, so it writes the message to the caller's `error` buffer of
 *     `error_size` bytes (NUL-terminated, truncated to fit; "" on success; NULL to ignore);
 *   - a call on an existing object (ds2_run) keeps it in that object: ds2_session_error().
 * The library never prints or exits; the same messages also go to the optional log callback.
 *
 * Only the functions marked DS2_API are exported from libds2.so, all named ds2_*.
 */
#ifndef DS2_H
#define DS2_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DS2_VERSION_STRING "0.1.0"

/* Marks the public functions: the library is built with -fvisibility=hidden, so these are the
 * only symbols libds2.so exports (no internal name can interpose on another library's). */
#if defined(__GNUC__)
#define DS2_API __attribute__((visibility("default")))
#else
#define DS2_API
#endif

typedef enum ds2_status {
    DS2_OK = 0,
    DS2_ERR_INVALID_ARGUMENT, /* NULL pointer, absurd size, bad parameter value */
    DS2_ERR_IO,               /* file missing or unreadable */
    DS2_ERR_MODEL_FORMAT,     /* model file corrupt, truncated, wrong version or shape */
    DS2_ERR_AUDIO_FORMAT,     /* audio file unreadable, empty or not audio */
    DS2_ERR_OUT_OF_MEMORY,
    DS2_ERR_NOT_BUILT,   /* feature not compiled in (e.g. "built without CUDA") */
    DS2_ERR_NO_DEVICE,   /* CUDA built, but no usable device */
    DS2_ERR_BACKEND,     /* a CUDA / cuBLAS call failed; message names the call */
    DS2_ERR_UNSUPPORTED, /* valid request this build cannot serve (e.g. ISA missing) */
} ds2_status;

/* Static string naming the status, never NULL. */
DS2_API const char *ds2_status_string(ds2_status status);

typedef enum ds2_log_level {
    DS2_LOG_ERROR = 0,
    DS2_LOG_WARN,
    DS2_LOG_INFO,
    DS2_LOG_DEBUG
} ds2_log_level;
typedef void (*ds2_log_fn)(ds2_log_level level, const char *message, void *user_data);

typedef enum ds2_precision { DS2_PRECISION_FP32 = 0, DS2_PRECISION_INT8 } ds2_precision;
typedef enum ds2_device { DS2_DEVICE_CPU = 0, DS2_DEVICE_GPU } ds2_device;

/* ---------------------------------------------------------------- model */

typedef struct ds2_model ds2_model;

typedef struct ds2_model_params {
    ds2_log_fn log; /* optional */
    void *log_user_data;
} ds2_model_params;

DS2_API ds2_model_params ds2_model_default_params(void);

/* Maps a libds2 model file (GGUF v3, see docs/model-format.md) read-only and validates
 * every key and tensor. On failure *model is NULL and error (if not NULL) holds a message
 * naming what is wrong. */
DS2_API ds2_status ds2_model_load(const char *path, const ds2_model_params *params,
                                  ds2_model **model, char *error, size_t error_size);
DS2_API void ds2_model_free(ds2_model *model);

typedef struct ds2_model_info {
    int sample_rate; /* audio rate the model expects, Hz */
    int n_labels;    /* softmax width */
    int blank_index;
    const char *rnn_type; /* "lstm", "gru" or "rnn" */
    int hidden_size;
    int hidden_layers;
    int bidirectional;     /* 1: directions summed; 0: unidirectional + lookahead */
    int lookahead_context; /* 0 when bidirectional */
    int conv_channels;     /* output channels of the conv layers */
    int weights_int8;      /* file holds pre-quantized int8 RNN/FC weights */
    uint64_t n_parameters;
    uint64_t file_bytes;
} ds2_model_info;

DS2_API void ds2_model_get_info(const ds2_model *model, ds2_model_info *info);
/* Label i as a NUL-terminated UTF-8 string, or NULL when i is out of range. */
DS2_API const char *ds2_model_label(const ds2_model *model, int i);

/* ---------------------------------------------------------------- audio */

typedef struct ds2_audio {
    float *samples; /* mono, owned; free with ds2_audio_free */
    size_t n_samples;
    int sample_rate;
} ds2_audio;

/* Reads any format libsndfile reads; averages channels (as deepspeech.pytorch does) and
 * resamples band-limited to target_rate (pass ds2_model_info.sample_rate). */
DS2_API ds2_status ds2_audio_load(const char *path, int target_rate, ds2_audio *audio, char *error,
                                  size_t error_size);
DS2_API void ds2_audio_free(ds2_audio *audio);

/* ---------------------------------------------------------------- language model */

typedef struct ds2_lm ds2_lm;

/* Reads an ARPA n-gram file (order 2..6, backoff weights) and validates every line, or a binary
 * LM (ds2_lm_save_binary); a bad or hostile file is DS2_ERR_MODEL_FORMAT with the line (the
 * section) at fault in error. The vocabulary must
 * include <s> and </s>; a missing <unk> scores log10 p = -100 (KenLM's convention). Either form
 * also gets a trie of its words' prefixes, built once here, for ds2_run_params.unk_score_offset. */
DS2_API ds2_status ds2_lm_load(const char *path, ds2_lm **lm, char *error, size_t error_size);
/* Writes lm in libds2's binary LM form, which ds2_lm_load maps read-only and validates instead
 * of parsing (recognised by its magic; same scores as the ARPA file it came from). */
DS2_API ds2_status ds2_lm_save_binary(const ds2_lm *lm, const char *path, char *error,
                                      size_t error_size);
DS2_API void ds2_lm_free(ds2_lm *lm);

typedef struct ds2_lm_info {
    int order;
    uint64_t counts[7]; /* counts[k]: k-grams, k = 1..order (counts[1] includes an added <unk>) */
} ds2_lm_info;

DS2_API void ds2_lm_get_info(const ds2_lm *lm, ds2_lm_info *info);

/* ---------------------------------------------------------------- session */

typedef struct ds2_session ds2_session;

typedef struct ds2_session_params {
    ds2_precision precision; /* default fp32 */
    ds2_device device;       /* default cpu */
    int n_threads;           /* CPU threads, >= 1; default 1 */
    int gpu_index;           /* CUDA device ordinal; default 0 */
    /* CPU int8 only: 1 keeps the conv layers in fp32, as PyTorch's quantize_dynamic does (a
     * like-for-like comparison). Default 0: the convs after the first run in int8 too (their
     * input is the Hardtanh(0, 20) output, quantized with that static range; the first conv
     * reads the unbounded spectrogram and stays fp32). */
    int fp32_convs;
    ds2_log_fn log;
    void *log_user_data;
} ds2_session_params;

DS2_API ds2_session_params ds2_session_default_params(void);

/* On failure *session is NULL and error (if not NULL) holds the reason, e.g. "no backend for
 * int8 on the GPU" or the backend's own message (no GPU, built without CUDA, out of memory). */
DS2_API ds2_status ds2_session_create(const ds2_model *model, const ds2_session_params *params,
                                      ds2_session **session, char *error, size_t error_size);
DS2_API void ds2_session_free(ds2_session *session);
/* Message of the session's last failed ds2_run ("" after success). Valid until the next call
 * on the session. */
DS2_API const char *ds2_session_error(const ds2_session *session);

/* One utterance of audio at the model's sample rate. */
typedef struct ds2_utterance {
    const float *samples;
    size_t n_samples;
} ds2_utterance;

typedef enum ds2_decoder {
    DS2_DECODER_GREEDY = 0, /* best label per frame (deepspeech.pytorch's GreedyDecoder) */
    DS2_DECODER_BEAM,       /* CTC prefix beam search, optionally with a word n-gram LM */
} ds2_decoder;

/* Utterances longer than this are chunked by default (ds2_run_params.chunk_seconds 0), into
 * chunks of this length. */
#define DS2_DEFAULT_CHUNK_SECONDS 60.0

/* ds2_run_params.unk_score_offset's default: pyctcdecode's (its DEFAULT_UNK_LOGP_OFFSET). */
#define DS2_DEFAULT_UNK_SCORE_OFFSET (-10.0)

typedef struct ds2_run_params {
    int want_probs; /* fill ds2_result.probs */
    /* > 0: split each utterance into chunks of this length and carry the RNN state across them,
     * as deepspeech.pytorch's transcribe does. 0 (default): the same with chunks of
     * DS2_DEFAULT_CHUNK_SECONDS for an utterance longer than that, a whole run otherwise.
     * < 0: always a whole run, whatever the length (memory then grows with it, by about
     * 50 MB a minute of audio with the bundled model: 6.2 GB for 2 h, 76 MB chunked). */
    double chunk_seconds;
    int want_timestamps; /* fill ds2_result.words */
    ds2_decoder decoder; /* default greedy */
    /* beam only; defaults as deepspeech.pytorch's transcribe (width 10, top-n 40, prob 1) */
    int beam_width;     /* >= 1 */
    int cutoff_top_n;   /* per frame, extend by at most this many labels (>= 1) */
    double cutoff_prob; /* ... and only by the likeliest whose cumulative probability
                           reaches this, (0, 1] */
    const ds2_lm *lm;   /* optional; every word in it must be spelled with the model's labels */
    double alpha, beta; /* score = ln P_ctc + alpha ln P_lm + beta * words (with an LM) */
    /* With an LM, pyctcdecode's unk_score_offset, <= 0 (0: off; default
     * DS2_DEFAULT_UNK_SCORE_OFFSET): a soft lexicon. Added to log10 P_lm of a word the LM lacks
     * (so it costs alpha * ln 10 * offset more than <unk>'s probability), and to the score (ln,
     * not scaled by alpha) of a beam whose unfinished word is no prefix of an LM word, times
     * its length / 6 past 6 characters, until the word ends. */
    double unk_score_offset;
    /* pyctcdecode's pruning, ln, <= 0 (0: off, the default): per frame, only labels with
     * ln p >= token_min_logp (and always the likeliest) extend the beams (pyctcdecode: -5); and
     * beams scoring more than -beam_prune_logp below the best are dropped (pyctcdecode: -10). */
    double token_min_logp;
    double beam_prune_logp;
} ds2_run_params;
/* Chunked runs, where they differ from upstream:
 * - A chunk whose spectrogram cannot be normalised (digital silence, or a tail too short to
 *   vary: std 0, where upstream divides by zero and decodes NaN) is not run through the
 *   network. Its output frames are certain blanks (probability 1; so in ds2_result.probs
 *   too), it adds no text, the RNN state passes through it unchanged and the run goes on. An
 *   utterance that is silent throughout gives "" — whereas an unchunked run of a silent
 *   utterance fails with DS2_ERR_AUDIO_FORMAT ("too short or silent to normalise").
 * - The transcript is tidied as one text: runs of spaces (e.g. one chunk ending and the next
 *   beginning on a space) become one space, and there is no leading or trailing space.
 *   ds2_result.probs is not affected. */

DS2_API ds2_run_params ds2_run_default_params(void);

/* One word of a transcript: start = first emission frame of its first label, end = last emission
 * frame of its last label, each times the model's output frame stride (seconds). */
typedef struct ds2_word {
    const char *text; /* points into the result's words allocation */
    double start_s, end_s;
} ds2_word;

typedef struct ds2_result {
    char *text;   /* transcript of the chosen decoder, owned */
    float *probs; /* [n_frames][n_labels] softmax, owned, NULL unless want_probs */
    int n_frames;
    int n_labels;
    double score;    /* greedy: sum of ln max p; beam: the best beam's score (see alpha) */
    ds2_word *words; /* [n_words], owned, NULL unless want_timestamps (or no words) */
    int n_words;
} ds2_result;

/* Runs `batch` utterances together (variable lengths; each utterance's output is the same as
 * when run alone) and fills results[0..batch). On failure no result needs freeing. */
DS2_API ds2_status ds2_run(ds2_session *session, const ds2_utterance *utterances, int batch,
                           const ds2_run_params *params, ds2_result *results);
/* Decodes softmax outputs [n_frames][n_labels] (ds2_result.probs of an earlier run, or saved ones)
 * with params' decoder exactly as ds2_run does after the forward pass: fills result->text, score,
 * n_frames, n_labels and (want_timestamps) words; want_probs and chunk_seconds are ignored. Runs
 * no network, so decoders can be timed and compared on fixed inputs. n_labels must be the
 * model's; every probability must be finite and >= 0 (else DS2_ERR_INVALID_ARGUMENT). */
DS2_API ds2_status ds2_decode(ds2_session *session, const float *probs, int n_frames, int n_labels,
                              const ds2_run_params *params, ds2_result *result);
/* One audio file (any format ds2_audio_load reads), with the same result as ds2_audio_load at the
 * model's rate followed by ds2_run on it, bit for bit. A chunked run (chunk_seconds > 0, or by
 * default a file longer than DS2_DEFAULT_CHUNK_SECONDS) reads, decodes and resamples the file
 * piece by piece and holds one chunk of samples at a time, so its memory does not grow with the
 * file's length except for the output: the text, and what the decoder needs: for greedy
 * without want_probs each frame's best label (200 bytes per second of audio at 50 frames/s),
 * else the probabilities (n_labels floats a frame: 5.8 KB a second for 29 labels). Errors,
 * including the file's (the messages ds2_audio_load gives), are in ds2_session_error(). */
DS2_API ds2_status ds2_run_file(ds2_session *session, const char *path,
                                const ds2_run_params *params, ds2_result *result);
DS2_API void ds2_result_free(ds2_result *result);

#ifdef __cplusplus
}
#endif
#endif /* DS2_H */
