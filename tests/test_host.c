/* The library does not surprise its host. This test is a host: it defines
 * the functions that change process-wide state (the umask, OpenMP's and
 * OpenBLAS's thread counts, signal handlers, GSL's error handler) itself, so
 * every call lsprobe makes to them lands here and is counted before being
 * passed on (dlsym RTLD_NEXT), and then drives the library through training,
 * model files, calibration and the whole `lsprobe run` pipeline.
 *
 * Also: lsp_init() switches GSL's handler off exactly once, after which a
 * GSL error returns instead of calling abort(); lsp_model_init returns
 * LSP_ENOMEM when its generator cannot be allocated (gsl_rng_alloc is
 * interposed too, failing on request the way GSL fails: through gsl_error);
 * a child forked after a parallel call computes on one thread. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "analysis/lsp_calib.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_init.h"
#include "core/base/lsp_io.h"
#include "core/base/lsp_threads.h"
#include "core/data/lsp_data.h"
#include "core/loss/lsp_loss.h"
#include "core/nn/lsp_model.h"
#include "core/train/lsp_train.h"
#include "reports/lsp_run.h"
#include "testutil.h"

/* ---- the interposed functions ------------------------------------------- */

enum { C_UMASK, C_BLAS, C_OMP, C_GSL_HANDLER, C_GSL_OFF, C_SIGACTION, C_SIGNAL, C_N };
static const char *k_names[C_N] = {"umask",         "openblas_set_num_threads",
                                   "omp_set_num_threads", "gsl_set_error_handler",
                                   "gsl_set_error_handler_off", "sigaction", "signal"};
static int g_calls[C_N];
static int g_fail_rng; /* gsl_rng_alloc fails (once) when set */

/* The next definition of `name` (libc's, OpenBLAS's, GSL's ...) into the
 * function pointer at fp (memcpy: ISO C has no object-to-function cast). */
static void next(const char *name, void *fp, size_t size) {
  void *f = dlsym(RTLD_NEXT, name);
  if (!f) {
    fprintf(stderr, "test_host: no %s to forward to\n", name);
    abort();
  }
  memcpy(fp, &f, size);
}
#define NEXT(fp, name) next(name, &(fp), sizeof(fp))

mode_t umask(mode_t m) {
  g_calls[C_UMASK]++;
  mode_t (*f)(mode_t);
  NEXT(f, "umask");
  return f(m);
}
void openblas_set_num_threads(int n) {
  g_calls[C_BLAS]++;
  void (*f)(int);
  NEXT(f, "openblas_set_num_threads");
  f(n);
}
void omp_set_num_threads(int n) {
  g_calls[C_OMP]++;
  void (*f)(int);
  NEXT(f, "omp_set_num_threads");
  f(n);
}
gsl_error_handler_t *gsl_set_error_handler(gsl_error_handler_t *h) {
  g_calls[C_GSL_HANDLER]++;
  gsl_error_handler_t *(*f)(gsl_error_handler_t *);
  NEXT(f, "gsl_set_error_handler");
  return f(h);
}
gsl_error_handler_t *gsl_set_error_handler_off(void) {
  g_calls[C_GSL_OFF]++;
  gsl_error_handler_t *(*f)(void);
  NEXT(f, "gsl_set_error_handler_off");
  return f();
}
int sigaction(int sig, const struct sigaction *act, struct sigaction *old) {
  if (act) g_calls[C_SIGACTION]++;
  int (*f)(int, const struct sigaction *, struct sigaction *);
  NEXT(f, "sigaction");
  return f(sig, act, old);
}
typedef void (*handler_fn)(int);
handler_fn signal(int sig, handler_fn h) {
  g_calls[C_SIGNAL]++;
  handler_fn (*f)(int, handler_fn);
  NEXT(f, "signal");
  return f(sig, h);
}
gsl_rng *gsl_rng_alloc(const gsl_rng_type *t) {
  if (g_fail_rng) {
    g_fail_rng = 0;
    /* what GSL does when its malloc fails */
    GSL_ERROR_VAL("failed to allocate space for rng struct", GSL_ENOMEM, 0);
  }
  gsl_rng *(*f)(const gsl_rng_type *);
  NEXT(f, "gsl_rng_alloc");
  return f(t);
}

static void reset_counts(void) { memset(g_calls, 0, sizeof g_calls); }

/* Every counter is zero, or the test fails naming what was changed. */
static void expect_untouched(const char *during) {
  for (int c = 0; c < C_N; c++)
    if (g_calls[c]) {
      print_error("%s called %s() %d times: process-wide state changed behind the host\n",
                  during, k_names[c], g_calls[c]);
      fail();
    }
}

/* ---- lsp_init and GSL errors -------------------------------------------- */

static void test_init_once_gsl_errors_return(void **state) {
  (void)state;
  reset_counts();
  assert_int_equal(lsp_init(), LSP_OK);
  assert_int_equal(lsp_init(), LSP_OK);
  assert_int_equal(g_calls[C_GSL_OFF], 1); /* once, however often called */
  g_calls[C_GSL_OFF] = 0;
  expect_untouched("lsp_init");
  /* GSL's default handler would abort() here */
  gsl_error("a GSL failure", __FILE__, __LINE__, GSL_EFAILED);
  size_t hidden[1] = {3};
  lsp_model *m = lsp_model_alloc_mlp(2, hidden, 1, 2);
  assert_non_null(m);
  g_fail_rng = 1;
  assert_int_equal(lsp_model_init(m, 1), LSP_ENOMEM);
  assert_non_null(strstr(lsp_errmsg(), "out of memory"));
  assert_int_equal(lsp_model_init(m, 1), LSP_OK);
  assert_true(m->params[0] != 0.0f);
  lsp_model_free(m);
}

/* ---- fork ---------------------------------------------------------------- */

/* A child forked after the parent ran a parallel loss (OpenMP's pool
 * started) computes the same loss on one thread: with a team of two it
 * would wait forever for the parent's pool (alarm() turns that into
 * SIGALRM). The parent keeps its own count. */
static void test_forked_child_runs_on_one_thread(void **state) {
  (void)state;
  assert_int_equal(lsp_init(), LSP_OK);
  enum { N = 20000, K = 10 }; /* n·k >= 65536: the parallel branch */
  float *z = malloc(N * K * sizeof *z);
  int32_t *y = malloc(N * sizeof *y);
  assert_true(z && y);
  for (size_t i = 0; i < (size_t)N * K; i++) z[i] = (float)((i * 7919) % 97) / 13.0f;
  for (size_t i = 0; i < N; i++) y[i] = (int32_t)(i % K);
  lsp_ls ls = {0.1, LSP_LS_UNIFORM, 0};
  int prev = lsp_threads_set(2);
  double want = 0.0;
  assert_int_equal(lsp_loss_xent(z, y, N, K, &ls, NULL, 1.0, NULL, &want), LSP_OK);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    alarm(60);
    double got = 0.0;
    int st = lsp_loss_xent(z, y, N, K, &ls, NULL, 1.0, NULL, &got);
    _exit(st == LSP_OK && lsp_threads_get() == 1 && fabs(got - want) <= 1e-12 * fabs(want)
              ? 0 : 3);
  }
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  if (WIFSIGNALED(status))
    fail_msg("the forked child was killed by signal %d (SIGALRM: it hung)", WTERMSIG(status));
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  assert_int_equal(lsp_threads_get(), 2);
  lsp_threads_set(prev);
  free(z);
  free(y);
}

/* ---- the library leaves the process alone ------------------------------- */

static void test_library_calls_leave_process_state(void **state) {
  (void)state;
  char dir[512], path[600];
  snprintf(dir, sizeof dir, "%s", td_tmp("host"));
  assert_int_equal(lsp_mkdir_p(dir), LSP_OK);
  lsp_data_opts dopt;
  lsp_data_opts_default(&dopt);
  dopt.spec = "synthetic:train=600,test=200,dim=16,classes=4";
  lsp_splits data;
  assert_int_equal(lsp_data_load(&dopt, &data), LSP_OK);
  size_t hidden[1] = {12};
  lsp_model *m = lsp_model_alloc_mlp(16, hidden, 1, 4);
  assert_non_null(m);
  lsp_train_opts to;
  lsp_train_opts_default(&to);
  to.epochs = 2;
  to.batch = 64;

  reset_counts();
  /* lsprobe's own thread count: the library's setting, nothing else */
  int prev = lsp_threads_set(2);
  assert_int_equal(lsp_threads_get(), 2);
  assert_int_equal(lsp_train(m, &data, &to, NULL, NULL, NULL), LSP_OK);
  expect_untouched("lsp_threads_set + lsp_train");
  snprintf(path, sizeof path, "%s/m.lspm", dir);
  assert_int_equal(lsp_model_save(m, path), LSP_OK);
  expect_untouched("lsp_model_save (an atomic output file)");
  float *z = malloc(data.val.n * 4 * sizeof *z);
  assert_non_null(z);
  assert_int_equal(lsp_model_predict(m, data.val.x, data.val.n, 64, z, NULL), LSP_OK);
  double t;
  assert_int_equal(lsp_calib_temperature_fit(z, data.val.y, data.val.n, 4, &t), LSP_OK);
  expect_untouched("lsp_calib_temperature_fit");
  free(z);

  /* the whole pipeline, in a tiny configuration */
  lsp_run_opts ro;
  lsp_run_opts_default(&ro);
  lsp_run_opts_quick(&ro);
  ro.data = "synthetic:train=600,test=200,dim=16,classes=4";
  ro.data_fallback = 0;
  ro.epochs = 1;
  ro.bootstrap = 20;
  ro.attack_limit = 50;
  ro.threads = 1;
  snprintf(path, sizeof path, "%s/run", dir);
  ro.out = path;
  const char *report = NULL;
  assert_int_equal(lsp_run(&ro, NULL, NULL, &report), LSP_OK);
  expect_untouched("lsp_run");
  assert_int_equal(lsp_threads_get(), 2); /* the call's own count was restored */
  lsp_threads_set(prev);

  /* the explicit call for programs that own their process does change it */
  reset_counts();
  lsp_threads_set_blas(lsp_threads_get_blas());
  assert_int_equal(g_calls[C_BLAS], 1);

  lsp_model_free(m);
  lsp_splits_free(&data);
  char cmd[700];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_init_once_gsl_errors_return),
      cmocka_unit_test(test_library_calls_leave_process_state),
      cmocka_unit_test(test_forked_child_runs_on_one_thread),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
