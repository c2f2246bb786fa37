/* The cell API (reports/lsp_cell.h) and the study (reports/lsp_study.h):
 * - a cell's summaries against the modules that compute the same numbers
 *   another way (lsp_calib's accuracy and ECE from its own rows, the
 *   attacks' accuracy curves integrated by the trapezoid rule here);
 * - a cell's result depends only on its key: rerun on another thread count
 *   from the cache, every value and resample is bit-identical;
 * - pack/unpack round-trips exactly; corrupt, short and foreign buffers are
 *   refused; the file is written atomically and read back; format 2 is
 *   still read;
 * - the calibration errors' per-cell intervals are the calibration
 *   module's test inversion, on a case whose percentile interval missed
 *   its own estimate;
 * - which cells run AutoAttack, and the judged ε, from the grid's values
 *   whatever their order (tests/test_study.c: the study itself). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analysis/lsp_boot.h"
#include "analysis/lsp_calib.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "core/base/lsp_threads.h"
#include "core/base/lsp_util.h"
#include "core/data/lsp_data.h"
#include "reports/lsp_cell.h"
#include "reports/lsp_html.h"
#include "reports/lsp_cell_int.h"
#include "reports/lsp_study.h"
#include "testutil.h"

static char g_dir[256];

static void setup_opts(lsp_run_opts *o) {
  lsp_run_opts_default(o);
  lsp_run_opts_quick(o);
  o->data = "synthetic:train=600,test=200,dim=16,classes=4";
  o->arch = "mlp:16";
  o->attack_limit = 120;
  o->aa_limit = 0;
  o->bootstrap = 30;
}

static void say(int level, const char *msg, void *user) {
  (void)user;
  if (level == 1) fprintf(stderr, "# %s\n", msg);
}

static double trapezoid(const double *eps, const double *acc, size_t ne) {
  double s = 0;
  for (size_t e = 0; e + 1 < ne; e++) s += 0.5 * (eps[e + 1] - eps[e]) * (acc[e] + acc[e + 1]);
  return s / (eps[ne - 1] - eps[0]);
}

/* The temperature of a validation resample another way: rows repeated by
 * their counts, then the calibration module's fit (Brent's method over
 * log T; the cell uses Newton's method in 1/T on the weights). */
typedef struct {
  size_t n, k;
  const float *z;
  const int32_t *y;
} brent_ctx;

static void brent_stat(const void *p, void *ws, const uint32_t *w, double *out) {
  (void)ws;
  const brent_ctx *c = p;
  float *z = malloc(c->n * c->k * sizeof *z);
  int32_t *y = malloc(c->n * sizeof *y);
  size_t r = 0;
  for (size_t i = 0; i < c->n; i++)
    for (uint32_t t = 0; t < w[i]; t++, r++) {
      memcpy(z + r * c->k, c->z + i * c->k, c->k * sizeof *z);
      y[r] = c->y[i];
    }
  double T = NAN;
  if (lsp_calib_temperature_fit(z, y, r, c->k, &T)) T = NAN;
  out[0] = T;
  free(z);
  free(y);
}

static void test_cell_against_modules(void **state) {
  (void)state;
  lsp_run_opts o;
  setup_opts(&o);
  lsp_threads_set_blas(1); /* as lsp_run keeps it for the grid (lsp_cell.h) */
  lsp_data_opts d;
  lsp_data_opts_default(&d);
  d.spec = o.data;
  lsp_splits data;
  memset(&data, 0, sizeof data);
  assert_int_equal(lsp_data_load(&d, &data), 0);
  snprintf(g_dir, sizeof g_dir, "/tmp/lsp_test_cell_XXXXXX");
  assert_non_null(mkdtemp(g_dir));
  lsp_cell_ctx *c = NULL;
  /* the canonical string is the network's: a wrong one is refused */
  assert_int_equal(lsp_cell_ctx_alloc(&o, &data, "mlp:99", g_dir, &c), LSP_EINVAL);
  assert_null(c);
  assert_int_equal(lsp_cell_ctx_alloc(&o, &data, NULL, g_dir, &c), 0);
  assert_int_equal(lsp_cell_ctx_resamples(c), 30);
  lsp_cell_key *keys = NULL;
  size_t nk = 0;
  assert_int_equal(lsp_cell_ctx_keys(c, &keys, &nk), 0);
  assert_int_equal(nk, 2); /* quick: one seed × ε 0, 0.1 */
  lsp_cell_key dep;
  assert_int_equal(lsp_cell_depends(c, &keys[0], &dep), 0);
  assert_int_equal(lsp_cell_depends(c, &keys[1], &dep), 1);
  assert_true(dep.eps == 0 && dep.seed == keys[1].seed);

  lsp_cell_result r[2];
  lsp_run_model full[2];
  for (int i = 0; i < 2; i++) {
    assert_int_equal(lsp_cell_run(c, &keys[i], &r[i], &full[i], NULL, NULL), 0);
    const lsp_run_model *rm = &full[i];
    /* accuracy: the calibration module's, exactly (same 0/1 outcomes) */
    td_close(r[i].value[LSP_CELL_ACCURACY], rm->cal.value[LSP_CALIB_ACCURACY], 0, 1e-12,
             "accuracy", i);
    /* ECE: lsp_calib bins float probabilities, the cell double ones */
    td_close(r[i].value[LSP_CELL_ECE], rm->cal.value[LSP_CALIB_ECE], 0, 1e-6, "ece", i);
    td_close(r[i].value[LSP_CELL_NLL], rm->cal.value[LSP_CALIB_NLL], 0, 1e-5, "nll", i);
    td_close(r[i].value[LSP_CELL_ECE_T], rm->cal_t.value[LSP_CALIB_ECE], 0, 1e-6, "ece_t", i);
    td_close(r[i].value[LSP_CELL_R2], rm->clusters->r2_separation, 0, 1e-9, "r2", i);
    td_close(r[i].value[LSP_CELL_NC1], rm->clusters->nc1, 1e-9, 1e-12, "nc1", i);
    /* the debiased ℓ2 ECE: the calibration module's estimator (tested
     * there against a NumPy re-implementation), from its own float rows */
    td_close(r[i].value[LSP_CELL_ECE_L2_DEBIASED], rm->cal.value[LSP_CALIB_ECE_L2_DEBIASED], 0,
             1e-6, "ece_l2_debiased", i);
    /* and never exceeds the plug-in ℓ2 (RMS) ECE */
    assert_true(r[i].value[LSP_CELL_ECE_L2_DEBIASED] <= rm->cal.value[LSP_CALIB_RMSCE] + 1e-6);
    /* AUC: the per-example areas average to the area under the curve */
    double eps[32], acc[32];
    for (size_t e = 0; e < o.n_attack_eps; e++) {
      eps[e] = o.attack_eps[e];
      acc[e] = rm->fgsm.points[e].accuracy;
    }
    td_close(r[i].value[LSP_CELL_AUC_FGSM], trapezoid(eps, acc, o.n_attack_eps), 0, 1e-12,
             "auc fgsm", i);
    for (size_t e = 0; e < o.n_attack_eps; e++) acc[e] = rm->pgd.points[e].accuracy;
    td_close(r[i].value[LSP_CELL_AUC_PGD], trapezoid(eps, acc, o.n_attack_eps), 0, 1e-12,
             "auc pgd", i);
    assert_true(isnan(r[i].value[LSP_CELL_AUC_AA]));
    assert_int_equal(r[i].B, 30);
    /* the mean logit gap: the logit-geometry module's (the same per-example
     * gaps summed in another order); the temperature: the fit on the whole
     * validation set, exactly; each with an interval around it from its
     * resamples (the gap's over test, T's over validation resamples) */
    td_close(r[i].value[LSP_CELL_LOGIT_GAP], rm->gap.gap.mean, 1e-12, 1e-12, "logit gap", i);
    assert_true(rm->temperature_ok);
    assert_true(r[i].value[LSP_CELL_TEMPERATURE] == rm->temperature);
    for (int m = LSP_CELL_TEMPERATURE; m <= LSP_CELL_LOGIT_GAP; m++) {
      double lo, hi;
      lsp_study_cell_interval(&r[i], m, &lo, &hi);
      assert_true(lo < hi && lo <= r[i].value[m] && r[i].value[m] <= hi);
    }
    /* the first resamples' T against Brent on the repeated rows (the
     * validation plan's seed, DESIGN §9.2) */
    brent_ctx bc = {data.val.n, (size_t)data.val.k, rm->val_logits, data.val.y};
    lsp_boot_stat bs = {1, &bc, NULL, NULL, brent_stat};
    lsp_boot_opts bo = {3, 0x5eedDA1Dull, 1};
    double tb[3];
    assert_int_equal(lsp_boot_values(data.val.n, &bo, &bs, tb), 0);
    for (int b = 0; b < 3; b++)
      td_close(r[i].resample[b * LSP_CELL_NSTAT + LSP_CELL_TEMPERATURE], tb[b], 1e-5, 0,
               "resampled T vs Brent", b);
  }
  /* ε = 0: transfer is its own PGD; ε = 0.1: crafted on the ε = 0 model */
  assert_true(r[0].value[LSP_CELL_AUC_TRANSFER] == r[0].value[LSP_CELL_AUC_PGD]);
  assert_true(full[1].has_transfer);

  /* rerun from the cache on 2 threads: the same numbers, bit for bit */
  int prev = lsp_threads_set(2);
  lsp_cell_result again;
  assert_int_equal(lsp_cell_run(c, &keys[1], &again, NULL, say, NULL), 0);
  lsp_threads_set(prev);
  assert_true(again.cached);
  assert_memory_equal(again.value, r[1].value, sizeof again.value);
  assert_memory_equal(again.resample, r[1].resample, 30 * LSP_CELL_NSTAT * sizeof(double));
  assert_memory_equal(again.pgd, r[1].pgd, sizeof again.pgd);

  /* pack / unpack / file */
  uint8_t *buf;
  size_t len;
  assert_int_equal(lsp_cell_result_pack(&r[1], &buf, &len), 0);
  lsp_cell_result u;
  assert_int_equal(lsp_cell_result_unpack(buf, len, &u), 0);
  assert_string_equal(u.key.arch, r[1].key.arch);
  assert_true(u.key.eps == r[1].key.eps && u.key.seed == r[1].key.seed);
  assert_memory_equal(u.value, r[1].value, sizeof u.value);
  assert_memory_equal(u.fgsm, r[1].fgsm, sizeof u.fgsm);
  assert_memory_equal(u.resample, r[1].resample, 30 * LSP_CELL_NSTAT * sizeof(double));
  assert_int_equal(u.n_attack, 120);
  lsp_cell_result_release(&u);
  /* the R² and NC1 resamples are centred on the point value; a file whose
   * resamples are not (written before the centring) is centred when read:
   * every resample moves by the same amount, the others stay */
  for (int s = LSP_CELL_R2; s <= LSP_CELL_NC1; s++) {
    double m = 0;
    for (size_t b = 0; b < 30; b++) m += r[1].resample[b * LSP_CELL_NSTAT + s];
    td_close(m / 30, r[1].value[s], 0, 1e-12, "centred resamples", s);
  }
  {
    lsp_cell_result sh = r[1];
    double *rs = malloc(30 * LSP_CELL_NSTAT * sizeof *rs);
    assert_non_null(rs);
    memcpy(rs, r[1].resample, 30 * LSP_CELL_NSTAT * sizeof *rs);
    for (size_t b = 0; b < 30; b++) {
      rs[b * LSP_CELL_NSTAT + LSP_CELL_R2] += 0.01;
      rs[b * LSP_CELL_NSTAT + LSP_CELL_NC1] -= 0.25;
    }
    sh.resample = rs;
    uint8_t *sb;
    size_t sl;
    assert_int_equal(lsp_cell_result_pack(&sh, &sb, &sl), 0);
    assert_int_equal(lsp_cell_result_unpack(sb, sl, &u), 0);
    for (size_t i = 0; i < 30 * LSP_CELL_NSTAT; i++)
      td_close(u.resample[i], r[1].resample[i], 1e-12, 1e-15, "recentred", (int)i);
    lsp_cell_result_release(&u);
    free(sb);
    free(rs);
  }
  buf[len / 2] ^= 1;
  assert_int_equal(lsp_cell_result_unpack(buf, len, &u), LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "checksum"));
  buf[len / 2] ^= 1;
  assert_int_equal(lsp_cell_result_unpack(buf, len - 8, &u), LSP_EDATA);
  assert_int_equal(lsp_cell_result_unpack(buf, 10, &u), LSP_EDATA);
  buf[7] = '1'; /* format 1 (11 summaries): refused with its own reason */
  assert_int_equal(lsp_cell_result_unpack(buf, len, &u), LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "format 1"));
  buf[0] = 'X';
  assert_int_equal(lsp_cell_result_unpack(buf, len, &u), LSP_EDATA);
  free(buf);
  char path[512];
  snprintf(path, sizeof path, "%s/r.cell", g_dir);
  assert_int_equal(lsp_cell_result_write(&r[0], path), 0);
  assert_int_equal(lsp_cell_result_read(path, &u), 0);
  assert_memory_equal(u.resample, r[0].resample, 30 * LSP_CELL_NSTAT * sizeof(double));
  lsp_cell_result_release(&u);
  snprintf(path, sizeof path, "%s/missing.cell", g_dir);
  assert_int_equal(lsp_cell_result_read(path, &u), LSP_EIO);

  for (int i = 0; i < 2; i++) {
    lsp_cell_result_release(&r[i]);
    lsp_run_model_release(&full[i]);
  }
  lsp_cell_result_release(&again);
  free(keys);
  lsp_cell_ctx_free(c);
  lsp_splits_free(&data);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
  assert_int_equal(system(cmd), 0);
}

static int cmp_double(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The calibration errors' per-cell intervals are the calibration module's
 * test inversion (the per-model table's), not the percentile of the cell's
 * resamples. A fixed case where the percentile interval lies above its own
 * estimate: synthetic data, ε = 0.1, seed 6, 5 epochs — the debiased ℓ2
 * ECE is 0 (clipped) and every resample's is larger. */
static void test_cell_calib_intervals(void **state) {
  (void)state;
  lsp_run_opts o;
  lsp_run_opts_default(&o);
  lsp_run_opts_quick(&o);
  o.data = "synthetic";
  o.smoothing[0] = 0.1;
  o.n_smoothing = 1;
  o.seeds[0] = 6;
  o.epochs = 5;
  o.attack_limit = 50;
  o.aa_limit = 0;
  lsp_threads_set_blas(1);
  lsp_data_opts d;
  lsp_data_opts_default(&d);
  d.spec = o.data;
  d.max_train = o.max_train;
  d.max_test = o.max_test;
  lsp_splits data;
  memset(&data, 0, sizeof data);
  assert_int_equal(lsp_data_load(&d, &data), 0);
  char dir[64];
  snprintf(dir, sizeof dir, "/tmp/lsp_test_cellci_XXXXXX");
  assert_non_null(mkdtemp(dir));
  lsp_cell_ctx *c = NULL;
  assert_int_equal(lsp_cell_ctx_alloc(&o, &data, NULL, dir, &c), 0);
  lsp_cell_key *keys = NULL;
  size_t nk = 0;
  assert_int_equal(lsp_cell_ctx_keys(c, &keys, &nk), 0);
  assert_int_equal(nk, 1);
  lsp_cell_result r;
  lsp_run_model rm;
  assert_int_equal(lsp_cell_run(c, &keys[0], &r, &rm, NULL, NULL), 0);
  assert_int_equal(r.B, 100);
  assert_true(r.calib_ci);
  const int stat[3] = {LSP_CELL_ECE, LSP_CELL_ECE_L2_DEBIASED, LSP_CELL_ECE_T};
  const lsp_calib_result *cal[3] = {&rm.cal, &rm.cal, &rm.cal_t};
  const int metric[3] = {LSP_CALIB_ECE, LSP_CALIB_ECE_L2_DEBIASED, LSP_CALIB_ECE};
  for (int q = 0; q < 3; q++) {
    const int m = stat[q];
    assert_true(lsp_cell_stat_inverted(m));
    double lo, hi, v[100];
    lsp_study_cell_interval(&r, m, &lo, &hi);
    assert_true(lo == cal[q]->ci_lo[metric[q]] && hi == cal[q]->ci_hi[metric[q]]);
    /* an upward-biased estimate: the interval of its target starts at or
     * below it (the percentile interval may start above it) */
    assert_true(lo >= 0 && lo <= r.value[m] && r.value[m] < hi);
    for (size_t b = 0; b < 100; b++) v[b] = r.resample[b * LSP_CELL_NSTAT + m];
    qsort(v, 100, sizeof v[0], cmp_double);
    if (m == LSP_CELL_ECE_L2_DEBIASED) /* the case: the percentile interval misses the estimate */
      assert_true(r.value[m] == 0 && lsp_percentile_sorted(v, 100, 0.025) > 0.004);
  }
  for (int m = 0; m < LSP_CELL_NSTAT; m++)
    if (!lsp_cell_stat_inverted(m)) assert_true(isnan(r.ci_lo[m]) && isnan(r.ci_hi[m]));

  /* format 3 carries the intervals; format 2 (the same bytes without them)
   * is still read, its calibration intervals unknown, the rest as before */
  uint8_t *buf;
  size_t len;
  assert_int_equal(lsp_cell_result_pack(&r, &buf, &len), 0);
  assert_memory_equal(buf, "LSPCELL3", 8);
  lsp_cell_result u;
  assert_int_equal(lsp_cell_result_unpack(buf, len, &u), 0);
  assert_true(u.calib_ci);
  assert_memory_equal(u.ci_lo, r.ci_lo, sizeof u.ci_lo);
  assert_memory_equal(u.ci_hi, r.ci_hi, sizeof u.ci_hi);
  lsp_cell_result_release(&u);
  const size_t ci_bytes = 8 * (1 + 2 * LSP_CELL_NSTAT), len2 = len - ci_bytes;
  uint8_t *old = malloc(len2);
  assert_non_null(old);
  memcpy(old, buf, len2 - 8);
  old[7] = '2';
  const uint64_t h = lsp_fnv1a(LSP_CELL_FNV_BASIS, old, len2 - 8);
  for (int i = 0; i < 8; i++) old[len2 - 8 + i] = (uint8_t)(h >> (8 * i));
  assert_int_equal(lsp_cell_result_unpack(old, len2, &u), 0);
  assert_false(u.calib_ci);
  assert_memory_equal(u.value, r.value, sizeof u.value);
  assert_memory_equal(u.resample, r.resample, 100 * LSP_CELL_NSTAT * sizeof(double));
  double lo, hi, lo2, hi2;
  lsp_study_cell_interval(&u, LSP_CELL_ECE, &lo, &hi);
  assert_true(isnan(lo) && isnan(hi));
  lsp_study_cell_interval(&u, LSP_CELL_ACCURACY, &lo, &hi);
  lsp_study_cell_interval(&r, LSP_CELL_ACCURACY, &lo2, &hi2);
  assert_true(lo == lo2 && hi == hi2 && lo < hi);
  lsp_cell_result_release(&u);
  /* format 3's length with format 2's magic, and the reverse: refused */
  old[7] = '3';
  assert_int_equal(lsp_cell_result_unpack(old, len2, &u), LSP_EDATA);
  buf[7] = '2';
  assert_int_equal(lsp_cell_result_unpack(buf, len, &u), LSP_EDATA);
  free(old);
  free(buf);

  lsp_cell_result_release(&r);
  lsp_run_model_release(&rm);
  free(keys);
  lsp_cell_ctx_free(c);
  lsp_splits_free(&data);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
}

/* AutoAttack's subset for the options: its size, the note and the predicted
 * GFLOP per example */
static size_t aa_size(const lsp_run_opts *o, const lsp_splits *data, char *note, size_t len,
                      double *pred) {
  lsp_cell_ctx *c = NULL;
  assert_int_equal(lsp_cell_ctx_alloc(o, data, NULL, "/tmp", &c), 0);
  assert_int_equal(lsp_cell_aa_size(c, note, len, pred), 0);
  size_t n = c->n_aa;
  lsp_cell_ctx_free(c);
  return n;
}

/* The subset's size (DESIGN §2): the smaller of --aa-limit and what the
 * budget allows, rounded down to a multiple of 50 from 50 up, as it is
 * below 50; never more than the limit or the budget, and none with a
 * budget below one example (the note names what one example needs). */
static void test_aa_size(void **state) {
  (void)state;
  lsp_run_opts o;
  setup_opts(&o);
  o.attack_limit = 200; /* the whole test split */
  lsp_data_opts d;
  lsp_data_opts_default(&d);
  d.spec = o.data;
  lsp_splits data;
  memset(&data, 0, sizeof data);
  assert_int_equal(lsp_data_load(&d, &data), 0);
  char note[256];
  double pred;
  o.aa_limit = 70;
  assert_int_equal(aa_size(&o, &data, note, sizeof note, &pred), 50);
  assert_true(pred > 0 && note[0] == '\0');
  o.aa_limit = 30;
  assert_int_equal(aa_size(&o, &data, note, sizeof note, &pred), 30);
  o.aa_limit = 1000; /* above the 200 attacked examples */
  assert_int_equal(aa_size(&o, &data, note, sizeof note, &pred), 200);
  o.aa_budget = 120.5 * pred; /* 120 examples */
  assert_int_equal(aa_size(&o, &data, note, sizeof note, &pred), 100);
  o.aa_budget = 30.5 * pred; /* 30: not raised to 50 beyond the budget */
  assert_int_equal(aa_size(&o, &data, note, sizeof note, &pred), 30);
  o.aa_budget = 0.5 * pred; /* not even one example */
  assert_int_equal(aa_size(&o, &data, note, sizeof note, &pred), 0);
  char want[64];
  snprintf(want, sizeof want, "the %.3g GFLOP predicted for one example", pred);
  assert_non_null(strstr(note, want));
  assert_non_null(strstr(note, "--aa-budget"));
  lsp_splits_free(&data);
}

/* Which cells run AutoAttack (DESIGN §9.5): ε = 0 and the judged ε (the
 * smoothed ε nearest 0.1, as the study judges, whatever the grid's order),
 * every cell with aa_all, none with aa_limit 0 — from the options alone. */
static int aa_cells(lsp_run_opts *o, const lsp_splits *data, double *judged) {
  lsp_cell_ctx *c = NULL;
  assert_int_equal(lsp_cell_ctx_alloc(o, data, NULL, "/tmp", &c), 0);
  char note[256];
  double pred;
  assert_int_equal(lsp_cell_aa_size(c, note, sizeof note, &pred), 0);
  lsp_cell_key *keys = NULL;
  size_t n = 0;
  assert_int_equal(lsp_cell_ctx_keys(c, &keys, &n), 0);
  int mask = 0;
  for (size_t i = 0; i < n && i < 8; i++) mask |= lsp_cell_runs_aa(c, &keys[i]) << i;
  *judged = lsp_cell_ctx_judged_eps(c);
  free(keys);
  lsp_cell_ctx_free(c);
  return mask;
}

static void test_aa_cells(void **state) {
  (void)state;
  lsp_run_opts o;
  setup_opts(&o);
  lsp_data_opts d;
  lsp_data_opts_default(&d);
  d.spec = o.data;
  lsp_splits data;
  memset(&data, 0, sizeof data);
  assert_int_equal(lsp_data_load(&d, &data), 0);
  double j;
  o.aa_limit = 50;
  const double g1[4] = {0, 0.05, 0.1, 0.2}; /* one seed: bit i = grid ε i */
  memcpy(o.smoothing, g1, sizeof g1);
  o.n_smoothing = 4;
  assert_int_equal(aa_cells(&o, &data, &j), 0x5); /* 0 and 0.1 */
  assert_true(j == 0.1);
  const double g2[3] = {0.2, 0, 0.05}; /* no 0.1: the smoothed ε nearest it */
  memcpy(o.smoothing, g2, sizeof g2);
  o.n_smoothing = 3;
  assert_int_equal(aa_cells(&o, &data, &j), 0x6); /* 0 and 0.05 */
  assert_true(j == 0.05);
  const double g3[3] = {0.05, 0.2, 0}; /* the same grid in another order */
  memcpy(o.smoothing, g3, sizeof g3);
  assert_int_equal(aa_cells(&o, &data, &j), 0x5); /* 0.05 and 0 */
  assert_true(j == 0.05);
  memcpy(o.smoothing, g2, sizeof g2);
  o.aa_all = 1;
  assert_int_equal(aa_cells(&o, &data, &j), 0x7);
  o.aa_limit = 0;
  assert_int_equal(aa_cells(&o, &data, &j), 0);
  lsp_splits_free(&data);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cell_against_modules),
      cmocka_unit_test(test_cell_calib_intervals),
      cmocka_unit_test(test_aa_cells),
      cmocka_unit_test(test_aa_size),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
