/*
 * dq_client.c - connections to dqlite nodes and sessions with a cluster
 * (see dq_client.h for the retry rules).
 */
#include "master/dq_client.h"

#include "common/xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for events on fd until deadline: 1 ready, 0 timed out, -1 error. */
static int
wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	int64_t left;
	int rc;

	for (;;) {
		left = deadline - now_ms();
		if (left <= 0)
			return 0;
		rc = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (rc > 0)
			return 1;
		if (rc < 0 && errno != EINTR)
			return -1;
	}
}

/* Split "host:port" or "[v6]:port". */
static int
split_address(const char *address, char *host, size_t hostlen, char *port,
    size_t portlen)
{
	const char *colon, *h = address, *end;
	size_t n;

	if (address[0] == '[') {
		end = strchr(address, ']');
		if (end == NULL || end[1] != ':')
			return -1;
		h = address + 1;
		n = (size_t)(end - h);
		colon = end + 1;
	} else {
		colon = strrchr(address, ':');
		if (colon == NULL)
			return -1;
		n = (size_t)(colon - address);
	}
	if (n == 0 || n >= hostlen || strlen(colon + 1) == 0 ||
	    strlen(colon + 1) >= portlen ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return -1;
	memcpy(host, h, n);
	host[n] = '\0';
	strcpy(port, colon + 1);
	return 0;
}

void
dq_conn_close(struct dq_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->address);
	c->address = NULL;
	buf_free(&c->out);
	free(c->in);
	c->in = NULL;
	c->in_cap = 0;
}

/* Write all of p before deadline: 0, or -1 with *cause. */
static int
write_all(struct dq_conn *c, const void *p, size_t len, int64_t deadline,
    char **cause)
{
	const uint8_t *q = p;
	ssize_t n;
	int rc;

	while (len > 0) {
		n = send(c->fd, q, len, MSG_NOSIGNAL);
		if (n > 0) {
			q += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			xasprintf(cause, "%s: write: %s", c->address,
			    strerror(errno));
			return -1;
		}
		rc = wait_fd(c->fd, POLLOUT, deadline);
		if (rc <= 0) {
			xasprintf(cause, "%s: write: %s", c->address, rc == 0 ?
			    "timed out" : strerror(errno));
			return -1;
		}
	}
	return 0;
}

static int
read_all(struct dq_conn *c, void *p, size_t len, int64_t deadline,
    char **cause)
{
	uint8_t *q = p;
	ssize_t n;
	int rc;

	while (len > 0) {
		n = recv(c->fd, q, len, 0);
		if (n > 0) {
			q += n;
			len -= (size_t)n;
			continue;
		}
		if (n == 0) {
			xasprintf(cause, "%s: read: connection closed by the "
			    "node", c->address);
			return -1;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			xasprintf(cause, "%s: read: %s", c->address,
			    strerror(errno));
			return -1;
		}
		rc = wait_fd(c->fd, POLLIN, deadline);
		if (rc <= 0) {
			xasprintf(cause, "%s: read: %s", c->address, rc == 0 ?
			    "timed out" : strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* Connect one resolved address before deadline: the fd, or -1. */
static int
dial(const struct addrinfo *ai, int64_t deadline, int *err)
{
	socklen_t len = sizeof *err;
	int fd, one = 1, rc;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0) {
		*err = errno;
		return -1;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		if (errno != EINPROGRESS) {
			*err = errno;
			goto fail;
		}
		rc = wait_fd(fd, POLLOUT, deadline);
		if (rc <= 0) {
			*err = rc == 0 ? ETIMEDOUT : errno;
			goto fail;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, err, &len) < 0 ||
		    *err != 0)
			goto fail;
	}
	/* Each request is one small write: never wait for Nagle. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
fail:
	close(fd);
	return -1;
}

int
dq_conn_open(struct dq_conn *c, const char *address, int timeout_ms,
    char **cause)
{
	struct addrinfo hints = { 0 }, *res = NULL, *ai;
	char host[256], port[16];
	struct buf hs = { 0 };
	int64_t deadline;
	int rc, err = 0;

	memset(c, 0, sizeof *c);
	c->fd = -1;
	c->timeout_ms = timeout_ms > 0 ? timeout_ms : 5000;
	c->address = xstrdup(address);
	if (split_address(address, host, sizeof host, port,
	    sizeof port) == -1) {
		xasprintf(cause, "%s: not a host:port address", address);
		goto fail;
	}
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0) {
		xasprintf(cause, "%s: %s", address, gai_strerror(rc));
		goto fail;
	}
	deadline = now_ms() + c->timeout_ms;
	for (ai = res; ai != NULL && c->fd < 0; ai = ai->ai_next)
		c->fd = dial(ai, deadline, &err);
	freeaddrinfo(res);
	if (c->fd < 0) {
		xasprintf(cause, "%s: connect: %s", address, err == ETIMEDOUT ?
		    "timed out" : strerror(err));
		goto fail;
	}
	dq_enc_handshake(&hs);
	rc = write_all(c, hs.data, hs.len, deadline, cause);
	buf_free(&hs);
	if (rc == -1)
		goto fail;
	return 0;
fail:
	dq_conn_close(c);
	return -1;
}

int
dq_conn_recv(struct dq_conn *c, struct dq_msg *m, char **cause)
{
	uint8_t hdr[DQ_WORD];
	int64_t deadline = now_ms() + c->timeout_ms;
	size_t len;
	char *why = NULL;

	if (c->fd < 0) {
		xasprintf(cause, "%s: not connected", c->address ?
		    c->address : "node");
		return -1;
	}
	if (read_all(c, hdr, sizeof hdr, deadline, cause) == -1)
		goto fail;
	if (dq_dec_header(hdr, m, &len, &why) == -1) {
		xasprintf(cause, "%s: %s", c->address, why);
		free(why);
		goto fail;
	}
	if (len > c->in_cap) {
		free(c->in);
		c->in = xmalloc(len);
		c->in_cap = len;
	}
	if (len > 0 && read_all(c, c->in, len, deadline, cause) == -1)
		goto fail;
	m->body = c->in;
	m->len = len;
	return 0;
fail:
	close(c->fd);
	c->fd = -1;
	return -1;
}

int
dq_conn_request(struct dq_conn *c, struct dq_msg *m, char **cause)
{
	int rc;

	c->code = 0;
	c->sent = 0;
	if (c->fd < 0) {
		buf_free(&c->out);
		xasprintf(cause, "%s: not connected", c->address ?
		    c->address : "node");
		return -1;
	}
	/* The protocol never sends unasked: a readable idle connection
	 * was closed (or reset) by the node. Say so before sending, so that
	 * a write is not left in doubt when it never reached anyone. */
	{
		struct pollfd p = { .fd = c->fd, .events = POLLIN | POLLRDHUP };

		if (poll(&p, 1, 0) > 0) {
			buf_free(&c->out);
			xasprintf(cause, "%s: the node closed the connection",
			    c->address);
			close(c->fd);
			c->fd = -1;
			return -1;
		}
	}
	rc = write_all(c, c->out.data, c->out.len, now_ms() + c->timeout_ms,
	    cause);
	buf_free(&c->out);
	if (rc == -1) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	c->sent = 1;
	return dq_conn_recv(c, m, cause);
}

/* Decode a reply of type want, or note the FAILURE code: the cause is
 * prefixed with the node and the step. */
static int
expect(struct dq_conn *c, const struct dq_msg *m, int type, const char *step,
    char **cause)
{
	char *why = NULL;

	if (dq_dec_expect(m, type, &c->code, &why) == 0)
		return 0;
	xasprintf(cause, "%s: %s: %s", c->address, step, why);
	free(why);
	return -1;
}

int
dq_conn_leader(struct dq_conn *c, uint64_t *id, char **address,
    char **cause)
{
	struct dq_msg m;
	const char *addr;
	char *why = NULL;

	dq_enc_leader(&c->out);
	if (dq_conn_request(c, &m, cause) == -1 ||
	    expect(c, &m, DQ_RESP_SERVER, "LEADER", cause) == -1)
		return -1;
	if (dq_dec_server(&m, id, &addr, &why) == -1) {
		xasprintf(cause, "%s: LEADER: %s", c->address, why);
		free(why);
		return -1;
	}
	*address = xstrdup(addr);
	return 0;
}

/* Sessions */

struct dq_client {
	char		**addrs;	/* the configured nodes */
	int		 naddrs;
	char		*database;
	int		 timeout_ms;
	int		 retries;
	int		 retry_ms;
	struct dq_conn	 conn;		/* to the leader, when open */
	int		 open;		/* conn up and database opened */
	uint32_t	 db;		/* the OPENed database's id */
	char		*leader;	/* last leader found, or NULL */
	uint64_t	 gen;		/* bumped at each new session */
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
	cl->conn.fd = -1;
	cl->seed = (unsigned)now_ms() ^ (unsigned)(uintptr_t)cl;
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
	if (dq_conn_open(c, cand, cl->timeout_ms, cause) == -1)
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
	dq_enc_open(&c.out, cl->database);
	if (dq_conn_request(&c, &m, cause) == -1) {
		cl->code = DQ_CLIENT_IO;
		dq_conn_close(&c);
		return -1;
	}
	if (expect(&c, &m, DQ_RESP_DB, "OPEN", cause) == -1 ||
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
	cl->nretry = 0;
	if (cl->open)
		return 0;
	if (session_open(cl, cause) == -1)
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
backoff(struct dq_client *cl, int round)
{
	int64_t ms = (int64_t)cl->retry_ms << (round < 3 ? round : 3);
	struct timespec ts;

	ms += rand_r(&cl->seed) % (ms / 2 + 1);
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Run fn with the retry rules of dq_client.h; write: its effect must not
 * be doubled. */
static int
run(struct dq_client *cl, int write, op_fn fn, void *arg, char **cause)
{
	char *why = NULL;
	int round, sent;

	for (round = 0;; round++) {
		cl->nretry = round;
		free(why);
		why = NULL;
		if (!cl->open && session_open(cl, &why) == -1)
			goto again;
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
		if (round >= cl->retries) {
			xasprintf(cause, "%s (gave up after %d tr%s)", why,
			    round + 1, round == 0 ? "y" : "ies");
			free(why);
			return -1;
		}
		backoff(cl, round);
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
	if (expect(&cl->conn, &m, DQ_RESP_STMT, "PREPARE", cause) == -1)
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
	if (expect(&cl->conn, &m, DQ_RESP_RESULT, step, cause) == -1)
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
		if (expect(&cl->conn, &m, DQ_RESP_ROWS, step, cause) == -1) {
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
			(void)expect(&cl->conn, &m, DQ_RESP_EMPTY, "FINALIZE",
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
	if (expect(&cl->conn, &m, a->type == DQ_REQ_CLUSTER ?
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
