/* lsp_attack_int.h — state shared by the attack engines (not public).
 *
 * lsp_attack_run validates its arguments, fills an lsp_attack_ctx and hands it
 * to lsp_fgsm_sweep (lsp_fgsm.c) or lsp_pgd_sweep (lsp_pgd.c); both use the
 * batch helpers of lsp_attack.c. */
#ifndef LSP_ATTACK_INT_H
#define LSP_ATTACK_INT_H

#include "attacks/lsp_attack.h"

typedef struct {
  lsp_model *src;       /* crafts (forward + input backward)            */
  const lsp_model *dst; /* scores (== src unless transfer)              */
  int transfer;
  const float *x;   /* n×dim, inside [lo, hi]                       */
  const int32_t *y; /* n labels in [0, k)                           */
  size_t n, dim, k, batch;
  const lsp_attack_opts *o;
  lsp_ls ls;               /* resolved smoothing for LSP_ALOSS_SMOOTHED    */
  int dir;                 /* +1 untargeted (ascend), −1 targeted (descend) */
  lsp_model_ws *ws_src;    /* owned                                        */
  lsp_model_ws *ws_dst;    /* owned, or == ws_src when not transfer        */
  float *xb;               /* owned: batch×dim adversarial batch           */
  float *gb;               /* owned: batch×dim input gradient              */
  float *dz;               /* owned: batch×k dlogits                       */
  int32_t *lab;            /* owned: n gradient labels (y or the target)   */
  int32_t *clean_pred;     /* owned: n, dst's argmax on x                  */
  float *clean_conf;       /* owned: n, dst's max softmax prob on x        */
  double fwd_src, fwd_dst; /* flops of one example's forward (= backward)  */
  double flops;            /* performed so far                             */
  size_t done, total;      /* progress in example-passes                   */
} lsp_attack_ctx;

/* Predicted class (argmax, lowest index on ties) and max softmax
 * probability (in double) of nb rows of k logits. */
void lsp_attack_score(const float *z, size_t nb, size_t k, int32_t *pred,
                      float *conf);

/* Forward src on xb (nb rows): *logits (nb×k) valid until src's next
 * forward. Counts the flops. */
int lsp_attack_forward_src(lsp_attack_ctx *c, const float *xb, size_t nb,
                           const float **logits);
/* After lsp_attack_forward_src: the attack-loss gradient for labels
 * lab[0..nb-1] and the backward pass into ctx->gb (nb×dim). Adds the count
 * of exactly-zero gradient components to *zeros (if not NULL). */
int lsp_attack_backward_src(lsp_attack_ctx *c, const float *logits,
                            const int32_t *lab, size_t nb, size_t *zeros);
/* Both: the input gradient of the attack loss at xb into ctx->gb. */
int lsp_attack_grad_batch(lsp_attack_ctx *c, const float *xb,
                          const int32_t *lab, size_t nb, size_t *zeros);

/* One element of an FGSM/PGD step in float32, as PyTorch computes
 * clamp(x + e * sign(g), lo, hi) with e = (float)(dir·ε) (sign(0) = 0). */
static inline float lsp_attack_step(float x, float g, float e, float lo,
                                    float hi) {
  float v = x + (g > 0.0f ? e : g < 0.0f ? -e : 0.0f);
  return v < lo ? lo : v > hi ? hi : v;
}

/* dst's clean predictions and confidences on x into clean_pred/clean_conf,
 * and the gradient labels (y, or the target) into lab, for all n rows: */
int lsp_attack_clean_pass(lsp_attack_ctx *c);
/* The gradient labels of rows [i0, i0+nb) from src's clean logits of
 * those rows (needed for least-likely targets only). */
void lsp_attack_set_labels(lsp_attack_ctx *c, const float *src_logits,
                           size_t i0, size_t nb);

/* Report progress (after adding `passes` example-passes) and poll SIGINT. */
int lsp_attack_tick(lsp_attack_ctx *c, const char *stage, double eps,
                    size_t restart, size_t passes);

/* Fill the per-ε summary from per-example outcomes of the scoring model. */
void lsp_attack_summarize(const lsp_attack_ctx *c, const uint8_t *correct,
                          const int32_t *pred, const float *conf,
                          lsp_attack_point *p);

int lsp_fgsm_sweep(lsp_attack_ctx *c, const double *eps, size_t neps,
                   lsp_attack_result *out);
int lsp_pgd_sweep(lsp_attack_ctx *c, const double *eps, size_t neps,
                  lsp_attack_result *out);

#endif
