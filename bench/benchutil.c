#define _POSIX_C_SOURCE 200809L
#include "benchutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "core/base/lsp_util.h"

double bench_now(void) { return lsp_now_s(); }

double bench_cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
         (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
}

double bench_median(double *v, size_t n) {
  qsort(v, n, sizeof *v, lsp_cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

const char *bench_arg_str(int argc, char **argv, const char *name, const char *def) {
  for (int i = 1; i + 1 < argc; i++)
    if (strcmp(argv[i], name) == 0) return argv[i + 1];
  return def;
}

long bench_arg_long(int argc, char **argv, const char *name, long def) {
  const char *s = bench_arg_str(argc, argv, name, NULL);
  if (!s) return def;
  char *end;
  long v = strtol(s, &end, 10);
  if (*end || end == s) {
    fprintf(stderr, "bench: %s: '%s' is not an integer\n", name, s);
    exit(2);
  }
  return v;
}

double bench_arg_double(int argc, char **argv, const char *name, double def) {
  const char *s = bench_arg_str(argc, argv, name, NULL);
  if (!s) return def;
  char *end;
  double v = strtod(s, &end);
  if (*end || end == s) {
    fprintf(stderr, "bench: %s: '%s' is not a number\n", name, s);
    exit(2);
  }
  return v;
}

double bench_memcpy_bw(size_t bytes, int reps) {
  char *a = malloc(bytes), *b = malloc(bytes);
  if (!a || !b) {
    free(a);
    free(b);
    return 0;
  }
  memset(a, 1, bytes);
  memset(b, 2, bytes);
  double *t = malloc((size_t)reps * sizeof *t);
  for (int r = 0; r < reps; r++) {
    double t0 = bench_now();
    memcpy(b, a, bytes);
    t[r] = bench_now() - t0;
    a[r % bytes] ^= b[(r * 7) % bytes]; /* keep the copy observable */
  }
  double med = bench_median(t, (size_t)reps);
  free(t);
  free(a);
  free(b);
  /* memcpy moves `bytes` in and `bytes` out */
  return 2.0 * (double)bytes / med;
}
