/* lsp_outdir.h — atomic publication of a report folder (internal helper
 * shared by lsp_run.c and lsp_compare.c).
 *
 * A report is written into a staging folder inside the output folder
 * (e.g. DIR/.staging-<pid>) and then published: a failed or interrupted
 * job removes the staging folder and leaves any earlier report untouched. */
#ifndef LSP_OUTDIR_H
#define LSP_OUTDIR_H

/* Remove `path` and, if it is a folder, everything under it (symbolic links
 * are removed, not followed). A missing path is not an error. Returns 0 or
 * -1 from the last rmdir/unlink (best effort; no message). */
int lsp_outdir_rm_rf(const char *path);

/* Move every entry of `staging` into the existing folder `out`: files
 * replace their namesakes by rename (atomic); folders (plots/, dumps/) are
 * swapped: the old one renamed aside, the new one moved in, the old one
 * removed. LSP_EIO with a message naming the path on failure. */
int lsp_outdir_publish(const char *staging, const char *out);

#endif
