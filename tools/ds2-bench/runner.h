/* Measuring one condition: accuracy over the eval set, batch-1 latency, batched throughput. */
#ifndef DS2_BENCH_RUNNER_H
#define DS2_BENCH_RUNNER_H

#include "bench.h"

/* Measures condition c in the calling process and fills r (outcome RAN, SKIPPED with the
 * library's reason, or FAILED with a message naming the file or call at fault). */
void runner_measure(const bench_options *opts, bench_condition_id c, const ds2_manifest *eval,
                    bench_result *r);

/* Runs runner_measure in a forked child so that peak RSS is per condition; the child sends
 * its result back over a pipe. */
void runner_measure_isolated(const bench_options *opts, bench_condition_id c,
                             const ds2_manifest *eval, bench_result *r);

#endif
