/* lsp_compare.c — `lsprobe compare`: lay out what earlier runs recorded
 * (lsp_compare.h). Reads results.json files with core/formats/lsp_jsonr.h, copies
 * their numbers into tables and series, and reuses the run report's
 * writers (HTML, Markdown, CSV, JSON, gnuplot). Computes no metric. */
#define _POSIX_C_SOURCE 200809L
#include "reports/lsp_compare.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "core/formats/lsp_json.h"
#include "core/formats/lsp_jsonr.h"
#include "reports/lsp_compare_int.h"
#include "reports/lsp_csv.h"
#include "reports/lsp_doc.h"
#include "reports/lsp_html.h"
#include "reports/lsp_md.h"
#include "reports/lsp_outdir.h"
#include "reports/lsp_table.h"

void lsp_compare_opts_default(lsp_compare_opts *o) {
  memset(o, 0, sizeof *o);
  o->format = LSP_PLOT_SVG;
  o->ref_eps = NAN;
}

/* ---- what the runs have in common ------------------------------------------ */


static int has_eps(const curve *c, double e) {
  for (size_t i = 0; i < c->n; i++)
    if (fabs(c->eps[i] - e) <= 1e-12 * (1 + fabs(e))) return 1;
  return 0;
}
static double at_eps(const curve *c, double e) {
  for (size_t i = 0; i < c->n; i++)
    if (fabs(c->eps[i] - e) <= 1e-12 * (1 + fabs(e))) return c->acc[i];
  return NAN;
}
static int everyone_has(const cmp_state *s, double e) {
  for (size_t r = 0; r < s->n; r++)
    for (size_t m = 0; m < s->runs[r].nmodels; m++)
      if (!has_eps(&s->runs[r].models[m].fgsm, e) || !has_eps(&s->runs[r].models[m].pgd, e))
        return 0;
  return 1;
}

/* The attack ε of the FGSM/PGD columns: the one asked for, which every
 * model must have been attacked at (else LSP_EINVAL naming the shared ones),
 * or 0.1 when every model has it, else the largest shared ε (NaN: none). */
static int pick_ref(cmp_state *s) {
  const curve *c = &s->runs[0].models[0].fgsm;
  if (!isnan(s->o->ref_eps)) {
    s->ref = s->o->ref_eps;
    if (everyone_has(s, s->ref)) return LSP_OK;
    char shared[256] = "";
    size_t off = 0;
    for (size_t i = 0; i < c->n && off < sizeof shared; i++)
      if (everyone_has(s, c->eps[i]))
        off += (size_t)snprintf(shared + off, sizeof shared - off, "%s%g", off ? ", " : "",
                                c->eps[i]);
    return lsp_fail(LSP_EINVAL, "--ref-eps %g: not an attack ε of every model (%s%s)", s->ref,
                    shared[0] ? "shared: " : "no ε is shared", shared);
  }
  s->ref = NAN;
  if (everyone_has(s, 0.1)) {
    s->ref = 0.1;
    return LSP_OK;
  }
  for (size_t i = 0; i < c->n; i++)
    if (everyone_has(s, c->eps[i]) && (isnan(s->ref) || c->eps[i] > s->ref)) s->ref = c->eps[i];
  return LSP_OK;
}

static const char *data_of(const cmp_run *r) { return r->data; }
static const char *hash_of(const cmp_run *r) { return r->hash; }
static const char *arch_of(const cmp_run *r) { return r->arch; }
static const char *architecture_of(const cmp_run *r) { return r->architecture; }

/* Same network: the canonical strings when both runs have one, else (a run
 * from before --arch) the --arch text, "mlp:W,W" for those. */
static int same_arch(const cmp_run *a, const cmp_run *b) {
  if (a->architecture && b->architecture) return strcmp(a->architecture, b->architecture) == 0;
  return strcmp(a->arch, b->arch) == 0;
}
static const char *attack_of(const cmp_run *r) { return r->attack; }

static void add_warn_list(cmp_state *s, const char *what, const char *(*get)(const cmp_run *)) {
  if (s->nwarn >= MAXWARN) return;
  char *w = s->warn[s->nwarn];
  size_t off = (size_t)snprintf(w, sizeof s->warn[0], "Not comparable: different %s: ", what);
  for (size_t r = 0; r < s->n && off < sizeof s->warn[0]; r++)
    off += (size_t)snprintf(w + off, sizeof s->warn[0] - off, "%s%s: [%s]", r ? "; " : "",
                            s->runs[r].name, get(&s->runs[r]));
  if (off < sizeof s->warn[0]) snprintf(w + off, sizeof s->warn[0] - off, ".");
  s->nwarn++;
}

static void check_comparable(cmp_state *s) {
  int data = 0, hash = 0, hid = 0, att = 0, ep = 0;
  const cmp_run *a = &s->runs[0];
  for (size_t r = 1; r < s->n; r++) {
    const cmp_run *b = &s->runs[r];
    data |= strcmp(a->data, b->data) != 0;
    hash |= strcmp(a->hash, b->hash) != 0;
    hid |= !same_arch(a, b);
    att |= strcmp(a->attack, b->attack) != 0;
    ep |= a->epochs != b->epochs;
  }
  if (data) add_warn_list(s, "datasets", data_of);
  else if (hash) add_warn_list(s, "data (same dataset name, different data hash)", hash_of);
  /* by their --arch texts, unless those agree: the same text can be two
   * networks (an MLP on 64 or on 784 inputs), named then by the canonical
   * strings that were compared */
  int canon = 1, texts = 0;
  for (size_t r = 0; r < s->n; r++) {
    canon &= s->runs[r].architecture != NULL;
    texts |= strcmp(s->runs[r].arch, a->arch) != 0;
  }
  if (hid) add_warn_list(s, "architectures", canon && !texts ? architecture_of : arch_of);
  if (att) add_warn_list(s, "attack ε lists", attack_of);
  if (ep && s->nwarn < MAXWARN) {
    char *w = s->warn[s->nwarn++];
    size_t off = (size_t)snprintf(w, sizeof s->warn[0], "Different training budgets (epochs):");
    for (size_t r = 0; r < s->n && off < sizeof s->warn[0]; r++)
      off += (size_t)snprintf(w + off, sizeof s->warn[0] - off, "%s %s: %g", r ? ";" : "",
                              s->runs[r].name, s->runs[r].epochs);
    if (off < sizeof s->warn[0]) snprintf(w + off, sizeof s->warn[0] - off, ".");
  }
  if (isnan(s->ref) && s->nwarn < MAXWARN)
    snprintf(s->warn[s->nwarn++], sizeof s->warn[0],
             "No attack ε is shared by every model: the FGSM/PGD columns are empty.");
}

/* ---- tables ----------------------------------------------------------------- */

static void set_ci(lsp_table *t, size_t col, double v, double lo, double hi) {
  if (isfinite(lo) && isfinite(hi)) lsp_table_num_ci(t, col, v, lo, hi);
  else lsp_table_num(t, col, v);
}

static lsp_table *models_table(const cmp_state *s) {
  char fg[64], pg[64];
  snprintf(fg, sizeof fg, "FGSM acc. (ε=%g)", s->ref);
  snprintf(pg, sizeof pg, "PGD acc. (ε=%g)", s->ref);
  const char *hdr[] = {"run", "model", "data", "ε", "convention", "seed", "test accuracy", "NLL",
                       "ECE", "ECE after T", "T", "R² separation", "NC1", fg, pg};
  /* compare.csv's header: machine names, as in a run's models.csv */
  static const char *keys[] = {"run", "model", "data", "eps", "convention", "seed",
                               "accuracy", "nll", "ece", "ece_after_t", "temperature",
                               "r2_separation", "nc1", "fgsm_accuracy", "pgd_accuracy"};
  lsp_table *t = lsp_table_alloc(15, hdr);
  if (!t) return NULL;
  if (lsp_table_keys(t, keys)) goto oom;
  for (size_t r = 0; r < s->n; r++)
    for (size_t i = 0; i < s->runs[r].nmodels; i++) {
      const cmp_run *run = &s->runs[r];
      const cmp_model *m = &run->models[i];
      if (lsp_table_row(t)) goto oom;
      lsp_table_text(t, 0, run->name);
      lsp_table_text(t, 1, m->tag);
      lsp_table_text(t, 2, run->data);
      char e[32];
      snprintf(e, sizeof e, "%g", m->eps); /* as the run was asked for, e.g. "0.05" */
      lsp_table_text(t, 3, e);
      lsp_table_text(t, 4, m->convention);
      lsp_table_int(t, 5, (long long)m->seed);
      for (int k = 0; k < NCI; k++) set_ci(t, 6 + (size_t)k, m->v[k], m->lo[k], m->hi[k]);
      lsp_table_num(t, 10, m->temperature);
      lsp_table_num(t, 11, m->r2);
      lsp_table_num(t, 12, m->nc1);
      lsp_table_num(t, 13, at_eps(&m->fgsm, s->ref));
      lsp_table_num(t, 14, at_eps(&m->pgd, s->ref));
    }
  for (size_t c = 6; c <= 9; c++) lsp_table_digits(t, c, 4);
  return t;
oom:
  lsp_table_free(t);
  return NULL;
}

static lsp_table *runs_table(const cmp_state *s) {
  const char *hdr[] = {"run", "file", "data", "data hash", "arch", "epochs", "convention",
                       "smoothing ε", "seeds", "attack ε", "quick", "started"};
  lsp_table *t = lsp_table_alloc(12, hdr);
  if (!t) return NULL;
  for (size_t r = 0; r < s->n; r++) {
    const cmp_run *x = &s->runs[r];
    if (lsp_table_row(t)) {
      lsp_table_free(t);
      return NULL;
    }
    lsp_table_text(t, 0, x->name);
    lsp_table_text(t, 1, x->path);
    lsp_table_text(t, 2, x->data);
    lsp_table_text(t, 3, x->hash);
    lsp_table_text(t, 4, x->arch);
    lsp_table_int(t, 5, (long long)x->epochs);
    lsp_table_text(t, 6, x->convention);
    lsp_table_text(t, 7, x->smoothing);
    lsp_table_text(t, 8, x->seeds);
    lsp_table_text(t, 9, x->attack);
    lsp_table_text(t, 10, x->quick ? "yes" : "no");
    lsp_table_text(t, 11, x->started);
  }
  return t;
}

/* ---- compare.json ---------------------------------------------------------- */

static void json_ci(lsp_json *j, const char *key, double v, double lo, double hi) {
  char ck[64];
  lsp_json_key_num(j, key, v);
  snprintf(ck, sizeof ck, "%s_ci", key);
  lsp_json_key(j, ck);
  if (isfinite(lo) || isfinite(hi)) {
    lsp_json_arr_begin(j);
    lsp_json_num(j, lo);
    lsp_json_num(j, hi);
    lsp_json_arr_end(j);
  } else {
    lsp_json_null(j);
  }
}

static int write_json(const cmp_state *s, const char *path) {
  lsp_outfile f;
  int st = lsp_out_open(&f, path);
  if (st) return st;
  lsp_json j;
  lsp_json_init(&j, f.fp, 1);
  lsp_json_obj_begin(&j);
  lsp_json_key_str(&j, "tool", "lsprobe compare");
  if (s->o->command) lsp_json_key_str(&j, "command", s->o->command);
  lsp_json_key_num(&j, "reference_attack_eps", s->ref);
  lsp_json_key_bool(&j, "comparable", s->nwarn == 0);
  lsp_json_key(&j, "warnings");
  lsp_json_arr_begin(&j);
  for (size_t i = 0; i < s->nwarn; i++) lsp_json_str(&j, s->warn[i]);
  lsp_json_arr_end(&j);
  lsp_json_key(&j, "inputs");
  lsp_json_arr_begin(&j);
  for (size_t r = 0; r < s->n; r++) {
    const cmp_run *x = &s->runs[r];
    lsp_json_obj_begin(&j);
    lsp_json_key_str(&j, "path", x->path);
    lsp_json_key_str(&j, "run", x->name);
    lsp_json_key_str(&j, "lsprobe_version", x->version);
    lsp_json_key_str(&j, "started", x->started);
    lsp_json_key_str(&j, "command", x->command);
    lsp_json_key_str(&j, "data", x->data);
    lsp_json_key_str(&j, "data_hash", x->hash);
    lsp_json_key_str(&j, "arch", x->arch);
    lsp_json_key(&j, "architecture");
    lsp_json_str(&j, x->architecture); /* null in runs from before --arch */
    lsp_json_key_num(&j, "epochs", x->epochs);
    lsp_json_key_str(&j, "convention", x->convention);
    lsp_json_key_str(&j, "smoothing", x->smoothing);
    lsp_json_key_str(&j, "seeds", x->seeds);
    lsp_json_key_str(&j, "attack_eps", x->attack);
    lsp_json_key_bool(&j, "quick", x->quick);
    lsp_json_obj_end(&j);
  }
  lsp_json_arr_end(&j);
  lsp_json_key(&j, "rows");
  lsp_json_arr_begin(&j);
  for (size_t r = 0; r < s->n; r++)
    for (size_t i = 0; i < s->runs[r].nmodels; i++) {
      const cmp_run *x = &s->runs[r];
      const cmp_model *m = &x->models[i];
      lsp_json_obj_begin(&j);
      lsp_json_key_int(&j, "input", (long long)r);
      lsp_json_key_str(&j, "run", x->name);
      lsp_json_key_str(&j, "model", m->tag);
      lsp_json_key_str(&j, "data", x->data);
      lsp_json_key_num(&j, "eps", m->eps);
      lsp_json_key_str(&j, "convention", m->convention);
      lsp_json_key_num(&j, "seed", m->seed);
      json_ci(&j, "accuracy", m->v[M_ACC], m->lo[M_ACC], m->hi[M_ACC]);
      json_ci(&j, "nll", m->v[M_NLL], m->lo[M_NLL], m->hi[M_NLL]);
      json_ci(&j, "ece", m->v[M_ECE], m->lo[M_ECE], m->hi[M_ECE]);
      json_ci(&j, "ece_after_t", m->v[M_ECET], m->lo[M_ECET], m->hi[M_ECET]);
      lsp_json_key_num(&j, "temperature", m->temperature);
      lsp_json_key_num(&j, "r2_separation", m->r2);
      lsp_json_key_num(&j, "nc1", m->nc1);
      lsp_json_key_num(&j, "fgsm_accuracy", at_eps(&m->fgsm, s->ref));
      lsp_json_key_num(&j, "pgd_accuracy", at_eps(&m->pgd, s->ref));
      lsp_json_obj_end(&j);
    }
  lsp_json_arr_end(&j);
  lsp_json_obj_end(&j);
  if (lsp_json_finish(&j)) {
    lsp_out_abort(&f);
    return lsp_fail(LSP_EIO, "%s: write failed", path);
  }
  return lsp_out_commit(&f);
}

/* ---- the report ------------------------------------------------------------- */

static int write_report(const cmp_state *s, const char *dir, const lsp_compare_figs *f) {
  char title[128], buf[1024];
  char *html = lsp_strdupf("%s/compare.html", dir), *md = lsp_strdupf("%s/compare.md", dir);
  char *csv = lsp_strdupf("%s/compare.csv", dir);
  snprintf(title, sizeof title, "lsprobe compare: %zu run%s", s->n, s->n == 1 ? "" : "s");
  lsp_table *mt = models_table(s), *rt = runs_table(s);
  lsp_doc d;
  memset(&d, 0, sizeof d);
  int st = (!mt || !rt || !html || !md || !csv) ? lsp_fail(LSP_ENOMEM, "out of memory") : LSP_OK;
  if (!st) st = lsp_doc_open(&d, html, md, title);
  if (st) goto done;
  lsp_doc_par(&d, "Every number below is copied from the runs' results.json files; nothing is "
            "recomputed. Intervals are the ones each run recorded (see its own report for how "
            "they were obtained).");
  if (s->o->command) {
    lsp_doc_code(&d, s->o->command);
  }
  for (size_t i = 0; i < s->nwarn; i++) lsp_doc_note(&d, LSP_HTML_WARNING, s->warn[i]);
  if (!s->nwarn)
    lsp_doc_note(&d, LSP_HTML_INFO, "The runs share dataset, data hash, architecture, training "
                              "budget and attack ε list.");
  if (f->note[0]) lsp_doc_note(&d, LSP_HTML_WARNING, f->note);
  lsp_doc_heading(&d, 2, "Runs");
  lsp_doc_table(&d, rt, "The configuration of each input");
  /* the command line of every run, one per line */
  size_t off = 0;
  buf[0] = 0;
  for (size_t r = 0; r < s->n && off < sizeof buf; r++)
    if (s->runs[r].command[0])
      off += (size_t)snprintf(buf + off, sizeof buf - off, "%s%.200s: %.600s", off ? "\n" : "",
                              s->runs[r].name, s->runs[r].command);
  if (buf[0]) {
    lsp_doc_code(&d, buf);
  }
  lsp_doc_heading(&d, 2, "Models");
  snprintf(buf, sizeof buf,
           "One row per model of every run. Intervals in brackets; T = fitted temperature; "
           "attack columns at ε = %g (pixel scale).",
           s->ref);
  lsp_doc_table(&d, mt, buf);
  lsp_doc_heading(&d, 2, "Metrics against smoothing ε");
  double e0 = NAN;
  if (lsp_compare_distinct_eps(s, &e0) == 1) {
    snprintf(buf, sizeof buf,
             "Every model has the same smoothing ε (%g): there is no figure against ε; the "
             "table above has the numbers.",
             e0);
    lsp_doc_par(&d, buf);
  }
  lsp_doc_figure(&d, f->svg[0] ? f->svg[0] : "", f->extra[0],
           "Accuracy, ECE (before and after temperature scaling), R² separation and NC1 against "
           "the smoothing ε; one line per run; bars are the recorded intervals.");
  lsp_doc_heading(&d, 2, "Robustness");
  lsp_doc_figure(&d, f->svg[1] ? f->svg[1] : "", f->extra[1],
           "Accuracy under FGSM and PGD against the attack ε, every model of every run (colour = "
           "run, dash = model).");
  st = lsp_doc_close(&d);
done:
  if (!st) st = lsp_csv_write(csv, mt);
  lsp_table_free(mt);
  lsp_table_free(rt);
  free(html);
  free(md);
  free(csv);
  return st;
}

int lsp_compare(const char *const *inputs, size_t n, const char *out, const lsp_compare_opts *opts,
                char *report, size_t cap, char *warning, size_t wcap) {
  if (!inputs || !out || !opts) return lsp_fail(LSP_EINVAL, "compare: NULL argument");
  if (n == 0) return lsp_fail(LSP_EINVAL, "compare: no results.json given");
  if (warning && wcap) warning[0] = 0;
  cmp_state s;
  memset(&s, 0, sizeof s);
  s.o = opts;
  s.n = n;
  s.runs = calloc(n, sizeof *s.runs);
  if (!s.runs) return lsp_fail(LSP_ENOMEM, "out of memory");
  lsp_outdir *od = NULL;
  char *path = NULL;
  lsp_compare_figs f;
  memset(&f, 0, sizeof f);
  int st = LSP_OK;
  for (size_t i = 0; i < n && !st; i++) {
    if (!inputs[i]) {
      st = lsp_fail(LSP_EINVAL, "compare: NULL input");
      break;
    }
    s.runs[i].path = inputs[i];
    st = lsp_compare_read_run(&s.runs[i]);
  }
  if (st) goto done;
  /* each run once: one results.json named twice (its folder and the file,
   * or through a link) would list every model twice as two runs */
  for (size_t i = 1; i < n && !st; i++) {
    struct stat a, b;
    if (stat(s.runs[i].path, &a) != 0) continue;
    for (size_t k = 0; k < i; k++)
      if (stat(s.runs[k].path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
        st = lsp_fail(LSP_EINVAL, "%s: the same results.json is given twice (as %s and %s)",
                      s.runs[i].path, inputs[k], inputs[i]);
        break;
      }
  }
  if (st) goto done;
  /* distinct run names: a repeated folder name gets " (2)", " (3)", ... */
  for (size_t i = 1; i < n; i++) {
    size_t same = 1;
    for (size_t k = 0; k < i; k++) same += !strcmp(s.runs[k].name, s.runs[i].name);
    if (same > 1) {
      size_t l = strlen(s.runs[i].name);
      if (l > sizeof s.runs[i].name - 16) l = sizeof s.runs[i].name - 16;
      snprintf(s.runs[i].name + l, 16, " (%u)", (unsigned)(same % 100000));
    }
  }
  if ((st = pick_ref(&s))) goto done;
  check_comparable(&s);
  /* all inputs are good: now the output folder (ours or refused; never a
   * run's folder, lsp_outdir.h) */
  lsp_outdir_opts oo = {"compare", opts->force, NULL, sizeof "plots/compare_metrics.svg", 0};
  if ((st = lsp_outdir_begin(out, &oo, &od))) goto done;
  const char *stage = lsp_outdir_stage(od);
  if (!(path = lsp_strdupf("%s/compare.json", stage))) {
    st = lsp_fail(LSP_ENOMEM, "out of memory");
    goto done;
  }
  if ((st = lsp_compare_make_plots(&s, stage, &f)) || (st = write_report(&s, stage, &f)) ||
      (st = write_json(&s, path)))
    goto done;
  if (lsp_interrupted()) {
    st = lsp_fail(LSP_EINTR, "interrupted");
    goto done;
  }
  if ((st = lsp_outdir_publish(od))) goto done;
  if (report && cap && (size_t)snprintf(report, cap, "%s/compare.html", out) >= cap) report[0] = 0;
  if (warning && wcap)
    snprintf(warning, wcap, "%s%s%s", f.note, f.note[0] && lsp_outdir_note(od)[0] ? "; " : "",
             lsp_outdir_note(od));
done:
  lsp_outdir_free(od);
  lsp_compare_figs_release(&f);
  free(path);
  lsp_compare_free_runs(s.runs, n);
  return st;
}
