/* lsp_io.h — atomic output files and interruption.
 *
 * Every output lsprobe writes goes to a temporary file in the destination's
 * folder and is renamed over the final name only once it is complete, so a
 * failed or interrupted run never leaves a half-written file or clobbers an
 * earlier result. */
#ifndef LSP_IO_H
#define LSP_IO_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct {
  FILE *fp;        /* open on the temporary file; write through this */
  char *path;      /* owned: final name */
  char *tmp_path;  /* owned: temporary name (same folder); NULL if direct */
  int direct;      /* path is a device, FIFO or socket, written in place */
  int live;        /* 1 + its slot in the table lsp_out_unlink_live reads */
} lsp_outfile;

/* Open a temporary file beside `path`, named "<path>.tmp.<token>.XXXXXX"
 * with this process's token (core/base/lsp_proc.h), so a later job can
 * tell a dead job's leftover from live work (lsp_out_tmp_stale). On failure
 * nothing exists on disk. An existing `path` that is not a regular file or
 * a folder (/dev/stdout, /dev/null, a FIFO) is opened and written in place
 * instead: a rename would replace the device node with a regular file.
 * An existing regular file is replaced by a file with its permission bits
 * (a new file: 0666 less the umask). A symbolic link stays: the file it
 * names is replaced (out->path is then that file's resolved name, the
 * temporary is beside it); a link to nothing is refused (LSP_EIO). */
int lsp_out_open(lsp_outfile *out, const char *path);
/* 1, with the reason in why, if `path` is a symbolic link an output cannot
 * go through: to nothing, not to be followed (a loop, no access), or into
 * a folder that cannot be written (the file it names is the one replaced);
 * 0 for anything else. lsp_out_open refuses these; callers may check
 * before any work. */
int lsp_out_link_problem(const char *path, char *why, size_t len);
/* How many characters lsp_out_open adds to `path` for the temporary name,
 * at most (the file's own name is cut short in the temporary where
 * NAME_MAX or PATH_MAX would be passed), for callers that check path
 * lengths in advance. */
size_t lsp_out_tmp_extra(void);

/* The folder for lsprobe's scratch files outside the outputs (gnuplot's
 * messages, Chromium's profile): $TMPDIR when it is set and names a folder
 * this process can write into, else /tmp. */
const char *lsp_tmp_dir(void);
/* 1 if the file name `name` (no folder) is a temporary of lsp_out_open
 * whose process has ended (safe to remove), else 0. */
int lsp_out_tmp_stale(const char *name);
/* Flush, sync and close the temporary, leaving it in place (nothing
 * renamed yet; lsp_out_commit then only renames, lsp_out_abort removes
 * it). On failure: LSP_EIO with the reason, and `out` is aborted. */
int lsp_out_finish(lsp_outfile *out);
/* Finish (if not done yet) and rename onto the final name. On failure the
 * temporary is removed and the final name is untouched. Frees `out`'s
 * fields either way. */
int lsp_out_commit(lsp_outfile *out);
/* Close and remove the temporary; the final name is untouched. NULL-safe,
 * and a second call does nothing. */
void lsp_out_abort(lsp_outfile *out);
/* For a write to out->fp that failed: abort `out` and return LSP_EIO
 * naming the file and the reason (errno at the call: that of the failed
 * write, "No space left on device" for a full disk). */
int lsp_out_write_failed(lsp_outfile *out);
/* Keep the existing file `path` under a new temporary name beside it
 * (*aside, owned by the caller; a name lsp_out_tmp_stale knows): a hard
 * link, or where the file system has none, the file itself moved there
 * (*moved = 1; `path` is then gone until renamed back). LSP_EIO with the
 * reason on failure, *aside NULL. */
int lsp_out_keep_aside(const char *path, char **aside, int *moved);

/* Remove every temporary that lsp_out_open has created and that is neither
 * committed nor aborted yet, for a host's handler of a signal that ends
 * the process (the lsprobe command's SIGINT/SIGTERM/SIGHUP/SIGPIPE): only
 * async-signal-safe calls, no locks, streams left alone. Temporaries with
 * names of 4096 characters or more, or beyond the 64 open at once, are not
 * tracked; a later job in the same folder removes those (lsp_out_tmp_stale).
 * Returns how many names were unlinked. */
int lsp_out_unlink_live(void);

/* Write `len` bytes to `path` atomically. */
int lsp_write_file_atomic(const char *path, const void *buf, size_t len);

/* Read a whole file or pipe into a NUL-terminated heap buffer (*len
 * excludes NUL). A folder or a device (/dev/zero, a terminal) is refused
 * with LSP_EIO naming what it is. */
int lsp_read_file(const char *path, char **buf, size_t *len);

/* zlib's CRC-32 of `len` bytes, for any length: zlib's crc32() takes a
 * 32-bit length, so files of 4 GiB and more go through crc32_z. */
uint32_t lsp_crc32(const void *buf, size_t len);

/* Create a directory and its parents (like mkdir -p); ok if it exists. */
int lsp_mkdir_p(const char *path);

/* fsync the folder `path`, so that names created, renamed or removed in it
 * survive a crash. LSP_EIO naming the folder on failure (file systems that
 * cannot fsync a folder, EINVAL, count as success). */
int lsp_fsync_dir(const char *path);

/* printf into a new heap string of exactly the needed size (free() it);
 * NULL only when out of memory. Paths are built with this, never in
 * fixed-size buffers that could silently cut them short. */
char *lsp_strdupf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *lsp_vstrdupf(const char *fmt, va_list ap);

/* Interruption of long jobs. Long loops poll lsp_interrupted() and stop
 * with LSP_EINTR; code that owns a temporary file removes it when it sees
 * the flag. The library installs no signal handler: the host decides what
 * interrupts (the lsprobe command's SIGINT/SIGTERM handler, a Python
 * host's KeyboardInterrupt check) and calls lsp_interrupt_request(), which
 * is async-signal-safe. lsp_interrupt_clear() re-arms the library for the
 * next call. The flag is process-wide. */
/* lsp_interrupt_request() and lsp_interrupt_clear() are public API
 * (lsprobe/base.h). */
#include "lsprobe/base.h"
int lsp_interrupted(void);

#endif
