/* A tiny spinning fork-join pool for the kernel bench: workers wait on a generation counter
 * so that a 40 µs product is not dominated by waking sleeping threads. */
#ifndef DS2_KBENCH_POOL_H
#define DS2_KBENCH_POOL_H

typedef void (*pool_fn)(void *arg, int thread, int n_threads);

typedef struct pool pool;

pool *pool_create(int n_threads);
/* Runs fn(arg, t, n) on threads t = 0..n-1 (0 is the caller) and waits for all. */
void pool_run(pool *p, pool_fn fn, void *arg);
void pool_free(pool *p);

#endif
