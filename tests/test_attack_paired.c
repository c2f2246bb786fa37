/* test_attack_paired — the paired evidence of the gradient-masking checks
 * that compare two attacks: the exact one-sided McNemar p-value against the
 * binomial tail from Pascal's triangle (closed forms for small counts), and
 * b, c, p of the checklist on hand-made per-example outcomes whose counts
 * are known by construction. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attacks/lsp_attack.h"
#include "testutil.h"

/* P(X >= b), X ~ Binomial(b + c, 1/2), from the rows of Pascal's triangle
 * each halved: only additions and halvings, no factorials or logs. */
static double tail_pascal(size_t b, size_t c) {
  size_t m = b + c;
  double *row = calloc(m + 2, sizeof *row);
  assert_non_null(row);
  row[0] = 1.0;
  for (size_t r = 1; r <= m; r++) {
    for (size_t k = r; k > 0; k--) row[k] = 0.5 * (row[k] + row[k - 1]);
    row[0] *= 0.5;
  }
  double s = 0.0;
  for (size_t k = b; k <= m; k++) s += row[k];
  free(row);
  return s;
}

static void test_mcnemar(void **state) {
  (void)state;
  td_close(lsp_mcnemar_p(0, 0), 1.0, 0, 0, "b + c = 0", 0);
  td_close(lsp_mcnemar_p(0, 7), 1.0, 0, 0, "b = 0", 0);
  td_close(lsp_mcnemar_p(5, 0), 1.0 / 32.0, 1e-15, 0, "5 of 5", 0);
  td_close(lsp_mcnemar_p(3, 3), 42.0 / 64.0, 1e-15, 0, "3 of 6", 0);
  td_close(lsp_mcnemar_p(1, 1), 0.75, 1e-15, 0, "1 of 2", 0);
  const size_t cases[][2] = {{7, 3}, {3, 7}, {30, 30}, {60, 40}, {40, 60},
                             {540, 460}, {460, 540}, {1, 999}, {999, 1}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    double want = tail_pascal(cases[i][0], cases[i][1]);
    td_close(lsp_mcnemar_p(cases[i][0], cases[i][1]), want, 1e-11, 1e-300,
             "binomial tail", (int)i);
  }
}

/* Robust bits of n = 40 examples at eps 0 (all correct) and 0.1 (correct on
 * [from, to)). */
static void mk_bits(lsp_attack_result *r, lsp_attack_point *pt, uint8_t *bits,
                    lsp_attack_kind kind, size_t from, size_t to) {
  memset(r, 0, sizeof *r);
  memset(bits, 0, 10);
  r->kind = kind;
  r->n = 40;
  r->hi = 1.0f;
  r->npoints = 2;
  r->points = pt;
  r->clean_accuracy = 1.0;
  r->robust = bits;
  for (size_t i = 0; i < 40; i++) bits[i / 8] |= (uint8_t)(1u << (i % 8));
  for (size_t i = from; i < to; i++) bits[5 + i / 8] |= (uint8_t)(1u << (i % 8));
  pt[0] = (lsp_attack_point){.eps = 0.0, .accuracy = 1.0, .accuracy_raw = 1.0};
  double a = (double)(to - from) / 40.0;
  pt[1] = (lsp_attack_point){.eps = 0.1, .accuracy = a, .accuracy_raw = a};
}

static void test_checklist_paired(void **state) {
  (void)state;
  lsp_attack_result f, p, tr;
  lsp_attack_point fp[2], pp[2], tp[2];
  uint8_t fb[10], pb[10], tb[10];
  /* PGD keeps 0..19, FGSM 0..14: FGSM breaks 5 that PGD leaves, none the
   * other way; transfer keeps 3..22: breaks 0, 1, 2 that PGD leaves and
   * leaves 20, 21, 22 that PGD breaks */
  mk_bits(&f, fp, fb, LSP_ATTACK_FGSM, 0, 15);
  mk_bits(&p, pp, pb, LSP_ATTACK_PGD, 0, 20);
  mk_bits(&tr, tp, tb, LSP_ATTACK_PGD, 3, 23);
  tr.transfer = 1;
  lsp_mask_report rep;
  assert_int_equal(lsp_attack_checklist(&f, &p, &tr, NULL, &rep), 0);
  const lsp_mask_check *k = &rep.checks[0];
  assert_int_equal(k->status, LSP_CHECK_FLAG); /* 0.5 − 0.375 > 0.01 */
  assert_int_equal(k->paired, 1);
  assert_int_equal(k->b, 5);
  assert_int_equal(k->c, 0);
  td_close(k->p, 1.0 / 32.0, 1e-15, 0, "p of 5 of 5", 0);
  /* b − c over n is the difference the check judges */
  td_close(((double)k->b - (double)k->c) / 40.0, k->value - k->reference,
           1e-15, 0, "pgd_le_fgsm b - c", 0);
  assert_non_null(strstr(k->detail, "fgsm breaks 5 examples pgd leaves"));
  k = &rep.checks[3];
  assert_string_equal(k->name, "transfer_not_stronger");
  assert_int_equal(k->status, LSP_CHECK_PASS); /* the same accuracy */
  assert_int_equal(k->paired, 1);
  assert_int_equal(k->b, 3);
  assert_int_equal(k->c, 3);
  td_close(k->p, 0.65625, 1e-15, 0, "p of 3 of 6", 0);
  td_close(((double)k->b - (double)k->c) / 40.0, k->reference - k->value,
           1e-15, 0, "transfer b - c", 0);
  /* the checks that compare no two attacks carry no counts */
  assert_int_equal(rep.checks[1].paired, 0);
  assert_int_equal(rep.checks[2].paired, 0);
  assert_int_equal(rep.checks[4].paired, 0);
  /* outcome bits that disagree with the accuracy are not used */
  pb[5] ^= 1u;
  assert_int_equal(lsp_attack_checklist(&f, &p, &tr, NULL, &rep), 0);
  assert_int_equal(rep.checks[0].paired, 0);
  assert_int_equal(rep.checks[0].status, LSP_CHECK_FLAG);
  pb[5] ^= 1u;
  /* results without outcomes: the same verdicts, no counts */
  p.robust = NULL;
  assert_int_equal(lsp_attack_checklist(&f, &p, &tr, NULL, &rep), 0);
  assert_int_equal(rep.checks[0].paired, 0);
  assert_int_equal(rep.checks[3].paired, 0);
  assert_int_equal(rep.checks[0].status, LSP_CHECK_FLAG);
  /* the JSON carries null then */
  FILE *fp2 = tmpfile();
  lsp_json j;
  lsp_json_init(&j, fp2, 0);
  lsp_attack_checklist_json(&j, &rep);
  assert_int_equal(lsp_json_finish(&j), 0);
  fclose(fp2);
}

int main(void) {
  const struct CMUnitTest unit[] = {
      cmocka_unit_test(test_mcnemar),
      cmocka_unit_test(test_checklist_paired),
  };
  return cmocka_run_group_tests(unit, NULL, NULL);
}
