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
store_settings_bind(sqlite3_stmt *s, int first, const struct setting_table *t,
    const void *base)
{
	const struct setting *row;
	const char *p = base;
	size_t i;

	for (i = 0; i < t->n; i++) {
		row = &t->rows[i];
		switch (row->type) {
		case SETTING_INT:
			sqlite3_bind_int64(s, first + (int)i,
			    *(const int64_t *)(p + row->off));
			break;
		case SETTING_BOOL:
			sqlite3_bind_int(s, first + (int)i,
			    *(const int *)(p + row->off));
			break;
		case SETTING_STRING:
			if (row->secret && p[row->off] != '\0' &&
			    !settings_is_sealed(p + row->off))
				sqlite3_bind_null(s, first + (int)i);
			else
				sqlite3_bind_text(s, first + (int)i,
				    p + row->off, -1, SQLITE_TRANSIENT);
			break;
		}
	}
}

void
store_settings_read(sqlite3_stmt *s, int first, const struct setting_table *t,
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
			    sqlite3_column_int64(s, first + (int)i);
			break;
		case SETTING_BOOL:
			*(int *)(p + row->off) =
			    sqlite3_column_int(s, first + (int)i) != 0;
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
		def = sqlite3_mprintf("%Q", row->def_str ? row->def_str : "");
		xasprintf(&out, "%s TEXT NOT NULL DEFAULT %s", row->name, def);
		sqlite3_free(def);
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
	sqlite3_stmt *q;
	char *sql, *def, *err = NULL;
	unsigned char *have;
	size_t i;
	int rc = -1;

	/* Which rows already have a column (table_info: cid, name, ...). */
	have = xcalloc(t->n ? t->n : 1, 1);
	sql = sqlite3_mprintf("PRAGMA table_info(%Q)", table);
	if (sqlite3_prepare_v2(store_db(st), sql, -1, &q, NULL) != SQLITE_OK) {
		xasprintf(cause, "%s: %s", table, store_errmsg(st));
		goto out;
	}
	while (sqlite3_step(q) == SQLITE_ROW) {
		for (i = 0; i < t->n; i++)
			if (strcmp(t->rows[i].name,
			    store_col_text(q, 1)) == 0)
				have[i] = 1;
	}
	sqlite3_finalize(q);
	for (i = 0; i < t->n; i++) {
		if (have[i])
			continue;
		def = store_settings_coldef(&t->rows[i]);
		sqlite3_free(sql);
		sql = sqlite3_mprintf("ALTER TABLE %Q ADD COLUMN %s", table,
		    def);
		free(def);
		if (sqlite3_exec(store_db(st), sql, NULL, NULL, &err) !=
		    SQLITE_OK) {
			xasprintf(cause, "cannot add setting %s to %s: %s",
			    t->rows[i].name, table, err ? err : "?");
			sqlite3_free(err);
			goto out;
		}
	}
	rc = 0;
out:
	sqlite3_free(sql);
	free(have);
	return rc;
}
