/* lsp_model_json.h — a model's training record as JSON keys. */
#ifndef LSP_MODEL_JSON_H
#define LSP_MODEL_JSON_H

#include "core/formats/lsp_json.h"
#include "core/nn/lsp_model.h"

/* Writes the training record as keys of the object being written (eval
 * --json and the API's evaluate share it): "smoothing", "convention" and, for
 * a distilled model, "distilled": {"alpha", "temperature"}; nothing for an
 * untrained or imported model. */
void lsp_model_meta_json(const lsp_model *m, lsp_json *j);

#endif
