/* Command line of ds2-bench. */
#include "bench.h"

#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const bench_condition bench_conditions[BENCH_N_CONDITIONS] = {
    {"cpu-fp32", DS2_PRECISION_FP32, DS2_DEVICE_CPU},
    {"cpu-int8", DS2_PRECISION_INT8, DS2_DEVICE_CPU},
    {"gpu-fp32", DS2_PRECISION_FP32, DS2_DEVICE_GPU},
};

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: ds2-bench [options] [MANIFEST]\n"
        "Measures WER/CER, batch-1 latency and batched throughput of a libds2 model for\n"
        "each condition (cpu-fp32, cpu-int8, gpu-fp32), each in its own process.\n"
        "\n"
        "  -m, --model FILE          model (default data/default-model.gguf)\n"
        "  -e, --eval FILE           eval manifest: deepspeech.pytorch JSON, CSV or TSV\n"
        "                            (default data/eval/heldout/manifest.json)\n"
        "  -c, --conditions LIST     comma-separated subset of cpu-fp32,cpu-int8,gpu-fp32\n"
        "                            (default: all three)\n"
        "  -t, --threads N           CPU threads per session (default: online cores)\n"
        "  -n, --trials N            latency trials, batch 1 (default 300)\n"
        "  -T, --throughput-trials N throughput trials (default 100)\n"
        "  -b, --batch N             throughput batch size (default 8)\n"
        "      --cpu-warmup N        warm-up runs before CPU timing (default 3)\n"
        "      --gpu-warmup N        warm-up runs before GPU timing (default 10)\n"
        "      --fp32-convs          cpu-int8 keeps the convs in fp32 (as PyTorch's\n"
        "                            quantize_dynamic does); default: int8 after the first\n"
        "      --gpu-index N         CUDA device ordinal (default 0)\n"
        "      --lm FILE             also decode with the CTC beam search and this ARPA LM\n"
        "                            (score = ln P_ctc + A ln P_lm + B words): a second row\n"
        "                            per condition with its WER/CER; `make bench` passes\n"
        "                            data/lm-3gram.arpa\n"
        "      --beam                the beam-search row without --lm (no LM)\n"
        "      --alpha A, --beta B   LM weight and word bonus (default 0.6, -0.5: tuned on dev)\n"
        "      --beam-width W        (default 64)\n"
        "      --cutoff-top-n N      labels tried per frame (default 40)\n"
        "      --unk-score-offset U  pyctcdecode's soft lexicon (default -10; 0 off)\n"
        "      --token-min-logp T, --beam-prune-logp D  pyctcdecode's pruning (default 0:\n"
        "                            off; its own defaults are -5 and -10)\n"
        "      --max-utterances N    use only the first N eval utterances (default all)\n"
        "      --json FILE           write every figure and per-trial latency as JSON\n"
        "      --markdown FILE       write the table as Markdown\n"
        "      --plot FILE.svg       write latency distributions and WER vs speed-up\n"
        "  -q, --quiet               no progress on stderr\n"
        "  -h, --help\n");
}

/* Parses a decimal int in [lo, hi]; prints an error naming the option otherwise. */
static int parse_int(const char *opt, const char *s, int lo, int hi, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end != '\0' || v < lo || v > hi) {
        fprintf(stderr, "ds2-bench: %s expects an integer in [%d, %d], got '%s'\n", opt, lo, hi, s);
        return -1;
    }
    *out = (int)v;
    return 0;
}

/* Parses a finite number; prints an error naming the option otherwise. */
static int parse_double(const char *opt, const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || !isfinite(v)) {
        fprintf(stderr, "ds2-bench: %s expects a number, got '%s'\n", opt, s);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_conditions(const char *list, int *enabled)
{
    memset(enabled, 0, BENCH_N_CONDITIONS * sizeof *enabled);
    const char *p = list;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        int found = 0;
        for (int c = 0; c < BENCH_N_CONDITIONS; c++)
            if (strlen(bench_conditions[c].name) == n &&
                strncmp(bench_conditions[c].name, p, n) == 0) {
                enabled[c] = 1;
                found = 1;
            }
        if (!found) {
            fprintf(stderr,
                    "ds2-bench: unknown condition '%.*s' (expected cpu-fp32, cpu-int8, "
                    "gpu-fp32)\n",
                    (int)n, p);
            return -1;
        }
        p += n + (comma ? 1 : 0);
    }
    for (int c = 0; c < BENCH_N_CONDITIONS; c++)
        if (enabled[c])
            return 0;
    fprintf(stderr, "ds2-bench: --conditions names no condition\n");
    return -1;
}

/* Returns 0 to run, 1 after --help, -1 on a usage error. */
int bench_parse_options(int argc, char **argv, bench_options *o)
{
    memset(o, 0, sizeof *o);
    o->model_path = "data/default-model.gguf";
    o->manifest_path = "data/eval/heldout/manifest.json";
    for (int c = 0; c < BENCH_N_CONDITIONS; c++)
        o->enabled[c] = 1;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    o->n_threads = cores > 0 && cores < 256 ? (int)cores : 1;
    o->latency_trials = 300;
    o->throughput_trials = 100;
    o->batch = 8;
    o->cpu_warmup = 3;
    o->gpu_warmup = 10;
    o->beam_params = ds2_run_default_params();
    o->beam_params.decoder = DS2_DECODER_BEAM;
    o->beam_params.beam_width = 64;
    o->beam_params.alpha = 0.6;
    o->beam_params.beta = -0.5;

    enum {
        OPT_CPU_WARMUP = 256,
        OPT_GPU_WARMUP,
        OPT_GPU_INDEX,
        OPT_MAX_UTT,
        OPT_UNK_OFFSET,
        OPT_TOKEN_MIN_LOGP,
        OPT_BEAM_PRUNE_LOGP,
        OPT_JSON,
        OPT_MD,
        OPT_PLOT,
        OPT_FP32_CONVS,
        OPT_LM,
        OPT_BEAM,
        OPT_ALPHA,
        OPT_BETA,
        OPT_BEAM_WIDTH,
        OPT_TOP_N
    };
    static const struct option longopts[] = {
        {"model", required_argument, NULL, 'm'},
        {"eval", required_argument, NULL, 'e'},
        {"conditions", required_argument, NULL, 'c'},
        {"threads", required_argument, NULL, 't'},
        {"trials", required_argument, NULL, 'n'},
        {"throughput-trials", required_argument, NULL, 'T'},
        {"batch", required_argument, NULL, 'b'},
        {"cpu-warmup", required_argument, NULL, OPT_CPU_WARMUP},
        {"gpu-warmup", required_argument, NULL, OPT_GPU_WARMUP},
        {"gpu-index", required_argument, NULL, OPT_GPU_INDEX},
        {"max-utterances", required_argument, NULL, OPT_MAX_UTT},
        {"json", required_argument, NULL, OPT_JSON},
        {"markdown", required_argument, NULL, OPT_MD},
        {"plot", required_argument, NULL, OPT_PLOT},
        {"fp32-convs", no_argument, NULL, OPT_FP32_CONVS},
        {"lm", required_argument, NULL, OPT_LM},
        {"beam", no_argument, NULL, OPT_BEAM},
        {"alpha", required_argument, NULL, OPT_ALPHA},
        {"beta", required_argument, NULL, OPT_BETA},
        {"beam-width", required_argument, NULL, OPT_BEAM_WIDTH},
        {"cutoff-top-n", required_argument, NULL, OPT_TOP_N},
        {"unk-score-offset", required_argument, NULL, OPT_UNK_OFFSET},
        {"token-min-logp", required_argument, NULL, OPT_TOKEN_MIN_LOGP},
        {"beam-prune-logp", required_argument, NULL, OPT_BEAM_PRUNE_LOGP},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch, rc = 0;
    while (rc == 0 && (ch = getopt_long(argc, argv, "m:e:c:t:n:T:b:qh", longopts, NULL)) != -1) {
        switch (ch) {
        case 'm':
            o->model_path = optarg;
            break;
        case 'e':
            o->manifest_path = optarg;
            break;
        case 'c':
            rc = parse_conditions(optarg, o->enabled);
            break;
        case 't':
            rc = parse_int("--threads", optarg, 1, 256, &o->n_threads);
            break;
        case 'n':
            rc = parse_int("--trials", optarg, 1, 10000000, &o->latency_trials);
            break;
        case 'T':
            rc = parse_int("--throughput-trials", optarg, 0, 10000000, &o->throughput_trials);
            break;
        case 'b':
            rc = parse_int("--batch", optarg, 1, 4096, &o->batch);
            break;
        case OPT_CPU_WARMUP:
            rc = parse_int("--cpu-warmup", optarg, 0, 100000, &o->cpu_warmup);
            break;
        case OPT_FP32_CONVS:
            o->fp32_convs = 1;
            break;
        case OPT_LM:
            o->lm_path = optarg;
            o->beam = 1;
            break;
        case OPT_BEAM:
            o->beam = 1;
            break;
        case OPT_ALPHA:
            rc = parse_double("--alpha", optarg, &o->beam_params.alpha);
            break;
        case OPT_BETA:
            rc = parse_double("--beta", optarg, &o->beam_params.beta);
            break;
        case OPT_BEAM_WIDTH:
            rc = parse_int("--beam-width", optarg, 1, 100000, &o->beam_params.beam_width);
            break;
        case OPT_TOP_N:
            rc = parse_int("--cutoff-top-n", optarg, 1, 100000, &o->beam_params.cutoff_top_n);
            break;
        case OPT_UNK_OFFSET:
            rc = parse_double("--unk-score-offset", optarg, &o->beam_params.unk_score_offset);
            break;
        case OPT_TOKEN_MIN_LOGP:
            rc = parse_double("--token-min-logp", optarg, &o->beam_params.token_min_logp);
            break;
        case OPT_BEAM_PRUNE_LOGP:
            rc = parse_double("--beam-prune-logp", optarg, &o->beam_params.beam_prune_logp);
            break;
        case OPT_GPU_WARMUP:
            rc = parse_int("--gpu-warmup", optarg, 0, 100000, &o->gpu_warmup);
            break;
        case OPT_GPU_INDEX:
            rc = parse_int("--gpu-index", optarg, 0, 1024, &o->gpu_index);
            break;
        case OPT_MAX_UTT:
            rc = parse_int("--max-utterances", optarg, 0, INT_MAX, &o->max_utterances);
            break;
        case OPT_JSON:
            o->json_path = optarg;
            break;
        case OPT_MD:
            o->markdown_path = optarg;
            break;
        case OPT_PLOT:
            o->svg_path = optarg;
            break;
        case 'q':
            o->quiet = 1;
            break;
        case 'h':
            usage(stdout);
            return 1;
        default:
            usage(stderr);
            return -1;
        }
    }
    if (rc != 0)
        return -1;
    if (optind < argc)
        o->manifest_path = argv[optind++];
    if (optind < argc) {
        fprintf(stderr, "ds2-bench: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return -1;
    }
    o->progress = !o->quiet && isatty(2);
    return 0;
}
