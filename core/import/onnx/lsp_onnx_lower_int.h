/* lsp_onnx_lower_int.h — the lowering's state (lsp_onnx_lower.c), shared
 * with the files that take a part of it: `--features` (lsp_onnx_features.c).
 * Internal to core/import/onnx. */
#ifndef LSP_ONNX_LOWER_INT_H
#define LSP_ONNX_LOWER_INT_H

#include "core/import/onnx/lsp_onnx_int.h"

typedef struct {
  const lsp_onnx_model *om;
  const char *path;
  const lsp_onnx_lower_opts *o;
  lsp_model *m;
  lsp_onnx_map val;  /* value name -> 1 + lsp node (0: the input)      */
  lsp_onnx_map prod; /* value name -> producing ONNX node              */
  size_t *uses;      /* per ONNX node: consumers of its output         */
  int *fold;         /* per ONNX node: 1 = folded into the node before,
                        2 = into the classifier (the logits' tail),
                        3 = a reduction over some spatial axes that the
                        reduction after it completes                   */
  int *bias_from;    /* per ONNX node: the Add folded into it, or -1   */
  lsp_onnx_source *src; /* per lsp node                                */
  size_t nsrc;
  long tail_dense; /* the Gemm/MatMul the logits' affine tail folds into */
  long head_conv, head_pool; /* a 1×1 Conv → average pooling head       */
  int maps; /* pooled class maps are the logits: an identity classifier */
  size_t *tail;    /* the tail's Add/Sub/Mul/Div, from the layer outward */
  size_t ntail;
  int nhwc; /* the graph input is channels-last: lsprobe's input is
               C×H×W, and so are the nodes marked nhwc computed on it */
} lsp_onnx_lctx;

/* The ONNX node producing value `name`, or -1 (the input). */
static inline long lsp_onnx_lower_producer(const lsp_onnx_lctx *c,
                                           const char *name) {
  size_t k;
  return lsp_onnx_map_get(&c->prod, name, &k) ? (long)k : -1;
}

/* The lsp node holding value `name` (LSP_INPUT for the graph input). */
static inline int lsp_onnx_lower_node_of(const lsp_onnx_lctx *c,
                                         const char *name) {
  size_t v = 0;
  lsp_onnx_map_get(&c->val, name, &v);
  return (int)v - 1;
}

/* --features NAME (the model lowered): an ONNX value, an ONNX node (its
 * output) or an lsprobe layer; LSP_EINVAL with the reason otherwise. */
int lsp_onnx_lower_features(lsp_onnx_lctx *c, const char *name);

#endif
