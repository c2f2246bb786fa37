/* lsp_cache.h — the model cache of `lsprobe run`: models are stored as
 * OUT/models/<key>.lspm, where the key hashes everything that determines
 * the trained weights (data hash, architecture, training settings, seed,
 * lsprobe's training-code version). A cached file that fails to load (CRC,
 * truncation) or whose recorded settings differ is retrained, not used. */
#ifndef LSP_CACHE_H
#define LSP_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "core/data/lsp_data.h"
#include "core/nn/lsp_model.h"
#include "core/train/lsp_train.h"

/* Bump when a change to training would change the weights for the same
 * settings, so old cache entries are not reused. */
#define LSP_TRAIN_CODE_VERSION 1

uint64_t lsp_cache_key(const lsp_splits *data, const size_t *hidden, size_t nh,
                       const lsp_train_opts *t);

/* Path of the cache entry for `key` in `dir` ("<dir>/<16 hex digits>.lspm"),
 * on the heap (free()); NULL when out of memory. */
char *lsp_cache_path(const char *dir, uint64_t key);

/* Load a cached model if it is present, intact, and recorded with the same
 * settings; *m is NULL (and the return 0) when there is nothing usable, with
 * *why set to a reason ("absent", "corrupt: ...", "settings differ"). */
int lsp_cache_lookup(const char *path, const lsp_splits *data,
                     const lsp_train_opts *t, lsp_model **m, const char **why);

#endif
