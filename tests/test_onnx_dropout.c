/* Dropout in inference is the identity: PyTorch's exports of an MLP with
 * Dropout (tests/data/onnx_dropout, gen_onnx_dropout.py) — opset 11 with
 * its unused mask output, opset 13 with training_mode false — give
 * PyTorch's float64 eval-mode logits and lower to the network without the
 * Dropout; the export as written (training_mode true) is refused, naming
 * the node. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/nn/lsp_ops.h"
#include "testutil.h"
#include "model_fixture.h"

#define DIR "onnx_dropout/"
enum { N = 8, K = 4 };

static void test_inference(void **state) {
  (void)state;
  const char *files[] = {DIR "drop_op11.onnx", DIR "drop_op13.onnx"};
  lsp_array zw;
  td_load(DIR "logits.npy", &zw);
  assert_int_equal(zw.count, N * K);
  const double *zr = zw.data;
  double zs = fx_max_abs(zr, N * K);
  for (int f = 0; f < 2; f++) {
    lsp_model *m = fx_load(files[f]);
    assert_int_equal(m->nnodes, 3); /* dense, relu, dense: no Dropout */
    float *z = fx_logits(m, DIR "x.npy", N, K);
    for (size_t i = 0; i < N * K; i++)
      td_close(z[i], zr[i], 1e-5, 1e-5 * zs, files[f], i);
    free(z);
    lsp_model_free(m);
  }
  lsp_array_release(&zw);
}

static void test_training(void **state) {
  (void)state;
  fx_refused(DIR "bad_train_op13.onnx", "(Dropout): training_mode",
             "is true: Dropout in training mode");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_inference),
      cmocka_unit_test(test_training),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
