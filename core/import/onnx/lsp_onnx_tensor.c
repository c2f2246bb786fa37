/* lsp_onnx_tensor.c — protobuf-c under a counting allocator, and protobuf
 * values into lsprobe's types: TensorProto (initializers, Constant values,
 * the backend tests' .pb files) and the graph input's and output's shapes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/base/lsp_io.h"
#include "core/import/onnx/lsp_onnx_int.h"
#include "core/import/onnx/lsp_onnx_read_int.h"

/* ---- protobuf-c memory ---------------------------------------------------
 * Each block carries its size in a header so that free can count it. */
typedef union {
  size_t size;
  max_align_t align;
} pb_hdr;

static void *pb_alloc(void *data, size_t size) {
  lsp_onnx_pbmem *mem = data;
  if (size > mem->limit - mem->live || size > SIZE_MAX - sizeof(pb_hdr))
    return NULL;
  pb_hdr *h = malloc(sizeof *h + size);
  if (!h) return NULL;
  h->size = size;
  mem->live += size;
  if (mem->live > mem->peak) mem->peak = mem->live;
  return h + 1;
}

static void pb_dealloc(void *data, void *ptr) {
  if (!ptr) return;
  lsp_onnx_pbmem *mem = data;
  pb_hdr *h = (pb_hdr *)ptr - 1;
  mem->live -= h->size;
  free(h);
}

size_t lsp_onnx_pb_limit(size_t len) {
  /* the tree of a real model is about as large as the file (the bytes of
   * initializers and of unknown fields are copied once); a generous margin
   * for message headers, and a floor for small files */
  size_t cap = (size_t)1 << 34;
  if (len > cap / 8) return cap;
  return 8 * len + ((size_t)64 << 20);
}

LspOnnx__ModelProto *lsp_onnx_pb_model(const uint8_t *buf, size_t len,
                                       lsp_onnx_pbmem *mem) {
  ProtobufCAllocator a = {pb_alloc, pb_dealloc, mem};
  return lsp_onnx__model_proto__unpack(&a, len, buf);
}

LspOnnx__TensorProto *lsp_onnx_pb_tensor(const uint8_t *buf, size_t len,
                                         lsp_onnx_pbmem *mem) {
  ProtobufCAllocator a = {pb_alloc, pb_dealloc, mem};
  return lsp_onnx__tensor_proto__unpack(&a, len, buf);
}

void lsp_onnx_pb_free(ProtobufCMessage *msg, lsp_onnx_pbmem *mem) {
  if (!msg) return;
  ProtobufCAllocator a = {pb_alloc, pb_dealloc, mem};
  protobuf_c_message_free_unpacked(msg, &a);
}

/* ---- TensorProto -------------------------------------------------------- */

const char *lsp_onnx_dtype_name(int32_t dt, char *buf, size_t len) {
  static const char *const names[] = {
      "undefined", "float32", "uint8",     "int8",       "uint16",  "int16",
      "int32",     "int64",   "string",    "bool",       "float16", "float64",
      "uint32",    "uint64",  "complex64", "complex128", "bfloat16"};
  if (dt >= 0 && dt < (int32_t)(sizeof names / sizeof *names)) return names[dt];
  snprintf(buf, len, "type %ld", (long)dt);
  return buf;
}

static uint64_t le_bytes(const uint8_t *p, int n) {
  uint64_t v = 0;
  for (int k = n - 1; k >= 0; k--) v = (v << 8) | p[k];
  return v;
}

int lsp_onnx_tensor_from_pb(const LspOnnx__TensorProto *tp, const char *what,
                            int finite, lsp_onnx_tensor *out) {
  memset(out, 0, sizeof *out);
  char tb[32];
  if ((tp->has_data_location &&
       tp->data_location == LSP_ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) ||
      tp->n_external_data > 0) {
    const char *loc = "";
    for (size_t k = 0; k < tp->n_external_data; k++)
      if (tp->external_data[k]->key &&
          strcmp(tp->external_data[k]->key, "location") == 0 &&
          tp->external_data[k]->value)
        loc = tp->external_data[k]->value;
    return lsp_fail(LSP_EDATA,
                    "%s: uses external data%s%s%s; lsprobe needs the data "
                    "inside the .onnx file",
                    what, loc[0] ? " ('" : "", loc, loc[0] ? "')" : "");
  }
  if (tp->segment)
    return lsp_fail(LSP_EDATA, "%s: segmented tensors are not supported", what);
  int32_t dt = tp->has_data_type ? tp->data_type : 0;
  if (dt != LSP_ONNX_FLOAT && dt != LSP_ONNX_INT64 && dt != LSP_ONNX_BOOL)
    return lsp_fail(LSP_EDATA,
                    "%s: element type %s; only float32 is "
                    "supported (int64 for shapes and pads)",
                    what, lsp_onnx_dtype_name(dt, tb, sizeof tb));
  if (tp->n_dims > LSP_ONNX_MAXDIM)
    return lsp_fail(LSP_EDATA, "%s: rank %zu (at most %d)", what, tp->n_dims,
                    LSP_ONNX_MAXDIM);
  int64_t count = 1;
  for (size_t k = 0; k < tp->n_dims; k++) {
    if (tp->dims[k] < 1 || tp->dims[k] > LSP_ONNX_MAX_COUNT)
      return lsp_fail(LSP_EDATA, "%s: dimension %zu is %lld", what, k,
                      (long long)tp->dims[k]);
    count *= tp->dims[k];
    if (count > LSP_ONNX_MAX_COUNT)
      return lsp_fail(LSP_EDATA, "%s: more than 2^31 elements", what);
  }
  /* bytes per element: raw, and in the typed field (bool: int32_data) */
  size_t n = (size_t)count,
         esz = dt == LSP_ONNX_FLOAT ? 4 : dt == LSP_ONNX_BOOL ? 1 : 8;
  size_t have_typed = dt == LSP_ONNX_FLOAT  ? tp->n_float_data
                      : dt == LSP_ONNX_BOOL ? tp->n_int32_data
                                            : tp->n_int64_data;
  size_t other_typed = tp->n_float_data + tp->n_int64_data +
                       (dt == LSP_ONNX_BOOL ? 0 : tp->n_int32_data) -
                       (dt == LSP_ONNX_BOOL ? 0 : have_typed);
  int raw = tp->has_raw_data && tp->raw_data.len > 0;
  if (other_typed || (raw && have_typed))
    return lsp_fail(LSP_EDATA, "%s: data in more than one field", what);
  size_t have = raw ? tp->raw_data.len : have_typed * esz;
  if (have != n * esz) {
    char db[160];
    lsp_onnx_ints_str(tp->dims, tp->n_dims, db, sizeof db);
    return lsp_fail(LSP_EDATA,
                    "%s: dims %s give %zu elements but the data "
                    "holds %zu bytes (%zu expected)",
                    what, db, n, have, n * esz);
  }
  void *data = malloc(n * (dt == LSP_ONNX_FLOAT ? 4 : 8));
  if (!data) return lsp_fail(LSP_ENOMEM, "%s: out of memory", what);
  if (dt == LSP_ONNX_BOOL) {
    int64_t *v = data;
    for (size_t k = 0; k < n; k++)
      v[k] = (raw ? tp->raw_data.data[k] : tp->int32_data[k]) != 0;
    out->i = v;
  } else if (dt == LSP_ONNX_FLOAT) {
    float *f = data;
    for (size_t k = 0; k < n; k++) {
      if (raw) {
        uint32_t u = (uint32_t)le_bytes(tp->raw_data.data + 4 * k, 4);
        memcpy(&f[k], &u, 4);
      } else {
        f[k] = tp->float_data[k];
      }
      /* a one-value tensor may be -inf: Pad's constant_value in front of a
       * max pooling (lsprobe's own export writes it); a weight of -inf is
       * refused when the model is lowered */
      if (finite && !isfinite(f[k]) && !(n == 1 && f[k] == -INFINITY)) {
        free(data);
        return lsp_fail(LSP_EDATA, "%s: non-finite value at index %zu", what,
                        k);
      }
    }
    out->f = f;
  } else {
    int64_t *v = data;
    for (size_t k = 0; k < n; k++) {
      v[k] = raw ? (int64_t)le_bytes(tp->raw_data.data + 8 * k, 8)
                 : tp->int64_data[k];
      /* the values the reader gives the entries of a computed Shape (no
       * shape, pad, axis or bound of a real model is near them) */
      if (lsp_onnx_is_sym(v[k])) {
        long long bad = (long long)v[k];
        free(data);
        return lsp_fail(LSP_EDATA,
                        "%s: int64 value %lld at index %zu is one lsprobe "
                        "reserves for the dimensions of a computed Shape",
                        what, bad, k);
      }
    }
    out->i = v;
  }
  out->name = lsp_onnx_strdup(tp->name);
  if (!out->name) {
    lsp_onnx_tensor_release(out);
    return lsp_fail(LSP_ENOMEM, "%s: out of memory", what);
  }
  out->dtype = dt;
  out->ndim = (int)tp->n_dims;
  for (size_t k = 0; k < tp->n_dims; k++) out->dims[k] = tp->dims[k];
  out->count = n;
  return LSP_OK;
}

/* ---- graph inputs and outputs ------------------------------------------- */

int lsp_onnx_input_shape(const LspOnnx__ValueInfoProto *vi, const char *path,
                         lsp_onnx_shape *sh) {
  const char *nm = vi->name ? vi->name : "";
  const LspOnnx__TypeProto__Tensor *tt =
      vi->type ? vi->type->tensor_type : NULL;
  char tb[32];
  if (!tt)
    return lsp_fail(LSP_EDATA, "%s: graph input '%s' is not a tensor", path,
                    nm);
  if (!tt->has_elem_type || tt->elem_type != LSP_ONNX_FLOAT)
    return lsp_fail(LSP_EDATA,
                    "%s: graph input '%s' has element type %s; "
                    "lsprobe takes float32",
                    path, nm,
                    lsp_onnx_dtype_name(tt->elem_type, tb, sizeof tb));
  size_t r = tt->shape ? tt->shape->n_dim : 0;
  if (!tt->shape || r < 2 || r > 4)
    return lsp_fail(
        LSP_EDATA,
        "%s: graph input '%s' has %s; lsprobe takes "
        "N × D, N × C × L or N × C × H × W",
        path, nm,
        tt->shape ? (snprintf(tb, sizeof tb, "rank %zu", r), tb) : "no shape");
  int64_t per = 1;
  sh->rank = (int)r;
  for (size_t k = 0; k < r; k++) {
    const LspOnnx__TensorShapeProto__Dimension *d = tt->shape->dim[k];
    int fixed = d->value_case ==
                LSP_ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
    int64_t v = fixed ? d->dim_value : -1;
    if (k == 0 && (!fixed || (v >= 1 && v <= LSP_ONNX_MAX_DIM))) {
      sh->dims[0] = v;
      continue;
    }
    if (!fixed)
      return lsp_fail(
          LSP_EDATA,
          "%s: graph input '%s': dimension %zu is "
          "symbolic ('%s'); only the batch dimension may vary",
          path, nm, k,
          d->value_case ? (d->dim_param ? d->dim_param : "") : "unknown");
    if (v < 1 || v > LSP_ONNX_MAX_DIM)
      return lsp_fail(LSP_EDATA, "%s: graph input '%s': dimension %zu is %lld",
                      path, nm, k, (long long)v);
    sh->dims[k] = v;
    per *= v;
  }
  if (per > LSP_ONNX_MAX_ACT)
    return lsp_fail(LSP_EDATA,
                    "%s: graph input '%s': %lld values per example "
                    "is too many",
                    path, nm, (long long)per);
  return LSP_OK;
}

/* The graph output's declared shape (when given) against the computed one. */
int lsp_onnx_output_shape(const LspOnnx__ValueInfoProto *vo, const char *path,
                          const lsp_onnx_shape *got) {
  const LspOnnx__TypeProto__Tensor *tt =
      vo->type ? vo->type->tensor_type : NULL;
  if (!tt || !tt->shape) return LSP_OK;
  int ok = tt->shape->n_dim == (size_t)got->rank;
  for (size_t k = 1; ok && k < tt->shape->n_dim; k++) {
    const LspOnnx__TensorShapeProto__Dimension *d = tt->shape->dim[k];
    if (d->value_case ==
        LSP_ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE)
      ok = d->dim_value == got->dims[k];
  }
  if (ok) return LSP_OK;
  char want[160], have[160];
  int64_t wd[LSP_ONNX_MAXDIM];
  size_t wn =
      tt->shape->n_dim < LSP_ONNX_MAXDIM ? tt->shape->n_dim : LSP_ONNX_MAXDIM;
  for (size_t k = 0; k < wn; k++)
    wd[k] = tt->shape->dim[k]->value_case ==
                    LSP_ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE
                ? tt->shape->dim[k]->dim_value
                : -1;
  lsp_onnx_ints_str(wd, wn, want, sizeof want);
  lsp_onnx_ints_str(got->dims, (size_t)got->rank, have, sizeof have);
  return lsp_fail(LSP_EDATA,
                  "%s: graph output '%s' is declared %s but the "
                  "graph computes %s (-1: any batch)",
                  path, vo->name, want, have);
}

/* ---- .pb files ----------------------------------------------------------- */

int lsp_onnx_tensor_read_mem(const void *buf, size_t len, const char *path,
                             lsp_onnx_tensor *out) {
  memset(out, 0, sizeof *out);
  lsp_onnx_pbmem mem = {0, 0, lsp_onnx_pb_limit(len)};
  LspOnnx__TensorProto *tp = lsp_onnx_pb_tensor(buf, len, &mem);
  if (!tp) {
    if (mem.peak + 4096 >= mem.limit)
      return lsp_fail(LSP_EDATA,
                      "%s: the TensorProto needs more than %zu MB "
                      "to unpack",
                      path, mem.limit >> 20);
    return lsp_fail(LSP_EDATA, "%s: not a TensorProto (malformed protobuf)",
                    path);
  }
  char what[1024];
  snprintf(what, sizeof what, "%s: tensor '%s'", path,
           tp->name ? tp->name : "");
  int st = lsp_onnx_tensor_from_pb(tp, what, 0, out);
  lsp_onnx_pb_free(&tp->base, &mem);
  return st;
}

int lsp_onnx_tensor_read(const char *path, lsp_onnx_tensor *out) {
  memset(out, 0, sizeof *out);
  char *buf = NULL;
  size_t len = 0;
  int st = lsp_read_file(path, &buf, &len);
  if (st != LSP_OK) return st;
  st = lsp_onnx_tensor_read_mem(buf, len, path, out);
  free(buf);
  return st;
}
