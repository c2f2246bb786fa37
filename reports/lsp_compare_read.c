/* lsp_compare_read.c — reading and validating a run's results.json for
 * `lsprobe compare` (lsp_compare_int.h). Every field the report shows is
 * checked for presence and type; errors name the file and the field. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/lsp_error.h"
#include "core/formats/lsp_jsonr.h"
#include "reports/lsp_compare_int.h"

/* ---- reading and validating ------------------------------------------------ */

static int num_list(cmp_run *r, const lsp_jsonr *obj, const char *where, const char *key,
                    char *buf, size_t cap) {
  const lsp_jsonr *a;
  int st = lsp_jsonr_need(r->doc, obj, where, key, LSP_JSONR_ARRAY, &a);
  if (st) return st;
  size_t off = 0;
  buf[0] = 0;
  for (size_t i = 0; i < a->len; i++) {
    if (a->items[i]->type != LSP_JSONR_NUMBER)
      return lsp_fail(LSP_EDATA, "%s: field %s.%s[%zu]: expected a number, found %s", r->path,
                      where, key, i, lsp_jsonr_type_name(a->items[i]->type));
    int k = snprintf(buf + off, cap - off, "%s%g", i ? "," : "", a->items[i]->num);
    if (k < 0 || (size_t)k >= cap - off) break;
    off += (size_t)k;
  }
  return LSP_OK;
}

/* value and [lo, hi] of a metric (null values and intervals become NaN) */
static int metric(cmp_run *r, const lsp_jsonr *obj, const char *where, const char *key,
                  double *v, double *lo, double *hi) {
  int st = lsp_jsonr_need_num(r->doc, obj, where, key, 1, v);
  if (st) return st;
  char ck[64];
  snprintf(ck, sizeof ck, "%s_ci", key);
  *lo = *hi = NAN;
  const lsp_jsonr *ci = lsp_jsonr_get(obj, ck);
  if (!ci || ci->type == LSP_JSONR_NULL) return LSP_OK;
  if (ci->type != LSP_JSONR_ARRAY || ci->len != 2)
    return lsp_fail(LSP_EDATA, "%s: field %s.%s: expected an array of 2 numbers", r->path, where,
                    ck);
  for (int i = 0; i < 2; i++) {
    const lsp_jsonr *b = ci->items[i];
    if (b->type != LSP_JSONR_NUMBER && b->type != LSP_JSONR_NULL)
      return lsp_fail(LSP_EDATA, "%s: field %s.%s[%d]: expected a number, found %s", r->path,
                      where, ck, i, lsp_jsonr_type_name(b->type));
    (i ? hi : lo)[0] = b->type == LSP_JSONR_NUMBER ? b->num : NAN;
  }
  return LSP_OK;
}

static int read_curve(cmp_run *r, const lsp_jsonr *attacks, const char *where, const char *name,
                      curve *c) {
  const lsp_jsonr *a, *pts;
  char w[160], wp[200];
  int st = lsp_jsonr_need(r->doc, attacks, where, name, LSP_JSONR_OBJECT, &a);
  snprintf(w, sizeof w, "%s.%s", where, name);
  if (!st) st = lsp_jsonr_need(r->doc, a, w, "points", LSP_JSONR_ARRAY, &pts);
  if (st) return st;
  c->n = pts->len;
  c->eps = calloc(c->n ? c->n : 1, sizeof *c->eps);
  c->acc = calloc(c->n ? c->n : 1, sizeof *c->acc);
  if (!c->eps || !c->acc) return lsp_fail(LSP_ENOMEM, "out of memory");
  for (size_t i = 0; i < c->n; i++) {
    snprintf(wp, sizeof wp, "%s.points[%zu]", w, i);
    const lsp_jsonr *p = pts->items[i];
    if (p->type != LSP_JSONR_OBJECT)
      return lsp_fail(LSP_EDATA, "%s: field %s: expected an object, found %s", r->path, wp,
                      lsp_jsonr_type_name(p->type));
    if ((st = lsp_jsonr_need_num(r->doc, p, wp, "eps", 0, &c->eps[i]))) return st;
    if ((st = lsp_jsonr_need_num(r->doc, p, wp, "accuracy", 1, &c->acc[i]))) return st;
  }
  return LSP_OK;
}

static int read_model(cmp_run *r, const lsp_jsonr *m, size_t i, cmp_model *cm) {
  char w[64], wc[96];
  snprintf(w, sizeof w, "models[%zu]", i);
  if (m->type != LSP_JSONR_OBJECT)
    return lsp_fail(LSP_EDATA, "%s: field %s: expected an object, found %s", r->path, w,
                    lsp_jsonr_type_name(m->type));
  const lsp_jsonr *cal, *calt, *cl, *att;
  int st;
  if ((st = lsp_jsonr_need_str(r->doc, m, w, "tag", 0, &cm->tag)) ||
      (st = lsp_jsonr_need_num(r->doc, m, w, "eps", 0, &cm->eps)) ||
      (st = lsp_jsonr_need_str(r->doc, m, w, "convention", 0, &cm->convention)) ||
      (st = lsp_jsonr_need_num(r->doc, m, w, "seed", 0, &cm->seed)) ||
      (st = lsp_jsonr_need(r->doc, m, w, "calibration", LSP_JSONR_OBJECT, &cal)) ||
      (st = lsp_jsonr_need(r->doc, m, w, "calibration_temperature_scaled", LSP_JSONR_OBJECT,
                           &calt)) ||
      (st = lsp_jsonr_need(r->doc, m, w, "clusters", LSP_JSONR_OBJECT, &cl)) ||
      (st = lsp_jsonr_need(r->doc, m, w, "attacks", LSP_JSONR_OBJECT, &att)))
    return st;
  snprintf(wc, sizeof wc, "%s.calibration", w);
  if ((st = metric(r, cal, wc, "accuracy", &cm->v[M_ACC], &cm->lo[M_ACC], &cm->hi[M_ACC])) ||
      (st = metric(r, cal, wc, "nll", &cm->v[M_NLL], &cm->lo[M_NLL], &cm->hi[M_NLL])) ||
      (st = metric(r, cal, wc, "ece", &cm->v[M_ECE], &cm->lo[M_ECE], &cm->hi[M_ECE])))
    return st;
  snprintf(wc, sizeof wc, "%s.calibration_temperature_scaled", w);
  if ((st = metric(r, calt, wc, "ece", &cm->v[M_ECET], &cm->lo[M_ECET], &cm->hi[M_ECET])) ||
      (st = lsp_jsonr_need_num(r->doc, calt, wc, "temperature", 1, &cm->temperature)))
    return st;
  const lsp_jsonr *fitted = lsp_jsonr_get(calt, "temperature_fitted");
  if (fitted && fitted->type == LSP_JSONR_BOOL && !fitted->b) cm->temperature = NAN;
  snprintf(wc, sizeof wc, "%s.clusters", w);
  if ((st = lsp_jsonr_need_num(r->doc, cl, wc, "r2_separation", 1, &cm->r2)) ||
      (st = lsp_jsonr_need_num(r->doc, cl, wc, "nc1", 1, &cm->nc1)))
    return st;
  snprintf(wc, sizeof wc, "%s.attacks", w);
  if ((st = read_curve(r, att, wc, "fgsm", &cm->fgsm)) ||
      (st = read_curve(r, att, wc, "pgd", &cm->pgd)))
    return st;
  return LSP_OK;
}

static void run_name(cmp_run *r) {
  /* the folder holding the file ("." for a bare file name) */
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s", r->path);
  char *slash = strrchr(tmp, '/');
  while (slash && slash != tmp && slash[1] == 0) { /* trailing slashes */
    *slash = 0;
    slash = strrchr(tmp, '/');
  }
  if (!slash) {
    char cwd[4096];
    const char *base = getcwd(cwd, sizeof cwd) ? strrchr(cwd, '/') : NULL;
    snprintf(r->name, sizeof r->name, "%s", base && base[1] ? base + 1 : ".");
    return;
  }
  *slash = 0;
  const char *dir = strrchr(tmp, '/');
  snprintf(r->name, sizeof r->name, "%.200s", dir ? dir + 1 : (tmp[0] ? tmp : "/"));
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
  const lsp_jsonr *root = lsp_jsonr_root(r->doc), *cfg, *models;
  if (root->type != LSP_JSONR_OBJECT)
    return lsp_fail(LSP_EDATA, "%s: not an lsprobe results.json (the top level is %s, not an object)",
                    r->path, lsp_jsonr_type_name(root->type));
  if (!lsp_jsonr_get(root, "lsprobe_version") || !lsp_jsonr_get(root, "models"))
    return lsp_fail(LSP_EDATA, "%s: not an lsprobe results.json (field %s is missing)", r->path,
                    lsp_jsonr_get(root, "models") ? "lsprobe_version" : "models");
  if ((st = lsp_jsonr_need_str(r->doc, root, "", "lsprobe_version", 0, &r->version)) ||
      (st = lsp_jsonr_need(r->doc, root, "", "config", LSP_JSONR_OBJECT, &cfg)) ||
      (st = lsp_jsonr_need(r->doc, root, "", "models", LSP_JSONR_ARRAY, &models)) ||
      (st = lsp_jsonr_need_str(r->doc, cfg, "config", "data", 0, &r->data)) ||
      (st = lsp_jsonr_need_str(r->doc, cfg, "config", "data_hash", 0, &r->hash)) ||
      (st = lsp_jsonr_need_str(r->doc, cfg, "config", "convention", 0, &r->convention)) ||
      (st = lsp_jsonr_need_num(r->doc, cfg, "config", "epochs", 0, &r->epochs)) ||
      (st = num_list(r, cfg, "config", "hidden", r->hidden, sizeof r->hidden)) ||
      (st = num_list(r, cfg, "config", "smoothing", r->smoothing, sizeof r->smoothing)) ||
      (st = num_list(r, cfg, "config", "seeds", r->seeds, sizeof r->seeds)) ||
      (st = num_list(r, cfg, "config", "attack_eps", r->attack, sizeof r->attack)))
    return st;
  if (models->len == 0) return lsp_fail(LSP_EDATA, "%s: field models: the run has no models", r->path);
  r->started = lsp_jsonr_str_or(root, "started", "");
  r->command = lsp_jsonr_str_or(root, "command", "");
  const lsp_jsonr *q = lsp_jsonr_get(cfg, "quick"), *sy = lsp_jsonr_get(cfg, "synthetic");
  r->quick = q && q->type == LSP_JSONR_BOOL && q->b;
  r->synthetic = sy && sy->type == LSP_JSONR_BOOL && sy->b;
  r->models = calloc(models->len, sizeof *r->models);
  if (!r->models) return lsp_fail(LSP_ENOMEM, "out of memory");
  r->nmodels = models->len;
  for (size_t i = 0; i < models->len; i++)
    if ((st = read_model(r, models->items[i], i, &r->models[i]))) return st;
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
    lsp_jsonr_free(runs[i].doc);
  }
  free(runs);
}
