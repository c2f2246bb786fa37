/* lsp_proc.c — process tokens (lsp_proc.h). */
#define _POSIX_C_SOURCE 200809L
#include "core/base/lsp_proc.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

/* State letter and start time (field 22) of process `pid`; 0 on success,
 * -1 if /proc has no such process or cannot be read. */
static int proc_stat(long pid, char *state, unsigned long long *start) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%ld/stat", pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  /* "pid (comm) S ppid ...": comm may hold spaces and ')', so parse from
   * the last ')'; fields 3 (state) to 22 (start time) follow. */
  const char *p = strrchr(buf, ')');
  if (!p || p[1] != ' ') return -1;
  p += 2;
  *state = *p;
  for (int field = 3; field < 22; field++) {
    p = strchr(p, ' ');
    if (!p) return -1;
    p++;
  }
  char *end;
  errno = 0;
  *start = strtoull(p, &end, 10);
  if (end == p || errno) return -1;
  return 0;
}

/* The first 8 hex digits of the boot id, or "0". */
static void boot_id(char out[9]) {
  strcpy(out, "0");
  FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
  if (!f) return;
  char b[64];
  if (fgets(b, sizeof b, f)) {
    size_t k = 0;
    while (k < 8 && ((b[k] >= '0' && b[k] <= '9') || (b[k] >= 'a' && b[k] <= 'f'))) k++;
    if (k == 8) {
      memcpy(out, b, 8);
      out[8] = '\0';
    }
  }
  fclose(f);
}

void lsp_proc_token(char *buf) {
  long pid = (long)getpid();
  char state, boot[9];
  unsigned long long start = 0;
  if (proc_stat(pid, &state, &start) != 0) start = 0;
  boot_id(boot);
  snprintf(buf, LSP_PROC_TOKEN_MAX, "%ld-%llu-%s", pid, start, boot);
}

int lsp_proc_token_alive(const char *s, size_t len) {
  char tok[LSP_PROC_TOKEN_MAX];
  if (len == 0 || len >= sizeof tok) return -1;
  memcpy(tok, s, len);
  tok[len] = '\0';
  /* strict syntax: digits '-' digits '-' (8 hex digits | "0") */
  char *p = tok, *end;
  if (*p < '0' || *p > '9') return -1;
  errno = 0;
  long pid = strtol(p, &end, 10);
  if (errno || *end != '-' || pid <= 0) return -1;
  p = end + 1;
  if (*p < '0' || *p > '9') return -1;
  unsigned long long start = strtoull(p, &end, 10);
  if (errno || *end != '-') return -1;
  const char *boot = end + 1;
  size_t bl = strlen(boot);
  if (!(bl == 8 || (bl == 1 && boot[0] == '0'))) return -1;
  for (size_t i = 0; i < bl; i++)
    if (!((boot[i] >= '0' && boot[i] <= '9') || (boot[i] >= 'a' && boot[i] <= 'f')))
      return -1;

  char now_boot[9];
  boot_id(now_boot);
  if (bl == 8 && strcmp(now_boot, "0") != 0 && strcmp(boot, now_boot) != 0)
    return 0; /* made before the last reboot */
  if (kill((pid_t)pid, 0) != 0 && errno == ESRCH) return 0;
  char state;
  unsigned long long now_start;
  if (proc_stat(pid, &state, &now_start) != 0) return 1; /* cannot tell: keep */
  if (state == 'Z' || state == 'X') return 0;
  if (start != 0 && now_start != start) return 0; /* the id was reused */
  return 1;
}

double lsp_mem_available(void) {
  /* test hook (tests/cli_run.sh): LSPROBE_TEST_MEM_AVAILABLE=BYTES stands
   * for what /proc/meminfo would say */
  const char *given = getenv("LSPROBE_TEST_MEM_AVAILABLE");
  if (given && *given) return strtod(given, NULL);
  FILE *f = fopen("/proc/meminfo", "r");
  if (!f) return -1.0;
  char line[256];
  double avail = -1.0, swap = 0.0, kb;
  while (fgets(line, sizeof line, f)) {
    if (sscanf(line, "MemAvailable: %lf kB", &kb) == 1) avail = kb * 1024.0;
    if (sscanf(line, "SwapFree: %lf kB", &kb) == 1) swap = kb * 1024.0;
  }
  fclose(f);
  return avail < 0.0 ? -1.0 : avail + swap;
}

extern char **environ;

char **lsp_environ_with(const char *var) {
  const char *eq = strchr(var, '=');
  const size_t name = eq ? (size_t)(eq - var) + 1 : strlen(var);
  size_t n = 0;
  for (char **e = environ; *e; e++) n++;
  char **v = malloc((n + 2) * sizeof *v);
  if (!v) return NULL;
  size_t o = 0;
  for (char **e = environ; *e; e++)
    if (strncmp(*e, var, name) != 0) v[o++] = *e;
  v[o++] = (char *)var;
  v[o] = NULL;
  return v;
}
