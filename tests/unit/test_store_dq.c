/*
 * test_store_dq.c - the statement shim's dqlite backend (master/store_dq.c)
 * against a REAL dqlite 1.11 node started in this process (libdqlite is
 * linked into this test), over loopback TCP.
 *
 *   - which SQL runs as QUERY, as EXEC, or is refused (RETURNING);
 *   - values: every type bound and read back with SQLite's conversions,
 *     unbound parameters as NULL, a cached statement re-bound, changes and
 *     last id, a UNIQUE violation's extended code;
 *   - transactions: rollback, commit, nested BEGIN and a stray COMMIT
 *     refused; two threads incrementing one row in BEGIN IMMEDIATE
 *     transactions lose no update (the process-wide write lock);
 *   - the node restarted mid-transaction: the next statement and COMMIT
 *     fail cleanly, nothing of the transaction is there, the same
 *     transaction run again commits;
 *   - every migration run through the backend (the master fixture on
 *     dqlite: grid, node, stack, instances), then the whole of
 *     test_master and test_master_jobs (the scheduler's rounds, deploys,
 *     jobs) run again with their store on this node.
 */
#include "master/store.h"
#include "master/store_dq.h"
#include "tests/lib/master_fixture.h"
#include "tests/unit/test.h"
#include "tests/unit/test_port.h"

#include "common/xmalloc.h"

#include <dqlite.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static dqlite_node	*node;
static char		 addr[32];
static char		 base_dir[64];
static char		 node_dir[96];

static void
node_start(void)
{
	if (dqlite_node_create(1, addr, node_dir, &node) != 0 ||
	    dqlite_node_set_bind_address(node, addr) != 0 ||
	    dqlite_node_start(node) != 0) {
		fprintf(stderr, "node %s: %s\n", addr,
		    node ? dqlite_node_errmsg(node) : "create");
		exit(1);
	}
}

static void
node_stop(void)
{
	dqlite_node_stop(node);
	dqlite_node_destroy(node);
	node = NULL;
}

static struct store *
open_db(const char *name)
{
	const char *a = addr;
	char *cause = NULL;
	struct store *st = store_open_dqlite(&a, 1, name, &cause);

	if (st == NULL) {
		fprintf(stderr, "open %s: %s\n", name, cause);
		exit(1);
	}
	return st;
}

static void
test_sql_kind(void)
{
	CHECK_INT(sdq_sql_kind("SELECT 1"), 1);
	CHECK_INT(sdq_sql_kind("  select x FROM t"), 1);
	CHECK_INT(sdq_sql_kind("VALUES (1)"), 1);
	CHECK_INT(sdq_sql_kind("WITH RECURSIVE t(id) AS (SELECT 1) "
	    "SELECT id FROM t"), 1);
	CHECK_INT(sdq_sql_kind("WITH t(id) AS (SELECT 1) "
	    "DELETE FROM x WHERE id IN t"), 0);
	CHECK_INT(sdq_sql_kind("PRAGMA user_version"), 1);
	CHECK_INT(sdq_sql_kind("PRAGMA table_info('grids')"), 1);
	CHECK_INT(sdq_sql_kind("PRAGMA user_version = 3"), 0);
	CHECK_INT(sdq_sql_kind("INSERT INTO t VALUES (1)"), 0);
	CHECK_INT(sdq_sql_kind("UPDATE t SET a = 'RETURNING'"), 0);
	CHECK_INT(sdq_sql_kind("-- SELECT\nDELETE FROM t"), 0);
	CHECK_INT(sdq_sql_kind("CREATE TABLE t (a INTEGER)"), 0);
	CHECK_INT(sdq_sql_kind("UPDATE t SET a = 1 RETURNING a"), -1);
	CHECK_INT(sdq_sql_kind("DELETE FROM t returning length(x)"), -1);
}

static void
test_values(void)
{
	struct store *st = open_db("values");
	struct store_stmt *s;
	static const char blob[4] = { 0, 1, 2, 3 };
	char buf[8];

	CHECK_INT(store_is_dqlite(st), 1);
	CHECK_INT(store_exec(st, "CREATE TABLE t (id INTEGER PRIMARY KEY,"
	    " i INTEGER, f REAL, s TEXT, b BLOB, u TEXT UNIQUE)"), STORE_OK);
	s = store_stmt(st, "INSERT INTO t (i, f, s, b, u) VALUES"
	    " (?1, ?2, ?3, ?4, ?5)");
	stmt_bind_int64(s, 1, 42);
	stmt_bind_double(s, 2, 1.5);
	snprintf(buf, sizeof buf, "abc");
	stmt_bind_text(s, 3, buf);
	buf[0] = 'X';		/* text is copied at the bind */
	stmt_bind_blob(s, 4, blob, sizeof blob);
	stmt_bind_text(s, 5, "one");
	CHECK_INT(stmt_step(s), STORE_DONE);
	CHECK_INT(store_changes(st), 1);
	CHECK_INT(store_last_id(st), 1);

	/* Cached, bindings cleared: ?1..?4 unbound are NULL. */
	s = store_stmt(st, "INSERT INTO t (i, f, s, b, u) VALUES"
	    " (?1, ?2, ?3, ?4, ?5)");
	stmt_bind_text(s, 5, "two");
	CHECK_INT(stmt_step(s), STORE_DONE);
	CHECK_INT(store_last_id(st), 2);

	/* The same unique value again: SQLite's extended code. */
	s = store_stmt(st, "INSERT INTO t (i, f, s, b, u) VALUES"
	    " (?1, ?2, ?3, ?4, ?5)");
	stmt_bind_text(s, 5, "two");
	CHECK_INT(stmt_step(s), STORE_CONSTRAINT_UNIQUE);
	CHECK_INT(store_errcode(st), STORE_CONSTRAINT_UNIQUE);
	CHECK_HAS(store_errmsg(st), "UNIQUE constraint failed: t.u");

	s = store_stmt(st, "SELECT i, f, s, b, u, i + 0.25 FROM t"
	    " WHERE id >= ?1 ORDER BY id");
	stmt_bind_int(s, 1, 1);
	CHECK_INT(stmt_step(s), STORE_ROW);
	CHECK_INT(stmt_col_type(s, 0), STORE_INTEGER);
	CHECK_INT(stmt_col_int64(s, 0), 42);
	CHECK_STR(stmt_col_text(s, 0), "42");	/* converted as SQLite does */
	CHECK_INT(stmt_col_bytes(s, 0), 2);
	CHECK_INT(stmt_col_type(s, 1), STORE_FLOAT);
	CHECK(stmt_col_double(s, 1) == 1.5);
	CHECK_INT(stmt_col_int(s, 1), 1);
	CHECK_STR(stmt_col_text(s, 2), "abc");
	CHECK_INT(stmt_col_type(s, 3), STORE_BLOB);
	CHECK_INT(stmt_col_bytes(s, 3), 4);
	CHECK(memcmp(stmt_col_blob(s, 3), blob, 4) == 0);
	CHECK_STR(stmt_col_text(s, 4), "one");
	CHECK(stmt_col_double(s, 5) == 42.25);
	CHECK_INT(stmt_step(s), STORE_ROW);
	CHECK_INT(stmt_col_is_null(s, 0), 1);
	CHECK(stmt_col_text(s, 2) == NULL);
	CHECK(stmt_col_blob(s, 3) == NULL);
	CHECK_INT(stmt_col_int64(s, 0), 0);
	CHECK_STR(stmt_col_text(s, 4), "two");
	CHECK_INT(stmt_step(s), STORE_DONE);
	/* Reset keeps the bindings: the same rows again. */
	stmt_reset(s);
	CHECK_INT(stmt_step(s), STORE_ROW);
	CHECK_INT(stmt_col_int64(s, 0), 42);
	stmt_reset(s);

	/* UPDATE counts its rows; a one-off statement; RETURNING refused. */
	s = store_stmt(st, "UPDATE t SET i = ?1");
	stmt_bind_int(s, 1, 7);
	CHECK_INT(stmt_step(s), STORE_DONE);
	CHECK_INT(store_changes(st), 2);
	s = store_prepare(st, "PRAGMA user_version");
	CHECK(s != NULL);
	CHECK_INT(stmt_step(s), STORE_ROW);
	CHECK_INT(stmt_col_int(s, 0), 0);
	stmt_free(s);
	CHECK(store_prepare(st, "DELETE FROM t RETURNING id") == NULL);
	CHECK_HAS(store_errmsg(st), "RETURNING");
	/* A SQL error at the first step is an error, not a crash. */
	s = store_prepare(st, "SELECT nope FROM t");
	CHECK(s != NULL);
	CHECK(stmt_step(s) != STORE_ROW);
	CHECK_HAS(store_errmsg(st), "no such column");
	stmt_free(s);
	store_close(st);
}

static int
count_rows(struct store *st, const char *table_sql)
{
	struct store_stmt *s = store_prepare(st, table_sql);
	int n = -1;

	if (s != NULL && stmt_step(s) == STORE_ROW)
		n = stmt_col_int(s, 0);
	stmt_free(s);
	return n;
}

static void
test_transactions(void)
{
	struct store *st = open_db("tx");
	struct store_stmt *s;

	CHECK_INT(store_exec(st, "CREATE TABLE t (k TEXT PRIMARY KEY)"),
	    STORE_OK);
	CHECK_INT(store_begin(st), 0);
	CHECK_INT(store_begin(st), -1);		/* nested */
	s = store_stmt(st, "INSERT INTO t VALUES (?1)");
	stmt_bind_text(s, 1, "gone");
	CHECK_INT(stmt_step(s), STORE_DONE);
	store_rollback(st);
	CHECK_INT(count_rows(st, "SELECT count(*) FROM t"), 0);

	CHECK_INT(store_begin(st), 0);
	s = store_stmt(st, "INSERT INTO t VALUES (?1)");
	stmt_bind_text(s, 1, "kept");
	CHECK_INT(stmt_step(s), STORE_DONE);
	CHECK_INT(store_commit(st), 0);
	CHECK_INT(count_rows(st, "SELECT count(*) FROM t"), 1);
	CHECK_INT(store_commit(st), -1);	/* none active */
	store_rollback(st);			/* no-op outside one */

	/* A read transaction begun by store_exec (store_deploy.c). */
	CHECK_INT(store_exec(st, "BEGIN"), STORE_OK);
	CHECK_INT(count_rows(st, "SELECT count(*) FROM t"), 1);
	store_rollback(st);
	/* A multi-statement string with its own transaction (migrations). */
	CHECK_INT(store_exec(st, "BEGIN IMMEDIATE; INSERT INTO t VALUES "
	    "('a'); INSERT INTO t VALUES ('b'); COMMIT;"), STORE_OK);
	CHECK_INT(count_rows(st, "SELECT count(*) FROM t"), 3);
	store_close(st);
}

#define INCS	40

static void *
incr_thread(void *arg)
{
	struct store *st = open_db("race");
	struct store_stmt *s;
	int i, n, *fails = arg;

	for (i = 0; i < INCS; i++) {
		if (store_begin(st) != 0) {
			(*fails)++;
			continue;
		}
		s = store_stmt(st, "SELECT n FROM c WHERE id = 1");
		if (stmt_step(s) != STORE_ROW) {
			store_rollback(st);
			(*fails)++;
			continue;
		}
		n = stmt_col_int(s, 0);
		stmt_reset(s);
		s = store_stmt(st, "UPDATE c SET n = ?1 WHERE id = 1");
		stmt_bind_int(s, 1, n + 1);
		if (stmt_step(s) != STORE_DONE || store_commit(st) != 0) {
			store_rollback(st);
			(*fails)++;
		}
	}
	store_close(st);
	return NULL;
}

/* Read-modify-write in two threads: every increment lands. */
static void
test_two_writers(void)
{
	struct store *st = open_db("race");
	pthread_t t1, t2;
	int f1 = 0, f2 = 0;

	CHECK_INT(store_exec(st, "CREATE TABLE c (id INTEGER PRIMARY KEY,"
	    " n INTEGER); INSERT INTO c VALUES (1, 0)"), STORE_OK);
	pthread_create(&t1, NULL, incr_thread, &f1);
	pthread_create(&t2, NULL, incr_thread, &f2);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	CHECK_INT(f1 + f2, 0);
	CHECK_INT(count_rows(st, "SELECT n FROM c"), 2 * INCS);
	store_close(st);
}

/* One transaction: two rows. */
static int
tx_two(struct store *st)
{
	struct store_stmt *s;

	if (store_begin(st) != 0)
		return -1;
	s = store_stmt(st, "INSERT INTO t VALUES (?1)");
	stmt_bind_text(s, 1, "first");
	if (stmt_step(s) != STORE_DONE)
		goto fail;
	if (node != NULL) {	/* the first run: the node goes away here */
		node_stop();
		node_start();
	}
	s = store_stmt(st, "INSERT INTO t VALUES (?1)");
	stmt_bind_text(s, 1, "second");
	if (stmt_step(s) != STORE_DONE)
		goto fail;
	return store_commit(st);
fail:
	store_rollback(st);
	return -1;
}

/*
 * The node restarts between two statements of a transaction: the second
 * fails with a clear cause (nothing is sent on a new connection outside
 * the transaction), nothing of the transaction is there afterwards, and
 * running it again commits both rows.
 */
static void
test_lost_transaction(void)
{
	struct store *st = open_db("lost");
	struct store_stmt *s;

	CHECK_INT(store_exec(st, "CREATE TABLE t (k TEXT PRIMARY KEY)"),
	    STORE_OK);
	CHECK_INT(tx_two(st), -1);
	CHECK_HAS(store_errmsg(st), "transaction lost");
	CHECK_HAS(store_errmsg(st), "nothing of it committed");
	/* The store reconnects for the next call. */
	CHECK_INT(count_rows(st, "SELECT count(*) FROM t"), 0);
	dqlite_node *keep = node;

	node = NULL;		/* tx_two: no restart this time */
	CHECK_INT(tx_two(st), 0);
	node = keep;
	s = store_prepare(st, "SELECT group_concat(k, ',') FROM "
	    "(SELECT k FROM t ORDER BY k)");
	CHECK(s != NULL && stmt_step(s) == STORE_ROW);
	CHECK_STR(stmt_col_text(s, 0), "first,second");
	stmt_free(s);
	store_close(st);
}

/*
 * No statement of the replicated store uses RETURNING (the backend
 * refuses it at the first use, which a test may never reach): every
 * master/store*.c but store_logs.c (logs.db stays plain SQLite) and the
 * shim itself (store_db.c, store_dq.c), any
 * line with a string literal naming it.
 */
static void
test_no_returning_in_store(void)
{
	char exe[PATH_MAX], cmd[PATH_MAX * 2 + 256], line[512], *root;
	ssize_t n;
	FILE *p;
	int files = 0;

	n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	CHECK(n > 0);
	if (n <= 0)
		return;
	exe[n] = '\0';
	root = dirname(dirname(dirname(exe)));		/* build/unit/x */
	snprintf(cmd, sizeof cmd, "cd '%s' && for f in master/store*.c; do "
	    "case $f in master/store_logs.c|master/store_db.c|"
	    "master/store_dq.c) continue;; esac; echo \"file $f\"; "
	    "grep -n '\".*RETURNING' \"$f\" | sed \"s|^|$f:|\"; done", root);
	p = popen(cmd, "r");
	CHECK(p != NULL);
	if (p == NULL)
		return;
	while (fgets(line, sizeof line, p) != NULL) {
		if (strncmp(line, "file ", 5) == 0) {
			files++;
			continue;
		}
		printf("  RETURNING in the replicated store: %s", line);
		CHECK(0);
	}
	pclose(p);
	CHECK(files >= 18);	/* it looked at the store's files */
}

/* The master fixture on dqlite: every migration, a grid, a stack. */
static void
test_fixture_on_dqlite(void)
{
	struct master_fixture *f;
	int64_t n;

	setenv("BERTH_FIXTURE_DQLITE", addr, 1);
	f = master_fixture_new();
	CHECK_INT(store_is_dqlite(f->st), 1);
	CHECK_INT(count_rows(f->st, "PRAGMA user_version"),
	    STORE_SCHEMA_VERSION);
	master_fixture_seed(f);
	CHECK(f->web_id > 0);
	n = count_rows(f->st, "SELECT count(*) FROM instances");
	CHECK_INT(n, 2);
	CHECK_INT(store_grid_count(f->st), 1);
	master_fixture_free(f);
	unsetenv("BERTH_FIXTURE_DQLITE");
}

/*
 * Another unit test binary beside this one, its store on the node: its
 * exit status. Its "ok" lines would count as this test's, so its output
 * goes to a file and only failures are shown (indented).
 */
static int
run_on_dqlite(const char *name)
{
	char self[PATH_MAX], line[512], *path, *out;
	ssize_t n;
	pid_t pid;
	FILE *fp;
	int status, fd, oks = 0;

	n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0)
		return -1;
	self[n] = '\0';
	xasprintf(&path, "%s/%s", dirname(self), name);
	xasprintf(&out, "%s/%s.out", base_dir, name);
	fflush(stdout);
	if ((pid = fork()) == 0) {
		setenv("BERTH_FIXTURE_DQLITE", addr, 1);
		fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || dup2(fd, 1) < 0)
			_exit(126);
		execl(path, name, (char *)NULL);
		_exit(127);
	}
	free(path);
	if (pid < 0 || waitpid(pid, &status, 0) != pid) {
		free(out);
		return -1;
	}
	if ((fp = fopen(out, "r")) != NULL) {
		while (fgets(line, sizeof line, fp) != NULL) {
			if (strncmp(line, "ok - ", 5) == 0)
				oks++;
			else if (strstr(line, "not ok") != NULL ||
			    strstr(line, "FAIL") != NULL)
				printf("    %s: %s", name, line);
		}
		fclose(fp);
	}
	free(out);
	printf("    %s on dqlite: %d tests ok\n", name, oks);
	if (oks == 0)
		return -2;	/* it ran nothing: not a pass */
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void
test_master_suites_on_dqlite(void)
{
	CHECK_INT(run_on_dqlite("test_master"), 0);
	CHECK_INT(run_on_dqlite("test_master_jobs"), 0);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	snprintf(base_dir, sizeof base_dir, "%s/berth-sdq.XXXXXX",
	    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (mkdtemp(base_dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(node_dir, sizeof node_dir, "%s/n1", base_dir);
	mkdir(node_dir, 0700);
	snprintf(addr, sizeof addr, "127.0.0.1:%d", test_free_port());
	node_start();

	TEST_RUN(test_sql_kind);
	TEST_RUN(test_no_returning_in_store);
	TEST_RUN(test_values);
	TEST_RUN(test_transactions);
	TEST_RUN(test_two_writers);
	TEST_RUN(test_lost_transaction);
	TEST_RUN(test_fixture_on_dqlite);
	TEST_RUN(test_master_suites_on_dqlite);

	node_stop();
	{
		char *cmd;

		xasprintf(&cmd, "rm -rf '%s'", base_dir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", base_dir);
		free(cmd);
	}
	return TEST_DONE();
}
