/*
 * test_sched_check.c - sched_check() can fail: each test breaks one
 * invariant of a healthy state on purpose and expects the cause to name
 * it, then mends it and expects the state to pass again.
 *
 * The one unit test that includes scheduler/sched_int.h: corrupting the
 * private structures is its point. The property and unit tests show that
 * real states pass (test_sched_props.c checks after every round); this
 * shows that the checker would notice if they did not.
 */
#include "tests/unit/test.h"
#include "tests/unit/test_sched.h"

#include "scheduler/sched_int.h"

/*
 * Four nodes (two azs, one ephemeral, one offline), an ha service with
 * cpu and memory, a daemon binding a host port, a stateful service kept
 * off ephemeral nodes; placed, running, and one move in flight.
 */
static struct sched *
healthy(void)
{
	struct sched *s = sched_new();
	struct sched_instance_info ii;
	struct ts_svc web = { .id = 1, .name = "web", .strategy = SCHED_HA,
	    .instances = 4, .cpus = 0.5, .mem = 256 * MIB };
	struct ts_svc agent = { .id = 2, .name = "agent",
	    .strategy = SCHED_DAEMON, .instances = 1, .port = 9100 };
	struct ts_svc db = { .id = 3, .name = "db", .strategy = SCHED_HA,
	    .instances = 2, .stateful = 1,
	    .affinity = "label!=ephemeral=true" };
	struct sched_instance_info *l;
	struct sched_plan p;
	size_t nl, k;
	const char *on = NULL;

	ts_node(s, "n1", "az=a");
	ts_node(s, "n2", "az=b");
	ts_node(s, "n3", "az=a,ephemeral=true");
	ts_offline(s, "n4", "az=b", T0 - 1000);
	ts_svc_put(s, &web);
	ts_svc_put(s, &agent);
	ts_svc_put(s, &db);
	ts_round(s, T0, 1, &p);
	sched_plan_clear(&p);
	ts_all_running(s);
	/* A replacement of web#1 starting on another node: a move in flight. */
	nl = sched_instance_list(s, 1, &l);
	for (k = 0; k < nl; k++) {
		if (l[k].instance_no == 1)
			on = strcmp(l[k].node_id, "n1") == 0 ? "n2" : "n1";
	}
	free(l);
	CHECK(on != NULL);
	memset(&ii, 0, sizeof ii);
	ii.service_id = 1;
	ii.instance_no = 1;
	ii.node_id = on;
	ii.state = SCHED_PENDING;
	ii.move_target = 1;
	CHECK(sched_instance_upsert(s, &ii, NULL) == 0);
	CHECK(ts_count(s, 1, NULL) == 5);
	ts_round(s, T0 + 1000, 2, &p);
	sched_plan_clear(&p);
	return s;
}

static struct sched_node *
node(struct sched *s, const char *id)
{
	return sched_node_find(s, id);
}

static struct sched_service *
svc(struct sched *s, int64_t id)
{
	return sched_service_find(s, id);
}

/* sched_check fails naming what; then passes once mended. */
#define BROKEN(s, what) do {						\
	char *why_ = NULL;						\
	CHECK(sched_check((s), &why_) == -1);				\
	CHECK_HAS(why_, (what));					\
	free(why_);							\
	CHECK(sched_check((s), NULL) == -1);				\
} while (0)
#define MENDED(s) do {							\
	char *why_ = NULL;						\
	CHECK(sched_check((s), &why_) == 0);				\
	CHECK(why_ == NULL);						\
	free(why_);							\
} while (0)

static void
test_check_healthy_state_passes(void)
{
	struct sched *s = healthy();

	MENDED(s);
	CHECK(svc(s, 1)->nmoving == 1);
	CHECK(svc(s, 1)->elig_valid);
	CHECK(node(s, "n1")->used_mcpus > 0);
	CHECK(sched_check(NULL, NULL) == -1);
	sched_free(s);
	s = sched_new();
	MENDED(s);		/* an empty grid is whole too */
	sched_free(s);
}

static void
test_check_names_resource_sums(void)
{
	struct sched *s = healthy();
	struct sched_node *n = node(s, "n1");

	n->used_mcpus += 250;
	BROKEN(s, "node->used_mcpus is the sum over node->inst");
	n->used_mcpus -= 250;
	n->used_mem -= 1;
	BROKEN(s, "node->used_mem is the sum over node->inst");
	n->used_mem += 1;
	CHECK(n->nports == 1);
	n->ports[0].count++;
	BROKEN(s, "node->ports is the sum over node->inst");
	n->ports[0].count--;
	n->ports[0].udp = 1;
	BROKEN(s, "node->ports is the sum over node->inst");
	n->ports[0].udp = 0;
	MENDED(s);
	sched_free(s);
}

static void
test_check_names_nmoving(void)
{
	struct sched *s = healthy();

	svc(s, 1)->nmoving = 0;
	BROKEN(s, "svc->nmoving counts the records with move_target");
	svc(s, 1)->nmoving = 1;
	MENDED(s);
	sched_free(s);
}

static void
test_check_names_inst_hash(void)
{
	struct sched *s = healthy();
	struct sched_inst *i = svc(s, 3)->inst[0];

	/* A record missing from the hash (and the count that says so). */
	sched_htab_del(&s->inst_hash, &i->hent);
	BROKEN(s, "every real record is in inst_hash exactly once");
	sched_htab_add(&s->inst_hash, &i->hent, i->hent.h);
	MENDED(s);
	/* A record under a key that is not its own. */
	sched_htab_del(&s->inst_hash, &i->hent);
	sched_htab_add(&s->inst_hash, &i->hent,
	    sched_hash_inst(3, i->no + 1, i->node->slot));
	BROKEN(s, "inst_hash under (service, number, node slot)");
	sched_htab_del(&s->inst_hash, &i->hent);
	sched_htab_add(&s->inst_hash, &i->hent,
	    sched_hash_inst(3, i->no, i->node->slot));
	MENDED(s);
	/* The count of real records. */
	s->ninst++;
	BROKEN(s, "s->ninst counts the real records");
	s->ninst--;
	MENDED(s);
	sched_free(s);
}

static void
test_check_names_hash_tables(void)
{
	struct sched *s = healthy();
	struct sched_node *n = node(s, "n2");

	s->svc_hash.n++;
	BROKEN(s, "svc_hash: n counts its entries");
	s->svc_hash.n--;
	/* An entry in a bucket its hash does not name. */
	n->hent.h ^= 1;
	BROKEN(s, "node_hash: an entry sits in the bucket of its hash");
	n->hent.h ^= 1;
	s->node_hash.nb--;
	BROKEN(s, "node_hash: buckets are a power of two");
	s->node_hash.nb++;
	MENDED(s);
	sched_free(s);
}

static void
test_check_names_owner_arrays(void)
{
	struct sched *s = healthy();
	struct sched_service *v = svc(s, 1);
	struct sched_inst *t;

	/* Swap two records without telling them their new indexes. */
	CHECK(v->ninst >= 2);
	t = v->inst[0];
	v->inst[0] = v->inst[1];
	v->inst[1] = t;
	BROKEN(s, "a record knows its index in svc->inst");
	v->inst[1] = v->inst[0];
	v->inst[0] = t;
	MENDED(s);
	t->node_idx += 100;
	BROKEN(s, "a record knows its index in node->inst");
	t->node_idx -= 100;
	MENDED(s);
	sched_free(s);
}

static void
test_check_names_lists_and_order(void)
{
	struct sched *s = healthy();
	struct sched_service *t;

	/* The daemon settled last round: off the dirty list. */
	CHECK(!svc(s, 2)->dirty);
	svc(s, 2)->dirty = 1;
	BROKEN(s, "svc->dirty is 1 iff the service is in s->dirty");
	svc(s, 2)->dirty = 0;
	MENDED(s);
	t = s->svcs[0];
	s->svcs[0] = s->svcs[1];
	s->svcs[1] = t;
	BROKEN(s, "svcs is sorted by id");
	s->svcs[1] = s->svcs[0];
	s->svcs[0] = t;
	MENDED(s);
	/* A removed node leaves a free slot behind. */
	CHECK(sched_node_remove(s, "n4") == 0);
	MENDED(s);
	s->nfree--;
	BROKEN(s, "free_slots holds each empty slot once");
	s->nfree++;
	MENDED(s);
	sched_free(s);
}

static void
test_check_names_node_fields(void)
{
	struct sched *s = healthy();
	struct sched_node *n = node(s, "n2");
	int az = n->az;

	CHECK_STR(s->azs[az], "b");
	n->az = node(s, "n1")->az;
	BROKEN(s, "node->az is its az label's index in azs");
	n->az = s->naz;
	BROKEN(s, "node->az indexes azs");
	n->az = az;
	node(s, "n3")->ephemeral = 0;
	BROKEN(s, "node->ephemeral is 1 iff it has a label with key ephemeral");
	node(s, "n3")->ephemeral = 1;
	n->offline_since_ms = T0;
	BROKEN(s, "offline_since_ms is 0 while online");
	n->offline_since_ms = 0;
	MENDED(s);
	sched_free(s);
}

static void
test_check_names_eligible_sets(void)
{
	struct sched *s = healthy();
	struct sched_service *v = svc(s, 3);
	uint32_t slot = node(s, "n3")->slot;

	/* db is stateful: the ephemeral n3 is not in its set. */
	CHECK(v->elig_valid && !sched_elig_has(v, slot));
	v->elig[slot / 64] ^= 1ULL << (slot % 64);
	BROKEN(s, "elig holds exactly the nodes passing the static filters");
	v->elig[slot / 64] ^= 1ULL << (slot % 64);
	v->nelig++;
	BROKEN(s, "nelig counts the bits in elig");
	v->nelig--;
	v->elig_az[0]++;
	BROKEN(s, "elig_az counts eligible nodes per az");
	v->elig_az[0]--;
	MENDED(s);
	sched_free(s);
}

static void
test_check_names_round_flags(void)
{
	struct sched *s = healthy();
	struct sched_inst *i = svc(s, 1)->inst[0];

	i->doomed = 1;
	BROKEN(s, "round flags are undone when sched_plan returns");
	i->doomed = 0;
	node(s, "n1")->doomed = 1;
	BROKEN(s, "round flags are undone when sched_plan returns");
	node(s, "n1")->doomed = 0;
	svc(s, 2)->unplaced = 1;
	BROKEN(s, "round flags are undone when sched_plan returns");
	svc(s, 2)->unplaced = 0;
	s->cnt[node(s, "n2")->slot] = 1;
	BROKEN(s, "s->cnt is all zero outside a service's count");
	s->cnt[node(s, "n2")->slot] = 0;
	MENDED(s);
	sched_free(s);
}

int
main(void)
{
	TEST_RUN(test_check_healthy_state_passes);
	TEST_RUN(test_check_names_resource_sums);
	TEST_RUN(test_check_names_nmoving);
	TEST_RUN(test_check_names_inst_hash);
	TEST_RUN(test_check_names_hash_tables);
	TEST_RUN(test_check_names_owner_arrays);
	TEST_RUN(test_check_names_lists_and_order);
	TEST_RUN(test_check_names_node_fields);
	TEST_RUN(test_check_names_eligible_sets);
	TEST_RUN(test_check_names_round_flags);
	return TEST_DONE();
}
