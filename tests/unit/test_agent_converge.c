/*
 * test_agent_converge.c - unit tests of the converge pass's parts, without
 * Docker:
 *  - decide.c, the per-instance decision, branch by branch: create when
 *    absent, keep when running, replace on a new rev, restart an exited
 *    container with backoff, waits (in flight, old name, backoff), image
 *    check and pull failures, wait_for_port, and the records' arithmetic
 *    for worker results;
 *  - decide.c with plan.c: a container of an unknown instance goes while
 *    the wanted one is started;
 *  - observe.c: the list and inspect parsers, and against a fake engine
 *    (a unix socket answering canned JSON) the node-label re-check, the
 *    inspect cache's lifetime, and one image check per pass;
 *  - pull.c against the fake engine: a failed pull is not retried before
 *    its backoff, and the reason is the engine's error line.
 */
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/socket.h>
#include <sys/un.h>

#include <curl/curl.h>
#include <jansson.h>

#include "agent/decide.h"
#include "agent/docker.h"
#include "agent/foreign.h"
#include "agent/observe.h"
#include "agent/plan.h"
#include "agent/pull.h"
#include "agent/spec.h"
#include "common/util.h"
#include "test.h"

#define NODE	"0123456789abcdef0123456789abcdef"

/* A wanted instance as decide.c sees it (name, image and body unused). */
static struct spec
spec_of(int64_t sid, int64_t inst, int64_t rev, int port)
{
	struct spec s;

	memset(&s, 0, sizeof s);
	s.name = "web.web-1";
	s.service_id = sid;
	s.instance = inst;
	s.rev = rev;
	s.image = "berth-test/busybox:latest";
	s.wait_for_port = port;
	return s;
}

/* A listed container of (sid, inst, rev) in state st. */
static struct observe_container
listed(const char *id, int64_t sid, int64_t inst, int64_t rev,
    enum plan_state st)
{
	struct observe_container c;

	memset(&c, 0, sizeof c);
	c.id = (char *)id;
	c.name = "web.web-1";
	c.a.labelled = 1;
	c.a.service_id = sid;
	c.a.instance = inst;
	c.a.rev = rev;
	c.a.state = st;
	return c;
}

/* decide_instance() with the facts spelled out; frees the probe key. */
static void
decide(const struct spec *s, const struct observe_container *m,
    const struct observe_inspect *ins, struct decide_rec *r, int busy,
    int name_taken, int64_t now, struct decide_out *out)
{
	struct decide_facts f;

	f.act = m == NULL ? PLAN_CREATE : m->a.state == PLAN_ST_CREATED ||
	    m->a.state == PLAN_ST_EXITED ? PLAN_START : PLAN_KEEP;
	f.busy = busy;
	f.name_taken = name_taken;
	f.up_ms = -1;
	decide_instance(s, m, ins, r, &f, now, out);
	free(out->probe_key);
	out->probe_key = NULL;
}

/* decide() for a listed container that has been up up_ms. */
static void
decide_up(const struct spec *s, const struct observe_container *m,
    const struct observe_inspect *ins, struct decide_rec *r, int64_t up_ms,
    int64_t now, struct decide_out *out)
{
	struct decide_facts f = { PLAN_KEEP, 0, 0, up_ms };

	decide_instance(s, m, ins, r, &f, now, out);
	free(out->probe_key);
	out->probe_key = NULL;
}

/*
 * Issue 19.1 and 21.6: a container counts as running only once it has
 * stayed up for its settle time (or a health check passed); one that
 * Docker restarts after exits is crashing, with its exit code, restarts
 * and last output; a paused one is paused.
 */
static void
test_decide_settle_crash_pause(void)
{
	struct spec s = spec_of(1, 1, 1, 0);
	struct observe_container run = listed("c1", 1, 1, 1, PLAN_ST_RUNNING);
	struct observe_container rs = listed("c1", 1, 1, 1,
	    PLAN_ST_RESTARTING);
	struct observe_container pz = listed("c1", 1, 1, 1, PLAN_ST_PAUSED);
	struct observe_inspect ins = { .exit_code = 0 };
	struct decide_rec r;
	struct decide_out out;

	s.settle_s = 5;
	decide_rec_init(&r, 1, 1, 1);
	/* Up a second: starting, looked at again soon and closely. */
	decide_up(&s, &run, &ins, &r, 1000, 1000, &out);
	CHECK_INT(out.action, DECIDE_KEEP);
	CHECK_INT(out.reason, DECIDE_R_SETTLING);
	CHECK_INT(out.state, DECIDE_ST_STARTING);
	CHECK_INT(out.reinspect, 1);
	CHECK(out.due > 0 && out.due <= DECIDE_SETTLE_POLL_MS);
	CHECK_INT(out.has_exit, 0);
	/* Up unknown (no StartedAt yet): not settled either. */
	decide_up(&s, &run, &ins, &r, -1, 1000, &out);
	CHECK_INT(out.state, DECIDE_ST_STARTING);
	/* Up past the settle time: running. */
	decide_up(&s, &run, &ins, &r, 5000, 5000, &out);
	CHECK_INT(out.state, DECIDE_ST_RUNNING);
	CHECK_INT(out.reason, DECIDE_R_RUNNING);
	CHECK_INT(out.reinspect, 0);
	/* A passed health check counts at once (issue 15 acts on checks). */
	ins.healthy = 1;
	decide_up(&s, &run, &ins, &r, 100, 5100, &out);
	CHECK_INT(out.state, DECIDE_ST_RUNNING);
	ins.healthy = 0;
	/* No settle time: running at once. */
	s.settle_s = 0;
	decide_up(&s, &run, &ins, &r, 0, 5200, &out);
	CHECK_INT(out.state, DECIDE_ST_RUNNING);
	s.settle_s = 5;
	/* Docker restarted it after an exit and it has not settled. */
	ins.restart_count = 2;
	ins.last_output = "booting\nboom";
	/* ... but its exit is not known yet: still starting. */
	decide_up(&s, &run, &ins, &r, 300, 6000, &out);
	CHECK_INT(out.state, DECIDE_ST_STARTING);
	ins.exit_code = 3;
	ins.exit_known = 1;
	decide_up(&s, &run, &ins, &r, 300, 6000, &out);
	CHECK_INT(out.action, DECIDE_KEEP);
	CHECK_INT(out.state, DECIDE_ST_CRASHING);
	CHECK_INT(out.has_exit, 1);
	CHECK_INT(out.exit_code, 3);
	CHECK_INT(out.restarts, 2);
	CHECK_STR(out.output, "booting\nboom");
	/* Restarting: crashing, with the same facts. */
	decide_up(&s, &rs, &ins, &r, -1, 6500, &out);
	CHECK_INT(out.action, DECIDE_KEEP);
	CHECK_INT(out.reason, DECIDE_R_RESTARTING);
	CHECK_INT(out.state, DECIDE_ST_CRASHING);
	CHECK_INT(out.exit_code, 3);
	CHECK_STR(out.output, "booting\nboom");
	/* It stayed up after all: running, its past restarts counted. */
	decide_up(&s, &run, &ins, &r, 9000, 16000, &out);
	CHECK_INT(out.state, DECIDE_ST_RUNNING);
	CHECK_INT(out.restarts, 2);
	CHECK(out.output == NULL);
	/* Paused by hand: kept, and said. */
	decide_up(&s, &pz, &ins, &r, 9000, 17000, &out);
	CHECK_INT(out.action, DECIDE_KEEP);
	CHECK_INT(out.reason, DECIDE_R_PAUSED);
	CHECK_INT(out.state, DECIDE_ST_PAUSED);
	CHECK_STR(decide_state_name(DECIDE_ST_PAUSED), "paused");
	CHECK_STR(decide_state_name(DECIDE_ST_CRASHING), "crashing");
	decide_rec_clear(&r);
}

/* The last lines of a logs answer, multiplexed or raw, made printable. */
static void
test_observe_parse_logs(void)
{
	static const char mux[] =
	    "\x01\0\0\0\0\0\0\x0c" "one\ntwo\nthr\n"
	    "\x02\0\0\0\0\0\0\x0e" "four\nfive\nsix\n"
	    "\x01\0\0\0\0\0\0\x06" "bo\x1bm\n\n";
	char *s;

	s = observe_parse_logs(mux, sizeof mux - 1);
	CHECK_STR(s, "thr\nfour\nfive\nsix\nbo?m");
	free(s);
	s = observe_parse_logs("plain\ntext\n", 11);
	CHECK_STR(s, "plain\ntext");
	free(s);
	CHECK(observe_parse_logs("\n\n", 2) == NULL);
	CHECK(observe_parse_logs(NULL, 0) == NULL);
}

static void
test_decide_create_when_absent(void)
{
	struct spec s = spec_of(1, 1, 1, 0);
	struct decide_rec r;
	struct decide_out out;

	decide_rec_init(&r, 1, 1, 1);
	decide(&s, NULL, NULL, &r, 0, 0, 1000, &out);
	CHECK_INT(out.action, DECIDE_CREATE);
	CHECK_INT(out.reason, DECIDE_R_ABSENT);
	CHECK_INT(out.state, DECIDE_ST_PENDING);
	CHECK(out.error == NULL);
	CHECK_INT(out.has_exit, 0);
	CHECK_INT(out.restarts, 0);
	/* The image is here: create, and look again soon. */
	decide_image(&r, 1, NULL, 1000, &out);
	CHECK_INT(out.action, DECIDE_CREATE);
	CHECK_INT(out.state, DECIDE_ST_PENDING);
	CHECK_INT(out.soon, 1);
	/* Created: being created reports pending, nothing else is done. */
	decide(&s, NULL, NULL, &r, 1, 0, 1100, &out);
	CHECK_INT(out.action, DECIDE_WAIT);
	CHECK_INT(out.reason, DECIDE_R_IN_FLIGHT);
	CHECK_INT(out.state, DECIDE_ST_PENDING);
	decide_rec_created(&r);
	CHECK_INT(r.attempts, 1);
	CHECK(r.error == NULL);
	decide_rec_clear(&r);
}

static void
test_decide_keep_running(void)
{
	struct spec s = spec_of(1, 1, 1, 0);
	struct observe_container m = listed("c1", 1, 1, 1, PLAN_ST_RUNNING);
	struct observe_inspect ins = { .restart_count = 2, .exit_code = 137 };
	struct decide_rec r;
	struct decide_out out;

	decide_rec_init(&r, 1, 1, 1);
	r.agent_restarts = 1;
	r.error = strdup("an old failure");
	decide(&s, &m, &ins, &r, 0, 0, 5000, &out);
	CHECK_INT(out.action, DECIDE_KEEP);
	CHECK_INT(out.reason, DECIDE_R_RUNNING);
	CHECK_INT(out.state, DECIDE_ST_RUNNING);
	CHECK(out.error == NULL);
	CHECK(r.error == NULL);		/* it runs: the failure is over */
	CHECK_INT(out.has_exit, 0);
	CHECK_INT(out.restarts, 3);	/* Docker's 2 + the agent's 1 */
	CHECK_INT(out.probe, 0);
	CHECK_INT(out.due, -1);
	CHECK_INT(out.soon, 0);
	CHECK_INT(r.running_since, 5000);
	/* Running is not news: it stays where it began. */
	decide(&s, &m, &ins, &r, 0, 0, 7000, &out);
	CHECK_INT(r.running_since, 5000);
	decide_rec_clear(&r);
}

/* Backoff is forgotten after DECIDE_HEALTHY_MS of running, not before. */
static void
test_decide_healthy_resets_backoff(void)
{
	struct spec s = spec_of(1, 1, 1, 0);
	struct observe_container m = listed("c1", 1, 1, 1, PLAN_ST_RUNNING);
	struct observe_container ex = listed("c1", 1, 1, 1, PLAN_ST_EXITED);
	struct observe_inspect ins = { .exit_code = 1 };
	struct decide_rec r;
	struct decide_out out;

	decide_rec_init(&r, 1, 1, 1);
	r.attempts = 4;
	r.not_before = 20000;
	decide(&s, &m, &ins, &r, 0, 0, 10000, &out);
	decide(&s, &m, &ins, &r, 0, 0, 10000 + DECIDE_HEALTHY_MS - 1, &out);
	CHECK_INT(r.attempts, 4);
	CHECK_INT(r.not_before, 20000);
	decide(&s, &m, &ins, &r, 0, 0, 10000 + DECIDE_HEALTHY_MS, &out);
	CHECK_INT(r.attempts, 0);
	CHECK_INT(r.not_before, 0);
	/* It exits: running_since is over; a new run counts afresh. */
	decide(&s, &ex, &ins, &r, 0, 0, 80000, &out);
	CHECK_INT(r.running_since, 0);
	decide_rec_clear(&r);
}

/* A new rev: the old container goes first, then the new one is created. */
static void
test_decide_replace_on_new_rev(void)
{
	struct spec s = spec_of(1, 1, 6, 0);
	struct plan_want w[] = { { 1, 1, 6 } };
	struct plan_actual a[] = { { 1, 1, 1, 5, PLAN_ST_RUNNING, 0, 0 } };
	enum plan_act act[1];
	long match[1];
	int rm[1];
	struct plan p = { act, match, rm };
	struct decide_rec r;
	struct decide_out out;

	plan_compute(w, 1, a, 1, &p);
	CHECK_INT(rm[0], 1);		/* the old rev's container goes */
	CHECK_INT(match[0], -1);	/* and is not the instance's */
	CHECK_INT(act[0], PLAN_CREATE);

	/* The record of rev 5 had failures: rev 6 starts afresh. */
	decide_rec_init(&r, 1, 1, 5);
	r.attempts = 3;
	r.not_before = 999999;
	r.agent_restarts = 2;
	r.error = strdup("start: boom");
	/* The old one's removal is in flight: wait for it. */
	decide(&s, NULL, NULL, &r, 1, 0, 1000, &out);
	CHECK_INT(r.rev, 6);
	CHECK_INT(r.attempts, 0);
	CHECK_INT(r.not_before, 0);
	CHECK_INT(r.agent_restarts, 0);
	CHECK(r.error == NULL);
	CHECK_INT(out.action, DECIDE_WAIT);
	CHECK_INT(out.reason, DECIDE_R_IN_FLIGHT);
	CHECK_INT(out.state, DECIDE_ST_PENDING);
	/* Removed, but still listed (same name): wait, look again soon. */
	decide(&s, NULL, NULL, &r, 0, 1, 1500, &out);
	CHECK_INT(out.action, DECIDE_WAIT);
	CHECK_INT(out.reason, DECIDE_R_NAME_TAKEN);
	CHECK_INT(out.state, DECIDE_ST_PENDING);
	CHECK_INT(out.soon, 1);
	/* Gone: create the new one. */
	decide(&s, NULL, NULL, &r, 0, 0, 2000, &out);
	CHECK_INT(out.action, DECIDE_CREATE);
	decide_rec_clear(&r);
}

/* An exited container is started at once, then with growing backoff. */
static void
test_decide_restart_exited_with_backoff(void)
{
	struct spec s = spec_of(1, 1, 1, 0);
	struct observe_container m = listed("c1", 1, 1, 1, PLAN_ST_EXITED);
	struct observe_inspect ins = { .exit_code = 3, .restart_count = 1 };
	struct decide_rec r;
	struct decide_out out;

	decide_rec_init(&r, 1, 1, 1);
	decide(&s, &m, &ins, &r, 0, 0, 1000, &out);
	CHECK_INT(out.action, DECIDE_START);
	CHECK_INT(out.reason, DECIDE_R_EXITED);
	CHECK_INT(out.state, DECIDE_ST_STOPPED);
	CHECK_INT(out.has_exit, 1);
	CHECK_INT(out.exit_code, 3);
	CHECK_INT(out.soon, 1);
	/* While its start runs: nothing more. */
	decide(&s, &m, &ins, &r, 1, 0, 1050, &out);
	CHECK_INT(out.action, DECIDE_WAIT);
	CHECK_INT(out.reason, DECIDE_R_IN_FLIGHT);
	/* Started (the worker says so): counts as an agent restart. */
	decide_rec_started(&r, 1, 1100);
	CHECK_INT(r.agent_restarts, 1);
	CHECK_INT(r.not_before, 1100 + DECIDE_RETRY_BASE_MS);
	/* It exited again at once: not before 1 s. */
	decide(&s, &m, &ins, &r, 0, 0, 1100 + DECIDE_RETRY_BASE_MS - 1, &out);
	CHECK_INT(out.action, DECIDE_WAIT);
	CHECK_INT(out.reason, DECIDE_R_BACKOFF);
	CHECK_INT(out.state, DECIDE_ST_STOPPED);
	CHECK_INT(out.restarts, 2);	/* Docker's 1 + the agent's 1 */
	decide(&s, &m, &ins, &r, 0, 0, 1100 + DECIDE_RETRY_BASE_MS, &out);
	CHECK_INT(out.action, DECIDE_START);
	decide_rec_started(&r, 1, 3000);
	CHECK_INT(r.not_before, 3000 + 2 * DECIDE_RETRY_BASE_MS);
	/* A start that fails: error, reported while it backs off ... */
	decide_rec_failed(&r, strdup("start: port is already allocated"),
	    6000);
	CHECK_INT(r.not_before, 6000 + 4 * DECIDE_RETRY_BASE_MS);
	decide(&s, &m, &ins, &r, 0, 0, 7000, &out);
	CHECK_INT(out.action, DECIDE_WAIT);
	CHECK_INT(out.state, DECIDE_ST_ERROR);
	CHECK_STR(out.error, "start: port is already allocated");
	CHECK_INT(out.has_exit, 1);
	/* ... and while it retries, until a start succeeds. */
	decide(&s, &m, &ins, &r, 0, 0, 10000, &out);
	CHECK_INT(out.action, DECIDE_START);
	CHECK_INT(out.state, DECIDE_ST_ERROR);
	decide_rec_started(&r, 1, 10100);
	CHECK(r.error == NULL);
	CHECK_INT(r.agent_restarts, 3);
	/* The cap: five minutes however many attempts. */
	r.attempts = 40;
	decide_rec_failed(&r, strdup("again"), 20000);
	CHECK_INT(r.not_before, 20000 + DECIDE_RETRY_CAP_MS);
	decide_rec_clear(&r);
}

static void
test_decide_start_created_keep_restarting(void)
{
	struct spec s = spec_of(1, 1, 1, 0);
	struct observe_container cr = listed("c1", 1, 1, 1, PLAN_ST_CREATED);
	struct observe_container rs = listed("c1", 1, 1, 1,
	    PLAN_ST_RESTARTING);
	struct observe_inspect ins = { .exit_code = 2, .exit_known = 1,
	    .restart_count = 5 };
	struct decide_rec r;
	struct decide_out out;

	decide_rec_init(&r, 1, 1, 1);
	decide(&s, &cr, &ins, &r, 0, 0, 1000, &out);
	CHECK_INT(out.action, DECIDE_START);
	CHECK_INT(out.reason, DECIDE_R_CREATED);
	CHECK_INT(out.state, DECIDE_ST_CREATED);
	CHECK_INT(out.has_exit, 0);
	decide_rec_started(&r, 0, 1000);
	CHECK_INT(r.agent_restarts, 0);	/* a first start is no restart */
	/* Docker's restart policy is on it: keep, report it crashing. */
	r.error = strdup("an old failure");
	decide(&s, &rs, &ins, &r, 0, 0, 9000, &out);
	CHECK_INT(out.action, DECIDE_KEEP);
	CHECK_INT(out.reason, DECIDE_R_RESTARTING);
	CHECK_INT(out.state, DECIDE_ST_CRASHING);
	CHECK_INT(out.has_exit, 1);
	CHECK_INT(out.exit_code, 2);
	CHECK_INT(out.restarts, 5);
	CHECK(out.error == NULL);
	decide_rec_clear(&r);
}

/*
 * A stopped service: a running container is stopped (once, not while a
 * stop is in flight), an exited one is kept and not restarted, an absent
 * one is not created; each is reported "stopped".
 */
static void
test_decide_service_stopped(void)
{
	struct spec s = spec_of(1, 1, 1, 8080);
	struct observe_container run = listed("c1", 1, 1, 1, PLAN_ST_RUNNING);
	struct observe_container ex = listed("c1", 1, 1, 1, PLAN_ST_EXITED);
	struct observe_container rs = listed("c1", 1, 1, 1,
	    PLAN_ST_RESTARTING);
	struct observe_inspect ins = { .exit_code = 143, .restart_count = 1 };
	struct decide_rec r;
	struct decide_out out;

	s.stopped = 1;
	decide_rec_init(&r, 1, 1, 1);
	r.error = strdup("an old failure");
	decide(&s, &run, &ins, &r, 0, 0, 1000, &out);
	CHECK_INT(out.action, DECIDE_STOP);
	CHECK_INT(out.reason, DECIDE_R_STOP);
	CHECK_INT(out.state, DECIDE_ST_RUNNING);	/* until it stopped */
	CHECK_INT(out.probe, 0);		/* no wait_for_port probing */
	CHECK_INT(out.soon, 1);
	CHECK(out.error == NULL);
	/* The stop is in flight: nothing more. */
	decide(&s, &run, &ins, &r, 1, 0, 1100, &out);
	CHECK_INT(out.action, DECIDE_WAIT);
	CHECK_INT(out.reason, DECIDE_R_IN_FLIGHT);
	/* Docker's restart policy at work is stopped too. */
	decide(&s, &rs, &ins, &r, 0, 0, 1200, &out);
	CHECK_INT(out.action, DECIDE_STOP);
	/* Exited: kept as it is, never started again. */
	decide(&s, &ex, &ins, &r, 0, 0, 900000, &out);
	CHECK_INT(out.action, DECIDE_KEEP);
	CHECK_INT(out.reason, DECIDE_R_HELD);
	CHECK_INT(out.state, DECIDE_ST_STOPPED);
	CHECK_INT(out.has_exit, 1);
	CHECK_INT(out.exit_code, 143);
	CHECK_INT(out.restarts, 1);
	/* Absent: not created, reported stopped without an exit code. */
	decide(&s, NULL, NULL, &r, 0, 0, 900000, &out);
	CHECK_INT(out.action, DECIDE_KEEP);
	CHECK_INT(out.state, DECIDE_ST_STOPPED);
	CHECK_INT(out.has_exit, 0);
	/* Started again: the exited container is started. */
	s.stopped = 0;
	decide(&s, &ex, &ins, &r, 0, 0, 900000, &out);
	CHECK_INT(out.action, DECIDE_START);
	decide_rec_clear(&r);
}

/* Waits of a missing instance, and what each one reports. */
static void
test_decide_create_waits(void)
{
	struct spec s = spec_of(1, 1, 1, 0);
	struct decide_rec r;
	struct decide_out out;

	decide_rec_init(&r, 1, 1, 1);
	decide_rec_failed(&r, strdup("create: Conflict"), 1000);
	CHECK_INT(r.attempts, 1);
	/* Backoff: the failure stays the news. */
	decide(&s, NULL, NULL, &r, 0, 0, 1500, &out);
	CHECK_INT(out.action, DECIDE_WAIT);
	CHECK_INT(out.reason, DECIDE_R_BACKOFF);
	CHECK_INT(out.state, DECIDE_ST_ERROR);
	CHECK_STR(out.error, "create: Conflict");
	/* Its create in flight: still the last failure until it succeeds. */
	decide(&s, NULL, NULL, &r, 1, 0, 2500, &out);
	CHECK_INT(out.reason, DECIDE_R_IN_FLIGHT);
	CHECK_INT(out.state, DECIDE_ST_ERROR);
	/* The name is taken by the old one: pending, whatever failed. */
	decide(&s, NULL, NULL, &r, 0, 1, 2500, &out);
	CHECK_INT(out.reason, DECIDE_R_NAME_TAKEN);
	CHECK_INT(out.state, DECIDE_ST_PENDING);
	CHECK(out.error == NULL);
	/* A retry keeps reporting the failure while it is created. */
	decide(&s, NULL, NULL, &r, 0, 0, 2500, &out);
	CHECK_INT(out.action, DECIDE_CREATE);
	decide_image(&r, 1, NULL, 2500, &out);
	CHECK_INT(out.action, DECIDE_CREATE);
	CHECK_INT(out.state, DECIDE_ST_ERROR);
	/* "is already in use": not its fault; soon again, no attempt. */
	decide_rec_name_busy(&r, 3000);
	CHECK_INT(r.not_before, 3000 + DECIDE_NAME_BUSY_MS);
	CHECK_INT(r.attempts, 1);
	CHECK_STR(r.error, "create: Conflict");
	decide_rec_clear(&r);
}

/*
 * A name squatter (issue 21.5): a container that is not this node's holds
 * the name the instance needs. The create fails into "error" with the
 * engine's reason and is retried with the backoff docs/agent.md promises
 * (1 s, 2 s, 4 s ...), not twice a second for ever; this node's own old
 * container holding the name is no failure, only a short wait.
 */
static void
test_decide_name_squatter(void)
{
	struct spec s = spec_of(1, 1, 1, 0);
	struct decide_rec r;
	struct decide_out out;
	const char *conflict = "create: Conflict. The container name "
	    "\"/web.web-1\" is already in use by container \"0a1b2c3d4e5f6a7b\"."
	    " You have to remove (or rename) that container to be able to "
	    "reuse that name.";
	int64_t t = 1000;
	int i;

	decide_rec_init(&r, 1, 1, 1);
	/* Our own old container: pending, look again in half a second. */
	decide_rec_name_taken(&r, DECIDE_HOLDER_OURS, "web.web-1",
	    "0a1b2c3d4e5f6a7b", strdup(conflict), t);
	CHECK(r.error == NULL);
	CHECK_INT(r.attempts, 0);
	CHECK_INT(r.not_before, t + DECIDE_NAME_BUSY_MS);
	decide(&s, NULL, NULL, &r, 0, 0, t + 100, &out);
	CHECK_INT(out.state, DECIDE_ST_PENDING);
	CHECK_INT(out.action, DECIDE_WAIT);
	t = r.not_before;
	/* A stranger's: an error with the engine's words, and the backoff. */
	for (i = 0; i < 4; i++) {
		decide(&s, NULL, NULL, &r, 0, 0, t, &out);
		CHECK_INT(out.action, DECIDE_CREATE);
		decide_rec_name_taken(&r, DECIDE_HOLDER_STRANGER, "web.web-1",
		    "0a1b2c3d4e5f6a7b", strdup(conflict), t);
		CHECK_INT(r.not_before, t + (1000LL << i));	/* 1, 2, 4, 8 s */
		decide(&s, NULL, NULL, &r, 0, 0, r.not_before - 1, &out);
		CHECK_INT(out.action, DECIDE_WAIT);
		CHECK_INT(out.reason, DECIDE_R_BACKOFF);
		CHECK_INT(out.state, DECIDE_ST_ERROR);
		CHECK_HAS(out.error, "the name web.web-1 is taken by container "
		    "0a1b2c3d4e5f, which is not this node's");
		CHECK_HAS(out.error, "is already in use by container");
		t = r.not_before;
	}
	CHECK_INT(r.attempts, 4);
	/* The squatter goes: the next create succeeds, the error is over. */
	decide(&s, NULL, NULL, &r, 0, 0, t, &out);
	CHECK_INT(out.action, DECIDE_CREATE);
	decide_rec_created(&r);
	CHECK(r.error == NULL);
	decide_rec_clear(&r);
}

/*
 * An impostor (issue 21.4): a container with the instance's labels under
 * another name is not the instance's; the plan sees it as nobody's (the
 * converge pass clears its labels), so the instance keeps its own and the
 * stranger is removed, whichever Docker lists first.
 */
static void
test_decide_impostor(void)
{
	struct spec s = spec_of(3, 1, 2, 0);
	struct observe_container own = listed("own", 3, 1, 2, PLAN_ST_RUNNING);
	struct observe_container imp = listed("imp", 3, 1, 2, PLAN_ST_RUNNING);
	struct plan_want w[] = { { 3, 1, 2 } };
	struct plan_actual a[2];
	enum plan_act act[1];
	long match[1];
	int rm[2];
	struct plan p = { act, match, rm };

	imp.name = "impostor";
	CHECK(decide_is_own(&s, &own));
	CHECK(!decide_is_own(&s, &imp));
	/* Docker lists the newest first: the impostor, then ours. Without
	 * the rule the plan kept the first of two running ones. */
	a[0] = imp.a;
	a[1] = own.a;
	plan_compute(w, 1, a, 2, &p);
	CHECK_INT(match[0], 0);		/* the old behaviour: the impostor */
	a[0].labelled = !decide_is_own(&s, &imp) ? 0 : 1;
	plan_compute(w, 1, a, 2, &p);
	CHECK_INT(match[0], 1);		/* its own */
	CHECK_INT(act[0], PLAN_KEEP);
	CHECK_INT(rm[0], 1);		/* the stranger goes */
	CHECK_INT(rm[1], 0);
	/* Only the impostor: the instance is absent and created. */
	a[0] = imp.a;
	a[0].labelled = 0;
	plan_compute(w, 1, a, 1, &p);
	CHECK_INT(match[0], -1);
	CHECK_INT(act[0], PLAN_CREATE);
	CHECK_INT(rm[0], 1);
}

/* The image check fails: an attempt with backoff, like a failed create. */
static void
test_decide_image_error_backs_off(void)
{
	struct spec s = spec_of(1, 1, 1, 0);
	struct decide_rec r;
	struct decide_out out;

	decide_rec_init(&r, 1, 1, 1);
	decide(&s, NULL, NULL, &r, 0, 0, 1000, &out);
	decide_image(&r, -1, strdup("docker image inspect: HTTP 500"), 1000,
	    &out);
	CHECK_INT(out.action, DECIDE_WAIT);
	CHECK_INT(out.reason, DECIDE_R_IMAGE_ERROR);
	CHECK_INT(out.state, DECIDE_ST_ERROR);
	CHECK_STR(out.error, "docker image inspect: HTTP 500");
	CHECK_INT(r.not_before, 1000 + DECIDE_RETRY_BASE_MS);
	decide(&s, NULL, NULL, &r, 0, 0, 1500, &out);
	CHECK_INT(out.reason, DECIDE_R_BACKOFF);
	CHECK_INT(out.state, DECIDE_ST_ERROR);
	decide(&s, NULL, NULL, &r, 0, 0, 2000, &out);
	CHECK_INT(out.action, DECIDE_CREATE);
	decide_image(&r, -1, NULL, 2000, &out);
	CHECK_STR(out.error, "image check");
	CHECK_INT(r.not_before, 2000 + 2 * DECIDE_RETRY_BASE_MS);
	decide_rec_clear(&r);
}

/*
 * The grid network is not in place: pending, saying why, and no attempt
 * counted (nothing failed): the next pass creates it.
 */
static void
test_decide_network_wait(void)
{
	struct spec s = spec_of(1, 1, 1, 0);
	struct decide_rec r;
	struct decide_out out;

	decide_rec_init(&r, 1, 1, 1);
	decide(&s, NULL, NULL, &r, 0, 0, 1000, &out);
	decide_image(&r, 1, NULL, 1000, &out);
	CHECK_INT(out.action, DECIDE_CREATE);
	decide_network_wait(&r, "no peer list from the master yet", &out);
	CHECK_INT(out.action, DECIDE_WAIT);
	CHECK_INT(out.reason, DECIDE_R_NETWORK_WAIT);
	CHECK_INT(out.state, DECIDE_ST_PENDING);
	CHECK_STR(out.error, "waiting for the grid network: no peer list from "
	    "the master yet");
	CHECK_INT(r.attempts, 0);
	CHECK_INT(r.not_before, 0);
	CHECK(r.error == NULL);
	free(out.msg);
	decide(&s, NULL, NULL, &r, 0, 0, 1001, &out);
	CHECK_INT(out.action, DECIDE_CREATE);
	CHECK(out.error == NULL);
	decide_rec_clear(&r);
}

/* A missing image is pulled; a failed pull is the instance's error. */
static void
test_decide_pull(void)
{
	struct spec s = spec_of(1, 1, 1, 0);
	struct decide_rec r;
	struct decide_out out;

	decide_rec_init(&r, 1, 1, 1);
	decide(&s, NULL, NULL, &r, 0, 0, 1000, &out);
	decide_image(&r, 0, NULL, 1000, &out);
	CHECK_INT(out.action, DECIDE_PULL);
	CHECK_INT(out.reason, DECIDE_R_NO_IMAGE);
	decide_pull(&r, PULL_PULLING, NULL, &out);
	CHECK_INT(out.action, DECIDE_WAIT);
	CHECK_INT(out.reason, DECIDE_R_PULLING);
	CHECK_INT(out.state, DECIDE_ST_PULLING);
	CHECK(out.error == NULL);
	CHECK_INT(out.soon, 0);
	/* The pull failed: still pulling (retried), with pull.c's reason:
	 * a deploy waits for it within its time ... */
	decide(&s, NULL, NULL, &r, 0, 0, 2000, &out);
	decide_image(&r, 0, NULL, 2000, &out);
	decide_pull(&r, PULL_FAILED,
	    strdup("pull progrium/stress: no such host"), &out);
	CHECK_INT(out.reason, DECIDE_R_PULL_FAILED);
	CHECK_INT(out.state, DECIDE_ST_PULLING);
	CHECK_STR(out.error, "pull progrium/stress: no such host");
	/* ... but the backoff is the pull thread's, per image: the next pass
	 * asks again (pull_want() says whether a retry is due). */
	CHECK_INT(r.attempts, 0);
	CHECK_INT(r.not_before, 0);
	decide(&s, NULL, NULL, &r, 0, 0, 2001, &out);
	CHECK_INT(out.action, DECIDE_CREATE);
	CHECK_INT(out.state, DECIDE_ST_PULLING);
	/* Pulled at last: created, and the error goes with its success. */
	decide_image(&r, 1, NULL, 2001, &out);
	CHECK_INT(out.action, DECIDE_CREATE);
	decide_rec_created(&r);
	CHECK(r.error == NULL);
	decide_rec_clear(&r);
}

/* wait_for_port: starting until a probe of this start answers. */
static void
test_decide_wait_for_port(void)
{
	struct spec s = spec_of(1, 1, 1, 8080);
	struct observe_container m = listed("c1", 1, 1, 1, PLAN_ST_RUNNING);
	struct observe_container ex = listed("c1", 1, 1, 1, PLAN_ST_EXITED);
	struct observe_inspect ins = { .pid = 4242, .started_at = "t1" };
	struct decide_facts f = { PLAN_KEEP, 0, 0, -1 };
	struct decide_rec r;
	struct decide_out out;

	decide_rec_init(&r, 1, 1, 1);
	decide_instance(&s, &m, &ins, &r, &f, 1000, &out);
	CHECK_INT(out.action, DECIDE_KEEP);
	CHECK_INT(out.reason, DECIDE_R_PORT_WAIT);
	CHECK_INT(out.state, DECIDE_ST_STARTING);
	CHECK_INT(out.probe, 1);
	CHECK_STR(out.probe_key, "c1@t1");
	CHECK_INT(out.probe_pid, 4242);
	CHECK_INT(out.due, PORTPROBE_FAST_MS);
	CHECK_INT(out.reinspect, 0);
	free(out.probe_key);
	portprobe_launched(&r.probe, 1000);
	/* Its probe runs: no second one. */
	decide(&s, &m, &ins, &r, 0, 0, 1100, &out);
	CHECK_INT(out.state, DECIDE_ST_STARTING);
	CHECK_INT(out.probe, 0);
	/* Refused: probe again PORTPROBE_FAST_MS after the last one. */
	portprobe_result(&r.probe, "c1@t1", 0, NULL);
	decide(&s, &m, &ins, &r, 0, 0, 1100, &out);
	CHECK_INT(out.probe, 0);
	CHECK_INT(out.due, PORTPROBE_FAST_MS - 100);
	decide(&s, &m, &ins, &r, 0, 0, 1000 + PORTPROBE_FAST_MS, &out);
	CHECK_INT(out.probe, 1);
	portprobe_launched(&r.probe, 1000 + PORTPROBE_FAST_MS);
	/* It answers: running, without probes, for this start. */
	portprobe_result(&r.probe, "c1@t1", 1, NULL);
	decide(&s, &m, &ins, &r, 0, 0, 2000, &out);
	CHECK_INT(out.reason, DECIDE_R_RUNNING);
	CHECK_INT(out.state, DECIDE_ST_RUNNING);
	CHECK_INT(out.probe, 0);
	CHECK_INT(out.due, -1);
	/* It exits: the proof goes with it; its next start probes again. */
	decide(&s, &ex, &ins, &r, 0, 0, 3000, &out);
	CHECK(r.probe.key == NULL);
	CHECK_INT(r.probe.passed, 0);
	ins.started_at = "t2";
	decide(&s, &m, &ins, &r, 0, 0, 4000, &out);
	CHECK_INT(out.state, DECIDE_ST_STARTING);
	CHECK_INT(out.probe, 1);
	decide_rec_clear(&r);
}

/*
 * wait_for_port and a settle time together: its port answering early does
 * not make it running before its settle time is up, and only an entry
 * that nothing but its probes holds is one the pass may report running
 * when they answer (probes_only). Before, the pass said "running" for an
 * instance up 4 of its 5 s, and "starting" again in the next one.
 */
static void
test_decide_wait_for_port_settle(void)
{
	struct spec s = spec_of(1, 1, 1, 8080);
	struct observe_container m = listed("c1", 1, 1, 1, PLAN_ST_RUNNING);
	struct observe_inspect ins = { .pid = 4242, .started_at = "t1" };
	struct decide_facts busy = { PLAN_KEEP, 1, 0, 9000 };
	struct decide_rec r;
	struct decide_out out;

	s.settle_s = 5;
	decide_rec_init(&r, 1, 1, 1);
	/* Up 6 s, port not proven: only its probe holds it. */
	decide_up(&s, &m, &ins, &r, 6000, 1000, &out);
	CHECK_INT(out.state, DECIDE_ST_STARTING);
	CHECK_INT(out.reason, DECIDE_R_PORT_WAIT);
	CHECK_INT(out.probe, 1);
	CHECK_INT(out.probes_only, 1);
	portprobe_launched(&r.probe, 1000);
	portprobe_result(&r.probe, "c1@t1", 1, NULL);
	decide_up(&s, &m, &ins, &r, 6100, 1100, &out);
	CHECK_INT(out.state, DECIDE_ST_RUNNING);
	CHECK_INT(out.probes_only, 0);
	decide_rec_clear(&r);

	/* Up 4.3 s: the port answers, and it is still starting. */
	decide_rec_init(&r, 1, 1, 1);
	decide_up(&s, &m, &ins, &r, 4300, 1000, &out);
	CHECK_INT(out.probes_only, 0);		/* its settle time holds it */
	portprobe_launched(&r.probe, 1000);
	portprobe_result(&r.probe, "c1@t1", 1, NULL);
	decide_up(&s, &m, &ins, &r, 4400, 1100, &out);
	CHECK_INT(out.state, DECIDE_ST_STARTING);
	CHECK_INT(out.reason, DECIDE_R_SETTLING);
	CHECK_INT(out.probes_only, 0);
	CHECK(out.due > 0 && out.due <= 601);	/* due when it settles */
	decide_up(&s, &m, &ins, &r, 5000, 1700, &out);
	CHECK_INT(out.state, DECIDE_ST_RUNNING);
	/* Its start still in flight (post_start hooks): held too. */
	decide_instance(&s, &m, &ins, &r, &busy, 1800, &out);
	free(out.probe_key);
	CHECK_INT(out.state, DECIDE_ST_STARTING);
	CHECK_INT(out.probes_only, 0);
	decide_rec_clear(&r);
}

/* A start the inspect does not know yet; host network; probe errors. */
static void
test_decide_wait_for_port_edges(void)
{
	struct spec s = spec_of(1, 1, 1, 8080);
	struct spec plain = spec_of(1, 1, 1, 0);
	struct observe_container m = listed("c1", 1, 1, 1, PLAN_ST_RUNNING);
	struct observe_inspect ins = { .pid = 0, .started_at = NULL };
	struct observe_inspect host = { .pid = 0, .started_at = "t1",
	    .host_net = 1 };
	struct decide_facts f = { PLAN_KEEP, 0, 0, -1 };
	struct decide_rec r;
	struct decide_out out;

	decide_rec_init(&r, 1, 1, 1);
	/* Inspected before it ran: starting, inspect again, no probe. */
	decide(&s, &m, &ins, &r, 0, 0, 1000, &out);
	CHECK_INT(out.state, DECIDE_ST_STARTING);
	CHECK_INT(out.reinspect, 1);
	CHECK_INT(out.due, PORTPROBE_FAST_MS);
	CHECK_INT(out.probe, 0);
	/* Host network: probed in the agent's own namespace (pid 0). */
	decide_instance(&s, &m, &host, &r, &f, 1100, &out);
	CHECK_INT(out.probe, 1);
	CHECK_INT(out.probe_pid, 0);
	CHECK_INT(out.reinspect, 0);
	free(out.probe_key);
	portprobe_launched(&r.probe, 1100);
	/* Probing is impossible: still starting, and it says why. */
	portprobe_result(&r.probe, "c1@t1", 0,
	    strdup("cannot enter the network namespace"));
	decide(&s, &m, &host, &r, 0, 0, 1200, &out);
	CHECK_INT(out.state, DECIDE_ST_STARTING);
	CHECK_STR(out.error, "cannot enter the network namespace");
	/* wait_for_port dropped by a new desired set: running at once. */
	decide(&plain, &m, &host, &r, 0, 0, 1300, &out);
	CHECK_INT(out.state, DECIDE_ST_RUNNING);
	CHECK(out.error == NULL);
	CHECK(r.probe.key == NULL);
	decide_rec_clear(&r);
}

/* plan.c and decide.c together: an unknown instance's container goes. */
static void
test_decide_unknown_instance_removed(void)
{
	struct spec s = spec_of(1, 1, 1, 0);
	struct plan_want w[] = { { 1, 1, 1 } };
	struct observe_container l[] = {
		listed("other", 1, 9, 1, PLAN_ST_RUNNING),
		listed("mine", 1, 1, 1, PLAN_ST_EXITED),
		listed("junk", 0, 0, 0, PLAN_ST_RUNNING),
	};
	struct observe_inspect ins = { .exit_code = 1 };
	struct plan_actual a[3];
	enum plan_act act[1];
	long match[1];
	int rm[3], i;
	struct plan p = { act, match, rm };
	struct decide_facts f;
	struct decide_rec r;
	struct decide_out out;

	l[2].a.labelled = 0;
	for (i = 0; i < 3; i++)
		a[i] = l[i].a;
	plan_compute(w, 1, a, 3, &p);
	CHECK_INT(rm[0], 1);		/* instance 9 is not wanted */
	CHECK_INT(rm[1], 0);
	CHECK_INT(rm[2], 1);		/* labels that do not parse */
	CHECK_INT(match[0], 1);
	decide_rec_init(&r, 1, 1, 1);
	f.act = act[0];
	f.busy = 0;
	f.name_taken = 0;
	decide_instance(&s, &l[match[0]], &ins, &r, &f, 1000, &out);
	CHECK_INT(out.action, DECIDE_START);
	CHECK_INT(out.state, DECIDE_ST_STOPPED);
	decide_rec_clear(&r);
}

static void
test_decide_names(void)
{
	int i;

	CHECK_INT(decide_listed_state(PLAN_ST_RUNNING), DECIDE_ST_RUNNING);
	CHECK_INT(decide_listed_state(PLAN_ST_CREATED), DECIDE_ST_CREATED);
	CHECK_INT(decide_listed_state(PLAN_ST_EXITED), DECIDE_ST_STOPPED);
	CHECK_INT(decide_listed_state(PLAN_ST_RESTARTING), DECIDE_ST_CRASHING);
	CHECK_INT(decide_listed_state(PLAN_ST_PAUSED), DECIDE_ST_PAUSED);
	CHECK_STR(decide_state_name(DECIDE_ST_PENDING), "pending");
	CHECK_STR(decide_state_name(DECIDE_ST_STARTING), "starting");
	CHECK_STR(decide_state_name(DECIDE_ST_REMOVING), "removing");
	for (i = DECIDE_ST_PENDING; i <= DECIDE_ST_REMOVING; i++)
		CHECK(decide_state_name(i) != NULL);
	for (i = DECIDE_R_RUNNING; i <= DECIDE_R_PULL_FAILED; i++)
		CHECK(decide_reason_name(i) != NULL);
	decide_rec_clear(NULL);
}

/* ---- observe.c ------------------------------------------------------------ */

static const char *LIST_JSON =
    "[{\"Id\":\"aaa\",\"Names\":[\"/web.web-1.01234567\"],"
    "\"State\":\"running\",\"Labels\":{\"berth.node\":\"" NODE "\","
    "\"berth.service-id\":\"7\",\"berth.instance\":\"1\","
    "\"berth.rev\":\"3\"}},"
    "{\"Id\":\"bbb\",\"Names\":[\"/theirs\"],\"State\":\"running\","
    "\"Labels\":{\"berth.node\":\"ffffffffffffffffffffffffffffffff\","
    "\"berth.service-id\":\"7\",\"berth.instance\":\"2\","
    "\"berth.rev\":\"3\"}},"
    "{\"Names\":[\"/no-id\"],\"Labels\":{\"berth.node\":\"" NODE "\"}},"
    "{\"Id\":\"ccc\",\"Names\":[\"/bad\"],\"State\":\"exited\","
    "\"Labels\":{\"berth.node\":\"" NODE "\",\"berth.service-id\":\"7\","
    "\"berth.instance\":\"-1\",\"berth.rev\":\"3x\"}},"
    "{\"Id\":\"ddd\",\"State\":\"dead\",\"Labels\":{\"berth.node\":\""
    NODE "\"}}]";

static void
test_observe_parse_list(void)
{
	json_t *arr = json_loads(LIST_JSON, 0, NULL);
	struct observe_list l;

	CHECK(arr != NULL);
	observe_parse_list(arr, NODE, &l);
	json_decref(arr);
	CHECK_INT(l.n, 3);		/* not another node's, not without Id */
	CHECK_STR(l.c[0].id, "aaa");
	CHECK_STR(l.c[0].name, "web.web-1.01234567");
	CHECK_INT(l.c[0].a.labelled, 1);
	CHECK_INT(l.c[0].a.service_id, 7);
	CHECK_INT(l.c[0].a.instance, 1);
	CHECK_INT(l.c[0].a.rev, 3);
	CHECK_INT(l.c[0].a.state, PLAN_ST_RUNNING);
	CHECK_STR(l.c[1].id, "ccc");
	CHECK_INT(l.c[1].a.labelled, 0);	/* -1 and "3x" do not parse */
	CHECK_INT(l.c[1].a.state, PLAN_ST_EXITED);
	CHECK_STR(l.c[2].name, "");
	CHECK_INT(l.c[2].a.state, PLAN_ST_DEAD);
	CHECK_INT(observe_name_taken(&l, "web.web-1.01234567"), 1);
	CHECK_INT(observe_name_taken(&l, "theirs"), 0);
	observe_list_clear(&l);
	CHECK_INT(l.n, 0);
	observe_list_clear(&l);
}

static void
test_observe_parse_inspect(void)
{
	struct observe_inspect ins;
	json_t *o;

	memset(&ins, 0, sizeof ins);
	o = json_loads("{\"State\":{\"Status\":\"exited\",\"ExitCode\":137,"
	    "\"Pid\":0,\"StartedAt\":\"t1\"},\"RestartCount\":2,"
	    "\"HostConfig\":{\"NetworkMode\":\"host\"}}", 0, NULL);
	observe_parse_inspect(o, PLAN_ST_EXITED, 1000, &ins);
	json_decref(o);
	CHECK_INT(ins.state, PLAN_ST_EXITED);
	CHECK_INT(ins.exit_code, 137);
	CHECK_INT(ins.restart_count, 2);
	CHECK_INT(ins.pid, 0);
	CHECK_STR(ins.started_at, "t1");
	CHECK_INT(ins.host_net, 1);
	CHECK_INT(ins.at, 1000);
	/* Running again (a crash loop): the last exit code stays. */
	o = json_loads("{\"State\":{\"Status\":\"running\",\"ExitCode\":0,"
	    "\"Pid\":55,\"StartedAt\":\"t2\"},\"RestartCount\":3,"
	    "\"HostConfig\":{\"NetworkMode\":\"bridge\"}}", 0, NULL);
	observe_parse_inspect(o, PLAN_ST_RUNNING, 2000, &ins);
	json_decref(o);
	CHECK_INT(ins.exit_code, 137);
	CHECK_INT(ins.restart_count, 3);
	CHECK_INT(ins.pid, 55);
	CHECK_STR(ins.started_at, "t2");
	CHECK_INT(ins.host_net, 0);
	/* No StartedAt: unknown, not the old one. */
	o = json_loads("{\"State\":{\"Status\":\"created\"}}", 0, NULL);
	observe_parse_inspect(o, PLAN_ST_CREATED, 3000, &ins);
	json_decref(o);
	CHECK(ins.started_at == NULL);
}

/* ---- a fake engine ---------------------------------------------------------- */

/* One canned answer: requests whose path (after /v1.xx) starts so. */
struct fake_route {
	const char	*method;	/* "GET", "POST" */
	const char	*prefix;	/* path prefix */
	int		 status;	/* HTTP status */
	const char	*body;		/* answer (the test's, static) */
	int		 hits;		/* requests answered */
};

struct fake_engine {
	char		 dir[64];	/* private temp dir */
	char		 path[108];	/* its docker.sock */
	int		 lfd;		/* listening socket */
	int		 quit[2];	/* pipe: stop the thread */
	pthread_t	 thread;	/* serves one connection at a time */
	pthread_mutex_t	 lock;		/* guards routes */
	struct fake_route routes[8];	/* answers */
	int		 nroutes;	/* entries used */
};

/* Answer one request; the connection is closed after it. */
static void
fake_serve(struct fake_engine *fe, int fd)
{
	char req[8192], method[16], path[4096], hdr[256], *p;
	const char *body = "{\"message\":\"no route\"}";
	size_t len = 0;
	ssize_t n;
	int i, status = 404;

	while (len < sizeof req - 1) {
		n = read(fd, req + len, sizeof req - 1 - len);
		if (n <= 0)
			return;
		len += (size_t)n;
		req[len] = '\0';
		if (strstr(req, "\r\n\r\n") != NULL)
			break;
	}
	if (sscanf(req, "%15s %4095s", method, path) != 2)
		return;
	p = path;
	if (strncmp(p, "/v1.", 4) == 0)	/* the API version prefix */
		p = strchr(p + 1, '/') != NULL ? strchr(p + 1, '/') : p;
	pthread_mutex_lock(&fe->lock);
	for (i = 0; i < fe->nroutes; i++) {
		if (strcmp(fe->routes[i].method, method) == 0 &&
		    strncmp(p, fe->routes[i].prefix,
		    strlen(fe->routes[i].prefix)) == 0) {
			fe->routes[i].hits++;
			status = fe->routes[i].status;
			body = fe->routes[i].body;
			break;
		}
	}
	pthread_mutex_unlock(&fe->lock);
	snprintf(hdr, sizeof hdr, "HTTP/1.1 %d X\r\nContent-Type: "
	    "application/json\r\nContent-Length: %zu\r\nConnection: close"
	    "\r\n\r\n", status, strlen(body));
	if (write(fd, hdr, strlen(hdr)) < 0 ||
	    write(fd, body, strlen(body)) < 0)
		return;
}

static void *
fake_main(void *arg)
{
	struct fake_engine *fe = arg;
	struct pollfd pfd[2];
	int fd;

	pfd[0].fd = fe->lfd;
	pfd[0].events = POLLIN;
	pfd[1].fd = fe->quit[0];
	pfd[1].events = POLLIN;
	for (;;) {
		if (poll(pfd, 2, -1) < 0 || pfd[1].revents != 0)
			break;
		fd = accept(fe->lfd, NULL, NULL);
		if (fd < 0)
			continue;
		fake_serve(fe, fd);
		close(fd);
	}
	return NULL;
}

static struct fake_engine *
fake_start(void)
{
	struct fake_engine *fe = calloc(1, sizeof *fe);
	struct sockaddr_un sa;

	snprintf(fe->dir, sizeof fe->dir, "/tmp/berth-fake.XXXXXX");
	if (mkdtemp(fe->dir) == NULL)
		abort();
	snprintf(fe->path, sizeof fe->path, "%s/docker.sock", fe->dir);
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", fe->path);
	fe->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fe->lfd < 0 || bind(fe->lfd, (struct sockaddr *)&sa,
	    sizeof sa) != 0 || listen(fe->lfd, 16) != 0 ||
	    pipe(fe->quit) != 0)
		abort();
	pthread_mutex_init(&fe->lock, NULL);
	if (pthread_create(&fe->thread, NULL, fake_main, fe) != 0)
		abort();
	return fe;
}

/* Set (or replace) the answer to method prefix; keeps its hit count. */
static void
fake_route(struct fake_engine *fe, const char *method, const char *prefix,
    int status, const char *body)
{
	struct fake_route *r = NULL;
	int i;

	pthread_mutex_lock(&fe->lock);
	for (i = 0; i < fe->nroutes && r == NULL; i++) {
		if (strcmp(fe->routes[i].method, method) == 0 &&
		    strcmp(fe->routes[i].prefix, prefix) == 0)
			r = &fe->routes[i];
	}
	if (r == NULL) {
		r = &fe->routes[fe->nroutes++];
		r->method = method;
		r->prefix = prefix;
	}
	r->status = status;
	r->body = body;
	pthread_mutex_unlock(&fe->lock);
}

static int
fake_hits(struct fake_engine *fe, const char *method, const char *prefix)
{
	int i, n = 0;

	pthread_mutex_lock(&fe->lock);
	for (i = 0; i < fe->nroutes; i++) {
		if (strcmp(fe->routes[i].method, method) == 0 &&
		    strcmp(fe->routes[i].prefix, prefix) == 0)
			n = fe->routes[i].hits;
	}
	pthread_mutex_unlock(&fe->lock);
	return n;
}

static void
fake_stop(struct fake_engine *fe)
{
	if (write(fe->quit[1], "x", 1) != 1)
		abort();
	pthread_join(fe->thread, NULL);
	close(fe->lfd);
	close(fe->quit[0]);
	close(fe->quit[1]);
	unlink(fe->path);
	rmdir(fe->dir);
	pthread_mutex_destroy(&fe->lock);
	free(fe);
}

static const char *INSPECT_RUNNING =
    "{\"State\":{\"Status\":\"running\",\"ExitCode\":0,\"Pid\":42,"
    "\"StartedAt\":\"t1\"},\"RestartCount\":1,\"HostConfig\":{}}";
static const char *INSPECT_EXITED =
    "{\"State\":{\"Status\":\"exited\",\"ExitCode\":9,\"Pid\":0,"
    "\"StartedAt\":\"t1\"},\"RestartCount\":1,\"HostConfig\":{}}";

/*
 * The list is re-checked for our node label; a container is inspected
 * once while its state holds and the cache lifetime lasts, again when
 * either changes or it was marked stale; a pass that does not look at a
 * container drops its entry; a failed inspect keeps the last figures.
 */
static void
test_observe_inspect_cache(void)
{
	struct fake_engine *fe = fake_start();
	struct docker *d = docker_new(fe->path, NULL);
	struct observe *o = observe_new(d, NODE, 10000);
	const struct observe_inspect *ins;
	struct observe_list l;
	char *cause = NULL;

	fake_route(fe, "GET", "/containers/json", 200, LIST_JSON);
	fake_route(fe, "GET", "/containers/aaa/json", 200, INSPECT_RUNNING);
	CHECK_INT(observe_list(o, &l, &cause), 0);
	CHECK_INT(l.n, 3);		/* "bbb" is another node's */
	ins = observe_inspect(o, &l.c[0], 1000);
	CHECK_INT(fake_hits(fe, "GET", "/containers/aaa/json"), 1);
	CHECK_INT(ins->pid, 42);
	CHECK_INT(ins->restart_count, 1);
	ins = observe_inspect(o, &l.c[0], 1500);
	CHECK_INT(fake_hits(fe, "GET", "/containers/aaa/json"), 1);
	observe_done(o);
	/* The next pass, same state, within the lifetime: cached. */
	ins = observe_inspect(o, &l.c[0], 5000);
	CHECK_INT(fake_hits(fe, "GET", "/containers/aaa/json"), 1);
	observe_done(o);
	/* Its state changed: inspected again. */
	fake_route(fe, "GET", "/containers/aaa/json", 200, INSPECT_EXITED);
	l.c[0].a.state = PLAN_ST_EXITED;
	ins = observe_inspect(o, &l.c[0], 6000);
	CHECK_INT(fake_hits(fe, "GET", "/containers/aaa/json"), 2);
	CHECK_INT(ins->exit_code, 9);
	observe_done(o);
	/* The lifetime passed: again. */
	ins = observe_inspect(o, &l.c[0], 6000 + 10000);
	CHECK_INT(fake_hits(fe, "GET", "/containers/aaa/json"), 3);
	/* Marked stale (a probe found its pid gone): again. */
	observe_stale(o, "aaa");
	ins = observe_inspect(o, &l.c[0], 16001);
	CHECK_INT(fake_hits(fe, "GET", "/containers/aaa/json"), 4);
	observe_done(o);
	/* A failed inspect keeps the last figures and tries again. */
	fake_route(fe, "GET", "/containers/aaa/json", 500,
	    "{\"message\":\"engine busy\"}");
	observe_stale(o, "aaa");
	ins = observe_inspect(o, &l.c[0], 16002);
	CHECK_INT(ins->exit_code, 9);
	ins = observe_inspect(o, &l.c[0], 16003);
	CHECK_INT(fake_hits(fe, "GET", "/containers/aaa/json"), 6);
	observe_done(o);
	/* A pass without it (being removed, say) drops its entry. */
	observe_done(o);
	fake_route(fe, "GET", "/containers/aaa/json", 200, INSPECT_RUNNING);
	ins = observe_inspect(o, &l.c[0], 16004);
	CHECK_INT(fake_hits(fe, "GET", "/containers/aaa/json"), 7);
	observe_done(o);
	observe_list_clear(&l);

	/* The engine is down: no list, and why. */
	fake_route(fe, "GET", "/containers/json", 500,
	    "{\"message\":\"engine down\"}");
	CHECK_INT(observe_list(o, &l, &cause), -1);
	CHECK_HAS(cause, "engine down");
	free(cause);
	observe_free(o);
	observe_free(NULL);
	docker_free(d);
	fake_stop(fe);
}

/* One image check per image and pass, whatever it answered. */
static void
test_observe_image_once_per_pass(void)
{
	struct fake_engine *fe = fake_start();
	struct docker *d = docker_new(fe->path, NULL);
	struct observe *o = observe_new(d, NODE, 10000);
	char *cause = NULL;

	fake_route(fe, "GET", "/images/here", 200, "{}");
	fake_route(fe, "GET", "/images/gone", 404, "{\"message\":\"no\"}");
	fake_route(fe, "GET", "/images/bad", 500, "{\"message\":\"boom\"}");
	CHECK_INT(observe_image(o, "here:1", &cause), 1);
	CHECK_INT(observe_image(o, "here:1", &cause), 1);
	CHECK_INT(observe_image(o, "gone:1", &cause), 0);
	CHECK(cause == NULL);
	CHECK_INT(observe_image(o, "bad:1", &cause), -1);
	CHECK_HAS(cause, "boom");
	free(cause);
	cause = NULL;
	CHECK_INT(observe_image(o, "bad:1", &cause), -1);
	CHECK_HAS(cause, "boom");	/* each asker gets its own copy */
	free(cause);
	cause = NULL;
	CHECK_INT(fake_hits(fe, "GET", "/images/here"), 1);
	CHECK_INT(fake_hits(fe, "GET", "/images/bad"), 1);
	observe_done(o);
	CHECK_INT(observe_image(o, "here:1", &cause), 1);
	CHECK_INT(fake_hits(fe, "GET", "/images/here"), 2);
	observe_done(o);
	observe_free(o);
	docker_free(d);
	fake_stop(fe);
}

/* ---- pull.c ------------------------------------------------------------------- */

/* Counts the pull thread's done() calls, as converge_wake() would be. */
struct wakes {
	pthread_mutex_t	 lock;		/* guards n */
	pthread_cond_t	 cond;		/* signalled on each call */
	int		 n;		/* done() calls */
};

static void
wakes_cb(void *arg)
{
	struct wakes *w = arg;

	pthread_mutex_lock(&w->lock);
	w->n++;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

static void
wakes_wait(struct wakes *w, int n)
{
	pthread_mutex_lock(&w->lock);
	while (w->n < n)
		pthread_cond_wait(&w->cond, &w->lock);
	pthread_mutex_unlock(&w->lock);
}

/*
 * A pull whose stream carries an error line fails with the engine's
 * reason; the image is not pulled again before 5 s, then 10 s, and the
 * reason stays reported meanwhile; a pull that works clears it.
 */
static void
test_pull_backoff(void)
{
	struct fake_engine *fe = fake_start();
	struct wakes w = { PTHREAD_MUTEX_INITIALIZER,
	    PTHREAD_COND_INITIALIZER, 0 };
	atomic_int stop = 0;
	struct pull *p;
	char *err = NULL;
	int64_t t0, t1;

	fake_route(fe, "POST", "/images/create", 200,
	    "{\"status\":\"Pulling\"}\n{\"error\":\"no such host\"}\n");
	p = pull_new(fe->path, &stop, wakes_cb, &w);
	pull_start(p);
	t0 = util_mono_ms();
	CHECK_INT(pull_want(p, "x/y:1", t0, &err), PULL_PULLING);
	CHECK(err == NULL);
	wakes_wait(&w, 1);
	CHECK_INT(pull_want(p, "x/y:1", t0, &err), PULL_FAILED);
	CHECK_STR(err, "pull x/y:1: no such host");
	free(err);
	err = NULL;
	/* Within its backoff: the reason, and no pull. */
	CHECK_INT(pull_want(p, "x/y:1", t0 + PULL_RETRY_BASE_MS - 1, &err),
	    PULL_FAILED);
	free(err);
	err = NULL;
	usleep(100000);
	CHECK_INT(fake_hits(fe, "POST", "/images/create"), 1);
	/* Due: pulled again (still failing); then the backoff doubles. */
	t1 = util_mono_ms();
	CHECK_INT(pull_want(p, "x/y:1", t1 + PULL_RETRY_BASE_MS, &err),
	    PULL_FAILED);
	free(err);
	err = NULL;
	wakes_wait(&w, 2);
	CHECK_INT(fake_hits(fe, "POST", "/images/create"), 2);
	CHECK_INT(pull_want(p, "x/y:1", t1 + 2 * PULL_RETRY_BASE_MS - 1,
	    &err), PULL_FAILED);
	free(err);
	err = NULL;
	usleep(100000);
	CHECK_INT(fake_hits(fe, "POST", "/images/create"), 2);
	/* The registry is back: the next due pull works, the error goes. */
	fake_route(fe, "POST", "/images/create", 200,
	    "{\"status\":\"Downloaded newer image\"}\n");
	CHECK_INT(pull_want(p, "x/y:1", util_mono_ms() +
	    2 * PULL_RETRY_BASE_MS, &err), PULL_FAILED);
	free(err);
	err = NULL;
	wakes_wait(&w, 3);
	CHECK_INT(pull_want(p, "x/y:1", util_mono_ms(), &err), PULL_PULLING);
	CHECK(err == NULL);
	wakes_wait(&w, 4);
	atomic_store(&stop, 1);
	pull_free(p);
	pull_free(NULL);
	fake_stop(fe);
}

#define OWN	"00000000000000000000000000000001"
#define GONE	"00000000000000000000000000000002"
#define LIVE	"00000000000000000000000000000003"

/* One listed container as Docker's list answer has it. */
static json_t *
flisted(const char *id, const char *name, const char *grid, const char *node,
    const char *state)
{
	return json_pack("{s:s, s:[s], s:s, s:{s:s, s:s}}", "Id", id, "Names",
	    name, "State", state, "Labels", "berth.grid", grid, "berth.node",
	    node);
}

/*
 * Containers of other node ids on the engine (issue 21.1): asked about,
 * never touched until the master says "gone", and then only those.
 */
static void
test_foreign_scan(void)
{
	struct foreign f;
	struct foreign_scan sc;
	json_t *arr = json_array(), *ans;

	json_array_append_new(arr, flisted("c-own", "/a.w-1.00000000", "g", OWN,
	    "running"));
	json_array_append_new(arr, flisted("c-gone", "/a.w-1.00000002", "g",
	    GONE, "running"));
	json_array_append_new(arr, flisted("c-gone2", "/a.w-2.00000002", "g",
	    GONE, "exited"));
	json_array_append_new(arr, flisted("c-live", "/a.w-1.00000003", "g",
	    LIVE, "running"));
	json_array_append_new(arr, flisted("c-other", "/x.y-1.00000002", "other",
	    GONE, "running"));	/* another grid: never considered */
	json_array_append_new(arr, flisted("c-bad", "/hand-made", "g", "me",
	    "running"));	/* not a node id: never considered */
	foreign_init(&f, 30000);
	/* First scan: ask about the two other nodes; remove nothing. */
	foreign_scan(&f, arr, OWN, "g", 1000, &sc);
	CHECK(sc.query != NULL);
	CHECK_STR(json_string_value(json_object_get(sc.query, "type")),
	    "node_query");
	CHECK_INT(json_array_size(json_object_get(sc.query, "node_ids")), 2);
	CHECK_INT(sc.nremove, 0);
	CHECK_INT(sc.nkeep, 3);
	foreign_scan_clear(&sc);
	/* Before the answer, and before the re-ask time: no new question. */
	foreign_scan(&f, arr, OWN, "g", 2000, &sc);
	CHECK(sc.query == NULL);
	CHECK_INT(sc.nremove, 0);
	foreign_scan_clear(&sc);
	/* An answer about an id never asked counts for nothing. */
	ans = json_pack("{s:s, s:[{s:s, s:s}, {s:s, s:s}, {s:s, s:s}]}",
	    "type", "node_status", "nodes", "id", GONE, "status", "gone",
	    "id", LIVE, "status", "known", "id", OWN, "status", "gone");
	CHECK_INT(foreign_answer(&f, ans, 2500), 1);
	json_decref(ans);
	CHECK(foreign_node(&f, OWN) == NULL);
	CHECK_INT(foreign_node(&f, GONE)->status, FOREIGN_GONE);
	CHECK_INT(foreign_node(&f, LIVE)->status, FOREIGN_KNOWN);
	/* Now the gone node's containers, and only those, are removed. */
	foreign_scan(&f, arr, OWN, "g", 3000, &sc);
	CHECK_INT(sc.nremove, 2);
	CHECK_STR(sc.remove[0].id, "c-gone");
	CHECK_STR(sc.remove[0].name, "a.w-1.00000002");
	CHECK_STR(sc.remove[1].id, "c-gone2");
	CHECK_INT(sc.remove[1].state, PLAN_ST_EXITED);
	CHECK_INT(sc.nkeep, 1);
	CHECK_STR(sc.keep[0].id, "c-live");
	foreign_scan_clear(&sc);
	/* After the re-ask time both are asked again; a node that came back
	 * ("known") is left alone from then on. */
	foreign_scan(&f, arr, OWN, "g", 40000, &sc);
	CHECK(sc.query != NULL);
	CHECK_INT(json_array_size(json_object_get(sc.query, "node_ids")), 2);
	foreign_scan_clear(&sc);
	ans = json_pack("{s:s, s:[{s:s, s:s}]}", "type", "node_status",
	    "nodes", "id", GONE, "status", "known");
	CHECK_INT(foreign_answer(&f, ans, 40100), 0);
	json_decref(ans);
	foreign_scan(&f, arr, OWN, "g", 41000, &sc);
	CHECK_INT(sc.nremove, 0);
	foreign_scan_clear(&sc);
	/* An unknown word is not "gone". */
	ans = json_pack("{s:s, s:[{s:s, s:s}]}", "type", "node_status",
	    "nodes", "id", LIVE, "status", "vanished");
	CHECK_INT(foreign_answer(&f, ans, 41100), 0);
	json_decref(ans);
	CHECK_INT(foreign_node(&f, LIVE)->status, FOREIGN_UNKNOWN);
	/* Ids no longer on the engine are forgotten. */
	json_array_clear(arr);
	foreign_scan(&f, arr, OWN, "g", 42000, &sc);
	CHECK(sc.query == NULL);
	CHECK(foreign_node(&f, GONE) == NULL);
	foreign_scan_clear(&sc);
	foreign_clear(&f);
	json_decref(arr);
}

int
main(void)
{
	TEST_RUN(test_foreign_scan);
	TEST_RUN(test_decide_create_when_absent);
	TEST_RUN(test_decide_keep_running);
	TEST_RUN(test_decide_healthy_resets_backoff);
	TEST_RUN(test_decide_replace_on_new_rev);
	TEST_RUN(test_decide_restart_exited_with_backoff);
	TEST_RUN(test_decide_start_created_keep_restarting);
	TEST_RUN(test_decide_service_stopped);
	TEST_RUN(test_decide_create_waits);
	TEST_RUN(test_decide_name_squatter);
	TEST_RUN(test_decide_impostor);
	TEST_RUN(test_decide_image_error_backs_off);
	TEST_RUN(test_decide_pull);
	TEST_RUN(test_decide_network_wait);
	TEST_RUN(test_decide_wait_for_port);
	TEST_RUN(test_decide_wait_for_port_settle);
	TEST_RUN(test_decide_wait_for_port_edges);
	TEST_RUN(test_decide_unknown_instance_removed);
	TEST_RUN(test_decide_names);
	TEST_RUN(test_decide_settle_crash_pause);
	TEST_RUN(test_observe_parse_logs);
	TEST_RUN(test_observe_parse_list);
	TEST_RUN(test_observe_parse_inspect);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	TEST_RUN(test_observe_inspect_cache);
	TEST_RUN(test_observe_image_once_per_pass);
	TEST_RUN(test_pull_backoff);
	curl_global_cleanup();
	return TEST_DONE();
}
