/* lsp_outdir.c — preparing, sweeping and publishing an output folder
 * (lsp_outdir.h; the tree walks are in lsp_outdir_tree.c). */
#define _XOPEN_SOURCE 700 /* realpath */
#include "reports/lsp_outdir.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "core/base/lsp_proc.h"
#include "core/data/lsp_data.h"
#include "reports/lsp_manifest.h"
#include "reports/lsp_outdir_int.h"

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif
#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

/* ---- test hooks --------------------------------------------------------------
 * LSPROBE_TEST_FAULT=fail:N makes the N-th fault point of a publication
 * fail (as a full disk would), kill:N kills the process there (SIGKILL, as a
 * power cut or `kill -9` would). LSPROBE_TEST_PUBLISH=inplace publishes file
 * by file from a staging folder inside OUT (as on a mount point);
 * =noexchange makes the folder swap fail as on a file system without
 * RENAME_EXCHANGE. Used by tests/test_outdir.c and tests/cli_outdir.sh. */

static long g_point, g_fault_at = -1;
static int g_fault_kill;

void lsp_od_arm_faults(void) {
  g_point = 0;
  g_fault_at = -1;
  const char *f = getenv("LSPROBE_TEST_FAULT");
  if (!f) return;
  if (!strncmp(f, "fail:", 5)) g_fault_kill = 0;
  else if (!strncmp(f, "kill:", 5)) g_fault_kill = 1;
  else return;
  g_fault_at = strtol(f + 5, NULL, 10);
}

void lsp_od_disarm_faults(void) { g_fault_at = -1; }

int lsp_od_point(void) {
  if (g_fault_at < 0 || ++g_point != g_fault_at) return LSP_OK;
  if (g_fault_kill) raise(SIGKILL);
  return lsp_fail(LSP_EIO, "injected failure at publication step %ld", g_point);
}

int lsp_od_test_mode(const char *what) {
  const char *m = getenv("LSPROBE_TEST_PUBLISH");
  return m && !strcmp(m, what);
}

/* ---- the jobs of this process ------------------------------------------------------
 * A staging folder is ".lsp-<hash>-<token>-<seq>": seq numbers the jobs of
 * one process, so a folder this process left from an earlier job (the old
 * tree of a switch whose clean-up failed) is told from one in use. */

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long g_seq;
static unsigned long *g_active;
static size_t g_nactive, g_capactive;

static unsigned long job_open(void) {
  pthread_mutex_lock(&g_lock);
  unsigned long seq = ++g_seq;
  if (g_nactive == g_capactive) {
    size_t cap = g_capactive ? 2 * g_capactive : 8;
    unsigned long *a = realloc(g_active, cap * sizeof *a);
    if (a) {
      g_active = a;
      g_capactive = cap;
    }
  }
  if (g_nactive < g_capactive) g_active[g_nactive++] = seq;
  else seq = 0; /* out of memory: the job cannot be registered */
  pthread_mutex_unlock(&g_lock);
  return seq;
}

static void job_close(unsigned long seq) {
  pthread_mutex_lock(&g_lock);
  for (size_t i = 0; i < g_nactive; i++)
    if (g_active[i] == seq) {
      g_active[i] = g_active[--g_nactive];
      break;
    }
  pthread_mutex_unlock(&g_lock);
}

static int job_active(unsigned long seq) {
  pthread_mutex_lock(&g_lock);
  int a = 0;
  for (size_t i = 0; i < g_nactive && !a; i++) a = g_active[i] == seq;
  pthread_mutex_unlock(&g_lock);
  return a;
}

/* 1 if the staging folder whose name after the prefix is `rest`
 * ("<token>-<seq>") belongs to a job that has ended. */
static int stage_dead(const char *rest, const char *mytok) {
  const char *dash = strrchr(rest, '-');
  if (!dash || !dash[1]) return 0;
  char *end;
  unsigned long seq = strtoul(dash + 1, &end, 10);
  if (*end || seq == 0) return 0;
  size_t tl = (size_t)(dash - rest);
  if (strlen(mytok) == tl && !strncmp(rest, mytok, tl)) return !job_active(seq);
  return lsp_proc_token_alive(rest, tl) == 0;
}

/* ---- small helpers ------------------------------------------------------------ */

void lsp_od_note(lsp_outdir *od, const char *fmt, const char *arg) {
  char *line = lsp_strdupf(fmt, arg);
  if (!line) return;
  char *n = lsp_strdupf("%s%s%s", od->note ? od->note : "", od->note && od->note[0] ? "; " : "",
                        line);
  free(line);
  if (!n) return;
  free(od->note);
  od->note = n;
}

int lsp_od_read_manifest(int dfd, const char *label, lsp_manifest *m, int *found) {
  *found = 0;
  lsp_manifest_init(m, "");
  int fd = openat(dfd, LSP_MANIFEST_NAME, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return LSP_OK;
    return lsp_fail(LSP_EIO, "%s/%s: %s", label, LSP_MANIFEST_NAME, strerror(errno));
  }
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  int st = buf ? LSP_OK : lsp_fail(LSP_ENOMEM, "out of memory");
  while (!st) {
    if (n == cap) {
      char *nb = realloc(buf, cap *= 2);
      if (!nb) {
        st = lsp_fail(LSP_ENOMEM, "out of memory");
        break;
      }
      buf = nb;
    }
    ssize_t r = read(fd, buf + n, cap - n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) st = lsp_fail(LSP_EIO, "%s/%s: %s", label, LSP_MANIFEST_NAME, strerror(errno));
    if (r <= 0) break;
    n += (size_t)r;
  }
  close(fd);
  if (!st) {
    char *name = lsp_strdupf("%s/%s", label, LSP_MANIFEST_NAME);
    st = name ? lsp_manifest_parse(buf, n, name, m) : lsp_fail(LSP_ENOMEM, "out of memory");
    free(name);
    if (!st) *found = 1;
  }
  free(buf);
  return st;
}

int lsp_od_write_manifest(const char *dir, const lsp_manifest *m) {
  char *text = NULL, *path = lsp_strdupf("%s/%s", dir, LSP_MANIFEST_NAME);
  size_t len = 0;
  int st = path ? lsp_manifest_format(m, &text, &len) : lsp_fail(LSP_ENOMEM, "out of memory");
  if (!st) st = lsp_write_file_atomic(path, text, len);
  free(text);
  free(path);
  return st;
}

/* Everything lsprobe writes under `base` must fit in PATH_MAX. */
static int check_length(const char *out, size_t base_len, size_t max_rel) {
  size_t m = strlen(LSP_MANIFEST_NAME);
  size_t need = base_len + 1 + (max_rel > m ? max_rel : m) + lsp_out_tmp_extra();
  if (need < PATH_MAX) return LSP_OK;
  return lsp_fail(LSP_EINVAL,
                  "%s: this output folder's path is too long: the files lsprobe writes under it "
                  "would need paths of up to %zu characters, and this system allows %d; choose "
                  "a shorter --out",
                  out, need, PATH_MAX - 1);
}

/* *empty: the folder holds nothing; *pending: it holds nothing but the
 * manifest a running job is writing (lsp_out_open's temporary) into the
 * folder it has just created, so it is that job's, not the user's. */
static int is_empty_dir(int fd, int *empty, int *pending) {
  static const char pre[] = LSP_MANIFEST_NAME ".tmp.";
  char **v = lsp_od_names(fd);
  if (!v) return lsp_fail(LSP_EIO, "cannot read the output folder: %s", strerror(errno));
  *empty = v[0] == NULL;
  *pending = !*empty;
  for (char **p = v; *p && *pending; p++)
    *pending = !strncmp(*p, pre, sizeof pre - 1) && !lsp_out_tmp_stale(*p);
  lsp_od_free_names(v);
  return LSP_OK;
}

/* ---- sweeping what dead jobs left ------------------------------------------- */

/* Remove a dead job's temporary files (lsp_out_open) in folder `fd`. */
static void sweep_tmp(int fd) {
  char **v = lsp_od_names(fd);
  for (char **p = v; v && *p; p++)
    if (lsp_out_tmp_stale(*p)) (void)unlinkat(fd, *p, 0);
  lsp_od_free_names(v);
}

static void sweep(lsp_outdir *od, int outfd, int parentfd, const lsp_manifest *m,
                  const char *prefix, const char *keep, const char *tok) {
  size_t pl = strlen(prefix);
  /* staging folders beside OUT: unfinished new trees, or the old tree of a
   * switch that was not cleaned up (OUT's manifest names it) */
  char **v = parentfd >= 0 ? lsp_od_names(parentfd) : NULL;
  for (char **p = v; v && *p; p++) {
    if (strncmp(*p, prefix, pl) != 0 || !stage_dead(*p + pl, tok)) continue;
    if (m->stage[0] && !strcmp(m->stage, *p)) {
      lsp_manifest oldm;
      int found = 0, st, ofd = openat(parentfd, *p, DIR_FLAGS);
      size_t moved = 0;
      st = ofd < 0 ? lsp_fail(LSP_EIO, "%s: %s", *p, strerror(errno))
                   : lsp_od_read_manifest(ofd, *p, &oldm, &found);
      if (!st) {
        st = lsp_od_reconcile(ofd, outfd, found ? &oldm : NULL, m, &moved);
        lsp_manifest_release(&oldm);
      }
      if (ofd >= 0) close(ofd);
      if (!st && unlinkat(parentfd, *p, AT_REMOVEDIR) != 0) st = LSP_EIO;
      if (st)
        lsp_od_note(od, "could not finish cleaning up %s after an interrupted job", *p);
      else if (moved)
        lsp_od_note(od, "recovered files of yours from an interrupted job's %s", *p);
    } else {
      (void)lsp_od_rm_rf_at(parentfd, *p);
    }
  }
  lsp_od_free_names(v);
  /* staging folders inside OUT (file-by-file publication) hold only
   * lsprobe's files */
  v = lsp_od_names(outfd);
  for (char **p = v; v && *p; p++)
    if (!strncmp(*p, prefix, pl) && stage_dead(*p + pl, tok))
      (void)lsp_od_rm_rf_at(outfd, *p);
  lsp_od_free_names(v);
  sweep_tmp(outfd);
  if (keep) {
    int kfd = openat(outfd, keep, DIR_FLAGS);
    if (kfd >= 0) {
      sweep_tmp(kfd);
      close(kfd);
    }
  }
}

/* ---- begin ------------------------------------------------------------------- */

const char *lsp_outdir_stage(const lsp_outdir *od) { return od->stage; }
const char *lsp_outdir_path(const lsp_outdir *od) { return od->out; }
const char *lsp_outdir_note(const lsp_outdir *od) { return od->note ? od->note : ""; }

/* A folder lsp_outdir_begin created for a job that published nothing goes
 * again if it holds only its manifest and an empty `keep` folder (a `keep`
 * folder with files in it, such as cached models, or anything else
 * stays). */
static void remove_if_unused(const char *out, const char *keep) {
  int fd = open(out, DIR_FLAGS);
  if (fd < 0) return;
  char **v = lsp_od_names(fd);
  int only = v != NULL, manifest = 0;
  for (size_t i = 0; v && v[i]; i++) {
    if (!strcmp(v[i], LSP_MANIFEST_NAME))
      manifest = 1;
    else if (!keep[0] || strcmp(v[i], keep))
      only = 0;
  }
  lsp_od_free_names(v);
  /* the keep folder's removal fails unless it is empty */
  if (only && manifest && (!keep[0] || unlinkat(fd, keep, AT_REMOVEDIR) == 0 || errno == ENOENT) &&
      unlinkat(fd, LSP_MANIFEST_NAME, 0) == 0)
    (void)rmdir(out);
  close(fd);
}

void lsp_outdir_free(lsp_outdir *od) {
  if (!od) return;
  if (od->stage && !od->published && !od->swapped) {
    (void)lsp_outdir_rm_rf(od->stage);
    if (od->created && od->out) remove_if_unused(od->out, od->keep);
  }
  free(od->out);
  free(od->parent);
  free(od->name);
  free(od->stage_name);
  free(od->stage);
  free(od->note);
  if (od->seq) job_close(od->seq);
  free(od);
}

/* The lexical absolute form of `out` (no file system access beyond the
 * current folder), for the length check before anything is created. */
static char *lexical_abs(const char *out) {
  if (out[0] == '/') return lsp_strdupf("%s", out);
  char *cwd = getcwd(NULL, 0);
  if (!cwd) return NULL;
  char *s = lsp_strdupf("%s/%s", cwd, out);
  free(cwd);
  return s;
}

static size_t parent_len(const char *abs) {
  size_t n = strlen(abs);
  while (n > 1 && abs[n - 1] == '/') n--;
  while (n > 0 && abs[n - 1] != '/') n--;
  return n > 1 ? n - 1 : n;
}

int lsp_outdir_begin(const char *out, const lsp_outdir_opts *o, lsp_outdir **res) {
  *res = NULL;
  if (!out || !out[0] || !o || !o->kind) return lsp_fail(LSP_EINVAL, "output folder: no name");
  lsp_outdir *od = calloc(1, sizeof *od);
  if (!od) return lsp_fail(LSP_ENOMEM, "out of memory");
  snprintf(od->kind, sizeof od->kind, "%s", o->kind);
  snprintf(od->keep, sizeof od->keep, "%s", o->keep ? o->keep : "");
  lsp_manifest m;
  lsp_manifest_init(&m, o->kind);
  int st = LSP_OK, outfd = -1, parentfd = -1, created = 0, found = 0;
  char tok[LSP_PROC_TOKEN_MAX], *prefix = NULL;
  lsp_proc_token(tok);

  /* 1. a path too long for what goes under it fails before anything exists */
  char *lex = lexical_abs(out);
  if (!lex) {
    st = lsp_fail(LSP_EIO, "%s: cannot make the path absolute: %s", out, strerror(errno));
    goto fail;
  }
  size_t stage_len = 5 + 16 + 1 + strlen(tok) + 1 + 6; /* exact check below */
  st = check_length(out, strlen(lex), o->max_rel_out);
  if (!st) st = check_length(out, parent_len(lex) + 1 + stage_len, o->max_rel_stage);
  free(lex);
  if (st) goto fail;

  /* 2. the folder itself, symbolic links resolved */
  struct stat sb;
  if (stat(out, &sb) != 0) {
    if (errno != ENOENT) {
      st = lsp_fail(LSP_EIO, "%s: %s", out, strerror(errno));
      goto fail;
    }
    if ((st = lsp_mkdir_p(out))) goto fail;
    created = 1;
  } else if (!S_ISDIR(sb.st_mode)) {
    st = lsp_fail(LSP_EIO, "%s: exists and is not a folder", out);
    goto fail;
  }
  if (!(od->out = realpath(out, NULL))) {
    st = lsp_fail(LSP_EIO, "%s: %s", out, strerror(errno));
    goto fail;
  }
  size_t pl = parent_len(od->out);
  od->parent = lsp_strdupf("%.*s", (int)(pl ? pl : 1), pl ? od->out : "/");
  od->name = lsp_strdupf("%s", od->out + pl + (od->out[pl] == '/'));
  if (!od->parent || !od->name) {
    st = lsp_fail(LSP_ENOMEM, "out of memory");
    goto fail;
  }
  if (!od->name[0]) {
    st = lsp_fail(LSP_EINVAL, "%s: the root folder cannot be an output folder", out);
    goto fail;
  }
  if ((st = check_length(out, strlen(od->out), o->max_rel_out))) goto fail;

  /* 3. whose folder is it? */
  if ((outfd = open(od->out, DIR_FLAGS)) < 0) {
    st = lsp_fail(LSP_EIO, "%s: %s", out, strerror(errno));
    goto fail;
  }
  /* two jobs started together into a new folder: the one that did not
   * create it waits (up to 5 s) for the other's manifest */
  int empty = 0, pending = 0;
  for (int wait = 0;; wait++) {
    lsp_manifest_release(&m);
    if ((st = lsp_od_read_manifest(outfd, out, &m, &found))) goto fail;
    if (found || (st = is_empty_dir(outfd, &empty, &pending))) break;
    if (!pending || o->force || wait == 250) break;
    nanosleep(&(struct timespec){0, 20000000}, NULL);
  }
  if (st) goto fail;
  if (found && strcmp(m.kind, o->kind) != 0) {
    st = lsp_fail(LSP_EINVAL, "--out %s holds a %s report (lsprobe %s); choose another folder",
                  out, m.kind, m.kind);
    goto fail;
  }
  if (!found) {
    if (pending && !o->force) {
      st = lsp_fail(LSP_EINVAL,
                    "--out %s: another lsprobe job has just created this folder and has not "
                    "written its %s within 5 s; try again",
                    out, LSP_MANIFEST_NAME);
      goto fail;
    }
    if (!empty && !o->force) {
      st = lsp_fail(LSP_EINVAL,
                    "--out %s: the folder is not empty and lsprobe did not create it (no %s); "
                    "choose another folder, or pass --force to write into it (files lsprobe "
                    "did not write are never removed)",
                    out, LSP_MANIFEST_NAME);
      goto fail;
    }
    lsp_manifest_init(&m, o->kind);
    if ((st = lsp_od_write_manifest(od->out, &m)) || (st = lsp_fsync_dir(od->out))) goto fail;
  }

  /* 4. sweep what dead jobs left */
  uint64_t h = lsp_fnv1a(LSP_FNV_INIT, od->name, strlen(od->name));
  if (!(prefix = lsp_strdupf(".lsp-%016llx-", (unsigned long long)h)) ||
      !(od->seq = job_open()) ||
      !(od->stage_name = lsp_strdupf("%s%s-%lu", prefix, tok, od->seq))) {
    st = lsp_fail(LSP_ENOMEM, "out of memory");
    goto fail;
  }
  /* the manifest records the name whole (a cut name would make the sweep
   * mistake a switched old tree for an unfinished new one) */
  _Static_assert(5 + 16 + 1 + LSP_PROC_TOKEN_MAX + 21 <= sizeof m.stage, "stage name room");
  parentfd = open(od->parent, DIR_FLAGS);
  sweep(od, outfd, parentfd, &m, prefix, o->keep, tok);

  /* 5. the staging folder: beside OUT when the parent is writable and on
   * the same file system, else inside OUT (file-by-file publication) */
  struct stat ps, os;
  od->inplace = lsp_od_test_mode("inplace") || parentfd < 0 || fstat(parentfd, &ps) != 0 ||
                fstat(outfd, &os) != 0 || ps.st_dev != os.st_dev;
  if (!od->inplace && mkdirat(parentfd, od->stage_name, S_IRWXU) != 0) {
    if (errno != EACCES && errno != EPERM && errno != EROFS) {
      st = lsp_fail(LSP_EIO, "%s/%s: cannot create the staging folder: %s", od->parent,
                    od->stage_name, strerror(errno));
      goto fail;
    }
    od->inplace = 1;
  }
  if (od->inplace) {
    if (!lsp_od_test_mode("inplace"))
      lsp_od_note(od, "%s is a mount point or its folder is not writable: the report is "
                      "published file by file, not in one step", out);
    if (mkdirat(outfd, od->stage_name, S_IRWXU) != 0) {
      st = lsp_fail(LSP_EIO, "%s/%s: cannot create the staging folder: %s", out, od->stage_name,
                    strerror(errno));
      goto fail;
    }
    od->stage = lsp_strdupf("%s/%s", od->out, od->stage_name);
  } else {
    od->stage = lsp_strdupf("%s%s%s", od->parent, strcmp(od->parent, "/") ? "/" : "",
                            od->stage_name);
  }
  if (!od->stage) {
    (void)lsp_od_rm_rf_at(od->inplace ? outfd : parentfd, od->stage_name);
    st = lsp_fail(LSP_ENOMEM, "out of memory");
    goto fail;
  }
  if ((st = check_length(out, strlen(od->stage), o->max_rel_stage))) goto fail;
  free(prefix);
  lsp_manifest_release(&m);
  close(outfd);
  if (parentfd >= 0) close(parentfd);
  od->created = created;
  *res = od;
  return LSP_OK;
fail:
  free(prefix);
  lsp_manifest_release(&m);
  if (outfd >= 0) close(outfd);
  if (parentfd >= 0) close(parentfd);
  if (created && od->out) {
    /* a folder this call created holds nothing of anyone's */
    (void)lsp_outdir_rm_rf(od->out);
  }
  lsp_outdir_free(od);
  return st;
}

int lsp_outdir_rm_rf(const char *path) { return lsp_od_rm_rf_at(AT_FDCWD, path); }
