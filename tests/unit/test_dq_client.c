/*
 * test_dq_client.c - berth's dqlite client (master/dq_client.c,
 * master/dq_wire.c) against REAL dqlite 1.11 nodes started in this
 * process (libdqlite, linked into this test only), on loopback TCP.
 *
 * One node: handshake, leader lookup, OPEN, CREATE TABLE, INSERT with
 * every parameter type, SELECT back (a result set of several ROWS
 * batches too), a failing statement's FAILURE, a prepared INSERT reused
 * many times then finalized, 7/8/9/255 parameters, an address with
 * nothing listening (bounded time, clear cause), a follower refusing.
 * Three nodes: ADD + ASSIGN through the client, CLUSTER, a leader stopped
 * and the client's retry finding the new one, every row still there.
 *
 * BERTH_DQ_BENCH=N: also time N prepared INSERTs on one node and print
 * "dq_insert_rtt_us_p50 ..." lines (not an assertion).
 */
#include "master/dq_client.h"
#include "tests/unit/test.h"
#include "tests/unit/test_port.h"

#include "common/xmalloc.h"

#include <dqlite.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NODES	3

struct tnode {
	dqlite_node	*node;
	uint64_t	 id;
	char		 addr[32];
	char		 dir[96];
	int		 running;
};

static char	 base_dir[48];

static int64_t
ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
node_start(struct tnode *n, uint64_t id, int latency_ms)
{
	n->id = id;
	if (n->addr[0] == '\0')
		snprintf(n->addr, sizeof n->addr, "127.0.0.1:%d",
		    test_free_port());
	if (n->dir[0] == '\0') {
		snprintf(n->dir, sizeof n->dir, "%s/n%llu", base_dir,
		    (unsigned long long)id);
		mkdir(n->dir, 0700);
	}
	if (dqlite_node_create(id, n->addr, n->dir, &n->node) != 0 ||
	    dqlite_node_set_bind_address(n->node, n->addr) != 0 ||
	    (latency_ms > 0 &&
	    dqlite_node_set_network_latency_ms(n->node, latency_ms) != 0) ||
	    dqlite_node_start(n->node) != 0) {
		fprintf(stderr, "node %llu (%s): %s\n", (unsigned long long)id,
		    n->addr, n->node ? dqlite_node_errmsg(n->node) : "create");
		exit(1);
	}
	n->running = 1;
}

static void
node_stop(struct tnode *n)
{
	if (!n->running)
		return;
	dqlite_node_stop(n->node);
	dqlite_node_destroy(n->node);
	n->node = NULL;
	n->running = 0;
}

static struct dq_client *
client_for(struct tnode *nodes, int n, int retries)
{
	const char *addrs[NODES];
	struct dq_conf conf = { .addrs = addrs, .naddrs = n,
	    .database = "berth", .timeout_ms = 5000, .retries = retries,
	    .retry_ms = 50 };
	int i;

	for (i = 0; i < n; i++)
		addrs[i] = nodes[i].addr;
	return dq_client_new(&conf);
}

static struct tnode	one;	/* the single node of the first tests */

/* Handshake, LEADER on the node itself, OPEN; the leader is the node. */
static void
test_leader_and_open(void)
{
	struct dq_conn c;
	struct dq_client *cl;
	uint64_t id = 0;
	char *addr = NULL, *cause = NULL;

	CHECK(dq_conn_open(&c, one.addr, 2000, &cause) == 0);
	CHECK(dq_conn_leader(&c, &id, &addr, &cause) == 0);
	CHECK_INT(id, 1);
	CHECK_STR(addr, one.addr);
	free(addr);
	dq_conn_close(&c);

	cl = client_for(&one, 1, 3);
	CHECK(dq_client_connect(cl, &cause) == 0);
	CHECK_STR(dq_client_leader(cl), one.addr);
	CHECK_INT(dq_client_code(cl), 0);
	dq_client_free(cl);
	free(cause);
}

/* Every parameter type in, every value back, as dqlite types it. */
static void
test_types_round_trip(void)
{
	static const unsigned char blob[] = { 0, 1, 2, 0xff, 0, 0x80, 7, 8,
	    9 };
	struct dq_client *cl = client_for(&one, 1, 3);
	struct dq_result res = { 0 };
	struct dq_rows rows = { 0 };
	struct dq_value p[7];
	char *cause = NULL;

	CHECK(dq_client_exec_sql(cl, "CREATE TABLE t (id INTEGER PRIMARY "
	    "KEY, i INTEGER, f REAL, s TEXT, b BLOB, n TEXT, flag INTEGER, "
	    "at TEXT, ts DATETIME)", NULL, 0, &res, &cause) == 0);
	if (cause)
		printf("  # %s\n", cause);
	p[0] = dq_int(-9007199254740993LL);
	p[1] = dq_float(-1.5e-300);
	p[2] = dq_text("héllo, \"world\"");
	p[3] = dq_blob(blob, sizeof blob);
	p[4] = dq_null();
	p[5] = dq_bool(1);
	p[6] = dq_iso8601("2024-02-29T12:34:56Z");
	CHECK(dq_client_exec_sql(cl, "INSERT INTO t (i, f, s, b, n, flag, "
	    "at, ts) VALUES (?, ?, ?, ?, ?, ?, ?, 1700000000)", p, 7, &res,
	    &cause) == 0);
	CHECK_INT(res.last_id, 1);
	CHECK_INT(res.changes, 1);

	CHECK(dq_client_query_sql(cl, "SELECT i, f, s, b, n, flag, at, ts, "
	    "length(b) FROM t WHERE id = ?", (struct dq_value[]){ dq_int(1) },
	    1, &rows, &cause) == 0);
	CHECK_INT(rows.ncols, 9);
	CHECK_INT(rows.nrows, 1);
	if (rows.nrows == 1) {
		CHECK_STR(rows.names[0], "i");
		CHECK_STR(rows.names[8], "length(b)");
		CHECK_INT(DQ_ROW(&rows, 0, 0)->type, DQ_INTEGER);
		CHECK_INT(DQ_ROW(&rows, 0, 0)->i, -9007199254740993LL);
		CHECK_INT(DQ_ROW(&rows, 0, 1)->type, DQ_FLOAT);
		CHECK(DQ_ROW(&rows, 0, 1)->f == -1.5e-300);
		CHECK_INT(DQ_ROW(&rows, 0, 2)->type, DQ_TEXT);
		CHECK_STR(DQ_ROW(&rows, 0, 2)->s, "héllo, \"world\"");
		CHECK_INT(DQ_ROW(&rows, 0, 3)->type, DQ_BLOB);
		CHECK_INT(DQ_ROW(&rows, 0, 3)->len, sizeof blob);
		CHECK(memcmp(DQ_ROW(&rows, 0, 3)->s, blob, sizeof blob) == 0);
		CHECK_INT(DQ_ROW(&rows, 0, 4)->type, DQ_NULL);
		/* A boolean parameter is stored as an integer; a column not
		 * declared BOOLEAN reads back as INTEGER. */
		CHECK_INT(DQ_ROW(&rows, 0, 5)->type, DQ_INTEGER);
		CHECK_INT(DQ_ROW(&rows, 0, 5)->i, 1);
		/* ISO8601 is stored as text. */
		CHECK_INT(DQ_ROW(&rows, 0, 6)->type, DQ_TEXT);
		CHECK_STR(DQ_ROW(&rows, 0, 6)->s, "2024-02-29T12:34:56Z");
		/* An integer in a DATETIME column comes back as UNIXTIME. */
		CHECK_INT(DQ_ROW(&rows, 0, 7)->type, DQ_UNIXTIME);
		CHECK_INT(DQ_ROW(&rows, 0, 7)->i, 1700000000);
		CHECK_INT(DQ_ROW(&rows, 0, 8)->i, sizeof blob);
	}
	dq_rows_free(&rows);

	/* An empty result set: the columns, no row. */
	CHECK(dq_client_query_sql(cl, "SELECT i FROM t WHERE id = -1", NULL,
	    0, &rows, &cause) == 0);
	CHECK_INT(rows.ncols, 1);
	CHECK_INT(rows.nrows, 0);
	dq_rows_free(&rows);
	dq_client_free(cl);
	free(cause);
}

/* 7, 8, 9 and 255 parameters: the params header's padding is right at
 * every length (8 is the word boundary), and 256 is refused locally. */
static void
test_param_counts(void)
{
	struct dq_client *cl = client_for(&one, 1, 3);
	struct dq_rows rows = { 0 };
	struct dq_value p[256];
	struct buf sql = { 0 };
	char *cause = NULL;
	int counts[] = { 1, 7, 8, 9, 16, 255 }, k, i;

	for (k = 0; k < (int)(sizeof counts / sizeof counts[0]); k++) {
		int n = counts[k];
		int64_t sum = 0;

		buf_free(&sql);
		buf_printf(&sql, "SELECT ?");
		for (i = 0; i < n; i++) {
			p[i] = dq_int(i + 1);
			sum += i + 1;
			if (i > 0)
				buf_printf(&sql, " + ?");
		}
		CHECK(dq_client_query_sql(cl, sql.data, p, n, &rows,
		    &cause) == 0);
		if (cause) {
			printf("  # %d params: %s\n", n, cause);
			free(cause);
			cause = NULL;
		}
		CHECK_INT(rows.nrows, 1);
		if (rows.nrows == 1)
			CHECK_INT(DQ_ROW(&rows, 0, 0)->i, sum);
		dq_rows_free(&rows);
	}
	for (i = 0; i < 256; i++)
		p[i] = dq_int(i);
	CHECK(dq_client_query_sql(cl, "SELECT 1", p, 256, &rows,
	    &cause) == -1);
	CHECK_HAS(cause, "256 parameters");
	CHECK_INT(dq_client_code(cl), DQ_CLIENT_USAGE);
	free(cause);
	buf_free(&sql);
	dq_client_free(cl);
}

/* A result set of several ROWS batches (dqlite cuts at 4 KiB), read
 * whole, in order, through a prepared statement reused many times. */
static void
test_prepared_and_batches(void)
{
	struct dq_client *cl = client_for(&one, 1, 3);
	struct dq_stmt *ins = NULL, *sel = NULL;
	struct dq_result res = { 0 };
	struct dq_rows rows = { 0 };
	char *cause = NULL, text[64];
	int i, bad = 0;

	CHECK(dq_client_exec_sql(cl, "CREATE TABLE big (k INTEGER PRIMARY "
	    "KEY, v TEXT NOT NULL)", NULL, 0, NULL, &cause) == 0);
	CHECK(dq_client_prepare(cl, "INSERT INTO big (k, v) VALUES (?, ?)",
	    &ins, &cause) == 0);
	if (ins == NULL)
		goto out;
	CHECK_INT(dq_stmt_nparams(ins), 2);
	CHECK(dq_client_exec_sql(cl, "BEGIN", NULL, 0, NULL, &cause) == 0);
	for (i = 1; i <= 2000; i++) {
		snprintf(text, sizeof text, "value number %d", i);
		if (dq_client_exec(cl, ins, (struct dq_value[]){ dq_int(i),
		    dq_text(text) }, 2, &res, &cause) == -1 ||
		    res.last_id != i || res.changes != 1)
			bad++;
	}
	CHECK(dq_client_exec_sql(cl, "COMMIT", NULL, 0, NULL, &cause) == 0);
	CHECK_INT(bad, 0);
	CHECK(dq_client_prepare(cl, "SELECT k, v FROM big WHERE k >= ? "
	    "ORDER BY k", &sel, &cause) == 0);
	CHECK(dq_client_query(cl, sel, (struct dq_value[]){ dq_int(1) }, 1,
	    &rows, &cause) == 0);
	CHECK_INT(rows.nrows, 2000);
	CHECK(rows.batches > 5);
	for (i = 0; i < (int)rows.nrows; i++) {
		snprintf(text, sizeof text, "value number %d", i + 1);
		if (DQ_ROW(&rows, i, 0)->i != i + 1 ||
		    strcmp(DQ_ROW(&rows, i, 1)->s, text) != 0)
			bad++;
	}
	CHECK_INT(bad, 0);
	dq_rows_free(&rows);
	/* The same statement again, another parameter. */
	CHECK(dq_client_query(cl, sel, (struct dq_value[]){ dq_int(1999) },
	    1, &rows, &cause) == 0);
	CHECK_INT(rows.nrows, 2);
	dq_rows_free(&rows);
out:
	dq_client_finalize(cl, ins);
	dq_client_finalize(cl, sel);
	/* Still usable after FINALIZE. */
	CHECK(dq_client_query_sql(cl, "SELECT count(*) FROM big", NULL, 0,
	    &rows, &cause) == 0);
	if (rows.nrows == 1)
		CHECK_INT(DQ_ROW(&rows, 0, 0)->i, 2000);
	dq_rows_free(&rows);
	if (cause)
		printf("  # %s\n", cause);
	free(cause);
	dq_client_free(cl);
}

/* SQL errors come back as the server's code and message, unretried. */
static void
test_failures(void)
{
	struct dq_client *cl = client_for(&one, 1, 3);
	struct dq_stmt *st = NULL;
	struct dq_rows rows = { 0 };
	char *cause = NULL;

	CHECK(dq_client_exec_sql(cl, "CREATE TABLE u (k TEXT UNIQUE)", NULL,
	    0, NULL, &cause) == 0);
	CHECK(dq_client_exec_sql(cl, "INSERT INTO u VALUES ('a')", NULL, 0,
	    NULL, &cause) == 0);
	CHECK(dq_client_exec_sql(cl, "INSERT INTO u VALUES ('a')", NULL, 0,
	    NULL, &cause) == -1);
	CHECK_HAS(cause, "UNIQUE constraint failed: u.k");
	CHECK_HAS(cause, "EXEC_SQL");
	CHECK_HAS(cause, one.addr);
	CHECK_INT(dq_client_code(cl), 2067);	/* SQLITE_CONSTRAINT_UNIQUE */
	CHECK_INT(dq_client_retries(cl), 0);
	free(cause);
	cause = NULL;

	CHECK(dq_client_query_sql(cl, "SELECT nope FROM u", NULL, 0, &rows,
	    &cause) == -1);
	CHECK_HAS(cause, "no such column: nope");
	CHECK_INT(rows.nrows, 0);
	free(cause);
	cause = NULL;

	CHECK(dq_client_prepare(cl, "INSERT INTO missing VALUES (1)", &st,
	    &cause) == -1);
	CHECK(st == NULL);
	CHECK_HAS(cause, "no such table: missing");
	CHECK_HAS(cause, "PREPARE");
	free(cause);
	cause = NULL;

	/* The session survives its failures. */
	CHECK(dq_client_query_sql(cl, "SELECT count(*) FROM u", NULL, 0,
	    &rows, &cause) == 0);
	CHECK_INT(rows.nrows, 1);
	dq_rows_free(&rows);
	free(cause);
	dq_client_free(cl);
}

/* Nothing listens: the client gives up in bounded time and says why. */
static void
test_nothing_listening(void)
{
	struct tnode dead = { 0 };
	struct dq_client *cl;
	char *cause = NULL;
	int64_t t0;

	snprintf(dead.addr, sizeof dead.addr, "127.0.0.1:%d",
	    test_free_port());
	cl = client_for(&dead, 1, 2);
	t0 = ms_now();
	CHECK(dq_client_exec_sql(cl, "SELECT 1", NULL, 0, NULL,
	    &cause) == -1);
	CHECK(ms_now() - t0 < 3000);
	CHECK_HAS(cause, "no leader found");
	CHECK_HAS(cause, dead.addr);
	CHECK_HAS(cause, "Connection refused");
	CHECK_HAS(cause, "gave up after 3 tries");
	CHECK_INT(dq_client_code(cl), DQ_CLIENT_NO_LEADER);
	free(cause);
	dq_client_free(cl);

	/*
	 * Bounded by time, not only by count: 1,000 rounds would wait
	 * minutes; a 400 ms deadline ends the call after a few, saying so.
	 */
	{
		const char *addrs[1] = { dead.addr };
		struct dq_conf conf = { .addrs = addrs, .naddrs = 1,
		    .timeout_ms = 5000, .retries = 1000, .retry_ms = 50,
		    .deadline_ms = 400 };

		cl = dq_client_new(&conf);
		cause = NULL;
		t0 = ms_now();
		CHECK(dq_client_exec_sql(cl, "SELECT 1", NULL, 0, NULL,
		    &cause) == -1);
		CHECK(ms_now() - t0 < 5000);
		CHECK_HAS(cause, "out of time");
		CHECK(dq_client_retries(cl) < 1000);
		printf("  # deadline 400 ms: gave up after %lld ms, %d "
		    "retries\n", (long long)(ms_now() - t0),
		    dq_client_retries(cl));
		free(cause);
		dq_client_free(cl);
	}

	/* An address that is not host:port. */
	{
		struct dq_conn c;

		cause = NULL;
		CHECK(dq_conn_open(&c, "localhost", 1000, &cause) == -1);
		CHECK_HAS(cause, "not a host:port address");
		free(cause);
	}
}

/* Prepared INSERT round trips to the local node (BERTH_DQ_BENCH=N). */
static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static void
bench_insert(int n)
{
	struct dq_client *cl = client_for(&one, 1, 3);
	struct dq_stmt *st = NULL;
	int64_t *us = xcalloc((size_t)n, sizeof *us), t0, total = 0;
	struct timespec a, b;
	char *cause = NULL;
	int i;

	if (dq_client_exec_sql(cl, "CREATE TABLE bench (k INTEGER PRIMARY "
	    "KEY, v TEXT)", NULL, 0, NULL, &cause) == -1 ||
	    dq_client_prepare(cl, "INSERT INTO bench (v) VALUES (?)", &st,
	    &cause) == -1) {
		printf("# bench: %s\n", cause);
		exit(1);
	}
	t0 = ms_now();
	for (i = 0; i < n; i++) {
		clock_gettime(CLOCK_MONOTONIC, &a);
		if (dq_client_exec(cl, st, (struct dq_value[]){
		    dq_text("payload") }, 1, NULL, &cause) == -1) {
			printf("# bench: %s\n", cause);
			exit(1);
		}
		clock_gettime(CLOCK_MONOTONIC, &b);
		us[i] = (b.tv_sec - a.tv_sec) * 1000000 +
		    (b.tv_nsec - a.tv_nsec) / 1000;
	}
	total = ms_now() - t0;
	qsort(us, (size_t)n, sizeof *us, cmp_i64);
	printf("dq_insert_per_s %lld inserts/s\n", total > 0 ?
	    (long long)n * 1000 / total : 0);
	printf("dq_insert_rtt_us_p50 %lld us\n", (long long)us[n / 2]);
	printf("dq_insert_rtt_us_p99 %lld us\n", (long long)us[n * 99 / 100]);
	dq_client_finalize(cl, st);
	dq_client_free(cl);
	free(us);
}

/* Three nodes: ADD + ASSIGN through the client, a follower refuses and
 * names the leader, the leader stops, the client's retry finds the new
 * leader and every acknowledged row is there. */
static void
test_cluster_failover(void)
{
	struct tnode nodes[NODES] = { 0 };
	struct dq_client *cl;
	struct dq_server *servers = NULL;
	struct dq_rows rows = { 0 };
	struct dq_conn c;
	size_t n = 0;
	char *cause = NULL, *addr = NULL;
	uint64_t id;
	int i, leader, voters = 0, acked = 0;
	int64_t t0;

	/* 20 ms: heartbeat 30 ms, election 300 ms, to keep the test short. */
	for (i = 0; i < NODES; i++)
		node_start(&nodes[i], (uint64_t)i + 1, 20);
	cl = client_for(nodes, NODES, 60);
	CHECK(dq_client_connect(cl, &cause) == 0);
	CHECK_STR(dq_client_leader(cl), nodes[0].addr);
	for (i = 1; i < NODES; i++) {
		CHECK(dq_client_add(cl, nodes[i].id, nodes[i].addr,
		    &cause) == 0);
		CHECK(dq_client_assign(cl, nodes[i].id, DQ_VOTER,
		    &cause) == 0);
	}
	if (cause)
		printf("  # %s\n", cause);
	CHECK(dq_client_cluster(cl, &servers, &n, &cause) == 0);
	CHECK_INT(n, NODES);
	for (i = 0; i < (int)n; i++)
		voters += servers[i].role == DQ_VOTER;
	CHECK_INT(voters, NODES);
	dq_servers_free(servers, n);

	CHECK(dq_client_exec_sql(cl, "CREATE TABLE ev (k INTEGER PRIMARY "
	    "KEY, v TEXT)", NULL, 0, NULL, &cause) == 0);
	for (i = 0; i < 50; i++)
		if (dq_client_exec_sql(cl, "INSERT INTO ev (v) VALUES (?)",
		    (struct dq_value[]){ dq_text("before") }, 1, NULL,
		    &cause) == 0)
			acked++;
	CHECK_INT(acked, 50);

	/* A follower refuses a query with "not leader" and names node 1. */
	CHECK(dq_conn_open(&c, nodes[1].addr, 2000, &cause) == 0);
	CHECK(dq_conn_leader(&c, &id, &addr, &cause) == 0);
	CHECK_INT(id, 1);
	CHECK_STR(addr, nodes[0].addr);
	free(addr);
	{
		struct dq_msg m;
		uint32_t db;

		dq_enc_open(&c.out, "berth");
		CHECK(dq_conn_request(&c, &m, &cause) == 0);
		CHECK(dq_dec_db(&m, &db, &cause) == 0);
		dq_enc_sql(&c.out, DQ_REQ_QUERY_SQL, db, "SELECT 1", NULL, 0,
		    &cause);
		CHECK(dq_conn_request(&c, &m, &cause) == 0);
		CHECK(dq_dec_expect(&m, DQ_RESP_ROWS, &id, &cause) == -1);
		CHECK_INT(id, DQ_CODE_NOT_LEADER);
		free(cause);
		cause = NULL;
	}
	dq_conn_close(&c);

	/*
	 * Fenced clients (a clustered master's store, docs/ha.md): one whose
	 * own node follows fails at once, naming the leader, and writes
	 * nothing; one whose own node leads works.
	 */
	{
		const char *own[1];
		struct dq_conf fc = { .addrs = own, .naddrs = 1,
		    .database = "berth", .timeout_ms = 5000, .retries = 60,
		    .retry_ms = 50, .deadline_ms = 3000, .fence = 1 };
		struct dq_client *f;

		own[0] = nodes[1].addr;
		f = dq_client_new(&fc);
		cause = NULL;
		CHECK(dq_client_exec_sql(f, "INSERT INTO ev (v) VALUES (?)",
		    (struct dq_value[]){ dq_text("fenced") }, 1, NULL,
		    &cause) == -1);
		CHECK_INT(dq_client_code(f), DQ_CLIENT_FENCED);
		CHECK_HAS(cause, "does not lead");
		CHECK_HAS(cause, nodes[0].addr);
		CHECK_INT(dq_client_retries(f), 0);
		free(cause);
		cause = NULL;
		dq_client_free(f);
		own[0] = nodes[0].addr;
		f = dq_client_new(&fc);
		CHECK(dq_client_query_sql(f, "SELECT count(*), sum(v = "
		    "'fenced') FROM ev", NULL, 0, &rows, &cause) == 0);
		if (rows.nrows == 1) {
			CHECK_INT(DQ_ROW(&rows, 0, 0)->i, acked);
			CHECK_INT(DQ_ROW(&rows, 0, 1)->i, 0);
		}
		dq_rows_free(&rows);
		dq_client_free(f);
	}

	/* The leader goes; the next write waits out the election. */
	node_stop(&nodes[0]);
	t0 = ms_now();
	CHECK(dq_client_exec_sql(cl, "INSERT INTO ev (v) VALUES (?)",
	    (struct dq_value[]){ dq_text("after") }, 1, NULL, &cause) == 0);
	if (cause)
		printf("  # %s\n", cause);
	printf("  # new leader %s after %lld ms, %d retries\n",
	    dq_client_leader(cl) ? dq_client_leader(cl) : "none",
	    (long long)(ms_now() - t0), dq_client_retries(cl));
	leader = -1;
	for (i = 1; i < NODES; i++)
		if (dq_client_leader(cl) &&
		    strcmp(dq_client_leader(cl), nodes[i].addr) == 0)
			leader = i;
	CHECK(leader > 0);
	CHECK(dq_client_retries(cl) > 0);
	CHECK(dq_client_query_sql(cl, "SELECT count(*), sum(v = 'after') "
	    "FROM ev", NULL, 0, &rows, &cause) == 0);
	if (rows.nrows == 1) {
		CHECK_INT(DQ_ROW(&rows, 0, 0)->i, acked + 1);
		CHECK_INT(DQ_ROW(&rows, 0, 1)->i, 1);
	}
	dq_rows_free(&rows);

	/* Planned handover: TRANSFER to the other survivor. */
	if (leader > 0) {
		int other = leader == 1 ? 2 : 1;

		CHECK(dq_client_transfer(cl, nodes[other].id, &cause) == 0);
		CHECK(dq_client_query_sql(cl, "SELECT count(*) FROM ev",
		    NULL, 0, &rows, &cause) == 0);
		CHECK_STR(dq_client_leader(cl), nodes[other].addr);
		if (rows.nrows == 1)
			CHECK_INT(DQ_ROW(&rows, 0, 0)->i, acked + 1);
		dq_rows_free(&rows);
	}
	if (cause)
		printf("  # %s\n", cause);
	free(cause);
	dq_client_free(cl);
	for (i = 0; i < NODES; i++)
		node_stop(&nodes[i]);
}

int
main(void)
{
	const char *bench = getenv("BERTH_DQ_BENCH");
	char cmd[128];

	signal(SIGPIPE, SIG_IGN);	/* as berth-master does */
	snprintf(base_dir, sizeof base_dir, "/tmp/berth-dq.XXXXXX");
	if (mkdtemp(base_dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(one.dir, sizeof one.dir, "%s/single", base_dir);
	mkdir(one.dir, 0700);
	node_start(&one, 1, 0);
	if (bench != NULL) {
		bench_insert(atoi(bench) > 0 ? atoi(bench) : 2000);
		node_stop(&one);
		goto out;
	}
	TEST_RUN(test_leader_and_open);
	TEST_RUN(test_types_round_trip);
	TEST_RUN(test_param_counts);
	TEST_RUN(test_prepared_and_batches);
	TEST_RUN(test_failures);
	TEST_RUN(test_nothing_listening);
	node_stop(&one);
	TEST_RUN(test_cluster_failover);
out:
	snprintf(cmd, sizeof cmd, "rm -rf %s", base_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", base_dir);
	return TEST_DONE();
}
