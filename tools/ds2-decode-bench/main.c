/* ds2-decode-bench: times the CTC decoders alone (ds2_decode) on fixed softmax outputs of an eval
 * set: the probabilities ds2-transcribe --probs saved, or one untimed forward pass per utterance.
 * Reports per decoder configuration the median time per 5 s of audio (each utterance's time
 * scaled by 5 s / its duration), the mean per utterance and WER/CER against the references. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ds2.h"
#include "manifest.h"
#include "metrics.h"
#include "npy.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ds2-decode-bench [-m MODEL] [-e MANIFEST] [--probs DIR] [--lm FILE]\n"
            "                        [--alpha A] [--beta B] [--beam-width W] [--cutoff-top-n N]\n"
            "                        [--cutoff-prob P] [--unk-score-offset U]\n"
            "                        [--token-min-logp T] [--beam-prune-logp D]\n"
            "                        [--repeats R] [--tsv FILE] [--greedy]\n"
            "Times ds2_decode (no network) on each eval utterance's softmax output, one thread.\n"
            "  -m MODEL        labels and, without --probs, the forward pass\n"
            "                  (default data/default-model.gguf)\n"
            "  -e MANIFEST     eval set (default data/eval/heldout/manifest.json)\n"
            "  --probs DIR     read DIR/<audio basename without extension>.npy (as written by\n"
            "                  ds2-transcribe --probs) instead of running the forward pass\n"
            "  --lm FILE       beam search with this ARPA LM (default: beam without LM)\n"
            "  --alpha, --beta, --beam-width, --cutoff-top-n, --cutoff-prob: as ds2-transcribe\n"
            "                  (defaults 0.6, -0.5, 64, 40, 1)\n"
            "  --unk-score-offset, --token-min-logp, --beam-prune-logp: as ds2-transcribe\n"
            "                  (defaults -10, 0, 0; pyctcdecode's: -10, -5, -10)\n"
            "  --greedy        time the greedy decoder instead\n"
            "  --precision P   fp32 (default) or int8: the forward pass without --probs\n"
            "  --repeats R     decodes per utterance; its time is their median (default 5)\n"
            "  --tsv FILE      per utterance: audio, seconds, frames, ms, score,\n"
            "                  hypothesis\n");
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static int by_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* numpy's default (linear) percentile of x[0..n), sorted in place */
static double median(double *x, int n)
{
    qsort(x, (size_t)n, sizeof *x, by_double);
    double r = 0.5 * (n - 1);
    int lo = (int)r;
    return lo + 1 < n ? x[lo] + (r - lo) * (x[lo + 1] - x[lo]) : x[lo];
}

static int parse_number(const char *name, const char *arg, double *out)
{
    char *end = NULL;
    *out = strtod(arg, &end);
    if (!*arg || *end || !isfinite(*out)) {
        fprintf(stderr, "ds2-decode-bench: --%s must be a number\n", name);
        return -1;
    }
    return 0;
}

static void stem_of(const char *path, char *stem, size_t size)
{
    const char *base = strrchr(path, '/');
    snprintf(stem, size, "%s", base ? base + 1 : path);
    char *dot = strrchr(stem, '.');
    if (dot && dot != stem)
        *dot = '\0';
}

static void upcase(char *s)
{
    for (; *s; s++)
        if (*s >= 'a' && *s <= 'z')
            *s = (char)(*s - 'a' + 'A');
}

typedef struct utt {
    float *probs;
    int frames, labels;
    double seconds;
} utt;

int main(int argc, char **argv)
{
    const char *model_path = "data/default-model.gguf";
    const char *manifest_path = "data/eval/heldout/manifest.json";
    const char *probs_dir = NULL, *lm_path = NULL, *tsv_path = NULL;
    ds2_run_params rp = ds2_run_default_params();
    rp.decoder = DS2_DECODER_BEAM;
    rp.beam_width = 64;
    rp.alpha = 0.6;
    rp.beta = -0.5;
    int repeats = 5;
    ds2_session_params sp = ds2_session_default_params();
    static const struct option opts[] = {{"model", required_argument, 0, 'm'},
                                         {"eval", required_argument, 0, 'e'},
                                         {"probs", required_argument, 0, 'P'},
                                         {"lm", required_argument, 0, 'L'},
                                         {"alpha", required_argument, 0, 'a'},
                                         {"beta", required_argument, 0, 'b'},
                                         {"beam-width", required_argument, 0, 'W'},
                                         {"cutoff-top-n", required_argument, 0, 'N'},
                                         {"cutoff-prob", required_argument, 0, 'C'},
                                         {"unk-score-offset", required_argument, 0, 'U'},
                                         {"token-min-logp", required_argument, 0, 'T'},
                                         {"beam-prune-logp", required_argument, 0, 'D'},
                                         {"repeats", required_argument, 0, 'r'},
                                         {"tsv", required_argument, 0, 'o'},
                                         {"greedy", no_argument, 0, 'g'},
                                         {"precision", required_argument, 0, 'p'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    double num;
    int c;
    while ((c = getopt_long(argc, argv, "m:e:h", opts, NULL)) != -1) {
        switch (c) {
        case 'm':
            model_path = optarg;
            break;
        case 'e':
            manifest_path = optarg;
            break;
        case 'P':
            probs_dir = optarg;
            break;
        case 'L':
            lm_path = optarg;
            break;
        case 'o':
            tsv_path = optarg;
            break;
        case 'g':
            rp.decoder = DS2_DECODER_GREEDY;
            break;
        case 'p':
            if (!strcmp(optarg, "fp32") || !strcmp(optarg, "int8")) {
                sp.precision = optarg[0] == 'i' ? DS2_PRECISION_INT8 : DS2_PRECISION_FP32;
            } else {
                fprintf(stderr, "ds2-decode-bench: --precision must be fp32 or int8\n");
                return 2;
            }
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
        case 'T':
            if (parse_number("token-min-logp", optarg, &rp.token_min_logp))
                return 2;
            break;
        case 'D':
            if (parse_number("beam-prune-logp", optarg, &rp.beam_prune_logp))
                return 2;
            break;
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
        case 'r':
            if (parse_number("repeats", optarg, &num) || num != (int)num || num < 1 ||
                num > 10000) {
                fprintf(stderr, "ds2-decode-bench: --repeats must be 1..10000\n");
                return 2;
            }
            repeats = (int)num;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    if (lm_path && rp.decoder != DS2_DECODER_BEAM) {
        fprintf(stderr, "ds2-decode-bench: --lm and --greedy exclude each other\n");
        return 2;
    }
    char err[1024];
    ds2_manifest eval;
    if (ds2_manifest_load(manifest_path, &eval, err, sizeof err) != DS2_OK) {
        fprintf(stderr, "ds2-decode-bench: eval set: %s\n", err);
        return 1;
    }
    ds2_model *model = NULL;
    ds2_lm *lm = NULL;
    ds2_session *session = NULL;
    utt *u = calloc((size_t)(eval.count ? eval.count : 1), sizeof *u);
    double *ms = calloc((size_t)(eval.count ? eval.count : 1), sizeof *ms);
    double *per5 = calloc((size_t)(eval.count ? eval.count : 1), sizeof *per5);
    double *rep = calloc((size_t)repeats, sizeof *rep);
    FILE *tsv = NULL;
    int rc = 1;
    if (!u || !ms || !per5 || !rep) {
        fprintf(stderr, "ds2-decode-bench: out of memory\n");
        goto done;
    }
    if (ds2_model_load(model_path, NULL, &model, err, sizeof err) != DS2_OK) {
        fprintf(stderr, "ds2-decode-bench: %s\n", err);
        goto done;
    }
    ds2_model_info info;
    ds2_model_get_info(model, &info);
    if (lm_path) {
        if (ds2_lm_load(lm_path, &lm, err, sizeof err) != DS2_OK) {
            fprintf(stderr, "ds2-decode-bench: %s\n", err);
            goto done;
        }
        rp.lm = lm;
    }
    if (ds2_session_create(model, &sp, &session, err, sizeof err) != DS2_OK) {
        fprintf(stderr, "ds2-decode-bench: %s\n", err);
        goto done;
    }
    if (tsv_path && !(tsv = fopen(tsv_path, "w"))) {
        fprintf(stderr, "ds2-decode-bench: %s: %s\n", tsv_path, strerror(errno));
        goto done;
    }
    /* inputs: audio (for its duration, and the forward pass without --probs) */
    for (int i = 0; i < eval.count; i++) {
        ds2_audio audio;
        const char *path = eval.entries[i].audio_path;
        if (ds2_audio_load(path, info.sample_rate, &audio, err, sizeof err) != DS2_OK) {
            fprintf(stderr, "ds2-decode-bench: %s\n", err);
            goto done;
        }
        u[i].seconds = (double)audio.n_samples / info.sample_rate;
        if (probs_dir) {
            char stem[1024], npy[2048];
            stem_of(path, stem, sizeof stem);
            snprintf(npy, sizeof npy, "%s/%s.npy", probs_dir, stem);
            if (npy_read_f32_2d(npy, &u[i].probs, &u[i].frames, &u[i].labels, err, sizeof err)) {
                fprintf(stderr, "ds2-decode-bench: %s: %s\n", npy, err);
                ds2_audio_free(&audio);
                goto done;
            }
        } else {
            ds2_utterance one = {audio.samples, audio.n_samples};
            ds2_run_params fw = ds2_run_default_params();
            fw.want_probs = 1;
            ds2_result r;
            if (ds2_run(session, &one, 1, &fw, &r) != DS2_OK) {
                fprintf(stderr, "ds2-decode-bench: %s: %s\n", path, ds2_session_error(session));
                ds2_audio_free(&audio);
                goto done;
            }
            u[i].probs = r.probs;
            u[i].frames = r.n_frames;
            u[i].labels = r.n_labels;
            r.probs = NULL;
            ds2_result_free(&r);
        }
        ds2_audio_free(&audio);
    }
    long wer_e = 0, wer_n = 0, cer_e = 0, cer_n = 0;
    double total_ms = 0, total_s = 0;
    for (int i = 0; i < eval.count; i++) {
        ds2_result r;
        for (int k = 0; k < repeats; k++) {
            double t0 = now_ms();
            ds2_status st = ds2_decode(session, u[i].probs, u[i].frames, u[i].labels, &rp, &r);
            rep[k] = now_ms() - t0;
            if (st != DS2_OK) {
                fprintf(stderr, "ds2-decode-bench: %s: %s\n", eval.entries[i].audio_path,
                        ds2_session_error(session));
                goto done;
            }
            if (k + 1 < repeats)
                ds2_result_free(&r);
        }
        ms[i] = median(rep, repeats);
        per5[i] = ms[i] * 5.0 / u[i].seconds;
        total_ms += ms[i];
        total_s += u[i].seconds;
        char *hyp = strdup(r.text), *ref = strdup(eval.entries[i].transcript);
        long nw = 0, nc = 0, ew = -1, ec = -1;
        if (hyp && ref) {
            upcase(hyp);
            upcase(ref);
            ew = ds2_word_errors(hyp, ref, &nw);
            ec = ds2_char_errors(hyp, ref, &nc);
        }
        if (tsv && hyp)
            fprintf(tsv, "%s\t%.3f\t%d\t%.4f\t%.9g\t%s\n", eval.entries[i].audio_path, u[i].seconds,
                    u[i].frames, ms[i], r.score, hyp);
        free(hyp);
        free(ref);
        ds2_result_free(&r);
        if (ew < 0 || ec < 0) {
            fprintf(stderr, "ds2-decode-bench: out of memory\n");
            goto done;
        }
        wer_e += ew;
        wer_n += nw;
        cer_e += ec;
        cer_n += nc;
    }
    if (eval.count == 0) {
        fprintf(stderr, "ds2-decode-bench: the eval set is empty\n");
        goto done;
    }
    if (rp.decoder == DS2_DECODER_GREEDY)
        printf("decoder greedy");
    else
        printf("decoder beam width %d, cutoff_top_n %d, cutoff_prob %g, token_min_logp %g, "
               "beam_prune_logp %g, %s alpha %g beta %g unk_score_offset %g",
               rp.beam_width, rp.cutoff_top_n, rp.cutoff_prob, rp.token_min_logp,
               rp.beam_prune_logp, lm_path ? lm_path : "no LM", rp.alpha, rp.beta,
               rp.unk_score_offset);
    printf("; %d utterances (%.1f s of audio), %d repeats each, %s\n", eval.count, total_s, repeats,
           probs_dir ? "saved probabilities" : "probabilities of one forward pass");
    printf("median ms per 5 s of audio %.3f; mean ms per utterance %.3f; WER %.2f CER %.2f\n",
           median(per5, eval.count), total_ms / eval.count,
           wer_n ? 100.0 * (double)wer_e / (double)wer_n : 0.0,
           cer_n ? 100.0 * (double)cer_e / (double)cer_n : 0.0);
    rc = 0;
done:
    if (tsv && fclose(tsv) != 0 && rc == 0) {
        fprintf(stderr, "ds2-decode-bench: %s: write failed\n", tsv_path);
        rc = 1;
    }
    for (int i = 0; u && i < eval.count; i++)
        free(u[i].probs);
    free(u);
    free(ms);
    free(per5);
    free(rep);
    ds2_session_free(session);
    ds2_lm_free(lm);
    ds2_model_free(model);
    ds2_manifest_free(&eval);
    return rc;
}
