/* test_aa_reference — lsprobe's APGD-CE, APGD-DLR, APGD-T, Square and
 * AutoAttack against the authors' implementation (github.com/fra31/
 * auto-attack, run through Debian's PyTorch by tests/data/
 * gen_aa_reference.py): robust accuracies of two PyTorch-trained
 * 784-256-256-10 MLPs (label smoothing 0 and 0.1) on the first 500
 * Fashion-MNIST test images agree within 0.02 at ε = 0.05 and 0.1.
 *
 * The two implementations draw different random numbers, so only the
 * accuracies are compared, within 0.02 (two runs of
 * the same attack with different seeds differ by about 0.01 here). Square
 * is compared with "square-paper", the authors' Square with its position
 * draw widened to the paper's range (gen_aa_reference.py explains why);
 * against the package's Square as it is, lsprobe's must be at least as
 * strong (at most 0.02 above it). Skipped (which fails scripts/test)
 * without Fashion-MNIST. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "attacks/lsp_attack.h"
#include "core/base/lsp_error.h"
#include "core/data/lsp_data.h"
#include "core/formats/lsp_jsonr.h"
#include "core/import/lsp_import.h"
#include "testutil.h"

#define N 500
#define TOL 0.02

static const char *const k_models[2] = {"mlp_ls0", "mlp_ls0.1"};
static const double k_eps[2] = {0.05, 0.1};

typedef struct {
  lsp_splits data;
  lsp_jsonr_doc *ref;
} fixture;

static int setup(void **state) {
  struct stat sb;
  if (stat(lsp_data_fashion_dir(), &sb) != 0) {
    *state = NULL;
    return 0;
  }
  fixture *f = calloc(1, sizeof *f);
  if (!f) return -1;
  lsp_data_opts o;
  lsp_data_opts_default(&o);
  o.spec = "fashion-mnist";
  if (lsp_data_load(&o, &f->data) ||
      lsp_jsonr_read_file(td_path("aa_fmnist/reference.json"), &f->ref)) {
    print_error("setup: %s\n", lsp_errmsg());
    return -1;
  }
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  if (!f) return 0;
  lsp_splits_free(&f->data);
  lsp_jsonr_free(f->ref);
  free(f);
  return 0;
}

/* reference.json: models.<model>.eps.<eps>.<attack> */
static const lsp_jsonr *ref_entry(const fixture *f, const char *model,
                                  double eps) {
  char key[32];
  snprintf(key, sizeof key, "%g", eps);
  const lsp_jsonr *m = lsp_jsonr_get(lsp_jsonr_root(f->ref), "models");
  const lsp_jsonr *e =
      lsp_jsonr_get(lsp_jsonr_get(lsp_jsonr_get(m, model), "eps"), key);
  assert_non_null(e);
  return e;
}

static double ref_num(const lsp_jsonr *e, const char *key) {
  double v = lsp_jsonr_num_or(e, key, NAN);
  assert_false(isnan(v));
  return v;
}

static void attack(const fixture *f, lsp_model *m, lsp_attack_kind kind,
                   double eps, lsp_attack_result *r) {
  lsp_attack_opts o;
  lsp_attack_opts_default(&o);
  o.kind = kind;
  const lsp_dataset *te = &f->data.test;
  int st = lsp_attack_run(m, NULL, te->x, te->y, N, te->dim, &eps, 1, &o, r);
  if (st) print_error("%s: %s\n", lsp_attack_kind_name(kind), lsp_errmsg());
  assert_int_equal(st, 0);
}

static void check(const char *model, double eps, const char *what, double got,
                  double want) {
  print_message("%-9s eps %-4g %-22s lsprobe %.4f  reference %.4f\n", model,
                eps, what, got, want);
  td_close(got, want, 0, TOL, what, 0);
}

static void test_against_reference(void **state) {
  fixture *f = *state;
  if (!f) skip();
  for (int mi = 0; mi < 2; mi++) {
    char rel[64];
    snprintf(rel, sizeof rel, "aa_fmnist/%s", k_models[mi]);
    lsp_model *m = NULL;
    assert_int_equal(lsp_model_load(td_path(rel), &m), 0);
    const char *name = k_models[mi];
    for (int ei = 0; ei < 2; ei++) {
      const double eps = k_eps[ei];
      const lsp_jsonr *e = ref_entry(f, name, eps);
      const lsp_jsonr *stages = lsp_jsonr_get(e, "autoattack");
      assert_non_null(stages);
      lsp_attack_result aa, dlr, t, sq;
      attack(f, m, LSP_ATTACK_AUTOATTACK, eps, &aa);
      const lsp_attack_point *p = &aa.points[0];
      check(name, eps, "clean accuracy", aa.clean_accuracy,
            ref_num(stages, "clean"));
      /* the protocol's first stage is APGD-CE alone (the same streams) */
      check(name, eps, "apgd-ce", p->stage_accuracy[0], ref_num(e, "apgd-ce"));
      check(name, eps, "autoattack: apgd-t", p->stage_accuracy[1],
            ref_num(stages, "apgd-t"));
      check(name, eps, "autoattack", p->accuracy, ref_num(stages, "square"));
      attack(f, m, LSP_ATTACK_APGD_DLR, eps, &dlr);
      check(name, eps, "apgd-dlr", dlr.points[0].accuracy,
            ref_num(e, "apgd-dlr"));
      attack(f, m, LSP_ATTACK_APGD_T, eps, &t);
      check(name, eps, "apgd-t", t.points[0].accuracy, ref_num(e, "apgd-t"));
      attack(f, m, LSP_ATTACK_SQUARE, eps, &sq);
      check(name, eps, "square (paper positions)", sq.points[0].accuracy,
            ref_num(e, "square-paper"));
      print_message("%-9s eps %-4g %-22s lsprobe %.4f  package   %.4f\n", name,
                    eps, "square (as packaged)", sq.points[0].accuracy,
                    ref_num(e, "square"));
      assert_true(sq.points[0].accuracy <= ref_num(e, "square") + TOL);
      lsp_attack_result_free(&aa);
      lsp_attack_result_free(&dlr);
      lsp_attack_result_free(&t);
      lsp_attack_result_free(&sq);
    }
    lsp_model_free(m);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_against_reference),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
