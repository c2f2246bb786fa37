#include "core/formats/lsp_json.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/base/lsp_util.h"

void lsp_json_init(lsp_json *j, FILE *fp, int pretty) {
  memset(j, 0, sizeof *j);
  j->fp = fp;
  j->pretty = pretty;
}

static void newline(lsp_json *j) {
  if (!j->pretty) return;
  fputc('\n', j->fp);
  for (int i = 0; i < j->depth; i++) fputs("  ", j->fp);
}

/* Before any value or key: the separating comma and indentation. */
static void pre_item(lsp_json *j) {
  if (j->after_key) {
    j->after_key = 0;
    return;
  }
  if (j->depth > 0) {
    if (j->count[j->depth - 1] > 0) fputc(',', j->fp);
    j->count[j->depth - 1]++;
    newline(j);
  }
}

static void open_(lsp_json *j, char c) {
  pre_item(j);
  fputc(c, j->fp);
  if (j->depth >= LSP_JSON_MAXDEPTH) {
    j->error = 1;
    return;
  }
  j->count[j->depth++] = 0;
}

static void close_(lsp_json *j, char c) {
  if (j->depth <= 0 || j->after_key) {
    j->error = 1;
    return;
  }
  int had = j->count[j->depth - 1];
  j->depth--;
  if (had) newline(j);
  fputc(c, j->fp);
}

void lsp_json_obj_begin(lsp_json *j) { open_(j, '{'); }
void lsp_json_obj_end(lsp_json *j) { close_(j, '}'); }
void lsp_json_arr_begin(lsp_json *j) { open_(j, '['); }
void lsp_json_arr_end(lsp_json *j) { close_(j, ']'); }

/* One step of the escape: the JSON text for the character at p in buf
 * (NUL-terminated), the bytes it takes from p in *used. Control characters
 * and DEL are escaped; a byte that starts no well-formed UTF-8 sequence
 * becomes U+FFFD, so the output is always valid UTF-8 JSON. */
static void escape_at(const unsigned char *p, char buf[8], size_t *used) {
  unsigned char c = *p;
  *used = 1;
  if (c == '"' || c == '\\') snprintf(buf, 8, "\\%c", c);
  else if (c == '\n') snprintf(buf, 8, "\\n");
  else if (c == '\t') snprintf(buf, 8, "\\t");
  else if (c == '\r') snprintf(buf, 8, "\\r");
  else if (c < 0x20 || c == 0x7f) snprintf(buf, 8, "\\u%04x", c);
  else if (c < 0x80) snprintf(buf, 8, "%c", c);
  else if ((*used = lsp_utf8_len(p)) != 0) {
    memcpy(buf, p, *used);
    buf[*used] = '\0';
  } else {
    *used = 1;
    snprintf(buf, 8, "\\ufffd");
  }
}

size_t lsp_json_escape(const char *s, char *out, size_t cap) {
  size_t n = 0, used;
  char buf[8];
  for (const unsigned char *p = (const unsigned char *)s; *p; p += used) {
    escape_at(p, buf, &used);
    for (const char *b = buf; *b; b++) {
      if (n + 1 < cap) out[n] = *b;
      n++;
    }
  }
  if (cap) out[n < cap ? n : cap - 1] = '\0';
  return n + 1;
}

static void put_string(lsp_json *j, const char *s) {
  size_t used;
  char buf[8];
  fputc('"', j->fp);
  for (const unsigned char *p = (const unsigned char *)s; *p; p += used) {
    escape_at(p, buf, &used);
    fputs(buf, j->fp);
  }
  fputc('"', j->fp);
}

void lsp_json_key(lsp_json *j, const char *key) {
  if (j->depth <= 0 || j->after_key) j->error = 1;
  pre_item(j);
  put_string(j, key);
  fputs(j->pretty ? ": " : ":", j->fp);
  j->after_key = 1;
}

void lsp_json_num(lsp_json *j, double x) {
  pre_item(j);
  if (!isfinite(x)) {
    fputs("null", j->fp);
    return;
  }
  char buf[40];
  lsp_shortest_g(x, buf, sizeof buf);
  fputs(buf, j->fp);
}

void lsp_json_int(lsp_json *j, long long x) {
  pre_item(j);
  fprintf(j->fp, "%lld", x);
}

void lsp_json_str(lsp_json *j, const char *s) {
  pre_item(j);
  if (!s)
    fputs("null", j->fp);
  else
    put_string(j, s);
}

void lsp_json_bool(lsp_json *j, int b) {
  pre_item(j);
  fputs(b ? "true" : "false", j->fp);
}

void lsp_json_null(lsp_json *j) {
  pre_item(j);
  fputs("null", j->fp);
}

void lsp_json_key_num(lsp_json *j, const char *key, double x) {
  lsp_json_key(j, key);
  lsp_json_num(j, x);
}
void lsp_json_key_int(lsp_json *j, const char *key, long long x) {
  lsp_json_key(j, key);
  lsp_json_int(j, x);
}
void lsp_json_key_str(lsp_json *j, const char *key, const char *s) {
  lsp_json_key(j, key);
  lsp_json_str(j, s);
}
void lsp_json_key_bool(lsp_json *j, const char *key, int b) {
  lsp_json_key(j, key);
  lsp_json_bool(j, b);
}

void lsp_json_key_nums(lsp_json *j, const char *key, const double *x,
                       size_t n) {
  lsp_json_key(j, key);
  int pretty = j->pretty;
  j->pretty = 0; /* short arrays on one line */
  lsp_json_arr_begin(j);
  for (size_t i = 0; i < n; i++) lsp_json_num(j, x[i]);
  lsp_json_arr_end(j);
  j->pretty = pretty;
}

int lsp_json_finish(lsp_json *j) {
  if (j->depth != 0 || j->after_key) j->error = 1;
  fputc('\n', j->fp);
  if (ferror(j->fp)) j->error = 1;
  return j->error;
}
