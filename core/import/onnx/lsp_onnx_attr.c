/* lsp_onnx_attr.c — the attributes of each supported op: which names and
 * types are accepted, which values lsprobe can compute, and the defaults.
 * Anything else is refused with the node named (docs/DESIGN.md §3 lists the
 * table in prose). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/import/onnx/lsp_onnx_int.h"

enum { T_FLOAT = 1, T_INT = 2, T_STRING = 3, T_INTS = 7 };

typedef struct {
  const char *name;
  int type;
} spec;

/* The attributes each op may carry (ONNX opsets 11–17), NULL-terminated. */
static const spec k_conv[] = {{"auto_pad", T_STRING},
                              {"dilations", T_INTS},
                              {"group", T_INT},
                              {"kernel_shape", T_INTS},
                              {"pads", T_INTS},
                              {"strides", T_INTS},
                              {NULL, 0}};
static const spec k_maxpool[] = {
    {"auto_pad", T_STRING}, {"ceil_mode", T_INT},
    {"dilations", T_INTS},  {"kernel_shape", T_INTS},
    {"pads", T_INTS},       {"storage_order", T_INT},
    {"strides", T_INTS},    {NULL, 0}};
static const spec k_avgpool[] = {{"auto_pad", T_STRING},
                                 {"ceil_mode", T_INT},
                                 {"count_include_pad", T_INT},
                                 {"kernel_shape", T_INTS},
                                 {"pads", T_INTS},
                                 {"strides", T_INTS},
                                 {NULL, 0}};
static const spec k_bn[] = {{"epsilon", T_FLOAT},
                            {"momentum", T_FLOAT},
                            {"training_mode", T_INT},
                            {NULL, 0}};
static const spec k_gemm[] = {{"alpha", T_FLOAT},
                              {"beta", T_FLOAT},
                              {"transA", T_INT},
                              {"transB", T_INT},
                              {NULL, 0}};
static const spec k_flatten[] = {{"axis", T_INT}, {NULL, 0}};
static const spec k_reshape[] = {{"allowzero", T_INT}, {NULL, 0}};
static const spec k_pad[] = {{"mode", T_STRING}, {NULL, 0}};
static const spec k_none[] = {{NULL, 0}};

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
    case LSP_ONNX_RESHAPE:
      return k_reshape;
    case LSP_ONNX_PAD:
      return k_pad;
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

/* An INTS attribute of exactly `want` values in [lo, hi] into dst. */
static int get_ints(const LspOnnx__AttributeProto *a, const char *where,
                    size_t want, int64_t lo, int64_t hi, int64_t *dst) {
  char vb[160];
  lsp_onnx_ints_str(a->ints, a->n_ints, vb, sizeof vb);
  if (a->n_ints != want)
    return lsp_fail(LSP_EDATA,
                    "%s: %s %s: expected %zu values (2-D "
                    "spatial only)",
                    where, a->name, vb, want);
  for (size_t k = 0; k < want; k++) {
    if (a->ints[k] < lo || a->ints[k] > hi)
      return lsp_fail(LSP_EDATA, "%s: %s %s: unsupported value %lld", where,
                      a->name, vb, (long long)a->ints[k]);
    dst[k] = a->ints[k];
  }
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

/* One known attribute onto the node. */
static int apply(const LspOnnx__AttributeProto *a, lsp_onnx_node *nd,
                 const char *where, int *auto_valid, int *allowzero) {
  const char *n = a->name;
  const int64_t big = LSP_ONNX_MAX_DIM;
  int64_t v = 0, d[2];
  char sb[64];
  int st = LSP_OK;
  if (!strcmp(n, "auto_pad")) {
    str_value(a, sb, sizeof sb);
    if (!strcmp(sb, "VALID")) {
      *auto_valid = 1;
    } else if (strcmp(sb, "NOTSET") != 0) {
      return lsp_fail(LSP_EDATA,
                      "%s: auto_pad '%s' is not supported (only "
                      "NOTSET with explicit pads, or VALID)",
                      where, sb);
    }
  } else if (!strcmp(n, "dilations")) {
    st = get_ints(a, where, 2, 1, 1, d);
  } else if (!strcmp(n, "group")) {
    st = get_int(a, where, 1, 1, "(grouped convolution)", &v);
  } else if (!strcmp(n, "kernel_shape")) {
    st = get_ints(a, where, 2, 1, big, nd->kernel);
  } else if (!strcmp(n, "pads")) {
    st = get_ints(a, where, 4, 0, big, nd->pads);
  } else if (!strcmp(n, "strides")) {
    st = get_ints(a, where, 2, 1, big, nd->strides);
  } else if (!strcmp(n, "ceil_mode")) {
    st = get_int(a, where, 0, 0, "(only floor rounding)", &v);
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
  } else if (!strcmp(n, "alpha")) {
    st = get_float(a, where, &nd->alpha);
  } else if (!strcmp(n, "beta")) {
    st = get_float(a, where, &nd->beta);
  } else if (!strcmp(n, "transA")) {
    st = get_int(a, where, 0, 0, "(A must not be transposed)", &v);
  } else if (!strcmp(n, "transB")) {
    st = get_int(a, where, 0, 1, NULL, &v);
    nd->trans_b = (int)v;
  } else if (!strcmp(n, "axis")) {
    st = get_int(a, where, -4, 4, NULL, &nd->axis);
  } else if (!strcmp(n, "allowzero")) {
    st = get_int(a, where, 0, 1, NULL, &v);
    *allowzero = (int)v;
  } else if (!strcmp(n, "mode")) {
    str_value(a, sb, sizeof sb);
    if (strcmp(sb, "constant") != 0)
      return lsp_fail(LSP_EDATA,
                      "%s: mode '%s' is not supported (only "
                      "constant zero padding)",
                      where, sb);
  }
  return st;
}

int lsp_onnx_parse_attrs(const LspOnnx__NodeProto *pn, lsp_onnx_node *nd,
                         const char *where, int *allowzero) {
  const spec *sp = op_specs(nd->op);
  int auto_valid = 0, have_pads = 0, have_kernel = 0;
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
    for (size_t j = 0; j < k; j++)
      if (pn->attribute[j]->name && !strcmp(pn->attribute[j]->name, n))
        return lsp_fail(LSP_EDATA, "%s: attribute '%s' given twice", where, n);
    int t = a->has_type ? (int)a->type : 0;
    if (t != s->type)
      return lsp_fail(LSP_EDATA, "%s: attribute '%s' has type %s, expected %s",
                      where, n, type_name(t), type_name(s->type));
    int st = apply(a, nd, where, &auto_valid, allowzero);
    if (st != LSP_OK) return st;
    have_pads |= !strcmp(n, "pads");
    have_kernel |= !strcmp(n, "kernel_shape");
  }
  if (auto_valid && have_pads) {
    for (int k = 0; k < 4; k++)
      if (nd->pads[k] != 0)
        return lsp_fail(LSP_EDATA, "%s: auto_pad VALID with explicit pads",
                        where);
  }
  if ((nd->op == LSP_ONNX_MAXPOOL || nd->op == LSP_ONNX_AVGPOOL) &&
      !have_kernel)
    return lsp_fail(LSP_EDATA,
                    "%s: the required attribute kernel_shape is "
                    "missing",
                    where);
  return LSP_OK;
}
