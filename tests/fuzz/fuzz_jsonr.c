/* libFuzzer harness: the strict JSON reader (core/formats/lsp_jsonr.h) on arbitrary
 * bytes. Every accepted document is walked, written back with the JSON
 * writer (core/formats/lsp_json.h) and read again: the two trees must be equal. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/formats/lsp_json.h"
#include "core/formats/lsp_jsonr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* depth of v; 0 for scalars; -1 if a string holds a NUL (the writer takes
 * C strings, so such documents are not written back) */
static int depth(const lsp_jsonr *v) {
  if (v->type == LSP_JSONR_STRING) return strlen(v->str) == v->len ? 0 : -1;
  if (v->type != LSP_JSONR_ARRAY && v->type != LSP_JSONR_OBJECT) return 0;
  int d = 0;
  for (size_t i = 0; i < v->len; i++) {
    int c = depth(v->items[i]);
    if (c < 0) return -1;
    if (c > d) d = c;
  }
  return d + 1;
}

static void write(lsp_json *j, const lsp_jsonr *v) {
  switch (v->type) {
    case LSP_JSONR_NULL: lsp_json_null(j); break;
    case LSP_JSONR_BOOL: lsp_json_bool(j, v->b); break;
    case LSP_JSONR_NUMBER: lsp_json_num(j, v->num); break;
    case LSP_JSONR_STRING: lsp_json_str(j, v->str); break;
    case LSP_JSONR_ARRAY:
      lsp_json_arr_begin(j);
      for (size_t i = 0; i < v->len; i++) write(j, v->items[i]);
      lsp_json_arr_end(j);
      break;
    case LSP_JSONR_OBJECT:
      lsp_json_obj_begin(j);
      for (size_t i = 0; i < v->len; i++) {
        lsp_json_key(j, v->keys[i]);
        write(j, v->items[i]);
      }
      lsp_json_obj_end(j);
      break;
  }
}

static int same(const lsp_jsonr *a, const lsp_jsonr *b) {
  if (a->type != b->type) return 0;
  switch (a->type) {
    case LSP_JSONR_NULL: return 1;
    case LSP_JSONR_BOOL: return a->b == b->b;
    case LSP_JSONR_NUMBER: return a->num == b->num;
    case LSP_JSONR_STRING: return a->len == b->len && !memcmp(a->str, b->str, a->len);
    default:
      if (a->len != b->len) return 0;
      for (size_t i = 0; i < a->len; i++) {
        if (a->type == LSP_JSONR_OBJECT && strcmp(a->keys[i], b->keys[i])) return 0;
        if (!same(a->items[i], b->items[i])) return 0;
      }
      return 1;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lsp_jsonr_doc *d = NULL;
  if (lsp_jsonr_parse((const char *)data, size, "fuzz", &d)) return 0;
  const lsp_jsonr *root = lsp_jsonr_root(d);
  int dep = depth(root);
  if (dep >= 0 && dep < LSP_JSON_MAXDEPTH) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (f) {
      lsp_json j;
      lsp_json_init(&j, f, 0);
      write(&j, root);
      int bad = lsp_json_finish(&j);
      fclose(f);
      lsp_jsonr_doc *d2 = NULL;
      if (bad || lsp_jsonr_parse(buf, len, "rewritten", &d2) || !same(root, lsp_jsonr_root(d2)))
        abort();
      lsp_jsonr_free(d2);
      free(buf);
    }
  }
  lsp_jsonr_free(d);
  return 0;
}
