/* lsp_outset.c — output files replaced together (lsp_outset.h). */
#define _DEFAULT_SOURCE /* flock */
#include "core/base/lsp_outset.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/lsp_error.h"

int lsp_outset_init(lsp_outset *s, const char *dir) {
  memset(s, 0, sizeof *s);
  if (!(s->dir = lsp_strdupf("%s", dir))) return lsp_fail(LSP_ENOMEM, "out of memory");
  return LSP_OK;
}

int lsp_outset_add(lsp_outset *s, const char *name, lsp_outfile **out) {
  *out = NULL;
  if (s->n >= LSP_OUTSET_MAX) return lsp_fail(LSP_EINVAL, "%s: too many files in one set", name);
  char *p = lsp_strdupf("%s/%s", s->dir, name);
  if (!p) return lsp_fail(LSP_ENOMEM, "out of memory");
  struct stat sb;
  int st;
  if (stat(p, &sb) == 0 && !S_ISREG(sb.st_mode))
    st = lsp_fail(LSP_EIO, "%s: is a %s, not a file: cannot replace it", p,
                  S_ISDIR(sb.st_mode) ? "folder" : "device or special file");
  else
    st = lsp_out_open(&s->f[s->n], p);
  free(p);
  if (!st) *out = &s->f[s->n++];
  return st;
}

void lsp_outset_abort(lsp_outset *s) {
  if (!s) return;
  for (int i = 0; i < s->n; i++) lsp_out_abort(&s->f[i]);
  free(s->dir);
  s->dir = NULL;
  s->n = 0;
}

int lsp_outset_commit(lsp_outset *s) {
  int n = s->n, st = LSP_OK, lock = -1, done = 0;
  char *dest[LSP_OUTSET_MAX] = {0}, *aside[LSP_OUTSET_MAX] = {0};
  int moved[LSP_OUTSET_MAX] = {0};
  struct stat sb;
  for (int i = 0; i < n && !st; i++) st = lsp_out_finish(&s->f[i]);
  for (int i = 0; i < n && !st; i++)
    if (!(dest[i] = lsp_strdupf("%s", s->f[i].path))) st = lsp_fail(LSP_ENOMEM, "out of memory");
  if (st) goto out;
  /* one set at a time renames into this folder: flock on the folder's own
   * descriptor (no lock file); where the folder cannot be opened or locked
   * (no read permission, a file system without flock) the renames go on
   * unlocked */
  lock = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (lock >= 0)
    while (flock(lock, LOCK_EX) != 0 && errno == EINTR) {
    }
  /* every final name can be replaced (no folder has appeared there since
   * the files were opened), and the earlier files are kept aside */
  for (int i = 0; i < n && !st; i++)
    if (lstat(dest[i], &sb) == 0 && S_ISDIR(sb.st_mode))
      st = lsp_fail(LSP_EIO, "%s: is a folder: cannot replace it", dest[i]);
  for (int i = 0; i < n && !st; i++)
    if (lstat(dest[i], &sb) == 0) st = lsp_out_keep_aside(dest[i], &aside[i], &moved[i]);
  for (; done < n && !st; done++)
    if ((st = lsp_out_commit(&s->f[done]))) break;
  if (st) {
    /* put the earlier files back: those replaced (or moved aside) from
     * their kept copy, a name that had none removed */
    for (int i = 0; i < n; i++) {
      if (i < done || (aside[i] && moved[i])) {
        if (aside[i] ? rename(aside[i], dest[i]) == 0 : unlink(dest[i]) == 0 || errno == ENOENT) {
          free(aside[i]);
          aside[i] = NULL;
        }
      }
    }
  }
  /* after success every name left aside is a spare link to a replaced
   * file; after a failure only those of files never replaced are (the
   * others failed to go back and are the only copy: they stay, under a
   * name lsp_out_tmp_stale knows) */
  for (int i = 0; i < n; i++) {
    if (aside[i] && (!st || (i >= done && !moved[i]))) unlink(aside[i]);
    free(aside[i]);
  }
out:
  if (lock >= 0) close(lock); /* releases the lock */
  for (int i = 0; i < n; i++) free(dest[i]);
  lsp_outset_abort(s);
  return st;
}
