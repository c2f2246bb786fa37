/* lsp_data_pool.h — internal to the datasets layer (core/data/lsp_data*.c).
 *
 * Every source is reduced to two "pools", the training file (train + val
 * before the split) and the official test file, each rows of uint8 pixels or
 * float32 features plus int32 labels; lsp_data_split turns them into the
 * final splits. Not part of the public API. */
#ifndef LSP_DATA_POOL_H
#define LSP_DATA_POOL_H

#include "core/data/lsp_data.h"

typedef struct {
  size_t n, dim;
  const uint8_t *xu8; /* pixels, scaled by 1/255 (one of xu8 / xf32 set) */
  const float *xf32;  /* features, copied as they are                   */
  const int32_t *y;   /* labels in [0, k)                               */
} lsp_data_pool;

/* Shuffle the training pool with an mt19937 seeded with o->seed, take the
 * last n_val rows as validation and the others (cut to max_train) as
 * training, the test pool in order (cut to max_test); fill out->train, val,
 * test and out->hash. LSP_EINVAL when n_val does not fit. */
int lsp_data_split(const lsp_data_opts *o, const lsp_data_pool *tr,
                   const lsp_data_pool *te, int k, lsp_splits *out);

/* The sources (out is empty on entry; the caller frees it on failure). */
int lsp_data_load_folder(const char *dir, const lsp_data_opts *o,
                         lsp_splits *out);
int lsp_data_load_synthetic(const lsp_data_opts *o, lsp_splits *out);

#endif
