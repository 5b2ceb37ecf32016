/*
 * store_metrics.c - the counts GET /metrics reports.
 *
 * Called on the API threads (api_events.c) with their own connection. Each
 * count is one aggregate over its table; /metrics is polled, so nothing
 * here walks rows in C.
 */
#include "master/store.h"

#include <stdio.h>
#include <string.h>

int
store_metrics_counts(struct store *st, struct metrics_counts *c)
{
	sqlite3_stmt *s;
	int rc;

	memset(c, 0, sizeof *c);
	s = store_stmt(st, "SELECT status, count(*) FROM nodes"
	    " GROUP BY status");
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (strcmp(store_col_text(s, 0), "online") == 0)
			c->nodes_online += sqlite3_column_int64(s, 1);
		else
			c->nodes_offline += sqlite3_column_int64(s, 1);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return -1;

	s = store_stmt(st, "SELECT (SELECT count(*) FROM grids),"
	    " (SELECT count(*) FROM stacks), (SELECT count(*) FROM services)");
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		c->grids = sqlite3_column_int64(s, 0);
		c->stacks = sqlite3_column_int64(s, 1);
		c->services = sqlite3_column_int64(s, 2);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_ROW)
		return -1;

	s = store_stmt(st, "SELECT state, count(*) FROM instances"
	    " GROUP BY state");
	while ((rc = sqlite3_step(s)) == SQLITE_ROW &&
	    c->nstates < METRICS_MAX_STATES) {
		snprintf(c->states[c->nstates].state,
		    sizeof c->states[c->nstates].state, "%s",
		    store_col_text(s, 0));
		c->states[c->nstates++].n = sqlite3_column_int64(s, 1);
	}
	sqlite3_reset(s);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}
