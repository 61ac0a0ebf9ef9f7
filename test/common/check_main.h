/* DS2_CHECK_MAIN(make_suite): a main() that runs one Check suite and exits non-zero on any
 * failure. Suites run from the repository root (golden files are found relative to it). */
#ifndef DS2_CHECK_MAIN_H
#define DS2_CHECK_MAIN_H

#include <check.h>
#include <stdlib.h>

#define DS2_CHECK_MAIN(make_suite)                                                                 \
    int main(void)                                                                                 \
    {                                                                                              \
        SRunner *runner = srunner_create(make_suite());                                            \
        srunner_run_all(runner, CK_NORMAL);                                                        \
        int failed = srunner_ntests_failed(runner);                                                \
        srunner_free(runner);                                                                      \
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;                                          \
    }

#endif
