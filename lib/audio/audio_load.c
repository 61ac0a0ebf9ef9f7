/* ds2_audio_load: any libsndfile format -> mono float at the model's rate.
 *
 * Samples come out of libsndfile normalised to [-1, 1) (integer PCM divided by 2^(bits-1)),
 * the same scale torchaudio's sox backend gives deepspeech.pytorch. Channels are averaged as
 * its load_audio does (sound.mean(axis=0)); the file is read in blocks so only the mono
 * signal is ever held whole. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sndfile.h>

#include "audio/audio.h"
#include "base/file.h"

#define MAX_CHANNELS 64
#define MAX_SECONDS (4 * 3600)
#define BLOCK_FRAMES 4096
#define INITIAL_FRAMES ((size_t)1 << 20)

/* Reads up to info->frames frames into a growing mono buffer: a header may promise more
 * frames than a damaged file holds, so memory follows what is actually read. */
static ds2_status read_mono(SNDFILE *f, const SF_INFO *info, const char *path, float **out,
                            size_t *n_read, ds2_err *err)
{
    int ch = info->channels;
    size_t total = (size_t)info->frames;
    size_t cap = total < INITIAL_FRAMES ? total : INITIAL_FRAMES;
    float *mono = malloc(cap * sizeof(float));
    float *block = malloc((size_t)BLOCK_FRAMES * (size_t)ch * sizeof(float));
    if (!mono || !block) {
        free(mono);
        free(block);
        return ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "%s: cannot allocate read buffers", path);
    }
    size_t done = 0;
    while (done < total) {
        size_t want = total - done < BLOCK_FRAMES ? total - done : BLOCK_FRAMES;
        if (done + want > cap) {
            size_t grown = cap * 2 < total ? cap * 2 : total;
            float *p = realloc(mono, grown * sizeof(float));
            if (!p) {
                free(mono);
                free(block);
                return ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "%s: cannot allocate %zu samples", path,
                                grown);
            }
            mono = p;
            cap = grown;
        }
        sf_count_t got = sf_readf_float(f, block, (sf_count_t)want);
        if (got <= 0)
            break; /* libsndfile ends early on a truncated data chunk; keep what was read */
        for (sf_count_t i = 0; i < got; i++) {
            const float *frame = block + (size_t)i * (size_t)ch;
            double sum = 0.0;
            for (int c = 0; c < ch; c++)
                sum += frame[c];
            mono[done + (size_t)i] = (float)(sum / ch);
        }
        done += (size_t)got;
    }
    free(block);
    if (sf_error(f) != SF_ERR_NO_ERROR) {
        free(mono);
        return ds2_fail(err, DS2_ERR_IO, "%s: read failed after %zu frames: %s", path, done,
                        sf_strerror(f));
    }
    if (done == 0) {
        free(mono);
        return ds2_fail(err, DS2_ERR_AUDIO_FORMAT, "%s: no audio frames could be read", path);
    }
    *out = mono;
    *n_read = done;
    return DS2_OK;
}

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

static ds2_status load(const char *path, int target_rate, ds2_audio *audio, ds2_err *err)
{
    SNDFILE *f = NULL;
    SF_INFO info;
    int fd = -1;
    ds2_status st = open_checked(path, &f, &fd, &info, err);
    if (st != DS2_OK)
        return st;

    float *mono = NULL;
    size_t n = 0;
    st = read_mono(f, &info, path, &mono, &n, err);
    sf_close(f);
    close(fd);
    if (st != DS2_OK)
        return st;

    if (info.samplerate == target_rate) {
        audio->samples = mono;
        audio->n_samples = n;
    } else {
        st = ds2_resample(mono, n, info.samplerate, target_rate, &audio->samples, &audio->n_samples,
                          err);
        free(mono);
        if (st != DS2_OK)
            return st;
        if (audio->n_samples == 0) {
            free(audio->samples);
            audio->samples = NULL;
            return ds2_fail(err, DS2_ERR_AUDIO_FORMAT,
                            "%s: %zu frames at %d Hz is too short to resample to %d Hz", path, n,
                            info.samplerate, target_rate);
        }
    }
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
