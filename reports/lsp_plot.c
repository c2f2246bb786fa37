/* lsp_plot.c — the gnuplot driver: a script through a pipe, stderr read
 * back from an unlinked temporary file, the picture renamed into place on
 * success, gnuplot stopped after a time limit. */
#define _POSIX_C_SOURCE 200809L
#include "reports/lsp_plot.h"

#include <stdatomic.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <time.h>
#include <unistd.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "core/base/lsp_proc.h"
#include "reports/lsp_plot_int.h"

/* Okabe & Ito (2008), "Color Universal Design": distinguishable under the
 * common colour-vision deficiencies. Yellow is last: weak on white. */
static const char *const k_palette[8] = {"#0072b2", "#d55e00", "#009e73",
                                         "#e69f00", "#cc79a7", "#56b4e9",
                                         "#000000", "#f0e442"};
/* Filled circle, square, triangle, inverted triangle, diamond, pentagon,
 * then open circle and open square: shape tells series apart in grey too. */
static const int k_marker[8] = {7, 5, 9, 11, 13, 15, 6, 4};

const char *lsp_plot_color(int i) {
  return k_palette[((i % 8) + 8) % 8];
}

const char *lsp_plot_command(void) {
  const char *c = getenv("LSPROBE_GNUPLOT");
  return (c && *c) ? c : "gnuplot";
}

static int is_exec_file(const char *p) {
  struct stat sb;
  return stat(p, &sb) == 0 && S_ISREG(sb.st_mode) && access(p, X_OK) == 0;
}

int lsp_plot_available(void) {
  const char *cmd = lsp_plot_command();
  if (strchr(cmd, '/')) {
    if (is_exec_file(cmd)) return LSP_OK;
    return lsp_fail(LSP_PLOT_NOGNUPLOT,
                    "gnuplot not found: %s is not an "
                    "executable file (LSPROBE_GNUPLOT)",
                    cmd);
  }
  const char *path = getenv("PATH");
  if (!path || !*path) path = "/usr/bin:/bin";
  size_t clen = strlen(cmd);
  while (*path) {
    const char *end = strchr(path, ':');
    size_t dlen = end ? (size_t)(end - path) : strlen(path);
    char *full = malloc(dlen + clen + 3);
    if (!full) return lsp_fail(LSP_ENOMEM, "out of memory");
    if (dlen == 0)
      sprintf(full, "./%s", cmd);
    else
      sprintf(full, "%.*s/%s", (int)dlen, path, cmd);
    int ok = is_exec_file(full);
    free(full);
    if (ok) return LSP_OK;
    path += dlen + (end ? 1 : 0);
  }
  return lsp_fail(LSP_PLOT_NOGNUPLOT,
                  "gnuplot not found on PATH (install gnuplot-nox, or set "
                  "LSPROBE_GNUPLOT); plots are skipped");
}

int lsp_plot_format_parse(const char *name, lsp_plot_format *fmt) {
  if (name && !strcasecmp(name, "svg"))
    *fmt = LSP_PLOT_SVG;
  else if (name && !strcasecmp(name, "png"))
    *fmt = LSP_PLOT_PNG;
  else if (name && !strcasecmp(name, "pdf"))
    *fmt = LSP_PLOT_PDF;
  else
    return lsp_fail(LSP_EINVAL, "unknown plot format '%s' (svg, png or pdf)",
                    name ? name : "");
  return LSP_OK;
}

const char *lsp_plot_format_ext(lsp_plot_format fmt) {
  switch (fmt) {
    case LSP_PLOT_PNG:
      return "png";
    case LSP_PLOT_PDF:
      return "pdf";
    default:
      return "svg";
  }
}

/* ---- script helpers (lsp_plot_int.h) ------------------------------------ */

int lsp_plot_script_begin(lsp_plot_script *s) {
  s->buf = NULL;
  s->len = 0;
  s->f = open_memstream(&s->buf, &s->len);
  if (!s->f) return lsp_fail(LSP_ENOMEM, "out of memory (plot script)");
  return LSP_OK;
}

int lsp_plot_script_end(lsp_plot_script *s) {
  int bad = ferror(s->f) != 0;
  if (fclose(s->f) != 0) bad = 1;
  s->f = NULL;
  if (bad || !s->buf)
    return lsp_fail(LSP_ENOMEM, "out of memory (plot script)");
  return LSP_OK;
}

void lsp_plot_script_free(lsp_plot_script *s) {
  if (!s) return;
  if (s->f) fclose(s->f);
  free(s->buf);
  s->f = NULL;
  s->buf = NULL;
}

int lsp_plot_script_run(lsp_plot_script *s, const char *path,
                        lsp_plot_format fmt, double width, double height) {
  int st = lsp_plot_script_end(s);
  if (!st) st = lsp_plot_run(path, fmt, width, height, s->buf);
  lsp_plot_script_free(s);
  return st;
}

void lsp_plot_quote(FILE *f, const char *s) {
  fputc('\'', f);
  for (; s && *s; s++) {
    if (*s == '\'')
      fputs("''", f);
    else if ((unsigned char)*s < 0x20 || *s == 0x7f)
      fputc(' ', f);
    else
      fputc(*s, f);
  }
  fputc('\'', f);
}

void lsp_plot_num(FILE *f, double x) {
  if (isfinite(x))
    fprintf(f, "%.17g", x);
  else
    fputs("NaN", f);
}

void lsp_plot_bound(FILE *f, double x) {
  if (isfinite(x))
    fprintf(f, "%.17g", x);
  else
    fputc('*', f);
}

void lsp_plot_grid(size_t npanels, int columns, int *rows, int *cols) {
  size_t c = columns > 0 ? (size_t)columns : (npanels < 4 ? npanels : 4);
  if (c > npanels) c = npanels;
  if (c == 0) c = 1;
  *cols = (int)c;
  *rows = (int)((npanels + c - 1) / c);
}

int lsp_plot_check_common(const char *path, const lsp_plot_opts *opt) {
  if (!path || !*path) return lsp_fail(LSP_EINVAL, "plot: no output path");
  if (!opt) return lsp_fail(LSP_EINVAL, "%s: no plot options", path);
  if ((int)opt->format < 0 || opt->format > LSP_PLOT_PDF)
    return lsp_fail(LSP_EINVAL, "%s: unknown plot format %d", path,
                    (int)opt->format);
  if (!(opt->panel_width >= 0) || !(opt->panel_height >= 0) ||
      opt->panel_width > 40 || opt->panel_height > 40)
    return lsp_fail(LSP_EINVAL, "%s: panel size must be in [0, 40] inches",
                    path);
  return LSP_OK;
}

/* ---- running gnuplot ---------------------------------------------------- */

/* The terminal and house style, before the caller's body. */
static void write_preamble(FILE *f, lsp_plot_format fmt, double w, double h,
                           const char *out) {
  switch (fmt) {
    case LSP_PLOT_PNG:
      /* 150 pixels per inch; cairo fonts are sized at 72 pt per inch of
       * 96 pixels, hence the font scale. libgd "png" if cairo is absent. */
      fprintf(f,
              "if (strstrt(GPVAL_TERMINALS, ' pngcairo ') > 0) {\n"
              "  set terminal pngcairo size %d,%d noenhanced font "
              "'DejaVu Sans,10' fontscale 1.5 linewidth 1.5 "
              "background '#ffffff'\n"
              "} else {\n"
              "  set terminal png size %d,%d noenhanced font 'DejaVu Sans,11' "
              "background '#ffffff'\n"
              "}\n",
              (int)lround(w * 150), (int)lround(h * 150), (int)lround(w * 150),
              (int)lround(h * 150));
      break;
    case LSP_PLOT_PDF:
      fprintf(f,
              "if (strstrt(GPVAL_TERMINALS, ' pdfcairo ') == 0) {\n"
              "  print 'error: this gnuplot has no pdfcairo terminal "
              "(PDF output needs gnuplot built with cairo)'\n"
              "  exit status 1\n"
              "}\n"
              "set terminal pdfcairo size %.3fin,%.3fin noenhanced font "
              "'DejaVu Sans,9' linewidth 1 background '#ffffff'\n",
              w, h);
      break;
    default:
      /* dynamic: no width/height attributes, the picture scales to its
       * container when inlined; only the viewBox fixes the aspect. */
      fprintf(f,
              "set terminal svg size %d,%d dynamic noenhanced font "
              "'Helvetica,12' linewidth 1.2 background '#ffffff'\n",
              (int)lround(w * 96), (int)lround(h * 96));
      break;
  }
  fputs("set output ", f);
  lsp_plot_quote(f, out);
  fputs("\nset encoding utf8\n", f);
  for (int i = 0; i < 8; i++)
    fprintf(f, "set linetype %d lc rgb '%s' lw 1.6 pt %d ps 0.9 dt solid\n",
            i + 1, k_palette[i], k_marker[i]);
  fputs(
      "set linetype cycle 8\n"
      "set border 3 lc rgb '#404040' lw 1\n"
      "set tics nomirror out scale 0.6 textcolor rgb '#202020'\n"
      "set grid back lc rgb '#dadada' lw 0.8 dt solid\n"
      "set key top right reverse Left noautotitle samplen 2 spacing 1.1 "
      "noopaque nobox\n"
      "set style fill solid 1.0 noborder\n"
      "set datafile missing NaN\n",
      f);
}

/* The first informative line of gnuplot's stderr: one mentioning an error
 * or a warning, or gnuplot's "line N: ..." message; else the last
 * non-blank line. Lines from fontconfig are not gnuplot's and are skipped.
 * Returns 1 if some line says "error" or "warning". */
static int first_error_line(const char *text, char *out, size_t cap) {
  const char *best = NULL, *last = NULL;
  size_t best_len = 0, last_len = 0;
  int flagged = 0;
  for (const char *p = text; *p;) {
    const char *e = strchr(p, '\n');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    const char *q = p;
    while (q < p + n && isspace((unsigned char)*q)) q++;
    size_t m = (size_t)(p + n - q);
    while (m > 0 && isspace((unsigned char)q[m - 1])) m--;
    if (m > 0 && strncmp(q, "Fontconfig", 10) != 0) {
      char line[512];
      size_t k = m < sizeof line - 1 ? m : sizeof line - 1;
      memcpy(line, q, k);
      line[k] = '\0';
      for (size_t i = 0; i < k; i++)
        line[i] = (char)tolower((unsigned char)line[i]);
      int says = strstr(line, "error") || strstr(line, "warning");
      int lineno =
          !strncmp(line, "line ", 5) && isdigit((unsigned char)line[5]);
      if (says) flagged = 1;
      if (!best && (says || lineno)) {
        best = q;
        best_len = m;
      }
      last = q;
      last_len = m;
    }
    p += n + (e ? 1 : 0);
  }
  if (!best) {
    best = last;
    best_len = last_len;
  }
  if (!best) {
    snprintf(out, cap, "(no message)");
  } else {
    if (best_len > 200) best_len = 200;
    snprintf(out, cap, "%.*s", (int)best_len, best);
  }
  return flagged;
}

/* gnuplot's stderr: a temporary file removed at once, so that nothing is
 * left behind whatever ends the process; *fd stays open for reading back. */
static int make_err_file(int *fd) {
  char buf[4096];
  const char *dir = lsp_tmp_dir();
  if ((size_t)snprintf(buf, sizeof buf, "%s/lsprobe-gnuplot-XXXXXX", dir) >= sizeof buf)
    return lsp_fail(LSP_EIO, "%s: temporary folder name too long", dir);
  *fd = mkstemp(buf);
  if (*fd < 0)
    return lsp_fail(LSP_EIO, "%s: cannot create a temporary file: %s", dir,
                    strerror(errno));
  (void)unlink(buf);
  (void)fcntl(*fd, F_SETFD, FD_CLOEXEC);
  return LSP_OK;
}

/* The whole of file `fd` from its start, NUL-terminated (free() it). */
static int read_err_file(int fd, char **text) {
  size_t cap = 4096, n = 0;
  char *b = malloc(cap);
  if (!b || lseek(fd, 0, SEEK_SET) != 0) {
    free(b);
    return LSP_EIO;
  }
  for (;;) {
    if (n + 1 == cap) {
      char *nb = realloc(b, cap * 2);
      if (!nb) {
        free(b);
        return LSP_EIO;
      }
      b = nb;
      cap *= 2;
    }
    ssize_t r = read(fd, b + n, cap - 1 - n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      free(b);
      return LSP_EIO;
    }
    if (r == 0) break;
    n += (size_t)r;
  }
  b[n] = '\0';
  *text = b;
  return LSP_OK;
}

/* Seconds one gnuplot may take: 120, or LSPROBE_GNUPLOT_TIMEOUT, which
 * must be a number in (0, 1e6] (else the figure fails, saying so). */
static int plot_timeout(double *t) {
  const char *e = getenv("LSPROBE_GNUPLOT_TIMEOUT");
  *t = 120;
  if (!e || !*e) return LSP_OK;
  char *end;
  errno = 0;
  double v = strtod(e, &end);
  if (*end != '\0' || errno || !(v > 0 && v <= 1e6))
    return lsp_fail(LSP_EINVAL,
                    "LSPROBE_GNUPLOT_TIMEOUT=%.40s is not a number of seconds in (0, 1e6]", e);
  *t = v;
  return LSP_OK;
}

static long long mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The process groups of the gnuplots running now, for lsp_plot_kill_live
 * (a slot holds a group id, 0 when free). Lock-free atomics: read from a
 * signal handler. */
#define LIVE_MAX 64
static atomic_int g_live[LIVE_MAX];

static int live_add(pid_t pg) {
  for (int i = 0; i < LIVE_MAX; i++) {
    int z = 0;
    if (atomic_compare_exchange_strong(&g_live[i], &z, (int)pg)) return i;
  }
  return -1; /* more plots at once than slots: that one is not listed */
}

extern char **environ; /* the child sets it before execlp, which searches PATH */

void lsp_plot_kill_live(void) {
  for (int i = 0; i < LIVE_MAX; i++) {
    int pg = atomic_load(&g_live[i]);
    if (pg > 0) kill(-pg, SIGKILL);
  }
}


/* Feed the script to gnuplot, started in a process group of its own with
 * stdout discarded and stderr into errfd, and wait for it; the group is
 * killed on an interruption or after plot_timeout() seconds. SIGPIPE is
 * blocked in this thread while we write, so a gnuplot that dies early
 * gives EPIPE instead of killing the caller; a SIGPIPE raised meanwhile is
 * consumed before unblocking. */
static int pipe_script(const char *path, const char *script, size_t len, int errfd,
                       int *wstatus) {
  sigset_t pipeset, oldset, pending;
  sigemptyset(&pipeset);
  sigaddset(&pipeset, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipeset, &oldset);
  sigpending(&pending);
  int was_pending = sigismember(&pending, SIGPIPE);

  int st = LSP_OK, pfd[2] = {-1, -1};
  const char *cmd = lsp_plot_command();
  double limit;
  pid_t pid = -1;
  if ((st = plot_timeout(&limit))) goto done;
  if (pipe(pfd) != 0) {
    st = lsp_fail(LSP_EIO, "cannot start gnuplot: %s", strerror(errno));
    goto done;
  }
  (void)fcntl(pfd[0], F_SETFD, FD_CLOEXEC);
  (void)fcntl(pfd[1], F_SETFD, FD_CLOEXEC);
  /* LC_ALL=C.UTF-8: in the C or POSIX locale (no LANG: containers, cron, a
   * debootstrapped system) gnuplot 5.4 warns that iconv cannot convert the
   * degree sign under `set encoding utf8`, and a warning fails the figure;
   * C.UTF-8 also keeps the decimal point a point */
  char **env = lsp_environ_with("LC_ALL=C.UTF-8");
  if (!env) {
    st = lsp_fail(LSP_ENOMEM, "cannot start gnuplot: out of memory");
    goto done;
  }
  fflush(NULL); /* fork: do not duplicate unflushed stdio buffers */
  const pid_t parent = getpid();
  pid = fork();
  if (pid != 0) free(env);
  if (pid < 0) {
    st = lsp_fail(LSP_EIO, "cannot start gnuplot: %s", strerror(errno));
    goto done;
  }
  if (pid == 0) { /* only async-signal-safe calls from here to exec */
    setpgid(0, 0);
#ifdef __linux__
    /* gnuplot does not outlive lsprobe, even one killed by SIGKILL (the
     * signal handlers kill the whole group; see lsp_plot_kill_live) */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) _exit(126);
#else
    (void)parent;
#endif
    sigprocmask(SIG_SETMASK, &oldset, NULL);
    int null = open("/dev/null", O_WRONLY);
    if (dup2(pfd[0], 0) < 0 || null < 0 || dup2(null, 1) < 0 || dup2(errfd, 2) < 0) _exit(126);
    environ = env;
    execlp(cmd, cmd, (char *)NULL);
    _exit(errno == ENOENT ? 127 : 126); /* as a shell says "not found" */
  }
  setpgid(pid, pid); /* also here: no race with the child's own call */
  const int slot = live_add(pid);
  close(pfd[0]);
  pfd[0] = -1;
  (void)fcntl(pfd[1], F_SETFL, O_NONBLOCK);
  long long deadline = mono_ms() + (long long)(limit * 1000);
  size_t off = 0;
  for (int nap = 1;; nap = nap < 32 ? 2 * nap : 50) {
    while (pfd[1] >= 0 && off < len) {
      ssize_t w = write(pfd[1], script + off, len - off);
      if (w > 0) {
        off += (size_t)w;
      } else if (w < 0 && errno == EINTR) {
        continue;
      } else {
        if (w < 0 && errno == EAGAIN) break;
        off = len; /* EPIPE: gnuplot is gone, its status tells why */
      }
    }
    if (pfd[1] >= 0 && off == len) {
      close(pfd[1]);
      pfd[1] = -1;
    }
    if (pfd[1] < 0) {
      pid_t r = waitpid(pid, wstatus, WNOHANG);
      if (r == pid) break;
      if (r < 0 && errno != EINTR) {
        st = lsp_fail(LSP_EIO, "gnuplot: cannot wait: %s", strerror(errno));
        break;
      }
    }
    if (lsp_interrupted() || mono_ms() >= deadline) {
      st = lsp_interrupted()
               ? lsp_fail(LSP_EINTR, "%s: interrupted", path)
               : lsp_fail(LSP_EDATA,
                          "%s: gnuplot did not finish within %g s and was stopped "
                          "(LSPROBE_GNUPLOT_TIMEOUT)",
                          path, limit);
      kill(-pid, SIGKILL);
      while (waitpid(pid, wstatus, 0) < 0 && errno == EINTR) {
      }
      break;
    }
    if (pfd[1] >= 0) {
      struct pollfd q = {pfd[1], POLLOUT, 0};
      (void)poll(&q, 1, nap);
    } else {
      struct timespec ts = {0, nap * 1000000L};
      nanosleep(&ts, NULL);
    }
  }
  kill(-pid, SIGKILL); /* whatever gnuplot started and left behind */
  if (slot >= 0) atomic_store(&g_live[slot], 0);

done:
  if (pfd[0] >= 0) close(pfd[0]);
  if (pfd[1] >= 0) close(pfd[1]);
  sigpending(&pending);
  if (!was_pending && sigismember(&pending, SIGPIPE)) {
    struct timespec zero = {0, 0};
    (void)sigtimedwait(&pipeset, NULL, &zero);
  }
  pthread_sigmask(SIG_SETMASK, &oldset, NULL);
  return st;
}

int lsp_plot_run(const char *path, lsp_plot_format fmt, double width,
                 double height, const char *body) {
  if (!path || !*path || !body)
    return lsp_fail(LSP_EINVAL, "plot: missing path or script");
  if (!(width >= 0.5 && width <= 100 && height >= 0.5 && height <= 100))
    return lsp_fail(LSP_EINVAL, "%s: figure size %g x %g in out of range", path,
                    width, height);
  if ((int)fmt < 0 || fmt > LSP_PLOT_PDF)
    return lsp_fail(LSP_EINVAL, "%s: unknown plot format %d", path, (int)fmt);
  for (const char *c = path; *c; c++)
    if ((unsigned char)*c < 0x20)
      return lsp_fail(LSP_EINVAL, "plot: output path has a control character");
  if (lsp_interrupted()) return lsp_fail(LSP_EINTR, "%s: interrupted", path);
  int st = lsp_plot_available();
  if (st) return st;

  lsp_outfile out = {0};
  int errfd = -1;
  char *script = NULL;
  size_t scriptlen = 0;
  FILE *sf = NULL;
  char *errtext = NULL;
  int wstatus = 0;

  st = make_err_file(&errfd);
  if (st) return lsp_fail_prefix(st, path);
  st = lsp_out_open(&out, path);
  if (st) goto cleanup;
  if (out.direct) { /* gnuplot writes a file of its own, then renamed */
    st = lsp_fail(LSP_EINVAL, "%s: a plot is written to a regular file, not a device or FIFO",
                  path);
    goto cleanup;
  }

  sf = open_memstream(&script, &scriptlen);
  if (!sf) {
    st = lsp_fail(LSP_ENOMEM, "out of memory (plot script)");
    goto cleanup;
  }
  write_preamble(sf, fmt, width, height, out.tmp_path);
  fputs(body, sf);
  fputs("\nunset multiplot\nunset output\n", sf);
  int bad = ferror(sf) != 0;
  if (fclose(sf)) bad = 1;
  sf = NULL;
  if (bad) {
    st = lsp_fail(LSP_ENOMEM, "out of memory (plot script)");
    goto cleanup;
  }

  st = pipe_script(path, script, scriptlen, errfd, &wstatus);
  if (st) goto cleanup;
  if (lsp_interrupted()) {
    st = lsp_fail(LSP_EINTR, "%s: interrupted", path);
    goto cleanup;
  }
  if (read_err_file(errfd, &errtext)) {
    st = lsp_fail(LSP_EIO, "%s: cannot read gnuplot's messages", path);
    goto cleanup;
  }
  int code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
  if (code == 127 || code == 126) {
    st = lsp_fail(LSP_PLOT_NOGNUPLOT, "gnuplot could not be run (%s)",
                  lsp_plot_command());
    goto cleanup;
  }
  char line[256];
  int flagged = first_error_line(errtext, line, sizeof line);
  if (code != 0 || flagged) {
    if (code == -1)
      st = lsp_fail(LSP_EDATA, "%s: gnuplot was killed by signal %d", path,
                    WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : 0);
    else
      st = lsp_fail(LSP_EDATA, "%s: gnuplot: %s", path, line);
    goto cleanup;
  }
  struct stat sb;
  if (stat(out.tmp_path, &sb) != 0 || sb.st_size == 0) {
    st = lsp_fail(LSP_EDATA, "%s: gnuplot wrote no picture", path);
    goto cleanup;
  }
  st = lsp_out_commit(&out);

cleanup:
  if (sf) fclose(sf);
  if (out.path) lsp_out_abort(&out);
  if (errfd >= 0) close(errfd);
  free(errtext);
  free(script);
  return st;
}
