/* Progress line on stderr, redrawn at most 10 times a second. */
#include "progress.h"

#include <stdio.h>
#include <time.h>

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void progress_begin(progress_state *p, int enabled, const char *condition, const char *phase,
                    int total)
{
    p->enabled = enabled;
    p->condition = condition;
    p->phase = phase;
    p->total = total;
    p->start = now_seconds();
    p->last_draw = 0;
    if (enabled)
        progress_update(p, 0);
}

void progress_update(progress_state *p, int done)
{
    if (!p->enabled)
        return;
    double t = now_seconds();
    if (done != 0 && done != p->total && t - p->last_draw < 0.1)
        return;
    p->last_draw = t;
    double elapsed = t - p->start;
    char eta[32] = "";
    if (done > 0 && done < p->total)
        snprintf(eta, sizeof eta, "ETA %.0f s", elapsed / done * (p->total - done));
    fprintf(stderr, "\r\033[K%-9s %-11s %6d/%-6d %s", p->condition, p->phase, done, p->total, eta);
    fflush(stderr);
}

void progress_end(progress_state *p)
{
    if (!p->enabled)
        return;
    fprintf(stderr, "\r\033[K");
    fflush(stderr);
    p->enabled = 0;
}
