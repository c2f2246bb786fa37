/* Conformance against ONNX's own backend test suite (Debian
 * libonnx-testdata: data/node/test_* and data/pytorch-converted/test_*,
 * each a model.onnx with test_data_set_<k>/input_<j>.pb and output_0.pb
 * written by ONNX's reference tools).
 *
 * Every test whose nodes all use ops the reader accepts is run: the model
 * is read with input_1.pb, input_2.pb, ... bound to the graph's further
 * inputs (the node tests keep weights there), lowered to an lsprobe model
 * that reports the graph output as its features (a single Conv's output is
 * N×C×H×W, not logits), and run on input_0.pb of every data set; the
 * output must equal output_0.pb to 1e-5 (|got − want| <= 1e-5·(1 + |want|))
 * with the same number of values. Or the model is refused with a message
 * naming the file. tests/data/onnx_conformance.txt lists the outcome of
 * every selected test ("pass", or "refuse" and a phrase of the reason):
 * a test that changes its outcome, is missing from the list or is listed
 * but gone fails. Exits 77 (ctest: skipped, not passed) when the suite is
 * not installed. LSP_ONNX_TESTDATA overrides its location. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "core/import/onnx/lsp_onnx_int.h"

#define MAXT 1200

static const char *const k_ops[] = {"Conv",
                                    "Gemm",
                                    "MatMul",
                                    "Add",
                                    "Sub",
                                    "Mul",
                                    "Div",
                                    "Relu",
                                    "MaxPool",
                                    "AveragePool",
                                    "GlobalAveragePool",
                                    "GlobalMaxPool",
                                    "BatchNormalization",
                                    "Concat",
                                    "ReduceMean",
                                    "ReduceMax",
                                    "Flatten",
                                    "Reshape",
                                    "Pad",
                                    "Sigmoid",
                                    "Tanh",
                                    "LeakyRelu",
                                    "Elu",
                                    "Selu",
                                    "Clip",
                                    "HardSigmoid",
                                    "HardSwish",
                                    "Softplus",
                                    "Erf",
                                    "Gelu",
                                    "Constant",
                                    "Identity",
                                    "Dropout",
                                    "Squeeze",
                                    "Gather",
                                    "Slice",
                                    "Transpose"};

typedef struct {
  char name[160];
  int passed;
  char why[600];
} outcome;

static int is_dir(const char *p) {
  struct stat sb;
  return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* 1 when every node of the model uses an op the reader accepts (read with
 * the raw protobuf, independently of the reader's checks). */
static int all_supported(const char *buf, size_t len) {
  lsp_onnx_pbmem mem = {0, 0, lsp_onnx_pb_limit(len)};
  LspOnnx__ModelProto *mp = lsp_onnx_pb_model((const uint8_t *)buf, len, &mem);
  if (!mp) return -1;
  int ok = mp->graph != NULL;
  for (size_t k = 0; ok && mp->graph && k < mp->graph->n_node; k++) {
    const char *op = mp->graph->node[k]->op_type;
    int found = 0;
    for (size_t j = 0; op && j < sizeof k_ops / sizeof *k_ops; j++)
      found |= !strcmp(op, k_ops[j]);
    ok = found;
  }
  lsp_onnx_pb_free(&mp->base, &mem);
  return ok;
}

/* Run data set `ds` of a lowered model: 0 when it matches, else 1 with the
 * reason in why. */
static int run_set(const char *dir, int ds, const lsp_model *m, char *why,
                   size_t wlen) {
  char pb[1300];
  lsp_onnx_tensor in, out;
  memset(&in, 0, sizeof in);
  memset(&out, 0, sizeof out);
  int bad = 1;
  float *logits = NULL, *got = NULL;
  snprintf(pb, sizeof pb, "%s/test_data_set_%d/input_0.pb", dir, ds);
  if (lsp_onnx_tensor_read(pb, &in) != LSP_OK) goto io;
  snprintf(pb, sizeof pb, "%s/test_data_set_%d/output_0.pb", dir, ds);
  if (lsp_onnx_tensor_read(pb, &out) != LSP_OK) goto io;
  if (in.dtype != LSP_ONNX_FLOAT || out.dtype != LSP_ONNX_FLOAT ||
      in.ndim < 1) {
    snprintf(why, wlen, "data set %d: not float32 tensors", ds);
    goto done;
  }
  size_t n = (size_t)in.dims[0], h = lsp_model_feature_dim(m);
  if (n == 0 || in.count != n * m->in_dim || out.count != n * h) {
    snprintf(why, wlen,
             "data set %d: %zu inputs and %zu outputs, the model takes %zu "
             "rows of %zu and gives %zu each",
             ds, in.count, out.count, n, m->in_dim, h);
    goto done;
  }
  logits = malloc(n * m->out_dim * sizeof *logits);
  got = malloc(n * h * sizeof *got);
  if (!logits || !got ||
      lsp_model_predict(m, in.f, n, 0, logits, got) != LSP_OK) {
    snprintf(why, wlen, "data set %d: %s", ds, lsp_errmsg());
    goto done;
  }
  for (size_t i = 0; i < n * h; i++) {
    double g = got[i], w = out.f[i];
    int ok = isfinite(w) ? fabs(g - w) <= 1e-5 * (1.0 + fabs(w)) : g == w;
    if (!ok) {
      snprintf(why, wlen, "data set %d: value %zu is %.9g, expected %.9g", ds,
               i, g, w);
      goto done;
    }
  }
  bad = 0;
  goto done;
io:
  snprintf(why, wlen, "%s", lsp_errmsg());
done:
  free(logits);
  free(got);
  lsp_onnx_tensor_release(&in);
  lsp_onnx_tensor_release(&out);
  return bad;
}

/* Read, lower and run one test. Returns 1 for a failure of the harness's
 * own rules (a refusal that does not name the file, a wrong number). */
static int run_test(const char *root, const char *suite, const char *test,
                    outcome *o) {
  char dir[1024], path[1200], pb[1300];
  snprintf(dir, sizeof dir, "%s/%s/%s", root, suite, test);
  snprintf(path, sizeof path, "%s/model.onnx", dir);
  snprintf(o->name, sizeof o->name, "%s/%s", suite, test);
  char *buf = NULL;
  size_t len = 0;
  if (lsp_read_file(path, &buf, &len) != LSP_OK) {
    snprintf(o->why, sizeof o->why, "FAIL: %s", lsp_errmsg());
    return 1;
  }
  lsp_onnx_tensor bind[8];
  size_t nbind = 0;
  int st = LSP_OK, bad = 0;
  for (int k = 1; k <= 8 && st == LSP_OK; k++) {
    snprintf(pb, sizeof pb, "%s/test_data_set_0/input_%d.pb", dir, k);
    struct stat sb;
    if (stat(pb, &sb) != 0) break;
    st = lsp_onnx_tensor_read(pb, &bind[nbind]);
    if (st == LSP_OK) nbind++;
  }
  lsp_onnx_model *om = NULL;
  lsp_model *m = NULL;
  if (st == LSP_OK) st = lsp_onnx_read_mem(buf, len, path, bind, nbind, &om);
  lsp_onnx_lower_opts probe = {NULL, 1};
  if (st == LSP_OK) st = lsp_onnx_lower(om, path, &probe, &m);
  if (st != LSP_OK) {
    const char *msg = lsp_errmsg(), *w = strstr(msg, "model.onnx: ");
    snprintf(o->why, sizeof o->why, "%s", w ? w + 12 : msg);
    if (!strstr(msg, dir)) {
      printf("FAIL %s: the message does not name the file: %s\n", o->name, msg);
      bad = 1;
    }
  } else {
    o->passed = 1;
    for (int ds = 0; ds < 16 && o->passed; ds++) {
      snprintf(pb, sizeof pb, "%s/test_data_set_%d", dir, ds);
      if (ds > 0 && !is_dir(pb)) break;
      if (run_set(dir, ds, m, o->why, sizeof o->why)) {
        printf("FAIL %s: %s\n", o->name, o->why);
        o->passed = 0;
        bad = 1;
      }
    }
  }
  lsp_model_free(m);
  lsp_onnx_model_free(om);
  for (size_t k = 0; k < nbind; k++) lsp_onnx_tensor_release(&bind[k]);
  free(buf);
  return bad;
}

/* The expected outcomes: "<suite>/<test> pass" or "<suite>/<test> refuse
 * <phrase of the reason>"; '#' comments. */
typedef struct {
  char name[160];
  char phrase[200];
  int pass, seen;
} expect;

static size_t read_expected(const char *path, expect *e, size_t cap) {
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  char line[512];
  size_t n = 0;
  while (fgets(line, sizeof line, f) && n < cap) {
    line[strcspn(line, "\n")] = 0;
    char name[160], word[16];
    int off = 0;
    if (line[0] == '#' || sscanf(line, "%159s %15s %n", name, word, &off) < 2)
      continue;
    snprintf(e[n].name, sizeof e[n].name, "%s", name);
    e[n].pass = !strcmp(word, "pass");
    snprintf(e[n].phrase, sizeof e[n].phrase, "%s", line + off);
    e[n].seen = 0;
    n++;
  }
  fclose(f);
  return n;
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
  static expect exp[MAXT];
  size_t nexp = read_expected(LSP_TEST_DATA "/onnx_conformance.txt", exp, MAXT);
  if (nexp == 0) {
    printf("FAIL: %s/onnx_conformance.txt is missing or empty\n",
           LSP_TEST_DATA);
    return 1;
  }
  size_t nres = 0;
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
    size_t sel = 0, pass = 0;
    for (size_t k = 0; k < nn; k++) {
      char path[1400], *buf = NULL;
      size_t len;
      snprintf(path, sizeof path, "%s/%s/model.onnx", sdir, names[k]);
      int sup = -1;
      if (lsp_read_file(path, &buf, &len) == LSP_OK)
        sup = all_supported(buf, len);
      free(buf);
      if (sup == 1 && nres < MAXT) {
        memset(&res[nres], 0, sizeof res[nres]);
        bad |= run_test(root, suites[s], names[k], &res[nres]);
        pass += res[nres].passed;
        sel++;
        nres++;
      }
      free(names[k]);
    }
    printf(
        "%s: %zu tests, %zu use only ops lsprobe reads: %zu pass, %zu "
        "refused\n",
        suites[s], nn, sel, pass, sel - pass);
  }
  for (size_t j = 0; j < nres; j++) {
    expect *x = NULL;
    for (size_t k = 0; k < nexp && !x; k++)
      if (!strcmp(exp[k].name, res[j].name)) x = &exp[k];
    if (!x) {
      printf("FAIL %s: not in onnx_conformance.txt (%s)\n", res[j].name,
             res[j].passed ? "pass" : res[j].why);
      bad = 1;
      continue;
    }
    x->seen = 1;
    if (x->pass != res[j].passed ||
        (!x->pass && !strstr(res[j].why, x->phrase))) {
      printf("FAIL %s: expected %s%s, got %s\n", res[j].name,
             x->pass ? "pass" : "refusal for ", x->pass ? "" : x->phrase,
             res[j].passed ? "pass" : res[j].why);
      bad = 1;
    }
  }
  for (size_t k = 0; k < nexp; k++)
    if (!exp[k].seen) {
      printf("FAIL %s: listed in onnx_conformance.txt, not run\n", exp[k].name);
      bad = 1;
    }
  printf("\npassed:\n");
  for (size_t j = 0; j < nres; j++)
    if (res[j].passed) printf("  %s\n", res[j].name);
  printf("\nrefused:\n");
  for (size_t j = 0; j < nres; j++)
    if (!res[j].passed) printf("  %s: %s\n", res[j].name, res[j].why);
  printf("\n%s\n", bad ? "FAILED" : "ok");
  return bad;
}
