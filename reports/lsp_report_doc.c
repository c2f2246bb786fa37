/* lsp_report_doc.c — report.html and report.md of `lsprobe run`
 * (lsp_report_int.h): what was run, the findings, the tables and the
 * figures with the prose that says how to read them. */
#define _POSIX_C_SOURCE 200809L
#include <gsl/gsl_version.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "reports/lsp_doc.h"
#include "reports/lsp_html.h"
#include "reports/lsp_md.h"
#include "reports/lsp_report_int.h"
#include "reports/lsp_table.h"

typedef lsp_report_plotter plotter;

/* A figure in both documents: Markdown points at the requested format (the
 * SVG unless png/pdf was asked for). */
/* A per-model figure's caption; with several seeds it says which models
 * the figure shows (lsp_report_shown_models: those of the smallest seed). */
static const char *model_caption(char *buf, size_t len, const lsp_run_state *s, const char *text) {
  if (s->opts.n_seeds > 1)
    snprintf(buf, len, "%s Models of seed %lu, one per ε; the other seeds are in the tables "
             "and CSV files.", text, s->opts.seeds[0]);
  else
    snprintf(buf, len, "%s", text);
  return buf;
}

static void d_figure(lsp_doc *d, const plotter *p, const char *svg, const char *caption) {
  if (!svg[0]) return;
  char file[4096];
  snprintf(file, sizeof file, "%s", svg);
  if (p->want_extra) {
    char *dot = strrchr(file, '.');
    if (dot) snprintf(dot, sizeof file - (size_t)(dot - file), ".%s", lsp_plot_format_ext(p->extra));
  }
  lsp_doc_figure(d, svg, file, caption);
}

/* a cell summary with its per-cell interval (lsp_study_cell_interval) */
static void cell_ci(lsp_table *t, size_t col, const lsp_cell_result *r, int m) {
  double lo, hi;
  lsp_study_cell_interval(r, m, &lo, &hi);
  lsp_table_num_ci(t, col, r->value[m], lo, hi);
}

static lsp_table *summary_table(const lsp_run_state *s) {
  char aa[64];
  snprintf(aa, sizeof aa, "AutoAttack AUC (first %zu)", s->n_aa);
  char ece[32], ece_t[48];
  snprintf(ece, sizeof ece, "ECE (%d bins)", LSP_CELL_ECE_BINS);
  snprintf(ece_t, sizeof ece_t, "ECE after T (%d bins)", LSP_CELL_ECE_BINS);
  const char *hdr[] = {"model", "test accuracy", "NLL", ece, ece_t, "T",
                       "R² separation", "NC1", "mean logit gap", "optimal gap", "FGSM AUC",
                       "PGD AUC", "transfer AUC", aa};
  /* no AutoAttack column when it ran on no model */
  lsp_table *t = lsp_table_alloc(s->n_aa ? 14 : 13, hdr);
  if (!t) return NULL;
  for (size_t i = 0; i < s->nmodels; i++) {
    const lsp_run_model *m = &s->models[i];
    const lsp_cell_result *r = &s->cells[i];
    lsp_table_row(t);
    lsp_table_text(t, 0, m->label);
    /* accuracy and NLL as cells.csv gives them: the cell's resamples */
    cell_ci(t, 1, r, LSP_CELL_ACCURACY);
    cell_ci(t, 2, r, LSP_CELL_NLL);
    /* the ECEs too: the study's pre-declared LSP_CELL_ECE_BINS bins, whatever
     * --bins (which sets the per-model tables below) */
    cell_ci(t, 3, r, LSP_CELL_ECE);
    if (m->temperature_ok) {
      cell_ci(t, 4, r, LSP_CELL_ECE_T);
      cell_ci(t, 5, r, LSP_CELL_TEMPERATURE);
    } else { /* T = 1 would repeat the unscaled ECE as if scaled */
      lsp_table_text(t, 4, "– (no T)");
      lsp_table_text(t, 5, "– (not fitted)");
    }
    cell_ci(t, 6, r, LSP_CELL_R2);
    cell_ci(t, 7, r, LSP_CELL_NC1);
    cell_ci(t, 8, r, LSP_CELL_LOGIT_GAP);
    char g[64];
    if (isfinite(m->gap.optimal_gap))
      snprintf(g, sizeof g, "%.3f", m->gap.optimal_gap);
    else
      snprintf(g, sizeof g, "none (ε = 0)");
    lsp_table_text(t, 9, g);
    cell_ci(t, 10, r, LSP_CELL_AUC_FGSM);
    cell_ci(t, 11, r, LSP_CELL_AUC_PGD);
    if (m->has_transfer)
      cell_ci(t, 12, r, LSP_CELL_AUC_TRANSFER);
    else
      lsp_table_text(t, 12, "–");
    if (m->has_aa)
      cell_ci(t, 13, r, LSP_CELL_AUC_AA);
    else if (s->n_aa)
      lsp_table_text(t, 13, "–");
  }
  for (size_t c = 1; c <= 4; c++) lsp_table_digits(t, c, 4);
  return t;
}

static lsp_table *calib_detail_table(const lsp_run_state *s) {
  const char *hdr[] = {"model", "Brier", "MCE", "RMSCE", "ACE", "classwise ECE",
                       "over-confidence", "under-confidence", "NLL after T"};
  lsp_table *t = lsp_table_alloc(9, hdr);
  if (!t) return NULL;
  for (size_t i = 0; i < s->nmodels; i++) {
    const lsp_run_model *m = &s->models[i];
    lsp_table_row(t);
    lsp_table_text(t, 0, m->label);
    const int ms[] = {LSP_CALIB_BRIER, LSP_CALIB_MCE, LSP_CALIB_RMSCE, LSP_CALIB_ACE,
                      LSP_CALIB_CLASSWISE_ECE, LSP_CALIB_OVER_CONFIDENCE,
                      LSP_CALIB_UNDER_CONFIDENCE};
    for (size_t q = 0; q < 7; q++)
      lsp_table_num_ci(t, q + 1, m->cal.value[ms[q]], m->cal.ci_lo[ms[q]], m->cal.ci_hi[ms[q]]);
    if (m->temperature_ok)
      lsp_table_num_ci(t, 8, m->cal_t.value[LSP_CALIB_NLL], m->cal_t.ci_lo[LSP_CALIB_NLL],
                       m->cal_t.ci_hi[LSP_CALIB_NLL]);
    else
      lsp_table_text(t, 8, "– (no T)");
  }
  return t;
}

/* The calibration error by each estimator (DESIGN §2), as trained and after
 * temperature scaling, with the intervals of results.json. */
static lsp_table *estimators_table(const lsp_run_state *s) {
  const char *hdr[] = {"model", "stage", "ECE (plug-in)", "ECE debiased (ℓ1)",
                       "ECE debiased (ℓ2)", "ECE-sweep", "sweep bins", "SmoothECE", "σ*"};
  lsp_table *t = lsp_table_alloc(9, hdr);
  if (!t) return NULL;
  const int ms[] = {LSP_CALIB_ECE, LSP_CALIB_ECE_DEBIASED, LSP_CALIB_ECE_L2_DEBIASED,
                    LSP_CALIB_ECE_SWEEP};
  for (size_t i = 0; i < s->nmodels; i++)
    for (int a = 0; a < 2; a++) {
      const lsp_run_model *m = &s->models[i];
      const lsp_calib_result *c = a ? &m->cal_t : &m->cal;
      if (a && !m->temperature_ok) continue;
      lsp_table_row(t);
      lsp_table_text(t, 0, m->label);
      lsp_table_text(t, 1, a ? "after T" : "as trained");
      for (size_t q = 0; q < 4; q++)
        lsp_table_num_ci(t, q + 2, c->value[ms[q]], c->ci_lo[ms[q]], c->ci_hi[ms[q]]);
      lsp_table_int(t, 6, c->sweep_bins);
      lsp_table_num_ci(t, 7, c->value[LSP_CALIB_SMECE], c->ci_lo[LSP_CALIB_SMECE],
                       c->ci_hi[LSP_CALIB_SMECE]);
      lsp_table_num(t, 8, c->value[LSP_CALIB_SMECE_SIGMA]);
    }
  for (size_t c = 2; c <= 8; c++)
    if (c != 6) lsp_table_digits(t, c, 4);
  return t;
}

static lsp_table *cluster_detail_table(const lsp_run_state *s) {
  const char *hdr[] = {"model", "R² separation", "within / total cosine distance",
                       "tr Σ_W / tr Σ_B", "NC1", "mean tightness", "class-mean distance CV",
                       "dead (all-zero) feature rows"};
  lsp_table *t = lsp_table_alloc(8, hdr);
  if (!t) return NULL;
  for (size_t i = 0; i < s->nmodels; i++) {
    const lsp_clusters *c = s->models[i].clusters;
    lsp_table_row(t);
    lsp_table_text(t, 0, s->models[i].label);
    lsp_table_num(t, 1, c->r2_separation);
    char w[64];
    snprintf(w, sizeof w, "%.4f / %.4f", c->d_within, c->d_total);
    lsp_table_text(t, 2, w);
    lsp_table_num(t, 3, c->trace_ratio);
    lsp_table_num(t, 4, c->nc1);
    lsp_table_num(t, 5, c->tightness_mean);
    lsp_table_num(t, 6, c->k_used >= 3 ? c->mean_dist_cv : NAN);
    lsp_table_int(t, 7, (long long)c->n_zero_rows);
  }
  return t;
}

/* Accuracy under every attack at every ε: one row per model and attack. */
static lsp_table *attack_table(const lsp_run_state *s) {
  const size_t ne = s->opts.n_attack_eps < 32 ? s->opts.n_attack_eps : 32;
  char names[32][32];
  const char *hdr[34] = {"model", "attack"};
  for (size_t e = 0; e < ne; e++) {
    snprintf(names[e], sizeof names[e], "ε = %g", s->opts.attack_eps[e]);
    hdr[2 + e] = names[e];
  }
  lsp_table *t = lsp_table_alloc(2 + ne, hdr);
  if (!t) return NULL;
  char pgd[64], tr[64], aa[64];
  snprintf(pgd, sizeof pgd, "PGD-%zu", s->opts.pgd_steps);
  snprintf(tr, sizeof tr, "transfer PGD-%zu from ε = 0", s->opts.pgd_steps);
  snprintf(aa, sizeof aa, "AutoAttack (first %zu)", s->n_aa);
  for (size_t i = 0; i < s->nmodels; i++) {
    const lsp_run_model *m = &s->models[i];
    const lsp_attack_result *rs[4] = {&m->fgsm, &m->pgd, m->has_transfer ? &m->transfer : NULL,
                                      m->has_aa ? &m->aa : NULL};
    const char *an[4] = {"FGSM", pgd, tr, aa};
    for (int a = 0; a < 4; a++) {
      if (!rs[a]) continue;
      lsp_table_row(t);
      lsp_table_text(t, 0, m->label);
      lsp_table_text(t, 1, an[a]);
      for (size_t e = 0; e < ne; e++) lsp_table_num(t, 2 + e, rs[a]->points[e].accuracy);
    }
  }
  for (size_t e = 0; e < ne; e++) lsp_table_decimals(t, 2 + e, 3);
  return t;
}

static lsp_table *mask_table(const lsp_run_state *s) {
  const char *hdr[] = {"model", "check", "status", "detail"};
  lsp_table *t = lsp_table_alloc(4, hdr);
  if (!t) return NULL;
  for (size_t i = 0; i < s->nmodels; i++) {
    const lsp_run_model *m = &s->models[i];
    if (!m->has_mask) continue;
    for (int c = 0; c < m->mask.nchecks; c++) {
      lsp_table_row(t);
      lsp_table_text(t, 0, m->label);
      lsp_table_text(t, 1, m->mask.checks[c].name);
      lsp_table_text(t, 2, lsp_check_status_name(m->mask.checks[c].status));
      lsp_table_text(t, 3, m->mask.checks[c].detail);
    }
  }
  return t;
}

/* "; AutoAttack ... on the first N of them" for the method paragraph. */
static const char *aa_sentence(const lsp_run_state *s, char *buf, size_t len) {
  if (!s->n_aa) {
    /* the note is a sentence: without its full stop inside this one */
    size_t n = strlen(s->aa_note);
    snprintf(buf, len, "%s%.*s", n ? "; " : "", (int)(n && s->aa_note[n - 1] == '.' ? n - 1 : n),
             s->aa_note);
    return buf;
  }
  const lsp_attack_result *r = NULL;
  for (size_t i = 0; i < s->nmodels && !r; i++)
    if (s->models[i].has_aa) r = &s->models[i].aa;
  if (!r) return "";
  snprintf(buf, len,
           "; AutoAttack (Croce & Hein 2020: APGD-CE, then APGD-T with %zu target classes, "
           "then Square with %zu queries, each on the examples still correct; APGD %zu "
           "iterations) on the first %zu of them, for the models with %s — the smaller of "
           "--aa-limit %zu and what its budget of %g GFLOP per model allows (predicted %.3g "
           "GFLOP per example in the worst case, from the model's size alone, so that every "
           "cell attacks the same examples), rounded down to a multiple of 50 from 50 up",
           r->targets, r->queries, r->steps, s->n_aa, s->aa_models, s->opts.aa_limit,
           s->opts.aa_budget, s->aa_pred_gflop);
  return buf;
}

/* An MLP's widths, input to classes ("784-64-10"), from its --arch
 * (mlp or mlp:W,...): the model's own description names a normalized MLP
 * as a graph. */
static const char *mlp_widths(const lsp_run_state *s, char *buf, size_t len) {
  const char *a = s->opts.arch;
  const char *w = strcmp(a, "mlp") == 0 ? "256,256" : a + (a[3] == ':' ? 4 : 3);
  size_t n = (size_t)snprintf(buf, len, "%zu", s->data.train.dim);
  for (const char *q = w; *q && n < len;) {
    char *e;
    unsigned long u = strtoul(q, &e, 10);
    if (e == q) {
      q++;
      continue;
    }
    n += (size_t)snprintf(buf + n, len - n, "-%lu", u);
    q = e;
  }
  if (n < len) snprintf(buf + n, len - n, "-%d", s->data.train.k);
  return buf;
}

int lsp_report_docs(const lsp_run_state *s, const lsp_findings *f, const plotter *p,
                    const lsp_report_figs *figs) {
  const lsp_run_opts *o = &s->opts;
  char path[4096], buf[4096], aas[768];
  const char *f_rel = figs->reliability, *f_sm = figs->smooth, *f_met = figs->metrics,
             *f_att = figs->attacks,
             *f_proj = figs->projection, *f_gap = figs->gap, *f_tr = figs->training;
  int st;

  lsp_doc d;
  memset(&d, 0, sizeof d);
  char md[4096];
  snprintf(path, sizeof path, "%s/report.html", p->dir);
  snprintf(md, sizeof md, "%s/report.md", p->dir);
  if ((st = lsp_doc_open(&d, path, md, "lsprobe: what label smoothing does to this classifier")))
    return st;
  if (s->data_fallback_used) lsp_doc_note(&d, LSP_HTML_WARNING, s->data_note);
  if (o->quick)
    lsp_doc_note(&d, LSP_HTML_WARNING,
           "This is a --quick smoke-test run (tiny model, few epochs, subsets of the data): "
           "its numbers are not a measurement of anything.");
  if (!s->have_gnuplot) lsp_doc_note(&d, LSP_HTML_WARNING, s->gnuplot_note);
  if (o->bootstrap < LSP_RUN_BOOT_MIN) {
    snprintf(buf, sizeof buf,
             "--bootstrap %zu: a 95%% interval rests on the 2.5%% tails of the resamples, which "
             "fewer than %d leave empty; the intervals and the verdicts that rest on them are "
             "not to be trusted (1000 is usual).",
             o->bootstrap, LSP_RUN_BOOT_MIN);
    lsp_doc_note(&d, LSP_HTML_WARNING, buf);
  }
  if (p->note[0]) {
    snprintf(buf, sizeof buf, "A figure could not be drawn and is missing: %s", p->note);
    lsp_doc_note(&d, LSP_HTML_WARNING, buf);
  }
  char net[400], widths[256], units[96];
  if (strncmp(o->arch, "mlp", 3) == 0 && o->n_normalize)
    snprintf(net, sizeof net, "MLP %s with ReLU, inputs normalized (--normalize)",
             mlp_widths(s, widths, sizeof widths));
  else if (strncmp(o->arch, "mlp", 3) == 0)
    snprintf(net, sizeof net, "MLP %s with ReLU", s->arch_desc);
  else
    snprintf(net, sizeof net, "%s (--arch %s%s)", s->arch_desc,
             strlen(o->arch) < 200 ? o->arch : "spec", o->n_normalize ? ", inputs normalized" : "");
  char smo[256] = "", seeds[256] = "";
  for (size_t i = 0; i < o->n_smoothing; i++)
    snprintf(smo + strlen(smo), sizeof smo - strlen(smo), "%s%g", i ? ", " : "", o->smoothing[i]);
  for (size_t i = 0; i < o->n_seeds; i++)
    snprintf(seeds + strlen(seeds), sizeof seeds - strlen(seeds), "%s%lu", i ? ", " : "", o->seeds[i]);
  /* the attack ε's units, as the attack figure's axis gives them */
  lsp_report_eps_units(s, units, sizeof units);
  snprintf(buf, sizeof buf,
           "Data: %s (%s): %zu training, %zu validation and %zu test examples, %zu features, %d "
           "classes. Models: %s, trained %zu epoch%s with SGD (lr %g, "
           "momentum %g, batch %zu) on the label-smoothed cross-entropy, ε ∈ {%s} (%s "
           "convention), seeds {%s}. Attacks: FGSM and PGD-%zu (step 2.5ε/%zu, %zu restart%s, "
           "random start) on the first %zu test examples, ε (%s)%s. Intervals: %s.",
           s->data.name, s->data.source, s->data.train.n, s->data.val.n, s->data.test.n,
           s->data.train.dim, s->data.train.k, net, o->epochs, o->epochs == 1 ? "" : "s", o->lr, o->momentum, o->batch, smo, lsp_ls_convention_name(o->convention),
           seeds, o->pgd_steps, o->pgd_steps, o->pgd_restarts, o->pgd_restarts > 1 ? "s" : "", s->n_attack,
           units,
           aa_sentence(s, aas, sizeof aas),
           o->n_seeds > 1 ? "per model, 95% bootstrap over the test examples (calibration "
                            "errors by test inversion, the rest percentile); the findings and "
                            "the comparisons with ε = 0, Δ ± √(h_seeds² + h_examples²): the "
                            "Student-t half-width of the per-seed differences and half the "
                            "width of the mean difference's interval over shared test-example "
                            "resamples"
                          : "95% bootstrap over the test examples (calibration errors by test "
                            "inversion, the rest percentile; one seed: the findings' intervals "
                            "have no seed level and say so)");
  lsp_doc_par(&d, buf);

  lsp_doc_heading(&d, 2, "Findings");
  if (f->n) {
    lsp_doc_findings(&d, f->items, f->n);
    d_figure(&d, p, figs->trends,
             "The study: the summaries the claims are judged on, with the ECE after "
             "temperature scaling and the PGD and transfer AUCs (DESIGN §9.2), against the "
             "smoothing ε — the mean over seeds, the seeds' min–max band, and each seed. The "
             "NLL, the temperature and the mean logit gap are in the table below.");
    lsp_table *tt = lsp_report_study_table(f);
    if (!tt) return lsp_fail(LSP_ENOMEM, "out of memory");
    int unfitted = 0;
    for (size_t i = 0; i < s->nmodels; i++) unfitted |= !s->models[i].temperature_ok;
    snprintf(buf, sizeof buf,
             "Every smoothed ε against ε = 0, per summary: means over the seeds that have "
             "both models, Δ with its 95%% interval Δ ± √(h_seeds² + "
             "h_examples²) (the Student-t half-width of the per-seed differences; half the "
             "width of the mean difference's interval over shared test-example resamples), whether every seed's difference has Δ's "
             "sign, and the verdict of the claim's direction (supported / contradicted "
             "only when the interval excludes 0 and the seeds agree). auc_transfer has no "
             "verdict: %s.%s",
             lsp_findings_no_verdict(LSP_CELL_AUC_TRANSFER),
             unfitted ? " No ece_t row where a model of the comparison has no fitted "
                        "temperature: it has no ECE after T."
                      : "");
    lsp_doc_table(&d, tt, buf);
    lsp_table_free(tt);
  } else {
    int has_zero = 0;
    for (size_t i = 0; i < o->n_smoothing; i++) has_zero |= o->smoothing[i] == 0;
    lsp_doc_par(&d, has_zero ? "No comparison: the run has ε = 0 models only, no smoothed model "
                               "to compare them with."
                             : "No comparison: the run has no ε = 0 model to compare the "
                               "smoothed models with.");
  }

  lsp_table *t = summary_table(s);
  if (!t) return LSP_ENOMEM;
  lsp_doc_heading(&d, 2, "Summary");
  snprintf(buf, sizeof buf,
           "Per model (95%% bootstrap intervals over the test examples in brackets; for T over "
           "the validation examples). T: temperature fitted on the validation split. Mean logit "
           "gap: z_y minus the mean of the other logits; optimal gap: where the smoothed loss "
           "is minimal. AUC: %s (DESIGN §9.2).",
           o->n_attack_eps == 1
               ? "the accuracy at the one attack ε (the AUC of a one-point grid)"
               : "area under the accuracy-vs-attack-ε curve over the attack grid, normalized "
                 "by its width");
  lsp_doc_table(&d, t, buf);
  lsp_table_free(t);
  d_figure(&d, p, f_met, "Accuracy, calibration and penultimate-layer statistics against ε.");
  if (s->opts.n_smoothing == 1)
    lsp_doc_par(&d, "One smoothing ε: there is no figure against ε; the table above has the numbers.");

  lsp_doc_heading(&d, 2, "Calibration");
  lsp_doc_par(&d, "Top-label confidence in equal-width bins ((m−1)/M, m/M] (Guo et al. 2017). Bars: "
            "accuracy per bin; shaded: the gap to the bin's mean confidence; below: the share "
            "of test examples per bin. Temperature scaling divides the logits by the T that "
            "minimizes the validation NLL.");
  char cap[320];
  d_figure(&d, p, f_rel, model_caption(cap, sizeof cap, s, "Reliability diagrams, one per model, before "
                                                     "temperature scaling."));
  lsp_doc_par(&d, "Every calibration-error estimate is biased upward on a finite test set, most "
            "for a nearly calibrated model, so the table gives estimators with less bias beside "
            "the plug-in ECE: the ℓ1 and ℓ2 debiased binned ECEs (Kumar et al. 2019), ECE-sweep "
            "(equal-mass bins, as many as keep the bin accuracies monotone; Roelofs et al. 2022) "
            "and SmoothECE (a Gaussian-kernel smoothing of the reliability curve at the bandwidth "
            "σ* equal to its own value; Błasiok & Nakkiran 2023). Their 95% intervals are not "
            "percentile intervals, which sit above the truth, but test inversions over families "
            "of models with known calibration error: the true errors under which the observed "
            "estimate is unremarkable. Such an interval need not contain the estimate: it lies "
            "below it where the estimator reads high, and can lie above it where the estimator "
            "reads low for that model (a bin averages out the ups and downs of the reliability curve "
            "within it, which the true error counts). "
            "docs/CALIBRATION_SIM.md shows their coverage in a simulation where the truth is "
            "known.");
  if (!(t = estimators_table(s))) return LSP_ENOMEM;
  snprintf(buf, sizeof buf, "Calibration error by estimator (%zu equal-width bins for the binned "
           "ones; all estimate the ℓ1 error except the ℓ2 column).", o->bins);
  lsp_doc_table(&d, t, buf);
  lsp_table_free(t);
  d_figure(&d, p, f_sm, model_caption(cap, sizeof cap, s, "Smoothed reliability diagrams: the "
                                "kernel-smoothed accuracy against confidence with a 95% bootstrap "
                                "band, where the test set has confidences."));
  if (!(t = calib_detail_table(s))) return LSP_ENOMEM;
  lsp_doc_table(&d, t, "Further calibration metrics (before temperature scaling unless stated).");
  lsp_table_free(t);

  lsp_doc_heading(&d, 2, "Penultimate layer");
  snprintf(buf, sizeof buf,
           "Class separation R² (Kornblith et al. 2021): 1 − mean within-class cosine distance / "
           "mean overall cosine distance; higher = tighter, better separated classes. NC1 = "
           "tr(Σ_W Σ_B⁺)/K (Papyan et al. 2020); lower = more collapsed classes. %s",
           s->data.test.k >= 3
               ? "The projection follows Müller et al. 2019: features (with a 1 appended) "
                 "projected on the plane through the last-layer templates (weights with the "
                 "bias appended) of three classes, the three the ε = 0 model of the smallest "
                 "seed confuses most on the validation split."
               : "There is no projection (Müller et al. 2019): it needs three classes, and the "
                 "data set has two.");
  lsp_doc_par(&d, buf);
  d_figure(&d, p, f_proj, model_caption(cap, sizeof cap, s, "Penultimate-layer projections, same "
                                                       "classes and axes for every model."));
  if (!(t = cluster_detail_table(s))) return LSP_ENOMEM;
  lsp_doc_table(&d, t, "Cluster statistics of the test set's penultimate features.");
  lsp_table_free(t);
  d_figure(&d, p, f_gap, model_caption(cap, sizeof cap, s, "Logit gap with the gap at which the "
                                                      "smoothed loss is minimal marked."));

  lsp_doc_heading(&d, 2, "Adversarial robustness");
  snprintf(buf, sizeof buf,
           "Accuracy over all attacked examples (not only the clean-correct ones). FGSM takes "
           "one step of size ε along the sign of the input gradient of the cross-entropy; PGD-%zu "
           "takes %zu steps of 2.5ε/%zu from a random start, projected onto the ε-ball; the transfer "
           "attack runs PGD on the unsmoothed model and scores its adversarial inputs on the "
           "smoothed one. AutoAttack (Croce & Hein 2020), the strongest standard evaluation, "
           "runs APGD on the cross-entropy, then APGD on the targeted DLR loss towards each of "
           "the next most likely classes, then the gradient-free Square attack, each on the "
           "examples the previous stages left correct; an example is robust only if it "
           "survives all three. ",
           o->pgd_steps, o->pgd_steps, o->pgd_steps);
  if (s->n_aa)
    snprintf(buf + strlen(buf), sizeof buf - strlen(buf),
             "It runs on the first %zu attacked examples of the models with %s%s, and the "
             "robustness finding is judged with it; PGD stays for comparison.",
             s->n_aa, s->aa_models,
             o->aa_all ? ""
                       : ", those the finding compares (ε_LS = 0 and the judged ε; --aa-all "
                         "runs it on every model)");
  else
    snprintf(buf + strlen(buf), sizeof buf - strlen(buf),
             "%s The robustness finding is judged with PGD.",
             s->aa_note[0] ? s->aa_note : "AutoAttack was not run.");
  snprintf(buf + strlen(buf), sizeof buf - strlen(buf),
           " An iterative attack's accuracy at ε counts an example as robust only if it also "
           "survived every smaller ε.");
  lsp_doc_par(&d, buf);
  d_figure(&d, p, f_att, "Accuracy under attack against the attack ε.");
  if (!(t = attack_table(s))) return LSP_ENOMEM;
  char aa_n[64] = "";
  if (s->n_aa) snprintf(aa_n, sizeof aa_n, " (AutoAttack: the first %zu of them)", s->n_aa);
  snprintf(buf, sizeof buf,
           "Accuracy under attack of every model and attack at each attack ε, on the first %zu "
           "test examples%s: for FGSM the accuracy at that ε alone; for %s the "
           "envelope over ε (an example counts as correct only if it survives every ε up to "
           "this one).",
           s->n_attack, aa_n, s->n_aa ? "PGD, transfer and AutoAttack" : "PGD and transfer");
  lsp_doc_table(&d, t, buf);
  lsp_table_free(t);
  if (!(t = mask_table(s))) return LSP_ENOMEM;
  lsp_doc_table(&d, t, "Gradient-masking checklist (Athalye et al. 2018).");
  lsp_table_free(t);

  if ((st = lsp_report_distill_doc(&d, s, p, figs))) {
    lsp_doc_close(&d);
    return st;
  }

  lsp_doc_heading(&d, 2, "Training");
  d_figure(&d, p, f_tr, model_caption(cap, sizeof cap, s, "Training loss (the smoothed criterion), "
                                                     "validation accuracy and validation NLL (the "
                                                     "plain NLL, which compares across ε) per "
                                                     "epoch."));
  for (size_t i = 0; i < s->nmodels; i++) {
    snprintf(buf, sizeof buf, "%s: %s, %.1f s of training.", s->models[i].label,
             s->models[i].cache_note, s->models[i].train_seconds);
    lsp_doc_par(&d, buf);
  }

  lsp_doc_heading(&d, 2, "Reproduce");
  lsp_doc_code(&d, s->command);
  snprintf(buf, sizeof buf,
           "lsprobe %s, GSL %s, %d thread%s; started %s; %.1f s in all: data %.1f s, then %zu "
           "cells (model × ε × seed), %zu at a time %s, %.1f s — within them "
           "training %.1f s, analyses %.1f s, attacks %.1f s (sums over the cells) — then "
           "%.1f s for what spans the cells (projection, information erasure, comparisons) and "
           "the report up to this line. Every number of this report is in "
           "results.json and the CSV tables beside it; the test logits, features and labels of "
           "each model are in dumps/.",
           LSP_VERSION, GSL_VERSION, s->threads, s->threads == 1 ? "" : "s", s->started, s->seconds_total, s->seconds_data,
           s->ncells, s->jobs,
           s->opts.dist ? "on MPI ranks (one cell per rank; rank 0 schedules and writes the "
                          "report)"
                        : "on one thread each",
           s->seconds_cells, s->seconds_train, s->seconds_analysis,
           s->seconds_attacks, s->seconds_total - s->seconds_data - s->seconds_cells);
  lsp_doc_par(&d, buf);
  return lsp_doc_close(&d);
}
