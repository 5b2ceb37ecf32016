/*
 * test_hub_scale.c - unit tests of what the hub batches at scale, on a
 * real SQLite store without threads or sockets (master_fixture.h): desired
 * sets built as text for many nodes in one call (desired_texts()), node
 * tokens looked up for many sessions in one query, joins recorded in one
 * transaction that writes nothing for a node already online as it is,
 * the part of a service with secrets made again at every call (a changed
 * secret does not change the spec), and the retry-after reason of close
 * code 4012 (common/proto.c), which is not 4011 (a node id in use).
 */
#include "tests/unit/test.h"
#include "tests/lib/master_fixture.h"

#include "master/hub_desired.h"
#include "master/token.h"
#include "master/vault.h"

#include "common/proto.h"
#include "common/util.h"
#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>

#define N2	"22222222222222222222222222222222"
#define N3	"33333333333333333333333333333333"
#define N4	"44444444444444444444444444444444"
#define N5	"55555555555555555555555555555555"
#define N6	"66666666666666666666666666666666"

static const unsigned char key[TOKEN_KEY_LEN];	/* the vault's, zero */

static int
count_rows(struct master_fixture *f, const char *sql)
{
	struct store_stmt *s;
	int n = -1;

	if ((s = store_prepare(f->st, sql)) == NULL)
		return -1;
	if (stmt_step(s) == STORE_ROW)
		n = stmt_col_int(s, 0);
	stmt_free(s);
	return n;
}

/* The seeded web instances, as the agent must get them. */
static void
test_desired_text_is_the_set(void)
{
	struct master_fixture *f = master_fixture_new();
	struct desired_cache *c = desired_cache_new();
	const char *ids[4] = { MASTER_FIXTURE_NODE_ID, N2,
	    MASTER_FIXTURE_NODE_ID, N3 };
	char *texts[4];
	json_t *set, *arr, *c0, *v;
	size_t i;

	master_fixture_seed(f);
	master_fixture_node(f, N2, "n2", "[]");
	CHECK_INT(desired_texts(f->st, key, c, ids, 4, texts), 0);
	/* A node without instances, or unknown: an empty set. */
	CHECK_STR(texts[1], "{\"containers\":[],\"jobs\":[],\"jobs_done\":[]}");
	CHECK_STR(texts[3], texts[1]);
	/* The same node twice in one batch: the same set. */
	CHECK_STR(texts[0], texts[2]);
	set = json_loads(texts[0], 0, NULL);
	CHECK(json_is_array(json_object_get(set, "jobs")));
	CHECK(json_is_array(json_object_get(set, "jobs_done")));
	arr = json_object_get(set, "containers");
	CHECK(json_is_array(arr));
	CHECK_INT(json_array_size(arr), 2);
	c0 = json_array_get(arr, 0);
	CHECK_STR(json_string_value(json_object_get(c0, "name")),
	    "st.web-1.01234567");
	CHECK_STR(json_string_value(json_object_get(c0, "grid")), "g");
	CHECK_STR(json_string_value(json_object_get(c0, "stack")), "st");
	CHECK_STR(json_string_value(json_object_get(c0, "service")), "web");
	CHECK_INT(json_integer_value(json_object_get(c0, "service_id")),
	    f->web_id);
	CHECK_INT(json_integer_value(json_object_get(c0, "instance")), 1);
	CHECK_INT(json_integer_value(json_object_get(c0, "rev")), 1);
	CHECK(json_is_string(json_object_get(c0, "image")));
	CHECK(json_is_false(json_object_get(c0, "stopped")));
	/* Every key of the protocol's container, null when unset. */
	static const char *keys[] = { "command", "entrypoint", "env",
	    "cpu_shares", "cpus", "mem_limit", "memswap_limit", "shm_size",
	    "ports", "volumes", "privileged", "cap_add", "cap_drop",
	    "network_mode", "pid", "user", "read_only", "stop_signal",
	    "stop_grace_period", "wait_for_port" };
	for (i = 0; i < sizeof keys / sizeof keys[0]; i++)
		CHECK(json_object_get(c0, keys[i]) != NULL);
	CHECK_INT(json_integer_value(json_object_get(json_array_get(arr, 1),
	    "instance")), 2);
	/* desired_build() (tests, fuzzers) agrees. */
	v = desired_build(f->st, key, MASTER_FIXTURE_NODE_ID);
	CHECK(json_equal(v, set));
	json_decref(v);
	json_decref(set);
	for (i = 0; i < 4; i++)
		free(texts[i]);
	desired_cache_free(c);
	master_fixture_free(f);
}

/* The service's part is cached, and made again when its spec changes. */
static void
test_desired_cache_follows_spec(void)
{
	struct master_fixture *f = master_fixture_new();
	struct desired_cache *c = desired_cache_new();
	const char *id = MASTER_FIXTURE_NODE_ID;
	char *a, *b;
	struct store_stmt *s;

	master_fixture_seed(f);
	CHECK_INT(desired_texts(f->st, key, c, &id, 1, &a), 0);
	CHECK(strstr(a, "\"image\":\"img-2\"") == NULL);
	CHECK((s = store_prepare(f->st, "UPDATE services SET spec ="
	    " json_set(spec, '$.image', 'img-2') WHERE id = ?1")) != NULL);
	stmt_bind_int64(s, 1, f->web_id);
	CHECK(stmt_step(s) == STORE_DONE);
	stmt_free(s);
	CHECK_INT(desired_texts(f->st, key, c, &id, 1, &b), 0);
	CHECK_HAS(b, "\"image\":\"img-2\"");
	CHECK(strcmp(a, b) != 0);
	free(a);
	free(b);
	desired_cache_free(c);
	master_fixture_free(f);
}

static void
put_secret(struct master_fixture *f, const char *value)
{
	unsigned char *sealed;
	size_t len;

	CHECK_INT(vault_seal(key, f->grid_id, "db.pw", value, strlen(value),
	    &sealed, &len), 0);
	CHECK_INT(store_vault_put(f->st, f->grid_id, "db.pw", sealed, len,
	    VAULT_PUT_UPSERT, NULL), 0);
	free(sealed);
}

/*
 * A service with a secret: its value is in the containers' env, and a
 * changed value is in the next set although the spec stayed the same
 * (a cached part would keep the old one).
 */
static void
test_desired_secret_not_cached(void)
{
	struct master_fixture *f = master_fixture_new();
	struct desired_cache *c = desired_cache_new();
	const char *id = MASTER_FIXTURE_NODE_ID;
	char *a, *b;
	struct store_stmt *s;

	master_fixture_seed(f);
	CHECK((s = store_prepare(f->st, "UPDATE services SET spec ="
	    " json_set(spec, '$.secrets', json('[{\"secret\":\"db.pw\","
	    "\"name\":\"DB_PW\",\"type\":\"env\"}]')) WHERE id = ?1"))
	    != NULL);
	stmt_bind_int64(s, 1, f->web_id);
	CHECK(stmt_step(s) == STORE_DONE);
	stmt_free(s);
	put_secret(f, "first-value");
	CHECK_INT(desired_texts(f->st, key, c, &id, 1, &a), 0);
	CHECK_HAS(a, "DB_PW=first-value");
	put_secret(f, "second-value");
	CHECK_INT(desired_texts(f->st, key, c, &id, 1, &b), 0);
	CHECK_HAS(b, "DB_PW=second-value");
	CHECK(strstr(b, "first-value") == NULL);
	free(a);
	free(b);
	desired_cache_free(c);
	master_fixture_free(f);
}

/* More nodes than one query holds: every one gets its own set. */
static void
test_desired_many_nodes(void)
{
	struct master_fixture *f = master_fixture_new();
	struct desired_cache *c = desired_cache_new();
	enum { N = STORE_BATCH * 2 + 7 };
	char (*idv)[NODE_ID_LEN + 1] = xcalloc(N, sizeof *idv), name[32];
	const char **ids = xcalloc(N, sizeof *ids);
	char **texts = xcalloc(N, sizeof *texts);
	json_t *set, *arr;
	size_t i;

	master_fixture_seed(f);
	for (i = 0; i < N; i++) {
		snprintf(idv[i], sizeof idv[i], "%032zx", i + 0x100);
		snprintf(name, sizeof name, "m%zu", i);
		master_fixture_node(f, idv[i], name, "[]");
		if (i % 3 == 0)
			master_fixture_place(f, f->web_id, (int)i + 10,
			    idv[i], 1);
		ids[N - 1 - i] = idv[i];	/* not in id order */
	}
	CHECK_INT(desired_texts(f->st, key, c, ids, N, texts), 0);
	for (i = 0; i < N; i++) {
		size_t node = N - 1 - i;

		set = json_loads(texts[i], 0, NULL);
		arr = json_object_get(set, "containers");
		CHECK_INT(json_array_size(arr), node % 3 == 0 ? 1 : 0);
		if (node % 3 == 0)
			CHECK_INT(json_integer_value(json_object_get(
			    json_array_get(arr, 0), "instance")),
			    (long long)node + 10);
		json_decref(set);
		free(texts[i]);
	}
	free(texts);
	free(ids);
	free(idv);
	desired_cache_free(c);
	master_fixture_free(f);
}

/* Node tokens for many sessions in one call: found, unknown, by owner. */
static void
test_auth_batch(void)
{
	struct master_fixture *f = master_fixture_new();
	enum { N = STORE_BATCH + 10 };
	struct node_auth *v = xcalloc(N, sizeof *v);
	char tok[TOKEN_LEN + 1], got[64], id[NODE_ID_LEN + 1], name[32];
	unsigned char hash[TOKEN_HASH_LEN];
	struct node_join j;
	size_t i;

	for (i = 0; i < N; i++) {
		token_new(tok);
		token_hash(tok, hash);
		memcpy(v[i].hash, hash, sizeof hash);
		if (i % 2 == 1)
			continue;	/* a token nobody holds */
		snprintf(id, sizeof id, "%032zx", i + 1);
		snprintf(name, sizeof name, "a%zu", i);
		memset(&j, 0, sizeof j);
		j.id = id;
		j.grid_id = f->grid_id;
		j.name = name;
		j.labels = "[]";
		j.agent_version = "t";
		j.token_hash = hash;
		j.peer = "127.0.0.1";
		CHECK_INT(store_node_join(f->st, &j, got), 0);
	}
	CHECK_INT(store_node_auth_batch(f->st, v, N), 0);
	for (i = 0; i < N; i++) {
		CHECK_INT(v[i].found, i % 2 == 0);
		if (i % 2 == 0) {
			snprintf(id, sizeof id, "%032zx", i + 1);
			CHECK_STR(v[i].id, id);
			CHECK_INT(v[i].grid_id, f->grid_id);
		}
	}
	free(v);
	master_fixture_free(f);
}

/*
 * Joins in one transaction. A node online with the same name, labels and
 * version (a session taking over from its own older one) costs no write;
 * one that was offline, or changed, is written with its event.
 */
static void
test_join_batch_writes_only_changes(void)
{
	struct master_fixture *f = master_fixture_new();
	struct node_join j[3];
	char names[3][64];
	int events;
	size_t i;

	memset(j, 0, sizeof j);
	for (i = 0; i < 3; i++) {
		j[i].grid_id = f->grid_id;
		j[i].labels = "[\"az=a\"]";
		j[i].agent_version = "1.0";
		j[i].peer = "127.0.0.1";
	}
	j[0].id = MASTER_FIXTURE_NODE_ID;
	j[0].name = "n1";
	j[1].id = N2;
	j[1].name = "n2";
	j[2].id = N3;
	j[2].name = "n3";
	events = count_rows(f, "SELECT count(*) FROM events");
	CHECK_INT(store_node_join_batch(f->st, j, 3, names), 0);
	CHECK_STR(names[2], "n3");
	CHECK_INT(count_rows(f, "SELECT count(*) FROM nodes WHERE"
	    " status = 'online'"), 3);
	CHECK_INT(count_rows(f, "SELECT count(*) FROM events"), events + 3);
	events += 3;

	/* Again, as they are: nothing written. */
	CHECK_INT(store_node_join_batch(f->st, j, 3, names), 0);
	CHECK_INT(count_rows(f, "SELECT count(*) FROM events"), events);

	/* n2 went offline, n3 changed its labels: those two are written. */
	CHECK_INT(store_node_offline(f->st, N2, f->grid_id, "n2", "test"), 0);
	events = count_rows(f, "SELECT count(*) FROM events");
	j[2].labels = "[\"az=b\"]";
	CHECK_INT(store_node_join_batch(f->st, j, 3, names), 0);
	CHECK_INT(count_rows(f, "SELECT count(*) FROM events"), events + 2);
	CHECK_INT(count_rows(f, "SELECT count(*) FROM nodes WHERE"
	    " status = 'online'"), 3);
	CHECK_INT(count_rows(f, "SELECT count(*) FROM nodes WHERE id = '" N3
	    "' AND labels = '[\"az=b\"]'"), 1);

	/* One bad join fails the whole batch: nothing of it is written. */
	events = count_rows(f, "SELECT count(*) FROM events");
	CHECK_INT(store_node_offline(f->st, N2, f->grid_id, "n2", "test"), 0);
	events++;
	j[0].grid_id = 999;	/* no such grid: a foreign key fails */
	j[0].id = "44444444444444444444444444444444";
	CHECK_INT(store_node_join_batch(f->st, j, 3, names), -1);
	CHECK_INT(count_rows(f, "SELECT count(*) FROM events"), events);
	CHECK_INT(count_rows(f, "SELECT count(*) FROM nodes WHERE id = '" N2
	    "' AND status = 'offline'"), 1);
	master_fixture_free(f);
}

/* 4012's reason: "retry after N ms", clamped; anything else: none. */
static void
test_retry_after_reason(void)
{
	static const char ok[] = "master busy; retry after 2350 ms";
	char buf[96];
	long long d;
	unsigned r;

	CHECK_INT(proto_retry_after_ms(ok, strlen(ok)), 2350);
	CHECK_INT(proto_retry_after_ms("retry after 5 ms", 16),
	    PROTO_RETRY_AFTER_MIN_MS);
	CHECK_INT(proto_retry_after_ms("retry after 99999999 ms", 23),
	    PROTO_RETRY_AFTER_MAX_MS);
	CHECK_INT(proto_retry_after_ms("retry after ms", 14), -1);
	CHECK_INT(proto_retry_after_ms("retry after 12", 14), -1);
	CHECK_INT(proto_retry_after_ms("retry after 12 s", 16), -1);
	CHECK_INT(proto_retry_after_ms("busy", 4), -1);
	CHECK_INT(proto_retry_after_ms(NULL, 0), -1);
	/* Not terminated: only len bytes are read. */
	CHECK_INT(proto_retry_after_ms(ok, strlen(ok) - 3), -1);
	/* What the master writes, the agent reads. */
	snprintf(buf, sizeof buf, "x; " PROTO_RETRY_AFTER_FMT, 4321LL);
	CHECK_INT(proto_retry_after_ms(buf, strlen(buf)), 4321);
	CHECK_INT(PROTO_CLOSE_RETRY_LATER, 4012);
	CHECK_INT(proto_close_action(PROTO_CLOSE_RETRY_LATER),
	    PROTO_CLOSE_DO_RETRY_AFTER);
	/* 4011 is a node id in use: never a retry-later. */
	CHECK_INT(proto_close_action(4011), PROTO_CLOSE_DO_NEW_NODE);
	for (r = 0; r < 2000; r += 7) {
		d = proto_retry_after_jitter_ms(2000, r * 2654435761u);
		CHECK(d >= 2000 && d <= 2500);
	}
}

/* A node's subnet, or "" without one. */
static void
subnet_of(struct master_fixture *f, const char *id, char *out, size_t len)
{
	struct store_stmt *s;

	out[0] = '\0';
	s = store_prepare(f->st, "SELECT subnet FROM node_subnets"
	    " WHERE node_id = ?1");
	stmt_bind_text(s, 1, id);
	if (stmt_step(s) == STORE_ROW)
		snprintf(out, len, "%s", stmt_col_text(s, 0));
	stmt_free(s);
}

/*
 * Subnets at join: the lowest free one, where a subnet of an older,
 * larger prefix takes every index it covers; a full grid lets nodes join
 * without one and says so once, not once a node (10,000 agents beyond
 * 256 subnets wrote 10,000 warnings and events at each restart).
 */
static void
test_join_subnets_and_full(void)
{
	struct master_fixture *f = master_fixture_new();
	char sub[32];

	CHECK_INT(store_exec(f->st, "UPDATE grids SET network_cidr ="
	    " '10.81.0.0/22', network_node_prefix = 24"), STORE_OK);
	master_fixture_node(f, N2, "n2", "[]");
	subnet_of(f, N2, sub, sizeof sub);
	CHECK_STR(sub, "10.81.0.0/24");
	/* As if n2 had joined under an older /23 of the upper half. */
	CHECK_INT(store_exec(f->st, "UPDATE node_subnets SET subnet ="
	    " '10.81.2.0/23'"), STORE_OK);
	master_fixture_node(f, N3, "n3", "[]");
	subnet_of(f, N3, sub, sizeof sub);
	CHECK_STR(sub, "10.81.0.0/24");
	master_fixture_node(f, N4, "n4", "[]");
	subnet_of(f, N4, sub, sizeof sub);
	CHECK_STR(sub, "10.81.1.0/24");
	master_fixture_node(f, N5, "n5", "[]");
	subnet_of(f, N5, sub, sizeof sub);
	CHECK_STR(sub, "");
	master_fixture_node(f, N6, "n6", "[]");
	subnet_of(f, N6, sub, sizeof sub);
	CHECK_STR(sub, "");
	CHECK_INT(count_rows(f, "SELECT count(*) FROM events"
	    " WHERE type = 'network.full'"), 1);
	CHECK_INT(count_rows(f, "SELECT count(*) - count(DISTINCT subnet)"
	    " FROM node_subnets"), 0);
	master_fixture_free(f);
}

int
main(void)
{
	TEST_RUN(test_desired_text_is_the_set);
	TEST_RUN(test_desired_cache_follows_spec);
	TEST_RUN(test_desired_secret_not_cached);
	TEST_RUN(test_desired_many_nodes);
	TEST_RUN(test_auth_batch);
	TEST_RUN(test_join_batch_writes_only_changes);
	TEST_RUN(test_retry_after_reason);
	TEST_RUN(test_join_subnets_and_full);
	return TEST_DONE();
}
