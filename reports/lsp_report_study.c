/* lsp_report_study.c — the "study" object of results.json (DESIGN §4 and
 * §9): the cells' summaries, the trends against ε with their seed spread,
 * and every comparison with ε = 0 with its interval (DESIGN §9.4) and
 * the verdict its summary would give. Keys from lsp_results_schema.h. */
#include <math.h>

#include "reports/lsp_findings.h"
#include "reports/lsp_report_int.h"
#include "reports/lsp_results_schema.h"

#define K(f) lsp_results_key(LSP_RF_##f)

void lsp_report_study_json(lsp_json *j, const lsp_run_state *s, const lsp_findings *f) {
  if (!f->has_study) return;
  const lsp_study *st = &f->study;
  lsp_json_key(j, K(STUDY));
  lsp_json_obj_begin(j);
  lsp_json_key(j, K(SY_SUMMARIES));
  lsp_json_arr_begin(j);
  for (int m = 0; m < LSP_CELL_NSTAT; m++) lsp_json_str(j, lsp_cell_stat_name(m));
  lsp_json_arr_end(j);
  lsp_json_key_int(j, K(SY_EXAMPLE_RESAMPLES), (long long)st->B);
  lsp_json_key_num(j, K(SY_MARGIN), LSP_STUDY_EQ_MARGIN);
  lsp_json_key_num(j, K(SY_JUDGED_EPS), st->judged < st->n_eps ? st->eps[st->judged] : NAN);
  lsp_json_key_int(j, K(SY_MIN_SEEDS), LSP_STUDY_MIN_SEEDS);
  lsp_json_key(j, K(SY_CELLS));
  lsp_json_arr_begin(j);
  for (size_t i = 0; i < s->ncells; i++) {
    const lsp_cell_result *c = &s->cells[i];
    lsp_json_obj_begin(j);
    lsp_json_key_num(j, K(CE_EPS), c->key.eps);
    lsp_json_key_int(j, K(CE_SEED), (long long)c->key.seed);
    lsp_json_key_bool(j, K(CE_CACHED), c->cached);
    lsp_json_key_nums(j, K(CE_VALUES), c->value, LSP_CELL_NSTAT);
    double sec[3] = {c->seconds_train, c->seconds_analysis, c->seconds_attacks};
    lsp_json_key_nums(j, K(CE_SECONDS), sec, 3);
    /* each value's per-cell interval (the percentile of the cell's own
     * resamples; the calibration errors' test inversion), as the report's
     * summary table quotes it */
    double lo[LSP_CELL_NSTAT], hi[LSP_CELL_NSTAT];
    for (int m = 0; m < LSP_CELL_NSTAT; m++) lsp_study_cell_interval(c, m, &lo[m], &hi[m]);
    lsp_json_key_nums(j, K(CE_LO), lo, LSP_CELL_NSTAT);
    lsp_json_key_nums(j, K(CE_HI), hi, LSP_CELL_NSTAT);
    lsp_json_obj_end(j);
  }
  lsp_json_arr_end(j);
  lsp_json_key(j, K(SY_TRENDS));
  lsp_json_arr_begin(j);
  for (int m = 0; m < LSP_CELL_NSTAT; m++)
    for (size_t e = 0; e < st->n_eps; e++) {
      const lsp_study_trend *t = &st->trend[e][m];
      lsp_json_obj_begin(j);
      lsp_json_key_str(j, K(TD_SUMMARY), lsp_cell_stat_name(m));
      lsp_json_key_num(j, K(TD_EPS), st->eps[e]);
      lsp_json_key_int(j, K(TD_N), (long long)t->n);
      lsp_json_key_num(j, K(TD_MEAN), t->mean);
      lsp_json_key_num(j, K(TD_SD), t->sd);
      lsp_json_key_num(j, K(TD_MIN), t->min);
      lsp_json_key_num(j, K(TD_MAX), t->max);
      lsp_json_obj_end(j);
    }
  lsp_json_arr_end(j);
  lsp_json_key(j, K(SY_COMPARISONS));
  lsp_json_arr_begin(j);
  for (int m = 0; m < LSP_CELL_NSTAT; m++)
    for (size_t e = 0; e < st->n_eps && st->base < st->n_eps; e++) {
      if (e == st->base) continue;
      const lsp_study_cmp *c = &st->cmp[e][m];
      lsp_json_obj_begin(j);
      lsp_json_key_str(j, K(SC_SUMMARY), lsp_cell_stat_name(m));
      lsp_json_key_num(j, K(SC_EPS), c->eps);
      lsp_json_key_int(j, K(SC_SEEDS), (long long)c->seeds);
      lsp_json_key_num(j, K(SC_MEAN), c->mean_eps);
      lsp_json_key_num(j, K(SC_MEAN_BASE), c->mean_base);
      lsp_json_key_num(j, K(SC_DIFF), c->diff);
      double ci[2] = {c->lo, c->hi};
      lsp_json_key_nums(j, K(SC_CI), ci, 2);
      lsp_json_key_num(j, K(SC_SD_SEED), c->sd_seed);
      lsp_json_key_num(j, K(SC_HALF_SEED), c->half_seed);
      lsp_json_key_num(j, K(SC_HALF_EXAMPLE), c->half_ex);
      lsp_json_key_nums(j, K(SC_PER_SEED), c->per_seed, c->seeds);
      lsp_json_key_bool(j, K(SC_AGREE), c->agree);
      lsp_json_key_bool(j, K(SC_FEW_SEEDS), c->few_seeds);
      int dir = lsp_findings_direction(m);
      /* a comparison that does not exist (the summary not measured on
       * both arms, e.g. AutoAttack not run) has no verdict: null */
      if (dir)
        lsp_json_key_str(j, K(SC_VERDICT),
                         isnan(c->diff) ? NULL : lsp_finding_word(lsp_study_verdict(c, dir)));
      else if (lsp_findings_no_verdict(m)) /* a Δ, but no effect of smoothing */
        lsp_json_key_str(j, K(SC_VERDICT), NULL);
      lsp_json_obj_end(j);
    }
  lsp_json_arr_end(j);
  lsp_json_obj_end(j);
}
