/*
 * store_dq.h - the statement shim's dqlite backend (issue 18), called by
 * store_db.c only: the shim's calls branch to these when the store was
 * opened with store_open_dqlite(). Callers never include this header.
 *
 * Every statement runs on the cluster's leader through berth's own wire
 * client (master/dq_client.h), over one connection per struct store:
 *
 *   - a statement is PREPAREd on the leader at its first step (again by
 *     the client after a reconnect); its bound values are kept here and
 *     sent whole with each EXEC or QUERY (unbound ones as NULL, as SQLite
 *     has them);
 *   - a statement whose SQL reads (SELECT, WITH, VALUES, EXPLAIN, a PRAGMA
 *     without "=") runs as QUERY at its first step; the rows are buffered
 *     and stmt_step() walks them. Any other runs as EXEC: one step,
 *     STORE_DONE, with changes and the last rowid from the RESULT;
 *   - RETURNING is refused (a programming error): dqlite 1.11 runs a QUERY
 *     without replicating it, and an EXEC drops the rows;
 *   - writes are serialised in the process by one mutex (dqlite has no
 *     busy timeout: a second writer would get "locked" at once): an
 *     autocommit EXEC holds it for its call, BEGIN IMMEDIATE ... COMMIT
 *     for the whole transaction (bounded wait, like the plain backend's
 *     busy handler);
 *   - a transaction is pinned to its connection (dq_client_pin). When the
 *     connection breaks or the node stops leading before COMMIT, the
 *     statement fails, every later one of the transaction fails without
 *     being sent, and COMMIT fails: nothing of it was committed (dqlite
 *     rolls back a transaction whose connection closed, and a deposed
 *     leader's uncommitted frames never reach the new one), so the caller
 *     may run the whole transaction again. When COMMIT itself was sent and
 *     its answer lost, the transaction may or may not have committed: the
 *     call fails with STORE_IOERR and the message says "in doubt".
 */
#ifndef BERTH_STORE_DQ_H
#define BERTH_STORE_DQ_H

#include <stdint.h>

struct sdq;
struct sdq_stmt;

struct sdq_opts;	/* store_db.h */
struct sdq	*sdq_open(const char *const *addrs, int naddrs,
		    const char *database, int timeout_ms,
		    const struct sdq_opts *o, char **cause);
void		 sdq_close(struct sdq *d);
/* Drop the connection now (before freeing many statements: no FINALIZE
 * is then sent for each). */
void		 sdq_disconnect(struct sdq *d);

int		 sdq_exec(struct sdq *d, const char *sql);
int		 sdq_begin(struct sdq *d, int immediate);
int		 sdq_commit(struct sdq *d);
void		 sdq_rollback(struct sdq *d);
int		 sdq_changes(struct sdq *d);
int64_t		 sdq_last_id(struct sdq *d);
int		 sdq_errcode(struct sdq *d);
const char	*sdq_errmsg(struct sdq *d);

/* A statement (prepared on the leader lazily, at its first step). */
struct sdq_stmt	*sdq_stmt_new(struct sdq *d, const char *sql);
void		 sdq_stmt_free(struct sdq_stmt *s);
void		 sdq_stmt_clear(struct sdq_stmt *s);	/* reset + unbind */

void		 sdq_bind_int64(struct sdq_stmt *s, int i, int64_t v);
void		 sdq_bind_double(struct sdq_stmt *s, int i, double v);
void		 sdq_bind_null(struct sdq_stmt *s, int i);
void		 sdq_bind_text(struct sdq_stmt *s, int i, const char *v);
void		 sdq_bind_blob(struct sdq_stmt *s, int i, const void *v,
		    int len, int copy);
int		 sdq_has_param(struct sdq_stmt *s, int i);

int		 sdq_step(struct sdq_stmt *s);
void		 sdq_reset(struct sdq_stmt *s);

int64_t		 sdq_col_int64(struct sdq_stmt *s, int i);
double		 sdq_col_double(struct sdq_stmt *s, int i);
const char	*sdq_col_text(struct sdq_stmt *s, int i);
const void	*sdq_col_blob(struct sdq_stmt *s, int i);
int		 sdq_col_bytes(struct sdq_stmt *s, int i);
int		 sdq_col_type(struct sdq_stmt *s, int i);
int		 sdq_col_count(struct sdq_stmt *s);

/* Whether sql runs as QUERY (1) or EXEC (0); -1 when the backend cannot
 * run it at all (RETURNING). For the tests. */
int		 sdq_sql_kind(const char *sql);

#endif /* BERTH_STORE_DQ_H */
