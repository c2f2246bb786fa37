/* lsp_train_opts.c — the training options' defaults, the per-epoch log's
 * release, and the record of how a model was trained (lsp_model_meta),
 * kept apart from the training loop in lsp_train.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/lsp_cpu.h"
#include "core/train/lsp_train.h"

void lsp_train_opts_default(lsp_train_opts *o) {
  memset(o, 0, sizeof *o);
  o->smoothing.eps = 0.0;
  o->smoothing.convention = LSP_LS_UNIFORM;
  o->smoothing.normalize = 0;
  o->epochs = 15;
  o->batch = 128;
  o->lr = 0.1;
  o->momentum = 0.9;
  o->weight_decay = 0.0;
  o->cosine = 0;
  o->adam = 0;
  o->seed = 1;
  o->teacher = NULL;
  o->alpha = 0.0;
  o->temperature = 1.0;
}

void lsp_train_log_free(lsp_train_log *log) {
  if (!log) return;
  free(log->train_loss);
  free(log->train_acc);
  free(log->val_loss);
  free(log->val_acc);
  free(log->val_nll);
  log->train_loss = log->train_acc = log->val_loss = log->val_acc = log->val_nll = NULL;
  log->epochs = 0;
}

void lsp_train_record(const lsp_train_opts *o, const lsp_splits *data,
                      lsp_model_meta *r) {
  memset(r, 0, sizeof *r);
  size_t bs = o->batch < data->train.n ? o->batch : data->train.n;
  r->trained = 1;
  r->code_version = LSP_TRAIN_CODE_VERSION;
  r->smoothing = o->smoothing;
  r->seed = o->seed;
  r->epochs = (int)o->epochs;
  r->batch = (int)o->batch;
  r->shares = (int)lsp_train_shares(bs);
  r->lr = o->lr;
  r->momentum = o->momentum;
  r->weight_decay = o->weight_decay;
  r->cosine = o->cosine != 0;
  r->adam = o->adam != 0;
  r->data_hash = data->hash;
  r->split_seed = data->split_seed;
  r->n_train = data->train.n;
  r->n_val = data->val.n;
  r->val_hash = data->val.n ? lsp_dataset_hash(&data->val) : 0;
  snprintf(r->data, sizeof r->data, "%s", data->name);
  snprintf(r->cpu_path, sizeof r->cpu_path, "%s", lsp_cpu_path());
  snprintf(r->blas_core, sizeof r->blas_core, "%s", lsp_blas_core());
  r->val_accuracy = NAN;
  if (o->teacher) {
    r->distilled = 1;
    r->distill_alpha = o->alpha;
    r->distill_temperature = o->temperature;
    r->teacher_hash = lsp_fnv1a(LSP_FNV_INIT, o->teacher,
                                data->train.n * (size_t)data->train.k * sizeof *o->teacher);
  }
}
