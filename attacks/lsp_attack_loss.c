/* lsp_attack_loss.c — the attack losses on a row of logits and their
 * gradients w.r.t. the logits: (label-smoothed) cross-entropy, margin, DLR
 * and targeted DLR (DESIGN §2), and the summed input gradient of a loss.
 * Everything is computed in double from the float32 logits. */
#include <math.h>
#include <stdlib.h>

#include "attacks/lsp_attack_int.h"
#include "core/base/lsp_error.h"
#include "core/base/lsp_util.h"

static int check_row(const float *zi, size_t k, size_t row) {
  for (size_t j = 0; j < k; j++)
    if (!isfinite(zi[j]))
      return lsp_fail(LSP_EDATA, "crafting: non-finite logit (%g) in batch row %zu",
                      (double)zi[j], row);
  return LSP_OK;
}

/* The (label-smoothed) cross-entropy of one row, logsumexp(z) − Σ q_j z_j,
 * and its gradient p − q (in double). The true-class entry is formed as
 * −Σ_{j≠y}(p_j − q_off) (the entries of a row sum to zero) instead of
 * p_y − q_y: on a saturated example p_y rounds to 1 and p_y − 1 would be 0
 * or one ulp, either way swamping the tiny terms that carry the true
 * direction. PyTorch's float path keeps the p_j but drops the true-class
 * term, so the two agree except on such examples. */
static void xent_row(const float *zi, size_t k, size_t y, double q_on,
                     double q_off, double *loss, double *d) {
  double m = -HUGE_VAL, s = 0.0, acc = 0.0, qz = 0.0;
  for (size_t j = 0; j < k; j++)
    if (zi[j] > m) m = zi[j];
  for (size_t j = 0; j < k; j++) {
    s += exp((double)zi[j] - m);
    qz += (j == y ? q_on : q_off) * ((double)zi[j] - m);
  }
  if (loss) *loss = log(s) - qz; /* Σq = 1, so the shift by m cancels */
  if (!d) return;
  for (size_t j = 0; j < k; j++) {
    if (j == y) continue;
    double g = exp((double)zi[j] - m) / s - q_off;
    d[j] = g;
    acc += g;
  }
  d[y] = -acc;
}

/* One row of the logit gradient into float. With `unit`, the row is first
 * scaled by the power of two that brings its largest entry into [0.5, 1):
 * the input gradient is linear in the row, so its direction (all a sign
 * step uses) is kept, while the entries of a confident row (p_j ≈ e^−100
 * and below) no longer underflow float32 to zero. A power of two changes
 * no float rounding where nothing underflows. */
static void row_to_float(const double *d, size_t k, int unit, float *out) {
  int e = 0;
  if (unit) {
    double mx = 0.0;
    for (size_t j = 0; j < k; j++) mx = fabs(d[j]) > mx ? fabs(d[j]) : mx;
    if (mx > 0.0 && isfinite(mx)) (void)frexp(mx, &e);
  }
  for (size_t j = 0; j < k; j++) out[j] = (float)ldexp(d[j], -e);
}

/* The four largest logits' classes, largest first, lower index first on
 * ties (a stable order); k >= 4 entries are filled only if k >= 4. */
static void top4(const float *z, size_t k, size_t pi[4]) {
  size_t n = 0;
  for (size_t j = 0; j < k; j++) {
    size_t p = n < 4 ? n : 4; /* insertion point: after every >= entry */
    while (p > 0 && z[pi[p - 1]] < z[j]) p--;
    if (p >= 4) continue;
    size_t last = n < 4 ? n : 3;
    for (size_t q = last; q > p; q--) pi[q] = pi[q - 1];
    pi[p] = j;
    if (n < 4) n++;
  }
}

int lsp_attack_dlr(const float *z, size_t k, int32_t y, int32_t t, double *loss,
                   double *dz) {
  const int targeted = t >= 0;
  if (!z || k < (targeted ? 4u : 3u))
    return lsp_fail(LSP_EINVAL,
                    "%s needs at least %d classes (the model has %zu)",
                    targeted ? "the targeted DLR loss" : "the DLR loss",
                    targeted ? 4 : 3, k);
  if (y < 0 || (size_t)y >= k || (targeted && ((size_t)t >= k || t == y)))
    return lsp_fail(LSP_EINVAL,
                    "DLR loss: label %d / target %d do not fit %zu classes",
                    (int)y, (int)t, k);
  int st = check_row(z, k, 0);
  if (st) return st;
  size_t pi[4] = {0, 0, 0, 0};
  top4(z, k, pi);
  const size_t yi = (size_t)y;
  /* numerator N = z_y − z_o (o: the best other class, or the target) and
   * denominator D, with the classes whose logits they use */
  size_t o = targeted ? (size_t)t : lsp_argmax_f32_except(z, k, yi);
  double num = (double)z[yi] - (double)z[o];
  double den =
      targeted ? (double)z[pi[0]] - 0.5 * ((double)z[pi[2]] + (double)z[pi[3]])
               : (double)z[pi[0]] - (double)z[pi[2]];
  int flat = !(den > 0.0); /* top logits tie: D := 1, the margin */
  if (flat) den = 1.0;
  if (loss) *loss = -num / den;
  if (dz) {
    for (size_t j = 0; j < k; j++) dz[j] = 0.0;
    /* L = −N/D: ∂L = −∂N/D + N·∂D/D² */
    dz[yi] -= 1.0 / den;
    dz[o] += 1.0 / den;
    if (!flat) {
      double c = num / (den * den);
      dz[pi[0]] += c;
      if (targeted) {
        dz[pi[2]] -= 0.5 * c;
        dz[pi[3]] -= 0.5 * c;
      } else {
        dz[pi[2]] -= c;
      }
    }
  }
  return LSP_OK;
}

int lsp_attack_loss_rows(lsp_attack_loss loss, const lsp_ls *ls, const float *z,
                         const int32_t *y, const int32_t *t, size_t nb,
                         size_t k, int unit, double *lossv, float *dz) {
  double q_on = 1.0, q_off = 0.0, dd[64], *dbuf = dd;
  if (loss == LSP_ALOSS_SMOOTHED) lsp_ls_target(ls, k, &q_on, &q_off);
  if (dz && k > sizeof dd / sizeof dd[0] &&
      !(dbuf = malloc(k * sizeof *dbuf))) /* K > 64: rare, once per batch */
    return lsp_fail(LSP_ENOMEM, "attack loss: out of memory for %zu classes",
                    k);
  int st = LSP_OK;
  for (size_t i = 0; i < nb && st == LSP_OK; i++) {
    const float *zi = z + i * k;
    double *d = dz ? dbuf : NULL;
    double *lv = lossv ? lossv + i : NULL;
    const size_t yi = (size_t)y[i];
    switch (loss) {
      case LSP_ALOSS_MARGIN: {
        /* L = z_j* − z_y, j* the largest other logit (lowest index) */
        if ((st = check_row(zi, k, i))) break;
        size_t best = lsp_argmax_f32_except(zi, k, yi);
        if (lv) *lv = (double)zi[best] - (double)zi[yi];
        if (d) {
          for (size_t j = 0; j < k; j++) d[j] = 0.0;
          d[best] = 1.0;
          d[yi] = -1.0;
        }
        break;
      }
      case LSP_ALOSS_DLR:
      case LSP_ALOSS_DLR_TARGETED: {
        int32_t ti = loss == LSP_ALOSS_DLR_TARGETED ? t[i] : -1;
        st = lsp_attack_dlr(zi, k, y[i], ti, lv, d);
        break;
      }
      default:
        if ((st = check_row(zi, k, i))) break;
        xent_row(zi, k, yi, q_on, q_off, lv, d);
    }
    if (st == LSP_OK && dz) row_to_float(dbuf, k, unit, dz + i * k);
  }
  if (dbuf != dd) free(dbuf);
  return st;
}

int lsp_attack_input_grad(lsp_model *m, const float *x, const int32_t *lab,
                          size_t n, lsp_attack_loss loss, const lsp_ls *ls,
                          size_t batch, float *dx) {
  if (!m || !x || !lab || !dx)
    return lsp_fail(LSP_EINVAL, "input gradient: missing argument");
  if (n == 0) return lsp_fail(LSP_EDATA, "input gradient: no examples");
  if (loss < LSP_ALOSS_CE || loss > LSP_ALOSS_DLR)
    return lsp_fail(LSP_EINVAL, "input gradient: unsupported loss %d",
                    (int)loss);
  if (loss == LSP_ALOSS_SMOOTHED && !ls)
    return lsp_fail(LSP_EINVAL,
                    "input gradient: smoothed loss without a smoothing");
  int st0 = loss == LSP_ALOSS_SMOOTHED ? lsp_ls_check(ls, m->out_dim) : LSP_OK;
  if (st0) return st0;
  for (size_t i = 0; i < n; i++)
    if (lab[i] < 0 || (size_t)lab[i] >= m->out_dim)
      return lsp_fail(
          LSP_EDATA,
          "label %d of example %zu does not fit the model's %zu classes",
          (int)lab[i], i, m->out_dim);
  if (batch == 0) batch = lsp_attack_default_batch(m);
  if (batch > n) batch = n;
  size_t k = m->out_dim;
  lsp_model_ws *ws = lsp_model_ws_alloc(m, batch);
  float *dz = malloc(batch * k * sizeof *dz);
  int st = LSP_OK;
  if (!ws || !dz) {
    st = lsp_fail(LSP_ENOMEM, "input gradient: out of memory");
    goto done;
  }
  for (size_t i0 = 0; i0 < n && st == LSP_OK; i0 += batch) {
    size_t nb = n - i0 < batch ? n - i0 : batch;
    const float *z = NULL;
    if ((st = lsp_model_forward(m, ws, x + i0 * m->in_dim, nb, &z, NULL)))
      break;
    if ((st = lsp_attack_loss_rows(loss, ls, z, lab + i0, NULL, nb, k, 0,
                                   NULL, dz)))
      break;
    st = lsp_model_backward(m, ws, dz, LSP_BACK_INPUT, dx + i0 * m->in_dim);
  }
done:
  free(dz);
  lsp_model_ws_free(ws);
  return st;
}
