#include "cpu/threadpool.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct worker {
    ds2_threadpool *pool;
    int index; /* 1..n_threads-1; part 0 is the caller's */
    pthread_t thread;
} worker;

struct ds2_threadpool {
    int n_threads;
    int n_started;
    pthread_mutex_t lock;
    pthread_cond_t work_cv;
    pthread_cond_t done_cv;
    unsigned long generation; /* bumped per job; workers run each generation once */
    int shutdown;
    int pending; /* workers still running the current job */
    /* current job */
    ds2_parallel_fn fn;
    void *ctx;
    int range, chunk, n_parts;
    worker *workers;
};

static void run_part(ds2_threadpool *p, int part)
{
    int begin = part * p->chunk;
    int end = begin + p->chunk < p->range ? begin + p->chunk : p->range;
    if (begin < end)
        p->fn(p->ctx, begin, end);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    ds2_threadpool *p = w->pool;
    unsigned long seen = 0;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->shutdown && p->generation == seen)
            pthread_cond_wait(&p->work_cv, &p->lock);
        if (p->shutdown)
            break;
        seen = p->generation;
        int part = w->index;
        int active = part < p->n_parts;
        pthread_mutex_unlock(&p->lock);
        if (active)
            run_part(p, part);
        pthread_mutex_lock(&p->lock);
        if (--p->pending == 0)
            pthread_cond_signal(&p->done_cv);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

ds2_status ds2_threadpool_create(int n_threads, ds2_threadpool **pool, ds2_err *err)
{
    if (!pool)
        return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT, "threadpool: NULL output pointer");
    *pool = NULL;
    if (n_threads < 1 || n_threads > 1024)
        return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT, "threadpool: n_threads %d not in 1..1024",
                        n_threads);
    ds2_threadpool *p = calloc(1, sizeof(*p));
    if (!p)
        return ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "threadpool: out of memory");
    p->n_threads = n_threads;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->work_cv, NULL);
    pthread_cond_init(&p->done_cv, NULL);
    if (n_threads > 1) {
        p->workers = calloc((size_t)n_threads, sizeof(*p->workers));
        if (!p->workers) {
            ds2_threadpool_destroy(p);
            return ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "threadpool: out of memory");
        }
        for (int i = 1; i < n_threads; i++) {
            p->workers[i].pool = p;
            p->workers[i].index = i;
            if (pthread_create(&p->workers[i].thread, NULL, worker_main, &p->workers[i]) != 0) {
                ds2_threadpool_destroy(p);
                return ds2_fail(err, DS2_ERR_OUT_OF_MEMORY,
                                "threadpool: cannot start thread %d of %d", i, n_threads);
            }
            p->n_started = i;
        }
    }
    *pool = p;
    return DS2_OK;
}

void ds2_threadpool_destroy(ds2_threadpool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->shutdown = 1;
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->lock);
    for (int i = 1; i <= p->n_started; i++)
        pthread_join(p->workers[i].thread, NULL);
    pthread_cond_destroy(&p->work_cv);
    pthread_cond_destroy(&p->done_cv);
    pthread_mutex_destroy(&p->lock);
    free(p->workers);
    free(p);
}

int ds2_threadpool_size(const ds2_threadpool *p)
{
    return p ? p->n_threads : 1;
}

void ds2_threadpool_parallel_for(ds2_threadpool *p, int range, int grain, ds2_parallel_fn fn,
                                 void *ctx)
{
    if (range <= 0)
        return;
    if (grain < 1)
        grain = 1;
    int grains = (range + grain - 1) / grain;
    int n = p ? p->n_threads : 1;
    if (n > grains)
        n = grains;
    if (n <= 1) {
        fn(ctx, 0, range);
        return;
    }
    pthread_mutex_lock(&p->lock);
    p->fn = fn;
    p->ctx = ctx;
    p->range = range;
    p->chunk = (grains + n - 1) / n * grain;
    p->n_parts = (range + p->chunk - 1) / p->chunk;
    p->pending = p->n_threads - 1;
    p->generation++;
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->lock);
    run_part(p, 0);
    pthread_mutex_lock(&p->lock);
    while (p->pending > 0)
        pthread_cond_wait(&p->done_cv, &p->lock);
    pthread_mutex_unlock(&p->lock);
}
