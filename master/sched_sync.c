/*
 * sched_sync.c - read nodes, services and instances from the store into
 * the scheduler library's view (see sched_sync.h).
 *
 * Scheduler thread only, on its own store connection. The rows come from
 * typed store calls (store_node.c, store_service.c, store_instance.c),
 * each handed to a callback here. Node labels and service specs are JSON
 * in the store; they are decoded here into the library's borrowed-pointer
 * structs, which it copies.
 */
#include "master/sched_sync.h"

#include "stacks/job_spec.h"

#include "common/log.h"
#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>

/* What a callback needs: the view, and the grid being synced. */
struct sync_arg {
	struct sched	*s;		/* the library's view */
	int64_t		 grid_id;	/* only rows of this grid count */
	int		 found;		/* a row of the grid was seen */
	struct store	*st;		/* jobs: to look an unknown node up */
	struct sync_orphan *orphans;	/* jobs: tasks on nodes that are gone */
	size_t		 norphans;
	int		*seen;		/* one job: the task indexes read */
	size_t		 nseen;
};

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

static void
sync_node_row(void *arg, const struct node_row *r)
{
	struct sync_arg *a = arg;
	struct sched_node_info n;
	json_t *labels;
	const char **lv;
	char *cause = NULL;

	if (r->grid_id != a->grid_id)
		return;
	if (r->pending) {
		/* Waiting for approval: no record of any kind goes there, so
		 * it is not in the view at all (sched_sync_node() then
		 * removes it, as for a node that is gone). */
		return;
	}
	a->found = 1;
	memset(&n, 0, sizeof n);
	labels = json_loads(r->labels, 0, NULL);
	lv = sync_strings(labels, &n.nlabels);
	n.id = r->id;
	n.name = r->name;
	n.labels = lv;
	n.cpus = (double)r->cpus;
	n.memory = r->memory;
	/* Joined, node_info not in yet: reserve nothing there until it is
	 * (every agent reports at least one cpu). */
	n.unmeasured = r->cpus == 0;
	n.online = r->connected;
	n.engine_down = r->engine_down;
	n.cordoned = r->cordoned;
	n.draining = r->draining;
	n.drain_deadline_ms = r->drain_deadline_at;
	n.joined_at_ms = r->connected_at;
	/* disconnected_at is 0 only for a node that never went offline. */
	n.offline_since_ms = n.online ? 0 : (r->disconnected_at != 0 ?
	    r->disconnected_at : r->created_at);
	n.load_cpu = r->cpu_pct;
	n.load_mem = r->mem_used;
	if (sched_node_upsert(a->s, &n, &cause) != 0) {
		log_warn("sched: node %s: %s", n.name, cause);
		free(cause);
	}
	free(lv);
	json_decref(labels);
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

static void
sync_service_row(void *arg, const struct service_row *r)
{
	struct sync_arg *a = arg;
	struct sched_service_info v;
	struct sched_port *ports = NULL;
	json_t *spec, *p, *aff;
	const char **av;
	char *cause = NULL;
	size_t i;

	if (r->grid_id != a->grid_id)
		return;
	a->found = 1;
	memset(&v, 0, sizeof v);
	spec = json_loads(r->spec, 0, NULL);
	aff = json_object_get(spec, "affinity");
	av = sync_strings(aff, &v.naffinity);
	v.id = r->id;
	v.stack = r->stack;
	v.name = r->name;
	v.strategy = sync_strategy(r->strategy);
	v.instances = r->instances;
	v.stateful = r->stateful;
	v.min_health = r->min_health;
	v.rev = r->rev;
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
	if (sched_service_upsert(a->s, &v, &cause) != 0) {
		log_warn("sched: service %s/%s: %s", v.stack, v.name, cause);
		free(cause);
	}
	free(ports);
	free(av);
	json_decref(spec);
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

static void
sync_instance_row(void *arg, const struct instance_row *r)
{
	struct sync_arg *a = arg;
	struct sched_instance_info in;
	char *cause = NULL;

	memset(&in, 0, sizeof in);
	in.service_id = r->service_id;
	in.instance_no = r->instance_no;
	in.node_id = r->node_id;
	in.state = sync_state(r->state);
	in.created_at_ms = r->created_at;
	in.moved_at_ms = r->moved_at;
	in.move_target = r->move_target;
	if (sched_instance_upsert(a->s, &in, &cause) != 0) {
		/* Its service is not active yet, or its node is new. */
		log_debug("sched: instance %lld#%d: %s",
		    (long long)in.service_id, in.instance_no, cause);
		free(cause);
	}
}

int
sched_sync_grid(struct store *st, struct sched *s, int64_t grid_id)
{
	struct sync_arg a = { s, grid_id, 0, st, NULL, 0, NULL, 0 };
	int rc = 0;

	/* Each part on its own: a failed read leaves the others loaded. */
	if (store_node_rows(st, grid_id, sync_node_row, &a) != 0)
		rc = -1;
	if (store_service_rows(st, grid_id, sync_service_row, &a) != 0)
		rc = -1;
	if (store_instance_rows_grid(st, grid_id, sync_instance_row, &a) != 0)
		rc = -1;
	return rc;
}

int
sched_sync_node(struct store *st, struct sched *s, int64_t grid_id,
    const char *id)
{
	struct sync_arg a = { s, grid_id, 0, st, NULL, 0, NULL, 0 };
	int rc;

	rc = store_node_row(st, id, sync_node_row, &a);
	if (rc == 1 && a.found) {
		store_instance_rows_node(st, id, sync_instance_row, &a);
		return 1;
	}
	if (rc < 0)
		return -1;
	sched_node_remove(s, id);	/* gone, or not in this grid */
	return 0;
}

int
sched_sync_service(struct store *st, struct sched *s, int64_t grid_id,
    int64_t id)
{
	struct sync_arg a = { s, grid_id, 0, st, NULL, 0, NULL, 0 };
	struct sched_instance_info *list;
	size_t n, i;
	int rc;

	rc = store_service_row(st, id, sync_service_row, &a);
	if (rc == 1 && a.found) {
		/* Forget records the store no longer has, then re-read. */
		n = sched_instance_list(s, id, &list);
		for (i = 0; i < n; i++)
			if (store_instance_exists(st, id, list[i].instance_no,
			    list[i].node_id) != 1)
				sched_instance_remove(s, id,
				    list[i].instance_no, list[i].node_id);
		free(list);
		store_instance_rows_service(st, id, sync_instance_row, &a);
		return 1;
	}
	if (rc < 0)
		return -1;
	sched_service_remove(s, id);
	return 0;
}

static void
sync_job_row(void *arg, const struct job_task_row *r)
{
	struct sync_arg *a = arg;
	struct sched_job_info ji;
	struct sync_orphan *o;
	json_t *spec, *v;
	const char **av;
	char *cause = NULL;
	int64_t grid;

	a->seen = xreallocarray(a->seen, a->nseen + 1, sizeof *a->seen);
	a->seen[a->nseen++] = r->idx;
	if (job_state_final(r->state)) {
		sched_job_remove(a->s, r->job_id, r->idx);
		return;
	}
	memset(&ji, 0, sizeof ji);
	spec = json_loads(r->spec, 0, NULL);
	av = sync_strings(json_object_get(spec, "affinity"), &ji.naffinity);
	ji.id = r->job_id;
	ji.index = r->idx;
	ji.name = r->name;
	ji.priority = r->priority;
	ji.queued_at_ms = r->created_at;
	ji.not_before_ms = r->state == JOB_PENDING ? r->not_before : 0;
	ji.affinity = av;
	if (json_is_number(v = json_object_get(spec, "cpus")))
		ji.cpus = json_number_value(v);
	if (json_is_integer(v = json_object_get(spec, "memory")))
		ji.memory = json_integer_value(v);
	ji.node_id = r->state == JOB_PENDING ? NULL : r->node_id;
	if (sched_job_upsert(a->s, &ji, &cause) != 0) {
		if (ji.node_id != NULL &&
		    store_node_grid(a->st, ji.node_id, &grid) == 0) {
			a->orphans = xreallocarray(a->orphans,
			    a->norphans + 1, sizeof *a->orphans);
			o = &a->orphans[a->norphans++];
			o->job_id = r->job_id;
			o->idx = r->idx;
			snprintf(o->node_id, sizeof o->node_id, "%s",
			    ji.node_id);
		} else
			log_warn("sched: job %s#%d: %s", r->name, r->idx,
			    cause);
		free(cause);
		sched_job_remove(a->s, r->job_id, r->idx);
	}
	free(av);
	json_decref(spec);
}

int
sched_sync_jobs(struct store *st, struct sched *s, int64_t grid_id,
    struct sync_orphan **orphans, size_t *norphans)
{
	struct sync_arg a = { s, grid_id, 0, st, NULL, 0, NULL, 0 };
	int rc;

	rc = store_job_tasks_grid(st, grid_id, sync_job_row, &a);
	free(a.seen);
	*orphans = a.orphans;
	*norphans = a.norphans;
	return rc;
}

int
sched_sync_job(struct store *st, struct sched *s, int64_t job_id,
    struct sync_orphan **orphans, size_t *norphans)
{
	struct sync_arg a = { s, 0, 0, st, NULL, 0, NULL, 0 };
	size_t i;
	int rc;

	rc = store_job_tasks_job(st, job_id, sync_job_row, &a);
	/*
	 * A job the store no longer has (deleted): its tasks leave s too.
	 * A job keeps all its tasks' rows while it exists, so only then.
	 */
	if (rc == 0 && a.nseen == 0)
		for (i = 0; i < JOB_MAX_PARALLEL; i++)
			sched_job_remove(s, job_id, (int)i);
	free(a.seen);
	*orphans = a.orphans;
	*norphans = a.norphans;
	return rc;
}

static void
sync_load_row(void *arg, const char *id, double cpu_pct, int64_t mem_used)
{
	struct sync_arg *a = arg;

	sched_node_load(a->s, id, cpu_pct, mem_used);
}

int
sched_sync_load(struct store *st, struct sched *s, int64_t grid_id)
{
	struct sync_arg a = { s, grid_id, 0, st, NULL, 0, NULL, 0 };

	return store_node_loads(st, grid_id, sync_load_row, &a);
}

void
sched_sync_settings(const struct grid_settings *gs, struct sched_settings *out)
{
	sched_settings_from_grid(gs, out);
}
