/*
 * master.h - the berth-master process: what every module may reach.
 *
 * One struct master exists, made by main() before any thread starts. Its
 * configuration, paths and keys are read-only after start-up; the parts
 * that change (metrics counters, the hub and scheduler handles) are
 * thread-safe by their own means. Threads:
 *
 *	main	start-up, signals (sigwait), orderly shutdown
 *	api	libmicrohttpd's pool; handlers never block on agents
 *	ws	the hub: one libwebsockets service thread owns every lws object
 *	sched	the scheduling loop
 *	provider  calls of node groups' async providers (provider_worker.c)
 *	webhook	posts grids' chosen events to their webhook_url (webhook.c)
 *
 * Each thread that touches the store uses master_store(), which opens that
 * thread's own SQLite connection on first use.
 */
#ifndef BERTH_MASTER_H
#define BERTH_MASTER_H

#include "common/version.h"
#include "master/config.h"
#include "master/store.h"
#include "master/tls.h"
#include "master/token.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#define MASTER_VERSION	BERTH_VERSION	/* common/version.h */
/* The store's database on the dqlite cluster (--cluster-address). */
#define MASTER_DQLITE_DB	"berth"

struct cluster;
struct role_watch;

/* A master's role (master.role). */
#define MASTER_SINGLE	0	/* no cluster: serves everything */
#define MASTER_LEADER	1	/* its node leads: serves everything */
#define MASTER_STANDBY	2	/* redirects the API, refuses agents */

struct hub;
struct sched_loop;
struct api;
struct logstore;
struct exec_relay;
struct loadring;
struct provider_worker;
struct webhook;

struct master {
	struct master_config	 cfg;		/* options, read-only */
	char			*db_path;	/* <data-dir>/berth.db */
	char			*self_dir;	/* where berth-master lives */
	unsigned char		 key[TOKEN_KEY_LEN]; /* seals grid tokens */
	unsigned char		 operator_hash[TOKEN_HASH_LEN]; /* API auth */
	pthread_key_t		 store_key;	/* per-thread struct store */
	int64_t			 started_ms;	/* wall clock at start */
	struct master_tls	 tls;		/* certificate, pin; read-only */

	struct api		*api;		/* REST server */
	struct hub		*hub;		/* agent websocket hub, or NULL */
	struct sched_loop	*sched;		/* scheduling loop, or NULL */
	struct logstore		*logs;		/* container logs, or NULL */
	struct exec_relay	*exec;		/* exec sessions, or NULL */
	struct loadring		*loads;		/* nodes' recent stats, or NULL */
	struct provider_worker	*providers;	/* provider threads, or NULL
						 * (calls then run in place) */
	struct webhook		*webhook;	/* grids' webhooks, or NULL */
	struct cluster		*cluster;	/* the dqlite node, or NULL:
						 * the store is then the file */
	struct cluster_tls	*ctls;		/* masters' traffic over TLS,
						 * or NULL: plain TCP */

	/* Roles (docs/ha.md): MASTER_SINGLE without a cluster; else
	 * MASTER_STANDBY until the watcher (role.c) sees the node lead. */
	atomic_int		 role;
	pthread_mutex_t		 leader_lock;	/* guards the two below */
	char			 leader_api[256];   /* the leader's URLs, or "" */
	char			 leader_agent[256];
	struct role_watch	*watch;		/* the watcher, or NULL */

	atomic_uint_fast64_t	 api_status[600]; /* requests by status */
	atomic_int		 api_busy;	/* requests being served */
	atomic_uint_fast64_t	 nodes_gen;	/* bumped by every change to
						 * what a node list shows */
};

/* Whether this master serves the API, agents and scheduling now. */
static inline int
master_leads(struct master *m)
{
	return atomic_load(&m->role) != MASTER_STANDBY;
}
/* The leader's API and agent URLs as a standby knows them ("" unknown). */
void		 master_leader_urls(struct master *m, char *api, size_t apilen,
		    char *agent, size_t agentlen);
/* "leader", "standby" or "single". */
const char	*master_role_name(struct master *m);

/* This thread's store connection (opened on first use; fatal if it can't).
 * On a cluster it is fenced (only this master's node may serve it) and
 * connects at its first call (docs/ha.md, "Roles"). */
struct store	*master_store(struct master *m);

/*
 * Tell the other threads that state they mirror has changed: the scheduler
 * re-plans the grid, the hub re-sends the node's desired set. Cheap and
 * non-blocking; safe from any thread. grid_id 0 means "all grids".
 */
void		 master_changed_grid(struct master *m, int64_t grid_id);
/* A node's record or its instances' reported states changed. */
void		 master_changed_node(struct master *m, const char *node_id);
/* The same for n nodes at once. */
void		 master_changed_nodes(struct master *m,
		    const char *const *node_ids, size_t n);
/* A service was created, changed, scaled or removed. */
void		 master_changed_service(struct master *m, int64_t service_id);
/* A job was created, cancelled or removed, or an attempt of it changed. */
void		 master_changed_job(struct master *m, int64_t job_id);
/* The node's desired set may have changed: the hub re-sends it. */
void		 master_desired_changed(struct master *m, const char *node_id);
/* Node rows or their instance counts changed: cached lists are stale. */
static inline void
master_nodes_touched(struct master *m)
{
	atomic_fetch_add(&m->nodes_gen, 1);
}
/* Close a node's live session (deleted, token reset) with a close code. */
void		 master_kick_node(struct master *m, const char *node_id,
		    int close_code);

#endif
