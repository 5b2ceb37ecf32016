/*
 * test_sched_size.c - sizing a scale-up with the real planner
 * (scheduler/sched_size.c): scale from zero, packing on bigger templates,
 * affinity to a group, overflow by priority, machines on their way,
 * daemons' reservations, queued jobs, demand no group serves, and the
 * state left exactly as it was (no virtual node, same plan after).
 */
#include "tests/unit/test_sched.h"

#include "common/util.h"

/* A group "name" with labels and a template of cpus. */
static void
tz_group(struct sched_size_group *g, const char *name, char **labels,
    size_t nlabels, double cpus, int upcoming, int headroom)
{
	memset(g, 0, sizeof *g);
	g->name = name;
	g->labels = (const char *const *)labels;
	g->nlabels = nlabels;
	g->cpus = cpus;
	g->memory = 0;
	g->upcoming = upcoming;
	g->headroom = headroom;
}

static void
tz_svc(struct sched *s, int64_t id, const char *name, enum sched_strategy st,
    int n, const char *affinity, double cpus)
{
	struct ts_svc t = { .id = id, .name = name, .strategy = st,
	    .instances = n, .affinity = affinity, .cpus = cpus,
	    .min_health = 0.8 };

	ts_svc_put(s, &t);
}

/* The services of the last tz_size() that wait for capacity. */
static size_t	tz_nservices;
static int64_t	tz_service;

static int
tz_size(struct sched *s, struct sched_size_group *g, size_t ng, int *launch,
    struct sched_size_result *r)
{
	char *cause = NULL;
	int rc;

	memset(r, 0, sizeof *r);
	r->launch = launch;
	rc = sched_size(s, g, ng, T0, 7, r, &cause);
	if (rc != 0) {
		printf("  sched_size: %s\n", cause);
		free(cause);
	}
	tz_nservices = r->nservices;
	tz_service = r->nservices > 0 ? r->services[0] : 0;
	free(r->services);
	r->services = NULL;
	return rc;
}

/* Steps other than NOTE of one plan at T0. */
static size_t
tz_actions(struct sched *s)
{
	struct sched_plan p;
	size_t n;

	sched_plan_init(&p);
	sched_plan(s, T0, 7, NULL, &p);
	n = sched_plan_nactions(&p);
	sched_plan_clear(&p);
	return n;
}

static void
test_size_from_zero(void)
{
	struct sched *s = sched_new();
	char *lab[] = { "ephemeral=true", "berth.group=burst" };
	struct sched_size_group g[1];
	struct sched_size_result r;
	int launch[1];

	/* No node at all: three one-cpu instances pinned to the group. */
	tz_svc(s, 1, "web", SCHED_HA, 3, "label==berth.group=burst", 1);
	tz_group(&g[0], "burst", lab, 2, 1, 0, 3);
	CHECK(tz_size(s, g, 1, launch, &r) == 0);
	CHECK_INT(r.demand, 3);
	CHECK_INT(r.served, 3);
	CHECK_INT(launch[0], 3);
	CHECK(r.unserved == NULL);
	/* The service waits for that capacity. */
	CHECK_INT((int)tz_nservices, 1);
	CHECK_INT((int)tz_service, 1);
	/* Nothing left behind: no node, and the plan still places nothing. */
	CHECK_INT((int)sched_node_count(s), 0);
	CHECK_INT((int)tz_actions(s), 0);
	TS_CHECK_STATE(s);
	/* A max of 2: two launched, the third named as unserved. */
	g[0].headroom = 2;
	CHECK(tz_size(s, g, 1, launch, &r) == 0);
	CHECK_INT(launch[0], 2);
	CHECK_INT(r.served, 2);
	CHECK(r.unserved != NULL);
	free(r.unserved);
	sched_free(s);
}

static void
test_size_packs_big_templates(void)
{
	struct sched *s = sched_new();
	char *lab[] = { "ephemeral=true", "berth.group=big" };
	struct sched_size_group g[1];
	struct sched_size_result r;
	int launch[1];

	/* Ten half-cpu instances on four-cpu nodes: two nodes, not ten. */
	tz_svc(s, 1, "w", SCHED_RANDOM, 10, NULL, 0.5);
	tz_group(&g[0], "big", lab, 2, 4, 0, 10);
	CHECK(tz_size(s, g, 1, launch, &r) == 0);
	CHECK_INT(r.demand, 10);
	CHECK_INT(launch[0], 2);
	CHECK(r.unserved == NULL);
	CHECK(r.plans <= 8);
	sched_free(s);
}

static void
test_size_overflow_and_affinity(void)
{
	struct sched *s = sched_new();
	char *la[] = { "ephemeral=true", "berth.group=a" };
	char *lb[] = { "ephemeral=true", "berth.group=b" };
	char *lgpu[] = { "ephemeral=true", "berth.group=gpu", "gpu=true" };
	struct sched_size_group g[3];
	struct sched_size_result r;
	int launch[3];

	/* Demand 3 of one cpu: a (max 1) takes 1, b the other 2. (w keeps
	 * off gpu nodes: without a rule it would take any node first.) */
	tz_svc(s, 1, "w", SCHED_HA, 3, "label!=gpu=true", 1);
	tz_group(&g[0], "a", la, 2, 1, 0, 1);
	tz_group(&g[1], "b", lb, 2, 1, 0, 5);
	CHECK(tz_size(s, g, 2, launch, &r) == 0);
	CHECK_INT(launch[0], 1);
	CHECK_INT(launch[1], 2);
	/* a in backoff (no headroom): b takes all 3. */
	g[0].headroom = 0;
	CHECK(tz_size(s, g, 2, launch, &r) == 0);
	CHECK_INT(launch[0], 0);
	CHECK_INT(launch[1], 3);
	/* An instance that wants gpu=true: only the gpu group serves it. */
	tz_svc(s, 2, "train", SCHED_HA, 1, "label==gpu=true", 1);
	g[0].headroom = 1;
	tz_group(&g[2], "gpu", lgpu, 3, 1, 0, 2);
	CHECK(tz_size(s, g, 3, launch, &r) == 0);
	CHECK_INT(r.demand, 4);
	CHECK_INT(launch[0], 1);
	CHECK_INT(launch[1], 2);
	CHECK_INT(launch[2], 1);
	CHECK(r.unserved == NULL);
	/* Without the gpu group: one item unserved, and the reason says why. */
	CHECK(tz_size(s, g, 2, launch, &r) == 0);
	CHECK(r.unserved != NULL && strstr(r.unserved, "train") != NULL);
	free(r.unserved);
	CHECK_INT((int)sched_node_count(s), 0);
	TS_CHECK_STATE(s);
	sched_free(s);
}

static void
test_size_upcoming_and_daemons(void)
{
	struct sched *s = sched_new();
	char *lab[] = { "ephemeral=true", "berth.group=g" };
	struct sched_size_group g[1];
	struct sched_size_result r;
	int launch[1];

	/* Two machines on their way take two of three: one more launch. */
	tz_svc(s, 1, "w", SCHED_HA, 3, NULL, 1);
	tz_group(&g[0], "g", lab, 2, 1, 2, 5);
	CHECK(tz_size(s, g, 1, launch, &r) == 0);
	CHECK_INT(r.served, 3);
	CHECK_INT(launch[0], 1);
	sched_free(s);

	/* Three half-cpu instances fit one 1.5-cpu node; with a daemon of
	 * one cpu on every node (placed first: services go by id), each
	 * node holds one of them: three. */
	s = sched_new();
	tz_svc(s, 2, "w", SCHED_HA, 3, NULL, 0.5);
	g[0].upcoming = 0;
	g[0].cpus = 1.5;
	CHECK(tz_size(s, g, 1, launch, &r) == 0);
	CHECK_INT(launch[0], 1);
	tz_svc(s, 1, "logs", SCHED_DAEMON, 1, NULL, 1);
	CHECK(tz_size(s, g, 1, launch, &r) == 0);
	CHECK_INT(r.demand, 3);
	CHECK_INT(launch[0], 3);
	CHECK(r.unserved == NULL);
	sched_free(s);
}

static void
test_size_jobs(void)
{
	struct sched *s = sched_new();
	char *lab[] = { "ephemeral=true", "berth.group=ci" };
	struct sched_size_group g[1];
	struct sched_size_result r;
	struct sched_job_info ji;
	struct sched_plan p;
	char *cause = NULL, name[16];
	int launch[1], i;

	/* Four queued one-cpu tasks, two-cpu templates: two nodes. */
	for (i = 1; i <= 4; i++) {
		snprintf(name, sizeof name, "j%d", i);
		memset(&ji, 0, sizeof ji);
		ji.id = i;
		ji.name = name;
		ji.queued_at_ms = T0 - 1000 + i;
		ji.cpus = 1;
		CHECK(sched_job_upsert(s, &ji, &cause) == 0);
	}
	sched_plan_init(&p);
	sched_plan(s, T0, 7, NULL, &p);
	CHECK_INT((int)p.nqueued, 4);
	tz_group(&g[0], "ci", lab, 2, 2, 0, 10);
	CHECK(tz_size(s, g, 1, launch, &r) == 0);
	CHECK_INT(r.demand, 4);
	CHECK_INT(launch[0], 2);
	/* The tasks keep their reasons: the next plan changes none. */
	sched_plan_clear(&p);
	sched_plan(s, T0, 7, NULL, &p);
	CHECK_INT((int)p.nqueued, 4);
	for (i = 0; i < (int)p.nqueued; i++)
		CHECK(!p.queued[i].changed);
	sched_plan_clear(&p);
	TS_CHECK_STATE(s);
	sched_free(s);
}

int
main(void)
{
	TEST_RUN(test_size_from_zero);
	TEST_RUN(test_size_packs_big_templates);
	TEST_RUN(test_size_overflow_and_affinity);
	TEST_RUN(test_size_upcoming_and_daemons);
	TEST_RUN(test_size_jobs);
	return TEST_DONE();
}
