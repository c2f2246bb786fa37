/* bench_model — one model file's inference and FGSM step times, one thread.
 *
 *   OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \
 *     build/release/bench/bench_model --model FILE [--n 200] [--reps 3]
 *
 * Loads an .lspm or ONNX file, draws n inputs uniform in [0, 1] (fixed
 * seed), and times, the fastest of reps: the logits of the n inputs
 * (lsp_model_predict, batches of 64), and one FGSM step on them (eval-mode
 * forward, summed cross-entropy against labels i mod K, the input gradient,
 * x + 0.1·sign, clipped to [0, 1]; in batches of 64). Prints one JSON line
 * with the parameter count and both times in seconds (wall clock, and the
 * process's CPU seconds of the same run). bench/torch_mbv2_peer.py
 * times the same in PyTorch. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "benchutil.h"
#include "core/base/lsp_error.h"
#include "core/import/lsp_import.h"
#include "core/loss/lsp_loss.h"
#include "core/nn/lsp_model.h"

static const char USAGE[] = "usage: bench_model --model FILE [--n 200] [--reps 3]\n";

int main(int argc, char **argv) {
  const char *path = bench_arg_str(argc, argv, "--model", NULL);
  const size_t n = (size_t)bench_arg_long(argc, argv, "--n", 200);
  const int reps = bench_arg_int(argc, argv, "--reps", 3);
  bench_args_end(argc, argv, USAGE);
  bench_need(path != NULL, argv, "--model", "needed (bench_model --help)");
  bench_need(n > 0, argv, "--n", "at least 1");
  bench_need(reps >= 1, argv, "--reps", "at least 1");
  lsp_model *m = NULL;
  if (lsp_model_load(path, &m)) {
    fprintf(stderr, "bench_model: %s\n", lsp_errmsg());
    return 1;
  }
  const size_t D = m->in_dim, K = m->out_dim, B = 64;
  float *x = malloc(n * D * sizeof *x), *z = malloc(n * K * sizeof *z);
  float *dz = malloc(B * K * sizeof *dz), *g = malloc(B * D * sizeof *g);
  float *adv = malloc(n * D * sizeof *adv);
  int32_t *y = malloc(n * sizeof *y);
  lsp_model_ws *ws = lsp_model_ws_alloc(m, B);
  if (!x || !z || !dz || !g || !adv || !y || !ws) return 1;
  unsigned long s = 12345;
  for (size_t i = 0; i < n * D; i++) {
    s = s * 6364136223846793005UL + 1442695040888963407UL;
    x[i] = (float)((double)(s >> 11) * 0x1.0p-53);
  }
  for (size_t i = 0; i < n; i++) y[i] = (int32_t)(i % K);
  double best_fwd = INFINITY, best_fgsm = INFINITY, cpu_fwd = 0, cpu_fgsm = 0;
  for (int r = 0; r < reps; r++) {
    double t0 = bench_now(), c0 = bench_cpu_s();
    if (lsp_model_predict(m, x, n, B, z, NULL)) return 1;
    double t1 = bench_now(), c1 = bench_cpu_s();
    lsp_ls ce = {0.0, LSP_LS_UNIFORM, 0};
    for (size_t i0 = 0; i0 < n; i0 += B) {
      const size_t b = n - i0 < B ? n - i0 : B;
      const float *zz;
      if (lsp_model_forward(m, ws, x + i0 * D, b, &zz, NULL) ||
          lsp_loss_xent(zz, y + i0, b, K, &ce, dz, 1.0, NULL, NULL) ||
          lsp_model_backward(m, ws, dz, LSP_BACK_INPUT, g))
        return 1;
      for (size_t k = 0; k < b * D; k++) {
        float v = x[i0 * D + k] + (g[k] > 0 ? 0.1f : g[k] < 0 ? -0.1f : 0.0f);
        adv[i0 * D + k] = v < 0 ? 0 : v > 1 ? 1 : v;
      }
    }
    double t2 = bench_now(), c2 = bench_cpu_s();
    if (t1 - t0 < best_fwd) best_fwd = t1 - t0, cpu_fwd = c1 - c0;
    if (t2 - t1 < best_fgsm) best_fgsm = t2 - t1, cpu_fgsm = c2 - c1;
  }
  printf("{\"model\": \"%s\", \"params\": %zu, \"n\": %zu, \"logits_s\": %.3f, "
         "\"fgsm_step_s\": %.3f, \"logits_cpu_s\": %.3f, \"fgsm_cpu_s\": "
         "%.3f}\n",
         path, m->nparams, n, best_fwd, best_fgsm, cpu_fwd, cpu_fgsm);
  lsp_model_ws_free(ws);
  lsp_model_free(m);
  free(x), free(z), free(dz), free(g), free(adv), free(y);
  return 0;
}
