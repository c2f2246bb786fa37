/* The `transpose` layer (core/nn/lsp_ops_transpose.c): a permutation of an
 * example's axes c, h, w, as ONNX's Transpose keeping the batch.
 * - forward against the definition written out by coordinates, for all six
 *   permutations of a 2 × 3 × 4 example (every axis a different size);
 * - backward is the inverse permutation of dy (each input element gets the
 *   gradient of the one output element it went to), and a permutation
 *   then its inverse gives x back;
 * - the read rule moves each flag to the input element it came from;
 * - invalid codes are refused by shape inference with the reason;
 * - in the spec grammar (transpose(perm=120)) and in an .lspm file: the
 *   canonical text names it, a save and load keeps it and its logits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/base/lsp_error.h"
#include "core/nn/lsp_model.h"
#include "core/nn/lsp_ops.h"
#include "testutil.h"

enum { C = 2, H = 3, W = 4, D = C * H * W, B = 2 };
static const size_t k_perms[6] = {12, 21, 102, 120, 201, 210};

/* A node of kind transpose with code perm on a C × H × W example. */
static lsp_node node_of(size_t perm) {
  lsp_node nd;
  memset(&nd, 0, sizeof nd);
  nd.op = LSP_OP_TRANSPOSE;
  lsp_attrs_default(LSP_OP_TRANSPOSE, &nd.a);
  nd.a.perm = perm;
  nd.ishape = nd.ishape1 = (lsp_shape){C, H, W};
  char why[256];
  assert_int_equal(lsp_op_get(LSP_OP_TRANSPOSE)
                       ->infer(&nd.a, &nd.ishape, &nd.shape, why, sizeof why),
                   LSP_OK);
  return nd;
}

/* The output index of input element (a, b, c) under perm, and the output
 * shape (dims in output order). */
static size_t out_index(size_t perm, size_t a, size_t b, size_t c,
                        size_t od[3]) {
  const size_t q[3] = {a, b, c}, d[3] = {C, H, W};
  const size_t p[3] = {perm / 100, perm / 10 % 10, perm % 10};
  for (int k = 0; k < 3; k++) od[k] = d[p[k]];
  return (q[p[0]] * od[1] + q[p[1]]) * od[2] + q[p[2]];
}

static void test_forward_backward(void **state) {
  (void)state;
  float x[B * D], y[B * D], dx[B * D], back[B * D];
  for (size_t i = 0; i < B * D; i++) x[i] = (float)(i * 7 % 53) - 20.0f;
  for (size_t f = 0; f < 6; f++) {
    lsp_node nd = node_of(k_perms[f]);
    size_t od[3];
    out_index(k_perms[f], 0, 0, 0, od);
    assert_int_equal(nd.shape.c, od[0]);
    assert_int_equal(nd.shape.h, od[1]);
    assert_int_equal(nd.shape.w, od[2]);
    lsp_op_call c;
    memset(&c, 0, sizeof c);
    c.nd = &nd, c.n = B, c.x0 = x, c.y = y;
    lsp_op_get(LSP_OP_TRANSPOSE)->forward(&c);
    for (size_t r = 0; r < B; r++)
      for (size_t a = 0; a < C; a++)
        for (size_t b = 0; b < H; b++)
          for (size_t e = 0; e < W; e++)
            assert_true(y[r * D + out_index(k_perms[f], a, b, e, od)] ==
                        x[r * D + (a * H + b) * W + e]);
    /* backward: dy = y sends each value back where it came from */
    for (size_t i = 0; i < B * D; i++) dx[i] = -999.0f;
    c.yv = y, c.dy = y, c.dx0 = dx;
    lsp_op_get(LSP_OP_TRANSPOSE)->backward(&c);
    assert_memory_equal(dx, x, sizeof x);
    /* the read rule: a flag on output element j marks input element j
     * came from */
    float out[D] = {0}, in[D];
    for (size_t a = 0; a < C; a++)
      for (size_t b = 0; b < H; b++)
        for (size_t e = 0; e < W; e++) {
          const size_t j = out_index(k_perms[f], a, b, e, od);
          out[j] = 1.0f;
          lsp_op_get(LSP_OP_TRANSPOSE)->reads(&nd, out, in, NULL);
          for (size_t i = 0; i < D; i++)
            assert_true(in[i] == (i == (a * H + b) * W + e ? 1.0f : 0.0f));
          out[j] = 0.0f;
        }
    /* the inverse permutation (its code: where each input axis went) */
    const size_t p[3] = {k_perms[f] / 100, k_perms[f] / 10 % 10,
                         k_perms[f] % 10};
    size_t inv[3];
    for (size_t k = 0; k < 3; k++) inv[p[k]] = k;
    lsp_node ni;
    memset(&ni, 0, sizeof ni);
    ni.op = LSP_OP_TRANSPOSE;
    ni.a.perm = inv[0] * 100 + inv[1] * 10 + inv[2];
    ni.ishape = nd.shape;
    char why[256];
    assert_int_equal(lsp_op_get(LSP_OP_TRANSPOSE)
                         ->infer(&ni.a, &ni.ishape, &ni.shape, why, sizeof why),
                     LSP_OK);
    c.nd = &ni, c.x0 = y, c.y = back;
    lsp_op_get(LSP_OP_TRANSPOSE)->forward(&c);
    assert_memory_equal(back, x, sizeof x);
  }
}

static void test_refused(void **state) {
  (void)state;
  const size_t bad[] = {0, 11, 22, 112, 211, 213, 1020, 12 + 1000};
  lsp_attrs a;
  lsp_attrs_default(LSP_OP_TRANSPOSE, &a);
  assert_int_equal(a.perm, 12); /* the identity by default */
  lsp_shape in = {C, H, W}, out;
  char why[256];
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    a.perm = bad[i];
    assert_int_equal(
        lsp_op_get(LSP_OP_TRANSPOSE)->infer(&a, &in, &out, why, sizeof why),
        LSP_EINVAL);
    assert_non_null(strstr(why, "is not a permutation of the axes 0, 1, 2"));
  }
}

static void test_spec_and_file(void **state) {
  (void)state;
  lsp_model *m = NULL, *r = NULL;
  assert_int_equal(lsp_model_from_spec("transpose(perm=120) conv(2,1) relu flatten",
                                       (lsp_shape){C, H, W}, 3, NULL, 0, &m),
                   LSP_OK);
  assert_int_equal(m->nodes[0].op, LSP_OP_TRANSPOSE);
  assert_int_equal(m->nodes[0].shape.c, H);
  assert_int_equal(m->nodes[0].shape.w, C);
  char arch[512];
  lsp_model_arch_string(m, arch, sizeof arch);
  assert_non_null(strstr(arch, "transpose(perm=120)"));
  for (size_t i = 0; i < m->nparams; i++) m->params[i] = (float)(i % 7) / 8.0f - 0.3f;
  const char *path = td_tmp("transpose.lspm");
  assert_int_equal(lsp_model_save(m, path), LSP_OK);
  assert_int_equal(lsp_model_load_lspm(path, &r), LSP_OK);
  assert_int_equal(r->nodes[0].a.perm, 120);
  float x[B * D], z[B * 3], zr[B * 3];
  for (size_t i = 0; i < B * D; i++) x[i] = (float)(i % 5) / 4.0f;
  assert_int_equal(lsp_model_predict(m, x, B, B, z, NULL), 0);
  assert_int_equal(lsp_model_predict(r, x, B, B, zr, NULL), 0);
  assert_memory_equal(z, zr, sizeof z);
  lsp_model_free(m);
  lsp_model_free(r);
  unlink(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_forward_backward),
      cmocka_unit_test(test_refused),
      cmocka_unit_test(test_spec_and_file),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
