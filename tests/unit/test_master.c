/*
 * test_master.c - unit tests of the master's deploy machine
 * (sched_deploy.c over store_deploy.c), of store_stack_update() and of
 * applying agents' state reports (desired_apply_state()), on a real
 * SQLite store without threads or sockets (tests/lib/master_fixture.h).
 *
 * The tests play the other parts of the master: they place instances as
 * the scheduler's round would (master_fixture_place()), report states as
 * agents do, and stand in for the round's hooks, which record what the
 * machine asked for and can say that a service is unplaceable. One test
 * runs the real round (sched_round.c) to the end of a deploy.
 */
#include "tests/unit/test.h"
#include "tests/lib/master_fixture.h"

#include "master/hub_desired.h"
#include "master/sched_deploy.h"
#include "master/sched_round.h"

#include "common/util.h"
#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>

#define N1		"11111111111111111111111111111111"
#define N2		"22222222222222222222222222222222"
#define TIMEOUT_MS	600000

/* web links db, and comes first in the file: db must deploy first. */
static const char linked_yml[] =
	"stack: t/app\n"
	"version: 1.0.0\n"
	"services:\n"
	"  web:\n"
	"    image: nginx:1.25\n"
	"    instances: 2\n"
	"    links:\n"
	"      - db\n"
	"  db:\n"
	"    image: redis:7\n";

/* ---- helpers -------------------------------------------------------- */

/* The round's side of the hooks: what the machine asked for. */
struct hook_log {
	struct master_fixture	*f;		/* the master */
	int64_t			 unplaceable;	/* a service not placed */
	const char		*reason;	/* why; NULL: all placed */
	void			(*during)(struct hook_log *); /* once, in
						 * unplaceable(): a race */
	int64_t			 activated[8];	/* service_changed() ids */
	size_t			 nactivated;	/* entries in activated */
	char			 nodes[512];	/* node_changed(): id[0:2] */
	int64_t			 stack_id;	/* for during() */
};

static const char *
hook_unplaceable(void *arg, int64_t service_id)
{
	struct hook_log *hl = arg;

	if (hl->during != NULL) {
		hl->during(hl);
		hl->during = NULL;
	}
	return service_id == hl->unplaceable ? hl->reason : NULL;
}

static void
hook_service(void *arg, int64_t service_id)
{
	struct hook_log *hl = arg;

	if (hl->nactivated < 8)
		hl->activated[hl->nactivated++] = service_id;
}

static void
hook_node(void *arg, const char *node_id)
{
	struct hook_log *hl = arg;
	size_t len = strlen(hl->nodes);

	snprintf(hl->nodes + len, sizeof hl->nodes - len, "%s%.2s",
	    len > 0 ? " " : "", node_id);
}

/* Advance the grid's deploys at now: *replan as the machine set it. */
static int
advance_at(struct hook_log *hl, int64_t now, int64_t timeout_ms)
{
	struct sched_deploy_hooks h = { hook_unplaceable, hook_service,
	    hook_node, hl };
	int replan = -1;

	CHECK_INT(sched_deploy_advance(hl->f->st, hl->f->grid_id, now,
	    timeout_ms, &h, &replan), 0);
	CHECK(replan == 0 || replan == 1);
	return replan;
}

static int
advance(struct hook_log *hl)
{
	return advance_at(hl, util_now_ms(), TIMEOUT_MS);
}

/* An agent on node reports one container: the grid_changed flag. */
static int
report(struct master_fixture *f, const char *node, int64_t sid, int no,
    int64_t rev, const char *state, const char *error)
{
	json_t *c = json_pack("[{s:I, s:i, s:I, s:s, s:s?}]", "service_id",
	    (json_int_t)sid, "instance", no, "rev", (json_int_t)rev, "state",
	    state, "error", error);
	char *cause = NULL;
	int changed = -1;

	CHECK_INT(desired_apply_state(f->st, node, c, &changed, &cause), 0);
	CHECK(cause == NULL);
	free(cause);
	json_decref(c);
	return changed;
}

static int64_t
deploy_new(struct master_fixture *f, int64_t stack_id)
{
	int64_t id = 0;

	CHECK_INT(store_deploy_create(f->st, stack_id, &id), 0);
	return id;
}

/* "state: svc=state svc=state" of a deploy, or "gone". */
static const char *
deploy_summary(struct master_fixture *f, int64_t stack_id, int64_t id)
{
	static char buf[256];
	json_t *d, *v;
	size_t i, len;

	if (store_deploy_get_json(f->st, stack_id, id, &d) != 1)
		return "gone";
	len = (size_t)snprintf(buf, sizeof buf, "%s:", json_string_value(
	    json_object_get(d, "state")));
	json_array_foreach(json_object_get(d, "services"), i, v)
		len += (size_t)snprintf(buf + len, sizeof buf - len, " %s=%s",
		    json_string_value(json_object_get(v, "name")),
		    json_string_value(json_object_get(v, "state")));
	json_decref(d);
	return buf;
}

/* The deploy's error (which = NULL) or that of its service which. */
static const char *
deploy_error(struct master_fixture *f, int64_t stack_id, int64_t id,
    const char *which)
{
	static char buf[512];
	json_t *d, *v, *o = NULL;
	size_t i;

	buf[0] = '\0';
	if (store_deploy_get_json(f->st, stack_id, id, &d) != 1)
		return buf;
	if (which == NULL)
		o = d;
	json_array_foreach(json_object_get(d, "services"), i, v)
		if (which != NULL && strcmp(which, json_string_value(
		    json_object_get(v, "name"))) == 0)
			o = v;
	if (o != NULL && json_is_string(json_object_get(o, "error")))
		snprintf(buf, sizeof buf, "%s",
		    json_string_value(json_object_get(o, "error")));
	json_decref(d);
	return buf;
}

/* The messages of the grid's events whose type starts with prefix. */
static const char *
events(struct master_fixture *f, const char *prefix)
{
	static char buf[4096];
	struct event_filter ef = { prefix, 0, 0, 0, 1000 };
	json_t *arr = store_event_list_json(f->st, f->grid_id, &ef), *e;
	size_t i, len = 0;

	buf[0] = '\0';
	json_array_foreach(arr, i, e)
		len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s",
		    len > 0 ? "\n" : "",
		    json_string_value(json_object_get(e, "message")));
	json_decref(arr);
	return buf;
}

/* "no:rREV:state" for each instance of sid, by instance number. */
static const char *
instances(struct master_fixture *f, int64_t sid)
{
	static char buf[512];
	json_t *arr = store_service_containers_json(f->st, sid), *c;
	size_t i, len = 0;

	buf[0] = '\0';
	json_array_foreach(arr, i, c)
		len += (size_t)snprintf(buf + len, sizeof buf - len,
		    "%s%lld:r%lld:%s", len > 0 ? " " : "",
		    (long long)json_integer_value(json_object_get(c,
		    "instance")),
		    (long long)json_integer_value(json_object_get(c, "rev")),
		    json_string_value(json_object_get(c, "state")));
	json_decref(arr);
	return buf;
}

/* Every instance of sid reports running at the revision it has. */
static void
report_all_running(struct master_fixture *f, int64_t sid)
{
	json_t *arr = store_service_containers_json(f->st, sid), *c;
	size_t i;

	json_array_foreach(arr, i, c)
		report(f, json_string_value(json_object_get(c, "node_id")), sid,
		    (int)json_integer_value(json_object_get(c, "instance")),
		    json_integer_value(json_object_get(c, "rev")), "running",
		    NULL);
	json_decref(arr);
}

/* A stack "roll" of one service "web": instances, min_health, image. */
static const char *
roll_yml(int n, const char *min_health, const char *image)
{
	static char yml[256];

	snprintf(yml, sizeof yml, "stack: t/roll\nversion: 1.0.0\nservices:\n"
	    "  web:\n    image: %s\n    instances: %d\n    deploy:\n"
	    "      min_health: %s\n", image, n, min_health);
	return yml;
}

/* Deploy web of roll_yml() to success with n instances on N1. */
static void
roll_first_deploy(struct hook_log *hl, int64_t stack_id, int64_t web, int n)
{
	int64_t id = deploy_new(hl->f, stack_id);
	int i;

	CHECK_INT(advance(hl), 1);		/* activated */
	for (i = 1; i <= n; i++)
		master_fixture_place(hl->f, web, i, N1, 1);
	report_all_running(hl->f, web);
	CHECK_INT(advance(hl), 0);
	CHECK_STR(deploy_summary(hl->f, stack_id, id), "success: web=success");
}

/* Upgrade stack_id to spec (the caller's reference is taken). */
static void
upgrade(struct master_fixture *f, int64_t stack_id, json_t *spec,
    struct stack_update *u)
{
	CHECK_INT(store_stack_update(f->st, stack_id, spec, "(test)", u), 0);
	json_decref(spec);
}

/* Upgrade stack_id to yml, as PUT /v1/stacks/g/NAME does. */
static void
upgrade_to(struct master_fixture *f, int64_t stack_id, const char *yml)
{
	struct stack_update u;

	upgrade(f, stack_id, master_fixture_parse(f, yml), &u);
	store_stack_update_clear(&u);
}

/* ---- enums ---------------------------------------------------------- */

static void
test_deploy_state_names(void)
{
	struct master_fixture *f = master_fixture_new();
	enum deploy_state s, back;
	struct store_stmt *q;
	int64_t stack_id, id;
	int i;

	CHECK_STR(deploy_state_name(DEPLOY_CREATED), "created");
	CHECK_STR(deploy_state_name(DEPLOY_ONGOING), "ongoing");
	CHECK_STR(deploy_state_name(DEPLOY_SUCCESS), "success");
	CHECK_STR(deploy_state_name(DEPLOY_ERROR), "error");
	CHECK_INT(deploy_state_parse("done", &back), -1);
	CHECK_INT(deploy_state_parse(NULL, &back), -1);
	stack_id = master_fixture_stack(f, roll_yml(1, "0.8", "busybox:1"),
	    NULL);
	/* Every name round-trips and is one the schema's CHECK takes. */
	id = deploy_new(f, stack_id);
	q = store_stmt(f->st, "UPDATE deploys SET state = ?2 WHERE id = ?1");
	for (i = 0; i < DEPLOY_NSTATES; i++) {
		s = (enum deploy_state)i;
		CHECK_INT(deploy_state_parse(deploy_state_name(s), &back), 0);
		CHECK_INT(back, s);
		stmt_bind_int64(q, 1, id);
		stmt_bind_text(q, 2, deploy_state_name(s));
		CHECK_INT(store_done(q), 0);
	}
	stmt_bind_int64(q, 1, id);
	stmt_bind_text(q, 2, "done");
	CHECK_INT(store_done(q), -1);
	master_fixture_free(f);
}

/* ---- the snapshot --------------------------------------------------- */

static void
test_deploy_snapshot(void)
{
	struct master_fixture *f = master_fixture_new();
	struct deploy_snap *v;
	struct deploy_service *s;
	int64_t stack_id, web;
	size_t n;

	master_fixture_node(f, N1, "n1", "[]");
	stack_id = master_fixture_stack(f, roll_yml(5, "0.5", "busybox:1"),
	    NULL);
	web = master_fixture_service(f, "roll", "web");
	master_fixture_place(f, web, 1, N1, 1);
	master_fixture_place(f, web, 2, N1, 1);
	upgrade_to(f, stack_id, roll_yml(5, "0.5", "busybox:2"));
	master_fixture_place(f, web, 3, N1, 2);
	master_fixture_place(f, web, 4, N1, 2);
	master_fixture_place(f, web, 5, N1, 2);
	report(f, N1, web, 3, 2, "running", NULL);
	report(f, N1, web, 4, 2, "error", "boom");
	report(f, N1, web, 1, 1, "error", "old");	/* outdated: no count */

	CHECK_INT(store_deploy_unfinished(f->st, f->grid_id, &v, &n), 0);
	CHECK_INT(n, 0);
	store_deploy_snaps_free(v, n);
	deploy_new(f, stack_id);
	CHECK_INT(store_deploy_unfinished(f->st, f->grid_id, &v, &n), 0);
	CHECK_INT(n, 1);
	if (n == 1) {
		CHECK_STR(v[0].stack, "roll");
		CHECK_INT(v[0].state, DEPLOY_CREATED);
		CHECK_INT(v[0].nservices, 1);
		s = &v[0].services[0];
		CHECK_STR(s->name, "web");
		CHECK_INT(s->state, DEPLOY_CREATED);
		CHECK_INT(s->rev, 2);
		CHECK(s->min_health == 0.5);
		CHECK_INT(s->active, 0);
		CHECK_INT(s->placed, 5);
		CHECK_INT(s->outdated, 2);
		CHECK_INT(s->running, 1);
		CHECK_INT(s->failed, 1);
		CHECK_INT(s->pending, 1);
		CHECK_INT(s->error_no, 4);
		CHECK_STR(s->error_node, "n1");
		CHECK_STR(s->error, "boom");
	}
	store_deploy_snaps_free(v, n);
	master_fixture_free(f);
}

/* ---- the deploy machine --------------------------------------------- */

static void
test_deploy_order_by_links(void)
{
	struct master_fixture *f = master_fixture_new();
	struct hook_log hl = { .f = f };
	int64_t stack_id, web, db, id;

	master_fixture_node(f, N1, "n1", "[]");
	stack_id = master_fixture_stack(f, linked_yml, NULL);
	web = master_fixture_service(f, "app", "web");
	db = master_fixture_service(f, "app", "db");
	id = deploy_new(f, stack_id);
	CHECK_STR(deploy_summary(f, stack_id, id),
	    "created: db=created web=created");

	/* db first: activated, and the scheduler must plan for it. */
	CHECK_INT(advance(&hl), 1);
	CHECK_INT(hl.nactivated, 1);
	CHECK_INT(hl.activated[0], db);
	CHECK_STR(deploy_summary(f, stack_id, id),
	    "ongoing: db=ongoing web=created");
	/* Placed, not yet running: it waits, asking for nothing. */
	master_fixture_place(f, db, 1, N1, 1);
	CHECK_INT(advance(&hl), 0);
	CHECK_INT(advance(&hl), 0);
	CHECK_INT(hl.nactivated, 1);
	report(f, N1, db, 1, 1, "pulling", NULL);
	CHECK_INT(advance(&hl), 0);
	CHECK_STR(deploy_summary(f, stack_id, id),
	    "ongoing: db=ongoing web=created");
	/* db runs: it is done and web is activated in the same advance. */
	report(f, N1, db, 1, 1, "running", NULL);
	CHECK_INT(advance(&hl), 1);
	CHECK_INT(hl.nactivated, 2);
	CHECK_INT(hl.activated[1], web);
	CHECK_STR(deploy_summary(f, stack_id, id),
	    "ongoing: db=success web=ongoing");
	master_fixture_place(f, web, 1, N1, 1);
	master_fixture_place(f, web, 2, N1, 1);
	report(f, N1, web, 1, 1, "running", NULL);
	CHECK_INT(advance(&hl), 0);
	report(f, N1, web, 2, 1, "running", NULL);
	CHECK_INT(advance(&hl), 0);
	CHECK_STR(deploy_summary(f, stack_id, id),
	    "success: db=success web=success");
	CHECK_STR(events(f, "deploy."), "deploy 1 of stack app started\n"
	    "deploying service app/db\n"
	    "service app/db deployed: 1 instance(s) running\n"
	    "deploying service app/web\n"
	    "service app/web deployed: 2 instance(s) running\n"
	    "deploy 1 of stack app succeeded");
	/* Finished: later advances leave it alone. */
	CHECK_INT(advance(&hl), 0);
	CHECK_HAS(events(f, "deploy."), "succeeded");
	CHECK(strstr(events(f, "deploy."), "succeeded\n") == NULL);
	master_fixture_free(f);
}

static void
test_deploy_rolls_in_batches(void)
{
	struct master_fixture *f = master_fixture_new();
	struct hook_log hl = { .f = f };
	int64_t stack_id, web, id;

	master_fixture_node(f, N1, "n1", "[]");
	stack_id = master_fixture_stack(f, roll_yml(4, "0.5", "busybox:1"),
	    NULL);
	web = master_fixture_service(f, "roll", "web");
	roll_first_deploy(&hl, stack_id, web, 4);

	/* Rev 2; batches of 4 - ceil(0.5 x 4) = 2. */
	upgrade_to(f, stack_id, roll_yml(4, "0.5", "busybox:2"));
	id = deploy_new(f, stack_id);
	hl.nodes[0] = '\0';
	CHECK_INT(advance(&hl), 1);
	CHECK_STR(hl.nodes, "11 11");
	CHECK_STR(instances(f, web),
	    "1:r2:pending 2:r2:pending 3:r1:running 4:r1:running");
	/* Two in flight: nothing more until one runs at rev 2. */
	CHECK_INT(advance(&hl), 0);
	/* The old container of instance 1 still says running: not it. */
	CHECK_INT(report(f, N1, web, 1, 1, "running", NULL), 0);
	/* An outdated instance in error does not fail the deploy. */
	CHECK_INT(report(f, N1, web, 4, 1, "error", "old one"), 1);
	CHECK_INT(advance(&hl), 0);
	CHECK_STR(instances(f, web),
	    "1:r2:pending 2:r2:pending 3:r1:running 4:r1:error");
	CHECK_INT(report(f, N1, web, 1, 2, "running", NULL), 1);
	hl.nodes[0] = '\0';
	CHECK_INT(advance(&hl), 1);
	CHECK_STR(hl.nodes, "11");
	CHECK_STR(instances(f, web),
	    "1:r2:running 2:r2:pending 3:r2:pending 4:r1:error");
	report(f, N1, web, 2, 2, "running", NULL);
	report(f, N1, web, 3, 2, "running", NULL);
	CHECK_INT(advance(&hl), 1);	/* the last one; batch not filled */
	CHECK_STR(instances(f, web),
	    "1:r2:running 2:r2:running 3:r2:running 4:r2:pending");
	CHECK_STR(deploy_summary(f, stack_id, id), "ongoing: web=ongoing");
	report(f, N1, web, 4, 2, "running", NULL);
	CHECK_INT(advance(&hl), 0);
	CHECK_STR(deploy_summary(f, stack_id, id), "success: web=success");
	CHECK_HAS(events(f, "deploy."),
	    "service roll/web deployed: 4 instance(s) running\n"
	    "deploy 2 of stack roll succeeded");
	master_fixture_free(f);
}

static void
test_deploy_rolls_one_at_least(void)
{
	struct master_fixture *f = master_fixture_new();
	struct hook_log hl = { .f = f };
	int64_t stack_id, web;

	/* 3 - ceil(0.8 x 3) = 0: still one at a time. */
	master_fixture_node(f, N1, "n1", "[]");
	stack_id = master_fixture_stack(f, roll_yml(3, "0.8", "busybox:1"),
	    NULL);
	web = master_fixture_service(f, "roll", "web");
	roll_first_deploy(&hl, stack_id, web, 3);
	upgrade_to(f, stack_id, roll_yml(3, "0.8", "busybox:2"));
	deploy_new(f, stack_id);
	CHECK_INT(advance(&hl), 1);
	CHECK_STR(instances(f, web), "1:r2:pending 2:r1:running 3:r1:running");
	CHECK_INT(advance(&hl), 0);
	report(f, N1, web, 1, 2, "running", NULL);
	CHECK_INT(advance(&hl), 1);
	CHECK_STR(instances(f, web), "1:r2:running 2:r2:pending 3:r1:running");
	master_fixture_free(f);
}

static void
test_deploy_instance_error(void)
{
	struct master_fixture *f = master_fixture_new();
	struct hook_log hl = { .f = f };
	int64_t stack_id, db, id;

	master_fixture_node(f, N1, "n1", "[]");
	master_fixture_node(f, N2, "n2", "[]");
	stack_id = master_fixture_stack(f, linked_yml, NULL);
	db = master_fixture_service(f, "app", "db");
	id = deploy_new(f, stack_id);
	CHECK_INT(advance(&hl), 1);
	master_fixture_place(f, db, 1, N2, 1);
	report(f, N2, db, 1, 1, "error", "pull failed: manifest unknown");
	CHECK_INT(advance(&hl), 0);
	CHECK_STR(deploy_summary(f, stack_id, id), "error: db=error web=error");
	CHECK_STR(deploy_error(f, stack_id, id, NULL),
	    "service db: instance 1 on node n2: pull failed: manifest unknown");
	CHECK_STR(deploy_error(f, stack_id, id, "db"),
	    "service db: instance 1 on node n2: pull failed: manifest unknown");
	CHECK_STR(deploy_error(f, stack_id, id, "web"),
	    "not deployed: an earlier service failed");
	CHECK_HAS(events(f, "deploy.error"), "deploy 1 of stack app failed: "
	    "service db: instance 1 on node n2: pull failed");

	/* No message from the agent: the deploy still says which. */
	id = deploy_new(f, stack_id);
	report(f, N2, db, 1, 1, "error", NULL);
	CHECK_INT(advance(&hl), 0);
	CHECK_STR(deploy_error(f, stack_id, id, NULL),
	    "service db: instance 1 on node n2: error");
	master_fixture_free(f);
}

/* An agent reports one container with all it can say. */
static void
report_full(struct master_fixture *f, const char *node, int64_t sid, int no,
    const char *state, int exit_code, int restarts, const char *output,
    const char *error)
{
	json_t *c = json_pack("[{s:I, s:i, s:i, s:s, s:s?, s:s?, s:i}]",
	    "service_id", (json_int_t)sid, "instance", no, "rev", 1, "state",
	    state, "error", error, "last_output", output, "restarts",
	    restarts);
	char *cause = NULL;
	int changed;

	if (exit_code >= 0)
		json_object_set_new(json_array_get(c, 0), "exit_code",
		    json_integer(exit_code));
	CHECK_INT(desired_apply_state(f->st, node, c, &changed, &cause), 0);
	free(cause);
	json_decref(c);
}

/*
 * Issue 19.1, 19.2, 19.6, 21.6: what fails a deploy at once, with the
 * reason an operator needs (crashing with its exit code and output,
 * paused, an engine down), what it waits for within its time (a pull
 * being retried; an offline node's instance, which is not running), and
 * the containers' view of it.
 */
static void
test_deploy_truth(void)
{
	struct master_fixture *f = master_fixture_new();
	struct hook_log hl = { .f = f };
	int64_t stack_id, db, id;
	json_t *arr;

	master_fixture_node(f, N1, "n1", "[]");
	master_fixture_node(f, N2, "n2", "[]");
	stack_id = master_fixture_stack(f, linked_yml, NULL);
	db = master_fixture_service(f, "app", "db");
	id = deploy_new(f, stack_id);
	CHECK_INT(advance(&hl), 1);
	master_fixture_place(f, db, 1, N2, 1);

	/* Crashing: fails now, saying how and with what output. */
	report_full(f, N2, db, 1, "crashing", 3, 2, "booting\nboom\n", NULL);
	CHECK_INT(advance(&hl), 0);
	CHECK_STR(deploy_error(f, stack_id, id, "db"), "service db: instance "
	    "1 on node n2: crashing (exit code 3, 2 restarts); last output: "
	    "booting | boom");
	CHECK_HAS(events(f, "instance.crash"), "app/db#1 on node n2 is "
	    "crashing: exited with code 3, restarted 2 time(s)");
	arr = store_service_containers_json(f->st, db);
	CHECK_STR(json_string_value(json_object_get(json_array_get(arr, 0),
	    "last_output")), "booting\nboom\n");
	json_decref(arr);
	/* Only once per spell of crashing. */
	report_full(f, N2, db, 1, "crashing", 3, 3, "boom", NULL);
	CHECK_STR(events(f, "instance.crash"), "app/db#1 on node n2 is "
	    "crashing: exited with code 3, restarted 2 time(s)");

	/* Paused by hand: fails, and says so. */
	id = deploy_new(f, stack_id);
	report_full(f, N2, db, 1, "paused", -1, 0, NULL, NULL);
	CHECK_INT(advance(&hl), 0);
	CHECK_HAS(deploy_error(f, stack_id, id, "db"), "paused");

	/* A pull retried: the deploy waits, and a timeout says why. */
	id = deploy_new(f, stack_id);
	report_full(f, N2, db, 1, "pulling", -1, 0, NULL,
	    "pull redis:7: manifest unknown");
	CHECK_INT(advance(&hl), 0);
	CHECK_STR(deploy_summary(f, stack_id, id), "ongoing: db=ongoing "
	    "web=created");
	CHECK_INT(advance_at(&hl, util_now_ms() + TIMEOUT_MS + 1000,
	    TIMEOUT_MS), 0);
	CHECK_STR(deploy_error(f, stack_id, id, "db"), "timed out after 600s: "
	    "service db: instance 1 on node n2 is pulling: pull redis:7: "
	    "manifest unknown");

	/* Running on a node whose engine is down: unknown, and a deploy
	 * fails at once with the engine's reason. */
	report_full(f, N2, db, 1, "running", -1, 0, NULL, NULL);
	CHECK_INT(store_node_engine(f->st, N2, f->grid_id, "n2", 1,
	    "the Docker Engine socket /x.sock does not exist"), 1);
	CHECK_INT(store_node_engine(f->st, N2, f->grid_id, "n2", 1,
	    "the Docker Engine socket /x.sock does not exist"), 0);
	arr = store_service_containers_json(f->st, db);
	CHECK_STR(json_string_value(json_object_get(json_array_get(arr, 0),
	    "state")), "unknown");
	CHECK_STR(json_string_value(json_object_get(json_array_get(arr, 0),
	    "reported_state")), "running");
	CHECK_HAS(json_string_value(json_object_get(json_array_get(arr, 0),
	    "error")), "the Docker Engine of node n2 is down: the Docker "
	    "Engine socket /x.sock does not exist");
	json_decref(arr);
	id = deploy_new(f, stack_id);
	CHECK_INT(advance(&hl), 0);
	CHECK_STR(deploy_error(f, stack_id, id, "db"), "service db: instance "
	    "1 on node n2: the Docker Engine of node n2 is down: the Docker "
	    "Engine socket /x.sock does not exist");
	CHECK_HAS(events(f, "node.engine"), "node n2: Docker Engine down");

	/* Back: running again, counted. */
	CHECK_INT(store_node_engine(f->st, N2, f->grid_id, "n2", 0, NULL), 1);
	id = deploy_new(f, stack_id);
	CHECK_INT(advance(&hl), 1);
	CHECK_STR(deploy_summary(f, stack_id, id), "ongoing: db=success "
	    "web=ongoing");

	/* An offline node's instance: unknown, and not running. */
	CHECK_INT(store_node_offline(f->st, N2, f->grid_id, "n2", "test"), 0);
	arr = store_service_containers_json(f->st, db);
	CHECK_STR(json_string_value(json_object_get(json_array_get(arr, 0),
	    "state")), "unknown");
	CHECK_STR(json_string_value(json_object_get(json_array_get(arr, 0),
	    "error")), "node offline");
	json_decref(arr);
	id = deploy_new(f, stack_id);
	CHECK_INT(advance(&hl), 0);
	CHECK_STR(deploy_summary(f, stack_id, id), "ongoing: db=ongoing "
	    "web=created");
	master_fixture_free(f);
}

static void
test_deploy_unplaceable(void)
{
	struct master_fixture *f = master_fixture_new();
	struct hook_log hl = { .f = f };
	int64_t stack_id, db, id;

	stack_id = master_fixture_stack(f, linked_yml, NULL);
	db = master_fixture_service(f, "app", "db");
	id = deploy_new(f, stack_id);
	CHECK_INT(advance(&hl), 1);
	hl.unplaceable = db;
	hl.reason = "no eligible node (0 node(s) online)";
	CHECK_INT(advance(&hl), 0);
	CHECK_STR(deploy_summary(f, stack_id, id), "error: db=error web=error");
	CHECK_STR(deploy_error(f, stack_id, id, NULL),
	    "service db: no eligible node (0 node(s) online)");
	CHECK_INT(hl.nactivated, 1);	/* web never was */
	master_fixture_free(f);
}

static void
test_deploy_timeout(void)
{
	struct master_fixture *f = master_fixture_new();
	struct hook_log hl = { .f = f };
	int64_t stack_id, db, id;

	master_fixture_node(f, N1, "n1", "[]");
	stack_id = master_fixture_stack(f, linked_yml, NULL);
	db = master_fixture_service(f, "app", "db");

	/* Out of time before it began: started, then failed. */
	id = deploy_new(f, stack_id);
	CHECK_INT(advance_at(&hl, util_now_ms() + 2000, 1000), 0);
	CHECK_STR(deploy_summary(f, stack_id, id), "error: db=error web=error");
	CHECK_STR(deploy_error(f, stack_id, id, NULL),
	    "timed out after 1s: service db");
	CHECK_STR(deploy_error(f, stack_id, id, "db"),
	    "timed out after 1s: service db");
	CHECK_STR(deploy_error(f, stack_id, id, "web"),
	    "not deployed: an earlier service failed");
	CHECK_STR(events(f, "deploy."), "deploy 1 of stack app started\n"
	    "deploy 1 of stack app failed: timed out after 1s: service db");
	CHECK_INT(hl.nactivated, 0);

	/* Out of time on its second service: the first stays deployed. */
	id = deploy_new(f, stack_id);
	CHECK_INT(advance(&hl), 1);
	master_fixture_place(f, db, 1, N1, 1);
	report(f, N1, db, 1, 1, "running", NULL);
	CHECK_INT(advance(&hl), 1);
	CHECK_INT(advance_at(&hl, util_now_ms() + TIMEOUT_MS + 1000,
	    TIMEOUT_MS), 0);
	CHECK_STR(deploy_summary(f, stack_id, id),
	    "error: db=success web=error");
	CHECK_STR(deploy_error(f, stack_id, id, "web"),
	    "timed out after 600s: service web");
	master_fixture_free(f);
}

static void
during_remove_stack(struct hook_log *hl)
{
	json_t *nodes = json_array();
	int64_t *ids = NULL;
	size_t n;

	CHECK_INT(store_stack_delete(hl->f->st, hl->stack_id, nodes, &ids,
	    &n), 0);
	free(ids);
	json_decref(nodes);
}

static void
during_new_deploy(struct hook_log *hl)
{
	deploy_new(hl->f, hl->stack_id);
}

static void
test_deploy_stack_removed(void)
{
	struct master_fixture *f = master_fixture_new();
	struct hook_log hl = { .f = f };
	int64_t stack_id, db, id;
	char before[4096];

	master_fixture_node(f, N1, "n1", "[]");
	/* Removed between two advances: its deploy is gone with it. */
	stack_id = master_fixture_stack(f, linked_yml, NULL);
	db = master_fixture_service(f, "app", "db");
	id = deploy_new(f, stack_id);
	CHECK_INT(advance(&hl), 1);
	master_fixture_place(f, db, 1, N1, 1);
	hl.stack_id = stack_id;
	during_remove_stack(&hl);
	snprintf(before, sizeof before, "%s", events(f, "deploy."));
	CHECK_INT(advance(&hl), 0);
	CHECK_STR(deploy_summary(f, stack_id, id), "gone");
	CHECK_STR(events(f, "deploy."), before);

	/* Removed while the machine works on it (the API's thread does
	 * that): nothing is written for the deploy that went away. */
	stack_id = master_fixture_stack(f, linked_yml, NULL);
	db = master_fixture_service(f, "app", "db");
	id = deploy_new(f, stack_id);
	CHECK_INT(advance(&hl), 1);
	hl.stack_id = stack_id;
	hl.during = during_remove_stack;
	hl.unplaceable = db;
	hl.reason = "no eligible node";
	snprintf(before, sizeof before, "%s", events(f, "deploy."));
	CHECK_INT(advance(&hl), 0);
	CHECK_STR(deploy_summary(f, stack_id, id), "gone");
	CHECK_STR(events(f, "deploy."), before);
	master_fixture_free(f);
}

static void
test_deploy_superseded(void)
{
	struct master_fixture *f = master_fixture_new();
	struct hook_log hl = { .f = f };
	int64_t stack_id, db, id, id2;

	master_fixture_node(f, N1, "n1", "[]");
	stack_id = master_fixture_stack(f, linked_yml, NULL);
	db = master_fixture_service(f, "app", "db");
	id = deploy_new(f, stack_id);
	CHECK_INT(advance(&hl), 1);
	master_fixture_place(f, db, 1, N1, 1);
	/* A newer deploy arrives while the machine decides to fail this
	 * one: the newer one's verdict stands, and it carries on. */
	hl.stack_id = stack_id;
	hl.during = during_new_deploy;
	hl.unplaceable = db;
	hl.reason = "no eligible node";
	CHECK_INT(advance(&hl), 0);
	CHECK_STR(deploy_error(f, stack_id, id, NULL),
	    "superseded by a newer deploy");
	CHECK(strstr(events(f, "deploy.error"), "no eligible node") == NULL);
	id2 = id + 1;
	CHECK_STR(deploy_summary(f, stack_id, id2),
	    "created: db=created web=created");
	hl.unplaceable = 0;
	CHECK_INT(advance(&hl), 0);	/* db is placed already: it waits */
	CHECK_STR(deploy_summary(f, stack_id, id2),
	    "ongoing: db=ongoing web=created");
	master_fixture_free(f);
}

/* The scheduler's own round, hooks and all, to the end of a deploy. */
static void
test_deploy_round_end_to_end(void)
{
	struct master_fixture *f = master_fixture_new();
	struct sched_changes ch = { .all = 1 };
	struct sched_round *r;
	int64_t stack_id, web, db, id;
	int i;

	master_fixture_node(f, N1, "n1", "[]");
	master_fixture_node(f, N2, "n2", "[]");
	stack_id = master_fixture_stack(f, linked_yml, NULL);
	web = master_fixture_service(f, "app", "web");
	db = master_fixture_service(f, "app", "db");
	id = deploy_new(f, stack_id);
	r = sched_round_new(&f->m);
	sched_round_run(r, &ch);
	/* Activated and placed in that one round; web waits for db. */
	CHECK_STR(deploy_summary(f, stack_id, id),
	    "ongoing: db=ongoing web=created");
	CHECK_STR(instances(f, db), "1:r1:pending");
	CHECK_STR(instances(f, web), "");
	for (i = 0; i < 6; i++) {
		report_all_running(f, db);
		report_all_running(f, web);
		sched_round_run(r, &ch);
	}
	CHECK_STR(deploy_summary(f, stack_id, id),
	    "success: db=success web=success");
	CHECK_STR(instances(f, web), "1:r1:running 2:r1:running");
	CHECK_STR(events(f, "deploy."), "deploy 1 of stack app started\n"
	    "deploying service app/db\n"
	    "service app/db deployed: 1 instance(s) running\n"
	    "deploying service app/web\n"
	    "service app/web deployed: 2 instance(s) running\n"
	    "deploy 1 of stack app succeeded");
	sched_round_free(r);
	master_fixture_free(f);
}

/* ---- store_stack_update() ------------------------------------------- */

static int64_t
service_rev(struct master_fixture *f, const char *stack, const char *name)
{
	json_t *o;
	int64_t rev;

	if (store_service_get_json(f->st, f->grid_id, stack, name, &o) != 1)
		return -1;
	rev = json_integer_value(json_object_get(o, "rev"));
	json_decref(o);
	return rev;
}

static int64_t
stack_rev(struct master_fixture *f, int64_t stack_id)
{
	json_t *o;
	int64_t rev;

	if (store_stack_get_json(f->st, stack_id, &o) != 1)
		return -1;
	rev = json_integer_value(json_object_get(o, "rev"));
	json_decref(o);
	return rev;
}

static void
test_stack_update_same_spec(void)
{
	struct master_fixture *f = master_fixture_new();
	struct stack_update u;

	master_fixture_seed(f);
	upgrade(f, f->stack_id, json_incref(f->stack_spec), &u);
	CHECK_INT(u.nchanged, 0);
	CHECK_INT(u.nadded, 0);
	CHECK_INT(u.nremoved, 0);
	CHECK_INT(json_array_size(u.nodes), 0);
	store_stack_update_clear(&u);
	CHECK_INT(service_rev(f, "st", "web"), 1);
	CHECK_INT(service_rev(f, "st", "db"), 1);
	CHECK_INT(stack_rev(f, f->stack_id), 2);
	CHECK_STR(instances(f, f->web_id), "1:r1:pending 2:r1:pending");
	CHECK_STR(events(f, "stack.upgrade"),
	    "stack st upgraded: 0 service(s) changed or removed");
	master_fixture_free(f);
}

static void
test_stack_update_changes(void)
{
	static const char v2[] =
		"stack: fuzz/st\n"
		"version: 1.1.0\n"
		"services:\n"
		"  cache:\n"
		"    image: memcached:1\n"
		"  web:\n"
		"    image: nginx:1.27\n"
		"    instances: 2\n"
		"    ports:\n"
		"      - 8080:80\n";
	struct master_fixture *f = master_fixture_new();
	struct stack_update u;
	json_t *svcs;
	int64_t db, cache, id;

	master_fixture_seed(f);
	db = master_fixture_service(f, "st", "db");
	master_fixture_place(f, db, 1, MASTER_FIXTURE_NODE_ID, 1);
	upgrade(f, f->stack_id, master_fixture_parse(f, v2), &u);
	CHECK_INT(u.nchanged, 1);
	CHECK_INT(u.nchanged == 1 ? u.changed[0] : 0, f->web_id);
	CHECK_INT(u.nremoved, 1);
	CHECK_INT(u.nremoved == 1 ? u.removed[0] : 0, db);
	CHECK_INT(u.nadded, 1);
	cache = u.nadded == 1 ? u.added[0] : 0;
	CHECK_INT(json_array_size(u.nodes), 1);
	CHECK_STR(json_string_value(json_array_get(u.nodes, 0)),
	    MASTER_FIXTURE_NODE_ID);
	store_stack_update_clear(&u);
	CHECK_INT(u.nchanged + u.nadded + u.nremoved, 0);
	CHECK(u.nodes == NULL);

	CHECK_INT(service_rev(f, "st", "web"), 2);
	CHECK_INT(service_rev(f, "st", "cache"), 1);
	CHECK_INT(master_fixture_service(f, "st", "cache"), cache);
	CHECK_INT(service_rev(f, "st", "db"), -1);
	CHECK_INT(stack_rev(f, f->stack_id), 2);
	/* Instances keep their revision until a deploy rolls them. */
	CHECK_STR(instances(f, f->web_id), "1:r1:pending 2:r1:pending");
	CHECK_STR(instances(f, db), "");
	CHECK_STR(events(f, "stack.upgrade"),
	    "stack st upgraded: 2 service(s) changed or removed");
	/* Positions follow the new file: a deploy walks cache, then web. */
	svcs = store_service_list_json(f->st, f->grid_id, "st");
	CHECK_INT(json_array_size(svcs), 2);
	CHECK_STR(json_string_value(json_object_get(json_array_get(svcs, 0),
	    "name")), "cache");
	json_decref(svcs);
	id = deploy_new(f, f->stack_id);
	CHECK_STR(deploy_summary(f, f->stack_id, id),
	    "created: cache=created web=created");

	/* The same file again: nothing changes revision. */
	upgrade(f, f->stack_id, master_fixture_parse(f, v2), &u);
	CHECK_INT(u.nchanged + u.nadded + u.nremoved, 0);
	store_stack_update_clear(&u);
	CHECK_INT(service_rev(f, "st", "web"), 2);
	CHECK_INT(service_rev(f, "st", "cache"), 1);
	CHECK_INT(stack_rev(f, f->stack_id), 3);
	master_fixture_free(f);
}

/* ---- applying state reports ------------------------------------------ */

static void
test_report_applies(void)
{
	struct master_fixture *f = master_fixture_new();
	json_t *c;

	master_fixture_seed(f);
	CHECK_INT(report(f, MASTER_FIXTURE_NODE_ID, f->web_id, 1, 1,
	    "running", NULL), 1);
	/* The same report again changes nothing. */
	CHECK_INT(report(f, MASTER_FIXTURE_NODE_ID, f->web_id, 1, 1,
	    "running", NULL), 0);
	CHECK_INT(report(f, MASTER_FIXTURE_NODE_ID, f->web_id, 2, 1,
	    "error", "no such image"), 1);
	CHECK_STR(instances(f, f->web_id), "1:r1:running 2:r1:error");
	c = store_service_containers_json(f->st, f->web_id);
	CHECK_STR(json_string_value(json_object_get(json_array_get(c, 1),
	    "error")), "no such image");
	json_decref(c);
	master_fixture_free(f);
}

static void
test_report_revision_match(void)
{
	struct master_fixture *f = master_fixture_new();
	struct hook_log hl = { .f = f };
	int64_t stack_id, web;

	master_fixture_node(f, N1, "n1", "[]");
	stack_id = master_fixture_stack(f, roll_yml(2, "0.5", "busybox:1"),
	    NULL);
	web = master_fixture_service(f, "roll", "web");
	roll_first_deploy(&hl, stack_id, web, 2);
	upgrade_to(f, stack_id, roll_yml(2, "0.5", "busybox:2"));
	deploy_new(f, stack_id);
	CHECK_INT(advance(&hl), 1);
	CHECK_STR(instances(f, web), "1:r2:pending 2:r1:running");
	/* The old container, stopping or still running, says nothing
	 * about the new instance. */
	CHECK_INT(report(f, N1, web, 1, 1, "running", NULL), 0);
	CHECK_INT(report(f, N1, web, 1, 1, "stopped", NULL), 0);
	CHECK_INT(report(f, N1, web, 1, 1, "error", "killed"), 0);
	CHECK_STR(instances(f, web), "1:r2:pending 2:r1:running");
	/* The new container does. */
	CHECK_INT(report(f, N1, web, 1, 2, "starting", NULL), 1);
	CHECK_STR(instances(f, web), "1:r2:starting 2:r1:running");
	master_fixture_free(f);
}

static void
test_report_unknown_ignored(void)
{
	struct master_fixture *f = master_fixture_new();
	json_t *c;
	char *cause = NULL;
	int changed = -1;

	master_fixture_seed(f);
	master_fixture_node(f, N2, "n2", "[]");
	/* No such service, no such instance, someone else's instance. */
	CHECK_INT(report(f, MASTER_FIXTURE_NODE_ID, 9999, 1, 1, "running",
	    NULL), 0);
	CHECK_INT(report(f, MASTER_FIXTURE_NODE_ID, f->web_id, 7, 1,
	    "running", NULL), 0);
	CHECK_INT(report(f, N2, f->web_id, 1, 1, "running", NULL), 0);
	CHECK_INT(report(f, "ffffffffffffffffffffffffffffffff", f->web_id,
	    2, 1, "running", NULL), 0);
	CHECK_STR(instances(f, f->web_id), "1:r1:pending 2:r1:pending");

	/* A bad entry refuses the frame: nothing of it is written. */
	c = json_pack("[{s:I, s:i, s:i, s:s}, {s:I, s:i, s:i, s:s}]",
	    "service_id", (json_int_t)f->web_id, "instance", 1, "rev", 1,
	    "state", "running", "service_id", (json_int_t)f->web_id,
	    "instance", 2, "rev", 1, "state", "exploded");
	CHECK_INT(desired_apply_state(f->st, MASTER_FIXTURE_NODE_ID, c,
	    &changed, &cause), -1);
	CHECK_HAS(cause, "containers[1].state");
	free(cause);
	json_decref(c);
	CHECK_STR(instances(f, f->web_id), "1:r1:pending 2:r1:pending");
	master_fixture_free(f);
}

/*
 * The hub's last-seen slice: one UPDATE for many nodes (a JSON array
 * bound once). A stats value < 0 keeps the stored one; a node id that is
 * not hex is skipped; an unknown node changes nothing.
 */
static void
test_node_seen_batch(void)
{
	struct master_fixture *f = master_fixture_new();
	struct node_seen v[4];
	struct store_stmt *q;
	char got[256];

	master_fixture_node(f, N1, "n1", "[]");
	master_fixture_node(f, N2, "n2", "[]");
	v[0] = (struct node_seen){ .at = 1000, .cpu_pct = 12.5,
	    .mem_used = 100, .mem_total = 400, .containers = 3 };
	snprintf(v[0].id, sizeof v[0].id, "%s", N1);
	v[1] = (struct node_seen){ .at = 2000, .cpu_pct = 50,
	    .mem_used = 200, .mem_total = 800, .containers = 7 };
	snprintf(v[1].id, sizeof v[1].id, "%s", N2);
	v[2] = (struct node_seen){ .at = 9, .cpu_pct = 1, .mem_used = 1,
	    .mem_total = 1, .containers = 1 };
	snprintf(v[2].id, sizeof v[2].id, "%s", "ffffffffffffffffffffffffffffffff");
	v[3] = (struct node_seen){ .at = 9, .cpu_pct = 1, .mem_used = 1,
	    .mem_total = 1, .containers = 1 };
	snprintf(v[3].id, sizeof v[3].id, "%s", "1111\",\"x");
	CHECK_INT(store_node_seen_batch(f->st, v, 4), 0);
	/* N1 again, pongs only (no stats): its loads stay. */
	v[0] = (struct node_seen){ .at = 3000, .cpu_pct = -1, .mem_used = -1,
	    .mem_total = -1, .containers = -1 };
	snprintf(v[0].id, sizeof v[0].id, "%s", N1);
	CHECK_INT(store_node_seen_batch(f->st, v, 1), 0);

	q = store_stmt(f->st, "SELECT group_concat(id || ':' || last_seen_at"
	    " || ':' || cpu_pct || ':' || mem_used || ':' || mem_total || ':'"
	    " || containers, ' ') FROM (SELECT * FROM nodes ORDER BY id)");
	CHECK_INT(stmt_step(q), STORE_ROW);
	snprintf(got, sizeof got, "%s", store_col_text(q, 0));
	stmt_reset(q);
	CHECK_STR(got, N1 ":3000:12.5:100:400:3 " N2 ":2000:50.0:200:800:7");
	master_fixture_free(f);
}

int
main(void)
{
	TEST_RUN(test_deploy_state_names);
	TEST_RUN(test_deploy_snapshot);
	TEST_RUN(test_deploy_order_by_links);
	TEST_RUN(test_deploy_rolls_in_batches);
	TEST_RUN(test_deploy_rolls_one_at_least);
	TEST_RUN(test_deploy_instance_error);
	TEST_RUN(test_deploy_unplaceable);
	TEST_RUN(test_deploy_truth);
	TEST_RUN(test_deploy_timeout);
	TEST_RUN(test_deploy_stack_removed);
	TEST_RUN(test_deploy_superseded);
	TEST_RUN(test_deploy_round_end_to_end);
	TEST_RUN(test_stack_update_same_spec);
	TEST_RUN(test_stack_update_changes);
	TEST_RUN(test_report_applies);
	TEST_RUN(test_report_revision_match);
	TEST_RUN(test_report_unknown_ignored);
	TEST_RUN(test_node_seen_batch);
	return TEST_DONE();
}
