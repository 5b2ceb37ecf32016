/*
 * store_logs.c - SQL of the log store, logs.db (see store_logs.h).
 *
 * Reuses the state store's connection type (struct store: one connection,
 * a statement cache) on another file. The writer is the log store's
 * thread; readers are API threads, each on its own connection: WAL lets
 * them read while the writer commits. Lines get AUTOINCREMENT ids, so an
 * id is never reused even after retention deleted every line: a reader
 * that follows "lines after id N" never misses one.
 */
#include "master/store_logs.h"

#include "common/log.h"
#include "common/util.h"
#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>

static const char *store_logs_migrations[] = {
	/* 0 -> 1: streams and lines. */
	"CREATE TABLE streams ("
	"  id INTEGER PRIMARY KEY,"
	"  container_id TEXT NOT NULL UNIQUE,"
	"  grid_id INTEGER NOT NULL,"
	"  node_id TEXT NOT NULL,"
	"  node_name TEXT NOT NULL DEFAULT '',"
	"  name TEXT NOT NULL,"
	"  stack TEXT NOT NULL DEFAULT '',"
	"  service TEXT NOT NULL DEFAULT '',"
	"  job TEXT NOT NULL DEFAULT '',"
	"  instance INTEGER NOT NULL DEFAULT 0,"
	"  max_seq INTEGER NOT NULL DEFAULT 0,"
	"  first_ts INTEGER NOT NULL DEFAULT 0,"
	"  last_ts INTEGER NOT NULL DEFAULT 0,"
	"  lines INTEGER NOT NULL DEFAULT 0,"
	"  bytes INTEGER NOT NULL DEFAULT 0,"
	"  created_at INTEGER NOT NULL);"
	"CREATE INDEX streams_service ON streams(grid_id, stack, service);"
	"CREATE INDEX streams_name ON streams(grid_id, name);"
	"CREATE INDEX streams_job ON streams(grid_id, job);"
	"CREATE TABLE lines ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  stream INTEGER NOT NULL,"
	"  seq INTEGER NOT NULL,"
	"  ts INTEGER NOT NULL,"
	"  kind INTEGER NOT NULL,"
	"  partial INTEGER NOT NULL DEFAULT 0,"
	"  dropped INTEGER NOT NULL DEFAULT 0,"
	"  text BLOB NOT NULL);"
	"CREATE INDEX lines_stream_ts ON lines(stream, ts, seq);",
};

#define STORE_LOGS_N_MIGRATIONS \
	(sizeof store_logs_migrations / sizeof store_logs_migrations[0])
_Static_assert(STORE_LOGS_N_MIGRATIONS == STORE_LOGS_SCHEMA_VERSION,
    "one logs.db migration per schema version");

struct store *
store_logs_open(const char *path, char **cause)
{
	struct store *st = store_open(path, cause);

	if (st == NULL)
		return NULL;
	/* A crash loses nothing committed; agents resend the unacknowledged. */
	store_set_sync_normal(st);
	return st;
}

int
store_logs_migrate(struct store *st, char **cause)
{
	struct store_stmt *s;
	char *sql;
	int version;

	if ((s = store_prepare(st, "PRAGMA user_version")) == NULL ||
	    stmt_step(s) != STORE_ROW) {
		xasprintf(cause, "cannot read the schema version: %s",
		    store_errmsg(st));
		stmt_free(s);
		return -1;
	}
	version = stmt_col_int(s, 0);
	stmt_free(s);
	if (version > STORE_LOGS_SCHEMA_VERSION) {
		xasprintf(cause, "schema version %d is newer than this "
		    "berth-master (%d); refusing to touch it", version,
		    STORE_LOGS_SCHEMA_VERSION);
		return -1;
	}
	for (; version < STORE_LOGS_SCHEMA_VERSION; version++) {
		xasprintf(&sql, "BEGIN IMMEDIATE; %s PRAGMA user_version = %d;"
		    " COMMIT;", store_logs_migrations[version], version + 1);
		if (store_exec(st, sql) != STORE_OK) {
			xasprintf(cause, "migration to schema %d failed: %s",
			    version + 1, store_errmsg(st));
			store_exec(st, "ROLLBACK");
			free(sql);
			return -1;
		}
		free(sql);
		log_info("logs: schema migrated to version %d", version + 1);
	}
	return 0;
}

/* ---- streams ------------------------------------------------------------ */

#define STREAM_COLS "id, grid_id, container_id, node_id, node_name, name, " \
	"stack, service, job, instance, max_seq, first_ts, last_ts, lines, " \
	"bytes, created_at"

static void
stream_copy(char *dst, size_t len, struct store_stmt *s, int col)
{
	const char *v = store_col_text(s, col);

	snprintf(dst, len, "%s", v != NULL ? v : "");
}

static void
stream_read(struct store_stmt *s, struct log_stream_row *r)
{
	memset(r, 0, sizeof *r);
	r->id = stmt_col_int64(s, 0);
	r->grid_id = stmt_col_int64(s, 1);
	stream_copy(r->container_id, sizeof r->container_id, s, 2);
	stream_copy(r->node_id, sizeof r->node_id, s, 3);
	stream_copy(r->node_name, sizeof r->node_name, s, 4);
	stream_copy(r->name, sizeof r->name, s, 5);
	stream_copy(r->stack, sizeof r->stack, s, 6);
	stream_copy(r->service, sizeof r->service, s, 7);
	stream_copy(r->job, sizeof r->job, s, 8);
	r->instance = stmt_col_int(s, 9);
	r->max_seq = stmt_col_int64(s, 10);
	r->first_ts = stmt_col_int64(s, 11);
	r->last_ts = stmt_col_int64(s, 12);
	r->lines = stmt_col_int64(s, 13);
	r->bytes = stmt_col_int64(s, 14);
	r->created_at = stmt_col_int64(s, 15);
}

/* Step s, calling cb for each stream row; 0 or -1. */
static int
stream_rows(struct store_stmt *s, store_log_stream_fn *cb, void *arg)
{
	struct log_stream_row r;
	int rc;

	while ((rc = stmt_step(s)) == STORE_ROW) {
		stream_read(s, &r);
		if (cb(arg, &r) != 0) {
			rc = STORE_DONE;
			break;
		}
	}
	stmt_reset(s);
	return rc == STORE_DONE ? 0 : -1;
}

static int
stream_one(struct store_stmt *s, struct log_stream_row *out)
{
	int rc = stmt_step(s);

	if (rc == STORE_ROW)
		stream_read(s, out);
	stmt_reset(s);
	if (rc == STORE_ROW)
		return 1;
	return rc == STORE_DONE ? 0 : -1;
}

int
store_logs_stream_get(struct store *st, const char *container_id,
    struct log_stream_row *out)
{
	struct store_stmt *s = store_stmt(st, "SELECT " STREAM_COLS
	    " FROM streams WHERE container_id = ?1");

	store_bind_text(s, 1, container_id);
	return stream_one(s, out);
}

int
store_logs_stream_by_id(struct store *st, int64_t id,
    struct log_stream_row *out)
{
	struct store_stmt *s = store_stmt(st, "SELECT " STREAM_COLS
	    " FROM streams WHERE id = ?1");

	stmt_bind_int64(s, 1, id);
	return stream_one(s, out);
}

int
store_logs_stream_insert(struct store *st, struct log_stream_row *r)
{
	struct store_stmt *s = store_stmt(st,
	    "INSERT INTO streams (container_id, grid_id, node_id, node_name, "
	    "name, stack, service, job, instance, created_at) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");

	store_bind_text(s, 1, r->container_id);
	stmt_bind_int64(s, 2, r->grid_id);
	store_bind_text(s, 3, r->node_id);
	store_bind_text(s, 4, r->node_name);
	store_bind_text(s, 5, r->name);
	store_bind_text(s, 6, r->stack);
	store_bind_text(s, 7, r->service);
	store_bind_text(s, 8, r->job);
	stmt_bind_int(s, 9, r->instance);
	stmt_bind_int64(s, 10, r->created_at);
	if (store_done(s) != 0)
		return -1;
	r->id = store_last_id(st);
	return 0;
}

int
store_logs_stream_save(struct store *st, const struct log_stream_row *r)
{
	struct store_stmt *s = store_stmt(st,
	    "UPDATE streams SET max_seq = ?2, first_ts = ?3, last_ts = ?4, "
	    "lines = ?5, bytes = ?6, node_id = ?7, node_name = ?8 "
	    "WHERE id = ?1");

	stmt_bind_int64(s, 1, r->id);
	stmt_bind_int64(s, 2, r->max_seq);
	stmt_bind_int64(s, 3, r->first_ts);
	stmt_bind_int64(s, 4, r->last_ts);
	stmt_bind_int64(s, 5, r->lines);
	stmt_bind_int64(s, 6, r->bytes);
	store_bind_text(s, 7, r->node_id);
	store_bind_text(s, 8, r->node_name);
	return store_done(s);
}

int
store_logs_line_insert(struct store *st, int64_t stream,
    const struct log_entry *e)
{
	struct store_stmt *s = store_stmt(st,
	    "INSERT INTO lines (stream, seq, ts, kind, partial, dropped, text) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");

	stmt_bind_int64(s, 1, stream);
	stmt_bind_int64(s, 2, e->seq);
	stmt_bind_int64(s, 3, e->ts);
	stmt_bind_int(s, 4, (int)e->kind);
	stmt_bind_int(s, 5, e->partial);
	stmt_bind_int64(s, 6, e->dropped);
	stmt_bind_blob(s, 7, e->text, (int)e->len);
	return store_done(s);
}

int
store_logs_grid_bytes(struct store *st,
    void (*cb)(void *, int64_t, int64_t, int64_t), void *arg)
{
	struct store_stmt *s = store_stmt(st, "SELECT grid_id, sum(bytes), "
	    "sum(lines) FROM streams GROUP BY grid_id");
	int rc;

	while ((rc = stmt_step(s)) == STORE_ROW)
		cb(arg, stmt_col_int64(s, 0), stmt_col_int64(s, 1),
		    stmt_col_int64(s, 2));
	stmt_reset(s);
	return rc == STORE_DONE ? 0 : -1;
}

int
store_logs_streams_over(struct store *st, int64_t grid_id, int64_t before_ts,
    int64_t max_bytes, store_log_stream_fn *cb, void *arg)
{
	struct store_stmt *s = store_stmt(st, "SELECT " STREAM_COLS
	    " FROM streams WHERE grid_id = ?1 AND lines > 0 AND "
	    "(first_ts < ?2 OR bytes > ?3)");

	stmt_bind_int64(s, 1, grid_id);
	stmt_bind_int64(s, 2, before_ts);
	stmt_bind_int64(s, 3, max_bytes);
	return stream_rows(s, cb, arg);
}

/* Step a "DELETE ... RETURNING length(text)" statement; count what went. */
static int
trim_count(struct store_stmt *s, int64_t *rows, int64_t *bytes)
{
	int rc;

	*rows = *bytes = 0;
	while ((rc = stmt_step(s)) == STORE_ROW) {
		(*rows)++;
		*bytes += stmt_col_int64(s, 0) + STORE_LOGS_ROW_OVERHEAD;
	}
	stmt_reset(s);
	return rc == STORE_DONE ? 0 : -1;
}

int
store_logs_trim_stream(struct store *st, int64_t stream, int64_t n,
    int64_t before_ts, int64_t *rows, int64_t *bytes, int64_t *first_ts)
{
	struct store_stmt *s;
	int rc;

	if (n > 0) {
		s = store_stmt(st, "DELETE FROM lines WHERE id IN (SELECT id "
		    "FROM lines WHERE stream = ?1 ORDER BY ts, seq LIMIT ?2) "
		    "RETURNING length(text)");
		stmt_bind_int64(s, 2, n);
	} else {
		s = store_stmt(st, "DELETE FROM lines WHERE stream = ?1 AND "
		    "ts < ?2 RETURNING length(text)");
		stmt_bind_int64(s, 2, before_ts);
	}
	stmt_bind_int64(s, 1, stream);
	if (trim_count(s, rows, bytes) != 0)
		return -1;
	s = store_stmt(st, "SELECT ts FROM lines WHERE stream = ?1 "
	    "ORDER BY ts, seq LIMIT 1");
	stmt_bind_int64(s, 1, stream);
	rc = stmt_step(s);
	*first_ts = rc == STORE_ROW ? stmt_col_int64(s, 0) : 0;
	stmt_reset(s);
	return rc == STORE_ROW || rc == STORE_DONE ? 0 : -1;
}

int
store_logs_trim_grid(struct store *st, int64_t grid_id, int64_t n,
    void (*cb)(void *, int64_t, int64_t, int64_t), void *arg)
{
	struct store_stmt *s = store_stmt(st,
	    "DELETE FROM lines WHERE id IN (SELECT l.id FROM lines l "
	    "JOIN streams s ON s.id = l.stream WHERE s.grid_id = ?1 "
	    "ORDER BY l.id LIMIT ?2) RETURNING stream, length(text)");
	int64_t cur = 0, rows = 0, bytes = 0, sid;
	int rc;

	stmt_bind_int64(s, 1, grid_id);
	stmt_bind_int64(s, 2, n);
	/* RETURNING gives rows in no promised order: group per stream. */
	while ((rc = stmt_step(s)) == STORE_ROW) {
		sid = stmt_col_int64(s, 0);
		if (sid != cur && rows > 0) {
			cb(arg, cur, rows, bytes);
			rows = bytes = 0;
		}
		cur = sid;
		rows++;
		bytes += stmt_col_int64(s, 1) + STORE_LOGS_ROW_OVERHEAD;
	}
	stmt_reset(s);
	if (rows > 0)
		cb(arg, cur, rows, bytes);
	return rc == STORE_DONE ? 0 : -1;
}

int
store_logs_forget_streams(struct store *st, int64_t grid_id, int64_t before_ts)
{
	struct store_stmt *s = store_stmt(st, "DELETE FROM streams WHERE "
	    "grid_id = ?3 AND lines = 0 AND last_ts < ?1 AND created_at < ?2");

	stmt_bind_int64(s, 1, before_ts);
	stmt_bind_int64(s, 2, before_ts / 1000000);
	stmt_bind_int64(s, 3, grid_id);
	if (store_done(s) != 0)
		return -1;
	return store_changes(st);
}

int
store_logs_drop_grid(struct store *st, int64_t grid_id)
{
	struct store_stmt *s = store_stmt(st, "DELETE FROM lines WHERE stream IN "
	    "(SELECT id FROM streams WHERE grid_id = ?1)");

	stmt_bind_int64(s, 1, grid_id);
	if (store_done(s) != 0)
		return -1;
	s = store_stmt(st, "DELETE FROM streams WHERE grid_id = ?1");
	stmt_bind_int64(s, 1, grid_id);
	return store_done(s);
}

/* ---- readers ------------------------------------------------------------- */

/*
 * The selectors' WHERE clauses, one statement each (prepared once per
 * connection). A container is asked for by name or by a prefix of its id
 * of at least 12 characters, as Docker prints it.
 */
#define SEL_SERVICE	"grid_id = ?1 AND stack = ?2 AND service = ?3"
#define SEL_STACK	"grid_id = ?1 AND stack = ?2"
#define SEL_CONTAINER	"grid_id = ?1 AND (name = ?4 OR (length(?4) >= 12 " \
			"AND substr(container_id, 1, length(?4)) = ?4))"
#define SEL_JOB		"grid_id = ?1 AND job = ?5 AND job != ''"

static void
sel_bind(struct store_stmt *s, const struct log_sel *sel)
{
	stmt_bind_int64(s, 1, sel->grid_id);
	if (stmt_has_param(s, 2))
		store_bind_text(s, 2, sel->stack);
	if (stmt_has_param(s, 3))
		store_bind_text(s, 3, sel->service);
	if (stmt_has_param(s, 4))
		store_bind_text(s, 4, sel->name);
	if (stmt_has_param(s, 5))
		store_bind_text(s, 5, sel->job);
}

int
store_logs_streams(struct store *st, const struct log_sel *sel,
    store_log_stream_fn *cb, void *arg)
{
	struct store_stmt *s = NULL;

	switch (sel->kind) {
	case LOG_SEL_SERVICE:
		s = store_stmt(st, "SELECT " STREAM_COLS " FROM streams WHERE "
		    SEL_SERVICE " ORDER BY id");
		break;
	case LOG_SEL_STACK:
		s = store_stmt(st, "SELECT " STREAM_COLS " FROM streams WHERE "
		    SEL_STACK " ORDER BY id");
		break;
	case LOG_SEL_CONTAINER:
		s = store_stmt(st, "SELECT " STREAM_COLS " FROM streams WHERE "
		    SEL_CONTAINER " ORDER BY id");
		break;
	case LOG_SEL_JOB:
		s = store_stmt(st, "SELECT " STREAM_COLS " FROM streams WHERE "
		    SEL_JOB " ORDER BY id");
		break;
	}
	sel_bind(s, sel);
	return stream_rows(s, cb, arg);
}

int
store_logs_last_id(struct store *st, int64_t *id)
{
	struct store_stmt *s = store_stmt(st, "SELECT max(id) FROM lines");
	int rc = stmt_step(s);

	*id = rc == STORE_ROW ? stmt_col_int64(s, 0) : 0;
	stmt_reset(s);
	return rc == STORE_ROW ? 0 : -1;
}

/* Columns: id, stream, seq, ts, kind, partial, dropped, text. */
static int
line_rows(struct store_stmt *s, store_log_row_fn *cb, void *arg)
{
	struct log_row r;
	int rc;

	while ((rc = stmt_step(s)) == STORE_ROW) {
		r.id = stmt_col_int64(s, 0);
		r.stream = stmt_col_int64(s, 1);
		r.seq = stmt_col_int64(s, 2);
		r.ts = stmt_col_int64(s, 3);
		r.kind = (enum log_kind)stmt_col_int(s, 4);
		r.partial = stmt_col_int(s, 5);
		r.dropped = stmt_col_int64(s, 6);
		r.text = stmt_col_blob(s, 7);
		r.len = (size_t)stmt_col_bytes(s, 7);
		if (r.text == NULL && stmt_col_type(s, 7) != STORE_NULL)
			r.text = "";
		if (cb(arg, &r) != 0) {
			rc = STORE_DONE;
			break;
		}
	}
	stmt_reset(s);
	return rc == STORE_DONE ? 0 : -1;
}

int
store_logs_page(struct store *st, int64_t stream, int desc, int64_t ts,
    int64_t seq, int64_t since, int64_t max_id, int limit,
    store_log_row_fn *cb, void *arg)
{
	struct store_stmt *s;

	if (desc) {
		s = store_stmt(st, "SELECT id, stream, seq, ts, kind, partial, "
		    "dropped, NULL FROM lines WHERE stream = ?1 AND "
		    "(ts, seq) < (?2, ?3) AND ts >= ?4 AND id <= ?5 "
		    "ORDER BY ts DESC, seq DESC LIMIT ?6");
		stmt_bind_int64(s, 4, since);
	} else
		s = store_stmt(st, "SELECT id, stream, seq, ts, kind, partial, "
		    "dropped, text FROM lines WHERE stream = ?1 AND "
		    "(ts, seq) >= (?2, ?3) AND id <= ?5 "
		    "ORDER BY ts, seq LIMIT ?6");
	stmt_bind_int64(s, 1, stream);
	stmt_bind_int64(s, 2, ts);
	stmt_bind_int64(s, 3, seq);
	stmt_bind_int64(s, 5, max_id);
	stmt_bind_int(s, 6, limit);
	return line_rows(s, cb, arg);
}

#define AFTER_COLS "SELECT id, stream, seq, ts, kind, partial, dropped, text " \
	"FROM lines WHERE id > ?6 AND (?7 = 0 OR id <= ?7) AND +stream IN " \
	"(SELECT id FROM streams WHERE "
#define AFTER_END ") ORDER BY id LIMIT ?8"

int
store_logs_after(struct store *st, const struct log_sel *sel,
    int64_t after_id, int64_t max_id, int limit, store_log_row_fn *cb,
    void *arg)
{
	struct store_stmt *s = NULL;

	switch (sel->kind) {
	case LOG_SEL_SERVICE:
		s = store_stmt(st, AFTER_COLS SEL_SERVICE AFTER_END);
		break;
	case LOG_SEL_STACK:
		s = store_stmt(st, AFTER_COLS SEL_STACK AFTER_END);
		break;
	case LOG_SEL_CONTAINER:
		s = store_stmt(st, AFTER_COLS SEL_CONTAINER AFTER_END);
		break;
	case LOG_SEL_JOB:
		s = store_stmt(st, AFTER_COLS SEL_JOB AFTER_END);
		break;
	}
	sel_bind(s, sel);
	stmt_bind_int64(s, 6, after_id);
	stmt_bind_int64(s, 7, max_id);
	stmt_bind_int(s, 8, limit);
	return line_rows(s, cb, arg);
}
