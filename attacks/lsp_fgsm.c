/* lsp_fgsm.c — the FGSM sweep: one input gradient, every ε scored from it.
 *
 * Pass 1 (batched forward + input backward through src) stores sign(∇ₓL)
 * as one byte per input component and, for a white-box attack, takes the
 * clean predictions from the same forward. Pass 2 builds, for each ε and
 * batch, x' = clip(x + ε·sign, lo, hi) and runs one forward through dst.
 * At ε = 0, x' = x bitwise (inputs are inside the bounds), so the clean
 * predictions are reused instead of a forward.
 *
 * Batches are independent: the batches of each pass are shared among
 * lsprobe's threads (lsp_attack_team.c); a batch is computed the same way
 * whichever thread takes it, so the results are the same bits for every
 * thread count. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attacks/lsp_attack_int.h"
#include "core/base/lsp_error.h"

/* Pass 1 on the batch at row i0: the signs of the input gradient; the
 * zero components of the rows zero_grad_share counts (white-box
 * untargeted: the clean-correct ones) into *zeros, those rows into *rows. */
static int grad_batch(lsp_attack_ctx *c, int8_t *sg, size_t i0,
                      size_t *zeros, size_t *rows) {
  size_t nb = c->n - i0 < c->batch ? c->n - i0 : c->batch;
  const float *xb = c->x + i0 * c->dim, *z = NULL;
  int st = lsp_attack_forward_src(c, xb, nb, &z);
  if (st) return st;
  if (!c->transfer) {
    if ((st = lsp_attack_score(z, nb, c->k, c->clean_pred + i0,
                               c->clean_conf + i0)))
      return st;
    lsp_attack_set_labels(c, z, i0, nb);
  }
  if ((st = lsp_attack_backward_src(c, z, c->lab + i0, nb))) return st;
  const float *g = c->gb;
  const int judged = !c->transfer && c->o->target == LSP_TARGET_NONE;
  *zeros += lsp_attack_count_zeros_correct(
      c, g, nb, judged ? c->clean_pred + i0 : NULL, c->y + i0, NULL, rows);
  int8_t *s = sg + i0 * c->dim;
  for (size_t j = 0; j < nb * c->dim; j++)
    s[j] = (int8_t)((g[j] > 0.0f) - (g[j] < 0.0f));
  return LSP_OK;
}

/* Pass 2 on the batch at row i0: x' from the signs, dst's predictions. */
static int eps_batch(lsp_attack_ctx *c, const int8_t *sg, size_t i0, float ef,
                     int32_t *pred, float *conf, float *keep) {
  size_t nb = c->n - i0 < c->batch ? c->n - i0 : c->batch;
  const float lo = c->o->lo, hi = c->o->hi;
  const float *xs = c->x + i0 * c->dim;
  const int8_t *s = sg + i0 * c->dim;
  float *xb = c->xb;
  const size_t cnt = nb * c->dim;
  for (size_t j = 0; j < cnt; j++)
    xb[j] = lsp_attack_step(xs[j], (float)s[j], ef, lo, hi);
  const float *z = NULL;
  int st = lsp_model_forward(c->dst, c->ws_dst, xb, nb, &z, NULL);
  if (st) return st;
  c->flops += c->fwd_dst * (double)nb;
  if ((st = lsp_attack_score(z, nb, c->k, pred + i0, conf + i0))) return st;
  if (keep) memcpy(keep + i0 * c->dim, xb, cnt * sizeof *keep);
  return LSP_OK;
}

/* The two passes' batch functions for the team. */
typedef struct {
  int8_t *sg;
  int32_t *pred;
  float *conf, *keep;
  float ef;
  size_t zeros[LSP_ATTACK_TEAM_MAX]; /* pass 1, per thread: zero components */
  size_t rows[LSP_ATTACK_TEAM_MAX];  /* and the gradient rows they count   */
} fgsm_job;

static size_t rows_of(const lsp_attack_ctx *c, size_t b) {
  size_t i0 = b * c->batch;
  return c->n - i0 < c->batch ? c->n - i0 : c->batch;
}

static int grad_fn(lsp_attack_ctx *c, int t, size_t b, void *arg,
                   size_t *passes) {
  fgsm_job *j = arg;
  *passes = rows_of(c, b);
  return grad_batch(c, j->sg, b * c->batch, &j->zeros[t], &j->rows[t]);
}

static int eps_fn(lsp_attack_ctx *c, int t, size_t b, void *arg,
                  size_t *passes) {
  (void)t;
  fgsm_job *j = arg;
  *passes = rows_of(c, b);
  return eps_batch(c, j->sg, b * c->batch, j->ef, j->pred, j->conf, j->keep);
}

int lsp_fgsm_sweep(lsp_attack_ctx *c, const double *eps, size_t neps,
                   lsp_attack_result *out) {
  const size_t n = c->n, dim = c->dim;
  int8_t *sg = malloc(n * dim);
  int32_t *pred = malloc(n * sizeof *pred);
  float *conf = malloc(n * sizeof *conf);
  uint8_t *correct = malloc(n);
  fgsm_job *job = calloc(1, sizeof *job);
  lsp_attack_team *team = NULL;
  const size_t nbatch = (n + c->batch - 1) / c->batch;
  int st = LSP_OK;
  if (!sg || !pred || !conf || !correct || !job) {
    st =
        lsp_fail(LSP_ENOMEM, "fgsm: out of memory for %zu x %zu signs", n, dim);
    goto done;
  }
  if ((st = lsp_attack_team_alloc(c, nbatch, &team))) goto done;
  job->sg = sg, job->pred = pred, job->conf = conf;
  size_t npos = 0;
  for (size_t e = 0; e < neps; e++) npos += eps[e] > 0.0;
  c->total = n * (c->transfer ? 2 : 1) + n * npos;

  /* pass 1: the input gradient at x, once */
  if (c->transfer && (st = lsp_attack_clean_pass(c))) goto done;
  if ((st = lsp_attack_team_run(team, nbatch, grad_fn, job, "gradient", 0.0,
                                 1)))
    goto done;
  size_t zeros = 0, rows = 0;
  for (int t = 0; t < lsp_attack_team_size(team); t++)
    zeros += job->zeros[t], rows += job->rows[t];
  const double zshare =
      rows ? (double)zeros / ((double)rows * (double)c->nread) : NAN;

  /* pass 2: every ε from the stored signs */
  for (size_t e = 0; e < neps; e++) {
    float *keep = c->o->adv && c->o->adv_point == e ? c->o->adv : NULL;
    if (eps[e] == 0.0) {
      memcpy(pred, c->clean_pred, n * sizeof *pred);
      memcpy(conf, c->clean_conf, n * sizeof *conf);
      if (keep) memcpy(keep, c->x, n * dim * sizeof *keep);
    } else {
      job->keep = keep;
      job->ef = (float)eps[e] * (float)c->dir;
      if ((st = lsp_attack_team_run(team, nbatch, eps_fn, job, "fgsm", eps[e],
                                    1)))
        goto done;
    }
    for (size_t i = 0; i < n; i++) correct[i] = pred[i] == c->y[i];
    if (c->o->correct) memcpy(c->o->correct + e * n, correct, n);
    lsp_attack_point *p = &out->points[e];
    p->eps = eps[e];
    lsp_attack_summarize(c, correct, pred, conf, p);
    p->zero_grad_share = zshare;
  }
done:
  lsp_attack_team_free(team);
  free(job);
  free(sg);
  free(pred);
  free(conf);
  free(correct);
  return st;
}
