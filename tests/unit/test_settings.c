/*
 * test_settings.c - the settings engine (common/settings.c), the grid
 * settings table, the store columns it drives, and the unit parsers.
 *
 * The schema checks open a real SQLite file in a temporary directory and
 * read PRAGMA table_info: the columns and their DEFAULTs must be the
 * table's, whether they came from the first migration or were added
 * because a row was added later.
 */
#include "tests/unit/test.h"

#include "common/grid_settings.h"
#include "common/nodegroup_settings.h"
#include "common/settings.h"
#include "common/units.h"
#include "common/xmalloc.h"
#include "master/store.h"
#include "master/vault.h"
#include "scheduler/sched.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/berth-test-settings-XXXXXX";

static struct store *
open_store(const char *name)
{
	char path[256], *cause = NULL;
	struct store *st;

	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	st = store_open(path, &cause);
	if (st == NULL || store_migrate(st, &cause) != 0) {
		printf("  store: %s\n", cause ? cause : "?");
		free(cause);
		store_close(st);
		return NULL;
	}
	return st;
}

/* Every row's column exists with the row's type, NOT NULL and default. */
static int
schema_matches(struct store *st, const char *table,
    const struct setting_table *t)
{
	struct store_stmt *q;
	char sql[128], want[256];
	const struct setting *row;
	size_t i, found;
	int ok = 1;

	snprintf(sql, sizeof sql, "PRAGMA table_info(%s)", table);
	for (i = 0; i < t->n; i++) {
		row = &t->rows[i];
		if (row->type == SETTING_STRING)
			snprintf(want, sizeof want, "'%s'", row->def_str);
		else
			snprintf(want, sizeof want, "%lld",
			    (long long)row->def);
		found = 0;
		CHECK((q = store_prepare(st, sql)) != NULL);
		/* cid, name, type, notnull, dflt_value, pk */
		while (stmt_step(q) == STORE_ROW) {
			if (strcmp(stmt_col_text(q, 1),
			    row->name) != 0)
				continue;
			found = 1;
			if (strcmp(stmt_col_text(q, 2),
			    row->type == SETTING_STRING ? "TEXT" :
			    "INTEGER") != 0 || stmt_col_int(q, 3) != 1 ||
			    stmt_col_text(q, 4) == NULL ||
			    strcmp(stmt_col_text(q, 4),
			    want) != 0) {
				printf("  column %s.%s: %s NOT NULL=%d DEFAULT "
				    "%s, the table says %s\n", table, row->name,
				    stmt_col_text(q, 2),
				    stmt_col_int(q, 3),
				    stmt_col_text(q, 4), want);
				ok = 0;
			}
		}
		stmt_free(q);
		if (!found) {
			printf("  no column %s.%s\n", table, row->name);
			ok = 0;
		}
	}
	return ok;
}

static void
test_schema_defaults_match_table(void)
{
	struct store *st = open_store("schema.db");

	CHECK(st != NULL);
	if (st == NULL)
		return;
	CHECK(schema_matches(st, "grids", &grid_settings_table));
	/* A node group's settings too (a fixed column of the same name as
	 * a row would shadow it: the default would not match). */
	CHECK(schema_matches(st, "node_groups", &nodegroup_settings_table));
	store_close(st);
}

/* A row added to a table becomes a column at the next start. */
struct ext_settings {
	struct grid_settings	 g;
	char			 mode[16];
	int64_t			 budget;
};

static const char *const ext_modes[] = { "auto", "manual", NULL };

static void
test_new_row_adds_column(void)
{
	struct setting *rows;
	struct setting_table ext;
	struct grid_settings gs;
	struct grid g;
	struct store *st;
	size_t n = grid_settings_table.n;
	unsigned char hash[32] = { 1 }, sealed[60] = { 0 };
	struct store_stmt *q;

	/* The real table plus two rows, however long the table grows. */
	rows = xcalloc(n + 2, sizeof rows[0]);
	memcpy(rows, grid_settings_table.rows, n * sizeof rows[0]);
	rows[n] = (struct setting){ .name = "join_mode", .type = SETTING_STRING,
	    .off = offsetof(struct ext_settings, mode), .size = 16,
	    .def_str = "auto", .choices = ext_modes, .help = "test" };
	rows[n + 1] = (struct setting){ .name = "budget", .type = SETTING_INT,
	    .off = offsetof(struct ext_settings, budget), .def = 7, .min = 0,
	    .max = 100, .help = "test" };
	ext = grid_settings_table;
	ext.rows = rows;
	ext.n = n + 2;
	ext.size = sizeof(struct ext_settings);

	/* A database with a grid, made before the rows existed. */
	st = open_store("grow.db");
	CHECK(st != NULL);
	if (st == NULL)
		return;
	grid_settings_default(&gs);
	CHECK_INT(store_grid_create(st, "old", &gs, hash, sealed,
	    sizeof sealed, &g), 0);
	{
		char *cause = NULL;

		CHECK_INT(store_settings_columns(st, "grids", &ext, &cause), 0);
		CHECK(cause == NULL);
		free(cause);
		/* Idempotent: the second start adds nothing. */
		CHECK_INT(store_settings_columns(st, "grids", &ext, &cause), 0);
		free(cause);
	}
	CHECK(schema_matches(st, "grids", &ext));
	/* The existing grid got the defaults. */
	CHECK((q = store_prepare(st, "SELECT join_mode, budget FROM "
	    "grids WHERE name = 'old'")) != NULL);
	CHECK(stmt_step(q) == STORE_ROW);
	CHECK_STR(stmt_col_text(q, 0), "auto");
	CHECK_INT(stmt_col_int64(q, 1), 7);
	stmt_free(q);
	store_close(st);
	free(rows);
}

static void
test_defaults_everywhere(void)
{
	struct grid_settings gs;
	struct sched_settings ss;
	const struct setting *row;

	grid_settings_default(&gs);
	CHECK_INT(gs.heartbeat_interval_s, 5);
	CHECK_INT(gs.offline_after_s, 15);
	CHECK_INT(gs.ephemeral_removal_s, 1200);
	CHECK_INT(gs.dry_run, 0);
	/* The scheduler's defaults are the grid's, in ms. */
	sched_settings_default(&ss);
	CHECK_INT(ss.ha_grace_ms, gs.ha_grace_s * 1000);
	CHECK_INT(ss.random_grace_ms, gs.random_grace_s * 1000);
	CHECK_INT(ss.ephemeral_removal_ms, gs.ephemeral_removal_s * 1000);
	CHECK_INT(ss.settle_ms, gs.rebalance_settle_s * 1000);
	CHECK_INT(ss.move_cooldown_ms, gs.move_cooldown_s * 1000);
	CHECK_INT(ss.offline_after_ms, gs.offline_after_s * 1000);
	/* Every default is within its own bounds. */
	for (size_t i = 0; i < grid_settings_table.n; i++) {
		row = &grid_settings_table.rows[i];
		if (row->type == SETTING_INT)
			CHECK(row->def >= row->min && row->def <= row->max);
		CHECK(row->help != NULL && row->help[0] != '\0');
	}
}

static void
test_apply_json(void)
{
	struct grid_settings gs, before;
	char *field = NULL, *cause = NULL;
	json_t *o;

	grid_settings_default(&gs);
	before = gs;
	o = json_pack("{s:i, s:b}", "ephemeral_removal_s", 30, "dry_run", 1);
	CHECK_INT(settings_apply_json(&grid_settings_table, &gs, o, &field,
	    &cause), 0);
	CHECK_INT(gs.ephemeral_removal_s, 30);
	CHECK_INT(gs.dry_run, 1);
	json_decref(o);

	/* One bad key changes nothing, not even the good keys beside it. */
	gs = before;
	o = json_pack("{s:i, s:i}", "ha_grace_s", 7, "heartbeat_interval_s",
	    0);
	CHECK_INT(settings_apply_json(&grid_settings_table, &gs, o, &field,
	    &cause), -1);
	CHECK_STR(field, "heartbeat_interval_s");
	CHECK_HAS(cause, "whole number of seconds from 1 to 3600");
	CHECK(memcmp(&gs, &before, sizeof gs) == 0);
	free(field);
	free(cause);
	json_decref(o);

	o = json_pack("{s:i}", "warp", 9);
	CHECK_INT(settings_apply_json(&grid_settings_table, &gs, o, &field,
	    &cause), -1);
	CHECK_STR(field, "warp");
	CHECK_HAS(cause, "unknown setting \"warp\"");
	free(field);
	free(cause);
	json_decref(o);

	o = json_pack("{s:s}", "dry_run", "yes");
	CHECK_INT(settings_apply_json(&grid_settings_table, &gs, o, &field,
	    &cause), -1);
	CHECK_HAS(cause, "dry_run must be true or false");
	free(field);
	free(cause);
	json_decref(o);

	/* The table's cross-field rule, on the settings as they would be. */
	o = json_pack("{s:i, s:i}", "heartbeat_interval_s", 20,
	    "offline_after_s", 10);
	CHECK_INT(settings_apply_json(&grid_settings_table, &gs, o, &field,
	    &cause), -1);
	CHECK_STR(field, "offline_after_s");
	CHECK_HAS(cause, "must be at least heartbeat_interval_s");
	CHECK(memcmp(&gs, &before, sizeof gs) == 0);
	free(field);
	free(cause);
	json_decref(o);

	o = json_integer(3);
	CHECK_INT(settings_apply_json(&grid_settings_table, &gs, o, &field,
	    &cause), -1);
	CHECK(field == NULL);
	free(cause);
	json_decref(o);
}

static void
test_json_and_diff(void)
{
	struct grid_settings a, b;
	json_t *o;
	char *d;

	grid_settings_default(&a);
	o = settings_to_json(&grid_settings_table, &a);
	CHECK_INT(json_object_size(o), grid_settings_table.n);
	CHECK_INT(json_integer_value(json_object_get(o,
	    "ephemeral_removal_s")), 1200);
	CHECK(json_is_false(json_object_get(o, "dry_run")));
	json_decref(o);

	b = a;
	CHECK(settings_diff(&grid_settings_table, &a, &b) == NULL);
	b.ephemeral_removal_s = 30;
	b.dry_run = 1;
	d = settings_diff(&grid_settings_table, &a, &b);
	CHECK_STR(d, "ephemeral_removal_s 1200 -> 30, dry_run false -> true");
	free(d);
}

/*
 * A secret row: sealed when applied (never in clear in the struct, so
 * never in the store), shown redacted, opened only with the same key;
 * the store refuses a secret that is not sealed.
 */
static void
test_secret_sealed(void)
{
	static const char url[] = "https://hooks.slack.com/services/T0/B0/xyz";
	const struct setting *row = settings_find(&grid_settings_table,
	    "webhook_url");
	unsigned char k1[TOKEN_KEY_LEN], k2[TOKEN_KEY_LEN];
	unsigned char hash[32];
	struct grid_settings a, b, c;
	struct grid g;
	struct store *st;
	struct store_stmt *q;
	json_t *body, *o;
	char *field = NULL, *cause = NULL, *clear = NULL, *d;

	memset(k1, 1, sizeof k1);
	memset(k2, 2, sizeof k2);
	grid_settings_default(&a);
	body = json_pack("{s:s}", "webhook_url", url);

	/* No sealer: a secret cannot be applied at all. */
	vault_settings_sealer(NULL);
	b = a;
	CHECK_INT(settings_apply_json(&grid_settings_table, &b, body, &field,
	    &cause), -1);
	CHECK_STR(field, "webhook_url");
	CHECK_HAS(cause, "cannot be sealed");
	free(field);
	free(cause);
	CHECK_STR(b.webhook_url, "");

	vault_settings_sealer(k1);
	CHECK_INT(settings_apply_json(&grid_settings_table, &b, body, &field,
	    &cause), 0);
	CHECK(settings_is_sealed(b.webhook_url));
	CHECK(strstr(b.webhook_url, "/services") == NULL);
	CHECK(strstr(b.webhook_url, "xyz") == NULL);
	o = settings_to_json(&grid_settings_table, &b);
	CHECK_STR(json_string_value(json_object_get(o, "webhook_url")),
	    "https://hooks.slack.com/***");
	json_decref(o);
	d = settings_diff(&grid_settings_table, &a, &b);
	CHECK_STR(d, "webhook_url  -> https://hooks.slack.com/***");
	free(d);
	/* The same URL again: a new seal, said to have changed. */
	c = b;
	CHECK_INT(settings_apply_json(&grid_settings_table, &c, body, &field,
	    &cause), 0);
	d = settings_diff(&grid_settings_table, &b, &c);
	CHECK_STR(d, "webhook_url https://hooks.slack.com/*** -> "
	    "https://hooks.slack.com/*** (changed)");
	free(d);

	/* Opens with the key that sealed it, not with another. */
	CHECK_INT(settings_unseal(&grid_settings_table, row, b.webhook_url,
	    &clear, &cause), 0);
	CHECK_STR(clear, url);
	free(clear);
	vault_settings_sealer(k2);
	CHECK_INT(settings_unseal(&grid_settings_table, row, b.webhook_url,
	    &clear, &cause), -1);
	CHECK(clear == NULL);
	CHECK_HAS(cause, "cannot be unsealed with this master's key");
	CHECK(strstr(cause, "xyz") == NULL);
	free(cause);
	/* A sealed value cannot come from outside. */
	json_decref(body);
	body = json_pack("{s:s}", "webhook_url", b.webhook_url);
	CHECK_INT(settings_apply_json(&grid_settings_table, &c, body, &field,
	    &cause), -1);
	CHECK_HAS(cause, "must not begin with");
	free(field);
	free(cause);
	json_decref(body);

	/* The store keeps the envelope, and refuses a secret in clear. */
	CHECK((st = open_store("secret.db")) != NULL);
	if (st == NULL)
		return;
	memset(hash, 0, sizeof hash);
	CHECK_INT(store_grid_create(st, "g", &a, hash, hash, sizeof hash,
	    &g), 0);
	CHECK_INT(store_grid_update_settings(st, g.id, &b), 0);
	q = store_prepare(st, "SELECT webhook_url FROM grids "
	    "WHERE name = 'g'");
	if (q != NULL && stmt_step(q) == STORE_ROW)
		CHECK_STR(stmt_col_text(q, 0),
		    b.webhook_url);
	stmt_free(q);
	c = b;
	snprintf(c.webhook_url, sizeof c.webhook_url, "%s", url);
	CHECK_INT(store_grid_update_settings(st, g.id, &c), -1);
	CHECK_INT(store_grid_get(st, "g", &g), 1);
	CHECK_STR(g.settings.webhook_url, b.webhook_url);
	store_close(st);
	vault_settings_sealer(NULL);
}

static void
test_value_from_text(void)
{
	const struct setting *r, *dry;
	json_t *v = NULL;
	char *cause = NULL;

	r = settings_find(&grid_settings_table, "ephemeral_removal_s");
	dry = settings_find(&grid_settings_table, "dry_run");
	CHECK(r != NULL && dry != NULL);
	CHECK(settings_find(&grid_settings_table, "warp") == NULL);
	CHECK_INT(settings_value_from_text(r, "30", &v, &cause), 0);
	CHECK_INT(json_integer_value(v), 30);
	json_decref(v);
	CHECK_INT(settings_value_from_text(r, "20m", &v, &cause), 0);
	CHECK_INT(json_integer_value(v), 1200);
	json_decref(v);
	CHECK_INT(settings_value_from_text(r, "1h30m", &v, &cause), 0);
	CHECK_INT(json_integer_value(v), 5400);
	json_decref(v);
	CHECK_INT(settings_value_from_text(r, "soon", &v, &cause), -1);
	CHECK_HAS(cause, "ephemeral_removal_s: \"soon\" is not a duration");
	free(cause);
	CHECK_INT(settings_value_from_text(dry, "on", &v, &cause), 0);
	CHECK(json_is_true(v));
	json_decref(v);
	CHECK_INT(settings_value_from_text(dry, "false", &v, &cause), 0);
	CHECK(json_is_false(v));
	json_decref(v);
	CHECK_INT(settings_value_from_text(dry, "maybe", &v, &cause), -1);
	free(cause);
}

static void
test_usage_lists_every_row(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	settings_usage(&grid_settings_table, f, "  ");
	fclose(f);
	for (size_t i = 0; i < grid_settings_table.n; i++) {
		CHECK_HAS(text, grid_settings_table.rows[i].name);
		CHECK_HAS(text, grid_settings_table.rows[i].help);
	}
	CHECK_HAS(text, "default 1200 (20m); 1..2592000 seconds");
	CHECK_HAS(text, "default false; true or false");
	free(text);
}

/*
 * docs/api.md documents every grid setting with its default (tests run
 * from the repository's root).
 */
static void
test_docs_name_every_setting(void)
{
	FILE *f = fopen("docs/api.md", "r");
	char *text = NULL;
	size_t len = 0;
	ssize_t got;

	if (f == NULL) {
		printf("  docs/api.md not found from %s\n", getcwd(NULL, 0));
		CHECK(f != NULL);
		return;
	}
	got = getdelim(&text, &len, '\0', f);
	fclose(f);
	CHECK(got > 0);
	/* Each row of its table: | `name` | default | ... */
	for (size_t i = 0; i < grid_settings_table.n && got > 0; i++) {
		const struct setting *row = &grid_settings_table.rows[i];
		char want[128];

		if (row->type == SETTING_BOOL)
			snprintf(want, sizeof want, "| `%s` | %s |", row->name,
			    row->def ? "true" : "false");
		else if (row->type == SETTING_STRING)
			snprintf(want, sizeof want, "| `%s` | \"%s\" |",
			    row->name, row->def_str);
		else
			snprintf(want, sizeof want, "| `%s` | %lld |",
			    row->name, (long long)row->def);
		CHECK_HAS(text, want);
	}
	free(text);
	/* docs/autoscaling.md: every node group setting, with its default. */
	f = fopen("docs/autoscaling.md", "r");
	CHECK(f != NULL);
	if (f == NULL)
		return;
	text = NULL;
	len = 0;
	got = getdelim(&text, &len, '\0', f);
	fclose(f);
	for (size_t i = 0; i < nodegroup_settings_table.n && got > 0; i++) {
		const struct setting *row = &nodegroup_settings_table.rows[i];
		char want[128];

		if (row->type == SETTING_STRING)
			snprintf(want, sizeof want, "| `%s` | \"%s\" |",
			    row->name, row->def_str);
		else
			snprintf(want, sizeof want, "| `%s` | %lld |",
			    row->name, (long long)row->def);
		CHECK_HAS(text, want);
	}
	free(text);
}

static void
test_units(void)
{
	long long v;
	char *cause = NULL, buf[32];

	CHECK(units_parse_bytes("1GiB", &v, &cause) == 0 && v == 1LL << 30);
	CHECK(units_parse_bytes("7 d", &v, &cause) == -1);
	free(cause);
	CHECK_STR(units_format_duration(1200, buf, sizeof buf), "20m");
	CHECK_STR(units_format_duration(5400, buf, sizeof buf), "1h30m");
	CHECK_STR(units_format_duration(604800, buf, sizeof buf), "7d");
	CHECK_STR(units_format_duration(90, buf, sizeof buf), "1m30s");
	CHECK_STR(units_format_duration(0, buf, sizeof buf), "0s");
	CHECK_STR(units_format_bytes(1LL << 30, buf, sizeof buf), "1GiB");
	CHECK_STR(units_format_bytes(1536LL << 20, buf, sizeof buf),
	    "1536MiB");
	CHECK_STR(units_format_bytes(1000, buf, sizeof buf), "1000");
}

int
main(void)
{
	char cmd[300];

	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	TEST_RUN(test_schema_defaults_match_table);
	TEST_RUN(test_new_row_adds_column);
	TEST_RUN(test_defaults_everywhere);
	TEST_RUN(test_apply_json);
	TEST_RUN(test_json_and_diff);
	TEST_RUN(test_secret_sealed);
	TEST_RUN(test_value_from_text);
	TEST_RUN(test_usage_lists_every_row);
	TEST_RUN(test_docs_name_every_setting);
	TEST_RUN(test_units);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", tmpdir);
	return TEST_DONE();
}
