/* lsp_attack_int.h — state shared by the attack engines (not public).
 *
 * lsp_attack_run validates its arguments, fills an lsp_attack_ctx and hands it
 * to lsp_fgsm_sweep (lsp_fgsm.c), lsp_pgd_sweep (lsp_pgd.c) or lsp_aa_sweep
 * (lsp_autoattack.c, which runs the engines lsp_apgd_run of lsp_apgd.c and
 * lsp_square_run of lsp_square.c); all use the batch helpers of
 * lsp_attack_batch.c and share their batches among threads through
 * lsp_attack_team.c. */
#ifndef LSP_ATTACK_INT_H
#define LSP_ATTACK_INT_H

#include "attacks/lsp_attack.h"
#include "core/base/lsp_util.h"

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
  float *clean_logits;     /* owned: n×k, src's logits on x (APGD-T's
                              targets), NULL unless an AutoAttack kind    */
  size_t shape[3];         /* Square: C, H, W of an input                  */
  uint8_t *read;           /* owned: dim flags, 1 where src reads the input
                              component (lsp_model_read_mask); NULL when it
                              reads all of them                           */
  size_t nread;            /* components src reads (dim when read is NULL) */
  double fwd_src, fwd_dst; /* flops of one example's forward (= backward)  */
  double flops;            /* performed so far                             */
  size_t done, total;      /* progress in example-passes                   */
  lsp_attack_result *out;  /* the result being filled (its robust bits)    */
} lsp_attack_ctx;

/* Rows per batch when the options give none: 256, fewer for a network
 * whose activations would pass 128 MiB. */
size_t lsp_attack_default_batch(const lsp_model *m);

/* Per-row attack loss values and/or their gradient w.r.t. the logits for
 * nb rows: y the labels the loss is taken for (true labels, or targets for
 * the targeted FGSM/PGD convention), t the targets of
 * LSP_ALOSS_DLR_TARGETED (else unused, may be NULL). loss (nb doubles) and
 * dz (nb×k floats) may each be NULL. With unit, each row of dz is scaled by
 * a positive power of two (its largest entry in [0.5, 1)): the direction of
 * the gradient, for the sign-step attacks, without float underflow on
 * confident rows; without, the gradient itself. Errors as lsp_attack_dlr. */
int lsp_attack_loss_rows(lsp_attack_loss loss, const lsp_ls *ls, const float *z,
                         const int32_t *y, const int32_t *t, size_t nb,
                         size_t k, int unit, double *lossv, float *dz);

/* Predicted class (argmax, lowest index on ties) and max softmax
 * probability (in double) of nb rows of k logits. LSP_EDATA, "scoring: ..."
 * naming the row, for a non-finite logit: a prediction from NaN or ±inf is
 * not one. (Only the scoring model's logits are scored: dst, or src == dst
 * in a white-box attack; the crafting losses' check says "crafting: ...".) */
int lsp_attack_score(const float *z, size_t nb, size_t k, int32_t *pred,
                     float *conf);

/* Forward src on xb (nb rows): *logits (nb×k) valid until src's next
 * forward. Counts the flops. */
int lsp_attack_forward_src(lsp_attack_ctx *c, const float *xb, size_t nb,
                           const float **logits);
/* The numerator of zero_grad_share: the exactly-zero components, among
 * those src reads (c->read), of the rows a of the input gradients g
 * (nb×dim) whose input the crafting model still classifies correctly,
 * pred[a] == y[idx ? idx[a] : a] (every row when pred is NULL): a gradient
 * at a misclassified input moves no outcome (and is exactly 0 wherever a
 * margin loss is flat, e.g. DLR once the label ranks third). Adds the rows
 * counted to *rows: the denominator is rows·c->nread. */
size_t lsp_attack_count_zeros_correct(const lsp_attack_ctx *c, const float *g,
                                      size_t nb, const int32_t *pred,
                                      const int32_t *y, const size_t *idx,
                                      size_t *rows);
/* After lsp_attack_forward_src: the attack-loss gradient for labels
 * lab[0..nb-1] and the backward pass into ctx->gb (nb×dim). */
int lsp_attack_backward_src(lsp_attack_ctx *c, const float *logits,
                            const int32_t *lab, size_t nb);

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

/* Fill the per-ε summary from per-example outcomes of the scoring model,
 * and p's row of c->out->robust (p is one of c->out->points). */
void lsp_attack_summarize(const lsp_attack_ctx *c, const uint8_t *correct,
                          const int32_t *pred, const float *conf,
                          lsp_attack_point *p);

/* The per-example outcomes ok (neps×n, row e: robust at eps[e] alone) into
 * each point's accuracy/success_rate by the envelope over ε (robust at this
 * ε and at every smaller one, and on x), and into o->correct if set. */
int lsp_attack_envelope(lsp_attack_ctx *c, const double *eps, size_t neps,
                        const uint8_t *ok, lsp_attack_result *out);

/* Uniform double in [0, 1) number `j` of the stream `key` (SplitMix64 at
 * key + (j+1)·golden gamma): counter-based, so a draw depends only on its
 * stream and index, not on the order in which rows are processed. */
static inline double lsp_attack_unif(uint64_t key, uint64_t j) {
  uint64_t z = lsp_mix64(key + (j + 1) * 0x9e3779b97f4a7c15ull);
  return (double)(z >> 11) * 0x1.0p-53;
}
/* The stream of (seed, stage, example): stage numbers a run's APGD
 * variant, target, restart or Square restart. */
uint64_t lsp_attack_stream(unsigned long seed, uint64_t stage, size_t example);

/* ---- the team of threads (lsp_attack_team.c) ----------------------------- */

/* Threads that share the batches of a pass: thread 0 works on the caller's
 * context, the others on copies with their own workspaces (ws_src, ws_dst,
 * xb, gb, dz). A batch must depend only on its index (its rows, their
 * random streams) and write only its own rows of shared outputs; per-thread
 * partial sums are for the engine to keep (one slot per thread) and add up
 * in thread order. */
enum { LSP_ATTACK_TEAM_MAX = 64 }; /* threads at most */
typedef struct lsp_attack_team lsp_attack_team;
/* Computes batch b on thread t, whose context is c; *passes: the
 * example-passes it did, for the progress. */
typedef int (*lsp_attack_batch_fn)(lsp_attack_ctx *c, int t, size_t b,
                                   void *arg, size_t *passes);
/* A team for passes of up to nbatch batches: min(lsp_threads_get(),
 * nbatch) threads when OpenBLAS runs on one thread, else the caller alone. */
int lsp_attack_team_alloc(lsp_attack_ctx *c, size_t nbatch,
                          lsp_attack_team **out);
int lsp_attack_team_size(const lsp_attack_team *tm);
lsp_attack_ctx *lsp_attack_team_ctx(lsp_attack_team *tm, int t);
/* Batches 0..nbatch-1 taken in turn by the threads; progress reported as
 * (stage, eps, restart). The first error stops the pass and is returned
 * with its message. */
int lsp_attack_team_run(lsp_attack_team *tm, size_t nbatch,
                        lsp_attack_batch_fn fn, void *arg, const char *stage,
                        double eps, size_t restart);
/* Adds the copies' flops to the caller's context and frees. NULL-safe. */
void lsp_attack_team_free(lsp_attack_team *tm);
/* Passes run on more than one thread since the process started. */
size_t lsp_attack_team_parallel_runs(void);

/* ---- the AutoAttack engines (one ε, white-box) -------------------------- */

/* What the engines know about every example at one ε. Only examples with
 * alive = 1 are attacked; an engine clears alive for the ones it fools and
 * records, for every example it touched, the prediction and confidence on
 * the input it keeps (and that input in keep, if not NULL): the first
 * fooling input, else the strongest found. */
typedef struct {
  uint8_t *alive;      /* n: still correctly classified                 */
  int32_t *pred;       /* n: prediction on the kept input                */
  float *conf;         /* n: max softmax probability on the kept input   */
  float *keep;         /* n×dim or NULL                                  */
  uint32_t *queries;   /* n: Square queries spent on the example        */
  uint8_t *by_square;  /* n: fooled by Square                            */
  size_t zeros, evals; /* read input-gradient components: exactly 0 / all */
} lsp_aa_state;

/* APGD (Croce & Hein 2020, Algorithm 1) with `loss` (CE, DLR or
 * DLR_TARGETED) on the alive examples, `restarts` times each; with
 * DLR_TARGETED once per target rank 1..targets (the classes after the top
 * one by clean logits, c->clean_logits). `stage` keys the random starts. */
int lsp_apgd_run(lsp_attack_ctx *c, double eps, lsp_attack_loss loss,
                 size_t targets, uint64_t stage, lsp_aa_state *st);
/* APGD's decision at a checkpoint w_j (Croce & Hein 2020, §3.2): 1 (halve
 * the step size and restart from x_max) when the loss rose in fewer than
 * ρ·span of the `span` = w_j − w_{j−1} steps since the previous checkpoint
 * (ρ = 0.75), or when the step was not halved there (halved_last = 0) and
 * f_max has not risen since (fmax <= fmax_last). */
int lsp_apgd_halve(size_t rises, size_t span, int halved_last, double fmax,
                   double fmax_last);

/* Square's fast query path for models that start with a dense layer on
 * the input (lsp_square_fast.c): *out is NULL (and LSP_OK) when the model
 * does not qualify. init loads the best inputs' first-layer
 * pre-activations of na rows; begin/add build row a's candidate from its
 * best input plus changed pixels; logits runs the candidates of na rows;
 * accept makes row a's candidate its best; move copies a row (compaction);
 * flops counts one candidate with `changed` changed pixels. */
typedef struct lsp_sqfast lsp_sqfast;
int lsp_sqfast_alloc(const lsp_model *m, size_t dim, size_t batch,
                     lsp_sqfast **out);
void lsp_sqfast_free(lsp_sqfast *f);
int lsp_sqfast_init(lsp_sqfast *f, const float *xb, size_t na);
void lsp_sqfast_begin(lsp_sqfast *f, size_t a);
void lsp_sqfast_add(lsp_sqfast *f, size_t a, size_t j, double delta);
int lsp_sqfast_logits(lsp_sqfast *f, size_t na, const float **logits);
void lsp_sqfast_accept(lsp_sqfast *f, size_t a);
void lsp_sqfast_move(lsp_sqfast *f, size_t from, size_t to);
double lsp_sqfast_flops(const lsp_sqfast *f, size_t changed);

/* Square (Andriushchenko et al. 2020, L∞) on the alive examples. */
int lsp_square_run(lsp_attack_ctx *c, double eps, uint64_t stage,
                   lsp_aa_state *st);

int lsp_fgsm_sweep(lsp_attack_ctx *c, const double *eps, size_t neps,
                   lsp_attack_result *out);
int lsp_pgd_sweep(lsp_attack_ctx *c, const double *eps, size_t neps,
                  lsp_attack_result *out);
int lsp_aa_sweep(lsp_attack_ctx *c, const double *eps, size_t neps,
                 lsp_attack_result *out);

#endif
