/* test_read_mask — the input components a model reads at all
 * (lsp_model_read_mask) and the zero-gradient share the attacks count
 * over them.
 *
 * References: closed forms of the rows and columns a window reaches
 * (a k×k window at stride s on n pixels without padding reaches
 * s·⌊(n − k)/s⌋ + k of them), per-pixel reads of padding written out by
 * hand, and the FGSM step itself: with inputs inside the bounds and a small
 * ε, x' = x exactly where the input gradient is zero, so the zero count of
 * the gradient an attack used can be read off its adversarial inputs. */
#include <stdlib.h>
#include <string.h>

#include "attacks/lsp_attack.h"
#include "core/base/lsp_error.h"
#include "core/nn/lsp_model.h"
#include "core/nn/lsp_ops.h"
#include "testutil.h"

static size_t unread_of(lsp_model *m, uint8_t **mask_out) {
  uint8_t *mask = malloc(m->in_dim);
  assert_non_null(mask);
  size_t nread = 12345;
  assert_int_equal(lsp_model_read_mask(m, mask, &nread), LSP_OK);
  size_t ones = 0;
  for (size_t i = 0; i < m->in_dim; i++) ones += mask[i];
  assert_int_equal(ones, nread);
  if (mask_out)
    *mask_out = mask;
  else
    free(mask);
  return m->in_dim - nread;
}

/* pixels of an n-pixel side that k-wide windows at stride s reach */
static size_t reach(size_t n, size_t k, size_t s) {
  return s * ((n - k) / s) + k;
}

static void test_spec_closed_forms(void **state) {
  (void)state;
  struct {
    const char *spec;
    lsp_shape in;
    size_t unread;
  } cases[] = {
      {"conv(1,3,s=2) relu flatten", {1, 28, 28}, 784 - 27 * 27},
      {"conv(4,3,s=2) relu flatten", {3, 28, 28}, 3 * (784 - 27 * 27)},
      {"conv(2,5,s=4) relu flatten", {1, 28, 28}, 784 - 25 * 25},
      {"conv(2,3,s=2,p=1) relu flatten", {1, 28, 28}, 0},
      {"maxpool(3) flatten", {2, 28, 28}, 2 * (784 - 27 * 27)},
      {"avgpool(3) flatten", {1, 28, 28}, 784 - 27 * 27},
      {"conv(3,3,s=2) bn relu gap", {1, 28, 28}, 784 - 27 * 27},
      /* conv rows r..r+2 behind pool windows {0,1}, {4,5}: rows 0..7 */
      {"conv(2,3) relu maxpool(2,s=4) flatten", {1, 10, 10}, 100 - 8 * 8},
      {"lenet", {1, 28, 28}, 0},
      {"resnet8", {3, 32, 32}, 0},
      {"mlp:16", {784, 1, 1}, 0},
  };
  assert_int_equal(reach(28, 3, 2), 27);
  assert_int_equal(reach(28, 5, 4), 25);
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    lsp_model *m = NULL;
    assert_int_equal(
        lsp_model_from_spec(cases[i].spec, cases[i].in, 10, NULL, 0, &m), 0);
    size_t got = unread_of(m, NULL);
    if (got != cases[i].unread)
      fail_msg("%s: %zu unread, want %zu", cases[i].spec, got,
               cases[i].unread);
    lsp_model_free(m);
  }
}

/* The stride-2 convolution leaves exactly the last row and column. */
static void test_which_pixels(void **state) {
  (void)state;
  lsp_model *m = NULL;
  assert_int_equal(lsp_model_from_spec("conv(1,3,s=2) relu flatten",
                                       (lsp_shape){1, 28, 28}, 10, NULL, 0, &m),
                   0);
  uint8_t *mask = NULL;
  unread_of(m, &mask);
  for (size_t r = 0; r < 28; r++)
    for (size_t c = 0; c < 28; c++)
      if (mask[r * 28 + c] != (r < 27 && c < 27))
        fail_msg("pixel (%zu, %zu): read flag %d", r, c, mask[r * 28 + c]);
  free(mask);
  lsp_model_free(m);
}

/* input 1×8×8 -> node `first` -> conv 1×1 at stride 3 -> flatten -> dense */
static lsp_model *graph_with(lsp_op op, const lsp_attrs *a) {
  lsp_model *m = lsp_model_new((lsp_shape){1, 8, 8});
  assert_non_null(m);
  int id = 0;
  assert_int_equal(lsp_model_add(m, op, a, LSP_INPUT, 0, NULL, &id), 0);
  if (op == LSP_OP_PAD) {
    lsp_attrs c;
    lsp_attrs_default(LSP_OP_CONV, &c);
    c.units = 1, c.kh = c.kw = 1, c.sh = c.sw = 3;
    assert_int_equal(lsp_model_add(m, LSP_OP_CONV, &c, id, 0, NULL, &id), 0);
  }
  lsp_attrs f, d;
  lsp_attrs_default(LSP_OP_FLATTEN, &f);
  assert_int_equal(lsp_model_add(m, LSP_OP_FLATTEN, &f, id, 0, NULL, &id), 0);
  lsp_attrs_default(LSP_OP_DENSE, &d);
  d.units = 3;
  assert_int_equal(lsp_model_add(m, LSP_OP_DENSE, &d, id, 0, NULL, &id), 0);
  assert_int_equal(lsp_model_finish(m), 0);
  return m;
}

/* Padding 2 rows above and 2 columns left of 8×8, then a 1×1 convolution
 * at stride 3: padded rows 0, 3, 6, 9 are input rows −2, 1, 4, 7. Reflect
 * mirrors −2 to 2 (4 rows read), edge repeats row 0 (4 rows), the constant
 * reads nothing there (3 rows); columns alike. A dilated max pooling (2
 * taps 3 apart, stride 4) reads rows {0, 3, 4, 7}. */
static void test_pad_and_general_pool(void **state) {
  (void)state;
  const size_t mode[3] = {1, 2, 0}, want[3] = {64 - 16, 64 - 16, 64 - 9};
  for (int i = 0; i < 3; i++) {
    lsp_attrs a;
    lsp_attrs_default(LSP_OP_PAD, &a);
    a.pt = a.pl = 2, a.pb = a.pr = 0, a.mode = mode[i];
    lsp_model *m = graph_with(LSP_OP_PAD, &a);
    uint8_t *mask = NULL;
    assert_int_equal(unread_of(m, &mask), want[i]);
    size_t first = mode[i] == 1 ? 2 : mode[i] == 2 ? 0 : 1;
    assert_int_equal(mask[first * 8 + first], 1);
    assert_int_equal(mask[7 * 8 + 7], 1);
    assert_int_equal(mask[3 * 8 + 3], 0);
    free(mask);
    lsp_model_free(m);
  }
  lsp_attrs p;
  lsp_attrs_default(LSP_OP_POOL, &p);
  p.kh = p.kw = 2, p.sh = p.sw = 4, p.dh = p.dw = 3, p.avg = 0;
  p.count_pad = 1;
  lsp_model *m = graph_with(LSP_OP_POOL, &p);
  uint8_t *mask = NULL;
  assert_int_equal(unread_of(m, &mask), 64 - 16);
  for (size_t r = 0; r < 8; r++)
    for (size_t c = 0; c < 8; c++) {
      int rr = r == 0 || r == 3 || r == 4 || r == 7;
      int cc = c == 0 || c == 3 || c == 4 || c == 7;
      assert_int_equal(mask[r * 8 + c], rr && cc);
    }
  free(mask);
  lsp_model_free(m);
}

/* FGSM at a small ε on inputs inside the bounds: x' = x exactly where the
 * gradient is zero. The share of zeros among the flagged pixels (mask
 * NULL: all) of the clean-correct examples, computed from x', checked
 * against the result. */
static void fgsm_share(lsp_model *m, const uint8_t *mask, size_t nmask,
                       size_t want_unread) {
  const size_t n = 48, dim = m->in_dim;
  float *x = malloc(n * dim * sizeof *x), *adv = malloc(n * dim * sizeof *adv);
  int32_t *y = malloc(n * sizeof *y);
  assert_true(x && adv && y);
  unsigned s = 12345;
  for (size_t i = 0; i < n * dim; i++) {
    s = s * 1103515245u + 12345u;
    x[i] = 0.25f + 0.5f * (float)((s >> 8) & 0xffff) / 65536.0f;
  }
  for (size_t i = 0; i < n; i++) y[i] = (int32_t)(i % 10);
  lsp_attack_opts o;
  lsp_attack_opts_default(&o);
  o.adv = adv;
  o.batch = 20;
  double eps[1] = {0.01};
  lsp_attack_result r;
  assert_int_equal(lsp_attack_run(m, NULL, x, y, n, dim, eps, 1, &o, &r), 0);
  /* the share counts the clean-correct examples only */
  const size_t k = m->out_dim;
  float *z = malloc(n * k * sizeof *z);
  assert_non_null(z);
  assert_int_equal(lsp_model_predict(m, x, n, 0, z, NULL), 0);
  size_t zeros = 0, zeros_all = 0, ncorrect = 0;
  for (size_t e = 0; e < n; e++) {
    size_t b = 0;
    for (size_t j = 1; j < k; j++)
      if (z[e * k + j] > z[e * k + b]) b = j;
    if ((int32_t)b != y[e]) continue;
    ncorrect++;
    for (size_t i = e * dim; i < (e + 1) * dim; i++) {
      int zero = adv[i] == x[i];
      zeros_all += zero;
      zeros += zero && (!mask || mask[i % dim]);
    }
  }
  free(z);
  assert_int_equal(r.unread_inputs, want_unread);
  assert_true(ncorrect > 0 && ncorrect < n);
  const double want = (double)zeros / ((double)ncorrect * (double)nmask);
  if (!(r.points[0].zero_grad_share == want))
    fail_msg("zero_grad_share %.17g, want %.17g", r.points[0].zero_grad_share,
             want);
  /* dead units give zeros among the read pixels too: the test sees them */
  assert_true(zeros > 0 && zeros < ncorrect * nmask);
  if (mask) { /* the unread pixels are zero on every example */
    assert_int_equal(zeros_all - zeros, ncorrect * want_unread);
    /* BIM's one full step from x takes the same gradient */
    lsp_attack_result b;
    o.kind = LSP_ATTACK_BIM, o.steps = 1, o.full_steps = 1, o.adv = NULL;
    assert_int_equal(lsp_attack_run(m, NULL, x, y, n, dim, eps, 1, &o, &b), 0);
    assert_true(b.points[0].zero_grad_share == want);
    lsp_attack_result_free(&b);
  }
  lsp_attack_result_free(&r);
  free(x);
  free(adv);
  free(y);
}

static void test_fgsm_share_over_read_pixels(void **state) {
  (void)state;
  lsp_model *m = NULL;
  assert_int_equal(lsp_model_from_spec("conv(1,3,s=2) relu flatten",
                                       (lsp_shape){1, 28, 28}, 10, NULL, 0, &m),
                   0);
  assert_int_equal(lsp_model_init(m, 3), 0);
  uint8_t mask[784];
  for (size_t r = 0; r < 28; r++)
    for (size_t c = 0; c < 28; c++) mask[r * 28 + c] = r < 27 && c < 27;
  fgsm_share(m, mask, 27 * 27, 55);
  lsp_model_free(m);
}

/* A model that reads every pixel: the share over all of them, as before. */
static void test_full_read_share_unchanged(void **state) {
  (void)state;
  lsp_model *m = NULL;
  assert_int_equal(lsp_model_from_spec("conv(1,3,s=2,p=1) relu flatten",
                                       (lsp_shape){1, 28, 28}, 10, NULL, 0, &m),
                   0);
  assert_int_equal(lsp_model_init(m, 5), 0);
  fgsm_share(m, NULL, 784, 0);
  lsp_model_free(m);
}

/* Every kind has a structural rule, so no model falls back to counting
 * all inputs as read (DESIGN §2). */
static void test_every_kind_has_a_rule(void **state) {
  (void)state;
  for (int op = 1; op <= LSP_OP_MAX; op++) {
    const lsp_op_def *d = lsp_op_get((lsp_op)op);
    if (d && !d->reads) fail_msg("kind %s has no read rule", d->name);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_kind_has_a_rule),
      cmocka_unit_test(test_spec_closed_forms),
      cmocka_unit_test(test_which_pixels),
      cmocka_unit_test(test_pad_and_general_pool),
      cmocka_unit_test(test_fgsm_share_over_read_pixels),
      cmocka_unit_test(test_full_read_share_unchanged),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
