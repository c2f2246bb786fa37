/* ONNX Conv with group > 1 (lsp_onnx_lower, lsp_onnx_from_model):
 * - an undilated grouped or depthwise Conv lowers to a conv node with its
 *   groups (the file's weights, no zeros: the model has the file's
 *   parameter count); a dilated one to the dense kernel it equals;
 * - the logits equal those of the same network written with dense
 *   kernels expanded by this test (zeros outside each group, dilation
 *   spread out), to float rounding;
 * - the export writes `group` and the weights as they came: read back it
 *   computes bit-identical logits;
 * - a weight that does not fit the groups is refused naming file and node. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/import/lsp_import.h"
#include "core/import/onnx/lsp_onnx.h"
#include "core/nn/lsp_model.h"
#include "testutil.h"
/* after testutil.h: it uses cmocka */
#include "onnx_build.h"

#define N 3

/* x [N, 4, 9, 9] -> gconv Conv(8, 3×3, group 2, pads 1) -> Relu ->
 * dwconv Conv(16, 3×3, group 8, stride 2, pads 1) -> Relu -> dilconv
 * Conv(16, 3×3, group 4, dilation 2, pads 2, no bias) -> GlobalAveragePool
 * -> Flatten -> Gemm(5). dense = 1: every grouped kernel written as the
 * dense kernel it equals (the dilated one too), group 1. */
static lsp_onnx_model *build(int dense, int bad) {
  const lsp_onnx_shape in = {4, {-1, 4, 9, 9}};
  lsp_onnx_model *m = lsp_onnx_model_alloc("x", &in, "y");
  assert_non_null(m);
  static const struct {
    const char *w;
    int64_t co, ci, k, g, dil;
  } L[3] = {{"g.w", 8, 4, 3, 2, 1}, {"d.w", 16, 8, 3, 8, 1},
            {"l.w", 16, 16, 3, 4, 2}};
  for (int l = 0; l < 3; l++) {
    const int64_t cg = L[l].ci / L[l].g, og = L[l].co / L[l].g, k = L[l].k;
    const int64_t e = (k - 1) * L[l].dil + 1;
    const size_t nw = (size_t)(L[l].co * cg * k * k);
    float *w = malloc(nw * sizeof *w);
    assert_non_null(w);
    onnx_fill(w, nw, 20 + l);
    if (!dense) {
      const int64_t d[4] = {L[l].co, bad && l == 1 ? 2 : cg, k, k};
      float *wb = calloc(nw * 2, sizeof *wb);
      memcpy(wb, w, nw * sizeof *w);
      assert_int_equal(lsp_onnx_add_init(m, L[l].w, 4, d, wb), 0);
      free(wb);
    } else { /* W'[o, q(o)·cg + j, u·dil, v·dil] = W[o, j, u, v] */
      const int64_t d[4] = {L[l].co, L[l].ci, e, e};
      float *wd = calloc((size_t)(L[l].co * L[l].ci * e * e), sizeof *wd);
      assert_non_null(wd);
      for (int64_t o = 0; o < L[l].co; o++)
        for (int64_t j = 0; j < cg; j++)
          for (int64_t u = 0; u < k; u++)
            for (int64_t v = 0; v < k; v++)
              wd[((o * L[l].ci + o / og * cg + j) * e + u * L[l].dil) * e +
                 v * L[l].dil] = w[((o * cg + j) * k + u) * k + v];
      assert_int_equal(lsp_onnx_add_init(m, L[l].w, 4, d, wd), 0);
      free(wd);
    }
    free(w);
  }
  onnx_init(m, "g.b", 1, 8, 0, 0, 0, 31);
  onnx_init(m, "d.b", 1, 16, 0, 0, 0, 32);
  onnx_init(m, "fc.w", 2, 5, 16, 0, 0, 33);
  onnx_init(m, "fc.b", 1, 5, 0, 0, 0, 34);
  lsp_onnx_node *n;
  n = onnx_node(m, LSP_ONNX_CONV, "gconv", "c1", 3, "x", "g.w", "g.b", 0, 0);
  n->pads[0] = n->pads[1] = n->pads[2] = n->pads[3] = 1;
  n->group = dense ? 1 : 2;
  onnx_node(m, LSP_ONNX_RELU, "r1", "r1", 1, "c1", 0, 0, 0, 0);
  n = onnx_node(m, LSP_ONNX_CONV, "dwconv", "c2", 3, "r1", "d.w", "d.b", 0, 0);
  n->pads[0] = n->pads[1] = n->pads[2] = n->pads[3] = 1;
  n->strides[0] = n->strides[1] = 2;
  n->group = dense ? 1 : 8;
  onnx_node(m, LSP_ONNX_RELU, "r2", "r2", 1, "c2", 0, 0, 0, 0);
  n = onnx_node(m, LSP_ONNX_CONV, "dilconv", "c3", 2, "r2", "l.w", 0, 0, 0);
  n->pads[0] = n->pads[1] = n->pads[2] = n->pads[3] = 2;
  if (!dense) n->dilations[0] = n->dilations[1] = 2, n->group = 4;
  onnx_node(m, LSP_ONNX_GLOBALAVGPOOL, "gap", "g", 1, "c3", 0, 0, 0, 0);
  onnx_node(m, LSP_ONNX_FLATTEN, "flat", "f", 1, "g", 0, 0, 0, 0);
  onnx_node(m, LSP_ONNX_GEMM, "fc", "y", 3, "f", "fc.w", "fc.b", 0, 0)
      ->trans_b = 1;
  return m;
}

static lsp_model *lower(int dense) {
  lsp_onnx_model *om = build(dense, 0);
  assert_int_equal(lsp_onnx_check(om, "g.onnx"), 0);
  lsp_model *m = NULL;
  int st = lsp_onnx_lower(om, "g.onnx", NULL, &m);
  if (st) print_error("%s\n", lsp_errmsg());
  assert_int_equal(st, 0);
  lsp_onnx_model_free(om);
  return m;
}

static void logits(const lsp_model *m, const float *x, float *z) {
  lsp_model_ws *ws = lsp_model_ws_alloc(m, N);
  const float *zz;
  assert_int_equal(lsp_model_forward(m, ws, x, N, &zz, NULL), 0);
  memcpy(z, zz, N * 5 * sizeof *z);
  lsp_model_ws_free(ws);
}

static void test_grouped_lowering(void **state) {
  (void)state;
  lsp_model *m = lower(0), *d = lower(1);
  const int gi = lsp_model_find(m, "gconv"), di = lsp_model_find(m, "dwconv"),
            li = lsp_model_find(m, "dilconv");
  assert_true(gi >= 0 && di >= 0 && li >= 0);
  assert_int_equal(m->nodes[gi].a.groups, 2);
  assert_int_equal(m->nodes[di].a.groups, 8);
  assert_int_equal(m->nodes[li].a.groups, 1); /* dilated: expanded */
  assert_int_equal(m->nodes[li].a.kh, 5);
  /* the file's parameters (the dilated layer's dense 16·16·5·5) */
  assert_int_equal(m->nparams, (8 * 2 * 9 + 8) + (16 * 1 * 9 + 16) +
                                   16 * 16 * 25 + (5 * 16 + 5));
  float x[N * 4 * 81], z[N * 5], zd[N * 5];
  onnx_fill(x, N * 4 * 81, 3);
  logits(m, x, z);
  logits(d, x, zd);
  for (size_t i = 0; i < N * 5; i++)
    td_close(z[i], zd[i], 1e-5, 1e-6, "grouped vs dense-expanded logits", i);
  /* export and read back: group written, the same bits */
  lsp_onnx_model *om = NULL;
  assert_int_equal(lsp_onnx_from_model(m, &om), 0);
  int seen = 0;
  for (size_t k = 0; k < om->nnodes; k++)
    if (om->nodes[k].op == LSP_ONNX_CONV && om->nodes[k].group > 1)
      seen |= om->nodes[k].group == 2 ? 1 : om->nodes[k].group == 8 ? 2 : 4;
  assert_int_equal(seen, 3);
  const char *path = td_tmp("grouped.onnx");
  assert_int_equal(lsp_onnx_write(om, path), 0);
  lsp_onnx_model_free(om);
  lsp_model *r = NULL;
  assert_int_equal(lsp_model_load(path, &r), 0);
  assert_int_equal(r->nparams, m->nparams);
  float zr[N * 5];
  logits(r, x, zr);
  assert_memory_equal(zr, z, sizeof z);
  remove(path);
  lsp_model_free(r);
  lsp_model_free(m);
  lsp_model_free(d);
}

static void test_grouped_refused(void **state) {
  (void)state;
  lsp_onnx_model *om = build(0, 1); /* dwconv's weight 16×2×3×3, group 8 */
  assert_int_equal(lsp_onnx_check(om, "bad.onnx"), LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "bad.onnx"));
  assert_non_null(strstr(lsp_errmsg(), "node 'dwconv' (Conv)"));
  assert_non_null(strstr(lsp_errmsg(), "8 groups"));
  lsp_onnx_model_free(om);
}

int main(void) {
  (void)onnx_build_mlp, (void)onnx_build_cnn; /* the shared builders */
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_grouped_lowering),
      cmocka_unit_test(test_grouped_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
