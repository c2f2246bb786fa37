/* lsp_onnx_read_int.h — the ONNX reader's state, shared by its files:
 * lsp_onnx_read.c (the model, its initializers, inputs and output, the
 * names resolved through the aliases: passes 1, 2 and 5) and
 * lsp_onnx_nodes.c with lsp_onnx_alias.c (the nodes, with Constant and Identity nodes and the
 * int64 constants of Pad and Reshape folded in: passes 3 and 4). Internal
 * to core/import/onnx. */
#ifndef LSP_ONNX_READ_INT_H
#define LSP_ONNX_READ_INT_H

#include "core/import/onnx/lsp_onnx_int.h"

/* The reader's context: the model being built and what passes share. */
typedef struct {
  const char *path;
  lsp_onnx_model *m;
  lsp_onnx_tensor *ints; /* owned: int64 constants */
  size_t nints, cap_ints;
  lsp_onnx_map consts;   /* name -> 2·index (float init) or 2·index+1 (int) */
  lsp_onnx_map produced; /* value name -> index of the node producing it */
  const char **afrom, **ato, **anode; /* aliases, their nodes (borrowed) */
  size_t nalias;
  lsp_onnx_map amap; /* alias name -> index */
  lsp_onnx_map unused; /* initializers no node reads: skipped, not checked */
} lsp_onnx_rctx;

/* LSP_EDATA with the reason "<where>: <message>". */
int lsp_onnx_fail_at(const char *where, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A protobuf string, "" for NULL. */
static inline const char *lsp_onnx_str(const char *s) {
  return s ? s : "";
}

/* A constant (float32 or int64) under tensor->name; ownership moves in
 * (released on failure). `where` prefixes the messages. */
int lsp_onnx_rd_add_const(lsp_onnx_rctx *c, lsp_onnx_tensor *t,
                          const char *where);
/* The constant a (resolved) name refers to, or NULL. */
const lsp_onnx_tensor *lsp_onnx_rd_const(const lsp_onnx_rctx *c,
                                         const char *name);
/* Follow aliases (Identity, all-zero Pad) to the name that holds the value.
 * NULL when they go round in a circle. */
const char *lsp_onnx_rd_resolve(const lsp_onnx_rctx *c, const char *name);
/* `from` names the value `to` holds (both borrowed from the protobuf). */
int lsp_onnx_rd_alias(lsp_onnx_rctx *c, const char *from, const char *to,
                      const char *node);

/* In folded shape arithmetic: the batch size N (from Shape of a value),
 * entry k ≥ 1 of the Shape of a computed value (its dimension k, known by
 * name only while reading: `src` is 1 + the index of the node producing
 * the value, 0 for the graph input), and the element type of Shape's
 * result of a computed value: the four entries [N, d1, d2, d3] of a value
 * whose rank (2 to 4) is not known yet, so that only Gather of a
 * non-negative entry and Slice of entries within the first two (which every
 * value has) read it. Data moves these markers; a Reshape of that same
 * value takes dimension k as its entry k (a copy, 0); anything computing
 * with one (a shape, an index, a bound, a product) refuses it. */
#define LSP_ONNX_BATCH (-(INT64_C(1) << 62) - 0x4c5350) /* no real bound */
#define LSP_ONNX_DIM_BASE (-(INT64_C(1) << 61))
#define LSP_ONNX_DIM(src, k) (LSP_ONNX_DIM_BASE - (int64_t)(src)*8 - (k))
enum { LSP_ONNX_SHAPE_OF = 100, LSP_ONNX_SHAPE_RANK = 4 };
/* 1 for a marker of dimension k ≥ 1 (its src and k set), else 0. */
static inline int lsp_onnx_dim_of(int64_t v, int64_t *src, int *k) {
  if (v >= LSP_ONNX_DIM_BASE || v < LSP_ONNX_DIM_BASE - (INT64_C(1) << 40))
    return 0;
  if (src) *src = (LSP_ONNX_DIM_BASE - v) / 8;
  if (k) *k = (int)((LSP_ONNX_DIM_BASE - v) % 8);
  return 1;
}
/* 1 for N or a dimension marker. */
static inline int lsp_onnx_is_sym(int64_t v) {
  return v == LSP_ONNX_BATCH || lsp_onnx_dim_of(v, NULL, NULL);
}

/* lsp_onnx_fold.c: 1 for the ops folded when every input is an int64
 * constant (ConstantOfShape, Concat, Reshape, Slice, Transpose, Cast,
 * Gather, Unsqueeze, Squeeze; Shape of any value). */
int lsp_onnx_fold_op(const char *op);
/* Node pn as the int64 constant it computes (*done = 1), or nothing done
 * when an input is no int64 constant or the node is outside what is
 * folded (*done = 0). */
int lsp_onnx_rd_fold(lsp_onnx_rctx *c, const LspOnnx__NodeProto *pn,
                     const char *where, int *done);

/* lsp_onnx_pick.c: 1 for Squeeze, Gather and Slice. A node pn of these
 * ops whose data input is a computed value (x.squeeze(-1), x[:, :, 0, 0],
 * x[:, :, 0:1] after a global pooling) as a Reshape whose target the
 * checker sets (lsp_onnx_node.pick): its other inputs (the axes, index,
 * bounds) must be int64 constants, its attributes those of the model's
 * opset; LSP_EDATA naming the node otherwise. */
int lsp_onnx_pick_op(const char *op);
int lsp_onnx_rd_pick(lsp_onnx_rctx *c, const LspOnnx__NodeProto *pn, size_t idx,
                     const char *where);

/* lsp_onnx_transpose.c: a Transpose whose data input is a computed value,
 * as a node with its perm (the checker requires one that keeps the
 * batch). */
int lsp_onnx_rd_transpose(lsp_onnx_rctx *c, const LspOnnx__NodeProto *pn,
                          size_t idx, const char *where);
/* After the names are resolved: a ReduceMean or ReduceMax over axes
 * {1, 2} (keepdims 0) of a Transpose [0, 2, 3, 1] reads the Transpose's
 * input over axes {2, 3} instead (the same N × C). */
int lsp_onnx_rd_reduce_nhwc(lsp_onnx_model *m);

/* lsp_onnx_alias.c: a Constant node as the constant it holds; a Softmax
 * or LogSoftmax over the classes that makes the graph output (op `ot`) as
 * an alias of the logits it reads (*taken = 1; the model's softmax_op and
 * softmax_out say so; *taken = 0 for any other node); a Dropout in
 * inference — opsets <= 6 with is_test = 1, opsets 7-11 (the runtime's
 * mode), from 12 with training_mode absent or a false bool constant — as
 * an alias of its input (ONNX: the output is a copy of the input), its
 * mask output read by no node; in training mode it is refused. */
int lsp_onnx_rd_constant(lsp_onnx_rctx *c, const LspOnnx__NodeProto *pn,
                         const char *where);
int lsp_onnx_rd_softmax(lsp_onnx_rctx *c, const LspOnnx__NodeProto *pn,
                        const char *ot, const char *where, int *taken);
int lsp_onnx_rd_dropout(lsp_onnx_rctx *c, const LspOnnx__GraphProto *g,
                        const LspOnnx__NodeProto *pn, const char *where);

/* Pass 3 (every node's domain, op and outputs) and pass 4 (Constant and
 * Identity nodes first, then the ops with their attributes, Pad's and
 * Reshape's int64 inputs folded in) into c->m (lsp_onnx_nodes.c). */
int lsp_onnx_rd_nodes(lsp_onnx_rctx *c, const LspOnnx__GraphProto *g);

/* An activation's checks while reading (lsp_onnx_act.c): the op exists in
 * the model's opset; Clip's min and max inputs (opsets 11 and later; nin
 * inputs, an empty name for an absent one) are float32 constant scalars,
 * folded into the node. */
int lsp_onnx_act_read(lsp_onnx_rctx *c, const LspOnnx__NodeProto *pn,
                      size_t nin, lsp_onnx_node *nd, const char *where);

#endif
