/* lsp_model_io.c — lsprobe's model files, `.lspm` format 3: the graph,
 * self-describing (kinds, attributes and tensors by name and type) and
 * CRC-checked. The MLP layer lists of formats 1 and 2 are read by
 * lsp_model_io_mlp.c.
 *
 * Layout (every number little-endian; str = u32 length + that many bytes,
 * no NUL; docs/DESIGN.md §3 has the table):
 *
 *   "LSPM" u32 version=3 u64 file_length
 *   u64 c, h, w                          input shape of one example
 *   str arch                             built-in or spec name, may be ""
 *   u32 nnodes, then per node:
 *     str kind, str name
 *     u32 nin, nin × i32 input           earlier node, or -1 (the input)
 *     u32 nattr, per attribute: str name, u8 type, value
 *     u32 ntensor, per tensor: str name, u32 ndim, ndim × u64 dim,
 *                              count × f32
 *   i32 features                         node of the penultimate features
 *                                        (the classifier's input unless
 *                                        lsp_model_set_features chose one)
 *   u32 record_bytes, the record         lsp_model_record_encode's bytes
 *   u32 crc32                            zlib CRC-32 of every byte before it
 *
 * Attribute types: 1 = u64, 2 = f64. An optional attribute (conv's groups)
 * is written only when it differs from 1, its default. The loader checks
 * the length first (truncation, trailing bytes), then the CRC, then the
 * content: every kind and attribute must be known, every attribute present
 * once (an optional one at most once), the graph
 * must pass shape inference, every tensor must be the one the kind expects
 * (name, order, dimensions) and finite, and the record must decode
 * (lsp_model_record_decode). */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "core/base/lsp_bytes.h"
#include "core/nn/lsp_model.h"
#include "core/nn/lsp_ops.h"

#define LSPM_VERSION 3u
#define MAX_STR 4096u
#define MAX_NODES 4096u
#define MAX_RECORD ((uint32_t)1 << 20)
enum { T_U64 = 1, T_F64 = 2 };

int lsp_model_read_mlp(lsp_rbuf *r, uint32_t version, const char *path,
                       lsp_model **out);

/* ---- writing
 * ------------------------------------------------------------------ */

static void put_str(lsp_wbuf *b, const char *s) {
  size_t n = strlen(s);
  lsp_put_u32(b, (uint32_t)n);
  lsp_put_bytes(b, s, n);
}

static void put_model(lsp_wbuf *b, const lsp_model *m, const unsigned char *rec,
                      size_t rec_len) {
  lsp_put_bytes(b, "LSPM", 4);
  lsp_put_u32(b, LSPM_VERSION);
  size_t len_at = b->len;
  lsp_put_u64(b, 0); /* the file length, patched below */
  lsp_put_u64(b, m->in_shape.c);
  lsp_put_u64(b, m->in_shape.h);
  lsp_put_u64(b, m->in_shape.w);
  put_str(b, m->arch);
  lsp_put_u32(b, (uint32_t)m->nnodes);
  for (size_t i = 0; i < m->nnodes; i++) {
    const lsp_node *nd = &m->nodes[i];
    const lsp_op_def *d = lsp_op_get(nd->op);
    put_str(b, d->name);
    put_str(b, nd->name);
    lsp_put_u32(b, (uint32_t)nd->nin);
    for (int k = 0; k < nd->nin; k++)
      lsp_put_u32(b, (uint32_t)(int32_t)nd->in[k]);
    uint32_t na = 0;
    for (const lsp_attr_def *a = d->attrs; a->name; a++)
      na += !lsp_attr_omitted(&nd->a, a);
    lsp_put_u32(b, na);
    for (const lsp_attr_def *a = d->attrs; a->name; a++) {
      if (lsp_attr_omitted(&nd->a, a)) continue;
      put_str(b, a->name);
      double v = lsp_attr_get(&nd->a, a);
      lsp_put_bytes(
          b, (unsigned char[]){a->type == LSP_ATTR_REAL ? T_F64 : T_U64}, 1);
      if (a->type == LSP_ATTR_REAL)
        lsp_put_f64(b, v);
      else
        lsp_put_u64(b, (uint64_t)v);
    }
    lsp_tensor_def t[LSP_OP_MAXTENSORS];
    int nt = d->tensors(nd, t);
    lsp_put_u32(b, (uint32_t)nt);
    const float *pp = m->params + nd->p_off, *sp = m->state + nd->s_off;
    for (int j = 0; j < nt; j++) {
      put_str(b, t[j].name);
      lsp_put_u32(b, (uint32_t)t[j].ndim);
      for (int k = 0; k < t[j].ndim; k++) lsp_put_u64(b, t[j].dims[k]);
      size_t c = lsp_tensor_count(&t[j]);
      const float *src = t[j].state ? sp : pp;
      for (size_t k = 0; k < c; k++) lsp_put_f32(b, src[k]);
      if (t[j].state)
        sp += c;
      else
        pp += c;
    }
  }
  lsp_put_u32(b, (uint32_t)(int32_t)m->features);
  lsp_put_u32(b, (uint32_t)rec_len);
  lsp_put_bytes(b, rec, rec_len);
  if (b->p) {
    lsp_wbuf at = {b->p + len_at, 0};
    lsp_put_u64(&at, (uint64_t)b->len + 4);
    lsp_put_u32(b, lsp_crc32(b->p, b->len));
  } else {
    b->len += 4;
  }
}

int lsp_model_save(const lsp_model *m, const char *path) {
  if (!m || !path || !m->params)
    return lsp_fail(LSP_EINVAL, "model save: no model or path");
  unsigned char *rec = NULL;
  size_t rec_len = 0;
  int st = lsp_model_record_encode(&m->meta, 0, &rec, &rec_len);
  if (st) return lsp_fail_prefix(st, path);
  lsp_wbuf b = {NULL, 0};
  put_model(&b, m, rec, rec_len);
  size_t len = b.len;
  b.p = malloc(len);
  if (!b.p) {
    free(rec);
    return lsp_fail(LSP_ENOMEM, "%s: out of memory", path);
  }
  b.len = 0;
  put_model(&b, m, rec, rec_len);
  free(rec);
  st = lsp_write_file_atomic(path, b.p, b.len);
  free(b.p);
  return st;
}

/* ---- reading
 * ------------------------------------------------------------------ */

typedef struct {
  lsp_rbuf r;
  const char *path;
} reader;

/* A string into buf (cap bytes with the NUL); LSP_EDATA when too long. */
static int get_str(reader *rd, char *buf, size_t cap, const char *what) {
  uint32_t n = lsp_get_u32(&rd->r);
  if (rd->r.short_read) return lsp_fail(LSP_EDATA, "%s: truncated", rd->path);
  if (n >= cap || n > MAX_STR)
    return lsp_fail(LSP_EDATA, "%s: %s of %u bytes is too long", rd->path, what,
                    n);
  const unsigned char *s = lsp_take(&rd->r, n);
  if (!s) return lsp_fail(LSP_EDATA, "%s: truncated", rd->path);
  if (memchr(s, 0, n))
    return lsp_fail(LSP_EDATA, "%s: %s holds a NUL byte", rd->path, what);
  memcpy(buf, s, n);
  buf[n] = 0;
  return LSP_OK;
}

static int get_type(reader *rd) {
  const unsigned char *t = lsp_take(&rd->r, 1);
  return t ? *t : 0;
}

static int read_attrs(reader *rd, const lsp_op_def *d, lsp_attrs *a,
                      const char *node) {
  uint32_t na = lsp_get_u32(&rd->r);
  size_t want = 0, nopt = 0;
  for (const lsp_attr_def *x = d->attrs; x->name; x++)
    want++, nopt += (size_t)lsp_attr_optional(x);
  if (na > want || na + nopt < want)
    return lsp_fail(LSP_EDATA,
                    "%s: node '%s' (%s) has %u attributes, expected %zu%s",
                    rd->path, node, d->name, na, want - nopt,
                    nopt ? " and the optional ones" : "");
  unsigned seen = 0;
  for (uint32_t i = 0; i < na; i++) {
    char name[64];
    int st = get_str(rd, name, sizeof name, "an attribute name");
    if (st) return st;
    const lsp_attr_def *x = d->attrs;
    size_t k = 0;
    while (x->name && strcmp(x->name, name) != 0) x++, k++;
    if (!x->name || (seen >> k & 1u))
      return lsp_fail(LSP_EDATA, "%s: node '%s' (%s): %s attribute '%s'",
                      rd->path, node, d->name, x->name ? "repeated" : "unknown",
                      name);
    seen |= 1u << k;
    int type = get_type(rd);
    int real = x->type == LSP_ATTR_REAL;
    if (type != (real ? T_F64 : T_U64))
      return lsp_fail(LSP_EDATA,
                      "%s: node '%s': attribute '%s' has type %d; expected "
                      "%d (%s)",
                      rd->path, node, name, type, real ? T_F64 : T_U64,
                      real ? "f64" : "u64");
    if (real) {
      double v = lsp_get_f64(&rd->r);
      if (isnan(v) || (!isfinite(v) && !x->inf_ok))
        return lsp_fail(LSP_EDATA,
                        "%s: node '%s': attribute '%s' is not finite", rd->path,
                        node, name);
      lsp_attr_set(a, x, v);
    } else {
      uint64_t v = lsp_get_u64(&rd->r);
      if ((x->type == LSP_ATTR_FLAG && v > 1) || v > ((uint64_t)1 << 30))
        return lsp_fail(LSP_EDATA,
                        "%s: node '%s': attribute '%s' = %llu is out of range "
                        "(%s)",
                        rd->path, node, name, (unsigned long long)v,
                        x->type == LSP_ATTR_FLAG ? "0 or 1" : "at most 2^30");
      lsp_attr_set(a, x, (double)v);
    }
  }
  if (rd->r.short_read) return lsp_fail(LSP_EDATA, "%s: truncated", rd->path);
  size_t k = 0;
  for (const lsp_attr_def *x = d->attrs; x->name; x++, k++)
    if (!(seen >> k & 1u) && !lsp_attr_optional(x))
      return lsp_fail(LSP_EDATA, "%s: node '%s' (%s): attribute '%s' missing",
                      rd->path, node, d->name, x->name);
  return LSP_OK;
}

/* Where each node's tensors are in the file, checked against the kind's
 * expectations once the graph is built. */
typedef struct {
  int nt;
  char name[LSP_OP_MAXTENSORS][32];
  int ndim[LSP_OP_MAXTENSORS];
  uint64_t dims[LSP_OP_MAXTENSORS][LSP_TENSOR_MAXDIM];
  const unsigned char *data[LSP_OP_MAXTENSORS];
} tensor_pos;

static int skim_tensors(reader *rd, tensor_pos *tp, const char *node) {
  uint32_t nt = lsp_get_u32(&rd->r);
  if (nt > LSP_OP_MAXTENSORS)
    return lsp_fail(LSP_EDATA, "%s: node '%s' has %u tensors", rd->path, node,
                    nt);
  tp->nt = (int)nt;
  for (uint32_t j = 0; j < nt; j++) {
    int st = get_str(rd, tp->name[j], sizeof tp->name[j], "a tensor name");
    if (st) return st;
    uint32_t nd = lsp_get_u32(&rd->r);
    if (nd == 0 || nd > LSP_TENSOR_MAXDIM)
      return lsp_fail(LSP_EDATA, "%s: node '%s': tensor '%s' has %u dimensions",
                      rd->path, node, tp->name[j], nd);
    tp->ndim[j] = (int)nd;
    uint64_t count = 1;
    for (uint32_t k = 0; k < nd; k++) {
      tp->dims[j][k] = lsp_get_u64(&rd->r);
      if (tp->dims[j][k] == 0 || tp->dims[j][k] > ((uint64_t)1 << 31) ||
          count > ((uint64_t)1 << 31) / tp->dims[j][k])
        return lsp_fail(LSP_EDATA,
                        "%s: node '%s': tensor '%s' has absurd dimensions",
                        rd->path, node, tp->name[j]);
      count *= tp->dims[j][k];
    }
    tp->data[j] = lsp_take(&rd->r, (size_t)count * 4);
    if (!tp->data[j]) return lsp_fail(LSP_EDATA, "%s: truncated", rd->path);
  }
  return LSP_OK;
}

/* "[d0, d1, ...]" into buf */
static void dims_text(char *buf, size_t len, const uint64_t *dims, int ndim) {
  size_t n = 0;
  buf[0] = 0;
  for (int k = 0; k < ndim && n < len; k++) {
    unsigned long long v = dims[k];
    int w = snprintf(buf + n, len - n, "%s%llu", k ? ", " : "[", v);
    if (w < 0) return;
    n += (size_t)w;
  }
  if (n < len) snprintf(buf + n, len - n, "]");
}

static int load_tensors(reader *rd, lsp_model *m, size_t i,
                        const tensor_pos *tp) {
  const lsp_node *nd = &m->nodes[i];
  const lsp_op_def *d = lsp_op_get(nd->op);
  lsp_tensor_def t[LSP_OP_MAXTENSORS];
  int nt = d->tensors(nd, t);
  if (nt != tp->nt)
    return lsp_fail(LSP_EDATA, "%s: node '%s' (%s) has %d tensors, expected %d",
                    rd->path, nd->name, d->name, tp->nt, nt);
  float *pp = m->params + nd->p_off, *sp = m->state + nd->s_off;
  for (int j = 0; j < nt; j++) {
    int same = strcmp(t[j].name, tp->name[j]) == 0 && t[j].ndim == tp->ndim[j];
    for (int k = 0; same && k < t[j].ndim; k++)
      same = t[j].dims[k] == tp->dims[j][k];
    if (!same) {
      char got[96], want[96];
      uint64_t wd[LSP_TENSOR_MAXDIM];
      for (int k = 0; k < t[j].ndim; k++) wd[k] = t[j].dims[k];
      dims_text(got, sizeof got, tp->dims[j], tp->ndim[j]);
      dims_text(want, sizeof want, wd, t[j].ndim);
      return lsp_fail(LSP_EDATA,
                      "%s: node '%s' (%s): tensor %d is '%s' %s; expected "
                      "'%s' %s",
                      rd->path, nd->name, d->name, j + 1, tp->name[j], got,
                      t[j].name, want);
    }
    size_t c = lsp_tensor_count(&t[j]);
    float *dst = t[j].state ? sp : pp;
    lsp_rbuf r = {tp->data[j], c * 4, 0, 0};
    for (size_t k = 0; k < c; k++) {
      dst[k] = lsp_get_f32(&r);
      if (!isfinite(dst[k]))
        return lsp_fail(LSP_EDATA, "%s: node '%s': %s[%zu] is not finite",
                        rd->path, nd->name, t[j].name, k);
    }
    if (t[j].state)
      sp += c;
    else
      pp += c;
  }
  char why[160];
  if (d->check && d->check(nd, m->params + nd->p_off, m->state + nd->s_off, why,
                           sizeof why))
    return lsp_fail(LSP_EDATA, "%s: node '%s': %s", rd->path, nd->name, why);
  return LSP_OK;
}

static int read_v3(reader *rd, lsp_model **out) {
  lsp_rbuf *r = &rd->r;
  lsp_model *m = NULL;
  tensor_pos *tp = NULL;
  int st = LSP_OK;
  uint64_t c = lsp_get_u64(r), h = lsp_get_u64(r), w = lsp_get_u64(r);
  char arch[sizeof m->arch];
  if ((st = get_str(rd, arch, sizeof arch, "the arch name"))) return st;
  if (c == 0 || h == 0 || w == 0 || c > (1u << 24) || h > (1u << 24) ||
      w > (1u << 24))
    return lsp_fail(LSP_EDATA, "%s: absurd input shape", rd->path);
  m = lsp_model_new((lsp_shape){(size_t)c, (size_t)h, (size_t)w});
  if (!m) return lsp_fail_prefix(LSP_EDATA, rd->path);
  snprintf(m->arch, sizeof m->arch, "%s", arch);
  uint32_t nn = lsp_get_u32(r);
  if (r->short_read) goto truncated;
  if (nn == 0 || nn > MAX_NODES) {
    st = lsp_fail(LSP_EDATA, "%s: absurd node count %u", rd->path, nn);
    goto done;
  }
  tp = malloc(nn * sizeof *tp);
  if (!tp) {
    st = lsp_fail(LSP_ENOMEM, "%s: out of memory", rd->path);
    goto done;
  }
  for (uint32_t i = 0; i < nn; i++) {
    char kind[32], name[LSP_NODE_NAME];
    if ((st = get_str(rd, kind, sizeof kind, "a layer kind")) ||
        (st = get_str(rd, name, sizeof name, "a node name")))
      goto done;
    lsp_op op = lsp_op_by_name(kind, strlen(kind));
    const lsp_op_def *d = lsp_op_get(op);
    if (!d) {
      st = lsp_fail(LSP_EDATA, "%s: node %u ('%s') has the unknown kind '%s'",
                    rd->path, i, name, kind);
      goto done;
    }
    uint32_t nin = lsp_get_u32(r);
    int32_t in[2] = {LSP_INPUT, LSP_INPUT};
    if (nin != (uint32_t)d->nin) {
      st = lsp_fail(LSP_EDATA, "%s: node '%s' (%s) has %u inputs", rd->path,
                    name, kind, nin);
      goto done;
    }
    for (uint32_t k = 0; k < nin; k++) in[k] = (int32_t)lsp_get_u32(r);
    lsp_attrs a;
    lsp_attrs_default(op, &a);
    if ((st = read_attrs(rd, d, &a, name))) goto done;
    if ((st = lsp_model_add(m, op, &a, in[0], in[1], name, NULL))) {
      st = lsp_fail_prefix(LSP_EDATA, rd->path);
      goto done;
    }
    if ((st = skim_tensors(rd, &tp[i], name))) goto done;
  }
  int32_t feat = (int32_t)lsp_get_u32(r);
  if (r->short_read) goto truncated;
  if ((st = lsp_model_finish(m))) {
    st = lsp_fail_prefix(st == LSP_ENOMEM ? st : LSP_EDATA, rd->path);
    goto done;
  }
  if (feat != m->features && lsp_model_set_features(m, feat)) {
    st = lsp_fail(LSP_EDATA,
                  "%s: the features node %d is not a node before the "
                  "classifier",
                  rd->path, (int)feat);
    goto done;
  }
  for (uint32_t i = 0; i < nn; i++)
    if ((st = load_tensors(rd, m, i, &tp[i]))) goto done;
  uint32_t rec_len = lsp_get_u32(r);
  if (r->short_read) goto truncated;
  if (rec_len > MAX_RECORD) {
    st = lsp_fail(LSP_EDATA, "%s: absurd training record size %u", rd->path,
                  rec_len);
    goto done;
  }
  const unsigned char *rec = lsp_take(r, rec_len);
  if (!rec) goto truncated;
  if ((st = lsp_model_record_decode(rec, rec_len, &m->meta, rd->path)))
    goto done;
  if (r->pos != r->len) {
    st = lsp_fail(LSP_EDATA, "%s: %zu bytes after the training record",
                  rd->path, r->len - r->pos);
    goto done;
  }
  *out = m;
  m = NULL;
  goto done;
truncated:
  st = lsp_fail(LSP_EDATA, "%s: truncated", rd->path);
done:
  free(tp);
  lsp_model_free(m);
  return st;
}

int lsp_model_read_lspm(const unsigned char *buf, size_t len, const char *path,
                        lsp_model **out) {
  *out = NULL;
  reader rd = {{buf, len, 0, 0}, path};
  const unsigned char *magic = lsp_take(&rd.r, 4);
  if (!magic || memcmp(magic, "LSPM", 4) != 0)
    return lsp_fail(LSP_EDATA, "%s: not an lsprobe model (bad magic)", path);
  uint32_t version = lsp_get_u32(&rd.r);
  if (rd.r.short_read)
    return lsp_fail(LSP_EDATA, "%s: truncated (%zu bytes)", path, len);
  if (version == 1 || version == 2)
    return lsp_model_read_mlp(&rd.r, version, path, out);
  if (version != LSPM_VERSION)
    return lsp_fail(
        LSP_EDATA,
        "%s: unsupported format version %u (this build reads 1 to %u)", path,
        version, LSPM_VERSION);
  uint64_t flen = lsp_get_u64(&rd.r);
  if (rd.r.short_read || len < flen || len < rd.r.pos + 4)
    return lsp_fail(LSP_EDATA, "%s: truncated (%zu bytes)", path, len);
  if (len > flen)
    return lsp_fail(LSP_EDATA, "%s: %llu unexpected bytes after the model",
                    path, (unsigned long long)(len - flen));
  lsp_rbuf tail = {buf + len - 4, 4, 0, 0};
  if (lsp_get_u32(&tail) != lsp_crc32(buf, len - 4))
    return lsp_fail(LSP_EDATA,
                    "%s: checksum mismatch (CRC-32): the file is corrupted",
                    path);
  rd.r.len = len - 4; /* the content, without the checksum */
  return read_v3(&rd, out);
}

int lsp_model_load_lspm(const char *path, lsp_model **out) {
  *out = NULL;
  char *raw = NULL;
  size_t len = 0;
  int st = lsp_read_file(path, &raw, &len);
  if (st) return st;
  st = lsp_model_read_lspm((const unsigned char *)raw, len, path, out);
  free(raw);
  return st;
}
