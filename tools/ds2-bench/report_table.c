/* The plain-text table on stdout: one row per condition, ratios underneath. */
#include "report_common.h"

static void rule(FILE *out, int width)
{
    for (int i = 0; i < width; i++)
        fputc('-', out);
    fputc('\n', out);
}

void report_table(FILE *out, const bench_report *rep)
{
    char line[1024];
    report_machine_line(line, sizeof line, rep);
    fprintf(out, "ds2-bench: %s\n", line);
    fprintf(out, "model %s (%.1f MB); eval %s: %d utterances\n", rep->options->model_path,
            (double)rep->model_bytes / 1e6, rep->options->manifest_path, rep->n_eval);
    report_settings_line(line, sizeof line, rep);
    fprintf(out, "%s\n\n", line);

    static const char *header = "%-9s %-8s %7s %7s %8s %9s %9s %9s %7s %8s %9s %8s %8s %7s\n";
    fprintf(out, header, "condition", "decoder", "WER %", "CER %", "dec ms", "mean ms", "p50 ms",
            "p99 ms", "RTF", "utt/s", "audio s/s", "model MB", "peak MB", "threads");
    const int width = 9 + 8 + 7 + 7 + 8 + 9 + 9 + 9 + 7 + 8 + 9 + 8 + 8 + 7 + 13;
    rule(out, width);
    for (int c = 0; c < BENCH_N_CONDITIONS; c++) {
        if (!rep->options->enabled[c])
            continue;
        const bench_result *r = &rep->results[c];
        if (r->outcome != BENCH_RAN) {
            fprintf(out, "%-9s %s: %s\n", bench_conditions[c].name, bench_outcome_name(r->outcome),
                    r->reason);
            continue;
        }
        char tput[16] = "-", atput[16] = "-";
        if (r->samples_per_s > 0) {
            snprintf(tput, sizeof tput, "%.2f", r->samples_per_s);
            snprintf(atput, sizeof atput, "%.1f", r->audio_s_per_s);
        }
        fprintf(out,
                "%-9s %-8s %7.2f %7.2f %8.3f %9.2f %9.2f %9.2f %7.4f %8s %9s %8.1f %8.1f %7d\n",
                bench_conditions[c].name, "greedy", r->wer, r->cer, r->greedy_decode.mean,
                r->latency.mean, r->latency.p50, r->latency.p99, r->rtf, tput, atput,
                (double)rep->model_bytes / 1e6, (double)r->peak_rss_kb / 1024.0, r->n_threads);
        if (r->beam_ran)
            fprintf(out, "%-9s %-8s %7.2f %7.2f %8.3f\n", bench_conditions[c].name,
                    report_beam_name(rep), r->beam_wer, r->beam_cer, r->beam_decode.mean);
    }
    rule(out, width);
    char ratios[2][512];
    int n = report_ratio_lines(ratios, rep);
    for (int i = 0; i < n; i++)
        fprintf(out, "%s\n", ratios[i]);
    report_decoder_line(line, sizeof line, rep);
    fprintf(out, "%s\n", line);
}
