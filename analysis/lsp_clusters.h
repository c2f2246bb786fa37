/* lsp_clusters.h — penultimate-layer cluster geometry (DESIGN §2).
 *
 * From features h_i ∈ R^H (the input of the last linear layer, float32) and
 * labels y_i ∈ [0, K) this module measures how tightly each class clusters
 * and how far apart the classes sit:
 *
 *   class separation R² (Kornblith et al. 2021; cosine distance, self-pairs
 *     included) with u_i = h_i/‖h_i‖, μ^u_k the mean u of class k:
 *       d_within = 1 − (1/K)Σ_k ‖μ^u_k‖²,  d_total = 1 − ‖(1/K)Σ_k μ^u_k‖²,
 *       R² = 1 − d_within/d_total;
 *   scatter: Σ_W = mean over examples of (h−μ_y)(h−μ_y)ᵀ,
 *     Σ_B = (1/K)Σ_k (μ_k−μ_G)(μ_k−μ_G)ᵀ with μ_G = (1/K)Σ_k μ_k (the class
 *     means weighted equally, like every class average here);
 *     trace ratio tr(Σ_W)/tr(Σ_B); NC1 = tr(Σ_W Σ_B⁺)/K (Papyan et al. 2020),
 *     Σ_B⁺ keeping the K−1 leading eigen-components;
 *   per-class tightness: mean cosine distance of a class's examples to its
 *     mean direction, which equals 1 − ‖μ^u_k‖ exactly;
 *   class-mean distances: Euclidean ‖μ_j − μ_k‖ and the cosine distance of
 *     the mean directions, K×K, and the coefficient of variation of the
 *     off-diagonal Euclidean distances (0 = equidistant classes).
 *
 * Exclusion rule (never a NaN):
 *   - A row with h = 0 (every unit of a ReLU layer dead) has no direction.
 *     It is counted (n_zero_rows, zero_count[k]) and left out of EVERY
 *     statistic, so that all statistics describe the same examples.
 *   - A class with no remaining rows is "empty": counted (k - k_used), left
 *     out of every class average, and K above means k_used. Its per-class
 *     entries are 0 and its count is 0.
 *   - Fewer than 2 non-empty classes, all directions identical (d_total = 0)
 *     or all class means equal (tr Σ_B = 0): LSP_EDATA.
 *
 * Speed: two streaming passes over the N×H features, O(N·H·K), no H×H
 * matrix. NC1 uses tr(Σ_W Σ_B⁺) = (1/N)Σ_i Σ_j ((h_i−μ_{y_i})·v_j)²/λ_j over
 * the eigenpairs (λ_j, v_j) of Σ_B, and those come exactly from the K×K Gram
 * matrix of the centred class means (GSL's gsl_eigen_symmv). The work is
 * split over OpenMP threads (lsp_threads_set): the class sums by feature
 * column (each summed over the rows in row order), the within-class terms
 * by row (kept per row, then added in row order), so the results are the
 * same bits for every thread count. */
#ifndef LSP_CLUSTERS_H
#define LSP_CLUSTERS_H

#include <stddef.h>
#include <stdint.h>

#include "core/formats/lsp_arraycheck.h"
#include "core/formats/lsp_json.h"

/* Classes up to which the k×k class-mean tables are kept (and written to
 * JSON); beyond, mean_dist and mean_cos_dist are NULL and the closest
 * pairs summarise them (k = 1000 would make 2 × 10⁶ numbers a model). */
#define LSP_CLUSTERS_TABLE_K 100
/* How many closest class pairs are kept. */
#define LSP_CLUSTERS_CLOSEST 10

/* Two classes a < b and the distances between their means. */
typedef struct {
  size_t a, b;
  double dist;     /* ‖μ_a − μ_b‖             */
  double cos_dist; /* 1 − cos(μ^u_a, μ^u_b)   */
} lsp_clusters_pair;

typedef struct {
  size_t n, h, k;       /* rows given, feature width, classes (labels < k)  */
  size_t n_used;        /* rows that enter the statistics (h != 0)          */
  size_t n_zero_rows;   /* all-zero rows, excluded                          */
  size_t k_used;        /* non-empty classes (the K of the formulas)        */
  size_t *count;        /* k: rows used per class; owned                    */
  size_t *zero_count;   /* k: all-zero rows per class; owned                */
  double r2_separation; /* class separation R², in (-inf, 1]                */
  double d_within;      /* mean within-class cosine distance                */
  double d_total;       /* mean cosine distance over all pairs              */
  double trace_within;  /* tr Σ_W                                           */
  double trace_between; /* tr Σ_B                                           */
  double trace_ratio;   /* tr Σ_W / tr Σ_B                                  */
  double nc1;        /* tr(Σ_W Σ_B⁺)/K                                   */
  size_t nc1_rank;   /* eigen-components of Σ_B kept (≤ K−1)             */
  double *tightness; /* k: 1 − ‖μ^u_k‖, mean cosine distance to the mean
                        direction (0 for an empty class); owned          */
  double tightness_mean; /* mean over non-empty classes                     */
  double *mean_dist; /* k×k: ‖μ_j − μ_k‖ (0 where a class is empty);
                        NULL when k > LSP_CLUSTERS_TABLE_K              */
  double *mean_cos_dist; /* k×k: 1 − cos(μ^u_j, μ^u_k) (0 where empty);
                            NULL when k > LSP_CLUSTERS_TABLE_K          */
  double mean_dist_cv; /* std/mean of the ‖μ_j − μ_k‖ over the pairs of
                          non-empty classes; defined only for k_used ≥ 3
                          (two or more pairs), 0 and shown as null / n/a
                          otherwise                                     */
  /* The pairs of non-empty classes whose mean directions are closest:
   * smallest cosine distance first (ties: smaller distance, then smaller
   * a, then smaller b); min(LSP_CLUSTERS_CLOSEST, pairs) of them. */
  lsp_clusters_pair closest[LSP_CLUSTERS_CLOSEST];
  size_t n_closest;
} lsp_clusters;

/* A result for k classes (arrays sized k, and k×k up to
 * LSP_CLUSTERS_TABLE_K classes, zeroed); NULL when out of memory. Free
 * with lsp_clusters_free (NULL is a no-op). */
lsp_clusters *lsp_clusters_alloc(size_t k);
void lsp_clusters_free(lsp_clusters *c);

/* Measure the cluster geometry of `feat` (n×h float32, row-major) with
 * labels `labels` (n int32, each in [0, out->k)) into `out` (from
 * lsp_clusters_alloc(k)). Accumulates in double. Errors: LSP_EINVAL for
 * n == 0, h == 0 or k < 2; LSP_EDATA naming the first offending row for a
 * label out of range or a non-finite feature, and for the degenerate cases
 * of the exclusion rule above; LSP_ENOMEM. On error `out` is unspecified. */
int lsp_clusters_compute(const float *feat, const int32_t *labels, size_t n,
                         size_t h, lsp_clusters *out);

/* Inputs that would make the statistics mislead, refused by the callers
 * that read features from files or arrays (lsprobe clusters, the API):
 *
 * lsp_clusters_check_f64: `src` (n×h float64) converted to `x` (float32).
 * A row whose values are all zero in x but not in src (every value below
 * float32's smallest, 1e-45) would be taken for a dead row and left out;
 * LSP_EDATA names the row and its largest |value| (prefixed by `what`).
 *
 * lsp_clusters_check_k: with K = 1 + the largest label (no last layer to
 * give it), a K above LSP_CLUSTERS_SPARSE_K with more absent classes than
 * present ones is taken for a label out of range (it would make up
 * classes that are not there): LSP_EDATA naming the largest label and
 * where it is. LSP_ENOMEM. */
#define LSP_CLUSTERS_SPARSE_K LSP_LABELS_SPARSE_K
int lsp_clusters_check_f64(const double *src, const float *x, size_t n,
                           size_t h, const char *what);
int lsp_clusters_check_k(const int32_t *labels, size_t n, const char *what);

/* The full scatter matrices (h×h, row-major, double), for callers that want
 * them rather than their traces: Σ_W by CBLAS dsyrk on blocks of rows
 * centred by their class mean, Σ_B from the centred class means; both under
 * the exclusion rule above. O(N·H²). `sw` and `sb` are caller-owned h×h
 * arrays (either may be NULL). Errors as lsp_clusters_compute. */
int lsp_clusters_scatter(const float *feat, const int32_t *labels, size_t n,
                         size_t h, size_t k, double *sw, double *sb);

/* Write the statistics as key/value pairs into the JSON object the caller
 * has opened: r2_separation, trace_ratio, nc1 (DESIGN §4) and the rest;
 * per-class values of empty classes are written as null, the k×k tables
 * as null beyond LSP_CLUSTERS_TABLE_K classes (closest_pairs always). */
void lsp_clusters_json(const lsp_clusters *c, lsp_json *j);

#endif
