#include "reports/lsp_cache.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "core/import/lsp_import.h"

static uint64_t mix(uint64_t h, const void *p, size_t n) { return lsp_fnv1a(h, p, n); }

uint64_t lsp_cache_key(const lsp_splits *data, const size_t *hidden, size_t nh,
                       const lsp_train_opts *t) {
  uint64_t h = LSP_FNV_INIT;
  int v = LSP_TRAIN_CODE_VERSION;
  h = mix(h, &v, sizeof v);
  h = mix(h, &data->hash, sizeof data->hash);
  uint64_t dims[8 + 1] = {nh};
  for (size_t i = 0; i < nh && i < 8; i++) dims[i + 1] = hidden[i];
  h = mix(h, dims, sizeof dims);
  /* every field that changes the weights, in a fixed encoding */
  double d[5] = {t->smoothing.eps, t->lr, t->momentum, t->weight_decay, 0};
  uint64_t u[7] = {(uint64_t)t->smoothing.convention, (uint64_t)t->smoothing.normalize,
                   t->epochs, t->batch, (uint64_t)t->cosine, (uint64_t)t->adam, t->seed};
  h = mix(h, d, sizeof d);
  h = mix(h, u, sizeof u);
  return h;
}

char *lsp_cache_path(const char *dir, uint64_t key) {
  return lsp_strdupf("%s/%016llx.lspm", dir, (unsigned long long)key);
}

int lsp_cache_lookup(const char *path, const lsp_splits *data,
                     const lsp_train_opts *t, lsp_model **m, const char **why) {
  *m = NULL;
  struct stat sb;
  if (stat(path, &sb) != 0) {
    *why = "absent";
    return LSP_OK;
  }
  lsp_model *c = NULL;
  if (lsp_model_load(path, &c) != LSP_OK) {
    static _Thread_local char reason[600];
    snprintf(reason, sizeof reason, "unusable (%s)", lsp_errmsg());
    *why = reason;
    return LSP_OK;
  }
  const lsp_model_meta *mt = &c->meta;
  if (!mt->trained || mt->data_hash != data->hash || mt->smoothing.eps != t->smoothing.eps ||
      mt->smoothing.convention != t->smoothing.convention || mt->seed != t->seed ||
      mt->epochs != (int)t->epochs || c->in_dim != data->train.dim ||
      c->out_dim != (size_t)data->train.k) {
    lsp_model_free(c);
    *why = "recorded settings differ";
    return LSP_OK;
  }
  *m = c;
  *why = "cached";
  return LSP_OK;
}
