/* lsp_erasure.c — build the information-erasure probe set and score models
 * on it (lsp_erasure.h). Orchestration only: the perturbation lives in
 * core/data, the estimate in analysis. */
#include "reports/lsp_erasure.h"

#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"

void lsp_erasure_opts_default(lsp_erasure_opts *o) {
  o->per_class = 100;
  lsp_perturb_opts_default(&o->perturb);
}

void lsp_erasure_set_free(lsp_erasure_set *s) {
  if (!s) return;
  free(s->x);
  free(s);
}

int lsp_erasure_set_build(const lsp_splits *data, int a, int b,
                          const lsp_erasure_opts *o, lsp_erasure_set **out) {
  *out = NULL;
  const lsp_dataset *tr = &data->train;
  if (a < 0 || b < 0 || a >= tr->k || b >= tr->k || a == b)
    return lsp_fail(
        LSP_EINVAL,
        "information erasure: classes %d and %d are not two distinct "
        "classes of [0, %d)",
        a, b, tr->k);
  if (o->per_class < 2)
    return lsp_fail(LSP_EINVAL,
                    "information erasure: need at least 2 examples per class");
  if (o->perturb.copies < 2)
    return lsp_fail(LSP_EINVAL,
                    "information erasure: need at least 2 copies per example");
  size_t na = 0, nb = 0;
  for (size_t i = 0; i < tr->n; i++) {
    na += tr->y[i] == a;
    nb += tr->y[i] == b;
  }
  size_t m = o->per_class;
  if (na < m) m = na;
  if (nb < m) m = nb;
  if (m < 2)
    return lsp_fail(LSP_EDATA,
                    "information erasure: class %d has %zu and class %d %zu "
                    "training examples (need 2 or more)",
                    a, na, b, nb);
  lsp_erasure_set *s = calloc(1, sizeof *s);
  float *pick = NULL;
  int st = LSP_OK;
  if (!s) return lsp_fail(LSP_ENOMEM, "out of memory");
  s->a = a;
  s->b = b;
  s->m = m;
  s->r = o->perturb.copies;
  s->dim = tr->dim;
  s->opts = *o;
  s->opts.per_class = m;
  /* the image shape: shifts need one; other data gets noise only */
  size_t c, h, w;
  lsp_splits_shape(data, &c, &h, &w);
  lsp_perturb_opts po = o->perturb;
  if (h > 1 && w > 1 && c * h * w == tr->dim) {
    s->c = c;
    s->h = h;
    s->w = w;
    s->shifted = po.max_shift > 0;
  } else {
    s->c = 1;
    s->h = 1;
    s->w = tr->dim;
    po.max_shift = 0;
    s->shifted = 0;
  }
  s->opts.perturb.max_shift = po.max_shift;
  const size_t n = 2 * m;
  pick = malloc(n * tr->dim * sizeof *pick);
  s->x = malloc(n * s->r * tr->dim * sizeof *s->x);
  if (!pick || !s->x) {
    st = lsp_fail(LSP_ENOMEM, "out of memory for %zu perturbed copies",
                  n * s->r);
    goto done;
  }
  /* examples 0..m-1: the first m of class a; m..2m-1: the first m of b */
  size_t ia = 0, ib = 0;
  for (size_t i = 0; i < tr->n && (ia < m || ib < m); i++) {
    size_t slot;
    if (tr->y[i] == a && ia < m)
      slot = ia++;
    else if (tr->y[i] == b && ib < m)
      slot = m + ib++;
    else
      continue;
    for (size_t j = 0; j < tr->dim; j++)
      pick[slot * tr->dim + j] = tr->x[i * tr->dim + j];
  }
  st = lsp_perturb_images(pick, n, s->c, s->h, s->w, data->lo, data->hi, &po,
                          s->x);
done:
  free(pick);
  if (st) {
    lsp_erasure_set_free(s);
    return st;
  }
  *out = s;
  return LSP_OK;
}

int lsp_erasure_score(const lsp_erasure_set *s, const lsp_model *m,
                      lsp_mi_result *out, double *d_out) {
  if (m->in_dim != s->dim)
    return lsp_fail(LSP_EDATA,
                    "information erasure: the model takes %zu inputs, the data "
                    "has %zu",
                    m->in_dim, s->dim);
  if ((size_t)s->a >= m->out_dim || (size_t)s->b >= m->out_dim)
    return lsp_fail(
        LSP_EDATA,
        "information erasure: the model has %zu classes, the pair is "
        "(%d, %d)",
        m->out_dim, s->a, s->b);
  const size_t rows = 2 * s->m * s->r, k = m->out_dim;
  float *z = malloc(rows * k * sizeof *z);
  double *d = malloc(rows * sizeof *d);
  int st = LSP_OK;
  if (!z || !d) {
    st = lsp_fail(LSP_ENOMEM, "out of memory for %zu logits", rows);
    goto done;
  }
  if ((st = lsp_model_predict(m, s->x, rows, 512, z, NULL))) goto done;
  for (size_t i = 0; i < rows; i++)
    d[i] = (double)z[i * k + (size_t)s->a] - (double)z[i * k + (size_t)s->b];
  st = lsp_mi_gaussian(d, 2 * s->m, s->r, out);
  if (!st && d_out) memcpy(d_out, d, rows * sizeof *d);
done:
  free(z);
  free(d);
  return st;
}
