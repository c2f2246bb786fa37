/* lsp_pgd.c — BIM and PGD (L∞) with restarts.
 *
 * For each ε and restart, a batch of rows runs all S steps before the next
 * batch starts, so its activations stay in cache:
 *   x⁰ = x (BIM) or clip_box(x + ε·u), u uniform in [−1, 1) (PGD)
 *   xˢ⁺¹ = clip_box(xˢ + dir·α·sign(∇ₓL(xˢ)))
 * where clip_box clips to [max(lo, x − ε), min(hi, x + ε)] (both bounds
 * computed in float32) and α = ε/4 unless given. The random start of
 * example i in restart r comes from a GSL taus2 generator seeded from
 * (seed, r, i) alone, so every ε sees the same start directions, and the
 * numbers depend neither on the batch size nor on the thread count.
 *
 * An example is robust at ε only if the scoring model classifies the last
 * iterate of every restart correctly. The reported accuracy additionally
 * requires robustness at every smaller ε of the sweep and on x itself (a
 * valid adversarial input in a smaller ball is one in a larger ball), so it
 * cannot rise with ε; accuracy_raw is the per-ε number alone. */
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attacks/lsp_attack_int.h"
#include "core/lsp_error.h"


/* splitmix64 finalizer: decorrelates nearby (seed, restart, example). */
static unsigned long mix_seed(unsigned long seed, size_t r, size_t i) {
  uint64_t z = (uint64_t)seed * 0x9e3779b97f4a7c15ull + (uint64_t)r * 0xd1b54a32d192ed03ull +
               (uint64_t)i * 0x8cb92ba72f3d8dd7ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return (unsigned long)(z & 0xffffffffull) | 1ul;
}

/* One ε: S steps × R restarts over all rows; alive[i] = survived all. */
static int attack_eps(lsp_atk_ctx *c, double eps, gsl_rng *rng, float *blo,
                      float *bhi, uint8_t *alive, int32_t *pred, float *conf,
                      int32_t *bpred, float *bconf, size_t *zeros, float *keep) {
  const size_t n = c->n, dim = c->dim, S = c->o->steps, R = c->o->restarts;
  const float lo = c->o->lo, hi = c->o->hi, ef = (float)eps;
  const float af = (float)(c->o->step_size > 0.0 ? c->o->step_size : eps / 4.0) * (float)c->dir;
  const int pgd = c->o->kind == LSP_ATTACK_PGD;
  const char *stage = pgd ? "pgd" : "bim";
  memset(alive, 1, n);
  for (size_t r = 0; r < R; r++) {
    for (size_t i0 = 0; i0 < n; i0 += c->batch) {
      size_t nb = n - i0 < c->batch ? n - i0 : c->batch;
      const float *xs = c->x + i0 * dim;
      float *xb = c->xb;
      const size_t cnt = nb * dim;
      for (size_t j = 0; j < cnt; j++) {
        float a = xs[j] - ef, b = xs[j] + ef;
        blo[j] = a > lo ? a : lo;
        bhi[j] = b < hi ? b : hi;
      }
      if (pgd) {
        for (size_t i = 0; i < nb; i++) {
          gsl_rng_set(rng, mix_seed(c->o->seed, r, i0 + i));
          for (size_t j = i * dim; j < (i + 1) * dim; j++) {
            float u = (float)(2.0 * gsl_rng_uniform(rng) - 1.0);
            float v = xs[j] + ef * u;
            xb[j] = v < blo[j] ? blo[j] : v > bhi[j] ? bhi[j] : v;
          }
        }
      } else {
        memcpy(xb, xs, cnt * sizeof *xb);
      }
      for (size_t s = 0; s < S; s++) {
        int st = lsp_atk_grad_batch(c, xb, c->lab + i0, nb, zeros);
        if (st) return st;
        const float *g = c->gb;
        for (size_t j = 0; j < cnt; j++) xb[j] = lsp_atk_step(xb[j], g[j], af, blo[j], bhi[j]);
      }
      const float *z = NULL;
      int st = lsp_model_forward(c->dst, c->ws_dst, xb, nb, &z, NULL);
      if (st) return st;
      c->flops += c->fwd_dst * (double)nb;
      lsp_atk_score(z, nb, c->k, bpred, bconf);
      for (size_t i = 0; i < nb; i++) {
        size_t ii = i0 + i;
        if (!alive[ii]) continue; /* keep the first fooling restart's x' */
        pred[ii] = bpred[i];
        conf[ii] = bconf[i];
        if (keep) memcpy(keep + ii * dim, xb + i * dim, dim * sizeof *keep);
        if (bpred[i] != c->y[ii]) alive[ii] = 0;
      }
      if ((st = lsp_atk_tick(c, stage, eps, r + 1, nb * (S + 1)))) return st;
    }
  }
  return LSP_OK;
}

int lsp_pgd_sweep(lsp_atk_ctx *c, const double *eps, size_t neps,
                  lsp_attack_result *out) {
  const size_t n = c->n, dim = c->dim, S = c->o->steps, R = c->o->restarts;
  uint8_t *ok = malloc(neps * n), *env = malloc(n);
  int32_t *pred = malloc(n * sizeof *pred), *bpred = malloc(c->batch * sizeof *bpred);
  float *conf = malloc(n * sizeof *conf), *bconf = malloc(c->batch * sizeof *bconf);
  float *blo = malloc(c->batch * dim * sizeof *blo), *bhi = malloc(c->batch * dim * sizeof *bhi);
  size_t *order = malloc(neps * sizeof *order);
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_taus2);
  int st = LSP_OK;
  if (!ok || !env || !pred || !bpred || !conf || !bconf || !blo || !bhi || !order || !rng) {
    st = lsp_fail(LSP_ENOMEM, "%s: out of memory", lsp_attack_kind_name(c->o->kind));
    goto done;
  }
  size_t npos = 0;
  for (size_t e = 0; e < neps; e++) npos += eps[e] > 0.0;
  c->total = n + npos * R * n * (S + 1);
  if ((st = lsp_atk_clean_pass(c))) goto done;

  for (size_t e = 0; e < neps; e++) {
    lsp_attack_point *p = &out->points[e];
    uint8_t *oke = ok + e * n;
    p->eps = eps[e];
    float *keep = c->o->adv && c->o->adv_point == e ? c->o->adv : NULL;
    if (eps[e] == 0.0) { /* every iterate is x itself */
      if (keep) memcpy(keep, c->x, n * dim * sizeof *keep);
      for (size_t i = 0; i < n; i++) oke[i] = c->clean_pred[i] == c->y[i];
      memcpy(pred, c->clean_pred, n * sizeof *pred);
      memcpy(conf, c->clean_conf, n * sizeof *conf);
      p->zero_grad_share = NAN; /* no gradient evaluated */
    } else {
      size_t zeros = 0;
      st = attack_eps(c, eps[e], rng, blo, bhi, oke, pred, conf, bpred, bconf, &zeros,
                      keep);
      if (st) goto done;
      p->zero_grad_share = (double)zeros / ((double)R * (double)S * (double)n * (double)dim);
    }
    lsp_atk_summarize(c, oke, pred, conf, p);
  }

  /* the envelope over ε (ascending; equal ε in the given order) */
  for (size_t e = 0; e < neps; e++) order[e] = e;
  for (size_t a = 1; a < neps; a++) /* insertion sort: stable, neps is small */
    for (size_t b = a; b > 0 && eps[order[b - 1]] > eps[order[b]]; b--) {
      size_t t = order[b];
      order[b] = order[b - 1];
      order[b - 1] = t;
    }
  for (size_t i = 0; i < n; i++) env[i] = c->clean_pred[i] == c->y[i];
  for (size_t a = 0; a < neps; a++) {
    size_t e = order[a];
    const uint8_t *oke = ok + e * n;
    size_t correct = 0, clean_ok = 0, fooled = 0;
    for (size_t i = 0; i < n; i++) {
      env[i] &= oke[i];
      correct += env[i];
      if (c->clean_pred[i] == c->y[i]) {
        clean_ok++;
        fooled += !env[i];
      }
    }
    lsp_attack_point *p = &out->points[e];
    p->correct = correct;
    p->accuracy = (double)correct / (double)n;
    p->success_rate = clean_ok ? (double)fooled / (double)clean_ok : NAN;
  }
done:
  gsl_rng_free(rng);
  free(ok);
  free(env);
  free(pred);
  free(bpred);
  free(conf);
  free(bconf);
  free(blo);
  free(bhi);
  free(order);
  return st;
}
