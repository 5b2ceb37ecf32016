/*
 * dq_client.h - berth's client of a dqlite 1.11 cluster, over the wire
 * protocol (master/dq_wire.h). libc only: it does not link libdqlite.
 *
 * Two levels:
 *
 * struct dq_conn is one connection to one node: connect (TCP_NODELAY,
 * non-blocking connect bounded by the timeout), the protocol handshake,
 * then one request at a time, each bounded by the timeout as a whole
 * (poll on every read and write; writes use MSG_NOSIGNAL). A connection
 * that failed (I/O error, timeout, garbage) is closed and stays closed.
 *
 * struct dq_client is a session with a cluster: a list of node addresses,
 * a database name, a connection to the leader. It finds the leader (the
 * last known leader first, then each address asked LEADER, the named node
 * asked again to confirm it leads), OPENs the database, and retries:
 *
 *	- connect failures, "not leader" (10250): re-find the leader, again;
 *	- busy / locked (5, 6 and their extended codes): wait, again;
 *	- a query whose connection broke or whose leader was lost (10506):
 *	  reconnect, again (a query has no effect to double);
 *	- an EXEC that was sent but whose reply was lost (I/O error,
 *	  timeout, 10506) is NOT retried: it may have committed. The call
 *	  fails with dq_client_code() == DQ_CLIENT_UNKNOWN and a cause saying
 *	  so; the next call reconnects.
 *
 * Retries are bounded by conf.retries, with conf.retry_ms between rounds
 * (jittered, doubling up to 8x), and, with conf.deadline_ms, by time: a
 * call (its connects, requests and waits) never takes much longer than
 * that; each connect and request is cut to the time left.
 *
 * A fenced client (conf.fence) accepts only addrs[0] (the master's own
 * node) as the leader: when that node names another leader, the call
 * fails at once with DQ_CLIENT_FENCED; when it knows none (an election),
 * the call retries within its bounds. So a master whose node was deposed
 * cannot write through another one (docs/ha.md, "Roles"). Prepared statements (struct dq_stmt)
 * survive a reconnect: they are prepared again on the new leader.
 *
 * Errors: -1 with a malloc'd *cause naming the step and node ("10.0.0.1:
 * 9001: EXEC: UNIQUE constraint failed: t.k (code 2067)"), and
 * dq_client_code() giving the server's code (or a DQ_CLIENT_* value).
 *
 * Not thread-safe: one client per thread (the server serves one request
 * per connection at a time anyway).
 */
#ifndef BERTH_DQ_CLIENT_H
#define BERTH_DQ_CLIENT_H

#include "master/dq_wire.h"

#include <stdint.h>

/* Client-side failure codes for dq_client_code() (beyond SQLite's). */
#define DQ_CLIENT_IO		-1	/* connect, read or write failed */
#define DQ_CLIENT_PROTO		-2	/* the server sent something wrong */
#define DQ_CLIENT_NO_LEADER	-3	/* no node named a reachable leader */
#define DQ_CLIENT_UNKNOWN	-4	/* an EXEC's outcome is unknown */
#define DQ_CLIENT_USAGE		-5	/* bad parameters */
#define DQ_CLIENT_LOST		-6	/* the pinned session is gone */
#define DQ_CLIENT_FENCED	-7	/* fenced, and addrs[0] does not lead */

/* One connection to one node. */
struct dq_conn {
	int		 fd;		/* -1 when closed */
	int		 timeout_ms;	/* bound on each request */
	char		*address;	/* "host:port" dialled (malloc'd) */
	struct buf	 out;		/* the request being sent */
	uint8_t		*in;		/* the last reply's body */
	size_t		 in_cap;
	uint64_t	 code;		/* last FAILURE code, else 0 */
	int		 sent;		/* the last request was written whole */
	int		 tcp;		/* dialled over TCP (not the TLS
					   dialer's socketpair) */
};

/* Connect to address ("host:port", "[v6]:port") and send the protocol
 * version: 0, or -1 with *cause. c is closed on failure. */
int	 dq_conn_open(struct dq_conn *c, const char *address, int timeout_ms,
	    char **cause);
/*
 * How a connection reaches a node when the masters talk over TLS
 * (master/cluster_tls.c): fn dials address within timeout_ms, 0 with a
 * stream socket in *fd, or -1 with *cause. Set once at start-up, before
 * any thread dials (read-only afterwards); NULL (the default): TCP.
 */
typedef int dq_dial_fn(void *arg, const char *address, int timeout_ms,
	    int *fd, char **cause);
void	 dq_conn_set_dialer(dq_dial_fn *fn, void *arg);
void	 dq_conn_close(struct dq_conn *c);	/* closed is a no-op */
/* Send the request in c->out (then empty it), and read one reply into
 * *m (m->body valid until the next call). On an I/O error or a timeout
 * the connection is closed. */
int	 dq_conn_request(struct dq_conn *c, struct dq_msg *m, char **cause);
/* Read one more message (the next ROWS batch). */
int	 dq_conn_recv(struct dq_conn *c, struct dq_msg *m, char **cause);
/* Ask this node whom it knows as leader: 0 with *id 0 and "" when it
 * knows none; *address malloc'd. */
int	 dq_conn_leader(struct dq_conn *c, uint64_t *id, char **address,
	    char **cause);

struct dq_conf {
	const char	**addrs;	/* nodes to ask ("host:port") */
	int		 naddrs;
	const char	*database;	/* OPENed on the leader; "db" if NULL */
	int		 timeout_ms;	/* per request and per connect; 5000 */
	int		 retries;	/* rounds after the first; 10 */
	int		 retry_ms;	/* base wait between rounds; 50 */
	int		 deadline_ms;	/* bound on a whole call, its retries
					   and connects included; 0: none */
	int		 fence;		/* only addrs[0] may be the leader */
};

/*
 * Decode a reply of type want, else note its FAILURE code in c->code: -1
 * with *cause prefixed by the node and step. 0 when it is of that type.
 */
int	 dq_conn_expect(struct dq_conn *c, const struct dq_msg *m, int type,
	    const char *step, char **cause);

struct dq_client;
struct dq_stmt;

struct dq_result {
	int64_t		 last_id;
	int64_t		 changes;
};

/* A client (copies conf; connects lazily, on the first call). */
struct dq_client	*dq_client_new(const struct dq_conf *conf);
void			 dq_client_free(struct dq_client *cl);	/* NULL ok */
/* Find the leader and open the database now. */
int	 dq_client_connect(struct dq_client *cl, char **cause);
/* The leader connected to, or NULL. */
const char	*dq_client_leader(const struct dq_client *cl);
/* The last failure's code: a SQLite/dqlite code (> 0), DQ_CLIENT_*, or
 * 0 after a success. */
int64_t	 dq_client_code(const struct dq_client *cl);
/* Request rounds made by the last call beyond its first (retries). */
int	 dq_client_retries(const struct dq_client *cl);
/*
 * Pin the client to its open session (on), or unpin it (off). A
 * transaction lives on one connection: while pinned, a call that would
 * need another session (the connection broke, the node stopped leading)
 * fails with DQ_CLIENT_LOST instead of reconnecting, so no statement of
 * the transaction runs outside it. Busy retries on the same session still
 * happen. -1 when no session is open (nothing to pin).
 */
int	 dq_client_pin(struct dq_client *cl, int on);
/* Close the session now (the next call reconnects; nothing is sent). */
void	 dq_client_disconnect(struct dq_client *cl);

int	 dq_client_exec_sql(struct dq_client *cl, const char *sql,
	    const struct dq_value *params, int n, struct dq_result *res,
	    char **cause);
/* rows must be empty ({0}); on success it holds the whole result set
 * (every batch); the caller frees it with dq_rows_free(). */
int	 dq_client_query_sql(struct dq_client *cl, const char *sql,
	    const struct dq_value *params, int n, struct dq_rows *rows,
	    char **cause);

/* A statement prepared on the leader (again after a reconnect). */
int	 dq_client_prepare(struct dq_client *cl, const char *sql,
	    struct dq_stmt **out, char **cause);
int	 dq_client_exec(struct dq_client *cl, struct dq_stmt *st,
	    const struct dq_value *params, int n, struct dq_result *res,
	    char **cause);
int	 dq_client_query(struct dq_client *cl, struct dq_stmt *st,
	    const struct dq_value *params, int n, struct dq_rows *rows,
	    char **cause);
/* FINALIZE on the server (if still connected) and free; NULL ok. */
void	 dq_client_finalize(struct dq_client *cl, struct dq_stmt *st);
/* The number of parameters the server counted at PREPARE. */
int	 dq_stmt_nparams(const struct dq_stmt *st);

/* Membership, sent to the leader (retried like a query when refused
 * with "not leader"). */
int	 dq_client_cluster(struct dq_client *cl, struct dq_server **out,
	    size_t *n, char **cause);
int	 dq_client_add(struct dq_client *cl, uint64_t id, const char *address,
	    char **cause);
int	 dq_client_assign(struct dq_client *cl, uint64_t id, int role,
	    char **cause);
int	 dq_client_remove(struct dq_client *cl, uint64_t id, char **cause);
int	 dq_client_transfer(struct dq_client *cl, uint64_t id, char **cause);

#endif
