/* test_calib — the calibration metrics against independent numbers: the
 * shared vectors (tests/data/calibration.txt, parsed here), hand
 * computations, the loss module's reference cross-entropy; the exactness of
 * chunked/merged/threaded accumulation; every bad input. The kernels'
 * paths are in test_calib_paths.c, the bootstrap and temperature scaling in
 * test_calib_stats.c. */
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/lsp_calib.h"
#include "core/base/lsp_cpu.h"
#include "core/base/lsp_error.h"
#include "core/loss/lsp_loss.h"
#include "testutil.h"

/* ---- tests/data/calibration.txt ----------------------------------------- */

typedef struct {
  char name[128];
  int bins, k, edges, nconf, nprob, ny;
  double conf[64], probs[256];
  uint8_t correct[64];
  int32_t labels[64];
  double ece, rms, mce;
  int has_rms, has_mce;
} vcase;

static int read_doubles(char *s, double *out, int cap) {
  int n = 0;
  for (char *t = strtok(s, " \t\n"); t; t = strtok(NULL, " \t\n")) {
    if (strcmp(t, "|") == 0) continue;
    assert_true(n < cap);
    out[n++] = strtod(t, NULL);
  }
  return n;
}

static void run_case(const vcase *c) {
  lsp_calib_acc *a = lsp_calib_acc_alloc(c->bins, c->nconf ? 0 : (size_t)c->k,
                                         c->edges ? LSP_CALIB_EDGES_LEFT : LSP_CALIB_EDGES_RIGHT,
                                         c->nconf ? LSP_CALIB_TOP : LSP_CALIB_FULL);
  assert_non_null(a);
  float pf[256];
  if (c->nconf) {
    assert_int_equal(lsp_calib_acc_add_conf(a, c->conf, c->correct, (size_t)c->nconf, 0), 0);
  } else {
    for (int i = 0; i < c->nprob; i++) pf[i] = (float)c->probs[i];
    assert_int_equal(c->nprob, c->ny * c->k);
    assert_int_equal(lsp_calib_acc_add_probs(a, pf, c->labels, (size_t)c->ny, 0, 1), 0);
  }
  lsp_calib_result r;
  assert_int_equal(lsp_calib_acc_finalize(a, &r), 0);
  td_close(r.value[LSP_CALIB_ECE], c->ece, 0, 1e-6, c->name, 0);
  if (c->has_rms) td_close(r.value[LSP_CALIB_RMSCE], c->rms, 0, 1e-6, c->name, 1);
  if (c->has_mce) td_close(r.value[LSP_CALIB_MCE], c->mce, 0, 1e-6, c->name, 2);
  lsp_calib_result_release(&r);
  lsp_calib_acc_free(a);
  if (!c->nconf) { /* the per-row table agrees */
    lsp_calib_rows *rows = NULL;
    lsp_calib_opts o = {c->bins, c->edges ? LSP_CALIB_EDGES_LEFT : LSP_CALIB_EDGES_RIGHT,
                        LSP_CALIB_BINNING_WIDTH, 0.0};
    assert_int_equal(lsp_calib_rows_from_probs(pf, c->labels, (size_t)c->ny, (size_t)c->k,
                                               NULL, &rows), 0);
    assert_int_equal(lsp_calib_rows_score(rows, &o, &r), 0);
    td_close(r.value[LSP_CALIB_ECE], c->ece, 0, 1e-6, c->name, 3);
    lsp_calib_result_release(&r);
    lsp_calib_rows_free(rows);
  }
}

static void test_vectors(void **state) {
  (void)state;
  FILE *f = fopen(td_path("calibration.txt"), "r");
  assert_non_null(f);
  char line[4096];
  vcase c;
  int ncase = 0, in = 0, saw_one = 0, saw_left = 0;
  while (fgets(line, sizeof line, f)) {
    char *h = strchr(line, '#');
    if (h) *h = '\0';
    char key[32] = "";
    int off = 0;
    if (sscanf(line, "%31s %n", key, &off) < 1) continue;
    char *rest = line + off;
    if (strcmp(key, "case") == 0) {
      memset(&c, 0, sizeof c);
      sscanf(rest, "%127s", c.name);
      in = 1;
    } else if (!in) {
      fail_msg("calibration.txt: '%s' outside a case", key);
    } else if (strcmp(key, "bins") == 0) {
      c.bins = atoi(rest);
    } else if (strcmp(key, "edges") == 0) {
      c.edges = strncmp(rest, "left", 4) == 0;
      saw_left |= c.edges;
    } else if (strcmp(key, "k") == 0) {
      c.k = atoi(rest);
    } else if (strcmp(key, "conf") == 0) {
      c.nconf = read_doubles(rest, c.conf, 64);
      for (int i = 0; i < c.nconf; i++) saw_one |= c.conf[i] == 1.0;
    } else if (strcmp(key, "correct") == 0) {
      double v[64];
      int n = read_doubles(rest, v, 64);
      for (int i = 0; i < n; i++) c.correct[i] = (uint8_t)v[i];
    } else if (strcmp(key, "probs") == 0) {
      c.nprob = read_doubles(rest, c.probs, 256);
    } else if (strcmp(key, "labels") == 0) {
      double v[64];
      c.ny = read_doubles(rest, v, 64);
      for (int i = 0; i < c.ny; i++) c.labels[i] = (int32_t)v[i];
    } else if (strcmp(key, "expect") == 0) {
      char *t = strtok(rest, " \t\n");
      while (t) {
        char *v = strtok(NULL, " \t\n");
        assert_non_null(v);
        if (strcmp(t, "ece") == 0) c.ece = strtod(v, NULL);
        else if (strcmp(t, "rms") == 0) c.rms = strtod(v, NULL), c.has_rms = 1;
        else if (strcmp(t, "mce") == 0) c.mce = strtod(v, NULL), c.has_mce = 1;
        else fail_msg("calibration.txt: unknown expectation '%s'", t);
        t = strtok(NULL, " \t\n");
      }
    } else if (strcmp(key, "end") == 0) {
      run_case(&c);
      ncase++;
      in = 0;
    }
  }
  fclose(f);
  assert_int_equal(ncase, 6); /* every case of the file ran */
  assert_true(saw_one && saw_left);
}

/* ---- ACE and classwise ECE by hand --------------------------------------- */

/* K = 2 rows (c, 1-c) with c >= 0.5: the top label is class 0 (ties go to
 * the lowest index), so label 0 = correct, 1 = wrong. */
static double ace_of(const double *conf, const int *correct, size_t n, int bins) {
  float p[64];
  int32_t y[32];
  for (size_t i = 0; i < n; i++) {
    p[2 * i] = (float)conf[i];
    p[2 * i + 1] = (float)(1.0 - conf[i]);
    y[i] = correct[i] ? 0 : 1;
  }
  lsp_calib_rows *r = NULL;
  lsp_calib_result res;
  lsp_calib_opts o = {bins, LSP_CALIB_EDGES_RIGHT, LSP_CALIB_BINNING_MASS, 0.0};
  assert_int_equal(lsp_calib_rows_from_probs(p, y, n, 2, NULL, &r), 0);
  assert_int_equal(lsp_calib_rows_score(r, &o, &res), 0);
  double ace = res.value[LSP_CALIB_ACE];
  lsp_calib_result_release(&res);
  lsp_calib_rows_free(r);
  return ace;
}

static void test_ace_hand(void **state) {
  (void)state;
  /* Ties: three rows at 0.5 (correct, wrong, wrong) then 0.8 (correct),
   * M = 2. Stable order keeps rows 0,1 in bin 1: gaps 0 and |0.5-0.65|,
   * ACE = 0.5*0.15 = 0.075 (another tie order would give 0.425). */
  double c1[] = {0.5, 0.5, 0.5, 0.8};
  int k1[] = {1, 0, 0, 1};
  td_close(ace_of(c1, k1, 4, 2), 0.075, 0, 1e-6, "ace ties", 0);
  /* N = 5, M = 2: sizes 3 and 2 (the first N mod M bins one larger).
   * Sorted: .55(0) .6(1) .7(0) | .9(1) .95(1): gaps |1/3 - 1.85/3| and
   * |1 - .925| -> 0.6*0.283333 + 0.4*0.075 = 0.2. */
  double c2[] = {0.6, 0.9, 0.7, 0.55, 0.95};
  int k2[] = {1, 1, 0, 0, 1};
  td_close(ace_of(c2, k2, 5, 2), 0.2, 0, 1e-6, "ace 3+2", 0);
  /* N < M: N = 2, M = 3 -> sizes 1, 1, 0: 0.5*|1-.7| + 0.5*|0-.8| = 0.55. */
  double c3[] = {0.7, 0.8};
  int k3[] = {1, 0};
  td_close(ace_of(c3, k3, 2, 3), 0.55, 0, 1e-6, "ace N<M", 0);
  /* M = 1: ACE = |accuracy - mean confidence| = |0.6 - 0.74| */
  td_close(ace_of(c2, k2, 5, 1), 0.14, 0, 1e-6, "ace one bin", 0);
}

static void test_classwise_hand(void **state) {
  (void)state;
  /* torchmetrics' 4×3 example, M = 3 right-closed bins. By hand:
   * class 0: p = .25 .55 .10 .90, y=0 at rows 0,3 -> .1625+.1375+.025 = .325
   * class 1: all in bin 1, mean .15 vs .25               -> .1
   * class 2: p = .55 .40 .60 | .05 -> .75*|1/3-.516667| + .25*.05 = .15
   * mean = 0.575/3. Accuracy .5; NLL -mean log(.25,.05,.6,.9); Brier
   * (.905 + 1.365 + .26 + .015)/4 = .63625. */
  float p[] = {0.25f, 0.20f, 0.55f, 0.55f, 0.05f, 0.40f, 0.10f, 0.30f, 0.60f, 0.90f, 0.05f, 0.05f};
  int32_t y[] = {0, 1, 2, 0};
  lsp_calib_acc *a = lsp_calib_acc_alloc(3, 3, LSP_CALIB_EDGES_RIGHT, LSP_CALIB_FULL);
  lsp_calib_result r;
  assert_int_equal(lsp_calib_acc_add_probs(a, p, y, 4, 0, 1), 0);
  assert_int_equal(lsp_calib_acc_finalize(a, &r), 0);
  td_close(r.value[LSP_CALIB_CLASSWISE_ECE], 0.575 / 3.0, 0, 1e-6, "classwise", 0);
  td_close(r.value[LSP_CALIB_ACCURACY], 0.5, 0, 1e-12, "accuracy", 0);
  td_close(r.value[LSP_CALIB_NLL], -(log(0.25) + log(0.05) + log(0.6) + log(0.9)) / 4, 0, 1e-6,
           "nll", 0);
  td_close(r.value[LSP_CALIB_BRIER], 0.63625, 0, 1e-6, "brier", 0);
  /* over/under split: ECE = over + under; here bins give gaps -.2333 (.55 bin:
   * conf .55 acc 0), +.1 (.6 bin... ) -- check the identity and signs */
  td_close(r.value[LSP_CALIB_OVER_CONFIDENCE] + r.value[LSP_CALIB_UNDER_CONFIDENCE],
           r.value[LSP_CALIB_ECE], 0, 1e-15, "over+under", 0);
  lsp_calib_result_release(&r);
  lsp_calib_acc_free(a);
}

/* NLL from logits against the loss module's reference cross-entropy (eps 0)
 * on the PyTorch dump, at every instruction-set level this CPU runs (each
 * has its own row function and logarithm). */
static void test_nll_logits(void **state) {
  (void)state;
  lsp_array z = {0}, ya = {0};
  td_load("lsce_n1024_k10_eps0.1/logits.npy", &z);
  td_load("lsce_n1024_k10_eps0.1/labels.npy", &ya);
  int32_t *y = NULL;
  assert_int_equal(lsp_array_labels(&ya, "labels", 10, &y), 0);
  lsp_ls ls = {0.0, LSP_LS_UNIFORM, 0};
  double ref = 0.0;
  assert_int_equal(lsp_loss_xent_ref(z.data, y, 1024, 10, &ls, NULL, 1.0, &ref), 0);
  const char *isa[] = {NULL, "x86-64-v3", "x86-64"};
  for (int l = 0; l < 3; l++) {
    assert_int_equal(lsp_cpu_isa_cap(isa[l]), 0);
    lsp_calib_acc *a = lsp_calib_acc_alloc(15, 10, LSP_CALIB_EDGES_RIGHT, LSP_CALIB_FULL);
    lsp_calib_result r;
    assert_int_equal(lsp_calib_acc_add_logits(a, z.data, y, 1024, 0, 1.0, 2), 0);
    assert_int_equal(lsp_calib_acc_finalize(a, &r), 0);
    td_close(r.value[LSP_CALIB_NLL], ref, 1e-12, 0, "nll vs xent_ref", l);
    lsp_calib_result_release(&r);
    lsp_calib_acc_free(a);
  }
  assert_int_equal(lsp_cpu_isa_cap(NULL), 0);
  free(y);
  lsp_array_release(&z);
  lsp_array_release(&ya);
}

#include "calib_synth.h"

static void assert_acc_equal(const lsp_calib_acc *a, const lsp_calib_acc *b) {
  size_t m = (size_t)a->bins;
  assert_true(a->n == b->n && a->n_correct == b->n_correct && a->n_nll_inf == b->n_nll_inf);
  assert_memory_equal(a->count, b->count, m * sizeof *a->count);
  assert_memory_equal(a->correct, b->correct, m * sizeof *a->correct);
  assert_memory_equal(a->conf, b->conf, m * sizeof *a->conf);
  assert_memory_equal(&a->nll, &b->nll, sizeof a->nll);
  assert_memory_equal(&a->brier, &b->brier, sizeof a->brier);
  if (a->cw_count) {
    assert_memory_equal(a->cw_count, b->cw_count, a->k * m * sizeof *a->cw_count);
    assert_memory_equal(a->cw_pos, b->cw_pos, a->k * m * sizeof *a->cw_pos);
    assert_memory_equal(a->cw_sum, b->cw_sum, a->k * m * sizeof *a->cw_sum);
  }
  assert_true((a->mesh_w == NULL) == (b->mesh_w == NULL));
  if (a->mesh_w) { /* SmoothECE's mesh */
    assert_memory_equal(a->mesh_w, b->mesh_w, LSP_SMECE_NODES * sizeof *a->mesh_w);
    assert_memory_equal(a->mesh_c, b->mesh_c, LSP_SMECE_NODES * sizeof *a->mesh_c);
    assert_memory_equal(a->mesh_y, b->mesh_y, LSP_SMECE_NODES * sizeof *a->mesh_y);
  }
}

/* Chunked, sharded, merged and threaded accumulation equal one pass bit for
 * bit (integer and fixed-point sums), for probabilities (fast and full
 * paths) and logits. The chunks come on 1, 2 and 3 threads in turn, each
 * first with a bad label in its last row: refused, it must leave nothing
 * behind, neither in the accumulator nor in the workspaces it keeps
 * between calls (the other threads' valid ranges included). */
static void test_chunked_exact(void **state) {
  (void)state;
  const size_t n = 10007, k = 7;
  float *p = malloc(n * k * sizeof *p), *z = malloc(n * k * sizeof *z);
  int32_t *y = malloc(n * sizeof *y), *yz = malloc(n * sizeof *yz), *yb = malloc(n * sizeof *yb);
  random_probs(n, k, 7, p, y);
  calibrated_logits(n, k, 2.385, 8, z, yz);
  const size_t cuts[] = {0, 1, 18, 1018, 4093, 9000, n};
  for (int mode = 0; mode < 3; mode++) { /* top probs, full probs, full logits */
    int what = mode == 0 ? LSP_CALIB_TOP : LSP_CALIB_FULL;
    const float *x = mode == 2 ? z : p;
    const int32_t *yy = mode == 2 ? yz : y;
#define ADDY(acc, lab, off, cnt, thr)                                                 \
  (mode == 2 ? lsp_calib_acc_add_logits(acc, x + (off) * k, lab + (off), cnt, off, 1.0, thr) \
             : lsp_calib_acc_add_probs(acc, x + (off) * k, lab + (off), cnt, off, thr))
#define ADD(acc, off, cnt, thr) ADDY(acc, yy, off, cnt, thr)
    lsp_calib_acc *one = lsp_calib_acc_alloc(15, k, LSP_CALIB_EDGES_RIGHT, what);
    lsp_calib_acc *chunk = lsp_calib_acc_alloc(15, k, LSP_CALIB_EDGES_RIGHT, what);
    lsp_calib_acc *sh1 = lsp_calib_acc_alloc(15, k, LSP_CALIB_EDGES_RIGHT, what);
    lsp_calib_acc *sh2 = lsp_calib_acc_alloc(15, k, LSP_CALIB_EDGES_RIGHT, what);
    lsp_calib_acc *thr = lsp_calib_acc_alloc(15, k, LSP_CALIB_EDGES_RIGHT, what);
    assert_int_equal(ADD(one, 0, n, 1), 0);
    for (int c = 0; c + 1 < 7; c++) {
      const size_t off = cuts[c], cnt = cuts[c + 1] - cuts[c];
      memcpy(yb, yy, n * sizeof *yb);
      yb[off + cnt - 1] = (int32_t)k;
      assert_int_equal(ADDY(chunk, yb, off, cnt, 1 + c % 3), LSP_EDATA);
      assert_int_equal(ADD(chunk, off, cnt, 1 + c % 3), 0);
    }
    assert_acc_equal(one, chunk);
    /* shards in the opposite order, merged */
    assert_int_equal(ADD(sh2, 5003, n - 5003, 1), 0);
    assert_int_equal(ADD(sh1, 0, 5003, 1), 0);
    assert_int_equal(lsp_calib_acc_merge(sh2, sh1), 0);
    assert_acc_equal(one, sh2);
    assert_int_equal(ADD(thr, 0, n, 2), 0);
    assert_acc_equal(one, thr);
    lsp_calib_result r1, r2;
    assert_int_equal(lsp_calib_acc_finalize(one, &r1), 0);
    assert_int_equal(lsp_calib_acc_finalize(sh2, &r2), 0);
    assert_memory_equal(r1.value, r2.value, sizeof r1.value);
    lsp_calib_result_release(&r2);
    if (mode > 0) { /* the per-row table computes the same numbers exactly */
      lsp_calib_rows *rows = NULL;
      lsp_calib_opts o = lsp_calib_opts_default();
      assert_int_equal(mode == 2 ? lsp_calib_rows_from_logits(z, yz, n, k, 1.0, NULL, &rows)
                                 : lsp_calib_rows_from_probs(p, y, n, k, NULL, &rows),
                       0);
      assert_int_equal(lsp_calib_rows_score(rows, &o, &r2), 0);
      for (int m = 0; m < LSP_CALIB_NMETRIC; m++)
        if (r1.has[m]) assert_true(r1.value[m] == r2.value[m]); /* not ACE, ECE-sweep */
      lsp_calib_result_release(&r2);
      lsp_calib_rows_free(rows);
    }
    lsp_calib_result_release(&r1);
    lsp_calib_acc_free(one);
    lsp_calib_acc_free(chunk);
    lsp_calib_acc_free(sh1);
    lsp_calib_acc_free(sh2);
    lsp_calib_acc_free(thr);
#undef ADD
#undef ADDY
  }
  free(p);
  free(z);
  free(y);
  free(yz);
  free(yb);
}

/* Every bad input is a clear error naming the row, never a crash or NaN. */
static void test_bad_inputs(void **state) {
  (void)state;
  float good[] = {0.7f, 0.3f, 0.2f, 0.8f};
  int32_t y[] = {0, 1};
  struct {
    float p[4];
    int32_t y[2];
    const char *needle;
  } cases[] = {
      {{0.7f, 0.3f, NAN, 0.8f}, {0, 1}, "row 1"},
      {{0.7f, 0.3f, INFINITY, 0.8f}, {0, 1}, "row 1"},
      {{1.2f, -0.2f, 0.2f, 0.8f}, {0, 1}, "outside [0, 1]"},
      {{0.7f, 0.2f, 0.2f, 0.8f}, {0, 1}, "sum to"},
      {{0.7f, 0.3f, 0.2f, 0.8f}, {0, 2}, "label 2 out of range"},
      {{0.7f, 0.3f, 0.2f, 0.8f}, {-1, 1}, "label -1 out of range"},
  };
  for (int what = 0; what < 2; what++)
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
      lsp_calib_acc *a = lsp_calib_acc_alloc(15, 2, LSP_CALIB_EDGES_RIGHT, what);
      assert_int_equal(lsp_calib_acc_add_probs(a, good, y, 2, 0, 1), 0);
      assert_int_equal(lsp_calib_acc_add_probs(a, cases[c].p, cases[c].y, 2, 0, 1), LSP_EDATA);
      if (!strstr(lsp_errmsg(), cases[c].needle))
        fail_msg("case %zu: '%s' lacks '%s'", c, lsp_errmsg(), cases[c].needle);
      assert_int_equal(a->n, 2); /* unchanged by the failed add */
      lsp_calib_acc_free(a);
      lsp_calib_rows *r = NULL;
      assert_int_equal(lsp_calib_rows_from_probs(cases[c].p, cases[c].y, 2, 2, "P.npy", &r),
                       LSP_EDATA);
      assert_null(r);
      assert_non_null(strstr(lsp_errmsg(), "P.npy"));
    }
  float zbad[] = {1.0f, NAN, 0.0f, 1.0f};
  lsp_calib_acc *a = lsp_calib_acc_alloc(15, 2, LSP_CALIB_EDGES_RIGHT, LSP_CALIB_FULL);
  assert_int_equal(lsp_calib_acc_add_logits(a, zbad, y, 2, 100, 1.0, 1), LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "row 100: non-finite logit"));
  assert_int_equal(lsp_calib_acc_add_logits(a, good, y, 2, 0, 0.0, 1), LSP_EINVAL);
  /* zero rows */
  lsp_calib_result res;
  assert_int_equal(lsp_calib_acc_finalize(a, &res), LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "zero examples"));
  lsp_calib_rows *r = NULL;
  assert_int_equal(lsp_calib_rows_from_probs(good, y, 0, 2, NULL, &r), LSP_EDATA);
  /* bins <= 0, mismatched merge, bad names */
  assert_null(lsp_calib_acc_alloc(0, 2, LSP_CALIB_EDGES_RIGHT, LSP_CALIB_TOP));
  assert_null(lsp_calib_acc_alloc(-3, 2, LSP_CALIB_EDGES_RIGHT, LSP_CALIB_TOP));
  assert_non_null(strstr(lsp_errmsg(), "bins"));
  lsp_calib_acc *b = lsp_calib_acc_alloc(10, 2, LSP_CALIB_EDGES_RIGHT, LSP_CALIB_FULL);
  assert_int_equal(lsp_calib_acc_merge(a, b), LSP_EINVAL);
  assert_int_equal(lsp_calib_rows_from_probs(good, y, 2, 2, NULL, &r), 0);
  lsp_calib_opts o = {0, LSP_CALIB_EDGES_RIGHT, LSP_CALIB_BINNING_WIDTH, 0.0};
  assert_int_equal(lsp_calib_rows_score(r, &o, &res), LSP_EINVAL);
  lsp_calib_edges e;
  lsp_calib_binning bn;
  assert_int_equal(lsp_calib_edges_parse("middle", &e), LSP_EINVAL);
  assert_int_equal(lsp_calib_binning_parse("quantile", &bn), LSP_EINVAL);
  assert_int_equal(lsp_calib_edges_parse("left", &e), 0);
  assert_int_equal(e, LSP_CALIB_EDGES_LEFT);
  lsp_calib_rows_free(r);
  lsp_calib_acc_free(a);
  lsp_calib_acc_free(b);
  lsp_calib_acc_free(NULL);
  lsp_calib_rows_free(NULL);
}

/* A zero probability on the true class: NLL is +inf (flagged, JSON null),
 * everything else finite; the JSON carries the DESIGN §4 names. */
static void test_nll_infinite_and_json(void **state) {
  (void)state;
  float p[] = {1.0f, 0.0f, 0.25f, 0.75f};
  int32_t y[] = {1, 1};
  lsp_calib_rows *r = NULL;
  lsp_calib_result res;
  lsp_calib_opts o = lsp_calib_opts_default();
  lsp_calib_boot b = {50, 3, 1, LSP_CALIB_CI_PERCENTILE};
  assert_int_equal(lsp_calib_rows_from_probs(p, y, 2, 2, NULL, &r), 0);
  assert_int_equal(lsp_calib_rows_score(r, &o, &res), 0);
  assert_true(isinf(res.value[LSP_CALIB_NLL]) && res.nll_infinite);
  td_close(res.value[LSP_CALIB_BRIER], (2.0 + 0.125) / 2.0, 0, 1e-12, "brier", 0);
  td_close(res.value[LSP_CALIB_ECE], 0.5 * 1.0 + 0.5 * 0.25, 0, 1e-12, "ece", 0);
  assert_int_equal(lsp_calib_bootstrap(r, &o, &b, &res), 0);
  FILE *f = tmpfile();
  lsp_json j;
  lsp_json_init(&j, f, 0);
  lsp_json_obj_begin(&j);
  lsp_calib_result_json(&res, &j);
  lsp_json_obj_end(&j);
  assert_int_equal(lsp_json_finish(&j), 0);
  char buf[8192] = "";
  rewind(f);
  size_t got = fread(buf, 1, sizeof buf - 1, f);
  buf[got] = '\0';
  fclose(f);
  const char *want[] = {"\"accuracy\":", "\"nll\":null", "\"nll_infinite\":true", "\"brier\":",
                        "\"ece\":", "\"mce\":", "\"rmsce\":", "\"ace\":", "\"classwise_ece\":",
                        "\"over_confidence\":", "\"under_confidence\":", "\"temperature\":1",
                        "\"bins\":[", "\"count\":1", "\"confidence\":1", "\"accuracy\":0",
                        "\"ece_ci\":[", "\"confidence\":null"};
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
    if (!strstr(buf, want[i])) fail_msg("JSON lacks %s: %s", want[i], buf);
  lsp_calib_result_release(&res);
  lsp_calib_rows_free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_vectors),
      cmocka_unit_test(test_ace_hand),
      cmocka_unit_test(test_classwise_hand),
      cmocka_unit_test(test_nll_logits),
      cmocka_unit_test(test_chunked_exact),
      cmocka_unit_test(test_bad_inputs),
      cmocka_unit_test(test_nll_infinite_and_json),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
