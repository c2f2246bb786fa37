/* lsp_import.c — lsp_model_load: one entry point for every model source. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "core/base/lsp_error.h"
#include "core/import/lsp_import.h"

int lsp_model_load_note(const char *path, lsp_model **out, char *note, size_t cap) {
  *out = NULL;
  if (note && cap) note[0] = '\0';
  struct stat sb;
  if (stat(path, &sb) != 0)
    return lsp_fail(LSP_EIO, "%s: %s", path, strerror(errno));
  if (S_ISDIR(sb.st_mode)) return lsp_model_import_torch(path, out, note, cap);
  return lsp_model_load_lspm(path, out);
}

int lsp_model_load(const char *path, lsp_model **out) {
  return lsp_model_load_note(path, out, NULL, 0);
}
