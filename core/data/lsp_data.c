/* lsp_data.c — the dataset entry point, the seeded train/validation split,
 * the content hash and small dataset utilities.
 *
 * The sources (lsp_data_files.c, lsp_data_synth.c) reduce their data to two
 * pools (lsp_data_pool.h); the split gathers rows straight from a pool into
 * the final float32 arrays, so Fashion-MNIST's pixels are converted once and
 * never copied as floats twice. */
#define _POSIX_C_SOURCE 200809L
#include "core/data/lsp_data.h"

#include <errno.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/base/lsp_util.h"
#include "core/data/lsp_data_pool.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_threads.h"

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

void lsp_data_opts_default(lsp_data_opts *o) {
  memset(o, 0, sizeof *o);
  o->spec = "fashion-mnist";
  o->n_val = LSP_DATA_VAL_AUTO;
  o->seed = 1;
  o->syn_train = 6000;
  o->syn_test = 2000;
  o->syn_dim = 64;
  o->syn_k = 10;
  o->syn_sep = 3.0;
}

const char *lsp_data_fashion_dir(void) {
  const char *env = getenv("LSPROBE_DATA");
  return env && *env ? env : FASHION_DIR;
}

uint64_t lsp_fnv1a(uint64_t h, const void *data, size_t len) {
  const unsigned char *p = data;
  for (size_t i = 0; i < len; i++) {
    h ^= p[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

void lsp_dataset_free(lsp_dataset *d) {
  if (!d) return;
  free(d->x);
  free(d->y);
  memset(d, 0, sizeof *d);
}

void lsp_splits_free(lsp_splits *s) {
  if (!s) return;
  lsp_dataset_free(&s->train);
  lsp_dataset_free(&s->val);
  lsp_dataset_free(&s->test);
  memset(s, 0, sizeof *s);
}

void lsp_splits_shape(const lsp_splits *s, size_t *c, size_t *h, size_t *w) {
  if (s->img_c && s->img_h && s->img_w) {
    *c = s->img_c, *h = s->img_h, *w = s->img_w;
  } else {
    *c = s->train.dim, *h = 1, *w = 1;
  }
}

void lsp_dataset_class_counts(const lsp_dataset *d, size_t *counts) {
  for (int c = 0; c < d->k; c++) counts[c] = 0;
  for (size_t i = 0; i < d->n; i++)
    if (d->y[i] >= 0 && d->y[i] < d->k) counts[d->y[i]]++;
}

uint64_t lsp_dataset_hash(const lsp_dataset *d) {
  uint64_t shape[3] = {d->n, d->dim, (uint64_t)(int64_t)d->k};
  uint64_t h = lsp_fnv1a(LSP_FNV_INIT, "lsprobe-dataset-v1", 18);
  h = lsp_fnv1a(h, shape, sizeof shape);
  if (d->n) {
    h = lsp_fnv1a(h, d->x, d->n * d->dim * sizeof *d->x);
    h = lsp_fnv1a(h, d->y, d->n * sizeof *d->y);
  }
  return h;
}

void lsp_dataset_range(const lsp_dataset *d, float *lo, float *hi) {
  size_t len = d->n * d->dim;
  float a = len ? d->x[0] : 0.0f, b = a;
  for (size_t i = 1; i < len; i++) {
    a = d->x[i] < a ? d->x[i] : a;
    b = d->x[i] > b ? d->x[i] : b;
  }
  *lo = a;
  *hi = b;
}
/* ---- the split ----------------------------------------------------------- */

/* The examples' floats, on transparent huge pages where the kernel offers
 * them on request (Linux's default "madvise" mode): training gathers its
 * batches' rows at random from the whole split (172 MB for Fashion-MNIST),
 * and on 4 KiB pages nearly every row costs a TLB miss — a nested page
 * walk in a virtual machine. A 2-thread epoch of 784-256-256-10 took 6.5%
 * less CPU time on 2 MiB pages (median of 12 interleaved pairs in one
 * process, 11 of 12 lower; 7% over 12 pairs of bench_train runs):
 * lsp_alloc_huge's block. */
static int dataset_alloc(lsp_dataset *d, size_t n, size_t dim, int k) {
  d->n = n;
  d->dim = dim;
  d->k = k;
  d->x = lsp_alloc_huge((n ? n * dim : 1) * sizeof *d->x);
  d->y = malloc((n ? n : 1) * sizeof *d->y);
  if (!d->x || !d->y) {
    lsp_dataset_free(d);
    return lsp_fail(LSP_ENOMEM, "out of memory for %zu x %zu examples", n, dim);
  }
  return LSP_OK;
}

/* Rows idx[0..n) of p (or rows 0..n when idx is NULL) into d; pixels are
 * divided by 255 (exactly rounded, through a 256-entry table). */
static void gather(lsp_dataset *d, const lsp_data_pool *p, const size_t *idx) {
  float tab[256];
  for (int v = 0; v < 256; v++) tab[v] = (float)v / 255.0f;
  for (size_t i = 0; i < d->n; i++) {
    size_t r = idx ? idx[i] : i;
    float *dst = d->x + i * d->dim;
    if (p->xu8) {
      const uint8_t *src = p->xu8 + r * p->dim;
      for (size_t j = 0; j < p->dim; j++) dst[j] = tab[src[j]];
    } else {
      memcpy(dst, p->xf32 + r * p->dim, p->dim * sizeof *dst);
    }
    d->y[i] = p->y[r];
  }
}

/* The same rows hashed in their stored form (uint8 pixels, else float32
 * bytes), then their int32 labels: reads only the pool, so it can run
 * beside gather(). */
static uint64_t hash_rows(const lsp_data_pool *p, const size_t *idx, size_t n,
                          uint64_t h) {
  for (size_t i = 0; i < n; i++) {
    size_t r = idx ? idx[i] : i;
    if (p->xu8)
      h = lsp_fnv1a(h, p->xu8 + r * p->dim, p->dim);
    else
      h = lsp_fnv1a(h, p->xf32 + r * p->dim, p->dim * sizeof(float));
  }
  for (size_t i = 0; i < n; i++) {
    int32_t y = p->y[idx ? idx[i] : i];
    h = lsp_fnv1a(h, &y, sizeof y);
  }
  return h;
}

static size_t resolve_nval(const lsp_data_opts *o, size_t n) {
  if (o->n_val != LSP_DATA_VAL_AUTO) return o->n_val;
  size_t v = (n + 6) / 12;
  return v ? v : 1;
}

/* The split and the hash, shared by every source. */
int lsp_data_split(const lsp_data_opts *o, const lsp_data_pool *tr,
                   const lsp_data_pool *te, int k, lsp_splits *out) {
  size_t n_val = resolve_nval(o, tr->n);
  if (n_val == 0 || n_val >= tr->n)
    return lsp_fail(LSP_EINVAL,
                    "the validation split (%zu) must be at least 1 "
                    "and below the %zu examples of the training file",
                    n_val, tr->n);
  if (te->n == 0) return lsp_fail(LSP_EDATA, "the test set is empty");
  size_t *idx = malloc(tr->n * sizeof *idx);
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  if (!idx || !rng) {
    free(idx);
    gsl_rng_free(rng);
    return lsp_fail(LSP_ENOMEM, "out of memory for the split");
  }
  for (size_t i = 0; i < tr->n; i++) idx[i] = i;
  gsl_rng_set(rng, o->seed);
  gsl_ran_shuffle(rng, idx, tr->n, sizeof *idx);
  gsl_rng_free(rng);
  size_t n_tr = tr->n - n_val;
  if (o->max_train && o->max_train < n_tr) n_tr = o->max_train;
  size_t n_te = te->n;
  if (o->max_test && o->max_test < n_te) n_te = o->max_test;
  int st;
  if ((st = dataset_alloc(&out->train, n_tr, tr->dim, k)) ||
      (st = dataset_alloc(&out->val, n_val, tr->dim, k)) ||
      (st = dataset_alloc(&out->test, n_te, te->dim, k))) {
    free(idx);
    return st;
  }
  /* The hash (a format tag, the split settings, then every split's shape,
   * rows and labels) runs beside the copy when OpenMP has two threads; it is
   * the same either way. */
  uint64_t h = lsp_fnv1a(LSP_FNV_INIT, "lsprobe-splits-v1", 17);
  uint64_t set[5] = {n_val, o->seed, n_tr, n_te, tr->xu8 != NULL};
  h = lsp_fnv1a(h, set, sizeof set);
  lsp_dataset *ds[3] = {&out->train, &out->val, &out->test};
  const lsp_data_pool *src[3] = {tr, tr, te};
  const size_t *sel[3] = {idx, idx + (tr->n - n_val), NULL};
#pragma omp parallel sections num_threads(lsp_threads_get())
  {
#pragma omp section
    for (int s = 0; s < 3; s++) {
      uint64_t shape[3] = {ds[s]->n, ds[s]->dim, (uint64_t)ds[s]->k};
      h = lsp_fnv1a(h, shape, sizeof shape);
      h = hash_rows(src[s], sel[s], ds[s]->n, h);
    }
#pragma omp section
    for (int s = 0; s < 3; s++) gather(ds[s], src[s], sel[s]);
  }
  free(idx);
  out->hash = h;
  out->split_seed = o->seed;
  return LSP_OK;
}
/* ---- entry point --------------------------------------------------------- */

/* K is the largest label + 1: a stray label (255 in an IDX file) or gaps in
 * the labels give classes that no training example has. The note says so
 * (after the source string, which it does not enter). */
static void note_empty_classes(lsp_splits *s, int synthetic) {
  const int k = s->train.k;
  if (k <= 0) return;
  size_t *cnt = calloc((size_t)k, sizeof *cnt);
  if (!cnt) return;
  const lsp_dataset *part[2] = {&s->train, &s->val};
  for (int p = 0; p < 2; p++)
    for (size_t i = 0; i < part[p]->n; i++)
      if (part[p]->y[i] >= 0 && part[p]->y[i] < k) cnt[part[p]->y[i]]++;
  int empty = 0, first = -1;
  for (int c = 0; c < k; c++)
    if (!cnt[c]) {
      empty++;
      if (first < 0) first = c;
    }
  size_t top = cnt[k - 1];
  free(cnt);
  if (!empty) return;
  size_t len = strlen(s->note);
  if (synthetic) /* the mixture's labels are its own: too few examples */
    snprintf(s->note + len, sizeof s->note - len,
             "%s%d of the %d classes %s no training example (the first, label %d): "
             "%zu training examples are too few for %d classes",
             len ? "; " : "", empty, k, empty == 1 ? "has" : "have", first, s->train.n, k);
  else
    snprintf(s->note + len, sizeof s->note - len,
             "%s%d of the %d classes (labels 0..%d) %s no training example, the first "
             "label %d; the largest label, %d, has %zu example%s: is a label out of place?",
             len ? "; " : "", empty, k, k - 1, empty == 1 ? "has" : "have", first, k - 1, top,
             top == 1 ? "" : "s");
}

int lsp_data_load(const lsp_data_opts *o, lsp_splits *out) {
  memset(out, 0, sizeof *out);
  if (!o || !o->spec || !*o->spec)
    return lsp_fail(LSP_EINVAL,
                    "no dataset given (fashion-mnist, synthetic "
                    "or a dataset folder)");
  const char *spec = o->spec;
  int st;
  if (strncmp(spec, "synthetic", 9) == 0 &&
      (spec[9] == '\0' || spec[9] == ':')) {
    st = lsp_data_load_synthetic(o, out);
    snprintf(out->name, sizeof out->name, "%s", "synthetic");
  } else {
    int named = strcmp(spec, "fashion-mnist") == 0;
    const char *dir = named ? lsp_data_fashion_dir() : spec;
    struct stat sb;
    int found = stat(dir, &sb) == 0;
    const char *why = found ? "not a folder" : strerror(errno);
    if (!found || !S_ISDIR(sb.st_mode)) {
      if (named)
        return lsp_fail(LSP_EIO,
                        "fashion-mnist: dataset folder %s: %s "
                        "(scripts/setup installs the Debian package "
                        "dataset-fashion-mnist; or set LSPROBE_DATA)",
                        dir, why);
      return lsp_fail(LSP_EIO,
                      "%s: %s (expected fashion-mnist, synthetic[:...] "
                      "or a dataset folder)",
                      dir, why);
    }
    st = lsp_data_load_folder(dir, o, out);
    snprintf(out->name, sizeof out->name, "%s", named ? "fashion-mnist" : dir);
    if (out->note[0])
      snprintf(out->source, sizeof out->source, "%s; %s", dir, out->note);
    else
      snprintf(out->source, sizeof out->source, "%s", dir);
  }
  if (st) {
    lsp_splits_free(out);
    return st;
  }
  note_empty_classes(out, strcmp(out->name, "synthetic") == 0);
  return LSP_OK;
}
