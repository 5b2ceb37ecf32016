/*
 * test_sched_drain.c - cordoned and draining nodes in the pure scheduler
 * (docs/nodes.md): a cordoned node takes nothing new (ha, random, daemon,
 * job task, move target) and keeps what it runs; a draining one moves its
 * stateless records off start-before-stop, paced by min_health, waits for
 * job tasks, stops its daemons last, and stops what is left at its
 * deadline; sched_check_plan() names a plan that breaks the cordon; the
 * scale-in simulation (sched_drain_fits) says whether a node's records
 * fit elsewhere and leaves the state as it was.
 */
#include "tests/unit/test.h"
#include "tests/unit/test_sched.h"

/* A node, cordoned or draining (deadline: 0 none). */
static void
td_node(struct sched *s, const char *id, const char *labels, int cordoned,
    int draining, int64_t deadline)
{
	struct sched_node_info ni;
	char **l, *cause = NULL;
	size_t nl;

	l = ts_split(labels, &nl, ',');
	memset(&ni, 0, sizeof ni);
	ni.id = id;
	ni.name = id;
	ni.labels = (const char *const *)l;
	ni.nlabels = nl;
	ni.cpus = 4;
	ni.memory = 16 * GIB;
	ni.online = 1;
	ni.cordoned = cordoned;
	ni.draining = draining;
	ni.drain_deadline_ms = deadline;
	CHECK_INT(sched_node_upsert(s, &ni, &cause), 0);
	free(cause);
	ts_free_list(l, nl);
}

/* A job task, queued (node NULL) or on node. */
static void
td_job(struct sched *s, int64_t id, const char *node)
{
	struct sched_job_info ji;
	char *cause = NULL;

	memset(&ji, 0, sizeof ji);
	ji.id = id;
	ji.name = "build";
	ji.queued_at_ms = T0;
	ji.node_id = node;
	CHECK_INT(sched_job_upsert(s, &ji, &cause), 0);
	free(cause);
}

/* Where task (id, 0) is: its node, or "queued". */
static const char *
td_job_where(struct sched *s, int64_t id)
{
	static char buf[64];
	struct sched_job_info *l;
	size_t n, i;

	snprintf(buf, sizeof buf, "gone");
	n = sched_job_list(s, &l);
	for (i = 0; i < n; i++)
		if (l[i].id == id)
			snprintf(buf, sizeof buf, "%s", l[i].node_id != NULL ?
			    l[i].node_id : "queued");
	free(l);
	return buf;
}

/* Every plan of the round keeps the cordon (sched_check_plan). */
static void
td_round(struct sched *s, int64_t now, struct sched_plan *p)
{
	char *cause = NULL;

	sched_plan(s, now, 7, NULL, p);
	if (sched_check_plan(s, p, &cause) != 0) {
		printf("  FAIL sched_check_plan: %s\n", cause);
		test_failed_now = 1;
		free(cause);
		cause = NULL;
	}
	TS_CHECK_STATE(s);
	if (sched_apply(s, p, &cause) != 0) {
		printf("  apply: %s\n", cause);
		free(cause);
	}
	TS_CHECK_STATE(s);
}

static size_t
td_round1(struct sched *s, int64_t now)
{
	struct sched_plan p;
	size_t n;

	td_round(s, now, &p);
	n = sched_plan_nactions(&p);
	sched_plan_clear(&p);
	return n;
}

/* Running records of svc (not move targets still starting). */
static int
td_running(struct sched *s, int64_t svc)
{
	struct sched_instance_info *l;
	size_t n, i;
	int c = 0;

	n = sched_instance_list(s, svc, &l);
	for (i = 0; i < n; i++)
		if (l[i].state == SCHED_RUNNING)
			c++;
	free(l);
	return c;
}

/*
 * Cordon: nothing new lands there (ha, random, daemon, job task), the
 * reason names it, what runs there stays, and uncordon opens it again.
 */
static void
test_cordon_places_nothing(void)
{
	struct sched *s = sched_new();
	struct sched_settings set;
	struct sched_plan p;
	size_t k;

	/* No rebalancing: what moves would move for a cordon alone. */
	sched_settings_default(&set);
	set.max_moves_per_service = 0;
	sched_settings_set(s, &set);
	td_node(s, "n1", "az=a", 0, 0, 0);
	td_node(s, "n2", "az=b", 1, 0, 0);
	ts_svc(s, 1, "web", SCHED_HA, 4, NULL);
	ts_svc(s, 2, "rnd", SCHED_RANDOM, 6, NULL);
	ts_svc(s, 3, "agent", SCHED_DAEMON, 1, NULL);
	ts_svc(s, 4, "pinned", SCHED_HA, 1, "node==n2");
	td_job(s, 9, NULL);
	td_round(s, T0, &p);
	CHECK_INT(ts_count(s, 0, "n2"), 0);
	CHECK_INT(ts_count(s, 1, "n1"), 4);
	CHECK_INT(ts_count(s, 2, "n1"), 6);
	CHECK_INT(ts_count(s, 3, "n1"), 1);
	CHECK_STR(td_job_where(s, 9), "n1");
	for (k = 0; k < p.nunplaceable; k++)
		if (p.unplaceable[k].service_id == 4)
			CHECK_HAS(p.unplaceable[k].reason, "1 node is cordoned");
	CHECK_INT(ts_steps(&p, SCHED_STEP_PLACE, 4, NULL), 0);
	sched_plan_clear(&p);
	/* Cordoning a node with records moves nothing off it. */
	ts_all_running(s);
	td_node(s, "n2", "az=b", 0, 0, 0);
	CHECK(td_round1(s, T0 + 1000) > 0);
	ts_all_running(s);
	CHECK_INT(ts_count(s, 3, "n2"), 1);
	CHECK_INT(ts_count(s, 4, "n2"), 1);
	td_node(s, "n1", "az=a", 1, 0, 0);
	for (k = 0; k < 5; k++)
		td_round1(s, T0 + 2000 + 1000 * (int64_t)k);
	CHECK_INT(ts_count(s, 1, "n1"), 4);
	CHECK_INT(ts_count(s, 3, "n1"), 1);
	/* Scaling up while n1 is cordoned: the new numbers go to n2. */
	ts_svc(s, 1, "web", SCHED_HA, 6, NULL);
	td_round1(s, T0 + 9000);
	CHECK_INT(ts_count(s, 1, "n1"), 4);
	CHECK_INT(ts_count(s, 1, "n2"), 2);
	sched_free(s);
}

/* The plan check names a plan that adds a record on a cordoned node. */
static void
test_check_plan_catches(void)
{
	struct sched *s = sched_new();
	struct sched_plan p;
	char *cause = NULL;

	td_node(s, "n1", "", 0, 0, 0);
	td_node(s, "n2", "", 0, 0, 0);
	ts_svc(s, 1, "web", SCHED_HA, 2, NULL);
	sched_plan(s, T0, 1, NULL, &p);
	CHECK_INT(ts_steps(&p, SCHED_STEP_PLACE, 1, "n2"), 1);
	CHECK_INT(sched_check_plan(s, &p, NULL), 0);
	/* The same plan against a state where n2 is cordoned. */
	td_node(s, "n2", "", 1, 0, 0);
	CHECK_INT(sched_check_plan(s, &p, &cause), -1);
	CHECK_HAS(cause, "nothing new on a cordoned node");
	CHECK_HAS(cause, "n2");
	free(cause);
	sched_plan_clear(&p);
	sched_free(s);
}

/*
 * Drain: a 2-instance service with min_health 0.5 on the draining node
 * moves one instance at a time, start-before-stop (the running count never
 * drops below 2), the daemon stops only once nothing else is left.
 */
static void
test_drain_start_before_stop(void)
{
	struct sched *s = sched_new();
	struct ts_svc web = { .id = 1, .name = "web", .strategy = SCHED_HA,
	    .instances = 2, .min_health = 0.5 };
	struct sched_plan p;
	int64_t now = T0;
	int round, min_running = 99;

	td_node(s, "n1", "", 0, 0, 0);
	td_node(s, "n2", "", 0, 0, 0);
	td_node(s, "n3", "", 0, 0, 0);
	ts_svc_put(s, &web);
	ts_svc(s, 2, "agent", SCHED_DAEMON, 1, NULL);
	ts_inst(s, 1, 1, "n1", SCHED_RUNNING, 0);
	ts_inst(s, 1, 2, "n1", SCHED_RUNNING, 0);
	ts_inst(s, 2, 1, "n1", SCHED_RUNNING, 0);
	ts_inst(s, 2, 2, "n2", SCHED_RUNNING, 0);
	ts_inst(s, 2, 3, "n3", SCHED_RUNNING, 0);
	td_node(s, "n1", "", 1, 1, now + 600000);
	td_round(s, now, &p);
	/* One move (pacing: 2 - ceil(0.5 * 2) = 1 in flight). */
	CHECK_INT(ts_steps(&p, SCHED_STEP_MOVE_START, 1, NULL), 1);
	CHECK_INT(ts_steps(&p, SCHED_STEP_MOVE_START, 1, "n1"), 0);
	CHECK_INT(ts_steps(&p, SCHED_STEP_REMOVE, 0, NULL), 0);
	CHECK_HAS(ts_reason(&p, SCHED_STEP_MOVE_START), "draining");
	sched_plan_clear(&p);
	for (round = 0; round < 12 && ts_count(s, 0, "n1") > 0; round++) {
		if (td_running(s, 1) < min_running)
			min_running = td_running(s, 1);
		/* The daemon stays while web has a record there. */
		if (ts_count(s, 1, "n1") > 0)
			CHECK_INT(ts_count(s, 2, "n1"), 1);
		now += 1000;
		td_round1(s, now);
		/* Moved targets start running (as agents would report). */
		ts_all_running(s);
	}
	CHECK_INT(ts_count(s, 0, "n1"), 0);
	CHECK_INT(ts_count(s, 1, NULL), 2);
	CHECK_INT(ts_count(s, 2, "n1"), 0);
	CHECK_INT(ts_count(s, 2, NULL), 2);
	CHECK_INT(min_running, 2);
	/* Nothing comes back while it stays cordoned. */
	CHECK_INT(td_round1(s, now + 1000), 0);
	CHECK_INT(ts_count(s, 0, "n1"), 0);
	sched_free(s);
}

/* min_health 0 moves all at once; a record not running moves now. */
static void
test_drain_pacing(void)
{
	struct sched *s = sched_new();
	struct ts_svc a = { .id = 1, .name = "a", .strategy = SCHED_HA,
	    .instances = 3, .min_health = 0 };
	struct ts_svc b = { .id = 2, .name = "b", .strategy = SCHED_HA,
	    .instances = 3, .min_health = 1 };
	struct sched_plan p;

	td_node(s, "n1", "", 0, 0, 0);
	td_node(s, "n2", "", 0, 0, 0);
	ts_svc_put(s, &a);
	ts_svc_put(s, &b);
	ts_inst(s, 1, 1, "n1", SCHED_RUNNING, 0);
	ts_inst(s, 1, 2, "n1", SCHED_RUNNING, 0);
	ts_inst(s, 1, 3, "n1", SCHED_RUNNING, 0);
	ts_inst(s, 2, 1, "n1", SCHED_RUNNING, 0);
	ts_inst(s, 2, 2, "n1", SCHED_RUNNING, 0);
	ts_inst(s, 2, 3, "n1", SCHED_PENDING, 0);
	td_node(s, "n1", "", 1, 1, 0);
	td_round(s, T0, &p);
	CHECK_INT(ts_steps(&p, SCHED_STEP_MOVE_START, 1, "n2"), 3);
	/* min_health 1: one at a time, start-before-stop. */
	CHECK_INT(ts_steps(&p, SCHED_STEP_MOVE_START, 2, "n2"), 1);
	/* The pending one has nothing to keep up: replaced at once. */
	CHECK_INT(ts_steps(&p, SCHED_STEP_MOVE, 2, "n2"), 1);
	sched_plan_clear(&p);
	sched_free(s);
}

/*
 * A job task in flight holds the drain: the daemon stays until it ends;
 * at the deadline what is left is stopped (task lost, records moved,
 * daemon removed) in one plan.
 */
static void
test_drain_job_and_deadline(void)
{
	struct sched *s = sched_new();
	struct sched_plan p;
	int64_t dl = T0 + 60000;

	td_node(s, "n1", "", 0, 0, 0);
	td_node(s, "n2", "", 0, 0, 0);
	ts_svc(s, 2, "agent", SCHED_DAEMON, 1, NULL);
	ts_inst(s, 2, 1, "n1", SCHED_RUNNING, 0);
	ts_inst(s, 2, 2, "n2", SCHED_RUNNING, 0);
	td_job(s, 5, "n1");
	td_node(s, "n1", "", 1, 1, dl);
	td_round(s, T0, &p);
	CHECK_INT(ts_steps(&p, SCHED_STEP_JOB_LOST, 0, NULL), 0);
	CHECK_INT(ts_steps(&p, SCHED_STEP_REMOVE, 2, "n1"), 0);
	sched_plan_clear(&p);
	CHECK_INT(ts_count(s, 2, "n1"), 1);
	CHECK_STR(td_job_where(s, 5), "n1");
	/* The task ends: the daemon goes. */
	CHECK_INT(sched_job_remove(s, 5, 0), 0);
	td_round(s, T0 + 1000, &p);
	CHECK_INT(ts_steps(&p, SCHED_STEP_REMOVE, 2, "n1"), 1);
	CHECK_HAS(ts_reason(&p, SCHED_STEP_REMOVE), "daemons stop last");
	sched_plan_clear(&p);

	/* Again, but the task outlives the deadline. */
	ts_svc(s, 1, "web", SCHED_HA, 1, NULL);
	td_node(s, "n1", "", 0, 0, 0);
	td_round1(s, T0 + 2000);
	ts_inst(s, 1, 1, "n1", SCHED_RUNNING, 0);
	ts_inst(s, 1, 1, "n2", SCHED_RUNNING, 0);
	td_round1(s, T0 + 2500);	/* the second record goes */
	ts_all_running(s);
	td_job(s, 6, "n1");
	td_node(s, "n1", "", 1, 1, dl);
	td_node(s, "n2", "", 1, 0, 0);	/* nowhere to move web to */
	td_round(s, T0 + 3000, &p);
	CHECK_INT(ts_steps(&p, SCHED_STEP_JOB_LOST, 0, NULL), 0);
	CHECK_INT(ts_steps(&p, SCHED_STEP_REMOVE, 0, "n1"), 0);
	sched_plan_clear(&p);
	td_round(s, dl, &p);
	CHECK_INT(ts_steps(&p, SCHED_STEP_JOB_LOST, 0, "n1"), 1);
	CHECK_HAS(ts_reason(&p, SCHED_STEP_JOB_LOST), "drain deadline");
	CHECK_INT(ts_steps(&p, SCHED_STEP_REMOVE, 2, "n1"), 1);
	sched_plan_clear(&p);
	CHECK_INT(ts_count(s, 2, "n1"), 0);
	CHECK_STR(td_job_where(s, 6), "gone");
	sched_free(s);
}

/* At the deadline a record fits elsewhere: it moves at once (a MOVE). */
static void
test_drain_deadline_moves(void)
{
	struct sched *s = sched_new();
	struct ts_svc web = { .id = 1, .name = "web", .strategy = SCHED_HA,
	    .instances = 1, .min_health = 1 };
	struct sched_plan p;

	td_node(s, "n1", "", 0, 0, 0);
	td_node(s, "n2", "", 0, 0, 0);
	ts_svc_put(s, &web);
	ts_inst(s, 1, 1, "n1", SCHED_RUNNING, 0);
	td_node(s, "n1", "", 1, 1, T0 + 5000);
	td_round(s, T0, &p);
	CHECK_INT(ts_steps(&p, SCHED_STEP_MOVE_START, 1, "n2"), 1);
	sched_plan_clear(&p);
	/* Its replacement never runs; the deadline comes. */
	td_round(s, T0 + 5000, &p);
	CHECK_INT(ts_steps(&p, SCHED_STEP_REMOVE, 1, "n1"), 1);
	CHECK_HAS(ts_reason(&p, SCHED_STEP_REMOVE), "drain deadline");
	sched_plan_clear(&p);
	CHECK_INT(ts_count(s, 1, "n1"), 0);
	CHECK_INT(ts_count(s, 1, "n2"), 1);
	sched_free(s);
}

/* The scale-in simulation: fits or not, why, and no trace left. */
static void
test_drain_fits(void)
{
	struct sched *s = sched_new();
	struct ts_svc big = { .id = 1, .name = "big", .strategy = SCHED_HA,
	    .instances = 2, .cpus = 3 };
	struct ts_svc db = { .id = 3, .name = "db", .strategy = SCHED_HA,
	    .instances = 1, .stateful = 1 };
	char *why = NULL;

	td_node(s, "n1", "", 0, 0, 0);
	td_node(s, "n2", "", 0, 0, 0);
	td_node(s, "n3", "", 0, 0, 0);
	ts_svc_put(s, &big);
	ts_svc(s, 2, "agent", SCHED_DAEMON, 1, NULL);
	ts_inst(s, 1, 1, "n1", SCHED_RUNNING, 0);
	ts_inst(s, 1, 2, "n2", SCHED_RUNNING, 0);
	ts_inst(s, 2, 1, "n1", SCHED_RUNNING, 0);
	/* n1's big (3 of 4 cpus) fits on n3. */
	CHECK_INT(sched_drain_fits(s, "n1", &why), 1);
	CHECK(why == NULL);
	TS_CHECK_STATE(s);
	/* Twice: nothing was left counted on n3. */
	CHECK_INT(sched_drain_fits(s, "n1", NULL), 1);
	CHECK_INT(sched_drain_fits(s, "n2", NULL), 1);
	/* n3 cordoned: it fits nowhere (n2 has 1 cpu left). */
	td_node(s, "n3", "", 1, 0, 0);
	CHECK_INT(sched_drain_fits(s, "n1", &why), 0);
	CHECK_HAS(why, "st/big#1 fits on no other node");
	free(why);
	td_node(s, "n3", "", 0, 0, 0);
	/* A job task on it keeps it. */
	td_job(s, 4, "n1");
	CHECK_INT(sched_drain_fits(s, "n1", &why), 0);
	CHECK_HAS(why, "job build#0 runs on it");
	free(why);
	CHECK_INT(sched_job_remove(s, 4, 0), 0);
	/* So does a stateful record. */
	ts_svc_put(s, &db);
	ts_inst(s, 3, 1, "n2", SCHED_RUNNING, 0);
	CHECK_INT(sched_drain_fits(s, "n2", &why), 0);
	CHECK_HAS(why, "stateful");
	free(why);
	CHECK_INT(sched_drain_fits(s, "nope", NULL), -1);
	/* A plan after all that still sees n3 empty: big#... moves there
	 * when n1 drains. */
	td_node(s, "n1", "", 1, 1, 0);
	CHECK(td_round1(s, T0) > 0);
	CHECK_INT(ts_count(s, 1, "n3"), 1);
	sched_free(s);
}

int
main(void)
{
	TEST_RUN(test_cordon_places_nothing);
	TEST_RUN(test_check_plan_catches);
	TEST_RUN(test_drain_start_before_stop);
	TEST_RUN(test_drain_pacing);
	TEST_RUN(test_drain_job_and_deadline);
	TEST_RUN(test_drain_deadline_moves);
	TEST_RUN(test_drain_fits);
	return TEST_DONE();
}
