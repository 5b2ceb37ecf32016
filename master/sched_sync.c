/*
 * sched_sync.c - read nodes, services and instances from the store into
 * the scheduler library's view (see sched_sync.h).
 *
 * Scheduler thread only, on its own store connection. Node labels and
 * service specs are JSON in the store; they are decoded here into the
 * library's borrowed-pointer structs, which it copies.
 */
#include "master/sched_sync.h"

#include "common/log.h"
#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>

#define NODE_SYNC_COLS \
	"id, name, labels, cpus, memory, connected, connected_at, " \
	"disconnected_at, created_at, cpu_pct, mem_used"

/* Strings of a JSON array, borrowed from arr. */
static const char **
sync_strings(json_t *arr, size_t *n)
{
	const char **v;
	json_t *e;
	size_t i;

	*n = 0;
	v = xcalloc(json_array_size(arr) + 1, sizeof *v);
	json_array_foreach(arr, i, e) {
		if (json_is_string(e))
			v[(*n)++] = json_string_value(e);
	}
	return v;
}

static int
sync_node_row(struct sched *s, sqlite3_stmt *q)
{
	struct sched_node_info n;
	json_t *labels;
	const char **lv;
	char *cause = NULL;
	int rc;

	memset(&n, 0, sizeof n);
	labels = json_loads(store_col_text(q, 2), 0, NULL);
	lv = sync_strings(labels, &n.nlabels);
	n.id = store_col_text(q, 0);
	n.name = store_col_text(q, 1);
	n.labels = lv;
	n.cpus = (double)sqlite3_column_int64(q, 3);
	n.memory = sqlite3_column_int64(q, 4);
	n.online = sqlite3_column_int(q, 5);
	n.joined_at_ms = sqlite3_column_int64(q, 6);
	n.offline_since_ms = n.online ? 0 :
	    (sqlite3_column_type(q, 7) != SQLITE_NULL ?
	    sqlite3_column_int64(q, 7) : sqlite3_column_int64(q, 8));
	n.load_cpu = sqlite3_column_double(q, 9);
	n.load_mem = sqlite3_column_int64(q, 10);
	rc = sched_node_upsert(s, &n, &cause);
	if (rc != 0) {
		log_warn("sched: node %s: %s", n.name, cause);
		free(cause);
	}
	free(lv);
	json_decref(labels);
	return rc;
}

static enum sched_strategy
sync_strategy(const char *s)
{
	if (strcmp(s, "daemon") == 0)
		return SCHED_DAEMON;
	if (strcmp(s, "random") == 0)
		return SCHED_RANDOM;
	return SCHED_HA;
}

/* Columns: id, stack, name, strategy, instances, stateful, min_health,
 * rev, spec. */
static int
sync_service_row(struct sched *s, sqlite3_stmt *q)
{
	struct sched_service_info v;
	struct sched_port *ports = NULL;
	json_t *spec, *p, *aff;
	const char **av;
	char *cause = NULL;
	size_t i;
	int rc;

	memset(&v, 0, sizeof v);
	spec = json_loads(store_col_text(q, 8), 0, NULL);
	aff = json_object_get(spec, "affinity");
	av = sync_strings(aff, &v.naffinity);
	v.id = sqlite3_column_int64(q, 0);
	v.stack = store_col_text(q, 1);
	v.name = store_col_text(q, 2);
	v.strategy = sync_strategy(store_col_text(q, 3));
	v.instances = sqlite3_column_int(q, 4);
	v.stateful = sqlite3_column_int(q, 5);
	v.min_health = sqlite3_column_double(q, 6);
	v.rev = sqlite3_column_int64(q, 7);
	v.affinity = av;
	if (json_is_number(json_object_get(spec, "cpus")))
		v.cpus = json_number_value(json_object_get(spec, "cpus"));
	if (json_is_integer(json_object_get(spec, "mem_limit")))
		v.mem_limit = json_integer_value(json_object_get(spec,
		    "mem_limit"));
	ports = xcalloc(json_array_size(json_object_get(spec, "ports")) + 1,
	    sizeof *ports);
	json_array_foreach(json_object_get(spec, "ports"), i, p) {
		json_t *np = json_object_get(p, "node_port");
		json_t *proto = json_object_get(p, "protocol");

		if (!json_is_integer(np))
			continue;
		ports[v.nports].port = (int)json_integer_value(np);
		ports[v.nports].udp = json_is_string(proto) &&
		    strcmp(json_string_value(proto), "udp") == 0;
		v.nports++;
	}
	v.ports = ports;
	rc = sched_service_upsert(s, &v, &cause);
	if (rc != 0) {
		log_warn("sched: service %s/%s: %s", v.stack, v.name, cause);
		free(cause);
	}
	free(ports);
	free(av);
	json_decref(spec);
	return rc;
}

static enum sched_state
sync_state(const char *s)
{
	if (strcmp(s, "running") == 0)
		return SCHED_RUNNING;
	if (strcmp(s, "stopped") == 0)
		return SCHED_STOPPED;
	if (strcmp(s, "error") == 0)
		return SCHED_ERROR;
	return SCHED_PENDING;
}

/* Columns: service_id, instance_no, node_id, state, created_at,
 * moved_at, move_target. */
static void
sync_instance_rows(struct sched *s, sqlite3_stmt *q)
{
	struct sched_instance_info in;
	char *cause = NULL;

	while (sqlite3_step(q) == SQLITE_ROW) {
		memset(&in, 0, sizeof in);
		in.service_id = sqlite3_column_int64(q, 0);
		in.instance_no = sqlite3_column_int(q, 1);
		in.node_id = store_col_text(q, 2);
		in.state = sync_state(store_col_text(q, 3));
		in.created_at_ms = sqlite3_column_int64(q, 4);
		in.moved_at_ms = sqlite3_column_int64(q, 5);
		in.move_target = sqlite3_column_int(q, 6);
		if (sched_instance_upsert(s, &in, &cause) != 0) {
			/* Its service is not active yet, or its node is new. */
			log_debug("sched: instance %lld#%d: %s",
			    (long long)in.service_id, in.instance_no, cause);
			free(cause);
			cause = NULL;
		}
	}
	sqlite3_reset(q);
}

#define INST_COLS \
	"i.service_id, i.instance_no, i.node_id, i.state, i.created_at, " \
	"coalesce(i.moved_at, 0), i.move_target"

#define SVC_SYNC_COLS \
	"v.id, k.name, v.name, v.strategy, v.instances, v.stateful, " \
	"v.min_health, v.rev, v.spec"

int
sched_sync_grid(struct store *st, struct sched *s, int64_t grid_id)
{
	sqlite3_stmt *q;

	q = store_stmt(st, "SELECT " NODE_SYNC_COLS " FROM nodes"
	    " WHERE grid_id = ?1");
	sqlite3_bind_int64(q, 1, grid_id);
	while (sqlite3_step(q) == SQLITE_ROW)
		sync_node_row(s, q);
	sqlite3_reset(q);
	q = store_stmt(st, "SELECT " SVC_SYNC_COLS " FROM services v"
	    " JOIN stacks k ON k.id = v.stack_id"
	    " WHERE k.grid_id = ?1 AND v.active = 1");
	sqlite3_bind_int64(q, 1, grid_id);
	while (sqlite3_step(q) == SQLITE_ROW)
		sync_service_row(s, q);
	sqlite3_reset(q);
	q = store_stmt(st, "SELECT " INST_COLS " FROM instances i"
	    " JOIN nodes n ON n.id = i.node_id WHERE n.grid_id = ?1");
	sqlite3_bind_int64(q, 1, grid_id);
	sync_instance_rows(s, q);
	return 0;
}

int
sched_sync_node(struct store *st, struct sched *s, int64_t grid_id,
    const char *id)
{
	sqlite3_stmt *q = store_stmt(st, "SELECT " NODE_SYNC_COLS ", grid_id"
	    " FROM nodes WHERE id = ?1");
	int rc;

	store_bind_text(q, 1, id);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW && sqlite3_column_int64(q, 11) == grid_id) {
		sync_node_row(s, q);
		sqlite3_reset(q);
		q = store_stmt(st, "SELECT " INST_COLS " FROM instances i"
		    " WHERE i.node_id = ?1");
		store_bind_text(q, 1, id);
		sync_instance_rows(s, q);
		return 1;
	}
	sqlite3_reset(q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return -1;
	sched_node_remove(s, id);	/* gone, or not in this grid */
	return 0;
}

int
sched_sync_service(struct store *st, struct sched *s, int64_t grid_id,
    int64_t id)
{
	struct sched_instance_info *list;
	sqlite3_stmt *q = store_stmt(st, "SELECT " SVC_SYNC_COLS ", k.grid_id"
	    " FROM services v JOIN stacks k ON k.id = v.stack_id"
	    " WHERE v.id = ?1 AND v.active = 1");
	size_t n, i;
	int rc, present;

	sqlite3_bind_int64(q, 1, id);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW && sqlite3_column_int64(q, 9) == grid_id) {
		sync_service_row(s, q);
		sqlite3_reset(q);
		/* Forget records the store no longer has, then re-read. */
		n = sched_instance_list(s, id, &list);
		for (i = 0; i < n; i++) {
			q = store_stmt(st, "SELECT 1 FROM instances WHERE"
			    " service_id = ?1 AND instance_no = ?2 AND"
			    " node_id = ?3");
			sqlite3_bind_int64(q, 1, id);
			sqlite3_bind_int(q, 2, list[i].instance_no);
			store_bind_text(q, 3, list[i].node_id);
			present = sqlite3_step(q) == SQLITE_ROW;
			sqlite3_reset(q);
			if (!present)
				sched_instance_remove(s, id,
				    list[i].instance_no, list[i].node_id);
		}
		free(list);
		q = store_stmt(st, "SELECT " INST_COLS " FROM instances i"
		    " WHERE i.service_id = ?1");
		sqlite3_bind_int64(q, 1, id);
		sync_instance_rows(s, q);
		return 1;
	}
	sqlite3_reset(q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return -1;
	sched_service_remove(s, id);
	return 0;
}

int
sched_sync_load(struct store *st, struct sched *s, int64_t grid_id)
{
	sqlite3_stmt *q = store_stmt(st, "SELECT id, cpu_pct, mem_used"
	    " FROM nodes WHERE grid_id = ?1 AND cpu_pct IS NOT NULL");

	sqlite3_bind_int64(q, 1, grid_id);
	while (sqlite3_step(q) == SQLITE_ROW)
		sched_node_load(s, store_col_text(q, 0),
		    sqlite3_column_double(q, 1), sqlite3_column_int64(q, 2));
	sqlite3_reset(q);
	return 0;
}

void
sched_sync_settings(const struct grid_settings *gs, struct sched_settings *out)
{
	sched_settings_from_grid(gs, out);
}
