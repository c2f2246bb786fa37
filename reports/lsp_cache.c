/* lsp_cache.c — see lsp_cache.h. */
#include "reports/lsp_cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/base/lsp_error.h"
#include "core/data/lsp_data.h"
#include "core/base/lsp_io.h"
#include "core/import/lsp_import.h"

uint64_t lsp_cache_key(const char *arch, const lsp_model_meta *want) {
  uint64_t h = lsp_fnv1a(LSP_FNV_INIT, "lsprobe-cache-v2", 16);
  h = lsp_fnv1a(h, arch, strlen(arch) + 1);
  unsigned char *rec = NULL;
  size_t len = 0;
  if (lsp_model_record_encode(want, 1, &rec, &len) == LSP_OK) {
    h = lsp_fnv1a(h, rec, len);
    free(rec);
  } else {
    /* out of memory: a key no file has, so the lookup misses and trains */
    h = lsp_fnv1a(h, "unencodable", 11);
  }
  return h;
}

char *lsp_cache_path(const char *dir, uint64_t key) {
  return lsp_strdupf("%s/%016llx.lspm", dir, (unsigned long long)key);
}

/* 1 when the model's canonical architecture string is `arch`, 0 when not,
 * -1 out of memory. */
static int same_arch(const lsp_model *c, const char *arch) {
  size_t n = lsp_model_arch_string(c, NULL, 0);
  char *s = malloc(n + 1);
  if (!s) return -1;
  lsp_model_arch_string(c, s, n + 1);
  int same = strcmp(s, arch) == 0;
  free(s);
  return same;
}

int lsp_cache_lookup(const char *path, const char *arch,
                     const lsp_model_meta *want, lsp_model **m,
                     const char **why) {
  static _Thread_local char reason[800];
  *m = NULL;
  struct stat sb;
  if (stat(path, &sb) != 0) {
    *why = "absent";
    return LSP_OK;
  }
  lsp_model *c = NULL;
  int st = lsp_model_load(path, &c);
  if (st == LSP_ENOMEM) return st;
  if (st != LSP_OK) {
    snprintf(reason, sizeof reason, "unusable (%s)", lsp_errmsg());
    *why = reason;
    return LSP_OK;
  }
  char got_arch[256], diff[600];
  lsp_model_describe(c, got_arch, sizeof got_arch);
  const char *d = NULL;
  int same = same_arch(c, arch);
  if (same < 0) {
    lsp_model_free(c);
    return lsp_fail(LSP_ENOMEM, "out of memory");
  }
  if (!same) {
    lsp_model_free(c);
    snprintf(reason, sizeof reason, "a different network (%s)", got_arch);
    *why = reason;
    return LSP_OK;
  }
  if ((d = lsp_model_record_diff(&c->meta, want, diff, sizeof diff))) {
    lsp_model_free(c);
    snprintf(reason, sizeof reason, "recorded with other settings (cached vs this run): %s", d);
    *why = reason;
    return LSP_OK;
  }
  *m = c;
  *why = "cached";
  return LSP_OK;
}
