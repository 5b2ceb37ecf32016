/*
 * store_metrics.c - the counts GET /metrics reports.
 *
 * Called on the API threads (api_events.c) with their own connection. Each
 * count is one aggregate over its table; /metrics is polled, so nothing
 * here walks rows in C.
 */
#include "master/store.h"

#include "common/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
store_metrics_counts(struct store *st, struct metrics_counts *c)
{
	struct store_stmt *s;
	int rc;

	memset(c, 0, sizeof *c);
	s = store_stmt(st, "SELECT status, count(*) FROM nodes"
	    " GROUP BY status");
	while ((rc = stmt_step(s)) == STORE_ROW) {
		if (strcmp(store_col_text(s, 0), "online") == 0)
			c->nodes_online += stmt_col_int64(s, 1);
		else
			c->nodes_offline += stmt_col_int64(s, 1);
	}
	stmt_reset(s);
	if (rc != STORE_DONE)
		return -1;

	s = store_stmt(st, "SELECT (SELECT count(*) FROM grids),"
	    " (SELECT count(*) FROM stacks), (SELECT count(*) FROM services)");
	rc = stmt_step(s);
	if (rc == STORE_ROW) {
		c->grids = stmt_col_int64(s, 0);
		c->stacks = stmt_col_int64(s, 1);
		c->services = stmt_col_int64(s, 2);
	}
	stmt_reset(s);
	if (rc != STORE_ROW)
		return -1;

	s = store_stmt(st, "SELECT state, count(*) FROM instances"
	    " GROUP BY state");
	while ((rc = stmt_step(s)) == STORE_ROW &&
	    c->nstates < METRICS_MAX_STATES) {
		snprintf(c->states[c->nstates].state,
		    sizeof c->states[c->nstates].state, "%s",
		    store_col_text(s, 0));
		c->states[c->nstates++].n = stmt_col_int64(s, 1);
	}
	stmt_reset(s);
	return rc == STORE_DONE || rc == STORE_ROW ? 0 : -1;
}

const char *const metrics_machine_states[METRICS_MACHINE_STATES] = {
	"requested", "launching", "joined", "draining", "terminating",
	"gone", "failed"
};

static struct metrics_group *
metrics_group_find(struct metrics_group *v, size_t n, int64_t id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i].g.id == id)
			return &v[i];
	return NULL;
}

/* "<group>-<digits>": a machine of group's name. */
static int
metrics_machine_of(const char *machine, const char *group)
{
	size_t n = strlen(group);

	return strncmp(machine, group, n) == 0 && machine[n] == '-' &&
	    machine[n + 1] != '\0' &&
	    strspn(machine + n + 1, "0123456789") == strlen(machine + n + 1);
}

int
store_metrics_groups(struct store *st, int64_t now,
    struct metrics_group **out, size_t *n)
{
	struct metrics_group *v = NULL, *m;
	struct store_stmt *s;
	size_t nv = 0, i, k;
	int64_t *ids = NULL;
	int rc;

	*out = NULL;
	*n = 0;
	s = store_stmt(st, "SELECT g.id, k.name FROM node_groups g"
	    " JOIN grids k ON k.id = g.grid_id ORDER BY k.name, g.name");
	while ((rc = stmt_step(s)) == STORE_ROW) {
		v = xreallocarray(v, nv + 1, sizeof *v);
		ids = xreallocarray(ids, nv + 1, sizeof *ids);
		memset(&v[nv], 0, sizeof *v);
		ids[nv] = stmt_col_int64(s, 0);
		snprintf(v[nv].grid, sizeof v[nv].grid, "%s",
		    store_col_text(s, 1));
		nv++;
	}
	stmt_reset(s);
	if (rc != STORE_DONE)
		goto fail;
	for (i = 0; i < nv; i++)
		if (store_nodegroup_get_id(st, ids[i], &v[i].g) != 1)
			goto fail;
	s = store_stmt(st, "SELECT group_id, state, count(*) FROM machines"
	    " GROUP BY group_id, state");
	while ((rc = stmt_step(s)) == STORE_ROW) {
		if ((m = metrics_group_find(v, nv,
		    stmt_col_int64(s, 0))) == NULL)
			continue;
		for (k = 0; k < METRICS_MACHINE_STATES; k++)
			if (strcmp(store_col_text(s, 1),
			    metrics_machine_states[k]) == 0)
				m->machines[k] = stmt_col_int64(s, 2);
	}
	stmt_reset(s);
	if (rc != STORE_DONE)
		goto fail;
	s = store_stmt(st, "SELECT m.group_id, count(*),"
	    " sum(n.status = 'online') FROM machines m"
	    " JOIN nodes n ON n.id = m.node_id GROUP BY m.group_id");
	while ((rc = stmt_step(s)) == STORE_ROW) {
		if ((m = metrics_group_find(v, nv,
		    stmt_col_int64(s, 0))) == NULL)
			continue;
		m->nodes = stmt_col_int64(s, 1);
		m->nodes_online = stmt_col_int64(s, 2);
	}
	stmt_reset(s);
	if (rc != STORE_DONE)
		goto fail;
	/* Launches of the last hour, grid by grid (events_grid_at). */
	s = store_stmt(st, "SELECT subject FROM events WHERE grid_id = ?1"
	    " AND at >= ?2 AND type = 'machine.launch'");
	for (i = 0; i < nv; i++) {
		if (i > 0 && v[i].g.grid_id == v[i - 1].g.grid_id)
			continue;
		stmt_bind_int64(s, 1, v[i].g.grid_id);
		stmt_bind_int64(s, 2, now - 3600 * 1000);
		while ((rc = stmt_step(s)) == STORE_ROW)
			for (k = i; k < nv && v[k].g.grid_id == v[i].g.grid_id;
			    k++)
				if (store_col_text(s, 0) != NULL &&
				    metrics_machine_of(store_col_text(s, 0),
				    v[k].g.name))
					v[k].launches_hour++;
		stmt_reset(s);
		if (rc != STORE_DONE)
			goto fail;
	}
	free(ids);
	*out = v;
	*n = nv;
	return 0;
fail:
	free(ids);
	free(v);
	return -1;
}
