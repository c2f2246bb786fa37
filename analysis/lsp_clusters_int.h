/* lsp_clusters_int.h — shared between lsp_clusters.c and
 * lsp_clusters_pairs.c; not part of the analysis API. */
#ifndef LSP_CLUSTERS_INT_H
#define LSP_CLUSTERS_INT_H

#include <stddef.h>

#include "analysis/lsp_clusters.h"

/* The class-mean distances of the ku non-empty classes `used`, from their
 * means `mu` and mean directions `mu_u` (k×h each, row = class): c's k×k
 * tables where it has them, mean_dist_cv and the closest pairs, on `nt`
 * threads with the same result for every count. LSP_ENOMEM. */
int lsp_clusters_pairs(lsp_clusters *c, const double *mu, const double *mu_u,
                       const size_t *used, size_t ku, int nt);

#endif
