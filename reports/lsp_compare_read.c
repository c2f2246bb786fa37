/* lsp_compare_read.c — reading and validating a run's results.json for
 * `lsprobe compare` (lsp_compare_int.h). The document is first checked
 * against the results.json contract (lsp_results_schema.h: every field's
 * presence and type; errors name the file and the field), then read by the
 * same table's keys. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "core/base/lsp_util.h"
#include "core/formats/lsp_jsonr.h"
#include "reports/lsp_compare_int.h"
#include "reports/lsp_results_schema.h"

/* ---- reading (the document is validated against the schema first) ------ */

#define K(f) lsp_results_key(LSP_RF_##f)

void cmp_str_addf(cmp_str *b, const char *fmt, ...) {
  if (b->oom) return;
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (k < 0) {
    b->oom = 1;
    return;
  }
  if (b->len + (size_t)k + 1 > b->cap) {
    size_t cap = 2 * b->cap > b->len + (size_t)k + 1 ? 2 * b->cap : b->len + (size_t)k + 64;
    char *s = realloc(b->s, cap);
    if (!s) {
      b->oom = 1;
      return;
    }
    b->s = s;
    b->cap = cap;
  }
  va_start(ap, fmt);
  vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
  va_end(ap);
  b->len += (size_t)k;
}

const char *cmp_str_get(const cmp_str *b) { return b->s ? b->s : ""; }

/* "1,2,3" (after `prefix`): a validated array of numbers, every value in
 * the fewest digits that read back as it, so two different lists never
 * read alike; heap, NULL when out of memory. */
static char *num_list(const char *prefix, const lsp_jsonr *a) {
  cmp_str b = {0};
  cmp_str_addf(&b, "%s", prefix);
  for (size_t i = 0; i < a->len; i++) {
    char v[32];
    lsp_shortest_g(a->items[i]->num, v, sizeof v);
    cmp_str_addf(&b, "%s%s", i ? "," : "", v);
  }
  if (b.oom) {
    free(b.s);
    return NULL;
  }
  return b.s;
}

/* a validated number; JSON null is NaN */
static double num(const lsp_jsonr *obj, const char *key) {
  const lsp_jsonr *v = lsp_jsonr_get(obj, key);
  return v && v->type == LSP_JSONR_NUMBER ? v->num : NAN;
}

/* value and [lo, hi] of a metric (null values, bounds and intervals: NaN) */
static void metric(const lsp_jsonr *obj, lsp_rf value, lsp_rf ci_field, double *v, double *lo,
                   double *hi) {
  *v = num(obj, lsp_results_key(value));
  *lo = *hi = NAN;
  const lsp_jsonr *ci = lsp_jsonr_get(obj, lsp_results_key(ci_field));
  if (!ci || ci->type != LSP_JSONR_ARRAY) return;
  if (ci->items[0]->type == LSP_JSONR_NUMBER) *lo = ci->items[0]->num;
  if (ci->items[1]->type == LSP_JSONR_NUMBER) *hi = ci->items[1]->num;
}

static int read_curve(const lsp_jsonr *a, curve *c) {
  const lsp_jsonr *pts = lsp_jsonr_get(a, K(ATTACK_POINTS));
  c->n = pts->len;
  c->eps = calloc(c->n ? c->n : 1, sizeof *c->eps);
  c->acc = calloc(c->n ? c->n : 1, sizeof *c->acc);
  if (!c->eps || !c->acc) return lsp_fail(LSP_ENOMEM, "out of memory");
  for (size_t i = 0; i < c->n; i++) {
    c->eps[i] = num(pts->items[i], K(PT_EPS));
    c->acc[i] = num(pts->items[i], K(PT_ACCURACY));
  }
  return LSP_OK;
}

static int read_model(const lsp_jsonr *m, cmp_model *cm) {
  const lsp_jsonr *cal = lsp_jsonr_get(m, K(M_CALIBRATION)),
                  *calt = lsp_jsonr_get(m, K(M_CALIBRATION_T)),
                  *cl = lsp_jsonr_get(m, K(M_CLUSTERS)), *att = lsp_jsonr_get(m, K(M_ATTACKS));
  cm->tag = lsp_jsonr_get(m, K(M_TAG))->str;
  cm->model_file = lsp_jsonr_get(m, K(M_MODEL_FILE))->str;
  cm->eps = num(m, K(M_EPS));
  cm->convention = lsp_jsonr_get(m, K(M_CONVENTION))->str;
  cm->seed = num(m, K(M_SEED));
  metric(cal, LSP_RF_CAL_ACCURACY, LSP_RF_CAL_ACCURACY_CI, &cm->v[M_ACC], &cm->lo[M_ACC],
         &cm->hi[M_ACC]);
  metric(cal, LSP_RF_CAL_NLL, LSP_RF_CAL_NLL_CI, &cm->v[M_NLL], &cm->lo[M_NLL], &cm->hi[M_NLL]);
  metric(cal, LSP_RF_CAL_ECE, LSP_RF_CAL_ECE_CI, &cm->v[M_ECE], &cm->lo[M_ECE], &cm->hi[M_ECE]);
  metric(calt, LSP_RF_CAL_ECE, LSP_RF_CAL_ECE_CI, &cm->v[M_ECET], &cm->lo[M_ECET],
         &cm->hi[M_ECET]);
  cm->temperature = num(calt, K(CAL_TEMPERATURE));
  const lsp_jsonr *fitted = lsp_jsonr_get(calt, K(CAL_TEMPERATURE_FITTED));
  if (fitted && !fitted->b) cm->temperature = NAN;
  cm->r2 = num(cl, K(CL_R2_SEPARATION));
  cm->nc1 = num(cl, K(CL_NC1));
  int st = read_curve(lsp_jsonr_get(att, K(ATT_FGSM)), &cm->fgsm);
  return st ? st : read_curve(lsp_jsonr_get(att, K(ATT_PGD)), &cm->pgd);
}

static void run_name(cmp_run *r) {
  /* the folder holding the file ("." for a bare file name) */
  char *tmp = lsp_strdupf("%s", r->path);
  if (!tmp) {
    snprintf(r->name, sizeof r->name, "?");
    return;
  }
  char *slash = strrchr(tmp, '/');
  while (slash && slash != tmp && slash[1] == 0) { /* trailing slashes */
    *slash = 0;
    slash = strrchr(tmp, '/');
  }
  if (!slash) {
    char *cwd = getcwd(NULL, 0);
    const char *base = cwd ? strrchr(cwd, '/') : NULL;
    snprintf(r->name, sizeof r->name, "%.200s", base && base[1] ? base + 1 : ".");
    free(cwd);
    free(tmp);
    return;
  }
  *slash = 0;
  const char *dir = strrchr(tmp, '/');
  snprintf(r->name, sizeof r->name, "%.200s", dir ? dir + 1 : (tmp[0] ? tmp : "/"));
  free(tmp);
}

/* A run folder stands for its results.json. */
static int resolve_folder(cmp_run *r) {
  struct stat sb;
  if (stat(r->path, &sb) != 0 || !S_ISDIR(sb.st_mode)) return LSP_OK;
  size_t l = strlen(r->path);
  while (l > 1 && r->path[l - 1] == '/') l--;
  r->file = malloc(l + sizeof "/results.json");
  if (!r->file) return lsp_fail(LSP_ENOMEM, "out of memory");
  snprintf(r->file, l + sizeof "/results.json", "%.*s/results.json", (int)l, r->path);
  if (access(r->file, F_OK) != 0)
    return lsp_fail(LSP_EIO, "%s: a folder without results.json (not the output folder of "
                             "`lsprobe run`)", r->path);
  r->path = r->file;
  return LSP_OK;
}

int lsp_compare_read_run(cmp_run *r) {
  int st = resolve_folder(r);
  if (st) return st;
  st = lsp_jsonr_read_file(r->path, &r->doc);
  if (st) return st;
  const lsp_jsonr *root = lsp_jsonr_root(r->doc);
  if (root->type != LSP_JSONR_OBJECT)
    return lsp_fail(LSP_EDATA, "%s: not an lsprobe results.json (the top level is %s, not an object)",
                    r->path, lsp_jsonr_type_name(root->type));
  if (!lsp_jsonr_get(root, K(VERSION)) || !lsp_jsonr_get(root, K(MODELS)))
    return lsp_fail(LSP_EDATA, "%s: not an lsprobe results.json (field %s is missing)", r->path,
                    lsp_jsonr_get(root, K(MODELS)) ? K(VERSION) : K(MODELS));
  if ((st = lsp_results_validate(r->doc))) return st;
  const lsp_jsonr *cfg = lsp_jsonr_get(root, K(CONFIG)), *models = lsp_jsonr_get(root, K(MODELS));
  if (models->len == 0) return lsp_fail(LSP_EDATA, "%s: field models: the run has no models", r->path);
  r->version = lsp_jsonr_get(root, K(VERSION))->str;
  r->started = lsp_jsonr_get(root, K(STARTED))->str;
  r->command = lsp_jsonr_get(root, K(COMMAND))->str;
  r->data = lsp_jsonr_get(cfg, K(CFG_DATA))->str;
  r->hash = lsp_jsonr_get(cfg, K(CFG_DATA_HASH))->str;
  r->convention = lsp_jsonr_get(cfg, K(CFG_CONVENTION))->str;
  r->epochs = num(cfg, K(CFG_EPOCHS));
  const lsp_jsonr *arch = lsp_jsonr_get(cfg, K(CFG_ARCH)),
                  *canon = lsp_jsonr_get(cfg, K(CFG_ARCHITECTURE)),
                  *hidden = lsp_jsonr_get(cfg, K(CFG_HIDDEN));
  if (arch) {
    r->arch = lsp_strdupf("%s", arch->str);
  } else if (hidden) { /* a run from before --arch: an MLP */
    r->arch = num_list("mlp:", hidden);
  } else {
    return lsp_fail(LSP_EDATA, "%s: field config.%s is missing", r->path, K(CFG_ARCH));
  }
  r->architecture = canon ? canon->str : NULL;
  r->config = cfg;
  r->smoothing = num_list("", lsp_jsonr_get(cfg, K(CFG_SMOOTHING)));
  r->seeds = num_list("", lsp_jsonr_get(cfg, K(CFG_SEEDS)));
  r->attack = num_list("", lsp_jsonr_get(cfg, K(CFG_ATTACK_EPS)));
  if (!r->arch || !r->smoothing || !r->seeds || !r->attack)
    return lsp_fail(LSP_ENOMEM, "out of memory");
  r->quick = lsp_jsonr_get(cfg, K(CFG_QUICK))->b;
  r->synthetic = lsp_jsonr_get(cfg, K(CFG_SYNTHETIC))->b;
  r->models = calloc(models->len, sizeof *r->models);
  if (!r->models) return lsp_fail(LSP_ENOMEM, "out of memory");
  r->nmodels = models->len;
  for (size_t i = 0; i < models->len; i++) {
    if ((st = read_model(models->items[i], &r->models[i]))) return st;
    /* a tag names one model: the same tag twice would be two rows no
     * reader could tell apart */
    for (size_t k = 0; k < i; k++)
      if (!strcmp(r->models[k].tag, r->models[i].tag)) {
        const lsp_jsonr *t = lsp_jsonr_get(models->items[i], K(M_TAG));
        return lsp_fail(LSP_EDATA, "%s:%d:%d: field models[%zu].%s: \"%s\" is the tag of "
                                   "models[%zu] too (tags must be unique)",
                        r->path, t->line, t->col, i, K(M_TAG), r->models[i].tag, k);
      }
  }
  run_name(r);
  return LSP_OK;
}

void lsp_compare_free_runs(cmp_run *runs, size_t n) {
  if (!runs) return;
  for (size_t i = 0; i < n; i++) {
    for (size_t j = 0; j < runs[i].nmodels; j++) {
      cmp_model *m = &runs[i].models[j];
      free(m->fgsm.eps), free(m->fgsm.acc), free(m->pgd.eps), free(m->pgd.acc);
    }
    free(runs[i].models);
    free(runs[i].file);
    free(runs[i].arch), free(runs[i].smoothing), free(runs[i].seeds), free(runs[i].attack);
    lsp_jsonr_free(runs[i].doc);
  }
  free(runs);
}
