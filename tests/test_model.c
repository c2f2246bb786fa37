/* The model compute core against PyTorch (tests/data/torch_mlp_tiny) and
 * against central differences of an independent double-precision forward. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/loss/lsp_loss.h"
#include "core/nn/lsp_model.h"
#include "testutil.h"

#define TINY "torch_mlp_tiny/"

/* Dense layer l (node 2l) of an MLP: its tensors and gradients. */
typedef struct {
  size_t in, out;
  float *w, *b, *dw, *db;
} dense;
static dense dense_of(lsp_model *m, size_t l) {
  dense d;
  size_t nw, nb;
  assert_int_equal(lsp_model_tensor(m, 2 * l, "weight", &d.w, &d.dw, &nw), 0);
  assert_int_equal(lsp_model_tensor(m, 2 * l, "bias", &d.b, &d.db, &nb), 0);
  d.out = nb;
  d.in = nw / nb;
  return d;
}

/* Build the 8-16-16-3 MLP and copy the exported tensors in (no import code). */
static lsp_model *tiny_model(void) {
  size_t hidden[2] = {16, 16};
  lsp_model *m = lsp_model_alloc_mlp(8, hidden, 2, 3);
  assert_non_null(m);
  const char *names[3] = {"0", "2", "4"};
  size_t d = 0;
  for (size_t l = 0; l < 3; l++) {
    dense D = dense_of(m, l), *L = &D;
    char p[64];
    lsp_array a;
    snprintf(p, sizeof p, TINY "%s.weight.npy", names[d]);
    td_load(p, &a);
    assert_int_equal(a.count, L->out * L->in);
    memcpy(L->w, a.data, a.count * sizeof(float));
    lsp_array_release(&a);
    snprintf(p, sizeof p, TINY "%s.bias.npy", names[d]);
    td_load(p, &a);
    assert_int_equal(a.count, L->out);
    memcpy(L->b, a.data, a.count * sizeof(float));
    lsp_array_release(&a);
    d++;
  }
  return m;
}

static void check_array(const float *got, const char *rel, size_t count,
                        double rtol, double atol) {
  lsp_array a;
  td_load(rel, &a);
  assert_int_equal(a.count, count);
  const float *want = a.data;
  for (size_t i = 0; i < count; i++) td_close(got[i], want[i], rtol, atol, rel, i);
  lsp_array_release(&a);
}

static void test_torch_forward_backward(void **state) {
  (void)state;
  lsp_model *m = tiny_model();
  char desc[64];
  lsp_model_describe(m, desc, sizeof desc);
  assert_string_equal(desc, "8-16-16-3");
  assert_int_equal(lsp_model_feature_dim(m), 16);
  lsp_array xa, ya;
  td_load(TINY "x.npy", &xa);
  td_load(TINY "labels.npy", &ya);
  int32_t *y;
  assert_int_equal(lsp_array_labels(&ya, "labels", 3, &y), 0);
  const size_t n = 32;
  lsp_model_ws *ws = lsp_model_ws_alloc(m, n);
  assert_non_null(ws);
  const float *z, *f;
  assert_int_equal(lsp_model_forward(m, ws, xa.data, n, &z, &f), 0);
  check_array(z, TINY "logits.npy", n * 3, 1e-5, 1e-6);
  check_array(f, TINY "features.npy", n * 16, 1e-5, 1e-6);
  /* mean label-smoothed CE, eps 0.1 uniform: case.json 1.0727486610412598 */
  lsp_ls ls = {0.1, LSP_LS_UNIFORM, 0};
  float dz[32 * 3], dx[32 * 8];
  double loss;
  assert_int_equal(lsp_loss_xent(z, y, n, 3, &ls, dz, 1.0 / n, NULL, &loss), 0);
  td_close(loss, 1.0727486610412598, 1e-6, 0, "loss", 0);
  assert_int_equal(lsp_model_backward(m, ws, dz, LSP_BACK_PARAMS | LSP_BACK_INPUT, dx), 0);
  const char *names[3] = {"0", "2", "4"};
  size_t d = 0;
  for (size_t l = 0; l < 3; l++) {
    dense D = dense_of(m, l), *L = &D;
    char p[64];
    snprintf(p, sizeof p, TINY "grad_ls0.1_%s.weight.npy", names[d]);
    check_array(L->dw, p, L->out * L->in, 1e-5, 1e-8);
    snprintf(p, sizeof p, TINY "grad_ls0.1_%s.bias.npy", names[d]);
    check_array(L->db, p, L->out, 1e-5, 1e-8);
    d++;
  }
  check_array(dx, TINY "grad_ls0.1_x.npy", n * 8, 1e-5, 1e-8);
  /* input gradient only: same numbers, parameter gradients untouched */
  memset(m->grads, 0, m->nparams * sizeof(float));
  float dx2[32 * 8];
  assert_int_equal(lsp_model_forward(m, ws, xa.data, n, &z, NULL), 0);
  assert_int_equal(lsp_model_backward(m, ws, dz, LSP_BACK_INPUT, dx2), 0);
  assert_memory_equal(dx, dx2, sizeof dx);
  for (size_t i = 0; i < m->nparams; i++) assert_true(m->grads[i] == 0.0f);
  /* predict in batches of 5 equals one forward */
  float *zp = malloc(n * 3 * sizeof *zp), *fp = malloc(n * 16 * sizeof *fp);
  assert_int_equal(lsp_model_predict(m, xa.data, n, 5, zp, fp), 0);
  check_array(zp, TINY "logits.npy", n * 3, 1e-5, 1e-6);
  check_array(fp, TINY "features.npy", n * 16, 1e-5, 1e-6);
  free(zp);
  free(fp);
  free(y);
  lsp_model_ws_free(ws);
  lsp_model_free(m);
  lsp_array_release(&xa);
  lsp_array_release(&ya);
}

/* An example's logits do not depend on how many examples are predicted
 * with it: the first n rows of a prediction of N rows, bit for bit, for
 * counts that cut the last batch short at several places (OpenBLAS rounds
 * a GEMM's rows differently for different row counts; the short last
 * batch is computed as a whole one). */
static void test_predict_subsets(void **state) {
  (void)state;
  enum { N = 1100, D = 784, H = 256, K = 10, B = 256 };
  size_t hidden[1] = {H};
  lsp_model *m = lsp_model_alloc_mlp(D, hidden, 1, K);
  assert_non_null(m);
  assert_int_equal(lsp_model_init(m, 7), 0);
  float *x = malloc((size_t)N * D * sizeof *x);
  float *all = malloc((size_t)N * K * sizeof *all), *part = malloc((size_t)N * K * sizeof *part);
  float *fa = malloc((size_t)N * H * sizeof *fa), *fp = malloc((size_t)N * H * sizeof *fp);
  assert_true(x && all && part && fa && fp);
  unsigned s = 3;
  for (size_t i = 0; i < (size_t)N * D; i++) {
    s = s * 1664525u + 1013904223u;
    x[i] = (float)((double)(s >> 8) / 16777216.0);
  }
  assert_int_equal(lsp_model_predict(m, x, N, B, all, fa), 0);
  const size_t counts[] = {1000, 999, 777, 300, 257, 5, 1};
  for (size_t c = 0; c < sizeof counts / sizeof *counts; c++) {
    size_t n = counts[c];
    memset(part, 0xff, (size_t)N * K * sizeof *part);
    assert_int_equal(lsp_model_predict(m, x, n, B, part, fp), 0);
    assert_memory_equal(part, all, n * K * sizeof *part);
    assert_memory_equal(fp, fa, n * H * sizeof *fp);
    /* nothing written past the n rows */
    for (size_t i = n * K; i < (size_t)N * K; i++) assert_true(isnan(part[i]));
  }
  free(x);
  free(all);
  free(part);
  free(fa);
  free(fp);
  lsp_model_free(m);
}

/* Independent double-precision forward + mean smoothed CE of an MLP whose
 * parameters are given as doubles in the model's flat layout. */
static double ref_loss(lsp_model *m, const double *p, const double *x,
                       const int32_t *y, size_t n, double eps) {
  double total = 0;
  double a[64], b[64];
  for (size_t i = 0; i < n; i++) {
    size_t width = m->in_dim, off = 0;
    for (size_t j = 0; j < width; j++) a[j] = x[i * width + j];
    for (size_t l = 0; l < m->nnodes; l++) {
      dense D = {0};
      if (m->nodes[l].op == LSP_OP_DENSE) D = dense_of(m, l / 2);
      const dense *L = &D;
      if (m->nodes[l].op == LSP_OP_DENSE) {
        const double *w = p + off, *bias = p + off + L->out * L->in;
        for (size_t o = 0; o < L->out; o++) {
          double s = bias[o];
          for (size_t j = 0; j < L->in; j++) s += w[o * L->in + j] * a[j];
          b[o] = s;
        }
        off += L->out * L->in + L->out;
        width = L->out;
      } else {
        for (size_t o = 0; o < width; o++) b[o] = b[o] > 0 ? b[o] : 0;
      }
      memcpy(a, b, width * sizeof(double));
    }
    size_t k = m->out_dim;
    double mx = -INFINITY, s = 0;
    for (size_t j = 0; j < k; j++) mx = fmax(mx, a[j]);
    for (size_t j = 0; j < k; j++) s += exp(a[j] - mx);
    double lse = mx + log(s);
    for (size_t j = 0; j < k; j++) {
      double q = (j == (size_t)y[i] ? 1 - eps : 0) + eps / (double)k;
      total -= q * (a[j] - lse);
    }
  }
  return total / (double)n;
}

/* Central differences in double of every parameter and input coordinate of
 * a random 5-7-6-4 network against the float backward pass. */
static void test_finite_differences(void **state) {
  (void)state;
  size_t hidden[2] = {7, 6};
  lsp_model *m = lsp_model_alloc_mlp(5, hidden, 2, 4);
  assert_int_equal(lsp_model_init(m, 42), LSP_OK);
  const size_t n = 9;
  float x[9 * 5];
  double xd[9 * 5];
  int32_t y[9];
  unsigned s = 7;
  for (size_t i = 0; i < n * 5; i++) {
    s = s * 1664525u + 1013904223u;
    x[i] = (float)(s >> 8) / 16777216.0f;
    xd[i] = x[i];
  }
  for (size_t i = 0; i < n; i++) y[i] = (int32_t)(i % 4);
  lsp_model_ws *ws = lsp_model_ws_alloc(m, n);
  const float *z;
  float dz[9 * 4], dx[9 * 5];
  lsp_ls ls = {0.2, LSP_LS_UNIFORM, 0};
  assert_int_equal(lsp_model_forward(m, ws, x, n, &z, NULL), 0);
  assert_int_equal(lsp_loss_xent(z, y, n, 4, &ls, dz, 1.0 / n, NULL, NULL), 0);
  assert_int_equal(lsp_model_backward(m, ws, dz, LSP_BACK_PARAMS | LSP_BACK_INPUT, dx), 0);
  double *p = malloc(m->nparams * sizeof *p);
  for (size_t i = 0; i < m->nparams; i++) p[i] = m->params[i];
  const double h = 1e-6;
  for (size_t i = 0; i < m->nparams; i++) {
    double p0 = p[i];
    p[i] = p0 + h;
    double lp = ref_loss(m, p, xd, y, n, 0.2);
    p[i] = p0 - h;
    double lm = ref_loss(m, p, xd, y, n, 0.2);
    p[i] = p0;
    td_close(m->grads[i], (lp - lm) / (2 * h), 1e-3, 2e-6, "param grad vs FD", i);
  }
  for (size_t i = 0; i < n * 5; i++) {
    double x0 = xd[i];
    xd[i] = x0 + h;
    double lp = ref_loss(m, p, xd, y, n, 0.2);
    xd[i] = x0 - h;
    double lm = ref_loss(m, p, xd, y, n, 0.2);
    xd[i] = x0;
    td_close(dx[i], (lp - lm) / (2 * h), 1e-3, 2e-6, "input grad vs FD", i);
  }
  free(p);
  lsp_model_ws_free(ws);
  lsp_model_free(m);
}

/* nn.Linear's default initialization: uniform within ±1/sqrt(in), mean ~0,
 * variance bound²/3; same seed -> same numbers, another seed -> different. */
static void test_init(void **state) {
  (void)state;
  size_t hidden[1] = {256};
  lsp_model *a = lsp_model_alloc_mlp(784, hidden, 1, 10);
  lsp_model *b = lsp_model_alloc_mlp(784, hidden, 1, 10);
  assert_int_equal(lsp_model_init(a, 1), LSP_OK);
  assert_int_equal(lsp_model_init(b, 1), LSP_OK);
  assert_memory_equal(a->params, b->params, a->nparams * sizeof(float));
  assert_int_equal(lsp_model_init(b, 2), LSP_OK);
  assert_memory_not_equal(a->params, b->params, a->nparams * sizeof(float));
  dense D = dense_of(a, 0), *L = &D;
  double bound = 1.0 / sqrt(784.0), s = 0, s2 = 0;
  size_t cnt = L->out * L->in;
  for (size_t i = 0; i < cnt; i++) {
    assert_true(fabs(L->w[i]) <= bound);
    s += L->w[i];
    s2 += (double)L->w[i] * L->w[i];
  }
  double mean = s / (double)cnt, var = s2 / (double)cnt - mean * mean;
  td_close(mean, 0.0, 0, 4 * bound / sqrt(3.0 * (double)cnt), "init mean", 0);
  td_close(var, bound * bound / 3.0, 0.02, 0, "init variance", 0);
  lsp_model_free(a);
  lsp_model_free(b);
}

/* A workspace serves the model it was allocated for only: a wider model
 * would overrun its buffers, a same-shape one would mix activations. */
static void test_workspace_owner(void **state) {
  (void)state;
  size_t h8[1] = {8}, h64[1] = {64};
  lsp_model *a = lsp_model_alloc_mlp(4, h8, 1, 2), *same = lsp_model_alloc_mlp(4, h8, 1, 2),
            *wide = lsp_model_alloc_mlp(4, h64, 1, 2);
  assert_true(a && same && wide);
  lsp_model_ws *ws = lsp_model_ws_alloc(a, 3);
  assert_non_null(ws);
  float x[12] = {0.25f, 1.5f, -2.385f, 0.75f}, dz[6] = {0.5f, -0.5f}, dx[12];
  const float *z;
  assert_int_equal(lsp_model_forward(wide, ws, x, 3, &z, NULL), LSP_EINVAL);
  assert_non_null(strstr(lsp_errmsg(), "workspace belongs to another model than this 4-64-2"));
  assert_int_equal(lsp_model_forward(same, ws, x, 3, &z, NULL), LSP_EINVAL);
  assert_int_equal(lsp_model_forward(a, ws, x, 3, &z, NULL), LSP_OK);
  assert_int_equal(lsp_model_backward(wide, ws, dz, LSP_BACK_PARAMS, NULL), LSP_EINVAL);
  assert_int_equal(lsp_model_backward(same, ws, dz, LSP_BACK_INPUT, dx), LSP_EINVAL);
  assert_int_equal(lsp_model_backward(a, ws, dz, LSP_BACK_INPUT, dx), LSP_OK);
  lsp_model_ws_free(ws);
  lsp_model_free(a), lsp_model_free(same), lsp_model_free(wide);
}

static void test_errors(void **state) {
  (void)state;
  size_t hidden[1] = {0};
  assert_null(lsp_model_alloc_mlp(4, hidden, 1, 2));
  assert_null(lsp_model_alloc_mlp(0, NULL, 0, 2));
  lsp_model *m = lsp_model_alloc_mlp(4, NULL, 0, 2);
  assert_non_null(m);
  assert_null(lsp_model_ws_alloc(m, 0));
  lsp_model_ws *ws = lsp_model_ws_alloc(m, 2);
  float x[12] = {0}, dz[6] = {0}, dx[12];
  const float *z;
  assert_int_equal(lsp_model_backward(m, ws, dz, LSP_BACK_INPUT, dx), LSP_EINVAL);
  assert_int_equal(lsp_model_forward(m, ws, x, 3, &z, NULL), LSP_EINVAL);
  assert_int_equal(lsp_model_forward(m, ws, x, 2, &z, NULL), 0);
  assert_int_equal(lsp_model_backward(m, ws, dz, LSP_BACK_INPUT, NULL), LSP_EINVAL);
  lsp_model_ws_free(ws);
  lsp_model_ws_free(NULL);
  lsp_model_free(m);
  lsp_model_free(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_torch_forward_backward),
      cmocka_unit_test(test_predict_subsets),
      cmocka_unit_test(test_finite_differences),
      cmocka_unit_test(test_init),
      cmocka_unit_test(test_workspace_owner),
      cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
