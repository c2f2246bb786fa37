/* lsp_onnx_alias.c — the nodes the ONNX reader reads as no op of their
 * own (lsp_onnx_nodes.c calls them): a Constant node becomes a constant,
 * a Dropout in inference and a final Softmax or LogSoftmax become aliases
 * of their input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/import/onnx/lsp_onnx_read_int.h"

int lsp_onnx_rd_constant(lsp_onnx_rctx *c, const LspOnnx__NodeProto *pn,
                         const char *where) {
  if (pn->n_attribute != 1)
    return lsp_onnx_fail_at(
        where, "expects exactly one value attribute, has %zu", pn->n_attribute);
  const LspOnnx__AttributeProto *a = pn->attribute[0];
  const char *an = lsp_onnx_str(a->name);
  int type = a->has_type ? (int)a->type : 0, st;
  lsp_onnx_tensor t;
  memset(&t, 0, sizeof t);
  char what[640];
  snprintf(what, sizeof what, "%s: value", where);
  if (!strcmp(an, "value") && type == 4 && a->t) {
    if ((st = lsp_onnx_tensor_from_pb(a->t, what, 1, &t)) != LSP_OK) return st;
    free(t.name);
    t.name = NULL;
  } else if ((!strcmp(an, "value_float") && type == 1) ||
             (!strcmp(an, "value_floats") && type == 6 && a->n_floats)) {
    int many = type == 6;
    t.dtype = LSP_ONNX_FLOAT;
    t.ndim = many;
    t.count = many ? a->n_floats : 1;
    t.dims[0] = (int64_t)t.count;
    if (!(t.f = malloc(t.count * sizeof *t.f)))
      return lsp_fail(LSP_ENOMEM, "%s: out of memory", where);
    for (size_t k = 0; k < t.count; k++) t.f[k] = many ? a->floats[k] : a->f;
  } else if ((!strcmp(an, "value_int") && type == 2) ||
             (!strcmp(an, "value_ints") && type == 7 && a->n_ints)) {
    int many = type == 7;
    t.dtype = LSP_ONNX_INT64;
    t.ndim = many;
    t.count = many ? a->n_ints : 1;
    t.dims[0] = (int64_t)t.count;
    if (!(t.i = malloc(t.count * sizeof *t.i)))
      return lsp_fail(LSP_ENOMEM, "%s: out of memory", where);
    for (size_t k = 0; k < t.count; k++) t.i[k] = many ? a->ints[k] : a->i;
  } else {
    return lsp_onnx_fail_at(
        where,
        "attribute '%s' is not supported (value, value_float"
        "(s) or value_int(s) of a matching type)",
        an);
  }
  if (!(t.name = lsp_onnx_strdup(pn->output[0]))) {
    lsp_onnx_tensor_release(&t);
    return lsp_fail(LSP_ENOMEM, "%s: out of memory", where);
  }
  return lsp_onnx_rd_add_const(c, &t, where);
}

/* A Softmax or LogSoftmax over the classes that makes the graph output:
 * the file gives probabilities (or their logarithms); the logits every
 * analysis needs are its input, which the graph output becomes (an alias;
 * the model's softmax_op and softmax_out say so). *taken: 1 for such a
 * node. Over another axis it is refused. */
int lsp_onnx_rd_softmax(lsp_onnx_rctx *c, const LspOnnx__NodeProto *pn,
                        const char *ot, const char *where, int *taken) {
  int logsm = !strcmp(ot, "LogSoftmax");
  *taken = 0;
  if ((!logsm && strcmp(ot, "Softmax") != 0) || pn->n_output < 1 ||
      pn->n_input != 1 || strcmp(lsp_onnx_str(pn->output[0]), c->m->output))
    return LSP_OK;
  int64_t axis = c->m->opset >= 13 ? -1 : 1;
  for (size_t k = 0; k < pn->n_attribute; k++) {
    const LspOnnx__AttributeProto *a = pn->attribute[k];
    if (strcmp(lsp_onnx_str(a->name), "axis") != 0 || !a->has_type ||
        a->type != 2)
      return lsp_onnx_fail_at(where,
                              "attribute '%s' is not supported (axis only)",
                              lsp_onnx_str(a->name));
    axis = a->i;
  }
  if (axis != 1 && axis != -1)
    return lsp_onnx_fail_at(
        where,
        "the graph output '%s' is the %s over axis %lld; lsprobe reads a "
        "final %s over the classes only (axis 1 or -1 of N × K), as the "
        "logits it is applied to ('%s')",
        c->m->output, ot, (long long)axis, ot, lsp_onnx_str(pn->input[0]));
  free(c->m->softmax_op);
  free(c->m->softmax_out);
  c->m->softmax_op = lsp_onnx_strdup(ot);
  c->m->softmax_out = lsp_onnx_strdup(c->m->output);
  if (!c->m->softmax_op || !c->m->softmax_out)
    return lsp_fail(LSP_ENOMEM, "%s: out of memory", where);
  *taken = 1;
  return lsp_onnx_rd_alias(c, pn->output[0], pn->input[0], pn->name);
}

/* The attributes Dropout has in the model's opset: ratio (up to 11),
 * is_test (up to 6), consumed_inputs (up to 5), seed (from 12). */
static int dropout_attrs(const lsp_onnx_rctx *c, const LspOnnx__NodeProto *pn,
                         const char *where, int *is_test) {
  int64_t opset = c->m->opset;
  for (size_t k = 0; k < pn->n_attribute; k++) {
    const LspOnnx__AttributeProto *a = pn->attribute[k];
    const char *an = lsp_onnx_str(a->name);
    int type = a->has_type ? (int)a->type : 0;
    if (!strcmp(an, "is_test") && type == 2 && opset <= 6)
      *is_test = a->i != 0;
    else if (!((!strcmp(an, "ratio") && type == 1 && opset <= 11) ||
               (!strcmp(an, "consumed_inputs") && type == 7 && opset <= 5) ||
               (!strcmp(an, "seed") && type == 2 && opset >= 12)))
      return lsp_onnx_fail_at(
          where,
          "attribute '%s' is not supported at opset %lld (Dropout: ratio up "
          "to opset 11, is_test up to 6, consumed_inputs up to 5, seed "
          "from 12)",
          an, (long long)opset);
  }
  return LSP_OK;
}

int lsp_onnx_rd_dropout(lsp_onnx_rctx *c, const LspOnnx__GraphProto *g,
                        const LspOnnx__NodeProto *pn, const char *where) {
  static const char k_train[] =
      "Dropout in training mode drops values at random; lsprobe reads a "
      "network in inference, where Dropout passes its input on (export the "
      "model in eval mode)";
  int64_t opset = c->m->opset;
  size_t nin = pn->n_input;
  while (nin && !lsp_onnx_str(pn->input[nin - 1])[0]) nin--;
  if (nin < 1 || !lsp_onnx_str(pn->input[0])[0] || nin > (opset >= 12 ? 3 : 1))
    return lsp_onnx_fail_at(where,
                            "%zu inputs; expected the data%s", nin,
                            opset >= 12 ? " (then ratio and training_mode, "
                                          "both optional)"
                                        : " only (ratio and training_mode are "
                                          "inputs from opset 12 on)");
  int is_test = 0, st;
  if ((st = dropout_attrs(c, pn, where, &is_test)) != LSP_OK) return st;
  if (opset <= 6 && !is_test)
    return lsp_onnx_fail_at(where, "is_test = 0 (opset %lld; the default): %s",
                            (long long)opset, k_train);
  if (nin == 3 && lsp_onnx_str(pn->input[2])[0]) {
    const char *tn = lsp_onnx_str(pn->input[2]),
               *r = lsp_onnx_rd_resolve(c, tn);
    const lsp_onnx_tensor *t = r ? lsp_onnx_rd_const(c, r) : NULL;
    if (!t || t->dtype != LSP_ONNX_BOOL || t->count != 1)
      return lsp_onnx_fail_at(
          where,
          "training_mode '%s' is not a constant bool scalar; lsprobe reads "
          "Dropout in inference only (training_mode absent or false)",
          tn);
    if (t->i[0])
      return lsp_onnx_fail_at(where, "training_mode '%s' is true: %s", tn,
                              k_train);
  }
  const char *mask = pn->n_output > 1 ? lsp_onnx_str(pn->output[1]) : "";
  for (size_t i = 0; mask[0] && i < g->n_node; i++)
    for (size_t j = 0; j < g->node[i]->n_input; j++)
      if (!strcmp(lsp_onnx_str(g->node[i]->input[j]), mask)) {
        char lb[32];
        return lsp_onnx_fail_at(
            where,
            "its mask output '%s' is read by node '%s'; lsprobe reads "
            "Dropout in inference as the identity, without its mask",
            mask, lsp_onnx_node_label(g->node[i]->name, i, lb, sizeof lb));
      }
  if (mask[0] && !strcmp(mask, c->m->output))
    return lsp_onnx_fail_at(
        where,
        "its mask output '%s' is the graph output; lsprobe reads Dropout in "
        "inference as the identity, without its mask",
        mask);
  return lsp_onnx_rd_alias(c, pn->output[0], pn->input[0], pn->name);
}
