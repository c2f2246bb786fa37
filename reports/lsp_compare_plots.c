/* lsp_compare_plots.c — the figures of `lsprobe compare` (lsp_compare_int.h):
 * every run's metrics against the smoothing ε and its attack curves, drawn
 * from the numbers the results.json files recorded. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "reports/lsp_compare_int.h"
#include "reports/lsp_plot.h"

/* ---- plots ------------------------------------------------------------------ */

enum { P_ACC, P_ECE, P_ECET, P_R2, P_NC1, NPANEL };

/* The style of line k of many: 8 colours, then the 4 dashes in turn, so
 * 32 lines look different (the legend names every one). */
static void style(lsp_plot_series *sr, size_t k) {
  sr->color = (int)(k % 8);
  sr->dash = (int)((k / 8) % 4);
}

typedef struct {
  char (*name)[192]; /* owned: one per (run, seed)                        */
  double *buf;       /* owned: every x/y/lo/hi array                       */
  lsp_plot_series *ser[NPANEL]; /* owned: up to one series per (run, seed) */
  size_t nser[NPANEL];
} metric_plot;

/* Group models by (run, seed), every group drawn; points sorted by
 * smoothing ε. */
static int build_metric_plot(const cmp_state *s, metric_plot *mp) {
  size_t total = 0;
  for (size_t r = 0; r < s->n; r++) total += s->runs[r].nmodels;
  mp->buf = calloc(total * 4 * NPANEL + 1, sizeof *mp->buf);
  mp->name = calloc(total + 1, sizeof *mp->name);
  size_t *idx = calloc(total + 1, sizeof *idx);
  int ok = mp->buf && mp->name && idx;
  for (int p = 0; p < NPANEL && ok; p++) ok = (mp->ser[p] = calloc(total + 1, sizeof *mp->ser[p])) != NULL;
  if (!ok) {
    free(idx);
    return lsp_fail(LSP_ENOMEM, "out of memory");
  }
  double *b = mp->buf;
  size_t g = 0;
  for (size_t r = 0; r < s->n; r++) {
    const cmp_run *x = &s->runs[r];
    for (size_t i = 0; i < x->nmodels; i++) {
      int seen = 0;
      for (size_t k = 0; k < i; k++) seen |= x->models[k].seed == x->models[i].seed;
      if (seen) continue;
      double seed = x->models[i].seed;
      size_t n = 0;
      for (size_t k = 0; k < x->nmodels; k++)
        if (x->models[k].seed == seed) idx[n++] = k;
      for (size_t a = 1; a < n; a++) /* insertion sort by ε */
        for (size_t c = a; c > 0 && x->models[idx[c]].eps < x->models[idx[c - 1]].eps; c--) {
          size_t tmp = idx[c];
          idx[c] = idx[c - 1];
          idx[c - 1] = tmp;
        }
      int many_seeds = strchr(x->seeds, ',') != NULL;
      if (many_seeds) snprintf(mp->name[g], sizeof mp->name[0], "%.120s (seed %g)", x->name, seed);
      else snprintf(mp->name[g], sizeof mp->name[0], "%.120s", x->name);
      for (int p = 0; p < NPANEL; p++) {
        double *xs = b, *ys = b + n, *lo = b + 2 * n, *hi = b + 3 * n;
        b += 4 * n;
        int finite = 0, ci = p <= P_ECET;
        for (size_t k = 0; k < n; k++) {
          const cmp_model *m = &x->models[idx[k]];
          int mk = p == P_ACC ? M_ACC : p == P_ECE ? M_ECE : M_ECET;
          xs[k] = m->eps;
          ys[k] = p == P_R2 ? m->r2 : p == P_NC1 ? m->nc1 : m->v[mk];
          lo[k] = ci ? m->lo[mk] : NAN;
          hi[k] = ci ? m->hi[mk] : NAN;
          finite |= isfinite(ys[k]);
          if (!isfinite(lo[k]) || !isfinite(hi[k])) ci = 0;
        }
        if (!finite) continue;
        lsp_plot_series sr = lsp_plot_series_make(mp->name[g], xs, ys, n);
        style(&sr, g);
        if (ci) {
          sr.lo = lo;
          sr.hi = hi;
          sr.ci = LSP_PLOT_CI_BARS;
        }
        mp->ser[p][mp->nser[p]++] = sr;
      }
      g++;
    }
  }
  free(idx);
  return LSP_OK;
}

/* How many distinct smoothing ε the runs' models have, counting up to 2. */
size_t lsp_compare_distinct_eps(const cmp_state *s, double *first) {
  size_t n = 0;
  for (size_t r = 0; r < s->n; r++)
    for (size_t i = 0; i < s->runs[r].nmodels; i++) {
      double e = s->runs[r].models[i].eps;
      if (!isfinite(e)) continue;
      if (n == 0) {
        *first = e;
        n = 1;
      } else if (e != *first) {
        return 2;
      }
    }
  return n;
}

/* Nothing is drawn (and no file written) when the runs share one ε: a
 * line against ε needs two of them (as `lsprobe run`'s figure). */
static int plot_metrics(const cmp_state *s, const char *path, lsp_plot_format fmt) {
  double e0 = NAN;
  if (lsp_compare_distinct_eps(s, &e0) < 2) return LSP_OK;
  metric_plot *mp = calloc(1, sizeof *mp);
  if (!mp) return lsp_fail(LSP_ENOMEM, "out of memory");
  int st = build_metric_plot(s, mp);
  static const char *titles[] = {"test accuracy", "ECE", "ECE after temperature scaling",
                                 "R² separation", "NC1"};
  static const char *ylabels[] = {"accuracy", "ECE (L1, equal-width bins)", "ECE after T",
                                  "R² (penultimate layer)", "NC1 = tr(Σw Σb⁺)/K"};
  lsp_plot_panel panels[NPANEL];
  size_t np = 0;
  for (int p = 0; p < NPANEL && !st; p++) {
    if (!mp->nser[p]) continue;
    lsp_plot_panel pn = {titles[p], "smoothing ε", ylabels[p], 0, 0, NAN, NAN, NAN, NAN,
                         np == 0 ? "bottom right" : "off", mp->ser[p], mp->nser[p]};
    /* one legend (on the first panel): colours are the same in every panel */
    panels[np++] = pn;
  }
  if (!st && np) {
    lsp_plot_opts po = {0};
    po.format = fmt;
    po.columns = 3;
    st = lsp_plot_lines(path, &po, panels, np);
  }
  free(mp->buf);
  free(mp->name);
  for (int p = 0; p < NPANEL; p++) free(mp->ser[p]);
  free(mp);
  return st;
}

/* Every model of every run with attack points, one line each, labelled with
 * its run, ε, convention and (in a run of several seeds) seed. Colour =
 * run and dash = model while that tells them apart (at most 8 runs of at
 * most 4 models), else one style per line (style()); the caption says
 * which, and how many lines there are. */
static int plot_attacks(const cmp_state *s, const char *path, lsp_plot_format fmt,
                        char *caption, size_t ccap) {
  size_t total = 0, most = 0, none = 0;
  for (size_t r = 0; r < s->n; r++) {
    total += s->runs[r].nmodels;
    most = s->runs[r].nmodels > most ? s->runs[r].nmodels : most;
  }
  int by_run = s->n <= 8 && most <= 4;
  char (*names)[192] = calloc(total + 1, sizeof *names);
  lsp_plot_series *ser = calloc(2 * (total + 1), sizeof *ser);
  int st = LSP_OK;
  if (!names || !ser) {
    st = lsp_fail(LSP_ENOMEM, "out of memory");
    goto done;
  }
  size_t n = 0;
  for (size_t r = 0; r < s->n; r++)
    for (size_t i = 0; i < s->runs[r].nmodels; i++) {
      const cmp_model *m = &s->runs[r].models[i];
      if (!m->fgsm.n || !m->pgd.n) {
        none++;
        continue;
      }
      int l = snprintf(names[n], sizeof names[0], "%.120s: ε = %g (%.16s)", s->runs[r].name,
                       m->eps, m->convention);
      if (strchr(s->runs[r].seeds, ',') && l > 0 && (size_t)l < sizeof names[0])
        snprintf(names[n] + l, sizeof names[0] - (size_t)l, ", seed %g", m->seed);
      for (int a = 0; a < 2; a++) {
        const curve *c = a ? &m->pgd : &m->fgsm;
        lsp_plot_series sr = lsp_plot_series_make(names[n], c->eps, c->acc, c->n);
        if (by_run) {
          sr.color = (int)r;
          sr.dash = (int)(i % 4);
        } else {
          style(&sr, n);
        }
        ser[a * total + n] = sr;
      }
      n++;
    }
  int k = snprintf(caption, ccap,
                   "Accuracy under FGSM and PGD against the attack ε: every model of every run, "
                   "%zu line%s in each panel (%s).",
                   n, n == 1 ? "" : "s",
                   by_run ? "colour = run, dash = model"
                   : n <= 32 ? "each line its own colour and dash"
                             : "colours and dashes repeat after 32 lines; the legend names each");
  if (none && k > 0 && (size_t)k < ccap)
    snprintf(caption + k, ccap - (size_t)k, " %zu model%s without attack points %s not drawn.",
             none, none == 1 ? "" : "s", none == 1 ? "is" : "are");
  if (n) {
    lsp_plot_panel panels[2] = {
        {"FGSM", "attack ε (L∞, input units)", "accuracy under attack", 0, 0, NAN, NAN, 0, 1,
         "off", ser, n},
        {"PGD", "attack ε (L∞, input units)", "accuracy under attack", 0, 0, NAN, NAN, 0, 1,
         "top right", ser + total, n}}; /* curves fall from the top left */
    lsp_plot_opts po = {0};
    po.format = fmt;
    po.panel_width = 5.0; /* room for a legend of many models */
    po.panel_height = 3.4 + 0.12 * (double)n;
    st = lsp_plot_lines(path, &po, panels, 2);
  }
done:
  free(names);
  free(ser);
  return st;
}

void lsp_compare_figs_release(lsp_compare_figs *f) {
  for (int k = 0; k < 2; k++) {
    free(f->svg[k]);
    free(f->extra[k]);
  }
}

/* A figure that could not be drawn: named (as the published folder will
 * hold it) with gnuplot's reason in f->note, which the report and the
 * command show; the other figures and files are written as usual. */
static void note_missing(lsp_compare_figs *f, const char *path, const char *file) {
  const char *why = lsp_errmsg();
  size_t lp = strlen(path), used = strlen(f->note);
  if (!strncmp(why, path, lp) && !strncmp(why + lp, ": ", 2)) why += lp + 2; /* staging path */
  if (used + 2 < sizeof f->note)
    snprintf(f->note + used, sizeof f->note - used, "%s%s could not be drawn and is missing (%s)",
             used ? "; " : "", file, why);
}

int lsp_compare_make_plots(const cmp_state *s, const char *dir, lsp_compare_figs *f) {
  static const char *base[2] = {"compare_metrics", "compare_attacks"};
  if (lsp_plot_available() != LSP_OK) {
    snprintf(f->note, sizeof f->note, "gnuplot was not found (%s); this report has no pictures.",
             lsp_errmsg());
    return LSP_OK;
  }
  char *pdir = lsp_strdupf("%s/plots", dir);
  int st = pdir ? lsp_mkdir_p(pdir) : lsp_fail(LSP_ENOMEM, "out of memory");
  for (int k = 0; k < 2 && !st; k++) {
    lsp_plot_format fm[2] = {LSP_PLOT_SVG, s->o->format};
    for (int e = 0; e < (s->o->format == LSP_PLOT_SVG ? 1 : 2) && !st; e++) {
      char *file = lsp_strdupf("plots/%s.%s", base[k], lsp_plot_format_ext(fm[e]));
      char *path = file ? lsp_strdupf("%s/%s", dir, file) : NULL;
      if (!path) {
        free(file);
        st = lsp_fail(LSP_ENOMEM, "out of memory");
        break;
      }
      st = k ? plot_attacks(s, path, fm[e], f->attacks_caption, sizeof f->attacks_caption)
             : plot_metrics(s, path, fm[e]);
      if (st == LSP_PLOT_NOGNUPLOT) {
        snprintf(f->note, sizeof f->note, "gnuplot could not be run (%s); pictures are missing.",
                 lsp_errmsg());
        free(file);
        free(path);
        free(pdir);
        return LSP_OK;
      }
      /* gnuplot failed on this figure (it leaves no file): noted, and the
       * report goes on without it, as `lsprobe run`'s does */
      int failed = st != LSP_OK && st != LSP_EINTR && st != LSP_ENOMEM;
      if (failed) {
        note_missing(f, path, file);
        st = LSP_OK;
      }
      free(file);
      if (st || failed || access(path, F_OK) != 0) { /* failed, or nothing to draw */
        free(path);
        path = NULL;
      }
      if (e) f->extra[k] = path;
      else f->svg[k] = path;
      if (failed && !e) break; /* no --format copy of a figure without its SVG */
    }
  }
  free(pdir);
  if (f->note[0] && !st) {
    size_t used = strlen(f->note);
    snprintf(f->note + used, sizeof f->note - used, ".");
  }
  return st;
}
