#define _GNU_SOURCE /* sched_getaffinity, pthread_setaffinity_np */
#include "benchutil.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "core/base/lsp_cpu.h"
#include "core/base/lsp_error.h"
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

/* The options looked up so far, for bench_args_end; `valued`: takes a value. */
static struct {
  const char *name;
  int valued;
} g_opts[64];
static int g_nopts;

/* The program's name for messages: argv[0]'s last component. */
static const char *prog(char **argv) {
  const char *s = argv[0] ? strrchr(argv[0], '/') : NULL;
  return s ? s + 1 : argv[0] ? argv[0] : "bench";
}

static void note(const char *name, int valued) {
  for (int i = 0; i < g_nopts; i++)
    if (strcmp(g_opts[i].name, name) == 0) return;
  if (g_nopts < (int)(sizeof g_opts / sizeof *g_opts)) {
    g_opts[g_nopts].name = name;
    g_opts[g_nopts++].valued = valued;
  }
}

/* The index of the value of the first `name` at or after argv[from], 0 if
 * none; exits 2 when that one has no value. */
static int value_at(int argc, char **argv, const char *name, int from) {
  for (int i = from; i < argc; i++) {
    if (strcmp(argv[i], name) != 0) continue;
    if (i + 1 == argc || strncmp(argv[i + 1], "--", 2) == 0) {
      fprintf(stderr, "%s: %s needs a value\n", prog(argv), name);
      exit(2);
    }
    return i + 1;
  }
  return 0;
}

const char *bench_arg_str(int argc, char **argv, const char *name, const char *def) {
  note(name, 1);
  int v = value_at(argc, argv, name, 1);
  return v ? argv[v] : def;
}

int bench_arg_flag(int argc, char **argv, const char *name) {
  note(name, 0);
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], name) == 0) return 1;
  return 0;
}

/* Every value of `name` parsed and checked; the first one's value. */
long bench_arg_long(int argc, char **argv, const char *name, long def) {
  note(name, 1);
  long first = def;
  int i0 = value_at(argc, argv, name, 1);
  for (int i = i0; i; i = value_at(argc, argv, name, i + 1)) {
    const char *s = argv[i];
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*end || end == s || errno == ERANGE) {
      fprintf(stderr, "%s: %s: '%s' is not an integer\n", prog(argv), name, s);
      exit(2);
    }
    if (v < 0) { /* sizes, counts, seeds and offsets: none is negative */
      fprintf(stderr, "%s: %s: %ld is negative\n", prog(argv), name, v);
      exit(2);
    }
    if (i == i0) first = v;
  }
  return first;
}

int bench_arg_int(int argc, char **argv, const char *name, int def) {
  long v = bench_arg_long(argc, argv, name, def);
  if (v > INT_MAX) {
    fprintf(stderr, "%s: %s: %ld is too large\n", prog(argv), name, v);
    exit(2);
  }
  return (int)v;
}

double bench_arg_double(int argc, char **argv, const char *name, double def) {
  note(name, 1);
  double first = def;
  int i0 = value_at(argc, argv, name, 1);
  for (int i = i0; i; i = value_at(argc, argv, name, i + 1)) {
    const char *s = argv[i];
    char *end;
    double v = strtod(s, &end);
    if (*end || end == s || !isfinite(v)) {
      fprintf(stderr, "%s: %s: '%s' is not a number\n", prog(argv), name, s);
      exit(2);
    }
    if (i == i0) first = v;
  }
  return first;
}

void bench_need(int ok, char **argv, const char *opt, const char *what) {
  if (ok) return;
  fprintf(stderr, "%s: %s: %s\n", prog(argv), opt, what);
  exit(2);
}

/* The index in g_opts of the option argv[i], g_nopts if none. */
static int known(char **argv, int i) {
  int o = 0;
  while (o < g_nopts && strcmp(g_opts[o].name, argv[i]) != 0) o++;
  return o;
}

void bench_args_end(int argc, char **argv, const char *usage) {
  for (int i = 1; i < argc; i++) { /* --help first, wherever it is */
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      fputs(usage, stdout);
      exit(0);
    }
    int o = known(argv, i);
    if (o < g_nopts) i += g_opts[o].valued;
  }
  for (int i = 1; i < argc; i++) {
    int o = known(argv, i);
    if (o == g_nopts) {
      if (argv[i][0] == '-')
        fprintf(stderr, "%s: %s: unknown option (%s --help lists them)\n", prog(argv),
                argv[i], prog(argv));
      else
        fprintf(stderr, "%s: '%s': not an option\n", prog(argv), argv[i]);
      exit(2);
    }
    i += g_opts[o].valued; /* its value, checked by the lookup */
  }
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

double bench_thread_cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double bench_loadavg(void) {
  double l = -1.0;
  FILE *f = fopen("/proc/loadavg", "r");
  if (f) {
    if (fscanf(f, "%lf", &l) != 1) l = -1.0;
    fclose(f);
  }
  return l;
}

/* bench_core_rtt_ns: a cache line passed back and forth between two
 * threads pinned to two CPUs, in rounds of RTT_TRIPS round trips, at most
 * RTT_ROUNDS of them and no more once RTT_BUDGET_S has passed (a CPU busy
 * with other work makes each trip wait for a time slice); the fastest
 * round counts (a round in which either thread was preempted, say by a
 * worker of OpenBLAS still spinning, is slower, never faster). The line
 * holds a count, odd after the ping and even after the pong; RTT_STOP ends
 * the pong. `pinned` says whether the pong runs where it should (1) or
 * could not be pinned (-1); the ping waits for it before the first trip. */
enum { RTT_ROUNDS = 101, RTT_TRIPS = 200, RTT_STOP = -1 };
#define RTT_BUDGET_S 0.05

typedef struct {
  _Alignas(64) atomic_int flag;
  _Alignas(64) atomic_int pinned;
  int cpu;
} rtt_line;

static int pin_self(int cpu) {
  cpu_set_t s;
  CPU_ZERO(&s);
  CPU_SET(cpu, &s);
  return pthread_setaffinity_np(pthread_self(), sizeof s, &s);
}

static void *rtt_pong(void *v) {
  rtt_line *l = v;
  if (pin_self(l->cpu)) {
    atomic_store(&l->pinned, -1);
    return NULL;
  }
  atomic_store(&l->pinned, 1);
  for (;;) {
    int f = atomic_load_explicit(&l->flag, memory_order_acquire);
    if (f == RTT_STOP) return NULL;
    if (f > 0 && f % 2 == 1) atomic_store_explicit(&l->flag, f + 1, memory_order_release);
  }
}

double bench_core_rtt_ns(void) {
  cpu_set_t mine;
  if (sched_getaffinity(0, sizeof mine, &mine)) return -1.0;
  int cpu[2], k = 0;
  for (int c = 0; c < CPU_SETSIZE && k < 2; c++)
    if (CPU_ISSET(c, &mine)) cpu[k++] = c;
  if (k < 2) return -1.0;
  static rtt_line l;
  atomic_store(&l.flag, 0);
  atomic_store(&l.pinned, 0);
  l.cpu = cpu[1];
  pthread_t pong;
  if (pin_self(cpu[0]) || pthread_create(&pong, NULL, rtt_pong, &l)) {
    pthread_setaffinity_np(pthread_self(), sizeof mine, &mine);
    return -1.0;
  }
  int pinned;
  while ((pinned = atomic_load(&l.pinned)) == 0) sched_yield();
  double best = -1.0;
  const double start = bench_now();
  int c = 0;
  for (int r = 0; pinned > 0 && r < RTT_ROUNDS && (r == 0 || bench_now() - start < RTT_BUDGET_S);
       r++) {
    const double t0 = bench_now();
    for (int n = 0; n < RTT_TRIPS; n++, c += 2) {
      atomic_store_explicit(&l.flag, c + 1, memory_order_release);
      while (atomic_load_explicit(&l.flag, memory_order_acquire) != c + 2) {
      }
    }
    const double t = (bench_now() - t0) / RTT_TRIPS;
    if (best < 0 || t < best) best = t;
  }
  atomic_store(&l.flag, RTT_STOP);
  pthread_join(pong, NULL);
  pthread_setaffinity_np(pthread_self(), sizeof mine, &mine);
  return best < 0 ? -1.0 : best * 1e9;
}

/* The "model name" line of /proc/cpuinfo, JSON-safe. */
static void cpu_model(char *buf, size_t cap) {
  snprintf(buf, cap, "unknown");
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (!f) return;
  char line[512];
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "model name", 10) != 0) continue;
    const char *v = strchr(line, ':');
    if (!v) break;
    v++;
    while (*v == ' ' || *v == '\t') v++;
    size_t o = 0;
    for (; *v && *v != '\n' && o + 1 < cap; v++)
      if (*v != '"' && *v != '\\') buf[o++] = *v;
    buf[o] = 0;
    break;
  }
  fclose(f);
}

void bench_isa_arg(int argc, char **argv) {
  const char *isa = bench_arg_str(argc, argv, "--isa", NULL);
  if (isa && lsp_cpu_isa_cap(isa)) {
    fprintf(stderr, "%s: --isa: %s\n", prog(argv), lsp_errmsg());
    exit(2);
  }
}

void bench_print_host(int threads, int blas_threads, double load0) {
  char model[256];
  cpu_model(model, sizeof model);
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  printf("\"cpu_model\": \"%s\", \"cores\": %ld, \"isa\": \"%s\", \"clones\": \"%s\", "
         "\"blas_core\": \"%s\", \"threads\": %d, \"blas_threads\": %d, "
         "\"load_avg\": [%.2f, %.2f], ",
         model, cores, lsp_cpu_isa_name(lsp_cpu_isa()), lsp_cpu_path(), lsp_blas_core(),
         threads, blas_threads, load0, bench_loadavg());
  double rtt = threads > 1 || blas_threads > 1 ? bench_core_rtt_ns() : -1.0;
  if (rtt > 0)
    printf("\"core_rtt_ns\": %.0f", rtt);
  else
    printf("\"core_rtt_ns\": null");
}
