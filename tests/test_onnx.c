/* Tests of the ONNX reader on files written by other tools: PyTorch 1.13's
 * exports of torch_cnn_tiny (checked against the state_dict tensors and the
 * op lists in case.json) and small models written by ONNX's own Python
 * package (tests/data/gen_onnx_cases.py), plus TensorProto .pb files. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "core/formats/lsp_jsonr.h"
#include "core/import/onnx/lsp_onnx_int.h"
#include "testutil.h"
/* after testutil.h: they use cmocka */
#include "onnx_cmp.h"

static lsp_onnx_model *load(const char *rel) {
  lsp_onnx_model *m = NULL;
  if (lsp_onnx_read(td_path(rel), &m) != LSP_OK) {
    print_error("%s: %s\n", rel, lsp_errmsg());
    fail();
  }
  return m;
}

static const lsp_onnx_node *node_named(const lsp_onnx_model *m,
                                       const char *name) {
  for (size_t k = 0; k < m->nnodes; k++)
    if (!strcmp(m->nodes[k].name, name)) return &m->nodes[k];
  print_error("no node '%s'\n", name);
  fail();
  return NULL;
}

static void expect_shape(const lsp_onnx_shape *s, int rank, int64_t c,
                         int64_t h, int64_t w) {
  assert_int_equal(s->rank, rank);
  assert_int_equal(s->dims[0], -1); /* the batch stays symbolic */
  assert_int_equal(s->dims[1], c);
  if (rank == 4) {
    assert_int_equal(s->dims[2], h);
    assert_int_equal(s->dims[3], w);
  }
}

/* The initializer equals the state_dict tensor <name>.npy bit for bit. */
static void expect_npy(const lsp_onnx_model *m, const char *init,
                       const char *npy) {
  char rel[256];
  snprintf(rel, sizeof rel, "torch_cnn_tiny/%s.npy", npy);
  lsp_array a;
  td_load(rel, &a);
  const lsp_onnx_tensor *t = lsp_onnx_find_init(m, init);
  assert_non_null(t);
  assert_int_equal(t->ndim, a.ndim);
  for (int k = 0; k < a.ndim; k++) assert_int_equal(t->dims[k], a.shape[k]);
  assert_int_equal(a.dtype, LSP_DT_F32);
  assert_memory_equal(t->f, a.data, a.count * sizeof(float));
  lsp_array_release(&a);
}

/* Every op of the description is in case.json's list for the file, and
 * every listed op is in the description or one the reader resolves
 * (Constant, Identity; Pad when it pads nothing, as in torch_cnn_tiny). */
static void expect_ops(const lsp_onnx_model *m, const char *key) {
  lsp_jsonr_doc *d = NULL;
  assert_int_equal(lsp_jsonr_read_file(td_path("torch_cnn_tiny/case.json"), &d),
                   LSP_OK);
  const lsp_jsonr *ops = lsp_jsonr_get(lsp_jsonr_root(d), key);
  assert_non_null(ops);
  for (size_t k = 0; k < m->nnodes; k++) {
    int found = 0;
    for (size_t j = 0; j < lsp_jsonr_len(ops); j++)
      found |=
          !strcmp(lsp_jsonr_at(ops, j)->str, lsp_onnx_op_name(m->nodes[k].op));
    assert_true(found);
  }
  for (size_t j = 0; j < lsp_jsonr_len(ops); j++) {
    const char *op = lsp_jsonr_at(ops, j)->str;
    int found = !strcmp(op, "Constant") || !strcmp(op, "Pad");
    for (size_t k = 0; k < m->nnodes; k++)
      found |= !strcmp(op, lsp_onnx_op_name(m->nodes[k].op));
    if (!found) print_error("%s: op %s missing\n", key, op);
    assert_true(found);
  }
  lsp_jsonr_free(d);
}

/* PyTorch's export keeping BatchNormalization: structure, shapes and every
 * parameter equal to the state_dict. */
static void test_torch_bn(void **state) {
  (void)state;
  lsp_onnx_model *m = load("torch_cnn_tiny/model_bn.onnx");
  assert_int_equal(m->opset, 13);
  assert_string_equal(m->input, "x");
  assert_string_equal(m->output, "logits");
  expect_shape(&m->in_shape, 4, 1, 12, 12); /* case.json "input" */
  expect_ops(m, "model_bn.onnx_ops");
  assert_int_equal(m->nnodes, 19); /* 21 in the file less Constant and Pad */
  static const char *const params[] = {"stem.weight",
                                       "stem.bias",
                                       "block.conv1.weight",
                                       "block.bn1.weight",
                                       "block.bn1.bias",
                                       "block.bn1.running_mean",
                                       "block.bn1.running_var",
                                       "block.conv2.weight",
                                       "block.bn2.weight",
                                       "block.bn2.bias",
                                       "block.bn2.running_mean",
                                       "block.bn2.running_var",
                                       "down.weight",
                                       "down.bias",
                                       "bn.weight",
                                       "bn.bias",
                                       "bn.running_mean",
                                       "bn.running_var",
                                       "fc1.weight",
                                       "fc1.bias",
                                       "fc2.weight",
                                       "fc2.bias"};
  assert_int_equal(m->ninits, sizeof params / sizeof *params);
  for (size_t k = 0; k < sizeof params / sizeof *params; k++) {
    assert_string_equal(m->inits[k].name, params[k]); /* order of first use */
    expect_npy(m, params[k], params[k]);
  }
  const lsp_onnx_node *n = node_named(m, "/stem/Conv");
  assert_int_equal(n->op, LSP_ONNX_CONV);
  assert_int_equal(n->kernel[0], 3);
  assert_int_equal(n->pads[0], 1);
  assert_int_equal(n->pads[3], 1);
  expect_shape(&n->out, 4, 6, 12, 12);
  n = node_named(m, "/pool/MaxPool");
  assert_int_equal(n->kernel[1], 2);
  assert_int_equal(n->strides[0], 2);
  expect_shape(&n->out, 4, 6, 6, 6);
  n = node_named(m, "/block/bn1/BatchNormalization");
  assert_int_equal(n->ninputs, 5);
  assert_string_equal(n->inputs[4], "block.bn1.running_var");
  td_close(n->epsilon, 1e-5, 1e-6, 0, "bn_eps", 0); /* case.json bn_eps */
  n = node_named(m, "/block/Add"); /* the residual: both operands values */
  assert_string_equal(n->inputs[0], "/pool/MaxPool_output_0");
  n = node_named(m, "/down/Conv");
  assert_int_equal(n->strides[1], 2);
  expect_shape(&n->out, 4, 8, 3, 3);
  /* the all-zero Pad is gone: AveragePool reads the ReLU directly */
  n = node_named(m, "/avg/AveragePool");
  assert_string_equal(n->inputs[0], "/Relu_1_output_0");
  assert_int_equal(n->count_include_pad, 0);
  expect_shape(&node_named(m, "/gap/GlobalAveragePool")->out, 4, 8, 1, 1);
  expect_shape(&node_named(m, "/Flatten")->out, 2, 8, 0, 0);
  n = node_named(m, "/fc2/Gemm");
  assert_int_equal(n->trans_b, 1);
  assert_true(n->alpha == 1.0f && n->beta == 1.0f);
  expect_shape(&n->out, 2, 4, 0, 0); /* case.json classes */
  lsp_onnx_model_free(m);
}

/* PyTorch's default export folds each BatchNorm into the convolution before
 * it: W' = W·γ/√(σ²+ε) per output channel, b' = (b − μ)·γ/√(σ²+ε) + β. */
static void expect_folded(const lsp_onnx_model *m, const char *conv_node,
                          const char *w, const char *b, const char *bn) {
  const lsp_onnx_node *n = node_named(m, conv_node);
  assert_int_equal(n->ninputs, 3);
  const lsp_onnx_tensor *wf = lsp_onnx_find_init(m, n->inputs[1]);
  const lsp_onnx_tensor *bf = lsp_onnx_find_init(m, n->inputs[2]);
  char rel[5][256];
  const char *parts[5] = {"weight", "bias", "running_mean", "running_var", w};
  lsp_array a[6];
  for (int k = 0; k < 4; k++) {
    snprintf(rel[k], sizeof rel[k], "torch_cnn_tiny/%s.%s.npy", bn, parts[k]);
    td_load(rel[k], &a[k]);
  }
  snprintf(rel[4], sizeof rel[4], "torch_cnn_tiny/%s.npy", w);
  td_load(rel[4], &a[4]);
  int has_b = b != NULL;
  if (has_b) {
    char rb[256];
    snprintf(rb, sizeof rb, "torch_cnn_tiny/%s.npy", b);
    td_load(rb, &a[5]);
  }
  const float *g = a[0].data, *be = a[1].data, *mu = a[2].data,
              *var = a[3].data;
  const float *w0 = a[4].data, *b0 = has_b ? a[5].data : NULL;
  size_t cout = a[4].shape[0], per = a[4].count / cout;
  assert_int_equal(wf->count, a[4].count);
  assert_int_equal(bf->count, cout);
  for (size_t o = 0; o < cout; o++) {
    double s = g[o] / sqrt((double)var[o] + 1e-5);
    for (size_t i = 0; i < per; i++)
      td_close(wf->f[o * per + i], w0[o * per + i] * s, 1e-5, 1e-7, "W'",
               o * per + i);
    td_close(bf->f[o], ((b0 ? b0[o] : 0.0) - mu[o]) * s + be[o], 1e-5, 1e-7,
             "b'", o);
  }
  for (int k = 0; k < 5 + has_b; k++) lsp_array_release(&a[k]);
}

static void test_torch_folded(void **state) {
  (void)state;
  lsp_onnx_model *m = load("torch_cnn_tiny/model.onnx");
  expect_ops(m, "model.onnx_ops");
  assert_int_equal(m->nnodes, 16);
  for (size_t k = 0; k < m->nnodes; k++)
    assert_int_not_equal(m->nodes[k].op, LSP_ONNX_BATCHNORM);
  static const char *const plain[] = {"stem.weight", "stem.bias",  "fc1.weight",
                                      "fc1.bias",    "fc2.weight", "fc2.bias"};
  for (size_t k = 0; k < 6; k++) expect_npy(m, plain[k], plain[k]);
  expect_folded(m, "/block/conv1/Conv", "block.conv1.weight", NULL,
                "block.bn1");
  expect_folded(m, "/block/conv2/Conv", "block.conv2.weight", NULL,
                "block.bn2");
  expect_folded(m, "/down/Conv", "down.weight", "down.bias", "bn");
  expect_shape(&m->nodes[m->nnodes - 1].out, 2, 4, 0, 0);
  lsp_onnx_model_free(m);
}

/* gen_onnx_cases.py's weights: ((37 i) mod 17 − 8) / 8. */
static void expect_weights(const lsp_onnx_tensor *t, size_t count) {
  assert_int_equal(t->count, count);
  for (size_t i = 0; i < count; i++)
    assert_true(t->f[i] == (float)((double)((37 * i) % 17) - 8.0) / 8.0f);
}

static void test_mlp_gemm(void **state) {
  (void)state;
  lsp_onnx_model *m = load("onnx_cases/mlp_gemm.onnx");
  assert_int_equal(m->nnodes, 3);
  assert_int_equal(m->nodes[0].op, LSP_ONNX_GEMM);
  assert_int_equal(m->nodes[1].op, LSP_ONNX_RELU);
  assert_int_equal(m->nodes[2].op, LSP_ONNX_GEMM);
  expect_shape(&m->in_shape, 2, 8, 0, 0);
  expect_shape(&m->nodes[0].out, 2, 16, 0, 0);
  expect_shape(&m->nodes[2].out, 2, 4, 0, 0);
  assert_int_equal(m->ninits, 4);
  expect_weights(&m->inits[0], 128);
  expect_weights(&m->inits[1], 16);
  expect_weights(&m->inits[2], 64);
  expect_weights(&m->inits[3], 4);
  assert_int_equal(m->inits[0].dims[0], 16);
  assert_int_equal(m->inits[0].dims[1], 8);
  lsp_onnx_model_free(m);
}

/* Fields lsprobe does not declare (doc strings, value_info, metadata, a
 * training_info block, 1 MB of doc string) are skipped: the description is
 * that of the same model without them, and the unpacked tree's copies of
 * the unknown bytes are all released. */
static void test_unknown_fields(void **state) {
  (void)state;
  lsp_onnx_model *a = load("onnx_cases/mlp_gemm.onnx");
  lsp_onnx_model *b = load("onnx_cases/mlp_gemm_extras.onnx");
  onnx_assert_same(a, b);
  lsp_onnx_model_free(a);
  lsp_onnx_model_free(b);
  char *buf;
  size_t len;
  assert_int_equal(
      lsp_read_file(td_path("onnx_cases/mlp_gemm_extras.onnx"), &buf, &len),
      LSP_OK);
  lsp_onnx_pbmem mem = {0, 0, lsp_onnx_pb_limit(len)};
  LspOnnx__ModelProto *mp = lsp_onnx_pb_model((uint8_t *)buf, len, &mem);
  assert_non_null(mp);
  assert_true(mp->base.n_unknown_fields >= 2); /* doc_string, training_info */
  assert_true(mem.peak >= ((size_t)1 << 20));  /* the copy protobuf-c keeps */
  assert_true(mem.peak <= 2 * len + 65536);    /* ... and not more */
  lsp_onnx_pb_free(&mp->base, &mem);
  assert_int_equal(mem.live, 0);
  free(buf);
}

static void test_mlp_matmul(void **state) {
  (void)state;
  lsp_onnx_model *m = load("onnx_cases/mlp_matmul.onnx");
  assert_int_equal(m->opset, 17);
  /* nodes reordered, Identity and Constant resolved, the dead Relu gone */
  static const char *const order[] = {"mm1", "add1", "relu", "mm2", "add2"};
  assert_int_equal(m->nnodes, 5);
  for (size_t k = 0; k < 5; k++)
    assert_string_equal(m->nodes[k].name, order[k]);
  assert_string_equal(node_named(m, "relu")->inputs[0], "s1");
  assert_string_equal(node_named(m, "add1")->inputs[0], "b1");
  static const char *const inits[] = {"w1", "b1", "w2", "b2"};
  assert_int_equal(m->ninits, 4);
  for (size_t k = 0; k < 4; k++)
    assert_string_equal(m->inits[k].name, inits[k]);
  expect_weights(&m->inits[2], 64); /* the Constant node's tensor */
  assert_int_equal(m->inits[2].dims[0], 16);
  assert_int_equal(m->inits[1].ndim, 2); /* [1, 16] bias kept as given */
  expect_shape(&m->nodes[4].out, 2, 4, 0, 0);
  lsp_onnx_model_free(m);
}

static void test_cnn_attrs(void **state) {
  (void)state;
  lsp_onnx_model *m = load("onnx_cases/cnn_attrs.onnx");
  assert_int_equal(m->ir_version, 6);
  assert_int_equal(m->opset, 11);
  assert_int_equal(m->nnodes, 6);
  const lsp_onnx_node *n = node_named(m, "conv"); /* VALID, kernel from W */
  assert_int_equal(n->kernel[0], 3);
  assert_int_equal(n->kernel[1], 3);
  assert_int_equal(n->strides[1], 2);
  expect_shape(&n->out, 4, 4, 8, 4);
  n = node_named(m, "pad");
  assert_int_equal(n->ninputs, 1);
  assert_int_equal(n->pads[0], 1);
  assert_int_equal(n->pads[1], 2);
  assert_int_equal(n->pads[2], 1);
  assert_int_equal(n->pads[3], 2);
  expect_shape(&n->out, 4, 4, 10, 8);
  expect_shape(&node_named(m, "maxpool")->out, 4, 4, 5, 4);
  n = node_named(m, "avgpool");
  assert_int_equal(n->count_include_pad, 1);
  expect_shape(&n->out, 4, 4, 5, 4);
  n = node_named(m, "reshape");
  assert_int_equal(n->shape[0], 0);
  assert_int_equal(n->shape[1], -1);
  expect_shape(&n->out, 2, 80, 0, 0);
  n = node_named(m, "fc");
  assert_int_equal(n->trans_b, 0);
  expect_shape(&n->out, 2, 3, 0, 0);
  /* the int64 pads and shape are folded into the nodes, not initializers */
  assert_int_equal(m->ninits, 3);
  assert_null(lsp_onnx_find_init(m, "pads"));
  lsp_onnx_model_free(m);
}

static void test_tensor_pb(void **state) {
  (void)state;
  lsp_onnx_tensor t;
  assert_int_equal(
      lsp_onnx_tensor_read(td_path("onnx_cases/tensor_f32.pb"), &t), LSP_OK);
  assert_string_equal(t.name, "a");
  assert_int_equal(t.dtype, LSP_ONNX_FLOAT);
  assert_int_equal(t.ndim, 2);
  assert_int_equal(t.dims[0], 2);
  assert_int_equal(t.dims[1], 3);
  expect_weights(&t, 6);
  lsp_onnx_tensor_release(&t);
  assert_int_equal(
      lsp_onnx_tensor_read(td_path("onnx_cases/tensor_f32_fields.pb"), &t),
      LSP_OK);
  assert_int_equal(t.dims[0], 3);
  expect_weights(&t, 6);
  lsp_onnx_tensor_release(&t);
  assert_int_equal(
      lsp_onnx_tensor_read(td_path("onnx_cases/tensor_i64.pb"), &t), LSP_OK);
  assert_int_equal(t.dtype, LSP_ONNX_INT64);
  static const int64_t want[] = {0, 0, 1, 2, -1, 5};
  assert_int_equal(t.count, 6);
  assert_memory_equal(t.i, want, sizeof want);
  lsp_onnx_tensor_release(&t);
  assert_int_equal(
      lsp_onnx_tensor_read(td_path("onnx_cases/tensor_scalar.pb"), &t), LSP_OK);
  assert_int_equal(t.ndim, 0);
  assert_int_equal(t.count, 1);
  assert_true(t.f[0] == 2.5f);
  lsp_onnx_tensor_release(&t);
  const char *p = td_path("onnx_cases/tensor_f64.pb");
  assert_int_equal(lsp_onnx_tensor_read(p, &t), LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "float64"));
  assert_non_null(strstr(lsp_errmsg(), "tensor_f64.pb"));
  lsp_onnx_tensor_release(&t);             /* safe on a failed read */
  p = td_path("onnx_cases/mlp_gemm.onnx"); /* a model is no tensor */
  assert_int_equal(lsp_onnx_tensor_read(p, &t), LSP_EDATA);
  lsp_onnx_tensor_release(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_torch_bn),   cmocka_unit_test(test_torch_folded),
      cmocka_unit_test(test_mlp_gemm),   cmocka_unit_test(test_unknown_fields),
      cmocka_unit_test(test_mlp_matmul), cmocka_unit_test(test_cnn_attrs),
      cmocka_unit_test(test_tensor_pb),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
