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
 * A pass: apply the results of finished actions (workers.c) to the
 * per-instance records, list the containers labelled berth.node=<our id>
 * (only those are ever touched), decide with plan_compute(), and hand the
 * actions to the worker pool (BERTH_DOCKER_CONCURRENCY threads): remove
 * what must go (stop with the container's own grace, then force-remove),
 * start or create what is missing (creates wait for their image: pulls run
 * on the pull thread). Then build the state frame. It is sent when it
 * differs from the last one sent, after a new session, and at least every
 * BERTH_RESYNC_INTERVAL_S. Before the first desired frame arrives nothing
 * is changed, only reported: an agent restart must not remove what the
 * master still wants.
 *
 * Actions in flight (inflight.h): results are drained before the list, so
 * an action whose result was applied is visible in the list, and one still
 * in flight is skipped by the plan's executor: an instance with an action
 * in flight gets no other create or start (no duplicate creates; a
 * replacement's create waits for the old container's removal), a container
 * is not removed twice, nor while a create/start of its instance runs. An
 * instance whose create is in flight reports "pending" (or "created" once
 * listed); a container being removed reports "removing". Only this thread
 * decides; workers execute and report back through their done queue.
 *
 * wait_for_port (portprobe.h): a running container whose entry has one is
 * reported "starting" until a TCP connect to 127.0.0.1:<port> inside its
 * own network namespace succeeds, then "running" for as long as that
 * container start lasts (the record remembers "<id>@<StartedAt>": a new
 * container or a restart probes again). Probes run on their own short
 * threads (setns() there, never here); this thread only decides, launches
 * and applies results, and passes come every PORTPROBE_FAST_MS (later
 * slower) while an instance is starting.
 *
 * Restarts: containers have Docker's "unless-stopped" policy, so Docker
 * restarts crashes itself (state "restarting"). A container that is exited
 * anyway (stopped by hand, engine restart) is started by the agent with its
 * own backoff (now, 2 s, 4 s, ... 5 min; reset after 60 s of running).
 */
#include "agent/converge.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "agent/backoff.h"
#include "agent/config.h"
#include "agent/conn.h"
#include "agent/docker.h"
#include "agent/inflight.h"
#include "agent/nodeinfo.h"
#include "agent/plan.h"
#include "agent/portprobe.h"
#include "agent/pull.h"
#include "agent/spec.h"
#include "agent/workers.h"
#include "common/log.h"
#include "common/proto.h"
#include "common/util.h"
#include "common/xmalloc.h"

#define CONVERGE_POLL_MS	2000	/* list containers this often */
#define CONVERGE_SOON_MS	500	/* after a change: look again soon */
#define CONVERGE_RETRY_BASE_MS	1000	/* start/create retries */
#define CONVERGE_RETRY_CAP_MS	300000
#define CONVERGE_HEALTHY_MS	60000	/* running this long resets backoff */
#define CONVERGE_PROBE_WAIT_MS	50	/* a pass waits this for its probes */

/* What the agent remembers about one wanted instance. */
struct inst {
	int64_t		 service_id;	/* identity with instance */
	int64_t		 instance;
	int64_t		 rev;		/* rev the counters below are for */
	unsigned	 attempts;	/* consecutive starts/creates tried */
	int64_t		 not_before;	/* mono ms: no start/create before */
	int64_t		 running_since;	/* mono ms seen running, 0 if not */
	int		 agent_restarts; /* starts of an exited container */
	char		*error;		/* last create/start failure */
	int		 seen;		/* wanted in this pass (for pruning) */
	struct portprobe_rec probe;	/* wait_for_port of its container */
};

/* Inspect results, so a pass does not inspect every container. */
struct seen {
	char		*id;		/* container id */
	enum plan_state	 state;		/* state when inspected */
	int		 exit_code;	/* State.ExitCode */
	int		 restart_count;	/* RestartCount (Docker's policy) */
	int		 pid;		/* State.Pid, 0 if not running */
	char		*started_at;	/* State.StartedAt, NULL if unknown */
	int		 host_net;	/* HostConfig.NetworkMode is "host" */
	int64_t		 at;		/* mono ms of the inspect */
	int		 live;		/* listed in this pass */
};

/* One image looked up in this pass (many instances share an image). */
struct imgcheck {
	const char	*image;		/* borrowed from the spec */
	int		 rc;		/* docker_image_exists() */
	char		*cause;		/* its cause when rc < 0 */
};

/* A "starting" entry of the state frame whose probe ran in this pass. */
struct fixup {
	json_t		*item;		/* borrowed from the frame's array */
	int64_t		 service_id;	/* its instance */
	int64_t		 instance;
};

/* One listed container, with what the plan and the report need. */
struct listed {
	char		*id;		/* Docker id */
	char		*name;		/* without the leading '/' */
	struct plan_actual a;		/* labels and state for the plan */
};

struct converge {
	const struct agent_config *cfg;	/* read-only settings */
	char		 node_id[PROTO_NODE_ID_LEN + 1]; /* our berth.node */
	struct conn	*conn;		/* where frames go */

	pthread_t	 thread;	/* the converge thread */
	int		 started;	/* thread was created */
	pthread_mutex_t	 lock;		/* guards the fields down to stop */
	pthread_cond_t	 cond;		/* signalled on any of them */
	char		*desired_text;	/* newest desired frame not yet taken */
	int		 kick;		/* run a pass now */
	int		 session;	/* new session: send state regardless */
	char		*docker_version; /* engine version, NULL if unknown */
	int		 ncontainers;	/* owned containers, last pass */
	atomic_int	 stop;		/* set once at shutdown; read anywhere */

	/* Converge thread only. */
	struct docker	*docker;	/* engine client */
	struct pull	*pull;		/* pull thread */
	struct workers	*workers;	/* Docker action pool */
	struct portprobe *probes;	/* wait_for_port probe threads */
	int64_t		 probe_due;	/* ms to the next probe due, -1 none */
	struct inflight	 inflight;	/* actions handed to it, not yet back */
	struct spec	*specs;		/* current desired set */
	size_t		 nspecs;	/* entries in specs */
	int		 have_desired;	/* a desired frame has been applied */
	int64_t		 generation;	/* its generation */
	struct inst	*insts;		/* per wanted instance */
	size_t		 ninsts;	/* entries in insts */
	struct seen	*seen;		/* inspect cache */
	size_t		 nseen;		/* entries in seen */
	char		*last_state;	/* state frame last sent */
	int64_t		 last_state_at;	/* mono ms it was sent */
	int		 docker_down;	/* last list failed (log once) */
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

	c->cfg = cfg;
	snprintf(c->node_id, sizeof c->node_id, "%s", node_id);
	c->conn = conn;
	pthread_mutex_init(&c->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cond, &ca);
	pthread_condattr_destroy(&ca);
	c->docker = docker_new(cfg->docker_socket, &c->stop);
	c->pull = pull_new(cfg->docker_socket, &c->stop, converge_wake, c);
	c->workers = workers_new(cfg->docker_socket, cfg->docker_concurrency,
	    &c->stop, converge_wake, c);
	c->probes = portprobe_new(converge_wake, c);
	return c;
}

void
converge_post_desired(struct converge *c, const char *text, size_t len)
{
	pthread_mutex_lock(&c->lock);
	free(c->desired_text);
	c->desired_text = xstrndup(text, len);
	c->kick = 1;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

void
converge_post_session(struct converge *c)
{
	pthread_mutex_lock(&c->lock);
	c->session = 1;
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

/* Strict decimal label value. */
static int
converge_label_int(json_t *labels, const char *key, int64_t *out)
{
	const char *s = json_string_value(json_object_get(labels, key));
	char *end;
	long long v;

	if (s == NULL || *s == '\0')
		return -1;
	v = strtoll(s, &end, 10);
	if (*end != '\0' || v < 0)
		return -1;
	*out = v;
	return 0;
}

static void
converge_listed_free(struct listed *l, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(l[i].id);
		free(l[i].name);
	}
	free(l);
}

/* The list answer -> struct listed. Entries without an Id are skipped. */
static struct listed *
converge_parse_list(struct converge *c, json_t *arr, size_t *n)
{
	struct listed *l = xcalloc(json_array_size(arr) + 1, sizeof *l);
	json_t *e, *labels, *names;
	const char *id, *name, *node;
	size_t i, k = 0;

	json_array_foreach(arr, i, e) {
		id = json_string_value(json_object_get(e, "Id"));
		labels = json_object_get(e, "Labels");
		node = json_string_value(json_object_get(labels,
		    PROTO_LABEL_NODE));
		/* The filter did this already; never trust it with deletes. */
		if (id == NULL || node == NULL || strcmp(node, c->node_id) != 0)
			continue;
		names = json_object_get(e, "Names");
		name = json_string_value(json_array_get(names, 0));
		if (name != NULL && *name == '/')
			name++;
		l[k].id = xstrdup(id);
		l[k].name = xstrdup(name != NULL ? name : "");
		l[k].a.state = plan_state_parse(json_string_value(
		    json_object_get(e, "State")));
		l[k].a.labelled = converge_label_int(labels,
		    PROTO_LABEL_SERVICE_ID, &l[k].a.service_id) == 0 &&
		    converge_label_int(labels, PROTO_LABEL_INSTANCE,
		    &l[k].a.instance) == 0 &&
		    converge_label_int(labels, PROTO_LABEL_REV,
		    &l[k].a.rev) == 0;
		k++;
	}
	*n = k;
	return l;
}

static struct inst *
converge_inst(struct converge *c, const struct spec *s)
{
	struct inst *in;
	size_t i;

	for (i = 0; i < c->ninsts; i++) {
		in = &c->insts[i];
		if (in->service_id == s->service_id &&
		    in->instance == s->instance)
			goto found;
	}
	c->insts = xreallocarray(c->insts, c->ninsts + 1, sizeof *c->insts);
	in = &c->insts[c->ninsts++];
	memset(in, 0, sizeof *in);
	in->service_id = s->service_id;
	in->instance = s->instance;
	in->rev = s->rev;
found:
	if (in->rev != s->rev) {	/* a new revision starts afresh */
		in->rev = s->rev;
		in->attempts = 0;
		in->not_before = 0;
		in->agent_restarts = 0;
		free(in->error);
		in->error = NULL;
	}
	in->seen = 1;
	return in;
}

/*
 * 1 if a container called name is still listed: the old container of an
 * instance (same name, older rev) being removed, possibly by an agent that
 * has since restarted and lost its in-flight table. Creating now would
 * only collide with it.
 */
static int
converge_name_taken(const struct listed *l, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (l[i].name != NULL && strcmp(l[i].name, name) == 0)
			return 1;
	return 0;
}

static void
converge_inst_fail(struct inst *in, char *cause, int64_t now)
{
	free(in->error);
	in->error = cause;
	in->not_before = now + backoff_plain_ms(in->attempts,
	    CONVERGE_RETRY_BASE_MS, CONVERGE_RETRY_CAP_MS);
	in->attempts++;
}

/* Inspect (or reuse a recent inspect of) a listed container. */
static struct seen *
converge_seen(struct converge *c, const struct listed *l, int64_t now)
{
	struct seen *s = NULL;
	char *cause = NULL;
	const char *st;
	json_t *o;
	size_t i;

	for (i = 0; i < c->nseen; i++) {
		if (strcmp(c->seen[i].id, l->id) == 0) {
			s = &c->seen[i];
			break;
		}
	}
	if (s == NULL) {
		c->seen = xreallocarray(c->seen, c->nseen + 1, sizeof *c->seen);
		s = &c->seen[c->nseen++];
		memset(s, 0, sizeof *s);
		s->id = xstrdup(l->id);
		s->at = -1;
	}
	s->live = 1;
	if (s->at >= 0 && s->state == l->a.state &&
	    now - s->at < (int64_t)c->cfg->resync_interval_s * 1000)
		return s;
	o = docker_inspect(c->docker, l->id, &cause);
	if (o == NULL) {
		log_debug("%s", cause);
		free(cause);
		return s;	/* keep old figures; list state still counts */
	}
	s->state = l->a.state;
	/* A crash loop may be running again by now: keep the last exit. */
	st = json_string_value(json_object_get(json_object_get(o, "State"),
	    "Status"));
	if (st == NULL || strcmp(st, "running") != 0)
		s->exit_code = (int)json_integer_value(json_object_get(
		    json_object_get(o, "State"), "ExitCode"));
	s->restart_count = (int)json_integer_value(json_object_get(o,
	    "RestartCount"));
	/* For wait_for_port: whose namespace, and which start of it. */
	s->pid = (int)json_integer_value(json_object_get(json_object_get(o,
	    "State"), "Pid"));
	st = json_string_value(json_object_get(json_object_get(o, "State"),
	    "StartedAt"));
	free(s->started_at);
	s->started_at = st != NULL ? xstrdup(st) : NULL;
	st = json_string_value(json_object_get(json_object_get(o,
	    "HostConfig"), "NetworkMode"));
	s->host_net = st != NULL && strcmp(st, "host") == 0;
	s->at = now;
	json_decref(o);
	return s;
}

/* Drop inspect cache entries of containers that are gone. */
static void
converge_seen_prune(struct converge *c)
{
	size_t i = 0;

	while (i < c->nseen) {
		if (!c->seen[i].live) {
			free(c->seen[i].id);
			free(c->seen[i].started_at);
			c->seen[i] = c->seen[--c->nseen];
			continue;
		}
		c->seen[i++].live = 0;
	}
}

static void
converge_insts_prune(struct converge *c)
{
	size_t i = 0;

	while (i < c->ninsts) {
		if (!c->insts[i].seen) {
			free(c->insts[i].error);
			portprobe_rec_clear(&c->insts[i].probe);
			c->insts[i] = c->insts[--c->ninsts];
			continue;
		}
		c->insts[i++].seen = 0;
	}
}

/* One entry of the state frame. */
static void
converge_report(json_t *arr, int64_t sid, int64_t inst, int64_t rev,
    const char *name, const char *cid, const char *state, int has_exit,
    int exit_code, const char *error, int restarts)
{
	json_array_append_new(arr, json_pack("{s:I, s:I, s:I, s:s, s:s?, s:s,"
	    " s:o, s:s?, s:i}", "service_id", (json_int_t)sid,
	    "instance", (json_int_t)inst, "rev", (json_int_t)rev,
	    "name", name, "container_id", cid, "state", state,
	    "exit_code", has_exit ? json_integer(exit_code) : json_null(),
	    "error", error, "restarts", restarts));
}

/* The record of a wanted instance, or NULL (converge_inst() adds). */
static struct inst *
converge_inst_find(struct converge *c, int64_t service_id, int64_t instance)
{
	size_t i;

	for (i = 0; i < c->ninsts; i++) {
		if (c->insts[i].service_id == service_id &&
		    c->insts[i].instance == instance)
			return &c->insts[i];
	}
	return NULL;
}

/* Record an action as in flight and hand it to the pool (takes job). */
static void
converge_submit(struct converge *c, struct work *job)
{
	job->seq = inflight_add(&c->inflight, job->kind, job->labelled,
	    job->service_id, job->instance, job->id);
	workers_submit(c->workers, job);
}

/* Stop (with its own grace) and remove one listed container, on a worker. */
static void
converge_remove(struct converge *c, const struct listed *l)
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
	    l->a.state == PLAN_ST_RESTARTING;
	converge_submit(c, job);
}

/* Start a listed container of a wanted instance, on a worker. */
static void
converge_start_one(struct converge *c, const struct spec *s,
    const struct listed *m)
{
	struct work *job = xcalloc(1, sizeof *job);

	job->kind = INFLIGHT_START;
	job->labelled = 1;
	job->service_id = s->service_id;
	job->instance = s->instance;
	job->rev = s->rev;
	job->name = xstrdup(s->name);
	job->id = xstrdup(m->id);
	job->was_exited = m->a.state == PLAN_ST_EXITED;
	converge_submit(c, job);
}

/* Is image present? Asked of the engine once per pass and image. */
static int
converge_image(struct converge *c, struct imgcheck **ic, size_t *nic,
    const char *image, char **cause)
{
	struct imgcheck *e;
	size_t i;

	for (i = 0; i < *nic; i++) {
		if (strcmp((*ic)[i].image, image) == 0)
			goto found;
	}
	*ic = xreallocarray(*ic, *nic + 1, sizeof **ic);
	e = &(*ic)[(*nic)++];
	e->image = image;
	e->cause = NULL;
	e->rc = docker_image_exists(c->docker, image, &e->cause);
found:
	e = &(*ic)[i];
	if (e->rc < 0)
		*cause = xstrdup(e->cause != NULL ? e->cause : "image check");
	return e->rc;
}

static void
converge_imgcheck_free(struct imgcheck *ic, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(ic[i].cause);
	free(ic);
}

/*
 * Create and start one missing instance, on a worker, once its backoff
 * allows and its image is here; the state to report meanwhile.
 */
static const char *
converge_create(struct converge *c, const struct spec *s, struct inst *in,
    int64_t now, struct imgcheck **ic, size_t *nic, int *changed)
{
	struct work *job;
	char *cause = NULL, esc[512];
	int rc;

	if (now < in->not_before)
		return in->error != NULL ? "error" : "pending";
	rc = converge_image(c, ic, nic, s->image, &cause);
	if (rc == 0) {
		if (pull_want(c->pull, s->image, now, &cause) == PULL_PULLING)
			return "pulling";
		free(in->error);
		in->error = cause;
		return "error";
	}
	if (rc < 0) {
		converge_inst_fail(in, cause, now);
		return "error";
	}
	log_info("creating %s (service %lld instance %lld rev %lld)",
	    log_escape(esc, sizeof esc, s->name), (long long)s->service_id,
	    (long long)s->instance, (long long)s->rev);
	job = xcalloc(1, sizeof *job);
	job->kind = INFLIGHT_CREATE;
	job->labelled = 1;
	job->service_id = s->service_id;
	job->instance = s->instance;
	job->rev = s->rev;
	job->name = xstrdup(s->name);
	job->body = xstrdup(s->body);
	converge_submit(c, job);
	*changed = 1;
	/* A retry keeps the last failure reported until it succeeds. */
	return in->error != NULL ? "error" : "pending";
}

/* Apply one finished action to the record of its instance. */
static void
converge_result(struct converge *c, struct work *job, int64_t now)
{
	struct inst *in = NULL;
	char esc[512];

	if (job->labelled) {
		in = converge_inst_find(c, job->service_id, job->instance);
		if (in != NULL && in->rev != job->rev)
			in = NULL;	/* counters are for another rev now */
	}
	if (job->rc != 0 && job->rc != WORK_NO_IMAGE)
		log_warn("%s: %s", log_escape(esc, sizeof esc, job->name),
		    job->cause != NULL ? job->cause : "failed");
	switch (job->kind) {
	case INFLIGHT_CREATE:
		/* No image (it went away since the check): the next pass
		 * finds it missing and queues a pull. */
		if (in == NULL || job->rc == WORK_NO_IMAGE)
			break;
		if (job->rc != 0 && job->cause != NULL &&
		    strstr(job->cause, "is already in use") != NULL) {
			/* The old container of this name was not gone yet:
			 * not the instance's fault; look again soon. */
			in->not_before = now + CONVERGE_SOON_MS;
			break;
		}
		if (job->rc != 0) {
			converge_inst_fail(in, job->cause, now);
			job->cause = NULL;
			break;
		}
		log_debug("created and started %s (%.12s)",
		    log_escape(esc, sizeof esc, job->name), job->id);
		free(in->error);
		in->error = NULL;
		in->attempts++;		/* reset after CONVERGE_HEALTHY_MS */
		break;
	case INFLIGHT_START:
		if (in == NULL)
			break;
		if (job->rc != 0) {
			converge_inst_fail(in, job->cause, now);
			job->cause = NULL;
			break;
		}
		if (job->was_exited)
			in->agent_restarts++;
		free(in->error);
		in->error = NULL;
		in->not_before = now + backoff_plain_ms(in->attempts,
		    CONVERGE_RETRY_BASE_MS, CONVERGE_RETRY_CAP_MS);
		in->attempts++;
		break;
	case INFLIGHT_REMOVE:
		if (job->rc == 0)
			log_debug("removed %s (%.12s)",
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

/* Apply finished wait_for_port probes to the records of their instances. */
static void
converge_probe_results(struct converge *c)
{
	struct portprobe_job *job;
	struct inst *in;
	char esc[512];
	size_t i;

	while ((job = portprobe_take(c->probes)) != NULL) {
		if (job->gone) {
			/* Exited or restarted since its inspect: look again. */
			for (i = 0; i < c->nseen; i++) {
				if (strcmp(c->seen[i].id,
				    job->container_id) == 0)
					c->seen[i].at = -1;
			}
		}
		in = converge_inst_find(c, job->service_id, job->instance);
		if (in == NULL) {
			portprobe_job_free(job);
			continue;
		}
		if (job->ok && !in->probe.passed && in->probe.key != NULL &&
		    strcmp(in->probe.key, job->key) == 0)
			log_info("%.12s: port %d answers (service %lld "
			    "instance %lld): running", job->container_id,
			    job->port, (long long)job->service_id,
			    (long long)job->instance);
		/* Probing is impossible (not root?): say so once. */
		if (portprobe_result(&in->probe, job->key, job->ok,
		    job->cause))
			log_warn("%.12s: %s", job->container_id,
			    log_escape(esc, sizeof esc, in->probe.error));
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

/*
 * A running container of a wanted instance: "running", or "starting" while
 * its wait_for_port does not answer; probes it when one is due.
 */
static const char *
converge_running(struct converge *c, const struct spec *s, struct inst *in,
    const struct listed *m, struct seen *sn, int64_t now, int *launched)
{
	struct portprobe_job *job;
	char *key = NULL;
	int starting, launch;
	int64_t due;

	if (s->wait_for_port > 0 && sn->started_at != NULL &&
	    (sn->pid > 0 || sn->host_net))
		key = portprobe_key(m->id, sn->started_at);
	else if (s->wait_for_port > 0) {
		sn->at = -1;	/* inspected before it ran: again next pass */
		converge_due(c, PORTPROBE_FAST_MS);
	}
	starting = portprobe_decide(&in->probe, s->wait_for_port, key, now,
	    &launch, &due);
	if (due >= 0)
		converge_due(c, due);
	if (launch) {
		job = xcalloc(1, sizeof *job);
		job->service_id = s->service_id;
		job->instance = s->instance;
		job->container_id = xstrdup(m->id);
		job->key = key;
		key = NULL;
		job->pid = sn->host_net ? 0 : sn->pid;
		job->port = s->wait_for_port;
		if (portprobe_launch(c->probes, job) == 0) {
			log_debug("%.12s: probing port %d", m->id,
			    s->wait_for_port);
			portprobe_launched(&in->probe, now);
			(*launched)++;
		} else {	/* PORTPROBE_MAX at once: the next pass */
			portprobe_job_free(job);
			converge_due(c, PORTPROBE_FAST_MS);
		}
	}
	free(key);
	return starting ? "starting" : "running";
}

/* One pass; returns 1 if it changed anything (look again soon). */
static int
converge_pass(struct converge *c, int force_state)
{
	struct listed *l = NULL;
	struct plan_want *want = NULL;
	struct plan_actual *act = NULL;
	struct plan p = { NULL, NULL, NULL };
	struct imgcheck *ic = NULL;
	struct fixup *fix = NULL;
	struct seen *sn;
	struct inst *in;
	json_t *arr, *items, *frame;
	char *cause = NULL, *text, *cid, esc[512];
	const char *st;
	size_t nl = 0, nic = 0, nfix = 0, i, j;
	int changed, owned = 0, has_exit, exit_code, restarts, busy;
	int launched = 0;
	int64_t now = util_mono_ms();

	/* Before the list: whatever was applied here shows in it. */
	changed = converge_results(c, now) > 0;
	converge_probe_results(c);
	c->probe_due = -1;
	arr = docker_list(c->docker, c->node_id, &cause);
	if (arr == NULL) {
		if (!c->docker_down)
			log_warn("docker: %s; retrying",
			    log_escape(esc, sizeof esc, cause));
		c->docker_down = 1;
		free(cause);
		return 0;
	}
	if (c->docker_down)
		log_info("docker: answering again");
	c->docker_down = 0;
	l = converge_parse_list(c, arr, &nl);
	json_decref(arr);

	want = xcalloc(c->nspecs + 1, sizeof *want);
	act = xcalloc(nl + 1, sizeof *act);
	p.act = xcalloc(c->nspecs + 1, sizeof *p.act);
	p.match = xcalloc(c->nspecs + 1, sizeof *p.match);
	p.remove = xcalloc(nl + 1, sizeof *p.remove);
	fix = xcalloc(c->nspecs + 1, sizeof *fix);
	for (i = 0; i < c->nspecs; i++) {
		want[i].service_id = c->specs[i].service_id;
		want[i].instance = c->specs[i].instance;
		want[i].rev = c->specs[i].rev;
	}
	for (j = 0; j < nl; j++)
		act[j] = l[j].a;
	if (c->have_desired)
		plan_compute(want, c->nspecs, act, nl, &p);

	items = json_array();
	for (j = 0; j < nl; j++) {
		if (!p.remove[j])
			continue;
		if (inflight_may_remove(&c->inflight, l[j].a.labelled,
		    l[j].a.service_id, l[j].a.instance, l[j].id)) {
			converge_remove(c, &l[j]);
			changed = 1;
		}
		/*
		 * Still there (being stopped, or its removal failed): say so.
		 * Before the wanted entries, so that for a duplicate of a kept
		 * container the kept one's state is the last word.
		 */
		if (l[j].a.labelled)
			converge_report(items, l[j].a.service_id,
			    l[j].a.instance, l[j].a.rev, l[j].name, l[j].id,
			    "removing", 0, 0, NULL, 0);
		owned++;
	}

	for (i = 0; i < c->nspecs && c->have_desired; i++) {
		const struct spec *s = &c->specs[i];
		const struct listed *m = p.match[i] >= 0 ? &l[p.match[i]] :
		    NULL;

		in = converge_inst(c, s);
		busy = inflight_instance_busy(&c->inflight, s->service_id,
		    s->instance);
		has_exit = 0;
		exit_code = 0;
		restarts = in->agent_restarts;
		cid = NULL;
		st = "pending";
		if (m != NULL) {
			owned++;
			sn = converge_seen(c, m, now);
			restarts += sn->restart_count;
			cid = xstrdup(m->id);
			if (m->a.state == PLAN_ST_RUNNING) {
				st = converge_running(c, s, in, m, sn, now,
				    &launched);
				if (in->running_since == 0)
					in->running_since = now;
				if (now - in->running_since >=
				    CONVERGE_HEALTHY_MS) {
					in->attempts = 0;
					in->not_before = 0;
				}
				free(in->error);
				in->error = NULL;
			} else {
				in->running_since = 0;
				portprobe_rec_clear(&in->probe);
				st = m->a.state == PLAN_ST_CREATED ? "created" :
				    "stopped";
				has_exit = m->a.state != PLAN_ST_CREATED;
				exit_code = sn->exit_code;
			}
			if (p.act[i] == PLAN_START && !busy &&
			    now >= in->not_before) {
				log_info("starting %s (%s)", log_escape(esc,
				    sizeof esc, s->name), st);
				converge_start_one(c, s, m);
				changed = 1;
			}
			if (in->error != NULL && p.act[i] == PLAN_START)
				st = "error";
		} else {
			in->running_since = 0;
			portprobe_rec_clear(&in->probe);
			if (busy)	/* being created, or its old one removed */
				st = in->error != NULL ? "error" : "pending";
			else if (converge_name_taken(l, nl, s->name)) {
				st = "pending";	/* its old container goes first */
				changed = 1;
			} else
				st = converge_create(c, s, in, now, &ic, &nic,
				    &changed);
		}
		converge_report(items, s->service_id, s->instance, s->rev,
		    s->name, cid, st, has_exit, exit_code,
		    strcmp(st, "error") == 0 ? in->error :
		    strcmp(st, "starting") == 0 ? in->probe.error : NULL,
		    restarts);
		free(cid);
		if (strcmp(st, "starting") == 0) {
			fix[nfix].item = json_array_get(items,
			    json_array_size(items) - 1);
			fix[nfix].service_id = s->service_id;
			fix[nfix++].instance = s->instance;
		}
	}

	/*
	 * Probes launched above mostly end within a millisecond (refused, or
	 * answered): wait a little so this frame can already say "running"
	 * (an agent restart then does not flap its instances to "starting").
	 */
	if (launched > 0) {
		portprobe_wait(c->probes, CONVERGE_PROBE_WAIT_MS);
		converge_probe_results(c);
		for (i = 0; i < nfix; i++) {
			in = converge_inst_find(c, fix[i].service_id,
			    fix[i].instance);
			if (in == NULL || !in->probe.passed)
				continue;
			json_object_set_new(fix[i].item, "state",
			    json_string("running"));
			json_object_set_new(fix[i].item, "error", json_null());
		}
	}

	/* Before the first desired frame: report what is there, touch none. */
	for (j = 0; j < nl && !c->have_desired; j++) {
		owned++;
		if (!l[j].a.labelled)
			continue;
		sn = converge_seen(c, &l[j], now);
		st = l[j].a.state == PLAN_ST_RUNNING ? "running" :
		    l[j].a.state == PLAN_ST_CREATED ? "created" : "stopped";
		converge_report(items, l[j].a.service_id, l[j].a.instance,
		    l[j].a.rev, l[j].name, l[j].id, st,
		    strcmp(st, "stopped") == 0, sn->exit_code, NULL,
		    sn->restart_count);
	}
	converge_seen_prune(c);
	if (c->have_desired)
		converge_insts_prune(c);

	pthread_mutex_lock(&c->lock);
	c->ncontainers = owned;
	pthread_mutex_unlock(&c->lock);

	frame = json_pack("{s:s, s:I, s:o}", "type", PROTO_T_STATE,
	    "generation", (json_int_t)c->generation, "containers", items);
	text = json_dumps(frame, JSON_COMPACT);
	json_decref(frame);
	if (text != NULL && (force_state || c->last_state == NULL ||
	    strcmp(text, c->last_state) != 0 ||
	    now - c->last_state_at >= (int64_t)c->cfg->resync_interval_s *
	    1000)) {
		free(c->last_state);
		c->last_state = xstrdup(text);
		c->last_state_at = now;
		log_debug("state: %zu containers, generation %lld",
		    json_array_size(items), (long long)c->generation);
		conn_send(c->conn, text);
	} else
		free(text);

	converge_listed_free(l, nl);
	converge_imgcheck_free(ic, nic);
	free(fix);
	free(want);
	free(act);
	free(p.act);
	free(p.match);
	free(p.remove);
	return changed;
}

/* Take a posted desired frame into the converge thread's own state. */
static void
converge_apply_desired(struct converge *c, char *text)
{
	struct spec *specs;
	size_t n;
	int64_t gen;
	char *cause = NULL, esc[512];

	if (spec_parse_desired(text, c->node_id, &specs, &n, &gen,
	    &cause) != 0) {
		log_warn("%s", log_escape(esc, sizeof esc, cause));
		free(cause);
		return;
	}
	if (c->have_desired && gen < c->generation)
		log_info("desired: generation went back %lld -> %lld "
		    "(master restarted?)", (long long)c->generation,
		    (long long)gen);
	log_info("desired: generation %lld, %zu containers", (long long)gen,
	    n);
	spec_free_array(c->specs, c->nspecs);
	c->specs = specs;
	c->nspecs = n;
	c->generation = gen;
	c->have_desired = 1;
}

static void
converge_learn_version(struct converge *c)
{
	char *v = NULL, *cause = NULL, esc[256];

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
	conn_send(c->conn, nodeinfo_frame(v));
}

static void *
converge_main(void *arg)
{
	struct converge *c = arg;
	struct timespec ts;
	int64_t next = 0, now, delay;
	char *desired;
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
		c->desired_text = NULL;
		force = c->session;
		c->session = 0;
		c->kick = 0;
		pthread_mutex_unlock(&c->lock);

		if (!have_version) {
			converge_learn_version(c);
			have_version = c->docker_version != NULL;
		}
		if (desired != NULL) {
			converge_apply_desired(c, desired);
			free(desired);
			force = 1;
		}
		delay = converge_pass(c, force) ? CONVERGE_SOON_MS :
		    CONVERGE_POLL_MS;
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
	pthread_mutex_lock(&c->lock);
	atomic_store(&c->stop, 1);
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
	if (c->started)
		pthread_join(c->thread, NULL);
	workers_free(c->workers);	/* after the only thread submitting */
	portprobe_free(c->probes);	/* joins probes (each <= 300 ms) */
	pull_free(c->pull);
	docker_free(c->docker);
	inflight_clear(&c->inflight);
	spec_free_array(c->specs, c->nspecs);
	for (i = 0; i < c->ninsts; i++) {
		free(c->insts[i].error);
		portprobe_rec_clear(&c->insts[i].probe);
	}
	free(c->insts);
	for (i = 0; i < c->nseen; i++) {
		free(c->seen[i].id);
		free(c->seen[i].started_at);
	}
	free(c->seen);
	free(c->desired_text);
	free(c->docker_version);
	free(c->last_state);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
	free(c);
}
