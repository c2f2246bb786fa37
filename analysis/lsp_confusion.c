/* lsp_confusion.c — sparse confusion counts and the most confused triple of
 * classes (see lsp_projection.h). Memory grows with the examples and the
 * classes, never with K²: a K×K table of counts is 3.2 GB at K = 20000,
 * while a test set of N examples has at most N distinct confused pairs. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/lsp_projection.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_util.h"

int lsp_proj_check_labels(const int32_t *labels, size_t n, size_t k, const char *what) {
  for (size_t i = 0; i < n; i++)
    if (labels[i] < 0 || (size_t)labels[i] >= k)
      return lsp_fail(LSP_EDATA, "%s: label %d of row %zu is outside [0, %zu)", what,
                      (int)labels[i], i, k);
  return LSP_OK;
}

/* The counts' arrays for k classes and up to n confused examples (codes
 * gathered unsorted into c->code until conf_finish). */
static int conf_start(lsp_confusion *c, size_t n, size_t k) {
  memset(c, 0, sizeof *c);
  c->k = k;
  c->diag = calloc(k, sizeof *c->diag);
  c->code = malloc((n ? n : 1) * sizeof *c->code);
  c->count = malloc((n ? n : 1) * sizeof *c->count);
  if (!c->diag || !c->code || !c->count) {
    lsp_confusion_free(c);
    return lsp_fail(LSP_ENOMEM, "out of memory (N = %zu, K = %zu)", n, k);
  }
  return LSP_OK;
}

/* Count the argmax (ties to the lowest index) of each row of z (rows×k);
 * row0 numbers the rows in messages. */
static int conf_rows(lsp_confusion *c, const float *z, const int32_t *labels, size_t rows,
                     size_t row0) {
  const size_t k = c->k;
  for (size_t i = 0; i < rows; i++) {
    const float *r = z + i * k;
    for (size_t j = 0; j < k; j++)
      if (!isfinite(r[j]))
        return lsp_fail(LSP_EDATA, "logit %zu of row %zu is not finite", j, row0 + i);
    const size_t t = (size_t)labels[i], p = lsp_argmax_f32(r, k);
    c->n++;
    if (p == t)
      c->diag[t]++;
    else
      c->code[c->npairs++] = (uint64_t)t * k + p;
  }
  return LSP_OK;
}

static int cmp_u64(const void *a, const void *b) {
  const uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

/* Sort the gathered codes and merge equal ones into counts. */
static void conf_finish(lsp_confusion *c) {
  qsort(c->code, c->npairs, sizeof *c->code, cmp_u64);
  size_t m = 0;
  for (size_t i = 0; i < c->npairs; i++) {
    if (m && c->code[m - 1] == c->code[i]) {
      c->count[m - 1]++;
    } else {
      c->code[m] = c->code[i];
      c->count[m++] = 1;
    }
  }
  c->npairs = m;
  for (size_t t = 0; t < c->k; t++) c->right += c->diag[t];
}

int lsp_proj_confusion_logits(const float *logits, const int32_t *labels, size_t n, size_t k,
                              lsp_confusion *out) {
  if (!out) return lsp_fail(LSP_EINVAL, "no output for the confusion counts");
  memset(out, 0, sizeof *out);
  if (!logits || !labels || n == 0 || k < 2)
    return lsp_fail(LSP_EINVAL, "empty input (N = %zu, K = %zu)", n, k);
  int st = lsp_proj_check_labels(labels, n, k, "confusion");
  if (!st) st = conf_start(out, n, k);
  if (!st) st = conf_rows(out, logits, labels, n, 0);
  if (st) {
    lsp_confusion_free(out);
    return st;
  }
  conf_finish(out);
  return LSP_OK;
}

int lsp_proj_confusion(const float *feat, const int32_t *labels, size_t n, size_t h,
                       const float *W, const float *b, size_t k, lsp_confusion *out) {
  if (!out) return lsp_fail(LSP_EINVAL, "no output for the confusion counts");
  memset(out, 0, sizeof *out);
  if (!feat || !labels || !W || !b || n == 0 || h == 0 || k < 2)
    return lsp_fail(LSP_EINVAL, "empty input (N = %zu, H = %zu, K = %zu)", n, h, k);
  int st = lsp_proj_check_labels(labels, n, k, "confusion");
  if (st) return st;
  enum { BLOCK = 1024 };
  float *z = malloc((size_t)BLOCK * k * sizeof *z);
  if (!z) return lsp_fail(LSP_ENOMEM, "out of memory (K = %zu)", k);
  st = conf_start(out, n, k);
  for (size_t i0 = 0; i0 < n && !st; i0 += BLOCK) {
    size_t rows = n - i0 < BLOCK ? n - i0 : BLOCK;
    for (size_t i = 0; i < rows; i++) memcpy(z + i * k, b, k * sizeof *z);
    /* z (rows×k) += feat (rows×h) · Wᵀ (h×k) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)k, (int)h, 1.0f,
                feat + i0 * h, (int)h, W, (int)h, 1.0f, z, (int)k);
    st = conf_rows(out, z, labels + i0, rows, i0);
  }
  free(z);
  if (st) {
    lsp_confusion_free(out);
    return st;
  }
  conf_finish(out);
  return LSP_OK;
}

void lsp_confusion_free(lsp_confusion *c) {
  if (!c) return;
  free(c->diag);
  free(c->code);
  free(c->count);
  memset(c, 0, sizeof *c);
}

size_t lsp_confusion_get(const lsp_confusion *c, size_t t, size_t p) {
  if (!c || t >= c->k || p >= c->k) return 0;
  if (t == p) return c->diag[t];
  const uint64_t want = (uint64_t)t * c->k + p;
  size_t lo = 0, hi = c->npairs;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (c->code[mid] < want)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < c->npairs && c->code[lo] == want ? c->count[lo] : 0;
}

/* ---- the most confused triple ------------------------------------------------ */

static int cmp_pair(const void *x, const void *y) {
  const lsp_conf_pair *e = x, *f = y;
  if (e->a != f->a) return e->a < f->a ? -1 : 1;
  return (e->b > f->b) - (e->b < f->b);
}

int lsp_confusion_pairs(const lsp_confusion *c, lsp_conf_pair **out, size_t *n) {
  *out = NULL;
  *n = 0;
  lsp_conf_pair *e = malloc((c->npairs ? c->npairs : 1) * sizeof *e);
  if (!e) return lsp_fail(LSP_ENOMEM, "out of memory (%zu confused pairs)", c->npairs);
  for (size_t i = 0; i < c->npairs; i++) {
    size_t t = (size_t)(c->code[i] / c->k), p = (size_t)(c->code[i] % c->k);
    e[i] = (lsp_conf_pair){t < p ? t : p, t < p ? p : t, c->count[i]};
  }
  qsort(e, c->npairs, sizeof *e, cmp_pair);
  size_t m = 0;
  for (size_t i = 0; i < c->npairs; i++) {
    if (m && e[m - 1].a == e[i].a && e[m - 1].b == e[i].b)
      e[m - 1].s += e[i].s;
    else
      e[m++] = e[i];
  }
  *out = e;
  *n = m;
  return LSP_OK;
}

/* u[0..2] in ascending order. */
static void sort3(size_t u[3]) {
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 2 - i; j++)
      if (u[j] > u[j + 1]) {
        size_t v = u[j];
        u[j] = u[j + 1];
        u[j + 1] = v;
      }
}

/* The sorted triple {a, b, c} before (t0, t1, t2) lexicographically. */
static int lex_before(size_t a, size_t b, size_t c, const int t[3]) {
  size_t u[3] = {a, b, c};
  sort3(u);
  for (int i = 0; i < 3; i++)
    if (u[i] != (size_t)t[i]) return u[i] < (size_t)t[i];
  return 0;
}

static void set_triple(int cls[3], size_t a, size_t b, size_t c) {
  size_t u[3] = {a, b, c};
  sort3(u);
  for (int i = 0; i < 3; i++) cls[i] = (int)u[i];
}

/* Every triple with a positive score holds a confused pair (a, b). For each
 * such pair the best third class is the c of the largest S_ac + S_bc over
 * the pair's neighbours (lowest c on a tie: the sorted triple grows with
 * c), or, when no other class is confused with a or b, the lowest class
 * outside {a, b}, which lies in {0, 1, 2}. The best of these over all
 * pairs, ties to the lowest sorted triple, is the best triple; without a
 * confused pair every triple scores 0 and (0, 1, 2) is the lowest. Work:
 * the sum over the pairs of their classes' neighbour counts. */
int lsp_proj_pick_classes(const lsp_confusion *c, int cls[3], size_t *score) {
  if (!c || c->k < 3)
    return lsp_fail(LSP_EINVAL, "need at least 3 classes (K = %zu)", c ? c->k : 0);
  const size_t k = c->k;
  cls[0] = 0, cls[1] = 1, cls[2] = 2;
  size_t best = 0, ne;
  lsp_conf_pair *e;
  int st = lsp_confusion_pairs(c, &e, &ne);
  if (st) return st;
  size_t *off = calloc(k + 1, sizeof *off), *w = calloc(k, sizeof *w);
  size_t *nb = NULL, *ns = NULL, *touched = NULL;
  if (!off || !w) goto oom;
  /* each class's neighbours (CSR) */
  const size_t slots = ne ? 2 * ne : 1;
  nb = malloc(slots * sizeof *nb);
  ns = malloc(slots * sizeof *ns);
  touched = malloc(slots * sizeof *touched);
  if (!nb || !ns || !touched) goto oom;
  for (size_t i = 0; i < ne; i++) off[e[i].a + 1]++, off[e[i].b + 1]++;
  for (size_t q = 0; q < k; q++) off[q + 1] += off[q];
  for (size_t i = 0; i < ne; i++) { /* (w as the fill cursor, cleared after) */
    size_t ia = off[e[i].a] + w[e[i].a]++, ib = off[e[i].b] + w[e[i].b]++;
    nb[ia] = e[i].b, ns[ia] = e[i].s;
    nb[ib] = e[i].a, ns[ib] = e[i].s;
  }
  memset(w, 0, k * sizeof *w);
  for (size_t i = 0; i < ne; i++) {
    const size_t a = e[i].a, b = e[i].b;
    size_t nt = 0;
    for (int side = 0; side < 2; side++) {
      const size_t u = side ? b : a, other = side ? a : b;
      for (size_t j = off[u]; j < off[u + 1]; j++) {
        if (nb[j] == other) continue;
        if (!w[nb[j]]) touched[nt++] = nb[j];
        w[nb[j]] += ns[j];
      }
    }
    size_t third = k, tw = 0;
    for (size_t q = 0; q < nt; q++) {
      const size_t cc = touched[q];
      if (w[cc] > tw || (w[cc] == tw && cc < third)) third = cc, tw = w[cc];
      w[cc] = 0;
    }
    if (third == k) third = a != 0 && b != 0 ? 0 : a != 1 && b != 1 ? 1 : 2;
    const size_t s = e[i].s + tw;
    if (s > best || (s == best && lex_before(a, b, third, cls))) {
      best = s;
      set_triple(cls, a, b, third);
    }
  }
  goto done;
oom:
  st = lsp_fail(LSP_ENOMEM, "out of memory (%zu classes, %zu confused pairs)", k, c->npairs);
done:
  free(e);
  free(off);
  free(w);
  free(nb);
  free(ns);
  free(touched);
  if (!st && score) *score = best;
  return st;
}
