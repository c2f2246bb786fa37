/* lsp_manifest.c — the output folder's manifest (lsp_manifest.h). */
#define _POSIX_C_SOURCE 200809L
#include "reports/lsp_manifest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"

void lsp_manifest_init(lsp_manifest *m, const char *kind) {
  memset(m, 0, sizeof *m);
  snprintf(m->kind, sizeof m->kind, "%s", kind ? kind : "");
}

void lsp_manifest_release(lsp_manifest *m) {
  if (!m) return;
  for (size_t i = 0; i < m->n; i++) {
    free(m->e[i].path);
    free(m->e[i].to);
  }
  free(m->e);
  m->e = NULL;
  m->n = m->cap = 0;
}

int lsp_manifest_clean_path(const char *p) {
  if (!p || !*p || *p == '/') return 0;
  for (const char *s = p; *s;) {
    const char *e = strchr(s, '/');
    size_t n = e ? (size_t)(e - s) : strlen(s);
    if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.')) return 0;
    if (!e) break;
    s = e + 1;
    if (!*s) return 0; /* trailing '/' */
  }
  return 1;
}

int lsp_manifest_add(lsp_manifest *m, char type, const char *path, const char *to) {
  if ((type != 'f' && type != 'd' && type != 'k') || !lsp_manifest_clean_path(path) ||
      (type == 'k') != (to != NULL) || (to && !lsp_manifest_clean_path(to)))
    return lsp_fail(LSP_EINVAL, "manifest: bad record '%c %s'", type, path ? path : "");
  if (m->n == m->cap) {
    size_t cap = m->cap ? 2 * m->cap : 32;
    lsp_manifest_entry *ne = realloc(m->e, cap * sizeof *ne);
    if (!ne) return lsp_fail(LSP_ENOMEM, "out of memory");
    m->e = ne;
    m->cap = cap;
  }
  lsp_manifest_entry *x = &m->e[m->n];
  x->type = type;
  x->path = strdup(path);
  x->to = to ? strdup(to) : NULL;
  if (!x->path || (to && !x->to)) {
    free(x->path);
    free(x->to);
    return lsp_fail(LSP_ENOMEM, "out of memory");
  }
  m->n++;
  return LSP_OK;
}

/* Owned records ('d', 'f') sort before kept pairs, each by path, so one
 * binary search per class finds a path. */
static int cls(char t) { return t == 'k'; }
static int cmp_entry(const void *a, const void *b) {
  const lsp_manifest_entry *x = a, *y = b;
  if (cls(x->type) != cls(y->type)) return cls(x->type) - cls(y->type);
  return strcmp(x->path, y->path);
}

void lsp_manifest_sort(lsp_manifest *m) {
  if (m->n) qsort(m->e, m->n, sizeof *m->e, cmp_entry);
}

static const lsp_manifest_entry *find(const lsp_manifest *m, int c, const char *path) {
  if (!m) return NULL;
  size_t lo = 0, hi = m->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    const lsp_manifest_entry *x = &m->e[mid];
    int d = cls(x->type) != c ? cls(x->type) - c : strcmp(x->path, path);
    if (d == 0) return x;
    if (d < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

char lsp_manifest_owned(const lsp_manifest *m, const char *path) {
  const lsp_manifest_entry *x = find(m, 0, path);
  return x ? x->type : 0;
}

const char *lsp_manifest_kept(const lsp_manifest *m, const char *path) {
  const lsp_manifest_entry *x = find(m, 1, path);
  return x ? x->to : NULL;
}

/* ---- text ------------------------------------------------------------------- */

static int needs_escape(unsigned char c) { return c < 0x21 || c == 0x7f || c == '%'; }

static void put_escaped(FILE *f, const char *s) {
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    if (needs_escape(*p))
      fprintf(f, "%%%02X", *p);
    else
      fputc(*p, f);
}

int lsp_manifest_format(const lsp_manifest *m, char **text, size_t *len) {
  *text = NULL;
  *len = 0;
  FILE *f = open_memstream(text, len);
  if (!f) return lsp_fail(LSP_ENOMEM, "out of memory");
  fprintf(f, "lsprobe-manifest %d\nkind ", LSP_MANIFEST_VERSION);
  put_escaped(f, m->kind);
  fputs("\nstage ", f);
  if (m->stage[0])
    put_escaped(f, m->stage);
  else
    fputc('-', f);
  fputc('\n', f);
  for (size_t i = 0; i < m->n; i++) {
    fprintf(f, "%c ", m->e[i].type);
    put_escaped(f, m->e[i].path);
    if (m->e[i].to) {
      fputc(' ', f);
      put_escaped(f, m->e[i].to);
    }
    fputc('\n', f);
  }
  if (fclose(f) != 0 || !*text) {
    free(*text);
    *text = NULL;
    return lsp_fail(LSP_ENOMEM, "out of memory");
  }
  return LSP_OK;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* Decode one space-free field s[0..n) into a new string; NULL if a %XX is
 * malformed, decodes to NUL, or memory runs out. */
static char *unescape(const char *s, size_t n) {
  char *o = malloc(n + 1);
  if (!o) return NULL;
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] != '%') {
      o[k++] = s[i];
      continue;
    }
    int a = i + 2 < n ? hexval(s[i + 1]) : -1, b = i + 2 < n ? hexval(s[i + 2]) : -1;
    if (a < 0 || b < 0 || (a == 0 && b == 0)) {
      free(o);
      return NULL;
    }
    o[k++] = (char)(a * 16 + b);
    i += 2;
  }
  o[k] = '\0';
  return o;
}

int lsp_manifest_parse(const char *text, size_t len, const char *name, lsp_manifest *m) {
  lsp_manifest_init(m, "");
  const char *p = text, *end = text + len;
  int line = 0, st = LSP_OK, have_kind = 0, have_stage = 0;
  while (p < end && !st) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl) {
      st = lsp_fail(LSP_EDATA, "%s:%d: the last line is not ended (a truncated file?)", name,
                    line + 1);
      break;
    }
    line++;
    const char *sp = memchr(p, ' ', (size_t)(nl - p));
    const char *f1 = sp ? sp + 1 : nl;
    const char *sp2 = sp ? memchr(f1, ' ', (size_t)(nl - f1)) : NULL;
    size_t kl = (size_t)((sp ? sp : nl) - p);
    size_t l1 = (size_t)((sp2 ? sp2 : nl) - f1);
    char *a = sp ? unescape(f1, l1) : NULL;
    char *b = sp2 ? unescape(sp2 + 1, (size_t)(nl - sp2 - 1)) : NULL;
    if (line == 1) {
      if (kl != 16 || memcmp(p, "lsprobe-manifest", 16) != 0 || !a || sp2)
        st = lsp_fail(LSP_EDATA, "%s:1: not an lsprobe manifest", name);
      else if (strcmp(a, "1") != 0)
        st = lsp_fail(LSP_EDATA, "%s:1: manifest format %s is not known to this lsprobe (%d)",
                      name, a, LSP_MANIFEST_VERSION);
    } else if (!a || (sp2 && (!b || kl != 1 || *p != 'k'))) {
      st = lsp_fail(LSP_EDATA, "%s:%d: malformed line", name, line);
    } else if (kl == 4 && !memcmp(p, "kind", 4)) {
      if (strlen(a) >= sizeof m->kind) st = lsp_fail(LSP_EDATA, "%s:%d: bad kind", name, line);
      else snprintf(m->kind, sizeof m->kind, "%s", a);
      have_kind = 1;
    } else if (kl == 5 && !memcmp(p, "stage", 5)) {
      if (strlen(a) >= sizeof m->stage) st = lsp_fail(LSP_EDATA, "%s:%d: bad stage", name, line);
      else snprintf(m->stage, sizeof m->stage, "%s", strcmp(a, "-") ? a : "");
      have_stage = 1;
    } else if (kl == 1 && (*p == 'f' || *p == 'd' || *p == 'k') && (*p == 'k') == (b != NULL)) {
      st = lsp_manifest_add(m, *p, a, b);
      if (st == LSP_EINVAL)
        st = lsp_fail(LSP_EDATA, "%s:%d: not a clean relative path", name, line);
    } else {
      st = lsp_fail(LSP_EDATA, "%s:%d: unknown record", name, line);
    }
    free(a);
    free(b);
    p = nl + 1;
  }
  if (!st && line == 0) st = lsp_fail(LSP_EDATA, "%s: empty manifest", name);
  if (!st && (!have_kind || !have_stage))
    st = lsp_fail(LSP_EDATA, "%s: the kind or stage line is missing", name);
  if (st) {
    lsp_manifest_release(m);
    return st;
  }
  lsp_manifest_sort(m);
  return LSP_OK;
}
