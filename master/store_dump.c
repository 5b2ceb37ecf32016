/*
 * store_dump.c - berth-master --dump FILE: the store as a plain SQLite
 * file a single master starts on (docs/ha.md, "Backups").
 *
 * Plain backend: VACUUM INTO, one read transaction, so the copy is a
 * consistent snapshot while the master runs. dqlite backend: the store is
 * read through the cluster's leader inside one read transaction (BEGIN,
 * pinned to its connection: a snapshot, writers are not held up): the
 * schema from sqlite_master, every row of every table (values keep their
 * types), sqlite_sequence, then the indexes and triggers, and the schema
 * version. Both write FILE.tmp and rename it to FILE when complete, so a
 * failed dump leaves no half file under the name.
 */
#include "master/store.h"

#include "common/xmalloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct dump_obj {
	char	*type;
	char	*name;
	char	*sql;
};

static void
dump_objs_free(struct dump_obj *o, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(o[i].type);
		free(o[i].name);
		free(o[i].sql);
	}
	free(o);
}

/* Copy the current row of s into the INSERT ins (bound by position). */
static void
dump_bind_row(struct store_stmt *s, struct store_stmt *ins, int ncols)
{
	int i;

	for (i = 0; i < ncols; i++) {
		switch (stmt_col_type(s, i)) {
		case STORE_INTEGER:
			stmt_bind_int64(ins, i + 1, stmt_col_int64(s, i));
			break;
		case STORE_FLOAT:
			stmt_bind_double(ins, i + 1, stmt_col_double(s, i));
			break;
		case STORE_TEXT:
			stmt_bind_text(ins, i + 1, stmt_col_text(s, i));
			break;
		case STORE_BLOB:
			stmt_bind_blob_copy(ins, i + 1, stmt_col_blob(s, i),
			    stmt_col_bytes(s, i));
			break;
		default:
			stmt_bind_null(ins, i + 1);
		}
	}
}

/* Every row of table name from src into dst. -1 with *cause. */
static int
dump_copy_table(struct store *src, struct store *dst, const char *name,
    char **cause)
{
	struct store_stmt *s = NULL, *ins = NULL;
	char *sql, *q = NULL;
	size_t qlen;
	int rc, ncols = -1, i, ret = -1;

	sql = store_sql_printf("SELECT * FROM \"%w\"", name);
	s = store_prepare(src, sql);
	free(sql);
	if (s == NULL) {
		xasprintf(cause, "reading %s: %s", name, store_errmsg(src));
		return -1;
	}
	while ((rc = stmt_step(s)) == STORE_ROW) {
		if (ins == NULL) {
			ncols = stmt_col_count(s);
			qlen = (size_t)ncols * 2 + 1;
			q = xcalloc(1, qlen);
			for (i = 0; i < ncols; i++)
				strcat(q, i == 0 ? "?" : ",?");
			sql = store_sql_printf("INSERT INTO \"%w\" VALUES (%s)",
			    name, q);
			ins = store_prepare(dst, sql);
			free(sql);
			if (ins == NULL) {
				xasprintf(cause, "writing %s: %s", name,
				    store_errmsg(dst));
				goto out;
			}
		} else
			stmt_reset(ins);
		dump_bind_row(s, ins, ncols);
		if (stmt_step(ins) != STORE_DONE) {
			xasprintf(cause, "writing a row of %s: %s", name,
			    store_errmsg(dst));
			goto out;
		}
	}
	if (rc != STORE_DONE) {
		xasprintf(cause, "reading %s: %s", name, store_errmsg(src));
		goto out;
	}
	ret = 0;
out:
	free(q);
	stmt_free(ins);
	stmt_free(s);
	return ret;
}

/* The copy through the shim (dqlite): src in one read transaction. */
static int
dump_copy(struct store *src, struct store *dst, char **cause)
{
	struct store_stmt *s;
	struct dump_obj *o = NULL;
	size_t n = 0, cap = 0, i;
	char *sql;
	int rc, version = 0, ret = -1, pass;

	if (store_exec(src, "BEGIN") != STORE_OK) {
		xasprintf(cause, "BEGIN: %s", store_errmsg(src));
		return -1;
	}
	if ((s = store_prepare(src, "PRAGMA user_version")) == NULL ||
	    stmt_step(s) != STORE_ROW) {
		xasprintf(cause, "reading the schema version: %s",
		    store_errmsg(src));
		stmt_free(s);
		goto out;
	}
	version = stmt_col_int(s, 0);
	stmt_free(s);
	s = store_prepare(src, "SELECT type, name, sql FROM sqlite_master "
	    "WHERE sql IS NOT NULL ORDER BY rowid");
	if (s == NULL) {
		xasprintf(cause, "reading the schema: %s", store_errmsg(src));
		goto out;
	}
	while ((rc = stmt_step(s)) == STORE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			o = xreallocarray(o, cap, sizeof *o);
		}
		o[n].type = xstrdup(stmt_col_text(s, 0) ?
		    stmt_col_text(s, 0) : "");
		o[n].name = xstrdup(stmt_col_text(s, 1) ?
		    stmt_col_text(s, 1) : "");
		o[n].sql = xstrdup(stmt_col_text(s, 2));
		n++;
	}
	stmt_free(s);
	if (rc != STORE_DONE) {
		xasprintf(cause, "reading the schema: %s", store_errmsg(src));
		goto out;
	}
	/* Rows go in table order, not parents first. */
	if (store_exec(dst, "PRAGMA foreign_keys = OFF") != STORE_OK ||
	    store_exec(dst, "BEGIN") != STORE_OK) {
		xasprintf(cause, "%s", store_errmsg(dst));
		goto out;
	}
	/* Tables first (with their rows), then indexes, triggers, views. */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < n; i++) {
			int table = strcmp(o[i].type, "table") == 0;

			if (table != (pass == 0) ||
			    strncmp(o[i].name, "sqlite_", 7) == 0)
				continue;
			if (store_exec(dst, o[i].sql) != STORE_OK) {
				xasprintf(cause, "creating %s %s: %s",
				    o[i].type, o[i].name, store_errmsg(dst));
				goto rollback;
			}
			if (table && dump_copy_table(src, dst, o[i].name,
			    cause) != 0)
				goto rollback;
		}
	}
	for (i = 0; i < n; i++) {
		if (strcmp(o[i].name, "sqlite_sequence") == 0 &&
		    dump_copy_table(src, dst, o[i].name, cause) != 0)
			goto rollback;
	}
	xasprintf(&sql, "PRAGMA user_version = %d", version);
	rc = store_exec(dst, sql);
	free(sql);
	if (rc != STORE_OK || store_exec(dst, "COMMIT") != STORE_OK) {
		xasprintf(cause, "%s", store_errmsg(dst));
		goto rollback;
	}
	ret = 0;
	goto out;
rollback:
	store_exec(dst, "ROLLBACK");
out:
	store_exec(src, "ROLLBACK");	/* a read: nothing to keep */
	dump_objs_free(o, n);
	return ret;
}

/* Tables, rows and schema version of the written file. */
static int
dump_count(const char *path, struct store_dump_stats *ds, char **cause)
{
	struct store *st;
	struct store_stmt *s, *c;
	char *sql;
	int rc;

	if ((st = store_open(path, cause)) == NULL)
		return -1;
	s = store_prepare(st, "SELECT name FROM sqlite_master WHERE type = "
	    "'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'");
	while (s != NULL && (rc = stmt_step(s)) == STORE_ROW) {
		sql = store_sql_printf("SELECT count(*) FROM \"%w\"",
		    stmt_col_text(s, 0));
		c = store_prepare(st, sql);
		free(sql);
		if (c != NULL && stmt_step(c) == STORE_ROW)
			ds->rows += stmt_col_int64(c, 0);
		stmt_free(c);
		ds->tables++;
	}
	stmt_free(s);
	if ((s = store_prepare(st, "PRAGMA user_version")) != NULL &&
	    stmt_step(s) == STORE_ROW)
		ds->version = stmt_col_int(s, 0);
	stmt_free(s);
	store_close(st);
	return 0;
}

int
store_dump(struct store *src, const char *path, int overwrite,
    struct store_dump_stats *ds, char **cause)
{
	struct store *dst = NULL;
	struct stat sb;
	char *tmp, *side, *sql;
	int ret = -1;

	memset(ds, 0, sizeof *ds);
	if (!overwrite && stat(path, &sb) == 0) {
		xasprintf(cause, "%s exists (--dump-overwrite replaces it)",
		    path);
		return -1;
	}
	xasprintf(&tmp, "%s.tmp", path);
	unlink(tmp);
	xasprintf(&side, "%s-wal", tmp);
	unlink(side);
	free(side);
	xasprintf(&side, "%s-shm", tmp);
	unlink(side);
	free(side);
	if (!store_is_dqlite(src)) {
		sql = store_sql_printf("VACUUM INTO %Q", tmp);
		if (store_exec(src, sql) != STORE_OK) {
			xasprintf(cause, "VACUUM INTO %s: %s", tmp,
			    store_errmsg(src));
			free(sql);
			goto out;
		}
		free(sql);
	} else {
		if ((dst = store_open(tmp, cause)) == NULL)
			goto out;
		if (dump_copy(src, dst, cause) != 0)
			goto out;
		store_close(dst);	/* checkpoints: one file */
		dst = NULL;
	}
	if (rename(tmp, path) != 0) {
		xasprintf(cause, "rename %s to %s: %s", tmp, path,
		    strerror(errno));
		goto out;
	}
	if (stat(path, &sb) == 0)
		ds->bytes = (long long)sb.st_size;
	if (dump_count(path, ds, cause) != 0)
		goto out;
	ret = 0;
out:
	store_close(dst);
	if (ret != 0)
		unlink(tmp);
	free(tmp);
	return ret;
}
