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
  char source[512];    /* where it was read from, for reports           */
  int synthetic;       /* 1 when the data is the synthetic mixture      */
  float lo, hi;        /* valid input range (attack clipping bounds)   */
  size_t img_h, img_w; /* image geometry, 0 when not images             */
  uint64_t hash;       /* FNV-1a over every split's x and y, and the
                          split settings: keys cached models           */
} lsp_splits;

typedef struct {
  const char *spec;       /* "fashion-mnist", "synthetic", or a folder with
                             the four IDX files                          */
  size_t n_val;           /* validation examples taken from train (5000) */
  unsigned long seed;     /* split seed (1)                              */
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

void lsp_data_opts_default(lsp_data_opts *o);

/* The folder `fashion-mnist` resolves to: $LSPROBE_DATA if set, else
 * /usr/share/datasets/fashion-mnist (Debian's dataset-fashion-mnist). */
const char *lsp_data_fashion_dir(void);

/* Load and split. Errors name the file and the problem (truncated IDX,
 * wrong magic, image/label count mismatch, ...). */
int lsp_data_load(const lsp_data_opts *o, lsp_splits *out);
void lsp_splits_free(lsp_splits *s); /* NULL-safe, idempotent */
void lsp_dataset_free(lsp_dataset *d);

/* One IDX file (`*-ubyte` or `*-ubyte.gz`): images as n×(rows*cols) u8, or
 * labels as n u8. *data is malloc'd. dims[0] = n, dims[1..] the rest. */
int lsp_idx_read(const char *path, uint8_t **data, size_t *dims, int *ndims);

/* CSV with the label in the first column and numeric features after it;
 * an optional header line is skipped when its first field is not a number. */
int lsp_csv_read(const char *path, lsp_dataset *out);

/* FNV-1a 64-bit, chainable (start with LSP_FNV_INIT). */
#define LSP_FNV_INIT 0xcbf29ce484222325ull
uint64_t lsp_fnv1a(uint64_t h, const void *data, size_t len);

#endif
