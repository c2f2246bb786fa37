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

/* ---- the attack columns (what the runs have in common: lsp_compare_check.c) */

/* a model's accuracy at attack ε e (NaN: not attacked at e) */
static double at_eps(const curve *c, double e) {
  size_t i = lsp_compare_eps_index(c, e);
  return i < c->n ? c->acc[i] : NAN;
}

/* ---- tables ----------------------------------------------------------------- */

static void set_ci(lsp_table *t, size_t col, double v, double lo, double hi) {
  if (isfinite(lo) && isfinite(hi)) lsp_table_num_ci(t, col, v, lo, hi);
  else lsp_table_num(t, col, v);
}

static lsp_table *models_table(const cmp_state *s) {
  char fg[64], pg[64];
  if (isnan(s->ref)) { /* the columns stay (compare.csv's are fixed), empty */
    snprintf(fg, sizeof fg, "FGSM acc. (no shared ε)");
    snprintf(pg, sizeof pg, "PGD acc. (no shared ε)");
  } else {
    snprintf(fg, sizeof fg, "FGSM acc. (ε=%g)", s->ref);
    snprintf(pg, sizeof pg, "PGD acc. (ε=%g)", s->ref);
  }
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
  if (lsp_json_finish(&j)) return lsp_out_write_failed(&f);
  return lsp_out_commit(&f);
}

/* ---- the report ------------------------------------------------------------- */

static int write_report(const cmp_state *s, const char *dir, const lsp_compare_figs *f) {
  char title[128], buf[1024];
  cmp_str cmds = {0}, share = {0};
  char *html = lsp_strdupf("%s/compare.html", dir), *md = lsp_strdupf("%s/compare.md", dir);
  char *csv = lsp_strdupf("%s/compare.csv", dir);
  snprintf(title, sizeof title, "lsprobe compare: %zu run%s", s->n, s->n == 1 ? "" : "s");
  lsp_table *mt = models_table(s), *rt = runs_table(s);
  lsp_doc d;
  memset(&d, 0, sizeof d);
  /* only what was compared and found alike */
  if (s->shared.len) cmp_str_addf(&share, "The runs share: %s.", cmp_str_get(&s->shared));
  else cmp_str_addf(&share, "The runs share none of the settings compared.");
  /* the command line of every run, one per line, whole */
  for (size_t r = 0; r < s->n; r++)
    if (s->runs[r].command[0])
      cmp_str_addf(&cmds, "%s%s: %s", cmds.len ? "\n" : "", s->runs[r].name, s->runs[r].command);
  int st = (!mt || !rt || !html || !md || !csv || share.oom || cmds.oom)
               ? lsp_fail(LSP_ENOMEM, "out of memory")
               : LSP_OK;
  if (!st) st = lsp_doc_open(&d, html, md, title);
  if (st) goto done;
  lsp_doc_par(&d, "Every number below is copied from the runs' results.json files; nothing is "
            "recomputed. Intervals are the ones each run recorded (see its own report for how "
            "they were obtained). Compare lays the runs side by side and gives no verdicts: "
            "each run's verdicts rest on its own seeds. To pool the seeds of several runs, run "
            "lsprobe run once with all of them, into a folder whose models/ holds the earlier "
            "runs' model files (models/*.lspm*): they are reused from the cache, not retrained.");
  if (s->o->command) {
    lsp_doc_code(&d, s->o->command);
  }
  for (size_t i = 0; i < s->nwarn; i++) lsp_doc_note(&d, LSP_HTML_WARNING, s->warn[i]);
  lsp_doc_note(&d, LSP_HTML_INFO, share.s);
  if (f->note[0]) lsp_doc_note(&d, LSP_HTML_WARNING, f->note);
  lsp_doc_heading(&d, 2, "Runs");
  lsp_doc_table(&d, rt, "The configuration of each input");
  if (cmds.len) {
    lsp_doc_code(&d, cmds.s);
  }
  lsp_doc_heading(&d, 2, "Models");
  if (isnan(s->ref))
    snprintf(buf, sizeof buf,
             "One row per model of every run. Intervals in brackets; T = fitted temperature; "
             "the attack columns are empty: no attack ε above 0 is shared by every model.");
  else
    snprintf(buf, sizeof buf,
             "One row per model of every run. Intervals in brackets; T = fitted temperature; "
             "attack columns at ε = %g, in the runs' input units (the [0, 1] pixel "
             "scale for images; results.json records no input bounds).",
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
           "the smoothing ε; one line per run and seed; bars are the recorded intervals.");
  lsp_doc_heading(&d, 2, "Robustness");
  lsp_doc_figure(&d, f->svg[1] ? f->svg[1] : "", f->extra[1], f->attacks_caption);
  st = lsp_doc_close(&d);
done:
  free(cmds.s);
  free(share.s);
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
  /* each run once (a file named twice, or a copy of it) */
  if ((st = lsp_compare_refuse_twice(&s, inputs))) goto done;
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
  if ((st = lsp_compare_pick_ref(&s)) || (st = lsp_compare_check(&s))) goto done;
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
  for (size_t i = 0; i < s.nwarn; i++) free(s.warn[i]);
  free(s.warn);
  free(s.shared.s);
  return st;
}
