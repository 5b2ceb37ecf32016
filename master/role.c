/*
 * role.c - the leadership watcher (role.h; docs/ha.md, "Roles").
 */
#include "master/role.h"
#include "master/cluster.h"
#include "master/dq_client.h"
#include "master/hub.h"
#include "master/sched_loop.h"

#include "common/log.h"
#include "common/util.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ROLE_ASK_MS		1000	/* bound on one LEADER request */
#define ROLE_LOOKUP_MS		1000	/* bound on a masters-table call */
#define ROLE_LOOKUP_AGAIN_MS	500	/* after a failed lookup */
#define ROLE_ROW_AGAIN_MS	1000	/* after a failed row write */
#define ROLE_WARN_MS		5000	/* repeated warnings, at most */
#define ROLE_DRAIN_MS		3000	/* a planned stop's wait for requests */

struct role_watch {
	struct master		*m;
	role_lead_fn		 lead;
	pthread_t		 thread;
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	int			 stop;

	/* The watcher's thread only. */
	struct dq_conn		 conn;		/* to this master's node */
	struct store		*follow;	/* follows the leader */
	char			 api[256];	/* this master's URLs */
	char			 agent[256];
	int			 row_written;
	int64_t			 row_at;	/* next try */
	char			 leader[128];	/* leader's address, or "" */
	char			 leader_agent[256]; /* its agent URL, if known */
	int			 urls_known;
	int64_t			 lookup_at;	/* next lookup */
	int64_t			 warned_at;
	int64_t			 lost_at;	/* mono ms no leader was seen */
};

/* host of listen, or the cluster address's host for a wildcard. */
static void
role_url(struct master *m, const char *listen, const char *scheme,
    char *out, size_t len)
{
	char *host = NULL, *chost = NULL, *cause = NULL;
	int port = 0, cport;

	if (config_split_listen(listen, &host, &port, &cause) != 0) {
		free(cause);
		snprintf(out, len, "%s://%s", scheme, listen);
		return;
	}
	if (host[0] == '\0' || strcmp(host, "0.0.0.0") == 0 ||
	    strcmp(host, "::") == 0) {
		free(host);
		host = NULL;
		if (config_split_listen(m->cfg.cluster_address, &chost, &cport,
		    &cause) == 0)
			host = chost;
		else {
			free(cause);
			host = xstrdup("127.0.0.1");
		}
	}
	snprintf(out, len, strchr(host, ':') != NULL ? "%s://[%s]:%d" :
	    "%s://%s:%d", scheme, host, port);
	free(host);
}

void
role_own_urls(struct master *m, char *api, size_t apilen, char *agent,
    size_t agentlen)
{
	if (m->cfg.public_url != NULL && m->cfg.public_url[0] != '\0')
		snprintf(api, apilen, "%s", m->cfg.public_url);
	else
		role_url(m, m->cfg.api_listen, m->tls.on ? "https" : "http",
		    api, apilen);
	if (m->cfg.agent_url != NULL && m->cfg.agent_url[0] != '\0')
		snprintf(agent, agentlen, "%s", m->cfg.agent_url);
	else
		role_url(m, m->cfg.agent_listen, m->tls.on ? "wss" : "ws",
		    agent, agentlen);
	/* A trailing slash would double in "URL/path". */
	while (*api != '\0' && api[strlen(api) - 1] == '/')
		api[strlen(api) - 1] = '\0';
}

static void
role_set_leader_urls(struct master *m, const char *api, const char *agent)
{
	pthread_mutex_lock(&m->leader_lock);
	snprintf(m->leader_api, sizeof m->leader_api, "%s", api);
	snprintf(m->leader_agent, sizeof m->leader_agent, "%s", agent);
	pthread_mutex_unlock(&m->leader_lock);
}

/* Whom this master's node knows as leader: 0 with *id (0: none) and
 * addr, or -1 when the node did not answer. */
static int
role_ask(struct role_watch *w, uint64_t *id, char *addr, size_t len)
{
	char *why = NULL, *a = NULL;

	if (w->conn.fd < 0 && dq_conn_open(&w->conn,
	    cluster_address(w->m->cluster), ROLE_ASK_MS, &why) != 0)
		goto fail;
	if (dq_conn_leader(&w->conn, id, &a, &why) != 0) {
		dq_conn_close(&w->conn);
		goto fail;
	}
	snprintf(addr, len, "%s", *id != 0 ? a : "");
	free(a);
	return 0;
fail:
	if (util_mono_ms() - w->warned_at >= ROLE_WARN_MS) {
		log_warn("role: asking this master's node who leads: %s", why);
		w->warned_at = util_mono_ms();
	}
	free(why);
	*id = 0;
	addr[0] = '\0';
	return -1;
}

/* This master's node leads: run the leader's start-up, then serve. */
static void
role_take_lead(struct role_watch *w, uint64_t id)
{
	struct master *m = w->m;
	struct store *st = master_store(m);
	int64_t t0 = util_mono_ms();
	char *cause = NULL;

	if (w->lead(m, st, &cause) != 0)
		goto fail;
	if (store_master_set(st, cluster_address(m->cluster), id, w->api,
	    w->agent) != 0 || store_node_reset_connected(st) != 0) {
		xasprintf(&cause, "%s", store_errmsg(st));
		goto fail;
	}
	w->row_written = 1;
	role_set_leader_urls(m, w->api, w->agent);
	snprintf(w->leader, sizeof w->leader, "%s",
	    cluster_address(m->cluster));
	w->urls_known = 1;
	atomic_store(&m->role, MASTER_LEADER);
	hub_set_leader(m->hub, 1, NULL);
	sched_loop_set_active(m->sched, 1);
	if (w->lost_at != 0)
		log_info("role: leader (node %" PRIu64 "): serving the API, "
		    "agents and scheduling; %lld ms after the last leader "
		    "was lost, start-up %lld ms", id,
		    (long long)(util_mono_ms() - w->lost_at),
		    (long long)(util_mono_ms() - t0));
	else
		log_info("role: leader (node %" PRIu64 "): serving the API, "
		    "agents and scheduling (start-up %lld ms)", id,
		    (long long)(util_mono_ms() - t0));
	w->lost_at = 0;
	return;
fail:
	if (util_mono_ms() - w->warned_at >= ROLE_WARN_MS) {
		log_warn("role: this master's node leads, but the leader's "
		    "start-up failed (trying again): %s", cause);
		w->warned_at = util_mono_ms();
	}
	free(cause);
}

/* A standby learns the leader's URLs from the masters table. */
static void
role_lookup(struct role_watch *w, uint64_t id)
{
	struct master *m = w->m;
	char api[256], agent[256];
	int rc;

	rc = store_master_urls(w->follow, w->leader, api, sizeof api, agent,
	    sizeof agent);
	if (rc != 1) {
		w->lookup_at = util_mono_ms() + ROLE_LOOKUP_AGAIN_MS;
		return;
	}
	w->urls_known = 1;
	snprintf(w->leader_agent, sizeof w->leader_agent, "%s", agent);
	role_set_leader_urls(m, api, agent);
	hub_set_leader(m->hub, 0, agent);
	log_info("role: standby; the leader is node %" PRIu64 " (%s), API %s, "
	    "agents %s", id, w->leader, api, agent);
}

static void
role_poll(struct role_watch *w)
{
	struct master *m = w->m;
	uint64_t id;
	char addr[128];
	int leads, deposed;

	role_ask(w, &id, addr, sizeof addr);
	leads = id != 0 && id == cluster_id(m->cluster);
	if (id == 0 && w->lost_at == 0)
		w->lost_at = util_mono_ms();
	else if (id != 0 && !leads)
		w->lost_at = 0;
	if (leads) {
		if (atomic_load(&m->role) != MASTER_LEADER)
			role_take_lead(w, id);
		goto row;
	}
	deposed = atomic_load(&m->role) == MASTER_LEADER;
	if (deposed) {
		/* The API first (it redirects from now), then the
		 * scheduler; whatever is in flight fails in the fenced
		 * store. The hub closes its agents below, naming the new
		 * leader when it is known by then. */
		atomic_store(&m->role, MASTER_STANDBY);
		sched_loop_set_active(m->sched, 0);
	}
	if (strcmp(addr, w->leader) != 0) {
		snprintf(w->leader, sizeof w->leader, "%s", addr);
		w->urls_known = 0;
		w->leader_agent[0] = '\0';
		w->lookup_at = 0;
		role_set_leader_urls(m, "", "");
		if (!deposed)
			hub_set_leader(m->hub, 0, NULL);
		if (id == 0)
			log_info("role: standby; no leader known (an "
			    "election?)");
	}
	if (id != 0 && !w->urls_known && util_mono_ms() >= w->lookup_at)
		role_lookup(w, id);
	if (deposed) {
		hub_set_leader(m->hub, 0, w->leader_agent);
		log_warn("role: this master's node no longer leads: standing "
		    "by (API redirects, agents refused with 4013, no "
		    "scheduling)");
	}
row:
	if (!w->row_written && util_mono_ms() >= w->row_at) {
		/* Through the leader; before the first leader migrated the
		 * table is missing: again later. */
		if (store_master_set(w->follow, cluster_address(m->cluster),
		    cluster_id(m->cluster), w->api, w->agent) == 0)
			w->row_written = 1;
		else
			w->row_at = util_mono_ms() + ROLE_ROW_AGAIN_MS;
	}
}

static void *
role_main(void *arg)
{
	struct role_watch *w = arg;
	struct timespec ts;
	int64_t next;

	pthread_mutex_lock(&w->lock);
	while (!w->stop) {
		pthread_mutex_unlock(&w->lock);
		next = util_mono_ms() + w->m->cfg.leader_poll_ms;
		role_poll(w);
		pthread_mutex_lock(&w->lock);
		while (!w->stop && util_mono_ms() < next) {
			int64_t left = next - util_mono_ms();

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += (long)(left % 1000) * 1000000L;
			ts.tv_sec += left / 1000 + ts.tv_nsec / 1000000000L;
			ts.tv_nsec %= 1000000000L;
			pthread_cond_timedwait(&w->cond, &w->lock, &ts);
		}
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

struct role_watch *
role_watch_start(struct master *m, role_lead_fn lead, char **cause)
{
	struct role_watch *w = xcalloc(1, sizeof *w);
	const char *addr = m->cfg.cluster_address;
	struct sdq_opts o = { .lazy = 1, .deadline_ms = ROLE_LOOKUP_MS };

	w->m = m;
	w->lead = lead;
	w->conn.fd = -1;
	role_own_urls(m, w->api, sizeof w->api, w->agent, sizeof w->agent);
	if ((w->follow = store_open_dqlite_opts(&addr, 1, MASTER_DQLITE_DB,
	    &o, cause)) == NULL) {
		free(w);
		return NULL;
	}
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	if (pthread_create(&w->thread, NULL, role_main, w) != 0) {
		xasprintf(cause, "cannot start the leadership watcher");
		store_close(w->follow);
		free(w);
		return NULL;
	}
	log_info("role: standby until this master's node leads (asked every "
	    "%d ms); this master's API %s, agents %s", m->cfg.leader_poll_ms,
	    w->api, w->agent);
	return w;
}

void
role_watch_stop(struct role_watch *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = 1;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	dq_conn_close(&w->conn);
	store_close(w->follow);
	/* The fenced store of this thread: master_store()'s key destructor
	 * ran when the thread ended. */
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	free(w);
}

void
role_stand_by(struct master *m)
{
	atomic_store(&m->role, MASTER_STANDBY);
	role_set_leader_urls(m, "", "");
	hub_set_leader(m->hub, 0, NULL);
	sched_loop_set_active(m->sched, 0);
}

/*
 * A planned stop of the leader (SIGTERM): stand by, then ask this
 * master's node to hand the lead over (TRANSFER to the voter raft picks),
 * so that another master leads within milliseconds instead of an election
 * timeout after this one is gone. After role_watch_stop().
 */
void
role_hand_over(struct master *m)
{
	const char *addr;
	struct dq_conf conf = { .addrs = &addr, .naddrs = 1,
	    .timeout_ms = 2000, .retries = 3, .retry_ms = 50,
	    .deadline_ms = 3000 };
	struct dq_client *cl;
	int64_t t0 = util_mono_ms();
	uint64_t id;
	char *why = NULL, *leader = NULL;
	struct dq_conn c = { .fd = -1 };

	/* A single master (no cluster) has nobody to hand over to. */
	if (m->cluster == NULL || atomic_load(&m->role) != MASTER_LEADER)
		return;
	addr = cluster_address(m->cluster);
	role_stand_by(m);
	/*
	 * New requests get 307s now; those already taken end here first
	 * (ROLE_DRAIN_MS at most): a write under way when the lead went
	 * elsewhere would fail on the fenced store, and the CLI, which
	 * never sends a write again, would show the error.
	 */
	while (atomic_load(&m->api_busy) > 0 &&
	    util_mono_ms() - t0 < ROLE_DRAIN_MS)
		usleep(5 * 1000);
	cl = dq_client_new(&conf);
	if (dq_client_transfer(cl, 0, &why) != 0) {
		log_warn("role: handing the lead over failed (the others elect "
		    "a leader once this master is gone): %s", why);
		free(why);
		dq_client_free(cl);
		return;
	}
	dq_client_free(cl);
	/*
	 * With no other voter reachable the node steps down all the same:
	 * then nobody leads, which the log says rather than naming node 0.
	 */
	if (dq_conn_open(&c, addr, 1000, &why) == 0 &&
	    dq_conn_leader(&c, &id, &leader, &why) == 0 && id == 0)
		log_warn("role: gave the lead up in %lld ms, but no other "
		    "master leads (none reachable): the API stays down until "
		    "a majority of masters runs", (long long)(util_mono_ms() -
		    t0));
	else if (why == NULL)
		log_info("role: handed the lead over to node %" PRIu64 " (%s) "
		    "in %lld ms", id, leader, (long long)(util_mono_ms() - t0));
	else
		log_info("role: handed the lead over in %lld ms",
		    (long long)(util_mono_ms() - t0));
	free(why);
	free(leader);
	dq_conn_close(&c);
}
