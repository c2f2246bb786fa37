/* lsp_model_io.c — lsprobe's own model files, `.lspm`.
 *
 * `.lspm` format 2 (every integer and float little-endian, whatever the host):
 *
 *   "LSPM"                      4 bytes magic
 *   u32 version                 2
 *   u32 nlayers
 *   nlayers × {u32 kind, u64 in, u64 out}
 *   u64 nparams
 *   nparams × f32               every parameter, layer by layer, W then b
 *   u32 record_bytes            the training record (lsp_model_record.c):
 *   record_bytes bytes            typed, named fields; no timings
 *   u32 crc32                   zlib's CRC-32 of every byte before it
 *
 * Format 1 had a fixed training record instead (see get_meta_v1) and still
 * loads; its models carry no code version or split, so the cache never
 * reuses them and evaluation warns that their split is unknown.
 *
 * The loader checks, in this order: magic, version, the structure against
 * the file's length (truncation), the layer sequence and sizes, the exact
 * length (trailing bytes), then the CRC; each failure names the file and the
 * problem. The record is encoded field by field, never as a struct dump, so
 * the file does not depend on padding or the compiler. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "core/nn/lsp_model.h"
#include "core/formats/lsp_npy.h"

#define LSPM_VERSION 2u
/* Sanity bounds, far above any model this tool trains, that keep a corrupted
 * header from asking for gigabytes. */
#define LSPM_MAX_LAYERS 1024u
#define LSPM_MAX_WIDTH (1u << 24)
#define LSPM_MAX_PARAMS ((uint64_t)1 << 31)
/* format 1's fixed training record */
#define LSPM_V1_META_BYTES \
  (4 + 8 + 4 + 4 + 8 + 4 + 4 + 8 * 3 + 4 + 4 + 128 + 8 + 8 + 8)
#define LSPM_MAX_RECORD ((uint32_t)1 << 20)

/* ---- little-endian encoding -----------------------------------------------
 */

typedef struct {
  unsigned char *p; /* owned */
  size_t len, cap;
} wbuf;

static void put_bytes(wbuf *b, const void *src, size_t n) {
  memcpy(b->p + b->len, src, n); /* capacity reserved up front */
  b->len += n;
}
static void put_u32(wbuf *b, uint32_t v) {
  unsigned char c[4];
  for (int i = 0; i < 4; i++) c[i] = (unsigned char)(v >> (8 * i));
  put_bytes(b, c, 4);
}
static void put_u64(wbuf *b, uint64_t v) {
  unsigned char c[8];
  for (int i = 0; i < 8; i++) c[i] = (unsigned char)(v >> (8 * i));
  put_bytes(b, c, 8);
}
static void put_f32(wbuf *b, float x) {
  uint32_t v;
  memcpy(&v, &x, 4);
  put_u32(b, v);
}

typedef struct {
  const unsigned char *p;
  size_t len, pos;
  int short_read; /* set when a read ran past the end */
} rbuf;

static const unsigned char *take(rbuf *r, size_t n) {
  if (r->short_read || r->len - r->pos < n) {
    r->short_read = 1;
    return NULL;
  }
  const unsigned char *s = r->p + r->pos;
  r->pos += n;
  return s;
}
static uint32_t get_u32(rbuf *r) {
  const unsigned char *c = take(r, 4);
  uint32_t v = 0;
  if (c)
    for (int i = 0; i < 4; i++) v |= (uint32_t)c[i] << (8 * i);
  return v;
}
static uint64_t get_u64(rbuf *r) {
  const unsigned char *c = take(r, 8);
  uint64_t v = 0;
  if (c)
    for (int i = 0; i < 8; i++) v |= (uint64_t)c[i] << (8 * i);
  return v;
}
static float get_f32(rbuf *r) {
  uint32_t v = get_u32(r);
  float x;
  memcpy(&x, &v, 4);
  return x;
}
static double get_f64(rbuf *r) {
  uint64_t v = get_u64(r);
  double x;
  memcpy(&x, &v, 8);
  return x;
}

/* ---- format 1's training record ---------------------------------------------
 */

/* The fixed record of format 1, field by field, into the current record:
 * code_version 0 (before versions were recorded), no shares or split. */
static int get_meta_v1(rbuf *r, lsp_model_meta *mt, const char *path) {
  memset(mt, 0, sizeof *mt);
  uint32_t trained = get_u32(r);
  mt->smoothing.eps = get_f64(r);
  uint32_t conv = get_u32(r);
  uint32_t norm = get_u32(r);
  mt->seed = (unsigned long)get_u64(r);
  uint32_t epochs = get_u32(r), batch = get_u32(r);
  mt->lr = get_f64(r);
  mt->momentum = get_f64(r);
  mt->weight_decay = get_f64(r);
  uint32_t cosine = get_u32(r), adam = get_u32(r);
  const unsigned char *name = take(r, sizeof mt->data);
  mt->data_hash = get_u64(r);
  mt->val_accuracy = get_f64(r);
  (void)get_f64(r); /* the training time: not part of a record any more */
  if (r->short_read)
    return lsp_fail(LSP_EDATA, "%s: truncated (in the training record)", path);
  if (trained > 1 || conv > LSP_LS_T2T || norm > 1 || cosine > 1 || adam > 1 ||
      epochs > INT_MAX || batch > INT_MAX || !(mt->smoothing.eps >= 0.0) ||
      !(mt->smoothing.eps <= 1.0))
    return lsp_fail(LSP_EDATA, "%s: the training record holds invalid values",
                    path);
  if (!memchr(name, 0, sizeof mt->data))
    return lsp_fail(LSP_EDATA,
                    "%s: the training record's data name is not terminated",
                    path);
  mt->trained = (int)trained;
  mt->smoothing.convention = (lsp_ls_convention)conv;
  mt->smoothing.normalize = (int)norm;
  mt->epochs = (int)epochs;
  mt->batch = (int)batch;
  mt->cosine = (int)cosine;
  mt->adam = (int)adam;
  memcpy(mt->data, name, sizeof mt->data);
  return LSP_OK;
}

/* ---- .lspm ------------------------------------------------------------------
 */

int lsp_model_save(const lsp_model *m, const char *path) {
  if (!m || !path) return lsp_fail(LSP_EINVAL, "model save: no model or path");
  unsigned char *rec = NULL;
  size_t rec_len = 0;
  int st = lsp_model_record_encode(&m->meta, 0, &rec, &rec_len);
  if (st) return lsp_fail_prefix(st, path);
  wbuf b = {NULL, 0, 0};
  b.cap = 4 + 4 + 4 + m->nlayers * 20 + 8 + m->nparams * 4 + 4 + rec_len + 4;
  b.p = malloc(b.cap);
  if (!b.p) {
    free(rec);
    return lsp_fail(LSP_ENOMEM, "%s: out of memory", path);
  }
  put_bytes(&b, "LSPM", 4);
  put_u32(&b, LSPM_VERSION);
  put_u32(&b, (uint32_t)m->nlayers);
  for (size_t l = 0; l < m->nlayers; l++) {
    put_u32(&b, (uint32_t)m->layers[l].kind);
    put_u64(&b, (uint64_t)m->layers[l].in);
    put_u64(&b, (uint64_t)m->layers[l].out);
  }
  put_u64(&b, (uint64_t)m->nparams);
  for (size_t i = 0; i < m->nparams; i++) put_f32(&b, m->params[i]);
  put_u32(&b, (uint32_t)rec_len);
  put_bytes(&b, rec, rec_len);
  free(rec);
  put_u32(&b, lsp_crc32(b.p, b.len));
  st = lsp_write_file_atomic(path, b.p, b.len);
  free(b.p);
  return st;
}

/* The layer list must be an MLP: dense (relu dense)*, each input the previous
 * output. Fills the hidden widths (caller's array of nlayers/2 entries). */
static int check_mlp(const char *path, const uint32_t *kind, const uint64_t *in,
                     const uint64_t *out, size_t nl, size_t *hidden) {
  if (nl % 2 == 0)
    return lsp_fail(LSP_EDATA,
                    "%s: %zu layers is not an MLP (dense, relu, ..., dense)",
                    path, nl);
  for (size_t l = 0; l < nl; l++) {
    uint32_t want = l % 2 == 0 ? LSP_LAYER_DENSE : LSP_LAYER_RELU;
    if (kind[l] != want)
      return lsp_fail(LSP_EDATA, "%s: layer %zu has kind %u, expected %s", path,
                      l + 1, kind[l],
                      want == LSP_LAYER_DENSE ? "dense" : "relu");
    if (in[l] == 0 || out[l] == 0 || in[l] > LSPM_MAX_WIDTH ||
        out[l] > LSPM_MAX_WIDTH)
      return lsp_fail(
          LSP_EDATA, "%s: layer %zu has an absurd shape (%llu -> %llu)", path,
          l + 1, (unsigned long long)in[l], (unsigned long long)out[l]);
    if (kind[l] == LSP_LAYER_RELU && in[l] != out[l])
      return lsp_fail(
          LSP_EDATA, "%s: relu layer %zu changes the width (%llu -> %llu)",
          path, l + 1, (unsigned long long)in[l], (unsigned long long)out[l]);
    if (l > 0 && in[l] != out[l - 1])
      return lsp_fail(
          LSP_EDATA, "%s: layer %zu takes %llu inputs but layer %zu gives %llu",
          path, l + 1, (unsigned long long)in[l], l,
          (unsigned long long)out[l - 1]);
    if (l % 2 == 1) hidden[l / 2] = (size_t)out[l];
  }
  return LSP_OK;
}

int lsp_model_load_lspm(const char *path, lsp_model **out) {
  char *raw = NULL;
  size_t len = 0;
  uint32_t *kind = NULL;
  uint64_t *lin = NULL, *lout = NULL;
  size_t *hidden = NULL;
  lsp_model *m = NULL;
  int st = lsp_read_file(path, &raw, &len);
  if (st) return st;
  rbuf r = {(const unsigned char *)raw, len, 0, 0};
  const unsigned char *magic = take(&r, 4);
  if (!magic || memcmp(magic, "LSPM", 4) != 0) {
    st = lsp_fail(LSP_EDATA, "%s: not an lsprobe model (bad magic)", path);
    goto done;
  }
  uint32_t version = get_u32(&r);
  if (r.short_read) goto truncated;
  if (version != 1 && version != LSPM_VERSION) {
    st = lsp_fail(LSP_EDATA,
                  "%s: unsupported format version %u (this build reads 1 and %u)",
                  path, version, LSPM_VERSION);
    goto done;
  }
  uint32_t nl = get_u32(&r);
  if (r.short_read) goto truncated;
  if (nl == 0 || nl > LSPM_MAX_LAYERS) {
    st = lsp_fail(LSP_EDATA, "%s: absurd layer count %u", path, nl);
    goto done;
  }
  kind = malloc(nl * sizeof *kind);
  lin = malloc(nl * sizeof *lin);
  lout = malloc(nl * sizeof *lout);
  hidden = malloc((nl / 2 + 1) * sizeof *hidden);
  if (!kind || !lin || !lout || !hidden) {
    st = lsp_fail(LSP_ENOMEM, "%s: out of memory", path);
    goto done;
  }
  for (uint32_t l = 0; l < nl; l++) {
    kind[l] = get_u32(&r);
    lin[l] = get_u64(&r);
    lout[l] = get_u64(&r);
  }
  uint64_t np = get_u64(&r);
  if (r.short_read) goto truncated;
  if ((st = check_mlp(path, kind, lin, lout, nl, hidden))) goto done;
  uint64_t want_np = 0;
  for (uint32_t l = 0; l < nl; l += 2) want_np += lout[l] * lin[l] + lout[l];
  if (np != want_np || np > LSPM_MAX_PARAMS) {
    st = lsp_fail(LSP_EDATA,
                  "%s: %llu parameters recorded, the layers need %llu", path,
                  (unsigned long long)np, (unsigned long long)want_np);
    goto done;
  }
  /* The exact size is known now: reject truncation before allocating. */
  size_t params_end = r.pos + (size_t)np * 4, need, rec_len = 0;
  if (version == 1) {
    need = params_end + LSPM_V1_META_BYTES + 4;
  } else {
    if (len < params_end + 4) goto truncated;
    rbuf rl = {r.p + params_end, 4, 0, 0};
    rec_len = get_u32(&rl);
    if (rec_len > LSPM_MAX_RECORD) {
      st = lsp_fail(LSP_EDATA, "%s: absurd training record size %zu", path, rec_len);
      goto done;
    }
    need = params_end + 4 + rec_len + 4;
  }
  if (len < need) goto truncated;
  if (len > need) {
    st = lsp_fail(LSP_EDATA, "%s: %zu unexpected bytes after the model", path,
                  len - need);
    goto done;
  }
  uint32_t crc_want = lsp_crc32(r.p, len - 4);
  rbuf tail = {r.p + len - 4, 4, 0, 0};
  if (get_u32(&tail) != crc_want) {
    st =
        lsp_fail(LSP_EDATA,
                 "%s: checksum mismatch (CRC-32): the file is corrupted", path);
    goto done;
  }
  m = lsp_model_alloc_mlp((size_t)lin[0], hidden, nl / 2, (size_t)lout[nl - 1]);
  if (!m) {
    st = lsp_fail_prefix(LSP_ENOMEM, path);
    goto done;
  }
  for (size_t i = 0; i < m->nparams; i++) {
    m->params[i] = get_f32(&r);
    if (!isfinite(m->params[i])) {
      st = lsp_fail(LSP_EDATA, "%s: parameter %zu is not finite", path, i);
      goto done;
    }
  }
  if (version == 1)
    st = get_meta_v1(&r, &m->meta, path);
  else
    st = lsp_model_record_decode(r.p + params_end + 4, rec_len, &m->meta, path);
  if (st) goto done;
  *out = m;
  m = NULL;
  goto done;
truncated:
  st = lsp_fail(LSP_EDATA, "%s: truncated (%zu bytes)", path, len);
done:
  lsp_model_free(m);
  free(kind);
  free(lin);
  free(lout);
  free(hidden);
  free(raw);
  return st;
}

