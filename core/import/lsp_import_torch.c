/* lsp_import_torch.c — an MLP exported from PyTorch as one .npy per
 * state_dict tensor (see lsp_import.h). */
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

/* ---- PyTorch export folders ---------------------------------------------- */

/* "12.weight.npy" -> 12 with *is_weight = 1; -1 for other names. */
static long tensor_index(const char *name, int *is_weight) {
  if (!isdigit((unsigned char)name[0])) return -1;
  char *end;
  errno = 0;
  long v = strtol(name, &end, 10);
  if (errno || v < 0 || v > 100000) return -1;
  if (strcmp(end, ".weight.npy") == 0)
    *is_weight = 1;
  else if (strcmp(end, ".bias.npy") == 0)
    *is_weight = 0;
  else
    return -1;
  return v;
}

static int cmp_long(const void *a, const void *b) {
  long x = *(const long *)a, y = *(const long *)b;
  return (x > y) - (x < y);
}

/* Read one tensor as float32 with the expected number of dimensions; the
 * shape is checked by the caller. */
static int read_tensor(const char *path, int ndim, lsp_array *a,
                       const float **v, float **own) {
  int st = lsp_npy_read(path, a);
  if (st) return st;
  if (a->ndim != ndim) {
    st = lsp_fail(LSP_EDATA, "%s: expected a %d-D tensor, got %d dimensions",
                  path, ndim, a->ndim);
    lsp_array_release(a);
    return st;
  }
  st = lsp_array_f32(a, path, 1, v, own);
  if (st) lsp_array_release(a);
  return st;
}

int lsp_model_import_torch(const char *dir, lsp_model **out) {
  *out = NULL;
  long *wi = NULL, *bi = NULL;
  size_t nw = 0, nb = 0, cap = 0;
  size_t *hidden = NULL, *shapes = NULL;
  lsp_model *m = NULL;
  char *path = NULL;
  int st = LSP_OK;
  DIR *d = opendir(dir);
  if (!d) return lsp_fail(LSP_EIO, "%s: %s", dir, strerror(errno));
  struct dirent *e;
  while ((e = readdir(d))) {
    int is_w;
    long idx = tensor_index(e->d_name, &is_w);
    if (idx < 0) continue;
    if (nw + nb + 1 > cap) {
      cap = cap ? 2 * cap : 16;
      long *a = realloc(wi, cap * sizeof *a),
           *b2 = a ? realloc(bi, cap * sizeof *b2) : NULL;
      if (a) wi = a;
      if (b2) bi = b2;
      if (!a || !b2) {
        closedir(d);
        st = lsp_fail(LSP_ENOMEM, "%s: out of memory", dir);
        goto done;
      }
    }
    if (is_w)
      wi[nw++] = idx;
    else
      bi[nb++] = idx;
  }
  closedir(d);
  if (nw == 0) {
    st = lsp_fail(
        LSP_EDATA,
        "%s: no <i>.weight.npy tensors (expected a PyTorch state_dict export)",
        dir);
    goto done;
  }
  qsort(wi, nw, sizeof *wi, cmp_long);
  qsort(bi, nb, sizeof *bi, cmp_long);
  size_t plen = strlen(dir) + 32;
  path = malloc(plen);
  shapes = malloc(2 * nw * sizeof *shapes);
  hidden = malloc(nw * sizeof *hidden);
  if (!path || !shapes || !hidden) {
    st = lsp_fail(LSP_ENOMEM, "%s: out of memory", dir);
    goto done;
  }
  /* Every weight needs its bias and vice versa. */
  for (size_t i = 0, j = 0; i < nw || j < nb;) {
    if (j >= nb || (i < nw && wi[i] < bi[j])) {
      snprintf(path, plen, "%s/%ld.bias.npy", dir, wi[i]);
      st = lsp_fail(LSP_EDATA, "%s: missing (the bias of %ld.weight.npy)", path,
                    wi[i]);
      goto done;
    }
    if (i >= nw || bi[j] < wi[i]) {
      snprintf(path, plen, "%s/%ld.weight.npy", dir, bi[j]);
      st = lsp_fail(LSP_EDATA, "%s: missing (the weight of %ld.bias.npy)", path,
                    bi[j]);
      goto done;
    }
    i++, j++;
  }
  /* Two passes: shapes first (to allocate the model), then the values. */
  for (int pass = 0; pass < 2; pass++) {
    size_t off = 0;
    for (size_t i = 0; i < nw; i++) {
      lsp_array a = {0};
      const float *v;
      float *own = NULL;
      snprintf(path, plen, "%s/%ld.weight.npy", dir, wi[i]);
      if ((st = read_tensor(path, 2, &a, &v, &own))) goto done;
      size_t o = a.shape[0], in = a.shape[1];
      if (pass == 0) {
        shapes[2 * i] = o;
        shapes[2 * i + 1] = in;
        int bad_prev = i > 0 && in != shapes[2 * i - 2];
        if (o == 0 || in == 0 || bad_prev) {
          if (bad_prev)
            lsp_fail(LSP_EDATA,
                     "%s: shape [%zu, %zu] takes %zu inputs but the previous "
                     "layer gives %zu",
                     path, o, in, in, shapes[2 * i - 2]);
          else
            lsp_fail(LSP_EDATA, "%s: empty weight [%zu, %zu]", path, o, in);
          st = LSP_EDATA;
        }
        if (i + 1 < nw) hidden[i] = o;
      } else {
        memcpy(m->params + off, v, o * in * sizeof(float));
        off += o * in;
      }
      free(own);
      lsp_array_release(&a);
      if (st) goto done;
      snprintf(path, plen, "%s/%ld.bias.npy", dir, wi[i]);
      if ((st = read_tensor(path, 1, &a, &v, &own))) goto done;
      if (a.shape[0] != o) {
        st =
            lsp_fail(LSP_EDATA,
                     "%s: shape [%zu], expected [%zu] (the rows of the weight)",
                     path, a.shape[0], o);
      } else if (pass == 1) {
        memcpy(m->params + off, v, o * sizeof(float));
        off += o;
      }
      free(own);
      lsp_array_release(&a);
      if (st) goto done;
    }
    if (pass == 0) {
      m = lsp_model_alloc_mlp(shapes[1], hidden, nw - 1, shapes[2 * (nw - 1)]);
      if (!m) {
        st = lsp_fail_prefix(LSP_EDATA, dir);
        goto done;
      }
    }
  }
  *out = m;
  m = NULL;
done:
  lsp_model_free(m);
  free(path);
  free(shapes);
  free(hidden);
  free(wi);
  free(bi);
  return st;
}

