/* lsprobe calib — calibration metrics of saved logits or probabilities. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/lsp_calib.h"
#include "cli/cli.h"
#include "core/base/lsp_error.h"
#include "core/formats/lsp_arraycheck.h"
#include "core/formats/lsp_json.h"
#include "core/formats/lsp_npy.h"
#include "core/formats/lsp_npy_rows.h"
#include "core/base/lsp_threads.h"
#include "core/base/lsp_util.h"
#ifdef LSP_MPI
#include "mpi/lsp_mpi.h"
#include "mpi/lsp_mpi_calib.h"
#endif

/* OpenBLAS starts its worker threads in its constructor, before main;
 * idle, they spin (sched_yield) — through the whole of a run of `calib
 * --stream` on 80 MB — taking a core from whatever else runs. calib multiplies no
 * matrices: with one thread it stops them (OpenBLAS's own shutdown, the
 * one it uses around fork; a later BLAS call would start them again).
 * Weak: absent from other BLAS libraries, then nothing is done. */
int blas_thread_shutdown_(void) __attribute__((weak));

/* Rows per chunk of --stream: about 1.5 MB of predictions, from 128 to
 * 2^20 rows (128: each call's fixed work grows with K, as a row's does;
 * at K = 20000, 16-row chunks took 1.7× the time of 128, 1024-row ones
 * the same time in 2.6× the memory). The chunk is read (pread) into one reused buffer, which stays
 * in the cache for the pass: on the test machine (a virtual machine whose
 * every first touch of a freshly mapped page is costly) reading the 80 MB
 * file so took 19 ms of CPU against 50–60 ms through a mapping (sum of the
 * words, 1 MB chunks into 4 KB pages; 2 MB: 24 ms, 4 MB: 34 ms). A file
 * just written is mapped by the kernel in 2 MB folios, cheaply: there the
 * whole run gains 5%, on a file cached for an hour 37% (DESIGN §2). With
 * the buffer in a huge page (lsp_alloc_huge: pread's copy and the pass
 * walk one page table entry per 2 MB; reading the 80 MB file through a
 * 1 MB buffer took 24 ms of CPU instead of 31) whole `calib --stream`
 * runs took 2–3% less CPU with 1.5 MB chunks than with 1 MB (0.75 MB: 1–2%
 * more, 2 MB: 1–2% less), each call's fixed work (flushing and merging the
 * 4097-node mesh) then spread over more rows; at K = 10, float32, 1.5 MB
 * and its labels (as int64 and int32) just fill one 2 MB page. */
static size_t stream_chunk(size_t k, size_t elem) {
  size_t r = ((size_t)3 << 19) / (k * elem);
  return r < 128 ? 128 : r > ((size_t)1 << 20) ? (size_t)1 << 20 : r;
}

/* An N×K matrix of logits or probabilities as stored: float64 stays double
 * (binned without rounding through float32, so 0.2 stays on its bin edge),
 * any other dtype becomes a float32 view. */
typedef struct {
  lsp_array a;
  const float *f;  /* float32 view, NULL for float64 data */
  const double *d; /* the float64 data, else NULL */
  float *own;      /* owned float32 copy, or NULL */
  size_t n, k;
} preds;

static void preds_release(preds *p) {
  free(p->own);
  lsp_array_release(&p->a);
}

/* The shape checks of N×K predictions (K >= 2, N >= 1). */
static int check_preds(const lsp_array *a, const char *path) {
  if (a->ndim != 2)
    return lsp_fail(LSP_EDATA, "%s: expected a 2-D array (rows x columns), got %d dimensions",
                    path, a->ndim);
  if (a->shape[0] == 0 || a->shape[1] == 0)
    return lsp_fail(LSP_EDATA, "%s: empty array (%zu x %zu)", path, a->shape[0], a->shape[1]);
  if (a->shape[1] < 2)
    return lsp_fail(LSP_EDATA, "%s: need at least 2 classes (K = %zu)", path, a->shape[1]);
  return LSP_OK;
}

/* Read `path` as N×K predictions (K >= 2, N >= 1, finite). With `advice`
 * (logits expected), a matrix that looks like probabilities (every row in
 * [0, 1] summing to 1) is refused with that advice. */
static int read_preds(const char *path, const char *advice, preds *p) {
  int st = lsp_npy_read(path, &p->a);
  if (st || (st = check_preds(&p->a, path))) return st;
  p->n = p->a.shape[0];
  p->k = p->a.shape[1];
  if (p->a.dtype == LSP_DT_F64) {
    if ((st = lsp_array_finite(&p->a, path))) return st;
    p->d = p->a.data;
  } else if ((st = lsp_array_f32(&p->a, path, 1, &p->f, &p->own))) {
    return st;
  }
  return advice ? lsp_array_not_probs(&p->a, path, advice) : LSP_OK;
}

/* Read predictions and their N labels, checking that they agree; with
 * like (NULL: none) the predictions must have like's class count, checked
 * before the labels (whose range follows from it). */
static int read_pair(const char *xpath, const char *ypath, const char *advice,
                     const preds *like, const char *like_path, preds *x, lsp_array *ya,
                     int32_t **y) {
  int st = read_preds(xpath, advice, x);
  if (st) return st;
  if (like && x->k != like->k)
    return lsp_fail(LSP_EDATA, "%s has %zu classes but %s has %zu", xpath, x->k, like_path,
                    like->k);
  if ((st = lsp_npy_read(ypath, ya))) return st;
  if (ya->count != x->n && !lsp_array_is_onehot(ya))
    return lsp_fail(LSP_EDATA, "%s has %zu labels but %s has %zu rows", ypath, ya->count,
                    xpath, x->n);
  return lsp_array_labels(ya, ypath, (int)x->k, y);
}

/* The per-row table of predictions at 1/T. */
static int rows_of(const preds *x, const int32_t *y, int logits, double inv_t, const char *path,
                   lsp_calib_rows **out) {
  if (!logits)
    return x->d ? lsp_calib_rows_from_probs_f64(x->d, y, x->n, x->k, path, out)
                : lsp_calib_rows_from_probs(x->f, y, x->n, x->k, path, out);
  return x->d ? lsp_calib_rows_from_logits_f64(x->d, y, x->n, x->k, inv_t, path, out)
              : lsp_calib_rows_from_logits(x->f, y, x->n, x->k, inv_t, path, out);
}

/* Score predictions at temperature t (1: as given) with the optional
 * bootstrap into res: without a bootstrap straight from the predictions
 * (lsp_calib_score), with one through the per-row table. */
static int score(const preds *x, const int32_t *y, int logits, double t,
                 const lsp_calib_opts *o, const lsp_calib_boot *boot, int threads,
                 const char *path, lsp_calib_result *res) {
  if (!boot) { /* no table needed: one pass and ACE by selection */
    int st = lsp_calib_score(x->f, x->d, y, x->n, x->k, logits, 1.0 / t, o, threads, path, res);
    if (!st) res->temperature = t;
    return st;
  }
  lsp_calib_rows *rows = NULL;
  int st = rows_of(x, y, logits, 1.0 / t, path, &rows);
  if (!st) st = lsp_calib_rows_score(rows, o, res);
  if (!st && boot) st = lsp_calib_bootstrap(rows, o, boot, res);
  if (!st) res->temperature = t;
  lsp_calib_rows_free(rows);
  return st;
}

/* Labels [i0, i0+m) of a label file (any .npy integer or integral float
 * dtype), read into raw, as int32 into out, checked against [0, k);
 * messages use the global index. */
static int labels_chunk(lsp_dtype dt, const void *raw, const char *path, size_t i0, size_t m,
                        size_t k, int32_t *out) {
  /* one loop per dtype (the switch outside the loop); integer labels are
   * range-checked as integers, in a loop without a branch a label (the
   * message's loop runs only on a bad chunk) */
#define LABELS_OF(T)                                                                    \
  for (size_t i = 0; i < m; i++) {                                                      \
    const double v = (double)((const T *)raw)[i];                                       \
    if (!(v >= 0.0 && v < (double)k && v == floor(v)))                                  \
      return isfinite(v) && v == floor(v)                                               \
                 ? lsp_fail(LSP_EDATA, "%s: label %.0f at index %zu is out of range "   \
                                       "[0, %zu)", path, v, i0 + i, k)                   \
                 : lsp_fail(LSP_EDATA, "%s: label %g at index %zu is not an integer",   \
                            path, v, i0 + i);                                           \
    out[i] = (int32_t)v;                                                                \
  }                                                                                     \
  break;
#define INT_LABELS_OF(T)                                    \
  {                                                         \
    const T *src = (const T *)raw;                          \
    int bad = 0;                                            \
    for (size_t i = 0; i < m; i++) {                        \
      bad |= (uint64_t)(int64_t)src[i] >= (uint64_t)k;      \
      out[i] = (int32_t)src[i];                             \
    }                                                       \
    if (!bad) break;                                        \
  }                                                         \
  LABELS_OF(T)
  switch (dt) {
    case LSP_DT_F32:
      LABELS_OF(float)
    case LSP_DT_F64:
      LABELS_OF(double)
    case LSP_DT_I32:
      INT_LABELS_OF(int32_t)
    case LSP_DT_I64:
      INT_LABELS_OF(int64_t)
    default:
      INT_LABELS_OF(uint8_t)
  }
#undef INT_LABELS_OF
#undef LABELS_OF
  return LSP_OK;
}

/* Integer predictions become float32 as lsp_array_f32 converts them. */
static void chunk_f32(lsp_dtype dt, const void *raw, size_t n, float *out) {
  for (size_t i = 0; i < n; i++) switch (dt) {
      case LSP_DT_I32: out[i] = (float)((const int32_t *)raw)[i]; break;
      case LSP_DT_I64: out[i] = (float)((const int64_t *)raw)[i]; break;
      default: out[i] = (float)((const uint8_t *)raw)[i]; break;
    }
}

/* lsp_array_not_probs over a prediction file read chunk by chunk: done at
 * the first row that is not a distribution (usually row 0, in a first
 * small read of 64 rows; then the first chunk, [0, rows), and the next
 * ones). A pipe keeps only its last range read, so it is read here no
 * further than the first chunk, which the pass takes from what was kept:
 * if every row of that chunk looks like a probability distribution and
 * more rows follow, *undecided is set and the pass finishes the check
 * (pipe_rest_probs). */
static int stream_not_probs(lsp_npy_rows *xf, void *raw, size_t rows, const char *advice,
                            int *undecided) {
  const size_t n = xf->meta.shape[0];
  size_t i = 0, m = rows < 64 ? rows : 64;
  *undecided = 0;
  for (;;) {
    if (m > n - i) m = n - i;
    int st = lsp_npy_rows_read(xf, i, m, raw);
    if (st) return st;
    lsp_array a = lsp_npy_rows_view(xf, raw, m);
    if (!(st = lsp_array_not_probs(&a, xf->path, advice))) return LSP_OK;
    if (i + m == n) return st; /* every row is a distribution */
    if (m < rows) {            /* the first chunk whole (its 64 rows again) */
      m = rows;
      continue;
    }
    if (xf->pipe) {
      *undecided = 1;
      return LSP_OK;
    }
    i += m;
  }
}

/* A pipe's chunk of m rows in raw was refused (st) while every row so far,
 * this chunk's too, looked like a probability distribution: if the rows
 * after it do as well, the in-memory path's refusal (probabilities passed
 * as logits, checked before the labels and the pass) is the one to give. */
static int pipe_rest_probs(lsp_npy_rows *xf, void *raw, size_t m, size_t rows,
                           const char *advice, int st) {
  const size_t n = xf->meta.shape[0];
  for (size_t i = xf->next; i < n; i += rows) {
    lsp_array a = lsp_npy_rows_view(xf, raw, n - i < rows ? n - i : rows);
    int r = lsp_npy_rows_read(xf, i, a.shape[0], raw);
    if (r) return r; /* as reading it whole would */
    if (!lsp_array_is_probs(&a)) return st;
    m = a.shape[0];
  }
  lsp_array a = lsp_npy_rows_view(xf, raw, m);
  return lsp_array_not_probs(&a, xf->path, advice);
}

/* Every row of an open pipe into *a (a pipe cannot be opened again; its
 * rows are kept, so the pass reads them once more from memory). */
static int whole_rows(lsp_npy_rows *f, lsp_array *a) {
  *a = f->meta;
  const size_t rows = a->ndim > 0 ? a->shape[0] : 1;
  const size_t bytes = rows * f->row_bytes;
  if (!(a->heap = malloc(bytes > 0 ? bytes : 1))) {
    memset(a, 0, sizeof *a);
    return lsp_fail(LSP_ENOMEM, "%s: out of memory", f->path);
  }
  a->data = a->heap;
  return lsp_npy_rows_read(f, 0, rows, a->heap);
}

/* The predictions and labels read chunk by chunk (lsp_npy_rows, into one
 * buffer reused for every chunk) and scored by lsp_calib_scorer: memory
 * does not grow with the predictions (ordered = 0: --stream, no per-row
 * data) or grows by 9 bytes a row (ordered = 1: the default, with ACE and
 * ECE-sweep; the same result as reading the whole matrix, without the
 * matrix in memory). float32 and float64 kept as stored, integer dtypes
 * converted to float32 as lsp_array_f32 does. The checks and messages (in
 * their order) of the in-memory path; a bad row is reported by the chunk's
 * pass, a non-finite value by the in-memory check's message, before the
 * chunk's labels. */
static int chunked_score(const char *xpath, const char *ypath, int logits, const char *advice,
                         const lsp_calib_opts *o, int threads, int ordered,
                         lsp_calib_result *res) {
  lsp_npy_rows xf = {.fd = -1}, yf = {.fd = -1};
  lsp_array ya = {0};
  lsp_calib_scorer *sc = NULL;
  void *raw = NULL, *yraw = NULL;
  float *conv = NULL;
  int32_t *y = NULL;
  int st = lsp_npy_rows_open(xpath, &xf);
  if (st || (st = check_preds(&xf.meta, xpath))) goto done;
  const size_t n = xf.meta.shape[0], k = xf.meta.shape[1];
  const lsp_dtype dt = xf.meta.dtype;
  const int f64 = dt == LSP_DT_F64, f32 = dt == LSP_DT_F32;
  const size_t rows = stream_chunk(k, f64 ? sizeof(double) : sizeof(float));
  /* one buffer: the chunk's predictions, its labels as stored (at most 8
   * bytes each) and as int32 (2.04 MB at K = 10, float32: one huge page),
   * each part 64-byte aligned */
  const size_t xbytes = (rows * xf.row_bytes + 63) / 64 * 64, ybytes = (rows * 8 + 63) / 64 * 64;
  if (!(raw = lsp_alloc_huge(xbytes + ybytes + rows * sizeof *y)) ||
      (!f64 && !f32 && !(conv = malloc(rows * k * sizeof *conv)))) {
    st = lsp_fail(LSP_ENOMEM, "out of memory for a chunk of %zu rows", rows);
    goto done;
  }
  yraw = (char *)raw + xbytes;
  y = (int32_t *)(void *)((char *)yraw + ybytes);
  int undecided = 0; /* a pipe whose first chunk looks like probabilities */
  if (advice && (st = stream_not_probs(&xf, raw, rows, advice, &undecided))) goto done;
  if ((st = lsp_npy_rows_open(ypath, &yf))) goto done;
  const lsp_array *ym = &yf.meta;
  if (ym->ndim == 2 && ym->shape[1] >= 2) { /* perhaps one-hot: lsp_array_labels's message */
    st = yf.pipe ? whole_rows(&yf, &ya) : lsp_npy_read(ypath, &ya);
    if (!st && lsp_array_is_onehot(&ya)) {
      int32_t *none = NULL;
      st = lsp_array_labels(&ya, ypath, (int)k, &none);
      free(none);
      goto done;
    }
  }
  if (st) goto done;
  if (ym->count != n) {
    st = lsp_fail(LSP_EDATA, "%s has %zu labels but %s has %zu rows", ypath, ym->count, xpath,
                  n);
    goto done;
  }
  if (!(ym->ndim == 1 || (ym->ndim == 2 && ym->shape[1] == 1))) {
    st = lsp_fail(LSP_EDATA, "%s: labels must be a 1-D array of class indices (got %d dimensions)",
                  ypath, ym->ndim);
    goto done;
  }
  if ((st = lsp_calib_scorer_alloc(n, k, o, ordered, &sc))) {
    if (st == LSP_ENOMEM && ordered)
      lsp_fail(st, "%s: out of memory for %zu rows (ACE and ECE-sweep keep 9 bytes a row; "
                   "--stream keeps none)", xpath, n);
    else
      lsp_fail_prefix(st, xpath);
    goto done;
  }
  for (size_t i = 0; i < n; i += rows) {
    const size_t m = n - i < rows ? n - i : rows;
    if ((st = lsp_npy_rows_read(&xf, i, m, raw))) goto done;
    if (undecided && i > 0) { /* the first chunk was checked */
      const lsp_array a = lsp_npy_rows_view(&xf, raw, m);
      undecided = lsp_array_is_probs(&a);
    }
    if ((st = lsp_npy_rows_read(&yf, i, m, yraw))) {
      if (undecided) st = pipe_rest_probs(&xf, raw, m, rows, advice, st);
      goto done;
    }
    if (!(st = labels_chunk(ym->dtype, yraw, ypath, i, m, k, y))) {
      if (conv) chunk_f32(dt, raw, m * k, conv);
      st = f64 ? lsp_calib_scorer_add(sc, NULL, raw, y, m, logits, 1.0, threads)
               : lsp_calib_scorer_add(sc, conv ? conv : raw, NULL, y, m, logits, 1.0, threads);
      if (st) lsp_fail_prefix(st, xpath);
    }
    /* a refused chunk (a bad label or a row the pass refuses): a non-finite
     * value in it is what the in-memory path reports, its check running
     * before the labels and the pass — searched for only then, as every
     * non-finite row makes the pass refuse its chunk */
    if (st) { /* the in-memory path's message (lsp_array_f32), its row in the file */
      const lsp_array a = lsp_npy_rows_view(&xf, raw, m);
      if (lsp_array_finite_from(&a, i, xpath)) st = LSP_EDATA;
      else if (undecided) st = pipe_rest_probs(&xf, raw, m, rows, advice, st);
      goto done;
    }
    if (undecided && i + m == n) { /* every row of the pipe is a distribution */
      const lsp_array a = lsp_npy_rows_view(&xf, raw, m);
      st = lsp_array_not_probs(&a, xpath, advice);
      goto done;
    }
  }
  if ((st = lsp_calib_scorer_finish(sc, res))) lsp_fail_prefix(st, xpath);
  else if (ordered) res->temperature = 1.0;
done:
  lsp_calib_scorer_free(sc);
  free(raw);
  free(conv);
  lsp_array_release(&ya);
  lsp_npy_rows_close(&xf);
  lsp_npy_rows_close(&yf);
  return st;
}

static void print_table(const char *input, const lsp_calib_result *b,
                        const lsp_calib_result *a) {
  printf("calibration of %s: N=%zu, K=%zu, %d bins (%s edges)\n", input, b->n, b->k, b->bins,
         lsp_calib_edges_name(b->edges));
  if (b->has_ci) {
    printf("95%% intervals: %d bootstrap resamples, seed %llu; percentile", b->resamples,
           (unsigned long long)b->seed);
    if (b->ci == LSP_CALIB_CI_INVERSION)
      printf(", except the calibration\nerrors marked *: test inversion (bias-corrected, "
             "DESIGN §2)");
    printf("\n");
  }
  printf("\n%-18s %10s", "metric", "value");
  if (b->has_ci) printf("  %-23s", "95% CI");
  if (a) printf(" %10s", "at T");
  if (a && a->has_ci) printf("  %-23s", "95% CI");
  printf("\n");
  for (int m = 0; m < LSP_CALIB_NMETRIC; m++) {
    if (!b->has[m]) continue;
    int inv = lsp_calib_result_inverted(b, m);
    char name[32];
    snprintf(name, sizeof name, "%s%s", lsp_calib_metric_name(m), inv ? " *" : "");
    printf("%-18s %10.6f", name, b->value[m]);
    if (b->has_ci) printf("  [%9.6f, %9.6f]", b->ci_lo[m], b->ci_hi[m]);
    if (a) printf(" %10.6f", a->value[m]);
    if (a && a->has_ci) printf("  [%9.6f, %9.6f]", a->ci_lo[m], a->ci_hi[m]);
    printf("\n");
  }
  if (a) printf("%-18s %10.6f %10.6f\n", "temperature", 1.0, a->temperature);
  if (b->sweep_bins > 0) {
    printf("%-18s %10d", "ece_sweep_bins", b->sweep_bins);
    if (a) printf(" %10d", a->sweep_bins);
    printf("\n");
  }
  if (b->nll_infinite)
    printf("warning: a true-class probability is exactly 0, so the NLL is infinite\n");
  printf("\n%s bins (%s):\n%5s %8s %12s %10s\n",
         b->binning == LSP_CALIB_BINNING_MASS ? "equal-mass" : "equal-width",
         a ? "before temperature scaling" : "reliability diagram", "bin", "count",
         "confidence", "accuracy");
  for (int i = 0; i < b->bins; i++)
    if (b->bin_count[i])
      printf("%5d %8llu %12.6f %10.6f\n", i + 1, (unsigned long long)b->bin_count[i],
             b->bin_conf[i], b->bin_acc[i]);
    else
      printf("%5d %8d %12s %10s\n", i + 1, 0, "-", "-");
}

int cmd_calib(int argc, char **argv) {
  const char *cmd = "calib";
  cli_opt opts[] = {
      {"logits", "L.npy", "N×K logits (float64 kept in double)", 1, 0, 0},
      {"probs", "P.npy", "N×K probabilities, rows summing to 1 within 1e-3 (float64 kept)", 1, 0, 0},
      {"labels", "y.npy", "N integer labels in [0, K), required", 1, 0, 0},
      {"bins", "M", "number of bins, >= 1 (default 15)", 1, 0, 0},
      {"binning", "B", "bins reported per bin: width (default) or mass (ACE's)", 1, 0, 0},
      {"edges", "E", "right (default: ((m-1)/M, m/M]) or left ([a, b))", 1, 0, 0},
      {"fit-temperature", "VL.npy Vy.npy",
       "fit T on validation logits + labels, report both", 2, 0, 0},
      {"bootstrap", "R", "95% bootstrap intervals from R resamples (e.g. 1000)", 1, 0, 0},
      {"ci", "KIND", "intervals of the calibration errors: inversion (default, bias-"
                     "corrected) or percentile", 1, 0, 0},
      {"smece-sigma", "S", "SmoothECE at bandwidth S in [0.001, 1] (default: its fixed "
                           "point sigma*)", 1, 0, 0},
      {"seed", "S", "bootstrap seed (default 1)", 1, 0, 0},
      {"stream", NULL,
       "constant memory, float32/float64 kept, nothing kept per row (no ACE, ECE-sweep, CIs or "
       "--fit-temperature); under "
       "mpirun (MPI build) the ranks split the rows",
       0, 0, 0},
      {"threads", "T", "threads (default 1; 0: all cores)", 1, 0, 0},
      {"json", NULL, "print one JSON object (DESIGN §4 names)", 0, 0, 0},
      {NULL, NULL, NULL, 0, 0, 0}};
  int rc = cli_parse(cmd, "(--logits L.npy | --probs P.npy) --labels y.npy [options]",
                     "Calibration of saved predictions: accuracy, NLL, Brier, ECE, MCE,\n"
                     "RMSCE, ACE, classwise ECE, over/under-confidence, the debiased ECEs\n"
                     "(l1 and l2, Kumar et al. 2019), ECE-sweep (Roelofs et al. 2022),\n"
                     "SmoothECE (Blasiok & Nakkiran 2023) and the per-bin reliability\n"
                     "table; optional temperature scaling and bootstrap intervals.\n"
                     "Any .npy may come through a pipe, read once, front to back:\n"
                     "--logits <(python dump.py), or - (standard input).",
                     argc, argv, opts);
  if (rc) return rc;
  int has_l = cli_has(opts, "logits"), has_p = cli_has(opts, "probs");
  if (has_l == has_p)
    return cli_error(cmd, CLI_USAGE, "give exactly one of --logits and --probs");
  static const char *const ins[] = {"logits", "probs", "labels", NULL};
  if ((rc = cli_require(cmd, opts, "labels")) || (rc = cli_stdin_once(cmd, opts, ins)))
    return rc;
  long bins, boot, seed, threads;
  double smsig;
  lsp_calib_opts o = lsp_calib_opts_default();
  lsp_calib_ci ci = LSP_CALIB_CI_INVERSION;
  if ((rc = cli_get_long(cmd, opts, "bins", 15, 1, 1000000, &bins)) ||
      (rc = cli_get_long(cmd, opts, "bootstrap", 0, 1, 10000000, &boot)) ||
      (rc = cli_get_long(cmd, opts, "seed", 1, 0, 4294967295L, &seed)) ||
      (rc = cli_get_long(cmd, opts, "threads", 1, 0, 1024, &threads)) ||
      (rc = cli_get_double(cmd, opts, "smece-sigma", 0.0, LSP_SMECE_SIGMA_MIN, 1.0, &smsig)))
    return rc;
  if (!boot && (cli_has(opts, "ci") || cli_has(opts, "seed")))
    return cli_error(cmd, CLI_USAGE, "--%s goes with --bootstrap R (the intervals it sets)",
                     cli_has(opts, "ci") ? "ci" : "seed");
  cli_bootstrap_warn(cmd, boot);
  o.bins = (int)bins;
  o.smece_sigma = smsig;
  if (lsp_calib_ci_parse(cli_str(opts, "ci", "inversion"), &ci))
    return cli_error(cmd, CLI_USAGE, "--ci: %s", lsp_errmsg());
  if (lsp_calib_edges_parse(cli_str(opts, "edges", "right"), &o.edges))
    return cli_error(cmd, CLI_USAGE, "--edges: %s", lsp_errmsg());
  if (lsp_calib_binning_parse(cli_str(opts, "binning", "width"), &o.binning))
    return cli_error(cmd, CLI_USAGE, "--binning: %s", lsp_errmsg());
  int fit = cli_has(opts, "fit-temperature"), stream = cli_has(opts, "stream");
  if (fit && !has_l)
    return cli_error(cmd, CLI_USAGE, "--fit-temperature needs --logits (not --probs)");
  if (stream && (boot || o.binning == LSP_CALIB_BINNING_MASS || fit))
    return cli_error(cmd, CLI_USAGE,
                     "--stream computes no ACE: it excludes --bootstrap, --binning mass "
                     "and --fit-temperature");
#ifdef LSP_MPI
  if (lsp_mpi_active() && !stream)
    return cli_error(cmd, CLI_USAGE, "under mpirun only --stream is distributed; add --stream");
#endif
  /* under mpirun: every rank's options are checked; the ranks meet here,
   * before any collective call, and stop together if one stopped (cli.h) */
  if ((rc = cli_mpi_gate(cmd, CLI_OK))) return rc;
  cli_threads(threads, 0);
  threads = lsp_threads_get(); /* 0: every core (OMP_NUM_THREADS) */
  if (threads == 1 && blas_thread_shutdown_) blas_thread_shutdown_();
  lsp_calib_boot bs = {(int)boot, (uint64_t)seed, (int)threads, ci};

  const char *xpath = cli_str(opts, has_l ? "logits" : "probs", NULL);
  const char *ypath = cli_str(opts, "labels", NULL);
  const char *advice = has_l ? "pass them with --probs" : NULL;
  preds px, pv;
  memset(&px, 0, sizeof px);
  memset(&pv, 0, sizeof pv);
  lsp_array ya = {0}, vya = {0};
  int32_t *y = NULL, *vy = NULL;
  lsp_calib_result before, after;
  memset(&before, 0, sizeof before);
  memset(&after, 0, sizeof after);
  int st;
  int quiet = 0; /* an MPI rank other than 0: prints nothing */
#ifdef LSP_MPI
  if (lsp_mpi_active()) { /* started by mpirun/srun: DESIGN §10 */
    quiet = lsp_mpi_rank() != 0;
    if ((st = lsp_mpi_calib_stream(xpath, ypath, has_l, advice, &o, (int)threads, &before)))
      goto fail;
    if (quiet) {
      rc = 0;
      goto done;
    }
    goto print;
  }
#endif
  if (stream || (!boot && !fit)) { /* no matrix in memory: chunk by chunk */
    if ((st = chunked_score(xpath, ypath, has_l, advice, &o, (int)threads, !stream, &before)))
      goto fail;
    goto print;
  }
  if ((st = read_pair(xpath, ypath, advice, NULL, NULL, &px, &ya, &y))) goto fail;
  const size_t k = px.k;
  if (fit) {
    const char *vl = cli_find(opts, "fit-temperature")->value;
    const char *vyp = cli_find(opts, "fit-temperature")->value2;
    if ((st = read_pair(vl, vyp, "temperature scaling needs the validation logits", &px,
                        xpath, &pv, &vya, &vy)))
      goto fail;
    double t = 1.0;
    st = pv.d ? lsp_calib_temperature_fit_f64(pv.d, vy, pv.n, k, &t)
              : lsp_calib_temperature_fit(pv.f, vy, pv.n, k, &t);
    if (st) { /* the validation file is what could not be fitted */
      lsp_fail_prefix(st, vl);
      goto fail;
    }
    if ((st = score(&px, y, 1, 1.0, &o, boot ? &bs : NULL, (int)threads, xpath, &before)) ||
        (st = score(&px, y, 1, t, &o, boot ? &bs : NULL, (int)threads, xpath, &after)))
      goto fail;
  } else if ((st = score(&px, y, has_l, 1.0, &o, boot ? &bs : NULL, (int)threads, xpath,
                         &before))) {
    goto fail;
  }
print:
  if (cli_has(opts, "json")) {
    lsp_json j;
    lsp_json_init(&j, stdout, 1);
    lsp_json_obj_begin(&j);
    lsp_json_key_str(&j, has_l ? "logits" : "probs", xpath);
    lsp_json_key_str(&j, "labels", ypath);
    lsp_calib_result_json(&before, &j);
    if (fit) {
      lsp_json_key_str(&j, "temperature_fitted_on", cli_find(opts, "fit-temperature")->value);
      lsp_json_key(&j, "temperature_scaled");
      lsp_json_obj_begin(&j);
      lsp_calib_result_json(&after, &j);
      lsp_json_obj_end(&j);
    }
    lsp_json_obj_end(&j);
    if (lsp_json_finish(&j)) {
      st = lsp_fail(LSP_EIO, "could not write the JSON to stdout");
      goto fail;
    }
  } else {
    print_table(xpath, &before, fit ? &after : NULL);
  }
  rc = 0;
  goto done;
fail:
  if (quiet) /* rank 0 prints the one message */
    rc = st == LSP_EINTR ? CLI_INTR : st == LSP_EINVAL ? CLI_USAGE : CLI_DATA;
  else
    rc = cli_lib_error(cmd, st);
done:
  lsp_calib_result_release(&before);
  lsp_calib_result_release(&after);
  free(y);
  free(vy);
  preds_release(&px);
  preds_release(&pv);
  lsp_array_release(&ya);
  lsp_array_release(&vya);
  return rc;
}
