/*
 * store_dq.c - the statement shim's dqlite backend (store_dq.h): every
 * statement through berth's wire client (dq_client.c) to the leader.
 *
 * No sqlite3 call here: the values and codes are the wire protocol's,
 * which are SQLite's numbers.
 */
#include "master/store_dq.h"
#include "master/store_db.h"
#include "master/dq_client.h"

#include "common/log.h"
#include "common/xmalloc.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define SDQ_LOCK_MS	5000	/* wait for the write lock, as busy_ms */
#define SDQ_RETRIES	20	/* client rounds: an election takes ~1-3 s */

/*
 * One writer at a time in this process: dqlite 1.11 has no busy timeout,
 * so a second connection's write would fail at once with "locked".
 */
static pthread_mutex_t	sdq_write = PTHREAD_MUTEX_INITIALIZER;

struct sdq {
	struct dq_client	*cl;
	int			 changes;
	int64_t			 last_id;
	int			 errcode;
	char			*errmsg;
	int			 in_tx;		/* BEGIN sent and answered */
	int			 tx_lost;	/* its session is gone */
	int			 locked;	/* holds sdq_write */
};

struct sdq_stmt {
	struct sdq		*d;
	char			*sql;
	int			 query;		/* QUERY, else EXEC */
	struct dq_stmt		*st;		/* NULL until prepared */
	struct dq_value		*p;		/* bound values, by index-1 */
	char			**own;		/* copies p points into */
	int			 np;		/* slots of p and own */
	int			 ran;		/* executed since the reset */
	struct dq_rows		 rows;		/* a QUERY's result */
	size_t			 next;		/* rows handed out */
	char			**conv;		/* column text conversions */
};

/* ---- SQL kind -------------------------------------------------------------- */

/* The next word of sql at *pp (skipping space, comments and quoted
 * text); 0 at the end. */
static int
next_word(const char **pp, char *w, size_t len)
{
	const char *p = *pp;
	size_t n;
	char q;

	for (;;) {
		while (*p != '\0' && !isalpha((unsigned char)*p) &&
		    *p != '\'' && *p != '"' && *p != '`' && *p != '[' &&
		    !(p[0] == '-' && p[1] == '-') &&
		    !(p[0] == '/' && p[1] == '*'))
			p++;
		if (*p == '\0') {
			*pp = p;
			return 0;
		}
		if (p[0] == '-' && p[1] == '-') {
			while (*p != '\0' && *p != '\n')
				p++;
			continue;
		}
		if (p[0] == '/' && p[1] == '*') {
			const char *e = strstr(p + 2, "*/");

			p = e != NULL ? e + 2 : p + strlen(p);
			continue;
		}
		if (*p == '\'' || *p == '"' || *p == '`' || *p == '[') {
			q = *p == '[' ? ']' : *p;
			for (p++; *p != '\0' && *p != q; p++)
				;
			if (*p != '\0')
				p++;
			continue;
		}
		break;
	}
	for (n = 0; isalnum((unsigned char)*p) || *p == '_'; p++)
		if (n + 1 < len)
			w[n++] = (char)toupper((unsigned char)*p);
	w[n] = '\0';
	*pp = p;
	return 1;
}

int
sdq_sql_kind(const char *sql)
{
	const char *p = sql;
	char first[16], w[16];
	int writes = 0;

	if (!next_word(&p, first, sizeof first))
		return 0;
	while (next_word(&p, w, sizeof w)) {
		if (strcmp(w, "RETURNING") == 0)
			return -1;
		if (strcmp(w, "INSERT") == 0 || strcmp(w, "UPDATE") == 0 ||
		    strcmp(w, "DELETE") == 0 || strcmp(w, "REPLACE") == 0)
			writes = 1;
	}
	if (strcmp(first, "SELECT") == 0 || strcmp(first, "VALUES") == 0 ||
	    strcmp(first, "EXPLAIN") == 0)
		return 1;
	if (strcmp(first, "WITH") == 0)
		return !writes;
	if (strcmp(first, "PRAGMA") == 0)
		return strchr(sql, '=') == NULL;
	return 0;
}

/* ---- errors and the write lock ---------------------------------------------- */

static void
set_err(struct sdq *d, int code, const char *msg)
{
	free(d->errmsg);
	d->errmsg = xstrdup(msg);
	d->errcode = code;
}

/* Whether a failure of a call inside a transaction means the session
 * (and so the transaction) is gone. */
static int
session_gone(int64_t code)
{
	return code == DQ_CLIENT_IO || code == DQ_CLIENT_PROTO ||
	    code == DQ_CLIENT_NO_LEADER || code == DQ_CLIENT_UNKNOWN ||
	    code == DQ_CLIENT_LOST || code == DQ_CLIENT_FENCED ||
	    code == DQ_CODE_NOT_LEADER ||
	    code == DQ_CODE_LEADERSHIP_LOST;
}

/* Note the client's last failure (cause is consumed): the store code. */
static int
fail(struct sdq *d, char *cause)
{
	int64_t code = dq_client_code(d->cl);
	int rc;
	char *msg;

	if (code > 0)
		rc = (int)code;
	else if (code == DQ_CLIENT_USAGE)
		rc = STORE_MISUSE;
	else
		rc = STORE_IOERR;
	if (d->in_tx && !d->tx_lost && session_gone(code)) {
		d->tx_lost = 1;
		xasprintf(&msg, "transaction lost with its connection, nothing "
		    "of it committed: %s", cause ? cause : "?");
	} else
		msg = xstrdup(cause ? cause : "dqlite: failed");
	free(cause);
	free(d->errmsg);
	d->errmsg = msg;
	d->errcode = rc;
	return rc;
}

static int
lost(struct sdq *d)
{
	/* The message of the failure that lost it stays. */
	d->errcode = STORE_IOERR;
	return STORE_IOERR;
}

static int
lock_write(struct sdq *d)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += SDQ_LOCK_MS / 1000;
	if (pthread_mutex_timedlock(&sdq_write, &ts) != 0) {
		set_err(d, STORE_BUSY, "database is locked (another thread "
		    "held the write lock too long)");
		return -1;
	}
	return 0;
}

static void
unlock_write(void)
{
	pthread_mutex_unlock(&sdq_write);
}

/* ---- connection ------------------------------------------------------------ */

static void	end_tx(struct sdq *);

struct sdq *
sdq_open(const char *const *addrs, int naddrs, const char *database,
    int timeout_ms, const struct sdq_opts *o, char **cause)
{
	struct dq_conf conf = { .addrs = (const char **)addrs,
	    .naddrs = naddrs, .database = database, .timeout_ms = timeout_ms,
	    .retries = SDQ_RETRIES, .retry_ms = 50,
	    .deadline_ms = o != NULL ? o->deadline_ms : 0,
	    .fence = o != NULL && o->fence };
	struct sdq *d = xcalloc(1, sizeof *d);
	char *why = NULL;

	d->cl = dq_client_new(&conf);
	if (o != NULL && o->lazy)
		return d;	/* the first call connects */
	if (dq_client_connect(d->cl, &why) != 0) {
		xasprintf(cause, "dqlite: %s", why);
		free(why);
		dq_client_free(d->cl);
		free(d);
		return NULL;
	}
	return d;
}

void
sdq_close(struct sdq *d)
{
	if (d == NULL)
		return;
	if (d->locked)
		unlock_write();
	dq_client_free(d->cl);
	free(d->errmsg);
	free(d);
}

void
sdq_disconnect(struct sdq *d)
{
	if (d->in_tx)
		end_tx(d);
	dq_client_disconnect(d->cl);
}

static void
end_tx(struct sdq *d)
{
	dq_client_pin(d->cl, 0);
	if (d->locked)
		unlock_write();
	d->locked = 0;
	d->in_tx = 0;
	d->tx_lost = 0;
}

int
sdq_begin(struct sdq *d, int immediate)
{
	struct dq_result res;
	char *why = NULL;

	if (d->in_tx) {
		set_err(d, STORE_ERROR, "cannot start a transaction within a "
		    "transaction");
		return STORE_ERROR;
	}
	if (immediate && lock_write(d) != 0)
		return STORE_BUSY;
	if (dq_client_exec_sql(d->cl, immediate ? "BEGIN IMMEDIATE" : "BEGIN",
	    NULL, 0, &res, &why) != 0) {
		if (immediate)
			unlock_write();
		return fail(d, why);
	}
	if (dq_client_pin(d->cl, 1) != 0) {	/* cannot happen: it answered */
		if (immediate)
			unlock_write();
		set_err(d, STORE_IOERR, "BEGIN: no session to pin");
		return STORE_IOERR;
	}
	d->in_tx = 1;
	d->tx_lost = 0;
	d->locked = immediate;
	return STORE_OK;
}

int
sdq_commit(struct sdq *d)
{
	struct dq_result res;
	char *why = NULL;
	int64_t code;
	int rc;

	if (!d->in_tx) {
		set_err(d, STORE_ERROR, "cannot commit - no transaction is "
		    "active");
		return STORE_ERROR;
	}
	if (d->tx_lost) {
		end_tx(d);
		return lost(d);
	}
	if (dq_client_exec_sql(d->cl, "COMMIT", NULL, 0, &res, &why) == 0) {
		end_tx(d);
		return STORE_OK;
	}
	code = dq_client_code(d->cl);
	if (code == DQ_CLIENT_UNKNOWN) {
		free(d->errmsg);
		xasprintf(&d->errmsg, "COMMIT in doubt (the transaction may "
		    "or may not have committed): %s", why);
		free(why);
		d->errcode = STORE_IOERR;
		log_warn("store: %s", d->errmsg);
		end_tx(d);
		return STORE_IOERR;
	}
	rc = fail(d, why);
	if (!d->tx_lost) {
		/* The leader answered no (a constraint, busy): end it. */
		why = NULL;
		if (dq_client_exec_sql(d->cl, "ROLLBACK", NULL, 0, &res,
		    &why) != 0)
			free(why);
	}
	end_tx(d);
	return rc;
}

void
sdq_rollback(struct sdq *d)
{
	struct dq_result res;
	char *why = NULL;

	if (!d->in_tx)
		return;
	if (!d->tx_lost &&
	    dq_client_exec_sql(d->cl, "ROLLBACK", NULL, 0, &res, &why) != 0)
		free(why);	/* a broken session rolls back on the leader */
	end_tx(d);
}

/* "BEGIN", "COMMIT"... alone (any case, an optional ';'). */
static int
is_word_sql(const char *sql, const char *word)
{
	size_t n = strlen(word);

	while (isspace((unsigned char)*sql))
		sql++;
	if (strncasecmp(sql, word, n) != 0)
		return 0;
	sql += n;
	while (isspace((unsigned char)*sql) || *sql == ';')
		sql++;
	return *sql == '\0';
}

int
sdq_exec(struct sdq *d, const char *sql)
{
	struct dq_result res;
	char *why = NULL;
	int rc;

	if (is_word_sql(sql, "BEGIN") || is_word_sql(sql, "BEGIN DEFERRED"))
		return sdq_begin(d, 0);
	if (is_word_sql(sql, "BEGIN IMMEDIATE"))
		return sdq_begin(d, 1);
	if (is_word_sql(sql, "COMMIT") || is_word_sql(sql, "END"))
		return sdq_commit(d);
	if (is_word_sql(sql, "ROLLBACK") && d->in_tx) {
		sdq_rollback(d);
		return STORE_OK;
	}
	if (d->in_tx && d->tx_lost)
		return lost(d);
	if (!d->in_tx && lock_write(d) != 0)
		return STORE_BUSY;
	rc = dq_client_exec_sql(d->cl, sql, NULL, 0, &res, &why);
	if (!d->in_tx)
		unlock_write();
	if (rc != 0)
		return fail(d, why);
	d->changes = (int)res.changes;
	d->last_id = res.last_id;
	return STORE_OK;
}

int
sdq_changes(struct sdq *d)
{
	return d->changes;
}

int64_t
sdq_last_id(struct sdq *d)
{
	return d->last_id;
}

int
sdq_errcode(struct sdq *d)
{
	return d->errcode;
}

const char *
sdq_errmsg(struct sdq *d)
{
	return d->errmsg != NULL ? d->errmsg : "not an error";
}

/* ---- statements ------------------------------------------------------------ */

struct sdq_stmt *
sdq_stmt_new(struct sdq *d, const char *sql)
{
	struct sdq_stmt *s;
	int kind = sdq_sql_kind(sql);

	if (kind < 0) {
		free(d->errmsg);
		xasprintf(&d->errmsg, "RETURNING cannot run on dqlite 1.11 "
		    "(\"%.60s\")", sql);
		d->errcode = STORE_ERROR;
		return NULL;
	}
	s = xcalloc(1, sizeof *s);
	s->d = d;
	s->sql = xstrdup(sql);
	s->query = kind;
	return s;
}

static void
conv_clear(struct sdq_stmt *s)
{
	int i;

	if (s->conv == NULL)
		return;
	for (i = 0; i < s->rows.ncols; i++) {
		free(s->conv[i]);
		s->conv[i] = NULL;
	}
}

void
sdq_reset(struct sdq_stmt *s)
{
	conv_clear(s);
	free(s->conv);
	s->conv = NULL;
	dq_rows_free(&s->rows);
	s->next = 0;
	s->ran = 0;
}

static void
unbind(struct sdq_stmt *s, int i)
{
	free(s->own[i]);
	s->own[i] = NULL;
	s->p[i] = (struct dq_value){ 0 };
}

void
sdq_stmt_clear(struct sdq_stmt *s)
{
	int i;

	sdq_reset(s);
	for (i = 0; i < s->np; i++)
		unbind(s, i);
}

void
sdq_stmt_free(struct sdq_stmt *s)
{
	if (s == NULL)
		return;
	sdq_stmt_clear(s);
	dq_client_finalize(s->d->cl, s->st);
	free(s->p);
	free(s->own);
	free(s->sql);
	free(s);
}

/* The slot of parameter i (1-based), cleared; NULL when out of range. */
static struct dq_value *
slot(struct sdq_stmt *s, int i)
{
	if (i < 1 || i > DQ_PARAMS_MAX)
		return NULL;
	if (i > s->np) {
		s->p = xreallocarray(s->p, (size_t)i, sizeof *s->p);
		s->own = xreallocarray(s->own, (size_t)i, sizeof *s->own);
		memset(s->p + s->np, 0, (size_t)(i - s->np) * sizeof *s->p);
		memset(s->own + s->np, 0, (size_t)(i - s->np) *
		    sizeof *s->own);
		s->np = i;
	}
	unbind(s, i - 1);
	return &s->p[i - 1];
}

void
sdq_bind_int64(struct sdq_stmt *s, int i, int64_t v)
{
	struct dq_value *p = slot(s, i);

	if (p != NULL)
		*p = dq_int(v);
}

void
sdq_bind_double(struct sdq_stmt *s, int i, double v)
{
	struct dq_value *p = slot(s, i);

	if (p != NULL)
		*p = dq_float(v);
}

void
sdq_bind_null(struct sdq_stmt *s, int i)
{
	struct dq_value *p = slot(s, i);

	if (p != NULL)
		*p = dq_null();
}

void
sdq_bind_text(struct sdq_stmt *s, int i, const char *v)
{
	struct dq_value *p = slot(s, i);

	if (p == NULL)
		return;
	if (v == NULL) {
		*p = dq_null();
		return;
	}
	s->own[i - 1] = xstrdup(v);
	*p = dq_text(s->own[i - 1]);
}

void
sdq_bind_blob(struct sdq_stmt *s, int i, const void *v, int len, int copy)
{
	struct dq_value *p = slot(s, i);

	if (p == NULL)
		return;
	if (v == NULL || len < 0) {
		*p = dq_null();	/* SQLite binds a NULL pointer as NULL */
		return;
	}
	if (copy && len > 0) {
		s->own[i - 1] = xmalloc((size_t)len);
		memcpy(s->own[i - 1], v, (size_t)len);
		v = s->own[i - 1];
	}
	*p = dq_blob(v, (size_t)len);
}

/* Prepare on the leader if not yet: 0, or the store code. */
static int
prepared(struct sdq_stmt *s)
{
	struct sdq *d = s->d;
	char *why = NULL;

	if (s->st != NULL)
		return 0;
	if (d->in_tx && d->tx_lost)
		return lost(d);
	if (dq_client_prepare(d->cl, s->sql, &s->st, &why) != 0)
		return fail(d, why);
	return 0;
}

int
sdq_has_param(struct sdq_stmt *s, int i)
{
	/* The highest index the SQL names (what SQLite counts), so only
	 * exact for SQL numbering its parameters without gaps. */
	return prepared(s) == 0 && i >= 1 && i <= dq_stmt_nparams(s->st);
}

int
sdq_step(struct sdq_stmt *s)
{
	struct sdq *d = s->d;
	struct dq_value *params;
	struct dq_result res;
	char *why = NULL;
	int rc, n, i;

	if (s->ran) {
		if (!s->query || s->next >= s->rows.nrows)
			return STORE_DONE;
		conv_clear(s);
		s->next++;
		return STORE_ROW;
	}
	if ((rc = prepared(s)) != 0)
		return rc;
	if (d->in_tx && d->tx_lost)
		return lost(d);
	n = dq_stmt_nparams(s->st);
	params = xcalloc(n > 0 ? (size_t)n : 1, sizeof *params);
	for (i = 0; i < n; i++)
		params[i] = i < s->np && s->p[i].type != 0 ? s->p[i] :
		    dq_null();
	if (s->query) {
		rc = dq_client_query(d->cl, s->st, params, n, &s->rows, &why);
		free(params);
		if (rc != 0)
			return fail(d, why);
		s->ran = 1;
		s->next = 0;
		s->conv = xcalloc(s->rows.ncols > 0 ? (size_t)s->rows.ncols :
		    1, sizeof *s->conv);
		if (s->rows.nrows == 0)
			return STORE_DONE;
		s->next = 1;
		return STORE_ROW;
	}
	if (!d->in_tx && lock_write(d) != 0) {
		free(params);
		return STORE_BUSY;
	}
	rc = dq_client_exec(d->cl, s->st, params, n, &res, &why);
	if (!d->in_tx)
		unlock_write();
	free(params);
	if (rc != 0)
		return fail(d, why);
	d->changes = (int)res.changes;
	d->last_id = res.last_id;
	s->ran = 1;
	return STORE_DONE;
}

/* Column i of the current row, or NULL (no row, out of range). */
static const struct dq_value *
col(struct sdq_stmt *s, int i)
{
	if (!s->query || s->next == 0 || s->next > s->rows.nrows ||
	    i < 0 || i >= s->rows.ncols)
		return NULL;
	return DQ_ROW(&s->rows, s->next - 1, i);
}

int
sdq_col_count(struct sdq_stmt *s)
{
	return s->rows.ncols;
}

int
sdq_col_type(struct sdq_stmt *s, int i)
{
	const struct dq_value *v = col(s, i);

	if (v == NULL)
		return STORE_NULL;
	switch (v->type) {
	case DQ_INTEGER: case DQ_UNIXTIME: case DQ_BOOLEAN:
		return STORE_INTEGER;
	case DQ_FLOAT:
		return STORE_FLOAT;
	case DQ_TEXT: case DQ_ISO8601:
		return STORE_TEXT;
	case DQ_BLOB:
		return STORE_BLOB;
	default:
		return STORE_NULL;
	}
}

int64_t
sdq_col_int64(struct sdq_stmt *s, int i)
{
	const struct dq_value *v = col(s, i);

	if (v == NULL)
		return 0;
	switch (sdq_col_type(s, i)) {
	case STORE_INTEGER:
		return v->i;
	case STORE_FLOAT:
		return (int64_t)v->f;
	case STORE_TEXT:
		return strtoll(v->s, NULL, 10);
	default:
		return 0;
	}
}

double
sdq_col_double(struct sdq_stmt *s, int i)
{
	const struct dq_value *v = col(s, i);

	if (v == NULL)
		return 0;
	switch (sdq_col_type(s, i)) {
	case STORE_INTEGER:
		return (double)v->i;
	case STORE_FLOAT:
		return v->f;
	case STORE_TEXT:
		return strtod(v->s, NULL);
	default:
		return 0;
	}
}

const char *
sdq_col_text(struct sdq_stmt *s, int i)
{
	const struct dq_value *v = col(s, i);
	char *t;

	if (v == NULL)
		return NULL;
	switch (sdq_col_type(s, i)) {
	case STORE_TEXT:
		return v->s;
	case STORE_NULL:
		return NULL;
	default:
		break;
	}
	/* SQLite's conversions, kept until the next step or reset. */
	if (s->conv[i] != NULL)
		return s->conv[i];
	switch (sdq_col_type(s, i)) {
	case STORE_INTEGER:
		xasprintf(&t, "%lld", (long long)v->i);
		break;
	case STORE_FLOAT:
		xasprintf(&t, "%.15g", v->f);
		break;
	default:	/* BLOB: its bytes, terminated */
		t = xmalloc(v->len + 1);
		if (v->len > 0)
			memcpy(t, v->s, v->len);
		t[v->len] = '\0';
	}
	s->conv[i] = t;
	return t;
}

const void *
sdq_col_blob(struct sdq_stmt *s, int i)
{
	const struct dq_value *v = col(s, i);

	if (v == NULL)
		return NULL;
	switch (sdq_col_type(s, i)) {
	case STORE_BLOB:
		return v->len > 0 ? v->s : NULL;
	case STORE_TEXT:
		return v->s;
	case STORE_NULL:
		return NULL;
	default:
		return sdq_col_text(s, i);
	}
}

int
sdq_col_bytes(struct sdq_stmt *s, int i)
{
	const struct dq_value *v = col(s, i);
	const char *t;

	if (v == NULL)
		return 0;
	switch (sdq_col_type(s, i)) {
	case STORE_BLOB: case STORE_TEXT:
		return (int)v->len;
	case STORE_NULL:
		return 0;
	default:
		t = sdq_col_text(s, i);
		return t != NULL ? (int)strlen(t) : 0;
	}
}
