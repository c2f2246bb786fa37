/* libFuzzer harness: the ONNX reader (protobuf-c unpacking under the
 * counting allocator, every pass of the reader, the checker and shape
 * inference) and the TensorProto reader on arbitrary bytes. Whatever the
 * reader accepts is written again and read back, and must give the same
 * description (a reader/writer disagreement aborts, so the fuzzer reports
 * it). It is then lowered to an lsprobe model (as a classifier, and as the
 * conformance runner's probe); one that lowers and is small enough is run
 * on two inputs, exported, written, read and lowered again, and must give
 * bit-identical logits. Seeds (tests/fuzz/corpus/onnx): PyTorch's
 * torch_cnn_tiny exports, tests/data/onnx_cases models and tensors, the
 * writer's output, and a few models from ONNX's backend test suite (Debian
 * libonnx-testdata, Apache-2.0). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/import/onnx/lsp_onnx.h"
#include "core/nn/lsp_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same_shape(const lsp_onnx_shape *a, const lsp_onnx_shape *b) {
  if (a->rank != b->rank) return 0;
  for (int k = 0; k < a->rank; k++)
    if (a->dims[k] != b->dims[k]) return 0;
  return 1;
}

static int same(const lsp_onnx_model *a, const lsp_onnx_model *b) {
  if (strcmp(a->input, b->input) || strcmp(a->output, b->output) ||
      a->nnodes != b->nnodes || a->ninits != b->ninits ||
      !same_shape(&a->in_shape, &b->in_shape))
    return 0;
  for (size_t k = 0; k < a->nnodes; k++) {
    const lsp_onnx_node *x = &a->nodes[k], *y = &b->nodes[k];
    if (x->op != y->op || x->ninputs != y->ninputs ||
        strcmp(x->name, y->name) || strcmp(x->output, y->output) ||
        memcmp(x->kernel, y->kernel, sizeof x->kernel) ||
        memcmp(x->strides, y->strides, sizeof x->strides) ||
        memcmp(x->pads, y->pads, sizeof x->pads) ||
        memcmp(x->shape, y->shape, sizeof x->shape) ||
        !same_shape(&x->out, &y->out) || x->axis != y->axis ||
        x->naxes != y->naxes || x->keepdims != y->keepdims ||
        memcmp(x->axes, y->axes, sizeof x->axes) || x->trans_b != y->trans_b ||
        x->count_include_pad != y->count_include_pad || x->alpha != y->alpha ||
        x->beta != y->beta || x->epsilon != y->epsilon ||
        x->gamma != y->gamma || x->clip_lo != y->clip_lo ||
        x->clip_hi != y->clip_hi || x->approximate != y->approximate ||
        memcmp(x->dilations, y->dilations, sizeof x->dilations) ||
        x->group != y->group || x->ceil_mode != y->ceil_mode ||
        x->shape_rank != y->shape_rank || x->pad_mode != y->pad_mode ||
        memcmp(&x->pad_value, &y->pad_value, sizeof x->pad_value))
      return 0;
    for (int j = 0; j < x->ninputs; j++)
      if (strcmp(x->inputs[j], y->inputs[j])) return 0;
  }
  for (size_t k = 0; k < a->ninits; k++) {
    const lsp_onnx_tensor *x = &a->inits[k], *y = &b->inits[k];
    if (strcmp(x->name, y->name) || x->ndim != y->ndim ||
        x->count != y->count ||
        memcmp(x->dims, y->dims, sizeof x->dims[0] * (size_t)x->ndim) ||
        memcmp(x->f, y->f, x->count * sizeof *x->f))
      return 0;
  }
  return 1;
}

/* Lowered models that are small enough to run: the logits of two inputs,
 * and the same after export, write, read and lowering again (bit for bit,
 * NaN for NaN). */
static void lowered(const lsp_onnx_model *om, int probe) {
  lsp_onnx_lower_opts o = {NULL, probe};
  lsp_model *m = NULL, *r = NULL;
  lsp_onnx_model *e = NULL, *back = NULL;
  uint8_t *buf = NULL;
  size_t len = 0;
  if (lsp_onnx_lower(om, "fuzz.onnx", &o, &m) != 0) return;
  if (lsp_model_ws_bytes_per_row(m) > ((size_t)4 << 20) ||
      m->nparams > ((size_t)1 << 22) || m->in_dim > ((size_t)1 << 16)) {
    lsp_model_free(m);
    return;
  }
  size_t n = 2, k = m->out_dim;
  float *x = malloc(n * m->in_dim * sizeof *x);
  float *z1 = malloc(n * k * sizeof *z1), *z2 = malloc(n * k * sizeof *z2);
  if (!x || !z1 || !z2) abort();
  for (size_t i = 0; i < n * m->in_dim; i++)
    x[i] = (float)(i % 7) * 0.25f - 0.5f;
  if (lsp_model_predict(m, x, n, n, z1, NULL) != 0) abort();
  /* export: an accepted, lowered model must export and come back */
  if (lsp_onnx_from_model(m, &e) != 0 ||
      lsp_onnx_encode(e, "export.onnx", &buf, &len) != 0 ||
      lsp_onnx_read_mem(buf, len, "export.onnx", NULL, 0, &back) != 0 ||
      lsp_onnx_lower(back, "export.onnx", NULL, &r) != 0 ||
      lsp_model_predict(r, x, n, n, z2, NULL) != 0)
    abort();
  for (size_t i = 0; i < n * k; i++)
    if (memcmp(&z1[i], &z2[i], sizeof z1[i]) != 0 &&
        !(z1[i] != z1[i] && z2[i] != z2[i]))
      abort();
  free(x);
  free(z1);
  free(z2);
  free(buf);
  lsp_onnx_model_free(e);
  lsp_onnx_model_free(back);
  lsp_model_free(r);
  lsp_model_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lsp_onnx_tensor t;
  if (lsp_onnx_tensor_read_mem(data, size, "fuzz.pb", &t) == 0)
    lsp_onnx_tensor_release(&t);
  lsp_onnx_model *m = NULL;
  if (lsp_onnx_read_mem(data, size, "fuzz.onnx", NULL, 0, &m) != 0) return 0;
  uint8_t *buf = NULL;
  size_t len = 0;
  lsp_onnx_model *back = NULL;
  if (lsp_onnx_encode(m, "fuzz.onnx", &buf, &len) != 0 ||
      lsp_onnx_read_mem(buf, len, "rewritten.onnx", NULL, 0, &back) != 0 ||
      !same(m, back))
    abort(); /* an accepted model must survive the round trip */
  lowered(m, 0);
  lowered(m, 1);
  free(buf);
  lsp_onnx_model_free(back);
  lsp_onnx_model_free(m);
  return 0;
}
