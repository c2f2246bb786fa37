/* lsp_outdir.c — staging folders published into an output folder
 * (lsp_outdir.h); shared by `lsprobe run` and `lsprobe compare`. */
#define _POSIX_C_SOURCE 200809L
#include "reports/lsp_outdir.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/lsp_error.h"

int lsp_outdir_rm_rf(const char *path) {
  struct stat sb;
  if (lstat(path, &sb) != 0) return 0;
  if (S_ISDIR(sb.st_mode)) {
    DIR *d = opendir(path);
    if (d) {
      struct dirent *e;
      while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char sub[4096];
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        lsp_outdir_rm_rf(sub);
      }
      closedir(d);
    }
    return rmdir(path);
  }
  return unlink(path);
}

/* Move every entry of the staging folder into `out`: files replace their
 * namesakes atomically (rename); folders (plots/, dumps/) are swapped: the
 * old one is renamed aside, the new one moved in, the old one removed. */
int lsp_outdir_publish(const char *staging, const char *out) {
  DIR *d = opendir(staging);
  if (!d) return lsp_fail(LSP_EIO, "%s: %s", staging, strerror(errno));
  struct dirent *e;
  int st = LSP_OK;
  while ((e = readdir(d)) && st == LSP_OK) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    char from[4096], to[4096], old[4200];
    snprintf(from, sizeof from, "%s/%s", staging, e->d_name);
    snprintf(to, sizeof to, "%s/%s", out, e->d_name);
    struct stat sb;
    if (stat(from, &sb) == 0 && S_ISDIR(sb.st_mode)) {
      snprintf(old, sizeof old, "%s/.old-%s-%ld", out, e->d_name, (long)getpid());
      struct stat ob;
      int had = stat(to, &ob) == 0;
      if (had && rename(to, old) != 0) {
        st = lsp_fail(LSP_EIO, "%s: cannot move aside: %s", to, strerror(errno));
        break;
      }
      if (rename(from, to) != 0) {
        st = lsp_fail(LSP_EIO, "%s: cannot move into place: %s", to, strerror(errno));
        if (had) rename(old, to);
        break;
      }
      if (had) lsp_outdir_rm_rf(old);
    } else if (rename(from, to) != 0) {
      st = lsp_fail(LSP_EIO, "%s: cannot move into place: %s", to, strerror(errno));
    }
  }
  closedir(d);
  return st;
}
