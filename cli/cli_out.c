/* cli_out.c — the output files of the commands, checked before any work
 * (cli.h): a name that can be written, in a folder that exists, and never
 * a file the same command reads. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/base/lsp_io.h"
#include "core/data/lsp_data.h"
#include "core/import/lsp_import.h"

/* Both paths name one existing file (the same device and inode, so a
 * symbolic or hard link to the input counts too). A file that does not
 * exist yet cannot be an input. */
static int same_file(const char *a, const char *b) {
  struct stat sa, sb;
  if (!a || !b || !*a || !*b) return 0;
  if (stat(a, &sa) != 0 || stat(b, &sb) != 0) return 0;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* `path`'s own folder is the existing folder `dir` (the same device and
 * inode); *base gets path's last name. */
static int in_folder(const char *path, const char *dir, const char **base) {
  struct stat sd, sp;
  const char *slash = strrchr(path, '/');
  *base = slash ? slash + 1 : path;
  if (!dir || stat(dir, &sd) != 0 || !S_ISDIR(sd.st_mode)) return 0;
  size_t n = slash ? (size_t)(slash - path) : 0;
  char *pd = malloc(n + 2);
  if (!pd) return 0;
  if (!slash)
    strcpy(pd, ".");
  else {
    memcpy(pd, path, n ? n : 1); /* "/x": the root */
    pd[n ? n : 1] = 0;
  }
  int same = stat(pd, &sp) == 0 && sp.st_dev == sd.st_dev && sp.st_ino == sd.st_ino;
  free(pd);
  return same;
}

/* `path` names one of the data files of folder `dir`. */
static int in_data_folder(const char *path, const char *dir) {
  const char *base;
  return in_folder(path, dir, &base) && lsp_data_file_name(base);
}

/* `path` names a tensor file of the PyTorch export folder `dir` that an
 * option reading a model (--model, --teacher, --transfer-from) names. */
static int in_model_folder(const char *opt, const char *path, const char *dir) {
  const char *base;
  if (strcmp(opt, "model") && strcmp(opt, "teacher") && strcmp(opt, "transfer-from"))
    return 0;
  return in_folder(path, dir, &base) && lsp_import_torch_file_name(base);
}

int cli_check_not_input(const char *cmd, const char *what, const char *path, cli_opt *opts,
                        const char *const *ins) {
  for (const char *const *n = ins; n && *n; n++) {
    cli_opt *o = cli_find(opts, *n);
    if (!o || !o->value) continue;
    const char *v[2] = {o->value, o->nargs > 1 ? o->value2 : NULL};
    for (int k = 0; k < 2; k++)
      if (v[k] && same_file(path, v[k]))
        return cli_error(cmd, CLI_USAGE,
                         "%s is the same file as the input --%s %s: writing it would destroy "
                         "the input (choose another output file)",
                         what, *n, v[k]);
      else if (v[k] && in_data_folder(path, v[k]))
        return cli_error(cmd, CLI_USAGE,
                         "%s is a data file of the input folder --%s %s: writing it would "
                         "destroy or change the data (choose another output file)",
                         what, *n, v[k]);
      else if (v[k] && in_model_folder(*n, path, v[k]))
        return cli_error(cmd, CLI_USAGE,
                         "%s is a tensor file of the input model folder --%s %s: writing "
                         "it would destroy or change the model (choose another output file)",
                         what, *n, v[k]);
    /* the named dataset reads the folder lsp_data_fashion_dir() */
    if (!strcmp(*n, "data") && !strcmp(o->value, "fashion-mnist") &&
        in_data_folder(path, lsp_data_fashion_dir()))
      return cli_error(cmd, CLI_USAGE,
                       "%s is a data file of the input folder --%s %s (%s): writing it "
                       "would destroy or change the data (choose another output file)",
                       what, *n, o->value, lsp_data_fashion_dir());
  }
  return CLI_OK;
}

int cli_stdin_once(const char *cmd, cli_opt *opts, const char *const *ins) {
  const char *first = NULL;
  for (const char *const *n = ins; *n; n++) {
    const char *v = cli_str(opts, *n, NULL);
    if (!v || (strcmp(v, "-") && strcmp(v, "/dev/stdin"))) continue;
    if (first)
      return cli_error(cmd, CLI_USAGE,
                       "--%s and --%s both read standard input (%s), which can be read "
                       "once: give one of them as a file",
                       first, *n, v);
    first = *n;
  }
  return CLI_OK;
}

/* "-" names standard input for the options that read; an output option
 * refuses it rather than write a file named "-" */
static int std_out(const char *cmd, const char *name, const char *what) {
  return cli_error(cmd, CLI_USAGE, "--%s -: writing to standard output is not supported for "
                   "this option; name a %s (./- for one named -)", name, what);
}

int cli_check_out_file(const char *cmd, cli_opt *opts, const char *name,
                       const char *const *ins) {
  int rc = cli_stdin_once(cmd, opts, ins);
  if (rc) return rc;
  const char *path = cli_str(opts, name, NULL);
  if (!path) return CLI_OK;
  if (!*path) return cli_error(cmd, CLI_USAGE, "--%s: the file name is empty", name);
  if (!strcmp(path, "-")) return std_out(cmd, name, "file");
  size_t len = strlen(path);
  struct stat sb;
  if (path[len - 1] == '/' || (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)))
    return cli_error(cmd, CLI_USAGE, "--%s %s: is a folder; name the file to write", name, path);
  char why[4400];
  if (lsp_out_link_problem(path, why, sizeof why))
    return cli_error(cmd, CLI_DATA, "--%s %s: %s", name, path, why);
  /* the folder the file goes into */
  char *dir = malloc(len + 2);
  if (!dir) return cli_error(cmd, CLI_DATA, "out of memory");
  memcpy(dir, path, len + 1);
  char *slash = strrchr(dir, '/');
  if (!slash) strcpy(dir, ".");
  else if (slash == dir) dir[1] = '\0';
  else *slash = '\0';
  rc = CLI_OK;
  if (stat(dir, &sb) != 0)
    rc = cli_error(cmd, CLI_DATA, "--%s %s: cannot write into %s: %s", name, path, dir,
                   strerror(errno));
  else if (!S_ISDIR(sb.st_mode))
    rc = cli_error(cmd, CLI_DATA, "--%s %s: %s is not a folder", name, path, dir);
  else if (access(dir, W_OK | X_OK) != 0)
    rc = cli_error(cmd, CLI_DATA, "--%s %s: cannot write into %s: %s", name, path, dir,
                   strerror(errno));
  free(dir);
  if (rc) return rc;
  char what[64];
  snprintf(what, sizeof what, "--%s", name);
  char *label = malloc(strlen(what) + len + 2);
  if (!label) return cli_error(cmd, CLI_DATA, "out of memory");
  sprintf(label, "%s %s", what, path);
  rc = cli_check_not_input(cmd, label, path, opts, ins);
  free(label);
  return rc;
}

/* Entries can be made in the existing folder `dir`: a probe folder with a
 * name of this process's own is made and removed at once, so ranks of one
 * job probing together never meet (a permission check alone passes for
 * root, even where nothing can be written). errno set on failure. */
static int can_make_in(const char *dir) {
  static unsigned long serial;
  char probe[4200];
  int n = snprintf(probe, sizeof probe, "%s/.lsprobe-probe-%ld-%lu", dir, (long)getpid(),
                   ++serial);
  if (n < 0 || (size_t)n >= sizeof probe) {
    errno = ENAMETOOLONG;
    return 0;
  }
  if (mkdir(probe, 0700) != 0) return 0;
  rmdir(probe);
  return 1;
}

/* A name the system refuses as too long (the whole path, or one of its
 * names): a usage error, as the output folder's own check gives. */
static int too_long(const char *cmd, const char *name, const char *path) {
  return cli_error(cmd, CLI_USAGE, "--%s %s: the name is too long for this system: choose a "
                   "shorter --%s", name, path, name);
}

int cli_check_out_dir(const char *cmd, cli_opt *opts, const char *name, const char *def) {
  const char *path = cli_str(opts, name, def);
  if (!path) return CLI_OK;
  if (!*path) return cli_error(cmd, CLI_USAGE, "--%s: the folder name is empty", name);
  if (!strcmp(path, "-")) return std_out(cmd, name, "folder");
  struct stat sb;
  if (stat(path, &sb) == 0) {
    if (!S_ISDIR(sb.st_mode))
      return cli_error(cmd, CLI_DATA, "--%s %s: exists and is not a folder", name, path);
    if (access(path, W_OK | X_OK) != 0)
      return cli_error(cmd, CLI_DATA, "--%s %s: cannot write into it: %s", name, path,
                       strerror(errno));
    return CLI_OK;
  }
  if (errno == ENAMETOOLONG) return too_long(cmd, name, path);
  if (errno != ENOENT && errno != ENOTDIR)
    return cli_error(cmd, CLI_DATA, "--%s %s: %s", name, path, strerror(errno));
  /* the folders on the way, from the top: each existing one a folder (a
   * link to nothing is not one), and entries can be made in the deepest
   * (the rest are made in new folders below it) */
  size_t n = strlen(path);
  char *p = malloc(n + 2);
  if (!p) return cli_error(cmd, CLI_DATA, "out of memory");
  memcpy(p, path, n + 1);
  int rc = CLI_OK;
  for (size_t i = 1; i <= n && !rc; i++) {
    if (p[i] != '/' && p[i] != '\0') continue;
    char c = p[i];
    p[i] = '\0';
    if (stat(p, &sb) == 0) {
      if (!S_ISDIR(sb.st_mode))
        rc = cli_error(cmd, CLI_DATA, "--%s %s: %s is not a folder", name, path, p);
    } else if (errno == ENOENT && lstat(p, &sb) == 0) {
      rc = cli_error(cmd, CLI_DATA, "--%s %s: %s is a symbolic link to nothing", name, path, p);
    } else if (errno == ENAMETOOLONG) {
      rc = too_long(cmd, name, path);
    } else if (errno != ENOENT) {
      rc = cli_error(cmd, CLI_DATA, "--%s %s: %s: %s", name, path, p, strerror(errno));
    } else {
      /* p is the first missing folder: its parent is the deepest existing */
      char *slash = strrchr(p, '/');
      const char *parent = ".";
      if (slash == p)
        parent = "/";
      else if (slash)
        *slash = '\0', parent = p;
      if (!can_make_in(parent))
        rc = errno == ENAMETOOLONG
                 ? too_long(cmd, name, path)
                 : cli_error(cmd, CLI_DATA, "--%s %s: cannot create folders in %s: %s", name,
                             path, parent, strerror(errno));
      break;
    }
    p[i] = c;
  }
  free(p);
  return rc;
}
