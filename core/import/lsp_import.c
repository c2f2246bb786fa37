/* lsp_import.c — lsp_model_load: one entry point for every model source
 * (an .lspm file, an ONNX file, a PyTorch export folder). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "core/import/lsp_import.h"
#include "core/import/onnx/lsp_onnx.h"

static int ends_with(const char *s, const char *tail) {
  size_t n = strlen(s), t = strlen(tail);
  return n >= t && strcmp(s + n - t, tail) == 0;
}

/* An ONNX model from bytes already read; the note says what lsprobe read
 * differently from the file: a fixed batch size, and a final Softmax whose
 * input it takes as the logits. */
static int load_onnx(const char *path, const char *buf, size_t len,
                     const lsp_load_opts *o, lsp_model **out, char *note,
                     size_t cap) {
  lsp_onnx_model *om = NULL;
  int st = lsp_onnx_read_mem(buf, len, path, NULL, 0, &om);
  if (st) return st;
  lsp_onnx_lower_opts lo = {o ? o->features : NULL, 0};
  st = lsp_onnx_lower(om, path, &lo, out);
  size_t at = 0;
  if (st == LSP_OK && om->in_shape.dims[0] > 0 && note && cap)
    at = (size_t)snprintf(note, cap,
                          "%s fixes the batch size at %lld; lsprobe runs "
                          "batches of any size (every op it reads treats "
                          "the examples independently)",
                          path, (long long)om->in_shape.dims[0]);
  if (st == LSP_OK && om->softmax_op && note && at + 1 < cap)
    snprintf(note + at, cap - at,
             "%s%s: the graph output '%s' is the %s of the logits '%s'; "
             "lsprobe reads those logits (the same probabilities)",
             at ? "\n" : "", path, om->softmax_out, om->softmax_op,
             om->output);
  lsp_onnx_model_free(om);
  return st;
}

int lsp_model_load_opts(const char *path, const lsp_load_opts *o,
                        lsp_model **out, char *note, size_t cap) {
  if (note && cap) note[0] = '\0';
  if (!out) return lsp_fail(LSP_EINVAL, "model load: NULL output pointer");
  *out = NULL;
  if (!path) return lsp_fail(LSP_EINVAL, "model load: NULL path");
  if (!*path) return lsp_fail(LSP_EINVAL, "model load: the path is empty");
  struct stat sb;
  if (stat(path, &sb) != 0)
    return lsp_fail(LSP_EIO, "%s: %s", path, strerror(errno));
  int st;
  if (S_ISDIR(sb.st_mode)) {
    st = lsp_model_import_torch(path, out, note, cap);
  } else {
    char *buf = NULL;
    size_t len = 0;
    if ((st = lsp_read_file(path, &buf, &len))) return st;
    if (len == 0) {
      free(buf);
      return lsp_fail(LSP_EDATA, "%s: empty file (neither an lsprobe model nor ONNX)", path);
    }
    if (len >= 4 && memcmp(buf, "LSPM", 4) == 0) {
      st = lsp_model_read_lspm((const unsigned char *)buf, len, path, out);
    } else {
      st = load_onnx(path, buf, len, o, out, note, cap);
      if (st == LSP_EDATA && !ends_with(path, ".onnx")) {
        char why[1024];
        const char *w = lsp_errmsg();
        size_t pl = strlen(path);
        /* the ONNX reason without its "<path>: " prefix */
        snprintf(why, sizeof why, "%s",
                 strncmp(w, path, pl) == 0 && w[pl] == ':' ? w + pl + 2 : w);
        st = lsp_fail(LSP_EDATA,
                      "%s: not an lsprobe model (bad magic) and, read as "
                      "ONNX: %s",
                      path, why);
      }
      free(buf);
      return st;
    }
    free(buf);
  }
  if (st == LSP_OK && o && o->features && !ends_with(path, ".onnx")) {
    int id = lsp_model_find(*out, o->features);
    if (id < 0 || lsp_model_set_features(*out, id)) {
      /* name the layers there are (the last, the classifier, is no choice) */
      char names[512] = "";
      const lsp_model *m = *out;
      for (size_t i = 0; i + 1 < m->nnodes; i++) {
        size_t len = strlen(names);
        if (len + strlen(m->nodes[i].name) + 8 >= sizeof names) {
          snprintf(names + len, sizeof names - len, ", ...");
          break;
        }
        snprintf(names + len, sizeof names - len, "%s%s", i ? ", " : "", m->nodes[i].name);
      }
      lsp_model_free(*out);
      *out = NULL;
      if (id < 0)
        return lsp_fail(LSP_EINVAL, "%s: --features '%s': no layer of that name (its layers: %s)",
                        path, o->features, names);
      return lsp_fail(LSP_EINVAL, "%s: --features '%s': the classifier's output is not features",
                      path, o->features);
    }
  }
  return st;
}

int lsp_model_load_note(const char *path, lsp_model **out, char *note,
                        size_t cap) {
  return lsp_model_load_opts(path, NULL, out, note, cap);
}

int lsp_model_load(const char *path, lsp_model **out) {
  return lsp_model_load_opts(path, NULL, out, NULL, 0);
}
