/* lsp_model_io_mlp.c — reading `.lspm` formats 1 and 2, the MLP layer
 * lists lsprobe wrote before the graph (format 3). They are no longer
 * written.
 *
 *   "LSPM"                      4 bytes magic
 *   u32 version                 1 or 2
 *   u32 nlayers
 *   nlayers × {u32 kind, u64 in, u64 out}     kind 1 dense, 2 relu
 *   u64 nparams
 *   nparams × f32               every parameter, layer by layer, W then b
 *   format 1: a fixed 220-byte training record (get_meta_v1)
 *   format 2: u32 record_bytes, then the record (lsp_model_record.c)
 *   u32 crc32                   zlib's CRC-32 of every byte before it
 *
 * Checked in this order: the structure against the file's length
 * (truncation), the layer sequence and sizes, the exact length (trailing
 * bytes), the CRC, the parameters, the record. Format 1's records carry no
 * code version or split, so the cache never reuses those models. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "core/base/lsp_bytes.h"
#include "core/nn/lsp_model.h"

#define V1_MAX_LAYERS 1024u
#define V1_MAX_WIDTH (1u << 24)
#define V1_MAX_PARAMS ((uint64_t)1 << 31)
#define V1_META_BYTES \
  (4 + 8 + 4 + 4 + 8 + 4 + 4 + 8 * 3 + 4 + 4 + 128 + 8 + 8 + 8)
#define V2_MAX_RECORD ((uint32_t)1 << 20)

int lsp_model_read_mlp(lsp_rbuf *r, uint32_t version, const char *path,
                       lsp_model **out);

/* The fixed record of format 1, field by field, into the current record:
 * code_version 0 (before versions were recorded), no shares or split. */
static int get_meta_v1(lsp_rbuf *r, lsp_model_meta *mt, const char *path) {
  memset(mt, 0, sizeof *mt);
  uint32_t trained = lsp_get_u32(r);
  mt->smoothing.eps = lsp_get_f64(r);
  uint32_t conv = lsp_get_u32(r);
  uint32_t norm = lsp_get_u32(r);
  mt->seed = (unsigned long)lsp_get_u64(r);
  uint32_t epochs = lsp_get_u32(r), batch = lsp_get_u32(r);
  mt->lr = lsp_get_f64(r);
  mt->momentum = lsp_get_f64(r);
  mt->weight_decay = lsp_get_f64(r);
  uint32_t cosine = lsp_get_u32(r), adam = lsp_get_u32(r);
  const unsigned char *name = lsp_take(r, sizeof mt->data);
  mt->data_hash = lsp_get_u64(r);
  mt->val_accuracy = lsp_get_f64(r);
  (void)lsp_get_f64(r); /* the training time: not part of a record any more */
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

/* The layer list must be an MLP: dense (relu dense)*, each input the previous
 * output. Fills the hidden widths (caller's array of nlayers/2 entries). */
static int check_mlp(const char *path, const uint32_t *kind, const uint64_t *in,
                     const uint64_t *out, size_t nl, size_t *hidden) {
  if (nl % 2 == 0)
    return lsp_fail(LSP_EDATA,
                    "%s: %zu layers is not an MLP (dense, relu, ..., dense)",
                    path, nl);
  for (size_t l = 0; l < nl; l++) {
    uint32_t want = l % 2 == 0 ? 1u : 2u;
    if (kind[l] != want)
      return lsp_fail(LSP_EDATA, "%s: layer %zu has kind %u, expected %s", path,
                      l + 1, kind[l], want == 1 ? "dense" : "relu");
    if (in[l] == 0 || out[l] == 0 || in[l] > V1_MAX_WIDTH ||
        out[l] > V1_MAX_WIDTH)
      return lsp_fail(
          LSP_EDATA, "%s: layer %zu has an absurd shape (%llu -> %llu)", path,
          l + 1, (unsigned long long)in[l], (unsigned long long)out[l]);
    if (kind[l] == 2 && in[l] != out[l])
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

/* r is positioned after the magic and the version (1 or 2). */
int lsp_model_read_mlp(lsp_rbuf *r, uint32_t version, const char *path,
                       lsp_model **out) {
  uint32_t *kind = NULL;
  uint64_t *lin = NULL, *lout = NULL;
  size_t *hidden = NULL;
  lsp_model *m = NULL;
  int st = LSP_OK;
  const size_t len = r->len;
  uint32_t nl = lsp_get_u32(r);
  if (r->short_read) goto truncated;
  if (nl == 0 || nl > V1_MAX_LAYERS) {
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
    kind[l] = lsp_get_u32(r);
    lin[l] = lsp_get_u64(r);
    lout[l] = lsp_get_u64(r);
  }
  uint64_t np = lsp_get_u64(r);
  if (r->short_read) goto truncated;
  if ((st = check_mlp(path, kind, lin, lout, nl, hidden))) goto done;
  uint64_t want_np = 0;
  for (uint32_t l = 0; l < nl; l += 2) want_np += lout[l] * lin[l] + lout[l];
  if (np != want_np || np > V1_MAX_PARAMS) {
    st = lsp_fail(LSP_EDATA,
                  "%s: %llu parameters recorded, the layers need %llu", path,
                  (unsigned long long)np, (unsigned long long)want_np);
    goto done;
  }
  /* The exact size is known now: reject truncation before allocating. */
  size_t params_end = r->pos + (size_t)np * 4, need, rec_len = 0;
  if (version == 1) {
    need = params_end + V1_META_BYTES + 4;
  } else {
    if (len < params_end + 4) goto truncated;
    lsp_rbuf rl = {r->p + params_end, 4, 0, 0};
    rec_len = lsp_get_u32(&rl);
    if (rec_len > V2_MAX_RECORD) {
      st = lsp_fail(LSP_EDATA, "%s: absurd training record size %zu", path,
                    rec_len);
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
  uint32_t crc_want = lsp_crc32(r->p, len - 4);
  lsp_rbuf tail = {r->p + len - 4, 4, 0, 0};
  if (lsp_get_u32(&tail) != crc_want) {
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
    m->params[i] = lsp_get_f32(r);
    if (!isfinite(m->params[i])) {
      st = lsp_fail(LSP_EDATA, "%s: parameter %zu is not finite", path, i);
      goto done;
    }
  }
  if (version == 1)
    st = get_meta_v1(r, &m->meta, path);
  else
    st =
        lsp_model_record_decode(r->p + params_end + 4, rec_len, &m->meta, path);
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
  return st;
}
