/* The ONNX writer: descriptions built by hand and read from PyTorch's
 * exports are written and read back to the same description (names, ops,
 * attributes, shapes, initializers bit for bit); the shapes the checker
 * infers for the hand-built CNN are the ones worked out by hand; an invalid
 * description is refused without touching the destination.
 * (tests/test_onnx_checker.c runs ONNX's own checker on the written files.) */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "core/import/onnx/lsp_onnx.h"
#include "testutil.h"
/* after testutil.h: they use cmocka */
#include "onnx_build.h"
#include "onnx_cmp.h"

static void round_trip_opset(lsp_onnx_model *m, const char *name,
                             long long opset) {
  const char *path = td_tmp(name);
  if (lsp_onnx_write(m, path) != LSP_OK) {
    print_error("write %s: %s\n", name, lsp_errmsg());
    fail();
  }
  lsp_onnx_model *back = NULL;
  if (lsp_onnx_read(path, &back) != LSP_OK) {
    print_error("read back %s: %s\n", name, lsp_errmsg());
    fail();
  }
  assert_int_equal(back->ir_version, opset >= 19 ? 9 : 8);
  assert_int_equal(back->opset, opset);
  onnx_assert_same(m, back);
  lsp_onnx_model_free(back);
  remove(path);
}

static void round_trip(lsp_onnx_model *m, const char *name) {
  round_trip_opset(m, name, 13);
}

static void test_mlp(void **state) {
  (void)state;
  lsp_onnx_model *m = onnx_build_mlp();
  assert_int_equal(lsp_onnx_check(m, "mlp"), LSP_OK);
  assert_int_equal(m->nodes[2].out.dims[0], 5); /* the fixed batch */
  assert_int_equal(m->nodes[2].out.dims[1], 3);
  round_trip(m, "mlp.onnx");
  lsp_onnx_model_free(m);
}

static void test_cnn(void **state) {
  (void)state;
  lsp_onnx_model *m = onnx_build_cnn();
  assert_int_equal(lsp_onnx_check(m, "cnn"), LSP_OK);
  /* worked out by hand: 2×8×8 -pad 1-> 2×10×10 -conv 3-> 4×8×8 -pool 2->
   * 4×4×4 -conv 3 pad 1-> 4×4×4 -avg 2 stride 2 pad 1-> 4×3×3 -gap-> 4×1×1
   * -flatten-> 4 -> 6 -> 3 */
  static const int64_t want[][4] = {
      {4, 2, 10, 10}, {4, 4, 8, 8}, {4, 4, 8, 8}, {4, 4, 8, 8},
      {4, 4, 4, 4},   {4, 4, 4, 4}, {4, 4, 4, 4}, {4, 4, 3, 3},
      {4, 4, 3, 3},   {4, 4, 1, 1}, {2, 4, 0, 0}, {2, 6, 0, 0},
      {2, 6, 0, 0},   {2, 3, 0, 0}, {2, 3, 0, 0}, {2, 3, 0, 0}};
  assert_int_equal(m->nnodes, 16);
  for (size_t k = 0; k < 16; k++) {
    assert_int_equal(m->nodes[k].out.rank, want[k][0]);
    assert_int_equal(m->nodes[k].out.dims[0], -1);
    for (int d = 1; d < want[k][0]; d++)
      assert_int_equal(m->nodes[k].out.dims[d], want[k][d]);
  }
  assert_int_equal(m->nodes[1].kernel[0], 3); /* from the weight */
  round_trip(m, "cnn.onnx");
  lsp_onnx_model_free(m);
}

static void test_torch(void **state) {
  (void)state;
  const char *files[] = {
      "torch_cnn_tiny/model.onnx", "torch_cnn_tiny/model_bn.onnx",
      "onnx_cases/mlp_matmul.onnx", "onnx_cases/cnn_attrs.onnx",
      /* Mul of two values, Concat of 3, ReduceMean (keepdims 0 and 1) */
      "onnx_graphops/cnn_op17.onnx", "onnx_graphops/cnn_keep_op13.onnx",
      "onnx_graphops/mlp_op13.onnx",
      /* ReduceMean and ReduceMax over one axis, GlobalMaxPool */
      "onnx_pool/mean_op13.onnx", "onnx_pool/amax2_op13.onnx",
      "onnx_pool/global_op13.onnx"};
  for (int f = 0; f < 10; f++) {
    lsp_onnx_model *m = NULL;
    assert_int_equal(lsp_onnx_read(td_path(files[f]), &m), LSP_OK);
    round_trip(m, "torch.onnx");
    lsp_onnx_model_free(m);
  }
}

/* The activations: their attributes, Clip's bounds as inputs (an absent
 * one left out), HardSwish's opset 14 and Gelu's 20. */
static void test_act(void **state) {
  (void)state;
  const char *files[] = {"onnx_act/cnn.onnx", "onnx_act/clip6.onnx",
                         "onnx_act/clip11.onnx", "onnx_act/gelu20.onnx"};
  const long long opset[] = {14, 13, 13, 20};
  for (int f = 0; f < 4; f++) {
    lsp_onnx_model *m = NULL;
    assert_int_equal(lsp_onnx_read(td_path(files[f]), &m), LSP_OK);
    round_trip_opset(m, "act.onnx", opset[f]);
    lsp_onnx_model_free(m);
  }
}

/* In memory and on disk the bytes are the same, and the writer is
 * deterministic. */
static void test_encode(void **state) {
  (void)state;
  lsp_onnx_model *m = onnx_build_cnn();
  uint8_t *a = NULL, *b = NULL;
  size_t na = 0, nb = 0;
  assert_int_equal(lsp_onnx_encode(m, "cnn", &a, &na), LSP_OK);
  assert_int_equal(lsp_onnx_encode(m, "cnn", &b, &nb), LSP_OK);
  assert_int_equal(na, nb);
  assert_memory_equal(a, b, na);
  const char *path = td_tmp("enc.onnx");
  assert_int_equal(lsp_onnx_write(m, path), LSP_OK);
  char *c;
  size_t nc;
  assert_int_equal(lsp_read_file(path, &c, &nc), LSP_OK);
  assert_int_equal(nc, na);
  assert_memory_equal(c, a, na);
  free(a);
  free(b);
  free(c);
  remove(path);
  lsp_onnx_model_free(m);
}

/* A description that does not check is refused by the writer, naming the
 * node, and an earlier file at the destination stays as it was. */
static void test_refused(void **state) {
  (void)state;
  const char *path = td_tmp("keep.onnx");
  assert_int_equal(lsp_write_file_atomic(path, "earlier", 7), LSP_OK);
  lsp_onnx_model *m = onnx_build_mlp();
  free(m->nodes[2].inputs[1]);
  m->nodes[2].inputs[1] = strdup("missing.weight");
  assert_int_equal(lsp_onnx_write(m, path), LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "node 'fc2' (Gemm)"));
  assert_non_null(strstr(lsp_errmsg(), "missing.weight"));
  char *c;
  size_t n;
  assert_int_equal(lsp_read_file(path, &c, &n), LSP_OK);
  assert_int_equal(n, 7);
  assert_memory_equal(c, "earlier", 7);
  free(c);
  lsp_onnx_model_free(m);
  /* a Conv whose weight does not fit its input */
  m = onnx_build_cnn();
  m->nodes[1].kernel[0] = 5;
  assert_int_equal(lsp_onnx_write(m, path), LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "node 'conv1' (Conv): kernel_shape"));
  lsp_onnx_model_free(m);
  remove(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_mlp),     cmocka_unit_test(test_cnn),
      cmocka_unit_test(test_torch),   cmocka_unit_test(test_encode),
      cmocka_unit_test(test_refused), cmocka_unit_test(test_act),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
