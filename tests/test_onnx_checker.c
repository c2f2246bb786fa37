/* ONNX's own tools judge the files lsprobe writes: onnx.checker.check_model
 * (full_check) accepts them, and ONNX's shape inference (strict mode) gives
 * every value the shape lsprobe's checker computed. Files: the hand-built
 * MLP and CNN (tests/onnx_build.h), PyTorch's torch_cnn_tiny exports read
 * and written again, and lsprobe models exported (`lsprobe export`:
 * LeNet-5 with input normalization, ResNet-8, and a network with every
 * other layer kind: asymmetric, reflect, edge and -inf padding, ceil_mode,
 * average pooling without the padding, batch norm, reshape), and PyTorch
 * exports with Mul of two values, Concat, ReduceMean and BatchNorm1d
 * (tests/data/onnx_graphops), and with ReduceMean and ReduceMax over one
 * spatial axis at a time (tests/data/onnx_pool), read and written again;
 * global max pooling exported as GlobalMaxPool.
 *
 * Needs Debian python3-onnx, run as /usr/bin/python3; exits 77 (ctest:
 * skipped, not passed) when that is absent. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/import/onnx/lsp_onnx.h"
#include "testutil.h"
/* after testutil.h: they use cmocka */
#include "onnx_build.h"

static const char k_script[] =
    "import sys, onnx\n"
    "from onnx import shape_inference\n"
    "for p in sys.argv[1:]:\n"
    "    m = onnx.load(p)\n"
    "    onnx.checker.check_model(m, full_check=True)\n"
    "    i = shape_inference.infer_shapes(m, check_type=True, "
    "strict_mode=True)\n"
    "    for v in list(i.graph.value_info) + list(i.graph.output):\n"
    "        t = v.type.tensor_type\n"
    "        d = [x.dim_value if x.HasField('dim_value') else -1\n"
    "             for x in t.shape.dim]\n"
    "        print(p, v.name, t.elem_type, len(d), *d)\n";

#define NMODELS 12

static lsp_onnx_model *exported(const char *spec, lsp_shape in,
                                const float *norm, size_t nnorm) {
  lsp_model *m = NULL;
  lsp_onnx_model *om = NULL;
  if (lsp_model_from_spec(spec, in, 5, norm, nnorm, &m) ||
      lsp_model_init(m, 1) || lsp_onnx_from_model(m, &om))
    printf("FAIL: %s: %s\n", spec, lsp_errmsg());
  lsp_model_free(m);
  return om;
}

static int run(void) {
  lsp_onnx_model *m[NMODELS] = {NULL};
  char paths[NMODELS][512];
  int bad = 0;
  m[0] = onnx_build_mlp();
  m[1] = onnx_build_cnn();
  if (lsp_onnx_read(td_path("torch_cnn_tiny/model.onnx"), &m[2]) ||
      lsp_onnx_read(td_path("torch_cnn_tiny/model_bn.onnx"), &m[3]) ||
      lsp_onnx_read(td_path("onnx_graphops/cnn_keep_op13.onnx"), &m[7]) ||
      lsp_onnx_read(td_path("onnx_graphops/mlp_op17.onnx"), &m[8]) ||
      /* ReduceMean over one axis then the next (keepdims 0), ReduceMax */
      lsp_onnx_read(td_path("onnx_pool/meanneg_op13.onnx"), &m[10]) ||
      lsp_onnx_read(td_path("onnx_pool/amax2_op13.onnx"), &m[11])) {
    printf("FAIL: %s\n", lsp_errmsg());
    return 1;
  }
  const float norm[6] = {0.286f, 0.1f, 0.2f, 0.353f, 0.5f, 0.25f};
  m[4] = exported("lenet", (lsp_shape){1, 28, 28}, norm, 2);
  m[5] = exported("resnet8", (lsp_shape){1, 12, 12}, NULL, 0);
  m[6] = exported(
      "pad(pt=1,pl=2,pb=0,pr=1,value=0.25) conv(4,3,s=2) relu "
      "pad(pt=1,pb=1,pl=1,pr=1,mode=1) maxpool(3,s=2,p=1,ceil_mode=1) "
      "pad(pt=2,pr=1,mode=2) avgpool(2,p=1,count_pad=0) pad(pt=1,mode=3) "
      "maxpool(2,s=1) bn gap reshape(c=2,h=2,w=1) conv(3,1) flatten",
      (lsp_shape){3, 11, 10}, norm, 6);
  /* the activations (Gelu, opset 20, is past python3-onnx 1.12's opsets) */
  m[9] = exported(
      "conv(4,3) sigmoid conv(4,3) tanh leakyrelu elu selu clip(lo=0,hi=6) "
      "clip(hi=0.5) clip(lo=-0.25) hardsigmoid hardswish softplus erf gmp "
      "flatten",
      (lsp_shape){2, 9, 9}, NULL, 0);
  for (int k = 4; k < 10; k++)
    if (!m[k]) return 1;
  char cmd[8192];
  size_t at = (size_t)snprintf(cmd, sizeof cmd, "/usr/bin/python3 -c \"$S\"");
  for (int k = 0; k < NMODELS; k++) {
    char name[32];
    snprintf(name, sizeof name, "checker%d.onnx", k);
    snprintf(paths[k], sizeof paths[k], "%s", td_tmp(name));
    if (lsp_onnx_write(m[k], paths[k]) != LSP_OK) {
      printf("FAIL: write %s: %s\n", paths[k], lsp_errmsg());
      return 1;
    }
    at += (size_t)snprintf(cmd + at, sizeof cmd - at, " '%s'", paths[k]);
  }
  setenv("S", k_script, 1);
  FILE *p = popen(cmd, "r");
  if (!p) return 1;
  char line[1024];
  size_t seen[NMODELS] = {0};
  while (fgets(line, sizeof line, p)) {
    char file[512], value[256];
    int elem, rank, off;
    if (sscanf(line, "%511s %255s %d %d%n", file, value, &elem, &rank, &off) !=
        4)
      continue;
    long long dims[8] = {0};
    for (int d = 0; d < rank && d < 8; d++) {
      int used;
      if (sscanf(line + off, "%lld%n", &dims[d], &used) != 1) break;
      off += used;
    }
    for (int k = 0; k < NMODELS; k++) {
      if (strcmp(file, paths[k]) != 0) continue;
      const lsp_onnx_node *nd = NULL;
      for (size_t j = 0; j < m[k]->nnodes; j++)
        if (!strcmp(m[k]->nodes[j].output, value)) nd = &m[k]->nodes[j];
      if (!nd) continue; /* the writer's own int64 inputs */
      int same = elem == LSP_ONNX_FLOAT && rank == nd->out.rank;
      for (int d = 0; same && d < rank; d++) same = dims[d] == nd->out.dims[d];
      if (!same) {
        printf("FAIL %s: %s: ONNX infers %s", file, value, line);
        bad = 1;
      }
      seen[k]++;
    }
  }
  int rc = pclose(p);
  if (rc != 0) {
    printf(
        "FAIL: the ONNX checker or shape inference rejected a file (exit "
        "%d; its message is above)\n",
        rc);
    bad = 1;
  }
  for (int k = 0; k < NMODELS; k++) {
    if (seen[k] != m[k]->nnodes) { /* every node's output got a shape */
      printf("FAIL %s: ONNX gave shapes for %zu of %zu values\n", paths[k],
             seen[k], m[k]->nnodes);
      bad = 1;
    }
    printf("%s: %zu nodes, checker ok, shapes agree: %s\n", paths[k],
           m[k]->nnodes, bad ? "no" : "yes");
    remove(paths[k]);
    lsp_onnx_model_free(m[k]);
  }
  return bad;
}

/* cmocka's helpers (assert_*) in onnx_build.h need a test context. */
static int g_rc = 0;
static void test_checker(void **state) {
  (void)state;
  g_rc = run();
  assert_int_equal(g_rc, 0);
}

int main(void) {
  if (system("/usr/bin/python3 -c 'import onnx' >/dev/null 2>&1") != 0) {
    printf(
        "SKIPPED: /usr/bin/python3 cannot import onnx (Debian package "
        "python3-onnx)\n");
    return 77;
  }
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_checker)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
