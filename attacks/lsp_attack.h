/* lsp_attack.h — L∞ adversarial attacks on an lsprobe model (DESIGN §2):
 * FGSM sweeps over many ε from one input gradient, targeted FGSM, BIM and
 * PGD with restarts, transfer attacks (crafted on one model, scored on
 * another), and the gradient-masking checklist of Athalye et al. (2018).
 *
 * Conventions. Inputs x are float32 rows (n×dim, row-major) inside the data
 * bounds [lo, hi]; ε is on that scale. sign(0) = 0. Every step is computed
 * in float32 exactly as PyTorch computes `clamp(x + eps * g.sign(), lo, hi)`:
 * (float)ε times ±1 is exact, then one rounded float addition, then the clip.
 * The attack loss is the plain cross-entropy on the logits (default), the
 * model's own label-smoothed training loss, or the margin loss
 * max_{j≠y} z_j − z_y (ties to the lowest index); untargeted attacks ascend
 * it for the true label, targeted attacks descend it for the target label.
 *
 * Everything runs in batches through the model's GEMM path
 * (lsp_model_forward / lsp_model_backward with LSP_BACK_INPUT). Results are
 * identical for the same options, seed and thread count. The library never
 * prints: long runs report through a callback and stop with LSP_EINTR when
 * lsp_interrupted() turns true. */
#ifndef LSP_ATTACK_H
#define LSP_ATTACK_H

#include <stddef.h>
#include <stdint.h>

#include "core/formats/lsp_json.h"
#include "core/loss/lsp_loss.h"
#include "core/nn/lsp_model.h"

typedef enum {
  LSP_ATTACK_FGSM = 0, /* one step of size ε from the clean input           */
  LSP_ATTACK_BIM = 1,  /* iterative, starting at x (Kurakin et al. 2017)    */
  LSP_ATTACK_PGD = 2   /* iterative, uniform random start (Madry et al.)    */
} lsp_attack_kind;

typedef enum {
  LSP_ALOSS_CE = 0,       /* plain cross-entropy, summed over examples     */
  LSP_ALOSS_SMOOTHED = 1, /* label-smoothed cross-entropy (lsp_ls)         */
  LSP_ALOSS_MARGIN = 2 /* max_{j≠y} z_j − z_y                           */
} lsp_attack_loss;

/* Target selection for targeted attacks (lsp_attack_opts.target). */
enum { LSP_TARGET_NONE = -1, LSP_TARGET_LEAST_LIKELY = -2 };

/* Progress of a long run, passed to the callback after every batch. */
typedef struct {
  const char *stage; /* "gradient", "fgsm", "bim" or "pgd"                 */
  double eps;        /* the ε being attacked (0 for "gradient")            */
  size_t restart;    /* 1-based restart (iterative attacks), else 1        */
  size_t done;       /* example-passes finished in the whole run           */
  size_t total;      /* example-passes the whole run needs                 */
} lsp_attack_progress;

typedef void (*lsp_attack_cb)(const lsp_attack_progress *p, void *user);

typedef struct {
  lsp_attack_kind kind;   /* LSP_ATTACK_FGSM                               */
  lsp_attack_loss loss;   /* LSP_ALOSS_CE                                  */
  int smoothing_given;    /* 0: LSP_ALOSS_SMOOTHED uses the crafting model's
                             meta.smoothing (which must be recorded)      */
  lsp_ls smoothing;       /* used when smoothing_given                     */
  int target;             /* LSP_TARGET_NONE, LSP_TARGET_LEAST_LIKELY (per
                             example, from the crafting model's clean
                             logits, lowest index on ties) or a class     */
  size_t steps;           /* iterative attacks: 10                         */
  double step_size;       /* iterative attacks: 0 = ε/4, else this α       */
  size_t restarts;        /* iterative attacks: 1                          */
  int full_steps;         /* iterative attacks: 0 = white-box untargeted
                             attacks count an example as fooled at the
                             first iterate the model gets wrong and stop
                             stepping it (never weaker, fewer flops);
                             1 = always S steps, judge the last iterate
                             only (the textbook loop)                    */
  unsigned long seed;     /* PGD random starts: 1                          */
  float lo, hi;           /* data bounds: 0, 1                             */
  size_t batch;           /* rows per GEMM batch: 0 = 256, fewer when a
                             row's activations are large (128 MiB in all) */
  float *adv;             /* NULL, or n×dim: receives the adversarial
                             inputs of point adv_point (iterative: the
                             first fooling restart's, else the last's)    */
  size_t adv_point;       /* index into eps of the inputs to keep          */
  uint8_t *correct;       /* NULL, or neps×n: per ε (row) and example,
                             1 if the example counts as correct by the
                             rule of lsp_attack_point.accuracy (for paired
                             comparisons of two models)                   */
  lsp_attack_cb progress; /* may be NULL                                   */
  void *user;             /* passed to progress                            */
} lsp_attack_opts;

/* Defaults as listed beside the fields. */
void lsp_attack_opts_default(lsp_attack_opts *o);

/* One ε of a sweep. Rates are shares in [0, 1]; NaN where undefined (no
 * clean-correct examples; no example whose label differs from its target). */
typedef struct {
  double eps;
  double accuracy;        /* correct on x' over all N. Iterative attacks:
                             an example counts as correct only if it survives
                             every restart at this ε AND at every smaller ε
                             of the sweep (an adversarial input found in a
                             smaller ball lies in this one too), so this is
                             non-increasing in ε by construction          */
  double accuracy_raw;    /* the same at this ε alone (FGSM: = accuracy)   */
  double success_rate;    /* clean-correct examples made wrong, over the
                             clean-correct ones (consistent with accuracy) */
  double mean_confidence; /* mean max softmax probability on the kept x':
                             iterative attacks keep the first x' that
                             fooled the model (with early exit: the first
                             such iterate), else the last restart's last
                             iterate                                      */
  double zero_grad_share; /* exactly-zero input-gradient components over
                             every gradient this ε evaluated               */
  double target_rate;     /* targeted: share of examples with y ≠ target
                             predicted as the target; NaN if untargeted   */
  size_t correct;         /* examples counted correct (accuracy·N)         */
} lsp_attack_point;

typedef struct {
  lsp_attack_kind kind;
  lsp_attack_loss loss;
  lsp_ls smoothing;       /* the smoothing used by LSP_ALOSS_SMOOTHED       */
  int target;             /* as in the options                             */
  int transfer;           /* 1 if crafted on another model than scored on  */
  size_t steps, restarts; /* 1, 1 for FGSM                                 */
  int early_exit;         /* iterative: judged every iterate (see opts)    */
  double step_size;       /* 0 = ε/4                                       */
  unsigned long seed;
  float lo, hi;
  size_t n, dim, k;
  double clean_accuracy; /* the scoring model on x                      */
  size_t clean_correct;
  double clean_target_rate; /* targeted: the same share on x               */
  size_t npoints;
  lsp_attack_point *points; /* owned: one per ε, in the order given        */
  double seconds;           /* wall time of the run                        */
  double flops;             /* dense-layer multiply-adds × 2 performed     */
} lsp_attack_result;

/* Release the points; NULL-safe, leaves *r empty. */
void lsp_attack_result_free(lsp_attack_result *r);

/* Run the attack `o->kind` at every ε of eps[0..neps-1] (each ≥ 0, finite)
 * on the n×dim inputs x with labels y, crafting adversarial inputs on `src`
 * and scoring them on `dst` (dst NULL or == src: white-box; else a transfer
 * attack; both models must take dim inputs and have the same K > max(y)).
 * FGSM computes the input gradient once and scores every ε from it. `src`
 * is not const because a backward pass runs through it; its parameters and
 * parameter gradients are left unchanged. Fills *out (free it with
 * lsp_attack_result_free). Errors: LSP_EINVAL for bad options or ε,
 * LSP_EDATA for a model that does not fit the data, a label out of range or
 * an input outside [lo, hi] (naming the row), LSP_ENOMEM, LSP_EINTR. */
int lsp_attack_run(lsp_model *src, const lsp_model *dst, const float *x,
                   const int32_t *y, size_t n, size_t dim, const double *eps,
                   size_t neps, const lsp_attack_opts *o,
                   lsp_attack_result *out);

/* The gradient of the attack loss, summed over the n examples, w.r.t. the
 * inputs: dx (n×dim) for labels lab (true labels or targets). Batches of
 * `batch` rows (0 = 256, fewer for large networks). This is what FGSM takes the sign of; with
 * LSP_ALOSS_CE it equals PyTorch's x.grad after
 * F.cross_entropy(model(x), y, reduction='sum').backward(). `ls` is used by
 * LSP_ALOSS_SMOOTHED only. */
int lsp_attack_input_grad(lsp_model *m, const float *x, const int32_t *lab,
                          size_t n, lsp_attack_loss loss, const lsp_ls *ls,
                          size_t batch, float *dx);

/* The FGSM step on `count` floats: out = clip(x + dir·ε·sign(g), lo, hi)
 * in float32 (dir = +1 ascends the loss, −1 descends it). out may alias x. */
void lsp_fgsm_apply(const float *x, const float *g, size_t count, double eps,
                    int dir, float lo, float hi, float *out);

const char *lsp_attack_kind_name(lsp_attack_kind k); /* "fgsm", "bim", "pgd" */
const char *lsp_attack_loss_name(
    lsp_attack_loss l); /* "ce", "smoothed", "margin" */
/* Parse the names above; LSP_EINVAL naming the accepted values otherwise. */
int lsp_attack_kind_parse(const char *s, lsp_attack_kind *out);
int lsp_attack_loss_parse(const char *s, lsp_attack_loss *out);

/* Write a result as one JSON object into an open writer:
 * {"attack", "loss", "targeted", "transfer", "n", "clean_accuracy", ...,
 *  "points": [{"eps", "accuracy", "accuracy_raw", "success_rate",
 *  "mean_confidence", "zero_grad_share"[, "target_rate"]}]}. The caller
 * may name extra keys around it (e.g. model paths) by writing the object
 * itself: `with_braces` 0 writes only the key/value pairs. */
void lsp_attack_result_json(lsp_json *j, const lsp_attack_result *r,
                            int with_braces);

/* ---- gradient-masking checklist (Athalye, Carlini & Wagner 2018) -------- */

typedef enum {
  LSP_CHECK_PASS = 0,
  LSP_CHECK_FLAG = 1,
  LSP_CHECK_SKIP = 2
} lsp_check_status;

typedef struct {
  double tol;           /* accuracy slack for comparisons: 0.01              */
  double large_eps;     /* an ε at least this large (in units of hi − lo)
                           should break almost everything: 0.3              */
  double near_zero;     /* "almost everything": accuracy ≤ 0.05            */
  double zero_grad_max; /* flag a zero-gradient share above: 0.01           */
} lsp_mask_opts;

void lsp_mask_opts_default(lsp_mask_opts *o);

typedef struct {
  const char *name; /* "pgd_le_fgsm", "accuracy_falls",
                       "near_zero_at_large_eps",
                       "transfer_not_stronger", "zero_grad_share"   */
  lsp_check_status status;
  double eps;       /* where the worst case was seen (NaN if none)   */
  double value;     /* the measured number at eps                    */
  double reference; /* what it was compared with                     */
  char detail[192]; /* one sentence with the numbers                  */
} lsp_mask_check;

#define LSP_MASK_NCHECKS 5
typedef struct {
  lsp_mask_check checks[LSP_MASK_NCHECKS];
  int flags; /* how many checks are LSP_CHECK_FLAG            */
} lsp_mask_report;

/* Evaluate the checklist on sweep results of one scoring model:
 *   fgsm      white-box FGSM sweep (required)
 *   iter      white-box PGD or BIM sweep, or NULL (checks needing it skip)
 *   transfer  the same attack crafted on the ε = 0 (unsmoothed) model and
 *             scored on this one, or NULL; compared with `iter` when its
 *             kind is iterative, else with `fgsm`, at the ε both share.
 * Checks: PGD accuracy ≤ FGSM accuracy + tol at every shared ε; accuracy
 * non-increasing in ε (raw numbers, FGSM and PGD, within tol); accuracy ≤
 * near_zero at the largest ε if it is ≥ large_eps·(hi − lo) (else skipped);
 * transfer accuracy ≥ white-box accuracy − tol; the largest zero-gradient
 * share ≤ zero_grad_max. LSP_EINVAL if fgsm is NULL or not FGSM, or the
 * results were scored on different data (n or bounds differ). */
int lsp_attack_checklist(const lsp_attack_result *fgsm,
                         const lsp_attack_result *iter,
                         const lsp_attack_result *transfer,
                         const lsp_mask_opts *o, lsp_mask_report *out);

/* {"flags": F, "checks": [{"name", "status": "pass"|"flag"|"skipped",
 *  "eps", "value", "reference", "detail"}]} into an open writer. */
void lsp_attack_checklist_json(lsp_json *j, const lsp_mask_report *r);

const char *lsp_check_status_name(lsp_check_status s);

#endif
