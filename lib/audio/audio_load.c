/* ds2_audio_load: any libsndfile format -> mono float at the model's rate.
 *
 * Samples come out of libsndfile normalised to [-1, 1) (integer PCM divided by 2^(bits-1)),
 * the same scale torchaudio's sox backend gives deepspeech.pytorch. Channels are averaged as
 * its load_audio does (sound.mean(axis=0)). The file is read in blocks through a reader
 * (ds2_audio_reader: decode, downmix and resample piece by piece), which ds2_run_file also uses
 * to transcribe long files chunk by chunk without holding them whole. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <samplerate.h>
#include <sndfile.h>

#include "audio/audio.h"
#include "base/file.h"

#define MAX_CHANNELS 64
#define MAX_SECONDS (4 * 3600)
#define BLOCK_FRAMES 4096
#define INITIAL_FRAMES ((size_t)1 << 20)

/* libsndfile reads from our descriptor (close_desc 0: we close it, after sf_close), so the
 * file checked to be regular is the file read. The cost: libsndfile sees no file name, so its
 * last-resort guess from the extension for headerless files (.vox, .gsm, raw .au) does not
 * apply; such files are refused as unrecognised, as any headerless data is. */
static ds2_status open_checked(const char *path, SNDFILE **out, int *fd_out, SF_INFO *info,
                               ds2_err *err)
{
    struct stat sb;
    int fd = ds2_open_regular(path, "audio file", &sb, err);
    if (fd < 0)
        return DS2_ERR_IO;

    memset(info, 0, sizeof *info);
    SNDFILE *f = sf_open_fd(fd, SFM_READ, info, 0);
    if (!f) {
        int code = sf_error(NULL);
        close(fd);
        return ds2_fail(err, code == SF_ERR_SYSTEM ? DS2_ERR_IO : DS2_ERR_AUDIO_FORMAT,
                        "%s: cannot read as audio: %s", path, sf_strerror(NULL));
    }
    ds2_status st = DS2_OK;
    if (info->channels < 1 || info->channels > MAX_CHANNELS)
        st = ds2_fail(err, DS2_ERR_AUDIO_FORMAT, "%s: %d channels (accepted: 1..%d)", path,
                      info->channels, MAX_CHANNELS);
    else if (info->samplerate < DS2_AUDIO_MIN_RATE || info->samplerate > DS2_AUDIO_MAX_RATE)
        st = ds2_fail(err, DS2_ERR_AUDIO_FORMAT, "%s: sample rate %d Hz (accepted: %d..%d)", path,
                      info->samplerate, DS2_AUDIO_MIN_RATE, DS2_AUDIO_MAX_RATE);
    else if (info->frames <= 0)
        st = ds2_fail(err, DS2_ERR_AUDIO_FORMAT, "%s: contains no audio frames", path);
    else if (info->frames > (sf_count_t)MAX_SECONDS * info->samplerate)
        st = ds2_fail(err, DS2_ERR_AUDIO_FORMAT, "%s: %lld frames at %d Hz is longer than %d hours",
                      path, (long long)info->frames, info->samplerate, MAX_SECONDS / 3600);
    if (st != DS2_OK) {
        sf_close(f);
        close(fd);
        return st;
    }
    *out = f;
    *fd_out = fd;
    return DS2_OK;
}

struct ds2_audio_reader {
    SNDFILE *f;
    int fd;
    SF_INFO info;
    int target_rate;
    char path[256];
    float *block;             /* [BLOCK_FRAMES][channels] as libsndfile gives them */
    float mono[BLOCK_FRAMES]; /* downmixed, at the file's rate */
    size_t mono_pos, mono_len;
    size_t frames_read; /* file frames so far */
    int file_done;      /* no more file frames (end, truncation or error) */
    SRC_STATE *src;     /* NULL when the rates are equal */
    int src_done;       /* the resampler has been flushed */
    size_t samples_out; /* samples handed out at target_rate */
};

ds2_status ds2_audio_reader_open(const char *path, int target_rate, ds2_audio_reader **out,
                                 ds2_err *err)
{
    *out = NULL;
    ds2_audio_reader *r = calloc(1, sizeof *r);
    if (!r)
        return ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "%s: out of memory for an audio reader", path);
    r->fd = -1;
    ds2_status st = open_checked(path, &r->f, &r->fd, &r->info, err);
    if (st != DS2_OK) {
        free(r);
        return st;
    }
    snprintf(r->path, sizeof r->path, "%s", path);
    r->target_rate = target_rate;
    r->block = malloc((size_t)BLOCK_FRAMES * (size_t)r->info.channels * sizeof(float));
    if (!r->block) {
        ds2_audio_reader_close(r);
        return ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "%s: cannot allocate read buffers", path);
    }
    if (r->info.samplerate != target_rate) {
        double ratio = (double)target_rate / (double)r->info.samplerate;
        int code = 0;
        if (!src_is_valid_ratio(ratio))
            st = ds2_fail(err, DS2_ERR_INVALID_ARGUMENT,
                          "resample: ratio %d -> %d Hz is beyond libsamplerate's range",
                          r->info.samplerate, target_rate);
        else if (!(r->src = src_new(SRC_SINC_BEST_QUALITY, 1, &code)))
            st = ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "resample %d -> %d Hz: libsamplerate: %s",
                          r->info.samplerate, target_rate, src_strerror(code));
        if (st != DS2_OK) {
            ds2_audio_reader_close(r);
            return st;
        }
    }
    *out = r;
    return DS2_OK;
}

size_t ds2_audio_reader_expected(const ds2_audio_reader *r)
{
    return (size_t)ceil((double)r->info.frames * r->target_rate / r->info.samplerate);
}

/* Next block of file frames, averaged over the channels (as deepspeech.pytorch's load_audio,
 * sound.mean(axis=0)). A header may promise more frames than a damaged file holds: libsndfile
 * then ends early and what was read is kept. Sets file_done at the end. */
static ds2_status refill(ds2_audio_reader *r, ds2_err *err)
{
    size_t total = (size_t)r->info.frames, ch = (size_t)r->info.channels;
    size_t want = total - r->frames_read < BLOCK_FRAMES ? total - r->frames_read : BLOCK_FRAMES;
    sf_count_t got = want ? sf_readf_float(r->f, r->block, (sf_count_t)want) : 0;
    r->mono_pos = 0;
    r->mono_len = got > 0 ? (size_t)got : 0;
    for (size_t i = 0; i < r->mono_len; i++) {
        const float *frame = r->block + i * ch;
        double sum = 0.0;
        for (size_t c = 0; c < ch; c++)
            sum += frame[c];
        r->mono[i] = (float)(sum / (double)ch);
    }
    r->frames_read += r->mono_len;
    if (got <= 0 || r->frames_read == total) {
        r->file_done = 1;
        if (sf_error(r->f) != SF_ERR_NO_ERROR)
            return ds2_fail(err, DS2_ERR_IO, "%s: read failed after %zu frames: %s", r->path,
                            r->frames_read, sf_strerror(r->f));
        if (r->frames_read == 0)
            return ds2_fail(err, DS2_ERR_AUDIO_FORMAT, "%s: no audio frames could be read",
                            r->path);
    }
    return DS2_OK;
}

ds2_status ds2_audio_reader_read(ds2_audio_reader *r, float *dst, size_t n, size_t *got,
                                 ds2_err *err)
{
    size_t done = 0;
    ds2_status st = DS2_OK;
    while (done < n && st == DS2_OK) {
        if (r->mono_pos == r->mono_len && !r->file_done) {
            st = refill(r, err);
            continue;
        }
        size_t avail = r->mono_len - r->mono_pos;
        if (!r->src) { /* same rate: the mono frames are the samples */
            if (avail == 0)
                break; /* the end */
            size_t take = n - done < avail ? n - done : avail;
            memcpy(dst + done, r->mono + r->mono_pos, take * sizeof *dst);
            r->mono_pos += take;
            done += take;
            continue;
        }
        if (r->src_done)
            break;
        /* Streaming through one converter gives exactly src_simple's output on the whole
         * signal (checked for ratios up and down and pieces of 1..100000 frames). */
        SRC_DATA d = {
            .data_in = r->mono + r->mono_pos,
            .data_out = dst + done,
            .input_frames = (long)avail,
            .output_frames = (long)(n - done < (size_t)LONG_MAX / 2 ? n - done : LONG_MAX / 2),
            .end_of_input = r->file_done,
            .src_ratio = (double)r->target_rate / (double)r->info.samplerate,
        };
        int rc = src_process(r->src, &d);
        if (rc != 0)
            return ds2_fail(err, DS2_ERR_AUDIO_FORMAT, "resample %d -> %d Hz: libsamplerate: %s",
                            r->info.samplerate, r->target_rate, src_strerror(rc));
        if (!r->file_done && d.input_frames_used == 0 && d.output_frames_gen == 0)
            return ds2_fail(err, DS2_ERR_BACKEND, "resample %d -> %d Hz: libsamplerate stalled",
                            r->info.samplerate, r->target_rate);
        r->mono_pos += (size_t)d.input_frames_used;
        done += (size_t)d.output_frames_gen;
        if (r->file_done && d.output_frames_gen == 0 && r->mono_pos == r->mono_len)
            r->src_done = 1; /* flushed: the end */
    }
    if (st != DS2_OK)
        return st;
    r->samples_out += done;
    if (done < n && r->samples_out == 0)
        return ds2_fail(err, DS2_ERR_AUDIO_FORMAT,
                        "%s: %zu frames at %d Hz is too short to resample to %d Hz", r->path,
                        r->frames_read, r->info.samplerate, r->target_rate);
    *got = done;
    return DS2_OK;
}

void ds2_audio_reader_close(ds2_audio_reader *r)
{
    if (!r)
        return;
    if (r->src)
        src_delete(r->src);
    if (r->f)
        sf_close(r->f);
    if (r->fd >= 0)
        close(r->fd);
    free(r->block);
    free(r);
}

/* The whole file through the reader, into a buffer sized from the header's promise (and grown
 * past it only as samples actually arrive). */
static ds2_status load(const char *path, int target_rate, ds2_audio *audio, ds2_err *err)
{
    ds2_audio_reader *r = NULL;
    ds2_status st = ds2_audio_reader_open(path, target_rate, &r, err);
    if (st != DS2_OK)
        return st;
    size_t expected = ds2_audio_reader_expected(r) + 16, cap = 0, n = 0;
    float *buf = NULL;
    for (;;) {
        if (n == cap) {
            size_t grown = cap == 0 ? (expected < INITIAL_FRAMES ? expected : INITIAL_FRAMES)
                           : cap * 2 < expected ? cap * 2
                           : cap < expected     ? expected
                                                : cap * 2;
            float *p = realloc(buf, grown * sizeof *buf);
            if (!p) {
                st = ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "%s: cannot allocate %zu samples", path,
                              grown);
                break;
            }
            buf = p;
            cap = grown;
        }
        size_t got = 0;
        st = ds2_audio_reader_read(r, buf + n, cap - n, &got, err);
        if (st != DS2_OK)
            break;
        n += got;
        if (n < cap)
            break; /* a short read is the end */
    }
    ds2_audio_reader_close(r);
    if (st != DS2_OK) {
        free(buf);
        return st;
    }
    audio->samples = buf;
    audio->n_samples = n;
    audio->sample_rate = target_rate;
    return DS2_OK;
}

ds2_status ds2_audio_load(const char *path, int target_rate, ds2_audio *audio, char *error,
                          size_t error_size)
{
    ds2_err err = {{0}};
    ds2_status st;
    if (audio) {
        audio->samples = NULL;
        audio->n_samples = 0;
        audio->sample_rate = 0;
    }
    if (!path || !audio)
        st = ds2_fail(&err, DS2_ERR_INVALID_ARGUMENT, "ds2_audio_load: %s is NULL",
                      !path ? "path" : "audio");
    else if (target_rate < DS2_AUDIO_MIN_RATE || target_rate > DS2_AUDIO_MAX_RATE)
        st = ds2_fail(&err, DS2_ERR_INVALID_ARGUMENT,
                      "ds2_audio_load: target rate %d Hz outside [%d, %d]", target_rate,
                      DS2_AUDIO_MIN_RATE, DS2_AUDIO_MAX_RATE);
    else
        st = load(path, target_rate, audio, &err);
    if (error && error_size > 0)
        snprintf(error, error_size, "%s", err.msg);
    return st;
}

void ds2_audio_free(ds2_audio *audio)
{
    if (!audio)
        return;
    free(audio->samples);
    audio->samples = NULL;
    audio->n_samples = 0;
    audio->sample_rate = 0;
}
