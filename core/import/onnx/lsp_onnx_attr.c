/* lsp_onnx_attr.c — the attributes of each supported op: which names and
 * types are accepted (and in which opsets the legacy ones), which values
 * lsprobe can compute, and the defaults. Anything else is refused with the
 * node named (docs/DESIGN.md §3 lists the table in prose). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/import/onnx/lsp_onnx_int.h"

enum { T_FLOAT = 1, T_INT = 2, T_STRING = 3, T_INTS = 7 };

typedef struct {
  const char *name;
  int type;
  int64_t last; /* the last opset that has it (0: every opset) */
} spec;

/* The attributes each op may carry, NULL-terminated. The legacy ones of
 * opsets before 11 (broadcasting flags, consumed_inputs, is_test, spatial,
 * Pad's and Reshape's attributes that became inputs) only where they
 * existed. */
static const spec k_conv[] = {{"auto_pad", T_STRING, 0},
                              {"dilations", T_INTS, 0},
                              {"group", T_INT, 0},
                              {"kernel_shape", T_INTS, 0},
                              {"pads", T_INTS, 0},
                              {"strides", T_INTS, 0},
                              {NULL, 0, 0}};
static const spec k_maxpool[] = {
    {"auto_pad", T_STRING, 0}, {"ceil_mode", T_INT, 0},
    {"dilations", T_INTS, 0},  {"kernel_shape", T_INTS, 0},
    {"pads", T_INTS, 0},       {"storage_order", T_INT, 0},
    {"strides", T_INTS, 0},    {NULL, 0, 0}};
static const spec k_avgpool[] = {{"auto_pad", T_STRING, 0},
                                 {"ceil_mode", T_INT, 0},
                                 {"count_include_pad", T_INT, 0},
                                 {"kernel_shape", T_INTS, 0},
                                 {"pads", T_INTS, 0},
                                 {"strides", T_INTS, 0},
                                 {NULL, 0, 0}};
static const spec k_bn[] = {{"epsilon", T_FLOAT, 0},
                            {"momentum", T_FLOAT, 0},
                            {"training_mode", T_INT, 0},
                            {"is_test", T_INT, 6},
                            {"spatial", T_INT, 8},
                            {"consumed_inputs", T_INTS, 5},
                            {NULL, 0, 0}};
static const spec k_gemm[] = {{"alpha", T_FLOAT, 0},   {"beta", T_FLOAT, 0},
                              {"transA", T_INT, 0},    {"transB", T_INT, 0},
                              {"broadcast", T_INT, 6}, {NULL, 0, 0}};
static const spec k_flatten[] = {{"axis", T_INT, 0}, {NULL, 0, 0}};
static const spec k_reshape[] = {{"allowzero", T_INT, 0},
                                 {"shape", T_INTS, 4},
                                 {"consumed_inputs", T_INTS, 4},
                                 {NULL, 0, 0}};
static const spec k_pad[] = {{"mode", T_STRING, 0},
                             {"pads", T_INTS, 10},
                             {"value", T_FLOAT, 10},
                             {"paddings", T_INTS, 1},
                             {NULL, 0, 0}};
static const spec k_arith[] = {{"broadcast", T_INT, 6},
                               {"axis", T_INT, 6},
                               {"consumed_inputs", T_INTS, 5},
                               {NULL, 0, 0}};
static const spec k_concat[] = {{"axis", T_INT, 0}, {NULL, 0, 0}};
static const spec k_reduce[] = {{"axes", T_INTS, 17},
                                {"keepdims", T_INT, 0},
                                {"noop_with_empty_axes", T_INT, 0},
                                {NULL, 0, 0}};
static const spec k_relu[] = {{"consumed_inputs", T_INTS, 5}, {NULL, 0, 0}};
static const spec k_none[] = {{NULL, 0, 0}};
static const spec k_alpha[] = {{"alpha", T_FLOAT, 0},
                               {"consumed_inputs", T_INTS, 5},
                               {NULL, 0, 0}};
static const spec k_selu[] = {{"alpha", T_FLOAT, 0},
                              {"gamma", T_FLOAT, 0},
                              {"consumed_inputs", T_INTS, 5},
                              {NULL, 0, 0}};
static const spec k_hsig[] = {{"alpha", T_FLOAT, 0},
                              {"beta", T_FLOAT, 0},
                              {"consumed_inputs", T_INTS, 5},
                              {NULL, 0, 0}};
static const spec k_clip[] = {{"min", T_FLOAT, 10},
                              {"max", T_FLOAT, 10},
                              {"consumed_inputs", T_INTS, 5},
                              {NULL, 0, 0}};
static const spec k_gelu[] = {{"approximate", T_STRING, 0}, {NULL, 0, 0}};

static const spec *op_specs(lsp_onnx_op op) {
  switch (op) {
    case LSP_ONNX_CONV:
      return k_conv;
    case LSP_ONNX_MAXPOOL:
      return k_maxpool;
    case LSP_ONNX_AVGPOOL:
      return k_avgpool;
    case LSP_ONNX_BATCHNORM:
      return k_bn;
    case LSP_ONNX_GEMM:
      return k_gemm;
    case LSP_ONNX_FLATTEN:
      return k_flatten;
    case LSP_ONNX_CONCAT:
      return k_concat;
    case LSP_ONNX_REDUCEMEAN:
    case LSP_ONNX_REDUCEMAX:
      return k_reduce;
    case LSP_ONNX_RESHAPE:
      return k_reshape;
    case LSP_ONNX_PAD:
      return k_pad;
    case LSP_ONNX_ADD:
    case LSP_ONNX_SUB:
    case LSP_ONNX_MUL:
    case LSP_ONNX_DIV:
      return k_arith;
    case LSP_ONNX_RELU:
    case LSP_ONNX_SIGMOID:
    case LSP_ONNX_TANH:
      return k_relu;
    case LSP_ONNX_LEAKYRELU:
    case LSP_ONNX_ELU:
      return k_alpha;
    case LSP_ONNX_SELU:
      return k_selu;
    case LSP_ONNX_HARDSIGMOID:
      return k_hsig;
    case LSP_ONNX_CLIP:
      return k_clip;
    case LSP_ONNX_GELU:
      return k_gelu;
    default:
      return k_none;
  }
}

static const char *type_name(int t) {
  static const char *const names[] = {
      "UNDEFINED",      "FLOAT",      "INT",        "STRING",
      "TENSOR",         "GRAPH",      "FLOATS",     "INTS",
      "STRINGS",        "TENSORS",    "GRAPHS",     "SPARSE_TENSOR",
      "SPARSE_TENSORS", "TYPE_PROTO", "TYPE_PROTOS"};
  if (t >= 0 && t < (int)(sizeof names / sizeof *names)) return names[t];
  return "an unknown type";
}

/* Copy a STRING attribute into buf (printable, truncated). */
static const char *str_value(const LspOnnx__AttributeProto *a, char *buf,
                             size_t len) {
  size_t n = a->has_s ? a->s.len : 0, k;
  for (k = 0; k < n && k + 1 < len; k++) {
    unsigned char c = a->s.data[k];
    buf[k] = (c >= 32 && c < 127) ? (char)c : '?';
  }
  buf[k] = '\0';
  return buf;
}

/* A spatial INTS attribute: `per` values per spatial axis (pads: 2, the
 * others 1) for 1 or 2 axes, each in [lo, hi]. Stored 2-D (lsp_onnx.h):
 * the second axis of a 1-D attribute is `fill` (pads: 0). *nsp gets the
 * number of axes. */
static int get_spatial(const LspOnnx__AttributeProto *a, const char *where,
                       size_t per, int64_t lo, int64_t hi, int64_t fill,
                       int64_t *dst, int *nsp) {
  char vb[160];
  lsp_onnx_ints_str(a->ints, a->n_ints, vb, sizeof vb);
  if (a->n_ints != per && a->n_ints != 2 * per)
    return lsp_fail(LSP_EDATA,
                    "%s: %s %s: expected %zu or %zu values (1-D or 2-D "
                    "spatial only)",
                    where, a->name, vb, per, 2 * per);
  for (size_t k = 0; k < a->n_ints; k++)
    if (a->ints[k] < lo || a->ints[k] > hi)
      return lsp_fail(LSP_EDATA, "%s: %s %s: unsupported value %lld", where,
                      a->name, vb, (long long)a->ints[k]);
  int n = (int)(a->n_ints / per);
  if (per == 1) {
    dst[0] = a->ints[0];
    dst[1] = n == 2 ? a->ints[1] : fill;
  } else { /* begin values, then end values */
    dst[0] = a->ints[0];
    dst[1] = n == 2 ? a->ints[1] : fill;
    dst[2] = a->ints[n];
    dst[3] = n == 2 ? a->ints[3] : fill;
  }
  if (*nsp && *nsp != n)
    return lsp_fail(LSP_EDATA,
                    "%s: %s %s is %d-D but another attribute is %d-D", where,
                    a->name, vb, n, *nsp);
  *nsp = n;
  return LSP_OK;
}

/* An INT attribute that must be one of the allowed values [lo, hi]. */
static int get_int(const LspOnnx__AttributeProto *a, const char *where,
                   int64_t lo, int64_t hi, const char *why, int64_t *dst) {
  int64_t v = a->has_i ? a->i : 0;
  if (v < lo || v > hi)
    return lsp_fail(LSP_EDATA, "%s: %s = %lld is not supported%s%s", where,
                    a->name, (long long)v, why ? " " : "", why ? why : "");
  *dst = v;
  return LSP_OK;
}

static int get_float(const LspOnnx__AttributeProto *a, const char *where,
                     float *dst) {
  float v = a->has_f ? a->f : 0.0f;
  if (!isfinite(v))
    return lsp_fail(LSP_EDATA, "%s: %s is not finite", where, a->name);
  *dst = v;
  return LSP_OK;
}

static int auto_pad(const LspOnnx__AttributeProto *a, const char *where,
                    int *dst) {
  static const char *const names[] = {"NOTSET", "VALID", "SAME_UPPER",
                                      "SAME_LOWER"};
  char sb[64];
  str_value(a, sb, sizeof sb);
  for (int k = 0; k < 4; k++)
    if (!strcmp(sb, names[k])) {
      *dst = k;
      return LSP_OK;
    }
  return lsp_fail(LSP_EDATA, "%s: auto_pad '%s' is not an ONNX value", where,
                  sb);
}

static int pad_mode(const LspOnnx__AttributeProto *a, const char *where,
                    int *dst) {
  static const char *const names[] = {"constant", "reflect", "edge"};
  char sb[64];
  str_value(a, sb, sizeof sb);
  for (int k = 0; k < 3; k++)
    if (!strcmp(sb, names[k])) {
      *dst = k;
      return LSP_OK;
    }
  return lsp_fail(LSP_EDATA,
                  "%s: mode '%s' is not supported (constant, reflect or edge)",
                  where, sb);
}

/* The legacy list attributes (Pad's pads/paddings, Reshape's shape) into
 * ex; at most 8 values. */
static int get_list(const LspOnnx__AttributeProto *a, const char *where,
                    int64_t *dst, size_t *n) {
  char vb[160];
  lsp_onnx_ints_str(a->ints, a->n_ints, vb, sizeof vb);
  if (a->n_ints > 8)
    return lsp_fail(LSP_EDATA, "%s: %s %s has too many values", where, a->name,
                    vb);
  memcpy(dst, a->ints, a->n_ints * sizeof *dst);
  *n = a->n_ints;
  return LSP_OK;
}

/* One known attribute onto the node. */
static int apply(const LspOnnx__AttributeProto *a, lsp_onnx_node *nd,
                 const char *where, lsp_onnx_attr_extra *ex) {
  const char *n = a->name;
  const int64_t big = LSP_ONNX_MAX_DIM;
  int64_t v = 0;
  int st = LSP_OK;
  if (!strcmp(n, "auto_pad")) {
    st = auto_pad(a, where, &nd->auto_pad);
  } else if (!strcmp(n, "dilations")) {
    st = get_spatial(a, where, 1, 1, 1024, 1, nd->dilations, &nd->nspatial);
  } else if (!strcmp(n, "group")) {
    st = get_int(a, where, 1, big, NULL, &nd->group);
  } else if (!strcmp(n, "kernel_shape")) {
    st = get_spatial(a, where, 1, 1, big, 1, nd->kernel, &nd->nspatial);
  } else if (!strcmp(n, "pads") && nd->op != LSP_ONNX_PAD) {
    st = get_spatial(a, where, 2, 0, big, 0, nd->pads, &nd->nspatial);
  } else if (!strcmp(n, "strides")) {
    st = get_spatial(a, where, 1, 1, big, 1, nd->strides, &nd->nspatial);
  } else if (!strcmp(n, "ceil_mode")) {
    st = get_int(a, where, 0, 1, NULL, &v);
    nd->ceil_mode = (int)v;
  } else if (!strcmp(n, "storage_order")) {
    st = get_int(a, where, 0, 1, NULL, &v); /* only matters for Indices */
  } else if (!strcmp(n, "count_include_pad")) {
    st = get_int(a, where, 0, 1, NULL, &v);
    nd->count_include_pad = (int)v;
  } else if (!strcmp(n, "epsilon")) {
    st = get_float(a, where, &nd->epsilon);
    if (st == LSP_OK && nd->epsilon < 0)
      st = lsp_fail(LSP_EDATA, "%s: epsilon %g is negative", where,
                    (double)nd->epsilon);
  } else if (!strcmp(n, "momentum")) {
    float mo;
    st = get_float(a, where, &mo); /* training only: no effect here */
  } else if (!strcmp(n, "training_mode")) {
    st = get_int(a, where, 0, 0, "(inference only)", &v);
  } else if (!strcmp(n, "is_test")) {
    st = get_int(a, where, 1, 1, "(inference only: is_test must be 1)", &v);
  } else if (!strcmp(n, "spatial")) {
    st = get_int(a, where, 1, 1, "(statistics per channel: spatial must be 1)",
                 &v);
  } else if (!strcmp(n, "consumed_inputs")) {
    /* an in-place hint of opsets before 6: no effect on the values */
  } else if (!strcmp(n, "alpha")) {
    st = get_float(a, where, &nd->alpha);
  } else if (!strcmp(n, "beta")) {
    st = get_float(a, where, &nd->beta);
  } else if (!strcmp(n, "transA")) {
    st = get_int(a, where, 0, 0,
                 "(A must not be transposed: its rows are the examples)", &v);
  } else if (!strcmp(n, "transB")) {
    st = get_int(a, where, 0, 1, NULL, &v);
    nd->trans_b = (int)v;
  } else if (!strcmp(n, "broadcast")) {
    st = get_int(a, where, 0, 1, NULL, &v);
    ex->broadcast = (int)v;
  } else if (!strcmp(n, "axis") && nd->op == LSP_ONNX_CONCAT) {
    st = get_int(a, where, INT32_MIN, INT32_MAX, NULL, &nd->axis);
  } else if (!strcmp(n, "axes")) {
    char vb[160];
    lsp_onnx_ints_str(a->ints, a->n_ints, vb, sizeof vb);
    if (a->n_ints > 4)
      st = lsp_fail(LSP_EDATA, "%s: axes %s: more than 4 axes", where, vb);
    for (size_t k = 0; st == LSP_OK && k < a->n_ints; k++)
      nd->axes[k] = a->ints[k];
    nd->naxes = st == LSP_OK ? (int)a->n_ints : 0;
  } else if (!strcmp(n, "noop_with_empty_axes")) {
    st = get_int(a, where, 0, 1, NULL, &v);
    ex->noop_empty = (int)v;
    ex->has_noop_empty = 1;
  } else if (!strcmp(n, "keepdims")) {
    st = get_int(a, where, 0, 1, NULL, &v);
    nd->keepdims = (int)v;
  } else if (!strcmp(n, "axis") && nd->op != LSP_ONNX_FLATTEN) {
    st = get_int(a, where, -4, 4, NULL, &ex->bcast_axis);
    ex->has_bcast_axis = 1;
  } else if (!strcmp(n, "axis")) {
    st = get_int(a, where, -4, 4, NULL, &nd->axis);
  } else if (!strcmp(n, "allowzero")) {
    st = get_int(a, where, 0, 1, NULL, &v);
    ex->allowzero = (int)v;
  } else if (!strcmp(n, "mode")) {
    st = pad_mode(a, where, &nd->pad_mode);
  } else if (!strcmp(n, "pads") || !strcmp(n, "paddings")) {
    st = get_list(a, where, ex->list, &ex->nlist);
    ex->has_list = 1;
  } else if (!strcmp(n, "shape")) {
    st = get_list(a, where, ex->list, &ex->nlist);
    ex->has_list = 1;
  } else if (!strcmp(n, "gamma")) {
    st = get_float(a, where, &nd->gamma);
  } else if (!strcmp(n, "min")) {
    st = get_float(a, where, &nd->clip_lo);
  } else if (!strcmp(n, "max")) {
    st = get_float(a, where, &nd->clip_hi);
  } else if (!strcmp(n, "approximate")) {
    char sb[64];
    str_value(a, sb, sizeof sb);
    nd->approximate = !strcmp(sb, "tanh");
    if (!nd->approximate && strcmp(sb, "none") != 0)
      st = lsp_fail(LSP_EDATA, "%s: approximate '%s' is not none or tanh",
                    where, sb);
  } else if (!strcmp(n, "value")) {
    st = get_float(a, where, &ex->value);
    ex->has_value = 1;
  }
  return st;
}

int lsp_onnx_parse_attrs(const LspOnnx__NodeProto *pn, lsp_onnx_node *nd,
                         const char *where, int64_t opset,
                         lsp_onnx_attr_extra *ex) {
  const spec *sp = op_specs(nd->op);
  int have_pads = 0, have_kernel = 0;
  memset(ex, 0, sizeof *ex);
  for (size_t k = 0; k < pn->n_attribute; k++) {
    const LspOnnx__AttributeProto *a = pn->attribute[k];
    const char *n = a->name ? a->name : "";
    if (a->ref_attr_name && a->ref_attr_name[0])
      return lsp_fail(LSP_EDATA,
                      "%s: attribute '%s' refers to a function "
                      "attribute; not supported",
                      where, n);
    const spec *s = sp;
    while (s->name && strcmp(s->name, n) != 0) s++;
    if (!s->name)
      return lsp_fail(LSP_EDATA, "%s: attribute '%s' is not supported", where,
                      n);
    if (s->last && opset > s->last)
      return lsp_fail(LSP_EDATA,
                      "%s: attribute '%s' exists only up to opset %lld (the "
                      "model imports opset %lld)",
                      where, n, (long long)s->last, (long long)opset);
    for (size_t j = 0; j < k; j++)
      if (pn->attribute[j]->name && !strcmp(pn->attribute[j]->name, n))
        return lsp_fail(LSP_EDATA, "%s: attribute '%s' given twice", where, n);
    int t = a->has_type ? (int)a->type : 0;
    if (t != s->type)
      return lsp_fail(LSP_EDATA, "%s: attribute '%s' has type %s, expected %s",
                      where, n, type_name(t), type_name(s->type));
    int st = apply(a, nd, where, ex);
    if (st != LSP_OK) return st;
    have_pads |= !strcmp(n, "pads") && nd->op != LSP_ONNX_PAD;
    have_kernel |= !strcmp(n, "kernel_shape");
  }
  if (nd->auto_pad != LSP_ONNX_AUTO_NOTSET && have_pads)
    for (int k = 0; k < 4; k++)
      if (nd->pads[k] != 0)
        return lsp_fail(LSP_EDATA, "%s: auto_pad with explicit pads", where);
  if ((nd->op == LSP_ONNX_MAXPOOL || nd->op == LSP_ONNX_AVGPOOL) &&
      !have_kernel)
    return lsp_fail(LSP_EDATA,
                    "%s: the required attribute kernel_shape is "
                    "missing",
                    where);
  return LSP_OK;
}
