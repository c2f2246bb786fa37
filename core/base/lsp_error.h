/* lsp_error.h — status codes and the per-thread error message.
 *
 * Every library function that can fail returns an int status: LSP_OK (0) or
 * one of the codes below. On failure it has also recorded a one-line reason
 * (naming the file where there is one), which the caller reads with
 * lsp_errmsg(). The library never prints and never exits; the CLI turns a
 * status into "lsprobe: <what>: <why>" and an exit code. */
#ifndef LSP_ERROR_H
#define LSP_ERROR_H

/* The status codes, lsp_errmsg() and lsp_clear_error() are public API. */
#include <stddef.h>

#include "lsprobe/base.h"

/* Record a printf-style reason and return `status` (so callers can write
 * `return lsp_fail(LSP_EDATA, "%s: truncated", path);`). */
int lsp_fail(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prefix the current message with "<prefix>: " (adds context on the way up). */
int lsp_fail_prefix(int status, const char *prefix);

/* Copy `in` into out (cap bytes, NUL-terminated) as printable text: a
 * control character, DEL or a byte that starts no well-formed UTF-8
 * sequence becomes "\xNN", so a name read from a file can neither move the
 * terminal nor forge a line. Returns the length of the whole cleaned text
 * (as snprintf). Every message lsp_fail records is cleaned so. */
size_t lsp_text_clean(const char *in, char *out, size_t cap);

#endif
