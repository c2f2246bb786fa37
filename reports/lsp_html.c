/* lsp_html.c — the self-contained HTML report document. */
#define _POSIX_C_SOURCE 200809L
#include "reports/lsp_html.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/base/lsp_error.h"

#ifndef LSP_VERSION
#define LSP_VERSION "unknown"
#endif

/* Neutral, print-friendly; numbers in tabular figures so columns align.
 * Verdict colours are from the plots' Okabe–Ito palette.
 *
 * Width: nothing may be wider than the screen. A table cell shows its
 * value on one line and its interval below it, and the interval and long
 * text (class w) may wrap, so the widest tables (12 to 15 columns) fit
 * a 1280 px screen; what still
 * does not fit (a phone) scrolls inside .table-wrap, whose edge shadows say
 * there is more (the 'local' backgrounds cover them at either end). Figures
 * scale to the width. Print: A4, the tables in a smaller type and never in
 * a scroll box (a printed scroll box is cut off), no figure split across
 * pages. tests/browser_check.py checks all of it in Chromium. */
static const char k_css[] =
    ":root{--fg:#1f2328;--muted:#59636e;--rule:#d1d9e0;--head:#f6f8fa;}\n"
    "body{margin:0;background:#fff;color:var(--fg);font:16px/1.55 "
    "system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif}\n"
    "main{max-width:1240px;margin:0 auto;padding:2rem 1.5rem 4rem}\n"
    "h1{font-size:1.9rem;line-height:1.25;margin:0 0 1rem;overflow-wrap:anywhere}\n"
    "h2{font-size:1.4rem;margin:2.6rem 0 .8rem;padding-bottom:.3rem;"
    "border-bottom:1px solid var(--rule)}\n"
    "h3{font-size:1.13rem;margin:1.8rem 0 .6rem}\nh4{font-size:1rem}\n"
    "p{max-width:50em;overflow-wrap:break-word}\n"
    ".table-wrap{overflow-x:auto;margin:1rem 0 1.4rem;background:"
    "linear-gradient(to right,#fff 30%,rgba(255,255,255,0)) left/2.5rem 100% "
    "no-repeat local,"
    "linear-gradient(to left,#fff 30%,rgba(255,255,255,0)) right/2.5rem 100% "
    "no-repeat local,"
    "radial-gradient(farthest-side at 0 50%,rgba(0,0,0,.22),transparent) "
    "left/.8rem 100% no-repeat scroll,"
    "radial-gradient(farthest-side at 100% 50%,rgba(0,0,0,.22),transparent) "
    "right/.8rem 100% no-repeat scroll}\n"
    "table{border-collapse:collapse;font-size:.86rem;"
    "font-variant-numeric:tabular-nums}\n"
    ".table-caption{font-weight:600;margin:1.2rem 0 .45rem;max-width:none}\n"
    ".table-caption+.table-wrap{margin-top:0}\n"
    "th,td{padding:.32rem .5rem;border-bottom:1px solid var(--rule);"
    "text-align:right;vertical-align:top}\n"
    "td{white-space:nowrap}\n"
    "th{background:var(--head);border-bottom:2px solid #8c959f;"
    "font-weight:600;vertical-align:bottom}\n"
    "td.t,th.t{text-align:left}\n"
    "td.w{white-space:normal;overflow-wrap:anywhere;min-width:9em}\n"
    "td .ci{display:block;white-space:normal;font-size:.82em;"
    "color:var(--muted)}\n"
    "tbody tr:hover{background:#f6f8fa}\n"
    "figure{margin:1.6rem 0 2rem}\n"
    "figure svg,figure img{display:block;width:100%;max-width:100%;"
    "height:auto}\n"
    "figcaption{color:var(--muted);font-size:.92rem;margin-top:.5rem;"
    "max-width:60em}\n"
    ".note{border-left:4px solid #0072b2;background:#eef5fb;"
    "padding:.65rem 1rem;margin:1rem 0;max-width:50em}\n"
    ".note.warning{border-left-color:#d55e00;background:#fdf1ea}\n"
    "ul.findings{list-style:none;padding:0;max-width:60em}\n"
    "ul.findings li{border:1px solid var(--rule);border-radius:6px;"
    "padding:.7rem 1rem;margin:.6rem 0}\n"
    ".verdict{display:inline-block;min-width:6.5em;text-align:center;"
    "font-size:.75rem;font-weight:700;text-transform:uppercase;"
    "letter-spacing:.05em;padding:.12rem .5rem;border-radius:3px;"
    "margin-right:.7rem;color:#fff}\n"
    ".supported{background:#007a5a}.contradicted{background:#c0530a}"
    ".inconclusive{background:#6e7781}\n"
    ".evidence{display:block;color:var(--muted);margin-top:.3rem;"
    "font-size:.93rem;font-variant-numeric:tabular-nums}\n"
    "pre{background:var(--head);border:1px solid var(--rule);"
    "padding:.8rem 1rem;overflow-x:auto;font-size:.85rem}\n"
    "footer{margin-top:3rem;color:var(--muted);font-size:.85rem}\n"
    "@media (max-width:600px){main{padding:1.2rem .9rem 3rem}"
    "h1{font-size:1.5rem}th,td{padding:.28rem .45rem}}\n"
    "@page{size:A4;margin:14mm 12mm}\n"
    "@media print{body{font-size:10pt}main{max-width:none;padding:0}"
    ".table-wrap{overflow:visible;background:none}"
    "table{font-size:7.5pt}th,td{padding:.15rem .3rem}"
    "pre{white-space:pre-wrap;overflow:visible}"
    "tbody tr:hover{background:none}tr,li,.note{break-inside:avoid}"
    "h2,h3,.table-caption{break-after:avoid}"
    "figure{break-inside:avoid}figure svg,figure img{max-height:240mm}}\n";

const char *lsp_finding_word(int verdict) {
  switch (verdict) {
    case LSP_FINDING_SUPPORTED:
      return "supported";
    case LSP_FINDING_CONTRADICTED:
      return "contradicted";
    case LSP_FINDING_INCONCLUSIVE:
      return "inconclusive";
    default:
      return "unknown";
  }
}

void lsp_html_escape(FILE *fp, const char *s) {
  for (; s && *s; s++) {
    switch (*s) {
      case '&':
        fputs("&amp;", fp);
        break;
      case '<':
        fputs("&lt;", fp);
        break;
      case '>':
        fputs("&gt;", fp);
        break;
      case '"':
        fputs("&quot;", fp);
        break;
      case '\'':
        fputs("&#39;", fp);
        break;
      default:
        fputc(*s, fp);
    }
  }
}

/* Record the first failure (status + the message just set by lsp_fail). */
static int fail(lsp_html *h, int st) {
  if (!h->status) {
    h->status = st;
    snprintf(h->msg, sizeof h->msg, "%s", lsp_errmsg());
  }
  return h->status;
}

static int ready(lsp_html *h) {
  if (h->status) return h->status;
  if (!h->out.fp) {
    lsp_fail(LSP_EINVAL, "HTML report is not open");
    return fail(h, LSP_EINVAL);
  }
  return LSP_OK;
}

int lsp_html_open(lsp_html *h, const char *path, const char *title) {
  memset(h, 0, sizeof *h);
  if (!path || !title) {
    h->status = lsp_fail(LSP_EINVAL, "HTML: no path or title");
    snprintf(h->msg, sizeof h->msg, "%s", lsp_errmsg());
    return h->status;
  }
  const char *slash = strrchr(path, '/');
  size_t dl = slash ? (size_t)(slash - path) : 1;
  h->dir = malloc(dl + 2);
  if (!h->dir) return fail(h, lsp_fail(LSP_ENOMEM, "out of memory"));
  if (!slash)
    strcpy(h->dir, ".");
  else if (dl == 0)
    strcpy(h->dir, "/");
  else {
    memcpy(h->dir, path, dl);
    h->dir[dl] = '\0';
  }
  int st = lsp_out_open(&h->out, path);
  if (st) return fail(h, st);
  FILE *f = h->out.fp;
  fputs(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">"
      "\n<meta name=\"viewport\" content=\"width=device-width, "
      "initial-scale=1\">\n<meta name=\"generator\" "
      "content=\"lsprobe " LSP_VERSION "\">\n<title>",
      f);
  lsp_html_escape(f, title);
  fprintf(f, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<main>\n<h1>",
          k_css);
  lsp_html_escape(f, title);
  fputs("</h1>\n", f);
  return LSP_OK;
}

int lsp_html_heading(lsp_html *h, int level, const char *text) {
  int st = ready(h);
  if (st) return st;
  if (level < 2 || level > 4 || !text)
    return fail(h,
                lsp_fail(LSP_EINVAL, "HTML: heading level %d (2..4)", level));
  fprintf(h->out.fp, "<h%d>", level);
  lsp_html_escape(h->out.fp, text);
  fprintf(h->out.fp, "</h%d>\n", level);
  return LSP_OK;
}

int lsp_html_paragraph(lsp_html *h, const char *text) {
  int st = ready(h);
  if (st) return st;
  fputs("<p>", h->out.fp);
  lsp_html_escape(h->out.fp, text);
  fputs("</p>\n", h->out.fp);
  return LSP_OK;
}

int lsp_html_note(lsp_html *h, int kind, const char *text) {
  int st = ready(h);
  if (st) return st;
  fprintf(h->out.fp, "<div class=\"note%s\" role=\"note\">",
          kind == LSP_HTML_WARNING ? " warning" : "");
  if (kind == LSP_HTML_WARNING) fputs("<strong>Warning:</strong> ", h->out.fp);
  lsp_html_escape(h->out.fp, text);
  fputs("</div>\n", h->out.fp);
  return LSP_OK;
}

int lsp_html_code(lsp_html *h, const char *text) {
  int st = ready(h);
  if (st) return st;
  fputs("<pre><code>", h->out.fp);
  lsp_html_escape(h->out.fp, text);
  fputs("</code></pre>\n", h->out.fp);
  return LSP_OK;
}

int lsp_html_table(lsp_html *h, const lsp_table *t, const char *caption) {
  int st = ready(h);
  if (st) return st;
  if (!t) return fail(h, lsp_fail(LSP_EINVAL, "HTML: no table"));
  FILE *f = h->out.fp;
  /* The caption goes above the scroll box, where it wraps to the screen
   * (a <caption> is as wide as its table and would scroll away with it);
   * aria-labelledby keeps it the table's name. */
  h->ntab++;
  if (caption) {
    fprintf(f, "<p class=\"table-caption\" id=\"t%d\">", h->ntab);
    lsp_html_escape(f, caption);
    fprintf(f, "</p>\n<div class=\"table-wrap\"><table aria-labelledby=\"t%d\">\n", h->ntab);
  } else {
    fputs("<div class=\"table-wrap\"><table>\n", f);
  }
  /* A column is text-aligned when its first filled cell is text; a text
   * column with a cell longer than WRAP_AT characters may wrap (class w),
   * shorter text stays on one line. */
  enum { WRAP_AT = 20 };
  int *is_text = calloc(t->ncols, sizeof *is_text);
  if (!is_text) return fail(h, lsp_fail(LSP_ENOMEM, "out of memory"));
  for (size_t c = 0; c < t->ncols; c++)
    for (size_t r = 0; r < t->nrows; r++) {
      int k = t->cells[r * t->ncols + c].kind;
      if (k == LSP_CELL_EMPTY) continue;
      is_text[c] = k == LSP_CELL_TEXT;
      break;
    }
  for (size_t c = 0; c < t->ncols; c++)
    for (size_t r = 0; r < t->nrows && is_text[c] == 1; r++) {
      const lsp_table_cell *tc = &t->cells[r * t->ncols + c];
      if (tc->kind == LSP_CELL_TEXT && tc->text && strlen(tc->text) > WRAP_AT)
        is_text[c] = 2;
    }
  fputs("<thead><tr>", f);
  for (size_t c = 0; c < t->ncols; c++) {
    fprintf(f, "<th scope=\"col\"%s>", is_text[c] ? " class=\"t\"" : "");
    lsp_html_escape(f, t->header[c]);
    fputs("</th>", f);
  }
  fputs("</tr></thead>\n<tbody>\n", f);
  char cell[256];
  for (size_t r = 0; r < t->nrows; r++) {
    fputs("<tr>", f);
    for (size_t c = 0; c < t->ncols; c++) {
      lsp_table_show(t, r, c, cell, sizeof cell);
      fprintf(f, "<td%s>", is_text[c] == 2 ? " class=\"t w\"" : is_text[c] ? " class=\"t\"" : "");
      /* "0.912 [0.905, 0.918]": the interval on its own line (CSS .ci) */
      const lsp_table_cell *tc = &t->cells[r * t->ncols + c];
      char *ci = tc->kind == LSP_CELL_NUM ? strstr(cell, " [") : NULL;
      if (ci) *ci = '\0';
      lsp_html_escape(f, cell);
      if (ci) {
        fputs(" <span class=\"ci\">", f);
        lsp_html_escape(f, ci + 1);
        fputs("</span>", f);
      }
      fputs("</td>", f);
    }
    fputs("</tr>\n", f);
  }
  fputs("</tbody>\n</table></div>\n", f);
  free(is_text);
  return LSP_OK;
}

static void base64(FILE *f, const unsigned char *p, size_t n) {
  static const char k[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (size_t i = 0; i < n; i += 3) {
    unsigned v = (unsigned)p[i] << 16;
    if (i + 1 < n) v |= (unsigned)p[i + 1] << 8;
    if (i + 2 < n) v |= p[i + 2];
    fputc(k[(v >> 18) & 63], f);
    fputc(k[(v >> 12) & 63], f);
    fputc(i + 1 < n ? k[(v >> 6) & 63] : '=', f);
    fputc(i + 2 < n ? k[v & 63] : '=', f);
  }
}

/* A relative URL: unreserved characters and '/' as is, the rest
 * percent-encoded byte by byte (spaces, quotes, '#', '?', UTF-8). */
static void url_path(FILE *f, const char *s) {
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9') || strchr("-._~/", c))
      fputc(c, f);
    else
      fprintf(f, "%%%02X", c);
  }
}

static const char *extension(const char *file) {
  const char *dot = strrchr(file, '.');
  const char *slash = strrchr(file, '/');
  return (dot && (!slash || dot > slash)) ? dot + 1 : "";
}

int lsp_html_figure(lsp_html *h, const char *file, const char *caption) {
  int st = ready(h);
  if (st) return st;
  if (!file) return fail(h, lsp_fail(LSP_EINVAL, "HTML: no figure file"));
  const char *ext = extension(file);
  int kind = !strcasecmp(ext, "svg")   ? 0
             : !strcasecmp(ext, "png") ? 1
             : !strcasecmp(ext, "pdf") ? 2
                                       : -1;
  if (kind < 0)
    return fail(h, lsp_fail(LSP_EINVAL,
                            "%s: figures must be .svg, .png or "
                            ".pdf",
                            file));
  char *data = NULL, *svg = NULL, *rel = NULL;
  size_t len = 0;
  FILE *f = h->out.fp;
  if (kind == 2) {
    if ((st = lsp_html_relpath(h->dir, file, &rel))) return fail(h, st);
  } else {
    if ((st = lsp_read_file(file, &data, &len))) return fail(h, st);
  }
  if (kind == 1 && (len < 8 || memcmp(data, "\x89PNG\r\n\x1a\n", 8))) {
    st = lsp_fail(LSP_EDATA, "%s: not a PNG file", file);
    goto done;
  }
  if (kind == 0) {
    char prefix[32];
    snprintf(prefix, sizeof prefix, "f%d-", h->nfig + 1);
    if ((st = lsp_html_svg_inline(data, len, prefix, caption, &svg))) {
      st = lsp_fail_prefix(st, file);
      goto done;
    }
  }
  h->nfig++;
  fputs("<figure>\n", f);
  if (kind == 0) {
    fputs(svg, f);
    fputc('\n', f);
  } else if (kind == 1) {
    /* Width from the IHDR chunk; our PNGs are 150 px per inch, shown at
     * most 1.25x their natural CSS size (96 px per inch). */
    const unsigned char *u = (const unsigned char *)data;
    unsigned long w =
        len >= 24 ? ((unsigned long)u[16] << 24 | (unsigned long)u[17] << 16 |
                     (unsigned long)u[18] << 8 | u[19])
                  : 0;
    fputs("<img alt=\"", f);
    lsp_html_escape(f, caption ? caption : "figure");
    fputc('"', f);
    if (w > 0) fprintf(f, " style=\"max-width:%.0fpx\"", w * 0.8);
    fputs(" src=\"data:image/png;base64,", f);
    base64(f, (const unsigned char *)data, len);
    fputs("\">\n", f);
  } else {
    fputs("<p>PDF figure: <a href=\"", f);
    url_path(f, rel);
    fputs("\">", f);
    lsp_html_escape(f, rel);
    fputs("</a></p>\n", f);
  }
  if (caption) {
    fputs("<figcaption>", f);
    lsp_html_escape(f, caption);
    fputs("</figcaption>\n", f);
  }
  fputs("</figure>\n", f);
done:
  free(data);
  free(svg);
  free(rel);
  return st ? fail(h, st) : LSP_OK;
}

int lsp_html_findings(lsp_html *h, const lsp_finding *items, size_t n) {
  int st = ready(h);
  if (st) return st;
  if (n && !items) return fail(h, lsp_fail(LSP_EINVAL, "HTML: no findings"));
  FILE *f = h->out.fp;
  fputs("<ul class=\"findings\">\n", f);
  for (size_t i = 0; i < n; i++) {
    const char *w = lsp_finding_word(items[i].verdict);
    fprintf(f, "<li><span class=\"verdict %s\">%s</span>", w, w);
    lsp_html_escape(f, items[i].claim);
    if (items[i].evidence) {
      fputs("<span class=\"evidence\">", f);
      lsp_html_escape(f, items[i].evidence);
      fputs("</span>", f);
    }
    fputs("</li>\n", f);
  }
  fputs("</ul>\n", f);
  return LSP_OK;
}

void lsp_html_abort(lsp_html *h) {
  if (!h) return;
  if (h->out.path) lsp_out_abort(&h->out);
  free(h->dir);
  h->dir = NULL;
}

int lsp_html_close(lsp_html *h) {
  int st = h->status;
  if (!st && !h->out.fp) st = lsp_fail(LSP_EINVAL, "HTML report is not open");
  if (!st && lsp_interrupted())
    st = lsp_fail(LSP_EINTR, "%s: interrupted", h->out.path);
  if (st) {
    if (h->status) lsp_fail(h->status, "%s", h->msg);
    lsp_html_abort(h);
    return st;
  }
  fputs("<footer>Written by lsprobe " LSP_VERSION
        ". Self-contained: no external resources.</footer>\n"
        "</main>\n</body>\n</html>\n",
        h->out.fp);
  st = lsp_out_commit(&h->out);
  free(h->dir);
  h->dir = NULL;
  return st;
}
