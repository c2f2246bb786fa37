/* Grouped and depthwise Conv2d (lsp_conv.h with groups > 1).
 *
 * Layers against PyTorch float64 (tests/data/torch_groupconv, made by
 * tests/data/gen_torch_groupconv.py): groups 2 and 4 with strides and
 * padding, depthwise with multipliers 1 and 2, 3×3 and 5×5 kernels,
 * strides 1 and 2, wide rows and padding beyond the kernel; forward and
 * every gradient of sum(y·dy) to 1e-5, a workspace of exactly
 * lsp_conv2d_ws_size floats (a guard after it must stay untouched).
 * Against central differences of a naive double grouped forward written
 * here, on random grouped and depthwise shapes. A network with depthwise
 * and grouped layers built from an --arch spec: PyTorch's parameter count,
 * eval and training logits, gradients and the parameters after one SGD
 * step; its .lspm round trip and the bytes of a dense model's file (no
 * groups attribute). Bad geometries are refused naming the groups. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/formats/lsp_jsonr.h"
#include "core/loss/lsp_loss.h"
#include "core/nn/layers/lsp_conv.h"
#include "core/nn/lsp_model.h"
#include "core/train/lsp_train.h"
#include "testutil.h"

#define DIR "torch_groupconv/"
#define GUARD 64

static float *load_f32(const char *cname, const char *key, size_t count) {
  char rel[256];
  snprintf(rel, sizeof rel, DIR "%s_%s.npy", cname, key);
  return td_load_f32(rel, count);
}

/* got (float) against a float64 reference, |d| <= 1e-5·(1 + |want|). */
static void check(const float *got, const char *cname, const char *key,
                  size_t count) {
  char rel[256], what[256];
  snprintf(rel, sizeof rel, DIR "%s_%s.npy", cname, key);
  snprintf(what, sizeof what, "%s %s", cname, key);
  td_close_f64(got, rel, count, 1e-5, 1e-5, what);
}

static size_t num(const lsp_jsonr *c, const char *key) {
  double v = lsp_jsonr_num_or(c, key, NAN);
  assert_true(isfinite(v) && v >= 0);
  return (size_t)v;
}

/* A workspace of exactly lsp_conv2d_ws_size floats and a guard after it. */
static float *ws_alloc(const lsp_conv2d_geom *g, size_t n, size_t *len) {
  *len = lsp_conv2d_ws_size(g, n);
  float *ws = malloc((*len + GUARD) * sizeof(float));
  assert_non_null(ws);
  for (size_t i = 0; i < GUARD; i++) ws[*len + i] = 1234.5f;
  return ws;
}
static void ws_guard(const float *ws, size_t len) {
  for (size_t i = 0; i < GUARD; i++) assert_true(ws[len + i] == 1234.5f);
}

static void test_group_torch(void **state) {
  (void)state;
  lsp_jsonr_doc *d = NULL;
  assert_int_equal(lsp_jsonr_read_file(td_path(DIR "cases.json"), &d), 0);
  const lsp_jsonr *list = lsp_jsonr_get(lsp_jsonr_root(d), "conv");
  assert_true(lsp_jsonr_len(list) >= 10);
  for (size_t k = 0; k < lsp_jsonr_len(list); k++) {
    const lsp_jsonr *c = lsp_jsonr_at(list, k);
    const char *name = lsp_jsonr_str_or(c, "name", "?");
    lsp_conv2d_geom g = {.c_in = num(c, "c_in"), .h_in = num(c, "h_in"),
                         .w_in = num(c, "w_in"), .c_out = num(c, "c_out"),
                         .kh = num(c, "kh"), .kw = num(c, "kw"),
                         .sh = num(c, "sh"), .sw = num(c, "sw"),
                         .ph = num(c, "ph"), .pw = num(c, "pw"),
                         .groups = num(c, "groups")};
    assert_true(g.groups > 1);
    assert_int_equal(lsp_conv2d_geom_check(&g), 0);
    const size_t n = num(c, "n"), bias = num(c, "bias");
    const size_t xs = g.c_in * g.h_in * g.w_in,
                 ys = g.c_out * g.h_out * g.w_out;
    const size_t wc = g.c_out * (g.c_in / g.groups) * g.kh * g.kw;
    float *x = load_f32(name, "x", n * xs), *w = load_f32(name, "w", wc);
    float *b = bias ? load_f32(name, "b", g.c_out) : NULL;
    float *dy = load_f32(name, "dy", n * ys);
    float *y = malloc(n * ys * sizeof(float)),
          *dx = malloc(n * xs * sizeof(float));
    float *dw = malloc(wc * sizeof(float)), *db = malloc(g.c_out * sizeof(float));
    size_t wl;
    float *ws = ws_alloc(&g, n, &wl);
    assert_true(y && dx && dw && db);
    lsp_conv2d_forward(&g, x, n, w, b, y, ws);
    check(y, name, "y", n * ys);
    lsp_conv2d_backward(&g, x, dy, n, w, dx, dw, bias ? db : NULL, ws);
    check(dx, name, "dx", n * xs);
    check(dw, name, "dw", wc);
    if (bias) check(db, name, "db", g.c_out);
    ws_guard(ws, wl);
    /* dx alone and dw alone: the same numbers */
    float *dx2 = malloc(n * xs * sizeof(float)), *dw2 = malloc(wc * sizeof(float));
    assert_true(dx2 && dw2);
    lsp_conv2d_backward(&g, NULL, dy, n, w, dx2, NULL, NULL, ws);
    lsp_conv2d_backward(&g, x, dy, n, w, NULL, dw2, NULL, ws);
    assert_memory_equal(dx2, dx, n * xs * sizeof(float));
    assert_memory_equal(dw2, dw, wc * sizeof(float));
    /* sample by sample with a one-sample workspace: the forward's bits */
    size_t wl1;
    float *ws1 = ws_alloc(&g, 1, &wl1), *y1 = malloc(n * ys * sizeof(float));
    assert_non_null(y1);
    for (size_t i = 0; i < n; i++)
      lsp_conv2d_forward(&g, x + i * xs, 1, w, b, y1 + i * ys, ws1);
    assert_memory_equal(y1, y, n * ys * sizeof(float));
    ws_guard(ws1, wl1);
    free(ws1), free(y1), free(dx2), free(dw2);
    free(x), free(w), free(b), free(dy), free(y), free(dx), free(dw), free(db);
    free(ws);
  }
  lsp_jsonr_free(d);
}

/* ---- central differences of a naive grouped forward --------------------- */

static uint64_t rng_state;
static double urand(void) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return (double)((rng_state * 2685821657736338717ULL) >> 11) * 0x1.0p-53;
}
static size_t irand(size_t lo, size_t hi) {
  return lo + (size_t)(urand() * (double)(hi - lo + 1));
}

typedef struct {
  lsp_conv2d_geom g;
  size_t n;
  int bias;
} conv_ctx;

/* y[i,o,r,s] = b[o] + Σ_{j,u,v} w[o,j,u,v]·x[i, q(o)·C/G + j, r·sh−ph+u,
 * s·sw−pw+v], q(o) = o / (M/G) */
static void ref(const conv_ctx *c, const double *v, double *y) {
  const lsp_conv2d_geom *g = &c->g;
  const size_t cg = g->c_in / g->groups, og = g->c_out / g->groups;
  const double *x = v, *w = x + c->n * g->c_in * g->h_in * g->w_in;
  const double *b = w + g->c_out * cg * g->kh * g->kw;
  for (size_t i = 0; i < c->n; i++)
    for (size_t o = 0; o < g->c_out; o++)
      for (size_t r = 0; r < g->h_out; r++)
        for (size_t s = 0; s < g->w_out; s++) {
          double acc = c->bias ? b[o] : 0.0;
          for (size_t j = 0; j < cg; j++)
            for (size_t u = 0; u < g->kh; u++)
              for (size_t q = 0; q < g->kw; q++) {
                long hh = (long)(r * g->sh + u) - (long)g->ph;
                long ww = (long)(s * g->sw + q) - (long)g->pw;
                if (hh < 0 || ww < 0 || hh >= (long)g->h_in ||
                    ww >= (long)g->w_in)
                  continue;
                const size_t ch = o / og * cg + j;
                acc += w[((o * cg + j) * g->kh + u) * g->kw + q] *
                       x[((i * g->c_in + ch) * g->h_in + (size_t)hh) * g->w_in +
                         (size_t)ww];
              }
          y[((i * g->c_out + o) * g->h_out + r) * g->w_out + s] = acc;
        }
}

static double loss_at(const conv_ctx *c, const double *v, const double *r,
                      double *out, size_t ny) {
  ref(c, v, out);
  double s = 0;
  for (size_t i = 0; i < ny; i++) s += r[i] * out[i];
  return s;
}

static void test_group_fd(void **state) {
  (void)state;
  for (int k = 0; k < 48; k++) {
    rng_state = 0xD1B54A32D192ED03ULL + (uint64_t)k;
    conv_ctx c = {.n = irand(1, 2), .bias = (int)irand(0, 1)};
    lsp_conv2d_geom *g = &c.g;
    g->groups = irand(2, 4);
    if (k % 2) { /* depthwise, multiplier 1–3 */
      g->c_in = g->groups;
      g->c_out = g->groups * irand(1, 3);
    } else {
      g->c_in = g->groups * irand(1, 3);
      g->c_out = g->groups * irand(1, 3);
    }
    g->kh = irand(1, 5), g->kw = irand(1, 5);
    g->sh = irand(1, 3), g->sw = irand(1, 3);
    g->ph = irand(0, 3), g->pw = irand(0, 3);
    g->h_in = irand(g->kh, 9);
    g->w_in = irand(g->kw, k % 4 == 3 ? 40 : 9);
    assert_int_equal(lsp_conv2d_geom_check(g), 0);
    const size_t nx = c.n * g->c_in * g->h_in * g->w_in;
    const size_t nw = g->c_out * (g->c_in / g->groups) * g->kh * g->kw;
    const size_t nb = c.bias ? g->c_out : 0, nv = nx + nw + nb;
    const size_t ny = c.n * g->c_out * g->h_out * g->w_out;
    double *v = malloc(nv * sizeof(double)), *r = malloc(ny * sizeof(double));
    double *out = malloc(ny * sizeof(double));
    float *vf = malloc(nv * sizeof(float)), *rf = malloc(ny * sizeof(float));
    float *y = malloc(ny * sizeof(float)), *gk = calloc(nv, sizeof(float));
    assert_true(v && r && out && vf && rf && y && gk);
    for (size_t i = 0; i < nv; i++) v[i] = vf[i] = (float)(2 * urand() - 1);
    for (size_t i = 0; i < ny; i++) r[i] = rf[i] = (float)(2 * urand() - 1);
    size_t wl;
    float *ws = ws_alloc(g, c.n, &wl);
    lsp_conv2d_forward(g, vf, c.n, vf + nx, c.bias ? vf + nx + nw : NULL, y, ws);
    lsp_conv2d_backward(g, vf, rf, c.n, vf + nx, gk, gk + nx,
                        c.bias ? gk + nx + nw : NULL, ws);
    ws_guard(ws, wl);
    char what[160];
    snprintf(what, sizeof what,
             "conv n%zu %zux%zux%zu->%zu g%zu k%zux%zu s%zu,%zu p%zu,%zu",
             c.n, g->c_in, g->h_in, g->w_in, g->c_out, g->groups, g->kh,
             g->kw, g->sh, g->sw, g->ph, g->pw);
    ref(&c, v, out);
    for (size_t i = 0; i < ny; i++) td_close(y[i], out[i], 1e-5, 1e-5, what, i);
    for (size_t i = 0; i < nv; i++) {
      const double v0 = v[i], h = 1e-6;
      v[i] = v0 + h;
      double lp = loss_at(&c, v, r, out, ny);
      v[i] = v0 - h;
      double lm = loss_at(&c, v, r, out, ny);
      v[i] = v0;
      td_close(gk[i], (lp - lm) / (2 * h), 1e-4, 1e-5, what, i);
    }
    free(v), free(r), free(out), free(vf), free(rf), free(y), free(gk);
    free(ws);
  }
}

static void test_group_bad(void **state) {
  (void)state;
  lsp_conv2d_geom g = {.c_in = 6, .h_in = 5, .w_in = 5, .c_out = 4, .kh = 3,
                       .kw = 3, .sh = 1, .sw = 1, .groups = 4};
  assert_int_equal(lsp_conv2d_geom_check(&g), LSP_EINVAL); /* 4 ∤ 6 */
  /* the message names the channel count the groups fail to divide */
  assert_non_null(strstr(lsp_errmsg(), "4 groups do not divide the 6 input "
                                       "channels (they divide the 4 output"));
  g.groups = 3; /* 3 | 6 but 3 ∤ 4 */
  assert_int_equal(lsp_conv2d_geom_check(&g), LSP_EINVAL);
  assert_non_null(strstr(lsp_errmsg(), "3 groups do not divide the 4 output "
                                       "channels (they divide the 6 input"));
  g.groups = 5; /* 5 ∤ 6 and 5 ∤ 4 */
  assert_int_equal(lsp_conv2d_geom_check(&g), LSP_EINVAL);
  assert_non_null(strstr(lsp_errmsg(), "5 groups divide neither the 6 input "
                                       "nor the 4 output channels"));
  g.groups = 2;
  assert_int_equal(lsp_conv2d_geom_check(&g), LSP_OK);
  /* the model refuses it too, naming the layer */
  lsp_model *m = NULL;
  assert_int_equal(lsp_model_from_spec("conv(4,3,g=3)", (lsp_shape){6, 5, 5}, 2,
                                       NULL, 0, &m),
                   LSP_EINVAL);
  assert_non_null(strstr(lsp_errmsg(), "conv1"));
  assert_non_null(strstr(lsp_errmsg(), "3 groups do not divide the 4 "
                                       "output channels"));
  assert_int_equal(lsp_model_from_spec("conv(4,3,g=0)", (lsp_shape){6, 5, 5}, 2,
                                       NULL, 0, &m),
                   LSP_EINVAL);
  assert_non_null(strstr(lsp_errmsg(), "0 groups (at least 1)"));
  assert_null(m);
  /* negative, fractional or huge counts: refused by the parser, which says
   * what it takes */
  const char *nums[] = {"conv(4,3,g=-1)", "conv(4,3,g=2.5)",
                        "conv(4,3,g=18446744073709551615)"};
  for (size_t i = 0; i < 3; i++) {
    assert_int_equal(
        lsp_model_from_spec(nums[i], (lsp_shape){6, 5, 5}, 2, NULL, 0, &m),
        LSP_EINVAL);
    assert_non_null(
        strstr(lsp_errmsg(), "expected a whole number from 0 to 10^9"));
    assert_null(m);
  }
}

/* ---- a network with depthwise and grouped layers ------------------------ */

static void test_group_net(void **state) {
  (void)state;
  lsp_jsonr_doc *d = NULL;
  assert_int_equal(lsp_jsonr_read_file(td_path(DIR "cases.json"), &d), 0);
  const lsp_jsonr *c = lsp_jsonr_get(lsp_jsonr_root(d), "net");
  const char *spec = lsp_jsonr_str_or(c, "spec", "");
  const size_t N = num(c, "n"), K = num(c, "classes");
  const lsp_shape in = {num(c, "c"), num(c, "h"), num(c, "w")};
  lsp_model *m = NULL;
  int st = lsp_model_from_spec(spec, in, K, NULL, 0, &m);
  if (st) print_error("%s\n", lsp_errmsg());
  assert_int_equal(st, 0);
  assert_int_equal(m->nparams, num(c, "nparams")); /* PyTorch's count */
  td_load_into(DIR "net_params.npy", m->params, m->nparams);
  td_load_into(DIR "net_buffers.npy", m->state, m->nstate);
  lsp_array xa, ya;
  td_load(DIR "net_x.npy", &xa);
  td_load(DIR "net_labels.npy", &ya);
  int32_t *labels = NULL;
  assert_int_equal(lsp_array_labels(&ya, "labels", (int)K, &labels), LSP_OK);
  lsp_model_ws *ws = lsp_model_ws_alloc(m, N);
  const float *z;
  assert_int_equal(lsp_model_forward(m, ws, xa.data, N, &z, NULL), 0);
  td_close_f64(z, DIR "net_logits_eval.npy", N * K, 1e-5, 1e-6, NULL);
  /* the .lspm round trip keeps the groups and every number */
  const char *path = td_tmp("groupconv.lspm");
  assert_int_equal(lsp_model_save(m, path), 0);
  lsp_model *m2 = NULL;
  assert_int_equal(lsp_model_load_lspm(path, &m2), 0);
  char a1[2048], a2[2048];
  lsp_model_arch_string(m, a1, sizeof a1);
  lsp_model_arch_string(m2, a2, sizeof a2);
  assert_string_equal(a1, a2);
  assert_non_null(strstr(a1, "groups=12"));
  assert_non_null(strstr(a1, "groups=4"));
  assert_memory_equal(m2->params, m->params, m->nparams * sizeof(float));
  lsp_model_free(m2);
  /* one training step */
  assert_int_equal(lsp_model_forward_train(m, ws, xa.data, N, &z, NULL), 0);
  td_close_f64(z, DIR "net_logits_train.npy", N * K, 1e-5, 1e-6, NULL);
  lsp_ls ce = {0.0, LSP_LS_UNIFORM, 0};
  float *dz = malloc(N * K * sizeof(float));
  float *vel = calloc(m->nparams, sizeof(float));
  assert_true(dz && vel);
  double loss;
  assert_int_equal(
      lsp_loss_xent(z, labels, N, K, &ce, dz, 1.0 / (double)N, NULL, &loss), 0);
  td_close(loss, lsp_jsonr_num_or(c, "loss", NAN), 1e-6, 0, "net loss", 0);
  assert_int_equal(lsp_model_backward(m, ws, dz, LSP_BACK_PARAMS, NULL), 0);
  td_close_f64(m->grads, DIR "net_grads.npy", m->nparams, 1e-5, 1e-6, NULL);
  lsp_train_sgd_step(m->params, m->grads, vel, m->nparams, 0.1, 0.9, 5e-4);
  td_close_f64(m->params, DIR "net_params_after.npy", m->nparams, 1e-5, 1e-6, NULL);
  free(dz), free(vel), free(labels);
  lsp_array_release(&xa), lsp_array_release(&ya);
  lsp_model_ws_free(ws);
  lsp_model_free(m);
  lsp_jsonr_free(d);
}

/* A dense convolution's file holds no groups attribute (the bytes of
 * files written before groups existed), a grouped one's does. */
static void test_group_lspm_bytes(void **state) {
  (void)state;
  const char *specs[2] = {"conv(4,3,p=1) relu gap flatten",
                          "conv(4,3,p=1,g=2) relu gap flatten"};
  for (int k = 0; k < 2; k++) {
    lsp_model *m = NULL;
    assert_int_equal(
        lsp_model_from_spec(specs[k], (lsp_shape){2, 6, 6}, 3, NULL, 0, &m), 0);
    assert_int_equal(lsp_model_init(m, 7), 0);
    assert_int_equal(m->nparams, 4 * (2 / (size_t)(k + 1)) * 9 + 4 + 4 * 3 + 3);
    const char *path = td_tmp("g.lspm");
    assert_int_equal(lsp_model_save(m, path), 0);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char buf[4096];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    int has = 0;
    for (size_t i = 0; i + 6 <= len; i++)
      has |= memcmp(buf + i, "groups", 6) == 0;
    assert_int_equal(has, k);
    char arch[512];
    lsp_model_arch_string(m, arch, sizeof arch);
    assert_int_equal(strstr(arch, "groups") != NULL, k);
    lsp_model_free(m);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_group_torch),
      cmocka_unit_test(test_group_fd),
      cmocka_unit_test(test_group_bad),
      cmocka_unit_test(test_group_net),
      cmocka_unit_test(test_group_lspm_bytes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
