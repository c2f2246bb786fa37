#define _POSIX_C_SOURCE 200809L
/* lsp_attack.c — options, names, validation and the dispatcher of the
 * attack engines (the batch helpers, scoring and the ε envelope they share
 * are in lsp_attack_batch.c, the losses in lsp_attack_loss.c). */
#include "attacks/lsp_attack.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attacks/lsp_attack_int.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "core/base/lsp_util.h"

#define DEFAULT_BATCH 256
/* The default batch is smaller for networks whose activations would pass
 * this (a ResNet-8 row needs 1.3 MB): results do not depend on the batch. */
#define BATCH_BUDGET ((size_t)128 << 20)

size_t lsp_attack_default_batch(const lsp_model *m) {
  size_t per_row = lsp_model_ws_bytes_per_row(m), fit = BATCH_BUDGET / (per_row ? per_row : 1);
  return fit < 1 ? 1 : fit < DEFAULT_BATCH ? fit : DEFAULT_BATCH;
}

void lsp_attack_opts_default(lsp_attack_opts *o) {
  memset(o, 0, sizeof *o);
  o->kind = LSP_ATTACK_FGSM;
  o->loss = LSP_ALOSS_CE;
  o->smoothing.convention = LSP_LS_UNIFORM;
  o->target = LSP_TARGET_NONE;
  o->steps = 10;
  o->step_size = 0.0;
  o->restarts = 1;
  o->apgd_steps = 100;
  o->targets = 9;
  o->queries = 5000;
  o->p_init = 0.8;
  o->seed = 1;
  o->lo = 0.0f;
  o->hi = 1.0f;
  o->batch = 0;
}

void lsp_attack_result_free(lsp_attack_result *r) {
  if (!r) return;
  free(r->points);
  free(r->robust);
  r->points = NULL;
  r->robust = NULL;
  r->npoints = 0;
}

const char *lsp_attack_kind_name(lsp_attack_kind k) {
  switch (k) {
    case LSP_ATTACK_FGSM:
      return "fgsm";
    case LSP_ATTACK_BIM:
      return "bim";
    case LSP_ATTACK_PGD:
      return "pgd";
    case LSP_ATTACK_APGD_CE:
      return "apgd-ce";
    case LSP_ATTACK_APGD_DLR:
      return "apgd-dlr";
    case LSP_ATTACK_APGD_T:
      return "apgd-t";
    case LSP_ATTACK_SQUARE:
      return "square";
    case LSP_ATTACK_AUTOATTACK:
      return "autoattack";
  }
  return "?";
}

int lsp_attack_kind_is_aa(lsp_attack_kind k) {
  return k >= LSP_ATTACK_APGD_CE && k <= LSP_ATTACK_AUTOATTACK;
}

const char *lsp_attack_eps_range_note(const char *what, const double *eps, size_t n, double lo,
                                      double hi, char *buf, size_t cap) {
  const double width = hi - lo;
  char list[512] = "", conv[1024] = "";
  size_t nbig = 0, ll = 0, cl = 0;
  for (size_t i = 0; i < n; i++) {
    if (!(eps[i] >= width)) continue;
    char e[32]; /* as given: 1.0000001 is not 1 */
    lsp_shortest_g(eps[i], e, sizeof e);
    if (ll < sizeof list)
      ll += (size_t)snprintf(list + ll, sizeof list - ll, "%s%s", nbig ? "," : "", e);
    if (cl < sizeof conv)
      cl += (size_t)snprintf(conv + cl, sizeof conv - cl, "%s%s/255 = %.6g", nbig ? ", " : "",
                             e, eps[i] / 255.0);
    nbig++;
  }
  if (!nbig || !buf || !cap) return NULL;
  int pixels = lo == 0.0 && hi == 1.0;
  snprintf(buf, cap,
           "%s %s: %s the width %g of the input range [%g, %g], so the attack may move an "
           "input anywhere in the range and its accuracy measures nothing; ε is in the "
           "inputs' units%s%s%s",
           what, list, nbig == 1 ? "reaches or exceeds" : "reach or exceed", width, lo, hi,
           pixels ? " (the [0, 1] pixel scale): if 0-255 pixel steps were meant, give ε/255 ("
                  : "",
           pixels ? conv : "", pixels ? ")" : "");
  return buf;
}

const char *const lsp_aa_stage_names[LSP_AA_NSTAGES] = {"apgd-ce", "apgd-t",
                                                        "square"};

const char *lsp_attack_loss_name(lsp_attack_loss l) {
  switch (l) {
    case LSP_ALOSS_CE:
      return "ce";
    case LSP_ALOSS_SMOOTHED:
      return "smoothed";
    case LSP_ALOSS_MARGIN:
      return "margin";
    case LSP_ALOSS_DLR:
      return "dlr";
    case LSP_ALOSS_DLR_TARGETED:
      return "dlr-targeted";
  }
  return "?";
}

int lsp_attack_kind_parse(const char *s, lsp_attack_kind *out) {
  for (int k = LSP_ATTACK_FGSM; k < LSP_ATTACK_NKINDS; k++)
    if (s && strcmp(s, lsp_attack_kind_name((lsp_attack_kind)k)) == 0) {
      *out = (lsp_attack_kind)k;
      return LSP_OK;
    }
  return lsp_fail(LSP_EINVAL,
                  "unknown attack '%s' (known: fgsm, bim, pgd, apgd-ce, "
                  "apgd-dlr, apgd-t, square, autoattack)",
                  s ? s : "");
}

int lsp_attack_loss_parse(const char *s, lsp_attack_loss *out) {
  for (int k = LSP_ALOSS_CE; k <= LSP_ALOSS_DLR; k++)
    if (s && strcmp(s, lsp_attack_loss_name((lsp_attack_loss)k)) == 0) {
      *out = (lsp_attack_loss)k;
      return LSP_OK;
    }
  return lsp_fail(LSP_EINVAL,
                  "unknown attack loss '%s' (known: ce, smoothed, margin, dlr)",
                  s ? s : "");
}

void lsp_fgsm_apply(const float *x, const float *g, size_t count, double eps,
                    int dir, float lo, float hi, float *out) {
  /* As PyTorch: the scalar is rounded to float once, eps·sign(g) is then
   * exact, and the sum is one float rounding before the clip. */
  const float e = (float)eps * (dir < 0 ? -1.0f : 1.0f);
  for (size_t i = 0; i < count; i++)
    out[i] = lsp_attack_step(x[i], g[i], e, lo, hi);
}

/* ---- the entry points ------------------------------------------------------
 */

/* The image shape Square cuts its squares from: the options' shape, the
 * model's input shape when it is an image, or one derived from dim (see
 * lsp_attack_opts.shape). */
static void resolve_shape(const lsp_model *m, size_t dim, const size_t given[3],
                          size_t out[3]) {
  if (given[0] && given[1] && given[2]) {
    memcpy(out, given, 3 * sizeof *out);
    return;
  }
  if (m->in_shape.h * m->in_shape.w > 1 && lsp_shape_size(m->in_shape) == dim) {
    out[0] = m->in_shape.c;
    out[1] = m->in_shape.h;
    out[2] = m->in_shape.w;
    return;
  }
  out[0] = 1;
  out[1] = 1;
  out[2] = dim;
  for (size_t c = 1; c <= 3; c += 2) { /* grey, then RGB */
    if (dim % c) continue;
    size_t s = (size_t)llround(sqrt((double)(dim / c)));
    if (s * s == dim / c && s > 1) {
      out[0] = c;
      out[1] = out[2] = s;
      return;
    }
  }
}

static int check_aa_args(const lsp_model *src, const lsp_model *dst, size_t dim,
                         const lsp_attack_opts *o) {
  const char *name = lsp_attack_kind_name(o->kind);
  const int apgd = o->kind != LSP_ATTACK_SQUARE,
            square = o->kind == LSP_ATTACK_SQUARE ||
                     o->kind == LSP_ATTACK_AUTOATTACK,
            targeted = o->kind == LSP_ATTACK_APGD_T ||
                       o->kind == LSP_ATTACK_AUTOATTACK;
  if (dst && dst != src)
    return lsp_fail(LSP_EINVAL, "attack: %s is white-box only (no transfer)",
                    name);
  if (o->target != LSP_TARGET_NONE)
    return lsp_fail(LSP_EINVAL,
                    "attack: %s picks its own targets; give no target class",
                    name);
  if (o->restarts == 0)
    return lsp_fail(LSP_EINVAL, "attack: restarts must be positive");
  if (apgd && o->apgd_steps == 0)
    return lsp_fail(LSP_EINVAL, "attack: APGD steps must be positive");
  if (targeted && o->targets == 0)
    return lsp_fail(LSP_EINVAL, "attack: APGD-T needs at least one target");
  if (square && o->queries == 0)
    return lsp_fail(LSP_EINVAL, "attack: Square queries must be positive");
  if (square && !(o->p_init > 0.0 && o->p_init <= 1.0))
    return lsp_fail(LSP_EINVAL, "attack: Square p_init %g is not in (0, 1]",
                    o->p_init);
  size_t need = targeted ? 4 : o->kind == LSP_ATTACK_APGD_DLR ? 3 : 2;
  if (src && src->out_dim < need) /* the model does not fit the attack */
    return lsp_fail(LSP_EDATA,
                    "%s needs a model with at least %zu classes (this one has "
                    "%zu)",
                    name, need, src->out_dim);
  const size_t *sh = o->shape;
  if ((sh[0] || sh[1] || sh[2]) &&
      (!sh[0] || !sh[1] || !sh[2] || sh[0] * sh[1] * sh[2] != dim))
    return lsp_fail(LSP_EINVAL,
                    "attack: image shape %zux%zux%zu does not hold %zu "
                    "features",
                    sh[0], sh[1], sh[2], dim);
  return LSP_OK;
}

static int check_args(const lsp_model *src, const lsp_model *dst,
                      const float *x, const int32_t *y, size_t n, size_t dim,
                      const double *eps, size_t neps,
                      const lsp_attack_opts *o) {
  if (!src || !x || !y || !o || (neps && !eps))
    return lsp_fail(LSP_EINVAL, "attack: a required argument is missing");
  if (n == 0) return lsp_fail(LSP_EDATA, "attack: no examples (N = 0)");
  if (neps == 0) return lsp_fail(LSP_EINVAL, "attack: no eps given");
  for (size_t i = 0; i < neps; i++)
    if (!(eps[i] >= 0.0) || !isfinite(eps[i]))
      return lsp_fail(LSP_EINVAL, "attack: eps %g is not a finite number >= 0",
                      eps[i]);
  if ((int)o->kind < LSP_ATTACK_FGSM || (int)o->kind >= LSP_ATTACK_NKINDS)
    return lsp_fail(LSP_EINVAL, "attack: unknown attack kind %d", (int)o->kind);
  if (lsp_attack_kind_is_aa(o->kind)) {
    int st = check_aa_args(src, dst, dim, o);
    if (st) return st;
  } else if (o->loss < LSP_ALOSS_CE || o->loss > LSP_ALOSS_DLR) {
    return lsp_fail(LSP_EINVAL, "attack: unknown attack loss %d", (int)o->loss);
  } else if (o->loss == LSP_ALOSS_DLR && o->target != LSP_TARGET_NONE) {
    /* DLR on the target's label is identically 1 where the target ranks
     * third (z_π3 = z_t): no gradient, the input never moves */
    return lsp_fail(LSP_EINVAL,
                    "attack: the dlr loss is untargeted; the targeted DLR "
                    "is apgd-t's");
  } else if (o->loss == LSP_ALOSS_DLR && src && src->out_dim < 3) {
    return lsp_fail(LSP_EDATA,
                    "attack loss 'dlr' needs a model with at least 3 classes "
                    "(this one has %zu)",
                    src->out_dim);
  }
  if (o->kind == LSP_ATTACK_BIM || o->kind == LSP_ATTACK_PGD) {
    if (o->steps == 0)
      return lsp_fail(LSP_EINVAL, "attack: steps must be positive");
    if (o->restarts == 0)
      return lsp_fail(LSP_EINVAL, "attack: restarts must be positive");
    if (!(o->step_size >= 0.0) || !isfinite(o->step_size))
      return lsp_fail(LSP_EINVAL,
                      "attack: step size %g is not a finite number >= 0",
                      o->step_size);
  }
  if (!isfinite(o->lo) || !isfinite(o->hi) || !(o->lo < o->hi))
    return lsp_fail(LSP_EINVAL, "attack: bounds [%g, %g] are not an interval",
                    (double)o->lo, (double)o->hi);
  if (src->in_dim != dim)
    return lsp_fail(LSP_EDATA,
                    "the model takes %zu inputs but the data has %zu features",
                    src->in_dim, dim);
  if (src->out_dim < 2)
    return lsp_fail(LSP_EDATA, "the model has %zu outputs (need >= 2 classes)",
                    src->out_dim);
  if (dst && dst != src &&
      (dst->in_dim != src->in_dim || dst->out_dim != src->out_dim))
    return lsp_fail(
        LSP_EDATA,
        "the transfer source model (%zu inputs, %zu classes) does not match "
        "the scored model (%zu inputs, %zu classes)",
        src->in_dim, src->out_dim, dst->in_dim, dst->out_dim);
  if (o->adv && o->skip_broken)
    return lsp_fail(LSP_EINVAL,
                    "attack: adversarial inputs cannot be kept when broken "
                    "examples are skipped");
  if (o->adv && o->adv_point >= neps)
    return lsp_fail(LSP_EINVAL,
                    "attack: adversarial inputs asked for point %zu of %zu",
                    o->adv_point, neps);
  if (o->target != LSP_TARGET_NONE && o->target != LSP_TARGET_LEAST_LIKELY &&
      (o->target < 0 || (size_t)o->target >= src->out_dim))
    return lsp_fail(LSP_EINVAL, "attack: target class %d is outside [0, %zu)",
                    o->target, src->out_dim);
  for (size_t i = 0; i < n; i++)
    if (y[i] < 0 || (size_t)y[i] >= src->out_dim)
      return lsp_fail(
          LSP_EDATA,
          "label %d of example %zu does not fit the model's %zu classes",
          (int)y[i], i, src->out_dim);
  for (size_t i = 0; i < n * dim; i++)
    if (!(x[i] >= o->lo && x[i] <= o->hi))
      return lsp_fail(
          LSP_EDATA,
          "input %zu, feature %zu is %g, outside the bounds [%g, %g]", i / dim,
          i % dim, (double)x[i], (double)o->lo, (double)o->hi);
  return LSP_OK;
}

static void ctx_free(lsp_attack_ctx *c) {
  if (c->ws_dst != c->ws_src) lsp_model_ws_free(c->ws_dst);
  lsp_model_ws_free(c->ws_src);
  free(c->xb);
  free(c->gb);
  free(c->dz);
  free(c->lab);
  free(c->clean_pred);
  free(c->clean_conf);
  free(c->clean_logits);
  free(c->read);
}

int lsp_attack_run(lsp_model *src, const lsp_model *dst, const float *x,
                   const int32_t *y, size_t n, size_t dim, const double *eps,
                   size_t neps, const lsp_attack_opts *o,
                   lsp_attack_result *out) {
  if (out) memset(out, 0, sizeof *out);
  int st = check_args(src, dst, x, y, n, dim, eps, neps, o);
  if (st) return st;
  if (!out) return lsp_fail(LSP_EINVAL, "attack: no result struct");
  lsp_attack_ctx c;
  memset(&c, 0, sizeof c);
  c.src = src;
  c.dst = dst ? dst : src;
  c.transfer = c.dst != src;
  c.x = x;
  c.y = y;
  c.n = n;
  c.dim = dim;
  c.k = src->out_dim;
  c.o = o;
  c.dir = o->target == LSP_TARGET_NONE ? 1 : -1;
  c.batch = o->batch ? o->batch : lsp_attack_default_batch(src);
  if (c.batch > n) c.batch = n;
  c.ls = o->smoothing;
  const int aa = lsp_attack_kind_is_aa(o->kind);
  if (!aa && o->loss == LSP_ALOSS_SMOOTHED && !o->smoothing_given) {
    if (!src->meta.trained)
      return lsp_fail(LSP_EINVAL,
                      "attack loss 'smoothed': the model records no training "
                      "smoothing; give the smoothing explicitly");
    c.ls = src->meta.smoothing;
  }
  if (!aa && o->loss == LSP_ALOSS_SMOOTHED && (st = lsp_ls_check(&c.ls, c.k)))
    return st;
  resolve_shape(src, dim, o->shape, c.shape);
  c.fwd_src = lsp_model_flops(src);
  c.fwd_dst = lsp_model_flops(c.dst);

  c.ws_src = lsp_model_ws_alloc(src, c.batch);
  c.ws_dst = c.transfer ? lsp_model_ws_alloc(c.dst, c.batch) : c.ws_src;
  c.xb = malloc(c.batch * dim * sizeof *c.xb);
  c.gb = malloc(c.batch * dim * sizeof *c.gb);
  c.dz = malloc(c.batch * c.k * sizeof *c.dz);
  c.lab = malloc(n * sizeof *c.lab);
  c.clean_pred = malloc(n * sizeof *c.clean_pred);
  c.clean_conf = malloc(n * sizeof *c.clean_conf);
  if (aa) c.clean_logits = malloc(n * c.k * sizeof *c.clean_logits);
  out->points = calloc(neps, sizeof *out->points);
  out->robust = calloc(neps, LSP_ROBUST_BYTES(n));
  c.out = out;
  /* zero_grad_share counts only the components src reads at all: the
   * input gradient of an unread one is zero by construction */
  c.read = malloc(dim);
  int rst = c.read ? lsp_model_read_mask(src, c.read, &c.nread) : LSP_ENOMEM;
  if (rst == LSP_OK && c.nread == dim) {
    free(c.read);
    c.read = NULL;
  }
  if (!c.ws_src || !c.ws_dst || !c.xb || !c.gb || !c.dz || !c.lab ||
      !c.clean_pred || !c.clean_conf || !out->points || !out->robust ||
      (aa && !c.clean_logits) || rst != LSP_OK) {
    ctx_free(&c);
    lsp_attack_result_free(out);
    return lsp_fail(LSP_ENOMEM, "attack: out of memory for %zu examples", n);
  }
  out->npoints = neps;
  out->kind = o->kind;
  out->loss = o->loss;
  out->smoothing = c.ls;
  out->target = o->target;
  out->transfer = c.transfer;
  out->steps = o->kind == LSP_ATTACK_FGSM ? 1 : o->steps;
  out->restarts = o->kind == LSP_ATTACK_FGSM ? 1 : o->restarts;
  out->step_size = o->kind == LSP_ATTACK_FGSM ? 0.0 : o->step_size;
  out->early_exit = o->kind != LSP_ATTACK_FGSM && !c.transfer &&
                    o->target == LSP_TARGET_NONE && !o->full_steps;
  if (aa) {
    static const lsp_attack_loss aa_loss[] = {LSP_ALOSS_CE, LSP_ALOSS_DLR,
                                              LSP_ALOSS_DLR_TARGETED,
                                              LSP_ALOSS_MARGIN, LSP_ALOSS_CE};
    out->loss = aa_loss[o->kind - LSP_ATTACK_APGD_CE];
    out->steps = o->apgd_steps;
    out->step_size = 0.0;
    out->early_exit = 1; /* every iterate and query is judged */
    out->targets = o->targets < c.k - 1 ? o->targets : c.k - 1;
    out->queries = o->queries;
    out->p_init = o->p_init;
    memcpy(out->shape, c.shape, sizeof out->shape);
  }
  out->seed = o->seed;
  out->lo = o->lo;
  out->hi = o->hi;
  out->n = n;
  out->dim = dim;
  out->k = c.k;
  out->unread_inputs = dim - c.nread;

  const double t0 = lsp_now_s();
  st = o->kind == LSP_ATTACK_FGSM ? lsp_fgsm_sweep(&c, eps, neps, out)
       : aa                       ? lsp_aa_sweep(&c, eps, neps, out)
                                  : lsp_pgd_sweep(&c, eps, neps, out);
  const double t1 = lsp_now_s();
  if (st == LSP_OK) {
    size_t ok = 0, tden = 0, thit = 0;
    for (size_t i = 0; i < n; i++) {
      ok += c.clean_pred[i] == y[i];
      if (o->target != LSP_TARGET_NONE && c.lab[i] != y[i]) {
        tden++;
        thit += c.clean_pred[i] == c.lab[i];
      }
    }
    out->clean_correct = ok;
    out->clean_accuracy = (double)ok / (double)n;
    out->clean_target_rate = tden ? (double)thit / (double)tden : NAN;
    out->seconds = t1 - t0;
    out->flops = c.flops;
  } else {
    lsp_attack_result_free(out);
  }
  ctx_free(&c);
  return st;
}
