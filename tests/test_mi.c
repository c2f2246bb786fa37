/* Tests of the information-erasure probe: the Gaussian MI estimate against
 * closed forms (a hand case, affine invariance, the expected value for a
 * Gaussian mixture), the most confused pair, the perturbed copies (shifts,
 * noise, clipping, seeding) and the probe set's plumbing. */
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/lsp_mi.h"
#include "core/base/lsp_error.h"
#include "core/data/lsp_perturb.h"
#include "core/nn/lsp_model.h"
#include "reports/lsp_erasure.h"
#include "testutil.h"

/* Two examples, two copies: d = {0, 2 | 10, 12}. Example means 1 and 11,
 * within variance 1, grand mean 6, total variance (36+16+16+36)/4 = 26. */
static void test_hand_case(void **state) {
  (void)state;
  const double d[4] = {0, 2, 10, 12};
  lsp_mi_result r;
  assert_int_equal(lsp_mi_gaussian(d, 2, 2, &r), 0);
  td_close(r.var_within, 1.0, 1e-15, 0, "within", 0);
  td_close(r.var_total, 26.0, 1e-15, 0, "total", 0);
  td_close(r.var_between, 25.0, 1e-15, 0, "between", 0);
  td_close(r.mi, 0.5 * log(26.0), 1e-15, 0, "MI = 1/2 log 26", 0);
  td_close(r.bound, log(2.0), 1e-15, 0, "bound log M", 0);
  /* affine maps of d leave the estimate unchanged; so does the order of
   * the examples and of the copies within an example */
  double e[4];
  for (int i = 0; i < 4; i++) e[i] = -3.7 * d[3 - i] + 1e3;
  lsp_mi_result r2;
  assert_int_equal(lsp_mi_gaussian(e, 2, 2, &r2), 0);
  td_close(r2.mi, r.mi, 1e-12, 0, "affine invariance", 0);
}

/* d_xr = mu_x + w_xr with mu ~ N(0, sb^2), w ~ N(0, sw^2): the expected
 * variances are E[within] = sw^2 (R-1)/R and E[total] ~= sb^2 + sw^2, so Î
 * tends to 1/2 log((sb^2 + sw^2) / (sw^2 (R-1)/R)) as M grows (sb = 0: a
 * small positive value, the bias of the estimate without any signal). */
static void test_gaussian_mixture(void **state) {
  (void)state;
  const size_t m = 20000, r = 10;
  const double sb[3] = {0.0, 1.0, 3.0}, sw = 0.7;
  gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
  double *d = malloc(m * r * sizeof *d);
  for (int c = 0; c < 3; c++) {
    gsl_rng_set(g, 17 + (unsigned long)c);
    for (size_t x = 0; x < m; x++) {
      double mu = sb[c] > 0 ? gsl_ran_gaussian(g, sb[c]) : 0.0;
      for (size_t j = 0; j < r; j++)
        d[x * r + j] = mu + gsl_ran_gaussian(g, sw);
    }
    lsp_mi_result res;
    assert_int_equal(lsp_mi_gaussian(d, m, r, &res), 0);
    double want = 0.5 * log((sb[c] * sb[c] + sw * sw) /
                            (sw * sw * (double)(r - 1) / (double)r));
    /* the between part is a sample variance of M means, relative sd
     * sqrt(2/M) = 1%: sd(Î) <= 0.004 nats; 0.015 is about 4 of them */
    td_close(res.mi, want, 0, 0.015, "mixture MI", (size_t)c);
    td_close(res.var_total, res.var_within + res.var_between, 1e-12, 0,
             "law of total variance", (size_t)c);
    if (c == 1) {
      /* the bootstrap interval: about 2 x 1.96 sd wide, where the between
       * part, a sample variance of M means, has relative sd sqrt(2/M), so
       * sd(Î) ~ 1/2 (between/total) sqrt(2/M) = 0.0040 here; and the paired
       * interval of a model with itself is exactly 0 */
      double lo, hi;
      assert_int_equal(lsp_mi_bootstrap(d, NULL, m, r, 400, 9, &lo, &hi), 0);
      double sd =
          0.5 * (res.var_between / res.var_total) * sqrt(2.0 / (double)m);
      print_message("bootstrap [%.4f, %.4f], width %.4f, expected about %.4f\n",
                    lo, hi, hi - lo, 2 * 1.96 * sd);
      assert_true(lo < res.mi && res.mi < hi);
      td_close(hi - lo, 2 * 1.96 * sd, 0.25, 0, "bootstrap width", 0);
      assert_int_equal(lsp_mi_bootstrap(d, d, m, r, 50, 9, &lo, &hi), 0);
      assert_true(lo == 0.0 && hi == 0.0);
    }
    print_message(
        "sb %.1f: MI %.4f, expected %.4f, bound %.4f (within %.4f total "
        "%.4f)\n",
        sb[c], res.mi, want, res.bound, res.var_within, res.var_total);
  }
  free(d);
  gsl_rng_free(g);
}

static void test_mi_errors(void **state) {
  (void)state;
  double d[6] = {1, 1, 1, 2, 2, 2};
  lsp_mi_result r;
  assert_int_equal(lsp_mi_gaussian(d, 2, 3, &r), LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "no within-example variance"));
  /* copies equal but for rounding (the last bit of 0.1 + 0.2 against
   * 0.3): the within variance is ~3e-34 of the total, still none */
  double e[6] = {0.3, 0.1 + 0.2, 0.3, 4.0, 4.0, 4.0};
  assert_int_equal(lsp_mi_gaussian(e, 2, 3, &r), LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "no within-example variance"));
  /* the message says the copies differ by rounding at most, not that
   * they are identical (they are not) */
  assert_non_null(strstr(lsp_errmsg(), "same value up to rounding (no within-example "
                                       "variance above 1e-12 of the total)"));
  /* a small but real within variance (4e-11 of the total) is kept */
  double f[6] = {0.0, 1e-5, 0.0, 1.0, 1.0, 1.0};
  assert_int_equal(lsp_mi_gaussian(f, 2, 3, &r), LSP_OK);
  assert_true(r.var_within > 0.0 && r.mi > 0.0);
  assert_int_equal(lsp_mi_gaussian(d, 1, 6, &r), LSP_EINVAL);
  assert_int_equal(lsp_mi_gaussian(d, 6, 1, &r), LSP_EINVAL);
  d[4] = NAN;
  assert_int_equal(lsp_mi_gaussian(d, 2, 3, &r), LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "example 1, copy 1"));
}

/* Î of the examples drawn w[x] times each, from the values themselves: the
 * drawn rows laid out one after another, population variances of all the
 * values and of each row; no within variance gives +inf, or 0 when every
 * value is the same. */
static double mi_of_draw(const double *d, const unsigned *w, size_t m,
                         size_t r) {
  double s = 0, n = 0;
  for (size_t x = 0; x < m; x++)
    for (size_t j = 0; j < r; j++) {
      s += w[x] * d[x * r + j];
      n += w[x];
    }
  const double g = s / n;
  double tot = 0, within = 0, rows = 0;
  for (size_t x = 0; x < m; x++) {
    double mx = 0, v = 0;
    for (size_t j = 0; j < r; j++) mx += d[x * r + j] / (double)r;
    for (size_t j = 0; j < r; j++) {
      v += (d[x * r + j] - mx) * (d[x * r + j] - mx) / (double)r;
      tot += w[x] * (d[x * r + j] - g) * (d[x * r + j] - g);
    }
    within += w[x] * v;
    rows += w[x];
  }
  tot /= n;
  within /= rows;
  if (within > 1e-12 * tot) return 0.5 * log(tot / within);
  return tot > 0 ? INFINITY : 0.0;
}

/* The paired interval when resamples draw only examples without within
 * variance in both models (before, inf - inf made such resamples NaN).
 * Examples 0 and 1 have identical copies in both models, example 2 not:
 * of the 10 draws of 3 examples, {0,0,1} and {0,1,1} are +inf for both
 * models, {0,0,0} and {1,1,1} are a constant d. Every draw is enumerated
 * with its multinomial probability; the extreme values each have
 * probability >= 1/9, far above 2.5%, so with 2000 resamples the interval's
 * ends are exactly the smallest and the largest value. */
static void test_bootstrap_no_within(void **state) {
  (void)state;
  const double d1[6] = {1, 1, 2, 2, 0, 4}, d2[6] = {5, 5, 7, 7, 3, 4};
  double vmin = INFINITY, vmax = -INFINITY, pmin = 0, pmax = 0;
  int both_inf = 0;
  for (unsigned a = 0; a <= 3; a++)
    for (unsigned b = 0; a + b <= 3; b++) {
      const unsigned w[3] = {a, b, 3 - a - b};
      const double p = 6.0 / (tgamma(a + 1) * tgamma(b + 1) * tgamma(4 - a - b)) / 27.0;
      const double i1 = mi_of_draw(d1, w, 3, 2), i2 = mi_of_draw(d2, w, 3, 2);
      both_inf += isinf(i1) && isinf(i2);
      const double v = isinf(i1) && isinf(i2) ? 0.0 : i1 - i2;
      if (v < vmin) vmin = v, pmin = 0;
      if (v == vmin) pmin += p;
      if (v > vmax) vmax = v, pmax = 0;
      if (v == vmax) pmax += p;
    }
  assert_int_equal(both_inf, 2);
  assert_true(pmin >= 0.1 && pmax >= 0.1);
  double lo, hi;
  assert_int_equal(lsp_mi_bootstrap(d1, d2, 3, 2, 2000, 5, &lo, &hi), LSP_OK);
  print_message("paired interval [%.6f, %.6f], values span [%.6f, %.6f]\n",
                lo, hi, vmin, vmax);
  assert_true(isfinite(lo) && isfinite(hi));
  td_close(lo, vmin, 1e-12, 0, "lower end", 0);
  td_close(hi, vmax, 1e-12, 0, "upper end", 0);
  /* the reverse pairing mirrors the interval */
  assert_int_equal(lsp_mi_bootstrap(d2, d1, 3, 2, 2000, 5, &lo, &hi), LSP_OK);
  td_close(lo, -vmax, 1e-12, 0, "reversed lower end", 0);
  td_close(hi, -vmin, 1e-12, 0, "reversed upper end", 0);
}

/* Confusions 0<->2: 3 (2 + 1), 1<->3: 3 (3 + 0), 2<->3: 1. A tie between
 * (0,2) and (1,3) goes to the lowest pair. */
static void test_confused_pair(void **state) {
  (void)state;
  const int32_t y[10] = {0, 0, 2, 1, 1, 1, 3, 2, 0, 3};
  const int32_t p[10] = {2, 2, 0, 3, 3, 3, 2, 2, 0, 3};
  float z[40];
  for (size_t i = 0; i < 10; i++)
    for (size_t j = 0; j < 4; j++)
      z[i * 4 + j] = (int32_t)j == p[i] ? 1.5f : -0.5f;
  int a, b;
  size_t cnt;
  assert_int_equal(lsp_mi_confused_pair(z, y, 10, 4, &a, &b, &cnt), 0);
  assert_int_equal(a, 0);
  assert_int_equal(b, 2);
  assert_int_equal(cnt, 3);
  /* one more 3 -> 1 confusion makes (1, 3) the pair */
  const int32_t y2[11] = {0, 0, 2, 1, 1, 1, 3, 2, 0, 3, 3};
  float z2[44];
  memcpy(z2, z, sizeof z);
  for (size_t j = 0; j < 4; j++) z2[40 + j] = j == 1 ? 2.0f : 0.0f;
  assert_int_equal(lsp_mi_confused_pair(z2, y2, 11, 4, &a, &b, &cnt), 0);
  assert_int_equal(a, 1);
  assert_int_equal(b, 3);
  assert_int_equal(cnt, 4);
  int32_t ybad[2] = {0, 4};
  assert_int_equal(lsp_mi_confused_pair(z, ybad, 2, 4, &a, &b, &cnt),
                   LSP_EDATA);
  z2[5] = NAN;
  assert_int_equal(lsp_mi_confused_pair(z2, y2, 11, 4, &a, &b, &cnt), LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "row 1"));
  /* every row right: (0, 1), no confusion */
  assert_int_equal(lsp_mi_confused_pair(z, p, 10, 4, &a, &b, &cnt), 0);
  assert_true(a == 0 && b == 1 && cnt == 0);
  /* 20000 classes (a K×K table would be 3.2 GB): 19998 → 7 twice, 7 →
   * 19998 once, 5 → 6 twice; ties between pairs go to the lowest */
  enum { K = 20000 };
  const int32_t yk[6] = {19998, 19998, 7, 5, 5, 3};
  const size_t pk[6] = {7, 7, 19998, 6, 6, 3};
  float *zk = calloc(6 * (size_t)K, sizeof *zk);
  assert_non_null(zk);
  for (size_t i = 0; i < 6; i++) zk[i * K + pk[i]] = 1.0f;
  assert_int_equal(lsp_mi_confused_pair(zk, yk, 6, K, &a, &b, &cnt), 0);
  assert_true(a == 7 && b == 19998 && cnt == 3);
  zk[2 * K + 19998] = 0.0f; /* row 2 now predicts 0 (ties to the lowest) */
  assert_int_equal(lsp_mi_confused_pair(zk, yk, 6, K, &a, &b, &cnt), 0);
  assert_true(a == 5 && b == 6 && cnt == 2); /* ties (7, 19998): lower a */
  free(zk);
}

/* A 5×6 image with distinct pixels: with no noise, every copy is the image
 * shifted by some (dy, dx) in [-2, 2]^2 with lo shifted in, and all 25
 * shifts occur. */
static void test_perturb_shifts(void **state) {
  (void)state;
  const size_t h = 5, w = 6, R = 400;
  float img[30], *out = malloc(R * 30 * sizeof *out);
  for (size_t i = 0; i < 30; i++) img[i] = 0.2f + 0.02f * (float)i;
  lsp_perturb_opts o = {R, 2, 0.0, 7};
  assert_int_equal(lsp_perturb_images(img, 1, 1, h, w, 0.0f, 1.0f, &o, out), 0);
  int seen[25] = {0};
  for (size_t r = 0; r < R; r++) {
    const float *c = out + r * 30;
    int found = -1;
    for (int dy = -2; dy <= 2 && found < 0; dy++)
      for (int dx = -2; dx <= 2 && found < 0; dx++) {
        int match = 1;
        for (long yy = 0; yy < (long)h && match; yy++)
          for (long xx = 0; xx < (long)w && match; xx++) {
            long sy = yy - dy, sx = xx - dx;
            float want = sy >= 0 && sy < (long)h && sx >= 0 && sx < (long)w
                             ? img[sy * (long)w + sx]
                             : 0.0f;
            match = c[yy * (long)w + xx] == want;
          }
        if (match) found = (dy + 2) * 5 + dx + 2;
      }
    assert_true(found >= 0);
    seen[found]++;
  }
  for (int s = 0; s < 25; s++) assert_true(seen[s] > 0);
  free(out);
}

/* Noise: mid-grey pixels get N(0, sd^2) (sample sd within 2%); large noise
 * is clipped to [lo, hi]; a copy depends on (seed, image index) only. */
static void test_perturb_noise(void **state) {
  (void)state;
  const size_t dim = 784, R = 50;
  float *img = malloc(3 * dim * sizeof *img),
        *out = malloc(3 * R * dim * sizeof *out);
  float *one = malloc(R * dim * sizeof *one);
  for (size_t i = 0; i < 3 * dim; i++) img[i] = 0.5f;
  lsp_perturb_opts o = {R, 0, 0.05, 3};
  assert_int_equal(lsp_perturb_images(img, 3, 1, 28, 28, 0.0f, 1.0f, &o, out),
                   0);
  double s = 0, s2 = 0;
  for (size_t i = 0; i < 3 * R * dim; i++) {
    double v = out[i] - 0.5;
    s += v;
    s2 += v * v;
  }
  double nn = (double)(3 * R * dim), sd = sqrt(s2 / nn - (s / nn) * (s / nn));
  td_close(sd, 0.05, 0.02, 0, "noise sd", 0);
  td_close(s / nn, 0.0, 0, 0.001, "noise mean", 0);
  /* image 0 alone gives the same copies as image 0 among three */
  assert_int_equal(lsp_perturb_images(img, 1, 1, 28, 28, 0.0f, 1.0f, &o, one),
                   0);
  assert_memory_equal(one, out, R * dim * sizeof *one);
  /* another seed, other copies */
  o.seed = 4;
  assert_int_equal(lsp_perturb_images(img, 1, 1, 28, 28, 0.0f, 1.0f, &o, one),
                   0);
  assert_true(memcmp(one, out, R * dim * sizeof *one) != 0);
  /* clipping */
  o.noise_sd = 1.0;
  o.max_shift = 2;
  assert_int_equal(lsp_perturb_images(img, 3, 1, 28, 28, 0.0f, 1.0f, &o, out),
                   0);
  size_t at_lo = 0, at_hi = 0;
  for (size_t i = 0; i < 3 * R * dim; i++) {
    assert_true(out[i] >= 0.0f && out[i] <= 1.0f);
    at_lo += out[i] == 0.0f;
    at_hi += out[i] == 1.0f;
  }
  assert_true(at_lo > 0 && at_hi > 0);
  /* errors */
  o.max_shift = 28;
  assert_int_equal(lsp_perturb_images(img, 1, 1, 28, 28, 0.0f, 1.0f, &o, out),
                   LSP_EINVAL);
  o.max_shift = 2;
  o.noise_sd = -1;
  assert_int_equal(lsp_perturb_images(img, 1, 1, 28, 28, 0.0f, 1.0f, &o, out),
                   LSP_EINVAL);
  o.noise_sd = 0.05;
  o.copies = 0;
  assert_int_equal(lsp_perturb_images(img, 1, 1, 28, 28, 0.0f, 1.0f, &o, out),
                   LSP_EINVAL);
  free(img);
  free(out);
  free(one);
}

/* The probe set: 4×4 images of three classes; the first M examples of a
 * then of b, shifted copies without noise; a one-layer model whose logit
 * difference z_a - z_b is pixel 5 of the input, so the scored values are
 * pixel 5 of every copy. */
static void test_erasure_set(void **state) {
  (void)state;
  const size_t n = 30, dim = 16;
  lsp_splits sp;
  memset(&sp, 0, sizeof sp);
  sp.train.n = n;
  sp.train.dim = dim;
  sp.train.k = 3;
  sp.train.x = malloc(n * dim * sizeof(float));
  sp.train.y = malloc(n * sizeof(int32_t));
  sp.img_c = 1;
  sp.img_h = sp.img_w = 4;
  sp.lo = 0.0f;
  sp.hi = 1.0f;
  for (size_t i = 0; i < n; i++) {
    sp.train.y[i] = (int32_t)(i % 3);
    for (size_t j = 0; j < dim; j++)
      sp.train.x[i * dim + j] = (float)((i * 7 + j * 3) % 11) / 11.0f;
  }
  lsp_erasure_opts o;
  lsp_erasure_opts_default(&o);
  o.per_class = 4;
  o.perturb.copies = 6;
  o.perturb.max_shift = 1;
  o.perturb.noise_sd = 0.0;
  lsp_erasure_set *s = NULL;
  assert_int_equal(lsp_erasure_set_build(&sp, 2, 0, &o, &s), 0);
  assert_int_equal(s->m, 4);
  assert_int_equal(s->shifted, 1);
  assert_int_equal(s->c * s->h * s->w, 16);
  /* slot 1 holds the second example of class 2 (row 5); slot 4 the first of
   * class 0 (row 0): their shift-free pixels are the sources' */
  const size_t src_of_slot[8] = {2, 5, 8, 11, 0, 3, 6, 9};
  for (size_t e = 0; e < 8; e++)
    for (size_t r = 0; r < 6; r++) {
      const float *c = s->x + (e * 6 + r) * dim;
      /* every copy's pixel values come from its source (or are lo) */
      for (size_t j = 0; j < dim; j++) {
        int from_src = c[j] == 0.0f;
        for (size_t q = 0; q < dim && !from_src; q++)
          from_src = c[j] == sp.train.x[src_of_slot[e] * dim + q];
        assert_true(from_src);
      }
    }
  size_t hid = 0;
  lsp_model *m = lsp_model_alloc_mlp(dim, &hid, 0, 3);
  assert_non_null(m);
  memset(m->params, 0, m->nparams * sizeof(float));
  lsp_dense_view head;
  lsp_model_head(m, &head); /* the classifier: W (3×16) and b in m->params */
  float *w = m->params + (head.w - m->params), *b = m->params + (head.b - m->params);
  w[2 * dim + 5] = 1.0f; /* z_2 = x_5, z_0 = 0 */
  lsp_mi_result got, want;
  double dd[48];
  assert_int_equal(lsp_erasure_score(s, m, &got, dd), 0);
  double d[48];
  for (size_t i = 0; i < 48; i++) d[i] = s->x[i * dim + 5];
  assert_int_equal(lsp_mi_gaussian(d, 8, 6, &want), 0);
  assert_memory_equal(d, dd, sizeof d);
  td_close(got.mi, want.mi, 1e-12, 0, "scored = estimate of pixel 5", 0);
  td_close(got.bound, log(8.0), 1e-15, 0, "bound log 2M", 0);
  /* a model whose logits ignore the input: no variance at all */
  w[2 * dim + 5] = 0.0f;
  b[2] = 1.0f;
  assert_int_equal(lsp_erasure_score(s, m, &got, NULL), LSP_EDATA);
  /* bad pairs; data without an image shape gets noise only */
  lsp_erasure_set *t = NULL;
  assert_int_equal(lsp_erasure_set_build(&sp, 1, 1, &o, &t), LSP_EINVAL);
  assert_int_equal(lsp_erasure_set_build(&sp, 0, 3, &o, &t), LSP_EINVAL);
  sp.img_c = sp.img_h = sp.img_w = 0;
  o.perturb.noise_sd = 0.05;
  assert_int_equal(lsp_erasure_set_build(&sp, 0, 1, &o, &t), 0);
  assert_int_equal(t->shifted, 0);
  assert_int_equal(t->opts.perturb.max_shift, 0);
  lsp_erasure_set_free(t);
  lsp_erasure_set_free(s);
  lsp_erasure_set_free(NULL);
  lsp_model_free(m);
  lsp_dataset_free(&sp.train);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hand_case),
      cmocka_unit_test(test_gaussian_mixture),
      cmocka_unit_test(test_mi_errors),
      cmocka_unit_test(test_bootstrap_no_within),
      cmocka_unit_test(test_confused_pair),
      cmocka_unit_test(test_perturb_shifts),
      cmocka_unit_test(test_perturb_noise),
      cmocka_unit_test(test_erasure_set),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
