/* lsp_projection.c — the Müller projection onto the plane of three
 * templates (see lsp_projection.h; the confusion counts that pick the
 * classes are in lsp_confusion.c). */
#include "analysis/lsp_projection.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "core/base/lsp_util.h"

void lsp_proj_free(lsp_proj *p) {
  if (!p) return;
  free(p->e1);
  free(p->e2);
  free(p->index);
  free(p->label);
  free(p->xy);
  free(p);
}

/* Template k extended with its bias, in double. */
static void template_row(const float *W, const float *b, size_t h, int k,
                         double *w) {
  for (size_t t = 0; t < h; t++) w[t] = W[(size_t)k * h + t];
  w[h] = b[k];
}

static double dot(const double *x, const double *y, size_t n) {
  double s = 0.0;
  for (size_t t = 0; t < n; t++) s += x[t] * y[t];
  return s;
}

int lsp_proj_compute(const float *feat, const int32_t *labels, size_t n,
                     size_t h, const float *W, const float *b, size_t k,
                     const int cls[3], lsp_proj **out) {
  *out = NULL;
  if (!feat || !labels || !W || !b || n == 0 || h == 0 || k < 3)
    return lsp_fail(LSP_EINVAL,
                    "need features and at least 3 "
                    "classes (N = %zu, H = %zu, K = %zu)",
                    n, h, k);
  for (int q = 0; q < 3; q++) {
    if (cls[q] < 0 || (size_t)cls[q] >= k)
      return lsp_fail(LSP_EINVAL, "class %d is outside [0, %zu)", cls[q], k);
    for (int r = 0; r < q; r++)
      if (cls[r] == cls[q])
        return lsp_fail(LSP_EINVAL, "class %d is given twice", cls[q]);
  }
  int st = lsp_proj_check_labels(labels, n, k, "projection");
  if (st) return st;
  for (size_t q = 0; q < k * h; q++)
    if (!isfinite(W[q]))
      return lsp_fail(LSP_EDATA, "weight [%zu, %zu] is not finite", q / h,
                      q % h);
  for (size_t q = 0; q < k; q++)
    if (!isfinite(b[q]))
      return lsp_fail(LSP_EDATA, "bias %zu is not finite", q);
  size_t d = h + 1, m = 0;
  for (size_t i = 0; i < n; i++)
    m += labels[i] == cls[0] || labels[i] == cls[1] || labels[i] == cls[2];
  lsp_proj *p = calloc(1, sizeof *p);
  double *w = malloc(3 * d * sizeof *w);
  if (!p || !w) goto nomem;
  p->h = h;
  memcpy(p->cls, cls, sizeof p->cls);
  p->e1 = malloc(d * sizeof *p->e1);
  p->e2 = malloc(d * sizeof *p->e2);
  p->index = malloc((m ? m : 1) * sizeof *p->index);
  p->label = malloc((m ? m : 1) * sizeof *p->label);
  p->xy = malloc((m ? m : 1) * 2 * sizeof *p->xy);
  if (!p->e1 || !p->e2 || !p->index || !p->label || !p->xy) goto nomem;
  for (int q = 0; q < 3; q++) template_row(W, b, h, cls[q], w + (size_t)q * d);
  /* Gram–Schmidt in double, with one re-orthogonalization pass for e2. */
  double *wa = w, *d1 = p->e1, *r = p->e2;
  for (size_t t = 0; t < d; t++) {
    d1[t] = w[d + t] - wa[t];
    r[t] = w[2 * d + t] - wa[t];
  }
  double n1 = sqrt(dot(d1, d1, d)), n2 = sqrt(dot(r, r, d));
  if (!(n1 > 0.0)) {
    st = lsp_fail(LSP_EDATA,
                  "the templates of classes %d and %d "
                  "are equal; they span no plane",
                  cls[0], cls[1]);
    goto fail;
  }
  for (size_t t = 0; t < d; t++) d1[t] /= n1;
  for (int pass = 0; pass < 2; pass++) {
    double c = dot(r, d1, d);
    for (size_t t = 0; t < d; t++) r[t] -= c * d1[t];
  }
  double nr = sqrt(dot(r, r, d));
  /* Collinear templates leave only rounding error in r: of the float32
   * templates themselves (each entry within FLT_EPSILON/2 of its value, so
   * w_c within FLT_EPSILON/2·‖w_c‖ of a collinear point, and the line
   * through w_a and w_b moved at w_c's place by up to (1 + s)·FLT_EPSILON/2
   * ·‖w_a‖ + s·FLT_EPSILON/2·‖w_b‖, s = ‖w_c − w_a‖/‖w_b − w_a‖), and of
   * this double arithmetic, of order ‖w_c − w_a‖·d·DBL_EPSILON. The first
   * bound is taken twice over. */
  double sc = n2 / n1,
         f32 = (double)FLT_EPSILON *
               (sqrt(dot(w + 2 * d, w + 2 * d, d)) + (1.0 + sc) * sqrt(dot(wa, wa, d)) +
                sc * sqrt(dot(w + d, w + d, d))),
         f64 = n2 * (double)d * DBL_EPSILON;
  if (!(nr > (f32 > f64 ? f32 : f64))) {
    st = lsp_fail(LSP_EDATA,
                  "the templates of classes %d, %d, %d "
                  "lie on one line; they span no plane",
                  cls[0], cls[1], cls[2]);
    goto fail;
  }
  for (size_t t = 0; t < d; t++) r[t] /= nr;
  /* w_a and w_b sit at (0, 0) and (‖w_b − w_a‖, 0) by construction; w_c is
   * projected like any point. */
  p->tmpl[0][0] = p->tmpl[0][1] = p->tmpl[1][1] = 0.0;
  p->tmpl[1][0] = n1;
  for (int q = 2; q < 3; q++) {
    double x = 0.0, y = 0.0;
    for (size_t t = 0; t < d; t++) {
      double v = w[(size_t)q * d + t] - wa[t];
      x += v * p->e1[t];
      y += v * p->e2[t];
    }
    p->tmpl[q][0] = x;
    p->tmpl[q][1] = y;
  }
  for (size_t i = 0; i < n; i++) {
    int32_t y = labels[i];
    if (y != cls[0] && y != cls[1] && y != cls[2]) continue;
    const float *f = feat + i * h;
    double x0 = 0.0, y0 = 0.0;
    for (size_t t = 0; t < h; t++) {
      double v = (double)f[t] - wa[t];
      x0 += v * p->e1[t];
      y0 += v * p->e2[t];
    }
    x0 += (1.0 - wa[h]) * p->e1[h];
    y0 += (1.0 - wa[h]) * p->e2[h];
    if (!isfinite(x0) || !isfinite(y0)) {
      st = lsp_fail(LSP_EDATA, "row %zu of the features is not finite", i);
      goto fail;
    }
    p->index[p->m] = i;
    p->label[p->m] = y;
    p->xy[2 * p->m] = x0;
    p->xy[2 * p->m + 1] = y0;
    p->m++;
  }
  free(w);
  *out = p;
  return LSP_OK;
nomem:
  st = lsp_fail(LSP_ENOMEM, "out of memory (%zu rows)", m);
fail:
  free(w);
  lsp_proj_free(p);
  return st;
}

int lsp_proj_write_csv(const lsp_proj *p, const char *path) {
  lsp_outfile f;
  int st = lsp_out_open(&f, path);
  if (st) return st;
  fprintf(f.fp, "kind,index,label,x,y\n");
  for (int q = 0; q < 3; q++)
    fprintf(f.fp, "template,-1,%d,%.9g,%.9g\n", p->cls[q], p->tmpl[q][0],
            p->tmpl[q][1]);
  for (size_t i = 0; i < p->m; i++)
    fprintf(f.fp, "example,%zu,%d,%.9g,%.9g\n", p->index[i], (int)p->label[i],
            p->xy[2 * i], p->xy[2 * i + 1]);
  if (ferror(f.fp)) return lsp_out_write_failed(&f);
  return lsp_out_commit(&f);
}
