/* writers_fixture.h — what the report writers' tests share
 * (test_report_tables.c, test_report_docs.c; tests/CMakeLists.txt builds
 * writers_fixture.c into both): a scratch folder made by rw_setup and
 * emptied and removed by rw_teardown (the group's fixtures), and a sample
 * table whose cells need quoting, escaping and rounding. */
#ifndef LSP_WRITERS_FIXTURE_H
#define LSP_WRITERS_FIXTURE_H

#include "reports/lsp_table.h"
#include "testutil.h"

extern char rw_dir[4000]; /* the scratch folder */

/* The path of `name` in the scratch folder; 8 rotating buffers so a test
 * can hold a few at once. */
const char *rw_out(const char *name);
/* A whole file (lsp_read_file; fails the test if it cannot); free it. */
char *rw_slurp(const char *path);
/* Fails the test if a temporary (*.tmp.*) is left in the scratch folder. */
void rw_no_temporaries(void);
int rw_setup(void **state);
int rw_teardown(void **state);

/* Three rows: a quoted and an escaped text, NaN, ±inf, an interval, the
 * smallest subnormal, a NULL text; the caller frees it. */
lsp_table *rw_sample_table(void);

#endif
