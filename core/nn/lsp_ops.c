/* lsp_ops.c — the operation table: one entry per node kind, wrapping the
 * kernels of core/nn/layers (pure functions on plain arrays) with what the
 * graph needs around them (lsp_ops.h). */
#include "core/nn/lsp_ops.h"

#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/nn/layers/lsp_conv.h"
#include "core/nn/layers/lsp_dense.h"
#include "core/nn/layers/lsp_eltwise.h"
#include "core/nn/layers/lsp_pool.h"

/* Bounds that keep shapes far from overflow: a dimension, one example's
 * tensor, a weight tensor. */
#define MAX_DIM ((size_t)1 << 24)
#define MAX_ELEMS ((size_t)1 << 28)

/* clang-format off */
#define A(field, type) {#field, type, offsetof(lsp_attrs, field), 0}
#define END {NULL, 0, 0, 0}

static const lsp_attr_def no_attrs[] = {END};
static const lsp_attr_def dense_attrs[] = {A(units, LSP_ATTR_SIZE), A(bias, LSP_ATTR_FLAG), END};
static const lsp_attr_def conv_attrs[] = {
    A(units, LSP_ATTR_SIZE), A(kh, LSP_ATTR_SIZE), A(kw, LSP_ATTR_SIZE),
    A(sh, LSP_ATTR_SIZE),    A(sw, LSP_ATTR_SIZE), A(ph, LSP_ATTR_SIZE),
    A(pw, LSP_ATTR_SIZE),    A(bias, LSP_ATTR_FLAG), A(groups, LSP_ATTR_SIZE),
    END};
static const lsp_attr_def maxpool_attrs[] = {
    A(kh, LSP_ATTR_SIZE), A(kw, LSP_ATTR_SIZE), A(sh, LSP_ATTR_SIZE),
    A(sw, LSP_ATTR_SIZE), A(ph, LSP_ATTR_SIZE), A(pw, LSP_ATTR_SIZE),
    A(ceil_mode, LSP_ATTR_FLAG), END};
static const lsp_attr_def avgpool_attrs[] = {
    A(kh, LSP_ATTR_SIZE), A(kw, LSP_ATTR_SIZE), A(sh, LSP_ATTR_SIZE),
    A(sw, LSP_ATTR_SIZE), A(ph, LSP_ATTR_SIZE), A(pw, LSP_ATTR_SIZE),
    A(ceil_mode, LSP_ATTR_FLAG), A(count_pad, LSP_ATTR_FLAG), END};
/* clang-format on */

double lsp_attr_get(const lsp_attrs *a, const lsp_attr_def *d) {
  const char *p = (const char *)a + d->off;
  switch (d->type) {
    case LSP_ATTR_SIZE:
      return (double)*(const size_t *)(const void *)p;
    case LSP_ATTR_FLAG:
      return (double)*(const int *)(const void *)p;
    default:
      return *(const double *)(const void *)p;
  }
}

void lsp_attr_set(lsp_attrs *a, const lsp_attr_def *d, double v) {
  char *p = (char *)a + d->off;
  switch (d->type) {
    case LSP_ATTR_SIZE:
      *(size_t *)(void *)p = (size_t)v;
      break;
    case LSP_ATTR_FLAG:
      *(int *)(void *)p = (int)v;
      break;
    default:
      *(double *)(void *)p = v;
  }
}

size_t lsp_tensor_count(const lsp_tensor_def *t) {
  size_t c = 1;
  for (int i = 0; i < t->ndim; i++) c *= t->dims[i];
  return c;
}

static int why(char *buf, size_t len, const char *fmt, size_t a, size_t b) {
  snprintf(buf, len, fmt, a, b);
  return LSP_EINVAL;
}

static size_t count_of(const lsp_op_call *c) {
  return c->n * lsp_shape_size(c->nd->shape);
}
static const float *P(const lsp_op_call *c) {
  return c->m->params + c->nd->p_off;
}
static float *S(const lsp_op_call *c) {
  return c->m->state + c->nd->s_off;
}

/* ---- dense -------------------------------------------------------------- */

static int dense_infer(const lsp_attrs *a, const lsp_shape *in, lsp_shape *out,
                       char *w, size_t len) {
  size_t d = lsp_shape_size(in[0]);
  if (a->units == 0 || a->units > MAX_DIM)
    return why(w, len, "%zu units is not in [1, %zu]", a->units, MAX_DIM);
  if (d > MAX_ELEMS / a->units)
    return why(w, len, "a %zu x %zu weight is too large", a->units, d);
  *out = (lsp_shape){a->units, 1, 1};
  return LSP_OK;
}

static int dense_tensors(const lsp_node *nd, lsp_tensor_def *t) {
  t[0] = (lsp_tensor_def){
      "weight", 0, 2, {nd->a.units, lsp_shape_size(nd->ishape)}};
  if (!nd->a.bias) return 1;
  t[1] = (lsp_tensor_def){"bias", 0, 1, {nd->a.units}};
  return 2;
}

/* nn.Linear and nn.Conv2d: kaiming_uniform(a = sqrt(5)) on W gives the bound
 * 1/sqrt(fan_in), and the bias uses the same bound; W row-major, then b. */
static void fan_in_init(size_t fan_in, size_t nw, size_t nb, float *p,
                        gsl_rng *r) {
  double bound = 1.0 / sqrt((double)fan_in);
  for (size_t i = 0; i < nw + nb; i++)
    p[i] = (float)((2.0 * gsl_rng_uniform(r) - 1.0) * bound);
}

static void dense_init(const lsp_node *nd, float *p, float *s, gsl_rng *r) {
  (void)s;
  size_t in = lsp_shape_size(nd->ishape);
  fan_in_init(in, nd->a.units * in, nd->a.bias ? nd->a.units : 0, p, r);
}

static double dense_flops(const lsp_node *nd) {
  return 2.0 * (double)lsp_shape_size(nd->ishape) * (double)nd->a.units;
}

static void dense_fwd(const lsp_op_call *c) {
  size_t in = lsp_shape_size(c->nd->ishape), out = c->nd->a.units;
  lsp_dense_forward(c->x0, c->n, in, out, P(c),
                    c->nd->a.bias ? P(c) + out * in : NULL, c->y);
}

static void dense_bwd(const lsp_op_call *c) {
  size_t in = lsp_shape_size(c->nd->ishape), out = c->nd->a.units;
  float *dw = c->dp, *db = c->dp && c->nd->a.bias ? c->dp + out * in : NULL;
  if (c->dp_zero)
    lsp_dense_backward_add(c->x0, c->dy, c->n, in, out, P(c), c->dx0, dw, db);
  else
    lsp_dense_backward(c->x0, c->dy, c->n, in, out, P(c), c->dx0, dw, db);
}

/* ---- element-wise: relu, add, flatten, normalize --------------------------
 */

static int same_infer(const lsp_attrs *a, const lsp_shape *in, lsp_shape *out,
                      char *w, size_t len) {
  (void)a, (void)w, (void)len;
  *out = in[0];
  return LSP_OK;
}

static double elt_flops(const lsp_node *nd) {
  return (double)lsp_shape_size(nd->shape);
}
static double no_flops(const lsp_node *nd) {
  (void)nd;
  return 0.0;
}

static void relu_fwd(const lsp_op_call *c) {
  lsp_relu_forward(c->x0, c->y, count_of(c));
}
static void relu_bwd(const lsp_op_call *c) {
  if (c->dx0) lsp_relu_backward(c->yv, c->dy, c->dx0, count_of(c));
}

static int add_infer(const lsp_attrs *a, const lsp_shape *in, lsp_shape *out,
                     char *w, size_t len) {
  (void)a;
  if (in[0].c != in[1].c || in[0].h != in[1].h || in[0].w != in[1].w) {
    snprintf(w, len, "adds %zux%zux%zu to %zux%zux%zu", in[0].c, in[0].h,
             in[0].w, in[1].c, in[1].h, in[1].w);
    return LSP_EINVAL;
  }
  *out = in[0];
  return LSP_OK;
}

static void add_fwd(const lsp_op_call *c) {
  lsp_add_forward(c->x0, c->x1, c->y, count_of(c));
}
static void add_bwd(const lsp_op_call *c) {
  if (c->dx0) memcpy(c->dx0, c->dy, count_of(c) * sizeof(float));
  if (c->dx1) memcpy(c->dx1, c->dy, count_of(c) * sizeof(float));
}

static int flatten_infer(const lsp_attrs *a, const lsp_shape *in,
                         lsp_shape *out, char *w, size_t len) {
  (void)a, (void)w, (void)len;
  *out = (lsp_shape){lsp_shape_size(in[0]), 1, 1};
  return LSP_OK;
}

static void flatten_fwd(const lsp_op_call *c) {
  (void)c; /* the input's buffer */
}
static void flatten_bwd(const lsp_op_call *c) {
  if (c->dx0) memcpy(c->dx0, c->dy, count_of(c) * sizeof(float));
}

static int normalize_tensors(const lsp_node *nd, lsp_tensor_def *t) {
  t[0] = (lsp_tensor_def){"mean", 1, 1, {nd->ishape.c}};
  t[1] = (lsp_tensor_def){"std", 1, 1, {nd->ishape.c}};
  return 2;
}

static void normalize_init(const lsp_node *nd, float *p, float *s, gsl_rng *r) {
  (void)nd, (void)p, (void)s, (void)r; /* constants given when built */
}

static int normalize_check(const lsp_node *nd, const float *p, const float *s,
                           char *w, size_t len) {
  (void)p;
  /* negative is fine (an imported Div by a negative constant); 1/std must
   * be a finite float */
  for (size_t i = 0; i < nd->ishape.c; i++)
    if (!(fabsf(s[nd->ishape.c + i]) >= FLT_MIN) ||
        !isfinite(s[nd->ishape.c + i]))
      return why(w, len,
                 "the standard deviation of channel %zu (of %zu) is zero, "
                 "subnormal or not finite",
                 i, nd->ishape.c);
  return LSP_OK;
}

static double normalize_flops(const lsp_node *nd) {
  return 2.0 * (double)lsp_shape_size(nd->shape);
}

static void normalize_fwd(const lsp_op_call *c) {
  const lsp_shape *s = &c->nd->shape;
  const float *st = S(c);
  lsp_chnorm_forward(c->x0, c->n, s->c, s->h * s->w, st, st + s->c, c->y);
}
static void normalize_bwd(const lsp_op_call *c) {
  const lsp_shape *s = &c->nd->shape;
  if (c->dx0)
    lsp_chnorm_backward(c->dy, c->n, s->c, s->h * s->w, S(c) + s->c, c->dx0);
}

/* ---- convolution ------------------------------------------------------------
 */

static lsp_conv2d_geom conv_geom(const lsp_attrs *a, lsp_shape in) {
  lsp_conv2d_geom g = {in.c,  in.h,  in.w,  a->units, a->kh,    a->kw,
                       a->sh, a->sw, a->ph, a->pw,    0,        0,
                       a->groups};
  return g;
}

static int conv_infer(const lsp_attrs *a, const lsp_shape *in, lsp_shape *out,
                      char *w, size_t len) {
  if (a->units == 0 || a->units > MAX_DIM)
    return why(w, len, "%zu output channels is not in [1, %zu]", a->units,
               MAX_DIM);
  if (a->kh > MAX_DIM || a->kw > MAX_DIM || a->sh > MAX_DIM ||
      a->sw > MAX_DIM || a->ph > MAX_DIM || a->pw > MAX_DIM)
  {
    snprintf(w, len,
             "kernel %zux%zu, stride %zux%zu, padding %zux%zu: each at most %zu",
             a->kh, a->kw, a->sh, a->sw, a->ph, a->pw, MAX_DIM);
    return LSP_EINVAL;
  }
  if (a->groups == 0) return why(w, len, "%zu groups (at least %zu)", 0, 1);
  lsp_conv2d_geom g = conv_geom(a, in[0]);
  if (lsp_conv2d_geom_check(&g)) {
    snprintf(w, len, "%s", lsp_errmsg());
    return LSP_EINVAL;
  }
  if (a->units * in[0].c > MAX_ELEMS / (a->kh * a->kw))
    return why(w, len, "a %zu x %zu x k x k weight is too large", a->units,
               in[0].c);
  *out = (lsp_shape){a->units, g.h_out, g.w_out};
  return LSP_OK;
}

static int conv_tensors(const lsp_node *nd, lsp_tensor_def *t) {
  const size_t cg = nd->ishape.c / nd->a.groups; /* channels per group */
  t[0] = (lsp_tensor_def){"weight", 0, 4, {nd->a.units, cg, nd->a.kh, nd->a.kw}};
  if (!nd->a.bias) return 1;
  t[1] = (lsp_tensor_def){"bias", 0, 1, {nd->a.units}};
  return 2;
}

static void conv_init(const lsp_node *nd, float *p, float *s, gsl_rng *r) {
  (void)s;
  size_t fan = nd->ishape.c / nd->a.groups * nd->a.kh * nd->a.kw;
  fan_in_init(fan, nd->a.units * fan, nd->a.bias ? nd->a.units : 0, p, r);
}

static double conv_flops(const lsp_node *nd) {
  return 2.0 * (double)(nd->ishape.c / nd->a.groups * nd->a.kh * nd->a.kw) *
         (double)lsp_shape_size(nd->shape);
}

static size_t conv_scratch(const lsp_node *nd, size_t n) {
  lsp_conv2d_geom g = conv_geom(&nd->a, nd->ishape);
  g.h_out = nd->shape.h, g.w_out = nd->shape.w;
  return lsp_conv2d_ws_size(&g, n);
}

static size_t conv_nw(const lsp_node *nd) {
  return nd->a.units * (nd->ishape.c / nd->a.groups) * nd->a.kh * nd->a.kw;
}

static void conv_fwd(const lsp_op_call *c) {
  lsp_conv2d_geom g = conv_geom(&c->nd->a, c->nd->ishape);
  g.h_out = c->nd->shape.h, g.w_out = c->nd->shape.w;
  size_t nw = conv_nw(c->nd);
  lsp_conv2d_forward(&g, c->x0, c->n, P(c), c->nd->a.bias ? P(c) + nw : NULL,
                     c->y, c->scratch);
}

static void conv_bwd(const lsp_op_call *c) {
  lsp_conv2d_geom g = conv_geom(&c->nd->a, c->nd->ishape);
  g.h_out = c->nd->shape.h, g.w_out = c->nd->shape.w;
  size_t nw = conv_nw(c->nd);
  float *db = c->dp && c->nd->a.bias ? c->dp + nw : NULL;
  lsp_conv2d_backward(&g, c->x0, c->dy, c->n, P(c), c->dx0, c->dp, db,
                      c->scratch);
}

/* ---- pooling
 * ------------------------------------------------------------------ */

static lsp_pool2d_geom pool_geom(const lsp_attrs *a, lsp_shape in) {
  lsp_pool2d_geom g = {.c = in.c,
                       .h_in = in.h,
                       .w_in = in.w,
                       .kh = a->kh,
                       .kw = a->kw,
                       .sh = a->sh,
                       .sw = a->sw,
                       .ph = a->ph,
                       .pw = a->pw,
                       .ceil_mode = a->ceil_mode,
                       .count_include_pad = a->count_pad};
  return g;
}

static int pool_infer(const lsp_attrs *a, const lsp_shape *in, lsp_shape *out,
                      char *w, size_t len) {
  if (a->kh > MAX_DIM || a->kw > MAX_DIM || a->sh > MAX_DIM ||
      a->sw > MAX_DIM || a->ph > MAX_DIM || a->pw > MAX_DIM)
    return why(w, len, "absurd window, stride or padding (%zu, %zu)", a->kh,
               a->sh);
  if (a->ceil_mode < 0 || a->ceil_mode > 1 || a->count_pad < 0 ||
      a->count_pad > 1)
    return why(w, len, "flags must be 0 or 1 (%zu, %zu)", (size_t)a->ceil_mode,
               (size_t)a->count_pad);
  lsp_pool2d_geom g = pool_geom(a, in[0]);
  if (lsp_pool2d_geom_check(&g)) {
    snprintf(w, len, "%s", lsp_errmsg());
    return LSP_EINVAL;
  }
  *out = (lsp_shape){in[0].c, g.h_out, g.w_out};
  return LSP_OK;
}

static double pool_flops(const lsp_node *nd) {
  return (double)(nd->a.kh * nd->a.kw) * (double)lsp_shape_size(nd->shape);
}

lsp_pool2d_geom lsp_pool_geom_of(const lsp_node *nd) {
  lsp_pool2d_geom g = pool_geom(&nd->a, nd->ishape);
  g.h_out = nd->shape.h, g.w_out = nd->shape.w;
  return g;
}

static void maxpool_fwd(const lsp_op_call *c) {
  lsp_pool2d_geom g = lsp_pool_geom_of(c->nd);
  lsp_maxpool2d_forward(&g, c->x0, c->n, c->y);
}
static void maxpool_bwd(const lsp_op_call *c) {
  lsp_pool2d_geom g = lsp_pool_geom_of(c->nd);
  if (c->dx0) lsp_maxpool2d_backward(&g, c->x0, c->dy, c->n, c->dx0);
}
static void avgpool_fwd(const lsp_op_call *c) {
  lsp_pool2d_geom g = lsp_pool_geom_of(c->nd);
  lsp_avgpool2d_forward(&g, c->x0, c->n, c->y);
}
static void avgpool_bwd(const lsp_op_call *c) {
  lsp_pool2d_geom g = lsp_pool_geom_of(c->nd);
  if (c->dx0) lsp_avgpool2d_backward(&g, c->dy, c->n, c->dx0);
}

static int gap_infer(const lsp_attrs *a, const lsp_shape *in, lsp_shape *out,
                     char *w, size_t len) {
  (void)a, (void)w, (void)len;
  *out = (lsp_shape){in[0].c, 1, 1};
  return LSP_OK;
}
static double gap_flops(const lsp_node *nd) {
  return (double)lsp_shape_size(nd->ishape);
}
static void gap_fwd(const lsp_op_call *c) {
  const lsp_shape *s = &c->nd->ishape;
  lsp_gap_forward(c->x0, c->n, s->c, s->h * s->w, c->y);
}
static void gap_bwd(const lsp_op_call *c) {
  const lsp_shape *s = &c->nd->ishape;
  if (c->dx0) lsp_gap_backward(c->dy, c->n, s->c, s->h * s->w, c->dx0);
}

/* ---- the table
 * ---------------------------------------------------------------- */

static int no_tensors(const lsp_node *nd, lsp_tensor_def *t) {
  (void)nd, (void)t;
  return 0;
}

/* One entry per kind, fields packed. */
/* clang-format off */
static const lsp_op_def ops[LSP_OP_MAX + 1] = {
    [LSP_OP_DENSE] = {.name = "dense", .nin = 1, .attrs = dense_attrs, .infer = dense_infer,
                      .tensors = dense_tensors, .init = dense_init, .flops = dense_flops,
                      .forward = dense_fwd, .backward = dense_bwd, .reads = lsp_reads_dense},
    [LSP_OP_RELU] = {.name = "relu", .nin = 1, .attrs = no_attrs, .infer = same_infer,
                     .tensors = no_tensors, .flops = elt_flops, .forward = relu_fwd,
                     .backward = relu_bwd, .reads = lsp_reads_same},
    [LSP_OP_CONV] = {.name = "conv", .nin = 1, .attrs = conv_attrs, .infer = conv_infer,
                     .tensors = conv_tensors, .init = conv_init, .flops = conv_flops,
                     .scratch = conv_scratch, .forward = conv_fwd, .backward = conv_bwd,
                     .reads = lsp_reads_conv},
    [LSP_OP_MAXPOOL] = {.name = "maxpool", .nin = 1, .attrs = maxpool_attrs,
                        .infer = pool_infer, .tensors = no_tensors, .flops = pool_flops,
                        .forward = maxpool_fwd, .backward = maxpool_bwd, .reads = lsp_reads_pool},
    [LSP_OP_AVGPOOL] = {.name = "avgpool", .nin = 1, .attrs = avgpool_attrs,
                        .infer = pool_infer, .tensors = no_tensors, .flops = pool_flops,
                        .forward = avgpool_fwd, .backward = avgpool_bwd, .reads = lsp_reads_pool},
    [LSP_OP_GAP] = {.name = "gap", .nin = 1, .attrs = no_attrs, .infer = gap_infer,
                    .tensors = no_tensors, .flops = gap_flops, .forward = gap_fwd,
                    .backward = gap_bwd, .reads = lsp_reads_gap},
    [LSP_OP_GMP] = LSP_GMP_ENTRY, /* lsp_ops_gmp.c */
    [LSP_OP_TRANSPOSE] = LSP_TRANSPOSE_ENTRY, /* lsp_ops_transpose.c */
    [LSP_OP_BN] = LSP_BN_ENTRY, /* lsp_ops_bn.c */
    [LSP_OP_FLATTEN] = {.name = "flatten", .nin = 1, .attrs = no_attrs, .infer = flatten_infer,
                        .tensors = no_tensors, .flops = no_flops, .alias = 1,
                        .forward = flatten_fwd, .backward = flatten_bwd, .reads = lsp_reads_same},
    [LSP_OP_ADD] = {.name = "add", .nin = 2, .attrs = no_attrs, .infer = add_infer,
                    .tensors = no_tensors, .flops = elt_flops, .forward = add_fwd,
                    .backward = add_bwd, .reads = lsp_reads_same},
    [LSP_OP_NORMALIZE] = {.name = "normalize", .nin = 1, .attrs = no_attrs,
                          .infer = same_infer, .tensors = normalize_tensors, .const_state = 1,
                          .init = normalize_init, .check = normalize_check, .flops = normalize_flops,
                          .forward = normalize_fwd, .backward = normalize_bwd,
                          .reads = lsp_reads_same},
    /* the general (ONNX) kinds: lsp_ops_general.c */
    [LSP_OP_PAD] = {.name = "pad", .nin = 1, .attrs = lsp_pad_attrs, .infer = lsp_pad_infer,
                    .tensors = no_tensors, .flops = no_flops, .forward = lsp_pad_fwd,
                    .backward = lsp_pad_bwd, .reads = lsp_reads_pad},
    [LSP_OP_RESHAPE] = {.name = "reshape", .nin = 1, .attrs = lsp_reshape_attrs,
                        .infer = lsp_reshape_infer, .tensors = no_tensors, .flops = no_flops,
                        .alias = 1, .forward = flatten_fwd, .backward = flatten_bwd,
                        .reads = lsp_reads_same},
    [LSP_OP_POOL] = {.name = "pool", .nin = 1, .attrs = lsp_gpool_attrs, .infer = lsp_gpool_infer,
                     .tensors = no_tensors, .flops = pool_flops, .forward = lsp_gpool_fwd,
                     .backward = lsp_gpool_bwd, .reads = lsp_reads_gpool},
    LSP_ACT_ENTRIES, /* the activations: lsp_ops_act.c */
    /* two inputs: lsp_ops_graph.c */
    [LSP_OP_MUL] = {.name = "mul", .nin = 2, .attrs = no_attrs, .infer = lsp_mul_infer,
                    .tensors = no_tensors, .flops = elt_flops, .forward = lsp_mul_fwd,
                    .backward = lsp_mul_bwd, .reads = lsp_reads_mul},
    [LSP_OP_CONCAT] = {.name = "concat", .nin = 2, .attrs = no_attrs, .infer = lsp_concat_infer,
                       .tensors = no_tensors, .flops = no_flops, .forward = lsp_concat_fwd,
                       .backward = lsp_concat_bwd, .reads = lsp_reads_concat},
};
/* clang-format on */

const lsp_op_def *lsp_op_get(lsp_op op) {
  if ((int)op < 1 || (int)op > LSP_OP_MAX || !ops[op].name) return NULL;
  return &ops[op];
}

lsp_op lsp_op_by_name(const char *name, size_t len) {
  for (int i = 1; i <= LSP_OP_MAX; i++)
    if (ops[i].name && strlen(ops[i].name) == len &&
        memcmp(ops[i].name, name, len) == 0)
      return (lsp_op)i;
  return (lsp_op)0;
}

const char *lsp_op_name(lsp_op op) {
  const lsp_op_def *d = lsp_op_get(op);
  return d ? d->name : NULL;
}
