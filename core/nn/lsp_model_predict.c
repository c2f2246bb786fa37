/* lsp_model_predict.c — logits and features of a whole array, in batches.
 *
 * The batches depend on the model and the caller's batch size
 * alone (`batch` rows, fewer when a batch's activations would pass
 * PREDICT_BUDGET). With lsprobe's thread count above one and OpenBLAS at
 * one thread, a team of threads takes the batches in turn, each thread with
 * its own workspace; a batch is computed the same way whichever thread
 * takes it, so the logits are the same bits for every thread count. With
 * OpenBLAS at several threads the batches stay serial and OpenBLAS splits
 * each GEMM instead (its sums, and so the logits, can then differ in the
 * last bits between OpenBLAS thread counts).
 *
 * Every batch has the same number of rows: a last batch that is short is
 * computed as a whole batch, its rows after the array's end copies of the
 * array's last row (an input the model takes, as zeros need not be), and
 * only its own rows are kept. OpenBLAS rounds a row's sums differently
 * for different row counts (measured on this build: a 784×256 product
 * differs in some element between 1024 rows and 938 of the 1023 shorter
 * counts), so without this an example's logits would depend on how many
 * examples came with it: `eval --max-test 2000` would differ from the
 * first 2000 of the whole test set in the last batch's rows. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "core/base/lsp_pool.h"
#include "core/base/lsp_threads.h"
#include "core/nn/lsp_model.h"

#define PREDICT_BUDGET ((size_t)64 << 20)
/* the team's workspaces together stay under this */
#define TEAM_BUDGET ((size_t)512 << 20)

typedef struct {
  const lsp_model *m;
  const float *x;
  size_t n, batch;
  const float *last; /* the short last batch, padded, or NULL */
  float *logits, *features;
  atomic_size_t next;
  atomic_int st;
  char msg[1024];
} predict_job;

static void fail_job(predict_job *j, int st) {
  int zero = 0;
  if (atomic_compare_exchange_strong(&j->st, &zero, st))
    snprintf(j->msg, sizeof j->msg, "%s", lsp_errmsg());
}

static void predict_main(void *arg, int t, int nt) {
  (void)t, (void)nt;
  predict_job *j = arg;
  const lsp_model *m = j->m;
  lsp_model_ws *ws = lsp_model_ws_alloc(m, j->batch);
  if (!ws) {
    fail_job(j, LSP_ENOMEM);
    return;
  }
  size_t k = m->out_dim, h = lsp_model_feature_dim(m);
  for (;;) {
    size_t i0 = atomic_fetch_add(&j->next, 1) * j->batch;
    if (i0 >= j->n || atomic_load(&j->st)) break;
    if (lsp_interrupted()) {
      fail_job(j, lsp_fail(LSP_EINTR, "interrupted"));
      break;
    }
    size_t nb = j->n - i0 < j->batch ? j->n - i0 : j->batch;
    const float *z, *f;
    const float *xb = nb < j->batch ? j->last : j->x + i0 * m->in_dim;
    int st = lsp_model_forward(m, ws, xb, j->batch, &z, &f);
    if (st) {
      fail_job(j, st);
      break;
    }
    memcpy(j->logits + i0 * k, z, nb * k * sizeof(float));
    if (j->features) memcpy(j->features + i0 * h, f, nb * h * sizeof(float));
  }
  lsp_model_ws_free(ws);
}

int lsp_model_predict(const lsp_model *m, const float *x, size_t n,
                      size_t batch, float *logits, float *features) {
  if (n == 0) return lsp_fail(LSP_EDATA, "no examples to predict");
  if (batch == 0) batch = 1024;
  size_t per_row = lsp_model_ws_bytes_per_row(m);
  size_t fit = per_row ? PREDICT_BUDGET / per_row : batch;
  if (batch > fit) batch = fit ? fit : 1;
  size_t tail = n % batch;
  float *last = NULL;
  if (tail) {
    const size_t row = m->in_dim * sizeof *last;
    last = malloc(batch * row);
    if (!last) return lsp_fail(LSP_ENOMEM, "out of memory (a batch of %zu rows)", batch);
    memcpy(last, x + (n - tail) * m->in_dim, tail * row);
    for (size_t i = tail; i < batch; i++) memcpy((char *)last + i * row, x + (n - 1) * m->in_dim, row);
  }
  predict_job j = {.m = m,
                   .x = x,
                   .n = n,
                   .batch = batch,
                   .last = last,
                   .logits = logits,
                   .features = features};
  atomic_init(&j.next, 0);
  atomic_init(&j.st, 0);
  size_t nbatch = (n + batch - 1) / batch,
         ws_bytes = batch * (per_row ? per_row : 1);
  size_t most = TEAM_BUDGET / ws_bytes;
  int nt = lsp_threads_get();
  if ((size_t)nt > nbatch) nt = (int)nbatch;
  if ((size_t)nt > most) nt = most > 1 ? (int)most : 1;
  lsp_pool *pool = NULL;
  if (nt > 1 && lsp_threads_get_blas() == 1) pool = lsp_pool_alloc(nt);
  if (pool) {
    lsp_pool_run(pool, predict_main, &j);
    lsp_pool_free(pool);
  } else {
    predict_main(&j, 0, 1);
  }
  free(last);
  int st = atomic_load(&j.st);
  return st ? lsp_fail(st, "%s", j.msg) : LSP_OK;
}
