/* Single layers against PyTorch on awkward shapes (tests/data/torch_layers,
 * made by tests/data/gen_torch_layers.py): Conv2d with non-square kernels,
 * strides and paddings; MaxPool2d with padding, ceil_mode and tied maxima;
 * AvgPool2d with and without padding in the divisor; global average pooling;
 * BatchNorm2d in training mode (whole batch and in shares) and eval mode.
 * Forward outputs and every gradient of sum(y·dy) must agree to 1e-5. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/formats/lsp_jsonr.h"
#include "core/nn/layers/lsp_bn.h"
#include "core/nn/layers/lsp_conv.h"
#include "core/nn/layers/lsp_conv_int.h"
#include "core/nn/layers/lsp_pool.h"
#include "conv_impls.h"
#include "testutil.h"

#define DIR "torch_layers/"

/* ---- loading ------------------------------------------------------------------ */

/* A case's tensor as float32 (inputs) — caller frees. */
static float *load_f32(const char *cname, const char *key, size_t count) {
  char rel[256];
  snprintf(rel, sizeof rel, DIR "%s_%s.npy", cname, key);
  return td_load_f32(rel, count);
}

static const char *g_impl = ""; /* which convolution, for messages */

/* got (float) against a float64 reference, |d| <= 1e-5·max(1, |want|). */
static void check(const float *got, const char *cname, const char *key,
                  size_t count) {
  char rel[256], what[256];
  snprintf(rel, sizeof rel, DIR "%s_%s.npy", cname, key);
  snprintf(what, sizeof what, "%s %s%s", cname, key, g_impl);
  td_close_f64(got, rel, count, 1e-5, 1e-5, what);
}

static lsp_jsonr_doc *cases(void) {
  lsp_jsonr_doc *d = NULL;
  assert_int_equal(lsp_jsonr_read_file(td_path(DIR "cases.json"), &d), 0);
  return d;
}

static size_t num(const lsp_jsonr *c, const char *key) {
  double v = lsp_jsonr_num_or(c, key, NAN);
  assert_true(isfinite(v) && v >= 0);
  return (size_t)v;
}

/* Each case of one kind; fails if the file has none (a skip is no pass). */
#define FOR_CASES(doc, kind, c)                                            \
  const lsp_jsonr *list_ = lsp_jsonr_get(lsp_jsonr_root(doc), kind);       \
  assert_true(lsp_jsonr_len(list_) > 0);                                   \
  for (size_t ci_ = 0; ci_ < lsp_jsonr_len(list_); ci_++)                  \
    for (const lsp_jsonr *c = lsp_jsonr_at(list_, ci_); c; c = NULL)

/* ---- Conv2d -------------------------------------------------------------------- */

static void test_conv(void **state) {
  (void)state;
  lsp_jsonr_doc *d = cases();
  FOR_CASES(d, "conv", c) {
    const char *name = lsp_jsonr_str_or(c, "name", "?");
    lsp_conv2d_geom g = {.c_in = num(c, "c_in"), .h_in = num(c, "h_in"),
                         .w_in = num(c, "w_in"), .c_out = num(c, "c_out"),
                         .kh = num(c, "kh"), .kw = num(c, "kw"),
                         .sh = num(c, "sh"), .sw = num(c, "sw"),
                         .ph = num(c, "ph"), .pw = num(c, "pw")};
    assert_int_equal(lsp_conv2d_geom_check(&g), 0);
    const size_t n = num(c, "n"), bias = num(c, "bias");
    const size_t xs = g.c_in * g.h_in * g.w_in, ys = g.c_out * g.h_out * g.w_out;
    const size_t wc = g.c_out * g.c_in * g.kh * g.kw;
    float *x = load_f32(name, "x", n * xs), *w = load_f32(name, "w", wc);
    float *b = bias ? load_f32(name, "b", g.c_out) : NULL;
    float *dy = load_f32(name, "dy", n * ys);
    for (size_t m = 0; m < sizeof CONV_IMPL / sizeof *CONV_IMPL; m++) {
      char what[32];
      snprintf(what, sizeof what, " (%s)", CONV_IMPL[m].name);
      g_impl = what;
      float *y = malloc(n * ys * sizeof(float)), *dx = malloc(n * xs * sizeof(float));
      float *dw = malloc(wc * sizeof(float)), *db = malloc(g.c_out * sizeof(float));
      float *ws = malloc(CONV_IMPL[m].ws(&g, n) * sizeof(float));
      assert_true(y && dx && dw && db && ws);
      CONV_IMPL[m].fwd(&g, x, n, w, b, y, ws);
      check(y, name, "y", n * ys);
      CONV_IMPL[m].bwd(&g, x, dy, n, w, dx, dw, bias ? db : NULL, ws);
      check(dx, name, "dx", n * xs);
      check(dw, name, "dw", wc);
      if (bias) check(db, name, "db", g.c_out);
      /* sample by sample (a workspace for one): the same numbers; bit for
       * bit in the direct forward, which works sample by sample anyway
       * (sgemm may sum in another order for another matrix size) */
      float *y1 = malloc(n * ys * sizeof(float));
      float *ws1 = malloc(CONV_IMPL[m].ws(&g, 1) * sizeof(float));
      assert_true(y1 && ws1);
      for (size_t i = 0; i < n; i++)
        CONV_IMPL[m].fwd(&g, x + i * xs, 1, w, b, y1 + i * ys, ws1);
      check(y1, name, "y", n * ys);
      if (CONV_IMPL[m].fwd == lsp_conv2d_forward_direct)
        assert_memory_equal(y1, y, n * ys * sizeof(float));
      free(y1), free(ws1);
      free(y), free(dx), free(dw), free(db), free(ws);
      g_impl = "";
    }
    free(x), free(w), free(b), free(dy);
  }
  lsp_jsonr_free(d);
}

/* ---- pooling --------------------------------------------------------------------- */

static lsp_pool2d_geom pool_geom(const lsp_jsonr *c) {
  lsp_pool2d_geom g = {.c = num(c, "c"), .h_in = num(c, "h_in"),
                       .w_in = num(c, "w_in"), .kh = num(c, "kh"),
                       .kw = num(c, "kw"), .sh = num(c, "sh"), .sw = num(c, "sw"),
                       .ph = num(c, "ph"), .pw = num(c, "pw"),
                       .ceil_mode = (int)num(c, "ceil_mode"),
                       .count_include_pad = (int)num(c, "count_include_pad")};
  assert_int_equal(lsp_pool2d_geom_check(&g), 0);
  return g;
}

static void pool_cases(const char *kind, int is_max) {
  lsp_jsonr_doc *d = cases();
  FOR_CASES(d, kind, c) {
    const char *name = lsp_jsonr_str_or(c, "name", "?");
    lsp_pool2d_geom g = pool_geom(c);
    const size_t n = num(c, "n");
    const size_t xs = g.c * g.h_in * g.w_in, ys = g.c * g.h_out * g.w_out;
    float *x = load_f32(name, "x", n * xs), *dy = load_f32(name, "dy", n * ys);
    float *y = malloc(n * ys * sizeof(float)), *dx = malloc(n * xs * sizeof(float));
    assert_true(y && dx);
    if (is_max) {
      lsp_maxpool2d_forward(&g, x, n, y);
      lsp_maxpool2d_backward(&g, x, dy, n, dx);
    } else {
      lsp_avgpool2d_forward(&g, x, n, y);
      lsp_avgpool2d_backward(&g, dy, n, dx);
    }
    check(y, name, "y", n * ys);
    check(dx, name, "dx", n * xs);
    free(x), free(dy), free(y), free(dx);
  }
  lsp_jsonr_free(d);
}

static void test_maxpool(void **state) {
  (void)state;
  pool_cases("maxpool", 1);
}

static void test_avgpool(void **state) {
  (void)state;
  pool_cases("avgpool", 0);
}

static void test_gap(void **state) {
  (void)state;
  lsp_jsonr_doc *d = cases();
  FOR_CASES(d, "gap", c) {
    const char *name = lsp_jsonr_str_or(c, "name", "?");
    const size_t n = num(c, "n"), ch = num(c, "c"), hw = num(c, "hw");
    float *x = load_f32(name, "x", n * ch * hw), *dy = load_f32(name, "dy", n * ch);
    float *y = malloc(n * ch * sizeof(float)), *dx = malloc(n * ch * hw * sizeof(float));
    assert_true(y && dx);
    lsp_gap_forward(x, n, ch, hw, y);
    lsp_gap_backward(dy, n, ch, hw, dx);
    check(y, name, "y", n * ch);
    check(dx, name, "dx", n * ch * hw);
    free(x), free(dy), free(y), free(dx);
  }
  lsp_jsonr_free(d);
}

/* ---- BatchNorm2d --------------------------------------------------------------- */

/* Training mode through the phases with the batch cut at `cut` (0: the
 * single-call version on the whole batch). */
static void bn_train(const lsp_jsonr *c, size_t cut) {
  const char *base = lsp_jsonr_str_or(c, "name", "?");
  char name[64];
  snprintf(name, sizeof name, "%s_train", base);
  lsp_bn2d_geom g = {.c = num(c, "c"), .hw = num(c, "hw"),
                     .eps = lsp_jsonr_num_or(c, "eps", NAN),
                     .momentum = lsp_jsonr_num_or(c, "momentum", NAN)};
  assert_int_equal(lsp_bn2d_geom_check(&g), 0);
  const size_t n = num(c, "n"), cnt = n * g.c * g.hw;
  float *x = load_f32(name, "x", cnt), *dy = load_f32(name, "dy", cnt);
  float *gam = load_f32(name, "gamma", g.c), *bet = load_f32(name, "beta", g.c);
  float *rm = load_f32(name, "rmean0", g.c), *rv = load_f32(name, "rvar0", g.c);
  float *y = malloc(cnt * sizeof(float)), *dx = malloc(cnt * sizeof(float));
  float *dg = malloc(g.c * sizeof(float)), *dbt = malloc(g.c * sizeof(float));
  double *stat = malloc(2 * g.c * sizeof(double));
  double *parts = malloc(4 * g.c * sizeof(double)), *sums = malloc(2 * g.c * sizeof(double));
  assert_true(y && dx && dg && dbt && stat && parts && sums);
  if (cut == 0) {
    assert_int_equal(lsp_bn2d_forward_train(&g, x, n, gam, bet, rm, rv, y, stat), 0);
    lsp_bn2d_backward_train(&g, x, dy, n, stat, gam, dx, dg, dbt, sums);
  } else {
    const size_t counts[2] = {cut, n - cut}, off = cut * g.c * g.hw;
    lsp_bn2d_train_stats(&g, x, cut, parts);
    lsp_bn2d_train_stats(&g, x + off, n - cut, parts + 2 * g.c);
    assert_int_equal(lsp_bn2d_train_combine(&g, parts, counts, 2, stat, rm, rv), 0);
    lsp_bn2d_train_apply(&g, x, cut, stat, gam, bet, y);
    lsp_bn2d_train_apply(&g, x + off, n - cut, stat, gam, bet, y + off);
    lsp_bn2d_bwd_sums(&g, x, dy, cut, stat, parts);
    lsp_bn2d_bwd_sums(&g, x + off, dy + off, n - cut, stat, parts + 2 * g.c);
    lsp_bn2d_bwd_combine(&g, parts, 2, sums);
    for (size_t ch = 0; ch < g.c; ch++) {
      dbt[ch] = (float)sums[ch];
      dg[ch] = (float)sums[g.c + ch];
    }
    /* in place: dx aliases a copy of dy */
    memcpy(dx, dy, cnt * sizeof(float));
    lsp_bn2d_bwd_apply(&g, x, dx, cut, stat, gam, sums, n, dx);
    lsp_bn2d_bwd_apply(&g, x + off, dx + off, n - cut, stat, gam, sums, n, dx + off);
  }
  check(y, name, "y", cnt);
  check(rm, name, "rmean", g.c);
  check(rv, name, "rvar", g.c);
  check(dx, name, "dx", cnt);
  check(dg, name, "dgamma", g.c);
  check(dbt, name, "dbeta", g.c);
  free(x), free(dy), free(gam), free(bet), free(rm), free(rv), free(y), free(dx);
  free(dg), free(dbt), free(stat), free(parts), free(sums);
}

static void bn_eval(const lsp_jsonr *c) {
  const char *base = lsp_jsonr_str_or(c, "name", "?");
  char name[64];
  snprintf(name, sizeof name, "%s_eval", base);
  lsp_bn2d_geom g = {.c = num(c, "c"), .hw = num(c, "hw"),
                     .eps = lsp_jsonr_num_or(c, "eps", NAN), .momentum = 0.1};
  const size_t n = num(c, "n"), cnt = n * g.c * g.hw;
  float *x = load_f32(name, "x", cnt), *dy = load_f32(name, "dy", cnt);
  float *gam = load_f32(name, "gamma", g.c), *bet = load_f32(name, "beta", g.c);
  float *rm = load_f32(name, "rmean0", g.c), *rv = load_f32(name, "rvar0", g.c);
  float *y = malloc(cnt * sizeof(float)), *dx = malloc(cnt * sizeof(float));
  float *dg = malloc(g.c * sizeof(float)), *dbt = malloc(g.c * sizeof(float));
  assert_true(y && dx && dg && dbt);
  lsp_bn2d_forward_eval(&g, x, n, gam, bet, rm, rv, y);
  lsp_bn2d_backward_eval(&g, x, dy, n, gam, rm, rv, dx, dg, dbt);
  check(y, name, "y", cnt);
  check(dx, name, "dx", cnt);
  check(dg, name, "dgamma", g.c);
  check(dbt, name, "dbeta", g.c);
  check(rm, name, "rmean", g.c); /* eval leaves them alone */
  check(rv, name, "rvar", g.c);
  free(x), free(dy), free(gam), free(bet), free(rm), free(rv), free(y), free(dx);
  free(dg), free(dbt);
}

static void test_bn(void **state) {
  (void)state;
  lsp_jsonr_doc *d = cases();
  FOR_CASES(d, "bn", c) {
    bn_train(c, 0);
    const size_t n = num(c, "n");
    for (size_t cut = 1; cut < n; cut++) bn_train(c, cut);
    bn_eval(c);
  }
  lsp_jsonr_free(d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_conv),    cmocka_unit_test(test_maxpool),
      cmocka_unit_test(test_avgpool), cmocka_unit_test(test_gap),
      cmocka_unit_test(test_bn),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
