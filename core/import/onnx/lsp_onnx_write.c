/* lsp_onnx_write.c — a description out as an ONNX model (IR 8, opset 13;
 * opset 14 with HardSwish, IR 9 and opset 20 with Gelu).
 *
 * The protobuf-c structures are filled in place, pointing at the
 * description's own strings; only the raw little-endian data of the
 * initializers and the small int64 tensors that Pad and Reshape take as
 * inputs in opset 13 are allocated here. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "core/import/onnx/lsp_onnx_int.h"

#define MAX_ATTR 6

typedef struct {
  LspOnnx__NodeProto np;
  LspOnnx__AttributeProto attr[MAX_ATTR];
  LspOnnx__AttributeProto *attrp[MAX_ATTR];
  int64_t ints[MAX_ATTR][4];
  char *in[LSP_ONNX_MAXIN];
  char *out[1];
} wnode;

typedef struct {
  LspOnnx__TensorProto tp;
  int64_t dims[LSP_ONNX_MAXDIM];
  uint8_t *raw; /* owned */
  char *name;   /* owned copy (the int64 inputs' generated names) */
} wtensor;

typedef struct {
  LspOnnx__ValueInfoProto vi;
  LspOnnx__TypeProto type;
  LspOnnx__TypeProto__Tensor tt;
  LspOnnx__TensorShapeProto shape;
  LspOnnx__TensorShapeProto__Dimension dim[4];
  LspOnnx__TensorShapeProto__Dimension *dimp[4];
} wvalue;

static void value_info(wvalue *v, const char *name, const lsp_onnx_shape *s) {
  lsp_onnx__value_info_proto__init(&v->vi);
  lsp_onnx__type_proto__init(&v->type);
  lsp_onnx__type_proto__tensor__init(&v->tt);
  lsp_onnx__tensor_shape_proto__init(&v->shape);
  for (int k = 0; k < s->rank; k++) {
    lsp_onnx__tensor_shape_proto__dimension__init(&v->dim[k]);
    if (s->dims[k] < 0) {
      v->dim[k].value_case =
          LSP_ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
      v->dim[k].dim_param = "N";
    } else {
      v->dim[k].value_case =
          LSP_ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
      v->dim[k].dim_value = s->dims[k];
    }
    v->dimp[k] = &v->dim[k];
  }
  v->shape.n_dim = (size_t)s->rank;
  v->shape.dim = v->dimp;
  v->tt.has_elem_type = 1;
  v->tt.elem_type = LSP_ONNX_FLOAT;
  v->tt.shape = &v->shape;
  v->type.tensor_type = &v->tt;
  v->vi.name = (char *)name;
  v->vi.type = &v->type;
}

/* A tensor with raw little-endian data (float32 or int64 values). */
static int tensor(wtensor *w, const char *name, int dtype, int ndim,
                  const int64_t *dims, const float *f, const int64_t *iv,
                  size_t count) {
  lsp_onnx__tensor_proto__init(&w->tp);
  size_t esz = dtype == LSP_ONNX_FLOAT ? 4 : 8;
  w->raw = malloc(count * esz);
  if (!w->raw) return LSP_ENOMEM;
  for (size_t k = 0; k < count; k++) {
    uint64_t u = 0;
    if (dtype == LSP_ONNX_FLOAT) {
      uint32_t b;
      memcpy(&b, &f[k], 4);
      u = b;
    } else {
      u = (uint64_t)iv[k];
    }
    for (size_t j = 0; j < esz; j++)
      w->raw[k * esz + j] = (uint8_t)(u >> (8 * j));
  }
  for (int k = 0; k < ndim; k++) w->dims[k] = dims[k];
  w->tp.n_dims = (size_t)ndim;
  w->tp.dims = w->dims;
  w->tp.has_data_type = 1;
  w->tp.data_type = dtype;
  w->tp.name = (char *)name;
  w->tp.has_raw_data = 1;
  w->tp.raw_data.len = count * esz;
  w->tp.raw_data.data = w->raw;
  return LSP_OK;
}

static LspOnnx__AttributeProto *attr(wnode *w, const char *name, int type) {
  size_t k = w->np.n_attribute++;
  LspOnnx__AttributeProto *a = &w->attr[k];
  lsp_onnx__attribute_proto__init(a);
  a->name = (char *)name;
  a->has_type = 1;
  a->type = (LspOnnx__AttributeProto__AttributeType)type;
  w->attrp[k] = a;
  return a;
}

static void attr_ints(wnode *w, const char *name, const int64_t *v, size_t n) {
  LspOnnx__AttributeProto *a = attr(w, name, 7);
  int64_t *dst = w->ints[w->np.n_attribute - 1];
  memcpy(dst, v, n * sizeof *v);
  a->n_ints = n;
  a->ints = dst;
}

static void attr_int(wnode *w, const char *name, int64_t v) {
  LspOnnx__AttributeProto *a = attr(w, name, 2);
  a->has_i = 1;
  a->i = v;
}

static void attr_float(wnode *w, const char *name, float v) {
  LspOnnx__AttributeProto *a = attr(w, name, 1);
  a->has_f = 1;
  a->f = v;
}

static void node_attrs(wnode *w, const lsp_onnx_node *nd, int64_t opset) {
  static uint8_t modes[3][9] = {"constant", "reflect", "edge"};
  /* 1-D ops (an N×C×L input) write the first axis of the 2-D storage */
  size_t ns = nd->out.rank == 3 ? 1 : 2;
  const int64_t pads[4] = {nd->pads[0], ns == 2 ? nd->pads[1] : nd->pads[2],
                           nd->pads[2], nd->pads[3]};
  switch (nd->op) {
    case LSP_ONNX_CONV:
    case LSP_ONNX_MAXPOOL:
    case LSP_ONNX_AVGPOOL:
      attr_ints(w, "kernel_shape", nd->kernel, ns);
      attr_ints(w, "strides", nd->strides, ns);
      attr_ints(w, "pads", pads, 2 * ns);
      if (nd->op == LSP_ONNX_CONV) {
        attr_ints(w, "dilations", nd->dilations, ns);
        attr_int(w, "group", nd->group);
      } else {
        attr_int(w, "ceil_mode", nd->ceil_mode);
      }
      if (nd->op == LSP_ONNX_MAXPOOL)
        attr_ints(w, "dilations", nd->dilations, ns);
      if (nd->op == LSP_ONNX_AVGPOOL)
        attr_int(w, "count_include_pad", nd->count_include_pad);
      break;
    case LSP_ONNX_GEMM:
      attr_float(w, "alpha", nd->alpha);
      attr_float(w, "beta", nd->beta);
      attr_int(w, "transB", nd->trans_b);
      break;
    case LSP_ONNX_BATCHNORM:
      attr_float(w, "epsilon", nd->epsilon);
      break;
    case LSP_ONNX_FLATTEN:
    case LSP_ONNX_CONCAT:
      attr_int(w, "axis", nd->axis);
      break;
    case LSP_ONNX_REDUCEMEAN: /* from opset 18 the axes are an input */
    case LSP_ONNX_REDUCEMAX:
      if (opset < 18) attr_ints(w, "axes", nd->axes, (size_t)nd->naxes);
      attr_int(w, "keepdims", nd->keepdims);
      break;
    case LSP_ONNX_TRANSPOSE:
      attr_ints(w, "perm", nd->perm, (size_t)nd->nperm);
      break;
    case LSP_ONNX_LEAKYRELU:
    case LSP_ONNX_ELU:
      attr_float(w, "alpha", nd->alpha);
      break;
    case LSP_ONNX_SELU:
      attr_float(w, "alpha", nd->alpha);
      attr_float(w, "gamma", nd->gamma);
      break;
    case LSP_ONNX_HARDSIGMOID:
      attr_float(w, "alpha", nd->alpha);
      attr_float(w, "beta", nd->beta);
      break;
    case LSP_ONNX_GELU: {
      static uint8_t approx[2][5] = {"none", "tanh"};
      LspOnnx__AttributeProto *a = attr(w, "approximate", 3);
      a->has_s = 1;
      a->s.data = approx[nd->approximate ? 1 : 0];
      a->s.len = 4;
      break;
    }
    case LSP_ONNX_PAD: {
      LspOnnx__AttributeProto *a = attr(w, "mode", 3);
      a->has_s = 1;
      a->s.data =
          modes[nd->pad_mode >= 0 && nd->pad_mode < 3 ? nd->pad_mode : 0];
      a->s.len = strlen((const char *)a->s.data);
      break;
    }
    default:
      break;
  }
}

/* A name for a generated int64 input that no value or initializer has. */
static char *fresh_name(const lsp_onnx_map *names, const char *base,
                        const char *suffix) {
  size_t len = strlen(base) + strlen(suffix) + 24;
  char *s = malloc(len);
  for (unsigned k = 0; s; k++) {
    if (k == 0)
      snprintf(s, len, "%s%s", base, suffix);
    else
      snprintf(s, len, "%s%s_%u", base, suffix, k);
    if (!lsp_onnx_map_get(names, s, NULL)) break;
  }
  return s;
}

int lsp_onnx_encode(lsp_onnx_model *m, const char *path, uint8_t **buf,
                    size_t *len) {
  *buf = NULL;
  *len = 0;
  int st = lsp_onnx_check(m, path);
  if (st != LSP_OK) return st;
  size_t nn = m->nnodes, nt = m->ninits, nx = 0;
  int64_t opset = lsp_onnx_write_opset(m);
  wnode *wn = calloc(nn, sizeof *wn);
  wtensor *wt = calloc(nt + 2 * nn, sizeof *wt);
  LspOnnx__NodeProto **np = calloc(nn, sizeof *np);
  LspOnnx__TensorProto **tp = calloc(nt + 2 * nn, sizeof *tp);
  wvalue vin, vout;
  lsp_onnx_map names = {0};
  st = LSP_ENOMEM;
  if (!wn || !wt || !np || !tp || lsp_onnx_map_init(&names, nt + nn + 1) < 0)
    goto done;
  /* every name in use, so generated ones can avoid them */
  int bad = lsp_onnx_map_put(&names, m->input, 0, NULL) < 0;
  for (size_t k = 0; k < nt; k++)
    bad |= lsp_onnx_map_put(&names, m->inits[k].name, 0, NULL) < 0;
  for (size_t k = 0; k < nn; k++)
    bad |= lsp_onnx_map_put(&names, m->nodes[k].output, 0, NULL) < 0;
  if (bad) goto done;
  for (size_t k = 0; k < nt; k++) {
    const lsp_onnx_tensor *t = &m->inits[k];
    if (tensor(&wt[k], t->name, LSP_ONNX_FLOAT, t->ndim, t->dims, t->f, NULL,
               t->count) != LSP_OK)
      goto done;
    tp[k] = &wt[k].tp;
  }
  for (size_t k = 0; k < nn; k++) {
    const lsp_onnx_node *nd = &m->nodes[k];
    wnode *w = &wn[k];
    lsp_onnx__node_proto__init(&w->np);
    w->np.name = nd->name;
    w->np.op_type = (char *)lsp_onnx_op_name(nd->op);
    for (int j = 0; j < nd->ninputs; j++) w->in[j] = nd->inputs[j];
    w->np.n_input = (size_t)nd->ninputs;
    w->np.input = w->in;
    w->out[0] = nd->output;
    w->np.n_output = 1;
    w->np.output = w->out;
    w->np.attribute = w->attrp;
    node_attrs(w, nd, opset);
    np[k] = &w->np;
    if ((nd->op == LSP_ONNX_REDUCEMEAN || nd->op == LSP_ONNX_REDUCEMAX) &&
        opset >= 18) {
      const int64_t na = nd->naxes;
      wtensor *x = &wt[nt + nx];
      x->name = fresh_name(&names, nd->output, "_axes");
      if (!x->name || lsp_onnx_map_put(&names, x->name, 0, NULL) < 0 ||
          tensor(x, x->name, LSP_ONNX_INT64, 1, &na, NULL, nd->axes,
                 (size_t)na) != LSP_OK)
        goto done;
      tp[nt + nx++] = &x->tp;
      w->in[1] = x->name;
      w->np.n_input = 2;
      continue;
    }
    if (nd->op == LSP_ONNX_CLIP) { /* its bounds as inputs, ±inf absent */
      const float *bound[2] = {&nd->clip_lo, &nd->clip_hi};
      for (int j = 0; j < 2; j++) {
        w->in[1 + j] = "";
        if (isinf(*bound[j])) continue;
        wtensor *x = &wt[nt + nx];
        x->name = fresh_name(&names, nd->output, j ? "_max" : "_min");
        if (!x->name || lsp_onnx_map_put(&names, x->name, 0, NULL) < 0 ||
            tensor(x, x->name, LSP_ONNX_FLOAT, 0, NULL, bound[j], NULL, 1) !=
                LSP_OK)
          goto done;
        tp[nt + nx++] = &x->tp;
        w->in[1 + j] = x->name;
        w->np.n_input = (size_t)(2 + j);
      }
      continue;
    }
    if (nd->op != LSP_ONNX_PAD && nd->op != LSP_ONNX_RESHAPE) continue;
    /* opset 13 takes Pad's pads (and constant value) and Reshape's shape
     * as inputs */
    int pad = nd->op == LSP_ONNX_PAD, r3 = nd->out.rank == 3;
    const int64_t pads8[8] = {0, 0, nd->pads[0], nd->pads[1],
                              0, 0, nd->pads[2], nd->pads[3]};
    const int64_t pads6[6] = {0, 0, nd->pads[0], 0, 0, nd->pads[2]};
    const int64_t nv = pad ? (r3 ? 6 : 8) : nd->shape_rank;
    wtensor *x = &wt[nt + nx];
    x->name = fresh_name(&names, nd->output, pad ? "_pads" : "_shape");
    if (!x->name || lsp_onnx_map_put(&names, x->name, 0, NULL) < 0 ||
        tensor(x, x->name, LSP_ONNX_INT64, 1, &nv, NULL,
               pad ? (r3 ? pads6 : pads8) : nd->shape, (size_t)nv) != LSP_OK)
      goto done;
    tp[nt + nx++] = &x->tp;
    w->in[1] = x->name;
    w->np.n_input = 2;
    if (!pad || nd->pad_value == 0.0f) continue;
    x = &wt[nt + nx];
    x->name = fresh_name(&names, nd->output, "_value");
    if (!x->name || lsp_onnx_map_put(&names, x->name, 0, NULL) < 0 ||
        tensor(x, x->name, LSP_ONNX_FLOAT, 0, NULL, &nd->pad_value, NULL, 1) !=
            LSP_OK)
      goto done;
    tp[nt + nx++] = &x->tp;
    w->in[2] = x->name;
    w->np.n_input = 3;
  }
  value_info(&vin, m->input, &m->in_shape);
  value_info(&vout, m->output, &m->nodes[nn - 1].out);
  LspOnnx__ValueInfoProto *vinp = &vin.vi, *voutp = &vout.vi;
  LspOnnx__OperatorSetIdProto ops = LSP_ONNX__OPERATOR_SET_ID_PROTO__INIT;
  LspOnnx__OperatorSetIdProto *opsp = &ops;
  ops.domain = "";
  ops.has_version = 1;
  ops.version = opset;
  LspOnnx__GraphProto g = LSP_ONNX__GRAPH_PROTO__INIT;
  g.name = "lsprobe";
  g.n_node = nn;
  g.node = np;
  g.n_initializer = nt + nx;
  g.initializer = tp;
  g.n_input = 1;
  g.input = &vinp;
  g.n_output = 1;
  g.output = &voutp;
  LspOnnx__ModelProto mp = LSP_ONNX__MODEL_PROTO__INIT;
  mp.has_ir_version = 1;
  mp.ir_version = opset >= 19 ? 9 : 8; /* ONNX's IR of that opset */
  mp.producer_name = "lsprobe";
  mp.producer_version = LSP_VERSION;
  mp.graph = &g;
  mp.n_opset_import = 1;
  mp.opset_import = &opsp;
  size_t n = lsp_onnx__model_proto__get_packed_size(&mp);
  *buf = malloc(n ? n : 1);
  if (!*buf) goto done;
  *len = lsp_onnx__model_proto__pack(&mp, *buf);
  st = LSP_OK;
done:
  for (size_t k = 0; wt && k < nt + 2 * nn; k++) {
    free(wt[k].raw);
    free(wt[k].name);
  }
  lsp_onnx_map_free(&names);
  free(wn);
  free(wt);
  free(np);
  free(tp);
  if (st != LSP_OK) return lsp_fail(st, "%s: out of memory", path);
  return LSP_OK;
}

int lsp_onnx_write(lsp_onnx_model *m, const char *path) {
  uint8_t *buf = NULL;
  size_t len = 0;
  int st = lsp_onnx_encode(m, path, &buf, &len);
  if (st == LSP_OK) st = lsp_write_file_atomic(path, buf, len);
  free(buf);
  return st;
}
