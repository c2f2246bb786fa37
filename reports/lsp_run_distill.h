/* lsp_run_distill.h — the distillation section of `lsprobe run` and the
 * information-erasure probe of every model (internal; DESIGN §2).
 *
 * After the teachers (the run's models, one per seed and ε) are trained and
 * analysed:
 *   - the probe set is built once (lsp_erasure: M training examples of each
 *     class of the pair the first ε = 0 teacher confuses most on validation,
 *     R perturbed copies each) and every model of the run is scored on it;
 *   - with distillation on, for each seed and teacher ε: students of the
 *     student architecture distilled at every T of the grid from the
 *     teacher's logits (computed once per teacher over the training split),
 *     the T with the best validation accuracy chosen; and hard-label
 *     baselines of the same architecture at every ε of the grid (so both
 *     ε = 0 and each teacher's ε). Students are cached like the teachers;
 *   - test accuracy with bootstrap intervals for every student, paired
 *     differences (best student of each smoothed teacher minus the best
 *     student of the ε = 0 teacher, same seed) and the verdict
 *     (lsp_distill_finding). */
#ifndef LSP_RUN_DISTILL_H
#define LSP_RUN_DISTILL_H

#include <stddef.h>
#include <stdint.h>

#include "reports/lsp_distill_finding.h"
#include "reports/lsp_erasure.h"
#include "reports/lsp_run.h"

typedef struct lsp_run_state lsp_run_state;

#define LSP_DISTILL_MAX_T 8

typedef struct {
  char tag[96];     /* file names: "student_t0.1_T4_seed1"       */
  char label[128];  /* legends: "student of ε = 0.1, T = 4"      */
  char *model_file; /* owned: the cache entry's path               */
  int cached;
  int distilled;      /* 1: distilled; 0: a hard-label baseline      */
  size_t teacher;     /* distilled: index into the run's models      */
  double teacher_eps; /* distilled: the teacher's ε; baseline: NaN   */
  double temperature; /* distilled: T; baseline: NaN                 */
  double eps;         /* smoothing of its own hard-label loss        */
  unsigned long seed;
  double val_accuracy; /* after the last epoch                        */
  double test_accuracy, acc_lo, acc_hi; /* bootstrap 95% interval        */
  uint8_t *test_correct; /* owned: n_test                               */
  double mi;             /* Î on the probe set (NaN if it failed)       */
  double mi_lo, mi_hi;   /* its bootstrap 95% interval                  */
  double train_seconds;
} lsp_run_student;

typedef struct {  /* one teacher (seed, ε) and its students      */
  size_t teacher; /* index into the run's models                 */
  size_t student[LSP_DISTILL_MAX_T]; /* per T: index into students        */
  size_t best;      /* index into temps of the T chosen on val     */
  size_t base_same; /* hard-label student with the teacher's ε     */
  size_t base_zero; /* hard-label student with ε = 0 (SIZE_MAX: none) */
  /* best student minus the best student of the ε = 0 teacher (same seed),
   * paired bootstrap on the test set; NaN for the ε = 0 teacher itself */
  double diff, lo, hi;
  /* the teacher's accuracy minus the ε = 0 teacher's, paired bootstrap */
  double tdiff, tlo, thi;
  /* the teacher's Î minus the ε = 0 teacher's, paired bootstrap over the
   * probe's examples (NaN without the probe) */
  double midiff, milo, mihi;
} lsp_run_dteacher;

typedef struct {
  /* information erasure, every model */
  int mi_on;            /* the probe ran                               */
  int mi_a, mi_b;       /* the class pair                              */
  size_t mi_ref;        /* the model that chose it (lsp_run_reference)  */
  size_t mi_confusions; /* C[a][b] + C[b][a] on validation             */
  size_t mi_m, mi_r;    /* examples per class, copies per example      */
  int mi_shifted;       /* shifts applied (the data has an image shape) */
  lsp_erasure_opts mi_opts;
  double mi_bound;   /* log 2M                                      */
  double mi_floor;   /* ½ log(R/(R−1)): the estimate with no information */
  char mi_note[512]; /* why the probe did not run, or ""            */
  lsp_erasure_set *set; /* owned: the probe set (NULL if not built)    */
  /* distillation */
  int on;                 /* the section ran                             */
  char student_arch[256]; /* e.g. "784-64-10" (lsp_model_describe)       */
  char *student_canon;    /* owned: its canonical string (the cache key) */
  double alpha;
  double temps[LSP_DISTILL_MAX_T];
  size_t ntemps;
  size_t nstudents;
  lsp_run_student *students; /* owned                                     */
  size_t nteachers;
  lsp_run_dteacher *teachers; /* owned: seed-major, ε in the run's order  */
  lsp_distill_verdict verdict;
  int has_verdict; /* a smoothed and an unsmoothed teacher exist  */
  double verdict_eps; /* the ε it is judged at (the study's, §9.2) */
  double seconds;  /* the section's wall time (training included) */
} lsp_run_distill;

/* The probe on every model of the run (sets s->models[i].mi and the mi_*
 * fields); a data set without a validation split or a class too small is
 * noted and skipped, not an error. */
int lsp_run_erasure(lsp_run_state *s, lsp_run_log_fn log, void *user);

/* Build the student network of opts.student_arch (with the teachers'
 * --normalize) once for the data: a bad spec fails before anything is
 * trained; keeps its description and canonical string. */
int lsp_run_distill_prepare(lsp_run_state *s);

/* Train (or reuse) and score every student, the paired differences and
 * the verdict. */
int lsp_run_distill_students(lsp_run_state *s, const char *models_dir,
                             lsp_run_log_fn log, void *user);

void lsp_run_distill_free(lsp_run_distill *D);

#endif
