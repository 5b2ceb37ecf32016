/*
 * test_sched_filters.c - unit tests for each placement filter of
 * docs/scheduler.md: affinity (node, label, service, container; == and !=;
 * soft "~"),
 * memory, cpu, host ports, offline nodes, stateful-not-on-ephemeral, and
 * the "no eligible node" reason a deploy ends with.
 */
#include "tests/unit/test.h"
#include "tests/unit/test_sched.h"

static struct sched *
grid3(void)
{
	struct sched *s = sched_new();

	ts_node(s, "n1", "az=a,disk=ssd");
	ts_node(s, "n2", "az=b,disk=hdd");
	ts_node(s, "n3", "az=b,ephemeral=true");
	return s;
}

static void
test_filter_node(void)
{
	struct sched *s = grid3();

	ts_svc(s, 1, "a", SCHED_HA, 3, "node==n2");
	ts_svc(s, 2, "b", SCHED_HA, 4, "node!=n2");
	ts_round1(s, T0, 1);
	CHECK_INT(ts_count(s, 1, "n2"), 3);
	CHECK_INT(ts_count(s, 2, "n2"), 0);
	CHECK_INT(ts_count(s, 2, NULL), 4);
	sched_free(s);
}

static void
test_filter_label(void)
{
	struct sched *s = grid3();

	ts_svc(s, 1, "ssd", SCHED_HA, 2, "label==disk=ssd");
	ts_svc(s, 2, "noeph", SCHED_HA, 4, "label!=ephemeral=true");
	ts_svc(s, 3, "haskey", SCHED_DAEMON, 1, "label==disk");
	ts_svc(s, 4, "nokey", SCHED_DAEMON, 1, "label!=disk");
	ts_round1(s, T0, 1);
	CHECK_INT(ts_count(s, 1, "n1"), 2);
	CHECK_INT(ts_count(s, 2, "n3"), 0);
	CHECK_INT(ts_count(s, 2, NULL), 4);
	CHECK_INT(ts_count(s, 3, NULL), 2);
	CHECK_INT(ts_count(s, 3, "n3"), 0);
	CHECK_INT(ts_count(s, 4, "n3"), 1);
	CHECK_INT(ts_count(s, 4, NULL), 1);
	sched_free(s);
}

/* service==/!= match "name" or "stack/name"; != on itself = one per node. */
static void
test_filter_service(void)
{
	struct sched *s = grid3();
	struct ts_svc db = { .id = 1, .stack = "shop", .name = "db",
	    .strategy = SCHED_HA, .instances = 1, .affinity = "node==n2" };
	struct sched_plan p;

	ts_svc_put(s, &db);
	ts_round1(s, T0, 1);
	ts_svc(s, 2, "near", SCHED_HA, 2, "service==shop/db");
	ts_svc(s, 3, "near2", SCHED_HA, 2, "service==db");
	ts_svc(s, 4, "far", SCHED_HA, 3, "service!=db");
	ts_svc(s, 5, "spread", SCHED_HA, 4, "service!=spread");
	ts_round(s, T0 + 1, 1, &p);
	CHECK_INT(ts_count(s, 2, "n2"), 2);
	CHECK_INT(ts_count(s, 3, "n2"), 2);
	CHECK_INT(ts_count(s, 4, "n2"), 0);
	CHECK_INT(ts_count(s, 5, "n1"), 1);
	CHECK_INT(ts_count(s, 5, "n2"), 1);
	CHECK_INT(ts_count(s, 5, "n3"), 1);
	CHECK_INT(p.nunplaceable, 1);
	if (p.nunplaceable == 1) {
		CHECK_INT(p.unplaceable[0].service_id, 5);
		CHECK_INT(p.unplaceable[0].instance_no, 4);
		CHECK_HAS(p.unplaceable[0].reason,
		    "3 nodes fail affinity service!=spread");
	}
	sched_plan_clear(&p);
	sched_free(s);
}

/* container==/!= match "<stack>.<service>-<n>" or "<service>-<n>". */
static void
test_filter_container(void)
{
	struct sched *s = grid3();
	struct ts_svc web = { .id = 1, .stack = "shop", .name = "web",
	    .strategy = SCHED_HA, .instances = 2, .affinity = "node!=n3" };

	ts_svc_put(s, &web);
	ts_round1(s, T0, 1);
	ts_svc(s, 2, "side", SCHED_HA, 1, "container==shop.web-2");
	ts_svc(s, 3, "side1", SCHED_HA, 1, "container==web-1");
	ts_svc(s, 4, "away", SCHED_DAEMON, 1, "container!=web-1");
	ts_round1(s, T0 + 1, 1);
	CHECK_INT(ts_count(s, 2, NULL), 1);
	CHECK_INT(ts_count(s, 3, NULL), 1);
	CHECK_INT(ts_count(s, 4, NULL), 2);
	{
		struct sched_instance_info *w, *x;
		size_t nw, nx, i;
		const char *web2 = NULL, *web1 = NULL;

		nw = sched_instance_list(s, 1, &w);
		for (i = 0; i < nw; i++) {
			if (w[i].instance_no == 2)
				web2 = w[i].node_id;
			else
				web1 = w[i].node_id;
		}
		nx = sched_instance_list(s, 2, &x);
		CHECK(nx == 1 && web2 != NULL &&
		    strcmp(x[0].node_id, web2) == 0);
		free(x);
		nx = sched_instance_list(s, 3, &x);
		CHECK(nx == 1 && web1 != NULL &&
		    strcmp(x[0].node_id, web1) == 0);
		free(x);
		CHECK(web1 != NULL && ts_count(s, 4, web1) == 0);
		free(w);
	}
	sched_free(s);
}

/* A soft rule is a preference: honoured when it can be, broken if not. */
static void
test_filter_soft(void)
{
	struct sched *s = grid3();
	struct sched_plan p;

	ts_svc(s, 1, "pref", SCHED_HA, 3, "label==~disk=ssd");
	ts_svc(s, 2, "avoid", SCHED_HA, 2, "node!=~n1;node!=~n2;node!=~n3");
	ts_svc(s, 3, "rand", SCHED_RANDOM, 5, "label==~az=a");
	ts_round(s, T0, 1, &p);
	/* Soft rules order nodes before the az spread does. */
	CHECK_INT(ts_count(s, 1, "n1"), 3);
	CHECK_INT(ts_count(s, 2, NULL), 2);
	CHECK_INT(ts_count(s, 3, "n1"), 5);
	CHECK_INT(p.nunplaceable, 0);
	sched_plan_clear(&p);
	sched_free(s);
}

static void
test_filter_memory_cpu(void)
{
	struct sched *s = sched_new();
	struct ts_svc big = { .id = 1, .name = "big", .strategy = SCHED_HA,
	    .instances = 5, .mem = 512 * MIB };
	struct ts_svc cpu = { .id = 2, .name = "cpu", .strategy = SCHED_HA,
	    .instances = 4, .cpus = 1.5 };
	struct sched_plan p;

	ts_node_full(s, "n1", "", 2, 1 * GIB, 1, 0, 0, 0);
	ts_node_full(s, "n2", "", 2, 1 * GIB, 1, 0, 0, 0);
	ts_svc_put(s, &big);
	ts_svc_put(s, &cpu);
	ts_round(s, T0, 1, &p);
	CHECK_INT(ts_count(s, 1, NULL), 4);
	CHECK_INT(ts_count(s, 2, NULL), 2);
	CHECK_INT(p.nunplaceable, 3);
	if (p.nunplaceable == 3) {
		CHECK_INT(p.unplaceable[0].instance_no, 5);
		CHECK_HAS(p.unplaceable[0].reason,
		    "no eligible node for st/big: 2 nodes fail memory "
		    "(needs 512 MiB)");
		CHECK_HAS(p.unplaceable[1].reason, "2 nodes fail cpu");
	}
	sched_plan_clear(&p);
	/* Unplaced services stay on the work list: more room, placed. */
	ts_node_full(s, "n3", "", 4, 4 * GIB, 1, 0, 0, 0);
	ts_round(s, T0 + 1, 1, &p);
	CHECK_INT(ts_count(s, 1, "n3"), 1);
	CHECK_INT(ts_count(s, 2, "n3"), 2);
	CHECK_INT(p.nunplaceable, 0);
	sched_plan_clear(&p);
	sched_free(s);
}

static void
test_filter_ports(void)
{
	struct sched *s = sched_new();
	struct ts_svc lb = { .id = 1, .name = "lb", .strategy = SCHED_HA,
	    .instances = 3, .port = 80 };
	struct ts_svc lb2 = { .id = 2, .name = "lb2",
	    .strategy = SCHED_DAEMON, .instances = 1, .port = 80 };
	struct sched_plan p;

	ts_node(s, "n1", "");
	ts_node(s, "n2", "");
	ts_svc_put(s, &lb);
	ts_round(s, T0, 1, &p);
	CHECK_INT(ts_count(s, 1, "n1"), 1);
	CHECK_INT(ts_count(s, 1, "n2"), 1);
	CHECK_INT(p.nunplaceable, 1);
	if (p.nunplaceable == 1)
		CHECK_HAS(p.unplaceable[0].reason,
		    "2 nodes have port 80/tcp taken");
	sched_plan_clear(&p);
	ts_node(s, "n3", "");
	ts_svc_put(s, &lb2);
	ts_round(s, T0 + 1, 1, &p);
	CHECK_INT(ts_count(s, 1, "n3"), 1);
	CHECK_INT(ts_count(s, 2, NULL), 0);
	CHECK_INT(p.nunplaceable, 3);
	if (p.nunplaceable > 0)
		CHECK_HAS(p.unplaceable[0].reason, "has port 80/tcp taken");
	sched_plan_clear(&p);
	sched_free(s);
}

static void
test_filter_offline_and_stateful(void)
{
	struct sched *s = grid3();
	struct ts_svc db = { .id = 1, .name = "db", .strategy = SCHED_HA,
	    .instances = 4, .stateful = 1 };
	struct ts_svc dbd = { .id = 2, .name = "dbd",
	    .strategy = SCHED_DAEMON, .instances = 1, .stateful = 1 };

	ts_offline(s, "n2", "az=b,disk=hdd", T0);
	ts_svc_put(s, &db);
	ts_svc_put(s, &dbd);
	ts_round1(s, T0 + 1, 1);
	CHECK_INT(ts_count(s, 1, "n1"), 4);
	CHECK_INT(ts_count(s, 0, "n2"), 0);
	CHECK_INT(ts_count(s, 0, "n3"), 0);
	CHECK_INT(ts_count(s, 2, NULL), 1);
	sched_free(s);
}

/* A node up (or not) by its engine; everything else as ts_node(). */
static void
ts_engine(struct sched *s, const char *id, const char *labels, int down)
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
	ni.cpus = 64;
	ni.memory = 256 * GIB;
	ni.online = 1;
	ni.engine_down = down;
	CHECK_INT(sched_node_upsert(s, &ni, &cause), 0);
	free(cause);
	ts_free_list(l, nl);
}

/*
 * Issue 19.2: an online node whose agent cannot reach its Docker Engine
 * takes no new record (ha, daemon), says so in the reason, keeps what it
 * has, and takes records again when its engine answers.
 */
static void
test_filter_engine_down(void)
{
	struct sched *s = sched_new();
	struct ts_svc w = { .id = 1, .name = "w", .strategy = SCHED_HA,
	    .instances = 2 };
	struct ts_svc d = { .id = 2, .name = "d", .strategy = SCHED_DAEMON,
	    .instances = 1 };
	struct ts_svc only = { .id = 3, .name = "only", .strategy = SCHED_HA,
	    .instances = 1, .affinity = "node==n2" };
	struct sched_plan p;
	size_t k;

	ts_node(s, "n1", "az=a");
	ts_engine(s, "n2", "az=b", 1);
	ts_svc_put(s, &w);
	ts_svc_put(s, &d);
	ts_svc_put(s, &only);
	ts_round(s, T0, 1, &p);
	CHECK_INT(ts_count(s, 1, "n1"), 2);
	CHECK_INT(ts_count(s, 1, "n2"), 0);
	CHECK_INT(ts_count(s, 2, "n2"), 0);
	CHECK_INT(ts_count(s, 3, NULL), 0);
	for (k = 0; k < p.nunplaceable; k++)
		if (p.unplaceable[k].service_id == 3)
			CHECK_HAS(p.unplaceable[k].reason, "1 node is without "
			    "a working Docker Engine");
	CHECK(p.nunplaceable >= 1);
	sched_plan_clear(&p);
	/* It answers again: the daemon and the pinned service land. */
	ts_engine(s, "n2", "az=b", 0);
	ts_round1(s, T0 + 1000, 1);
	CHECK_INT(ts_count(s, 2, "n2"), 1);
	CHECK_INT(ts_count(s, 3, "n2"), 1);
	CHECK_INT(ts_count(s, 1, "n1"), 2);	/* nothing moved meanwhile */
	/* Down again: what it has stays (nobody can see it; nothing moves). */
	ts_engine(s, "n2", "az=b", 1);
	ts_round1(s, T0 + 2000, 1);
	CHECK_INT(ts_count(s, 2, "n2"), 1);
	CHECK_INT(ts_count(s, 3, "n2"), 1);
	sched_free(s);
}

/* The reason a deploy shows when nothing fits. */
static void
test_unplaceable_reason(void)
{
	struct sched *s = sched_new();
	struct ts_svc w = { .id = 1, .name = "w", .strategy = SCHED_HA,
	    .instances = 1, .mem = 2 * GIB,
	    .affinity = "label==ephemeral=true" };
	struct sched_plan p;

	ts_node(s, "n1", "");
	ts_node(s, "n2", "");
	ts_node(s, "n3", "");
	ts_node_full(s, "e1", "ephemeral=true", 1, 1 * GIB, 1, 0, 0, 0);
	ts_offline(s, "e2", "ephemeral=true", T0);
	ts_svc_put(s, &w);
	ts_round(s, T0, 1, &p);
	CHECK_INT(p.nunplaceable, 1);
	if (p.nunplaceable == 1)
		CHECK_STR(p.unplaceable[0].reason, "no eligible node for st/w:"
		    " 3 nodes fail affinity label==ephemeral=true, 1 node "
		    "fails memory (needs 2 GiB), 1 node is offline");
	sched_plan_clear(&p);
	sched_free(s);
	s = sched_new();
	ts_svc(s, 1, "w", SCHED_HA, 1, NULL);
	ts_round(s, T0, 1, &p);
	CHECK_INT(p.nunplaceable, 1);
	if (p.nunplaceable == 1)
		CHECK_HAS(p.unplaceable[0].reason, "the grid has no nodes");
	sched_plan_clear(&p);
	sched_free(s);
}

/* Bad rules are refused with a reason; the service is unchanged. */
static void
test_bad_affinity_refused(void)
{
	struct sched *s = sched_new();
	struct sched_service_info si;
	const char *rules[] = { "label==az=a", "bogus~x" };
	char *cause = NULL;

	memset(&si, 0, sizeof si);
	si.id = 1;
	si.name = "x";
	si.affinity = rules;
	si.naffinity = 2;
	CHECK(sched_service_upsert(s, &si, &cause) == -1);
	CHECK_HAS(cause, "bogus~x");
	free(cause);
	sched_free(s);
}

int
main(void)
{
	TEST_RUN(test_filter_node);
	TEST_RUN(test_filter_label);
	TEST_RUN(test_filter_service);
	TEST_RUN(test_filter_container);
	TEST_RUN(test_filter_soft);
	TEST_RUN(test_filter_memory_cpu);
	TEST_RUN(test_filter_ports);
	TEST_RUN(test_filter_offline_and_stateful);
	TEST_RUN(test_filter_engine_down);
	TEST_RUN(test_unplaceable_reason);
	TEST_RUN(test_bad_affinity_refused);
	return TEST_DONE();
}
