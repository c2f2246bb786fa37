/* cmd_attack_int.h — the halves of `lsprobe attack`: options and the run
 * (cmd_attack.c), inputs (cmd_attack_in.c), output (cmd_attack_out.c).
 * Internal. */
#ifndef LSP_CMD_ATTACK_INT_H
#define LSP_CMD_ATTACK_INT_H

#include "attacks/lsp_attack.h"
#include "cli/cli.h"
#include "core/data/lsp_data.h"
#include "core/formats/lsp_npy.h"
#include "core/nn/lsp_model.h"

/* Progress on stderr: nothing for runs shorter than 2 s, then at most one
 * line a second (rewritten in place on a terminal). */
typedef struct {
  double t0, last;
  int tty, printed;
} progress_state;

/* lsp_attack_cb: `user` is a progress_state. */
void cmd_attack_progress(const lsp_attack_progress *p, void *user);

/* A result as a table on stdout; `from` names the transfer source or is
 * NULL. */
void cmd_attack_print(const lsp_attack_result *r, const char *model,
                      const char *from);

/* The masking checklist on stdout. */
void cmd_attack_print_checks(const lsp_mask_report *rep);

/* ---- cmd_attack_in.c ---- */

/* The inputs: --data (a dataset split) or --x/--labels arrays. */
typedef struct {
  lsp_splits splits;
  int have_splits;
  lsp_array xa;
  float *xown;
  int32_t *yown;
  const float *x;
  const int32_t *y;
  size_t n, dim;
  int k; /* classes known from the data, 0 if not */
  float lo, hi;
  const char *name;
  int ndim;         /* the shape of one input as given: --x's, or the */
  size_t shape[4];  /* split's C×H×W (N×D when flat); --adv-out's shape */
} attack_inputs;

/* Read --data or --x/--labels (with --limit, --split, --lo/--hi) into in. */
int cmd_attack_load_inputs(cli_opt *opts, const lsp_model *m, const char *mpath,
                           attack_inputs *in);

/* The model must take the inputs' features and, if the data know their
 * class count, have that many outputs. */
int cmd_attack_check_fit(const lsp_model *m, const char *path,
                         const attack_inputs *in);

void cmd_attack_inputs_free(attack_inputs *in);

#endif
