/* model_fixture.h — shared by the tests of imported models
 * (tests/test_onnx_*.c): loading a file of tests/data, counting a kind of
 * node, a largest absolute value, a refusal that must name the node and
 * the reason, and a central-difference check of a gradient of
 * Σ_j c_j·z_j on one input. Everything is `static inline` so a test file
 * that uses part of it compiles without warnings. Include after
 * testutil.h. */
#ifndef LSP_MODEL_FIXTURE_H
#define LSP_MODEL_FIXTURE_H

#include <math.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/import/lsp_import.h"
#include "core/nn/lsp_model.h"

/* The model of tests/data/<rel>; fails the test naming the error. */
static inline lsp_model *fx_load(const char *rel) {
  lsp_model *m = NULL;
  int st = lsp_model_load(td_path(rel), &m);
  if (st) print_error("%s: %s\n", rel, lsp_errmsg());
  assert_int_equal(st, LSP_OK);
  return m;
}

static inline size_t fx_count_op(const lsp_model *m, lsp_op op) {
  size_t k = 0;
  for (size_t i = 0; i < m->nnodes; i++) k += m->nodes[i].op == op;
  return k;
}

static inline double fx_max_abs(const double *v, size_t n) {
  double s = 0.0;
  for (size_t i = 0; i < n; i++)
    if (fabs(v[i]) > s) s = fabs(v[i]);
  return s;
}

/* tests/data/<rel> must be refused (LSP_EDATA) with a message naming both
 * node and needle. */
static inline void fx_refused(const char *rel, const char *node,
                              const char *needle) {
  lsp_model *m = (lsp_model *)1;
  assert_int_equal(lsp_model_load(td_path(rel), &m), LSP_EDATA);
  if (!strstr(lsp_errmsg(), node) || !strstr(lsp_errmsg(), needle)) {
    print_error("%s: '%s' lacks '%s' or '%s'\n", rel, lsp_errmsg(), node,
                needle);
    fail();
  }
}

/* Σ_j c_j·z_j over the first 3 logits of the one input x. */
static inline double fx_objective(lsp_model *m, lsp_model_ws *ws,
                                  const float *x, const float *c) {
  const float *z;
  assert_int_equal(lsp_model_forward(m, ws, x, 1, &z, NULL), 0);
  double l = 0;
  for (size_t j = 0; j < 3; j++) l += (double)c[j] * z[j];
  return l;
}

/* g (n values) against central differences of fx_objective in each of the
 * n values v (inputs or parameters) with step h; g must not be all zero. */
static inline void fx_fd_check(lsp_model *m, lsp_model_ws *ws, float *v,
                               const float *g, size_t n, const float *x,
                               const float *c, float h, const char *what) {
  double nonzero = 0;
  for (size_t i = 0; i < n; i++) {
    float keep = v[i];
    v[i] = keep + h;
    double lp = fx_objective(m, ws, x, c);
    v[i] = keep - h;
    double lm = fx_objective(m, ws, x, c);
    v[i] = keep;
    td_close(g[i], (lp - lm) / (2.0 * h), 3e-3, 3e-4, what, i);
    nonzero += fabs(g[i]);
  }
  assert_true(nonzero > 0.1);
}

#endif
