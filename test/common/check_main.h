/* DS2_CHECK_MAIN(make_suite): the one main() of the Check suites: runs one suite and exits
 * non-zero on any failure. Suites run from the repository root (golden files are found relative to
 * it). */
#ifndef DS2_CHECK_MAIN_H
#define DS2_CHECK_MAIN_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "cpuinfo.h"

/* Exit status of a suite binary that ran nothing it was meant to (make test shows SKIPPED). */
#define DS2_CHECK_SKIPPED 77

/* Runs one suite (and frees it); returns the number of failed tests. */
static inline int ds2_check_run(Suite *suite)
{
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed;
}

#define DS2_CHECK_MAIN(make_suite)                                                                 \
    int main(void)                                                                                 \
    {                                                                                              \
        return ds2_check_run(make_suite()) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;                     \
    }

/* Inside a START_TEST: returns (the test passes) after printing "skipped: ..." when the CPU
 * lacks ISA tier `isa` (a ds2_isa from kernels/cpuinfo.h), so a tier's tests say they did not
 * run instead of failing or silently passing. */
#define DS2_SKIP_UNLESS_ISA(isa)                                                                   \
    do {                                                                                           \
        if (!ds2_cpu_has(isa)) {                                                                   \
            printf("skipped: %s: this CPU lacks %s\n", __func__, ds2_isa_name(isa));               \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#endif
