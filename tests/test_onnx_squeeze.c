/* The ways PyTorch classifiers drop the 1 × 1 left by a global pooling, as
 * torch.onnx.export 1.13 writes them at opsets 11, 13 and 17, with and
 * without dynamic_axes (tests/data/onnx_squeeze, gen_onnx_squeeze.py):
 * - p.squeeze(-1).squeeze(-1), p.squeeze(3).squeeze(2), one Squeeze of
 *   axes [2, 3], p.squeeze() with the batch fixed at 8, p[:, :, 0, 0],
 *   p[:, :, -1, -1], p.select(3, 0).select(2, 0), p.narrow(3, 0, 1)
 *   .squeeze(3).squeeze(2), p[:, :, 0:1, 0:1].flatten(1) after an
 *   adaptive average or max pooling p, and h.mean((2, 3)), h.amax((2, 3))
 *   are the network of the flatten form (gap or gmp, then the dense
 *   classifier): its node kinds and its logits bit for bit, and PyTorch's
 *   float64 logits (1e-5 relative to the largest), input gradient and
 *   predictions after an FGSM step; a 1×1-convolution head squeezed is
 *   the head flattened;
 * - in the description each Squeeze, Gather or Slice is the Reshape it
 *   equals, written and read back as that Reshape;
 * - the batch axis, an index or a Squeeze of an axis larger than 1, an
 *   index outside the axis, a crop, and a Squeeze without axes when the
 *   batch is symbolic or 1 are refused naming the node, the axis and what
 *   lsprobe reads. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/import/lsp_import.h"
#include "core/import/onnx/lsp_onnx.h"
#include "testutil.h"
/* after testutil.h: they use cmocka */
#include "model_fixture.h"
#include "onnx_cmp.h"

#define DIR "onnx_squeeze/"
enum { N = 8, K = 4 };

/* The logits of m on x.npy (N × K, malloc'ed). */
static float *logits(const lsp_model *m) { return fx_logits(m, DIR "x.npy", N, K); }

/* tests/data/onnx_squeeze/<file> is the network of `base`: the same node
 * kinds in order, the same logits bit for bit, PyTorch's numbers `ref`. */
static void same_net(const char *file, const char *base, const char *ref) {
  char f[128], b[128];
  snprintf(f, sizeof f, DIR "%s", file);
  snprintf(b, sizeof b, DIR "%s", base);
  lsp_model *m = fx_load(f), *mb = fx_load(b);
  assert_int_equal(m->nnodes, mb->nnodes);
  for (size_t i = 0; i < m->nnodes; i++)
    assert_int_equal(m->nodes[i].op, mb->nodes[i].op);
  assert_int_equal(lsp_model_feature_dim(m), lsp_model_feature_dim(mb));
  float *z = logits(m), *zb = logits(mb);
  for (size_t i = 0; i < N * K; i++)
    if (memcmp(&z[i], &zb[i], sizeof z[i])) {
      print_error("%s: logit %zu %.9g, %s %.9g\n", file, i, (double)z[i], base,
                  (double)zb[i]);
      fail();
    }
  fx_torch_case(m, DIR, f, ref, N, K, 1e-5, 1e-5);
  free(z);
  free(zb);
  lsp_model_free(m);
  lsp_model_free(mb);
}

/* <kind>_op<op>[_dyn].onnx for each opset listed, with and without the
 * dynamic batch (dyn_only: with it only). */
static void each(const char *kind, const int *ops, size_t nops, int dyn_only,
                 const char *base, const char *ref) {
  for (size_t o = 0; o < nops; o++)
    for (int dyn = dyn_only; dyn < 2; dyn++) {
      char f[48];
      snprintf(f, sizeof f, "%.16s_op%d%s.onnx", kind, ops[o],
               dyn ? "_dyn" : "");
      same_net(f, base, ref);
    }
}

static void test_gap(void **state) {
  (void)state;
  static const int ops[] = {11, 13, 17};
  const char *base = "flat_op13_dyn.onnx";
  lsp_model *m = fx_load(DIR "flat_op13_dyn.onnx");
  assert_int_equal(m->nnodes, 4); /* conv, relu, gap, the classifier */
  assert_int_equal(fx_count_op(m, LSP_OP_GAP), 1);
  lsp_model_free(m);
  each("sq", ops, 3, 0, base, "gap");
  each("idx", ops, 3, 0, base, "gap");
  same_net("sq32_op13_dyn.onnx", base, "gap");
  same_net("sqpair_op11_dyn.onnx", base, "gap");
  same_net("sqpair_op13_dyn.onnx", base, "gap");
  same_net("sqall_op13.onnx", base, "gap");
  same_net("neg_op13_dyn.onnx", base, "gap");
  same_net("sel_op17_dyn.onnx", base, "gap");
  same_net("nar_op11_dyn.onnx", base, "gap");
  same_net("nar_op13_dyn.onnx", base, "gap");
  same_net("sl_op13_dyn.onnx", base, "gap");
  for (int k = 0; k < 3; k++) {
    char f[32];
    snprintf(f, sizeof f, "mean_op%d.onnx", ops[k]);
    same_net(f, base, "gap");
  }
}

static void test_gmp(void **state) {
  (void)state;
  static const int ops[] = {11, 13, 17}, ops1317[] = {13, 17};
  const char *base = "flatm_op13_dyn.onnx";
  lsp_model *m = fx_load(DIR "flatm_op13_dyn.onnx");
  assert_int_equal(m->nnodes, 4);
  assert_int_equal(fx_count_op(m, LSP_OP_GMP), 1);
  lsp_model_free(m);
  each("sqm", ops, 3, 1, base, "gmp");
  each("idxm", ops1317, 2, 1, base, "gmp");
  same_net("amax_op11.onnx", base, "gmp");
}

/* A 1×1-convolution head pooled by a global average: squeezed, it is the
 * gap of the trunk then a dense classifier of the kernel's rows, as
 * flattened. */
static void test_head(void **state) {
  (void)state;
  same_net("head_sq_op13_dyn.onnx", "head_op13_dyn.onnx", "head");
  lsp_model *m = fx_load(DIR "head_sq_op13_dyn.onnx");
  assert_int_equal(fx_count_op(m, LSP_OP_GAP), 1);
  assert_int_equal(lsp_model_feature_dim(m), 3); /* the trunk's channels */
  lsp_model_free(m);
}

/* The description: each Squeeze (Gather, Slice) is a Reshape to the
 * dimensions left, named as the file's node; written, it reads back as
 * the same Reshape (a Reshape of the file, the same logits). */
static void description(const char *file, const char *const *names,
                        const int *from, const int64_t (*shape)[3],
                        size_t count) {
  lsp_onnx_model *om = NULL, *back = NULL;
  assert_int_equal(lsp_onnx_read(td_path(file), &om), LSP_OK);
  size_t seen = 0;
  for (size_t k = 0; k < om->nnodes; k++) {
    const lsp_onnx_node *nd = &om->nodes[k];
    if (nd->op != LSP_ONNX_RESHAPE) continue;
    assert_true(seen < count);
    assert_string_equal(nd->name, names[seen]);
    assert_int_equal(nd->pick.from, from[seen]);
    assert_int_equal(nd->pick.pending, 0);
    int rank = shape[seen][2] ? 3 : 2;
    assert_int_equal(nd->shape_rank, rank);
    assert_int_equal(nd->out.rank, rank);
    for (int j = 0; j < rank; j++) {
      assert_int_equal(nd->shape[j], shape[seen][j]);
      if (j) assert_int_equal(nd->out.dims[j], shape[seen][j]);
    }
    seen++;
  }
  assert_int_equal(seen, count);
  const char *tmp = td_tmp("squeeze.onnx");
  assert_int_equal(lsp_onnx_write(om, tmp), LSP_OK);
  assert_int_equal(lsp_onnx_read(tmp, &back), LSP_OK);
  onnx_assert_same(om, back);
  for (size_t k = 0; k < back->nnodes; k++)
    assert_int_equal(back->nodes[k].pick.from, 0);
  lsp_onnx_model_free(om);
  lsp_onnx_model_free(back);
  lsp_model *m = fx_load(DIR "flat_op13_dyn.onnx"), *r = NULL;
  assert_int_equal(lsp_model_load(tmp, &r), LSP_OK);
  float *z = logits(m), *zr = logits(r);
  assert_memory_equal(z, zr, N * K * sizeof *z);
  free(z);
  free(zr);
  lsp_model_free(m);
  lsp_model_free(r);
  remove(tmp);
}

static void test_description(void **state) {
  (void)state;
  static const char *const sq[] = {"/Squeeze", "/Squeeze_1"};
  static const char *const gat[] = {"/Gather", "/Gather_1"};
  static const char *const pair[] = {"/Squeeze_1"};
  static const int fsq[] = {LSP_ONNX_PICK_SQUEEZE, LSP_ONNX_PICK_SQUEEZE},
                   fgat[] = {LSP_ONNX_PICK_GATHER, LSP_ONNX_PICK_GATHER};
  static const int64_t s31[][3] = {{0, 3, 1}, {0, 3, 0}}, s3[][3] = {{0, 3, 0}};
  description(DIR "sq_op13_dyn.onnx", sq, fsq, s31, 2);
  description(DIR "sq_op11.onnx", sq, fsq, s31, 2);
  description(DIR "idx_op17_dyn.onnx", gat, fgat, s31, 2);
  description(DIR "sqpair_op13_dyn.onnx", pair, fsq, s3, 1);
}

/* The checker's placement on descriptions built by hand: x [n, c, 1, 1]
 * → the node → y. Returns the status; *out the node's output shape. */
static int place(int64_t n, int64_t c, int from, int na, const int64_t *axes,
                 const int64_t *sl, int drop, lsp_onnx_shape *out) {
  const lsp_onnx_shape in = {4, {n, c, 1, 1}};
  const char *x = "x";
  lsp_onnx_model *m = lsp_onnx_model_alloc("x", &in, "y");
  assert_non_null(m);
  lsp_onnx_node *nd = lsp_onnx_add_node(m, LSP_ONNX_RESHAPE, "p", 1, &x, "y");
  assert_non_null(nd);
  nd->shape_rank = 0;
  nd->pick.from = from, nd->pick.pending = 1, nd->pick.n = na;
  nd->pick.drop = drop;
  for (int k = 0; k < na; k++) {
    nd->pick.axes[k] = axes[k];
    if (sl) nd->pick.start[k] = sl[0], nd->pick.end[k] = sl[1];
    nd->pick.step[k] = sl ? sl[2] : 1;
  }
  int st = lsp_onnx_check(m, "hand.onnx");
  if (st == LSP_OK) {
    *out = m->nodes[0].out;
    assert_int_equal(m->nodes[0].pick.pending, 0);
    assert_int_equal(lsp_onnx_check(m, "hand.onnx"), LSP_OK); /* idempotent */
    assert_true(onnx_shape_eq(out, &m->nodes[0].out));
  }
  lsp_onnx_model_free(m);
  return st;
}

static void test_place(void **state) {
  (void)state;
  lsp_onnx_shape y;
  static const int64_t a123[] = {1, 2, 3}, a2m2[] = {2, -2}, a4[] = {4},
                       a3[] = {3}, a23[] = {2, 3}, a2[] = {2};
  /* every axis but the batch is 1: nothing left per example */
  assert_int_equal(place(-1, 1, LSP_ONNX_PICK_SQUEEZE, 3, a123, NULL, 1, &y),
                   LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(),
                         "hand.onnx: node 'p' (Squeeze): "
                         "leaves the batch alone (rank 1)"));
  assert_int_equal(place(-1, 3, LSP_ONNX_PICK_SQUEEZE, 2, a2m2, NULL, 1, &y),
                   LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "axis 2 is listed twice"));
  assert_int_equal(place(-1, 3, LSP_ONNX_PICK_SQUEEZE, 1, a4, NULL, 1, &y),
                   LSP_EDATA);
  assert_non_null(strstr(lsp_errmsg(), "axis 4 is outside a rank-4 input"));
  /* x[:, :, :, ::-1] and x[:, :, :, -1:] of a size-1 axis keep it */
  const int64_t rev[] = {-1, INT64_MIN, -1}, last[] = {-1, INT64_MAX, 1},
                two[] = {0, 1, 2};
  assert_int_equal(place(-1, 3, LSP_ONNX_PICK_SLICE, 1, a3, rev, 0, &y),
                   LSP_OK);
  assert_int_equal(y.rank, 4);
  assert_int_equal(place(-1, 3, LSP_ONNX_PICK_SLICE, 1, a3, last, 0, &y),
                   LSP_OK);
  assert_int_equal(y.rank, 4);
  assert_int_equal(place(-1, 3, LSP_ONNX_PICK_SLICE, 1, a3, two, 0, &y),
                   LSP_OK); /* a step of 2 on one element keeps it */
  /* Gather of a one-entry vector keeps the axis; of a scalar drops it */
  const int64_t i0[] = {-1, 0, 1};
  assert_int_equal(place(-1, 3, LSP_ONNX_PICK_GATHER, 1, a2, i0, 0, &y),
                   LSP_OK);
  assert_int_equal(y.rank, 4);
  assert_int_equal(place(-1, 3, LSP_ONNX_PICK_GATHER, 1, a2, i0, 1, &y),
                   LSP_OK);
  assert_int_equal(y.rank, 3);
  /* squeeze() of a fixed batch of 8: the 1 × 1 goes, the batch stays */
  assert_int_equal(place(8, 3, LSP_ONNX_PICK_SQUEEZE, 0, NULL, NULL, 1, &y),
                   LSP_OK);
  assert_int_equal(y.rank, 2);
  assert_int_equal(y.dims[0], 8);
  assert_int_equal(y.dims[1], 3);
  assert_int_equal(place(8, 3, LSP_ONNX_PICK_SQUEEZE, 2, a23, NULL, 1, &y),
                   LSP_OK);
  assert_int_equal(y.rank, 2);
}

static void test_refused(void **state) {
  (void)state;
  fx_refused(DIR "bad_sqall_op13_dyn.onnx", "node '/Squeeze' (Squeeze)",
             "no axes: it drops every axis of size 1, the batch too when it "
             "is 1 (the batch size is symbolic); lsprobe needs the axes: "
             "export the model with x.squeeze(-1).squeeze(-1) or "
             "torch.flatten(x, 1)");
  fx_refused(DIR "bad_sqall1_op13.onnx", "node '/Squeeze' (Squeeze)",
             "(the batch size is 1)");
  fx_refused(DIR "bad_sq6_op13_dyn.onnx", "node '/Squeeze' (Squeeze)",
             "axis 3 has size 6; a Squeeze drops axes of size 1 only");
  fx_refused(DIR "bad_idxhw_op13_dyn.onnx", "node '/Gather' (Gather)",
             "index 0 takes one of the 6 positions of axis 2, which is no "
             "pooling; lsprobe reads an index only on an axis of size 1 "
             "(x[:, :, 0, 0] after a global pooling)");
  fx_refused(DIR "bad_idxc_op13_dyn.onnx", "node '/Gather' (Gather)",
             "index 0 takes one of the 3 positions of axis 1");
  fx_refused(DIR "bad_idxn_op13_dyn.onnx", "node '/Gather' (Gather)",
             "axis 0 is the batch; lsprobe computes every example alike and "
             "keeps it");
  fx_refused(DIR "bad_idx1_op13_dyn.onnx", "node '/Gather' (Gather)",
             "index 1 is outside axis 2 of size 1");
  fx_refused(DIR "bad_crop_op13_dyn.onnx", "node '/Slice' (Slice)",
             "keeps 2 of the 6 positions of axis 2 (starts 1, ends 3, steps "
             "1); lsprobe reads a Slice only when it keeps a whole axis in "
             "order (x[:, :, 0:1] on an axis of size 1); a crop such as "
             "x[:, :, 1:3], or the Slices PyTorch writes for a convolution's "
             "padding_mode='circular', is not read");
  fx_refused(DIR "bad_sqattr_op13_dyn.onnx", "node '/Squeeze' (Squeeze)",
             "attribute 'axes' is not supported (opset 13: none; the axes "
             "are an input)");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_gap),   cmocka_unit_test(test_gmp),
      cmocka_unit_test(test_head),  cmocka_unit_test(test_description),
      cmocka_unit_test(test_place), cmocka_unit_test(test_refused),
  };
  return td_exit_code(cmocka_run_group_tests(tests, NULL, NULL));
}
