/* lsp_mpi.c — starting MPI and agreeing on failure (lsp_mpi.h). */
#define _POSIX_C_SOURCE 200809L
#include "mpi/lsp_mpi.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/base/lsp_error.h"

static int g_active, g_rank, g_size = 1;

int lsp_mpi_launched(void) {
  static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK",
                                     "PMI_SIZE"};
  for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
    if (getenv(vars[i])) return 1;
  return 0;
}

int lsp_mpi_init(int *argc, char ***argv) {
  if (g_active) return LSP_OK;
  int provided = 0;
  if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
    return lsp_fail(LSP_EIO, "MPI: MPI_Init_thread failed");
  if (provided < MPI_THREAD_FUNNELED) {
    MPI_Finalize();
    return lsp_fail(LSP_EIO, "MPI: the library gives no MPI_THREAD_FUNNELED support");
  }
  /* errors come back as codes, so a failed call becomes an lsp status */
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &g_size);
  g_active = 1;
  return LSP_OK;
}

void lsp_mpi_finalize(void) {
  if (!g_active) return;
  MPI_Finalize();
  g_active = 0;
  g_rank = 0;
  g_size = 1;
}

int lsp_mpi_active(void) { return g_active; }
int lsp_mpi_rank(void) { return g_rank; }
int lsp_mpi_size(void) { return g_size; }

#define MSG_MAX 1024

int lsp_mpi_agree(int status) {
  if (!g_active) return status;
  /* the lowest failing rank, or g_size when none failed */
  int mine = status ? g_rank : g_size, first = g_size;
  if (MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD) != MPI_SUCCESS)
    return lsp_fail(LSP_EIO, "MPI: rank %d: MPI_Allreduce failed", g_rank);
  if (first == g_size) return LSP_OK;
  int st = lsp_mpi_share(status, first);
  /* a message that says on which rank it happened (a cell that failed on a
   * worker, reported by rank 0) is not put under the reporting rank */
  if (g_size > 1 && st && !strstr(lsp_errmsg(), " on rank ")) {
    char who[32];
    snprintf(who, sizeof who, "rank %d", first);
    lsp_fail_prefix(st, who);
  }
  return st;
}

int lsp_mpi_share(int status, int root) {
  if (!g_active) return status;
  char msg[MSG_MAX + 4];
  memset(msg, 0, sizeof msg);
  int st = status;
  if (g_rank == root) {
    memcpy(msg, &st, sizeof st);
    snprintf(msg + sizeof st, MSG_MAX, "%s", lsp_errmsg());
  }
  /* a rank that waits here sleeps between tests instead of spinning, so it
   * leaves the cores to the ranks still computing */
  MPI_Request rq;
  int done = 0;
  if (MPI_Ibcast(msg, (int)sizeof msg, MPI_CHAR, root, MPI_COMM_WORLD, &rq) != MPI_SUCCESS)
    return lsp_fail(LSP_EIO, "MPI: rank %d: MPI_Ibcast failed", g_rank);
  while (!done) {
    if (MPI_Test(&rq, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS)
      return lsp_fail(LSP_EIO, "MPI: rank %d: MPI_Test failed", g_rank);
    if (!done) {
      struct timespec ts = {0, 1000000};
      nanosleep(&ts, NULL);
    }
  }
  memcpy(&st, msg, sizeof st);
  msg[sizeof msg - 1] = '\0';
  if (!st) return LSP_OK;
  return lsp_fail(st, "%s", msg + sizeof st);
}

int lsp_mpi_count(int flag) {
  if (!g_active) return flag != 0;
  int mine = flag != 0, all = 0;
  if (MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD) != MPI_SUCCESS) {
    lsp_fail(LSP_EIO, "MPI: rank %d: MPI_Allreduce failed", g_rank);
    return -1;
  }
  return all;
}

/* Line i of text (without its newline) into out, "(nothing)" past the end. */
static void line_of(const char *text, size_t i, char *out, size_t cap) {
  const char *p = text;
  for (; i > 0 && p; i--)
    if ((p = strchr(p, '\n'))) p++;
  if (!p || !*p) {
    snprintf(out, cap, "(nothing)");
    return;
  }
  size_t n = strcspn(p, "\n");
  snprintf(out, cap, "%.*s", (int)(n < cap ? n : cap - 1), p);
}

/* The first line where a and b differ, as "LINE_A (rank 0: LINE_B)". */
static void first_difference(const char *a, const char *b, char *out, size_t cap) {
  char la[256], lb[256];
  for (size_t i = 0;; i++) {
    line_of(a, i, la, sizeof la);
    line_of(b, i, lb, sizeof lb);
    if (strcmp(la, lb) != 0 || strcmp(la, "(nothing)") == 0) break;
  }
  snprintf(out, cap, "%s (rank 0: %s)", la, lb);
}

int lsp_mpi_same(int status, int code, const char *what, const char *text) {
  if (!g_active) return status;
  int st = lsp_mpi_agree(status);
  if (st || g_size == 1) return st;
  /* rank 0's text: its length, then (every rank having room for it) the text */
  unsigned long long len = g_rank == 0 ? strlen(text) : 0;
  if (MPI_Bcast(&len, 1, MPI_UNSIGNED_LONG_LONG, 0, MPI_COMM_WORLD) != MPI_SUCCESS)
    return lsp_mpi_agree(lsp_fail(LSP_EIO, "MPI: rank %d: MPI_Bcast failed", g_rank));
  if (len > 0x7ffffffe)
    return lsp_fail(LSP_EINVAL, "MPI: %s: %llu bytes of description to compare", what, len);
  char *ref = malloc((size_t)len + 1);
  st = ref ? LSP_OK : lsp_fail(LSP_ENOMEM, "out of memory for rank 0's %s", what);
  if ((st = lsp_mpi_agree(st))) {
    free(ref);
    return st;
  }
  if (g_rank == 0) memcpy(ref, text, (size_t)len);
  if (MPI_Bcast(ref, (int)len, MPI_CHAR, 0, MPI_COMM_WORLD) != MPI_SUCCESS) {
    free(ref);
    return lsp_mpi_agree(lsp_fail(LSP_EIO, "MPI: rank %d: MPI_Bcast failed", g_rank));
  }
  ref[len] = '\0';
  if (strcmp(text, ref) != 0) {
    char diff[600];
    first_difference(text, ref, diff, sizeof diff);
    st = lsp_fail(code, "%s differ from rank 0's: %s; every rank must be given the same",
                  what, diff);
  }
  free(ref);
  return lsp_mpi_agree(st);
}
