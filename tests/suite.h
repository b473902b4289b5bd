/* What every test executable's main() ends with, shared by the unit and
 * the integration tests. */
#pragma once

#include <check.h>
#include <stdlib.h>

/* Runs the suite (CK_NORMAL, fork mode) and frees it; the exit status for main(). */
static inline int run_suite(Suite *s) {
        SRunner *sr = srunner_create(s);
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
