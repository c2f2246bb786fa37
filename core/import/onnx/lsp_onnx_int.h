/* lsp_onnx_int.h — internals shared by the ONNX reader, checker and writer
 * (not for use outside core/import/onnx and its tests). */
#ifndef LSP_ONNX_INT_H
#define LSP_ONNX_INT_H

#include <stddef.h>
#include <stdint.h>

#include "core/import/onnx/lsp_onnx.h"
#include "core/import/onnx/lsp_onnx.pb-c.h"

/* ---- a string -> index map (open addressing; keys are borrowed) -------- */
typedef struct {
  const char **keys; /* borrowed; NULL = empty slot */
  size_t *vals;
  size_t cap; /* power of two */
  size_t n;
} lsp_onnx_map;

int lsp_onnx_map_init(lsp_onnx_map *mp, size_t expected);
void lsp_onnx_map_free(lsp_onnx_map *mp);
/* Insert key -> val. Returns 0, 1 when the key exists (*old set to its
 * value, nothing changed), or -1 on allocation failure. */
int lsp_onnx_map_put(lsp_onnx_map *mp, const char *key, size_t val,
                     size_t *old);
/* 1 and *val when found, else 0. */
int lsp_onnx_map_get(const lsp_onnx_map *mp, const char *key, size_t *val);

/* ---- protobuf-c memory ---------------------------------------------------
 * protobuf-c allocates the unpacked tree through this allocator, which
 * counts live and peak bytes and refuses to go past `limit` (a protobuf can
 * ask for far more memory than its own size: many empty sub-messages). */
typedef struct {
  size_t live, peak, limit;
} lsp_onnx_pbmem;

/* Unpack a ModelProto / TensorProto. NULL when the bytes are not a valid
 * protobuf of that message or the memory limit was reached (mem->peak then
 * tells which). Free with lsp_onnx_pb_free and the same mem. */
LspOnnx__ModelProto *lsp_onnx_pb_model(const uint8_t *buf, size_t len,
                                       lsp_onnx_pbmem *mem);
LspOnnx__TensorProto *lsp_onnx_pb_tensor(const uint8_t *buf, size_t len,
                                         lsp_onnx_pbmem *mem);
void lsp_onnx_pb_free(ProtobufCMessage *msg, lsp_onnx_pbmem *mem);

/* The protobuf-c memory limit for `len` input bytes. */
size_t lsp_onnx_pb_limit(size_t len);

/* A TensorProto as an lsp_onnx_tensor (float32 or int64 only; external
 * data, segments and sizes that disagree with dims are refused). `what`
 * prefixes the reason ("<file>: initializer 'w'"). `finite`: refuse NaN and
 * ±Inf, except -Inf as the only value (Pad's constant_value before a max
 * pooling). */
int lsp_onnx_tensor_from_pb(const LspOnnx__TensorProto *tp, const char *what,
                            int finite, lsp_onnx_tensor *out);

/* The graph input's type: float32, rank 2 or 4, the batch dimension fixed
 * or symbolic (-1), the others fixed. */
int lsp_onnx_input_shape(const LspOnnx__ValueInfoProto *vi, const char *path,
                         lsp_onnx_shape *sh);
/* The graph output's declared shape, when it has one, against the computed
 * one (the batch dimension is not compared). */
int lsp_onnx_output_shape(const LspOnnx__ValueInfoProto *vo, const char *path,
                          const lsp_onnx_shape *got);

/* The TensorProto.DataType name of a number ("float64" style; "type 99"). */
const char *lsp_onnx_dtype_name(int32_t dt, char *buf, size_t len);

/* Deep copy of a tensor (name included). */
int lsp_onnx_tensor_copy(const lsp_onnx_tensor *src, lsp_onnx_tensor *dst);

/* ---- small helpers --------------------------------------------------------*/
char *lsp_onnx_strdup(const char *s); /* NULL -> "" copy; NULL on ENOMEM */

/* The label a node has in messages: its name, or "#<index>" without one. */
const char *lsp_onnx_node_label(const char *name, size_t index, char *buf,
                                size_t len);
/* The op node nd has in the file: its op's name, or for a Reshape read
 * from a Squeeze, Gather or Slice that op's (messages). */
const char *lsp_onnx_node_op(const lsp_onnx_node *nd);
/* "<path>: node '<label>' (<op>)" into buf (the prefix of node messages). */
void lsp_onnx_where(char *buf, size_t len, const char *path, const char *name,
                    size_t index, const char *op);
/* LSP_EDATA with the reason "<path>: node '<label>' (<op>): <message>" for
 * node nd (the errors of the checker, the lowering and the shape rules). */
int lsp_onnx_node_fail(const char *path, const lsp_onnx_node *nd,
                       const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Remove the model's last node (the reader drops an all-zero Pad). */
void lsp_onnx_drop_last_node(lsp_onnx_model *m);

/* Upper bounds that keep every size computation far from overflow. */
#define LSP_ONNX_MAX_DIM ((int64_t)1 << 24)   /* one dimension        */
#define LSP_ONNX_MAX_COUNT ((int64_t)1 << 31) /* elements in a tensor */
#define LSP_ONNX_MAX_ACT ((int64_t)1 << 28)   /* one example's value  */

/* ---- the reader's per-node attribute parsing (lsp_onnx_attr.c) -----------
 * Fill the typed attributes of `nd` from the attributes of `pn` (op already
 * known), refusing unknown attributes, wrong types, attributes the model's
 * opset does not have, and unsupported values. `where` is the "<file>:
 * node '<name>' (<op>)" prefix for messages. What does not go into the node
 * directly comes back in *ex. */
typedef struct {
  int allowzero;      /* Reshape (0 when absent)                        */
  int broadcast;      /* opsets <= 6: Add/Sub/Mul/Div/Gemm broadcast    */
  int has_bcast_axis; /* opsets <= 6: Add/Sub/Mul/Div axis              */
  int64_t bcast_axis;
  int has_list; /* opsets <= 10: Pad's pads (or opset 1's
                   paddings); opsets <= 4: Reshape's shape        */
  int64_t list[8];
  size_t nlist;
  int has_value; /* opsets <= 10: Pad's value                      */
  float value;
  int has_noop_empty; /* opsets >= 18: ReduceMean's noop_with_empty_axes */
  int noop_empty;
} lsp_onnx_attr_extra;
int lsp_onnx_parse_attrs(const LspOnnx__NodeProto *pn, lsp_onnx_node *nd,
                         const char *where, int64_t opset,
                         lsp_onnx_attr_extra *ex);

/* ---- shape inference (lsp_onnx_shape.c) ---------------------------------
 * What a node's inputs are: the shapes of its computed operands (in order)
 * and, per input slot, the initializer it names (NULL for a value). */
typedef struct {
  lsp_onnx_shape shape[LSP_ONNX_MAXIN];
  int nvalues;
  const lsp_onnx_tensor *init[LSP_ONNX_MAXIN];
  const lsp_onnx_tensor *const_arg; /* Add/Sub/Mul/Div: the constant, or NULL */
  int const_first;                  /* ... and it is the first operand */
} lsp_onnx_node_inputs;
/* Set nd->out from the inputs, checking the op's shape rules (and turning
 * auto_pad SAME into pads). LSP_EDATA naming the node. */
int lsp_onnx_infer(const char *path, lsp_onnx_node *nd,
                   const lsp_onnx_node_inputs *in);
/* A Reshape read from a Squeeze, Gather or Slice (nd->pick.pending), on
 * an input of shape x: its target shape set to the dimensions left when
 * it only drops axes of size 1 and keeps every element (lsp_onnx_pick.c);
 * else LSP_EDATA naming the node, the axis and what lsprobe reads. */
int lsp_onnx_pick_place(const char *path, lsp_onnx_node *nd,
                        const lsp_onnx_shape *x);
/* 1 when constant t, broadcast against a value of shape x (numpy rules),
 * varies along the channels (x's dims[1]) at most. */
int lsp_onnx_per_channel(const lsp_onnx_tensor *t, const lsp_onnx_shape *x);

/* Transpose of a computed value (lsp_onnx_transpose.c): its output shape
 * (perm given, a permutation of the input's axes keeping the batch first;
 * LSP_EDATA naming the node otherwise); its perm as lsprobe's `transpose`
 * attribute (the example's axes in output order, three digits: [0, 2, 3,
 * 1] is 120); the permutation `then` applied after `first` as one (both in
 * that form); and whether the graph input is channels-last (every way from
 * it leads through element-wise ops to a Transpose of perm [0, 3, 1, 2]:
 * sets m->nhwc_input and marks those element-wise nodes nhwc). */
int lsp_onnx_transpose_infer(const char *path, const lsp_onnx_node *nd,
                             const lsp_onnx_shape *x, lsp_onnx_shape *y);
size_t lsp_onnx_transpose_code(const lsp_onnx_node *nd);
size_t lsp_onnx_perm_compose(size_t first, size_t then);
/* 1 when constant t varies at most along the last axis of an N×H×W×C
 * value, and there has c values: [C], [1, C], [1, 1, C] or [1, 1, 1, C]
 * (Keras's Normalization), or it is one value. */
int lsp_onnx_last_axis(const lsp_onnx_tensor *t, int64_t c);
int lsp_onnx_mark_nhwc(lsp_onnx_model *m);

/* The value of an int64 constant's element list as "[a, b, ...]" (for
 * messages). */
void lsp_onnx_ints_str(const int64_t *v, size_t n, char *buf, size_t len);

/* ---- lowering (lsp_onnx_lower.c, lsp_onnx_fill.c) -----------------------
 * Where an lsprobe node of a lowered model comes from. */
typedef struct {
  const lsp_onnx_node *on;  /* the ONNX node it computes                  */
  const lsp_onnx_node *add; /* an Add folded in as the bias, or NULL     */
  const lsp_onnx_node *div; /* a Div fused after a Sub (normalize)        */
  int helper;               /* a Pad in front of `on`, a chain's concat  */
  int identity;             /* the identity classifier after class maps  */
} lsp_onnx_source;
/* Fill the tensors of m (laid out by lsp_model_finish) from om's
 * initializers, node i from src[i]; the classifier made from node
 * tail_dense (or −1) takes the affine tail tail[0..ntail). */
int lsp_onnx_fill_model(const lsp_onnx_model *om, const char *path,
                        lsp_model *m, const lsp_onnx_source *src,
                        long tail_dense, const size_t *tail, size_t ntail);

/* ---- pooling at the end of a network (lsp_onnx_head.c) -----------------
 * lsp_onnx_reduces_all: a ReduceMean or ReduceMax (checked) whose output
 * has no spatial extent left. lsp_onnx_partial_reduce: for node k, such a
 * reduction, the reduction over some spatial axes before it (of the same
 * op, read by k alone) that it completes into one global pooling, or -1;
 * lsp_onnx_partial_refuse: LSP_EDATA naming one that nothing completes.
 * lsp_onnx_plan_head: 1 with the nodes of the graph output's 1×1 Conv and
 * its average pooling when they make a head lowered as pooling then a
 * dense classifier (bias_from[p]: the Add folded into node p as its bias,
 * or -1); 0 otherwise. lsp_onnx_plan_maps: 1 when the graph output is
 * a global pooling (average or maximum) of a Conv's maps, directly or
 * through element-wise activations or batch norms (each read once), that
 * lsp_onnx_plan_head did not take: the class maps, pooled, are the logits,
 * and an identity classifier is appended after the pooling. uses:
 * consumers per node. */
int lsp_onnx_reduces_all(const lsp_onnx_node *nd);
long lsp_onnx_partial_reduce(const lsp_onnx_model *om, const size_t *uses,
                             size_t k);
int lsp_onnx_partial_refuse(const char *path, const lsp_onnx_node *nd);
int lsp_onnx_plan_head(const lsp_onnx_model *om, const size_t *uses,
                       const int *bias_from, long *conv, long *pool);
int lsp_onnx_plan_maps(const lsp_onnx_model *om, const size_t *uses,
                       const int *bias_from);

/* ---- constant affine maps (lsp_onnx_affine.c) ---------------------------
 * An Add/Sub/Mul/Div's constant operand (an initializer) and whether it
 * comes first; NULL for two values. */
const lsp_onnx_tensor *lsp_onnx_arith_const(const lsp_onnx_model *om,
                                            const lsp_onnx_node *nd, int *first,
                                            int *value_slot);
/* The per-channel mean and std of the normalization `on` (Add, Sub, Mul or
 * Div by a constant) and `div` (a Div fused after a Sub, or NULL). */
int lsp_onnx_fill_norm(const lsp_onnx_model *om, const char *path,
                       const lsp_onnx_node *on, const lsp_onnx_node *div,
                       size_t ch, float *mean, float *sd);
/* The chain of nodes tail[0..ntail) (Add/Sub/Mul/Div by a constant, from
 * the classifier outward) folded into the classifier's weights w [out ×
 * in] and bias b [out]. LSP_EDATA naming the node for a constant of another
 * size, a zero or non-finite divisor, or weights past float32. */
int lsp_onnx_fold_tail(const lsp_onnx_model *om, const char *path,
                       const size_t *tail, size_t ntail, size_t in, size_t out,
                       float *w, float *b);

/* The element-wise activations (lsp_onnx_act.c). Their attributes'
 * defaults on a new node (Clip's bounds ±inf; every op gets those); the
 * opset each op exists from; the lsprobe kind and attributes of node `on`
 * (0 when it is no activation); the ONNX op of an lsprobe layer (0 when no
 * activation, −1 with the reason in why when its attributes are not
 * float32 values, as ONNX's are) and its attributes onto `on`. */
void lsp_onnx_act_defaults(lsp_onnx_node *nd);
int lsp_onnx_act_since(lsp_onnx_op op);
int lsp_onnx_act_lower(const lsp_onnx_node *on, lsp_op *op, lsp_attrs *a);
int lsp_onnx_act_export(const lsp_node *nd, lsp_onnx_op *op, char *why,
                        size_t len);
void lsp_onnx_act_export_attrs(const lsp_node *nd, lsp_onnx_node *on);
/* The opset the writer gives a description: 13, or the first that has all
 * its ops (14 with HardSwish, 20 with Gelu). */
int64_t lsp_onnx_write_opset(const lsp_onnx_model *m);

#endif
