#include "cli/cli.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_threads.h"
#include "core/import/lsp_import.h"

static char g_warnings[4][1200];
static int g_nwarnings;

/* Print "lsprobe: CMD: <what><text>" ("lsprobe: <what><text>" without a
 * command) as one line of printable text (lsp_text_clean: names read from
 * files go through here). */
static void put_line(const char *cmd, const char *what, const char *text) {
  char clean[4 * 8192];
  lsp_text_clean(text, clean, sizeof clean);
  if (cmd) fprintf(stderr, "lsprobe: %s: %s%s\n", cmd, what, clean);
  else fprintf(stderr, "lsprobe: %s%s\n", what, clean);
}

void cli_warn(const char *cmd, const char *fmt, ...) {
  if (g_nwarnings == (int)(sizeof g_warnings / sizeof g_warnings[0])) return;
  char *w = g_warnings[g_nwarnings++], text[1200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  int n = snprintf(w, sizeof g_warnings[0], "lsprobe: %s: WARNING: ", cmd);
  lsp_text_clean(text, w + n, sizeof g_warnings[0] - (size_t)n);
}

void cli_bootstrap_warn(const char *cmd, long boot) {
  if (boot > 0 && boot < CLI_BOOT_MIN)
    cli_warn(cmd,
             "--bootstrap %ld: a 95%% interval rests on the 2.5%% tails of the resamples, "
             "which fewer than %d leave empty; these intervals are not to be trusted "
             "(1000 is usual)",
             boot, CLI_BOOT_MIN);
}

void cli_warnings_print(void) {
  for (int i = 0; i < g_nwarnings; i++) fprintf(stderr, "%s\n", g_warnings[i]);
  g_nwarnings = 0;
}

int cli_model_load_features(const char *cmd, const char *path,
                            const char *features, lsp_model **out) {
  char note[1024];
  lsp_load_opts o = {features};
  int st = lsp_model_load_opts(path, &o, out, note, sizeof note);
  if (st == LSP_OK && note[0]) cli_warn(cmd, "%s", note);
  return st;
}

int cli_model_load(const char *cmd, const char *path, lsp_model **out) {
  return cli_model_load_features(cmd, path, NULL, out);
}

void cli_threads(long threads, int shares) {
  lsp_threads_set((int)threads);
  lsp_threads_set_blas(shares ? 1 : lsp_threads_get());
}

static void print_usage(const char *cmd, const char *synopsis,
                        const char *about, const cli_opt *opts) {
  printf("usage: lsprobe %s %s\n\n%s\n\noptions:\n", cmd, synopsis, about);
  for (const cli_opt *o = opts; o->name; o++) {
    char left[64];
    if (o->nargs == 2)
      snprintf(left, sizeof left, "--%s %s", o->name, o->arg);
    else if (o->arg)
      snprintf(left, sizeof left, "--%s %s", o->name, o->arg);
    else
      snprintf(left, sizeof left, "--%s", o->name);
    if (strlen(left) > 28) /* too wide for the column: help on its own line */
      printf("  %s\n  %-28s %s\n", left, "", o->help);
    else
      printf("  %-28s %s\n", left, o->help);
  }
  printf("  %-28s %s\n", "-h, --help", "show this help");
}

size_t cli_edit_distance(const char *a, size_t alen, const char *b) {
  size_t blen = strlen(b);
  if (alen > 64 || blen > 64) return (size_t)-1; /* no option is that long */
  size_t row[65];
  for (size_t j = 0; j <= blen; j++) row[j] = j;
  for (size_t i = 1; i <= alen; i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= blen; j++) {
      size_t up = row[j];
      size_t best = diag + (a[i - 1] != b[j - 1]);
      if (up + 1 < best) best = up + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  return row[blen];
}

/* The one candidate related to the typed word by a prefix of at least 3
 * bytes, or NULL: run_on 0, a candidate the word abbreviates ("smooth" for
 * smoothing); 1, a candidate the word runs on from ("calib" in calibrate). */
static const char *prefix_match(const char *typed, size_t len, const char *const *names,
                                size_t n, int run_on) {
  const char *best = NULL;
  size_t hits = 0;
  for (size_t i = 0; i < n; i++) {
    size_t cl = strlen(names[i]);
    int hit = run_on ? cl >= 3 && cl < len && strncmp(typed, names[i], cl) == 0
                     : len >= 3 && len < cl && strncmp(typed, names[i], len) == 0;
    if (hit) hits++, best = names[i];
  }
  return hits == 1 ? best : NULL;
}

const char *cli_closest(const char *typed, size_t len, const char *const *names, size_t n) {
  /* a unique abbreviation first: "--norma" is normalize, not format */
  const char *best = prefix_match(typed, len, names, n, 0);
  if (best) return best;
  size_t bd = (size_t)-1;
  for (size_t i = 0; i < n; i++) {
    size_t d = cli_edit_distance(typed, len, names[i]);
    if (d < bd && d <= 2 && 2 * d < strlen(names[i])) bd = d, best = names[i];
  }
  return best ? best : prefix_match(typed, len, names, n, 1);
}

/* The option of `opts` closest to a mistyped name, or NULL. */
static const char *closest_option(const char *name, size_t len, const cli_opt *opts) {
  const char *names[64];
  size_t n = 0;
  for (const cli_opt *o = opts; o->name && n < 63; o++) names[n++] = o->name;
  names[n++] = "help";
  return cli_closest(name, len, names, n);
}

/* An argument that reads as an option: "--" and a name (or -h). */
static int is_option(const char *a) {
  return (a[0] == '-' && a[1] == '-' && a[2] != '\0') || strcmp(a, "-h") == 0;
}

int cli_parse(const char *cmd, const char *synopsis, const char *about,
              int argc, char **argv, cli_opt *opts) {
  for (cli_opt *o = opts; o->name; o++) o->value = o->value2 = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      print_usage(cmd, synopsis, about, opts);
      return CLI_HELP;
    }
    if (strncmp(a, "--", 2) != 0 || a[2] == '\0')
      return cli_error(cmd, CLI_USAGE,
                       "unexpected argument '%s' (see lsprobe %s --help)", a,
                       cmd);
    const char *name = a + 2, *eq = strchr(name, '=');
    size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
    cli_opt *o = opts;
    for (; o->name; o++)
      if (strlen(o->name) == nlen && strncmp(o->name, name, nlen) == 0) break;
    if (!o->name) {
      const char *near = closest_option(name, nlen, opts);
      if (near)
        return cli_error(cmd, CLI_USAGE, "unknown option '--%.*s'; did you mean --%s? "
                         "(see lsprobe %s --help)", (int)nlen, name, near, cmd);
      return cli_error(cmd, CLI_USAGE, "unknown option '--%.*s' (see lsprobe %s --help)",
                       (int)nlen, name, cmd);
    }
    if (o->value)
      return cli_error(cmd, CLI_USAGE, "--%s given twice", o->name);
    if (o->nargs == 0) {
      if (eq) return cli_error(cmd, CLI_USAGE, "--%s takes no value", o->name);
      o->value = "";
      continue;
    }
    /* a value is the next argument unless that is another option: then
     * the value was left out (--out --quiet would write a file "--quiet");
     * a file named so is given as --out=--quiet or --out ./--quiet */
    if (eq) {
      o->value = eq + 1;
    } else {
      if (i + 1 >= argc || is_option(argv[i + 1]))
        return cli_error(cmd, CLI_USAGE, "--%s needs a value (%s)%s%s", o->name,
                         o->arg, i + 1 < argc ? " before " : "",
                         i + 1 < argc ? argv[i + 1] : "");
      o->value = argv[++i];
    }
    if (o->nargs == 2) {
      if (i + 1 >= argc || is_option(argv[i + 1]))
        return cli_error(cmd, CLI_USAGE, "--%s needs two values (%s)%s%s", o->name,
                         o->arg, i + 1 < argc ? " before " : "",
                         i + 1 < argc ? argv[i + 1] : "");
      o->value2 = argv[++i];
    }
  }
  return CLI_OK;
}

cli_opt *cli_find(cli_opt *opts, const char *name) {
  for (cli_opt *o = opts; o->name; o++)
    if (strcmp(o->name, name) == 0) return o;
  return NULL;
}

int cli_has(cli_opt *opts, const char *name) {
  cli_opt *o = cli_find(opts, name);
  return o && o->value;
}

const char *cli_str(cli_opt *opts, const char *name, const char *def) {
  cli_opt *o = cli_find(opts, name);
  return o && o->value ? o->value : def;
}

int cli_parse_double(const char *s, double lo, double hi, double *out,
                     char *why, size_t whylen) {
  while (isspace((unsigned char)*s)) s++;
  if (*s == '\0') {
    snprintf(why, whylen, "empty value");
    return -1;
  }
  /* strtod also reads C's hexadecimal form (0x10 is 16); option values are
   * decimal, as everywhere else a number is read. */
  const char *d = s + (*s == '+' || *s == '-');
  char *end = NULL;
  errno = 0;
  double v = strtod(s, &end);
  while (end && isspace((unsigned char)*end)) end++;
  if (end != s && *end == '\0' && d[0] == '0' && (d[1] == 'x' || d[1] == 'X')) {
    snprintf(why, whylen, "'%s' is hexadecimal; write the number in decimal", s);
    return -1;
  }
  if (end == s || *end != '\0') {
    snprintf(why, whylen, "'%s' is not a number", s);
    return -1;
  }
  /* strtod's ERANGE: the text is a number but beyond what a double holds,
   * either overflowing to infinity or underflowing towards 0. */
  if (errno == ERANGE && fabs(v) > 1.0) {
    snprintf(why, whylen,
             "%s is out of range (overflows a double); the allowed range is "
             "[%g, %g]",
             s, lo, hi);
    return -1;
  }
  if (errno == ERANGE && v == 0.0) {
    snprintf(why, whylen,
             "%s is out of range (underflows to 0 as a double); the allowed "
             "range is [%g, %g]",
             s, lo, hi);
    return -1;
  }
  if (!isfinite(v)) {
    snprintf(why, whylen, "'%s' is not a finite number; the allowed range is "
             "[%g, %g]", s, lo, hi);
    return -1;
  }
  if (v < lo || v > hi) {
    snprintf(why, whylen, "%s is outside [%g, %g]", s, lo, hi);
    return -1;
  }
  *out = v;
  return 0;
}

int cli_parse_long(const char *s, long lo, long hi, long *out, char *why,
                   size_t whylen) {
  while (isspace((unsigned char)*s)) s++;
  if (*s == '\0') {
    snprintf(why, whylen, "empty value");
    return -1;
  }
  char *end = NULL;
  errno = 0;
  long v = strtol(s, &end, 10);
  while (end && isspace((unsigned char)*end)) end++;
  if (end == s || *end != '\0') {
    snprintf(why, whylen, "'%s' is not an integer", s);
    return -1;
  }
  if (errno == ERANGE || v < lo || v > hi) {
    snprintf(why, whylen, "%s is outside [%ld, %ld]", s, lo, hi);
    return -1;
  }
  *out = v;
  return 0;
}

/* Split on commas and parse each item with `one`. */
static int parse_list(const char *s, void **out, size_t *n, size_t esz,
                      int (*one)(const char *, void *, char *, size_t,
                                 const void *),
                      const void *ctx, char *why, size_t whylen) {
  *out = NULL;
  *n = 0;
  size_t cap = 1;
  for (const char *p = s; *p; p++) cap += *p == ',';
  char *buf = malloc(strlen(s) + 1);
  unsigned char *arr = malloc(cap * esz);
  if (!buf || !arr) {
    free(buf);
    free(arr);
    snprintf(why, whylen, "out of memory");
    return -1;
  }
  strcpy(buf, s);
  size_t k = 0;
  char *item = buf;
  for (;;) {
    char *comma = strchr(item, ',');
    if (comma) *comma = '\0';
    if (one(item, arr + k * esz, why, whylen, ctx) != 0) {
      free(buf);
      free(arr);
      return -1;
    }
    k++;
    if (!comma) break;
    item = comma + 1;
  }
  free(buf);
  *out = arr;
  *n = k;
  return 0;
}

typedef struct {
  double lo, hi;
} drange;
typedef struct {
  long lo, hi;
} lrange;

static int one_double(const char *s, void *dst, char *why, size_t whylen,
                      const void *ctx) {
  const drange *r = ctx;
  return cli_parse_double(s, r->lo, r->hi, dst, why, whylen);
}

static int one_long(const char *s, void *dst, char *why, size_t whylen,
                    const void *ctx) {
  const lrange *r = ctx;
  return cli_parse_long(s, r->lo, r->hi, dst, why, whylen);
}

int cli_parse_double_list(const char *s, double lo, double hi, double **out,
                          size_t *n, char *why, size_t whylen) {
  drange r = {lo, hi};
  return parse_list(s, (void **)out, n, sizeof(double), one_double, &r, why,
                    whylen);
}

int cli_parse_long_list(const char *s, long lo, long hi, long **out,
                        size_t *n, char *why, size_t whylen) {
  lrange r = {lo, hi};
  return parse_list(s, (void **)out, n, sizeof(long), one_long, &r, why,
                    whylen);
}

int cli_get_double(const char *cmd, cli_opt *opts, const char *name,
                   double def, double lo, double hi, double *out) {
  const char *v = cli_str(opts, name, NULL);
  if (!v) {
    *out = def;
    return CLI_OK;
  }
  char why[160];
  if (cli_parse_double(v, lo, hi, out, why, sizeof why) != 0)
    return cli_error(cmd, CLI_USAGE, "--%s: %s", name, why);
  return CLI_OK;
}

int cli_get_long(const char *cmd, cli_opt *opts, const char *name, long def,
                 long lo, long hi, long *out) {
  const char *v = cli_str(opts, name, NULL);
  if (!v) {
    *out = def;
    return CLI_OK;
  }
  char why[160];
  if (cli_parse_long(v, lo, hi, out, why, sizeof why) != 0)
    return cli_error(cmd, CLI_USAGE, "--%s: %s", name, why);
  return CLI_OK;
}

int cli_get_doubles(const char *cmd, cli_opt *opts, const char *name,
                    const char *def, double lo, double hi, double **out,
                    size_t *n) {
  const char *v = cli_str(opts, name, def);
  char why[160];
  if (cli_parse_double_list(v, lo, hi, out, n, why, sizeof why) != 0)
    return cli_error(cmd, CLI_USAGE, "--%s: %s", name, why);
  return CLI_OK;
}

int cli_get_longs(const char *cmd, cli_opt *opts, const char *name,
                  const char *def, long lo, long hi, long **out, size_t *n) {
  const char *v = cli_str(opts, name, def);
  char why[160];
  if (cli_parse_long_list(v, lo, hi, out, n, why, sizeof why) != 0)
    return cli_error(cmd, CLI_USAGE, "--%s: %s", name, why);
  return CLI_OK;
}

/* A list of settings that each give rows (ε, seeds, sample sizes): a value
 * listed twice would only repeat its rows, at their whole cost. */
int cli_get_doubles_distinct(const char *cmd, cli_opt *opts, const char *name,
                             const char *def, double lo, double hi, double **out,
                             size_t *n) {
  int rc = cli_get_doubles(cmd, opts, name, def, lo, hi, out, n);
  for (size_t i = 0; !rc && i < *n; i++)
    for (size_t j = 0; !rc && j < i; j++)
      if ((*out)[i] == (*out)[j]) {
        rc = cli_error(cmd, CLI_USAGE, "--%s: %g is listed twice", name, (*out)[i]);
        free(*out);
        *out = NULL;
      }
  return rc;
}

int cli_get_longs_distinct(const char *cmd, cli_opt *opts, const char *name,
                           const char *def, long lo, long hi, long **out, size_t *n) {
  int rc = cli_get_longs(cmd, opts, name, def, lo, hi, out, n);
  for (size_t i = 0; !rc && i < *n; i++)
    for (size_t j = 0; !rc && j < i; j++)
      if ((*out)[i] == (*out)[j]) {
        rc = cli_error(cmd, CLI_USAGE, "--%s: %ld is listed twice", name, (*out)[i]);
        free(*out);
        *out = NULL;
      }
  return rc;
}

int cli_require(const char *cmd, cli_opt *opts, const char *name) {
  if (cli_has(opts, name)) return CLI_OK;
  return cli_error(cmd, CLI_USAGE, "--%s is required (see lsprobe %s --help)",
                   name, cmd);
}

/* Errors held for cli_mpi_gate: the first message, unprinted. */
static int g_hold;
static char g_held[1024];

void cli_hold_errors(int on) {
  g_hold = on;
  g_held[0] = '\0';
}
int cli_errors_held(void) { return g_hold; }
const char *cli_held_error(void) { return g_held; }

/* An error line as printable text (lsp_text_clean), or held (MPI). */
static void say_error(const char *cmd, const char *fmt, va_list ap) {
  char text[8192];
  vsnprintf(text, sizeof text, fmt, ap);
  if (!g_hold)
    put_line(cmd, "", text);
  else if (!g_held[0])
    lsp_text_clean(text, g_held, sizeof g_held);
}

int cli_error(const char *cmd, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  say_error(cmd, fmt, ap);
  va_end(ap);
  return code;
}

int cli_error_plain(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  say_error(NULL, fmt, ap);
  va_end(ap);
  return code;
}

void cli_note(const char *cmd, const char *note) {
  if (note && *note) put_line(cmd, "note: ", note);
}

int cli_lib_error(const char *cmd, int status) {
  cli_error(cmd, 0, "%s", lsp_errmsg());
  if (status == LSP_EINTR) return CLI_INTR;
  return status == LSP_EINVAL ? CLI_USAGE : CLI_DATA;
}

