/*
 * dq_client.c - sessions with a dqlite cluster: the leader found and
 * followed, the database opened, statements prepared and re-prepared,
 * and the retry rules of dq_client.h. One connection is dq_conn.c.
 */
#include "master/dq_client.h"

#include "common/util.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Sessions */

struct dq_client {
	char		**addrs;	/* the configured nodes */
	int		 naddrs;
	char		*database;
	int		 timeout_ms;
	int		 retries;
	int		 retry_ms;
	int		 deadline_ms;	/* per call; 0 none */
	int		 fence;		/* only addrs[0] may lead */
	int64_t		 until;		/* the call's deadline (mono ms), 0 */
	struct dq_conn	 conn;		/* to the leader, when open */
	int		 open;		/* conn up and database opened */
	uint32_t	 db;		/* the OPENed database's id */
	char		*leader;	/* last leader found, or NULL */
	uint64_t	 gen;		/* bumped at each new session */
	uint64_t	 pin;		/* session calls are pinned to; 0 none */
	int64_t		 code;		/* last failure's code */
	int		 nretry;	/* rounds of the last call, minus 1 */
	unsigned	 seed;		/* backoff jitter */
};

struct dq_stmt {
	char		*sql;
	uint64_t	 gen;		/* session it was prepared in; 0 none */
	uint32_t	 id;
	int		 nparams;
};

struct dq_client *
dq_client_new(const struct dq_conf *conf)
{
	struct dq_client *cl = xcalloc(1, sizeof *cl);
	int i;

	cl->naddrs = conf->naddrs;
	cl->addrs = xcalloc(conf->naddrs > 0 ? conf->naddrs : 1,
	    sizeof *cl->addrs);
	for (i = 0; i < conf->naddrs; i++)
		cl->addrs[i] = xstrdup(conf->addrs[i]);
	cl->database = xstrdup(conf->database ? conf->database : "db");
	cl->timeout_ms = conf->timeout_ms > 0 ? conf->timeout_ms : 5000;
	cl->retries = conf->retries > 0 ? conf->retries :
	    conf->retries < 0 ? 0 : 10;
	cl->retry_ms = conf->retry_ms > 0 ? conf->retry_ms : 50;
	cl->deadline_ms = conf->deadline_ms > 0 ? conf->deadline_ms : 0;
	cl->fence = conf->fence && conf->naddrs > 0;
	cl->conn.fd = -1;
	cl->seed = (unsigned)util_mono_ms() ^ (unsigned)(uintptr_t)cl;
	return cl;
}

static void
session_close(struct dq_client *cl)
{
	dq_conn_close(&cl->conn);
	cl->open = 0;
}

void
dq_client_free(struct dq_client *cl)
{
	int i;

	if (cl == NULL)
		return;
	session_close(cl);
	for (i = 0; i < cl->naddrs; i++)
		free(cl->addrs[i]);
	free(cl->addrs);
	free(cl->database);
	free(cl->leader);
	free(cl);
}

const char *
dq_client_leader(const struct dq_client *cl)
{
	return cl->open ? cl->leader : NULL;
}

int64_t
dq_client_code(const struct dq_client *cl)
{
	return cl->code;
}

int
dq_client_retries(const struct dq_client *cl)
{
	return cl->nretry;
}

int
dq_client_pin(struct dq_client *cl, int on)
{
	if (!on) {
		cl->pin = 0;
		return 0;
	}
	if (!cl->open)
		return -1;
	cl->pin = cl->gen;
	return 0;
}

void
dq_client_disconnect(struct dq_client *cl)
{
	session_close(cl);
}

/* The time a connect or request may take now: the timeout, cut to what
 * is left of the call's deadline (at least 1 ms). */
static int
time_left(const struct dq_client *cl)
{
	int64_t left;

	if (cl->until == 0)
		return cl->timeout_ms;
	left = cl->until - util_mono_ms();
	if (left < 1)
		left = 1;
	return left < cl->timeout_ms ? (int)left : cl->timeout_ms;
}

/* Connect to cand and keep the connection if that node leads: 1 kept
 * (in *c), 0 not the leader (*named: whom it names, malloc'd, or NULL),
 * -1 unreachable (*cause). */
static int
probe(struct dq_client *cl, const char *cand, struct dq_conn *c,
    char **named, char **cause)
{
	uint64_t id;
	char *addr = NULL;

	*named = NULL;
	if (dq_conn_open(c, cand, time_left(cl), cause) == -1)
		return -1;
	if (dq_conn_leader(c, &id, &addr, cause) == -1) {
		dq_conn_close(c);
		return -1;
	}
	if (id != 0 && strcmp(addr, cand) == 0) {
		free(addr);
		return 1;
	}
	dq_conn_close(c);
	if (id != 0)
		*named = addr;
	else
		free(addr);
	return 0;
}

/* Find the leader, connect, OPEN the database. */
static int
session_open(struct dq_client *cl, char **cause)
{
	struct dq_conn c = { .fd = -1 };
	struct dq_msg m;
	char *why = NULL, *named = NULL, *last = NULL;
	int i, rc, found = 0;

	if (cl->fence) {
		/* Only this master's own node may serve it. */
		rc = probe(cl, cl->addrs[0], &c, &named, &why);
		if (rc == 1) {
			free(cl->leader);
			cl->leader = xstrdup(c.address);
			free(named);
			goto opened;
		}
		if (rc == 0 && named != NULL) {
			cl->code = DQ_CLIENT_FENCED;
			xasprintf(cause, "this master's node %s does not lead "
			    "(the leader is %s)", cl->addrs[0], named);
			free(named);
			return -1;
		}
		cl->code = DQ_CLIENT_NO_LEADER;
		if (rc == 0)
			xasprintf(cause, "this master's node %s knows no "
			    "leader (an election?)", cl->addrs[0]);
		else
			*cause = why;
		return -1;
	}
	for (i = -1; i < cl->naddrs && !found; i++) {
		const char *cand = i < 0 ? cl->leader : cl->addrs[i];

		if (cand == NULL)
			continue;
		rc = probe(cl, cand, &c, &named, &why);
		if (rc == 0 && named != NULL) {
			/* Ask the named node itself: a follower's answer
			 * can name a leader that died. */
			char *again = NULL;

			rc = probe(cl, named, &c, &again, &why);
			if (rc == 0) {
				free(why);
				xasprintf(&why, "%s names %s as leader, which "
				    "names %s", cand, named, again ? again :
				    "no leader");
			}
			free(again);
		} else if (rc == 0) {
			free(why);
			xasprintf(&why, "%s knows no leader", cand);
		}
		if (rc == 1) {
			found = 1;
			free(cl->leader);
			cl->leader = xstrdup(c.address);
		}
		free(named);
		named = NULL;
		if (why != NULL) {
			free(last);
			last = why;
			why = NULL;
		}
	}
	if (!found) {
		cl->code = DQ_CLIENT_NO_LEADER;
		xasprintf(cause, "no leader found among %d node%s (last: %s)",
		    cl->naddrs, cl->naddrs == 1 ? "" : "s",
		    last ? last : "no address given");
		free(last);
		return -1;
	}
	free(last);
opened:
	dq_enc_open(&c.out, cl->database);
	if (dq_conn_request(&c, &m, cause) == -1) {
		cl->code = DQ_CLIENT_IO;
		dq_conn_close(&c);
		return -1;
	}
	if (dq_conn_expect(&c, &m, DQ_RESP_DB, "OPEN", cause) == -1 ||
	    dq_dec_db(&m, &cl->db, &why) == -1) {
		if (why != NULL) {
			xasprintf(cause, "%s: OPEN: %s", c.address, why);
			free(why);
		}
		cl->code = c.code ? (int64_t)c.code : DQ_CLIENT_PROTO;
		dq_conn_close(&c);
		return -1;
	}
	session_close(cl);
	cl->conn = c;
	cl->open = 1;
	cl->gen++;
	return 0;
}

int
dq_client_connect(struct dq_client *cl, char **cause)
{
	int rc;

	cl->nretry = 0;
	if (cl->open)
		return 0;
	cl->until = cl->deadline_ms > 0 ? util_mono_ms() + cl->deadline_ms :
	    0;
	rc = session_open(cl, cause);
	cl->until = 0;
	if (rc == -1)
		return -1;
	cl->code = 0;
	return 0;
}

/* One attempt of an operation: 0, or -1 with cl->code and *cause set
 * (and *sent 1 once a request that may change data was fully sent). */
typedef int (*op_fn)(struct dq_client *cl, void *arg, int *sent,
    char **cause);

/* A failed request on the session: note the code. */
static int
op_fail(struct dq_client *cl, int io)
{
	cl->code = io ? DQ_CLIENT_IO : cl->conn.code ?
	    (int64_t)cl->conn.code : DQ_CLIENT_PROTO;
	return -1;
}

static int
is_busy(int64_t code)
{
	return code > 0 && ((code & 0xff) == DQ_CODE_BUSY ||
	    (code & 0xff) == DQ_CODE_LOCKED);
}

static void
sleep_ms(int64_t ms)
{
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Run fn with the retry rules of dq_client.h; write: its effect must not
 * be doubled. */
static int
run1(struct dq_client *cl, int write, op_fn fn, void *arg, char **cause);

static int
run(struct dq_client *cl, int write, op_fn fn, void *arg, char **cause)
{
	int rc;

	cl->until = cl->deadline_ms > 0 ? util_mono_ms() + cl->deadline_ms :
	    0;
	rc = run1(cl, write, fn, arg, cause);
	cl->until = 0;
	return rc;
}

/* The wait before round+1, or -1 when it would pass the deadline. */
static int64_t
backoff_ms(struct dq_client *cl, int round)
{
	int64_t ms = (int64_t)cl->retry_ms << (round < 3 ? round : 3);

	int64_t left;

	ms += rand_r(&cl->seed) % (ms / 2 + 1);
	if (cl->until == 0)
		return ms;
	/* The last wait is cut to the deadline: one more try at it. */
	if ((left = cl->until - util_mono_ms()) <= 0)
		return -1;
	return ms < left ? ms : left;
}

static int
run1(struct dq_client *cl, int write, op_fn fn, void *arg, char **cause)
{
	char *why = NULL;
	int64_t wait;
	int round, sent;

	for (round = 0;; round++) {
		cl->nretry = round;
		if (cl->pin != 0 && (!cl->open || cl->gen != cl->pin)) {
			/* The pinned session (a transaction's) is gone:
			 * another one would run the call outside it. */
			xasprintf(cause, "the session to %s was lost%s%s",
			    cl->leader ? cl->leader : "the leader",
			    why ? ": " : "", why ? why : "");
			free(why);
			cl->code = DQ_CLIENT_LOST;
			return -1;
		}
		free(why);
		why = NULL;
		if (!cl->open && session_open(cl, &why) == -1) {
			if (cl->code == DQ_CLIENT_FENCED) {
				*cause = why;
				return -1;
			}
			goto again;
		}
		cl->conn.timeout_ms = time_left(cl);
		sent = 0;
		if (fn(cl, arg, &sent, &why) == 0) {
			cl->code = 0;
			return 0;
		}
		if (cl->code == DQ_CODE_NOT_LEADER) {
			session_close(cl);
			goto again;
		}
		if (is_busy(cl->code))
			goto again;
		if (cl->code == DQ_CLIENT_IO || cl->code == DQ_CLIENT_PROTO ||
		    cl->code == DQ_CODE_LEADERSHIP_LOST) {
			session_close(cl);
			if (write && sent) {
				xasprintf(cause, "outcome unknown (the "
				    "statement may have committed): %s", why);
				free(why);
				cl->code = DQ_CLIENT_UNKNOWN;
				return -1;
			}
			goto again;
		}
		/* An answer from the leader (SQL error, usage): final. */
		*cause = why;
		return -1;
again:
		if (cl->pin != 0 && !cl->open)
			continue;	/* no wait: the check above fails it */
		wait = round >= cl->retries ? -1 : backoff_ms(cl, round);
		if (wait < 0) {
			xasprintf(cause, "%s (gave up after %d tr%s%s)", why,
			    round + 1, round == 0 ? "y" : "ies",
			    round < cl->retries ? ", out of time" : "");
			free(why);
			return -1;
		}
		sleep_ms(wait);
	}
}

/* EXEC_SQL / EXEC */

struct exec_arg {
	const char		*sql;	/* EXEC_SQL, or NULL */
	struct dq_stmt		*st;	/* EXEC */
	const struct dq_value	*params;
	int			 n;
	struct dq_result	*res;
	struct dq_rows		*rows;	/* QUERY(_SQL) */
};

/* Prepare st on the current session if it was not. */
static int
stmt_ready(struct dq_client *cl, struct dq_stmt *st, char **cause)
{
	struct dq_msg m;
	uint64_t np;
	uint32_t db;
	char *why = NULL;

	if (st->gen == cl->gen)
		return 0;
	dq_enc_prepare(&cl->conn.out, cl->db, st->sql);
	if (dq_conn_request(&cl->conn, &m, cause) == -1)
		return op_fail(cl, 1);
	if (dq_conn_expect(&cl->conn, &m, DQ_RESP_STMT, "PREPARE", cause) == -1)
		return op_fail(cl, 0);
	if (dq_dec_stmt(&m, &db, &st->id, &np, &why) == -1) {
		xasprintf(cause, "%s: PREPARE: %s", cl->conn.address, why);
		free(why);
		return op_fail(cl, 0);
	}
	st->nparams = (int)np;
	st->gen = cl->gen;
	return 0;
}

static int
encode_call(struct dq_client *cl, struct exec_arg *a, int type, char **cause)
{
	char *why = NULL;
	int rc;

	if (a->sql != NULL)
		rc = dq_enc_sql(&cl->conn.out, type, cl->db, a->sql,
		    a->params, a->n, &why);
	else
		rc = dq_enc_stmt(&cl->conn.out, type, cl->db, a->st->id,
		    a->params, a->n, &why);
	if (rc == -1) {
		*cause = why;
		cl->code = DQ_CLIENT_USAGE;
	}
	return rc;
}

static int
op_exec(struct dq_client *cl, void *arg, int *sent, char **cause)
{
	struct exec_arg *a = arg;
	struct dq_msg m;
	uint64_t last, changes;
	const char *step = a->sql ? "EXEC_SQL" : "EXEC";
	char *why = NULL;

	if (a->st != NULL && stmt_ready(cl, a->st, cause) == -1)
		return -1;
	if (encode_call(cl, a, a->sql ? DQ_REQ_EXEC_SQL : DQ_REQ_EXEC,
	    cause) == -1)
		return -1;
	if (dq_conn_request(&cl->conn, &m, cause) == -1) {
		/* A request written whole may have run. */
		*sent = cl->conn.sent;
		return op_fail(cl, 1);
	}
	*sent = 1;
	if (dq_conn_expect(&cl->conn, &m, DQ_RESP_RESULT, step, cause) == -1)
		return op_fail(cl, 0);
	if (dq_dec_result(&m, &last, &changes, &why) == -1) {
		xasprintf(cause, "%s: %s: %s", cl->conn.address, step, why);
		free(why);
		return op_fail(cl, 0);
	}
	if (a->res != NULL) {
		a->res->last_id = (int64_t)last;
		a->res->changes = (int64_t)changes;
	}
	return 0;
}

static int
op_query(struct dq_client *cl, void *arg, int *sent, char **cause)
{
	struct exec_arg *a = arg;
	struct dq_msg m;
	const char *step = a->sql ? "QUERY_SQL" : "QUERY";
	char *why = NULL;
	int more = 1;

	dq_rows_free(a->rows);
	if (a->st != NULL && stmt_ready(cl, a->st, cause) == -1)
		return -1;
	if (encode_call(cl, a, a->sql ? DQ_REQ_QUERY_SQL : DQ_REQ_QUERY,
	    cause) == -1)
		return -1;
	if (dq_conn_request(&cl->conn, &m, cause) == -1)
		return op_fail(cl, 1);
	for (;;) {
		if (dq_conn_expect(&cl->conn, &m, DQ_RESP_ROWS, step, cause) == -1) {
			dq_rows_free(a->rows);
			return op_fail(cl, 0);
		}
		if (dq_dec_rows(&m, a->rows, &more, &why) == -1) {
			xasprintf(cause, "%s: %s: %s", cl->conn.address, step,
			    why);
			free(why);
			dq_rows_free(a->rows);
			cl->conn.code = 0;
			return op_fail(cl, 0);
		}
		if (!more)
			return 0;
		if (dq_conn_recv(&cl->conn, &m, cause) == -1) {
			dq_rows_free(a->rows);
			return op_fail(cl, 1);
		}
	}
}

int
dq_client_exec_sql(struct dq_client *cl, const char *sql,
    const struct dq_value *params, int n, struct dq_result *res,
    char **cause)
{
	struct exec_arg a = { .sql = sql, .params = params, .n = n,
	    .res = res };

	return run(cl, 1, op_exec, &a, cause);
}

int
dq_client_query_sql(struct dq_client *cl, const char *sql,
    const struct dq_value *params, int n, struct dq_rows *rows,
    char **cause)
{
	struct exec_arg a = { .sql = sql, .params = params, .n = n,
	    .rows = rows };

	return run(cl, 0, op_query, &a, cause);
}

static int
op_prepare(struct dq_client *cl, void *arg, int *sent, char **cause)
{
	return stmt_ready(cl, arg, cause);
}

int
dq_client_prepare(struct dq_client *cl, const char *sql,
    struct dq_stmt **out, char **cause)
{
	struct dq_stmt *st = xcalloc(1, sizeof *st);

	st->sql = xstrdup(sql);
	if (run(cl, 0, op_prepare, st, cause) == -1) {
		free(st->sql);
		free(st);
		*out = NULL;
		return -1;
	}
	*out = st;
	return 0;
}

int
dq_client_exec(struct dq_client *cl, struct dq_stmt *st,
    const struct dq_value *params, int n, struct dq_result *res,
    char **cause)
{
	struct exec_arg a = { .st = st, .params = params, .n = n,
	    .res = res };

	return run(cl, 1, op_exec, &a, cause);
}

int
dq_client_query(struct dq_client *cl, struct dq_stmt *st,
    const struct dq_value *params, int n, struct dq_rows *rows,
    char **cause)
{
	struct exec_arg a = { .st = st, .params = params, .n = n,
	    .rows = rows };

	return run(cl, 0, op_query, &a, cause);
}

void
dq_client_finalize(struct dq_client *cl, struct dq_stmt *st)
{
	struct dq_msg m;
	char *why = NULL;

	if (st == NULL)
		return;
	if (cl->open && st->gen == cl->gen) {
		dq_enc_finalize(&cl->conn.out, cl->db, st->id);
		if (dq_conn_request(&cl->conn, &m, &why) == -1)
			session_close(cl);
		else
			(void)dq_conn_expect(&cl->conn, &m, DQ_RESP_EMPTY, "FINALIZE",
			    &why);
		free(why);
	}
	free(st->sql);
	free(st);
}

int
dq_stmt_nparams(const struct dq_stmt *st)
{
	return st->nparams;
}

/* Membership */

struct admin_arg {
	int		 type;	/* the request */
	uint64_t	 id;
	uint64_t	 role;
	const char	*address;
	struct dq_server **servers;
	size_t		*n;
};

static int
op_admin(struct dq_client *cl, void *arg, int *sent, char **cause)
{
	static const char *steps[] = { [DQ_REQ_ADD] = "ADD",
	    [DQ_REQ_ASSIGN] = "ASSIGN", [DQ_REQ_REMOVE] = "REMOVE",
	    [DQ_REQ_CLUSTER] = "CLUSTER", [DQ_REQ_TRANSFER] = "TRANSFER" };
	struct admin_arg *a = arg;
	struct dq_msg m;
	char *why = NULL;

	switch (a->type) {
	case DQ_REQ_ADD:
		dq_enc_add(&cl->conn.out, a->id, a->address);
		break;
	case DQ_REQ_ASSIGN:
		dq_enc_assign(&cl->conn.out, a->id, (int)a->role);
		break;
	case DQ_REQ_REMOVE:
		dq_enc_remove(&cl->conn.out, a->id);
		break;
	case DQ_REQ_TRANSFER:
		dq_enc_transfer(&cl->conn.out, a->id);
		break;
	default:
		dq_enc_cluster(&cl->conn.out);
	}
	if (dq_conn_request(&cl->conn, &m, cause) == -1) {
		*sent = cl->conn.sent;
		return op_fail(cl, 1);
	}
	*sent = 1;
	if (dq_conn_expect(&cl->conn, &m, a->type == DQ_REQ_CLUSTER ?
	    DQ_RESP_SERVERS : DQ_RESP_EMPTY, steps[a->type], cause) == -1)
		return op_fail(cl, 0);
	if (a->type == DQ_REQ_CLUSTER &&
	    dq_dec_servers(&m, a->servers, a->n, &why) == -1) {
		xasprintf(cause, "%s: CLUSTER: %s", cl->conn.address, why);
		free(why);
		return op_fail(cl, 0);
	}
	return 0;
}

int
dq_client_cluster(struct dq_client *cl, struct dq_server **out, size_t *n,
    char **cause)
{
	struct admin_arg a = { .type = DQ_REQ_CLUSTER, .servers = out,
	    .n = n };

	return run(cl, 0, op_admin, &a, cause);
}

int
dq_client_add(struct dq_client *cl, uint64_t id, const char *address,
    char **cause)
{
	struct admin_arg a = { .type = DQ_REQ_ADD, .id = id,
	    .address = address };

	return run(cl, 1, op_admin, &a, cause);
}

int
dq_client_assign(struct dq_client *cl, uint64_t id, int role, char **cause)
{
	struct admin_arg a = { .type = DQ_REQ_ASSIGN, .id = id,
	    .role = (uint64_t)role };

	return run(cl, 1, op_admin, &a, cause);
}

int
dq_client_remove(struct dq_client *cl, uint64_t id, char **cause)
{
	struct admin_arg a = { .type = DQ_REQ_REMOVE, .id = id };

	return run(cl, 1, op_admin, &a, cause);
}

int
dq_client_transfer(struct dq_client *cl, uint64_t id, char **cause)
{
	struct admin_arg a = { .type = DQ_REQ_TRANSFER, .id = id };

	return run(cl, 1, op_admin, &a, cause);
}
