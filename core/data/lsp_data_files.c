/* lsp_data_files.c — datasets from a folder of files: the four IDX files of
 * MNIST-style sets (plain or gzip), train.csv + test.csv, or the .npy
 * quadruple x_train/y_train/x_test/y_test. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/data/lsp_data_pool.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_threads.h"
#include "core/formats/lsp_arraycheck.h"
#include "core/formats/lsp_npy.h"

/* ---- IDX ----------------------------------------------------------------- */

static const char *const k_csv_names[2] = {"train.csv", "test.csv"};
/* What the sparse-label refusal adds for a dataset's training labels. */
#define K_HINT " (a dataset has 1 + its largest training label classes)"

static const char *const k_idx_names[4] = {
    "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};

/* Labels as int32 (checked against k when k > 0; else *kmax is returned). */
static int idx_labels(const char *path, const uint8_t *raw, size_t n, int k,
                      int32_t **out, int *kmax) {
  int32_t *y = malloc((n ? n : 1) * sizeof *y);
  if (!y) return lsp_fail(LSP_ENOMEM, "%s: out of memory", path);
  int m = -1;
  for (size_t i = 0; i < n; i++) {
    if (k > 0 && raw[i] >= k) {
      free(y);
      return lsp_fail(LSP_EDATA,
                      "%s: label %d at index %zu is out of range "
                      "(the training labels are 0..%d)",
                      path, raw[i], i, k - 1);
    }
    y[i] = raw[i];
    if (y[i] > m) m = y[i];
  }
  *out = y;
  if (kmax) *kmax = m;
  return LSP_OK;
}

static int load_idx(const char *dir, const lsp_data_opts *o, lsp_splits *out) {
  char path[4][1024];
  uint8_t *raw[4] = {NULL, NULL, NULL, NULL};
  size_t dims[4][LSP_IDX_MAXDIM];
  int nd[4];
  int32_t *ytr = NULL, *yte = NULL;
  int st = LSP_OK, k = 0;
  for (int f = 0; f < 4; f++)
    if ((st = lsp_idx_find(dir, k_idx_names[f], path[f], sizeof path[f])))
      return st;
  /* Inflate the four files concurrently (the training images take most of
   * the time). Error messages are per thread, so each is kept and the first
   * failing file in order is reported. */
  int fst[4];
  char msg[4][1024];
#pragma omp parallel for schedule(dynamic, 1) num_threads(lsp_threads_get())
  for (int f = 0; f < 4; f++) {
    fst[f] = lsp_idx_read(path[f], &raw[f], dims[f], &nd[f]);
    if (fst[f]) snprintf(msg[f], sizeof msg[f], "%s", lsp_errmsg());
  }
  for (int f = 0; f < 4; f++)
    if (fst[f]) {
      st = lsp_fail(fst[f], "%s", msg[f]);
      goto done;
    }
  for (int f = 0; f < 4; f += 2) {
    if (nd[f] != 3) {
      st = lsp_fail(LSP_EDATA,
                    "%s: expected images (3 dimensions), found %d "
                    "dimension(s)",
                    path[f], nd[f]);
      goto done;
    }
    if (nd[f + 1] != 1) {
      st = lsp_fail(LSP_EDATA, "%s: expected labels (1 dimension), found %d",
                    path[f + 1], nd[f + 1]);
      goto done;
    }
    if (dims[f][0] != dims[f + 1][0]) {
      st = lsp_fail(LSP_EDATA, "%s has %zu labels but %s has %zu images",
                    path[f + 1], dims[f + 1][0], path[f], dims[f][0]);
      goto done;
    }
  }
  if (dims[0][0] < 2) {
    st = lsp_fail(LSP_EDATA, "%s: %zu training images (need at least 2)",
                  path[0], dims[0][0]);
    goto done;
  }
  if (dims[2][0] == 0) {
    st = lsp_fail(LSP_EDATA, "%s: no test images", path[2]);
    goto done;
  }
  if (dims[2][1] != dims[0][1] || dims[2][2] != dims[0][2]) {
    st = lsp_fail(LSP_EDATA,
                  "%s: images are %zux%zu but the training images "
                  "are %zux%zu",
                  path[2], dims[2][1], dims[2][2], dims[0][1], dims[0][2]);
    goto done;
  }
  /* (IDX labels are bytes: K <= 256, never sparse by lsp_labels_check_sparse) */
  if ((st = idx_labels(path[1], raw[1], dims[1][0], 0, &ytr, &k))) goto done;
  k += 1;
  if (k < 2) {
    st = lsp_fail(LSP_EDATA, "%s: need at least 2 classes, found %d", path[1],
                  k);
    goto done;
  }
  if ((st = idx_labels(path[3], raw[3], dims[3][0], k, &yte, NULL))) goto done;
  size_t dim = dims[0][1] * dims[0][2];
  lsp_data_pool tr = {dims[0][0], dim, raw[0], NULL, ytr};
  lsp_data_pool te = {dims[2][0], dim, raw[2], NULL, yte};
  if ((st = lsp_data_split(o, &tr, &te, k, out))) goto done;
  out->img_c = 1;
  out->img_h = dims[0][1];
  out->img_w = dims[0][2];
  out->lo = 0.0f;
  out->hi = 1.0f;
done:
  for (int f = 0; f < 4; f++) free(raw[f]);
  free(ytr);
  free(yte);
  return st;
}

/* ---- float features: the bounds are the observed range ------------------- */

static void float_bounds(const lsp_splits *s, float *lo, float *hi) {
  const lsp_dataset *ds[3] = {&s->train, &s->val, &s->test};
  float a, b;
  lsp_dataset_range(ds[0], lo, hi);
  for (int i = 1; i < 3; i++) {
    if (!ds[i]->n) continue;
    lsp_dataset_range(ds[i], &a, &b);
    *lo = a < *lo ? a : *lo;
    *hi = b > *hi ? b : *hi;
  }
}

/* ---- float data holding 0-255 pixels (DESIGN §3) ------------------------- */

/* Range of n floats, and whether every one is a whole number in [0, 255]. */
typedef struct {
  float mn, mx;
  int whole;
} frange;

static frange range_of(const float *x, size_t n, frange r) {
  for (size_t i = 0; i < n; i++) {
    float v = x[i];
    r.mn = v < r.mn ? v : r.mn;
    r.mx = v > r.mx ? v : r.mx;
    r.whole &= v >= 0.0f && v <= 255.0f && v == (float)(int)v;
  }
  return r;
}

/* The range of both files' features. */
static frange pair_range(const float *a, size_t na, const float *b, size_t nb) {
  frange r = {a[0], a[0], 1};
  return range_of(b, nb, range_of(a, na, r));
}

/* 8-bit pixels written as numbers: every value whole in [0, 255], some above
 * 1. Such data is read exactly as uint8 images are. */
static int is_pixels(frange r) { return r.whole && r.mx > 1.0f; }

/* n floats known to be whole numbers in [0, 255] as bytes (malloc'd). */
static uint8_t *to_u8(const float *x, size_t n, const char *path, int *st) {
  uint8_t *u = malloc(n ? n : 1);
  if (!u) {
    *st = lsp_fail(LSP_ENOMEM, "%s: out of memory", path);
    return NULL;
  }
  for (size_t i = 0; i < n; i++) u[i] = (uint8_t)x[i];
  return u;
}

static void note_pixels(lsp_splits *out, const char *a, const char *b, float mx) {
  snprintf(out->note, sizeof out->note,
           "%s and %s hold whole numbers in [0, 255] (largest %.0f): read "
           "as 8-bit pixels and scaled by 1/255 to [0, 1], as IDX images are",
           a, b, (double)mx);
}

/* ---- CSV: train.csv + test.csv ------------------------------------------- */

static int load_csv(const char *dir, const lsp_data_opts *o, lsp_splits *out) {
  char ptr[1024], pte[1024];
  snprintf(ptr, sizeof ptr, "%s/%s", dir, k_csv_names[0]);
  snprintf(pte, sizeof pte, "%s/%s", dir, k_csv_names[1]);
  lsp_dataset tr = {0}, te = {0};
  uint8_t *u8[2] = {NULL, NULL};
  int st;
  if ((st = lsp_csv_read(ptr, &tr)) ||
      (st = lsp_labels_check_sparse(tr.y, tr.n, ptr, K_HINT)) ||
      (st = lsp_csv_read(pte, &te)))
    goto done;
  if (te.dim != tr.dim) {
    st = lsp_fail(LSP_EDATA, "%s: %zu features per row but %s has %zu", pte,
                  te.dim, ptr, tr.dim);
    goto done;
  }
  if (te.k > tr.k) {
    st = lsp_fail(LSP_EDATA,
                  "%s: label %d is out of range (the training "
                  "labels are 0..%d)",
                  pte, te.k - 1, tr.k - 1);
    goto done;
  }
  frange r = pair_range(tr.x, tr.n * tr.dim, te.x, te.n * te.dim);
  int px = is_pixels(r);
  if (px && (!(u8[0] = to_u8(tr.x, tr.n * tr.dim, ptr, &st)) ||
             !(u8[1] = to_u8(te.x, te.n * te.dim, pte, &st))))
    goto done;
  lsp_data_pool a = {tr.n, tr.dim, u8[0], px ? NULL : tr.x, tr.y};
  lsp_data_pool b = {te.n, te.dim, u8[1], px ? NULL : te.x, te.y};
  if ((st = lsp_data_split(o, &a, &b, tr.k, out))) goto done;
  if (px) {
    out->lo = 0.0f;
    out->hi = 1.0f;
    note_pixels(out, "train.csv", "test.csv", r.mx);
  } else {
    float_bounds(out, &out->lo, &out->hi);
  }
done:
  free(u8[0]);
  free(u8[1]);
  lsp_dataset_free(&tr);
  lsp_dataset_free(&te);
  return st;
}

/* ---- .npy: x_train, y_train, x_test, y_test ------------------------------ */

static const char *const k_npy_names[4] = {"x_train.npy", "y_train.npy",
                                           "x_test.npy", "y_test.npy"};

int lsp_data_file_name(const char *base) {
  const char *const *sets[3] = {k_idx_names, k_npy_names, k_csv_names};
  for (int s = 0; s < 3; s++)
    for (int f = 0; f < (s == 2 ? 2 : 4); f++) {
      size_t l = strlen(sets[s][f]);
      if (strncmp(base, sets[s][f], l) == 0 &&
          (base[l] == 0 || (s == 0 && strcmp(base + l, ".gz") == 0)))
        return 1;
    }
  return 0;
}

static int load_npy(const char *dir, const lsp_data_opts *o, lsp_splits *out) {
  char path[4][1024];
  lsp_array arr[4] = {{0}};
  const float *xv[2] = {NULL, NULL};
  float *xown[2] = {NULL, NULL};
  uint8_t *pix[2] = {NULL, NULL}; /* float pixels 0-255 as bytes */
  int32_t *y[2] = {NULL, NULL};
  int st = LSP_OK, k = 0;
  for (int f = 0; f < 4; f++) {
    snprintf(path[f], sizeof path[f], "%s/%s", dir, k_npy_names[f]);
    if ((st = lsp_npy_read(path[f], &arr[f]))) goto done;
  }
  int u8 = arr[0].dtype == LSP_DT_U8;
  for (int f = 0; f < 4; f += 2) {
    const lsp_array *x = &arr[f];
    if (x->ndim >= 2 && x->ndim <= 4 && x->count == 0) {
      if (x->shape[0] == 0)
        st = lsp_fail(LSP_EDATA, "%s: empty array (0 rows)", path[f]);
      else
        st = lsp_fail(LSP_EDATA, "%s: empty array (0 values per row)", path[f]);
      goto done;
    }
    if (x->ndim < 2 || x->ndim > 4) {
      st = lsp_fail(LSP_EDATA,
                    "%s: expected N x D features, N x H x W or N x C x H x W "
                    "images, found %d dimension(s)",
                    path[f], x->ndim);
      goto done;
    }
    if ((x->dtype == LSP_DT_U8) != u8) {
      st = lsp_fail(LSP_EDATA, "%s: %s but %s is %s", path[f],
                    lsp_dtype_name(x->dtype), path[0],
                    lsp_dtype_name(arr[0].dtype));
      goto done;
    }
    if (x->ndim != arr[0].ndim || x->shape[1] != arr[0].shape[1] ||
        (x->ndim >= 3 && x->shape[2] != arr[0].shape[2]) ||
        (x->ndim == 4 && x->shape[3] != arr[0].shape[3])) {
      st = lsp_fail(LSP_EDATA, "%s: rows of another shape than in %s", path[f],
                    path[0]);
      goto done;
    }
    if (!u8 && (st = lsp_array_f32(x, path[f], 1, &xv[f / 2], &xown[f / 2])))
      goto done;
    if ((st = lsp_array_labels(&arr[f + 1], path[f + 1], f ? k : 0, &y[f / 2])))
      goto done;
    if (arr[f + 1].count != x->shape[0]) {
      st = lsp_fail(LSP_EDATA, "%s has %zu labels but %s has %zu rows",
                    path[f + 1], arr[f + 1].count, path[f], x->shape[0]);
      goto done;
    }
    if (f == 0) {
      if ((st = lsp_labels_check_sparse(y[0], arr[1].count, path[1], K_HINT)))
        goto done;
      for (size_t i = 0; i < arr[1].count; i++)
        k = y[0][i] >= k ? y[0][i] + 1 : k;
      if (k < 2) {
        st = lsp_fail(LSP_EDATA, "%s: need at least 2 classes, found %d",
                      path[1], k);
        goto done;
      }
    }
  }
  size_t dim = arr[0].count / arr[0].shape[0];
  int px = 0;
  frange r = {0, 0, 0};
  if (!u8) {
    r = pair_range(xv[0], arr[0].count, xv[1], arr[2].count);
    px = is_pixels(r);
    if (!px && arr[0].ndim >= 3 && (r.mn < 0.0f || r.mx > 1.0f)) {
      st = lsp_fail(LSP_EDATA,
                    "%s, %s: image values span [%g, %g]; pixels must lie in "
                    "[0, 1] or be whole numbers 0-255 (8-bit): scale them to "
                    "[0, 1] (x/255 for 8-bit pixels)",
                    path[0], path[2], (double)r.mn, (double)r.mx);
      goto done;
    }
    if (px && (!(pix[0] = to_u8(xv[0], arr[0].count, path[0], &st)) ||
               !(pix[1] = to_u8(xv[1], arr[2].count, path[2], &st))))
      goto done;
  }
  lsp_data_pool a = {arr[0].shape[0], dim, u8 ? arr[0].data : pix[0],
                     px ? NULL : xv[0], y[0]};
  lsp_data_pool b = {arr[2].shape[0], dim, u8 ? arr[2].data : pix[1],
                     px ? NULL : xv[1], y[1]};
  if ((st = lsp_data_split(o, &a, &b, k, out))) goto done;
  if (arr[0].ndim >= 3) { /* N x H x W: one channel; N x C x H x W */
    out->img_c = arr[0].ndim == 4 ? arr[0].shape[1] : 1;
    out->img_h = arr[0].shape[arr[0].ndim - 2];
    out->img_w = arr[0].shape[arr[0].ndim - 1];
  }
  if (u8 || px) {
    out->lo = 0.0f;
    out->hi = 1.0f;
    if (px) note_pixels(out, k_npy_names[0], k_npy_names[2], r.mx);
  } else {
    float_bounds(out, &out->lo, &out->hi);
  }
done:
  for (int i = 0; i < 2; i++) {
    free(xown[i]);
    free(pix[i]);
    free(y[i]);
  }
  for (int f = 0; f < 4; f++) lsp_array_release(&arr[f]);
  return st;
}

/* The files of one format present in dir, comma-separated into buf (IDX
 * files with their .gz suffix when compressed); returns how many. */
static int present(const char *dir, const char *const *names, int n, int gz,
                   char *buf, size_t cap) {
  char p[1024];
  struct stat sb;
  int found = 0;
  buf[0] = '\0';
  for (int f = 0; f < n; f++)
    for (int z = 0; z <= gz; z++) {
      snprintf(p, sizeof p, "%s/%s%s", dir, names[f], z ? ".gz" : "");
      if (stat(p, &sb) != 0) continue;
      size_t len = strlen(buf);
      snprintf(buf + len, cap - len, "%s%s%s", found ? ", " : "", names[f],
               z ? ".gz" : "");
      found++;
    }
  return found;
}

/* A folder holding the files of more than one format is refused: which set
 * was meant cannot be told, and reading one would silently ignore the other. */
static int check_one_format(const char *dir) {
  static const char *const kind[3] = {"IDX", "CSV", ".npy"};
  char have[3][512];
  int n[3], kinds = 0;
  n[0] = present(dir, k_idx_names, 4, 1, have[0], sizeof have[0]);
  n[1] = present(dir, k_csv_names, 2, 0, have[1], sizeof have[1]);
  n[2] = present(dir, k_npy_names, 4, 0, have[2], sizeof have[2]);
  for (int s = 0; s < 3; s++) kinds += n[s] > 0;
  if (kinds < 2) return LSP_OK;
  char list[1600] = "";
  for (int s = 0, said = 0; s < 3; s++) {
    if (!n[s]) continue;
    const char *sep = said == 0 ? "" : said + 1 == kinds ? " and " : ", ";
    size_t len = strlen(list);
    snprintf(list + len, sizeof list - len, "%s%s files (%s)", sep, kind[s],
             have[s]);
    said++;
  }
  return lsp_fail(LSP_EDATA,
                  "%s: holds %s: the folder must hold one dataset format; "
                  "move one set of files to a folder of its own and give "
                  "that folder",
                  dir, list);
}

int lsp_data_load_folder(const char *dir, const lsp_data_opts *o,
                         lsp_splits *out) {
  char p[1024];
  struct stat sb;
  int st = check_one_format(dir);
  if (st) return st;
  snprintf(p, sizeof p, "%s/%s", dir, k_idx_names[0]);
  int idx = stat(p, &sb) == 0;
  snprintf(p, sizeof p, "%s/%s.gz", dir, k_idx_names[0]);
  if (idx || stat(p, &sb) == 0) return load_idx(dir, o, out);
  snprintf(p, sizeof p, "%s/%s", dir, k_csv_names[0]);
  if (stat(p, &sb) == 0) return load_csv(dir, o, out);
  snprintf(p, sizeof p, "%s/%s", dir, k_npy_names[0]);
  if (stat(p, &sb) == 0) return load_npy(dir, o, out);
  return lsp_fail(LSP_EIO,
                  "%s: no dataset found: expected %s[.gz] and the "
                  "other IDX files, train.csv + test.csv, or x_train.npy, "
                  "y_train.npy, x_test.npy, y_test.npy",
                  dir, k_idx_names[0]);
}
