/* cli_split.c — the data split for a model with a recorded one (cli_split.h). */
#include "cli/cli_split.h"

#include "core/base/lsp_error.h"

int cli_data_for_model(const char *who, const lsp_model_meta *mt, lsp_data_opts *dopt,
                       int val_given, lsp_splits *data, int *other) {
  *other = 0;
  if (!(mt->trained && mt->val_hash != 0)) return lsp_data_load(dopt, data);
  lsp_data_opts rec = *dopt;
  rec.seed = mt->split_seed;
  rec.n_val = (size_t)mt->n_val;
  int st = lsp_data_load(&rec, data);
  if (st == LSP_OK && lsp_dataset_hash(&data->val) == mt->val_hash) {
    if (val_given && dopt->n_val != (size_t)mt->n_val) {
      lsp_splits_free(data);
      return lsp_fail(LSP_EINVAL,
                      "--val %zu: %s was trained with %llu validation examples held "
                      "out; leave --val out to use them",
                      dopt->n_val, who, (unsigned long long)mt->n_val);
    }
    *dopt = rec;
    return LSP_OK;
  }
  /* A training file too small for the recorded split (LSP_EINVAL) is other
   * data as well; any other failure is the data's own. */
  if (st != LSP_OK && st != LSP_EINVAL) return st;
  *other = 1;
  if (st == LSP_OK && !val_given) {
    *dopt = rec;
    return LSP_OK;
  }
  if (st == LSP_OK) lsp_splits_free(data);
  lsp_clear_error();
  return lsp_data_load(dopt, data);
}
