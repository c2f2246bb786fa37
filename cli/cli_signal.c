/* cli_signal.c — the lsprobe command's signal handlers (cli.h). The library
 * installs none: interrupting is the host's decision. */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/base/lsp_io.h"
#include "reports/lsp_plot.h"
#ifdef LSP_MPI
#include "mpi/lsp_mpi.h"
#include "mpi/lsp_sched.h"
#endif

/* The command's name for the message of on_fatal (a string literal of
 * main.c's table), and whether the process ends by the signal itself (a
 * rank of an MPI job, whose runtime reports how its ranks ended). */
static const char *g_cmd = "";
static int g_by_signal;

static void say(const char *s) {
  size_t n = strlen(s);
  while (n > 0) {
    ssize_t w = write(2, s, n);
    if (w <= 0) return;
    s += w;
    n -= (size_t)w;
  }
}

/* Set by the first thread that enters on_fatal. */
static atomic_flag g_ending = ATOMIC_FLAG_INIT;

/* The process ends: remove the temporaries of unfinished outputs. SIGINT,
 * SIGTERM and SIGHUP then end it with "interrupted" and exit 130, as the
 * commands that stop cleanly do; SIGPIPE (the reader went away: nobody to
 * tell) and an MPI rank's signals end it by the same signal. Only
 * async-signal-safe calls. */
static void on_fatal(int sig) {
  /* A signal sent to the process goes to any thread that does not block
   * it: GNU timeout's second SIGTERM (to the process group) can reach a
   * worker thread while the first one's handler runs on another. The
   * first thread here ends the process; any other waits for it. (The
   * handlers block each other on one thread: handle's sa_mask.) */
  if (atomic_flag_test_and_set(&g_ending))
    for (;;) pause();
  lsp_plot_kill_live();
  (void)lsp_out_unlink_live();
  if (sig != SIGPIPE && !g_by_signal) {
    say("lsprobe: ");
    say(g_cmd);
    say(": interrupted\n");
    _exit(130);
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

/* Install handler fn (or fn3, taking the sender's details) for sig. SIGHUP
 * and SIGPIPE stay ignored when they are (`nohup`, the MPI runtime);
 * SIGINT and SIGTERM are taken even then, so that `kill -INT` stops a job
 * a script started in the background (where the shell ignores SIGINT), as
 * it always has. While a handler runs, its thread holds the four signals
 * back: a handler is never entered again on top of itself. */
static void handle(int sig, void (*fn)(int), void (*fn3)(int, siginfo_t *, void *)) {
  struct sigaction sa, old;
  if ((sig == SIGHUP || sig == SIGPIPE) && sigaction(sig, NULL, &old) == 0 &&
      !(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_IGN)
    return;
  memset(&sa, 0, sizeof sa);
  if (fn3) {
    sa.sa_sigaction = fn3;
    sa.sa_flags = SA_SIGINFO;
  } else {
    sa.sa_handler = fn;
  }
  sigemptyset(&sa.sa_mask);
  sigaddset(&sa.sa_mask, SIGINT);
  sigaddset(&sa.sa_mask, SIGTERM);
  sigaddset(&sa.sa_mask, SIGHUP);
  sigaddset(&sa.sa_mask, SIGPIPE);
  sigaction(sig, &sa, NULL);
}

/* The first signal on_signal sees asks for a stop; a later one (on any
 * thread, even while the first handler runs) ends the process, unless it
 * repeats the first: the same signal from the same process, sent with
 * kill(), within a second of it. GNU timeout sends its signal to the
 * command and then to the whole process group, and that second copy is no
 * second Ctrl-C; a terminal's Ctrl-C (sent by the kernel) always counts.
 * A key packs the signal, the sender and whether kill() sent it; lock-free
 * atomics, as lsp_io.c checks for atomic_int. */
#define REPEAT_MS 1000
static atomic_llong g_first;    /* the first signal's key; 0 until then */
static atomic_llong g_first_ms; /* when it came, monotonic ms + 1; 0 until stored */
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "the signal record must be lock-free");

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts); /* async-signal-safe */
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + 1;
}

static void on_signal(int sig, siginfo_t *info, void *ctx) {
  (void)ctx;
  int by_kill = info && info->si_code == SI_USER;
  long long key = ((long long)sig << 33) |
                  ((long long)(by_kill ? (uint32_t)info->si_pid : 0u) << 1) | by_kill;
  long long first = 0;
  if (atomic_compare_exchange_strong(&g_first, &first, key)) {
    atomic_store(&g_first_ms, now_ms());
#ifdef LSP_MPI
    /* mpirun stops the other ranks with SIGTERM when one dies: rank 0
     * names the cells in flight (nothing on the other ranks) */
    if (sig == SIGTERM) lsp_sched_inflight_write(2);
#endif
    lsp_interrupt_request();
    return;
  }
  if (by_kill && key == first) {
    long long t0 = atomic_load(&g_first_ms); /* 0: the first handler is still running */
    if (t0 == 0 || now_ms() - t0 < REPEAT_MS) return;
  }
  on_fatal(sig);
}

void cli_cleanup_install(const char *cmd) {
  g_cmd = cmd ? cmd : "";
#ifdef LSP_MPI
  g_by_signal = lsp_mpi_launched();
#endif
  handle(SIGINT, on_fatal, NULL);
  handle(SIGTERM, on_fatal, NULL);
  handle(SIGHUP, on_fatal, NULL);
  handle(SIGPIPE, on_fatal, NULL); /* `lsprobe run ... | head`: the reader went away */
}

void cli_interrupt_install(void) {
  handle(SIGINT, NULL, on_signal);
  handle(SIGTERM, NULL, on_signal);
  handle(SIGHUP, NULL, on_signal);
}
