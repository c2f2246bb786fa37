/* lsp_api_opts.c — options by name (lsprobe/result.h) and their parsing. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "api/lsp_api_int.h"
#include "core/base/lsp_error.h"

struct lsp_opts {
  size_t n, cap;
  char **name;  /* owned, n entries */
  char **value; /* owned, n entries */
};

lsp_opts *lsp_opts_alloc(void) {
  lsp_opts *o = calloc(1, sizeof *o);
  if (!o) lsp_fail(LSP_ENOMEM, "out of memory for options");
  return o;
}

void lsp_opts_free(lsp_opts *o) {
  if (!o) return;
  for (size_t i = 0; i < o->n; i++) {
    free(o->name[i]);
    free(o->value[i]);
  }
  free(o->name);
  free(o->value);
  free(o);
}

#define NAME_MAX_LEN 64 /* characters of an option name */

static int name_ok(const char *s) {
  if (!(*s >= 'a' && *s <= 'z')) return 0;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
      return 0;
  return 1;
}

int lsp_opts_set(lsp_opts *o, const char *name, const char *value) {
  if (!o || !name || !value)
    return lsp_fail(LSP_EINVAL, "options: NULL argument");
  if (!name_ok(name))
    return lsp_fail(LSP_EINVAL,
                    "options: '%s' is not an option name ([a-z][a-z0-9_]*)",
                    name);
  if (strlen(name) > NAME_MAX_LEN)
    return lsp_fail(LSP_EINVAL,
                    "options: option name '%.20s...' is too long (%zu "
                    "characters; the limit is %d)",
                    name, strlen(name), NAME_MAX_LEN);
  char *v = strdup(value);
  if (!v) return lsp_fail(LSP_ENOMEM, "out of memory for options");
  for (size_t i = 0; i < o->n; i++)
    if (strcmp(o->name[i], name) == 0) {
      free(o->value[i]);
      o->value[i] = v;
      return LSP_OK;
    }
  if (o->n == o->cap) {
    size_t cap = o->cap ? 2 * o->cap : 8;
    char **nn = realloc(o->name, cap * sizeof *nn);
    if (nn) o->name = nn;
    char **nv = nn ? realloc(o->value, cap * sizeof *nv) : NULL;
    if (nv) o->value = nv;
    if (!nn || !nv) {
      free(v);
      return lsp_fail(LSP_ENOMEM, "out of memory for options");
    }
    o->cap = cap;
  }
  if (!(o->name[o->n] = strdup(name))) {
    free(v);
    return lsp_fail(LSP_ENOMEM, "out of memory for options");
  }
  o->value[o->n++] = v;
  return LSP_OK;
}

const char *lsp_api_opt(const lsp_opts *o, const char *name) {
  if (!o) return NULL;
  for (size_t i = 0; i < o->n; i++)
    if (strcmp(o->name[i], name) == 0) return o->value[i];
  return NULL;
}

int lsp_api_opts_known(const char *fn, const lsp_opts *o,
                       const char *const *known) {
  if (!o) return LSP_OK;
  for (size_t i = 0; i < o->n; i++) {
    int found = 0;
    for (const char *const *k = known; *k && !found; k++)
      found = strcmp(*k, o->name[i]) == 0;
    if (found) continue;
    char list[512] = "";
    size_t len = 0;
    for (const char *const *k = known; *k && len + 1 < sizeof list; k++)
      len += (size_t)snprintf(list + len, sizeof list - len, "%s%s",
                              k == known ? "" : ", ", *k);
    if (!*known)
      return lsp_fail(LSP_EINVAL, "%s: unknown option '%s' (it takes none)", fn,
                      o->name[i]);
    return lsp_fail(LSP_EINVAL, "%s: unknown option '%s' (it takes %s)", fn,
                    o->name[i], list);
  }
  return LSP_OK;
}

/* Whether the value has blanks at either end (strtol and strtod would skip
 * the leading ones): refused, with its own message, for every number. */
static int blank_ends(const char *fn, const char *name, const char *s) {
  size_t n = strlen(s);
  if (!n || !(isspace((unsigned char)s[0]) || isspace((unsigned char)s[n - 1])))
    return LSP_OK;
  return lsp_fail(LSP_EINVAL,
                  "%s: option %s = '%s' has blanks around the number (write "
                  "the number alone)",
                  fn, name, s);
}

int lsp_api_opt_long(const char *fn, const lsp_opts *o, const char *name,
                     long def, long lo, long hi, long *out) {
  const char *s = lsp_api_opt(o, name);
  if (!s) {
    *out = def;
    return LSP_OK;
  }
  int st = blank_ends(fn, name, s);
  if (st) return st;
  char *end = NULL;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (!*s || *end || errno || v < lo || v > hi)
    return lsp_fail(LSP_EINVAL,
                    "%s: option %s = '%s' is not a whole number in [%ld, %ld]",
                    fn, name, s, lo, hi);
  *out = v;
  return LSP_OK;
}

int lsp_api_opt_double(const char *fn, const lsp_opts *o, const char *name,
                       double def, double lo, double hi, double *out) {
  const char *s = lsp_api_opt(o, name);
  if (!s) {
    *out = def;
    return LSP_OK;
  }
  int st = blank_ends(fn, name, s);
  if (st) return st;
  char *end = NULL;
  errno = 0;
  double v = strtod(s, &end);
  if (!*s || *end || errno || !isfinite(v) || v < lo || v > hi)
    return lsp_fail(LSP_EINVAL,
                    "%s: option %s = '%s' is not a number in [%g, %g]", fn,
                    name, s, lo, hi);
  *out = v;
  return LSP_OK;
}
