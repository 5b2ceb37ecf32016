/*
 * test_sched.c - unit tests for the scheduler: each strategy and each rule
 * of docs/scheduler.md on a small hand-built grid with an injected clock.
 * (Filters: test_sched_filters.c; random grids: test_sched_props.c.)
 */
#include "tests/unit/test.h"
#include "tests/unit/test_sched.h"

/* Daemon: one per eligible node, at once; a joining node gets its own. */
static void
test_daemon_every_eligible_node_and_join(void)
{
	struct sched *s = sched_new();
	struct sched_plan p;

	ts_node(s, "n1", "ephemeral=true");
	ts_node(s, "n2", "ephemeral=true");
	ts_node(s, "n3", "az=a");
	ts_svc(s, 1, "stress", SCHED_DAEMON, 1, "label==ephemeral=true");
	ts_round(s, T0, 1, &p);
	CHECK_INT(ts_steps(&p, SCHED_STEP_PLACE, 1, NULL), 2);
	CHECK_INT(ts_count(s, 1, "n1"), 1);
	CHECK_INT(ts_count(s, 1, "n2"), 1);
	CHECK_INT(ts_count(s, 1, "n3"), 0);
	CHECK_HAS(ts_reason(&p, SCHED_STEP_PLACE), "daemon stress");
	sched_plan_clear(&p);
	/* A node that joins this very millisecond: no settle for daemons. */
	ts_node_full(s, "n4", "ephemeral=true", 4, 8 * GIB, 1, T0 + 5, 0, 0);
	ts_round(s, T0 + 5, 2, &p);
	CHECK_INT(ts_steps(&p, SCHED_STEP_PLACE, 1, "n4"), 1);
	CHECK_INT(sched_plan_nactions(&p), 1);
	sched_plan_clear(&p);
	CHECK_INT(ts_round1(s, T0 + 6, 3), 0);
	sched_free(s);
}

static void
test_daemon_instances_per_node_and_numbers(void)
{
	struct sched *s = sched_new();
	struct sched_instance_info *l;
	size_t n, i;
	int seen[7] = { 0 };

	ts_node(s, "n1", "");
	ts_node(s, "n2", "");
	ts_node(s, "n3", "");
	ts_svc(s, 1, "agent", SCHED_DAEMON, 2, NULL);
	ts_round1(s, T0, 1);
	CHECK_INT(ts_count(s, 1, "n1"), 2);
	CHECK_INT(ts_count(s, 1, "n2"), 2);
	CHECK_INT(ts_count(s, 1, "n3"), 2);
	/* Numbers are unique across the service: 1..6. */
	n = sched_instance_list(s, 1, &l);
	CHECK_INT(n, 6);
	for (i = 0; i < n; i++) {
		CHECK(l[i].instance_no >= 1 && l[i].instance_no <= 6);
		if (l[i].instance_no >= 1 && l[i].instance_no <= 6)
			seen[l[i].instance_no]++;
	}
	for (i = 1; i <= 6; i++)
		CHECK_INT(seen[i], 1);
	free(l);
	/* Down to one per node: the higher number on each node goes. */
	ts_svc(s, 1, "agent", SCHED_DAEMON, 1, NULL);
	CHECK_INT(ts_round1(s, T0 + 1, 1), 3);
	CHECK_INT(ts_count(s, 1, NULL), 3);
	sched_free(s);
}

/* Daemon records belong to their node: kept while offline, gone when the
 * node stops matching, gone with a removed node. */
static void
test_daemon_not_moved(void)
{
	struct sched *s = sched_new();
	struct sched_plan p;

	ts_node(s, "n1", "");
	ts_node(s, "n2", "");
	ts_node(s, "n3", "");
	ts_svc(s, 1, "agent", SCHED_DAEMON, 1, "label!=gpu");
	ts_round1(s, T0, 1);
	ts_offline(s, "n1", "", T0 + 1000);
	ts_round(s, T0 + 3600000, 1, &p);
	CHECK_INT(sched_plan_nactions(&p), 0);
	CHECK_INT(ts_count(s, 1, "n1"), 1);
	sched_plan_clear(&p);
	ts_node(s, "n2", "gpu=1");
	ts_round(s, T0 + 3600001, 1, &p);
	CHECK_INT(ts_steps(&p, SCHED_STEP_REMOVE, 1, "n2"), 1);
	CHECK_HAS(ts_reason(&p, SCHED_STEP_REMOVE), "no longer passes");
	sched_plan_clear(&p);
	CHECK(sched_node_remove(s, "n3") == 0);
	CHECK_INT(ts_count(s, 1, NULL), 1);
	CHECK_INT(ts_round1(s, T0 + 3600002, 1), 0);
	sched_free(s);
}

/* ha: spread by az first, then per node. */
static void
test_ha_spreads_by_az_then_node(void)
{
	struct sched *s = sched_new();

	ts_node(s, "a1", "az=a");
	ts_node(s, "a2", "az=a");
	ts_node(s, "a3", "az=a");
	ts_node(s, "b1", "az=b");
	ts_node(s, "c1", "az=c");
	ts_svc(s, 1, "web", SCHED_HA, 6, NULL);
	ts_round1(s, T0, 7);
	CHECK_INT(ts_count(s, 1, "b1"), 2);
	CHECK_INT(ts_count(s, 1, "c1"), 2);
	CHECK_INT(ts_count(s, 1, "a1") + ts_count(s, 1, "a2") +
	    ts_count(s, 1, "a3"), 2);
	CHECK(ts_count(s, 1, "a1") <= 1 && ts_count(s, 1, "a2") <= 1 &&
	    ts_count(s, 1, "a3") <= 1);
	sched_free(s);
}

/* ha without azs: fewest of the service per node, then fewest overall. */
static void
test_ha_fewest_per_node_then_least_loaded(void)
{
	struct sched *s = sched_new();

	ts_node(s, "n1", "");
	ts_node(s, "n2", "");
	ts_node(s, "n3", "");
	ts_svc(s, 1, "other", SCHED_HA, 2, "node!=n3");
	ts_round1(s, T0, 1);
	ts_svc(s, 2, "web", SCHED_HA, 4, NULL);
	ts_round1(s, T0 + 1, 1);
	/* n3 has nothing else, so it gets the odd one. */
	CHECK_INT(ts_count(s, 2, "n3"), 2);
	CHECK_INT(ts_count(s, 2, "n1"), 1);
	CHECK_INT(ts_count(s, 2, "n2"), 1);
	sched_free(s);
}

/* random: a seed decides; the same seed decides the same. */
static void
test_random_seeded(void)
{
	struct sched *s1 = sched_new(), *s2 = sched_new();
	struct sched_plan p1, p2;
	char id[8];
	int i, differ = 0;
	uint64_t seed;

	for (i = 0; i < 20; i++) {
		snprintf(id, sizeof id, "n%d", i);
		ts_node(s1, id, "");
		ts_node(s2, id, "");
	}
	ts_svc(s1, 1, "job", SCHED_RANDOM, 10, NULL);
	ts_svc(s2, 1, "job", SCHED_RANDOM, 10, NULL);
	sched_plan(s1, T0, 42, NULL, &p1);
	sched_plan(s2, T0, 42, NULL, &p2);
	CHECK_INT(p1.nsteps, 10);
	CHECK_INT(p2.nsteps, 10);
	for (i = 0; i < 10; i++)
		CHECK_STR(p1.steps[i].node_id, p2.steps[i].node_id);
	sched_plan_clear(&p2);
	for (seed = 43; seed < 48 && !differ; seed++) {
		sched_plan(s2, T0, seed, NULL, &p2);
		for (i = 0; i < 10; i++)
			differ |= strcmp(p1.steps[i].node_id,
			    p2.steps[i].node_id) != 0;
		sched_plan_clear(&p2);
	}
	CHECK(differ);
	CHECK_HAS(p1.steps[0].reason, "random");
	sched_plan_clear(&p1);
	sched_free(s1);
	sched_free(s2);
}

/* Scale up places new numbers; scale down removes the highest first. */
static void
test_scale_up_and_down(void)
{
	struct sched *s = sched_new();
	struct sched_plan p;

	ts_node(s, "n1", "");
	ts_node(s, "n2", "");
	ts_svc(s, 1, "web", SCHED_HA, 2, NULL);
	ts_round1(s, T0, 1);
	ts_svc(s, 1, "web", SCHED_HA, 5, NULL);
	ts_round(s, T0 + 1, 1, &p);
	CHECK_INT(ts_steps(&p, SCHED_STEP_PLACE, 1, NULL), 3);
	CHECK_INT(p.steps[0].instance_no, 3);
	CHECK_INT(p.steps[2].instance_no, 5);
	sched_plan_clear(&p);
	ts_svc(s, 1, "web", SCHED_HA, 2, NULL);
	ts_round(s, T0 + 2, 1, &p);
	CHECK_INT(ts_steps(&p, SCHED_STEP_REMOVE, 1, NULL), 3);
	CHECK_INT(p.steps[0].instance_no, 5);
	CHECK_INT(p.steps[1].instance_no, 4);
	CHECK_INT(p.steps[2].instance_no, 3);
	CHECK_HAS(p.steps[0].reason, "scale down");
	sched_plan_clear(&p);
	CHECK_INT(ts_count(s, 1, NULL), 2);
	sched_free(s);
}

/* Replacement after the strategy's grace; removed node's at once. */
static void
test_replace_after_grace(void)
{
	struct sched *s = sched_new();
	struct sched_plan p;

	ts_node(s, "n1", "");
	ts_node(s, "n2", "");
	ts_node(s, "n3", "");
	ts_node(s, "n4", "");
	ts_svc(s, 1, "web", SCHED_HA, 1, "node==n1");
	ts_svc(s, 2, "job", SCHED_RANDOM, 1, "node==n1");
	ts_round1(s, T0, 1);
	ts_svc(s, 1, "web", SCHED_HA, 1, "node!=n4");
	ts_svc(s, 2, "job", SCHED_RANDOM, 1, "node!=n4");
	ts_round1(s, T0, 1);
	CHECK_INT(ts_count(s, 0, "n1"), 2);
	ts_offline(s, "n1", "", T0);
	/* 29 s: nothing; 31 s: random goes; 125 s: ha goes. */
	CHECK_INT(ts_round1(s, T0 + 29000, 1), 0);
	ts_round(s, T0 + 31000, 1, &p);
	CHECK_INT(sched_plan_nactions(&p), 1);
	CHECK_INT(ts_steps(&p, SCHED_STEP_MOVE, 2, NULL), 1);
	CHECK_HAS(ts_reason(&p, SCHED_STEP_MOVE),
	    "node n1 offline 31s > random grace 30s");
	CHECK_STR(p.steps[0].peer_node_id, "n1");
	sched_plan_clear(&p);
	CHECK_INT(ts_round1(s, T0 + 119000, 1), 0);
	ts_round(s, T0 + 125000, 1, &p);
	CHECK_INT(ts_steps(&p, SCHED_STEP_MOVE, 1, NULL), 1);
	CHECK_HAS(ts_reason(&p, SCHED_STEP_MOVE),
	    "node n1 offline 125s > ha grace 120s");
	sched_plan_clear(&p);
	CHECK_INT(ts_count(s, 0, "n1"), 0);
	CHECK_INT(ts_count(s, 1, NULL), 1);
	CHECK_INT(ts_count(s, 0, "n4"), 0);
	/* A node removed by the operator: its records are placed anew. */
	CHECK(sched_node_remove(s, "n2") == 0 || sched_node_remove(s, "n3")
	    == 0);
	ts_round1(s, T0 + 126000, 1);
	CHECK_INT(ts_count(s, 1, NULL), 1);
	CHECK_INT(ts_count(s, 2, NULL), 1);
	sched_free(s);
}

/* Stateful services stay pinned, even on an offline node. */
static void
test_stateful_pinned(void)
{
	struct sched *s = sched_new();
	struct ts_svc db = { .id = 1, .name = "db", .strategy = SCHED_HA,
	    .instances = 1, .stateful = 1, .affinity = "node==n1" };

	ts_node(s, "n1", "");
	ts_node(s, "n2", "");
	ts_node(s, "n3", "");
	ts_svc_put(s, &db);
	ts_round1(s, T0, 1);
	db.affinity = NULL;
	ts_svc_put(s, &db);
	ts_offline(s, "n1", "", T0);
	CHECK_INT(ts_round1(s, T0 + 3600000, 1), 0);
	CHECK_INT(ts_count(s, 1, "n1"), 1);
	/* Even when n1 stops matching a rule it is not moved. */
	db.affinity = "node!=n1";
	ts_svc_put(s, &db);
	ts_node(s, "n1", "");
	CHECK_INT(ts_round1(s, T0 + 3600001, 1), 0);
	CHECK_INT(ts_count(s, 1, "n1"), 1);
	sched_free(s);
}

/* Ephemeral nodes offline past the removal time go; static ones stay. */
static void
test_ephemeral_removal(void)
{
	struct sched *s = sched_new();
	struct sched_plan p;

	ts_node(s, "s1", "");
	ts_node(s, "s2", "");
	ts_node(s, "s3", "");
	ts_node(s, "e1", "ephemeral=true");
	ts_node(s, "e2", "ephemeral");
	ts_svc(s, 1, "stress", SCHED_DAEMON, 1, NULL);
	ts_round1(s, T0, 1);
	ts_offline(s, "e1", "ephemeral=true", T0);
	ts_offline(s, "s3", "", T0 + 30000);
	CHECK_INT(ts_round1(s, T0 + 1200000, 1), 0);
	ts_round(s, T0 + 1210000, 1, &p);
	CHECK_INT(sched_plan_nactions(&p), 1);
	CHECK_INT(ts_steps(&p, SCHED_STEP_REMOVE_NODE, 0, "e1"), 1);
	CHECK_HAS(ts_reason(&p, SCHED_STEP_REMOVE_NODE),
	    "ephemeral node e1 offline 1210s > 1200s");
	sched_plan_clear(&p);
	CHECK_INT(sched_node_count(s), 4);
	CHECK_INT(ts_count(s, 1, NULL), 4);
	/* The static node is never removed. */
	CHECK_INT(ts_round1(s, T0 + 99000000, 1), 0);
	CHECK_INT(sched_node_count(s), 4);
	sched_free(s);
}

/* More than half offline within one window: stand down, say why. */
static void
test_stand_down(void)
{
	struct sched *s = sched_new();
	struct sched_plan p;
	char id[8];
	int i;

	for (i = 0; i < 10; i++) {
		snprintf(id, sizeof id, "e%d", i);
		ts_node(s, id, "ephemeral=true");
	}
	ts_svc(s, 1, "web", SCHED_HA, 10, NULL);
	ts_round1(s, T0, 1);
	for (i = 0; i < 6; i++) {
		snprintf(id, sizeof id, "e%d", i);
		ts_offline(s, id, "ephemeral=true", T0 + i * 1000);
	}
	ts_round(s, T0 + 3600000, 1, &p);
	CHECK_INT(sched_plan_nactions(&p), 0);
	CHECK(p.stand_down);
	CHECK_INT(ts_steps(&p, SCHED_STEP_NOTE, 0, NULL), 1);
	CHECK_HAS(ts_reason(&p, SCHED_STEP_NOTE),
	    "stand down: 6 of 10 nodes went offline within 5s");
	sched_plan_clear(&p);
	/* Five spread over time: no stand-down, they are reaped. */
	s = (sched_free(s), sched_new());
	for (i = 0; i < 10; i++) {
		snprintf(id, sizeof id, "e%d", i);
		ts_node(s, id, "ephemeral=true");
	}
	for (i = 0; i < 6; i++) {
		snprintf(id, sizeof id, "e%d", i);
		ts_offline(s, id, "ephemeral=true", T0 + i * 60000);
	}
	ts_round(s, T0 + 3600000, 1, &p);
	CHECK(!p.stand_down);
	CHECK_INT(ts_steps(&p, SCHED_STEP_REMOVE_NODE, 0, NULL), 6);
	sched_plan_clear(&p);
	sched_free(s);
}

/* A joined node attracts ha moves after settle, start-before-stop. */
static void
test_rebalance_onto_new_node(void)
{
	struct sched *s = sched_new();
	struct sched_plan p;
	int64_t t = T0;

	ts_node(s, "n1", "");
	ts_node(s, "n2", "");
	ts_node(s, "n3", "");
	ts_svc(s, 1, "web", SCHED_HA, 6, NULL);
	ts_round1(s, t, 1);
	ts_all_running(s);
	ts_node_full(s, "n4", "", 64, 256 * GIB, 1, t + 1000, 0, 0);
	CHECK_INT(ts_round1(s, t + 2000, 1), 0);	/* settling */
	ts_round(s, t + 11000, 1, &p);
	CHECK_INT(sched_plan_nactions(&p), 1);
	CHECK_INT(ts_steps(&p, SCHED_STEP_MOVE_START, 1, "n4"), 1);
	CHECK_HAS(ts_reason(&p, SCHED_STEP_MOVE_START),
	    "rebalance: n4 has 0 of web");
	sched_plan_clear(&p);
	/* Nothing more while the move is in flight (budget 1 per service). */
	CHECK_INT(ts_round1(s, t + 12000, 1), 0);
	CHECK_INT(ts_count(s, 1, NULL), 7);
	ts_all_running(s);
	ts_round(s, t + 13000, 1, &p);
	CHECK_INT(ts_steps(&p, SCHED_STEP_REMOVE, 1, NULL), 1);
	CHECK(p.steps[0].completes_move);
	CHECK_HAS(p.steps[0].reason, "done");
	/* 2/2/1/1 is as even as 6 over 4 gets: no further move. */
	CHECK_INT(sched_plan_nactions(&p), 1);
	sched_plan_clear(&p);
	CHECK_INT(ts_count(s, 1, "n4"), 1);
	CHECK_INT(ts_count(s, 1, NULL), 6);
	CHECK_INT(ts_round1(s, t + 15000, 1), 0);
	sched_free(s);
}

/* Rebalance also evens out azs, and respects the round budget. */
static void
test_rebalance_budget(void)
{
	struct sched *s = sched_new();
	struct sched_settings set;
	struct sched_plan p;
	int i;

	sched_settings_default(&set);
	set.max_moves_per_round = 3;
	sched_settings_set(s, &set);
	ts_node(s, "n1", "az=a");
	for (i = 1; i <= 8; i++)
		ts_svc(s, i, i % 2 ? "odd" : "even", SCHED_HA, 4, NULL);
	ts_round1(s, T0, 1);
	ts_all_running(s);
	ts_node(s, "n2", "az=b");
	ts_round(s, T0 + 20000, 1, &p);
	CHECK_INT(ts_steps(&p, SCHED_STEP_MOVE_START, 0, NULL), 3);
	CHECK_INT(p.nmoves, 3);
	sched_plan_clear(&p);
	sched_free(s);
}

/* min_health: no move that could leave fewer running than required. */
static void
test_min_health_blocks_moves(void)
{
	struct sched *s = sched_new();
	struct ts_svc web = { .id = 1, .name = "web", .strategy = SCHED_HA,
	    .instances = 4, .min_health = 1.0 };

	ts_node(s, "n1", "");
	ts_svc_put(s, &web);
	ts_round1(s, T0, 1);
	ts_all_running(s);
	ts_node(s, "n2", "");
	CHECK_INT(ts_round1(s, T0 + 20000, 1), 0);
	web.min_health = 0.75;
	ts_svc_put(s, &web);
	CHECK_INT(ts_round1(s, T0 + 21000, 1), 1);
	/* Pending instances are not moved either. */
	s = (sched_free(s), sched_new());
	web.min_health = 0;
	ts_node(s, "n1", "");
	ts_svc_put(s, &web);
	ts_round1(s, T0, 1);
	ts_node(s, "n2", "");
	CHECK_INT(ts_round1(s, T0 + 20000, 1), 0);
	sched_free(s);
}

/* A failed move target is removed and the original kept. */
static void
test_move_target_failure_aborts(void)
{
	struct sched *s = sched_new();
	struct sched_plan p;

	ts_node(s, "n1", "");
	ts_svc(s, 1, "web", SCHED_HA, 2, NULL);
	ts_round1(s, T0, 1);
	ts_all_running(s);
	ts_node(s, "n2", "");
	CHECK_INT(ts_round1(s, T0 + 20000, 1), 1);
	ts_state(s, 1, 2, "n2", SCHED_ERROR);
	ts_round(s, T0 + 21000, 1, &p);
	CHECK_INT(ts_steps(&p, SCHED_STEP_REMOVE, 1, "n2"), 1);
	CHECK(p.steps[0].aborts_move);
	CHECK_HAS(p.steps[0].reason, "failed (error)");
	sched_plan_clear(&p);
	CHECK_INT(ts_count(s, 1, "n1"), 2);
	CHECK_INT(ts_count(s, 1, "n2"), 0);
	sched_free(s);
}

/* A moved instance rests for move_cooldown_ms; moves never flap back. */
static void
test_cooldown_and_no_flap(void)
{
	struct sched *s = sched_new();
	struct sched_plan p;
	int r, moves = 0;

	ts_node(s, "n1", "");
	ts_svc(s, 1, "web", SCHED_HA, 3, NULL);
	ts_round1(s, T0, 1);
	ts_all_running(s);
	ts_node(s, "n2", "");
	/* Only #3 is movable now that #1/#2 moved "just now". */
	ts_inst(s, 1, 3, "n1", SCHED_RUNNING, T0 + 19000);
	ts_round(s, T0 + 20000, 1, &p);
	CHECK_INT(ts_steps(&p, SCHED_STEP_MOVE_START, 1, NULL), 1);
	CHECK_INT(p.steps[0].instance_no, 2);
	sched_plan_clear(&p);
	for (r = 0; r < 10; r++) {
		ts_all_running(s);
		ts_round(s, T0 + 21000 + r * 1000000, 1, &p);
		moves += ts_steps(&p, SCHED_STEP_MOVE_START, 0, NULL);
		sched_plan_clear(&p);
	}
	CHECK_INT(moves, 0);
	CHECK_INT(ts_count(s, 1, "n1"), 2);
	CHECK_INT(ts_count(s, 1, "n2"), 1);
	sched_free(s);
}

/* Load: off a hot node onto an idle one, never to a busier spread. */
static void
test_load_moves(void)
{
	struct sched *s = sched_new();
	struct sched_plan p;

	ts_node_full(s, "n1", "", 8, 16 * GIB, 1, 0, 0, 10);
	ts_node_full(s, "n2", "", 8, 16 * GIB, 1, 0, 0, 10);
	ts_svc(s, 1, "web", SCHED_HA, 2, NULL);
	ts_svc(s, 2, "api", SCHED_HA, 1, "node==n1");
	ts_round1(s, T0, 1);
	ts_svc(s, 2, "api", SCHED_HA, 1, NULL);
	ts_round1(s, T0, 1);
	ts_all_running(s);
	ts_node_full(s, "n3", "", 8, 16 * GIB, 1, 0, 0, 5);
	sched_node_load(s, "n1", 95, 0);
	ts_round(s, T0 + 1000, 1, &p);
	/* web 1/1/0 would stay even; api 1/0/0 likewise: both may go. */
	CHECK_INT(ts_steps(&p, SCHED_STEP_MOVE_START, 0, "n3"), 1);
	CHECK_HAS(ts_reason(&p, SCHED_STEP_MOVE_START), "load: n1 cpu 95%");
	sched_plan_clear(&p);
	/* No idle node: nothing moves. */
	sched_node_load(s, "n3", 50, 0);
	sched_node_load(s, "n2", 50, 0);
	ts_all_running(s);
	ts_round(s, T0 + 2000, 1, &p);
	CHECK_INT(ts_steps(&p, SCHED_STEP_MOVE_START, 0, NULL), 0);
	sched_plan_clear(&p);
	sched_free(s);
}

/* A node that stops matching a stateless service's rules is left. */
static void
test_misfit_moves_start_before_stop(void)
{
	struct sched *s = sched_new();
	struct sched_plan p;

	ts_node(s, "n1", "disk=ssd");
	ts_node(s, "n2", "disk=ssd");
	ts_svc(s, 1, "web", SCHED_HA, 2, "label==disk=ssd");
	ts_round1(s, T0, 1);
	ts_node(s, "n1", "disk=hdd");
	ts_round(s, T0 + 1, 1, &p);
	CHECK_INT(ts_steps(&p, SCHED_STEP_MOVE_START, 1, "n2"), 1);
	CHECK_HAS(ts_reason(&p, SCHED_STEP_MOVE_START), "no longer passes");
	sched_plan_clear(&p);
	ts_all_running(s);
	ts_round(s, T0 + 2, 1, &p);
	CHECK_INT(ts_steps(&p, SCHED_STEP_REMOVE, 1, "n1"), 1);
	sched_plan_clear(&p);
	CHECK_INT(ts_count(s, 1, "n2"), 2);
	CHECK_INT(ts_round1(s, T0 + 3, 1), 0);
	sched_free(s);
}

/* The original of a move vanishes: the replacement simply takes over. */
static void
test_move_original_lost(void)
{
	struct sched *s = sched_new();
	struct sched_instance_info *l;
	size_t n, i;

	ts_node(s, "n1", "");
	ts_node(s, "n3", "");
	ts_svc(s, 1, "web", SCHED_HA, 4, "node==n1");
	ts_round1(s, T0, 1);
	ts_svc(s, 1, "web", SCHED_HA, 4, NULL);
	ts_all_running(s);
	CHECK_INT(ts_round1(s, T0 + 20000, 1), 1);	/* n1 -> n3 starts */
	CHECK(sched_node_remove(s, "n1") == 0);
	n = sched_instance_list(s, 1, &l);
	CHECK_INT(n, 1);
	for (i = 0; i < n; i++)
		CHECK_INT(l[i].move_target, 0);
	free(l);
	ts_round1(s, T0 + 21000, 1);
	CHECK_INT(ts_count(s, 1, "n3"), 4);
	CHECK_INT(ts_round1(s, T0 + 22000, 1), 0);
	sched_free(s);
}

/* Dry runs: the plan is flagged; balance_dry_run turns moves and node
 * removals into notes. Planning never changes the state. */
static void
test_dry_run(void)
{
	struct sched *s = sched_new();
	struct sched_opts o = { .dry_run = 1 };
	struct sched_plan p, q;

	ts_node(s, "n1", "");
	ts_node(s, "n2", "");
	ts_node(s, "e1", "ephemeral");
	ts_svc(s, 1, "web", SCHED_HA, 2, "node==n1");
	ts_round1(s, T0, 1);
	ts_svc(s, 1, "web", SCHED_HA, 3, NULL);
	ts_all_running(s);
	ts_offline(s, "e1", "ephemeral", T0);
	sched_plan(s, T0 + 1300000, 5, &o, &p);
	CHECK(p.dry_run);
	sched_plan(s, T0 + 1300000, 5, &o, &q);
	CHECK_INT(p.nsteps, q.nsteps);
	CHECK_INT(ts_count(s, 1, NULL), 2);
	CHECK_INT(ts_steps(&p, SCHED_STEP_REMOVE_NODE, 0, NULL), 1);
	sched_plan_clear(&p);
	sched_plan_clear(&q);
	o.dry_run = 0;
	o.balance_dry_run = 1;
	sched_plan(s, T0 + 1300000, 5, &o, &p);
	CHECK_INT(ts_steps(&p, SCHED_STEP_REMOVE_NODE, 0, NULL), 0);
	CHECK_INT(ts_steps(&p, SCHED_STEP_PLACE, 1, NULL), 1);
	CHECK_INT(ts_steps(&p, SCHED_STEP_NOTE, 0, NULL), 1);
	CHECK_HAS(ts_reason(&p, SCHED_STEP_NOTE), "dry-run: would remove");
	sched_plan_clear(&p);
	sched_free(s);
}

/* Apply skips steps whose node went away between plan and apply. */
static void
test_apply_skips_stale_steps(void)
{
	struct sched *s = sched_new();
	struct sched_plan p;
	char *cause = NULL;

	ts_node(s, "n1", "");
	ts_svc(s, 1, "web", SCHED_HA, 1, NULL);
	sched_plan(s, T0, 1, NULL, &p);
	sched_node_remove(s, "n1");
	CHECK(sched_apply(s, &p, &cause) == -1);
	CHECK_HAS(cause, "node is gone");
	free(cause);
	sched_plan_clear(&p);
	CHECK_INT(ts_count(s, 0, NULL), 0);
	ts_node(s, "n2", "");
	CHECK_INT(ts_round1(s, T0 + 1, 1), 1);
	sched_free(s);
	sched_free(NULL);
}

int
main(void)
{
	TEST_RUN(test_daemon_every_eligible_node_and_join);
	TEST_RUN(test_daemon_instances_per_node_and_numbers);
	TEST_RUN(test_daemon_not_moved);
	TEST_RUN(test_ha_spreads_by_az_then_node);
	TEST_RUN(test_ha_fewest_per_node_then_least_loaded);
	TEST_RUN(test_random_seeded);
	TEST_RUN(test_scale_up_and_down);
	TEST_RUN(test_replace_after_grace);
	TEST_RUN(test_stateful_pinned);
	TEST_RUN(test_ephemeral_removal);
	TEST_RUN(test_stand_down);
	TEST_RUN(test_rebalance_onto_new_node);
	TEST_RUN(test_rebalance_budget);
	TEST_RUN(test_min_health_blocks_moves);
	TEST_RUN(test_move_target_failure_aborts);
	TEST_RUN(test_cooldown_and_no_flap);
	TEST_RUN(test_load_moves);
	TEST_RUN(test_misfit_moves_start_before_stop);
	TEST_RUN(test_move_original_lost);
	TEST_RUN(test_dry_run);
	TEST_RUN(test_apply_skips_stale_steps);
	return TEST_DONE();
}
