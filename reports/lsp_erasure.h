/* lsp_erasure.h — the information-erasure probe (Müller et al. 2019, §4;
 * DESIGN §2): M training examples of each of two classes a and b, R
 * perturbed copies of each (core/data/lsp_perturb), a model's logit
 * difference d = z_a − z_b on every copy, and the Gaussian estimate
 * Î(X; d) over the 2M examples (analysis/lsp_mi). The probe set is built
 * once and scored on any number of models, so every model of a study sees
 * the very same copies. */
#ifndef LSP_ERASURE_H
#define LSP_ERASURE_H

#include <stddef.h>

#include "analysis/lsp_mi.h"
#include "core/data/lsp_data.h"
#include "core/data/lsp_perturb.h"
#include "core/nn/lsp_model.h"

typedef struct {
  size_t per_class;         /* M examples of each class (100)          */
  lsp_perturb_opts perturb; /* R copies, shifts, noise, seed           */
} lsp_erasure_opts;

void lsp_erasure_opts_default(lsp_erasure_opts *o);

typedef struct {
  int a, b;       /* the class pair                                  */
  size_t m;       /* examples per class used (M, or fewer if the
                     training split has fewer)                      */
  size_t r;       /* copies per example                              */
  size_t dim;     /* features per example                            */
  int shifted;    /* 1 when the data has an image shape (shifts on)  */
  size_t c, h, w; /* the image shape used                            */
  float *x;       /* owned: 2m·r copies × dim, example-major         */
  lsp_erasure_opts opts;
} lsp_erasure_set;

/* Build the probe set from the first M training examples (in training-split
 * order) of class a and of class b (a != b, both in [0, K)); for data
 * without an image shape the copies get noise only (shifted = 0). *out is
 * new (lsp_erasure_set_free). LSP_EINVAL for a bad pair or settings;
 * LSP_EDATA when a class has fewer than 2 training examples; LSP_ENOMEM. */
int lsp_erasure_set_build(const lsp_splits *data, int a, int b,
                          const lsp_erasure_opts *o, lsp_erasure_set **out);
void lsp_erasure_set_free(lsp_erasure_set *s); /* NULL-safe */

/* Î(X; z_a − z_b) of model m on the set (X over its 2m examples; the
 * result's bound is log 2m). d, when not NULL, receives the 2m·r logit
 * differences (example-major), for lsp_mi_bootstrap. LSP_EDATA when the
 * model does not fit the set (inputs, classes) or the estimate fails;
 * LSP_ENOMEM. */
int lsp_erasure_score(const lsp_erasure_set *s, const lsp_model *m,
                      lsp_mi_result *out, double *d);

#endif
