/* lsp_data.c — named and folder datasets, the synthetic mixture, the seeded
 * train/validation split and the content hash.
 *
 * Every source is first reduced to a "pool": the training file (train + val
 * before the split) and the official test file, as rows of either uint8
 * pixels or float32 features plus int32 labels. The split then gathers rows
 * straight from the pool into the final float32 arrays, so Fashion-MNIST's
 * pixels are converted once and never copied as floats twice. */
#define _DEFAULT_SOURCE /* MADV_HUGEPAGE */
#include "core/lsp_data.h"

#include <errno.h>
#include <gsl/gsl_math.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "core/lsp_error.h"

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

void *lsp_data_alloc(size_t bytes) {
  const size_t huge = (size_t)2 << 20;
  if (bytes < 2 * huge) return malloc(bytes ? bytes : 1);
  void *p = NULL;
  size_t len = (bytes + huge - 1) / huge * huge;
  if (posix_memalign(&p, huge, len) != 0) return NULL;
#ifdef MADV_HUGEPAGE
  madvise(p, len, MADV_HUGEPAGE); /* advice only: failure is harmless */
#endif
  return p;
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

void lsp_dataset_class_counts(const lsp_dataset *d, size_t *counts) {
  for (int c = 0; c < d->k; c++) counts[c] = 0;
  for (size_t i = 0; i < d->n; i++)
    if (d->y[i] >= 0 && d->y[i] < d->k) counts[d->y[i]]++;
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

/* ---- the pool ------------------------------------------------------------ */

typedef struct {
  size_t n, dim;
  const uint8_t *xu8; /* pixels (one of xu8 / xf32 is set) */
  const float *xf32;
  const int32_t *y;
  const char *xpath, *ypath; /* for messages; NULL for synthetic */
} pool;

static int dataset_alloc(lsp_dataset *d, size_t n, size_t dim, int k) {
  d->n = n;
  d->dim = dim;
  d->k = k;
  d->x = lsp_data_alloc(n * dim * sizeof *d->x);
  d->y = malloc((n ? n : 1) * sizeof *d->y);
  if (!d->x || !d->y) {
    lsp_dataset_free(d);
    return lsp_fail(LSP_ENOMEM, "out of memory for %zu x %zu examples", n, dim);
  }
  return LSP_OK;
}

/* Rows idx[0..n) of p (or rows 0..n when idx is NULL) into d, pixels / 255
 * (exactly rounded, through a 256-entry table), hashing each row as it goes
 * in its stored form (uint8 pixels, else float32 bytes) and then the labels:
 * returns the updated hash. */
static uint64_t gather(lsp_dataset *d, const pool *p, const size_t *idx,
                       uint64_t h) {
  float tab[256];
  for (int v = 0; v < 256; v++) tab[v] = (float)v / 255.0f;
  for (size_t i = 0; i < d->n; i++) {
    size_t r = idx ? idx[i] : i;
    float *dst = d->x + i * d->dim;
    if (p->xu8) {
      const uint8_t *src = p->xu8 + r * p->dim;
      for (size_t j = 0; j < p->dim; j++) dst[j] = tab[src[j]];
      h = lsp_fnv1a(h, src, p->dim);
    } else {
      memcpy(dst, p->xf32 + r * p->dim, p->dim * sizeof *dst);
      h = lsp_fnv1a(h, dst, p->dim * sizeof *dst);
    }
    d->y[i] = p->y[r];
  }
  return lsp_fnv1a(h, d->y, d->n * sizeof *d->y);
}

static size_t resolve_nval(const lsp_data_opts *o, size_t n) {
  if (o->n_val != LSP_DATA_VAL_AUTO) return o->n_val;
  size_t v = (n + 6) / 12;
  return v ? v : 1;
}

/* The split and the hash, shared by every source. */
static int split_pools(const lsp_data_opts *o, const pool *tr, const pool *te,
                       int k, lsp_splits *out) {
  size_t n_val = resolve_nval(o, tr->n);
  if (n_val == 0 || n_val >= tr->n)
    return lsp_fail(LSP_EINVAL, "the validation split (%zu) must be at least 1 "
                    "and below the %zu examples of the training file", n_val, tr->n);
  if (te->n == 0)
    return lsp_fail(LSP_EDATA, "%s: the test set is empty",
                    te->xpath ? te->xpath : "synthetic");
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
  /* The hash: a format tag, the split settings, then every split's shape,
   * rows and labels. */
  uint64_t h = lsp_fnv1a(LSP_FNV_INIT, "lsprobe-splits-v1", 17);
  uint64_t set[5] = {n_val, o->seed, n_tr, n_te, tr->xu8 != NULL};
  h = lsp_fnv1a(h, set, sizeof set);
  lsp_dataset *ds[3] = {&out->train, &out->val, &out->test};
  for (int s = 0; s < 3; s++) {
    uint64_t shape[3] = {ds[s]->n, ds[s]->dim, (uint64_t)ds[s]->k};
    h = lsp_fnv1a(h, shape, sizeof shape);
    h = gather(ds[s], s < 2 ? tr : te,
               s == 0 ? idx : s == 1 ? idx + (tr->n - n_val) : NULL, h);
  }
  free(idx);
  out->hash = h;
  return LSP_OK;
}

/* ---- IDX folders --------------------------------------------------------- */

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
      return lsp_fail(LSP_EDATA, "%s: label %d at index %zu is out of range "
                      "(the training labels are 0..%d)", path, raw[i], i,
                      k - 1);
    }
    y[i] = raw[i];
    if (y[i] > m) m = y[i];
  }
  *out = y;
  if (kmax) *kmax = m;
  return LSP_OK;
}

static int load_idx_dir(const char *dir, const lsp_data_opts *o,
                        lsp_splits *out) {
  char path[4][1024];
  uint8_t *raw[4] = {NULL, NULL, NULL, NULL};
  size_t dims[4][LSP_IDX_MAXDIM];
  int nd[4];
  int32_t *ytr = NULL, *yte = NULL;
  int st = LSP_OK, k = 0;
  for (int f = 0; f < 4; f++)
    if ((st = lsp_idx_find(dir, k_idx_names[f], path[f], sizeof path[f])))
      return st;
  for (int f = 0; f < 4; f++)
    if ((st = lsp_idx_read(path[f], &raw[f], dims[f], &nd[f]))) goto done;
  for (int f = 0; f < 4; f += 2) {
    if (nd[f] != 3) {
      st = lsp_fail(LSP_EDATA, "%s: expected images (3 dimensions), found %d "
                    "dimension(s)", path[f], nd[f]);
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
  if (dims[2][1] != dims[0][1] || dims[2][2] != dims[0][2]) {
    st = lsp_fail(LSP_EDATA, "%s: images are %zux%zu but the training images "
                  "are %zux%zu", path[2], dims[2][1], dims[2][2], dims[0][1],
                  dims[0][2]);
    goto done;
  }
  if ((st = idx_labels(path[1], raw[1], dims[1][0], 0, &ytr, &k))) goto done;
  k += 1;
  if (k < 2) {
    st = lsp_fail(LSP_EDATA, "%s: need at least 2 classes, found %d", path[1],
                  k);
    goto done;
  }
  if ((st = idx_labels(path[3], raw[3], dims[3][0], k, &yte, NULL))) goto done;
  size_t dim = dims[0][1] * dims[0][2];
  pool tr = {dims[0][0], dim, raw[0], NULL, ytr, path[0], path[1]};
  pool te = {dims[2][0], dim, raw[2], NULL, yte, path[2], path[3]};
  if ((st = split_pools(o, &tr, &te, k, out))) goto done;
  out->img_h = dims[0][1];
  out->img_w = dims[0][2];
done:
  for (int f = 0; f < 4; f++) free(raw[f]);
  free(ytr);
  free(yte);
  return st;
}

/* ---- the synthetic mixture ----------------------------------------------- */

/* "synthetic:train=6000,dim=2" -> the syn_* fields of *o. */
static int parse_synthetic(const char *spec, lsp_data_opts *o) {
  const char *p = spec + strlen("synthetic");
  if (*p == '\0') return LSP_OK;
  if (*p != ':')
    return lsp_fail(LSP_EINVAL, "%s: unknown dataset (try synthetic:dim=8)",
                    spec);
  p++;
  while (*p) {
    const char *eq = strchr(p, '=');
    const char *end = strchr(p, ',');
    if (!end) end = p + strlen(p);
    if (!eq || eq > end)
      return lsp_fail(LSP_EINVAL, "%s: expected key=value, found '%.*s'", spec,
                      (int)(end - p), p);
    char key[16], val[64];
    size_t kl = (size_t)(eq - p), vl = (size_t)(end - eq - 1);
    if (kl >= sizeof key || vl >= sizeof val || vl == 0)
      return lsp_fail(LSP_EINVAL, "%s: bad setting '%.*s'", spec,
                      (int)(end - p), p);
    memcpy(key, p, kl);
    key[kl] = '\0';
    memcpy(val, eq + 1, vl);
    val[vl] = '\0';
    char *e;
    errno = 0;
    double v = strtod(val, &e);
    if (*e || errno || !isfinite(v))
      return lsp_fail(LSP_EINVAL, "%s: %s=%s is not a number", spec, key, val);
    int integral = v == floor(v) && v >= 0 && v <= 1e9;
    if (strcmp(key, "sep") == 0) o->syn_sep = v;
    else if (!integral)
      return lsp_fail(LSP_EINVAL, "%s: %s=%s must be a whole number", spec,
                      key, val);
    else if (strcmp(key, "train") == 0) o->syn_train = (size_t)v;
    else if (strcmp(key, "test") == 0) o->syn_test = (size_t)v;
    else if (strcmp(key, "dim") == 0) o->syn_dim = (size_t)v;
    else if (strcmp(key, "classes") == 0) o->syn_k = v > 1e6 ? 0 : (int)v;
    else
      return lsp_fail(LSP_EINVAL, "%s: unknown setting '%s' (train, test, "
                      "dim, classes, sep)", spec, key);
    p = *end ? end + 1 : end;
  }
  return LSP_OK;
}

/* SplitMix64 finalizer: a seed for the mixture unrelated to the split's. */
static unsigned long mix_seed(unsigned long s) {
  uint64_t z = (uint64_t)s + 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return (unsigned long)(z ^ (z >> 31));
}

/* n balanced labels in random order, features mu_y + sigma*N(0,1) clipped. */
static void draw_mixture(gsl_rng *r, size_t n, size_t dim, int k,
                         const size_t *axis, double a, double b, double sigma,
                         float *x, int32_t *y) {
  for (size_t i = 0; i < n; i++) y[i] = (int32_t)(i % (size_t)k);
  gsl_ran_shuffle(r, y, n, sizeof *y);
  for (size_t i = 0; i < n; i++) {
    float *row = x + i * dim;
    for (size_t j = 0; j < dim; j++) {
      double v = b + (j == axis[y[i]] ? a : 0.0) + gsl_ran_gaussian_ziggurat(r, sigma);
      row[j] = (float)(v < 0.0 ? 0.0 : v > 1.0 ? 1.0 : v);
    }
  }
}

static int load_synthetic(const lsp_data_opts *o0, lsp_splits *out) {
  lsp_data_opts o = *o0;
  int st = parse_synthetic(o.spec, &o);
  if (st) return st;
  if (o.syn_k < 2 || o.syn_dim < (size_t)o.syn_k)
    return lsp_fail(LSP_EINVAL, "synthetic: need 2 <= classes <= dim (classes "
                    "%d, dim %zu)", o.syn_k, o.syn_dim);
  if (o.syn_train < 2 || o.syn_test < 1)
    return lsp_fail(LSP_EINVAL, "synthetic: need train >= 2 and test >= 1 "
                    "(train %zu, test %zu)", o.syn_train, o.syn_test);
  if (!(o.syn_sep > 0.0 && o.syn_sep <= 1e6))
    return lsp_fail(LSP_EINVAL, "synthetic: sep %g must be in (0, 1e6]",
                    o.syn_sep);
  if (o.syn_dim > ((size_t)1 << 20) ||
      (o.syn_train + o.syn_test) > ((size_t)1 << 31) / o.syn_dim)
    return lsp_fail(LSP_EINVAL, "synthetic: %zu x %zu features is too large",
                    o.syn_train + o.syn_test, o.syn_dim);
  double sigma = 1.0 / (6.0 + o.syn_sep / M_SQRT2);
  double a = o.syn_sep * sigma / M_SQRT2, b = 3.0 * sigma;
  size_t n = o.syn_train, m = o.syn_test, dim = o.syn_dim;
  int k = o.syn_k;
  float *x = malloc((n + m) * dim * sizeof *x);
  int32_t *y = malloc((n + m) * sizeof *y);
  size_t *axis = malloc(dim * sizeof *axis);
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  if (!x || !y || !axis || !r) {
    st = lsp_fail(LSP_ENOMEM, "synthetic: out of memory");
    goto done;
  }
  gsl_rng_set(r, mix_seed(o.seed));
  for (size_t j = 0; j < dim; j++) axis[j] = j;
  gsl_ran_shuffle(r, axis, dim, sizeof *axis); /* axis[c]: class c's axis */
  draw_mixture(r, n, dim, k, axis, a, b, sigma, x, y);
  draw_mixture(r, m, dim, k, axis, a, b, sigma, x + n * dim, y + n);
  pool tr = {n, dim, NULL, x, y, NULL, NULL};
  pool te = {m, dim, NULL, x + n * dim, y + n, NULL, NULL};
  if ((st = split_pools(&o, &tr, &te, k, out))) goto done;
  out->synthetic = 1;
  snprintf(out->source, sizeof out->source,
           "synthetic Gaussian mixture: train=%zu test=%zu dim=%zu classes=%d "
           "sep=%g seed=%lu", n, m, dim, k, o.syn_sep, o.seed);
done:
  gsl_rng_free(r);
  free(axis);
  free(x);
  free(y);
  return st;
}

/* ---- entry point ----------------------------------------------------------- */

int lsp_data_load(const lsp_data_opts *o, lsp_splits *out) {
  memset(out, 0, sizeof *out);
  if (!o || !o->spec || !*o->spec)
    return lsp_fail(LSP_EINVAL, "no dataset given (fashion-mnist, synthetic "
                    "or a folder with IDX files)");
  const char *spec = o->spec;
  int st;
  if (strncmp(spec, "synthetic", 9) == 0 && (spec[9] == '\0' || spec[9] == ':')) {
    st = load_synthetic(o, out);
    snprintf(out->name, sizeof out->name, "%s", "synthetic");
  } else {
    int named = strcmp(spec, "fashion-mnist") == 0;
    const char *dir = named ? lsp_data_fashion_dir() : spec;
    struct stat sb;
    int found = stat(dir, &sb) == 0;
    const char *why = found ? "not a folder" : strerror(errno);
    if (!found || !S_ISDIR(sb.st_mode)) {
      if (named)
        return lsp_fail(LSP_EIO, "fashion-mnist: dataset folder %s: %s "
                        "(scripts/setup installs the Debian package "
                        "dataset-fashion-mnist; or set LSPROBE_DATA)", dir, why);
      return lsp_fail(LSP_EIO, "%s: %s (expected fashion-mnist, synthetic or "
                      "a folder with the four IDX files)", dir, why);
    }
    st = load_idx_dir(dir, o, out);
    snprintf(out->name, sizeof out->name, "%s", named ? "fashion-mnist" : dir);
    snprintf(out->source, sizeof out->source, "%s", dir);
  }
  if (st) {
    lsp_splits_free(out);
    return st;
  }
  out->lo = 0.0f;
  out->hi = 1.0f;
  return LSP_OK;
}
