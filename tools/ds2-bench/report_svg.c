/* SVG figure drawn by hand: per-condition latency distributions (jittered strip + box plot)
 * and a WER vs speed-up scatter. */
#include "report_common.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#define W 920.0
#define LEFT 150.0
#define RIGHT 40.0
#define ROW_H 74.0

static const char *const colors[BENCH_N_CONDITIONS] = {"#1f77b4", "#e8710a", "#2ca02c"};

static void xml_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        default:
            fputc(*s, f);
        }
    }
}

/* An axis mapping [lo, hi] to pixels [p0, p1], linear or log10. */
typedef struct axis {
    double lo, hi, p0, p1;
    int log;
} axis;

static double axis_map(const axis *a, double v)
{
    double t;
    if (a->log)
        t = (log10(v) - log10(a->lo)) / (log10(a->hi) - log10(a->lo));
    else
        t = (v - a->lo) / (a->hi - a->lo);
    return a->p0 + t * (a->p1 - a->p0);
}

static double nice_step(double range, int target)
{
    double raw = range / target;
    double mag = pow(10.0, floor(log10(raw)));
    double r = raw / mag;
    return (r < 1.5 ? 1 : r < 3.5 ? 2 : r < 7.5 ? 5 : 10) * mag;
}

/* Chooses a range covering [lo, hi]: log when it spans more than a decade. */
static axis make_axis(double lo, double hi, double p0, double p1, int allow_log, int from_zero)
{
    axis a = {lo, hi, p0, p1, 0};
    if (!(hi > lo)) {
        double pad = lo > 0 ? lo * 0.1 : 1.0;
        a.lo = lo - pad;
        a.hi = hi + pad;
        lo = a.lo;
        hi = a.hi;
    }
    if (allow_log && lo > 0 && hi / lo > 10) {
        a.log = 1;
        a.lo = pow(10.0, floor(log10(lo) * 10) / 10 - 0.05);
        a.hi = pow(10.0, ceil(log10(hi) * 10) / 10 + 0.05);
        return a;
    }
    double step = nice_step(hi - (from_zero ? 0 : lo), 6);
    a.lo = from_zero ? 0 : floor(lo / step) * step;
    a.hi = ceil(hi / step) * step;
    if (a.lo < 0 && lo >= 0)
        a.lo = 0;
    if (a.hi <= a.lo)
        a.hi = a.lo + step;
    return a;
}

static void tick_label(char *buf, size_t n, double v)
{
    if (fabs(v) >= 1000 || v == floor(v))
        snprintf(buf, n, "%.0f", v);
    else if (fabs(v) >= 1)
        snprintf(buf, n, "%.1f", v);
    else
        snprintf(buf, n, "%.3g", v);
}

/* Horizontal axis at y with ticks, grid lines up to grid_top and a title. */
static void draw_x_axis(FILE *f, const axis *a, double y, double grid_top, const char *title)
{
    fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#444'/>\n", a->p0, y, a->p1,
            y);
    double ticks[64];
    int n = 0;
    if (a->log) {
        static const double mult[] = {1, 2, 5};
        for (int e = (int)floor(log10(a->lo)); e <= (int)ceil(log10(a->hi)) && n < 60; e++)
            for (int k = 0; k < 3; k++) {
                double v = mult[k] * pow(10.0, e);
                if (v >= a->lo && v <= a->hi)
                    ticks[n++] = v;
            }
    } else {
        double step = nice_step(a->hi - a->lo, 6);
        for (double v = a->lo; v <= a->hi + step * 1e-6 && n < 60; v += step)
            ticks[n++] = v;
    }
    if (a->log) /* unlabelled minor ticks at 3, 4, 6, 7, 8, 9 x 10^e */
        for (int e = (int)floor(log10(a->lo)); e <= (int)ceil(log10(a->hi)); e++)
            for (int k = 3; k <= 9; k++) {
                double v = k * pow(10.0, e);
                if (k == 5 || v < a->lo || v > a->hi)
                    continue;
                double x = axis_map(a, v);
                fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#f2f2f2'/>\n", x,
                        grid_top, x, y);
                fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#444'/>\n", x, y,
                        x, y + 3);
            }
    for (int i = 0; i < n; i++) {
        double x = axis_map(a, ticks[i]);
        char lab[32];
        tick_label(lab, sizeof lab, ticks[i]);
        fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#e4e4e4'/>\n", x,
                grid_top, x, y);
        fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#444'/>\n", x, y, x,
                y + 5);
        fprintf(f, "<text x='%.1f' y='%.1f' text-anchor='middle' class='tick'>%s</text>\n", x,
                y + 18, lab);
    }
    fprintf(f, "<text x='%.1f' y='%.1f' text-anchor='middle' class='axis'>%s</text>\n",
            (a->p0 + a->p1) / 2, y + 38, title);
}

static void draw_y_axis(FILE *f, const axis *a, double x, double x_right, const char *title)
{
    fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#444'/>\n", x, a->p0, x,
            a->p1);
    double step = nice_step(a->hi - a->lo, 5);
    for (double v = a->lo; v <= a->hi + step * 1e-6; v += step) {
        double y = axis_map(a, v);
        char lab[32];
        tick_label(lab, sizeof lab, v);
        fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#e4e4e4'/>\n", x, y,
                x_right, y);
        fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#444'/>\n", x - 5, y, x,
                y);
        fprintf(f, "<text x='%.1f' y='%.1f' text-anchor='end' class='tick'>%s</text>\n", x - 8,
                y + 4, lab);
    }
    double ym = (a->p0 + a->p1) / 2;
    fprintf(f,
            "<text x='%.1f' y='%.1f' text-anchor='middle' class='axis' "
            "transform='rotate(-90 %.1f %.1f)'>%s</text>\n",
            x - 48, ym, x - 48, ym, title);
}

/* Deterministic jitter in [-1, 1] from the trial index. */
static double jitter(int i)
{
    unsigned h = (unsigned)i * 2654435761u;
    h ^= h >> 15;
    h *= 2246822519u;
    h ^= h >> 13;
    return (double)(h % 2001) / 1000.0 - 1.0;
}

static void draw_latency_row(FILE *f, const axis *a, const bench_result *r, const char *color,
                             double yc)
{
    const bench_stats *s = &r->latency;
    for (int i = 0; i < r->n_latency; i++)
        fprintf(f, "<circle cx='%.1f' cy='%.1f' r='2.2' fill='%s' fill-opacity='0.35'/>\n",
                axis_map(a, r->latency_ms[i]), yc + 20 * jitter(i), color);
    double x25 = axis_map(a, s->p25), x75 = axis_map(a, s->p75);
    double xmin = axis_map(a, s->min), xmax = axis_map(a, s->max);
    fprintf(f, "<g stroke='#222' stroke-width='1.3' fill='none'>\n");
    fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f'/>\n", xmin, yc, x25, yc);
    fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f'/>\n", x75, yc, xmax, yc);
    fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f'/>\n", xmin, yc - 7, xmin, yc + 7);
    fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f'/>\n", xmax, yc - 7, xmax, yc + 7);
    fprintf(f, "<rect x='%.1f' y='%.1f' width='%.1f' height='28' fill='%s' fill-opacity='0.18'/>\n",
            x25, yc - 14, fmax(x75 - x25, 1.0), color);
    fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke-width='3'/>\n",
            axis_map(a, s->p50), yc - 14, axis_map(a, s->p50), yc + 14);
    fprintf(f, "</g>\n");
    double x99 = axis_map(a, s->p99);
    fprintf(f, "<path d='M %.1f %.1f l -4 -7 h 8 z' fill='#c00'/>\n", x99, yc - 16);
    fprintf(f,
            "<text x='%.1f' y='%.1f' text-anchor='middle' class='small' fill='#c00'>p99</text>\n",
            x99, yc - 26);
}

/* Returns the y below the panel. */
static double draw_latency_panel(FILE *f, const bench_report *rep, double top)
{
    double lo = INFINITY, hi = 0;
    int rows = 0;
    for (int c = 0; c < BENCH_N_CONDITIONS; c++) {
        if (!rep->options->enabled[c])
            continue;
        rows++;
        const bench_result *r = &rep->results[c];
        if (bench_ran(rep, c) && r->n_latency > 0) {
            lo = fmin(lo, r->latency.min);
            hi = fmax(hi, r->latency.max);
        }
    }
    fprintf(f,
            "<text x='%.1f' y='%.1f' class='panel'>Latency per utterance (batch 1, %d trials "
            "per condition)</text>\n",
            LEFT - 130, top, rep->options->latency_trials);
    double plot_top = top + 22, y = plot_top;
    if (!isfinite(lo)) {
        lo = 1;
        hi = 10;
    }
    axis a = make_axis(lo, hi, LEFT, W - RIGHT, 1, 0);
    double axis_y = plot_top + rows * ROW_H;
    for (int c = 0; c < BENCH_N_CONDITIONS; c++) {
        if (!rep->options->enabled[c])
            continue;
        const bench_result *r = &rep->results[c];
        double yc = y + ROW_H / 2;
        fprintf(f, "<text x='%.1f' y='%.1f' class='label' fill='%s'>%s</text>\n", LEFT - 130,
                yc - 2, colors[c], bench_conditions[c].name);
        if (bench_ran(rep, c) && r->n_latency > 0) {
            fprintf(f, "<text x='%.1f' y='%.1f' class='small'>mean %.1f ms</text>\n", LEFT - 130,
                    yc + 14, r->latency.mean);
            draw_latency_row(f, &a, r, colors[c], yc);
        } else {
            fprintf(f, "<text x='%.1f' y='%.1f' class='skip'>%s: ", LEFT + 10, yc + 4,
                    bench_outcome_name(r->outcome));
            xml_text(f, r->reason);
            fprintf(f, "</text>\n");
        }
        y += ROW_H;
    }
    char title[96];
    snprintf(title, sizeof title, "milliseconds per utterance%s", a.log ? " (log scale)" : "");
    draw_x_axis(f, &a, axis_y, plot_top, title);
    return axis_y + 50;
}

/* Scatter of WER against speed-up over the cpu-fp32 condition (or, when it did not run, the
 * slowest condition that did). */
static double draw_scatter_panel(FILE *f, const bench_report *rep, double top)
{
    const double h = 300, x0 = LEFT, x1 = W - RIGHT - 250;
    fprintf(f, "<text x='%.1f' y='%.1f' class='panel'>WER vs speed-up (mean latency)</text>\n",
            LEFT - 130, top);
    int base = -1;
    if (bench_ran(rep, BENCH_CPU_FP32))
        base = BENCH_CPU_FP32;
    else
        for (int c = 0; c < BENCH_N_CONDITIONS; c++)
            if (bench_ran(rep, c) &&
                (base < 0 || rep->results[c].latency.mean > rep->results[base].latency.mean))
                base = c;
    double plot_top = top + 24, plot_bottom = plot_top + h;
    if (base < 0) {
        fprintf(f, "<text x='%.1f' y='%.1f' class='skip'>no condition ran</text>\n", x0,
                plot_top + 30);
        return plot_top + 60;
    }
    double sx[BENCH_N_CONDITIONS] = {0}, smax = 1, smin = 1, wmax = 0;
    for (int c = 0; c < BENCH_N_CONDITIONS; c++) {
        if (!bench_ran(rep, c))
            continue;
        const bench_result *r = &rep->results[c];
        sx[c] = r->latency.mean > 0 ? rep->results[base].latency.mean / r->latency.mean : 1;
        smax = fmax(smax, sx[c]);
        smin = fmin(smin, sx[c]);
        wmax = fmax(wmax, r->wer);
    }
    axis ax = make_axis(smin < 1 ? smin : 0, smax * 1.1, x0, x1, 0, smin >= 1);
    if (smax / fmax(smin, 1e-9) > 20)
        ax = make_axis(smin / 1.5, smax * 1.5, x0, x1, 1, 0);
    axis ay = make_axis(0, wmax > 0 ? wmax * 1.15 : 1, plot_bottom, plot_top, 0, 1);
    draw_y_axis(f, &ay, x0, x1, "WER %");
    char title[96];
    snprintf(title, sizeof title, "speed-up over %s%s", bench_conditions[base].name,
             ax.log ? " (log scale)" : "");
    draw_x_axis(f, &ax, plot_bottom, plot_top, title);
    double bx = axis_map(&ax, 1.0);
    fprintf(
        f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#888' stroke-dasharray='4 4'/>\n",
        bx, plot_top, bx, plot_bottom);
    double ly = plot_top + 10;
    for (int c = 0; c < BENCH_N_CONDITIONS; c++) {
        if (!rep->options->enabled[c])
            continue;
        const bench_result *r = &rep->results[c];
        if (bench_ran(rep, c)) {
            double px = axis_map(&ax, sx[c]), py = axis_map(&ay, r->wer);
            fprintf(f, "<circle cx='%.1f' cy='%.1f' r='7' fill='%s' stroke='#222'/>\n", px, py,
                    colors[c]);
            /* cpu-int8 is labelled below its point, the others above, so that near-equal
             * points stay readable. */
            fprintf(f, "<text x='%.1f' y='%.1f' class='small'>%s</text>\n", px + 9,
                    c == BENCH_CPU_INT8 ? py + 18 : py - 9, bench_conditions[c].name);
            fprintf(f, "<circle cx='%.1f' cy='%.1f' r='6' fill='%s'/>\n", x1 + 24, ly, colors[c]);
            fprintf(f, "<text x='%.1f' y='%.1f' class='label'>%s</text>\n", x1 + 36, ly + 5,
                    bench_conditions[c].name);
            fprintf(f,
                    "<text x='%.1f' y='%.1f' class='legend'>%.2fx, WER %.2f%%, CER %.2f%%</text>\n",
                    x1 + 36, ly + 22, sx[c], r->wer, r->cer);
        } else {
            fprintf(f, "<circle cx='%.1f' cy='%.1f' r='6' fill='none' stroke='#999'/>\n", x1 + 24,
                    ly);
            fprintf(f, "<text x='%.1f' y='%.1f' class='label' fill='#888'>%s</text>\n", x1 + 36,
                    ly + 5, bench_conditions[c].name);
            fprintf(f, "<text x='%.1f' y='%.1f' class='legend' fill='#888'>%s</text>\n", x1 + 36,
                    ly + 22, bench_outcome_name(r->outcome));
        }
        ly += 48;
    }
    return plot_bottom + 50;
}

int report_svg(const char *path, const bench_report *rep, char *error, size_t error_size)
{
    int rows = 0;
    for (int c = 0; c < BENCH_N_CONDITIONS; c++)
        rows += rep->options->enabled[c];
    double height = 70 + 22 + rows * ROW_H + 50 + 40 + 24 + 300 + 60;
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(error, error_size, "%s: %s", path, strerror(errno));
        return -1;
    }
    fprintf(f,
            "<?xml version='1.0' encoding='UTF-8'?>\n"
            "<svg xmlns='http://www.w3.org/2000/svg' width='%.0f' height='%.0f' "
            "viewBox='0 0 %.0f %.0f' font-family='DejaVu Sans, Helvetica, Arial, sans-serif'>\n"
            "<style>.title{font-size:17px;font-weight:bold}.sub{font-size:11px;fill:#555}"
            ".panel{font-size:14px;font-weight:bold}.label{font-size:13px;font-weight:bold}"
            ".small{font-size:10px}.tick{font-size:11px;fill:#333}.axis{font-size:12px}"
            ".legend{font-size:12px}.skip{font-size:12px;fill:#888;font-style:italic}</style>\n"
            "<rect width='100%%' height='100%%' fill='white'/>\n",
            W, height, W, height);
    char line[1024];
    fprintf(f, "<text x='20' y='28' class='title'>ds2-bench: ");
    xml_text(f, rep->options->model_path);
    fprintf(f, " on %d utterances</text>\n<text x='20' y='46' class='sub'>", rep->n_eval);
    report_machine_line(line, sizeof line, rep);
    xml_text(f, line);
    fprintf(f, "</text>\n");
    double y = draw_latency_panel(f, rep, 82);
    draw_scatter_panel(f, rep, y + 20);
    fprintf(f, "</svg>\n");
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        snprintf(error, error_size, "%s: write failed: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}
