/* The optimizer steps against torch.optim (hand computation and PyTorch's
 * printed values), and the fused step on a sum of gradients and the step
 * on a velocity holding the gradient against the plain step. */
#include <math.h>
#include <string.h>

#include "core/train/lsp_train.h"
#include "testutil.h"

static void test_sgd_step_hand(void **state) {
  (void)state;
  /* torch.optim.SGD([w], lr=0.1, momentum=0.9, weight_decay=0.01), w0 = 1.5,
   * gradients 0.3, -0.2, 0.7. By hand:
   *   g1 = 0.3 + 0.015 = 0.315          v1 = 0.315      w1 = 1.4685
   *   g2 = -0.2 + 0.014685 = -0.185315  v2 = 0.098185   w2 = 1.4586815
   *   g3 = 0.7 + 0.014586815            v3 = 0.802953315 w3 = 1.3783861685
   * (PyTorch 1.13 prints 1.4685000181, 1.4586814642, 1.3783861399.) */
  const double want[3] = {1.4685, 1.4586815, 1.3783861685};
  const float grads[3] = {0.3f, -0.2f, 0.7f};
  float w = 1.5f, v = 0.0f;
  for (int t = 0; t < 3; t++) {
    lsp_train_sgd_step(&w, &grads[t], &v, 1, 0.1, 0.9, 0.01);
    td_close(w, want[t], 1e-6, 0, "sgd w", (size_t)t);
  }
  /* momentum 0 is plain gradient descent */
  w = 2.385f, v = 0.0f;
  lsp_train_sgd_step(&w, &grads[0], &v, 1, 0.5, 0.0, 0.0);
  td_close(w, 2.385 - 0.15, 1e-7, 0, "plain sgd", 0);
}

/* The fused step on a sum of gradients against lsp_train_sgd_step on the
 * sum (the same bits: it promises the same operations), for 1, 2 and 3
 * gradients (the three code paths) and every clearing pattern: the arrays
 * whose bit is set end at zero, the others untouched. */
static void test_sgd_step_sum(void **state) {
  (void)state;
  enum { N = 1100 }; /* more than the 512-wide blocks of the 3-array path */
  static float g[3][N], gk[3][N], w0[N], v0[N], w1[N], v1[N], sum[N];
  for (size_t i = 0; i < N; i++) {
    for (int s = 0; s < 3; s++) g[s][i] = (float)sin(0.37 * (double)(i + 1) * (s + 1));
    w0[i] = (float)cos(0.11 * (double)i), v0[i] = (float)(0.01 * sin((double)i));
  }
  for (size_t ng = 1; ng <= 3; ng++)
    for (unsigned clear = 0; clear < (1u << ng); clear++) {
      float *gp[3] = {gk[0], gk[1], gk[2]};
      memcpy(gk, g, sizeof gk);
      memcpy(w1, w0, sizeof w1), memcpy(v1, v0, sizeof v1);
      lsp_train_sgd_step_sum(w1, gp, ng, clear, v1, N, 0.05, 0.9, 1e-3);
      float w2[N], v2[N];
      memcpy(w2, w0, sizeof w2), memcpy(v2, v0, sizeof v2);
      for (size_t i = 0; i < N; i++) {
        sum[i] = g[0][i];
        for (size_t s = 1; s < ng; s++) sum[i] += g[s][i];
      }
      lsp_train_sgd_step(w2, sum, v2, N, 0.05, 0.9, 1e-3);
      assert_memory_equal(w1, w2, sizeof w1);
      assert_memory_equal(v1, v2, sizeof v1);
      for (size_t s = 0; s < 3; s++)
        for (size_t i = 0; i < N; i++)
          if (s < ng && (clear >> s & 1u))
            assert_true(gk[s][i] == 0.0f);
          else
            assert_true(gk[s][i] == g[s][i]);
    }
}

/* The step on a velocity the gradient was added onto (the feature split's
 * weight-gradient GEMMs add onto v kept multiplied by the momentum)
 * against lsp_train_sgd_step over five steps, bit for bit: the weights
 * after every step, and the velocity times the momentum. Momentum 0.9 and
 * 0 (plain gradient descent: v then holds the last gradient only). */
static void test_sgd_step_vel(void **state) {
  (void)state;
  enum { N = 1100 };
  static float g[N], w1[N], v1[N], w2[N], v2[N], scaled[N];
  const double mus[2] = {0.9, 0.0};
  for (int k = 0; k < 2; k++) {
    const double mu = mus[k];
    for (size_t i = 0; i < N; i++) {
      w1[i] = w2[i] = (float)cos(0.11 * (double)i);
      v1[i] = v2[i] = 0.0f;
    }
    for (int t = 0; t < 5; t++) {
      for (size_t i = 0; i < N; i++) {
        g[i] = (float)(0.1 * sin(0.37 * (double)(i + 1) * (t + 1)));
        v2[i] = v2[i] + g[i]; /* what a GEMM with beta = 1 does */
      }
      lsp_train_sgd_step(w1, g, v1, N, 0.05, mu, 0.0);
      lsp_train_sgd_step_vel(w2, v2, N, 0.05, mu);
      assert_memory_equal(w1, w2, sizeof w1);
      for (size_t i = 0; i < N; i++) scaled[i] = (float)mu * v1[i];
      assert_memory_equal(v2, scaled, sizeof v2);
    }
  }
}

static void test_adam_step(void **state) {
  (void)state;
  /* torch.optim.Adam([w], lr=0.01, weight_decay=0.01), same gradients:
   * PyTorch 1.13 prints these. */
  const double torch_w[3] = {1.4900000095367432, 1.4879951477050781,
                             1.4816009998321533};
  const float grads[3] = {0.3f, -0.2f, 0.7f};
  float w = 1.5f, m = 0, v = 0;
  double wd = 1.5, md = 0, vd = 0; /* the formula in double, by hand */
  for (int t = 1; t <= 3; t++) {
    lsp_train_adam_step(&w, &grads[t - 1], &m, &v, 1, 0.01, 0.01, (size_t)t);
    double g = grads[t - 1] + 0.01 * wd;
    md = 0.9 * md + 0.1 * g;
    vd = 0.999 * vd + 0.001 * g * g;
    wd -=
        0.01 / (1 - pow(0.9, t)) * md / (sqrt(vd / (1 - pow(0.999, t))) + 1e-8);
    td_close(w, wd, 1e-6, 0, "adam w vs double", (size_t)t);
    td_close(w, torch_w[t - 1], 1e-6, 0, "adam w vs torch", (size_t)t);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sgd_step_hand),
      cmocka_unit_test(test_sgd_step_sum),
      cmocka_unit_test(test_sgd_step_vel),
      cmocka_unit_test(test_adam_step),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
