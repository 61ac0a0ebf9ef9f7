/* DS2_CHECK_MAIN(make_suite): a main() that runs one Check suite and exits non-zero on any
 * failure. Suites run from the repository root (golden files are found relative to it). */
#ifndef DS2_CHECK_MAIN_H
#define DS2_CHECK_MAIN_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "cpuinfo.h"

#define DS2_CHECK_MAIN(make_suite)                                                                 \
    int main(void)                                                                                 \
    {                                                                                              \
        SRunner *runner = srunner_create(make_suite());                                            \
        srunner_run_all(runner, CK_NORMAL);                                                        \
        int failed = srunner_ntests_failed(runner);                                                \
        srunner_free(runner);                                                                      \
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;                                          \
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
