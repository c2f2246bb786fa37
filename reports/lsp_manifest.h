/* lsp_manifest.h — the record of what lsprobe wrote into an output folder:
 * OUT/.lsprobe-manifest (format in DESIGN §4).
 *
 * A text file, one record per line:
 *   lsprobe-manifest 1          format version
 *   kind run                    which command owns the folder (run, compare)
 *   stage .lsp-...              the staging folder that built this tree
 *                               ("-" if none; tells a crashed publish's
 *                               old tree from an unfinished new one)
 *   d plots                     a folder lsprobe created
 *   f plots/reliability.svg     a file lsprobe wrote
 *   k report.html report.html.kept
 *                               a user's entry kept aside under a new name
 *                               because the report needed its name
 * Paths are relative to the folder, '/'-separated, with no empty, "." or
 * ".." part; bytes below 0x21, 0x7f and '%' are written as %XX. Whatever
 * the manifest does not list as d or f is the user's. */
#ifndef LSP_MANIFEST_H
#define LSP_MANIFEST_H

#include <stddef.h>

#define LSP_MANIFEST_NAME ".lsprobe-manifest"
#define LSP_MANIFEST_VERSION 1

typedef struct {
  char type;  /* 'f' file, 'd' folder, 'k' kept-aside pair              */
  char *path; /* owned: relative path (for 'k': the user's old name)     */
  char *to;   /* owned: for 'k', the name it was kept under; else NULL   */
} lsp_manifest_entry;

typedef struct {
  char kind[16];          /* "run", "compare"                           */
  char stage[96];         /* staging folder's name, "" if none          */
  lsp_manifest_entry *e;  /* owned; sorted by (type class, path) once
                             lsp_manifest_sort has run                  */
  size_t n, cap;
} lsp_manifest;

/* An empty manifest of `kind` (at most 15 characters). */
void lsp_manifest_init(lsp_manifest *m, const char *kind);
void lsp_manifest_release(lsp_manifest *m);

/* Add a record; `to` only for 'k'. LSP_EINVAL for a path that is not a
 * clean relative path, LSP_ENOMEM. Call lsp_manifest_sort before lookups. */
int lsp_manifest_add(lsp_manifest *m, char type, const char *path, const char *to);
void lsp_manifest_sort(lsp_manifest *m);

/* 'f' or 'd' if `path` is listed as lsprobe's, else 0 (m may be NULL). */
char lsp_manifest_owned(const lsp_manifest *m, const char *path);
/* The name a user's entry `path` was kept under, or NULL. */
const char *lsp_manifest_kept(const lsp_manifest *m, const char *path);

/* Parse text[0..len) (`name` labels errors: "<name>:<line>: <why>");
 * LSP_EDATA on anything malformed or an unknown version. Sorted. */
int lsp_manifest_parse(const char *text, size_t len, const char *name, lsp_manifest *m);
/* The file's text (free()). LSP_ENOMEM. */
int lsp_manifest_format(const lsp_manifest *m, char **text, size_t *len);

/* 1 if `path` is relative, '/'-separated, without empty, "." or ".." parts. */
int lsp_manifest_clean_path(const char *path);

#endif
