/* lsprobe/export.h — LSP_API, the mark of the functions liblsprobe exports.
 *
 * The library is compiled with hidden visibility: only the functions the
 * public headers declare with LSP_API are in liblsprobe.so's dynamic symbol
 * table (tests/exports.sh checks it both ways). For a program that includes
 * these headers the mark changes nothing (a toolchain that wants another
 * mark may define LSP_API before including them). */
#ifndef LSPROBE_EXPORT_H
#define LSPROBE_EXPORT_H

#ifndef LSP_API
#if defined(__GNUC__) || defined(__clang__)
#define LSP_API __attribute__((visibility("default")))
#else
#define LSP_API
#endif
#endif

#endif
