/* lsp_projection.h — the Müller et al. 2019 projection of three classes and
 * the confusion matrix that picks them (DESIGN §2).
 *
 * Templates are the rows of the last linear layer with the bias appended,
 * w_k = (W_k, b_k) ∈ R^{H+1}, and every feature row is extended the same way,
 * h̃ = (h, 1), so that the logit is z_k = w_k·h̃. For classes a, b, c the
 * plane through w_a, w_b, w_c has the orthonormal basis e1, e2 obtained by
 * Gram–Schmidt of (w_b − w_a, w_c − w_a); an example maps to
 * ((h̃ − w_a)·e1, (h̃ − w_a)·e2). The templates map to a triangle with their
 * own pairwise distances: w_a to (0, 0), w_b to (‖w_b − w_a‖, 0).
 *
 * The templates are plain arrays (W K×H float32 row-major, b K float32), so
 * they can come from .npy files or from a loaded lsprobe model's last layer. */
#ifndef LSP_PROJECTION_H
#define LSP_PROJECTION_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  int cls[3];        /* the classes a, b, c                                */
  size_t h;          /* feature width (the templates have h + 1 entries)   */
  double *e1, *e2;   /* h + 1 each: the orthonormal basis; owned           */
  double tmpl[3][2]; /* the template points of a, b, c                     */
  size_t m;          /* examples of the three classes                      */
  size_t *index;     /* m: their row in the features; owned                */
  int32_t *label;    /* m: their label; owned                              */
  double *xy;        /* m×2: their coordinates; owned                      */
} lsp_proj;

/* Confusion counts of n examples over k classes, kept sparse: memory
 * grows with n and k, not k² (lsp_confusion.c). */
typedef struct {
  size_t k;        /* classes                                               */
  size_t n;        /* examples counted                                      */
  size_t right;    /* examples whose prediction is their label              */
  size_t *diag;    /* k: per class, the examples predicted right; owned     */
  size_t npairs;   /* distinct (true, predicted) pairs with true ≠ predicted */
  uint64_t *code;  /* npairs: true·k + predicted, ascending; owned          */
  size_t *count;   /* npairs: the examples of each pair; owned              */
} lsp_confusion;

/* Confusion counts (true t, predicted p) of the linear head
 * z = feat·Wᵀ + b, argmax ties to the lowest index. feat n×h, W k×h, b k
 * (float32), labels n in [0, k); *out is filled (free with
 * lsp_confusion_free; zeroed on failure). The logits are formed block by
 * block with CBLAS sgemm. Errors: LSP_EINVAL for empty shapes or k < 2;
 * LSP_EDATA for a label out of range or a non-finite logit (naming the
 * row); LSP_ENOMEM. */
int lsp_proj_confusion(const float *feat, const int32_t *labels, size_t n,
                       size_t h, const float *W, const float *b, size_t k,
                       lsp_confusion *out);

/* The same confusion counts from logits already computed (n×k float32,
 * labels n in [0, k)). Errors as lsp_proj_confusion. */
int lsp_proj_confusion_logits(const float *logits, const int32_t *labels,
                              size_t n, size_t k, lsp_confusion *out);

/* LSP_EDATA "WHAT: label L of row I is outside [0, k)" for the first label
 * out of range, else LSP_OK (the confusion's and the projection's check). */
int lsp_proj_check_labels(const int32_t *labels, size_t n, size_t k, const char *what);

/* The examples of true class t predicted as p (0 outside [0, k)). */
size_t lsp_confusion_get(const lsp_confusion *c, size_t t, size_t p);

/* The confused pairs of classes a < b, each once with its count
 * conf[a][b] + conf[b][a] (> 0), ascending in (a, b): *out (malloc'ed,
 * the caller frees it) and *n. LSP_ENOMEM. */
typedef struct {
  size_t a, b, s;
} lsp_conf_pair;
int lsp_confusion_pairs(const lsp_confusion *c, lsp_conf_pair **out, size_t *n);

/* Frees the counts' arrays (NULL or already freed: nothing). */
void lsp_confusion_free(lsp_confusion *c);

/* The three most mutually confused classes: the triple a < b < c that
 * maximizes the summed pairwise confusion Σ over its pairs of
 * conf[a][b] + conf[b][a], ties to the lexicographically lowest triple.
 * Writes cls[3] and, if `score` is non-NULL, the maximum. Exact, in time
 * that grows with the confused pairs and their classes' neighbours, not
 * with k³. LSP_EINVAL if k < 3; LSP_ENOMEM. */
int lsp_proj_pick_classes(const lsp_confusion *c, int cls[3], size_t *score);

/* Project the examples of classes cls[0..2] (distinct, in [0, k)) onto the
 * plane of their templates. feat n×h float32, labels n int32 in [0, k),
 * W k×h and b k float32. On success *out is a new lsp_proj (free with
 * lsp_proj_free). Errors: LSP_EINVAL for repeated or out-of-range classes;
 * LSP_EDATA for non-finite templates or features of the projected rows, a
 * label out of range, or templates on one line (no plane); LSP_ENOMEM. */
int lsp_proj_compute(const float *feat, const int32_t *labels, size_t n,
                     size_t h, const float *W, const float *b, size_t k,
                     const int cls[3], lsp_proj **out);

/* Release a projection and its arrays; NULL is a no-op. */
void lsp_proj_free(lsp_proj *p);

/* Write the projection as CSV (kind,index,label,x,y: one "template" row per
 * class with index -1, then one "example" row per projected example)
 * atomically to `path`. LSP_EIO naming the file on failure. */
int lsp_proj_write_csv(const lsp_proj *p, const char *path);

#endif
