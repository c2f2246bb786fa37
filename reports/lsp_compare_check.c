/* lsp_compare_check.c — what the runs of `lsprobe compare` have in common
 * (lsp_compare_int.h): the attack ε of the table's FGSM/PGD columns, every
 * recorded setting that changes the compared numbers (a warning names each
 * one that differs, with every run's value), and inputs that are one run
 * twice. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "core/base/lsp_util.h"
#include "reports/lsp_compare_int.h"
#include "reports/lsp_results_schema.h"

/* ---- the attack ε of the table -------------------------------------------- */

size_t lsp_compare_eps_index(const curve *c, double e) {
  size_t i = 0;
  while (i < c->n && !(fabs(c->eps[i] - e) <= 1e-12 * (1 + fabs(e)))) i++;
  return i;
}
static int has_eps(const curve *c, double e) { return lsp_compare_eps_index(c, e) < c->n; }
static int everyone_has(const cmp_state *s, double e) {
  for (size_t r = 0; r < s->n; r++)
    for (size_t m = 0; m < s->runs[r].nmodels; m++)
      if (!has_eps(&s->runs[r].models[m].fgsm, e) || !has_eps(&s->runs[r].models[m].pgd, e))
        return 0;
  return 1;
}

int lsp_compare_pick_ref(cmp_state *s) {
  const curve *c = &s->runs[0].models[0].fgsm;
  if (!isnan(s->o->ref_eps)) {
    s->ref = s->o->ref_eps;
    if (everyone_has(s, s->ref)) {
      /* the ε as the runs recorded it, which the table heads and
       * compare.json name (a --ref-eps within the tolerance of 0 is 0) */
      s->ref = c->eps[lsp_compare_eps_index(c, s->ref)];
      return LSP_OK;
    }
    cmp_str shared = {0};
    for (size_t i = 0; i < c->n; i++)
      if (everyone_has(s, c->eps[i]))
        cmp_str_addf(&shared, "%s%g", shared.len ? ", " : "", c->eps[i]);
    int st = shared.oom ? lsp_fail(LSP_ENOMEM, "out of memory")
                        : lsp_fail(LSP_EINVAL, "--ref-eps %g: not an attack ε of every model (%s%s)",
                                   s->ref, shared.len ? "shared: " : "no ε is shared",
                                   cmp_str_get(&shared));
    free(shared.s);
    return st;
  }
  s->ref = NAN;
  if (everyone_has(s, 0.1)) {
    s->ref = 0.1;
    return LSP_OK;
  }
  /* the largest shared ε above 0: at ε = 0 the columns would repeat the
   * clean accuracy (--ref-eps 0 still shows it) */
  for (size_t i = 0; i < c->n; i++)
    if (c->eps[i] > 0 && everyone_has(s, c->eps[i]) && (isnan(s->ref) || c->eps[i] > s->ref))
      s->ref = c->eps[i];
  return LSP_OK;
}

/* ---- one run twice ---------------------------------------------------------- */

/* A model's cache key: its file name without the folder ("models/"). */
static const char *model_key(const cmp_model *m) {
  const char *slash = strrchr(m->model_file, '/');
  return slash ? slash + 1 : m->model_file;
}

static int has_model(const cmp_run *r, const cmp_model *m) {
  for (size_t i = 0; i < r->nmodels; i++)
    if (!strcmp(model_key(&r->models[i]), model_key(m))) return 1;
  return 0;
}

/* 1 when runs a and b hold the same trained models (the same cache keys;
 * the keys of one run are distinct) */
static int same_models(const cmp_run *a, const cmp_run *b) {
  if (a->nmodels == 0 || a->nmodels != b->nmodels) return 0;
  for (size_t i = 0; i < a->nmodels; i++)
    if (!has_model(b, &a->models[i])) return 0;
  return 1;
}

int lsp_compare_refuse_twice(const cmp_state *s, const char *const *inputs) {
  /* one results.json named twice (its folder and the file, or through a
   * link) would list every model twice as two runs */
  for (size_t i = 1; i < s->n; i++) {
    struct stat a, b;
    if (stat(s->runs[i].path, &a) != 0) continue;
    for (size_t k = 0; k < i; k++)
      if (stat(s->runs[k].path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
        return lsp_fail(LSP_EINVAL, "%s: the same results.json is given twice (as %s and %s)",
                        s->runs[i].path, inputs[k], inputs[i]);
  }
  /* and so would a copy: two runs never write the same bytes (the start
   * time and the timings differ) */
  char **buf = calloc(s->n, sizeof *buf);
  size_t *len = calloc(s->n, sizeof *len);
  int st = buf && len ? LSP_OK : lsp_fail(LSP_ENOMEM, "out of memory");
  for (size_t i = 0; i < s->n && !st; i++) st = lsp_read_file(s->runs[i].path, &buf[i], &len[i]);
  for (size_t i = 1; i < s->n && !st; i++)
    for (size_t k = 0; k < i && !st; k++)
      if (len[i] == len[k] && !memcmp(buf[i], buf[k], len[i]))
        st = lsp_fail(LSP_EINVAL, "%s: a copy of %s (the same bytes): one run given twice",
                      s->runs[i].path, s->runs[k].path);
  for (size_t i = 0; buf && i < s->n; i++) free(buf[i]);
  free(buf);
  free(len);
  /* and so would two results.json of one study (a rerun that reused every
   * model from the cache writes other bytes): the same trained models */
  for (size_t i = 1; i < s->n && !st; i++)
    for (size_t k = 0; k < i && !st; k++)
      if (same_models(&s->runs[i], &s->runs[k]))
        st = lsp_fail(LSP_EINVAL,
                      "%s and %s hold the same trained models (%s: %s in both): one study "
                      "given twice; compare lays runs side by side, it does not pool them — "
                      "to pool seeds, run once with all of them (README: compare)",
                      inputs[k], inputs[i], s->runs[i].models[0].tag,
                      s->runs[i].models[0].model_file);
  return st;
}

/* ---- the settings ----------------------------------------------------------- */

/* The recorded settings that change the numbers compare lays side by side,
 * beyond the dataset, the architecture, the attack ε list and the epochs
 * (warned on by themselves). The smoothing ε, the convention and the seeds
 * are what the rows tell apart, not settings to share. */
enum { G_SPLIT, G_TRAIN, G_ATTACK, G_CALIB, NGROUP };
static const char *const k_group[NGROUP] = {"data splits", "training settings",
                                            "attack settings", "calibration settings"};
static const struct {
  lsp_rf f;
  int group;
} k_settings[] = {
    {LSP_RF_CFG_N_TRAIN, G_SPLIT},      {LSP_RF_CFG_N_VAL, G_SPLIT},
    {LSP_RF_CFG_N_TEST, G_SPLIT},       {LSP_RF_CFG_BATCH, G_TRAIN},
    {LSP_RF_CFG_LR, G_TRAIN},           {LSP_RF_CFG_MOMENTUM, G_TRAIN},
    {LSP_RF_CFG_NORMALIZE, G_TRAIN},    {LSP_RF_CFG_PGD_STEPS, G_ATTACK},
    {LSP_RF_CFG_PGD_RESTARTS, G_ATTACK}, {LSP_RF_CFG_N_ATTACK, G_ATTACK},
    {LSP_RF_CFG_BINS, G_CALIB},         {LSP_RF_CFG_BOOTSTRAP, G_CALIB},
};
#define NSETTINGS (sizeof k_settings / sizeof k_settings[0])

/* Two validated values of one setting alike: numbers equal, arrays item by
 * item; a missing array (a run from before the field) is the empty one. */
static int same_value(const lsp_jsonr *a, const lsp_jsonr *b) {
  size_t na = a ? (a->type == LSP_JSONR_ARRAY ? a->len : 1) : 0;
  size_t nb = b ? (b->type == LSP_JSONR_ARRAY ? b->len : 1) : 0;
  if (!a || !b) return na == 0 && nb == 0;
  if (a->type != b->type) return 0;
  if (a->type == LSP_JSONR_NUMBER) return a->num == b->num;
  if (a->type != LSP_JSONR_ARRAY || na != nb) return 0;
  for (size_t i = 0; i < na; i++)
    if (a->items[i]->type != b->items[i]->type ||
        (a->items[i]->type == LSP_JSONR_NUMBER && a->items[i]->num != b->items[i]->num))
      return 0;
  return 1;
}

static void add_value(cmp_str *w, const lsp_jsonr *v) {
  char t[32];
  if (!v) {
    cmp_str_addf(w, "none");
  } else if (v->type == LSP_JSONR_NUMBER) {
    lsp_shortest_g(v->num, t, sizeof t);
    cmp_str_addf(w, "%s", t);
  } else if (v->type == LSP_JSONR_ARRAY) {
    cmp_str_addf(w, "[");
    for (size_t i = 0; i < v->len; i++) {
      lsp_shortest_g(v->items[i]->num, t, sizeof t);
      cmp_str_addf(w, "%s%s", i ? "," : "", t);
    }
    cmp_str_addf(w, "]");
  }
}

/* ---- the warnings ----------------------------------------------------------- */

static int add_warn(cmp_state *s, cmp_str *w) {
  if (w->oom) {
    free(w->s);
    return lsp_fail(LSP_ENOMEM, "out of memory");
  }
  char **a = realloc(s->warn, (s->nwarn + 1) * sizeof *a);
  if (!a) {
    free(w->s);
    return lsp_fail(LSP_ENOMEM, "out of memory");
  }
  s->warn = a;
  s->warn[s->nwarn++] = w->s;
  return LSP_OK;
}

static const char *data_of(const cmp_run *r) { return r->data; }
static const char *hash_of(const cmp_run *r) { return r->hash; }
static const char *arch_of(const cmp_run *r) { return r->arch; }
static const char *architecture_of(const cmp_run *r) { return r->architecture; }
static const char *attack_of(const cmp_run *r) { return r->attack; }

static int warn_list(cmp_state *s, const char *what, const char *(*get)(const cmp_run *)) {
  cmp_str w = {0};
  cmp_str_addf(&w, "Not comparable: different %s: ", what);
  for (size_t r = 0; r < s->n; r++)
    cmp_str_addf(&w, "%s%s: [%s]", r ? "; " : "", s->runs[r].name, get(&s->runs[r]));
  cmp_str_addf(&w, ".");
  return add_warn(s, &w);
}

/* Same network: the canonical strings when both runs have one, else (a run
 * from before --arch) the --arch text, "mlp:W,W" for those. */
static int same_arch(const cmp_run *a, const cmp_run *b) {
  if (a->architecture && b->architecture) return strcmp(a->architecture, b->architecture) == 0;
  return strcmp(a->arch, b->arch) == 0;
}

/* Every run's config agrees with the first's on `f`. */
static int setting_shared(const cmp_state *s, lsp_rf f) {
  const lsp_jsonr *a = lsp_jsonr_get(s->runs[0].config, lsp_results_key(f));
  for (size_t r = 1; r < s->n; r++)
    if (!same_value(a, lsp_jsonr_get(s->runs[r].config, lsp_results_key(f)))) return 0;
  return 1;
}

int lsp_compare_check(cmp_state *s) {
  int data = 0, hash = 0, hid = 0, att = 0, ep = 0, st = LSP_OK;
  const cmp_run *a = &s->runs[0];
  for (size_t r = 1; r < s->n; r++) {
    const cmp_run *b = &s->runs[r];
    data |= strcmp(a->data, b->data) != 0;
    hash |= strcmp(a->hash, b->hash) != 0;
    hid |= !same_arch(a, b);
    ep |= a->epochs != b->epochs;
  }
  att = !setting_shared(s, LSP_RF_CFG_ATTACK_EPS); /* the values, not their text */
  if (data) st = warn_list(s, "datasets", data_of);
  else if (hash) st = warn_list(s, "data (same dataset name, different data hash)", hash_of);
  /* by their --arch texts, unless those agree: the same text can be two
   * networks (an MLP on 64 or on 784 inputs), named then by the canonical
   * strings that were compared */
  int canon = 1, texts = 0;
  for (size_t r = 0; r < s->n; r++) {
    canon &= s->runs[r].architecture != NULL;
    texts |= strcmp(s->runs[r].arch, a->arch) != 0;
  }
  if (hid && !st) st = warn_list(s, "architectures", canon && !texts ? architecture_of : arch_of);
  if (att && !st) st = warn_list(s, "attack ε lists", attack_of);
  if (ep && !st) {
    cmp_str w = {0};
    cmp_str_addf(&w, "Different training budgets (epochs):");
    for (size_t r = 0; r < s->n; r++)
      cmp_str_addf(&w, "%s %s: %g", r ? ";" : "", s->runs[r].name, s->runs[r].epochs);
    cmp_str_addf(&w, ".");
    st = add_warn(s, &w);
  }
  /* the other settings, one warning per kind naming each that differs
   * with every run's value */
  for (int g = 0; g < NGROUP && !st; g++) {
    cmp_str w = {0};
    for (size_t k = 0; k < NSETTINGS; k++) {
      if (k_settings[k].group != g || setting_shared(s, k_settings[k].f)) continue;
      const char *key = lsp_results_key(k_settings[k].f);
      cmp_str_addf(&w, "%s%s (", w.len ? "; " : "", key);
      for (size_t r = 0; r < s->n; r++) {
        cmp_str_addf(&w, "%s%s: ", r ? ", " : "", s->runs[r].name);
        add_value(&w, lsp_jsonr_get(s->runs[r].config, key));
      }
      cmp_str_addf(&w, ")");
    }
    if (!w.len && !w.oom) continue;
    cmp_str m = {0};
    cmp_str_addf(&m, "Different %s: %s.", k_group[g], cmp_str_get(&w));
    free(w.s);
    if (w.oom) m.oom = 1;
    st = add_warn(s, &m);
  }
  if (isnan(s->ref) && !st) {
    cmp_str w = {0};
    cmp_str_addf(&w, "No attack ε above 0 is shared by every model: the FGSM/PGD columns are empty.");
    st = add_warn(s, &w);
  }
  if (st) return st;
  /* what is shared: only what was compared and found alike */
  cmp_str *sh = &s->shared;
  const char *items[5] = {!data ? "dataset" : NULL, !data && !hash ? "data hash" : NULL,
                          !hid ? "architecture" : NULL, !ep ? "training budget (epochs)" : NULL,
                          !att ? "attack ε list" : NULL};
  for (int i = 0; i < 5; i++)
    if (items[i]) cmp_str_addf(sh, "%s%s", sh->len ? ", " : "", items[i]);
  for (size_t k = 0; k < NSETTINGS; k++)
    if (setting_shared(s, k_settings[k].f))
      cmp_str_addf(sh, "%s%s", sh->len ? ", " : "", lsp_results_key(k_settings[k].f));
  return sh->oom ? lsp_fail(LSP_ENOMEM, "out of memory") : LSP_OK;
}
