/* lsp_model_json.c — a model's training record as JSON keys. */
#include "core/nn/lsp_model_json.h"

void lsp_model_meta_json(const lsp_model *m, lsp_json *j) {
  if (!m->meta.trained) return;
  lsp_json_key_num(j, "smoothing", m->meta.smoothing.eps);
  lsp_json_key_str(j, "convention",
                   lsp_ls_convention_name(m->meta.smoothing.convention));
  if (m->meta.distilled) {
    lsp_json_key(j, "distilled");
    lsp_json_obj_begin(j);
    lsp_json_key_num(j, "alpha", m->meta.distill_alpha);
    lsp_json_key_num(j, "temperature", m->meta.distill_temperature);
    lsp_json_obj_end(j);
  }
}
