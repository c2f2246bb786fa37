/* The element-wise activations through ONNX (tests/data/onnx_act, from
 * gen_onnx_act.py): a CNN exported by torch.onnx.export (opset 17) with
 * Tanh, LeakyRelu, Elu, Relu6 and Hardtanh as Clip, HardSwish,
 * HardSigmoid, Sigmoid, Selu, Softplus and Erf gives PyTorch's float64
 * logits and FGSM image; Gelu (opset 20, both forms) and Clip with
 * attribute bounds (opset 6) and an absent min (opset 11) give PyTorch's
 * logits; an op of a later opset, a computed bound and an unknown Gelu
 * form are refused naming the node; every activation kind exports to ONNX
 * and reads back as the same network, bit for bit. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/import/onnx/lsp_onnx.h"
#include "core/nn/lsp_model.h"
#include "testutil.h"
#include "model_fixture.h"

#define DIR "onnx_act/"

static void logits_match(lsp_model *m, const float *x, size_t n,
                         const char *ref) {
  float *z = malloc(n * m->out_dim * sizeof *z);
  assert_non_null(z);
  assert_int_equal(lsp_model_predict(m, x, n, 0, z, NULL), LSP_OK);
  lsp_array r;
  td_load(ref, &r);
  assert_int_equal(r.count, n * m->out_dim);
  for (size_t i = 0; i < r.count; i++)
    td_close(z[i], ((const double *)r.data)[i], 1e-5, 1e-6, ref, i);
  lsp_array_release(&r);
  free(z);
}

static void test_cnn(void **state) {
  (void)state;
  lsp_model *m = fx_load(DIR "cnn.onnx");
  static const char *const kinds[] = {"tanh", "leakyrelu", "elu", "clip",
                                      "hardswish", "hardsigmoid", "sigmoid",
                                      "selu", "softplus", "erf"};
  char arch[4096];
  lsp_model_arch_string(m, arch, sizeof arch);
  for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++)
    if (!strstr(arch, kinds[k])) fail_msg("no %s in %s", kinds[k], arch);
  lsp_array xa, ya, ga, aa;
  td_load(DIR "x.npy", &xa);
  td_load(DIR "y.npy", &ya);
  td_load(DIR "cnn_grad.npy", &ga);
  td_load(DIR "cnn_fgsm.npy", &aa);
  size_t n = xa.count / m->in_dim, kk = m->out_dim;
  const float *x = xa.data;
  logits_match(m, x, n, DIR "cnn_logits.npy");
  /* FGSM: the gradient of the summed cross-entropy through the graph */
  lsp_model_ws *ws = lsp_model_ws_alloc(m, n);
  assert_non_null(ws);
  const float *z;
  assert_int_equal(lsp_model_forward(m, ws, x, n, &z, NULL), LSP_OK);
  float *dz = malloc(n * kk * sizeof *dz), *dx = malloc(xa.count * sizeof *dx);
  assert_non_null(dz);
  assert_non_null(dx);
  for (size_t i = 0; i < n; i++) {
    double mx = -INFINITY, s = 0.0;
    for (size_t j = 0; j < kk; j++) mx = fmax(mx, z[i * kk + j]);
    for (size_t j = 0; j < kk; j++) s += exp(z[i * kk + j] - mx);
    for (size_t j = 0; j < kk; j++)
      dz[i * kk + j] =
          (float)(exp(z[i * kk + j] - mx) / s -
                  (j == (size_t)((const int32_t *)ya.data)[i] ? 1.0 : 0.0));
  }
  assert_int_equal(lsp_model_backward(m, ws, dz, LSP_BACK_INPUT, dx), LSP_OK);
  const double *g = ga.data;
  double gmax = 0.0;
  for (size_t i = 0; i < ga.count; i++) gmax = fmax(gmax, fabs(g[i]));
  size_t compared = 0;
  for (size_t i = 0; i < ga.count; i++) {
    if (fabs(g[i]) <= 1e-4 * gmax) continue; /* sign decided by rounding */
    compared++;
    td_close(dx[i], g[i], 1e-3, 1e-6 * gmax, "FGSM gradient", i);
    double sg = g[i] > 0 ? 1.0 : -1.0;
    if ((dx[i] > 0) != (sg > 0)) fail_msg("gradient sign differs at %zu", i);
    float adv = (float)fmin(fmax((double)x[i] + 0.1 * sg, 0.0), 1.0);
    if (adv != ((const float *)aa.data)[i])
      fail_msg("FGSM pixel %zu: %g, PyTorch %g", i, (double)adv,
               (double)((const float *)aa.data)[i]);
  }
  assert_true(compared > ga.count * 9 / 10);
  free(dz);
  free(dx);
  lsp_model_ws_free(ws);
  lsp_array_release(&xa);
  lsp_array_release(&ya);
  lsp_array_release(&ga);
  lsp_array_release(&aa);
  lsp_model_free(m);
}

static void test_small(void **state) {
  (void)state;
  lsp_array xa;
  td_load(DIR "mlp_x.npy", &xa);
  static const char *const names[] = {"gelu20", "clip6", "clip11"};
  for (size_t k = 0; k < 3; k++) {
    char rel[64], ref[64];
    snprintf(rel, sizeof rel, DIR "%s.onnx", names[k]);
    snprintf(ref, sizeof ref, DIR "%s_logits.npy", names[k]);
    lsp_model *m = fx_load(rel);
    logits_match(m, xa.data, xa.count / 8, ref);
    if (k == 0) {
      assert_true(m->nodes[1].op == LSP_OP_GELU && !m->nodes[1].a.approximate);
      assert_true(m->nodes[3].op == LSP_OP_GELU && m->nodes[3].a.approximate);
    } else {
      assert_true(m->nodes[1].op == LSP_OP_CLIP);
      assert_true(m->nodes[1].a.lo == (k == 1 ? -0.5 : -INFINITY));
      assert_true(m->nodes[1].a.hi == 0.25);
    }
    lsp_model_free(m);
  }
  lsp_array_release(&xa);
  td_expect_load_error(td_path(DIR "hswish13.onnx"),
                       "(HardSwish): HardSwish exists from opset 14");
  td_expect_load_error(td_path(DIR "clip_computed.onnx"),
                       "(Clip): min 'm' must be a float32 constant scalar");
  td_expect_load_error(td_path(DIR "gelu_fast.onnx"),
                       "(Gelu): approximate 'fast' is not none or tanh");
}

/* The opset a written file imports. */
static long long opset_of(const char *path) {
  lsp_onnx_model *om = NULL;
  assert_int_equal(lsp_onnx_read(path, &om), LSP_OK);
  long long v = (long long)om->opset;
  lsp_onnx_model_free(om);
  return v;
}

static void roundtrip(const char *spec, lsp_shape in, long long opset) {
  lsp_model *m = NULL;
  int st = lsp_model_from_spec(spec, in, 5, NULL, 0, &m);
  if (st) print_error("%s: %s\n", spec, lsp_errmsg());
  assert_int_equal(st, LSP_OK);
  assert_int_equal(lsp_model_init(m, 5), LSP_OK);
  lsp_onnx_model *om = NULL;
  st = lsp_onnx_from_model(m, &om);
  if (st) print_error("%s: %s\n", spec, lsp_errmsg());
  assert_int_equal(st, LSP_OK);
  const char *path = td_tmp("act_roundtrip.onnx");
  assert_int_equal(lsp_onnx_write(om, path), LSP_OK);
  lsp_onnx_model_free(om);
  assert_int_equal(opset_of(path), opset);
  lsp_model *r = NULL;
  st = lsp_model_load(path, &r);
  if (st) print_error("%s: %s\n", spec, lsp_errmsg());
  assert_int_equal(st, LSP_OK);
  char a[4096], b[4096];
  lsp_model_arch_string(m, a, sizeof a);
  lsp_model_arch_string(r, b, sizeof b);
  assert_string_equal(a, b);
  size_t n = 7;
  float *x = malloc(n * m->in_dim * sizeof *x);
  float *z1 = malloc(n * m->out_dim * sizeof *z1);
  float *z2 = malloc(n * m->out_dim * sizeof *z2);
  assert_non_null(x);
  assert_non_null(z1);
  assert_non_null(z2);
  for (size_t i = 0; i < n * m->in_dim; i++)
    x[i] = 4.0f * sinf(0.37f * (float)i + 0.11f);
  assert_int_equal(lsp_model_predict(m, x, n, 0, z1, NULL), LSP_OK);
  assert_int_equal(lsp_model_predict(r, x, n, 0, z2, NULL), LSP_OK);
  assert_memory_equal(z1, z2, n * m->out_dim * sizeof *z1);
  free(x);
  free(z1);
  free(z2);
  lsp_model_free(m);
  lsp_model_free(r);
  remove(path);
}

static void test_export(void **state) {
  (void)state;
  roundtrip("dense(12) sigmoid dense(12) tanh dense(12) leakyrelu(alpha=0.25) "
            "dense(12) elu(alpha=1.5) dense(12) selu dense(12) clip(lo=-1,hi=2) "
            "dense(12) clip(hi=0.5) dense(12) clip(lo=-0.75) dense(12) "
            "hardsigmoid dense(12) softplus dense(12) erf",
            (lsp_shape){6, 1, 1}, 13);
  roundtrip("conv(3,3) hardswish conv(3,3) leakyrelu flatten",
            (lsp_shape){2, 8, 8}, 14);
  roundtrip("conv(3,3) gelu conv(3,3) gelu(approximate=1) hardswish flatten",
            (lsp_shape){2, 8, 8}, 20);
  /* ONNX's attributes are float32: a double that is none is refused */
  lsp_model *m = NULL;
  assert_int_equal(lsp_model_from_spec("dense(4) leakyrelu(alpha=0.1)",
                                       (lsp_shape){3, 1, 1}, 2, NULL, 0, &m),
                   LSP_OK);
  lsp_onnx_model *om = NULL;
  assert_int_equal(lsp_onnx_from_model(m, &om), LSP_EDATA);
  assert_null(om);
  assert_non_null(strstr(lsp_errmsg(), "leakyrelu"));
  assert_non_null(strstr(lsp_errmsg(), "alpha = 0.1"));
  assert_non_null(strstr(lsp_errmsg(), "not a float32 value"));
  lsp_model_free(m);
}

/* SiLU, GELU and Mish as PyTorch 1.13 writes them at opset 17: Sigmoid,
 * Erf, Softplus and Tanh joined by Mul of two computed values (and GELU's
 * Div, Add and Mul by scalars) give PyTorch's float64 logits. */
static void test_composite(void **state) {
  (void)state;
  lsp_model *m = fx_load(DIR "composite.onnx");
  char arch[4096];
  lsp_model_arch_string(m, arch, sizeof arch);
  static const char *const kinds[] = {"sigmoid", "erf", "softplus", "tanh",
                                      "mul"};
  for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++)
    if (!strstr(arch, kinds[k])) fail_msg("no %s in %s", kinds[k], arch);
  lsp_array xa;
  td_load(DIR "x.npy", &xa);
  logits_match(m, xa.data, xa.count / m->in_dim, DIR "composite_logits.npy");
  lsp_array_release(&xa);
  lsp_model_free(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cnn), cmocka_unit_test(test_composite),
      cmocka_unit_test(test_small),
      cmocka_unit_test(test_export),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
