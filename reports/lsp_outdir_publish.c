/* lsp_outdir_publish.c — switching OUT to the staged report (lsp_outdir.h;
 * the order of steps and what a crash at each leaves are in DESIGN §4).
 *
 * Two ways:
 *   swap   (default) carry the user's entries into the staging folder as
 *          hard links, write the new manifest, fsync, exchange the staging
 *          folder with OUT in one renameat2(RENAME_EXCHANGE), fsync the
 *          parent, then empty the old tree (lsp_od_reconcile).
 *   files  (fallback) record old ∪ new as lsprobe's, then move the new
 *          files in one by one (old ones set aside in the staging folder,
 *          a user's entry in the way renamed to .kept), prune lsprobe's
 *          stale files, record the new list. A failure undoes the moves. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "reports/lsp_outdir_int.h"

#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
#define FALLBACK (-1) /* this file system cannot swap: publish file by file */

/* Failures that mean "this file system (or these permissions) cannot do
 * links or the swap", as opposed to a full disk or an I/O error. */
static int cannot(int e) {
  return e == EPERM || e == EXDEV || e == EMLINK || e == ENOTSUP || e == EOPNOTSUPP ||
         e == ENOSYS || e == EACCES || e == EINVAL;
}

/* ---- the swap ------------------------------------------------------------------ */

static int publish_swap(lsp_outdir *od, int outfd, int parentfd, int stagefd,
                        const lsp_manifest *oldm, lsp_manifest *nw) {
  int st;
  /* carry the user's entries and the model cache over (hard links) */
  if ((st = lsp_od_point())) return st;
  lsp_od_errno_clear();
  if ((st = lsp_od_carry(outfd, stagefd, "", oldm, nw))) {
    if (!cannot(lsp_od_errno())) return st;
    lsp_od_note(od, "published file by file, not in one step (%s)", lsp_errmsg());
    return FALLBACK;
  }
  lsp_manifest_sort(nw);
  snprintf(nw->stage, sizeof nw->stage, "%s", od->stage_name);
  /* the new tree, complete and durable, with OUT's permissions */
  struct stat os;
  if ((st = lsp_od_point()) || (st = lsp_od_write_manifest(od->stage, nw))) return st;
  if (fstat(outfd, &os) != 0 || fchmod(stagefd, os.st_mode & 07777) != 0)
    return lsp_fail(LSP_EIO, "%s: cannot set permissions: %s", od->stage, strerror(errno));
  if ((st = lsp_od_point()) || (st = lsp_od_sync_tree(stagefd, od->stage))) return st;
  /* the switch */
  if ((st = lsp_od_point())) return st;
  int rc, e;
  if (lsp_od_test_mode("noexchange")) {
    rc = -1;
    e = EINVAL;
  } else {
    rc = lsp_od_exchange(parentfd, od->name, od->stage_name);
    e = errno;
  }
  if (rc != 0) {
    if (e == EINVAL || e == ENOSYS || e == ENOTSUP || e == EXDEV) {
      lsp_od_note(od, "published file by file, not in one step (%s cannot swap folders)",
                  od->parent);
      return FALLBACK;
    }
    return lsp_fail(LSP_EIO, "%s: cannot switch to the new report: %s", od->out, strerror(e));
  }
  od->published = od->swapped = 1;
  /* from here on the new report is in place: problems are notes, and the
   * next job's sweep finishes what is left (outfd now holds the old tree,
   * stagefd the new one) */
  if (fsync(parentfd) != 0 && errno != EINVAL)
    lsp_od_note(od, "could not sync %s", od->parent);
  size_t moved = 0;
  if ((st = lsp_od_point()) || (st = lsp_od_reconcile(outfd, stagefd, oldm, nw, &moved)) ||
      (unlinkat(parentfd, od->stage_name, AT_REMOVEDIR) != 0 &&
       (st = lsp_fail(LSP_EIO, "%s", strerror(errno))))) {
    char *where = lsp_strdupf("%s/%s (%s)", od->parent, od->stage_name, lsp_errmsg());
    lsp_od_note(od, "the previous report in %s is not removed yet; the next run finishes it",
                where ? where : od->stage_name);
    free(where);
    return LSP_OK;
  }
  if (fsync(parentfd) != 0 && errno != EINVAL) lsp_od_note(od, "could not sync %s", od->parent);
  return LSP_OK;
}

/* ---- file by file -------------------------------------------------------------- */

typedef struct {
  int sroot, droot; /* 0 = OUT, 1 = staging folder; 'm': droot only */
  char *src, *dst;  /* owned: relative paths                            */
  char op;          /* 'r' renamed src -> dst, 'm' created folder dst    */
} jent;

typedef struct {
  int fd[2];
  jent *j;
  size_t n, cap;
} journal;

static int jadd(journal *J, char op, int sroot, const char *src, int droot, const char *dst) {
  if (J->n == J->cap) {
    size_t cap = J->cap ? 2 * J->cap : 64;
    jent *nj = realloc(J->j, cap * sizeof *nj);
    if (!nj) return lsp_fail(LSP_ENOMEM, "out of memory");
    J->j = nj;
    J->cap = cap;
  }
  jent *x = &J->j[J->n];
  x->op = op;
  x->sroot = sroot;
  x->droot = droot;
  x->src = src ? strdup(src) : NULL;
  x->dst = strdup(dst);
  if ((src && !x->src) || !x->dst) {
    free(x->src);
    free(x->dst);
    return lsp_fail(LSP_ENOMEM, "out of memory");
  }
  J->n++;
  return LSP_OK;
}

/* Rename and record (the rename is undone if the publication fails). */
static int jrename(journal *J, int sroot, const char *src, int droot, const char *dst) {
  if (renameat(J->fd[sroot], src, J->fd[droot], dst) != 0)
    return lsp_fail(LSP_EIO, "%s: cannot move into place: %s", dst, strerror(errno));
  int st = jadd(J, 'r', sroot, src, droot, dst);
  if (st) (void)renameat(J->fd[droot], dst, J->fd[sroot], src);
  return st;
}

static void jundo(journal *J) {
  for (size_t i = J->n; i-- > 0;) {
    jent *x = &J->j[i];
    if (x->op == 'r')
      (void)renameat(J->fd[x->droot], x->dst, J->fd[x->sroot], x->src);
    else
      (void)unlinkat(J->fd[x->droot], x->dst, AT_REMOVEDIR);
  }
}

static void jfree(journal *J) {
  for (size_t i = 0; i < J->n; i++) {
    free(J->j[i].src);
    free(J->j[i].dst);
  }
  free(J->j);
}

/* Clear OUT/p for the new entry: lsprobe's old file goes into the backup
 * folder (for undo), anything else — the user's — is renamed to .kept. */
static int move_aside(journal *J, const char *p, const struct stat *sb, const lsp_manifest *oldm,
                      const char *backup, size_t *nb, lsp_manifest *fin) {
  if (!S_ISDIR(sb->st_mode) && lsp_manifest_owned(oldm, p) == 'f') {
    char *b = lsp_strdupf("%s/%zu", backup, (*nb)++);
    int st = b ? jrename(J, 0, p, 1, b) : lsp_fail(LSP_ENOMEM, "out of memory");
    free(b);
    return st;
  }
  const char *slash = strrchr(p, '/');
  char *dir = slash ? lsp_strdupf("%.*s", (int)(slash - p), p) : NULL, *kn = NULL, *kp = NULL;
  int pfd = slash ? (dir ? openat(J->fd[0], dir, DIR_FLAGS) : -1) : J->fd[0];
  int st = LSP_OK;
  if (pfd < 0) st = lsp_fail(LSP_EIO, "%s: cannot open folder: %s", p, strerror(errno));
  else if (!(kn = lsp_od_kept_name(pfd, -1, slash ? slash + 1 : p)) ||
           !(kp = slash ? lsp_strdupf("%s/%s", dir, kn) : lsp_strdupf("%s", kn)))
    st = lsp_fail(LSP_ENOMEM, "out of memory");
  if (!st) st = jrename(J, 0, p, 0, kp);
  if (!st) st = lsp_manifest_add(fin, 'k', p, kp);
  if (slash && pfd >= 0) close(pfd);
  free(dir);
  free(kn);
  free(kp);
  return st;
}

static int publish_files(lsp_outdir *od, int outfd, int stagefd, const lsp_manifest *oldm,
                         int had, const lsp_manifest *nw) {
  lsp_manifest pend, fin;
  lsp_manifest_init(&pend, od->kind);
  lsp_manifest_init(&fin, od->kind);
  journal J = {{outfd, stagefd}, NULL, 0, 0};
  char *backup = NULL;
  size_t nb = 0;
  int st = LSP_OK;
  /* 1. lsprobe owns old ∪ new until the new list is final */
  for (size_t i = 0; i < oldm->n && !st; i++)
    if (oldm->e[i].type != 'k') st = lsp_manifest_add(&pend, oldm->e[i].type, oldm->e[i].path, NULL);
  for (size_t i = 0; i < nw->n && !st; i++) {
    if (nw->e[i].type == 'k') continue;
    st = lsp_manifest_add(&pend, nw->e[i].type, nw->e[i].path, NULL);
    if (!st) st = lsp_manifest_add(&fin, nw->e[i].type, nw->e[i].path, NULL);
  }
  if (!st) lsp_manifest_sort(&pend);
  if (st || (st = lsp_od_point()) || (st = lsp_od_write_manifest(od->out, &pend)) ||
      (st = lsp_fsync_dir(od->out)))
    goto undo;
  /* 2. a folder for lsprobe's old files, kept until the end for undo */
  for (unsigned k = 0; !backup && k < 1000; k++) {
    char *b = k ? lsp_strdupf(".lsp-old%u", k) : lsp_strdupf(".lsp-old");
    if (!b) break;
    if (mkdirat(stagefd, b, S_IRWXU) == 0) backup = b;
    else free(b);
  }
  if (!backup) {
    st = lsp_fail(LSP_EIO, "%s: cannot create a folder: %s", od->stage, strerror(errno));
    goto undo;
  }
  /* 3. the new entries, parents before children (sorted) */
  for (size_t i = 0; i < nw->n && !st; i++) {
    const lsp_manifest_entry *e = &nw->e[i];
    if (e->type == 'k') continue;
    if ((st = lsp_od_point())) break;
    struct stat sb;
    int have = fstatat(outfd, e->path, &sb, AT_SYMLINK_NOFOLLOW) == 0;
    if (!have && errno != ENOENT) {
      st = lsp_fail(LSP_EIO, "%s/%s: %s", od->out, e->path, strerror(errno));
      break;
    }
    if (e->type == 'd') {
      if (have && S_ISDIR(sb.st_mode)) continue;
      if (have && (st = move_aside(&J, e->path, &sb, oldm, backup, &nb, &fin))) break;
      if (mkdirat(outfd, e->path, 0777) != 0)
        st = lsp_fail(LSP_EIO, "%s/%s: cannot create folder: %s", od->out, e->path,
                      strerror(errno));
      else
        st = jadd(&J, 'm', 0, NULL, 0, e->path);
    } else {
      if (have && (st = move_aside(&J, e->path, &sb, oldm, backup, &nb, &fin))) break;
      st = jrename(&J, 1, e->path, 0, e->path);
    }
  }
  if (st) goto undo;
  od->published = 1;
  /* 4. lsprobe's stale files go; 5. the final list */
  lsp_manifest_sort(&fin);
  if ((st = lsp_od_point()) || (st = lsp_od_prune(outfd, "", oldm, &fin))) {
    /* the pending list still names them: the next run removes them */
    lsp_od_note(od, "some files of the previous report could not be removed (%s)", lsp_errmsg());
  } else if ((st = lsp_od_point()) || (st = lsp_od_write_manifest(od->out, &fin))) {
    lsp_od_note(od, "the manifest could not be updated (%s)", lsp_errmsg());
  }
  for (size_t i = 0; i < fin.n; i++)
    if (fin.e[i].type == 'd') {
      int fd = openat(outfd, fin.e[i].path, DIR_FLAGS);
      if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
      }
    }
  (void)fsync(outfd);
  st = LSP_OK;
  goto done;
undo:
  jundo(&J);
  if (had) (void)lsp_od_write_manifest(od->out, oldm);
  else (void)unlinkat(outfd, LSP_MANIFEST_NAME, 0);
done:
  jfree(&J);
  free(backup);
  lsp_manifest_release(&pend);
  lsp_manifest_release(&fin);
  return st;
}

/* ---- publish ------------------------------------------------------------------- */

int lsp_outdir_publish(lsp_outdir *od) {
  if (!od || od->published) return lsp_fail(LSP_EINVAL, "output folder: already published");
  lsp_od_arm_faults();
  lsp_manifest oldm, nw;
  lsp_manifest_init(&oldm, od->kind);
  lsp_manifest_init(&nw, od->kind);
  int outfd = open(od->out, DIR_FLAGS), stagefd = open(od->stage, DIR_FLAGS), found = 0;
  int parentfd = od->inplace ? -1 : open(od->parent, DIR_FLAGS);
  int st = LSP_OK;
  if (outfd < 0 || stagefd < 0 || (!od->inplace && parentfd < 0)) {
    st = lsp_fail(LSP_EIO, "%s: %s", outfd < 0 ? od->out : stagefd < 0 ? od->stage : od->parent,
                  strerror(errno));
    goto done;
  }
  lsp_manifest_release(&oldm);
  if ((st = lsp_od_read_manifest(outfd, od->out, &oldm, &found))) goto done;
  if (found && strcmp(oldm.kind, od->kind) != 0) {
    st = lsp_fail(LSP_EINVAL, "%s: now holds a %s report; not replaced", od->out, oldm.kind);
    goto done;
  }
  if ((st = lsp_od_list(stagefd, "", &nw))) goto done;
  lsp_manifest_sort(&nw);
  st = od->inplace ? FALLBACK : publish_swap(od, outfd, parentfd, stagefd, &oldm, &nw);
  if (st == FALLBACK) {
    /* the new list without the .kept records of the swap attempt */
    lsp_manifest only;
    lsp_manifest_init(&only, od->kind);
    st = LSP_OK;
    for (size_t i = 0; i < nw.n && !st; i++)
      if (nw.e[i].type != 'k') st = lsp_manifest_add(&only, nw.e[i].type, nw.e[i].path, NULL);
    if (!st) {
      lsp_manifest_sort(&only);
      st = publish_files(od, outfd, stagefd, &oldm, found, &only);
    }
    lsp_manifest_release(&only);
  }
done:
  lsp_od_disarm_faults();
  if (outfd >= 0) close(outfd);
  if (stagefd >= 0) close(stagefd);
  if (parentfd >= 0) close(parentfd);
  lsp_manifest_release(&oldm);
  lsp_manifest_release(&nw);
  if (!od->swapped) {
    /* nothing of the user's is only in the staging folder: it holds the new
     * report (or, after a file-by-file publication, lsprobe's old files) and
     * second names of the user's entries. After a swap the name holds the
     * old tree, which lsp_od_reconcile has emptied (or the sweep will). */
    (void)lsp_outdir_rm_rf(od->stage);
  }
  return st;
}
