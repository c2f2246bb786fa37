/* lsp_import.h — models from anywhere: lsprobe's `.lspm` files and models
 * brought in from other frameworks. Importers live apart from the network
 * code (core/nn): they read a foreign format and build an lsp_model, and
 * refuse what they cannot represent.
 *
 * lsp_model_load reads a `.lspm` file (lsp_model_load_lspm), or a PyTorch
 * export folder when `path` is a directory; *out is a new model the caller
 * frees. LSP_EIO when the path cannot be read, LSP_EDATA for a defect, with
 * the file and the problem in the message.
 *
 * lsp_model_import_torch reads an MLP exported as one .npy per state_dict
 * tensor ("0.weight.npy", "0.bias.npy", "2.weight.npy", ...; weights
 * [out, in], float32 or float64). The integer prefixes give the layer order
 * (gaps are fine: they are the ReLU modules), consecutive Linear layers get
 * a ReLU between them, other files in the folder are ignored. A missing
 * weight or bias, a tensor of the wrong rank or shape, or a non-finite value
 * is LSP_EDATA naming that file. The imported meta has trained = 0. */
#ifndef LSP_IMPORT_H
#define LSP_IMPORT_H

#include "core/nn/lsp_model.h"

int lsp_model_load(const char *path, lsp_model **out);
int lsp_model_import_torch(const char *dir, lsp_model **out);

#endif
