/* lsp_model_reads.c — which input components a model reads at all: the
 * structural dependence of the logits on the input (lsp_model_read_mask),
 * from the graph's shapes alone, and the operation table's `reads` entries
 * that carry it backwards through one node.
 *
 * A flag per element travels from the logits (all flagged) back to the
 * input, node by node in reverse topological order; a node's flags are the
 * union over its consumers. Each entry answers "which input elements does
 * some flagged output element read", whatever the weights and the input:
 * a dense layer reads all of its input, a convolution and a pooling window
 * their taps inside the image (padding reads nothing), padding the pixel
 * it copies or mirrors, global pooling its channel, and the element-wise
 * kinds (relu, bn, normalize, add, flatten, reshape) the same element. A
 * max pooling counts every tap of its window as read, since which one
 * wins depends on the input. Flags are floats (0, or positive where read)
 * so that the pooling and padding entries can run the kernels' own
 * backward passes on them: those add positive shares onto exactly the
 * pixels their forward reads. */
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/nn/lsp_model.h"
#include "core/nn/lsp_ops.h"

void lsp_reads_same(const lsp_node *nd, const float *out, float *in0,
                    float *in1) {
  size_t cnt = lsp_shape_size(nd->shape);
  memcpy(in0, out, cnt * sizeof *in0);
  if (in1) memcpy(in1, out, cnt * sizeof *in1);
}

void lsp_reads_dense(const lsp_node *nd, const float *out, float *in0,
                     float *in1) {
  (void)in1;
  float any = 0.0f;
  for (size_t i = 0; i < nd->a.units; i++)
    if (out[i] > 0.0f) any = 1.0f;
  size_t d = lsp_shape_size(nd->ishape);
  for (size_t i = 0; i < d; i++) in0[i] = any;
}

/* y[o, r, s] reads x[c, r·sh − ph + u, s·sw − pw + v] for every input
 * channel c of o's group and tap (u, v) inside the image (lsp_conv.h). */
void lsp_reads_conv(const lsp_node *nd, const float *out, float *in0,
                    float *in1) {
  (void)in1;
  const lsp_shape is = nd->ishape, os = nd->shape;
  const size_t plane = is.h * is.w, G = nd->a.groups ? nd->a.groups : 1;
  const size_t cg = is.c / G, og = os.c / G;
  memset(in0, 0, lsp_shape_size(is) * sizeof *in0);
  for (size_t q = 0; q < G; q++) {
    float *f = in0 + q * cg * plane;
    for (size_t r = 0; r < os.h; r++)
      for (size_t s = 0; s < os.w; s++) {
        int any = 0;
        for (size_t o = q * og; o < (q + 1) * og && !any; o++)
          any = out[(o * os.h + r) * os.w + s] > 0.0f;
        if (!any) continue;
        for (size_t u = 0; u < nd->a.kh; u++) {
          size_t h = r * nd->a.sh + u;
          if (h < nd->a.ph || h - nd->a.ph >= is.h) continue;
          for (size_t v = 0; v < nd->a.kw; v++) {
            size_t w = s * nd->a.sw + v;
            if (w < nd->a.pw || w - nd->a.pw >= is.w) continue;
            f[(h - nd->a.ph) * is.w + (w - nd->a.pw)] = 1.0f;
          }
        }
      }
    for (size_t c = 1; c < cg; c++) /* every channel of the group alike */
      memcpy(f + c * plane, f, plane * sizeof *in0);
  }
}

/* Average pooling's backward spreads a positive share of every output over
 * exactly the taps of its window inside the image — also the taps a max
 * pooling chooses among. Dividing by the padded window keeps every share
 * positive. */
static void pool_reads(lsp_pool2d_geom g, const float *out, float *in0) {
  g.count_include_pad = 1;
  lsp_avgpool2d_backward(&g, out, 1, in0);
}

void lsp_reads_pool(const lsp_node *nd, const float *out, float *in0,
                    float *in1) {
  (void)in1;
  pool_reads(lsp_pool_geom_of(nd), out, in0);
}

void lsp_reads_gpool(const lsp_node *nd, const float *out, float *in0,
                     float *in1) {
  (void)in1;
  pool_reads(lsp_gpool_geom_of(nd), out, in0);
}

void lsp_reads_gap(const lsp_node *nd, const float *out, float *in0,
                   float *in1) {
  (void)in1;
  const size_t hw = nd->ishape.h * nd->ishape.w;
  for (size_t c = 0; c < nd->ishape.c; c++)
    for (size_t q = 0; q < hw; q++) in0[c * hw + q] = out[c] > 0.0f;
}

/* Padding's backward adds every output pixel onto the pixel it copies
 * (reflect and edge: the mirrored or repeated one; constant: none). */
void lsp_reads_pad(const lsp_node *nd, const float *out, float *in0,
                   float *in1) {
  (void)in1;
  lsp_pad2d_geom g = lsp_pad_geom_of(nd);
  lsp_pad2d_backward(&g, out, 1, in0);
}

static float *flags_of(float **buf, const lsp_model *m, int id) {
  return id == LSP_INPUT ? buf[m->nnodes] : buf[id];
}

int lsp_model_read_mask(const lsp_model *m, uint8_t *mask, size_t *nread) {
  const size_t nn = m->nnodes;
  float **buf = calloc(nn + 1, sizeof *buf);
  float *t0 = NULL, *t1 = NULL;
  size_t most = m->in_dim;
  for (size_t i = 0; i < nn; i++) {
    size_t a = lsp_shape_size(m->nodes[i].shape),
           b = lsp_shape_size(m->nodes[i].ishape);
    most = a > most ? a : most;
    most = b > most ? b : most;
  }
  int st = buf ? LSP_OK : LSP_ENOMEM;
  for (size_t i = 0; st == LSP_OK && i <= nn; i++) {
    size_t cnt = i < nn ? lsp_shape_size(m->nodes[i].shape) : m->in_dim;
    if (!(buf[i] = calloc(cnt, sizeof **buf))) st = LSP_ENOMEM;
  }
  if (st == LSP_OK && (!(t0 = malloc(most * sizeof *t0)) ||
                       !(t1 = malloc(most * sizeof *t1))))
    st = LSP_ENOMEM;
  if (st == LSP_OK && nn > 0) {
    const size_t k = lsp_shape_size(m->nodes[nn - 1].shape);
    for (size_t j = 0; j < k; j++) buf[nn - 1][j] = 1.0f; /* the logits */
  }
  for (size_t i = nn; st == LSP_OK && i-- > 0;) {
    const lsp_node *nd = &m->nodes[i];
    const lsp_op_def *d = lsp_op_get(nd->op);
    const float *out = buf[i];
    const size_t cnt = lsp_shape_size(nd->shape);
    size_t any = 0;
    for (size_t j = 0; j < cnt && !any; j++) any = out[j] > 0.0f;
    if (!any) continue; /* nothing of it reaches the logits */
    for (int k = 0; k < nd->nin; k++) {
      size_t ic = nd->in[k] == LSP_INPUT
                      ? m->in_dim
                      : lsp_shape_size(m->nodes[nd->in[k]].shape);
      for (size_t j = 0; j < ic; j++) (k ? t1 : t0)[j] = 1.0f;
    }
    if (d && d->reads) d->reads(nd, out, t0, nd->nin > 1 ? t1 : NULL);
    for (int k = 0; k < nd->nin; k++) {
      float *dst = flags_of(buf, m, nd->in[k]);
      const float *src = k ? t1 : t0;
      size_t ic = nd->in[k] == LSP_INPUT
                      ? m->in_dim
                      : lsp_shape_size(m->nodes[nd->in[k]].shape);
      for (size_t j = 0; j < ic; j++)
        if (src[j] > 0.0f) dst[j] = 1.0f;
    }
  }
  if (st == LSP_OK) {
    size_t r = 0;
    for (size_t j = 0; j < m->in_dim; j++) {
      mask[j] = buf[nn][j] > 0.0f;
      r += mask[j];
    }
    if (nread) *nread = r;
  }
  for (size_t i = 0; buf && i <= nn; i++) free(buf[i]);
  free(buf);
  free(t0);
  free(t1);
  return st == LSP_OK ? LSP_OK
                      : lsp_fail(st, "read mask: out of memory for %zu nodes",
                                 nn);
}
