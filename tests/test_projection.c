/* Tests of the Müller projection and the confusion-based class choice:
 * template triangle distances, distances to the template plane computed here
 * by least squares (no Gram–Schmidt), PyTorch's logits for the confusion. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/lsp_projection.h"
#include "core/base/lsp_error.h"
#include "testutil.h"

static double dist_d(const double *a, const double *b, size_t d) {
  double s = 0;
  for (size_t t = 0; t < d; t++) s += (a[t] - b[t]) * (a[t] - b[t]);
  return sqrt(s);
}

static double dist2(const double *p, const double *q) {
  return hypot(p[0] - q[0], p[1] - q[1]);
}

/* Confusion counts from a dense k×k table conf[t·k + p], through the
 * library's own counting: conf[t·k + p] rows labelled t whose logits have
 * their maximum at p, and one more row of class 0 predicted right (so that
 * a table without counts still has an example; the diagonal does not
 * enter the choice of classes). */
static void conf_of(const size_t *conf, size_t k, lsp_confusion *out) {
  size_t n = 1;
  for (size_t q = 0; q < k * k; q++) n += conf[q];
  float *z = calloc(n * k, sizeof *z);
  int32_t *y = malloc(n * sizeof *y);
  assert_true(z && y);
  y[0] = 0;
  z[0] = 1.0f;
  size_t r = 1;
  for (size_t t = 0; t < k; t++)
    for (size_t p = 0; p < k; p++)
      for (size_t c = 0; c < conf[t * k + p]; c++, r++) {
        y[r] = (int32_t)t;
        z[r * k + p] = 1.0f;
      }
  assert_int_equal(lsp_proj_confusion_logits(z, y, n, k, out), 0);
  assert_int_equal(out->n, n);
  for (size_t t = 0; t < k; t++)
    for (size_t p = 0; p < k; p++)
      assert_int_equal(lsp_confusion_get(out, t, p), conf[t * k + p] + (t == 0 && p == 0));
  free(z);
  free(y);
}

static void ext_template(const float *W, const float *b, size_t h, int k,
                         double *w) {
  for (size_t t = 0; t < h; t++) w[t] = W[(size_t)k * h + t];
  w[h] = b[k];
}

/* The orthogonal projection of point x onto the affine plane through
 * w0, w1, w2, by the 2×2 normal equations (Cramer's rule). */
static void plane_point(const double *x, const double *w0, const double *w1,
                        const double *w2, size_t d, double *out) {
  double a11 = 0, a12 = 0, a22 = 0, r1 = 0, r2 = 0;
  for (size_t t = 0; t < d; t++) {
    double d1 = w1[t] - w0[t], d2 = w2[t] - w0[t], v = x[t] - w0[t];
    a11 += d1 * d1;
    a12 += d1 * d2;
    a22 += d2 * d2;
    r1 += d1 * v;
    r2 += d2 * v;
  }
  double det = a11 * a22 - a12 * a12;
  double al = (r1 * a22 - r2 * a12) / det, be = (a11 * r2 - a12 * r1) / det;
  for (size_t t = 0; t < d; t++)
    out[t] = w0[t] + al * (w1[t] - w0[t]) + be * (w2[t] - w0[t]);
}

static void test_tiny_projection(void **state) {
  (void)state;
  lsp_array fa, ya, wa, ba;
  td_load("torch_mlp_tiny/features.npy", &fa);
  td_load("torch_mlp_tiny/labels.npy", &ya);
  td_load("torch_mlp_tiny/4.weight.npy", &wa);
  td_load("torch_mlp_tiny/4.bias.npy", &ba);
  int32_t *y;
  assert_int_equal(lsp_array_labels(&ya, "labels", 3, &y), 0);
  size_t n = fa.shape[0], h = fa.shape[1], d = h + 1;
  const float *x = fa.data, *W = wa.data, *b = ba.data;
  const int orders[2][3] = {{0, 1, 2}, {2, 0, 1}};
  for (int o = 0; o < 2; o++) {
    const int *cls = orders[o];
    lsp_proj *p = NULL;
    assert_int_equal(lsp_proj_compute(x, y, n, h, W, b, 3, cls, &p), 0);
    assert_int_equal(p->m, n); /* all three classes */
    double w[3][17], hx[17], pp[17];
    for (int q = 0; q < 3; q++) ext_template(W, b, h, cls[q], w[q]);
    /* the triangle has the templates' own side lengths; w_a at the origin,
     * w_b on the positive x axis */
    for (int q = 0; q < 3; q++)
      for (int r = q + 1; r < 3; r++)
        td_close(dist2(p->tmpl[q], p->tmpl[r]), dist_d(w[q], w[r], d), 1e-12,
                 1e-14, "triangle side", (size_t)(3 * q + r));
    assert_true(p->tmpl[0][0] == 0 && p->tmpl[0][1] == 0);
    assert_true(fabs(p->tmpl[1][1]) < 1e-15 && p->tmpl[1][0] > 0);
    /* each point sits at the distances of h's foot on the plane from the
     * three templates */
    for (size_t i = 0; i < p->m; i++) {
      size_t r = p->index[i];
      assert_int_equal(p->label[i], y[r]);
      for (size_t t = 0; t < h; t++) hx[t] = x[r * h + t];
      hx[h] = 1.0;
      plane_point(hx, w[0], w[1], w[2], d, pp);
      for (int q = 0; q < 3; q++)
        td_close(dist2(p->xy + 2 * i, p->tmpl[q]), dist_d(pp, w[q], d), 1e-9,
                 1e-12, "distance to template", i);
    }
    lsp_proj_free(p);
  }
  lsp_proj_free(NULL);
  /* confusion from features + templates equals the one from PyTorch's
   * logits; with K = 3 the only triple is (0, 1, 2) */
  lsp_array la;
  td_load("torch_mlp_tiny/logits.npy", &la);
  lsp_confusion c1, c2;
  size_t score = 0;
  assert_int_equal(lsp_proj_confusion(x, y, n, h, W, b, 3, &c1), 0);
  assert_int_equal(lsp_proj_confusion_logits(la.data, y, n, 3, &c2), 0);
  size_t total = 0, right = 0;
  for (size_t t = 0; t < 3; t++)
    for (size_t q = 0; q < 3; q++) {
      assert_int_equal(lsp_confusion_get(&c1, t, q), lsp_confusion_get(&c2, t, q));
      total += lsp_confusion_get(&c1, t, q);
      if (t == q) right += lsp_confusion_get(&c1, t, q);
    }
  assert_int_equal(total, n);
  assert_int_equal(c1.n, n);
  assert_int_equal(c1.right, right);
  td_close((double)right / (double)n, 0.53125, 0, 1e-12,
           "acc_clean (case.json)", 0);
  int cls[3];
  assert_int_equal(lsp_proj_pick_classes(&c1, cls, &score), 0);
  assert_int_equal(cls[0], 0);
  assert_int_equal(cls[2], 2);
  assert_int_equal(score, n - right);
  lsp_confusion_free(&c1);
  lsp_confusion_free(&c2);
  lsp_confusion_free(&c2); /* twice: nothing */
  free(y);
  lsp_array_release(&fa);
  lsp_array_release(&ya);
  lsp_array_release(&wa);
  lsp_array_release(&ba);
  lsp_array_release(&la);
}

static void test_pick_classes(void **state) {
  (void)state;
  enum { K = 5 };
  size_t conf[K * K] = {0};
  /* pairs: (1,3) 4+2, (3,4) 5, (1,4) 1 -> {1,3,4} = 12; (0,2) 9 -> {0,2,x}
   * = 9 + whatever; make {0,2,3} also 12 to test the tie rule */
  conf[1 * K + 3] = 4;
  conf[3 * K + 1] = 2;
  conf[3 * K + 4] = 5;
  conf[4 * K + 1] = 1;
  conf[0 * K + 2] = 9;
  conf[2 * K + 3] = 3;
  for (int q = 0; q < K; q++) conf[q * K + q] = 100; /* diagonal ignored */
  int cls[3];
  size_t score;
  lsp_confusion c;
  conf_of(conf, K, &c);
  assert_int_equal(lsp_proj_pick_classes(&c, cls, &score), 0);
  lsp_confusion_free(&c);
  assert_int_equal(score, 12);
  /* {0,2,3} = 9+3 = 12 ties {1,3,4} = 12; lowest triple wins */
  assert_int_equal(cls[0], 0);
  assert_int_equal(cls[1], 2);
  assert_int_equal(cls[2], 3);
  conf[4 * K + 3] = 1;
  conf_of(conf, K, &c);
  assert_int_equal(lsp_proj_pick_classes(&c, cls, &score), 0);
  lsp_confusion_free(&c);
  assert_int_equal(score, 13);
  assert_int_equal(cls[0], 1);
  /* a perfect classifier: every triple scores 0 -> (0, 1, 2) */
  size_t diag[K * K] = {0};
  diag[3 * K + 3] = diag[4 * K + 4] = 2;
  conf_of(diag, K, &c);
  assert_int_equal(lsp_proj_pick_classes(&c, cls, NULL), 0);
  assert_true(cls[0] == 0 && cls[1] == 1 && cls[2] == 2);
  lsp_confusion_free(&c);
  conf_of(diag, 2, &c); /* two classes */
  assert_int_equal(lsp_proj_pick_classes(&c, cls, NULL), LSP_EINVAL);
  lsp_confusion_free(&c);
  assert_int_equal(lsp_proj_pick_classes(NULL, cls, NULL), LSP_EINVAL);
}

/* The search against every triple in order, on random sparse confusions
 * with small counts (many ties), and on many classes without a confusion
 * (every triple ties at 0: (0, 1, 2)). */
static void test_pick_classes_random(void **state) {
  (void)state;
  unsigned s = 12345;
  const size_t ks[6] = {3, 4, 7, 20, 41, 64};
  for (int round = 0; round < 240; round++) {
    const size_t k = ks[round % 6];
    size_t *conf = calloc(k * k, sizeof *conf);
    assert_non_null(conf);
    /* a quarter of the pairs confused, or (every third round) one in 64:
     * lone pairs, whose third class has no confusion with them */
    const unsigned sparse = round % 3 ? 4 : 64;
    for (size_t q = 0; q < k * k; q++) {
      s = s * 1664525u + 1013904223u;
      if ((s >> 20) % sparse == 0) conf[q] = (s >> 8) % (1 + round % 4);
    }
    size_t want = 0;
    int w[3] = {0, 1, 2}, cls[3], found = 0;
    for (size_t a = 0; a < k; a++)
      for (size_t b = a + 1; b < k; b++)
        for (size_t c = b + 1; c < k; c++) {
          size_t v = conf[a * k + b] + conf[b * k + a] + conf[a * k + c] + conf[c * k + a] +
                     conf[b * k + c] + conf[c * k + b];
          if (!found || v > want) {
            want = v;
            w[0] = (int)a, w[1] = (int)b, w[2] = (int)c;
            found = 1;
          }
        }
    size_t got;
    lsp_confusion c;
    conf_of(conf, k, &c);
    assert_int_equal(lsp_proj_pick_classes(&c, cls, &got), 0);
    lsp_confusion_free(&c);
    if (got != want || cls[0] != w[0] || cls[1] != w[1] || cls[2] != w[2]) {
      print_error("round %d, K = %zu: (%d,%d,%d) score %zu, want (%d,%d,%d) score %zu\n",
                  round, k, cls[0], cls[1], cls[2], got, w[0], w[1], w[2], want);
      fail();
    }
    free(conf);
  }
  /* many classes, no confusion: (0, 1, 2) */
  const size_t k = 3000; /* 4.5·10⁹ triples in the plain search */
  float *z = calloc(3 * k, sizeof *z);
  const int32_t y[3] = {2999, 7, 1500};
  assert_non_null(z);
  for (int r = 0; r < 3; r++) z[(size_t)r * k + (size_t)y[r]] = 1.0f;
  lsp_confusion c;
  int cls[3];
  assert_int_equal(lsp_proj_confusion_logits(z, y, 3, k, &c), 0);
  assert_int_equal(c.npairs, 0);
  assert_int_equal(c.right, 3);
  assert_int_equal(lsp_proj_pick_classes(&c, cls, NULL), 0);
  assert_true(cls[0] == 0 && cls[1] == 1 && cls[2] == 2);
  lsp_confusion_free(&c);
  free(z);
}

/* 20000 classes (a K×K table of counts would take 3.2 GB): the counts and
 * the triple from a few confused examples, the third class found through
 * the pairs' neighbours or, for a lone pair, the lowest class outside it. */
static void test_pick_classes_many(void **state) {
  (void)state;
  enum { K = 20000, N = 12 };
  /* (true, predicted) per row: S(19990, 19991) = 5 + 1, S(19990, 19999) =
   * 2, S(5, 19999) = 1, S(0, 1) = 1, two rows right */
  const int32_t t[N] = {19990, 19990, 19990, 19990, 19990, 19991, 19990, 19999, 5, 0, 3, 3};
  const size_t p[N] = {19991, 19991, 19991, 19991, 19991, 19990, 19999, 19990, 19999, 1, 3, 3};
  float *z = calloc((size_t)N * K, sizeof *z);
  assert_non_null(z);
  for (size_t r = 0; r < N; r++) z[r * K + p[r]] = 1.0f;
  lsp_confusion c;
  assert_int_equal(lsp_proj_confusion_logits(z, t, N, K, &c), 0);
  assert_int_equal(c.n, N);
  assert_int_equal(c.right, 2);
  assert_int_equal(c.npairs, 6);
  assert_int_equal(lsp_confusion_get(&c, 19990, 19991), 5);
  assert_int_equal(lsp_confusion_get(&c, 19991, 19990), 1);
  assert_int_equal(lsp_confusion_get(&c, 19990, 19999), 1);
  assert_int_equal(lsp_confusion_get(&c, 19999, 19990), 1);
  assert_int_equal(lsp_confusion_get(&c, 3, 3), 2);
  assert_int_equal(lsp_confusion_get(&c, 19999, 19991), 0);
  assert_int_equal(lsp_confusion_get(&c, K, 0), 0);
  int cls[3];
  size_t score;
  assert_int_equal(lsp_proj_pick_classes(&c, cls, &score), 0);
  assert_int_equal(score, 8);
  assert_true(cls[0] == 19990 && cls[1] == 19991 && cls[2] == 19999);
  lsp_confusion_free(&c);
  /* one confused pair, (9000, 1): the lowest class outside it, 0 */
  const int32_t t1[2] = {9000, 1};
  float *z1 = calloc(2 * (size_t)K, sizeof *z1);
  assert_non_null(z1);
  z1[1] = 1.0f;           /* row 0: 9000 predicted as 1 */
  z1[K + 1] = 1.0f;       /* row 1: right */
  assert_int_equal(lsp_proj_confusion_logits(z1, t1, 2, K, &c), 0);
  assert_int_equal(lsp_proj_pick_classes(&c, cls, &score), 0);
  assert_int_equal(score, 1);
  assert_true(cls[0] == 0 && cls[1] == 1 && cls[2] == 9000);
  lsp_confusion_free(&c);
  free(z);
  free(z1);
}

/* Argmax ties go to the lowest index. */
static void test_confusion_ties(void **state) {
  (void)state;
  const float z[6] = {1, 1, 0, 0, 2, 2};
  const int32_t y[2] = {1, 2};
  lsp_confusion c;
  assert_int_equal(lsp_proj_confusion_logits(z, y, 2, 3, &c), 0);
  assert_int_equal(lsp_confusion_get(&c, 1, 0), 1);
  assert_int_equal(lsp_confusion_get(&c, 2, 1), 1);
  assert_int_equal(c.right, 0);
  lsp_confusion_free(&c);
}

static void test_projection_errors(void **state) {
  (void)state;
  const float x[4 * 2] = {1, 0, 0, 1, 1, 1, 2, 0.5f};
  const int32_t y[4] = {0, 1, 2, 3};
  const float W[4 * 2] = {1, 0, 0, 1, -1, 0.5f, 2, 2};
  const float b[4] = {0.1f, 0.2f, 0.3f, 0.4f};
  lsp_proj *p = NULL;
  int rep[3] = {0, 2, 0}, oor[3] = {0, 1, 4}, neg[3] = {-1, 1, 2};
  assert_int_equal(lsp_proj_compute(x, y, 4, 2, W, b, 4, rep, &p), LSP_EINVAL);
  assert_non_null(strstr(lsp_errmsg(), "class 0 is given twice"));
  assert_int_equal(lsp_proj_compute(x, y, 4, 2, W, b, 4, oor, &p), LSP_EINVAL);
  assert_non_null(strstr(lsp_errmsg(), "class 4 is outside [0, 4)"));
  assert_int_equal(lsp_proj_compute(x, y, 4, 2, W, b, 4, neg, &p), LSP_EINVAL);
  assert_null(p);
  /* collinear templates: w_2 − w_0 = 2 (w_1 − w_0) */
  const float Wc[3 * 2] = {0, 0, 1, 1, 2, 2};
  const float bc[3] = {0, 0.5f, 1};
  int abc[3] = {0, 1, 2};
  const int32_t y3[4] = {0, 1, 2, 0};
  assert_int_equal(lsp_proj_compute(x, y3, 4, 2, Wc, bc, 3, abc, &p),
                   LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "one line"));
  /* collinear up to float32 rounding: w_2 = 2 w_1 − w_0 rounded to float32
   * is 8.6e-8 off the line, far above double rounding but within the
   * templates' own precision: no plane either */
  const float Wl[3 * 8] = {-1.8725295f, 1.1285231f,  1.0348662f,  -1.4186656f,
                           0.15358189f, 1.2157576f,  0.08791904f, 0.99970144f,
                           2.374887f,   0.27393225f, -0.2803823f, -0.7710522f,
                           0.6480646f,  -0.19673006f, -0.17874637f, -0.10525978f,
                           6.6223035f,  -0.5806586f, -1.5956309f, -0.12343872f,
                           1.1425474f,  -1.6092178f, -0.4454118f, -1.210221f};
  const float bl[3] = {0, 0, 0};
  float xl[4 * 8] = {0};
  assert_int_equal(lsp_proj_compute(xl, y3, 4, 8, Wl, bl, 3, abc, &p), LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "one line"));
  assert_null(p);
  const float We[3 * 2] = {1, 1, 1, 1, 2, 0};
  const float be[3] = {0.5f, 0.5f, 1};
  assert_int_equal(lsp_proj_compute(x, y3, 4, 2, We, be, 3, abc, &p),
                   LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "equal"));
  float xn[8];
  memcpy(xn, x, sizeof xn);
  xn[3] = NAN;
  assert_int_equal(lsp_proj_compute(xn, y, 4, 2, W, b, 4, abc, &p), LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "row 1"));
  float Wn[8];
  memcpy(Wn, W, sizeof Wn);
  Wn[5] = INFINITY;
  assert_int_equal(lsp_proj_compute(x, y, 4, 2, Wn, b, 4, abc, &p), LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "weight [2, 1]"));
  const int32_t ybad[4] = {0, 1, 7, 0};
  assert_int_equal(lsp_proj_compute(x, ybad, 4, 2, W, b, 4, abc, &p),
                   LSP_EDATA);
  lsp_confusion c;
  assert_int_equal(lsp_proj_confusion(x, ybad, 4, 2, W, b, 4, &c), LSP_EDATA);
  assert_null(c.code);
  assert_int_equal(lsp_proj_confusion(xn, y, 4, 2, W, b, 4, &c), LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "row 1"));
  assert_null(c.code);
  assert_int_equal(lsp_proj_confusion(x, y, 0, 2, W, b, 4, &c), LSP_EINVAL);
  assert_int_equal(lsp_proj_confusion(x, y, 4, 2, W, b, 4, NULL), LSP_EINVAL);
  assert_int_equal(lsp_proj_confusion_logits(W, y, 4, 2, NULL), LSP_EINVAL);
  assert_null(p);
}

static void test_csv(void **state) {
  (void)state;
  /* each feature row equals its template's weights and every bias is 1, so
   * h̃ = (h, 1) = w_y */
  const float x[3 * 2] = {1, 0, 0, 1, 2.385f, 3};
  const int32_t y[3] = {0, 1, 2};
  const float W[3 * 2] = {1, 0, 0, 1, 2.385f, 3};
  const float b[3] = {1, 1, 1};
  int abc[3] = {0, 1, 2};
  lsp_proj *p = NULL;
  assert_int_equal(lsp_proj_compute(x, y, 3, 2, W, b, 3, abc, &p), 0);
  const char *path = td_tmp("proj.csv");
  assert_int_equal(lsp_proj_write_csv(p, path), 0);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  char line[256];
  int lines = 0;
  assert_non_null(fgets(line, sizeof line, f));
  assert_string_equal(line, "kind,index,label,x,y\n");
  while (fgets(line, sizeof line, f)) lines++;
  fclose(f);
  remove(path);
  assert_int_equal(lines, 6);
  /* each example sits exactly on its own template here (h̃ = w_y) */
  for (size_t i = 0; i < 3; i++) {
    td_close(p->xy[2 * i], p->tmpl[i][0], 0, 1e-15, "x on template", i);
    td_close(p->xy[2 * i + 1], p->tmpl[i][1], 0, 1e-15, "y on template", i);
  }
  assert_int_equal(lsp_proj_write_csv(p, "/nonexistent/dir/p.csv"), LSP_EIO);
  lsp_proj_free(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tiny_projection),
      cmocka_unit_test(test_pick_classes),
      cmocka_unit_test(test_pick_classes_random),
      cmocka_unit_test(test_pick_classes_many),
      cmocka_unit_test(test_confusion_ties),
      cmocka_unit_test(test_projection_errors),
      cmocka_unit_test(test_csv),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
