/* ds2-bench: accuracy, latency and throughput of a libds2 model per condition
 * (cpu-fp32, cpu-int8, gpu-fp32), each measured in its own process. */
#include "bench.h"
#include "runner.h"
#include "sysinfo.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static void utc_timestamp(char *buf, size_t size)
{
    time_t t = time(NULL);
    struct tm tm;
    if (gmtime_r(&t, &tm))
        strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
    else
        snprintf(buf, size, "unknown");
}

static int write_outputs(const bench_report *rep)
{
    const bench_options *o = rep->options;
    char err[512];
    int rc = 0;
    if (o->json_path && report_json(o->json_path, rep, err, sizeof err) != 0) {
        fprintf(stderr, "ds2-bench: --json %s\n", err);
        rc = -1;
    }
    if (o->markdown_path && report_markdown(o->markdown_path, rep, err, sizeof err) != 0) {
        fprintf(stderr, "ds2-bench: --markdown %s\n", err);
        rc = -1;
    }
    if (o->svg_path && report_svg(o->svg_path, rep, err, sizeof err) != 0) {
        fprintf(stderr, "ds2-bench: --plot %s\n", err);
        rc = -1;
    }
    return rc;
}

int main(int argc, char **argv)
{
    bench_options opts;
    int rc = bench_parse_options(argc, argv, &opts);
    if (rc != 0)
        return rc > 0 ? EXIT_SUCCESS : 2;

    struct stat st;
    if (stat(opts.model_path, &st) != 0) {
        fprintf(stderr, "ds2-bench: model %s: %s\n", opts.model_path, strerror(errno));
        return EXIT_FAILURE;
    }
    ds2_manifest eval;
    char err[1024];
    if (ds2_manifest_load(opts.manifest_path, &eval, err, sizeof err) != DS2_OK) {
        fprintf(stderr, "ds2-bench: eval set: %s\n", err);
        return EXIT_FAILURE;
    }
    /* loaded once, before the children fork: each inherits it */
    ds2_lm *lm = NULL;
    if (opts.lm_path) {
        if (ds2_lm_load(opts.lm_path, &lm, err, sizeof err) != DS2_OK) {
            fprintf(stderr, "ds2-bench: --lm %s\n", err);
            ds2_manifest_free(&eval);
            return EXIT_FAILURE;
        }
        opts.beam_params.lm = lm;
    }
    bench_sysinfo sys;
    sysinfo_collect(&sys);

    bench_result results[BENCH_N_CONDITIONS];
    memset(results, 0, sizeof results);
    int any_failed = 0;
    for (int c = 0; c < BENCH_N_CONDITIONS; c++) {
        if (!opts.enabled[c])
            continue;
        runner_measure_isolated(&opts, (bench_condition_id)c, &eval, &results[c]);
        if (results[c].outcome == BENCH_FAILED) {
            fprintf(stderr, "ds2-bench: %s failed: %s\n", bench_conditions[c].name,
                    results[c].reason);
            any_failed = 1;
        }
    }

    char stamp[32];
    utc_timestamp(stamp, sizeof stamp);
    bench_report rep = {
        .options = &opts,
        .sys = &sys,
        .results = results,
        .eval = &eval,
        .model_bytes = (long long)st.st_size,
        .n_eval = opts.max_utterances > 0 && opts.max_utterances < eval.count ? opts.max_utterances
                                                                              : eval.count,
        .gpu_used = opts.enabled[BENCH_GPU_FP32] && results[BENCH_GPU_FP32].outcome == BENCH_RAN,
        .timestamp = stamp,
    };
    report_table(stdout, &rep);
    fflush(stdout);
    int out_rc = write_outputs(&rep);

    for (int c = 0; c < BENCH_N_CONDITIONS; c++)
        bench_result_free(&results[c]);
    ds2_manifest_free(&eval);
    ds2_lm_free(lm);
    return any_failed || out_rc != 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
