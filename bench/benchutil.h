/* benchutil.h — timing and argument helpers shared by the benchmarks. */
#ifndef LSP_BENCHUTIL_H
#define LSP_BENCHUTIL_H

#include <stddef.h>

double bench_now(void);                 /* monotonic seconds */
double bench_cpu_s(void);               /* CPU seconds (user + system) of the process */
double bench_median(double *v, size_t n); /* sorts v */
/* "--name value" lookup in argv; returns def if absent. Exits 2 on a bad value. */
long bench_arg_long(int argc, char **argv, const char *name, long def);
double bench_arg_double(int argc, char **argv, const char *name, double def);
const char *bench_arg_str(int argc, char **argv, const char *name, const char *def);
/* Bytes/s of memcpy on a buffer of `bytes` (median of reps), one thread. */
double bench_memcpy_bw(size_t bytes, int reps);

#endif
