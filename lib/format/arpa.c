/* ARPA text: a header section of declared counts, then one section of entries per order.
 * Everything a hostile file could use to make us misbehave is checked before use: counts are
 * bounded by what the file's bytes could hold, lines by their field count, numbers by full
 * parsing and finiteness. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/file.h"
#include "format/arpa.h"

#define MAX_FILE_BYTES ((size_t)1 << 34) /* 16 GiB: larger is not an LM we mean to hold */

typedef struct cursor {
    const char *p, *end, *name;
    size_t line_no;
    const char *line; /* current line, not NUL-terminated */
    size_t len;
} cursor;

/* Next line without its newline (and '\r'); 0 at the end of the text. */
static int next_line(cursor *c)
{
    if (c->p >= c->end)
        return 0;
    const char *nl = memchr(c->p, '\n', (size_t)(c->end - c->p));
    const char *stop = nl ? nl : c->end;
    c->line = c->p;
    c->len = (size_t)(stop - c->p);
    while (c->len && (c->line[c->len - 1] == '\r' || c->line[c->len - 1] == ' ' ||
                      c->line[c->len - 1] == '\t'))
        c->len--;
    c->p = nl ? nl + 1 : c->end;
    c->line_no++;
    return 1;
}

static int line_is(const cursor *c, const char *s)
{
    return c->len == strlen(s) && memcmp(c->line, s, c->len) == 0;
}

static ds2_status bad(const cursor *c, ds2_err *err, const char *what)
{
    return ds2_fail(err, DS2_ERR_MODEL_FORMAT, "%s: line %zu: %s", c->name, c->line_no, what);
}

typedef struct field {
    const char *s;
    size_t len;
} field;

/* Splits the line on spaces and tabs; returns the field count (at most max + 1 are stored). */
static int split(const cursor *c, field *f, int max)
{
    int n = 0;
    size_t i = 0;
    while (i < c->len) {
        while (i < c->len && (c->line[i] == ' ' || c->line[i] == '\t'))
            i++;
        if (i >= c->len)
            break;
        size_t j = i;
        while (j < c->len && c->line[j] != ' ' && c->line[j] != '\t')
            j++;
        if (n <= max)
            f[n] = (field){c->line + i, j - i};
        n++;
        i = j;
    }
    return n;
}

/* A finite float spelled by the whole field. */
static int parse_float(field f, float *out)
{
    char buf[64];
    if (f.len == 0 || f.len >= sizeof buf)
        return -1;
    memcpy(buf, f.s, f.len);
    buf[f.len] = '\0';
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if (*end || !isfinite(v) || fabs(v) > 1e30)
        return -1;
    *out = (float)v;
    return 0;
}

/* "ngram K=N" with K the next order and N decimal digits only. */
static int parse_count(const cursor *c, int *k, uint64_t *n)
{
    if (c->len < 8 || memcmp(c->line, "ngram ", 6) != 0)
        return -1;
    size_t i = 6;
    int kk = 0;
    while (i < c->len && c->line[i] >= '0' && c->line[i] <= '9' && kk < 1000)
        kk = kk * 10 + (c->line[i++] - '0');
    if (i >= c->len || c->line[i] != '=' || i == 6)
        return -1;
    i++;
    uint64_t v = 0;
    size_t digits = 0;
    for (; i < c->len && c->line[i] >= '0' && c->line[i] <= '9'; i++, digits++) {
        if (v > UINT64_MAX / 10 - 10)
            return -1;
        v = v * 10 + (uint64_t)(c->line[i] - '0');
    }
    if (i != c->len || digits == 0)
        return -1;
    *k = kk;
    *n = v;
    return 0;
}

/* Skips blank lines; 0 at the end of the text. */
static int next_nonblank(cursor *c)
{
    while (next_line(c))
        if (c->len)
            return 1;
    return 0;
}

static ds2_status read_section(cursor *c, struct ds2_lm *lm, int k, ds2_err *err)
{
    field f[DS2_LM_MAX_ORDER + 3];
    int32_t ids[DS2_LM_MAX_ORDER];
    char msg[160];
    for (uint64_t i = 0; i < lm->counts[k]; i++) {
        if (!next_line(c) || c->len == 0 || c->line[0] == '\\') {
            snprintf(msg, sizeof msg, "the %d-gram section ends after %llu of %llu entries", k,
                     (unsigned long long)i, (unsigned long long)lm->counts[k]);
            return bad(c, err, msg);
        }
        int n = split(c, f, k + 2);
        if (n != k + 1 && n != k + 2) {
            snprintf(msg, sizeof msg, "a %d-gram line needs %d or %d fields, not %d", k, k + 1,
                     k + 2, n);
            return bad(c, err, msg);
        }
        float logp, backoff = 0;
        if (parse_float(f[0], &logp) || logp > 0)
            return bad(c, err, "the log10 probability is not a finite number <= 0");
        if (n == k + 2 && parse_float(f[k + 1], &backoff))
            return bad(c, err, "the backoff weight is not a finite number");
        ds2_status st;
        if (k == 1) {
            int id;
            /* a word is kept as a C string: an embedded NUL would cut it short (fuzz finding) */
            if (memchr(f[1].s, '\0', f[1].len))
                return bad(c, err, "a word with a NUL byte (not a text file?)");
            st = ds2_lm_add_word(lm, f[1].s, f[1].len, logp, backoff, &id, err);
        } else {
            for (int j = 0; j < k; j++) {
                int found = ds2_lm_word_id(lm, f[1 + j].s, f[1 + j].len);
                /* unk_id is -1 until finish, and a listed <unk> is itself a known word */
                if (found < 0 || (found == lm->unk_id &&
                                  !(f[1 + j].len == 5 && !memcmp(f[1 + j].s, "<unk>", 5)))) {
                    snprintf(msg, sizeof msg, "word '%.*s' is not among the unigrams",
                             (int)(f[1 + j].len > 64 ? 64 : f[1 + j].len), f[1 + j].s);
                    return bad(c, err, msg);
                }
                ids[j] = found;
            }
            st = ds2_lm_add_ngram(lm, k, ids, logp, backoff, err);
        }
        if (st != DS2_OK) {
            ds2_err inner = *err;
            return bad(c, err, inner.msg);
        }
    }
    return DS2_OK;
}

ds2_status ds2_arpa_parse(const char *text, size_t len, const char *name, struct ds2_lm **out,
                          ds2_err *err)
{
    *out = NULL;
    cursor c = {text, text + len, name, 0, NULL, 0};
    /* anything before \data\ is a comment (tools write their own headers there) */
    int found = 0;
    while (!found && next_line(&c))
        found = line_is(&c, "\\data\\");
    if (!found)
        return ds2_fail(err, DS2_ERR_MODEL_FORMAT, "%s: not an ARPA file (no \\data\\ line)", name);
    uint64_t counts[DS2_LM_MAX_ORDER + 1] = {0};
    int order = 0, more;
    while ((more = next_nonblank(&c)) && c.line[0] != '\\') {
        int k;
        uint64_t n;
        if (parse_count(&c, &k, &n))
            return bad(&c, err, "expected 'ngram K=COUNT'");
        if (k != order + 1)
            return bad(&c, err, "ngram orders must be listed as 1, 2, 3, ... in turn");
        if (k > DS2_LM_MAX_ORDER)
            return bad(&c, err, "order above the largest supported (6)");
        counts[k] = n;
        order = k;
    }
    if (!more)
        return ds2_fail(err, DS2_ERR_MODEL_FORMAT, "%s: the file ends in the \\data\\ section",
                        name);
    if (order < 2)
        return ds2_fail(err, DS2_ERR_MODEL_FORMAT,
                        "%s: the \\data\\ section declares order %d; an LM needs 2 or more", name,
                        order);
    /* The shortest k-gram line is "0 a ... a\n": 2 + 2k bytes. Counts a file cannot hold are
     * lies; checking them bounds every allocation by the file's size. */
    double need = 0;
    for (int k = 1; k <= order; k++) {
        if (k == 1 && counts[1] == 0)
            return ds2_fail(err, DS2_ERR_MODEL_FORMAT, "%s: no unigrams declared", name);
        need += (double)counts[k] * (2.0 + 2.0 * k);
    }
    if (need > (double)len)
        return ds2_fail(err, DS2_ERR_MODEL_FORMAT,
                        "%s: declared counts need at least %.0f bytes, the file has %zu", name,
                        need, len);
    struct ds2_lm *lm;
    ds2_status st = ds2_lm_create(order, counts, &lm, err);
    if (st != DS2_OK)
        return st;
    for (int k = 1; k <= order && st == DS2_OK; k++) {
        char head[32];
        snprintf(head, sizeof head, "\\%d-grams:", k);
        if (!line_is(&c, head)) {
            char msg[64];
            snprintf(msg, sizeof msg, "expected the %s section", head);
            st = bad(&c, err, msg);
            break;
        }
        st = read_section(&c, lm, k, err);
        if (st == DS2_OK && !next_nonblank(&c))
            st = bad(&c, err, "the file ends before \\end\\ (truncated?)");
    }
    if (st == DS2_OK && !line_is(&c, "\\end\\"))
        st = bad(&c, err, "expected \\end\\ after the last section");
    if (st == DS2_OK && ds2_lm_finish(lm, err) != DS2_OK) {
        ds2_err inner = *err;
        st = ds2_fail(err, DS2_ERR_MODEL_FORMAT, "%s: %s", name, inner.msg);
    }
    if (st != DS2_OK) {
        ds2_lm_destroy(lm);
        return st;
    }
    *out = lm;
    return DS2_OK;
}

ds2_status ds2_arpa_read(const char *path, struct ds2_lm **out, ds2_err *err)
{
    *out = NULL;
    /* never a blocking open: a FIFO (or device) named as the LM is refused, not waited on */
    struct stat sb;
    int fd = ds2_open_regular(path, "LM", &sb, err);
    if (fd < 0)
        return DS2_ERR_IO;
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        int e = errno;
        close(fd);
        return ds2_fail(err, DS2_ERR_IO, "cannot read LM %s: %s", path, strerror(e));
    }
    char *buf = NULL;
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        size = ftell(f);
    ds2_status st = DS2_OK;
    if (size < 0 || fseek(f, 0, SEEK_SET) != 0)
        st = ds2_fail(err, DS2_ERR_IO, "cannot read LM %s: %s", path, strerror(errno));
    else if ((unsigned long)size > MAX_FILE_BYTES)
        st = ds2_fail(err, DS2_ERR_MODEL_FORMAT, "LM %s: %ld bytes is beyond 16 GiB", path, size);
    else if (!(buf = malloc((size_t)size + 1)))
        st = ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "out of memory reading LM %s", path);
    else if (fread(buf, 1, (size_t)size, f) != (size_t)size)
        st = ds2_fail(err, DS2_ERR_IO, "cannot read LM %s: %s", path, strerror(errno));
    fclose(f);
    if (st == DS2_OK)
        st = ds2_arpa_parse(buf, (size_t)size, path, out, err);
    free(buf);
    return st;
}
