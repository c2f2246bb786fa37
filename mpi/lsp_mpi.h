/* lsp_mpi.h — the MPI layer's base (DESIGN §1, §10): starting MPI when the
 * process was launched by mpirun or srun, who this rank is, and agreeing on
 * failure.
 *
 * Built only with -DLSP_MPI=ON. The layer sits between reports and the
 * command; it never prints or exits. MPI is started with
 * MPI_THREAD_FUNNELED: OpenMP threads compute, only the main thread talks. */
#ifndef LSP_MPI_H
#define LSP_MPI_H

/* 1 when the environment says an MPI launcher started this process
 * (OMPI_COMM_WORLD_SIZE, PMIX_RANK, PMI_RANK or PMI_SIZE is set). A plain
 * `lsprobe ...` of the MPI build then never starts MPI. */
int lsp_mpi_launched(void);

/* Start MPI (MPI_Init_thread, FUNNELED). LSP_EIO when MPI cannot start or
 * gives less than FUNNELED. Call once, before any other function here. */
int lsp_mpi_init(int *argc, char ***argv);
/* MPI_Finalize if lsp_mpi_init succeeded; otherwise nothing. */
void lsp_mpi_finalize(void);

/* 1 after a successful lsp_mpi_init (even with one rank), else 0. */
int lsp_mpi_active(void);
/* This process's rank in MPI_COMM_WORLD and the number of ranks; 0 and 1
 * when MPI is not active. */
int lsp_mpi_rank(void);
int lsp_mpi_size(void);

/* Collective over MPI_COMM_WORLD: every rank passes its status. Returns
 * LSP_OK on every rank when every status is LSP_OK; otherwise, on every
 * rank, the status of the lowest-numbered failing rank, whose message
 * (prefixed "rank R: " when there are several ranks) becomes every rank's
 * lsp_errmsg(). LSP_EIO if the communication itself fails. */
int lsp_mpi_agree(int status);

/* Collective: every rank returns `root`'s status, with root's message as
 * its lsp_errmsg() when it is a failure (no prefix). */
int lsp_mpi_share(int status, int root);

/* Collective: lsp_mpi_agree(status); then, when every rank is OK, every
 * rank's `text` (lines "name value": the settings or the input's header)
 * is compared with rank 0's. A rank whose text differs fails with `code`
 * and the message "WHAT differ from rank 0's: LINE (rank 0: LINE0)" naming
 * the first line that differs; the result is agreed (lsp_mpi_agree), so
 * rank 0 reports the lowest such rank. `status` when MPI is not active. */
int lsp_mpi_same(int status, int code, const char *what, const char *text);

/* Collective: how many ranks pass a non-zero `flag`; -1 (with a message)
 * if the communication fails. `flag` != 0 when MPI is not active. */
int lsp_mpi_count(int flag);

#endif
