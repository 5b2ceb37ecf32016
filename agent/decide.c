/*
 * decide.c - the per-instance converge decision (see decide.h).
 *
 * Called by converge.c on the converge thread, once per wanted instance
 * and pass, after plan_compute(); called by the unit tests with made-up
 * containers, inspects and records. Pure: no I/O, no clock, no lock.
 *
 * Rules, in the order they are tried:
 *  - a running container is kept; it is "starting" until it has been up
 *    for its settle time (spec->settle_s; a passed Docker health check
 *    counts at once: the hook for health checks) and its wait_for_port
 *    answers (portprobe_decide() says when to probe; a start the inspect
 *    does not know yet is inspected again first); one that Docker
 *    restarted after an exit and that has not settled yet is "crashing";
 *    after DECIDE_HEALTHY_MS of running its backoff is forgotten;
 *  - a paused container is kept and reported "paused" (an operator froze
 *    it: not the agent's to undo, not healthy either);
 *  - a restarting container is kept (Docker's policy is on it) and
 *    reported "crashing" with its exit code and last output;
 *  - a created or exited container is started, unless an action of the
 *    instance is in flight or its backoff has not passed;
 *  - with no container of its rev: wait while an action of the instance
 *    is in flight (its create, or the old container's removal), while a
 *    listed container still has its name (an old one on its way out), or
 *    while its backoff runs; else create once its image is here;
 *  - a failure (create, start, image check) is reported as "error" until
 *    an attempt succeeds; a failed pull is the instance's error but its
 *    backoff is the pull thread's (per image);
 *  - before all of these: an instance whose service an operator stopped
 *    is never created or started; its running container is stopped
 *    (with its own grace) and kept, and it is reported "stopped";
 *  - the instance's own container is the one with its name
 *    (decide_is_own()): a container with its labels under another name
 *    is a stranger, removed and never reported;
 *  - a create refused because the name is taken is no failure while the
 *    holder is this node's own old container, and an ordinary failure
 *    (error, backoff) when it is anyone else's (decide_rec_name_taken()).
 */
#include "agent/decide.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "agent/backoff.h"
#include "agent/spec.h"
#include "common/xmalloc.h"

static const char *decide_state_names[] = {
	[DECIDE_ST_PENDING] = "pending",
	[DECIDE_ST_PULLING] = "pulling",
	[DECIDE_ST_CREATED] = "created",
	[DECIDE_ST_STARTING] = "starting",
	[DECIDE_ST_RUNNING] = "running",
	[DECIDE_ST_PAUSED] = "paused",
	[DECIDE_ST_CRASHING] = "crashing",
	[DECIDE_ST_STOPPED] = "stopped",
	[DECIDE_ST_ERROR] = "error",
	[DECIDE_ST_REMOVING] = "removing",
};

static const char *decide_reason_names[] = {
	[DECIDE_R_RUNNING] = "running",
	[DECIDE_R_PORT_WAIT] = "waiting for its port",
	[DECIDE_R_SETTLING] = "settling",
	[DECIDE_R_PAUSED] = "paused",
	[DECIDE_R_RESTARTING] = "restarting",
	[DECIDE_R_EXITED] = "exited",
	[DECIDE_R_CREATED] = "created",
	[DECIDE_R_ABSENT] = "absent",
	[DECIDE_R_NO_IMAGE] = "no image",
	[DECIDE_R_IN_FLIGHT] = "action in flight",
	[DECIDE_R_BACKOFF] = "backing off",
	[DECIDE_R_NAME_TAKEN] = "name still taken",
	[DECIDE_R_IMAGE_ERROR] = "image check failed",
	[DECIDE_R_PULLING] = "pulling",
	[DECIDE_R_PULL_FAILED] = "pull failed",
	[DECIDE_R_STOP] = "service stopped: stopping it",
	[DECIDE_R_HELD] = "service stopped",
	[DECIDE_R_HEALTH_WAIT] = "waiting for a health check to pass",
	[DECIDE_R_UNHEALTHY] = "unhealthy: restarting it",
	[DECIDE_R_NETWORK_WAIT] = "waiting for the grid network",
};

const char *
decide_state_name(enum decide_state st)
{
	return decide_state_names[st];
}

const char *
decide_reason_name(enum decide_reason why)
{
	return decide_reason_names[why];
}

enum decide_state
decide_listed_state(enum plan_state st)
{
	if (st == PLAN_ST_RUNNING)
		return DECIDE_ST_RUNNING;
	if (st == PLAN_ST_PAUSED)
		return DECIDE_ST_PAUSED;
	if (st == PLAN_ST_RESTARTING)
		return DECIDE_ST_CRASHING;
	return st == PLAN_ST_CREATED ? DECIDE_ST_CREATED : DECIDE_ST_STOPPED;
}

void
decide_rec_init(struct decide_rec *r, int64_t service_id, int64_t instance,
    int64_t rev)
{
	memset(r, 0, sizeof *r);
	r->service_id = service_id;
	r->instance = instance;
	r->rev = rev;
}

void
decide_rec_clear(struct decide_rec *r)
{
	if (r == NULL)
		return;
	free(r->error);
	r->error = NULL;
	portprobe_rec_clear(&r->probe);
	health_rec_clear(&r->health);
	decide_rec_hook_runs(r, NULL, 0);
}

void
decide_rec_hook_runs(struct decide_rec *r, const struct hook_run *runs,
    size_t n)
{
	size_t i;

	for (i = 0; i < r->nhook_runs; i++)
		hook_run_clear(&r->hook_runs[i]);
	free(r->hook_runs);
	r->hook_runs = NULL;
	r->nhook_runs = 0;
	if (n == 0)
		return;
	r->hook_runs = xcalloc(n, sizeof *r->hook_runs);
	for (i = 0; i < n; i++)
		hook_run_copy(&r->hook_runs[i], &runs[i]);
	r->nhook_runs = n;
}

void
decide_rec_health_restarted(struct decide_rec *r, int ok)
{
	health_restarted(&r->health, ok);
	if (ok)
		r->agent_restarts++;
}

void
decide_rec_failed(struct decide_rec *r, char *cause, int64_t now)
{
	free(r->error);
	r->error = cause;
	r->pull_failed = 0;
	r->not_before = now + backoff_plain_ms(r->attempts,
	    DECIDE_RETRY_BASE_MS, DECIDE_RETRY_CAP_MS);
	r->attempts++;
}

void
decide_rec_name_busy(struct decide_rec *r, int64_t now)
{
	r->not_before = now + DECIDE_NAME_BUSY_MS;
}

void
decide_rec_name_taken(struct decide_rec *r, enum decide_holder who,
    const char *name, const char *holder_id, char *cause, int64_t now)
{
	char *why;

	if (who == DECIDE_HOLDER_OURS) {
		free(cause);
		decide_rec_name_busy(r, now);
		return;
	}
	xasprintf(&why, "the name %s is taken by container %.12s, which is "
	    "not this node's (%s)", name, holder_id != NULL ? holder_id : "?",
	    cause != NULL ? cause : "create: name in use");
	free(cause);
	decide_rec_failed(r, why, now);
}

int
decide_is_own(const struct spec *s, const struct observe_container *c)
{
	return c->name != NULL && strcmp(c->name, s->name) == 0;
}

void
decide_rec_created(struct decide_rec *r)
{
	free(r->error);
	r->error = NULL;
	r->attempts++;		/* reset after DECIDE_HEALTHY_MS */
}

void
decide_rec_started(struct decide_rec *r, int was_exited, int64_t now)
{
	if (was_exited)
		r->agent_restarts++;
	free(r->error);
	r->error = NULL;
	r->not_before = now + backoff_plain_ms(r->attempts,
	    DECIDE_RETRY_BASE_MS, DECIDE_RETRY_CAP_MS);
	r->attempts++;
}

/* A new revision starts afresh: its counters are not the old one's. */
static void
decide_rec_rev(struct decide_rec *r, int64_t rev)
{
	if (r->rev == rev)
		return;
	r->rev = rev;
	r->attempts = 0;
	r->not_before = 0;
	r->agent_restarts = 0;
	free(r->error);
	r->error = NULL;
	health_rec_clear(&r->health);
}

static void
decide_set(struct decide_out *out, enum decide_action action,
    enum decide_reason why)
{
	out->action = action;
	out->reason = why;
}

static void
decide_due(struct decide_out *out, int64_t ms)
{
	if (out->due < 0 || ms < out->due)
		out->due = ms;
}

/*
 * The error that goes with the state: a failure, or why it cannot probe;
 * for an instance with a health check that is not healthy, the last
 * failed probe ("unhealthy: ..."), which a deploy that times out waiting
 * for it quotes.
 */
static void
decide_finish(const struct spec *s, struct decide_rec *r,
    struct decide_out *out)
{
	if (out->state == DECIDE_ST_ERROR || out->state == DECIDE_ST_PULLING)
		out->error = r->error;
	else if (out->state == DECIDE_ST_STARTING)
		out->error = r->probe.error;
	else
		out->error = NULL;
	if (s == NULL || s->health.port <= 0)
		return;
	out->health = r->health.status;
	out->health_error = r->health.error;
	out->health_restarts = r->health.restarts;
	if (r->health.error != NULL && out->error == NULL &&
	    (out->state == DECIDE_ST_STARTING ||
	    out->state == DECIDE_ST_RUNNING)) {
		free(out->msg);
		xasprintf(&out->msg, "unhealthy: %s", r->health.error);
		out->error = out->msg;
	}
}

/*
 * The health check of a running container: launch its probe when due,
 * restart it when HEALTH_FAILS_RESTART probes failed in a row. Returns
 * whether a probe of this start passed (the instance is settled).
 */
static int
decide_health(const struct spec *s, const struct observe_container *m,
    const struct observe_inspect *ins, struct decide_rec *r,
    const struct decide_facts *f, int64_t now, struct decide_out *out)
{
	char *key = NULL;
	int launch;
	int64_t due;

	if (ins->started_at != NULL && (ins->pid > 0 || ins->host_net))
		key = portprobe_key(m->id, ins->started_at);
	else {
		out->reinspect = 1;	/* inspected before it ran */
		decide_due(out, PORTPROBE_FAST_MS);
	}
	health_decide(&r->health, &s->health, key, now, &launch, &due);
	if (due >= 0)
		decide_due(out, due);
	if (launch) {
		out->health_probe = 1;
		out->health_key = key;
		out->health_pid = ins->host_net ? 0 : ins->pid;
		out->health_addr = ins->host_net ? NULL : ins->ip;
		key = NULL;
	}
	free(key);
	if (r->health.restart == 1 && !f->busy) {
		r->health.restart = 2;		/* handed to a worker */
		decide_set(out, DECIDE_RESTART, DECIDE_R_UNHEALTHY);
		out->soon = 1;
	}
	return r->health.passed;
}

/*
 * Its container runs: "running" once settled (up for settle_s, or a health
 * check passed) with its port answering; before, "starting", or
 * "crashing" when Docker restarted it after an exit.
 */
static void
decide_running(const struct spec *s, const struct observe_container *m,
    const struct observe_inspect *ins, struct decide_rec *r,
    const struct decide_facts *f, int64_t now, struct decide_out *out)
{
	char *key = NULL;
	int starting, launch, settled, held;
	int64_t due, settle_ms = (int64_t)s->settle_s * 1000;

	/*
	 * With a health check, a passed probe settles it, nothing else.
	 * Held: what is not a probe keeps it unsettled (its settle time;
	 * its create or start still running, post_start hooks say, until
	 * that has ended well).
	 */
	held = f->busy || (s->health.port <= 0 && !ins->healthy &&
	    settle_ms > 0 && (f->up_ms < 0 || f->up_ms < settle_ms));
	if (s->health.port > 0)
		settled = decide_health(s, m, ins, r, f, now, out) && !held;
	else
		settled = !held;
	if (!settled) {
		/* Watch it closely until it settles: an exit and Docker's
		 * restart between two passes shows only in the inspect. */
		out->reinspect = 1;
		decide_due(out, f->up_ms >= 0 && settle_ms - f->up_ms <
		    DECIDE_SETTLE_POLL_MS ? settle_ms - f->up_ms + 1 :
		    DECIDE_SETTLE_POLL_MS);
	}

	if (s->wait_for_port > 0 && ins->started_at != NULL &&
	    (ins->pid > 0 || ins->host_net))
		key = portprobe_key(m->id, ins->started_at);
	else if (s->wait_for_port > 0) {
		out->reinspect = 1;	/* inspected before it ran */
		decide_due(out, PORTPROBE_FAST_MS);
	}
	starting = portprobe_decide(&r->probe, s->wait_for_port, key, now,
	    &launch, &due);
	if (due >= 0)
		decide_due(out, due);
	if (launch) {
		out->probe = 1;
		out->probe_key = key;
		out->probe_pid = ins->host_net ? 0 : ins->pid;
		key = NULL;
	}
	free(key);
	if (r->running_since == 0)
		r->running_since = now;
	if (now - r->running_since >= DECIDE_HEALTHY_MS) {
		r->attempts = 0;
		r->not_before = 0;
	}
	free(r->error);
	r->error = NULL;
	out->state = starting || !settled ? DECIDE_ST_STARTING :
	    DECIDE_ST_RUNNING;
	if (out->action != DECIDE_RESTART)
		decide_set(out, DECIDE_KEEP, !settled ? s->health.port > 0 ?
		    DECIDE_R_HEALTH_WAIT : DECIDE_R_SETTLING :
		    starting ? DECIDE_R_PORT_WAIT : DECIDE_R_RUNNING);
	if (!settled && ins->restart_count > 0 && ins->exit_known) {
		/* Docker restarted it after an exit moments ago (one the
		 * agent saw: Docker forgets the exit code on a restart). */
		out->state = DECIDE_ST_CRASHING;
		out->has_exit = 1;
		out->exit_code = ins->exit_code;
		out->output = ins->last_output;
	}
	/* Its probes may pass within the pass: then it runs (converge.c). */
	out->probes_only = out->state == DECIDE_ST_STARTING && !held;
}

/* Its container is created, exited or restarting. */
static void
decide_stopped(const struct observe_container *m,
    const struct observe_inspect *ins, struct decide_rec *r,
    const struct decide_facts *f, int64_t now, struct decide_out *out)
{
	r->running_since = 0;
	portprobe_rec_clear(&r->probe);
	health_rec_idle(&r->health);
	out->state = m->a.state == PLAN_ST_CREATED ? DECIDE_ST_CREATED :
	    DECIDE_ST_STOPPED;
	out->has_exit = m->a.state != PLAN_ST_CREATED;
	out->exit_code = ins->exit_code;
	if (out->has_exit)
		out->output = ins->last_output;
	if (f->act != PLAN_START) {
		out->state = DECIDE_ST_CRASHING;
		out->has_exit = ins->exit_known;
		decide_set(out, DECIDE_KEEP, DECIDE_R_RESTARTING);
		return;
	}
	if (f->busy)
		decide_set(out, DECIDE_WAIT, DECIDE_R_IN_FLIGHT);
	else if (now < r->not_before)
		decide_set(out, DECIDE_WAIT, DECIDE_R_BACKOFF);
	else {
		decide_set(out, DECIDE_START, m->a.state == PLAN_ST_CREATED ?
		    DECIDE_R_CREATED : DECIDE_R_EXITED);
		out->soon = 1;
	}
	/* A retry keeps the last failure reported until it succeeds. */
	if (r->error != NULL)
		out->state = DECIDE_ST_ERROR;
	/* Stopped by its health restart, which is still under way. */
	else if (r->health.restart == 2 && f->busy) {
		out->state = DECIDE_ST_STARTING;
		out->has_exit = 0;
		out->output = NULL;
	}
}

/* No container of its rev. */
static void
decide_absent(struct decide_rec *r, const struct decide_facts *f,
    int64_t now, struct decide_out *out)
{
	r->running_since = 0;
	portprobe_rec_clear(&r->probe);
	health_rec_idle(&r->health);
	out->state = r->error == NULL ? DECIDE_ST_PENDING : r->pull_failed ?
	    DECIDE_ST_PULLING : DECIDE_ST_ERROR;
	if (f->busy)		/* being created, or its old one removed */
		decide_set(out, DECIDE_WAIT, DECIDE_R_IN_FLIGHT);
	else if (f->name_taken) {
		/* Its old container goes first (an agent restarted while
		 * removing it has lost its in-flight table). */
		decide_set(out, DECIDE_WAIT, DECIDE_R_NAME_TAKEN);
		out->state = DECIDE_ST_PENDING;
		out->soon = 1;
	} else if (now < r->not_before)
		decide_set(out, DECIDE_WAIT, DECIDE_R_BACKOFF);
	else
		decide_set(out, DECIDE_CREATE, DECIDE_R_ABSENT);
}

/* Its service is stopped: stop a running container, start nothing. */
static void
decide_held(const struct observe_container *m,
    const struct observe_inspect *ins, struct decide_rec *r,
    const struct decide_facts *f, struct decide_out *out)
{
	r->running_since = 0;
	portprobe_rec_clear(&r->probe);
	health_rec_idle(&r->health);
	free(r->error);
	r->error = NULL;
	out->state = DECIDE_ST_STOPPED;
	if (m == NULL || (m->a.state != PLAN_ST_RUNNING &&
	    m->a.state != PLAN_ST_RESTARTING)) {
		/* Exited, created, or none at all: that is what is wanted. */
		out->has_exit = m != NULL && m->a.state == PLAN_ST_EXITED;
		out->exit_code = out->has_exit ? ins->exit_code : 0;
		decide_set(out, DECIDE_KEEP, DECIDE_R_HELD);
		return;
	}
	out->state = DECIDE_ST_RUNNING;		/* until the stop is done */
	if (f->busy)
		decide_set(out, DECIDE_WAIT, DECIDE_R_IN_FLIGHT);
	else {
		decide_set(out, DECIDE_STOP, DECIDE_R_STOP);
		out->soon = 1;
	}
}

void
decide_instance(const struct spec *s, const struct observe_container *m,
    const struct observe_inspect *ins, struct decide_rec *r,
    const struct decide_facts *f, int64_t now, struct decide_out *out)
{
	assert((m == NULL) == (f->act == PLAN_CREATE));
	assert(m == NULL || ins != NULL);
	memset(out, 0, sizeof *out);
	out->due = -1;
	decide_rec_rev(r, s->rev);
	out->restarts = r->agent_restarts;
	if (m != NULL)
		out->restarts += ins->restart_count;
	if (s->stopped)
		decide_held(m, ins, r, f, out);
	else if (m == NULL)
		decide_absent(r, f, now, out);
	else {
		if (m->a.state == PLAN_ST_RUNNING)
			decide_running(s, m, ins, r, f, now, out);
		else if (m->a.state == PLAN_ST_PAUSED) {
			out->state = DECIDE_ST_PAUSED;
			decide_set(out, DECIDE_KEEP, DECIDE_R_PAUSED);
		} else
			decide_stopped(m, ins, r, f, now, out);
	}
	decide_finish(s, r, out);
}

void
decide_image(struct decide_rec *r, int image_rc, char *cause, int64_t now,
    struct decide_out *out)
{
	assert(out->action == DECIDE_CREATE);
	if (image_rc > 0) {
		free(cause);
		out->soon = 1;
	} else if (image_rc == 0) {
		free(cause);
		decide_set(out, DECIDE_PULL, DECIDE_R_NO_IMAGE);
	} else {
		decide_rec_failed(r, cause != NULL ? cause :
		    xstrdup("image check"), now);
		decide_set(out, DECIDE_WAIT, DECIDE_R_IMAGE_ERROR);
		out->state = DECIDE_ST_ERROR;
	}
	decide_finish(NULL, r, out);
}

void
decide_network_wait(struct decide_rec *r, const char *why,
    struct decide_out *out)
{
	assert(out->action == DECIDE_CREATE);
	decide_set(out, DECIDE_WAIT, DECIDE_R_NETWORK_WAIT);
	out->state = DECIDE_ST_PENDING;
	decide_finish(NULL, r, out);
	free(out->msg);
	xasprintf(&out->msg, "%s: %s", decide_reason_name(out->reason), why);
	out->error = out->msg;
}

void
decide_pull(struct decide_rec *r, enum pull_status st, char *error,
    struct decide_out *out)
{
	assert(out->action == DECIDE_PULL);
	if (st == PULL_PULLING) {
		free(error);
		decide_set(out, DECIDE_WAIT, DECIDE_R_PULLING);
		out->state = DECIDE_ST_PULLING;
	} else {
		/* Still "pulling": the pull thread retries it, and a deploy
		 * waits for it within its time, with this as the reason. */
		free(r->error);
		r->error = error;
		r->pull_failed = 1;
		decide_set(out, DECIDE_WAIT, DECIDE_R_PULL_FAILED);
		out->state = DECIDE_ST_PULLING;
	}
	decide_finish(NULL, r, out);
}
