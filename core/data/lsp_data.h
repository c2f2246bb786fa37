/* lsp_data.h — datasets: IDX (Fashion-MNIST and friends, plain or gzip),
 * CSV (label first), .npy pairs, and a seeded synthetic Gaussian mixture;
 * the train/validation/test split used everywhere.
 *
 * Inputs are float32, row-major n×dim; image pixels are scaled to [0, 1]
 * (the attack bounds lo/hi record the valid input range). */
#ifndef LSP_DATA_H
#define LSP_DATA_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  size_t n;      /* examples                                     */
  size_t dim;    /* features per example (28*28 = 784 for images) */
  int k;         /* classes (labels in [0, k))                    */
  float *x;      /* owned: n×dim                                  */
  int32_t *y;    /* owned: n                                      */
} lsp_dataset;

typedef struct {
  lsp_dataset train, val, test;
  char name[128];      /* "fashion-mnist", "synthetic", or the folder   */
  char source[512];    /* where it was read from, for reports (with the
                          note appended when there is one)              */
  char note[320];      /* "" or one sentence on how the data was read
                          (0-255 float pixels scaled by 1/255), for
                          the command to show                           */
  int synthetic;       /* 1 when the data is the synthetic mixture      */
  float lo, hi;        /* valid input range (attack clipping bounds)   */
  size_t img_c, img_h, img_w; /* image geometry C×H×W (rows are stored in
                          C order: channel, row, column); 0 when not
                          images. IDX images are 1×28×28               */
  uint64_t hash;       /* FNV-1a over the split settings and every
                          split's shape, rows and labels, in split order;
                          rows are hashed as stored (uint8 pixels of IDX
                          files -- the floats are pixel/255 --, float32
                          bytes otherwise): keys cached models          */
  unsigned long split_seed; /* the seed that shuffled train/validation    */
} lsp_splits;

typedef struct {
  const char *spec;       /* "fashion-mnist", "synthetic", or a dataset
                             folder (IDX, CSV or .npy files)             */
  size_t n_val;           /* validation examples taken from train;
                             LSP_DATA_VAL_AUTO (default) = 1/12 of the
                             training file, rounded: 5000 of Fashion-
                             MNIST's 60000, 500 of the synthetic 6000   */
  unsigned long seed;     /* split seed (1); GSL's mt19937 treats 0 as its
                             default seed 4357                          */
  size_t max_train;       /* 0 = all; else keep the first max_train of the
                             shuffled training split (quick runs)       */
  size_t max_test;        /* 0 = all                                     */
  /* synthetic mixture */
  size_t syn_train;       /* training examples incl. validation (6000)   */
  size_t syn_test;        /* test examples (2000)                        */
  size_t syn_dim;         /* features (64)                               */
  int syn_k;              /* classes (10)                                */
  double syn_sep;         /* distance between class means, in units of the
                             per-feature noise sd (3.0)                 */
} lsp_data_opts;

#define LSP_DATA_VAL_AUTO ((size_t)-1)

/* Defaults: spec "fashion-mnist", n_val LSP_DATA_VAL_AUTO, seed 1, no
 * truncation, synthetic 6000/2000 examples of 64 features in 10 classes at
 * separation 3. */
void lsp_data_opts_default(lsp_data_opts *o);

/* 1 if `base` (a file name without folder) is one of the names a data
 * folder is read from (below: the four IDX files, plain or ".gz", train.csv,
 * test.csv and the four .npy files), else 0. */
int lsp_data_file_name(const char *base);

/* The folder `fashion-mnist` resolves to: $LSPROBE_DATA if set, else
 * /usr/share/datasets/fashion-mnist (Debian's dataset-fashion-mnist). */
const char *lsp_data_fashion_dir(void);

/* Load and split. o->spec is one of
 *   "fashion-mnist"  the folder lsp_data_fashion_dir();
 *   a folder         holding, checked in this order,
 *                    - train-images-idx3-ubyte, train-labels-idx1-ubyte,
 *                      t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte,
 *                      each plain or gzip (name with or without ".gz");
 *                    - train.csv and test.csv (lsp_csv_read);
 *                    - x_train.npy, y_train.npy, x_test.npy, y_test.npy
 *                      (x N×D, N×H×W or N×C×H×W, uint8 or float; labels
 *                      integral);
 *                    uint8 pixels are scaled by 1/255 into [0, 1]; so are
 *                    float features (CSV, float .npy) when every value of
 *                    both files is a whole number in [0, 255] and some
 *                    value exceeds 1 (8-bit pixels written as numbers:
 *                    read exactly as uint8, with out->note saying so);
 *                    float N×H×W (or N×C×H×W) images outside [0, 1] that
 *                    are not such pixels are refused (LSP_EDATA naming
 *                    both files);
 *   "synthetic[:key=value,...]"  the Gaussian mixture below; keys train,
 *                    test, dim, classes, sep override the syn_* fields.
 * The training file is shuffled with a GSL mt19937 seeded with o->seed; the
 * last n_val shuffled examples are the validation split, the others (in
 * shuffled order, cut to max_train when set) the training split. The test
 * split is the official test file in file order (cut to max_test).
 *
 * Synthetic mixture: K class means at mu_k = b*1 + a*e_{j_k} (K distinct
 * random coordinates j_k, so every pair of means is exactly sep*sigma
 * apart, a = sep*sigma/sqrt(2)), per-feature noise sd sigma = 1/(6 +
 * sep/sqrt(2)) and b = 3*sigma, so mean +- 3 sd lies inside [0, 1]; each
 * feature is then clipped to [0, 1] (this touches only draws beyond 3 sd).
 * Classes are balanced (counts differ by at most one) and in random order.
 * The mixture is drawn from its own mt19937, seeded with a SplitMix64 hash
 * of o->seed (so that its stream differs from the split shuffle); it needs
 * dim >= classes.
 *
 * The classes are K = 1 + the largest training label; a test label >= K is
 * an error. On success *out owns every array (free with lsp_splits_free);
 * lo/hi are 0/1 for pixels and the synthetic mixture, and the observed
 * minimum/maximum over all splits for other float features (CSV, float
 * .npy). Errors: LSP_EINVAL for bad settings (unknown
 * spec key, n_val not below the training size, ...), LSP_EIO/LSP_EDATA with
 * the file and the problem (missing folder -- with a hint to install
 * dataset-fashion-mnist via scripts/setup --, truncated IDX, wrong magic,
 * image/label count mismatch, label out of range, ...). On failure *out is
 * left empty. */
int lsp_data_load(const lsp_data_opts *o, lsp_splits *out);
void lsp_splits_free(lsp_splits *s); /* NULL-safe, idempotent */
void lsp_dataset_free(lsp_dataset *d); /* NULL-safe, idempotent */

/* The shape of one example: C×H×W for images, else dim×1×1. */
void lsp_splits_shape(const lsp_splits *s, size_t *c, size_t *h, size_t *w);

/* Examples per class: counts[0..d->k-1] (the caller's array of d->k). */
void lsp_dataset_class_counts(const lsp_dataset *d, size_t *counts);

/* FNV-1a over d's shape, its float32 rows and int32 labels, in order: one
 * split's identity (a training record keeps its validation split's, so that
 * evaluation can check it scores the examples the model was not trained on). */
uint64_t lsp_dataset_hash(const lsp_dataset *d);

/* Smallest and largest feature value over the whole of d (0, 0 if empty). */
void lsp_dataset_range(const lsp_dataset *d, float *lo, float *hi);

/* One IDX file (`*-ubyte` or `*-ubyte.gz`; gzip is detected from the
 * content, not the name): images as n×(rows*cols) u8, or labels as n u8.
 * *data is malloc'd (free()). dims must hold LSP_IDX_MAXDIM entries: dims[0]
 * = n, dims[1..*ndims-1] the rest. Only the unsigned-byte type (magic
 * 0x00000801 .. 0x00000804) is accepted; every dimension must be in
 * [1, LSP_IDX_MAXEXT] (n may be 0) and the data at most LSP_IDX_MAXBYTES.
 * The file must hold exactly the bytes its header announces: a short file is
 * "truncated", extra bytes are "trailing data". Errors name the file:
 * LSP_EIO (cannot open/read, corrupt gzip stream), LSP_EDATA (format). */
#define LSP_IDX_MAXDIM 4
#define LSP_IDX_MAXEXT ((size_t)1 << 24)
#define LSP_IDX_MAXBYTES ((size_t)1 << 33)
int lsp_idx_read(const char *path, uint8_t **data, size_t *dims, int *ndims);

/* The path of IDX file `base` (e.g. "train-images-idx3-ubyte") in folder
 * `dir`: `dir/base` if it exists, else `dir/base.gz`. Writes into out[cap].
 * LSP_EIO naming both candidates when neither exists; LSP_EDATA when both
 * exist and do not hold the same bytes. */
int lsp_idx_find(const char *dir, const char *base, char *out, size_t cap);

/* CSV with the label in the first column and numeric features after it;
 * an optional header line is skipped when its first field is not a number,
 * or when it is pandas' column numbers 0, 1, ..., D (ten fields at least).
 * Fields are separated by commas (spaces/tabs around a field are ignored;
 * no quoting); CRLF line ends and blank lines are accepted. Labels must be
 * non-negative integers (written "3" or "3.0"), features finite numbers;
 * out->k = largest label + 1. Errors name file:line and the field: a bad
 * number, a non-integral or negative label, a row whose field count differs
 * from the first row's, no rows, no feature column. On failure *out is empty. */
int lsp_csv_read(const char *path, lsp_dataset *out);

/* FNV-1a 64-bit, chainable (start with LSP_FNV_INIT). */
#define LSP_FNV_INIT 0xcbf29ce484222325ull
uint64_t lsp_fnv1a(uint64_t h, const void *data, size_t len);

#endif
