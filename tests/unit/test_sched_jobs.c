/*
 * test_sched_jobs.c - job tasks in the scheduler library (sched_job.c):
 * the queue's order (priority, then arrival), capacity shared with
 * services, the affinity rules of services, the reasons and kinds of
 * queued tasks, nodes held for a task ahead in the queue, backoff, lost
 * tasks on offline and removed nodes, stand-down, and the invariants after
 * every round (ts_round runs sched_check).
 */
#include "tests/unit/test_sched.h"

#include "common/util.h"

/* A task: priority, queued at, cpus, affinity "r;r", node (NULL: queued). */
static int
tj_put(struct sched *s, int64_t id, int index, int prio, int64_t at,
    double cpus, const char *affinity, const char *node)
{
	struct sched_job_info ji;
	char **rules, *cause = NULL, name[32];
	size_t nr;
	int rc;

	snprintf(name, sizeof name, "j%lld", (long long)id);
	rules = ts_split(affinity != NULL ? affinity : "", &nr, ';');
	memset(&ji, 0, sizeof ji);
	ji.id = id;
	ji.index = index;
	ji.name = name;
	ji.priority = prio;
	ji.queued_at_ms = at;
	ji.affinity = (const char *const *)rules;
	ji.naffinity = nr;
	ji.cpus = cpus;
	ji.node_id = node;
	rc = sched_job_upsert(s, &ji, &cause);
	if (rc != 0) {
		printf("  job %lld: %s\n", (long long)id, cause);
		free(cause);
	}
	ts_free_list(rules, nr);
	return rc;
}

/* Where task id#index is: its node id, "queued", or "gone". */
static const char *
tj_where(const struct sched *s, int64_t id, int index, char *buf,
    size_t len)
{
	struct sched_job_info *l;
	size_t n, i;

	snprintf(buf, len, "gone");
	n = sched_job_list(s, &l);
	for (i = 0; i < n; i++) {
		if (l[i].id == id && l[i].index == index)
			snprintf(buf, len, "%s", l[i].node_id != NULL ?
			    l[i].node_id : "queued");
	}
	free(l);
	return buf;
}

/* JOB_ASSIGN steps in the plan, as "id#index@node ..." in plan order. */
static char *
tj_assigned(const struct sched_plan *p)
{
	struct buf b = { 0 };
	size_t i;

	buf_printf(&b, "%s", "");
	for (i = 0; i < p->nsteps; i++) {
		if (p->steps[i].kind != SCHED_STEP_JOB_ASSIGN)
			continue;
		buf_printf(&b, "%s%lld#%d@%s", b.len > 0 ? " " : "",
		    (long long)p->steps[i].job_id, p->steps[i].instance_no,
		    p->steps[i].node_id);
	}
	return b.data;
}

static const struct sched_queued *
tj_queued(const struct sched_plan *p, int64_t id, int index)
{
	size_t i;

	for (i = 0; i < p->nqueued; i++) {
		if (p->queued[i].job_id == id && p->queued[i].index == index)
			return &p->queued[i];
	}
	return NULL;
}

/* Two one-cpu nodes, five one-cpu jobs: two run, in priority order. */
static void
test_job_queue_order_and_capacity(void)
{
	struct sched *s = sched_new();
	struct sched_plan p;
	const struct sched_queued *q;
	char *a, w[64];

	ts_node_full(s, "n1", "", 1, 0, 1, 0, 0, 0);
	ts_node_full(s, "n2", "", 1, 0, 1, 0, 0, 0);
	tj_put(s, 1, 0, 0, T0 + 1, 1, NULL, NULL);
	tj_put(s, 2, 0, 5, T0 + 2, 1, NULL, NULL);	/* highest */
	tj_put(s, 3, 0, 0, T0 + 3, 1, NULL, NULL);
	tj_put(s, 4, 0, 1, T0 + 4, 1, NULL, NULL);
	tj_put(s, 5, 0, 0, T0 + 0, 1, NULL, NULL);	/* oldest of prio 0 */
	CHECK_INT(sched_job_queued(s), 5);
	ts_round(s, T0 + 10, 1, &p);
	a = tj_assigned(&p);
	/* Priority 5, then 1; the rest wait (nodes are full). */
	CHECK(strncmp(a, "2#0@", 4) == 0);
	CHECK(strstr(a, " 4#0@") != NULL);
	CHECK_INT(ts_steps(&p, SCHED_STEP_JOB_ASSIGN, 0, NULL), 2);
	CHECK_INT(p.nqueued, 3);
	/* The queue is listed in order: 5, 1, 3 (priority 0, by arrival). */
	CHECK(p.nqueued == 3 && p.queued[0].job_id == 5 &&
	    p.queued[1].job_id == 1 && p.queued[2].job_id == 3);
	q = tj_queued(&p, 5, 0);
	CHECK(q != NULL && q->why == SCHED_QUEUE_FULL);
	CHECK_HAS(q != NULL ? q->reason : NULL, "fail cpu (needs 1.00)");
	q = tj_queued(&p, 1, 0);
	CHECK(q != NULL && q->why == SCHED_QUEUE_BEHIND);
	CHECK_HAS(q != NULL ? q->reason : NULL, "held for tasks ahead of it");
	CHECK(q != NULL && q->changed && q->why_changed);
	CHECK(q != NULL && q->cpus == 1.0);
	free(a);
	sched_plan_clear(&p);
	CHECK_INT(sched_job_queued(s), 3);
	CHECK(strcmp(tj_where(s, 2, 0, w, sizeof w), "queued") != 0);

	/* Nothing changed: the same queue, nothing placed, nothing new. */
	ts_round(s, T0 + 20, 2, &p);
	CHECK_INT(ts_steps(&p, SCHED_STEP_JOB_ASSIGN, 0, NULL), 0);
	CHECK_INT(p.nqueued, 3);
	CHECK(p.nqueued == 3 && !p.queued[0].changed && !p.queued[1].changed &&
	    !p.queued[2].changed);
	sched_plan_clear(&p);

	/* Task 2 ends: job 5 (oldest of priority 0) takes its node. */
	CHECK_INT(sched_job_remove(s, 2, 0), 0);
	ts_round(s, T0 + 30, 3, &p);
	a = tj_assigned(&p);
	CHECK(strncmp(a, "5#0@", 4) == 0);
	CHECK_INT(ts_steps(&p, SCHED_STEP_JOB_ASSIGN, 0, NULL), 1);
	free(a);
	sched_plan_clear(&p);
	CHECK_INT(sched_job_remove(s, 2, 0), -1);
	sched_free(s);
}

/* Jobs and services count against the same cpu and memory. */
static void
test_job_shares_capacity_with_services(void)
{
	struct sched *s = sched_new();
	struct ts_svc t = { .id = 1, .name = "web", .strategy = SCHED_HA,
	    .instances = 1, .cpus = 1.5 };
	struct sched_plan p;
	const struct sched_queued *q;

	ts_node_full(s, "n1", "", 2, 0, 1, 0, 0, 0);
	ts_svc_put(s, &t);
	tj_put(s, 7, 0, 0, T0, 1, NULL, NULL);
	ts_round(s, T0 + 1, 1, &p);
	/* The service's pass comes first: it takes 1.5 of the 2 cpus. */
	CHECK_INT(ts_steps(&p, SCHED_STEP_PLACE, 1, "n1"), 1);
	CHECK_INT(ts_steps(&p, SCHED_STEP_JOB_ASSIGN, 0, NULL), 0);
	q = tj_queued(&p, 7, 0);
	CHECK(q != NULL && q->why == SCHED_QUEUE_FULL);
	sched_plan_clear(&p);
	/* A task on a node is counted: a second service instance waits. */
	sched_service_remove(s, 1);
	ts_round1(s, T0 + 2, 2);
	CHECK_INT(sched_job_queued(s), 0);
	t.instances = 1;
	ts_svc_put(s, &t);
	ts_round(s, T0 + 3, 3, &p);
	CHECK_INT(ts_steps(&p, SCHED_STEP_PLACE, 1, NULL), 0);
	CHECK_INT(p.nunplaceable, 1);
	sched_plan_clear(&p);
	sched_free(s);
}

/* Affinity: the services' rules; a task nobody can take holds nothing. */
static void
test_job_affinity_and_no_node(void)
{
	struct sched *s = sched_new();
	struct sched_plan p;
	const struct sched_queued *q;
	char w[64];

	ts_node(s, "n1", "az=a");
	ts_node(s, "ci1", "berth.group=ci");
	tj_put(s, 1, 0, 9, T0, 0, "label==berth.group=gpu", NULL);
	tj_put(s, 2, 0, 0, T0, 0, "label==berth.group=ci", NULL);
	tj_put(s, 3, 0, 0, T0, 0, "node!=ci1", NULL);
	ts_round(s, T0 + 1, 1, &p);
	q = tj_queued(&p, 1, 0);
	CHECK(q != NULL && q->why == SCHED_QUEUE_NO_NODE);
	CHECK_HAS(q != NULL ? q->reason : NULL, "no eligible node for job j1");
	CHECK_HAS(q != NULL ? q->reason : NULL,
	    "2 nodes fail affinity label==berth.group=gpu");
	/* Priority 9 with no node holds nothing: the others run. */
	CHECK_STR(tj_where(s, 2, 0, w, sizeof w), "ci1");
	CHECK_STR(tj_where(s, 3, 0, w, sizeof w), "n1");
	sched_plan_clear(&p);
	/* Offline nodes take nothing either. */
	ts_offline(s, "n1", "az=a", T0 + 2);
	tj_put(s, 4, 0, 0, T0 + 3, 0, "node==n1", NULL);
	ts_round(s, T0 + 4, 2, &p);
	q = tj_queued(&p, 4, 0);
	CHECK(q != NULL && q->why == SCHED_QUEUE_NO_NODE);
	CHECK_HAS(q != NULL ? q->reason : NULL, "is offline");
	sched_plan_clear(&p);
	/* A bad rule is refused with a cause. */
	CHECK(tj_put(s, 5, 0, 0, T0, 0, "label=~x", NULL) == -1);
	CHECK_STR(tj_where(s, 5, 0, w, sizeof w), "gone");
	sched_free(s);
}

/* A big task ahead holds its nodes: small ones behind do not starve it. */
static void
test_job_held_nodes(void)
{
	struct sched *s = sched_new();
	struct sched_plan p;
	const struct sched_queued *q;
	char w[64];

	ts_node_full(s, "n1", "", 2, 0, 1, 0, 0, 0);
	ts_node_full(s, "n2", "pool=b", 2, 0, 1, 0, 0, 0);
	tj_put(s, 1, 0, 0, T0, 1, "node==n1", "n1");	/* running on n1 */
	tj_put(s, 2, 0, 5, T0 + 1, 2, "node==n1", NULL);	/* waits for n1 */
	tj_put(s, 3, 0, 0, T0 + 2, 1, NULL, NULL);	/* n1 or n2 */
	tj_put(s, 4, 0, 0, T0 + 3, 1, "node==n1", NULL);
	ts_round(s, T0 + 10, 1, &p);
	q = tj_queued(&p, 2, 0);
	CHECK(q != NULL && q->why == SCHED_QUEUE_FULL);
	/* n1 is held for job 2: job 3 goes to n2, job 4 waits. */
	CHECK_STR(tj_where(s, 3, 0, w, sizeof w), "n2");
	q = tj_queued(&p, 4, 0);
	CHECK(q != NULL && q->why == SCHED_QUEUE_BEHIND);
	sched_plan_clear(&p);
	/* Job 1 ends: n1 is free for job 2, not for job 4. */
	sched_job_remove(s, 1, 0);
	ts_round1(s, T0 + 20, 2);
	CHECK_STR(tj_where(s, 2, 0, w, sizeof w), "n1");
	CHECK_STR(tj_where(s, 4, 0, w, sizeof w), "queued");
	sched_free(s);
}

/* A retry waits out its backoff; the plan says until when. */
static void
test_job_backoff(void)
{
	struct sched *s = sched_new();
	struct sched_job_info ji;
	struct sched_plan p;
	const struct sched_queued *q;
	char w[64];

	ts_node(s, "n1", "");
	memset(&ji, 0, sizeof ji);
	ji.id = 1;
	ji.name = "retry";
	ji.queued_at_ms = T0;
	ji.not_before_ms = T0 + 10000;
	CHECK(sched_job_upsert(s, &ji, NULL) == 0);
	ts_round(s, T0 + 1000, 1, &p);
	q = tj_queued(&p, 1, 0);
	CHECK(q != NULL && q->why == SCHED_QUEUE_BACKOFF);
	CHECK(q != NULL && q->due_ms == T0 + 10000);
	CHECK_HAS(q != NULL ? q->reason : NULL, "in 9s");
	sched_plan_clear(&p);
	CHECK_STR(tj_where(s, 1, 0, w, sizeof w), "queued");
	/* The time comes with no other change: it is placed. */
	ts_round1(s, T0 + 10000, 2);
	CHECK_STR(tj_where(s, 1, 0, w, sizeof w), "n1");
	sched_free(s);
}

/* Parallel tasks of one job spread over the nodes. */
static void
test_job_parallel_spread(void)
{
	struct sched *s = sched_new();
	struct sched_job_info *l;
	size_t n, i;
	int on1 = 0, on2 = 0, on3 = 0;

	ts_node(s, "n1", "");
	ts_node(s, "n2", "");
	ts_node(s, "n3", "");
	for (i = 0; i < 6; i++)
		tj_put(s, 1, (int)i, 0, T0, 0.5, NULL, NULL);
	ts_round1(s, T0 + 1, 7);
	n = sched_job_list(s, &l);
	CHECK_INT(n, 6);
	for (i = 0; i < n; i++) {
		CHECK(l[i].node_id != NULL);
		if (l[i].node_id == NULL)
			continue;
		on1 += strcmp(l[i].node_id, "n1") == 0;
		on2 += strcmp(l[i].node_id, "n2") == 0;
		on3 += strcmp(l[i].node_id, "n3") == 0;
	}
	free(l);
	CHECK(on1 == 2 && on2 == 2 && on3 == 2);
	sched_free(s);
}

/* A task on a node offline past job_lost_ms is lost; not in a stand-down. */
static void
test_job_lost(void)
{
	struct sched *s = sched_new();
	struct sched_settings set;
	struct sched_plan p;
	char w[64];

	sched_settings_get(s, &set);
	set.job_lost_ms = 60000;
	sched_settings_set(s, &set);
	ts_node(s, "n1", "");
	ts_node(s, "n2", "");
	ts_node(s, "n3", "");
	tj_put(s, 1, 0, 0, T0, 1, NULL, "n1");
	ts_offline(s, "n1", "", T0);
	ts_round(s, T0 + 30000, 1, &p);
	CHECK_INT(ts_steps(&p, SCHED_STEP_JOB_LOST, 0, NULL), 0);
	sched_plan_clear(&p);
	ts_round(s, T0 + 61000, 2, &p);
	CHECK_INT(ts_steps(&p, SCHED_STEP_JOB_LOST, 0, "n1"), 1);
	CHECK_HAS(ts_reason(&p, SCHED_STEP_JOB_LOST), "offline 61s > 60s");
	sched_plan_clear(&p);
	/* Gone from the view; the master upserts it again for a retry. */
	CHECK_STR(tj_where(s, 1, 0, w, sizeof w), "gone");
	tj_put(s, 1, 0, 0, T0, 1, NULL, NULL);
	ts_round1(s, T0 + 62000, 3);
	CHECK(strcmp(tj_where(s, 1, 0, w, sizeof w), "n2") == 0 ||
	    strcmp(w, "n3") == 0);
	sched_free(s);

	/* Two of three nodes cut off at once: stand down, nothing lost. */
	s = sched_new();
	sched_settings_set(s, &set);
	ts_node(s, "n1", "");
	ts_node(s, "n2", "");
	ts_node(s, "n3", "");
	tj_put(s, 1, 0, 0, T0, 1, NULL, "n1");
	ts_offline(s, "n1", "", T0);
	ts_offline(s, "n2", "", T0 + 1000);
	ts_round(s, T0 + 120000, 4, &p);
	CHECK(p.stand_down);
	CHECK_INT(ts_steps(&p, SCHED_STEP_JOB_LOST, 0, NULL), 0);
	sched_plan_clear(&p);
	CHECK_STR(tj_where(s, 1, 0, w, sizeof w), "n1");
	sched_free(s);
}

/* A removed ephemeral node's tasks are lost in the round that reaps it. */
static void
test_job_lost_with_removed_node(void)
{
	struct sched *s = sched_new();
	struct sched_plan p;
	char w[64];

	ts_node(s, "n1", "");
	ts_node(s, "n2", "");
	ts_node(s, "e1", "ephemeral=true");
	tj_put(s, 1, 0, 0, T0, 1, NULL, "e1");
	ts_offline(s, "e1", "ephemeral=true", T0);
	ts_round(s, T0 + 1300000, 1, &p);
	CHECK_INT(ts_steps(&p, SCHED_STEP_REMOVE_NODE, 0, "e1"), 1);
	CHECK_INT(ts_steps(&p, SCHED_STEP_JOB_LOST, 0, "e1"), 1);
	CHECK_HAS(ts_reason(&p, SCHED_STEP_JOB_LOST), "being removed");
	sched_plan_clear(&p);
	CHECK_STR(tj_where(s, 1, 0, w, sizeof w), "gone");
	CHECK_INT(sched_job_count(s), 0);
	sched_free(s);
}

/* Upserts move a task between queue and node; unknown nodes refused. */
static void
test_job_upsert_moves(void)
{
	struct sched *s = sched_new();
	char w[64], *cause = NULL;
	struct sched_job_info ji;

	ts_node_full(s, "n1", "", 2, 0, 1, 0, 0, 0);
	tj_put(s, 1, 0, 0, T0, 1.5, NULL, NULL);
	CHECK_STR(tj_where(s, 1, 0, w, sizeof w), "queued");
	tj_put(s, 1, 0, 0, T0, 1.5, NULL, "n1");
	CHECK_STR(tj_where(s, 1, 0, w, sizeof w), "n1");
	TS_CHECK_STATE(s);
	/* Its demand changes in place. */
	tj_put(s, 1, 0, 0, T0, 0.5, NULL, "n1");
	TS_CHECK_STATE(s);
	tj_put(s, 1, 0, 0, T0, 0.5, NULL, NULL);
	CHECK_STR(tj_where(s, 1, 0, w, sizeof w), "queued");
	TS_CHECK_STATE(s);
	memset(&ji, 0, sizeof ji);
	ji.id = 2;
	ji.name = "x";
	ji.node_id = "nope";
	CHECK(sched_job_upsert(s, &ji, &cause) == -1);
	CHECK_HAS(cause, "unknown node nope");
	free(cause);
	CHECK_INT(sched_job_count(s), 1);
	/* Removing the node forgets its tasks. */
	tj_put(s, 1, 0, 0, T0, 0.5, NULL, "n1");
	sched_node_remove(s, "n1");
	CHECK_INT(sched_job_count(s), 0);
	TS_CHECK_STATE(s);
	sched_free(s);
}

/* n1, online, its capacity not reported yet. */
static void
tj_unmeasured(struct sched_node_info *ni)
{
	memset(ni, 0, sizeof *ni);
	ni->id = "n1";
	ni->name = "n1";
	ni->online = 1;
	ni->unmeasured = 1;
}

/* A node that has not reported its capacity takes no reservation yet. */
static void
test_job_unmeasured_node(void)
{
	struct sched *s = sched_new();
	struct sched_node_info ni;
	struct sched_plan p;
	const struct sched_queued *q;
	char w[64];

	tj_unmeasured(&ni);
	CHECK(sched_node_upsert(s, &ni, NULL) == 0);
	tj_put(s, 1, 0, 0, T0, 1, NULL, NULL);
	tj_put(s, 2, 0, 1, T0, 0, NULL, NULL);	/* reserves nothing */
	ts_round(s, T0 + 1, 1, &p);
	q = tj_queued(&p, 1, 0);
	CHECK(q != NULL && q->why == SCHED_QUEUE_FULL);
	CHECK_HAS(q != NULL ? q->reason : NULL,
	    "1 node has not reported a capacity yet");
	CHECK_STR(tj_where(s, 2, 0, w, sizeof w), "n1");
	sched_plan_clear(&p);
	ni.unmeasured = 0;
	ni.cpus = 1;
	CHECK(sched_node_upsert(s, &ni, NULL) == 0);
	ts_round1(s, T0 + 2, 2);
	CHECK_STR(tj_where(s, 1, 0, w, sizeof w), "n1");
	sched_free(s);
}

/*
 * A daemon that reserves cpus waits for a new node's capacity without a
 * word (no unplaceable per round during a join storm), then lands.
 */
static void
test_daemon_waits_for_capacity(void)
{
	struct sched *s = sched_new();
	struct sched_node_info ni;
	struct ts_svc t = { .id = 7, .name = "agentd",
	    .strategy = SCHED_DAEMON, .instances = 1, .cpus = 0.1 };
	struct sched_plan p;

	tj_unmeasured(&ni);
	CHECK(sched_node_upsert(s, &ni, NULL) == 0);
	CHECK(ts_svc_put(s, &t) == 0);
	ts_round(s, T0 + 1, 1, &p);
	CHECK_INT(sched_plan_nactions(&p), 0);
	CHECK_INT(p.nunplaceable, 0);
	sched_plan_clear(&p);
	ni.unmeasured = 0;
	ni.cpus = 1;
	ni.memory = GIB;
	CHECK(sched_node_upsert(s, &ni, NULL) == 0);
	ts_round(s, T0 + 2, 2, &p);
	CHECK_INT(sched_plan_nactions(&p), 1);
	CHECK_INT(p.nunplaceable, 0);
	sched_plan_clear(&p);
	sched_free(s);
}

/* A plan that is not applied leaves the next plan to place the same. */
static void
test_job_unapplied_plan(void)
{
	struct sched *s = sched_new();
	struct sched_plan p;

	ts_node(s, "n1", "");
	tj_put(s, 1, 0, 0, T0, 1, NULL, NULL);
	sched_plan(s, T0 + 1, 1, NULL, &p);
	CHECK_INT(ts_steps(&p, SCHED_STEP_JOB_ASSIGN, 0, NULL), 1);
	sched_plan_clear(&p);
	TS_CHECK_STATE(s);
	sched_plan(s, T0 + 2, 2, NULL, &p);
	CHECK_INT(ts_steps(&p, SCHED_STEP_JOB_ASSIGN, 0, NULL), 1);
	sched_plan_clear(&p);
	sched_free(s);
}

static uint64_t
tj_rand(uint64_t *r)
{
	*r = *r * 6364136223846793005ULL + 1442695040888963407ULL;
	return *r >> 33;
}

/* Many tasks, many rounds: capacity is never exceeded. */
static void
test_job_churn(void)
{
	struct sched *s = sched_new();
	struct sched_job_info *l;
	uint64_t rng = 42;
	double used[8];
	size_t n, i;
	int64_t id = 1, now = T0;
	int round, k, running;

	for (k = 0; k < 8; k++) {
		char node[8];

		snprintf(node, sizeof node, "n%d", k);
		ts_node_full(s, node, k % 2 ? "az=a" : "az=b", 4, 8 * GIB, 1,
		    0, 0, 0);
	}
	for (round = 0; round < 200; round++) {
		for (k = 0; k < 3; k++) {
			double cpus = (double)(1 + tj_rand(&rng) % 4);

			tj_put(s, id++, 0, (int)(tj_rand(&rng) % 3),
			    now, cpus, k == 0 ? "label==az=a" : NULL, NULL);
		}
		ts_round1(s, now, (uint64_t)round);
		/* Finish a few of the assigned tasks. */
		n = sched_job_list(s, &l);
		running = 0;
		memset(used, 0, sizeof used);
		for (i = 0; i < n; i++) {
			if (l[i].node_id == NULL)
				continue;
			used[atoi(l[i].node_id + 1)] += l[i].cpus;
			running++;
			if (tj_rand(&rng) % 3 == 0)
				sched_job_remove(s, l[i].id, l[i].index);
		}
		free(l);
		for (k = 0; k < 8; k++)
			CHECK(used[k] <= 4.0);
		CHECK(running <= 8 * 4);
		TS_CHECK_STATE(s);
		now += 1000;
	}
	sched_free(s);
}

int
main(void)
{
	TEST_RUN(test_job_queue_order_and_capacity);
	TEST_RUN(test_job_shares_capacity_with_services);
	TEST_RUN(test_job_affinity_and_no_node);
	TEST_RUN(test_job_held_nodes);
	TEST_RUN(test_job_backoff);
	TEST_RUN(test_job_parallel_spread);
	TEST_RUN(test_job_lost);
	TEST_RUN(test_job_lost_with_removed_node);
	TEST_RUN(test_job_upsert_moves);
	TEST_RUN(test_job_unmeasured_node);
	TEST_RUN(test_daemon_waits_for_capacity);
	TEST_RUN(test_job_unapplied_plan);
	TEST_RUN(test_job_churn);
	return TEST_DONE();
}
