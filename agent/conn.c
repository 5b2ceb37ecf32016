/*
 * conn.c - the websocket to the master: connect, authenticate, relay.
 *
 * DESIGN: one lws service thread (conn_main) owns the lws context, the
 * socket and every field marked "service thread" below. Other threads (the
 * converge thread, main) only call conn_send(): it appends a serialized
 * frame to c->outq under c->lock and calls lws_cancel_service(); the
 * service thread then gets LWS_CALLBACK_EVENT_WAIT_CANCELLED, asks for
 * WRITEABLE and writes one frame per callback (the minimal-ws-server-threads
 * pattern). Nothing on this thread touches Docker, so pongs always flow.
 *
 * Sessions: the upgrade carries the Berth-* headers (docs/protocol.md), the
 * node token when there is one, else the grid token. A session is "ready"
 * once the master's welcome arrived; frames queued while not ready are
 * dropped (state is re-sent on every welcome). Reconnects use capped
 * exponential backoff with full jitter (base 0.5 s, cap BERTH_BACKOFF_MAX_S,
 * reset after a session of 30 s or more); the close code picks the delay
 * and whether the stored node token is forgotten, by the protocol's own
 * table (proto_close_action() in common/proto.c).
 *
 * Deadlines: every step of an attempt (the TCP connect, the TLS
 * handshake, the answer to the upgrade, the welcome frame) has its own
 * deadline, BERTH_CONNECT_TIMEOUT_S from the moment the attempt entered
 * it (connstep.h). A watchdog timer (sul_step) follows the attempt; a
 * step that overruns is logged by name, the socket is closed and the
 * next attempt scheduled with the backoff: a peer that accepts and says
 * nothing (a frozen master, a proxy in front of one) never holds the
 * agent. Once welcomed, the session's own liveness (lws pings after 20 s
 * of silence, hang-up at 40 s) takes over.
 *
 * Identity: every upgrade also carries Berth-Agent-Instance (random, made
 * when the process starts) and Berth-Agent-Attempt (this process's
 * attempt number), by which the master tells this agent's own newer and
 * stale connections from a second machine presenting the same node id.
 * Two close codes end more than a session (their rows in common/proto.c):
 * 4006, node removed: rejoin as for any lost token, and if the node is
 * not admitted again within BERTH_RETIRE_GRACE_S, have the converge
 * thread stop and remove the node's containers (sul_retire); 4011, node
 * id in use by another live agent: stop connecting, have the converge
 * thread remove this node id's containers from the engine, then take a
 * new node id and rejoin with the grid token, or without one ask main to
 * stop (SIGUSR1).
 *
 * TLS (wss://): with BERTH_CA_CERT only that CA is trusted (chain and host
 * name checked by OpenSSL); with BERTH_MASTER_PIN the leaf certificate's
 * public key must match the pin, checked in the OpenSSL verify callback
 * (LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION), so a wrong
 * master fails the handshake before the upgrade request, which carries the
 * token, is written. The upgrade-header callback checks once more that the
 * pin was seen to match on this connection. With neither, the system CAs.
 */
#include "agent/conn.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <unistd.h>

#include <jansson.h>
#include <libwebsockets.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "agent/backoff.h"
#include "agent/config.h"
#include "agent/connstep.h"
#include "agent/converge.h"
#include "agent/exec.h"
#include "agent/ident.h"
#include "agent/logs.h"
#include "agent/nodeinfo.h"
#include "common/log.h"
#include "common/proto.h"
#include "common/tlsutil.h"
#include "common/util.h"
#include "common/xmalloc.h"

#define CONN_STABLE_MS		30000	/* a session this long resets backoff */
#define CONN_OUTQ_MAX		256	/* text frames queued before dropping */
#define CONN_STOP_GRACE_US	(2 * LWS_USEC_PER_SEC)
#define CONN_STEP_POLL_MS	250	/* the attempt watchdog's period */

/* A frame waiting to be written. */
struct conn_frame {
	char		*data;		/* the payload */
	size_t		 len;		/* its bytes */
	int		 binary;	/* an exec data frame */
};

/* What the verify callback saw of BERTH_MASTER_PIN on this connection. */
enum conn_pin { CONN_PIN_UNSEEN, CONN_PIN_OK, CONN_PIN_BAD };

/* After a 4013 naming a listed leader: go there within this. */
#define CONN_LEADER_MIN_MS	50
#define CONN_LEADER_JITTER_MS	200

struct conn {
	char		 peer_address[16]; /* underlay IPv4, "" unknown */
	const struct agent_config *cfg;	/* read-only settings */
	char		 node_id[PROTO_NODE_ID_LEN + 1]; /* Berth-Node-Id; the
					   ws thread changes it (4011) */
	char		 instance[PROTO_INSTANCE_LEN + 1]; /* this process */
	char		*labels_hdr;	/* Berth-Node-Labels value */
	struct converge	*conv;		/* where desired frames go */
	struct logs	*logs;		/* the log thread: frames, acks */
	struct exec_mgr	*exec;		/* where exec frames go */

	pthread_mutex_t	 lock;		/* guards outq, nout, ntext, ready */
	struct conn_frame *outq;	/* frames waiting, oldest first */
	size_t		 nout;		/* frames in outq */
	size_t		 ntext;		/* text frames among them */
	int		 ready;		/* welcomed: conn_send() queues */
	int		 retired;	/* the converge thread finished retiring
					   the old node id (4011) */
	atomic_int	 stop;		/* set by conn_stop() (main), read by ws */

	/* Service thread only (or before it starts / after it ends). */
	struct lws_context *ctx;	/* the lws context */
	struct lws	*wsi;		/* the socket, NULL between sessions */
	pthread_t	 thread;	/* conn_main */
	int		 started;	/* thread was created */
	int		 exit_loop;	/* leave the service loop */
	int		 stopping;	/* stop was noticed */
	char		*node_token;	/* per-node token, NULL if none; secret */
	struct buf	 rx;		/* message being reassembled */
	int		 rx_binary;	/* it is a binary message */
	struct backoff_reconnect backoff; /* attempts, a restart's window */
	int64_t		 session_start;	/* mono ms of ESTABLISHED, 0 if none */
	int		 close_code;	/* code of the peer's close frame */
	long long	 retry_after;	/* its "retry after N ms", or -1 */
	size_t		 cur;		/* cfg->masters[cur] is tried next */
	int		 to_leader;	/* a 4013 named a listed leader: go
					   there at once */
	char		 cur_url[320];	/* the master of this attempt */
	int		 welcomed;	/* welcome seen on this session */
	int		 rx_drop;	/* dropping an oversized message */
	json_t		*parts;		/* containers of a set in parts */
	json_int_t	 parts_gen;	/* ... its generation */
	json_int_t	 parts_next;	/* ... the part expected next */
	json_int_t	 parts_total;	/* ... how many it has */
	json_t		*parts_rest;	/* ... part 1's other members (jobs,
					   jobs_done) */
	int		 close_too_big;	/* close with 1009 when writable */
	enum conn_pin	 pin_state;	/* leaf key vs the pin, this attempt */
	struct connstep	 step;		/* where this attempt is, since when */
	int		 giving_up;	/* the watchdog is closing it: said so */
	long		 attempts;	/* connection attempts of this process */
	int		 id_lost;	/* 4011: retiring, not connecting */
	struct cpu_sample cpu_prev;	/* last /proc/stat sample */
	lws_sorted_usec_list_t sul_connect; /* next connect attempt */
	lws_sorted_usec_list_t sul_stats;   /* next stats frame */
	lws_sorted_usec_list_t sul_stop;    /* give up a polite close */
	lws_sorted_usec_list_t sul_step;    /* the attempt's watchdog */
	lws_sorted_usec_list_t sul_retire;  /* 4006: the retire grace */
	int		 retire_armed;	/* sul_retire is scheduled */
};

/* lws's own idle handling: our pings after 20 s of silence, hang up at 40. */
static const lws_retry_bo_t conn_retry = {
	.secs_since_valid_ping = 20,
	.secs_since_valid_hangup = 40,
};

static void conn_connect(lws_sorted_usec_list_t *sul);
static void conn_step_check(lws_sorted_usec_list_t *sul);
static void conn_ended(struct conn *c, struct lws *wsi);

/* The master of this attempt: BERTH_URL's current one (docs/ha.md). */
static const struct config_url *
conn_master(const struct conn *c)
{
	return c->cfg->nmasters > 0 ? &c->cfg->masters[c->cur] :
	    &c->cfg->master;
}
static void conn_id_lost(struct conn *c, int code);
static void conn_removed(struct conn *c);

static void
conn_lws_log(int level, const char *line)
{
	char esc[512];
	size_t n = strlen(line);

	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	snprintf(esc, sizeof esc, "%.*s", (int)n, line);
	if (level & LLL_ERR)
		log_warn("lws: %s", esc);
	else
		log_debug("lws: %s", esc);
}

struct conn *
conn_new(const struct agent_config *cfg, const char *node_id,
    char *node_token)
{
	struct conn *c = xcalloc(1, sizeof *c);
	unsigned char raw[PROTO_INSTANCE_LEN / 2];

	c->cfg = cfg;
	snprintf(c->node_id, sizeof c->node_id, "%s", node_id);
	util_random(raw, sizeof raw);
	util_hex(raw, sizeof raw, c->instance);
	c->node_token = node_token;
	c->retry_after = -1;
	c->labels_hdr = agent_config_labels_join(cfg->labels, cfg->nlabels);
	pthread_mutex_init(&c->lock, NULL);
	return c;
}

void
conn_set_converge(struct conn *c, struct converge *conv)
{
	c->conv = conv;
}

void
conn_set_logs(struct conn *c, struct logs *logs)
{
	c->logs = logs;
}

void
conn_logs_wake(struct conn *c)
{
	if (c->ctx != NULL)
		lws_cancel_service(c->ctx);
}

void
conn_set_exec(struct conn *c, struct exec_mgr *x)
{
	c->exec = x;
}

/* Drop everything queued (session ended). */
static void
conn_outq_clear(struct conn *c)
{
	size_t i;

	for (i = 0; i < c->nout; i++)
		free(c->outq[i].data);
	c->nout = 0;
	c->ntext = 0;
}

/* Drop the i-th queued frame (lock held). */
static void
conn_outq_drop(struct conn *c, size_t i)
{
	if (!c->outq[i].binary)
		c->ntext--;
	free(c->outq[i].data);
	memmove(c->outq + i, c->outq + i + 1, (c->nout - i - 1) *
	    sizeof *c->outq);
	c->nout--;
}

static void
conn_enqueue(struct conn *c, char *data, size_t len, int binary)
{
	size_t i;

	pthread_mutex_lock(&c->lock);
	if (!c->ready) {
		pthread_mutex_unlock(&c->lock);
		free(data);
		return;
	}
	/*
	 * Master not reading: shed the oldest text frame (state and stats
	 * are sent again). Exec data is never shed: its sessions' windows
	 * bound it, and a lost piece would corrupt the operator's stream.
	 */
	if (!binary && c->ntext == CONN_OUTQ_MAX) {
		for (i = 0; i < c->nout && c->outq[i].binary; i++)
			;
		conn_outq_drop(c, i);
		log_warn("send queue full: dropped the oldest frame");
	}
	c->outq = xreallocarray(c->outq, c->nout + 1, sizeof *c->outq);
	c->outq[c->nout].data = data;
	c->outq[c->nout].len = len;
	c->outq[c->nout++].binary = binary;
	if (!binary)
		c->ntext++;
	pthread_mutex_unlock(&c->lock);
	lws_cancel_service(c->ctx);
}

void
conn_send(struct conn *c, char *frame)
{
	if (frame == NULL)
		return;
	conn_enqueue(c, frame, strlen(frame), 0);
}

void
conn_send_binary(struct conn *c, void *data, size_t len)
{
	if (data == NULL)
		return;
	conn_enqueue(c, data, len, 1);
}

/* Service thread: the retire grace after a 4006 ran out unwelcomed. */
static void
conn_retire_due(lws_sorted_usec_list_t *sul)
{
	struct conn *c = lws_container_of(sul, struct conn, sul_retire);
	char why[160];

	c->retire_armed = 0;
	if (c->welcomed)
		return;
	snprintf(why, sizeof why, "the node was removed from the grid and "
	    "not admitted again within %d s (BERTH_RETIRE_GRACE_S)",
	    c->cfg->retire_grace_s);
	converge_post_retire(c->conv, why, NULL, NULL);
}

/*
 * Service thread, on 4006: the node was removed. Its instances are placed
 * elsewhere; if it cannot rejoin (the grid token was rotated to retire
 * the machine), what it runs must not stay beside their replacements.
 */
static void
conn_removed(struct conn *c)
{
	if (c->retire_armed)
		return;
	log_warn("the node was removed from the grid: rejoining; unless it is "
	    "admitted again within %d s, its containers here are stopped and "
	    "removed", c->cfg->retire_grace_s);
	c->retire_armed = 1;
	lws_sul_schedule(c->ctx, 0, &c->sul_retire, conn_retire_due,
	    (lws_usec_t)c->cfg->retire_grace_s * LWS_USEC_PER_SEC);
}

/* Converge thread: the old node id's containers are gone (4011). */
static void
conn_retired(void *arg)
{
	struct conn *c = arg;

	pthread_mutex_lock(&c->lock);
	c->retired = 1;
	pthread_mutex_unlock(&c->lock);
	lws_cancel_service(c->ctx);
}

/*
 * Service thread, on 4011: another live agent holds this node id (a copy
 * of this data dir on another machine). Nothing this agent runs under the
 * id is the master's: retire it first; conn_new_node() follows.
 */
static void
conn_id_lost(struct conn *c, int code)
{
	char why[160];

	log_error("the master refused node id %s (close %d): another live "
	    "agent holds it (was this data dir copied from another machine?)",
	    c->node_id, code);
	c->id_lost = 1;
	if (c->node_token != NULL) {
		explicit_bzero(c->node_token, strlen(c->node_token));
		free(c->node_token);
		c->node_token = NULL;
	}
	snprintf(why, sizeof why, "node id %.32s is in use by another live "
	    "agent", c->node_id);
	converge_post_retire(c->conv, why, conn_retired, c);
}

/* Service thread, once the old id is retired: a new node, or stop. */
static void
conn_new_node(struct conn *c)
{
	char id[PROTO_NODE_ID_LEN + 1], *cause = NULL;

	c->id_lost = 0;
	if (ident_forget_token(c->cfg->data_dir, &cause) != 0) {
		log_error("%s", cause);
		free(cause);
		cause = NULL;
	}
	if (c->cfg->grid_token == NULL) {
		log_error("no BERTH_TOKEN: cannot rejoin as a new node; "
		    "stopping (give the grid token to join as a new node)");
		c->exit_loop = 1;
		kill(getpid(), SIGUSR1);	/* main stops, status 1 */
		return;
	}
	if (ident_new_id(c->cfg->data_dir, id, &cause) != 0) {
		log_error("cannot make a new node id: %s; stopping", cause);
		free(cause);
		c->exit_loop = 1;
		kill(getpid(), SIGUSR1);
		return;
	}
	log_warn("rejoining as a new node: node id %s (was %s)", id,
	    c->node_id);
	snprintf(c->node_id, sizeof c->node_id, "%s", id);
	converge_set_node_id(c->conv, id);
	logs_set_node_id(c->logs, id);
	exec_set_node_id(c->exec, id);
	c->backoff.attempt = 0;
	c->close_code = 0;
	lws_sul_schedule(c->ctx, 0, &c->sul_connect, conn_connect, 1);
}

/*
 * A standby closed with 4013 (docs/ha.md): go to the leader its reason
 * names, at once, when BERTH_URL lists it; else to the next master.
 */
static void
conn_not_leader(struct conn *c, const char *reason)
{
	char url[256];
	int i = -1;

	if (proto_leader_url(reason, strlen(reason), url, sizeof url) == 0 &&
	    (i = agent_config_find_master(c->cfg, url)) >= 0) {
		c->cur = (size_t)i;
		c->to_leader = 1;
		log_info("%s is a standby: going to the leader, %s",
		    c->cur_url, url);
		return;
	}
	if (i < 0 && proto_leader_url(reason, strlen(reason), url,
	    sizeof url) == 0)
		log_warn("%s is a standby and names the leader %s, which is "
		    "not in BERTH_URL (list every master there)", c->cur_url,
		    url);
	if (c->cfg->nmasters > 1)
		c->cur = (c->cur + 1) % c->cfg->nmasters;
}

/* Service thread: pick the delay for the next attempt and schedule it. */
static void
conn_schedule(struct conn *c)
{
	int64_t delay, cap = (int64_t)c->cfg->backoff_max_s * 1000;
	long long retry = c->retry_after;
	uint32_t rnd;
	char *cause = NULL;
	int code = c->close_code, forget, max;
	enum proto_close_action act;

	if (c->session_start != 0 &&
	    util_mono_ms() - c->session_start >= CONN_STABLE_MS)
		c->backoff.attempt = 0;
	c->session_start = 0;
	c->close_code = 0;
	c->retry_after = -1;
	/* The policy is the protocol's table (common/proto.c), not ours. */
	act = proto_close_action(code);
	if (act == PROTO_CLOSE_DO_NEW_NODE) {
		conn_id_lost(c, code);
		return;
	}
	if (act == PROTO_CLOSE_DO_REMOVED)
		conn_removed(c);
	forget = act == PROTO_CLOSE_DO_REJOIN || act == PROTO_CLOSE_DO_REMOVED;
	max = 0;
	if (c->pin_state == CONN_PIN_BAD)
		max = 1;	/* a configuration error: no hurry */
	if (forget && c->node_token != NULL) {
		log_warn("master refused the node token (close %d): forgetting "
		    "it, rejoining with the grid token", code);
		explicit_bzero(c->node_token, strlen(c->node_token));
		free(c->node_token);
		c->node_token = NULL;
		if (ident_forget_token(c->cfg->data_dir, &cause) != 0) {
			log_error("%s", cause);
			free(cause);
		}
	}
	if (c->node_token == NULL && c->cfg->grid_token == NULL) {
		log_error("no node token and no BERTH_TOKEN: cannot join; "
		    "set BERTH_TOKEN to the grid token");
		max = 1;
	}
	util_random(&rnd, sizeof rnd);
	delay = backoff_reconnect_ms(&c->backoff, act, retry, max, cap,
	    util_mono_ms(), rnd);
	if (c->to_leader && !max) {
		/* A standby named the leader: it serves now. */
		c->to_leader = 0;
		delay = CONN_LEADER_MIN_MS + (int64_t)(rnd % CONN_LEADER_JITTER_MS);
	}
	log_info("reconnecting in %lld ms", (long long)delay);
	lws_sul_schedule(c->ctx, 0, &c->sul_connect, conn_connect,
	    (lws_usec_t)delay * LWS_US_PER_MS);
}

static void
conn_connect(lws_sorted_usec_list_t *sul)
{
	struct conn *c = lws_container_of(sul, struct conn, sul_connect);
	struct lws_client_connect_info i;
	const struct config_url *m;

	if (c->stop || c->id_lost)
		return;
	c->attempts++;
	memset(&i, 0, sizeof i);
	i.context = c->ctx;
	m = conn_master(c);
	snprintf(c->cur_url, sizeof c->cur_url, strchr(m->host, ':') ?
	    "%s://[%s]:%d%s" : "%s://%s:%d%s", m->tls ? "wss" : "ws", m->host,
	    m->port, strcmp(m->path, "/") == 0 ? "" : m->path);
	i.address = m->host;
	i.port = m->port;
	i.path = m->path;
	i.host = m->host;
	i.origin = m->host;
	i.ssl_connection = m->tls ? LCCSCF_USE_SSL : 0;
	/* A pin alone names the key: host names do not matter then. */
	if (m->tls && c->cfg->has_pin && c->cfg->ca_cert == NULL)
		i.ssl_connection |= LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK;
	c->pin_state = CONN_PIN_UNSEEN;
	i.protocol = PROTO_WS_PROTOCOL;
	i.local_protocol_name = PROTO_WS_PROTOCOL;
	i.pwsi = &c->wsi;
	i.retry_and_idle_policy = &conn_retry;
	log_debug("connecting to %s", c->cur_url);
	connstep_begin(&c->step, m->tls, util_mono_ms());
	lws_sul_schedule(c->ctx, 0, &c->sul_step, conn_step_check,
	    CONN_STEP_POLL_MS * LWS_US_PER_MS);
	if (lws_client_connect_via_info(&i) == NULL) {
		if (c->step.step == CONNSTEP_IDLE)
			return;	/* failed inside: conn_ended() rescheduled */
		c->wsi = NULL;
		connstep_end(&c->step);
		lws_sul_cancel(&c->sul_step);
		log_warn("cannot start a connection to %s", c->cur_url);
		conn_schedule(c);
	}
}

/* The socket of the attempt has finished its TCP connect. */
static int
conn_tcp_connected(struct conn *c)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	int fd;

	if (c->wsi == NULL)
		return 0;
	fd = (int)lws_get_socket_fd(c->wsi);
	return fd >= 0 && getpeername(fd, (struct sockaddr *)&ss, &sl) == 0;
}

/*
 * The node's underlay address (docs/network.md): BERTH_PEER_ADDRESS, else
 * the IPv4 address the master connection leaves from (the route the
 * kernel picked toward the master), unless that is loopback.
 */
static void
conn_peer_address(struct conn *c)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	socklen_t sl = sizeof ss;
	int fd;

	c->peer_address[0] = '\0';
	if (c->cfg->peer_address != NULL && *c->cfg->peer_address != '\0') {
		snprintf(c->peer_address, sizeof c->peer_address, "%s",
		    c->cfg->peer_address);
		return;
	}
	if (c->wsi == NULL || (fd = (int)lws_get_socket_fd(c->wsi)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) != 0 ||
	    ss.ss_family != AF_INET ||
	    (ntohl(sin->sin_addr.s_addr) >> 24) == 127)
		return;
	inet_ntop(AF_INET, &sin->sin_addr, c->peer_address,
	    sizeof c->peer_address);
}

/*
 * Service thread, every CONN_STEP_POLL_MS during an attempt: notice the
 * TCP connect finishing (lws has no callback for it), and give the attempt
 * up when its current step overran BERTH_CONNECT_TIMEOUT_S.
 */
static void
conn_step_check(lws_sorted_usec_list_t *sul)
{
	struct conn *c = lws_container_of(sul, struct conn, sul_step);
	int64_t now = util_mono_ms(), left;
	enum connstep_step was;
	struct lws *wsi;

	if (c->step.step == CONNSTEP_IDLE || c->step.step == CONNSTEP_READY)
		return;
	if (c->step.step == CONNSTEP_TCP && conn_tcp_connected(c))
		connstep_connected(&c->step, now);
	if (!connstep_overdue(&c->step, now,
	    (int64_t)c->cfg->connect_timeout_s * 1000, &left)) {
		if (left > CONN_STEP_POLL_MS)
			left = CONN_STEP_POLL_MS;
		lws_sul_schedule(c->ctx, 0, &c->sul_step, conn_step_check,
		    (lws_usec_t)left * LWS_US_PER_MS);
		return;
	}
	was = c->step.step;
	log_warn("connecting to %s: no %s within %d s; giving up this attempt",
	    c->cur_url, connstep_what(was), c->cfg->connect_timeout_s);
	wsi = c->wsi;
	c->close_code = 0;
	/* lws may or may not call back for a socket killed before it was a
	 * websocket; conn_ended() runs once per attempt either way. */
	c->giving_up = 1;
	if (wsi != NULL)
		lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK,
		    LWS_TO_KILL_SYNC);
	c->giving_up = 0;
	conn_ended(c, wsi);
}

static void
conn_stats(lws_sorted_usec_list_t *sul)
{
	struct conn *c = lws_container_of(sul, struct conn, sul_stats);
	struct cpu_sample cur;
	uint64_t total = 0, used = 0;
	double pct = 0.0;

	if (nodeinfo_cpu_read(&cur) == 0) {
		pct = nodeinfo_cpu_pct(&c->cpu_prev, &cur);
		c->cpu_prev = cur;
	}
	(void)nodeinfo_mem_read(&total, &used);
	if (c->welcomed)
		conn_send(c, nodeinfo_stats_frame(pct, used, total,
		    converge_ncontainers(c->conv)));
	lws_sul_schedule(c->ctx, 0, &c->sul_stats, conn_stats,
	    (lws_usec_t)c->cfg->stats_interval_s * LWS_USEC_PER_SEC);
}

static void
conn_stop_deadline(lws_sorted_usec_list_t *sul)
{
	struct conn *c = lws_container_of(sul, struct conn, sul_stop);

	c->exit_loop = 1;
}

/* Add one upgrade header. */
static int
conn_header(struct lws *wsi, const char *name, const char *value,
    unsigned char **p, unsigned char *end)
{
	return lws_add_http_header_by_name(wsi, (const unsigned char *)name,
	    (const unsigned char *)value, (int)strlen(value), p, end);
}

static int
conn_headers(struct conn *c, struct lws *wsi, unsigned char **p,
    unsigned char *end)
{
	char ver[16], att[24];

	snprintf(ver, sizeof ver, "%d", PROTO_VERSION);
	snprintf(att, sizeof att, "%ld", c->attempts);
	if (conn_header(wsi, PROTO_HDR_PROTOCOL, ver, p, end) ||
	    conn_header(wsi, PROTO_HDR_NODE_ID, c->node_id, p, end) ||
	    conn_header(wsi, PROTO_HDR_INSTANCE, c->instance, p, end) ||
	    conn_header(wsi, PROTO_HDR_ATTEMPT, att, p, end) ||
	    conn_header(wsi, PROTO_HDR_NODE_NAME, c->cfg->node_name, p, end) ||
	    conn_header(wsi, PROTO_HDR_LABELS, c->labels_hdr, p, end) ||
	    conn_header(wsi, PROTO_HDR_VERSION, agent_config_version(), p, end))
		return -1;
	if (c->node_token != NULL)
		return conn_header(wsi, PROTO_HDR_NODE_TOKEN, c->node_token, p,
		    end);
	if (c->cfg->grid_token != NULL) {
		if (c->cfg->provider_id != NULL && conn_header(wsi,
		    PROTO_HDR_PROVIDER_ID, c->cfg->provider_id, p, end))
			return -1;
		return conn_header(wsi, PROTO_HDR_GRID_TOKEN,
		    c->cfg->grid_token, p, end);
	}
	return 0;
}

static void
conn_welcome(struct conn *c, json_t *o)
{
	const char *token = json_string_value(json_object_get(o,
	    "node_token"));
	const char *nid = json_string_value(json_object_get(o, "node_id"));
	const char *grid = json_string_value(json_object_get(o, "grid"));
	json_int_t proto = json_integer_value(json_object_get(o, "protocol"));
	char *cause = NULL, *ver, esc[128];

	if (c->welcomed) {
		log_warn("second welcome on one session: ignored");
		return;
	}
	if (proto != PROTO_VERSION)
		log_warn("welcome speaks protocol %lld, agent %d",
		    (long long)proto, PROTO_VERSION);
	if (nid != NULL && strcmp(nid, c->node_id) != 0)
		log_warn("welcome names node id %s, ours is %s",
		    log_escape(esc, sizeof esc, nid), c->node_id);
	/* Persist a newly minted token before anything else. */
	if (token != NULL && *token != '\0' &&
	    strpbrk(token, "\r\n\t ") == NULL) {
		if (ident_save_token(c->cfg->data_dir, token, &cause) != 0) {
			log_error("cannot store the node token: %s", cause);
			free(cause);
		}
		if (c->node_token != NULL)
			explicit_bzero(c->node_token, strlen(c->node_token));
		free(c->node_token);
		c->node_token = xstrdup(token);
		log_info("joined: node token stored in %s/node-token",
		    c->cfg->data_dir);
	}
	log_info("welcome: grid %s, node %s (%s)",
	    log_escape(esc, sizeof esc, grid != NULL ? grid : "?"),
	    c->cfg->node_name, c->node_id);
	/* A pending node (docs/nodes.md): connected, no desired set until an
	 * operator approves it; nothing here is touched meanwhile. */
	if (json_is_true(json_object_get(o, "pending")))
		log_warn("pending: this node waits for approval (berth node "
		    "approve %s); it stays connected and runs nothing until "
		    "then", c->cfg->node_name);
	c->welcomed = 1;
	backoff_reconnect_welcomed(&c->backoff);
	connstep_reach(&c->step, CONNSTEP_READY, util_mono_ms());
	lws_sul_cancel(&c->sul_step);
	if (c->retire_armed) {	/* admitted again after a 4006 */
		log_info("admitted again: the node's containers stay");
		lws_sul_cancel(&c->sul_retire);
		c->retire_armed = 0;
	}
	pthread_mutex_lock(&c->lock);
	c->ready = 1;
	pthread_mutex_unlock(&c->lock);
	ver = converge_docker_version(c->conv);
	conn_peer_address(c);
	conn_send(c, nodeinfo_frame(ver, c->cfg->cpus, c->peer_address));
	converge_post_peer_address(c->conv, c->peer_address);
	free(ver);
	converge_post_session(c->conv, grid);
	logs_session_start(c->logs);
}

/* The master stored (or, retry, refused) our logs frames up to seq. */
static void
conn_logs_ack(struct conn *c, json_t *o)
{
	json_t *seq = json_object_get(o, "seq");

	if (!json_is_integer(seq)) {
		log_warn("logs_ack without a seq: ignored");
		return;
	}
	logs_on_ack(c->logs, json_integer_value(seq),
	    json_is_true(json_object_get(o, "retry")));
}

static void
conn_parts_reset(struct conn *c)
{
	json_decref(c->parts);
	c->parts = NULL;
	json_decref(c->parts_rest);
	c->parts_rest = NULL;
	c->parts_gen = c->parts_next = c->parts_total = 0;
}

/*
 * A part of a desired set too big for one frame (docs/protocol.md,
 * "desired_part"): parts 1..n of one generation arrive in order; the
 * set is acted on only once all are here, as if it had come whole (the
 * first part also carries the set's other members: jobs, jobs_done). A part
 * out of order, or of another generation, drops what was gathered (the
 * master sends the whole set again with its next change or re-send).
 */
static void
conn_desired_part(struct conn *c, json_t *o)
{
	json_t *gen = json_object_get(o, "generation");
	json_t *part = json_object_get(o, "part");
	json_t *parts = json_object_get(o, "parts");
	json_t *list = json_object_get(o, "containers"), *whole;
	json_int_t g, p, n;
	char *text;

	if (!json_is_integer(gen) || !json_is_integer(part) ||
	    !json_is_integer(parts) || !json_is_array(list)) {
		log_warn("desired_part without generation, part, parts or "
		    "containers: ignored");
		conn_parts_reset(c);
		return;
	}
	g = json_integer_value(gen);
	p = json_integer_value(part);
	n = json_integer_value(parts);
	if (n < 1 || n > PROTO_MAX_DESIRED_PARTS || p < 1 || p > n) {
		log_warn("desired_part %lld of %lld: out of range: ignored",
		    (long long)p, (long long)n);
		conn_parts_reset(c);
		return;
	}
	if (p == 1) {
		conn_parts_reset(c);
		c->parts = json_array();
		c->parts_rest = json_deep_copy(o);
		json_object_del(c->parts_rest, "containers");
		json_object_del(c->parts_rest, "part");
		json_object_del(c->parts_rest, "parts");
		c->parts_gen = g;
		c->parts_next = 1;
		c->parts_total = n;
	}
	if (c->parts == NULL || g != c->parts_gen || p != c->parts_next ||
	    n != c->parts_total) {
		log_warn("desired_part %lld of %lld of generation %lld out of "
		    "order: dropped the set being gathered", (long long)p,
		    (long long)n, (long long)g);
		conn_parts_reset(c);
		return;
	}
	json_array_extend(c->parts, list);
	c->parts_next++;
	if (p < n)
		return;
	whole = c->parts_rest;
	c->parts_rest = NULL;
	json_object_set_new(whole, "type", json_string(PROTO_T_DESIRED));
	json_object_set(whole, "containers", c->parts);
	text = json_dumps(whole, JSON_COMPACT);
	json_decref(whole);
	conn_parts_reset(c);
	if (text == NULL)
		return;
	log_info("desired set of generation %lld came in %lld parts",
	    (long long)g, (long long)n);
	converge_post_desired(c->conv, text, strlen(text));
	free(text);
}

/* A whole message arrived. -1 closes the session. */
static int
conn_dispatch(struct conn *c, const char *text, size_t len)
{
	json_error_t jerr;
	json_t *o;
	const char *type;
	char esc[128];

	o = json_loadb(text, len, 0, &jerr);
	if (o == NULL || !json_is_object(o)) {
		log_warn("malformed frame from the master: %s", jerr.text);
		json_decref(o);
		return 0;
	}
	type = json_string_value(json_object_get(o, "type"));
	if (type == NULL)
		log_warn("frame without a type: ignored");
	else if (strcmp(type, PROTO_T_WELCOME) == 0)
		conn_welcome(c, o);
	else if (strcmp(type, PROTO_T_DESIRED) == 0) {
		if (c->welcomed) {
			conn_parts_reset(c);	/* a whole set supersedes */
			converge_post_desired(c->conv, text, len);
		} else
			log_warn("desired before welcome: ignored");
	} else if (strcmp(type, PROTO_T_DESIRED_PART) == 0) {
		if (c->welcomed)
			conn_desired_part(c, o);
		else
			log_warn("desired_part before welcome: ignored");
	} else if (strcmp(type, PROTO_T_LOGS_ACK) == 0 && c->welcomed) {
		conn_logs_ack(c, o);
	} else if (strncmp(type, "exec_", 5) == 0 && c->exec != NULL) {
		if (c->welcomed)
			exec_on_frame(c->exec, type, o);
	} else if (strcmp(type, PROTO_T_NODE_STATUS) == 0) {
		if (c->welcomed)
			converge_post_node_status(c->conv, text, len);
	} else if (strcmp(type, PROTO_T_NETWORK) == 0) {
		if (c->welcomed)
			converge_post_network(c->conv, text, len);
	} else if (strcmp(type, PROTO_T_NAMES) == 0) {
		if (c->welcomed)
			converge_post_names(c->conv, o);
	} else
		log_debug("frame type %s ignored",
		    log_escape(esc, sizeof esc, type));
	json_decref(o);
	return 0;
}

/* Service thread: write one queued frame. -1 closes. */
static int
conn_write_one(struct conn *c, struct lws *wsi)
{
	struct conn_frame f = { NULL, 0, 0 };
	unsigned char *b;
	size_t len;
	int more, n;

	pthread_mutex_lock(&c->lock);
	if (c->nout > 0) {
		f = c->outq[0];
		if (!f.binary)
			c->ntext--;
		memmove(c->outq, c->outq + 1, --c->nout * sizeof *c->outq);
	}
	more = c->nout > 0;
	pthread_mutex_unlock(&c->lock);
	/* Logs go when nothing else waits: states are never behind them. */
	if (f.data == NULL && (f.data = logs_take_frame(c->logs)) != NULL)
		f.len = strlen(f.data);
	if (f.data == NULL)
		return 0;
	len = f.len;
	b = xmalloc(LWS_PRE + len);
	memcpy(b + LWS_PRE, f.data, len);
	free(f.data);
	n = lws_write(wsi, b + LWS_PRE, len, f.binary ? LWS_WRITE_BINARY :
	    LWS_WRITE_TEXT);
	free(b);
	if (n < (int)len) {
		log_warn("write to the master failed");
		return -1;
	}
	if (more || logs_frame_ready(c->logs))
		lws_callback_on_writable(wsi);
	return 0;
}

/*
 * The session is over (closed or never opened): tidy up, maybe retry.
 * Once per attempt: lws may report a socket killed by the watchdog, or
 * not; a late report of an older socket is not about this attempt.
 */
static void
conn_ended(struct conn *c, struct lws *wsi)
{
	if (c->step.step == CONNSTEP_IDLE ||
	    (wsi != NULL && c->wsi != NULL && wsi != c->wsi))
		return;
	connstep_end(&c->step);
	lws_sul_cancel(&c->sul_step);
	/* Never welcomed, and no standby named the leader: the next of
	 * BERTH_URL's masters (one that is down or stopping). */
	if (!c->welcomed && !c->to_leader &&
	    c->close_code != PROTO_CLOSE_NOT_LEADER && c->cfg->nmasters > 1)
		c->cur = (c->cur + 1) % c->cfg->nmasters;
	if (c->welcomed)
		converge_post_session_end(c->conv);
	c->wsi = NULL;
	c->welcomed = 0;
	logs_session_end(c->logs);
	c->rx_drop = c->close_too_big = 0;
	conn_parts_reset(c);
	buf_free(&c->rx);
	if (c->exec != NULL)
		exec_lost(c->exec);	/* the master forgot every session */
	pthread_mutex_lock(&c->lock);
	c->ready = 0;
	conn_outq_clear(c);
	pthread_mutex_unlock(&c->lock);
	if (c->stop)
		c->exit_loop = 1;
	else
		conn_schedule(c);
}

/*
 * Service thread, inside the TLS handshake: OpenSSL's verify callback for
 * each certificate of the master's chain (depth 0 is the master's own).
 * Returns 0 to accept, 1 to fail the handshake. Without a pin, OpenSSL's
 * own verdict (CA, host name, dates) stands. With a pin, the leaf's key
 * must match; without a CA as well, the pin replaces chain verification,
 * so the errors OpenSSL found (self-signed, unknown issuer, host name) are
 * cleared.
 */
static int
conn_verify(struct conn *c, X509_STORE_CTX *xs)
{
	unsigned char pin[TLSUTIL_PIN_LEN];
	char got[TLSUTIL_PIN_STRLEN], want[TLSUTIL_PIN_STRLEN];
	int pin_only = c->cfg->ca_cert == NULL;

	if (!c->cfg->has_pin)
		return 0;
	if (X509_STORE_CTX_get_error_depth(xs) > 0) {
		if (pin_only)
			X509_STORE_CTX_set_error(xs, X509_V_OK);
		return 0;
	}
	if (tlsutil_pin_of_cert(X509_STORE_CTX_get_current_cert(xs), pin) != 0 ||
	    CRYPTO_memcmp(pin, c->cfg->pin, TLSUTIL_PIN_LEN) != 0) {
		if (c->pin_state != CONN_PIN_BAD) {
			tlsutil_pin_format(pin, got);
			tlsutil_pin_format(c->cfg->pin, want);
			log_error("TLS: the master's public key %s does not "
			    "match BERTH_MASTER_PIN %s: refusing it, nothing "
			    "sent", got, want);
		}
		c->pin_state = CONN_PIN_BAD;
		X509_STORE_CTX_set_error(xs, X509_V_ERR_APPLICATION_VERIFICATION);
		return 1;
	}
	if (c->pin_state == CONN_PIN_UNSEEN)
		c->pin_state = CONN_PIN_OK;
	if (pin_only)
		X509_STORE_CTX_set_error(xs, X509_V_OK);
	return 0;
}

static int
conn_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
    void *in, size_t len)
{
	struct conn *c = lws_context_user(lws_get_context(wsi));
	const struct proto_close_rule *rule;
	const unsigned char *u = in;
	char esc[256], raw[256];
	int retired;

	switch (reason) {
	case LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION:
		/* The server's certificate: TCP is done, TLS under way. */
		connstep_reach(&c->step, CONNSTEP_TLS, util_mono_ms());
		return conn_verify(c, user);
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
		/* The upgrade request is being written: await its answer. */
		connstep_reach(&c->step, CONNSTEP_UPGRADE, util_mono_ms());
		/* The headers carry a token: never to an unverified master. */
		if (conn_master(c)->tls && c->cfg->has_pin &&
		    c->pin_state != CONN_PIN_OK) {
			log_error("TLS: the master's key was not checked against "
			    "BERTH_MASTER_PIN: not sending the upgrade");
			return -1;
		}
		if (conn_headers(c, wsi, (unsigned char **)in,
		    *(unsigned char **)in + len) != 0) {
			log_error("upgrade headers do not fit");
			return -1;
		}
		break;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		connstep_reach(&c->step, CONNSTEP_WELCOME, util_mono_ms());
		log_info("connected to %s", c->cur_url);
		c->session_start = util_mono_ms();
		c->close_code = 0;
		buf_free(&c->rx);
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		/*
		 * A message over the cap is dropped to its end and the
		 * session closed from WRITEABLE: returning -1 here, with
		 * more of the message buffered, made lws 4.1 use the freed
		 * connection (a double free, a SEGV under ASan).
		 */
		if (c->rx_drop || c->rx.len + len > PROTO_MAX_FRAME) {
			if (!c->rx_drop) {
				log_warn("frame over %d bytes from the master: "
				    "dropped; closing the session",
				    PROTO_MAX_FRAME);
				c->rx_drop = 1;
				c->close_too_big = 1;
				buf_free(&c->rx);
				lws_callback_on_writable(wsi);
			}
			if (lws_is_final_fragment(wsi) &&
			    lws_remaining_packet_payload(wsi) == 0)
				c->rx_drop = 0;
			break;
		}
		if (c->rx.len == 0)
			c->rx_binary = lws_frame_is_binary(wsi);
		buf_append(&c->rx, in, len);
		if (!lws_is_final_fragment(wsi) ||
		    lws_remaining_packet_payload(wsi) > 0)
			break;
		if (c->rx.data != NULL && c->rx_binary) {
			if (c->welcomed && c->exec != NULL)
				exec_on_data(c->exec,
				    (unsigned char *)c->rx.data, c->rx.len);
		} else if (c->rx.data != NULL)
			(void)conn_dispatch(c, c->rx.data, c->rx.len);
		buf_free(&c->rx);
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (c->stop) {
			lws_close_reason(wsi, LWS_CLOSE_STATUS_GOINGAWAY,
			    (unsigned char *)"agent stopping", 14);
			return -1;
		}
		if (c->close_too_big) {
			lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
			    (unsigned char *)"frame too large", 15);
			return -1;
		}
		return conn_write_one(c, wsi);
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		if (len >= 2) {
			c->close_code = (u[0] << 8) | u[1];
			c->retry_after = proto_retry_after_ms((const char *)u + 2,
			    len - 2);
			snprintf(raw, sizeof raw, "%.*s", (int)(len - 2 > 200 ?
			    200 : len - 2), (const char *)u + 2);
			rule = proto_close_rule(c->close_code);
			log_warn("master closed the session: %d (%s) %s",
			    c->close_code, rule != NULL ? rule->name :
			    "not a berth code", log_escape(esc, sizeof esc, raw));
			if (c->close_code == PROTO_CLOSE_NOT_LEADER)
				conn_not_leader(c, raw);
		}
		break;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		if (c->step.step == CONNSTEP_IDLE)
			break;	/* ended already */
		if (!c->giving_up)	/* else the watchdog said why */
			log_warn("cannot connect to %s: %s", c->cur_url,
			    log_escape(esc, sizeof esc, in ? (const char *)in :
			    "(no reason)"));
		conn_ended(c, wsi);
		break;
	case LWS_CALLBACK_CLIENT_CLOSED:
		if (c->step.step == CONNSTEP_IDLE)
			break;
		if (!c->giving_up)
			log_info("disconnected from %s", c->cur_url);
		conn_ended(c, wsi);
		break;
	case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
		/*
		 * lws 4.1 reports a connection that ends while its upgrade
		 * request waits for the answer (lws's handshake timeout on a
		 * master that is frozen, overloaded or stopping with
		 * connections in its backlog) here, not as CONNECTION_ERROR
		 * or CLIENT_CLOSED: without this the agent never tried again.
		 */
		if (c->step.step == CONNSTEP_IDLE || c->wsi != wsi)
			break;
		/* lws ended it before our deadline: the same give-up, and
		 * c->wsi must not outlive its connection. */
		if (!c->giving_up)
			log_warn("connecting to %s: no %s after %lld s (the "
			    "connection's own timeout); giving up this attempt",
			    c->cur_url, connstep_what(c->step.step),
			    (long long)(util_mono_ms() - c->step.since) / 1000);
		conn_ended(c, wsi);
		break;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		if (c == NULL)
			break;
		if (c->stop && !c->stopping) {
			c->stopping = 1;
			lws_sul_schedule(c->ctx, 0, &c->sul_connect, conn_connect,
			    LWS_SET_TIMER_USEC_CANCEL);
			if (c->wsi == NULL) {
				c->exit_loop = 1;
				break;
			}
			lws_sul_schedule(c->ctx, 0, &c->sul_stop,
			    conn_stop_deadline, CONN_STOP_GRACE_US);
			lws_callback_on_writable(c->wsi);
			break;
		}
		pthread_mutex_lock(&c->lock);
		retired = c->retired;
		c->retired = 0;
		pthread_mutex_unlock(&c->lock);
		if (retired && c->id_lost)
			conn_new_node(c);
		if (c->wsi != NULL && c->welcomed) {
			int want;

			pthread_mutex_lock(&c->lock);
			want = c->nout > 0;
			pthread_mutex_unlock(&c->lock);
			if (want || logs_frame_ready(c->logs))
				lws_callback_on_writable(c->wsi);
		}
		break;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols conn_protocols[] = {
	{ PROTO_WS_PROTOCOL, conn_callback, 0, 65536, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

static void *
conn_main(void *arg)
{
	struct conn *c = arg;

	lws_sul_schedule(c->ctx, 0, &c->sul_connect, conn_connect, 1);
	(void)nodeinfo_cpu_read(&c->cpu_prev);
	lws_sul_schedule(c->ctx, 0, &c->sul_stats, conn_stats,
	    (lws_usec_t)c->cfg->stats_interval_s * LWS_USEC_PER_SEC);
	while (!c->exit_loop) {
		if (lws_service(c->ctx, 0) < 0)
			break;
	}
	return NULL;
}

int
conn_start(struct conn *c, char **cause)
{
	struct lws_context_creation_info info;

	lws_set_log_level(LLL_ERR | (log_get_level() >= LOG_LVL_DEBUG ?
	    LLL_WARN | LLL_NOTICE : 0), conn_lws_log);
	memset(&info, 0, sizeof info);
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	/* A given CA or pin replaces the system CAs. */
	if (c->cfg->ca_cert != NULL || c->cfg->has_pin)
		info.options |= LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS;
	info.client_ssl_ca_filepath = c->cfg->ca_cert;
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = conn_protocols;
	info.user = c;
	info.fd_limit_per_thread = 1 + 1 + 1;
	c->ctx = lws_create_context(&info);
	if (c->ctx == NULL) {
		xasprintf(cause, "cannot create the websocket context");
		return -1;
	}
	if (pthread_create(&c->thread, NULL, conn_main, c) != 0) {
		xasprintf(cause, "cannot create the websocket thread");
		return -1;
	}
	c->started = 1;
	return 0;
}

void
conn_stop(struct conn *c)
{
	if (!c->started)
		return;
	c->stop = 1;
	lws_cancel_service(c->ctx);
	pthread_join(c->thread, NULL);
	c->started = 0;
	pthread_mutex_lock(&c->lock);
	c->ready = 0;		/* conn_send() drops from now on */
	pthread_mutex_unlock(&c->lock);
}

void
conn_free(struct conn *c)
{
	if (c == NULL)
		return;
	conn_stop(c);
	if (c->ctx != NULL)
		lws_context_destroy(c->ctx);
	pthread_mutex_lock(&c->lock);
	conn_outq_clear(c);
	pthread_mutex_unlock(&c->lock);
	free(c->outq);
	buf_free(&c->rx);
	conn_parts_reset(c);
	if (c->node_token != NULL)
		explicit_bzero(c->node_token, strlen(c->node_token));
	free(c->node_token);
	free(c->labels_hdr);
	pthread_mutex_destroy(&c->lock);
	free(c);
}
