/*
 * hub_desired.c - build desired sets from instances; apply reported states.
 *
 * Runs on the ws thread. A desired container is an instance row joined to
 * its service's spec; its name is "<stack>.<service>-<n>.<node8>" so that
 * agents sharing one Docker engine never collide.
 */
#include "master/hub_desired.h"
#include "master/hub_frame.h"

#include "common/proto.h"
#include "common/util.h"
#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>

/* Spec keys passed to the agent as they are (validated by the parser). */
static const char *desired_keys[] = {
	"image", "command", "entrypoint", "env", "cpu_shares", "cpus",
	"mem_limit", "memswap_limit", "shm_size", "ports", "volumes",
	"privileged", "cap_add", "cap_drop", "network_mode", "pid", "user",
	"read_only", "stop_signal", "stop_grace_period",
};

json_t *
desired_build(struct store *st, const char *node_id)
{
	sqlite3_stmt *s = store_stmt(st,
	    "SELECT i.service_id, i.instance_no, i.rev, v.name, k.name, g.name,"
	    " v.spec FROM instances i JOIN services v ON v.id = i.service_id"
	    " JOIN stacks k ON k.id = v.stack_id JOIN grids g ON g.id = k.grid_id"
	    " WHERE i.node_id = ?1 ORDER BY i.service_id, i.instance_no");
	json_t *arr = json_array(), *c, *spec, *v;
	char *name;
	size_t i;
	int rc;

	store_bind_text(s, 1, node_id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		xasprintf(&name, "%s.%s-%d.%.8s", store_col_text(s, 4),
		    store_col_text(s, 3), sqlite3_column_int(s, 1), node_id);
		c = json_pack("{s:s, s:s, s:s, s:s, s:I, s:i, s:I}",
		    "name", name, "grid", store_col_text(s, 5),
		    "stack", store_col_text(s, 4),
		    "service", store_col_text(s, 3),
		    "service_id", (json_int_t)sqlite3_column_int64(s, 0),
		    "instance", sqlite3_column_int(s, 1),
		    "rev", (json_int_t)sqlite3_column_int64(s, 2));
		free(name);
		spec = json_loads(store_col_text(s, 6), 0, NULL);
		for (i = 0; i < sizeof desired_keys / sizeof desired_keys[0];
		    i++) {
			v = spec ? json_object_get(spec, desired_keys[i]) : NULL;
			json_object_set(c, desired_keys[i], v ? v : json_null());
		}
		/* The agent reports "running" only once this port answers. */
		v = spec ? json_object_get(json_object_get(spec, "deploy"),
		    "wait_for_port") : NULL;
		json_object_set(c, "wait_for_port", json_is_integer(v) ? v :
		    json_null());
		json_decref(spec);
		json_array_append_new(arr, c);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

int
desired_apply_state(struct store *st, const char *node_id, json_t *containers,
    int *grid_changed, char **cause)
{
	/*
	 * Only the instance of the current revision takes the report: a
	 * container of an older rev that is being replaced says nothing
	 * about the new one. Unchanged rows are not rewritten.
	 */
	sqlite3_stmt *s;
	json_t *c, *v;
	const char *err;
	size_t i;

	*grid_changed = 0;
	if (frame_state_containers(containers, cause) != 0)
		return -1;
	if (store_begin(st) != 0) {
		xasprintf(cause, "store busy");
		return -1;
	}
	json_array_foreach(containers, i, c) {
		s = store_stmt(st,
		    "UPDATE instances SET state = ?4, error = ?5, exit_code = ?6,"
		    " container_id = ?7, restarts = ?8, updated_at = ?9"
		    " WHERE service_id = ?1 AND instance_no = ?2 AND node_id = ?3"
		    " AND rev = ?10 AND (state IS NOT ?4 OR error IS NOT ?5 OR"
		    "  exit_code IS NOT ?6 OR container_id IS NOT ?7 OR"
		    "  restarts IS NOT ?8)");
		sqlite3_bind_int64(s, 1,
		    json_integer_value(json_object_get(c, "service_id")));
		sqlite3_bind_int64(s, 2,
		    json_integer_value(json_object_get(c, "instance")));
		store_bind_text(s, 3, node_id);
		store_bind_text(s, 4, json_string_value(json_object_get(c,
		    "state")));
		v = json_object_get(c, "error");
		err = json_is_string(v) ? json_string_value(v) : NULL;
		store_bind_text(s, 5, err);
		v = json_object_get(c, "exit_code");
		if (json_is_integer(v))
			sqlite3_bind_int64(s, 6, json_integer_value(v));
		else
			sqlite3_bind_null(s, 6);
		v = json_object_get(c, "container_id");
		store_bind_text(s, 7, json_is_string(v) ? json_string_value(v) :
		    NULL);
		v = json_object_get(c, "restarts");
		sqlite3_bind_int64(s, 8, json_is_integer(v) ?
		    json_integer_value(v) : 0);
		sqlite3_bind_int64(s, 9, util_now_ms());
		sqlite3_bind_int64(s, 10,
		    json_integer_value(json_object_get(c, "rev")));
		if (sqlite3_step(s) != SQLITE_DONE) {
			sqlite3_reset(s);
			store_rollback(st);
			xasprintf(cause, "store: %s", store_errmsg(st));
			return -1;
		}
		if (sqlite3_changes(store_db(st)) > 0)
			*grid_changed = 1;
		sqlite3_reset(s);
	}
	if (store_commit(st) != 0) {
		xasprintf(cause, "store: commit failed");
		return -1;
	}
	return 0;
}
