/* lsp_pdf.c — an HTML report printed to PDF by headless Chromium
 * (lsp_pdf.h). */
#define _XOPEN_SOURCE 700
#include "reports/lsp_pdf.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "core/base/lsp_proc.h"
#include "reports/lsp_outdir.h"

static int is_exec_file(const char *p) {
  struct stat sb;
  return stat(p, &sb) == 0 && S_ISREG(sb.st_mode) && access(p, X_OK) == 0;
}

/* `name` on PATH into path[cap]; 1 when found. */
static int on_path(const char *name, char *path, size_t cap) {
  const char *dirs = getenv("PATH");
  if (!dirs || !*dirs) dirs = "/usr/bin:/bin";
  while (*dirs) {
    size_t len = strcspn(dirs, ":");
    int n = snprintf(path, cap, "%.*s/%s", (int)(len ? len : 1),
                     len ? dirs : ".", name);
    if (n > 0 && (size_t)n < cap && is_exec_file(path)) return 1;
    dirs += len + (dirs[len] == ':');
  }
  return 0;
}

int lsp_pdf_find(char *path, size_t cap) {
  const char *env = getenv("LSPROBE_CHROMIUM");
  if (env && *env) {
    if (strchr(env, '/')) {
      if (is_exec_file(env) && strlen(env) < cap) {
        snprintf(path, cap, "%s", env);
        return LSP_OK;
      }
      return lsp_fail(LSP_PDF_NOCHROMIUM,
                      "LSPROBE_CHROMIUM=%s is not an executable file", env);
    }
    if (on_path(env, path, cap)) return LSP_OK;
    return lsp_fail(LSP_PDF_NOCHROMIUM, "LSPROBE_CHROMIUM=%s is not on PATH",
                    env);
  }
  static const char *const names[] = {"chromium", "chromium-browser",
                                      "google-chrome"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (on_path(names[i], path, cap)) return LSP_OK;
  return lsp_fail(
      LSP_PDF_NOCHROMIUM,
      "no Chromium found (chromium, chromium-browser or google-chrome on PATH, "
      "or LSPROBE_CHROMIUM)");
}

/* "file://" + the absolute path, percent-encoded but for unreserved
 * characters and '/'. */
static char *file_url(const char *abs) {
  size_t n = strlen(abs);
  char *u = malloc(8 + 3 * n + 1), *q = u;
  if (!u) return NULL;
  q += sprintf(q, "file://");
  for (const unsigned char *c = (const unsigned char *)abs; *c; c++)
    if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
        (*c >= '0' && *c <= '9') || strchr("-._~/", *c))
      *q++ = (char)*c;
    else
      q += sprintf(q, "%%%02X", *c);
  *q = '\0';
  return u;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Run argv (argv[0] a path) with environment env in a process group of its
 * own with no input and its output discarded; wait for it, killing the
 * group after timeout_s or on an interruption. *status gets the wait
 * status. */
static int run(char *const argv[], char *const env[], double timeout_s, int *status) {
  fflush(NULL); /* fork: do not duplicate unflushed stdio buffers */
  pid_t pid = fork();
  if (pid < 0)
    return lsp_fail(LSP_EIO, "cannot start %s: %s", argv[0], strerror(errno));
  if (pid == 0) { /* only async-signal-safe calls from here to exec */
    setpgid(0, 0);
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
      dup2(null, 0);
      dup2(null, 1);
      dup2(null, 2);
    }
    execve(argv[0], argv, env);
    _exit(127);
  }
  setpgid(pid, pid); /* also here: no race with the child's own call */
  int st = LSP_OK;
  for (long waited = 0;; waited += 50) {
    pid_t r = waitpid(pid, status, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) {
      st = lsp_fail(LSP_EIO, "%s: cannot wait: %s", argv[0], strerror(errno));
      break;
    }
    if (lsp_interrupted() || waited >= (long)(timeout_s * 1000)) {
      st = lsp_interrupted()
               ? lsp_fail(LSP_EINTR, "interrupted while printing the PDF")
               : lsp_fail(LSP_EIO, "%s did not finish printing within %.0f s",
                          argv[0], timeout_s);
      kill(-pid, SIGKILL);
      while (waitpid(pid, status, 0) < 0 && errno == EINTR) {
      }
      break;
    }
    sleep_ms(50);
  }
  kill(-pid, SIGKILL); /* helper processes Chromium may have left behind */
  return st;
}

int lsp_pdf_print(const char *html, const char *pdf, double timeout_s) {
  char exe[4096];
  int st = lsp_pdf_find(exe, sizeof exe);
  if (st) return st;
  char *abs = realpath(html, NULL), *url = NULL, *arg_out = NULL, *arg_prof = NULL;
  char *tmpvar = NULL, **env = NULL;
  lsp_outfile out = {0};
  int opened = 0;
  char prof[4096] = "";
  if (!abs) return lsp_fail(LSP_EIO, "%s: %s", html, strerror(errno));
  const char *tmpdir = lsp_tmp_dir();
  size_t plen = strlen(pdf);
  if (!(url = file_url(abs)) || !(arg_out = malloc(plen + lsp_out_tmp_extra() + 32)) ||
      !(arg_prof = malloc(sizeof prof + 32)) ||
      /* Chromium keeps scratch files in $TMPDIR and fails (exit status 21)
       * when it is no folder it can write into: lsp_tmp_dir's choice */
      !(tmpvar = lsp_strdupf("TMPDIR=%s", tmpdir)) || !(env = lsp_environ_with(tmpvar))) {
    st = lsp_fail(LSP_ENOMEM, "out of memory");
    goto done;
  }
  /* Chromium prints into lsprobe's temporary (the umask's mode, removed
   * at a Ctrl-C), renamed over `pdf` once it holds a PDF */
  if ((st = lsp_out_open(&out, pdf))) goto done;
  opened = 1;
  const char *tmp = out.tmp_path ? out.tmp_path : pdf;
  if ((size_t)snprintf(prof, sizeof prof, "%s/lsprobe-chromium-XXXXXX",
                       tmpdir) >= sizeof prof ||
      !mkdtemp(prof)) {
    st = lsp_fail(LSP_EIO, "%s: cannot create a Chromium profile folder",
                  tmpdir);
    prof[0] = '\0';
    goto done;
  }
  snprintf(arg_out, plen + lsp_out_tmp_extra() + 32, "--print-to-pdf=%s", tmp);
  snprintf(arg_prof, sizeof prof + 32, "--user-data-dir=%s", prof);
  /* Chromium refuses to run as root inside its sandbox; the page is the
   * report lsprobe just wrote, from a file, with no network access needed */
  char *argv[20];
  int a = 0;
  argv[a++] = exe;
  argv[a++] = "--headless";
  if (geteuid() == 0) argv[a++] = "--no-sandbox";
  static char *const flags[] = {"--disable-gpu",
                                "--no-first-run",
                                "--no-default-browser-check",
                                "--disable-extensions",
                                "--disable-background-networking",
                                "--disable-sync",
                                "--mute-audio",
                                "--disable-dev-shm-usage",
                                "--no-pdf-header-footer"};
  for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
    argv[a++] = flags[i];
  argv[a++] = arg_prof;
  argv[a++] = arg_out;
  argv[a++] = url;
  argv[a] = NULL;
  int wst = 0;
  if ((st = run(argv, env, timeout_s, &wst))) goto done;
  if (!WIFEXITED(wst) || WEXITSTATUS(wst) != 0) {
    st =
        WIFEXITED(wst) && WEXITSTATUS(wst) == 127
            ? lsp_fail(LSP_PDF_NOCHROMIUM, "%s could not be run", exe)
            : lsp_fail(LSP_EIO, "%s: Chromium failed (%s %d) printing %s", pdf,
                       WIFEXITED(wst) ? "exit status" : "signal",
                       WIFEXITED(wst) ? WEXITSTATUS(wst) : WTERMSIG(wst), html);
    goto done;
  }
  char head[5] = {0};
  FILE *f = fopen(tmp, "rb");
  size_t got = f ? fread(head, 1, sizeof head, f) : 0;
  if (f) fclose(f);
  if (got != sizeof head || memcmp(head, "%PDF-", 5) != 0) {
    st =
        lsp_fail(LSP_EIO, "%s: Chromium wrote no PDF (printing %s)", pdf, html);
    goto done;
  }
  opened = 0;
  st = lsp_out_commit(&out);
done:
  if (opened) lsp_out_abort(&out);
  if (prof[0]) lsp_outdir_rm_rf(prof);
  free(abs);
  free(url);
  free(arg_out);
  free(arg_prof);
  free(tmpvar);
  free(env);
  return st;
}
