/*
 * store_db.h - the statement shim: the only way the store reaches its
 * database engine.
 *
 * Every typed accessor (master/store_*.c) prepares, binds, steps and reads
 * through these calls, never through the sqlite3 API. Two backends: plain
 * SQLite (store_db.c, the default): a connection per thread, statements
 * prepared once and cached per connection; and dqlite (store_dq.c, issue
 * 18; docs/ha.md), a connection per thread to the cluster's leader, behind
 * the same calls without touching the accessors:
 *
 *   - a statement is an opaque struct store_stmt, bound by position;
 *   - stmt_step() returns STORE_ROW for each row, then STORE_DONE, or an
 *     error code. The dqlite backend runs QUERY at the first step, buffers
 *     the rows and walks them; it runs EXEC for a statement that writes
 *     (no RETURNING: dqlite 1.11 cannot run it);
 *   - store_changes() / store_last_id() are what the last write changed
 *     and the rowid it inserted (dqlite's EXEC returns both);
 *   - result codes are SQLite's primary and extended codes (dqlite's
 *     FAILURE responses carry the same numbers), so callers can test for
 *     STORE_CONSTRAINT_UNIQUE whatever the backend.
 *
 * Lifetimes: a text or blob read from a column is valid until the next
 * stmt_step() or stmt_reset() of its statement. stmt_bind_blob() does not
 * copy: the bytes must stay valid until the statement is reset (or
 * re-fetched from the cache); stmt_bind_text() and stmt_bind_blob_copy()
 * copy.
 *
 * Threads: a struct store and its statements belong to one thread.
 */
#ifndef BERTH_STORE_DB_H
#define BERTH_STORE_DB_H

#include <stddef.h>
#include <stdint.h>

struct store;
struct store_stmt;

/* Result codes (SQLite's numbers; store_db.c asserts they match). */
#define STORE_OK		0
#define STORE_ERROR		1
#define STORE_BUSY		5
#define STORE_IOERR		10
#define STORE_FULL		13	/* the disk (or the file's limit) */
#define STORE_MISUSE		21
#define STORE_CONSTRAINT	19
#define STORE_ROW		100
#define STORE_DONE		101
#define STORE_CONSTRAINT_UNIQUE	(STORE_CONSTRAINT | (8 << 8))

/* Column types (stmt_col_type()). */
#define STORE_INTEGER		1
#define STORE_FLOAT		2
#define STORE_TEXT		3
#define STORE_BLOB		4
#define STORE_NULL		5

/* ---- connection ---------------------------------------------------------- */

/* Open path (creating it), set the pragmas. NULL with *cause on failure. */
struct store	*store_open(const char *path, char **cause);
/*
 * Open database on a dqlite cluster (issue 18; store_dq.h says how the
 * calls map): addrs are nodes to ask for the leader ("host:port"; the
 * master's own node is enough). Connects now: NULL with *cause when no
 * leader answers within the client's retries.
 */
struct store	*store_open_dqlite(const char *const *addrs, int naddrs,
		    const char *database, char **cause);
/*
 * The same with options (a master in a cluster, docs/ha.md "Roles"):
 *	fence		only addrs[0], this master's own node, may serve the
 *			store: once it stops leading every call fails (a
 *			deposed leader's writes are fenced)
 *	lazy		connect at the first call, not now (a standby's
 *			threads open their store before any leader exists)
 *	deadline_ms	bound on each call, its retries included (0: the
 *			retries' count only)
 */
struct sdq_opts {
	int	 fence;
	int	 lazy;
	int	 deadline_ms;
};
struct store	*store_open_dqlite_opts(const char *const *addrs, int naddrs,
		    const char *database, const struct sdq_opts *o,
		    char **cause);
void		 store_close(struct store *st);	/* NULL is a no-op */
/* 1 when st runs on dqlite. */
int		 store_is_dqlite(struct store *st);

/*
 * Durability of this connection's commits. FULL (the default) fsyncs every
 * commit: an acknowledged operator write survives power loss. NORMAL is
 * still safe against a crash in WAL mode but may lose the last commits to
 * a power cut; the hub uses it for what agents report again on reconnect.
 */
void		 store_set_sync_normal(struct store *st);
/* Read the file through a map (the hub's and the scheduler's connections:
 * the busy readers of berth.db; not logs.db). */
void		 store_set_mmap(struct store *st);
/* Waits for SQLite's write lock so far, all connections: how many, how
 * long in all (GET /metrics). */
void		 store_lock_waits(long long *waits, double *seconds);

/*
 * Run sql (one or more statements, no parameters, rows discarded):
 * STORE_OK or an error code, the message in store_errmsg().
 */
int		 store_exec(struct store *st, const char *sql);

int		 store_begin(struct store *st);	/* BEGIN IMMEDIATE */
int		 store_commit(struct store *st);
void		 store_rollback(struct store *st);  /* no-op outside one */

/* Rows changed by the last INSERT/UPDATE/DELETE of this connection. */
int		 store_changes(struct store *st);
/* 1 when every statement is a round trip (dqlite), 0 for a SQLite file:
 * many rows then go in one statement rather than one each. */
int		 store_remote(const struct store *st);
/* The rowid of the last INSERT of this connection. */
int64_t		 store_last_id(struct store *st);
/* The last error of this connection: extended code, and message. */
int		 store_errcode(struct store *st);
const char	*store_errmsg(struct store *st);

/*
 * SQL text from a printf format with SQLite's %q/%Q quoting, for the few
 * statements that name a table or a column (never for a value: values are
 * bound). malloc'd. (No format attribute: the compiler does not know
 * %q and %Q.)
 */
char		*store_sql_printf(const char *fmt, ...);

/* ---- statements ------------------------------------------------------------ */

/*
 * The cached prepared statement for sql, reset and with its bindings
 * cleared. sql must be a string literal: its address is the cache key.
 * A statement that does not prepare is a programming error (fatal).
 */
struct store_stmt *store_stmt(struct store *st, const char *sql);
/*
 * A statement of its own (not cached; for one-off SQL such as PRAGMAs):
 * NULL on an error (store_errmsg()). stmt_free(NULL) is a no-op.
 */
struct store_stmt *store_prepare(struct store *st, const char *sql);
void		 stmt_free(struct store_stmt *s);

/* Bind parameter i (1-based). */
void		 stmt_bind_int64(struct store_stmt *s, int i, int64_t v);
void		 stmt_bind_int(struct store_stmt *s, int i, int v);
void		 stmt_bind_double(struct store_stmt *s, int i, double v);
void		 stmt_bind_null(struct store_stmt *s, int i);
void		 stmt_bind_text(struct store_stmt *s, int i, const char *v);
void		 stmt_bind_blob(struct store_stmt *s, int i, const void *v,
		    int len);
void		 stmt_bind_blob_copy(struct store_stmt *s, int i,
		    const void *v, int len);
/* Whether the statement's SQL has parameter ?i. */
int		 stmt_has_param(struct store_stmt *s, int i);

/* The next row: STORE_ROW, STORE_DONE, or an error code. */
int		 stmt_step(struct store_stmt *s);
/* Back to the start; bindings are kept. */
void		 stmt_reset(struct store_stmt *s);

/* Column i (0-based) of the current row. */
int64_t		 stmt_col_int64(struct store_stmt *s, int i);
int		 stmt_col_int(struct store_stmt *s, int i);
double		 stmt_col_double(struct store_stmt *s, int i);
const char	*stmt_col_text(struct store_stmt *s, int i);	/* or NULL */
const void	*stmt_col_blob(struct store_stmt *s, int i);	/* or NULL */
int		 stmt_col_bytes(struct store_stmt *s, int i);
int		 stmt_col_type(struct store_stmt *s, int i);	/* STORE_* */
int		 stmt_col_is_null(struct store_stmt *s, int i);
/* Columns of the current row (0 before the first STORE_ROW on dqlite). */
int		 stmt_col_count(struct store_stmt *s);

/*
 * The plain backend's own SQLite handle, for tests that inspect the file
 * with sqlite3 itself (the schema guard, test_dq_schema.c). The master's
 * code never calls it: everything goes through the shim.
 */
struct sqlite3	*store_db(struct store *st);

#endif /* BERTH_STORE_DB_H */
