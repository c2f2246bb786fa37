/* lsp_model_io.c — lsprobe's model files, `.lspm` format 2: the graph,
 * self-describing (kinds, attributes and tensors by name and type) and
 * CRC-checked. Format 1 files (MLPs) are read by lsp_model_io_v1.c.
 *
 * Layout (every number little-endian; str = u32 length + that many bytes,
 * no NUL; docs/DESIGN.md §3 has the table):
 *
 *   "LSPM" u32 version=2 u64 file_length
 *   u64 c, h, w                          input shape of one example
 *   str arch                             built-in or spec name, may be ""
 *   u32 nnodes, then per node:
 *     str kind, str name
 *     u32 nin, nin × i32 input           earlier node, or -1 (the input)
 *     u32 nattr, per attribute: str name, u8 type, value
 *     u32 ntensor, per tensor: str name, u32 ndim, ndim × u64 dim,
 *                              count × f32
 *   i32 features                         node of the penultimate features
 *   u32 nfield, per record field: str name, u8 type, value
 *   u32 crc32                            zlib CRC-32 of every byte before it
 *
 * Types: 1 = u64, 2 = f64, 3 = str. The loader checks the length first
 * (truncation, trailing bytes), then the CRC, then the content: every
 * kind, attribute and record field must be known, every attribute and
 * field present once, the graph must pass shape inference, every tensor
 * must be the one the kind expects (name, order, dimensions) and finite. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "core/nn/lsp_bytes.h"
#include "core/nn/lsp_model.h"
#include "core/nn/lsp_ops.h"

#define LSPM_VERSION 2u
#define MAX_STR 4096u
#define MAX_NODES 4096u
#define MAX_FIELDS 256u
enum { T_U64 = 1, T_F64 = 2, T_STR = 3 };

int lsp_model_read_v1(lsp_rbuf *r, const char *path, lsp_model **out);

/* ---- the training record --------------------------------------------------- */

/* How a field maps to lsp_model_meta, and what values it may take. */
typedef enum { F_FLAG, F_INT, F_ULONG, F_U64, F_F64, F_EPS, F_CONV, F_STR } fkind;
typedef struct {
  const char *name;
  fkind kind;
  size_t off;
} field_def;

#define F(n, k, member) {n, k, offsetof(lsp_model_meta, member)}
static const field_def fields[] = {
    F("trained", F_FLAG, trained),
    F("smoothing", F_EPS, smoothing.eps),
    F("convention", F_CONV, smoothing.convention),
    F("normalize_loss", F_FLAG, smoothing.normalize),
    F("seed", F_ULONG, seed),
    F("epochs", F_INT, epochs),
    F("batch", F_INT, batch),
    F("lr", F_F64, lr),
    F("momentum", F_F64, momentum),
    F("weight_decay", F_F64, weight_decay),
    F("cosine", F_FLAG, cosine),
    F("adam", F_FLAG, adam),
    F("data", F_STR, data),
    F("data_hash", F_U64, data_hash),
    F("val_accuracy", F_F64, val_accuracy),
    F("train_seconds", F_F64, train_seconds),
};
#define NFIELDS (sizeof fields / sizeof fields[0])

static int ftype(fkind k) { return k == F_F64 || k == F_EPS ? T_F64 : k == F_STR ? T_STR : T_U64; }

/* ---- writing ------------------------------------------------------------------ */

static void put_str(lsp_wbuf *b, const char *s) {
  size_t n = strlen(s);
  lsp_put_u32(b, (uint32_t)n);
  lsp_put_bytes(b, s, n);
}

static void put_record(lsp_wbuf *b, const lsp_model_meta *mt) {
  lsp_put_u32(b, (uint32_t)NFIELDS);
  for (size_t i = 0; i < NFIELDS; i++) {
    const field_def *f = &fields[i];
    const char *p = (const char *)mt + f->off;
    put_str(b, f->name);
    lsp_put_bytes(b, (unsigned char[]){(unsigned char)ftype(f->kind)}, 1);
    switch (f->kind) {
      case F_FLAG: lsp_put_u64(b, *(const int *)(const void *)p != 0); break;
      case F_INT: lsp_put_u64(b, (uint64_t)*(const int *)(const void *)p); break;
      case F_CONV: lsp_put_u64(b, (uint64_t)*(const lsp_ls_convention *)(const void *)p); break;
      case F_ULONG: lsp_put_u64(b, (uint64_t)*(const unsigned long *)(const void *)p); break;
      case F_U64: lsp_put_u64(b, *(const uint64_t *)(const void *)p); break;
      case F_F64:
      case F_EPS: lsp_put_f64(b, *(const double *)(const void *)p); break;
      case F_STR: {
        char s[sizeof mt->data];
        snprintf(s, sizeof s, "%s", p);
        put_str(b, s);
      }
    }
  }
}

static void put_model(lsp_wbuf *b, const lsp_model *m) {
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
    for (int k = 0; k < nd->nin; k++) lsp_put_u32(b, (uint32_t)(int32_t)nd->in[k]);
    uint32_t na = 0;
    for (const lsp_attr_def *a = d->attrs; a->name; a++) na++;
    lsp_put_u32(b, na);
    for (const lsp_attr_def *a = d->attrs; a->name; a++) {
      put_str(b, a->name);
      double v = lsp_attr_get(&nd->a, a);
      lsp_put_bytes(b, (unsigned char[]){a->type == LSP_ATTR_REAL ? T_F64 : T_U64}, 1);
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
  put_record(b, &m->meta);
  if (b->p) {
    lsp_wbuf at = {b->p + len_at, 0};
    lsp_put_u64(&at, (uint64_t)b->len + 4);
    lsp_put_u32(b, (uint32_t)crc32_z(0L, b->p, b->len));
  } else {
    b->len += 4;
  }
}

int lsp_model_save(const lsp_model *m, const char *path) {
  if (!m || !path || !m->params) return lsp_fail(LSP_EINVAL, "model save: no model or path");
  lsp_wbuf b = {NULL, 0};
  put_model(&b, m);
  size_t len = b.len;
  b.p = malloc(len);
  if (!b.p) return lsp_fail(LSP_ENOMEM, "%s: out of memory", path);
  b.len = 0;
  put_model(&b, m);
  int st = lsp_write_file_atomic(path, b.p, b.len);
  free(b.p);
  return st;
}

/* ---- reading ------------------------------------------------------------------ */

typedef struct {
  lsp_rbuf r;
  const char *path;
} reader;

/* A string into buf (cap bytes with the NUL); LSP_EDATA when too long. */
static int get_str(reader *rd, char *buf, size_t cap, const char *what) {
  uint32_t n = lsp_get_u32(&rd->r);
  if (rd->r.short_read) return lsp_fail(LSP_EDATA, "%s: truncated", rd->path);
  if (n >= cap || n > MAX_STR)
    return lsp_fail(LSP_EDATA, "%s: %s of %u bytes is too long", rd->path, what, n);
  const unsigned char *s = lsp_take(&rd->r, n);
  if (!s) return lsp_fail(LSP_EDATA, "%s: truncated", rd->path);
  if (memchr(s, 0, n)) return lsp_fail(LSP_EDATA, "%s: %s holds a NUL byte", rd->path, what);
  memcpy(buf, s, n);
  buf[n] = 0;
  return LSP_OK;
}

static int get_type(reader *rd) {
  const unsigned char *t = lsp_take(&rd->r, 1);
  return t ? *t : 0;
}

static int read_attrs(reader *rd, const lsp_op_def *d, lsp_attrs *a, const char *node) {
  uint32_t na = lsp_get_u32(&rd->r);
  size_t want = 0;
  for (const lsp_attr_def *x = d->attrs; x->name; x++) want++;
  if (na != want)
    return lsp_fail(LSP_EDATA, "%s: node '%s' (%s) has %u attributes, expected %zu", rd->path,
                    node, d->name, na, want);
  unsigned seen = 0;
  for (uint32_t i = 0; i < na; i++) {
    char name[64];
    int st = get_str(rd, name, sizeof name, "an attribute name");
    if (st) return st;
    const lsp_attr_def *x = d->attrs;
    size_t k = 0;
    while (x->name && strcmp(x->name, name) != 0) x++, k++;
    if (!x->name || (seen >> k & 1u))
      return lsp_fail(LSP_EDATA, "%s: node '%s' (%s): %s attribute '%s'", rd->path, node,
                      d->name, x->name ? "repeated" : "unknown", name);
    seen |= 1u << k;
    int type = get_type(rd);
    int real = x->type == LSP_ATTR_REAL;
    if (type != (real ? T_F64 : T_U64))
      return lsp_fail(LSP_EDATA, "%s: node '%s': attribute '%s' has type %d", rd->path, node,
                      name, type);
    if (real) {
      double v = lsp_get_f64(&rd->r);
      if (!isfinite(v))
        return lsp_fail(LSP_EDATA, "%s: node '%s': attribute '%s' is not finite", rd->path,
                        node, name);
      lsp_attr_set(a, x, v);
    } else {
      uint64_t v = lsp_get_u64(&rd->r);
      if ((x->type == LSP_ATTR_FLAG && v > 1) || v > ((uint64_t)1 << 30))
        return lsp_fail(LSP_EDATA, "%s: node '%s': attribute '%s' = %llu is out of range",
                        rd->path, node, name, (unsigned long long)v);
      lsp_attr_set(a, x, (double)v);
    }
  }
  return rd->r.short_read ? lsp_fail(LSP_EDATA, "%s: truncated", rd->path) : LSP_OK;
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
    return lsp_fail(LSP_EDATA, "%s: node '%s' has %u tensors", rd->path, node, nt);
  tp->nt = (int)nt;
  for (uint32_t j = 0; j < nt; j++) {
    int st = get_str(rd, tp->name[j], sizeof tp->name[j], "a tensor name");
    if (st) return st;
    uint32_t nd = lsp_get_u32(&rd->r);
    if (nd == 0 || nd > LSP_TENSOR_MAXDIM)
      return lsp_fail(LSP_EDATA, "%s: node '%s': tensor '%s' has %u dimensions", rd->path, node,
                      tp->name[j], nd);
    tp->ndim[j] = (int)nd;
    uint64_t count = 1;
    for (uint32_t k = 0; k < nd; k++) {
      tp->dims[j][k] = lsp_get_u64(&rd->r);
      if (tp->dims[j][k] == 0 || tp->dims[j][k] > ((uint64_t)1 << 31) ||
          count > ((uint64_t)1 << 31) / tp->dims[j][k])
        return lsp_fail(LSP_EDATA, "%s: node '%s': tensor '%s' has absurd dimensions",
                        rd->path, node, tp->name[j]);
      count *= tp->dims[j][k];
    }
    tp->data[j] = lsp_take(&rd->r, (size_t)count * 4);
    if (!tp->data[j]) return lsp_fail(LSP_EDATA, "%s: truncated", rd->path);
  }
  return LSP_OK;
}

static int load_tensors(reader *rd, lsp_model *m, size_t i, const tensor_pos *tp) {
  const lsp_node *nd = &m->nodes[i];
  const lsp_op_def *d = lsp_op_get(nd->op);
  lsp_tensor_def t[LSP_OP_MAXTENSORS];
  int nt = d->tensors(nd, t);
  if (nt != tp->nt)
    return lsp_fail(LSP_EDATA, "%s: node '%s' (%s) has %d tensors, expected %d", rd->path,
                    nd->name, d->name, tp->nt, nt);
  float *pp = m->params + nd->p_off, *sp = m->state + nd->s_off;
  for (int j = 0; j < nt; j++) {
    int same = strcmp(t[j].name, tp->name[j]) == 0 && t[j].ndim == tp->ndim[j];
    for (int k = 0; same && k < t[j].ndim; k++) same = t[j].dims[k] == tp->dims[j][k];
    if (!same)
      return lsp_fail(LSP_EDATA, "%s: node '%s' (%s): tensor %d is '%s' of other dimensions "
                      "than the expected '%s'", rd->path, nd->name, d->name, j + 1,
                      tp->name[j], t[j].name);
    size_t c = lsp_tensor_count(&t[j]);
    float *dst = t[j].state ? sp : pp;
    lsp_rbuf r = {tp->data[j], c * 4, 0, 0};
    for (size_t k = 0; k < c; k++) {
      dst[k] = lsp_get_f32(&r);
      if (!isfinite(dst[k]))
        return lsp_fail(LSP_EDATA, "%s: node '%s': %s[%zu] is not finite", rd->path, nd->name,
                        t[j].name, k);
    }
    if (t[j].state)
      sp += c;
    else
      pp += c;
  }
  char why[160];
  if (d->check && d->check(nd, m->params + nd->p_off, m->state + nd->s_off, why, sizeof why))
    return lsp_fail(LSP_EDATA, "%s: node '%s': %s", rd->path, nd->name, why);
  return LSP_OK;
}

static int read_record(reader *rd, lsp_model_meta *mt) {
  uint32_t nf = lsp_get_u32(&rd->r);
  if (nf != NFIELDS)
    return lsp_fail(LSP_EDATA, "%s: the training record has %u fields, expected %zu", rd->path,
                    nf, NFIELDS);
  memset(mt, 0, sizeof *mt);
  unsigned char seen[NFIELDS] = {0};
  for (uint32_t i = 0; i < nf; i++) {
    char name[64];
    int st = get_str(rd, name, sizeof name, "a record field name");
    if (st) return st;
    size_t k = 0;
    while (k < NFIELDS && strcmp(fields[k].name, name) != 0) k++;
    if (k == NFIELDS || seen[k])
      return lsp_fail(LSP_EDATA, "%s: %s training record field '%s'", rd->path,
                      k == NFIELDS ? "unknown" : "repeated", name);
    seen[k] = 1;
    const field_def *f = &fields[k];
    char *p = (char *)mt + f->off;
    if (get_type(rd) != ftype(f->kind))
      return lsp_fail(LSP_EDATA, "%s: training record field '%s' has the wrong type", rd->path,
                      name);
    if (f->kind == F_STR) {
      if ((st = get_str(rd, p, sizeof mt->data, "the record's data name"))) return st;
      continue;
    }
    uint64_t u = 0;
    double v = 0;
    if (ftype(f->kind) == T_F64)
      v = lsp_get_f64(&rd->r);
    else
      u = lsp_get_u64(&rd->r);
    int bad = 0;
    switch (f->kind) {
      case F_FLAG: bad = u > 1; *(int *)(void *)p = (int)u; break;
      case F_INT: bad = u > INT_MAX; *(int *)(void *)p = (int)u; break;
      case F_CONV:
        bad = u > LSP_LS_T2T;
        *(lsp_ls_convention *)(void *)p = (lsp_ls_convention)u;
        break;
      case F_ULONG:
        bad = (uint64_t)(unsigned long)u != u;
        *(unsigned long *)(void *)p = (unsigned long)u;
        break;
      case F_U64: *(uint64_t *)(void *)p = u; break;
      case F_EPS: bad = !(v >= 0.0 && v <= 1.0); *(double *)(void *)p = v; break;
      default: *(double *)(void *)p = v; /* NaN allowed: unknown */
    }
    if (bad)
      return lsp_fail(LSP_EDATA, "%s: the training record holds an invalid %s", rd->path,
                      name);
  }
  return LSP_OK;
}

static int read_v2(reader *rd, lsp_model **out) {
  lsp_rbuf *r = &rd->r;
  lsp_model *m = NULL;
  tensor_pos *tp = NULL;
  int st = LSP_OK;
  uint64_t c = lsp_get_u64(r), h = lsp_get_u64(r), w = lsp_get_u64(r);
  char arch[sizeof m->arch];
  if ((st = get_str(rd, arch, sizeof arch, "the arch name"))) return st;
  if (c == 0 || h == 0 || w == 0 || c > (1u << 24) || h > (1u << 24) || w > (1u << 24))
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
      st = lsp_fail(LSP_EDATA, "%s: node %u ('%s') has the unknown kind '%s'", rd->path, i, name,
                    kind);
      goto done;
    }
    uint32_t nin = lsp_get_u32(r);
    int32_t in[2] = {LSP_INPUT, LSP_INPUT};
    if (nin != (uint32_t)d->nin) {
      st = lsp_fail(LSP_EDATA, "%s: node '%s' (%s) has %u inputs", rd->path, name, kind, nin);
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
  if (feat != m->features) {
    st = lsp_fail(LSP_EDATA, "%s: the features node %d is not the classifier's input (%d)",
                  rd->path, (int)feat, m->features);
    goto done;
  }
  for (uint32_t i = 0; i < nn; i++)
    if ((st = load_tensors(rd, m, i, &tp[i]))) goto done;
  if ((st = read_record(rd, &m->meta))) goto done;
  if (r->short_read) goto truncated;
  if (r->pos != r->len) {
    st = lsp_fail(LSP_EDATA, "%s: %zu bytes after the training record", rd->path,
                  r->len - r->pos);
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
  if (rd.r.short_read) return lsp_fail(LSP_EDATA, "%s: truncated (%zu bytes)", path, len);
  if (version == 1) return lsp_model_read_v1(&rd.r, path, out);
  if (version != LSPM_VERSION)
    return lsp_fail(LSP_EDATA, "%s: unsupported format version %u (this build reads 1 and %u)",
                    path, version, LSPM_VERSION);
  uint64_t flen = lsp_get_u64(&rd.r);
  if (rd.r.short_read || len < flen || len < rd.r.pos + 4)
    return lsp_fail(LSP_EDATA, "%s: truncated (%zu bytes)", path, len);
  if (len > flen)
    return lsp_fail(LSP_EDATA, "%s: %llu unexpected bytes after the model", path,
                    (unsigned long long)(len - flen));
  lsp_rbuf tail = {buf + len - 4, 4, 0, 0};
  if (lsp_get_u32(&tail) != (uint32_t)crc32_z(0L, buf, len - 4))
    return lsp_fail(LSP_EDATA, "%s: checksum mismatch (CRC-32): the file is corrupted", path);
  rd.r.len = len - 4; /* the content, without the checksum */
  return read_v2(&rd, out);
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
