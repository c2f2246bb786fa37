/* lsp_cache.h — the model cache of `lsprobe run`: a hit means the same
 * model.
 *
 * Models are stored as OUT/models/<key>.lspm. The key hashes the canonical
 * architecture (lsp_model_arch_string) and the settings part of the training
 * record the run wants (lsp_train_record: code version, every training
 * setting, the data hash and the train/validation split) in the record's
 * canonical encoding, so a setting added to the record enters the key
 * without a change here. Lookup loads the file and compares the
 * architecture and every setting from the file's own record; a file that
 * fails to load (CRC, truncation) or differs in anything is retrained, not
 * used. The thread count is not part of either: training gives the same
 * model for any thread count (lsp_train.h). */
#ifndef LSP_CACHE_H
#define LSP_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "core/nn/lsp_model.h"

/* The key of a model of architecture `arch` (the canonical string,
 * lsp_model_arch_string) trained as `want` records. */
uint64_t lsp_cache_key(const char *arch, const lsp_model_meta *want);

/* Path of the cache entry for `key` in `dir` ("<dir>/<16 hex digits>.lspm"),
 * on the heap (free()); NULL when out of memory. */
char *lsp_cache_path(const char *dir, uint64_t key);

/* Load a cached model if it is present, intact, of architecture `arch` (its
 * canonical string) and
 * recorded with exactly the settings of `want`; *m is NULL (and the return
 * LSP_OK) when there is nothing usable, with *why set to the reason
 * ("absent", "unusable (<load error>)", "a different network (<its
 * architecture>)", "recorded with other settings (cached vs this run):
 * lr (0.1 vs 0.3), epochs (15 vs 5)": every differing setting), each
 * read after "the cached model is". Errors: LSP_ENOMEM only. */
int lsp_cache_lookup(const char *path, const char *arch,
                     const lsp_model_meta *want, lsp_model **m,
                     const char **why);

#endif
