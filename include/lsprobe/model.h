/* lsprobe/model.h — classifiers: load a model file, run it, evaluate it.
 *
 * A model maps an example of lsp_model_input_size() floats (an image's
 * C×H×W pixels in C order, or a feature vector) to K logits; the input of
 * its last dense layer is the penultimate feature vector. Inputs are on the
 * scale the model was trained on (lsprobe's datasets: pixels in [0, 1]).
 * A model is read-only except during an attack (lsprobe/attack.h), which
 * runs backward passes through it: do not share one model between threads
 * that attack at the same time. */
#ifndef LSPROBE_MODEL_H
#define LSPROBE_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "lsprobe/export.h"
#include "lsprobe/result.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lsp_model lsp_model;

/* Load a model: an lsprobe `.lspm` file, an ONNX file (the operators
 * README lists) or a PyTorch export folder (one .npy per state_dict
 * tensor, README). *out is a new model; free it with lsp_model_free.
 * LSP_EINVAL for a NULL path or out, LSP_EIO when the path cannot be read,
 * LSP_EDATA for a defect, with the file and the problem in the message. */
LSP_API int lsp_model_load(const char *path, lsp_model **out);

/* NULL is a no-op. */
LSP_API void lsp_model_free(lsp_model *m);

/* Floats per input example (C·H·W), classes K, and the width of the
 * penultimate features. */
LSP_API size_t lsp_model_input_size(const lsp_model *m);
/* One input example's shape: shape[0..2] = channels, height, width (a
 * feature vector of D values is D×1×1). */
LSP_API void lsp_model_input_shape(const lsp_model *m, size_t shape[3]);
LSP_API size_t lsp_model_class_count(const lsp_model *m);
LSP_API size_t lsp_model_feature_size(const lsp_model *m);

/* Logits (N×K) and, when `features` is not NULL, penultimate features
 * (N×lsp_model_feature_size) of the N examples in x (N×input size, float32
 * or float64; float64 is rounded to float32 a batch at a time), into
 * caller-owned float32 arrays. LSP_EDATA when x has the wrong width,
 * naming the row and column of a non-finite input, or naming the row
 * whose finite inputs overflow the network (a logit not finite). */
LSP_API int lsp_model_logits(const lsp_model *m, const lsp_matrix *x,
                             float *logits, float *features);

/* Score the model on N examples x with labels y, as `lsprobe eval --json`:
 * "arch", "n", the training smoothing ("smoothing", "convention", and
 * "distilled" {alpha, temperature} for a distilled student) when the model
 * file records it, "accuracy", "nll", "calibration" {...},
 * "clusters" {...} (penultimate features; null, with "clusters_note"
 * saying why, when the examples cannot give them: fewer than 2 classes
 * with a non-zero feature row) and "logit_gap" {...} (against the optimum
 * of the model's own smoothing). With validation examples
 * (val_x M×input size and val_y, both or neither) the temperature is
 * fitted on them and "calibration_temperature_scaled" added; when their
 * NLL has no minimum in T (it keeps falling towards an end of the search
 * range) there is no scaling, and "calibration_temperature_note" says why.
 * Options: bins (15), bootstrap (0), seed (1). Errors as lsp_model_logits,
 * and LSP_EDATA for labels outside [0, K). */
LSP_API int lsp_model_evaluate(const lsp_model *m, const lsp_matrix *x,
                               const int32_t *y, const lsp_matrix *val_x,
                               const int32_t *val_y, const lsp_opts *o,
                               lsp_result **out);

#ifdef __cplusplus
}
#endif

#endif
