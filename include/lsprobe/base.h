/* lsprobe/base.h — status codes, error messages, initialization, version.
 *
 * Every function that can fail returns an int status: LSP_OK (0) or one of
 * the codes below. On failure it has also recorded a one-line reason
 * (naming the file, row or option where there is one), which the caller
 * reads with lsp_errmsg(). The library never prints and never exits. */
#ifndef LSPROBE_BASE_H
#define LSPROBE_BASE_H

#include "lsprobe/export.h"
#include "lsprobe/version.h"

enum lsp_status {
  LSP_OK = 0,
  LSP_EDATA = 1,   /* malformed, inconsistent or out-of-range input data */
  LSP_EINVAL = 2,  /* an invalid argument or setting (a usage error)      */
  LSP_EIO = 3,     /* a file could not be opened, read or written         */
  LSP_ENOMEM = 4,  /* an allocation failed                                */
  LSP_EINTR = 5    /* interrupted before completion                       */
};

/* Call once before anything else (further calls do nothing). It switches
 * GSL's abort-on-error handler off, so that a GSL failure inside lsprobe
 * comes back as a status. LSP_OK, or a status with the reason. */
LSP_API int lsp_init(void);

/* The reason recorded by the last failing call on this thread ("" if none).
 * The text stays valid until the next call on the same thread. */
LSP_API const char *lsp_errmsg(void);

/* Forget the last message. */
LSP_API void lsp_clear_error(void);

/* The version of the library loaded ("0.1.0"); LSPROBE_VERSION is that of
 * the headers compiled against. */
LSP_API const char *lsp_version(void);

#endif
