/* lsp_ops.h — the operation table (internal to core/nn).
 *
 * One entry per node kind says everything the rest of the network code
 * needs: its name, its inputs, its attributes (typed, named: files, the
 * spec grammar and the canonical architecture string all use this list),
 * shape inference, its tensors (names, shapes, trainable or state),
 * initialization, FLOPs, scratch memory, forward and backward. Adding a
 * layer kind is one entry in lsp_ops.c. */
#ifndef LSP_OPS_H
#define LSP_OPS_H

#include <gsl/gsl_rng.h>
#include <stddef.h>

#include "core/nn/layers/lsp_pad.h"
#include "core/nn/layers/lsp_pool.h"
#include "core/nn/lsp_model.h"

typedef enum {
  LSP_ATTR_SIZE = 1,
  LSP_ATTR_FLAG = 2,
  LSP_ATTR_REAL = 3
} lsp_attr_type;

/* An attribute: its name, type and place in lsp_attrs. */
typedef struct {
  const char *name;
  lsp_attr_type type;
  size_t off; /* offsetof(lsp_attrs, field): size_t, int or double */
  int inf_ok; /* a real that may be ±∞ (clip's missing bound)      */
} lsp_attr_def;

#define LSP_TENSOR_MAXDIM 4
#define LSP_OP_MAXTENSORS 4

/* A tensor of a node: its name, dimensions, and whether it is trainable
 * (in params) or state (in state). Tensors are laid out in the order the
 * entry lists them, trainable ones in params, state ones in state. */
typedef struct {
  const char *name;
  int state;
  int ndim;
  size_t dims[LSP_TENSOR_MAXDIM];
} lsp_tensor_def;

/* Everything a forward or backward call of one node sees. */
typedef struct {
  const lsp_model *m;
  const lsp_node *nd;
  size_t n;             /* rows of this call                                 */
  const float *x0, *x1; /* inputs (x1: the second input of add)              */
  float *y;             /* forward: output                                  */
  const float *yv;      /* backward: the forward's output                   */
  const float *dy;      /* backward: gradient w.r.t. the output             */
  float *dx0, *dx1;     /* backward: input gradients (overwritten), or NULL  */
  float *dp;            /* backward: parameter gradients (grads + p_off), or
                           NULL when not wanted                              */
  float *scratch;       /* the node's scratch (entry's scratch() floats)     */
  double *sync;         /* sync nodes: the four blocks (below)                */
  size_t n_total;       /* sync nodes: rows of the whole batch (all shares)  */
  int train;            /* training mode (batch statistics)                  */
  int dp_zero;          /* backward: dp holds zeros on entry, so an op may add
                           its gradient to dp instead of overwriting it (the
                           same values without a zeroing pass)               */
} lsp_op_call;

/* Per sync node (batch norm) a workspace keeps four blocks of
 * sync_size() doubles, back to back: the forward part, the stat (mean,
 * 1/std), the backward part and the backward sums. */
enum {
  LSP_SYNC_PART = 0,
  LSP_SYNC_STAT = 1,
  LSP_SYNC_BPART = 2,
  LSP_SYNC_SUMS = 3
};

typedef struct {
  const char *name;
  int nin;                   /* 1, or 2 (add, mul, concat)                  */
  const lsp_attr_def *attrs; /* NULL-terminated by name                     */
  /* Check the attributes against the input shapes in[0..nin), set *out; on
   * error write the reason into why (len bytes) and return LSP_EINVAL. */
  int (*infer)(const lsp_attrs *a, const lsp_shape *in, lsp_shape *out,
               char *why, size_t len);
  /* The node's tensors into t[LSP_OP_MAXTENSORS]; returns their count. */
  int (*tensors)(const lsp_node *nd, lsp_tensor_def *t);
  /* PyTorch's default initialization of trainable tensors p and state s
   * (NULL-able when the node has none); drawing from r in a fixed order. */
  void (*init)(const lsp_node *nd, float *p, float *s, gsl_rng *r);
  /* Check loaded or given tensor values beyond finiteness (NULL: none);
   * LSP_EINVAL with the reason in why. */
  int (*check)(const lsp_node *nd, const float *p, const float *s, char *why,
               size_t len);
  /* FLOPs of one example's forward. */
  double (*flops)(const lsp_node *nd);
  /* Scratch floats for n rows (NULL: none). */
  size_t (*scratch)(const lsp_node *nd, size_t n);
  /* The state tensors are constants given when the model is built (part of
   * the architecture, as normalization's), not statistics it learns. */
  int const_state;
  /* Output shares its input's buffer (flatten). */
  int alias;
  /* Training mode uses batch statistics: forward and backward stop at the
   * node for a combine over the shares (batch norm). */
  int sync;
  void (*forward)(const lsp_op_call *c);
  void (*backward)(const lsp_op_call *c);
  /* Structure of one example's dependence (lsp_model_read_mask): given
   * `out` (a flag per output element, nonzero: some logit depends on it),
   * write into in0 (and in1 for add) a flag per input element, nonzero
   * where some flagged output element reads it, whatever the weights and
   * the input. NULL: every input element counts as read. */
  void (*reads)(const lsp_node *nd, const float *out, float *in0, float *in1);
  /* Training-mode phases of sync entries. Forward: part on each share,
   * combine the shares' parts (parts: share s at s·sync_size; counts: its
   * rows) into stat, updating the state tensors s once; apply on each share.
   * Backward likewise (bwd_part also writes the share's parameter gradients
   * when c->dp is set). */
  size_t (*sync_size)(const lsp_node *nd);
  void (*fwd_part)(const lsp_op_call *c);
  int (*fwd_combine)(const lsp_node *nd, const double *parts,
                     const size_t *counts, size_t nshares, double *stat,
                     float *s);
  void (*fwd_apply)(const lsp_op_call *c);
  void (*bwd_part)(const lsp_op_call *c);
  void (*bwd_combine)(const lsp_node *nd, const double *parts, size_t nshares,
                      double *sums);
  void (*bwd_apply)(const lsp_op_call *c);
} lsp_op_def;

/* The entry of a kind, NULL when op is not a kind. */
const lsp_op_def *lsp_op_get(lsp_op op);
/* The kind named `name` (length len), 0 if none. */
lsp_op lsp_op_by_name(const char *name, size_t len);

/* Value of an attribute in a, as a double / into a (no checking). */
double lsp_attr_get(const lsp_attrs *a, const lsp_attr_def *d);
void lsp_attr_set(lsp_attrs *a, const lsp_attr_def *d, double v);
/* Whether an attribute is optional: left out of .lspm files and of the
 * architecture string when it holds 1, its default, and 1 when a file does
 * not give it (conv's groups, so that dense convolutions keep the bytes and
 * cache keys they had before groups existed). */
int lsp_attr_optional(const lsp_attr_def *d);
/* An optional attribute at its default: written nowhere. */
int lsp_attr_omitted(const lsp_attrs *a, const lsp_attr_def *d);

/* Elements of a tensor definition. */
size_t lsp_tensor_count(const lsp_tensor_def *t);

/* The general kinds ONNX models need (lsp_ops_general.c): pad, reshape and
 * the general pool; their attribute lists and calls for the table. */
extern const lsp_attr_def lsp_pad_attrs[], lsp_reshape_attrs[],
    lsp_gpool_attrs[];
int lsp_pad_infer(const lsp_attrs *a, const lsp_shape *in, lsp_shape *out,
                  char *why, size_t len);
void lsp_pad_fwd(const lsp_op_call *c);
void lsp_pad_bwd(const lsp_op_call *c);
int lsp_reshape_infer(const lsp_attrs *a, const lsp_shape *in, lsp_shape *out,
                      char *why, size_t len);
int lsp_gpool_infer(const lsp_attrs *a, const lsp_shape *in, lsp_shape *out,
                    char *why, size_t len);
void lsp_gpool_fwd(const lsp_op_call *c);
void lsp_gpool_bwd(const lsp_op_call *c);

/* The two-input kinds mul and concat (lsp_ops_graph.c). */
int lsp_mul_infer(const lsp_attrs *a, const lsp_shape *in, lsp_shape *out,
                  char *why, size_t len);
void lsp_mul_fwd(const lsp_op_call *c);
void lsp_mul_bwd(const lsp_op_call *c);
void lsp_reads_mul(const lsp_node *nd, const float *out, float *in0,
                   float *in1);
int lsp_concat_infer(const lsp_attrs *a, const lsp_shape *in, lsp_shape *out,
                     char *why, size_t len);
void lsp_concat_fwd(const lsp_op_call *c);
void lsp_concat_bwd(const lsp_op_call *c);
void lsp_reads_concat(const lsp_node *nd, const float *out, float *in0,
                      float *in1);

/* Global max pooling (lsp_ops_gmp.c); its read rule is gap's (every pixel
 * of a channel may be its maximum). */
int lsp_gmp_infer(const lsp_attrs *a, const lsp_shape *in, lsp_shape *out,
                  char *why, size_t len);
double lsp_gmp_flops(const lsp_node *nd);
void lsp_gmp_fwd(const lsp_op_call *c);
void lsp_gmp_bwd(const lsp_op_call *c);
#define LSP_GMP_ENTRY                                                     \
  {.name = "gmp", .nin = 1, .attrs = lsp_act_attrs_none,                  \
   .infer = lsp_gmp_infer, .tensors = lsp_act_tensors,                    \
   .flops = lsp_gmp_flops, .forward = lsp_gmp_fwd,                        \
   .backward = lsp_gmp_bwd, .reads = lsp_reads_gap}

/* A permutation of one example's axes (lsp_ops_transpose.c).
 * lsp_transpose_axes: the digits of a perm code into p[3] (the input axis
 * of each output axis); 0 unless they are a permutation of 0, 1, 2, and p
 * is then the identity. */
int lsp_transpose_axes(size_t perm, size_t p[3]);
extern const lsp_attr_def lsp_transpose_attrs[];
int lsp_transpose_infer(const lsp_attrs *a, const lsp_shape *in,
                        lsp_shape *out, char *why, size_t len);
double lsp_transpose_flops(const lsp_node *nd);
void lsp_transpose_fwd(const lsp_op_call *c);
void lsp_transpose_bwd(const lsp_op_call *c);
void lsp_reads_transpose(const lsp_node *nd, const float *out, float *in0,
                         float *in1);
#define LSP_TRANSPOSE_ENTRY                                                 \
  {.name = "transpose", .nin = 1, .attrs = lsp_transpose_attrs,             \
   .infer = lsp_transpose_infer, .tensors = lsp_act_tensors,                \
   .flops = lsp_transpose_flops, .forward = lsp_transpose_fwd,              \
   .backward = lsp_transpose_bwd, .reads = lsp_reads_transpose}

/* A node's geometry, its output size included: maxpool and avgpool
 * (lsp_ops.c), the general pool and pad (lsp_ops_general.c). */
lsp_pool2d_geom lsp_pool_geom_of(const lsp_node *nd);
lsp_pool2d_geom lsp_gpool_geom_of(const lsp_node *nd);
lsp_pad2d_geom lsp_pad_geom_of(const lsp_node *nd);

/* Batch normalization (lsp_ops_bn.c): its calls and the table entry. */
extern const lsp_attr_def lsp_bn_attrs[];
int lsp_bn_infer(const lsp_attrs *a, const lsp_shape *in, lsp_shape *out,
                 char *w, size_t len);
int lsp_bn_tensors(const lsp_node *nd, lsp_tensor_def *t);
void lsp_bn_init(const lsp_node *nd, float *p, float *s, gsl_rng *r);
int lsp_bn_check(const lsp_node *nd, const float *p, const float *s, char *w,
                 size_t len);
double lsp_bn_flops(const lsp_node *nd);
size_t lsp_bn_sync_size(const lsp_node *nd);
void lsp_bn_fwd(const lsp_op_call *c);
void lsp_bn_bwd(const lsp_op_call *c);
void lsp_bn_fwd_part(const lsp_op_call *c);
int lsp_bn_fwd_combine(const lsp_node *nd, const double *parts,
                       const size_t *counts, size_t ns, double *stat, float *s);
void lsp_bn_fwd_apply(const lsp_op_call *c);
void lsp_bn_bwd_part(const lsp_op_call *c);
void lsp_bn_bwd_combine(const lsp_node *nd, const double *parts, size_t ns,
                        double *sums);
void lsp_bn_bwd_apply(const lsp_op_call *c);
#define LSP_BN_ENTRY                                                        \
  {.name = "bn", .nin = 1, .attrs = lsp_bn_attrs, .infer = lsp_bn_infer,    \
   .tensors = lsp_bn_tensors, .init = lsp_bn_init, .check = lsp_bn_check,   \
   .flops = lsp_bn_flops, .sync = 1, .forward = lsp_bn_fwd,                 \
   .backward = lsp_bn_bwd, .sync_size = lsp_bn_sync_size,                   \
   .fwd_part = lsp_bn_fwd_part, .fwd_combine = lsp_bn_fwd_combine,          \
   .fwd_apply = lsp_bn_fwd_apply, .bwd_part = lsp_bn_bwd_part,              \
   .bwd_combine = lsp_bn_bwd_combine, .bwd_apply = lsp_bn_bwd_apply,        \
   .reads = lsp_reads_same}

/* The element-wise activations (lsp_ops_act.c): one entry each, the same
 * calls, the kind read from the node. */
extern const lsp_attr_def lsp_act_attrs_none[], lsp_act_attrs_alpha[],
    lsp_act_attrs_selu[], lsp_act_attrs_clip[], lsp_act_attrs_hsig[],
    lsp_act_attrs_gelu[];
int lsp_act_infer(const lsp_attrs *a, const lsp_shape *in, lsp_shape *out,
                  char *why, size_t len);
int lsp_act_tensors(const lsp_node *nd, lsp_tensor_def *t);
double lsp_act_flops(const lsp_node *nd);
void lsp_act_fwd(const lsp_op_call *c);
void lsp_act_bwd(const lsp_op_call *c);
/* The defaults of ONNX (and PyTorch) for the activations' attributes. */
void lsp_act_defaults(lsp_op op, lsp_attrs *a);
#define LSP_ACT_ENTRY(nm, at)                                             \
  {.name = nm, .nin = 1, .attrs = at, .infer = lsp_act_infer,             \
   .tensors = lsp_act_tensors, .flops = lsp_act_flops,                    \
   .forward = lsp_act_fwd, .backward = lsp_act_bwd, .reads = lsp_reads_same}
#define LSP_ACT_ENTRIES                                                   \
  [LSP_OP_SIGMOID] = LSP_ACT_ENTRY("sigmoid", lsp_act_attrs_none),        \
  [LSP_OP_TANH] = LSP_ACT_ENTRY("tanh", lsp_act_attrs_none),              \
  [LSP_OP_LEAKYRELU] = LSP_ACT_ENTRY("leakyrelu", lsp_act_attrs_alpha),   \
  [LSP_OP_ELU] = LSP_ACT_ENTRY("elu", lsp_act_attrs_alpha),               \
  [LSP_OP_SELU] = LSP_ACT_ENTRY("selu", lsp_act_attrs_selu),              \
  [LSP_OP_CLIP] = LSP_ACT_ENTRY("clip", lsp_act_attrs_clip),              \
  [LSP_OP_HARDSIGMOID] = LSP_ACT_ENTRY("hardsigmoid", lsp_act_attrs_hsig),\
  [LSP_OP_HARDSWISH] = LSP_ACT_ENTRY("hardswish", lsp_act_attrs_none),    \
  [LSP_OP_SOFTPLUS] = LSP_ACT_ENTRY("softplus", lsp_act_attrs_none),      \
  [LSP_OP_ERF] = LSP_ACT_ENTRY("erf", lsp_act_attrs_none),                \
  [LSP_OP_GELU] = LSP_ACT_ENTRY("gelu", lsp_act_attrs_gelu)

/* The table's `reads` entries (lsp_model_reads.c). */
void lsp_reads_same(const lsp_node *nd, const float *out, float *in0,
                    float *in1);
void lsp_reads_dense(const lsp_node *nd, const float *out, float *in0,
                     float *in1);
void lsp_reads_conv(const lsp_node *nd, const float *out, float *in0,
                    float *in1);
void lsp_reads_pool(const lsp_node *nd, const float *out, float *in0,
                    float *in1);
void lsp_reads_gpool(const lsp_node *nd, const float *out, float *in0,
                     float *in1);
void lsp_reads_gap(const lsp_node *nd, const float *out, float *in0,
                   float *in1);
void lsp_reads_pad(const lsp_node *nd, const float *out, float *in0,
                   float *in1);

#endif
