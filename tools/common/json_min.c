/*
 * Recursive-descent JSON parser. Every read goes through peek()/next(), which check the
 * position against the end, so truncated or hostile input cannot read out of bounds;
 * recursion is bounded by DS2_JSON_MAX_DEPTH.
 */
#include "json_min.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct parser {
    const char *text;
    size_t len;
    size_t pos;
    int line;
    size_t line_start;
    char *error;
    size_t error_size;
    int failed;
} parser;

static void fail(parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(parser *p, const char *fmt, ...)
{
    if (p->failed)
        return;
    p->failed = 1;
    if (!p->error || p->error_size == 0)
        return;
    int n = snprintf(p->error, p->error_size, "line %d, column %zu: ", p->line,
                     p->pos - p->line_start + 1);
    if (n < 0 || (size_t)n >= p->error_size)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->error + n, p->error_size - (size_t)n, fmt, ap);
    va_end(ap);
}

static int at_end(const parser *p)
{
    return p->pos >= p->len;
}

static int peek(const parser *p)
{
    return at_end(p) ? -1 : (unsigned char)p->text[p->pos];
}

static int next(parser *p)
{
    if (at_end(p))
        return -1;
    int c = (unsigned char)p->text[p->pos++];
    if (c == '\n') {
        p->line++;
        p->line_start = p->pos;
    }
    return c;
}

static void skip_space(parser *p)
{
    for (;;) {
        int c = peek(p);
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            return;
        next(p);
    }
}

static int expect_word(parser *p, const char *word)
{
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->text + p->pos, word, n) != 0) {
        fail(p, "invalid literal (expected '%s')", word);
        return 0;
    }
    p->pos += n;
    return 1;
}

/* Growable byte buffer for decoded strings. */
typedef struct sbuf {
    char *data;
    size_t len, cap;
} sbuf;

static int sbuf_put(sbuf *b, const char *bytes, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 32;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d)
            return 0;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, bytes, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 1;
}

static int hex4(parser *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int c = next(p);
        int d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else {
            fail(p, "bad \\u escape (expected 4 hex digits)");
            return 0;
        }
        v = v * 16 + (unsigned)d;
    }
    *out = v;
    return 1;
}

static int put_utf8(sbuf *b, unsigned cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return sbuf_put(b, u, n);
}

/* Decodes a \uXXXX escape (the "\u" already consumed), joining surrogate pairs. */
static int unicode_escape(parser *p, sbuf *b)
{
    unsigned cp;
    if (!hex4(p, &cp))
        return 0;
    if (cp >= 0xDC00 && cp <= 0xDFFF) {
        fail(p, "unpaired low surrogate \\u%04X", cp);
        return 0;
    }
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        unsigned lo;
        if (next(p) != '\\' || next(p) != 'u') {
            fail(p, "high surrogate \\u%04X not followed by a low surrogate", cp);
            return 0;
        }
        if (!hex4(p, &lo))
            return 0;
        if (lo < 0xDC00 || lo > 0xDFFF) {
            fail(p, "high surrogate \\u%04X followed by \\u%04X", cp, lo);
            return 0;
        }
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    }
    if (cp == 0) {
        fail(p, "\\u0000 is not allowed in strings");
        return 0;
    }
    if (!put_utf8(b, cp)) {
        fail(p, "out of memory");
        return 0;
    }
    return 1;
}

/* Parses a string (opening quote at pos) into a new NUL-terminated buffer. */
static char *parse_string(parser *p)
{
    sbuf b = {0};
    next(p); /* opening quote */
    if (!sbuf_put(&b, "", 0)) {
        fail(p, "out of memory");
        return NULL;
    }
    for (;;) {
        int c = next(p);
        if (c < 0) {
            fail(p, "unterminated string");
            break;
        }
        if (c == '"')
            return b.data;
        if (c < 0x20) {
            fail(p, "control character 0x%02X in string", c);
            break;
        }
        if (c != '\\') {
            char ch = (char)c;
            if (!sbuf_put(&b, &ch, 1)) {
                fail(p, "out of memory");
                break;
            }
            continue;
        }
        int e = next(p);
        const char *rep = NULL;
        switch (e) {
        case '"':
            rep = "\"";
            break;
        case '\\':
            rep = "\\";
            break;
        case '/':
            rep = "/";
            break;
        case 'b':
            rep = "\b";
            break;
        case 'f':
            rep = "\f";
            break;
        case 'n':
            rep = "\n";
            break;
        case 'r':
            rep = "\r";
            break;
        case 't':
            rep = "\t";
            break;
        case 'u':
            if (!unicode_escape(p, &b))
                goto error;
            continue;
        default:
            fail(p, "invalid escape in string");
            goto error;
        }
        if (!sbuf_put(&b, rep, 1)) {
            fail(p, "out of memory");
            break;
        }
    }
error:
    free(b.data);
    return NULL;
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

/* Validates the JSON number grammar, then converts a bounded copy with strtod. */
static int parse_number(parser *p, double *out)
{
    size_t start = p->pos;
    if (peek(p) == '-')
        next(p);
    if (peek(p) == '0') {
        next(p);
    } else if (is_digit(peek(p))) {
        while (is_digit(peek(p)))
            next(p);
    } else {
        fail(p, "invalid number");
        return 0;
    }
    if (peek(p) == '.') {
        next(p);
        if (!is_digit(peek(p))) {
            fail(p, "invalid number (digit expected after '.')");
            return 0;
        }
        while (is_digit(peek(p)))
            next(p);
    }
    if (peek(p) == 'e' || peek(p) == 'E') {
        next(p);
        if (peek(p) == '+' || peek(p) == '-')
            next(p);
        if (!is_digit(peek(p))) {
            fail(p, "invalid number (digit expected in exponent)");
            return 0;
        }
        while (is_digit(peek(p)))
            next(p);
    }
    char buf[128];
    size_t n = p->pos - start;
    if (n >= sizeof buf) {
        fail(p, "number too long");
        return 0;
    }
    memcpy(buf, p->text + start, n);
    buf[n] = '\0';
    *out = strtod(buf, NULL);
    return 1;
}

static int parse_value(parser *p, ds2_json_value *v, int depth);

static int grow(parser *p, ds2_json_value *v, size_t *cap, int with_keys)
{
    if (v->count < *cap)
        return 1;
    size_t ncap = *cap ? *cap * 2 : 8;
    if (ncap > SIZE_MAX / sizeof(ds2_json_value)) {
        fail(p, "too many elements");
        return 0;
    }
    ds2_json_value *items = realloc(v->items, ncap * sizeof *items);
    if (!items) {
        fail(p, "out of memory");
        return 0;
    }
    v->items = items;
    if (with_keys) {
        char **keys = realloc(v->keys, ncap * sizeof *keys);
        if (!keys) {
            fail(p, "out of memory");
            return 0;
        }
        v->keys = keys;
    }
    *cap = ncap;
    return 1;
}

static int parse_array(parser *p, ds2_json_value *v, int depth)
{
    size_t cap = 0;
    next(p); /* '[' */
    skip_space(p);
    if (peek(p) == ']') {
        next(p);
        return 1;
    }
    for (;;) {
        if (!grow(p, v, &cap, 0))
            return 0;
        ds2_json_value *item = &v->items[v->count];
        memset(item, 0, sizeof *item);
        v->count++;
        if (!parse_value(p, item, depth + 1))
            return 0;
        skip_space(p);
        int c = next(p);
        if (c == ']')
            return 1;
        if (c != ',') {
            fail(p, c < 0 ? "unterminated array" : "expected ',' or ']' in array");
            return 0;
        }
    }
}

static int parse_object(parser *p, ds2_json_value *v, int depth)
{
    size_t cap = 0;
    next(p); /* '{' */
    skip_space(p);
    if (peek(p) == '}') {
        next(p);
        return 1;
    }
    for (;;) {
        skip_space(p);
        if (peek(p) != '"') {
            fail(p, at_end(p) ? "unterminated object" : "expected a member name string");
            return 0;
        }
        if (!grow(p, v, &cap, 1))
            return 0;
        ds2_json_value *item = &v->items[v->count];
        memset(item, 0, sizeof *item);
        v->keys[v->count] = NULL;
        v->count++;
        v->keys[v->count - 1] = parse_string(p);
        if (!v->keys[v->count - 1])
            return 0;
        skip_space(p);
        if (next(p) != ':') {
            fail(p, "expected ':' after member name");
            return 0;
        }
        if (!parse_value(p, item, depth + 1))
            return 0;
        skip_space(p);
        int c = next(p);
        if (c == '}')
            return 1;
        if (c != ',') {
            fail(p, c < 0 ? "unterminated object" : "expected ',' or '}' in object");
            return 0;
        }
    }
}

static int parse_value(parser *p, ds2_json_value *v, int depth)
{
    if (depth > DS2_JSON_MAX_DEPTH) {
        fail(p, "nesting deeper than %d", DS2_JSON_MAX_DEPTH);
        return 0;
    }
    skip_space(p);
    v->line = p->line;
    int c = peek(p);
    switch (c) {
    case '{':
        v->type = DS2_JSON_OBJECT;
        return parse_object(p, v, depth);
    case '[':
        v->type = DS2_JSON_ARRAY;
        return parse_array(p, v, depth);
    case '"':
        v->type = DS2_JSON_STRING;
        v->string = parse_string(p);
        return v->string != NULL;
    case 't':
        v->type = DS2_JSON_BOOL;
        v->boolean = 1;
        return expect_word(p, "true");
    case 'f':
        v->type = DS2_JSON_BOOL;
        return expect_word(p, "false");
    case 'n':
        v->type = DS2_JSON_NULL;
        return expect_word(p, "null");
    case -1:
        fail(p, "unexpected end of input (value expected)");
        return 0;
    default:
        if (c == '-' || is_digit(c)) {
            v->type = DS2_JSON_NUMBER;
            return parse_number(p, &v->number);
        }
        fail(p, "unexpected character '%c'", c >= 0x20 && c < 0x7F ? c : '?');
        return 0;
    }
}

static void free_children(ds2_json_value *v)
{
    for (size_t i = 0; i < v->count; i++) {
        free_children(&v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->string);
}

ds2_json_value *ds2_json_parse(const char *text, size_t len, char *error, size_t error_size)
{
    parser p = {text, len, 0, 1, 0, error, error_size, 0};
    if (error && error_size)
        error[0] = '\0';
    if (!text) {
        fail(&p, "no input");
        return NULL;
    }
    if (len > DS2_JSON_MAX_BYTES) {
        fail(&p, "input larger than %zu bytes", DS2_JSON_MAX_BYTES);
        return NULL;
    }
    /* A UTF-8 byte order mark is tolerated. */
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        p.pos = 3;
    ds2_json_value *root = calloc(1, sizeof *root);
    if (!root) {
        fail(&p, "out of memory");
        return NULL;
    }
    if (parse_value(&p, root, 0)) {
        skip_space(&p);
        if (!at_end(&p))
            fail(&p, "unexpected data after the JSON value");
    }
    if (p.failed) {
        ds2_json_free(root);
        return NULL;
    }
    return root;
}

void ds2_json_free(ds2_json_value *value)
{
    if (!value)
        return;
    free_children(value);
    free(value);
}

const ds2_json_value *ds2_json_get(const ds2_json_value *obj, const char *key)
{
    if (!obj || obj->type != DS2_JSON_OBJECT || !key)
        return NULL;
    for (size_t i = 0; i < obj->count; i++)
        if (obj->keys[i] && strcmp(obj->keys[i], key) == 0)
            return &obj->items[i];
    return NULL;
}

const char *ds2_json_type_name(ds2_json_type type)
{
    switch (type) {
    case DS2_JSON_NULL:
        return "null";
    case DS2_JSON_BOOL:
        return "boolean";
    case DS2_JSON_NUMBER:
        return "number";
    case DS2_JSON_STRING:
        return "string";
    case DS2_JSON_ARRAY:
        return "array";
    case DS2_JSON_OBJECT:
        return "object";
    }
    return "unknown";
}
