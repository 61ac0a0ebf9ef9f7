/* Writes the fuzz targets' seed corpora into test/fuzz/corpus/ (`make fuzz-seeds`; the output
 * is committed): tiny models of each RNN type from test/common's builder plus the smallest
 * golden model, the first 400 samples of test/golden/speech.wav in each container and codec
 * libsndfile writes, and small manifests of each format. Run from the repository root. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sndfile.h>

#include "gguf_builder.h"

#define DIR "test/fuzz/corpus/"

static void put(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "make_seeds: cannot write %s\n", path);
        exit(1);
    }
}

static void model_seeds(void)
{
    const tiny_model_spec specs[] = {
        {"lstm", 4, 1, 1, 0, 1, 0, 1, NULL, NULL},
        {"gru", 4, 1, 0, 2, 1, 0, 2, NULL, NULL},
        {"rnn", 4, 2, 0, 2, 1, 1, 3, NULL, NULL},
    };
    for (int i = 0; i < 3; i++) {
        size_t size;
        unsigned char *b = tiny_model_build(&specs[i], &size);
        char path[128];
        snprintf(path, sizeof path, DIR "model_load/tiny-%s%s.gguf", specs[i].rnn_type,
                 specs[i].int8 ? "-int8" : "");
        put(path, b, size);
        free(b);
    }
}

static void audio_seeds(void)
{
    SF_INFO in_info = {0};
    SNDFILE *in = sf_open("test/golden/speech.wav", SFM_READ, &in_info);
    if (!in) {
        fprintf(stderr, "make_seeds: test/golden/speech.wav: %s\n", sf_strerror(NULL));
        exit(1);
    }
    enum { N = 400 };
    float x[N], stereo[2 * N];
    sf_count_t got = sf_readf_float(in, x, N);
    sf_close(in);
    for (int i = 0; i < N; i++)
        stereo[2 * i] = stereo[2 * i + 1] = x[i];
    const struct {
        const char *name;
        int format, rate, channels;
    } out[] = {
        {"pcm16.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1},
        {"float.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 16000, 1},
        {"stereo-8k.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 2},
        {"ulaw.wav", SF_FORMAT_WAV | SF_FORMAT_ULAW, 16000, 1},
        {"adpcm.wav", SF_FORMAT_WAV | SF_FORMAT_IMA_ADPCM, 16000, 1},
        {"pcm24.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_24, 48000, 1},
        {"vorbis.ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, 16000, 1},
        {"pcm16.aiff", SF_FORMAT_AIFF | SF_FORMAT_PCM_16, 22050, 1},
        {"pcm8.au", SF_FORMAT_AU | SF_FORMAT_PCM_S8, 16000, 1},
        {"double.caf", SF_FORMAT_CAF | SF_FORMAT_DOUBLE, 16000, 1},
        {"pcm16.w64", SF_FORMAT_W64 | SF_FORMAT_PCM_16, 16000, 2},
    };
    for (size_t i = 0; i < sizeof out / sizeof out[0]; i++) {
        char path[128];
        snprintf(path, sizeof path, DIR "audio_load/%s", out[i].name);
        SF_INFO info = {
            .samplerate = out[i].rate, .channels = out[i].channels, .format = out[i].format};
        SNDFILE *f = sf_open(path, SFM_WRITE, &info);
        if (!f) {
            fprintf(stderr, "make_seeds: %s: %s\n", path, sf_strerror(NULL));
            exit(1);
        }
        sf_writef_float(f, out[i].channels == 2 ? stereo : x, got);
        sf_close(f);
    }
}

static void manifest_seeds(void)
{
    const char *json = "{\"root_path\": \".\", \"samples\": [\n"
                       " {\"wav_path\": \"wav/a.wav\", \"transcript_path\": \"txt/a.txt\"},\n"
                       " {\"wav_path\": \"wav/b.wav\", \"transcript_path\": \"txt/b.txt\","
                       " \"duration\": 1.5e0, \"x\": [null, true, false, {}, \"\\u00e9\\n\"]}]}\n";
    const char *csv = "wav/a.wav,txt/a.txt\r\nwav/b.wav,txt/b.txt\n";
    const char *tsv = "\xEF\xBB\xBFwav/a.wav\tHELLO WORLD\n\nwav/b.wav\tSECOND ONE\n";
    put(DIR "manifest/v3.json", json, strlen(json));
    put(DIR "manifest/old.csv", csv, strlen(csv));
    put(DIR "manifest/inline.tsv", tsv, strlen(tsv));
}

int main(void)
{
    model_seeds();
    audio_seeds();
    manifest_seeds();
    return 0;
}
