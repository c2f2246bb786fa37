/* lsp_data_synth.c — the seeded synthetic Gaussian mixture (its geometry
 * is documented at lsp_data_load in lsp_data.h). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <gsl/gsl_math.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/data/lsp_data_pool.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_util.h"

/* "synthetic:train=6000,dim=2" -> the syn_* fields of *o. */
static int parse_synthetic(const char *spec, lsp_data_opts *o) {
  static const char *const keys[] = {"train", "test", "dim", "classes", "sep"};
  unsigned seen = 0;
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
    unsigned ki = 0;
    while (ki < 5 && strcmp(key, keys[ki]) != 0) ki++;
    if (ki == 5)
      return lsp_fail(LSP_EINVAL,
                      "%s: unknown setting '%s' (train, test, "
                      "dim, classes, sep)",
                      spec, key);
    if (seen & (1u << ki)) return lsp_fail(LSP_EINVAL, "%s: %s given twice", spec, key);
    seen |= 1u << ki;
    char *e;
    errno = 0;
    double v = strtod(val, &e);
    if (!*e && errno == ERANGE)
      return lsp_fail(LSP_EINVAL, "%s: %s=%s is out of range (%s a double)",
                      spec, key, val, v == 0.0 ? "underflows to 0 as" : "overflows");
    if (*e || errno || !isfinite(v))
      return lsp_fail(LSP_EINVAL, "%s: %s=%s is not a number", spec, key, val);
    int integral = v == floor(v) && v >= 0;
    if (strcmp(key, "sep") == 0)
      o->syn_sep = v;
    else if (!integral)
      return lsp_fail(LSP_EINVAL, "%s: %s=%s must be a whole number", spec, key,
                      val);
    else if (v > 1e9 && (strcmp(key, "train") == 0 || strcmp(key, "test") == 0 ||
                         strcmp(key, "dim") == 0 || strcmp(key, "classes") == 0))
      return lsp_fail(LSP_EINVAL, "%s: %s=%s is too large (at most 1000000000)",
                      spec, key, val);
    else if (strcmp(key, "train") == 0)
      o->syn_train = (size_t)v;
    else if (strcmp(key, "test") == 0)
      o->syn_test = (size_t)v;
    else if (strcmp(key, "dim") == 0)
      o->syn_dim = (size_t)v;
    else /* classes */
      o->syn_k = v > 1e6 ? 0 : (int)v;
    p = *end ? end + 1 : end;
  }
  return LSP_OK;
}

/* SplitMix64 finalizer: a seed for the mixture unrelated to the split's. */
static unsigned long mix_seed(unsigned long s) {
  return (unsigned long)lsp_splitmix64((uint64_t)s);
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
      double v =
          b + (j == axis[y[i]] ? a : 0.0) + gsl_ran_gaussian_ziggurat(r, sigma);
      row[j] = (float)(v < 0.0 ? 0.0 : v > 1.0 ? 1.0 : v);
    }
  }
}

int lsp_data_load_synthetic(const lsp_data_opts *o0, lsp_splits *out) {
  lsp_data_opts o = *o0;
  int st = parse_synthetic(o.spec, &o);
  if (st) return st;
  if (o.syn_k < 2 || o.syn_dim < (size_t)o.syn_k)
    return lsp_fail(LSP_EINVAL,
                    "synthetic: need 2 <= classes <= dim (classes "
                    "%d, dim %zu)",
                    o.syn_k, o.syn_dim);
  if (o.syn_train < 2 || o.syn_test < 1)
    return lsp_fail(LSP_EINVAL,
                    "synthetic: need train >= 2 and test >= 1 "
                    "(train %zu, test %zu)",
                    o.syn_train, o.syn_test);
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
  lsp_data_pool tr = {n, dim, NULL, x, y};
  lsp_data_pool te = {m, dim, NULL, x + n * dim, y + n};
  if ((st = lsp_data_split(&o, &tr, &te, k, out))) goto done;
  out->synthetic = 1;
  out->lo = 0.0f;
  out->hi = 1.0f;
  snprintf(out->source, sizeof out->source,
           "synthetic Gaussian mixture: train=%zu test=%zu dim=%zu classes=%d "
           "sep=%g, drawn with the split seed %lu",
           n, m, dim, k, o.syn_sep, o.seed);
done:
  gsl_rng_free(r);
  free(axis);
  free(x);
  free(y);
  return st;
}
