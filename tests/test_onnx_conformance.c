/* Conformance scan of the ONNX reader over ONNX's own backend test suite
 * (Debian libonnx-testdata: data/node/test_* and data/pytorch-converted/
 * test_*, each a model.onnx with test_data_set_0/input_<k>.pb and
 * output_<k>.pb written by ONNX's reference tools).
 *
 * Every test whose nodes all use ops lsprobe supports is read, with
 * input_1.pb, input_2.pb, ... bound to the graph's further inputs (the node
 * tests keep weights there). For each, the reader must either accept the
 * model or refuse it with a message naming the file. An accepted model is
 * checked against the suite: the graph input's shape must be that of
 * input_0.pb and the computed output shape that of output_0.pb, and
 * known cases must come out as expected (accepted, or refused for the
 * stated reason). The execution against the expected values comes with the
 * graph builder.
 *
 * Exits 77 (ctest: skipped, not passed) when the suite is not installed.
 * LSP_ONNX_TESTDATA overrides the location. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "core/import/onnx/lsp_onnx_int.h"

#define MAXT 1200

static const char *const k_supported[] = {"Conv",
                                          "Gemm",
                                          "MatMul",
                                          "Add",
                                          "Relu",
                                          "MaxPool",
                                          "AveragePool",
                                          "GlobalAveragePool",
                                          "BatchNormalization",
                                          "Flatten",
                                          "Reshape",
                                          "Pad",
                                          "Constant",
                                          "Identity"};

/* Known outcomes: test name, NULL = accepted, else a word of the reason. */
static const struct {
  const char *test, *reason;
} k_known[] = {
    {"node/test_conv_with_strides_padding", NULL},
    {"node/test_basic_conv_with_padding", NULL},
    {"node/test_gemm_default_vector_bias", NULL},
    {"node/test_gemm_transposeB", NULL},
    {"node/test_maxpool_2d_default", NULL},
    {"node/test_averagepool_2d_pads_count_include_pad", NULL},
    {"node/test_batchnorm_example", NULL},
    {"node/test_flatten_axis1", NULL},
    {"node/test_matmul_2d", NULL},
    {"node/test_globalaveragepool", "opset 1 "},
    {"node/test_maxpool_2d_ceil", "ceil_mode"},
    {"node/test_maxpool_2d_dilations", "dilations"},
    {"node/test_conv_with_autopad_same", "auto_pad"},
    {"node/test_gemm_transposeA", "transA"},
    {"node/test_gemm_default_matrix_bias", "bias"},
    {"node/test_batchnorm_example_training_mode", "3 outputs"},
    {"node/test_identity", "graph input itself"},
    {"node/test_reflect_pad", "mode"},
    {"node/test_constant_pad", "constant_value"},
    {"node/test_flatten_axis2", "axis"},
    {"node/test_maxpool_1d_default", "rank 3"},
    {"node/test_add_uint8", "uint8"},
    {"pytorch-converted/test_Conv2d", "opset 6 "},
    {"pytorch-converted/test_MaxPool2d_stride_padding_dilation", "dilations"},
};

typedef struct {
  char name[160];
  int accepted;
  char why[400];
} outcome;

static int is_dir(const char *p) {
  struct stat sb;
  return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* 1 when every node of the model uses a supported op (read with the raw
 * protobuf, independently of the reader's checks); -1 if it does not parse. */
static int all_supported(const char *buf, size_t len) {
  lsp_onnx_pbmem mem = {0, 0, lsp_onnx_pb_limit(len)};
  LspOnnx__ModelProto *mp = lsp_onnx_pb_model((const uint8_t *)buf, len, &mem);
  if (!mp) return -1;
  int ok = mp->graph != NULL;
  for (size_t k = 0; ok && mp->graph && k < mp->graph->n_node; k++) {
    const char *op = mp->graph->node[k]->op_type;
    int found = 0;
    for (size_t j = 0; op && j < sizeof k_supported / sizeof *k_supported; j++)
      found |= !strcmp(op, k_supported[j]);
    ok = found;
  }
  lsp_onnx_pb_free(&mp->base, &mem);
  return ok;
}

static int same_dims(const lsp_onnx_tensor *t, const lsp_onnx_shape *s,
                     int64_t batch) {
  if (t->ndim != s->rank) return 0;
  for (int k = 0; k < s->rank; k++) {
    int64_t want = k == 0 && s->dims[0] == -1 ? batch : s->dims[k];
    if (t->dims[k] != want) return 0;
  }
  return 1;
}

/* Read one test; returns 1 for a failed expectation (printed). */
static int run_test(const char *root, const char *suite, const char *test,
                    outcome *o) {
  char dir[1024], path[1200], pb[1300];
  snprintf(dir, sizeof dir, "%s/%s/%s", root, suite, test);
  snprintf(path, sizeof path, "%s/model.onnx", dir);
  snprintf(o->name, sizeof o->name, "%s/%s", suite, test);
  char *buf = NULL;
  size_t len = 0;
  if (lsp_read_file(path, &buf, &len) != LSP_OK) {
    printf("FAIL %s: %s\n", o->name, lsp_errmsg());
    return 1;
  }
  lsp_onnx_tensor bind[8], in0, out0;
  size_t nbind = 0;
  memset(&in0, 0, sizeof in0);
  memset(&out0, 0, sizeof out0);
  int st = LSP_OK, bad = 0;
  for (int k = 1; k <= 8 && st == LSP_OK; k++) {
    snprintf(pb, sizeof pb, "%s/test_data_set_0/input_%d.pb", dir, k);
    struct stat sb;
    if (stat(pb, &sb) != 0) break;
    st = lsp_onnx_tensor_read(pb, &bind[nbind]);
    if (st == LSP_OK) nbind++;
  }
  lsp_onnx_model *m = NULL;
  if (st == LSP_OK) st = lsp_onnx_read_mem(buf, len, path, bind, nbind, &m);
  o->accepted = st == LSP_OK;
  snprintf(o->why, sizeof o->why, "%s", o->accepted ? "" : lsp_errmsg());
  if (!o->accepted && !strstr(o->why, dir)) {
    printf("FAIL %s: the message does not name the file: %s\n", o->name,
           o->why);
    bad = 1;
  }
  if (o->accepted) { /* shapes against the suite's own tensors */
    snprintf(pb, sizeof pb, "%s/test_data_set_0/input_0.pb", dir);
    int s1 = lsp_onnx_tensor_read(pb, &in0);
    snprintf(pb, sizeof pb, "%s/test_data_set_0/output_0.pb", dir);
    int s2 = s1 == LSP_OK ? lsp_onnx_tensor_read(pb, &out0) : s1;
    if (s2 != LSP_OK) {
      printf("FAIL %s: %s\n", o->name, lsp_errmsg());
      bad = 1;
    } else if (!same_dims(&in0, &m->in_shape, in0.dims[0]) ||
               !same_dims(&out0, &m->nodes[m->nnodes - 1].out, in0.dims[0])) {
      printf("FAIL %s: shapes disagree with input_0.pb / output_0.pb\n",
             o->name);
      bad = 1;
    }
  }
  for (size_t k = 0; k < sizeof k_known / sizeof *k_known; k++) {
    if (strcmp(k_known[k].test, o->name) != 0) continue;
    int want = k_known[k].reason == NULL;
    if (want != o->accepted || (!want && !strstr(o->why, k_known[k].reason))) {
      printf("FAIL %s: expected %s%s, got %s\n", o->name,
             want ? "acceptance" : "refusal for ",
             want ? "" : k_known[k].reason,
             o->accepted ? "acceptance" : o->why);
      bad = 1;
    }
  }
  lsp_onnx_model_free(m);
  for (size_t k = 0; k < nbind; k++) lsp_onnx_tensor_release(&bind[k]);
  lsp_onnx_tensor_release(&in0);
  lsp_onnx_tensor_release(&out0);
  free(buf);
  return bad;
}

int main(void) {
  const char *root = getenv("LSP_ONNX_TESTDATA");
  if (!root) root = "/usr/share/libonnx-testdata/data";
  if (!is_dir(root)) {
    printf(
        "SKIPPED: ONNX backend test data not found at %s (Debian package "
        "libonnx-testdata)\n",
        root);
    return 77;
  }
  static outcome res[MAXT];
  size_t nres = 0, seen = 0, known_found = 0;
  int bad = 0;
  const char *suites[] = {"node", "pytorch-converted"};
  for (int s = 0; s < 2; s++) {
    char sdir[1100];
    snprintf(sdir, sizeof sdir, "%s/%s", root, suites[s]);
    DIR *d = opendir(sdir);
    if (!d) {
      printf("FAIL: %s missing\n", sdir);
      return 1;
    }
    char *names[MAXT];
    size_t nn = 0;
    struct dirent *e;
    while ((e = readdir(d)) && nn < MAXT)
      if (!strncmp(e->d_name, "test_", 5)) names[nn++] = strdup(e->d_name);
    closedir(d);
    qsort(names, nn, sizeof *names, cmp_str);
    size_t sel = 0, acc = 0;
    for (size_t k = 0; k < nn; k++) {
      char path[1400], *buf = NULL;
      size_t len;
      snprintf(path, sizeof path, "%s/%s/model.onnx", sdir, names[k]);
      seen++;
      int sup = -1;
      if (lsp_read_file(path, &buf, &len) == LSP_OK)
        sup = all_supported(buf, len);
      free(buf);
      if (sup == 1 && nres < MAXT) {
        bad |= run_test(root, suites[s], names[k], &res[nres]);
        acc += res[nres].accepted;
        sel++;
        nres++;
      }
      free(names[k]);
    }
    printf(
        "%s: %zu tests, %zu use only supported ops: %zu accepted, %zu "
        "refused\n",
        suites[s], nn, sel, acc, sel - acc);
  }
  for (size_t k = 0; k < sizeof k_known / sizeof *k_known; k++)
    for (size_t j = 0; j < nres; j++)
      known_found += !strcmp(res[j].name, k_known[k].test);
  if (known_found != sizeof k_known / sizeof *k_known) {
    printf("FAIL: only %zu of the %zu known cases were found in the suite\n",
           known_found, sizeof k_known / sizeof *k_known);
    bad = 1;
  }
  printf("\naccepted:\n");
  for (size_t j = 0; j < nres; j++)
    if (res[j].accepted) printf("  %s\n", res[j].name);
  printf("\nrefused:\n");
  for (size_t j = 0; j < nres; j++)
    if (!res[j].accepted) {
      const char *w = strstr(res[j].why, "model.onnx: ");
      printf("  %s: %s\n", res[j].name, w ? w + 12 : res[j].why);
    }
  printf("\n%zu tests scanned; %s\n", seen, bad ? "FAILED" : "ok");
  return bad;
}
