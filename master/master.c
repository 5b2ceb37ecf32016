/*
 * master.c - what every thread of the master reaches through struct master:
 * its own store connection, and the change notifications that wake the
 * scheduler and the hub.
 */
#include "master/master.h"
#include "master/hub.h"
#include "master/sched_loop.h"

#include "common/log.h"
#include "common/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>

struct store *
master_store(struct master *m)
{
	struct store *st = pthread_getspecific(m->store_key);
	char *cause = NULL;

	if (st != NULL)
		return st;
	if (m->cfg.cluster_address != NULL) {
		/* On dqlite (docs/ha.md): this master's own node is asked
		 * for the leader, which runs every statement. */
		const char *addr = m->cfg.cluster_address;
		struct sdq_opts o = { .fence = 1, .lazy = 1,
		    .deadline_ms = m->cfg.cluster_timeout_ms };

		st = store_open_dqlite_opts(&addr, 1, MASTER_DQLITE_DB, &o,
		    &cause);
	} else
		st = store_open(m->db_path, &cause);
	if (st == NULL)
		fatalx("store: %s", cause);
	pthread_setspecific(m->store_key, st);
	return st;
}

void
master_leader_urls(struct master *m, char *api, size_t apilen, char *agent,
    size_t agentlen)
{
	pthread_mutex_lock(&m->leader_lock);
	if (api != NULL)
		snprintf(api, apilen, "%s", m->leader_api);
	if (agent != NULL)
		snprintf(agent, agentlen, "%s", m->leader_agent);
	pthread_mutex_unlock(&m->leader_lock);
}

const char *
master_role_name(struct master *m)
{
	switch (atomic_load(&m->role)) {
	case MASTER_LEADER:
		return "leader";
	case MASTER_STANDBY:
		return "standby";
	}
	return "single";
}

void
master_changed_grid(struct master *m, int64_t grid_id)
{
	if (m->sched != NULL)
		sched_loop_wake(m->sched, grid_id);
}

void
master_changed_node(struct master *m, const char *node_id)
{
	master_nodes_touched(m);
	if (m->sched != NULL)
		sched_loop_node(m->sched, node_id);
}

void
master_changed_nodes(struct master *m, const char *const *node_ids, size_t n)
{
	if (n == 0)
		return;
	master_nodes_touched(m);
	if (m->sched != NULL)
		sched_loop_nodes(m->sched, node_ids, n);
}

void
master_changed_service(struct master *m, int64_t service_id)
{
	master_nodes_touched(m);
	if (m->sched != NULL)
		sched_loop_service(m->sched, service_id);
}

void
master_changed_job(struct master *m, int64_t job_id)
{
	if (m->sched != NULL)
		sched_loop_job(m->sched, job_id);
}

void
master_desired_changed(struct master *m, const char *node_id)
{
	master_nodes_touched(m);
	if (m->hub != NULL)
		hub_node_changed(m->hub, node_id);
}

void
master_kick_node(struct master *m, const char *node_id, int close_code)
{
	if (m->hub != NULL)
		hub_kick(m->hub, node_id, close_code);
}
