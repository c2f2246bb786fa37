/* testutil.h — helpers shared by the cmocka tests. */
#ifndef LSP_TESTUTIL_H
#define LSP_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the three headers above first */
#include <cmocka.h>

#include "core/formats/lsp_npy.h"

/* Path of a file in tests/data (static buffer; copy it if you keep it). */
const char *td_path(const char *rel);

/* Load a reference array from tests/data; fails the test if it cannot. */
void td_load(const char *rel, lsp_array *out);

/* |got - want| <= tol_abs + tol_rel*|want|, NaN/Inf never pass unless equal.
 * On failure prints what/where and fails the test. */
void td_close(double got, double want, double tol_rel, double tol_abs,
              const char *what, size_t index);

/* Scratch file path unique to this process (static buffer). */
const char *td_tmp(const char *name);

#endif
