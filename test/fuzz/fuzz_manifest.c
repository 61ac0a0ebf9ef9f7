/* libFuzzer target: the manifest reader (format detection, JSON V3, CSV, TSV, path joining,
 * transcript files). The input is the manifest, in a scratch directory that holds a few audio
 * and transcript files for it to name (wav/a.wav, wav/b.wav, txt/a.txt, txt/b.txt). */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "manifest.h"

static char dir[64], manifest[96];

static void put(const char *name, const char *text)
{
    char p[160];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0)
        abort();
}

static const char *const files[] = {"m",         "wav/a.wav", "wav/b.wav", "txt/a.txt",
                                    "txt/b.txt", "wav",       "txt",       NULL};

static void cleanup(void)
{
    char p[160];
    for (int i = 0; files[i]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        remove(p);
    }
    rmdir(dir);
}

static void setup(void)
{
    snprintf(dir, sizeof dir, "%s/ds2-fuzz-manifest-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir))
        abort();
    char p[160];
    snprintf(p, sizeof p, "%s/wav", dir);
    mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/txt", dir);
    mkdir(p, 0700);
    put("wav/a.wav", "RIFF");
    put("wav/b.wav", "RIFF");
    put("txt/a.txt", "HELLO WORLD\n");
    put("txt/b.txt", "SECOND\r\n");
    snprintf(manifest, sizeof manifest, "%s/m", dir);
    atexit(cleanup);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0])
        setup();
    int fd = open(manifest, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size) || close(fd) != 0)
        abort();
    ds2_manifest m;
    char err[512];
    ds2_status st = ds2_manifest_load(manifest, &m, err, sizeof err);
    if (st != DS2_OK) {
        if (m.entries || m.count || !err[0])
            abort();
        return 0;
    }
    if (m.count < 1)
        abort();
    for (int i = 0; i < m.count; i++)
        if (!m.entries[i].audio_path || !m.entries[i].transcript)
            abort();
    ds2_manifest_free(&m);
    return 0;
}
