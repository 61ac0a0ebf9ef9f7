#include "pool.h"

#include <immintrin.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

struct pool {
    int n;
    pthread_t *threads;
    atomic_int generation, done, quit;
    pool_fn fn;
    void *arg;
};

/* Spin briefly, then yield: on an oversubscribed machine two of our threads may share a core,
 * and a pure spinner would hold it for a whole time slice. */
static void relax(int *spins)
{
    if (++*spins < 4000)
        _mm_pause();
    else
        sched_yield();
}

typedef struct worker_arg {
    pool *p;
    int index;
} worker_arg;

/* One thread per core: otherwise the scheduler may stack both on one core and a 40 µs product
 * waits a whole time slice for its other half. */
static void pin(int index)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(index % CPU_SETSIZE, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

static void *worker(void *v)
{
    worker_arg *wa = v;
    pool *p = wa->p;
    const int index = wa->index;
    free(wa);
    pin(index);
    int seen = 0;
    for (;;) {
        int g, spins = 0;
        while ((g = atomic_load_explicit(&p->generation, memory_order_acquire)) == seen) {
            if (atomic_load_explicit(&p->quit, memory_order_relaxed))
                return NULL;
            relax(&spins);
        }
        seen = g;
        p->fn(p->arg, index, p->n);
        atomic_fetch_add_explicit(&p->done, 1, memory_order_acq_rel);
    }
}

pool *pool_create(int n_threads)
{
    pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->n = n_threads;
    if (n_threads > 1)
        pin(0);
    p->threads = calloc((size_t)n_threads, sizeof *p->threads);
    for (int i = 1; i < n_threads; i++) {
        worker_arg *wa = malloc(sizeof *wa);
        wa->p = p;
        wa->index = i;
        pthread_create(&p->threads[i], NULL, worker, wa);
    }
    return p;
}

void pool_run(pool *p, pool_fn fn, void *arg)
{
    p->fn = fn;
    p->arg = arg;
    atomic_store_explicit(&p->done, 0, memory_order_relaxed);
    atomic_fetch_add_explicit(&p->generation, 1, memory_order_acq_rel);
    fn(arg, 0, p->n);
    int spins = 0;
    while (atomic_load_explicit(&p->done, memory_order_acquire) < p->n - 1)
        relax(&spins);
}

void pool_free(pool *p)
{
    if (!p)
        return;
    atomic_store(&p->quit, 1);
    for (int i = 1; i < p->n; i++)
        pthread_join(p->threads[i], NULL);
    free(p->threads);
    free(p);
    cpu_set_t all;
    CPU_ZERO(&all);
    for (int i = 0; i < CPU_SETSIZE; i++)
        CPU_SET(i, &all);
    pthread_setaffinity_np(pthread_self(), sizeof all, &all);
}
