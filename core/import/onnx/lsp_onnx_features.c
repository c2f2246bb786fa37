/* lsp_onnx_features.c — `--features NAME` on a lowered ONNX model: the
 * layer whose output is the penultimate features, named by an ONNX value,
 * an ONNX node (its output), an Identity's name, or an lsprobe layer. */
#include <stdio.h>
#include <string.h>

#include "core/base/lsp_error.h"
#include "core/import/onnx/lsp_onnx_lower_int.h"

int lsp_onnx_lower_features(lsp_onnx_lctx *c, const char *name) {
  const lsp_onnx_model *om = c->om;
  const char *value = NULL;
  if (!strcmp(name, om->input) || lsp_onnx_map_get(&c->prod, name, NULL))
    value = name;
  for (size_t k = 0; !value && k < om->nnodes; k++)
    if (om->nodes[k].name[0] && !strcmp(om->nodes[k].name, name))
      value = om->nodes[k].output;
  for (size_t k = 0; !value && k < om->naliases; k++)
    if (!strcmp(om->alias_name[k], name) && /* an Identity or zero Pad */
        (!strcmp(om->alias_value[k], om->input) ||
         lsp_onnx_map_get(&c->prod, om->alias_value[k], NULL)))
      value = om->alias_value[k];
  int id;
  if (value) {
    long p = lsp_onnx_lower_producer(c, value);
    id = lsp_onnx_lower_node_of(c, value);
    if (p >= 0 && c->head_conv >= 0 &&
        (p == c->head_conv || p == c->bias_from[c->head_conv]))
      return lsp_fail(LSP_EINVAL,
                      "%s: --features '%s': this 1×1 convolution is the "
                      "classifier (applied to its pooled input, the features)",
                      c->path, name);
    if (p >= 0 && c->bias_from[p] >= 0) {
      const lsp_onnx_node *f = &om->nodes[c->bias_from[p]];
      return lsp_fail(LSP_EINVAL,
                      "%s: --features '%s': the %s after it is part of the "
                      "same lsprobe layer; name its output '%s'",
                      c->path, name, lsp_onnx_op_name(f->op), f->output);
    }
  } else if ((id = lsp_model_find(c->m, name)) < 0) {
    /* name the layers nearest the classifier, the likely choices */
    char near[400] = "";
    size_t last = c->m->nnodes - 1, from = last > 6 ? last - 6 : 0;
    for (size_t i = from; i < last; i++) {
      size_t len = strlen(near);
      snprintf(near + len, sizeof near - len, "%s%s",
               i > from ? ", " : (from ? "..., " : ""), c->m->nodes[i].name);
    }
    return lsp_fail(LSP_EINVAL,
                    "%s: --features '%s': no value, node or layer of that "
                    "name (the layers before the classifier: %s)",
                    c->path, name, near);
  }
  if (lsp_model_set_features(c->m, id))
    return lsp_fail(LSP_EINVAL,
                    "%s: --features '%s': the logits are not features; name "
                    "a layer before the classifier",
                    c->path, name);
  return LSP_OK;
}

