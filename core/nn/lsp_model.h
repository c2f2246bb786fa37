/* lsp_model.h — a sequential network (dense and ReLU layers today), its
 * batched forward and backward passes through CBLAS, and model files.
 *
 * Layout follows PyTorch so that exported weights load unchanged: a dense
 * layer holds W as out×in row-major and b as out, and computes y = x Wᵀ + b
 * on a batch x (n×in, row-major). All parameters live in one allocation
 * (`params`) and all their gradients in another (`grads`), with each layer's
 * w/b/dw/db pointing into them, so optimizer steps and gradient checks are
 * one flat loop.
 *
 * Adding a layer kind (conv, pooling) means: a new lsp_layer_kind, its
 * forward/backward in lsp_model.c, its shape rule; callers do not change. */
#ifndef LSP_MODEL_H
#define LSP_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "core/loss/lsp_loss.h"
/* lsp_model (opaque there), lsp_model_load and lsp_model_free are public
 * API. */
#include "lsprobe/model.h"

typedef enum { LSP_LAYER_DENSE = 1, LSP_LAYER_RELU = 2 } lsp_layer_kind;

typedef struct {
  lsp_layer_kind kind;
  size_t in, out; /* input and output features (equal for ReLU) */
  float *w;       /* dense: out×in, view into the model's params  */
  float *b;       /* dense: out                                    */
  float *dw;      /* dense: out×in, view into the model's grads    */
  float *db;      /* dense: out                                    */
} lsp_layer;

/* The training record: everything that determines a trained model's
 * weights, where its data came from, and no timings (those live beside the
 * model: the run's curves file and results.json). Two trainings with the
 * same settings write byte-identical model files. In `.lspm` the record is
 * a list of typed, named fields (lsp_model_record.c; DESIGN §3), so a
 * format version can carry it unchanged and a field can be added without a
 * new layout. The settings are what the model cache compares. */
typedef struct {
  int trained;          /* 0: untrained or imported (fields below unknown) */
  /* -- settings: these determine the weights -------------------------- */
  unsigned code_version; /* the trainer's LSP_TRAIN_CODE_VERSION (0: older) */
  lsp_ls smoothing;     /* training loss smoothing                          */
  unsigned long seed;   /* initialization/shuffling seed                    */
  int epochs;
  int batch;
  int shares;           /* shares per batch (lsp_train_shares)              */
  double lr, momentum, weight_decay;
  int cosine;           /* cosine learning-rate schedule                    */
  int adam;             /* Adam instead of SGD                              */
  uint64_t data_hash;   /* hash of the data and its split (lsp_splits.hash) */
  unsigned long split_seed; /* the split: its seed, sizes, and the hash of  */
  uint64_t n_train, n_val;  /* the validation rows the model never trained  */
  uint64_t val_hash;        /* on (lsp_dataset_hash); 0 = not recorded      */
  /* -- description --------------------------------------------------- */
  char data[128];       /* dataset name or path                             */
  char cpu_path[32];    /* lsp_cpu_path() of the machine that trained it    */
  char blas_core[32];   /* lsp_blas_core() of that machine                  */
  double val_accuracy;  /* after the last epoch (NaN if unknown)           */
  int unknown_fields;   /* fields this build does not know (never equal)    */
} lsp_model_meta;

typedef struct lsp_model {
  size_t nlayers;
  lsp_layer *layers; /* owned */
  size_t nparams;
  float *params;     /* owned: every parameter, layer by layer (w then b) */
  float *grads;      /* owned: same layout as params                      */
  size_t in_dim;     /* input features                                    */
  size_t out_dim;    /* classes K                                         */
  lsp_model_meta meta;
} lsp_model;

/* An MLP in -> hidden[0] -> ReLU -> ... -> hidden[nh-1] -> ReLU -> out, with
 * parameters zeroed. NULL on allocation failure or a zero size (message set). */
lsp_model *lsp_model_alloc_mlp(size_t in, const size_t *hidden, size_t nh,
                               size_t out);
void lsp_model_free(lsp_model *m); /* NULL-safe */

/* PyTorch nn.Linear's default initialization: W and b uniform in
 * [-1/sqrt(in), 1/sqrt(in)], drawn from a GSL mt19937 seeded with `seed`
 * in layer order (W row-major, then b). LSP_ENOMEM (parameters untouched)
 * when the generator cannot be allocated. */
int lsp_model_init(lsp_model *m, unsigned long seed);

/* Size of the penultimate features: the input of the last dense layer. */
size_t lsp_model_feature_dim(const lsp_model *m);
/* The last dense layer (the class templates). */
const lsp_layer *lsp_model_last_dense(const lsp_model *m);

/* Activations and scratch for batches of up to max_batch rows of model m.
 * A workspace belongs to the model it was allocated for: forward and
 * backward refuse (LSP_EINVAL) a workspace of another model. */
typedef struct lsp_model_ws lsp_model_ws;
lsp_model_ws *lsp_model_ws_alloc(const lsp_model *m, size_t max_batch);
void lsp_model_ws_free(lsp_model_ws *ws); /* NULL-safe */

/* Forward a batch x (n×in_dim, n <= max_batch). On return *logits (n×K) and,
 * if features is not NULL, *features (n×feature_dim) point into the
 * workspace, valid until its next forward. The workspace remembers x and the
 * activations for lsp_model_backward. */
int lsp_model_forward(const lsp_model *m, lsp_model_ws *ws, const float *x,
                      size_t n, const float **logits, const float **features);

enum { LSP_BACK_PARAMS = 1, LSP_BACK_INPUT = 2 };
/* Backward from dlogits (n×K, the gradient of the loss w.r.t. the logits of
 * the last forward). LSP_BACK_PARAMS writes (overwrites) every parameter
 * gradient in m->grads; LSP_BACK_INPUT writes dx (n×in_dim). */
int lsp_model_backward(lsp_model *m, lsp_model_ws *ws, const float *dlogits,
                       int what, float *dx);

/* Logits (and optionally features) of a whole array, in batches of `batch`
 * rows. logits: n×K; features: n×feature_dim or NULL. */
int lsp_model_predict(const lsp_model *m, const float *x, size_t n,
                      size_t batch, float *logits, float *features);

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
/* The first setting in which a and b differ, as "name (a vs b)" in buf, or
 * NULL when they agree (both trained, no unknown fields, every setting
 * equal). */
const char *lsp_model_record_diff(const lsp_model_meta *a,
                                  const lsp_model_meta *b, char *buf,
                                  size_t len);

/* Model files (lsp_model_io.c).
 *
 * lsp_model_save writes `.lspm` (format 2) atomically (temporary file +
 * rename): magic "LSPM", format version, the layer kinds and shapes, every
 * parameter as little-endian float32, the training record (u32 length, then
 * lsp_model_record_encode's bytes), and a CRC-32 (zlib) of all of it.
 * Format 1 files (a fixed training record with a timing) still load. lsp_model_load_lspm reads one; *out is a new model the
 * caller frees. Every defect is LSP_EDATA with the file and the problem: bad
 * magic, unsupported version, truncation, trailing bytes, absurd or
 * inconsistent shapes, a CRC mismatch, a non-finite parameter, an invalid
 * training record; LSP_EIO when the file cannot be read. (Loading any model
 * source, `.lspm` or an import, is lsp_model_load in core/import.) */
int lsp_model_save(const lsp_model *m, const char *path);
int lsp_model_load_lspm(const char *path, lsp_model **out);

/* "784-256-256-10" into buf. */
void lsp_model_describe(const lsp_model *m, char *buf, size_t len);

#endif
