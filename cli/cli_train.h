/* cli_train.h — the training options `train` and `distill` share: one table
 * of entries (their --help lines) and one reader into lsp_train_opts and the
 * data options, so the two commands cannot drift apart. */
#ifndef LSP_CLI_TRAIN_H
#define LSP_CLI_TRAIN_H

#include "cli/cli.h"
#include "core/data/lsp_data.h"
#include "core/train/lsp_train.h"

/* Option-table entries (--convention ... --quiet); the command adds
 * --smoothing with its own help line. */
#define CLI_TRAIN_OPTIONS                                                       \
  {"convention", "C", "uniform (PyTorch; default) or t2t", 1, 0, 0},            \
      {"epochs", "N", "epochs (default 15)", 1, 0, 0},                          \
      {"batch", "B", "mini-batch size (default 128)", 1, 0, 0},                 \
      {"lr", "R", "learning rate (default 0.1; Adam's step size with --adam)",  \
       1, 0, 0},                                                                \
      {"momentum", "M", "SGD momentum in [0, 1) (default 0.9; not with --adam)", \
       1, 0, 0},                                                                \
      {"weight-decay", "W", "L2 weight decay as in torch.optim (default 0)", 1, \
       0, 0},                                                                   \
      {"cosine", NULL,                                                          \
       "cosine learning-rate schedule stepped per epoch (torch's "              \
       "CosineAnnealingLR): epoch e of E, from 0, at R(1+cos(pi e/E))/2, so "   \
       "the last epoch runs above 0 and one epoch at R",                        \
       0, 0, 0},                                                                \
      {"adam", NULL, "Adam (betas 0.9/0.999) instead of SGD with momentum", 0,  \
       0, 0},                                                                   \
      {"seed", "S",                                                             \
       "initialization and shuffling seed (default 1; 0 initializes as 4357, "  \
       "GSL's default seed)",                                                   \
       1, 0, 0},                                                                \
      {"threads", "T",                                                          \
       "threads (default and 0: all cores): a plain MLP's layers are cut into parts " \
       "of 128 outputs, other networks' batches into ceil(batch/64) shares of " \
       "rows, trained side by side; the model is the same for any T",           \
       1, 0, 0},                                                                \
      {"val", "N",                                                              \
       "validation examples held out of the training file "                     \
       "(default 1/12: 5000 of Fashion-MNIST's 60000)",                         \
       1, 0, 0},                                                                \
      {"max-train", "N",                                                        \
       "train on the first N training examples only (quick runs)", 1, 0, 0},    \
      {"quiet", NULL, "no progress on stderr", 0, 0, 0}

/* Reads --smoothing (default 0) and the options above into *o (which the
 * caller set with lsp_train_opts_default) and into dopt's validation size
 * and training cap, and sets the thread count. Prints a usage error and
 * returns CLI_USAGE on a bad value, else 0. */
int cli_train_get(const char *cmd, cli_opt *opts, lsp_train_opts *o,
                  lsp_data_opts *dopt);

/* A warning (cli_warn) when t2t smoothing on k classes gives the label
 * less weight than each other class: eps > (k-1)/k. */
void cli_smoothing_warn(const char *cmd, const lsp_ls *s, size_t k);

#endif
