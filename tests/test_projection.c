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
  size_t c1[9], c2[9], score = 0;
  assert_int_equal(lsp_proj_confusion(x, y, n, h, W, b, 3, c1), 0);
  assert_int_equal(lsp_proj_confusion_logits(la.data, y, n, 3, c2), 0);
  assert_memory_equal(c1, c2, sizeof c1);
  size_t total = 0, right = 0;
  for (int q = 0; q < 9; q++) total += c1[q];
  for (int q = 0; q < 3; q++) right += c1[4 * q];
  assert_int_equal(total, n);
  td_close((double)right / (double)n, 0.53125, 0, 1e-12,
           "acc_clean (case.json)", 0);
  int cls[3];
  assert_int_equal(lsp_proj_pick_classes(c1, 3, cls, &score), 0);
  assert_int_equal(cls[0], 0);
  assert_int_equal(cls[2], 2);
  assert_int_equal(score, n - right);
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
  assert_int_equal(lsp_proj_pick_classes(conf, K, cls, &score), 0);
  assert_int_equal(score, 12);
  /* {0,2,3} = 9+3 = 12 ties {1,3,4} = 12; lowest triple wins */
  assert_int_equal(cls[0], 0);
  assert_int_equal(cls[1], 2);
  assert_int_equal(cls[2], 3);
  conf[4 * K + 3] = 1;
  assert_int_equal(lsp_proj_pick_classes(conf, K, cls, &score), 0);
  assert_int_equal(score, 13);
  assert_int_equal(cls[0], 1);
  /* a perfect classifier: every triple scores 0 -> (0, 1, 2) */
  size_t diag[K * K] = {0};
  assert_int_equal(lsp_proj_pick_classes(diag, K, cls, NULL), 0);
  assert_true(cls[0] == 0 && cls[1] == 1 && cls[2] == 2);
  assert_int_equal(lsp_proj_pick_classes(diag, 2, cls, NULL), LSP_EINVAL);
}

/* The bounded search against every triple in order, on random sparse
 * confusions with small counts (many ties), and on many classes without a
 * confusion (every triple ties at 0: (0, 1, 2)). */
static void test_pick_classes_random(void **state) {
  (void)state;
  unsigned s = 12345;
  const size_t ks[6] = {3, 4, 7, 20, 41, 64};
  for (int round = 0; round < 60; round++) {
    const size_t k = ks[round % 6];
    size_t *conf = calloc(k * k, sizeof *conf);
    assert_non_null(conf);
    for (size_t q = 0; q < k * k; q++) {
      s = s * 1664525u + 1013904223u;
      if ((s >> 24) % 4 == 0) conf[q] = (s >> 8) % (1 + round % 4);
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
    assert_int_equal(lsp_proj_pick_classes(conf, k, cls, &got), 0);
    if (got != want || cls[0] != w[0] || cls[1] != w[1] || cls[2] != w[2]) {
      print_error("round %d, K = %zu: (%d,%d,%d) score %zu, want (%d,%d,%d) score %zu\n",
                  round, k, cls[0], cls[1], cls[2], got, w[0], w[1], w[2], want);
      fail();
    }
    free(conf);
  }
  const size_t k = 3000; /* 4.5·10⁹ triples in the plain search */
  size_t *zero = calloc(k * k, sizeof *zero);
  assert_non_null(zero);
  int cls[3];
  assert_int_equal(lsp_proj_pick_classes(zero, k, cls, NULL), 0);
  assert_true(cls[0] == 0 && cls[1] == 1 && cls[2] == 2);
  free(zero);
}

/* Argmax ties go to the lowest index. */
static void test_confusion_ties(void **state) {
  (void)state;
  const float z[6] = {1, 1, 0, 0, 2, 2};
  const int32_t y[2] = {1, 2};
  size_t c[9];
  assert_int_equal(lsp_proj_confusion_logits(z, y, 2, 3, c), 0);
  assert_int_equal(c[1 * 3 + 0], 1);
  assert_int_equal(c[2 * 3 + 1], 1);
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
  size_t c[16];
  assert_int_equal(lsp_proj_confusion(x, ybad, 4, 2, W, b, 4, c), LSP_EDATA);
  assert_int_equal(lsp_proj_confusion(xn, y, 4, 2, W, b, 4, c), LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "row 1"));
  assert_int_equal(lsp_proj_confusion(x, y, 0, 2, W, b, 4, c), LSP_EINVAL);
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
      cmocka_unit_test(test_confusion_ties),
      cmocka_unit_test(test_projection_errors),
      cmocka_unit_test(test_csv),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
