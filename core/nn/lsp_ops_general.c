/* lsp_ops_general.c — the layer kinds of the operation table that ONNX
 * models need beyond PyTorch's modules (lsp_ops.h; DESIGN §7.2): `pad`
 * (constant, reflect, edge or −∞ padding, each side its own), `reshape` (a
 * new C×H×W for the same buffer) and `pool` (max or average pooling in
 * ONNX's general form: asymmetric padding up to the window, dilated max
 * pooling). Their entries are in the table in lsp_ops.c. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>

#include "core/base/lsp_error.h"
#include "core/nn/layers/lsp_pad.h"
#include "core/nn/layers/lsp_pool.h"
#include "core/nn/lsp_ops.h"

#define MAX_DIM ((size_t)1 << 24)
#define MAX_ELEMS ((size_t)1 << 28)

/* clang-format off */
#define A(field, type) {#field, type, offsetof(lsp_attrs, field), 0}
#define END {NULL, 0, 0, 0}
const lsp_attr_def lsp_pad_attrs[] = {
    A(pt, LSP_ATTR_SIZE), A(pl, LSP_ATTR_SIZE), A(pb, LSP_ATTR_SIZE),
    A(pr, LSP_ATTR_SIZE), A(mode, LSP_ATTR_SIZE), A(value, LSP_ATTR_REAL), END};
const lsp_attr_def lsp_gpool_attrs[] = {
    A(kh, LSP_ATTR_SIZE), A(kw, LSP_ATTR_SIZE), A(sh, LSP_ATTR_SIZE),
    A(sw, LSP_ATTR_SIZE), A(pt, LSP_ATTR_SIZE), A(pl, LSP_ATTR_SIZE),
    A(pb, LSP_ATTR_SIZE), A(pr, LSP_ATTR_SIZE), A(dh, LSP_ATTR_SIZE),
    A(dw, LSP_ATTR_SIZE), A(ceil_mode, LSP_ATTR_FLAG), A(avg, LSP_ATTR_FLAG),
    A(count_pad, LSP_ATTR_FLAG), END};
const lsp_attr_def lsp_reshape_attrs[] = {
    {"c", LSP_ATTR_SIZE, offsetof(lsp_attrs, rc), 0},
    {"h", LSP_ATTR_SIZE, offsetof(lsp_attrs, rh), 0},
    {"w", LSP_ATTR_SIZE, offsetof(lsp_attrs, rw), 0}, END};
/* clang-format on */

static int why(char *buf, size_t len, const char *fmt, size_t a, size_t b) {
  snprintf(buf, len, fmt, a, b);
  return LSP_EINVAL;
}

/* ---- pad ------------------------------------------------------------------ */

static lsp_pad2d_geom pad_geom(const lsp_attrs *a, lsp_shape in) {
  lsp_pad2d_geom g = {.c = in.c,
                      .h_in = in.h,
                      .w_in = in.w,
                      .pt = a->pt,
                      .pl = a->pl,
                      .pb = a->pb,
                      .pr = a->pr,
                      .mode = a->mode > 3 ? -1 : (int)a->mode,
                      .value = (float)a->value};
  return g;
}

int lsp_pad_infer(const lsp_attrs *a, const lsp_shape *in, lsp_shape *out,
                  char *w, size_t len) {
  if (a->mode > 3) return why(w, len, "mode %zu is not 0 to %zu", a->mode, 3);
  if (a->mode != 0 && a->value != 0.0) { /* one spelling per network */
    snprintf(w, len, "the constant %g is for mode 0 only", a->value);
    return LSP_EINVAL;
  }
  if (isfinite(a->value) && fabs(a->value) > 3e38) {
    snprintf(w, len, "the constant %g does not fit a float", a->value);
    return LSP_EINVAL;
  }
  lsp_pad2d_geom g = pad_geom(a, in[0]);
  if (lsp_pad2d_geom_check(&g)) {
    snprintf(w, len, "%s", lsp_errmsg());
    return LSP_EINVAL;
  }
  *out = (lsp_shape){in[0].c, g.h_out, g.w_out};
  return LSP_OK;
}

lsp_pad2d_geom lsp_pad_geom_of(const lsp_node *nd) {
  lsp_pad2d_geom g = pad_geom(&nd->a, nd->ishape);
  g.h_out = nd->shape.h, g.w_out = nd->shape.w;
  return g;
}

void lsp_pad_fwd(const lsp_op_call *c) {
  lsp_pad2d_geom g = lsp_pad_geom_of(c->nd);
  lsp_pad2d_forward(&g, c->x0, c->n, c->y);
}

void lsp_pad_bwd(const lsp_op_call *c) {
  lsp_pad2d_geom g = lsp_pad_geom_of(c->nd);
  if (c->dx0) lsp_pad2d_backward(&g, c->dy, c->n, c->dx0);
}

/* ---- reshape ---------------------------------------------------------------
 * Its forward and backward are flatten's (the input's buffer; dy copied). */

int lsp_reshape_infer(const lsp_attrs *a, const lsp_shape *in, lsp_shape *out,
                      char *w, size_t len) {
  if (a->rc == 0 || a->rh == 0 || a->rw == 0 || a->rc > MAX_DIM ||
      a->rh > MAX_DIM || a->rw > MAX_DIM ||
      a->rc * a->rh > MAX_ELEMS / a->rw ||
      a->rc * a->rh * a->rw != lsp_shape_size(in[0])) {
    snprintf(w, len, "%zux%zux%zu does not hold the %zu values of the input",
             a->rc, a->rh, a->rw, lsp_shape_size(in[0]));
    return LSP_EINVAL;
  }
  *out = (lsp_shape){a->rc, a->rh, a->rw};
  return LSP_OK;
}

/* ---- pool: ONNX's general form of both poolings (lsp_pool.h, asym) ------- */

static lsp_pool2d_geom gpool_geom(const lsp_attrs *a, lsp_shape in) {
  lsp_pool2d_geom g = {.c = in.c,
                       .h_in = in.h,
                       .w_in = in.w,
                       .kh = a->kh,
                       .kw = a->kw,
                       .sh = a->sh,
                       .sw = a->sw,
                       .ph = a->pt,
                       .pw = a->pl,
                       .ceil_mode = a->ceil_mode,
                       .count_include_pad = a->count_pad,
                       .asym = 1,
                       .pb = a->pb,
                       .pr = a->pr,
                       .dh = a->dh,
                       .dw = a->dw};
  return g;
}

int lsp_gpool_infer(const lsp_attrs *a, const lsp_shape *in, lsp_shape *out,
                    char *w, size_t len) {
  if (a->kh > MAX_DIM || a->kw > MAX_DIM || a->sh > MAX_DIM ||
      a->sw > MAX_DIM || a->pt > MAX_DIM || a->pl > MAX_DIM ||
      a->pb > MAX_DIM || a->pr > MAX_DIM)
    return why(w, len, "absurd window, stride or padding (%zu, %zu)", a->kh,
               a->sh);
  if (a->dh < 1 || a->dw < 1 || (a->avg && (a->dh > 1 || a->dw > 1)))
    return why(w, len, "dilation %zu x %zu (>= 1; 1 for average pooling)",
               a->dh, a->dw);
  if (a->ceil_mode < 0 || a->ceil_mode > 1 || a->count_pad < 0 ||
      a->count_pad > 1 || a->avg < 0 || a->avg > 1 ||
      (!a->avg && a->count_pad != 1))
    return why(w, len, "flags must be 0 or 1, count_pad 1 for max (%zu, %zu)",
               (size_t)a->ceil_mode, (size_t)a->count_pad);
  lsp_pool2d_geom g = gpool_geom(a, in[0]);
  if (lsp_pool2d_geom_check(&g)) {
    snprintf(w, len, "%s", lsp_errmsg());
    return LSP_EINVAL;
  }
  *out = (lsp_shape){in[0].c, g.h_out, g.w_out};
  return LSP_OK;
}

lsp_pool2d_geom lsp_gpool_geom_of(const lsp_node *nd) {
  lsp_pool2d_geom g = gpool_geom(&nd->a, nd->ishape);
  g.h_out = nd->shape.h, g.w_out = nd->shape.w;
  return g;
}

void lsp_gpool_fwd(const lsp_op_call *c) {
  lsp_pool2d_geom g = lsp_gpool_geom_of(c->nd);
  if (c->nd->a.avg)
    lsp_avgpool2d_forward(&g, c->x0, c->n, c->y);
  else
    lsp_maxpool2d_forward(&g, c->x0, c->n, c->y);
}

void lsp_gpool_bwd(const lsp_op_call *c) {
  lsp_pool2d_geom g = lsp_gpool_geom_of(c->nd);
  if (!c->dx0) return;
  if (c->nd->a.avg)
    lsp_avgpool2d_backward(&g, c->dy, c->n, c->dx0);
  else
    lsp_maxpool2d_backward(&g, c->x0, c->dy, c->n, c->dx0);
}
