/* lsp_onnx.h — ONNX models in and out, through a validated description.
 *
 * An ONNX file is read into an lsp_onnx_model: one graph input (N × fixed
 * dims), one output, the nodes in topological order with their typed
 * attributes (defaults filled in) and inferred output shapes, and the float32
 * initializers as owned arrays. Everything lsprobe cannot represent is
 * refused on the way in, with the file, the node and the op named:
 *   "<file>: node '<name>' (<op>): <what>"   (a nameless node is '#<index>')
 *   "<file>: <what>"                         (model- and graph-level faults)
 * so a description that exists is one lsp_onnx_lower turns into an
 * lsp_model. The same description is what the writer turns into an ONNX
 * file (opset 13; 14 with HardSwish, 20 with Gelu); `lsprobe export`
 * builds one from a model
 * (lsp_onnx_from_model) and writes it.
 *
 * Supported (default domain, opsets 1–20, with the attributes of the old
 * opsets): Conv, Gemm, MatMul, Add, Sub, Mul, Div, Relu, the activations
 * Sigmoid, Tanh, LeakyRelu, Elu, Selu, Clip, HardSigmoid, HardSwish,
 * Softplus, Erf and Gelu, MaxPool,
 * AveragePool, GlobalAveragePool, GlobalMaxPool, BatchNormalization
 * (inference), Concat (channels), ReduceMean and ReduceMax (spatial axes),
 * Flatten,
 * Reshape (keeping the batch), Pad (constant, reflect, edge), Constant,
 * Identity, Squeeze, Gather and Slice of a computed value that drop
 * axes of size 1 (read as the Reshape they equal, lsp_onnx_pick.c), and
 * Transpose of a computed value keeping the batch (channels-last models,
 * lsp_onnx_transpose.c), on N × D, N × C × L and N × C × H × W values. A
 * Softmax or LogSoftmax over the classes that makes the graph output is
 * read as the logits it is applied to (softmax_out names it).
 * Constant and Identity are resolved while reading and never appear as nodes;
 * an all-zero Pad is dropped the same way. The accepted attributes and
 * values per op are listed in docs/DESIGN.md §3. */
#ifndef LSP_ONNX_H
#define LSP_ONNX_H

#include <stddef.h>
#include <stdint.h>

#include "core/nn/lsp_model.h"

/* Element types (TensorProto.DataType numbers). Initializers of a model are
 * always float32; int64 tensors appear only as Pad pads / Reshape shapes
 * (folded into the node) and in .pb files; bool ones (held as int64 0 or
 * 1) only as Dropout's training_mode, read while reading. */
enum { LSP_ONNX_FLOAT = 1, LSP_ONNX_INT64 = 7, LSP_ONNX_BOOL = 9 };

#define LSP_ONNX_MAXDIM 8

/* A named tensor. Exactly one of f / i is non-NULL (by dtype). */
typedef struct {
  char *name; /* owned ("" when the file gives none) */
  int dtype;  /* LSP_ONNX_FLOAT, LSP_ONNX_INT64 or LSP_ONNX_BOOL */
  int ndim;   /* 0 (scalar) .. LSP_ONNX_MAXDIM */
  int64_t dims[LSP_ONNX_MAXDIM];
  size_t count; /* product of dims (1 for a scalar), >= 1 */
  float *f;     /* owned: count floats (LSP_ONNX_FLOAT) */
  int64_t *i;   /* owned: count int64 (LSP_ONNX_INT64; BOOL as 0 or 1) */
} lsp_onnx_tensor;

typedef enum {
  LSP_ONNX_CONV = 1,
  LSP_ONNX_GEMM,
  LSP_ONNX_MATMUL,
  LSP_ONNX_ADD,
  LSP_ONNX_RELU,
  LSP_ONNX_MAXPOOL,
  LSP_ONNX_AVGPOOL,
  LSP_ONNX_GLOBALAVGPOOL,
  LSP_ONNX_BATCHNORM,
  LSP_ONNX_FLATTEN,
  LSP_ONNX_RESHAPE,
  LSP_ONNX_PAD,
  LSP_ONNX_SUB,
  LSP_ONNX_MUL,
  LSP_ONNX_DIV,
  LSP_ONNX_CONCAT,
  LSP_ONNX_REDUCEMEAN,
  /* element-wise activations: X only (Clip's min and max folded in) */
  LSP_ONNX_SIGMOID,
  LSP_ONNX_TANH,
  LSP_ONNX_LEAKYRELU,
  LSP_ONNX_ELU,
  LSP_ONNX_SELU,
  LSP_ONNX_CLIP,
  LSP_ONNX_HARDSIGMOID,
  LSP_ONNX_HARDSWISH,
  LSP_ONNX_SOFTPLUS,
  LSP_ONNX_ERF,
  LSP_ONNX_GELU,
  /* global max pooling: X only (ReduceMax's axes folded in) */
  LSP_ONNX_GLOBALMAXPOOL,
  LSP_ONNX_REDUCEMAX,
  /* a permutation of a computed value's axes, the batch kept (perm) */
  LSP_ONNX_TRANSPOSE
} lsp_onnx_op;
#define LSP_ONNX_OP_LAST LSP_ONNX_TRANSPOSE

/* The op of the file a Reshape was read from (lsp_onnx_node.pick.from). */
enum { LSP_ONNX_PICK_SQUEEZE = 1, LSP_ONNX_PICK_GATHER, LSP_ONNX_PICK_SLICE };

/* Pad's modes (the `mode` attribute). */
enum { LSP_ONNX_PAD_CONSTANT = 0, LSP_ONNX_PAD_REFLECT, LSP_ONNX_PAD_EDGE };
/* auto_pad. */
enum {
  LSP_ONNX_AUTO_NOTSET = 0,
  LSP_ONNX_AUTO_VALID,
  LSP_ONNX_AUTO_SAME_UPPER,
  LSP_ONNX_AUTO_SAME_LOWER
};

/* The ONNX op_type of an op ("Conv", ...); "?" for an invalid value. */
const char *lsp_onnx_op_name(lsp_onnx_op op);

/* The shape of a value: rank 2 (N×D), 3 (N×C×L) or 4 (N×C×H×W). dims[0]
 * is the batch: a fixed N, or -1 when the file leaves it symbolic. */
typedef struct {
  int rank;
  int64_t dims[4];
} lsp_onnx_shape;

#define LSP_ONNX_MAXIN 16

/* One node. inputs[0] is the value the op transforms (both operands for
 * Add); the rest name initializers, in ONNX order:
 *   Conv      X, W [M,C,kH,kW], B [M] (optional)
 *   Gemm      A, B ([M,K] if trans_b else [K,M]), C ([M], [1,M], [1] or
 *             scalar; optional);  Y = alpha·A·op(B) + beta·C
 *   MatMul    A, B [K,M]
 *   Add, Mul  two values of equal shape, or a value and an initializer
 *             that varies along the channels only (numpy broadcasting:
 *             [D], [1,D] on N×D; [C,1,1], [1,C,1,1] on N×C×H×W; any
 *             scalar-like [], [1], [1,1,1]), in either order
 *   Sub       a value and such an initializer, in either order
 *   Div       a value divided by such an initializer
 *   BatchNormalization  X, scale, B, mean, var (each [C])
 *   Concat    1 to LSP_ONNX_MAXIN values (along the channels)
 *   others    X only (Pad's pads and Reshape's shape are folded in below). */
typedef struct {
  lsp_onnx_op op;
  char *name; /* owned; "" when the file gives none */
  int ninputs;
  char *inputs[LSP_ONNX_MAXIN]; /* owned */
  char *output;                 /* owned */
  /* attributes, defaults filled in; each applies to the ops named. The
   * spatial ones are stored 2-D: on an N×C×L input (1-D) the second axis
   * is 1 wide (kernel {k, 1}, strides {s, 1}, pads {begin, 0, end, 0}) */
  int64_t kernel[2];     /* Conv (= W's kH, kW), MaxPool, AveragePool */
  int64_t strides[2];    /* Conv, MaxPool, AveragePool (default 1, 1) */
  int64_t pads[4];       /* Conv, pools, Pad: top, left, bottom, right */
  int64_t dilations[2];  /* Conv, MaxPool (default 1, 1) */
  int64_t group;         /* Conv (default 1) */
  int ceil_mode;         /* MaxPool, AveragePool (default 0) */
  int auto_pad;          /* Conv, pools: LSP_ONNX_AUTO_* as read; the checker
                            turns SAME_* into explicit pads and this into
                            LSP_ONNX_AUTO_NOTSET */
  int nspatial;          /* spatial values the attributes gave (1 or 2; 0
                            when none), checked against the input's rank */
  int count_include_pad; /* AveragePool (default 0) */
  float alpha, beta;     /* Gemm (default 1, 1); LeakyRelu, Elu, Selu,
                            HardSigmoid: alpha (and beta) with ONNX's
                            defaults (lsp_onnx_act.c) */
  float gamma;           /* Selu */
  float clip_lo, clip_hi; /* Clip: the bounds, ±inf when absent */
  int approximate;       /* Gelu: 0 "none", 1 "tanh" */
  int trans_b;           /* Gemm (default 0) */
  float epsilon;         /* BatchNormalization (default 1e-5) */
  int64_t shape[4];      /* Reshape: the target as written (0 copies the
                            input's dimension, -1 is inferred); its first
                            entry must keep the batch */
  int shape_rank;        /* Reshape: entries of shape (2 to 4) */
  int64_t axis;          /* Flatten: 1, or 1 − rank (default 1); Concat:
                            as written (the checker accepts 1 or 1 − rank) */
  int64_t axes[4];       /* ReduceMean, ReduceMax: the axes as written
                            (the attribute up to opset 17, an int64
                            constant input from 18); naxes 0: every axis */
  int naxes;
  int keepdims;    /* ReduceMean, ReduceMax (default 1) */
  int64_t perm[4]; /* Transpose: the input axis of each output axis, as
                      written; nperm 0: none given (ONNX reverses the
                      axes, which moves the batch: refused) */
  int nperm;
  int nhwc; /* set by the checker: an element-wise node between a
               channels-last graph input and its Transposes to channels
               first (lsp_onnx_transpose.c), computed on lsprobe's C×H×W
               layout; its constant may vary along the last axis */
  /* Reshape only: one the reader made of a Squeeze, Gather or Slice of a
   * computed value (lsp_onnx_pick.c), as the file wrote it. `from` names
   * that op in messages (LSP_ONNX_PICK_*; 0 for a Reshape of the file).
   * While `pending`, `shape` is not set: the checker, which knows the
   * input's shape, checks that the node only drops axes of size 1 and
   * keeps every element, sets `shape` to the dimensions left (the Reshape
   * the node equals) and clears `pending`. */
  struct {
    int from, pending;
    int n;           /* axes listed (Squeeze: 0 drops every axis of size 1) */
    int64_t axes[4]; /* Squeeze's axes, Gather's axis, Slice's axes */
    int64_t start[4], end[4], step[4]; /* Slice; Gather: start[0], its index */
    int drop;        /* the axes go: Squeeze, Gather of a scalar index */
  } pick;
  int pad_mode;    /* Pad: LSP_ONNX_PAD_* (default constant) */
  float pad_value; /* Pad: constant_value (finite, or -inf) */
  /* opsets <= 6 (Add, Sub, Mul, Div, Gemm): the broadcast flag (-1 for
   * newer opsets: numpy broadcasting) and Add's axis (-1: none); the
   * checker validates them against the shapes and resets them */
  int legacy_bcast;
  int64_t legacy_axis;
  lsp_onnx_shape out; /* the output's shape (set by lsp_onnx_check) */
  size_t index;       /* position in the file's node list (messages) */
} lsp_onnx_node;

typedef struct {
  int64_t ir_version; /* as read; 8 for a model built by hand */
  int64_t opset;      /* default-domain opset; 13 for a model built by hand */
  char *input;        /* owned: the graph input's name */
  lsp_onnx_shape in_shape;
  char *output; /* owned: the graph output's name (a node's output) */
  size_t nnodes;
  lsp_onnx_node *nodes; /* owned: topological order */
  size_t ninits;
  lsp_onnx_tensor *inits; /* owned: float32, in order of first use */
  size_t cap_nodes, cap_inits;
  /* owned: the names the reader resolved away — an Identity node or an
   * all-zero Pad, by node name and by output name — and the value each
   * stands for (`--features` takes them); not written */
  size_t naliases;
  char **alias_name, **alias_value;
  /* owned, NULL when none: the op of the Softmax or LogSoftmax whose input
   * the reader took as the graph output (the file's output was the
   * probabilities or their logarithms), and that file output's name */
  char *softmax_op, *softmax_out;
  /* set by the checker: the graph input is channels-last (N×H×W×C), read
   * only by Transposes to channels first, directly or through element-wise
   * nodes (marked nhwc); the lowered model takes C×H×W images */
  int nhwc_input;
} lsp_onnx_model;

/* Read an ONNX file into a new description (*out, freed by the caller with
 * lsp_onnx_model_free). LSP_EIO if the file cannot be read, LSP_EDATA for
 * anything malformed or unsupported (message as above), LSP_ENOMEM. */
int lsp_onnx_read(const char *path, lsp_onnx_model **out);

/* The same from memory; `path` only names the source in messages. `bind`
 * supplies tensors for graph inputs that are not initializers: bind[j] is
 * taken as a constant for the (j+1)-th such input (the first stays the
 * model's input). The ONNX backend tests keep weights in input_<k>.pb; this
 * is how their runner loads them. bind may be NULL when nbind is 0. */
int lsp_onnx_read_mem(const void *buf, size_t len, const char *path,
                      const lsp_onnx_tensor *bind, size_t nbind,
                      lsp_onnx_model **out);

/* Validate a description and infer shapes: names resolve (no dangling
 * input, no value produced twice), nodes are put in topological order (a
 * cycle is refused), nodes that do not lead to the output are dropped,
 * initializer shapes match their ops, every output shape is computed into
 * node.out, and initializers are reordered by first use (unused ones
 * dropped). Idempotent. The reader runs it; so does the writer. */
int lsp_onnx_check(lsp_onnx_model *m, const char *path);

/* Write `m` (checked first) as an ONNX model: IR version 8, opset 13 (opset
 * 14 with HardSwish; IR 9, opset 20 with Gelu),
 * float32 initializers as raw little-endian data. Atomic (temporary file +
 * rename). lsp_onnx_encode gives the bytes instead (*buf freed with free()). */
int lsp_onnx_write(lsp_onnx_model *m, const char *path);
int lsp_onnx_encode(lsp_onnx_model *m, const char *path, uint8_t **buf,
                    size_t *len);

/* Building a description by hand (the writer's tests; `lsprobe export`).
 * lsp_onnx_model_alloc: an empty model with ir_version 8 and opset 13.
 * lsp_onnx_add_init copies `data` (product of dims floats; ndim <= 4).
 * lsp_onnx_add_node appends a node with the defaults set (strides 1, pads 0,
 * alpha = beta = 1, epsilon 1e-5, axis 1; kernel 0 = Conv's from W) and returns
 * it for the caller to set the op's attributes; NULL on allocation failure.
 * Pointers returned by lsp_onnx_add_node are valid until the next add. */
lsp_onnx_model *lsp_onnx_model_alloc(const char *input,
                                     const lsp_onnx_shape *in_shape,
                                     const char *output);
void lsp_onnx_model_free(lsp_onnx_model *m); /* NULL-safe */
int lsp_onnx_add_init(lsp_onnx_model *m, const char *name, int ndim,
                      const int64_t *dims, const float *data);
lsp_onnx_node *lsp_onnx_add_node(lsp_onnx_model *m, lsp_onnx_op op,
                                 const char *name, int ninputs,
                                 const char *const *inputs, const char *output);

/* The initializer called `name`, or NULL. */
const lsp_onnx_tensor *lsp_onnx_find_init(const lsp_onnx_model *m,
                                          const char *name);

/* ---- lowering to lsprobe's model (lsp_onnx_lower.c) ----------------------
 *
 * The network a checked description computes, as an lsp_model (*out, freed
 * by the caller): Conv → conv (a Pad node in front for asymmetric pads;
 * groups kept, a dilated kernel expanded to the dense kernel it equals),
 * Gemm/MatMul → dense (alpha, beta, transB folded into the weights; an Add
 * of a per-feature constant after a bias-free one is its bias, as after a
 * bias-free Conv), Add of two values → add, Mul of two values → mul,
 * Concat → a chain of two-input concat nodes (one input: nothing),
 * ReduceMean over the spatial axes → gap (also one axis, then the other:
 * the first is no node), ReduceMax likewise, GlobalMaxPool and a MaxPool
 * over the whole image → gmp, Add/Sub/Mul/Div by a
 * per-channel constant → normalize (a Sub followed by a Div is one),
 * pools → maxpool/avgpool in PyTorch's form (symmetric padding up to half
 * the window), else the general pool (asymmetric padding, dilated max
 * pooling), GlobalAveragePool → gap, BatchNormalization → bn, Flatten and
 * Reshape → flatten/reshape (nothing when the shape stays), Pad → pad,
 * Relu → relu, the activations → their kinds (lsp_onnx_act.c). The graph output must be the logits of the last Gemm or
 * MatMul, which becomes the classifier (a chain of Add/Sub/Mul/Div by
 * scalar or per-class constants after it, such as a temperature, is folded
 * into its weights and bias); a 1×1 Conv pooled by a global average as the
 * output is gap then that dense classifier, and with element-wise
 * activations between the two the Conv and activations stay and an
 * identity dense classifier follows the gap (lsp_onnx_head.c); the
 * features are its input unless
 * `features` names a value, an ONNX node (its output) or an lsprobe layer.
 * `probe` (the conformance runner) takes any graph output: a zero
 * Dense(1) classifier is appended and the output is the model's features.
 * LSP_EDATA naming the file, node and op for what lsprobe cannot compute;
 * LSP_EINVAL for a bad `features`. */
typedef struct {
  const char *features;
  int probe;
} lsp_onnx_lower_opts;
int lsp_onnx_lower(const lsp_onnx_model *m, const char *path,
                   const lsp_onnx_lower_opts *opts, lsp_model **out);

/* The description of an lsprobe model (`lsprobe export`; lsp_onnx_export.c):
 * input "input" (N × D for a model without spatial layers, else
 * N × C × H × W; N symbolic), output "logits", one node per layer named as
 * the layer (conv → Conv, dense → Gemm with transB, bn →
 * BatchNormalization, pools, gap → GlobalAveragePool, gmp → GlobalMaxPool,
 * pad → Pad, flatten,
 * reshape, add, mul, concat (axis 1), relu), a Flatten in front of a dense
 * layer that reads an image, and an input normalization as Sub and Div by
 * [1, C, 1, 1] constants (fused back into one on reading). Read back and
 * lowered, the model computes bit-identical logits. LSP_EDATA when a layer
 * has no ONNX equivalent (a pool's ceil_mode where ONNX and PyTorch
 * disagree), LSP_ENOMEM. */
int lsp_onnx_from_model(const lsp_model *m, lsp_onnx_model **out);

/* A TensorProto file (the backend tests' input_<k>.pb / output_<k>.pb) as a
 * float32 or int64 tensor. Other element types, external data and sizes that
 * disagree with the data are LSP_EDATA naming the file. `out` is left empty
 * on failure; release it with lsp_onnx_tensor_release (also when empty). */
int lsp_onnx_tensor_read(const char *path, lsp_onnx_tensor *out);
int lsp_onnx_tensor_read_mem(const void *buf, size_t len, const char *path,
                             lsp_onnx_tensor *out);
void lsp_onnx_tensor_release(lsp_onnx_tensor *t);

#endif
