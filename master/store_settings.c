/*
 * store_settings.c - the store's side of a settings table: its columns,
 * and binding or reading a settings struct in table order.
 *
 * Each row of a table (common/settings.h) is a column of the same name in
 * its owner's table (grids, ...): INTEGER for ints and bools, TEXT for
 * strings, NOT NULL with the row's default. store_settings_columns() adds
 * a column that a new row brought, at start-up inside the migration step,
 * so adding a setting needs no hand-written migration; the unit tests
 * check that every column's DEFAULT is the table's.
 *
 * A secret row's field holds its sealed envelope (settings.h); a secret
 * that is not sealed is bound as NULL, which its NOT NULL column refuses:
 * the write fails rather than put a secret in clear into the file.
 *
 * Called on the caller's thread with its own connection.
 */
#include "master/store.h"

#include "common/util.h"
#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>

char *
store_settings_cols(const struct setting_table *t)
{
	struct buf b = { 0 };
	size_t i;

	for (i = 0; i < t->n; i++)
		buf_printf(&b, "%s%s", i ? ", " : "", t->rows[i].name);
	return b.data != NULL ? b.data : xstrdup("");
}

void
store_settings_bind(struct store_stmt *s, int first, const struct setting_table *t,
    const void *base)
{
	const struct setting *row;
	const char *p = base;
	size_t i;

	for (i = 0; i < t->n; i++) {
		row = &t->rows[i];
		switch (row->type) {
		case SETTING_INT:
			stmt_bind_int64(s, first + (int)i,
			    *(const int64_t *)(p + row->off));
			break;
		case SETTING_BOOL:
			stmt_bind_int(s, first + (int)i,
			    *(const int *)(p + row->off));
			break;
		case SETTING_STRING:
			if (row->secret && p[row->off] != '\0' &&
			    !settings_is_sealed(p + row->off))
				stmt_bind_null(s, first + (int)i);
			else
				stmt_bind_text(s, first + (int)i,
				    p + row->off);
			break;
		}
	}
}

void
store_settings_read(struct store_stmt *s, int first, const struct setting_table *t,
    void *base)
{
	const struct setting *row;
	const char *text;
	char *p = base;
	size_t i;

	for (i = 0; i < t->n; i++) {
		row = &t->rows[i];
		switch (row->type) {
		case SETTING_INT:
			*(int64_t *)(p + row->off) =
			    stmt_col_int64(s, first + (int)i);
			break;
		case SETTING_BOOL:
			*(int *)(p + row->off) =
			    stmt_col_int(s, first + (int)i) != 0;
			break;
		case SETTING_STRING:
			text = store_col_text(s, first + (int)i);
			snprintf(p + row->off, row->secret ?
			    SETTING_SEALED_SIZE(row->size) : row->size, "%s",
			    text != NULL ? text : "");
			break;
		}
	}
}

/* The column definition of row, as ALTER TABLE ... ADD COLUMN takes it. */
static char *
store_settings_coldef(const struct setting *row)
{
	char *def, *out;

	if (row->type == SETTING_STRING) {
		def = store_sql_printf("%Q", row->def_str ? row->def_str : "");
		xasprintf(&out, "%s TEXT NOT NULL DEFAULT %s", row->name, def);
		free(def);
	} else
		xasprintf(&out, "%s INTEGER NOT NULL DEFAULT %lld", row->name,
		    (long long)(row->type == SETTING_BOOL ? row->def != 0 :
		    row->def));
	return out;
}

int
store_settings_columns(struct store *st, const char *table,
    const struct setting_table *t, char **cause)
{
	struct store_stmt *q;
	char *sql, *def;
	unsigned char *have;
	size_t i;
	int rc = -1;

	/* Which rows already have a column (table_info: cid, name, ...). */
	have = xcalloc(t->n ? t->n : 1, 1);
	sql = store_sql_printf("PRAGMA table_info(%Q)", table);
	if ((q = store_prepare(st, sql)) == NULL) {
		xasprintf(cause, "%s: %s", table, store_errmsg(st));
		goto out;
	}
	while (stmt_step(q) == STORE_ROW) {
		for (i = 0; i < t->n; i++)
			if (strcmp(t->rows[i].name,
			    store_col_text(q, 1)) == 0)
				have[i] = 1;
	}
	stmt_free(q);
	for (i = 0; i < t->n; i++) {
		if (have[i])
			continue;
		def = store_settings_coldef(&t->rows[i]);
		free(sql);
		sql = store_sql_printf("ALTER TABLE %Q ADD COLUMN %s", table,
		    def);
		free(def);
		if (store_exec(st, sql) != STORE_OK) {
			xasprintf(cause, "cannot add setting %s to %s: %s",
			    t->rows[i].name, table, store_errmsg(st));
			goto out;
		}
	}
	rc = 0;
out:
	free(sql);
	free(have);
	return rc;
}
