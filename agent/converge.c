/*
 * converge.c - make Docker match the desired set; report what is there.
 *
 * DESIGN: one converge thread owns its Docker client, the current desired
 * set, every per-instance record and the table of actions in flight;
 * nothing else touches them. The websocket thread posts desired frames
 * (text) and session starts under c->lock and signals c->cond; the pull
 * thread and the workers signal when a pull or an action ends. The thread
 * runs a pass on each wake-up and at least every poll interval
 * (CONVERGE_POLL_MS, 2 s: cheap, one list call), so exits are noticed
 * without the events stream.
 *
 * A pass (struct converge_pass): apply the results of finished actions
 * (workers.c) to the per-instance records; read what Docker shows
 * (observe.c: the containers labelled berth.node=<our id>, only those are
 * ever touched, and their inspects); match them to the desired set with
 * plan_compute(); hand the removals to the worker pool; decide for each
 * wanted instance with decide_instance() (pure, unit tested) and carry
 * out what it says: start, create (once the image is here: pulls run on
 * the pull thread), launch a wait_for_port probe. Then build the state
 * frame. It is sent when it differs from the last one sent, after a new
 * session, and at least every BERTH_RESYNC_INTERVAL_S. Before the first
 * desired frame arrives nothing is changed, only reported: an agent
 * restart must not remove what the master still wants.
 *
 * Actions in flight (inflight.h): results are drained before the list, so
 * an action whose result was applied is visible in the list, and one still
 * in flight is not planned again: an instance with an action in flight
 * gets no other create or start (no duplicate creates; a replacement's
 * create waits for the old container's removal), a container is not
 * removed twice, nor while a create/start of its instance runs. Only this
 * thread decides; workers execute and report back through their done
 * queue.
 *
 * Jobs (jobrun.h, docs/jobs.md): the desired frame's "jobs" are attempts
 * to run once, its "jobs_done" attempts whose containers stay. A pass
 * matches the node's job containers (label berth.attempt) to them after
 * the services and asks jobrun_decide(), which creates an attempt only
 * from a desired frame of the session open now (c->session_no, bumped by
 * every welcome; c->session_live, cleared when it ends): an agent that
 * lost its master starts no new attempt, since the master may have given
 * the task to another node meanwhile. Job actions go to the same workers
 * and the same in-flight table, keyed by attempt id.
 *
 * wait_for_port (portprobe.h): probes run on their own short threads
 * (setns() there, never here); this thread decides, launches and applies
 * results, and passes come every PORTPROBE_FAST_MS (later slower) while an
 * instance is starting.
 *
 * Retirement (converge_post_retire()): the node was removed, or its id
 * is another machine's; an empty desired set is applied without the
 * master, so every owned container is stopped and removed the usual way,
 * and a callback says when none is left. Foreign containers (foreign.h):
 * every BERTH_RESYNC_INTERVAL_S the grid's containers are listed, and
 * the master is asked about other node ids found there; those of a node
 * it says is gone are removed.
 *
 * Shutdown: converge_free() sets c->stop, an atomic_int because the
 * workers, the pull thread and every struct docker's curl progress
 * callback read it without a lock (docker.h), then joins this thread
 * before the workers and the pull thread.
 */
#include "agent/converge.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "agent/config.h"
#include "agent/conn.h"
#include "agent/decide.h"
#include "agent/netplane.h"
#include "agent/dns.h"
#include "agent/docker.h"
#include "agent/foreign.h"
#include "agent/health.h"
#include "agent/inflight.h"
#include "agent/jobrun.h"
#include "agent/nodeinfo.h"
#include "agent/observe.h"
#include "agent/plan.h"
#include "agent/portprobe.h"
#include "agent/pull.h"
#include "agent/spec.h"
#include "agent/workers.h"
#include "common/log.h"
#include "common/logfmt.h"
#include "common/proto.h"
#include "common/util.h"
#include "common/xmalloc.h"

#define CONVERGE_POLL_MS	2000	/* list containers this often */
#define CONVERGE_SOON_MS	500	/* after a change: look again soon */
#define CONVERGE_NET_RETRY_MS	1000	/* the grid network failed: again */
#define CONVERGE_PROBE_WAIT_MS	50	/* a pass waits this for its probes */

/*
 * A "starting" entry of the state frame that only its probes hold (not
 * its settle time): it says "running" if they answer in time.
 */
struct fixup {
	json_t		*item;		/* borrowed from the frame's array */
	int64_t		 service_id;	/* its instance */
	int64_t		 instance;
};

struct converge {
	const struct agent_config *cfg;	/* read-only settings */
	char		 node_id[PROTO_NODE_ID_LEN + 1]; /* our berth.node */
	struct conn	*conn;		/* where frames go */

	pthread_t	 thread;	/* the converge thread */
	int		 started;	/* thread was created */
	pthread_mutex_t	 lock;		/* guards the fields down to ncontainers */
	pthread_cond_t	 cond;		/* signalled on any of them, and stop */
	char		*desired_text;	/* newest desired frame not yet taken */
	uint64_t	 desired_session; /* session_no it came in */
	int		 kick;		/* run a pass now */
	int		 session;	/* new session: send state regardless */
	uint64_t	 session_no;	/* bumped by every welcome */
	int		 session_live;	/* that session is open */
	char		*docker_version; /* engine version, NULL if unknown */
	int		 ncontainers;	/* owned containers, last pass */
	char		*grid_posted;	/* grid of a new session, not taken */
	char		*status_text;	/* node_status frame not yet taken */
	char		*network_text;	/* network frame not yet taken */
	struct dns	*dns;		/* the names' server (docs/dns.md) */
	char		 dns_addr[16];	/* where it serves, "" nowhere */
	char		*dns_error;	/* its last failure, logged once */
	char		 peer_address[16]; /* underlay address, "" unknown */
	int		 peer_posted;	/* peer_address is new */
	char		*retire_why;	/* a retirement asked, not taken */
	converge_retired_fn *retire_cb;	/* ... its callback */
	void		*retire_arg;
	char		 new_id[PROTO_NODE_ID_LEN + 1]; /* identity to take,
							   "" if none */
	atomic_int	 stop;		/* set once at shutdown; read anywhere */

	/* Converge thread only. */
	struct docker	*docker;	/* engine client */
	struct observe	*observe;	/* list, inspect cache, image checks */
	struct pull	*pull;		/* pull thread */
	struct workers	*workers;	/* Docker action pool */
	struct portprobe *probes;	/* wait_for_port probe threads */
	struct netplane	*net;		/* the grid network's data plane */
	int64_t		 net_at;	/* mono ms it was last checked */
	struct hook_done *hooks_done;	/* oneshot hooks run (hooks.h) */
	struct spec	*gone;		/* instances no longer wanted whose
					   pre_stop hooks are still to run
					   (only those fields are set) */
	size_t		 ngone;
	int64_t		 probe_due;	/* ms to the next probe due, -1 none */
	struct inflight	 inflight;	/* actions handed to it, not yet back */
	struct spec	*specs;		/* current desired set */
	size_t		 nspecs;	/* entries in specs */
	int		 have_desired;	/* a desired frame has been applied */
	int64_t		 generation;	/* its generation */
	struct decide_rec *recs;	/* per wanted instance */
	size_t		 nrecs;		/* entries in recs */
	struct jobrun_spec *jobs;	/* unfinished attempts wanted here */
	size_t		 njobs;		/* entries in jobs */
	int64_t		*jobs_done;	/* finished attempts: keep, stop */
	size_t		 njobs_done;	/* entries in jobs_done */
	uint64_t	 applied_session; /* session_no of the desired set */
	struct jobrun_rec *jrecs;	/* per wanted attempt */
	size_t		 njrecs;	/* entries in jrecs */
	char		*last_state;	/* state frame last sent */
	int64_t		 last_state_at;	/* mono ms it was sent */
	int		 docker_down;	/* last list failed (log once) */
	char		*engine_error;	/* why, in words, while down */
	int		 owned_last;	/* containers owned, last pass */
	int		 retiring;	/* an empty set applied locally */
	converge_retired_fn *retired_cb; /* call when none is left */
	void		*retired_arg;
	char		*grid;		/* our grid's name (welcome), or NULL */
	struct foreign	 foreign;	/* other node ids on the engine */
	int64_t		 foreign_next;	/* mono ms of the next scan */
};

/* One pass's state, from the list to the state frame (converge_pass()). */
struct converge_pass {
	struct converge	*c;		/* whose pass */
	int64_t		 now;		/* mono ms when it began */
	struct observe_list list;	/* what Docker shows */
	struct plan	 plan;		/* plan_compute() on it */
	int		*stranger;	/* per listed: an instance's labels
					   under another name (decide_is_own) */
	json_t		*items;		/* entries of the state frame */
	json_t		*jitems;	/* its "jobs" entries */
	int		 live;		/* the desired set is of the open
					   session (jobs may be created) */
	struct fixup	*fix;		/* "starting" entries, nspecs room */
	size_t		 nfix;		/* entries in fix */
	int		 owned;		/* containers this node owns */
	int		 launched;	/* probes launched by this pass */
	int		 changed;	/* something moved: look again soon */
};

static void
converge_wake(void *arg)
{
	struct converge *c = arg;

	pthread_mutex_lock(&c->lock);
	c->kick = 1;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

struct converge *
converge_new(const struct agent_config *cfg, const char *node_id,
    struct conn *conn)
{
	struct converge *c = xcalloc(1, sizeof *c);
	pthread_condattr_t ca;

	c->ncontainers = -1;	/* unknown until the first pass */
	c->cfg = cfg;
	snprintf(c->node_id, sizeof c->node_id, "%s", node_id);
	c->conn = conn;
	pthread_mutex_init(&c->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cond, &ca);
	pthread_condattr_destroy(&ca);
	atomic_init(&c->stop, 0);
	c->docker = docker_new(cfg->docker_socket, &c->stop);
	c->observe = observe_new(c->docker, node_id,
	    (int64_t)cfg->resync_interval_s * 1000);
	c->pull = pull_new(cfg->docker_socket, &c->stop, converge_wake, c);
	c->workers = workers_new(cfg->docker_socket, cfg->docker_concurrency,
	    &c->stop, converge_wake, c);
	c->probes = portprobe_new(converge_wake, c);
	c->net = netplane_new(cfg, c->docker);
	c->dns = dns_new();
	c->hooks_done = hook_done_load(cfg->data_dir);
	foreign_init(&c->foreign, (int64_t)cfg->resync_interval_s * 3000);
	return c;
}

void
converge_post_desired(struct converge *c, const char *text, size_t len)
{
	pthread_mutex_lock(&c->lock);
	free(c->desired_text);
	c->desired_text = xstrndup(text, len);
	c->desired_session = c->session_no;
	c->kick = 1;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

void
converge_post_session(struct converge *c, const char *grid)
{
	pthread_mutex_lock(&c->lock);
	c->session_no++;
	c->session_live = 1;
	if (grid != NULL) {
		free(c->grid_posted);
		c->grid_posted = xstrdup(grid);
	}
	c->session = 1;
	c->kick = 1;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

void
converge_post_session_end(struct converge *c)
{
	pthread_mutex_lock(&c->lock);
	c->session_live = 0;
	pthread_mutex_unlock(&c->lock);
}

void
converge_post_node_status(struct converge *c, const char *text, size_t len)
{
	pthread_mutex_lock(&c->lock);
	free(c->status_text);
	c->status_text = xstrndup(text, len);
	c->kick = 1;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

void
converge_post_network(struct converge *c, const char *text, size_t len)
{
	pthread_mutex_lock(&c->lock);
	free(c->network_text);
	c->network_text = xstrndup(text, len);
	c->kick = 1;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

void
converge_post_names(struct converge *c, json_t *frame)
{
	char *cause = NULL, esc[512];

	/* The table is swapped under the server's own lock. */
	if (dns_set_names(c->dns, frame, &cause) != 0) {
		log_warn("dns: a names frame refused, the last kept: %s",
		    log_escape(esc, sizeof esc, cause));
		free(cause);
	}
}

/*
 * Converge thread: serve names on the grid network's gateway while there
 * is one (it is the containers' DNS server), and move with it.
 */
static void
converge_dns(struct converge *c)
{
	char gw[16], *cause = NULL, esc[512];

	if (netplane_gateway(c->net, gw) != 0)
		gw[0] = '\0';
	if (strcmp(gw, c->dns_addr) == 0)
		return;
	if (c->dns_addr[0] != '\0') {
		dns_stop(c->dns);
		log_info("dns: no longer serving on %s", c->dns_addr);
		c->dns_addr[0] = '\0';
	}
	if (gw[0] == '\0')
		return;
	if (dns_start(c->dns, gw, 53, c->cfg->resolv_conf, &cause) != 0) {
		if (c->dns_error == NULL || strcmp(c->dns_error, cause) != 0)
			log_error("dns: cannot serve on %s:53: %s", gw,
			    log_escape(esc, sizeof esc, cause));
		free(c->dns_error);
		c->dns_error = cause;
		return;
	}
	free(c->dns_error);
	c->dns_error = NULL;
	snprintf(c->dns_addr, sizeof c->dns_addr, "%s", gw);
	log_info("dns: serving the grid's names on %s:53", gw);
}

void
converge_post_peer_address(struct converge *c, const char *addr)
{
	pthread_mutex_lock(&c->lock);
	snprintf(c->peer_address, sizeof c->peer_address, "%s",
	    addr != NULL ? addr : "");
	c->peer_posted = 1;
	c->kick = 1;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

void
converge_post_retire(struct converge *c, const char *why,
    converge_retired_fn *done, void *arg)
{
	pthread_mutex_lock(&c->lock);
	free(c->retire_why);
	c->retire_why = xstrdup(why);
	c->retire_cb = done;
	c->retire_arg = arg;
	c->kick = 1;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

void
converge_set_node_id(struct converge *c, const char *node_id)
{
	pthread_mutex_lock(&c->lock);
	snprintf(c->new_id, sizeof c->new_id, "%s", node_id);
	c->kick = 1;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

char *
converge_docker_version(struct converge *c)
{
	char *v;

	pthread_mutex_lock(&c->lock);
	v = c->docker_version ? xstrdup(c->docker_version) : NULL;
	pthread_mutex_unlock(&c->lock);
	return v;
}

int
converge_ncontainers(struct converge *c)
{
	int n;

	pthread_mutex_lock(&c->lock);
	n = c->ncontainers;
	pthread_mutex_unlock(&c->lock);
	return n;
}

/* ---- per-instance records ------------------------------------------------- */

/* The record of a wanted instance, or NULL (converge_rec() adds). */
static struct decide_rec *
converge_rec_find(struct converge *c, int64_t service_id, int64_t instance)
{
	size_t i;

	for (i = 0; i < c->nrecs; i++) {
		if (c->recs[i].service_id == service_id &&
		    c->recs[i].instance == instance)
			return &c->recs[i];
	}
	return NULL;
}

/* The record of spec s, made if new; marked wanted in this pass. */
static struct decide_rec *
converge_rec(struct converge *c, const struct spec *s)
{
	struct decide_rec *r = converge_rec_find(c, s->service_id,
	    s->instance);

	if (r == NULL) {
		c->recs = xreallocarray(c->recs, c->nrecs + 1,
		    sizeof *c->recs);
		r = &c->recs[c->nrecs++];
		decide_rec_init(r, s->service_id, s->instance, s->rev);
	}
	r->seen = 1;
	return r;
}

/* Forget the records of instances no longer wanted. */
static void
converge_recs_prune(struct converge *c)
{
	size_t i = 0;

	while (i < c->nrecs) {
		if (!c->recs[i].seen) {
			decide_rec_clear(&c->recs[i]);
			c->recs[i] = c->recs[--c->nrecs];
			continue;
		}
		c->recs[i++].seen = 0;
	}
}

/* ---- actions handed to the workers ---------------------------------------- */

/* Record an action as in flight and hand it to the pool (takes job). */
static void
converge_submit(struct converge *c, struct work *job)
{
	if (job->attempt > 0)
		job->seq = inflight_add_job(&c->inflight, job->kind,
		    job->attempt, job->id);
	else
		job->seq = inflight_add(&c->inflight, job->kind, job->labelled,
		    job->service_id, job->instance, job->id);
	workers_submit(c->workers, job);
}

/*
 * The hooks of s of types a and b (b may be a again) that job is to run:
 * a oneshot hook already run for this instance is left out.
 */
static void
converge_hooks(struct converge *c, const struct spec *s, struct work *job,
    enum hook_type a, enum hook_type b)
{
	size_t i;

	for (i = 0; s != NULL && i < s->nhooks; i++) {
		if (s->hooks[i].type != a && s->hooks[i].type != b)
			continue;
		if (s->hooks[i].oneshot && hook_done_has(c->hooks_done,
		    s->service_id, s->instance, &s->hooks[i]))
			continue;
		job->hooks = xreallocarray(job->hooks, job->nhooks + 1,
		    sizeof *job->hooks);
		job->hooks[job->nhooks].type = s->hooks[i].type;
		job->hooks[job->nhooks].name = xstrdup(s->hooks[i].name);
		job->hooks[job->nhooks].cmd = xstrdup(s->hooks[i].cmd);
		job->hooks[job->nhooks].oneshot = s->hooks[i].oneshot;
		job->nhooks++;
	}
}

/* The wanted instance (service_id, instance), or NULL. */
static const struct spec *
converge_spec_find(struct converge *c, int64_t service_id, int64_t instance)
{
	size_t i;

	for (i = 0; i < c->nspecs; i++)
		if (c->specs[i].service_id == service_id &&
		    c->specs[i].instance == instance)
			return &c->specs[i];
	return NULL;
}

/*
 * A new desired set drops instances: keep their pre_stop hooks for the
 * removal of their containers (a service removed, scaled down, moved).
 * At most CONVERGE_GONE_MAX are kept, the newest.
 */
#define CONVERGE_GONE_MAX	1024

static void
converge_keep_pre_stop(struct converge *c, const struct spec *specs, size_t n)
{
	const struct spec *o;
	struct spec *g;
	size_t i, j;

	for (i = 0; i < c->nspecs; i++) {
		o = &c->specs[i];
		for (j = 0; j < n; j++)
			if (specs[j].service_id == o->service_id &&
			    specs[j].instance == o->instance)
				break;
		if (j < n)
			continue;
		for (j = 0; j < o->nhooks; j++)
			if (o->hooks[j].type == HOOK_PRE_STOP)
				break;
		if (j == o->nhooks)
			continue;
		if (c->ngone == CONVERGE_GONE_MAX) {
			spec_clear(&c->gone[0]);
			memmove(c->gone, c->gone + 1, (c->ngone - 1) *
			    sizeof *c->gone);
			c->ngone--;
		}
		c->gone = xreallocarray(c->gone, c->ngone + 1,
		    sizeof *c->gone);
		g = &c->gone[c->ngone++];
		memset(g, 0, sizeof *g);
		g->service_id = o->service_id;
		g->instance = o->instance;
		g->nhooks = hooks_pick(o->hooks, o->nhooks, HOOK_PRE_STOP,
		    &g->hooks);
	}
}

/* The pre_stop hooks kept for an instance no longer wanted (taken). */
static void
converge_gone_hooks(struct converge *c, int64_t service_id,
    int64_t instance, struct work *job)
{
	size_t i;

	for (i = 0; i < c->ngone; i++) {
		if (c->gone[i].service_id != service_id ||
		    c->gone[i].instance != instance)
			continue;
		converge_hooks(c, &c->gone[i], job, HOOK_PRE_STOP,
		    HOOK_PRE_STOP);
		spec_clear(&c->gone[i]);
		memmove(c->gone + i, c->gone + i + 1, (c->ngone - i - 1) *
		    sizeof *c->gone);
		c->ngone--;
		return;
	}
}

/* Stop (with its own grace) and remove one listed container. */
static void
converge_remove(struct converge *c, const struct observe_container *l)
{
	struct work *job = xcalloc(1, sizeof *job);
	char esc[512];

	log_info("removing %s (%.12s)", log_escape(esc, sizeof esc, l->name),
	    l->id);
	job->kind = INFLIGHT_REMOVE;
	job->labelled = l->a.labelled;
	job->service_id = l->a.service_id;
	job->instance = l->a.instance;
	job->rev = l->a.rev;
	job->name = xstrdup(l->name);
	job->id = xstrdup(l->id);
	job->stop_first = l->a.state == PLAN_ST_RUNNING ||
	    l->a.state == PLAN_ST_PAUSED || l->a.state == PLAN_ST_RESTARTING;
	/* pre_stop of a running instance: its spec's, or the one it had. */
	if (l->a.labelled && l->a.state == PLAN_ST_RUNNING) {
		const struct spec *s = converge_spec_find(c, l->a.service_id,
		    l->a.instance);

		if (s != NULL)
			converge_hooks(c, s, job, HOOK_PRE_STOP,
			    HOOK_PRE_STOP);
		else
			converge_gone_hooks(c, l->a.service_id,
			    l->a.instance, job);
	}
	converge_submit(c, job);
}

/* Start a listed container of a wanted instance. */
static void
converge_start_one(struct converge *c, const struct spec *s,
    const struct observe_container *m)
{
	struct work *job = xcalloc(1, sizeof *job);
	char esc[512];

	log_info("starting %s (%s)", log_escape(esc, sizeof esc, s->name),
	    m->a.state == PLAN_ST_CREATED ? "created" : "stopped");
	job->kind = INFLIGHT_START;
	job->labelled = 1;
	job->service_id = s->service_id;
	job->instance = s->instance;
	job->rev = s->rev;
	job->name = xstrdup(s->name);
	job->id = xstrdup(m->id);
	job->was_exited = m->a.state == PLAN_ST_EXITED;
	converge_hooks(c, s, job, HOOK_POST_START, HOOK_POST_START);
	converge_submit(c, job);
}

/* Stop (with its own grace) a container whose service is stopped. */
static void
converge_stop_one(struct converge *c, const struct spec *s,
    const struct observe_container *m)
{
	struct work *job = xcalloc(1, sizeof *job);
	char esc[512];

	log_info("stopping %s (service stopped)",
	    log_escape(esc, sizeof esc, s->name));
	job->kind = INFLIGHT_STOP;
	job->labelled = 1;
	job->service_id = s->service_id;
	job->instance = s->instance;
	job->rev = s->rev;
	job->name = xstrdup(s->name);
	job->id = xstrdup(m->id);
	converge_hooks(c, s, job, HOOK_PRE_STOP, HOOK_PRE_STOP);
	converge_submit(c, job);
}

/* Restart a container whose health probes failed (decide.c said so). */
static void
converge_restart_one(struct converge *c, const struct spec *s,
    const struct observe_container *m, const char *why)
{
	struct work *job = xcalloc(1, sizeof *job);
	char esc[512], esc2[512];

	log_warn("restarting %s: unhealthy, %d health probes failed in a row "
	    "(last: %s)", log_escape(esc, sizeof esc, s->name),
	    HEALTH_FAILS_RESTART, log_escape(esc2, sizeof esc2,
	    why != NULL ? why : "?"));
	job->kind = INFLIGHT_RESTART;
	job->labelled = 1;
	job->service_id = s->service_id;
	job->instance = s->instance;
	job->rev = s->rev;
	job->name = xstrdup(s->name);
	job->id = xstrdup(m->id);
	converge_hooks(c, s, job, HOOK_PRE_STOP, HOOK_POST_START);
	converge_submit(c, job);
}

/* A create body with the grid network put in, unless it chose another. */
static char *
converge_create_body(struct converge *c, const char *body)
{
	char *out = netplane_attach(c->net, body);

	return out != NULL ? out : xstrdup(body);
}

/* Create and start one missing instance whose image is here. */
static void
converge_create(struct converge *c, const struct spec *s)
{
	struct work *job = xcalloc(1, sizeof *job);
	char esc[512];

	log_info("creating %s (service %lld instance %lld rev %lld)",
	    log_escape(esc, sizeof esc, s->name), (long long)s->service_id,
	    (long long)s->instance, (long long)s->rev);
	job->kind = INFLIGHT_CREATE;
	job->labelled = 1;
	job->service_id = s->service_id;
	job->instance = s->instance;
	job->rev = s->rev;
	job->name = xstrdup(s->name);
	job->body = converge_create_body(c, s->body);
	converge_hooks(c, s, job, HOOK_PRE_START, HOOK_POST_START);
	converge_submit(c, job);
}

/* ---- results of the workers and the probes ---------------------------------- */

static void	converge_due(struct converge *c, int64_t ms);

/*
 * Why a container of create body must not be made yet, or NULL: it would
 * join the grid network, which is not in place (made now, it would stay
 * on Docker's default bridge). A pass is due when the agent tries again.
 */
static const char *
converge_net_hold(struct converge *c, const char *body)
{
	const char *why = netplane_hold(c->net);

	if (why == NULL || !netplane_joins(body))
		return NULL;
	converge_due(c, CONVERGE_NET_RETRY_MS);
	return why;
}

/* ---- job attempts ---------------------------------------------------------- */

static struct jobrun_rec *
converge_jrec_find(struct converge *c, int64_t attempt)
{
	size_t i;

	for (i = 0; i < c->njrecs; i++)
		if (c->jrecs[i].attempt == attempt)
			return &c->jrecs[i];
	return NULL;
}

static struct jobrun_rec *
converge_jrec(struct converge *c, int64_t attempt)
{
	struct jobrun_rec *r = converge_jrec_find(c, attempt);

	if (r == NULL) {
		c->jrecs = xreallocarray(c->jrecs, c->njrecs + 1,
		    sizeof *c->jrecs);
		r = &c->jrecs[c->njrecs++];
		memset(r, 0, sizeof *r);
		r->attempt = attempt;
	}
	r->seen = 1;
	return r;
}

static void
converge_jrecs_prune(struct converge *c)
{
	size_t i = 0;

	while (i < c->njrecs) {
		if (!c->jrecs[i].seen) {
			jobrun_rec_clear(&c->jrecs[i]);
			c->jrecs[i] = c->jrecs[--c->njrecs];
			continue;
		}
		c->jrecs[i++].seen = 0;
	}
}

/* Hand a job attempt's action to the workers. */
static void
converge_job_act(struct converge *c, enum inflight_kind kind,
    const struct jobrun_spec *s, int64_t attempt, const char *name,
    const char *id)
{
	struct work *job = xcalloc(1, sizeof *job);
	char esc[512];

	log_info("%s job %s (attempt %lld)", kind == INFLIGHT_CREATE ?
	    "creating" : kind == INFLIGHT_START ? "starting" : "stopping",
	    log_escape(esc, sizeof esc, name), (long long)attempt);
	job->kind = kind;
	job->attempt = attempt;
	job->name = xstrdup(name);
	/* The grid network, as a service's container: names reach it. */
	if (kind == INFLIGHT_CREATE)
		job->body = converge_create_body(c, s->body);
	if (id != NULL)
		job->id = xstrdup(id);
	converge_submit(c, job);
}

/* A job attempt's action ended. */
static void
converge_job_result(struct converge *c, struct work *job)
{
	struct jobrun_rec *r = converge_jrec_find(c, job->attempt);
	char esc[512];

	if (job->rc != 0 && job->rc != WORK_NO_IMAGE)
		log_warn("job %s: %s", log_escape(esc, sizeof esc, job->name),
		    job->cause != NULL ? job->cause : "failed");
	if (r == NULL || job->kind == INFLIGHT_STOP)
		return;
	/*
	 * No answer: the engine may have created or started it, or not.
	 * Not a failure of the attempt: the next pass lists what is there
	 * (a second create of the same name is refused; a start of a
	 * container that runs already is a no-op).
	 */
	if (job->rc == WORK_UNCERTAIN) {
		if (job->created)
			r->created = 1;
		return;
	}
	if (job->kind == INFLIGHT_CREATE) {
		if (job->created || job->rc == 0)
			r->created = 1;
		/* No image (gone since the check): the next pass pulls it;
		 * the name in use: the container exists, the list shows it. */
		if (job->rc == WORK_NO_IMAGE || (job->rc != 0 &&
		    job->cause != NULL &&
		    strstr(job->cause, "is already in use") != NULL))
			return;
	}
	if (job->rc != 0) {
		free(r->error);
		r->error = job->cause != NULL ? job->cause :
		    xstrdup("the engine refused it");
		job->cause = NULL;
	}
}

/* A job's container, listed, by attempt; NULL if none. */
static const struct observe_container *
converge_job_container(const struct observe_list *l, int64_t attempt)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->c[i].a.attempt == attempt)
			return &l->c[i];
	return NULL;
}

static void
converge_job_report(struct converge_pass *p, const struct jobrun_spec *s,
    const struct observe_container *m, const struct jobrun_out *out)
{
	json_t *o = json_pack("{s:I, s:s}", "attempt", (json_int_t)s->attempt,
	    "state", jobrun_state_name(out->state));

	if (m != NULL)
		json_object_set_new(o, "container_id", json_string(m->id));
	if (out->state == JOBRUN_ST_EXITED) {
		json_object_set_new(o, "exit_code", out->has_exit ?
		    json_integer(out->exit_code) : json_null());
		json_object_set_new(o, "oom_killed",
		    json_boolean(out->oom_killed));
		json_object_set_new(o, "timed_out",
		    json_boolean(out->timed_out));
	}
	if (out->error != NULL)
		json_object_set_new(o, "error", json_string(out->error));
	json_array_append_new(p->jitems, o);
}

/* Decide for every wanted attempt and every job container listed. */
static void
converge_pass_jobs(struct converge_pass *p)
{
	struct converge *c = p->c;
	const struct observe_container *m;
	const struct observe_inspect *ins;
	const struct jobrun_spec *s;
	struct jobrun_facts f;
	struct jobrun_out out;
	struct jobrun_rec *r;
	enum pull_status pst;
	char *cause;
	size_t i, k;
	int rc;

	f.live = p->live;
	f.now_ms = util_now_ms();
	for (i = 0; i < c->njobs; i++) {
		s = &c->jobs[i];
		r = converge_jrec(c, s->attempt);
		m = converge_job_container(&p->list, s->attempt);
		ins = m != NULL && jobrun_needs_inspect(s, m) ?
		    observe_inspect(c->observe, m, p->now) : NULL;
		f.busy = inflight_attempt_busy(&c->inflight, s->attempt);
		jobrun_decide(s, 0, m, ins, r, &f, &out);
		if (out.action == JOBRUN_CREATE) {
			cause = NULL;
			pst = PULL_PULLING;
			rc = observe_image(c->observe, s->image, &cause);
			if (rc == 0) {
				free(cause);
				cause = NULL;
				pst = pull_want(c->pull, s->image, p->now,
				    &cause);
			}
			jobrun_image(r, rc, pst, cause, &out);
		}
		/* Pending until the grid network is in place. */
		if (out.action == JOBRUN_CREATE &&
		    converge_net_hold(c, s->body) != NULL)
			out.action = JOBRUN_WAIT;
		if (out.due >= 0)
			converge_due(c, out.due);
		switch (out.action) {
		case JOBRUN_CREATE:
			converge_job_act(c, INFLIGHT_CREATE, s, s->attempt,
			    s->name, NULL);
			p->changed = 1;
			break;
		case JOBRUN_START:
			converge_job_act(c, INFLIGHT_START, s, s->attempt,
			    s->name, m->id);
			p->changed = 1;
			break;
		case JOBRUN_STOP:
			converge_job_act(c, INFLIGHT_STOP, s, s->attempt,
			    s->name, m->id);
			observe_stale(c->observe, m->id);
			p->changed = 1;
			break;
		default:
			break;
		}
		if (out.report)
			converge_job_report(p, s, m, &out);
	}
	/* Job containers of finished attempts stay (stopped); others go. */
	for (i = 0; i < p->list.n; i++) {
		m = &p->list.c[i];
		if (m->a.attempt == 0)
			continue;
		p->owned++;
		for (k = 0; k < c->njobs; k++)
			if (c->jobs[k].attempt == m->a.attempt)
				break;
		if (k < c->njobs)
			continue;
		for (k = 0; k < c->njobs_done; k++)
			if (c->jobs_done[k] == m->a.attempt)
				break;
		if (k < c->njobs_done) {
			f.busy = inflight_attempt_busy(&c->inflight,
			    m->a.attempt);
			jobrun_decide(NULL, 1, m, NULL, NULL, &f, &out);
			if (out.action == JOBRUN_STOP) {
				converge_job_act(c, INFLIGHT_STOP, NULL,
				    m->a.attempt, m->name, m->id);
				observe_stale(c->observe, m->id);
			}
			continue;
		}
		if (!inflight_attempt_busy(&c->inflight, m->a.attempt) &&
		    inflight_may_remove(&c->inflight, 0, 0, 0, m->id)) {
			converge_remove(c, m);
			p->changed = 1;
		}
	}
	converge_jrecs_prune(c);
}

/*
 * The hooks an action ran: each logged, a oneshot one marked as run, the
 * last kept in the instance's record for the state frame.
 */
static void
converge_hook_runs(struct converge *c, struct work *job, struct decide_rec *r)
{
	struct hook_run *run;
	char esc[512], esc2[1024], *why;
	size_t i;

	for (i = 0; i < job->nruns; i++) {
		run = &job->runs[i];
		if (run->ok)
			log_info("%s: %s hook %s: exit code 0",
			    log_escape(esc, sizeof esc, job->name),
			    hook_type_name(run->type), log_escape(esc2,
			    sizeof esc2, run->name));
		else {
			why = hook_run_failure(run);
			log_warn("%s: %s", log_escape(esc, sizeof esc,
			    job->name), log_escape(esc2, sizeof esc2, why));
			free(why);
		}
		if (run->oneshot && job->labelled)
			hook_done_add(c->hooks_done, job->service_id,
			    job->instance, run->type, run->name);
	}
	/* The last HOOK_REPORT_MAX of them go in the state frame. */
	if (r != NULL && job->nruns > 0)
		decide_rec_hook_runs(r, job->runs + (job->nruns >
		    HOOK_REPORT_MAX ? job->nruns - HOOK_REPORT_MAX : 0),
		    job->nruns > HOOK_REPORT_MAX ? HOOK_REPORT_MAX :
		    job->nruns);
}

/* Apply one finished action to the record of its instance. */
static void
converge_result(struct converge *c, struct work *job, int64_t now)
{
	struct decide_rec *r = NULL;
	char esc[512];

	if (job->attempt > 0) {
		converge_job_result(c, job);
		return;
	}

	if (job->labelled) {
		r = converge_rec_find(c, job->service_id, job->instance);
		if (r != NULL && r->rev != job->rev)
			r = NULL;	/* counters are for another rev now */
	}
	converge_hook_runs(c, job, r);
	if (job->rc != 0 && job->rc != WORK_NO_IMAGE)
		log_warn("%s: %s%s", log_escape(esc, sizeof esc, job->name),
		    job->cause != NULL ? job->cause : "failed",
		    job->rc == WORK_NAME_TAKEN && (job->holder_node == NULL ||
		    strcmp(job->holder_node, c->node_id) != 0) ? " (held by a "
		    "container that is not this node's: not removing it)" : "");
	switch (job->kind) {
	case INFLIGHT_CREATE:
		/* No image (it went away since the check): the next pass
		 * finds it missing and queues a pull. */
		if (r == NULL || job->rc == WORK_NO_IMAGE)
			break;
		if (job->rc == WORK_NAME_TAKEN) {
			/* Ours on its way out (look again soon), or a
			 * stranger's (an error, with the backoff). */
			decide_rec_name_taken(r, job->holder_node != NULL &&
			    strcmp(job->holder_node, c->node_id) == 0 ?
			    DECIDE_HOLDER_OURS : DECIDE_HOLDER_STRANGER,
			    job->name, job->holder_id, job->cause, now);
			job->cause = NULL;
			break;
		}
		if (job->rc != 0) {
			decide_rec_failed(r, job->cause, now);
			job->cause = NULL;
			break;
		}
		log_debug("created and started %s (%.12s)",
		    log_escape(esc, sizeof esc, job->name), job->id);
		decide_rec_created(r);
		break;
	case INFLIGHT_START:
		if (r == NULL)
			break;
		if (job->rc != 0) {
			decide_rec_failed(r, job->cause, now);
			job->cause = NULL;
			break;
		}
		decide_rec_started(r, job->was_exited, now);
		break;
	case INFLIGHT_REMOVE:
		if (job->rc == 0)
			log_debug("removed %s (%.12s)",
			    log_escape(esc, sizeof esc, job->name), job->id);
		break;
	case INFLIGHT_STOP:
		/* A failed stop is tried again by the next pass. */
		if (job->rc == 0)
			log_debug("stopped %s (%.12s)",
			    log_escape(esc, sizeof esc, job->name), job->id);
		break;
	case INFLIGHT_RESTART:
		/* Failed: its probes go on, and fail it again. */
		if (r != NULL)
			decide_rec_health_restarted(r, job->rc == 0 ||
			    job->hook_failed);
		if (r != NULL && job->hook_failed) {
			decide_rec_failed(r, job->cause, now);
			job->cause = NULL;
		}
		if (job->rc == 0)
			log_info("restarted %s (%.12s)",
			    log_escape(esc, sizeof esc, job->name), job->id);
		break;
	}
}

/* Apply every finished action; how many there were. */
static int
converge_results(struct converge *c, int64_t now)
{
	struct work *job;
	int n = 0;

	while ((job = workers_take(c->workers)) != NULL) {
		inflight_done(&c->inflight, job->seq);
		converge_result(c, job, now);
		work_free(job);
		n++;
	}
	return n;
}

/* A finished health probe: its verdict, and a restart when it is due. */
static void
converge_health_result(struct converge *c, struct decide_rec *r,
    struct portprobe_job *job)
{
	enum health_status was = r->health.status;
	char esc[512];
	int restart;

	if (job->cause != NULL && job->why == NULL) {
		job->why = job->cause;		/* could not probe at all */
		job->cause = NULL;
	}
	restart = health_result(&r->health, job->key, job->ok, job->why);
	job->why = NULL;			/* taken */
	if (r->health.status != was && r->health.status == HEALTH_HEALTHY)
		log_info("%.12s: healthy (service %lld instance %lld)",
		    job->container_id, (long long)job->service_id,
		    (long long)job->instance);
	else if (r->health.status == HEALTH_UNHEALTHY && r->health.fails == 1)
		log_warn("%.12s: unhealthy (service %lld instance %lld): %s",
		    job->container_id, (long long)job->service_id,
		    (long long)job->instance, log_escape(esc, sizeof esc,
		    r->health.error));
	if (restart)
		converge_due(c, 1);		/* decide.c restarts it */
}

/* Apply finished wait_for_port probes to the records of their instances. */
static void
converge_probe_results(struct converge *c)
{
	struct portprobe_job *job;
	struct decide_rec *r;
	char esc[512];

	while ((job = portprobe_take(c->probes)) != NULL) {
		/* Exited or restarted since its inspect: look again. */
		if (job->gone)
			observe_stale(c->observe, job->container_id);
		r = converge_rec_find(c, job->service_id, job->instance);
		if (r == NULL) {
			portprobe_job_free(job);
			continue;
		}
		if (job->health != NULL) {
			converge_health_result(c, r, job);
			portprobe_job_free(job);
			continue;
		}
		if (job->ok && !r->probe.passed && r->probe.key != NULL &&
		    strcmp(r->probe.key, job->key) == 0)
			log_info("%.12s: port %d answers (service %lld "
			    "instance %lld)", job->container_id,
			    job->port, (long long)job->service_id,
			    (long long)job->instance);
		/* Probing is impossible (not root?): say so once. */
		if (portprobe_result(&r->probe, job->key, job->ok,
		    job->cause))
			log_warn("%.12s: %s", job->container_id,
			    log_escape(esc, sizeof esc, r->probe.error));
		job->cause = NULL;	/* taken */
		portprobe_job_free(job);
	}
}

static void
converge_due(struct converge *c, int64_t ms)
{
	if (c->probe_due < 0 || ms < c->probe_due)
		c->probe_due = ms;
}

/* Launch the wait_for_port probe decide_instance() asked for. */
static void
converge_probe(struct converge_pass *p, const struct spec *s,
    const struct observe_container *m, struct decide_rec *r,
    struct decide_out *out)
{
	struct portprobe_job *job = xcalloc(1, sizeof *job);

	job->service_id = s->service_id;
	job->instance = s->instance;
	job->container_id = xstrdup(m->id);
	job->key = out->probe_key;
	out->probe_key = NULL;
	job->pid = out->probe_pid;
	job->port = s->wait_for_port;
	if (portprobe_launch(p->c->probes, job) == 0) {
		log_debug("%.12s: probing port %d", m->id, s->wait_for_port);
		portprobe_launched(&r->probe, p->now);
		p->launched++;
	} else {	/* PORTPROBE_MAX at once: the next pass */
		portprobe_job_free(job);
		converge_due(p->c, PORTPROBE_FAST_MS);
	}
}

/* Launch the health probe decide_instance() asked for. */
static void
converge_health_probe(struct converge_pass *p, const struct spec *s,
    const struct observe_container *m, struct decide_rec *r,
    struct decide_out *out)
{
	struct portprobe_job *job = xcalloc(1, sizeof *job);

	job->service_id = s->service_id;
	job->instance = s->instance;
	job->container_id = xstrdup(m->id);
	job->key = out->health_key;
	out->health_key = NULL;
	job->pid = out->health_pid;
	job->port = s->health.port;
	job->health = xcalloc(1, sizeof *job->health);
	*job->health = s->health;
	job->health->uri = xstrdup(s->health.uri);
	if (out->health_addr != NULL)
		job->addr = xstrdup(out->health_addr);
	if (portprobe_launch(p->c->probes, job) == 0) {
		log_debug("%.12s: health probe %s %s:%d", m->id,
		    s->health.http ? "http" : "tcp",
		    job->addr != NULL ? job->addr : "127.0.0.1", job->port);
		health_launched(&r->health, p->now);
	} else {	/* PORTPROBE_MAX at once: the next pass */
		portprobe_job_free(job);
		converge_due(p->c, PORTPROBE_FAST_MS);
	}
}

/* ---- the pass ----------------------------------------------------------------- */

/* One entry of the state frame; output: last lines before an exit. */
static json_t *
converge_report(json_t *items, const struct plan_actual *who,
    const char *name, const char *cid, enum decide_state st, int has_exit,
    int exit_code, const char *error, int restarts, const char *output)
{
	json_t *e = json_pack("{s:I, s:I, s:I, s:s, s:s?, s:s, s:o, s:s?,"
	    " s:i}", "service_id", (json_int_t)who->service_id,
	    "instance", (json_int_t)who->instance, "rev", (json_int_t)who->rev,
	    "name", name, "container_id", cid, "state", decide_state_name(st),
	    "exit_code", has_exit ? json_integer(exit_code) : json_null(),
	    "error", error, "restarts", restarts);

	if (output != NULL)
		json_object_set_new(e, "last_output", json_string(output));
	json_array_append_new(items, e);
	return e;
}

/*
 * The health of an instance with a health_check (docs/protocol.md):
 * "health", its last failed probe's reason and the restarts it caused.
 */
static void
converge_report_health(json_t *e, const struct decide_out *out)
{
	size_t len;

	if (out->health == HEALTH_NONE)
		return;
	json_object_set_new(e, "health", json_string(health_status_name(
	    out->health)));
	if (out->health_error != NULL) {
		/* At most HEALTH_ERROR_MAX bytes, cut between characters. */
		len = strlen(out->health_error);
		len = logfmt_utf8_valid(out->health_error, len);
		if (len > HEALTH_ERROR_MAX)
			len = logfmt_utf8_cut(out->health_error, len,
			    HEALTH_ERROR_MAX);
		json_object_set_new(e, "health_error",
		    json_stringn(out->health_error, len));
	}
	json_object_set_new(e, "health_restarts",
	    json_integer(out->health_restarts));
}

/* List what Docker shows; -1 (nothing else to do) when it does not. */
static int
converge_pass_list(struct converge_pass *p)
{
	struct converge *c = p->c;
	char *cause = NULL, esc[512];

	if (observe_list(c->observe, &p->list, &cause) != 0) {
		if (!c->docker_down)
			log_warn("docker: %s; retrying",
			    log_escape(esc, sizeof esc, cause));
		c->docker_down = 1;
		free(c->engine_error);
		c->engine_error = cause;
		return -1;
	}
	if (c->docker_down)
		log_info("docker: answering again");
	c->docker_down = 0;
	free(c->engine_error);
	c->engine_error = NULL;
	return 0;
}

/*
 * A listed container with a wanted instance's labels but not its name is
 * a stranger (decide_is_own()): to the plan it is nobody's, so it is
 * removed and never kept in the instance's place.
 */
static void
converge_pass_stranger(struct converge_pass *p, size_t j,
    struct plan_actual *a)
{
	const struct observe_container *l = &p->list.c[j];
	struct converge *c = p->c;
	char esc[512];
	size_t i;

	if (!l->a.labelled)
		return;
	for (i = 0; i < c->nspecs; i++) {
		if (c->specs[i].service_id != l->a.service_id ||
		    c->specs[i].instance != l->a.instance)
			continue;
		if (decide_is_own(&c->specs[i], l))
			return;
		p->stranger[j] = 1;
		a->labelled = 0;
		if (!inflight_removing(&c->inflight, l->id))
			log_warn("%s (%.12s) has the labels of %s but another "
			    "name: a stranger, not the instance's container",
			    log_escape(esc, sizeof esc, l->name), l->id,
			    c->specs[i].name);
		return;
	}
}

/* Match the listed containers to the desired set. */
static void
converge_pass_plan(struct converge_pass *p)
{
	struct converge *c = p->c;
	struct plan_want *want = xcalloc(c->nspecs + 1, sizeof *want);
	struct plan_actual *act = xcalloc(p->list.n + 1, sizeof *act);
	size_t i;

	for (i = 0; i < c->nspecs; i++) {
		want[i].service_id = c->specs[i].service_id;
		want[i].instance = c->specs[i].instance;
		want[i].rev = c->specs[i].rev;
	}
	for (i = 0; i < p->list.n; i++) {
		act[i] = p->list.c[i].a;
		converge_pass_stranger(p, i, &act[i]);
	}
	plan_compute(want, c->nspecs, act, p->list.n, &p->plan);
	free(want);
	free(act);
}

/* Remove what the plan says must go, unless it is being removed already. */
static void
converge_pass_removals(struct converge_pass *p)
{
	const struct observe_container *l;
	struct observe_container stranger;
	struct plan_actual *a;
	size_t j;
	int *hold;

	/* Daemons stop last: held while another container goes. */
	a = xcalloc(p->list.n + 1, sizeof *a);
	hold = xcalloc(p->list.n + 1, sizeof *hold);
	for (j = 0; j < p->list.n; j++) {
		a[j] = p->list.c[j].a;
		if (p->stranger[j])
			a[j].labelled = 0;
	}
	plan_hold_daemons(a, p->list.n, p->plan.remove, hold);
	for (j = 0; j < p->list.n; j++) {
		l = &p->list.c[j];
		if (!p->plan.remove[j])
			continue;
		if (hold[j]) {
			converge_report(p->items, &l->a, l->name, l->id,
			    DECIDE_ST_REMOVING, 0, 0, NULL, 0, NULL);
			p->owned++;
			continue;
		}
		if (p->stranger[j]) {
			/* Not the instance's: in flight by its id alone. */
			stranger = *l;
			stranger.a.labelled = 0;
			l = &stranger;
		}
		if (inflight_may_remove(&p->c->inflight, l->a.labelled,
		    l->a.service_id, l->a.instance, l->id)) {
			converge_remove(p->c, l);
			p->changed = 1;
		}
		/*
		 * Still there (being stopped, or its removal failed): say so.
		 * Before the wanted entries, so that for a duplicate of a kept
		 * container the kept one's state is the last word.
		 */
		if (l->a.labelled)
			converge_report(p->items, &l->a, l->name, l->id,
			    DECIDE_ST_REMOVING, 0, 0, NULL, 0, NULL);
		p->owned++;
	}
	free(hold);
	free(a);
}

/* Check the image of an instance to create; pull it if it is missing. */
static void
converge_pass_image(struct converge_pass *p, const struct spec *s,
    struct decide_rec *r, struct decide_out *out)
{
	char *cause = NULL;
	enum pull_status st;
	int rc;

	rc = observe_image(p->c->observe, s->image, &cause);
	decide_image(r, rc, cause, p->now, out);
	if (out->action != DECIDE_PULL)
		return;
	cause = NULL;
	st = pull_want(p->c->pull, s->image, p->now, &cause);
	decide_pull(r, st, cause, out);
}

/* Decide for the i-th wanted instance, act on it, report it. */
static void
converge_pass_instance(struct converge_pass *p, size_t i)
{
	struct converge *c = p->c;
	const struct spec *s = &c->specs[i];
	const struct observe_container *m = NULL;
	const struct observe_inspect *ins = NULL;
	struct plan_actual who = { .labelled = 1, .service_id = s->service_id,
	    .instance = s->instance, .rev = s->rev };
	struct decide_facts f;
	struct decide_out out;
	struct decide_rec *r = converge_rec(c, s);
	const char *hold;
	char esc[512];
	json_t *e;

	if (p->plan.match[i] >= 0) {
		m = &p->list.c[p->plan.match[i]];
		ins = observe_inspect(c->observe, m, p->now);
		p->owned++;
	}
	f.act = p->plan.act[i];
	f.busy = inflight_instance_busy(&c->inflight, s->service_id,
	    s->instance);
	f.name_taken = m == NULL && observe_name_taken(&p->list, s->name);
	f.up_ms = ins != NULL && ins->started_ms > 0 ?
	    util_now_ms() - ins->started_ms : -1;
	decide_instance(s, m, ins, r, &f, p->now, &out);
	if (out.action == DECIDE_CREATE)
		converge_pass_image(p, s, r, &out);
	if (out.action == DECIDE_CREATE &&
	    (hold = converge_net_hold(c, s->body)) != NULL)
		decide_network_wait(r, hold, &out);
	if (out.reinspect)
		observe_stale(c->observe, m->id);
	if (out.due >= 0)
		converge_due(c, out.due);
	if (out.probe)
		converge_probe(p, s, m, r, &out);
	if (out.health_probe)
		converge_health_probe(p, s, m, r, &out);
	if (out.action == DECIDE_RESTART)
		converge_restart_one(c, s, m, r->health.error);
	else if (out.action == DECIDE_START)
		converge_start_one(c, s, m);
	else if (out.action == DECIDE_CREATE)
		converge_create(c, s);
	else if (out.action == DECIDE_STOP)
		converge_stop_one(c, s, m);
	else if (out.action == DECIDE_WAIT)
		log_debug("%s: waiting: %s", log_escape(esc, sizeof esc,
		    s->name), decide_reason_name(out.reason));
	if (out.soon)
		p->changed = 1;
	e = converge_report(p->items, &who, s->name, m != NULL ? m->id : NULL,
	    out.state, out.has_exit, out.exit_code, out.error, out.restarts,
	    out.output);
	converge_report_health(e, &out);
	/* Its address on the grid network: the grid's names (docs/dns.md). */
	if (ins != NULL && ins->ip != NULL && ins->ip_net != NULL &&
	    netplane_network(c->net) != NULL &&
	    strcmp(ins->ip_net, netplane_network(c->net)) == 0)
		json_object_set_new(e, "address", json_string(ins->ip));
	if (r->nhook_runs > 0) {
		json_t *runs = json_array();
		size_t k;

		for (k = 0; k < r->nhook_runs; k++)
			json_array_append_new(runs,
			    hook_run_json(&r->hook_runs[k]));
		json_object_set_new(e, "hooks", runs);
	}
	if (out.probes_only) {
		p->fix[p->nfix].item = json_array_get(p->items,
		    json_array_size(p->items) - 1);
		p->fix[p->nfix].service_id = s->service_id;
		p->fix[p->nfix++].instance = s->instance;
	}
	free(out.probe_key);
	free(out.health_key);
	free(out.msg);
}

/*
 * Probes launched by this pass mostly end within a millisecond (refused,
 * or answered): wait a little so this frame can already say "running"
 * (an agent restart then does not flap its instances to "starting").
 * Only for entries nothing else holds: one still in its settle time said
 * "running" here and "starting" in the next pass, and a deploy that
 * counted it as running ended before it was.
 */
static void
converge_pass_probe_wait(struct converge_pass *p)
{
	struct decide_rec *r;
	size_t i;

	if (p->launched == 0)
		return;
	portprobe_wait(p->c->probes, CONVERGE_PROBE_WAIT_MS);
	converge_probe_results(p->c);
	for (i = 0; i < p->nfix; i++) {
		r = converge_rec_find(p->c, p->fix[i].service_id,
		    p->fix[i].instance);
		if (r == NULL || !r->probe.passed || (r->health.key != NULL &&
		    !r->health.passed))
			continue;
		json_object_set_new(p->fix[i].item, "state",
		    json_string("running"));
		json_object_set_new(p->fix[i].item, "error", json_null());
	}
}

/* Before the first desired frame: report what is there, touch none. */
static void
converge_pass_unplanned(struct converge_pass *p)
{
	const struct observe_container *l;
	const struct observe_inspect *ins;
	enum decide_state st;
	size_t j;

	for (j = 0; j < p->list.n; j++) {
		l = &p->list.c[j];
		p->owned++;
		if (!l->a.labelled)
			continue;
		ins = observe_inspect(p->c->observe, l, p->now);
		st = decide_listed_state(l->a.state);
		converge_report(p->items, &l->a, l->name, l->id, st,
		    st == DECIDE_ST_STOPPED || st == DECIDE_ST_CRASHING,
		    ins->exit_code, NULL, ins->restart_count,
		    st == DECIDE_ST_STOPPED || st == DECIDE_ST_CRASHING ?
		    ins->last_output : NULL);
	}
}

/* Send the state frame if it is news, forced, or due for a resync. */
static void
converge_pass_send(struct converge_pass *p, int force)
{
	struct converge *c = p->c;
	size_t n = json_array_size(p->items);
	json_t *frame;
	char *text;

	/*
	 * The engine's word first: with it down the list is empty because
	 * the agent cannot see, and the master shows the node's instances
	 * as unknown with this reason.
	 */
	frame = json_pack("{s:s, s:I, s:s, s:s?, s:O, s:O}", "type",
	    PROTO_T_STATE, "generation", (json_int_t)c->generation, "engine",
	    c->docker_down ? "down" : "up", "engine_error", c->docker_down ?
	    c->engine_error : NULL, "containers", p->items,
	    "jobs", p->jitems);
	text = json_dumps(frame, JSON_COMPACT);
	json_decref(frame);
	if (text == NULL || !(force || c->last_state == NULL ||
	    strcmp(text, c->last_state) != 0 || p->now - c->last_state_at >=
	    (int64_t)c->cfg->resync_interval_s * 1000)) {
		free(text);
		return;
	}
	free(c->last_state);
	c->last_state = xstrdup(text);
	c->last_state_at = p->now;
	log_debug("state: %zu containers, generation %lld", n,
	    (long long)c->generation);
	conn_send(c->conn, text);
}

static void
converge_pass_free(struct converge_pass *p)
{
	observe_list_clear(&p->list);
	json_decref(p->items);
	json_decref(p->jitems);
	free(p->fix);
	free(p->plan.act);
	free(p->plan.match);
	free(p->plan.remove);
	free(p->stranger);
}

/* One pass; returns 1 if it changed anything (look again soon). */
static int
converge_pass(struct converge *c, int force_state)
{
	struct converge_pass p;
	size_t i;

	memset(&p, 0, sizeof p);
	p.c = c;
	p.now = util_mono_ms();
	/* Before the list: whatever was applied here shows in it. */
	p.changed = converge_results(c, p.now) > 0;
	converge_probe_results(c);
	c->probe_due = -1;
	if (converge_pass_list(&p) != 0) {
		/* Say so: an engine that went away is news to the master. */
		p.items = json_array();
		p.jitems = json_array();	/* the frame always has "jobs" */
		converge_pass_send(&p, force_state);
		json_decref(p.items);
		json_decref(p.jitems);
		return 0;
	}
	p.items = json_array();
	p.jitems = json_array();
	pthread_mutex_lock(&c->lock);
	p.live = c->session_live && c->applied_session == c->session_no;
	pthread_mutex_unlock(&c->lock);
	p.plan.act = xcalloc(c->nspecs + 1, sizeof *p.plan.act);
	p.plan.match = xcalloc(c->nspecs + 1, sizeof *p.plan.match);
	p.plan.remove = xcalloc(p.list.n + 1, sizeof *p.plan.remove);
	p.stranger = xcalloc(p.list.n + 1, sizeof *p.stranger);
	p.fix = xcalloc(c->nspecs + 1, sizeof *p.fix);
	if (c->have_desired) {
		converge_pass_plan(&p);
		converge_pass_removals(&p);
		for (i = 0; i < c->nspecs; i++)
			converge_pass_instance(&p, i);
		converge_pass_probe_wait(&p);
		converge_recs_prune(c);
		converge_pass_jobs(&p);
	} else {
		converge_pass_unplanned(&p);
		for (i = 0; i < p.list.n; i++)	/* jobs: counted, untouched */
			p.owned += p.list.c[i].a.attempt > 0 &&
			    !p.list.c[i].a.labelled;
	}
	observe_done(c->observe);

	/*
	 * With the engine down the list was empty because the agent could
	 * not see it: the count is unknown (-1), not 0. A master deletes a
	 * scaled-in machine once its count is 0 (sched_groups_machines.c),
	 * and an engine slow to answer under load had it delete agents
	 * that still had their containers.
	 */
	pthread_mutex_lock(&c->lock);
	c->ncontainers = c->docker_down ? -1 : p.owned;
	pthread_mutex_unlock(&c->lock);
	c->owned_last = p.owned;
	converge_pass_send(&p, force_state);
	converge_pass_free(&p);
	return p.changed;
}

/* ---- the thread ------------------------------------------------------------- */

/* Take a posted desired frame into the converge thread's own state. */
static void
converge_apply_desired(struct converge *c, char *text, uint64_t session)
{
	struct jobrun_spec *jobs;
	struct spec *specs;
	size_t n, nj, nd;
	int64_t gen, *done;
	char *cause = NULL, esc[512];

	if (spec_parse_desired(text, c->node_id, &specs, &n, &gen,
	    &cause) != 0) {
		log_warn("%s", log_escape(esc, sizeof esc, cause));
		free(cause);
		return;
	}
	if (jobrun_parse_desired(text, c->node_id, &jobs, &nj, &done, &nd,
	    &cause) != 0) {
		log_warn("%s", log_escape(esc, sizeof esc, cause));
		free(cause);
		spec_free_array(specs, n);
		return;
	}
	jobrun_spec_free(c->jobs, c->njobs);
	free(c->jobs_done);
	c->jobs = jobs;
	c->njobs = nj;
	c->jobs_done = done;
	c->njobs_done = nd;
	c->applied_session = session;
	if (c->have_desired && gen < c->generation)
		log_info("desired: generation went back %lld -> %lld "
		    "(master restarted?)", (long long)c->generation,
		    (long long)gen);
	log_info("desired: generation %lld, %zu containers, %zu jobs",
	    (long long)gen, n, nj);
	converge_keep_pre_stop(c, specs, n);
	spec_free_array(c->specs, c->nspecs);
	c->specs = specs;
	c->nspecs = n;
	c->generation = gen;
	c->have_desired = 1;
	if (c->retiring)
		log_info("the master's desired set replaces the retirement");
	c->retiring = 0;
	c->retired_cb = NULL;
}

/* Apply an empty desired set without the master (a retirement). */
static void
converge_retire(struct converge *c, char *why, converge_retired_fn *cb,
    void *arg)
{
	char esc[512];

	log_warn("stopping and removing the containers of node %s on this "
	    "engine: %s", c->node_id, log_escape(esc, sizeof esc, why));
	free(why);
	spec_free_array(c->specs, c->nspecs);
	c->specs = NULL;
	c->nspecs = 0;
	/* Job containers go too: no attempt is wanted, none finished. */
	jobrun_spec_free(c->jobs, c->njobs);
	c->jobs = NULL;
	c->njobs = 0;
	free(c->jobs_done);
	c->jobs_done = NULL;
	c->njobs_done = 0;
	c->have_desired = 1;
	c->retiring = 1;
	c->retired_cb = cb;
	c->retired_arg = arg;
}

/* After a pass: a retirement is done once nothing of the node is left. */
static void
converge_retire_check(struct converge *c)
{
	converge_retired_fn *cb = c->retired_cb;

	if (c->retiring != 1 || c->owned_last > 0 || c->inflight.n > 0 ||
	    c->docker_down)
		return;
	log_info("no container of node %s is left on this engine",
	    c->node_id);
	c->retiring = 2;	/* done; the empty set stays until replaced */
	c->retired_cb = NULL;
	if (cb != NULL)
		cb(c->retired_arg);
}

/* Become node_id: what was known about the old identity is dropped. */
static void
converge_switch_id(struct converge *c, const char *node_id)
{
	size_t i;

	log_info("converge: this node is %s from now on (was %s)", node_id,
	    c->node_id);
	snprintf(c->node_id, sizeof c->node_id, "%s", node_id);
	observe_free(c->observe);
	c->observe = observe_new(c->docker, node_id,
	    (int64_t)c->cfg->resync_interval_s * 1000);
	spec_free_array(c->specs, c->nspecs);
	c->specs = NULL;
	c->nspecs = 0;
	c->have_desired = 0;
	c->generation = 0;
	for (i = 0; i < c->nrecs; i++)
		decide_rec_clear(&c->recs[i]);
	c->nrecs = 0;
	jobrun_spec_free(c->jobs, c->njobs);
	c->jobs = NULL;
	c->njobs = 0;
	free(c->jobs_done);
	c->jobs_done = NULL;
	c->njobs_done = 0;
	for (i = 0; i < c->njrecs; i++)
		jobrun_rec_clear(&c->jrecs[i]);
	c->njrecs = 0;
	free(c->last_state);
	c->last_state = NULL;
	c->retiring = 0;
	c->retired_cb = NULL;
	foreign_clear(&c->foreign);
	c->foreign_next = 0;
}

/* Remove one container of a node the master says is gone. */
static void
converge_foreign_remove(struct converge *c, const struct foreign_container *f)
{
	struct observe_container oc;
	char esc[512];

	if (!inflight_may_remove(&c->inflight, 0, 0, 0, f->id))
		return;
	log_warn("%s (%.12s) belongs to node %s, which the master says was "
	    "removed from the grid: removing it", log_escape(esc, sizeof esc,
	    f->name), f->id, f->node);
	memset(&oc, 0, sizeof oc);
	oc.id = f->id;
	oc.name = f->name;
	oc.a.labelled = 0;	/* keyed by container id in flight */
	oc.a.state = f->state;
	converge_remove(c, &oc);
}

/*
 * Every resync interval while a session is up: list the grid's
 * containers, ask the master about other node ids found there, remove
 * those of nodes it says are gone.
 */
static void
converge_foreign(struct converge *c, char *status)
{
	struct foreign_scan sc;
	const struct foreign_node *n;
	int64_t now = util_mono_ms();
	json_t *arr, *f;
	char *cause = NULL, esc[512];
	size_t i;

	if (status != NULL) {
		f = json_loads(status, 0, NULL);
		if (f != NULL && foreign_answer(&c->foreign, f, now) > 0)
			c->foreign_next = 0;	/* act on it now */
		json_decref(f);
		free(status);
	}
	if (c->grid == NULL || now < c->foreign_next || c->retiring)
		return;
	c->foreign_next = now + (int64_t)c->cfg->resync_interval_s * 1000;
	arr = docker_list_label(c->docker, PROTO_LABEL_GRID, c->grid, &cause);
	if (arr == NULL) {
		log_debug("%s", log_escape(esc, sizeof esc, cause));
		free(cause);
		return;
	}
	foreign_scan(&c->foreign, arr, c->node_id, c->grid, now, &sc);
	json_decref(arr);
	if (sc.query != NULL) {
		log_debug("asking the master about %zu other node id(s) on "
		    "this engine", json_array_size(json_object_get(sc.query,
		    "node_ids")));
		conn_send(c->conn, json_dumps(sc.query, JSON_COMPACT));
	}
	for (i = 0; i < sc.nremove; i++)
		converge_foreign_remove(c, &sc.remove[i]);
	for (i = 0; i < sc.nkeep; i++) {
		n = foreign_node(&c->foreign, sc.keep[i].node);
		if (n == NULL || n->status == FOREIGN_ASKING || n->said)
			continue;
		((struct foreign_node *)n)->said = 1;
		log_info("containers of node %s on this engine: the master "
		    "says %s; leaving them alone", n->id,
		    foreign_status_name(n->status));
	}
	foreign_scan_clear(&sc);
}

static void
converge_learn_version(struct converge *c)
{
	char *v = NULL, *cause = NULL, esc[256], peer[16];

	if (docker_version(c->docker, &v, &cause) != 0) {
		log_debug("%s", log_escape(esc, sizeof esc, cause));
		free(cause);
		return;
	}
	log_info("docker: engine %s", log_escape(esc, sizeof esc, v));
	pthread_mutex_lock(&c->lock);
	c->docker_version = v;
	pthread_mutex_unlock(&c->lock);
	/* A node_info sent before this lacked the version: send it again. */
	pthread_mutex_lock(&c->lock);
	snprintf(peer, sizeof peer, "%s", c->peer_address);
	pthread_mutex_unlock(&c->lock);
	conn_send(c->conn, nodeinfo_frame(v, c->cfg->cpus, peer));
}

static void *
converge_main(void *arg)
{
	struct converge *c = arg;
	struct timespec ts;
	int64_t next = 0, now, delay;
	uint64_t dsession;
	char *desired, *status, *grid, *why, new_id[PROTO_NODE_ID_LEN + 1];
	char *network, peer[16];
	int peer_new;
	converge_retired_fn *cb;
	void *cb_arg;
	int force, have_version = 0;

	for (;;) {
		pthread_mutex_lock(&c->lock);
		while (!atomic_load(&c->stop) && !c->kick &&
		    util_mono_ms() < next) {
			now = next;
			ts.tv_sec = (time_t)(now / 1000);
			ts.tv_nsec = (long)(now % 1000) * 1000000L;
			pthread_cond_timedwait(&c->cond, &c->lock, &ts);
		}
		if (atomic_load(&c->stop)) {
			pthread_mutex_unlock(&c->lock);
			break;
		}
		desired = c->desired_text;
		dsession = c->desired_session;
		c->desired_text = NULL;
		force = c->session;
		c->session = 0;
		c->kick = 0;
		status = c->status_text;
		c->status_text = NULL;
		network = c->network_text;
		c->network_text = NULL;
		if ((peer_new = c->peer_posted))
			snprintf(peer, sizeof peer, "%s", c->peer_address);
		c->peer_posted = 0;
		grid = c->grid_posted;
		c->grid_posted = NULL;
		why = c->retire_why;
		c->retire_why = NULL;
		cb = c->retire_cb;
		cb_arg = c->retire_arg;
		snprintf(new_id, sizeof new_id, "%s", c->new_id);
		c->new_id[0] = '\0';
		pthread_mutex_unlock(&c->lock);

		if (new_id[0] != '\0')
			converge_switch_id(c, new_id);
		if (grid != NULL) {
			free(c->grid);
			c->grid = grid;
		}
		if (why != NULL)
			converge_retire(c, why, cb, cb_arg);

		if (!have_version) {
			converge_learn_version(c);
			have_version = c->docker_version != NULL;
		}
		/* The data plane before creations, which join its network. */
		if (peer_new)
			netplane_set_address(c->net, peer);
		/* Sooner while creations wait for it (netplane_hold()). */
		if (network != NULL || peer_new ||
		    util_mono_ms() - c->net_at >=
		    (int64_t)c->cfg->network_recheck_s * 1000 ||
		    (netplane_hold(c->net) != NULL &&
		    util_mono_ms() - c->net_at >= CONVERGE_NET_RETRY_MS)) {
			netplane_apply(c->net, network, c->node_id);
			c->net_at = util_mono_ms();
			converge_dns(c);
		}
		free(network);
		if (desired != NULL) {
			converge_apply_desired(c, desired, dsession);
			free(desired);
			force = 1;
		}
		delay = converge_pass(c, force) ? CONVERGE_SOON_MS :
		    CONVERGE_POLL_MS;
		converge_retire_check(c);
		converge_foreign(c, status);
		/* An instance "starting": probe it again soon. */
		if (c->probe_due >= 0 && c->probe_due < delay)
			delay = c->probe_due;
		next = util_mono_ms() + delay;
	}
	return NULL;
}

void
converge_start(struct converge *c)
{
	pull_start(c->pull);
	workers_start(c->workers);
	if (pthread_create(&c->thread, NULL, converge_main, c) != 0)
		fatalx("converge: cannot create thread");
	c->started = 1;
}

void
converge_free(struct converge *c)
{
	size_t i;

	if (c == NULL)
		return;
	/* Under the lock: the converge thread checks it before waiting. */
	pthread_mutex_lock(&c->lock);
	atomic_store(&c->stop, 1);
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
	if (c->started)
		pthread_join(c->thread, NULL);
	workers_free(c->workers);	/* after the only thread submitting */
	portprobe_free(c->probes);	/* joins probes (each <= 300 ms) */
	hook_done_free(c->hooks_done);
	spec_free_array(c->gone, c->ngone);
	pull_free(c->pull);
	observe_free(c->observe);
	docker_free(c->docker);
	inflight_clear(&c->inflight);
	spec_free_array(c->specs, c->nspecs);
	for (i = 0; i < c->nrecs; i++)
		decide_rec_clear(&c->recs[i]);
	free(c->recs);
	jobrun_spec_free(c->jobs, c->njobs);
	free(c->jobs_done);
	for (i = 0; i < c->njrecs; i++)
		jobrun_rec_clear(&c->jrecs[i]);
	free(c->jrecs);
	free(c->desired_text);
	free(c->docker_version);
	free(c->last_state);
	free(c->engine_error);
	free(c->grid_posted);
	free(c->status_text);
	free(c->network_text);
	dns_free(c->dns);
	free(c->dns_error);
	netplane_free(c->net);
	free(c->retire_why);
	free(c->grid);
	foreign_clear(&c->foreign);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
	free(c);
}
