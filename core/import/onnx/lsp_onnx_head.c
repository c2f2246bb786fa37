/* lsp_onnx_head.c — the lowering's view of pooling at the end of a network
 * (docs/DESIGN.md §3, "Lowering"): a global pooling written as two
 * reductions (x.mean(3).mean(2)), and classifier heads made of a
 * convolution to K channels and a global pooling (SqueezeNet,
 * Network-in-Network, all-convolutional nets). A 1×1 convolution (stride
 * 1, no padding, one group) followed directly by an average pooling is
 * lowered as the pooling then a dense classifier (the mean of W·x_p + b
 * over the pixels p is W·mean(x) + b). Any other — element-wise
 * activations or batch norms between the convolution and the pooling
 * (SqueezeNet's and NiN's ReLU), a max pooling, a larger, strided, padded
 * or grouped kernel — keeps its layers as they are, and an identity
 * K → K classifier follows the pooling (I·z + 0 is z exactly). */
#include <stdio.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/import/onnx/lsp_onnx_int.h"

int lsp_onnx_reduces_all(const lsp_onnx_node *nd) {
  for (int k = 2; k < nd->out.rank; k++)
    if (nd->out.dims[k] != 1) return 0;
  return 1;
}

static int is_reduce(lsp_onnx_op op) {
  return op == LSP_ONNX_REDUCEMEAN || op == LSP_ONNX_REDUCEMAX;
}

/* The node producing `value`, or -1 (the graph input). */
static long producer(const lsp_onnx_model *om, const char *value) {
  for (size_t k = 0; k < om->nnodes; k++)
    if (!strcmp(om->nodes[k].output, value)) return (long)k;
  return -1;
}

long lsp_onnx_partial_reduce(const lsp_onnx_model *om, const size_t *uses,
                             size_t k) {
  const lsp_onnx_node *nd = &om->nodes[k];
  if (!is_reduce(nd->op) || !lsp_onnx_reduces_all(nd)) return -1;
  long p = producer(om, nd->inputs[0]);
  if (p < 0 || uses[p] != 1) return -1;
  const lsp_onnx_node *pn = &om->nodes[p];
  return pn->op == nd->op && !lsp_onnx_reduces_all(pn) ? p : -1;
}

int lsp_onnx_partial_refuse(const char *path, const lsp_onnx_node *nd) {
  char sb[128], dims[96] = "";
  lsp_onnx_ints_str(nd->axes, (size_t)nd->naxes, sb, sizeof sb);
  for (int k = 1; k < nd->out.rank; k++) {
    size_t len = strlen(dims);
    snprintf(dims + len, sizeof dims - len, "%s%lld", k > 1 ? " × " : "",
             (long long)nd->out.dims[k]);
  }
  return lsp_onnx_node_fail(
      path, nd,
      "axes %s leave a feature map (%s per example); lsprobe reduces over "
      "one spatial axis only when a second %s over the other reads it alone "
      "(global %s pooling)",
      sb, dims, lsp_onnx_op_name(nd->op),
      nd->op == LSP_ONNX_REDUCEMEAN ? "average" : "max");
}

/* A MaxPool or AveragePool whose one window is the whole image, unpadded
 * (F.avg_pool2d(x, 8) on 8 × 8). */
static int whole_window(const lsp_onnx_model *om, const lsp_onnx_node *nd) {
  long p = producer(om, nd->inputs[0]);
  const lsp_onnx_shape *x = p >= 0 ? &om->nodes[p].out : &om->in_shape;
  return (nd->op == LSP_ONNX_MAXPOOL || nd->op == LSP_ONNX_AVGPOOL) &&
         x->rank > 2 && !nd->pads[0] && !nd->pads[1] && !nd->pads[2] &&
         !nd->pads[3] && nd->dilations[0] == 1 && nd->dilations[1] == 1 &&
         nd->kernel[0] == x->dims[2] &&
         nd->kernel[1] == (x->rank > 3 ? x->dims[3] : 1);
}

/* The pooling that makes the graph output (through Flatten and Reshape
 * nodes read once), or -1; *mean: an average. */
static long out_pool(const lsp_onnx_model *om, const size_t *uses, int *mean) {
  long k = producer(om, om->output);
  while (k >= 0 && uses[k] == 1 &&
         (om->nodes[k].op == LSP_ONNX_FLATTEN ||
          om->nodes[k].op == LSP_ONNX_RESHAPE))
    k = producer(om, om->nodes[k].inputs[0]);
  if (k < 0 || uses[k] != 1) return -1;
  const lsp_onnx_node *nd = &om->nodes[k];
  int avg = nd->op == LSP_ONNX_GLOBALAVGPOOL ||
            (nd->op == LSP_ONNX_REDUCEMEAN && lsp_onnx_reduces_all(nd)) ||
            (nd->op == LSP_ONNX_AVGPOOL && whole_window(om, nd));
  int max = nd->op == LSP_ONNX_GLOBALMAXPOOL ||
            (nd->op == LSP_ONNX_REDUCEMAX && lsp_onnx_reduces_all(nd)) ||
            (nd->op == LSP_ONNX_MAXPOOL && whole_window(om, nd));
  *mean = avg;
  return avg || max ? k : -1;
}

/* The value the pooling `k` reads: its input, or that of the partial
 * reduction before it. */
static const char *pooled(const lsp_onnx_model *om, const size_t *uses,
                          long k) {
  long p = lsp_onnx_partial_reduce(om, uses, (size_t)k);
  return om->nodes[p >= 0 ? p : k].inputs[0];
}

static int is_1x1(const lsp_onnx_node *nd) {
  return nd->kernel[0] == 1 && nd->kernel[1] == 1 && nd->strides[0] == 1 &&
         nd->strides[1] == 1 && !nd->pads[0] && !nd->pads[1] && !nd->pads[2] &&
         !nd->pads[3] && nd->group == 1;
}

int lsp_onnx_plan_head(const lsp_onnx_model *om, const size_t *uses,
                       const int *bias_from, long *conv, long *pool) {
  int mean = 0;
  long k = out_pool(om, uses, &mean);
  if (k < 0 || !mean) return 0;
  long q = producer(om, pooled(om, uses, k));
  for (size_t p = 0; q >= 0 && p < om->nnodes; p++)
    if (bias_from[p] == q && om->nodes[p].op == LSP_ONNX_CONV) {
      q = (long)p; /* the Add is the bias of the Conv before it */
      break;
    }
  if (q < 0 || uses[q] != 1 || om->nodes[q].op != LSP_ONNX_CONV ||
      !is_1x1(&om->nodes[q]))
    return 0;
  *conv = q, *pool = k;
  return 1;
}

static int is_map_op(lsp_onnx_op op) {
  return op == LSP_ONNX_RELU || op == LSP_ONNX_BATCHNORM ||
         (op >= LSP_ONNX_SIGMOID && op <= LSP_ONNX_GELU);
}

int lsp_onnx_plan_maps(const lsp_onnx_model *om, const size_t *uses,
                       const int *bias_from) {
  int mean = 0;
  long k = out_pool(om, uses, &mean), q;
  if (k < 0) return 0;
  for (q = producer(om, pooled(om, uses, k));
       q >= 0 && uses[q] == 1 && is_map_op(om->nodes[q].op);
       q = producer(om, om->nodes[q].inputs[0]))
    ;
  for (size_t p = 0; q >= 0 && p < om->nnodes; p++)
    if (bias_from[p] == q && om->nodes[p].op == LSP_ONNX_CONV) {
      q = (long)p; /* the Add is the bias of the Conv before it */
      break;
    }
  return q >= 0 && uses[q] == 1 && om->nodes[q].op == LSP_ONNX_CONV;
}
