/* model_fixture.h — shared by the tests of imported models
 * (tests/test_onnx_*.c): loading a file of tests/data, counting a kind of
 * node, a largest absolute value, a refusal that must name the node and
 * the reason, a comparison with PyTorch's float64 logits, input gradient
 * and FGSM predictions, and a central-difference check of a gradient of
 * Σ_j c_j·z_j on one input. Everything is `static inline` so a test file
 * that uses part of it compiles without warnings. Include after
 * testutil.h. */
#ifndef LSP_MODEL_FIXTURE_H
#define LSP_MODEL_FIXTURE_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/import/lsp_import.h"
#include "core/formats/lsp_npy.h"
#include "core/loss/lsp_loss.h"
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

/* The logits of m on tests/data/<xrel> (an n × in_dim array; n × k,
 * malloc'ed). */
static inline float *fx_logits(const lsp_model *m, const char *xrel, size_t n,
                               size_t k) {
  lsp_array x;
  td_load(xrel, &x);
  assert_int_equal(x.count, n * m->in_dim);
  float *z = malloc(n * k * sizeof *z);
  assert_non_null(z);
  assert_int_equal(lsp_model_predict(m, x.data, n, n, z, NULL), 0);
  lsp_array_release(&x);
  return z;
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

/* A PyTorch float64 reference in tests/data/<dir>: x.npy and labels.npy
 * (n examples, k classes), <ref>_logits.npy, <ref>_grad.npy (the input
 * gradient of the summed cross-entropy) and <ref>_fgsm.npy (the predictions
 * on clip(x + 0.1·sign(grad), 0, 1)). The model's logits must lie within
 * ztol of them and its gradient within gtol, both relative to the largest
 * value, and its FGSM predictions must be PyTorch's. */
static inline void fx_torch_case(lsp_model *m, const char *dir, const char *file,
                                 const char *ref, size_t n, size_t k, double ztol,
                                 double gtol) {
  lsp_array x, ya, zw, gw, fa;
  char p[160];
  snprintf(p, sizeof p, "%slabels.npy", dir);
  td_load(p, &ya);
  snprintf(p, sizeof p, "%sx.npy", dir);
  td_load(p, &x);
  snprintf(p, sizeof p, "%s%s_logits.npy", dir, ref);
  td_load(p, &zw);
  snprintf(p, sizeof p, "%s%s_grad.npy", dir, ref);
  td_load(p, &gw);
  snprintf(p, sizeof p, "%s%s_fgsm.npy", dir, ref);
  td_load(p, &fa);
  int32_t *y, *yf;
  assert_int_equal(lsp_array_labels(&ya, "labels.npy", (int)k, &y), LSP_OK);
  assert_int_equal(lsp_array_labels(&fa, "fgsm.npy", (int)k, &yf), LSP_OK);
  const size_t d = m->in_dim;
  assert_int_equal(x.count, n * d);
  lsp_model_ws *ws = lsp_model_ws_alloc(m, n);
  const float *z;
  assert_int_equal(lsp_model_forward(m, ws, x.data, n, &z, NULL), 0);
  const double *zr = zw.data, *gr = gw.data;
  double zs = fx_max_abs(zr, n * k);
  for (size_t i = 0; i < n * k; i++) td_close(z[i], zr[i], ztol, ztol * zs, file, i);
  float *dz = malloc(n * k * sizeof *dz), *dx = malloc(n * d * sizeof *dx);
  assert_non_null(dz);
  assert_non_null(dx);
  lsp_ls ce = {0.0, LSP_LS_UNIFORM, 0};
  assert_int_equal(lsp_loss_xent(z, y, n, k, &ce, dz, 1.0, NULL, NULL), 0);
  assert_int_equal(lsp_model_backward(m, ws, dz, LSP_BACK_INPUT, dx), 0);
  double gs = fx_max_abs(gr, n * d);
  for (size_t i = 0; i < n * d; i++) td_close(dx[i], gr[i], gtol, gtol * gs, "dL/dx", i);
  const float *xv = x.data;
  for (size_t i = 0; i < n * d; i++) { /* the FGSM step of eps 0.1 */
    float s = dx[i] > 0 ? 1.0f : dx[i] < 0 ? -1.0f : 0.0f;
    dx[i] = fminf(fmaxf(xv[i] + 0.1f * s, 0.0f), 1.0f);
  }
  assert_int_equal(lsp_model_forward(m, ws, dx, n, &z, NULL), 0);
  for (size_t i = 0; i < n; i++) {
    size_t b = 0;
    for (size_t j = 1; j < k; j++)
      if (z[i * k + j] > z[i * k + b]) b = j;
    assert_int_equal(b, yf[i]);
  }
  free(dz);
  free(dx);
  free(y);
  free(yf);
  lsp_model_ws_free(ws);
  lsp_array_release(&x);
  lsp_array_release(&ya);
  lsp_array_release(&zw);
  lsp_array_release(&gw);
  lsp_array_release(&fa);
}

#endif
