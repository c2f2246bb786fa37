/* benchutil.h — timing and argument helpers shared by the benchmarks. */
#ifndef LSP_BENCHUTIL_H
#define LSP_BENCHUTIL_H

#include <stddef.h>

double bench_now(void);                 /* monotonic seconds */
double bench_cpu_s(void);               /* CPU seconds (user + system) of the process */
double bench_thread_cpu_s(void);        /* CPU seconds of the calling thread */
double bench_median(double *v, size_t n); /* sorts v */
/* "--name value" lookup in argv; returns def if absent. Exits 2 on a bad value. */
long bench_arg_long(int argc, char **argv, const char *name, long def);
double bench_arg_double(int argc, char **argv, const char *name, double def);
const char *bench_arg_str(int argc, char **argv, const char *name, const char *def);
/* Bytes/s of memcpy on a buffer of `bytes` (median of reps), one thread. */
double bench_memcpy_bw(size_t bytes, int reps);

/* The 1-minute load average (/proc/loadavg), -1 if unknown. */
double bench_loadavg(void);
/* --isa x86-64-v4|x86-64-v3|x86-64: cap the kernels lsprobe dispatches
 * itself (lsp_cpu_isa_cap); exits 2 on a bad level. */
void bench_isa_arg(int argc, char **argv);
/* JSON members (no braces, no trailing comma) every benchmark prints: the
 * CPU model and core count, the ISA level of lsprobe's own kernels ("isa"),
 * the loader's clone ("clones"), OpenBLAS's core, the thread counts and the
 * load average at the start (load0) and now. */
void bench_print_host(int threads, int blas_threads, double load0);

#endif
