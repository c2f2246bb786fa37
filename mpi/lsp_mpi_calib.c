/* lsp_mpi_calib.c — streaming calibration over MPI ranks (lsp_mpi_calib.h). */
#include "mpi/lsp_mpi_calib.h"

#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_util.h"
#include "core/data/lsp_data.h"
#include "mpi/lsp_mpi.h"
#include "core/formats/lsp_arraycheck.h"
#include "core/formats/lsp_npy.h"
#include "core/formats/lsp_npy_rows.h"

#define CHUNK_ROWS 65536              /* rows per accumulator call, at most */
#define CHUNK_BYTES ((size_t)8 << 20) /* and at most this many bytes of input */
#define TAG_ACC 101                   /* the accumulator, up the reduction tree */

/* ---- packing ------------------------------------------------------------- */

size_t lsp_mpi_calib_packed_len(const lsp_calib_acc *a) {
  size_t m = (size_t)a->bins, km = a->cw_count ? a->k * m : 0;
  size_t mesh = a->mesh_w ? 6 * (size_t)LSP_SMECE_NODES : 0;
  return 4 + 4 * m + 4 + 2 * LSP_CALIB_NLL_BIG + 4 * km + mesh;
}

static uint64_t *put_fix(uint64_t *o, const lsp_calib_fix *f, size_t n) {
  for (size_t i = 0; i < n; i++) *o++ = f[i].lo, *o++ = f[i].hi;
  return o;
}

static const uint64_t *get_fix(const uint64_t *in, lsp_calib_fix *f, size_t n) {
  for (size_t i = 0; i < n; i++) f[i].lo = *in++, f[i].hi = *in++;
  return in;
}

void lsp_mpi_calib_pack(const lsp_calib_acc *a, uint64_t *o) {
  size_t m = (size_t)a->bins, km = a->cw_count ? a->k * m : 0;
  *o++ = a->n;
  *o++ = a->n_correct;
  *o++ = a->n_nll_inf;
  *o++ = (uint64_t)a->overflow;
  memcpy(o, a->count, m * sizeof *o), o += m;
  memcpy(o, a->correct, m * sizeof *o), o += m;
  o = put_fix(o, a->conf, m);
  o = put_fix(o, &a->nll, 1);
  o = put_fix(o, &a->brier, 1);
  o = put_fix(o, a->nll_big, LSP_CALIB_NLL_BIG);
  if (km) {
    memcpy(o, a->cw_count, km * sizeof *o), o += km;
    memcpy(o, a->cw_pos, km * sizeof *o), o += km;
    o = put_fix(o, a->cw_sum, km);
  }
  if (!a->mesh_w) return;
  o = put_fix(o, a->mesh_w, LSP_SMECE_NODES);
  o = put_fix(o, a->mesh_c, LSP_SMECE_NODES);
  put_fix(o, a->mesh_y, LSP_SMECE_NODES);
}

int lsp_mpi_calib_merge_packed(lsp_calib_acc *acc, lsp_calib_acc *s, const uint64_t *in) {
  size_t m = (size_t)s->bins, km = s->cw_count ? s->k * m : 0;
  s->n = *in++;
  s->n_correct = *in++;
  s->n_nll_inf = *in++;
  s->overflow = (int)*in++;
  memcpy(s->count, in, m * sizeof *in), in += m;
  memcpy(s->correct, in, m * sizeof *in), in += m;
  in = get_fix(in, s->conf, m);
  in = get_fix(in, &s->nll, 1);
  in = get_fix(in, &s->brier, 1);
  in = get_fix(in, s->nll_big, LSP_CALIB_NLL_BIG);
  if (km) {
    memcpy(s->cw_count, in, km * sizeof *in), in += km;
    memcpy(s->cw_pos, in, km * sizeof *in), in += km;
    in = get_fix(in, s->cw_sum, km);
  }
  if (s->mesh_w) {
    in = get_fix(in, s->mesh_w, LSP_SMECE_NODES);
    in = get_fix(in, s->mesh_c, LSP_SMECE_NODES);
    get_fix(in, s->mesh_y, LSP_SMECE_NODES);
  }
  return lsp_calib_acc_merge(acc, s);
}

/* ---- the inputs ------------------------------------------------------------ */

/* The checks of the single-process `calib --stream` on shapes. */
static int check_shapes(const lsp_npy_rows *x, const lsp_npy_rows *y) {
  const lsp_array *a = &x->meta, *b = &y->meta;
  if (a->ndim != 2)
    return lsp_fail(LSP_EDATA, "%s: expected a 2-D array (rows x columns), got %d dimensions",
                    x->path, a->ndim);
  if (a->shape[0] == 0 || a->shape[1] == 0)
    return lsp_fail(LSP_EDATA, "%s: empty array (%zu x %zu)", x->path, a->shape[0],
                    a->shape[1]);
  if (a->shape[1] < 2)
    return lsp_fail(LSP_EDATA, "%s: need at least 2 classes (K = %zu)", x->path, a->shape[1]);
  if (b->ndim == 2 && b->shape[1] > 1)
    return lsp_fail(LSP_EDATA,
                    "%s: labels must be a vector of class indices, not %zu x %zu (one-hot "
                    "labels: save y.argmax(axis=1))",
                    y->path, b->shape[0], b->shape[1]);
  if (b->ndim < 1)
    return lsp_fail(LSP_EDATA, "%s: labels must be a 1-D array of class indices (got 0 "
                               "dimensions)", y->path);
  if (b->count != a->shape[0] || b->ndim > 2)
    return lsp_fail(LSP_EDATA, "%s has %zu labels (need a vector) but %s has %zu rows",
                    y->path, b->count, x->path, a->shape[0]);
  return LSP_OK;
}

/* Labels of one chunk as int32, checked against [0, k); the messages of
 * the single process (global indices). */
static int labels_of(const lsp_npy_rows *yf, const void *raw, size_t i0, size_t m, size_t k,
                     int32_t *out) {
  for (size_t i = 0; i < m; i++) {
    double v;
    switch (yf->meta.dtype) {
      case LSP_DT_F32: v = ((const float *)raw)[i]; break;
      case LSP_DT_F64: v = ((const double *)raw)[i]; break;
      case LSP_DT_I32: v = ((const int32_t *)raw)[i]; break;
      case LSP_DT_I64: v = (double)((const int64_t *)raw)[i]; break;
      default: v = ((const uint8_t *)raw)[i]; break;
    }
    if (!isfinite(v) || v != floor(v))
      return lsp_fail(LSP_EDATA, "%s: label %g at index %zu is not an integer", yf->path, v,
                      i0 + i);
    if (!(v >= 0.0 && v < (double)k))
      return lsp_fail(LSP_EDATA, "%s: label %.0f at index %zu is out of range [0, %zu)",
                      yf->path, v, i0 + i, k);
    out[i] = (int32_t)v;
  }
  return LSP_OK;
}

/* Integer predictions become float32 as lsp_array_f32 converts them. */
static void to_f32(lsp_dtype dt, const void *raw, size_t n, float *out) {
  for (size_t i = 0; i < n; i++) switch (dt) {
      case LSP_DT_I32: out[i] = (float)((const int32_t *)raw)[i]; break;
      case LSP_DT_I64: out[i] = (float)((const int64_t *)raw)[i]; break;
      default: out[i] = (float)((const uint8_t *)raw)[i]; break;
    }
}

/* 1 if every row of the chunk lies in [0, 1] and sums to 1 within 1e-3
 * (the rule of lsp_array_not_probs). */
static int rows_look_like_probs(const float *f, const double *d, size_t m, size_t k) {
  for (size_t i = 0; i < m; i++) {
    double s = 0.0;
    for (size_t j = 0; j < k; j++) {
      double v = d ? d[i * k + j] : (double)f[i * k + j];
      if (!(v >= 0.0 && v <= 1.0)) return 0;
      s += v;
    }
    if (fabs(s - 1.0) > 1e-3) return 0;
  }
  return 1;
}

/* Score this rank's rows [r0, r1) into acc; *probs_like is cleared when a
 * row does not look like probabilities. */
static int score_range(lsp_npy_rows *xf, lsp_npy_rows *yf, int logits, size_t r0,
                       size_t r1, int threads, lsp_calib_acc *acc, int *probs_like) {
  const size_t k = xf->meta.shape[1];
  const lsp_dtype dt = xf->meta.dtype;
  size_t rows = CHUNK_BYTES / xf->row_bytes;
  if (rows > CHUNK_ROWS) rows = CHUNK_ROWS;
  if (rows < 1) rows = 1;
  void *raw = malloc(rows * xf->row_bytes), *yraw = malloc(rows * yf->row_bytes);
  float *conv = dt == LSP_DT_F32 || dt == LSP_DT_F64 ? NULL : malloc(rows * k * sizeof *conv);
  int32_t *y = malloc(rows * sizeof *y);
  int st = LSP_OK;
  if (!raw || !yraw || !y || (dt != LSP_DT_F32 && dt != LSP_DT_F64 && !conv)) {
    st = lsp_fail(LSP_ENOMEM, "out of memory for a chunk of %zu rows", rows);
    goto done;
  }
  for (size_t i = r0; i < r1; i += rows) {
    size_t m = r1 - i < rows ? r1 - i : rows;
    if ((st = lsp_npy_rows_read(xf, i, m, raw)) || (st = lsp_npy_rows_read(yf, i, m, yraw)) ||
        (st = labels_of(yf, yraw, i, m, k, y)))
      goto done;
    const double *d = dt == LSP_DT_F64 ? raw : NULL;
    const float *f = dt == LSP_DT_F32 ? raw : conv;
    if (conv) to_f32(dt, raw, m * k, conv);
    if (logits && *probs_like) *probs_like = rows_look_like_probs(f, d, m, k);
    if (d)
      st = logits ? lsp_calib_acc_add_logits_f64(acc, d, y, m, i, 1.0, threads)
                  : lsp_calib_acc_add_probs_f64(acc, d, y, m, i, threads);
    else
      st = logits ? lsp_calib_acc_add_logits(acc, f, y, m, i, 1.0, threads)
                  : lsp_calib_acc_add_probs(acc, f, y, m, i, threads);
    if (st) { /* a non-finite value: the single process's message, with its column */
      lsp_array a = lsp_npy_rows_view(xf, raw, m);
      if (lsp_array_finite_from(&a, i, xf->path)) st = LSP_EDATA;
      else lsp_fail_prefix(st, xf->path);
      goto done;
    }
  }
done:
  free(raw);
  free(yraw);
  free(conv);
  free(y);
  return st;
}

/* The settings that change the result, as lines for lsp_mpi_same. */
static void settings_text(int logits, const lsp_calib_opts *o, char *buf, size_t cap) {
  char sigma[40] = "(fitted: sigma*)";
  if (o->smece_sigma > 0) lsp_shortest_g(o->smece_sigma, sigma, sizeof sigma);
  snprintf(buf, cap, "input %s\n--bins %d\n--edges %s\nbinning %d\n--smece-sigma %s\n",
           logits ? "--logits" : "--probs", o->bins, lsp_calib_edges_name(o->edges),
           (int)o->binning, sigma);
}

/* The input files as lines for lsp_mpi_same: shape and types, and a hash of
 * the first and last rows of predictions and labels (files, not pipes):
 * another file of the same shape almost always differs there. No path:
 * the ranks may see the files under different names. */
static int header_text(lsp_npy_rows *x, lsp_npy_rows *y, char *buf, size_t cap) {
  const size_t n = x->meta.shape[0];
  uint64_t h = LSP_FNV_INIT;
  int st = LSP_OK;
  if (!x->pipe && !y->pipe) {
    unsigned char *row = malloc(x->row_bytes + y->row_bytes);
    if (!row) return lsp_fail(LSP_ENOMEM, "out of memory");
    for (size_t k = 0; k < 2 && !st; k++) {
      size_t i = k ? n - 1 : 0;
      if (!(st = lsp_npy_rows_read(x, i, 1, row)) &&
          !(st = lsp_npy_rows_read(y, i, 1, row + x->row_bytes)))
        h = lsp_fnv1a(h, row, x->row_bytes + y->row_bytes);
    }
    free(row);
  }
  snprintf(buf, cap, "%zu rows\n%zu classes\n%s predictions\n%s labels\n"
           "first and last rows (hash) %016llx\n",
           n, x->meta.shape[1], lsp_dtype_name(x->meta.dtype), lsp_dtype_name(y->meta.dtype),
           (unsigned long long)h);
  return st;
}

/* Merge every rank's accumulator into rank 0's: in round s (1, 2, 4, ...)
 * rank r with r mod 2s = s sends to r - s and is done; r mod 2s = 0
 * receives from r + s. Exact sums, so the tree's shape does not matter. */
static int reduce_tree(lsp_calib_acc *acc) {
  const int rank = lsp_mpi_rank(), size = lsp_mpi_size();
  size_t len = lsp_mpi_calib_packed_len(acc);
  if (len > (size_t)0x7fffffff)
    return lsp_fail(LSP_EINVAL, "calibration accumulator too large to send (%zu words)", len);
  uint64_t *buf = malloc(len * sizeof *buf);
  lsp_calib_acc *scratch = lsp_calib_acc_alloc(acc->bins, acc->k, acc->edges, acc->what);
  int st = LSP_OK;
  if (!buf || !scratch) st = lsp_fail(LSP_ENOMEM, "out of memory for the reduction");
  /* every rank ready before any waits on another */
  if ((st = lsp_mpi_agree(st))) goto done;
  /* a rank whose receive failed still takes every message meant for it and
   * sends its own (a sender blocked on a large message would wait forever);
   * the failure is agreed on afterwards */
  for (int s = 1; s < size; s *= 2) {
    if (rank % (2 * s) == s) {
      lsp_mpi_calib_pack(acc, buf);
      if (MPI_Send(buf, (int)len, MPI_UINT64_T, rank - s, TAG_ACC, MPI_COMM_WORLD) && !st)
        st = lsp_fail(LSP_EIO, "rank %d: MPI_Send of the accumulator failed", rank);
      break;
    }
    if (rank % (2 * s) == 0 && rank + s < size) {
      MPI_Status ms;
      int got = -1, e = LSP_OK;
      if (MPI_Recv(buf, (int)len, MPI_UINT64_T, rank + s, TAG_ACC, MPI_COMM_WORLD, &ms))
        e = lsp_fail(LSP_EIO, "rank %d: MPI_Recv of rank %d's accumulator failed", rank,
                     rank + s);
      else if (MPI_Get_count(&ms, MPI_UINT64_T, &got) || got != (int)len)
        e = lsp_fail(LSP_EIO, "rank %d: rank %d's accumulator has %d words, not %zu", rank,
                     rank + s, got, len);
      else if (!st)
        e = lsp_mpi_calib_merge_packed(acc, scratch, buf);
      if (!st) st = e;
    }
  }
done:
  free(buf);
  lsp_calib_acc_free(scratch);
  return st;
}

/* A pipe cannot be split over several ranks: mpirun gives standard input
 * to rank 0 alone, and a shell's <(…) is a descriptor of the shell that
 * started mpirun. */
static int not_a_pipe(const char *path, int pipe) {
  if (lsp_mpi_size() == 1 || (!pipe && strcmp(path, "-") != 0 && strcmp(path, "/dev/stdin") != 0 &&
      strncmp(path, "/dev/fd/", 8) != 0 && strncmp(path, "/proc/self/fd/", 14) != 0))
    return LSP_OK;
  return lsp_fail(LSP_EINVAL, "%s: standard input or a pipe cannot be split over MPI ranks, "
                              "which read their rows of a file by offset; save the array to a "
                              "file every rank can read", path);
}

int lsp_mpi_calib_stream(const char *xpath, const char *ypath, int logits, const char *advice,
                         const lsp_calib_opts *o, int threads, lsp_calib_result *res) {
  memset(res, 0, sizeof *res);
  lsp_npy_rows xf = {.fd = -1}, yf = {.fd = -1};
  lsp_calib_acc *acc = NULL;
  char text[512];
  /* every rank scores with the same settings ... */
  settings_text(logits, o, text, sizeof text);
  int st = lsp_mpi_same(LSP_OK, LSP_EINVAL, "the options", text);
  if (st) goto done;
  if (!(st = not_a_pipe(xpath, 0))) st = not_a_pipe(ypath, 0);
  if ((st = lsp_mpi_agree(st))) goto done;
  if (!(st = lsp_npy_rows_open(xpath, &xf))) st = lsp_npy_rows_open(ypath, &yf);
  if (!st && !(st = not_a_pipe(xpath, xf.pipe))) st = not_a_pipe(ypath, yf.pipe);
  if (!st) st = check_shapes(&xf, &yf);
  /* ... and reads files of the same shape, type and first and last rows */
  if (!st) st = header_text(&xf, &yf, text, sizeof text);
  if ((st = lsp_mpi_same(st, LSP_EDATA, "the input files", text))) goto done;
  const size_t n = xf.meta.shape[0], k = xf.meta.shape[1];
  const size_t rank = (size_t)lsp_mpi_rank(), size = (size_t)lsp_mpi_size();
  /* N·r/P without overflow for any N < 2^64 / P */
  const size_t r0 = n / size * rank + n % size * rank / size;
  const size_t r1 = n / size * (rank + 1) + n % size * (rank + 1) / size;
  int probs_like = 1;
  if (!(acc = lsp_calib_acc_alloc(o->bins, k, o->edges, LSP_CALIB_FULL)))
    st = LSP_ENOMEM;
  else
    acc->smece_sigma = o->smece_sigma; /* as the single process sets it */
  if (!st) st = score_range(&xf, &yf, logits, r0, r1, threads, acc, &probs_like);
  if ((st = lsp_mpi_agree(st))) goto done;
  if (logits) {
    int all = 0;
    if (MPI_Allreduce(&probs_like, &all, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD)) {
      st = lsp_fail(LSP_EIO, "rank %zu: MPI_Allreduce failed", rank);
      goto done;
    }
    if (all) {
      st = lsp_fail(LSP_EDATA,
                    "%s: every row lies in [0, 1] and sums to 1: these look like "
                    "probabilities, not logits%s%s",
                    xpath, advice ? "; " : "", advice ? advice : "");
      goto done;
    }
  }
  if ((st = lsp_mpi_agree(reduce_tree(acc)))) goto done;
  if (rank == 0 && (st = lsp_calib_acc_finalize(acc, res))) lsp_fail_prefix(st, xpath);
done:
  lsp_calib_acc_free(acc);
  lsp_npy_rows_close(&xf);
  lsp_npy_rows_close(&yf);
  return st;
}
