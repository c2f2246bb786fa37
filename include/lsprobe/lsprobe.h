/* lsprobe/lsprobe.h — the whole public API of liblsprobe.
 *
 *   #include <lsprobe/lsprobe.h>
 *   cc app.c $(pkg-config --cflags --libs lsprobe)
 *   (CMake: find_package(lsprobe) and link lsprobe::lsprobe)
 *
 * Call lsp_init() once first. Every function that can fail returns an
 * lsp_status and leaves the reason in lsp_errmsg() (lsprobe/base.h).
 *
 *   base.h      status codes, messages, init, version
 *   loss.h      label-smoothed cross-entropy and its gradient
 *   result.h    matrices in, options by name, JSON results out
 *   analysis.h  calibration, cluster geometry, logit gap
 *   model.h     load a model, logits and features, evaluate
 *   attack.h    FGSM and PGD
 *
 * Names are lsp_<module>_<verb>; every _alloc or _load has a _free that
 * accepts NULL. Only these functions are exported; within major version
 * LSPROBE_VERSION_MAJOR (the SONAME, liblsprobe.so.0) they keep their
 * signatures and the structs here keep their layout. */
#ifndef LSPROBE_LSPROBE_H
#define LSPROBE_LSPROBE_H

#include "lsprobe/analysis.h"
#include "lsprobe/attack.h"
#include "lsprobe/base.h"
#include "lsprobe/export.h"
#include "lsprobe/loss.h"
#include "lsprobe/model.h"
#include "lsprobe/result.h"
#include "lsprobe/version.h"

#endif
