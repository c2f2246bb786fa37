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
/* The time a cache line takes from one core to another and back, in ns:
 * two threads pinned to the first two CPUs this process may use pass it to
 * and fro (the fastest of up to 101 rounds of 200 round trips, within
 * about 50 ms); -1 with fewer than two CPUs or when a thread cannot be
 * pinned. On a virtual machine it tells where the host placed the virtual
 * CPUs: the test machine measures 130–200 ns when its two share a
 * last-level cache and 400–550 ns when they do not. */
double bench_core_rtt_ns(void);
/* JSON members (no braces, no trailing comma) every benchmark prints: the
 * CPU model and core count, the ISA level of lsprobe's own kernels ("isa"),
 * the loader's clone ("clones"), OpenBLAS's core, the thread counts, the
 * load average at the start (load0) and now, and with more than one thread
 * bench_core_rtt_ns ("core_rtt_ns", measured now; null otherwise). */
void bench_print_host(int threads, int blas_threads, double load0);

#endif
