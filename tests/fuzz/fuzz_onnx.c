/* libFuzzer harness: the ONNX reader (protobuf-c unpacking under the
 * counting allocator, every pass of the reader, the checker and shape
 * inference) and the TensorProto reader on arbitrary bytes. Whatever the
 * reader accepts is written again and read back, and must give the same
 * description (a reader/writer disagreement aborts, so the fuzzer reports
 * it). Seeds (tests/fuzz/corpus/onnx): PyTorch's torch_cnn_tiny exports,
 * tests/data/onnx_cases models and tensors, the writer's output, and a few
 * models from ONNX's backend test suite (Debian libonnx-testdata,
 * Apache-2.0). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/import/onnx/lsp_onnx.h"

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
        x->trans_b != y->trans_b ||
        x->count_include_pad != y->count_include_pad || x->alpha != y->alpha ||
        x->beta != y->beta || x->epsilon != y->epsilon)
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
  free(buf);
  lsp_onnx_model_free(back);
  lsp_onnx_model_free(m);
  return 0;
}
