/* lsp_outdir_int.h — the tree walks behind lsp_outdir (internal; shared by
 * lsp_outdir.c and lsp_outdir_tree.c). Every walk works on open folder
 * descriptors and names (openat, unlinkat, linkat, renameat2), never on
 * joined path strings: no path length limit, and no symbolic link is ever
 * followed. Relative paths are built only to look entries up in manifests.
 *
 * Each function returns an LSP status with a message naming the entry. */
#ifndef LSP_OUTDIR_INT_H
#define LSP_OUTDIR_INT_H

#include <stddef.h>

#include "reports/lsp_manifest.h"
#include "reports/lsp_outdir.h"

struct lsp_outdir {
  char kind[16];
  char *out;        /* owned: absolute path of OUT                         */
  char *parent;     /* owned: its folder                                   */
  char *name;       /* owned: its last part                                */
  char *stage_name; /* owned: ".lsp-<hash>-<token>-<seq>"                  */
  unsigned long seq; /* this job's number in its process (0 = none)       */
  char *stage;      /* owned: absolute path of the staging folder          */
  int inplace;      /* staging folder inside OUT; publish file by file     */
  int published;     /* the new report is in OUT                            */
  int swapped;       /* ... by the swap: stage_name now holds the old tree  */
  int created;       /* lsp_outdir_begin created OUT                        */
  char keep[32];     /* the `keep` folder's name, or ""                     */
  char *note;       /* owned: "" or a note for the user                    */
};

/* Append "fmt % arg" to the note ("; "-separated). */
void lsp_od_note(lsp_outdir *od, const char *fmt, const char *arg);

/* Read folder `dfd`'s manifest into `m` (*found = 0 and an empty manifest
 * if there is none); `label` names the folder in messages. */
int lsp_od_read_manifest(int dfd, const char *label, lsp_manifest *m, int *found);
/* Write `m` as DIR/.lsprobe-manifest (atomic, fsynced file). */
int lsp_od_write_manifest(const char *dir, const lsp_manifest *m);

/* Test hooks (lsp_outdir.c): LSPROBE_TEST_PUBLISH == what; arm the fault
 * points from LSPROBE_TEST_FAULT at the start of a publication. */
int lsp_od_test_mode(const char *what);
void lsp_od_arm_faults(void);
void lsp_od_disarm_faults(void);

/* A fault point of the publication (for tests, see lsp_outdir.c): LSP_OK,
 * or an injected failure; may also kill the process. */
int lsp_od_point(void);

/* Remove `name` in folder `dfd` and, if it is a folder, everything in it
 * (links are removed, not followed; read-only folders are made writable
 * first). A missing name is not an error. 0, or -1 with errno set. */
int lsp_od_rm_rf_at(int dfd, const char *name);

/* List the tree under folder `fd` into `m` as 'f' and 'd' records with
 * paths prefixed by `rel` ("" at the top). */
int lsp_od_list(int fd, const char *rel, lsp_manifest *m);

/* fsync every folder of the tree under `fd` (and `fd` itself). */
int lsp_od_sync_tree(int fd, const char *label);

/* Carry the user's entries of the old tree `src` into the new tree `dst`
 * (exchange mode, before the switch): everything not listed in `owned` as
 * lsprobe's is mirrored — folders recreated with their permissions, every
 * other entry hard-linked (the same inode: no data copied, the original
 * stays where it is). An entry whose name the new tree uses is linked under
 * "<name>.kept" (or .kept2, ...) and recorded as a 'k' record in `kept`.
 * A failure leaves `dst` with some extra links (safe to remove) and says
 * why; the caller then publishes file by file instead. */
int lsp_od_carry(int src, int dst, const char *rel, const lsp_manifest *owned,
                 lsp_manifest *kept);

/* Empty the old tree `old` (after the switch, or when sweeping a dead job's
 * switched tree) into the new tree `troot`: entries `oldm` lists as
 * lsprobe's are removed; entries whose inode the new tree holds at the same
 * name (or, per `newm`'s 'k' records, at the kept name) are removed; every
 * other entry — a user's file that only exists here — is moved into the new
 * tree (under a .kept name if its own is taken) and counted in *moved.
 * The old tree's manifest is removed last, and only if everything else
 * went, so an interrupted clean-up can be resumed. */
int lsp_od_reconcile(int old, int troot, const lsp_manifest *oldm, const lsp_manifest *newm,
                     size_t *moved);

/* A name "<name>.kept", "<name>.kept2", ... free in both folders (b may be
 * -1); names near the 255-byte limit are shortened first. NULL on ENOMEM. */
char *lsp_od_kept_name(int a, int b, const char *name);

/* Rename without replacing (renameat2 RENAME_NOREPLACE, or link + unlink
 * where the file system lacks it). 0, or -1 with errno (EEXIST if taken). */
int lsp_od_move_noreplace(int sfd, const char *sname, int dfd, const char *dname);

/* Swap two names atomically (renameat2 RENAME_EXCHANGE). 0, or -1 with
 * errno (EINVAL/ENOSYS/ENOTSUP where the file system cannot). */
int lsp_od_exchange(int dfd, const char *a, const char *b);

/* Remove, under folder `fd`, the files and (empty) folders `oldm` lists as
 * lsprobe's that `keep` does not list (file-by-file publication). */
int lsp_od_prune(int fd, const char *rel, const lsp_manifest *oldm, const lsp_manifest *keep);

/* The names in folder `fd` (no . and ..), NULL-terminated; NULL with errno
 * on failure. Free with lsp_od_free_names. */
char **lsp_od_names(int fd);
void lsp_od_free_names(char **v);

/* errno of the last failure the walks above reported (0 for an injected
 * fault), to tell "this file system cannot" from "this went wrong". */
int lsp_od_errno(void);
void lsp_od_errno_clear(void);

/* "rel/name" (or "name" when rel is ""), on the heap; NULL on ENOMEM. */
char *lsp_od_join(const char *rel, const char *name);

#endif
