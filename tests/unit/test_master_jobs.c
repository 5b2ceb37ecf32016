/*
 * test_master_jobs.c - jobs in the master on a real SQLite store, without
 * threads or sockets (tests/lib/master_fixture.h): the scheduler's real
 * round places queued tasks by priority on nodes with room; agents' reports
 * (desired_apply_jobs()) start and end attempts; retries wait out their
 * backoff; every end has its exit status (0, the exit code, 124, 125,
 * 130); a late report about a finished attempt changes nothing; cancel,
 * lost, node removal, delete and retention; the desired sets agents get;
 * and per node the count of jobs finished (for node groups).
 *
 * The tests play the agents and the notifications: master_changed_job()
 * is a no-op here (no scheduler thread), so a round is told which jobs
 * changed through its struct sched_changes.
 */
#include "tests/unit/test.h"
#include "tests/lib/master_fixture.h"

#include "master/hub_desired.h"
#include "master/sched_round.h"
#include "stacks/job_spec.h"

#include "common/util.h"
#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>

#define N1	"11111111111111111111111111111111"
#define N2	"22222222222222222222222222222222"

/* A node with that many cpus (0: not limited). */
static void
node(struct master_fixture *f, const char *id, const char *name, int cpus)
{
	json_t *info;

	master_fixture_node(f, id, name, "[]");
	info = json_pack("{s:i, s:I}", "cpus", cpus, "memory",
	    (json_int_t)8 << 30);
	if (store_node_info(f->st, id, info) < 0)
		master_fixture_die(f, "node info");
	json_decref(info);
}

/* A job from its YAML, created: its id. */
static int64_t
job(struct master_fixture *f, const char *yml)
{
	struct stack_errors errs = { 0 };
	json_t *spec;
	int64_t id;
	char name[64];

	if ((spec = job_spec_parse(yml, strlen(yml), "job.yml", &errs)) ==
	    NULL)
		master_fixture_die(f, "job spec");
	if (store_job_create(f->st, f->grid_id, spec, util_now_ms(), &id,
	    name) != 0)
		master_fixture_die(f, "job create");
	json_decref(spec);
	return id;
}

static json_t *
show(struct master_fixture *f, int64_t id)
{
	json_t *o = NULL;

	if (store_job_get_json(f->st, id, &o) != 1)
		return json_object();
	return o;
}

/* "state exit_status" of job id; exit "-" when null. */
static char *
state_of(struct master_fixture *f, int64_t id)
{
	static char buf[128];
	json_t *o = show(f, id), *v = json_object_get(o, "exit_status");

	if (json_is_integer(v))
		snprintf(buf, sizeof buf, "%s %lld", json_string_value(
		    json_object_get(o, "state")), (long long)
		    json_integer_value(v));
	else
		snprintf(buf, sizeof buf, "%s -", json_string_value(
		    json_object_get(o, "state")));
	json_decref(o);
	return buf;
}

/* The id of the job's newest attempt, 0 if none. */
static int64_t
attempt_of(struct master_fixture *f, int64_t id)
{
	json_t *o = show(f, id), *a = json_object_get(o, "attempts");
	int64_t at = json_integer_value(json_object_get(json_array_get(a,
	    json_array_size(a) - 1), "id"));

	json_decref(o);
	return at;
}

/* The node id of the job's newest attempt, "" if none. */
static const char *
node_of(struct master_fixture *f, int64_t id)
{
	static char buf[64];
	json_t *o = show(f, id), *a = json_object_get(o, "attempts");

	snprintf(buf, sizeof buf, "%s", json_string_value(json_object_get(
	    json_array_get(a, json_array_size(a) - 1), "node_id")) ?: "");
	json_decref(o);
	return buf;
}

/* An agent's report of one attempt: state, exit code (< 0: none). */
static int
report(struct master_fixture *f, const char *node_id, int64_t attempt,
    const char *state, int code, const char *flag)
{
	json_t *arr = json_array(), *o;
	int64_t *changed = NULL;
	size_t n = 0;
	int desired = 0, rc;
	char *cause = NULL;

	o = json_pack("{s:I, s:s, s:s}", "attempt", (json_int_t)attempt,
	    "state", state, "container_id", "c0ffee");
	if (code >= 0)
		json_object_set_new(o, "exit_code", json_integer(code));
	if (flag != NULL && strcmp(flag, "error") == 0)
		json_object_set_new(o, "error", json_string("pull x: no such "
		    "host"));
	else if (flag != NULL)
		json_object_set_new(o, flag, json_true());
	json_array_append_new(arr, o);
	rc = desired_apply_jobs(f->st, node_id, arr, &changed, &n, &desired,
	    &cause);
	if (rc != 0)
		printf("  report: %s\n", cause);
	free(cause);
	free(changed);
	json_decref(arr);
	return rc == 0 ? desired : -1;
}

/* A round of the real scheduler, told that these jobs changed. */
static void
round_jobs(struct sched_round *r, int64_t *jobs, size_t n)
{
	struct sched_changes ch = { .all = 1, .jobs = jobs, .njobs = n };

	sched_round_run(r, &ch);
}

static char *
events(struct master_fixture *f, const char *prefix)
{
	struct event_filter ef = { .type = prefix, .limit = 1000 };
	json_t *arr = store_event_list_json(f->st, f->grid_id, &ef), *e;
	struct buf b = { 0 };
	size_t i;

	buf_printf(&b, "%s", "");
	json_array_foreach(arr, i, e)
		buf_printf(&b, "%s %s: %s\n", json_string_value(json_object_get(
		    e, "type")), json_string_value(json_object_get(e,
		    "subject")), json_string_value(json_object_get(e,
		    "message")));
	json_decref(arr);
	return b.data;
}

/* 1 if the JSON text of v (whose reference this takes) holds needle. */
static int
has(json_t *v, const char *needle)
{
	char *text = json_dumps(v, JSON_ENCODE_ANY);
	int hit = text != NULL && strstr(text, needle) != NULL;

	if (!hit)
		printf("  \"%s\" not in %s\n", needle, text ? text : "null");
	free(text);
	json_decref(v);
	return hit;
}

/* The node's desired set, as the hub sends it. */
static json_t *
desired(struct master_fixture *f, const char *node_id)
{
	static const unsigned char key[TOKEN_KEY_LEN];
	json_t *d = desired_build(f->st, key, node_id);

	return d != NULL ? d : json_object();
}

/* Priority, then arrival; two one-cpu nodes run two; a report frees room. */
static void
test_jobs_round_queue_and_run(void)
{
	struct master_fixture *f = master_fixture_new();
	struct sched_round *r;
	int64_t a, b, c, at;
	json_t *d, *e, *o;
	char *ev;

	node(f, N1, "n1", 1);
	node(f, N2, "n2", 1);
	a = job(f, "name: a\nimage: busybox\ncpus: 1\n");
	b = job(f, "name: b\nimage: busybox\ncpus: 1\npriority: 5\n");
	c = job(f, "name: c\nimage: busybox\ncpus: 1\nparallel: 1\n");
	r = sched_round_new(&f->m);
	round_jobs(r, NULL, 0);
	CHECK_STR(state_of(f, b), "assigned -");
	CHECK_STR(state_of(f, a), "assigned -");
	CHECK_STR(state_of(f, c), "pending -");
	o = show(f, c);
	CHECK_HAS(json_string_value(json_object_get(o, "reason")),
	    "fail cpu (needs 1.00)");
	json_decref(o);
	/* What the agent of b's node is told: run it, with its index. */
	at = attempt_of(f, b);
	d = desired(f, node_of(f, b));
	e = json_array_get(json_object_get(d, "jobs"), 0);
	CHECK_INT(json_integer_value(json_object_get(e, "attempt")), at);
	CHECK_STR(json_string_value(json_object_get(e, "phase")), "run");
	CHECK(has(json_incref(json_object_get(e, "env")),
	    "BERTH_JOB_INDEX=0"));
	json_decref(d);
	/* A report from the wrong node changes nothing. */
	CHECK_INT(report(f, strcmp(node_of(f, b), N1) == 0 ? N2 : N1, at,
	    "running", -1, NULL), 0);
	CHECK_STR(state_of(f, b), "assigned -");
	CHECK_INT(report(f, node_of(f, b), at, "running", -1, NULL), 1);
	CHECK_STR(state_of(f, b), "running -");
	d = desired(f, node_of(f, b));
	CHECK_STR(json_string_value(json_object_get(json_array_get(
	    json_object_get(d, "jobs"), 0), "phase")), "started");
	json_decref(d);
	CHECK_INT(report(f, node_of(f, b), at, "exited", 0, NULL), 1);
	CHECK_STR(state_of(f, b), "succeeded 0");
	/* Finished: its container stays, kept by id. */
	d = desired(f, node_of(f, b));
	CHECK_INT(json_array_size(json_object_get(d, "jobs")), 0);
	CHECK_INT(json_integer_value(json_array_get(json_object_get(d,
	    "jobs_done"), 0)), at);
	json_decref(d);
	/* The node counts it (node groups: destroy after N jobs). */
	CHECK(store_node_get_json(f->st, f->grid_id, node_of(f, b), &o) == 1);
	CHECK_INT(json_integer_value(json_object_get(o, "jobs_finished")), 1);
	CHECK(json_is_string(json_object_get(o, "last_job_at")));
	json_decref(o);
	/* Its room goes to c. */
	round_jobs(r, &b, 1);
	CHECK_STR(state_of(f, c), "assigned -");
	ev = events(f, "job.");
	CHECK_HAS(ev, "job.queued c: waiting: no eligible node for job c");
	CHECK_HAS(ev, "job.assigned b: 1st attempt");
	CHECK_HAS(ev, "job.running b: 1st attempt");
	CHECK_HAS(ev, "job.succeeded b: 1st attempt");
	free(ev);
	sched_round_free(r);
	master_fixture_free(f);
}

/* Exited 3 with a retry left: pending, a backoff, then the second try. */
static void
test_jobs_retry(void)
{
	struct master_fixture *f = master_fixture_new();
	int64_t j, a1, a2;
	json_t *o, *t;
	char *ev;

	node(f, N1, "n1", 0);
	j = job(f, "name: r\nimage: busybox\nretries: 1\nbackoff: 30s\n");
	CHECK(store_job_assign(f->st, j, 0, N1, "test", util_now_ms(),
	    &a1) == 1);
	CHECK(store_job_assign(f->st, j, 0, N1, "test", util_now_ms(),
	    &a2) == 0);
	report(f, N1, a1, "exited", 3, NULL);
	CHECK_STR(state_of(f, j), "pending -");
	o = show(f, j);
	t = json_array_get(json_object_get(o, "tasks"), 0);
	CHECK(json_is_string(json_object_get(t, "not_before")));
	CHECK_HAS(json_string_value(json_object_get(t, "reason")),
	    "exit code 3");
	json_decref(o);
	ev = events(f, "job.retry");
	CHECK_HAS(ev, "on n1 failed: exit code 3; retry 1 of 1 in 30s");
	free(ev);
	CHECK(store_job_assign(f->st, j, 0, N1, "test", util_now_ms(),
	    &a2) == 1);
	CHECK(a2 > a1);
	report(f, N1, a2, "exited", 3, NULL);
	/* No retry left: failed, with the exit code as its status. */
	CHECK_STR(state_of(f, j), "failed 3");
	/* A late report about the first attempt changes nothing. */
	CHECK_INT(report(f, N1, a1, "exited", 0, NULL), 0);
	CHECK_STR(state_of(f, j), "failed 3");
	ev = events(f, "job.failed");
	CHECK_HAS(ev, "2nd attempt");
	CHECK_HAS(ev, "(no retry left)");
	free(ev);
	master_fixture_free(f);
}

/* How attempts end, and what `berth job wait` exits with for each. */
static void
test_jobs_exit_statuses(void)
{
	struct master_fixture *f = master_fixture_new();
	struct job_touched t = { NULL, 0 };
	int64_t j[5], at[5];
	json_t *d;
	int i;

	node(f, N1, "n1", 0);
	for (i = 0; i < 5; i++) {
		j[i] = job(f, "image: busybox\ntimeout: 5s\n");
		store_job_assign(f->st, j[i], 0, N1, "test", util_now_ms(),
		    &at[i]);
	}
	report(f, N1, at[0], "exited", 137, "timed_out");
	report(f, N1, at[1], "exited", 137, "oom_killed");
	report(f, N1, at[2], "error", -1, "error");
	report(f, N1, at[3], "running", -1, NULL);
	CHECK_STR(state_of(f, j[0]), "timed_out 124");
	CHECK_STR(state_of(f, j[1]), "failed 137");
	CHECK(has(show(f, j[1]), "killed for lack of memory"));
	CHECK_STR(state_of(f, j[2]), "failed 125");
	CHECK(has(show(f, j[2]), "could not start: pull x"));
	/* Cancel a running one: cancelled, its agent told to stop it. */
	CHECK(store_job_cancel(f->st, j[3], "cancelled by an operator",
	    util_now_ms(), &t) == 1);
	CHECK_INT(t.n, 1);
	store_job_touched_free(&t);
	CHECK_STR(state_of(f, j[3]), "cancelled 130");
	CHECK(store_job_cancel(f->st, j[3], "again", util_now_ms(), &t) == 0);
	d = desired(f, N1);
	/* The last one still runs; the others are done (kept). */
	CHECK_INT(json_array_size(json_object_get(d, "jobs")), 1);
	CHECK_INT(json_array_size(json_object_get(d, "jobs_done")), 4);
	json_decref(d);
	/* A job without a name is called job-<id>. */
	CHECK(has(show(f, j[4]), "\"name\": \"job-"));
	master_fixture_free(f);
}

/* A lost node: failed, retried; a node deleted ends its attempts. */
static void
test_jobs_lost_and_node_gone(void)
{
	struct master_fixture *f = master_fixture_new();
	int64_t j, k, a, *ids = NULL;
	size_t n = 0;

	node(f, N1, "n1", 0);
	j = job(f, "name: l\nimage: busybox\nretries: 1\n");
	k = job(f, "name: k\nimage: busybox\n");
	store_job_assign(f->st, j, 0, N1, "test", util_now_ms(), &a);
	report(f, N1, a, "running", -1, NULL);
	CHECK(store_begin(f->st) == 0);
	CHECK(store_job_lost(f->st, j, 0, N2, "wrong node", util_now_ms()) ==
	    0);
	CHECK(store_job_lost(f->st, j, 0, N1, "node n1 offline 130s > 120s",
	    util_now_ms()) == 1);
	CHECK(store_commit(f->st) == 0);
	CHECK_STR(state_of(f, j), "pending -");
	CHECK(has(show(f, j), "offline 130s"));
	store_job_assign(f->st, k, 0, N1, "test", util_now_ms(), &a);
	CHECK(store_begin(f->st) == 0);
	CHECK(store_job_node_gone(f->st, N1, "node n1 was removed",
	    util_now_ms(), &ids, &n) == 0);
	CHECK(store_commit(f->st) == 0);
	CHECK(n == 1 && ids[0] == k);
	free(ids);
	/* Lost without a run: failed, no exit code: status 1. */
	CHECK_STR(state_of(f, k), "failed 1");
	master_fixture_free(f);
}

/* A job of three tasks: its state and exit follow the first failure. */
static void
test_jobs_parallel(void)
{
	struct master_fixture *f = master_fixture_new();
	int64_t j, a[3];
	json_t *o;
	char *ev;
	int i;

	node(f, N1, "n1", 0);
	j = job(f, "name: p\nimage: busybox\nparallel: 3\n");
	for (i = 0; i < 3; i++)
		store_job_assign(f->st, j, i, N1, "test", util_now_ms(), &a[i]);
	report(f, N1, a[0], "running", -1, NULL);
	CHECK_STR(state_of(f, j), "running -");
	report(f, N1, a[0], "exited", 0, NULL);
	report(f, N1, a[2], "exited", 4, NULL);
	CHECK_STR(state_of(f, j), "assigned -");
	o = show(f, j);
	CHECK_INT(json_integer_value(json_object_get(o, "tasks_done")), 2);
	json_decref(o);
	report(f, N1, a[1], "exited", 0, NULL);
	CHECK_STR(state_of(f, j), "failed 4");
	o = show(f, j);
	CHECK_STR(json_string_value(json_object_get(o, "reason")),
	    "task 2: exit code 4");
	json_decref(o);
	ev = events(f, "job.");
	CHECK_HAS(ev, "job.failed p#2: 1st attempt");
	CHECK_HAS(ev, "job.failed p: job p failed: 2 of 3 tasks succeeded");
	free(ev);
	master_fixture_free(f);
}

/* Delete needs a finished job (or force); retention sweeps old ones. */
static void
test_jobs_delete_and_retention(void)
{
	struct master_fixture *f = master_fixture_new();
	struct job_touched t = { NULL, 0 };
	int64_t j, k, m, a;
	int removed = 0;
	json_t *arr;

	node(f, N1, "n1", 0);
	j = job(f, "name: d\nimage: busybox\n");
	store_job_assign(f->st, j, 0, N1, "test", util_now_ms(), &a);
	CHECK(store_job_delete(f->st, j, 0, "test", util_now_ms(), &t) == 0);
	CHECK(store_job_delete(f->st, j, 1, "test", util_now_ms(), &t) == 1);
	CHECK(t.n == 1 && strcmp(t.nodes[0], N1) == 0);
	store_job_touched_free(&t);
	arr = store_job_list_json(f->st, f->grid_id, NULL);
	CHECK_INT(json_array_size(arr), 0);
	json_decref(arr);
	k = job(f, "name: old\nimage: busybox\n");
	m = job(f, "name: new\nimage: busybox\n");
	store_job_assign(f->st, k, 0, N1, "test", util_now_ms() - 5000, &a);
	report(f, N1, a, "exited", 0, NULL);
	store_job_assign(f->st, m, 0, N1, "test", util_now_ms(), &a);
	report(f, N1, a, "exited", 0, NULL);
	/* Keep at most one: the older goes. */
	CHECK(store_job_retention(f->st, f->grid_id, 86400000, 1,
	    util_now_ms(), &removed, &t) == 0);
	CHECK_INT(removed, 1);
	store_job_touched_free(&t);
	arr = store_job_list_json(f->st, f->grid_id, NULL);
	CHECK_INT(json_array_size(arr), 1);
	CHECK_STR(json_string_value(json_object_get(json_array_get(arr, 0),
	    "name")), "new");
	json_decref(arr);
	/* Older than the age: gone too. */
	CHECK(store_job_retention(f->st, f->grid_id, 0, 10, util_now_ms() + 1,
	    &removed, &t) == 0);
	CHECK_INT(removed, 1);
	store_job_touched_free(&t);
	/* A name is free again once its job is gone. */
	j = job(f, "name: old\nimage: busybox\n");
	CHECK(j > 0);
	master_fixture_free(f);
}

int
main(void)
{
	TEST_RUN(test_jobs_round_queue_and_run);
	TEST_RUN(test_jobs_retry);
	TEST_RUN(test_jobs_exit_statuses);
	TEST_RUN(test_jobs_lost_and_node_gone);
	TEST_RUN(test_jobs_parallel);
	TEST_RUN(test_jobs_delete_and_retention);
	return TEST_DONE();
}
