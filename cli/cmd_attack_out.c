/* cmd_attack_out.c — what `lsprobe attack` prints: progress on stderr,
 * the result tables and the masking checklist (cmd_attack_int.h). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>

#include "cli/cmd_attack_int.h"
#include "core/base/lsp_util.h"

void cmd_attack_progress(const lsp_attack_progress *p, void *user) {
  progress_state *s = user;
  double t = lsp_now_s();
  if (t - s->t0 < 2.0 || (t - s->last < 1.0 && p->done < p->total)) return;
  s->last = t;
  double frac = p->total ? (double)p->done / (double)p->total : 1.0;
  double eta = frac > 0 ? (t - s->t0) * (1.0 - frac) / frac : 0.0;
  fprintf(stderr,
          "%slsprobe: attack: %s eps %g restart %zu: %3.0f%%, eta %.0f s%s",
          s->tty ? "\r" : "", p->stage, p->eps, p->restart, 100.0 * frac, eta,
          s->tty ? "   " : "\n");
  s->printed = 1;
}

/* The settings line of an APGD / Square / AutoAttack result. */
static void print_aa_settings(const lsp_attack_result *r) {
  const int apgd = r->kind != LSP_ATTACK_SQUARE,
            square = r->kind == LSP_ATTACK_SQUARE ||
                     r->kind == LSP_ATTACK_AUTOATTACK;
  if (r->kind == LSP_ATTACK_AUTOATTACK)
    printf(
        "attack autoattack: apgd-ce, then apgd-t, then square on the "
        "examples still correct");
  else
    printf("attack %s, loss %s", lsp_attack_kind_name(r->kind),
           lsp_attack_loss_name(r->loss));
  if (apgd)
    printf("\napgd: %zu steps, step size 2eps halved at checkpoints", r->steps);
  if (r->kind == LSP_ATTACK_APGD_T || r->kind == LSP_ATTACK_AUTOATTACK)
    printf(", %zu target classes", r->targets);
  if (square)
    printf("%ssquare: %zu queries, p_init %g, inputs as %zux%zux%zu",
           apgd ? "; " : "\n", r->queries, r->p_init, r->shape[0], r->shape[1],
           r->shape[2]);
  printf("; %zu restart%s, seed %lu, every iterate judged", r->restarts,
         r->restarts == 1 ? "" : "s", r->seed);
}

void cmd_attack_print(const lsp_attack_result *r, const char *model,
                      const char *from) {
  const int aa = lsp_attack_kind_is_aa(r->kind);
  const int square =
      r->kind == LSP_ATTACK_SQUARE || r->kind == LSP_ATTACK_AUTOATTACK;
  if (aa)
    print_aa_settings(r);
  else
    printf("attack %s%s, loss %s", lsp_attack_kind_name(r->kind),
           r->target == LSP_TARGET_NONE ? "" : " (targeted)",
           lsp_attack_loss_name(r->loss));
  if (!aa && r->loss == LSP_ALOSS_SMOOTHED)
    printf(" (eps %g, %s)", r->smoothing.eps,
           lsp_ls_convention_name(r->smoothing.convention));
  if (!aa && r->kind != LSP_ATTACK_FGSM) {
    if (r->step_size > 0)
      printf(", %zu steps of %g", r->steps, r->step_size);
    else
      printf(", %zu steps of 2.5*eps/%zu", r->steps, r->steps);
    printf(", %zu restart%s", r->restarts, r->restarts == 1 ? "" : "s");
    printf(r->early_exit ? ", every iterate judged" : ", last iterate judged");
    if (r->kind == LSP_ATTACK_PGD) printf(", seed %lu", r->seed);
  }
  if (from)
    printf("\ncrafted on %s, scored on %s", from, model);
  else
    printf("\nmodel %s", model);
  printf("\n%zu examples, inputs in [%g, %g]", r->n, (double)r->lo,
         (double)r->hi);
  if (r->unread_inputs > 0) /* zero gradients by construction: not counted */
    printf("\n%zu of %zu input components are never read by the %smodel: "
           "zero_grad counts the other %zu",
           r->unread_inputs, r->dim, from ? "crafting " : "",
           r->dim - r->unread_inputs);
  printf("\nclean accuracy %.4f\n", r->clean_accuracy);
  printf(
      "%8s %9s %9s %9s %11s %10s%s%s%s\n", "eps", "accuracy", "acc_raw",
      "success", "confidence", "zero_grad",
      r->target != LSP_TARGET_NONE ? "  to_target" : "",
      r->kind == LSP_ATTACK_AUTOATTACK ? "   apgd-ce    apgd-t    square" : "",
      square ? "  queries(mean median)" : "");
  for (size_t i = 0; i < r->npoints; i++) {
    const lsp_attack_point *p = &r->points[i];
    /* four decimals would print an ε below 0.0005 as 0 and a huge one as
     * a 30-digit number: those go in exponent form */
    if (p->eps == 0.0 || (p->eps >= 1e-3 && p->eps < 1e3))
      printf("%8.4f", p->eps);
    else
      printf("%8.2e", p->eps);
    printf(" %9.4f %9.4f", p->accuracy, p->accuracy_raw);
    /* "-" where a rate has no examples to count (no clean-correct example,
     * no example whose target differs from its label) */
    if (isnan(p->success_rate))
      printf(" %9s", "-");
    else
      printf(" %9.4f", p->success_rate);
    printf(" %11.4f", p->mean_confidence);
    if (isnan(p->zero_grad_share)) /* iterative attacks evaluate no gradient at
                                      eps 0 */
      printf(" %10s", "-");
    else
      printf(" %10.4f", p->zero_grad_share);
    if (r->target != LSP_TARGET_NONE) {
      if (isnan(p->target_rate))
        printf(" %10s", "-");
      else
        printf(" %10.4f", p->target_rate);
    }
    if (r->kind == LSP_ATTACK_AUTOATTACK)
      printf(" %9.4f %9.4f %9.4f", p->stage_accuracy[0], p->stage_accuracy[1],
             p->stage_accuracy[2]);
    if (square) {
      if (isnan(p->queries_mean))
        printf(" %11s %9s", "-", "-");
      else
        printf(" %11.1f %9.1f", p->queries_mean, p->queries_median);
    }
    printf("\n");
  }
  printf("%.2f s, %.1f GFLOP/s\n", r->seconds,
         r->seconds > 0 ? r->flops / r->seconds / 1e9 : 0.0);
}

void cmd_attack_print_checks(const lsp_mask_report *rep) {
  printf("gradient-masking checklist (Athalye et al. 2018): %d flag%s\n",
         rep->flags, rep->flags == 1 ? "" : "s");
  for (int i = 0; i < rep->nchecks; i++)
    printf("  %-7s %-23s %s\n", lsp_check_status_name(rep->checks[i].status),
           rep->checks[i].name, rep->checks[i].detail);
}
