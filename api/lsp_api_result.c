/* lsp_api_result.c — results as JSON documents (lsprobe/result.h): written
 * in memory with the same JSON writers the command uses, parsed back once
 * with the strict reader, and read by path. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/lsp_api_int.h"
#include "core/base/lsp_error.h"
#include "core/formats/lsp_jsonr.h"

struct lsp_result {
  char *json;         /* owned: the compact JSON text, NUL-terminated */
  lsp_jsonr_doc *doc; /* owned: the same, parsed                      */
};

int lsp_api_doc_open(lsp_api_doc *d) {
  memset(d, 0, sizeof *d);
  d->fp = open_memstream(&d->buf, &d->len);
  if (!d->fp) return lsp_fail(LSP_ENOMEM, "out of memory for a result");
  lsp_json_init(&d->j, d->fp, 0);
  lsp_json_obj_begin(&d->j);
  return LSP_OK;
}

void lsp_api_doc_abort(lsp_api_doc *d) {
  if (d->fp) fclose(d->fp);
  free(d->buf);
  memset(d, 0, sizeof *d);
}

int lsp_api_doc_close(lsp_api_doc *d, lsp_result **out) {
  *out = NULL;
  lsp_json_obj_end(&d->j);
  int bad = lsp_json_finish(&d->j);
  int closed = fclose(d->fp);
  d->fp = NULL;
  if (bad || closed) {
    lsp_api_doc_abort(d);
    return lsp_fail(LSP_ENOMEM, "could not write the result (out of memory?)");
  }
  while (d->len && (d->buf[d->len - 1] == '\n')) d->buf[--d->len] = '\0';
  lsp_result *r = calloc(1, sizeof *r);
  if (!r) {
    lsp_api_doc_abort(d);
    return lsp_fail(LSP_ENOMEM, "out of memory for a result");
  }
  int st = lsp_jsonr_parse(d->buf, d->len, "result", &r->doc);
  if (st) { /* the writers only write valid JSON: this is a bug, say so */
    lsp_fail_prefix(st, "internal error: result is not valid JSON");
    free(r);
    lsp_api_doc_abort(d);
    return st;
  }
  r->json = d->buf;
  d->buf = NULL;
  *out = r;
  return LSP_OK;
}

const char *lsp_result_json(const lsp_result *r) {
  return r ? r->json : NULL;
}

void lsp_result_free(lsp_result *r) {
  if (!r) return;
  lsp_jsonr_free(r->doc);
  free(r->json);
  free(r);
}

/* Walk `path` (names joined by '.', [i] for array elements). */
int lsp_result_number(const lsp_result *r, const char *path, double *out) {
  if (!r || !path || !out) return lsp_fail(LSP_EINVAL, "result: NULL argument");
  const lsp_jsonr *v = lsp_jsonr_root(r->doc);
  const char *p = path;
  char name[128];
  while (*p) {
    if (*p == '[') {
      /* digits only: strtoull would also take a sign or blanks ("[-1]") */
      size_t nd = strspn(p + 1, "0123456789");
      if (nd == 0 || p[1 + nd] != ']')
        return lsp_fail(LSP_EINVAL, "result: '%s': malformed index at '%s'",
                        path, p);
      errno = 0;
      unsigned long long i = strtoull(p + 1, NULL, 10);
      if (v->type != LSP_JSONR_ARRAY || errno || i >= lsp_jsonr_len(v))
        return lsp_fail(LSP_EINVAL, "result: %s%.*s%s has no element %.*s",
                        p == path ? "the result (an object)" : "'",
                        (int)(p - path), path, p == path ? "" : "'", (int)nd,
                        p + 1);
      v = lsp_jsonr_at(v, (size_t)i);
      p += nd + 2;
      if (*p == '.') {
        p++;
        if (!*p)
          return lsp_fail(LSP_EINVAL, "result: '%s': path ends with '.'", path);
      } else if (*p && *p != '[') {
        return lsp_fail(LSP_EINVAL,
                        "result: '%s': malformed path at '%s' (a '.' or '[' "
                        "must follow ']')",
                        path, p);
      }
      continue;
    }
    size_t len = strcspn(p, ".[");
    if (len == 0 || len >= sizeof name)
      return lsp_fail(LSP_EINVAL, "result: '%s': malformed path at '%s'", path,
                      p);
    memcpy(name, p, len);
    name[len] = '\0';
    const lsp_jsonr *next = lsp_jsonr_get(v, name);
    if (!next)
      return lsp_fail(LSP_EINVAL, "result: no member '%s'%s%.*s", name,
                      p == path ? "" : " in ",
                      (int)(p == path ? 0 : p - path - 1), path);
    v = next;
    p += len;
    if (*p == '.') {
      p++;
      if (!*p)
        return lsp_fail(LSP_EINVAL, "result: '%s': path ends with '.'", path);
    }
  }
  if (v->type == LSP_JSONR_NULL) {
    *out = NAN;
    return LSP_OK;
  }
  if (v->type == LSP_JSONR_BOOL) {
    *out = v->b ? 1.0 : 0.0;
    return LSP_OK;
  }
  if (v->type != LSP_JSONR_NUMBER)
    return lsp_fail(
        LSP_EINVAL, "result: '%s' is %s %s, not a number", path,
        v->type == LSP_JSONR_ARRAY || v->type == LSP_JSONR_OBJECT ? "an" : "a",
        lsp_jsonr_type_name(v->type));
  *out = v->num;
  return LSP_OK;
}
