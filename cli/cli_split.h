/* cli_split.h — the data split for a model that records the validation
 * examples it was trained without (eval, distill). */
#ifndef LSP_CLI_SPLIT_H
#define LSP_CLI_SPLIT_H

#include "core/data/lsp_data.h"
#include "core/nn/lsp_model.h"

/* Loads dopt's data into *data for the model whose record is *mt (`who`
 * names it in messages: "m.lspm", "the teacher m.lspm").
 * - A model without a recorded split: the split asked for; *other = 0.
 * - The model's own data (its recorded split loads and its validation rows
 *   hash as recorded): that split; --val (val_given, dopt->n_val) other than
 *   the recorded size is refused (LSP_EINVAL); *other = 0.
 * - Other data (the validation rows differ, or the training file cannot
 *   hold the recorded split): the record does not apply; the split asked
 *   for with --val, else the recorded split where the file holds it, else
 *   the default; *other = 1.
 * Returns an lsprobe status (the reason in lsp_errmsg()). */
int cli_data_for_model(const char *who, const lsp_model_meta *mt, lsp_data_opts *dopt,
                       int val_given, lsp_splits *data, int *other);

#endif
