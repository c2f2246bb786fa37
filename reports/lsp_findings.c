/* lsp_findings.c — the claims' verdicts from the study (lsp_findings.h,
 * DESIGN §9.2 for the pre-declared summaries and rules). */
#include "reports/lsp_findings.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/base/lsp_error.h"

int lsp_findings_direction(int m) {
  switch (m) {
    case LSP_CELL_ACCURACY:
    case LSP_CELL_R2:
    case LSP_CELL_AUC_FGSM:
    case LSP_CELL_AUC_PGD:
    case LSP_CELL_AUC_AA:
      return 1;
    case LSP_CELL_ECE:
    case LSP_CELL_ECE_L2_DEBIASED:
    case LSP_CELL_NC1:
      return -1;
    default:
      return 0;
  }
}

const char *lsp_findings_no_verdict(int m) {
  return m == LSP_CELL_AUC_TRANSFER
             ? "not a smoothing effect: at ε = 0 the transfer attack is the model's own "
               "white-box PGD, so the Δ also compares a black-box attack with a white-box one "
               "(any second unsmoothed model attacked from the first would show a gain)"
             : NULL;
}

void lsp_findings_release(lsp_findings *f) {
  if (f && f->has_study) lsp_study_free(&f->study);
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

#define APPEND(i, ...)                                                                         \
  snprintf(f->evidence[i] + strlen(f->evidence[i]), sizeof f->evidence[i] - strlen(f->evidence[i]), \
           __VA_ARGS__)

/* " [lo, hi]" or, without an interval, why */
static void ci_text(char *buf, size_t n, const lsp_study_cmp *c) {
  if (!isnan(c->lo))
    snprintf(buf, n, " [%+.4f, %+.4f]", c->lo, c->hi);
  else if (c->seeds == 1)
    snprintf(buf, n, " (no interval, one seed: the seed-to-seed spread is unknown)");
  else
    snprintf(buf, n, " (no interval)");
}

/* "name a (ε) vs b (ε = 0): Δ = d [lo, hi], seeds agree (per seed: ...)" */
static void quote(lsp_findings *f, size_t i, const lsp_study_cmp *c, const char *name) {
  char ci[96];
  ci_text(ci, sizeof ci, c);
  APPEND(i, "%s %.4f at ε = %g vs %.4f at ε = 0 (means over %zu seed%s): Δ = %+.4f%s", name,
         c->mean_eps, c->eps, c->mean_base, c->seeds, c->seeds == 1 ? "" : "s", c->diff, ci);
  if (!isnan(c->lo))
    APPEND(i, " (half-widths: seeds ±%.4f, examples ±%.4f)", c->half_seed, c->half_ex);
  if (c->seeds > 1) {
    size_t ties = 0;
    for (size_t k = 0; k < c->seeds; k++) { /* "; seed 1: -0.0200, seed 2: +0.0260" */
      ties += c->per_seed[k] == 0;
      if (c->per_seed[k] == 0)
        APPEND(i, "%s seed %lu: 0 (tied)", k ? "," : ";", c->seed[k]);
      else
        APPEND(i, "%s seed %lu: %+.4f", k ? "," : ";", c->seed[k], c->per_seed[k]);
    }
    const char *ag = lsp_study_agreement(c);
    if (strcmp(ag, "agree") == 0)
      APPEND(i, " (the seeds agree in sign)");
    else if (strcmp(ag, "tied") == 0)
      APPEND(i, " (the seeds do not agree: %zu tied, and a tie has no sign)", ties);
    else
      APPEND(i, " (the seeds DISAGREE in sign)");
  }
  if (c->few_seeds && c->seeds > 1 && !strstr(f->evidence[i], "[only ")) /* once a finding */
    APPEND(i, " [only %zu seeds: the seed level is a t interval on %zu degrees of freedom, wide "
              "and resting on seed effects near normal, which so few values cannot check; run at "
              "least %d seeds]",
           c->seeds, c->seeds - 1, LSP_STUDY_MIN_SEEDS);
  APPEND(i, ". ");
}

/* the verdict of a claim on one or two summaries (both must agree) */
static int verdict2(const lsp_study_cmp *a, int da, const lsp_study_cmp *b, int db) {
  int va = lsp_study_verdict(a, da);
  if (!b) return va;
  int vb = lsp_study_verdict(b, db);
  return va == vb ? va : LSP_FINDING_INCONCLUSIVE;
}

/* "Every smoothed ε: 0.05 supported (Δ ...); ..." */
static void by_eps(lsp_findings *f, size_t i, int m1, int m2) {
  const lsp_study *st = &f->study;
  APPEND(i, "Every smoothed ε:");
  int first = 1;
  for (size_t e = 0; e < st->n_eps; e++) {
    if (e == st->base) continue;
    const lsp_study_cmp *a = &st->cmp[e][m1], *b = m2 >= 0 ? &st->cmp[e][m2] : NULL;
    int v = verdict2(a, lsp_findings_direction(m1), b, b ? lsp_findings_direction(m2) : 0);
    char ca[96], cb[96];
    ci_text(ca, sizeof ca, a);
    APPEND(i, "%s ε = %g: %s (Δ %+.4f%s", first ? "" : ";", st->eps[e], lsp_finding_word(v),
           a->diff, ca);
    if (b) {
      ci_text(cb, sizeof cb, b);
      APPEND(i, ", %+.4f%s", b->diff, cb);
    }
    APPEND(i, ")");
    first = 0;
  }
  APPEND(i, ". ");
}

static void design_note(lsp_findings *f, size_t i) {
  const lsp_study *st = &f->study;
  APPEND(i, "Intervals (DESIGN §9.4): Δ ± √(h_seeds² + h_examples²), h_seeds = t(S − 1, 0.975) "
            "× the sd of the per-seed differences / √S, h_examples half the width of the 95%% "
            "percentile interval of the mean difference over %zu shared example resamples (the "
            "same examples for both arms and every seed); a verdict needs the interval to "
            "exclude 0 and every seed to agree in sign, and at least two seeds.",
         st->B);
}

/* The rule of DESIGN §9.3 on the stronger attack's comparison c against
 * the FGSM comparison cf at the same ε, given the FGSM claim's verdict;
 * *how says why. "Lost" and "survives" are the contrasts ½Δ_FGSM − Δ and
 * Δ − ½Δ_FGSM, judged as directional claims (interval above 0, seeds
 * agreeing). */
int lsp_findings_no_gain(const lsp_study_cmp *c, const lsp_study_cmp *cf, size_t B,
                         int fgsm_verdict, const char **how) {
  const double M = LSP_STUDY_EQ_MARGIN;
  lsp_study_cmp lost, kept;
  lsp_study_contrast(cf, 0.5, c, -1.0, B, &lost);
  lsp_study_contrast(c, 1.0, cf, -0.5, B, &kept);
  const int equivalent = !isnan(c->lo) && c->lo > -M && c->hi < M;
  const int beyond = !isnan(c->lo) && c->lo > M && c->agree;
  if (fgsm_verdict != LSP_FINDING_SUPPORTED) {
    *how = "FGSM showed no significant gain to lose";
    return LSP_FINDING_INCONCLUSIVE;
  }
  if (beyond) {
    *how = "a gain larger than the margin survives the stronger attack (the whole interval is "
           "above the margin)";
    return LSP_FINDING_CONTRADICTED;
  }
  if (lsp_study_verdict(&kept, 1) == LSP_FINDING_SUPPORTED) {
    *how = "more than half of the FGSM gain survives the stronger attack (Δ − ½Δ_FGSM has its "
           "interval above 0, the seeds agreeing)";
    return LSP_FINDING_CONTRADICTED;
  }
  if (equivalent && lsp_study_verdict(&lost, 1) == LSP_FINDING_SUPPORTED) {
    *how = c->lo > 0 ? "the stronger attack's Δ lies inside the equivalence margin and less than "
                       "half of the FGSM gain is left (½Δ_FGSM − Δ above 0): what is left is "
                       "significant but small"
                     : "the stronger attack's Δ lies inside the equivalence margin and less than "
                       "half of the FGSM gain is left (½Δ_FGSM − Δ above 0)";
    return LSP_FINDING_SUPPORTED;
  }
  *how = equivalent
             ? "the stronger attack's Δ lies inside the equivalence margin, but that most of the "
               "FGSM gain is lost is not shown (½Δ_FGSM − Δ does not exclude 0 with the seeds "
               "agreeing): inconclusive"
             : "the stronger attack's interval is neither inside the equivalence margin nor above "
               "it, nor is more than half of the gain shown to survive: inconclusive (absence of "
               "evidence is not evidence of absence)";
  return LSP_FINDING_INCONCLUSIVE;
}

/* After a count of flags at ε: each flagged check that compares two attacks
 * with its paired counts, "(seed S transfer_not_stronger: b = 9, c = 2,
 * McNemar p = 0.033; ...)", at most four, then how many more. */
static void paired_flags(lsp_findings *f, size_t i, const lsp_run_state *s, double eps) {
  int shown = 0, more = 0;
  for (size_t k = 0; k < s->ncells && k < s->nmodels; k++) {
    const lsp_run_model *m = &s->models[k];
    if (s->cells[k].key.eps != eps || !m->has_mask) continue;
    for (int q = 0; q < m->mask.nchecks; q++) {
      const lsp_mask_check *c = &m->mask.checks[q];
      if (c->status != LSP_CHECK_FLAG || !c->paired) continue;
      if (shown == 4) {
        more++;
        continue;
      }
      APPEND(i, "%sseed %lu %s: b = %zu, c = %zu, McNemar p = %.2g", shown ? "; " : " (",
             s->cells[k].key.seed, c->name, c->b, c->c, c->p);
      shown++;
    }
  }
  if (more) APPEND(i, "; %d more", more);
  if (shown) APPEND(i, ")");
}

/* the equivalence claim: the FGSM gain does not survive a stronger attack */
static void survive(lsp_findings *f, const lsp_run_state *s, int fgsm_verdict) {
  const lsp_study *st = &f->study;
  const size_t J = st->judged;
  const int aa = st->trend[J][LSP_CELL_AUC_AA].n > 0 && !isnan(st->cmp[J][LSP_CELL_AUC_AA].diff);
  const int strong = aa ? LSP_CELL_AUC_AA : LSP_CELL_AUC_PGD;
  const lsp_study_cmp *c = &st->cmp[J][strong], *cf = &st->cmp[J][LSP_CELL_AUC_FGSM];
  size_t i = add(f, "pgd",
                 aa ? "The FGSM gain does not survive stronger attacks (AutoAttack; PGD for "
                      "comparison, transfer from the unsmoothed model as a check for masked "
                      "gradients)"
                    : "The FGSM gain does not survive stronger attacks (PGD; transfer from the "
                      "unsmoothed model as a check for masked gradients)");
  const double M = LSP_STUDY_EQ_MARGIN;
  const char *how;
  f->items[i].verdict = lsp_findings_no_gain(c, cf, st->B, fgsm_verdict, &how);
  if (s->opts.n_attack_eps == 1) /* a one-point grid: its AUC is the accuracy there */
    APPEND(i, "Judged at ε = %g on the accuracy at the one attack ε %g (the AUC of a one-point "
              "grid)",
           st->eps[J], s->opts.attack_eps[0]);
  else
    APPEND(i, "Judged at ε = %g on the area under the accuracy-vs-attack-ε curve over the "
              "attack grid [%g, %g] (normalized by its width)",
           st->eps[J], s->opts.attack_eps[0], s->opts.attack_eps[s->opts.n_attack_eps - 1]);
  APPEND(i, ": the claim of no gain needs the interval inside ±%g and less than half of the "
            "FGSM gain left; more than half left, or an interval above the margin, contradicts "
            "it (DESIGN §9.3). ",
         M);
  if (aa)
    APPEND(i, "Judged with AutoAttack (APGD-CE, then APGD-T, then Square; Croce & Hein 2020) on "
              "the first %zu attacked test examples of the models with %s (DESIGN §9.5). ",
           s->n_aa, s->aa_models);
  else if (s->n_aa)
    APPEND(i, "AutoAttack did not run on both models of this comparison (it ran on the models "
              "with %s): judged with PGD. ",
           s->aa_models);
  quote(f, i, c, aa ? "AutoAttack AUC" : "PGD AUC");
  APPEND(i, "Against the FGSM AUC Δ of %+.4f: %s. ", cf->diff, how);
  double r, rlo, rhi;
  lsp_study_ratio(c, cf, st->B, &r, &rlo, &rhi);
  if (isnan(r))
    APPEND(i, "Ratio of the %s gain to the FGSM gain: undefined (the FGSM Δ has no interval "
              "excluding 0). ",
           aa ? "AutoAttack" : "PGD");
  else
    APPEND(i, "Ratio of the %s gain to the FGSM gain: %.2f [%.2f, %.2f] (the ratios ρ whose "
              "contrast Δ − ρ·Δ_FGSM has an interval holding 0). ",
           aa ? "AutoAttack" : "PGD", r, rlo, rhi);
  lsp_study_cmp lost;
  lsp_study_contrast(cf, 0.5, c, -1.0, st->B, &lost);
  char lci[96];
  ci_text(lci, sizeof lci, &lost);
  APPEND(i, "Half the FGSM gain minus the %s gain, ½Δ_FGSM − Δ = %+.4f%s (per-seed signs: %s). ",
         aa ? "AutoAttack" : "PGD", lost.diff, lci, lsp_study_agreement(&lost));
  if (aa) quote(f, i, &st->cmp[J][LSP_CELL_AUC_PGD], "For comparison, PGD AUC");
  /* gradient masking at every ε: transfer stronger than white-box PGD,
   * and the checklist's flags. The transfer AUC's Δ against ε = 0 is not
   * quoted: it is no smoothing effect (lsp_findings_no_verdict). */
  APPEND(i, "Gradient masking by ε (transfer AUC vs white-box PGD AUC, mean over seeds; "
            "checklist flags summed over seeds; each flagged comparison of two attacks with b, "
            "the attack examples the suspected attack breaks and the other leaves correct, c, "
            "the reverse, and the exact one-sided McNemar p of b out of b + c):");
  for (size_t e = 0; e < st->n_eps; e++) {
    double tr = st->trend[e][LSP_CELL_AUC_TRANSFER].mean, pg = st->trend[e][LSP_CELL_AUC_PGD].mean;
    int flags = 0, checks = 0;
    for (size_t k = 0; k < s->ncells; k++)
      if (s->cells[k].key.eps == st->eps[e]) {
        flags += s->cells[k].mask_flags;
        checks += s->cells[k].mask_checks;
      }
    APPEND(i, "%s ε = %g: %.4f vs %.4f%s, %d of %d flagged", e ? ";" : "", st->eps[e], tr, pg,
           tr + 0.01 < pg ? " (transfer STRONGER: a sign of masked gradients)" : "", flags,
           checks);
    paired_flags(f, i, s, st->eps[e]);
  }
  APPEND(i, ". Every smoothed ε (the same rule, with that ε's FGSM verdict%s):",
         aa ? "; AutoAttack where it ran, else PGD" : "");
  for (size_t e = 0, first = 1; e < st->n_eps; e++) {
    if (e == st->base) continue;
    const int here = aa && !isnan(st->cmp[e][LSP_CELL_AUC_AA].diff);
    const lsp_study_cmp *ce = &st->cmp[e][here || !aa ? strong : LSP_CELL_AUC_PGD];
    const char *why;
    const lsp_study_cmp *fe = &st->cmp[e][LSP_CELL_AUC_FGSM];
    int v = lsp_findings_no_gain(ce, fe, st->B, lsp_study_verdict(fe, 1), &why);
    char ci[96];
    ci_text(ci, sizeof ci, ce);
    APPEND(i, "%s ε = %g: %s (%sΔ %+.4f%s against FGSM %+.4f)", first ? "" : ";", st->eps[e],
           lsp_finding_word(v), aa ? (here ? "AutoAttack " : "PGD ") : "", ce->diff, ci, fe->diff);
    first = 0;
  }
  APPEND(i, ". ");
}

/* Models whose temperature could not be fitted have no "ECE after T"
 * (lsp_cell_unfitted_t): the text says which, before the comparison it
 * leaves out. */
static void unfitted_note(lsp_findings *f, size_t i, const lsp_run_state *s) {
  size_t bad = 0, first = 0;
  for (size_t k = 0; k < s->nmodels; k++)
    if (!s->models[k].temperature_ok && bad++ == 0) first = k;
  if (bad)
    APPEND(i, "(the temperature could not be fitted for %zu of %zu models — first %s: %s; "
              "they have no ECE after T) ",
           bad, s->nmodels, s->models[first].label, s->models[first].temperature_note);
}

int lsp_findings_compute(const lsp_run_state *s, lsp_findings *f) {
  memset(f, 0, sizeof *f);
  if (s->ncells == 0) return LSP_OK;
  int st = lsp_study_compute(s->cells, s->ncells, &f->study);
  if (st) return st;
  f->has_study = 1;
  const lsp_study *sy = &f->study;
  if (sy->base == sy->n_eps || sy->judged >= sy->n_eps) return LSP_OK; /* nothing to compare */
  const size_t J = sy->judged;
  const lsp_study_cmp *c = sy->cmp[J];

  size_t i = add(f, "accuracy", "Label smoothing improves test accuracy");
  f->items[i].verdict = lsp_study_verdict(&c[LSP_CELL_ACCURACY], 1);
  quote(f, i, &c[LSP_CELL_ACCURACY], "Test accuracy");
  by_eps(f, i, LSP_CELL_ACCURACY, -1);
  design_note(f, i);

  i = add(f, "calibration",
          "Label smoothing improves calibration (lowers the ECE and the debiased ECE)");
  f->items[i].verdict =
      verdict2(&c[LSP_CELL_ECE], -1, &c[LSP_CELL_ECE_L2_DEBIASED], -1);
  char ece_name[64];
  snprintf(ece_name, sizeof ece_name, "Binned ECE (%d equal-width bins)", LSP_CELL_ECE_BINS);
  quote(f, i, &c[LSP_CELL_ECE], ece_name);
  quote(f, i, &c[LSP_CELL_ECE_L2_DEBIASED], "Debiased ℓ2 ECE");
  if (s->opts.bins != LSP_CELL_ECE_BINS)
    APPEND(i, "The study keeps the pre-declared %d bins (DESIGN §9.2); --bins %zu sets the "
              "per-model tables' bins only. ",
           LSP_CELL_ECE_BINS, s->opts.bins);
  APPEND(i, "Both must agree for a verdict. After temperature scaling: ");
  unfitted_note(f, i, s);
  if (isnan(c[LSP_CELL_ECE_T].diff))
    APPEND(i, "ECE not compared at ε = %g (a model of the comparison has no fitted "
              "temperature). ",
           c[LSP_CELL_ECE_T].eps);
  else
    quote(f, i, &c[LSP_CELL_ECE_T], "ECE");
  quote(f, i, &c[LSP_CELL_NLL], "NLL");
  by_eps(f, i, LSP_CELL_ECE, LSP_CELL_ECE_L2_DEBIASED);

  i = add(f, "clusters",
          "Label smoothing tightens the penultimate-layer clusters (higher class separation R², "
          "lower NC1)");
  f->items[i].verdict = verdict2(&c[LSP_CELL_R2], 1, &c[LSP_CELL_NC1], -1);
  quote(f, i, &c[LSP_CELL_R2], "R² separation");
  quote(f, i, &c[LSP_CELL_NC1], "NC1");
  APPEND(i, "Both must agree for a verdict. ");
  by_eps(f, i, LSP_CELL_R2, LSP_CELL_NC1);

  i = add(f, "fgsm", "Label smoothing makes the model more robust to FGSM");
  f->items[i].verdict = lsp_study_verdict(&c[LSP_CELL_AUC_FGSM], 1);
  APPEND(i, "Area under the FGSM accuracy-vs-attack-ε curve (normalized, %zu attacked test "
            "examples): ",
         s->n_attack);
  quote(f, i, &c[LSP_CELL_AUC_FGSM], "FGSM AUC");
  by_eps(f, i, LSP_CELL_AUC_FGSM, -1);

  survive(f, s, f->items[i].verdict);
  return LSP_OK;
}
