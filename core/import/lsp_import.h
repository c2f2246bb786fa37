/* lsp_import.h — models from anywhere: lsprobe's `.lspm` files and models
 * brought in from other frameworks. Importers live apart from the network
 * code (core/nn): they read a foreign format and build an lsp_model, and
 * refuse what they cannot represent.
 *
 * lsp_model_load reads a `.lspm` file (its magic "LSPM"), an ONNX file
 * (anything else: core/import/onnx, read, checked and lowered to the
 * graph), or a PyTorch export folder when `path` is a directory; *out is a
 * new model the caller frees. LSP_EIO when the path cannot be read,
 * LSP_EDATA for a defect, with the file and the problem in the message (a
 * file that is neither format gets both reasons unless its name ends in
 * .onnx), LSP_EINVAL for a `features` name that is not in the model.
 *
 * lsp_model_import_torch reads an MLP exported as one .npy per state_dict
 * tensor ("0.weight.npy", "0.bias.npy", "2.weight.npy", ...; weights
 * [out, in], float32 or float64). The integer prefixes give the layer order
 * (gaps are fine: they are the ReLU modules), consecutive Linear layers get
 * a ReLU between them, and each tensor is read once. Files that are not
 * state_dict keys are ignored (reference arrays beside the export). It
 * refuses, with LSP_EDATA naming the file, what it cannot represent instead
 * of guessing: BatchNorm tensors (running statistics, 1-D weights), other
 * per-module tensors, a wrapped module ("net.0.weight.npy": the message
 * names the prefix found), named modules ("fc1.weight.npy": no layer
 * order); and a missing weight or bias, a tensor of the wrong rank or
 * shape, a non-finite value. The imported meta has trained = 0.
 *
 * An export records no activations, so ReLU is assumed: the importer says
 * so in `note` (one line; "" for a single layer or an .lspm file; for an
 * ONNX file whose batch size is fixed, that it is run on any batch size),
 * which the commands print as a warning. note may be NULL.
 * lsp_model_load_note is lsp_model_load with that note. */
#ifndef LSP_IMPORT_H
#define LSP_IMPORT_H

#include <stddef.h>

#include "core/nn/lsp_model.h"

/* How to load: `features` names the layer whose output the model reports
 * as its features (lsp_model_set_features): an lsprobe node name, or for an
 * ONNX file an ONNX value or node name (lsp_onnx_lower); NULL keeps the
 * classifier's input. */
typedef struct {
  const char *features;
} lsp_load_opts;

int lsp_model_load(const char *path, lsp_model **out);
int lsp_model_load_opts(const char *path, const lsp_load_opts *opts,
                        lsp_model **out, char *note, size_t cap);
int lsp_model_load_note(const char *path, lsp_model **out, char *note, size_t cap);
int lsp_model_import_torch(const char *dir, lsp_model **out, char *note, size_t cap);
/* 1 when a file named `base` (no folder) in an export folder is one that
 * lsp_model_import_torch reads or refuses: a state_dict key ("0.weight.npy",
 * "net.0.bias.npy", "fc1.weight.npy"); writing such a file into the folder
 * changes or breaks the model. 0 for every other name. */
int lsp_import_torch_file_name(const char *base);

#endif
