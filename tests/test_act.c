/* The element-wise activations (core/nn/layers/lsp_act.c and their graph
 * kinds, core/nn/lsp_ops_act.c): forward and backward against PyTorch in
 * float64 (tests/data/torch_act, from gen_torch_act.py) on ordinary, kink
 * and extreme inputs, through the kernels and through a model graph (and
 * the same after a save and load); the derivative against central finite
 * differences in double; no NaN from any finite input; the attributes'
 * checks, spec grammar and file round trip. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/nn/layers/lsp_act.h"
#include "core/nn/lsp_model.h"
#include "core/nn/lsp_ops.h"
#include "testutil.h"

#define DIR "torch_act/"

typedef struct {
  char name[40], kind[32];
  double alpha, beta, gamma, lo, hi;
  int approximate;
} act_case;

static int load_cases(act_case *c, int max) {
  FILE *f = fopen(td_path(DIR "cases.txt"), "r");
  assert_non_null(f);
  int n = 0;
  while (n < max && fscanf(f, "%39s %31s %lf %lf %lf %lf %lf %d", c[n].name,
                           c[n].kind, &c[n].alpha, &c[n].beta, &c[n].gamma,
                           &c[n].lo, &c[n].hi, &c[n].approximate) == 8)
    n++;
  fclose(f);
  assert_true(n >= 17);
  return n;
}

static const struct {
  const char *name;
  lsp_act_kind kind;
} KINDS[] = {{"sigmoid", LSP_ACT_SIGMOID},     {"tanh", LSP_ACT_TANH},
             {"leakyrelu", LSP_ACT_LEAKYRELU}, {"elu", LSP_ACT_ELU},
             {"selu", LSP_ACT_SELU},           {"clip", LSP_ACT_CLIP},
             {"hardsigmoid", LSP_ACT_HARDSIGMOID},
             {"hardswish", LSP_ACT_HARDSWISH}, {"softplus", LSP_ACT_SOFTPLUS},
             {"erf", LSP_ACT_ERF},             {"gelu", LSP_ACT_GELU}};

static lsp_act_params params_of(const act_case *c) {
  lsp_act_params p = {0, c->alpha, c->beta, c->gamma, c->lo, c->hi};
  for (size_t i = 0; i < sizeof KINDS / sizeof *KINDS; i++)
    if (!strcmp(KINDS[i].name, c->kind)) p.kind = KINDS[i].kind;
  assert_true(p.kind != 0);
  if (p.kind == LSP_ACT_GELU && c->approximate) p.kind = LSP_ACT_GELU_TANH;
  return p;
}

static double *load_f64(const char *rel, size_t n) {
  lsp_array a;
  td_load(rel, &a);
  assert_int_equal(a.count, n);
  double *v = malloc(n * sizeof *v);
  assert_non_null(v);
  for (size_t i = 0; i < n; i++)
    v[i] = a.dtype == LSP_DT_F64 ? ((const double *)a.data)[i]
                                 : (double)((const float *)a.data)[i];
  lsp_array_release(&a);
  return v;
}

static double *load_ref(const char *name, const char *key, size_t n) {
  char rel[128];
  snprintf(rel, sizeof rel, DIR "%.40s_%.8s.npy", name, key);
  return load_f64(rel, n);
}

/* float32 results of a reference: within float rounding of the 50-digit
 * one (below float's normal range anything tiny: σ(−100) is 4e−44), and
 * of PyTorch's float64 one also (its hardsigmoid takes 1/6 as a float,
 * 3e-8; its backward cancels for large |x|, about 1e-16·|x| absolute) */
typedef struct {
  const double *mp, *torch;
} refs;
static void cmp(const float *got, refs want, size_t n, const char *what) {
  for (size_t i = 0; i < n; i++) {
    if (fabs(want.mp[i]) > FLT_MAX) { /* selu(3.4e38): float overflows */
      td_close(got[i], copysign(INFINITY, want.mp[i]), 0, 0, what, i);
      continue;
    }
    td_close(got[i], want.mp[i], 2e-7, 1.2e-38, what, i);
    td_close(got[i], want.torch[i], 2e-7, 1e-13, what, i);
  }
}

static void lsp_attrs_of(const act_case *c, lsp_op *op, lsp_attrs *a) {
  *op = lsp_op_by_name(c->kind, strlen(c->kind));
  assert_true(*op != 0);
  lsp_attrs_default(*op, a);
  a->alpha = c->alpha, a->beta = c->beta, a->gamma = c->gamma;
  a->lo = c->lo, a->hi = c->hi, a->approximate = c->approximate;
}

/* input D×1×1 → the activation → dense D with W = I, b = 0: the features
 * are the activation's output and dlogits its upstream gradient */
static lsp_model *one_node(const act_case *c, size_t d) {
  lsp_op op;
  lsp_attrs a;
  lsp_attrs_of(c, &op, &a);
  lsp_model *m = lsp_model_new((lsp_shape){d, 1, 1});
  assert_non_null(m);
  assert_int_equal(lsp_model_add(m, op, &a, LSP_INPUT, 0, NULL, NULL), LSP_OK);
  lsp_attrs_default(LSP_OP_DENSE, &a);
  a.units = d;
  assert_int_equal(lsp_model_add(m, LSP_OP_DENSE, &a, 0, 0, "fc", NULL),
                   LSP_OK);
  assert_int_equal(lsp_model_finish(m), LSP_OK);
  memset(m->params, 0, m->nparams * sizeof(float));
  for (size_t i = 0; i < d; i++) m->params[i * d + i] = 1.0f;
  return m;
}

static void graph_check(lsp_model *m, const float *x, const float *dy,
                        refs y, refs dx, size_t n, const char *name) {
  lsp_model_ws *ws = lsp_model_ws_alloc(m, 1);
  assert_non_null(ws);
  const float *logits, *feat;
  float *gx = malloc(n * sizeof *gx);
  assert_non_null(gx);
  assert_int_equal(lsp_model_forward(m, ws, x, 1, &logits, &feat), LSP_OK);
  char what[96];
  snprintf(what, sizeof what, "%.40s: graph y", name);
  cmp(feat, y, n, what);
  assert_int_equal(lsp_model_backward(m, ws, dy, LSP_BACK_INPUT, gx), LSP_OK);
  snprintf(what, sizeof what, "%.40s: graph dx", name);
  cmp(gx, dx, n, what);
  free(gx);
  lsp_model_ws_free(ws);
}

static void test_torch(void **state) {
  (void)state;
  act_case cs[64];
  int nc = load_cases(cs, 64);
  lsp_array xa, da;
  td_load(DIR "x.npy", &xa);
  td_load(DIR "dy.npy", &da);
  size_t n = xa.count;
  const float *x = xa.data, *dy = da.data;
  float *y = malloc(n * sizeof *y), *dx = malloc(n * sizeof *dx);
  assert_non_null(y);
  assert_non_null(dx);
  for (int k = 0; k < nc; k++) {
    char what[96];
    refs wy = {load_ref(cs[k].name, "ymp", n), load_ref(cs[k].name, "y", n)};
    refs wdx = {load_ref(cs[k].name, "dxmp", n),
                load_ref(cs[k].name, "dx", n)};
    lsp_act_params p = params_of(&cs[k]);
    lsp_act_forward(&p, x, y, n);
    snprintf(what, sizeof what, "%.40s: y", cs[k].name);
    cmp(y, wy, n, what);
    lsp_act_backward(&p, x, dy, dx, n);
    snprintf(what, sizeof what, "%.40s: dx", cs[k].name);
    cmp(dx, wdx, n, what);
    memcpy(dx, dy, n * sizeof *dx); /* in place: dx = dy */
    lsp_act_backward(&p, x, dx, dx, n);
    cmp(dx, wdx, n, what);
    /* the graph, then the same model saved and loaded */
    lsp_model *m = one_node(&cs[k], n), *m2 = NULL;
    graph_check(m, x, dy, wy, wdx, n, cs[k].name);
    const char *path = td_tmp("act.lspm");
    assert_int_equal(lsp_model_save(m, path), LSP_OK);
    assert_int_equal(lsp_model_load_lspm(path, &m2), LSP_OK);
    char s1[512], s2[512];
    lsp_model_arch_string(m, s1, sizeof s1);
    lsp_model_arch_string(m2, s2, sizeof s2);
    assert_string_equal(s1, s2);
    assert_memory_equal(&m->nodes[0].a, &m2->nodes[0].a, sizeof(lsp_attrs));
    graph_check(m2, x, dy, wy, wdx, n, cs[k].name);
    remove(path);
    lsp_model_free(m);
    lsp_model_free(m2);
    free((void *)wy.mp), free((void *)wy.torch);
    free((void *)wdx.mp), free((void *)wdx.torch);
  }
  free(y);
  free(dx);
  lsp_array_release(&xa);
  lsp_array_release(&da);
}

/* f' against (f(x + h) − f(x − h)) / 2h in double, at points off every
 * kink (the kinks are at 0, ±1, ±2.5, ±3, 0.5, 6: the points miss them by
 * more than 2e-3) */
static void test_finite_differences(void **state) {
  (void)state;
  act_case cs[64];
  int nc = load_cases(cs, 64);
  for (int k = 0; k < nc; k++) {
    lsp_act_params p = params_of(&cs[k]);
    for (int i = 0; i < 160; i++) {
      double x = -7.95 + 0.1 * i + 0.0123;
      double h = 1e-5;
      double fd = (lsp_act_f(&p, x + h) - lsp_act_f(&p, x - h)) / (2 * h);
      td_close(lsp_act_df(&p, x), fd, 1e-7, 1e-8, cs[k].name, (size_t)i);
    }
  }
}

/* every finite float, by binade, and ±0, ±FLT_MAX: no NaN forward or
 * backward; outputs finite where the function is bounded by |x| times a
 * constant that keeps them in float's range */
static void test_no_nan(void **state) {
  (void)state;
  act_case cs[64];
  int nc = load_cases(cs, 64);
  enum { NX = 2 * 280 + 4 };
  float x[NX], y[NX], dx[NX], dy[NX];
  size_t n = 0;
  for (int e = -149; e <= 127; e++) {
    x[n++] = ldexpf(1.0f, e);
    x[n++] = -ldexpf(1.0f, e);
  }
  x[n++] = 0.0f, x[n++] = -0.0f, x[n++] = FLT_MAX, x[n++] = -FLT_MAX;
  for (size_t i = 0; i < n; i++) dy[i] = 1.0f;
  for (int k = 0; k < nc; k++) {
    lsp_act_params p = params_of(&cs[k]);
    lsp_act_forward(&p, x, y, n);
    lsp_act_backward(&p, x, dy, dx, n);
    for (size_t i = 0; i < n; i++) {
      if (isnan(y[i]) || isnan(dx[i]))
        fail_msg("%s: NaN at x = %g (y %g, dx %g)", cs[k].name, (double)x[i],
                 (double)y[i], (double)dx[i]);
      if (p.kind != LSP_ACT_SELU && (!isfinite(y[i]) || !isfinite(dx[i])))
        fail_msg("%s: not finite at x = %g (y %g, dx %g)", cs[k].name,
                 (double)x[i], (double)y[i], (double)dx[i]);
    }
  }
}

/* attributes: checked when a node is added; the spec grammar fills them
 * by name with ONNX's defaults for the rest; ±∞ bounds survive a file */
static void test_attrs(void **state) {
  (void)state;
  lsp_model *m = lsp_model_new((lsp_shape){4, 1, 1});
  assert_non_null(m);
  lsp_attrs a;
  lsp_attrs_default(LSP_OP_LEAKYRELU, &a);
  assert_true(a.alpha == (double)0.01f); /* ONNX's float32 default */
  a.alpha = NAN;
  assert_int_equal(lsp_model_add(m, LSP_OP_LEAKYRELU, &a, LSP_INPUT, 0, NULL,
                                 NULL),
                   LSP_EINVAL);
  assert_non_null(strstr(lsp_errmsg(), "alpha"));
  lsp_attrs_default(LSP_OP_ELU, &a);
  a.alpha = INFINITY;
  assert_int_equal(lsp_model_add(m, LSP_OP_ELU, &a, LSP_INPUT, 0, NULL, NULL),
                   LSP_EINVAL);
  lsp_attrs_default(LSP_OP_CLIP, &a);
  a.lo = NAN;
  assert_int_equal(lsp_model_add(m, LSP_OP_CLIP, &a, LSP_INPUT, 0, NULL, NULL),
                   LSP_EINVAL);
  assert_non_null(strstr(lsp_errmsg(), "lo"));
  lsp_attrs_default(LSP_OP_GELU, &a);
  a.approximate = 2;
  assert_int_equal(lsp_model_add(m, LSP_OP_GELU, &a, LSP_INPUT, 0, NULL, NULL),
                   LSP_EINVAL);
  lsp_model_free(m);

  lsp_model *s = NULL;
  assert_int_equal(
      lsp_model_from_spec("dense(8) clip(hi=6) leakyrelu(alpha=0.2) selu "
                          "hardsigmoid gelu(approximate=1) tanh sigmoid elu "
                          "hardswish softplus erf",
                          (lsp_shape){4, 1, 1}, 3, NULL, 0, &s),
      LSP_OK);
  assert_true(s->nodes[1].op == LSP_OP_CLIP && s->nodes[1].a.hi == 6.0 &&
              s->nodes[1].a.lo == -INFINITY);
  assert_true(s->nodes[2].a.alpha == 0.2);
  assert_true(s->nodes[3].a.alpha == 1.67326319217681884765625 &&
              s->nodes[3].a.gamma == 1.05070102214813232421875);
  assert_true(s->nodes[4].a.alpha == (double)0.2f && s->nodes[4].a.beta == 0.5);
  assert_true(s->nodes[5].a.approximate == 1);
  assert_true(s->nodes[8].a.alpha == 1.0);
  assert_int_equal(lsp_model_init(s, 1), LSP_OK);
  const char *path = td_tmp("act_spec.lspm");
  assert_int_equal(lsp_model_save(s, path), LSP_OK);
  lsp_model *l = NULL;
  assert_int_equal(lsp_model_load_lspm(path, &l), LSP_OK);
  assert_int_equal(l->nnodes, s->nnodes);
  for (size_t i = 0; i < s->nnodes; i++) {
    assert_int_equal(l->nodes[i].op, s->nodes[i].op);
    assert_memory_equal(&l->nodes[i].a, &s->nodes[i].a, sizeof(lsp_attrs));
  }
  float x[4] = {-1e30f, -2.0f, 0.5f, 7.0f};
  float z1[3], z2[3];
  assert_int_equal(lsp_model_predict(s, x, 1, 0, z1, NULL), LSP_OK);
  assert_int_equal(lsp_model_predict(l, x, 1, 0, z2, NULL), LSP_OK);
  assert_memory_equal(z1, z2, sizeof z1);
  remove(path);
  lsp_model_free(l);
  lsp_model_free(s);
  assert_int_equal(lsp_model_from_spec("clip(lo=1, hi=nan)", (lsp_shape){4, 1, 1},
                                       3, NULL, 0, &s),
                   LSP_EINVAL);
  /* lo >= hi would make the layer a constant (hi) with a zero gradient */
  const char *bad[] = {"clip(lo=1,hi=0)", "dense(4) clip(lo=0.5, hi=0.5)",
                       "clip(hi=-1, lo=0)"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    s = NULL;
    assert_int_equal(lsp_model_from_spec(bad[i], (lsp_shape){4, 1, 1}, 3, NULL,
                                         0, &s),
                     LSP_EINVAL);
    assert_null(s);
    assert_non_null(strstr(lsp_errmsg(), "clip needs lo below hi"));
  }
  s = NULL;
  assert_int_equal(lsp_model_from_spec("hardsigmoid(alpha=0, beta=0.3)",
                                       (lsp_shape){4, 1, 1}, 3, NULL, 0, &s),
                   LSP_EINVAL);
  assert_null(s);
  assert_non_null(strstr(lsp_errmsg(), "hardsigmoid needs a slope"));
  s = NULL;
  assert_int_equal(lsp_model_from_spec("clip(lo=-1,hi=0)", (lsp_shape){4, 1, 1},
                                       3, NULL, 0, &s),
                   LSP_OK);
  lsp_model_free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_torch),
      cmocka_unit_test(test_finite_differences),
      cmocka_unit_test(test_no_nan),
      cmocka_unit_test(test_attrs),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
