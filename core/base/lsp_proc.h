/* lsp_proc.h — a name for this process that stays unique when process ids
 * are reused, so leftovers of a dead job (staging folders, temporary files)
 * can be told from those of a job that is still running.
 *
 * A token is "<pid>-<start>-<boot>": the process id, the process's start
 * time in clock ticks since boot (/proc/<pid>/stat field 22) and the first
 * 8 hex digits of the kernel's boot id (/proc/sys/kernel/random/boot_id).
 * A later process with the same id has another start time; after a reboot
 * the boot id differs. Where /proc is missing, start and boot are 0 and
 * only the process id is compared (a reused id then reads as alive, which
 * keeps leftovers rather than deleting live work).
 *
 * Also the memory still available to a process, from /proc/meminfo, and
 * the environment a child program is started with. */
#ifndef LSP_PROC_H
#define LSP_PROC_H

#include <stddef.h>

/* Room for any token, with its NUL. */
#define LSP_PROC_TOKEN_MAX 48

/* Write this process's token into buf[LSP_PROC_TOKEN_MAX]. Not cached:
 * a forked child gets its own. */
void lsp_proc_token(char *buf);

/* Parse the token at the start of `s` (it ends at `s + len`): 1 if its
 * process is still running (a zombie counts as gone), 0 if it is gone, -1 if
 * s[0..len) is not a token. */
int lsp_proc_token_alive(const char *s, size_t len);

/* The memory the machine can still give, in bytes: MemAvailable plus
 * SwapFree of /proc/meminfo; -1 when that cannot be read (no /proc, or a
 * kernel without MemAvailable). */
double lsp_mem_available(void);

/* This process's environment with `var` ("NAME=value") in place of any
 * NAME=…, for execve: a new array of the environment's own strings and
 * `var` (free the array only, after the exec); NULL when out of memory. */
char **lsp_environ_with(const char *var);

#endif
