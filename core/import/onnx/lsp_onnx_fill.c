/* lsp_onnx_fill.c — the lowered model's tensors from the ONNX
 * initializers (docs/DESIGN.md §3, "Lowering"): convolution and dense
 * weights and biases (a grouped convolution keeps its groups, a dilated one
 * becomes the dense kernel it equals, with zeros; Gemm's alpha and beta applied; an Add
 * folded in as the bias), batch-norm parameters and statistics, input
 * normalizations, the logits' affine tail folded into the classifier, and
 * the identity classifier after pooled class maps. */
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/import/onnx/lsp_onnx_int.h"


/* Channel ch of a constant that broadcasts along the channels only. */
static float chan(const lsp_onnx_tensor *t, size_t ch) {
  return t->count == 1 ? t->f[0] : t->f[ch];
}

static int fill_conv(const lsp_onnx_model *om, const lsp_onnx_source *s,
                     const lsp_node *nd, float *w, float *b) {
  const lsp_onnx_node *on = s->on;
  const lsp_onnx_tensor *wt = lsp_onnx_find_init(om, on->inputs[1]);
  size_t m = (size_t)wt->dims[0], cg = (size_t)wt->dims[1];
  size_t kh = (size_t)on->kernel[0], kw = (size_t)on->kernel[1];
  size_t dh = (size_t)on->dilations[0], dw = (size_t)on->dilations[1];
  size_t g = (size_t)on->group, mg = m / g, cin = cg * g;
  size_t eh = (kh - 1) * dh + 1, ew = (kw - 1) * dw + 1;
  if (nd->a.groups == g && dh == 1 && dw == 1) { /* M × C/group × kh × kw */
    memcpy(w, wt->f, m * cg * kh * kw * sizeof *w);
    goto bias;
  }
  memset(w, 0, m * cin * eh * ew * sizeof *w);
  /* W'[o, grp(o)·cg + j, u·dh, v·dw] = W[o, j, u, v]; zero elsewhere */
  for (size_t o = 0; o < m; o++)
    for (size_t j = 0; j < cg; j++)
      for (size_t u = 0; u < kh; u++)
        for (size_t v = 0; v < kw; v++)
          w[((o * cin + (o / mg) * cg + j) * eh + u * dh) * ew + v * dw] =
              wt->f[((o * cg + j) * kh + u) * kw + v];
bias:
  if (!b) return LSP_OK;
  const lsp_onnx_tensor *bt =
      on->ninputs == 3 ? lsp_onnx_find_init(om, on->inputs[2])
      : s->add         ? lsp_onnx_arith_const(om, s->add, NULL, NULL)
                       : NULL; /* a head's: none */
  for (size_t o = 0; o < m; o++) b[o] = bt ? chan(bt, o) : 0.0f;
  return LSP_OK;
}

static int fill_dense(const lsp_onnx_model *om, const lsp_onnx_source *s,
                      const lsp_node *nd, float *w, float *b) {
  const lsp_onnx_node *on = s->on;
  const lsp_onnx_tensor *bt = lsp_onnx_find_init(om, on->inputs[1]);
  size_t in = lsp_shape_size(nd->ishape), out = nd->a.units;
  int gemm = on->op == LSP_ONNX_GEMM, tb = gemm && on->trans_b;
  float alpha = gemm ? on->alpha : 1.0f, beta = gemm ? on->beta : 1.0f;
  for (size_t o = 0; o < out; o++)
    for (size_t k = 0; k < in; k++) {
      float v = tb ? bt->f[o * in + k] : bt->f[k * out + o];
      w[o * in + k] = alpha == 1.0f ? v : alpha * v;
    }
  if (!b) return LSP_OK;
  const lsp_onnx_tensor *ct = NULL;
  if (on->ninputs == 3) {
    ct = lsp_onnx_find_init(om, on->inputs[2]);
  } else if (s->add) {
    ct = lsp_onnx_arith_const(om, s->add, NULL, NULL);
    beta = 1.0f;
  }
  for (size_t o = 0; o < out; o++) {
    float v = ct ? chan(ct, o) : 0.0f;
    b[o] = beta == 1.0f ? v : beta * v;
  }
  return LSP_OK;
}

int lsp_onnx_fill_model(const lsp_onnx_model *om, const char *path,
                        lsp_model *m, const lsp_onnx_source *src,
                        long tail_dense, const size_t *tail, size_t ntail) {
  for (size_t i = 0; i < m->nnodes; i++) {
    const lsp_node *nd = &m->nodes[i];
    const lsp_onnx_source *s = &src[i];
    if (!s->on || s->helper) continue; /* the probe; helpers */
    float *w = NULL, *b = NULL, *st1 = NULL, *st2 = NULL;
    int st = LSP_OK;
    switch (nd->op) {
      case LSP_OP_CONV:
      case LSP_OP_DENSE:
        lsp_model_tensor(m, i, "weight", &w, NULL, NULL);
        if (nd->a.bias) lsp_model_tensor(m, i, "bias", &b, NULL, NULL);
        if (s->identity) { /* after pooled class maps: I·z + 0 */
          size_t k = nd->a.units;
          memset(w, 0, k * k * sizeof *w);
          for (size_t j = 0; j < k; j++) w[j * k + j] = 1.0f;
          if (b) memset(b, 0, k * sizeof *b);
          break;
        }
        /* a dense layer from a Conv: a 1×1 head's classifier (K × C) */
        st = s->on->op == LSP_ONNX_CONV ? fill_conv(om, s, nd, w, b)
                                        : fill_dense(om, s, nd, w, b);
        if (!st && tail_dense >= 0 && s->on == &om->nodes[tail_dense])
          st = lsp_onnx_fold_tail(om, path, tail, ntail,
                                  lsp_shape_size(nd->ishape), nd->a.units, w, b);
        break;
      case LSP_OP_BN:
        lsp_model_tensor(m, i, "weight", &w, NULL, NULL);
        lsp_model_tensor(m, i, "bias", &b, NULL, NULL);
        lsp_model_tensor(m, i, "running_mean", &st1, NULL, NULL);
        lsp_model_tensor(m, i, "running_var", &st2, NULL, NULL);
        for (int j = 1; j < 5; j++) {
          const lsp_onnx_tensor *t = lsp_onnx_find_init(om, s->on->inputs[j]);
          float *dst = j == 1 ? w : j == 2 ? b : j == 3 ? st1 : st2;
          memcpy(dst, t->f, nd->shape.c * sizeof *dst);
        }
        break;
      case LSP_OP_NORMALIZE:
        lsp_model_tensor(m, i, "mean", &st1, NULL, NULL);
        lsp_model_tensor(m, i, "std", &st2, NULL, NULL);
        st = lsp_onnx_fill_norm(om, path, s->on, s->div, nd->shape.c, st1,
                                st2);
        break;
      default:
        break;
    }
    if (st) return st;
  }
  return LSP_OK;
}
