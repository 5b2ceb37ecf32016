/*
 * test_dq_schema.c - berth's schema against dqlite 1.11's assertions.
 *
 * dqlite 1.11 (Debian's build keeps assert()) aborts the whole node when
 * a query reads a column whose DECLARED type is DATETIME, DATE or
 * TIMESTAMP holding anything but an integer, text or null, or BOOLEAN
 * holding anything but an integer or null (canonical/dqlite@v1.11.1
 * src/query.c, value_type; docs/ha.md). An embedded node would take the
 * master down with it, so the schema must declare none of these types:
 * this test runs every migration on a fresh SQLite file (the master
 * fixture, as store_open does at start-up, settings columns included)
 * and reads PRAGMA table_info of every table, naming each
 * table.column that breaks the rule.
 */
#include "tests/lib/master_fixture.h"
#include "tests/unit/test.h"

#include <sqlite3.h>
#include <strings.h>

/* The declared types dqlite 1.11 matches (case-insensitively, whole). */
static const char *const banned[] = { "DATETIME", "DATE", "TIMESTAMP",
    "BOOLEAN" };

static int
is_banned(const char *decl)
{
	size_t i;

	for (i = 0; i < sizeof banned / sizeof banned[0]; i++)
		if (decl != NULL && strcasecmp(decl, banned[i]) == 0)
			return 1;
	return 0;
}

/* The guard itself, on any database: the number of bad columns, each
 * printed. */
static int
bad_columns(sqlite3 *db, int *ncols)
{
	sqlite3_stmt *tables = NULL, *info = NULL;
	int bad = 0;

	*ncols = 0;
	if (sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE "
	    "type = 'table' ORDER BY name", -1, &tables, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT name, type FROM "
	    "pragma_table_info(?)", -1, &info, NULL) != SQLITE_OK) {
		printf("  # %s\n", sqlite3_errmsg(db));
		return -1;
	}
	while (sqlite3_step(tables) == SQLITE_ROW) {
		const char *table = (const char *)sqlite3_column_text(tables,
		    0);

		sqlite3_bind_text(info, 1, table, -1, SQLITE_TRANSIENT);
		while (sqlite3_step(info) == SQLITE_ROW) {
			const char *col = (const char *)
			    sqlite3_column_text(info, 0);
			const char *decl = (const char *)
			    sqlite3_column_text(info, 1);

			(*ncols)++;
			if (is_banned(decl)) {
				printf("  # %s.%s is declared %s: dqlite 1.11 "
				    "aborts reading it when it holds another "
				    "type (use INTEGER or TEXT)\n", table, col,
				    decl);
				bad++;
			}
		}
		sqlite3_reset(info);
	}
	sqlite3_finalize(tables);
	sqlite3_finalize(info);
	return bad;
}

/* The guard finds a bad column (so that it can fail). */
static void
test_guard_catches(void)
{
	sqlite3 *db = NULL;
	int n = 0;

	CHECK(sqlite3_open(":memory:", &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db, "CREATE TABLE a (x INTEGER, at datetime, "
	    "ok TEXT); CREATE TABLE b (flag Boolean, d DATE, t TIMESTAMP, "
	    "dt DATETIME2)", NULL, NULL, NULL) == SQLITE_OK);
	printf("  # (the four lines below are expected)\n");
	CHECK_INT(bad_columns(db, &n), 4);
	CHECK_INT(n, 7);
	sqlite3_close(db);
}

/* berth's schema, every migration applied. */
static void
test_berth_schema(void)
{
	struct master_fixture *f = master_fixture_new();
	int n = 0;

	CHECK_INT(bad_columns(store_db(f->st), &n), 0);
	CHECK(n > 50);		/* the schema was really read */
	printf("  # %d columns checked\n", n);
	master_fixture_free(f);
}

int
main(void)
{
	TEST_RUN(test_guard_catches);
	TEST_RUN(test_berth_schema);
	return TEST_DONE();
}
