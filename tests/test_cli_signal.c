/* test_cli_signal.c — the lsprobe command's fatal-signal handler
 * (cli/cli_signal.c) with two threads hit at once: one message, exit 130.
 *
 * A child process installs the handler and starts two threads; its main
 * thread blocks the signals and sends SIGTERM to the first thread, then to
 * the second. The child's stderr is a pipe filled to the brim, so the first
 * handler blocks in its first write, and the second signal arrives while it
 * is there, as GNU timeout's second SIGTERM (to the process group) can
 * arrive while the first is being handled. The parent then drains the pipe:
 * the message must come once and whole, and the child exit with 130. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "testutil.h"

static void *idle(void *arg) {
  (void)arg;
  for (;;) pause();
  return NULL;
}

static void nap_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L}, rest;
  while (nanosleep(&ts, &rest) != 0 && errno == EINTR) ts = rest;
}

/* The child: never returns. It writes a byte to `ready` once both
 * signals are sent (and the pipe full). */
static void child(int wfd, int ready, int sig, int installs_interrupt) {
  if (dup2(wfd, 2) < 0) _exit(90);
  close(wfd);
  int fl = fcntl(2, F_GETFL);
  fcntl(2, F_SETFL, fl | O_NONBLOCK);
  char fill[4096];
  memset(fill, 'x', sizeof fill);
  while (write(2, fill, sizeof fill) > 0) {
  }
  while (write(2, fill, 1) > 0) {
  }
  fcntl(2, F_SETFL, fl); /* full: the handler's write now blocks */
  cli_cleanup_install("probe");
  if (installs_interrupt) cli_interrupt_install();
  pthread_t t[2];
  for (int i = 0; i < 2; i++)
    if (pthread_create(&t[i], NULL, idle, NULL) != 0) _exit(91);
  sigset_t all;
  sigemptyset(&all);
  sigaddset(&all, SIGINT);
  sigaddset(&all, SIGTERM);
  sigaddset(&all, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &all, NULL);
  /* an interruptible command takes its first signal as a request to stop;
   * the two after it end the process (pthread_kill's are no kill()
   * repeats of the first) */
  if (installs_interrupt) {
    pthread_kill(t[0], sig);
    nap_ms(50);
  }
  pthread_kill(t[0], sig);
  nap_ms(50);
  pthread_kill(t[1], sig);
  nap_ms(50);
  if (write(ready, "r", 1) != 1) _exit(92);
  for (;;) pause();
}

static void check_one_message(int sig, int installs_interrupt) {
  int p[2], rp[2];
  assert_int_equal(pipe(p), 0);
  assert_int_equal(pipe(rp), 0);
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    close(p[0]);
    close(rp[0]);
    child(p[1], rp[1], sig, installs_interrupt);
  }
  close(p[1]);
  close(rp[1]);
  char byte;
  ssize_t got;
  while ((got = read(rp[0], &byte, 1)) < 0 && errno == EINTR) {
  }
  close(rp[0]);
  assert_int_equal(got, 1); /* both signals are in, the first handler stuck */
  size_t cap = 1 << 20, len = 0;
  char *buf = malloc(cap);
  assert_non_null(buf);
  for (;;) {
    ssize_t r = read(p[0], buf + len, cap - 1 - len);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    len += (size_t)r;
    assert_true(len < cap - 1);
  }
  buf[len] = 0;
  close(p[0]);
  int st = 0;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  /* the message, whole and once (a sanitizer build may add its own lines) */
  size_t x = 0, said = 0;
  while (x < len && buf[x] == 'x') x++;
  for (const char *c = buf + x; (c = strstr(c, "lsprobe:")) != NULL; c++) said++;
  int whole = strstr(buf + x, "lsprobe: probe: interrupted\n") != NULL;
  char text[512];
  snprintf(text, sizeof text, "%s", buf + x);
  free(buf);
  if (said != 1 || !whole)
    fail_msg("signal %d: after the filler the child wrote \"%s\"", sig, text);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 130);
}

static void test_cleanup_two_threads(void **state) {
  (void)state;
  check_one_message(SIGTERM, 0);
  check_one_message(SIGINT, 0);
}

static void test_interrupt_two_threads(void **state) {
  (void)state;
  check_one_message(SIGTERM, 1);
  check_one_message(SIGHUP, 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cleanup_two_threads),
      cmocka_unit_test(test_interrupt_two_threads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
