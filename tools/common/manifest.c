/*
 * Evaluation-set manifests: deepspeech.pytorch's V3 JSON, its older CSV and a plain TSV.
 * Every error names the manifest and the line (CSV/TSV) or sample index (JSON) at fault.
 */
#include "json_min.h"
#include "manifest.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Bounds on what is read whole into memory: far above any real evaluation set (a million
 * 60-byte lines) or transcript, far below what would hurt a process. */
#define MANIFEST_MAX_BYTES ((size_t)64 << 20)
#define TRANSCRIPT_MAX_BYTES ((size_t)1 << 20)

typedef struct loader {
    const char *path; /* the manifest */
    char *dir;        /* its directory ("" for the current one) */
    ds2_manifest *out;
    int cap;
    char *error;
    size_t error_size;
} loader;

static ds2_status set_error(loader *ld, ds2_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static ds2_status set_error(loader *ld, ds2_status status, const char *fmt, ...)
{
    if (ld->error && ld->error_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ld->error, ld->error_size, fmt, ap);
        va_end(ap);
    }
    return status;
}

/* Opens a file to read without blocking on it: a FIFO named as a manifest, transcript or audio
 * file would hang a plain open() forever, so the open is O_NONBLOCK and fstat on the open
 * descriptor decides (no window between check and open). Returns the descriptor in blocking
 * mode, or -1 with why[] saying what is wrong ("No such file or directory", "a FIFO, not a
 * regular file"). */
static int open_regular(const char *path, struct stat *sb, char *why, size_t why_size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        snprintf(why, why_size, "%s", strerror(errno));
        return -1;
    }
    if (fstat(fd, sb) != 0) {
        snprintf(why, why_size, "%s", strerror(errno));
        close(fd);
        return -1;
    }
    if (!S_ISREG(sb->st_mode)) {
        mode_t m = sb->st_mode;
        snprintf(why, why_size, "%s, not a regular file",
                 S_ISDIR(m)    ? "a directory"
                 : S_ISFIFO(m) ? "a FIFO"
                 : S_ISSOCK(m) ? "a socket"
                 : S_ISCHR(m)  ? "a character device"
                 : S_ISBLK(m)  ? "a block device"
                               : "an unknown file type");
        close(fd);
        return -1;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
        snprintf(why, why_size, "fcntl: %s", strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* Reads a whole regular file of at most limit bytes into a NUL-terminated buffer. The size is
 * checked before anything is read, so a huge (or sparse) file costs no memory; a file that
 * grows past the limit while read is refused too. On failure returns NULL with why[] set and
 * *too_big telling a size refusal (a bad input) from an I/O one. */
static char *read_file(const char *path, size_t limit, size_t *len, int *too_big, char *why,
                       size_t why_size)
{
    *too_big = 0;
    struct stat sb;
    int fd = open_regular(path, &sb, why, why_size);
    if (fd < 0)
        return NULL;
    if ((uintmax_t)sb.st_size > limit) {
        *too_big = 1;
        snprintf(why, why_size, "%jd bytes, larger than the %zu-byte limit", (intmax_t)sb.st_size,
                 limit);
        close(fd);
        return NULL;
    }
    size_t cap = (size_t)sb.st_size + 2; /* +1 for the NUL, +1 to see growth past st_size */
    char *buf = malloc(cap);
    if (!buf) {
        snprintf(why, why_size, "out of memory for %zu bytes", cap);
        close(fd);
        return NULL;
    }
    size_t n = 0;
    for (;;) {
        if (n + 1 >= cap) {
            if (cap - 1 > limit) {
                *too_big = 1;
                snprintf(why, why_size, "larger than the %zu-byte limit", limit);
                break;
            }
            size_t grown = cap * 2 > limit + 2 ? limit + 2 : cap * 2;
            char *b = realloc(buf, grown);
            if (!b) {
                snprintf(why, why_size, "out of memory for %zu bytes", grown);
                break;
            }
            buf = b;
            cap = grown;
        }
        ssize_t got = read(fd, buf + n, cap - n - 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            snprintf(why, why_size, "%s", strerror(errno));
            break;
        }
        if (got == 0) {
            close(fd);
            buf[n] = '\0';
            *len = n;
            return buf;
        }
        n += (size_t)got;
    }
    free(buf);
    close(fd);
    return NULL;
}

static char *dup_range(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* dir + "/" + p, or p itself when it is absolute or dir is empty. */
static char *join_path(const char *dir, const char *p)
{
    if (p[0] == '/' || dir[0] == '\0')
        return dup_range(p, strlen(p));
    size_t a = strlen(dir), b = strlen(p);
    int slash = dir[a - 1] != '/';
    char *out = malloc(a + (size_t)slash + b + 1);
    if (!out)
        return NULL;
    memcpy(out, dir, a);
    if (slash)
        out[a] = '/';
    memcpy(out + a + slash, p, b + 1);
    return out;
}

static void strip_trailing_newlines(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
}

/* Checks the audio file exists and is a readable regular file. where: "line 3", "samples[2]" */
static ds2_status check_audio(loader *ld, const char *where, const char *audio)
{
    struct stat sb;
    char why[128];
    int fd = open_regular(audio, &sb, why, sizeof why);
    if (fd < 0)
        return set_error(ld, DS2_ERR_IO, "%s: %s: audio file '%s': %s", ld->path, where, audio,
                         why);
    close(fd);
    return DS2_OK;
}

static ds2_status read_transcript(loader *ld, const char *where, const char *txt, char **out)
{
    size_t len = 0;
    int too_big = 0;
    char why[128];
    char *text = read_file(txt, TRANSCRIPT_MAX_BYTES, &len, &too_big, why, sizeof why);
    if (!text)
        return set_error(ld, too_big ? DS2_ERR_INVALID_ARGUMENT : DS2_ERR_IO,
                         "%s: %s: transcript file '%s': %s", ld->path, where, txt, why);
    if (strlen(text) != len) {
        free(text);
        return set_error(ld, DS2_ERR_INVALID_ARGUMENT,
                         "%s: %s: transcript file '%s' contains a NUL byte", ld->path, where, txt);
    }
    strip_trailing_newlines(text);
    *out = text;
    return DS2_OK;
}

/* Takes ownership of audio and transcript (freed on failure). */
static ds2_status add_entry(loader *ld, const char *where, char *audio, char *transcript)
{
    if (!audio || !transcript) {
        free(audio);
        free(transcript);
        return set_error(ld, DS2_ERR_OUT_OF_MEMORY, "%s: %s: out of memory", ld->path, where);
    }
    ds2_status st = check_audio(ld, where, audio);
    if (st != DS2_OK) {
        free(audio);
        free(transcript);
        return st;
    }
    if (ld->out->count == ld->cap) {
        ds2_manifest_entry *e = NULL;
        int cap = 0;
        if (ld->cap <= INT_MAX / 2) {
            cap = ld->cap ? ld->cap * 2 : 16;
            e = realloc(ld->out->entries, (size_t)cap * sizeof *e);
        }
        if (!e) {
            free(audio);
            free(transcript);
            return set_error(ld, DS2_ERR_OUT_OF_MEMORY, "%s: %s: out of memory for %d entries",
                             ld->path, where, ld->out->count + 1);
        }
        ld->out->entries = e;
        ld->cap = cap;
    }
    ld->out->entries[ld->out->count].audio_path = audio;
    ld->out->entries[ld->out->count].transcript = transcript;
    ld->out->count++;
    return DS2_OK;
}

/* ------------------------------------------------------------------ JSON */

static int is_directory(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* root_path is taken relative to the manifest's directory. deepspeech.pytorch itself joins it
 * to the current directory, so manifests written that way (e.g. "data/eval/heldout" next to
 * data/eval/heldout/manifest.json) are accepted when only that reading names a directory. */
static char *resolve_root(const char *dir, const char *root_path)
{
    char *root = join_path(dir, root_path);
    if (root && root_path[0] != '/' && !is_directory(root) && is_directory(root_path)) {
        free(root);
        root = join_path("", root_path);
    }
    return root;
}

static ds2_status sample_path(loader *ld, const ds2_json_value *sample, const char *where,
                              const char *key, const char *root, char **out)
{
    const ds2_json_value *v = ds2_json_get(sample, key);
    if (!v)
        return set_error(ld, DS2_ERR_INVALID_ARGUMENT, "%s:%d: %s: missing \"%s\"", ld->path,
                         sample->line, where, key);
    if (v->type != DS2_JSON_STRING || v->string[0] == '\0')
        return set_error(ld, DS2_ERR_INVALID_ARGUMENT,
                         "%s:%d: %s: \"%s\" must be a non-empty string, not %s", ld->path, v->line,
                         where, key,
                         v->type == DS2_JSON_STRING ? "empty" : ds2_json_type_name(v->type));
    *out = join_path(root, v->string);
    if (!*out)
        return set_error(ld, DS2_ERR_OUT_OF_MEMORY, "%s: out of memory", ld->path);
    return DS2_OK;
}

static ds2_status load_json_samples(loader *ld, const ds2_json_value *root_obj)
{
    if (root_obj->type != DS2_JSON_OBJECT)
        return set_error(ld, DS2_ERR_INVALID_ARGUMENT,
                         "%s: top-level JSON value is %s, expected an object with \"samples\"",
                         ld->path, ds2_json_type_name(root_obj->type));
    const ds2_json_value *samples = ds2_json_get(root_obj, "samples");
    if (!samples)
        return set_error(ld, DS2_ERR_INVALID_ARGUMENT, "%s: missing \"samples\" array", ld->path);
    if (samples->type != DS2_JSON_ARRAY)
        return set_error(ld, DS2_ERR_INVALID_ARGUMENT, "%s:%d: \"samples\" is %s, not an array",
                         ld->path, samples->line, ds2_json_type_name(samples->type));
    const ds2_json_value *rp = ds2_json_get(root_obj, "root_path");
    char *root = NULL;
    if (!rp)
        root = join_path("", ld->dir);
    else if (rp->type != DS2_JSON_STRING)
        return set_error(ld, DS2_ERR_INVALID_ARGUMENT, "%s:%d: \"root_path\" is %s, not a string",
                         ld->path, rp->line, ds2_json_type_name(rp->type));
    else
        root = resolve_root(ld->dir, rp->string);
    if (!root)
        return set_error(ld, DS2_ERR_OUT_OF_MEMORY, "%s: out of memory", ld->path);

    ds2_status st = DS2_OK;
    for (size_t i = 0; i < samples->count && st == DS2_OK; i++) {
        const ds2_json_value *s = &samples->items[i];
        char where[48];
        snprintf(where, sizeof where, "samples[%zu]", i);
        if (s->type != DS2_JSON_OBJECT) {
            st = set_error(ld, DS2_ERR_INVALID_ARGUMENT, "%s:%d: %s is %s, not an object", ld->path,
                           s->line, where, ds2_json_type_name(s->type));
            break;
        }
        char *wav = NULL, *txt = NULL, *transcript = NULL;
        st = sample_path(ld, s, where, "wav_path", root, &wav);
        if (st == DS2_OK)
            st = sample_path(ld, s, where, "transcript_path", root, &txt);
        if (st == DS2_OK)
            st = read_transcript(ld, where, txt, &transcript);
        free(txt);
        if (st == DS2_OK)
            st = add_entry(ld, where, wav, transcript);
        else
            free(wav);
    }
    free(root);
    return st;
}

static ds2_status load_json(loader *ld, const char *text, size_t len)
{
    char msg[256];
    ds2_json_value *root = ds2_json_parse(text, len, msg, sizeof msg);
    if (!root)
        return set_error(ld, DS2_ERR_INVALID_ARGUMENT, "%s: JSON syntax error at %s", ld->path,
                         msg);
    ds2_status st = load_json_samples(ld, root);
    ds2_json_free(root);
    return st;
}

/* ------------------------------------------------------------------ CSV / TSV */

typedef enum line_format { FORMAT_CSV, FORMAT_TSV } line_format;

static int is_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return 0;
    return 1;
}

static ds2_status parse_line(loader *ld, line_format fmt, const char *line, size_t n, int lineno)
{
    char where[32];
    snprintf(where, sizeof where, "line %d", lineno);
    if (fmt == FORMAT_TSV) {
        const char *tab = memchr(line, '\t', n);
        if (!tab)
            return set_error(ld, DS2_ERR_INVALID_ARGUMENT,
                             "%s:%d: expected 'audio_path<TAB>transcript' (no tab found)", ld->path,
                             lineno);
        if (tab == line)
            return set_error(ld, DS2_ERR_INVALID_ARGUMENT, "%s:%d: empty audio path", ld->path,
                             lineno);
        char *rel = dup_range(line, (size_t)(tab - line));
        char *audio = rel ? join_path(ld->dir, rel) : NULL;
        free(rel);
        char *transcript = dup_range(tab + 1, n - (size_t)(tab + 1 - line));
        return add_entry(ld, where, audio, transcript);
    }
    size_t commas = 0;
    const char *comma = NULL;
    for (size_t i = 0; i < n; i++)
        if (line[i] == ',') {
            commas++;
            if (!comma)
                comma = line + i;
        }
    if (commas != 1)
        return set_error(ld, DS2_ERR_INVALID_ARGUMENT,
                         "%s:%d: expected 2 comma-separated columns (wav_path,txt_path), found %zu",
                         ld->path, lineno, commas + 1);
    size_t a = (size_t)(comma - line), b = n - a - 1;
    if (a == 0 || b == 0)
        return set_error(ld, DS2_ERR_INVALID_ARGUMENT, "%s:%d: empty %s path", ld->path, lineno,
                         a == 0 ? "wav" : "transcript");
    char *wav_rel = dup_range(line, a), *txt_rel = dup_range(comma + 1, b);
    char *audio = wav_rel ? join_path(ld->dir, wav_rel) : NULL;
    char *txt = txt_rel ? join_path(ld->dir, txt_rel) : NULL;
    free(wav_rel);
    free(txt_rel);
    if (!audio || !txt) {
        free(audio);
        free(txt);
        return set_error(ld, DS2_ERR_OUT_OF_MEMORY, "%s:%d: out of memory", ld->path, lineno);
    }
    char *transcript = NULL;
    ds2_status st = read_transcript(ld, where, txt, &transcript);
    free(txt);
    if (st != DS2_OK) {
        free(audio);
        return st;
    }
    return add_entry(ld, where, audio, transcript);
}

static ds2_status load_lines(loader *ld, const char *text, size_t len)
{
    int have_format = 0;
    line_format fmt = FORMAT_CSV;
    int lineno = 0;
    size_t pos = 0;
    while (pos < len) {
        const char *line = text + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - line) : len - pos;
        pos += n + (nl ? 1 : 0);
        if (lineno == INT_MAX)
            return set_error(ld, DS2_ERR_INVALID_ARGUMENT, "%s: too many lines", ld->path);
        lineno++;
        if (n > 0 && line[n - 1] == '\r')
            n--;
        if (is_blank(line, n))
            continue;
        if (memchr(line, '\0', n))
            return set_error(ld, DS2_ERR_INVALID_ARGUMENT, "%s:%d: NUL byte in line", ld->path,
                             lineno);
        if (!have_format) {
            /* The first non-blank line decides: a tab means TSV, else a comma means CSV. */
            if (memchr(line, '\t', n))
                fmt = FORMAT_TSV;
            else if (memchr(line, ',', n))
                fmt = FORMAT_CSV;
            else
                return set_error(ld, DS2_ERR_INVALID_ARGUMENT,
                                 "%s:%d: unrecognized manifest format (expected a JSON object, "
                                 "'wav_path,txt_path' CSV or 'audio_path<TAB>transcript' TSV)",
                                 ld->path, lineno);
            have_format = 1;
        }
        ds2_status st = parse_line(ld, fmt, line, n, lineno);
        if (st != DS2_OK)
            return st;
    }
    return DS2_OK;
}

/* ------------------------------------------------------------------ entry points */

void ds2_manifest_free(ds2_manifest *manifest)
{
    if (!manifest)
        return;
    for (int i = 0; i < manifest->count; i++) {
        free(manifest->entries[i].audio_path);
        free(manifest->entries[i].transcript);
    }
    free(manifest->entries);
    manifest->entries = NULL;
    manifest->count = 0;
}

ds2_status ds2_manifest_load(const char *path, ds2_manifest *manifest, char *error,
                             size_t error_size)
{
    loader ld = {path, NULL, manifest, 0, error, error_size};
    if (error && error_size)
        error[0] = '\0';
    if (!manifest)
        return set_error(&ld, DS2_ERR_INVALID_ARGUMENT, "ds2_manifest_load: manifest is NULL");
    manifest->entries = NULL;
    manifest->count = 0;
    if (!path || !path[0])
        return set_error(&ld, DS2_ERR_INVALID_ARGUMENT, "ds2_manifest_load: no manifest path");

    size_t len = 0;
    int too_big = 0;
    char why[128];
    char *text = read_file(path, MANIFEST_MAX_BYTES, &len, &too_big, why, sizeof why);
    if (!text)
        return set_error(&ld, too_big ? DS2_ERR_INVALID_ARGUMENT : DS2_ERR_IO, "%s: %s", path, why);
    const char *slash = strrchr(path, '/');
    ld.dir = slash ? dup_range(path, slash == path ? 1 : (size_t)(slash - path)) : dup_range("", 0);
    if (!ld.dir) {
        free(text);
        return set_error(&ld, DS2_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    }

    size_t start = (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) ? 3 : 0;
    while (start < len && strchr(" \t\r\n", text[start]) && text[start] != '\0')
        start++;
    ds2_status st;
    if (start == len)
        st = DS2_OK; /* reported as empty below */
    else if (text[start] == '{' || text[start] == '[')
        st = load_json(&ld, text, len);
    else
        st = load_lines(&ld, text, len);
    if (st == DS2_OK && manifest->count == 0)
        st = set_error(&ld, DS2_ERR_INVALID_ARGUMENT, "%s: manifest lists no samples", path);
    if (st != DS2_OK)
        ds2_manifest_free(manifest);
    free(ld.dir);
    free(text);
    return st;
}
