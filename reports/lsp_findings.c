#include "reports/lsp_findings.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "analysis/lsp_boot.h"

static int verdict_from(double lo, double hi, int better_is_positive) {
  if (isnan(lo) || isnan(hi)) return LSP_FINDING_INCONCLUSIVE;
  if (better_is_positive)
    return lo > 0 ? LSP_FINDING_SUPPORTED : hi < 0 ? LSP_FINDING_CONTRADICTED
                                                   : LSP_FINDING_INCONCLUSIVE;
  return hi < 0 ? LSP_FINDING_SUPPORTED : lo > 0 ? LSP_FINDING_CONTRADICTED
                                                 : LSP_FINDING_INCONCLUSIVE;
}

size_t lsp_findings_ref_eps(const lsp_run_state *s, const lsp_run_model *base) {
  size_t ne = s->opts.n_attack_eps, best = ne - 1;
  double clean = base->fgsm.clean_accuracy;
  for (size_t e = 0; e < ne; e++)
    if (s->opts.attack_eps[e] > 0 && base->fgsm.points[e].accuracy < 0.5 * clean) {
      best = e;
      break;
    }
  return best;
}

/* A difference and its interval: one comparison's bootstrap interval, or
 * with several seeds the mean of the per-seed differences and their t
 * interval. `get` extracts (diff, lo, hi) of comparison c. */
typedef void (*getter)(const lsp_run_state *s, const lsp_run_cmp *c, size_t arg, double *d,
                       double *lo, double *hi);

static void combine(const lsp_run_state *s, double eps, getter get, size_t arg, double *d,
                    double *lo, double *hi, int *seeds) {
  double v[16];
  size_t m = 0;
  for (size_t i = 0; i < s->ncmp && m < 16; i++) {
    if (s->models[s->cmp[i].model].eps != eps) continue;
    double a, b, c;
    get(s, &s->cmp[i], arg, &a, &b, &c);
    if (m == 0) {
      *d = a;
      *lo = b;
      *hi = c;
    }
    v[m++] = a;
  }
  *seeds = (int)m;
  if (m > 1) lsp_seed_interval(v, m, d, lo, hi);
  if (m == 0) *d = *lo = *hi = NAN;
}

static void get_cal(const lsp_run_state *s, const lsp_run_cmp *c, size_t m, double *d,
                    double *lo, double *hi) {
  (void)s;
  *d = c->cal_diff[m];
  *lo = c->cal_lo[m];
  *hi = c->cal_hi[m];
}
static void get_calt(const lsp_run_state *s, const lsp_run_cmp *c, size_t m, double *d,
                     double *lo, double *hi) {
  (void)s;
  *d = c->calt_diff[m];
  *lo = c->calt_lo[m];
  *hi = c->calt_hi[m];
}
static void get_fgsm(const lsp_run_state *s, const lsp_run_cmp *c, size_t e, double *d,
                     double *lo, double *hi) {
  (void)s;
  *d = c->fgsm_diff[e];
  *lo = c->fgsm_lo[e];
  *hi = c->fgsm_hi[e];
}
static void get_pgd(const lsp_run_state *s, const lsp_run_cmp *c, size_t e, double *d,
                    double *lo, double *hi) {
  (void)s;
  *d = c->pgd_diff[e];
  *lo = c->pgd_lo[e];
  *hi = c->pgd_hi[e];
}

static void get_aa(const lsp_run_state *s, const lsp_run_cmp *c, size_t e, double *d,
                   double *lo, double *hi) {
  (void)s;
  *d = c->aa_diff ? c->aa_diff[e] : NAN;
  *lo = c->aa_diff ? c->aa_lo[e] : NAN;
  *hi = c->aa_diff ? c->aa_hi[e] : NAN;
}

static const char *interval_kind(int seeds, size_t resamples, char *buf, size_t len) {
  if (seeds > 1)
    snprintf(buf, len, "mean over %d seeds, 95%% t interval of the seed-to-seed spread", seeds);
  else
    snprintf(buf, len, "paired bootstrap 95%% interval, %zu resamples of the test examples",
             resamples);
  return buf;
}

static size_t add(lsp_findings *f, const char *key, const char *claim) {
  size_t i = f->n++;
  f->key[i] = key;
  snprintf(f->claim[i], sizeof f->claim[i], "%s", claim);
  f->items[i].claim = f->claim[i];
  f->items[i].evidence = f->evidence[i];
  f->evidence[i][0] = '\0';
  return i;
}

#define APPEND(i, ...)                                                               \
  snprintf(f->evidence[i] + strlen(f->evidence[i]), sizeof f->evidence[i] - strlen(f->evidence[i]), \
           __VA_ARGS__)

void lsp_findings_compute(const lsp_run_state *s, lsp_findings *f) {
  memset(f, 0, sizeof *f);
  if (s->ncmp == 0) return;
  const lsp_run_cmp *c0 = &s->cmp[0];
  const lsp_run_model *sm = &s->models[c0->model], *base = &s->models[c0->base];
  double eps = sm->eps;
  char ik[160];
  int seeds;
  double d, lo, hi;
  size_t B = s->opts.bootstrap;

  /* 1. accuracy */
  size_t i = add(f, "accuracy", "Label smoothing improves test accuracy");
  combine(s, eps, get_cal, LSP_CALIB_ACCURACY, &d, &lo, &hi, &seeds);
  f->items[i].verdict = verdict_from(lo, hi, 1);
  APPEND(i, "Test accuracy %.4f at ε = %g vs %.4f at ε = 0: Δ = %+.4f [%+.4f, %+.4f] (%s).",
         sm->cal.value[LSP_CALIB_ACCURACY], eps, base->cal.value[LSP_CALIB_ACCURACY], d, lo, hi,
         interval_kind(seeds, B, ik, sizeof ik));

  /* 2. calibration */
  i = add(f, "calibration", "Label smoothing improves calibration (lowers the ECE)");
  combine(s, eps, get_cal, LSP_CALIB_ECE, &d, &lo, &hi, &seeds);
  f->items[i].verdict = verdict_from(lo, hi, 0);
  APPEND(i, "ECE (%zu bins) %.4f at ε = %g vs %.4f at ε = 0: Δ = %+.4f [%+.4f, %+.4f]. ",
         s->opts.bins, sm->cal.value[LSP_CALIB_ECE], eps, base->cal.value[LSP_CALIB_ECE], d, lo,
         hi);
  const char *dir_s = sm->cal.value[LSP_CALIB_UNDER_CONFIDENCE] >
                              sm->cal.value[LSP_CALIB_OVER_CONFIDENCE]
                          ? "under-confident"
                          : "over-confident";
  const char *dir_b = base->cal.value[LSP_CALIB_UNDER_CONFIDENCE] >
                              base->cal.value[LSP_CALIB_OVER_CONFIDENCE]
                          ? "under-confident"
                          : "over-confident";
  APPEND(i, "The smoothed model is mostly %s (over %.4f, under %.4f); the unsmoothed one %s "
            "(over %.4f, under %.4f). ",
         dir_s, sm->cal.value[LSP_CALIB_OVER_CONFIDENCE],
         sm->cal.value[LSP_CALIB_UNDER_CONFIDENCE], dir_b,
         base->cal.value[LSP_CALIB_OVER_CONFIDENCE], base->cal.value[LSP_CALIB_UNDER_CONFIDENCE]);
  double dn, nlo, nhi;
  combine(s, eps, get_calt, LSP_CALIB_ECE, &dn, &nlo, &nhi, &seeds);
  APPEND(i, "After temperature scaling (T = %.3f and %.3f, fitted on validation) the ECEs are "
            "%.4f and %.4f: Δ = %+.4f [%+.4f, %+.4f]. ",
         sm->temperature, base->temperature, sm->cal_t.value[LSP_CALIB_ECE],
         base->cal_t.value[LSP_CALIB_ECE], dn, nlo, nhi);
  combine(s, eps, get_cal, LSP_CALIB_NLL, &dn, &nlo, &nhi, &seeds);
  APPEND(i, "NLL Δ = %+.4f [%+.4f, %+.4f] (%s).", dn, nlo, nhi,
         interval_kind(seeds, B, ik, sizeof ik));

  /* 3. clusters: point estimates (mean over seeds when several) */
  i = add(f, "clusters",
          "Label smoothing tightens the penultimate-layer clusters (higher class separation R², "
          "lower NC1)");
  double r2s = 0, r2b = 0, nc1s = 0, nc1b = 0, cvs = 0, cvb = 0;
  double dr2[16], dnc1[16];
  size_t m = 0;
  for (size_t c = 0; c < s->ncmp && m < 16; c++) {
    const lsp_run_model *a = &s->models[s->cmp[c].model], *b = &s->models[s->cmp[c].base];
    if (a->eps != eps) continue;
    r2s += a->clusters->r2_separation;
    r2b += b->clusters->r2_separation;
    nc1s += a->clusters->nc1;
    nc1b += b->clusters->nc1;
    cvs += a->clusters->mean_dist_cv;
    cvb += b->clusters->mean_dist_cv;
    dr2[m] = a->clusters->r2_separation - b->clusters->r2_separation;
    dnc1[m] = a->clusters->nc1 - b->clusters->nc1;
    m++;
  }
  r2s /= (double)m;
  r2b /= (double)m;
  nc1s /= (double)m;
  nc1b /= (double)m;
  cvs /= (double)m;
  cvb /= (double)m;
  if (m > 1) {
    double r2d, r2lo, r2hi, nd, nlo2, nhi2;
    lsp_seed_interval(dr2, m, &r2d, &r2lo, &r2hi);
    lsp_seed_interval(dnc1, m, &nd, &nlo2, &nhi2);
    int v1 = verdict_from(r2lo, r2hi, 1), v2 = verdict_from(nlo2, nhi2, 0);
    f->items[i].verdict = v1 == v2 ? v1 : LSP_FINDING_INCONCLUSIVE;
    APPEND(i, "R² separation %.4f vs %.4f: Δ = %+.4f [%+.4f, %+.4f]; NC1 %.4f vs %.4f: Δ = "
              "%+.4f [%+.4f, %+.4f] (ε = %g vs 0; mean over %zu seeds, t interval of the "
              "seed spread). ",
           r2s, r2b, r2d, r2lo, r2hi, nc1s, nc1b, nd, nlo2, nhi2, eps, m);
  } else {
    int tighter_r2 = r2s > r2b, tighter_nc1 = nc1s < nc1b;
    f->items[i].verdict = tighter_r2 && tighter_nc1     ? LSP_FINDING_SUPPORTED
                          : !tighter_r2 && !tighter_nc1 ? LSP_FINDING_CONTRADICTED
                                                        : LSP_FINDING_INCONCLUSIVE;
    APPEND(i, "R² separation %.4f at ε = %g vs %.4f at ε = 0; NC1 %.4f vs %.4f. These are "
              "single-seed point estimates without an interval (run with --seeds 1,2,3 for a "
              "seed-spread interval); the verdict needs both measures to agree. ",
           r2s, eps, r2b, nc1s, nc1b);
  }
  APPEND(i, "Class means are %s equidistant (coefficient of variation of their distances %.3f "
            "vs %.3f).",
         cvs < cvb ? "more" : "less", cvs, cvb);

  /* 4. FGSM */
  size_t re = lsp_findings_ref_eps(s, base);
  double ae = s->opts.attack_eps[re];
  i = add(f, "fgsm", "Label smoothing makes the model more robust to FGSM");
  combine(s, eps, get_fgsm, re, &d, &lo, &hi, &seeds);
  f->items[i].verdict = verdict_from(lo, hi, 1);
  APPEND(i, "FGSM accuracy at attack ε = %g (where the unsmoothed model falls below half its "
            "clean accuracy): %.4f with smoothing vs %.4f without, Δ = %+.4f [%+.4f, %+.4f] (%s, "
            "%zu attacked test examples). All ε:",
         ae, sm->fgsm.points[re].accuracy, base->fgsm.points[re].accuracy, d, lo, hi,
         interval_kind(seeds, B, ik, sizeof ik), s->n_attack);
  for (size_t e = 0; e < s->opts.n_attack_eps; e++) {
    double a, b, c;
    combine(s, eps, get_fgsm, e, &a, &b, &c, &seeds);
    APPEND(i, " %g: %+.3f [%+.3f, %+.3f]%s", s->opts.attack_eps[e], a, b, c,
           e + 1 < s->opts.n_attack_eps ? ";" : ".");
  }
  double fgsm_lo = lo, fgsm_d = d;

  /* 5. stronger attacks: AutoAttack (the strongest standard evaluation)
   * when it ran, else PGD; PGD and the transfer attack for comparison */
  const int aa = c0->aa_diff != NULL && sm->has_aa && base->has_aa;
  i = add(f, "pgd",
          aa ? "The FGSM gain does not survive stronger attacks (AutoAttack; PGD and transfer "
               "from the unsmoothed model for comparison)"
             : "The FGSM gain does not survive stronger attacks (PGD, transfer from the "
               "unsmoothed model)");
  double pd, plo, phi;
  combine(s, eps, get_pgd, re, &pd, &plo, &phi, &seeds);
  if (aa)
    combine(s, eps, get_aa, re, &d, &lo, &hi, &seeds);
  else {
    d = pd;
    lo = plo;
    hi = phi;
  }
  /* Supported when no gain is left under the strong attack (its interval
   * reaches 0 or below); contradicted when a significant gain survives,
   * however much it shrank; inconclusive when FGSM showed no gain to begin
   * with. */
  if (!(fgsm_lo > 0))
    f->items[i].verdict = LSP_FINDING_INCONCLUSIVE;
  else
    f->items[i].verdict = lo > 0 ? LSP_FINDING_CONTRADICTED : LSP_FINDING_SUPPORTED;
  const char *how = !(fgsm_lo > 0) ? "FGSM showed no significant gain to lose"
                    : lo > 0       ? (hi < fgsm_lo ? "the gain shrinks but a significant part survives"
                                                   : "the gain survives")
                                   : "no significant gain is left";
  if (aa) {
    const lsp_attack_point *ps = &sm->aa.points[re], *pb = &base->aa.points[re];
    APPEND(i, "The verdict uses AutoAttack (APGD-CE, APGD-T, Square; Croce & Hein 2020), run on "
              "the first %zu attacked test examples: at attack ε = %g %.4f with smoothing vs "
              "%.4f without, Δ = %+.4f [%+.4f, %+.4f], against an FGSM Δ of %+.4f: %s. ",
           s->n_aa, ae, ps->accuracy, pb->accuracy, d, lo, hi, fgsm_d, how);
    APPEND(i, "(After APGD-CE alone: %.4f vs %.4f; the targeted DLR and Square stages then "
              "break %.4f and %.4f more of the smoothed model's examples.) ",
           ps->stage_accuracy[0], pb->stage_accuracy[0],
           ps->stage_accuracy[0] - ps->stage_accuracy[1],
           ps->stage_accuracy[1] - ps->stage_accuracy[2]);
    APPEND(i, "For comparison, PGD-%zu on all %zu attacked examples: %.4f vs %.4f, Δ = %+.4f "
              "[%+.4f, %+.4f]. ",
           s->opts.pgd_steps, s->n_attack, sm->pgd.points[re].accuracy,
           base->pgd.points[re].accuracy, pd, plo, phi);
  } else {
    APPEND(i, "PGD-%zu accuracy at attack ε = %g: %.4f with smoothing vs %.4f without, Δ = "
              "%+.4f [%+.4f, %+.4f], against an FGSM Δ of %+.4f: %s. ",
           s->opts.pgd_steps, ae, sm->pgd.points[re].accuracy, base->pgd.points[re].accuracy, d,
           lo, hi, fgsm_d, how);
    if (s->aa_note[0]) APPEND(i, "%s ", s->aa_note);
  }
  if (sm->has_transfer)
    APPEND(i, "PGD examples crafted on the unsmoothed model leave the smoothed one %.4f "
              "accurate, against %.4f under its own white-box PGD (%s). ",
           sm->transfer.points[re].accuracy, sm->pgd.points[re].accuracy,
           sm->transfer.points[re].accuracy + 0.01 < sm->pgd.points[re].accuracy
               ? "transfer is STRONGER than white-box: a sign of masked gradients"
               : "white-box is at least as strong: no sign of masked gradients here");
  if (sm->has_mask)
    APPEND(i, "Gradient-masking checklist: %d of %d checks flagged on the smoothed model, %d "
              "on the unsmoothed one.",
           sm->mask.flags, sm->mask.nchecks, base->has_mask ? base->mask.flags : 0);
}
