/* lsp_run_cells.c — the run's grid of cells (lsp_cell.h) in this process,
 * and what spans several models: the projection's classes and the
 * per-seed paired comparisons with the ε = 0 model. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analysis/lsp_boot.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "core/base/lsp_proc.h"
#include "core/base/lsp_threads.h"
#include "core/base/lsp_util.h"
#include "core/formats/lsp_npy.h"
#include "reports/lsp_cell_int.h"

/* logits, features and labels of the test set for other tools */
static int write_dumps(const lsp_run_state *s, const lsp_run_model *rm, const char *dumps_dir) {
  const lsp_dataset *te = &s->data.test;
  size_t k = (size_t)te->k, h = lsp_model_feature_dim(rm->model);
  char *dir = lsp_strdupf("%s/%s", dumps_dir, rm->tag);
  char *pl = lsp_strdupf("%s/%s/logits.npy", dumps_dir, rm->tag);
  char *pf = lsp_strdupf("%s/%s/features.npy", dumps_dir, rm->tag);
  char *py = lsp_strdupf("%s/%s/labels.npy", dumps_dir, rm->tag);
  size_t shp[2] = {te->n, k}, shf[2] = {te->n, h};
  int st;
  if (!dir || !pl || !pf || !py) st = lsp_fail(LSP_ENOMEM, "out of memory");
  else if (!(st = lsp_mkdir_p(dir)) &&
           !(st = lsp_npy_write(pl, LSP_DT_F32, 2, shp, rm->test_logits)) &&
           !(st = lsp_npy_write(pf, LSP_DT_F32, 2, shf, rm->test_features)))
    st = lsp_npy_write(py, LSP_DT_I32, 1, shp, te->y);
  free(dir);
  free(pl);
  free(pf);
  free(py);
  return st;
}

/* ---- several cells at once ----------------------------------------------
 * `jobs` worker threads take cells from a queue in which the ε = 0 cells
 * come first, then the cells with AutoAttack; a cell whose transfer source (lsp_cell_depends) is still
 * running waits for it, so no model is trained twice. Each worker runs its
 * cells on one lsprobe thread; training, the bootstrap and the attacks give
 * the same numbers for any thread count, so the results do not depend on
 * `jobs`. Log lines go through one lock. */
typedef struct {
  lsp_run_state *s;
  const lsp_cell_ctx *c;
  const lsp_cell_key *keys;
  size_t n, next;
  size_t *order;        /* the queue: indices into keys                  */
  int *done;            /* per key: 1 when its cell finished             */
  int failed, status;   /* the first failure                             */
  char why[1024];
  lsp_run_log_fn log;
  void *user;
  pthread_mutex_t mu;
  pthread_cond_t cv;
} pool;

static void pool_log(int level, const char *msg, void *user) {
  pool *p = user;
  pthread_mutex_lock(&p->mu);
  if (p->log) p->log(level, msg, p->user);
  pthread_mutex_unlock(&p->mu);
}

static size_t key_index(const pool *p, const lsp_cell_key *k) {
  for (size_t i = 0; i < p->n; i++)
    if (p->keys[i].eps == k->eps && p->keys[i].seed == k->seed) return i;
  return SIZE_MAX;
}

static void *worker(void *arg) {
  pool *p = arg;
  lsp_threads_set(1);
  for (;;) {
    pthread_mutex_lock(&p->mu);
    if (p->failed || p->next == p->n) {
      pthread_mutex_unlock(&p->mu);
      break;
    }
    size_t i = p->order[p->next++];
    lsp_cell_key dk;
    size_t d = lsp_cell_depends(p->c, &p->keys[i], &dk) ? key_index(p, &dk) : SIZE_MAX;
    while (d != SIZE_MAX && !p->done[d] && !p->failed) pthread_cond_wait(&p->cv, &p->mu);
    if (p->failed) { /* its transfer source failed (or another cell did): start nothing */
      pthread_mutex_unlock(&p->mu);
      break;
    }
    pthread_mutex_unlock(&p->mu);
    int st = lsp_cell_run(p->c, &p->keys[i], &p->s->cells[i], &p->s->models[i], pool_log, p);
    pthread_mutex_lock(&p->mu);
    if (st && !p->failed) {
      p->failed = 1;
      p->status = st;
      snprintf(p->why, sizeof p->why, "%s", lsp_errmsg());
    }
    p->done[i] = st == LSP_OK;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
  }
  return NULL;
}

static int run_pool(lsp_run_state *s, const lsp_cell_ctx *c, const lsp_cell_key *keys, size_t n,
                    size_t jobs, lsp_run_log_fn log, void *user) {
  pool p = {s, c, keys, n, 0, calloc(n, sizeof(size_t)), calloc(n, sizeof(int)), 0, 0, "",
            log, user, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER};
  pthread_t th[64];
  size_t started = 0;
  int st = LSP_OK;
  if (!p.order || !p.done) {
    st = lsp_fail(LSP_ENOMEM, "out of memory");
    goto done;
  }
  /* the ε = 0 cells first (the others' transfer sources), then the long
   * ones (AutoAttack), then the rest: the last cells to start are short */
  size_t q = 0;
  for (int pass = 0; pass < 3; pass++)
    for (size_t i = 0; i < n; i++) {
      const int cls = keys[i].eps == 0 ? 0 : lsp_cell_runs_aa(c, &keys[i]) ? 1 : 2;
      if (cls == pass) p.order[q++] = i;
    }
  for (; started < jobs && started < 64; started++)
    if (pthread_create(&th[started], NULL, worker, &p) != 0) break;
  if (started == 0) st = lsp_fail(LSP_ENOMEM, "cannot start a worker thread");
  for (size_t t = 0; t < started; t++) pthread_join(th[t], NULL);
  if (!st && p.failed) st = lsp_fail(p.status, "%s", p.why);
  else if (!st && p.next < n) st = lsp_fail(LSP_EINTR, "interrupted");
done:
  pthread_mutex_destroy(&p.mu);
  pthread_cond_destroy(&p.cv);
  free(p.order);
  free(p.done);
  return st;
}

/* "ε_LS ∈ {0, 0.1}": the smoothing ε of the grid whose cells run AutoAttack */
static void aa_models(lsp_run_state *s, const lsp_cell_ctx *c, const lsp_cell_key *keys,
                      size_t n) {
  char *b = s->aa_models;
  const size_t len = sizeof s->aa_models;
  b[0] = '\0';
  if (!s->n_aa) return;
  size_t used = 0, count = 0;
  for (size_t ei = 0; ei < s->opts.n_smoothing; ei++) {
    int runs = 0;
    for (size_t i = 0; i < n; i++)
      runs |= keys[i].eps == s->opts.smoothing[ei] && lsp_cell_runs_aa(c, &keys[i]);
    if (!runs) continue;
    used += (size_t)snprintf(b + used, used < len ? len - used : 0, "%s%g", count ? ", " : "",
                             s->opts.smoothing[ei]);
    if (used >= len) used = len - 1;
    count++;
  }
  char list[256];
  snprintf(list, sizeof list, "%s", b);
  snprintf(b, len, count == 1 ? "ε_LS = %s" : "ε_LS ∈ {%s}", list);
}

static int by_bytes_desc(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x < y) - (x > y);
}

/* The trainings of `jobs` cells at once must fit together in the memory the
 * machine has left (MemAvailable + SwapFree), each cell's alone is not
 * enough: the J largest training estimates (lsp_train_bytes, one thread a
 * cell; a cached model trains nothing) are summed. When they do not fit,
 * *jobs is lowered to the most that do, and the log says so; when not even
 * the largest fits alone, that cell's training is refused (LSP_EINVAL, the
 * training's own message) before any cell runs. */
static int fit_jobs(const lsp_cell_ctx *c, const lsp_cell_key *keys, size_t n, size_t *jobs,
                    lsp_run_log_fn log, void *user) {
  const double avail = lsp_mem_available();
  if (avail < 0.0 || *jobs < 2) return LSP_OK; /* unknown, or lsp_train checks the one */
  double *need = calloc(n, sizeof *need);
  if (!need) return lsp_fail(LSP_ENOMEM, "out of memory");
  int st = LSP_OK;
  size_t big = 0;
  for (size_t i = 0; i < n && !st; i++) {
    st = lsp_cell_train_bytes(c, &keys[i], 1, 0, &need[i]);
    if (need[i] > need[big]) big = i;
  }
  if (!st && need[big] > avail) {
    double b;
    st = lsp_cell_train_bytes(c, &keys[big], 1, 1, &b);
    if (!st) st = lsp_fail(LSP_EINVAL, "the training of a cell does not fit in memory");
  }
  if (!st) {
    qsort(need, n, sizeof *need, by_bytes_desc);
    const size_t want = *jobs < 64 ? *jobs : 64; /* run_pool starts at most 64 */
    size_t j = 0;
    double sum = 0.0, all = 0.0;
    for (size_t q = 0; q < want; q++) all += need[q];
    while (j < want && sum + need[j] <= avail) sum += need[j++];
    if (j < want) {
      char msg[512];
      snprintf(msg, sizeof msg,
               "running %zu cell%s at a time instead of %zu (--jobs): %zu cells at once would "
               "need about %.0f bytes (%.1f GiB) of training buffers, but %.0f bytes (%.1f GiB) "
               "are available (MemAvailable + SwapFree)",
               j, j == 1 ? "" : "s", *jobs, want, all, all / 1073741824.0, avail, avail / 1073741824.0);
      if (log) log(1, msg, user);
      *jobs = j;
    }
  }
  free(need);
  return st;
}

int lsp_run_cells(lsp_run_state *s, const char *models_dir, const char *dumps,
                  lsp_run_log_fn log, void *user) {
  lsp_cell_ctx *c = NULL;
  lsp_cell_key *keys = NULL;
  size_t n = 0, jobs = 1;
  const lsp_run_dist *dist = s->opts.dist;
  const int root = !dist || dist->root;
  double t = 0;
  int st = lsp_cell_ctx_alloc(&s->opts, &s->data, s->arch_canon, models_dir, &c);
  if (st) goto ready;
  if ((st = lsp_cell_aa_size(c, s->aa_note, sizeof s->aa_note, &s->aa_pred_gflop))) goto ready;
  s->n_attack = c->n_attack;
  s->n_aa = c->n_aa;
  if (s->aa_note[0] && log && root) log(s->opts.aa_limit ? 1 : 0, s->aa_note, user);
  if ((st = lsp_cell_ctx_keys(c, &keys, &n))) goto ready;
  aa_models(s, c, keys, n);
  s->models = calloc(n ? n : 1, sizeof *s->models);
  s->cells = calloc(n ? n : 1, sizeof *s->cells);
  if (!s->models || !s->cells) {
    st = lsp_fail(LSP_ENOMEM, "out of memory");
    goto ready;
  }
  s->nmodels = s->ncells = n; /* zeroed records free as no-ops */
  jobs = s->opts.jobs ? s->opts.jobs : (size_t)(s->threads > 1 ? s->threads : 1);
  if (jobs > n) jobs = n;
  if (!dist && (st = fit_jobs(c, keys, n, &jobs, log, user))) goto done;
  s->jobs = jobs;
  t = lsp_now_s();
ready:
  if (dist) { /* across processes (lsp_run_dist.c); workers stop here. All
                 ready, or all stop, before any waits for another */
    if (!(st = dist->agree(dist->user, st))) st = lsp_run_cells_dist(s, c, keys, n, log, user);
    if (!root) goto done;
  } else if (st) {
    goto done;
  } else if (jobs > 1) {
    st = run_pool(s, c, keys, n, jobs, log, user);
  } else {
    for (size_t i = 0; i < n && !st; i++)
      st = lsp_cell_run(c, &keys[i], &s->cells[i], &s->models[i], log, user);
  }
  s->seconds_cells = lsp_now_s() - t;
  if (st) goto done;
  /* a cache lsprobe may read but not write (a shared folder on a read-only
   * mount: every model cached, or training would have failed): the cells'
   * results stay in this run's report only */
  int ro = n > 0 && access(models_dir, W_OK) != 0 &&
           (errno == EROFS || errno == EACCES || errno == EPERM);
  if (ro && log) {
    char msg[640];
    snprintf(msg, sizeof msg,
             "%.400s cannot be written (%s): the cells' results are in this report only, "
             "not saved beside their models (.lspm.cell)",
             models_dir, strerror(errno));
    log(1, msg, user);
  }
  for (size_t i = 0; i < n; i++) {
    lsp_run_model *rm = &s->models[i];
    lsp_cell_result *r = &s->cells[i];
    s->seconds_train += r->seconds_train;
    s->seconds_analysis += r->seconds_analysis;
    s->seconds_attacks += r->seconds_attacks;
    char *cp = lsp_strdupf("%s.cell", rm->model_file);
    if (!cp) {
      st = lsp_fail(LSP_ENOMEM, "out of memory");
      goto done;
    }
    st = ro ? LSP_OK : lsp_cell_result_write(r, cp);
    free(cp);
    if (st || (st = write_dumps(s, rm, dumps))) goto done;
  }
done:
  free(keys);
  lsp_cell_ctx_free(c);
  return st;
}

size_t lsp_run_reference(const lsp_run_state *s) {
  size_t r = 0;
  for (size_t i = 1; i < s->nmodels; i++) {
    const lsp_run_model *a = &s->models[i], *b = &s->models[r];
    if (a->eps < b->eps || (a->eps == b->eps && a->seed < b->seed)) r = i;
  }
  return r;
}

/* The projection: the three classes the reference model confuses most on
 * the validation split (like every other choice of a run, so the test set
 * plays no part in it; the test split only when there is no validation
 * split), the same classes for every model. */
int lsp_run_projection(lsp_run_state *s) {
  if (s->nmodels == 0) return LSP_OK;
  const lsp_run_model *ref = &s->models[lsp_run_reference(s)];
  size_t k = (size_t)s->data.test.k;
  const lsp_dataset *va = &s->data.val;
  lsp_confusion conf;
  int st = va->n ? lsp_proj_confusion_logits(ref->val_logits, va->y, va->n, k, &conf)
                 : lsp_proj_confusion_logits(ref->test_logits, s->data.test.y, s->data.test.n,
                                             k, &conf);
  if (!st && k >= 3) st = lsp_proj_pick_classes(&conf, s->proj_cls, NULL);
  lsp_confusion_free(&conf);
  for (size_t i = 0; !st && i < s->nmodels && k >= 3; i++) {
    lsp_run_model *m = &s->models[i];
    lsp_dense_view L;
    lsp_model_head(m->model, &L);
    st = lsp_proj_compute(m->test_features, s->data.test.y, s->data.test.n, L.in, L.w, L.b, k,
                          s->proj_cls, &m->proj);
  }
  return st;
}

/* ---- comparisons with the eps = 0 model --------------------------------------- */

static int compare(lsp_run_state *s, lsp_run_cmp *c) {
  const lsp_run_opts *o = &s->opts;
  lsp_run_model *a = &s->models[c->model], *b = &s->models[c->base];
  lsp_calib_opts co = lsp_calib_opts_default();
  co.bins = (int)o->bins;
  lsp_calib_boot boot = {(int)o->bootstrap, a->seed * 7919ull + 3, s->threads,
                         LSP_CALIB_CI_PERCENTILE};
  int st;
  if ((st = lsp_calib_paired_bootstrap(a->rows, b->rows, &co, &boot, c->cal_diff, c->cal_lo,
                                       c->cal_hi)) ||
      (st = lsp_calib_paired_bootstrap(a->rows_t, b->rows_t, &co, &boot, c->calt_diff,
                                       c->calt_lo, c->calt_hi)))
    return st;
  if (!a->temperature_ok || !b->temperature_ok) /* nothing scaled: no difference after T */
    for (int m = 0; m < LSP_CALIB_NMETRIC; m++) c->calt_diff[m] = c->calt_lo[m] = c->calt_hi[m] = NAN;
  size_t ne = o->n_attack_eps, n = s->n_attack;
  c->n_eps = ne;
  c->fgsm_diff = calloc(ne, sizeof(double));
  c->fgsm_lo = calloc(ne, sizeof(double));
  c->fgsm_hi = calloc(ne, sizeof(double));
  c->pgd_diff = calloc(ne, sizeof(double));
  c->pgd_lo = calloc(ne, sizeof(double));
  c->pgd_hi = calloc(ne, sizeof(double));
  if (!c->fgsm_diff || !c->fgsm_lo || !c->fgsm_hi || !c->pgd_diff || !c->pgd_lo || !c->pgd_hi)
    return lsp_fail(LSP_ENOMEM, "out of memory");
  for (size_t e = 0; e < ne; e++) {
    if ((st = lsp_boot_paired_diff(a->fgsm_correct + e * n, b->fgsm_correct + e * n, n,
                                   (int)o->bootstrap, boot.seed + e, &c->fgsm_diff[e],
                                   &c->fgsm_lo[e], &c->fgsm_hi[e])) ||
        (st = lsp_boot_paired_diff(a->pgd_correct + e * n, b->pgd_correct + e * n, n,
                                   (int)o->bootstrap, boot.seed + 100 + e, &c->pgd_diff[e],
                                   &c->pgd_lo[e], &c->pgd_hi[e])))
      return st;
  }
  return lsp_run_aa_compare(s, c, boot.seed + 200);
}

int lsp_run_compare_all(lsp_run_state *s) {
  const lsp_run_opts *o = &s->opts;
  for (size_t si = 0; si < o->n_seeds; si++) {
    size_t base = SIZE_MAX;
    for (size_t ei = 0; ei < o->n_smoothing; ei++)
      if (o->smoothing[ei] == 0) base = si * o->n_smoothing + ei;
    if (base == SIZE_MAX) continue;
    for (size_t ei = 0; ei < o->n_smoothing; ei++) {
      size_t mi = si * o->n_smoothing + ei;
      if (mi == base) continue;
      lsp_run_cmp *nc = realloc(s->cmp, (s->ncmp + 1) * sizeof *nc);
      if (!nc) return lsp_fail(LSP_ENOMEM, "out of memory");
      s->cmp = nc;
      lsp_run_cmp *c = &s->cmp[s->ncmp++];
      memset(c, 0, sizeof *c);
      c->model = mi;
      c->base = base;
      int st = compare(s, c);
      if (st) return st;
    }
  }
  return LSP_OK;
}
