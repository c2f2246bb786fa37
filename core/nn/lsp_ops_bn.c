/* lsp_ops_bn.c — batch normalization in the operation table (lsp_ops.h):
 * evaluation mode on the running statistics, and training mode in three
 * steps around the graph's synchronization (each share's partial sums, their
 * combination over all shares, the normalization), forward and backward.
 * The entry is LSP_BN_ENTRY in the table of lsp_ops.c. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>

#include "core/base/lsp_error.h"
#include "core/nn/layers/lsp_bn.h"
#include "core/nn/lsp_ops.h"

/* clang-format off */
#define A(field, type) {#field, type, offsetof(lsp_attrs, field), 0}
#define END {NULL, 0, 0, 0}
const lsp_attr_def lsp_bn_attrs[] = {A(eps, LSP_ATTR_REAL), A(momentum, LSP_ATTR_REAL), END};
/* clang-format on */

static int why(char *buf, size_t len, const char *fmt, size_t a, size_t b) {
  snprintf(buf, len, fmt, a, b);
  return LSP_EINVAL;
}
static const float *P(const lsp_op_call *c) {
  return c->m->params + c->nd->p_off;
}
static const float *S(const lsp_op_call *c) {
  return c->m->state + c->nd->s_off;
}

static lsp_bn2d_geom bn_geom(const lsp_node *nd) {
  lsp_bn2d_geom g = {nd->shape.c, nd->shape.h * nd->shape.w, nd->a.eps,
                     nd->a.momentum};
  return g;
}

int lsp_bn_infer(const lsp_attrs *a, const lsp_shape *in, lsp_shape *out,
                 char *w, size_t len) {
  if (!(a->eps > 0.0) || !isfinite(a->eps) ||
      !(a->momentum >= 0.0 && a->momentum <= 1.0)) {
    snprintf(w, len, "eps %g must be positive and momentum %g in [0, 1]",
             a->eps, a->momentum);
    return LSP_EINVAL;
  }
  *out = in[0];
  return LSP_OK;
}

int lsp_bn_tensors(const lsp_node *nd, lsp_tensor_def *t) {
  size_t c = nd->shape.c;
  t[0] = (lsp_tensor_def){"weight", 0, 1, {c}};
  t[1] = (lsp_tensor_def){"bias", 0, 1, {c}};
  t[2] = (lsp_tensor_def){"running_mean", 1, 1, {c}};
  t[3] = (lsp_tensor_def){"running_var", 1, 1, {c}};
  return 4;
}

void lsp_bn_init(const lsp_node *nd, float *p, float *s, gsl_rng *r) {
  (void)r;
  size_t c = nd->shape.c;
  for (size_t i = 0; i < c; i++)
    p[i] = 1.0f, p[c + i] = 0.0f, s[i] = 0.0f, s[c + i] = 1.0f;
}

int lsp_bn_check(const lsp_node *nd, const float *p, const float *s, char *w,
                 size_t len) {
  (void)p;
  for (size_t i = 0; i < nd->shape.c; i++)
    if (!(s[nd->shape.c + i] >= 0.0f))
      return why(w, len,
                 "the running variance of channel %zu (of %zu) is negative", i,
                 nd->shape.c);
  return LSP_OK;
}

double lsp_bn_flops(const lsp_node *nd) {
  return 2.0 * (double)lsp_shape_size(nd->shape);
}
size_t lsp_bn_sync_size(const lsp_node *nd) {
  return 2 * nd->shape.c;
}

void lsp_bn_fwd(const lsp_op_call *c) { /* eval: running statistics */
  lsp_bn2d_geom g = bn_geom(c->nd);
  const float *p = P(c), *s = S(c);
  lsp_bn2d_forward_eval(&g, c->x0, c->n, p, p + g.c, s, s + g.c, c->y);
}

void lsp_bn_bwd(const lsp_op_call *c) {
  lsp_bn2d_geom g = bn_geom(c->nd);
  const float *p = P(c), *s = S(c);
  lsp_bn2d_backward_eval(&g, c->x0, c->dy, c->n, p, s, s + g.c, c->dx0, c->dp,
                         c->dp ? c->dp + g.c : NULL);
}

static double *blk(const lsp_op_call *c, int which) {
  return c->sync + (size_t)which * lsp_bn_sync_size(c->nd);
}

void lsp_bn_fwd_part(const lsp_op_call *c) {
  lsp_bn2d_geom g = bn_geom(c->nd);
  lsp_bn2d_train_stats(&g, c->x0, c->n, blk(c, LSP_SYNC_PART));
}

int lsp_bn_fwd_combine(const lsp_node *nd, const double *parts,
                       const size_t *counts, size_t ns, double *stat,
                       float *s) {
  lsp_bn2d_geom g = bn_geom(nd);
  return lsp_bn2d_train_combine(&g, parts, counts, ns, stat, s, s + g.c);
}

void lsp_bn_fwd_apply(const lsp_op_call *c) {
  lsp_bn2d_geom g = bn_geom(c->nd);
  const float *p = P(c);
  lsp_bn2d_train_apply(&g, c->x0, c->n, blk(c, LSP_SYNC_STAT), p, p + g.c,
                       c->y);
}

void lsp_bn_bwd_part(const lsp_op_call *c) {
  lsp_bn2d_geom g = bn_geom(c->nd);
  double *part = blk(c, LSP_SYNC_BPART);
  lsp_bn2d_bwd_sums(&g, c->x0, c->dy, c->n, blk(c, LSP_SYNC_STAT), part);
  if (c->dp) /* this share's dgamma = Σdy·x̂, dbeta = Σdy */
    for (size_t i = 0; i < g.c; i++)
      c->dp[i] = (float)part[g.c + i], c->dp[g.c + i] = (float)part[i];
}

void lsp_bn_bwd_combine(const lsp_node *nd, const double *parts, size_t ns,
                        double *sums) {
  lsp_bn2d_geom g = bn_geom(nd);
  lsp_bn2d_bwd_combine(&g, parts, ns, sums);
}

void lsp_bn_bwd_apply(const lsp_op_call *c) {
  lsp_bn2d_geom g = bn_geom(c->nd);
  if (c->dx0)
    lsp_bn2d_bwd_apply(&g, c->x0, c->dy, c->n, blk(c, LSP_SYNC_STAT), P(c),
                       blk(c, LSP_SYNC_SUMS), c->n_total, c->dx0);
}
