/* lsp_attack.h — L∞ adversarial attacks on an lsprobe model (DESIGN §2):
 * FGSM sweeps over many ε from one input gradient, targeted FGSM, BIM and
 * PGD with restarts, transfer attacks (crafted on one model, scored on
 * another), APGD with the cross-entropy, DLR and targeted-DLR losses (Croce
 * & Hein 2020), the score-based Square attack (Andriushchenko et al. 2020),
 * the AutoAttack protocol (APGD-CE, then APGD-T, then Square, each on the
 * points still correct), and the gradient-masking checklist of Athalye et
 * al. (2018) with the checks AutoAttack makes possible.
 *
 * Conventions. Inputs x are float32 rows (n×dim, row-major) inside the data
 * bounds [lo, hi]; ε is on that scale. sign(0) = 0. Every step is computed
 * in float32 exactly as PyTorch computes `clamp(x + eps * g.sign(), lo, hi)`:
 * (float)ε times ±1 is exact, then one rounded float addition, then the clip.
 * The attack loss is the plain cross-entropy on the logits (default), the
 * model's own label-smoothed training loss, the margin loss
 * max_{j≠y} z_j − z_y (ties to the lowest index) or the DLR loss;
 * untargeted attacks ascend it for the true label, targeted attacks descend
 * it for the target label. The APGD family, Square and AutoAttack fix their
 * own losses (see lsp_attack_kind).
 *
 * Everything runs in batches through the model's GEMM path
 * (lsp_model_forward / lsp_model_backward with LSP_BACK_INPUT). Random
 * draws come from streams keyed by (seed, stage, restart, example), so
 * results do not depend on the batch size or the thread count. With
 * lsp_threads_get() > 1 and OpenBLAS at one thread, that many threads take
 * the batches of each pass in turn (lsp_attack_team.c). The library
 * never prints: long runs report through a callback and stop with LSP_EINTR
 * when lsp_interrupted() turns true. */
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
  LSP_ATTACK_PGD = 2,  /* iterative, uniform random start (Madry et al.)    */
  /* The AutoAttack family: white-box only, untargeted in outcome (an
   * example counts as broken when it is misclassified), every clean-correct
   * example attacked, every iterate / query judged. */
  LSP_ATTACK_APGD_CE = 3,   /* APGD on the cross-entropy                   */
  LSP_ATTACK_APGD_DLR = 4,  /* APGD on the DLR loss (K >= 3)               */
  LSP_ATTACK_APGD_T = 5,    /* APGD on the targeted DLR loss, once per
                               target: the classes ranked 2nd, 3rd, ... by
                               the clean logits (K >= 4)                  */
  LSP_ATTACK_SQUARE = 6,    /* Square attack: random squares, margin loss,
                               no gradients                               */
  LSP_ATTACK_AUTOATTACK = 7 /* APGD-CE, then APGD-T, then Square, each on
                               the examples still correct (K >= 4)        */
} lsp_attack_kind;
#define LSP_ATTACK_NKINDS 8

typedef enum {
  LSP_ALOSS_CE = 0,       /* plain cross-entropy, summed over examples     */
  LSP_ALOSS_SMOOTHED = 1, /* label-smoothed cross-entropy (lsp_ls)         */
  LSP_ALOSS_MARGIN = 2, /* max_{j≠y} z_j − z_y                           */
  LSP_ALOSS_DLR = 3, /* −(z_y − max_{i≠y} z_i)/(z_π1 − z_π3), K >= 3  */
  LSP_ALOSS_DLR_TARGETED = 4 /* −(z_y − z_t)/(z_π1 − (z_π3 + z_π4)/2):
                               APGD-T only (needs the true class and the
                               target of each example)                    */
} lsp_attack_loss;

/* Target selection for targeted attacks (lsp_attack_opts.target). */
enum { LSP_TARGET_NONE = -1, LSP_TARGET_LEAST_LIKELY = -2 };

/* Progress of a long run, passed to the callback after every batch. */
typedef struct {
  const char *stage; /* "clean", "gradient", or the attack's kind name
                        (autoattack: the stage running)                  */
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
  size_t steps;           /* BIM/PGD: 10                                   */
  double step_size;       /* BIM/PGD: 0 = 2.5·ε/steps, else this α         */
  size_t restarts;        /* BIM/PGD, APGD (per target for APGD-T) and
                             Square: 1                                     */
  size_t apgd_steps;      /* APGD iterations: 100 (the standard version)   */
  size_t targets;         /* APGD-T: target classes, at most K − 1: 9      */
  size_t queries;         /* Square: queries per example and restart,
                             the first (stripes) included: 5000           */
  double p_init;          /* Square: share of the image the first squares
                             cover, in (0, 1]: 0.8                        */
  int square_resample;    /* Square: 0 = the paper's sampling (a square
                             that changes nothing still costs its query,
                             as in AutoAttack); 1 = such a square takes
                             the opposite signs (as the authors' own
                             Square code resamples it): stronger          */
  size_t shape[3];        /* Square: an input as C×H×W (channel-major
                             rows); {0,0,0} = derive: the model's image
                             shape, else 1×s×s if dim = s², else 3×s×s if
                             dim = 3s², else 1×1×dim                     */
  int full_steps;         /* iterative attacks: 0 = white-box untargeted
                             attacks count an example as fooled at the
                             first iterate the model gets wrong and stop
                             stepping it (never weaker, fewer flops);
                             1 = always S steps, judge the last iterate
                             only (the textbook loop)                    */
  int skip_broken;        /* APGD/Square/AutoAttack sweeps: 0 = attack
                             every clean-correct example at every ε;
                             1 = at each ε (ascending) attack only the
                             examples no smaller ε broke — the envelope
                             (accuracy, correct) is the same example by
                             example, since an input found in a smaller
                             ball lies in this one; accuracy_raw, the
                             stages and the query statistics then count a
                             skipped example as broken (its kept input,
                             prediction and confidence are the smaller
                             ε's). Not with adv (LSP_EINVAL).             */
  unsigned long seed;     /* PGD random starts: 1                          */
  float lo, hi;           /* data bounds: 0, 1                             */
  size_t batch;           /* rows per GEMM batch: 0 = 256, fewer when a
                             row's activations are large (128 MiB in all) */
  float *adv;             /* NULL, or n×dim: receives the adversarial
                             inputs of point adv_point (iterative: the
                             first fooling restart's, else the last's;
                             APGD/Square/AutoAttack: the first input that
                             fooled the model, else the strongest one
                             found — highest loss, lowest Square margin —
                             or x for examples misclassified already)     */
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
  double accuracy;          /* correct on x' over all N. Iterative attacks:
                               an example counts as correct only if it survives
                               every restart at this ε AND at every smaller ε
                               of the sweep (an adversarial input found in a
                               smaller ball lies in this one too), so this is
                               non-increasing in ε by construction          */
  double accuracy_raw;      /* the same at this ε alone (FGSM: = accuracy)   */
  double success_rate;      /* clean-correct examples made wrong, over the
                               clean-correct ones (consistent with accuracy) */
  double mean_confidence;   /* mean max softmax probability on the kept x':
                               iterative attacks keep the first x' that
                               fooled the model (with early exit: the first
                               such iterate), else the last restart's last
                               iterate                                      */
  double zero_grad_share;   /* exactly-zero input-gradient components over
                               every gradient this ε evaluated, counting
                               only the components the crafting model
                               reads (lsp_attack_result.unread_inputs):
                               zeros / (gradients · (dim − unread))        */
  double target_rate;       /* targeted: share of examples with y ≠ target
                               predicted as the target; NaN if untargeted   */
  size_t correct;           /* examples counted correct (accuracy·N)         */
  double stage_accuracy[3]; /* AutoAttack: accuracy_raw after APGD-CE,
                             after APGD-T, after Square; else NaN         */
  double queries_mean;      /* Square (also AutoAttack's Square stage): mean
                               and median queries over the examples Square
                               fooled; NaN if it fooled none or did not run */
  double queries_median;
  double queries_total; /* Square queries spent at this ε (0 if none)   */
} lsp_attack_point;

/* Stage names of lsp_attack_point.stage_accuracy. */
#define LSP_AA_NSTAGES 3
extern const char *const lsp_aa_stage_names[LSP_AA_NSTAGES];

typedef struct {
  lsp_attack_kind kind;
  lsp_attack_loss loss;
  lsp_ls smoothing;       /* the smoothing used by LSP_ALOSS_SMOOTHED       */
  int target;             /* as in the options                             */
  int transfer;           /* 1 if crafted on another model than scored on  */
  size_t steps, restarts; /* 1, 1 for FGSM; APGD: apgd_steps; Square,
                             AutoAttack: APGD's steps (AutoAttack)        */
  size_t targets;         /* APGD-T, AutoAttack: target classes used       */
  size_t queries;         /* Square, AutoAttack: query budget              */
  double p_init;          /* Square, AutoAttack                            */
  size_t shape[3];        /* Square, AutoAttack: C, H, W used              */
  int early_exit;         /* iterative: judged every iterate (see opts)    */
  double step_size;       /* 0 = 2.5·ε/steps                               */
  unsigned long seed;
  float lo, hi;
  size_t n, dim, k;
  size_t unread_inputs;  /* input components the crafting model never
                            reads (lsp_model_read_mask): left out of
                            zero_grad_share                              */
  double clean_accuracy; /* the scoring model on x                      */
  size_t clean_correct;
  double clean_target_rate; /* targeted: the same share on x               */
  size_t npoints;
  lsp_attack_point *points; /* owned: one per ε, in the order given        */
  uint8_t *robust;          /* owned, or NULL: per point e, LSP_ROBUST_BYTES(n)
                               bytes; bit i % 8 of byte i / 8 of row e is 1
                               when example i counts correct at points[e].eps
                               alone (the rule of accuracy_raw): which
                               examples each attack breaks, for the paired
                               counts of the checklist                     */
  double seconds;           /* wall time of the run                        */
  double flops;             /* dense-layer multiply-adds × 2 performed     */
} lsp_attack_result;

/* Bytes of one row of lsp_attack_result.robust, and its bit of example i. */
#define LSP_ROBUST_BYTES(n) (((n) + 7) / 8)
static inline int lsp_robust_bit(const uint8_t *row, size_t i) {
  return (row[i / 8] >> (i % 8)) & 1;
}

/* Release the points and the outcome bits; NULL-safe, leaves *r empty. */
void lsp_attack_result_free(lsp_attack_result *r);

/* Run the attack `o->kind` at every ε of eps[0..neps-1] (each ≥ 0, finite)
 * on the n×dim inputs x with labels y, crafting adversarial inputs on `src`
 * and scoring them on `dst` (dst NULL or == src: white-box; else a transfer
 * attack; both models must take dim inputs and have the same K > max(y)).
 * FGSM computes the input gradient once and scores every ε from it. `src`
 * is not const because a backward pass runs through it; its parameters and
 * parameter gradients are left unchanged. Fills *out (free it with
 * lsp_attack_result_free). Errors: LSP_EINVAL for bad options or ε,
 * LSP_EDATA for a model that does not fit the data or the attack (DLR
 * needs K >= 3 classes, APGD-T and AutoAttack K >= 4), a label out of range or
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

/* The DLR loss of one row of K logits and its gradient (Croce & Hein
 * 2020), in double from the float logits. π sorts the classes by logit,
 * largest first (ties: lower index first).
 *   t < 0 (untargeted): L = −(z_y − max_{i≠y} z_i) / (z_π1 − z_π3)
 *   t >= 0 (targeted):  L = −(z_y − z_t) / (z_π1 − (z_π3 + z_π4)/2)
 * Ascending L moves the example away from y (towards t). The denominator
 * is 0 only when the top three (targeted: four) logits tie; it is then
 * taken as 1 (the loss becomes the margin). dz (K doubles, may be NULL)
 * receives ∂L/∂z (at ties: the derivative of the branch chosen by the
 * ordering above). LSP_EINVAL for K < 3 (targeted: K < 4), y or t out of
 * range or t == y; LSP_EDATA for a non-finite logit. */
int lsp_attack_dlr(const float *z, size_t k, int32_t y, int32_t t, double *loss,
                   double *dz);

/* APGD's checkpoints (Croce & Hein 2020, §3.2): w_0 = 0 and
 * w_j = ⌈p_j·steps⌉ with p_0 = 0, p_1 = 0.22,
 * p_{j+1} = p_j + max(p_j − p_{j−1} − 0.03, 0.06), for p_j <= 1 (computed in
 * hundredths, exactly). Writes up to `max` checkpoints after w_0 into w and
 * returns how many there are (100 steps: 22 41 57 70 80 87 93 99). */
size_t lsp_apgd_checkpoints(size_t steps, size_t *w, size_t max);

/* Square's share of pixels p at iteration `it` (0-based) of the L∞ attack
 * (Andriushchenko et al. 2020): p_init, halved after iterations 10, 50,
 * 200, 500, 1000, 2000, 4000, 6000 and 8000; and the side of its square on
 * an H×W image: max(1, round(sqrt(p·H·W))), at most min(H, W). */
double lsp_square_p(size_t it, double p_init);
size_t lsp_square_side(double p, size_t h, size_t w);

/* The FGSM step on `count` floats: out = clip(x + dir·ε·sign(g), lo, hi)
 * in float32 (dir = +1 ascends the loss, −1 descends it). out may alias x. */
void lsp_fgsm_apply(const float *x, const float *g, size_t count, double eps,
                    int dir, float lo, float hi, float *out);

/* "fgsm", "bim", "pgd", "apgd-ce", "apgd-dlr", "apgd-t", "square",
 * "autoattack" */
const char *lsp_attack_kind_name(lsp_attack_kind k);
/* "ce", "smoothed", "margin", "dlr", "dlr-targeted" */
const char *lsp_attack_loss_name(lsp_attack_loss l);
/* 1 for the APGD family, Square and AutoAttack. */
int lsp_attack_kind_is_aa(lsp_attack_kind k);
/* A warning for the ε of `eps` (n values) at or above the width hi − lo of
 * the input range, which let an attack move an input anywhere in the range
 * (a newcomer's --eps 8 meant as 8/255): "<what> 8: reaches or exceeds the
 * width 1 of the input range [0, 1], ...", the values in their shortest
 * exact decimals, with the ε/255 values when the range is [0, 1]. NULL
 * (and buf untouched) when every ε is below the width. */
const char *lsp_attack_eps_range_note(const char *what, const double *eps, size_t n, double lo,
                                      double hi, char *buf, size_t cap);
/* Parse the names above (the loss parser does not accept "dlr-targeted",
 * which needs a target and a true class per example); LSP_EINVAL naming the
 * accepted values otherwise. */
int lsp_attack_kind_parse(const char *s, lsp_attack_kind *out);
int lsp_attack_loss_parse(const char *s, lsp_attack_loss *out);

/* Write a result as one JSON object into an open writer:
 * {"attack", "loss", "targeted", "transfer", "n", "classes",
 *  "unread_inputs", "clean_accuracy", ...,
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
  double ce_gap;        /* flag APGD-T lowering APGD-CE's accuracy (a share
                           of all N examples) by more than this: 0.05     */
} lsp_mask_opts;

void lsp_mask_opts_default(lsp_mask_opts *o);

typedef struct {
  const char *name; /* "pgd_le_fgsm", "accuracy_falls",
                       "near_zero_at_large_eps",
                       "transfer_not_stronger", "zero_grad_share",
                       then with AutoAttack: "black_box_not_stronger",
                       "apgd_ce_not_weaker"                        */
  lsp_check_status status;
  double eps;       /* where the worst case was seen (NaN if none)   */
  double value;     /* the measured number at eps                    */
  double reference; /* what it was compared with                     */
  /* The paired evidence of a check that compares two attacks on the same
   * examples (pgd_le_fgsm, transfer_not_stronger, black_box_not_stronger,
   * apgd_ce_not_weaker) at eps: b = examples the attack under suspicion
   * (FGSM, transfer, Square, APGD-T) breaks and the other one (PGD/BIM,
   * white-box, APGD-CE and APGD-T, APGD-CE) leaves correct, c = the
   * reverse, so (b − c)/n is the accuracy difference judged against the
   * slack; p = lsp_mcnemar_p(b, c). For the two AutoAttack checks the
   * later stage attacks only what the earlier ones left, so c = 0. */
  int paired;       /* 1: b, c, p are set; 0: not such a check, skipped,
                       or the results keep no per-example outcomes       */
  size_t b, c;
  double p;
  char detail[320]; /* one sentence with the numbers                  */
} lsp_mask_check;

/* The exact one-sided McNemar p-value P(X >= b), X ~ Binomial(b + c, 1/2):
 * the chance of b or more of the b + c discordant examples going one way
 * if either way is as likely. 1 when b + c = 0. */
double lsp_mcnemar_p(size_t b, size_t c);

#define LSP_MASK_NCHECKS 5   /* checks of lsp_attack_checklist            */
#define LSP_MASK_MAXCHECKS 7 /* ... plus lsp_attack_checklist_aa's         */
typedef struct {
  lsp_mask_check checks[LSP_MASK_MAXCHECKS];
  int nchecks; /* how many are filled                           */
  int flags;   /* how many are LSP_CHECK_FLAG                   */
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
 * share ≤ zero_grad_max. The two comparisons of two attacks also get their
 * paired counts b, c and McNemar p from the results' robust bits (see
 * lsp_mask_check; they do not change pass or flag). LSP_EINVAL if fgsm is
 * NULL or not FGSM, or the results were scored on different data (n or
 * bounds differ). */
int lsp_attack_checklist(const lsp_attack_result *fgsm,
                         const lsp_attack_result *iter,
                         const lsp_attack_result *transfer,
                         const lsp_mask_opts *o, lsp_mask_report *out);

/* Add the checks the AutoAttack protocol makes possible to a report that
 * lsp_attack_checklist filled, from an AutoAttack sweep `aa` of the same
 * model and data:
 *   black_box_not_stronger  the score-based Square stage lowers the
 *       accuracy the white-box APGD stages left by at most tol, at every ε
 *       (a gradient-free attack beating gradient attacks means the
 *       gradients mislead);
 *   apgd_ce_not_weaker      APGD-T lowers APGD-CE's accuracy (over all N)
 *       by at most ce_gap, at every ε (a cross-entropy attack much
 *       weaker than the scale-invariant DLR one points at logit scaling);
 *   near_zero_at_large_eps  judged again with AutoAttack, the strongest
 *       attack, when its sweep reaches large_eps·(hi − lo).
 * LSP_EINVAL if aa is not an AutoAttack result, was scored on other data
 * than the report's checks (n, bounds; only checked when `ref` is given:
 * the FGSM result the report was made from), or rep has no room. */
int lsp_attack_checklist_aa(const lsp_attack_result *aa,
                            const lsp_attack_result *ref,
                            const lsp_mask_opts *o, lsp_mask_report *rep);

/* {"flags": F, "checks": [{"name", "status": "pass"|"flag"|"skipped",
 *  "eps", "value", "reference", "b", "c", "p_value", "detail"}]} into an
 * open writer (b, c, p_value null where the check is not paired). */
void lsp_attack_checklist_json(lsp_json *j, const lsp_mask_report *r);

const char *lsp_check_status_name(lsp_check_status s);

#endif
