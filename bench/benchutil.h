/* benchutil.h — timing and argument helpers shared by the benchmarks. */
#ifndef LSP_BENCHUTIL_H
#define LSP_BENCHUTIL_H

#include <stddef.h>

double bench_now(void);                 /* monotonic seconds */
double bench_cpu_s(void);               /* CPU seconds (user + system) of the process */
double bench_thread_cpu_s(void);        /* CPU seconds of the calling thread */
double bench_median(double *v, size_t n); /* sorts v */
/* Options. A benchmark looks up every option it takes with bench_arg_*
 * (an absent option gives def; the first of repeated ones counts), then
 * calls bench_args_end. Each error is one line on stderr naming the program
 * (argv[0]'s last component) and the option, and exits 2: a value missing
 * (the option last, or followed by another "--" option), not an integer
 * (long, int: 0 or more, int at most INT_MAX), not a finite number
 * (double). bench_arg_flag: an option without a value, 1 if present. */
const char *bench_arg_str(int argc, char **argv, const char *name, const char *def);
long bench_arg_long(int argc, char **argv, const char *name, long def);
int bench_arg_int(int argc, char **argv, const char *name, int def);
double bench_arg_double(int argc, char **argv, const char *name, double def);
int bench_arg_flag(int argc, char **argv, const char *name);
/* After the lookups: --help or -h prints `usage` (one or more lines, the
 * options) to stdout and exits 0; an option not looked up, or a word that
 * is no option's value, is refused (exit 2). */
void bench_args_end(int argc, char **argv, const char *usage);
/* A value out of range: unless ok, "PROG: OPT: WHAT" on stderr, exit 2. */
void bench_need(int ok, char **argv, const char *opt, const char *what);
/* Bytes/s of memcpy on a buffer of `bytes` (median of reps), one thread. */
double bench_memcpy_bw(size_t bytes, int reps);

/* The 1-minute load average (/proc/loadavg), -1 if unknown. */
double bench_loadavg(void);
/* --isa x86-64-v4|x86-64-v3|x86-64: cap the kernels lsprobe dispatches
 * itself (lsp_cpu_isa_cap); exits 2 on a bad level. Looks --isa up: call
 * it before bench_args_end. */
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
