/* lsp_jsonr.c — strict JSON reader into an arena-owned tree (lsp_jsonr.h). */
#define _POSIX_C_SOURCE 200809L
#include "core/formats/lsp_jsonr.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"

/* ---- arena: every node, string and child array of a document ------------ */

typedef struct block {
  struct block *next;
  size_t used, cap;
  max_align_t data[];
} block;

struct lsp_jsonr_doc {
  block *blocks;
  lsp_jsonr *root;
  char *source;
};

static void *arena_alloc(lsp_jsonr_doc *d, size_t n) {
  n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
  if (n == 0) n = sizeof(max_align_t);
  block *b = d->blocks;
  if (!b || b->cap - b->used < n) {
    size_t cap = n > 65536 ? n : 65536;
    b = malloc(sizeof *b + cap);
    if (!b) return NULL;
    b->cap = cap;
    b->used = 0;
    b->next = d->blocks;
    d->blocks = b;
  }
  void *p = (char *)b->data + b->used;
  b->used += n;
  return p;
}

/* ---- the parser ---------------------------------------------------------- */

typedef struct {
  const char *s, *end, *p;
  const char *line_start;
  int line;
  lsp_jsonr_doc *doc;
  int depth;
} parser;

static int perr(parser *ps, const char *what) {
  int col = (int)(ps->p - ps->line_start) + 1;
  return lsp_fail(LSP_EDATA, "%s:%d:%d: %s", ps->doc->source, ps->line, col, what);
}

static void skip_ws(parser *ps) {
  while (ps->p < ps->end) {
    char c = *ps->p;
    if (c == '\n') {
      ps->p++;
      ps->line++;
      ps->line_start = ps->p;
    } else if (c == ' ' || c == '\t' || c == '\r') {
      ps->p++;
    } else {
      break;
    }
  }
}

static lsp_jsonr *new_node(parser *ps, lsp_jsonr_type t) {
  lsp_jsonr *v = arena_alloc(ps->doc, sizeof *v);
  if (!v) return NULL;
  memset(v, 0, sizeof *v);
  v->type = t;
  v->line = ps->line;
  v->col = (int)(ps->p - ps->line_start) + 1;
  return v;
}

static int parse_value(parser *ps, lsp_jsonr **out);

static int hex4(const char *p, unsigned *out) {
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    char c = p[i];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
    else return -1;
  }
  *out = v;
  return 0;
}

static size_t put_utf8(char *o, unsigned cp) {
  if (cp < 0x80) {
    o[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    o[0] = (char)(0xC0 | (cp >> 6));
    o[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    o[0] = (char)(0xE0 | (cp >> 12));
    o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  o[0] = (char)(0xF0 | (cp >> 18));
  o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  o[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

/* Length of a valid UTF-8 sequence starting at p (0 if invalid). */
static size_t utf8_len(const unsigned char *p, const unsigned char *end) {
  unsigned c = p[0];
  size_t n;
  unsigned min;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) n = 2, min = 0x80, c &= 0x1F;
  else if ((c & 0xF0) == 0xE0) n = 3, min = 0x800, c &= 0x0F;
  else if ((c & 0xF8) == 0xF0) n = 4, min = 0x10000, c &= 0x07;
  else return 0;
  if ((size_t)(end - p) < n) return 0;
  for (size_t i = 1; i < n; i++) {
    if ((p[i] & 0xC0) != 0x80) return 0;
    c = (c << 6) | (p[i] & 0x3F);
  }
  if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
  return n;
}

/* A string starting at the opening quote; the decoded bytes go to the arena. */
static int parse_string(parser *ps, char **out, size_t *out_len) {
  const char *start = ++ps->p;
  /* decoded text is never longer than the source */
  const char *q = start;
  while (q < ps->end && *q != '"') q += (*q == '\\' && q + 1 < ps->end) ? 2 : 1;
  if (q >= ps->end) return perr(ps, "unterminated string");
  char *buf = arena_alloc(ps->doc, (size_t)(q - start) + 1);
  if (!buf) return lsp_fail(LSP_ENOMEM, "out of memory");
  size_t n = 0;
  while (ps->p < ps->end) {
    unsigned char c = (unsigned char)*ps->p;
    if (c == '"') {
      ps->p++;
      buf[n] = 0;
      *out = buf;
      *out_len = n;
      return LSP_OK;
    }
    if (c < 0x20) return perr(ps, "control character in a string (escape it)");
    if (c == '\\') {
      if (ps->end - ps->p < 2) return perr(ps, "unterminated string");
      char e = ps->p[1];
      const char *map = "\"\\/bfnrt", *rep = "\"\\/\b\f\n\r\t";
      const char *hit = strchr(map, e);
      if (e && hit) {
        buf[n++] = rep[hit - map];
        ps->p += 2;
        continue;
      }
      if (e != 'u') return perr(ps, "bad escape in a string");
      unsigned cp, lo;
      if (ps->end - ps->p < 6 || hex4(ps->p + 2, &cp)) return perr(ps, "bad \\u escape (4 hex digits)");
      ps->p += 6;
      if (cp >= 0xDC00 && cp <= 0xDFFF) return perr(ps, "lone low surrogate in a \\u escape");
      if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (ps->end - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u' || hex4(ps->p + 2, &lo) ||
            lo < 0xDC00 || lo > 0xDFFF)
          return perr(ps, "high surrogate not followed by a low one");
        ps->p += 6;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
      }
      n += put_utf8(buf + n, cp);
      continue;
    }
    size_t k = utf8_len((const unsigned char *)ps->p, (const unsigned char *)ps->end);
    if (!k) return perr(ps, "invalid UTF-8 in a string");
    memcpy(buf + n, ps->p, k);
    n += k;
    ps->p += k;
  }
  return perr(ps, "unterminated string");
}

static int parse_number(parser *ps, lsp_jsonr *v) {
  const char *p = ps->p, *e = ps->end;
  if (p < e && *p == '-') p++;
  if (p >= e || *p < '0' || *p > '9') return perr(ps, "invalid number");
  if (*p == '0') p++;
  else
    while (p < e && *p >= '0' && *p <= '9') p++;
  if (p < e && *p == '.') {
    p++;
    if (p >= e || *p < '0' || *p > '9') return perr(ps, "invalid number (digit expected after '.')");
    while (p < e && *p >= '0' && *p <= '9') p++;
  }
  if (p < e && (*p == 'e' || *p == 'E')) {
    p++;
    if (p < e && (*p == '+' || *p == '-')) p++;
    if (p >= e || *p < '0' || *p > '9') return perr(ps, "invalid number (exponent digits)");
    while (p < e && *p >= '0' && *p <= '9') p++;
  }
  size_t n = (size_t)(p - ps->p);
  char tmp[64], *heap = NULL, *txt = tmp;
  if (n >= sizeof tmp) {
    heap = malloc(n + 1);
    if (!heap) return lsp_fail(LSP_ENOMEM, "out of memory");
    txt = heap;
  }
  memcpy(txt, ps->p, n);
  txt[n] = 0;
  errno = 0;
  double x = strtod(txt, NULL);
  int range = errno == ERANGE && fabs(x) > 1.0; /* underflow to 0 is fine */
  free(heap);
  if (range || !isfinite(x)) return perr(ps, "number out of the range of a double");
  v->num = x;
  ps->p = p;
  return LSP_OK;
}

/* Growable list of children while an array/object is read. */
typedef struct {
  lsp_jsonr **items;
  char **keys;
  size_t n, cap;
} kids;

static int kids_push(kids *k, char *key, lsp_jsonr *v) {
  if (k->n == k->cap) {
    size_t cap = k->cap ? 2 * k->cap : 8;
    lsp_jsonr **it = realloc(k->items, cap * sizeof *it);
    if (!it) return lsp_fail(LSP_ENOMEM, "out of memory");
    k->items = it;
    char **ks = realloc(k->keys, cap * sizeof *ks);
    if (!ks) return lsp_fail(LSP_ENOMEM, "out of memory");
    k->keys = ks;
    k->cap = cap;
  }
  k->items[k->n] = v;
  k->keys[k->n] = key;
  k->n++;
  return LSP_OK;
}

static int parse_container(parser *ps, lsp_jsonr *v) {
  int obj = v->type == LSP_JSONR_OBJECT;
  char close = obj ? '}' : ']';
  if (++ps->depth > LSP_JSONR_MAXDEPTH) return perr(ps, "nesting too deep");
  ps->p++;
  kids k = {0};
  int st = LSP_OK;
  skip_ws(ps);
  if (ps->p < ps->end && *ps->p == close) {
    ps->p++;
    goto done;
  }
  for (;;) {
    char *key = NULL;
    size_t klen = 0;
    skip_ws(ps);
    if (obj) {
      if (ps->p >= ps->end || *ps->p != '"') {
        st = perr(ps, ps->p < ps->end && *ps->p == '}' ? "trailing comma in an object"
                                                        : "expected a string key in an object");
        goto done;
      }
      if ((st = parse_string(ps, &key, &klen))) goto done;
      if (strlen(key) != klen) {
        st = perr(ps, "object key contains \\u0000");
        goto done;
      }
      for (size_t i = 0; i < k.n; i++)
        if (!strcmp(k.keys[i], key)) {
          st = perr(ps, "duplicate key in an object");
          goto done;
        }
      skip_ws(ps);
      if (ps->p >= ps->end || *ps->p != ':') {
        st = perr(ps, "expected ':' after an object key");
        goto done;
      }
      ps->p++;
      skip_ws(ps);
    } else if (ps->p < ps->end && *ps->p == ']') {
      st = perr(ps, "trailing comma in an array");
      goto done;
    }
    lsp_jsonr *child = NULL;
    if ((st = parse_value(ps, &child))) goto done;
    if ((st = kids_push(&k, key, child))) goto done;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ',') {
      ps->p++;
      continue;
    }
    if (ps->p < ps->end && *ps->p == close) {
      ps->p++;
      break;
    }
    st = perr(ps, obj ? "expected ',' or '}' in an object" : "expected ',' or ']' in an array");
    goto done;
  }
done:
  if (st == LSP_OK && k.n) {
    v->items = arena_alloc(ps->doc, k.n * sizeof *v->items);
    if (!v->items) st = lsp_fail(LSP_ENOMEM, "out of memory");
    else memcpy(v->items, k.items, k.n * sizeof *v->items);
    if (st == LSP_OK && obj) {
      v->keys = arena_alloc(ps->doc, k.n * sizeof *v->keys);
      if (!v->keys) st = lsp_fail(LSP_ENOMEM, "out of memory");
      else memcpy(v->keys, k.keys, k.n * sizeof *v->keys);
    }
    v->len = k.n;
  }
  free(k.items);
  free(k.keys);
  ps->depth--;
  return st;
}

static int literal(parser *ps, const char *word) {
  size_t n = strlen(word);
  if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0) return 0;
  ps->p += n;
  return 1;
}

static int parse_value(parser *ps, lsp_jsonr **out) {
  skip_ws(ps);
  if (ps->p >= ps->end) return perr(ps, "unexpected end of input (a value was expected)");
  char c = *ps->p;
  lsp_jsonr *v;
  int st = LSP_OK;
  switch (c) {
    case '{':
    case '[':
      if (!(v = new_node(ps, c == '{' ? LSP_JSONR_OBJECT : LSP_JSONR_ARRAY))) goto oom;
      st = parse_container(ps, v);
      break;
    case '"':
      if (!(v = new_node(ps, LSP_JSONR_STRING))) goto oom;
      st = parse_string(ps, &v->str, &v->len);
      break;
    case 't':
    case 'f':
    case 'n':
      if (!(v = new_node(ps, c == 'n' ? LSP_JSONR_NULL : LSP_JSONR_BOOL))) goto oom;
      if (literal(ps, "true")) v->b = 1;
      else if (literal(ps, "false")) v->b = 0;
      else if (!literal(ps, "null")) return perr(ps, "invalid literal (true, false or null expected)");
      break;
    default:
      if (c == '-' || (c >= '0' && c <= '9')) {
        if (!(v = new_node(ps, LSP_JSONR_NUMBER))) goto oom;
        st = parse_number(ps, v);
      } else if (c == 'N' || c == 'I') {
        return perr(ps, "NaN and Infinity are not JSON");
      } else {
        return perr(ps, "unexpected character (a value was expected)");
      }
  }
  if (st) return st;
  *out = v;
  return LSP_OK;
oom:
  return lsp_fail(LSP_ENOMEM, "out of memory");
}

int lsp_jsonr_parse(const char *text, size_t len, const char *source, lsp_jsonr_doc **out) {
  if (!out || (!text && len)) return lsp_fail(LSP_EINVAL, "lsp_jsonr_parse: NULL argument");
  *out = NULL;
  if (!source) source = "<input>";
  if (len > LSP_JSONR_MAXBYTES)
    return lsp_fail(LSP_EDATA, "%s: too large for a JSON document (%zu bytes; limit %zu)", source,
                    len, LSP_JSONR_MAXBYTES);
  lsp_jsonr_doc *d = calloc(1, sizeof *d);
  if (!d || !(d->source = strdup(source))) {
    free(d);
    return lsp_fail(LSP_ENOMEM, "out of memory");
  }
  parser ps = {text ? text : "", (text ? text : "") + len, text ? text : "", text ? text : "",
               1, d, 0};
  /* a UTF-8 byte order mark before the value (a Windows editor's save),
   * which RFC 8259 lets a parser ignore; columns count from after it */
  if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3)) ps.p = ps.line_start = text + 3;
  int st = parse_value(&ps, &d->root);
  if (st == LSP_OK) {
    skip_ws(&ps);
    if (ps.p < ps.end) st = perr(&ps, "unexpected text after the JSON value");
  }
  if (st) {
    lsp_jsonr_free(d);
    return st;
  }
  *out = d;
  return LSP_OK;
}

int lsp_jsonr_read_file(const char *path, lsp_jsonr_doc **out) {
  if (!path || !out) return lsp_fail(LSP_EINVAL, "lsp_jsonr_read_file: NULL argument");
  struct stat sb;
  if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && (size_t)sb.st_size > LSP_JSONR_MAXBYTES)
    return lsp_fail(LSP_EDATA, "%s: too large for a JSON document (%lld bytes; limit %zu)", path,
                    (long long)sb.st_size, LSP_JSONR_MAXBYTES);
  char *buf = NULL;
  size_t len = 0;
  int st = lsp_read_file(path, &buf, &len);
  if (st) return st;
  st = lsp_jsonr_parse(buf, len, path, out);
  free(buf);
  return st;
}

void lsp_jsonr_free(lsp_jsonr_doc *d) {
  if (!d) return;
  for (block *b = d->blocks, *nx; b; b = nx) {
    nx = b->next;
    free(b);
  }
  free(d->source);
  free(d);
}

const lsp_jsonr *lsp_jsonr_root(const lsp_jsonr_doc *d) { return d ? d->root : NULL; }
const char *lsp_jsonr_source(const lsp_jsonr_doc *d) { return d ? d->source : "<input>"; }

/* ---- lookups ----------------------------------------------------------- */

const lsp_jsonr *lsp_jsonr_get(const lsp_jsonr *v, const char *key) {
  if (!v || !key || v->type != LSP_JSONR_OBJECT) return NULL;
  for (size_t i = 0; i < v->len; i++)
    if (!strcmp(v->keys[i], key)) return v->items[i];
  return NULL;
}

const lsp_jsonr *lsp_jsonr_at(const lsp_jsonr *v, size_t i) {
  if (!v || v->type != LSP_JSONR_ARRAY || i >= v->len) return NULL;
  return v->items[i];
}

size_t lsp_jsonr_len(const lsp_jsonr *v) {
  return v && (v->type == LSP_JSONR_ARRAY || v->type == LSP_JSONR_OBJECT) ? v->len : 0;
}

const char *lsp_jsonr_type_name(lsp_jsonr_type t) {
  static const char *names[] = {"null", "boolean", "number", "string", "array", "object"};
  return (unsigned)t < 6 ? names[t] : "unknown";
}

double lsp_jsonr_num_or(const lsp_jsonr *v, const char *key, double def) {
  const lsp_jsonr *m = lsp_jsonr_get(v, key);
  return m && m->type == LSP_JSONR_NUMBER ? m->num : def;
}

const char *lsp_jsonr_str_or(const lsp_jsonr *v, const char *key, const char *def) {
  const lsp_jsonr *m = lsp_jsonr_get(v, key);
  return m && m->type == LSP_JSONR_STRING ? m->str : def;
}

static int type_err(const lsp_jsonr_doc *d, const char *where, const char *key, const char *want,
                    const lsp_jsonr *m) {
  const char *dot = where && where[0] ? "." : "";
  if (!m)
    return lsp_fail(LSP_EDATA, "%s: field %s%s%s is missing", lsp_jsonr_source(d),
                    where ? where : "", dot, key);
  return lsp_fail(LSP_EDATA, "%s:%d:%d: field %s%s%s: expected %s, found %s", lsp_jsonr_source(d),
                  m->line, m->col, where ? where : "", dot, key, want,
                  lsp_jsonr_type_name(m->type));
}

int lsp_jsonr_need(const lsp_jsonr_doc *d, const lsp_jsonr *v, const char *where, const char *key,
                   lsp_jsonr_type t, const lsp_jsonr **out) {
  const lsp_jsonr *m = lsp_jsonr_get(v, key);
  if (!m || m->type != t) {
    char want[32];
    snprintf(want, sizeof want, "%s %s", t == LSP_JSONR_ARRAY || t == LSP_JSONR_OBJECT ? "an" : "a",
             lsp_jsonr_type_name(t));
    return type_err(d, where, key, want, m);
  }
  *out = m;
  return LSP_OK;
}

int lsp_jsonr_need_num(const lsp_jsonr_doc *d, const lsp_jsonr *v, const char *where,
                       const char *key, int null_ok, double *out) {
  const lsp_jsonr *m = lsp_jsonr_get(v, key);
  if (m && m->type == LSP_JSONR_NUMBER) {
    *out = m->num;
    return LSP_OK;
  }
  if (m && null_ok && m->type == LSP_JSONR_NULL) {
    *out = NAN;
    return LSP_OK;
  }
  return type_err(d, where, key, "a number", m);
}

int lsp_jsonr_need_str(const lsp_jsonr_doc *d, const lsp_jsonr *v, const char *where,
                       const char *key, int null_ok, const char **out) {
  const lsp_jsonr *m = lsp_jsonr_get(v, key);
  if (m && m->type == LSP_JSONR_STRING) {
    *out = m->str;
    return LSP_OK;
  }
  if (m && null_ok && m->type == LSP_JSONR_NULL) {
    *out = NULL;
    return LSP_OK;
  }
  return type_err(d, where, key, "a string", m);
}
