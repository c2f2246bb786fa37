/* lsp_clusters_pairs.c — class-mean distances over the pairs of classes
 * (the k×k tables up to LSP_CLUSTERS_TABLE_K classes, their coefficient of
 * variation, the closest pairs) and the JSON form of the cluster
 * statistics (lsp_clusters.h). */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/lsp_clusters_int.h"
#include "core/base/lsp_error.h"

/* The order of the closest pairs: 1 if p comes before q. A total order, so
 * the list does not depend on how the pairs were split among threads. */
static int before(const lsp_clusters_pair *p, const lsp_clusters_pair *q) {
  if (p->cos_dist != q->cos_dist) return p->cos_dist < q->cos_dist;
  if (p->dist != q->dist) return p->dist < q->dist;
  if (p->a != q->a) return p->a < q->a;
  return p->b < q->b;
}

/* Insert p into the sorted list top[0..*n) of at most LSP_CLUSTERS_CLOSEST. */
static void keep(lsp_clusters_pair *top, size_t *n, const lsp_clusters_pair *p) {
  size_t m = *n;
  if (m == LSP_CLUSTERS_CLOSEST && !before(p, &top[m - 1])) return;
  size_t i = m < LSP_CLUSTERS_CLOSEST ? m : m - 1;
  while (i > 0 && before(p, &top[i - 1])) {
    top[i] = top[i - 1];
    i--;
  }
  top[i] = *p;
  if (m < LSP_CLUSTERS_CLOSEST) *n = m + 1;
}

int lsp_clusters_pairs(lsp_clusters *c, const double *mu, const double *mu_u,
                       const size_t *used, size_t ku, int nt) {
  const size_t k = c->k, h = c->h;
  if (c->mean_dist) {
    memset(c->mean_dist, 0, k * k * sizeof *c->mean_dist);
    memset(c->mean_cos_dist, 0, k * k * sizeof *c->mean_cos_dist);
  }
  /* per first class a: Σ d and Σ d² over b > a, summed in the order of a
   * afterwards (the same bits for every thread count) */
  double *rs = calloc(3 * ku, sizeof *rs), *nrm = rs + 2 * ku;
  lsp_clusters_pair *tops = malloc((size_t)nt * LSP_CLUSTERS_CLOSEST * sizeof *tops);
  size_t *ntop = calloc((size_t)nt, sizeof *ntop);
  if (!rs || !tops || !ntop) {
    free(rs);
    free(tops);
    free(ntop);
    return lsp_fail(LSP_ENOMEM, "out of memory (%zu classes)", ku);
  }
  /* ‖μ^u‖² of each class once, not once a pair */
  for (size_t a = 0; a < ku; a++) {
    const double *u = mu_u + used[a] * h;
    double q = 0.0;
    for (size_t t = 0; t < h; t++) q += u[t] * u[t];
    nrm[a] = q;
  }
#pragma omp parallel num_threads(nt)
  {
    const int me = omp_get_thread_num();
    lsp_clusters_pair *top = tops + (size_t)me * LSP_CLUSTERS_CLOSEST;
#pragma omp for schedule(dynamic, 16)
    for (size_t a = 0; a < ku; a++) {
      double sum = 0.0, sum2 = 0.0;
      for (size_t b = a + 1; b < ku; b++) {
        const double *x = mu + used[a] * h, *y = mu + used[b] * h;
        const double *ux = mu_u + used[a] * h, *uy = mu_u + used[b] * h;
        double d2 = 0.0, dot = 0.0;
        for (size_t t = 0; t < h; t++) {
          d2 += (x[t] - y[t]) * (x[t] - y[t]);
          dot += ux[t] * uy[t];
        }
        const double nx = nrm[a], ny = nrm[b], d = sqrt(d2);
        /* A mean direction of length 0 (directions that cancel) has no
         * angle: it is treated as orthogonal to every other, cosine
         * distance 1. */
        double cd = nx > 0.0 && ny > 0.0 ? 1.0 - dot / sqrt(nx * ny) : 1.0;
        if (c->mean_dist) {
          c->mean_dist[used[a] * k + used[b]] = c->mean_dist[used[b] * k + used[a]] = d;
          c->mean_cos_dist[used[a] * k + used[b]] =
              c->mean_cos_dist[used[b] * k + used[a]] = cd;
        }
        sum += d;
        sum2 += d * d;
        const lsp_clusters_pair p = {used[a], used[b], d, cd};
        keep(top, &ntop[me], &p);
      }
      rs[2 * a] = sum;
      rs[2 * a + 1] = sum2;
    }
  }
  double sum = 0.0, sum2 = 0.0;
  for (size_t a = 0; a < ku; a++) {
    sum += rs[2 * a];
    sum2 += rs[2 * a + 1];
  }
  const double pairs = (double)ku * (double)(ku - 1) / 2.0;
  double m = sum / pairs;
  double var = sum2 / pairs - m * m;
  c->mean_dist_cv = m > 0.0 ? sqrt(var > 0.0 ? var : 0.0) / m : 0.0;
  c->n_closest = 0;
  for (int q = 0; q < nt; q++)
    for (size_t i = 0; i < ntop[q]; i++)
      keep(c->closest, &c->n_closest, &tops[(size_t)q * LSP_CLUSTERS_CLOSEST + i]);
  free(rs);
  free(tops);
  free(ntop);
  return LSP_OK;
}

static void json_or_null(lsp_json *j, int ok, double v) {
  if (ok)
    lsp_json_num(j, v);
  else
    lsp_json_null(j);
}

void lsp_clusters_json(const lsp_clusters *c, lsp_json *j) {
  lsp_json_key_num(j, "r2_separation", c->r2_separation);
  lsp_json_key_num(j, "trace_ratio", c->trace_ratio);
  lsp_json_key_num(j, "nc1", c->nc1);
  lsp_json_key_int(j, "nc1_rank", (long long)c->nc1_rank);
  lsp_json_key_num(j, "d_within", c->d_within);
  lsp_json_key_num(j, "d_total", c->d_total);
  lsp_json_key_num(j, "trace_within", c->trace_within);
  lsp_json_key_num(j, "trace_between", c->trace_between);
  lsp_json_key_num(j, "tightness_mean", c->tightness_mean);
  /* one pair of classes has no spread of distances to measure */
  lsp_json_key(j, "mean_distance_cv");
  json_or_null(j, c->k_used >= 3, c->mean_dist_cv);
  lsp_json_key_int(j, "n", (long long)c->n);
  lsp_json_key_int(j, "h", (long long)c->h);
  lsp_json_key_int(j, "k", (long long)c->k);
  lsp_json_key_int(j, "n_used", (long long)c->n_used);
  lsp_json_key_int(j, "n_zero_rows", (long long)c->n_zero_rows);
  lsp_json_key_int(j, "k_used", (long long)c->k_used);
  lsp_json_key(j, "empty_classes");
  lsp_json_arr_begin(j);
  for (size_t y = 0; y < c->k; y++)
    if (c->count[y] == 0) lsp_json_int(j, (long long)y);
  lsp_json_arr_end(j);
  lsp_json_key(j, "classes");
  lsp_json_arr_begin(j);
  for (size_t y = 0; y < c->k; y++) {
    lsp_json_obj_begin(j);
    lsp_json_key_int(j, "class", (long long)y);
    lsp_json_key_int(j, "count", (long long)c->count[y]);
    lsp_json_key_int(j, "zero_rows", (long long)c->zero_count[y]);
    lsp_json_key(j, "tightness");
    json_or_null(j, c->count[y] > 0, c->tightness[y]);
    lsp_json_obj_end(j);
  }
  lsp_json_arr_end(j);
  lsp_json_key(j, "closest_pairs");
  lsp_json_arr_begin(j);
  for (size_t i = 0; i < c->n_closest; i++) {
    lsp_json_obj_begin(j);
    lsp_json_key_int(j, "a", (long long)c->closest[i].a);
    lsp_json_key_int(j, "b", (long long)c->closest[i].b);
    lsp_json_key_num(j, "distance", c->closest[i].dist);
    lsp_json_key_num(j, "cosine_distance", c->closest[i].cos_dist);
    lsp_json_obj_end(j);
  }
  lsp_json_arr_end(j);
  const char *names[2] = {"mean_distances", "mean_cosine_distances"};
  const double *mats[2] = {c->mean_dist, c->mean_cos_dist};
  for (int q = 0; q < 2; q++) {
    lsp_json_key(j, names[q]);
    if (!mats[q]) { /* beyond LSP_CLUSTERS_TABLE_K classes */
      lsp_json_null(j);
      continue;
    }
    lsp_json_arr_begin(j);
    for (size_t a = 0; a < c->k; a++) {
      lsp_json_arr_begin(j);
      for (size_t b = 0; b < c->k; b++)
        json_or_null(j, c->count[a] > 0 && c->count[b] > 0, mats[q][a * c->k + b]);
      lsp_json_arr_end(j);
    }
    lsp_json_arr_end(j);
  }
}
