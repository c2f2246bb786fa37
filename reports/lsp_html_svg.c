/* lsp_html_svg.c — making an SVG safe and unique for inlining, and the
 * relative paths of linked files. */
#define _XOPEN_SOURCE 700 /* realpath */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/base/lsp_error.h"
#include "reports/lsp_html.h"

/* Case-insensitive search for needle in [s, end). */
static const char *find_ci(const char *s, const char *end, const char *needle) {
  size_t n = strlen(needle);
  for (; s + n <= end; s++)
    if (!strncasecmp(s, needle, n)) return s;
  return NULL;
}

/* An attribute `name=` at p, preceded by a blank (or ':' for xlink:href)? */
static int attr_at(const char *start, const char *p, const char *name) {
  size_t n = strlen(name);
  if (strncmp(p, name, n) != 0 || p[n] != '=') return 0;
  if (p == start) return 0;
  char b = p[-1];
  return isspace((unsigned char)b) || (b == ':' && !strcmp(name, "href"));
}

/* Refuse anything that could load, run or reach outside the picture. */
static int check_safe(const char *s, const char *end) {
  static const char *const bad[] = {"<script", "<foreignobject", "javascript:",
                                    "@import", "<iframe",        "<!entity"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (find_ci(s, end, bad[i]))
      return lsp_fail(LSP_EDATA, "SVG contains '%s'; refusing to inline it",
                      bad[i]);
  for (const char *p = s; p < end; p++) {
    /* event handler attributes: on<letters>= after a blank */
    if ((p[0] == 'o' || p[0] == 'O') && (p[1] == 'n' || p[1] == 'N') && p > s &&
        isspace((unsigned char)p[-1])) {
      const char *q = p + 2;
      while (q < end && isalpha((unsigned char)*q)) q++;
      if (q > p + 2 && q < end && *q == '=')
        return lsp_fail(LSP_EDATA,
                        "SVG has an event handler attribute; "
                        "refusing to inline it");
    }
    if (attr_at(s, p, "href") || attr_at(s, p, "src")) {
      const char *v = strchr(p, '=') + 1;
      if (v < end && (*v == '"' || *v == '\'')) v++;
      if (v >= end || *v != '#')
        return lsp_fail(LSP_EDATA,
                        "SVG has an external reference (%.40s); "
                        "refusing to inline it",
                        p);
    }
    if (!strncasecmp(p, "url(", 4)) {
      const char *v = p + 4;
      while (v < end && (*v == '\'' || *v == '"' || *v == ' ')) v++;
      if (v >= end || *v != '#')
        return lsp_fail(LSP_EDATA,
                        "SVG has an external url(); refusing to "
                        "inline it");
    }
  }
  return LSP_OK;
}

int lsp_html_svg_inline(const char *svg, size_t len, const char *prefix,
                        const char *title, char **out) {
  *out = NULL;
  const char *end = svg + len;
  const char *s = find_ci(svg, end, "<svg");
  const char *close = NULL;
  for (const char *p = s; p && (p = find_ci(p, end, "</svg>")); p += 6)
    close = p;
  if (!s || !close)
    return lsp_fail(LSP_EDATA, "not an SVG document (no <svg>...</svg>)");
  end = close + 6;
  int st = check_safe(s, end);
  if (st) return st;
  if (!prefix) prefix = "";

  char *buf = NULL;
  size_t blen = 0;
  FILE *f = open_memstream(&buf, &blen);
  if (!f) return lsp_fail(LSP_ENOMEM, "out of memory");
  int title_done = 0;
  fputs("<svg role=\"img\"", f);
  /* Shown at most 1.25x its natural size (96 px per inch): a one-panel
   * figure does not blow up to the page width, its text stays near the
   * body text's size. */
  const char *gt = memchr(s, '>', (size_t)(end - s));
  const char *vb = gt ? find_ci(s, gt, "viewBox=") : NULL;
  double vx, vy, vw, vh;
  if (vb && (vb[8] == '"' || vb[8] == '\'') &&
      sscanf(vb + 9, "%lf %lf %lf %lf", &vx, &vy, &vw, &vh) == 4 && vw > 0)
    fprintf(f, " style=\"max-width:%.0fpx\"", 1.25 * vw);
  const char *p = s + 4;
  while (p < end) {
    /* xmlns / xmlns:xlink: namespace names, not references; HTML5 infers
     * them for inline <svg>. Drop the attribute and its value. */
    if (!strncmp(p, "xmlns", 5) && isspace((unsigned char)p[-1])) {
      const char *q = p + 5;
      while (q < end && *q != '=' && !isspace((unsigned char)*q) && *q != '>')
        q++;
      if (q < end && *q == '=' && q + 1 < end &&
          (q[1] == '"' || q[1] == '\'')) {
        const char *e = memchr(q + 2, q[1], (size_t)(end - q - 2));
        if (e) {
          p = e + 1;
          continue;
        }
      }
    }
    if (attr_at(s, p, "id") && (p[3] == '"' || p[3] == '\'')) {
      fprintf(f, "id=%c%s", p[3], prefix);
      p += 4;
      continue;
    }
    if (attr_at(s, p, "href") && (p[5] == '"' || p[5] == '\'') && p[6] == '#') {
      fprintf(f, "href=%c#%s", p[5], prefix);
      p += 7;
      continue;
    }
    if (!strncmp(p, "url(#", 5)) {
      fprintf(f, "url(#%s", prefix);
      p += 5;
      continue;
    }
    if (title && !title_done && !strncmp(p, "<title>", 7)) {
      const char *e = find_ci(p, end, "</title>");
      if (e) {
        fputs("<title>", f);
        lsp_html_escape(f, title);
        fputs("</title>", f);
        p = e + 8;
        title_done = 1;
        continue;
      }
    }
    fputc(*p++, f);
  }
  int bad = ferror(f);
  if (fclose(f) || bad || !buf) {
    free(buf);
    return lsp_fail(LSP_ENOMEM, "out of memory");
  }
  *out = buf;
  return LSP_OK;
}

int lsp_html_relpath(const char *dir, const char *file, char **out) {
  *out = NULL;
  char *d = realpath(dir, NULL);
  char *f = realpath(file, NULL);
  if (!d || !f) {
    int st = lsp_fail(LSP_EIO, "%s: cannot resolve the path", d ? file : dir);
    free(d);
    free(f);
    return st;
  }
  /* Longest common prefix ending at a component boundary. */
  size_t i = 0, common = 0;
  while (d[i] && d[i] == f[i]) {
    i++;
    if (d[i] == '/' || (d[i] == '\0' && (f[i] == '/' || f[i] == '\0')))
      common = i;
  }
  if (!strcmp(d, "/")) common = 0;
  size_t ups = 0;
  for (const char *q = d + common; *q; q++)
    if (*q == '/') ups++;
  if (!strcmp(d, "/")) ups = 0;
  const char *rest = f + common;
  while (*rest == '/') rest++;
  char *r = malloc(3 * ups + strlen(rest) + 1);
  if (!r) {
    free(d);
    free(f);
    return lsp_fail(LSP_ENOMEM, "out of memory");
  }
  r[0] = '\0';
  for (size_t k = 0; k < ups; k++) strcat(r, "../");
  strcat(r, rest);
  free(d);
  free(f);
  *out = r;
  return LSP_OK;
}
