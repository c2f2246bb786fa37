/* lsp_model.h — the network: a small graph of layers (a sequence with skip
 * edges), its batched forward and backward passes, and model files.
 *
 * Tensors are batches of N examples, each C×H×W, stored NCHW row-major
 * float32; a vector of D features is D×1×1. Weights use PyTorch's layouts
 * (dense W out×in, convolution OIHW), so exported tensors load unchanged.
 *
 * A model is a list of nodes in topological order. Node i reads the outputs
 * of earlier nodes (or the model input, LSP_INPUT) and produces one tensor.
 * What a node kind does — shape inference, parameters and their
 * initialization, FLOPs, forward, backward, its attributes in files — is
 * one entry of the operation table (lsp_ops.c); nothing else in the library
 * switches on the kind. The last node is a dense layer with bias (the
 * classifier: its rows are the class templates); the node whose output is
 * the penultimate features is recorded explicitly (`features`) and is that
 * layer's input.
 *
 * All trainable parameters live in one allocation (`params`), their
 * gradients in another of the same layout (`grads`), and the non-trainable
 * tensors (BatchNorm running statistics, normalization constants) in a third
 * (`state`); a node's tensors are at fixed offsets, so optimizer steps and
 * gradient checks are one flat loop and a copy of the struct with another
 * `grads` array is a model with private gradients (data parallelism).
 *
 * Modes: lsp_model_forward is inference (BatchNorm uses its running
 * statistics; attacks and evaluation use it). Training mode uses the batch
 * statistics and updates the running ones: lsp_model_forward_train on a
 * whole batch, or the staged calls below when a batch is split into shares
 * run on several threads. The backward pass differentiates whichever
 * forward ran last on the workspace. */
#ifndef LSP_MODEL_H
#define LSP_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "core/loss/lsp_loss.h"
/* lsp_model (opaque there), lsp_model_load and lsp_model_free are public
 * API. */
#include "lsprobe/model.h"

/* One example's tensor shape: channels, height, width. */
typedef struct {
  size_t c, h, w;
} lsp_shape;
static inline size_t lsp_shape_size(lsp_shape s) {
  return s.c * s.h * s.w;
}

/* Node kinds. The numbers are stable (dense and relu are also format 1's
 * layer kinds); the names are those of the spec grammar and of files. */
typedef enum {
  LSP_OP_DENSE = 1,   /* "dense"      y = x Wᵀ + b on the flattened input */
  LSP_OP_RELU = 2,    /* "relu"                                           */
  LSP_OP_CONV = 3,    /* "conv"       Conv2d, groups 1, zero padding      */
  LSP_OP_MAXPOOL = 4, /* "maxpool"                                        */
  LSP_OP_AVGPOOL = 5, /* "avgpool"    padding counted in the divisor      */
  LSP_OP_GAP = 6,     /* "gap"        global average pooling -> C×1×1     */
  LSP_OP_BN = 7,      /* "bn"         BatchNorm2d                          */
  LSP_OP_FLATTEN = 8, /* "flatten"    C×H×W -> (C·H·W)×1×1, no copy        */
  LSP_OP_ADD = 9,     /* "add"        sum of two inputs (residual)         */
  LSP_OP_NORMALIZE = 10, /* "normalize"  (x - mean_c) / std_c per channel   */
  LSP_OP_PAD = 11,       /* "pad"        2-D padding: constant, reflect,
                                         edge (ONNX Pad; asymmetric pads)  */
  LSP_OP_RESHAPE = 12,   /* "reshape"    C×H×W -> c×h×w of the same size,
                                         no copy (ONNX Reshape)            */
  LSP_OP_POOL = 13,      /* "pool"       max or average pooling in ONNX's
                                         general form: asymmetric padding
                                         up to the window, dilation (max)  */
  /* element-wise activations (lsp_ops_act.c, DESIGN §6) */
  LSP_OP_SIGMOID = 14,   /* "sigmoid"    1 / (1 + e^−x)                    */
  LSP_OP_TANH = 15,      /* "tanh"                                         */
  LSP_OP_LEAKYRELU = 16, /* "leakyrelu"  x > 0 ? x : alpha·x               */
  LSP_OP_ELU = 17,       /* "elu"        x > 0 ? x : alpha·(e^x − 1)       */
  LSP_OP_SELU = 18,      /* "selu"       gamma·elu(x; alpha)               */
  LSP_OP_CLIP = 19,      /* "clip"       min(max(x, lo), hi)               */
  LSP_OP_HARDSIGMOID = 20, /* "hardsigmoid" max(0, min(1, alpha·x + beta)) */
  LSP_OP_HARDSWISH = 21, /* "hardswish"  x·min(max(x + 3, 0), 6) / 6       */
  LSP_OP_SOFTPLUS = 22,  /* "softplus"   log(1 + e^x)                      */
  LSP_OP_ERF = 23,       /* "erf"                                          */
  LSP_OP_GELU = 24,      /* "gelu"       x·Φ(x), or its tanh form          */
  LSP_OP_MUL = 25,       /* "mul"        product of two inputs of one shape,
                                         or C×H×W by C×1×1 (a gate per
                                         channel)                          */
  LSP_OP_CONCAT = 26,    /* "concat"     the channels of two inputs of one
                                         H×W, the first's then the second's */
  LSP_OP_GMP = 27,       /* "gmp"        global max pooling -> C×1×1; the
                                         gradient to the first maximum    */
  LSP_OP_TRANSPOSE = 28  /* "transpose"  a permutation of the axes c, h, w
                                         (ONNX Transpose keeping the batch;
                                         channels-last networks)          */
} lsp_op;
#define LSP_OP_MAX 28


/* Attributes of a node; a kind uses the fields its table entry lists. */
typedef struct {
  size_t units;         /* dense: outputs; conv: output channels          */
  size_t kh, kw;        /* conv, pools: kernel                            */
  size_t sh, sw;        /* conv, pools: stride                            */
  size_t ph, pw;        /* conv, pools: zero padding, each side           */
  int ceil_mode;        /* pools: round the output size up (PyTorch)      */
  int count_pad;        /* avgpool: padding counts in the divisor (1, as
                           PyTorch's count_include_pad)                   */
  int bias;             /* dense, conv: 1 = with bias                     */
  double eps, momentum; /* bn: 1e-5 and 0.1 as PyTorch                    */
  size_t pt, pl, pb, pr; /* pad: rows above, columns left, rows below,
                            columns right                                */
  size_t mode;          /* pad: 0 constant, 1 reflect, 2 edge, 3 −∞ (the
                           padding of a max pooling); lsp_pad.h           */
  double value;         /* pad: the constant of mode 0                     */
  size_t rc, rh, rw;    /* reshape: the output shape ("c", "h", "w")       */
  size_t dh, dw;        /* pool: dilation (1: none)                        */
  int avg;              /* pool: 1 average, 0 max                          */
  double alpha, beta, gamma; /* activations: leakyrelu, elu, selu,
                                hardsigmoid (lsp_ops_act.c)             */
  double lo, hi;        /* clip: the bounds, ±∞ for a missing one          */
  int approximate;      /* gelu: 0 the erf form, 1 the tanh form           */
  size_t groups;        /* conv: channel groups (1: dense; the input
                           channels: depthwise)                            */
  size_t perm;          /* transpose: the input axes (0 c, 1 h, 2 w) in the
                           output's order as three digits (120: C×H×W to
                           H×W×C; 12, the identity, by default)           */
} lsp_attrs;

#define LSP_INPUT (-1)   /* the model input as a node's input             */
#define LSP_NODE_NAME 48 /* bytes of a node name, NUL included            */

typedef struct {
  lsp_op op;
  char name[LSP_NODE_NAME]; /* unique in the model: "conv1", "res2.bn1"    */
  int nin;                  /* inputs: 1, or 2 for add, mul, concat         */
  int in[2];                /* producing nodes (earlier), or LSP_INPUT      */
  lsp_shape ishape;         /* shape of in[0]                               */
  lsp_shape ishape1;        /* shape of in[1] (two-input kinds), else in[0] */
  lsp_shape shape;          /* output shape                                 */
  lsp_attrs a;
  size_t p_off, p_len; /* trainable tensors: params + p_off, p_len     */
  size_t s_off, s_len; /* state tensors: state + s_off, s_len          */
} lsp_node;

/* The training record: everything that determines a trained model's
 * weights, where its data came from, and no timings (those live beside the
 * model: the run's curves file and results.json). Two trainings with the
 * same settings write byte-identical model files. In `.lspm` the record is
 * a list of typed, named fields (lsp_model_record.c; DESIGN §3), so a
 * format version can carry it unchanged and a field can be added without a
 * new layout. The settings are what the model cache compares. */
typedef struct {
  int trained; /* 0: untrained or imported (fields below unknown) */
  /* -- settings: these determine the weights -------------------------- */
  unsigned code_version; /* the trainer's LSP_TRAIN_CODE_VERSION (0: older) */
  lsp_ls smoothing;      /* training loss smoothing                          */
  unsigned long seed;    /* initialization/shuffling seed                    */
  int epochs;
  int batch;
  int shares; /* shares per batch (lsp_train_shares)              */
  double lr, momentum, weight_decay;
  int cosine;         /* cosine learning-rate schedule                    */
  int adam;           /* Adam instead of SGD                              */
  uint64_t data_hash; /* hash of the data and its split (lsp_splits.hash) */
  unsigned long split_seed; /* the split: its seed, sizes, and the hash of  */
  uint64_t n_train, n_val;  /* the validation rows the model never trained  */
  uint64_t val_hash;        /* on (lsp_dataset_hash); 0 = not recorded      */
  int distilled;            /* trained from a teacher's logits (lsp_train's
                               teacher); the three below only then:         */
  double distill_alpha, distill_temperature;
  uint64_t teacher_hash;    /* FNV-1a of the teacher's float32 logits of the
                               training split: all the student saw of it   */
  /* -- description --------------------------------------------------- */
  char data[128];      /* dataset name or path                             */
  char cpu_path[32];   /* lsp_cpu_path() of the machine that trained it    */
  char blas_core[32];  /* lsp_blas_core() of that machine                  */
  double val_accuracy; /* after the last epoch (NaN if unknown)           */
  int unknown_fields;  /* fields this build does not know (never equal)    */
} lsp_model_meta;

typedef struct lsp_model {
  size_t nnodes;
  lsp_node *nodes; /* owned, topological order; the last is the head */
  int features;    /* node whose output is the penultimate features:
                      the head's input (LSP_INPUT for a linear model)
                      unless lsp_model_set_features chose another */
  char arch[64];   /* the --arch it was built from ("lenet",
                      "mlp:256,256"; "spec" when 64 bytes or longer),
                      "onnx" (an ONNX import) or ""                   */
  size_t nparams;
  float *params; /* owned: every trainable tensor, node by node    */
  float *grads;  /* owned: same layout as params                   */
  size_t nstate;
  float *state;       /* owned: running statistics, normalization       */
  lsp_shape in_shape; /* one input example                              */
  size_t in_dim;      /* C·H·W of the input                             */
  size_t out_dim;     /* classes K                                      */
  lsp_model_meta meta;
} lsp_model;

/* ---- building ---------------------------------------------------------------
 *
 * lsp_model_new starts an empty graph on inputs of shape `in`;
 * lsp_model_add appends a node of kind `op` reading in0 (and in1 for add;
 * ignored otherwise), checks its attributes against the input shapes (shape
 * inference), and returns its index in *id (may be NULL); lsp_model_finish
 * checks that the last node is a dense layer with bias (its input becomes
 * `features`) and that every other node feeds a later one, allocates the
 * parameter, gradient and state arrays (zeroed: call lsp_model_init or fill
 * them) and sets out_dim. Errors: LSP_EINVAL with the node and
 * the problem (a bad attribute, a shape that does not fit), LSP_ENOMEM. A
 * model is usable only after lsp_model_finish succeeded. `name` may be NULL
 * (then "<kind><count>"). */
lsp_model *lsp_model_new(lsp_shape in);
int lsp_model_add(lsp_model *m, lsp_op op, const lsp_attrs *a, int in0, int in1,
                  const char *name, int *id);
int lsp_model_finish(lsp_model *m);
void lsp_model_free(lsp_model *m); /* NULL-safe */

/* The checks a loaded model's tensors get, for tensors filled by an
 * importer: every value finite and plausible for its kind (batch-norm
 * variance >= 0, a normalization's std non-zero). LSP_EDATA with the node
 * and the reason; *node (may be NULL) gets the node's index. */
int lsp_model_check_values(const lsp_model *m, size_t *node);

/* Attributes of `op` with the defaults of its PyTorch module (stride = kernel
 * for pools, 1 for conv; bias on; bn eps 1e-5, momentum 0.1). */
void lsp_attrs_default(lsp_op op, lsp_attrs *a);

/* An MLP in -> hidden[0] -> ReLU -> ... -> hidden[nh-1] -> ReLU -> out on
 * flat inputs (in×1×1). NULL on a zero size or no memory (message set). */
lsp_model *lsp_model_alloc_mlp(size_t in, const size_t *hidden, size_t nh,
                               size_t out);

/* Architectures (lsp_arch.c). `spec` is a built-in name or a layer list in
 * the grammar of docs/DESIGN.md (§7.4 "Architectures"):
 *   mlp:256,256 | lenet | resnet8 | conv(6,5,p=2) relu maxpool(2) ...
 * The spec describes the network up to the penultimate layer; the
 * classifier Dense(features -> classes) is appended. `normalize` (nnorm =
 * 2·C values: C means then C standard deviations; or nnorm = 0) puts a
 * normalization node first. The model's tensors are zero (lsp_model_init).
 * LSP_EINVAL names the offending token or layer. */
int lsp_model_from_spec(const char *spec, lsp_shape in, size_t classes,
                        const float *normalize, size_t nnorm, lsp_model **out);
/* The canonical text of the graph: input shape, every node with all its
 * attributes, the classifier. Equal strings mean equal architectures (the
 * model cache hashes it). Returns the length needed (like snprintf). */
size_t lsp_model_arch_string(const lsp_model *m, char *buf, size_t len);

/* PyTorch's default initialization, drawn from one GSL mt19937 seeded with
 * `seed`, node by node: dense and conv W uniform in ±1/sqrt(fan_in)
 * (kaiming_uniform with a = sqrt(5)), their bias in ±1/sqrt(fan_in);
 * BatchNorm weight 1, bias 0, running mean 0, variance 1. An MLP draws
 * exactly as before graphs (W row-major, then b, layer by layer).
 * Normalization constants are left as they are. LSP_ENOMEM if the generator
 * cannot be allocated. */
int lsp_model_init(lsp_model *m, unsigned long seed);

/* ---- inspecting -------------------------------------------------------------
 */

/* The operation table's name of a kind ("conv"), NULL if unknown. */
const char *lsp_op_name(lsp_op op);

/* Make the output of node `id` (or LSP_INPUT, the input) the features the
 * model reports (lsp_model_forward's `features`, `eval --dump`, the cluster
 * statistics) instead of the classifier's input, e.g. an earlier layer of
 * an imported network (`--features NODE`). Any node before the classifier.
 * LSP_EINVAL otherwise, or before lsp_model_finish. */
int lsp_model_set_features(lsp_model *m, int id);

/* Size of the penultimate features (C·H·W of the features node). */
size_t lsp_model_feature_dim(const lsp_model *m);

/* The classifier: W (out×in, the class templates) and b, views into params. */
typedef struct {
  size_t in, out;
  const float *w, *b;
} lsp_dense_view;
void lsp_model_head(const lsp_model *m, lsp_dense_view *h);

/* A node's tensor by name ("weight", "bias", "running_mean", "running_var",
 * "mean", "std"): value (params or state), gradient (NULL for state) and
 * element count. LSP_EINVAL if the node has no such tensor. */
int lsp_model_tensor(const lsp_model *m, size_t node, const char *tname,
                     float **value, float **grad, size_t *count);
/* The node named `name`, or -1. */
int lsp_model_find(const lsp_model *m, const char *name);

/* Which input components the logits can depend on at all, from the
 * graph's structure alone (lsp_model_reads.c): mask (in_dim bytes)
 * gets 1 where some logit reads the component through some path — a
 * convolution or pooling tap inside the image, a padded or mirrored pixel,
 * a dense layer's input — whatever the weights and the input, else 0;
 * *nread (may be NULL) the count of ones. A strided convolution whose
 * windows stop short of the border leaves the last rows and columns
 * unread; their input gradient is zero on every example. A kind without a
 * structural rule counts all of its input as read. LSP_ENOMEM. */
int lsp_model_read_mask(const lsp_model *m, uint8_t *mask, size_t *nread);

/* Floating-point operations of one example's forward pass (2 per
 * multiply-add, as the table counts them). */
double lsp_model_flops(const lsp_model *m);

/* 1 when inputs that the data holds as c × h × w images read as the
 * model's input: the same dimensions once those of size 1 are left out
 * (N×C×L arrays, 1 × C × L images, for a model of C × L × 1), or either
 * side flat (at most one dimension above 1: an MLP on images, or rows). */
int lsp_model_takes_shape(const lsp_model *m, size_t c, size_t h, size_t w);

/* "784-256-256-10" for an MLP; else the arch name or "graph" with the input
 * shape and the class count ("lenet 1x28x28->10"). */
void lsp_model_describe(const lsp_model *m, char *buf, size_t len);

/* ---- forward and backward ---------------------------------------------------
 */

/* Activations and scratch for batches of up to max_batch rows of model m.
 * A workspace belongs to the model it was allocated for: forward and
 * backward refuse (LSP_EINVAL) a workspace of another model. */
typedef struct lsp_model_ws lsp_model_ws;
lsp_model_ws *lsp_model_ws_alloc(const lsp_model *m, size_t max_batch);
void lsp_model_ws_free(lsp_model_ws *ws); /* NULL-safe */
/* Bytes a workspace of one row needs (to choose a batch size). */
size_t lsp_model_ws_bytes_per_row(const lsp_model *m);

/* Inference forward of a batch x (n×in_dim, n <= max_batch). On return
 * *logits (n×K) and, if features is not NULL, *features (n×feature_dim)
 * point into the workspace, valid until its next forward. The workspace
 * remembers x and the activations for lsp_model_backward. */
int lsp_model_forward(const lsp_model *m, lsp_model_ws *ws, const float *x,
                      size_t n, const float **logits, const float **features);

/* Training-mode forward of one whole batch: BatchNorm normalizes with the
 * batch's statistics and updates m's running statistics (PyTorch's
 * train()). Otherwise as lsp_model_forward. */
int lsp_model_forward_train(lsp_model *m, lsp_model_ws *ws, const float *x,
                            size_t n, const float **logits,
                            const float **features);

enum { LSP_BACK_PARAMS = 1, LSP_BACK_INPUT = 2, LSP_BACK_GRADS_ZERO = 4 };
/* Backward from dlogits (n×K, the gradient of the loss w.r.t. the logits of
 * the last forward on ws, in the mode that forward used). LSP_BACK_PARAMS
 * writes (overwrites) every parameter gradient in m->grads; LSP_BACK_INPUT
 * writes dx (n×in_dim). With LSP_BACK_GRADS_ZERO as well, the caller
 * promises that m->grads holds zeros: layers that can (dense) then add
 * their gradient to it instead of clearing it first — the same values
 * (up to the sign of a zero), one pass over the gradient fewer. */
int lsp_model_backward(lsp_model *m, lsp_model_ws *ws, const float *dlogits,
                       int what, float *dx);

/* Logits (and optionally features) of a whole array in inference mode, in
 * batches of `batch` rows (0: 1024; fewer when the model's activations
 * would pass 64 MiB), a short last batch computed as a whole one (copies of
 * the last row after the array's end): an example's logits are the same bits whatever
 * n. logits: n×K; features: n×feature_dim or NULL. With lsp_threads_get() > 1 and OpenBLAS at one thread, that many
 * threads take whole batches (lsp_model_predict.c): the same bits for every
 * thread count. */
int lsp_model_predict(const lsp_model *m, const float *x, size_t n,
                      size_t batch, float *logits, float *features);

/* ---- training mode over shares ----------------------------------------------
 *
 * Data parallelism with whole-batch BatchNorm statistics: a batch is cut
 * into S shares, each with its own workspace and (usually) its own gradient
 * array (a copy of the model struct with another `grads`). The passes stop
 * at every BatchNorm node (lsp_model_nsync of them) so that the statistics
 * can be combined over all shares:
 *
 *   for (s = 0; s <= nsync; s++) {
 *     for every share i (in parallel): lsp_model_stage_forward(mi, ws[i], x_i,
 * n_i, s, ...); if (s < nsync) lsp_model_sync_forward(m, ws, S, s);   (one
 * thread)
 *   }
 *   loss per share -> dlogits_i
 *   for (s = 0; s <= nsync; s++) {
 *     for every share i: lsp_model_stage_backward(mi, ws[i], dlogits_i, what,
 * dx_i, s); if (s < nsync) lsp_model_sync_backward(m, ws, S, s);
 *   }
 *
 * x/n are read at stage 0 and dlogits at backward stage 0; logits and
 * features are set after the last forward stage. A share may have n = 0 (it
 * then contributes nothing). The sums over shares run in share order in
 * double, so the result depends on the shares, not on the threads that ran
 * them. lsp_model_forward_train is this loop with one share. */
size_t lsp_model_nsync(const lsp_model *m);
int lsp_model_stage_forward(const lsp_model *m, lsp_model_ws *ws,
                            const float *x, size_t n, size_t stage,
                            const float **logits, const float **features);
int lsp_model_sync_forward(lsp_model *m, lsp_model_ws *const *ws, size_t nws,
                           size_t stage);
int lsp_model_stage_backward(lsp_model *m, lsp_model_ws *ws,
                             const float *dlogits, int what, float *dx,
                             size_t stage);
int lsp_model_sync_backward(const lsp_model *m, lsp_model_ws *const *ws,
                            size_t nws, size_t stage);

/* The training record in its file encoding (lsp_model_record.c): a u32
 * field count, then per field a type byte ('u' u64, 'f' f64, 's' u32 length
 * + UTF-8 bytes), a u8 name length and the name, then the value, all
 * little-endian, in a fixed order. settings_only leaves out the description
 * (the canonical bytes the model cache hashes). *buf is malloc'd. An
 * untrained record is zero fields. */
int lsp_model_record_encode(const lsp_model_meta *r, int settings_only,
                            unsigned char **buf, size_t *len);
/* Decode `len` bytes into *r. A trained record must have every setting;
 * unknown names are counted (r->unknown_fields), not refused. LSP_EDATA
 * naming `path` and the field for a truncated record, a bad type or value,
 * a repeated or missing field. */
int lsp_model_record_decode(const unsigned char *p, size_t len,
                            lsp_model_meta *r, const char *path);
/* Every setting in which a and b differ, as "name (a vs b), name (a vs b)"
 * in buf (numbers in their shortest exact decimal, lsp_shortest_g; ", ..."
 * ends a list that does not fit), or NULL when they agree (both trained,
 * no unknown fields, every setting equal). */
const char *lsp_model_record_diff(const lsp_model_meta *a,
                                  const lsp_model_meta *b, char *buf,
                                  size_t len);

/* ---- model files (lsp_model_io.c) -------------------------------------------
 *
 * lsp_model_save writes `.lspm` format 3 atomically (temporary file +
 * rename): magic "LSPM", version 3, the input shape, every node with its
 * kind and name as text, its inputs, its typed attributes and its named
 * tensors (dimensions and little-endian float32 data), the features node,
 * the arch name, the training record (lsp_model_record_encode's bytes), and
 * zlib's CRC-32 of all of it (docs/DESIGN.md §3). lsp_model_load_lspm reads
 * format 3 and the MLP formats 1 and 2; *out is a new model the caller
 * frees. Every defect
 * is LSP_EDATA with the file and the problem: bad magic, unsupported
 * version, truncation, trailing bytes, an unknown kind/attribute/field, a
 * missing or mis-shaped tensor, a graph that does not fit together, a CRC
 * mismatch, a non-finite parameter, an invalid training record; LSP_EIO
 * when the file cannot be read. (Loading any model source, `.lspm` or an
 * import, is lsp_model_load in core/import.) */
int lsp_model_save(const lsp_model *m, const char *path);
int lsp_model_load_lspm(const char *path, lsp_model **out);
/* The same reader on a buffer (fuzzing); `name` is used in messages. */
int lsp_model_read_lspm(const unsigned char *buf, size_t len, const char *name,
                        lsp_model **out);

#endif
