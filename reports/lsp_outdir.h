/* lsp_outdir.h — publishing a report folder (shared by `lsprobe run` and
 * `lsprobe compare`; the scheme and its crash analysis are in DESIGN §4).
 *
 * lsprobe only ever removes what it wrote itself: OUT/.lsprobe-manifest
 * (lsp_manifest.h) lists it, and everything else in OUT — a thesis.pdf at
 * the top or inside plots/ — is the user's and survives every publication.
 * A non-empty OUT without a manifest is refused unless `force`.
 *
 * A job calls lsp_outdir_begin, writes its complete report into the
 * staging folder lsp_outdir_stage names, and calls lsp_outdir_publish,
 * which switches OUT to the new report in one step: the staging folder (a
 * sibling of OUT on the same file system) receives hard links of the
 * user's entries and of the `keep` folder (the model cache), then
 * renameat2(RENAME_EXCHANGE) swaps it with OUT, and the old tree is emptied
 * (lsprobe's old files removed, any user file that only exists there moved
 * in). A reader sees the old report or the new one, never a mixture; a
 * failure before the switch removes the staging folder and leaves OUT as
 * it was. Where the file system cannot swap folders or hard-link (or OUT's
 * parent is not writable, or OUT is a mount point), the report is moved in
 * file by file instead (not atomic as a whole; rolled back on failure) and
 * lsp_outdir_note says so.
 *
 * Staging folders are named ".lsp-<hash of OUT's name>-<process token>"
 * (core/base/lsp_proc.h); lsp_outdir_begin sweeps those of dead processes
 * (and their temporary files in OUT and OUT/<keep>), finishing a switch a
 * killed job had made, so a crash or a second Ctrl-C leaves nothing a
 * later job does not clean up. */
#ifndef LSP_OUTDIR_H
#define LSP_OUTDIR_H

#include <stddef.h>

typedef struct lsp_outdir lsp_outdir;

typedef struct {
  const char *kind;     /* "run" or "compare": recorded; a folder of another
                           kind is refused                                   */
  int force;            /* accept a non-empty folder without a manifest      */
  const char *keep;     /* a folder of OUT that lives across jobs and is
                           written in place, not staged ("models"), or NULL  */
  size_t max_rel_stage; /* longest path, relative to the folder, the job
                           writes into the staging folder                    */
  size_t max_rel_out;   /* longest relative path it writes into OUT itself
                           (inside `keep`)                                   */
} lsp_outdir_opts;

/* Get OUT ready and create the staging folder. OUT is created if missing
 * (with an empty manifest, so a job killed right after still owns it).
 * Errors: LSP_EINVAL — OUT is not empty and has no manifest (message says
 * --force), holds another kind of report, or is too long for the files the
 * job writes under it (checked before anything is created); LSP_EDATA — a
 * malformed manifest; LSP_EIO; LSP_ENOMEM. */
int lsp_outdir_begin(const char *out, const lsp_outdir_opts *o, lsp_outdir **od);

/* Absolute path of the staging folder: write the whole report here. */
const char *lsp_outdir_stage(const lsp_outdir *od);
/* Absolute path of OUT (symbolic links resolved). */
const char *lsp_outdir_path(const lsp_outdir *od);

/* Switch OUT to the staged report (see above). On failure OUT is as it
 * was and the staging folder is gone. A problem after the switch (the old
 * tree could not be emptied) is not a failure: it goes into the note and
 * the next job's sweep finishes the work. */
int lsp_outdir_publish(lsp_outdir *od);

/* "" or a one-line note for the user: names kept aside because the report
 * needed them, file-by-file publication, an unfinished clean-up. */
const char *lsp_outdir_note(const lsp_outdir *od);

/* Remove the staging folder if the report was not published; free. NULL
 * is a no-op. */
void lsp_outdir_free(lsp_outdir *od);

/* Remove `path` and, if it is a folder, everything under it (links are
 * removed, not followed; works at any depth, no path length limit). A
 * missing path is not an error. 0, or -1 (best effort; no message). */
int lsp_outdir_rm_rf(const char *path);

#endif
