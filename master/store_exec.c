/*
 * store_exec.c - which container an exec runs in: a service's instance
 * (a given one, or the lowest-numbered that runs) or a container by its
 * name, with its node and whether that node is connected.
 *
 * Called from the API threads (api_exec.c). A container's name is the one
 * the hub gives it, "<stack>.<service>-<n>.<node id[0:8]>", built here by
 * SQLite the same way.
 */
#include "master/store.h"

#include <string.h>

#define EXEC_PICK_COLS \
	"k.name || '.' || v.name || '-' || i.instance_no || '.' || " \
	"substr(i.node_id, 1, 8), i.node_id, n.name, n.connected, i.state, " \
	"i.instance_no, k.name || '/' || v.name"

static void
exec_pick_row(struct store_stmt *s, struct exec_pick *p)
{
	memset(p, 0, sizeof *p);
	snprintf(p->container, sizeof p->container, "%s",
	    store_col_text(s, 0));
	snprintf(p->node_id, sizeof p->node_id, "%s", store_col_text(s, 1));
	snprintf(p->node, sizeof p->node, "%s", store_col_text(s, 2));
	p->connected = stmt_col_int(s, 3);
	snprintf(p->state, sizeof p->state, "%s", store_col_text(s, 4));
	p->instance = stmt_col_int(s, 5);
	snprintf(p->service, sizeof p->service, "%s", store_col_text(s, 6));
}

static int
exec_pick_step(struct store_stmt *s, struct exec_pick *p)
{
	int rc = stmt_step(s);

	if (rc == STORE_ROW)
		exec_pick_row(s, p);
	stmt_reset(s);
	if (rc == STORE_ROW)
		return 1;
	return rc == STORE_DONE ? 0 : -1;
}

int
store_exec_pick_service(struct store *st, int64_t service_id, int instance,
    struct exec_pick *p)
{
	/* A running instance first (starting ones run too), then by number;
	 * the new half of a move before the old. */
	struct store_stmt *s = store_stmt(st, "SELECT " EXEC_PICK_COLS
	    " FROM instances i JOIN services v ON v.id = i.service_id"
	    " JOIN stacks k ON k.id = v.stack_id"
	    " JOIN nodes n ON n.id = i.node_id"
	    " WHERE i.service_id = ?1 AND (?2 = 0 OR i.instance_no = ?2)"
	    " ORDER BY i.state IN ('running', 'starting') DESC,"
	    "  n.connected DESC, i.instance_no, i.move_target DESC, n.name"
	    " LIMIT 1");

	stmt_bind_int64(s, 1, service_id);
	stmt_bind_int(s, 2, instance);
	return exec_pick_step(s, p);
}

int
store_exec_pick_container(struct store *st, int64_t grid_id,
    const char *name, struct exec_pick *p)
{
	struct store_stmt *s = store_stmt(st, "SELECT " EXEC_PICK_COLS
	    " FROM instances i JOIN services v ON v.id = i.service_id"
	    " JOIN stacks k ON k.id = v.stack_id"
	    " JOIN nodes n ON n.id = i.node_id"
	    " WHERE k.grid_id = ?1 AND k.name || '.' || v.name || '-' ||"
	    "  i.instance_no || '.' || substr(i.node_id, 1, 8) = ?2"
	    " LIMIT 1");

	stmt_bind_int64(s, 1, grid_id);
	store_bind_text(s, 2, name);
	return exec_pick_step(s, p);
}
