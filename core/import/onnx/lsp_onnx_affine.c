/* lsp_onnx_affine.c — constant affine maps of the ONNX lowering
 * (docs/DESIGN.md §3, "Lowering"): an input normalization from Add, Sub,
 * Mul or Div by a per-channel constant, and a chain of them after the last
 * Gemm or MatMul folded into the classifier's weights and bias. */
#include <float.h>
#include <math.h>

#include "core/base/lsp_error.h"
#include "core/import/onnx/lsp_onnx_int.h"

const lsp_onnx_tensor *lsp_onnx_arith_const(const lsp_onnx_model *om,
                                            const lsp_onnx_node *nd, int *first,
                                            int *value_slot) {
  for (int j = 0; j < 2; j++) {
    const lsp_onnx_tensor *t = lsp_onnx_find_init(om, nd->inputs[j]);
    if (t) {
      if (first) *first = j == 0;
      if (value_slot) *value_slot = 1 - j;
      return t;
    }
  }
  return NULL;
}

/* Channel ch of a constant that broadcasts along the channels only. */
static float chan(const lsp_onnx_tensor *t, size_t ch) {
  return t->count == 1 ? t->f[0] : t->f[ch];
}

/* The logits' tail folded into the classifier's weights w [out × in] and
 * bias b [out]: per output unit, the chain is y ↦ a·y + t (composed in
 * double), so w' = a·w and b' = a·b + t. */
int lsp_onnx_fold_tail(const lsp_onnx_model *om, const char *path,
                       const size_t *tail, size_t ntail, size_t in, size_t out,
                       float *w, float *b) {
  for (size_t o = 0; o < out; o++) {
    double a = 1.0, t = 0.0;
    for (size_t i = 0; i < ntail; i++) {
      const lsp_onnx_node *nd = &om->nodes[tail[i]];
      int first = 0;
      const lsp_onnx_tensor *ct = lsp_onnx_arith_const(om, nd, &first, NULL);
      if (ct->count != 1 && ct->count != out)
        return lsp_onnx_node_fail(
            path, nd,
            "constant '%s' has %zu values; folding it into the classifier "
            "needs one or one per class (%zu)",
            ct->name, ct->count, out);
      double v = (double)chan(ct, o);
      switch (nd->op) {
        case LSP_ONNX_ADD:
          t += v;
          break;
        case LSP_ONNX_SUB: /* y − v, or v − y */
          if (first)
            a = -a, t = v - t;
          else
            t -= v;
          break;
        case LSP_ONNX_MUL:
          a *= v, t *= v;
          break;
        default: /* y / v */
          if (v == 0.0 || !isfinite(v))
            return lsp_onnx_node_fail(
                path, nd,
                "divides the logits of class %zu by %g: folding it into "
                "the classifier needs a finite, non-zero divisor",
                o, v);
          a /= v, t /= v;
      }
    }
    for (size_t k = 0; k < in; k++) w[o * in + k] = (float)(a * w[o * in + k]);
    b[o] = (float)(a * b[o] + t);
    int ok = isfinite(b[o]);
    for (size_t k = 0; ok && k < in; k++) ok = isfinite(w[o * in + k]);
    if (!ok)
      return lsp_onnx_node_fail(path, &om->nodes[tail[ntail - 1]],
                                "folded into the classifier, it takes the "
                                "weights or bias of class %zu "
                                "outside float32's finite range",
                                o);
  }
  return LSP_OK;
}

/* (x − mean)/std from Add, Sub, Mul or Div by a constant, or a Sub and the
 * Div fused after it. */
int lsp_onnx_fill_norm(const lsp_onnx_model *om, const char *path,
                       const lsp_onnx_node *on, const lsp_onnx_node *div,
                       size_t ch, float *mean, float *sd) {
  int first = 0;
  const lsp_onnx_tensor *t = lsp_onnx_arith_const(om, on, &first, NULL);
  const lsp_onnx_tensor *d =
      div ? lsp_onnx_arith_const(om, div, NULL, NULL) : NULL;
  for (size_t k = 0; k < ch; k++) {
    float v = chan(t, k), m = 0.0f, sdev = 1.0f;
    switch (on->op) {
      case LSP_ONNX_ADD: /* x + v */
        m = -v;
        break;
      case LSP_ONNX_SUB: /* x − v, or v − x = (x − v)·(−1) */
        m = v;
        sdev = first ? -1.0f : 1.0f;
        break;
      case LSP_ONNX_MUL: /* x·v = x / (1/v) */
        if (v == 0.0f)
          return lsp_onnx_node_fail(path, on, "multiplies channel %zu by 0", k);
        sdev = (float)(1.0 / (double)v);
        break;
      default: /* x / v */
        sdev = v;
    }
    if (d) sdev *= chan(d, k);
    if (!(fabsf(sdev) >= FLT_MIN) || !isfinite(sdev)) {
      if (on->op == LSP_ONNX_MUL && !d) /* the file's multiplier, not 1/v */
        return lsp_onnx_node_fail(
            path, on,
            "multiplies channel %zu by %g: lsprobe's normalization "
            "divides by its reciprocal, %g, which is not a finite, normal "
            "float32",
            k, (double)v, 1.0 / (double)v);
      return lsp_onnx_node_fail(
          path, div ? div : on,
          "divides channel %zu by %g: lsprobe's normalization needs a "
          "finite, normal divisor",
          k, d ? (double)chan(d, k) : (double)v);
    }
    mean[k] = m;
    sd[k] = sdev;
  }
  return LSP_OK;
}
