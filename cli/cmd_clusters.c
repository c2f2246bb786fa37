/* lsprobe clusters — penultimate-layer cluster geometry of saved features,
 * and the Müller projection of three classes onto their templates. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/lsp_clusters.h"
#include "analysis/lsp_projection.h"
#include "cli/cli.h"
#include "core/base/lsp_error.h"
#include "core/formats/lsp_json.h"
#include "core/import/lsp_import.h"
#include "core/nn/lsp_model.h"
#include "core/formats/lsp_npy.h"
#include "core/base/lsp_threads.h"

/* The last layer as plain arrays: W k×h, b k (float32 views). */
typedef struct {
  lsp_array wa, ba;
  const float *W, *b;
  float *wown, *bown;
  size_t k, h;
  lsp_model *model; /* owned when the templates come from --model */
} templates;

/* The templates of a model file (.lspm, .onnx or PyTorch export): its last dense
 * layer, whose input is the penultimate features. */
static int model_templates(const char *mpath, size_t h, templates *t) {
  int st = cli_model_load("clusters", mpath, &t->model);
  if (st) return st;
  lsp_dense_view L;
  lsp_model_head(t->model, &L);
  if (L.in != h)
    return lsp_fail(LSP_EDATA,
                    "%s: the model's last layer takes %zu features but the "
                    "features have %zu columns",
                    mpath, L.in, h);
  t->W = L.w;
  t->b = L.b;
  t->k = L.out;
  t->h = L.in;
  return LSP_OK;
}

static int read_templates(const char *wpath, const char *bpath, size_t h,
                          templates *t) {
  int st = lsp_npy_read_matrix(wpath, &t->wa, &t->W, &t->wown, &t->k, &t->h);
  if (st) return st;
  if ((st = lsp_npy_read(bpath, &t->ba))) return st;
  int bias_vec = t->ba.ndim == 1 || (t->ba.ndim == 2 && t->ba.shape[1] == 1);
  if (t->h != h && t->k == h && bias_vec && t->ba.count == t->h)
    return lsp_fail(LSP_EDATA,
                    "%s is %zu x %zu: its rows must be the classes and its "
                    "columns the %zu features (K x H, as nn.Linear's weight); "
                    "with %zu bias values this looks transposed (H x K, as a "
                    "Keras kernel): save W.T",
                    wpath, t->k, t->h, h, t->ba.count);
  if (t->h != h)
    return lsp_fail(LSP_EDATA,
                    "%s: templates have %zu columns but the features "
                    "have %zu: give the last layer's weight (K x H), the one "
                    "that takes these features",
                    wpath, t->h, h);
  if (t->k < 2)
    return lsp_fail(LSP_EDATA,
                    "%s: need at least 2 template rows (classes), got %zu",
                    wpath, t->k);
  if (t->ba.count != t->k || !bias_vec)
    return lsp_fail(LSP_EDATA,
                    "%s: expected a bias of %zu values (one per "
                    "template row of %s), got %zu",
                    bpath, t->k, wpath, t->ba.count);
  return lsp_array_f32(&t->ba, bpath, 1, &t->b, &t->bown);
}

static void print_text(const lsp_clusters *c, const lsp_proj *p, size_t score,
                       int picked, double acc, int has_t, const char *ppath) {
  printf(
      "clusters: N=%zu rows (%zu all-zero rows excluded), H=%zu, K=%zu "
      "(%zu empty)\n",
      c->n, c->n_zero_rows, c->h, c->k, c->k - c->k_used);
  printf("  class separation R2  %.6f  (cosine; within %.6f / total %.6f)\n",
         c->r2_separation, c->d_within, c->d_total);
  printf("  trace ratio          %.6f  (tr SW %.6g / tr SB %.6g)\n",
         c->trace_ratio, c->trace_within, c->trace_between);
  printf("  NC1                  %.6f  (Sigma_B rank %zu)\n", c->nc1,
         c->nc1_rank);
  printf(
      "  tightness (mean)     %.6f  (mean cosine distance to the class "
      "direction)\n",
      c->tightness_mean);
  if (c->k_used >= 3)
    printf("  class-mean distance  cv %.4f  (std/mean over class pairs)\n",
           c->mean_dist_cv);
  else
    printf("  class-mean distance  cv n/a  (one class pair: no spread)\n");
  printf("  closest class means ");
  const size_t shown = c->n_closest < 3 ? c->n_closest : 3;
  for (size_t i = 0; i < shown; i++)
    printf("%s%zu-%zu %.4f", i ? ", " : " ", c->closest[i].a, c->closest[i].b,
           c->closest[i].cos_dist);
  printf("  (cosine distance; --json lists %zu)\n", c->n_closest);
  if (c->k <= LSP_CLUSTERS_TABLE_K) {
    printf("  per class            class:count:tightness");
    for (size_t y = 0; y < c->k; y++) {
      if (c->count[y])
        printf(" %zu:%zu:%.4f", y, c->count[y], c->tightness[y]);
      else
        printf(" %zu:0:-", y);
    }
    printf("\n");
  } else { /* one line, not k entries: the loosest and tightest classes */
    size_t lo = c->k, hi = c->k;
    for (size_t y = 0; y < c->k; y++) {
      if (!c->count[y]) continue;
      if (lo == c->k || c->tightness[y] < c->tightness[lo]) lo = y;
      if (hi == c->k || c->tightness[y] > c->tightness[hi]) hi = y;
    }
    printf("  per class            tightness %.4f (class %zu) to %.4f (class %zu) over %zu "
           "classes; --json lists every class\n",
           c->tightness[lo], lo, c->tightness[hi], hi, c->k_used);
  }
  if (has_t) printf("  template accuracy    %.6f\n", acc);
  if (p) {
    printf("  projection classes   %d,%d,%d (%s", p->cls[0], p->cls[1],
           p->cls[2], picked ? "most confused" : "given");
    if (picked) printf(": %zu errors among them", score);
    printf("); %zu points", p->m);
    if (ppath) printf(" -> %s", ppath);
    printf("\n");
  }
}

static void print_json(const lsp_clusters *c, const lsp_proj *p, size_t score,
                       int picked, double acc, int has_t, const char *fpath,
                       const char *ppath) {
  lsp_json j;
  lsp_json_init(&j, stdout, 1);
  lsp_json_obj_begin(&j);
  lsp_json_key_str(&j, "features", fpath);
  lsp_clusters_json(c, &j);
  lsp_json_key(&j, "template_accuracy");
  if (has_t)
    lsp_json_num(&j, acc);
  else
    lsp_json_null(&j);
  lsp_json_key(&j, "projection");
  if (p) {
    lsp_json_obj_begin(&j);
    lsp_json_key(&j, "classes");
    lsp_json_arr_begin(&j);
    for (int q = 0; q < 3; q++) lsp_json_int(&j, p->cls[q]);
    lsp_json_arr_end(&j);
    lsp_json_key_str(&j, "chosen", picked ? "most_confused" : "given");
    lsp_json_key_int(&j, "confusions", (long long)score);
    lsp_json_key(&j, "templates");
    lsp_json_arr_begin(&j);
    for (int q = 0; q < 3; q++) {
      lsp_json_arr_begin(&j);
      lsp_json_num(&j, p->tmpl[q][0]);
      lsp_json_num(&j, p->tmpl[q][1]);
      lsp_json_arr_end(&j);
    }
    lsp_json_arr_end(&j);
    lsp_json_key_int(&j, "points", (long long)p->m);
    lsp_json_key_str(&j, "out", ppath);
    lsp_json_obj_end(&j);
  } else {
    lsp_json_null(&j);
  }
  lsp_json_obj_end(&j);
  lsp_json_finish(&j);
}

int cmd_clusters(int argc, char **argv) {
  const char *cmd = "clusters";
  cli_opt opts[] = {
      {"features", "F.npy",
       "N×H penultimate features (float32/float64), required", 1, 0, 0},
      {"labels", "y.npy", "N integer labels, required", 1, 0, 0},
      {"model", "M", "a .lspm, .onnx or PyTorch export: its last layer gives the templates",
       1, 0, 0},
      {"templates", "W.npy", "last-layer weights K×H (enables the projection)",
       1, 0, 0},
      {"bias", "b.npy", "last-layer bias, K values (with --templates)", 1, 0,
       0},
      {"classes", "a,b,c", "classes to project (default: the 3 most confused)",
       1, 0, 0},
      {"projection-out", "P.csv", "write the projection (kind,index,label,x,y)",
       1, 0, 0},
      {"threads", "T", "threads (default and 0: all cores)", 1, 0, 0},
      {"json", NULL, "print one JSON object instead of text", 0, 0, 0},
      {NULL, NULL, NULL, 0, 0, 0}};
  int rc =
      cli_parse(cmd, "--features F.npy --labels y.npy [options]",
                "Penultimate-layer geometry: class separation R2 (cosine), "
                "within/between scatter\ntrace ratio, NC1, per-class "
                "tightness and class-mean distances; with the last\n"
                "layer (--model, or --templates and --bias), its accuracy and the "
                "Mueller et al.\n2019 projection of three classes.",
                argc, argv, opts);
  if (rc) return rc;
  if ((rc = cli_require(cmd, opts, "features")) ||
      (rc = cli_require(cmd, opts, "labels")))
    return rc;
  int has_m = cli_has(opts, "model");
  if (cli_has(opts, "templates") != cli_has(opts, "bias"))
    return cli_error(cmd, CLI_USAGE, "--templates and --bias go together");
  if (has_m && cli_has(opts, "templates"))
    return cli_error(cmd, CLI_USAGE, "--model and --templates exclude each other");
  int has_t = has_m || cli_has(opts, "templates");
  if (!has_t && cli_has(opts, "classes"))
    return cli_error(cmd, CLI_USAGE,
                     "--classes needs --model or --templates and --bias");
  if (!has_t && cli_has(opts, "projection-out"))
    return cli_error(cmd, CLI_USAGE,
                     "--projection-out needs --model or --templates and --bias");
  long threads, *given = NULL;
  size_t ngiven = 0;
  if ((rc = cli_get_long(cmd, opts, "threads", 0, 0, 1024, &threads)))
    return rc;
  if (cli_has(opts, "classes")) {
    if ((rc = cli_get_longs(cmd, opts, "classes", NULL, 0, INT32_MAX, &given,
                            &ngiven)))
      return rc;
    if (ngiven != 3) {
      free(given);
      return cli_error(cmd, CLI_USAGE,
                       "--classes: expected 3 classes a,b,c, got %zu", ngiven);
    }
    for (int q = 0; q < 3; q++)
      for (int r = 0; r < q; r++)
        if (given[q] == given[r]) {
          rc = cli_error(cmd, CLI_USAGE, "--classes: class %ld is given twice",
                         given[q]);
          free(given);
          return rc;
        }
  }
  static const char *const ins[] = {"features", "labels", "model", "templates", "bias", NULL};
  if ((rc = cli_check_out_file(cmd, opts, "projection-out", ins))) {
    free(given);
    return rc;
  }
  cli_threads(threads, 1);

  const char *fpath = cli_str(opts, "features", NULL);
  const char *ypath = cli_str(opts, "labels", NULL);
  const char *ppath = cli_str(opts, "projection-out", NULL);
  lsp_array fa = {0}, ya = {0};
  templates t = {0};
  const float *x = NULL;
  float *xown = NULL;
  int32_t *y = NULL;
  size_t n = 0, h = 0, k = 0, score = 0;
  lsp_confusion conf = {0};
  lsp_clusters *c = NULL;
  lsp_proj *p = NULL;
  double acc = 0.0;
  int st = lsp_npy_read_matrix(fpath, &fa, &x, &xown, &n, &h);
  if (st) goto fail;
  if (fa.dtype == LSP_DT_F64 &&
      (st = lsp_clusters_check_f64(fa.data, x, n, h, fpath)))
    goto fail;
  if (has_m && (st = model_templates(cli_str(opts, "model", NULL), h, &t)))
    goto fail;
  if (has_t && !has_m &&
      (st = read_templates(cli_str(opts, "templates", NULL),
                           cli_str(opts, "bias", NULL), h, &t)))
    goto fail;
  if ((st = lsp_npy_read(ypath, &ya))) goto fail;
  if ((st = lsp_array_labels(&ya, ypath, 0, &y))) goto fail;
  if (ya.count != n) {
    st = lsp_fail(LSP_EDATA, "%s has %zu labels but %s has %zu rows", ypath,
                  ya.count, fpath, n);
    goto fail;
  }
  size_t k_labels = 0, i_max = 0; /* 1 + the largest label, and where */
  for (size_t i = 0; i < n; i++)
    if ((size_t)y[i] + 1 > k_labels) k_labels = (size_t)y[i] + 1, i_max = i;
  if (has_t && k_labels > t.k) { /* the layer's rows are not the classes */
    const char *tp = has_m ? cli_str(opts, "model", NULL)
                           : cli_str(opts, "templates", NULL);
    st = lsp_fail(LSP_EDATA,
                  "%s: label %zu at index %zu, but %s has %zu %s: its rows "
                  "must be the classes (the last layer, K x H)",
                  ypath, k_labels - 1, i_max, tp, t.k,
                  has_m ? "outputs" : "template rows");
    goto fail;
  }
  if (has_t && !has_m && t.k == t.h && t.k > 2 * k_labels) {
    st = lsp_fail(LSP_EDATA,
                  "%s is %zu x %zu but the labels have %zu classes: its rows "
                  "must be the classes; this looks like a hidden layer's weight "
                  "(give the last layer's, K x H)",
                  cli_str(opts, "templates", NULL), t.k, t.h, k_labels);
    goto fail;
  }
  if (has_t) {
    k = t.k;
  } else {
    k = k_labels;
    if (k < 2) {
      st = lsp_fail(LSP_EDATA, "%s: need at least 2 classes, every label is 0",
                    ypath);
      goto fail;
    }
    if ((st = lsp_clusters_check_k(y, n, ypath))) goto fail;
  }
  if (given)
    for (int q = 0; q < 3; q++)
      if (given[q] >= (long)k) {
        rc = cli_error(cmd, CLI_USAGE,
                       "--classes: class %ld is outside [0, %zu)", given[q], k);
        goto done;
      }
  if (ppath && k < 3) {
    rc = cli_error(cmd, CLI_USAGE,
                   "--projection-out: the projection needs 3 classes, but %s "
                   "has %zu %s",
                   has_m ? cli_str(opts, "model", NULL)
                         : cli_str(opts, "templates", NULL),
                   k, has_m ? "outputs" : "template rows");
    goto done;
  }
  if (!(c = lsp_clusters_alloc(k))) {
    st = lsp_fail(LSP_ENOMEM, "out of memory (K = %zu)", k);
    goto fail;
  }
  if ((st = lsp_clusters_compute(x, y, n, h, c))) {
    st = lsp_fail_prefix(st, fpath);
    goto fail;
  }
  if (has_t) {
    if ((st = lsp_proj_confusion(x, y, n, h, t.W, t.b, k, &conf))) {
      /* features, templates and labels were checked: a logit that is not
       * finite is a float32 overflow of their product */
      if (st == LSP_EDATA)
        st = lsp_fail(st, "%s: %s: the features times the last layer's weights overflow float32",
                      has_m ? cli_str(opts, "model", NULL) : cli_str(opts, "templates", NULL),
                      lsp_errmsg());
      goto fail;
    }
    acc = (double)conf.right / (double)n;
  }
  if (has_t && (k >= 3 || given || ppath)) {
    int cls[3];
    if (given) {
      for (int q = 0; q < 3; q++) cls[q] = (int)given[q];
      for (int q = 0; q < 3; q++)
        for (int r = 0; r < 3; r++)
          if (q != r) score += lsp_confusion_get(&conf, (size_t)cls[q], (size_t)cls[r]);
    } else if ((st = lsp_proj_pick_classes(&conf, cls, &score))) {
      goto fail;
    }
    if ((st = lsp_proj_compute(x, y, n, h, t.W, t.b, k, cls, &p))) {
      st = lsp_fail_prefix(st, has_m ? cli_str(opts, "model", NULL)
                                     : cli_str(opts, "templates", NULL));
      goto fail;
    }
    if (ppath && (st = lsp_proj_write_csv(p, ppath))) goto fail;
  }
  if (cli_has(opts, "json"))
    print_json(c, p, score, !given, acc, has_t, fpath, ppath);
  else
    print_text(c, p, score, !given, acc, has_t, ppath);
  rc = 0;
  goto done;
fail:
  rc = cli_lib_error(cmd, st);
done:
  free(given);
  lsp_confusion_free(&conf);
  lsp_proj_free(p);
  lsp_clusters_free(c);
  free(y);
  free(xown);
  free(t.wown);
  free(t.bown);
  lsp_array_release(&t.wa);
  lsp_array_release(&t.ba);
  lsp_model_free(t.model);
  lsp_array_release(&fa);
  lsp_array_release(&ya);
  return rc;
}
