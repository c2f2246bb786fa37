/* lsp_util.c — small numeric helpers (see lsp_util.h). */
#define _DEFAULT_SOURCE /* madvise, MADV_HUGEPAGE */
#define _POSIX_C_SOURCE 200809L
#include "core/base/lsp_util.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

size_t lsp_argmax_f32_except(const float *v, size_t n, size_t skip) {
  size_t best = n;
  for (size_t j = 0; j < n; j++) {
    if (j == skip) continue;
    /* strict '>' keeps the lowest index on ties; a NaN best gives way to
     * the first number after it */
    if (best == n || v[j] > v[best] || (isnan(v[best]) && !isnan(v[j]))) best = j;
  }
  return best;
}

size_t lsp_argmax_f64(const double *v, size_t n) {
  size_t best = 0;
  for (size_t j = 1; j < n; j++)
    if (v[j] > v[best] || (isnan(v[best]) && !isnan(v[j]))) best = j;
  return best;
}

size_t lsp_argmax_f32(const float *v, size_t n) {
  size_t best = lsp_argmax_f32_except(v, n, n);
  return best == n ? 0 : best;
}

uint64_t lsp_mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint64_t lsp_splitmix64(uint64_t x) { return lsp_mix64(x + 0x9e3779b97f4a7c15ull); }

int lsp_cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  int nx = isnan(x) != 0, ny = isnan(y) != 0;
  if (nx | ny) return nx - ny;
  return (x > y) - (x < y);
}

double lsp_percentile_sorted(const double *v, size_t n, double q) {
  if (n == 0 || isnan(q)) return NAN;
  if (q < 0.0) q = 0.0;
  if (q > 1.0) q = 1.0;
  double h = (double)(n - 1) * q;
  size_t lo = (size_t)h;
  double f = h - (double)lo;
  if (lo + 1 >= n || f == 0.0 || v[lo] == v[lo + 1]) return v[lo];
  return v[lo] + f * (v[lo + 1] - v[lo]);
}

double lsp_now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

void *lsp_alloc_huge(size_t bytes) {
  const size_t huge = (size_t)2 << 20;
  if (bytes < huge / 2) return malloc(bytes ? bytes : 1);
  const size_t len = (bytes + huge - 1) / huge * huge;
  void *b = aligned_alloc(huge, len);
#ifdef MADV_HUGEPAGE
  if (b) (void)madvise(b, len, MADV_HUGEPAGE); /* advice only */
#endif
  return b;
}

void *lsp_calloc_huge(size_t n, size_t size) {
  if (size && n > SIZE_MAX / size) return NULL;
  const size_t bytes = n * size;
  void *b = lsp_alloc_huge(bytes);
  if (b && bytes) memset(b, 0, bytes);
  return b;
}

size_t lsp_utf8_len(const unsigned char *p) {
  unsigned char c = p[0];
  size_t n;
  unsigned lo = 0x80, hi = 0xbf; /* the range of the second byte */
  if (c >= 0xc2 && c <= 0xdf) n = 2;
  else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c == 0xe0) lo = 0xa0;
    if (c == 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c == 0xf0) lo = 0x90;
    if (c == 0xf4) hi = 0x8f;
  } else
    return 0;
  if (p[1] < lo || p[1] > hi) return 0;
  for (size_t k = 2; k < n; k++)
    if (p[k] < 0x80 || p[k] > 0xbf) return 0;
  return n;
}

void lsp_shortest_g(double x, char *buf, size_t cap) {
  for (int digits = 15; digits <= 17; digits++) {
    snprintf(buf, cap, "%.*g", digits, x);
    if (strtod(buf, NULL) == x) break;
  }
}

void lsp_shell_quote(FILE *f, const char *s) {
  fputc('\'', f);
  for (; *s; s++) {
    if (*s == '\'')
      fputs("'\\''", f);
    else
      fputc(*s, f);
  }
  fputc('\'', f);
}
