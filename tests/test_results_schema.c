/* The results.json contract (reports/lsp_results_schema.h): a quick run
 * writes results.json, which validates against the table and reads back
 * through compare's reader with exactly the numbers stored under DESIGN §4's
 * field names; renamed, mistyped or malformed fields are caught naming the
 * field, in both parts of the table (the members the lower layers write:
 * attacks, AutoAttack's stages, the masking checklist, smooth_curve, the
 * percentile intervals, logit_gap, the clusters); the table's calibration
 * keys are the calibration module's names. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/lsp_calib.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "core/formats/lsp_jsonr.h"
#include "reports/lsp_compare_int.h"
#include "reports/lsp_results_schema.h"
#include "reports/lsp_run.h"
#include "testutil.h"

static char g_out[4096];
static char *g_text; /* results.json */
static size_t g_len;

static int run_once(void **state) {
  (void)state;
  snprintf(g_out, sizeof g_out, "%s", td_tmp("schema_run"));
  lsp_run_opts o;
  lsp_run_opts_default(&o);
  lsp_run_opts_quick(&o);
  o.data = "synthetic:train=600,test=200,dim=16,classes=4";
  o.out = g_out;
  o.threads = 1;
  o.bootstrap = 30;
  o.command = "test_results_schema";
  const char *report = NULL;
  if (lsp_run(&o, NULL, NULL, &report)) {
    fprintf(stderr, "run failed: %s\n", lsp_errmsg());
    return -1;
  }
  char path[4200];
  snprintf(path, sizeof path, "%s/results.json", g_out);
  return lsp_read_file(path, &g_text, &g_len) ? -1 : 0;
}

static int cleanup(void **state) {
  (void)state;
  free(g_text);
  char cmd[4300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_out);
  return system(cmd) == 0 ? 0 : -1;
}

static const lsp_jsonr *at(const lsp_jsonr *v, const char *key) {
  const lsp_jsonr *m = lsp_jsonr_get(v, key);
  if (!m) fail_msg("results.json lacks %s", key);
  return m;
}

static double num_or_nan(const lsp_jsonr *v) {
  return v->type == LSP_JSONR_NUMBER ? v->num : NAN;
}

static void same(double got, double want, const char *what) {
  if (!(got == want || (isnan(got) && isnan(want))))
    fail_msg("%s: compare read %.17g, results.json has %.17g", what, got, want);
}

/* The writer's output passes the table, and compare's reader returns the
 * numbers found under the contract's literal names (DESIGN §4). */
static void test_write_then_read(void **state) {
  (void)state;
  lsp_jsonr_doc *d = NULL;
  assert_int_equal(lsp_jsonr_parse(g_text, g_len, "results.json", &d), 0);
  if (lsp_results_validate(d)) fail_msg("%s", lsp_errmsg());
  cmp_run *runs = calloc(1, sizeof *runs);
  assert_non_null(runs);
  cmp_run r0 = {0};
  runs[0] = r0;
  runs[0].path = g_out; /* a run folder: its results.json is read */
  if (lsp_compare_read_run(&runs[0])) fail_msg("%s", lsp_errmsg());
  const cmp_run r = runs[0];
  const lsp_jsonr *root = lsp_jsonr_root(d), *cfg = at(root, "config"),
                  *models = at(root, "models");
  assert_string_equal(r.data, at(cfg, "data")->str);
  assert_string_equal(r.hash, at(cfg, "data_hash")->str);
  assert_string_equal(r.convention, at(cfg, "convention")->str);
  assert_string_equal(r.version, at(root, "lsprobe_version")->str);
  assert_string_equal(r.command, "test_results_schema");
  same(r.epochs, at(cfg, "epochs")->num, "epochs");
  assert_string_equal(r.arch, "mlp:64");
  assert_string_equal(r.architecture, at(cfg, "architecture")->str);
  assert_non_null(strstr(r.architecture, " dense(units=64,bias=1) relu dense("));
  assert_string_equal(r.smoothing, "0,0.1");
  assert_string_equal(r.attack, "0,0.05,0.1,0.3");
  assert_true(r.quick && r.synthetic);
  assert_int_equal(r.nmodels, models->len);
  assert_true(r.nmodels == 2);
  for (size_t i = 0; i < r.nmodels; i++) {
    const lsp_jsonr *m = models->items[i], *cal = at(m, "calibration"),
                    *calt = at(m, "calibration_temperature_scaled"), *cl = at(m, "clusters");
    const cmp_model *c = &r.models[i];
    assert_string_equal(c->tag, at(m, "tag")->str);
    same(c->eps, at(m, "eps")->num, "eps");
    same(c->seed, at(m, "seed")->num, "seed");
    const char *names[NCI] = {"accuracy", "nll", "ece", "ece"};
    for (int k = 0; k < NCI; k++) {
      const lsp_jsonr *src = k == M_ECET ? calt : cal;
      char ck[32];
      snprintf(ck, sizeof ck, "%s_ci", names[k]);
      same(c->v[k], num_or_nan(at(src, names[k])), names[k]);
      same(c->lo[k], num_or_nan(at(src, ck)->items[0]), ck);
      same(c->hi[k], num_or_nan(at(src, ck)->items[1]), ck);
      assert_true(isfinite(c->lo[k]) && c->lo[k] <= c->hi[k]); /* bootstrapped */
    }
    same(c->temperature,
         at(calt, "temperature_fitted")->b ? num_or_nan(at(calt, "temperature")) : NAN, "T");
    same(c->r2, num_or_nan(at(cl, "r2_separation")), "r2_separation");
    same(c->nc1, num_or_nan(at(cl, "nc1")), "nc1");
    const char *att[2] = {"fgsm", "pgd"};
    for (int a = 0; a < 2; a++) {
      const lsp_jsonr *pts = at(at(at(m, "attacks"), att[a]), "points");
      const curve *cv = a ? &c->pgd : &c->fgsm;
      assert_int_equal(cv->n, pts->len);
      assert_int_equal(cv->n, 4);
      for (size_t e = 0; e < cv->n; e++) {
        same(cv->eps[e], at(pts->items[e], "eps")->num, "points eps");
        same(cv->acc[e], num_or_nan(at(pts->items[e], "accuracy")), "points accuracy");
      }
    }
  }
  lsp_compare_free_runs(runs, 1);
  lsp_jsonr_free(d);
}

/* Validate g_text with its first `from` replaced by `to`: the status, and
 * the message must hold `want`. */
static void mutated(const char *from, const char *to, int want_st, const char *want) {
  char *p = strstr(g_text, from);
  if (!p) fail_msg("results.json has no %s", from);
  size_t a = (size_t)(p - g_text), lf = strlen(from), lt = strlen(to);
  char *t = malloc(g_len - lf + lt + 1);
  assert_non_null(t);
  memcpy(t, g_text, a);
  memcpy(t + a, to, lt);
  memcpy(t + a + lt, p + lf, g_len - a - lf + 1);
  lsp_jsonr_doc *d = NULL;
  assert_int_equal(lsp_jsonr_parse(t, g_len - lf + lt, "x/results.json", &d), 0);
  int st = lsp_results_validate(d);
  if (st != want_st) fail_msg("%s -> %s: status %d, want %d (%s)", from, to, st, want_st,
                              lsp_errmsg());
  if (want && !strstr(lsp_errmsg(), want))
    fail_msg("%s -> %s: message '%s' lacks '%s'", from, to, lsp_errmsg(), want);
  lsp_jsonr_free(d);
  free(t);
}

static void test_violations_named(void **state) {
  (void)state;
  mutated("\"r2_separation\":", "\"r2_sep\":", LSP_EDATA,
          "field models[0].clusters.r2_separation is missing");
  mutated("\"data_hash\": \"", "\"data_hash\": 7, \"x\": \"", LSP_EDATA,
          "field config.data_hash: expected a string, found number");
  mutated("\"seed\": 1", "\"seed\": 1.5", LSP_EDATA,
          "field models[0].seed: expected an integer, found 1.5");
  mutated("\"ece_ci\": [", "\"ece_ci\": [0, ", LSP_EDATA,
          "field models[0].calibration.ece_ci: expected an array of 2 numbers");
  mutated("\"attack_eps\": [", "\"attack_eps\": [\"a\", ", LSP_EDATA,
          "field config.attack_eps[0]: expected a number, found string");
  mutated("\"points\": [", "\"points\": [7, ", LSP_EDATA,
          "field models[0].attacks.fgsm.points[0]: expected an object, found number");
  mutated("\"quick\": ", "\"quick\": null, \"x\": ", LSP_EDATA,
          "field config.quick: expected a boolean, found null");
  /* nullable numbers and optional fields pass */
  mutated("\"nc1\": ", "\"nc1\": null, \"x\": ", LSP_OK, NULL);
  mutated("\"ece_ci\":", "\"ece_ci_gone\":", LSP_OK, NULL);
  mutated("\"transfer\": {", "\"transfer_gone\": {", LSP_OK, NULL);
  /* a study comparison's verdict may be null (no comparison: the summary
   * was not measured on both arms); a string field not marked nullable
   * may not */
  mutated("\"few_seeds\": true,\n        \"verdict\": ",
          "\"few_seeds\": true,\n        \"verdict\": null, \"x\": ", LSP_OK, NULL);
  mutated("\"data_hash\": ", "\"data_hash\": null, \"x\": ", LSP_EDATA,
          "field config.data_hash: expected a string, found null");
  /* numbers outside their domain, intervals upside down, unknown verdicts */
  mutated("\"accuracy\": ", "\"accuracy\": 1.7, \"x\": ", LSP_EDATA,
          "accuracy: expected a number in [0, 1], found 1.7");
  mutated("\"ece\": ", "\"ece\": -0.3, \"x\": ", LSP_EDATA,
          "field models[0].calibration.ece: expected a number in [0, 1], found -0.3");
  mutated("\"n_test\": ", "\"n_test\": -5, \"x\": ", LSP_EDATA,
          "field config.n_test: expected a number > 0, found -5");
  mutated("\"attack_eps\": [", "\"attack_eps\": [-0.1, ", LSP_EDATA,
          "field config.attack_eps[0]: expected a number >= 0, found -0.1");
  mutated("\"ece_ci\": [", "\"ece_ci\": [0.3, 0.1], \"x\": [", LSP_EDATA,
          "field models[0].calibration.ece_ci: expected [lo, hi] with lo <= hi, found [0.3, 0.1]");
  mutated("\"ece_ci\": [", "\"ece_ci\": [0.5, 1.25], \"x\": [", LSP_EDATA,
          "field models[0].calibration.ece_ci[1]: expected a number in [0, 1], found 1.25");
  mutated("\"verdict\": \"", "\"verdict\": \"maybe\", \"x\": \"", LSP_EDATA,
          ".verdict: expected \"supported\", \"contradicted\" or \"inconclusive\", found \"maybe\"");
  /* the bounds themselves pass */
  mutated("\"ece\": ", "\"ece\": 1, \"x\": ", LSP_OK, NULL);
  mutated("\"ece_ci\": [", "\"ece_ci\": [0, 0], \"x\": [", LSP_OK, NULL);
  /* extra members are allowed (a newer writer may add some) */
  mutated("\"threads\":", "\"a_new_field\": [1, 2], \"threads\":", LSP_OK, NULL);
}

/* The members the lower layers write (the second table): the attacks'
 * settings and points, AutoAttack's stages, the masking checklist, the
 * smoothed curve, the percentile intervals, logit_gap, the clusters. The
 * quick run has every one of these objects (AutoAttack on, the checks run,
 * intervals). */
/* run's own check of the file it wrote: the run's results.json passes; the
 * same file with an interval upside down is refused, naming the field and
 * saying whose defect it is. */
static void test_check_file(void **state) {
  (void)state;
  char path[4200];
  snprintf(path, sizeof path, "%s/results.json", g_out);
  assert_int_equal(lsp_results_check_file(path), LSP_OK);
  char *p = strstr(g_text, "\"ece_ci\": [");
  assert_non_null(p);
  snprintf(path, sizeof path, "%s", td_tmp("schema_bad.json"));
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  const size_t a = (size_t)(p - g_text) + strlen("\"ece_ci\": [");
  fwrite(g_text, 1, a, f);
  fputs("0.3, 0.1], \"x\": [", f);
  fwrite(g_text + a, 1, g_len - a, f);
  assert_int_equal(fclose(f), 0);
  assert_int_equal(lsp_results_check_file(path), LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "defect of lsprobe"));
  assert_non_null(strstr(lsp_errmsg(), "models[0].calibration.ece_ci: expected [lo, hi] with lo <= hi"));
  remove(path);
}

static void test_members_named(void **state) {
  (void)state;
  const char *need[] = {"\"stages\": {", "\"gradient_masking\": {", "\"smooth_curve\": {",
                        "_ci_percentile\": [", "\"queries_median\": ", "\"p_value\": "};
  for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
    if (!strstr(g_text, need[i])) fail_msg("the quick run's results.json has no %s", need[i]);
  mutated("\"status\": \"", "\"status\": \"maybe\", \"x\": \"", LSP_EDATA,
          "field models[0].gradient_masking.checks[0].status: expected \"pass\", \"flag\" or "
          "\"skipped\", found \"maybe\"");
  mutated("\"flags\": ", "\"flags\": \"0\", \"x\": ", LSP_EDATA,
          "field models[0].gradient_masking.flags: expected a number, found string");
  mutated("\"p_value\": ", "\"p_value\": 1.5, \"x\": ", LSP_EDATA,
          "field models[0].gradient_masking.checks[0].p_value: expected a number in [0, 1], "
          "found 1.5");
  mutated("\"zero_grad_share\": ", "\"zero_grad_share\": 1.5, \"x\": ", LSP_EDATA,
          "field models[0].attacks.fgsm.points[0].zero_grad_share: expected a number in [0, 1], "
          "found 1.5");
  mutated("\"unread_inputs\": ", "\"unread_inputs\": -1, \"x\": ", LSP_EDATA,
          "field models[0].attacks.fgsm.unread_inputs: expected a number >= 0, found -1");
  mutated("\"step_size\": ", "\"step_size\": true, \"x\": ", LSP_EDATA,
          "field models[0].attacks.pgd.step_size: expected a number or a string, found boolean");
  mutated("\"target\": ", "\"target\": [2], \"x\": ", LSP_EDATA,
          "field models[0].attacks.fgsm.target: expected a number or a string, found array");
  mutated("\"stages\": {", "\"stages\": \"x\", \"y\": {", LSP_EDATA,
          "field models[0].attacks.autoattack.points[0].stages: expected an object, found string");
  mutated("\"apgd-t\": ", "\"apgd-t_gone\": ", LSP_EDATA,
          "field models[0].attacks.autoattack.points[0].stages.apgd-t is missing");
  mutated("\"queries_median\": ", "\"queries_median\": -2, \"x\": ", LSP_EDATA,
          "field models[0].attacks.autoattack.points[0].queries_median: expected a number >= 0");
  mutated("\"t\": [", "\"t\": 0.5, \"x\": [", LSP_EDATA,
          "field models[0].calibration.smooth_curve.t: expected an array, found number");
  mutated("\"ece_ci_percentile\": [", "\"ece_ci_percentile\": [0.3, 0.1], \"x\": [", LSP_EDATA,
          "field models[0].calibration.ece_ci_percentile: expected [lo, hi] with lo <= hi");
  mutated("\"share_above_optimal\": ", "\"share_above_optimal\": 2, \"x\": ", LSP_EDATA,
          "field models[0].logit_gap.share_above_optimal: expected a number in [0, 1], found 2");
  mutated("\"q95\": ", "\"q95\": \"high\", \"x\": ", LSP_EDATA,
          "field models[0].logit_gap.logit_gap.q95: expected a number, found string");
  mutated("\"nc1_rank\": ", "\"nc1_rank\": 1.5, \"x\": ", LSP_EDATA,
          "field models[0].clusters.nc1_rank: expected an integer, found 1.5");
  /* the other values each may take pass: a step size, a target class or
   * "least-likely", a skipped check, a check without paired evidence,
   * members older files lack */
  mutated("\"step_size\": \"2.5*eps/steps\"", "\"step_size\": 0.01", LSP_OK, NULL);
  mutated("\"target\": null", "\"target\": \"least-likely\"", LSP_OK, NULL);
  mutated("\"target\": null", "\"target\": 3", LSP_OK, NULL);
  mutated("\"status\": \"", "\"status\": \"flag\", \"x\": \"", LSP_OK, NULL);
  mutated("\"p_value\": ", "\"p_value\": null, \"x\": ", LSP_OK, NULL);
  mutated("\"unread_inputs\":", "\"unread_inputs_gone\":", LSP_OK, NULL);
  mutated("\"smooth_curve\":", "\"smooth_curve_gone\":", LSP_OK, NULL);
}

/* One name per field: keys set, unique within their object's shape, and the
 * calibration keys are the calibration module's own metric names. */
static void test_table(void **state) {
  (void)state;
  for (int i = 0; i < LSP_RF_COUNT; i++) {
    const lsp_rs_field *f = lsp_results_field((lsp_rf)i);
    assert_non_null(f);
    if (!f->key) fail_msg("field %d has no key", i);
    for (int k = 0; k < i; k++) {
      const lsp_rs_field *g = lsp_results_field((lsp_rf)k);
      if (g->in == f->in && !strcmp(g->key, f->key)) fail_msg("key %s twice", f->key);
    }
  }
  assert_null(lsp_results_field(LSP_RF_COUNT));
  assert_true(lsp_results_nmembers > 0);
  for (size_t i = 0; i < lsp_results_nmembers; i++) {
    const lsp_rs_field *f = &lsp_results_members[i];
    if (!f->key) fail_msg("member %zu has no key", i);
    for (size_t k = 0; k < i; k++)
      if (lsp_results_members[k].in == f->in && !strcmp(lsp_results_members[k].key, f->key))
        fail_msg("member %s twice", f->key);
    for (int k = 0; k < LSP_RF_COUNT; k++) {
      const lsp_rs_field *g = lsp_results_field((lsp_rf)k);
      if (g->in == f->in && !strcmp(g->key, f->key)) fail_msg("%s in both tables", f->key);
    }
  }
  const lsp_rf cal[LSP_CALIB_NMETRIC] = {
      LSP_RF_CAL_ACCURACY, LSP_RF_CAL_NLL, LSP_RF_CAL_BRIER, LSP_RF_CAL_ECE,
      LSP_RF_CAL_MCE, LSP_RF_CAL_RMSCE, LSP_RF_CAL_ACE, LSP_RF_CAL_CLASSWISE_ECE,
      LSP_RF_CAL_OVER_CONFIDENCE, LSP_RF_CAL_UNDER_CONFIDENCE, LSP_RF_CAL_ECE_DEBIASED,
      LSP_RF_CAL_ECE_L2_DEBIASED, LSP_RF_CAL_ECE_SWEEP, LSP_RF_CAL_SMECE, LSP_RF_CAL_SMECE_SIGMA};
  for (int m = 0; m < LSP_CALIB_NMETRIC; m++) {
    assert_string_equal(lsp_results_key(cal[m]), lsp_calib_metric_name(m));
    char pk[64]; /* every metric's percentile interval is listed */
    snprintf(pk, sizeof pk, "%s_ci_percentile", lsp_calib_metric_name(m));
    size_t i = 0;
    while (i < lsp_results_nmembers &&
           !(lsp_results_members[i].in == LSP_RS_CALIB && !strcmp(lsp_results_members[i].key, pk)))
      i++;
    if (i == lsp_results_nmembers) fail_msg("%s is not in the table", pk);
  }
  assert_string_equal(lsp_results_key(LSP_RF_CAL_ECE_CI), "ece_ci");
  assert_string_equal(lsp_results_key(LSP_RF_CL_R2_SEPARATION), "r2_separation");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_table),
      cmocka_unit_test(test_write_then_read),
      cmocka_unit_test(test_violations_named),
      cmocka_unit_test(test_members_named),
      cmocka_unit_test(test_check_file),
  };
  return cmocka_run_group_tests(tests, run_once, cleanup);
}
