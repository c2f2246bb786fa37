/* lsp_mpi_calib.h — `lsprobe calib --stream` across MPI ranks (DESIGN §10).
 *
 * Rank r of P scores rows [⌊N·r/P⌋, ⌊N·(r+1)/P⌋) of the prediction file,
 * read by byte range (lsp_npy_rows.h) in chunks, into its own exact
 * calibration accumulator (lsp_calib.h: integer and 2^-64 fixed-point
 * sums). The accumulators are merged up a binary tree to rank 0; integer
 * sums are associative, so the result equals the single-process one bit for
 * bit for every P. */
#ifndef LSP_MPI_CALIB_H
#define LSP_MPI_CALIB_H

#include "analysis/lsp_calib.h"

/* Collective over MPI_COMM_WORLD (lsp_mpi_init first). `xpath` holds N×K
 * logits (logits = 1) or probabilities (float32/float64 kept in their
 * precision; integer dtypes become float32), `ypath` N integer labels.
 * `advice` (may be NULL) ends the message refusing logits that look like
 * probabilities. `threads` OpenMP threads per rank. On rank 0 `res` gets the
 * metrics (release with lsp_calib_result_release); on other ranks it is
 * left empty. Every rank returns the same status: a failure on any rank
 * (bad row, unreadable file) fails all, with the first failing rank's
 * message ("rank R: file: row i: ..."). */
int lsp_mpi_calib_stream(const char *xpath, const char *ypath, int logits, const char *advice,
                         const lsp_calib_opts *opts, int threads, lsp_calib_result *res);

/* The accumulator as a flat array of uint64 for sending (DESIGN §10):
 * n, n_correct, n_nll_inf, overflow, then count[M], correct[M], conf[M]
 * (lo, hi), nll (lo, hi), brier (lo, hi), nll_big[LSP_CALIB_NLL_BIG]
 * (lo, hi) and, for LSP_CALIB_FULL,
 * cw_count[K·M], cw_pos[K·M], cw_sum[K·M] (lo, hi), then SmoothECE's mesh
 * mesh_w, mesh_c, mesh_y [LSP_SMECE_NODES] (lo, hi) each. */
size_t lsp_mpi_calib_packed_len(const lsp_calib_acc *acc);
void lsp_mpi_calib_pack(const lsp_calib_acc *acc, uint64_t *out);
/* acc (same shape as the packed one) += the packed accumulator `in`. */
int lsp_mpi_calib_merge_packed(lsp_calib_acc *acc, lsp_calib_acc *scratch, const uint64_t *in);

#endif
