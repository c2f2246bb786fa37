/* cmd_attack_int.h — the output half of `lsprobe attack` (cmd_attack_out.c),
 * shared with the option and input half (cmd_attack.c). Internal. */
#ifndef LSP_CMD_ATTACK_INT_H
#define LSP_CMD_ATTACK_INT_H

#include "attacks/lsp_attack.h"

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

#endif
