/*
 * store_event.c - the event log: every decision and transition, with why.
 *
 * Written by every thread that changes state (API, hub, scheduler) on its
 * own connection, usually inside the transaction that made the change, so
 * an event exists exactly when its change does. Read by the events API.
 */
#include "master/store.h"

#include "common/util.h"
#include "common/xmalloc.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int
store_event_add(struct store *st, int64_t grid_id, const char *type,
    const char *subject, const char *fmt, ...)
{
	struct store_stmt *s = store_stmt(st,
	    "INSERT INTO events (grid_id, at, type, subject, message) "
	    "VALUES (?1, ?2, ?3, ?4, ?5)");
	va_list ap;
	char *msg;
	int rc;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	if (grid_id > 0)
		stmt_bind_int64(s, 1, grid_id);
	else
		stmt_bind_null(s, 1);
	stmt_bind_int64(s, 2, util_now_ms());
	store_bind_text(s, 3, type);
	store_bind_text(s, 4, subject);
	store_bind_text(s, 5, msg);
	rc = store_done(s);
	free(msg);
	return rc;
}

static json_t *
event_row_json(struct store_stmt *s)
{
	char at[32];

	util_iso8601(stmt_col_int64(s, 1), at, sizeof at);
	return json_pack("{s:I, s:s, s:s, s:s?, s:s}",
	    "id", (json_int_t)stmt_col_int64(s, 0),
	    "at", at,
	    "type", store_col_text(s, 2),
	    "subject", store_col_text(s, 3),
	    "message", store_col_text(s, 4));
}

json_t *
store_event_list_json(struct store *st, int64_t grid_id,
    const struct event_filter *f)
{
	/*
	 * Newest N matching, returned oldest first. A type ending in '.'
	 * matches by prefix ("node." is every node event).
	 */
	struct store_stmt *s = store_stmt(st,
	    "SELECT id, at, type, subject, message FROM ("
	    " SELECT id, at, type, subject, message FROM events"
	    " WHERE grid_id = ?1"
	    "  AND (?2 IS NULL OR type = ?2 OR"
	    "       (substr(?2, -1) = '.' AND substr(type, 1, length(?2)) = ?2))"
	    "  AND at >= ?3 AND (?4 = 0 OR at < ?4) AND id > ?5"
	    " ORDER BY id DESC LIMIT ?6) ORDER BY id");

	stmt_bind_int64(s, 1, grid_id);
	store_bind_text(s, 2, f->type);
	stmt_bind_int64(s, 3, f->since_ms);
	stmt_bind_int64(s, 4, f->until_ms);
	stmt_bind_int64(s, 5, f->after_id);
	stmt_bind_int(s, 6, f->limit > 0 ? f->limit : 100);
	return store_rows_json(s, json_array(), event_row_json);
}

int64_t
store_event_last_id(struct store *st)
{
	struct store_stmt *s = store_stmt(st, "SELECT coalesce(max(id), 0) "
	    "FROM events");
	int64_t id = -1;

	if (stmt_step(s) == STORE_ROW)
		id = stmt_col_int64(s, 0);
	stmt_reset(s);
	return id;
}

static json_t *
event_feed_json(struct store_stmt *s)
{
	return json_pack("{s:I, s:I, s:I, s:s, s:s?, s:s}",
	    "id", (json_int_t)stmt_col_int64(s, 0),
	    "grid_id", (json_int_t)stmt_col_int64(s, 1),
	    "at", (json_int_t)stmt_col_int64(s, 2),
	    "type", store_col_text(s, 3),
	    "subject", store_col_text(s, 4),
	    "message", store_col_text(s, 5));
}

json_t *
store_event_feed_json(struct store *st, int64_t after_id, int limit)
{
	struct store_stmt *s = store_stmt(st,
	    "SELECT id, grid_id, at, type, subject, message FROM events"
	    " WHERE id > ?1 AND grid_id IS NOT NULL ORDER BY id LIMIT ?2");

	stmt_bind_int64(s, 1, after_id);
	stmt_bind_int(s, 2, limit);
	return store_rows_json(s, json_array(), event_feed_json);
}
