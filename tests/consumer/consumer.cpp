// A C++ program outside the lsprobe tree, built against the installed
// library (tests/install.sh: g++ with pkg-config, and CMake's
// find_package): the public headers give C linkage to every function, so
// the calls below link. It checks a loss against the formula it computes
// itself and an error path. Exit 0 when all hold.
#include <lsprobe/lsprobe.h>

#include <cmath>
#include <cstdio>
#include <cstring>

static int failures = 0;

static void check(bool ok, const char *what, double got, double want) {
  std::printf("%s %s: %.9g (want %.9g)\n", ok ? "ok  " : "FAIL", what, got, want);
  failures += !ok;
}

int main() {
  if (lsp_init() != LSP_OK) return 1;
  check(std::strcmp(lsp_version(), LSPROBE_VERSION) == 0, "library version = header version",
        0, 0);
  // one row of K = 2 logits, label 0, no smoothing: log(1 + e^(z1 - z0))
  const float z[2] = {2.0f, -1.0f};
  const int32_t y[1] = {0};
  lsp_ls ls = {0.0, LSP_LS_UNIFORM, 0};
  double mean = 0.0;
  int st = lsp_loss_xent(z, y, 1, 2, &ls, nullptr, 1.0, nullptr, &mean);
  double want = std::log1p(std::exp(-3.0));
  check(st == LSP_OK && std::fabs(mean - want) < 1e-7, "cross-entropy", mean, want);
  ls.eps = 0.1;
  double gap = lsp_ls_optimal_gap(&ls, 10), want_gap = std::log(1.0 + 10 * 0.9 / 0.1);
  check(std::fabs(gap - want_gap) < 1e-12, "optimal gap K = 10", gap, want_gap);
  // an error: a label out of range, with the library's message
  const int32_t bad[1] = {5};
  st = lsp_loss_xent(z, bad, 1, 2, &ls, nullptr, 1.0, nullptr, &mean);
  check(st == LSP_EDATA && std::strstr(lsp_errmsg(), "row 0") != nullptr, "bad label refused",
        st, LSP_EDATA);
  std::printf("  message: %s\n", lsp_errmsg());
  std::printf("%s\n", failures ? "consumer.cpp: FAILED" : "consumer.cpp: all checks passed");
  return failures ? 1 : 0;
}
