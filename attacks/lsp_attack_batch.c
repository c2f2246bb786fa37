/* lsp_attack_batch.c — what the attack engines share batch by batch: the
 * forward and input-gradient passes through the crafting model, scoring
 * (predictions and confidences), the gradient labels, the clean pass,
 * progress, the per-ε summary, the random streams and the ε envelope. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attacks/lsp_attack_int.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "core/base/lsp_util.h"

size_t lsp_attack_count_zeros_correct(const lsp_attack_ctx *c, const float *g,
                                      size_t nb, const int32_t *pred,
                                      const int32_t *y, const size_t *idx,
                                      size_t *rows) {
  size_t z = 0;
  for (size_t a = 0; a < nb; a++, g += c->dim) {
    if (pred && pred[a] != y[idx ? idx[a] : a]) continue;
    for (size_t i = 0; i < c->dim; i++) z += (!c->read || c->read[i]) && g[i] == 0.0f;
    ++*rows;
  }
  return z;
}

int lsp_attack_forward_src(lsp_attack_ctx *c, const float *xb, size_t nb,
                           const float **logits) {
  int st = lsp_model_forward(c->src, c->ws_src, xb, nb, logits, NULL);
  if (st == LSP_OK) c->flops += c->fwd_src * (double)nb;
  return st;
}

int lsp_attack_backward_src(lsp_attack_ctx *c, const float *logits,
                            const int32_t *lab, size_t nb) {
  int st = lsp_attack_loss_rows(c->o->loss, &c->ls, logits, lab, NULL, nb, c->k,
                                1, NULL, c->dz);
  if (st) return st;
  if ((st =
           lsp_model_backward(c->src, c->ws_src, c->dz, LSP_BACK_INPUT, c->gb)))
    return st;
  c->flops += c->fwd_src * (double)nb;
  return LSP_OK;
}

int lsp_attack_score(const float *z, size_t nb, size_t k, int32_t *pred,
                     float *conf) {
  for (size_t i = 0; i < nb; i++) {
    const float *zi = z + i * k;
    for (size_t j = 0; j < k; j++)
      if (!isfinite(zi[j]))
        return lsp_fail(LSP_EDATA,
                        "scoring: non-finite logit (%g, class %zu) in batch "
                        "row %zu",
                        (double)zi[j], j, i);
    size_t best = lsp_argmax_f32(zi, k);
    /* max_k softmax = 1 / sum_j exp(z_j − z_max) */
    double s = 0.0;
    for (size_t j = 0; j < k; j++) s += exp((double)zi[j] - (double)zi[best]);
    pred[i] = (int32_t)best;
    conf[i] = (float)(1.0 / s);
  }
  return LSP_OK;
}

void lsp_attack_set_labels(lsp_attack_ctx *c, const float *src_logits,
                           size_t i0, size_t nb) {
  int t = c->o->target;
  for (size_t i = 0; i < nb; i++) {
    if (t == LSP_TARGET_NONE) {
      c->lab[i0 + i] = c->y[i0 + i];
    } else if (t == LSP_TARGET_LEAST_LIKELY) {
      const float *zi = src_logits + i * c->k;
      size_t worst = 0;
      for (size_t j = 1; j < c->k; j++)
        if (zi[j] < zi[worst]) worst = j;
      c->lab[i0 + i] = (int32_t)worst;
    } else {
      c->lab[i0 + i] = (int32_t)t;
    }
  }
}

int lsp_attack_tick(lsp_attack_ctx *c, const char *stage, double eps,
                    size_t restart, size_t passes) {
  c->done += passes;
  if (c->o->progress) {
    lsp_attack_progress p = {stage, eps, restart, c->done, c->total};
    c->o->progress(&p, c->o->user);
  }
  if (lsp_interrupted()) return lsp_fail(LSP_EINTR, "interrupted");
  return LSP_OK;
}

int lsp_attack_clean_pass(lsp_attack_ctx *c) {
  int need_src = c->o->target == LSP_TARGET_LEAST_LIKELY && c->transfer;
  for (size_t i0 = 0; i0 < c->n; i0 += c->batch) {
    size_t nb = c->n - i0 < c->batch ? c->n - i0 : c->batch;
    const float *xb = c->x + i0 * c->dim, *z = NULL;
    int st = lsp_model_forward(c->dst, c->ws_dst, xb, nb, &z, NULL);
    if (st) return st;
    c->flops += c->fwd_dst * (double)nb;
    if ((st = lsp_attack_score(z, nb, c->k, c->clean_pred + i0,
                               c->clean_conf + i0)))
      return st;
    if (c->clean_logits) /* AutoAttack kinds: white-box, dst == src */
      memcpy(c->clean_logits + i0 * c->k, z, nb * c->k * sizeof *z);
    if (need_src) {
      if ((st = lsp_model_forward(c->src, c->ws_src, xb, nb, &z, NULL)))
        return st;
      c->flops += c->fwd_src * (double)nb;
    }
    lsp_attack_set_labels(c, z, i0, nb);
    if ((st = lsp_attack_tick(c, "clean", 0.0, 1, nb))) return st;
  }
  return LSP_OK;
}

void lsp_attack_summarize(const lsp_attack_ctx *c, const uint8_t *correct,
                          const int32_t *pred, const float *conf,
                          lsp_attack_point *p) {
  size_t ncorrect = 0, clean_ok = 0, fooled = 0, tdenom = 0, thit = 0;
  double csum = 0.0;
  for (size_t i = 0; i < c->n; i++) {
    ncorrect += correct[i];
    if (c->clean_pred[i] == c->y[i]) {
      clean_ok++;
      fooled += !correct[i];
    }
    csum += (double)conf[i];
    if (c->o->target != LSP_TARGET_NONE && c->lab[i] != c->y[i]) {
      tdenom++;
      thit += pred[i] == c->lab[i];
    }
  }
  uint8_t *row = c->out->robust + (size_t)(p - c->out->points) * LSP_ROBUST_BYTES(c->n);
  memset(row, 0, LSP_ROBUST_BYTES(c->n));
  for (size_t i = 0; i < c->n; i++) row[i / 8] |= (uint8_t)((correct[i] != 0) << (i % 8));
  p->correct = ncorrect;
  p->accuracy = p->accuracy_raw = (double)ncorrect / (double)c->n;
  p->success_rate = clean_ok ? (double)fooled / (double)clean_ok : NAN;
  p->mean_confidence = csum / (double)c->n;
  p->target_rate = c->o->target == LSP_TARGET_NONE || tdenom == 0
                       ? NAN
                       : (double)thit / (double)tdenom;
  for (int s = 0; s < LSP_AA_NSTAGES; s++) p->stage_accuracy[s] = NAN;
  p->queries_mean = p->queries_median = NAN;
  p->queries_total = 0.0;
}

uint64_t lsp_attack_stream(unsigned long seed, uint64_t stage, size_t example) {
  return lsp_mix64(lsp_mix64((uint64_t)seed * 0x9e3779b97f4a7c15ull +
                             stage * 0xd1b54a32d192ed03ull) +
                   (uint64_t)example * 0x8cb92ba72f3d8dd7ull);
}

int lsp_attack_envelope(lsp_attack_ctx *c, const double *eps, size_t neps,
                        const uint8_t *ok, lsp_attack_result *out) {
  const size_t n = c->n;
  uint8_t *env = malloc(n);
  size_t *order = malloc(neps * sizeof *order);
  if (!env || !order) {
    free(env);
    free(order);
    return lsp_fail(LSP_ENOMEM, "attack: out of memory");
  }
  /* ascending ε; equal ε in the given order (insertion sort: stable, and
   * neps is small) */
  for (size_t i = 0; i < neps; i++) order[i] = i;
  for (size_t a = 1; a < neps; a++)
    for (size_t b = a; b > 0 && eps[order[b - 1]] > eps[order[b]]; b--) {
      size_t t = order[b];
      order[b] = order[b - 1];
      order[b - 1] = t;
    }
  for (size_t i = 0; i < n; i++) env[i] = c->clean_pred[i] == c->y[i];
  for (size_t a = 0; a < neps; a++) {
    size_t pi = order[a];
    const uint8_t *oke = ok + pi * n;
    size_t correct = 0, clean_ok = 0, fooled = 0;
    for (size_t i = 0; i < n; i++) {
      env[i] &= oke[i];
      correct += env[i];
      if (c->clean_pred[i] == c->y[i]) {
        clean_ok++;
        fooled += !env[i];
      }
    }
    if (c->o->correct) memcpy(c->o->correct + pi * n, env, n);
    lsp_attack_point *p = &out->points[pi];
    p->correct = correct;
    p->accuracy = (double)correct / (double)n;
    p->success_rate = clean_ok ? (double)fooled / (double)clean_ok : NAN;
  }
  free(env);
  free(order);
  return LSP_OK;
}
