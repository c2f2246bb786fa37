/* lsp_report_plots.c — the figures of `lsprobe run` (lsp_report_int.h):
 * reliability diagrams, metrics against ε, attack curves, the penultimate-
 * layer projection, logit-gap histograms and training curves, each as SVG
 * (inlined into the HTML) and in the --format asked for. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "reports/lsp_plot.h"
#include "reports/lsp_report_int.h"
#include "reports/lsp_study.h"

typedef lsp_report_plotter plotter;

/* The models a per-model figure shows: those of the smallest seed (the
 * seeds are sorted), in the order of the ε grid (ascending), at most max of them (a study's other seeds are in
 * the CSV files and the trends figure). Returns the count; idx gets the
 * indices into s->models. */
size_t lsp_report_shown_models(const lsp_run_state *s, size_t *idx, size_t max) {
  size_t n = 0;
  for (size_t i = 0; i < s->nmodels && n < max; i++)
    if (s->opts.n_seeds == 0 || s->models[i].seed == s->opts.seeds[0]) idx[n++] = i;
  return n;
}

/* Render one figure: always SVG (inlined into the HTML), plus the requested
 * format. `draw` is called with the path and format. A gnuplot failure is
 * recorded and the report goes on without that figure. */
int lsp_report_figure(plotter *p, const char *name, lsp_report_draw_fn draw, void *arg,
                      char *svg_path, size_t len) {
  svg_path[0] = '\0';
  if (!p->s->have_gnuplot) return LSP_OK;
  char path[4096];
  snprintf(path, sizeof path, "%s/plots/%s.svg", p->dir, name);
  int st = draw(p, path, LSP_PLOT_SVG, arg);
  if (st == LSP_OK && p->want_extra) {
    char other[4096];
    snprintf(other, sizeof other, "%s/plots/%s.%s", p->dir, name, lsp_plot_format_ext(p->extra));
    st = draw(p, other, p->extra, arg);
  }
  if (st == LSP_EINTR || st == LSP_ENOMEM) return st;
  if (st != LSP_OK) {
    /* named as the published folder holds it, not by the staging path */
    const char *why = lsp_errmsg();
    size_t ld = strlen(p->dir), used = strlen(p->note);
    int named = !strncmp(why, p->dir, ld) && why[ld] == '/'; /* "<dir>/plots/F: why" */
    if (used + 2 < sizeof p->note)
      snprintf(p->note + used, sizeof p->note - used, "%s%s%s%s", used ? "; " : "",
               named ? "" : name, named ? "" : ": ", named ? why + ld + 1 : why);
    return LSP_OK;
  }
  snprintf(svg_path, len, "%s/plots/%s.svg", p->dir, name);
  return LSP_OK;
}

static int draw_reliability(const plotter *p, const char *path, lsp_plot_format fmt, void *arg) {
  (void)arg;
  const lsp_run_state *s = p->s;
  size_t idx[8], n = lsp_report_shown_models(s, idx, 8);
  lsp_plot_reliability r[8];
  double cnt[8][64];
  for (size_t i = 0; i < n; i++) {
    const lsp_run_model *m = &s->models[idx[i]];
    size_t nb = (size_t)m->cal.bins < 64 ? (size_t)m->cal.bins : 64;
    for (size_t b = 0; b < nb; b++) cnt[i][b] = (double)m->cal.bin_count[b];
    double conf = 0, tot = 0;
    for (size_t b = 0; b < nb; b++)
      if (cnt[i][b] > 0) {
        conf += cnt[i][b] * m->cal.bin_conf[b];
        tot += cnt[i][b];
      }
    r[i] = (lsp_plot_reliability){m->label, nb, cnt[i], m->cal.bin_conf, m->cal.bin_acc,
                                  m->cal.value[LSP_CALIB_ECE], tot > 0 ? conf / tot : NAN,
                                  m->cal.value[LSP_CALIB_ACCURACY]};
  }
  lsp_plot_opts o = {fmt, "Reliability on the test set (before temperature scaling)", 0, 0, 0, 0};
  return lsp_plot_reliability_diagram(path, &o, r, n);
}

/* The second reliability diagram: per model, SmoothECE's smoothed curve at
 * σ* with its 95% bootstrap band, before temperature scaling (after it,
 * dashed), drawn where the confidences' kernel density is at least 1% of
 * its peak (elsewhere the curve is a ratio of kernel tails). */
static int draw_smooth(const plotter *p, const char *path, lsp_plot_format fmt, void *arg) {
  (void)arg;
  const lsp_run_state *s = p->s;
  enum { P = LSP_SMECE_CURVE_PTS };
  size_t idx[8], n = lsp_report_shown_models(s, idx, 8), np = 0;
  static const double diag[2] = {0.0, 1.0};
  double t[P], y[8][2][P], lo[8][P], hi[8][P];
  char title[8][160];
  lsp_plot_series ser[8][3];
  lsp_plot_panel pn[8];
  for (size_t q = 0; q < P; q++) t[q] = (double)q / (double)(P - 1);
  for (size_t i = 0; i < n; i++) {
    const lsp_run_model *m = &s->models[idx[i]];
    const lsp_calib_result *c[2] = {&m->cal, &m->cal_t};
    if (!c[0]->smooth_acc) continue;
    size_t k = 0;
    for (int a = 0; a < 2; a++) {
      if (!c[a]->smooth_acc || (a && !m->temperature_ok)) continue;
      double peak = 0.0;
      for (size_t q = 0; q < P; q++)
        if (c[a]->smooth_dens[q] > peak) peak = c[a]->smooth_dens[q];
      for (size_t q = 0; q < P; q++) {
        int show = c[a]->smooth_dens[q] >= 0.01 * peak;
        y[i][a][q] = show ? c[a]->smooth_acc[q] : NAN;
        if (!a) {
          lo[i][q] = show ? c[a]->smooth_lo[q] : NAN;
          hi[i][q] = show ? c[a]->smooth_hi[q] : NAN;
        }
      }
      lsp_plot_series sr = lsp_plot_series_make(a ? "after temperature scaling" : "as trained",
                                                t, y[i][a], P);
      if (!a) {
        sr.lo = lo[i];
        sr.hi = hi[i];
      }
      sr.color = (int)i;
      sr.dash = a;
      sr.marker = -1;
      ser[np][k++] = sr;
    }
    lsp_plot_series d = lsp_plot_series_make("perfect calibration", diag, diag, 2);
    d.color = 6;
    d.dash = 2;
    d.marker = -1;
    ser[np][k++] = d;
    snprintf(title[np], sizeof title[np], "%s: smECE %.4f, σ* %.4f", m->label,
             c[0]->value[LSP_CALIB_SMECE], c[0]->value[LSP_CALIB_SMECE_SIGMA]);
    pn[np] = (lsp_plot_panel){title[np], "confidence", "accuracy (kernel-smoothed)", 0, 0, 0.0,
                              1.0, 0.0, 1.0, "top left", ser[np], k};
    np++;
  }
  if (np == 0) return lsp_fail(LSP_EDATA, "no smoothed reliability curve");
  lsp_plot_opts o = {fmt, "Smoothed reliability (SmoothECE's kernel at σ*, 95% bootstrap band)", 0,
                     0, np < 4 ? (int)np : 4, 0};
  return lsp_plot_lines(path, &o, pn, np);
}

const char *lsp_report_rel_path(const lsp_run_state *s, const char *file) {
  size_t n = strlen(s->opts.out);
  if (file && n && strncmp(file, s->opts.out, n) == 0 && file[n] == '/') return file + n + 1;
  return file;
}

const char *lsp_report_eps_units(const lsp_run_state *s, char *buf, size_t len) {
  if (s->data.lo == 0.0f && s->data.hi == 1.0f)
    snprintf(buf, len, "pixel scale [0, 1]");
  else
    snprintf(buf, len, "input units, range [%g, %g]", (double)s->data.lo, (double)s->data.hi);
  return buf;
}

/* metric against the smoothing eps: one series per seed */
static int draw_metrics(const plotter *p, const char *path, lsp_plot_format fmt, void *arg) {
  (void)arg;
  const lsp_run_state *s = p->s;
  const lsp_run_opts *o = &s->opts;
  size_t ns = o->n_seeds < 8 ? o->n_seeds : 8, ne = o->n_smoothing;
  enum { NP = 5 };
  double x[8][16], y[NP][2][8][16], lo[NP][2][8][16], hi[NP][2][8][16];
  char names[2][8][96];
  lsp_plot_series ser[NP][16];
  size_t nser[NP] = {0};
  for (size_t si = 0; si < ns; si++) {
    for (size_t ei = 0; ei < ne; ei++) {
      const lsp_run_model *m = &s->models[si * ne + ei];
      x[si][ei] = m->eps;
      const lsp_calib_result *c[2] = {&m->cal, &m->cal_t};
      const int metric[3] = {LSP_CALIB_ACCURACY, LSP_CALIB_ECE, LSP_CALIB_NLL};
      for (int q = 0; q < 3; q++)
        for (int a = 0; a < 2; a++) {
          y[q][a][si][ei] = c[a]->value[metric[q]];
          lo[q][a][si][ei] = c[a]->ci_lo[metric[q]];
          hi[q][a][si][ei] = c[a]->ci_hi[metric[q]];
        }
      /* accuracy and NLL as trained with the summary table's intervals: the
       * cell's resamples (cells.csv), not the model's own bootstrap */
      const lsp_cell_result *r = &s->cells[si * ne + ei];
      const int cm[3] = {LSP_CELL_ACCURACY, -1, LSP_CELL_NLL};
      for (int q = 0; q < 3; q += 2) {
        y[q][0][si][ei] = r->value[cm[q]];
        lsp_study_cell_interval(r, cm[q], &lo[q][0][si][ei], &hi[q][0][si][ei]);
      }
      if (!m->temperature_ok) /* no T fitted: no point after temperature scaling */
        for (int q = 0; q < 3; q++) y[q][1][si][ei] = lo[q][1][si][ei] = hi[q][1][si][ei] = NAN;
      y[3][0][si][ei] = m->clusters->r2_separation;
      y[4][0][si][ei] = m->clusters->nc1;
    }
    for (int q = 0; q < NP; q++)
      for (int a = 0; a < (q == 1 || q == 2 ? 2 : 1); a++) {
        int any = 0; /* after T: a seed with no T fitted at any ε has no series */
        for (size_t ei = 0; ei < ne; ei++) any |= !isnan(y[q][a][si][ei]);
        if (!any) continue;
        char *nm = names[a][si];
        if (o->n_seeds > 1)
          snprintf(nm, sizeof names[a][si], "%sseed %lu", a ? "after T, " : "", o->seeds[si]);
        else
          snprintf(nm, sizeof names[a][si], "%s", a ? "after temperature scaling" : "as trained");
        lsp_plot_series sr = lsp_plot_series_make(nm, x[si], y[q][a][si], ne);
        if (q < 3) {
          sr.lo = lo[q][a][si];
          sr.hi = hi[q][a][si];
          sr.ci = LSP_PLOT_CI_BARS;
        }
        sr.color = (int)si;
        sr.dash = a;
        ser[q][nser[q]++] = sr;
      }
  }
  char xl[96];
  snprintf(xl, sizeof xl, "label smoothing ε (%s)", lsp_ls_convention_name(o->convention));
  lsp_plot_panel pn[NP] = {
      {"Test accuracy", xl, "accuracy", 0, 0, NAN, NAN, NAN, NAN, "bottom left", ser[0], nser[0]},
      {"Expected calibration error", xl, "ECE (15 bins)", 0, 0, NAN, NAN, NAN, NAN, "top left", ser[1], nser[1]},
      {"Negative log-likelihood", xl, "NLL (nats)", 0, 0, NAN, NAN, NAN, NAN, "top left", ser[2], nser[2]},
      {"Class separation", xl, "R² (cosine)", 0, 0, NAN, NAN, NAN, NAN, "bottom left", ser[3], nser[3]},
      {"Within-class variability", xl, "NC1", 0, 0, NAN, NAN, NAN, NAN, "top left", ser[4], nser[4]}};
  char ylab[32];
  snprintf(ylab, sizeof ylab, "ECE (%zu bins)", o->bins);
  pn[1].ylabel = ylab;
  lsp_plot_opts po = {fmt,
                      "Metrics against the smoothing ε (error bars: 95% bootstrap intervals of "
                      "accuracy, ECE and NLL; R² and NC1 without)",
                      0, 0, 3, 1};
  return lsp_plot_lines(path, &po, pn, NP);
}

/* One curve per smoothing ε: the mean over the seeds that have the attack,
 * with the seeds' min–max as a band when there are several (a study of 12
 * models stays readable; every model's numbers are in attacks.csv). */
static int draw_attacks(const plotter *p, const char *path, lsp_plot_format fmt, void *arg) {
  (void)arg;
  const lsp_run_state *s = p->s;
  const lsp_run_opts *o = &s->opts;
  size_t ng = o->n_smoothing < 16 ? o->n_smoothing : 16, ne = s->opts.n_attack_eps;
  double mean[4][16][32], lo[4][16][32], hi[4][16][32];
  char names[16][64];
  lsp_plot_series ser[4][16];
  size_t nser[4] = {0};
  for (size_t g = 0; g < ng; g++) {
    snprintf(names[g], sizeof names[g], "ε = %g", o->smoothing[g]);
    for (int a = 0; a < 4; a++) {
      size_t seeds = 0;
      for (size_t e = 0; e < ne; e++) {
        double sum = 0, mn = INFINITY, mx = -INFINITY;
        size_t k = 0;
        for (size_t i = 0; i < s->nmodels; i++) {
          const lsp_run_model *m = &s->models[i];
          const lsp_attack_result *rs[4] = {&m->fgsm, &m->pgd,
                                            m->has_transfer ? &m->transfer : NULL,
                                            m->has_aa ? &m->aa : NULL};
          if (m->eps != o->smoothing[g] || !rs[a]) continue;
          double v = rs[a]->points[e].accuracy;
          sum += v;
          mn = v < mn ? v : mn;
          mx = v > mx ? v : mx;
          k++;
        }
        mean[a][g][e] = k ? sum / (double)k : NAN;
        lo[a][g][e] = k ? mn : NAN;
        hi[a][g][e] = k ? mx : NAN;
        seeds = k;
      }
      if (!seeds) continue;
      lsp_plot_series sr = lsp_plot_series_make(names[g], s->opts.attack_eps, mean[a][g], ne);
      if (seeds > 1) {
        sr.lo = lo[a][g];
        sr.hi = hi[a][g];
        sr.ci = LSP_PLOT_CI_BAND;
      }
      sr.color = (int)g;
      ser[a][nser[a]++] = sr;
    }
  }
  char t1[64], t2[96], t3[96];
  snprintf(t1, sizeof t1, "PGD-%zu (white-box)", s->opts.pgd_steps);
  snprintf(t2, sizeof t2, "Transfer: PGD-%zu crafted on ε = 0", s->opts.pgd_steps);
  snprintf(t3, sizeof t3, "AutoAttack (first %zu examples)", s->n_aa);
  char xl[128], units[96];
  snprintf(xl, sizeof xl, "attack ε (L∞, %s)", lsp_report_eps_units(s, units, sizeof units));
  lsp_plot_panel pn[4] = {
      {"FGSM (white-box)", xl, "accuracy under attack", 0, 0, NAN, NAN, 0, 1, "top right", ser[0], nser[0]},
      {t1, xl, "accuracy under attack", 0, 0, NAN, NAN, 0, 1, "top right", ser[1], nser[1]},
      {t2, xl, "accuracy under attack", 0, 0, NAN, NAN, 0, 1, "top right", ser[2], nser[2]},
      {t3, xl, "accuracy under attack", 0, 0, NAN, NAN, 0, 1, "top right", ser[3], nser[3]}};
  size_t np = 2;
  if (nser[2]) pn[np++] = pn[2];
  if (nser[3]) pn[np++] = pn[3];
  char title[200];
  if (o->n_seeds > 1)
    snprintf(title, sizeof title,
             "Accuracy under attack (%zu test examples; mean over %zu seeds, band: min–max)",
             s->n_attack, o->n_seeds);
  else
    snprintf(title, sizeof title, "Accuracy under attack (%zu test examples)", s->n_attack);
  lsp_plot_opts po = {fmt, title, 0, 0, np == 4 ? 2 : 0, 0};
  return lsp_plot_lines(path, &po, pn, np);
}

static int draw_projection(const plotter *p, const char *path, lsp_plot_format fmt, void *arg) {
  (void)arg;
  const lsp_run_state *s = p->s;
  size_t idx[8], n = lsp_report_shown_models(s, idx, 8);
  lsp_plot_scatter_panel pn[8];
  double *buf = NULL;
  int32_t *cls = NULL;
  const size_t maxpts = 900;
  buf = malloc(n * maxpts * 2 * sizeof *buf);
  cls = malloc(n * maxpts * sizeof *cls);
  double tx[8][3], ty[8][3];
  if (!buf || !cls) {
    free(buf);
    free(cls);
    return lsp_fail(LSP_ENOMEM, "out of memory");
  }
  for (size_t i = 0; i < n; i++) {
    const lsp_proj *pr = s->models[idx[i]].proj;
    size_t stride = pr->m > maxpts ? (pr->m + maxpts - 1) / maxpts : 1, c = 0;
    double *xs = buf + i * maxpts * 2, *ys = xs + maxpts;
    for (size_t r = 0; r < pr->m && c < maxpts; r += stride, c++) {
      xs[c] = pr->xy[2 * r];
      ys[c] = pr->xy[2 * r + 1];
      cls[i * maxpts + c] = pr->label[r] == pr->cls[0] ? 0 : pr->label[r] == pr->cls[1] ? 1 : 2;
    }
    for (int t = 0; t < 3; t++) {
      tx[i][t] = pr->tmpl[t][0];
      ty[i][t] = pr->tmpl[t][1];
    }
    pn[i] = (lsp_plot_scatter_panel){s->models[idx[i]].label, c, xs, ys, cls + i * maxpts, tx[i],
                                     ty[i]};
  }
  char names[3][32];
  const char *cn[3];
  static const char *fm[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
  int fashion = strcmp(s->data.name, "fashion-mnist") == 0;
  for (int t = 0; t < 3; t++) {
    int c = s->proj_cls[t];
    if (fashion && c >= 0 && c < 10)
      snprintf(names[t], sizeof names[t], "%d %s", c, fm[c]);
    else
      snprintf(names[t], sizeof names[t], "class %d", c);
    cn[t] = names[t];
  }
  lsp_plot_opts po = {fmt, "Penultimate layer projected on the plane of three class templates", 0, 0, 0, 0};
  int st = lsp_plot_scatter(path, &po, "template-plane coordinate 1", "template-plane coordinate 2",
                            cn, 3, pn, n);
  free(buf);
  free(cls);
  return st;
}

static int draw_gap(const plotter *p, const char *path, lsp_plot_format fmt, void *arg) {
  (void)arg;
  const lsp_run_state *s = p->s;
  size_t idx[8], n = lsp_report_shown_models(s, idx, 8);
  lsp_plot_hist h[8];
  double lo = INFINITY, hi = -INFINITY;
  for (size_t i = 0; i < n; i++) {
    const lsp_run_model *m = &s->models[idx[i]];
    double spread = m->gap.gap.q95 - m->gap.gap.q05;
    lo = fmin(lo, m->gap.gap.q05 - 0.5 * spread);
    hi = fmax(hi, m->gap.gap.q95 + 0.5 * spread);
    if (isfinite(m->gap.optimal_gap)) {
      lo = fmin(lo, m->gap.optimal_gap - 1);
      hi = fmax(hi, m->gap.optimal_gap + 1);
    }
    h[i] = (lsp_plot_hist){m->label, m->gap_values, s->data.test.n, m->gap.optimal_gap,
                           isfinite(m->gap.optimal_gap) ? "optimal gap" : NULL, (int)i};
  }
  lsp_plot_opts po = {fmt, "Logit gap z_y − mean of the other logits (test set)", 0, 0, 0, 0};
  return lsp_plot_histogram(path, &po, "logit gap (logit units)", 60, lo, hi, 0, h, n);
}

static int draw_training(const plotter *p, const char *path, lsp_plot_format fmt, void *arg) {
  (void)arg;
  const lsp_run_state *s = p->s;
  size_t idx[16], n = lsp_report_shown_models(s, idx, 16);
  double ep[16][512];
  lsp_plot_series ser[3][16];
  size_t k = 0, kn = 0;
  for (size_t i = 0; i < n; i++) {
    const lsp_train_log *l = &s->models[idx[i]].log;
    if (l->epochs == 0) continue;
    size_t ne = l->epochs < 512 ? l->epochs : 512;
    for (size_t e = 0; e < ne; e++) ep[i][e] = (double)(e + 1);
    ser[0][k] = lsp_plot_series_make(s->models[idx[i]].label, ep[i], l->train_loss, ne);
    ser[1][k] = lsp_plot_series_make(s->models[idx[i]].label, ep[i], l->val_acc, ne);
    ser[0][k].color = ser[1][k].color = (int)i;
    k++;
    /* the plain validation NLL, which compares across ε (the smoothed
     * criterion does not); none in curves cached before it was kept */
    int any = 0;
    for (size_t e = 0; l->val_nll && e < ne; e++) any |= isfinite(l->val_nll[e]);
    if (any) {
      ser[2][kn] = lsp_plot_series_make(s->models[idx[i]].label, ep[i], l->val_nll, ne);
      ser[2][kn++].color = (int)i;
    }
  }
  if (k == 0) return lsp_fail(LSP_EDATA, "no training curves recorded");
  lsp_plot_panel pn[3] = {
      {"Training loss (smoothed criterion)", "epoch", "loss (nats)", 0, 0, NAN, NAN, NAN, NAN, "top right", ser[0], k},
      {"Validation accuracy", "epoch", "accuracy", 0, 0, NAN, NAN, NAN, NAN, "bottom right", ser[1], k},
      {"Validation NLL (plain, comparable across ε)", "epoch", "NLL (nats)", 0, 0, NAN, NAN, NAN, NAN, "top right", ser[2], kn}};
  lsp_plot_opts po = {fmt, "Training curves", 0, 0, 0, 1};
  return lsp_plot_lines(path, &po, pn, kn ? 3 : 2);
}

int lsp_report_plots(plotter *p, lsp_report_figs *f) {
  int st;
  f->metrics[0] = '\0';
  if ((st = lsp_report_figure(p, "reliability", draw_reliability, NULL, f->reliability, sizeof f->reliability)) ||
      (st = lsp_report_figure(p, "reliability_smooth", draw_smooth, NULL, f->smooth, sizeof f->smooth)) ||
      /* a line against ε needs two of them */
      (p->s->opts.n_smoothing > 1 &&
       (st = lsp_report_figure(p, "metrics_vs_smoothing", draw_metrics, NULL, f->metrics, sizeof f->metrics))) ||
      (st = lsp_report_figure(p, "attacks", draw_attacks, NULL, f->attacks, sizeof f->attacks)) ||
      (st = p->s->models[0].proj
                ? lsp_report_figure(p, "projection", draw_projection, NULL, f->projection, sizeof f->projection)
                : 0) ||
      (st = lsp_report_figure(p, "logit_gap", draw_gap, NULL, f->gap, sizeof f->gap)) ||
      (st = lsp_report_figure(p, "training", draw_training, NULL, f->training, sizeof f->training)))
    return st;
  if (!p->s->models[0].proj) f->projection[0] = '\0';
  return LSP_OK;
}
