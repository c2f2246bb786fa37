/* Tests of the soft-target cross-entropy and the distillation loss against
 * PyTorch's numbers (tests/data/distill, gen_distill.py), finite
 * differences and closed forms. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_threads.h"
#include "core/formats/lsp_jsonr.h"
#include "core/loss/lsp_loss.h"
#include "core/loss/lsp_soft.h"
#include "testutil.h"

static double case_num(const char *dir, const char *key) {
  char rel[256];
  snprintf(rel, sizeof rel, "distill/%s/case.json", dir);
  lsp_jsonr_doc *d = NULL;
  if (lsp_jsonr_read_file(td_path(rel), &d)) {
    print_error("%s: %s\n", rel, lsp_errmsg());
    fail();
  }
  double v = NAN;
  if (lsp_jsonr_need_num(d, lsp_jsonr_root(d), "", key, 0, &v)) {
    print_error("%s\n", lsp_errmsg());
    lsp_jsonr_free(d);
    fail();
  }
  lsp_jsonr_free(d);
  return v;
}

static void load(const char *dir, const char *name, lsp_array *a) {
  char rel[256];
  snprintf(rel, sizeof rel, "distill/%s/%s.npy", dir, name);
  td_load(rel, a);
}

/* The kernel's gradient against PyTorch's float64 gradient (computed from
 * the same float32 inputs) and its float32 one. */
static void check_grad(const float *g, const lsp_array *g64,
                       const lsp_array *g32, size_t nk, const char *what) {
  assert_int_equal(g64->dtype, LSP_DT_F64);
  assert_int_equal(g32->dtype, LSP_DT_F32);
  assert_int_equal(g64->count, nk);
  const double *r = g64->data;
  const float *r32 = g32->data;
  double worst = 0;
  for (size_t i = 0; i < nk; i++) {
    td_close(g[i], r[i], 1e-6, 1e-9, what, i);
    td_close(g[i], r32[i], 0, 1e-7, what, i);
    worst = fmax(worst, fabs(g[i] - r[i]));
  }
  print_message("%s: max |grad - torch f64| %.2e\n", what, worst);
}

/* PyTorch: F.cross_entropy(logits, probability targets), mean. */
static void test_torch_soft(void **state) {
  (void)state;
  const char *cases[] = {"soft_k10", "soft_k37"};
  for (int c = 0; c < 2; c++) {
    lsp_array za, qa, ga, g32;
    load(cases[c], "logits", &za);
    load(cases[c], "targets", &qa);
    load(cases[c], "grad", &ga);
    load(cases[c], "grad_f32", &g32);
    size_t n = za.shape[0], k = za.shape[1];
    assert_int_equal(n, (size_t)case_num(cases[c], "n"));
    assert_int_equal(k, (size_t)case_num(cases[c], "k"));
    float *g = malloc(n * k * sizeof *g);
    double mean = NAN, *rows = malloc(n * sizeof *rows);
    assert_int_equal(lsp_loss_soft_xent(za.data, qa.data, n, k, g,
                                        1.0 / (double)n, rows, &mean),
                     0);
    td_close(mean, case_num(cases[c], "loss_f64"), 1e-6, 0,
             "soft loss vs torch f64", 0);
    td_close(mean, case_num(cases[c], "loss_f32"), 1e-6, 0,
             "soft loss vs torch f32", 0);
    double s = 0;
    for (size_t i = 0; i < n; i++) s += rows[i];
    td_close(s / (double)n, mean, 1e-12, 0, "row losses average to the mean",
             0);
    check_grad(g, &ga, &g32, n * k, cases[c]);
    print_message("%s: loss %.12f, torch f64 %.12f\n", cases[c], mean,
                  case_num(cases[c], "loss_f64"));
    free(g);
    free(rows);
    lsp_array_release(&za);
    lsp_array_release(&qa);
    lsp_array_release(&ga);
    lsp_array_release(&g32);
  }
}

/* PyTorch: (1-a) F.cross_entropy(zs, y, label_smoothing=e)
 *          + a T^2 F.kl_div(log_softmax(zs/T), softmax(zt/T), 'batchmean') */
static void test_torch_distill(void **state) {
  (void)state;
  const char *cases[] = {"distill_t1_a0.5",       "distill_t2_a0.9",
                         "distill_t4_a0.3_ls0.1", "distill_t8_a1",
                         "distill_t0.5_a0.7",     "distill_k37_t3_a0.6",
                         "distill_peaked_t1_a0.8"};
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
    lsp_array sa, ta, ya, ga, g32;
    load(cases[c], "student", &sa);
    load(cases[c], "teacher", &ta);
    load(cases[c], "labels", &ya);
    load(cases[c], "grad", &ga);
    load(cases[c], "grad_f32", &g32);
    size_t n = sa.shape[0], k = sa.shape[1];
    int32_t *y = NULL;
    assert_int_equal(lsp_array_labels(&ya, "labels", (int)k, &y), 0);
    lsp_distill d = {case_num(cases[c], "alpha"),
                     case_num(cases[c], "temperature"),
                     {case_num(cases[c], "smoothing"), LSP_LS_UNIFORM, 0}};
    float *g = malloc(n * k * sizeof *g);
    lsp_distill_mean m;
    assert_int_equal(lsp_loss_distill(sa.data, ta.data, y, n, k, &d, g,
                                      1.0 / (double)n, NULL, &m),
                     0);
    td_close(m.loss, case_num(cases[c], "loss_f64"), 1e-6, 0,
             "distill loss vs torch f64", c);
    td_close(m.loss, case_num(cases[c], "loss_f32"), 1e-6, 0,
             "distill loss vs torch f32", c);
    td_close(m.ce, case_num(cases[c], "ce_f64"), 1e-6, 0, "hard CE vs torch",
             c);
    td_close(m.kl, case_num(cases[c], "kl_f64"), 1e-6, 1e-12, "KL vs torch", c);
    check_grad(g, &ga, &g32, n * k, cases[c]);
    print_message("%s: loss %.12f, torch f64 %.12f\n", cases[c], m.loss,
                  case_num(cases[c], "loss_f64"));
    free(g);
    free(y);
    lsp_array_release(&sa);
    lsp_array_release(&ta);
    lsp_array_release(&ya);
    lsp_array_release(&ga);
    lsp_array_release(&g32);
  }
}

static float frand(unsigned *s, float scale) {
  *s = *s * 1664525u + 1013904223u;
  return scale * ((float)(*s >> 8) / 16777216.0f * 2.0f - 1.0f);
}

/* A random distribution per row (some exact zeros). */
static void rand_targets(float *q, size_t n, size_t k, unsigned *seed) {
  for (size_t i = 0; i < n; i++) {
    double s = 0;
    for (size_t j = 0; j < k; j++) {
      float u = frand(seed, 1.0f);
      q[i * k + j] = u < -0.6f ? 0.0f : u + 1.0f;
      s += q[i * k + j];
    }
    if (s == 0) q[i * k] = 1.0f, s = 1.0;
    for (size_t j = 0; j < k; j++) q[i * k + j] = (float)(q[i * k + j] / s);
  }
}

/* Central differences of the double references against the fused
 * kernels' gradients, and the kernels' losses against the references. */
static void test_finite_differences(void **state) {
  (void)state;
  const size_t k_list[] = {2, 3, 10, 17, 33};
  const double t_list[] = {0.5, 1.0, 2.0, 8.0};
  const double a_list[] = {0.0, 0.3, 1.0};
  unsigned seed = 4242;
  const float h = 1.0f / 1024.0f; /* exact in float for |z| < 4 */
  for (size_t ki = 0; ki < 5; ki++) {
    size_t n = 4, k = k_list[ki];
    float *z = malloc(n * k * sizeof *z), *t = malloc(n * k * sizeof *t);
    float *q = malloc(n * k * sizeof *q), *g = malloc(n * k * sizeof *g);
    double *gref = malloc(n * k * sizeof *gref);
    int32_t *y = malloc(n * sizeof *y);
    for (size_t i = 0; i < n * k; i++)
      z[i] = frand(&seed, 3.0f), t[i] = frand(&seed, 3.5f);
    for (size_t i = 0; i < n; i++) y[i] = (int32_t)((i * 5 + 1) % k);
    rand_targets(q, n, k, &seed);
    /* soft-target CE */
    double mean, ref, lp, lm;
    assert_int_equal(
        lsp_loss_soft_xent(z, q, n, k, g, 1.0 / (double)n, NULL, &mean), 0);
    assert_int_equal(
        lsp_loss_soft_xent_ref(z, q, n, k, gref, 1.0 / (double)n, &ref), 0);
    td_close(mean, ref, 1e-12, 0, "soft loss vs reference", k);
    for (size_t i = 0; i < n * k; i++) {
      float z0 = z[i];
      z[i] = z0 + h;
      assert_int_equal(lsp_loss_soft_xent_ref(z, q, n, k, NULL, 1, &lp), 0);
      z[i] = z0 - h;
      assert_int_equal(lsp_loss_soft_xent_ref(z, q, n, k, NULL, 1, &lm), 0);
      z[i] = z0;
      td_close(g[i], (lp - lm) / (2.0 * (double)h), 0, 1e-6,
               "soft grad vs finite difference", i);
      td_close(g[i], gref[i], 1e-6, 1e-9, "soft grad vs reference", i);
    }
    /* distillation, over temperatures, alphas and hard-label settings */
    for (size_t ti = 0; ti < 4; ti++)
      for (size_t ai = 0; ai < 3; ai++) {
        lsp_distill d = {
            a_list[ai],
            t_list[ti],
            {ai == 1 ? 0.1 : 0.0, ti == 2 ? LSP_LS_T2T : LSP_LS_UNIFORM,
             (int)(ti == 3)}};
        lsp_distill_mean m, mr, mp, mm;
        assert_int_equal(
            lsp_loss_distill(z, t, y, n, k, &d, g, 1.0 / (double)n, NULL, &m),
            0);
        assert_int_equal(
            lsp_loss_distill_ref(z, t, y, n, k, &d, gref, 1.0 / (double)n, &mr),
            0);
        td_close(m.loss, mr.loss, 1e-12, 1e-14, "distill loss vs reference", k);
        td_close(m.kl, mr.kl, 1e-11, 1e-14, "KL vs reference", k);
        for (size_t i = 0; i < n * k; i++) {
          float z0 = z[i];
          z[i] = z0 + h;
          assert_int_equal(
              lsp_loss_distill_ref(z, t, y, n, k, &d, NULL, 1, &mp), 0);
          z[i] = z0 - h;
          assert_int_equal(
              lsp_loss_distill_ref(z, t, y, n, k, &d, NULL, 1, &mm), 0);
          z[i] = z0;
          double fd = (mp.loss - mm.loss) / (2.0 * (double)h);
          /* the h^2 error term grows like 1/T: looser at T = 0.5 */
          td_close(g[i], fd, 0, d.temperature < 1 ? 4e-6 : 1e-6,
                   "distill grad vs finite difference", i);
          td_close(g[i], gref[i], 1e-6, 1e-9, "distill grad vs reference", i);
        }
      }
    free(z);
    free(t);
    free(q);
    free(g);
    free(gref);
    free(y);
  }
}

/* alpha = 0 is the hard-label loss of lsp_loss_xent; soft targets equal to
 * the smoothed target give lsp_loss_xent too. */
static void test_special_cases(void **state) {
  (void)state;
  const size_t n = 37, k = 19;
  float z[37 * 19], t[37 * 19], q[37 * 19], g[37 * 19], gx[37 * 19];
  int32_t y[37];
  unsigned seed = 77;
  for (size_t i = 0; i < n * k; i++)
    z[i] = frand(&seed, 5.0f), t[i] = frand(&seed, 5.0f);
  for (size_t i = 0; i < n; i++) y[i] = (int32_t)((i * 3) % k);
  for (int conv = 0; conv < 2; conv++)
    for (int e = 0; e < 3; e++) {
      lsp_ls ls = {e * 0.15, (lsp_ls_convention)conv, 0};
      double lx, ls_soft;
      assert_int_equal(
          lsp_loss_xent(z, y, n, k, &ls, gx, 1.0 / (double)n, NULL, &lx), 0);
      lsp_distill d = {0.0, 3.0, ls};
      lsp_distill_mean m;
      assert_int_equal(
          lsp_loss_distill(z, t, y, n, k, &d, g, 1.0 / (double)n, NULL, &m), 0);
      td_close(m.loss, lx, 1e-6, 0, "alpha 0 = smoothed CE", (size_t)e);
      td_close(m.ce, lx, 1e-6, 0, "alpha 0: ce part", (size_t)e);
      for (size_t i = 0; i < n * k; i++)
        td_close(g[i], gx[i], 1e-5, 1e-9, "alpha 0 gradient", i);
      double on, off;
      lsp_ls_target(&ls, k, &on, &off);
      for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < k; j++)
          q[i * k + j] = (float)((int32_t)j == y[i] ? on : off);
      assert_int_equal(
          lsp_loss_soft_xent(z, q, n, k, g, 1.0 / (double)n, NULL, &ls_soft),
          0);
      /* q rounded to float32: the sum of q differs from 1 by ~1e-7 */
      td_close(ls_soft, lx, 1e-6, 0, "soft targets = smoothed target",
               (size_t)e);
      for (size_t i = 0; i < n * k; i++)
        td_close(g[i], gx[i], 1e-5, 1e-8, "soft target gradient", i);
    }
}

/* A teacher equal to the student: KL exactly 0; with alpha = 1 the loss and
 * every gradient entry are exactly 0, at any temperature; with alpha = 0.4
 * the gradient is 0.6 times the hard-label one. */
static void test_teacher_is_student(void **state) {
  (void)state;
  const size_t n = 70, k = 23;
  float *z = malloc(n * k * sizeof *z), *g = malloc(n * k * sizeof *g),
        *gx = malloc(n * k * sizeof *gx);
  int32_t *y = malloc(n * sizeof *y);
  unsigned seed = 31337;
  for (size_t i = 0; i < n * k; i++) z[i] = frand(&seed, 20.0f);
  for (size_t i = 0; i < n; i++) y[i] = (int32_t)(i % k);
  const double temps[] = {0.25, 1.0, 2.0, 4.0, 8.0, 100.0};
  for (size_t ti = 0; ti < 6; ti++) {
    lsp_distill d = {1.0, temps[ti], {0.1, LSP_LS_UNIFORM, 0}};
    lsp_distill_mean m;
    double rows[70];
    assert_int_equal(
        lsp_loss_distill(z, z, y, n, k, &d, g, 1.0 / (double)n, rows, &m), 0);
    assert_true(m.kl == 0.0);
    assert_true(m.loss == 0.0);
    for (size_t i = 0; i < n; i++) assert_true(rows[i] == 0.0);
    for (size_t i = 0; i < n * k; i++) assert_true(g[i] == 0.0f);
    d.alpha = 0.4;
    double lx;
    assert_int_equal(lsp_loss_distill(z, z, y, n, k, &d, g, 1.0, NULL, &m), 0);
    assert_true(m.kl == 0.0);
    assert_int_equal(lsp_loss_xent(z, y, n, k, &d.hard, gx, 1.0, NULL, &lx), 0);
    td_close(m.loss, 0.6 * lx, 1e-6, 0, "alpha 0.4, teacher = student", ti);
    for (size_t i = 0; i < n * k; i++)
      td_close(g[i], 0.6 * gx[i], 1e-5, 1e-8, "gradient 0.6 (p - q)", i);
  }
  free(z);
  free(g);
  free(gx);
  free(y);
}

/* Equal logits far larger than log K (1e16, 1e20, near FLT_MAX): soft
 * targets q give (Σ q) log K; distillation from an equal teacher gives the
 * hard term log K − H(q)·normalize and a KL of 0. */
static void test_huge_equal_logits(void **state) {
  (void)state;
  const size_t ks[] = {2, 3, 10, 17, 1000};
  const float big[] = {1e16f, 1e20f, -1e20f, 3e38f};
  for (size_t ki = 0; ki < sizeof ks / sizeof *ks; ki++)
    for (size_t bi = 0; bi < sizeof big / sizeof *big; bi++) {
      const size_t k = ks[ki], n = 2;
      float *z = malloc(n * k * sizeof *z), *q = malloc(n * k * sizeof *q),
            *g = malloc(n * k * sizeof *g);
      int32_t y[2] = {0, (int32_t)(k - 1)};
      double sq[2] = {0, 0}, rows[2], mean;
      for (size_t i = 0; i < n * k; i++) {
        z[i] = big[bi];
        q[i] = (float)((i % k + 1.0) / (double)(k * (k + 1) / 2));
        sq[i / k] += q[i];
      }
      assert_int_equal(lsp_loss_soft_xent(z, q, n, k, g, 1.0, rows, &mean), 0);
      for (size_t i = 0; i < n; i++)
        td_close(rows[i], sq[i] * log((double)k), 1e-12, 0, "soft, equal logits", k);
      for (size_t i = 0; i < n * k; i++)
        td_close(g[i], sq[i / k] / (double)k - q[i], 0, 1e-7, "soft grad", i);
      lsp_distill d = {0.3, 2.0, {0.1, LSP_LS_UNIFORM, 1}};
      lsp_distill_mean m;
      assert_int_equal(lsp_loss_distill(z, z, y, n, k, &d, g, 1.0, rows, &m), 0);
      const double ce = log((double)k) - lsp_ls_entropy(&d.hard, k);
      td_close(m.ce, ce, 1e-12, 1e-12, "distill ce, equal logits", k);
      assert_true(m.kl == 0.0);
      td_close(m.loss, 0.7 * ce, 1e-12, 1e-12, "distill loss, equal logits", k);
      free(z);
      free(q);
      free(g);
    }
}

/* K = 2 by hand: the KL of two Bernoulli distributions; and logits of 1e4. */
static void test_closed_forms(void **state) {
  (void)state;
  const float z[2] = {0.75f, -0.5f}, t[2] = {-1.25f, 2.0f};
  const int32_t y = 1;
  const double T = 2.5, a = 0.35;
  lsp_distill d = {a, T, {0.0, LSP_LS_UNIFORM, 0}};
  lsp_distill_mean m;
  float g[2];
  assert_int_equal(lsp_loss_distill(z, t, &y, 1, 2, &d, g, 1.0, NULL, &m), 0);
  double ps = 1.0 / (1.0 + exp((-0.5 - 0.75) / T)); /* P(class 0) at T */
  double pt = 1.0 / (1.0 + exp((2.0 + 1.25) / T));
  double kl = pt * log(pt / ps) + (1 - pt) * log((1 - pt) / (1 - ps));
  double p1 = 1.0 / (1.0 + exp(0.75 + 0.5)); /* P(class 1), T = 1 */
  td_close(m.kl, kl, 1e-12, 0, "Bernoulli KL", 0);
  td_close(m.ce, -log(p1), 1e-12, 0, "K=2 CE", 0);
  td_close(m.loss, (1 - a) * -log(p1) + a * T * T * kl, 1e-12, 0, "K=2 loss",
           0);
  td_close(g[0], (1 - a) * (1 - p1) + a * T * (ps - pt), 1e-6, 1e-9, "K=2 grad",
           0);
  td_close(g[1], (1 - a) * (p1 - 1) + a * T * (pt - ps), 1e-6, 1e-9, "K=2 grad",
           1);

  /* logits of +-1e4: finite, and the closed form (the teacher picks class 2) */
  const float zb[4] = {1e4f, -1e4f, 0.0f, 5e3f},
              tb[4] = {0.0f, 0.0f, 1e4f, 0.0f};
  const int32_t yb = 0;
  lsp_distill d1 = {0.5, 1.0, {0.0, LSP_LS_UNIFORM, 0}};
  float gb[4];
  assert_int_equal(lsp_loss_distill(zb, tb, &yb, 1, 4, &d1, gb, 1.0, NULL, &m),
                   0);
  td_close(m.ce, 0.0, 0, 1e-12, "huge logits CE", 0);
  td_close(m.kl, 1e4, 1e-12, 0, "huge logits KL = z_0 - z_2", 0);
  const double want[4] = {0.5, 0.0, -0.5, 0.0};
  for (int j = 0; j < 4; j++)
    td_close(gb[j], want[j], 0, 1e-7, "huge logits grad", (size_t)j);
  double l;
  const float qb[4] = {0.25f, 0.25f, 0.25f, 0.25f};
  assert_int_equal(lsp_loss_soft_xent(zb, qb, 1, 4, gb, 1.0, NULL, &l), 0);
  td_close(l, 1e4 - 0.25 * 5e3, 1e-12, 0, "huge logits soft CE", 0);
  /* targets not summing to 1: sum(q) logsumexp(z) - q.z, as PyTorch */
  const float zc[3] = {0.5f, 1.5f, -1.0f}, qc[3] = {0.5f, 0.25f, 0.0f};
  assert_int_equal(lsp_loss_soft_xent(zc, qc, 1, 3, gb, 1.0, NULL, &l), 0);
  double lse = log(exp(0.5) + exp(1.5) + exp(-1.0));
  td_close(l, 0.75 * lse - (0.25 + 0.375), 1e-12, 0, "row sum 0.75", 0);
  td_close(gb[2], 0.75 * exp(-1.0 - lse), 1e-6, 0, "row sum 0.75 grad", 2);

  /* a confident row (student 80, teacher 10 above the rest, T = 0.5): the
   * label's gradient, about 1e-9, lies far below float32's ulp of
   * (1 - a) p_y = 0.5; each term from 1 - softmax_y = r/(1 + r), r = 2e^-x */
  const float zd[3] = {80.0f, 0.0f, 0.0f}, td[3] = {10.0f, 0.0f, 0.0f};
  const int32_t yd = 0;
  lsp_distill dd = {0.5, 0.5, {0.0, LSP_LS_UNIFORM, 0}};
  float gd[3];
  assert_int_equal(lsp_loss_distill(zd, td, &yd, 1, 3, &dd, gd, 1.0, NULL, &m), 0);
  const double rz = 2.0 * exp(-80.0), rs = 2.0 * exp(-160.0), rt = 2.0 * exp(-20.0);
  const double gy = -0.5 * rz / (1.0 + rz) + 0.5 * 0.5 * (rt / (1.0 + rt) - rs / (1.0 + rs));
  td_close(gd[0], gy, 1e-6, 0, "confident row grad at the label", 0);
  td_close(gd[1], -gy / 2.0, 1e-6, 0, "confident row grad", 1);
}

static void test_invalid_inputs(void **state) {
  (void)state;
  float z[6] = {1, 2, 3, 4, 5, 6}, t[6] = {0, 1, 0, 1, 0, 1};
  float q[6] = {0.5f, 0.5f, 0, 0, 0.25f, 0.75f};
  int32_t y[2] = {0, 2};
  lsp_distill_mean m;
  double l;
  const double bad_alpha[] = {-0.01, 1.01, NAN};
  for (int i = 0; i < 3; i++) {
    lsp_distill d = {bad_alpha[i], 2.0, {0, LSP_LS_UNIFORM, 0}};
    assert_int_equal(lsp_loss_distill(z, t, y, 2, 3, &d, NULL, 1, NULL, &m),
                     LSP_EINVAL);
    assert_non_null(strstr(lsp_errmsg(), "alpha"));
  }
  /* 1e-310: 1/T overflows to inf; 1e200: T^2 does */
  const double bad_t[] = {0.0, -1.0, INFINITY, NAN, 1e-310, 1e200};
  for (int i = 0; i < 6; i++) {
    lsp_distill d = {0.5, bad_t[i], {0, LSP_LS_UNIFORM, 0}};
    assert_int_equal(lsp_loss_distill(z, t, y, 2, 3, &d, NULL, 1, NULL, &m),
                     LSP_EINVAL);
    assert_non_null(strstr(lsp_errmsg(), "temperature"));
  }
  assert_non_null(strstr(lsp_errmsg(), "T^2 is not finite"));
  { /* a tiny T whose reciprocal is finite is taken (T^2 underflows to 0) */
    lsp_distill tiny = {0.5, 1e-300, {0, LSP_LS_UNIFORM, 0}};
    float gt[6];
    assert_int_equal(lsp_loss_distill(z, t, y, 2, 3, &tiny, gt, 1, NULL, &m), LSP_OK);
    assert_true(isfinite(m.loss) && isfinite(m.kl));
    for (int i = 0; i < 6; i++) assert_true(isfinite(gt[i]));
  }
  { /* T = 1e-308: the teacher is one-hot on class 0, softmax(z/T) on class 1,
     * so KL = (z_1 - z_0)/T = 2e308 overflows, while T^2 KL = 2T does not:
     * the loss is (1 - a) log(1 + e^2) + a 2T, the gradient (1 - a)(p - q)
     * + a T (e_1 - e_0) */
    const float zt[2] = {0.0f, 2.0f}, tt[2] = {10.0f, 0.0f};
    const int32_t yt = 0;
    lsp_distill tiny = {0.5, 1e-308, {0, LSP_LS_UNIFORM, 0}};
    float gt[2];
    double row;
    assert_int_equal(lsp_loss_distill(zt, tt, &yt, 1, 2, &tiny, gt, 1, &row, &m), LSP_OK);
    const double ce = log1p(exp(2.0)), p0 = 1.0 / (1.0 + exp(2.0));
    td_close(m.ce, ce, 1e-12, 0, "T = 1e-308: CE", 0);
    td_close(m.loss, 0.5 * ce, 1e-12, 0, "T = 1e-308: loss", 0);
    td_close(row, 0.5 * ce, 1e-12, 0, "T = 1e-308: row loss", 0);
    td_close(gt[0], 0.5 * (p0 - 1.0), 1e-6, 0, "T = 1e-308: grad", 0);
    td_close(gt[1], 0.5 * (1.0 - p0), 1e-6, 0, "T = 1e-308: grad", 1);
  }
  lsp_distill ok = {0.5, 2.0, {0, LSP_LS_UNIFORM, 0}},
              badeps = {0.5, 2.0, {1.5, LSP_LS_UNIFORM, 0}};
  assert_int_equal(lsp_loss_distill(z, t, y, 2, 3, &badeps, NULL, 1, NULL, &m),
                   LSP_EINVAL);
  assert_int_equal(lsp_loss_distill(z, t, y, 6, 1, &ok, NULL, 1, NULL, &m),
                   LSP_EINVAL);
  assert_int_equal(lsp_loss_distill(z, t, y, 0, 3, &ok, NULL, 1, NULL, &m),
                   LSP_EDATA);
  assert_int_equal(lsp_loss_soft_xent(z, q, 6, 1, NULL, 1, NULL, &l),
                   LSP_EINVAL);
  assert_int_equal(lsp_loss_soft_xent(z, q, 0, 3, NULL, 1, NULL, &l),
                   LSP_EDATA);
  assert_int_equal(lsp_loss_soft_xent(z, q, 2, 3, NULL, NAN, NULL, &l),
                   LSP_EINVAL);
  int32_t ybad[2] = {0, 3};
  assert_int_equal(lsp_loss_distill(z, t, ybad, 2, 3, &ok, NULL, 1, NULL, &m),
                   LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "row 1"));
  const float specials[3] = {NAN, INFINITY, -INFINITY};
  for (int s = 0; s < 3; s++) {
    z[4] = specials[s];
    assert_int_equal(lsp_loss_distill(z, t, y, 2, 3, &ok, NULL, 1, NULL, &m),
                     LSP_EDATA);
    assert_non_null(strstr(lsp_errmsg(), "non-finite logit"));
    assert_non_null(strstr(lsp_errmsg(), "row 1, column 1"));
    assert_int_equal(lsp_loss_soft_xent(z, q, 2, 3, NULL, 1, NULL, &l),
                     LSP_EDATA);
    assert_non_null(strstr(lsp_errmsg(), "row 1, column 1"));
    z[4] = 5;
    t[5] = specials[s];
    assert_int_equal(lsp_loss_distill(z, t, y, 2, 3, &ok, NULL, 1, NULL, &m),
                     LSP_EDATA);
    assert_non_null(strstr(lsp_errmsg(), "non-finite teacher logit"));
    assert_non_null(strstr(lsp_errmsg(), "row 1, column 2"));
    t[5] = 1;
    q[1] = specials[s];
    assert_int_equal(lsp_loss_soft_xent(z, q, 2, 3, NULL, 1, NULL, &l),
                     LSP_EDATA);
    assert_non_null(strstr(lsp_errmsg(), "non-finite target"));
    assert_non_null(strstr(lsp_errmsg(), "row 0, column 1"));
    q[1] = 0.5f;
  }
  q[5] = -0.25f;
  assert_int_equal(lsp_loss_soft_xent(z, q, 2, 3, NULL, 1, NULL, &l),
                   LSP_EDATA);
  assert_non_null(
      strstr(lsp_errmsg(), "negative target (-0.25) at row 1, column 2"));
}

/* Large random problems: bit-identical means and gradients for 1 and 2
 * threads (fixed reduction order), and the references agree. */
static void test_threads_and_reference(void **state) {
  (void)state;
  const size_t n = 2000, k = 1000;
  float *z = malloc(n * k * sizeof *z), *t = malloc(n * k * sizeof *t);
  float *g1 = malloc(n * k * sizeof *g1), *g2 = malloc(n * k * sizeof *g2);
  int32_t *y = malloc(n * sizeof *y);
  unsigned seed = 99;
  for (size_t i = 0; i < n * k; i++)
    z[i] = frand(&seed, 8.0f), t[i] = frand(&seed, 8.0f);
  for (size_t i = 0; i < n; i++) y[i] = (int32_t)((i * 31) % k);
  lsp_distill d = {0.7, 4.0, {0.1, LSP_LS_UNIFORM, 0}};
  lsp_distill_mean m1, m2, mr;
  lsp_threads_set(1);
  assert_int_equal(
      lsp_loss_distill(z, t, y, n, k, &d, g1, 1.0 / (double)n, NULL, &m1), 0);
  lsp_threads_set(2);
  assert_int_equal(
      lsp_loss_distill(z, t, y, n, k, &d, g2, 1.0 / (double)n, NULL, &m2), 0);
  assert_true(m1.loss == m2.loss && m1.kl == m2.kl);
  assert_memory_equal(g1, g2, n * k * sizeof *g1);
  assert_int_equal(lsp_loss_distill_ref(z, t, y, n, k, &d, NULL, 1, &mr), 0);
  td_close(m1.loss, mr.loss, 1e-12, 0, "large distill vs reference", 0);
  /* soft targets: the teacher's softmax */
  lsp_softmax_rows(t, t, n, k);
  double s1, s2, sr;
  lsp_threads_set(1);
  assert_int_equal(
      lsp_loss_soft_xent(z, t, n, k, g1, 1.0 / (double)n, NULL, &s1), 0);
  lsp_threads_set(2);
  assert_int_equal(
      lsp_loss_soft_xent(z, t, n, k, g2, 1.0 / (double)n, NULL, &s2), 0);
  assert_true(s1 == s2);
  assert_memory_equal(g1, g2, n * k * sizeof *g1);
  assert_int_equal(lsp_loss_soft_xent_ref(z, t, n, k, NULL, 1, &sr), 0);
  td_close(s1, sr, 1e-12, 0, "large soft CE vs reference", 0);
  free(z);
  free(t);
  free(g1);
  free(g2);
  free(y);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_torch_soft),
      cmocka_unit_test(test_torch_distill),
      cmocka_unit_test(test_finite_differences),
      cmocka_unit_test(test_special_cases),
      cmocka_unit_test(test_teacher_is_student),
      cmocka_unit_test(test_huge_equal_logits),
      cmocka_unit_test(test_closed_forms),
      cmocka_unit_test(test_invalid_inputs),
      cmocka_unit_test(test_threads_and_reference),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
