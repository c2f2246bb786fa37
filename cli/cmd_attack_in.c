#define _POSIX_C_SOURCE 200809L
/* The input half of `lsprobe attack`: --data (a dataset split) or --x and
 * --labels arrays, checked against the model (shape, classes, bounds). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_split.h"
#include "cli/cmd_attack_int.h"
#include "core/base/lsp_error.h"
#include "core/data/lsp_data.h"
#include "core/formats/lsp_npy.h"
#include "core/nn/lsp_model.h"

static const char *k_cmd = "attack";


void cmd_attack_inputs_free(attack_inputs *in) {
  if (in->have_splits) lsp_splits_free(&in->splits);
  lsp_array_release(&in->xa);
  free(in->xown);
  free(in->yown);
}

/* The model must take the data's features and, if the data knows its class
 * count, have that many outputs. */
int cmd_attack_check_fit(const lsp_model *m, const char *path,
                         const attack_inputs *in) {
  if (m->in_dim != in->dim)
    return cli_error(k_cmd, CLI_DATA,
                     "%s takes %zu inputs but %s has %zu features", path,
                     m->in_dim, in->name, in->dim);
  size_t ic, ih, iw;
  if (in->have_splits) {
    lsp_splits_shape(&in->splits, &ic, &ih, &iw);
    if (!lsp_model_takes_shape(m, ic, ih, iw))
      return cli_error(k_cmd, CLI_DATA,
                       "%s takes %zux%zux%zu inputs but %s holds %zux%zux%zu "
                       "images (channels first: N x C x H x W)",
                       path, m->in_shape.c, m->in_shape.h, m->in_shape.w,
                       in->name, ic, ih, iw);
  }
  if (in->k > 0 && m->out_dim != (size_t)in->k)
    return cli_error(k_cmd, CLI_DATA, "%s has %zu classes but %s has %d", path,
                     m->out_dim, in->name, in->k);
  return CLI_OK;
}

/* --x: N×C×H×W images of the model's shape, N×C×L arrays for a model of
 * C×L inputs (N×H×W for one channel), or N×D rows (taken as C×H×W in C
 * order; --input-shape C,H,W says so explicitly and is checked). uint8
 * files hold 8-bit pixels: divided by 255 (DESIGN §3), as in a data folder. */
static int read_x(cli_opt *opts, const lsp_model *m, const char *mpath, const char *xp,
                  attack_inputs *in) {
  const lsp_shape *ms = &m->in_shape;
  int st = lsp_npy_read(xp, &in->xa);
  if (st) return cli_lib_error(k_cmd, st);
  const lsp_array *a = &in->xa;
  if ((a->ndim == 2 || a->ndim == 4) && a->shape[0] == 0)
    return cli_error(k_cmd, CLI_DATA, "%s: no examples (the file has 0 rows)", xp);
  if ((a->ndim < 2 || a->ndim > 4) || a->count == 0)
    return cli_error(k_cmd, CLI_DATA, "%s: expected N x D rows, N x C x L or N x H x W "
                     "arrays or N x C x H x W images, found %d dimension(s) (%zu values)",
                     xp, a->ndim, a->count);
  if (a->ndim == 3 && a->shape[0] == 0)
    return cli_error(k_cmd, CLI_DATA, "%s: no examples (the file has 0 rows)", xp);
  if (a->ndim == 3 && !lsp_model_takes_shape(m, 1, a->shape[1], a->shape[2]))
    return cli_error(k_cmd, CLI_DATA, "%s takes %zux%zux%zu inputs but %s holds %zux%zu arrays",
                     mpath, ms->c, ms->h, ms->w, xp, a->shape[1], a->shape[2]);
  in->n = a->shape[0];
  in->dim = a->count / a->shape[0];
  in->ndim = a->ndim; /* --adv-out keeps the file's shape */
  for (int d = 1; d < a->ndim; d++) in->shape[d] = a->shape[d];
  if (cli_has(opts, "input-shape")) {
    long *sh = NULL;
    size_t ns = 0;
    int rc = cli_get_longs(k_cmd, opts, "input-shape", "", 1, 1L << 24, &sh, &ns);
    if (rc) return rc;
    int ok = ns == 3 && (size_t)sh[0] == ms->c && (size_t)sh[1] == ms->h &&
             (size_t)sh[2] == ms->w;
    size_t prod = ns == 3 ? (size_t)sh[0] * (size_t)sh[1] * (size_t)sh[2] : 0;
    free(sh);
    if (ns != 3) return cli_error(k_cmd, CLI_USAGE, "--input-shape: expected C,H,W");
    if (a->ndim != 2)
      return cli_error(k_cmd, CLI_USAGE, "--input-shape goes with N x D rows; %s has %d dimensions",
                       xp, a->ndim);
    if (prod != in->dim)
      return cli_error(k_cmd, CLI_DATA, "%s: rows of %zu values are not --input-shape %s", xp,
                       in->dim, cli_str(opts, "input-shape", ""));
    if (!ok)
      return cli_error(k_cmd, CLI_DATA, "%s takes %zux%zux%zu inputs, not --input-shape %s",
                       mpath, ms->c, ms->h, ms->w, cli_str(opts, "input-shape", ""));
  }
  if (a->ndim == 4 &&
      (a->shape[1] != ms->c || a->shape[2] != ms->h || a->shape[3] != ms->w))
    return cli_error(k_cmd, CLI_DATA, "%s takes %zux%zux%zu inputs but %s holds %zux%zux%zu",
                     mpath, ms->c, ms->h, ms->w, xp, a->shape[1], a->shape[2], a->shape[3]);
  if ((st = lsp_array_f32(a, xp, 1, &in->x, &in->xown))) return cli_lib_error(k_cmd, st);
  if (a->dtype == LSP_DT_U8 && in->xown) { /* 8-bit pixels, as the data loader reads them */
    const uint8_t *u = a->data;
    for (size_t i = 0; i < a->count; i++) in->xown[i] = (float)u[i] / 255.0f;
  }
  return CLI_OK;
}

/* Inputs from a file must lie inside [lo, hi]: the attack clips to those
 * bounds, so an input outside them (0-255 pixels against the default [0, 1])
 * would make every perturbation meaningless. The message says where, the
 * range of the file, and what to do. */
static int check_bounds(const attack_inputs *in, const char *xp, int given) {
  size_t count = in->n * in->dim, bad = count;
  float mn = in->x[0], mx = in->x[0];
  for (size_t i = 0; i < count; i++) {
    float v = in->x[i];
    if (bad == count && !(v >= in->lo && v <= in->hi)) bad = i;
    mn = v < mn ? v : mn;
    mx = v > mx ? v : mx;
  }
  if (bad == count) return CLI_OK;
  return cli_error(k_cmd, CLI_DATA,
                   "%s: value %g at row %zu, column %zu is outside the "
                   "bounds [%g, %g]%s; the file spans [%g, %g]: %s",
                   xp, (double)in->x[bad], bad / in->dim, bad % in->dim,
                   (double)in->lo, (double)in->hi,
                   given ? " (--lo/--hi)" : " (the default --lo 0 --hi 1)",
                   (double)mn, (double)mx,
                   mx > 1.0f && mx <= 255.0f && mn >= 0.0f
                       ? "scale 8-bit pixels by 1/255, or give --lo/--hi that "
                         "hold the data the model was trained on"
                       : "scale the inputs as the model was trained, or give "
                         "--lo/--hi that hold them");
}

int cmd_attack_load_inputs(cli_opt *opts, const lsp_model *m, const char *mpath,
                       attack_inputs *in) {
  const char *data = cli_str(opts, "data", NULL);
  const char *xp = cli_str(opts, "x", NULL),
             *yp = cli_str(opts, "labels", NULL);
  const char *split = cli_str(opts, "split", "test");
  int rc;
  long limit;
  if ((rc = cli_get_long(k_cmd, opts, "limit", 0, 0, 1L << 40, &limit)))
    return rc;
  if (data && (xp || yp))
    return cli_error(k_cmd, CLI_USAGE,
                     "give either --data or --x with --labels, not both");
  if (!data && !(xp && yp))
    return cli_error(k_cmd, CLI_USAGE,
                     "--data (or --x with --labels) is required");
  if (strcmp(split, "test") != 0 && strcmp(split, "val") != 0)
    return cli_error(k_cmd, CLI_USAGE, "--split: '%s' is not test or val",
                     split);
  if (data) {
    if (cli_has(opts, "lo") || cli_has(opts, "hi"))
      return cli_error(k_cmd, CLI_USAGE,
                       "--lo/--hi go with --x; a dataset has its own bounds");
    if (cli_has(opts, "input-shape"))
      return cli_error(k_cmd, CLI_USAGE,
                       "--input-shape goes with --x; a dataset has its own "
                       "shape");
    lsp_data_opts o;
    lsp_data_opts_default(&o);
    o.spec = data;
    /* The validation split is the one the model was trained without, as in
     * eval: the split its record names, checked by its hash. */
    const lsp_model_meta *mt = &m->meta;
    int other = 0, st = cli_data_for_model(mpath, mt, &o, 0, &in->splits, &other);
    if (st) return cli_lib_error(k_cmd, st);
    in->have_splits = 1;
    cli_note(k_cmd, in->splits.note);
    if (strcmp(split, "val") == 0 && other)
      return cli_error(k_cmd, CLI_DATA,
                       "%s: its validation split is not the one %s was trained "
                       "without (trained on %s with %llu validation examples): is "
                       "it the same data?",
                       in->splits.name, mpath, mt->data, (unsigned long long)mt->n_val);
    if (strcmp(split, "val") == 0 && !(mt->trained && mt->val_hash != 0))
      cli_warn(k_cmd,
               "%s records no training split (%s): --split val attacks lsprobe's "
               "own validation split (seed %lu, %zu examples); the model may have "
               "been trained on them",
               mpath, mt->trained ? "written by an older lsprobe" : "imported or untrained",
               o.seed, in->splits.val.n);
    const lsp_dataset *d =
        strcmp(split, "val") == 0 ? &in->splits.val : &in->splits.test;
    in->x = d->x;
    in->y = d->y;
    in->n = d->n;
    in->dim = d->dim;
    in->k = d->k;
    size_t c, h, w; /* images N × C × H × W, flat rows N × D */
    lsp_splits_shape(&in->splits, &c, &h, &w);
    in->ndim = h * w > 1 ? 4 : 2;
    in->shape[1] = in->ndim == 4 ? c : d->dim;
    in->shape[2] = h;
    in->shape[3] = w;
    in->lo = in->splits.lo;
    in->hi = in->splits.hi;
    in->name = data;
  } else {
    int st = LSP_OK;
    if ((rc = read_x(opts, m, mpath, xp, in))) return rc;
    in->name = xp;
    if ((rc = cmd_attack_check_fit(m, mpath, in))) return rc;
    lsp_array ya = {0};
    if ((st = lsp_npy_read(yp, &ya))) return cli_lib_error(k_cmd, st);
    st = lsp_array_labels(&ya, yp, (int)m->out_dim, &in->yown);
    size_t ny = ya.count;
    lsp_array_release(&ya);
    if (st) return cli_lib_error(k_cmd, st);
    if (ny != in->n)
      return cli_error(k_cmd, CLI_DATA, "%s has %zu labels but %s has %zu rows",
                       yp, ny, xp, in->n);
    in->y = in->yown;
    double lo, hi;
    if ((rc = cli_get_double(k_cmd, opts, "lo", 0.0, -1e30, 1e30, &lo)) ||
        (rc = cli_get_double(k_cmd, opts, "hi", 1.0, -1e30, 1e30, &hi)))
      return rc;
    if (!(lo < hi))
      return cli_error(k_cmd, CLI_USAGE, "--lo %g must be below --hi %g", lo,
                       hi);
    in->lo = (float)lo;
    in->hi = (float)hi;
    if ((rc = check_bounds(in, xp, cli_has(opts, "lo") || cli_has(opts, "hi"))))
      return rc;
  }
  if (limit > 0 && (size_t)limit < in->n) in->n = (size_t)limit;
  if (in->n == 0)
    return cli_error(k_cmd, CLI_DATA, "%s: no examples in the %s split",
                     in->name, split);
  return CLI_OK;
}
