/* lsp_square.c — the Square attack, L∞ (Andriushchenko et al. 2020): a
 * random search that needs only the model's scores.
 *
 * An input is C×H×W (channel-major rows). For every example still
 * correctly classified, in batches of rows with their own state:
 *   x̂ = clip(x + ε·σ), σ = ±1 drawn per channel and column (vertical
 *       stripes), one query;
 *   then at iteration i = 0, 1, ... while queries remain: a square of side
 *   s = max(1, round(sqrt(p_i·H·W))) (at most min(H, W)) at a uniformly
 *   drawn position, and per channel a sign ρ_c = ±1; the candidate is x̂
 *   with that square set to clip(x + ρ_c·ε) — the paper's x̂ + 2ε·ρ
 *   projected back onto the ε-ball. A candidate that would change no
 *   pixel (its square already holds exactly those values) takes the
 *   opposite signs instead, which always changes it (the authors'
 *   implementation resamples such a square).
 * The candidate replaces x̂ when its margin z_y − max_{j≠y} z_j is lower.
 * The example is broken at the first query the model misclassifies (argmax,
 * lowest index on ties), and then leaves the batch. p_i follows
 * lsp_square_p. Every draw comes from the counter-based stream of (seed,
 * stage, example): draw C·W + i·(C + 2) + m is the m-th of iteration i.
 * No gradients, so no zero-gradient statistics.
 *
 * On models that start with a dense layer the queries after the first run
 * through lsp_square_fast.c (an incremental first layer); an example then
 * counts as broken only when the model's own forward pass, run on that
 * candidate, misclassifies it, and the inputs kept for the survivors are
 * scored by it too.
 *
 * The batches of each restart are cut from the list of the examples alive
 * when it starts and shared among lsprobe's threads (lsp_attack_team.c),
 * each thread with its own rows' state: the same batches, each writing
 * only its own examples' outcomes, whatever the thread count. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attacks/lsp_attack_int.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "core/base/lsp_util.h"

double lsp_square_p(size_t it, double p_init) {
  static const size_t halve_after[] = {10,   50,   200,  500, 1000,
                                       2000, 4000, 6000, 8000};
  double p = p_init;
  for (size_t i = 0; i < sizeof halve_after / sizeof halve_after[0]; i++)
    if (it > halve_after[i]) p *= 0.5;
  return p;
}

size_t lsp_square_side(double p, size_t h, size_t w) {
  double s = round(sqrt(p * (double)h * (double)w));
  size_t side = s < 1.0 ? 1 : (size_t)s;
  size_t cap = h < w ? h : w;
  return side < cap ? side : cap;
}

typedef struct {
  size_t *idx, *r0, *c0;
  int32_t *pred_best, *bpred;
  float *conf_best, *bconf;
  double *mbest;
  uint64_t *key;
  uint8_t *drop;
  float *save;      /* B×dim: the pixels under each row's square */
  size_t *sus;      /* B: rows the fast path calls misclassified */
  double *m;        /* B: the margins of the latest queries        */
  lsp_sqfast *fast; /* owned, or NULL: queries through the model */
} square_ws;

static void ws_free(square_ws *w) {
  free(w->idx);
  free(w->r0);
  free(w->c0);
  free(w->pred_best);
  free(w->bpred);
  free(w->conf_best);
  free(w->bconf);
  free(w->mbest);
  free(w->key);
  free(w->drop);
  free(w->save);
  free(w->sus);
  free(w->m);
  lsp_sqfast_free(w->fast);
}

static int ws_alloc(square_ws *w, size_t b, size_t dim) {
  memset(w, 0, sizeof *w);
  w->idx = malloc(b * sizeof *w->idx);
  w->r0 = malloc(b * sizeof *w->r0);
  w->c0 = malloc(b * sizeof *w->c0);
  w->pred_best = malloc(b * sizeof *w->pred_best);
  w->bpred = malloc(b * sizeof *w->bpred);
  w->conf_best = malloc(b * sizeof *w->conf_best);
  w->bconf = malloc(b * sizeof *w->bconf);
  w->mbest = malloc(b * sizeof *w->mbest);
  w->key = malloc(b * sizeof *w->key);
  w->drop = malloc(b);
  w->save = malloc(b * dim * sizeof *w->save);
  w->sus = malloc(b * sizeof *w->sus);
  w->m = malloc(b * sizeof *w->m);
  if (!w->idx || !w->r0 || !w->c0 || !w->pred_best || !w->bpred ||
      !w->conf_best || !w->bconf || !w->mbest || !w->key || !w->drop ||
      !w->save || !w->sus || !w->m) {
    ws_free(w);
    memset(w, 0, sizeof *w);
    return lsp_fail(LSP_ENOMEM, "square: out of memory for %zu rows", b);
  }
  return LSP_OK;
}

/* z_y − max_{j≠y} z_j in double. */
static double margin(const float *z, size_t k, size_t y) {
  size_t o = lsp_argmax_f32_except(z, k, y);
  return (double)z[y] - (double)z[o];
}

/* Predictions, confidences and margins of na rows of logits z (refused
 * when not finite, by lsp_attack_score). */
static int score(const lsp_attack_ctx *c, square_ws *w, const float *z,
                 size_t na, double *m) {
  int st = lsp_attack_score(z, na, c->k, w->bpred, w->bconf);
  if (st) return st;
  for (size_t a = 0; a < na; a++)
    m[a] = margin(z + a * c->k, c->k, (size_t)c->y[w->idx[a]]);
  return LSP_OK;
}

/* Forward the na rows of xb through the model and score them. */
static int query(lsp_attack_ctx *c, square_ws *w, const float *xb, size_t na,
                 double *m) {
  const float *z = NULL;
  int s = lsp_attack_forward_src(c, xb, na, &z);
  return s ? s : score(c, w, z, na, m);
}

/* The fast path's candidates of na rows: scored from its logits, and the
 * rows it calls misclassified run through the model, whose verdict (and
 * confidence) replaces the fast one. */
static int query_fast(lsp_attack_ctx *c, square_ws *w, const float *xb,
                      size_t na, double *m) {
  const float *z = NULL;
  int s = lsp_sqfast_logits(w->fast, na, &z);
  if (s || (s = score(c, w, z, na, m))) return s;
  size_t ns = 0;
  for (size_t a = 0; a < na; a++)
    if (w->bpred[a] != c->y[w->idx[a]]) w->sus[ns++] = a;
  if (ns == 0) return LSP_OK;
  float *xs = c->gb; /* batch×dim scratch: Square computes no gradients */
  for (size_t i = 0; i < ns; i++)
    memcpy(xs + i * c->dim, xb + w->sus[i] * c->dim, c->dim * sizeof *xs);
  if ((s = lsp_attack_forward_src(c, xs, ns, &z))) return s;
  int32_t pred;
  float conf;
  for (size_t i = 0; i < ns; i++) {
    if ((s = lsp_attack_score(z + i * c->k, 1, c->k, &pred, &conf))) return s;
    w->bpred[w->sus[i]] = pred;
    w->bconf[w->sus[i]] = conf;
  }
  return LSP_OK;
}

static void record_fooled(const lsp_attack_ctx *c, square_ws *w,
                          const float *xb, size_t a, lsp_aa_state *st) {
  size_t ii = w->idx[a];
  st->alive[ii] = 0;
  st->by_square[ii] = 1;
  st->pred[ii] = w->bpred[a];
  st->conf[ii] = w->bconf[a];
  if (st->keep)
    memcpy(st->keep + ii * c->dim, xb + a * c->dim, c->dim * sizeof *xb);
  w->drop[a] = 1;
}

static size_t compact(square_ws *w, float *xb, size_t dim, size_t na) {
  size_t k = 0;
  for (size_t a = 0; a < na; a++) {
    if (w->drop[a]) continue;
    if (k != a) {
      memcpy(xb + k * dim, xb + a * dim, dim * sizeof *xb);
      w->idx[k] = w->idx[a];
      w->pred_best[k] = w->pred_best[a];
      w->conf_best[k] = w->conf_best[a];
      w->mbest[k] = w->mbest[a];
      w->key[k] = w->key[a];
      if (w->fast) lsp_sqfast_move(w->fast, a, k);
    }
    k++;
  }
  return k;
}

/* Set row a's square (side s at r0, c0) to clip(x + ρ_ch·ε) for signs drawn
 * from its stream (negated if flip); the old pixels go to save (flip: they
 * are there already). Returns how many pixels changed. */
static size_t place(const lsp_attack_ctx *c, square_ws *w, float *xr,
                    const float *xs, size_t a, size_t s, float ef, int flip,
                    uint64_t base) {
  const size_t C = c->shape[0], H = c->shape[1], W = c->shape[2];
  const float lo = c->o->lo, hi = c->o->hi;
  float *sv = w->save + a * c->dim;
  size_t changed = 0;
  if (w->fast) lsp_sqfast_begin(w->fast, a);
  for (size_t ch = 0; ch < C; ch++) {
    float e = lsp_attack_unif(w->key[a], base + 2 + ch) < 0.5 ? -ef : ef;
    if (flip) e = -e;
    for (size_t r = 0; r < s; r++) {
      size_t off = ch * H * W + (w->r0[a] + r) * W + w->c0[a];
      for (size_t q = 0; q < s; q++) {
        float old = flip ? sv[(ch * s + r) * s + q] : xr[off + q];
        float v = xs[off + q] + e;
        v = v < lo ? lo : v > hi ? hi : v;
        if (!flip) sv[(ch * s + r) * s + q] = old;
        if (v != old) {
          changed++;
          if (w->fast)
            lsp_sqfast_add(w->fast, a, off + q, (double)v - (double)old);
        }
        xr[off + q] = v;
      }
    }
  }
  return changed;
}

static void restore(const lsp_attack_ctx *c, square_ws *w, float *xr, size_t a,
                    size_t s) {
  const size_t C = c->shape[0], H = c->shape[1], W = c->shape[2];
  const float *sv = w->save + a * c->dim;
  for (size_t ch = 0; ch < C; ch++)
    for (size_t r = 0; r < s; r++)
      memcpy(xr + ch * H * W + (w->r0[a] + r) * W + w->c0[a],
             sv + (ch * s + r) * s, s * sizeof *xr);
}

/* One Square run over a batch of na rows whose idx/key are set. */
static int run_batch(lsp_attack_ctx *c, square_ws *w, size_t na, double eps,
                     double *m, lsp_aa_state *st) {
  const size_t dim = c->dim, C = c->shape[0], H = c->shape[1], W = c->shape[2],
               Q = c->o->queries;
  const float lo = c->o->lo, hi = c->o->hi, ef = (float)eps;
  float *xb = c->xb;
  for (size_t a = 0; a < na; a++) { /* vertical stripes */
    const float *xs = c->x + w->idx[a] * dim;
    float *xr = xb + a * dim;
    for (size_t ch = 0; ch < C; ch++)
      for (size_t col = 0; col < W; col++) {
        float e = lsp_attack_unif(w->key[a], ch * W + col) < 0.5 ? -ef : ef;
        for (size_t r = 0; r < H; r++) {
          size_t j = ch * H * W + r * W + col;
          float v = xs[j] + e;
          xr[j] = v < lo ? lo : v > hi ? hi : v;
        }
      }
    w->drop[a] = 0;
  }
  int s = query(c, w, xb, na, m);
  if (s) return s;
  for (size_t a = 0; a < na; a++) {
    st->queries[w->idx[a]]++;
    if (w->bpred[a] != c->y[w->idx[a]]) {
      record_fooled(c, w, xb, a, st);
      continue;
    }
    w->mbest[a] = m[a];
    w->pred_best[a] = w->bpred[a];
    w->conf_best[a] = w->bconf[a];
  }
  na = compact(w, xb, dim, na);
  if (w->fast && na > 0 && (s = lsp_sqfast_init(w->fast, xb, na))) return s;
  for (size_t it = 0; it + 1 < Q && na > 0; it++) {
    const size_t side = lsp_square_side(lsp_square_p(it, c->o->p_init), H, W);
    const uint64_t base = (uint64_t)C * W + (uint64_t)it * (C + 2);
    for (size_t a = 0; a < na; a++) {
      const float *xs = c->x + w->idx[a] * dim;
      float *xr = xb + a * dim;
      w->r0[a] =
          (size_t)(lsp_attack_unif(w->key[a], base) * (double)(H - side + 1));
      w->c0[a] = (size_t)(lsp_attack_unif(w->key[a], base + 1) *
                          (double)(W - side + 1));
      size_t ch = place(c, w, xr, xs, a, side, ef, 0, base);
      if (ch == 0 && c->o->square_resample)
        ch = place(c, w, xr, xs, a, side, ef, 1, base);
      if (w->fast) c->flops += lsp_sqfast_flops(w->fast, ch);
      w->drop[a] = 0;
    }
    s = w->fast ? query_fast(c, w, xb, na, m) : query(c, w, xb, na, m);
    if (s) return s;
    for (size_t a = 0; a < na; a++) {
      st->queries[w->idx[a]]++;
      if (w->bpred[a] != c->y[w->idx[a]]) {
        record_fooled(c, w, xb, a, st);
      } else if (m[a] < w->mbest[a]) {
        w->mbest[a] = m[a];
        w->pred_best[a] = w->bpred[a];
        w->conf_best[a] = w->bconf[a];
        if (w->fast) lsp_sqfast_accept(w->fast, a);
      } else {
        restore(c, w, xb + a * dim, a, side);
      }
    }
    na = compact(w, xb, dim, na);
    if (lsp_interrupted()) return lsp_fail(LSP_EINTR, "interrupted");
  }
  if (w->fast && na > 0) { /* the model scores the survivors' best x̂ */
    const float *z = NULL;
    if ((s = lsp_attack_forward_src(c, xb, na, &z))) return s;
    if ((s = lsp_attack_score(z, na, c->k, w->bpred, w->bconf))) return s;
    for (size_t a = 0; a < na; a++) {
      w->drop[a] = 0;
      if (w->bpred[a] != c->y[w->idx[a]]) { /* a near-tie the paths split */
        record_fooled(c, w, xb, a, st);
      } else {
        w->pred_best[a] = w->bpred[a];
        w->conf_best[a] = w->bconf[a];
      }
    }
    na = compact(w, xb, dim, na);
  }
  for (size_t a = 0; a < na; a++) { /* survivors keep their best x̂ */
    size_t ii = w->idx[a];
    st->pred[ii] = w->pred_best[a];
    st->conf[ii] = w->conf_best[a];
    if (st->keep) memcpy(st->keep + ii * dim, xb + a * dim, dim * sizeof *xb);
  }
  return LSP_OK;
}

/* One restart: the alive examples (rows) in batches of B. */
typedef struct {
  square_ws *ws; /* one per thread */
  size_t *rows, nrows;
  double eps;
  uint64_t key; /* (stage << 32) | restart */
  lsp_aa_state *st;
} square_job;

static int square_batch(lsp_attack_ctx *c, int t, size_t b, void *arg,
                        size_t *passes) {
  square_job *j = arg;
  square_ws *w = &j->ws[t];
  const size_t i0 = b * c->batch;
  const size_t na = j->nrows - i0 < c->batch ? j->nrows - i0 : c->batch;
  for (size_t a = 0; a < na; a++) {
    w->idx[a] = j->rows[i0 + a];
    w->key[a] = lsp_attack_stream(c->o->seed, j->key, w->idx[a]);
  }
  *passes = na * c->o->queries;
  return run_batch(c, w, na, j->eps, w->m, j->st);
}

int lsp_square_run(lsp_attack_ctx *c, double eps, uint64_t stage,
                   lsp_aa_state *st) {
  const size_t n = c->n, B = c->batch, R = c->o->restarts;
  square_job j = {.eps = eps, .st = st};
  lsp_attack_team *team = NULL;
  int nt = 0, s = LSP_OK;
  size_t nalive = 0;
  for (size_t i = 0; i < n; i++) nalive += st->alive[i];
  if (nalive == 0) return LSP_OK;
  if (!(j.rows = malloc(nalive * sizeof *j.rows))) {
    s = lsp_fail(LSP_ENOMEM, "square: out of memory for %zu examples", n);
    goto done;
  }
  if ((s = lsp_attack_team_alloc(c, (nalive + B - 1) / B, &team))) goto done;
  nt = lsp_attack_team_size(team);
  if (!(j.ws = calloc((size_t)nt, sizeof *j.ws))) {
    s = lsp_fail(LSP_ENOMEM, "square: out of memory for %d threads", nt);
    goto done;
  }
  for (int t = 0; t < nt && s == LSP_OK; t++)
    if ((s = ws_alloc(&j.ws[t], B, c->dim)) == LSP_OK)
      s = lsp_sqfast_alloc(c->src, c->dim, B, &j.ws[t].fast);
  for (size_t r = 0; r < R && s == LSP_OK; r++) {
    j.key = (stage << 32) | r;
    j.nrows = 0;
    for (size_t i = 0; i < n; i++)
      if (st->alive[i]) j.rows[j.nrows++] = i;
    s = lsp_attack_team_run(team, (j.nrows + B - 1) / B, square_batch, &j,
                            "square", eps, r + 1);
  }
done:
  for (int t = 0; t < nt && j.ws; t++)
    if (j.ws[t].idx) ws_free(&j.ws[t]);
  free(j.ws);
  lsp_attack_team_free(team);
  free(j.rows);
  return s;
}
