/* Runs each condition in a forked child: ru_maxrss then measures that condition alone, and a
 * crash in one condition is reported instead of taking the whole benchmark down. The child
 * streams its bench_result over a pipe (same binary on both ends, so raw structs suffice;
 * pointers are re-created by the reader). */
#include "runner.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static int read_all(int fd, void *buf, size_t n)
{
    char *p = buf;
    while (n > 0) {
        ssize_t k = read(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static int send_string(int fd, const char *s);

static int send_result(int fd, const bench_result *r)
{
    if (write_all(fd, r, sizeof *r) != 0)
        return -1;
    if (r->n_latency > 0 &&
        (write_all(fd, r->latency_ms, (size_t)r->n_latency * sizeof(double)) != 0 ||
         write_all(fd, r->latency_audio_s, (size_t)r->n_latency * sizeof(double)) != 0))
        return -1;
    if (r->n_throughput > 0 &&
        write_all(fd, r->throughput_ms, (size_t)r->n_throughput * sizeof(double)) != 0)
        return -1;
    for (int i = 0; i < r->n_utterances; i++) {
        const bench_utterance_result *u = &r->utterances[i];
        if (write_all(fd, u, sizeof *u) != 0 || send_string(fd, u->hypothesis) != 0 ||
            send_string(fd, u->beam_hypothesis) != 0)
            return -1;
    }
    return 0;
}

/* length, then the bytes; NULL as length 0 */
static int send_string(int fd, const char *s)
{
    uint32_t len = s ? (uint32_t)strlen(s) : 0;
    return write_all(fd, &len, sizeof len) != 0 || (len && write_all(fd, s, len) != 0) ? -1 : 0;
}

static char *receive_string(int fd)
{
    uint32_t len;
    if (read_all(fd, &len, sizeof len) != 0)
        return NULL;
    char *s = malloc((size_t)len + 1);
    if (s && len && read_all(fd, s, len) != 0) {
        free(s);
        return NULL;
    }
    if (s)
        s[len] = '\0';
    return s;
}

static double *read_doubles(int fd, int n)
{
    double *x = malloc((size_t)n * sizeof *x);
    if (x && read_all(fd, x, (size_t)n * sizeof *x) != 0) {
        free(x);
        return NULL;
    }
    return x;
}

static int receive_result(int fd, bench_result *r)
{
    if (read_all(fd, r, sizeof *r) != 0)
        return -1;
    r->latency_ms = r->latency_audio_s = r->throughput_ms = NULL;
    r->utterances = NULL;
    int n_utt = r->n_utterances, n_lat = r->n_latency, n_tp = r->n_throughput;
    r->n_utterances = r->n_latency = r->n_throughput = 0;
    if (n_lat < 0 || n_tp < 0 || n_utt < 0)
        return -1;
    if (n_lat > 0) {
        r->latency_ms = read_doubles(fd, n_lat);
        r->latency_audio_s = read_doubles(fd, n_lat);
        if (!r->latency_ms || !r->latency_audio_s)
            return -1;
        r->n_latency = n_lat;
    }
    if (n_tp > 0) {
        if (!(r->throughput_ms = read_doubles(fd, n_tp)))
            return -1;
        r->n_throughput = n_tp;
    }
    if (n_utt > 0) {
        r->utterances = calloc((size_t)n_utt, sizeof *r->utterances);
        if (!r->utterances)
            return -1;
        for (int i = 0; i < n_utt; i++) {
            bench_utterance_result *u = &r->utterances[i];
            if (read_all(fd, u, sizeof *u) != 0)
                return -1;
            u->hypothesis = u->beam_hypothesis = NULL;
            r->n_utterances = i + 1;
            if (!(u->hypothesis = receive_string(fd)) || !(u->beam_hypothesis = receive_string(fd)))
                return -1;
        }
    }
    return 0;
}

void bench_result_free(bench_result *r)
{
    for (int i = 0; i < r->n_utterances; i++) {
        free(r->utterances[i].hypothesis);
        free(r->utterances[i].beam_hypothesis);
    }
    free(r->utterances);
    free(r->latency_ms);
    free(r->latency_audio_s);
    free(r->throughput_ms);
    r->utterances = NULL;
    r->latency_ms = r->latency_audio_s = r->throughput_ms = NULL;
    r->n_utterances = r->n_latency = r->n_throughput = 0;
}

static void failed(bench_result *r, bench_condition_id c, int n_threads, const char *why)
{
    bench_result_free(r);
    memset(r, 0, sizeof *r);
    r->condition = c;
    r->n_threads = n_threads;
    r->outcome = BENCH_FAILED;
    snprintf(r->reason, sizeof r->reason, "%s", why);
}

void runner_measure_isolated(const bench_options *o, bench_condition_id c, const ds2_manifest *eval,
                             bench_result *r)
{
    memset(r, 0, sizeof *r);
    int fds[2];
    if (pipe(fds) != 0) {
        failed(r, c, o->n_threads, "pipe() failed");
        return;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        failed(r, c, o->n_threads, "fork() failed");
        return;
    }
    if (pid == 0) {
        close(fds[0]);
        bench_result mine;
        runner_measure(o, c, eval, &mine);
        int rc = send_result(fds[1], &mine);
        close(fds[1]);
        /* _exit: the parent's stdio buffers must not be flushed a second time. */
        _exit(rc == 0 ? 0 : 1);
    }
    close(fds[1]);
    int got = receive_result(fds[0], r);
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFSIGNALED(status)) {
        char why[128];
        snprintf(why, sizeof why, "measuring process killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
        failed(r, c, o->n_threads, why);
    } else if (got != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        failed(r, c, o->n_threads, "measuring process ended without sending its result");
    }
}
