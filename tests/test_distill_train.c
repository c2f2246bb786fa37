/* Training with a teacher (lsp_train_opts.teacher): the student learns the
 * teacher's function from the teacher's logits of the same examples. The
 * test that tells: shuffle the training labels, so that only the teacher
 * knows the classes. A student trained on the teacher alone (alpha = 1)
 * reaches the teacher's test accuracy; one trained on the shuffled labels
 * alone (alpha = 0) stays near chance; a teacher whose rows are shifted by
 * one example (logits of the wrong inputs) teaches nothing. */
#define _GNU_SOURCE /* memmem */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_threads.h"
#include "core/base/lsp_util.h"
#include "core/data/lsp_data.h"
#include "core/nn/lsp_model.h"
#include "core/train/lsp_train.h"
#include "testutil.h"

static double accuracy(const lsp_model *m, const lsp_dataset *d) {
  float *z = malloc(d->n * m->out_dim * sizeof *z);
  assert_int_equal(lsp_model_predict(m, d->x, d->n, 256, z, NULL), 0);
  size_t c = 0;
  for (size_t i = 0; i < d->n; i++)
    c += (int32_t)lsp_argmax_f32(z + i * m->out_dim, m->out_dim) == d->y[i];
  free(z);
  return (double)c / (double)d->n;
}

static lsp_model *train(const lsp_splits *sp, const lsp_train_opts *o,
                        size_t hidden) {
  lsp_model *m =
      lsp_model_alloc_mlp(sp->train.dim, &hidden, 1, (size_t)sp->train.k);
  assert_non_null(m);
  int st = lsp_train(m, sp, o, NULL, NULL, NULL);
  if (st) print_error("%s\n", lsp_errmsg());
  assert_int_equal(st, 0);
  return m;
}

static void test_student_learns_teacher(void **state) {
  (void)state;
  lsp_threads_set(1);
  lsp_data_opts dopt;
  lsp_data_opts_default(&dopt);
  dopt.spec = "synthetic:train=3000,test=1000,dim=20,classes=5,sep=4";
  lsp_splits sp = {0};
  assert_int_equal(lsp_data_load(&dopt, &sp), 0);
  lsp_train_opts o;
  lsp_train_opts_default(&o);
  o.epochs = 10;
  o.lr = 0.05;
  lsp_model *teacher = train(&sp, &o, 32);
  double acc_t = accuracy(teacher, &sp.test);
  const size_t n = sp.train.n, k = (size_t)sp.train.k;
  float *tz = malloc(n * k * sizeof *tz),
        *shifted = malloc(n * k * sizeof *shifted);
  assert_int_equal(lsp_model_predict(teacher, sp.train.x, n, 256, tz, NULL), 0);
  for (size_t i = 0; i < n; i++)
    memcpy(shifted + i * k, tz + ((i + 1) % n) * k, k * sizeof *tz);
  /* only the teacher knows the classes now */
  for (size_t i = 0; i < n; i++) sp.train.y[i] = (int32_t)((i * 7 + 3) % k);
  o.seed = 2;
  o.teacher = tz;
  o.alpha = 1.0;
  o.temperature = 2.0;
  lsp_model *s1 = train(&sp, &o, 16);
  double acc_s = accuracy(s1, &sp.test);
  o.alpha = 0.0;
  lsp_model *s0 = train(&sp, &o, 16);
  double acc_0 = accuracy(s0, &sp.test);
  o.alpha = 1.0;
  o.teacher = shifted;
  lsp_model *sx = train(&sp, &o, 16);
  double acc_x = accuracy(sx, &sp.test);
  print_message(
      "teacher %.4f, student (alpha 1) %.4f, labels only %.4f, misaligned "
      "teacher %.4f\n",
      acc_t, acc_s, acc_0, acc_x);
  assert_true(acc_t > 0.8);
  assert_true(acc_s > acc_t - 0.05);
  assert_true(acc_0 < 0.35); /* 5 classes: chance is 0.2 */
  assert_true(acc_x < 0.35);
  /* the record says how the student was made: alpha, T and the hash of
   * the teacher's logits; it survives a save and load, and a student is
   * never taken for the hard-label model of the same settings */
  assert_true(s1->meta.distilled && !teacher->meta.distilled);
  td_close(s1->meta.distill_alpha, 1.0, 0, 0, "recorded alpha", 0);
  td_close(s1->meta.distill_temperature, 2.0, 0, 0, "recorded T", 0);
  assert_true(s1->meta.teacher_hash ==
              lsp_fnv1a(LSP_FNV_INIT, tz, n * k * sizeof *tz));
  assert_int_equal(lsp_model_save(s1, td_tmp("student.lspm")), 0);
  lsp_model *back = NULL;
  assert_int_equal(lsp_model_load_lspm(td_tmp("student.lspm"), &back), 0);
  char why[256];
  assert_null(lsp_model_record_diff(&s1->meta, &back->meta, why, sizeof why));
  assert_true(back->meta.distilled &&
              back->meta.teacher_hash == s1->meta.teacher_hash);
  lsp_model_free(back);
  remove(td_tmp("student.lspm"));
  assert_non_null(lsp_model_record_diff(&s1->meta, &s0->meta, why, sizeof why));
  lsp_model_meta hard = s1->meta;
  hard.distilled = 0;
  assert_non_null(
      strstr(lsp_model_record_diff(&s1->meta, &hard, why, sizeof why),
             "distilled (yes vs no)"));
  unsigned char *rec = NULL;
  size_t len = 0;
  assert_int_equal(lsp_model_record_encode(&hard, 1, &rec, &len), 0);
  assert_null(
      memmem(rec, len, "distill", 7)); /* hard-label records are as before */
  free(rec);
  assert_int_equal(lsp_model_record_encode(&s1->meta, 1, &rec, &len), 0);
  assert_non_null(memmem(rec, len, "teacher_logits_hash", 19));
  free(rec);
  /* same seed, same teacher: the same student, bit for bit */
  o.teacher = tz;
  lsp_model *s1b = train(&sp, &o, 16);
  assert_memory_equal(s1->params, s1b->params, s1->nparams * sizeof(float));
  /* bad settings are refused before training */
  o.alpha = 1.5;
  lsp_model *bad = lsp_model_alloc_mlp(sp.train.dim, (size_t[]){8}, 1, k);
  assert_int_equal(lsp_train(bad, &sp, &o, NULL, NULL, NULL), LSP_EINVAL);
  assert_non_null(strstr(lsp_errmsg(), "alpha"));
  o.alpha = 0.5;
  o.temperature = 0.0;
  assert_int_equal(lsp_train(bad, &sp, &o, NULL, NULL, NULL), LSP_EINVAL);
  assert_non_null(strstr(lsp_errmsg(), "temperature"));
  lsp_model_free(bad);
  lsp_model_free(teacher);
  lsp_model_free(s1);
  lsp_model_free(s1b);
  lsp_model_free(s0);
  lsp_model_free(sx);
  free(tz);
  free(shifted);
  lsp_splits_free(&sp);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_student_learns_teacher)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
