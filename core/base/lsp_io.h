/* lsp_io.h — atomic output files and interruption.
 *
 * Every output lsprobe writes goes to a temporary file in the destination's
 * folder and is renamed over the final name only once it is complete, so a
 * failed or interrupted run never leaves a half-written file or clobbers an
 * earlier result. */
#ifndef LSP_IO_H
#define LSP_IO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct {
  FILE *fp;        /* open on the temporary file; write through this */
  char *path;      /* owned: final name */
  char *tmp_path;  /* owned: temporary name (same folder) */
} lsp_outfile;

/* Open a temporary file beside `path`. On failure nothing exists on disk. */
int lsp_out_open(lsp_outfile *out, const char *path);
/* Flush, close and rename onto the final name. On failure the temporary is
 * removed and the final name is untouched. Frees `out`'s fields either way. */
int lsp_out_commit(lsp_outfile *out);
/* Close and remove the temporary; the final name is untouched. NULL-safe. */
void lsp_out_abort(lsp_outfile *out);

/* Write `len` bytes to `path` atomically. */
int lsp_write_file_atomic(const char *path, const void *buf, size_t len);

/* Read a whole file into a NUL-terminated heap buffer (*len excludes NUL). */
int lsp_read_file(const char *path, char **buf, size_t *len);

/* zlib's CRC-32 of `len` bytes, for any length: zlib's crc32() takes a
 * 32-bit length, so files of 4 GiB and more go through crc32_z. */
uint32_t lsp_crc32(const void *buf, size_t len);

/* Create a directory and its parents (like mkdir -p); ok if it exists. */
int lsp_mkdir_p(const char *path);

/* Interruption of long jobs. Long loops poll lsp_interrupted() and stop
 * with LSP_EINTR; code that owns a temporary file removes it when it sees
 * the flag. The library installs no signal handler: the host decides what
 * interrupts (the lsprobe command's SIGINT/SIGTERM handler, a Python
 * host's KeyboardInterrupt check) and calls lsp_interrupt_request(), which
 * is async-signal-safe. lsp_interrupt_clear() re-arms the library for the
 * next call. The flag is process-wide. */
void lsp_interrupt_request(void);
void lsp_interrupt_clear(void);
int lsp_interrupted(void);

#endif
