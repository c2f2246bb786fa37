/* lsp_report_trends.c — the study in the report: the claims' summaries
 * (all of DESIGN §9.2 but the NLL, the temperature and the logit gap)
 * against ε (mean over seeds, the seeds' min–max band, each seed),
 * and the table of every smoothed ε against ε = 0 with its interval
 * (seeds and shared example resamples) and verdict (DESIGN §9; none for
 * auc_transfer, lsp_findings_no_verdict). From the cell results and the study
 * only. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "reports/lsp_report_int.h"
#include "reports/lsp_table.h"

static const int k_panels[] = {LSP_CELL_ACCURACY,    LSP_CELL_ECE,      LSP_CELL_ECE_L2_DEBIASED,
                               LSP_CELL_ECE_T,       LSP_CELL_R2,       LSP_CELL_NC1,
                               LSP_CELL_AUC_FGSM,    LSP_CELL_AUC_PGD,  LSP_CELL_AUC_TRANSFER,
                               LSP_CELL_AUC_AA};
#define NPANEL (sizeof k_panels / sizeof k_panels[0])
static const char *const k_titles[] = {
    "Test accuracy", "ECE (15 bins)", "Debiased ℓ2 ECE", "ECE after temperature scaling",
    "Class separation R²", "NC1", "FGSM AUC", "PGD AUC", "Transfer AUC", "AutoAttack AUC"};

typedef struct {
  const lsp_findings *f;
} trend_arg;

static int draw_trends(const lsp_report_plotter *p, const char *path, lsp_plot_format fmt,
                       void *argp) {
  const trend_arg *a = argp;
  const lsp_study *st = &a->f->study;
  const lsp_run_state *s = p->s;
  size_t ne = st->n_eps, ns = s->opts.n_seeds < 8 ? s->opts.n_seeds : 8;
  double x[LSP_STUDY_MAX_EPS], y[NPANEL][LSP_STUDY_MAX_EPS], lo[NPANEL][LSP_STUDY_MAX_EPS],
      hi[NPANEL][LSP_STUDY_MAX_EPS], ys[NPANEL][8][LSP_STUDY_MAX_EPS];
  char names[8][32];
  lsp_plot_series ser[NPANEL][9];
  lsp_plot_panel pn[NPANEL];
  size_t np = 0;
  /* one x range for every panel, the grid's padded as an automatic one:
   * a summary measured at one ε only (AutoAttack on the judged ε alone,
   * with no ε = 0 in the grid) would otherwise have an empty x range */
  double xlo = INFINITY, xhi = -INFINITY;
  for (size_t e = 0; e < ne; e++) {
    x[e] = st->eps[e];
    xlo = fmin(xlo, x[e]);
    xhi = fmax(xhi, x[e]);
  }
  const double xpad = 0.03 * (xhi - xlo); /* > 0: two distinct ε at least */
  for (size_t q = 0; q < NPANEL; q++) {
    int m = k_panels[q];
    size_t have = 0;
    for (size_t e = 0; e < ne; e++) {
      const lsp_study_trend *t = &st->trend[e][m];
      y[np][e] = t->mean;
      lo[np][e] = t->min;
      hi[np][e] = t->max;
      have += t->n > 0;
      for (size_t si = 0; si < ns; si++) {
        ys[np][si][e] = NAN;
        for (size_t c = 0; c < s->ncells; c++)
          if (s->cells[c].key.eps == st->eps[e] && s->cells[c].key.seed == s->opts.seeds[si])
            ys[np][si][e] = s->cells[c].value[m];
      }
    }
    if (!have) continue; /* e.g. AutoAttack not run */
    size_t k = 0;
    lsp_plot_series sr = lsp_plot_series_make("mean over seeds (band: min–max)", x, y[np], ne);
    sr.lo = lo[np];
    sr.hi = hi[np];
    sr.ci = LSP_PLOT_CI_BAND;
    sr.color = 0;
    ser[np][k++] = sr;
    for (size_t si = 0; si < ns && ns > 1; si++) {
      snprintf(names[si], sizeof names[si], "seed %lu", s->opts.seeds[si]);
      lsp_plot_series ss = lsp_plot_series_make(names[si], x, ys[np][si], ne);
      ss.color = (int)si + 1;
      ss.dash = 2;
      ser[np][k++] = ss;
    }
    /* a flat panel (one seed, equal values) gets a range of its own:
     * gnuplot refuses an axis whose ticks would be below double precision */
    double lo_y = INFINITY, hi_y = -INFINITY, ymin = NAN, ymax = NAN;
    for (size_t e = 0; e < ne; e++) {
      const double v[3] = {y[np][e], lo[np][e], hi[np][e]};
      for (int u = 0; u < 3; u++)
        if (isfinite(v[u])) {
          lo_y = v[u] < lo_y ? v[u] : lo_y;
          hi_y = v[u] > hi_y ? v[u] : hi_y;
        }
      for (size_t si = 0; si < ns && ns > 1; si++)
        if (isfinite(ys[np][si][e])) {
          lo_y = ys[np][si][e] < lo_y ? ys[np][si][e] : lo_y;
          hi_y = ys[np][si][e] > hi_y ? ys[np][si][e] : hi_y;
        }
    }
    if (isfinite(lo_y) && hi_y - lo_y <= 1e-9 * (fabs(lo_y) + 1e-3)) {
      double pad = fabs(lo_y) > 1e-3 ? 0.05 * fabs(lo_y) : 1e-3;
      ymin = lo_y - pad;
      ymax = hi_y + pad;
    }
    lsp_plot_panel pp = {k_titles[q], "label smoothing ε", lsp_cell_stat_name(m), 0, 0, xlo - xpad,
                         xhi + xpad, ymin, ymax, "off", ser[np], k};
    pn[np++] = pp;
  }
  if (np == 0) return LSP_OK;
  lsp_plot_opts po = {0};
  po.format = fmt;
  po.columns = 4;
  po.legend_below = 1; /* every panel has the same lines: one legend, below */
  po.title = "The claims' summaries against ε (mean over seeds; band: the seeds' min–max)";
  return lsp_plot_lines(path, &po, pn, np);
}

int lsp_report_trends_plot(lsp_report_plotter *p, const lsp_findings *f, char *svg, size_t len) {
  svg[0] = '\0';
  if (!f->has_study || f->study.n_eps < 2) return LSP_OK; /* a line needs two ε */
  trend_arg a = {f};
  return lsp_report_figure(p, "study_trends", draw_trends, &a, svg, len);
}

lsp_table *lsp_report_study_table(const lsp_findings *f) {
  if (!f->has_study || f->study.base >= f->study.n_eps) return NULL;
  const lsp_study *st = &f->study;
  const char *hdr[] = {"summary", "ε", "seeds", "mean at ε", "mean at 0", "Δ [95% interval]",
                       "seeds agree", "verdict"};
  lsp_table *t = lsp_table_alloc(8, hdr);
  if (!t) return NULL;
  /* every summary is a rate, an error or an area of order 0.01-1: four
   * decimals line the means, Δ and its bounds up ("0.0070 [0.0016, 0.0126]") */
  if (lsp_table_decimals(t, 3, 4) || lsp_table_decimals(t, 4, 4) || lsp_table_decimals(t, 5, 4) ||
      lsp_table_signed(t, 5)) {
    lsp_table_free(t);
    return NULL;
  }
  for (int m = 0; m < LSP_CELL_NSTAT; m++)
    for (size_t e = 0; e < st->n_eps; e++) {
      if (e == st->base) continue;
      const lsp_study_cmp *c = &st->cmp[e][m];
      if (isnan(c->diff)) continue;
      int dir = lsp_findings_direction(m);
      char v[64], eps_text[32]; /* ε as given: "0.05", not "0.05000" */
      lsp_table_roundtrip(c->eps, eps_text);
      if (lsp_findings_no_verdict(m)) /* the note says why */
        snprintf(v, sizeof v, "– (not a smoothing effect)");
      else
        snprintf(v, sizeof v, "%s%s", dir ? lsp_finding_word(lsp_study_verdict(c, dir)) : "–",
                 c->few_seeds ? " (too few seeds)" : "");
      if (lsp_table_row(t) || lsp_table_text(t, 0, lsp_cell_stat_name(m)) ||
          lsp_table_text(t, 1, eps_text) || lsp_table_int(t, 2, (long long)c->seeds) ||
          lsp_table_num(t, 3, c->mean_eps) || lsp_table_num(t, 4, c->mean_base) ||
          lsp_table_num_ci(t, 5, c->diff, c->lo, c->hi) ||
          lsp_table_text(t, 6, c->seeds < 2                                        ? "–"
                              : c->agree                                          ? "yes"
                              : strcmp(lsp_study_agreement(c), "tied") == 0 ? "NO (a tie)"
                                                                               : "NO") ||
          lsp_table_text(t, 7, v)) {
        lsp_table_free(t);
        return NULL;
      }
    }
  return t;
}
