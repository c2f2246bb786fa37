/* lsp_attack_report.c — JSON of attack results and the gradient-masking
 * checklist (Athalye, Carlini & Wagner 2018, §"Identifying obfuscated
 * gradients"): warning signs that an apparent robustness gain comes from
 * gradients that mislead first-order attacks rather than from the model. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "attacks/lsp_attack.h"
#include "core/base/lsp_error.h"

void lsp_attack_result_json(lsp_json *j, const lsp_attack_result *r,
                            int with_braces) {
  if (with_braces) lsp_json_obj_begin(j);
  const int aa = lsp_attack_kind_is_aa(r->kind);
  const int apgd = aa && r->kind != LSP_ATTACK_SQUARE;
  const int square =
      r->kind == LSP_ATTACK_SQUARE || r->kind == LSP_ATTACK_AUTOATTACK;
  lsp_json_key_str(j, "attack", lsp_attack_kind_name(r->kind));
  lsp_json_key_str(j, "loss",
                   r->kind == LSP_ATTACK_AUTOATTACK
                       ? "ce, dlr-targeted, margin"
                       : lsp_attack_loss_name(r->loss));
  if (r->loss == LSP_ALOSS_SMOOTHED) {
    lsp_json_key_num(j, "loss_smoothing", r->smoothing.eps);
    lsp_json_key_str(j, "loss_convention",
                     lsp_ls_convention_name(r->smoothing.convention));
  }
  lsp_json_key(j, "target");
  if (r->target == LSP_TARGET_NONE)
    lsp_json_null(j);
  else if (r->target == LSP_TARGET_LEAST_LIKELY)
    lsp_json_str(j, "least-likely");
  else
    lsp_json_int(j, r->target);
  lsp_json_key_bool(j, "transfer", r->transfer);
  lsp_json_key_int(j, "n", (long long)r->n);
  lsp_json_key_int(j, "classes", (long long)r->k);
  lsp_json_key_int(j, "unread_inputs", (long long)r->unread_inputs);
  lsp_json_key_num(j, "lo", r->lo);
  lsp_json_key_num(j, "hi", r->hi);
  if (aa) {
    if (apgd) lsp_json_key_int(j, "steps", (long long)r->steps);
    lsp_json_key_int(j, "restarts", (long long)r->restarts);
    if (r->kind == LSP_ATTACK_APGD_T || r->kind == LSP_ATTACK_AUTOATTACK)
      lsp_json_key_int(j, "targets", (long long)r->targets);
    if (square) {
      lsp_json_key_int(j, "queries", (long long)r->queries);
      lsp_json_key_num(j, "p_init", r->p_init);
      lsp_json_key(j, "shape");
      lsp_json_arr_begin(j);
      for (int d = 0; d < 3; d++) lsp_json_int(j, (long long)r->shape[d]);
      lsp_json_arr_end(j);
    }
    lsp_json_key_int(j, "seed", (long long)r->seed);
  } else if (r->kind != LSP_ATTACK_FGSM) {
    lsp_json_key_int(j, "steps", (long long)r->steps);
    lsp_json_key(j, "step_size");
    if (r->step_size > 0.0)
      lsp_json_num(j, r->step_size);
    else
      lsp_json_str(j, "2.5*eps/steps");
    lsp_json_key_int(j, "restarts", (long long)r->restarts);
    lsp_json_key_bool(j, "early_exit", r->early_exit);
    if (r->kind == LSP_ATTACK_PGD)
      lsp_json_key_int(j, "seed", (long long)r->seed);
  }
  lsp_json_key_num(j, "clean_accuracy", r->clean_accuracy);
  if (r->target != LSP_TARGET_NONE)
    lsp_json_key_num(j, "clean_target_rate", r->clean_target_rate);
  lsp_json_key(j, "points");
  lsp_json_arr_begin(j);
  for (size_t i = 0; i < r->npoints; i++) {
    const lsp_attack_point *p = &r->points[i];
    lsp_json_obj_begin(j);
    lsp_json_key_num(j, "eps", p->eps);
    lsp_json_key_num(j, "accuracy", p->accuracy);
    lsp_json_key_num(j, "accuracy_raw", p->accuracy_raw);
    lsp_json_key_num(j, "success_rate", p->success_rate);
    lsp_json_key_num(j, "mean_confidence", p->mean_confidence);
    lsp_json_key_num(j, "zero_grad_share", p->zero_grad_share);
    if (r->target != LSP_TARGET_NONE)
      lsp_json_key_num(j, "target_rate", p->target_rate);
    if (r->kind == LSP_ATTACK_AUTOATTACK) {
      lsp_json_key(j, "stages");
      lsp_json_obj_begin(j);
      for (int s = 0; s < LSP_AA_NSTAGES; s++)
        lsp_json_key_num(j, lsp_aa_stage_names[s], p->stage_accuracy[s]);
      lsp_json_obj_end(j);
    }
    if (square) {
      lsp_json_key_num(j, "queries_mean", p->queries_mean);
      lsp_json_key_num(j, "queries_median", p->queries_median);
      lsp_json_key_num(j, "queries", p->queries_total);
    }
    lsp_json_obj_end(j);
  }
  lsp_json_arr_end(j);
  lsp_json_key_num(j, "seconds", r->seconds);
  lsp_json_key_num(j, "gflop", r->flops / 1e9);
  if (with_braces) lsp_json_obj_end(j);
}

/* ---- the checklist ---------------------------------------------------------
 */

void lsp_mask_opts_default(lsp_mask_opts *o) {
  o->tol = 0.01;
  o->large_eps = 0.3;
  o->near_zero = 0.05;
  o->zero_grad_max = 0.01;
  o->ce_gap = 0.05;
}

const char *lsp_check_status_name(lsp_check_status s) {
  return s == LSP_CHECK_PASS   ? "pass"
         : s == LSP_CHECK_FLAG ? "flag"
                               : "skipped";
}

static void set(lsp_mask_check *c, const char *name, lsp_check_status st,
                double eps, double value, double ref, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

static void set(lsp_mask_check *c, const char *name, lsp_check_status st,
                double eps, double value, double ref, const char *fmt, ...) {
  c->name = name;
  c->status = st;
  c->eps = eps;
  c->value = value;
  c->reference = ref;
  c->paired = 0;
  c->b = c->c = 0;
  c->p = NAN;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->detail, sizeof c->detail, fmt, ap);
  va_end(ap);
}

/* P(X >= j), X ~ Binomial(m, 1/2), for 2j > m: the terms fall from the
 * first on, each from the one before. */
static double upper_tail(size_t m, size_t j) {
  if (j > m) return 0.0;
  double t = exp(lgamma((double)m + 1.0) - lgamma((double)j + 1.0) -
                 lgamma((double)(m - j) + 1.0) - (double)m * log(2.0));
  double sum = 0.0;
  for (size_t k = j; k <= m && t > 0.0 && t >= sum * 1e-18; k++) {
    sum += t;
    t *= (double)(m - k) / (double)(k + 1);
  }
  return sum;
}

double lsp_mcnemar_p(size_t b, size_t c) {
  const size_t m = b + c;
  if (b == 0) return 1.0;
  if (2 * b > m) return upper_tail(m, b);
  /* P(X >= b) = 1 − P(X <= b − 1) = 1 − P(X >= m − b + 1) by symmetry;
   * that tail is at most 1/2, so no digits cancel */
  return 1.0 - upper_tail(m, m - b + 1);
}

/* Examples counted correct in a row of robust bits. */
static size_t row_count(const uint8_t *row, size_t n) {
  size_t s = 0;
  for (size_t i = 0; i < n; i++) s += (size_t)lsp_robust_bit(row, i);
  return s;
}

/* Fill k's paired counts: b = examples `sus` breaks at its point ps and
 * `ref` leaves correct at pr, c = the reverse; then p and the sentence.
 * Leaves k unpaired when a result keeps no outcomes or they disagree with
 * its accuracy. */
static void pair(lsp_mask_check *k, const lsp_attack_result *sus,
                 const lsp_attack_point *ps, const char *sname,
                 const lsp_attack_result *ref, const lsp_attack_point *pr,
                 const char *rname) {
  if (!sus->robust || !ref->robust || !isfinite(ps->accuracy_raw) ||
      !isfinite(pr->accuracy_raw))
    return;
  const size_t n = sus->n, nb = LSP_ROBUST_BYTES(n);
  const uint8_t *rs = sus->robust + (size_t)(ps - sus->points) * nb;
  const uint8_t *rr = ref->robust + (size_t)(pr - ref->points) * nb;
  if (row_count(rs, n) != (size_t)llround(ps->accuracy_raw * (double)n) ||
      row_count(rr, n) != (size_t)llround(pr->accuracy_raw * (double)n))
    return;
  size_t b = 0, c = 0;
  for (size_t i = 0; i < n; i++) {
    int s = lsp_robust_bit(rs, i), r = lsp_robust_bit(rr, i);
    b += (size_t)(r && !s);
    c += (size_t)(s && !r);
  }
  k->paired = 1;
  k->b = b;
  k->c = c;
  k->p = lsp_mcnemar_p(b, c);
  size_t len = strlen(k->detail);
  snprintf(k->detail + len, sizeof k->detail - len,
           "; %s breaks %zu example%s %s leaves correct, %s %zu the other way "
           "(one-sided McNemar p = %.3g)",
           sname, b, b == 1 ? "" : "s", rname, rname, c, k->p);
}

/* The same for two stages of one AutoAttack point: stage `to` attacks only
 * what stage `from` left correct, so b is the drop in examples and c = 0. */
static void pair_stages(lsp_mask_check *k, const lsp_attack_result *aa,
                        const lsp_attack_point *p, int from, int to,
                        const char *sname, const char *rname) {
  const double n = (double)aa->n;
  if (!(p->stage_accuracy[from] >= p->stage_accuracy[to]) ||
      !isfinite(p->stage_accuracy[from]) || !isfinite(p->stage_accuracy[to]))
    return;
  long long hi = llround(p->stage_accuracy[from] * n),
            lo = llround(p->stage_accuracy[to] * n);
  if (lo > hi) return;
  k->paired = 1;
  k->b = (size_t)(hi - lo);
  k->c = 0;
  k->p = lsp_mcnemar_p(k->b, 0);
  size_t len = strlen(k->detail);
  snprintf(k->detail + len, sizeof k->detail - len,
           "; %s breaks %zu example%s %s left correct, 0 the other way by "
           "construction (one-sided McNemar p = %.3g)",
           sname, k->b, k->b == 1 ? "" : "s", rname, k->p);
}

/* The point of r at eps exactly, or NULL. */
static const lsp_attack_point *at_eps(const lsp_attack_result *r, double eps) {
  for (size_t i = 0; i < r->npoints; i++)
    if (r->points[i].eps == eps) return &r->points[i];
  return NULL;
}

/* Largest rise of raw accuracy between an ε and a larger one (0 if none). */
static double worst_rise(const lsp_attack_result *r, double *where) {
  double worst = 0.0;
  *where = NAN;
  for (size_t a = 0; a < r->npoints; a++)
    for (size_t b = 0; b < r->npoints; b++)
      if (r->points[b].eps > r->points[a].eps) {
        double rise = r->points[b].accuracy_raw - r->points[a].accuracy_raw;
        if (rise > worst) {
          worst = rise;
          *where = r->points[b].eps;
        }
      }
  return worst;
}

int lsp_attack_checklist(const lsp_attack_result *fgsm,
                         const lsp_attack_result *iter,
                         const lsp_attack_result *transfer,
                         const lsp_mask_opts *o, lsp_mask_report *out) {
  lsp_mask_opts def;
  if (!o) {
    lsp_mask_opts_default(&def);
    o = &def;
  }
  if (!out) return lsp_fail(LSP_EINVAL, "checklist: no report struct");
  memset(out, 0, sizeof *out);
  if (!fgsm || fgsm->kind != LSP_ATTACK_FGSM || fgsm->npoints == 0)
    return lsp_fail(LSP_EINVAL, "checklist: needs a white-box FGSM sweep");
  if (iter && iter->kind == LSP_ATTACK_FGSM)
    return lsp_fail(LSP_EINVAL,
                    "checklist: the iterative result is an FGSM sweep");
  const lsp_attack_result *all[2] = {iter, transfer};
  for (int i = 0; i < 2; i++)
    if (all[i] && (all[i]->n != fgsm->n || all[i]->lo != fgsm->lo ||
                   all[i]->hi != fgsm->hi))
      return lsp_fail(LSP_EINVAL,
                      "checklist: results were scored on different data");
  if (fgsm->transfer || (iter && iter->transfer))
    return lsp_fail(LSP_EINVAL,
                    "checklist: the white-box results are transfer attacks");
  lsp_mask_check *c = out->checks;

  /* 1. an iterative attack must do at least as well as its first step */
  if (!iter) {
    set(&c[0], "pgd_le_fgsm", LSP_CHECK_SKIP, NAN, NAN, NAN,
        "no iterative attack was run");
  } else {
    double worst = -INFINITY, we = NAN, wv = NAN, wr = NAN;
    const lsp_attack_point *pi = NULL, *pf = NULL;
    for (size_t i = 0; i < iter->npoints; i++) {
      const lsp_attack_point *f = at_eps(fgsm, iter->points[i].eps);
      if (!f || f->eps == 0.0)
        continue; /* at eps 0 both are the clean accuracy */
      double d = iter->points[i].accuracy_raw - f->accuracy;
      if (d > worst) {
        worst = d;
        we = f->eps;
        wv = iter->points[i].accuracy_raw;
        wr = f->accuracy;
        pi = &iter->points[i];
        pf = f;
      }
    }
    if (isnan(we))
      set(&c[0], "pgd_le_fgsm", LSP_CHECK_SKIP, NAN, NAN, NAN,
          "no eps > 0 shared with FGSM");
    else
      set(&c[0], "pgd_le_fgsm",
          worst > o->tol ? LSP_CHECK_FLAG : LSP_CHECK_PASS, we, wv, wr,
          "%s accuracy %.4f vs FGSM %.4f at eps %g (worst eps; slack %g)",
          lsp_attack_kind_name(iter->kind), wv, wr, we, o->tol);
    if (!isnan(we))
      pair(&c[0], fgsm, pf, "fgsm", iter, pi, lsp_attack_kind_name(iter->kind));
  }

  /* 2. accuracy falls with ε (raw numbers) */
  {
    double ef, ei = NAN;
    double rf = worst_rise(fgsm, &ef), ri = iter ? worst_rise(iter, &ei) : 0.0;
    int use_iter = iter && ri > rf;
    double rise = use_iter ? ri : rf, e = use_iter ? ei : ef;
    const char *who = use_iter ? lsp_attack_kind_name(iter->kind) : "fgsm";
    if (rise > 0.0)
      set(&c[1], "accuracy_falls",
          rise > o->tol ? LSP_CHECK_FLAG : LSP_CHECK_PASS, e, rise, 0.0,
          "%s accuracy rises by %.4f up to eps %g (slack %g)", who, rise, e,
          o->tol);
    else
      set(&c[1], "accuracy_falls", LSP_CHECK_PASS, NAN, 0.0, 0.0,
          "accuracy never rises with eps (fgsm%s%s)", iter ? " and " : "",
          iter ? lsp_attack_kind_name(iter->kind) : "");
  }

  /* 3. a large ε should break (almost) everything */
  {
    const lsp_attack_result *r = iter ? iter : fgsm;
    const lsp_attack_point *big = &r->points[0];
    for (size_t i = 1; i < r->npoints; i++)
      if (r->points[i].eps > big->eps) big = &r->points[i];
    double need = o->large_eps * ((double)r->hi - (double)r->lo);
    if (big->eps < need)
      set(&c[2], "near_zero_at_large_eps", LSP_CHECK_SKIP, big->eps,
          big->accuracy_raw, o->near_zero,
          "largest eps %g is below %g; add a large eps to the sweep", big->eps,
          need);
    else
      set(&c[2], "near_zero_at_large_eps",
          big->accuracy_raw > o->near_zero ? LSP_CHECK_FLAG : LSP_CHECK_PASS,
          big->eps, big->accuracy_raw, o->near_zero,
          "%s accuracy %.4f at eps %g (expected <= %g)",
          lsp_attack_kind_name(r->kind), big->accuracy_raw, big->eps,
          o->near_zero);
  }

  /* 4. a black-box transfer attack must not beat the white-box one */
  if (!transfer) {
    set(&c[3], "transfer_not_stronger", LSP_CHECK_SKIP, NAN, NAN, NAN,
        "no transfer attack was run");
  } else {
    const lsp_attack_result *wb =
        transfer->kind != LSP_ATTACK_FGSM && iter ? iter : fgsm;
    double worst = -INFINITY, we = NAN, wv = NAN, wr = NAN;
    const lsp_attack_point *pt = NULL, *pw = NULL;
    for (size_t i = 0; i < transfer->npoints; i++) {
      const lsp_attack_point *w = at_eps(wb, transfer->points[i].eps);
      if (!w || w->eps == 0.0) continue;
      double d = w->accuracy_raw - transfer->points[i].accuracy_raw;
      if (d > worst) {
        worst = d;
        we = w->eps;
        wv = transfer->points[i].accuracy_raw;
        wr = w->accuracy_raw;
        pt = &transfer->points[i];
        pw = w;
      }
    }
    if (isnan(we))
      set(&c[3], "transfer_not_stronger", LSP_CHECK_SKIP, NAN, NAN, NAN,
          "no eps > 0 shared with the white-box attack");
    else
      set(&c[3], "transfer_not_stronger",
          worst > o->tol ? LSP_CHECK_FLAG : LSP_CHECK_PASS, we, wv, wr,
          "transfer accuracy %.4f vs white-box %s %.4f at eps %g (slack %g)",
          wv, lsp_attack_kind_name(wb->kind), wr, we, o->tol);
    if (!isnan(we))
      pair(&c[3], transfer, pt, "transfer", wb, pw,
           wb->kind == LSP_ATTACK_PGD ? "white-box pgd"
           : wb->kind == LSP_ATTACK_BIM ? "white-box bim"
                                        : "white-box fgsm");
  }

  /* checks 1–4 compare what attacks break: with no example correct on the
   * clean input there is nothing to break, and a pass would say nothing */
  if (fgsm->clean_accuracy == 0.0)
    for (int i = 0; i < 4; i++)
      set(&c[i], c[i].name, LSP_CHECK_SKIP, NAN, NAN, NAN,
          "no example is correct on the clean input: nothing for an attack to break");

  /* 5. exactly-zero input gradients (saturated softmax, dead units) */
  {
    double worst = -1.0, we = NAN;
    const lsp_attack_result *rs[2] = {fgsm, iter};
    for (int k = 0; k < 2; k++)
      for (size_t i = 0; rs[k] && i < rs[k]->npoints; i++)
        if (rs[k]->points[i].zero_grad_share > worst) {
          worst = rs[k]->points[i].zero_grad_share;
          we = rs[k]->points[i].eps;
        }
    if (isnan(we)) /* no share: no gradient at a correctly classified input */
      set(&c[4], "zero_grad_share", LSP_CHECK_SKIP, NAN, NAN, o->zero_grad_max,
          "no gradient was taken at a correctly classified input: no share to judge");
    else
      set(&c[4], "zero_grad_share",
          worst > o->zero_grad_max ? LSP_CHECK_FLAG : LSP_CHECK_PASS, we, worst,
          o->zero_grad_max,
          "%.4f of input-gradient components are exactly zero (largest, at eps "
          "%g; flag above %g)",
          worst, we, o->zero_grad_max);
    if (fgsm->unread_inputs > 0) { /* what the share left out */
      size_t len = strlen(c[4].detail);
      snprintf(c[4].detail + len, sizeof c[4].detail - len,
               "; %zu unread inputs not counted", fgsm->unread_inputs);
    }
  }
  out->nchecks = LSP_MASK_NCHECKS;
  for (int i = 0; i < LSP_MASK_NCHECKS; i++)
    out->flags += c[i].status == LSP_CHECK_FLAG;
  return LSP_OK;
}

void lsp_attack_checklist_json(lsp_json *j, const lsp_mask_report *r) {
  lsp_json_obj_begin(j);
  lsp_json_key_int(j, "flags", r->flags);
  lsp_json_key(j, "checks");
  lsp_json_arr_begin(j);
  for (int i = 0; i < r->nchecks; i++) {
    const lsp_mask_check *c = &r->checks[i];
    lsp_json_obj_begin(j);
    lsp_json_key_str(j, "name", c->name);
    lsp_json_key_str(j, "status", lsp_check_status_name(c->status));
    lsp_json_key_num(j, "eps", c->eps);
    lsp_json_key_num(j, "value", c->value);
    lsp_json_key_num(j, "reference", c->reference);
    const char *pk[3] = {"b", "c", "p_value"};
    for (int q = 0; q < 3; q++) {
      lsp_json_key(j, pk[q]);
      if (!c->paired)
        lsp_json_null(j);
      else if (q < 2)
        lsp_json_int(j, (long long)(q == 0 ? c->b : c->c));
      else
        lsp_json_num(j, c->p);
    }
    lsp_json_key_str(j, "detail", c->detail);
    lsp_json_obj_end(j);
  }
  lsp_json_arr_end(j);
  lsp_json_obj_end(j);
}

/* ---- the checks AutoAttack makes possible ----------------------------------
 */

/* The largest stage-to-stage drop of accuracy over the ε > 0 of aa:
 * stage_accuracy[from] − stage_accuracy[to]. */
static double worst_drop(const lsp_attack_result *aa, int from, int to,
                         const lsp_attack_point **where) {
  double worst = -INFINITY;
  *where = NULL;
  for (size_t i = 0; i < aa->npoints; i++) {
    const lsp_attack_point *p = &aa->points[i];
    if (!(p->eps > 0.0)) continue;
    double d = p->stage_accuracy[from] - p->stage_accuracy[to];
    if (d > worst) {
      worst = d;
      *where = p;
    }
  }
  return worst;
}

int lsp_attack_checklist_aa(const lsp_attack_result *aa,
                            const lsp_attack_result *ref,
                            const lsp_mask_opts *o, lsp_mask_report *rep) {
  lsp_mask_opts def;
  if (!o) {
    lsp_mask_opts_default(&def);
    o = &def;
  }
  if (!rep || !aa || aa->kind != LSP_ATTACK_AUTOATTACK || aa->npoints == 0)
    return lsp_fail(LSP_EINVAL, "checklist: needs an AutoAttack sweep");
  if (ref && (ref->n != aa->n || ref->lo != aa->lo || ref->hi != aa->hi))
    return lsp_fail(LSP_EINVAL,
                    "checklist: results were scored on different data");
  if (rep->nchecks < 0 || rep->nchecks + 2 > LSP_MASK_MAXCHECKS)
    return lsp_fail(LSP_EINVAL, "checklist: no room for the AutoAttack checks");
  lsp_mask_check *c = &rep->checks[rep->nchecks];
  const lsp_attack_point *p = NULL;

  /* 6. the gradient-free attack must not beat the gradient-based ones */
  double d = worst_drop(aa, 1, 2, &p);
  if (!p)
    set(&c[0], "black_box_not_stronger", LSP_CHECK_SKIP, NAN, NAN, NAN,
        "no eps > 0 in the AutoAttack sweep");
  else
    set(&c[0], "black_box_not_stronger",
        d > o->tol ? LSP_CHECK_FLAG : LSP_CHECK_PASS, p->eps,
        p->stage_accuracy[2], p->stage_accuracy[1],
        "Square lowers accuracy from %.4f (after APGD-CE, APGD-T) to %.4f at "
        "eps %g (worst eps; slack %g)",
        p->stage_accuracy[1], p->stage_accuracy[2], p->eps, o->tol);
  if (p) pair_stages(&c[0], aa, p, 1, 2, "Square", "APGD");

  /* 7. the cross-entropy attack must not be much weaker than DLR's */
  d = worst_drop(aa, 0, 1, &p);
  if (!p)
    set(&c[1], "apgd_ce_not_weaker", LSP_CHECK_SKIP, NAN, NAN, NAN,
        "no eps > 0 in the AutoAttack sweep");
  else
    set(&c[1], "apgd_ce_not_weaker",
        d > o->ce_gap ? LSP_CHECK_FLAG : LSP_CHECK_PASS, p->eps,
        p->stage_accuracy[0], p->stage_accuracy[1],
        "APGD-CE accuracy %.4f, after APGD-T (DLR) %.4f at eps %g (worst eps; "
        "flag a gap above %g)",
        p->stage_accuracy[0], p->stage_accuracy[1], p->eps, o->ce_gap);
  if (p) pair_stages(&c[1], aa, p, 0, 1, "APGD-T", "APGD-CE");

  /* 3 again: a large ε must break (almost) everything under the strongest
   * attack */
  const lsp_attack_point *big = &aa->points[0];
  for (size_t i = 1; i < aa->npoints; i++)
    if (aa->points[i].eps > big->eps) big = &aa->points[i];
  if (big->eps >= o->large_eps * ((double)aa->hi - (double)aa->lo))
    for (int i = 0; i < rep->nchecks; i++) {
      lsp_mask_check *k = &rep->checks[i];
      if (strcmp(k->name, "near_zero_at_large_eps") != 0) continue;
      rep->flags -= k->status == LSP_CHECK_FLAG;
      set(k, "near_zero_at_large_eps",
          big->accuracy_raw > o->near_zero ? LSP_CHECK_FLAG : LSP_CHECK_PASS,
          big->eps, big->accuracy_raw, o->near_zero,
          "autoattack accuracy %.4f at eps %g (expected <= %g)",
          big->accuracy_raw, big->eps, o->near_zero);
      rep->flags += k->status == LSP_CHECK_FLAG;
    }
  rep->nchecks += 2;
  rep->flags +=
      (c[0].status == LSP_CHECK_FLAG) + (c[1].status == LSP_CHECK_FLAG);
  return LSP_OK;
}
