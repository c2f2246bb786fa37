/* lsp_run_dist.c — the run's grid of cells across processes (lsp_run.h's
 * lsp_run_dist, DESIGN §10): the job handed to the scheduler, a cell's
 * result as one blob, and the root's rebuilding of the models from those
 * blobs, so the rest of the run (comparisons, report) is the single
 * process's.
 *
 * What a worker sends for cell i (the blob): its lsp_cell_result (the
 * study's numbers, lsp_cell_pack.c) and what the report needs beyond it
 * that costs real work — the calibration intervals (bootstrap and test
 * inversion, before and after temperature scaling), the attacks' per-ε
 * results and per-example outcomes — with the cache flag and note and the
 * phase times. The root loads the model the worker trained from the shared
 * cache and repeats the cheap part of the cell: the test pass, the point
 * calibration metrics, clusters and logit gap (deterministic: the same
 * numbers in any process, lsp_cell.h); the masking checklist is recomputed
 * from the attacks.
 *
 * Blob format: "LSPRUNC1"; then little-endian 64-bit words: the length of
 * the packed cell result, its bytes (padded with zeros to a multiple of 8),
 * cached, the length of the cache note and its bytes (padded), the seconds
 * of training, analysis, attacks and AutoAttack, has_transfer, has_aa,
 * n_attack, n_aa, the number of attack ε; the intervals of the calibration
 * before and after temperature scaling, each: has_ci, resamples, seed, the
 * interval kind (plus 256 when σ* took smece's interval), per metric
 * ci_lo, ci_hi, pct_lo, pct_hi, then 1 and the
 * SmoothECE band's 101 (lo, hi) pairs or 0; then the attack results FGSM,
 * PGD, transfer (when has_transfer), AutoAttack (when has_aa), each as
 * kind, loss, smoothing convention, normalize, target, transfer, steps,
 * restarts, targets, queries, shape[3], early_exit, seed, n, dim, k,
 * clean_correct, npoints, smoothing ε, p_init, step_size, lo, hi,
 * clean_accuracy, clean_target_rate, seconds, flops, then per point eps,
 * accuracy, accuracy_raw, success_rate, mean_confidence, zero_grad_share,
 * target_rate, stage_accuracy[3], queries_mean, queries_median,
 * queries_total, correct, then 1 and the result's robust bits (npoints ×
 * ⌈n/8⌉ bytes, padded) or 0; then the per-example outcomes (one byte each,
 * n_attack × ε for FGSM, PGD and transfer when has_transfer, n_aa × ε for
 * AutoAttack when has_aa, each padded); then the FNV-1a 64-bit hash of
 * every byte before it. Doubles travel as their bits (a float as a
 * double), so every number arrives exactly. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_bytes.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_threads.h"
#include "analysis/lsp_smece.h"
#include "core/base/lsp_util.h"
#include "core/data/lsp_data.h"
#include "reports/lsp_cell_int.h"

static const char magic[8] = {'L', 'S', 'P', 'R', 'U', 'N', 'C', '1'};

/* ---- bytes ----------------------------------------------------------------- */

/* Every field of the blob fills whole 64-bit words: a byte string is padded
 * with zeros to a multiple of 8 (lsp_bytes.h does the rest). */
static void put_padded(lsp_wbuf *w, const void *src, size_t n) {
  static const unsigned char zeros[8];
  if (n) lsp_put_bytes(w, src, n);
  lsp_put_bytes(w, zeros, (8 - n % 8) % 8);
}

/* The n bytes of a padded string (NULL, and short_read set, when the
 * string or its padding runs past the end). */
static const uint8_t *get_padded(lsp_rbuf *r, size_t n) {
  const uint8_t *q = lsp_take(r, n);
  lsp_take(r, (8 - n % 8) % 8);
  return r->short_read ? NULL : q;
}

static void put_attack(lsp_wbuf *w, const lsp_attack_result *a) {
  const uint64_t u[] = {(uint64_t)a->kind,    (uint64_t)a->loss,     (uint64_t)a->smoothing.convention,
                        (uint64_t)a->smoothing.normalize,           (uint64_t)(int64_t)a->target,
                        (uint64_t)a->transfer, a->steps,              a->restarts,
                        a->targets,            a->queries,            a->shape[0],
                        a->shape[1],           a->shape[2],           (uint64_t)a->early_exit,
                        a->seed,               a->n,                  a->dim,
                        a->k,                  a->clean_correct,      a->npoints};
  for (size_t i = 0; i < sizeof u / sizeof u[0]; i++) lsp_put_u64(w, u[i]);
  const double d[] = {a->smoothing.eps, a->p_init,         a->step_size,         a->lo,
                      a->hi,            a->clean_accuracy, a->clean_target_rate, a->seconds,
                      a->flops};
  for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) lsp_put_f64(w, d[i]);
  for (size_t e = 0; e < a->npoints; e++) {
    const lsp_attack_point *q = &a->points[e];
    const double v[] = {q->eps,          q->accuracy,          q->accuracy_raw,      q->success_rate,
                        q->mean_confidence, q->zero_grad_share, q->target_rate,     q->stage_accuracy[0],
                        q->stage_accuracy[1], q->stage_accuracy[2], q->queries_mean, q->queries_median,
                        q->queries_total};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) lsp_put_f64(w, v[i]);
    lsp_put_u64(w, q->correct);
  }
  lsp_put_u64(w, a->robust != NULL);
  if (a->robust) put_padded(w, a->robust, a->npoints * LSP_ROBUST_BYTES(a->n));
}

static uint8_t *get_outcomes(lsp_rbuf *r, size_t n);

static int get_attack(lsp_rbuf *r, size_t max_points, lsp_attack_result *a) {
  memset(a, 0, sizeof *a);
  uint64_t u[20];
  for (size_t i = 0; i < 20; i++) u[i] = lsp_get_u64(r);
  a->kind = (lsp_attack_kind)u[0];
  a->loss = (lsp_attack_loss)u[1];
  a->smoothing.convention = (lsp_ls_convention)u[2];
  a->smoothing.normalize = (int)u[3];
  a->target = (int)(int64_t)u[4];
  a->transfer = (int)u[5];
  a->steps = u[6];
  a->restarts = u[7];
  a->targets = u[8];
  a->queries = u[9];
  a->shape[0] = u[10];
  a->shape[1] = u[11];
  a->shape[2] = u[12];
  a->early_exit = (int)u[13];
  a->seed = (unsigned long)u[14];
  a->n = u[15];
  a->dim = u[16];
  a->k = u[17];
  a->clean_correct = u[18];
  size_t np = u[19];
  double d[9];
  for (size_t i = 0; i < 9; i++) d[i] = lsp_get_f64(r);
  a->smoothing.eps = d[0];
  a->p_init = d[1];
  a->step_size = d[2];
  a->lo = (float)d[3];
  a->hi = (float)d[4];
  a->clean_accuracy = d[5];
  a->clean_target_rate = d[6];
  a->seconds = d[7];
  a->flops = d[8];
  if (r->short_read || np > max_points) return LSP_EDATA;
  a->points = calloc(np ? np : 1, sizeof *a->points);
  if (!a->points) return lsp_fail(LSP_ENOMEM, "out of memory");
  a->npoints = np;
  for (size_t e = 0; e < np; e++) {
    lsp_attack_point *q = &a->points[e];
    double v[13];
    for (size_t i = 0; i < 13; i++) v[i] = lsp_get_f64(r);
    q->eps = v[0];
    q->accuracy = v[1];
    q->accuracy_raw = v[2];
    q->success_rate = v[3];
    q->mean_confidence = v[4];
    q->zero_grad_share = v[5];
    q->target_rate = v[6];
    q->stage_accuracy[0] = v[7];
    q->stage_accuracy[1] = v[8];
    q->stage_accuracy[2] = v[9];
    q->queries_mean = v[10];
    q->queries_median = v[11];
    q->queries_total = v[12];
    q->correct = lsp_get_u64(r);
  }
  if (lsp_get_u64(r) && !r->short_read &&
      !(a->robust = get_outcomes(r, np * LSP_ROBUST_BYTES(a->n))))
    return r->short_read ? LSP_EDATA : lsp_fail(LSP_ENOMEM, "out of memory");
  return r->short_read ? LSP_EDATA : LSP_OK;
}

/* What lsp_calib_bootstrap adds to a calibration result: the intervals
 * (test-inversion and percentile), their kind, count and seed, and the
 * SmoothECE curve's band. */
static void put_intervals(lsp_wbuf *w, const lsp_calib_result *c) {
  lsp_put_u64(w, (uint64_t)c->has_ci);
  lsp_put_u64(w, (uint64_t)c->resamples);
  lsp_put_u64(w, c->seed);
  lsp_put_u64(w, (uint64_t)c->ci + 256u * (c->sigma_inverted != 0));
  for (int m = 0; m < LSP_CALIB_NMETRIC; m++) {
    lsp_put_f64(w, c->ci_lo[m]);
    lsp_put_f64(w, c->ci_hi[m]);
    lsp_put_f64(w, c->pct_lo[m]);
    lsp_put_f64(w, c->pct_hi[m]);
  }
  lsp_put_u64(w, c->smooth_lo && c->smooth_hi);
  for (int q = 0; c->smooth_lo && c->smooth_hi && q < LSP_SMECE_CURVE_PTS; q++) {
    lsp_put_f64(w, c->smooth_lo[q]);
    lsp_put_f64(w, c->smooth_hi[q]);
  }
}

static int get_intervals(lsp_rbuf *r, lsp_calib_result *c) {
  c->has_ci = (int)lsp_get_u64(r);
  c->resamples = (int)lsp_get_u64(r);
  c->seed = lsp_get_u64(r);
  const uint64_t kind = lsp_get_u64(r);
  c->ci = (lsp_calib_ci)(kind % 256u);
  c->sigma_inverted = kind >= 256u;
  for (int m = 0; m < LSP_CALIB_NMETRIC; m++) {
    c->ci_lo[m] = lsp_get_f64(r);
    c->ci_hi[m] = lsp_get_f64(r);
    c->pct_lo[m] = lsp_get_f64(r);
    c->pct_hi[m] = lsp_get_f64(r);
  }
  int band = (int)lsp_get_u64(r);
  /* the curve exists on both sides or on neither (the same scoring) */
  if (r->short_read || band != (c->smooth_lo && c->smooth_hi)) return LSP_EDATA;
  for (int q = 0; band && q < LSP_SMECE_CURVE_PTS; q++) {
    c->smooth_lo[q] = lsp_get_f64(r);
    c->smooth_hi[q] = lsp_get_f64(r);
  }
  return r->short_read ? LSP_EDATA : LSP_OK;
}

/* Every field of the blob of a finished cell but its checksum, into w (rm:
 * the full record lsp_cell_run filled; cell: its packed lsp_cell_result). */
static void blob_put(lsp_wbuf *w, const uint8_t *cell, size_t cell_len, const lsp_run_model *rm,
                     size_t n_attack, size_t n_aa, size_t ne) {
  put_padded(w, magic, sizeof magic);
  lsp_put_u64(w, cell_len);
  put_padded(w, cell, cell_len);
  size_t nl = strnlen(rm->cache_note, sizeof rm->cache_note);
  lsp_put_u64(w, (uint64_t)rm->cached);
  lsp_put_u64(w, nl);
  put_padded(w, rm->cache_note, nl);
  lsp_put_f64(w, rm->train_seconds);
  lsp_put_f64(w, rm->seconds_analysis);
  lsp_put_f64(w, rm->seconds_attacks);
  lsp_put_f64(w, rm->seconds_aa);
  lsp_put_u64(w, (uint64_t)rm->has_transfer);
  lsp_put_u64(w, (uint64_t)rm->has_aa);
  lsp_put_u64(w, n_attack);
  lsp_put_u64(w, rm->has_aa ? n_aa : 0);
  lsp_put_u64(w, ne);
  put_intervals(w, &rm->cal);
  put_intervals(w, &rm->cal_t);
  put_attack(w, &rm->fgsm);
  put_attack(w, &rm->pgd);
  if (rm->has_transfer) put_attack(w, &rm->transfer);
  if (rm->has_aa) put_attack(w, &rm->aa);
  put_padded(w, rm->fgsm_correct, n_attack * ne);
  put_padded(w, rm->pgd_correct, n_attack * ne);
  if (rm->has_transfer) put_padded(w, rm->transfer_correct, n_attack * ne);
  if (rm->has_aa) put_padded(w, rm->aa_correct, n_aa * ne);
}

/* The blob of a finished cell: measured, allocated once, written. */
static int blob_pack(const lsp_cell_result *res, const lsp_run_model *rm, size_t n_attack,
                     size_t n_aa, size_t ne, void **blob, size_t *len) {
  uint8_t *cell = NULL;
  size_t cell_len = 0;
  int st = lsp_cell_result_pack(res, &cell, &cell_len);
  if (st) return st;
  lsp_wbuf w = {NULL, 0};
  blob_put(&w, cell, cell_len, rm, n_attack, n_aa, ne);
  size_t n = w.len + 8;
  w.p = malloc(n);
  w.len = 0;
  if (w.p) {
    blob_put(&w, cell, cell_len, rm, n_attack, n_aa, ne);
    lsp_put_u64(&w, lsp_fnv1a(LSP_CELL_FNV_BASIS, w.p, w.len));
  }
  free(cell);
  if (!w.p) return lsp_fail(LSP_ENOMEM, "out of memory for a cell's result");
  *blob = w.p;
  *len = w.len;
  return LSP_OK;
}

static uint8_t *get_outcomes(lsp_rbuf *r, size_t n) {
  const uint8_t *src = get_padded(r, n);
  uint8_t *dst = src ? malloc(n ? n : 1) : NULL;
  if (dst && n) memcpy(dst, src, n);
  return dst;
}

/* Unpack cell i's blob into res and the attack part of rm; the context's
 * sizes must match the sender's. */
static int blob_unpack(const lsp_cell_ctx *c, const uint8_t *p, size_t len, lsp_cell_result *res,
                       lsp_run_model *rm) {
  const size_t ne = c->opts.n_attack_eps;
  lsp_rbuf tail = {p, len, len >= 8 ? len - 8 : 0, 0};
  if (len < sizeof magic + 16 || len % 8 || memcmp(p, magic, sizeof magic) != 0 ||
      lsp_fnv1a(LSP_CELL_FNV_BASIS, p, len - 8) != lsp_get_u64(&tail))
    return lsp_fail(LSP_EDATA, "a cell's result is damaged (bad magic, length or checksum)");
  lsp_rbuf r = {p, len - 8, sizeof magic, 0};
  size_t cell_len = lsp_get_u64(&r);
  const uint8_t *cell = get_padded(&r, cell_len);
  int st = cell ? lsp_cell_result_unpack(cell, cell_len, res) : LSP_EDATA;
  if (st) return st == LSP_EDATA && !cell ? lsp_fail(st, "a cell's result is truncated") : st;
  rm->cached = (int)lsp_get_u64(&r);
  size_t nl = lsp_get_u64(&r);
  const uint8_t *note = get_padded(&r, nl);
  if (note) {
    size_t m = nl < sizeof rm->cache_note - 1 ? nl : sizeof rm->cache_note - 1;
    memcpy(rm->cache_note, note, m);
    rm->cache_note[m] = '\0';
  }
  rm->train_seconds = lsp_get_f64(&r);
  rm->seconds_analysis = lsp_get_f64(&r);
  rm->seconds_attacks = lsp_get_f64(&r);
  rm->seconds_aa = lsp_get_f64(&r);
  rm->has_transfer = (int)lsp_get_u64(&r);
  rm->has_aa = (int)lsp_get_u64(&r);
  size_t n_attack = lsp_get_u64(&r), n_aa = lsp_get_u64(&r), ne_sent = lsp_get_u64(&r);
  if (r.short_read || n_attack != c->n_attack || ne_sent != ne || (rm->has_aa && n_aa != c->n_aa))
    return lsp_fail(LSP_EDATA, "a cell's result does not fit this run (attack sizes differ)");
  if (get_intervals(&r, &rm->cal) || get_intervals(&r, &rm->cal_t))
    return lsp_fail(LSP_EDATA, "a cell's calibration intervals are damaged");
  if ((st = get_attack(&r, ne, &rm->fgsm)) || (st = get_attack(&r, ne, &rm->pgd)) ||
      (rm->has_transfer && (st = get_attack(&r, ne, &rm->transfer))) ||
      (rm->has_aa && (st = get_attack(&r, ne, &rm->aa))))
    return st == LSP_EDATA ? lsp_fail(st, "a cell's attack results are damaged") : st;
  rm->fgsm_correct = get_outcomes(&r, n_attack * ne);
  rm->pgd_correct = get_outcomes(&r, n_attack * ne);
  const size_t nout = n_attack * ne;
  rm->transfer_correct = rm->has_transfer ? get_outcomes(&r, nout) : calloc(nout ? nout : 1, 1);
  if (rm->has_aa) rm->aa_correct = get_outcomes(&r, n_aa * ne);
  if (r.short_read || r.pos != r.len)
    return lsp_fail(LSP_EDATA, "a cell's per-example outcomes are damaged");
  if (!rm->fgsm_correct || !rm->pgd_correct || !rm->transfer_correct ||
      (rm->has_aa && !rm->aa_correct))
    return lsp_fail(LSP_ENOMEM, "out of memory");
  /* the masking checklist, as lsp_cell_attack and lsp_cell_autoattack make it */
  return lsp_cell_checklist(rm);
}

/* ---- the job ------------------------------------------------------------------ */

typedef struct {
  const lsp_cell_ctx *c;
  const lsp_cell_key *keys;
  size_t n;
  lsp_run_log_fn log;
  void *user;
} grid;

static size_t key_index(const grid *g, const lsp_cell_key *k) {
  for (size_t i = 0; i < g->n; i++)
    if (g->keys[i].eps == k->eps && g->keys[i].seed == k->seed) return i;
  return SIZE_MAX;
}

static int g_depends(void *ctx, size_t i, size_t *dep) {
  const grid *g = ctx;
  lsp_cell_key dk;
  if (!lsp_cell_depends(g->c, &g->keys[i], &dk)) return 0;
  *dep = key_index(g, &dk);
  return *dep != SIZE_MAX;
}

/* A cell's own work in forward passes of one example: training (forward
 * and backward ~ 3 passes per example and epoch), the test and validation
 * passes, FGSM, PGD and (smoothed cells) transfer at every attack ε
 * (forward and backward per step), and AutoAttack on the cells that run
 * it (lsp_cell_runs_aa): an eighth of its worst case (every example
 * surviving every stage: 2(S+1) + 2T(S+1) + Q passes per attack ε > 0),
 * about what the default study's models cost. Whether the model is cached
 * is not looked at. */
static double own_cost(const grid *g, size_t i) {
  const lsp_cell_ctx *c = g->c;
  const lsp_run_opts *o = &c->opts;
  size_t d;
  double sr = (double)(o->pgd_steps * o->pgd_restarts);
  double att = 1.0 + sr + (g_depends((void *)g, i, &d) ? sr : 0.0);
  double aa = 0.0;
  if (lsp_cell_runs_aa(c, &g->keys[i])) {
    const double S1 = (double)o->aa_steps + 1.0, T = 9.0; /* APGD-T's targets */
    for (size_t e = 0; e < o->n_attack_eps; e++)
      if (o->attack_eps[e] > 0) aa += 2.0 * S1 * (1.0 + T) + (double)o->aa_queries;
    aa *= (double)c->n_aa / 8.0;
  }
  return 3.0 * (double)o->epochs * (double)c->data->train.n +
         (double)(c->data->test.n + c->data->val.n) +
         3.0 * (double)c->n_attack * (double)o->n_attack_eps * att + aa;
}

/* Longest path first: a prerequisite also carries its costliest dependent,
 * so the ε = 0 cells, which the others wait for, go out first. */
static double g_cost(void *ctx, size_t i) {
  const grid *g = ctx;
  double best = 0.0;
  for (size_t j = 0; j < g->n; j++) {
    size_t d;
    if (j != i && g_depends(ctx, j, &d) && d == i) {
      double cj = own_cost(g, j);
      if (cj > best) best = cj;
    }
  }
  return own_cost(g, i) + best;
}

static void g_name(void *ctx, size_t i, char *buf, size_t len) {
  const grid *g = ctx;
  snprintf(buf, len, "eps %g, seed %lu", g->keys[i].eps, g->keys[i].seed);
}

static void g_log(void *ctx, const char *line) {
  const grid *g = ctx;
  if (g->log) g->log(0, line, g->user);
}

static int g_run(void *ctx, size_t i, void **blob, size_t *len) {
  const grid *g = ctx;
  lsp_run_model rm;
  lsp_cell_result res;
  *blob = NULL;
  *len = 0;
  int st = lsp_cell_run(g->c, &g->keys[i], &res, &rm, g->log, g->user);
  if (!st) st = blob_pack(&res, &rm, g->c->n_attack, g->c->n_aa, g->c->opts.n_attack_eps, blob, len);
  lsp_cell_result_release(&res);
  lsp_run_model_release(&rm);
  return st;
}

/* The root: cell i's model from the cache, its analyses, and the rest from
 * the blob. */
static int rebuild(const lsp_cell_ctx *c, const lsp_cell_key *k, const uint8_t *blob, size_t len,
                   lsp_cell_result *res, lsp_run_model *rm) {
  memset(rm, 0, sizeof *rm);
  lsp_cell_set_labels(c, rm, k);
  int st = lsp_cell_get_model(c, rm, 2, NULL);
  /* the analyses on one thread, as the single process runs its cells
   * (two or more at a time, the default). The intervals come in the blob */
  if (!st) {
    int prev = lsp_threads_set(1);
    st = lsp_cell_analyse(c, rm, 0);
    lsp_threads_set(prev);
  }
  if (!st) st = blob_unpack(c, blob, len, res, rm);
  if (!st && (res->key.eps != k->eps || res->key.seed != k->seed || strcmp(res->key.arch, k->arch)))
    st = lsp_fail(LSP_EDATA, "the result sent for %s is another cell's", rm->label);
  return st;
}

int lsp_run_cells_dist(lsp_run_state *s, const lsp_cell_ctx *c, const lsp_cell_key *keys,
                       size_t n, lsp_run_log_fn log, void *user) {
  const lsp_run_dist *d = s->opts.dist;
  grid g = {c, keys, n, log, user};
  lsp_run_grid job = {n, &g, g_cost, g_run, g_name, g_depends, g_log};
  void **blobs = NULL;
  size_t *lens = NULL;
  s->jobs = d->workers;
  int st = d->run(d->user, &job, &blobs, &lens);
  if (!st && d->root && (!blobs || !lens))
    st = lsp_fail(LSP_EINVAL, "the cells' scheduler returned no results");
  if (!st && d->root) {
    double t = lsp_now_s();
    for (size_t i = 0; i < n && !st; i++) {
      st = rebuild(c, &keys[i], blobs[i], lens[i], &s->cells[i], &s->models[i]);
      if (st) {
        char name[64];
        g_name(&g, i, name, sizeof name);
        lsp_fail_prefix(st, name);
      }
    }
    char line[160];
    snprintf(line, sizeof line,
             "the %zu cells' results gathered; their models loaded from the cache and their test "
             "passes repeated here in %.1f s", n, lsp_now_s() - t);
    if (!st && log) log(0, line, user);
  }
  for (size_t i = 0; blobs && i < n; i++) free(blobs[i]);
  free(blobs);
  free(lens);
  return st;
}

/* ---- what every process must share ------------------------------------------ */

/* x in the fewest digits that read back as x. */
static void put_num(FILE *f, double x) {
  char b[40];
  lsp_shortest_g(x, b, sizeof b);
  fputs(b, f);
}

static void put_list(FILE *f, const char *name, const double *v, size_t n) {
  fprintf(f, "--%s ", name);
  for (size_t i = 0; i < n; i++) {
    if (i) fputc(',', f);
    put_num(f, v[i]);
  }
  fputc('\n', f);
}

int lsp_run_dist_opts_text(const lsp_run_opts *o, char **text) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f) return lsp_fail(LSP_ENOMEM, "out of memory for the options' description");
  fprintf(f, "--quick %s\n", o->quick ? "yes" : "no");
  put_list(f, "smoothing", o->smoothing, o->n_smoothing);
  fprintf(f, "--convention %s\n--seeds ", lsp_ls_convention_name(o->convention));
  for (size_t i = 0; i < o->n_seeds; i++) fprintf(f, "%s%lu", i ? "," : "", o->seeds[i]);
  fprintf(f, "\n--epochs %zu\n--arch %s\n--normalize ", o->epochs, o->arch ? o->arch : "");
  for (size_t i = 0; i < o->n_normalize; i++)
    fprintf(f, "%s%.9g", i ? "," : "", (double)o->normalize[i]);
  fprintf(f, "%s\n--batch %zu\n", o->n_normalize ? "" : "(none)", o->batch);
  put_list(f, "lr", &o->lr, 1);
  put_list(f, "momentum", &o->momentum, 1);
  put_list(f, "attack-eps", o->attack_eps, o->n_attack_eps);
  fprintf(f,
          "--attack-limit %zu\n--pgd-steps %zu\n--restarts %zu\n--aa-limit %zu\n--aa-all %s\n"
          "AutoAttack's APGD iterations %zu\nAutoAttack's Square queries "
          "%zu\ntraining examples kept %zu (0: all)\ntest examples kept %zu (0: all)\n"
          "--bins %zu\n--bootstrap %zu\n--mi-examples %zu\n--mi-copies %zu\n--distill %s\n",
          o->attack_limit, o->pgd_steps, o->pgd_restarts, o->aa_limit, o->aa_all ? "yes" : "no",
          o->aa_steps, o->aa_queries, o->max_train, o->max_test, o->bins,
          o->bootstrap, o->mi_examples, o->mi_copies, o->distill ? "yes" : "no");
  put_list(f, "aa-budget", &o->aa_budget, 1);
  if (o->distill) {
    put_list(f, "distill-alpha", &o->distill_alpha, 1);
    put_list(f, "distill-temps", o->distill_temps, o->n_distill_temps);
    fprintf(f, "--student-arch %s\n", o->student_arch ? o->student_arch : "");
  }
  if (fclose(f) != 0 || !buf) {
    free(buf);
    return lsp_fail(LSP_ENOMEM, "out of memory for the options' description");
  }
  *text = buf;
  return LSP_OK;
}

void lsp_run_dist_data_text(const lsp_splits *d, char *buf, size_t cap) {
  snprintf(buf, cap,
           "%zu training examples\n%zu validation examples\n%zu test examples\n"
           "%zu features\n%d classes\ncontents (hash) %016llx\n",
           d->train.n, d->val.n, d->test.n, d->train.dim, d->train.k,
           (unsigned long long)d->hash);
}
