/* ds2-transcribe: audio files -> "path<TAB>transcript" lines (or JSON lines with word times),
 * greedy or beam search with an optional n-gram LM, optionally the softmax outputs as .npy files.
 * Uses only the public API. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ds2.h"
#include "npy_write.h"

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: ds2-transcribe -m MODEL [--precision fp32|int8] [--device cpu|gpu]\n"
        "                      [--threads N] [--chunk-seconds S] [--probs DIR] [--fp32-convs]\n"
        "                      [--decoder greedy|beam] [--beam-width W] [--lm FILE.arpa]\n"
        "                      [--alpha A] [--beta B] [--cutoff-top-n N] [--cutoff-prob P]\n"
        "                      [--unk-score-offset U] [--token-min-logp T]\n"
        "                      [--beam-prune-logp D] [--timestamps] [-v] FILE...\n"
        "Prints one line per file: path<TAB>transcript.\n"
        "  --decoder beam    CTC prefix beam search (default width 10, top-n 40, prob 1.0);\n"
        "                    --lm adds a word n-gram LM: score = ln P_ctc + A ln P_lm + B words\n"
        "  --unk-score-offset U  with --lm (default -10, 0 off; <= 0): a word the LM lacks\n"
        "                    costs A ln(10) U more, an unfinished word that starts no LM word\n"
        "                    U (x length/6 past 6 letters), as pyctcdecode's unk_score_offset\n"
        "  --token-min-logp T  per frame, extend only by labels with ln p >= T (and the\n"
        "                    likeliest); --beam-prune-logp D: drop beams more than -D below the\n"
        "                    best (default 0 each: off; pyctcdecode's -5 and -10)\n"
        "  --timestamps      instead, one JSON line per file: {\"file\", \"text\", \"score\",\n"
        "                    \"words\": [{\"word\", \"start\", \"end\"} (seconds)]}\n"
        "  --probs DIR       write each file's softmax output (frames x labels, float32)\n"
        "                    as DIR/<basename without extension>.npy\n"
        "  --chunk-seconds S split the audio into S-second chunks, carrying the RNN state\n"
        "                    (as deepspeech.pytorch's transcribe does). Default: files longer\n"
        "                    than 60 s in 60 s chunks, read piece by piece (memory does not\n"
        "                    grow with the length); 0: never chunk (memory grows ~50 MB/min)\n"
        "  --fp32-convs      int8: keep the convs in fp32 (as PyTorch's quantize_dynamic)\n");
}

/* Errors come back through each call's error text (printed where the call fails), so the log
 * shows only warnings, and everything with -v. */
static void log_stderr(ds2_log_level level, const char *msg, void *user)
{
    int verbose = *(const int *)user;
    if (level == DS2_LOG_WARN || verbose)
        fprintf(stderr, "ds2: %s\n", msg);
}

/* A JSON string: the labels are UTF-8 already; escape what JSON requires. */
static void json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void print_json(const char *path, const ds2_result *r)
{
    printf("{\"file\": ");
    json_string(path);
    printf(", \"text\": ");
    json_string(r->text);
    printf(", \"score\": %.6f, \"words\": [", r->score);
    for (int w = 0; w < r->n_words; w++) {
        printf("%s{\"word\": ", w ? ", " : "");
        json_string(r->words[w].text);
        printf(", \"start\": %.3f, \"end\": %.3f}", r->words[w].start_s, r->words[w].end_s);
    }
    printf("]}\n");
}

/* A number option, whole string, finite. */
static int parse_number(const char *name, const char *arg, double *out)
{
    char *end = NULL;
    *out = strtod(arg, &end);
    if (!*arg || *end || *out != *out || *out > 1e300 || *out < -1e300) {
        fprintf(stderr, "ds2-transcribe: --%s must be a number\n", name);
        return -1;
    }
    return 0;
}

static int write_probs(const char *dir, const char *path, const ds2_result *r)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    char stem[1024];
    snprintf(stem, sizeof stem, "%s", base);
    char *dot = strrchr(stem, '.');
    if (dot && dot != stem)
        *dot = '\0';
    char out[2048];
    snprintf(out, sizeof out, "%s/%s.npy", dir, stem);
    if (npy_write_f32_2d(out, r->probs, r->n_frames, r->n_labels) != 0) {
        fprintf(stderr, "ds2-transcribe: cannot write %s: %s\n", out, strerror(errno));
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *model_path = NULL, *probs_dir = NULL, *lm_path = NULL;
    ds2_session_params sp = ds2_session_default_params();
    ds2_run_params rp = ds2_run_default_params();
    int verbose = 0;
    static const struct option opts[] = {{"model", required_argument, 0, 'm'},
                                         {"precision", required_argument, 0, 'p'},
                                         {"device", required_argument, 0, 'd'},
                                         {"threads", required_argument, 0, 't'},
                                         {"probs", required_argument, 0, 'P'},
                                         {"chunk-seconds", required_argument, 0, 'c'},
                                         {"verbose", no_argument, 0, 'v'},
                                         {"fp32-convs", no_argument, 0, 'F'},
                                         {"help", no_argument, 0, 'h'},
                                         {"decoder", required_argument, 0, 'D'},
                                         {"lm", required_argument, 0, 'L'},
                                         {"alpha", required_argument, 0, 'a'},
                                         {"beta", required_argument, 0, 'b'},
                                         {"beam-width", required_argument, 0, 'W'},
                                         {"cutoff-top-n", required_argument, 0, 'N'},
                                         {"cutoff-prob", required_argument, 0, 'C'},
                                         {"timestamps", no_argument, 0, 'T'},
                                         {"unk-score-offset", required_argument, 0, 'U'},
                                         {"token-min-logp", required_argument, 0, 'K'},
                                         {"beam-prune-logp", required_argument, 0, 'B'},
                                         {0, 0, 0, 0}};
    double num;
    int c;
    while ((c = getopt_long(argc, argv, "m:p:d:t:P:c:vh", opts, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case 'm':
            model_path = optarg;
            break;
        case 'F':
            sp.fp32_convs = 1;
            break;
        case 'p':
            if (!strcmp(optarg, "fp32"))
                sp.precision = DS2_PRECISION_FP32;
            else if (!strcmp(optarg, "int8"))
                sp.precision = DS2_PRECISION_INT8;
            else {
                fprintf(stderr, "ds2-transcribe: --precision must be fp32 or int8\n");
                return 2;
            }
            break;
        case 'd':
            if (!strcmp(optarg, "cpu"))
                sp.device = DS2_DEVICE_CPU;
            else if (!strcmp(optarg, "gpu"))
                sp.device = DS2_DEVICE_GPU;
            else {
                fprintf(stderr, "ds2-transcribe: --device must be cpu or gpu\n");
                return 2;
            }
            break;
        case 't':
            sp.n_threads = (int)strtol(optarg, &end, 10);
            if (*end || sp.n_threads < 1 || sp.n_threads > 256) {
                fprintf(stderr, "ds2-transcribe: --threads must be 1..256\n");
                return 2;
            }
            break;
        case 'c':
            rp.chunk_seconds = strtod(optarg, &end);
            if (!*optarg || *end || !(rp.chunk_seconds >= 0 && rp.chunk_seconds < 1e6)) {
                fprintf(stderr, "ds2-transcribe: --chunk-seconds must be 0 (never chunk) or a "
                                "positive number\n");
                return 2;
            }
            if (rp.chunk_seconds == 0)
                rp.chunk_seconds = -1; /* the API's "never" */
            break;
        case 'P':
            probs_dir = optarg;
            break;
        case 'D':
            if (!strcmp(optarg, "greedy"))
                rp.decoder = DS2_DECODER_GREEDY;
            else if (!strcmp(optarg, "beam"))
                rp.decoder = DS2_DECODER_BEAM;
            else {
                fprintf(stderr, "ds2-transcribe: --decoder must be greedy or beam\n");
                return 2;
            }
            break;
        case 'L':
            lm_path = optarg;
            break;
        case 'a':
            if (parse_number("alpha", optarg, &rp.alpha))
                return 2;
            break;
        case 'b':
            if (parse_number("beta", optarg, &rp.beta))
                return 2;
            break;
        case 'C':
            if (parse_number("cutoff-prob", optarg, &rp.cutoff_prob))
                return 2;
            break;
        case 'U':
            if (parse_number("unk-score-offset", optarg, &rp.unk_score_offset))
                return 2;
            break;
        case 'K':
            if (parse_number("token-min-logp", optarg, &rp.token_min_logp))
                return 2;
            break;
        case 'B':
            if (parse_number("beam-prune-logp", optarg, &rp.beam_prune_logp))
                return 2;
            break;
        /* integer ranges are the library's to judge: its message names the bad value */
        case 'W':
            if (parse_number("beam-width", optarg, &num) || num != (int)num)
                return 2;
            rp.beam_width = (int)num;
            break;
        case 'N':
            if (parse_number("cutoff-top-n", optarg, &num) || num != (int)num)
                return 2;
            rp.cutoff_top_n = (int)num;
            break;
        case 'T':
            rp.want_timestamps = 1;
            break;
        case 'v':
            verbose = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!model_path || optind >= argc) {
        usage(stderr);
        return 2;
    }
    if (probs_dir) {
        struct stat st;
        if (stat(probs_dir, &st) != 0 && mkdir(probs_dir, 0777) != 0) {
            fprintf(stderr, "ds2-transcribe: cannot create %s: %s\n", probs_dir, strerror(errno));
            return 1;
        }
        rp.want_probs = 1;
    }
    sp.log = log_stderr;
    sp.log_user_data = &verbose;
    ds2_model_params mp = ds2_model_default_params();
    mp.log = log_stderr;
    mp.log_user_data = &verbose;
    char err[512];
    ds2_model *model = NULL;
    ds2_status st = ds2_model_load(model_path, &mp, &model, err, sizeof err);
    if (st != DS2_OK) {
        fprintf(stderr, "ds2-transcribe: %s\n", err);
        return 1;
    }
    ds2_lm *lm = NULL;
    if (lm_path) {
        if (rp.decoder != DS2_DECODER_BEAM) {
            fprintf(stderr, "ds2-transcribe: --lm needs --decoder beam\n");
            ds2_model_free(model);
            return 2;
        }
        st = ds2_lm_load(lm_path, &lm, err, sizeof err);
        if (st != DS2_OK) {
            fprintf(stderr, "ds2-transcribe: %s\n", err);
            ds2_model_free(model);
            return 1;
        }
        rp.lm = lm;
    }
    ds2_session *session = NULL;
    st = ds2_session_create(model, &sp, &session, err, sizeof err);
    if (st != DS2_OK) {
        fprintf(stderr, "ds2-transcribe: cannot create a %s %s session: %s\n",
                sp.device == DS2_DEVICE_GPU ? "gpu" : "cpu",
                sp.precision == DS2_PRECISION_INT8 ? "int8" : "fp32", err);
        ds2_lm_free(lm);
        ds2_model_free(model);
        return 1;
    }
    int failures = 0;
    for (int i = optind; i < argc; i++) {
        ds2_result r;
        st = ds2_run_file(session, argv[i], &rp, &r);
        if (st != DS2_OK) {
            /* the audio reader's messages name the file already */
            const char *msg = ds2_session_error(session);
            if (strstr(msg, argv[i]))
                fprintf(stderr, "ds2-transcribe: %s\n", msg);
            else
                fprintf(stderr, "ds2-transcribe: %s: %s\n", argv[i], msg);
            failures++;
        } else {
            if (rp.want_timestamps)
                print_json(argv[i], &r);
            else
                printf("%s\t%s\n", argv[i], r.text);
            if (probs_dir && write_probs(probs_dir, argv[i], &r) != 0)
                failures++;
            ds2_result_free(&r);
        }
    }
    ds2_session_free(session);
    ds2_lm_free(lm);
    ds2_model_free(model);
    return failures ? 1 : 0;
}
