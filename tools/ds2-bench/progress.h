/* One-line progress on stderr ("cpu-int8  latency  120/300  ETA 14 s"), only when enabled
 * (stderr is a TTY and not --quiet). */
#ifndef DS2_BENCH_PROGRESS_H
#define DS2_BENCH_PROGRESS_H

typedef struct progress_state {
    int enabled;
    const char *condition;
    const char *phase;
    int total;
    double start;
    double last_draw;
} progress_state;

void progress_begin(progress_state *p, int enabled, const char *condition, const char *phase,
                    int total);
void progress_update(progress_state *p, int done);
void progress_end(progress_state *p);

#endif
