/* lsp_outdir_tree.c — descriptor-based tree walks for publishing an output
 * folder (lsp_outdir_int.h). */
#define _GNU_SOURCE /* renameat2, RENAME_EXCHANGE, RENAME_NOREPLACE (Linux) */
#include <dirent.h>
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

char *lsp_od_join(const char *rel, const char *name) {
  return rel[0] ? lsp_strdupf("%s/%s", rel, name) : lsp_strdupf("%s", name);
}

static void free_names(char **v);

/* The names in folder `fd` (without . and ..), read completely before the
 * caller changes the folder. NULL-terminated; NULL with errno on failure. */
static char **names_of(int fd) {
  int dfd = openat(fd, ".", DIR_FLAGS);
  if (dfd < 0) return NULL;
  DIR *d = fdopendir(dfd);
  if (!d) {
    int e = errno;
    close(dfd);
    errno = e;
    return NULL;
  }
  size_t n = 0, cap = 16;
  char **v = malloc(cap * sizeof *v);
  struct dirent *e;
  errno = 0;
  while (v && (e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    if (n + 1 == cap) {
      char **nv = realloc(v, 2 * cap * sizeof *v);
      if (!nv) {
        for (size_t i = 0; i < n; i++) free(v[i]);
        free(v);
        v = NULL;
        break;
      }
      v = nv;
      cap *= 2;
    }
    if (!(v[n] = strdup(e->d_name))) {
      for (size_t i = 0; i < n; i++) free(v[i]);
      free(v);
      v = NULL;
      break;
    }
    n++;
  }
  int err = v ? errno : ENOMEM;
  closedir(d);
  if (v && err) { /* readdir failed */
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
    v = NULL;
  }
  if (v) v[n] = NULL;
  errno = err;
  return v;
}

static void free_names(char **v) {
  if (!v) return;
  for (char **p = v; *p; p++) free(*p);
  free(v);
}

char **lsp_od_names(int fd) { return names_of(fd); }
void lsp_od_free_names(char **v) { free_names(v); }

/* lstat relative to a folder: 1 found, 0 absent, -1 error (errno). */
static int stat_at(int fd, const char *name, struct stat *sb) {
  if (fstatat(fd, name, sb, AT_SYMLINK_NOFOLLOW) == 0) return 1;
  return errno == ENOENT ? 0 : -1;
}

static int same_inode(const struct stat *a, const struct stat *b) {
  return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

static int g_errno; /* errno of the last failure reported below */

int lsp_od_errno(void) { return g_errno; }
void lsp_od_errno_clear(void) { g_errno = 0; }

static int fail_errno(const char *what, const char *rel, const char *name) {
  int e = errno;
  g_errno = e;
  return lsp_fail(e == ENOMEM ? LSP_ENOMEM : LSP_EIO, "%s%s%s: %s: %s", rel, rel[0] ? "/" : "",
                  name, what, strerror(e));
}

/* ---- removal ------------------------------------------------------------------ */

int lsp_od_rm_rf_at(int dfd, const char *name) {
  if (unlinkat(dfd, name, 0) == 0 || errno == ENOENT) return 0;
  if (errno != EISDIR && errno != EPERM) return -1;
  int fd = openat(dfd, name, DIR_FLAGS);
  if (fd < 0) return errno == ENOENT ? 0 : -1;
  struct stat sb;
  if (fstat(fd, &sb) == 0 && (sb.st_mode & S_IRWXU) != S_IRWXU)
    (void)fchmod(fd, sb.st_mode | S_IRWXU);
  int rc = 0, err = 0;
  char **v = names_of(fd);
  if (!v) {
    rc = -1;
    err = errno;
  }
  for (char **p = v; p && *p; p++)
    if (lsp_od_rm_rf_at(fd, *p) != 0 && !err) {
      rc = -1;
      err = errno;
    }
  free_names(v);
  close(fd);
  if (unlinkat(dfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT) return -1;
  if (rc) errno = err;
  return rc;
}

/* ---- listing and syncing ----------------------------------------------------- */

int lsp_od_list(int fd, const char *rel, lsp_manifest *m) {
  char **v = names_of(fd);
  if (!v) return fail_errno("cannot read folder", rel, ".");
  int st = LSP_OK;
  for (char **p = v; *p && !st; p++) {
    char *path = lsp_od_join(rel, *p);
    struct stat sb;
    if (!path) {
      st = lsp_fail(LSP_ENOMEM, "out of memory");
    } else if (stat_at(fd, *p, &sb) != 1) {
      st = fail_errno("cannot stat", rel, *p);
    } else if (S_ISDIR(sb.st_mode)) {
      int sub = openat(fd, *p, DIR_FLAGS);
      if (sub < 0) st = fail_errno("cannot open folder", rel, *p);
      else {
        if (!(st = lsp_manifest_add(m, 'd', path, NULL))) st = lsp_od_list(sub, path, m);
        close(sub);
      }
    } else {
      st = lsp_manifest_add(m, 'f', path, NULL);
    }
    free(path);
  }
  free_names(v);
  return st;
}

int lsp_od_sync_tree(int fd, const char *label) {
  char **v = names_of(fd);
  if (!v) return fail_errno("cannot read folder", label, ".");
  int st = LSP_OK;
  for (char **p = v; *p && !st; p++) {
    struct stat sb;
    if (stat_at(fd, *p, &sb) == 1 && S_ISDIR(sb.st_mode)) {
      int sub = openat(fd, *p, DIR_FLAGS);
      if (sub < 0) st = fail_errno("cannot open folder", label, *p);
      else {
        st = lsp_od_sync_tree(sub, label);
        close(sub);
      }
    }
  }
  free_names(v);
  if (!st && fsync(fd) != 0 && errno != EINVAL && errno != EROFS)
    st = fail_errno("cannot sync folder", label, ".");
  return st;
}

/* ---- renames ------------------------------------------------------------------ */

int lsp_od_exchange(int dfd, const char *a, const char *b) {
#ifdef RENAME_EXCHANGE
  return renameat2(dfd, a, dfd, b, RENAME_EXCHANGE);
#else
  (void)dfd, (void)a, (void)b;
  errno = ENOSYS;
  return -1;
#endif
}

int lsp_od_move_noreplace(int sfd, const char *sname, int dfd, const char *dname) {
#ifdef RENAME_NOREPLACE
  if (renameat2(sfd, sname, dfd, dname, RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP) return -1;
#endif
  struct stat sb;
  if (stat_at(sfd, sname, &sb) != 1) return -1;
  if (!S_ISDIR(sb.st_mode)) { /* link() never replaces */
    if (linkat(sfd, sname, dfd, dname, 0) != 0) return -1;
    return unlinkat(sfd, sname, 0);
  }
  /* a folder, on a file system without RENAME_NOREPLACE: check, then
   * rename (a race with another writer could replace an empty folder) */
  struct stat tb;
  int t = stat_at(dfd, dname, &tb);
  if (t != 0) {
    if (t == 1) errno = EEXIST;
    return -1;
  }
  return renameat(sfd, sname, dfd, dname);
}

char *lsp_od_kept_name(int a, int b, const char *name) {
  /* room for ".kept" and a counter within a 255-byte name */
  size_t n = strlen(name);
  if (n > 240) {
    n = 240;
    while (n > 0 && ((unsigned char)name[n] & 0xC0) == 0x80) n--;
  }
  for (unsigned k = 1; k < 100000; k++) {
    char *s = k == 1 ? lsp_strdupf("%.*s.kept", (int)n, name)
                     : lsp_strdupf("%.*s.kept%u", (int)n, name, k);
    if (!s) return NULL;
    struct stat sb;
    if (stat_at(a, s, &sb) == 0 && (b < 0 || stat_at(b, s, &sb) == 0)) return s;
    free(s);
  }
  errno = EEXIST;
  return NULL;
}

/* ---- carrying the user's entries into the new tree ----------------------------- */

static int dir_is_empty(int fd) {
  char **v = names_of(fd);
  int empty = v && !v[0];
  free_names(v);
  return empty;
}

int lsp_od_carry(int src, int dst, const char *rel, const lsp_manifest *owned,
                 lsp_manifest *kept) {
  char **v = names_of(src);
  if (!v) return fail_errno("cannot read folder", rel, ".");
  int st = LSP_OK;
  for (char **p = v; *p && !st; p++) {
    const char *name = *p;
    if (!rel[0] && (!strcmp(name, LSP_MANIFEST_NAME) || !strncmp(name, ".lsp-", 5)))
      continue; /* our own bookkeeping; a job's in-folder staging */
    char *path = lsp_od_join(rel, name), *kn = NULL, *kpath = NULL;
    struct stat sb, db;
    int have;
    if (!path) {
      st = lsp_fail(LSP_ENOMEM, "out of memory");
      break;
    }
    char own = lsp_manifest_owned(owned, path);
    if (stat_at(src, name, &sb) != 1) {
      if (errno != ENOENT) st = fail_errno("cannot stat", rel, name);
    } else if (S_ISDIR(sb.st_mode) || own != 'f') {
      if ((st = lsp_od_point())) goto next;
      const char *dname = name;
      if ((have = stat_at(dst, name, &db)) < 0) {
        st = fail_errno("cannot stat", "(new)", name);
        goto next;
      }
      if (have && !(S_ISDIR(sb.st_mode) && S_ISDIR(db.st_mode))) {
        /* the new report uses this name: keep the user's entry beside it */
        if (!(kn = lsp_od_kept_name(dst, src, name)) || !(kpath = lsp_od_join(rel, kn)) ||
            (st = lsp_manifest_add(kept, 'k', path, kpath))) {
          if (!st) st = lsp_fail(LSP_ENOMEM, "out of memory");
          goto next;
        }
        dname = kn;
        have = 0;
      }
      if (!S_ISDIR(sb.st_mode)) {
        if (linkat(src, name, dst, dname, 0) != 0) st = fail_errno("cannot hard-link", rel, name);
        goto next;
      }
      if (!have && mkdirat(dst, dname, S_IRWXU) != 0) {
        st = fail_errno("cannot create folder", "(new)", dname);
        goto next;
      }
      int sfd = openat(src, name, DIR_FLAGS), dfd = openat(dst, dname, DIR_FLAGS);
      if (sfd < 0 || dfd < 0) st = fail_errno("cannot open folder", rel, name);
      else st = lsp_od_carry(sfd, dfd, path, owned, kept);
      if (!st && !have) {
        /* a folder only lsprobe had and the new report does not use goes if
         * nothing of the user's is in it; any other keeps its permissions */
        if (own == 'd' && dir_is_empty(dfd)) {
          if (unlinkat(dst, dname, AT_REMOVEDIR) != 0)
            st = fail_errno("cannot remove folder", "(new)", dname);
        } else if (fchmod(dfd, sb.st_mode & 07777) != 0) {
          st = fail_errno("cannot set permissions", "(new)", dname);
        }
      }
      if (sfd >= 0) close(sfd);
      if (dfd >= 0) close(dfd);
    }
  next:
    free(path);
    free(kn);
    free(kpath);
  }
  free_names(v);
  return st;
}

/* ---- emptying the old tree into the new one ------------------------------------ */

typedef struct {
  int troot;
  const lsp_manifest *oldm, *newm;
  size_t moved;
} rec_ctx;

/* A folder of the new tree that is created only when something has to be
 * moved into it (so emptying the old tree never shows an empty folder of
 * the old report in the new one). */
typedef struct lazy_dir {
  struct lazy_dir *up; /* its parent (NULL: fd is always open)          */
  const char *name;    /* its name in the parent                         */
  int fd;              /* open descriptor, -1 until it exists            */
  mode_t mode;         /* permissions to give it once filled             */
  int made;            /* created here                                   */
} lazy_dir;

static int ensure(lazy_dir *d) {
  if (d->fd >= 0) return 0;
  if (ensure(d->up) != 0) return -1;
  if (mkdirat(d->up->fd, d->name, S_IRWXU) != 0 && errno != EEXIST) return -1;
  d->fd = openat(d->up->fd, d->name, DIR_FLAGS);
  if (d->fd < 0) return -1;
  d->made = 1;
  return 0;
}

static int reconcile(rec_ctx *c, int old, lazy_dir *t, const char *rel);

/* Move the old tree's `name` (the only copy of a user's entry) into `t`,
 * under a .kept name if `taken`. */
static int move_in(rec_ctx *c, int old, const char *name, lazy_dir *t, int taken,
                   const char *path) {
  char *kn = NULL;
  int st = LSP_OK;
  if (ensure(t) != 0) return fail_errno("cannot create folder", "(new)", path);
  if (taken && !(kn = lsp_od_kept_name(t->fd, -1, name)))
    return fail_errno("cannot choose a name", "(old)", path);
  if (lsp_od_move_noreplace(old, name, t->fd, kn ? kn : name) == 0) c->moved++;
  else st = fail_errno("cannot move into the new report folder", "(old)", path);
  free(kn);
  return st;
}

static int reconcile(rec_ctx *c, int old, lazy_dir *t, const char *rel) {
  char **v = names_of(old);
  if (!v) return fail_errno("cannot read folder", "(old)", rel[0] ? rel : ".");
  int st = LSP_OK;
  for (char **p = v; *p && !st; p++) {
    const char *name = *p;
    if (!rel[0] && !strcmp(name, LSP_MANIFEST_NAME)) continue; /* last, see below */
    char *path = lsp_od_join(rel, name), *kn = NULL;
    struct stat sb, tb;
    if (!path) {
      st = lsp_fail(LSP_ENOMEM, "out of memory");
      break;
    }
    if ((st = lsp_od_point())) goto next;
    if (stat_at(old, name, &sb) != 1) {
      if (errno != ENOENT) st = fail_errno("cannot stat", "(old)", path);
      goto next;
    }
    char own = lsp_manifest_owned(c->oldm, path);
    int have = t->fd >= 0 ? stat_at(t->fd, name, &tb) : 0;
    if (have < 0) {
      st = fail_errno("cannot stat", "(new)", path);
      goto next;
    }
    if (S_ISDIR(sb.st_mode)) {
      if (!have && !own) { /* a user's folder: move it whole */
        st = move_in(c, old, name, t, 0, path);
        goto next;
      }
      if (have && !S_ISDIR(tb.st_mode) && !(kn = lsp_od_kept_name(t->fd, -1, name))) {
        st = fail_errno("cannot choose a name", "(old)", path);
        goto next;
      }
      lazy_dir sub = {t, kn ? kn : name, -1, sb.st_mode & 07777, 0};
      if (have && !kn && (sub.fd = openat(t->fd, name, DIR_FLAGS)) < 0) {
        st = fail_errno("cannot open folder", "(new)", path);
        goto next;
      }
      int ofd = openat(old, name, DIR_FLAGS);
      struct stat ob;
      if (ofd >= 0 && fstat(ofd, &ob) == 0 && (ob.st_mode & S_IRWXU) != S_IRWXU)
        (void)fchmod(ofd, ob.st_mode | S_IRWXU); /* it is emptied and removed */
      if (ofd < 0) st = fail_errno("cannot open folder", "(old)", path);
      else st = reconcile(c, ofd, &sub, path);
      if (ofd >= 0) close(ofd);
      if (sub.made) (void)fchmod(sub.fd, sub.mode);
      if (sub.fd >= 0) close(sub.fd);
      if (!st && unlinkat(old, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
        st = fail_errno("cannot remove folder", "(old)", path);
      goto next;
    }
    const char *kt = lsp_manifest_kept(c->newm, path);
    struct stat kb;
    if (own == 'f' || (have && same_inode(&sb, &tb)) ||
        (kt && fstatat(c->troot, kt, &kb, AT_SYMLINK_NOFOLLOW) == 0 && same_inode(&sb, &kb))) {
      /* lsprobe's old file, or a second name of something the new tree has */
      if (unlinkat(old, name, 0) != 0 && errno != ENOENT) st = fail_errno("cannot remove", "(old)", path);
      goto next;
    }
    st = move_in(c, old, name, t, have, path); /* the only copy of a user's entry */
  next:
    free(path);
    free(kn);
  }
  free_names(v);
  return st;
}

int lsp_od_reconcile(int old, int troot, const lsp_manifest *oldm, const lsp_manifest *newm,
                     size_t *moved) {
  rec_ctx c = {troot, oldm, newm, 0};
  lazy_dir top = {NULL, "", troot, 0, 0};
  int st = reconcile(&c, old, &top, "");
  if (moved) *moved = c.moved;
  if (st) return st;
  /* everything else is gone: now the record of what was lsprobe's can go */
  if (unlinkat(old, LSP_MANIFEST_NAME, 0) != 0 && errno != ENOENT)
    return fail_errno("cannot remove", "(old)", LSP_MANIFEST_NAME);
  return LSP_OK;
}

/* ---- pruning lsprobe's stale files (file-by-file publication) ------------------- */

int lsp_od_prune(int fd, const char *rel, const lsp_manifest *oldm, const lsp_manifest *keep) {
  char **v = names_of(fd);
  if (!v) return fail_errno("cannot read folder", rel[0] ? rel : ".", "");
  int st = LSP_OK;
  for (char **p = v; *p && !st; p++) {
    char *path = lsp_od_join(rel, *p);
    struct stat sb;
    if (!path) {
      st = lsp_fail(LSP_ENOMEM, "out of memory");
      break;
    }
    char own = lsp_manifest_owned(oldm, path), now = lsp_manifest_owned(keep, path);
    if (stat_at(fd, *p, &sb) == 1) {
      if (S_ISDIR(sb.st_mode)) {
        int sub = openat(fd, *p, DIR_FLAGS);
        if (sub < 0) st = fail_errno("cannot open folder", rel, *p);
        else {
          st = lsp_od_prune(sub, path, oldm, keep);
          int empty = dir_is_empty(sub);
          close(sub);
          if (!st && own == 'd' && !now && empty && unlinkat(fd, *p, AT_REMOVEDIR) != 0)
            st = fail_errno("cannot remove folder", rel, *p);
        }
      } else if (own == 'f' && !now) {
        if ((st = lsp_od_point())) goto next;
        if (unlinkat(fd, *p, 0) != 0 && errno != ENOENT) st = fail_errno("cannot remove", rel, *p);
      }
    }
  next:
    free(path);
  }
  free_names(v);
  return st;
}
