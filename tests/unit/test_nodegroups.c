/*
 * test_nodegroups.c - node groups and machines in the store
 * (master/store_nodegroup.c, the join in store_session.c), on a real
 * SQLite file (tests/lib/master_fixture.h): a machine's join token works
 * once and only while it is launching, the join marks the machine joined
 * with its node in the join's transaction, guarded state changes, the
 * group's settings and backoff marks kept apart, and a group with
 * machines cannot be removed.
 */
#include "tests/unit/test.h"
#include "tests/lib/master_fixture.h"

#include "master/token.h"

#include "common/util.h"

#include <stdlib.h>
#include <string.h>

static void
ng_make(struct master_fixture *f, struct nodegroup *g, const char *name)
{
	memset(g, 0, sizeof *g);
	g->grid_id = f->grid_id;
	snprintf(g->name, sizeof g->name, "%s", name);
	snprintf(g->provider, sizeof g->provider, "process");
	snprintf(g->labels, sizeof g->labels, "[\"az=a\"]");
	nodegroup_settings_default(&g->settings);
	CHECK_INT(store_nodegroup_create(f->st, g), 0);
}

static int
join(struct master_fixture *f, const char *id, int64_t machine,
    const unsigned char *hash)
{
	struct node_join j;
	char got[64];

	memset(&j, 0, sizeof j);
	j.id = id;
	j.grid_id = f->grid_id;
	j.name = "burst-1";
	j.labels = "[\"ephemeral=true\",\"berth.group=burst\"]";
	j.agent_version = "test";
	j.peer = "127.0.0.1";
	j.machine_id = machine;
	j.join_hash = hash;
	return store_node_join(f->st, &j, got);
}

static void
test_join_token_single_use(void)
{
	struct master_fixture *f = master_fixture_new();
	struct nodegroup g;
	struct machine mc, *v;
	struct machine_claim cl;
	unsigned char hash[TOKEN_HASH_LEN], other[TOKEN_HASH_LEN];
	char token[TOKEN_LEN + 1];
	size_t n;

	ng_make(f, &g, "burst");
	CHECK_INT(store_machine_add(f->st, &g, util_now_ms(), &mc), 0);
	CHECK_STR(mc.name, "burst-1");
	token_new(token);
	token_hash(token, hash);
	/* Requested: no token yet, nothing to claim. */
	CHECK_INT(store_machine_by_token(f->st, hash, &cl), 0);
	CHECK_INT(store_machine_launching(f->st, mc.id, hash, "/tmp/x",
	    util_now_ms()), 1);
	/* Launching only once. */
	CHECK_INT(store_machine_launching(f->st, mc.id, hash, "/tmp/x",
	    util_now_ms()), 0);
	CHECK_INT(store_machine_by_token(f->st, hash, &cl), 1);
	CHECK_INT(cl.machine_id, mc.id);
	CHECK_STR(cl.group, "burst");
	CHECK_STR(cl.labels, "[\"az=a\"]");
	/* Another token names no machine. */
	token_new(token);
	token_hash(token, other);
	CHECK_INT(store_machine_by_token(f->st, other, &cl), 0);
	/* The join spends it: joined, with its node. */
	CHECK_INT(join(f, "00000000000000000000000000000001", mc.id, hash), 0);
	CHECK_INT(store_machine_list(f->st, f->grid_id, g.id, &v, &n), 0);
	CHECK_INT((int)n, 1);
	CHECK_STR(v[0].state, "joined");
	CHECK_STR(v[0].node_id, "00000000000000000000000000000001");
	CHECK(v[0].node_exists && v[0].node_online && !v[0].node_busy);
	free(v);
	CHECK_INT(store_machine_by_token(f->st, hash, &cl), 0);
	/* A second join with the same token (another node id): refused,
	 * and nothing written - no node record for it. */
	CHECK_INT(join(f, "00000000000000000000000000000002", mc.id, hash), 1);
	CHECK_INT(store_node_grid(f->st, "00000000000000000000000000000002",
	    &g.grid_id), 0);
	CHECK_INT(store_machine_by_node(f->st,
	    "00000000000000000000000000000001", &cl), 1);
	CHECK_STR(cl.name, "burst-1");
	master_fixture_free(f);
}

static void
test_states_and_marks(void)
{
	struct master_fixture *f = master_fixture_new();
	struct nodegroup g, got;
	struct machine mc;
	int size = -1, all = -1;

	ng_make(f, &g, "burst");
	CHECK_INT(store_machine_add(f->st, &g, util_now_ms(), &mc), 0);
	/* Guarded: from the state it is in only. */
	CHECK_INT(store_machine_state(f->st, mc.id, "joined", "draining",
	    "x", 1), 0);
	CHECK_INT(store_machine_state(f->st, mc.id, "requested",
	    "terminating", "x", 1), 1);
	CHECK_INT(store_nodegroup_size(f->st, g.id, &size, &all), 0);
	CHECK_INT(size, 0);
	CHECK_INT(all, 1);
	CHECK_INT(store_nodegroup_delete(f->st, g.id), 1);
	/* The backoff marks are not the backoff setting. */
	g.backoff_s = 600;
	g.backoff_until = 1234;
	CHECK_INT(store_nodegroup_marks(f->st, &g), 0);
	CHECK_INT(store_nodegroup_get(f->st, f->grid_id, "burst", &got), 1);
	CHECK_INT(got.backoff_s, 600);
	CHECK_INT(got.settings.backoff_s, 300);
	CHECK_INT(got.settings.provision_timeout_s, 900);
	CHECK_INT(store_machine_delete(f->st, mc.id), 0);
	CHECK_INT(store_nodegroup_delete(f->st, g.id), 0);
	CHECK_INT(store_nodegroup_get(f->st, f->grid_id, "burst", &got), 0);
	master_fixture_free(f);
}

int
main(void)
{
	TEST_RUN(test_join_token_single_use);
	TEST_RUN(test_states_and_marks);
	return TEST_DONE();
}
