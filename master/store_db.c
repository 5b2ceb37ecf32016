/*
 * store_db.c - the statement shim (store_db.h) and its plain SQLite
 * backend.
 *
 * One connection per thread (struct store), opened in WAL mode with a
 * busy handler of our own, and a cache of prepared statements keyed by the
 * address of their SQL literal. The typed accessors (store_*.c) reach
 * SQLite only through here.
 *
 * A store opened with store_open_dqlite() runs every call through the
 * dqlite backend instead (store_dq.c, issue 18): each wrapper starts with
 * one predictable branch on it. Otherwise the wrappers are thin on
 * purpose: each is one sqlite3 call, so the single-master store keeps its
 * speed (docs/performance.md).
 */
#include "master/store.h"
#include "master/store_dq.h"

#include "common/log.h"
#include "common/xmalloc.h"

#include <sqlite3.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

_Static_assert(STORE_OK == SQLITE_OK && STORE_ERROR == SQLITE_ERROR &&
    STORE_BUSY == SQLITE_BUSY && STORE_IOERR == SQLITE_IOERR &&
    STORE_FULL == SQLITE_FULL &&
    STORE_MISUSE == SQLITE_MISUSE &&
    STORE_CONSTRAINT == SQLITE_CONSTRAINT && STORE_ROW == SQLITE_ROW &&
    STORE_DONE == SQLITE_DONE &&
    STORE_CONSTRAINT_UNIQUE == SQLITE_CONSTRAINT_UNIQUE,
    "store result codes are SQLite's");
_Static_assert(STORE_INTEGER == SQLITE_INTEGER &&
    STORE_FLOAT == SQLITE_FLOAT && STORE_TEXT == SQLITE_TEXT &&
    STORE_BLOB == SQLITE_BLOB && STORE_NULL == SQLITE_NULL,
    "store column types are SQLite's");

#define STORE_STMT_SLOTS	256	/* power of two, > statements in use */

/* The dqlite backend's branch: rare, so predicted not taken. */
#define DQ(p)	__builtin_expect((p) != NULL, 0)

/* A statement: SQLite's, or the dqlite backend's (then sq is NULL). */
struct store_stmt {
	sqlite3_stmt	*sq;		/* the SQLite statement */
	struct sdq_stmt	*dq;		/* the dqlite backend's */
};

struct store_stmt_slot {
	const char		*sql;	/* key: the literal's address */
	struct store_stmt	 stmt;	/* prepared with PREPARE_PERSISTENT */
};

struct store {
	sqlite3			*db;	/* this thread's connection */
	struct sdq		*dq;	/* or the dqlite backend's */
	struct store_stmt_slot	 slots[STORE_STMT_SLOTS]; /* stmt cache */
};

#define STORE_BUSY_MS		5000	/* give up waiting for the lock */
#define STORE_MMAP_BYTES	"268435456"	/* store_set_mmap(): 256 MiB */

/*
 * Wait for the write lock in half-millisecond steps. SQLite's own
 * busy_timeout sleeps in growing steps of up to 100 ms; with the hub, the
 * scheduler and the API all writing, that put whole ws-thread stalls of
 * hundreds of milliseconds into agent joins. Transactions here are short,
 * so the lock is usually free again within a millisecond.
 */
/* Every connection's waits, for GET /metrics (store_lock_waits()). */
static atomic_llong store_waits, store_wait_us;

static int
store_busy(void *arg, int tries)
{
	struct timespec ts = { 0, 500000 }, t0, t1;

	if (tries >= STORE_BUSY_MS * 2)
		return 0;
	if (tries == 0)
		atomic_fetch_add(&store_waits, 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	nanosleep(&ts, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	atomic_fetch_add(&store_wait_us, (t1.tv_sec - t0.tv_sec) * 1000000 +
	    (t1.tv_nsec - t0.tv_nsec) / 1000);
	return 1;
}

void
store_lock_waits(long long *waits, double *seconds)
{
	*waits = atomic_load(&store_waits);
	*seconds = (double)atomic_load(&store_wait_us) / 1e6;
}

static void
store_log_cb(void *arg, int code, const char *msg)
{
	/* SQLite's own log: warnings about recovery, misuse, corruption. */
	if ((code & 0xff) == SQLITE_NOTICE || code == SQLITE_WARNING_AUTOINDEX)
		log_debug("sqlite: (%d) %s", code, msg);
	else if ((code & 0xff) != SQLITE_CONSTRAINT &&
	    (code & 0xff) != SQLITE_SCHEMA)
		log_warn("sqlite: (%d) %s", code, msg);
}

/* SQLite's message, and the OS error under an I/O error (ENOSPC, EROFS). */
static void
store_cause(sqlite3 *db, const char *what, const char *path,
    const char *err, char **cause)
{
	int sys = db != NULL ? sqlite3_system_errno(db) : 0;

	if (err == NULL)
		err = db != NULL ? sqlite3_errmsg(db) : "out of memory";
	if (sys != 0)
		xasprintf(cause, "%s %s: %s (%s)", what, path, err,
		    strerror(sys));
	else
		xasprintf(cause, "%s %s: %s", what, path, err);
}

struct store *
store_open(const char *path, char **cause)
{
	static int configured;
	struct store *st;
	char *err = NULL;

	if (!configured) {
		/* Start-up runs this before threads; later calls are no-ops. */
		sqlite3_config(SQLITE_CONFIG_LOG, store_log_cb, NULL);
		/* No global allocator statistics: their mutex was 4% of the
		 * log store's CPU (docs/performance.md, "Logs"). */
		sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
		configured = 1;
	}
	st = xcalloc(1, sizeof *st);
	if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		store_cause(st->db, "cannot open", path, NULL, cause);
		goto fail;
	}
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_handler(st->db, store_busy, NULL);
	if (sqlite3_exec(st->db,
	    "PRAGMA journal_mode = WAL;"
	    "PRAGMA synchronous = FULL;"
	    "PRAGMA foreign_keys = ON;"
	    "PRAGMA temp_store = MEMORY;", NULL, NULL, &err) != SQLITE_OK) {
		store_cause(st->db, "cannot configure", path, err, cause);
		sqlite3_free(err);
		goto fail;
	}
	return st;
fail:
	store_close(st);
	return NULL;
}

struct store *
store_open_dqlite(const char *const *addrs, int naddrs,
    const char *database, char **cause)
{
	return store_open_dqlite_opts(addrs, naddrs, database, NULL, cause);
}

struct store *
store_open_dqlite_opts(const char *const *addrs, int naddrs,
    const char *database, const struct sdq_opts *o, char **cause)
{
	struct store *st = xcalloc(1, sizeof *st);

	if ((st->dq = sdq_open(addrs, naddrs, database, STORE_BUSY_MS, o,
	    cause)) == NULL) {
		free(st);
		return NULL;
	}
	return st;
}

void
store_close(struct store *st)
{
	size_t i;

	if (st == NULL)
		return;
	if (st->dq != NULL) {
		sdq_disconnect(st->dq);
		for (i = 0; i < STORE_STMT_SLOTS; i++)
			sdq_stmt_free(st->slots[i].stmt.dq);
		sdq_close(st->dq);
		free(st);
		return;
	}
	for (i = 0; i < STORE_STMT_SLOTS; i++)
		sqlite3_finalize(st->slots[i].stmt.sq);
	sqlite3_close(st->db);
	free(st);
}

int
store_is_dqlite(struct store *st)
{
	return st->dq != NULL;
}

void
store_set_mmap(struct store *st)
{
	/*
	 * Read pages through a map of the file, not pread(): the hub's and
	 * the scheduler's caches are emptied by each other's writes (WAL),
	 * and re-reading the pages cost a third of the master's CPU while
	 * 10,000 agents joined. Bounded by the file's size.
	 */
	if (st->dq == NULL)
		sqlite3_exec(st->db, "PRAGMA mmap_size = " STORE_MMAP_BYTES,
		    NULL, NULL, NULL);
}

void
store_set_sync_normal(struct store *st)
{
	/* dqlite: every commit is a Raft commit; nothing to set. */
	if (st->dq == NULL)
		sqlite3_exec(st->db, "PRAGMA synchronous = NORMAL", NULL,
		    NULL, NULL);
}

sqlite3 *
store_db(struct store *st)
{
	return st->db;	/* NULL on the dqlite backend */
}

int
store_exec(struct store *st, const char *sql)
{
	if (DQ(st->dq))
		return sdq_exec(st->dq, sql);
	return sqlite3_exec(st->db, sql, NULL, NULL, NULL);
}

int
store_remote(const struct store *st)
{
	return st->dq != NULL;
}

int
store_changes(struct store *st)
{
	if (DQ(st->dq))
		return sdq_changes(st->dq);
	return sqlite3_changes(st->db);
}

int64_t
store_last_id(struct store *st)
{
	if (DQ(st->dq))
		return sdq_last_id(st->dq);
	return sqlite3_last_insert_rowid(st->db);
}

int
store_errcode(struct store *st)
{
	if (DQ(st->dq))
		return sdq_errcode(st->dq);
	return sqlite3_extended_errcode(st->db);
}

const char *
store_errmsg(struct store *st)
{
	if (DQ(st->dq))
		return sdq_errmsg(st->dq);
	return sqlite3_errmsg(st->db);
}

struct store_stmt *
store_stmt(struct store *st, const char *sql)
{
	size_t h = ((uintptr_t)sql >> 3) & (STORE_STMT_SLOTS - 1);
	struct store_stmt_slot *slot;
	size_t probes;

	for (probes = 0; probes < STORE_STMT_SLOTS; probes++) {
		slot = &st->slots[(h + probes) & (STORE_STMT_SLOTS - 1)];
		if (slot->sql == sql) {
			if (DQ(slot->stmt.dq)) {
				sdq_stmt_clear(slot->stmt.dq);
				return &slot->stmt;
			}
			sqlite3_reset(slot->stmt.sq);
			sqlite3_clear_bindings(slot->stmt.sq);
			return &slot->stmt;
		}
		if (slot->sql == NULL)
			break;
	}
	/* Not cached: prepare it. A bad statement is a programming error. */
	if (probes == STORE_STMT_SLOTS)
		fatalx("store: statement cache full");
	if (st->dq != NULL) {
		/* Prepared on the leader at its first step. */
		if ((slot->stmt.dq = sdq_stmt_new(st->dq, sql)) == NULL)
			fatalx("store: cannot prepare \"%.60s\": %s", sql,
			    sdq_errmsg(st->dq));
		slot->sql = sql;
		return &slot->stmt;
	}
	if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
	    &slot->stmt.sq, NULL) != SQLITE_OK)
		fatalx("store: cannot prepare \"%.60s\": %s", sql,
		    sqlite3_errmsg(st->db));
	slot->sql = sql;
	return &slot->stmt;
}

int
store_begin(struct store *st)
{
	if (DQ(st->dq)) {
		if (sdq_begin(st->dq, 1) != STORE_OK) {
			log_warn("store: begin: %s", sdq_errmsg(st->dq));
			return -1;
		}
		return 0;
	}
	if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK) {
		log_warn("store: begin: %s", sqlite3_errmsg(st->db));
		return -1;
	}
	return 0;
}

int
store_commit(struct store *st)
{
	if (DQ(st->dq)) {
		if (sdq_commit(st->dq) != STORE_OK) {
			log_warn("store: commit: %s", sdq_errmsg(st->dq));
			return -1;
		}
		return 0;
	}
	if (sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		log_warn("store: commit: %s", sqlite3_errmsg(st->db));
		store_rollback(st);
		return -1;
	}
	return 0;
}

void
store_rollback(struct store *st)
{
	if (DQ(st->dq)) {
		sdq_rollback(st->dq);
		return;
	}
	if (!sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

char *
store_sql_printf(const char *fmt, ...)
{
	va_list ap;
	char *s, *out;

	va_start(ap, fmt);
	s = sqlite3_vmprintf(fmt, ap);
	va_end(ap);
	if (s == NULL)
		fatalx("store: out of memory");
	out = xstrdup(s);
	sqlite3_free(s);
	return out;
}

/* ---- statements ---------------------------------------------------------- */

struct store_stmt *
store_prepare(struct store *st, const char *sql)
{
	struct store_stmt *s = xcalloc(1, sizeof *s);

	if (DQ(st->dq)) {
		if ((s->dq = sdq_stmt_new(st->dq, sql)) == NULL) {
			free(s);
			return NULL;
		}
		return s;
	}
	if (sqlite3_prepare_v2(st->db, sql, -1, &s->sq, NULL) != SQLITE_OK) {
		sqlite3_finalize(s->sq);
		free(s);
		return NULL;
	}
	return s;
}

void
stmt_free(struct store_stmt *s)
{
	if (s == NULL)
		return;
	if (DQ(s->dq))
		sdq_stmt_free(s->dq);
	else
		sqlite3_finalize(s->sq);
	free(s);
}

void
stmt_bind_int64(struct store_stmt *s, int i, int64_t v)
{
	if (DQ(s->dq))
		sdq_bind_int64(s->dq, i, v);
	else
		sqlite3_bind_int64(s->sq, i, v);
}

void
stmt_bind_int(struct store_stmt *s, int i, int v)
{
	if (DQ(s->dq))
		sdq_bind_int64(s->dq, i, v);
	else
		sqlite3_bind_int(s->sq, i, v);
}

void
stmt_bind_double(struct store_stmt *s, int i, double v)
{
	if (DQ(s->dq))
		sdq_bind_double(s->dq, i, v);
	else
		sqlite3_bind_double(s->sq, i, v);
}

void
stmt_bind_null(struct store_stmt *s, int i)
{
	if (DQ(s->dq))
		sdq_bind_null(s->dq, i);
	else
		sqlite3_bind_null(s->sq, i);
}

void
stmt_bind_text(struct store_stmt *s, int i, const char *v)
{
	if (DQ(s->dq))
		sdq_bind_text(s->dq, i, v);
	else
		sqlite3_bind_text(s->sq, i, v, -1, SQLITE_TRANSIENT);
}

void
stmt_bind_blob(struct store_stmt *s, int i, const void *v, int len)
{
	if (DQ(s->dq))
		sdq_bind_blob(s->dq, i, v, len, 0);
	else
		sqlite3_bind_blob(s->sq, i, v, len, SQLITE_STATIC);
}

void
stmt_bind_blob_copy(struct store_stmt *s, int i, const void *v, int len)
{
	if (DQ(s->dq))
		sdq_bind_blob(s->dq, i, v, len, 1);
	else
		sqlite3_bind_blob(s->sq, i, v, len, SQLITE_TRANSIENT);
}

int
stmt_has_param(struct store_stmt *s, int i)
{
	char name[16];

	if (DQ(s->dq))
		return sdq_has_param(s->dq, i);
	snprintf(name, sizeof name, "?%d", i);
	return sqlite3_bind_parameter_index(s->sq, name) > 0;
}

int
stmt_step(struct store_stmt *s)
{
	if (DQ(s->dq))
		return sdq_step(s->dq);
	return sqlite3_step(s->sq);
}

void
stmt_reset(struct store_stmt *s)
{
	if (DQ(s->dq))
		sdq_reset(s->dq);
	else
		sqlite3_reset(s->sq);
}

int64_t
stmt_col_int64(struct store_stmt *s, int i)
{
	if (DQ(s->dq))
		return sdq_col_int64(s->dq, i);
	return sqlite3_column_int64(s->sq, i);
}

int
stmt_col_int(struct store_stmt *s, int i)
{
	if (DQ(s->dq))
		return (int)sdq_col_int64(s->dq, i);
	return sqlite3_column_int(s->sq, i);
}

double
stmt_col_double(struct store_stmt *s, int i)
{
	if (DQ(s->dq))
		return sdq_col_double(s->dq, i);
	return sqlite3_column_double(s->sq, i);
}

const char *
stmt_col_text(struct store_stmt *s, int i)
{
	if (DQ(s->dq))
		return sdq_col_text(s->dq, i);
	return (const char *)sqlite3_column_text(s->sq, i);
}

const void *
stmt_col_blob(struct store_stmt *s, int i)
{
	if (DQ(s->dq))
		return sdq_col_blob(s->dq, i);
	return sqlite3_column_blob(s->sq, i);
}

int
stmt_col_bytes(struct store_stmt *s, int i)
{
	if (DQ(s->dq))
		return sdq_col_bytes(s->dq, i);
	return sqlite3_column_bytes(s->sq, i);
}

int
stmt_col_type(struct store_stmt *s, int i)
{
	if (DQ(s->dq))
		return sdq_col_type(s->dq, i);
	return sqlite3_column_type(s->sq, i);
}

int
stmt_col_count(struct store_stmt *s)
{
	if (DQ(s->dq))
		return sdq_col_count(s->dq);
	return sqlite3_column_count(s->sq);
}

int
stmt_col_is_null(struct store_stmt *s, int i)
{
	if (DQ(s->dq))
		return sdq_col_type(s->dq, i) == STORE_NULL;
	return sqlite3_column_type(s->sq, i) == SQLITE_NULL;
}
