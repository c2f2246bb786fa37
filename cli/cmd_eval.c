/* lsprobe eval — score a model (.lspm or PyTorch export) on a data split.
 *
 * One forward pass over the split gives the logits and penultimate features;
 * every metric block below reads them from an eval_ctx and writes its
 * numbers either as JSON keys or as text lines. Adding an analysis (say
 * calibration) means one block function and one row in k_blocks. */
#define _POSIX_C_SOURCE 200809L /* open_memstream */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "analysis/lsp_calib.h"
#include "analysis/lsp_clusters.h"
#include "analysis/lsp_logitgeom.h"
#include "analysis/lsp_mi.h"
#include "cli/cli.h"
#include "cli/cli_split.h"
#include "core/data/lsp_data.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "core/base/lsp_outset.h"
#include "core/base/lsp_util.h"
#include "core/formats/lsp_json.h"
#include "core/loss/lsp_loss.h"
#include "core/import/lsp_import.h"
#include "core/nn/lsp_model.h"
#include "core/nn/lsp_model_json.h"
#include "core/formats/lsp_npy.h"
#include "core/base/lsp_threads.h"
#include "reports/lsp_erasure.h"

/* Everything a metric block may read; the arrays stay valid for all blocks. */
typedef struct {
  const char *model_path;
  const lsp_model *model;
  const lsp_splits *data;
  const lsp_dataset *split; /* the scored split: x, y, n, k         */
  const char *split_name;   /* "test" or "val"                        */
  const float *logits;      /* n×k                                    */
  const float *features;    /* n×h: the input of the last dense layer */
  size_t n, k, h;
  int bins;                 /* calibration bins                        */
  int bootstrap;            /* resamples for intervals (0 = none)      */
  unsigned long seed;       /* bootstrap seed, and the perturbations' */
  int mi;                   /* the information-erasure block is on     */
  int mi_a, mi_b;           /* class pair, or -1: most confused on val */
  lsp_erasure_opts mi_opts;
  const char *feat_layer;   /* --features: the layer named, else NULL  */
} eval_ctx;

/* A block writes into the open JSON object when j is not NULL, else text to
 * stdout. Returns an lsp status (message set on failure). */
typedef int (*eval_block)(const eval_ctx *c, lsp_json *j);

/* Accuracy (argmax, ties to the lowest index) and NLL (mean -log p_y,
 * through logsumexp in the fused loss kernel). */
static int block_basic(const eval_ctx *c, lsp_json *j) {
  size_t correct = 0;
  for (size_t i = 0; i < c->n; i++) {
    const float *z = c->logits + i * c->k;
    correct += (int32_t)lsp_argmax_f32(z, c->k) == c->split->y[i];
  }
  double acc = (double)correct / (double)c->n, nll;
  lsp_ls plain = {0.0, LSP_LS_UNIFORM, 0};
  int st = lsp_loss_xent(c->logits, c->split->y, c->n, c->k, &plain, NULL, 1.0,
                         NULL, &nll);
  if (st) return lsp_fail_prefix(st, c->model_path);
  if (j) {
    lsp_json_key_num(j, "accuracy", acc);
    lsp_json_key_num(j, "nll", nll);
  } else {
    printf("accuracy %.4f  (%zu of %zu)\nnll      %.4f\n", acc, correct, c->n,
           nll);
  }
  return LSP_OK;
}

/* Calibration (DESIGN §2) of the scored split, and again after temperature
 * scaling with T fitted on the validation split (when the scored split is
 * the test set and a validation split exists). */
static int block_calibration(const eval_ctx *c, lsp_json *j) {
  lsp_calib_opts co = lsp_calib_opts_default();
  co.bins = c->bins;
  lsp_calib_boot boot = {c->bootstrap, c->seed, 0, LSP_CALIB_CI_INVERSION};
  const lsp_dataset *va = &c->data->val;
  float *vz = NULL;
  int fit = strcmp(c->split_name, "test") == 0 && va->n > 0;
  lsp_calib_result before = {0}, after = {0};
  int st = LSP_OK;
  if (fit) {
    vz = malloc(va->n * c->k * sizeof *vz);
    if (!vz) return lsp_fail(LSP_ENOMEM, "out of memory");
    if ((st = lsp_model_predict(c->model, va->x, va->n, 1024, vz, NULL))) goto done;
  }
  st = lsp_calib_evaluate(c->logits, c->split->y, c->n, c->k, fit ? vz : NULL,
                          fit ? va->y : NULL, fit ? va->n : 0, &co,
                          c->bootstrap > 0 ? &boot : NULL, &before, &after);
  char note[512] = "";
  if (st == LSP_EDATA && fit) {
    /* no interior NLL minimum on validation: report without scaling, and why */
    fit = 0;
    snprintf(note, sizeof note, "validation split: %s", lsp_errmsg());
    cli_warn("eval", "no temperature scaling: %s", note);
    st = lsp_calib_evaluate(c->logits, c->split->y, c->n, c->k, NULL, NULL, 0, &co,
                            c->bootstrap > 0 ? &boot : NULL, &before, &after);
  }
  if (st) goto done;
  if (j) {
    lsp_calib_pair_json(&before, fit ? &after : NULL, j);
    if (*note) lsp_json_key_str(j, "calibration_temperature_note", note);
  } else {
    printf("calibration (%d bins, right edges)%s\n", c->bins,
           fit ? "; after temperature scaling fitted on the validation split" : "");
    for (int m = 0; m < LSP_CALIB_NMETRIC; m++) {
      if (!before.has[m]) continue;
      printf("  %-18s %.4f", lsp_calib_metric_name(m), before.value[m]);
      if (before.has_ci) printf(" [%.4f, %.4f]", before.ci_lo[m], before.ci_hi[m]);
      if (fit) printf("   -> %.4f", after.value[m]);
      printf("\n");
    }
    if (fit) printf("  %-18s %.4f\n", "temperature", after.temperature);
    if (*note) printf("  %-18s none (%s)\n", "temperature", note);
  }
done:
  lsp_calib_result_release(&before);
  lsp_calib_result_release(&after);
  free(vz);
  return st;
}

/* Penultimate-layer geometry (R², trace ratio, NC1, tightness). When the
 * split's features cannot give it (fewer than 2 classes with a non-zero
 * feature row, say), the block is unavailable: JSON null and a warning,
 * and the other blocks stand. */
static void print_clusters_head(const eval_ctx *c) {
  if (c->feat_layer)
    printf("clusters (layer %s, %zu features)", c->feat_layer, c->h);
  else
    printf("clusters (penultimate layer, %zu features)", c->h);
}

static int block_clusters(const eval_ctx *c, lsp_json *j) {
  lsp_clusters *cl = lsp_clusters_alloc(c->k);
  if (!cl) return lsp_fail(LSP_ENOMEM, "out of memory for the clusters of %zu classes", c->k);
  int st = lsp_clusters_compute(c->features, c->split->y, c->n, c->h, cl);
  if (st == LSP_EDATA) {
    lsp_clusters_free(cl);
    cli_warn("eval", "clusters unavailable on the %s split: %s", c->split_name, lsp_errmsg());
    if (j) {
      lsp_json_key(j, "clusters");
      lsp_json_null(j);
    } else {
      print_clusters_head(c);
      printf(": unavailable (%s)\n", lsp_errmsg());
    }
    return LSP_OK;
  }
  if (st) {
    lsp_clusters_free(cl);
    return lsp_fail_prefix(st, "clusters");
  }
  if (j) {
    lsp_json_key(j, "clusters");
    lsp_json_obj_begin(j);
    lsp_clusters_json(cl, j);
    lsp_json_obj_end(j);
  } else {
    print_clusters_head(c);
    printf("\n");
    printf("  r2_separation      %.4f\n  trace_ratio        %.4f\n  nc1                %.4f\n"
           "  tightness_mean     %.4f\n  dead feature rows  %zu\n",
           cl->r2_separation, cl->trace_ratio, cl->nc1, cl->tightness_mean, cl->n_zero_rows);
    if (cl->k_used < cl->k) { /* left out of every average: say which */
      printf("  empty classes     ");
      size_t shown = 0;
      for (size_t y = 0; y < cl->k && shown < 20; y++)
        if (!cl->count[y]) printf("%s%zu", shown++ ? ", " : " ", y);
      printf("%s (%zu of %zu: no non-zero feature rows on the %s split)\n",
             cl->k - cl->k_used > shown ? ", ..." : "", cl->k - cl->k_used, cl->k,
             c->split_name);
    }
  }
  lsp_clusters_free(cl);
  return LSP_OK;
}

/* Logit gap against the optimum of the model's own training smoothing. */
static int block_logitgap(const eval_ctx *c, lsp_json *j) {
  lsp_logitgap g;
  const lsp_ls *ls = c->model->meta.trained ? &c->model->meta.smoothing : NULL;
  int st = lsp_logitgap_compute(c->logits, c->split->y, c->n, c->k, ls, &g, NULL, NULL);
  if (st) return st;
  if (j) {
    lsp_json_key(j, "logit_gap");
    lsp_json_obj_begin(j);
    lsp_logitgap_json(&g, j);
    lsp_json_obj_end(j);
  } else {
    printf("logit gap z_y - mean of the others\n  mean %.4f  median %.4f  [q05 %.4f, q95 %.4f]\n",
           g.gap.mean, g.gap.median, g.gap.q05, g.gap.q95);
    if (lsp_logitgap_no_optimum(&g))
      printf("  optimal for smoothing %g (%s): none (%s)\n", g.eps,
             lsp_ls_convention_name(g.convention), lsp_logitgap_no_optimum(&g));
    else if (g.has_optimal)
      printf("  optimal for smoothing %g (%s): %.4f; %.1f%% of examples above it\n", g.eps,
             lsp_ls_convention_name(g.convention), g.optimal_gap, 100.0 * g.share_above_optimal);
    printf("  entropy mean %.4f nats (max log K = %.4f)\n", g.entropy.mean, g.entropy_max);
  }
  return LSP_OK;
}

/* Information erasure (Müller et al. 2019, §4): Î(X; z_a − z_b) over M
 * training examples of each class of a pair, R perturbed copies each. */
static int block_mi(const eval_ctx *c, lsp_json *j) {
  if (!c->mi) return LSP_OK;
  int a = c->mi_a, b = c->mi_b, st = LSP_OK;
  size_t confusions = 0;
  const lsp_dataset *va = &c->data->val;
  if (a < 0) {
    if (va->n == 0)
      return lsp_fail(LSP_EINVAL, "--mi: no validation split to find the most confused pair "
                      "in; give --mi-classes A,B");
    float *vz = malloc(va->n * c->k * sizeof *vz);
    if (!vz) return lsp_fail(LSP_ENOMEM, "out of memory");
    st = lsp_model_predict(c->model, va->x, va->n, 1024, vz, NULL);
    if (!st) st = lsp_mi_confused_pair(vz, va->y, va->n, c->k, &a, &b, &confusions);
    free(vz);
    if (st) return st;
  }
  lsp_erasure_set *set = NULL;
  lsp_mi_result r;
  double lo = NAN, hi = NAN, *d = NULL;
  if ((st = lsp_erasure_set_build(c->data, a, b, &c->mi_opts, &set))) return st;
  if (!(d = malloc(2 * set->m * set->r * sizeof *d))) st = lsp_fail(LSP_ENOMEM, "out of memory");
  if (!st) st = lsp_erasure_score(set, c->model, &r, d);
  if (!st && c->bootstrap > 0)
    st = lsp_mi_bootstrap(d, NULL, 2 * set->m, set->r, c->bootstrap, c->seed, &lo, &hi);
  free(d);
  if (st) {
    lsp_erasure_set_free(set);
    return st;
  }
  const lsp_perturb_opts *po = &set->opts.perturb;
  if (j) {
    lsp_json_key_num(j, "mutual_information", r.mi);
    if (c->bootstrap > 0) {
      double ci[2] = {lo, hi};
      lsp_json_key_nums(j, "mutual_information_ci", ci, 2);
    }
    lsp_json_key(j, "mi_classes");
    lsp_json_arr_begin(j);
    lsp_json_int(j, a);
    lsp_json_int(j, b);
    lsp_json_arr_end(j);
    lsp_json_key(j, "mi");
    lsp_json_obj_begin(j);
    lsp_json_key_str(j, "pair_from", c->mi_a < 0 ? "validation confusions" : "given");
    if (c->mi_a < 0) lsp_json_key_int(j, "pair_confusions", (long long)confusions);
    lsp_json_key_int(j, "examples_per_class", (long long)set->m);
    lsp_json_key_int(j, "copies", (long long)set->r);
    lsp_json_key_int(j, "max_shift", po->max_shift);
    lsp_json_key_num(j, "noise_sd", po->noise_sd);
    lsp_json_key_int(j, "seed", (long long)po->seed);
    lsp_json_key_num(j, "bound", r.bound);
    lsp_json_key_num(j, "var_total", r.var_total);
    lsp_json_key_num(j, "var_within", r.var_within);
    lsp_json_obj_end(j);
  } else {
    printf("information erasure (Mueller et al. 2019): classes %d and %d", a, b);
    if (c->mi_a < 0) printf(" (most confused on the validation split: %zu)", confusions);
    printf("\n  %zu training examples of each, %zu copies (shifts up to %d px, noise sd %g)\n"
           "  I(X; z_a - z_b) %.4f nats",
           set->m, set->r, po->max_shift, po->noise_sd, r.mi);
    if (c->bootstrap > 0) printf(" [%.4f, %.4f]", lo, hi);
    printf(" (Gaussian estimate)\n  the true I(X; z_a - z_b) is at most log %zu = %.4f nats%s\n",
           2 * set->m, r.bound,
           r.mi > r.bound ? "; the estimate is above it, as a Gaussian estimate can be when "
                            "the spread within each example is tiny: the logits tell these "
                            "examples apart nearly completely" : "");
  }
  lsp_erasure_set_free(set);
  return LSP_OK;
}

static const struct {
  const char *name;
  eval_block run;
} k_blocks[] = {
    {"basic", block_basic},
    {"calibration", block_calibration},
    {"clusters", block_clusters},
    {"logitgap", block_logitgap},
    {"mi", block_mi},
};

/* The three dump files, each written to a temporary of its own and
 * renamed into place together only when all three are complete (a failed
 * dump leaves an earlier one as it was; two dumps into one folder at once
 * leave one of them whole: core/base/lsp_outset.h). */
static int dump(const eval_ctx *c, const char *dir) {
  static const char *const names[3] = {"logits.npy", "features.npy", "labels.npy"};
  int st = lsp_mkdir_p(dir);
  lsp_outset s;
  if (st || (st = lsp_outset_init(&s, dir))) return st;
  size_t sz[2] = {c->n, c->k}, sh[2] = {c->n, c->h}, sy[1] = {c->n};
  for (int i = 0; i < 3 && !st; i++) {
    lsp_outfile *o;
    if ((st = lsp_outset_add(&s, names[i], &o))) break;
    st = i == 0   ? lsp_npy_write_to(o, LSP_DT_F32, 2, sz, c->logits)
         : i == 1 ? lsp_npy_write_to(o, LSP_DT_F32, 2, sh, c->features)
                  : lsp_npy_write_to(o, LSP_DT_I32, 1, sy, c->split->y);
  }
  if (st) {
    lsp_outset_abort(&s);
    return st;
  }
  return lsp_outset_commit(&s);
}

int cmd_eval(int argc, char **argv) {
  const char *cmd = "eval";
  cli_opt opts[] = {
      {"model", "M",
       "a .lspm file, an ONNX file or a PyTorch export folder (required)", 1,
       0, 0},
      {"features", "NODE",
       "the layer whose output is the features (clusters, --dump): an "
       "lsprobe layer, or an ONNX node or value (default: the input of "
       "the last layer)",
       1, 0, 0},
      {"data", "D",
       "fashion-mnist, synthetic[:key=v,...] or a folder (IDX, CSV or .npy); "
       "required",
       1, 0, 0},
      {"split", "S", "test (default) or val", 1, 0, 0},
      {"val", "N",
       "validation examples held out of the training file (default: the "
       "split the model records; 1/12 for models without one)",
       1, 0, 0},
      {"max-test", "N", "score the first N test examples only", 1, 0, 0},
      {"dump", "DIR",
       "write logits.npy, features.npy and labels.npy into DIR (once the analyses succeed)",
       1, 0, 0},
      {"bins", "M", "calibration bins (default 15)", 1, 0, 0},
      {"bootstrap", "B", "bootstrap resamples for 95% intervals (default 0: none)", 1, 0, 0},
      {"seed", "S", "seed of the bootstrap and of --mi's perturbed copies (default 1)", 1, 0, 0},
      {"mi", NULL, "information erasure: I(X; z_a - z_b) over perturbed training examples", 0, 0, 0},
      {"mi-classes", "A,B", "class pair for --mi (default: the pair confused most on val)", 1, 0, 0},
      {"mi-examples", "M", "training examples of each class for --mi (default 100)", 1, 0, 0},
      {"mi-copies", "R", "perturbed copies of each example (default 20)", 1, 0, 0},
      {"mi-shift", "P", "largest shift of a copy in pixels (default 2)", 1, 0, 0},
      {"mi-noise", "SD", "sd of the Gaussian pixel noise of a copy (default 0.05)", 1, 0, 0},
      {"threads", "T", "threads (default and 0: all cores)", 1, 0, 0},
      {"json", NULL, "print one JSON object instead of text", 0, 0, 0},
      {NULL, NULL, NULL, 0, 0, 0}};
  int rc = cli_parse(
      cmd,
      "--model M --data D [--split test|val] [--features NODE] [--dump DIR] "
      "[--mi] [--json]",
      "Score a model on a data split: accuracy, NLL, calibration (with "
      "temperature scaling\nfitted on the validation split), penultimate-layer "
      "clusters and the logit gap;\nwith --dump, the logits, penultimate features "
      "and labels as .npy files; with --mi,\nthe information the logits keep about "
      "single training examples (Mueller et al. 2019).",
      argc, argv, opts);
  if (rc) return rc;
  if ((rc = cli_require(cmd, opts, "model")) ||
      (rc = cli_require(cmd, opts, "data")))
    return rc;
  long threads, val, max_test, bins, boot, seed;
  if ((rc = cli_get_long(cmd, opts, "threads", 0, 0, 1024, &threads)) ||
      (rc = cli_get_long(cmd, opts, "bins", 15, 1, 100000, &bins)) ||
      (rc = cli_get_long(cmd, opts, "bootstrap", 0, 0, 1000000, &boot)) ||
      (rc = cli_get_long(cmd, opts, "seed", 1, 0, 2147483647L, &seed)) ||
      (rc = cli_get_long(cmd, opts, "val", -1, 0, 1L << 40, &val)) ||
      (rc = cli_get_long(cmd, opts, "max-test", 0, 1, 1L << 40, &max_test)))
    return rc;
  cli_bootstrap_warn(cmd, boot);
  lsp_erasure_opts mio;
  lsp_erasure_opts_default(&mio);
  long mi_m, mi_r, mi_shift;
  int mi_a = -1, mi_b = -1;
  if ((rc = cli_get_long(cmd, opts, "mi-examples", 100, 2, 1000000, &mi_m)) ||
      (rc = cli_get_long(cmd, opts, "mi-copies", 20, 2, 100000, &mi_r)) ||
      (rc = cli_get_long(cmd, opts, "mi-shift", 2, 0, 1000, &mi_shift)) ||
      (rc = cli_get_double(cmd, opts, "mi-noise", 0.05, 0, 1e3, &mio.perturb.noise_sd)))
    return rc;
  if (cli_has(opts, "mi-classes")) {
    long *pair = NULL;
    size_t np = 0;
    if ((rc = cli_get_longs(cmd, opts, "mi-classes", "", 0, 1 << 30, &pair, &np))) return rc;
    if (np != 2 || pair[0] == pair[1]) {
      free(pair);
      return cli_error(cmd, CLI_USAGE, "--mi-classes: give two different classes A,B");
    }
    mi_a = (int)pair[0];
    mi_b = (int)pair[1];
    free(pair);
  }
  static const char *const mi_opts[] = {"mi-classes", "mi-examples", "mi-copies", "mi-shift",
                                        "mi-noise"};
  for (size_t i = 0; i < sizeof mi_opts / sizeof *mi_opts; i++)
    if (cli_has(opts, mi_opts[i]) && !cli_has(opts, "mi"))
      return cli_error(cmd, CLI_USAGE, "--%s needs --mi", mi_opts[i]);
  if (cli_has(opts, "mi") && mio.perturb.noise_sd == 0.0 && mi_shift == 0)
    return cli_error(cmd, CLI_USAGE,
                     "--mi-noise 0 with --mi-shift 0: the copies of an example would all be "
                     "the same (give noise or shifts)");
  mio.per_class = (size_t)mi_m;
  mio.perturb.copies = (size_t)mi_r;
  mio.perturb.max_shift = (int)mi_shift;
  mio.perturb.seed = (unsigned long)seed;
  const char *split = cli_str(opts, "split", "test");
  if (strcmp(split, "test") != 0 && strcmp(split, "val") != 0)
    return cli_error(cmd, CLI_USAGE, "--split: '%s' is not test or val", split);
  if (strcmp(split, "val") == 0 && cli_has(opts, "max-test"))
    return cli_error(cmd, CLI_USAGE,
                     "--max-test limits the test split; --split val scores every validation "
                     "example (--val sets how many are held out)");
  cli_threads(threads, 1);
  const char *mpath = cli_str(opts, "model", NULL);
  const char *ddir = cli_str(opts, "dump", NULL);
  if (ddir) {
    int r = cli_check_out_dir(cmd, opts, "dump", NULL);
    if (r) return r;
    static const char *const ins[] = {"model", "data", NULL};
    static const char *const files[] = {"logits.npy", "features.npy", "labels.npy"};
    for (int i = 0; i < 3; i++) {
      char f[4200], what[8500];
      snprintf(f, sizeof f, "%.4000s/%s", ddir, files[i]);
      snprintf(what, sizeof what, "--dump %.4000s: %s", ddir, f);
      if ((r = cli_check_not_input(cmd, what, f, opts, ins))) return r;
      struct stat sb;
      if (stat(f, &sb) == 0 && !S_ISREG(sb.st_mode)) /* the dump replaces files only */
        return cli_error(cmd, CLI_USAGE, "%s: is a %s; the dump writes a file of that name "
                         "(choose another --dump or move it)", what,
                         S_ISDIR(sb.st_mode) ? "folder" : "device or special file");
      char why[4400];
      if (lsp_out_link_problem(f, why, sizeof why))
        return cli_error(cmd, CLI_DATA, "%s: %s", what, why);
    }
  }

  lsp_data_opts dopt;
  lsp_data_opts_default(&dopt);
  dopt.spec = cli_str(opts, "data", NULL);
  if (val >= 0) dopt.n_val = (size_t)val;
  dopt.max_test = (size_t)max_test;
  lsp_splits data = {0};
  lsp_model *m = NULL;
  float *logits = NULL, *features = NULL;
  char *jbuf = NULL;
  size_t jbuf_len = 0;
  FILE *jbuf_fp = NULL;
  int st;
  if ((st = cli_model_load_features(cmd, mpath, cli_str(opts, "features", NULL),
                                    &m)))
    goto fail;
  /* The validation split (scored with --split val, and where the
   * temperature is fitted) must be the examples the model was trained
   * without: the split its record names, checked by its hash. */
  const lsp_model_meta *mt = &m->meta;
  int recorded = mt->trained && mt->val_hash != 0, other = 0;
  if ((st = cli_data_for_model(mpath, mt, &dopt, val >= 0, &data, &other))) goto fail;
  cli_note(cmd, data.note);
  const lsp_dataset *d = strcmp(split, "val") == 0 ? &data.val : &data.test;
  if (cli_has(opts, "mi") && mio.perturb.noise_sd == 0.0) {
    size_t ic, ih, iw; /* shifts need an image shape (as lsp_erasure_set_build) */
    lsp_splits_shape(&data, &ic, &ih, &iw);
    if (!(ih > 1 && iw > 1 && ic * ih * iw == data.train.dim)) {
      rc = cli_error(cmd, CLI_USAGE,
                     "--mi-noise 0: %s has no image shape, so its copies are not shifted "
                     "and would all be the same (give noise)",
                     data.name);
      goto done;
    }
  }
  char arch[256];
  lsp_model_describe(m, arch, sizeof arch);
  if (m->in_dim != d->dim) {
    st = lsp_fail(
        LSP_EDATA,
        "%s: model %s takes %zu inputs but the data (%s) has %zu features",
        mpath, arch, m->in_dim, data.name, d->dim);
    goto fail;
  }
  size_t ic, ih, iw;
  lsp_splits_shape(&data, &ic, &ih, &iw);
  if (!lsp_model_takes_shape(m, ic, ih, iw)) {
    st = lsp_fail(LSP_EDATA,
                  "%s: model %s takes %zux%zux%zu inputs but the data (%s) "
                  "holds %zux%zux%zu images (channels first: N x C x H x W)",
                  mpath, arch, m->in_shape.c, m->in_shape.h, m->in_shape.w,
                  data.name, ic, ih, iw);
    goto fail;
  }
  if (d->k < 0 || m->out_dim != (size_t)d->k) {
    st = lsp_fail(
        LSP_EDATA,
        "%s: model %s has %zu outputs but the data (%s) has %d classes", mpath,
        arch, m->out_dim, data.name, d->k);
    goto fail;
  }
  if (d->n == 0) {
    st = lsp_fail(LSP_EDATA, "%s: the %s split is empty", data.name, split);
    goto fail;
  }
  if (other) {
    /* other data than the model's: scoring "its" validation split makes no
     * sense; scoring the test split does, but say where T comes from */
    if (strcmp(split, "val") == 0) {
      st = lsp_fail(LSP_EDATA,
                    "%s: its validation split is not the one %s was trained without "
                    "(trained on %s with %llu validation examples): is it the same data?",
                    data.name, mpath, mt->data, (unsigned long long)mt->n_val);
      goto fail;
    }
    cli_warn(cmd,
             "%s is not the data %s was trained on (%s; the validation split "
             "differs): the temperature is fitted on this data's validation split",
             data.name, mpath, mt->data);
  }
  if (!recorded)
    cli_warn(cmd,
             "%s records no training split (%s): the validation split is lsprobe's "
             "own (seed %lu, %zu examples); if the model was trained on them, its "
             "validation numbers and the temperature are optimistic",
             mpath, mt->trained ? "written by an older lsprobe" : "imported or untrained",
             dopt.seed, data.val.n);
  eval_ctx c = {mpath, m,    &data, d,          split,
                NULL,  NULL, d->n,  m->out_dim, lsp_model_feature_dim(m),
                (int)bins, (int)boot, (unsigned long)seed, cli_has(opts, "mi"), mi_a, mi_b,
                mio, NULL};
  logits = malloc(c.n * c.k * sizeof *logits);
  features = malloc(c.n * c.h * sizeof *features);
  if (!logits || !features) {
    st = lsp_fail(LSP_ENOMEM, "out of memory for %zu examples", c.n);
    goto fail;
  }
  cli_interrupt_install();
  if ((st = lsp_model_predict(m, d->x, d->n, 1024, logits, features)))
    goto fail;
  c.logits = logits;
  c.features = features;
  if (cli_str(opts, "features", NULL))
    c.feat_layer = m->features < 0 ? "the input" : m->nodes[m->features].name;

  /* The JSON object goes to memory and reaches stdout only when every
   * block has succeeded: a failed evaluation prints no partial object. */
  lsp_json j, *jp = NULL;
  if (cli_has(opts, "json")) {
    if (!(jbuf_fp = open_memstream(&jbuf, &jbuf_len))) {
      st = lsp_fail(LSP_ENOMEM, "out of memory for the JSON result");
      goto fail;
    }
    jp = &j;
    lsp_json_init(jp, jbuf_fp, 0);
    lsp_json_obj_begin(jp);
    lsp_json_key_str(jp, "model", mpath);
    lsp_json_key_str(jp, "arch", arch);
    lsp_json_key_str(jp, "data", data.name);
    lsp_json_key_str(jp, "split", split);
    lsp_json_key_int(jp, "n", (long long)c.n);
    lsp_json_key_str(jp, "features",
                     m->features < 0 ? "input" : m->nodes[m->features].name);
    lsp_json_key_int(jp, "feature_dim", (long long)c.h);
    lsp_model_meta_json(m, jp);
  } else {
    printf("model    %s (%s", mpath, arch);
    if (m->meta.trained)
      printf(", trained with smoothing %g %s", m->meta.smoothing.eps,
             lsp_ls_convention_name(m->meta.smoothing.convention));
    if (m->meta.trained && m->meta.distilled)
      printf(", distilled at T = %g, alpha = %g", m->meta.distill_temperature,
             m->meta.distill_alpha);
    printf(")\ndata     %s, %s split, %zu examples\n", data.name, split, c.n);
    printf("features %s (%zu values)\n",
           m->features < 0 ? "the input" : m->nodes[m->features].name, c.h);
  }
  for (size_t b = 0; b < sizeof k_blocks / sizeof k_blocks[0]; b++)
    if ((st = k_blocks[b].run(&c, jp))) break;
  if (!st && ddir) st = dump(&c, ddir); /* only for an evaluation that succeeded */
  if (st) goto fail;
  if (jp) {
    if (ddir) lsp_json_key_str(jp, "dump", ddir);
    lsp_json_obj_end(jp);
    int bad = lsp_json_finish(jp);
    bad |= fclose(jbuf_fp) != 0;
    jbuf_fp = NULL;
    if (bad || fwrite(jbuf, 1, jbuf_len, stdout) != jbuf_len || fflush(stdout)) {
      st = lsp_fail(LSP_EIO, "writing the JSON result failed");
      goto fail;
    }
  } else if (ddir) {
    printf("dumped   logits.npy, features.npy, labels.npy into %s\n", ddir);
  }
  rc = CLI_OK;
  goto done;
fail:
  rc = cli_lib_error(cmd, st);
done:
  if (jbuf_fp) fclose(jbuf_fp);
  free(jbuf);
  free(logits);
  free(features);
  lsp_model_free(m);
  lsp_splits_free(&data);
  return rc;
}
