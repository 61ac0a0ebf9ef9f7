/*
 * A small fork-join pool owned by one session: n_threads - 1 workers plus the calling thread.
 * parallel_for splits a range into at most n_threads contiguous parts and returns when all are
 * done. No globals: each session has its own pool.
 */
#ifndef DS2_THREADPOOL_H
#define DS2_THREADPOOL_H

#include "base/error.h"

typedef struct ds2_threadpool ds2_threadpool;

/* Runs indices [begin, end) of the range. */
typedef void (*ds2_parallel_fn)(void *ctx, int begin, int end);

/* n_threads >= 1; 1 starts no thread (parallel_for runs inline). */
ds2_status ds2_threadpool_create(int n_threads, ds2_threadpool **pool, ds2_err *err);
void ds2_threadpool_destroy(ds2_threadpool *pool);
int ds2_threadpool_size(const ds2_threadpool *pool);

/* Calls fn over [0, range) split into parts whose starts are multiples of `grain` (>= 1), at
 * most one part per thread, the caller running the first. Ranges below 2 * grain run inline.
 * Not reentrant: fn must not call parallel_for on the same pool. */
void ds2_threadpool_parallel_for(ds2_threadpool *pool, int range, int grain, ds2_parallel_fn fn,
                                 void *ctx);

#endif
