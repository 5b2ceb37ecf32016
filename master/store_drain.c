/*
 * store_drain.c - node operations: cordon, drain, protect (docs/nodes.md).
 *
 * The API threads start and stop them; the scheduler thread reads the
 * draining nodes each round (master/sched_drain.c) and ends their drains.
 * A drain's whole state is on its node row, written in the transaction of
 * its event by the caller, so a master killed mid-drain resumes it.
 */
#include "master/store.h"

#include "common/util.h"
#include "common/xmalloc.h"

#include <string.h>

#define OPS_COLS \
	"n.id, n.name, n.cordoned, n.protected, coalesce(n.drain_state, ''), " \
	"coalesce(n.drain_by, ''), coalesce(n.drain_started_at, 0), " \
	"coalesce(n.drain_deadline_at, 0), n.drain_forced, n.connected, " \
	"coalesce((SELECT ng.drain_deadline_s FROM machines m JOIN " \
	" node_groups ng ON ng.id = m.group_id WHERE m.node_id = n.id " \
	" LIMIT 1), 0), " \
	"coalesce((SELECT m.id FROM machines m WHERE m.node_id = n.id " \
	" LIMIT 1), 0), " \
	"coalesce((SELECT m.state FROM machines m WHERE m.node_id = n.id " \
	" LIMIT 1), ''), " \
	"(SELECT count(*) FROM instances i JOIN services v ON " \
	" v.id = i.service_id WHERE i.node_id = n.id AND " \
	" v.strategy != 'daemon' AND NOT v.stateful), " \
	"(SELECT count(*) FROM instances i JOIN services v ON " \
	" v.id = i.service_id WHERE i.node_id = n.id AND " \
	" v.strategy = 'daemon'), " \
	"(SELECT count(*) FROM instances i JOIN services v ON " \
	" v.id = i.service_id WHERE i.node_id = n.id AND " \
	" v.strategy != 'daemon' AND v.stateful), " \
	"(SELECT count(*) FROM job_attempts a WHERE a.node_id = n.id AND " \
	" a.state IN ('assigned', 'running'))"

static void
ops_from_row(struct store_stmt *s, struct node_ops *o)
{
	memset(o, 0, sizeof *o);
	snprintf(o->id, sizeof o->id, "%s", store_col_text(s, 0));
	snprintf(o->name, sizeof o->name, "%s", store_col_text(s, 1));
	o->cordoned = stmt_col_int(s, 2);
	o->protected_ = stmt_col_int(s, 3);
	snprintf(o->drain_state, sizeof o->drain_state, "%s",
	    store_col_text(s, 4));
	snprintf(o->drain_by, sizeof o->drain_by, "%s", store_col_text(s, 5));
	o->drain_started_at = stmt_col_int64(s, 6);
	o->drain_deadline_at = stmt_col_int64(s, 7);
	o->drain_forced = stmt_col_int(s, 8);
	o->connected = stmt_col_int(s, 9);
	o->group_deadline_s = stmt_col_int64(s, 10);
	o->machine_id = stmt_col_int64(s, 11);
	snprintf(o->machine_state, sizeof o->machine_state, "%s",
	    store_col_text(s, 12));
	o->instances = stmt_col_int(s, 13);
	o->daemons = stmt_col_int(s, 14);
	o->stateful = stmt_col_int(s, 15);
	o->jobs = stmt_col_int(s, 16);
}

int
store_node_ops_get(struct store *st, const char *id, struct node_ops *out)
{
	struct store_stmt *s = store_stmt(st, "SELECT " OPS_COLS
	    " FROM nodes n WHERE n.id = ?1");
	int rc;

	store_bind_text(s, 1, id);
	rc = stmt_step(s);
	if (rc == STORE_ROW)
		ops_from_row(s, out);
	stmt_reset(s);
	if (rc == STORE_ROW)
		return 1;
	return rc == STORE_DONE ? 0 : -1;
}

int
store_node_drains(struct store *st, int64_t grid_id, struct node_ops **out,
    size_t *n)
{
	struct store_stmt *s = store_stmt(st, "SELECT " OPS_COLS
	    " FROM nodes n WHERE n.grid_id = ?1 AND n.drain_state = 'draining'"
	    " ORDER BY n.drain_started_at, n.name");
	size_t cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	stmt_bind_int64(s, 1, grid_id);
	while ((rc = stmt_step(s)) == STORE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 4;
			*out = xreallocarray(*out, cap, sizeof **out);
		}
		ops_from_row(s, &(*out)[(*n)++]);
	}
	stmt_reset(s);
	if (rc != STORE_DONE) {
		free(*out);
		*out = NULL;
		*n = 0;
		return -1;
	}
	return 0;
}

/* Run an UPDATE of one row: 1 changed, 0 not, -1 error. */
static int
ops_update(struct store *st, struct store_stmt *s)
{
	if (store_done(s) != 0)
		return -1;
	return store_changes(st) > 0;
}

int
store_node_cordon(struct store *st, const char *id, int on)
{
	struct store_stmt *s;

	if (on)
		s = store_stmt(st, "UPDATE nodes SET cordoned = 1"
		    " WHERE id = ?1 AND cordoned = 0");
	else
		s = store_stmt(st, "UPDATE nodes SET cordoned = 0,"
		    " drain_state = NULL, drain_by = NULL,"
		    " drain_started_at = NULL, drain_deadline_at = NULL,"
		    " drain_done_at = NULL, drain_forced = 0"
		    " WHERE id = ?1 AND (cordoned != 0 OR"
		    " drain_state IS NOT NULL)");
	store_bind_text(s, 1, id);
	return ops_update(st, s);
}

int
store_node_protect(struct store *st, const char *id, int on)
{
	struct store_stmt *s = store_stmt(st, "UPDATE nodes SET protected = ?2"
	    " WHERE id = ?1 AND protected != ?2");

	store_bind_text(s, 1, id);
	stmt_bind_int(s, 2, on != 0);
	return ops_update(st, s);
}

int
store_node_drain_start(struct store *st, const char *id, const char *by,
    int64_t now, int64_t deadline_at)
{
	struct store_stmt *s = store_stmt(st, "UPDATE nodes SET cordoned = 1,"
	    " drain_state = 'draining', drain_by = ?2, drain_started_at = ?3,"
	    " drain_deadline_at = ?4, drain_done_at = NULL, drain_forced = 0"
	    " WHERE id = ?1 AND drain_state IS NOT 'draining'");
	struct store_stmt *u;
	int rc;

	store_bind_text(s, 1, id);
	store_bind_text(s, 2, by);
	stmt_bind_int64(s, 3, now);
	stmt_bind_int64(s, 4, deadline_at);
	if ((rc = ops_update(st, s)) != 0 || deadline_at == 0)
		return rc;
	/* Under way already: a new deadline only. */
	u = store_stmt(st, "UPDATE nodes SET drain_deadline_at = ?2,"
	    " drain_forced = 0 WHERE id = ?1 AND drain_state = 'draining'");
	store_bind_text(u, 1, id);
	stmt_bind_int64(u, 2, deadline_at);
	return ops_update(st, u) < 0 ? -1 : 0;
}

int
store_node_drain_done(struct store *st, const char *id, int64_t now)
{
	struct store_stmt *s = store_stmt(st, "UPDATE nodes SET"
	    " drain_state = 'drained', drain_done_at = ?2"
	    " WHERE id = ?1 AND drain_state = 'draining'");

	store_bind_text(s, 1, id);
	stmt_bind_int64(s, 2, now);
	return ops_update(st, s);
}

int
store_node_drain_forced(struct store *st, const char *id)
{
	struct store_stmt *s = store_stmt(st, "UPDATE nodes SET drain_forced = 1"
	    " WHERE id = ?1 AND drain_state = 'draining'");

	store_bind_text(s, 1, id);
	return ops_update(st, s);
}
