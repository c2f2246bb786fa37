/* lsp_outset.h — several output files of one folder, replaced together.
 *
 * Each file is written to a temporary of its own (lsp_out_open: a unique
 * name, never one a user's file could have), and only once every one is
 * complete are they renamed into place, as one step: the renames of sets
 * committed into the same folder at once take turns (a lock on the folder
 * itself, so no lock file is left), every final name is checked first, and
 * the earlier files are kept aside until the last rename has succeeded, so
 * a rename that still fails puts them all back. A reader of the folder
 * sees the earlier set or the new one, never a mix. */
#ifndef LSP_OUTSET_H
#define LSP_OUTSET_H

#include <stdio.h>

#include "core/base/lsp_io.h"

#define LSP_OUTSET_MAX 8

typedef struct {
  char *dir;                     /* owned: the folder */
  lsp_outfile f[LSP_OUTSET_MAX]; /* the files, in the order added */
  int n;
} lsp_outset;

/* An empty set for folder `dir` (which must exist). */
int lsp_outset_init(lsp_outset *s, const char *dir);
/* Open "<dir>/<name>" for writing; *out is the member to write through
 * (out->fp; after a failed write, lsp_out_write_failed(out) and then
 * lsp_outset_abort). An existing name that is not a regular file (a
 * folder, a device) is refused with LSP_EIO: only files are replaced. */
int lsp_outset_add(lsp_outset *s, const char *name, lsp_outfile **out);
/* Finish every file and rename them all into place, or none: on failure
 * the earlier files are as they were and LSP_EIO says why. The set is
 * freed either way. */
int lsp_outset_commit(lsp_outset *s);
/* Remove every temporary and free the set; the folder is untouched.
 * NULL-safe; after a commit it does nothing. */
void lsp_outset_abort(lsp_outset *s);

#endif
