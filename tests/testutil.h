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

/* Compare got[0..count) with the float32 reference array tests/data/rel:
 * each element within abs_floor + rtol*|want| + rtol/10 * max|want| (float32
 * sums leave absolute noise of about 1e-9 on entries of 1e-5, so a purely
 * relative tolerance would fail on the smallest entries). */
void td_close_array(const float *got, const char *rel, size_t count,
                    double rtol, double abs_floor);

/* The float32 array tests/data/rel of count values, as a malloc'ed copy
 * (the caller frees it); fails the test on another type or count. */
float *td_load_f32(const char *rel, size_t count);

/* The float32 array tests/data/rel of count values copied into dst; fails
 * the test on another type or count. */
void td_load_into(const char *rel, float *dst, size_t count);

/* got[0..count) against the float64 reference array tests/data/rel, each
 * within atol + rtol·|want|; failures name `what` (rel when NULL). */
void td_close_f64(const float *got, const char *rel, size_t count,
                  double rtol, double atol, const char *what);

/* Load the inputs tests/data/x_rel and their labels tests/data/y_rel (in
 * [0, k)); *y is malloc'ed. */
void td_load_xy(const char *x_rel, const char *y_rel, int k,
                lsp_array *xa, int32_t **y, size_t *n);

/* n points of k Gaussian blobs in d dimensions, clipped to [0, 1]: point i
 * of class i mod k at the class mean (each coordinate mlo + mspan·U, U
 * uniform) plus spread·(U1 + U2 + U3 − 1.5), from a linear congruential
 * generator seeded by `seed` (the same numbers on every platform).
 * Returns -1 when out of memory. */
int td_blobs(float *x, int32_t *y, int n, int k, int d, unsigned seed, double mlo,
             double mspan, double spread);

/* Scratch file path unique to this process (static buffer); whatever the
 * process leaves under such names (files or folders) is removed when it
 * exits normally. */
const char *td_tmp(const char *name);

/* Write len bytes of buf to path (a corrupted copy of a file); fails the
 * test if it cannot. */
void td_write_raw(const char *path, const char *buf, size_t len);

/* lsp_model_load(path) must fail, leave no model, and say why in a message
 * that holds both needle and the path. */
void td_expect_load_error(const char *path, const char *needle);

/* Skipped is not passed. cmocka's skip() marks a test SKIPPED, but the
 * program still exits 0 and ctest would count it as a pass. Every test file
 * includes this header, so the macros below replace cmocka's: skip() also
 * counts the skip, and cmocka_run_group_tests() (and the _name variant)
 * return, for every group run so far, 1 when a test failed, else
 * TD_SKIP_CODE when one was skipped, else 0: main returns it. A main that
 * runs several groups returns the last one's status, which covers them
 * all. tests/CMakeLists.txt gives every test SKIP_RETURN_CODE
 * TD_SKIP_CODE, so ctest lists such a test as skipped, and scripts/test,
 * whose scripts/setup installs every dependency, fails on it. */
#define TD_SKIP_CODE 77
void td_note_skip(void);
int td_exit_code(int failed);
#undef skip
#define skip() (td_note_skip(), _skip(__FILE__, __LINE__))
#undef cmocka_run_group_tests
#define cmocka_run_group_tests(group_tests, group_setup, group_teardown) \
  cmocka_run_group_tests_name(#group_tests, group_tests, group_setup, group_teardown)
#undef cmocka_run_group_tests_name
#define cmocka_run_group_tests_name(name, group_tests, group_setup, group_teardown) \
  td_exit_code(_cmocka_run_group_tests(name, group_tests,                             \
                                       sizeof(group_tests) / sizeof((group_tests)[0]), \
                                       group_setup, group_teardown))

#endif
