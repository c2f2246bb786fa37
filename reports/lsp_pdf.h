/* lsp_pdf.h — an HTML report printed to one PDF by headless Chromium.
 *
 * The report's own CSS decides the paper (A4) and what may not be split
 * across pages; Chromium (Debian's `chromium`) lays it out and prints it,
 * exactly as tests/browser_check.py checks it. Nothing is downloaded: when
 * no Chromium is installed the caller says so and goes on without the PDF. */
#ifndef LSP_PDF_H
#define LSP_PDF_H

#include <stddef.h>

/* The status of "no Chromium here" (not an error of the report). */
#define LSP_PDF_NOCHROMIUM 100

/* Find Chromium: $LSPROBE_CHROMIUM when set (a path, or a name looked up
 * on PATH), else chromium, chromium-browser or google-chrome on PATH. On
 * success the program's path is copied into path[cap]. LSP_PDF_NOCHROMIUM
 * with what was looked for when there is none. */
int lsp_pdf_find(char *path, size_t cap);

/* Print `html` (a file) to `pdf`, atomically: Chromium writes a temporary
 * file beside `pdf`, which must start with "%PDF-" and is then renamed over
 * `pdf`. Chromium runs in a private profile folder (removed afterwards),
 * with its output discarded, and is killed (with its helper processes)
 * after `timeout_s` seconds or when lsp_interrupted() turns true.
 * Errors: LSP_PDF_NOCHROMIUM, LSP_EIO (could not start, failed, no PDF),
 * LSP_EINTR; `pdf` is untouched on failure. */
int lsp_pdf_print(const char *html, const char *pdf, double timeout_s);

#endif
