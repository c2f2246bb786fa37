/* The ONNX reader refuses what lsprobe cannot represent, with a message that
 * names the file, the node and the op: defective models written by ONNX's
 * Python package (tests/data/gen_onnx_cases.py), every truncation of a real
 * export, garbage, and inputs built to make the protobuf parser ask for too
 * much memory. Never a crash (the sanitizer build runs this too). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "core/import/onnx/lsp_onnx.h"
#include "testutil.h"

/* Reading `rel` fails with LSP_EDATA and a message holding the path and
 * each of the given pieces. */
static void refused(const char *rel, const char *a, const char *b,
                    const char *c) {
  char path[4096];
  snprintf(path, sizeof path, "%s", td_path(rel));
  lsp_onnx_model *m = (lsp_onnx_model *)1;
  int st = lsp_onnx_read(path, &m);
  const char *msg = lsp_errmsg();
  if (st != LSP_EDATA || m != NULL || !strstr(msg, path) ||
      (a && !strstr(msg, a)) || (b && !strstr(msg, b)) ||
      (c && !strstr(msg, c))) {
    print_error("%s: status %d, message '%s'; wanted '%s' '%s' '%s'\n", rel, st,
                msg, a ? a : "", b ? b : "", c ? c : "");
    lsp_onnx_model_free(m);
    fail();
  }
}

static void test_cases(void **state) {
  (void)state;
  refused("onnx_cases/unsupported_op.onnx", "node 'act' (Softsign)",
          "not supported", NULL);
  refused("onnx_cases/unknown_attr.onnx", "node 'relu' (Relu)",
          "attribute 'foo'", NULL);
  refused("onnx_cases/conv_group.onnx", "node 'conv' (Conv)", "group = 3",
          "does not divide the 4 channels");
  refused("onnx_cases/avgpool_dilations.onnx", "node 'pool' (AveragePool)",
          "attribute 'dilations' is not supported", NULL);
  refused("onnx_cases/maxpool_ceil.onnx", "node 'pool' (MaxPool)", "ceil_mode",
          "starts in the padding");
  refused("onnx_cases/gemm_transa.onnx", "node 'fc1' (Gemm)", "transA", NULL);
  refused("onnx_cases/external_data.onnx", "node 'fc1' (Gemm)",
          "initializer 'fc1.weight'", "external data ('weights.bin')");
  refused("onnx_cases/float64_init.onnx", "node 'fc1' (Gemm)", "fc1.weight",
          "float64");
  refused("onnx_cases/int64_weight.onnx", "node 'fc1' (Gemm)", "fc1.weight",
          "int64");
  refused("onnx_cases/nan_init.onnx", "node 'fc1' (Gemm)", "non-finite",
          "index 29");
  refused("onnx_cases/init_size.onnx", "node 'fc1' (Gemm)", "fc1.bias",
          "60 bytes (64 expected)");
  refused("onnx_cases/cycle.onnx", "node 'loop_add' (Add)", "cycle", NULL);
  refused("onnx_cases/missing_init.onnx", "node 'fc1' (Gemm)",
          "input 'fc1.weight' is not", NULL);
  refused("onnx_cases/opset21.onnx", "opset 21 is not supported", NULL, NULL);
  refused("onnx_cases/legacy_attr.onnx", "node 'pad' (Pad)",
          "attribute 'pads' exists only up to opset 10", NULL);
  refused("onnx_cases/legacy_broadcast.onnx", "node 'add' (Add)",
          "broadcast = 0 (opset <= 6)", "'fc1.bias'");
  refused("onnx_cases/two_inputs.onnx", "2 inputs ('x', 'y')", NULL, NULL);
  refused("onnx_cases/symbolic_dim.onnx", "graph input 'x'", "dimension 1",
          "'features'");
  refused("onnx_cases/duplicate_output.onnx", "node 'relu_again' (Relu)",
          "output 'r'", "node 'relu'");
  refused("onnx_cases/declared_shape.onnx", "'logits'", "[-1, 5]", "[-1, 4]");
  refused("onnx_cases/gemm_shape.onnx", "node 'fc2' (Gemm)", "[4, 15]",
          "16 features");
  refused("onnx_cases/dropout_train6.onnx", "node 'drop' (Dropout)",
          "is_test = 0 (opset 6; the default)", "training mode");
  refused("onnx_cases/dropout_mask_read.onnx", "node 'drop' (Dropout)",
          "mask output 'mask' is read by node 'use_mask'", NULL);
  refused("onnx_cases/matmul_vector.onnx", "node 'mm' (MatMul)",
          "'w' is a vector [8]", "rank-1 operand");
  refused("onnx_cases/softmax_input.onnx",
          "the graph output 'logits' is the Softmax of the graph input 'x'",
          NULL, NULL);
  refused("onnx_cases/init_as_input.onnx", "its input 'x' shares its name",
          "with an initializer", NULL);
  refused("onnx_cases/avgpool_pad_ceil.onnx", "node 'pool' (AveragePool)",
          "ceil_mode = 1 gives it a last window", "the Pad 'pad'");
  refused("onnx_cases/avgpool_pad_endpad.onnx", "node 'pool' (AveragePool)",
          "end padding 2 beyond its begin padding 0", "the Pad 'pad'");
}

/* Read, and lowered with the same logits as mlp_gemm (a Dropout in
 * inference and an unused float64 initializer change nothing); or read
 * and refused when lowered, naming the file's multiplier. */
static void test_more(void **state) {
  (void)state;
  const char *same[] = {"onnx_cases/dropout_is_test.onnx",
                        "onnx_cases/unused_float64.onnx"};
  lsp_onnx_model *base = NULL, *m = NULL;
  lsp_model *mb = NULL, *lm = NULL;
  assert_int_equal(lsp_onnx_read(td_path("onnx_cases/mlp_gemm.onnx"), &base),
                   LSP_OK);
  assert_int_equal(lsp_onnx_lower(base, "mlp_gemm", NULL, &mb), LSP_OK);
  float x[3 * 8], zb[3 * 4], z[3 * 4];
  for (int i = 0; i < 3 * 8; i++) x[i] = (float)((i * 7) % 11 - 5) / 4.0f;
  assert_int_equal(lsp_model_predict(mb, x, 3, 3, zb, NULL), 0);
  for (int f = 0; f < 2; f++) {
    int st = lsp_onnx_read(td_path(same[f]), &m);
    if (st) print_error("%s: %s\n", same[f], lsp_errmsg());
    assert_int_equal(st, LSP_OK);
    assert_int_equal(m->ninits, 4);
    assert_int_equal(lsp_onnx_lower(m, same[f], NULL, &lm), LSP_OK);
    assert_int_equal(lsp_model_predict(lm, x, 3, 3, z, NULL), 0);
    assert_memory_equal(z, zb, sizeof z);
    lsp_model_free(lm);
    lsp_onnx_model_free(m);
  }
  const char *mul[] = {"onnx_cases/mul_tiny.onnx", "onnx_cases/mul_huge.onnx"};
  const char *says[] = {"multiplies channel 0 by 9.99995e-41",
                        "multiplies channel 0 by 3e+38"};
  for (int f = 0; f < 2; f++) {
    assert_int_equal(lsp_onnx_read(td_path(mul[f]), &m), LSP_OK);
    lm = (lsp_model *)1;
    assert_int_equal(lsp_onnx_lower(m, mul[f], NULL, &lm), LSP_EDATA);
    const char *msg = lsp_errmsg();
    if (!strstr(msg, "node 'mul' (Mul)") || !strstr(msg, says[f]) ||
        !strstr(msg, "reciprocal")) {
      print_error("%s: '%s'\n", mul[f], msg);
      fail();
    }
    lsp_onnx_model_free(m);
  }
  lsp_model_free(mb);
  lsp_onnx_model_free(base);
}

static void check_bytes(const void *buf, size_t len, const char *what) {
  lsp_onnx_model *m = NULL;
  int st = lsp_onnx_read_mem(buf, len, what, NULL, 0, &m);
  if (st == LSP_OK) {
    print_error("%s (%zu bytes) was accepted\n", what, len);
    lsp_onnx_model_free(m);
    fail();
  }
  assert_int_equal(st, LSP_EDATA);
  assert_null(m);
  assert_non_null(strstr(lsp_errmsg(), what));
}

/* Every proper prefix of two real exports is refused. */
/* A final Softmax or LogSoftmax over the classes (mlp_gemm with one after
 * its classifier, whose output it renames) is read as the logits it is
 * applied to: the description's output is its input, softmax_op and
 * softmax_out say what was left out, and the network computes mlp_gemm's
 * logits bit for bit. */
static void test_final_softmax(void **state) {
  (void)state;
  const char *ops[] = {"Softmax", "LogSoftmax"};
  const char *files[] = {"onnx_cases/final_softmax.onnx",
                         "onnx_cases/final_logsoftmax.onnx"};
  lsp_onnx_model *base = NULL;
  assert_int_equal(lsp_onnx_read(td_path("onnx_cases/mlp_gemm.onnx"), &base),
                   LSP_OK);
  assert_null(base->softmax_op);
  lsp_model *mb = NULL;
  assert_int_equal(lsp_onnx_lower(base, "mlp_gemm", NULL, &mb), LSP_OK);
  float x[3 * 8], zb[3 * 4], z[3 * 4];
  for (int i = 0; i < 3 * 8; i++) x[i] = (float)((i * 7) % 11 - 5) / 4.0f;
  assert_int_equal(lsp_model_predict(mb, x, 3, 3, zb, NULL), 0);
  for (int f = 0; f < 2; f++) {
    lsp_onnx_model *m = NULL;
    assert_int_equal(lsp_onnx_read(td_path(files[f]), &m), LSP_OK);
    assert_string_equal(m->softmax_op, ops[f]);
    assert_string_equal(m->softmax_out, "logits");
    assert_string_equal(m->output, "z");
    lsp_model *lm = NULL;
    assert_int_equal(lsp_onnx_lower(m, files[f], NULL, &lm), LSP_OK);
    assert_int_equal(lsp_model_predict(lm, x, 3, 3, z, NULL), 0);
    assert_memory_equal(z, zb, sizeof z);
    lsp_model_free(lm);
    lsp_onnx_model_free(m);
  }
  lsp_model_free(mb);
  lsp_onnx_model_free(base);
}

static void test_truncated(void **state) {
  (void)state;
  const char *files[] = {"torch_cnn_tiny/model_bn.onnx",
                         "onnx_cases/cnn_attrs.onnx"};
  for (int f = 0; f < 2; f++) {
    char *buf;
    size_t len;
    assert_int_equal(lsp_read_file(td_path(files[f]), &buf, &len), LSP_OK);
    for (size_t n = 0; n < len; n++) check_bytes(buf, n, "truncated.onnx");
    lsp_onnx_model *m = NULL;
    assert_int_equal(lsp_onnx_read_mem(buf, len, "whole.onnx", NULL, 0, &m),
                     LSP_OK);
    lsp_onnx_model_free(m);
    free(buf);
  }
}

static void test_garbage(void **state) {
  (void)state;
  unsigned char buf[4096];
  unsigned long x = 2463534242ul; /* xorshift */
  for (int round = 0; round < 200; round++) {
    size_t len = 1 + (size_t)(x % sizeof buf);
    for (size_t k = 0; k < len; k++) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      buf[k] = (unsigned char)(x >> 11);
    }
    check_bytes(buf, len, "random.onnx");
  }
  check_bytes("hello, world\n", 13, "text.onnx");
  char *npy;
  size_t len;
  assert_int_equal(
      lsp_read_file(td_path("torch_mlp_tiny/0.weight.npy"), &npy, &len),
      LSP_OK);
  check_bytes(npy, len, "weights.npy"); /* another format's magic */
  free(npy);
  /* a valid protobuf that is no model: a TensorProto file */
  assert_int_equal(
      lsp_read_file(td_path("onnx_cases/tensor_f32.pb"), &npy, &len), LSP_OK);
  check_bytes(npy, len, "tensor.pb");
  free(npy);
  check_bytes("", 0, "empty.onnx");
}

/* Millions of empty nodes cost protobuf-c far more memory than their bytes
 * in the file; the reader's allocator stops it with a message. */
static void test_amplification(void **state) {
  (void)state;
  size_t body = (size_t)3 << 20, len = body + 6;
  unsigned char *buf = malloc(len);
  assert_non_null(buf);
  buf[0] = 0x3a; /* ModelProto.graph, length-delimited */
  size_t v = body, at = 1;
  while (v >= 0x80) {
    buf[at++] = (unsigned char)(v | 0x80);
    v >>= 7;
  }
  buf[at++] = (unsigned char)v;
  for (size_t k = 0; k + 1 < body; k += 2) {
    buf[at + k] = 0x0a; /* GraphProto.node, empty */
    buf[at + k + 1] = 0x00;
  }
  check_bytes(buf, at + body, "nodes.onnx");
  assert_non_null(strstr(lsp_errmsg(), "MB to unpack"));
  free(buf);
}

static void test_files(void **state) {
  (void)state;
  lsp_onnx_model *m = NULL;
  assert_int_equal(lsp_onnx_read(td_tmp("does-not-exist.onnx"), &m), LSP_EIO);
  assert_non_null(strstr(lsp_errmsg(), "does-not-exist.onnx"));
  assert_int_equal(lsp_onnx_read(td_path("onnx_cases"), &m), LSP_EIO);
  assert_null(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cases),   cmocka_unit_test(test_final_softmax),
      cmocka_unit_test(test_truncated),
      cmocka_unit_test(test_garbage), cmocka_unit_test(test_amplification),
      cmocka_unit_test(test_files),   cmocka_unit_test(test_more),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
