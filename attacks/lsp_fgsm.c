/* lsp_fgsm.c — the FGSM sweep: one input gradient, every ε scored from it.
 *
 * Pass 1 (batched forward + input backward through src) stores sign(∇ₓL)
 * as one byte per input component and, for a white-box attack, takes the
 * clean predictions from the same forward. Pass 2 builds, for each ε and
 * batch, x' = clip(x + ε·sign, lo, hi) and runs one forward through dst.
 * At ε = 0, x' = x bitwise (inputs are inside the bounds), so the clean
 * predictions are reused instead of a forward.
 *
 * The elementwise loops are deliberately serial: they move a few bytes per
 * GEMM flop, and an OpenMP team spinning between them steals the cores
 * OpenBLAS's own threads need (measured: 2 threads ran 7× slower than 1 on
 * a busy 2-core machine with the loops parallel). */
#include <stdlib.h>
#include <string.h>

#include "attacks/lsp_attack_int.h"
#include "core/base/lsp_error.h"

int lsp_fgsm_sweep(lsp_attack_ctx *c, const double *eps, size_t neps,
                   lsp_attack_result *out) {
  const size_t n = c->n, dim = c->dim;
  int8_t *sg = malloc(n * dim);
  int32_t *pred = malloc(n * sizeof *pred);
  float *conf = malloc(n * sizeof *conf);
  uint8_t *correct = malloc(n);
  int st = LSP_OK;
  if (!sg || !pred || !conf || !correct) {
    st =
        lsp_fail(LSP_ENOMEM, "fgsm: out of memory for %zu x %zu signs", n, dim);
    goto done;
  }
  size_t npos = 0;
  for (size_t e = 0; e < neps; e++) npos += eps[e] > 0.0;
  c->total = n * (c->transfer ? 2 : 1) + n * npos;

  /* pass 1: the input gradient at x, once */
  if (c->transfer && (st = lsp_attack_clean_pass(c))) goto done;
  size_t zeros = 0;
  for (size_t i0 = 0; i0 < n; i0 += c->batch) {
    size_t nb = n - i0 < c->batch ? n - i0 : c->batch;
    const float *xb = c->x + i0 * dim, *z = NULL;
    if ((st = lsp_attack_forward_src(c, xb, nb, &z))) goto done;
    if (!c->transfer) {
      lsp_attack_score(z, nb, c->k, c->clean_pred + i0, c->clean_conf + i0);
      lsp_attack_set_labels(c, z, i0, nb);
    }
    if ((st = lsp_attack_backward_src(c, z, c->lab + i0, nb, &zeros)))
      goto done;
    const float *g = c->gb;
    int8_t *s = sg + i0 * dim;
    for (size_t j = 0; j < nb * dim; j++)
      s[j] = (int8_t)((g[j] > 0.0f) - (g[j] < 0.0f));
    if ((st = lsp_attack_tick(c, "gradient", 0.0, 1, nb))) goto done;
  }
  const double zshare = (double)zeros / ((double)n * (double)dim);

  /* pass 2: every ε from the stored signs */
  const float lo = c->o->lo, hi = c->o->hi;
  for (size_t e = 0; e < neps; e++) {
    float *keep = c->o->adv && c->o->adv_point == e ? c->o->adv : NULL;
    if (eps[e] == 0.0) {
      memcpy(pred, c->clean_pred, n * sizeof *pred);
      memcpy(conf, c->clean_conf, n * sizeof *conf);
      if (keep) memcpy(keep, c->x, n * dim * sizeof *keep);
    } else {
      const float ef = (float)eps[e] * (float)c->dir;
      for (size_t i0 = 0; i0 < n; i0 += c->batch) {
        size_t nb = n - i0 < c->batch ? n - i0 : c->batch;
        const float *xs = c->x + i0 * dim;
        const int8_t *s = sg + i0 * dim;
        float *xb = c->xb;
        const size_t cnt = nb * dim;
        for (size_t j = 0; j < cnt; j++)
          xb[j] = lsp_attack_step(xs[j], (float)s[j], ef, lo, hi);
        const float *z = NULL;
        if ((st = lsp_model_forward(c->dst, c->ws_dst, xb, nb, &z, NULL)))
          goto done;
        c->flops += c->fwd_dst * (double)nb;
        lsp_attack_score(z, nb, c->k, pred + i0, conf + i0);
        if (keep) memcpy(keep + i0 * dim, xb, nb * dim * sizeof *keep);
        if ((st = lsp_attack_tick(c, "fgsm", eps[e], 1, nb))) goto done;
      }
    }
    for (size_t i = 0; i < n; i++) correct[i] = pred[i] == c->y[i];
    if (c->o->correct) memcpy(c->o->correct + e * n, correct, n);
    lsp_attack_point *p = &out->points[e];
    p->eps = eps[e];
    lsp_attack_summarize(c, correct, pred, conf, p);
    p->zero_grad_share = zshare;
  }
done:
  free(sg);
  free(pred);
  free(conf);
  free(correct);
  return st;
}
