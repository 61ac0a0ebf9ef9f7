/* The table as GitHub-flavoured Markdown. */
#include "report_common.h"

#include <errno.h>
#include <string.h>

/* Table cells must not contain '|' or newlines. */
static void cell_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '|')
            fputs("\\|", f);
        else if (*s == '\n' || *s == '\r')
            fputc(' ', f);
        else
            fputc(*s, f);
    }
}

int report_markdown(const char *path, const bench_report *rep, char *error, size_t error_size)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(error, error_size, "%s: %s", path, strerror(errno));
        return -1;
    }
    char line[1024];
    fprintf(f, "## ds2-bench results\n\n");
    report_machine_line(line, sizeof line, rep);
    fprintf(f, "- Machine: %s\n", line);
    fprintf(f, "- Model: `%s` (%.1f MB)\n", rep->options->model_path,
            (double)rep->model_bytes / 1e6);
    fprintf(f, "- Eval set: `%s`, %d utterances\n", rep->options->manifest_path, rep->n_eval);
    report_settings_line(line, sizeof line, rep);
    fprintf(f, "- Settings: %s\n", line);
    if (rep->timestamp)
        fprintf(f, "- Date: %s\n", rep->timestamp);
    fprintf(f, "\n| condition | decoder | WER %% | CER %% | dec ms | mean ms | p50 ms | p99 ms | "
               "RTF | utt/s | audio s/s | model MB | peak MB | threads |\n");
    fprintf(f, "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
    for (int c = 0; c < BENCH_N_CONDITIONS; c++) {
        if (!rep->options->enabled[c])
            continue;
        const bench_result *r = &rep->results[c];
        if (r->outcome != BENCH_RAN) {
            fprintf(f, "| %s | %s: ", bench_conditions[c].name, bench_outcome_name(r->outcome));
            cell_text(f, r->reason);
            fprintf(f, " | | | | | | | | | | | | |\n");
            continue;
        }
        fprintf(f, "| %s | greedy | %.2f | %.2f | %.3f | %.2f | %.2f | %.2f | %.4f | ",
                bench_conditions[c].name, r->wer, r->cer, r->greedy_decode.mean, r->latency.mean,
                r->latency.p50, r->latency.p99, r->rtf);
        if (r->samples_per_s > 0)
            fprintf(f, "%.2f | %.1f | ", r->samples_per_s, r->audio_s_per_s);
        else
            fprintf(f, "- | - | ");
        fprintf(f, "%.1f | %.1f | %d |\n", (double)rep->model_bytes / 1e6,
                (double)r->peak_rss_kb / 1024.0, r->n_threads);
        if (r->beam_ran)
            fprintf(f, "| %s | %s | %.2f | %.2f | %.3f | | | | | | | | | |\n",
                    bench_conditions[c].name, report_beam_name(rep), r->beam_wer, r->beam_cer,
                    r->beam_decode.mean);
    }
    char ratios[2][512];
    int n = report_ratio_lines(ratios, rep);
    if (n > 0)
        fputc('\n', f);
    for (int i = 0; i < n; i++)
        fprintf(f, "- %s\n", ratios[i]);
    report_decoder_line(line, sizeof line, rep);
    fprintf(f, "%s- %s\n", n > 0 ? "" : "\n", line);
    if (fclose(f) != 0) {
        snprintf(error, error_size, "%s: write failed: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}
