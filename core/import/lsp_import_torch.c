/* lsp_import_torch.c — an MLP exported from PyTorch as one .npy per
 * state_dict tensor (see lsp_import.h).
 *
 * The folder is read in one pass over the names (what is there, what is
 * refused), then each tensor is read exactly once and kept until the model
 * is built from it: a file is never re-read between being checked and
 * being copied. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/base/lsp_error.h"
#include "core/formats/lsp_npy.h"
#include "core/import/lsp_import.h"

/* ---- names ---------------------------------------------------------------- */

enum { SEG_MAX = 16 };

/* A state_dict key as a file name, "net.0.weight.npy": its dot-separated
 * segments, each a module index (digits) or a Python identifier. 0 when the
 * name is not such a key (other files are ignored: reference arrays, notes). */
typedef struct {
  size_t n;
  char seg[SEG_MAX][64];
  int is_index[SEG_MAX];
} key;

static int parse_key(const char *file, key *k) {
  size_t len = strlen(file);
  if (len < 5 || strcmp(file + len - 4, ".npy") != 0) return 0;
  k->n = 0;
  const char *p = file, *end = file + len - 4;
  while (p < end) {
    const char *dot = memchr(p, '.', (size_t)(end - p));
    const char *q = dot ? dot : end;
    size_t sl = (size_t)(q - p);
    if (sl == 0 || sl >= sizeof k->seg[0] || k->n == SEG_MAX) return 0;
    int digits = 1, ident = isalpha((unsigned char)p[0]) || p[0] == '_';
    for (size_t i = 0; i < sl; i++) {
      digits &= isdigit((unsigned char)p[i]) != 0;
      ident &= isalnum((unsigned char)p[i]) || p[i] == '_';
    }
    if (!digits && !ident) return 0;
    memcpy(k->seg[k->n], p, sl);
    k->seg[k->n][sl] = '\0';
    k->is_index[k->n++] = digits;
    p = q + (dot ? 1 : 0);
    if (dot && p == end) return 0; /* a trailing dot */
  }
  return k->n >= 2 && !k->is_index[k->n - 1];
}

static int is_bn_stat(const char *s) {
  return !strcmp(s, "running_mean") || !strcmp(s, "running_var") ||
         !strcmp(s, "num_batches_tracked");
}

static int is_param(const char *s) {
  return !strcmp(s, "weight") || !strcmp(s, "bias") || is_bn_stat(s);
}

/* The names scan() reads or refuses: "<i>.<anything>" and any key whose
 * last segment is a module parameter. */
int lsp_import_torch_file_name(const char *base) {
  key k;
  if (!parse_key(base, &k)) return 0;
  return (k.n == 2 && k.is_index[0]) || is_param(k.seg[k.n - 1]);
}

/* ---- tensors ---------------------------------------------------------------- */

typedef struct {
  long index;
  int have_w, have_b;
  lsp_array w, b;             /* owned once read */
  const float *wv, *bv;       /* float32 views */
  float *wown, *bown;         /* owned conversions (float64 files) */
} layer;

static void layer_release(layer *l) {
  if (l->have_w) lsp_array_release(&l->w);
  if (l->have_b) lsp_array_release(&l->b);
  free(l->wown);
  free(l->bown);
}

static int cmp_layer(const void *a, const void *b) {
  long x = ((const layer *)a)->index, y = ((const layer *)b)->index;
  return (x > y) - (x < y);
}

/* Read one tensor (once) as float32, with `ndim` dimensions. */
static int read_tensor(const char *path, int ndim, lsp_array *a, const float **v,
                       float **own) {
  int st = lsp_npy_read(path, a);
  if (st) return st;
  if (a->ndim != ndim) {
    if (ndim == 2 && a->ndim == 1)
      st = lsp_fail(LSP_EDATA,
                    "%s: a 1-D weight, the scale of a normalization layer (BatchNorm, "
                    "LayerNorm): this importer reads Linear layers (2-D weights) only",
                    path);
    else
      st = lsp_fail(LSP_EDATA, "%s: expected a %d-D tensor, got %d dimensions", path, ndim,
                    a->ndim);
    lsp_array_release(a);
    return st;
  }
  st = lsp_array_f32(a, path, 1, v, own);
  if (st) lsp_array_release(a);
  return st;
}

/* ---- the folder ------------------------------------------------------------ */

/* Scan the names: collect <i>.weight / <i>.bias into *layers, refuse what
 * cannot be represented. */
static int scan(const char *dir, layer **layers, size_t *nl) {
  DIR *d = opendir(dir);
  if (!d) return lsp_fail(LSP_EIO, "%s: %s", dir, strerror(errno));
  size_t cap = 0;
  int st = LSP_OK;
  struct dirent *e;
  key k;
  while (st == LSP_OK && (e = readdir(d))) {
    if (!parse_key(e->d_name, &k)) continue;
    const char *last = k.seg[k.n - 1];
    if (k.n > 2 || !k.is_index[0]) {
      if (!is_param(last)) continue; /* not a tensor of a module */
      /* a prefix before the Sequential's index ("net." of net.0.weight),
       * or named modules ("fc1" of fc1.weight) */
      int wrapped = k.n > 2 && k.is_index[k.n - 2];
      size_t upto = wrapped ? k.n - 2 : k.n - 1;
      char prefix[256] = "";
      for (size_t i = 0; i < upto; i++)
        snprintf(prefix + strlen(prefix), sizeof prefix - strlen(prefix), "%s%s",
                 k.seg[i], wrapped || i + 1 < upto ? "." : "");
      if (wrapped)
        st = lsp_fail(LSP_EDATA,
                      "%s/%s: the tensors are under the prefix '%s' (a wrapped module); "
                      "export the inner nn.Sequential's state_dict, or remove the prefix "
                      "from the file names",
                      dir, e->d_name, prefix);
      else
        st = lsp_fail(LSP_EDATA,
                      "%s/%s: a named module ('%s'), not an nn.Sequential index: the layer "
                      "order is unknown; export an nn.Sequential of Linear and ReLU layers",
                      dir, e->d_name, prefix);
      break;
    }
    errno = 0;
    char *end;
    long idx = strtol(k.seg[0], &end, 10);
    if (errno || idx > 100000) continue;
    if (is_bn_stat(last)) {
      st = lsp_fail(LSP_EDATA,
                    "%s/%s: module %ld is a BatchNorm layer (running statistics): this "
                    "importer reads nn.Sequential MLPs of Linear and ReLU layers only",
                    dir, e->d_name, idx);
      break;
    }
    int is_w = !strcmp(last, "weight");
    if (!is_w && strcmp(last, "bias")) {
      st = lsp_fail(LSP_EDATA,
                    "%s/%s: module %ld has a tensor '%s', which no Linear layer has: this "
                    "importer reads nn.Sequential MLPs of Linear and ReLU layers only",
                    dir, e->d_name, idx, last);
      break;
    }
    size_t i = 0;
    while (i < *nl && (*layers)[i].index != idx) i++;
    if (i == *nl) {
      if (*nl == cap) {
        cap = cap ? 2 * cap : 8;
        layer *nlay = realloc(*layers, cap * sizeof *nlay);
        if (!nlay) {
          st = lsp_fail(LSP_ENOMEM, "%s: out of memory", dir);
          break;
        }
        *layers = nlay;
      }
      memset(&(*layers)[i], 0, sizeof **layers);
      (*layers)[i].index = idx;
      (*nl)++;
    }
    if (is_w)
      (*layers)[i].have_w = 1;
    else
      (*layers)[i].have_b = 1;
  }
  closedir(d);
  return st;
}

int lsp_model_import_torch(const char *dir, lsp_model **out, char *note, size_t cap) {
  *out = NULL;
  if (note && cap) note[0] = '\0';
  layer *ls = NULL;
  size_t nl = 0, *hidden = NULL;
  lsp_model *m = NULL;
  char path[4096];
  int st = scan(dir, &ls, &nl);
  if (st) goto done;
  if (nl == 0) {
    st = lsp_fail(LSP_EDATA,
                  "%s: no <i>.weight.npy tensors (expected a PyTorch state_dict export)",
                  dir);
    goto done;
  }
  qsort(ls, nl, sizeof *ls, cmp_layer);
  /* every weight needs its bias and vice versa (nothing read yet) */
  for (size_t i = 0; i < nl; i++)
    if (!ls[i].have_w || !ls[i].have_b) {
      snprintf(path, sizeof path, "%s/%ld.%s.npy", dir, ls[i].index,
               ls[i].have_w ? "bias" : "weight");
      st = lsp_fail(LSP_EDATA, "%s: missing (the %s of %ld.%s.npy)", path,
                    ls[i].have_w ? "bias" : "weight", ls[i].index,
                    ls[i].have_w ? "weight" : "bias");
      ls[i].have_w = ls[i].have_b = 0; /* nothing to release */
      goto done;
    }
  for (size_t i = 0; i < nl; i++) ls[i].have_w = ls[i].have_b = 0; /* now: "read" */
  /* read every tensor once, checking shapes as we go */
  for (size_t i = 0; i < nl; i++) {
    layer *l = &ls[i];
    snprintf(path, sizeof path, "%s/%ld.weight.npy", dir, l->index);
    if ((st = read_tensor(path, 2, &l->w, &l->wv, &l->wown))) goto done;
    l->have_w = 1;
    size_t o = l->w.shape[0], in = l->w.shape[1];
    if (o == 0 || in == 0) {
      st = lsp_fail(LSP_EDATA, "%s: empty weight [%zu, %zu]", path, o, in);
      goto done;
    }
    if (i > 0 && in != ls[i - 1].w.shape[0]) {
      st = lsp_fail(LSP_EDATA,
                    "%s: shape [%zu, %zu] takes %zu inputs but the previous layer gives %zu",
                    path, o, in, in, ls[i - 1].w.shape[0]);
      goto done;
    }
    snprintf(path, sizeof path, "%s/%ld.bias.npy", dir, l->index);
    if ((st = read_tensor(path, 1, &l->b, &l->bv, &l->bown))) goto done;
    l->have_b = 1;
    if (l->b.shape[0] != o) {
      st = lsp_fail(LSP_EDATA, "%s: shape [%zu], expected [%zu] (the rows of the weight)",
                    path, l->b.shape[0], o);
      goto done;
    }
  }
  hidden = malloc(nl * sizeof *hidden);
  if (!hidden) {
    st = lsp_fail(LSP_ENOMEM, "%s: out of memory", dir);
    goto done;
  }
  for (size_t i = 0; i + 1 < nl; i++) hidden[i] = ls[i].w.shape[0];
  m = lsp_model_alloc_mlp(ls[0].w.shape[1], hidden, nl - 1, ls[nl - 1].w.shape[0]);
  if (!m) {
    st = lsp_fail_prefix(LSP_EDATA, dir);
    goto done;
  }
  /* copy the tensors read above, layer by layer (W then b) */
  size_t off = 0;
  for (size_t i = 0; i < nl; i++) {
    size_t o = ls[i].w.shape[0], in = ls[i].w.shape[1];
    memcpy(m->params + off, ls[i].wv, o * in * sizeof(float));
    off += o * in;
    memcpy(m->params + off, ls[i].bv, o * sizeof(float));
    off += o;
  }
  if (note && cap && nl > 1)
    snprintf(note, cap,
             "%s: a state_dict export records no activations: ReLU is assumed between "
             "its %zu Linear layers; if the model uses another activation, every number "
             "computed from it here is wrong",
             dir, nl);
  *out = m;
  m = NULL;
done:
  for (size_t i = 0; i < nl; i++) layer_release(&ls[i]);
  lsp_model_free(m);
  free(ls);
  free(hidden);
  return st;
}
